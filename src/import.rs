//! `permaudit import`: one source alone, its contract tables written to a directory with
//! `import.json` (its accounting), so that a person can look at what a source makes of an
//! export before a run trusts it (CONTRACT section 7). The rows take the row checks of
//! ingest; references to systems are not checked (there is no `systems` table here), and
//! references between the tables the source makes are.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ingest::loader::{quarantine_frame, Known, QuarantineRow, TableLoader};
use crate::ingest::mapped::{MappedSource, SourceAccount, Tallies, Tally};
use crate::ingest::schema::{self, ColType, TableSchema};
use crate::source::{self, Countries, Source, SystemTemplate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    Parquet,
}

pub struct ImportOptions {
    pub kind: String,
    pub paths: Vec<PathBuf>,
    pub system_id: String,
    pub out: PathBuf,
    pub format: TableFormat,
    pub ip_country_file: Option<PathBuf>,
    /// Any quarantined record is fatal, before anything is written.
    pub strict: bool,
}

/// `DIR/import.json`.
#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub kind: String,
    pub system_id: String,
    /// Per path given, per file: `read = mapped + skipped + quarantined`.
    pub sources: Vec<SourceAccount>,
    pub tables: Vec<TableWritten>,
    pub quarantined: u64,
}

#[derive(Debug, Serialize)]
pub struct TableWritten {
    pub table: &'static str,
    pub file: String,
    pub rows: u64,
    pub rows_quarantined: u64,
}

/// What `import` prints.
pub struct ImportSummary {
    pub report: ImportReport,
    pub out: PathBuf,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut total = Tally::default();
        for s in &self.report.sources {
            total.add(&s.total);
        }
        let tables: Vec<String> = self
            .report
            .tables
            .iter()
            .map(|t| format!("{}={}", t.table, t.rows))
            .collect();
        write!(
            f,
            "permaudit import status=ok kind={} files={} read={} mapped={} skipped={} quarantined={} overridden={} tables={} out={}",
            self.report.kind,
            self.report.sources.iter().map(|s| s.files.len()).sum::<usize>(),
            total.read,
            total.mapped,
            total.skipped_total(),
            total.quarantined,
            total.overridden,
            tables.join(","),
            self.out.display()
        )
    }
}

pub fn import(o: &ImportOptions) -> Result<ImportSummary> {
    let Some(kind) = source::kind_named(&o.kind) else {
        let names: Vec<&str> = source::KINDS.iter().map(|k| k.name).collect();
        return Err(Error::input(
            "KIND",
            format!(
                "{:?} is not a kind of source (kinds: {})",
                o.kind,
                names.join(", ")
            ),
        ));
    };
    let system = SystemTemplate(o.system_id.clone());
    let unknown = system.unknown_placeholders();
    if !unknown.is_empty() {
        return Err(Error::input(
            "--system-id",
            format!(
                "{{{}}} is not a placeholder (known: {{account}}, {{tenant}})",
                unknown.join("}, {")
            ),
        ));
    }
    let countries = Arc::new(Countries::new(o.ip_country_file.as_deref())?);
    let sources = o
        .paths
        .iter()
        .map(|p| {
            let src = Source {
                kind,
                shown: p.display().to_string(),
                path: p.clone(),
                system: system.clone(),
            };
            source::open::mapped(src, countries.clone())
        })
        .collect::<Result<Vec<MappedSource>>>()?;

    // Systems are whatever the rows name: there is no systems table to check them against.
    let mut known = Known {
        any_system: true,
        ..Known::default()
    };
    let mut tallies = Tallies::new(&sources);
    let mut frames = Vec::new();
    let mut quarantine: Vec<QuarantineRow> = Vec::new();
    for schema in schema::ALL
        .iter()
        .filter(|s| kind.tables.contains(&s.table))
    {
        let mut loader = TableLoader::new(schema, &mut known);
        tallies.load(&mut loader, &sources)?;
        let (df, read, loaded, q) = loader.finish()?;
        quarantine.extend(q);
        frames.push((*schema, df, read - loaded));
    }
    let accounts = tallies.accounts(&sources);
    source::log_accounts(&accounts);
    if o.strict && !quarantine.is_empty() {
        let first = &quarantine[0];
        return Err(Error::Strict {
            count: quarantine.len() as u64,
            detail: format!(
                "first: {}:{}: {}",
                first.source_file, first.line, first.reason
            ),
        });
    }
    write(o, kind.name, frames, quarantine, accounts)
}

fn write(
    o: &ImportOptions,
    kind: &str,
    frames: Vec<(&'static TableSchema, DataFrame, u64)>,
    quarantine: Vec<QuarantineRow>,
    sources: Vec<SourceAccount>,
) -> Result<ImportSummary> {
    std::fs::create_dir_all(&o.out).map_err(|e| Error::io(&o.out, e))?;
    let ext = match o.format {
        TableFormat::Csv => "csv",
        TableFormat::Parquet => "parquet",
    };
    let mut tables = Vec::new();
    for (schema, df, rows_quarantined) in frames {
        let name = format!("{}.{ext}", schema.name);
        let df = contract_types(schema, df, o.format)?;
        write_table(&df, &o.out.join(&name), o.format)?;
        tables.push(TableWritten {
            table: schema.name,
            file: name,
            rows: df.height() as u64,
            rows_quarantined,
        });
    }
    let quarantined = quarantine.len() as u64;
    write_table(
        &quarantine_frame(&quarantine)?,
        &o.out.join("quarantine.csv"),
        TableFormat::Csv,
    )?;
    let report = ImportReport {
        kind: kind.to_string(),
        system_id: o.system_id.clone(),
        sources,
        tables,
        quarantined,
    };
    let mut json =
        serde_json::to_string_pretty(&report).map_err(|e| Error::Internal(e.to_string()))?;
    json.push('\n');
    crate::files::write_atomic(&o.out.join("import.json"), json.as_bytes())?;
    Ok(ImportSummary {
        report,
        out: o.out.clone(),
    })
}

/// Timestamps as the contract's files hold them: a UTC timestamp column in Parquet,
/// RFC 3339 text in CSV (so that the files can be given to a run as they are).
fn contract_types(schema: &TableSchema, df: DataFrame, format: TableFormat) -> Result<DataFrame> {
    let ts: Vec<Expr> = schema
        .columns
        .iter()
        .filter(|c| c.ty == ColType::Timestamp)
        .map(|c| {
            let dt = col(c.name).cast(DataType::Datetime(
                TimeUnit::Microseconds,
                Some(TimeZone::UTC),
            ));
            match format {
                TableFormat::Parquet => dt,
                TableFormat::Csv => dt.dt().strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
            }
        })
        .collect();
    if ts.is_empty() {
        return Ok(df);
    }
    Ok(df.lazy().with_columns(ts).collect()?)
}

/// Written beside, then renamed: a failed import leaves no half-written table.
fn write_table(df: &DataFrame, path: &Path, format: TableFormat) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let written = match format {
        TableFormat::Csv => crate::findings::write_csv(df, &tmp),
        TableFormat::Parquet => crate::files::create_file(&tmp)
            .and_then(|f| crate::findings::write_parquet(df, f, &tmp)),
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
