//! Reading the input directory into canonical typed frames, with row-level quarantine and
//! exact row accounting. The only module that reads input files.

pub mod csv_file;
pub mod loader;
pub mod ndjson_file;
pub mod parquet_file;
pub mod schema;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use polars::prelude::DataFrame;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use loader::TableLoader;
pub use loader::{Known, QuarantineRow};
use schema::{Table, TableSchema};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    Ndjson,
}

impl Format {
    fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "csv" => Some(Format::Csv),
            "parquet" => Some(Format::Parquet),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the input directory, with `/` separators: the name used in
    /// messages, the quarantine and the manifest.
    pub rel: String,
    pub path: PathBuf,
    pub format: Format,
}

/// Where each table's files are, and what was passed over.
#[derive(Debug, Default)]
pub struct Discovery {
    pub files: BTreeMap<Table, Vec<SourceFile>>,
    pub ignored: Vec<String>,
}

/// Which schema column each file column feeds.
pub struct ColumnMap {
    /// For each schema column, its index in the file, if present.
    pub sources: Vec<Option<usize>>,
    pub unknown: Vec<String>,
}

impl ColumnMap {
    pub fn new(rel: &str, schema: &TableSchema, names: &[String]) -> Result<ColumnMap> {
        let mut seen = BTreeSet::new();
        for n in names {
            if !seen.insert(n.as_str()) {
                return Err(Error::input(
                    rel,
                    format!("column {n} appears twice in the header"),
                ));
            }
        }
        let sources: Vec<Option<usize>> = schema
            .columns
            .iter()
            .map(|c| names.iter().position(|n| n == c.name))
            .collect();
        let missing: Vec<&str> = schema
            .columns
            .iter()
            .zip(&sources)
            .filter(|(c, s)| c.required && s.is_none())
            .map(|(c, _)| c.name)
            .collect();
        if !missing.is_empty() {
            return Err(Error::input(
                rel,
                format!(
                    "missing required column(s): {} (table {})",
                    missing.join(", "),
                    schema.name
                ),
            ));
        }
        let unknown = names
            .iter()
            .filter(|n| schema.column_index(n).is_none())
            .cloned()
            .collect();
        Ok(ColumnMap { sources, unknown })
    }

    /// Columns named exactly as the schema, in schema order (NDJSON objects).
    pub fn identity(schema: &TableSchema) -> ColumnMap {
        ColumnMap {
            sources: (0..schema.columns.len()).map(Some).collect(),
            unknown: Vec::new(),
        }
    }
}

pub struct FileRead {
    pub unknown_columns: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct InputFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TableAccount {
    pub table: &'static str,
    pub rows_read: u64,
    pub rows_loaded: u64,
    pub rows_quarantined: u64,
    pub files: Vec<InputFile>,
}

/// The canonical frames, one per contract table, with the schema's columns in order.
/// Strings are `String`, booleans `Boolean`, integers and timestamps `Int64` (timestamps in
/// microseconds since the Unix epoch, UTC).
#[derive(Debug, Clone)]
pub struct Tables {
    pub systems: DataFrame,
    pub identities: DataFrame,
    pub accounts: DataFrame,
    pub entitlements: DataFrame,
    pub role_permissions: DataFrame,
    pub grants: DataFrame,
    pub action_permissions: DataFrame,
    pub audit_events: DataFrame,
    pub exceptions: DataFrame,
}

impl Tables {
    fn slot(&mut self, t: Table) -> &mut DataFrame {
        match t {
            Table::Systems => &mut self.systems,
            Table::Identities => &mut self.identities,
            Table::Accounts => &mut self.accounts,
            Table::Entitlements => &mut self.entitlements,
            Table::RolePermissions => &mut self.role_permissions,
            Table::Grants => &mut self.grants,
            Table::ActionPermissions => &mut self.action_permissions,
            Table::AuditEvents => &mut self.audit_events,
            Table::Exceptions => &mut self.exceptions,
        }
    }

