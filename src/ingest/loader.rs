//! Row-level checks shared by every input format: typed cells in, a canonical frame and
//! quarantine rows out. Keys and references are checked here, in file order.

use std::borrow::Cow;
use std::collections::HashSet;

use polars::prelude::*;

use super::schema::{ColType, Reference, Table, TableSchema};
use super::values::Value;
use crate::error::Result;
use crate::time::MICROS_PER_DAY;

/// The longest a waiver may run, from approval to expiry.
pub const MAX_WAIVER_DAYS: i64 = 365;

/// One quarantined row, as written to `quarantine.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineRow {
    pub table: &'static str,
    pub source_file: String,
    /// 1-based physical line (CSV) or 0-based row index (Parquet, NDJSON).
    pub line: u64,
    pub reason: String,
    /// The row as JSON.
    pub raw: String,
}

/// The quarantine as `quarantine.csv` holds it.
pub fn quarantine_frame(rows: &[QuarantineRow]) -> Result<DataFrame> {
    Ok(df!(
        "table" => rows.iter().map(|r| r.table).collect::<Vec<_>>(),
        "source_file" => rows.iter().map(|r| r.source_file.as_str()).collect::<Vec<_>>(),
        "line" => rows.iter().map(|r| r.line).collect::<Vec<_>>(),
        "reason" => rows.iter().map(|r| r.reason.as_str()).collect::<Vec<_>>(),
        "raw" => rows.iter().map(|r| r.raw.as_str()).collect::<Vec<_>>(),
    )?)
}

/// Keys of the tables loaded so far, for reference checks. Pairs are nested by system so
/// that a lookup borrows the row's text instead of allocating a key per row.
#[derive(Debug, Default)]
pub struct Known {
    pub systems: HashSet<String>,
    /// system_id -> account_ids
    pub accounts: PlHashMap<String, PlHashSet<String>>,
    /// system_id -> entitlement_id -> kind
    pub entitlements: PlHashMap<String, PlHashMap<String, String>>,
    pub sod_rule_ids: HashSet<String>,
    /// The rule codes a waiver may name, handed in by the caller: ingest knows no rule.
    pub rule_codes: HashSet<String>,
    /// Every system id is taken as known (`import`, which has no systems table).
    pub any_system: bool,
}

/// What the known keys say of one reference's values.
enum Resolution<'a> {
    Known,
    Unknown,
    /// The entitlement exists but is of this kind, not the one the reference asks for.
    OtherKind(&'a str),
}

