use std::collections::BTreeMap;

use crate::common::*;

// as_of 2026-11-24: T = 2026-11-25T00:00Z; window [2026-10-26T00:00Z, T).
const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,known,,disabled\n";

const EVENTS: &str = "event_id,ts,system_id,account_id,action,outcome\n\
e1,2026-11-01T08:00:00Z,pay-hk,x1,payout.release,success\n\
e2,2026-10-26T00:00:00Z,pay-hk,x1,login,success\n\
e3,2026-11-24T23:59:59Z,pay-hk,x1,login,success\n\
e4,2026-11-24T23:59:59Z,pay-hk,x1,payout.view,failure\n\
e5,2026-11-25T00:00:00Z,pay-hk,x1,payout.create,success\n\
e6,2026-10-25T23:59:59Z,pay-hk,x1,payout.delete,success\n\
e7,2026-11-10T00:00:00Z,pay-hk,known,login,success\n\
e8,2026-11-10T00:00:00Z,pay-uk,known,login,success\n\
e9,2026-11-10T00:00:00Z,pay-hk,x2,login,failure\n\
e10,2026-10-20T00:00:00Z,pay-hk,x3,login,success\n";

fn found() -> BTreeMap<(String, String), BTreeMap<String, String>> {
    Fixture::new()
        .table("accounts", ACCOUNTS)
        .table("audit_events", EVENTS)
        .findings("2026-11-24", "UNMANAGED_ACCOUNT_ACTIVITY")
        .into_iter()
        .map(|r| ((r["system_id"].clone(), r["account_id"].clone()), r))
        .collect()
}

#[test]
fn successful_window_events_of_unknown_accounts() {
    let found = found();
    let keys: Vec<(&str, &str)> = found
        .keys()
        .map(|(s, a)| (s.as_str(), a.as_str()))
        .collect();
    // "known" exists on pay-hk only; on pay-uk it is unmanaged.
    assert_eq!(keys, vec![("pay-hk", "x1"), ("pay-uk", "known")]);
    let x1 = &found[&("pay-hk".to_string(), "x1".to_string())];
    assert_eq!(x1["severity"], "high");
    assert_eq!(x1["jurisdiction"], "HK");
    assert!(!x1.contains_key("identity_id"));
    let d = detail(x1);
    assert_eq!(d["events"], 3);
    assert_eq!(d["first_event"], "2026-10-26T00:00:00Z");
    assert_eq!(d["last_event"], "2026-11-24T23:59:59Z");
    assert_eq!(d["actions"], serde_json::json!(["login", "payout.release"]));
    let uk = &found[&("pay-uk".to_string(), "known".to_string())];
    assert_eq!(uk["jurisdiction"], "UK");
}
