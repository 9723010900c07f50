//! POST_TERMINATION_ACTIVITY: activity on a leaver's account after termination.

use polars::prelude::*;

use super::util::{detail, success, ts_text, window_successes, with_activity_span, JoinOnAccount};
use super::window::Wanted;
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::policy::Policy;
use crate::resolve::{Ctx, Resolved};
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "POST_TERMINATION_ACTIVITY",
    window_rows: Some(window_rows),
    reads_events: true,
    title: "Activity on a leaver's account after termination",
    fires: "successful events in the activity window with `ts > terminated_at` by an account \
           of a terminated identity. No grace period; accounts of any status",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Fixed(Severity::Critical),
    rationale: "Successful activity after the owner left means the account was used by the \
                leaver or by someone else holding its credentials: a possible incident, not \
                only a control gap.",
    remediation: "Freeze the account now, open an incident, review every action listed since \
                  the termination time, and revoke all of the identity's access.",
    references: &["PCI DSS v4.0.1 req. 8.2.5"],
    freeze: Freeze::Account(Severity::Low),
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Successful events of accounts whose identity has left.
fn window_rows(r: &Resolved, _: &Policy) -> Result<Wanted> {
    Ok(Wanted::when(success()).account_in(r.accounts.clone().lazy().filter(col("terminated"))))
}

/// Successful events in the activity window after `terminated_at` by any account (whatever
/// its status) of an identity terminated at T. No grace period: any use after leaving is
/// suspicious.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let leavers = ctx
        .accounts
        .clone()
        .lazy()
        .filter(col("terminated"))
        .select([
            col("account_row"),
            col("identity").alias("identity_id"),
            col("terminated_at"),
            col("status").alias("account_status"),
            col("account_type"),
        ]);
    Ok(window_successes(ctx)
        .select([
            col("system_id"),
            col("account_id"),
            col("account_row"),
            col("jurisdiction"),
            col("ts"),
            col("action"),
        ])
        .join_on_account_row(leavers, JoinType::Inner)
        .filter(col("ts").gt(col("terminated_at")))
        .group_by([col("system_id"), col("account_id"), col("jurisdiction")])
        .agg(with_activity_span([
            col("identity_id").first(),
            col("terminated_at").first(),
            col("account_status").first(),
            col("account_type").first(),
            len().cast(DataType::Int64).alias("events"),
        ]))
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("account_id"),
            col("identity_id"),
            lit("critical").alias("severity"),
            detail(vec![
                ts_text(col("terminated_at")).alias("terminated_at"),
                col("events"),
                ts_text(col("first_ts")).alias("first_event"),
                ts_text(col("last_ts")).alias("last_event"),
                col("actions"),
                col("account_status"),
                col("account_type"),
            ]),
        ])
        .collect()?)
}
