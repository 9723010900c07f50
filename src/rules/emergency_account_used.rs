//! EMERGENCY_ACCOUNT_USED: emergency (break-glass) account was used.

use polars::prelude::*;

use super::table::{Detail, Layout, Section, Subject, Table};
use super::util::{detail, success, ts_text, window_successes, with_activity_span, JoinOnAccount};
use super::window::Wanted;
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::policy::Policy;
use crate::resolve::{Ctx, Resolved};
use crate::severity::Severity;

/// Evidence lists at most this many distinct targets; `distinct_targets` gives the count.
const MAX_TARGETS_SHOWN: usize = 50;

pub static META: RuleMeta = RuleMeta {
    code: "EMERGENCY_ACCOUNT_USED",
    window_rows: Some(window_rows),
    reads_events: true,
    title: "Emergency (break-glass) account was used",
    fires: "successful events in the activity window by an account of type `emergency` (any \
           status)",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "Break-glass accounts bypass normal access control and are meant for declared \
                emergencies only; every use must be justified, reviewed and followed by a \
                credential reset.",
    remediation: "Match each use to an approved emergency or incident ticket, review every \
                  action taken, rotate the account's credentials and disable it again.",
    references: &["PCI DSS v4.0.1 req. 8.2.2"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: Some(Table {
        layout: &Layout {
            id: "breakglass",
            section: Section::LogAudit,
            title: "Break-glass (emergency) account use",
            intro: "Every successful use of an emergency account: each needs a recorded incident \
                    and a review.",
            headers: &[
                "Account",
                "Account status",
                "Uses",
                "First – last use",
                "Actions",
                "Targets",
            ],
            group: None,
        },
        cells,
    }),
    summary: None,
};

fn cells(f: &dyn Subject, d: &Detail) -> Vec<String> {
    vec![
        f.account(),
        d.txt("account_status"),
        d.txt("successful_events"),
        format!("{} – {}", f.time(d, "first_use"), f.time(d, "last_use")),
        d.list("actions"),
        d.list("targets"),
    ]
}

/// Successful events of emergency accounts.
fn window_rows(r: &Resolved, _: &Policy) -> Result<Wanted> {
    let emergency = r
        .accounts
        .clone()
        .lazy()
        .filter(col("account_type").eq(lit("emergency")));
    Ok(Wanted::when(success()).account_in(emergency))
}

/// Successful events in the activity window by an account of type `emergency`, whatever its
/// status (a disabled break-glass account that still acts is worse, not better).
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let emergency = ctx
        .accounts
        .clone()
        .lazy()
        .filter(col("account_type").eq(lit("emergency")))
        .select([col("account_row"), col("status").alias("account_status")]);
    Ok(window_successes(ctx)
        .join_on_account_row(emergency, JoinType::Inner)
        .group_by([col("system_id"), col("account_id"), col("jurisdiction")])
        .agg(with_activity_span([
            len().alias("successful_events"),
            col("target_id")
                .drop_nulls()
                .n_unique()
                .alias("distinct_targets"),
            col("target_id")
                .drop_nulls()
                .unique()
                .sort(SortOptions::default())
                .head(Some(MAX_TARGETS_SHOWN))
                .alias("targets"),
            col("account_status").first(),
            col("identity").first(),
        ]))
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("account_id"),
            col("identity").alias("identity_id"),
            lit("high").alias("severity"),
            detail(vec![
                col("account_status"),
                col("successful_events"),
                ts_text(col("first_ts")).alias("first_use"),
                ts_text(col("last_ts")).alias("last_use"),
                col("actions"),
                col("distinct_targets"),
                col("targets"),
                ts_text(lit(ctx.window_start)).alias("window_start"),
            ]),
        ])
        .collect()?)
}
