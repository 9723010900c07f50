//! Reading the input directory into canonical typed frames, with row-level quarantine and
//! exact row accounting. The only module that reads input files.

pub mod csv_file;
pub mod events;
pub mod keys;
pub mod loader;
pub mod mapped;
pub mod ndjson_file;
pub mod parquet_file;
pub mod schema;
pub mod snapshot;
pub mod state;
pub mod values;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono_tz::Tz;
use polars::prelude::DataFrame;

use crate::error::{Error, Result};
use crate::fs_guard::{self, Links};
use events::{ChainChecks, EventDigests, Partition};
use keys::{KeepRows, KeyCodes};
use loader::TableLoader;
pub use loader::{Known, QuarantineRow};
use mapped::{MappedSource, RowSource, SourceAccount, Tallies};
use schema::{Table, TableSchema};
use state::{Stamp, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    Ndjson,
    /// A source's file (CONTRACT section 7): its rows come from [`SourceFile::origin`].
    Source,
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
    /// For a source's file: the source and the file's index in it.
    pub origin: Option<Origin>,
}

/// A source's file: the source's rows, the source's place among the discovery's sources
/// and the file's among its files.
#[derive(Debug, Clone)]
pub struct Origin {
    pub rows: Arc<dyn RowSource>,
    pub source: usize,
    pub file: usize,
}

/// Where each table's files are, and what was passed over.
#[derive(Debug, Default)]
pub struct Discovery {
    pub files: BTreeMap<Table, Vec<SourceFile>>,
    pub ignored: Vec<String>,
    /// Sources of the run configuration, in its order; their event files are also in
    /// `files`, after the contract files.
    pub sources: Vec<MappedSource>,
}

impl Discovery {
    /// Whether any file of `table` was found (a header-only file counts: the table is given).
    pub fn gives(&self, table: Table) -> bool {
        self.files.get(&table).is_some_and(|f| !f.is_empty())
    }
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

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
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
/// microseconds since the Unix epoch, UTC). `audit_events` holds the rows of the event
/// partitions that were asked for (with an activity window: only the partitions reaching
/// it, and only [`events::WINDOW_COLUMNS`]); `events` holds the digests of every
/// partition.
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
    pub waivers: DataFrame,
    pub training: DataFrame,
    /// Whether a `training` table was given (header-only included): without one, nobody's
    /// training can be judged, which is not the same as nobody being trained.
    pub training_given: bool,
    pub events: EventDigests,
}

/// The audit events of a load: what [`crate::resolve::Ctx`] turns into the rules' event
/// aggregates.
pub struct Events {
    /// The window partitions' rows ([`Tables::audit_events`]).
    pub rows: DataFrame,
    pub digests: EventDigests,
}

impl Tables {
    /// Moves the events out, leaving frames of the same columns without a row. The context
    /// joins the rows and folds the digests into what the rules read; a large night's rows
    /// kept here as well would be held twice through detection and the write stage.
    pub fn take_events(&mut self) -> Events {
        let (rows, digests) = (self.audit_events.clear(), self.events.cleared());
        Events {
            rows: std::mem::replace(&mut self.audit_events, rows),
            digests: std::mem::replace(&mut self.events, digests),
        }
    }

    /// The events, shared with these tables (frames are reference-counted).
    pub fn events(&self) -> Events {
        Events {
            rows: self.audit_events.clone(),
            digests: self.events.clone(),
        }
    }

    pub fn table(&self, t: Table) -> &DataFrame {
        match t {
            Table::Systems => &self.systems,
            Table::Identities => &self.identities,
            Table::Accounts => &self.accounts,
            Table::Entitlements => &self.entitlements,
            Table::RolePermissions => &self.role_permissions,
            Table::Grants => &self.grants,
            Table::ActionPermissions => &self.action_permissions,
            Table::AuditEvents => &self.audit_events,
            Table::Exceptions => &self.exceptions,
            Table::Waivers => &self.waivers,
            Table::Training => &self.training,
        }
    }

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
            Table::Waivers => &mut self.waivers,
            Table::Training => &mut self.training,
        }
    }

    /// Empty frames of every table (tests build on these); the digests' log-chain findings
    /// take their columns from `checks`.
    pub fn empty(checks: &ChainChecks) -> Result<Tables> {
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
            waivers: e(&schema::WAIVERS)?,
            training: e(&schema::TRAINING)?,
            training_given: false,
            events: EventDigests::empty(checks)?,
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
    /// What each source of the run configuration made of its files.
    pub sources: Vec<SourceAccount>,
    /// The sources' `ip_country_file`, when one is configured.
    pub ip_country_file: Option<InputFile>,
}

