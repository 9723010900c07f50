//! SOD_TRANSACTION: one identity performed every function of a transaction
//! segregation-of-duties rule on the same object (target_id) within the activity window.

use polars::prelude::*;

use super::json::{self, Member};
use super::sod_conflict::{
    covering_groups, distinct_sorted, match_functions, sod_frames, SodFrames, MAX_MATCHES,
};
use super::util::{success, ts_text};
use super::window::Wanted;
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::policy::{Policy, SodKind};
use crate::resolve::{Ctx, Resolved};
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "SOD_TRANSACTION",
    window_rows: Some(window_rows),
    reads_events: true,
    title: "One person performed incompatible steps on the same transaction",
    fires: "transaction rule: within the activity window, successful events of the identity's \
           accounts on the same non-null target_id match every function; one finding per \
           jurisdiction of those events. Never mitigated. One event may satisfy several \
           functions at once. `target_id` is compared as a string across all systems; \
           account and identity status do not matter",
    key: &["sod_rule_id", "identity_id", "target_id"],
    severity: SeverityPolicy::Fixed(Severity::Critical),
    rationale: "When the same person both prepares and approves (or creates and releases) one \
                transaction, the four-eyes control did not happen; this is how internal payment \
                fraud is typically committed.",
    remediation: "Freeze the accounts involved, review the transaction with its business owner \
                  and reverse it if unauthorised, and enforce the separation in the application \
                  workflow.",
    references: &["PCI DSS v4.0.1 req. 7.2.1", "PCI DSS v4.0.1 req. 7.2.2"],
    freeze: Freeze::Accounts("accounts"),
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Successful events with a target whose (system, action) one of the transaction rules'
/// patterns matches; a `*` pattern stands for every system.
fn window_rows(r: &Resolved, policy: &Policy) -> Result<Wanted> {
    let pairs = sod_frames(policy, SodKind::Transaction)?
        .patterns
        .cross_join(r.systems.clone().lazy().select([col("system_id")]), None)
        .filter(
            col("pat_system")
                .is_null()
                .or(col("pat_system").eq(col("system_id"))),
        )
        .select([col("system_id"), col("pat_name").alias("action")]);
    Ok(Wanted::when(success().and(col("target_id").is_not_null())).action_in(pairs))
}

/// Successful window events of accounts with a resolved identity, on a non-null target,
/// matched to the rule functions by (system_id, action); per (rule, identity, target) the
/// events must cover every function. Account and identity status do not matter.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let sod = sod_frames(ctx.policy, SodKind::Transaction)?;
    if sod.empty {
        return Ok(empty());
    }
    let mut found = empty();
    for matches in by_identity(matches(ctx, &sod)?, EVIDENCE_ROWS)? {
        let matches = matches.lazy();
        let conflicts = conflicts(matches.clone(), &sod);
        found.vstack_mut_owned(evidence(ctx, matches, conflicts)?)?;
    }
    Ok(found)
}

/// Most matched events whose evidence is built at once.
const EVIDENCE_ROWS: usize = 200_000;

/// `matches` cut into parts of about `rows` rows, each holding whole identities (so whole
/// groups), rows in their order.
///
/// The evidence of a conflict is about a kilobyte of JSON, built in steps that each hold
/// their input and their output: on a first run with hundreds of thousands of conflicts,
/// built at once, those steps made the largest part of the run's peak memory.
fn by_identity(matches: DataFrame, rows: usize) -> Result<Vec<DataFrame>> {
    let parts = matches.height().div_ceil(rows);
    if parts <= 1 {
        return Ok(vec![matches]);
    }
    let identities = matches.column("identity_id")?.n_unique()?;
    let part = (col("identity_id").rank(
        RankOptions {
            method: RankMethod::Dense,
            descending: false,
        },
        None,
    ) - lit(1))
    .cast(DataType::UInt64)
        * lit(parts as u64)
        / lit(identities as u64);
    Ok(matches
        .lazy()
        .with_column(part.alias("_part"))
        .collect()?
        .partition_by_stable(["_part"], false)?)
}

/// The key of a group.
fn group() -> Vec<Expr> {
    vec![col("sod_rule_id"), col("identity_id"), col("target_id")]
}

/// Successful window events of an identity's accounts on a target, one row each: their
/// position, what the functions match on and the group's keys. The event's other texts
/// are taken for the few that fire ([`matches`]).
fn events(ctx: &Ctx) -> LazyFrame {
    ctx.window_row_numbers()
        .filter(
            col("outcome")
                .eq(lit("success"))
                .and(col("identity").is_not_null())
                .and(col("target_id").is_not_null()),
        )
        .select([
            col("window_row"),
            col("system_id"),
            col("action"),
            col("target_id").cast(DataType::String),
            col("identity").alias("identity_id"),
        ])
}

