//! okta_system_log: the shared real samples, the demo exports, and small exports written
//! here for what neither holds (quirks of real exports, event hooks, NDJSON).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use permaudit::source::Table;

use super::{demo, map, row, samples, Mapping};

const KIND: &str = "okta_system_log";

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

fn events(m: &Mapping) -> Vec<BTreeMap<String, String>> {
    m.table(Table::AuditEvents)
}

/// Every record read is a row, a skip or a bad one.
fn assert_accounted(m: &Mapping, read: usize) {
    assert_eq!(m.rows.len() + m.skipped.len() + m.bad.len(), read, "{m:#?}");
}

#[test]
fn real_samples_map_exactly() {
    let m = map(KIND, &samples("okta"), "okta", None).unwrap();
    assert_accounted(&m, 2);
    assert!(m.skipped.is_empty() && m.bad.is_empty(), "{m:#?}");
    assert_eq!(
        events(&m),
        vec![
            row(&[
                ("event_id", "a8daaacb-7f18-1111-1111-11111111"),
                ("ts", "2023-09-30T10:42:16.000Z"),
                ("system_id", "okta"),
                ("account_id", "okta@okta-test.com"),
                ("action", "user.account.lock"),
                ("outcome", "failure"),
                ("src_ip", "1.1.1.1"),
                ("src_country", "FR"),
            ]),
            row(&[
                ("event_id", "dc9fd3c0-598c-11ef-8478-2b7584bf8d5a"),
                ("ts", "2024-08-13T15:58:20.353Z"),
                ("system_id", "okta"),
                ("account_id", "john.doe@example.com"),
                ("action", "group.user_membership.add"),
                ("outcome", "success"),
                ("target_id", "00phjos6i2N0LcrqO1d7"),
                ("src_ip", "10.0.0.1"),
                ("src_country", "US"),
            ]),
        ]
    );
}

#[test]
fn a_system_id_with_a_placeholder_is_bad_for_every_record() {
    let m = map(KIND, &samples("okta"), "okta-{tenant}", None).unwrap();
    assert_accounted(&m, 2);
    assert_eq!(m.bad.len(), 2);
    assert!(m.bad[0].3.contains("tenant"), "{:?}", m.bad[0]);
}

#[test]
fn demo_exports_hold_the_planted_story() {
    let m = map(KIND, &demo("okta"), "okta", None).unwrap();
    assert_accounted(&m, 40);
    assert_eq!(m.skipped, vec!["not an outcome"]);
    assert!(m.bad.is_empty(), "{:?}", m.bad);
    let ev = events(&m);
    // The gzip'd export is read too.
    assert!(m.rows.iter().any(|r| r.1.ends_with(".json.gz")));
    for e in &ev {
        let ts = &e["ts"];
        assert!(
            ts.as_str() >= "2026-11-01" && ts.as_str() < "2026-11-30",
            "{ts}"
        );
        assert!(e["account_id"].ends_with("@example-pay.com"), "{e:?}");
    }
    let logins = |who: &str| -> Vec<&BTreeMap<String, String>> {
        ev.iter()
            .filter(|e| {
                e["action"] == "login" && e["account_id"] == format!("{who}@example-pay.com")
            })
            .collect()
    };
    let mfa = |e: &BTreeMap<String, String>| e.get("mfa").cloned();
    // A password-only sign-in, and one whose factor is in the other export.
    let dan = logins("dan.okafor");
    assert_eq!(dan.len(), 3);
    assert_eq!(mfa(dan[0]).as_deref(), Some("false"));
    assert_eq!(mfa(dan[1]).as_deref(), Some("true"));
    assert!(dan[1]["ts"].starts_with("2026-11-16"));
    // The feed is fresh at the end of the export (the demo's as_of is 2026-11-30).
    assert!(dan[2]["ts"].starts_with("2026-11-29T23"));
    // Every other successful sign-in had its factor verified.
    for e in ev
        .iter()
        .filter(|e| e["action"] == "login" && e["outcome"] == "success")
    {
        if e["account_id"] != "dan.okafor@example-pay.com" {
            assert_eq!(mfa(e).as_deref(), Some("true"), "{e:?}");
        }
    }
    // The burst: at least 10 failed sign-ins of one user within 15 minutes.
    let failed: Vec<&BTreeMap<String, String>> = logins("carol.diaz")
        .into_iter()
        .filter(|e| e["outcome"] == "failure")
        .collect();
    assert_eq!(failed.len(), 12);
    assert!(failed
        .iter()
        .all(|e| e["src_country"] == "NL" && e["mfa"] == "false"));
    let first = &failed[0]["ts"];
    let last = &failed[11]["ts"];
    assert!(first.as_str() >= "2026-11-09T18:10" && last.as_str() < "2026-11-09T18:25");
    // A sign-in from an unexpected country.
    let farid = logins("farid.haddad");
    assert_eq!(farid.len(), 1);
    assert_eq!(farid[0]["src_country"], "BR");
    // Membership changes name their first target.
    let add = ev
        .iter()
        .find(|e| e["action"] == "group.user_membership.add")
        .unwrap();
    assert_eq!(add["target_id"], "00g8d2k3mPayRel01d7");
    assert!(add.get("mfa").is_none());
    // ALLOW is a success.
    assert!(ev
        .iter()
        .any(|e| e["action"] == "policy.evaluate_sign_on" && e["outcome"] == "success"));
}

