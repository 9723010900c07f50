//! Audit events, one partition (input file) at a time. Each partition is validated on its
//! own (event ids are unique per file, and the only reference is to `systems`), and boiled
//! down to a [`Digest`]: what the history-wide rules need from it. Only the partitions that
//! reach the activity window keep their rows. A nightly run therefore reads the new
//! partitions and the stored digests of the others (see [`super::state`]), and a full run
//! goes through exactly the same digests, so both give the same findings by construction.

use std::ops::Range;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::loader::{stack, Known, QuarantineRow, TableLoader};
use super::schema::AUDIT_EVENTS;
use super::InputFile;
use crate::codes::Coded;
use crate::error::{Error, Result};
use crate::time::{MICROS_PER_DAY, MICROS_PER_HOUR, MIN_SILENCE_HOURS};

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

/// The columns the window rules read; an evaluation keeps only these of the window's
/// rows (the log-chain columns are served by the digests).
pub const WINDOW_COLUMNS: [&str; 10] = [
    "event_id",
    "ts",
    "system_id",
    "account_id",
    "action",
    "outcome",
    "target_id",
    "mfa",
    "mfa_method",
    "src_country",
];

/// The log-chain checks a digest runs on its partition alone. Ingest knows no rule: the
/// caller gives the rules' own functions, and a version that changes whenever what they
/// return can change, which is part of every stored digest's key (see
/// [`super::state::Store::key`]), so a changed check never meets digests of the old one.
pub struct ChainChecks {
    pub version: String,
    /// The sequence gaps among the records taken on their own: `system_id`, `seq` (the
    /// first missing number), `after_seq`, `detail`.
    pub gaps: fn(LazyFrame) -> Result<LazyFrame>,
    /// The broken hash links among the records taken on their own: `system_id, seq,
    /// detail`.
    pub hash_mismatches: fn(LazyFrame) -> Result<DataFrame>,
}

/// What every rule reading beyond the activity window needs from one partition. Day
/// numbers are UTC days since the epoch; the evaluation instant and the window start are
/// UTC midnights, so "before T" is exactly "day < T's day" for the per-day aggregates.
///
/// The log-chain rules see a partition through its `seq` ranges: the findings inside the
/// partition (computed here by the rules' own [`ChainChecks`]) and its edge records, the ones a
/// check across partitions can need. When two partitions of a system overlap in seq, that
/// system's raw records are used instead ([`SeqRecords`]).
#[derive(Debug, Clone)]
pub struct Digest {
    /// Per `system_id`: `min_seq, max_seq` over records with a seq, and `min_hashed,
    /// max_hashed` over those that also have a hash.
    pub seq_ranges: DataFrame,
    /// Every record ([`SEQ_COLUMNS`]) at one of those four seqs.
    pub seq_edges: DataFrame,
    /// The sequence-gap check's gaps inside the partition (`system_id, seq, after_seq, detail`).
    pub gap_local: DataFrame,
    /// The hash-chain check's findings inside the partition (`system_id, seq, detail`), except
    /// at `min_hashed`, which depends on the partition before.
    pub hash_local: DataFrame,
    /// Per `system_id, day`: `events`, `first_ts`, `latest_ts`, `latest_event_id` (the
    /// last by `ts, event_id`): what the feed-silence rule reads.
    pub feed: DataFrame,
    /// Successful events per `system_id, account_id, action, day`: `last_ts`. Last use of
    /// a permission and last login.
    pub usage: DataFrame,
    /// The partition's feed per system as spans of events (`system_id, start_ts,
    /// start_event_id, end_ts, end_event_id`, first and last by `ts, event_id`) in which no
    /// two consecutive events are more than [`MIN_SILENCE_HOURS`] apart: a new span starts
    /// after each longer silence. What the feed-gap rule reads (see [`feed_spans`]).
    pub spans: DataFrame,
}

impl Digest {
    /// The parts' names, in the order of [`Self::parts`] (file names in the store).
    pub const PARTS: [&'static str; 7] = [
        "seq_ranges",
        "seq_edges",
        "gap_local",
        "hash_local",
        "feed",
        "usage",
        "spans",
    ];

    /// The digest in buffers of its own, not the partition's (see [`super::loader::detached`]).
    pub fn detached(self) -> Result<Digest> {
        use super::loader::detached;
        Ok(Digest {
            seq_ranges: detached(self.seq_ranges)?,
            seq_edges: detached(self.seq_edges)?,
            gap_local: detached(self.gap_local)?,
            hash_local: detached(self.hash_local)?,
            feed: detached(self.feed)?,
            usage: detached(self.usage)?,
            spans: detached(self.spans)?,
        })
    }

    pub fn parts(&self) -> [&DataFrame; 7] {
        [
            &self.seq_ranges,
            &self.seq_edges,
            &self.gap_local,
            &self.hash_local,
            &self.feed,
            &self.usage,
            &self.spans,
        ]
    }
}

/// Where a partition's records with a seq ([`SEQ_COLUMNS`]) are, when needed whole.
#[derive(Debug, Clone)]
pub enum SeqRecords {
    /// Held since the partition was read (a run without a store: `check`).
    Memory(DataFrame),
    /// Read again from the partition's input file. The log-chain rules need a partition's
    /// records whole only when its seq range overlaps another partition's of the same
    /// system, or it reaches past T (a backfill, a run of an earlier date): rare, while
    /// storing every partition's records (two hashes a record) was most of what the state
    /// wrote and most of its size.
    Input,
}

