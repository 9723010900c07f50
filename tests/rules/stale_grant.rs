use std::collections::BTreeMap;

use crate::common::*;

// as_of 2026-11-24: T = 2026-11-25T00:00Z; default 90 days -> threshold 2026-08-27T00:00Z.
const IDS: &str = "identity_id,status,terminated_at\n\
alice,active,\n\
bob,terminated,2026-01-01T00:00:00Z\n\
carl,terminated,2026-12-01T00:00:00Z\n";

const ENTS: &str = "system_id,entitlement_id,kind,privileged\n\
pay-hk,p.view,permission,false\n\
pay-hk,p.release,permission,true\n\
pay-hk,r.ops,role,false\n\
pay-hk,r.inner,role,false\n\
pay-hk,r.empty,role,false\n\
pay-uk,p.view,permission,false\n";

const ROLES: &str = "system_id,role_id,member_id\n\
pay-hk,r.ops,r.inner\n\
pay-hk,r.ops,p.view\n\
pay-hk,r.inner,p.release\n";

const ACTIONS: &str = "system_id,action,permission_id\n\
pay-hk,view,p.view\n\
pay-hk,release,p.release\n\
pay-uk,view,p.view\n";

const EVENT_HEADER: &str = "event_id,ts,system_id,account_id,action,outcome\n";

fn fixture(accounts: &str, grants: &str, events: &str) -> Fixture {
    Fixture::new()
        .table("identities", IDS)
        .table("entitlements", ENTS)
        .table("role_permissions", ROLES)
        .table("action_permissions", ACTIONS)
        .table(
            "accounts",
            &format!("system_id,account_id,identity_id,status\n{accounts}"),
        )
        .table(
            "grants",
            &format!(
                "grant_id,system_id,account_id,entitlement_id,granted_at,revoked_at\n{grants}"
            ),
        )
        .table("audit_events", &format!("{EVENT_HEADER}{events}"))
}

fn by_grant(found: &[BTreeMap<String, String>]) -> BTreeMap<String, BTreeMap<String, String>> {
    found
        .iter()
        .map(|r| (r["grant_id"].clone(), r.clone()))
        .collect()
}

#[test]
fn unused_grant_fires_and_recent_use_through_nested_role_does_not() {
    let accounts = "pay-hk,a1,alice,active\n\
pay-hk,a2,alice,active\n\
pay-hk,a3,alice,active\n\
pay-hk,a4,alice,active\n";
    let grants = "g-never,pay-hk,a1,p.view,2026-01-01T00:00:00Z,\n\
g-used-at-threshold,pay-hk,a2,r.ops,2026-01-01T00:00:00Z,\n\
g-used-too-early,pay-hk,a3,r.ops,2026-01-01T00:00:00Z,\n\
g-failed-only,pay-hk,a4,p.view,2026-01-01T00:00:00Z,\n";
    // a2 exercises p.release (reached via r.ops > r.inner) exactly at T - 90 days: newer.
    // a3's last use is one second older than the threshold. a4 only failed.
    let events = "e1,2026-08-27T00:00:00Z,pay-hk,a2,release,success\n\
e2,2026-08-26T23:59:59Z,pay-hk,a3,release,success\n\
e3,2026-06-01T00:00:00Z,pay-hk,a3,view,success\n\
e4,2026-11-20T00:00:00Z,pay-hk,a4,view,failure\n";
    let found = fixture(accounts, grants, events).findings("2026-11-24", "STALE_GRANT");
    let found = by_grant(&found);
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec!["g-failed-only", "g-never", "g-used-too-early"]
    );

    let never = &found["g-never"];
    assert_eq!(never["severity"], "low");
    assert_eq!(never["jurisdiction"], "HK");
    assert_eq!(never["system_id"], "pay-hk");
    assert_eq!(never["account_id"], "a1");
    assert_eq!(never["entitlement_id"], "p.view");
    assert_eq!(never["identity_id"], "alice");
    let d = detail(never);
    assert_eq!(d["last_use"], "never");
    assert_eq!(d["unused_since"], "2026-08-27T00:00:00Z");
    assert_eq!(d["granted_at"], "2026-01-01T00:00:00Z");
    assert_eq!(d["stale_grant_days"], 90);
    assert_eq!(d["closure_permissions"], 1);

    // r.ops reaches the privileged p.release: medium.
    let early = &found["g-used-too-early"];
    assert_eq!(early["severity"], "medium");
    let d = detail(early);
    assert_eq!(d["last_use"], "2026-08-26T23:59:59Z");
    assert_eq!(d["last_used_permission"], "p.release");
    assert_eq!(d["closure_permissions"], 2);
    assert_eq!(d["privileged"], true);

    assert_eq!(detail(&found["g-failed-only"])["last_use"], "never");
}