impl Known {
    /// Makes the rows of a table read back from the state available to the reference
    /// checks of later tables, as [`TableLoader`] does for each row it accepts (a null as
    /// the empty text).
    pub fn remember_frame(&mut self, table: Table, df: &DataFrame) -> Result<()> {
        let texts = |name: &str| crate::codes::texts(df, name);
        match table {
            Table::Systems => self.systems.extend(texts("system_id")?),
            Table::Accounts => {
                for (system, account) in texts("system_id")?.into_iter().zip(texts("account_id")?) {
                    self.accounts.entry(system).or_default().insert(account);
                }
            }
            Table::Entitlements => {
                let pairs = texts("system_id")?
                    .into_iter()
                    .zip(texts("entitlement_id")?);
                for ((system, id), kind) in pairs.zip(texts("kind")?) {
                    self.entitlements
                        .entry(system)
                        .or_default()
                        .insert(id, kind);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The one lookup of a reference's values (a row's non-null cells of its columns),
    /// shared by the row checks and the whole-file admission.
    fn resolve(&self, r: &Reference, vals: &[&str]) -> Resolution<'_> {
        let known = |yes: bool| {
            if yes {
                Resolution::Known
            } else {
                Resolution::Unknown
            }
        };
        match (r.table, vals) {
            (Table::Systems, [s]) => known(self.any_system || self.systems.contains(*s)),
            (Table::Accounts, [s, a]) => {
                known(self.accounts.get(*s).is_some_and(|ids| ids.contains(*a)))
            }
            (Table::Entitlements, [s, e]) => {
                match self.entitlements.get(*s).and_then(|ids| ids.get(*e)) {
                    None => Resolution::Unknown,
                    Some(kind) if r.kind.is_some_and(|want| kind != want) => {
                        Resolution::OtherKind(kind)
                    }
                    Some(_) => Resolution::Known,
                }
            }
            _ => Resolution::Known,
        }
    }
}

enum Builder {
    Str(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
    Int(Vec<Option<i64>>),
}

impl Builder {
    fn new(ty: ColType) -> Self {
        match ty {
            ColType::Bool => Builder::Bool(Vec::new()),
            ColType::Int | ColType::Timestamp => Builder::Int(Vec::new()),
            _ => Builder::Str(Vec::new()),
        }
    }

    fn push(&mut self, v: Value) {
        match (self, v) {
            (Builder::Str(b), Value::Str(s)) => b.push(Some(s)),
            (Builder::Bool(b), Value::Bool(x)) => b.push(Some(x)),
            (Builder::Int(b), Value::Int(x) | Value::Ts(x)) => b.push(Some(x)),
            (Builder::Str(b), _) => b.push(None),
            (Builder::Bool(b), _) => b.push(None),
            (Builder::Int(b), _) => b.push(None),
        }
    }

    fn into_column(self, name: &str) -> Column {
        let name = PlSmallStr::from_str(name);
        match self {
            Builder::Str(b) => Series::new(name, b).into(),
            Builder::Bool(b) => Series::new(name, b).into(),
            Builder::Int(b) => Series::new(name, b).into(),
        }
    }
}

/// Frames stacked in order, as one chunk (`empty` when there are none).
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

/// A frame whose strings are in buffers of its own. A frame cut from a larger one
/// (filtered, grouped, gathered) still points into the larger one's string buffers: a
/// partition's digest and window rows, kept until detect, would keep the whole
/// partition's text alive (gigabytes over a large history).
pub fn detached(df: DataFrame) -> Result<DataFrame> {
    let cols = df
        .into_columns()
        .into_iter()
        .map(|c| -> Result<Column> {
            if c.dtype() != &DataType::String {
                return Ok(c);
            }
            let ca = c.str()?;
            let wasteful = ca
                .downcast_iter()
                .any(|a| a.total_buffer_len() > 2 * a.total_bytes_len() + (1 << 16));
            if !wasteful {
                return Ok(c);
            }
            let fresh = ca.downcast_iter().map(|a| a.clone().gc());
            Ok(StringChunked::from_chunk_iter(c.name().clone(), fresh)
                .into_series()
                .into())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(DataFrame::new_infer_height(cols)?)
}

/// The canonical (empty) frame of a table: what every reader produces.
pub fn empty_frame(schema: &TableSchema) -> Result<DataFrame> {
    let cols = schema
        .columns
        .iter()
        .map(|c| Builder::new(c.ty).into_column(c.name))
        .collect();
    Ok(DataFrame::new_infer_height(cols)?)
}

/// Rows held as owned values before they are built into a chunk.
const CHUNK_ROWS: usize = 65_536;

/// What became of a row offered to the loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Loaded,
    Quarantined,
    /// A source row whose key a contract file's row already has: the contract row wins
    /// (CONTRACT section 7). Not a row of the table, so not counted in its accounting.
    Overridden,
}

/// Why a row is not loaded.
enum Refusal {
    Bad(String),
    Overridden,
}

impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Refusal::Bad(reason)
    }
}

/// The text of schema column `i` of the row being checked (None for null).
type CellText<'c> = dyn Fn(usize) -> Option<Cow<'c, str>> + 'c;

pub struct TableLoader<'k> {
    pub schema: &'static TableSchema,
    known: &'k mut Known,
    builders: Vec<Builder>,
    /// Loaded rows so far, in file order: canonical chunks (from columnar readers) and,
    /// last, the rows in `builders` (from row-by-row readers).
    chunks: Vec<DataFrame>,
    /// key -> (file, position, from a source) of the first loaded row with that key.
    /// Fast hashing: tens of millions of event ids go through here in a full run.
    keys: PlHashMap<String, (usize, u64, bool)>,
    /// Whether the rows offered now come from a source (after every contract file).
    from_source: bool,
    /// Rows in `builders`, moved into a compact chunk every [`CHUNK_ROWS`].
    pending: usize,
    /// A failure to build a chunk while rows are offered, reported by `finish`.
    deferred: Option<crate::error::Error>,
    /// Files named by `keys` (by index: one string per file, not per row).
    key_files: Vec<String>,
    /// The keys of the contract file admitted whole (see [`Self::admit_file`]) of a table
    /// whose keys are unique across files: the file's index in `key_files` and its key
    /// column. Moved into `keys` only when a later row (a source's) needs them, so that
    /// millions of grant ids are not copied into a map nobody reads.
    admitted_keys: Option<(usize, StringChunked)>,
    key_idx: Vec<usize>,
    /// Column indices of each of the schema's references, resolved once.
    ref_idx: Vec<Vec<usize>>,
    pub rows_read: u64,
    pub rows_loaded: u64,
    pub quarantine: Vec<QuarantineRow>,
}

impl<'k> TableLoader<'k> {
    pub fn new(schema: &'static TableSchema, known: &'k mut Known) -> Self {
        let key_idx = schema
            .key
            .iter()
            .filter_map(|k| schema.column_index(k))
            .collect();
        TableLoader {
            schema,
            known,
            builders: schema.columns.iter().map(|c| Builder::new(c.ty)).collect(),
            chunks: Vec::new(),
            keys: PlHashMap::new(),
            from_source: false,
            pending: 0,
            deferred: None,
            key_files: Vec::new(),
            admitted_keys: None,
            key_idx,
            ref_idx: schema
                .references
                .iter()
                .map(|r| {
                    r.columns
                        .iter()
                        .filter_map(|c| schema.column_index(c))
                        .collect()
                })
                .collect(),
            rows_read: 0,
            rows_loaded: 0,
            quarantine: Vec::new(),
        }
    }

