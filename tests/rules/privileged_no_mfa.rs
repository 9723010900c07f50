use crate::common::*;

// as_of 2026-11-24: T = 2026-11-25T00:00Z; window [2026-10-26T00:00Z, T).
const IDS: &str = "identity_id,status\nalice,active\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,a-priv,alice,active\n\
pay-hk,a-plain,alice,active\n\
pay-hk,a-off,alice,disabled\n\
pay-hk,a-ok,alice,active\n\
pay-uk,a-priv,alice,active\n";

const ENTS: &str = "system_id,entitlement_id,kind,privileged\n\
pay-hk,p.view,permission,false\n\
pay-hk,p.release,permission,true\n\
pay-hk,r.ops,role,false\n\
pay-uk,p.admin,permission,true\n";

const ROLES: &str = "system_id,role_id,member_id\npay-hk,r.ops,p.release\n";

const GRANTS: &str = "grant_id,system_id,account_id,entitlement_id,granted_at\n\
g1,pay-hk,a-priv,r.ops,2026-01-01T00:00:00Z\n\
g2,pay-hk,a-plain,p.view,2026-01-01T00:00:00Z\n\
g3,pay-hk,a-off,p.release,2026-01-01T00:00:00Z\n\
g4,pay-hk,a-ok,p.release,2026-01-01T00:00:00Z\n\
g5,pay-uk,a-priv,p.admin,2026-01-01T00:00:00Z\n";

const EVENTS: &str = "event_id,ts,system_id,account_id,action,outcome,mfa\n\
e1,2026-11-01T00:00:00Z,pay-hk,a-priv,login,success,true\n\
e2,2026-11-10T00:00:00Z,pay-hk,a-priv,login,success,false\n\
e3,2026-11-20T00:00:00Z,pay-hk,a-priv,login,success,\n\
e4,2026-11-21T00:00:00Z,pay-hk,a-priv,login,failure,false\n\
e5,2026-11-22T00:00:00Z,pay-hk,a-priv,payout.release,success,false\n\
e6,2026-10-25T23:59:59Z,pay-hk,a-priv,login,success,false\n\
e7,2026-11-25T00:00:00Z,pay-hk,a-priv,login,success,false\n\
e8,2026-11-10T00:00:00Z,pay-hk,a-plain,login,success,false\n\
e9,2026-11-10T00:00:00Z,pay-hk,a-off,login,success,false\n\
e10,2026-11-10T00:00:00Z,pay-hk,a-ok,login,success,true\n\
e11,2026-11-10T00:00:00Z,pay-hk,a-ok,login,success,TRUE\n\
e12,2026-11-10T00:00:00Z,pay-uk,a-priv,login,success,false\n\
e13,2026-10-26T00:00:00Z,pay-uk,a-priv,login,success,0\n";

fn fixture() -> Fixture {
    Fixture::new()
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTS)
        .table("role_permissions", ROLES)
        .table("grants", GRANTS)
        .table("audit_events", EVENTS)
}

#[test]
fn logins_without_mfa_true_in_window() {
    let found = by_pair(
        fixture().findings("2026-11-24", "PRIVILEGED_NO_MFA"),
        "system_id",
        "account_id",
    );
    let keys: Vec<(&str, &str)> = found
        .keys()
        .map(|(s, a)| (s.as_str(), a.as_str()))
        .collect();
    assert_eq!(keys, vec![("pay-hk", "a-priv"), ("pay-uk", "a-priv")]);
    let hk = &found[&("pay-hk".to_string(), "a-priv".to_string())];
    assert_eq!(hk["severity"], "high");
    assert_eq!(hk["jurisdiction"], "HK");
    assert_eq!(hk["identity_id"], "alice");
    let d = detail(hk);
    // e2 (false) and e3 (null); not the failure, the non-login, the out-of-window or at-T ones.
    assert_eq!(d["logins_without_mfa"], 2);
    assert_eq!(d["mfa_false"], 1);
    assert_eq!(d["mfa_unknown"], 1);
    assert_eq!(d["first_login"], "2026-11-10T00:00:00Z");
    assert_eq!(d["last_login"], "2026-11-20T00:00:00Z");
    let uk = detail(&found[&("pay-uk".to_string(), "a-priv".to_string())]);
    assert_eq!(uk["logins_without_mfa"], 2);
    assert_eq!(uk["first_login"], "2026-10-26T00:00:00Z");
}

#[test]
fn only_where_the_jurisdiction_requires_mfa() {
    let jur = DEFAULT_JURISDICTIONS.replace(
        "timezone = \"Europe/London\"",
        "timezone = \"Europe/London\"\nmfa_required_for_privileged = false",
    );
    let found = fixture()
        .policy("jurisdictions", &jur)
        .findings("2026-11-24", "PRIVILEGED_NO_MFA");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["jurisdiction"], "HK");
}
