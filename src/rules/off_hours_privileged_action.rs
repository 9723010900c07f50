//! OFF_HOURS_PRIVILEGED_ACTION: privileged action outside business hours.

use chrono::Weekday;
use polars::prelude::*;

use super::table::{Detail, Layout, Section, Subject, Table};
use super::util::{detail, success, ts_text};
use super::window::Wanted;
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::policy::Jurisdiction;
use crate::policy::Policy;
use crate::resolve::{Ctx, Resolved};
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "OFF_HOURS_PRIVILEGED_ACTION",
    window_rows: Some(window_rows),
    reads_events: true,
    title: "Privileged action outside business hours",
    fires: "a successful event in the activity window whose action exercises a privileged \
           permission, at a local time (the jurisdiction's `timezone`) outside \
           `business_hours` or on a day not in `business_days`. Concerns the event's \
           (system_id, account_id), whether or not it is in `accounts`. Business hours \
           include their start and exclude their end; the day is the local date's weekday",
    key: &["system_id", "account_id"],
    severity: SeverityPolicy::Fixed(Severity::Medium),
    rationale: "Privileged actions at night or at weekends are rarely supervised and are a \
                common pattern of misuse and of attackers using stolen credentials.",
    remediation: "Confirm each action against an approved change or incident ticket; if none \
                  exists, treat the account as compromised and review what it changed.",
    // regulations.md names no clause specific to off-hours use; jurisdictions add their
    // monitoring citations through `references`.
    references: &[],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: Some(Table {
        layout: &Layout {
            id: "offhours",
            section: Section::LogAudit,
            title: "Privileged actions outside business hours",
            intro: "Privileged actions at a local time or on a day outside the jurisdiction's \
                    business hours (local time, daylight saving applied).",
            headers: &[
                "Account",
                "Identity",
                "Actions",
                "First (local time)",
                "Last (local time)",
                "Business hours",
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
        f.identity(),
        format!("{}: {}", d.txt("event_count"), d.list("actions")),
        format!(
            "{} ({})",
            f.time(d, "first_local_time"),
            d.txt("first_weekday")
        ),
        format!(
            "{} ({})",
            f.time(d, "last_local_time"),
            d.txt("last_weekday")
        ),
        format!("{} on {}", d.txt("business_hours"), d.list("business_days")),
    ]
}

const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Mon, "mon"),
    (Weekday::Tue, "tue"),
    (Weekday::Wed, "wed"),
    (Weekday::Thu, "thu"),
    (Weekday::Fri, "fri"),
    (Weekday::Sat, "sat"),
    (Weekday::Sun, "sun"),
];

/// Successful events of actions exercising a privileged permission.
fn window_rows(r: &Resolved, _: &Policy) -> Result<Wanted> {
    Ok(Wanted::when(success()).action_in(r.privileged_actions.clone().lazy()))
}

