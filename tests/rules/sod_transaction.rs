use std::collections::BTreeMap;

use crate::common::*;

// as_of 2026-11-24 -> T = 2026-11-25T00:00:00Z; 30-day window from 2026-10-26T00:00:00Z.
const AS_OF: &str = "2026-11-24";

const IDS: &str = "identity_id,status,terminated_at\n\
alice,active,\n\
bob,active,\n\
carol,active,\n\
dave,active,\n\
erin,active,\n\
frank,active,\n\
gina,active,\n\
hank,terminated,2026-01-01T00:00:00Z\n\
ivan,active,\n\
judy,active,\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,alice,alice,active\n\
pay-uk,alice-uk,alice,active\n\
pay-hk,bob,bob,active\n\
pay-hk,carol,carol,active\n\
pay-hk,dave,dave,active\n\
pay-hk,erin,erin,active\n\
pay-hk,frank,frank,active\n\
pay-uk,gina,gina,active\n\
pay-hk,gina,gina,active\n\
pay-hk,hank,hank,disabled\n\
pay-hk,ivan,ivan,active\n\
pay-hk,judy,judy,active\n\
pay-hk,orphan,,active\n";

const EVENT_HEADER: &str = "event_id,ts,system_id,account_id,action,outcome,target_id\n";

const SOD: &str = r#"
[[rule]]
id = "SOD-T1"
name = "Create and approve the same payout"
kind = "transaction"
[[rule.function]]
name = "Create payout"
actions = ["*:payout.create"]
[[rule.function]]
name = "Approve payout"
actions = ["pay-hk:payout.approve"]

[[rule]]
id = "SOD-T2"
name = "Release twice"
kind = "transaction"
risk = "low"
[[rule.function]]
name = "Release"
actions = ["*:payout.release"]
[[rule.function]]
name = "Release in HK"
actions = ["pay-hk:payout.release"]

[[rule]]
id = "SOD-S"
name = "Static rule, not a transaction rule"
kind = "static"
risk = "low"
[[rule.function]]
name = "A"
permissions = ["*:payout.create"]
[[rule.function]]
name = "B"
permissions = ["*:payout.approve"]
"#;

fn findings(events: &str) -> Vec<BTreeMap<String, String>> {
    Fixture::new()
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("audit_events", &format!("{EVENT_HEADER}{events}"))
        .policy("sod_rules", SOD)
        .findings(AS_OF, "SOD_TRANSACTION")
}

fn keys(found: &[BTreeMap<String, String>]) -> Vec<(String, String, String, String)> {
    let mut keys: Vec<_> = found
        .iter()
        .map(|r| {
            (
                r["sod_rule_id"].clone(),
                r["identity_id"].clone(),
                r["target_id"].clone(),
                r["jurisdiction"].clone(),
            )
        })
        .collect();
    keys.sort();
    keys
}

fn k(rule: &str, identity: &str, target: &str, j: &str) -> (String, String, String, String) {
    (rule.into(), identity.into(), target.into(), j.into())
}

#[test]
fn same_person_creates_and_approves_one_payout() {
    let events = "e1,2026-11-20T10:00:00Z,pay-hk,alice,payout.create,success,P1\n\
                  e2,2026-11-20T11:00:00Z,pay-hk,alice,payout.approve,success,P1\n\
                  e3,2026-11-21T11:00:00Z,pay-hk,alice,payout.approve,success,P1\n\
                  e4,2026-11-21T12:00:00Z,pay-hk,alice,login,success,P1\n";
    let found = findings(events);
    assert_eq!(keys(&found), vec![k("SOD-T1", "alice", "P1", "HK")]);
    let row = &found[0];
    assert_eq!(row["severity"], "critical");
    assert_eq!(row["status"], "open");
    let d = detail(row);
    assert_eq!(d["rule_name"], "Create and approve the same payout");
    assert_eq!(d["window_start"], "2026-10-26T00:00:00Z");
    let f = &d["functions"];
    assert_eq!(f[0]["function"], "Create payout");
    assert_eq!(f[0]["event_count"], 1);
    assert_eq!(f[0]["events"][0]["event_id"], "e1");
    assert_eq!(f[0]["events"][0]["ts"], "2026-11-20T10:00:00Z");
    assert_eq!(f[0]["events"][0]["account_id"], "alice");
    assert_eq!(f[0]["events"][0]["action"], "payout.create");
    assert_eq!(f[1]["function"], "Approve payout");
    assert_eq!(f[1]["event_count"], 2);
    assert_eq!(f[1]["first_ts"], "2026-11-20T11:00:00Z");
    assert_eq!(f[1]["last_ts"], "2026-11-21T11:00:00Z");
    assert_eq!(f[1]["events"][1]["event_id"], "e3");
    assert_eq!(
        d["accounts"],
        serde_json::json!([{"system_id": "pay-hk", "account_id": "alice"}])
    );
}

#[test]
fn steps_across_systems_give_a_finding_per_jurisdiction() {
    // Target ids compare as strings across systems.
    let events = "e1,2026-11-20T10:00:00Z,pay-uk,alice-uk,payout.create,success,P2\n\
                  e2,2026-11-20T11:00:00Z,pay-hk,alice,payout.approve,success,P2\n";
    let found = findings(events);
    assert_eq!(
        keys(&found),
        vec![
            k("SOD-T1", "alice", "P2", "HK"),
            k("SOD-T1", "alice", "P2", "UK")
        ]
    );
    let d = detail(&found[0]);
    assert_eq!(d["jurisdictions_involved"], serde_json::json!(["HK", "UK"]));
    assert_eq!(d["accounts"].as_array().map(Vec::len), Some(2));
}

