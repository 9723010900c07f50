//! Expressions the rules share.

use polars::prelude::*;

use crate::error::Result;
use crate::policy::Policy;
use crate::resolve::{Ctx, Resolved};

use super::window::Wanted;

// Kept where every rule has always found them.
pub use super::evidence::{detail, ts_text};

/// The jurisdiction table (thresholds by policy key name), for joining on `jurisdiction`.
pub fn jurisdictions(ctx: &Ctx) -> LazyFrame {
    ctx.jurisdictions.clone().lazy()
}

/// Inner-joins the per-jurisdiction thresholds onto a frame with a `jurisdiction` column: a row
/// whose jurisdiction the policy does not define is dropped (none is, since every system's
/// jurisdiction is checked against the policy before the rules run).
pub fn with_thresholds(lf: LazyFrame, ctx: &Ctx) -> LazyFrame {
    lf.join(
        jurisdictions(ctx),
        [col("jurisdiction")],
        [col("jurisdiction")],
        JoinArgs::new(JoinType::Inner),
    )
}

/// `value` days or hours in microseconds, as an expression over a threshold column.
pub fn days(c: &str) -> Expr {
    col(c) * lit(crate::time::MICROS_PER_DAY)
}

pub fn hours(c: &str) -> Expr {
    col(c) * lit(crate::time::MICROS_PER_HOUR)
}

/// Joins on the account key `(system_id, account_id)`, the most common join of the rules.
pub trait JoinOnAccount {
    fn join_on_account(self, right: LazyFrame, how: JoinType) -> LazyFrame;

    /// Joins window rows to accounts by `account_row`: the account's number in
    /// [`Resolved::accounts`], which the window rows took when they met the accounts in
    /// resolve (null for an account the accounts table lacks). One integer per row instead
    /// of the account key's two texts, over millions of window rows.
    fn join_on_account_row(self, accounts: LazyFrame, how: JoinType) -> LazyFrame;
}

impl JoinOnAccount for LazyFrame {
    fn join_on_account(self, right: LazyFrame, how: JoinType) -> LazyFrame {
        let key = || [col("system_id"), col("account_id")];
        self.join(right, key(), key(), JoinArgs::new(how))
    }

    fn join_on_account_row(self, accounts: LazyFrame, how: JoinType) -> LazyFrame {
        let key = || [col("account_row")];
        self.join(accounts, key(), key(), JoinArgs::new(how))
    }
}

/// Successful events of the activity window.
pub fn window_successes(ctx: &Ctx) -> LazyFrame {
    ctx.window_events.clone().lazy().filter(success())
}

pub fn success() -> Expr {
    col("outcome").eq(lit("success"))
}

pub fn login() -> Expr {
    col("action").eq(lit("login"))
}

/// The window rows of the travel and country rules: successful logins with a source
/// country.
pub fn located_logins(_: &Resolved, _: &Policy) -> Result<Wanted> {
    Ok(Wanted::when(
        success().and(login()).and(col("src_country").is_not_null()),
    ))
}

/// Group aggregations plus the activity evidence every event rule shows: `first_ts`,
/// `last_ts` and the sorted distinct `actions`.
pub fn with_activity_span(aggs: impl IntoIterator<Item = Expr>) -> Vec<Expr> {
    let mut all: Vec<Expr> = aggs.into_iter().collect();
    all.extend([
        col("ts").min().alias("first_ts"),
        col("ts").max().alias("last_ts"),
        col("action")
            .unique()
            .sort(SortOptions::default())
            .alias("actions"),
    ]);
    all
}
