use std::collections::BTreeMap;

use crate::common::*;

const HEADER: &str = "event_id,ts,system_id,account_id,action,outcome\n";
const SEC: i64 = 1_000_000;
const MIN: i64 = 60 * SEC;

/// HK: threshold 3 within 10 minutes; UK keeps the defaults (10 within 15 minutes).
fn policy() -> String {
    DEFAULT_JURISDICTIONS.replace(
        "timezone = \"Asia/Hong_Kong\"",
        "timezone = \"Asia/Hong_Kong\"\nfailed_login_threshold = 3\nfailed_login_window_minutes = 10",
    )
}

/// 2026-11-20T00:00:00Z, inside the window of as_of 2026-11-24.
fn base() -> i64 {
    micros("2026-11-20T00:00:00Z")
}

fn micros(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts)
        .expect("ts")
        .timestamp_micros()
}

fn text(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .expect("ts")
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Login events of one account: `(offset from base in µs, outcome)`.
fn logins(sys: &str, acc: &str, at: i64, evs: &[(i64, &str)]) -> String {
    evs.iter()
        .enumerate()
        .map(|(k, (off, outcome))| {
            format!("{acc}-{k},{},{sys},{acc},login,{outcome}\n", text(at + off))
        })
        .collect()
}

fn fails(offsets: &[i64]) -> Vec<(i64, &'static str)> {
    offsets.iter().map(|&o| (o, "failure")).collect()
}

fn findings(events: &str, accounts: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    Fixture::new()
        .policy("jurisdictions", &policy())
        .table("accounts", accounts)
        .table("identities", "identity_id,status\nid-a,active\n")
        .table("audit_events", &format!("{HEADER}{events}"))
        .findings("2026-11-24", "FAILED_LOGIN_BURST")
        .into_iter()
        .map(|r| (r["account_id"].clone(), r))
        .collect()
}

const NO_ACCOUNTS: &str = "system_id,account_id,identity_id,status\n";

#[test]
fn threshold_and_window_boundaries() {
    let b = base();
    let events = [
        // exactly threshold, span window - 1µs: a burst
        logins("pay-hk", "just-in", b, &fails(&[0, MIN, 10 * MIN - 1])),
        // span exactly the window: not less than it
        logins("pay-hk", "span-window", b, &fails(&[0, MIN, 10 * MIN])),
        // one short of the threshold
        logins("pay-hk", "one-short", b, &fails(&[0, SEC])),
        // a failure of another action does not count
        format!(
            "x,{},pay-hk,one-short,payout.release,failure\n",
            text(b + 2 * SEC)
        ),
    ]
    .concat();
    let accounts = "system_id,account_id,identity_id,status\npay-hk,just-in,id-a,active\n";
    let found = findings(&events, accounts);
    assert_eq!(found.keys().collect::<Vec<_>>(), vec!["just-in"]);
    let r = &found["just-in"];
    assert_eq!(r["severity"], "high");
    assert_eq!(r["jurisdiction"], "HK");
    assert_eq!(r["system_id"], "pay-hk");
    assert_eq!(r["identity_id"], "id-a");
    let d = detail(r);
    assert_eq!(d["burst_failures"], 3);
    assert_eq!(d["first_burst_failure"], "2026-11-20T00:00:00Z");
    assert_eq!(d["last_burst_failure"], "2026-11-20T00:09:59.999999Z");
    assert_eq!(d["failed_login_threshold"], 3);
    assert_eq!(d["failed_login_window_minutes"], 10);
    assert!(d["success_after_burst_failure"].is_null());
}

#[test]
fn success_within_the_window_makes_it_critical() {
    let b = base();
    let burst = [0, MIN, 2 * MIN];
    let with = |acc: &str, success: i64| {
        let mut evs = fails(&burst);
        evs.push((success, "success"));
        logins("pay-hk", acc, b, &evs)
    };
    let events = [
        // exactly one window after the last failure: not less than the window
        with("one-window", 12 * MIN),
        // one microsecond sooner: critical
        with("just-before", 12 * MIN - 1),
        // a success between the failures of the burst is later than the first one
        with("in-between", MIN + SEC),
        // before the burst: does not follow it
        with("before", -1),
    ]
    .concat();
    let found = findings(&events, NO_ACCOUNTS);
    let sev: Vec<(&str, &str)> = found
        .iter()
        .map(|(k, r)| (k.as_str(), r["severity"].as_str()))
        .collect();
    assert_eq!(
        sev,
        vec![
            ("before", "high"),
            ("in-between", "critical"),
            ("just-before", "critical"),
            ("one-window", "high"),
        ]
    );
    let d = detail(&found["just-before"]);
    assert_eq!(
        d["success_after_burst_failure"],
        "2026-11-20T00:11:59.999999Z"
    );
    assert_eq!(d["preceding_burst_failure"], "2026-11-20T00:02:00Z");
    let d = detail(&found["one-window"]);
    assert!(d["success_after_burst_failure"].is_null());
    assert_eq!(d["next_success_after_burst"], "2026-11-20T00:12:00Z");
    // Accounts absent from `accounts` are judged too, without an identity.
    assert!(!found["before"].contains_key("identity_id"));
}

#[test]
fn success_at_the_same_instant_is_not_later() {
    let b = base();
    let events = logins(
        "pay-hk",
        "same-ts",
        b,
        &[
            (0, "failure"),
            (0, "failure"),
            (0, "failure"),
            (0, "success"),
        ],
    );
    let found = findings(&events, NO_ACCOUNTS);
    assert_eq!(found["same-ts"]["severity"], "high");
}

#[test]
fn success_after_failures_outside_the_burst_is_not_critical() {
    // Burst = the last three failures; the success follows only the lone first failure.
    let b = base();
    let events = logins(
        "pay-hk",
        "lone",
        b,
        &[
            (0, "failure"),
            (5 * MIN, "success"),
            (30 * MIN, "failure"),
            (31 * MIN, "failure"),
            (32 * MIN, "failure"),
        ],
    );
    let found = findings(&events, NO_ACCOUNTS);
    let r = &found["lone"];
    assert_eq!(r["severity"], "high");
    let d = detail(r);
    assert_eq!(d["burst_failures"], 3);
    assert_eq!(d["failed_logins_in_window"], 4);
    assert_eq!(d["first_burst_failure"], "2026-11-20T00:30:00Z");
}

#[test]
fn only_window_events_count() {
    // Window = [2026-10-26T00:00Z, 2026-11-25T00:00Z).
    let start = micros("2026-10-26T00:00:00Z");
    let t = micros("2026-11-25T00:00:00Z");
    let events = [
        logins("pay-hk", "at-start", start, &fails(&[-2 * SEC, -SEC, 0])),
        logins("pay-hk", "at-t", t, &fails(&[-2 * SEC, -SEC, 0])),
        logins("pay-hk", "inside", start, &fails(&[0, SEC, 2 * SEC])),
    ]
    .concat();
    let found = findings(&events, NO_ACCOUNTS);
    assert_eq!(found.keys().collect::<Vec<_>>(), vec!["inside"]);
}

#[test]
fn default_threshold_applies_per_jurisdiction() {
    let b = base();
    let ten: Vec<i64> = (0..10).map(|k| k * MIN).collect();
    let nine: Vec<i64> = (0..9).map(|k| k * MIN).collect();
    let mut ten_then_success = fails(&ten);
    ten_then_success.push((9 * MIN + 4 * MIN, "success"));
    let events = [
        logins("pay-uk", "ten", b, &ten_then_success),
        logins("pay-uk", "nine", b, &fails(&nine)),
    ]
    .concat();
    let found = findings(&events, NO_ACCOUNTS);
    assert_eq!(found.keys().collect::<Vec<_>>(), vec!["ten"]);
    assert_eq!(found["ten"]["severity"], "critical");
    assert_eq!(found["ten"]["jurisdiction"], "UK");
    let d = detail(&found["ten"]);
    assert_eq!(d["burst_failures"], 10);
    assert_eq!(d["failed_login_threshold"], 10);
    assert_eq!(d["success_delay_seconds"], 240.0);
}
