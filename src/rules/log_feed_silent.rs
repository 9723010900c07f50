//! LOG_FEED_SILENT: system's audit log feed has gone silent.

use polars::prelude::*;

use super::table::{Detail, Layout, Section, Subject, Table};
use super::util::{detail, hours, ts_text, with_thresholds};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;
use crate::time::MICROS_PER_HOUR;

pub static META: RuleMeta = RuleMeta {
    code: "LOG_FEED_SILENT",
    window_rows: None,
    reads_events: true,
    title: "System's audit log feed has gone silent",
    fires: "the system has events with `ts < T`, and the latest of them (any action, any \
           outcome) is older than `max_silence_hours`",
    key: &["system_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "A system that used to send audit events and stopped is no longer monitored: \
                access and payment actions on it go unrecorded, or recorded where nobody looks.",
    remediation: "Restore the log feed, recover the events of the silent period from the \
                  source, and review them for activity that should have raised an alert.",
    references: &["PCI DSS v4.0.1 req. 10.5.1"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: Some(Table {
        layout: &Layout {
            id: "silent",
            section: Section::LogAudit,
            title: "Silent log feeds",
            intro: "Systems whose audit log has sent nothing for longer than the allowed silence.",
            headers: &[
                "System",
                "Last event (local time)",
                "Silence",
                "Allowed silence",
            ],
            group: None,
        },
        cells,
    }),
    summary: None,
};

fn cells(f: &dyn Subject, d: &Detail) -> Vec<String> {
    vec![
        f.system(),
        f.time(d, "latest_event_ts"),
        format!("{} h", d.txt("silence_hours")),
        format!("{} h", d.txt("max_silence_hours")),
    ]
}

/// A system with events before T whose latest event (any action, any outcome, with or
/// without `seq`) is older than `max_silence_hours`: `latest < T - H hours`.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let latest = ctx.feed.clone().lazy();
    Ok(with_thresholds(latest, ctx)
        .filter(col("latest_ts").lt(lit(ctx.t) - hours("max_silence_hours")))
        .select([
            col("jurisdiction"),
            col("system_id"),
            lit("high").alias("severity"),
            detail(vec![
                ts_text(col("latest_ts")).alias("latest_event_ts"),
                col("latest_event_id"),
                ((lit(ctx.t) - col("latest_ts")).cast(DataType::Float64)
                    / lit(MICROS_PER_HOUR as f64))
                .alias("silence_hours"),
                col("max_silence_hours"),
                ts_text(col("first_ts")).alias("first_event_ts"),
                col("events_before_t"),
            ]),
        ])
        .collect()?)
}
