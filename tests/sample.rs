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
