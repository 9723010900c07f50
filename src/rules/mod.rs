//! Detection rules. Each rule is one file: its metadata as data ([`RuleMeta`]) and a pure
//! function from the resolved context to a findings frame. Rules do no IO.
//!
//! A rule's frame holds `jurisdiction`, `severity`, `detail` (JSON text), the rule's key
//! columns (see [`RuleMeta::key`]) and optionally `status` (default `open`) and the other
//! finding columns that help a reader (`identity_id` on account findings, ...). It has
//! exactly one row per key and jurisdiction. [`crate::findings`] does the rest.

pub mod chain;
pub mod docs;
pub mod dormant_account;
pub mod emergency_account_used;
pub mod evidence;
pub mod expired_grant;
pub mod failed_login_burst;
pub mod freeze_not_applied;
pub mod grade_exceeded;
pub mod impossible_travel;
pub mod json;
pub mod log_feed_gap;
pub mod log_feed_silent;
pub mod log_hash_mismatch;
pub mod log_sequence_gap;
pub mod login_from_unexpected_country;
pub mod off_hours_privileged_action;
pub mod orphan_account;
pub mod peer_outlier;
pub mod post_termination_activity;
pub mod privileged_no_mfa;
pub mod revocation_not_applied;
pub mod self_approved_grant;
pub mod shared_privileged_account;
pub mod sod_conflict;
pub mod sod_transaction;
pub mod stale_grant;
pub mod table;
pub mod terminated_access;
pub mod training_overdue;
pub mod unapproved_privileged_grant;
pub mod unmanaged_account_activity;
pub mod util;
pub mod weak_mfa_privileged;
pub mod window;

use std::fmt;

use polars::prelude::DataFrame;

use crate::error::Result;
use crate::ingest::events::ChainChecks;
use crate::ingest::keys::KeepRows;
use crate::policy::Policy;
use crate::resolve::{Ctx, Resolved};
use crate::severity::Severity;
use table::Table;

/// The activity-window rows a rule reads, over [`crate::ingest::events::WINDOW_COLUMNS`].
/// They must include every row the rule's `evaluate` can use (keeping more rows is only
/// slower; keeping fewer misses findings).
pub type WindowRows = fn(&Resolved, &Policy) -> Result<window::Wanted>;

pub struct RuleMeta {
    pub code: &'static str,
    /// None for rules that read no activity-window rows.
    pub window_rows: Option<WindowRows>,
    /// Whether `evaluate` reads anything the audit events decide (window rows, last use or
    /// login, feeds, log chains). The rules that do not can be evaluated on the other
    /// tables alone, as `whatif` does; a rule that reads events without saying so here
    /// would be judged there on no events at all.
    pub reads_events: bool,
    pub title: &'static str,
    /// When a finding is raised, with the rule's exact boundaries, for docs/rules.md.
    pub fires: &'static str,
    /// Columns that identify one finding of this rule (besides `jurisdiction`).
    pub key: &'static [&'static str],
    pub severity: SeverityPolicy,
    pub rationale: &'static str,
    pub remediation: &'static str,
    /// Default citations; a jurisdiction's `references` add their own.
    pub references: &'static [&'static str],
    pub freeze: Freeze,
    /// Whether an SoD exception for the finding's (`sod_rule_id`, `identity_id`) decides
    /// its status; the report lists such findings under the exception.
    pub sod_exceptions: bool,
    /// The rule's table in the report's log-audit or grading section, if it has one.
    pub table: Option<Table>,
    /// The line of the report's executive summary that counts the rule's findings, if any.
    pub summary: Option<Summary>,
}

/// A line of the executive summary built from one rule's findings. The report knows each
/// line's wording; the rule says how its findings are counted into it, so that no other
/// file reads the rule's detail keys.
#[derive(Clone, Copy)]
pub enum Summary {
    /// Holders trained on time, overdue, never trained: `never` tells a finding about
    /// someone never trained from one about someone whose training is overdue.
    Training { never: fn(&table::Detail) -> bool },
}

