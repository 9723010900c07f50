use std::collections::BTreeMap;

use crate::common::*;

// as_of 2026-11-24: T = 2026-11-25T00:00Z.
const IDS: &str = "identity_id,status\nalice,active\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,a1,alice,active\n\
pay-hk,a-off,alice,disabled\n\
pay-hk,a-orphan,,active\n\
pay-uk,a1,alice,active\n";

const ENTS: &str = "system_id,entitlement_id,kind,privileged\n\
pay-hk,p.view,permission,false\n\
pay-hk,p.release,permission,true\n\
pay-hk,r.ops,role,false\n\
pay-uk,p.view,permission,false\n";

const ROLES: &str = "system_id,role_id,member_id\npay-hk,r.ops,p.release\n";

const GRANTS: &str =
    "grant_id,system_id,account_id,entitlement_id,granted_at,granted_by,approved_by,expires_at,revoked_at,ticket\n\
g-expired,pay-hk,a1,p.view,2026-01-01T00:00:00Z,carol,dan,2026-11-24T23:59:59Z,,CHG-1\n\
g-at-t,pay-hk,a1,p.view,2026-01-01T00:00:00Z,,,2026-11-25T00:00:00Z,,\n\
g-no-expiry,pay-hk,a1,p.view,2026-01-01T00:00:00Z,,,,,\n\
g-revoked,pay-hk,a1,p.view,2026-01-01T00:00:00Z,,,2026-06-01T00:00:00Z,2026-11-24T23:59:59Z,\n\
g-revoked-at-t,pay-hk,a1,p.view,2026-01-01T00:00:00Z,,,2026-06-01T00:00:00Z,2026-11-25T00:00:00Z,\n\
g-disabled,pay-hk,a-off,p.view,2026-01-01T00:00:00Z,,,2026-06-01T00:00:00Z,,\n\
g-orphan,pay-hk,a-orphan,p.view,2026-01-01T00:00:00Z,,,2026-06-01T00:00:00Z,,\n\
g-priv,pay-hk,a1,r.ops,2026-01-01T00:00:00Z,,,2026-11-01T12:00:00Z,,\n\
g-future,pay-hk,a1,p.view,2026-11-25T00:00:00Z,,,2026-11-01T00:00:00Z,,\n\
g-uk,pay-uk,a1,p.view,2026-01-01T00:00:00Z,,,2026-06-01T00:00:00Z,,\n";

fn found() -> BTreeMap<String, BTreeMap<String, String>> {
    Fixture::new()
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTS)
        .table("role_permissions", ROLES)
        .table("grants", GRANTS)
        .findings("2026-11-24", "EXPIRED_GRANT")
        .into_iter()
        .map(|r| (r["grant_id"].clone(), r))
        .collect()
}

#[test]
fn active_grants_past_expiry() {
    let found = found();
    // Expiry exactly at T is not past; revoked at T is still active; granted at T is not known.
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec![
            "g-disabled",
            "g-expired",
            "g-orphan",
            "g-priv",
            "g-revoked-at-t",
            "g-uk"
        ]
    );
    let g = &found["g-expired"];
    assert_eq!(g["severity"], "medium");
    assert_eq!(g["jurisdiction"], "HK");
    assert_eq!(g["system_id"], "pay-hk");
    assert_eq!(g["account_id"], "a1");
    assert_eq!(g["entitlement_id"], "p.view");
    assert_eq!(g["identity_id"], "alice");
    let d = detail(g);
    assert_eq!(d["expires_at"], "2026-11-24T23:59:59Z");
    assert_eq!(d["days_past_expiry"], 0);
    assert_eq!(d["approved_by"], "dan");
    assert_eq!(d["ticket"], "CHG-1");
    assert_eq!(found["g-uk"]["jurisdiction"], "UK");
    assert!(!found["g-orphan"].contains_key("identity_id"));
}

#[test]
fn privileged_is_high_and_disabled_accounts_count() {
    let found = found();
    let p = &found["g-priv"];
    assert_eq!(p["severity"], "high");
    assert_eq!(detail(p)["days_past_expiry"], 23);
    assert_eq!(detail(p)["privileged"], true);
    assert_eq!(detail(&found["g-disabled"])["account_status"], "disabled");
}
