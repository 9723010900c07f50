use std::collections::BTreeMap;

use crate::common::*;

const IDS: &str = "identity_id,status\nalice,active\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,a1,alice,active\n\
pay-hk,a-off,alice,locked\n\
pay-uk,a1,,active\n";

const ENTS: &str = "system_id,entitlement_id,kind,privileged\n\
pay-hk,p.view,permission,false\n\
pay-hk,p.release,permission,true\n\
pay-hk,r.ops,role,false\n\
pay-hk,r.inner,role,false\n\
pay-hk,r.flagged,role,true\n\
pay-uk,p.admin,permission,true\n";

const ROLES: &str = "system_id,role_id,member_id\n\
pay-hk,r.ops,r.inner\n\
pay-hk,r.ops,p.view\n\
pay-hk,r.inner,p.release\n\
pay-hk,r.flagged,p.view\n";

const GRANTS: &str =
    "grant_id,system_id,account_id,entitlement_id,granted_at,granted_by,approved_by,revoked_at,ticket\n\
g-nested,pay-hk,a1,r.ops,2026-01-01T00:00:00Z,bob,,,CHG-9\n\
g-approved,pay-hk,a1,r.ops,2026-01-01T00:00:00Z,bob,carol,,\n\
g-plain,pay-hk,a1,p.view,2026-01-01T00:00:00Z,bob,,,\n\
g-flagged-role,pay-hk,a1,r.flagged,2026-01-01T00:00:00Z,,,,\n\
g-revoked,pay-hk,a1,p.release,2026-01-01T00:00:00Z,,,2026-11-24T23:59:59Z,\n\
g-revoked-at-t,pay-hk,a1,p.release,2026-01-01T00:00:00Z,,,2026-11-25T00:00:00Z,\n\
g-locked,pay-hk,a-off,p.release,2026-01-01T00:00:00Z,,,,\n\
g-future,pay-hk,a1,p.release,2026-11-25T00:00:00Z,,,,\n\
g-uk,pay-uk,a1,p.admin,2026-01-01T00:00:00Z,,,,\n";

fn found() -> BTreeMap<String, BTreeMap<String, String>> {
    Fixture::new()
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTS)
        .table("role_permissions", ROLES)
        .table("grants", GRANTS)
        .findings("2026-11-24", "UNAPPROVED_PRIVILEGED_GRANT")
        .into_iter()
        .map(|r| (r["grant_id"].clone(), r))
        .collect()
}

#[test]
fn privileged_grants_without_approver() {
    let found = found();
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec![
            "g-flagged-role",
            "g-locked",
            "g-nested",
            "g-revoked-at-t",
            "g-uk"
        ]
    );
    let g = &found["g-nested"];
    assert_eq!(g["severity"], "high");
    assert_eq!(g["jurisdiction"], "HK");
    assert_eq!(g["identity_id"], "alice");
    assert_eq!(g["entitlement_id"], "r.ops");
    assert_eq!(g["account_id"], "a1");
    let d = detail(g);
    assert_eq!(
        d["privileged_paths"],
        serde_json::json!(["r.ops > r.inner > p.release"])
    );
    assert_eq!(d["flagged_privileged"], false);
    assert_eq!(d["granted_by"], "bob");
    assert_eq!(d["ticket"], "CHG-9");
}

#[test]
fn privilege_flag_on_the_role_itself_counts() {
    let found = found();
    let d = detail(&found["g-flagged-role"]);
    assert_eq!(d["flagged_privileged"], true);
    assert_eq!(d["privileged_paths"], serde_json::Value::Null);
    assert_eq!(found["g-uk"]["jurisdiction"], "UK");
    assert!(!found["g-uk"].contains_key("identity_id"));
    assert_eq!(detail(&found["g-locked"])["effective"], false);
}
