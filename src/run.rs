//! The `run` command: analysis, history, every output file, the manifest, and the atomic
//! swap into `OUT/<as_of>/`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use polars::prelude::*;
use serde_json::json;

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::files;
use crate::findings::{write_csv_to, write_parquet};
use crate::history::{self, History};
use crate::ingest::loader::quarantine_frame;
use crate::ingest::state::Store;
use crate::lock;
use crate::manifest::{self, FileHash, Manifest};
use crate::minimise;
use crate::output::{self, Staging, Written};
use crate::pipeline::{analyze_with, Analysis, Inputs};
use crate::policy::Jurisdiction;
use crate::progress::Progress;
use crate::report::{context, ocsf, Renderer};
use crate::resolve::Remediation;
use crate::rules;
use crate::severity::Severity;
use crate::signing::{ManifestSigner, SIG_FILE};

pub struct RunOptions {
    pub as_of: NaiveDate,
    pub out_dir: PathBuf,
    pub flags: RunFlags,
}

/// How a run treats problems and the incremental state.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunFlags {
    /// Any quarantined row is fatal.
    pub strict: bool,
    /// Ignore the stored event digests and file hashes (they are rebuilt).
    pub full: bool,
}

#[derive(Debug, Clone)]
pub struct RunSummary {
    pub as_of: NaiveDate,
    pub dir: PathBuf,
    pub findings: usize,
    pub by_severity: BTreeMap<String, usize>,
    pub quarantined: u64,
    pub freeze: usize,
    /// SHA-256 of the new manifest: the tip of the chain, worth keeping outside OUT.
    pub manifest_sha256: String,
}

impl RunSummary {
    pub fn count(&self, severity: Severity) -> usize {
        self.by_severity
            .get(severity.as_str())
            .copied()
            .unwrap_or(0)
    }

    /// Whether a finding of `min` or above exists (`--fail-on`).
    pub fn has_at_or_above(&self, min: Severity) -> bool {
        Severity::ALL
            .iter()
            .any(|level| *level >= min && self.count(*level) > 0)
    }
}

/// The line every run prints per day, for cron mail and log shippers.
impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "permaudit run as_of={} status=ok findings={}",
            self.as_of, self.findings
        )?;
        for level in Severity::ALL.iter().rev() {
            write!(f, " {}={}", level.as_str(), self.count(*level))?;
        }
        write!(
            f,
            " freeze={} quarantined={} manifest_sha256={} out={}",
            self.freeze,
            self.quarantined,
            self.manifest_sha256,
            self.dir.display()
        )
    }
}

/// One day: takes the output directory's lock, runs, releases it.
pub fn run(cfg: &RunConfig, opts: &RunOptions) -> Result<RunSummary> {
    let mut last = None;
    run_range(cfg, &[opts.as_of], &opts.out_dir, opts.flags, |s| {
        last = Some(s.clone())
    })?;
    last.ok_or_else(|| Error::Internal("run produced no summary".into()))
}

/// Several days in date order (a backfill) under one lock, so that no other run can slip
/// in between two of them. Stops at the first failing day: later days' history depends on
/// the earlier ones. `done` is called after each day is committed.
pub fn run_range(
    cfg: &RunConfig,
    dates: &[NaiveDate],
    out_dir: &Path,
    flags: RunFlags,
    mut done: impl FnMut(&RunSummary),
) -> Result<()> {
    let mut dates = dates.to_vec();
    dates.sort();
    dates.dedup();
    // A bad key stops the run before anything is written, the lock file included.
    let signer = cfg
        .signing_key
        .as_ref()
        .map(|k| ManifestSigner::load(k, &cfg.source, flags.strict))
        .transpose()?;
    let _lock = lock::acquire(out_dir)?;
    // Every day's place is checked before any work: a day that cannot be delivered stops
    // the range before anything is written, not after the days before it.
    for as_of in &dates {
        output::check_run_target(out_dir, *as_of)?;
    }
    let progress = Progress::new(dates.len() as u64 * STAGES);
    for as_of in dates {
        let opts = RunOptions {
            as_of,
            out_dir: out_dir.to_path_buf(),
            flags,
        };
        let summary = run_locked(cfg, &opts, signer.as_ref(), &progress)?;
        done(&summary);
    }
    progress.finish();
    Ok(())
}