#[test]
fn granted_at_boundary_is_strict() {
    let accounts = "pay-hk,a1,alice,active\npay-hk,a2,alice,active\npay-hk,a3,alice,active\n";
    // Exactly T - 90 days is not older; a second earlier is. Granted at T is not known.
    let grants = "g-at,pay-hk,a1,p.view,2026-08-27T00:00:00Z,\n\
g-before,pay-hk,a2,p.view,2026-08-26T23:59:59Z,\n\
g-future,pay-hk,a3,p.view,2026-11-25T00:00:00Z,\n";
    let found = fixture(accounts, grants, "").findings("2026-11-24", "STALE_GRANT");
    let keys: Vec<&str> = found.iter().map(|r| r["grant_id"].as_str()).collect();
    assert_eq!(keys, vec!["g-before"]);
}

#[test]
fn events_at_t_and_before_the_grant_are_not_use() {
    let accounts = "pay-hk,a1,alice,active\npay-hk,a2,alice,active\npay-hk,a3,alice,active\n";
    let grants = "g-at-t,pay-hk,a1,p.view,2026-01-01T00:00:00Z,\n\
g-before-grant,pay-hk,a2,p.view,2026-05-01T00:00:00Z,\n\
g-last-micro,pay-hk,a3,p.view,2026-01-01T00:00:00Z,\n";
    let events = "e1,2026-11-25T00:00:00Z,pay-hk,a1,view,success\n\
e2,2026-04-30T23:59:59Z,pay-hk,a2,view,success\n\
e3,2026-11-24T23:59:59.999999Z,pay-hk,a3,view,success\n";
    let found = by_grant(&fixture(accounts, grants, events).findings("2026-11-24", "STALE_GRANT"));
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec!["g-at-t", "g-before-grant"]
    );
    assert_eq!(detail(&found["g-at-t"])["last_use"], "never");
    // The use predates the grant, so it is not a use of this grant.
    assert_eq!(detail(&found["g-before-grant"])["last_use"], "never");
}

#[test]
fn use_of_another_account_or_unrelated_permission_does_not_count() {
    let accounts = "pay-hk,a1,alice,active\npay-hk,a2,alice,active\n";
    let grants = "g1,pay-hk,a1,p.release,2026-01-01T00:00:00Z,\n";
    // a2 used p.release; a1 used p.view, which is not in p.release's closure.
    let events = "e1,2026-11-01T00:00:00Z,pay-hk,a2,release,success\n\
e2,2026-11-01T00:00:00Z,pay-hk,a1,view,success\n";
    let found = fixture(accounts, grants, events).findings("2026-11-24", "STALE_GRANT");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["grant_id"], "g1");
    assert_eq!(found[0]["severity"], "medium");
}