impl IngestReport {
    pub fn quarantined(&self) -> u64 {
        self.accounts.iter().map(|a| a.rows_quarantined).sum()
    }
}

/// Finds the files of every table, the sources' files after the contract files. Two formats
/// of one table is a file-level error.
pub fn discover(input_dir: &Path, sources: Vec<MappedSource>) -> Result<Discovery> {
    let mut d = Discovery::default();
    // An input that cannot be read is a file-level input problem (exit 2, contract section
    // 3), not an operational IO failure.
    let unreadable = |e: std::io::Error| {
        Error::input(
            input_dir.display().to_string(),
            format!("the input directory (input_dir in the run configuration) cannot be read: {e}"),
        )
    };
    let entries = std::fs::read_dir(input_dir).map_err(unreadable)?;
    let mut names: Vec<(String, PathBuf, bool)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(unreadable)?;
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
            // A Spark-style `grants.parquet/` or a `grants/` folder of parts: ignoring it
            // would make the table absent, or silently empty if it is optional.
            let stem = path.file_stem().and_then(|x| x.to_str());
            if let Some(s) = schema::ALL.iter().find(|s| is_dir && stem == Some(s.name)) {
                let hint = if s.table == Table::AuditEvents {
                    "name the directory audit_events/".to_string()
                } else {
                    format!(
                        "only audit_events may be given as a directory; give table {} as one \
                         file, {}.csv or {}.parquet",
                        s.name, s.name, s.name
                    )
                };
                return Err(Error::input(name, format!("is a directory: {hint}")));
            }
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
            slot.extend(walk_tree(input_dir, &path, &mut d.ignored, Format::of)?);
        } else if let Some(format) = Format::of(&path) {
            if let Ok(meta) = std::fs::metadata(&path) {
                ensure_regular(&name, &meta)?;
            }
            slot.push(SourceFile {
                rel: name,
                path,
                format,
                origin: None,
            });
        }
    }
    for (i, src) in sources.iter().enumerate() {
        if src.tables.contains(&Table::AuditEvents) {
            let slot = d.files.entry(Table::AuditEvents).or_default();
            slot.extend(src.files.iter().enumerate().map(|(f, file)| SourceFile {
                rel: file.rel.clone(),
                path: file.path.clone(),
                format: Format::Source,
                origin: Some(Origin {
                    rows: src.rows.clone(),
                    source: i,
                    file: f,
                }),
            }));
        }
        tracing::debug!(
            source = i,
            kind = src.kind,
            files = src.files.len(),
            "source"
        );
    }
    let from_sources: BTreeSet<Table> = sources
        .iter()
        .flat_map(|s| s.tables.iter().copied())
        .collect();
    d.sources = sources;
    for s in schema::ALL {
        if !s.optional && !d.files.contains_key(&s.table) && !from_sources.contains(&s.table) {
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

/// A file's identity on its device: two paths with the same one (a hard link, or a link to
/// a file) are one file.
type FileId = (u64, u64);

/// The files of a tree (the `audit_events/` directory, a source's folder), in file order,
/// each read once; `format_of` says which files are read, by their path.
///
/// Links to directories inside the tree are not followed (a link back up would make every
/// partition count once per loop): they are ignored, with a warning naming them. A
/// directory reached twice anyway (a bind mount) is ignored the same way. Links to files are
/// read, but a file reached by a second path (a link, a hard link) is read only at the first
/// path in file order and the others are ignored with a warning: its events would otherwise
/// count twice.
pub fn walk_tree(
    root: &Path,
    dir: &Path,
    ignored: &mut Vec<String>,
    format_of: fn(&Path) -> Option<Format>,
) -> Result<Vec<SourceFile>> {
    let mut found = Vec::new();
    let mut dirs = HashSet::new();
    let mut walk = Walk {
        root,
        out: &mut found,
        dirs: &mut dirs,
        ignored,
        format_of,
    };
    walk.dir(dir)?;
    // Lexicographic order of the relative path, as the contract defines file order.
    found.sort_by(|a, b| a.0.rel.cmp(&b.0.rel));
    let mut first: HashMap<FileId, String> = HashMap::new();
    let mut out = Vec::with_capacity(found.len());
    for (f, id) in found {
        match first.get(&id) {
            Some(earlier) => {
                tracing::warn!(
                    file = %f.rel,
                    same_as = %earlier,
                    "input file ignored: it is the same file as an earlier one (a link or a hard link), which is read once"
                );
                ignored.push(f.rel);
            }
            None => {
                first.insert(id, f.rel.clone());
                out.push(f);
            }
        }
    }
    Ok(out)
}

struct Walk<'w> {
    root: &'w Path,
    out: &'w mut Vec<(SourceFile, FileId)>,
    dirs: &'w mut HashSet<FileId>,
    ignored: &'w mut Vec<String>,
    format_of: fn(&Path) -> Option<Format>,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path) -> Result<()> {
        let (root, format_of) = (self.root, self.format_of);
        let unreadable =
            |e| Error::input(relative(root, dir), format!("unreadable directory: {e}"));
        let meta = std::fs::metadata(dir).map_err(unreadable)?;
        if !self.dirs.insert((meta.dev(), meta.ino())) {
            tracing::warn!(directory = %relative(root, dir), "input directory ignored: reached twice (a bind mount?), read once");
            self.ignored.push(relative(root, dir));
            return Ok(());
        }
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let is_link = entry.file_type().map_err(unreadable)?.is_symlink();
            entries.push((entry.path(), is_link));
        }
        entries.sort();
        for (path, is_link) in entries {
            let rel = relative(root, &path);
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('_') || name.starts_with('.') {
                self.ignored.push(rel);
                continue;
            }
            // Followed for the type of what a link names; a dangling link is judged by its name.
            let meta = std::fs::metadata(&path);
            match (&meta, format_of(&path)) {
                (Ok(m), _) if m.is_dir() && is_link => {
                    tracing::warn!(link = %rel, "input link to a directory ignored: links to directories are not followed");
                    self.ignored.push(rel);
                }
                (Ok(m), _) if m.is_dir() => self.dir(&path)?,
                (_, None) => self.ignored.push(rel),
                (Err(e), Some(_)) => {
                    return Err(Error::input(rel, format!("unreadable file: {e}")));
                }
                (Ok(m), Some(format)) => {
                    ensure_regular(&rel, m)?;
                    let id = (m.dev(), m.ino());
                    let file = SourceFile {
                        rel,
                        path,
                        format,
                        origin: None,
                    };
                    self.out.push((file, id));
                }
            }
        }
        Ok(())
    }
}

