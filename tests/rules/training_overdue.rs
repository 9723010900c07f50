use crate::common::*;

// as_of 2026-11-24: T = 2026-11-25T00:00Z; 365 days before T is 2025-11-25T00:00Z.
const IDS: &str = "identity_id,status,terminated_at\n\
alice,active,\n\
bob,active,\n\
carol,leave,\n\
dave,terminated,2026-11-01T00:00:00Z\n\
erin,active,\n\
frank,active,\n\
gina,active,\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,a-alice,alice,active\n\
pay-hk,a-bob,bob,active\n\
pay-hk,a-carol,carol,active\n\
pay-hk,a-dave,dave,active\n\
pay-hk,a-frank,frank,active\n\
pay-hk,a-gina,gina,disabled\n\
pay-hk,svc,,active\n\
pay-uk,u-erin,erin,active\n\
pay-uk,u-alice,alice,active\n";

const ENTS: &str = "system_id,entitlement_id,kind,privileged\n\
pay-hk,p.view,permission,false\n\
pay-hk,p.release,permission,true\n\
pay-uk,p.view,permission,false\n";

const GRANTS: &str = "grant_id,system_id,account_id,entitlement_id,granted_at\n\
g1,pay-hk,a-alice,p.view,2026-01-01T00:00:00Z\n\
g2,pay-hk,a-bob,p.release,2026-01-01T00:00:00Z\n\
g3,pay-hk,a-bob,p.view,2026-01-01T00:00:00Z\n\
g4,pay-hk,a-carol,p.view,2026-01-01T00:00:00Z\n\
g5,pay-hk,a-dave,p.view,2026-01-01T00:00:00Z\n\
g6,pay-hk,a-frank,p.view,2026-01-01T00:00:00Z\n\
g7,pay-hk,a-gina,p.release,2026-01-01T00:00:00Z\n\
g8,pay-hk,svc,p.view,2026-01-01T00:00:00Z\n\
g9,pay-uk,u-erin,p.view,2026-01-01T00:00:00Z\n\
g10,pay-uk,u-alice,p.view,2026-01-01T00:00:00Z\n";

const UK_COURSES: &str = "timezone = \"Europe/London\"\nsecurity_training_courses = [\"SEC-101\"]";

fn fixture(training: Option<&str>) -> Fixture {
    let f = Fixture::new()
        .policy(
            "jurisdictions",
            &DEFAULT_JURISDICTIONS.replace("timezone = \"Europe/London\"", UK_COURSES),
        )
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTS)
        .table("grants", GRANTS);
    match training {
        Some(t) => f.table("training", t),
        None => f,
    }
}

const TRAINING: &str = "identity_id,course,completed_at\n\
alice,SEC-101,2025-11-25T00:00:00Z\n\
bob,SEC-101,2025-11-24T23:59:59.999999Z\n\
bob,SEC-101,2026-11-25T00:00:00Z\n\
dave,SEC-101,2020-01-01T00:00:00Z\n\
erin,SEC-101,2024-06-01T00:00:00Z\n\
erin,phishing-basics,2026-10-01T00:00:00Z\n\
frank,phishing-basics,2026-11-25T00:00:00Z\n\
ghost,SEC-101,2026-10-01T00:00:00Z\n";

#[test]
fn overdue_strictly_older_than_the_interval_or_never() {
    let found = by_pair(
        fixture(Some(TRAINING)).findings("2026-11-24", "TRAINING_OVERDUE"),
        "identity_id",
        "jurisdiction",
    );
    let keys: Vec<(&str, &str)> = found
        .keys()
        .map(|(i, j)| (i.as_str(), j.as_str()))
        .collect();
    // alice (HK): completed exactly 365 days before T, not older. alice (UK): SEC-101 is
    // the listed course and hers is as old. bob: 1 µs older (his completion at T does not
    // count). carol (on leave, not terminated): never trained. dave: terminated. erin (UK):
    // her recent course is not SEC-101, her SEC-101 is old. frank: only a completion at T.
    // gina: her account is disabled (no effective grant). ghost: no such identity.
    assert_eq!(
        keys,
        vec![
            ("bob", "HK"),
            ("carol", "HK"),
            ("erin", "UK"),
            ("frank", "HK")
        ]
    );
    let bob = &found[&("bob".to_string(), "HK".to_string())];
    assert_eq!(bob["severity"], "high", "bob holds a privileged grant");
    let d = detail(bob);
    assert_eq!(d["last_training"], "2025-11-24T23:59:59.999999Z");
    assert_eq!(d["last_course"], "SEC-101");
    assert_eq!(d["security_training_interval_days"], 365);
    assert_eq!(d["effective_grants"], 2);
    let carol = &found[&("carol".to_string(), "HK".to_string())];
    assert_eq!(carol["severity"], "medium");
    assert!(detail(carol)["last_training"].is_null());
    let erin = detail(&found[&("erin".to_string(), "UK".to_string())]);
    assert_eq!(erin["last_course"], "SEC-101");
    assert_eq!(erin["last_training"], "2024-06-01T00:00:00Z");
}

