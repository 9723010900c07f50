//! FREEZE_NOT_APPLIED: an account an earlier run put on the freeze list is still active
//! past the freeze deadline.

use polars::prelude::*;

use super::util::{detail, hours, ts_text, with_thresholds, JoinOnAccount};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;
use crate::time::{day_text, evaluation_instant, MICROS_PER_HOUR};

pub static META: RuleMeta = RuleMeta {
    // It reads earlier runs and campaigns in OUT, which `whatif` loads no more than the
    // events: judged there, it would see none and find nothing.
    reads_events: true,
    code: "FREEZE_NOT_APPLIED",
    window_rows: None,
    title: "Account on an earlier freeze list still active",
    fires: "account with status `active` in today's accounts, named on the freeze list of \
           every run in OUT from D to the run just before this as_of (D the earliest run of \
           that unbroken series; a run in between that does not name it, or whose freeze list \
           is missing or unreadable, starts the series again), with the evaluation instant of \
           D more than H = freeze_sla_hours before T (`T_D < T - H hours`; exactly H hours \
           is not yet a finding)",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Fixed(Severity::Critical),
    rationale: "The freeze list names accounts to suspend now; one still active a day later \
                means the emergency control did not work, and the access it was meant to stop \
                is still usable.",
    remediation: "Disable the account now; find out why the freeze list was not acted on (who \
                  receives it, whether the hand-off to the system's administrators failed).",
    references: &["PCI DSS v4.0.1 req. 8.2.5", "PCI DSS v4.0.1 req. 7.2.4"],
    // Still to be frozen: the account stays on today's list.
    freeze: Freeze::Account(Severity::Critical),
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Per account, the first run of the unbroken series of earlier runs ending with the latest
/// one that all list it, then the active accounts whose series began more than H hours
/// before T.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let lists = &ctx.remediation.freeze_lists;
    let (mut sys, mut acc, mut since, mut since_t, mut runs, mut ids) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    if let Some(latest) = lists.last().and_then(|l| l.accounts.as_ref()) {
        for (key, latest_ids) in latest {
            // Walk back from the latest run while each run lists the account.
            let mut first = lists.len() - 1;
            while first > 0
                && lists[first - 1]
                    .accounts
                    .as_ref()
                    .is_some_and(|a| a.contains_key(key))
            {
                first -= 1;
            }
            let d = &lists[first];
            let d_ids = d
                .accounts
                .as_ref()
                .and_then(|a| a.get(key))
                .unwrap_or(latest_ids);
            sys.push(key.0.clone());
            acc.push(key.1.clone());
            since.push(day_text(d.as_of));
            since_t.push(evaluation_instant(d.as_of));
            runs.push((lists.len() - first) as i64);
            ids.push(d_ids.clone());
        }
    }
    let listed = df!(
        "system_id" => sys,
        "account_id" => acc,
        "listed_since" => since,
        "listed_since_t" => since_t,
        "runs_listed" => runs,
        "finding_ids" => ids,
    )?;
    let t = lit(ctx.t);
    Ok(with_thresholds(
        ctx.accounts
            .clone()
            .lazy()
            .filter(col("status").eq(lit("active")))
            .join_on_account(listed.lazy(), JoinType::Inner),
        ctx,
    )
    .filter(col("listed_since_t").lt(t.clone() - hours("freeze_sla_hours")))
    .sort(["system_id", "account_id"], SortMultipleOptions::default())
    .select([
        col("jurisdiction"),
        col("system_id"),
        col("account_id"),
        col("identity").alias("identity_id"),
        lit("critical").alias("severity"),
        detail(vec![
            col("listed_since"),
            ts_text(col("listed_since_t")).alias("listed_since_evaluation_instant"),
            col("runs_listed"),
            col("finding_ids").alias("listed_for_findings"),
            col("freeze_sla_hours"),
            ((t - col("listed_since_t")).floor_div(lit(MICROS_PER_HOUR)) - col("freeze_sla_hours"))
                .alias("hours_overdue"),
        ]),
    ])
    .collect()?)
}
