//! The pipeline as one readable function per stage: ingest -> resolve -> detect.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;

use crate::config::RunConfig;
use crate::config::SourceDecl;
use crate::error::{Error, Result};
use crate::ingest::events::ChainChecks;
use crate::ingest::keys::KeepRows;
use crate::ingest::mapped::MappedSource;
use crate::ingest::state::Store;
use crate::ingest::{self, IngestReport, QuarantineRow, Tables};
use crate::policy::Policy;
use crate::resolve::{Ctx, Remediation, Resolved};
use crate::time::{evaluation_instant, MICROS_PER_DAY};
use crate::{findings, rules, source};

/// What a run knows after detection.
pub struct Analysis {
    pub policy: Policy,
    pub tables: Tables,
    pub ingest: IngestReport,
    /// Contract columns, `first_seen` still empty.
    pub findings: DataFrame,
    /// What the controls covered, for the report.
    pub coverage: crate::resolve::Coverage,
    pub as_of: NaiveDate,
    pub t: i64,
    /// identity_id -> home jurisdiction, for cross-border data minimisation.
    pub homes: BTreeMap<String, String>,
}

pub struct Inputs<'a> {
    pub input_dir: &'a Path,
    pub policy_dir: &'a Path,
    pub naive_tz: Option<Tz>,
    pub lookback_days: i64,
    pub sources: SourceInputs<'a>,
}

/// The run configuration's sources (CONTRACT section 7), which ingest reads after the
/// contract files.
#[derive(Debug, Clone, Copy, Default)]
pub struct SourceInputs<'a> {
    pub decls: &'a [SourceDecl],
    /// The configuration file, named in errors about a `[[source]]` block.
    pub config: Option<&'a Path>,
    pub ip_country_file: Option<&'a Path>,
}

impl<'a> From<&'a RunConfig> for Inputs<'a> {
    fn from(cfg: &'a RunConfig) -> Self {
        Inputs {
            input_dir: &cfg.input_dir,
            policy_dir: &cfg.policy_dir,
            naive_tz: cfg.naive_timestamps_tz,
            lookback_days: cfg.activity_lookback_days,
            sources: SourceInputs {
                decls: &cfg.sources,
                config: Some(&cfg.source),
                ip_country_file: cfg.ip_country_file.as_deref(),
            },
        }
    }
}

/// Loads everything, keeping the rows of every event partition.
pub fn load(inputs: &Inputs) -> Result<(Policy, Tables, IngestReport)> {
    let checks = rules::chain_checks();
    load_with(
        inputs,
        Extra::default(),
        &ingest::EventsPlan::all_rows(&checks),
        |_, _| Ok(None),
    )
}

/// What a load reads besides the configured inputs, or leaves out of them.
#[derive(Default)]
pub struct Extra {
    /// Read after the configuration's sources, with the same row checks.
    pub sources: Vec<MappedSource>,
    /// Leaves the audit events unread: for evaluations of only the rules that read no
    /// event (see [`rules::RuleMeta::reads_events`]), which need none of their cost.
    pub skip_events: bool,
}

/// Loads every table but the audit events, plus `extra`'s rows: what the rules that read
/// no event need, in a fraction of a run's time. With `state` (`OUT/state`), the tables a
/// run stored there for the same inputs are used when there are some, and only `extra`'s
/// rows are validated. Nothing is resolved: the caller resolves the part it evaluates.
pub fn load_without_events(
    inputs: &Inputs,
    state: Option<&Path>,
    extra: MappedSource,
) -> Result<(Policy, Tables, IngestReport)> {
    let checks = rules::chain_checks();
    if let Some(state) = state {
        let started = Instant::now();
        let p = prepare(inputs, Vec::new(), true)?;
        let stored = ingest::snapshot::key(&p.discovery, inputs.naive_tz, &p.sod_ids, &p.codes)
            .map_err(|e| tracing::info!(error = %e, "stored tables not looked up"))
            .ok()
            .and_then(|key| ingest::snapshot::read(state, &key, Tables::empty(&checks).ok()?));
        if let Some(mut tables) = stored {
            tables.training_given = p.discovery.gives(ingest::schema::Table::Training);
            let report = ingest::snapshot::add_source(&mut tables, extra, &p.sod_ids, &p.codes)?;
            source::log_accounts(&report.sources);
            check_policy(&p.policy, &tables)?;
            tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "tables of the last run's inputs read from the state"
            );
            return Ok((p.policy, tables, report));
        }
    }
    let extra = Extra {
        sources: vec![extra],
        skip_events: true,
    };
    load_with(
        inputs,
        extra,
        &ingest::EventsPlan::all_rows(&checks),
        |_, _| Ok(None),
    )
}

