use crate::common::*;

const HEADER: &str = "event_id,ts,system_id,account_id,action,outcome\n";
const SYSTEMS: &str = "system_id,jurisdiction\npay-hk,HK\npay-uk,UK\nidle-hk,HK\n";

#[test]
fn silence_must_exceed_max_hours() {
    // T = 2026-11-25T00:00Z, max_silence_hours 48: silent when latest < 2026-11-23T00:00Z.
    let events = format!(
        "{HEADER}\
         h1,2026-11-01T00:00:00Z,pay-hk,svc,payout.view,success\n\
         h2,2026-11-23T00:00:00Z,pay-hk,svc,login,failure\n\
         u1,2026-11-01T00:00:00Z,pay-uk,svc,payout.view,success\n\
         u2,2026-11-22T23:59:59.999999Z,pay-uk,svc,login,failure\n\
         u3,2026-11-25T00:00:00Z,pay-uk,svc,payout.view,success\n"
    );
    let f = Fixture::new()
        .table("systems", SYSTEMS)
        .table("audit_events", &events);
    let found = f.findings("2026-11-24", "LOG_FEED_SILENT");
    // pay-hk's latest is exactly 48 h old (not older); the event at T does not rescue
    // pay-uk; idle-hk never sent anything and is not judged.
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["system_id"], "pay-uk");
    assert_eq!(found[0]["severity"], "high");
    assert_eq!(found[0]["jurisdiction"], "UK");
    let d = detail(&found[0]);
    assert_eq!(d["latest_event_ts"], "2026-11-22T23:59:59.999999Z");
    assert_eq!(d["latest_event_id"], "u2");
    assert_eq!(d["max_silence_hours"], 48);
    assert_eq!(d["events_before_t"], 2);
    assert!(d["silence_hours"]
        .as_f64()
        .is_some_and(|h| h > 48.0 && h < 48.001));
}

#[test]
fn threshold_comes_from_the_system_jurisdiction() {
    let jur = DEFAULT_JURISDICTIONS.replace(
        "timezone = \"Europe/London\"",
        "timezone = \"Europe/London\"\nmax_silence_hours = 120",
    );
    let events = format!(
        "{HEADER}\
         h1,2026-11-20T12:00:00Z,pay-hk,svc,payout.view,success\n\
         u1,2026-11-20T12:00:00Z,pay-uk,svc,payout.view,success\n"
    );
    let f = Fixture::new()
        .policy("jurisdictions", &jur)
        .table("audit_events", &events);
    let found = f.findings("2026-11-24", "LOG_FEED_SILENT");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["system_id"], "pay-hk");
    assert!(detail(&found[0])["silence_hours"].as_f64() == Some(108.0));
}

#[test]
fn silence_exactly_the_custom_threshold_is_not_older() {
    let jur = DEFAULT_JURISDICTIONS.replace(
        "timezone = \"Europe/London\"",
        "timezone = \"Europe/London\"\nmax_silence_hours = 108",
    );
    let events = format!("{HEADER}u1,2026-11-20T12:00:00Z,pay-uk,svc,payout.view,success\n");
    let f = Fixture::new()
        .policy("jurisdictions", &jur)
        .table("audit_events", &events);
    assert!(f.findings("2026-11-24", "LOG_FEED_SILENT").is_empty());
    // One day later the same feed is 132 h silent.
    assert_eq!(f.findings("2026-11-25", "LOG_FEED_SILENT").len(), 1);
}
