//! The output directory: atomic replacement of `OUT/<as_of>/`, hashing, the manifest chain.
//! A run builds everything in a staging directory beside the target and swaps it in with
//! renames, so a crash leaves either the old or the new output whole.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const STAGING: &str = ".staging-";
const RETIRED: &str = ".retired-";
/// Infix of temporary files written by [`write_atomic`].
const TEMP: &str = ".tmp-";

pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Dated run directories in OUT (names that parse as `YYYY-MM-DD`), oldest first.
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
            if entry.path().join("manifest.json").is_file() {
                dates.push(d);
            }
        }
    }
    dates.sort();
    Ok(dates)
}

/// Finishes what an interrupted run left: a retired directory whose replacement never
/// arrived is put back; staging directories, completed retirements and temporary files of
/// the history store and of the incremental state are removed. Only called under the run lock, so nothing it removes
/// belongs to a live run. Every step is idempotent: a crash inside `recover` is finished
/// by the next one.
pub fn recover(out: &Path) -> Result<()> {
    remove_temp_files(&out.join(crate::history::STORE_DIR))?;
    remove_temp_files(&out.join(crate::ingest::state::STATE_DIR))?;
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
            fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        } else if let Some(rest) = name.strip_prefix(RETIRED) {
            let date = rest.split('.').next().unwrap_or_default();
            let live = out.join(date);
            if live.exists() {
                fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
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
        if entry.file_name().to_string_lossy().contains(TEMP) {
            tracing::warn!(file = %path.display(), "removing temporary file of an interrupted run");
            fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// Replaces `path` with `bytes` atomically: a temporary file beside it, fsynced, renamed
/// over it, and the directory fsynced, so a crash leaves the old or the new file whole.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!("{name}{TEMP}{}", std::process::id()));
    let written = fs::File::create(&tmp).and_then(|mut f| {
        std::io::Write::write_all(&mut f, bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    sync_dir(dir)
}

/// A staging directory that becomes `OUT/<as_of>/` on [`Staging::commit`] and disappears
/// if dropped uncommitted.
pub struct Staging {
    pub dir: PathBuf,
    target: PathBuf,
    out: PathBuf,
    committed: bool,
}

impl Staging {
    pub fn new(out: &Path, as_of: NaiveDate) -> Result<Staging> {
        fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let name = as_of.format("%Y-%m-%d").to_string();
        let dir = out.join(format!("{STAGING}{name}.{}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Staging {
            dir,
            target: out.join(&name),
            out: out.to_path_buf(),
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
        if self.target.exists() {
            fs::rename(&self.target, &retired).map_err(|e| Error::io(&self.target, e))?;
        }
        fs::rename(&self.dir, &self.target).map_err(|e| Error::io(&self.target, e))?;
        self.committed = true;
        sync_dir(&self.out)?;
        if retired.exists() {
            fs::remove_dir_all(&retired).map_err(|e| Error::io(&retired, e))?;
        }
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
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

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Every file below `dir`, as (relative path with `/`, sha256), sorted by path.
pub fn hash_tree(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, sha256_file(&path)?));
        }
    }
    Ok(())
}