#[test]
fn empty_course_list_counts_any_course() {
    // HK has no list: erin's phishing course would count there; frank's course at T never.
    let training = "identity_id,course,completed_at\n\
                    carol,anything,2026-01-01T00:00:00Z\n";
    let found = by_pair(
        fixture(Some(training)).findings("2026-11-24", "TRAINING_OVERDUE"),
        "identity_id",
        "jurisdiction",
    );
    assert!(!found.contains_key(&("carol".to_string(), "HK".to_string())));
    // UK lists SEC-101: a course of any other name is no training there.
    let training = "identity_id,course,completed_at\n\
                    erin,sec-101,2026-11-01T00:00:00Z\n";
    let found = by_pair(
        fixture(Some(training)).findings("2026-11-24", "TRAINING_OVERDUE"),
        "identity_id",
        "jurisdiction",
    );
    assert!(found.contains_key(&("erin".to_string(), "UK".to_string())));
}

#[test]
fn interval_comes_from_the_jurisdiction() {
    let jur = DEFAULT_JURISDICTIONS.replace(
        "timezone = \"Asia/Hong_Kong\"",
        "timezone = \"Asia/Hong_Kong\"\nsecurity_training_interval_days = 30",
    );
    let training = "identity_id,course,completed_at\n\
                    carol,x,2026-10-26T00:00:00Z\n\
                    frank,x,2026-10-25T23:59:59.999999Z\n";
    let found = by_pair(
        fixture(Some(training))
            .policy("jurisdictions", &jur)
            .findings("2026-11-24", "TRAINING_OVERDUE"),
        "identity_id",
        "jurisdiction",
    );
    assert!(!found.contains_key(&("carol".to_string(), "HK".to_string())));
    assert!(found.contains_key(&("frank".to_string(), "HK".to_string())));
    assert_eq!(
        detail(&found[&("frank".to_string(), "HK".to_string())])["security_training_interval_days"],
        30
    );
}

#[test]
fn absent_table_is_not_evaluated_header_only_means_nobody_trained() {
    assert!(fixture(None)
        .findings("2026-11-24", "TRAINING_OVERDUE")
        .is_empty());
    let found = by_pair(
        fixture(Some("identity_id,course,completed_at\n"))
            .findings("2026-11-24", "TRAINING_OVERDUE"),
        "identity_id",
        "jurisdiction",
    );
    let keys: Vec<(&str, &str)> = found
        .keys()
        .map(|(i, j)| (i.as_str(), j.as_str()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("alice", "HK"),
            ("alice", "UK"),
            ("bob", "HK"),
            ("carol", "HK"),
            ("erin", "UK"),
            ("frank", "HK"),
        ]
    );
}

#[test]
fn training_rows_are_checked_like_any_table() {
    // The key is (identity_id, course, completed_at) by instant: +08:00 names the same one.
    let training = "identity_id,course,completed_at\n\
                    alice,SEC-101,2026-01-01T00:00:00Z\n\
                    alice,SEC-101,2026-01-01T08:00:00+08:00\n\
                    alice,SEC-102,2026-01-01T00:00:00Z\n\
                    bob,,2026-01-01T00:00:00Z\n\
                    bob,SEC-101,\n\
                    bob,SEC-101,2026-01-01\n\
                    ,SEC-101,2026-01-01T00:00:00Z\n\
                    ghost,SEC-101,2026-01-01T00:00:00Z\n";
    let a = fixture(Some(training))
        .analyze("2026-11-24")
        .expect("analysis");
    let acc = a
        .ingest
        .accounts
        .iter()
        .find(|t| t.table == "training")
        .expect("training accounted");
    assert_eq!(
        (acc.rows_read, acc.rows_loaded, acc.rows_quarantined),
        (8, 3, 5)
    );
    let reasons: Vec<(u64, &str)> = a
        .ingest
        .quarantine
        .iter()
        .filter(|q| q.table == "training")
        .map(|q| (q.line, q.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 5);
    assert_eq!(reasons[0].0, 3);
    assert!(
        reasons[0].1.contains("duplicate primary key"),
        "{reasons:?}"
    );
    assert_eq!(
        reasons.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![3, 5, 6, 7, 8]
    );
    let found = by_pair(
        rows(&a.findings, "TRAINING_OVERDUE"),
        "identity_id",
        "jurisdiction",
    );
    assert!(!found.contains_key(&("alice".to_string(), "HK".to_string())));
    assert!(found.contains_key(&("bob".to_string(), "HK".to_string())));
}