impl SeqRecords {
    fn read(&self, file: &super::InputFile, from_input: &RowsFromInput) -> Result<DataFrame> {
        match self {
            SeqRecords::Memory(df) => Ok(df.clone()),
            SeqRecords::Input => seq_records(&from_input(file)?),
        }
    }
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
    /// For a source's file: what became of its records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<super::mapped::Tally>,
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

/// A partition's loaded rows read again from its input file, for what the state does not
/// keep of it (its records with a seq) or keeps damaged (its usage digest); the file must
/// still hold the bytes the run hashed.
pub type RowsFromInput<'a> = dyn Fn(&super::InputFile) -> Result<DataFrame> + Sync + 'a;

/// One partition: its accounting, digest, and its rows when they were asked for.
#[derive(Debug, Clone)]
pub struct Partition {
    pub meta: PartitionMeta,
    pub digest: Digest,
    pub seq: SeqRecords,
    pub rows: Option<DataFrame>,
    /// The digest's key in the store (empty without a store).
    pub key: String,
    /// Whether `digest.usage` was left unread because the store's rollup covers it.
    pub usage_skipped: bool,
    /// Whether the digest came from the store (the file was not read).
    pub reused: bool,
}

impl Partition {
    /// Reads the usage digest the load skipped (the rollup covered it, but not this time);
    /// a damaged one is computed again by `from_input`.
    fn load_usage(
        &mut self,
        store: &super::state::Store,
        template: &DataFrame,
        from_input: &RowsFromInput,
    ) -> Result<()> {
        if self.usage_skipped {
            self.digest.usage = match store.usage_of(&self.key, template) {
                Some(usage) => usage,
                None => usage_days(&from_input(&self.meta.file)?)?,
            };
            self.usage_skipped = false;
        }
        Ok(())
    }