/// Stages shown by the progress bar for each day.
const STAGES: u64 = 4;

fn run_locked(
    cfg: &RunConfig,
    opts: &RunOptions,
    signer: Option<&ManifestSigner>,
    progress: &Progress,
) -> Result<RunSummary> {
    let started = Instant::now();
    tracing::info!(as_of = %opts.as_of, out = %opts.out_dir.display(), "run started");
    progress.stage(&format!("{} analyse", opts.as_of));
    let inputs = Inputs::from(cfg);
    let renderer = Renderer::new(cfg.templates_dir.as_deref())?;
    let store = Store::open(&opts.out_dir, !opts.flags.full)?;
    // Decisions taken earlier live in OUT; only a run knows OUT, so it reads them here and
    // the rules get plain data.
    let earlier_freezes = history::earlier_freeze_lists(&opts.out_dir, opts.as_of)?;
    let remediation = Remediation {
        revocations: crate::review::remediation::revocations(
            &opts.out_dir,
            crate::time::evaluation_instant(opts.as_of),
        )?,
        freeze_lists: earlier_freezes.clone(),
    };
    let mut a = analyze_with(&inputs, opts.as_of, Some(&store), remediation)?;
    let quarantined = a.ingest.quarantined();
    if opts.flags.strict && quarantined > 0 {
        let detail = a
            .ingest
            .accounts
            .iter()
            .filter(|t| t.rows_quarantined > 0)
            .map(|t| format!("{}: {}", t.table, t.rows_quarantined))
            .collect::<Vec<_>>()
            .join(", ");
        for q in a.ingest.quarantine.iter().take(20) {
            tracing::error!(table = q.table, file = %q.source_file, line = q.line, reason = %q.reason, "quarantined row");
        }
        return Err(Error::Strict {
            count: quarantined,
            detail,
        });
    }

    progress.stage(&format!("{} history", opts.as_of));
    output::recover(&opts.out_dir)?;
    let mut history = history::apply(&opts.out_dir, opts.as_of, &mut a.findings)?;
    history.unreadable_freeze_lists = earlier_freezes
        .iter()
        .filter(|l| l.accounts.is_none())
        .map(|l| l.as_of)
        .collect();
    let freeze = freeze_list(&a.findings, &a.tables.systems, opts.as_of, &earlier_freezes)?;

    progress.stage(&format!("{} write", opts.as_of));
    let write_started = Instant::now();
    let staging = Staging::new(&opts.out_dir, opts.as_of)?;
    write_all(cfg, opts, &a, &history, &freeze, &renderer, &staging.dir)?;
    if let Some(signer) = signer {
        // The bytes on disk are what is signed; in the staging directory like the
        // manifest, so the swap delivers both or neither.
        let manifest = files::read_file(&staging.dir.join(manifest::FILE))?;
        files::write_file(
            &staging.dir.join(SIG_FILE),
            signer.sign(&manifest).as_bytes(),
        )?;
    }
    tracing::info!(
        findings_in = a.findings.height(),
        freeze_rows = freeze.height(),
        quarantine_rows = a.ingest.quarantine.len(),
        jurisdictions = a.policy.jurisdictions.len(),
        elapsed_ms = write_started.elapsed().as_millis() as u64,
        "write done"
    );

    progress.stage(&format!("{} commit", opts.as_of));
    let commit_started = Instant::now();
    let dir = staging.commit()?;
    let manifest_sha256 = files::sha256_file(&dir.join(manifest::FILE))?;
    tracing::info!(
        dir = %dir.display(),
        elapsed_ms = commit_started.elapsed().as_millis() as u64,
        "commit done"
    );
    let mut by_severity = BTreeMap::new();
    for s in a.findings.column("severity")?.str()?.iter().flatten() {
        *by_severity.entry(s.to_string()).or_insert(0) += 1;
    }
    let summary = RunSummary {
        as_of: opts.as_of,
        dir,
        findings: a.findings.height(),
        by_severity,
        quarantined,
        freeze: freeze.height(),
        manifest_sha256,
    };
    // The history below reads the delivered findings back: not beside these.
    drop((a, history, freeze));
    crate::memory::release("written outputs");
    // The run is delivered; indexing it now saves the next run the work, and a crash
    // before this line is repaired by the next run's sync.
    history::sync(&opts.out_dir)?;
    store.commit()?;
    warn_on_broken_links(&opts.out_dir, opts.as_of, &summary.manifest_sha256);
    tracing::info!(
        as_of = %opts.as_of,
        findings = summary.findings,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "run done"
    );
    Ok(summary)
}

