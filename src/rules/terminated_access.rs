//! TERMINATED_ACCESS: leaver still holds an active account.

use polars::prelude::*;

use super::util::{detail, hours, ts_text, with_thresholds};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "TERMINATED_ACCESS",
    window_rows: None,
    reads_events: false,
    title: "Leaver still holds an active account",
    fires: "active account whose identity is terminated with `terminated_at < T - \
           termination_grace_hours`. Every account type",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "An account that stays active after its owner left can be used by the leaver or \
                taken over unnoticed; regulators expect leavers' access removed promptly.",
    remediation: "Disable the account now, revoke its grants, and confirm no activity since the \
                  termination date.",
    references: &["PCI DSS v4.0.1 req. 8.2.5"],
    freeze: Freeze::Account(Severity::Low),
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Active account whose identity is terminated with `terminated_at < T - grace hours`.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let accounts = ctx
        .accounts
        .clone()
        .lazy()
        .filter(col("status").eq(lit("active")).and(col("terminated")));
    Ok(with_thresholds(accounts, ctx)
        .filter(col("terminated_at").lt(lit(ctx.t) - hours("termination_grace_hours")))
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("account_id"),
            col("identity").alias("identity_id"),
            lit("high").alias("severity"),
            detail(vec![
                ts_text(col("terminated_at")).alias("terminated_at"),
                col("termination_grace_hours"),
                col("account_type"),
                col("privileged_access"),
            ]),
        ])
        .collect()?)
}
