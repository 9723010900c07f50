//! The output directory's incremental state (`OUT/state/`): the digest of every audit-event
//! partition, keyed by what determines it, and the SHA-256 of every input file, cached by
//! (path, size, modification time). It is a cache: a missing, partial or unreadable entry
//! is computed again, never trusted, so deleting `OUT/state/` only costs one slow run.
//!
//! A digest's key hashes the partition's path and SHA-256, the set of system ids (the one
//! reference an event row is checked against), the naive-timestamp zone and the digest
//! format: a changed or deleted partition, or a change in any of those, never meets a
//! stale digest. Entries no run used are removed when a run succeeds.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::events::{Digest, Partition, PartitionMeta, SeqRecords};
use super::RowsWanted;
use crate::error::{Error, Result};

/// Bumped whenever the digest's content or meaning changes.
const DIGEST_FORMAT: u32 = 2;
pub const STATE_DIR: &str = "state";
const EVENTS_DIR: &str = "events";
const HASHES_FILE: &str = "file_hashes.json";
const ROLLUP_DIR: &str = "usage_rollup";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CachedHash {
    bytes: u64,
    /// Modification time, nanoseconds since the epoch (as text: JSON numbers are f64).
    mtime_ns: String,
    sha256: String,
}

/// Which partitions the usage rollup folds together: the latest successful use per
/// (system, account, action) over all of them, so that a nightly run reads one frame
/// instead of every partition's usage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RollupMeta {
    /// Digest keys of the partitions folded in.
    pub keys: BTreeSet<String>,
    /// The last UTC day of any of them (their usage counts as that day's).
    pub last_day: i64,
}

pub struct Store {
    out: PathBuf,
    rollup: Option<RollupMeta>,
    /// Whether OUT and OUT/state existed before this run (a failed run leaves no trace).
    existed: (bool, bool),
    root: PathBuf,
    /// False for `--full`: nothing stored is read, everything is computed and stored anew.
    reuse: bool,
    cached: BTreeMap<String, CachedHash>,
    seen: Mutex<BTreeMap<String, CachedHash>>,
    used: Mutex<BTreeSet<String>>,
}

fn file_stamp(path: &Path) -> Option<(u64, String)> {
    let m = fs::metadata(path).ok()?;
    let mtime = m.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((m.len(), mtime.as_nanos().to_string()))
}

