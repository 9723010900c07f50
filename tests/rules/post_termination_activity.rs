use std::collections::BTreeMap;

use crate::common::*;

// as_of 2026-11-24: T = 2026-11-25T00:00Z; window [2026-10-26T00:00Z, T).
const IDS: &str = "identity_id,status,terminated_at\n\
alice,active,\n\
bob,terminated,2026-11-20T10:00:00Z\n\
carl,terminated,2026-11-26T00:00:00Z\n\
dave,terminated,2026-01-01T00:00:00Z\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,a-bob,bob,active\n\
pay-uk,a-bob-off,bob,disabled\n\
pay-hk,a-carl,carl,active\n\
pay-hk,a-dave,dave,locked\n\
pay-hk,a-alice,alice,active\n";

const EVENTS: &str = "event_id,ts,system_id,account_id,action,outcome\n\
e1,2026-11-20T10:00:00Z,pay-hk,a-bob,login,success\n\
e2,2026-11-21T09:00:00Z,pay-hk,a-bob,login,success\n\
e3,2026-11-22T09:00:00Z,pay-hk,a-bob,payout.view,failure\n\
e4,2026-11-24T23:00:00Z,pay-hk,a-bob,payout.release,success\n\
e5,2026-11-25T00:00:00Z,pay-hk,a-bob,payout.create,success\n\
e6,2026-11-21T00:00:00Z,pay-uk,a-bob-off,login,success\n\
e7,2026-11-24T00:00:00Z,pay-hk,a-carl,login,success\n\
e8,2026-10-25T23:59:59Z,pay-hk,a-dave,login,success\n\
e9,2026-10-26T00:00:00Z,pay-hk,a-dave,login,success\n\
e10,2026-11-24T00:00:00Z,pay-hk,a-alice,login,success\n\
e11,2026-11-24T00:00:00Z,pay-hk,ghost,login,success\n";

fn found() -> BTreeMap<String, BTreeMap<String, String>> {
    Fixture::new()
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("audit_events", EVENTS)
        .findings("2026-11-24", "POST_TERMINATION_ACTIVITY")
        .into_iter()
        .map(|r| (r["account_id"].clone(), r))
        .collect()
}

#[test]
fn successful_events_after_termination_in_window() {
    let found = found();
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec!["a-bob", "a-bob-off", "a-dave"]
    );
    let bob = &found["a-bob"];
    assert_eq!(bob["severity"], "critical");
    assert_eq!(bob["jurisdiction"], "HK");
    assert_eq!(bob["system_id"], "pay-hk");
    assert_eq!(bob["identity_id"], "bob");
    let d = detail(bob);
    // e1 is at terminated_at (not after), e3 failed, e5 is at T.
    assert_eq!(d["events"], 2);
    assert_eq!(d["first_event"], "2026-11-21T09:00:00Z");
    assert_eq!(d["last_event"], "2026-11-24T23:00:00Z");
    assert_eq!(d["actions"], serde_json::json!(["login", "payout.release"]));
    assert_eq!(d["terminated_at"], "2026-11-20T10:00:00Z");
}

#[test]
fn any_account_status_and_other_jurisdictions() {
    let found = found();
    let off = &found["a-bob-off"];
    assert_eq!(off["jurisdiction"], "UK");
    assert_eq!(detail(off)["account_status"], "disabled");
    assert_eq!(detail(off)["events"], 1);
}

#[test]
fn window_start_is_inclusive_and_future_leavers_are_employed() {
    let found = found();
    let d = detail(&found["a-dave"]);
    assert_eq!(d["events"], 1);
    assert_eq!(d["first_event"], "2026-10-26T00:00:00Z");
    assert!(!found.contains_key("a-carl"));
    assert!(!found.contains_key("a-alice"));
    assert!(!found.contains_key("ghost"));
}
