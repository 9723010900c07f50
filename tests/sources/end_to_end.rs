//! Sources end to end: the demo run of `data/sources/` (rules firing from each kind of
//! export, accounting in the manifest, contract rows overriding source rows, incremental
//! equal to full), and `permaudit import` on the shared real samples, row for row.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use permaudit::manifest::Manifest;

use crate::common::{bin, copy_dir, files};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A copy of the demo (exports, contract tables, policy, configuration) in a temp dir.
fn demo_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sources");
    for e in std::fs::read_dir(&from).expect("demo") {
        let p = e.expect("entry").path();
        let name = p.file_name().expect("name").to_owned();
        if name == "out" {
            continue;
        }
        if p.is_dir() {
            copy_dir(&p, &dir.path().join(&name));
        } else {
            std::fs::copy(&p, dir.path().join(&name)).expect("copy");
        }
    }
    let cfg = dir.path().join("permaudit.toml");
    (dir, cfg)
}

fn run(cfg: &Path, out: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("run")
        .arg("--config")
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("run")
}

/// The findings of a run as rows of column -> value.
fn findings(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("findings.csv")).expect("findings.csv");
    let header = r.headers().expect("header").clone();
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            header
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn has(f: &[BTreeMap<String, String>], rule: &str, pairs: &[(&str, &str)]) -> bool {
    f.iter().any(|row| {
        row["rule"] == rule
            && pairs
                .iter()
                .all(|(k, v)| row.get(*k).map(String::as_str) == Some(*v))
    })
}

#[test]
fn the_demo_run_finds_what_each_export_shows_and_accounts_for_every_record() {
    let (dir, cfg) = demo_copy();
    let out = dir.path().join("out");
    let o = run(&cfg, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("quarantined=0"), "{stdout}");
    let day = out.join("2026-11-30");
    let f = findings(&day);
    // SCIM: a user in two groups an SoD rule calls conflicting.
    assert!(has(
        &f,
        "SOD_CONFLICT",
        &[("identity_id", "EP1001"), ("sod_rule_id", "SOD-001")]
    ));
    // Okta: twelve failed sign-ins within minutes.
    assert!(has(
        &f,
        "FAILED_LOGIN_BURST",
        &[
            ("system_id", "okta"),
            ("account_id", "carol.diaz@example-pay.com")
        ]
    ));
    // Okta writes country names: "Brazil" became BR, outside Hong Kong's list.
    assert!(has(
        &f,
        "LOGIN_FROM_UNEXPECTED_COUNTRY",
        &[("account_id", "farid.haddad@example-pay.com")]
    ));
    // CloudTrail: a console sign-in with MFAUsed "No" by an IAM user holding
    // AdministratorAccess (privileged by a contract row over the source's entitlement).
    assert!(has(
        &f,
        "PRIVILEGED_NO_MFA",
        &[
            ("system_id", "aws-111122223333"),
            ("account_id", "ops-admin")
        ]
    ));
    // CloudTrail: the root user signed in; a contract row makes root an emergency account.
    assert!(has(&f, "EMERGENCY_ACCOUNT_USED", &[("account_id", "root")]));
    // CloudTrail: CreateUser then AttachUserPolicy on the same user by one person.
    assert!(has(&f, "SOD_TRANSACTION", &[("identity_id", "EP1002")]));
    // Security Lake: activity of an account no directory knows.
    assert!(has(
        &f,
        "UNMANAGED_ACCOUNT_ACTIVITY",
        &[
            ("system_id", "lake"),
            ("account_id", "m.tan@example-pay.com")
        ]
    ));

    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(day.join("manifest.json")).expect("manifest"))
            .expect("manifest json");
    assert_eq!(manifest.sources.len(), 7);
    for s in &manifest.sources {
        let t = &s.total;
        assert_eq!(
            t.read,
            t.mapped + t.skipped_total() + t.quarantined,
            "{s:?}"
        );
        for file in &s.files {
            let t = &file.tally;
            assert_eq!(
                t.read,
                t.mapped + t.skipped_total() + t.quarantined,
                "{file:?}"
            );
            assert_eq!(file.sha256.len(), 64, "{file:?}");
        }
    }
    let by_kind: BTreeMap<&str, _> = manifest
        .sources
        .iter()
        .map(|s| (s.kind.as_str(), &s.total))
        .collect();
    // Contract rows win over the exports: SCIM's three groups (risk, owner, privileged),
    // and AWS's AdministratorAccess, ops-admin and alice.chan.
    assert_eq!(by_kind["scim"].overridden, 3);
    assert_eq!(by_kind["aws_iam_authorization_details"].overridden, 3);
    assert_eq!(
        by_kind["cloudtrail"].skipped.get("not an event"),
        Some(&1),
        "digest file"
    );
    assert_eq!(
        by_kind["entra_signin"].skipped.get("sign-in interrupt"),
        Some(&2)
    );
    assert_eq!(
        manifest.ip_country_file.as_ref().map(|f| f.path.as_str()),
        Some("ip_country.csv")
    );
    // The per-table identity of the contract still holds: overridden rows are not rows.
    for t in &manifest.tables {
        assert_eq!(t.rows_read, t.rows_loaded + t.rows_quarantined, "{t:?}");
    }
}