/// How a rule chooses a finding's severity.
#[derive(Debug, Clone, Copy)]
pub enum SeverityPolicy {
    Fixed(Severity),
    /// `then` when the condition (in words) holds, else `otherwise`.
    Either {
        then: Severity,
        when: &'static str,
        otherwise: Severity,
    },
    /// A level set in the policy files, named in words.
    FromPolicy(&'static str),
}

impl SeverityPolicy {
    /// Whether a finding of this severity can come from this policy.
    pub fn allows(self, s: Severity) -> bool {
        match self {
            SeverityPolicy::Fixed(f) => s == f,
            SeverityPolicy::Either {
                then, otherwise, ..
            } => s == then || s == otherwise,
            SeverityPolicy::FromPolicy(_) => true,
        }
    }
}

/// The reports' words ("high if the entitlement is privileged, else medium").
impl fmt::Display for SeverityPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeverityPolicy::Fixed(s) => write!(f, "{s}"),
            SeverityPolicy::Either {
                then,
                when,
                otherwise,
            } => write!(f, "{then} if {when}, else {otherwise}"),
            SeverityPolicy::FromPolicy(words) => f.write_str(words),
        }
    }
}

/// Which accounts a rule's findings put on the freeze list (accounts to suspend now).
#[derive(Debug, Clone, Copy)]
pub enum Freeze {
    Never,
    /// The finding's own account (`system_id`, `account_id`), when its severity is at
    /// least this.
    Account(Severity),
    /// Every account of the list under this detail key (records with `system_id` and
    /// `account_id`), whatever the severity.
    Accounts(&'static str),
}

impl Freeze {
    /// The (system, account) pairs one finding puts on the freeze list; `column` reads the
    /// finding's columns (None when null).
    pub fn accounts<'a>(self, column: impl Fn(&str) -> Option<&'a str>) -> Vec<(String, String)> {
        match self {
            Freeze::Never => Vec::new(),
            Freeze::Account(min) => {
                let severe = column("severity")
                    .and_then(|s| s.parse::<Severity>().ok())
                    .is_some_and(|s| s >= min);
                match (severe, column("system_id"), column("account_id")) {
                    (true, Some(s), Some(a)) => vec![(s.to_string(), a.to_string())],
                    _ => Vec::new(),
                }
            }
            Freeze::Accounts(key) => {
                let json: serde_json::Value = column("detail")
                    .and_then(|d| serde_json::from_str(d).ok())
                    .unwrap_or_default();
                table::Detail::new(&json)
                    .records(key)
                    .into_iter()
                    .flatten()
                    .filter_map(|r| {
                        Some((
                            r.str("system_id")?.to_string(),
                            r.str("account_id")?.to_string(),
                        ))
                    })
                    .collect()
            }
        }
    }
}

pub struct Rule {
    pub meta: &'static RuleMeta,
    pub evaluate: fn(&Ctx) -> Result<DataFrame>,
}

impl Rule {
    const fn new(meta: &'static RuleMeta, evaluate: fn(&Ctx) -> Result<DataFrame>) -> Rule {
        Rule { meta, evaluate }
    }
}

