//! The tables other than the audit events, as the last run loaded them
//! (`OUT/state/tables/`, Arrow IPC): a nightly run whose table files did not change reads them back
//! instead of validating every grant again, and `permaudit whatif` answers a request from
//! them (a ticket workflow calls it for each access request).
//!
//! Each table's entry is keyed like an event digest, by what determines its loaded rows:
//! its input files (path and SHA-256) and each snapshot source's files it is fed by, with
//! the mapping fingerprint, the naive-timestamp zone, the SoD rule ids and rule codes rows
//! are checked against, and the format. A table's rows also depend on the tables loaded
//! before it (references are checked against them), so its key chains theirs: when only
//! the grants change, the systems, identities, accounts and entitlements are still read
//! back. Beside the frames the entry keeps what ingest reported of each table (counts,
//! files, quarantined rows, unknown columns, source tallies), so that a run that reads a
//! table back reports it as if it had loaded it.
//!
//! A key that differs, a missing, unreadable or foreign entry, or a frame whose columns are
//! not the table's, is a miss: the table is then loaded from its inputs. Like the digests,
//! the entry is trusted once its key matches (docs/decisions.md, "Hostile OUT and state").

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::loader::{empty_frame, Known, QuarantineRow, TableLoader};
use super::mapped::{MappedSource, Tallies};
use super::schema::{self, Table, TableSchema};
use super::{
    read_bytes, Discovery, IngestReport, InputFile, LoadedTable, SourceFile, TableAccount,
    TableReport, Tables,
};
use crate::error::{Error, Result};
use crate::files::{open_read, read_file};

/// Bumped whenever what the entry holds, or how its keys are made, changes.
const FORMAT: u32 = 2;
/// In `OUT/state/`.
pub const DIR: &str = "tables";
/// The entry's keys, one line per table, written last: an entry without it is incomplete.
pub const KEY_FILE: &str = "key";
/// What ingest reported of each table, by table name.
const REPORT_FILE: &str = "report.json";

/// The tables the entry holds: every one but the audit events, in load order.
pub fn saved() -> impl Iterator<Item = &'static TableSchema> {
    schema::ALL
        .iter()
        .copied()
        .filter(|s| s.table != Table::AuditEvents)
}

/// One input of a table, as its key names it.
pub enum Input<'a> {
    File(&'a SourceFile),
    /// A mapped source and the index of one of its files.
    Source(&'a MappedSource, usize),
}

impl Input<'_> {
    fn rel(&self) -> &str {
        match self {
            Input::File(f) => &f.rel,
            Input::Source(src, i) => src.files.get(*i).map_or("", |f| f.rel.as_str()),
        }
    }
}

/// The keys of the tables in load order, each covering the tables loaded before it.
pub struct KeyChain {
    text: String,
    keys: String,
}

impl KeyChain {
    pub fn new(
        naive_tz: Option<chrono_tz::Tz>,
        sod_rule_ids: &[String],
        rule_codes: &[String],
    ) -> KeyChain {
        KeyChain {
            text: format!(
                "permaudit tables {FORMAT} {}\nzone {}\nsod {}\nrules {}\n",
                env!("CARGO_PKG_VERSION"),
                naive_tz.map(|t| t.name()).unwrap_or("-"),
                sod_rule_ids.join(","),
                rule_codes.join(","),
            ),
            keys: String::new(),
        }
    }

    /// The key of `s` next in the chain, its inputs hashing as `sha256` says; `None` when
    /// it does not know one of them.
    pub fn peek(
        &self,
        discovery: &Discovery,
        s: &TableSchema,
        sha256: &mut dyn FnMut(&Input) -> Option<String>,
    ) -> Option<String> {
        let lines = lines(discovery, s, sha256)?;
        Some(self.key_with(&lines))
    }

    /// The key of a table whose inputs `lines` names, next in the chain.
    fn key_with(&self, lines: &str) -> String {
        crate::hash::sha256_hex(format!("{}{lines}", self.text).as_bytes())
    }

    /// Adds `s`, as it was loaded (or read back): its files' hashes are in its report and
    /// its sources' tallies.
    pub(super) fn push(
        &mut self,
        discovery: &Discovery,
        s: &TableSchema,
        report: &TableReport,
        tallies: &Tallies,
    ) -> Result<()> {
        let hashes: HashMap<&str, &str> = report
            .account
            .files
            .iter()
            .chain(tallies.inputs())
            .map(|f| (f.path.as_str(), f.sha256.as_str()))
            .collect();
        self.push_with(discovery, s, &mut |input| {
            hashes.get(input.rel()).map(|h| h.to_string())
        })
    }