/// Only regular files are read: opening a FIFO blocks until a writer comes, a device may
/// never end, and the run would wait under the lock forever.
fn ensure_regular(rel: &str, meta: &std::fs::Metadata) -> Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    Err(Error::input(
        rel,
        fs_guard::not_regular(meta.file_type()).to_string(),
    ))
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// How the audit-event partitions are read.
pub struct EventsPlan<'a> {
    /// UTC days whose partitions keep their rows (None: every partition keeps them).
    pub keep_days: Option<Range<i64>>,
    /// Where digests and file hashes are reused from and stored (None: nothing is).
    pub store: Option<&'a Store>,
    pub checks: &'a ChainChecks,
}

impl<'a> EventsPlan<'a> {
    /// Every partition keeps its rows, and no digest is reused or stored.
    pub fn all_rows(checks: &'a ChainChecks) -> EventsPlan<'a> {
        EventsPlan {
            keep_days: None,
            store: None,
            checks,
        }
    }

    /// The columns kept of the rows: with a window, what the window rules read.
    fn row_columns(&self) -> Option<&'static [&'static str]> {
        self.keep_days.as_ref().map(|_| &events::WINDOW_COLUMNS[..])
    }

    fn wants_rows(&self, days: Option<(i64, i64)>) -> bool {
        match &self.keep_days {
            None => true,
            Some(r) => Partition::meets(days, r),
        }
    }
}

/// What is kept of a partition's rows: the columns and the rows (those `filter` keeps),
/// when given.
pub struct RowsWanted<'a> {
    pub columns: Option<&'static [&'static str]>,
    pub filter: Option<&'a dyn KeepRows>,
}

