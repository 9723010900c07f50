//! `cloudtrail`: the shared real samples, exports written here in the formats AWS delivers
//! (S3 `{"Records":[…]}` gzip'd, NDJSON, digest files), and the demo trail.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use permaudit::source::Table;
use serde_json::{json, Value};

use super::{accounts, demo, map, row, samples};

fn gzip(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(path).expect("create"),
        flate2::Compression::default(),
    );
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip");
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

fn countries(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("ip_country.csv");
    write(
        &p,
        "network,country\n\
         127.0.0.0/8,NZ\n\
         203.0.113.0/24,HK\n\
         203.0.113.128/25,SG\n\
         2001:db8::/32,GB\n\
         2001:db8:1::/48,DE\n",
    );
    p
}

#[test]
fn shared_samples() {
    let tmp = tempfile::tempdir().expect("tmp");
    let m = map(
        "cloudtrail",
        &samples("cloudtrail"),
        "aws-{account}",
        Some(&countries(tmp.path())),
    )
    .expect("mapped");
    accounts(&m, 3, 3, 0, 0);
    assert_eq!(
        m.table(Table::AuditEvents),
        vec![
            // No eventID (a 2014 record): the file's name and the record's index.
            row(&[
                ("event_id", "beats-create-user-json.log#0"),
                ("ts", "2014-03-24T21:11:59Z"),
                ("system_id", "aws-123456789012"),
                ("account_id", "Alice"),
                ("action", "iam:CreateUser"),
                ("outcome", "success"),
                ("target_id", "Bob"),
                ("src_ip", "127.0.0.1"),
                ("src_country", "NZ"),
            ]),
            row(&[
                ("event_id", "b89eb34b-8fcb-4cba-8439-d4EXAMPLE"),
                ("ts", "2020-01-03T15:50:52Z"),
                ("system_id", "aws-123456789012"),
                ("account_id", "Alice"),
                ("action", "iam:DeleteUser"),
                ("outcome", "success"),
                ("target_id", "Bob"),
                ("mfa", "true"),
                ("src_ip", "127.0.0.1"),
                ("src_country", "NZ"),
            ]),
            // An assumed role is named by its session; the service name where the address
            // would be is no address; `responseElements: ""` is no answer.
            row(&[
                ("event_id", "1f28a3f1-106d-4f56-b4ab-a4a18697d7d8"),
                ("ts", "2025-07-18T15:02:39Z"),
                ("system_id", "aws-112233445566"),
                ("account_id", "scheduler"),
                ("action", "elasticloadbalancing:DescribeTargetHealth"),
                ("outcome", "success"),
                ("mfa", "false"),
            ]),
        ]
    );
}

fn console_login(id: &str, user: Value, answer: Value, mfa: Value, ip: &str) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": user,
        "eventTime": "2026-11-20T01:12:09Z",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "ap-east-1",
        "sourceIPAddress": ip,
        "requestParameters": null,
        "responseElements": answer,
        "additionalEventData": {"MobileVersion": "No", "MFAUsed": mfa},
        "eventID": id,
        "eventType": "AwsConsoleSignIn",
        "recipientAccountId": "111122223333"
    })
}

