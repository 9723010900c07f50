//! `OUT/<as_of>/manifest.json`, one type for its writer (`run`) and its readers (`verify`,
//! `run`'s check of later runs' links). Field order is the file's key order and must not
//! change: the manifest's SHA-256 is what the next run's link and the operator's anchor
//! name, so the same run must write the same bytes.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The manifest's name inside a run directory.
pub const FILE: &str = "manifest.json";

/// Everything a run read and wrote, by SHA-256. Manifests of earlier versions lack some of
/// the descriptive fields; readers need only `as_of`, `outputs` and `previous`, so the
/// others default when missing instead of making an old run unverifiable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub as_of: NaiveDate,
    /// RFC 3339, for machines; the reports show it in each jurisdiction's time zone.
    pub evaluation_instant: Option<String>,
    #[serde(default)]
    pub tool: Tool,
    #[serde(default)]
    pub configuration: Configuration,
    #[serde(default)]
    pub policy: Vec<FileHash>,
    #[serde(default)]
    pub inputs: Vec<Input>,
    #[serde(default)]
    pub ignored_files: Vec<String>,
    /// The review campaign records a report read.
    #[serde(default)]
    pub review_state: Vec<FileHash>,
    #[serde(default)]
    pub templates: Vec<Template>,
    #[serde(default)]
    pub tables: Vec<TableRows>,
    /// What each `[[source]]` made of its files (CONTRACT section 7); absent without sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceAccount>,
    /// The `ip_country_file` the sources read, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_country_file: Option<FileHash>,
    #[serde(default)]
    pub findings: u64,
    /// The latest earlier run when this one ran (None for the first, or a backfill before
    /// every other run).
    pub previous: Option<Previous>,
    /// Every other file of the run directory.
    pub outputs: Vec<FileHash>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    pub file: Option<String>,
    pub sha256: String,
    pub activity_lookback_days: i64,
    pub naive_timestamps_tz: Option<String>,
}

/// A file by its path (relative to the directory its list is about) and SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileHash {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub table: String,
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub name: String,
    pub sha256: String,
    pub overridden: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRows {
    pub table: String,
    pub rows_read: u64,
    pub rows_loaded: u64,
    pub rows_quarantined: u64,
}

/// The link to the previous run: its date and its manifest's SHA-256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Previous {
    pub as_of: NaiveDate,
    pub manifest_sha256: String,
}

/// A source file's records: `read = mapped + skipped + quarantined`; `overridden` rows
/// (a contract file has a row with the same key) are among the mapped ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub read: u64,
    pub mapped: u64,
    pub skipped: BTreeMap<String, u64>,
    pub quarantined: u64,
    pub overridden: u64,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.read += other.read;
        self.mapped += other.mapped;
        self.quarantined += other.quarantined;
        self.overridden += other.overridden;
        for (k, v) in &other.skipped {
            *self.skipped.entry(k.clone()).or_default() += v;
        }
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// The accounting of one source, per file, as the log, the manifest and `import.json`
/// show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceAccount {
    pub kind: String,
    pub path: String,
    pub system_id: String,
    #[serde(flatten)]
    pub total: Tally,
    pub files: Vec<SourceFileAccount>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceFileAccount {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    #[serde(flatten)]
    pub tally: Tally,
}
