use std::collections::BTreeMap;

use crate::common::*;

const IDS: &str = "identity_id,status,terminated_at\n\
alice,active,\n\
bob,terminated,2026-01-01T00:00:00Z\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,account_type,status,created_at\n\
pay-hk,o-null,,human,active,2025-01-01T00:00:00Z\n\
pay-uk,o-ghost,ghost,service,active,\n\
pay-hk,o-disabled,,human,disabled,\n\
pay-hk,o-locked,ghost,human,locked,\n\
pay-hk,o-priv,,emergency,active,\n\
pay-hk,o-alice,alice,human,active,\n\
pay-hk,o-bob,bob,human,active,\n\
pay-hk,o-case,Alice,human,active,\n";

fn found() -> BTreeMap<String, BTreeMap<String, String>> {
    let ents = "system_id,entitlement_id,kind,privileged\npay-hk,p.admin,permission,true\n";
    let grants = "grant_id,system_id,account_id,entitlement_id,granted_at\n\
g1,pay-hk,o-priv,p.admin,2026-01-01T00:00:00Z\n\
g2,pay-hk,o-disabled,p.admin,2026-01-01T00:00:00Z\n";
    Fixture::new()
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("entitlements", ents)
        .table("grants", grants)
        .findings("2026-11-24", "ORPHAN_ACCOUNT")
        .into_iter()
        .map(|r| (r["account_id"].clone(), r))
        .collect()
}

#[test]
fn active_accounts_without_a_known_identity() {
    let found = found();
    // Identifiers compare exactly: "Alice" is not alice.
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec!["o-case", "o-ghost", "o-null", "o-priv"]
    );
    let null = &found["o-null"];
    assert_eq!(null["severity"], "medium");
    assert_eq!(null["jurisdiction"], "HK");
    assert!(!null.contains_key("identity_id"));
    let d = detail(null);
    assert_eq!(d["reason"], "no identity_id");
    assert_eq!(d["recorded_identity_id"], serde_json::Value::Null);
    assert_eq!(d["created_at"], "2025-01-01T00:00:00Z");

    let ghost = &found["o-ghost"];
    assert_eq!(ghost["jurisdiction"], "UK");
    assert_eq!(ghost["severity"], "medium");
    let d = detail(ghost);
    assert_eq!(d["reason"], "identity_id names no known identity");
    assert_eq!(d["recorded_identity_id"], "ghost");
    assert_eq!(d["account_type"], "service");
}

#[test]
fn privileged_access_is_high() {
    let found = found();
    assert_eq!(found["o-priv"]["severity"], "high");
    assert_eq!(detail(&found["o-priv"])["privileged_access"], true);
}
