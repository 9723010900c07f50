use crate::common::*;

const RULE: &str = "IMPOSSIBLE_TRAVEL";

const IDS: &str = "identity_id,status,terminated_at\n\
alice,active,\n\
bob,active,\n\
carol,active,\n\
dave,active,\n\
erin,active,\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,h-alice,alice,active\n\
pay-uk,u-alice,alice,active\n\
pay-hk,h-bob,bob,active\n\
pay-hk,h-carol,carol,active\n\
pay-hk,h-dave,dave,active\n\
pay-hk,h-erin,erin,active\n\
pay-uk,u-erin,erin,active\n\
pay-hk,h-orphan,,active\n";

const EVENT_HEADER: &str = "event_id,ts,system_id,account_id,action,outcome,src_country\n";

fn fixture(events: &str) -> Fixture {
    Fixture::new()
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("audit_events", &format!("{EVENT_HEADER}{events}"))
}

fn keys(found: &[std::collections::BTreeMap<String, String>]) -> Vec<(String, String)> {
    found
        .iter()
        .map(|r| (r["identity_id"].clone(), r["jurisdiction"].clone()))
        .collect()
}

#[test]
fn pair_across_systems_skips_logins_without_country() {
    // The HK login and the GB login are consecutive once the country-less one is skipped;
    // the later login (pay-uk) sets the jurisdiction.
    let f = fixture(
        "e1,2026-11-20T08:00:00Z,pay-hk,h-alice,login,success,HK\n\
         e2,2026-11-20T08:30:00Z,pay-hk,h-alice,login,success,\n\
         e3,2026-11-20T09:00:00Z,pay-uk,u-alice,login,success,GB\n\
         e4,2026-11-21T09:00:00Z,pay-hk,h-alice,login,success,HK\n",
    );
    let found = f.findings("2026-11-24", RULE);
    assert_eq!(keys(&found), vec![("alice".into(), "UK".into())]);
    let r = &found[0];
    assert_eq!(r["severity"], "high");
    assert!(!r.contains_key("system_id"));
    let d = detail(r);
    assert_eq!(d["pair_count"], 1);
    assert_eq!(d["travel_hours"], 2);
    let p = &d["pairs"][0];
    assert_eq!(p["from_country"], "HK");
    assert_eq!(p["to_country"], "GB");
    assert_eq!(p["from_event_id"], "e1");
    assert_eq!(p["to_event_id"], "e3");
    assert_eq!(p["from_system_id"], "pay-hk");
    assert_eq!(p["to_system_id"], "pay-uk");
    assert_eq!(p["from_account_id"], "h-alice");
    assert_eq!(p["to_account_id"], "u-alice");
    assert_eq!(p["from_ts"], "2026-11-20T08:00:00Z");
    assert_eq!(p["to_ts"], "2026-11-20T09:00:00Z");
    assert_eq!(p["gap_minutes"], 60.0);
}

#[test]
fn threshold_is_strict() {
    // bob: exactly travel_hours apart -> no finding; carol: 1 µs less -> finding.
    let f = fixture(
        "b1,2026-11-20T10:00:00Z,pay-hk,h-bob,login,success,HK\n\
         b2,2026-11-20T12:00:00Z,pay-hk,h-bob,login,success,GB\n\
         c1,2026-11-20T10:00:00Z,pay-hk,h-carol,login,success,HK\n\
         c2,2026-11-20T11:59:59.999999Z,pay-hk,h-carol,login,success,GB\n",
    );
    let found = f.findings("2026-11-24", RULE);
    assert_eq!(keys(&found), vec![("carol".into(), "HK".into())]);
    assert_eq!(
        detail(&found[0])["pairs"][0]["to_ts"],
        "2026-11-20T11:59:59.999999Z"
    );
}

#[test]
fn same_country_failures_and_unowned_accounts_do_not_fire() {
    // dave: same country; the GB login failed, so it is not part of the sequence.
    // h-orphan has no identity; events before the window or at T are out of scope.
    let f = fixture(
        "d1,2026-11-20T10:00:00Z,pay-hk,h-dave,login,success,HK\n\
         d2,2026-11-20T10:01:00Z,pay-hk,h-dave,login,failure,GB\n\
         d3,2026-11-20T10:02:00Z,pay-hk,h-dave,login,success,HK\n\
         d4,2026-11-20T10:03:00Z,pay-hk,h-dave,payout.create,success,GB\n\
         o1,2026-11-20T10:00:00Z,pay-hk,h-orphan,login,success,HK\n\
         o2,2026-11-20T10:01:00Z,pay-hk,h-orphan,login,success,GB\n\
         x1,2026-10-25T23:00:00Z,pay-hk,h-bob,login,success,HK\n\
         x2,2026-10-25T23:30:00Z,pay-hk,h-bob,login,success,GB\n\
         y1,2026-11-24T23:30:00Z,pay-hk,h-carol,login,success,HK\n\
         y2,2026-11-25T00:00:00Z,pay-hk,h-carol,login,success,GB\n",
    );
    assert!(f.findings("2026-11-24", RULE).is_empty());
}

