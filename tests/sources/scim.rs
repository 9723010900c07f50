//! `scim`: the RFC 7644 samples, the demo `/Users` + `/Groups` export, and hand-made
//! exports for what real directories get wrong (members not exported, nested groups, no
//! `meta`).

use std::collections::BTreeSet;
use std::path::Path;

use permaudit::source::Table;

use super::{demo, map, samples, Mapping};

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write a test export");
}

/// Every record offered is a row, a skip or a quarantined record.
fn offered(m: &Mapping) -> usize {
    m.rows.len() + m.skipped.len() + m.bad.len()
}

fn grant_ids(m: &Mapping) -> BTreeSet<String> {
    m.table(Table::Grants)
        .iter()
        .filter_map(|g| g.get("grant_id").cloned())
        .collect()
}

#[test]
fn rfc_list_response_gives_two_users_and_the_patch_op_is_skipped() {
    let m = map("scim", &samples("scim"), "okta", None).expect("maps");
    let ids: Vec<String> = m
        .table(Table::Identities)
        .iter()
        .map(|r| r["identity_id"].clone())
        .collect();
    assert_eq!(
        ids,
        [
            "2819c223-7f76-453a-919d-413861904646",
            "c75ad752-64ae-4823-840d-ffa80929976c"
        ]
    );
    let accounts = m.table(Table::Accounts);
    let names: Vec<&str> = accounts.iter().map(|r| r["account_id"].as_str()).collect();
    assert_eq!(names, ["bjensen", "jsmith"]);
    // No `active` attribute: the account is not known to be usable.
    assert!(accounts.iter().all(|a| a["status"] == "disabled"));
    assert!(accounts.iter().all(|a| a["system_id"] == "okta"));
    assert_eq!(m.skipped, ["not a User or Group"]);
    assert!(m.bad.is_empty(), "{:?}", m.bad);
    assert_eq!(offered(&m), 2 + 2 + 1);
}

#[test]
fn demo_users_and_groups() {
    let m = map("scim", &demo("scim"), "okta", None).expect("maps");
    let idents = m.table(Table::Identities);
    assert_eq!(idents.len(), 6);
    let alice = &idents[0];
    assert_eq!(alice["identity_id"], "EP1001");
    assert_eq!(alice["email"], "alice.chan@example-pay.com");
    assert_eq!(alice["department"], "Payments Operations");
    assert_eq!(
        alice["manager_id"], "EP1002",
        "manager resolved to an identity id"
    );
    assert_eq!(alice["status"], "active");
    let carol = &idents[2];
    assert_eq!(carol["display_name"], "Carol Diaz");
    assert_eq!(carol["status"], "leave");
    assert_eq!(idents[3]["identity_id"], "ad-55d0e2", "externalId");

    let accounts = m.table(Table::Accounts);
    assert_eq!(accounts[0]["account_id"], "alice.chan@example-pay.com");
    assert_eq!(accounts[0]["identity_id"], "EP1001");
    assert_eq!(accounts[0]["created_at"], "2024-03-04T09:12:00Z");
    assert_eq!(accounts[2]["status"], "disabled");

    let ents = m.table(Table::Entitlements);
    let names: Vec<&str> = ents.iter().map(|e| e["entitlement_id"].as_str()).collect();
    assert_eq!(
        names,
        [
            "Payouts-Release",
            "Beneficiary-Maintenance",
            "Treasury-ReadOnly"
        ]
    );
    assert!(ents.iter().all(|e| e["kind"] == "permission"));

    let grants = m.table(Table::Grants);
    assert_eq!(grants.len(), 7);
    let alice_payouts = grants
        .iter()
        .find(|g| g["grant_id"] == "scim:00g9PayoutsRelease:00u1a2b3c4AliceChan")
        .expect("alice's payouts grant");
    assert_eq!(alice_payouts["account_id"], "alice.chan@example-pay.com");
    assert_eq!(alice_payouts["entitlement_id"], "Payouts-Release");
    // The later of the group's and the user's meta.created.
    assert_eq!(alice_payouts["granted_at"], "2024-03-04T09:12:00Z");
    let alice_holds: BTreeSet<&str> = grants
        .iter()
        .filter(|g| g["account_id"] == "alice.chan@example-pay.com")
        .map(|g| g["entitlement_id"].as_str())
        .collect();
    assert_eq!(
        alice_holds,
        BTreeSet::from(["Payouts-Release", "Beneficiary-Maintenance"])
    );
    // Alice's groups[] repeats the two memberships the Groups export lists.
    assert_eq!(
        m.skipped,
        [
            "membership listed by both the group and the user",
            "membership listed by both the group and the user"
        ]
    );
    assert!(m.bad.is_empty(), "{:?}", m.bad);
    assert_eq!(offered(&m), 6 + 6 + 3 + 7 + 2);
}

const USERS: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":3,"Resources":[
{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ann","active":true,"meta":{"resourceType":"User","created":"2025-01-01T00:00:00Z"}},
{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u2","userName":"ben","active":true},
{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u3","userName":"cat","active":false,"meta":{"created":"2025-03-01T00:00:00+08:00"},
 "groups":[{"value":"gX","display":"Only-In-Users"}]}
]}"#;