/// A rerun of a date that later runs already name as their previous run changes that
/// manifest (unless the output is byte-identical), and `verify` will report those links
/// until the later dates are rerun too. Said here so that the operator learns it now.
fn warn_on_broken_links(out: &Path, as_of: NaiveDate, manifest_sha256: &str) {
    let Ok(later) = output::runs(out) else {
        return;
    };
    for date in later.into_iter().filter(|d| *d > as_of) {
        let path = out
            .join(date.format("%Y-%m-%d").to_string())
            .join(manifest::FILE);
        let Some(prev) = files::read_file(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
            .and_then(|m| m.previous)
        else {
            continue;
        };
        if prev.as_of == as_of && prev.manifest_sha256 != manifest_sha256 {
            tracing::warn!(
                replaced = %as_of,
                later = %date,
                "the later run names the replaced manifest; `permaudit verify` reports this link until that date is rerun"
            );
        }
    }
}

fn write_all(
    cfg: &RunConfig,
    opts: &RunOptions,
    a: &Analysis,
    history: &History,
    freeze: &DataFrame,
    renderer: &Renderer,
    dir: &Path,
) -> Result<()> {
    let written = Written::new(dir);
    let policy_files: Vec<(String, String)> = a
        .policy
        .files
        .iter()
        .map(|(p, h)| {
            (
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                h.clone(),
            )
        })
        .collect();
    let shared = context::Shared {
        coverage: &a.coverage,
        as_of: a.as_of,
        t: a.t,
        config_sha256: &cfg.sha256,
        policy_files: &policy_files,
        ingest: &a.ingest,
        history,
        tables: &a.tables,
    };
    let plan = minimise::Plan::new(cfg.pseudonym_key.as_ref(), &a.policy, &a.homes, &a.tables)?;
    // The run's own files and each jurisdiction's are independent once minimised: written
    // side by side, the largest (the run's findings) first; the first error in this order
    // is the one reported.
    let jobs: Vec<Option<&Jurisdiction>> = std::iter::once(None)
        .chain(a.policy.jurisdictions.iter().map(Some))
        .collect();
    let done = crate::parallel::map_in_order("write", &jobs, |job| match job {
        None => write_run_files(&written, a, freeze, dir).map(|()| None),
        Some(j) => {
            let w = JurisdictionWriter {
                written: &written,
                a,
                opts,
                freeze,
                plan: &plan,
                shared: &shared,
                renderer,
                dir,
            };
            w.write(j).map(Some)
        }
    })?;
    let mut review_state: Vec<(String, String)> = Vec::new();
    let mut exposed = BTreeSet::new();
    for (j, done) in a
        .policy
        .jurisdictions
        .iter()
        .zip(done.into_iter().flatten())
    {
        review_state.extend(done.review_state);
        exposed.extend(done.named);
        if plan.on() {
            tracing::info!(
                jurisdiction = %j.code,
                identities = done.pseudonymous,
                "personal data of other jurisdictions' identities shown under pseudonyms"
            );
        }
    }

    if !plan.on() {
        tracing::warn!(
            identities = exposed.len(),
            "pseudonym_key is not set: the personal data of {} identit(ies) reach the outputs of a jurisdiction other than their home (cross-border data minimisation is off; see docs/configuration.md)",
            exposed.len()
        );
    }

    let manifest = manifest_of(
        cfg,
        a,
        history,
        renderer,
        policy_files,
        review_state,
        written.hashes()?,
    );
    // The manifest is not one of its own outputs: written, not recorded.
    let mut text =
        serde_json::to_string_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    text.push('\n');
    files::write_file(&dir.join(manifest::FILE), text.as_bytes())
}

/// The run's manifest: what was read (configuration, policy, inputs, templates, review
/// state), how many rows and findings, and the hash of every output written.
fn manifest_of(
    cfg: &RunConfig,
    a: &Analysis,
    history: &History,
    renderer: &Renderer,
    policy_files: Vec<(String, String)>,
    review_state: Vec<(String, String)>,
    outputs: Vec<(String, String)>,
) -> Manifest {
    let file_hashes = |list: Vec<(String, String)>| {
        list.into_iter()
            .map(|(path, sha256)| FileHash { path, sha256 })
            .collect()
    };
    Manifest {
        as_of: a.as_of,
        evaluation_instant: chrono::DateTime::from_timestamp_micros(a.t)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        tool: manifest::Tool {
            name: "permaudit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        configuration: manifest::Configuration {
            file: cfg
                .source
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()),
            sha256: cfg.sha256.clone(),
            activity_lookback_days: cfg.activity_lookback_days,
            naive_timestamps_tz: cfg.naive_timestamps_tz.map(|t| t.name().to_string()),
        },
        policy: file_hashes(policy_files),
        inputs: a
            .ingest
            .accounts
            .iter()
            .flat_map(|t| {
                t.files.iter().map(|f| manifest::Input {
                    table: t.table.into(),
                    path: f.path.clone(),
                    bytes: f.bytes,
                    sha256: f.sha256.clone(),
                })
            })
            .collect(),
        ignored_files: a.ingest.ignored_files.clone(),
        review_state: file_hashes(review_state),
        templates: renderer
            .used
            .iter()
            .map(|(name, sha256, overridden)| manifest::Template {
                name: name.clone(),
                sha256: sha256.clone(),
                overridden: *overridden,
            })
            .collect(),
        tables: a
            .ingest
            .accounts
            .iter()
            .map(|t| manifest::TableRows {
                table: t.table.into(),
                rows_read: t.rows_read,
                rows_loaded: t.rows_loaded,
                rows_quarantined: t.rows_quarantined,
            })
            .collect(),
        sources: a.ingest.sources.clone(),
        ip_country_file: a
            .ingest
            .ip_country_file
            .as_ref()
            .map(|f| manifest::FileHash {
                path: f.path.clone(),
                sha256: f.sha256.clone(),
            }),
        findings: a.findings.height() as u64,
        previous: history
            .previous
            .as_ref()
            .map(|(as_of, sha)| manifest::Previous {
                as_of: *as_of,
                manifest_sha256: sha.clone(),
            }),
        outputs: file_hashes(outputs),
    }
}