    /// Called when a new file of this table starts.
    pub fn start_file(&mut self) {
        if self.schema.key_per_file {
            self.keys.clear();
        }
    }

    /// Called when a source's file starts: its rows come after every contract row of the
    /// table, and yield to a contract row with the same key.
    pub fn start_source_file(&mut self) {
        self.start_file();
        self.from_source = true;
    }

    /// Offers one row. `cells` holds one value per schema column (or the reason the row is
    /// unreadable); `raw` renders the row for the quarantine and is only called if needed.
    pub fn push(
        &mut self,
        file: &str,
        pos: u64,
        cells: std::result::Result<Vec<Value>, String>,
        raw: impl FnOnce() -> String,
    ) -> Offer {
        let verdict = cells.map_err(Refusal::Bad).and_then(|cells| {
            self.check(file, pos, &|i| value_text(&cells[i]))
                .map(|()| cells)
        });
        let overridden = matches!(verdict, Err(Refusal::Overridden));
        match self.settle(file, pos, verdict, raw) {
            Some(cells) => {
                for (b, v) in self.builders.iter_mut().zip(cells) {
                    b.push(v);
                }
                self.pending += 1;
                if self.pending >= CHUNK_ROWS && self.deferred.is_none() {
                    // A row of owned strings takes several times its Arrow size: a million
                    // rows of one export would otherwise sit in memory that way.
                    if let Err(e) = self.flush_builders() {
                        self.deferred = Some(e);
                    }
                }
                Offer::Loaded
            }
            None if overridden => Offer::Overridden,
            None => Offer::Quarantined,
        }
    }

