//! ORPHAN_ACCOUNT: active account without an accountable owner.

use polars::prelude::*;

use super::util::{detail, ts_text};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "ORPHAN_ACCOUNT",
    window_rows: None,
    reads_events: false,
    title: "Active account without an accountable owner",
    fires: "active account with no identity_id, or one that names no existing identity. Every \
           account type",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Either {
        then: Severity::High,
        when: "the account has privileged access",
        otherwise: Severity::Medium,
    },
    rationale: "An account that maps to no known person escapes leaver processing and access \
                reviews; nobody is accountable for what it does.",
    remediation: "Identify the owner and record the identity on the account, or disable it.",
    references: &["PCI DSS v4.0.1 req. 7.2.4"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Active account (any type) whose `identity_id` is null or names no loaded identity.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    Ok(ctx
        .accounts
        .clone()
        .lazy()
        .filter(
            col("status")
                .eq(lit("active"))
                .and(col("identity").is_null()),
        )
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("account_id"),
            when(col("privileged_access"))
                .then(lit("high"))
                .otherwise(lit("medium"))
                .alias("severity"),
            detail(vec![
                when(col("identity_id").is_null())
                    .then(lit("no identity_id"))
                    .otherwise(lit("identity_id names no known identity"))
                    .alias("reason"),
                col("identity_id").alias("recorded_identity_id"),
                col("account_type"),
                ts_text(col("created_at")).alias("created_at"),
                col("privileged_access"),
            ]),
        ])
        .collect()?)
}
