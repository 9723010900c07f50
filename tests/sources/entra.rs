//! entra_signin: the shared real samples, the demo exports, and small exports written here
//! for what neither holds (Graph pages, Event Hub batches one a line, gzip, quirks).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use permaudit::source::Table;

use super::{demo, map, row, samples, Mapping};

const KIND: &str = "entra_signin";
const TENANT: &str = "6f1c2b9e-4d3a-4e8b-9a51-2c7d0e8f4a13";

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn events(m: &Mapping) -> Vec<BTreeMap<String, String>> {
    m.table(Table::AuditEvents)
}

fn assert_accounted(m: &Mapping, read: usize) {
    assert_eq!(m.rows.len() + m.skipped.len() + m.bad.len(), read, "{m:#?}");
}

fn count(m: &Mapping, reason: &str) -> usize {
    m.skipped.iter().filter(|s| *s == reason).count()
}

/// The real samples hold five interrupted sign-ins, one of each sign-in category, and
/// four audit records: nothing to map, everything counted.
#[test]
fn real_samples_are_interrupts_and_audit_records() {
    let m = map(KIND, &samples("entra"), "entra", None).unwrap();
    assert_accounted(&m, 9);
    assert!(m.rows.is_empty() && m.bad.is_empty(), "{m:#?}");
    assert_eq!(count(&m, "not a sign-in"), 4);
    assert_eq!(count(&m, "sign-in interrupt"), 5);
}

