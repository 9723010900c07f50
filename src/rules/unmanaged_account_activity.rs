//! UNMANAGED_ACCOUNT_ACTIVITY: activity by an account unknown to the account inventory.

use polars::prelude::*;

use super::util::{detail, success, ts_text, window_successes, with_activity_span};
use super::window::Wanted;
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::policy::Policy;
use crate::resolve::{Ctx, Resolved};
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "UNMANAGED_ACCOUNT_ACTIVITY",
    window_rows: Some(window_rows),
    reads_events: true,
    title: "Activity by an account unknown to the account inventory",
    fires: "successful events in the activity window by an account absent from `accounts`",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "Successful activity by an account missing from the inventory means access \
                exists outside provisioning and review: a backdoor, a local account, or an \
                incomplete export.",
    remediation: "Find who created and uses the account; disable it or bring it under \
                  provisioning with an owner, and review the actions listed.",
    references: &["PCI DSS v4.0.1 req. 7.2.4"],
    freeze: Freeze::Account(Severity::Low),
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Successful events of accounts the accounts table does not list.
fn window_rows(r: &Resolved, _: &Policy) -> Result<Wanted> {
    Ok(Wanted::when(success()).account_not_in(r.accounts.clone().lazy()))
}

/// Successful events in the activity window by a (system_id, account_id) absent from
/// `accounts`. Events of unknown systems never reach the rules, so every event has a
/// jurisdiction.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    Ok(window_successes(ctx)
        // The rows whose account resolve found no row for.
        .filter(col("account_row").is_null())
        .select([
            col("system_id"),
            col("account_id"),
            col("jurisdiction"),
            col("ts"),
            col("action"),
        ])
        .group_by([col("system_id"), col("account_id"), col("jurisdiction")])
        .agg(with_activity_span([len()
            .cast(DataType::Int64)
            .alias("events")]))
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("account_id"),
            lit("high").alias("severity"),
            detail(vec![
                col("events"),
                ts_text(col("first_ts")).alias("first_event"),
                ts_text(col("last_ts")).alias("last_event"),
                col("actions"),
            ]),
        ])
        .collect()?)
}
