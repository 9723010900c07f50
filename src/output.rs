//! The layout of the output directory: run directories and the derived directories beside
//! them, atomic replacement of `OUT/<as_of>/`, recovery after a crash, hashing a run.
//! A run builds everything in a staging directory beside the target and swaps it in with
//! renames, so a crash leaves either the old or the new output whole.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::files::{
    self, found_at, remove_entry, replace_foreign_dir, sync_dir, Found, HashedFile,
};
use crate::fs_guard;
use chrono::NaiveDate;

/// `OUT/history/`, the history store derived from the run directories.
pub const HISTORY_DIR: &str = "history";
/// `OUT/state/`, the incremental state (digests, usage rollup, file-hash cache).
pub const STATE_DIR: &str = "state";
const STAGING: &str = ".staging-";
const RETIRED: &str = ".retired-";

/// Dated run directories in OUT (names that parse as `YYYY-MM-DD`), oldest first. Only
/// real directories count: a file or a link with a date for a name is not a run, and must
/// not stop the runs of other dates (nor be read through).
pub fn runs(out: &Path) -> Result<Vec<NaiveDate>> {
    let mut dates = Vec::new();
    let Ok(entries) = fs::read_dir(out) else {
        return Ok(dates);
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(out, e))?;
        let name = entry.file_name();
        if let Some(d) = name
            .to_str()
            .and_then(|n| NaiveDate::parse_from_str(n, "%Y-%m-%d").ok())
        {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && entry.path().join(crate::manifest::FILE).is_file() {
                dates.push(d);
            }
        }
    }
    dates.sort();
    Ok(dates)
}

/// Refuses a day whose run directory's place holds something a run did not make: not a
/// directory (a file, a link...), or a directory without a manifest (a run directory
/// always has one: it is swapped in complete). Replacing it would destroy what someone put
/// there, and writing through a link would write outside OUT. Checked before any work, so
/// nothing is written.
pub fn check_run_target(out: &Path, as_of: NaiveDate) -> Result<()> {
    let path = out.join(as_of.format("%Y-%m-%d").to_string());
    let kind = match found_at(&path).map_err(|e| Error::io(&path, e))? {
        Found::Nothing => return Ok(()),
        Found::Dir => {
            let manifest = fs::symlink_metadata(path.join(crate::manifest::FILE));
            if manifest.is_ok_and(|m| m.is_file()) {
                return Ok(());
            }
            "a directory without a manifest.json (not a permaudit run)"
        }
        Found::Other(kind) => kind,
    };
    Err(Error::io(
        &path,
        io::Error::other(format!(
            "{kind} where the run directory of this date belongs; refusing to replace \
             it (nothing was written). Move it out of the output directory and run again"
        )),
    ))
}

/// Finishes what an interrupted run left: a retired directory whose replacement never
/// arrived is put back; staging directories, completed retirements and temporary files of
/// the history store and of the incremental state are removed. Only called under the run lock, so nothing it removes
/// belongs to a live run. Every step is idempotent: a crash inside `recover` is finished
/// by the next one.
pub fn recover(out: &Path) -> Result<()> {
    for dir in [HISTORY_DIR, STATE_DIR] {
        // Before listing it: a link there would have us delete files elsewhere.
        replace_foreign_dir(&out.join(dir))?;
        remove_temp_files(&out.join(dir))?;
    }
    let Ok(entries) = fs::read_dir(out) else {
        return Ok(());
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    for name in names {
        let path = out.join(&name);
        if name.starts_with(STAGING) {
            tracing::warn!(dir = %path.display(), "removing staging directory of an interrupted run");
            remove_entry(&path).map_err(|e| Error::io(&path, e))?;
        } else if let Some(rest) = name.strip_prefix(RETIRED) {
            let date = rest.split('.').next().unwrap_or_default();
            let live = out.join(date);
            let retired = found_at(&path).map_err(|e| Error::io(&path, e))?;
            if found_at(&live).map_err(|e| Error::io(&live, e))? != Found::Nothing {
                remove_entry(&path).map_err(|e| Error::io(&path, e))?;
            } else if retired != Found::Dir {
                // Runs retire only directories: anything else here (a file an earlier
                // version moved aside) is never restored to block the date again.
                tracing::warn!(path = %path.display(), "removing a retired entry that is not a run directory");
                remove_entry(&path).map_err(|e| Error::io(&path, e))?;
            } else {
                tracing::warn!(dir = %live.display(), "restoring output of an interrupted run");
                fs::rename(&path, &live).map_err(|e| Error::io(&path, e))?;
            }
        }
    }
    Ok(())
}

fn remove_temp_files(dir: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if files::is_temp(&entry.file_name().to_string_lossy()) {
            tracing::warn!(file = %path.display(), "removing temporary file of an interrupted run");
            remove_entry(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// A staging directory that becomes `OUT/<as_of>/` on [`Staging::commit`] and disappears
/// if dropped uncommitted.
pub struct Staging {
    pub dir: PathBuf,
    target: PathBuf,
    out: PathBuf,
    as_of: NaiveDate,
    committed: bool,
}

impl Staging {
    pub fn new(out: &Path, as_of: NaiveDate) -> Result<Staging> {
        fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let name = as_of.format("%Y-%m-%d").to_string();
        let dir = out.join(format!("{STAGING}{name}.{}", std::process::id()));
        remove_entry(&dir).map_err(|e| Error::io(&dir, e))?;
        // create_dir, not create_dir_all: it fails on anything at the name, a link included.
        fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Staging {
            dir,
            target: out.join(&name),
            out: out.to_path_buf(),
            as_of,
            committed: false,
        })
    }

    /// Swaps the staged directory in. rename(2) cannot replace a non-empty directory, so an
    /// existing output is first renamed aside; [`recover`] handles a crash in between.
    pub fn commit(mut self) -> Result<PathBuf> {
        sync_tree(&self.dir)?;
        let name = self
            .target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let retired = self
            .out
            .join(format!("{RETIRED}{name}.{}", std::process::id()));
        // Checked again here, before anything moves, in case something appeared since the
        // run started: a run fails before its commit, never after it.
        check_run_target(&self.out, self.as_of)?;
        if self.target.is_dir() {
            fs::rename(&self.target, &retired).map_err(|e| Error::io(&self.target, e))?;
        }
        fs::rename(&self.dir, &self.target).map_err(|e| Error::io(&self.target, e))?;
        self.committed = true;
        sync_dir(&self.out)?;
        // Delivered: a leftover here is tidied by the next run's `recover`, not a failure.
        if let Err(e) = remove_entry(&retired) {
            tracing::warn!(dir = %retired.display(), error = %e, "could not remove the replaced output; the next run will");
        }
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_entry(&self.dir);
        }
    }
}

fn sync_tree(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io(&path, e))?;
        }
    }
    sync_dir(dir)
}

