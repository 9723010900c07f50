//! SOD_CONFLICT: an identity holds, through its effective grants on all its accounts, a
//! permission for every function of a static segregation-of-duties rule.

use polars::prelude::*;

use super::json::{self, Member};
use super::util::ts_text;
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::policy::{Policy, Scope, SodKind, SodRule};
use crate::resolve::Ctx;

pub static META: RuleMeta = RuleMeta {
    code: "SOD_CONFLICT",
    window_rows: None,
    reads_events: false,
    title: "Segregation-of-duties conflict in held permissions",
    fires: "static rule: through the closures of the effective grants of all its accounts, \
           the identity holds at least one permission matching each function. scope \
           `global`: one finding per jurisdiction of the systems whose permissions matched \
           any function; scope `jurisdiction`: one finding per jurisdiction in which the \
           permissions of that jurisdiction's systems alone satisfy every function. `status` \
           is `mitigated` when a valid exception exists for (rule, identity), else `open`. \
           One permission may satisfy several functions at once. For a `global` rule, \
           permissions in a jurisdiction that disables the rule still count towards the \
           conflict; only that jurisdiction's finding is dropped",
    key: &["sod_rule_id", "identity_id"],
    severity: SeverityPolicy::FromPolicy("the SoD rule's risk"),
    rationale: "One person who holds permissions for incompatible functions (for example \
                maintaining beneficiaries and releasing payouts) can complete a sensitive \
                process alone, so fraud or error passes without an independent check.",
    remediation: "Remove one side of the conflict from the identity (revoke the grant or change \
                  the role), or record a time-limited exception approved by someone other than \
                  the holder, naming the compensating control.",
    references: &["PCI DSS v4.0.1 req. 7.2.1", "PCI DSS v4.0.1 req. 7.2.2"],
    freeze: Freeze::Never,
    sod_exceptions: true,
    table: None,
    summary: None,
};

/// Most matches listed per function in the evidence; the full count is always given.
pub(super) const MAX_MATCHES: usize = 10;

/// The rules of one kind as frames: `rules` (`sod_rule_id, rule_name, scope, risk,
/// n_functions`), `functions` (`sod_rule_id, fidx, function, patterns`) and `patterns`
/// (`sod_rule_id, fidx, pat_system` (null for `*`), `pat_name`).
pub(super) struct SodFrames {
    pub rules: LazyFrame,
    pub functions: LazyFrame,
    pub patterns: LazyFrame,
    pub empty: bool,
}

pub(super) fn sod_frames(policy: &Policy, kind: SodKind) -> Result<SodFrames> {
    let rules: Vec<&SodRule> = policy.sod_rules.iter().filter(|r| r.kind == kind).collect();
    let (mut r_id, mut r_name, mut r_scope, mut r_risk, mut r_n) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut f_rule, mut f_idx, mut f_name, mut f_pats) = (vec![], vec![], vec![], vec![]);
    let (mut p_rule, mut p_idx, mut p_sys, mut p_name) = (vec![], vec![], vec![], vec![]);
    for rule in &rules {
        r_id.push(rule.id.clone());
        r_name.push(rule.name.clone());
        r_scope.push(rule.scope.as_str());
        r_risk.push(rule.risk.as_str());
        r_n.push(rule.functions.len() as i64);
        for (i, f) in rule.functions.iter().enumerate() {
            let fidx = i as i64;
            f_rule.push(rule.id.clone());
            f_idx.push(fidx);
            f_name.push(f.name.clone());
            f_pats.push(
                f.patterns
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            for p in &f.patterns {
                p_rule.push(rule.id.clone());
                p_idx.push(fidx);
                p_sys.push(p.system.clone());
                p_name.push(p.name.clone());
            }
        }
    }
    let rules_df = df!(
        "sod_rule_id" => r_id,
        "rule_name" => r_name,
        "scope" => r_scope,
        "risk" => r_risk,
        "n_functions" => r_n,
    )?;
    let functions = df!(
        "sod_rule_id" => f_rule,
        "fidx" => f_idx,
        "function" => f_name,
        "patterns" => f_pats,
    )?;
    let patterns = df!(
        "sod_rule_id" => p_rule,
        "fidx" => p_idx,
        "pat_system" => p_sys,
        "pat_name" => p_name,
    )?;
    Ok(SodFrames {
        empty: rules.is_empty(),
        rules: rules_df.lazy(),
        functions: functions.lazy(),
        patterns: patterns.lazy(),
    })
}