#[test]
fn window_boundaries() {
    // bob: the create is one second before the window; carol: exactly at its start.
    // dave: the approval is at T (not known yet).
    let events = "b1,2026-10-25T23:59:59Z,pay-hk,bob,payout.create,success,P3\n\
                  b2,2026-11-20T11:00:00Z,pay-hk,bob,payout.approve,success,P3\n\
                  c1,2026-10-26T00:00:00Z,pay-hk,carol,payout.create,success,P4\n\
                  c2,2026-11-24T23:59:59Z,pay-hk,carol,payout.approve,success,P4\n\
                  d1,2026-11-20T10:00:00Z,pay-hk,dave,payout.create,success,P5\n\
                  d2,2026-11-25T00:00:00Z,pay-hk,dave,payout.approve,success,P5\n";
    assert_eq!(
        keys(&findings(events)),
        vec![k("SOD-T1", "carol", "P4", "HK")]
    );
}

#[test]
fn failures_other_targets_and_null_targets_do_not_count() {
    let events = "b1,2026-11-20T10:00:00Z,pay-hk,bob,payout.create,success,P6\n\
                  b2,2026-11-20T11:00:00Z,pay-hk,bob,payout.approve,failure,P6\n\
                  c1,2026-11-20T10:00:00Z,pay-hk,carol,payout.create,success,P7\n\
                  c2,2026-11-20T11:00:00Z,pay-hk,carol,payout.approve,success,P8\n\
                  d1,2026-11-20T10:00:00Z,pay-hk,dave,payout.create,success,\n\
                  d2,2026-11-20T11:00:00Z,pay-hk,dave,payout.approve,success,\n";
    assert!(findings(events).is_empty());
}

#[test]
fn wildcard_versus_specific_system() {
    // The approval function names pay-hk only: an approval on pay-uk does not match.
    let events = "g1,2026-11-20T10:00:00Z,pay-uk,gina,payout.create,success,P9\n\
                  g2,2026-11-20T11:00:00Z,pay-uk,gina,payout.approve,success,P9\n\
                  g3,2026-11-20T10:00:00Z,pay-hk,gina,payout.create,success,P10\n\
                  g4,2026-11-20T11:00:00Z,pay-hk,gina,payout.approve,success,P10\n";
    assert_eq!(
        keys(&findings(events)),
        vec![k("SOD-T1", "gina", "P10", "HK")]
    );
}

#[test]
fn status_does_not_matter_but_identity_must_resolve() {
    // hank: terminated identity on a disabled account still counts. orphan: no identity.
    // unknown: not in accounts. ivan and judy each did one step only.
    let events = "h1,2026-11-20T10:00:00Z,pay-hk,hank,payout.create,success,P11\n\
                  h2,2026-11-20T11:00:00Z,pay-hk,hank,payout.approve,success,P11\n\
                  o1,2026-11-20T10:00:00Z,pay-hk,orphan,payout.create,success,P12\n\
                  o2,2026-11-20T11:00:00Z,pay-hk,orphan,payout.approve,success,P12\n\
                  u1,2026-11-20T10:00:00Z,pay-hk,unknown,payout.create,success,P13\n\
                  u2,2026-11-20T11:00:00Z,pay-hk,unknown,payout.approve,success,P13\n\
                  i1,2026-11-20T10:00:00Z,pay-hk,ivan,payout.create,success,P14\n\
                  j1,2026-11-20T11:00:00Z,pay-hk,judy,payout.approve,success,P14\n";
    assert_eq!(
        keys(&findings(events)),
        vec![k("SOD-T1", "hank", "P11", "HK")]
    );
}

#[test]
fn one_event_may_satisfy_two_functions() {
    let events = "e1,2026-11-20T10:00:00Z,pay-hk,erin,payout.release,success,P15\n\
                  f1,2026-11-20T10:00:00Z,pay-uk,alice-uk,payout.release,success,P16\n";
    let found = findings(events);
    // SOD-T2's second function names pay-hk, so the UK release satisfies only the first.
    assert_eq!(keys(&found), vec![k("SOD-T2", "erin", "P15", "HK")]);
    // Transaction findings are critical whatever the rule's risk.
    assert_eq!(found[0]["severity"], "critical");
    let d = detail(&found[0]);
    assert_eq!(d["functions"][0]["events"][0]["event_id"], "e1");
    assert_eq!(d["functions"][1]["events"][0]["event_id"], "e1");
}

#[test]
fn evidence_is_bounded() {
    let mut events =
        String::from("a0,2026-11-20T10:00:00Z,pay-hk,alice,payout.create,success,P17\n");
    for i in 0..12 {
        events.push_str(&format!(
            "a{:02},2026-11-21T10:{i:02}:00Z,pay-hk,alice,payout.approve,success,P17\n",
            i + 10
        ));
    }
    let found = findings(&events);
    assert_eq!(found.len(), 1);
    let f = &detail(&found[0])["functions"][1];
    assert_eq!(f["event_count"], 12);
    assert_eq!(f["events"].as_array().map(Vec::len), Some(10));
    assert_eq!(f["last_ts"], "2026-11-21T10:11:00Z");
}
