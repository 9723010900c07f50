//! `ocsf`: the shared real samples (classes it does not map), NDJSON written here, a
//! Parquet file laid out as Amazon Security Lake writes it, and the demo export.

use std::path::Path;

use permaudit::source::Table;
use polars::prelude::*;
use serde_json::json;

use super::{accounts, demo, map, row, samples};

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

#[test]
fn shared_samples_are_other_classes() {
    let m = map("ocsf", &samples("ocsf"), "ocsf", None).expect("mapped");
    // Account Change (3001, twice) and Group Management (3006).
    accounts(&m, 3, 0, 3, 0);
    assert_eq!(m.skipped, vec!["class not mapped"; 3]);
}

#[test]
fn ndjson_authentication_and_api_activity() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = [
        // Logon, time in milliseconds, a country code.
        json!({"class_uid": 3002, "activity_id": 1, "activity_name": "Logon",
            "metadata": {"uid": "a1", "version": "1.1.0"}, "time": 1_795_690_800_123_i64,
            "status_id": 1, "user": {"name": "m.tan@example-pay.com", "uid": "00u1"},
            "actor": {"user": {"name": "someone-else"}},
            "src_endpoint": {"ip": "198.51.100.23", "location": {"country": "SG"}},
            "is_mfa": true}),
        // Logoff, time in seconds written as a string, a country name, status as a string.
        json!({"class_uid": "3002", "activity_id": 2, "activity_name": "Logoff",
            "metadata": {"uid": "a2", "version": "1.0.0-rc.2"}, "time": "1795690800",
            "status_id": "2", "user": {"name": "null", "uid": "00u2"},
            "src_endpoint": {"ip": "2001:db8::9", "location": {"country": "Viet Nam"}},
            "actor": {"session": {"is_mfa": "false"}}}),
        // No `time`: `time_dt`; the actor's name when no user; an unknown country.
        json!({"class_uid": 3002, "activity_id": 99, "activity_name": "Other",
            "metadata": {"uid": "a3", "version": "1.5.0"}, "time_dt": "2026-11-26T11:00:00.5+08:00",
            "status_id": 1, "actor": {"user": {"uid": "00u3"}, "session": {"mfa": true}},
            "src_endpoint": {"ip": "host.example", "location": {"country": "Atlantis"}}}),
        // API Activity: service and operation, the user acted upon as target.
        json!({"class_uid": 6003, "activity_id": 1, "metadata": {"uid": "a4", "version": "1.1.0"},
            "time": 1_795_694_400_000_i64, "status_id": 1,
            "api": {"operation": "AttachUserPolicy", "service": {"name": "iam.amazonaws.com"}},
            "actor": {"user": {"name": "alice.chan@example-pay.com", "uid": "AROA:alice"},
                "session": {"is_mfa": true}},
            "user": {"uid": "payout-bot", "name": "Payout Bot"},
            "cloud": {"account": {"uid": "111122223333"}},
            "src_endpoint": {"ip": "203.0.113.10"}}),
        // API Activity without an actor or a service: no account (the loader quarantines).
        json!({"class_uid": 6003, "metadata": {"uid": "a5"}, "time": 1_795_694_500_000_i64,
            "status_id": 2, "api": {"operation": "ListUsers"},
            "cloud": {"account": {"uid": "111122223333"}}}),
        // Status Unknown / Other: skipped.
        json!({"class_uid": 6003, "metadata": {"uid": "a6"}, "time": 1_795_694_600_000_i64,
            "status_id": 0, "api": {"operation": "ListUsers"}}),
        json!({"class_uid": 3002, "metadata": {"uid": "a7"}, "time": 1_795_694_600_000_i64,
            "status_id": 99, "activity_id": 1}),
        // No class_uid, but type_uid says Account Change.
        json!({"type_uid": 300101, "metadata": {"uid": "a8"}, "status_id": 1}),
        // No class_uid, but type_uid says Authentication: Logon.
        json!({"type_uid": 300201, "metadata": {"uid": "a9"}, "status_id": 1,
            "activity_id": 1, "time": 1_795_694_700_000_i64, "user": {"uid": "00u9"}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    write(&tmp.path().join("events/events.ocsf.json"), &text);
    let csv = tmp.path().join("ip_country.csv");
    write(
        &csv,
        "network,country\n203.0.113.0/24,HK\n2001:db8::/32,GB\n",
    );
    let m = map("ocsf", &tmp.path().join("events"), "idp", Some(&csv)).expect("mapped");
    accounts(&m, 9, 6, 3, 0);
    assert_eq!(
        m.skipped,
        vec!["no status", "no status", "class not mapped"]
    );
    assert_eq!(
        m.table(Table::AuditEvents),
        vec![
            // `user` (who authenticated) before `actor`.
            row(&[
                ("event_id", "a1"),
                ("ts", "2026-11-26T11:00:00.123000Z"),
                ("system_id", "idp"),
                ("account_id", "m.tan@example-pay.com"),
                ("action", "login"),
                ("outcome", "success"),
                ("mfa", "true"),
                ("src_ip", "198.51.100.23"),
                ("src_country", "SG"),
            ]),
            row(&[
                ("event_id", "a2"),
                ("ts", "2026-11-26T11:00:00.000000Z"),
                ("system_id", "idp"),
                ("account_id", "00u2"),
                ("action", "auth:logoff"),
                ("outcome", "failure"),
                ("mfa", "false"),
                ("src_ip", "2001:db8::9"),
                ("src_country", "VN"),
            ]),
            // A country that is there but no country stays null (not taken from the IP).
            row(&[
                ("event_id", "a3"),
                ("ts", "2026-11-26T11:00:00.5+08:00"),
                ("system_id", "idp"),
                ("account_id", "00u3"),
                ("action", "auth:other"),
                ("outcome", "success"),
                ("mfa", "true"),
            ]),
            // No location: the country from ip_country_file.
            row(&[
                ("event_id", "a4"),
                ("ts", "2026-11-26T12:00:00.000000Z"),
                ("system_id", "idp"),
                ("account_id", "alice.chan@example-pay.com"),
                ("action", "iam.amazonaws.com:AttachUserPolicy"),
                ("outcome", "success"),
                ("target_id", "payout-bot"),
                ("mfa", "true"),
                ("src_ip", "203.0.113.10"),
                ("src_country", "HK"),
            ]),
            row(&[
                ("event_id", "a5"),
                ("ts", "2026-11-26T12:01:40.000000Z"),
                ("system_id", "idp"),
                ("action", "ListUsers"),
                ("outcome", "failure"),
            ]),
            row(&[
                ("event_id", "a9"),
                ("ts", "2026-11-26T12:05:00.000000Z"),
                ("system_id", "idp"),
                ("account_id", "00u9"),
                ("action", "login"),
                ("outcome", "success"),
            ]),
        ]
    );
}

#[test]
fn system_id_placeholders() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = [
        json!({"class_uid": 6003, "metadata": {"uid": "b1", "tenant_uid": "t-1"},
            "time": 1_795_694_400_000_i64, "status_id": 1, "api": {"operation": "Get"},
            "cloud": {"account": {"uid": 111122223333_i64}, "org": {"uid": "o-1"}}}),
        json!({"class_uid": 3002, "activity_id": 1, "metadata": {"uid": "b2"},
            "time": 1_795_694_400_000_i64, "status_id": 1, "user": {"name": "x"},
            "cloud": {"org": {"uid": "o-2"}}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    write(&tmp.path().join("e.ndjson"), &text);
    let m = map("ocsf", tmp.path(), "{tenant}/{account}", None).expect("mapped");
    accounts(&m, 2, 1, 0, 1);
    assert_eq!(
        m.table(Table::AuditEvents)[0]
            .get("system_id")
            .map(String::as_str),
        Some("t-1/111122223333")
    );
    assert!(m.bad[0].3.contains("no account id"), "{:?}", m.bad[0]);
    let m = map("ocsf", tmp.path(), "entra-{tenant}", None).expect("mapped");
    accounts(&m, 2, 2, 0, 0);
    let systems: Vec<_> = m
        .table(Table::AuditEvents)
        .iter()
        .filter_map(|r| r.get("system_id").cloned())
        .collect();
    assert_eq!(systems, vec!["entra-t-1", "entra-o-2"]);
}

fn strs(name: &str, v: &[Option<&str>]) -> Column {
    Column::new(name.into(), v)
}

/// Security Lake's layout: nested structs, `time` as Int64 milliseconds.
#[test]
fn security_lake_parquet() {
    let tmp = tempfile::tempdir().expect("tmp");
    let n = 3;
    let metadata = StructChunked::from_columns(
        "metadata".into(),
        n,
        &[
            strs("uid", &[Some("p1"), Some("p2"), Some("p3")]),
            strs("version", &[Some("1.1.0"); 3]),
        ],
    )
    .expect("struct");
    let user = StructChunked::from_columns(
        "user".into(),
        n,
        &[
            strs("name", &[Some("ops-admin"), None, Some("null")]),
            strs("uid", &[Some("AIDA1"), Some("AROA:ci-runner"), None]),
        ],
    )
    .expect("struct");
    let actor =
        StructChunked::from_columns("actor".into(), n, &[user.into_column()]).expect("struct");
    let src = StructChunked::from_columns(
        "src_endpoint".into(),
        n,
        &[strs(
            "ip",
            &[Some("203.0.113.10"), Some("ecs.amazonaws.com"), None],
        )],
    )
    .expect("struct");
    let mut df = DataFrame::new_infer_height(vec![
        metadata.into_column(),
        Column::new(
            "time".into(),
            &[1_795_680_000_000_i64, 1_795_680_060_000, 1_795_680_120_000],
        ),
        Column::new("class_uid".into(), &[3002_i32, 6003, 3001]),
        Column::new("activity_id".into(), &[1_i32, 1, 1]),
        Column::new("status_id".into(), &[1_i32, 2, 1]),
        actor.into_column(),
        src.into_column(),
    ])
    .expect("frame");
    let path = tmp
        .path()
        .join("region=ap-east-1/accountid=111122223333/part-0.parquet");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    ParquetWriter::new(std::fs::File::create(&path).expect("create"))
        .finish(&mut df)
        .expect("parquet");
    let m = map("ocsf", tmp.path(), "lake", None).expect("mapped");
    accounts(&m, 3, 2, 1, 0);
    assert_eq!(m.skipped, vec!["class not mapped"]);
    assert_eq!(
        m.table(Table::AuditEvents),
        vec![
            row(&[
                ("event_id", "p1"),
                ("ts", "2026-11-26T08:00:00.000000Z"),
                ("system_id", "lake"),
                ("account_id", "ops-admin"),
                ("action", "login"),
                ("outcome", "success"),
                ("src_ip", "203.0.113.10"),
            ]),
            // No `api`: no action (the loader quarantines); a host name is no address.
            row(&[
                ("event_id", "p2"),
                ("ts", "2026-11-26T08:01:00.000000Z"),
                ("system_id", "lake"),
                ("account_id", "AROA:ci-runner"),
                ("outcome", "failure"),
            ]),
        ]
    );
}

#[test]
fn demo_export() {
    let m = map(
        "ocsf",
        &demo("ocsf"),
        "aws-{account}",
        Some(&demo("ip_country.csv")),
    )
    .expect("mapped");
    // The 3002 events come from the identity provider, which has no AWS account.
    accounts(&m, 7, 2, 2, 3);
    assert_eq!(m.skipped, vec!["no status", "class not mapped"]);
    let m = map("ocsf", &demo("ocsf"), "okta", Some(&demo("ip_country.csv"))).expect("mapped");
    accounts(&m, 7, 5, 2, 0);
    let rows = m.table(Table::AuditEvents);
    assert_eq!(
        rows[1],
        row(&[
            ("event_id", "a1e0c7f2-1b2c-4d3e-8f40-000000000002"),
            ("ts", "2026-11-26T12:00:00.000000Z"),
            ("system_id", "okta"),
            ("account_id", "ops-admin@example-pay.com"),
            ("action", "login"),
            ("outcome", "failure"),
            ("mfa", "false"),
            ("src_ip", "203.0.113.10"),
            ("src_country", "HK"),
        ])
    );
    assert_eq!(
        rows.iter()
            .map(|r| r.get("action").cloned().unwrap_or_default())
            .collect::<Vec<_>>(),
        vec![
            "login",
            "login",
            "auth:logoff",
            "iam.amazonaws.com:AttachUserPolicy",
            "iam.amazonaws.com:CreateUser"
        ]
    );
}

/// `time` as a Parquet timestamp (UTC, or naive, which Parquet means as UTC) rather than
/// Int64: the container writes it as RFC 3339 text with an offset, which passes through.
#[test]
fn parquet_timestamp_column() {
    for zone in [Some(TimeZone::UTC), None] {
        let tmp = tempfile::tempdir().expect("tmp");
        let time = Column::new("time".into(), &[1_795_680_000_123_i64])
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, zone.clone()))
            .expect("cast");
        let mut df = DataFrame::new_infer_height(vec![
            time,
            Column::new("class_uid".into(), &[3002_i32]),
            Column::new("activity_id".into(), &[1_i32]),
            Column::new("status_id".into(), &[1_i32]),
        ])
        .expect("frame");
        let path = tmp.path().join("part-0.parquet");
        ParquetWriter::new(std::fs::File::create(&path).expect("create"))
            .finish(&mut df)
            .expect("parquet");
        let m = map("ocsf", tmp.path(), "lake", None).expect("mapped");
        accounts(&m, 1, 1, 0, 0);
        assert_eq!(
            m.table(Table::AuditEvents)[0].get("ts").map(String::as_str),
            Some("2026-11-26T08:00:00.123+00:00"),
            "{zone:?}"
        );
    }
}
