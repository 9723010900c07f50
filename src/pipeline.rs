//! The pipeline as one readable function per stage: ingest -> resolve -> detect.

use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;

use crate::error::Result;
use crate::ingest::{self, IngestReport, Tables};
use crate::policy::Policy;
use crate::resolve::Ctx;
use crate::{findings, rules};

/// What a run knows after detection.
pub struct Analysis {
    pub policy: Policy,
    pub tables: Tables,
    pub ingest: IngestReport,
    /// Contract columns, `first_seen` still empty.
    pub findings: DataFrame,
    pub as_of: NaiveDate,
    pub t: i64,
}

pub struct Inputs<'a> {
    pub input_dir: &'a Path,
    pub policy_dir: &'a Path,
    pub naive_tz: Option<Tz>,
    pub lookback_days: i64,
}

pub fn load(inputs: &Inputs) -> Result<(Policy, Tables, IngestReport)> {
    let started = Instant::now();
    let policy = Policy::load(inputs.policy_dir, &rules::codes())?;
    let discovery = ingest::discover(inputs.input_dir)?;
    for f in &discovery.ignored {
        tracing::info!(file = %f, "ignored input file");
    }
    let sod_ids = policy.sod_rules.iter().map(|r| r.id.clone());
    let (tables, report) = ingest::load(&discovery, inputs.naive_tz, sod_ids)?;
    for (file, column) in &report.unknown_columns {
        tracing::info!(%file, %column, "unknown column ignored");
    }
    for a in &report.accounts {
        tracing::info!(
            table = a.table,
            rows_read = a.rows_read,
            rows_loaded = a.rows_loaded,
            rows_quarantined = a.rows_quarantined,
            "ingested"
        );
    }
    policy.validate_against_systems(&system_jurisdictions(&tables.systems)?)?;
    tracing::info!(
        rows_read = report.accounts.iter().map(|a| a.rows_read).sum::<u64>(),
        rows_loaded = report.accounts.iter().map(|a| a.rows_loaded).sum::<u64>(),
        rows_quarantined = report.quarantined(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "ingest done"
    );
    Ok((policy, tables, report))
}

pub fn analyze(inputs: &Inputs, as_of: NaiveDate) -> Result<Analysis> {
    let (policy, tables, ingest) = load(inputs)?;
    let started = Instant::now();
    let (findings, t) = {
        let ctx = Ctx::build(&tables, &policy, as_of, inputs.lookback_days)?;
        tracing::info!(
            grants_in = tables.grants.height(),
            events_in = tables.audit_events.height(),
            grants = ctx.grants.height(),
            events = ctx.events.height(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "resolve done"
        );
        // Timed on its own: the resolve time above is not part of it.
        let detect_started = Instant::now();
        let findings = findings::detect(&ctx)?;
        tracing::info!(
            grants_in = ctx.grants.height(),
            events_in = ctx.events.height(),
            findings = findings.height(),
            elapsed_ms = detect_started.elapsed().as_millis() as u64,
            "detect done"
        );
        (findings, ctx.t)
    };
    Ok(Analysis {
        policy,
        tables,
        ingest,
        findings,
        as_of,
        t,
    })
}

fn system_jurisdictions(systems: &DataFrame) -> Result<Vec<(String, String)>> {
    let ids = systems.column("system_id")?.str()?;
    let js = systems.column("jurisdiction")?.str()?;
    Ok((0..systems.height())
        .filter_map(|i| Some((ids.get(i)?.to_string(), js.get(i)?.to_string())))
        .collect())
}