    fn push_with(
        &mut self,
        discovery: &Discovery,
        s: &TableSchema,
        sha256: &mut dyn FnMut(&Input) -> Option<String>,
    ) -> Result<()> {
        let lines = lines(discovery, s, sha256).ok_or_else(|| {
            Error::Internal(format!("{}: an input of the table was not hashed", s.name))
        })?;
        let key = self.key_with(&lines);
        self.text.push_str(&lines);
        self.keys.push_str(&format!("{} {key}\n", s.name));
        Ok(())
    }

    /// What the entry's key file holds.
    pub fn keys(&self) -> &str {
        &self.keys
    }
}

/// The part of a key that names `s`'s inputs: its files, then the files of each source
/// that feeds it.
fn lines(
    discovery: &Discovery,
    s: &TableSchema,
    sha256: &mut dyn FnMut(&Input) -> Option<String>,
) -> Option<String> {
    let mut text = format!("table {}\n", s.name);
    for f in discovery.files.get(&s.table).into_iter().flatten() {
        let sha = sha256(&Input::File(f))?;
        text.push_str(&format!("file {} {sha}\n", f.rel));
    }
    for src in discovery
        .sources
        .iter()
        .filter(|src| src.tables.contains(&s.table))
    {
        for (i, f) in src.files.iter().enumerate() {
            let sha = sha256(&Input::Source(src, i))?;
            text.push_str(&format!(
                "source {} {sha} {}\n",
                f.rel,
                src.rows.fingerprint(i).replace('\n', " "),
            ));
        }
    }
    Some(text)
}

/// The keys of the tables `discovery` would load (its event files play no part), every
/// input read and hashed here: what `whatif`, which ingests nothing, looks the entry up by.
pub fn key(
    discovery: &Discovery,
    naive_tz: Option<chrono_tz::Tz>,
    sod_rule_ids: &[String],
    rule_codes: &[String],
) -> Result<String> {
    let mut chain = KeyChain::new(naive_tz, sod_rule_ids, rule_codes);
    let failed = std::cell::Cell::new(None);
    let mut sha256 = |input: &Input| {
        let hashed = match input {
            Input::File(f) => read_bytes(f).map(|bytes| crate::hash::sha256_hex(&bytes)),
            Input::Source(src, i) => match src.rows.hashed(*i) {
                Some(h) => Ok(h.sha256),
                None => {
                    let path = src.files.get(*i).map(|f| f.path.as_path());
                    let path = path.unwrap_or(Path::new(""));
                    crate::fs_guard::read_regular(path, crate::fs_guard::Links::Follow)
                        .map(|bytes| crate::hash::sha256_hex(&bytes))
                        .map_err(|e| Error::io(path, e))
                }
            },
        };
        hashed.map_err(|e| failed.set(Some(e))).ok()
    };
    for s in saved() {
        let pushed = chain.push_with(discovery, s, &mut sha256);
        if let Some(e) = failed.take() {
            return Err(e);
        }
        pushed?;
    }
    Ok(chain.keys)
}

/// What ingest reported of one table, as the entry keeps it.
#[derive(Serialize, Deserialize)]
pub struct StoredReport {
    rows_read: u64,
    rows_loaded: u64,
    files: Vec<InputFile>,
    /// (file, column)
    unknown_columns: Vec<(String, String)>,
    /// (source file, line, reason, raw row)
    quarantine: Vec<(String, u64, String, String)>,
    tallies: Tallies,
}

/// The reports of the tables an entry holds, by table name.
#[derive(Default, Serialize, Deserialize)]
pub struct Reports(BTreeMap<String, StoredReport>);

impl Reports {
    /// The reports of tables as ingest made them, each with its sources' tallies.
    pub(super) fn of<'a>(parts: impl Iterator<Item = (&'a TableReport, &'a Tallies)>) -> Reports {
        Reports(
            parts
                .map(|(r, tallies)| {
                    let stored = StoredReport {
                        rows_read: r.account.rows_read,
                        rows_loaded: r.account.rows_loaded,
                        files: r.account.files.clone(),
                        unknown_columns: r.unknown_columns.clone(),
                        quarantine: r
                            .quarantine
                            .iter()
                            .map(|q| {
                                let (file, reason, raw) = (&q.source_file, &q.reason, &q.raw);
                                (file.clone(), q.line, reason.clone(), raw.clone())
                            })
                            .collect(),
                        tallies: tallies.clone(),
                    };
                    (r.account.table.to_string(), stored)
                })
                .collect(),
        )
    }
}