    /// Moves the usage digest out (the rollup has it from then on; a rebuild of the rollup
    /// reads it from the store again).
    fn take_usage(&mut self) -> DataFrame {
        self.usage_skipped = true;
        std::mem::replace(&mut self.digest.usage, DataFrame::empty())
    }

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
    let mut source = None;
    let read = match &file.origin {
        Some(origin) => {
            loader.start_source_file();
            let mut sink = super::mapped::LoaderSink {
                loader: &mut loader,
                rel: &file.rel,
                tally: super::mapped::Tally::default(),
            };
            let hashed =
                origin
                    .rows
                    .rows(origin.file, super::schema::Table::AuditEvents, &mut sink)?;
            source = Some((sink.tally, hashed));
            super::FileRead {
                unknown_columns: Vec::new(),
            }
        }
        None => {
            loader.start_file();
            super::read_file(file, bytes, naive_tz, &mut loader)?
        }
    };
    let (df, rows_read, rows_loaded, quarantine) = loader.finish()?;
    let days = day_span(&df)?;
    let (source, sha256, size) = match source {
        Some((tally, hashed)) => (Some(tally), hashed.sha256, hashed.bytes),
        None => (None, String::new(), bytes.len() as u64),
    };
    let meta = PartitionMeta {
        file: InputFile {
            path: file.rel.clone(),
            sha256,
            bytes: size,
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
        source,
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

/// The records with a seq of a partition's loaded (canonical) rows.
pub fn seq_records(rows: &DataFrame) -> Result<DataFrame> {
    Ok(rows
        .clone()
        .lazy()
        .filter(col("seq").is_not_null())
        .select(SEQ_COLUMNS.map(col))
        .collect()?)
}

/// The digest of a partition's loaded (canonical) rows and its records with a seq.
pub fn digest(rows: &DataFrame, seq: &DataFrame, checks: &ChainChecks) -> Result<Digest> {
    let (seq_ranges, seq_edges) = seq_ranges_and_edges(seq)?;
    let gap_local = (checks.gaps)(seq.clone().lazy())?.collect()?;
    let hash_local = (checks.hash_mismatches)(seq.clone().lazy())?
        .lazy()
        .join(
            seq_ranges.clone().lazy(),
            [col("system_id")],
            [col("system_id")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("seq").neq(col("min_hashed")).fill_null(lit(true)))
        .select([col("system_id"), col("seq"), col("detail")])
        .collect()?;
    let feed = feed_days(rows)?;
    let spans = feed_spans(&rows.select(["system_id", "ts", "event_id"])?)?;
    let usage = usage_days(rows)?;
    Ok(Digest {
        seq_ranges,
        seq_edges,
        gap_local,
        hash_local,
        feed,
        usage,
        spans,
    })
}

/// Per `system_id` (in that order): `min_seq, max_seq` over the records, and `min_hashed,
/// max_hashed` over those with a hash; and every record at one of those four seqs, in the
/// records' order.
fn seq_ranges_and_edges(seq: &DataFrame) -> Result<(DataFrame, DataFrame)> {
    let (sys, seqs, hash) = (
        Coded::of(seq.column("system_id")?.str()?),
        seq.column("seq")?.i64()?,
        seq.column("hash")?.str()?,
    );
    let widen = |range: &mut Option<(i64, i64)>, q: i64| {
        *range = Some(range.map_or((q, q), |(lo, hi)| (lo.min(q), hi.max(q))));
    };
    // Per system code: the range of all seqs, and of the hashed ones.
    type Ranges = (Option<(i64, i64)>, Option<(i64, i64)>);
    let mut ranges: Vec<Ranges> = vec![Default::default(); sys.values.len()];
    for (row, (q, h)) in seqs.iter().zip(hash.iter()).enumerate() {
        // Records with a seq, of loaded rows (system never null).
        let (Some(_), Some(q)) = (sys.at(row), q) else {
            continue;
        };
        let r = &mut ranges[sys.codes[row] as usize];
        widen(&mut r.0, q);
        if h.is_some() {
            widen(&mut r.1, q);
        }
    }
    let at_edge: BooleanChunked = seqs
        .iter()
        .enumerate()
        .map(|(row, q)| {
            let (r, Some(q)) = (&ranges[sys.codes[row] as usize], q) else {
                return false;
            };
            [r.0, r.1]
                .into_iter()
                .flatten()
                .any(|(lo, hi)| q == lo || q == hi)
        })
        .collect();
    // The systems with a record, in order.
    let order: Vec<(usize, &str)> = sys
        .sorted()
        .into_iter()
        .filter(|&(code, _)| ranges[code].0.is_some())
        .collect();
    let side = |pick: fn(&Ranges) -> Option<i64>| {
        order
            .iter()
            .map(|&(code, _)| pick(&ranges[code]))
            .collect::<Vec<_>>()
    };
    let seq_ranges = df!(
        "system_id" => order.iter().map(|&(_, s)| s).collect::<Vec<_>>(),
        "min_seq" => side(|r| r.0.map(|r| r.0)),
        "max_seq" => side(|r| r.0.map(|r| r.1)),
        "min_hashed" => side(|r| r.1.map(|r| r.0)),
        "max_hashed" => side(|r| r.1.map(|r| r.1)),
    )?;
    let seq_edges = seq.filter(&at_edge)?.select(SEQ_COLUMNS)?;
    Ok((seq_ranges, seq_edges))
}

/// Per `system_id, day` (in that order): `events`, `first_ts`, `latest_ts` and
/// `latest_event_id`, the last event by `ts, event_id`.
fn feed_days(rows: &DataFrame) -> Result<DataFrame> {
    let (sys, ts, ids) = (
        Coded::of(rows.column("system_id")?.str()?),
        rows.column("ts")?.i64()?,
        rows.column("event_id")?.str()?,
    );
    // events, first ts, and the latest (ts, event_id).
    type Day<'a> = (IdxSize, i64, (i64, &'a str));
    let mut days: PlHashMap<(u32, i64), Day> = Default::default();
    for (row, (t, id)) in ts.iter().zip(ids.iter()).enumerate() {
        // Required columns of loaded rows: never null.
        let (Some(_), Some(t), Some(id)) = (sys.at(row), t, id) else {
            continue;
        };
        let day = days
            .entry((sys.codes[row], t.div_euclid(MICROS_PER_DAY)))
            .or_insert((0, t, (t, id)));
        day.0 += 1;
        day.1 = day.1.min(t);
        day.2 = day.2.max((t, id));
    }
    let rank = sys.ranks();
    let mut days: Vec<((u32, i64), Day)> = days.into_iter().collect();
    days.sort_unstable_by_key(|((code, day), _)| (rank[*code as usize], *day));
    Ok(df!(
        "system_id" => days.iter().map(|d| sys.values[d.0 .0 as usize]).collect::<Vec<_>>(),
        "day" => days.iter().map(|d| d.0 .1).collect::<Vec<_>>(),
        "events" => days.iter().map(|d| d.1 .0).collect::<Vec<_>>(),
        "first_ts" => days.iter().map(|d| d.1 .1).collect::<Vec<_>>(),
        "latest_ts" => days.iter().map(|d| d.1 .2 .0).collect::<Vec<_>>(),
        "latest_event_id" => days.iter().map(|d| d.1 .2 .1).collect::<Vec<_>>(),
    )?)
}

/// Successful events per `system_id, account_id, action, day`: `last_ts`. Every reader
/// takes the latest use over these rows, whatever their order: the groups are kept in the
/// order they first occur (deterministic, and no sort of string keys).
fn usage_days(rows: &DataFrame) -> Result<DataFrame> {
    let text = |c: &str| -> Result<Coded> { Ok(Coded::of(rows.column(c)?.str()?)) };
    let (sys, account, action, outcome) = (
        text("system_id")?,
        text("account_id")?,
        text("action")?,
        text("outcome")?,
    );
    let success: Vec<bool> = outcome
        .values
        .iter()
        .map(|v| *v == Some("success"))
        .collect();
    let ts = rows.column("ts")?.i64()?;
    // The three codes and the day in one integer: a day fits 32 bits (an i64 of
    // microseconds spans ±106,751,992 days).
    let key = |row: usize, day: i64| {
        let code = |c: &Coded| u128::from(c.codes[row]);
        (code(&sys) << 96) | (code(&account) << 64) | (code(&action) << 32) | (day as u32 as u128)
    };
    let mut at: PlHashMap<u128, usize> = PlHashMap::default();
    let (mut keys, mut last): (Vec<(usize, i64)>, Vec<i64>) = (Vec::new(), Vec::new());
    for (row, t) in ts.iter().enumerate() {
        let Some(t) = t.filter(|_| success[outcome.codes[row] as usize]) else {
            continue;
        };
        let day = t.div_euclid(MICROS_PER_DAY);
        let i = *at.entry(key(row, day)).or_insert_with(|| {
            keys.push((row, day));
            last.push(t);
            keys.len() - 1
        });
        last[i] = last[i].max(t);
    }
    let rows = || keys.iter().map(|k| k.0);
    Ok(df!(
        "system_id" => sys.at_rows(rows()),
        "account_id" => account.at_rows(rows()),
        "action" => action.at_rows(rows()),
        "day" => keys.iter().map(|k| k.1).collect::<Vec<_>>(),
        "last_ts" => last,
    )?)
}

/// Cuts each system's events (`system_id, ts, event_id`) into spans at every silence longer
/// than [`MIN_SILENCE_HOURS`]. Any silence a policy can flag is longer than that, so it lies
/// between two spans of one partition or between spans of different partitions; the spans
/// of all partitions, merged where they overlap, give back exactly the silences of the
/// whole feed longer than the floor, whatever the cut of the events into files.
pub fn feed_spans(events: &DataFrame) -> Result<DataFrame> {
    // Ordered by time only (an integer sort): a span's ends are then its earliest and
    // latest instants, and among events at one instant the lowest and highest event id,
    // which is what an order by (ts, event_id) would put first and last.
    let order = events
        .column("ts")?
        .as_materialized_series()
        .arg_sort(SortOptions::default());
    let sorted = events.take(&order)?;
    let (sys, ts, ids) = (
        Coded::of(sorted.column("system_id")?.str()?),
        sorted.column("ts")?.i64()?,
        sorted.column("event_id")?.str()?,
    );
    let floor = MIN_SILENCE_HOURS * MICROS_PER_HOUR;
    // A span: first and last point (ts, event_id), per system code.
    type Span<'a> = ((i64, &'a str), (i64, &'a str));
    let mut by_system: Vec<Vec<Span>> = vec![Vec::new(); sys.values.len()];
    for (row, (t, id)) in ts.iter().zip(ids.iter()).enumerate() {
        // Required columns of loaded rows: never null.
        let (Some(_), Some(t), Some(id)) = (sys.at(row), t, id) else {
            continue;
        };
        let spans = &mut by_system[sys.codes[row] as usize];
        match spans.last_mut() {
            Some((first, last)) if t - last.0 <= floor => {
                if t == first.0 && id < first.1 {
                    first.1 = id;
                }
                if t > last.0 || id > last.1 {
                    *last = (t, id);
                }
            }
            _ => spans.push(((t, id), (t, id))),
        }
    }
    // In the order of systems.
    let spans: Vec<(&str, Span)> = sys
        .sorted()
        .into_iter()
        .flat_map(|(code, s)| {
            let spans = std::mem::take(&mut by_system[code]);
            spans.into_iter().map(move |span| (s, span))
        })
        .collect();
    Ok(df!(
        "system_id" => spans.iter().map(|s| s.0).collect::<Vec<_>>(),
        "start_ts" => spans.iter().map(|s| s.1 .0 .0).collect::<Vec<_>>(),
        "start_event_id" => spans.iter().map(|s| s.1 .0 .1).collect::<Vec<_>>(),
        "end_ts" => spans.iter().map(|s| s.1 .1 .0).collect::<Vec<_>>(),
        "end_event_id" => spans.iter().map(|s| s.1 .1 .1).collect::<Vec<_>>(),
    )?)
}

/// The digest of a partition without events: the schema of every part.
pub fn empty_digest(checks: &ChainChecks) -> Result<Digest> {
    let rows = super::loader::empty_frame(&AUDIT_EVENTS)?;
    digest(&rows, &seq_records(&rows)?, checks)
}

/// The digests of all partitions, stacked: what the resolver reads. For the log chains,
/// each system is either compact (edges, starts and local findings) or raw (all its
/// records), never both.
#[derive(Debug, Clone)]
pub struct EventDigests {
    /// Records ([`SEQ_COLUMNS`]) of the systems evaluated on all their records.
    pub seq_raw: DataFrame,
    /// Edge records of the other systems.
    pub seq_edges: DataFrame,
    /// `system_id, seq`: each partition's lowest seq (compact systems).
    pub gap_starts: DataFrame,
    /// `system_id, seq`: each partition's lowest hashed seq (compact systems).
    pub hash_starts: DataFrame,
    pub gap_local: DataFrame,
    pub hash_local: DataFrame,
    pub feed: DataFrame,
    pub usage: DataFrame,
    /// Every partition's feed spans ([`Digest::spans`]), stacked.
    pub spans: DataFrame,
}

impl EventDigests {
    /// The same frames without a row.
    pub fn cleared(&self) -> EventDigests {
        EventDigests {
            seq_raw: self.seq_raw.clear(),
            seq_edges: self.seq_edges.clear(),
            gap_starts: self.gap_starts.clear(),
            hash_starts: self.hash_starts.clear(),
            gap_local: self.gap_local.clear(),
            hash_local: self.hash_local.clear(),
            feed: self.feed.clear(),
            usage: self.usage.clear(),
            spans: self.spans.clear(),
        }
    }

    /// The digests of no partition, for tables that have no events yet.
    pub fn empty(checks: &ChainChecks) -> Result<EventDigests> {
        // No partition: no log chain is checked whole, and no input file is read again.
        Self::of(&[], None, None, checks, &|read| {
            Err(Error::Internal(format!(
                "no input file for partition {}",
                read.path
            )))
        })
    }

    /// Stacks the partitions' digests for an evaluation whose T falls on UTC day `t_day`
    /// (None: unknown, every system is evaluated raw). A system is compact when no two of
    /// its partitions overlap in seq and all of them lie before T; only then are the
    /// findings inside one partition independent of the others.
    pub fn of(
        partitions: &[Partition],
        t_day: Option<i64>,
        usage: Option<DataFrame>,
        checks: &ChainChecks,
        from_input: &RowsFromInput,
    ) -> Result<EventDigests> {
        let empty_seq = seq_records(&super::loader::empty_frame(&AUDIT_EVENTS)?)?;
        let empty = empty_digest(checks)?;
        let mut tagged = Vec::with_capacity(partitions.len());
        for p in partitions {
            let last_day = p.meta.days.map_or(i64::MIN, |d| d.1);
            let n = p.digest.seq_ranges.height();
            let mut df = p.digest.seq_ranges.clone();
            df.with_column(Column::new("last_day".into(), vec![last_day; n]))?;
            tagged.push(df);
        }
        let ranges = stack(
            tagged.into_iter(),
            empty
                .seq_ranges
                .clone()
                .lazy()
                .with_column(lit(0i64).cast(DataType::Int64).alias("last_day"))
                .collect()?,
        )?;
        let raw_systems = match t_day {
            None => ranges
                .clone()
                .lazy()
                .select([col("system_id")])
                .unique(None, UniqueKeepStrategy::Any)
                .collect()?,
            Some(t_day) => ranges
                .clone()
                .lazy()
                .sort(["system_id", "min_seq"], SortMultipleOptions::default())
                .with_column(
                    col("max_seq")
                        .cum_max(false)
                        .shift(lit(1))
                        .over([col("system_id")])?
                        .alias("max_before"),
                )
                .filter(
                    col("min_seq")
                        .lt_eq(col("max_before"))
                        .fill_null(lit(false))
                        .or(col("last_day").gt_eq(lit(t_day))),
                )
                .select([col("system_id")])
                .unique(None, UniqueKeepStrategy::Any)
                .collect()?,
        };
        let raw_ids: std::collections::HashSet<String> = raw_systems
            .column("system_id")?
            .str()?
            .iter()
            .flatten()
            .map(str::to_string)
            .collect();
        let is_raw = |df: &DataFrame| -> Result<bool> {
            Ok(df
                .column("system_id")?
                .str()?
                .iter()
                .flatten()
                .any(|s| raw_ids.contains(s)))
        };
        let only = |df: DataFrame, raw: bool| -> Result<DataFrame> {
            Ok(df
                .lazy()
                .join(
                    raw_systems.clone().lazy(),
                    [col("system_id")],
                    [col("system_id")],
                    JoinArgs::new(if raw { JoinType::Semi } else { JoinType::Anti }),
                )
                .collect()?)
        };
        let (mut raw_parts, mut read_again) = (Vec::new(), 0);
        for p in partitions {
            if is_raw(&p.digest.seq_ranges)? {
                raw_parts.push(only(p.seq.read(&p.meta.file, from_input)?, true)?);
                read_again += usize::from(matches!(p.seq, SeqRecords::Input));
            }
        }
        if read_again > 0 {
            // Said, because a source whose seq overlaps every night (a replayed feed)
            // makes every night read those files again.
            tracing::info!(
                partitions = read_again,
                systems = raw_ids.len(),
                "partitions read again from the input: their systems' log chains are \
                 checked whole (seq ranges that overlap, or reach past T)"
            );
        }
        let compact = |f: fn(&Digest) -> &DataFrame, empty: &DataFrame| -> Result<DataFrame> {
            only(
                stack(
                    partitions.iter().map(|p| f(&p.digest).clone()),
                    empty.clone(),
                )?,
                false,
            )
        };
        let starts = |c: &str| -> Result<DataFrame> {
            Ok(only(ranges.clone(), false)?
                .lazy()
                .filter(col(c).is_not_null())
                .select([col("system_id"), col(c).alias("seq")])
                .collect()?)
        };
        Ok(EventDigests {
            seq_raw: stack(raw_parts.into_iter(), empty_seq)?,
            seq_edges: compact(|d| &d.seq_edges, &empty.seq_edges)?,
            gap_starts: starts("min_seq")?,
            hash_starts: starts("min_hashed")?,
            gap_local: compact(|d| &d.gap_local, &empty.gap_local)?,
            hash_local: compact(|d| &d.hash_local, &empty.hash_local)?,
            feed: stack(partitions.iter().map(|p| p.digest.feed.clone()), empty.feed)?,
            spans: stack(
                partitions.iter().map(|p| p.digest.spans.clone()),
                empty.spans,
            )?,
            usage: match usage {
                Some(u) => u,
                None => stack(
                    partitions.iter().map(|p| p.digest.usage.clone()),
                    empty.usage,
                )?,
            },
        })
    }
}

/// Latest use per (system, account, action), folded in one usage frame at a time. The ids
/// are interned to integers: a fold costs a hash lookup per row, whatever the size of the
/// rollup, and each entry holds 12 bytes of key instead of three strings.
#[derive(Default)]
struct Rollup {
    /// `system_id`, `account_id`, `action`.
    names: [Interner; 3],
    last: PlHashMap<[u32; 3], i64>,
}

/// Values are small strings kept inline (ids are short): a lookup that hits compares the
/// key where the hash led, without following a pointer elsewhere in memory.
#[derive(Default)]
struct Interner {
    ids: PlHashMap<PlSmallStr, u32>,
    values: Vec<Option<PlSmallStr>>,
    null: Option<u32>,
}

impl Interner {
    fn id(&mut self, v: Option<&str>) -> u32 {
        let next = self.values.len() as u32;
        let id = match v {
            Some(v) => match self.ids.get(v) {
                Some(&id) => return id,
                None => *self.ids.entry(v.into()).or_insert(next),
            },
            None => *self.null.get_or_insert(next),
        };
        if id == next {
            self.values.push(v.map(PlSmallStr::from));
        }
        id
    }

    /// Each id's rank in the order of the values (null first, as polars sorts).
    fn ranks(&self) -> Vec<u32> {
        crate::codes::ranks(&self.values)
    }
}

impl Rollup {
    /// Folds a frame with `system_id, account_id, action, last_ts` (other columns ignored).
    fn fold(&mut self, df: &DataFrame) -> Result<()> {
        let mut ids = Vec::with_capacity(3);
        let mut coded = Vec::with_capacity(3);
        for (names, c) in self
            .names
            .iter_mut()
            .zip(["system_id", "account_id", "action"])
        {
            let column = Coded::of(df.column(c)?.str()?);
            // Each distinct value of the frame interned once.
            ids.push(
                column
                    .values
                    .iter()
                    .map(|v| names.id(*v))
                    .collect::<Vec<_>>(),
            );
            coded.push(column.codes);
        }
        let id = |i: usize, row: usize| ids[i][coded[i][row] as usize];
        for (row, t) in df.column("last_ts")?.i64()?.iter().enumerate() {
            let Some(t) = t else { continue };
            let latest = self
                .last
                .entry([id(0, row), id(1, row), id(2, row)])
                .or_insert(t);
            *latest = (*latest).max(t);
        }
        Ok(())
    }

    /// Adds `other`'s entries (its ids translated into this rollup's).
    fn merge(&mut self, other: Rollup) {
        let ids: Vec<Vec<u32>> = (0..3)
            .map(|i| {
                other.names[i]
                    .values
                    .iter()
                    .map(|v| self.names[i].id(v.as_deref()))
                    .collect()
            })
            .collect();
        for (k, t) in other.last {
            let key = [0, 1, 2].map(|i| ids[i][k[i] as usize]);
            let latest = self.last.entry(key).or_insert(t);
            *latest = (*latest).max(t);
        }
    }

    /// The rollup as a frame sorted by `system_id, account_id, action`: the same bytes
    /// however it was folded.
    fn finish(self) -> Result<DataFrame> {
        let ranks = self.names.each_ref().map(Interner::ranks);
        let mut entries: Vec<([u32; 3], i64)> = self.last.into_iter().collect();
        entries.sort_unstable_by_key(|(k, _)| [0, 1, 2].map(|i| ranks[i][k[i] as usize]));
        let column = |i: usize| -> Vec<Option<&str>> {
            entries
                .iter()
                .map(|(k, _)| self.names[i].values[k[i] as usize].as_deref())
                .collect()
        };
        Ok(df!(
            "system_id" => column(0),
            "account_id" => column(1),
            "action" => column(2),
            "last_ts" => entries.iter().map(|e| e.1).collect::<Vec<_>>(),
        )?)
    }
}

/// The usage digest of all partitions for an evaluation on UTC day `t_day`, through the
/// store's rollup: the partitions wholly before T are folded into one frame of latest use
/// per (system, account, action), dated their last day, which is before T, so the result
/// answers "last use before T" exactly as the per-day rows would. The rollup is reused when
/// every partition it folded is still there unchanged and before T (then only the others
/// are added), else rebuilt from every partition's usage; the new rollup is stored for the
/// next run. Partitions reaching T or later keep their per-day rows.
pub fn rolled_usage(
    partitions: &mut [Partition],
    t_day: i64,
    store: &super::state::Store,
    checks: &ChainChecks,
    from_input: &RowsFromInput,
) -> Result<DataFrame> {
    let before_t = |p: &Partition| p.meta.days.is_none_or(|d| d.1 < t_day);
    let eligible: std::collections::BTreeSet<String> = partitions
        .iter()
        .filter(|p| before_t(p))
        .map(|p| p.key.clone())
        .collect();
    let empty = empty_digest(checks)?.usage;
    let template = empty.clone().drop("day")?;
    // A damaged stored rollup (the store says so in the log) is rebuilt like a stale one.
    let (previous, stored) = match store.rollup().filter(|r| r.keys.is_subset(&eligible)) {
        Some(r) => match store.rollup_usage(&template) {
            Some(df) => (Some(r), Some(df)),
            None => (None, None),
        },
        None => (None, None),
    };
    let last_day = partitions
        .iter()
        .filter(|p| before_t(p))
        .filter_map(|p| p.meta.days.map(|d| d.1))
        .max()
        .unwrap_or(t_day - 1);
    // A rerun of the same night (every eligible partition folded already) keeps the stored
    // rollup as it is; otherwise the partitions it lacks are folded into it.
    let unchanged = previous.is_some_and(|r| r.keys == eligible);
    // One partition at a time: memory holds each side's rollup and the usage of the
    // partition it folds, never every partition's usage at once. Two halves side by side
    // (a hash lookup per row, while nothing else runs), then merged.
    let fold_all = |pending: &mut [&mut Partition]| -> Result<DataFrame> {
        let fold = |share: &mut [&mut Partition]| -> Result<Rollup> {
            let mut into = Rollup::default();
            for p in share {
                p.load_usage(store, &empty, from_input)?;
                into.fold(&p.take_usage())?;
            }
            Ok(into)
        };
        let (first, second) = pending.split_at_mut(pending.len() / 2);
        let (mut folded, other) = crate::parallel::join("rollup", || fold(first), || fold(second))?;
        folded.merge(other);
        folded.finish()
    };
    let rollup = match stored {
        Some(stored) if unchanged => stored,
        stored => {
            let folded = |p: &Partition| previous.is_some_and(|r| r.keys.contains(&p.key));
            let mut pending: Vec<&mut Partition> = partitions
                .iter_mut()
                .filter(|p| before_t(p) && !folded(p))
                .collect();
            // A later night folds only the new partitions, and merges their rollup with the
            // stored one, which is in key order: no hash lookup per stored key.
            let merged = match &stored {
                Some(stored) => merge_rollups(stored, &fold_all(&mut pending)?)?,
                None => None,
            };
            let rollup = match merged {
                Some(rollup) => rollup,
                None => {
                    if stored.is_some() {
                        tracing::warn!(
                            "the stored usage rollup is not in key order (damaged): rebuilt \
                             from every partition"
                        );
                    }
                    let mut all: Vec<&mut Partition> =
                        partitions.iter_mut().filter(|p| before_t(p)).collect();
                    fold_all(&mut all)?
                }
            };
            store.save_rollup(
                &super::state::RollupMeta {
                    keys: eligible,
                    last_day,
                },
                &rollup,
            )?;
            rollup
        }
    };
    let dated = rollup
        .lazy()
        .with_column(lit(last_day).cast(DataType::Int64).alias("day"))
        .select(
            empty
                .get_column_names()
                .into_iter()
                .map(|c| col(c.clone()))
                .collect::<Vec<_>>(),
        );
    let mut later = Vec::new();
    for p in partitions.iter_mut().filter(|p| !before_t(p)) {
        p.load_usage(store, &empty, from_input)?;
        later.push(p.take_usage().lazy());
    }
    Ok(concat(
        std::iter::once(dated).chain(later).collect::<Vec<_>>(),
        UnionArgs::default(),
    )?
    .collect()?)
}

/// Two rollups ([`Rollup::finish`]'s columns, each sorted by key) as one: for each key,
/// its latest use, sorted by key. None when `stored` is not strictly in key order or lacks
/// a time (a damaged or planted file), which the caller rebuilds.
fn merge_rollups(stored: &DataFrame, fresh: &DataFrame) -> Result<Option<DataFrame>> {
    type Row<'a> = ([Option<&'a str>; 3], Option<i64>);
    fn rows(df: &DataFrame) -> Result<impl Iterator<Item = Row<'_>>> {
        let text = |c: &str| -> Result<_> { Ok(df.column(c)?.str()?.iter()) };
        Ok(text("system_id")?
            .zip(text("account_id")?)
            .zip(text("action")?)
            .zip(df.column("last_ts")?.i64()?.iter())
            .map(|(((s, a), x), t)| ([s, a, x], t)))
    }
    let n = stored.height() + fresh.height();
    let mut keys: [Vec<Option<&str>>; 3] = std::array::from_fn(|_| Vec::with_capacity(n));
    let mut last: Vec<i64> = Vec::with_capacity(n);
    let (mut old, mut new) = (rows(stored)?.peekable(), rows(fresh)?.peekable());
    let mut previous: Option<[Option<&str>; 3]> = None;
    loop {
        let order = match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(o), Some(n)) => o.0.cmp(&n.0),
        };
        let (key, t) = match order {
            std::cmp::Ordering::Greater => new.next(),
            std::cmp::Ordering::Less => old.next(),
            std::cmp::Ordering::Equal => {
                let (o, n) = (old.next(), new.next());
                o.zip(n).map(|(o, n)| (o.0, o.1.max(n.1)))
            }
        }
        .ok_or_else(|| Error::Internal("rollup merge ran past its rows".into()))?;
        let Some(t) = t else { return Ok(None) };
        if order != std::cmp::Ordering::Greater {
            // A stored key not above the last one written: out of order or repeated.
            if previous.is_some_and(|p| p >= key) {
                return Ok(None);
            }
        }
        previous = Some(key);
        for (column, value) in keys.iter_mut().zip(key) {
            column.push(value);
        }
        last.push(t);
    }
    let [systems, accounts, actions] = keys;
    Ok(Some(df!(
        "system_id" => systems,
        "account_id" => accounts,
        "action" => actions,
        "last_ts" => last,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(rows: &[(Option<&str>, &str, &str, i64)]) -> Result<DataFrame> {
        Ok(df!(
            "system_id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            "account_id" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            "action" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            "day" => rows.iter().map(|r| r.3 / MICROS_PER_DAY).collect::<Vec<_>>(),
            "last_ts" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        )?)
    }

    /// The stored rollup is the same bytes whatever order the partitions were folded in:
    /// the latest use of each key, sorted by key with a null first, as polars sorts.
    #[test]
    fn rollup_keeps_the_latest_use_sorted_by_key_whatever_the_fold_order() -> Result<()> {
        let a = usage(&[
            (Some("pay"), "u2", "view", 50),
            (Some("pay"), "u1", "view", 10),
            (Some("core"), "u1", "approve", 7),
        ])?;
        let b = usage(&[
            (Some("pay"), "u1", "view", 30),
            (None, "u9", "view", 1),
            (Some("pay"), "u2", "view", 20),
        ])?;
        let folded = |parts: [&DataFrame; 2]| -> Result<DataFrame> {
            let mut r = Rollup::default();
            for p in parts {
                r.fold(p)?;
            }
            r.finish()
        };
        let ab = folded([&a, &b])?;
        assert!(ab.equals_missing(&folded([&b, &a])?));
        let want = df!(
            "system_id" => [None, Some("core"), Some("pay"), Some("pay")],
            "account_id" => ["u9", "u1", "u1", "u2"],
            "action" => ["view", "approve", "view", "view"],
            "last_ts" => [1i64, 7, 30, 50],
        )?;
        assert!(ab.equals_missing(&want), "{ab}");
        Ok(())
    }

    /// A later night merges the new partitions' rollup into the stored one: the same
    /// frame as folding everything, and a stored frame out of key order or with a key
    /// twice is refused (rebuilt by the caller), whichever side the offending key is on.
    #[test]
    fn a_stored_rollup_merged_with_a_new_one_is_the_rollup_of_all() -> Result<()> {
        let old = usage(&[
            (None, "u9", "view", 1),
            (Some("core"), "u1", "approve", 7),
            (Some("pay"), "u2", "view", 50),
        ])?;
        let new = usage(&[
            (Some("core"), "u1", "approve", 9),
            (Some("core"), "u3", "view", 4),
            (Some("pay"), "u2", "view", 20),
        ])?;
        let finished = |parts: &[&DataFrame]| -> Result<DataFrame> {
            let mut r = Rollup::default();
            for p in parts {
                r.fold(p)?;
            }
            r.finish()
        };
        let (stored, fresh) = (finished(&[&old])?, finished(&[&new])?);
        let merged =
            merge_rollups(&stored, &fresh)?.ok_or_else(|| Error::Internal("refused".into()))?;
        assert!(merged.equals_missing(&finished(&[&old, &new])?), "{merged}");
        assert!(merge_rollups(&stored.reverse(), &fresh)?.is_none());
        let twice = stored.vstack(&stored.slice(2, 1))?;
        assert!(merge_rollups(&twice, &fresh)?.is_none());
        // The repeated key equal to a fresh one: still refused.
        let twice = stored.slice(0, 2).vstack(&stored.slice(1, 1))?;
        assert!(merge_rollups(&twice, &fresh)?.is_none());
        Ok(())
    }

    /// A first run folds two halves of the partitions apart and merges them: the second
    /// half interns its ids in another order (a null first), which the merge translates.
    #[test]
    fn two_halves_merged_are_the_rollup_of_all() -> Result<()> {
        let a = usage(&[
            (Some("pay"), "u2", "view", 50),
            (Some("core"), "u1", "approve", 7),
        ])?;
        let b = usage(&[
            (None, "u9", "view", 1),
            (Some("core"), "u1", "approve", 9),
            (Some("pay"), "u2", "view", 20),
        ])?;
        let mut all = Rollup::default();
        all.fold(&a)?;
        all.fold(&b)?;
        let (mut first, mut second) = (Rollup::default(), Rollup::default());
        first.fold(&a)?;
        second.fold(&b)?;
        first.merge(second);
        let merged = first.finish()?;
        assert!(merged.equals_missing(&all.finish()?), "{merged}");
        let want = df!(
            "system_id" => [None, Some("core"), Some("pay")],
            "account_id" => ["u9", "u1", "u2"],
            "action" => ["view", "approve", "view"],
            "last_ts" => [1i64, 9, 50],
        )?;
        assert!(merged.equals_missing(&want), "{merged}");
        Ok(())
    }
}
