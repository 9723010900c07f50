//! Findings across runs in OUT: `first_seen`, new / persisting / resolved against the latest
//! earlier as_of, and a count trend. Reads earlier outputs; never rewrites them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::error::{Error, Result};
use crate::output;

const TREND_RUNS: usize = 30;

/// Per-jurisdiction comparison with the previous run.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Delta {
    pub new: u64,
    pub persisting: u64,
    pub resolved: u64,
}

#[derive(Debug, Default)]
pub struct History {
    /// The latest earlier run: as_of and the SHA-256 of its manifest.
    pub previous: Option<(NaiveDate, String)>,
    pub delta: BTreeMap<String, Delta>,
    /// Resolved findings (in the previous run, not in this one): `finding_id, rule,
    /// severity, jurisdiction`.
    pub resolved: Option<DataFrame>,
    /// (as_of, jurisdiction) -> finding count, for the last runs up to this one.
    pub trend: Vec<(NaiveDate, BTreeMap<String, u64>)>,
}

impl History {
    pub fn delta(&self, jurisdiction: &str) -> Delta {
        self.delta.get(jurisdiction).cloned().unwrap_or_default()
    }
}

fn read_findings(out: &Path, date: NaiveDate) -> Result<DataFrame> {
    let path = out
        .join(date.format("%Y-%m-%d").to_string())
        .join("findings.parquet");
    let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
    ParquetReader::new(file)
        .with_columns(Some(vec![
            "finding_id".into(),
            "rule".into(),
            "severity".into(),
            "jurisdiction".into(),
        ]))
        .finish()
        .map_err(|e| {
            Error::Internal(format!(
                "{}: unreadable earlier findings: {e}",
                path.display()
            ))
        })
}

fn ids(df: &DataFrame) -> Result<Vec<String>> {
    Ok(df
        .column("finding_id")?
        .str()?
        .iter()
        .flatten()
        .map(str::to_string)
        .collect())
}

fn counts(df: &DataFrame) -> Result<BTreeMap<String, u64>> {
    let mut m = BTreeMap::new();
    for j in df.column("jurisdiction")?.str()?.iter().flatten() {
        *m.entry(j.to_string()).or_insert(0) += 1;
    }
    Ok(m)
}

/// Fills `first_seen` in `findings` and compares with earlier runs in `out`.
pub fn apply(out: &Path, as_of: NaiveDate, findings: &mut DataFrame) -> Result<History> {
    let earlier: Vec<NaiveDate> = output::runs(out)?
        .into_iter()
        .filter(|d| *d < as_of)
        .collect();
    let mut first_seen: HashMap<String, NaiveDate> = HashMap::new();
    let mut trend = Vec::new();
    let mut previous_frame = None;
    for (i, date) in earlier.iter().enumerate() {
        let df = read_findings(out, *date)?;
        for id in ids(&df)? {
            first_seen.entry(id).or_insert(*date);
        }
        if i + TREND_RUNS >= earlier.len() {
            trend.push((*date, counts(&df)?));
        }
        if i + 1 == earlier.len() {
            previous_frame = Some(df);
        }
    }
    trend.push((as_of, counts(findings)?));
    if trend.len() > TREND_RUNS {
        trend.drain(..trend.len() - TREND_RUNS);
    }

    let today = as_of.format("%Y-%m-%d").to_string();
    let current = ids(findings)?;
    let seen: Vec<String> = current
        .iter()
        .map(|id| {
            first_seen
                .get(id)
                .map_or(today.clone(), |d| d.format("%Y-%m-%d").to_string())
        })
        .collect();
    findings.replace("first_seen", Column::new("first_seen".into(), seen))?;

    let mut history = History {
        trend,
        ..History::default()
    };
    if let (Some(prev), Some(date)) = (previous_frame, earlier.last()) {
        let manifest = out
            .join(date.format("%Y-%m-%d").to_string())
            .join("manifest.json");
        history.previous = Some((*date, output::sha256_file(&manifest)?));
        let prev_ids: HashSet<String> = ids(&prev)?.into_iter().collect();
        let cur_ids: HashSet<&String> = current.iter().collect();
        let jur = findings.column("jurisdiction")?.str()?.clone();
        for (i, id) in current.iter().enumerate() {
            let d = history
                .delta
                .entry(jur.get(i).unwrap_or_default().to_string())
                .or_default();
            if prev_ids.contains(id) {
                d.persisting += 1;
            } else {
                d.new += 1;
            }
        }
        let gone: Vec<bool> = ids(&prev)?.iter().map(|id| !cur_ids.contains(id)).collect();
        let resolved = prev.filter(&BooleanChunked::new("gone".into(), gone))?;
        for (j, n) in counts(&resolved)? {
            history.delta.entry(j).or_default().resolved += n;
        }
        history.resolved = Some(resolved);
    } else {
        for (j, n) in counts(findings)? {
            history.delta.entry(j).or_default().new += n;
        }
    }
    Ok(history)
}
