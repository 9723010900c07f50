//! UNAPPROVED_PRIVILEGED_GRANT: privileged grant without a recorded approval.

use polars::prelude::*;

use super::util::{detail, ts_text};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "UNAPPROVED_PRIVILEGED_GRANT",
    window_rows: None,
    reads_events: false,
    title: "Privileged grant without a recorded approval",
    fires: "active grant of a privileged entitlement with null `approved_by`",
    key: &["grant_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "Privileged access must be approved by an authorised person before it is \
                granted; a privileged grant with no approver on record cannot be shown to be \
                authorised.",
    remediation: "Obtain and record the approval, or revoke the grant.",
    references: &["PCI DSS v4.0.1 req. 7.2.2"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Active grant of a privileged entitlement (it or anything it reaches is privileged) with
/// null `approved_by`. Evidence names the privileged permissions reached and their role
/// paths, so the reviewer sees why the grant counts as privileged.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let privileged_perms = ctx
        .entitlements
        .clone()
        .lazy()
        .filter(col("privileged").fill_null(lit(false)))
        .select([
            col("system_id"),
            col("entitlement_id").alias("permission_id"),
        ]);
    let grants = ctx
        .grants
        .clone()
        .lazy()
        .filter(col("privileged_eff").and(col("approved_by").is_null()));
    let paths = grants
        .clone()
        .select([col("grant_id"), col("system_id"), col("entitlement_id")])
        .join(
            ctx.closure.clone().lazy(),
            [col("system_id"), col("entitlement_id")],
            [col("system_id"), col("entitlement_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            privileged_perms,
            [col("system_id"), col("permission_id")],
            [col("system_id"), col("permission_id")],
            JoinArgs::new(JoinType::Semi),
        )
        .group_by([col("grant_id")])
        .agg([col("path")
            .sort(SortOptions::default())
            .alias("privileged_paths")]);
    let own_flag = ctx.entitlements.clone().lazy().select([
        col("system_id"),
        col("entitlement_id"),
        col("privileged").alias("flagged_privileged"),
    ]);
    Ok(grants
        .join(
            own_flag,
            [col("system_id"), col("entitlement_id")],
            [col("system_id"), col("entitlement_id")],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            paths,
            [col("grant_id")],
            [col("grant_id")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("jurisdiction"),
            col("grant_id"),
            col("system_id"),
            col("account_id"),
            col("entitlement_id"),
            col("identity").alias("identity_id"),
            lit("high").alias("severity"),
            detail(vec![
                col("kind").alias("entitlement_kind"),
                col("flagged_privileged"),
                col("privileged_paths"),
                col("granted_by"),
                ts_text(col("granted_at")).alias("granted_at"),
                col("ticket"),
                col("effective"),
                col("account_status"),
            ]),
        ])
        .collect()?)
}
