//! GRADE_EXCEEDED: grant riskier than the holder's job function allows.

use polars::prelude::*;

use super::table::{Detail, Layout, Section, Subject, Table};
use super::util::detail;
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::policy::Severity;
use crate::resolve::Ctx;

pub static META: RuleMeta = RuleMeta {
    code: "GRADE_EXCEEDED",
    window_rows: None,
    reads_events: false,
    title: "Grant riskier than the holder's job function allows",
    fires: "effective grant whose account's identity is not terminated at T and has a \
           `job_function` listed in grading.toml, and the grant's entitlement or a \
           permission of its closure has a risk above that function's `max_risk` (null risk \
           counts as medium; low < medium < high < critical). Checks the granted entitlement \
           and the permissions of its closure, not the roles in between",
    key: &["grant_id"],
    severity: SeverityPolicy::Either {
        then: Severity::High,
        when: "the entitlement is privileged",
        otherwise: Severity::Medium,
    },
    rationale: "Access graded above what a job function needs breaks least privilege: the \
                holder can do more damage, by error or intent, than the role requires.",
    remediation: "Revoke the grant or replace it with a lower-risk entitlement; if the person \
                  needs it, document the business reason or change their job function.",
    references: &["PCI DSS v4.0.1 req. 7.2.1", "PCI DSS v4.0.1 req. 7.2.2"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: Some(Table {
        layout: &Layout {
            id: "grade",
            section: Section::Grading,
            title: "Grade breaches by job function",
            intro: "Entitlements riskier than the holder's job function may hold (grading.toml).",
            headers: &[
                "Identity",
                "Account",
                "Highest risk held",
                "Entitlement (path)",
                "Above the grade",
            ],
            group: Some(|d| {
                (
                    d.txt("job_function"),
                    format!("may hold up to risk {}", d.txt("max_risk")),
                )
            }),
        },
        cells,
    }),
    summary: None,
};

fn cells(f: &dyn Subject, d: &Detail) -> Vec<String> {
    vec![
        f.identity(),
        f.account(),
        d.txt("highest_risk"),
        format!(
            "{} ({})",
            d.txt("highest_risk_entitlement_id"),
            d.txt("highest_risk_path").replace(" > ", " → ")
        ),
        d.txt("exceeding_count"),
    ]
}

/// Exceeding entitlements/permissions listed per finding; the count covers all of them.
const MAX_SHOWN: usize = 20;

/// Risk words as [`Severity::rank`]s; a null risk counts as medium.
fn risk_rank(e: Expr) -> Expr {
    Severity::ALL
        .into_iter()
        .fold(lit(Severity::Medium.rank()), |otherwise, s| {
            when(e.clone().eq(lit(s.as_str())))
                .then(lit(s.rank()))
                .otherwise(otherwise)
        })
}

/// Effective grant of a non-terminated identity whose graded job function's `max_risk` is
/// exceeded by the granted entitlement or a permission of its closure (not the roles in
/// between).
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let (grades, graded) = graded_grants(ctx)?;
    let exceeding = exceeding(carriers(ctx, graded.clone())?);
    findings(ctx, grades, graded, exceeding)
}

/// The key what exceeds a grade is worked out on: the entitlement and the grade's rank.
fn ent_key() -> [Expr; 2] {
    [col("entitlement_row"), col("max_rank")]
}

