//! Expressions the rules share.

use polars::prelude::*;

use crate::error::Result;
use crate::policy::Policy;
use crate::resolve::{Ctx, Resolved};

use super::window::Wanted;

/// Evidence: the given named expressions as one JSON object in the `detail` column.
pub fn detail(fields: Vec<Expr>) -> Expr {
    as_struct(fields).struct_().json_encode().alias("detail")
}

/// Microseconds since the epoch (UTC) as RFC 3339 text, for evidence.
pub fn ts_text(e: Expr) -> Expr {
    e.cast(DataType::Datetime(TimeUnit::Microseconds, None))
        .dt()
        .to_string("%Y-%m-%dT%H:%M:%S%.fZ")
}

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
}

impl JoinOnAccount for LazyFrame {
    fn join_on_account(self, right: LazyFrame, how: JoinType) -> LazyFrame {
        let key = || [col("system_id"), col("account_id")];
        self.join(right, key(), key(), JoinArgs::new(how))
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

/// Log-chain findings (`system_id, seq, detail`) from several sources, as one critical
/// finding frame with each system's jurisdiction.
pub fn critical_on_systems(parts: Vec<LazyFrame>, ctx: &Ctx) -> crate::error::Result<DataFrame> {
    Ok(concat(parts, UnionArgs::default())?
        .join(
            ctx.systems.clone().lazy(),
            [col("system_id")],
            [col("system_id")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("seq"),
            lit("critical").alias("severity"),
            col("detail"),
        ])
        .collect()?)
}

/// The rows of a log-chain frame (`system` and `seq` non-null), grouped by system in
/// system order, each system's rows ordered by seq, then by `tie`, then by row: the order
/// the log-chain rules walk. An index sort: the records themselves are never gathered, and
/// no string is compared unless two rows of one system share a seq.
pub fn chains<'a>(
    system: &'a StringChunked,
    seq: &Int64Chunked,
    tie: impl Fn(usize, usize) -> std::cmp::Ordering,
) -> Vec<(&'a str, Vec<usize>)> {
    let mut by_system: std::collections::BTreeMap<&str, Vec<(i64, usize)>> = Default::default();
    for (row, (s, q)) in system.iter().zip(seq.iter()).enumerate() {
        if let (Some(s), Some(q)) = (s, q) {
            by_system.entry(s).or_default().push((q, row));
        }
    }
    by_system
        .into_iter()
        .map(|(s, mut rows)| {
            rows.sort_unstable_by(|a, b| {
                a.0.cmp(&b.0)
                    .then_with(|| tie(a.1, b.1))
                    .then(a.1.cmp(&b.1))
            });
            (s, rows.into_iter().map(|(_, row)| row).collect())
        })
        .collect()
}
