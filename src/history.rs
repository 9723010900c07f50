//! Findings across runs in OUT: `first_seen`, new / persisting / resolved against the latest
//! earlier as_of, and a count trend over the last 30 runs. Kept in a Parquet store in
//! `OUT/history/`; never rewrites the outputs of earlier (or later) runs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use polars::prelude::*;

use crate::codes::texts;
use crate::error::{Error, Result};
use crate::files;
use crate::output;
use crate::resolve::EarlierFreezeList;
use crate::time::day_text;

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
    /// Earlier runs whose freeze list is missing, unreadable or not the one their manifest
    /// names: the reports say so, since they count as listing no account.
    pub unreadable_freeze_lists: Vec<NaiveDate>,
}

impl History {
    pub fn delta(&self, jurisdiction: &str) -> Delta {
        self.delta.get(jurisdiction).cloned().unwrap_or_default()
    }
}

/// One row per run in OUT: `as_of, manifest_sha256, findings`.
pub const RUNS_FILE: &str = "runs.parquet";
/// One row per finding per run: `as_of, manifest_sha256, finding_id, rule, severity,
/// jurisdiction`.
pub const FINDINGS_FILE: &str = "findings.parquet";

/// A finding as history needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    id: String,
    rule: String,
    severity: String,
    jurisdiction: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RunRecord {
    manifest_sha256: String,
    findings: Vec<Seen>,
}

/// The history store: what every run in OUT reported, keyed by as_of.
///
/// The dated run directories are the source of truth and the store is their index: an
/// entry is trusted only while its `manifest_sha256` matches the run's manifest, and
/// [`sync`] re-reads any run that the store lacks or has outdated (a run committed by a
/// process killed before it updated the store, a rerun, a store lost or unreadable). The
/// store files are replaced atomically, so a crash leaves the old or the new store, and
/// either is repaired by the next `sync`.
#[derive(Debug, Default)]
pub struct Store {
    runs: BTreeMap<NaiveDate, RunRecord>,
}

impl Store {
    pub fn dates(&self) -> Vec<NaiveDate> {
        self.runs.keys().copied().collect()
    }
}

fn seen_of(df: &DataFrame) -> Result<Vec<Seen>> {
    let ids = texts(df, "finding_id")?;
    let rules = texts(df, "rule")?;
    let sevs = texts(df, "severity")?;
    let jurs = texts(df, "jurisdiction")?;
    Ok(ids
        .into_iter()
        .zip(rules)
        .zip(sevs)
        .zip(jurs)
        .map(|(((id, rule), severity), jurisdiction)| Seen {
            id,
            rule,
            severity,
            jurisdiction,
        })
        .collect())
}

/// The findings a delivered run reported, from its own `findings.parquet`.
fn read_run(out: &Path, date: NaiveDate) -> Result<Vec<Seen>> {
    let path = out.join(day_text(date)).join("findings.parquet");
    // Only what history keeps: the evidence is most of the file.
    let columns = ["finding_id", "rule", "severity", "jurisdiction"];
    let df = files::read_parquet_columns(&path, Some(&columns)).map_err(|e| {
        Error::Internal(format!(
            "{}: unreadable earlier findings: {e}; run `permaudit verify`",
            path.display()
        ))
    })?;
    let mut seen = seen_of(&df)?;
    // Sorted by id, the order of the store's rows, so that a record read from a run and
    // one read from the store compare equal (`sync` rewrites the store only on change).
    seen.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(seen)
}

/// The store as written, with entries whose finding rows are incomplete left out (they
/// are re-read from the run). `None` when absent or unreadable.
fn read_store(out: &Path) -> Option<BTreeMap<NaiveDate, RunRecord>> {
    let dir = out.join(output::HISTORY_DIR);
    let runs_path = dir.join(RUNS_FILE);
    if !runs_path.exists() {
        return None;
    }
    let parsed = (|| -> Result<BTreeMap<NaiveDate, RunRecord>> {
        let runs = files::read_parquet(&runs_path)?;
        let rows = files::read_parquet(&dir.join(FINDINGS_FILE))?;
        let mut grouped: HashMap<(String, String), Vec<Seen>> = HashMap::new();
        let keys = texts(&rows, "as_of")?
            .into_iter()
            .zip(texts(&rows, "manifest_sha256")?);
        for (key, seen) in keys.zip(seen_of(&rows)?) {
            grouped.entry(key).or_default().push(seen);
        }
        let counts = runs.column("findings")?.cast(&DataType::UInt64)?;
        let counts = counts.u64()?;
        let mut map = BTreeMap::new();
        for (i, (d, sha)) in texts(&runs, "as_of")?
            .into_iter()
            .zip(texts(&runs, "manifest_sha256")?)
            .enumerate()
        {
            let Some(date) = NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok() else {
                continue;
            };
            let mut findings = grouped.remove(&(d, sha.clone())).unwrap_or_default();
            findings.sort_by(|a, b| a.id.cmp(&b.id));
            // The two files are replaced one after the other: a count that does not match
            // means a crash in between, and the run is re-read instead.
            if counts.get(i) == Some(findings.len() as u64) {
                map.insert(
                    date,
                    RunRecord {
                        manifest_sha256: sha,
                        findings,
                    },
                );
            }
        }
        Ok(map)
    })();
    match parsed {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, "history store unreadable; rebuilding it from the runs in OUT");
            None
        }
    }
}

