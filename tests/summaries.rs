//! The lines every command prints on stdout, pinned exactly: cron mail and log shippers
//! parse them, so a changed word or order breaks someone's monitoring. Also the exit codes:
//! the README's table and `--help` are rendered from the one enum.

use crate::common::bin;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use permaudit::error::{Error, ExitCode};
use permaudit::generate::GenSummary;
use permaudit::import::{ImportReport, ImportSummary, TableWritten};
use permaudit::ingest::mapped::{SourceAccount, SourceFileAccount, Tally};
use permaudit::ingest::QuarantineRow;
use permaudit::pipeline::CheckSummary;
use permaudit::review::close::CloseSummary;
use permaudit::review::ingest::IngestSummary;
use permaudit::review::open::Opened;
use permaudit::review::status::{ReviewerStatus, Signal, Status};
use permaudit::run::RunSummary;
use permaudit::severity::Severity;
use permaudit::verify::Report;
use permaudit::whatif::WhatIf;

fn day(s: &str) -> NaiveDate {
    permaudit::config::parse_iso_date(s).expect("a test date")
}

fn run_summary() -> RunSummary {
    RunSummary {
        as_of: day("2026-11-24"),
        dir: PathBuf::from("out/2026-11-24"),
        findings: 60,
        by_severity: BTreeMap::from([
            ("critical".to_string(), 17),
            ("high".to_string(), 23),
            ("low".to_string(), 9),
        ]),
        quarantined: 2,
        freeze: 8,
        manifest_sha256: "ab12".to_string(),
    }
}

#[test]
fn run_line() {
    assert_eq!(
        run_summary().to_string(),
        "permaudit run as_of=2026-11-24 status=ok findings=60 critical=17 high=23 medium=0 \
         low=9 freeze=8 quarantined=2 manifest_sha256=ab12 out=out/2026-11-24"
    );
}

#[test]
fn fail_on_counts_the_level_and_above() {
    let s = run_summary();
    assert!(s.has_at_or_above(Severity::Critical));
    assert!(s.has_at_or_above(Severity::Medium));
    let low_only = RunSummary {
        by_severity: BTreeMap::from([("low".to_string(), 1)]),
        ..run_summary()
    };
    assert!(!low_only.has_at_or_above(Severity::Medium));
    assert!(low_only.has_at_or_above(Severity::Low));
}

#[test]
fn check_lines() {
    let none = CheckSummary::default();
    assert_eq!(none.to_string(), "permaudit check status=ok quarantined=0");
    let some = CheckSummary {
        quarantine: vec![QuarantineRow {
            table: "grants",
            source_file: "input/grants.csv".to_string(),
            line: 7,
            reason: "granted_at: not a timestamp".to_string(),
            raw: "{}".to_string(),
        }],
        quarantined: 1,
    };
    assert_eq!(
        some.to_string(),
        "input/grants.csv:7: granted_at: not a timestamp [grants]\n\
         permaudit check status=ok quarantined=1"
    );
}

#[test]
fn keygen_line() {
    let s = permaudit::signing::KeygenSummary {
        private_key: PathBuf::from("/etc/permaudit/signing.pem"),
        public_key: PathBuf::from("/etc/permaudit/signing.pem.pub"),
        public_key_sha256: "cd34".to_string(),
    };
    assert_eq!(
        s.to_string(),
        "permaudit keygen status=ok private_key=/etc/permaudit/signing.pem \
         public_key=/etc/permaudit/signing.pem.pub public_key_sha256=cd34"
    );
}

#[test]
fn verify_lines() {
    let ok = Report {
        out: PathBuf::from("out"),
        runs: 2,
        files: 68,
        links: 1,
        signatures: 2,
        anchors: 1,
        ..Report::default()
    };
    assert_eq!(
        ok.to_string(),
        "permaudit verify status=ok runs=2 files=68 links=1 signatures=2 anchors=1 problems=0 \
         out=out"
    );
    assert!(ok.failure().is_ok());
    let failed = Report {
        notes: vec!["leftover .staging-2026-11-24.1".to_string()],
        problems: vec![
            "2026-11-24/HK/report.md: SHA-256 differs".to_string(),
            "link 2026-11-25 -> 2026-11-24: manifest changed".to_string(),
        ],
        ..ok
    };
    assert_eq!(
        failed.to_string(),
        "note: leftover .staging-2026-11-24.1\n\
         FAIL 2026-11-24/HK/report.md: SHA-256 differs\n\
         FAIL link 2026-11-25 -> 2026-11-24: manifest changed\n\
         permaudit verify status=failed runs=2 files=68 links=1 signatures=2 anchors=1 \
         problems=2 out=out"
    );
    let err = failed.failure().expect_err("problems fail verify");
    assert!(matches!(err, Error::Verify(_)));
    assert_eq!(err.exit_code(), ExitCode::VerifyFailed);
    assert_eq!(
        err.to_string(),
        "verification failed: 2 problem(s) in out, first: 2026-11-24/HK/report.md: SHA-256 \
         differs"
    );
}