impl RowsWanted<'_> {
    /// The wanted rows of rows read from the input, in buffers of their own (they are kept
    /// until detect); `keys` are their codes, when already known.
    pub fn apply(&self, df: DataFrame, keys: Option<&KeyCodes>) -> Result<DataFrame> {
        let df = match self.columns {
            Some(c) => df.select(c.iter().copied())?,
            None => df,
        };
        let df = match self.filter {
            Some(f) => {
                let coded;
                let keys = match keys {
                    Some(k) => k,
                    None => {
                        coded = KeyCodes::of(&df)?;
                        &coded
                    }
                };
                df.filter(&f.keep(&df, keys)?)?
            }
            None => df,
        };
        loader::detached(df)
    }

    /// The wanted rows of rows stored with their codes ([`KeyCodes::columns`]), which are
    /// not kept; None when the codes are not sound.
    pub fn apply_stored(&self, mut df: DataFrame) -> Option<Result<DataFrame>> {
        let keys = match self.filter {
            Some(_) => Some(KeyCodes::stored(&df)?),
            None => None,
        };
        for c in [keys::ACCOUNT_KEY, keys::ACTION_KEY] {
            df.drop_in_place(c).ok()?;
        }
        Some(self.apply(df, keys.as_ref()))
    }
}

fn read_bytes(f: &SourceFile) -> Result<Vec<u8>> {
    // Discovery saw a regular file, but it may have been swapped for a FIFO since.
    let bytes = fs_guard::read_regular(&f.path, Links::Follow).map_err(|e| {
        if fs_guard::is_refusal(&e) {
            Error::input(&f.rel, e.to_string())
        } else {
            Error::input(&f.rel, format!("unreadable file: {e}"))
        }
    })?;
    // Zero bytes is file-level in every format (contract section 3): an export that wrote
    // nothing, not even a header, is broken rather than empty.
    if bytes.is_empty() {
        return Err(Error::input(
            &f.rel,
            "empty file: zero bytes, not even a header",
        ));
    }
    Ok(bytes)
}