/// What [`scan_tree`] found at a path below the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A regular file, with its SHA-256.
    File(String),
    /// Neither a regular file nor a real directory (a link, a FIFO...): never followed nor
    /// opened, since a run directory in OUT may hold anything someone planted.
    Foreign(fs::FileType),
}

/// Every entry below `dir` that is not a real directory, as (relative path with `/`,
/// what it is), sorted by path. Links are not followed, so this never leaves `dir` nor
/// blocks on a FIFO.
pub fn scan_tree(dir: &Path) -> Result<Vec<(String, Entry)>> {
    list_tree(dir)?
        .into_iter()
        .map(|(rel, path, t)| {
            let found = if t.is_file() {
                Entry::File(files::sha256_file(&path)?)
            } else {
                Entry::Foreign(t)
            };
            Ok((rel, found))
        })
        .collect()
}

/// The files a run writes into its staging directory, each with the SHA-256 it had as it
/// was written ([`HashedFile`]): the manifest lists them without reading gigabytes back.
/// Shared by the threads that write the jurisdictions' files.
pub struct Written {
    root: PathBuf,
    hashes: Mutex<BTreeMap<String, String>>,
}

impl Written {
    pub fn new(root: &Path) -> Written {
        Written {
            root: root.to_path_buf(),
            hashes: Mutex::new(BTreeMap::new()),
        }
    }

    /// Writes the file at `path` (below the root) with `write` (which may render it), and
    /// records its hash.
    pub fn file(
        &self,
        path: &Path,
        write: impl FnOnce(&mut HashedFile) -> Result<()>,
    ) -> Result<()> {
        let started = Instant::now();
        let mut f = HashedFile::create(path)?;
        write(&mut f)?;
        let sha256 = f.finish(path)?;
        let rel = relative(&self.root, path);
        // Where the write stage's time goes, file by file (jurisdictions overlap).
        tracing::debug!(
            file = %rel,
            elapsed_ms = started.elapsed().as_millis() as u64,
            rss_mib = crate::memory::resident().rss_mib,
            "written"
        );
        self.hashes
            .lock()
            .map_err(|_| Error::Internal("a thread writing the outputs panicked".into()))?
            .insert(rel, sha256);
        Ok(())
    }

    /// Every file below the root as (relative path with `/`, sha256), sorted by path. The
    /// tree is listed (not read) so that anything the run did not write through
    /// [`Written::file`] is an error, not a file the manifest would leave out: the run made
    /// the directory, so anything but a regular file there is one too.
    pub fn hashes(self) -> Result<Vec<(String, String)>> {
        let hashes = self
            .hashes
            .into_inner()
            .map_err(|_| Error::Internal("a thread writing the outputs panicked".into()))?;
        let listed = list_tree(&self.root)?;
        for (rel, path, t) in &listed {
            if !t.is_file() {
                return Err(Error::io(path, fs_guard::not_regular(*t)));
            }
            if !hashes.contains_key(rel) {
                return Err(Error::Internal(format!(
                    "output {rel} was written without its hash"
                )));
            }
        }
        if listed.len() != hashes.len() {
            return Err(Error::Internal(
                "an output hashed while written is missing from the run directory".into(),
            ));
        }
        Ok(hashes.into_iter().collect())
    }
}

/// Every entry below `dir` that is not a real directory, as (relative path with `/`, path,
/// its own type), sorted by the relative path. Links are not followed.
fn list_tree(dir: &Path) -> Result<Vec<(String, PathBuf, fs::FileType)>> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf, fs::FileType)>) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        // The entry's own type: a link to a directory is not a directory here.
        let t = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if t.is_dir() {
            walk(root, &path, out)?;
            continue;
        }
        out.push((relative(root, &path), path, t));
    }
    Ok(())
}