#[test]
fn generate_line() {
    let s = GenSummary {
        as_of: Some(day("2026-11-24")),
        systems: 36,
        identities: 30,
        accounts: 141,
        entitlements: 835,
        grants: 758,
        events: 598,
        days: 3,
        ..Default::default()
    };
    assert_eq!(
        s.to_string(),
        "permaudit generate status=ok as_of=2026-11-24 systems=36 identities=30 accounts=141 \
         entitlements=835 grants=758 days=3 events=598"
    );
}

#[test]
fn review_open_lines_end_with_the_campaign_id() {
    let o = Opened {
        campaign_id: "HK-2026-11-24".to_string(),
        dir: PathBuf::from("out/reviews/HK-2026-11-24"),
        items: 218,
        packets: 15,
        unassigned: 1,
        created: true,
    };
    assert_eq!(
        o.to_string(),
        "permaudit review open status=ok campaign=HK-2026-11-24 items=218 packets=15 \
         unassigned=1 dir=out/reviews/HK-2026-11-24\nHK-2026-11-24"
    );
    let again = Opened {
        created: false,
        ..o
    };
    assert!(again
        .to_string()
        .starts_with("permaudit review open status=exists campaign=HK-2026-11-24 "));
}

#[test]
fn review_ingest_line() {
    let s = IngestSummary {
        campaign_id: "HK-2026-11-24".to_string(),
        files: 3,
        already_ingested: 1,
        decided: 40,
        pending: 178,
    };
    assert_eq!(
        s.to_string(),
        "permaudit review ingest status=ok campaign=HK-2026-11-24 files=3 already_ingested=1 \
         decided=40 pending=178"
    );
}

#[test]
fn review_status_lines() {
    let st = Status {
        campaign_id: "HK-2026-11-24".to_string(),
        jurisdiction: "HK".to_string(),
        as_of: "2026-11-24".to_string(),
        due: "2026-12-22".to_string(),
        on_no_response: "revoke",
        closed: false,
        at: "2026-12-01T00:00:00Z".to_string(),
        items: 41,
        decided_by_reviewers: 25,
        keep: 20,
        revoke: 5,
        escalated: 0,
        pending: 16,
        overdue: 0,
        unassigned: 0,
        reviewers: vec![ReviewerStatus {
            reviewer_id: "E1000".to_string(),
            reviewer_name: Some("Ada".to_string()),
            assigned: 16,
            keep: 0,
            revoke: 0,
            pending: 16,
            completion: "0.0".to_string(),
            overdue: 0,
            signals: Vec::new(),
        }],
        signals: vec![Signal {
            reviewer_id: "E1001".to_string(),
            kind: "rubber_stamp",
            message: "E1001 kept all 25 items".to_string(),
        }],
    };
    assert_eq!(
        st.to_string(),
        "reviewer=E1000 assigned=16 keep=0 revoke=0 pending=16 completion=0.0% overdue=0\n\
         signal rubber_stamp: E1001 kept all 25 items\n\
         permaudit review status campaign=HK-2026-11-24 state=open items=41 keep=20 revoke=5 \
         escalated=0 pending=16 overdue=0 unassigned=0 due=2026-12-22"
    );
}