/// The SHA-256 of an input file, read as a stream.
fn hash_streamed(f: &SourceFile) -> Result<String> {
    use sha2::Digest;
    let mut file = fs_guard::open_regular(
        std::fs::OpenOptions::new().read(true),
        &f.path,
        Links::Follow,
    )
    .map_err(|e| Error::input(&f.rel, format!("unreadable file: {e}")))?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .map_err(|e| Error::input(&f.rel, format!("unreadable file: {e}")))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Reads one file of any format into the loader.
pub fn read_file(
    f: &SourceFile,
    bytes: &[u8],
    naive_tz: Option<Tz>,
    loader: &mut TableLoader,
) -> Result<FileRead> {
    match f.format {
        Format::Csv => csv_file::read(&f.rel, bytes, naive_tz, loader),
        Format::Parquet => parquet_file::read(&f.rel, bytes, naive_tz, loader),
        Format::Ndjson => ndjson_file::read(&f.rel, bytes, naive_tz, loader),
        Format::Source => Err(Error::Internal(format!(
            "{}: a source's file is mapped, not read as a contract file",
            f.rel
        ))),
    }
}

/// Loads every table in dependency order, the events last. File-level problems are errors;
/// row-level ones end up in the report's quarantine, which keeps the contract's table order.
///
/// `rule_codes` are the codes a waiver may name (any other quarantines the row). With a
/// store, a table whose inputs (and those of the tables before it) are the ones the store
/// holds it for is read back from it ([`snapshot`]), and the tables are stored for the
/// next run and for `whatif`. `before_events` sees every other table, and may release
/// what it no longer needs before the partitions take their memory. It may return a
/// predicate over [`events::WINDOW_COLUMNS`]: with an activity window, the kept rows are
/// then only those it holds for.
pub fn load(
    discovery: &Discovery,
    naive_tz: Option<Tz>,
    sod_rule_ids: &[String],
    rule_codes: &[String],
    plan: &EventsPlan,
    before_events: impl FnOnce(&mut Tables) -> Result<Option<Box<dyn KeepRows>>>,
) -> Result<(Tables, IngestReport)> {
    let mut known = Known {
        sod_rule_ids: sod_rule_ids.iter().cloned().collect(),
        rule_codes: rule_codes.iter().cloned().collect(),
        ..Known::default()
    };
    let mut tables = Tables::empty(plan.checks)?;
    let mut tallies = Tallies::new(&discovery.sources);
    let files_of = |table: Table| {
        discovery
            .files
            .get(&table)
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    let mut chain = snapshot::KeyChain::new(naive_tz, sod_rule_ids, rule_codes);
    let mut stored = plan.store.and_then(Store::stored_tables);
    let mut read_back = Vec::new();
    let mut parts = Vec::new();
    for (at, schema) in schema::ALL.iter().enumerate() {
        if schema.table == Table::AuditEvents {
            continue;
        }
        let started = std::time::Instant::now();
        let reused = match (stored.as_mut(), plan.store) {
            (Some(entry), Some(store)) => chain
                .peek(discovery, schema, &mut |input| known_sha256(store, input))
                .and_then(|key| entry.take(schema, &key, &discovery.sources)),
            _ => None,
        };
        let part = match reused {
            Some(part) => {
                known.remember_frame(schema.table, &part.rows)?;
                read_back.push(schema.name);
                tracing::debug!(
                    table = schema.name,
                    elapsed_ms = started.elapsed().as_millis(),
                    "table read back"
                );
                part
            }
            None => {
                let files = files_of(schema.table);
                load_table(schema, files, naive_tz, &mut known, discovery, plan.store)?
            }
        };
        chain.push(discovery, schema, &part.report, &part.tallies)?;
        tallies.merge(&part.tallies);
        *tables.slot(schema.table) = part.rows;
        parts.push((at, part.report, part.tallies));
    }
    tables.training_given = discovery.gives(Table::Training);
    if !read_back.is_empty() {
        tracing::info!(
            tables = read_back.join(","),
            "tables read back from the state: their inputs are those of the last run"
        );
    }
    if let Some(store) = plan.store {
        let rewrite = stored.is_some_and(|s| s.damaged);
        store.save_tables(chain.keys(), &tables, rewrite, || {
            snapshot::Reports::of(parts.iter().map(|(_, r, t)| (r, t)))
        })?;
    }
    let mut parts: Vec<(usize, TableReport)> =
        parts.into_iter().map(|(at, r, _)| (at, r)).collect();
    let filter = before_events(&mut tables)?.filter(|_| plan.keep_days.is_some());
    // Only the systems are checked from here on (the events' system ids).
    known.accounts = Default::default();
    known.entitlements = Default::default();
    let at = schema::ALL
        .iter()
        .position(|s| s.table == Table::AuditEvents)
        .unwrap_or(parts.len());
    let files = files_of(Table::AuditEvents);
    let (events, rows, part) = load_event_table(
        files,
        naive_tz,
        &known,
        &mut tallies,
        plan,
        filter.as_deref(),
    )?;
    tables.events = events;
    tables.audit_events = rows;
    parts.push((at, part));
    parts.sort_by_key(|(at, _)| *at);
    let mut report = IngestReport {
        ignored_files: discovery.ignored.clone(),
        sources: tallies.accounts(&discovery.sources),
        ..Default::default()
    };
    for (_, part) in parts {
        report.unknown_columns.extend(part.unknown_columns);
        report.quarantine.extend(part.quarantine);
        report.accounts.push(part.account);
    }
    Ok((tables, report))
}

/// The SHA-256 of an input a run knows without reading it: a file's from the store's
/// cache when its stamp is unchanged, a source file's from the source, which read it
/// when it was opened.
fn known_sha256(store: &Store, input: &snapshot::Input) -> Option<String> {
    match input {
        snapshot::Input::File(f) => store.cached_sha256(&f.rel, &Stamp::of(&f.path)?),
        snapshot::Input::Source(src, i) => src.rows.hashed(*i).map(|h| h.sha256),
    }
}

/// What ingest reports of one table.
struct TableReport {
    account: TableAccount,
    unknown_columns: Vec<(String, String)>,
    quarantine: Vec<QuarantineRow>,
}

/// A table other than the events, its report, and what its sources' files gave it.
struct LoadedTable {
    rows: DataFrame,
    report: TableReport,
    tallies: Tallies,
}

fn load_table(
    schema: &'static TableSchema,
    files: &[SourceFile],
    naive_tz: Option<Tz>,
    known: &mut Known,
    discovery: &Discovery,
    store: Option<&Store>,
) -> Result<LoadedTable> {
    let started = std::time::Instant::now();
    let mut loader = TableLoader::new(schema, known);
    let mut inputs = Vec::new();
    let mut unknown_columns = Vec::new();
    for f in files {
        // Before the read: a write racing it changes the stamp, and the next run reads
        // the file again rather than trusting this hash for it.
        let stamp = store.and_then(|_| Stamp::of(&f.path));
        let bytes = read_bytes(f)?;
        let sha256 = crate::hash::sha256_hex(&bytes);
        if let (Some(store), Some(stamp)) = (store, stamp) {
            store.record_sha256(&f.rel, stamp, &sha256);
        }
        inputs.push(InputFile {
            path: f.rel.clone(),
            sha256,
            bytes: bytes.len() as u64,
        });
        loader.start_file();
        let read = read_file(f, &bytes, naive_tz, &mut loader)?;
        unknown_columns.extend(read.unknown_columns.into_iter().map(|c| (f.rel.clone(), c)));
    }
    let mut tallies = Tallies::new(&discovery.sources);
    tallies.load(&mut loader, &discovery.sources)?;
    let (rows, read, loaded, quarantine) = loader.finish()?;
    tracing::debug!(
        table = schema.name,
        elapsed_ms = started.elapsed().as_millis(),
        "table loaded"
    );
    Ok(LoadedTable {
        rows,
        report: TableReport {
            account: TableAccount {
                table: schema.name,
                rows_read: read,
                rows_loaded: loaded,
                rows_quarantined: read - loaded,
                files: inputs,
            },
            unknown_columns,
            quarantine,
        },
        tallies,
    })
}

/// The events table: its digests, the rows `filter` keeps of the partitions an activity
/// window reaches, and its report.
fn load_event_table(
    files: &[SourceFile],
    naive_tz: Option<Tz>,
    known: &Known,
    tallies: &mut Tallies,
    plan: &EventsPlan,
    filter: Option<&dyn KeepRows>,
) -> Result<(EventDigests, DataFrame, TableReport)> {
    let rows = RowsWanted {
        columns: plan.row_columns(),
        filter,
    };
    let (mut partitions, account) = load_events(files, naive_tz, &known.systems, plan, &rows)?;
    let mut unknown_columns = Vec::new();
    let mut quarantine = Vec::new();
    // Partitions come in the order of their files.
    for (p, f) in partitions.iter().zip(files) {
        if let (Some(t), Some(o)) = (&p.meta.source, &f.origin) {
            tallies.add(o.source, o.file, t, &p.meta.file);
        }
        unknown_columns.extend(
            p.meta
                .unknown_columns
                .iter()
                .map(|c| (p.meta.file.path.clone(), c.clone())),
        );
        quarantine.extend(p.meta.quarantine.iter().map(|q| q.row()));
    }
    let t_day = plan.keep_days.as_ref().map(|r| r.end);
    let from_input = |read: &InputFile| rows_from_input(files, read, naive_tz, &known.systems);
    let started = std::time::Instant::now();
    let usage = match (t_day, plan.store) {
        (Some(t_day), Some(store)) => Some(events::rolled_usage(
            &mut partitions,
            t_day,
            store,
            plan.checks,
            &from_input,
        )?),
        _ => None,
    };
    let memory = crate::memory::resident();
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis(),
        rss_mib = memory.rss_mib,
        peak_mib = memory.peak_mib,
        "usage rollup"
    );
    let digests = EventDigests::of(&partitions, t_day, usage, plan.checks, &from_input)?;
    let kept = loader::stack(
        partitions.into_iter().filter_map(|p| p.rows),
        rows.apply(loader::empty_frame(&schema::AUDIT_EVENTS)?, None)?,
    )?;
    let memory = crate::memory::resident();
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis(),
        rss_mib = memory.rss_mib,
        peak_mib = memory.peak_mib,
        "event digests and window rows"
    );
    Ok((
        digests,
        kept,
        TableReport {
            account,
            unknown_columns,
            quarantine,
        },
    ))
}

