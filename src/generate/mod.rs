//! `permaudit generate`: a deterministic synthetic payment platform at benchmark scale.
//!
//! The data set conforms to the data contract (docs/inputs.md) so that `permaudit run` loads it
//! without quarantine: five jurisdictions, per-jurisdiction systems plus a group IAM, nested
//! roles, about three accounts and thirty grants per identity, skewed activity (hot
//! systems, heavy users and service accounts, weekday peaks), sequenced and hash-chained
//! logs on some systems, and planted cases of every rule at low rates (about one finding
//! per grant with `--findings dense`).
//!
//! Determinism: every random choice comes from a seeded SplitMix64 stream; static tables
//! use one stream in a fixed order, each day uses its own stream derived from (seed, day),
//! so days can be generated in parallel and the bytes do not depend on thread timing.
//! Memory: days are generated, chained and written in small batches, never all at once.

mod accounts;
mod catalogue;
mod events;
mod identities;
mod model;
mod plant;
mod policy;
mod rng;
mod systems;
mod tables;
mod world;

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;

use crate::error::{Error, Result};
use events::write_events;
use policy::write_policy;
use tables::write_static;
use world::build_world;

/// Benchmark sizes: small, medium and large platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    Small,
    Medium,
    Large,
}

impl Preset {
    /// (identities, days, events per day)
    pub fn sizes(self) -> (usize, u32, usize) {
        match self {
            Preset::Small => (2_000, 30, 20_000),
            Preset::Medium => (20_000, 90, 200_000),
            Preset::Large => (100_000, 90, 1_100_000),
        }
    }
}

/// How many cases are planted. `Sparse` (the presets) plants a few of each rule, so that the
/// findings are a small fraction of the grants; `Dense` adds, after every sparse draw, about
/// one finding per grant (SoD conflicts, stale, expired, self-approved and unapproved
/// privileged grants, SoD transactions), as a first run at a real company finds them (a
/// first risk analysis reports hundreds of thousands of violations). Sparse data sets do not
/// change with this option.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Findings {
    #[default]
    Sparse,
    Dense,
}

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub out: PathBuf,
    pub seed: u64,
    pub identities: usize,
    pub days: u32,
    pub events_per_day: usize,
    pub findings: Findings,
    /// Replace `input/` and `policy/` of an earlier generation in `out`.
    pub force: bool,
}

#[derive(Debug, Clone, Default)]
pub struct GenSummary {
    pub as_of: Option<NaiveDate>,
    pub systems: usize,
    pub identities: usize,
    pub accounts: usize,
    pub entitlements: usize,
    pub grants: usize,
    pub events: u64,
    pub days: u32,
    /// Per rule code: how many findings the planted cases make, for the rules whose plant
    /// knows the number exactly (the others plant at a rate, and their cases can overlap).
    pub planted_findings: Vec<(&'static str, usize)>,
}

/// The line `generate` prints.
impl std::fmt::Display for GenSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "permaudit generate status=ok as_of={} systems={} identities={} accounts={} entitlements={} grants={} days={} events={}",
            self.as_of.map(|d| d.to_string()).unwrap_or_default(),
            self.systems,
            self.identities,
            self.accounts,
            self.entitlements,
            self.grants,
            self.days,
            self.events
        )
    }
}

/// The last generated day, fixed so that the same seed gives the same bytes on any date.
pub const AS_OF: (i32, u32, u32) = (2026, 11, 24);
const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;
const MIN_US: i64 = 60_000_000;
/// Activity window written to the generated permaudit.toml; planted event cases fall in it.
const LOOKBACK_DAYS: u32 = 30;

pub fn generate(opts: &GenOptions) -> Result<GenSummary> {
    check(opts)?;
    let input = opts.out.join("input");
    let policy = opts.out.join("policy");
    fresh_dirs(opts, &[&input, &policy])?;
    let started = Instant::now();
    let w = build_world(opts.seed, opts.identities, opts.days, opts.findings)?;
    tracing::info!(
        identities = w.identities.len(),
        accounts = w.accounts.len(),
        grants = w.grants.len(),
        planted_findings = ?w.planted_findings,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "generated the static tables"
    );
    write_static(&w, &input)?;
    let as_of = w.date(opts.days as i64 - 1);
    write_policy(&policy, &opts.out.join("permaudit.toml"), opts, as_of)?;
    let events = write_events(&w, opts, &input)?;
    tracing::info!(
        events,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "generated the audit events"
    );
    Ok(GenSummary {
        as_of: Some(as_of),
        systems: w.systems.len(),
        identities: w.identities.len(),
        accounts: w.accounts.iter().filter(|a| !a.ghost).count(),
        entitlements: w.systems.iter().map(|s| s.ents.len()).sum(),
        grants: w.grants.len(),
        events,
        days: opts.days,
        planted_findings: w.planted_findings.clone(),
    })
}

fn check(opts: &GenOptions) -> Result<()> {
    if opts.identities < 20 || opts.identities > 10_000_000 {
        return Err(Error::input(
            "--identities",
            "must be between 20 and 10,000,000",
        ));
    }
    if opts.days == 0 || opts.days > 3_650 {
        return Err(Error::input("--days", "must be between 1 and 3,650"));
    }
    if opts.events_per_day > 50_000_000 {
        return Err(Error::input(
            "--events-per-day",
            "must be at most 50,000,000",
        ));
    }
    Ok(())
}

/// Creates the directories, replacing those of an earlier generation only with `--force`.
fn fresh_dirs(opts: &GenOptions, dirs: &[&PathBuf]) -> Result<()> {
    for &dir in dirs {
        if dir.exists() {
            if !opts.force {
                return Err(Error::input(
                    dir.display().to_string(),
                    "already exists: choose an empty directory or pass --force to replace it",
                ));
            }
            // Only the two directories this command creates are removed, so that stale
            // partitions of an earlier, longer generation cannot linger.
            fs::remove_dir_all(dir).map_err(|e| Error::io(dir.as_path(), e))?;
        }
        fs::create_dir_all(dir).map_err(|e| Error::io(dir.as_path(), e))?;
    }
    Ok(())
}
