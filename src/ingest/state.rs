//! The output directory's incremental state (`OUT/state/`): the digest of every audit-event
//! partition, keyed by what determines it, and the SHA-256 of every input file, cached by
//! path and a [`Stamp`] (device, inode, ctime, size, mtime). It is a cache: a missing,
//! partial, unreadable or foreign entry is computed again (and said in the log), never
//! trusted or followed, so deleting `OUT/state/` only costs one slow run.
//!
//! A digest's key hashes the partition's path and SHA-256, the set of system ids (the one
//! reference an event row is checked against), the naive-timestamp zone, the digest
//! format and the version of the log-chain checks the digest ran
//! ([`super::events::ChainChecks`]): a changed or deleted partition, or a change in any of
//! those, never meets a stale digest. Entries no run used are removed when a run succeeds.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::events::{Digest, Partition, PartitionMeta, SeqRecords};
use super::keys::{ACCOUNT_KEY, ACTION_KEY};
use super::RowsWanted;
use crate::error::{Error, Result};
use crate::files::{
    create_file, footer_matches, found_at, open_read, read_file, read_parquet, remove_entry,
    replace_foreign_dir, write_file, Found,
};

/// Bumped whenever what ingest itself puts in a digest changes (the log-chain checks' own
/// findings are keyed by their version instead).
const DIGEST_FORMAT: u32 = 5;
const EVENTS_DIR: &str = "events";
const HASHES_FILE: &str = "file_hashes.json";
const ROLLUP_DIR: &str = "usage_rollup";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CachedHash {
    /// [`Stamp`] of the file when it was read.
    stamp: String,
    sha256: String,
}

/// What tells one version of a file's bytes from another without reading them: device,
/// inode, ctime, size and mtime, times with nanoseconds. Size and mtime alone are what
/// `cp -p`, `rsync -t`, `tar x` or `touch -r` restore after rewriting the bytes; the
/// ctime is set by the kernel on every write and rename and cannot be set from user
/// space (short of changing the clock), and a replaced file has another inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp(String);

impl Stamp {
    /// Taken before the file is read, so that a write racing the read changes the ctime
    /// after this stamp: the next run sees a different stamp and reads the file again.
    pub fn of(path: &Path) -> Option<Stamp> {
        let m = fs::metadata(path).ok()?;
        Some(Stamp(format!(
            "dev={} ino={} ctime={}.{:09} size={} mtime={}.{:09}",
            m.dev(),
            m.ino(),
            m.ctime(),
            m.ctime_nsec(),
            m.size(),
            m.mtime(),
            m.mtime_nsec()
        )))
    }
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

/// Why a stored digest was not used.
enum Miss {
    /// The run needs rows the entry does not keep: normal, the input is read again.
    RowsNotStored,
    /// Unreadable or incomplete: recomputed, and said in the log.
    Damaged,
}

/// A digest entry's name in `events/`: a key is 64 lowercase hex digits.
fn is_key(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A state file as JSON, `None` when absent; when it is there but unreadable the state is
/// rebuilt without it, and the log says so.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let bytes = match read_file(path) {
        Ok(b) => b,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return None
        }
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "unreadable state file: ignored, rebuilt");
            return None;
        }
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| {
            tracing::warn!(file = %path.display(), error = %e, "damaged state file: ignored, rebuilt");
        })
        .ok()
}