/// Every partition of the events table, in file order: from the store when its digest is
/// there, else read, validated, digested and stored. Partitions are independent, so they
/// are processed in parallel; only the first error in file order is reported.
fn load_events(
    files: &[SourceFile],
    naive_tz: Option<Tz>,
    systems: &HashSet<String>,
    plan: &EventsPlan,
    rows: &RowsWanted,
) -> Result<(Vec<Partition>, TableAccount)> {
    let mut ids: Vec<&str> = systems.iter().map(String::as_str).collect();
    ids.sort_unstable();
    let systems_fp = crate::hash::sha256_hex(ids.join("\n").as_bytes());
    let empty = events::empty_digest(plan.checks)?;
    // The partitions to read and digest first (on a nightly run, the new day's, which
    // comes last in file order), while the stored ones are read beside them.
    let unstored = |f: &SourceFile| {
        plan.store.is_some_and(|store| {
            let sha = Stamp::of(&f.path)
                .and_then(|stamp| store.peek_sha256(&f.rel, &stamp).map(str::to_string));
            sha.is_none_or(|sha| !store.holds(&partition_key(f, &sha, &systems_fp, naive_tz, plan)))
        })
    };
    let partitions = crate::parallel::map_in_order_from("partitions", files, unstored, |f| {
        load_partition(f, naive_tz, systems, &systems_fp, plan, rows, &empty)
    })?;
    crate::memory::release("event partitions");
    let memory = crate::memory::resident();
    tracing::info!(
        rss_mib = memory.rss_mib,
        peak_mib = memory.peak_mib,
        partitions = partitions.len(),
        digests_reused = partitions.iter().filter(|p| p.reused).count(),
        rows_kept = partitions
            .iter()
            .filter_map(|p| p.rows.as_ref().map(DataFrame::height))
            .sum::<usize>(),
        "audit event partitions"
    );
    let account = TableAccount {
        table: schema::AUDIT_EVENTS.name,
        rows_read: partitions.iter().map(|p| p.meta.rows_read).sum(),
        rows_loaded: partitions.iter().map(|p| p.meta.rows_loaded).sum(),
        rows_quarantined: partitions
            .iter()
            .map(|p| p.meta.rows_read - p.meta.rows_loaded)
            .sum(),
        files: partitions.iter().map(|p| p.meta.file.clone()).collect(),
    };
    Ok((partitions, account))
}