/// An entry as a run finds it in the state, each table taken from it when its key matches.
pub struct Stored {
    dir: PathBuf,
    keys: BTreeMap<String, String>,
    reports: Reports,
    /// Whether a table whose key matched could not be used: the entry is then written
    /// again, even where its keys are current.
    pub damaged: bool,
}

impl Stored {
    /// The entry in `state` (`OUT/state`), `None` when there is none.
    pub fn open(state: &Path) -> Option<Stored> {
        let dir = state.join(DIR);
        let keys = read_file(&dir.join(KEY_FILE)).ok()?;
        let keys = String::from_utf8_lossy(&keys)
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(table, key)| (table.to_string(), key.to_string()))
            .collect();
        let path = dir.join(REPORT_FILE);
        let reports = read_file(&path)
            .and_then(|bytes| {
                serde_json::from_slice::<Reports>(&bytes)
                    .map_err(|e| Error::Internal(e.to_string()))
            })
            .map_err(|e| {
                tracing::warn!(file = %path.display(), error = %e, "damaged stored report: the tables are loaded from the inputs");
            });
        Some(match reports {
            Ok(reports) => Stored {
                dir,
                keys,
                reports,
                damaged: false,
            },
            // Nothing to take, and the entry is written again.
            Err(()) => Stored {
                dir,
                keys: BTreeMap::new(),
                reports: Reports::default(),
                damaged: true,
            },
        })
    }

    /// `s` as a run loaded it from inputs keyed `key`, when the entry holds that.
    pub(super) fn take(
        &mut self,
        s: &'static TableSchema,
        key: &str,
        sources: &[MappedSource],
    ) -> Option<LoadedTable> {
        if self.keys.get(s.name).map(String::as_str) != Some(key) {
            return None;
        }
        let report = self
            .reports
            .0
            .remove(s.name)
            .filter(|r| r.rows_loaded <= r.rows_read && r.tallies.fits(sources))
            .ok_or_else(|| "no sound report of the table".to_string());
        let (r, rows) = match report.and_then(|r| Ok((r, frame(&self.dir, s)?))) {
            Ok(taken) => taken,
            Err(e) => {
                tracing::warn!(table = s.name, error = %e, "damaged stored table: loaded from the inputs");
                self.damaged = true;
                return None;
            }
        };
        Some(LoadedTable {
            rows,
            report: TableReport {
                account: TableAccount {
                    table: s.name,
                    rows_read: r.rows_read,
                    rows_loaded: r.rows_loaded,
                    rows_quarantined: r.rows_read - r.rows_loaded,
                    files: r.files,
                },
                unknown_columns: r.unknown_columns,
                quarantine: r
                    .quarantine
                    .into_iter()
                    .map(|(source_file, line, reason, raw)| QuarantineRow {
                        table: s.name,
                        source_file,
                        line,
                        reason,
                        raw,
                    })
                    .collect(),
            },
            tallies: r.tallies,
        })
    }
}

/// A stored table's file. Arrow IPC rather than Parquet: the frame comes back as it was
/// written, without decoding every string again.
fn frame_path(dir: &Path, s: &TableSchema) -> PathBuf {
    dir.join(format!("{}.arrow", s.name))
}

/// A stored table's frame, when it has the table's columns. Read with polars' checks of
/// every buffer (a planted file is an error, not memory read out of bounds), and never
/// memory-mapped (a file truncated under the run would end it).
fn frame(dir: &Path, s: &TableSchema) -> std::result::Result<DataFrame, String> {
    let file = open_read(&frame_path(dir, s)).map_err(|e| e.to_string())?;
    let df = IpcReader::new(file).finish().map_err(|e| e.to_string())?;
    let expected = empty_frame(s).map_err(|e| e.to_string())?;
    if df.schema() == expected.schema() {
        Ok(df)
    } else {
        Err("not the table's columns".to_string())
    }
}

/// Whether a stored table's file names the table's columns in its footer (read without
/// its data).
fn footer_matches(dir: &Path, s: &TableSchema) -> bool {
    let (Ok(file), Ok(expected)) = (open_read(&frame_path(dir, s)), empty_frame(s)) else {
        return false;
    };
    IpcReader::new(file)
        .schema()
        .is_ok_and(|footer| Schema::from_arrow_schema(footer.as_ref()) == **expected.schema())
}

