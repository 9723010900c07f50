//! Row-level checks shared by every input format: typed cells in, a canonical frame and
//! quarantine rows out. Keys and references are checked here, in file order.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::schema::{ColType, Table, TableSchema};
use super::values::Value;
use crate::error::Result;

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

/// Keys of the tables loaded so far, for reference checks.
#[derive(Debug, Default)]
pub struct Known {
    pub systems: HashSet<String>,
    pub accounts: HashSet<(String, String)>,
    /// (system_id, entitlement_id) -> kind
    pub entitlements: HashMap<(String, String), String>,
    pub sod_rule_ids: HashSet<String>,
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

/// The canonical (empty) frame of a table: what every reader produces.
pub fn empty_frame(schema: &TableSchema) -> Result<DataFrame> {
    let cols = schema
        .columns
        .iter()
        .map(|c| Builder::new(c.ty).into_column(c.name))
        .collect();
    Ok(DataFrame::new_infer_height(cols)?)
}

pub struct TableLoader<'k> {
    pub schema: &'static TableSchema,
    known: &'k mut Known,
    builders: Vec<Builder>,
    /// key -> (file, position) of the first loaded row with that key.
    keys: HashMap<Vec<String>, (String, u64)>,
    key_idx: Vec<usize>,
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
            keys: HashMap::new(),
            key_idx,
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

    /// Offers one row. `cells` holds one value per schema column (or the reason the row is
    /// unreadable); `raw` renders the row for the quarantine and is only called if needed.
    pub fn push(
        &mut self,
        file: &str,
        pos: u64,
        cells: std::result::Result<Vec<Value>, String>,
        raw: impl FnOnce() -> String,
    ) {
        self.rows_read += 1;
        let verdict = cells.and_then(|cells| self.check(file, pos, &cells).map(|()| cells));
        match verdict {
            Ok(cells) => {
                self.remember(&cells);
                for (b, v) in self.builders.iter_mut().zip(cells) {
                    b.push(v);
                }
                self.rows_loaded += 1;
            }
            Err(reason) => self.quarantine.push(QuarantineRow {
                table: self.schema.name,
                source_file: file.to_string(),
                line: pos,
                reason,
                raw: raw(),
            }),
        }
    }

    fn str_at<'a>(&self, cells: &'a [Value], col: &str) -> Option<&'a str> {
        match self.schema.column_index(col).map(|i| &cells[i]) {
            Some(Value::Str(s)) => Some(s.as_str()),
            _ => None,
        }
    }

    fn check(&mut self, file: &str, pos: u64, cells: &[Value]) -> std::result::Result<(), String> {
        self.table_rule(cells)?;
        for r in self.schema.references {
            let vals: Vec<&str> = r
                .columns
                .iter()
                .filter_map(|c| self.str_at(cells, c))
                .collect();
            let ok = match (r.table, vals.as_slice()) {
                (Table::Systems, [s]) => self.known.systems.contains(*s),
                (Table::Accounts, [s, a]) => self
                    .known
                    .accounts
                    .contains(&(s.to_string(), a.to_string())),
                (Table::Entitlements, [s, e]) => {
                    match self.known.entitlements.get(&(s.to_string(), e.to_string())) {
                        None => false,
                        Some(kind) => match r.kind {
                            Some(want) if kind != want => {
                                return Err(format!(
                                    "{} ({}, {}) is a {kind}, not a {want}",
                                    r.columns[1], s, e
                                ))
                            }
                            _ => true,
                        },
                    }
                }
                _ => true,
            };
            if !ok {
                return Err(format!("{} ({})", r.what, describe_key(r.columns, &vals)));
            }
        }
        if !self.key_idx.is_empty() {
            let key: Vec<String> = self
                .key_idx
                .iter()
                .map(|&i| value_text(&cells[i]))
                .collect();
            if let Some((f, p)) = self.keys.get(&key) {
                let cols: Vec<&str> = self.schema.key.to_vec();
                let vals: Vec<&str> = key.iter().map(String::as_str).collect();
                return Err(format!(
                    "duplicate primary key ({}), first loaded from {f} {} {p}",
                    describe_key(&cols, &vals),
                    position_word(f)
                ));
            }
            self.keys.insert(key, (file.to_string(), pos));
        }
        Ok(())
    }

    /// Row checks that belong to one table only.
    fn table_rule(&self, cells: &[Value]) -> std::result::Result<(), String> {
        match self.schema.table {
            Table::Identities => {
                let terminated = self.str_at(cells, "status") == Some("terminated");
                let at = self.schema.column_index("terminated_at").map(|i| &cells[i]);
                if terminated && matches!(at, Some(Value::Null) | None) {
                    return Err("terminated identity without terminated_at".into());
                }
            }
            Table::Exceptions => {
                if let Some(id) = self.str_at(cells, "sod_rule_id") {
                    if !self.known.sod_rule_ids.contains(id) {
                        return Err(format!("unknown SoD rule ({id:?})"));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Makes an accepted row available to the reference checks of later tables.
    fn remember(&mut self, cells: &[Value]) {
        let s = |c: &str| self.str_at(cells, c).unwrap_or_default().to_string();
        match self.schema.table {
            Table::Systems => {
                let k = s("system_id");
                self.known.systems.insert(k);
            }
            Table::Accounts => {
                let k = (s("system_id"), s("account_id"));
                self.known.accounts.insert(k);
            }
            Table::Entitlements => {
                let k = (s("system_id"), s("entitlement_id"));
                let kind = s("kind");
                self.known.entitlements.insert(k, kind);
            }
            _ => {}
        }
    }

    pub fn finish(self) -> Result<(DataFrame, u64, u64, Vec<QuarantineRow>)> {
        let cols = self
            .schema
            .columns
            .iter()
            .zip(self.builders)
            .map(|(c, b)| b.into_column(c.name))
            .collect();
        let df = DataFrame::new_infer_height(cols)?;
        Ok((df, self.rows_read, self.rows_loaded, self.quarantine))
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Int(i) | Value::Ts(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
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
