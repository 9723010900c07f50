//! `permaudit verify`: re-hashes every output of every run in OUT and checks the manifest
//! chain, naming each file or link that is wrong.
//!
//! What is checked, per dated directory `OUT/<D>/`:
//! - `manifest.json` exists, parses as a [`Manifest`], and its `as_of` is `D`;
//! - every file listed in `outputs` exists and has the listed SHA-256, and no file in the
//!   directory is missing from the list (the manifest itself is not in its own list);
//! - nothing in the directory is a link, a FIFO or anything else but a regular file or a
//!   directory: each is named, never followed nor opened;
//! - the link: when the manifest names a previous run (`previous.as_of`, `previous.
//!   manifest_sha256`), that run is earlier than `D`, exists, and its manifest has exactly
//!   that SHA-256.
//!
//! Links are checked as named, not against today's order of the runs: a backfill of an
//! earlier date, run after later dates were delivered, does not rewrite them (the contract
//! forbids it), so a later run may name a run that is no longer its immediate predecessor,
//! and a backfilled run with no earlier run names none. Both are valid. What breaks a link
//! is a named manifest that changed or vanished — tampering, or a rerun of that date with
//! different results, which the run log warns about and which a rerun of the later date
//! mends. The latest manifest is named by nobody: its hash is printed on the run's summary
//! line (`manifest_sha256=`), which is where to anchor the chain outside OUT.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Component, Path, PathBuf};

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::files;
use crate::fs_guard;
use crate::manifest::{self, Manifest};
use crate::output;

#[derive(Debug, Default)]
pub struct Report {
    /// The output directory verified.
    pub out: PathBuf,
    pub runs: usize,
    pub files: usize,
    pub links: usize,
    /// One line per wrong file or link, naming it.
    pub problems: Vec<String>,
    /// Not wrong, but worth saying (e.g. what an interrupted run left behind).
    pub notes: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The error `verify` exits with when anything is wrong.
    pub fn failure(&self) -> Result<()> {
        match self.problems.first() {
            None => Ok(()),
            Some(first) => Err(Error::Verify(format!(
                "{} problem(s) in {}, first: {first}",
                self.problems.len(),
                self.out.display()
            ))),
        }
    }
}

/// What `verify` prints: notes, one `FAIL` line per problem, then the summary line.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        for p in &self.problems {
            writeln!(f, "FAIL {p}")?;
        }
        write!(
            f,
            "permaudit verify status={} runs={} files={} links={} problems={} out={}",
            if self.ok() { "ok" } else { "failed" },
            self.runs,
            self.files,
            self.links,
            self.problems.len(),
            self.out.display()
        )
    }
}

/// How an entry of a run directory that is not a regular file is described.
const NOT_WRITTEN: &str = "not a file the run wrote";

/// A manifest path is input to verify: only plain relative paths inside the run directory
/// are followed.
fn safe_relative(p: &str) -> bool {
    !p.is_empty()
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

pub fn verify(out: &Path) -> Result<Report> {
    let mut report = Report {
        out: out.to_path_buf(),
        ..Report::default()
    };
    let entries = fs::read_dir(out).map_err(|e| Error::io(out, e))?;
    let mut dated: Vec<NaiveDate> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(out, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Ok(d) = NaiveDate::parse_from_str(&name, "%Y-%m-%d") {
            // Like `output::runs`: only a real directory is a run (a link is not followed).
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                dated.push(d);
            } else {
                let kind = match files::found_at(&entry.path()) {
                    Ok(files::Found::Other(kind)) => kind,
                    _ => "not a directory",
                };
                report.notes.push(format!(
                    "{name}: {kind}, not a run directory; not verified (a run of that date refuses to start until it is moved away)"
                ));
            }
        } else if name.starts_with(".staging-") || name.starts_with(".retired-") {
            report.notes.push(format!(
                "{name}: left by an interrupted or running run; the next run tidies it up"
            ));
        }
    }
    dated.sort();
    report.notes.sort();

    // Manifest hashes first: links are checked against them.
    let mut manifest_sha: BTreeMap<NaiveDate, String> = BTreeMap::new();
    for d in &dated {
        let path = out.join(crate::time::day_text(*d)).join(manifest::FILE);
        // Seen without following it: a link or FIFO at its place is reported by
        // `check_run`, never opened.
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            manifest_sha.insert(*d, files::sha256_file(&path)?);
        }
    }

    for d in &dated {
        report.runs += 1;
        check_run(out, *d, &manifest_sha, &mut report)?;
    }
    Ok(report)
}