fn parquet_bytes(mut df: DataFrame) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut df)?;
    Ok(bytes)
}

fn write_store(out: &Path, runs: &BTreeMap<NaiveDate, RunRecord>) -> Result<()> {
    let dir = out.join(output::HISTORY_DIR);
    let mut f: [Vec<String>; 6] = Default::default();
    for (date, r) in runs {
        for s in &r.findings {
            f[0].push(day_text(*date));
            f[1].push(r.manifest_sha256.clone());
            f[2].push(s.id.clone());
            f[3].push(s.rule.clone());
            f[4].push(s.severity.clone());
            f[5].push(s.jurisdiction.clone());
        }
    }
    let [as_of, sha, id, rule, severity, jurisdiction] = f;
    let findings = df!(
        "as_of" => as_of,
        "manifest_sha256" => sha,
        "finding_id" => id,
        "rule" => rule,
        "severity" => severity,
        "jurisdiction" => jurisdiction,
    )?;
    let run_rows = df!(
        "as_of" => runs.keys().map(|d| day_text(*d)).collect::<Vec<_>>(),
        "manifest_sha256" => runs.values().map(|r| r.manifest_sha256.clone()).collect::<Vec<_>>(),
        "findings" => runs.values().map(|r| r.findings.len() as u64).collect::<Vec<_>>(),
    )?;
    // Findings first: runs.parquet is what validates them (see `read_store`).
    files::write_atomic(&dir.join(FINDINGS_FILE), &parquet_bytes(findings)?)?;
    files::write_atomic(&dir.join(RUNS_FILE), &parquet_bytes(run_rows)?)
}