impl Store {
    /// The state of `out`; with `reuse` false (a `--full` run) it is only written.
    pub fn open(out: &Path, reuse: bool) -> Store {
        let root = out.join(STATE_DIR);
        let existed = (out.is_dir(), root.is_dir());
        let cached = if reuse {
            fs::read(root.join(HASHES_FILE))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        let rollup = if reuse {
            fs::read(root.join(ROLLUP_DIR).join("meta.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
        } else {
            None
        };
        Store {
            out: out.to_path_buf(),
            rollup,
            existed,
            root,
            reuse,
            cached,
            seen: Mutex::new(BTreeMap::new()),
            used: Mutex::new(BTreeSet::new()),
        }
    }

    /// The file's SHA-256 from the cache, when its size and modification time are unchanged.
    pub fn cached_sha256(&self, rel: &str, path: &Path) -> Option<String> {
        let (bytes, mtime_ns) = file_stamp(path)?;
        let c = self.cached.get(rel)?;
        (c.bytes == bytes && c.mtime_ns == mtime_ns).then(|| {
            self.remember_hash(rel, c.clone());
            c.sha256.clone()
        })
    }

    /// Records a file's freshly computed hash for the next run.
    pub fn record_sha256(&self, rel: &str, path: &Path, sha256: &str) {
        if let Some((bytes, mtime_ns)) = file_stamp(path) {
            self.remember_hash(
                rel,
                CachedHash {
                    bytes,
                    mtime_ns,
                    sha256: sha256.to_string(),
                },
            );
        }
    }

    fn remember_hash(&self, rel: &str, c: CachedHash) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(rel.to_string(), c);
        }
    }

    pub fn key(rel: &str, sha256: &str, systems: &str, naive_tz: Option<chrono_tz::Tz>) -> String {
        let text = format!(
            "permaudit digest {DIGEST_FORMAT}\n{rel}\n{sha256}\n{systems}\n{}",
            naive_tz.map(|t| t.name()).unwrap_or("-")
        );
        crate::hash::sha256_hex(text.as_bytes())
    }

    fn dir(&self, key: &str) -> PathBuf {
        self.root.join(EVENTS_DIR).join(key)
    }

    /// The stored usage rollup's description, if there is one.
    pub fn rollup(&self) -> Option<&RollupMeta> {
        self.rollup.as_ref()
    }

    /// The stored usage rollup (`system_id, account_id, action, last_ts`).
    pub fn rollup_usage(&self) -> Result<DataFrame> {
        read_parquet(&self.root.join(ROLLUP_DIR).join("usage.parquet"))
    }

    /// A stored partition's usage digest, read on its own (memory did not keep it: the
    /// rollup covered it, or it was just stored); a pending entry comes first.
    pub fn usage_of(&self, key: &str) -> Result<DataFrame> {
        let pending = self.pending().join(key).join("usage.parquet");
        if pending.is_file() {
            return read_parquet(&pending);
        }
        read_parquet(&self.dir(key).join("usage.parquet"))
    }

    /// Stores the new rollup, moved into place by [`Self::commit`].
    pub fn save_rollup(&self, meta: &RollupMeta, usage: &DataFrame) -> Result<()> {
        let dir = self.pending().join(ROLLUP_DIR);
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let path = dir.join("usage.parquet");
        let f = fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        writer(f).finish(&mut usage.clone())?;
        let json = serde_json::to_vec(meta).map_err(|e| Error::Internal(e.to_string()))?;
        let m = dir.join("meta.json");
        fs::write(&m, json).map_err(|e| Error::io(&m, e))?;
        Ok(())
    }

    /// New entries wait here until the run succeeds ([`Self::commit`]).
    fn pending(&self) -> PathBuf {
        self.root.join(format!(".pending-{}", std::process::id()))
    }

    /// The stored partition under `key`, with its rows (only `columns`, when given) when
    /// `want_rows(days)` says so;
    /// None when absent or unreadable (it is then computed again).
    pub fn load(
        &self,
        key: &str,
        want_rows: impl Fn(Option<(i64, i64)>) -> bool,
        rows_wanted: &RowsWanted,
        skip_usage: bool,
    ) -> Option<Partition> {
        if !self.reuse {
            return None;
        }
        let dir = self.dir(key);
        let meta: PartitionMeta =
            serde_json::from_slice(&fs::read(dir.join("meta.json")).ok()?).ok()?;
        let read = |name: &str| -> Option<DataFrame> {
            let f = fs::File::open(dir.join(format!("{name}.parquet"))).ok()?;
            ParquetReader::new(f).finish().ok()
        };
        let mut parts = Digest::PARTS.iter().map(|p| {
            if *p == "usage" && skip_usage {
                Some(DataFrame::empty())
            } else {
                read(p)
            }
        });
        let digest = Digest {
            seq_ranges: parts.next()??,
            seq_edges: parts.next()??,
            gap_local: parts.next()??,
            hash_local: parts.next()??,
            feed: parts.next()??,
            usage: parts.next()??,
        };
        let seq_file = dir.join("seq.parquet");
        if !seq_file.is_file() {
            return None;
        }
        let rows = if want_rows(meta.days) {
            // Scanned lazily, so that the predicate is applied inside the reader and only
            // the kept rows are materialised.
            let path = PlRefPath::try_from_path(&dir.join("rows.parquet")).ok()?;
            let scan = LazyFrame::scan_parquet(path, ScanArgsParquet::default()).ok()?;
            Some(rows_wanted.apply_lazy(scan).collect().ok()?)
        } else {
            None
        };
        self.mark_used(key);
        tracing::debug!(file = %meta.file.path, "partition digest reused");
        Some(Partition {
            meta,
            digest,
            seq: SeqRecords::File(seq_file),
            rows,
            key: key.to_string(),
            usage_skipped: skip_usage,
            reused: true,
        })
    }

    fn mark_used(&self, key: &str) {
        if let Ok(mut used) = self.used.lock() {
            used.insert(key.to_string());
        }
    }

    /// Stores a partition (with the window rules' columns of its rows, when given, for
    /// later windows) under `key`: written aside
    /// now, so that memory holds only the partitions the run needs, and moved into place
    /// by [`Self::commit`] when the run succeeds (a failed run changes nothing in OUT).
    pub fn save(
        &self,
        key: &str,
        p: &Partition,
        rows: Option<&DataFrame>,
        seq: &DataFrame,
    ) -> Result<SeqRecords> {
        let tmp = self.pending().join(key);
        fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let write = |name: &str, df: &DataFrame| -> Result<PathBuf> {
            let path = tmp.join(format!("{name}.parquet"));
            let f = fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            writer(f).finish(&mut df.clone())?;
            Ok(path)
        };
        if let Some(rows) = rows {
            write("rows", rows)?;
        }
        let seq_file = write("seq", seq)?;
        for (name, df) in Digest::PARTS.iter().zip(p.digest.parts()) {
            write(name, df)?;
        }
        let meta = tmp.join("meta.json");
        let json = serde_json::to_vec(&p.meta).map_err(|e| Error::Internal(e.to_string()))?;
        fs::write(&meta, json).map_err(|e| Error::io(&meta, e))?;
        self.mark_used(key);
        // Read back from the pending entry if a raw evaluation needs it (until commit).
        Ok(SeqRecords::File(seq_file))
    }

    /// After a successful run: saves the hash cache and removes the digests no input has
    /// any more (changed or deleted partitions) and leftovers of interrupted writes.
    pub fn commit(&self) -> Result<()> {
        fs::create_dir_all(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let seen = self
            .seen
            .lock()
            .map_err(|_| Error::Internal("hash cache lock poisoned".into()))?;
        let json = serde_json::to_vec_pretty(&*seen).map_err(|e| Error::Internal(e.to_string()))?;
        crate::output::write_atomic(&self.root.join(HASHES_FILE), &json)?;
        let used = self
            .used
            .lock()
            .map_err(|_| Error::Internal("digest set lock poisoned".into()))?;
        let events = self.root.join(EVENTS_DIR);
        fs::create_dir_all(&events).map_err(|e| Error::io(&events, e))?;
        let rollup = self.pending().join(ROLLUP_DIR);
        if rollup.is_dir() {
            let to = self.root.join(ROLLUP_DIR);
            if to.exists() {
                fs::remove_dir_all(&to).map_err(|e| Error::io(&to, e))?;
            }
            fs::rename(&rollup, &to).map_err(|e| Error::io(&to, e))?;
        }
        if let Ok(entries) = fs::read_dir(self.pending()) {
            for e in entries.flatten() {
                let to = events.join(e.file_name());
                if to.exists() {
                    fs::remove_dir_all(&to).map_err(|e| Error::io(&to, e))?;
                }
                fs::rename(e.path(), &to).map_err(|e| Error::io(&to, e))?;
            }
        }
        for e in fs::read_dir(&events)
            .map_err(|e| Error::io(&events, e))?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if !used.contains(&name) {
                let p = e.path();
                fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        // Pending entries of runs that died (their process is gone) are garbage.
        for e in fs::read_dir(&self.root)
            .map_err(|e| Error::io(&self.root, e))?
            .flatten()
        {
            if e.file_name().to_string_lossy().starts_with(".pending-") {
                let p = e.path();
                fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        Ok(())
    }
}

/// The state is a cache read back by the next run: fast compression beats small files.
fn writer(f: fs::File) -> ParquetWriter<fs::File> {
    ParquetWriter::new(f).with_compression(ParquetCompression::Lz4Raw)
}

fn read_parquet(path: &Path) -> Result<DataFrame> {
    let f = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(ParquetReader::new(f).finish()?)
}

impl Drop for Store {
    /// A run that did not commit leaves OUT as it found it.
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(self.pending());
        if !self.existed.1 {
            let _ = fs::remove_dir(&self.root);
        }
        if !self.existed.0 {
            let _ = fs::remove_dir(&self.out);
        }
    }
}