/// A sign-in and the verify event of its session, each in its own file of the source.
#[test]
fn a_factor_in_another_file_of_the_source_counts() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a/page1.json",
        r#"[{"uuid":"v1","published":"2026-11-02T01:00:00.000Z","eventType":"user.authentication.verify",
             "actor":{"alternateId":"ann@example-pay.com"},"outcome":{"result":"SUCCESS"},
             "authenticationContext":{"externalSessionId":"idxS1"}},
            {"uuid":"v2","published":"2026-11-02T01:00:00.000Z","eventType":"user.authentication.auth_via_mfa",
             "actor":{"alternateId":"ben@example-pay.com"},"outcome":{"result":"FAILURE"},
             "authenticationContext":{"externalSessionId":"idxS2"}},
            {"uuid":"v3","published":"2026-11-02T01:00:00.000Z","eventType":"user.authentication.verify",
             "actor":{"alternateId":"cat@example-pay.com"},"outcome":{"result":"SUCCESS"},
             "authenticationContext":{"externalSessionId":"unknown"}}]"#,
    );
    write(
        dir.path(),
        "b/page2.json",
        r#"[{"uuid":"s1","published":"2026-11-02T01:00:05.000Z","eventType":"user.session.start",
             "actor":{"alternateId":"ann@example-pay.com"},"outcome":{"result":"SUCCESS"},
             "authenticationContext":{"externalSessionId":"idxS1"}},
            {"uuid":"s2","published":"2026-11-02T01:00:05.000Z","eventType":"user.session.start",
             "actor":{"alternateId":"ben@example-pay.com"},"outcome":{"result":"SUCCESS"},
             "authenticationContext":{"externalSessionId":"idxS2"}},
            {"uuid":"s3","published":"2026-11-02T01:00:05.000Z","eventType":"user.session.start",
             "actor":{"alternateId":"cat@example-pay.com"},"outcome":{"result":"SUCCESS"},
             "authenticationContext":{"externalSessionId":"unknown"}},
            {"uuid":"s4","published":"2026-11-02T01:00:05.000Z","eventType":"user.session.start",
             "actor":{"alternateId":"dee@example-pay.com"},"outcome":{"result":"SUCCESS"}}]"#,
    );
    let m = map(KIND, dir.path(), "okta", None).unwrap();
    assert_accounted(&m, 7);
    let mfa: Vec<(String, Option<String>)> = events(&m)
        .iter()
        .map(|e| (e["event_id"].clone(), e.get("mfa").cloned()))
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        mfa,
        vec![
            ("v1".into(), None),
            ("v2".into(), None),
            ("v3".into(), None),
            // verified in the other file
            ("s1".into(), s("true")),
            // the factor failed
            ("s2".into(), s("false")),
            // `unknown` is no session
            ("s3".into(), s("false")),
            // no session at all
            ("s4".into(), s("false")),
        ]
    );
}

