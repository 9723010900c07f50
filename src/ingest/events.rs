//! Audit events, one partition (input file) at a time. Each partition is validated on its
//! own (event ids are unique per file, and the only reference is to `systems`), and boiled
//! down to a [`Digest`]: what the history-wide rules need from it. Only the partitions that
//! reach the activity window keep their rows. A nightly run therefore reads the new
//! partitions and the stored digests of the others (see [`super::state`]), and a full run
//! goes through exactly the same digests, so both give the same findings by construction.

use std::ops::Range;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::loader::{Known, QuarantineRow, TableLoader};
use super::schema::AUDIT_EVENTS;
use super::InputFile;
use crate::error::Result;
use crate::resolve::MICROS_PER_DAY;

/// Columns of the `seq` part: what the log-integrity rules read.
const SEQ_COLUMNS: [&str; 10] = [
    "event_id",
    "ts",
    "system_id",
    "account_id",
    "action",
    "outcome",
    "target_id",
    "seq",
    "prev_hash",
    "hash",
];

/// What every rule reading beyond the activity window needs from one partition. Day
/// numbers are UTC days since the epoch; the evaluation instant and the window start are
/// UTC midnights, so "before T" is exactly "day < T's day" for the per-day aggregates.
#[derive(Debug, Clone)]
pub struct Digest {
    /// Events with a `seq` ([`SEQ_COLUMNS`]): LOG_SEQUENCE_GAP and LOG_HASH_MISMATCH.
    pub seq: DataFrame,
    /// Per `system_id, day`: `events`, `first_ts`, `latest_ts`, `latest_event_id` (the
    /// last by `ts, event_id`): LOG_FEED_SILENT.
    pub feed: DataFrame,
    /// Successful events per `system_id, account_id, action, day`: `last_ts`. Last use of
    /// a permission and last login.
    pub usage: DataFrame,
}

/// The numbers and quarantine of one partition, stored beside its digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartitionMeta {
    pub file: InputFile,
    pub rows_read: u64,
    pub rows_loaded: u64,
    pub quarantine: Vec<StoredQuarantine>,
    pub unknown_columns: Vec<String>,
    /// UTC days of the first and last loaded event (None when nothing loaded).
    pub days: Option<(i64, i64)>,
}

/// A quarantine row of the events table, without the table name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredQuarantine {
    pub source_file: String,
    pub line: u64,
    pub reason: String,
    pub raw: String,
}

impl StoredQuarantine {
    pub fn row(&self) -> QuarantineRow {
        QuarantineRow {
            table: AUDIT_EVENTS.name,
            source_file: self.source_file.clone(),
            line: self.line,
            reason: self.reason.clone(),
            raw: self.raw.clone(),
        }
    }
}

/// One partition: its accounting, digest, and its rows when they were asked for.
#[derive(Debug, Clone)]
pub struct Partition {
    pub meta: PartitionMeta,
    pub digest: Digest,
    pub rows: Option<DataFrame>,
    /// Whether the digest came from the store (the file was not read).
    pub reused: bool,
}

impl Partition {
    /// Whether the partition holds events on any of `days`.
    pub fn meets(days: Option<(i64, i64)>, wanted: &Range<i64>) -> bool {
        days.is_some_and(|(lo, hi)| lo < wanted.end && hi >= wanted.start)
    }
}

/// Validates one file's rows through its own loader (event keys are per file; the systems
/// are the only other table it needs).
pub fn load_rows(
    file: &super::SourceFile,
    bytes: &[u8],
    naive_tz: Option<chrono_tz::Tz>,
    systems: &std::collections::HashSet<String>,
) -> Result<(DataFrame, PartitionMeta)> {
    let mut known = Known {
        systems: systems.clone(),
        ..Known::default()
    };
    let mut loader = TableLoader::new(&AUDIT_EVENTS, &mut known);
    loader.start_file();
    let read = super::read_file(file, bytes, naive_tz, &mut loader)?;
    let (df, rows_read, rows_loaded, quarantine) = loader.finish()?;
    let days = day_span(&df)?;
    let meta = PartitionMeta {
        file: InputFile {
            path: file.rel.clone(),
            sha256: String::new(),
            bytes: bytes.len() as u64,
        },
        rows_read,
        rows_loaded,
        quarantine: quarantine
            .into_iter()
            .map(|q| StoredQuarantine {
                source_file: q.source_file,
                line: q.line,
                reason: q.reason,
                raw: q.raw,
            })
            .collect(),
        unknown_columns: read.unknown_columns,
        days,
    };
    Ok((df, meta))
}

fn day_span(df: &DataFrame) -> Result<Option<(i64, i64)>> {
    let ts = df.column("ts")?.i64()?;
    Ok(ts
        .min()
        .zip(ts.max())
        .map(|(lo, hi)| (lo.div_euclid(MICROS_PER_DAY), hi.div_euclid(MICROS_PER_DAY))))
}

fn day() -> Expr {
    col("ts").floor_div(lit(MICROS_PER_DAY)).alias("day")
}

/// The digest of a partition's loaded (canonical) rows.
pub fn digest(rows: &DataFrame) -> Result<Digest> {
    let lf = rows.clone().lazy();
    let seq = lf
        .clone()
        .filter(col("seq").is_not_null())
        .select(SEQ_COLUMNS.map(col))
        .collect()?;
    let feed = lf
        .clone()
        .with_column(day())
        .sort(["ts", "event_id"], SortMultipleOptions::default())
        .group_by([col("system_id"), col("day")])
        .agg([
            len().cast(IDX_DTYPE).alias("events"),
            col("ts").first().alias("first_ts"),
            col("ts").last().alias("latest_ts"),
            col("event_id").last().alias("latest_event_id"),
        ])
        .sort(["system_id", "day"], SortMultipleOptions::default())
        .collect()?;
    let usage = lf
        .filter(col("outcome").eq(lit("success")))
        .with_column(day())
        .group_by([
            col("system_id"),
            col("account_id"),
            col("action"),
            col("day"),
        ])
        .agg([col("ts").max().alias("last_ts")])
        .sort(
            ["system_id", "account_id", "action", "day"],
            SortMultipleOptions::default(),
        )
        .collect()?;
    Ok(Digest { seq, feed, usage })
}

/// Every partition's digest part, stacked (in file order).
pub fn stack(parts: impl Iterator<Item = DataFrame>, empty: DataFrame) -> Result<DataFrame> {
    let mut out: Option<DataFrame> = None;
    for df in parts {
        match out.as_mut() {
            None => out = Some(df),
            Some(o) => {
                o.vstack_mut_owned(df)?;
            }
        }
    }
    let mut df = out.unwrap_or(empty);
    df.rechunk_mut();
    Ok(df)
}

/// The digests of all partitions, stacked: what the resolver reads.
#[derive(Debug, Clone)]
pub struct EventDigests {
    pub seq: DataFrame,
    pub feed: DataFrame,
    pub usage: DataFrame,
}

impl EventDigests {
    pub fn of(partitions: &[Partition]) -> Result<EventDigests> {
        let empty = digest(&super::loader::empty_frame(&AUDIT_EVENTS)?)?;
        Ok(EventDigests {
            seq: stack(partitions.iter().map(|p| p.digest.seq.clone()), empty.seq)?,
            feed: stack(partitions.iter().map(|p| p.digest.feed.clone()), empty.feed)?,
            usage: stack(
                partitions.iter().map(|p| p.digest.usage.clone()),
                empty.usage,
            )?,
        })
    }
}
