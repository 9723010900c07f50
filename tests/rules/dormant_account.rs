use std::collections::BTreeMap;

use crate::common::*;

// as_of 2026-11-24: T = 2026-11-25T00:00Z; default 90 days -> threshold 2026-08-27T00:00Z.
const IDS: &str = "identity_id,status,terminated_at\n\
alice,active,\n\
bob,terminated,2026-01-01T00:00:00Z\n\
carl,terminated,2026-12-01T00:00:00Z\n";

const EVENT_HEADER: &str = "event_id,ts,system_id,account_id,action,outcome\n";

fn fixture(accounts: &str, events: &str) -> Fixture {
    Fixture::new()
        .table("identities", IDS)
        .table(
            "accounts",
            &format!("system_id,account_id,identity_id,account_type,status,created_at\n{accounts}"),
        )
        .table("audit_events", &format!("{EVENT_HEADER}{events}"))
}

fn by_account(found: &[BTreeMap<String, String>]) -> BTreeMap<String, BTreeMap<String, String>> {
    found
        .iter()
        .map(|r| (r["account_id"].clone(), r.clone()))
        .collect()
}

#[test]
fn login_and_creation_boundaries() {
    let accounts = "pay-hk,never,alice,human,active,\n\
pay-hk,created-at-threshold,alice,human,active,2026-08-27T00:00:00Z\n\
pay-hk,created-before,alice,human,active,2026-08-26T23:59:59Z\n\
pay-hk,login-at-threshold,alice,shared,active,2026-01-01T00:00:00Z\n\
pay-hk,login-before,alice,human,active,2026-01-01T00:00:00Z\n";
    let events = "e1,2026-08-27T00:00:00Z,pay-hk,login-at-threshold,login,success\n\
e2,2026-08-26T23:59:59Z,pay-hk,login-before,login,success\n";
    let found = by_account(&fixture(accounts, events).findings("2026-11-24", "DORMANT_ACCOUNT"));
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec!["created-before", "login-before", "never"]
    );
    let never = &found["never"];
    assert_eq!(never["severity"], "low");
    assert_eq!(never["jurisdiction"], "HK");
    assert_eq!(never["system_id"], "pay-hk");
    assert_eq!(never["identity_id"], "alice");
    let d = detail(never);
    assert_eq!(d["last_login"], "never");
    assert_eq!(d["created_at"], "unknown");
    assert_eq!(d["dormant_account_days"], 90);
    assert_eq!(d["no_login_since"], "2026-08-27T00:00:00Z");
    let d = detail(&found["login-before"]);
    assert_eq!(d["last_login"], "2026-08-26T23:59:59Z");
    assert_eq!(d["created_at"], "2026-01-01T00:00:00Z");
}

#[test]
fn only_successful_logins_before_t_count() {
    let accounts = "pay-hk,failed,alice,human,active,\n\
pay-hk,at-t,alice,human,active,\n\
pay-hk,other-action,alice,human,active,\n\
pay-hk,ok,alice,human,active,\n";
    let events = "e1,2026-11-20T00:00:00Z,pay-hk,failed,login,failure\n\
e2,2026-11-25T00:00:00Z,pay-hk,at-t,login,success\n\
e3,2026-11-20T00:00:00Z,pay-hk,other-action,payout.view,success\n\
e4,2026-11-24T23:59:59Z,pay-hk,ok,login,success\n\
e5,2026-11-20T00:00:00Z,pay-uk,failed,login,success\n";
    let found = by_account(&fixture(accounts, events).findings("2026-11-24", "DORMANT_ACCOUNT"));
    // A login on another system under the same account name is not this account's.
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec!["at-t", "failed", "other-action"]
    );
    assert_eq!(detail(&found["at-t"])["last_login"], "never");
}

#[test]
fn account_types_status_and_identity_filter() {
    let accounts = "pay-hk,svc,alice,service,active,\n\
pay-hk,emerg,alice,emergency,active,\n\
pay-hk,shared,alice,shared,active,\n\
pay-hk,default-type,alice,,active,\n\
pay-hk,disabled,alice,human,disabled,\n\
pay-hk,locked,alice,human,locked,\n\
pay-hk,leaver,bob,human,active,\n\
pay-hk,orphan,,human,active,\n\
pay-hk,ghost,ghost,human,active,\n\
pay-hk,future-leaver,carl,human,active,\n";
    let found = by_account(&fixture(accounts, "").findings("2026-11-24", "DORMANT_ACCOUNT"));
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec!["default-type", "future-leaver", "shared"]
    );
    assert_eq!(detail(&found["shared"])["account_type"], "shared");
}

#[test]
fn privileged_access_raises_severity() {
    let accounts = "pay-hk,priv,alice,human,active,\npay-hk,plain,alice,human,active,\n";
    let ents = "system_id,entitlement_id,kind,privileged\n\
pay-hk,p.release,permission,true\n\
pay-hk,p.view,permission,false\n";
    let grants = "grant_id,system_id,account_id,entitlement_id,granted_at\n\
g1,pay-hk,priv,p.release,2026-01-01T00:00:00Z\n\
g2,pay-hk,plain,p.view,2026-01-01T00:00:00Z\n";
    let found = by_account(
        &fixture(accounts, "")
            .table("entitlements", ents)
            .table("grants", grants)
            .findings("2026-11-24", "DORMANT_ACCOUNT"),
    );
    assert_eq!(found["priv"]["severity"], "medium");
    assert_eq!(detail(&found["priv"])["privileged_access"], true);
    assert_eq!(found["plain"]["severity"], "low");
}

#[test]
fn threshold_comes_from_the_accounts_jurisdiction() {
    let jur = DEFAULT_JURISDICTIONS.replace(
        "timezone = \"Europe/London\"",
        "timezone = \"Europe/London\"\ndormant_account_days = 30",
    );
    let accounts = "pay-hk,a1,alice,human,active,\npay-uk,a1,alice,human,active,\n";
    // Last login 2026-10-25: dormant under 30 days (UK), not under 90 (HK).
    let events = "e1,2026-10-25T00:00:00Z,pay-hk,a1,login,success\n\
e2,2026-10-25T00:00:00Z,pay-uk,a1,login,success\n";
    let found = fixture(accounts, events)
        .policy("jurisdictions", &jur)
        .findings("2026-11-24", "DORMANT_ACCOUNT");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["jurisdiction"], "UK");
    assert_eq!(found[0]["system_id"], "pay-uk");
    let d = detail(&found[0]);
    assert_eq!(d["dormant_account_days"], 30);
    assert_eq!(d["no_login_since"], "2026-10-26T00:00:00Z");
}