/// A partition's loaded rows read from its input file again ([`events::RowsFromInput`]),
/// refused if the file no longer holds the bytes the run hashed (`read`).
fn rows_from_input(
    files: &[SourceFile],
    read: &InputFile,
    naive_tz: Option<Tz>,
    systems: &HashSet<String>,
) -> Result<DataFrame> {
    let f = files
        .iter()
        .find(|f| f.rel == read.path)
        .ok_or_else(|| Error::Internal(format!("no input file for partition {}", read.path)))?;
    // A source's file is hashed by its mapping's own read.
    let (bytes, sha256) = match f.origin {
        Some(_) => (Vec::new(), None),
        None => {
            let bytes = read_bytes(f)?;
            let sha256 = crate::hash::sha256_hex(&bytes);
            (bytes, Some(sha256))
        }
    };
    let (rows, meta) = events::load_rows(f, &bytes, naive_tz, systems)?;
    if sha256.unwrap_or(meta.file.sha256) != read.sha256 {
        return Err(Error::input(
            &f.rel,
            "the file no longer holds the bytes the run hashed (read again for what the \
             state does not keep of it): run again, with --full if OUT/state is wrong",
        ));
    }
    Ok(rows)
}

/// The store's key of a partition whose file holds the bytes hashed `sha256`.
fn partition_key(
    f: &SourceFile,
    sha256: &str,
    systems_fp: &str,
    naive_tz: Option<Tz>,
    plan: &EventsPlan,
) -> String {
    // A source's rows also depend on its mapping and settings, not only on the bytes.
    let name = match &f.origin {
        Some(o) => format!("{}\n{}", f.rel, o.rows.fingerprint(o.file)),
        None => f.rel.clone(),
    };
    Store::key(&name, sha256, systems_fp, naive_tz, &plan.checks.version)
}