/// Every rule, in report order. Adding a rule: one file, its `pub mod` line and one line here.
// One line per rule, so that adding or moving one is a one-line diff; rustfmt would break
// the long names over three.
#[rustfmt::skip]
pub static REGISTRY: &[Rule] = &[
    Rule::new(&sod_conflict::META, sod_conflict::evaluate),
    Rule::new(&sod_transaction::META, sod_transaction::evaluate),
    Rule::new(&stale_grant::META, stale_grant::evaluate),
    Rule::new(&dormant_account::META, dormant_account::evaluate),
    Rule::new(&terminated_access::META, terminated_access::evaluate),
    Rule::new(&post_termination_activity::META, post_termination_activity::evaluate),
    Rule::new(&orphan_account::META, orphan_account::evaluate),
    Rule::new(&unmanaged_account_activity::META, unmanaged_account_activity::evaluate),
    Rule::new(&expired_grant::META, expired_grant::evaluate),
    Rule::new(&self_approved_grant::META, self_approved_grant::evaluate),
    Rule::new(&unapproved_privileged_grant::META, unapproved_privileged_grant::evaluate),
    Rule::new(&privileged_no_mfa::META, privileged_no_mfa::evaluate),
    Rule::new(&weak_mfa_privileged::META, weak_mfa_privileged::evaluate),
    Rule::new(&shared_privileged_account::META, shared_privileged_account::evaluate),
    Rule::new(&log_sequence_gap::META, log_sequence_gap::evaluate),
    Rule::new(&failed_login_burst::META, failed_login_burst::evaluate),
    Rule::new(&login_from_unexpected_country::META, login_from_unexpected_country::evaluate),
    Rule::new(&impossible_travel::META, impossible_travel::evaluate),
    Rule::new(&off_hours_privileged_action::META, off_hours_privileged_action::evaluate),
    Rule::new(&emergency_account_used::META, emergency_account_used::evaluate),
    Rule::new(&grade_exceeded::META, grade_exceeded::evaluate),
    Rule::new(&peer_outlier::META, peer_outlier::evaluate),
    Rule::new(&training_overdue::META, training_overdue::evaluate),
    Rule::new(&log_feed_silent::META, log_feed_silent::evaluate),
    Rule::new(&log_feed_gap::META, log_feed_gap::evaluate),
    Rule::new(&log_hash_mismatch::META, log_hash_mismatch::evaluate),
    Rule::new(&revocation_not_applied::META, revocation_not_applied::evaluate),
    Rule::new(&freeze_not_applied::META, freeze_not_applied::evaluate),
];

/// The window rows any rule reads (None when no rule reads any): the nightly run keeps
/// only these of the window's partitions.
pub fn window_rows(resolved: &Resolved, policy: &Policy) -> Result<Option<Box<dyn KeepRows>>> {
    let union = window::union(
        REGISTRY
            .iter()
            .filter_map(|r| r.meta.window_rows)
            .map(|f| f(resolved, policy))
            .collect::<Result<_>>()?,
    )?;
    Ok(union.map(|u| Box::new(u) as Box<dyn KeepRows>))
}

/// What the log-chain checks' output can depend on: their files and the helpers they use
/// (`table.rs` is not one: only the report's layout of their findings reads it; nor is
/// `util.rs`, which they do not use, so that the other rules' helpers change freely).
/// Any edit there, even one that changes nothing, only costs one full digest of every
/// partition; a missed one would serve stale findings from every stored digest.
const CHAIN_CHECK_SOURCES: [&str; 4] = [
    include_str!("log_sequence_gap.rs"),
    include_str!("log_hash_mismatch.rs"),
    include_str!("chain.rs"),
    include_str!("evidence.rs"),
];

/// The sequence-gap and hash-chain rules' checks on records taken on their own, which
/// ingest runs on each partition for its digest, versioned by their sources.
pub fn chain_checks() -> ChainChecks {
    ChainChecks {
        version: crate::hash::sha256_hex(CHAIN_CHECK_SOURCES.concat().as_bytes()),
        gaps: log_sequence_gap::gaps,
        hash_mismatches: log_hash_mismatch::check,
    }
}

pub fn codes() -> Vec<&'static str> {
    REGISTRY.iter().map(|r| r.meta.code).collect()
}

/// The rules that evaluate the policy's SoD rules (their findings are keyed by one), in
/// registry order: none of them can fire when the policy has no SoD rule.
pub fn sod_rule_codes() -> Vec<&'static str> {
    REGISTRY
        .iter()
        .filter(|r| r.meta.key.contains(&"sod_rule_id"))
        .map(|r| r.meta.code)
        .collect()
}

pub fn meta(code: &str) -> Option<&'static RuleMeta> {
    REGISTRY.iter().map(|r| r.meta).find(|m| m.code == code)
}
