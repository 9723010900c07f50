//! `docs/rules.md`, rendered from the rules' metadata so that the reference cannot drift
//! from the code: a test compares the committed file with this rendering.

use std::fmt::Write;

use super::table::Section;
use super::{Freeze, RuleMeta, REGISTRY};
use crate::severity::Severity;

/// The whole reference, in registry (report) order.
pub fn reference() -> String {
    let mut s = String::from(
        "# Detection rules\n\n\
         <!-- Generated from the rules' metadata in src/rules/; do not edit. After changing a \
         rule, run UPDATE_GOLDEN=1 cargo test --test suite rules::metadata -->\n\n\
         A finding is one row per rule, key and jurisdiction. The jurisdiction of a system is \
         its `jurisdiction`; of a grant, account or event, that of its system. Thresholds come \
         from the jurisdiction of the finding, and a rule listed in a jurisdiction's \
         `disabled_rules` produces no findings there. T is the evaluation instant.\n\n\
         An account's identity is `accounts.identity_id` when it names an existing identity. \
         An identity is *terminated at T* when its status is `terminated` and \
         `terminated_at < T` (a leaver dated later is treated as employed); \"identity not \
         terminated\" means the account has an identity that is not terminated at T (accounts \
         without one count as orphans). An account has *privileged access* if it holds an \
         effective grant of a privileged entitlement.\n\n\
         | Rule | Title | Severity | Freeze list |\n|---|---|---|---|\n",
    );
    for m in REGISTRY.iter().map(|r| r.meta) {
        let _ = writeln!(
            s,
            "| [{code}](#{anchor}) | {} | {} | {} |",
            m.title,
            m.severity,
            if matches!(m.freeze, Freeze::Never) {
                "no"
            } else {
                "yes"
            },
            code = m.code,
            anchor = m.code.to_lowercase(),
        );
    }
    for m in REGISTRY.iter().map(|r| r.meta) {
        rule(&mut s, m);
    }
    s
}

fn rule(s: &mut String, m: &RuleMeta) {
    let key: Vec<String> = m
        .key
        .iter()
        .chain(&["jurisdiction"])
        .map(|k| format!("`{k}`"))
        .collect();
    let _ = write!(
        s,
        "\n## {}\n\n{}.\n\n\
         - **Fires when:** {}.\n\
         - **Key:** {}.\n\
         - **Severity:** {}.\n\
         - **Freeze list:** {}.\n\
         - **Mitigated by an SoD exception:** {}.\n\
         - **Report table:** {}.\n\
         - **Why it matters:** {}\n\
         - **Remediation:** {}\n\
         - **Citations:** {}.\n",
        m.code,
        m.title,
        m.fires,
        key.join(", "),
        m.severity,
        freeze(m.freeze),
        if m.sod_exceptions { "yes" } else { "no" },
        table(m),
        m.rationale,
        m.remediation,
        if m.references.is_empty() {
            "none by default".to_string()
        } else {
            m.references.join("; ")
        },
    );
}

fn freeze(f: Freeze) -> String {
    match f {
        Freeze::Never => "no".into(),
        Freeze::Account(Severity::Low) => "the finding's account".into(),
        Freeze::Account(Severity::Critical) => "the finding's account, when critical".into(),
        Freeze::Account(min) => format!("the finding's account, when {min} or more severe"),
        Freeze::Accounts(key) => format!("every account listed under `{key}` in the evidence"),
    }
}

fn table(m: &RuleMeta) -> String {
    let Some(t) = &m.table else {
        return "none; the findings section shows the evidence".into();
    };
    let section = match t.layout.section {
        Section::LogAudit => "Log audit",
        Section::Grading => "Permission grading",
    };
    format!(
        "\"{}\" in the {section} section, with the columns {}",
        t.layout.title,
        t.layout.headers.join(", ")
    )
}