#[test]
fn s3_delivery_gzip_with_digest() {
    let tmp = tempfile::tempdir().expect("tmp");
    let trail = tmp.path().join("AWSLogs/111122223333");
    let alice = json!({"type": "IAMUser", "principalId": "AIDAEXAMPLE1",
        "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333",
        "userName": "alice"});
    let records = json!({"Records": [
        console_login("e1", alice.clone(), json!({"ConsoleLogin": "Success"}), json!("No"),
            "203.0.113.10"),
        console_login("e2", alice.clone(), json!({"ConsoleLogin": "Failure"}), json!("Yes"),
            "203.0.113.200"),
        // The root user has no userName; its ARN has no `/`.
        console_login("e3", json!({"type": "Root", "principalId": "111122223333",
            "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333",
            "accessKeyId": ""}), json!({"ConsoleLogin": "Success"}), json!("Yes"),
            "2001:db8:1::7"),
        // No answer and no MFA field: not a success, MFA unknown.
        console_login("e4", alice.clone(), json!(""), json!(null), "2001:db8:2::7"),
        {
            "eventVersion": "1.09",
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:ci-runner",
                "arn": "arn:aws:sts::111122223333:assumed-role/ci-deploy/ci-runner",
                "accountId": "111122223333",
                "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}},
            "eventTime": "2026-11-20T03:05:40Z",
            "eventSource": "iam.amazonaws.com",
            "eventName": "AttachRolePolicy",
            "sourceIPAddress": "AWS Internal",
            "requestParameters": {"roleName": "payouts-release", "userName": "null"},
            "responseElements": null,
            "errorCode": "AccessDenied",
            "errorMessage": "not authorized",
            "eventID": "e5",
            "recipientAccountId": 111122223333_u64
        },
        {
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE1",
                "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333",
                "userName": "alice",
                "sessionContext": {"attributes": {"mfaAuthenticated": true}}},
            "eventTime": "2026-11-20T03:10:00.123+08:00",
            "eventSource": "iam.amazonaws.com",
            "eventName": "AddUserToGroup",
            "sourceIPAddress": "203.0.113.10",
            "requestParameters": {"groupName": "payouts"},
            "errorCode": "",
            "eventID": "e6",
            "recipientAccountId": "111122223333"
        },
        // An object without eventTime is no event.
        {"eventVersion": "1.09", "eventID": "e7", "eventName": "Nothing"}
    ]});
    gzip(
        &trail.join(
            "CloudTrail/ap-east-1/2026/11/20/\
             111122223333_CloudTrail_ap-east-1_20261120T0000Z_abc123.json.gz",
        ),
        records.to_string().as_bytes(),
    );
    // A digest holds no events; even a record-like object in it is skipped.
    gzip(
        &trail.join(
            "CloudTrail-Digest/ap-east-1/2026/11/20/111122223333_CloudTrail-Digest_\
             ap-east-1_trail_ap-east-1_20261120T040000Z.json.gz",
        ),
        json!({"awsAccountId": "111122223333", "digestStartTime": "2026-11-20T00:00:00Z",
            "digestEndTime": "2026-11-20T04:00:00Z", "eventTime": "2026-11-20T04:00:00Z",
            "logFiles": []})
        .to_string()
        .as_bytes(),
    );
    let m = map(
        "cloudtrail",
        &tmp.path().join("AWSLogs"),
        "aws-{account}",
        Some(&countries(tmp.path())),
    )
    .expect("mapped");
    accounts(&m, 8, 6, 2, 0);
    assert_eq!(m.skipped, vec!["not an event", "not an event"]);
    let base = [
        ("ts", "2026-11-20T01:12:09Z"),
        ("system_id", "aws-111122223333"),
        ("action", "login"),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut r = row(&base);
        r.extend(row(extra));
        r
    };
    assert_eq!(
        m.table(Table::AuditEvents),
        vec![
            with(&[
                ("event_id", "e1"),
                ("account_id", "alice"),
                ("outcome", "success"),
                ("mfa", "false"),
                ("src_ip", "203.0.113.10"),
                ("src_country", "HK"),
            ]),
            // The most specific network wins.
            with(&[
                ("event_id", "e2"),
                ("account_id", "alice"),
                ("outcome", "failure"),
                ("mfa", "true"),
                ("src_ip", "203.0.113.200"),
                ("src_country", "SG"),
            ]),
            with(&[
                ("event_id", "e3"),
                ("account_id", "root"),
                ("outcome", "success"),
                ("mfa", "true"),
                ("src_ip", "2001:db8:1::7"),
                ("src_country", "DE"),
            ]),
            with(&[
                ("event_id", "e4"),
                ("account_id", "alice"),
                ("outcome", "failure"),
                ("src_ip", "2001:db8:2::7"),
                ("src_country", "GB"),
            ]),
            // A number where the account id is a string; `"null"` is absent.
            row(&[
                ("event_id", "e5"),
                ("ts", "2026-11-20T03:05:40Z"),
                ("system_id", "aws-111122223333"),
                ("account_id", "ci-runner"),
                ("action", "iam:AttachRolePolicy"),
                ("outcome", "failure"),
                ("target_id", "payouts-release"),
                ("mfa", "false"),
            ]),
            // The offset is the loader's to normalise; an empty errorCode is no error.
            row(&[
                ("event_id", "e6"),
                ("ts", "2026-11-20T03:10:00.123+08:00"),
                ("system_id", "aws-111122223333"),
                ("account_id", "alice"),
                ("action", "iam:AddUserToGroup"),
                ("outcome", "success"),
                ("target_id", "payouts"),
                ("mfa", "true"),
                ("src_ip", "203.0.113.10"),
                ("src_country", "HK"),
            ]),
        ]
    );
}

