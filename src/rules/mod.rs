//! Detection rules. Each rule is one file: its metadata as data ([`RuleMeta`]) and a pure
//! function from the resolved context to a findings frame. Rules do no IO.
//!
//! A rule's frame holds `jurisdiction`, `severity`, `detail` (JSON text), the rule's key
//! columns (see [`RuleMeta::key`]) and optionally `status` (default `open`) and the other
//! finding columns that help a reader (`identity_id` on account findings, ...). It has
//! exactly one row per key and jurisdiction. [`crate::findings`] does the rest.

pub mod dormant_account;
pub mod emergency_account_used;
pub mod expired_grant;
pub mod failed_login_burst;
pub mod grade_exceeded;
pub mod impossible_travel;
pub mod log_feed_silent;
pub mod log_hash_mismatch;
pub mod log_sequence_gap;
pub mod login_from_unexpected_country;
pub mod off_hours_privileged_action;
pub mod orphan_account;
pub mod peer_outlier;
pub mod post_termination_activity;
pub mod privileged_no_mfa;
pub mod self_approved_grant;
pub mod shared_privileged_account;
pub mod sod_conflict;
pub mod sod_transaction;
pub mod stale_grant;
pub mod terminated_access;
pub mod unapproved_privileged_grant;
pub mod unmanaged_account_activity;
pub mod util;

use polars::prelude::{DataFrame, Expr};

use crate::error::Result;
use crate::policy::Policy;
use crate::resolve::{Ctx, Resolved};

/// The activity-window rows a rule reads, as a predicate over
/// [`crate::ingest::events::WINDOW_COLUMNS`]. It must hold for every row the rule's
/// `evaluate` can use (keeping more rows is only slower; keeping fewer misses findings).
pub type WindowRows = fn(&Resolved, &Policy) -> Result<Expr>;

pub struct RuleMeta {
    pub code: &'static str,
    /// None for rules that read no activity-window rows.
    pub window_rows: Option<WindowRows>,
    pub title: &'static str,
    /// Columns that identify one finding of this rule (besides `jurisdiction`).
    pub key: &'static [&'static str],
    /// How the severity is chosen, in words, for the reports.
    pub severity: &'static str,
    pub rationale: &'static str,
    pub remediation: &'static str,
    /// Default citations; a jurisdiction's `references` add their own.
    pub references: &'static [&'static str],
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
    Rule::new(&shared_privileged_account::META, shared_privileged_account::evaluate),
    Rule::new(&log_sequence_gap::META, log_sequence_gap::evaluate),
    Rule::new(&failed_login_burst::META, failed_login_burst::evaluate),
    Rule::new(&login_from_unexpected_country::META, login_from_unexpected_country::evaluate),
    Rule::new(&impossible_travel::META, impossible_travel::evaluate),
    Rule::new(&off_hours_privileged_action::META, off_hours_privileged_action::evaluate),
    Rule::new(&emergency_account_used::META, emergency_account_used::evaluate),
    Rule::new(&grade_exceeded::META, grade_exceeded::evaluate),
    Rule::new(&peer_outlier::META, peer_outlier::evaluate),
    Rule::new(&log_feed_silent::META, log_feed_silent::evaluate),
    Rule::new(&log_hash_mismatch::META, log_hash_mismatch::evaluate),
];

/// The window rows any rule reads (None when no rule reads any): the nightly run keeps
/// only these of the window's partitions.
pub fn window_rows(resolved: &Resolved, policy: &Policy) -> Result<Option<Expr>> {
    let mut any: Option<Expr> = None;
    for f in REGISTRY.iter().filter_map(|r| r.meta.window_rows) {
        let p = f(resolved, policy)?;
        any = Some(match any {
            Some(a) => a.or(p),
            None => p,
        });
    }
    Ok(any)
}

pub fn codes() -> Vec<&'static str> {
    REGISTRY.iter().map(|r| r.meta.code).collect()
}

pub fn meta(code: &str) -> Option<&'static RuleMeta> {
    REGISTRY.iter().map(|r| r.meta).find(|m| m.code == code)
}
