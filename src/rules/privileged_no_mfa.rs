//! PRIVILEGED_NO_MFA: privileged account signed in without multi-factor authentication.

use polars::prelude::*;

use super::util::{detail, login, success, ts_text, with_thresholds, JoinOnAccount};
use super::window::Wanted;
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::policy::Policy;
use crate::resolve::{Ctx, Resolved};
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "PRIVILEGED_NO_MFA",
    window_rows: Some(window_rows),
    reads_events: true,
    title: "Privileged account signed in without multi-factor authentication",
    fires: "jurisdiction requires MFA for privileged access, the account has privileged \
           access, and it has successful `login` events in the activity window whose `mfa` \
           is not true",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "A stolen password alone opens a privileged session when the second factor is \
                not enforced; the jurisdiction requires MFA for privileged access.",
    remediation: "Enforce MFA on the system's sign-in for this account, rotate its credentials, \
                  and review the sessions listed.",
    references: &["PCI DSS v4.0.1 req. 8.4.1"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Successful logins not known to have used MFA.
fn window_rows(_: &Resolved, _: &Policy) -> Result<Wanted> {
    Ok(Wanted::when(
        success()
            .and(login())
            .and(col("mfa").eq(lit(true)).fill_null(lit(false)).not()),
    ))
}

/// Successful `login` events in the activity window, of an account with privileged access
/// in a jurisdiction requiring MFA for it, whose `mfa` is not true: an unknown factor
/// (null) is not evidence of MFA.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let privileged = ctx
        .accounts
        .clone()
        .lazy()
        .filter(col("privileged_access"))
        .select([
            col("system_id"),
            col("account_id"),
            col("identity").alias("identity_id"),
            col("account_type"),
        ]);
    let logins = ctx.window_events.clone().lazy().filter(
        col("outcome")
            .eq(lit("success"))
            .and(col("action").eq(lit("login")))
            .and(col("mfa").eq(lit(true)).fill_null(lit(false)).not()),
    );
    Ok(with_thresholds(logins, ctx)
        .filter(col("mfa_required_for_privileged"))
        .select([
            col("system_id"),
            col("account_id"),
            col("jurisdiction"),
            col("ts"),
            col("mfa"),
        ])
        .join_on_account(privileged, JoinType::Inner)
        .group_by([col("system_id"), col("account_id"), col("jurisdiction")])
        .agg([
            col("identity_id").first(),
            col("account_type").first(),
            len().cast(DataType::Int64).alias("logins_without_mfa"),
            col("mfa")
                .eq(lit(false))
                .fill_null(lit(false))
                .sum()
                .cast(DataType::Int64)
                .alias("mfa_false"),
            col("mfa")
                .is_null()
                .sum()
                .cast(DataType::Int64)
                .alias("mfa_unknown"),
            col("ts").min().alias("first_ts"),
            col("ts").max().alias("last_ts"),
        ])
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("account_id"),
            col("identity_id"),
            lit("high").alias("severity"),
            detail(vec![
                col("logins_without_mfa"),
                col("mfa_false"),
                col("mfa_unknown"),
                ts_text(col("first_ts")).alias("first_login"),
                ts_text(col("last_ts")).alias("last_login"),
                col("account_type"),
            ]),
        ])
        .collect()?)
}
