//! DORMANT_ACCOUNT: interactive account unused beyond the dormancy period.

use polars::prelude::*;

use super::util::{days, detail, ts_text, with_thresholds, JoinOnAccount};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "DORMANT_ACCOUNT",
    window_rows: None,
    reads_events: true,
    title: "Interactive account unused beyond the dormancy period",
    fires: "active account of type human or shared, identity not terminated, `created_at` \
           null or older than N = dormant_account_days, and no successful `login` event \
           newer than N days",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Either {
        then: Severity::Medium,
        when: "the account has privileged access",
        otherwise: Severity::Low,
    },
    rationale: "Accounts nobody signs in to are not watched by their owners, so misuse or \
                takeover goes unnoticed; inactive accounts must be removed or disabled.",
    remediation: "Disable the account; re-enable it only on a documented request from its owner.",
    references: &["PCI DSS v4.0.1 req. 8.2.6"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Active human or shared account of a non-terminated identity, created more than N days
/// ago (or at an unknown time), with no successful login in the last N days.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let accounts = ctx.accounts.clone().lazy().filter(
        col("status")
            .eq(lit("active"))
            .and(col("account_type").is_in(
                lit(Series::new("types".into(), ["human", "shared"])).implode(false),
                false,
            ))
            .and(col("identity").is_not_null())
            .and(col("terminated").not()),
    );
    Ok(with_thresholds(accounts, ctx)
        .with_column((lit(ctx.t) - days("dormant_account_days")).alias("threshold"))
        .filter(
            col("created_at")
                .is_null()
                .or(col("created_at").lt(col("threshold"))),
        )
        .join_on_account(ctx.last_login.clone().lazy(), JoinType::Left)
        .filter(
            col("last_login")
                .gt_eq(col("threshold"))
                .fill_null(lit(false))
                .not(),
        )
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("account_id"),
            col("identity").alias("identity_id"),
            when(col("privileged_access"))
                .then(lit("medium"))
                .otherwise(lit("low"))
                .alias("severity"),
            detail(vec![
                ts_text(col("last_login"))
                    .fill_null(lit("never"))
                    .alias("last_login"),
                ts_text(col("created_at"))
                    .fill_null(lit("unknown"))
                    .alias("created_at"),
                col("dormant_account_days"),
                ts_text(col("threshold")).alias("no_login_since"),
                col("account_type"),
                col("privileged_access"),
            ]),
        ])
        .collect()?)
}