/// The stored tables under `keys` in `state` (`OUT/state`), `None` on any miss (said in
/// the log when the entry is there but not usable). Reads only; takes no lock: the entry
/// is replaced by a rename, and its key file names the tables beside it.
pub fn read(state: &Path, keys: &str, mut tables: Tables) -> Option<Tables> {
    let dir = state.join(DIR);
    let stored = read_file(&dir.join(KEY_FILE)).ok()?;
    if stored != keys.as_bytes() {
        tracing::info!("stored tables are of other inputs: loading them");
        return None;
    }
    for s in saved() {
        match frame(&dir, s) {
            Ok(df) => *tables.slot(s.table) = df,
            Err(e) => {
                tracing::warn!(table = s.name, error = %e, "damaged stored table: ignored, the inputs are loaded");
                return None;
            }
        }
    }
    Some(tables)
}

/// Loads `source`'s rows into `tables` with the row checks of a run: references checked
/// against the tables' systems, accounts and entitlements. A row whose key a table
/// already holds is counted `overridden` and not added, as a source row is beside a
/// contract row with its key.
pub fn add_source(
    tables: &mut Tables,
    source: MappedSource,
    sod_rule_ids: &[String],
    rule_codes: &[String],
) -> Result<IngestReport> {
    let mut known = Known {
        sod_rule_ids: sod_rule_ids.iter().cloned().collect(),
        rule_codes: rule_codes.iter().cloned().collect(),
        ..Known::default()
    };
    for t in [Table::Systems, Table::Accounts, Table::Entitlements] {
        known.remember_frame(t, tables.table(t))?;
    }
    let sources = vec![source];
    let mut tallies = Tallies::new(&sources);
    let mut report = IngestReport::default();
    let mut overridden = 0;
    for s in saved().filter(|s| sources[0].tables.contains(&s.table)) {
        let mut loader = TableLoader::new(s, &mut known);
        tallies.load(&mut loader, &sources)?;
        let (df, _, _, quarantine) = loader.finish()?;
        report.quarantine.extend(quarantine);
        let held = tables.slot(s.table);
        let keys: Vec<PlSmallStr> = s.key.iter().map(|k| PlSmallStr::from(*k)).collect();
        let fresh = df
            .clone()
            .lazy()
            .join(
                held.clone()
                    .lazy()
                    .select(s.key.iter().map(|k| col(*k)).collect::<Vec<_>>()),
                keys.iter().map(|k| col(k.clone())).collect::<Vec<_>>(),
                keys.iter().map(|k| col(k.clone())).collect::<Vec<_>>(),
                JoinArgs::new(JoinType::Anti),
            )
            .collect()?;
        overridden += (df.height() - fresh.height()) as u64;
        *held = held.vstack(&fresh)?;
    }
    report.sources = tallies.accounts(&sources);
    if let Some(a) = report.sources.first_mut() {
        a.total.overridden += overridden;
    }
    Ok(report)
}

/// Whether the entry in `state` already holds the tables under `keys`, each file's footer
/// naming the table's columns: a nightly run with unchanged tables then leaves it as it is
/// instead of writing every grant again. Damage inside a file's pages is found by the run
/// that reads it back (which then has the entry written again) or by `whatif`.
pub fn is_current(state: &Path, keys: &str) -> bool {
    let dir = state.join(DIR);
    if read_file(&dir.join(KEY_FILE)).ok().as_deref() != Some(keys.as_bytes()) {
        return false;
    }
    let report = read_file(&dir.join(REPORT_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Reports>(&bytes).ok());
    report.is_some() && saved().all(|s| footer_matches(&dir, s))
}

/// An entry a run writes: the frames and their reports, then the keys (see [`read`]).
pub fn write(dir: &Path, keys: &str, tables: &Tables, reports: &Reports) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for s in saved() {
        let path = frame_path(dir, s);
        let mut df = tables.table(s.table).clone();
        IpcWriter::new(crate::files::create_file(&path)?)
            .with_compression(Some(IpcCompression::LZ4))
            .finish(&mut df)
            .map_err(|e| Error::frame_write(&path, e))?;
    }
    let path = dir.join(REPORT_FILE);
    let json = serde_json::to_vec(reports).map_err(|e| Error::Internal(e.to_string()))?;
    crate::files::write_file(&path, &json)?;
    crate::files::write_file(&dir.join(KEY_FILE), keys.as_bytes())
}