const GROUPS: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"Resources":[
{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Payouts-Release","meta":{"created":"2025-02-01T00:00:00Z"},
 "members":[{"value":"u1","type":"User"},{"value":"u2"},{"value":"gone"},{"value":"g2","type":"Group"}]},
{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g2","displayName":"Nested","members":[{"value":"u2"}]}
]}"#;

#[test]
fn hand_made_export_resolves_quarantines_and_skips() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "Groups.json", GROUPS);
    write(dir.path(), "Users.json", USERS);
    write(
        dir.path(),
        "more.ndjson",
        "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig\"]}\n{\"broken\": \n",
    );
    let m = map("scim", dir.path(), "okta", None).expect("maps");
    let grants = m.table(Table::Grants);
    let by_id = |id: &str| grants.iter().find(|g| g["grant_id"] == id).cloned();
    let ann = by_id("scim:g1:u1").expect("ann's grant");
    assert_eq!(ann["granted_at"], "2025-02-01T00:00:00Z");
    // ben has no meta: the group's created stands in alone.
    let ben = by_id("scim:g1:u2").expect("ben's grant");
    assert_eq!(ben["granted_at"], "2025-02-01T00:00:00Z");
    // Group g2 has no meta and neither has ben: no timestamp at all.
    assert!(by_id("scim:g2:u2").is_none());
    // cat's group is not in the export: named by the groups[] entry's display.
    let cat = by_id("scim:gX:u3").expect("cat's grant");
    assert_eq!(cat["entitlement_id"], "Only-In-Users");
    assert_eq!(cat["granted_at"], "2025-03-01T00:00:00+08:00");
    let ents: Vec<String> = m
        .table(Table::Entitlements)
        .iter()
        .map(|e| e["entitlement_id"].clone())
        .collect();
    assert_eq!(ents, ["Payouts-Release", "Nested", "Only-In-Users"]);

    let bad: Vec<(Table, &str)> = m.bad.iter().map(|b| (b.0, b.3.as_str())).collect();
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(bad
        .iter()
        .any(|(t, r)| *t == Table::Grants && r.contains("member gone of group Payouts-Release")));
    assert!(bad
        .iter()
        .any(|(t, r)| *t == Table::Grants && r.starts_with("no timestamp for granted_at")));
    assert!(bad
        .iter()
        .any(|(t, r)| *t == Table::Identities && r.contains("malformed NDJSON line")));
    let unknown = m.bad.iter().find(|b| b.3.contains("gone")).expect("bad");
    assert!(unknown.4.contains("\"displayName\":\"Payouts-Release\""));

    let mut skipped = m.skipped.clone();
    skipped.sort();
    assert_eq!(skipped, ["group member of a group", "not a User or Group"]);
    // 3 identities, 3 accounts, 3 entitlements, 3 grants, 2 skipped, 3 bad.
    assert_eq!(offered(&m), 3 + 3 + 3 + 3 + 2 + 3);
}

#[test]
fn grant_ids_are_stable_across_exports() {
    let one = tempfile::tempdir().expect("tempdir");
    write(one.path(), "Groups.json", GROUPS);
    write(one.path(), "Users.json", USERS);
    // The same directory exported again, in another order and another container.
    let two = tempfile::tempdir().expect("tempdir");
    let mut lines = String::new();
    for doc in [USERS, GROUPS] {
        let v: serde_json::Value = serde_json::from_str(doc).expect("json");
        let mut rs = v["Resources"].as_array().cloned().unwrap_or_default();
        rs.reverse();
        for r in rs {
            lines.push_str(&r.to_string());
            lines.push('\n');
        }
    }
    write(two.path(), "all.ndjson", &lines);
    let a = map("scim", one.path(), "okta", None).expect("maps");
    let b = map("scim", two.path(), "okta", None).expect("maps");
    assert!(!grant_ids(&a).is_empty());
    assert_eq!(grant_ids(&a), grant_ids(&b));
}

#[test]
fn the_system_template_needs_no_account() {
    let m = map("scim", &samples("scim"), "okta-{account}", None).expect("maps");
    assert!(m.table(Table::Accounts).is_empty());
    assert_eq!(m.bad.iter().filter(|b| b.0 == Table::Accounts).count(), 2);
}

#[test]
fn a_user_without_id_keeps_its_account_but_not_its_memberships() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "user.json",
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":"X9","userName":"x",
            "active":true,"meta":{"created":"2025-01-01T00:00:00Z"},"groups":[{"value":"g1","display":"G"}]}"#,
    );
    let m = map("scim", dir.path(), "okta", None).expect("maps");
    assert_eq!(m.table(Table::Identities)[0]["identity_id"], "X9");
    assert_eq!(m.table(Table::Accounts)[0]["status"], "active");
    assert!(m.table(Table::Grants).is_empty());
    assert_eq!(m.bad.len(), 1);
    assert_eq!(m.bad[0].0, Table::Grants);
    assert!(m.bad[0].3.contains("no stable grant id"));
    assert_eq!(offered(&m), 3);
}
