use crate::common::*;

fn policy() -> String {
    DEFAULT_JURISDICTIONS.replace(
        "timezone = \"Asia/Hong_Kong\"",
        "timezone = \"Asia/Hong_Kong\"\nallowed_login_countries = [\"HK\", \"SG\"]",
    )
}

#[test]
fn successful_login_from_an_unlisted_country() {
    let events = "event_id,ts,system_id,account_id,action,outcome,src_country\n\
e1,2026-11-05T03:00:00Z,pay-hk,a1,login,success,RU\n\
e2,2026-11-07T03:00:00Z,pay-hk,a1,login,success,RU\n\
e3,2026-11-06T03:00:00Z,pay-hk,a1,login,success,US\n\
e4,2026-11-06T04:00:00Z,pay-hk,a1,login,success,SG\n\
e5,2026-11-06T03:00:00Z,pay-hk,a2,login,failure,RU\n\
e6,2026-11-06T03:05:00Z,pay-hk,a2,login,success,\n\
e7,2026-11-06T03:06:00Z,pay-hk,a2,payout.view,success,RU\n\
e8,2026-10-25T23:59:59Z,pay-hk,a3,login,success,RU\n\
e9,2026-11-25T00:00:00Z,pay-hk,a3,login,success,RU\n\
e10,2026-11-06T03:00:00Z,pay-uk,a4,login,success,RU\n\
e11,2026-10-26T00:00:00Z,pay-hk,a5,login,success,hk\n";
    let accounts = "system_id,account_id,identity_id,status\npay-hk,a1,id-1,active\n";
    let f = Fixture::new()
        .policy("jurisdictions", &policy())
        .table("identities", "identity_id,status\nid-1,active\n")
        .table("accounts", accounts)
        .table("audit_events", events);
    let mut found = f.findings("2026-11-24", "LOGIN_FROM_UNEXPECTED_COUNTRY");
    found.sort_by(|a, b| a["account_id"].cmp(&b["account_id"]));
    let keys: Vec<(&str, &str)> = found
        .iter()
        .map(|r| (r["system_id"].as_str(), r["account_id"].as_str()))
        .collect();
    // a2: failure / null country / not a login; a3: outside the window; a4: UK lists no
    // countries; a5 (not in accounts) logged in from "hk": codes compare exactly.
    assert_eq!(keys, vec![("pay-hk", "a1"), ("pay-hk", "a5")]);
    let r = &found[0];
    assert_eq!(r["severity"], "high");
    assert_eq!(r["jurisdiction"], "HK");
    assert_eq!(r["identity_id"], "id-1");
    let d = detail(r);
    assert_eq!(d["unexpected_logins"], 3);
    assert_eq!(d["first_login"], "2026-11-05T03:00:00Z");
    assert_eq!(d["last_login"], "2026-11-07T03:00:00Z");
    assert_eq!(d["allowed_countries"], serde_json::json!(["HK", "SG"]));
    assert_eq!(
        d["countries"],
        serde_json::json!([
            {"country": "RU", "logins": 2, "first_login": "2026-11-05T03:00:00Z",
             "last_login": "2026-11-07T03:00:00Z"},
            {"country": "US", "logins": 1, "first_login": "2026-11-06T03:00:00Z",
             "last_login": "2026-11-06T03:00:00Z"},
        ])
    );
}

#[test]
fn empty_list_means_no_check() {
    let events = "event_id,ts,system_id,account_id,action,outcome,src_country\n\
e1,2026-11-05T03:00:00Z,pay-hk,a1,login,success,RU\n";
    let f = Fixture::new().table("audit_events", events);
    assert!(f
        .findings("2026-11-24", "LOGIN_FROM_UNEXPECTED_COUNTRY")
        .is_empty());
}
