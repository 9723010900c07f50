use crate::common::*;

const ACCOUNTS: &str = "system_id,account_id,identity_id,account_type,status\n\
pay-hk,sh-priv,alice,shared,active\n\
pay-hk,sh-plain,alice,shared,active\n\
pay-hk,sh-off,alice,shared,disabled\n\
pay-hk,h-priv,alice,human,active\n\
pay-hk,sh-revoked,,shared,active\n\
pay-uk,sh-orphan,ghost,shared,active\n";

const ENTS: &str = "system_id,entitlement_id,kind,privileged\n\
pay-hk,p.view,permission,false\n\
pay-hk,p.release,permission,true\n\
pay-hk,r.ops,role,false\n\
pay-uk,p.admin,permission,true\n";

const ROLES: &str = "system_id,role_id,member_id\npay-hk,r.ops,p.release\n";

const GRANTS: &str = "grant_id,system_id,account_id,entitlement_id,granted_at,revoked_at\n\
g2,pay-hk,sh-priv,r.ops,2026-01-01T00:00:00Z,\n\
g1,pay-hk,sh-priv,p.release,2026-01-01T00:00:00Z,\n\
g3,pay-hk,sh-priv,p.view,2026-01-01T00:00:00Z,\n\
g4,pay-hk,sh-plain,p.view,2026-01-01T00:00:00Z,\n\
g5,pay-hk,sh-off,p.release,2026-01-01T00:00:00Z,\n\
g6,pay-hk,h-priv,p.release,2026-01-01T00:00:00Z,\n\
g7,pay-hk,sh-revoked,p.release,2026-01-01T00:00:00Z,2026-11-24T23:59:59Z\n\
g8,pay-uk,sh-orphan,p.admin,2026-01-01T00:00:00Z,\n\
g9,pay-hk,sh-plain,p.release,2026-11-25T00:00:00Z,\n";

#[test]
fn active_shared_accounts_with_privileged_access() {
    let found = Fixture::new()
        .table("identities", "identity_id,status\nalice,active\n")
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTS)
        .table("role_permissions", ROLES)
        .table("grants", GRANTS)
        .findings("2026-11-24", "SHARED_PRIVILEGED_ACCOUNT");
    let mut keys: Vec<(&str, &str)> = found
        .iter()
        .map(|r| (r["system_id"].as_str(), r["account_id"].as_str()))
        .collect();
    keys.sort_unstable();
    // Revoked before T and granted at T do not count; disabled accounts hold no access.
    assert_eq!(keys, vec![("pay-hk", "sh-priv"), ("pay-uk", "sh-orphan")]);
    let Some(hk) = found.iter().find(|r| r["account_id"] == "sh-priv") else {
        panic!("sh-priv finding");
    };
    assert_eq!(hk["severity"], "high");
    assert_eq!(hk["jurisdiction"], "HK");
    assert_eq!(hk["identity_id"], "alice");
    let d = detail(hk);
    assert_eq!(d["privileged_grants"], serde_json::json!(["g1", "g2"]));
    assert_eq!(
        d["privileged_entitlements"],
        serde_json::json!(["p.release", "r.ops"])
    );
    let Some(uk) = found.iter().find(|r| r["account_id"] == "sh-orphan") else {
        panic!("sh-orphan finding");
    };
    assert_eq!(uk["jurisdiction"], "UK");
    assert!(!uk.contains_key("identity_id"));
    assert_eq!(detail(uk)["recorded_owner"], "ghost");
}
