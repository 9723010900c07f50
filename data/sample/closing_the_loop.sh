#!/bin/sh
# Closing the loop on the sample: three weeks of a compliance team's work in four commands,
# so that the report of 2026-11-24 shows what was decided earlier and not carried out.
#
#   1. the nightly run of 2026-11-03 lists accounts to freeze (nobody freezes them);
#   2. an access review of HK opens on 2026-11-03; Wing Kwan (E1001) returns a packet that
#      revokes the grants in SoD conflict and keeps the rest; the campaign closes on
#      2026-11-06, the other reviewers' items kept by `--on-no-response keep`
#      (nobody revokes the grants either);
#   3. the nightly run of 2026-11-24 then finds REVOCATION_NOT_APPLIED (18 days after the
#      close, beyond `revocation_sla_days`) and FREEZE_NOT_APPLIED (21 days after the
#      earlier freeze list, beyond `freeze_sla_hours`), beside the waivers of the sample.
#
# Usage, from the repository root: sh data/sample/closing_the_loop.sh [PERMAUDIT]
# (default: cargo run --release --). Writes into out/ like the README's first command;
# an earlier campaign HK-2026-11-03 there is reused as it is.
set -eu
permaudit=${1:-"cargo run --quiet --release --"}
cfg=permaudit.toml
campaign=HK-2026-11-03

$permaudit run --config "$cfg" --as-of 2026-11-03 || [ $? -eq 1 ]
if [ ! -d "out/reviews/$campaign" ]; then
  $permaudit review open --config "$cfg" --jurisdiction HK --as-of 2026-11-03 \
    --due 2026-11-06 --on-no-response keep
  returned=$(mktemp -d)
  # The reviewer's answer: revoke what is in SoD conflict, keep the rest. The decision and
  # comment are the packet's last two columns, empty as written.
  awk -F, 'NR == 1 { print; next }
           /SOD_CONFLICT/ { sub(/,,$/, ",revoke,conflicts with payout release"); print; next }
           { sub(/,,$/, ",keep,needed for the job"); print }' \
    "out/reviews/$campaign/packets/E1001.csv" > "$returned/E1001.csv"
  $permaudit review ingest --config "$cfg" --campaign "$campaign" \
    --at 2026-11-05T09:00:00Z "$returned/E1001.csv"
  $permaudit review close --config "$cfg" --campaign "$campaign" --at 2026-11-06T17:00:00Z
  rm -r "$returned"
fi
$permaudit run --config "$cfg" --as-of 2026-11-24 || [ $? -eq 1 ]
echo "open out/2026-11-24/HK/report.html (REVOCATION_NOT_APPLIED) and out/2026-11-24/EU/report.html (FREEZE_NOT_APPLIED)"