    /// Offers one row of a canonical chunk the caller keeps (see [`Self::push_chunk`]):
    /// the cells are already valid and `text` reads them. True when the row is loaded.
    pub fn admit<'c>(
        &mut self,
        file: &str,
        pos: u64,
        text: &CellText<'c>,
        raw: impl FnOnce() -> String,
    ) -> bool {
        let verdict = self.check(file, pos, text);
        self.settle(file, pos, verdict, raw).is_some()
    }

    /// Admits the canonical rows of a whole file at once when checks by column decide
    /// every row the way [`Self::admit`] would, one by one: a table which has no row rule
    /// of its own and keeps no keys for later tables, with no key loaded before, whose
    /// single-column key is unique in the file and whose references (to `systems`,
    /// `accounts` or `entitlements`, of the kind asked) all resolve. Otherwise (or if any
    /// of it fails) nothing is counted, and false sends the rows one by one, which find
    /// the reasons. Only for a file's only chunk, right after [`Self::start_file`].
    pub fn admit_file(&mut self, file: &str, df: &DataFrame) -> Result<bool> {
        // A source's rows yield to contract rows by key, which only the row path decides.
        if self.from_source
            || !self.keys.is_empty()
            || self.admitted_keys.is_some()
            || self.rules_rows()
        {
            return Ok(false);
        }
        for (r, idx) in self.schema.references.iter().zip(&self.ref_idx) {
            let column = |i: usize| -> Result<Option<&StringChunked>> {
                Ok(match df.select_at_idx(i) {
                    Some(c) => Some(c.str()?),
                    None => None,
                })
            };
            let known = |vals: &[&str]| matches!(self.known.resolve(r, vals), Resolution::Known);
            let resolved = match idx.as_slice() {
                // One column (a system): each distinct value looked up once.
                [i] => match column(*i)? {
                    Some(values) => values
                        .unique()?
                        .iter()
                        .all(|v| v.is_some_and(|v| known(&[v]))),
                    None => false,
                },
                [i, j] => all_pairs(column(*i)?, column(*j)?, |a, b| known(&[a, b])),
                _ => false,
            };
            if !resolved {
                return Ok(false);
            }
        }
        if let [i] = self.key_idx.as_slice() {
            let Some(key) = df.select_at_idx(*i) else {
                return Ok(false);
            };
            if key.null_count() > 0 || key.n_unique()? != df.height() {
                return Ok(false);
            }
            if !self.schema.key_per_file {
                self.key_files.push(file.to_string());
                self.admitted_keys = Some((self.key_files.len() - 1, key.str()?.clone()));
            }
        } else if !self.key_idx.is_empty() {
            return Ok(false);
        }
        let n = df.height() as u64;
        self.rows_read += n;
        self.rows_loaded += n;
        Ok(true)
    }

    /// Moves the keys of the file admitted whole into `keys`, each at its row's position.
    fn settle_admitted_keys(&mut self) {
        if let Some((file, key)) = self.admitted_keys.take() {
            for (row, k) in key.iter().enumerate() {
                if let Some(k) = k {
                    self.keys.insert(k.to_string(), (file, row as u64, false));
                }
            }
        }
    }

    /// Whether the table's rows are checked or remembered one by one beyond their keys
    /// and references (see [`Self::table_rule`] and [`Self::remember`]).
    fn rules_rows(&self) -> bool {
        matches!(
            self.schema.table,
            Table::Identities
                | Table::Exceptions
                | Table::Waivers
                | Table::Systems
                | Table::Accounts
                | Table::Entitlements
        )
    }

    /// Counts a row for a reader that already knows it cannot be loaded (a bad cell).
    pub fn reject(&mut self, file: &str, pos: u64, reason: String, raw: impl FnOnce() -> String) {
        self.settle::<()>(file, pos, Err(Refusal::Bad(reason)), raw);
    }

