//! `permaudit whatif`: the findings a set of proposed grants would add if they were active
//! at T, so that a request can be checked before it is granted. Writes nothing.
//!
//! The proposed rows are read as one more source of the grants table (same row checks as
//! every grant; a rejected row is an error naming its line), and only the rules that read
//! no audit event are evaluated (their metadata says so), on the other tables loaded
//! without the events: twice, without and with the proposed grants. The findings whose
//! stable id appears only in the second evaluation are the ones the request would add.

use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use polars::prelude::*;

use crate::error::{Error, Result};
use crate::findings;
use crate::fs_guard::{self, Links};
use crate::ingest::mapped::{Hashed, MappedFile, MappedSource, RowSource, Sink};
use crate::ingest::schema::{Table, GRANTS};
use crate::ingest::Tables;
use crate::pipeline::{self, Inputs};
use crate::resolve::Ctx;
use crate::rules::RuleMeta;
use crate::severity::Severity;

/// The proposed file's kind of source, in the ingest accounting.
const KIND: &str = "proposed grants";

/// What `whatif` evaluates.
pub struct WhatIfOptions<'a> {
    pub inputs: Inputs<'a>,
    pub as_of: NaiveDate,
    /// The output directory, whose state may hold the tables of the last run's inputs.
    pub out: &'a Path,
    /// The proposed grants: a CSV file with the grants table's columns.
    pub grants: &'a Path,
}

/// What the proposed grants would add.
pub struct WhatIf {
    pub as_of: NaiveDate,
    /// Rows of the proposed file.
    pub proposed: usize,
    /// The added findings, with the findings columns, in the findings' order.
    pub added: DataFrame,
}

/// The rules a proposed grant is judged by: every rule that reads no audit event, which
/// covers every rule over grants alone (SoD, self-approval, approval of privileged grants,
/// grade, peers). A rule reading events could not be judged without them.
pub fn judged(meta: &RuleMeta) -> bool {
    !meta.reads_events
}

/// Evaluates the proposed grants (see the module comment).
pub fn whatif(opts: &WhatIfOptions) -> Result<WhatIf> {
    let rel = opts.grants.display().to_string();
    let proposed = Arc::new(Proposed {
        path: opts.grants.to_path_buf(),
        ids: Mutex::default(),
    });
    let source = MappedSource {
        kind: KIND,
        path: rel.clone(),
        system_id: String::new(),
        tables: &[Table::Grants],
        files: vec![MappedFile {
            rel: rel.clone(),
            path: opts.grants.to_path_buf(),
        }],
        rows: proposed.clone(),
    };
    let state = opts.out.join(crate::output::STATE_DIR);
    let (policy, tables, ingest) =
        pipeline::load_without_events(&opts.inputs, Some(&state), source)?;
    refuse_bad_rows(&ingest, &rel)?;
    // A proposed row with the id of an existing grant replaces it: "without" could then
    // not be told apart from "with", so such a request is refused.
    let overrides = ingest
        .sources
        .iter()
        .any(|s| s.kind == KIND && s.total.overridden > 0);
    if overrides {
        return Err(Error::input(
            &rel,
            "a proposed grant_id is already a grant of the inputs: leave grant_id empty or \
             give a new one",
        ));
    }
    // The ids of the rows as ingest read them (the file is read once).
    let ids = std::mem::take(&mut *proposed.ids.lock().unwrap_or_else(|p| p.into_inner()));
    let id_list = || {
        lit(Series::new(
            "ids".into(),
            ids.iter().map(String::as_str).collect::<Vec<_>>(),
        ))
        .implode(false)
    };
    // The request is judged as if granted at T: a ticket stamps it with the time it is
    // asked, which is after T (the end of as_of) for the default as_of, and a grant given
    // after T is not active at T, so it would add nothing and pass unseen.
    let t = crate::time::evaluation_instant(opts.as_of);
    let scope = Scope::of(&tables, &id_list())?;
    let mut with = scope.restrict(&tables)?;
    with.grants = with
        .grants
        .lazy()
        .with_column(
            when(
                col("grant_id")
                    .is_in(id_list(), false)
                    .and(col("granted_at").gt_eq(lit(t))),
            )
            .then(lit(t - 1))
            .otherwise(col("granted_at"))
            .alias("granted_at"),
        )
        .collect()?;
    let without = Tables {
        grants: with
            .grants
            .clone()
            .lazy()
            .filter(col("grant_id").is_in(id_list(), false).not())
            .collect()?,
        ..with.clone()
    };
    let lookback = opts.inputs.lookback_days;
    let evaluate = |tables: &Tables| -> Result<DataFrame> {
        let ctx = Ctx::build(tables, &policy, opts.as_of, lookback)?;
        findings::detect_where(&ctx, judged)?.into_frame()
    };
    let before = evaluate(&without)?;
    let after = evaluate(&with)?;
    let known: Vec<String> = before
        .column("finding_id")?
        .str()?
        .iter()
        .flatten()
        .map(String::from)
        .collect();
    let added = after
        .lazy()
        .filter(
            col("finding_id")
                .is_in(
                    lit(Series::new("known".into(), known)).implode(false),
                    false,
                )
                .not(),
        )
        .collect()?;
    Ok(WhatIf {
        as_of: opts.as_of,
        proposed: ids.len(),
        added,
    })
}