#[test]
fn only_effective_grants_of_non_terminated_identities() {
    let accounts = "pay-hk,a-dis,alice,disabled\n\
pay-hk,a-bob,bob,active\n\
pay-hk,a-orphan,,active\n\
pay-hk,a-ghost,ghost,active\n\
pay-hk,a-carl,carl,active\n\
pay-hk,a-rev,alice,active\n\
pay-hk,a-rev-t,alice,active\n";
    let grants = "g-dis,pay-hk,a-dis,p.view,2026-01-01T00:00:00Z,\n\
g-bob,pay-hk,a-bob,p.view,2026-01-01T00:00:00Z,\n\
g-orphan,pay-hk,a-orphan,p.view,2026-01-01T00:00:00Z,\n\
g-ghost,pay-hk,a-ghost,p.view,2026-01-01T00:00:00Z,\n\
g-carl,pay-hk,a-carl,p.view,2026-01-01T00:00:00Z,\n\
g-rev,pay-hk,a-rev,p.view,2026-01-01T00:00:00Z,2026-11-24T23:59:59Z\n\
g-rev-t,pay-hk,a-rev-t,p.view,2026-01-01T00:00:00Z,2026-11-25T00:00:00Z\n";
    let found = fixture(accounts, grants, "").findings("2026-11-24", "STALE_GRANT");
    let mut keys: Vec<&str> = found.iter().map(|r| r["grant_id"].as_str()).collect();
    keys.sort_unstable();
    // carl leaves after T (still employed); revoked exactly at T is still active.
    assert_eq!(keys, vec!["g-carl", "g-rev-t"]);
}

#[test]
fn role_without_permissions_is_never_used() {
    let accounts = "pay-hk,a1,alice,active\n";
    let grants = "g1,pay-hk,a1,r.empty,2026-01-01T00:00:00Z,\n";
    let found = fixture(accounts, grants, "").findings("2026-11-24", "STALE_GRANT");
    assert_eq!(found.len(), 1);
    let d = detail(&found[0]);
    assert_eq!(d["closure_permissions"], 0);
    assert_eq!(d["last_use"], "never");
    assert_eq!(d["entitlement_kind"], "role");
}

#[test]
fn threshold_comes_from_the_grants_jurisdiction() {
    let jur = DEFAULT_JURISDICTIONS.replace(
        "timezone = \"Europe/London\"",
        "timezone = \"Europe/London\"\nstale_grant_days = 30",
    );
    let accounts = "pay-hk,a1,alice,active\npay-uk,a1,alice,active\npay-uk,a2,alice,active\n";
    // T - 30 days = 2026-10-26T00:00Z.
    let grants = "g-hk,pay-hk,a1,p.view,2026-10-01T00:00:00Z,\n\
g-uk,pay-uk,a1,p.view,2026-10-01T00:00:00Z,\n\
g-uk-used,pay-uk,a2,p.view,2026-10-01T00:00:00Z,\n";
    let events = "e1,2026-10-26T00:00:00Z,pay-uk,a2,view,success\n";
    let found = fixture(accounts, grants, events)
        .policy("jurisdictions", &jur)
        .findings("2026-11-24", "STALE_GRANT");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["grant_id"], "g-uk");
    assert_eq!(found[0]["jurisdiction"], "UK");
    let d = detail(&found[0]);
    assert_eq!(d["stale_grant_days"], 30);
    assert_eq!(d["unused_since"], "2026-10-26T00:00:00Z");
}

#[test]
fn an_action_exercising_two_permissions_names_the_greatest_as_last_used() {
    // One event of `approve` exercises both permissions of r.ops's closure at once: the
    // evidence names the same one whatever the order of the mapping's rows.
    for mapping in [
        "pay-hk,approve,p.release\npay-hk,approve,p.view\n",
        "pay-hk,approve,p.view\npay-hk,approve,p.release\n",
    ] {
        let found = fixture(
            "pay-hk,a1,alice,active\n",
            "g1,pay-hk,a1,r.ops,2026-01-01T00:00:00Z,\n",
            "e1,2026-06-01T00:00:00Z,pay-hk,a1,approve,success\n",
        )
        .table("action_permissions", &format!("{ACTIONS}{mapping}"))
        .findings("2026-11-24", "STALE_GRANT");
        let found = by_grant(&found);
        let d = detail(&found["g1"]);
        assert_eq!(d["last_use"], "2026-06-01T00:00:00Z");
        assert_eq!(d["last_used_permission"], "p.view", "{mapping}");
    }
}