/// The run's files that hold every jurisdiction's rows.
fn write_run_files(written: &Written, a: &Analysis, freeze: &DataFrame, dir: &Path) -> Result<()> {
    write_csv(written, &a.findings, &dir.join("findings.csv"))?;
    written.file(&dir.join("findings.parquet"), |f| {
        write_parquet(&a.findings, f, &dir.join("findings.parquet"))
    })?;
    write_csv(
        written,
        &quarantine_frame(&a.ingest.quarantine)?,
        &dir.join("quarantine.csv"),
    )?;
    write_csv(written, freeze, &dir.join("freeze_list.csv"))
}

/// What the manifest and the run log need from one jurisdiction's files.
struct JurisdictionDone {
    review_state: Vec<(String, String)>,
    /// People of other jurisdictions its outputs name.
    named: BTreeSet<usize>,
    /// Identities shown under pseudonyms in its report.
    pseudonymous: usize,
}

/// Writes the files of one jurisdiction: everything it reads is shared and read-only, so
/// that jurisdictions can be written in parallel.
struct JurisdictionWriter<'a> {
    written: &'a Written,
    a: &'a Analysis,
    opts: &'a RunOptions,
    freeze: &'a DataFrame,
    plan: &'a minimise::Plan<'a>,
    shared: &'a context::Shared<'a>,
    renderer: &'a Renderer,
    dir: &'a Path,
}