#[test]
fn the_demo_reruns_byte_identical_and_nightly_equals_full() {
    let (dir, cfg) = demo_copy();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let o = run(&cfg, out, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let day = |d: &Path| files(&d.join("2026-11-30"));
    assert_eq!(day(&a), day(&b), "two runs, two directories, same bytes");
    // Again in `a`, from its state (every digest reused, every table read back, those
    // the sources feed with their tallies), then --full in `b`.
    let o = run(&cfg, &a, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let log = stderr(&o);
    let read_back = log.lines().find(|l| l.contains("tables read back"));
    assert!(
        read_back.is_some_and(|l| l.contains("identities,accounts,entitlements")),
        "{log}"
    );
    let o = run(&cfg, &b, &["--full"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(a.join("2026-11-30/findings.csv")).expect("a"),
        std::fs::read(b.join("2026-11-30/findings.csv")).expect("b")
    );
    assert_eq!(
        std::fs::read(a.join("2026-11-30/manifest.json")).expect("a"),
        std::fs::read(b.join("2026-11-30/manifest.json")).expect("b")
    );
}

#[test]
fn a_verification_in_a_later_okta_export_changes_the_stored_login() {
    // Night 1: a sign-in whose second factor is not in the export yet.
    let (dir, cfg) = demo_copy();
    let okta = dir.path().join("okta");
    std::fs::remove_dir_all(&okta).expect("rm");
    std::fs::create_dir_all(&okta).expect("mkdir");
    let login = r#"[{"uuid":"e1","published":"2026-11-29T10:00:00.000Z","eventType":"user.session.start",
        "actor":{"alternateId":"bob.meyer@example-pay.com"},"outcome":{"result":"SUCCESS"},
        "authenticationContext":{"externalSessionId":"sess-1"},"client":{"ipAddress":"203.0.113.37"}}]"#;
    std::fs::write(okta.join("a.json"), login).expect("write");
    let out = dir.path().join("out");
    let o = run(&cfg, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let night1 = findings(&out.join("2026-11-30"));
    let bob = [("account_id", "bob.meyer@example-pay.com")];
    assert!(
        has(&night1, "PRIVILEGED_NO_MFA", &bob),
        "no factor seen yet"
    );
    // Night 2: the verification arrives in another file of the same source.
    let verify = r#"[{"uuid":"e2","published":"2026-11-29T10:00:05.000Z","eventType":"user.authentication.verify",
        "actor":{"alternateId":"bob.meyer@example-pay.com"},"outcome":{"result":"SUCCESS"},
        "authenticationContext":{"externalSessionId":"sess-1"}}]"#;
    std::fs::write(okta.join("b.json"), verify).expect("write");
    let o = run(&cfg, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let full = dir.path().join("full");
    let o = run(&cfg, &full, &["--full"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(out.join("2026-11-30/findings.csv")).expect("nightly"),
        std::fs::read(full.join("2026-11-30/findings.csv")).expect("full"),
        "the stored digest of a.json was not reused with the old mfa"
    );
    assert!(!has(
        &findings(&out.join("2026-11-30")),
        "PRIVILEGED_NO_MFA",
        &bob
    ));
}

fn samples(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/samples/sources")
        .join(sub)
}

/// `DIR/import.json`.
fn import_json(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("import.json")).expect("import.json"))
        .expect("json")
}

