//! One run at a time per output directory.
//!
//! The lock is `OUT/.permaudit.lock`, held with an exclusive `flock(2)` (std's
//! `File::try_lock`) for the whole run, and it names its holder: pid, wall-clock start time,
//! the kernel's start time of that pid (to tell a reused pid from the holder) and the host.
//!
//! Why flock rather than an `O_EXCL` pid file: the kernel drops the lock the moment its
//! holder dies, SIGKILL included, so a lock left by a killed run is stale by construction
//! and taking it over is the same atomic `try_lock` every run does; there is no window in
//! which two runs both decide a pid file is stale and both take it. The holder recorded in
//! the file is for people and for the message of a refused run; when the file names a
//! holder but nobody holds the lock, the takeover is logged with what became of that pid.
//!
//! The file is never deleted (on release it is emptied): deleting a locked file lets a
//! waiting run lock the deleted inode while a third run locks a new file of the same name.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};

use crate::error::{Error, Result};

pub const LOCK_FILE: &str = ".permaudit.lock";

/// The holder as recorded in the lock file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    pub started: Option<String>,
    /// Field 22 of `/proc/<pid>/stat` (start time in clock ticks since boot), when known.
    pub proc_start: Option<u64>,
    pub host: Option<String>,
}

impl Holder {
    fn me() -> Holder {
        let pid = std::process::id();
        Holder {
            pid: Some(pid),
            started: Some(Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)),
            proc_start: proc_start_time(pid),
            host: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty()),
        }
    }

    fn render(&self) -> String {
        let mut s = String::new();
        if let Some(p) = self.pid {
            s.push_str(&format!("pid={p}\n"));
        }
        if let Some(t) = &self.started {
            s.push_str(&format!("started={t}\n"));
        }
        if let Some(t) = self.proc_start {
            s.push_str(&format!("proc_start_ticks={t}\n"));
        }
        if let Some(h) = &self.host {
            s.push_str(&format!("host={h}\n"));
        }
        s
    }

    /// Lenient: the file may have been edited by hand or be from another version.
    pub fn parse(text: &str) -> Holder {
        let mut h = Holder::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim();
            match k.trim() {
                "pid" => h.pid = v.parse().ok(),
                "started" => h.started = Some(v.to_string()),
                "proc_start_ticks" => h.proc_start = v.parse().ok(),
                "host" => h.host = Some(v.to_string()),
                _ => {}
            }
        }
        h
    }

    fn describe(&self) -> String {
        match (self.pid, &self.started) {
            (Some(p), Some(t)) => format!("pid {p}, started {t}{}", self.on_host()),
            (Some(p), None) => format!("pid {p}{}", self.on_host()),
            _ => "a holder that has not written its name yet".to_string(),
        }
    }

    fn on_host(&self) -> String {
        self.host
            .as_ref()
            .map(|h| format!(" on {h}"))
            .unwrap_or_default()
    }
}

/// Start time of a live process (clock ticks since boot), `None` if it does not exist or
/// `/proc` is not there. Comparing it with the recorded one tells a reused pid apart.
pub fn proc_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // rest starts at field 3 (state); starttime is field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// What became of a recorded holder whose lock nobody holds any more.
fn fate(h: &Holder) -> &'static str {
    let Some(pid) = h.pid else {
        return "holder unknown";
    };
    match (proc_start_time(pid), h.proc_start) {
        (None, _) => "process no longer running",
        (Some(now), Some(then)) if now != then => "pid reused by another process",
        _ => "process alive but no longer holding the lock",
    }
}

/// Held for the life of the value; released (file emptied, lock dropped) on drop, which
/// also runs on every error path. A killed process releases it through the kernel.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes the lock of `out` (created if needed) or fails at once with [`Error::Locked`]
/// naming the holder. The lock file is opened without following a link (the run writes
/// its holder into it) and must be a regular file, else the run stops with an I/O error
/// (exit 4) naming it: a link would have the run truncate its target, anywhere.
pub fn acquire(out: &Path) -> Result<RunLock> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let path = out.join(LOCK_FILE);
    let mut file = crate::files::open_regular(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false),
        &path,
    )?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = Holder::parse(&read_all(&mut file).unwrap_or_default());
            return Err(Error::Locked(format!(
                "{}: another permaudit run holds the lock of this output directory ({}); \
                 this run did nothing. Wait for it to finish, or check that process",
                path.display(),
                holder.describe()
            )));
        }
        Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
    }
    let previous = Holder::parse(&read_all(&mut file).map_err(|e| Error::io(&path, e))?);
    if previous.pid.is_some() {
        tracing::warn!(
            lock = %path.display(),
            holder = %previous.describe(),
            fate = fate(&previous),
            "taking over a stale lock left by an interrupted run"
        );
    }
    let me = Holder::me();
    write_holder(&mut file, &me.render()).map_err(|e| Error::io(&path, e))?;
    tracing::debug!(lock = %path.display(), pid = me.pid, "lock acquired");
    Ok(RunLock { file, path })
}

fn read_all(file: &mut File) -> std::io::Result<String> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_string(&mut text)?;
    Ok(text)
}

fn write_holder(file: &mut File, text: &str) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Emptied first so that nobody reads a finished run as the holder; the lock
        // itself goes with the descriptor.
        let _ = write_holder(&mut self.file, "");
        let _ = self.file.unlock();
    }
}