impl JurisdictionWriter<'_> {
    fn write(&self, j: &Jurisdiction) -> Result<JurisdictionDone> {
        let (a, written) = (self.a, self.written);
        // The code becomes a directory name: never trust it further than the policy's rule.
        if !crate::report::safe_dir_name(&j.code) {
            return Err(Error::Internal(format!(
                "jurisdiction code {:?} is not a safe directory name",
                j.code
            )));
        }
        let jdir = self.dir.join(&j.code);
        std::fs::create_dir_all(&jdir).map_err(|e| Error::io(&jdir, e))?;
        let of_j = |df: &DataFrame| {
            df.clone()
                .lazy()
                .filter(col("jurisdiction").eq(lit(j.code.as_str())))
                .collect()
        };
        let review = crate::review::status::latest_summary(&self.opts.out_dir, &j.code, a.as_of)?;
        let review_state = review
            .as_ref()
            .map(|r| r.state_files.clone())
            .unwrap_or_default();
        // The one place where J's outputs lose the personal data of other jurisdictions'
        // people: everything below reads `out`.
        let mut view = self.plan.view(&j.code);
        let out = view.apply(of_j(&a.findings)?, of_j(self.freeze)?, review, &a.tables)?;
        let findings = out.findings;
        write_csv(written, &findings, &jdir.join("findings.csv"))?;
        let rows = context::FrameText::of(&findings)?;
        let path = jdir.join("findings.ocsf.json");
        written.file(&path, |f| {
            ocsf::write(f, j, &rows, a.t).map_err(|e| Error::io(&path, e))
        })?;
        write_json(
            written,
            &jdir.join("summary.json"),
            &summary(j.code.as_str(), &rows, self.shared.history, a),
        )?;
        let shared = context::Shared {
            tables: &out.tables,
            ..*self.shared
        };
        let mut ctx = context::build(j, &rows, &out.freeze, out.review, &shared)?;
        // With pseudonyms, those in the report count too (an approver named nowhere else).
        let shown = match self.plan.on() {
            true => serde_json::to_string(&ctx).map_err(|e| Error::Internal(e.to_string()))?,
            false => String::new(),
        };
        ctx.minimisation = view.summary(&shown);
        for (file, template) in [
            ("report.md", "report.md.j2"),
            ("report.html", "report.html.j2"),
        ] {
            let path = jdir.join(file);
            written.file(&path, |f| {
                let text = self.renderer.render(template, &ctx)?;
                std::io::Write::write_all(f, text.as_bytes()).map_err(|e| Error::io(&path, e))
            })?;
        }
        Ok(JurisdictionDone {
            review_state,
            named: view.named().clone(),
            pseudonymous: ctx.minimisation.pseudonymous,
        })
    }
}

fn write_csv(written: &Written, df: &DataFrame, path: &Path) -> Result<()> {
    written.file(path, |f| write_csv_to(df, f, path))
}

fn write_json(written: &Written, path: &Path, v: &impl serde::Serialize) -> Result<()> {
    written.file(path, |f| {
        serde_json::to_writer_pretty(&mut *f, v).map_err(|e| json_err(path, e))?;
        std::io::Write::write_all(f, b"\n").map_err(|e| Error::io(path, e))
    })
}

/// A JSON write fails on I/O (the values written always serialise).
fn json_err(path: &Path, e: serde_json::Error) -> Error {
    Error::io(path, e.into())
}