/// The same sign-ins, not interrupted: what each category maps to (the sample's
/// `status.errorCode` is rewritten, `resultType` left at `"50140"`, which
/// `status.errorCode` overrides).
#[test]
fn real_sign_in_records_when_not_interrupted() {
    let text = std::fs::read_to_string(samples("entra").join("elastic-test-signinlogs-raw.log"))
        .unwrap()
        .replace(r#""errorCode":50140"#, r#""errorCode":"0""#);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "signins.log", &text);
    let m = map(KIND, dir.path(), "entra-{tenant}", None).unwrap();
    assert_accounted(&m, 5);
    let common = [
        ("event_id", "8a4de8b5-095c-47d0-a96f-a75130c61d53"),
        ("ts", "2019-10-18T04:45:48.0729893-05:00"),
        ("system_id", "entra-8a4de8b5-095c-47d0-a96f-a75130c61d53"),
        ("outcome", "success"),
        ("src_ip", "81.2.69.144"),
        ("src_country", "FR"),
    ];
    let with = |account: &str, action: &str| {
        let mut r = row(&common);
        r.insert("account_id".into(), account.into());
        r.insert("action".into(), action.into());
        r
    };
    // The UPN of non-interactive and service principal sign-ins may be an object id. The
    // sample repeats one id: the loader quarantines it from its second occurrence.
    let guid = "c3813493-bf92-5123-2717-8a8b2979c38b";
    assert_eq!(
        events(&m),
        vec![
            with("test@elastic.co", "login"),
            with(guid, "noninteractive_login"),
            with(guid, "noninteractive_login"),
            with(guid, "noninteractive_login"),
            with(guid, "noninteractive_login"),
        ]
    );
}

#[test]
fn demo_exports_hold_the_planted_story() {
    let m = map(KIND, &demo("entra"), "entra-{tenant}", None).unwrap();
    // Event Hub batch (8), storage blob (3), Graph page (7).
    assert_accounted(&m, 18);
    assert!(m.bad.is_empty(), "{:?}", m.bad);
    assert_eq!(count(&m, "not a sign-in"), 1);
    assert_eq!(count(&m, "sign-in interrupt"), 2);
    let ev = events(&m);
    assert_eq!(ev.len(), 15);
    // The feed is fresh at the end of the export (the demo's as_of is 2026-11-30).
    assert!(ev.iter().any(|e| e["ts"].starts_with("2026-11-29T23")));
    for e in &ev {
        assert_eq!(e["system_id"], format!("entra-{TENANT}"));
        assert!(e["account_id"].ends_with("@example-pay.com"), "{e:?}");
        assert!(e["ts"].as_str() >= "2026-11-01" && e["ts"].as_str() < "2026-11-30");
        assert!(e.get("target_id").is_none());
    }
    let failed: Vec<_> = ev
        .iter()
        .filter(|e| e["account_id"] == "carol.diaz@example-pay.com")
        .collect();
    assert_eq!(failed.len(), 4);
    assert!(failed
        .iter()
        .all(|e| e["outcome"] == "failure" && e["src_country"] == "NL" && e["mfa"] == "false"));
    // Graph page: interactive by `isInteractive`.
    let farid: Vec<(&str, &str)> = ev
        .iter()
        .filter(|e| e["account_id"] == "farid.haddad@example-pay.com")
        .map(|e| (e["action"].as_str(), e["src_country"].as_str()))
        .collect();
    assert_eq!(farid, vec![("noninteractive_login", "BR"), ("login", "BR")]);
    let alice_login = ev
        .iter()
        .find(|e| e["account_id"] == "alice.chan@example-pay.com" && e["action"] == "login")
        .unwrap();
    assert_eq!(alice_login["mfa"], "true");
    assert_eq!(alice_login["outcome"], "success");
}

/// A Graph page (v1.0 and beta shapes), gzip'd, mixed with objects that are no sign-in.
#[test]
fn graph_pages() {
    let dir = tempfile::tempdir().unwrap();
    let page = format!(
        r#"{{"@odata.context":"https://graph.microsoft.com/beta/$metadata#auditLogs/signIns",
  "value":[
    {{"id":"g1","createdDateTime":"2026-11-05T08:00:00Z","userPrincipalName":"ann@example-pay.com",
      "ipAddress":"198.51.100.7","isInteractive":true,"status":{{"errorCode":0,"failureReason":null}},
      "location":{{"city":"Singapore","countryOrRegion":"SG"}},
      "authenticationRequirement":"multiFactorAuthentication","resourceTenantId":"{TENANT}",
      "homeTenantId":"11111111-2222-3333-4444-555555555555"}},
    {{"id":"g2","createdDateTime":"2026-11-05T08:01:00Z","userPrincipalName":"ann@example-pay.com",
      "ipAddress":"198.51.100.7","signInEventTypes":["nonInteractiveUser"],"status":{{"errorCode":"50126"}},
      "location":{{"countryOrRegion":"Singapore"}},"authenticationRequirement":"singleFactorAuthentication",
      "resourceTenantId":"{TENANT}"}},
    {{"id":"g3","createdDateTime":"2026-11-05T08:02:00Z","userPrincipalName":"ann@example-pay.com",
      "signInEventTypes":["interactiveUser"],"status":{{"errorCode":50076}},"resourceTenantId":"{TENANT}"}},
    {{"id":"a1","category":"UserManagement","activityDateTime":"2026-11-05T08:03:00Z",
      "activityDisplayName":"Update user","result":"success"}},
    {{"id":"u1","createdDateTime":"2026-01-05T08:00:00Z","userPrincipalName":"ann@example-pay.com"}}
  ],
  "@odata.nextLink":"https://graph.microsoft.com/beta/auditLogs/signIns?$skiptoken=abc"}}"#
    );
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.path().join("page1")).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(page.as_bytes()).unwrap();
    enc.finish().unwrap();
    let m = map(KIND, dir.path(), "entra-{tenant}", None).unwrap();
    assert_accounted(&m, 5);
    assert_eq!(count(&m, "not a sign-in"), 2);
    assert_eq!(count(&m, "sign-in interrupt"), 1);
    let system = format!("entra-{TENANT}");
    assert_eq!(
        events(&m),
        vec![
            row(&[
                ("event_id", "g1"),
                ("ts", "2026-11-05T08:00:00Z"),
                ("system_id", &system),
                ("account_id", "ann@example-pay.com"),
                ("action", "login"),
                ("outcome", "success"),
                ("mfa", "true"),
                ("src_ip", "198.51.100.7"),
                ("src_country", "SG"),
            ]),
            row(&[
                ("event_id", "g2"),
                ("ts", "2026-11-05T08:01:00Z"),
                ("system_id", &system),
                ("account_id", "ann@example-pay.com"),
                ("action", "noninteractive_login"),
                ("outcome", "failure"),
                ("mfa", "false"),
                ("src_ip", "198.51.100.7"),
                ("src_country", "SG"),
            ]),
        ]
    );
}

/// Graph v1.0 objects carry no tenant: a `{tenant}` system id cannot be resolved (bad), a
/// fixed one can.
#[test]
fn graph_v1_objects_have_no_tenant() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "v1.json",
        r#"{"value":[{"id":"g1","createdDateTime":"2026-11-05T08:00:00Z","userPrincipalName":"ann@example-pay.com","isInteractive":false,"status":{"errorCode":0}}]}"#,
    );
    let m = map(KIND, dir.path(), "entra-{tenant}", None).unwrap();
    assert_accounted(&m, 1);
    assert_eq!(m.bad.len(), 1);
    assert!(m.bad[0].3.contains("tenant"), "{:?}", m.bad[0]);
    let m = map(KIND, dir.path(), "entra", None).unwrap();
    assert_eq!(
        events(&m),
        vec![row(&[
            ("event_id", "g1"),
            ("ts", "2026-11-05T08:00:00Z"),
            ("system_id", "entra"),
            ("account_id", "ann@example-pay.com"),
            ("action", "noninteractive_login"),
            ("outcome", "success"),
        ])]
    );
}

