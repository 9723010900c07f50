use crate::common::*;

const ACCOUNTS: &str = "system_id,account_id,identity_id,account_type,status\n\
pay-hk,bg-hk,,emergency,disabled\n\
pay-hk,bg-edge,,emergency,active\n\
pay-uk,bg-uk,,emergency,active\n\
pay-hk,ops,,human,active\n";

#[test]
fn successful_use_in_the_window_fires() {
    // Window = [2026-10-26T00:00Z, 2026-11-25T00:00Z).
    let events = "event_id,ts,system_id,account_id,action,outcome,target_id\n\
e1,2026-11-12T11:10:00+08:00,pay-hk,bg-hk,login,success,\n\
e2,2026-11-12T11:16:30+08:00,pay-hk,bg-hk,payout.release,success,PO-1\n\
e3,2026-11-12T11:20:00+08:00,pay-hk,bg-hk,payout.release,failure,PO-2\n\
e4,2026-10-26T00:00:00Z,pay-hk,bg-edge,login,success,\n\
e5,2026-11-15T09:00:00Z,pay-uk,bg-uk,login,failure,\n\
e6,2026-10-25T23:59:59.999999Z,pay-uk,bg-uk,login,success,\n\
e7,2026-11-25T00:00:00Z,pay-uk,bg-uk,login,success,\n\
e8,2026-11-12T00:00:00Z,pay-hk,ops,login,success,\n\
e9,2026-11-12T00:00:00Z,pay-hk,bg-unknown,login,success,\n";
    let f = Fixture::new()
        .table("accounts", ACCOUNTS)
        .table("audit_events", events);
    let found = f.findings("2026-11-24", "EMERGENCY_ACCOUNT_USED");
    let keys: Vec<(&str, &str)> = found
        .iter()
        .map(|r| (r["system_id"].as_str(), r["account_id"].as_str()))
        .collect();
    // bg-uk: a failure in the window, a success just before it and one at T: no use.
    assert_eq!(keys, vec![("pay-hk", "bg-edge"), ("pay-hk", "bg-hk")]);
    let r = &found[1];
    assert_eq!(r["severity"], "high");
    assert_eq!(r["jurisdiction"], "HK");
    let d = detail(r);
    assert_eq!(d["account_status"], "disabled");
    assert_eq!(d["successful_events"], 2);
    assert_eq!(d["first_use"], "2026-11-12T03:10:00Z");
    assert_eq!(d["last_use"], "2026-11-12T03:16:30Z");
    assert_eq!(d["actions"], serde_json::json!(["login", "payout.release"]));
    assert_eq!(d["targets"], serde_json::json!(["PO-1"]));
    assert_eq!(detail(&found[0])["first_use"], "2026-10-26T00:00:00Z");
}
