//! SELF_APPROVED_GRANT: grant given or approved by its own holder.

use polars::prelude::*;

use super::util::{detail, ts_text};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "SELF_APPROVED_GRANT",
    window_rows: None,
    reads_events: false,
    title: "Grant given or approved by its own holder",
    fires: "active grant whose `granted_by` or `approved_by` is the identity of the grant's \
           account",
    key: &["grant_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "Access one grants or approves for oneself bypasses the independent check that \
                access requests exist to enforce.",
    remediation: "Have an independent approver review the grant; revoke it if not approved, \
                  and remove the holder's ability to grant or approve their own access.",
    references: &["PCI DSS v4.0.1 req. 7.2.2"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Active grant whose `granted_by` or `approved_by` is the resolved identity of the grant's
/// account (accounts without an identity cannot be compared).
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let self_granted = col("granted_by").eq(col("identity")).fill_null(lit(false));
    let self_approved = col("approved_by").eq(col("identity")).fill_null(lit(false));
    Ok(ctx
        .grants
        .clone()
        .lazy()
        .filter(self_granted.clone().or(self_approved.clone()))
        .select([
            col("jurisdiction"),
            col("grant_id"),
            col("system_id"),
            col("account_id"),
            col("entitlement_id"),
            col("identity").alias("identity_id"),
            lit("high").alias("severity"),
            detail(vec![
                self_granted.alias("self_granted"),
                self_approved.alias("self_approved"),
                col("granted_by"),
                col("approved_by"),
                ts_text(col("granted_at")).alias("granted_at"),
                col("ticket"),
                col("kind").alias("entitlement_kind"),
                col("privileged_eff").alias("privileged"),
                col("effective"),
            ]),
        ])
        .collect()?)
}