/// Per identity not terminated whose job function is graded: `identity_row`,
/// `job_function`, the grade (`max_risk`, `max_rank`). And the effective grants of those
/// identities as numbers: `grant_row`, `identity_row`, `entitlement_row`, `max_rank`.
fn graded_grants(ctx: &Ctx) -> Result<(LazyFrame, LazyFrame)> {
    let jf = &ctx.policy.grading.job_functions;
    let grading = df!(
        "job_function" => jf.keys().cloned().collect::<Vec<String>>(),
        "max_risk" => jf.values().map(|r| r.as_str().to_string()).collect::<Vec<String>>(),
        "max_rank" => jf.values().map(|r| r.rank()).collect::<Vec<i32>>(),
    )?;
    let grades = ctx
        .identities
        .clone()
        .lazy()
        .select([col("identity_row"), col("job_function")])
        .join(
            grading.lazy(),
            [col("job_function")],
            [col("job_function")],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()?
        .lazy();
    // Numbers only, materialised once: millions of grants, read by the carriers and the
    // final join.
    let graded = ctx
        .staff_grant_rows()
        .select([
            col("grant_row"),
            col("identity_row"),
            col("entitlement_row"),
        ])
        .join(
            grades
                .clone()
                .select([col("identity_row"), col("max_rank")]),
            [col("identity_row")],
            [col("identity_row")],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()?
        .lazy();
    Ok((grades, graded))
}

/// Per (entitlement, rank) granted, what carries risk: the entitlement itself and every
/// permission of its closure, each with its path and `carrier_rank`.
fn carriers(ctx: &Ctx, graded: LazyFrame) -> Result<LazyFrame> {
    // What exceeds a grade depends only on the entitlement and the grade's rank, so it is
    // worked out once per (entitlement, rank) rather than per grant: millions of grants
    // share a few thousand of those.
    let granted = graded
        .select(ent_key())
        .unique(None, UniqueKeepStrategy::Any);
    let own = granted
        .clone()
        .join(
            ctx.entitlements.clone().lazy().select([
                col("entitlement_row"),
                col("entitlement_id"),
                col("kind"),
                col("risk"),
            ]),
            [col("entitlement_row")],
            [col("entitlement_row")],
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col("entitlement_row"),
            col("max_rank"),
            col("entitlement_id").alias("carrier_id"),
            col("kind").alias("carrier_kind"),
            col("risk").alias("carrier_risk"),
            col("entitlement_id").alias("carrier_path"),
        ]);
    let perm_risk = ctx.entitlements.clone().lazy().select([
        col("entitlement_row").alias("permission_row"),
        col("risk").alias("carrier_risk"),
    ]);
    let through_closure = granted
        .join(
            ctx.closure.clone().lazy().select([
                col("entitlement_row"),
                col("permission_row"),
                col("permission_id"),
                col("path"),
            ]),
            [col("entitlement_row")],
            [col("entitlement_row")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            perm_risk,
            [col("permission_row")],
            [col("permission_row")],
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col("entitlement_row"),
            col("max_rank"),
            col("permission_id").alias("carrier_id"),
            lit("permission").alias("carrier_kind"),
            col("carrier_risk"),
            col("path").alias("carrier_path"),
        ]);
    // A granted permission is also its own closure: keep one row, the grant's own.
    Ok(concat([own, through_closure], UnionArgs::default())?
        .unique_stable(
            Some(cols(["entitlement_row", "max_rank", "carrier_id"])),
            UniqueKeepStrategy::First,
        )
        .with_column(risk_rank(col("carrier_risk")).alias("carrier_rank")))
}

/// Per (entitlement, rank), the carriers above the rank, riskiest first: their count, the
/// riskiest one and at most MAX_SHOWN of them.
fn exceeding(carriers: LazyFrame) -> LazyFrame {
    carriers
        .filter(col("carrier_rank").gt(col("max_rank")))
        .sort_by_exprs(
            [
                col("entitlement_row"),
                col("max_rank"),
                col("carrier_rank"),
                col("carrier_id"),
            ],
            SortMultipleOptions::default()
                .with_order_descending_multi([false, false, true, false])
                .with_maintain_order(true),
        )
        .with_column(
            as_struct(vec![
                col("carrier_id").alias("entitlement_id"),
                col("carrier_kind").alias("kind"),
                col("carrier_risk").fill_null(lit("medium")).alias("risk"),
                col("carrier_path").alias("path"),
            ])
            .alias("carrier"),
        )
        .group_by_stable(ent_key())
        .agg([
            len().alias("exceeding_count"),
            col("carrier_risk")
                .fill_null(lit("medium"))
                .first()
                .alias("highest_risk"),
            col("carrier_id")
                .first()
                .alias("highest_risk_entitlement_id"),
            col("carrier_path").first().alias("highest_risk_path"),
            col("carrier").head(Some(MAX_SHOWN)).alias("exceeding"),
        ])
}

/// One finding per graded grant whose (entitlement, rank) has carriers above the grade.
fn findings(
    ctx: &Ctx,
    grades: LazyFrame,
    graded: LazyFrame,
    exceeding: LazyFrame,
) -> Result<DataFrame> {
    let exceeded = graded
        .join(
            exceeding,
            ent_key(),
            ent_key(),
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            grades.select([col("identity_row"), col("job_function"), col("max_risk")]),
            [col("identity_row")],
            [col("identity_row")],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()?;
    let exceeded = ctx.with_grant_columns(
        &exceeded,
        &[
            "jurisdiction",
            "grant_id",
            "identity",
            "system_id",
            "account_id",
            "entitlement_id",
            "privileged_eff",
            "kind",
            "risk",
        ],
    )?;
    Ok(exceeded
        .lazy()
        .select([
            col("jurisdiction"),
            col("grant_id"),
            col("identity").alias("identity_id"),
            col("system_id"),
            col("account_id"),
            col("entitlement_id"),
            when(col("privileged_eff"))
                .then(lit("high"))
                .otherwise(lit("medium"))
                .alias("severity"),
            detail(vec![
                col("job_function"),
                col("max_risk"),
                col("highest_risk"),
                col("highest_risk_entitlement_id"),
                col("highest_risk_path"),
                col("kind").alias("granted_kind"),
                col("risk").fill_null(lit("medium")).alias("granted_risk"),
                col("privileged_eff").alias("privileged"),
                col("exceeding_count"),
                col("exceeding"),
            ]),
        ])
        .collect()?)
}