/// `permaudit import KIND PATH --system-id ID FLAGS... --out OUT`.
fn import(kind: &str, path: &Path, system_id: &str, flags: &[&str], out: &Path) -> Output {
    bin()
        .args(["import", kind])
        .arg(path)
        .args(["--system-id", system_id])
        .args(flags)
        .arg("--out")
        .arg(out)
        .output()
        .expect("import")
}

#[test]
fn import_of_the_real_cloudtrail_samples_is_the_mapping_row_for_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("ct");
    let s = samples("cloudtrail");
    let o = import(
        "cloudtrail",
        &s,
        "aws-{account}",
        &["--format", "csv"],
        &out,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(out.join("audit_events.csv")).expect("csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "event_id,ts,system_id,account_id,action,outcome,target_id,mfa,mfa_method,src_ip,src_country,seq,prev_hash,hash"
    );
    assert_eq!(lines.len(), 4, "{text}");
    // The old CreateUser record has no eventID: the file's name and the record's index
    // stand in. The console's DeleteUser was made with MFA; the ECS call's source is a host
    // name, so no address and no country.
    let by_id: BTreeMap<&str, &str> = lines[1..]
        .iter()
        .map(|l| (l.split(',').next().unwrap_or_default(), *l))
        .collect();
    let create = by_id["beats-create-user-json.log#0"];
    assert!(
        create.contains(",Alice,iam:CreateUser,success,Bob,"),
        "{create}"
    );
    let delete = by_id["b89eb34b-8fcb-4cba-8439-d4EXAMPLE"];
    assert!(
        delete.contains(",Alice,iam:DeleteUser,success,Bob,true,"),
        "{delete}"
    );
    let ecs = lines[1..]
        .iter()
        .find(|l| l.contains("DescribeTargetHealth"))
        .expect("the ECS call");
    assert!(ecs.ends_with(",success,,false,,,,,,"), "{ecs}");
    assert!(
        create.starts_with(
            "beats-create-user-json.log#0,2014-03-24T21:11:59.000000Z,aws-123456789012,"
        ),
        "{create}"
    );
    let report: serde_json::Value = import_json(&out);
    let src = &report["sources"][0];
    assert_eq!(src["read"], 3);
    assert_eq!(src["mapped"], 3);
    assert_eq!(src["quarantined"], 0);
    assert_eq!(src["files"].as_array().map(Vec::len), Some(3));
    assert_eq!(report["tables"][0]["rows"], 3);
}

#[test]
fn import_of_the_real_okta_entra_and_scim_samples_accounts_for_every_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (kind, sub, tables) in [
        ("okta_system_log", "okta", &["audit_events"][..]),
        ("entra_signin", "entra", &["audit_events"][..]),
        ("ocsf", "ocsf", &["audit_events"][..]),
        (
            "scim",
            "scim",
            &["identities", "accounts", "entitlements", "grants"][..],
        ),
    ] {
        let out = dir.path().join(kind);
        let s = samples(sub);
        let o = import(kind, &s, "sys", &[], &out);
        assert_eq!(o.status.code(), Some(0), "{kind}: {}", stderr(&o));
        let report: serde_json::Value = import_json(&out);
        let src = &report["sources"][0];
        let skipped: u64 = src["skipped"]
            .as_object()
            .map(|m| m.values().filter_map(|v| v.as_u64()).sum())
            .unwrap_or_default();
        let n = |k: &str| src[k].as_u64().unwrap_or(u64::MAX);
        assert_eq!(
            n("read"),
            n("mapped") + skipped + n("quarantined"),
            "{kind}: {src}"
        );
        for t in tables {
            let p = out.join(format!("{t}.parquet"));
            let df = permaudit::files::read_parquet(&p).expect("parquet");
            if *t == "audit_events" {
                // Contract types: a UTC timestamp column, not text.
                let ts = df.column("ts").expect("ts");
                assert!(
                    matches!(ts.dtype(), polars::prelude::DataType::Datetime(_, Some(_))),
                    "{kind}: {:?}",
                    ts.dtype()
                );
            }
        }
    }
    // The Okta samples: a lock-out (FAILURE) and a membership change, both mapped.
    let okta: serde_json::Value = import_json(&dir.path().join("okta_system_log"));
    assert_eq!(okta["sources"][0]["mapped"], 2);
    // SCIM: the list response's two users; the PatchOp is no resource.
    let scim: serde_json::Value = import_json(&dir.path().join("scim"));
    let rows: BTreeMap<&str, u64> = scim["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["table"].as_str()?, t["rows"].as_u64()?)))
        .collect();
    assert_eq!(rows["identities"], 2);
    assert_eq!(rows["accounts"], 2);
}