    /// Appends the rows a columnar reader loaded through [`Self::admit`], as a frame with
    /// the canonical columns, after every row loaded before.
    pub fn push_chunk(&mut self, df: DataFrame) -> Result<()> {
        self.flush_builders()?;
        self.chunks.push(df);
        Ok(())
    }

    fn flush_builders(&mut self) -> Result<()> {
        let fresh = self
            .schema
            .columns
            .iter()
            .map(|c| Builder::new(c.ty))
            .collect();
        let builders = std::mem::replace(&mut self.builders, fresh);
        self.pending = 0;
        let cols = self
            .schema
            .columns
            .iter()
            .zip(builders)
            .map(|(c, b)| b.into_column(c.name))
            .collect();
        let df = DataFrame::new_infer_height(cols)?;
        if df.height() > 0 || self.chunks.is_empty() {
            self.chunks.push(df);
        }
        Ok(())
    }

    /// Counts the row and quarantines it when the verdict is a reason.
    fn settle<T>(
        &mut self,
        file: &str,
        pos: u64,
        verdict: std::result::Result<T, Refusal>,
        raw: impl FnOnce() -> String,
    ) -> Option<T> {
        if let Err(Refusal::Overridden) = verdict {
            return None;
        }
        self.rows_read += 1;
        match verdict {
            Ok(t) => {
                self.rows_loaded += 1;
                Some(t)
            }
            Err(Refusal::Overridden) => None,
            Err(Refusal::Bad(reason)) => {
                self.quarantine.push(QuarantineRow {
                    table: self.schema.name,
                    source_file: file.to_string(),
                    line: pos,
                    reason,
                    raw: raw(),
                });
                None
            }
        }
    }

