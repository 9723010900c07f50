//! SHARED_PRIVILEGED_ACCOUNT: shared account with privileged access.

use polars::prelude::*;

use super::util::{detail, JoinOnAccount};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "SHARED_PRIVILEGED_ACCOUNT",
    window_rows: None,
    reads_events: false,
    title: "Shared account with privileged access",
    fires: "active account of type shared with privileged access",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "Privileged actions taken through a shared account cannot be attributed to one \
                person; shared accounts are allowed only by exception and never for privileged \
                access without compensating controls.",
    remediation: "Move the privileged entitlements to personal accounts, or vault the shared \
                  account's credentials with per-use check-out and record the exception.",
    references: &["PCI DSS v4.0.1 req. 8.2.2"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Active account of type `shared` holding an effective grant of a privileged entitlement.
/// Evidence lists those grants.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let privileged_grants = ctx
        .grants
        .clone()
        .lazy()
        .filter(col("effective").and(col("privileged_eff")))
        .group_by([col("system_id"), col("account_id")])
        .agg([
            col("grant_id")
                .sort(SortOptions::default())
                .alias("privileged_grants"),
            col("entitlement_id")
                .unique()
                .sort(SortOptions::default())
                .alias("privileged_entitlements"),
        ]);
    Ok(ctx
        .accounts
        .clone()
        .lazy()
        .filter(
            col("status")
                .eq(lit("active"))
                .and(col("account_type").eq(lit("shared")))
                .and(col("privileged_access")),
        )
        .join_on_account(privileged_grants, JoinType::Left)
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("account_id"),
            col("identity").alias("identity_id"),
            lit("high").alias("severity"),
            detail(vec![
                col("identity_id").alias("recorded_owner"),
                col("privileged_grants"),
                col("privileged_entitlements"),
            ]),
        ])
        .collect()?)
}
