//! LOG_FEED_GAP: a hole in a system's audit log feed.

use std::collections::HashMap;

use polars::prelude::*;

use super::table::{Detail, Layout, Section, Subject, Table};
use super::util::{detail, ts_text};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;
use crate::time::{MICROS_PER_DAY, MICROS_PER_HOUR};

pub static META: RuleMeta = RuleMeta {
    code: "LOG_FEED_GAP",
    window_rows: None,
    reads_events: true,
    title: "Hole in a system's audit log feed",
    fires: "two consecutive events of the system with `ts < T` (any action, outcome or \
           account; ordered by ts then event_id) of which the earlier has `ts >= T - \
           log_review_days`, more than `max_silence_hours` apart (strictly, to the \
           microsecond); one finding per gap, `target_id` holding the gap's start as RFC 3339 \
           UTC with six fractional digits. The silence after the last event is \
           not a gap (the silent-feed rule judges it)",
    key: &["system_id", "target_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "A period with no audit records from a system that logs again afterwards is lost \
                evidence: whatever happened then cannot be reviewed, and an attacker who stops \
                the feed for a while leaves exactly this trace.",
    remediation: "Recover the missing records from the source (its local buffer, the product's \
                  console or API), load them, and find out why the feed stopped; if they are \
                  lost, record the loss and review the access granted or used around it.",
    references: &["PCI DSS v4.0.1 req. 10.5.1"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: Some(Table {
        layout: &Layout {
            id: "gaps",
            section: Section::LogAudit,
            title: "Gaps in log feeds",
            intro: "Periods longer than the allowed silence with no audit record from a system \
                    that logged before and after them.",
            headers: &[
                "System",
                "Last event before (local time)",
                "First event after (local time)",
                "Gap",
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
        f.time(d, "gap_start"),
        f.time(d, "gap_end"),
        d.txt("gap"),
        format!("{} h", d.txt("max_silence_hours")),
    ]
}

/// A point of the feed: `(ts, event_id)`, the contract's order of events.
type Point = (i64, String);

/// The gaps of every system's feed before T, from the partitions' feed spans (see
/// [`crate::ingest::events::feed_spans`]): spans are merged where they overlap, and each
/// space between two merged spans is a silence between two consecutive events of the whole
/// feed. It is a gap when it is longer than the system jurisdiction's `max_silence_hours`
/// and its earlier event is not older than `log_review_days`. Spans starting at or after T
/// are left out, so the later event of a gap is always before T, and the silence after the
/// last event never is one.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let thresholds: HashMap<&str, (&str, i64, i64)> = ctx
        .policy
        .jurisdictions
        .iter()
        .map(|j| {
            (
                j.code.as_str(),
                (
                    j.code.as_str(),
                    j.max_silence_hours,
                    ctx.t - j.log_review_days * MICROS_PER_DAY,
                ),
            )
        })
        .collect();
    let systems = &ctx.systems;
    let jurisdiction_of: HashMap<&str, &str> = systems
        .column("system_id")?
        .str()?
        .iter()
        .zip(systems.column("jurisdiction")?.str()?.iter())
        .filter_map(|(s, j)| Some((s?, j?)))
        .collect();
    let spans = ctx
        .feed_spans
        .clone()
        .lazy()
        .filter(col("start_ts").lt(lit(ctx.t)))
        .sort(
            ["system_id", "start_ts", "start_event_id"],
            SortMultipleOptions::default(),
        )
        .collect()?;
    let (sys, st, sid, et, eid) = (
        spans.column("system_id")?.str()?,
        spans.column("start_ts")?.i64()?,
        spans.column("start_event_id")?.str()?,
        spans.column("end_ts")?.i64()?,
        spans.column("end_event_id")?.str()?,
    );
    let mut out = Gaps::default();
    let mut current: Option<(&str, Point)> = None;
    for i in 0..spans.height() {
        let (Some(s), Some(start_ts), Some(start_id), Some(end_ts), Some(end_id)) =
            (sys.get(i), st.get(i), sid.get(i), et.get(i), eid.get(i))
        else {
            continue;
        };
        let end: Point = (end_ts, end_id.to_string());
        current = match current {
            Some((cs, cend)) if cs == s && start_ts <= cend.0 => Some((cs, cend.max(end))),
            Some((cs, cend)) if cs == s => {
                let limits = jurisdiction_of.get(s).and_then(|j| thresholds.get(j));
                if let Some(&(j, max_hours, review_from)) = limits {
                    if cend.0 >= review_from && start_ts - cend.0 > max_hours * MICROS_PER_HOUR {
                        out.push(s, j, max_hours, &cend, (start_ts, start_id));
                    }
                }
                Some((s, end))
            }
            _ => Some((s, end)),
        };
    }
    out.frame(ctx)
}

#[derive(Default)]
struct Gaps {
    system: Vec<String>,
    jurisdiction: Vec<String>,
    target: Vec<String>,
    gap: Vec<String>,
    start_ts: Vec<i64>,
    start_id: Vec<String>,
    end_ts: Vec<i64>,
    end_id: Vec<String>,
    max_hours: Vec<i64>,
}

impl Gaps {
    fn push(&mut self, s: &str, j: &str, max_hours: i64, before: &Point, after: (i64, &str)) {
        self.system.push(s.to_string());
        self.jurisdiction.push(j.to_string());
        self.target.push(gap_start_text(before.0));
        self.gap.push(duration_text(after.0 - before.0));
        self.start_ts.push(before.0);
        self.start_id.push(before.1.clone());
        self.end_ts.push(after.0);
        self.end_id.push(after.1.to_string());
        self.max_hours.push(max_hours);
    }

    fn frame(self, ctx: &Ctx) -> Result<DataFrame> {
        let review = ctx
            .jurisdictions
            .clone()
            .lazy()
            .select([col("jurisdiction"), col("log_review_days")]);
        Ok(df!(
            "system_id" => self.system,
            "jurisdiction" => self.jurisdiction,
            "target_id" => self.target,
            "gap" => self.gap,
            "start_ts" => self.start_ts,
            "last_event_before" => self.start_id,
            "end_ts" => self.end_ts,
            "first_event_after" => self.end_id,
            "max_silence_hours" => self.max_hours,
        )?
        .lazy()
        .join(
            review,
            [col("jurisdiction")],
            [col("jurisdiction")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("target_id"),
            lit("high").alias("severity"),
            detail(vec![
                ts_text(col("start_ts")).alias("gap_start"),
                col("last_event_before"),
                ts_text(col("end_ts")).alias("gap_end"),
                col("first_event_after"),
                col("gap"),
                ((col("end_ts") - col("start_ts")).cast(DataType::Float64)
                    / lit(MICROS_PER_HOUR as f64))
                .alias("gap_hours"),
                col("max_silence_hours"),
                col("log_review_days"),
            ]),
        ])
        .collect()?)
    }
}

/// A silence to the microsecond, as a reader compares it with the allowed hours: a gap of
/// 48 hours and 1 µs must not read "48 h".
fn duration_text(micros: i64) -> String {
    let (h, rest) = (micros / MICROS_PER_HOUR, micros % MICROS_PER_HOUR);
    let (m, us) = (rest / 60_000_000, rest % 60_000_000);
    let s = format!(
        "{} h {m:02} min {:02}.{:06} s",
        h,
        us / 1_000_000,
        us % 1_000_000
    );
    match s.strip_suffix(" 00 min 00.000000 s") {
        Some(whole) => whole.to_string(),
        None => s,
    }
}

/// The gap's start as the contract writes it in `target_id`: RFC 3339 UTC, six fractional
/// digits.
fn gap_start_text(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros).map_or_else(
        || micros.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    )
}