    fn text_of<'c>(&self, text: &CellText<'c>, col: &str) -> Option<Cow<'c, str>> {
        self.schema.column_index(col).and_then(text)
    }

    fn check(
        &mut self,
        file: &str,
        pos: u64,
        text: &CellText<'_>,
    ) -> std::result::Result<(), Refusal> {
        self.settle_admitted_keys();
        self.table_rule(text)?;
        for (r, idx) in self.schema.references.iter().zip(&self.ref_idx) {
            let owned: Vec<Cow<str>> = idx.iter().filter_map(|&i| text(i)).collect();
            let vals: Vec<&str> = owned.iter().map(|v| v.as_ref()).collect();
            match self.known.resolve(r, &vals) {
                Resolution::Known => {}
                Resolution::Unknown => {
                    let reason = format!("{} ({})", r.what, describe_key(r.columns, &vals));
                    return Err(Refusal::Bad(reason));
                }
                Resolution::OtherKind(kind) => {
                    let want = r.kind.unwrap_or_default();
                    return Err(Refusal::Bad(format!(
                        "{} ({}) is a {kind}, not a {want}",
                        r.columns[1],
                        vals.join(", ")
                    )));
                }
            }
        }
        if !self.key_idx.is_empty() {
            let parts: Vec<Cow<str>> = self
                .key_idx
                .iter()
                .map(|&i| text(i).unwrap_or_default())
                .collect();
            let key = match parts.as_slice() {
                [one] => one.to_string(),
                // Each part led by its byte length, so that distinct keys stay distinct.
                many => many.iter().map(|p| format!("{}:{p}", p.len())).collect(),
            };
            if let Some((fi, p, earlier_from_source)) = self.keys.get(&key) {
                if self.from_source && !earlier_from_source {
                    return Err(Refusal::Overridden);
                }
                let f = self.key_files.get(*fi).map_or("", String::as_str);
                let cols: Vec<&str> = self.schema.key.to_vec();
                let vals: Vec<&str> = parts.iter().map(|p| p.as_ref()).collect();
                return Err(Refusal::Bad(format!(
                    "duplicate primary key ({}), first loaded from {f} {} {p}",
                    describe_key(&cols, &vals),
                    position_word(f)
                )));
            }
            self.remember(text);
            if self.key_files.last().map(String::as_str) != Some(file) {
                self.key_files.push(file.to_string());
            }
            let from_source = self.from_source;
            self.keys
                .insert(key, (self.key_files.len() - 1, pos, from_source));
        } else {
            self.remember(text);
        }
        Ok(())
    }

    /// Row checks that belong to one table only.
    fn table_rule(&self, text: &CellText<'_>) -> std::result::Result<(), String> {
        match self.schema.table {
            Table::Identities => {
                let terminated = self.text_of(text, "status").as_deref() == Some("terminated");
                if terminated && self.text_of(text, "terminated_at").is_none() {
                    return Err("terminated identity without terminated_at".into());
                }
            }
            Table::Exceptions => {
                if let Some(id) = self.text_of(text, "sod_rule_id") {
                    if !self.known.sod_rule_ids.contains(id.as_ref()) {
                        return Err(format!("unknown SoD rule ({id:?})"));
                    }
                }
            }
            Table::Waivers => {
                if let Some(code) = self.text_of(text, "rule") {
                    if !self.known.rule_codes.contains(code.as_ref()) {
                        return Err(format!("unknown rule ({code:?})"));
                    }
                }
                let micros = |c: &str| self.text_of(text, c).and_then(|v| v.parse::<i64>().ok());
                if let (Some(approved), Some(expires)) =
                    (micros("approved_at"), micros("expires_at"))
                {
                    // A longer acceptance of risk is a decision nobody revisits: the
                    // contract caps it, and an over-long row is refused rather than cut.
                    if expires - approved > MAX_WAIVER_DAYS * MICROS_PER_DAY {
                        return Err(format!(
                            "waiver longer than {MAX_WAIVER_DAYS} days (expires_at more than \
                             {MAX_WAIVER_DAYS} days after approved_at)"
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Makes an accepted row available to the reference checks of later tables.
    fn remember(&mut self, text: &CellText<'_>) {
        let s = |c: &str| {
            self.text_of(text, c)
                .map(Cow::into_owned)
                .unwrap_or_default()
        };
        match self.schema.table {
            Table::Systems => {
                let k = s("system_id");
                self.known.systems.insert(k);
            }
            Table::Accounts => {
                let (system, account) = (s("system_id"), s("account_id"));
                self.known
                    .accounts
                    .entry(system)
                    .or_default()
                    .insert(account);
            }
            Table::Entitlements => {
                let (system, id, kind) = (s("system_id"), s("entitlement_id"), s("kind"));
                self.known
                    .entitlements
                    .entry(system)
                    .or_default()
                    .insert(id, kind);
            }
            _ => {}
        }
    }

    pub fn finish(mut self) -> Result<(DataFrame, u64, u64, Vec<QuarantineRow>)> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        self.flush_builders()?;
        let chunks = std::mem::take(&mut self.chunks);
        let df = stack(chunks.into_iter(), empty_frame(self.schema)?)?;
        Ok((df, self.rows_read, self.rows_loaded, self.quarantine))
    }
}

fn value_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Str(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Int(i) | Value::Ts(i) => Some(Cow::Owned(i.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        Value::Null => None,
    }
}

fn describe_key(cols: &[&str], vals: &[&str]) -> String {
    cols.iter()
        .zip(vals)
        .map(|(c, v)| format!("{c} = {v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn position_word(file: &str) -> &'static str {
    if file.ends_with(".csv") {
        "line"
    } else {
        "row"
    }
}

/// Whether every row's pair of texts is present and accepted by `known` (a null, which
/// the row checks judge on their own, sends the file to them).
fn all_pairs(
    a: Option<&StringChunked>,
    b: Option<&StringChunked>,
    known: impl Fn(&str, &str) -> bool,
) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    a.iter().zip(b.iter()).all(|pair| match pair {
        (Some(x), Some(y)) => known(x, y),
        _ => false,
    })
}
