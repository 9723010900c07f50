//! EXPIRED_GRANT: grant past its expiry date still active.

use polars::prelude::*;

use super::util::{detail, ts_text};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "EXPIRED_GRANT",
    window_rows: None,
    reads_events: false,
    title: "Grant past its expiry date still active",
    fires: "active grant with `expires_at < T`",
    key: &["grant_id"],
    severity: SeverityPolicy::Either {
        then: Severity::High,
        when: "the entitlement is privileged",
        otherwise: Severity::Medium,
    },
    rationale: "Time-limited access was approved only until its expiry date; access kept \
                beyond it is access nobody approved.",
    remediation: "Revoke the grant now, or obtain a new approval with a new expiry date.",
    references: &["PCI DSS v4.0.1 req. 7.2.4", "PCI DSS v4.0.1 req. 7.2.2"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Active grant (expiry does not end a grant) with `expires_at < T`, whatever the account's
/// status: a disabled account can be re-enabled with the expired access still attached.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    Ok(ctx
        .grants
        .clone()
        .lazy()
        .filter(col("expires_at").lt(lit(ctx.t)))
        .select([
            col("jurisdiction"),
            col("grant_id"),
            col("system_id"),
            col("account_id"),
            col("entitlement_id"),
            col("identity").alias("identity_id"),
            when(col("privileged_eff"))
                .then(lit("high"))
                .otherwise(lit("medium"))
                .alias("severity"),
            detail(vec![
                ts_text(col("expires_at")).alias("expires_at"),
                (lit(ctx.t) - col("expires_at"))
                    .floor_div(lit(crate::time::MICROS_PER_DAY))
                    .alias("days_past_expiry"),
                ts_text(col("granted_at")).alias("granted_at"),
                col("granted_by"),
                col("approved_by"),
                col("ticket"),
                col("kind").alias("entitlement_kind"),
                col("privileged_eff").alias("privileged"),
                col("account_status"),
            ]),
        ])
        .collect()?)
}
