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
//!
//! Two checks reach outside OUT (CONTRACT section 8, docs/threats.md). With a public key
//! ([`Checks::public_key`]), every run must carry `manifest.json.sig`, the key's signature
//! of its manifest's bytes: a chain rewritten consistently from its first manifest on,
//! which the links cannot reveal, fails there. With anchors ([`Checks::anchors`]), the run
//! of each anchored date must have exactly the manifest hash published elsewhere.

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
use crate::signing::{PublicKey, SIG_FILE};

/// What `verify` checks beyond the files and the links, from outside OUT.
#[derive(Debug, Default)]
pub struct Checks {
    /// `--public-key`: every run's signature.
    pub public_key: Option<PublicKey>,
    /// `--anchor DATE=SHA256`, in the order given.
    pub anchors: Vec<Anchor>,
}

/// A run's manifest hash as published outside OUT (the run's summary line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub as_of: NaiveDate,
    pub manifest_sha256: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;

    /// `YYYY-MM-DD=<64 hex digits>`; the hex is compared in lower case.
    fn from_str(s: &str) -> std::result::Result<Anchor, String> {
        let shape = "expected DATE=SHA256 (YYYY-MM-DD, then the 64 hex digits of the run's \
                     manifest_sha256)";
        let (date, sha) = s.split_once('=').ok_or_else(|| format!("{s:?}: {shape}"))?;
        let as_of = crate::config::parse_iso_date(date)
            .ok_or_else(|| format!("{s:?}: {date:?} is not a date YYYY-MM-DD; {shape}"))?;
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "{s:?}: {sha:?} is not a SHA-256 (64 hex digits); {shape}"
            ));
        }
        Ok(Anchor {
            as_of,
            manifest_sha256: sha.to_ascii_lowercase(),
        })
    }
}

#[derive(Debug, Default)]
pub struct Report {
    /// The output directory verified.
    pub out: PathBuf,
    pub runs: usize,
    pub files: usize,
    pub links: usize,
    /// Runs whose signature verified with `--public-key`.
    pub signatures: usize,
    /// Anchors that matched.
    pub anchors: usize,
    /// One line per wrong file, link, signature or anchor, naming it.
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
            "permaudit verify status={} runs={} files={} links={} signatures={} anchors={} \
             problems={} out={}",
            if self.ok() { "ok" } else { "failed" },
            self.runs,
            self.files,
            self.links,
            self.signatures,
            self.anchors,
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

pub fn verify(out: &Path, checks: &Checks) -> Result<Report> {
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
    // An anchor names a run by date: a date without one is a wrong argument (or a whole
    // run deleted), said before anything else.
    if let Some(a) = checks.anchors.iter().find(|a| !dated.contains(&a.as_of)) {
        return Err(Error::input(
            "--anchor",
            format!(
                "{} has no run of {} to check the anchor against ({})",
                out.display(),
                crate::time::day_text(a.as_of),
                match (dated.first(), dated.last()) {
                    (Some(first), Some(last)) => format!(
                        "{} run(s), {} to {}",
                        dated.len(),
                        crate::time::day_text(*first),
                        crate::time::day_text(*last)
                    ),
                    _ => "no run at all".to_string(),
                }
            ),
        ));
    }

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
        check_run(out, *d, &manifest_sha, checks, &mut report)?;
    }
    for a in &checks.anchors {
        let name = crate::time::day_text(a.as_of);
        match manifest_sha.get(&a.as_of) {
            // The run's own check names the missing manifest too.
            None => report.problems.push(format!(
                "anchor {name}: {name}/manifest.json is not there to compare with {}",
                a.manifest_sha256
            )),
            Some(got) if *got != a.manifest_sha256 => report.problems.push(format!(
                "anchor {name}: {name}/manifest.json has SHA-256 {got}, not the anchored {}",
                a.manifest_sha256
            )),
            Some(_) => report.anchors += 1,
        }
    }
    if checks.public_key.is_none() {
        let signed = dated
            .iter()
            .filter(|d| {
                let sig = out.join(crate::time::day_text(**d)).join(SIG_FILE);
                fs::symlink_metadata(sig).is_ok_and(|m| m.is_file())
            })
            .count();
        if signed > 0 {
            report.notes.push(format!(
                "{signed} run(s) carry a signature ({SIG_FILE}); pass --public-key to check them"
            ));
        }
    }
    Ok(report)
}

fn check_run(
    out: &Path,
    d: NaiveDate,
    manifest_sha: &BTreeMap<NaiveDate, String>,
    checks: &Checks,
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
    if let Some(key) = &checks.public_key {
        check_signature(&dir, &name, &bytes, key, report)?;
    }
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
            // Not in the manifest's list: it signs the manifest.
            output::Entry::File(_) if p == SIG_FILE => {}
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

/// The run's `manifest.json.sig` against its manifest's bytes. A signature that is a link or
/// anything else but a regular file is named once, by the scan of the directory.
fn check_signature(
    dir: &Path,
    name: &str,
    manifest: &[u8],
    key: &PublicKey,
    report: &mut Report,
) -> Result<()> {
    let path = dir.join(SIG_FILE);
    match fs_guard::type_at(&path).map_err(|e| Error::io(&path, e))? {
        None => report
            .problems
            .push(format!("{name}/{SIG_FILE}: missing: the run is not signed")),
        Some(t) if !t.is_file() => {}
        Some(_) => match key.check(manifest, &files::read_file(&path)?) {
            Ok(()) => report.signatures += 1,
            Err(why) => report.problems.push(format!("{name}/{SIG_FILE}: {why}")),
        },
    }
    Ok(())
}
