use crate::common::*;

const IDS: &str = "identity_id,status,terminated_at\n\
alice,terminated,2026-11-22T12:00:00Z\n\
bob,terminated,2026-11-23T23:59:59Z\n\
carol,terminated,2026-11-25T00:00:00Z\n\
dave,active,\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,a-alice,alice,active\n\
pay-hk,a-alice-off,alice,disabled\n\
pay-hk,a-bob,bob,active\n\
pay-uk,a-carol,carol,active\n\
pay-uk,a-dave,dave,active\n";

#[test]
fn fires_after_grace_only() {
    // as_of 2026-11-24 -> T = 2026-11-25T00:00Z; grace 24h -> terminated_at < 2026-11-24T00:00Z.
    let f = Fixture::new()
        .table("identities", IDS)
        .table("accounts", ACCOUNTS);
    let found = f.findings("2026-11-24", "TERMINATED_ACCESS");
    let keys: Vec<(&str, &str)> = found
        .iter()
        .map(|r| (r["system_id"].as_str(), r["account_id"].as_str()))
        .collect();
    // bob left one second before the grace period began: still caught.
    assert_eq!(keys, vec![("pay-hk", "a-alice"), ("pay-hk", "a-bob")]);
    assert_eq!(found[0]["severity"], "high");
    assert_eq!(found[0]["identity_id"], "alice");
    assert_eq!(found[0]["jurisdiction"], "HK");
    assert_eq!(detail(&found[0])["terminated_at"], "2026-11-22T12:00:00Z");
}

#[test]
fn grace_boundary_is_strict() {
    // terminated_at exactly T - 24h is not older than the grace period.
    let ids = "identity_id,status,terminated_at\nalice,terminated,2026-11-24T00:00:00Z\n";
    let accounts = "system_id,account_id,identity_id,status\npay-hk,a1,alice,active\n";
    let f = Fixture::new()
        .table("identities", ids)
        .table("accounts", accounts);
    assert!(f.findings("2026-11-24", "TERMINATED_ACCESS").is_empty());
    assert_eq!(f.findings("2026-11-25", "TERMINATED_ACCESS").len(), 1);
}

#[test]
fn disabled_rule_drops_that_jurisdiction() {
    let jur = format!(
        "{}\ndisabled_rules = [\"TERMINATED_ACCESS\"]\n",
        DEFAULT_JURISDICTIONS
    );
    let f = Fixture::new()
        .policy("jurisdictions", &jur)
        .table("identities", "identity_id,status,terminated_at\nalice,terminated,2026-01-01T00:00:00Z\n")
        .table(
            "accounts",
            "system_id,account_id,identity_id,status\npay-hk,a1,alice,active\npay-uk,a2,alice,active\n",
        );
    let found = f.findings("2026-11-24", "TERMINATED_ACCESS");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["jurisdiction"], "HK");
}
