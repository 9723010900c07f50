use crate::common::*;

const HEADER: &str = "event_id,ts,system_id,account_id,action,outcome,seq\n";

/// Events of `sys` carrying the given seqs, one minute apart from `start` (UTC, in the window).
fn seqs(sys: &str, start_minute: u32, list: &[i64]) -> String {
    list.iter()
        .enumerate()
        .map(|(k, s)| {
            let m = start_minute + k as u32;
            format!(
                "{sys}-{s}-{k},2026-11-20T{:02}:{:02}:00Z,{sys},svc,payout.view,success,{s}\n",
                m / 60,
                m % 60
            )
        })
        .collect()
}

fn keys(found: &[std::collections::BTreeMap<String, String>]) -> Vec<(String, String)> {
    found
        .iter()
        .map(|r| (r["system_id"].clone(), r["seq"].clone()))
        .collect()
}

#[test]
fn gap_of_one_and_of_many() {
    let events = format!(
        "{HEADER}{}{}",
        seqs("pay-hk", 0, &[1, 2, 4, 5, 9, 10]),
        // pay-uk starts at 500: the numbers below the lowest loaded seq are not missing.
        seqs("pay-uk", 0, &[500, 501, 502]),
    );
    let f = Fixture::new().table("audit_events", &events);
    let found = f.findings("2026-11-24", "LOG_SEQUENCE_GAP");
    assert_eq!(
        keys(&found),
        vec![("pay-hk".into(), "3".into()), ("pay-hk".into(), "6".into())]
    );
    assert_eq!(found[0]["severity"], "critical");
    assert_eq!(found[0]["jurisdiction"], "HK");
    let one = detail(&found[0]);
    assert_eq!(one["first_missing_seq"], 3);
    assert_eq!(one["last_missing_seq"], 3);
    assert_eq!(one["missing_count"], 1);
    let many = detail(&found[1]);
    assert_eq!(many["first_missing_seq"], 6);
    assert_eq!(many["last_missing_seq"], 8);
    assert_eq!(many["missing_count"], 3);
    assert_eq!(many["seq_before_gap"], 5);
    assert_eq!(many["event_before_gap"], "pay-hk-5-3");
    assert_eq!(many["ts_before_gap"], "2026-11-20T00:03:00Z");
    assert_eq!(many["seq_after_gap"], 9);
    assert_eq!(many["event_after_gap"], "pay-hk-9-4");
    assert_eq!(many["ts_after_gap"], "2026-11-20T00:04:00Z");
}

#[test]
fn duplicates_and_events_without_seq_are_not_gaps() {
    let events = format!(
        "{HEADER}{}pay-hk-noseq,2026-11-20T05:00:00Z,pay-hk,svc,payout.view,success,\n",
        seqs("pay-hk", 0, &[1, 2, 2, 3]),
    );
    let f = Fixture::new().table("audit_events", &events);
    assert!(f.findings("2026-11-24", "LOG_SEQUENCE_GAP").is_empty());
}

/// A replayed record at a gap's edge, written before the original in the file: the gap's
/// neighbours are the earliest record of each seq (by ts, then event id), not the first row.
#[test]
fn replayed_seq_at_a_gap_edge_shows_its_earliest_record() {
    let events = format!(
        "{HEADER}\
         replay-5,2026-11-21T00:00:00Z,pay-hk,svc,payout.view,success,5\n\
         replay-9,2026-11-21T00:01:00Z,pay-hk,svc,payout.view,success,9\n\
         tie-b-9,2026-11-20T00:02:00Z,pay-hk,svc,payout.view,success,9\n\
         {}",
        seqs("pay-hk", 0, &[4, 5, 9]),
    );
    let f = Fixture::new().table("audit_events", &events);
    let found = f.findings("2026-11-24", "LOG_SEQUENCE_GAP");
    assert_eq!(keys(&found), vec![("pay-hk".into(), "6".into())]);
    let d = detail(&found[0]);
    assert_eq!(d["event_before_gap"], "pay-hk-5-1");
    assert_eq!(d["ts_before_gap"], "2026-11-20T00:01:00Z");
    // Two records of seq 9 at the same instant: the lower event id.
    assert_eq!(d["event_after_gap"], "pay-hk-9-2");
    assert_eq!(d["ts_after_gap"], "2026-11-20T00:02:00Z");
}

#[test]
fn events_at_t_are_ignored_but_old_history_counts() {
    let events = format!(
        "{HEADER}\
         old-1,2026-01-05T00:00:00Z,pay-hk,svc,payout.view,success,1\n\
         {}\
         at-t,2026-11-25T00:00:00Z,pay-hk,svc,payout.view,success,20\n\
         before-t,2026-11-24T23:59:59.999999Z,pay-uk,svc,payout.view,success,7\n\
         {}",
        seqs("pay-hk", 0, &[3, 4]),
        seqs("pay-uk", 0, &[5]),
    );
    let f = Fixture::new().table("audit_events", &events);
    let found = f.findings("2026-11-24", "LOG_SEQUENCE_GAP");
    // pay-hk: 1 (months before the window) .. 3 -> 2 missing; seq 20 at T is not loaded
    // for the rules. pay-uk: 5 .. 7 (just before T) -> 6 missing.
    assert_eq!(
        keys(&found),
        vec![("pay-hk".into(), "2".into()), ("pay-uk".into(), "6".into())]
    );
    assert_eq!(detail(&found[0])["event_before_gap"], "old-1");
    assert_eq!(found[1]["jurisdiction"], "UK");
}