/// Every event with each function it matches, kept only for the groups whose events
/// cover every function of their rule, in event order.
fn matches(ctx: &Ctx, sod: &SodFrames) -> Result<DataFrame> {
    // Millions of window rows may match a function: the patterns are matched against the
    // few distinct (system, action) pairs, and the rows are then joined and grouped as
    // numbers and keys only; the texts of the events held beside them made this rule's
    // peak.
    let pairs = [col("system_id"), col("action")];
    let functions = match_functions(
        events(ctx)
            .select(pairs.clone())
            .unique(None, UniqueKeepStrategy::Any),
        "action",
        sod.patterns.clone(),
        &["system_id", "action"],
    )?;
    let matches = events(ctx)
        .join(
            functions,
            pairs.clone(),
            pairs,
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col("window_row"),
            col("sod_rule_id"),
            col("fidx"),
            col("identity_id"),
            col("target_id"),
        ])
        .collect()?
        .lazy();
    // Most (identity, target) pairs see one function only; the evidence is built for the
    // groups that cover every function of their rule, the only ones that fire.
    let covering = matches
        .clone()
        .group_by(group())
        .agg([col("fidx")
            .n_unique()
            .cast(DataType::Int64)
            .alias("covered")])
        .join(
            sod.rules.clone(),
            [col("sod_rule_id")],
            [col("sod_rule_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("covered").eq(col("n_functions")))
        .select(group());
    let firing = matches
        .join(covering, group(), group(), JoinArgs::new(JoinType::Semi))
        .collect()?;
    Ok(ctx
        .with_window_columns(
            &firing,
            &[
                "event_id",
                "ts",
                "system_id",
                "account_id",
                "action",
                "jurisdiction",
            ],
        )?
        .lazy()
        // A group keeps its rows' order: sorted once here rather than in every group. Ids
        // are unique only within a file, so the input's order decides between equal ones.
        .sort(
            ["ts", "event_id", "system_id", "window_row"],
            SortMultipleOptions::default(),
        )
        .collect()?)
}

/// The groups that cover every function of their rule, one row per group, with each
/// function's events (at most MAX_MATCHES listed) as evidence.
fn conflicts(matches: LazyFrame, sod: &SodFrames) -> LazyFrame {
    let per_function = matches
        .group_by([
            col("sod_rule_id"),
            col("identity_id"),
            col("target_id"),
            col("fidx"),
        ])
        .agg([
            len().cast(DataType::Int64).alias("event_count"),
            ts_text(col("ts").min()).alias("first_ts"),
            ts_text(col("ts").max()).alias("last_ts"),
            as_struct(vec![
                col("event_id"),
                col("system_id"),
                col("account_id"),
                col("action"),
                ts_text(col("ts")).alias("ts"),
                col("jurisdiction"),
            ])
            .head(Some(MAX_MATCHES))
            .alias("events"),
        ])
        .with_column(json::list("events"));
    covering_groups(
        per_function,
        sod,
        group(),
        vec![
            Member::Value(col("function")),
            Member::Value(col("patterns")),
            Member::Value(col("event_count")),
            Member::Value(col("first_ts")),
            Member::Value(col("last_ts")),
            Member::Json("events", col("events")),
        ],
    )
}

/// One finding per conflict and jurisdiction of its events, with the accounts that
/// performed them (for the freeze list) and the jurisdictions involved.
fn evidence(ctx: &Ctx, matches: LazyFrame, conflicts: LazyFrame) -> Result<DataFrame> {
    let accounts = distinct_sorted(
        matches.clone(),
        &group(),
        &["system_id", "account_id"],
        "accounts",
    );
    let involved = distinct_sorted(
        matches.clone(),
        &group(),
        &["jurisdiction"],
        "jurisdictions_involved",
    );
    let finding_rows = matches
        .select([
            col("sod_rule_id"),
            col("identity_id"),
            col("target_id"),
            col("jurisdiction"),
        ])
        .unique_stable(None, UniqueKeepStrategy::First);

    Ok(conflicts
        .join(accounts, group(), group(), JoinArgs::new(JoinType::Inner))
        .join(involved, group(), group(), JoinArgs::new(JoinType::Inner))
        // One detail per group, encoded before the group meets its jurisdictions.
        .select([
            col("sod_rule_id"),
            col("identity_id"),
            col("target_id"),
            json::object(vec![
                Member::Value(col("sod_rule_id")),
                Member::Value(col("rule_name")),
                Member::Value(col("identity_id")),
                Member::Value(col("target_id")),
                Member::Value(ts_text(lit(ctx.window_start)).alias("window_start")),
                Member::Value(ts_text(lit(ctx.t)).alias("window_end")),
                Member::Value(col("jurisdictions_involved")),
                Member::Value(col("accounts")),
                Member::Json("functions", col("functions")),
            ])
            .alias("detail"),
        ])
        .join(
            finding_rows,
            group(),
            group(),
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col("jurisdiction"),
            col("sod_rule_id"),
            col("identity_id"),
            col("target_id"),
            lit("critical").alias("severity"),
            lit("open").alias("status"),
            col("detail"),
        ])
        .sort(
            ["sod_rule_id", "identity_id", "target_id", "jurisdiction"],
            SortMultipleOptions::default(),
        )
        .collect()?)
}

fn empty() -> DataFrame {
    DataFrame::empty_with_schema(&Schema::from_iter([
        Field::new("jurisdiction".into(), DataType::String),
        Field::new("sod_rule_id".into(), DataType::String),
        Field::new("identity_id".into(), DataType::String),
        Field::new("target_id".into(), DataType::String),
        Field::new("severity".into(), DataType::String),
        Field::new("status".into(), DataType::String),
        Field::new("detail".into(), DataType::String),
    ]))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn parts_hold_whole_identities_in_row_order() -> Result<()> {
        let ids = ["b", "a", "c", "a", "b", "d", "c", "a", "e", "d"];
        let matches = df!(
            "identity_id" => ids,
            "window_row" => (0..ids.len() as u32).collect::<Vec<_>>(),
        )?;
        let parts = by_identity(matches, 3)?;
        assert!(parts.len() > 1, "one part: {parts:?}");
        let mut part_of = HashMap::new();
        for (at, part) in parts.iter().enumerate() {
            let rows: Vec<u32> = part
                .column("window_row")?
                .u32()?
                .into_no_null_iter()
                .collect();
            assert!(rows.is_sorted(), "rows out of order: {rows:?}");
            for row in rows {
                let id = ids[row as usize];
                assert_eq!(*part_of.entry(id).or_insert(at), at, "{id} in two parts");
            }
        }
        assert_eq!(
            parts.iter().map(DataFrame::height).sum::<usize>(),
            ids.len()
        );
        Ok(())
    }
}
