//! Sources (CONTRACT section 7): each kind on the real exports in
//! `../shared/samples/sources/` (read there, never copied) and on the demo exports in
//! `data/sources/`. `map` shows what a source offers ingest, before the row checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod framework;

use permaudit::ingest::mapped::Sink;
use permaudit::source::{self, Countries, Source, SystemTemplate, Table};

/// An expected row, column -> value.
pub fn row(cells: &[(&str, &str)]) -> BTreeMap<String, String> {
    cells
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// read = mapped + skipped + quarantined, with the counts expected.
pub fn accounts(m: &Mapping, read: usize, mapped: usize, skipped: usize, bad: usize) {
    assert_eq!(
        (m.rows.len(), m.skipped.len(), m.bad.len()),
        (mapped, skipped, bad),
        "{m:#?}"
    );
    assert_eq!(m.rows.len() + m.skipped.len() + m.bad.len(), read);
}

/// The shared samples folder of a kind (`okta`, `cloudtrail`, ...).
pub fn samples(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/samples/sources")
        .join(sub)
}

/// The project's demo exports of a kind.
pub fn demo(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/sources")
        .join(sub)
}

/// One offered row: table, file, position, cells by column (absent columns not listed).
pub type Offered = (Table, String, u64, BTreeMap<String, Option<String>>);

/// What a source offered for each table, in order.
#[derive(Debug, Default)]
pub struct Mapping {
    /// (table, file, position, cells by column; absent columns are not listed)
    pub rows: Vec<Offered>,
    pub skipped: Vec<String>,
    /// (table, file, position, reason, raw)
    pub bad: Vec<(Table, String, u64, String, String)>,
}

impl Mapping {
    /// The rows of one table, as column -> value maps (null cells are absent).
    pub fn table(&self, t: Table) -> Vec<BTreeMap<String, String>> {
        self.rows
            .iter()
            .filter(|r| r.0 == t)
            .map(|r| {
                r.3.iter()
                    .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
                    .collect()
            })
            .collect()
    }
}

struct Collect<'m> {
    m: &'m mut Mapping,
    table: Table,
    file: String,
}

impl Sink for Collect<'_> {
    fn row(
        &mut self,
        pos: u64,
        cells: &[(&'static str, Option<String>)],
        _raw: &dyn Fn() -> String,
    ) {
        let cells = cells
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        self.m
            .rows
            .push((self.table, self.file.clone(), pos, cells));
    }
    fn bad(&mut self, pos: u64, reason: String, raw: String) {
        self.m
            .bad
            .push((self.table, self.file.clone(), pos, reason, raw));
    }
    fn skip(&mut self, reason: &str) {
        self.m.skipped.push(reason.to_string());
    }
}

/// Maps every file under `path` with source `kind`, as a run would.
pub fn map(
    kind: &str,
    path: &Path,
    system_id: &str,
    ip_country_file: Option<&Path>,
) -> permaudit::error::Result<Mapping> {
    let kind = source::kind_named(kind).expect("a known kind");
    let src = Source {
        kind,
        shown: path.display().to_string(),
        path: path.to_path_buf(),
        system: SystemTemplate(system_id.to_string()),
    };
    let countries = Arc::new(Countries::new(ip_country_file)?);
    let mapped = source::open::mapped(src, countries)?;
    let mut m = Mapping::default();
    for &table in kind.tables {
        for (i, f) in mapped.files.iter().enumerate() {
            let mut sink = Collect {
                m: &mut m,
                table,
                file: f.rel.clone(),
            };
            mapped.rows.rows(i, table, &mut sink)?;
        }
    }
    Ok(m)
}

mod aws_iam;
mod cloudtrail;
mod end_to_end;
mod entra;
mod mfa_method;
mod ocsf;
mod okta;
mod scim;