#[test]
fn window_start_is_inclusive_for_the_earlier_login() {
    // Window is [2026-10-26T00:00Z, T): the first login sits exactly on its start.
    let f = fixture(
        "x1,2026-10-26T00:00:00Z,pay-hk,h-bob,login,success,HK\n\
         x2,2026-10-26T00:30:00Z,pay-hk,h-bob,login,success,GB\n",
    );
    assert_eq!(
        keys(&f.findings("2026-11-24", RULE)),
        vec![("bob".into(), "HK".into())]
    );
}

#[test]
fn only_consecutive_logins_pair() {
    // HK -> HK (same) -> GB 30 min later: the pair is the 2nd and 3rd logins, not the
    // 1st and 3rd; GB -> SG 3h later is too slow; SG -> HK 1h later fires again.
    let f = fixture(
        "a1,2026-11-20T10:00:00Z,pay-hk,h-erin,login,success,HK\n\
         a2,2026-11-20T10:30:00Z,pay-hk,h-erin,login,success,HK\n\
         a3,2026-11-20T11:00:00Z,pay-hk,h-erin,login,success,GB\n\
         a4,2026-11-20T14:00:00Z,pay-hk,h-erin,login,success,SG\n\
         a5,2026-11-20T15:00:00Z,pay-hk,h-erin,login,success,HK\n",
    );
    let found = f.findings("2026-11-24", RULE);
    assert_eq!(keys(&found), vec![("erin".into(), "HK".into())]);
    let d = detail(&found[0]);
    assert_eq!(d["pair_count"], 2);
    assert_eq!(d["pairs"][0]["from_event_id"], "a2");
    assert_eq!(d["pairs"][0]["to_event_id"], "a3");
    assert_eq!(d["pairs"][1]["from_event_id"], "a4");
    assert_eq!(d["pairs"][1]["to_event_id"], "a5");
    assert_eq!(d["first_pair_at"], "2026-11-20T11:00:00Z");
    assert_eq!(d["last_pair_at"], "2026-11-20T15:00:00Z");
}

#[test]
fn equal_times_order_by_event_id() {
    // Same instant: e-a (pay-uk, HK) comes before e-b (pay-hk, GB), so the later login is
    // e-b and the finding is HK's.
    let f = fixture(
        "e-b,2026-11-20T10:00:00Z,pay-hk,h-erin,login,success,GB\n\
         e-a,2026-11-20T10:00:00Z,pay-uk,u-erin,login,success,HK\n",
    );
    let found = f.findings("2026-11-24", RULE);
    assert_eq!(keys(&found), vec![("erin".into(), "HK".into())]);
    let p = &detail(&found[0])["pairs"][0];
    assert_eq!(p["from_event_id"], "e-a");
    assert_eq!(p["from_country"], "HK");
    assert_eq!(p["to_country"], "GB");
    assert_eq!(p["gap_minutes"], 0.0);
}

#[test]
fn later_login_jurisdiction_sets_threshold_and_splits_findings() {
    let jur = r#"
[[jurisdiction]]
code = "HK"
name = "Hong Kong"
timezone = "Asia/Hong_Kong"

[[jurisdiction]]
code = "UK"
name = "United Kingdom"
timezone = "Europe/London"
travel_hours = 5
"#;
    // 3h gaps: HK (2h) does not fire on a pair ending in pay-hk, UK (5h) does on pay-uk.
    let f = fixture(
        "a1,2026-11-20T00:00:00Z,pay-uk,u-alice,login,success,GB\n\
         a2,2026-11-20T03:00:00Z,pay-hk,h-alice,login,success,HK\n\
         a3,2026-11-20T06:00:00Z,pay-uk,u-alice,login,success,GB\n\
         a4,2026-11-20T07:00:00Z,pay-hk,h-alice,login,success,HK\n",
    )
    .policy("jurisdictions", jur);
    let found = f.findings("2026-11-24", RULE);
    assert_eq!(
        keys(&found),
        vec![("alice".into(), "HK".into()), ("alice".into(), "UK".into())]
    );
    let hk = detail(&found[0]);
    assert_eq!(hk["travel_hours"], 2);
    assert_eq!(hk["pair_count"], 1);
    assert_eq!(hk["pairs"][0]["to_event_id"], "a4");
    let uk = detail(&found[1]);
    assert_eq!(uk["travel_hours"], 5);
    assert_eq!(uk["pair_count"], 1);
    assert_eq!(uk["pairs"][0]["to_event_id"], "a3");
}
