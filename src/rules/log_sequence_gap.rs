//! LOG_SEQUENCE_GAP: audit log sequence numbers are missing.

use polars::prelude::*;

use super::chain::critical_on_systems;
use super::evidence::{detail, ts_text};
use super::table::{Detail, Layout, Section, Subject, Table};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "LOG_SEQUENCE_GAP",
    window_rows: None,
    reads_events: true,
    title: "Audit log sequence numbers are missing",
    fires: "events of one system carry `seq`; ordered by seq, each run of missing numbers \
           between the lowest and highest loaded seq is one finding keyed by its first \
           missing seq. Uses events with `ts < T` and a non-null `seq`",
    key: &["system_id", "seq"],
    severity: SeverityPolicy::Fixed(Severity::Critical),
    rationale: "A source that numbers its log records makes deletion visible: a run of missing \
                sequence numbers means audit records were lost or removed, so the trail can no \
                longer prove who did what.",
    remediation: "Recover the missing records from the source or its backups, find out why they \
                  are missing (deletion, collector outage, rotation), and record the incident.",
    references: &["PCI DSS v4.0.1 req. 10.5.1"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: Some(Table {
        layout: &INTEGRITY,
        cells,
    }),
    summary: None,
};

/// The log-integrity table, shared by the log-chain rules.
pub static INTEGRITY: Layout = Layout {
    id: "integrity",
    section: Section::LogAudit,
    title: "Log integrity",
    intro: "Gaps in a system's sequence numbers and records failing the hash chain.",
    headers: &["System", "Check", "Where"],
    group: None,
};

fn cells(f: &dyn Subject, d: &Detail) -> Vec<String> {
    vec![
        f.system(),
        "sequence gap".to_string(),
        format!(
            "{} missing: {} – {} (after {})",
            d.txt("missing_count"),
            d.txt("first_missing_seq"),
            d.txt("last_missing_seq"),
            f.time(d, "ts_before_gap")
        ),
    ]
}

/// Each run of missing numbers between a system's lowest and highest loaded `seq` (over the
/// whole history before T, not only the activity window: a deletion stays visible for as
/// long as the surrounding records are loaded), keyed by its first missing number.
///
/// The records come as digests ([`crate::resolve::LogChains`]): systems whose partitions
/// overlap in seq are searched on all their records; for the others, the gaps inside each
/// partition were found when it was digested ([`gaps`] on the partition alone), and the
/// gaps between partitions, those ending at a partition's lowest seq, are found here on
/// the partitions' edge records.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let chains = &ctx.log_chains;
    let between = gaps(chains.edges.clone().lazy())?.join(
        chains.gap_starts.clone().lazy(),
        [col("system_id"), col("after_seq")],
        [col("system_id"), col("seq")],
        JoinArgs::new(JoinType::Semi),
    );
    critical_on_systems(
        vec![
            gaps(chains.raw.clone().lazy())?,
            between,
            chains.gap_local.clone().lazy(),
        ],
        ctx,
    )
}

/// The gaps among `records` taken on their own: `system_id`, `seq` (the first missing
/// number), `after_seq` (the loaded seq that ends the gap), `detail`.
pub fn gaps(records: LazyFrame) -> Result<LazyFrame> {
    let mut df = records
        .filter(col("seq").is_not_null())
        .select([col("system_id"), col("seq"), col("event_id"), col("ts")])
        .collect()?;
    df.rechunk_mut();
    let (system, seq, event_id, ts) = (
        df.column("system_id")?.str()?,
        df.column("seq")?.i64()?,
        df.column("event_id")?.str()?,
        df.column("ts")?.i64()?,
    );
    // Each seq is shown by its earliest record (by ts, then event_id); a duplicated seq is
    // the hash-chain rule's business.
    let earliest = |a: usize, b: usize| {
        ts.get(a)
            .cmp(&ts.get(b))
            .then_with(|| event_id.get(a).cmp(&event_id.get(b)))
    };
    // Each gap's system and its two neighbours, as rows of `df`.
    let (mut systems, mut before, mut after) = (Vec::new(), Vec::new(), Vec::new());
    for (s, rows) in super::chain::chains(system, seq, earliest) {
        let mut prev: Option<(i64, usize)> = None;
        for row in rows {
            let Some(q) = seq.get(row) else { continue };
            match prev {
                Some((p, _)) if p == q => continue,
                Some((p, b)) if q > p + 1 => {
                    systems.push(s);
                    before.push(b);
                    after.push(row);
                }
                _ => {}
            }
            prev = Some((q, row));
        }
    }
    let ids = |rows: &[usize]| rows.iter().map(|&r| event_id.get(r)).collect::<Vec<_>>();
    let seqs = |rows: &[usize]| rows.iter().map(|&r| seq.get(r)).collect::<Vec<_>>();
    let tss = |rows: &[usize]| rows.iter().map(|&r| ts.get(r)).collect::<Vec<_>>();
    let neighbours = df!(
        "system_id" => systems,
        "prev_seq" => seqs(&before),
        "seq" => seqs(&after),
        "prev_event_id" => ids(&before),
        "event_id" => ids(&after),
        "prev_ts" => tss(&before),
        "ts" => tss(&after),
    )?;
    Ok(neighbours
        .lazy()
        // `prev_seq + 1` cannot overflow: prev_seq < seq.
        .select([
            col("system_id"),
            (col("prev_seq") + lit(1i64)).alias("first_missing"),
            col("seq").alias("after_seq"),
            detail(vec![
                (col("prev_seq") + lit(1i64)).alias("first_missing_seq"),
                (col("seq") - lit(1i64)).alias("last_missing_seq"),
                (col("seq") - col("prev_seq") - lit(1i64)).alias("missing_count"),
                col("prev_seq").alias("seq_before_gap"),
                col("prev_event_id").alias("event_before_gap"),
                ts_text(col("prev_ts")).alias("ts_before_gap"),
                col("seq").alias("seq_after_gap"),
                col("event_id").alias("event_after_gap"),
                ts_text(col("ts")).alias("ts_after_gap"),
            ]),
        ])
        .rename(["first_missing"], ["seq"], true))
}
