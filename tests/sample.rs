//! The sample data set's findings are pinned: every planted case fires, no near-miss does.
//! `data/sample/expected_findings.csv` was derived independently (by hand and by
//! `data/sample/reference_rules.py`).

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use permaudit::pipeline::{analyze, Inputs};

const COLUMNS: [&str; 12] = [
    "rule",
    "severity",
    "status",
    "jurisdiction",
    "identity_id",
    "system_id",
    "account_id",
    "grant_id",
    "entitlement_id",
    "sod_rule_id",
    "target_id",
    "seq",
];

fn expected() -> BTreeSet<Vec<String>> {
    let mut rdr =
        csv::Reader::from_path("data/sample/expected_findings.csv").expect("expected findings");
    let headers = rdr.headers().expect("header").clone();
    rdr.records()
        .map(|r| {
            let r = r.expect("record");
            COLUMNS
                .iter()
                .map(|c| {
                    headers
                        .iter()
                        .position(|h| h == *c)
                        .and_then(|i| r.get(i))
                        .unwrap_or("")
                        .to_string()
                })
                .collect()
        })
        .collect()
}

#[test]
fn sample_findings_match_the_pinned_answer() {
    let inputs = Inputs {
        input_dir: Path::new("data/sample/input"),
        policy_dir: Path::new("data/sample/policy"),
        naive_tz: None,
        lookback_days: 30,
        sources: Default::default(),
    };
    let a = analyze(&inputs, common::date("2026-11-24")).expect("sample analyses");
    let mut actual = BTreeSet::new();
    for rule in permaudit::rules::codes() {
        for row in common::rows(&a.findings, rule) {
            actual.insert(
                COLUMNS
                    .iter()
                    .map(|c| row.get(*c).cloned().unwrap_or_default())
                    .collect::<Vec<_>>(),
            );
        }
    }
    let expected = expected();
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing (expected, not found): {missing:#?}\nextra (found, not expected): {extra:#?}"
    );
    assert_eq!(a.ingest.quarantined(), 0, "the sample has no bad rows");
}

/// `data/sample/closing_the_loop.sh`, as the README runs it: a run and a closed review three
/// weeks earlier make the report of 2026-11-24 show both remediation rules.
#[test]
fn closing_the_loop_shows_both_remediation_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_dir(Path::new("data/sample"), &dir.path().join("data/sample"));
    std::fs::copy("permaudit.toml", dir.path().join("permaudit.toml")).expect("config");
    let o = std::process::Command::new("sh")
        .arg("data/sample/closing_the_loop.sh")
        .arg(env!("CARGO_BIN_EXE_permaudit"))
        .current_dir(dir.path())
        .output()
        .expect("sh");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let findings =
        std::fs::read_to_string(dir.path().join("out/2026-11-24/findings.csv")).expect("findings");
    let count = |rule: &str| findings.lines().filter(|l| l.contains(rule)).count();
    assert_eq!(count(",REVOCATION_NOT_APPLIED,"), 3, "{findings}");
    assert_eq!(count(",FREEZE_NOT_APPLIED,"), 1, "{findings}");
    let hk = std::fs::read_to_string(dir.path().join("out/2026-11-24/HK/report.html"))
        .expect("HK report");
    assert!(hk.contains("REVOCATION_NOT_APPLIED: Revocation decided"));
    assert!(hk.contains("id=\"waivers\""));
    let eu = std::fs::read_to_string(dir.path().join("out/2026-11-24/EU/report.html"))
        .expect("EU report");
    assert!(eu.contains("FREEZE_NOT_APPLIED: Account on an earlier freeze list"));
}