fn summary(
    code: &str,
    rows: &context::FrameText,
    history: &History,
    a: &Analysis,
) -> serde_json::Value {
    let mut by_rule: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_sev: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows.iter() {
        let get = |k: &str| r.get(k).unwrap_or_default();
        *by_rule.entry(get("rule")).or_insert(0) += 1;
        *by_sev.entry(get("severity")).or_insert(0) += 1;
        *by_status.entry(get("status")).or_insert(0) += 1;
    }
    let d = history.delta(code);
    json!({
        "jurisdiction": code,
        "as_of": a.as_of.format("%Y-%m-%d").to_string(),
        "findings": rows.len(),
        "by_rule": by_rule,
        "by_severity": by_sev,
        "by_status": by_status,
        "new": d.new,
        "persisting": d.persisting,
        "resolved": d.resolved,
        "previous_as_of": history.previous.as_ref().map(|(p, _)| p.format("%Y-%m-%d").to_string()),
    })
}

/// One row per account to suspend, with every reason and finding that names it.
/// The first day of the unbroken series of runs, ending with this one, whose freeze lists
/// name the account: how long a freeze has been asked for and not carried out.
fn listed_since(
    key: &(String, String),
    as_of: NaiveDate,
    earlier: &[crate::resolve::EarlierFreezeList],
) -> NaiveDate {
    let mut since = as_of;
    for list in earlier.iter().rev() {
        match &list.accounts {
            Some(accounts) if accounts.contains_key(key) => since = list.as_of,
            _ => break,
        }
    }
    since
}

fn freeze_list(
    findings: &DataFrame,
    systems: &DataFrame,
    as_of: NaiveDate,
    earlier: &[crate::resolve::EarlierFreezeList],
) -> Result<DataFrame> {
    type Entry = (String, Vec<String>, Vec<String>);
    let mut accounts: BTreeMap<(String, String), Entry> = BTreeMap::new();
    let mut add = |sys: &str, acc: &str, identity: Option<&str>, rule: &str, id: &str| {
        let e = accounts
            .entry((sys.to_string(), acc.to_string()))
            .or_default();
        if e.0.is_empty() {
            e.0 = identity.unwrap_or_default().to_string();
        }
        if !e.1.iter().any(|r| r == rule) {
            e.1.push(rule.to_string());
        }
        e.2.push(id.to_string());
    };
    let rows = context::FrameText::of(findings)?;
    for r in rows.iter() {
        let get = |k: &str| r.get(k);
        let (Some(rule), Some(id)) = (get("rule"), get("finding_id")) else {
            continue;
        };
        let Some(meta) = rules::meta(rule) else {
            continue;
        };
        for (s, a) in meta.freeze.accounts(get) {
            add(&s, &a, get("identity_id"), rule, id);
        }
    }
    let mut cols: [Vec<String>; 6] = Default::default();
    for ((s, a), (identity, rules, ids)) in accounts {
        let since = listed_since(&(s.clone(), a.clone()), as_of, earlier);
        cols[0].push(s);
        cols[1].push(a);
        cols[2].push(identity);
        cols[3].push(rules.join("; "));
        cols[4].push(ids.join("; "));
        cols[5].push(since.format("%Y-%m-%d").to_string());
    }
    let [s, a, i, reasons, ids, since] = cols;
    let df = df!("system_id" => s, "account_id" => a, "identity_id" => i, "reasons" => reasons, "finding_ids" => ids, "listed_since" => since)?;
    Ok(df
        .lazy()
        .join(
            systems
                .clone()
                .lazy()
                .select([col("system_id"), col("jurisdiction")]),
            [col("system_id")],
            [col("system_id")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("system_id"),
            col("account_id"),
            col("identity_id"),
            col("jurisdiction"),
            col("reasons"),
            col("finding_ids"),
            col("listed_since"),
        ])
        .sort(["system_id", "account_id"], SortMultipleOptions::default())
        .collect()?)
}