fn check_run(
    out: &Path,
    d: NaiveDate,
    manifest_sha: &BTreeMap<NaiveDate, String>,
    report: &mut Report,
) -> Result<()> {
    let name = crate::time::day_text(d);
    let dir = out.join(&name);
    let path = dir.join(manifest::FILE);
    if !manifest_sha.contains_key(&d) {
        let what = match files::found_at(&path) {
            Ok(files::Found::Nothing) => "missing".to_string(),
            Ok(files::Found::Dir) => format!("a directory, {NOT_WRITTEN}"),
            Ok(files::Found::Other(kind)) => format!("{kind}, {NOT_WRITTEN}"),
            Err(e) => format!("unreadable ({e})"),
        };
        report
            .problems
            .push(format!("{name}/manifest.json: {what}"));
        return Ok(());
    }
    let bytes = files::read_file(&path)?;
    let manifest: Manifest = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            report
                .problems
                .push(format!("{name}/manifest.json: not a valid manifest ({e})"));
            return Ok(());
        }
    };
    if manifest.as_of != d {
        report.problems.push(format!(
            "{name}/manifest.json: as_of is {} instead of {name}",
            manifest.as_of
        ));
    }

    // Outputs: listed files against the files actually there.
    // A link or FIFO planted in the run directory is a problem to name, not a reason to
    // stop: nothing else would be verified.
    let mut actual: BTreeMap<String, String> = BTreeMap::new();
    let mut foreign: BTreeMap<String, &'static str> = BTreeMap::new();
    for (p, entry) in output::scan_tree(&dir)? {
        match entry {
            _ if p == manifest::FILE => {}
            output::Entry::File(sha) => {
                actual.insert(p, sha);
            }
            output::Entry::Foreign(t) => {
                foreign.insert(p, fs_guard::describe(t));
            }
        }
    }
    for (p, kind) in &foreign {
        report
            .problems
            .push(format!("{name}/{p}: {kind}, {NOT_WRITTEN}"));
    }
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    for o in manifest.outputs {
        if safe_relative(&o.path) {
            listed.insert(o.path, o.sha256);
        } else {
            report.problems.push(format!(
                "{name}/manifest.json: outputs entry {:?} is not a path inside the run",
                o.path
            ));
        }
    }
    for (p, want) in &listed {
        report.files += 1;
        match actual.get(p) {
            // Already named above as what it is.
            None if foreign.contains_key(p) => {}
            None => report
                .problems
                .push(format!("{name}/{p}: listed in the manifest but missing")),
            Some(got) if got != want => report.problems.push(format!(
                "{name}/{p}: SHA-256 {got} differs from the manifest's {want}"
            )),
            Some(_) => {}
        }
    }
    for p in actual.keys().filter(|p| !listed.contains_key(*p)) {
        report
            .problems
            .push(format!("{name}/{p}: not listed in the manifest"));
    }

    // The link to the previous run, as named.
    let Some(prev) = manifest.previous else {
        return Ok(());
    };
    report.links += 1;
    let (p_date, p_sha) = (prev.as_of, prev.manifest_sha256);
    let p_as_of = crate::time::day_text(p_date);
    if p_date >= d {
        report.problems.push(format!(
            "link {name} -> {p_as_of}: the previous run is not earlier"
        ));
    }
    match manifest_sha.get(&p_date) {
        None => report.problems.push(format!(
            "link {name} -> {p_as_of}: {name}/manifest.json names {p_as_of}/manifest.json \
             (SHA-256 {p_sha}), which is missing"
        )),
        Some(actual) if *actual != p_sha => report.problems.push(format!(
            "link {name} -> {p_as_of}: {name}/manifest.json names {p_as_of}/manifest.json \
             with SHA-256 {p_sha}, but it has {actual}"
        )),
        Some(_) => {}
    }
    Ok(())
}
