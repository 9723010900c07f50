//! Rows from files that are not contract files: the sources of CONTRACT section 7 (Okta,
//! CloudTrail, SCIM...). Ingest loads them with the same row checks, quarantine and
//! accounting as contract rows, through [`RowSource`]; it knows nothing of their formats
//! (the `source` module does, and implements the trait).

use std::path::PathBuf;
use std::sync::Arc;

use super::loader::{Offer, TableLoader};
use super::schema::Table;
use super::values::{parse_text, row_cells};
use crate::error::Result;
pub use crate::manifest::{SourceAccount, SourceFileAccount, Tally};

/// Where a source's rows come from, file by file.
pub trait RowSource: Send + Sync + std::fmt::Debug {
    /// Offers every row of `table` that file `file` gives, and its skipped records, to
    /// `sink`, in record order. Returns what the file's bytes hash to, as read.
    fn rows(&self, file: usize, table: Table, sink: &mut dyn Sink) -> Result<Hashed>;

    /// What besides the file's bytes decides its rows (kind and mapping version,
    /// `system_id`, the country file, what other files of the source tell): part of the
    /// key of a stored digest.
    fn fingerprint(&self, file: usize) -> String;

    /// What the file's bytes hashed to, when the source read them before any table asked
    /// (a snapshot source maps its files when it is opened): a stored table is then keyed
    /// without reading them again.
    fn hashed(&self, _file: usize) -> Option<Hashed> {
        None
    }
}

/// The SHA-256 and size of the bytes a source file was read from.
#[derive(Debug, Clone, Default)]
pub struct Hashed {
    pub sha256: String,
    pub bytes: u64,
}

/// Receives one file's records.
pub trait Sink {
    /// A row: the text of the columns it fills, by name (others are null); `raw` renders
    /// the record for the quarantine.
    fn row(&mut self, pos: u64, cells: &[(&'static str, Option<String>)], raw: &dyn Fn() -> String);
    /// A record that should map but cannot: quarantined.
    fn bad(&mut self, pos: u64, reason: String, raw: String);
    /// A record that is not of the kinds the source maps, for a named reason.
    fn skip(&mut self, reason: &str);
}

/// One source as ingest sees it: what to call it, its files, and its rows.
#[derive(Debug, Clone)]
pub struct MappedSource {
    pub kind: &'static str,
    /// `path` as the configuration gives it.
    pub path: String,
    pub system_id: String,
    pub tables: &'static [Table],
    pub files: Vec<MappedFile>,
    pub rows: Arc<dyn RowSource>,
}

#[derive(Debug, Clone)]
pub struct MappedFile {
    /// The name in messages, the quarantine and the manifest.
    pub rel: String,
    pub path: PathBuf,
}

/// Feeds a source file's rows to a table's loader, counting what became of each record.
pub struct LoaderSink<'a, 'k> {
    pub loader: &'a mut TableLoader<'k>,
    pub rel: &'a str,
    pub tally: Tally,
}

impl Sink for LoaderSink<'_, '_> {
    fn row(
        &mut self,
        pos: u64,
        cells: &[(&'static str, Option<String>)],
        raw: &dyn Fn() -> String,
    ) {
        let schema = self.loader.schema;
        debug_assert!(cells.iter().all(|(c, _)| schema.column_index(c).is_some()));
        let values = row_cells(schema.columns, |_, col| {
            let text = cells
                .iter()
                .find(|(c, _)| *c == col.name)
                .and_then(|(_, v)| v.as_deref());
            // Sources write offsets on every timestamp; a naive one is a bad value.
            parse_text(col, text, None)
        });
        self.tally.read += 1;
        match self.loader.push(self.rel, pos, values, raw) {
            Offer::Loaded => self.tally.mapped += 1,
            Offer::Overridden => {
                self.tally.mapped += 1;
                self.tally.overridden += 1;
            }
            Offer::Quarantined => self.tally.quarantined += 1,
        }
    }

    fn bad(&mut self, pos: u64, reason: String, raw: String) {
        self.tally.read += 1;
        self.tally.quarantined += 1;
        self.loader.reject(self.rel, pos, reason, || raw);
    }

    fn skip(&mut self, reason: &str) {
        self.tally.read += 1;
        *self.tally.skipped.entry(reason.to_string()).or_default() += 1;
    }
}

/// Per source, per file: the tally over every table so far, and the file's hash.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Tallies(Vec<Vec<(Tally, Option<super::InputFile>)>>);

impl Tallies {
    pub fn new(sources: &[MappedSource]) -> Tallies {
        Tallies(
            sources
                .iter()
                .map(|s| vec![(Tally::default(), None); s.files.len()])
                .collect(),
        )
    }

    /// Adds a file's tally (an event partition's, mapped or stored).
    pub fn add(&mut self, source: usize, file: usize, tally: &Tally, input: &super::InputFile) {
        if let Some(slot) = self.0.get_mut(source).and_then(|s| s.get_mut(file)) {
            slot.0.add(tally);
            slot.1 = Some(input.clone());
        }
    }

    /// Offers the loader every source's rows of its table, after the contract files' rows.
    pub fn load(&mut self, loader: &mut TableLoader, sources: &[MappedSource]) -> Result<()> {
        let table = loader.schema.table;
        for (i, src) in sources.iter().enumerate() {
            if !src.tables.contains(&table) {
                continue;
            }
            for (f, file) in src.files.iter().enumerate() {
                loader.start_source_file();
                let mut sink = LoaderSink {
                    loader,
                    rel: &file.rel,
                    tally: Tally::default(),
                };
                let hashed = src.rows.rows(f, table, &mut sink)?;
                let input = super::InputFile {
                    path: file.rel.clone(),
                    sha256: hashed.sha256,
                    bytes: hashed.bytes,
                };
                let tally = sink.tally;
                self.add(i, f, &tally, &input);
            }
        }
        Ok(())
    }

    /// Adds every file's tally of `other` (another table's, kept apart to be stored).
    pub fn merge(&mut self, other: &Tallies) {
        for (source, files) in other.0.iter().enumerate() {
            for (file, (tally, input)) in files.iter().enumerate() {
                if let Some(input) = input {
                    self.add(source, file, tally, input);
                }
            }
        }
    }

    /// Whether these are tallies of `sources` (a stored table's, read back).
    pub fn fits(&self, sources: &[MappedSource]) -> bool {
        self.0.len() == sources.len()
            && self
                .0
                .iter()
                .zip(sources)
                .all(|(t, s)| t.len() == s.files.len())
    }

    /// The source files read so far.
    pub fn inputs(&self) -> impl Iterator<Item = &super::InputFile> {
        self.0
            .iter()
            .flatten()
            .filter_map(|(_, input)| input.as_ref())
    }

    /// The accounting of every source, per file.
    pub fn accounts(self, sources: &[MappedSource]) -> Vec<SourceAccount> {
        sources
            .iter()
            .zip(self.0)
            .map(|(src, files)| account(src, files))
            .collect()
    }
}

fn account(src: &MappedSource, files: Vec<(Tally, Option<super::InputFile>)>) -> SourceAccount {
    let mut total = Tally::default();
    let files = src
        .files
        .iter()
        .zip(files)
        .map(|(f, (tally, input))| {
            total.add(&tally);
            let input = input.unwrap_or_default();
            SourceFileAccount {
                path: f.rel.clone(),
                sha256: input.sha256,
                bytes: input.bytes,
                tally,
            }
        })
        .collect();
    SourceAccount {
        kind: src.kind.to_string(),
        path: src.path.clone(),
        system_id: src.system_id.clone(),
        total,
        files,
    }
}