/// Successful window events exercising a privileged permission, at a local time (the
/// jurisdiction's timezone, DST-aware) outside `[start, end)` or on a non-business day.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    if ctx.policy.jurisdictions.is_empty() {
        // The policy requires at least one jurisdiction; without one nothing can be judged.
        return Ok(df!(
            "jurisdiction" => Vec::<String>::new(),
            "system_id" => Vec::<String>::new(),
            "account_id" => Vec::<String>::new(),
            "severity" => Vec::<String>::new(),
            "detail" => Vec::<String>::new(),
        )?);
    }
    // The successful privileged actions as numbers first, then the calendar, one
    // jurisdiction at a time: most privileged actions happen in business hours, and only
    // the texts of the few outside them are taken and joined to their permissions.
    let privileged = ctx
        .window_row_numbers()
        .filter(col("outcome").eq(lit("success")))
        .join(
            ctx.privileged_actions
                .clone()
                .lazy()
                .select([col("system_id"), col("action")]),
            [col("system_id"), col("action")],
            [col("system_id"), col("action")],
            JoinArgs::new(JoinType::Semi),
        )
        .select([col("window_row"), col("ts"), col("jurisdiction")])
        .collect()?;
    // A time zone is a constant of the conversion, so each jurisdiction is its own branch.
    let branches: Vec<LazyFrame> = ctx
        .policy
        .jurisdictions
        .iter()
        .map(|j| {
            privileged
                .clone()
                .lazy()
                .filter(col("jurisdiction").eq(lit(j.code.as_str())))
                .filter(off_hours(j))
                .select([col("window_row")])
        })
        .collect();
    let rows = concat(branches, UnionArgs::default())?.collect()?;
    let offending = ctx
        .with_window_columns(
            &rows,
            &[
                "event_id",
                "ts",
                "system_id",
                "account_id",
                "action",
                "jurisdiction",
                "identity",
            ],
        )?
        .lazy()
        .join(
            ctx.privileged_actions.clone().lazy(),
            [col("system_id"), col("action")],
            [col("system_id"), col("action")],
            JoinArgs::new(JoinType::Inner),
        );

    let per_account = offending
        .sort(
            ["system_id", "account_id", "ts", "event_id"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .group_by_stable([col("system_id"), col("account_id"), col("jurisdiction")])
        .agg([
            len().alias("event_count"),
            col("identity").drop_nulls().first().alias("identity"),
            col("event_id").first().alias("first_event_id"),
            col("ts").first().alias("first_ts"),
            col("action").first().alias("first_action"),
            col("event_id").last().alias("last_event_id"),
            col("ts").last().alias("last_ts"),
            col("action").last().alias("last_action"),
            col("action")
                .unique()
                .sort(SortOptions::default())
                .alias("actions"),
            col("permissions")
                .explode(ExplodeOptions {
                    empty_as_null: false,
                    keep_nulls: false,
                })
                .unique()
                .sort(SortOptions::default())
                .alias("permissions"),
        ])
        // Read once per jurisdiction below: computed once.
        .collect()?
        .lazy();
    // Local times and the calendar only for the accounts' first and last events, not for
    // every event.
    let calendars: Vec<LazyFrame> = ctx
        .policy
        .jurisdictions
        .iter()
        .map(|j| calendar(per_account.clone(), j))
        .collect();

    Ok(concat(calendars, UnionArgs::default())?
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("account_id"),
            col("identity").alias("identity_id"),
            lit("medium").alias("severity"),
            detail(vec![
                col("event_count"),
                col("first_event_id"),
                ts_text(col("first_ts")).alias("first_ts"),
                col("first_local_time"),
                col("first_weekday"),
                col("first_action"),
                col("last_event_id"),
                ts_text(col("last_ts")).alias("last_ts"),
                col("last_local_time"),
                col("last_weekday"),
                col("last_action"),
                col("actions"),
                col("permissions"),
                col("timezone"),
                col("business_hours"),
                col("business_days"),
            ]),
        ])
        .collect()?)
}

/// `ts` as an instant in the jurisdiction's time zone.
fn local(ts: Expr, j: &Jurisdiction) -> Expr {
    ts.cast(DataType::Datetime(
        TimeUnit::Microseconds,
        Some(TimeZone::UTC),
    ))
    .dt()
    .convert_time_zone(TimeZone::from_chrono(&j.timezone))
}

/// The names of the jurisdiction's business days, in week order.
fn business_days(j: &Jurisdiction) -> Vec<(Weekday, &'static str)> {
    WEEKDAYS
        .iter()
        .filter(|(d, _)| j.business_days.contains(*d))
        .copied()
        .collect()
}

/// Whether an event of the jurisdiction falls outside its business calendar.
fn off_hours(j: &Jurisdiction) -> Expr {
    let local = local(col("ts"), j);
    let minute_of_day = local.clone().dt().hour().cast(DataType::Int32) * lit(60)
        + local.clone().dt().minute().cast(DataType::Int32);
    let bh = j.business_hours;
    let day_numbers: Vec<i32> = business_days(j)
        .iter()
        .map(|(d, _)| d.number_from_monday() as i32)
        .collect();
    let in_hours = minute_of_day
        .clone()
        .gt_eq(lit(bh.start_minute as i32))
        .and(minute_of_day.lt(lit(bh.end_minute as i32)));
    let on_business_day = local.dt().weekday().cast(DataType::Int32).is_in(
        lit(Series::new("days".into(), day_numbers)).implode(false),
        false,
    );
    in_hours.and(on_business_day).not()
}

/// One jurisdiction's accounts with the local time and weekday of their first and last
/// events, and the jurisdiction's calendar.
fn calendar(per_account: LazyFrame, j: &Jurisdiction) -> LazyFrame {
    let bh = j.business_hours;
    let day_names: Vec<&str> = business_days(j).iter().map(|(_, n)| *n).collect();
    let local_time = |ts: &str| local(col(ts), j).dt().to_string("%Y-%m-%dT%H:%M:%S%.f%:z");
    let weekday = |ts: &str| local(col(ts), j).dt().to_string("%a").str().to_lowercase();
    per_account
        .filter(col("jurisdiction").eq(lit(j.code.as_str())))
        .with_columns([
            local_time("first_ts").alias("first_local_time"),
            weekday("first_ts").alias("first_weekday"),
            local_time("last_ts").alias("last_local_time"),
            weekday("last_ts").alias("last_weekday"),
            lit(j.timezone.name()).alias("timezone"),
            lit(format!("{}-{}", hhmm(bh.start_minute), hhmm(bh.end_minute)))
                .alias("business_hours"),
            lit(Series::new("business_days".into(), day_names))
                .implode(false)
                .alias("business_days"),
        ])
}

fn hhmm(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}
