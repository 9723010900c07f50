//! The tables other than the audit events, as the last run loaded them
//! (`OUT/state/tables/`), so that `permaudit whatif` answers a request without validating
//! every grant again: a ticket workflow calls it for each access request.
//!
//! The entry is keyed like an event digest, by what determines the loaded rows: each
//! input file of those tables (path and SHA-256 of the bytes read now), each snapshot
//! source's files with its mapping fingerprint, the naive-timestamp zone, the SoD rule ids
//! and rule codes rows are checked against, and the format. A key that differs, a missing,
//! unreadable or foreign entry, or a frame whose columns are not the table's, is a miss:
//! the tables are then loaded from the inputs, as without a state. Like the digests, the
//! entry is trusted once its key matches (docs/decisions.md, "Hostile OUT and state").

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;

use super::loader::{empty_frame, Known, TableLoader};
use super::mapped::{MappedSource, Tallies};
use super::schema::{self, Table, TableSchema};
use super::{read_bytes, Discovery, IngestReport, Tables};
use crate::error::{Error, Result};
use crate::files::{read_file, read_parquet};

/// Bumped whenever what the entry holds, or how its key is made, changes.
const FORMAT: u32 = 1;
/// In `OUT/state/`.
pub const DIR: &str = "tables";
/// The entry's key, written last: an entry without it is incomplete.
pub const KEY_FILE: &str = "key";

/// The tables the entry holds: every one but the audit events.
pub fn saved() -> impl Iterator<Item = &'static TableSchema> {
    schema::ALL
        .iter()
        .copied()
        .filter(|s| s.table != Table::AuditEvents)
}

/// The key of the tables `discovery` would load (its event files play no part). `hashed`
/// holds the SHA-256 of the files a run has just ingested, by their path in the input
/// directory (the bytes the tables came from); any other file is read and hashed here, as
/// `whatif`, which ingests nothing, does for all of them.
pub fn key(
    discovery: &Discovery,
    naive_tz: Option<chrono_tz::Tz>,
    sod_rule_ids: &[String],
    rule_codes: &[String],
    hashed: &HashMap<&str, &str>,
) -> Result<String> {
    let sha256 = |rel: &str, read: &dyn Fn() -> Result<Vec<u8>>| match hashed.get(rel) {
        Some(sha) => Ok(sha.to_string()),
        None => read().map(|bytes| crate::hash::sha256_hex(&bytes)),
    };
    let mut text = format!(
        "permaudit tables {FORMAT} {}\nzone {}\nsod {}\nrules {}\n",
        env!("CARGO_PKG_VERSION"),
        naive_tz.map(|t| t.name()).unwrap_or("-"),
        sod_rule_ids.join(","),
        rule_codes.join(","),
    );
    for s in saved() {
        for f in discovery.files.get(&s.table).into_iter().flatten() {
            let sha256 = sha256(&f.rel, &|| read_bytes(f))?;
            text.push_str(&format!("file {} {} {sha256}\n", s.name, f.rel));
        }
    }
    for src in &discovery.sources {
        if !src.tables.iter().any(|t| *t != Table::AuditEvents) {
            continue;
        }
        for (i, f) in src.files.iter().enumerate() {
            let sha256 = sha256(&f.rel, &|| {
                crate::fs_guard::read_regular(&f.path, crate::fs_guard::Links::Follow)
                    .map_err(|e| Error::io(&f.path, e))
            })?;
            text.push_str(&format!(
                "source {} {} {sha256}\n",
                f.rel,
                src.rows.fingerprint(i).replace('\n', " "),
            ));
        }
    }
    Ok(crate::hash::sha256_hex(text.as_bytes()))
}

/// The stored tables under `key` in `state` (`OUT/state`), `None` on any miss (said in
/// the log when the entry is there but not usable). Reads only; takes no lock: the entry
/// is replaced by a rename, and its key file names the tables beside it.
pub fn read(state: &Path, key: &str, mut tables: Tables) -> Option<Tables> {
    let dir = state.join(DIR);
    let stored = read_file(&dir.join(KEY_FILE)).ok()?;
    if stored != key.as_bytes() {
        tracing::info!("stored tables are of other inputs: loading them");
        return None;
    }
    for s in saved() {
        let path = dir.join(format!("{}.parquet", s.name));
        let frame = read_parquet(&path)
            .map_err(|e| e.to_string())
            .and_then(|df| {
                let expected = empty_frame(s).map_err(|e| e.to_string())?;
                if df.schema() == expected.schema() {
                    Ok(df)
                } else {
                    Err("not the table's columns".to_string())
                }
            });
        match frame {
            Ok(df) => *tables.slot(s.table) = df,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "damaged stored table: ignored, the inputs are loaded");
                return None;
            }
        }
    }
    Some(tables)
}

