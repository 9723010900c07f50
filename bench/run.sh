#!/usr/bin/env bash
# Benchmark of permaudit on generated data (issue 8).
#
#   bench/run.sh                 # small and medium presets
#   bench/run.sh small medium large medium180
#
# Builds the release binary, generates each preset (seed 1) into $BENCH_DIR/<preset>
# (default: target/bench-data; `medium180` is medium with 180 days of history), and per
# preset measures:
#   prepare      the night before (last day's partition held back), building the state;
#   full_run     `permaudit run --full` of the last day (same history, no state used);
#   incremental  the last day once its partition arrives, reusing the other digests;
# then checks that the incremental and full runs wrote byte-identical findings and prints
# wall time, CPU time (user + system) and peak RSS of every step (`/usr/bin/time -v`), and
# the ratio incremental / full.
# Generated data is reused when its permaudit.toml names the same preset sizes; set
# REGENERATE=1 to force a fresh generation. Results go to stdout and $BENCH_DIR/results.tsv.
set -euo pipefail

cd "$(dirname "$0")/.."
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(small medium)
BENCH_DIR=${BENCH_DIR:-target/bench-data}
SEED=${SEED:-1}

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (needed for peak RSS)" >&2
    apt-get install -y time >/dev/null
fi

cargo build --release --quiet
BIN=$PWD/target/release/permaudit
mkdir -p "$BENCH_DIR"
RESULTS=$BENCH_DIR/results.tsv
printf 'preset\tstep\twall_s\tcpu_s\tpeak_rss_mib\n' > "$RESULTS"

# Runs a command under GNU time and appends one row of measurements.
measure() {
    local preset=$1 step=$2; shift 2
    local log; log=$(mktemp)
    if ! /usr/bin/time -v -o "$log" "$@" > "$BENCH_DIR/$preset.$step.out" 2> "$BENCH_DIR/$preset.$step.log"; then
        # permaudit exits 1 only for --fail-on, which is not used here: anything else fails.
        echo "step $step on $preset failed, see $BENCH_DIR/$preset.$step.log" >&2
        cat "$log" >&2
        exit 1
    fi
    awk -v preset="$preset" -v step="$step" -F': ' '
        /User time/ { user = $2 }
        /System time/ { sys = $2 }
        /Elapsed \(wall clock\)/ {
            n = split($2, p, ":"); wall = 0
            for (i = 1; i <= n; i++) wall = wall * 60 + p[i]
        }
        /Maximum resident set size/ { rss = $2 / 1024 }
        END { printf "%s\t%s\t%.1f\t%.1f\t%.0f\n", preset, step, wall, user + sys, rss }
    ' "$log" | tee -a "$RESULTS"
    rm -f "$log"
}

for preset in "${presets[@]}"; do
    dir=$BENCH_DIR/$preset
    case $preset in
        medium180) gen=(--preset medium --days 180) ;;
        *) gen=(--preset "$preset") ;;
    esac
    if [ "${REGENERATE:-0}" = 1 ] || ! grep -q -- "--seed ${SEED}"'`' "$dir/permaudit.toml" 2>/dev/null; then
        measure "$preset" generate "$BIN" generate --out "$dir" "${gen[@]}" --seed "$SEED" --force
    fi
    cfg=$dir/permaudit.toml
    rm -rf "$dir/out" "$dir/out-incremental"
    last=$(ls "$dir/input/audit_events" | sort | tail -1)
    last_day=${last#date=}
    before=$(date -d "$last_day - 1 day" +%F)
    # The night before, with the last day's partition not yet arrived: builds the state.
    mv "$dir/input/audit_events/$last" "$dir/held-partition"
    measure "$preset" prepare "$BIN" run --config "$cfg" --out "$dir/out-incremental" --as-of "$before"
    mv "$dir/held-partition" "$dir/input/audit_events/$last"
    # The full run starts from the same history (the night before's run directory, hence
    # the same first_seen), so that the last day's outputs can be compared byte for byte;
    # --full ignores any state.
    mkdir -p "$dir/out"
    cp -r "$dir/out-incremental/$before" "$dir/out-incremental/history" "$dir/out/"
    measure "$preset" full_run "$BIN" run --config "$cfg" --full --as-of "$last_day"
    measure "$preset" incremental "$BIN" run --config "$cfg" --out "$dir/out-incremental" --as-of "$last_day"
    grep -h "audit event partitions" "$BENCH_DIR/$preset.incremental.log" | sed 's/^.*INFO //' >&2
    if cmp -s "$dir/out/$last_day/findings.csv" "$dir/out-incremental/$last_day/findings.csv"; then
        echo "$preset: incremental findings.csv is byte-identical to the full run's" >&2
    else
        echo "$preset: incremental and full findings differ" >&2
        exit 1
    fi
    awk -F'\t' -v p="$preset" '$1 == p && $2 == "full_run" { f = $3 } $1 == p && $2 == "incremental" { i = $3 }
        END { if (f > 0) printf "%s: incremental / full wall time = %.3f\n", p, i / f }' "$RESULTS" >&2
done

echo
column -t -s $'\t' "$RESULTS"