/// The part of the grants a request can change a finding of. A rule judged here finds per
/// grant, per account or per identity from that identity's own grants, except the
/// peer-outlier rule, which also counts the holders of a permission in the identity's peer
/// group (same department and job function). So the findings a proposed grant can add
/// belong to the identity of its account (or to the account, when it has none), and they
/// are computed exactly from the grants of that identity's peer group and of the proposed
/// accounts: the rest of the population is left out of both evaluations, which keeps a
/// request's cost independent of the number of grants. (Another identity can only lose a
/// finding by the request, a peer outlier gaining a fellow holder, never gain one.)
/// `tests/whatif.rs` checks the restricted answer against the whole population.
pub struct Scope {
    /// (system_id, account_id) whose grants are kept.
    accounts: DataFrame,
}

impl Scope {
    /// The scope of the grants whose ids are in `ids` (a list literal).
    pub fn of(tables: &Tables, ids: &Expr) -> Result<Scope> {
        let proposed = tables
            .grants
            .clone()
            .lazy()
            .filter(col("grant_id").is_in(ids.clone(), false))
            .select([col("system_id"), col("account_id")])
            .unique(None, UniqueKeepStrategy::First);
        let accounts = tables.accounts.clone().lazy();
        let owners = proposed
            .clone()
            .join(
                accounts.clone(),
                [col("system_id"), col("account_id")],
                [col("system_id"), col("account_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .filter(col("identity_id").is_not_null())
            .select([col("identity_id")]);
        let identities = tables.identities.clone().lazy();
        let groups = identities
            .clone()
            .join(
                owners.clone(),
                [col("identity_id")],
                [col("identity_id")],
                JoinArgs::new(JoinType::Semi),
            )
            .filter(
                col("department")
                    .is_not_null()
                    .and(col("job_function").is_not_null()),
            )
            .select([col("department"), col("job_function")]);
        let peers = identities
            .join(
                groups,
                [col("department"), col("job_function")],
                [col("department"), col("job_function")],
                JoinArgs::new(JoinType::Semi),
            )
            .select([col("identity_id")]);
        let people = concat([owners, peers], UnionArgs::default())?;
        let held = accounts
            .join(
                people,
                [col("identity_id")],
                [col("identity_id")],
                JoinArgs::new(JoinType::Semi),
            )
            .select([col("system_id"), col("account_id")]);
        let accounts = concat([proposed, held], UnionArgs::default())?
            .unique(None, UniqueKeepStrategy::First)
            .collect()?;
        Ok(Scope { accounts })
    }

    /// `tables` with only the grants of the scope's accounts.
    pub fn restrict(&self, tables: &Tables) -> Result<Tables> {
        let grants = tables
            .grants
            .clone()
            .lazy()
            .join(
                self.accounts.clone().lazy(),
                [col("system_id"), col("account_id")],
                [col("system_id"), col("account_id")],
                JoinArgs::new(JoinType::Semi),
            )
            .collect()?;
        Ok(Tables {
            grants,
            ..tables.clone()
        })
    }
}

/// A proposed row that fails the grants' row checks is an error, not a quarantine row: the
/// caller must fix the request, and a finding judged without the row would be wrong.
fn refuse_bad_rows(ingest: &crate::ingest::IngestReport, rel: &str) -> Result<()> {
    let bad: Vec<String> = ingest
        .quarantine
        .iter()
        .filter(|q| q.source_file == rel)
        .map(|q| format!("line {}: {}", q.line, q.reason))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Error::input(rel, bad.join("; ")))
    }
}

/// The stand-in id of a proposed row without one: deterministic, so that the findings'
/// ids are too, and distinct from real ids by its prefix.
pub fn stand_in_id(line: u64) -> String {
    format!("proposed-{line}")
}

/// Reads the proposed CSV: `row` gets each record's line and its cells by grants column
/// (empty cells null, an empty `grant_id` its stand-in). Returns the file's hash.
fn read_rows(
    path: &Path,
    mut row: impl FnMut(u64, &[(&'static str, Option<String>)]),
) -> Result<Hashed> {
    let rel = path.display().to_string();
    let bytes = fs_guard::read_regular(path, Links::Follow).map_err(|e| Error::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes.as_slice());
    let headers = reader
        .headers()
        .map_err(|e| Error::input(&rel, e.to_string()))?
        .clone();
    let mut columns = Vec::with_capacity(headers.len());
    for h in headers.iter() {
        let column = GRANTS.columns.iter().find(|c| c.name == h.trim());
        match column {
            Some(c) => columns.push(c.name),
            None => {
                return Err(Error::input(
                    &rel,
                    format!("unknown column {h:?}: the grants columns are expected"),
                ))
            }
        }
    }
    if !columns.contains(&"grant_id") {
        columns.push("grant_id");
    }
    for record in reader.records() {
        let record = record.map_err(|e| Error::input(&rel, e.to_string()))?;
        let line = record.position().map(|p| p.line()).unwrap_or_default();
        let cells: Vec<(&'static str, Option<String>)> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let value = record.get(i).filter(|v| !v.is_empty()).map(String::from);
                match (*c, value) {
                    ("grant_id", None) => (*c, Some(stand_in_id(line))),
                    (_, v) => (*c, v),
                }
            })
            .collect();
        row(line, &cells);
    }
    Ok(Hashed {
        sha256: crate::hash::sha256_hex(&bytes),
        bytes: bytes.len() as u64,
    })
}

/// The proposed file as a source of grants rows.
#[derive(Debug)]
struct Proposed {
    path: PathBuf,
    /// The grant ids of the rows offered, stand-ins included.
    ids: Mutex<HashSet<String>>,
}

impl RowSource for Proposed {
    fn rows(&self, _file: usize, table: Table, sink: &mut dyn Sink) -> Result<Hashed> {
        if table != Table::Grants {
            return Ok(Hashed::default());
        }
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        read_rows(&self.path, |line, cells| {
            if let Some((_, Some(id))) = cells.iter().find(|(c, _)| *c == "grant_id") {
                ids.insert(id.clone());
            }
            let raw = || {
                let map: serde_json::Map<String, serde_json::Value> = cells
                    .iter()
                    .map(|(c, v)| (c.to_string(), v.clone().into()))
                    .collect();
                serde_json::Value::Object(map).to_string()
            };
            sink.row(line, cells, &raw);
        })
    }

    fn fingerprint(&self, _file: usize) -> String {
        KIND.to_string()
    }
}

impl WhatIf {
    /// The highest severity among the added findings.
    pub fn max_severity(&self) -> Result<Option<Severity>> {
        Ok(self
            .added
            .column("severity")?
            .str()?
            .iter()
            .flatten()
            .filter_map(|s| s.parse::<Severity>().ok())
            .max())
    }

    /// Whether an added finding is at or above `min`.
    pub fn has_at_or_above(&self, min: Severity) -> Result<bool> {
        Ok(self.max_severity()?.is_some_and(|s| s >= min))
    }

    /// The added findings as CSV (header always, cells neutralised like every CSV output).
    pub fn write_csv(&self, out: impl Write) -> Result<()> {
        findings::write_csv_to(&self.added, out, Path::new("<stdout>"))
    }

    /// The added findings as a JSON array of objects, keys in the findings' column order,
    /// `detail` as the object it encodes.
    pub fn to_json(&self) -> Result<String> {
        let df = &self.added;
        let strs: Vec<(String, Column)> = df
            .columns()
            .iter()
            .map(|c| Ok((c.name().to_string(), c.cast(&DataType::String)?)))
            .collect::<PolarsResult<_>>()?;
        let mut rows = Vec::with_capacity(df.height());
        for i in 0..df.height() {
            let mut obj = serde_json::Map::new();
            for (name, c) in &strs {
                let text = c.str()?.get(i);
                let value = match (name.as_str(), text) {
                    (_, None) => serde_json::Value::Null,
                    ("detail", Some(t)) => serde_json::from_str(t)
                        .unwrap_or_else(|_| serde_json::Value::String(t.to_string())),
                    ("seq", Some(t)) => t
                        .parse::<i64>()
                        .map(serde_json::Value::from)
                        .unwrap_or_else(|_| serde_json::Value::String(t.to_string())),
                    (_, Some(t)) => serde_json::Value::String(t.to_string()),
                };
                obj.insert(name.clone(), value);
            }
            rows.push(serde_json::Value::Object(obj));
        }
        serde_json::to_string_pretty(&rows).map_err(|e| Error::Internal(e.to_string()))
    }
}

/// The summary line (stderr: stdout carries the findings).
impl fmt::Display for WhatIf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = match self.max_severity() {
            Ok(Some(s)) => s.to_string(),
            _ => "none".to_string(),
        };
        write!(
            f,
            "permaudit whatif as_of={} proposed={} added={} max_severity={max}",
            self.as_of,
            self.proposed,
            self.added.height(),
        )
    }
}