/// Brings the store in line with the runs in OUT and returns it. Called under the run
/// lock: before a run computes its history and after it commits.
pub fn sync(out: &Path) -> Result<Store> {
    let started = Instant::now();
    let stored = read_store(out);
    let mut runs = BTreeMap::new();
    let mut reread = 0usize;
    for date in output::runs(out)? {
        let manifest = out.join(day_text(date)).join(crate::manifest::FILE);
        let sha = files::sha256_file(&manifest)?;
        let known = stored
            .as_ref()
            .and_then(|s| s.get(&date))
            .filter(|r| r.manifest_sha256 == sha);
        let record = match known {
            Some(r) => r.clone(),
            None => {
                reread += 1;
                RunRecord {
                    manifest_sha256: sha,
                    findings: read_run(out, date)?,
                }
            }
        };
        runs.insert(date, record);
    }
    if stored.as_ref() != Some(&runs) {
        write_store(out, &runs)?;
    }
    let memory = crate::memory::resident();
    tracing::info!(
        runs = runs.len(),
        runs_reread = reread,
        rows = runs.values().map(|r| r.findings.len()).sum::<usize>(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        rss_mib = memory.rss_mib,
        peak_mib = memory.peak_mib,
        "history store in sync"
    );
    Ok(Store { runs })
}

fn counts_of(seen: &[Seen]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for s in seen {
        *m.entry(s.jurisdiction.clone()).or_insert(0) += 1;
    }
    m
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

/// Fills `first_seen` in `findings` and compares with the earlier runs in `out` (only
/// runs with an earlier as_of count: a rerun of a date replaces it, a later date is not
/// history of an earlier one).
pub fn apply(out: &Path, as_of: NaiveDate, findings: &mut DataFrame) -> Result<History> {
    let started = Instant::now();
    let store = sync(out)?;
    let earlier: Vec<(&NaiveDate, &RunRecord)> = store.runs.range(..as_of).collect();
    let mut first_seen: HashMap<&str, NaiveDate> = HashMap::new();
    for (date, r) in &earlier {
        for s in &r.findings {
            first_seen.entry(s.id.as_str()).or_insert(**date);
        }
    }
    let skip = earlier.len().saturating_sub(TREND_RUNS - 1);
    let mut trend: Vec<(NaiveDate, BTreeMap<String, u64>)> = earlier[skip..]
        .iter()
        .map(|(d, r)| (**d, counts_of(&r.findings)))
        .collect();
    trend.push((as_of, counts(findings)?));

    let today = day_text(as_of);
    let current = ids(findings)?;
    let seen: Vec<String> = current
        .iter()
        .map(|id| {
            first_seen
                .get(id.as_str())
                .map_or(today.clone(), |d| day_text(*d))
        })
        .collect();
    findings.replace("first_seen", Column::new("first_seen".into(), seen))?;

    let mut history = History {
        trend,
        ..History::default()
    };
    if let Some((date, prev)) = earlier.last() {
        history.previous = Some((**date, prev.manifest_sha256.clone()));
        let prev_ids: HashSet<&str> = prev.findings.iter().map(|s| s.id.as_str()).collect();
        let cur_ids: HashSet<&str> = current.iter().map(String::as_str).collect();
        let jur = findings.column("jurisdiction")?.str()?.clone();
        for (i, id) in current.iter().enumerate() {
            let d = history
                .delta
                .entry(jur.get(i).unwrap_or_default().to_string())
                .or_default();
            if prev_ids.contains(id.as_str()) {
                d.persisting += 1;
            } else {
                d.new += 1;
            }
        }
        let gone: Vec<&Seen> = prev
            .findings
            .iter()
            .filter(|s| !cur_ids.contains(s.id.as_str()))
            .collect();
        for s in &gone {
            history
                .delta
                .entry(s.jurisdiction.clone())
                .or_default()
                .resolved += 1;
        }
        history.resolved = Some(df!(
            "finding_id" => gone.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            "rule" => gone.iter().map(|s| s.rule.as_str()).collect::<Vec<_>>(),
            "severity" => gone.iter().map(|s| s.severity.as_str()).collect::<Vec<_>>(),
            "jurisdiction" => gone.iter().map(|s| s.jurisdiction.as_str()).collect::<Vec<_>>(),
        )?);
    } else {
        for (j, n) in counts(findings)? {
            history.delta.entry(j).or_default().new += n;
        }
    }
    let carried = first_seen_count(&current, &first_seen);
    tracing::info!(
        earlier_runs = earlier.len(),
        findings_in = current.len(),
        seen_before = carried,
        new_since_previous = history.delta.values().map(|d| d.new).sum::<u64>(),
        resolved_since_previous = history.delta.values().map(|d| d.resolved).sum::<u64>(),
        previous = ?history.previous.as_ref().map(|(d, _)| day_text(*d)),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "history done"
    );
    Ok(history)
}

fn first_seen_count(current: &[String], first_seen: &HashMap<&str, NaiveDate>) -> usize {
    current
        .iter()
        .filter(|id| first_seen.contains_key(id.as_str()))
        .count()
}

/// The freeze lists of the runs in `out` with an as_of before `as_of`, oldest first, for
/// the rule that checks frozen accounts were frozen. A list that is missing, does not parse
/// or differs from the hash its run's manifest records is named in the log and given as
/// unknown: the rule does not guess whom it listed.
pub fn earlier_freeze_lists(out: &Path, as_of: NaiveDate) -> Result<Vec<EarlierFreezeList>> {
    let mut lists = Vec::new();
    for d in output::runs(out)?.into_iter().filter(|d| *d < as_of) {
        let dir = out.join(day_text(d));
        let accounts = match read_freeze_list(&dir) {
            Ok(a) => Some(a),
            Err(why) => {
                tracing::warn!(run = %day_text(d), file = %dir.join(FREEZE_LIST).display(), %why, "freeze list of an earlier run unreadable: no account counts as listed by that run");
                None
            }
        };
        lists.push(EarlierFreezeList { as_of: d, accounts });
    }
    Ok(lists)
}

const FREEZE_LIST: &str = "freeze_list.csv";

type Listed = BTreeMap<(String, String), String>;

fn read_freeze_list(dir: &Path) -> std::result::Result<Listed, String> {
    let manifest: crate::manifest::Manifest = serde_json::from_slice(
        &files::read_file(&dir.join(crate::manifest::FILE)).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("manifest: {e}"))?;
    let bytes = files::read_file(&dir.join(FREEZE_LIST)).map_err(|e| e.to_string())?;
    let recorded = manifest.outputs.iter().find(|f| f.path == FREEZE_LIST);
    if recorded.map(|f| f.sha256.as_str()) != Some(crate::hash::sha256_hex(&bytes).as_str()) {
        return Err("its SHA-256 is not the one its manifest records".into());
    }
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let index = |name: &str| headers.iter().position(|h| h == name);
    let (Some(s), Some(a), Some(ids)) = (
        index("system_id"),
        index("account_id"),
        index("finding_ids"),
    ) else {
        return Err("header lacks system_id, account_id or finding_ids".into());
    };
    let mut listed = Listed::new();
    for record in reader.records() {
        let r = record.map_err(|e| e.to_string())?;
        let cell = |i: usize| r.get(i).unwrap_or_default().to_string();
        listed.insert((cell(s), cell(a)), cell(ids));
    }
    Ok(listed)
}