#[test]
fn outcomes_in_any_case_and_results_that_are_no_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let rec = |id: &str, result: &str| {
        format!(
            r#"{{"uuid":"{id}","published":"2026-11-03T00:00:00Z","eventType":"user.session.start","actor":{{"alternateId":"ann@example-pay.com"}},"outcome":{{"result":{result}}}}}"#
        )
    };
    let lines = [
        rec("1", r#""success""#),
        rec("2", r#""Allow""#),
        rec("3", r#""failure""#),
        rec("4", r#""DENY""#),
        rec("5", r#""CHALLENGE""#),
        rec("6", r#""SKIPPED""#),
        rec("7", r#""UNKNOWN""#),
        rec("8", "null"),
        rec("9", r#""null""#),
    ];
    write(dir.path(), "siem.ndjson", &lines.join("\n"));
    let m = map(KIND, dir.path(), "okta", None).unwrap();
    assert_accounted(&m, 9);
    assert_eq!(m.skipped, vec!["not an outcome"; 3]);
    let outcomes: Vec<(String, Option<String>)> = events(&m)
        .iter()
        .map(|e| (e["event_id"].clone(), e.get("outcome").cloned()))
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        outcomes,
        vec![
            ("1".into(), s("success")),
            ("2".into(), s("success")),
            ("3".into(), s("failure")),
            ("4".into(), s("failure")),
            // no result: offered without an outcome, for the loader to quarantine
            ("8".into(), None),
            ("9".into(), None),
        ]
    );
}

/// What real exports do: `"null"` strings, JSON text inside JSON, no actor, 7 digits and
/// offsets, numbers as strings, a country Okta names as no ISO list does, a CIDR file for
/// records without a country, event hook bodies, gzip.
#[test]
fn quirks_of_real_exports() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "hook.json",
        r#"{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1",
            "source":"https://example-pay.okta.com/api/v1/eventHooks/who8a9","eventId":"b7e4",
            "data":{"events":[
              {"uuid":"h1","published":"2026-11-04T09:15:01.1234567+08:00","eventType":"user.lifecycle.create",
               "actor":"{\"id\":\"00u1\",\"alternateId\":\"ann@example-pay.com\",\"type\":\"User\"}",
               "client":{"ipAddress":"null","zone":"null","geographicalContext":{"country":"null"}},
               "outcome":{"result":"SUCCESS","reason":null},
               "target":[{"id":12345,"type":"User"},{"id":"00u9","type":"User"}]},
              {"uuid":"h2","published":"2026-11-04T01:15:02Z","eventType":"system.org.rate_limit.violation",
               "actor":null,"client":{"ipAddress":"2001:db8::7","geographicalContext":{"country":"Russia"}},
               "outcome":{"result":"FAILURE"},"target":[]},
              {"uuid":"h3","published":"1/9/2007 9:41:00 AM","eventType":"user.session.start",
               "actor":{"alternateId":""},"client":{"ipAddress":"192.0.2.9"},
               "outcome":{"result":"SUCCESS"}}
            ]},"contentType":"application/json"}"#,
    );
    let gz = dir.path().join("older.json.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(
        br#"[{"uuid":"g1","published":"2026-11-01T00:00:00.000Z","eventType":"user.session.end","actor":{"alternateId":"ann@example-pay.com"},"outcome":{"result":"SUCCESS"},"client":{"ipAddress":"198.51.100.4","geographicalContext":{"country":"Korea, Republic of"}}}]"#,
    )
    .unwrap();
    enc.finish().unwrap();
    let cidr = dir.path().join("_networks.csv");
    std::fs::write(&cidr, "network,country\n192.0.2.0/24,SG\n").unwrap();
    let m = map(KIND, dir.path(), "okta", Some(&cidr)).unwrap();
    assert_accounted(&m, 4);
    assert!(m.bad.is_empty() && m.skipped.is_empty(), "{m:#?}");
    assert_eq!(
        events(&m),
        vec![
            row(&[
                ("event_id", "h1"),
                ("ts", "2026-11-04T09:15:01.1234567+08:00"),
                ("system_id", "okta"),
                ("account_id", "ann@example-pay.com"),
                ("action", "user.lifecycle.create"),
                ("outcome", "success"),
                ("target_id", "12345"),
            ]),
            // no actor: offered without an account, for the loader to quarantine; a country
            // name that is no ISO 3166-1 name is null
            row(&[
                ("event_id", "h2"),
                ("ts", "2026-11-04T01:15:02Z"),
                ("system_id", "okta"),
                ("action", "system.org.rate_limit.violation"),
                ("outcome", "failure"),
                ("src_ip", "2001:db8::7"),
            ]),
            // the timestamp passes as written (the loader refuses it); no country in the
            // record: the CIDR file's
            row(&[
                ("event_id", "h3"),
                ("ts", "1/9/2007 9:41:00 AM"),
                ("system_id", "okta"),
                ("action", "login"),
                ("outcome", "success"),
                ("mfa", "false"),
                ("src_ip", "192.0.2.9"),
                ("src_country", "SG"),
            ]),
            row(&[
                ("event_id", "g1"),
                ("ts", "2026-11-01T00:00:00.000Z"),
                ("system_id", "okta"),
                ("account_id", "ann@example-pay.com"),
                ("action", "user.session.end"),
                ("outcome", "success"),
                ("src_ip", "198.51.100.4"),
                ("src_country", "KR"),
            ]),
        ]
    );
}
