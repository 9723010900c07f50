use std::collections::BTreeMap;

use crate::common::*;

const IDS: &str = "identity_id,status,terminated_at\n\
alice,active,\n\
bob,active,\n\
carol,terminated,2026-01-01T00:00:00Z\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,a-alice,alice,active\n\
pay-hk,a-alice-off,alice,disabled\n\
pay-uk,a-bob,bob,active\n\
pay-hk,a-ghost,ghost,active\n\
pay-hk,a-carol,carol,active\n";

const ENTS: &str =
    "system_id,entitlement_id,kind\npay-hk,p.view,permission\npay-uk,p.view,permission\n";

const GRANTS: &str =
    "grant_id,system_id,account_id,entitlement_id,granted_at,granted_by,approved_by,revoked_at,ticket\n\
g-self-granted,pay-hk,a-alice,p.view,2026-01-01T00:00:00Z,alice,bob,,CHG-7\n\
g-self-approved,pay-uk,a-bob,p.view,2026-01-01T00:00:00Z,alice,bob,,\n\
g-both,pay-hk,a-alice,p.view,2026-02-01T00:00:00Z,alice,alice,,\n\
g-independent,pay-hk,a-alice,p.view,2026-01-01T00:00:00Z,bob,bob,,\n\
g-nulls,pay-hk,a-alice,p.view,2026-01-01T00:00:00Z,,,,\n\
g-disabled,pay-hk,a-alice-off,p.view,2026-01-01T00:00:00Z,,alice,,\n\
g-revoked,pay-hk,a-alice,p.view,2026-01-01T00:00:00Z,alice,,2026-11-24T23:59:59Z,\n\
g-revoked-at-t,pay-hk,a-alice,p.view,2026-01-01T00:00:00Z,alice,,2026-11-25T00:00:00Z,\n\
g-ghost,pay-hk,a-ghost,p.view,2026-01-01T00:00:00Z,ghost,ghost,,\n\
g-leaver,pay-hk,a-carol,p.view,2026-01-01T00:00:00Z,carol,,,\n\
g-future,pay-hk,a-alice,p.view,2026-11-25T00:00:00Z,alice,alice,,\n";

fn found() -> BTreeMap<String, BTreeMap<String, String>> {
    Fixture::new()
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTS)
        .table("grants", GRANTS)
        .findings("2026-11-24", "SELF_APPROVED_GRANT")
        .into_iter()
        .map(|r| (r["grant_id"].clone(), r))
        .collect()
}

#[test]
fn grantor_or_approver_is_the_holder() {
    let found = found();
    // An unknown identity ("ghost") is no identity, so nothing to compare with.
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec![
            "g-both",
            "g-disabled",
            "g-leaver",
            "g-revoked-at-t",
            "g-self-approved",
            "g-self-granted"
        ]
    );
    let g = &found["g-self-granted"];
    assert_eq!(g["severity"], "high");
    assert_eq!(g["jurisdiction"], "HK");
    assert_eq!(g["identity_id"], "alice");
    assert_eq!(g["entitlement_id"], "p.view");
    let d = detail(g);
    assert_eq!(d["self_granted"], true);
    assert_eq!(d["self_approved"], false);
    assert_eq!(d["ticket"], "CHG-7");

    let a = &found["g-self-approved"];
    assert_eq!(a["jurisdiction"], "UK");
    assert_eq!(detail(a)["self_granted"], false);
    assert_eq!(detail(a)["self_approved"], true);

    let b = detail(&found["g-both"]);
    assert_eq!(b["self_granted"], true);
    assert_eq!(b["self_approved"], true);
    assert_eq!(detail(&found["g-disabled"])["effective"], false);
}