/// What `check` prints: every quarantined row, then the summary line.
#[derive(Debug, Default)]
pub struct CheckSummary {
    pub quarantine: Vec<QuarantineRow>,
    pub quarantined: u64,
}

/// The `check` command: loads and validates everything, writes nothing.
pub fn check(inputs: &Inputs) -> Result<CheckSummary> {
    let (_, _, report) = load(inputs)?;
    Ok(CheckSummary {
        quarantined: report.quarantined(),
        quarantine: report.quarantine,
    })
}

impl fmt::Display for CheckSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for q in &self.quarantine {
            writeln!(
                f,
                "{}:{}: {} [{}]",
                q.source_file, q.line, q.reason, q.table
            )?;
        }
        write!(
            f,
            "permaudit check status=ok quarantined={}",
            self.quarantined
        )
    }
}

/// What an evaluation at one date reads: the digests of every event partition, the rows
/// of the activity window that some rule reads, and the facts resolved before the events.
pub struct Loaded {
    pub policy: Policy,
    /// The tables without the grants and the events: `resolved` holds the grants the rules
    /// read and `events` the events, and on a large night (millions of rows each) a second
    /// copy here would live through detection and the write stage.
    pub tables: Tables,
    pub ingest: IngestReport,
    pub resolved: Resolved,
    pub events: ingest::Events,
}

/// Loads what an evaluation at `as_of` needs, reusing and storing event digests in `store`
/// when given. The facts that do not depend on events are resolved first, so that the
/// window partitions keep only the rows the rules read ([`rules::window_rows`]).
pub fn load_at(inputs: &Inputs, as_of: NaiveDate, store: Option<&Store>) -> Result<Loaded> {
    let mut resolved = None;
    let checks = rules::chain_checks();
    let (policy, mut tables, ingest) = load_with(
        inputs,
        Extra::default(),
        &window_plan(inputs, as_of, store, &checks),
        |policy, tables| {
            let r = Resolved::build(tables, policy, as_of, inputs.lookback_days)?;
            let rows = rules::window_rows(&r, policy)?;
            resolved = Some(r);
            // Resolved: nothing reads the grants table again, and the partitions come next.
            tables.grants = tables.grants.clear();
            Ok(rows)
        },
    )?;
    let resolved = resolved
        .ok_or_else(|| Error::Internal("ingest loaded the events without resolving".into()))?;
    let events = tables.take_events();
    Ok(Loaded {
        policy,
        tables,
        ingest,
        resolved,
        events,
    })
}

/// The event partitions an evaluation at `as_of` needs rows of: those reaching its
/// activity window (the others contribute their digests only).
fn window_plan<'a>(
    inputs: &Inputs,
    as_of: NaiveDate,
    store: Option<&'a Store>,
    checks: &'a ChainChecks,
) -> ingest::EventsPlan<'a> {
    let t_day = evaluation_instant(as_of).div_euclid(MICROS_PER_DAY);
    ingest::EventsPlan {
        keep_days: Some(t_day - inputs.lookback_days..t_day),
        store,
        checks,
    }
}

/// The policy, and the files a load reads.
struct Prepared {
    policy: Policy,
    discovery: ingest::Discovery,
    countries: Option<ingest::InputFile>,
    /// What rows are checked against: the policy's SoD rule ids, the rule codes.
    sod_ids: Vec<String>,
    codes: Vec<String>,
}