fn load_partition(
    f: &SourceFile,
    naive_tz: Option<Tz>,
    systems: &HashSet<String>,
    systems_fp: &str,
    plan: &EventsPlan,
    rows_wanted: &RowsWanted,
    empty: &events::Digest,
) -> Result<Partition> {
    let key_of = |sha: &str| partition_key(f, sha, systems_fp, naive_tz, plan);
    let from_store = |sha: &str| {
        let store = plan.store?;
        let key = key_of(sha);
        let covered =
            plan.keep_days.is_some() && store.rollup().is_some_and(|r| r.keys.contains(&key));
        store
            .load(
                &key,
                |days| plan.wants_rows(days),
                rows_wanted,
                covered,
                empty,
            )
            // The manifest lists the stored meta's file: it must be this file's bytes.
            .filter(|p| p.meta.file.sha256 == sha && p.meta.file.path == f.rel)
    };
    // Before the read: a write racing it changes the ctime after this stamp.
    let stamp = plan.store.and_then(|_| Stamp::of(&f.path));
    let cached_sha = plan
        .store
        .zip(stamp.as_ref())
        .and_then(|(s, stamp)| s.cached_sha256(&f.rel, stamp));
    if let Some(p) = cached_sha.as_deref().and_then(from_store) {
        return Ok(p);
    }
    // A source's file is read as a stream (an export may be larger than memory): with a
    // store, hashed first to look its digest up, then mapped; without one (`check`), the
    // hash comes from the mapping's own read and the file is read once.
    let (bytes, known_sha) = match (&f.origin, plan.store) {
        (Some(_), Some(_)) => (Vec::new(), Some(hash_streamed(f)?)),
        (Some(_), None) => (Vec::new(), None),
        (None, _) => {
            let bytes = read_bytes(f)?;
            let sha256 = crate::hash::sha256_hex(&bytes);
            (bytes, Some(sha256))
        }
    };
    if let Some(sha256) = &known_sha {
        if let Some((store, stamp)) = plan.store.zip(stamp) {
            store.record_sha256(&f.rel, stamp, sha256);
        }
        if let Some(p) = from_store(sha256) {
            return Ok(p);
        }
    }
    let (rows, mut meta) = events::load_rows(f, &bytes, naive_tz, systems)?;
    drop(bytes);
    let sha256 = match known_sha {
        Some(sha) if f.origin.is_some() && meta.file.sha256 != sha => {
            return Err(Error::input(
                &f.rel,
                "the file changed while it was read (hashed, then mapped): run again",
            ));
        }
        Some(sha) => sha,
        None => meta.file.sha256.clone(),
    };
    meta.file.sha256 = sha256.clone();
    let seq = events::seq_records(&rows)?;
    let digest = events::digest(&rows, &seq, plan.checks)?.detached()?;
    let mut p = Partition {
        meta,
        digest,
        seq: events::SeqRecords::Memory(DataFrame::empty()),
        rows: None,
        key: key_of(&sha256),
        usage_skipped: false,
        reused: false,
    };
    // Windows only move forward from night to night, so rows wholly before this one are
    // not stored: a run of an earlier date reads that input again.
    let stores_rows = plan.store.is_some()
        && !matches!(&plan.keep_days, Some(w) if p.meta.days.is_none_or(|d| d.1 < w.start));
    // Stored beside the rows, and read by the filter below.
    let keys = stores_rows.then(|| KeyCodes::of(&rows)).transpose()?;
    p.seq = match plan.store {
        Some(store) => {
            let stored = match &keys {
                Some(keys) => {
                    let mut stored = rows.select(events::WINDOW_COLUMNS)?;
                    stored.hstack_mut(&keys.columns())?;
                    Some(stored)
                }
                None => None,
            };
            store.save(&key_of(&sha256), &p, stored.as_ref())?;
            if plan.keep_days.is_some() {
                // The usage rollup reads it back from the store one partition at a time,
                // so that memory never holds every partition's usage at once.
                p.digest.usage = DataFrame::empty();
                p.usage_skipped = true;
            }
            events::SeqRecords::Input
        }
        // Held until the log-chain rules run, for every partition: in buffers of its own.
        None => events::SeqRecords::Memory(loader::detached(seq)?),
    };
    if plan.wants_rows(p.meta.days) {
        p.rows = Some(rows_wanted.apply(rows, keys.as_ref())?);
    }
    Ok(p)
}
