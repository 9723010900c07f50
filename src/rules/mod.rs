//! Detection rules. Each rule is one file: its metadata as data ([`RuleMeta`]) and a pure
//! function from the resolved context to a findings frame. Rules do no IO.
//!
//! A rule's frame holds `jurisdiction`, `severity`, `detail` (JSON text), the rule's key
//! columns (see [`RuleMeta::key`]) and optionally `status` (default `open`) and the other
//! finding columns that help a reader (`identity_id` on account findings, ...). It has
//! exactly one row per key and jurisdiction. [`crate::findings`] does the rest.

pub mod util;

use polars::prelude::{DataFrame, Expr};

use crate::error::Result;
use crate::ingest::events::ChainChecks;
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

macro_rules! registry {
    ($($m:ident),* $(,)?) => {
        $(pub mod $m;)*
        /// Every rule, in report order. Adding a rule: one file and one line here.
        pub static REGISTRY: &[Rule] = &[$(Rule { meta: &$m::META, evaluate: $m::evaluate }),*];
    };
}

registry![
    sod_conflict,
    sod_transaction,
    stale_grant,
    dormant_account,
    terminated_access,
    post_termination_activity,
    orphan_account,
    unmanaged_account_activity,
    expired_grant,
    self_approved_grant,
    unapproved_privileged_grant,
    privileged_no_mfa,
    shared_privileged_account,
    log_sequence_gap,
    failed_login_burst,
    login_from_unexpected_country,
    impossible_travel,
    off_hours_privileged_action,
    emergency_account_used,
    grade_exceeded,
    peer_outlier,
    log_feed_silent,
    log_hash_mismatch,
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

/// What the log-chain checks' output can depend on: their files and the helpers they share.
/// Any edit there, even one that changes nothing, only costs one full digest of every
/// partition; a missed one would serve stale findings from every stored digest.
const CHAIN_CHECK_SOURCES: [&str; 3] = [
    include_str!("log_sequence_gap.rs"),
    include_str!("log_hash_mismatch.rs"),
    include_str!("util.rs"),
];

/// LOG_SEQUENCE_GAP's and LOG_HASH_MISMATCH's checks on records taken on their own, which
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

pub fn meta(code: &str) -> Option<&'static RuleMeta> {
    REGISTRY.iter().map(|r| r.meta).find(|m| m.code == code)
}
