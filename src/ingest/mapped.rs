//! Rows from files that are not contract files: the sources of CONTRACT section 7 (Okta,
//! CloudTrail, SCIM...). Ingest loads them with the same row checks, quarantine and
//! accounting as contract rows, through [`RowSource`]; it knows nothing of their formats
//! (`crate::source` does, and implements the trait).

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