/// Groups (one row per group) that cover every function of their rule, with each
/// function's evidence (`fields`, read on `per_function`'s rows) as the JSON array
/// `functions`, in function order.
pub(super) fn covering_groups(
    per_function: LazyFrame,
    sod: &SodFrames,
    group: Vec<Expr>,
    fields: Vec<Member>,
) -> LazyFrame {
    let rule_key = || [col("sod_rule_id")];
    let function_key = || [col("sod_rule_id"), col("fidx")];
    per_function
        .join(
            sod.functions.clone(),
            function_key(),
            function_key(),
            JoinArgs::new(JoinType::Inner),
        )
        // A group keeps its rows' order: sorted once here rather than in every group.
        .sort(
            ["fidx"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .group_by(group)
        .agg([
            len().cast(DataType::Int64).alias("covered"),
            json::object(fields).alias("functions"),
        ])
        .with_column(json::array(col("functions")).alias("functions"))
        .join(
            sod.rules.clone(),
            rule_key(),
            rule_key(),
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("covered").eq(col("n_functions")))
}

/// Per group, the distinct values of `fields` in ascending order, as a list named `name`
/// (of structs when there are several fields).
pub(super) fn distinct_sorted(
    rows: LazyFrame,
    group: &[Expr],
    fields: &[&str],
    name: &str,
) -> LazyFrame {
    let mut selected = group.to_vec();
    selected.extend(fields.iter().map(|f| col(*f)));
    let value = match fields {
        [one] => col(*one),
        _ => as_struct(fields.iter().map(|f| col(*f)).collect()),
    };
    rows.select(selected)
        .unique(None, UniqueKeepStrategy::Any)
        .sort(fields.to_vec(), SortMultipleOptions::default())
        .group_by(group)
        .agg([value.alias(name)])
}

/// Pairs every item (a frame with `system_id` and `name_col`) with each function whose
/// patterns match it, adding `sod_rule_id, fidx`. `*` patterns match on the name alone.
/// An item matched by several patterns of one function appears once for that function;
/// `item_key` identifies an item.
pub(super) fn match_functions(
    items: LazyFrame,
    name_col: &str,
    patterns: LazyFrame,
    item_key: &[&str],
) -> Result<LazyFrame> {
    let specific = items.clone().join(
        patterns.clone().filter(col("pat_system").is_not_null()),
        [col("system_id"), col(name_col)],
        [col("pat_system"), col("pat_name")],
        JoinArgs::new(JoinType::Inner),
    );
    let wildcard = items.join(
        patterns
            .filter(col("pat_system").is_null())
            .drop(cols(["pat_system"])),
        [col(name_col)],
        [col("pat_name")],
        JoinArgs::new(JoinType::Inner),
    );
    let mut subset: Vec<PlSmallStr> = vec!["sod_rule_id".into(), "fidx".into()];
    subset.extend(item_key.iter().map(|s| PlSmallStr::from(*s)));
    // Column order of the two joins is the same (items' columns, then rule and function).
    Ok(concat([specific, wildcard], UnionArgs::default())?
        .unique_stable(Some(cols(subset)), UniqueKeepStrategy::First))
}

/// A rule evaluates to groups: with `global` scope all of an identity's matches form one
/// group (`group_j` empty), with `jurisdiction` scope each jurisdiction is its own group.
/// A group that covers every function is a conflict; it yields one finding per
/// jurisdiction among its matches.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let sod = sod_frames(ctx.policy, SodKind::Static)?;
    if sod.empty {
        return Ok(empty());
    }
    let matches = matches(ctx, &sod)?;
    let conflicts = conflicts(matches.clone(), &sod);
    evidence(ctx, matches, conflicts)
}

/// The key of a group.
fn group() -> Vec<Expr> {
    vec![col("sod_rule_id"), col("identity_id"), col("group_j")]
}

/// Every effective grant of an identity with each function a permission of its closure
/// matches, the rule's columns and the group (`group_j`) the match counts in.
fn matches(ctx: &Ctx, sod: &SodFrames) -> Result<LazyFrame> {
    // Match the (small) closure against the patterns first, then bring in the grants.
    let matched_closure = match_functions(
        ctx.closure.clone().lazy(),
        "permission_id",
        sod.patterns.clone(),
        &["system_id", "entitlement_id", "permission_id"],
    )?;
    Ok(ctx
        .grants
        .clone()
        .lazy()
        .filter(col("effective").and(col("identity").is_not_null()))
        .select([
            col("identity").alias("identity_id"),
            col("system_id"),
            col("account_id"),
            col("grant_id"),
            col("entitlement_id"),
            col("jurisdiction"),
            col("granted_at"),
        ])
        .join(
            matched_closure,
            [col("system_id"), col("entitlement_id")],
            [col("system_id"), col("entitlement_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            sod.rules.clone(),
            [col("sod_rule_id")],
            [col("sod_rule_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .with_column(
            when(col("scope").eq(lit(Scope::Global.as_str())))
                .then(lit(""))
                .otherwise(col("jurisdiction"))
                .alias("group_j"),
        )
        // Read three times (conflicts, jurisdictions involved, finding rows): computed once.
        .collect()?
        .lazy())
}

/// The groups that cover every function of their rule, one row per group, with each
/// function's matches (at most MAX_MATCHES listed) as evidence.
fn conflicts(matches: LazyFrame, sod: &SodFrames) -> LazyFrame {
    let per_function = matches
        // A group keeps its rows' order: sorted once here rather than in every group.
        .sort(
            [
                "jurisdiction",
                "system_id",
                "permission_id",
                "account_id",
                "grant_id",
            ],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .group_by([
            col("sod_rule_id"),
            col("identity_id"),
            col("group_j"),
            col("fidx"),
        ])
        .agg([
            len().cast(DataType::Int64).alias("match_count"),
            col("permission_id")
                .n_unique()
                .cast(DataType::Int64)
                .alias("permission_count"),
            as_struct(vec![
                col("jurisdiction"),
                col("system_id"),
                col("account_id"),
                col("grant_id"),
                col("entitlement_id"),
                col("permission_id"),
                ts_text(col("granted_at")).alias("granted_at"),
                col("path").alias("role_path"),
                concat_str(
                    [
                        col("identity_id"),
                        concat_str([col("account_id"), col("system_id")], "@", false),
                        col("path"),
                    ],
                    " > ",
                    false,
                )
                .alias("access_path"),
            ])
            .head(Some(MAX_MATCHES))
            .alias("matches"),
        ])
        .with_column(json::list("matches"));
    covering_groups(
        per_function,
        sod,
        group(),
        vec![
            Member::Value(col("function")),
            Member::Value(col("patterns")),
            Member::Value(col("match_count")),
            Member::Value(col("permission_count")),
            Member::Json("matches", col("matches")),
        ],
    )
}

/// One finding per conflict and jurisdiction among its matches, with the jurisdictions
/// involved and the exception that decides the status.
fn evidence(ctx: &Ctx, matches: LazyFrame, conflicts: LazyFrame) -> Result<DataFrame> {
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
            col("group_j"),
            col("jurisdiction"),
        ])
        .unique_stable(None, UniqueKeepStrategy::First);

    let keys = [col("sod_rule_id"), col("identity_id"), col("group_j")];
    Ok(conflicts
        .join(
            involved,
            keys.clone(),
            keys.clone(),
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            finding_rows,
            keys.clone(),
            keys,
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            exceptions(ctx),
            [col("sod_rule_id"), col("identity_id")],
            [col("sod_rule_id"), col("identity_id")],
            JoinArgs::new(JoinType::Left),
        )
        .with_column(
            when(
                col("exception")
                    .struct_()
                    .field_by_name("valid")
                    .eq(lit(true)),
            )
            .then(lit("mitigated"))
            .otherwise(lit("open"))
            .alias("status"),
        )
        .select([
            col("jurisdiction"),
            col("sod_rule_id"),
            col("identity_id"),
            col("risk").alias("severity"),
            col("status"),
            json::object(vec![
                Member::Value(col("sod_rule_id")),
                Member::Value(col("rule_name")),
                Member::Value(col("scope")),
                Member::Value(col("risk")),
                Member::Value(col("identity_id")),
                Member::Value(col("jurisdictions_involved")),
                Member::Json("functions", col("functions")),
                Member::Value(col("status")),
                Member::Value(col("exception")),
            ])
            .alias("detail"),
        ])
        .sort(
            ["sod_rule_id", "identity_id", "jurisdiction"],
            SortMultipleOptions::default(),
        )
        .collect()?)
}

/// Per (rule, identity) the exception that decides the status: a valid one if any
/// (the one lasting longest), else the one that expired last (the evidence the contract
/// names), else the most recent other invalid one; with why it does not count.
fn exceptions(ctx: &Ctx) -> LazyFrame {
    let t = ctx.t;
    let self_approved = col("approved_by").eq(col("identity_id"));
    let not_yet = col("approved_at").gt_eq(lit(t));
    let expired = col("expires_at").lt(lit(t));
    let reason = concat_str(
        [
            when(expired.clone())
                .then(lit("expired"))
                .otherwise(null_str()),
            when(not_yet.clone())
                .then(lit("not yet approved at T"))
                .otherwise(null_str()),
            when(self_approved.clone())
                .then(lit("self-approved"))
                .otherwise(null_str()),
        ],
        ", ",
        true,
    );
    ctx.tables
        .exceptions
        .clone()
        .lazy()
        .with_columns([
            self_approved
                .or(not_yet)
                .or(expired.clone())
                .not()
                .alias("valid"),
            expired.alias("lapsed"),
        ])
        .sort(
            [
                "valid",
                "lapsed",
                "expires_at",
                "approved_at",
                "exception_id",
            ],
            SortMultipleOptions::default()
                .with_order_descending_multi([true, true, true, true, false])
                .with_maintain_order(true),
        )
        .unique_stable(
            Some(cols(["sod_rule_id", "identity_id"])),
            UniqueKeepStrategy::First,
        )
        .select([
            col("sod_rule_id"),
            col("identity_id"),
            as_struct(vec![
                col("exception_id"),
                col("valid"),
                when(col("valid"))
                    .then(null_str())
                    .otherwise(reason)
                    .alias("not_valid_because"),
                col("approved_by"),
                ts_text(col("approved_at")).alias("approved_at"),
                ts_text(col("expires_at")).alias("expires_at"),
                col("control"),
            ])
            .alias("exception"),
        ])
}

fn null_str() -> Expr {
    lit(NULL).cast(DataType::String)
}

fn empty() -> DataFrame {
    DataFrame::empty_with_schema(&Schema::from_iter([
        Field::new("jurisdiction".into(), DataType::String),
        Field::new("sod_rule_id".into(), DataType::String),
        Field::new("identity_id".into(), DataType::String),
        Field::new("severity".into(), DataType::String),
        Field::new("status".into(), DataType::String),
        Field::new("detail".into(), DataType::String),
    ]))
}