#[test]
fn review_close_line() {
    let s = CloseSummary {
        campaign_id: "HK-2026-11-24".to_string(),
        dir: PathBuf::from("out/reviews/HK-2026-11-24"),
        keep: 0,
        revoke: 218,
        escalated: 0,
        no_response: 218,
        already_closed: false,
    };
    assert_eq!(
        s.to_string(),
        "permaudit review close status=ok campaign=HK-2026-11-24 keep=0 revoke=218 escalated=0 \
         no_response=218 revocations=out/reviews/HK-2026-11-24/revocations.csv \
         signoff=out/reviews/HK-2026-11-24/signoff.json"
    );
    let again = CloseSummary {
        already_closed: true,
        no_response: 0,
        ..s
    };
    assert!(again
        .to_string()
        .starts_with("permaudit review close status=already_closed campaign=HK-2026-11-24 "));
}

#[test]
fn import_line_sums_every_file_of_every_path() {
    let tally = |read, mapped, skipped: u64, quarantined, overridden| Tally {
        read,
        mapped,
        skipped: BTreeMap::from([("not_a_sign_in".to_string(), skipped)]),
        quarantined,
        overridden,
    };
    let file = |path: &str, t: Tally| SourceFileAccount {
        path: path.into(),
        sha256: "0".repeat(64),
        bytes: 10,
        tally: t,
    };
    let source = SourceAccount {
        kind: "cloudtrail".into(),
        path: "exports".into(),
        system_id: "aws-prod".into(),
        total: tally(10, 7, 2, 1, 0),
        files: vec![
            file("a.json.gz", tally(6, 4, 1, 1, 0)),
            file("b.json.gz", tally(4, 3, 1, 0, 0)),
        ],
    };
    let s = ImportSummary {
        report: ImportReport {
            kind: "cloudtrail".into(),
            system_id: "aws-prod".into(),
            sources: vec![source.clone(), source],
            tables: vec![TableWritten {
                table: "audit_events",
                file: "audit_events.csv".into(),
                rows: 14,
                rows_quarantined: 2,
            }],
            quarantined: 2,
        },
        out: PathBuf::from("imported"),
    };
    assert_eq!(
        s.to_string(),
        "permaudit import status=ok kind=cloudtrail files=4 read=20 mapped=14 skipped=4 \
         quarantined=2 overridden=0 tables=audit_events=14 out=imported"
    );
}

#[test]
fn whatif_line() {
    let added = polars::prelude::df!(
        "rule" => ["SOD_CONFLICT", "PEER_OUTLIER"],
        "severity" => ["critical", "low"],
    )
    .expect("frame");
    let w = WhatIf {
        as_of: day("2026-11-24"),
        proposed: 3,
        added,
    };
    assert_eq!(
        w.to_string(),
        "permaudit whatif as_of=2026-11-24 proposed=3 added=2 max_severity=critical"
    );
    let none = WhatIf {
        added: polars::prelude::df!("severity" => Vec::<&str>::new()).expect("frame"),
        ..w
    };
    assert_eq!(
        none.to_string(),
        "permaudit whatif as_of=2026-11-24 proposed=3 added=0 max_severity=none"
    );
}

#[test]
fn help_lists_every_exit_code_from_the_enum() {
    assert_eq!(
        ExitCode::help(),
        "Exit codes: 0 success; 1 findings at or above --fail-on; 2 bad input, configuration \
         or policy (nothing written); 3 another run holds the lock of the output directory \
         (nothing done); 4 internal or I/O error; 5 verify found a wrong file, link, signature \
         or anchor."
    );
    for (i, code) in ExitCode::ALL.iter().enumerate() {
        assert_eq!(
            usize::from(code.code()),
            i,
            "{code:?}: codes are 0.. in order"
        );
    }
}

#[test]
fn every_help_with_exit_codes_shows_the_enum() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["check", "--help"],
        &["verify", "--help"],
        &["keygen", "--help"],
        &["review", "open", "--help"],
        &["review", "ingest", "--help"],
        &["review", "status", "--help"],
        &["review", "close", "--help"],
        &["whatif", "--help"],
    ] {
        let o = bin().args(args).output().expect("help");
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.trim_end().ends_with(&ExitCode::help()),
            "{args:?}: {text}"
        );
    }
}

#[test]
fn readme_exit_code_table_is_the_enum() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let header = "| exit code | meaning |";
    let start = readme
        .find(header)
        .expect("the README has an exit-code table");
    let table: String = readme[start..]
        .lines()
        .take_while(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        table,
        ExitCode::markdown_table(),
        "the README's exit-code table is rendered from permaudit::error::ExitCode: paste \
         ExitCode::markdown_table() over it"
    );
}
