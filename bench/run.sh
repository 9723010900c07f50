#!/usr/bin/env bash
# Benchmark of permaudit on generated data (issue 8).
#
#   bench/run.sh                 # small and medium presets
#   bench/run.sh small medium large
#
# Builds the release binary, generates each preset (seed 1) into $BENCH_DIR/<preset>
# (default: target/bench-data), runs a full `permaudit run` on it, and prints wall time,
# CPU time (user + system) and peak RSS of every step, measured by `/usr/bin/time -v`.
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
    if [ "${REGENERATE:-0}" = 1 ] || ! grep -q -- "--seed ${SEED}"'`' "$dir/permaudit.toml" 2>/dev/null; then
        measure "$preset" generate "$BIN" generate --out "$dir" --preset "$preset" --seed "$SEED" --force
    fi
    rm -rf "$dir/out"
    measure "$preset" full_run "$BIN" run --config "$dir/permaudit.toml"
done

echo
column -t -s $'\t' "$RESULTS"
