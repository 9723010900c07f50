use std::collections::BTreeSet;

use crate::common::*;

const RULE: &str = "OFF_HOURS_PRIVILEGED_ACTION";

const JURISDICTIONS: &str = r#"
[[jurisdiction]]
code = "HK"
name = "Hong Kong"
timezone = "Asia/Hong_Kong"

[[jurisdiction]]
code = "UK"
name = "United Kingdom"
timezone = "Europe/London"

[[jurisdiction]]
code = "US"
name = "United States"
timezone = "America/New_York"

[[jurisdiction]]
code = "X24"
name = "Round the clock"
timezone = "Asia/Hong_Kong"
business_hours = "00:00-24:00"
business_days = ["mon", "tue", "wed", "thu", "fri"]
"#;

const SYSTEMS: &str = "system_id,name,jurisdiction\n\
pay-hk,Payout console HK,HK\n\
pay-uk,Payout console UK,UK\n\
pay-us,Payout console US,US\n\
pay-24,Payout console 24h,X24\n";

const ENTITLEMENTS: &str = "system_id,entitlement_id,kind,privileged\n\
pay-hk,release,permission,true\n\
pay-uk,release,permission,true\n\
pay-us,release,permission,true\n\
pay-24,release,permission,true\n\
pay-uk,report,permission,false\n\
pay-uk,audit,permission,true\n\
pay-uk,admin,role,true\n";

const ROLE_PERMISSIONS: &str = "system_id,role_id,member_id\npay-uk,admin,report\n";

const ACTION_PERMISSIONS: &str = "system_id,action,permission_id\n\
pay-hk,payout.release,release\n\
pay-uk,payout.release,release\n\
pay-us,payout.release,release\n\
pay-24,payout.release,release\n\
pay-uk,report.view,report\n\
pay-uk,report.export,report\n\
pay-uk,report.export,audit\n";

const IDS: &str = "identity_id,status,terminated_at\nalice,active,\n";
const ACCOUNTS: &str = "system_id,account_id,identity_id,status\npay-uk,alice,alice,active\n";

fn fixture(events: &str) -> Fixture {
    Fixture::new()
        .policy("jurisdictions", JURISDICTIONS)
        .table("systems", SYSTEMS)
        .table("entitlements", ENTITLEMENTS)
        .table("role_permissions", ROLE_PERMISSIONS)
        .table("action_permissions", ACTION_PERMISSIONS)
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table(
            "audit_events",
            &format!("event_id,ts,system_id,account_id,action,outcome\n{events}"),
        )
}

