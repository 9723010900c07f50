//! The rules' metadata against what the rules write, on the sample (where every rule
//! fires): every detail key a report table, a summary line or the freeze list reads is one
//! its rule produces, every cell row fits its headers, every severity is one its policy allows.

use crate::common;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use permaudit::pipeline::{analyze, Inputs};
use permaudit::rules::table::{Detail, Subject};
use permaudit::rules::{Freeze, RuleMeta, Summary, REGISTRY};
use permaudit::severity::Severity;
use serde_json::Value;

type Row = BTreeMap<String, String>;

/// The sample's findings by rule code.
fn sample_findings() -> BTreeMap<&'static str, Vec<Row>> {
    let inputs = Inputs {
        input_dir: Path::new("data/sample/input"),
        policy_dir: Path::new("data/sample/policy"),
        naive_tz: None,
        lookback_days: 30,
        sources: Default::default(),
    };
    let a = analyze(&inputs, common::date("2026-11-24")).expect("sample analyses");
    REGISTRY
        .iter()
        .map(|r| (r.meta.code, common::rows(&a.findings, r.meta.code)))
        .collect()
}

/// Every path of a detail as the table reads them: `key`, and `key[].field` inside lists.
fn paths(json: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    let Value::Object(map) = json else { return };
    for (k, v) in map {
        out.insert(format!("{prefix}{k}"));
        if let Value::Array(items) = v {
            for item in items {
                paths(item, &format!("{prefix}{k}[]."), out);
            }
        }
    }
}

/// The finding's own columns; times are left as written.
struct Columns<'a>(&'a Row);

impl Subject for Columns<'_> {
    fn identity(&self) -> String {
        self.column("identity_id").unwrap_or_default()
    }
    fn account(&self) -> String {
        self.column("account_id").unwrap_or_default()
    }
    fn system(&self) -> String {
        self.column("system_id").unwrap_or_default()
    }
    fn column(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
    fn local_time(&self, utc: &str) -> String {
        utc.to_string()
    }
}

fn produced(rows: &[Row]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in rows {
        paths(&common::detail(r), "", &mut out);
    }
    out
}

/// Every rule with its findings.
fn by_rule<'a>(findings: &'a BTreeMap<&str, Vec<Row>>) -> Vec<(&'static RuleMeta, &'a [Row])> {
    REGISTRY
        .iter()
        .map(|r| r.meta)
        .map(|m| {
            (
                m,
                findings.get(m.code).map(Vec::as_slice).unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn report_tables_summaries_and_the_freeze_list_read_only_detail_keys_their_rule_writes() {
    let findings = sample_findings();
    let mut problems = Vec::new();
    for (m, rows) in by_rule(&findings) {
        let reads_table =
            m.table.is_some() || m.summary.is_some() || matches!(m.freeze, Freeze::Accounts(_));
        if !reads_table {
            continue;
        }
        if rows.is_empty() {
            problems.push(format!(
                "{}: no finding on the sample, nothing to check",
                m.code
            ));
            continue;
        }
        let written = produced(rows);
        let reads = RefCell::new(BTreeSet::new());
        if let Some(t) = &m.table {
            for r in rows {
                let json = common::detail(r);
                let d = Detail::recording(&json, &reads);
                if let Some(group) = t.layout.group {
                    group(&d);
                }
                let cells = (t.cells)(&Columns(r), &d);
                if cells.len() != t.layout.headers.len() {
                    problems.push(format!(
                        "{}: {} cells under {} headers",
                        m.code,
                        cells.len(),
                        t.layout.headers.len()
                    ));
                }
            }
        }
        if let Some(Summary::Training { never }) = m.summary {
            for r in rows {
                let json = common::detail(r);
                never(&Detail::recording(&json, &reads));
            }
        }
        if let Freeze::Accounts(key) = m.freeze {
            for field in ["system_id", "account_id"] {
                reads.borrow_mut().insert(format!("{key}[].{field}"));
            }
        }
        for key in reads.into_inner().difference(&written) {
            problems.push(format!(
                "{}: reads detail key {key:?}, never written",
                m.code
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn account_freezes_name_rules_keyed_by_account_and_severities_follow_the_policy() {
    let findings = sample_findings();
    for (m, rows) in by_rule(&findings) {
        if let Freeze::Account(_) = m.freeze {
            assert!(
                m.key.contains(&"system_id") && m.key.contains(&"account_id"),
                "{} freezes the finding's account but is not keyed by one",
                m.code
            );
        }
        for r in rows {
            let s: Severity = r
                .get("severity")
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{}: finding without a severity: {r:?}", m.code));
            assert!(
                m.severity.allows(s),
                "{}: severity {s} outside its policy \"{}\"",
                m.code,
                m.severity
            );
        }
    }
}

/// `docs/rules.md` is the rendering of the registry; refresh it after changing a rule with
/// `UPDATE_GOLDEN=1 cargo test --test suite rules::metadata`.
#[test]
fn docs_rules_md_is_rendered_from_the_registry() {
    let path = Path::new("docs/rules.md");
    let got = permaudit::rules::docs::reference();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &got).expect("write docs/rules.md");
        return;
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        got == want,
        "docs/rules.md differs from the rules' metadata: run UPDATE_GOLDEN=1 cargo test --test suite rules::metadata"
    );
}