#[test]
fn import_with_strict_writes_nothing_when_a_record_is_quarantined() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("entra.json");
    // A sign-in whose date is not RFC 3339 (as some exports write it).
    std::fs::write(
        &f,
        r#"{"value":[{"id":"s1","createdDateTime":"1/9/2007 9:41:00 AM","userPrincipalName":"a@example.com",
           "status":{"errorCode":0},"isInteractive":true}]}"#,
    )
    .expect("write");
    let out = dir.path().join("out");
    let o = import("entra_signin", &f, "entra", &["--strict"], &out);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!out.join("audit_events.parquet").exists());
    let o = import("entra_signin", &f, "entra", &["--format", "csv"], &out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let q = std::fs::read_to_string(out.join("quarantine.csv")).expect("quarantine");
    assert!(
        q.contains("audit_events")
            && q.contains("bad timestamp in column ts")
            && q.contains("1/9/2007"),
        "{q}"
    );
}

#[test]
fn repeated_ids_and_records_that_are_no_object_are_quarantined_with_the_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    // CloudTrail replays a record (the same eventID twice in one file) and a stray number.
    let f = dir.path().join("trail.json");
    std::fs::write(
        &f,
        r#"{"Records":[
  {"eventID":"e1","eventTime":"2026-11-20T01:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","userName":"ops-admin"}},
  {"eventID":"e1","eventTime":"2026-11-20T01:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","userName":"ops-admin"}},
  42
]}"#,
    )
    .expect("write");
    let out = dir.path().join("ct");
    let o = import(
        "cloudtrail",
        &f,
        "aws-{account}",
        &["--format", "csv"],
        &out,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report = import_json(&out);
    let src = &report["sources"][0];
    assert_eq!(
        (
            src["read"].as_u64(),
            src["mapped"].as_u64(),
            src["quarantined"].as_u64()
        ),
        (Some(3), Some(1), Some(2))
    );
    let q = std::fs::read_to_string(out.join("quarantine.csv")).expect("quarantine");
    assert!(
        q.contains(r#"duplicate primary key (event_id = ""e1""), first loaded from"#),
        "{q}"
    );
    assert!(q.contains("trail.json,2,not a JSON object,42"), "{q}");

    // Two SCIM exports of the same directory in one source: every row of the second is a
    // duplicate of the first's, quarantined (a contract row would have won instead).
    let scim = dir.path().join("scim");
    std::fs::create_dir_all(&scim).expect("mkdir");
    let users = r#"{"Resources":[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"ann@example.com","active":true,"meta":{"created":"2025-01-01T00:00:00Z"}}]}"#;
    std::fs::write(scim.join("a.json"), users).expect("write");
    std::fs::write(scim.join("b.json"), users).expect("write");
    let out = dir.path().join("scim-out");
    let o = import("scim", &scim, "okta", &[], &out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report = import_json(&out);
    let files = &report["sources"][0]["files"];
    assert_eq!(files[0]["mapped"], 2, "{files}");
    assert_eq!(files[1]["quarantined"], 2, "{files}");
    assert_eq!(report["sources"][0]["overridden"], 0);
}