/// One privileged success per line: `account,ts,system`; returns the accounts that fired.
fn fired(as_of: &str, system: &str, cases: &[(&str, &str)]) -> BTreeSet<String> {
    let events: String = cases
        .iter()
        .enumerate()
        .map(|(i, (account, ts))| format!("ev{i},{ts},{system},{account},payout.release,success\n"))
        .collect();
    fixture(&events)
        .findings(as_of, RULE)
        .into_iter()
        .map(|r| {
            assert_eq!(r["system_id"], system);
            assert_eq!(r["severity"], "medium");
            r["account_id"].clone()
        })
        .collect()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn london_spring_forward() {
    // 2026-03-29 (Sun): GMT -> BST. Business hours 08:00-20:00 local.
    let cases = [
        ("fri-0730z", "2026-03-27T07:30:00Z"), // 07:30 GMT: off
        ("fri-1930z", "2026-03-27T19:30:00Z"), // 19:30 GMT: in
        ("mon-0730z", "2026-03-30T07:30:00Z"), // 08:30 BST: in
        ("mon-1930z", "2026-03-30T19:30:00Z"), // 20:30 BST: off
        ("mon-start", "2026-03-30T07:00:00Z"), // 08:00 BST exactly: in
        ("mon-end", "2026-03-30T19:00:00Z"),   // 20:00 BST exactly: off
        ("sun", "2026-03-29T10:00:00Z"),       // weekend
    ];
    assert_eq!(
        fired("2026-03-31", "pay-uk", &cases),
        set(&["fri-0730z", "mon-1930z", "mon-end", "sun"])
    );
}

#[test]
fn london_fall_back() {
    // 2026-10-25 (Sun): BST -> GMT.
    let cases = [
        ("fri-0730z", "2026-10-23T07:30:00Z"),        // 08:30 BST: in
        ("fri-1930z", "2026-10-23T19:30:00Z"),        // 20:30 BST: off
        ("mon-0730z", "2026-10-26T07:30:00Z"),        // 07:30 GMT: off
        ("mon-1930z", "2026-10-26T19:30:00Z"),        // 19:30 GMT: in
        ("mon-start", "2026-10-26T08:00:00Z"),        // 08:00 exactly: in
        ("mon-last", "2026-10-26T19:59:59.999999Z"),  // last µs: in
        ("mon-early", "2026-10-26T07:59:59.999999Z"), // 1 µs before start: off
        ("sun", "2026-10-25T12:00:00Z"),
    ];
    assert_eq!(
        fired("2026-10-31", "pay-uk", &cases),
        set(&["fri-1930z", "mon-0730z", "mon-early", "sun"])
    );
}

#[test]
fn new_york_spring_forward() {
    // 2026-03-08 (Sun): EST (UTC-5) -> EDT (UTC-4).
    let cases = [
        ("fri-1230z", "2026-03-06T12:30:00Z"), // 07:30 EST: off
        ("fri-2330z", "2026-03-06T23:30:00Z"), // 18:30 EST: in
        ("mon-1230z", "2026-03-09T12:30:00Z"), // 08:30 EDT: in
        ("mon-start", "2026-03-09T12:00:00Z"), // 08:00 EDT exactly: in
        ("mon-end", "2026-03-10T00:00:00Z"),   // Mon 20:00 EDT exactly: off
        ("mon-2359z", "2026-03-09T23:59:00Z"), // 19:59 EDT: in
        ("sun", "2026-03-08T15:00:00Z"),
    ];
    assert_eq!(
        fired("2026-03-31", "pay-us", &cases),
        set(&["fri-1230z", "mon-end", "sun"])
    );
}

#[test]
fn new_york_fall_back() {
    // 2026-11-01 (Sun): EDT -> EST.
    let cases = [
        ("fri-1230z", "2026-10-30T12:30:00Z"),   // 08:30 EDT: in
        ("mon-1230z", "2026-11-02T12:30:00Z"),   // 07:30 EST: off
        ("mon-start", "2026-11-02T13:00:00Z"),   // 08:00 EST exactly: in
        ("mon-end", "2026-11-03T01:00:00Z"),     // Mon 20:00 EST exactly: off
        ("mon-late", "2026-11-03T00:59:59Z"),    // Mon 19:59:59 EST: in
        ("sat-utc-sun", "2026-11-01T03:30:00Z"), // Sat 23:30 EDT: off
    ];
    assert_eq!(
        fired("2026-11-24", "pay-us", &cases),
        set(&["mon-1230z", "mon-end", "sat-utc-sun"])
    );
}

#[test]
fn weekday_is_the_local_dates() {
    // Round-the-clock hours isolate the day check; Hong Kong is UTC+8.
    let cases = [
        ("fri-utc-sat-local", "2026-11-20T16:30:00Z"), // Sat 00:30 local: off
        ("sun-utc-mon-local", "2026-11-22T16:30:00Z"), // Mon 00:30 local: in
        ("fri-local-last", "2026-11-20T15:59:59.999999Z"), // Fri 23:59:59.999999: in
        ("sun-local-last", "2026-11-22T15:59:59Z"),    // Sun 23:59:59 local: off
    ];
    assert_eq!(
        fired("2026-11-24", "pay-24", &cases),
        set(&["fri-utc-sat-local", "sun-local-last"])
    );
}

#[test]
fn only_successful_privileged_actions_in_window() {
    // Saturday 2026-11-21 is off-hours everywhere; only the privileged success fires.
    let f = fixture(
        "e1,2026-11-21T12:00:00Z,pay-uk,u-fail,payout.release,failure\n\
         e2,2026-11-21T12:00:00Z,pay-uk,u-report,report.view,success\n\
         e3,2026-11-21T12:00:00Z,pay-uk,u-unmapped,login,success\n\
         e4,2026-11-21T12:00:00Z,pay-uk,u-export,report.export,success\n\
         e5,2026-10-25T23:59:59Z,pay-uk,u-old,payout.release,success\n\
         e6,2026-11-25T00:00:00Z,pay-uk,u-at-t,payout.release,success\n\
         e7,2026-10-26T00:00:00Z,pay-uk,u-window-start,payout.release,success\n",
    );
    let found = f.findings("2026-11-24", RULE);
    let accounts: Vec<&str> = found.iter().map(|r| r["account_id"].as_str()).collect();
    // report.export exercises a non-privileged and a privileged permission: privileged wins.
    assert_eq!(accounts, vec!["u-export", "u-window-start"]);
    let d = detail(&found[0]);
    assert_eq!(d["permissions"], serde_json::json!(["audit"]));
    assert_eq!(found[0]["jurisdiction"], "UK");
}

#[test]
fn evidence_counts_and_first_last() {
    let f = fixture(
        "e3,2026-03-30T19:30:00Z,pay-uk,alice,payout.release,success\n\
         e1,2026-03-28T09:15:00.5Z,pay-uk,alice,payout.release,success\n\
         e2,2026-03-30T10:00:00Z,pay-uk,alice,payout.release,success\n\
         e4,2026-03-30T19:30:00Z,pay-uk,alice,report.export,success\n",
    );
    let found = f.findings("2026-03-31", RULE);
    assert_eq!(found.len(), 1);
    let r = &found[0];
    assert_eq!(r["identity_id"], "alice");
    assert_eq!(r["jurisdiction"], "UK");
    let d = detail(r);
    assert_eq!(d["event_count"], 3);
    assert_eq!(d["first_event_id"], "e1");
    assert_eq!(d["first_ts"], "2026-03-28T09:15:00.500Z");
    assert_eq!(d["first_local_time"], "2026-03-28T09:15:00.500+00:00");
    assert_eq!(d["first_weekday"], "sat");
    assert_eq!(d["last_event_id"], "e4");
    assert_eq!(d["last_local_time"], "2026-03-30T20:30:00+01:00");
    assert_eq!(d["last_weekday"], "mon");
    assert_eq!(d["last_action"], "report.export");
    assert_eq!(
        d["actions"],
        serde_json::json!(["payout.release", "report.export"])
    );
    assert_eq!(d["permissions"], serde_json::json!(["audit", "release"]));
    assert_eq!(d["timezone"], "Europe/London");
    assert_eq!(d["business_hours"], "08:00-20:00");
    assert_eq!(
        d["business_days"],
        serde_json::json!(["mon", "tue", "wed", "thu", "fri"])
    );
}

#[test]
fn empty_business_days_make_every_privileged_action_off_hours() {
    let jur = JURISDICTIONS.replace(
        "business_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]",
        "business_days = []",
    );
    let f = fixture("e1,2026-11-23T12:00:00Z,pay-24,a1,payout.release,success\n")
        .policy("jurisdictions", &jur);
    let found = f.findings("2026-11-24", RULE);
    assert_eq!(found.len(), 1);
    assert_eq!(detail(&found[0])["business_days"], serde_json::json!([]));
}

#[test]
fn each_jurisdiction_judges_its_own_events_by_its_own_calendar() {
    // 2026-11-23 is a Monday. 02:00Z is 10:00 in Hong Kong (business hours) and 02:00 in
    // London (off hours); 13:00Z is 21:00 in Hong Kong (off hours) and 13:00 in London
    // (business hours). Events of both systems are interleaved, so that an event's texts
    // taken back for the wrong row would show in the evidence.
    let f = fixture(
        "hk-day,2026-11-23T02:00:00Z,pay-hk,hk-a,payout.release,success\n\
         uk-night,2026-11-23T02:00:00Z,pay-uk,uk-a,payout.release,success\n\
         hk-night,2026-11-23T13:00:00Z,pay-hk,hk-b,payout.release,success\n\
         uk-day,2026-11-23T13:00:00Z,pay-uk,uk-b,payout.release,success\n\
         uk-night-2,2026-11-23T21:30:00Z,pay-uk,uk-a,report.export,success\n",
    );
    let found = f.findings("2026-11-24", RULE);
    let fired: Vec<(&str, &str, &str)> = found
        .iter()
        .map(|r| {
            (
                r["jurisdiction"].as_str(),
                r["system_id"].as_str(),
                r["account_id"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        fired,
        vec![("HK", "pay-hk", "hk-b"), ("UK", "pay-uk", "uk-a")]
    );
    let hk = detail(&found[0]);
    assert_eq!(hk["event_count"], 1);
    assert_eq!(hk["first_event_id"], "hk-night");
    assert_eq!(hk["first_local_time"], "2026-11-23T21:00:00+08:00");
    assert_eq!(hk["permissions"], serde_json::json!(["release"]));
    let uk = detail(&found[1]);
    assert_eq!(uk["event_count"], 2);
    assert_eq!(uk["first_event_id"], "uk-night");
    assert_eq!(uk["last_event_id"], "uk-night-2");
    assert_eq!(uk["last_action"], "report.export");
    assert_eq!(
        uk["actions"],
        serde_json::json!(["payout.release", "report.export"])
    );
    assert_eq!(uk["permissions"], serde_json::json!(["audit", "release"]));
}