impl Store {
    /// The state of `out`; with `reuse` false (a `--full` run) it is only written. Links
    /// or files where the state's directories belong are removed first (never followed):
    /// the state is then rebuilt as real directories inside OUT.
    pub fn open(out: &Path, reuse: bool) -> Result<Store> {
        let root = out.join(crate::output::STATE_DIR);
        replace_foreign_dir(&root)?;
        if root.is_dir() {
            replace_foreign_dir(&root.join(EVENTS_DIR))?;
            replace_foreign_dir(&root.join(ROLLUP_DIR))?;
            replace_foreign_dir(&root.join(super::snapshot::DIR))?;
        }
        let existed = (out.is_dir(), root.is_dir());
        let cached = if reuse {
            read_json(&root.join(HASHES_FILE)).unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        let rollup = if reuse {
            read_json(&root.join(ROLLUP_DIR).join("meta.json"))
        } else {
            None
        };
        let store = Store {
            out: out.to_path_buf(),
            rollup,
            existed,
            root,
            reuse,
            cached,
            seen: Mutex::new(BTreeMap::new()),
            used: Mutex::new(BTreeSet::new()),
        };
        // Our pid's pending entries can only be a dead run's (we hold the lock).
        let pending = store.pending();
        remove_entry(&pending).map_err(|e| Error::io(&pending, e))?;
        Ok(store)
    }

    /// The file's SHA-256 from the cache, when its stamp is unchanged.
    pub fn cached_sha256(&self, rel: &str, stamp: &Stamp) -> Option<String> {
        let sha256 = self.peek_sha256(rel, stamp)?.to_string();
        self.remember_hash(
            rel,
            CachedHash {
                stamp: stamp.0.clone(),
                sha256: sha256.clone(),
            },
        );
        Some(sha256)
    }

    /// Records the hash of the bytes read after `stamp` was taken, for the next run.
    pub fn record_sha256(&self, rel: &str, stamp: Stamp, sha256: &str) {
        self.remember_hash(
            rel,
            CachedHash {
                stamp: stamp.0,
                sha256: sha256.to_string(),
            },
        );
    }

    fn remember_hash(&self, rel: &str, c: CachedHash) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(rel.to_string(), c);
        }
    }

    pub fn key(
        rel: &str,
        sha256: &str,
        systems: &str,
        naive_tz: Option<chrono_tz::Tz>,
        checks_version: &str,
    ) -> String {
        let text = format!(
            "permaudit digest {DIGEST_FORMAT}\n{rel}\n{sha256}\n{systems}\n{}\n{checks_version}",
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

    /// The stored usage rollup (`system_id, account_id, action, last_ts`, the schema of
    /// `template`); `None`, said in the log, when it is unreadable or not that schema (it
    /// is then rebuilt from the partitions' digests).
    pub fn rollup_usage(&self, template: &DataFrame) -> Option<DataFrame> {
        let path = self.root.join(ROLLUP_DIR).join("usage.parquet");
        match read_parquet(&path) {
            Ok(df) if df.schema() == template.schema() => Some(df),
            Ok(_) => {
                tracing::warn!(file = %path.display(), "damaged usage rollup (unexpected columns): ignored, rebuilt");
                None
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "damaged usage rollup: ignored, rebuilt");
                None
            }
        }
    }

    /// A stored partition's usage digest, read on its own (memory did not keep it: the
    /// rollup covered it, or it was just stored); a pending entry comes first. None, with a
    /// warning naming the file, when it does not read as a usage digest (`template`'s
    /// columns): the caller computes it again from the input, and the entry is dropped from
    /// the state when the run commits, so that the next run stores a sound one.
    pub fn usage_of(&self, key: &str, template: &DataFrame) -> Option<DataFrame> {
        let pending = self.pending().join(key).join("usage.parquet");
        let path = if pending.is_file() {
            pending
        } else {
            self.dir(key).join("usage.parquet")
        };
        let problem = match read_parquet(&path) {
            Ok(df) if df.schema() == template.schema() => return Some(df),
            Ok(_) => "unexpected columns".to_string(),
            Err(e) => e.to_string(),
        };
        tracing::warn!(file = %path.display(), error = %problem, "damaged usage digest: computed again from its input, dropped from the state");
        if let Ok(mut used) = self.used.lock() {
            used.remove(key);
        }
        None
    }

    /// Stores the new rollup, moved into place by [`Self::commit`].
    pub fn save_rollup(&self, meta: &RollupMeta, usage: &DataFrame) -> Result<()> {
        let dir = self.pending().join(ROLLUP_DIR);
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let path = dir.join("usage.parquet");
        writer(create_file(&path)?)
            .finish(&mut usage.clone())
            .map_err(|e| Error::frame_write(&path, e))?;
        let json = serde_json::to_vec(meta).map_err(|e| Error::Internal(e.to_string()))?;
        write_file(&dir.join("meta.json"), &json)
    }

    /// The stored tables ([`super::snapshot`]) a run may read back: none for `--full`.
    pub fn stored_tables(&self) -> Option<super::snapshot::Stored> {
        self.reuse
            .then(|| super::snapshot::Stored::open(&self.root))
            .flatten()
    }

    /// Stores the loaded tables but the events ([`super::snapshot`]) with their `reports`
    /// (made only when written), moved into place by [`Self::commit`]; an entry that
    /// already holds them is kept unless `rewrite` (a run found part of it damaged).
    pub fn save_tables(
        &self,
        keys: &str,
        tables: &super::Tables,
        rewrite: bool,
        reports: impl FnOnce() -> super::snapshot::Reports,
    ) -> Result<()> {
        if !rewrite && super::snapshot::is_current(&self.root, keys) {
            return Ok(());
        }
        let dir = self.pending().join(super::snapshot::DIR);
        super::snapshot::write(&dir, keys, tables, &reports())
    }

    /// New entries wait here until the run succeeds ([`Self::commit`]).
    fn pending(&self) -> PathBuf {
        self.root.join(format!(".pending-{}", std::process::id()))
    }

    /// Whether a digest directory is stored under `key` (whether it is sound is only known
    /// when it is loaded): a scheduling hint, never a reason to skip a check.
    pub fn holds(&self, key: &str) -> bool {
        self.reuse && matches!(found_at(&self.dir(key)), Ok(Found::Dir))
    }

    /// The file's SHA-256 from the cache when its stamp is unchanged, without recording it
    /// for the next run (a look ahead; [`Self::cached_sha256`] records).
    pub fn peek_sha256(&self, rel: &str, stamp: &Stamp) -> Option<&str> {
        let c = self.cached.get(rel)?;
        (c.stamp == stamp.0).then_some(c.sha256.as_str())
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
        template: &Digest,
    ) -> Option<Partition> {
        if !self.reuse {
            return None;
        }
        let dir = self.dir(key);
        match found_at(&dir) {
            Ok(Found::Nothing) => return None,
            Ok(Found::Dir) => {}
            Ok(Found::Other(kind)) => {
                tracing::warn!(entry = %dir.display(), kind, "not a digest directory: ignored, recomputed");
                return None;
            }
            Err(e) => {
                tracing::warn!(entry = %dir.display(), error = %e, "unreadable digest: recomputed");
                return None;
            }
        }
        match self.load_entry(&dir, key, want_rows, rows_wanted, skip_usage, template) {
            Ok(p) => Some(p),
            Err(Miss::RowsNotStored) => None,
            Err(Miss::Damaged) => {
                tracing::warn!(entry = %dir.display(), "damaged digest: ignored, recomputed from the input file");
                None
            }
        }
    }

    fn load_entry(
        &self,
        dir: &Path,
        key: &str,
        want_rows: impl Fn(Option<(i64, i64)>) -> bool,
        rows_wanted: &RowsWanted,
        skip_usage: bool,
        template: &Digest,
    ) -> std::result::Result<Partition, Miss> {
        use Miss::Damaged;
        let meta: PartitionMeta = open_read(&dir.join("meta.json"))
            .ok()
            .and_then(|f| serde_json::from_reader(std::io::BufReader::new(f)).ok())
            .ok_or(Damaged)?;
        let open = |name: &str| {
            open_read(&dir.join(format!("{name}.parquet")))
                .ok()
                .map(ParquetReader::new)
        };
        // A part whose footer names other columns than the digest's (a sound Parquet file
        // planted or left by another version) is damage, recomputed like a truncated one.
        let mut parts = Digest::PARTS.iter().zip(template.parts()).map(|(p, want)| {
            let mut reader = open(p)?;
            if !footer_matches(&mut reader, want.schema()) {
                return None;
            }
            if *p == "usage" && skip_usage {
                // Not read (the rollup covers it), but a rebuild of the rollup may need it:
                // a damaged file is caught now, from its footer, while the input is at hand.
                reader.num_rows().ok().map(|_| DataFrame::empty())
            } else {
                reader.finish().ok()
            }
        });
        let mut next = || parts.next().flatten().ok_or(Damaged);
        let digest = Digest {
            seq_ranges: next()?,
            seq_edges: next()?,
            gap_local: next()?,
            hash_local: next()?,
            feed: next()?,
            usage: next()?,
            spans: next()?,
        };
        let rows = if want_rows(meta.days) {
            let rows_file = dir.join("rows.parquet");
            // Rows wholly before the window of the run that stored them are not kept
            // (windows move forward): a run of an earlier date reads the input again.
            if !rows_file.is_file() {
                return Err(Miss::RowsNotStored);
            }
            // Read whole, then filtered: the predicate looks each distinct account up once
            // per frame, and a whole day's frame repeats an account several times where a
            // scan's morsels hardly do (a day is a few hundred MB for a worker, as when the
            // first run read it from the input).
            let columns = rows_wanted.columns.map(|c| {
                c.iter()
                    .chain(&[ACCOUNT_KEY, ACTION_KEY])
                    .map(|c| c.to_string())
                    .collect()
            });
            let rows = open_read(&rows_file)
                .ok()
                .map(ParquetReader::new)
                .and_then(|r| r.with_columns(columns).finish().ok())
                .ok_or(Damaged)?;
            Some(
                rows_wanted
                    .apply_stored(rows)
                    .ok_or(Damaged)?
                    .map_err(|_| Damaged)?,
            )
        } else {
            None
        };
        self.mark_used(key);
        tracing::debug!(file = %meta.file.path, "partition digest reused");
        Ok(Partition {
            meta,
            digest,
            seq: SeqRecords::Input,
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

    /// Stores a partition's digest (with the window rules' columns of its rows and their
    /// [`super::keys::KeyCodes`], when given, for later windows) under `key`: written aside now, so that memory holds only
    /// the partitions the run needs, and moved into place by [`Self::commit`] when the run
    /// succeeds (a failed run changes nothing in OUT). Its records with a seq are not
    /// stored ([`SeqRecords::Input`]).
    pub fn save(&self, key: &str, p: &Partition, rows: Option<&DataFrame>) -> Result<()> {
        let tmp = self.pending().join(key);
        fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let write = |name: &str, df: &DataFrame| -> Result<()> {
            let path = tmp.join(format!("{name}.parquet"));
            writer(create_file(&path)?)
                .finish(&mut df.clone())
                .map_err(|e| Error::frame_write(&path, e))?;
            Ok(())
        };
        if let Some(rows) = rows {
            write("rows", rows)?;
        }
        for (name, df) in Digest::PARTS.iter().zip(p.digest.parts()) {
            write(name, df)?;
        }
        let json = serde_json::to_vec(&p.meta).map_err(|e| Error::Internal(e.to_string()))?;
        write_file(&tmp.join("meta.json"), &json)?;
        self.mark_used(key);
        Ok(())
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
        crate::files::write_atomic(&self.root.join(HASHES_FILE), &json)?;
        let used = self
            .used
            .lock()
            .map_err(|_| Error::Internal("digest set lock poisoned".into()))?;
        let events = self.root.join(EVENTS_DIR);
        fs::create_dir_all(&events).map_err(|e| Error::io(&events, e))?;
        for dir in [ROLLUP_DIR, super::snapshot::DIR] {
            let from = self.pending().join(dir);
            if from.is_dir() {
                let to = self.root.join(dir);
                remove_entry(&to).map_err(|e| Error::io(&to, e))?;
                fs::rename(&from, &to).map_err(|e| Error::io(&to, e))?;
            }
        }
        if let Ok(entries) = fs::read_dir(self.pending()) {
            for e in entries.flatten() {
                let to = events.join(e.file_name());
                remove_entry(&to).map_err(|e| Error::io(&to, e))?;
                fs::rename(e.path(), &to).map_err(|e| Error::io(&to, e))?;
            }
        }
        for e in fs::read_dir(&events)
            .map_err(|e| Error::io(&events, e))?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            let p = e.path();
            if !is_key(&name) {
                // Not ours (a `.DS_Store`, a backup copy...): left alone, never read.
                tracing::warn!(file = %p.display(), "not a digest of permaudit's state: ignored");
            } else if !used.contains(&name) {
                remove_entry(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        // Pending entries of runs that died (their process is gone) are garbage.
        for e in fs::read_dir(&self.root)
            .map_err(|e| Error::io(&self.root, e))?
            .flatten()
        {
            if e.file_name().to_string_lossy().starts_with(".pending-") {
                let p = e.path();
                remove_entry(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        Ok(())
    }
}

/// The state is a cache read back by the next run: fast compression beats small files, and
/// no statistics, which cost a min and max of every string column and skip nothing here (a
/// part is read whole; the kept rows are chosen by account, not by a range).
fn writer(f: fs::File) -> ParquetWriter<fs::File> {
    ParquetWriter::new(f)
        .with_compression(ParquetCompression::Lz4Raw)
        .with_statistics(StatisticsOptions::empty())
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
