#!/usr/bin/env bash
# A flame graph of one `permaudit run --full` (issue 18), sampled by `perf` and drawn by
# inferno (`cargo install inferno`):
#
#   bench/flamegraph.sh DATA/permaudit.toml bench/flamegraphs/dense.svg
#
# or of one nightly (incremental) run, from a copy of an output directory that holds the
# state of the night before (left untouched), for the day AS_OF:
#
#   FROM_OUT=DATA/out-before AS_OF=2026-11-24 bench/flamegraph.sh DATA/permaudit.toml \
#       bench/flamegraphs/large-incremental.svg
#
# Samples at 49 Hz with DWARF call graphs (the release build has no frame pointers), into
# a fresh output directory that is removed afterwards. PERMAUDIT_BIN: the binary to
# profile (default target/release/permaudit).
set -euo pipefail

cfg=$1
svg=$2
BIN=${PERMAUDIT_BIN:-target/release/permaudit}
run=(run --config "$cfg" --full)
what="permaudit run --full"
if [ -n "${FROM_OUT:-}" ]; then
    run=(run --config "$cfg" --as-of "${AS_OF:?AS_OF names the night to run}")
    what="permaudit run (nightly, $AS_OF)"
fi
for tool in perf inferno-collapse-perf inferno-flamegraph; do
    command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "${FROM_OUT:-}" ]; then
    cp -a "$FROM_OUT" "$work/out"
fi
perf record -F 49 --call-graph dwarf,16384 -o "$work/perf.data" -- \
    "$BIN" "${run[@]}" --out "$work/out" > "$work/run.out" 2> "$work/run.log"
cat "$work/run.out"
mkdir -p "$(dirname "$svg")"
perf script --no-inline -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf \
    | inferno-flamegraph --minwidth 0.5 --title "$what: $(head -1 "$cfg" | sed 's/^# //')" > "$svg"
echo "wrote $svg"