/// Loads `source`'s rows into `tables` with the row checks of a run: references checked
/// against the tables' systems, accounts and entitlements. A row whose key a table
/// already holds is counted `overridden` and not added, as a source row is beside a
/// contract row with its key.
pub fn add_source(
    tables: &mut Tables,
    source: MappedSource,
    sod_rule_ids: &[String],
    rule_codes: &[String],
) -> Result<IngestReport> {
    let mut known = Known {
        sod_rule_ids: sod_rule_ids.iter().cloned().collect(),
        rule_codes: rule_codes.iter().cloned().collect(),
        systems: strings(&tables.systems, "system_id")?.into_iter().collect(),
        ..Known::default()
    };
    let accounts = &tables.accounts;
    for (system, account) in strings(accounts, "system_id")?
        .into_iter()
        .zip(strings(accounts, "account_id")?)
    {
        known.accounts.entry(system).or_default().insert(account);
    }
    let ents = &tables.entitlements;
    for ((system, id), kind) in strings(ents, "system_id")?
        .into_iter()
        .zip(strings(ents, "entitlement_id")?)
        .zip(strings(ents, "kind")?)
    {
        known
            .entitlements
            .entry(system)
            .or_default()
            .insert(id, kind);
    }
    let sources = vec![source];
    let mut tallies = Tallies::new(&sources);
    let mut report = IngestReport::default();
    let mut overridden = 0;
    for s in saved().filter(|s| sources[0].tables.contains(&s.table)) {
        let mut loader = TableLoader::new(s, &mut known);
        tallies.load(&mut loader, &sources)?;
        let (df, _, _, quarantine) = loader.finish()?;
        report.quarantine.extend(quarantine);
        let held = tables.slot(s.table);
        let keys: Vec<PlSmallStr> = s.key.iter().map(|k| PlSmallStr::from(*k)).collect();
        let fresh = df
            .clone()
            .lazy()
            .join(
                held.clone()
                    .lazy()
                    .select(s.key.iter().map(|k| col(*k)).collect::<Vec<_>>()),
                keys.iter().map(|k| col(k.clone())).collect::<Vec<_>>(),
                keys.iter().map(|k| col(k.clone())).collect::<Vec<_>>(),
                JoinArgs::new(JoinType::Anti),
            )
            .collect()?;
        overridden += (df.height() - fresh.height()) as u64;
        *held = held.vstack(&fresh)?;
    }
    report.sources = tallies.accounts(&sources);
    if let Some(a) = report.sources.first_mut() {
        a.total.overridden += overridden;
    }
    Ok(report)
}

/// A string column's values, nulls as empty.
fn strings(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    Ok(df
        .column(name)?
        .str()?
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

/// Whether the entry in `state` already holds the tables under `key`, each file's footer
/// naming the table's columns: a nightly run with unchanged tables then leaves it as it is
/// instead of writing every grant again. Damage inside a file's pages is left for `whatif`
/// to find (it then loads the inputs, and the next change of inputs rewrites the entry).
pub fn is_current(state: &Path, key: &str) -> bool {
    let dir = state.join(DIR);
    if read_file(&dir.join(KEY_FILE)).ok().as_deref() != Some(key.as_bytes()) {
        return false;
    }
    saved().all(|s| {
        let file = crate::files::open_read(&dir.join(format!("{}.parquet", s.name)));
        match (file, empty_frame(s)) {
            (Ok(f), Ok(expected)) => {
                crate::files::footer_matches(&mut ParquetReader::new(f), expected.schema())
            }
            _ => false,
        }
    })
}

/// An entry a run writes: the frames, then the key (see [`read`]).
pub fn write(dir: &Path, key: &str, tables: &Tables) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for s in saved() {
        let path = dir.join(format!("{}.parquet", s.name));
        let mut df = tables.table(s.table).clone();
        ParquetWriter::new(crate::files::create_file(&path)?)
            .with_compression(ParquetCompression::Lz4Raw)
            .finish(&mut df)
            .map_err(|e| Error::parquet_write(&path, e))?;
    }
    crate::files::write_file(&dir.join(KEY_FILE), key.as_bytes())
}