/// Event Hub batches captured one a line, and the quirks of diagnostic records:
/// `resultType` as text when `status` is missing, `time` when `createdDateTime` is,
/// `"null"` strings, `properties` as JSON text, categories in another case, a code that is
/// no number, the tenant of `properties` when the record has none.
#[test]
fn event_hub_batches_and_quirks() {
    let dir = tempfile::tempdir().unwrap();
    let rec = |category: &str, properties: &str, extra: &str| {
        format!(
            r#"{{"time":"2026-11-06T10:00:00.1234567Z","category":"{category}","operationName":"Sign-in activity"{extra},"properties":{properties}}}"#
        )
    };
    let batch1 = format!(
        r#"{{"records":[{},{},{}]}}"#,
        rec(
            "SignInLogs",
            r#"{"id":"e1","userPrincipalName":"ann@example-pay.com","ipAddress":"null","location":{"countryOrRegion":"null"},"authenticationRequirement":"null"}"#,
            r#","tenantId":"t-1","resultType":"0""#
        ),
        rec(
            "signinlogs",
            r#""{\"id\":\"e2\",\"createdDateTime\":\"2026-11-06T18:00:00.1234567+08:00\",\"userPrincipalName\":\"ann@example-pay.com\",\"status\":{\"errorCode\":\"53003\"},\"ipAddress\":\"2001:db8::1\",\"location\":{\"countryOrRegion\":\"Hong Kong\"}}""#,
            r#","tenantId":"t-1","resultType":"0""#
        ),
        rec(
            "AuditLogs",
            r#"{"id":"Directory_1","activityDisplayName":"Add member to group"}"#,
            r#","tenantId":"t-1""#
        ),
    );
    let batch2 = format!(
        r#"{{"records":[{},{},{},{}]}}"#,
        rec(
            "ManagedIdentitySignInLogs",
            r#"{"id":"e3","createdDateTime":"2026-11-06T10:00:01Z","userPrincipalName":"null","status":{"errorCode":0},"tenantId":"t-2"}"#,
            ""
        ),
        rec(
            "NonInteractiveUserSignInLogs",
            r#"{"id":"e4","createdDateTime":"2026-11-06T10:00:02Z","userPrincipalName":"ann@example-pay.com","status":{"errorCode":"AADSTS50126"}}"#,
            r#","tenantId":"t-1""#
        ),
        rec(
            "RiskyUsers",
            r#"{"id":"r1","riskLevel":"high"}"#,
            r#","tenantId":"t-1""#
        ),
        rec("SignInLogs", "null", r#","tenantId":"t-1","resultType":0"#),
    );
    write(
        dir.path(),
        "eventhub.ndjson",
        &format!("{batch1}\n{batch2}\n"),
    );
    let m = map(KIND, dir.path(), "entra-{tenant}", None).unwrap();
    assert_accounted(&m, 7);
    assert_eq!(count(&m, "not a sign-in"), 2);
    assert_eq!(m.bad.len(), 1);
    assert!(m.bad[0].3.contains("AADSTS50126"), "{:?}", m.bad[0]);
    assert_eq!(
        events(&m),
        vec![
            row(&[
                ("event_id", "e1"),
                ("ts", "2026-11-06T10:00:00.1234567Z"),
                ("system_id", "entra-t-1"),
                ("account_id", "ann@example-pay.com"),
                ("action", "login"),
                ("outcome", "success"),
            ]),
            // `status.errorCode` (a Conditional Access block) wins over `resultType`
            row(&[
                ("event_id", "e2"),
                ("ts", "2026-11-06T18:00:00.1234567+08:00"),
                ("system_id", "entra-t-1"),
                ("account_id", "ann@example-pay.com"),
                ("action", "login"),
                ("outcome", "failure"),
                ("src_ip", "2001:db8::1"),
                ("src_country", "HK"),
            ]),
            // no UPN: offered without an account, for the loader to quarantine
            row(&[
                ("event_id", "e3"),
                ("ts", "2026-11-06T10:00:01Z"),
                ("system_id", "entra-t-2"),
                ("action", "noninteractive_login"),
                ("outcome", "success"),
            ]),
            // a sign-in without `properties`: what the record has, for the loader to
            // quarantine (no account, no id)
            row(&[
                ("ts", "2026-11-06T10:00:00.1234567Z"),
                ("system_id", "entra-t-1"),
                ("action", "login"),
                ("outcome", "success"),
            ]),
        ]
    );
}