fn prepare(inputs: &Inputs, extra: Vec<MappedSource>, skip_events: bool) -> Result<Prepared> {
    let policy = Policy::load(inputs.policy_dir, &rules::codes())?;
    let (mut sources, countries) = source::open(
        inputs.sources.decls,
        inputs.sources.config.unwrap_or(Path::new("permaudit.toml")),
        inputs.sources.ip_country_file,
    )?;
    sources.extend(extra);
    let mut discovery = ingest::discover(inputs.input_dir, sources)?;
    if skip_events {
        discovery.files.remove(&ingest::schema::Table::AuditEvents);
    }
    for f in &discovery.ignored {
        tracing::info!(file = %f, "ignored input file");
    }
    let sod_ids = policy.sod_rules.iter().map(|r| r.id.clone()).collect();
    let codes = rules::codes().into_iter().map(String::from).collect();
    Ok(Prepared {
        policy,
        discovery,
        countries,
        sod_ids,
        codes,
    })
}

fn load_with(
    inputs: &Inputs,
    extra: Extra,
    plan: &ingest::EventsPlan,
    before_events: impl FnOnce(&Policy, &mut Tables) -> Result<Option<Box<dyn KeepRows>>>,
) -> Result<(Policy, Tables, IngestReport)> {
    let started = Instant::now();
    let p = prepare(inputs, extra.sources, extra.skip_events)?;
    let policy = p.policy;
    let (tables, mut report) = ingest::load(
        &p.discovery,
        inputs.naive_tz,
        &p.sod_ids,
        &p.codes,
        plan,
        |tables| {
            // Before the events' minutes: a policy that does not fit the tables fails now.
            check_policy(&policy, tables)?;
            before_events(&policy, tables)
        },
    )?;
    report.ip_country_file = p.countries;
    source::log_accounts(&report.sources);
    log_unknown_columns(&report.unknown_columns);
    for a in &report.accounts {
        tracing::info!(
            table = a.table,
            rows_read = a.rows_read,
            rows_loaded = a.rows_loaded,
            rows_quarantined = a.rows_quarantined,
            "ingested"
        );
    }
    if !tables.training_given {
        // Not a finding and not an error: the table is optional, but a reader of the
        // report must know that security training was not judged at all.
        tracing::warn!(
            "no training table in the input directory: security training is not evaluated \
             (no overdue-training findings can be raised)"
        );
    }
    let memory = crate::memory::resident();
    tracing::info!(
        rows_read = report.accounts.iter().map(|a| a.rows_read).sum::<u64>(),
        rows_loaded = report.accounts.iter().map(|a| a.rows_loaded).sum::<u64>(),
        rows_quarantined = report.quarantined(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        rss_mib = memory.rss_mib,
        peak_mib = memory.peak_mib,
        "ingest done"
    );
    Ok((policy, tables, report))
}

/// What the policy says about the loaded tables: jurisdictions that exist, SoD controls
/// that can fire.
fn check_policy(policy: &Policy, tables: &Tables) -> Result<()> {
    policy.validate_against_systems(&system_jurisdictions(&tables.systems)?)?;
    warn_on_dead_sod_controls(policy, &tables.entitlements)
}

pub fn analyze(inputs: &Inputs, as_of: NaiveDate) -> Result<Analysis> {
    analyze_with(inputs, as_of, None, Remediation::default())
}

/// Analyses `as_of`, reusing and storing event digests in `store` when given; `remediation`
/// is what the caller read from OUT about decisions taken earlier.
pub fn analyze_with(
    inputs: &Inputs,
    as_of: NaiveDate,
    store: Option<&Store>,
    remediation: Remediation,
) -> Result<Analysis> {
    let Loaded {
        policy,
        tables,
        ingest,
        resolved,
        events,
    } = load_at(inputs, as_of, store)?;
    let started = Instant::now();
    let (detected, t, homes, coverage) = {
        let mut ctx = Ctx::with_events(&tables, events, &policy, as_of, resolved)?;
        ctx.remediation = remediation;
        let memory = crate::memory::resident();
        tracing::info!(
            window_events = ctx.window_events.height(),
            sequenced_raw = ctx.log_chains.raw.height(),
            sequenced_edges = ctx.log_chains.edges.height(),
            grants = ctx.grants.height(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            rss_mib = memory.rss_mib,
            peak_mib = memory.peak_mib,
            "resolve done"
        );
        // Timed on its own: the resolve time above is not part of it.
        let detect_started = Instant::now();
        let detected = findings::detect(&ctx)?;
        let memory = crate::memory::resident();
        tracing::info!(
            grants_in = ctx.grants.height(),
            window_events = ctx.window_events.height(),
            findings = detected.height(),
            elapsed_ms = detect_started.elapsed().as_millis() as u64,
            rss_mib = memory.rss_mib,
            peak_mib = memory.peak_mib,
            "detect done"
        );
        (
            detected,
            ctx.t,
            std::mem::take(&mut ctx.resolved.homes),
            ctx.coverage()?,
        )
    };
    // Only now, the context gone, do the findings take their full size.
    crate::memory::release("detection context");
    let findings = detected.into_frame()?;
    Ok(Analysis {
        policy,
        tables,
        ingest,
        findings,
        coverage,
        as_of,
        t,
        homes,
    })
}

fn system_jurisdictions(systems: &DataFrame) -> Result<Vec<(String, String)>> {
    let ids = systems.column("system_id")?.str()?;
    let js = systems.column("jurisdiction")?.str()?;
    Ok((0..systems.height())
        .filter_map(|i| Some((ids.get(i)?.to_string(), js.get(i)?.to_string())))
        .collect())
}

/// Warns of SoD controls that can never fire (no rules at all, or static patterns that match
/// nothing): a typo or a role id would otherwise disable a control in silence.
fn warn_on_dead_sod_controls(policy: &Policy, entitlements: &DataFrame) -> Result<()> {
    if policy.sod_rules.is_empty() {
        tracing::warn!(
            "sod_rules.toml has `rule = []`: no segregation-of-duties control runs \
             ({} cannot fire)",
            rules::sod_rule_codes().join(" and ")
        );
    }
    let systems = entitlements.column("system_id")?.str()?;
    let ids = entitlements.column("entitlement_id")?.str()?;
    let kinds = entitlements.column("kind")?.str()?;
    let rows: Vec<(&str, &str, &str)> = systems
        .iter()
        .zip(ids.iter())
        .zip(kinds.iter())
        .filter_map(|((s, i), k)| Some((s?, i?, k?)))
        .collect();
    for d in policy.dead_static_patterns(&rows) {
        tracing::warn!(
            sod_rule = %d.rule.id,
            function = %d.function.name,
            pattern = %d.pattern,
            "SoD pattern {}; it can never match",
            d.why
        );
    }
    Ok(())
}

/// Unknown columns are listed once each (contract section 2), however many partitions carry
/// them. One that differs from a contract column only in case, spaces or dashes is most
/// likely a typo that leaves the real column at its default, so it is a warning.
fn log_unknown_columns(unknown: &[(String, String)]) {
    // Per column: the first file naming it, and how many do.
    let mut files: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
    for (file, column) in unknown {
        files.entry(column).or_insert((file, 0)).1 += 1;
    }
    let canonical = |s: &str| s.trim().to_lowercase().replace([' ', '-'], "_");
    for (column, (first, count)) in files {
        let fixed = canonical(column);
        let near = ingest::schema::ALL
            .iter()
            .flat_map(|t| t.columns)
            .find(|c| c.name == fixed && fixed != column);
        match near {
            Some(c) => tracing::warn!(
                column = %format!("{column:?}"),
                first_file = %first,
                files = count,
                "unknown column ignored: it looks like the contract column {:?}, which this file therefore does not have",
                c.name
            ),
            None => {
                tracing::info!(%column, first_file = %first, files = count, "unknown column ignored")
            }
        }
    }
}
