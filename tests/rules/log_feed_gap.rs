use crate::common::*;

const HEADER: &str = "event_id,ts,system_id,account_id,action,outcome\n";

// as_of 2026-11-24: T = 2026-11-25T00:00Z; log_review_days 90: earlier event at or after
// 2026-08-27T00:00Z; max_silence_hours 48.
#[test]
fn gap_must_exceed_max_silence_strictly() {
    let events = format!(
        "{HEADER}\
         a1,2026-11-01T00:00:00Z,pay-hk,svc,payout.view,success\n\
         a2,2026-11-03T00:00:00Z,pay-hk,bob,login,failure\n\
         a3,2026-11-05T00:00:00.000001Z,pay-hk,svc,payout.view,success\n\
         a4,2026-11-05T06:00:00Z,pay-hk,svc,payout.view,success\n\
         u1,2026-11-01T00:00:00Z,pay-uk,svc,payout.view,success\n"
    );
    let found = Fixture::new()
        .table("audit_events", &events)
        .findings("2026-11-24", "LOG_FEED_GAP");
    // a1 -> a2 exactly 48 h: not a gap; a2 -> a3 48 h + 1 µs: a gap; the silence after the
    // last event (a4, u1) is not a gap.
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f["system_id"], "pay-hk");
    assert_eq!(f["target_id"], "2026-11-03T00:00:00.000000Z");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["jurisdiction"], "HK");
    let d = detail(f);
    assert_eq!(d["last_event_before"], "a2");
    assert_eq!(d["first_event_after"], "a3");
    assert_eq!(d["gap_end"], "2026-11-05T00:00:00.000001Z");
    assert_eq!(d["max_silence_hours"], 48);
    assert_eq!(d["log_review_days"], 90);
}

#[test]
fn review_period_and_t_bound_the_gaps() {
    let events = format!(
        "{HEADER}\
         a1,2026-08-20T00:00:00Z,pay-hk,svc,x,success\n\
         a2,2026-08-26T23:59:59.999999Z,pay-hk,svc,x,success\n\
         a3,2026-08-30T00:00:00Z,pay-hk,svc,x,success\n\
         a4,2026-09-10T00:00:00Z,pay-hk,svc,x,success\n\
         a5,2026-11-20T00:00:00Z,pay-hk,svc,x,success\n\
         a6,2026-11-30T00:00:00Z,pay-hk,svc,x,success\n"
    );
    let found = Fixture::new()
        .table("audit_events", &events)
        .findings("2026-11-24", "LOG_FEED_GAP");
    let starts: Vec<&str> = found.iter().map(|f| f["target_id"].as_str()).collect();
    // a1 -> a2 starts before the review period; a2 -> a3 starts 1 µs before it; a5 -> a6
    // ends after T (a6 is not known at T).
    assert_eq!(
        starts,
        vec!["2026-08-30T00:00:00.000000Z", "2026-09-10T00:00:00.000000Z"]
    );
    // With a longer review, the gap starting 1 µs before 90 days counts.
    let jur = DEFAULT_JURISDICTIONS.replace(
        "timezone = \"Asia/Hong_Kong\"",
        "timezone = \"Asia/Hong_Kong\"\nlog_review_days = 91\nmax_silence_hours = 1",
    );
    let found = Fixture::new()
        .policy("jurisdictions", &jur)
        .table("audit_events", &events)
        .findings("2026-11-24", "LOG_FEED_GAP");
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0]["target_id"], "2026-08-26T23:59:59.999999Z");
}

#[test]
fn ties_and_threshold_of_one_hour() {
    // Events at the same instant are consecutive with no silence; one hour exactly is
    // allowed, one hour and 1 µs is not.
    let jur = DEFAULT_JURISDICTIONS.replace(
        "timezone = \"Asia/Hong_Kong\"",
        "timezone = \"Asia/Hong_Kong\"\nmax_silence_hours = 1",
    );
    let events = format!(
        "{HEADER}\
         b,2026-11-10T00:00:00Z,pay-hk,svc,x,success\n\
         a,2026-11-10T00:00:00Z,pay-hk,svc,x,success\n\
         c,2026-11-10T01:00:00Z,pay-hk,svc,x,success\n\
         d,2026-11-10T02:00:00.000001Z,pay-hk,svc,x,success\n"
    );
    let found = Fixture::new()
        .policy("jurisdictions", &jur)
        .table("audit_events", &events)
        .findings("2026-11-24", "LOG_FEED_GAP");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["target_id"], "2026-11-10T01:00:00.000000Z");
    assert_eq!(detail(&found[0])["last_event_before"], "c");
}

/// The same feed cut into files every which way (day partitions, interleaved files, a gap
/// spanning two partitions, overlapping spans) gives the same gaps.
#[test]
fn any_cut_into_partitions_gives_the_same_gaps() {
    let feed = [
        "e01,2026-11-01T00:00:00Z",
        "e02,2026-11-01T20:00:00Z",
        "e03,2026-11-03T20:00:00.000001Z",
        "e04,2026-11-04T01:00:00Z",
        "e05,2026-11-04T02:30:00Z",
        "e06,2026-11-07T00:00:00Z",
        "e07,2026-11-07T00:30:00Z",
        "e08,2026-11-09T00:30:00Z",
        "e09,2026-11-12T10:00:00Z",
    ];
    let line = |r: &str| {
        let (id, ts) = r.split_once(',').expect("row");
        format!("{id},{ts},pay-hk,svc,x,success\n")
    };
    fn rows_of(df: &polars::prelude::DataFrame) -> Vec<(String, String)> {
        rows(df, "LOG_FEED_GAP")
            .into_iter()
            .map(|r| (r["target_id"].clone(), r["detail"].clone()))
            .collect()
    }
    let gaps_of = |files: Vec<Vec<usize>>| {
        let f = Fixture::new();
        f.write();
        let dir = f.input_dir().join("audit_events");
        std::fs::remove_file(f.input_dir().join("audit_events.csv")).expect("rm");
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (i, idx) in files.iter().enumerate() {
            let body: String = idx.iter().map(|&k| line(feed[k])).collect();
            std::fs::write(dir.join(format!("part-{i}.csv")), format!("{HEADER}{body}"))
                .expect("write");
        }
        let inputs = permaudit::pipeline::Inputs {
            input_dir: &f.input_dir(),
            policy_dir: &f.policy_dir(),
            naive_tz: None,
            lookback_days: 30,
            sources: Default::default(),
        };
        let a = permaudit::pipeline::analyze(&inputs, date("2026-11-24")).expect("analysis");
        rows_of(&a.findings)
    };
    let whole = gaps_of(vec![(0..9).collect()]);
    let starts: Vec<&str> = whole.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(
        starts,
        vec![
            "2026-11-01T20:00:00.000000Z",
            "2026-11-04T02:30:00.000000Z",
            "2026-11-09T00:30:00.000000Z",
        ]
    );
    for cut in [
        vec![vec![0, 1], vec![2, 3, 4], vec![5, 6], vec![7, 8]],
        vec![vec![0, 2, 4, 6, 8], vec![1, 3, 5, 7]],
        vec![vec![0, 8], vec![1, 2, 3, 4, 5, 6, 7]],
        vec![vec![0, 3, 5], vec![1], vec![2, 4], vec![6, 7, 8]],
        (0..9).map(|k| vec![k]).collect(),
        vec![vec![0, 1, 2, 3, 4, 5, 6, 7, 8], vec![4, 5]],
    ] {
        assert_eq!(gaps_of(cut.clone()), whole, "cut {cut:?}");
    }
}
