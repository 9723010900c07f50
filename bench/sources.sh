#!/usr/bin/env bash
# Source import benchmark: records per second and peak memory of `permaudit import` on
# generated CloudTrail and Okta exports (bench/gen_sources.py).
#
#   bench/sources.sh            # 1,000,000 records of each
#   N=200000 bench/sources.sh
#
# Builds the release binary, generates the exports into $BENCH_DIR/sources (reused when
# present), runs `permaudit import` of each with `/usr/bin/time -v`, and prints records,
# wall time, records per second, peak RSS and the input size.
set -euo pipefail

cd "$(dirname "$0")/.."
N=${N:-1000000}
BENCH_DIR=${BENCH_DIR:-target/bench-data}
D="$BENCH_DIR/sources-$N"

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (needed for peak RSS)" >&2
    apt-get install -y time >/dev/null
fi
cargo build --release --locked >&2
BIN=target/release/permaudit

for kind in cloudtrail okta; do
    if [ ! -d "$D/$kind" ]; then
        echo "generating $N $kind records into $D/$kind" >&2
        python3 bench/gen_sources.py "$kind" "$D/$kind" "$N"
    fi
done

printf 'kind\trecords\twall_s\trecords_per_s\tpeak_rss_mb\tinput_mb\n'
for kind in cloudtrail okta; do
    case $kind in
        cloudtrail) k=cloudtrail; sys='aws-{account}' ;;
        okta) k=okta_system_log; sys=okta ;;
    esac
    out="$D/out-$kind"
    rm -rf "$out"
    /usr/bin/time -v -o "$D/time-$kind.txt" "$BIN" import "$k" "$D/$kind" --system-id "$sys" --out "$out" >"$D/import-$kind.txt" 2>"$D/log-$kind.txt"
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$D/time-$kind.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$D/time-$kind.txt")
    read=$(python3 -c "import json,sys; print(sum(s['read'] for s in json.load(open(sys.argv[1]))['sources']))" "$out/import.json")
    size=$(du -sm "$D/$kind" | cut -f1)
    rate=$(python3 -c "print(round($read/$wall))")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$read" "$wall" "$rate" "$rss" "$size"
done
