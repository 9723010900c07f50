#!/usr/bin/env bash
# The DuckDB baseline (issue 18): permaudit and an independent DuckDB implementation of
# SOD_CONFLICT, STALE_GRANT and OFF_HOURS_PRIVILEGED_ACTION (bench/duckdb/rules.py) on the
# same generated Parquet inputs, side by side.
#
#   bench/duckdb.sh                         # the findings-dense medium set
#   bench/duckdb.sh --preset small          # any `permaudit generate` options
#   bench/duckdb.sh --identities 5000 --days 30
#
# Arguments are passed to `permaudit generate`, with `--preset medium --findings dense
# --seed 1` for those not given. The data goes to $BENCH_DIR/duckdb-<hash of the
# arguments> (default BENCH_DIR: target/bench-data) and is reused while the arguments are
# the same (REGENERATE=1 forces a fresh generation). Steps:
#   1. `permaudit run --full` into a fresh OUT, under /usr/bin/time -v, with
#      PERMAUDIT_LOG=permaudit=debug for the stage and per-rule times of its log;
#   2. rules.py under /usr/bin/time -v: each rule one query from the Parquet files, its
#      own scan included in its time;
#   3. compare.py: the DuckDB findings' keys equal permaudit's findings.csv rule by rule
#      (counts and key sets); a difference fails the script;
#   4. a table: rule, permaudit s (detect only: ingest and resolve are shared stages, shown
#      apart), duckdb s, ratio; wall time and peak RSS of both; findings per rule.
# Binaries: $PERMAUDIT_BIN, default target/release/permaudit (built when missing; its
# generator must know --findings dense); PERMAUDIT_RUN_BIN measures another binary's run
# on the same data.
# DuckDB comes from PyPI into a virtualenv ($DUCKDB_VENV, default bench/.venv), never into
# the product or its tests. Results also go to $DIR/results.tsv.
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-target/bench-data}
VENV=${DUCKDB_VENV:-bench/.venv}

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (needed for peak RSS)" >&2
    apt-get install -y time >/dev/null
fi
if [ -z "${PERMAUDIT_BIN:-}" ] && [ ! -x target/release/permaudit ]; then
    cargo build --release --quiet
fi
BIN=${PERMAUDIT_BIN:-$PWD/target/release/permaudit}
RUN_BIN=${PERMAUDIT_RUN_BIN:-$BIN}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet duckdb
fi
PY=$VENV/bin/python

# Defaults for the options not given (clap refuses an option given twice).
gen=()
for default in "--preset medium" "--findings dense" "--seed 1"; do
    [[ " $* " == *" ${default% *} "* ]] || gen+=($default)
done
gen+=("$@")
DIR=$BENCH_DIR/duckdb-$(printf '%s\n' "${gen[@]}" | sha256sum | cut -c1-12)
mkdir -p "$DIR"
if [ "${REGENERATE:-0}" = 1 ] || [ "$(cat "$DIR/generated" 2>/dev/null)" != "${gen[*]}" ]; then
    rm -f "$DIR/generated"
    /usr/bin/time -v -o "$DIR/generate.time" "$BIN" generate --out "$DIR" "${gen[@]}" --force \
        > "$DIR/generate.out" 2> "$DIR/generate.log"
    echo "${gen[*]}" > "$DIR/generated"
fi
cat "$DIR/generate.out"

# Seconds and MiB from a GNU time -v report.
wall_rss() {
    awk -F': ' '
        /Elapsed \(wall clock\)/ {
            n = split($2, p, ":"); wall = 0
            for (i = 1; i <= n; i++) wall = wall * 60 + p[i]
        }
        /Maximum resident set size/ { rss = $2 / 1024 }
        END { printf "%.1f\t%.0f\n", wall, rss }
    ' "$1"
}

rm -rf "$DIR/out" "$DIR/keys"
PERMAUDIT_LOG=permaudit=debug /usr/bin/time -v -o "$DIR/run.time" \
    "$RUN_BIN" run --config "$DIR/permaudit.toml" --out "$DIR/out" --full \
    > "$DIR/run.out" 2> "$DIR/run.log" || { cat "$DIR/run.log" >&2; exit 1; }
cat "$DIR/run.out"
grep -q ' quarantined=0 ' "$DIR/run.out" || {
    echo "permaudit quarantined rows: the baseline assumes contract-clean input" >&2
    exit 1
}
/usr/bin/time -v -o "$DIR/duckdb.time" \
    "$PY" bench/duckdb/rules.py --config "$DIR/permaudit.toml" --keys "$DIR/keys" \
    > "$DIR/duckdb.out"
findings=$(ls "$DIR"/out/*/findings.csv)
"$PY" bench/duckdb/compare.py "$findings" "$DIR/keys" | tee "$DIR/compare.out"

{
    printf 'rule\tpermaudit_s\tduckdb_s\tratio\tfindings\n'
    # Permaudit's per-rule times (detect stage), matched with DuckDB's.
    sed -n 's/.*rule evaluated rule="\([A-Z_]*\)" findings=\([0-9]*\) elapsed_ms=\([0-9]*\).*/\1\t\2\t\3/p' \
        "$DIR/run.log" | sort > "$DIR/permaudit.rules"
    awk -F'\t' '$1 == "duckdb" && $2 != "TOTAL" { print $2 "\t" $3 }' "$DIR/duckdb.out" \
        | sort > "$DIR/duckdb.rules"
    join -t $'\t' -a 1 "$DIR/permaudit.rules" "$DIR/duckdb.rules" | awk -F'\t' '{
        p = $3 / 1000
        if ($4 != "") printf "%s\t%.2f\t%.2f\t%.2f\t%s\n", $1, p, $4, p / $4, $2
        else printf "%s\t%.2f\t-\t-\t%s\n", $1, p, $2
    }' | sort -t $'\t' -k5,5nr
    # Permaudit's stages.
    sed -n 's/.*INFO permaudit::[a-z]*: \([a-z]*\) done [a-z_]*=.*elapsed_ms=\([0-9]*\).*/stage:\1\t\2/p' \
        "$DIR/run.log" | awk -F'\t' '{ printf "%s\t%.2f\t-\t-\t-\n", $1, $2 / 1000 }'
    read -r pw prss < <(wall_rss "$DIR/run.time")
    read -r dw drss < <(wall_rss "$DIR/duckdb.time")
    printf 'wall_s\t%s\t%s\t-\t-\n' "$pw" "$dw"
    printf 'peak_rss_mib\t%s\t%s\t-\t-\n' "$prss" "$drss"
} > "$DIR/results.tsv"
column -t -s $'\t' "$DIR/results.tsv"
echo "(permaudit: full run, detect-stage time per rule; duckdb: one query per rule from Parquet; data in $DIR)"