#[test]
fn ndjson_export_without_event_ids() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = [
        json!({"eventTime": "2013-10-01T09:00:00Z", "eventSource": "iam.amazonaws.com",
            "eventName": "CreateGroup",
            "userIdentity": {"type": "IAMUser", "accountId": "111122223333",
                "principalId": "AIDAEXAMPLE2", "arn": "arn:aws:iam::111122223333:user/ops/bob"},
            "sourceIPAddress": "iam.amazonaws.com",
            "requestParameters": {"groupName": "ops"}}),
        // No actor at all: the loader quarantines the row for its missing account_id.
        json!({"eventTime": "2013-10-01T09:01:00Z", "eventSource": "sts.amazonaws.com",
            "eventName": "AssumeRole", "sourceIPAddress": "198.51.100.1",
            "recipientAccountId": "111122223333"}),
        json!({"eventTime": "2013-10-01T09:02:00Z", "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin", "recipientAccountId": "111122223333",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE3"},
            "responseElements": {"ConsoleLogin": "Failure"},
            "additionalEventData": {"UserName": "carol", "MFAUsed": "No"}}),
        json!({"eventVersion": "1.07", "eventTime": "2013-10-01T10:00:00Z",
            "eventID": "i1", "eventType": "AwsCloudTrailInsight", "eventCategory": "Insight",
            "recipientAccountId": "111122223333",
            "insightDetails": {"state": "Start", "eventSource": "iam.amazonaws.com",
                "eventName": "CreateUser", "insightType": "ApiCallRateInsight"}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    write(&tmp.path().join("export/trail.ndjson"), &text);
    let m = map("cloudtrail", &tmp.path().join("export"), "aws", None).expect("mapped");
    accounts(&m, 4, 3, 1, 0);
    assert_eq!(m.skipped, vec!["not an event"]);
    assert_eq!(
        m.table(Table::AuditEvents),
        vec![
            row(&[
                ("event_id", "trail.ndjson#0"),
                ("ts", "2013-10-01T09:00:00Z"),
                ("system_id", "aws"),
                ("account_id", "bob"),
                ("action", "iam:CreateGroup"),
                ("outcome", "success"),
                ("target_id", "ops"),
            ]),
            row(&[
                ("event_id", "trail.ndjson#1"),
                ("ts", "2013-10-01T09:01:00Z"),
                ("system_id", "aws"),
                ("action", "sts:AssumeRole"),
                ("outcome", "success"),
                ("src_ip", "198.51.100.1"),
            ]),
            row(&[
                ("event_id", "trail.ndjson#2"),
                ("ts", "2013-10-01T09:02:00Z"),
                ("system_id", "aws"),
                ("account_id", "AIDAEXAMPLE3"),
                ("action", "login"),
                ("outcome", "failure"),
                ("mfa", "false"),
            ]),
        ]
    );
}

#[test]
fn account_template_without_an_account_is_bad() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(
        &tmp.path().join("t.json"),
        &json!({"Records": [{"eventTime": "2026-11-20T01:00:00Z",
            "eventSource": "iam.amazonaws.com", "eventName": "ListUsers",
            "userIdentity": {"type": "IAMUser", "userName": "alice"}}]})
        .to_string(),
    );
    let m = map("cloudtrail", tmp.path(), "aws-{account}", None).expect("mapped");
    accounts(&m, 1, 0, 0, 1);
    assert_eq!(m.bad[0].0, Table::AuditEvents);
    assert!(m.bad[0].3.contains("no account id"), "{:?}", m.bad[0]);
    assert!(m.bad[0].4.contains("ListUsers"));
}

#[test]
fn demo_trail() {
    let m = map(
        "cloudtrail",
        &demo("cloudtrail"),
        "aws-{account}",
        Some(&demo("ip_country.csv")),
    )
    .expect("mapped");
    accounts(&m, 11, 10, 1, 0);
    assert_eq!(m.skipped, vec!["not an event"]);
    let rows = m.table(Table::AuditEvents);
    let get = |r: &BTreeMap<String, String>, k: &str| r.get(k).cloned().unwrap_or_default();
    for r in &rows {
        assert!(get(r, "ts").starts_with("2026-11-"), "{r:?}");
        assert_eq!(get(r, "system_id"), "aws-111122223333");
        assert!(!get(r, "account_id").is_empty(), "{r:?}");
    }
    assert_eq!(
        rows[0],
        row(&[
            ("event_id", "3f6a1c52-7d0e-4b8e-9a41-0c1d2e3f4a51"),
            ("ts", "2026-11-19T23:51:09Z"),
            ("system_id", "aws-111122223333"),
            ("account_id", "ops-admin"),
            ("action", "login"),
            ("outcome", "success"),
            ("mfa", "false"),
            ("src_ip", "203.0.113.10"),
            ("src_country", "HK"),
        ])
    );
    let actions: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (get(r, "account_id"), get(r, "action"), get(r, "outcome")))
        .collect();
    let has = |a: &str, b: &str, c: &str| {
        actions.contains(&(a.to_string(), b.to_string(), c.to_string()))
    };
    assert!(has("ops-admin", "iam:CreateUser", "success"));
    assert!(has("ops-admin", "iam:AttachUserPolicy", "success"));
    assert!(has(
        "alice.chan@example-pay.com",
        "iam:AttachRolePolicy",
        "success"
    ));
    assert!(has("ci-runner", "iam:CreateUser", "failure"));
    assert!(has("j.doe", "login", "failure"));
    assert!(has("root", "login", "success"));
}