    /// Empty frames of every table (tests build on these).
    pub fn empty() -> Result<Tables> {
        let e = |s: &TableSchema| loader::empty_frame(s);
        Ok(Tables {
            systems: e(&schema::SYSTEMS)?,
            identities: e(&schema::IDENTITIES)?,
            accounts: e(&schema::ACCOUNTS)?,
            entitlements: e(&schema::ENTITLEMENTS)?,
            role_permissions: e(&schema::ROLE_PERMISSIONS)?,
            grants: e(&schema::GRANTS)?,
            action_permissions: e(&schema::ACTION_PERMISSIONS)?,
            audit_events: e(&schema::AUDIT_EVENTS)?,
            exceptions: e(&schema::EXCEPTIONS)?,
        })
    }
}

#[derive(Debug, Default)]
pub struct IngestReport {
    pub accounts: Vec<TableAccount>,
    pub quarantine: Vec<QuarantineRow>,
    pub ignored_files: Vec<String>,
    /// (file, column) pairs of columns the contract does not know.
    pub unknown_columns: Vec<(String, String)>,
}

impl IngestReport {
    pub fn quarantined(&self) -> u64 {
        self.accounts.iter().map(|a| a.rows_quarantined).sum()
    }
}

/// Finds the files of every table. Two formats of one table is a file-level error.
pub fn discover(input_dir: &Path) -> Result<Discovery> {
    let mut d = Discovery::default();
    let entries = std::fs::read_dir(input_dir).map_err(|e| Error::io(input_dir, e))?;
    let mut names: Vec<(String, PathBuf, bool)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(input_dir, e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        names.push((name, path.clone(), path.is_dir()));
    }
    names.sort();
    let mut given: BTreeMap<Table, String> = BTreeMap::new();
    for (name, path, is_dir) in names {
        if name.starts_with('_') || name.starts_with('.') {
            d.ignored.push(name);
            continue;
        }
        let table = schema::ALL.iter().find(|s| {
            if is_dir {
                s.table == Table::AuditEvents && name == s.name
            } else {
                path.file_stem().and_then(|x| x.to_str()) == Some(s.name)
                    && match Format::of(&path) {
                        Some(Format::Ndjson) => s.table == Table::AuditEvents,
                        Some(_) => true,
                        None => false,
                    }
            }
        });
        let Some(table) = table else {
            d.ignored.push(name);
            continue;
        };
        // Compared by the directory entry that gave the table, not by the files found: an
        // `audit_events/` directory holding no data file still competes with a file.
        if let Some(first) = given.get(&table.table) {
            return Err(Error::input(
                name,
                format!(
                    "table {} is also given as {first}: keep only one",
                    table.name
                ),
            ));
        }
        given.insert(table.table, name.clone());
        let slot = d.files.entry(table.table).or_default();
        if is_dir {
            walk(input_dir, &path, slot, &mut d.ignored)?;
        } else if let Some(format) = Format::of(&path) {
            slot.push(SourceFile {
                rel: name,
                path,
                format,
            });
        }
    }
    for s in schema::ALL {
        if !s.optional && !d.files.contains_key(&s.table) {
            return Err(Error::input(
                input_dir.join(s.name).display().to_string(),
                format!(
                    "required table {} is absent (expected {}.csv or {}.parquet)",
                    s.name, s.name, s.name
                ),
            ));
        }
    }
    Ok(d)
}

fn walk(
    root: &Path,
    dir: &Path,
    out: &mut Vec<SourceFile>,
    ignored: &mut Vec<String>,
) -> Result<()> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        entries.push(entry.map_err(|e| Error::io(dir, e))?.path());
    }
    entries.sort();
    for path in entries {
        let rel = relative(root, &path);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('_') || name.starts_with('.') {
            ignored.push(rel);
        } else if path.is_dir() {
            walk(root, &path, out, ignored)?;
        } else if let Some(format) = Format::of(&path) {
            out.push(SourceFile { rel, path, format });
        } else {
            ignored.push(rel);
        }
    }
    // Lexicographic order of the relative path, as the contract defines file order.
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(())
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Loads every table in dependency order. File-level problems are errors; row-level ones
/// end up in the report's quarantine.
pub fn load(
    discovery: &Discovery,
    naive_tz: Option<Tz>,
    sod_rule_ids: impl IntoIterator<Item = String>,
) -> Result<(Tables, IngestReport)> {
    let mut known = Known {
        sod_rule_ids: sod_rule_ids.into_iter().collect(),
        ..Known::default()
    };
    let mut tables = Tables::empty()?;
    let mut report = IngestReport {
        ignored_files: discovery.ignored.clone(),
        ..Default::default()
    };
    for schema in schema::ALL {
        let files = discovery
            .files
            .get(&schema.table)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut loader = TableLoader::new(schema, &mut known);
        let mut inputs = Vec::new();
        for f in files {
            let bytes = std::fs::read(&f.path).map_err(|e| Error::io(&f.path, e))?;
            inputs.push(InputFile {
                path: f.rel.clone(),
                sha256: hex::encode(Sha256::digest(&bytes)),
                bytes: bytes.len() as u64,
            });
            // Zero bytes is file-level in every format (contract section 3): an export that
            // wrote nothing, not even a header, is broken rather than empty.
            if bytes.is_empty() {
                return Err(Error::input(
                    &f.rel,
                    "empty file: zero bytes, not even a header",
                ));
            }
            loader.start_file();
            let read = match f.format {
                Format::Csv => csv_file::read(&f.rel, &bytes, naive_tz, &mut loader)?,
                Format::Parquet => parquet_file::read(&f.rel, &bytes, naive_tz, &mut loader)?,
                Format::Ndjson => ndjson_file::read(&f.rel, &bytes, naive_tz, &mut loader)?,
            };
            report
                .unknown_columns
                .extend(read.unknown_columns.into_iter().map(|c| (f.rel.clone(), c)));
        }
        let (df, read, loaded, quarantine) = loader.finish()?;
        report.accounts.push(TableAccount {
            table: schema.name,
            rows_read: read,
            rows_loaded: loaded,
            rows_quarantined: read - loaded,
            files: inputs,
        });
        report.quarantine.extend(quarantine);
        *tables.slot(schema.table) = df;
    }
    Ok((tables, report))
}
