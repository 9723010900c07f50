//! What a jurisdiction's report shows, as plain serialisable data for the templates.
//! Everything is bounded here (rows per rule, per table, evidence per finding) so that a
//! jurisdiction with tens of thousands of findings still gets a readable, small report;
//! the jurisdiction's `findings.csv` always has every row.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use polars::prelude::*;
use serde::Serialize;
use serde_json::Value as Json;

use super::charts;
use super::evidence::{self, time_text, Ev};
use super::review_summary::AccessReviewSummary;
use crate::error::Result;
use crate::history::{Delta, History};
use crate::ingest::{IngestReport, TableAccount, Tables};
use crate::policy::Jurisdiction;
use crate::rules::table::{Detail, Layout, Section, Subject};
use crate::rules::{self, RuleMeta, Summary, REGISTRY};
use crate::severity::Severity;

/// Findings shown per rule in a report; the rest are in the jurisdiction's CSV.
pub const TOP_PER_RULE: usize = 100;
/// Findings shown with their evidence in the whole report: when many rules fire, each
/// shows fewer (never under MIN_PER_RULE) so that the HTML stays a few megabytes.
pub const TOP_TOTAL: usize = 400;
pub const MIN_PER_RULE: usize = 20;
/// Rows shown per table of the log-audit and grading sections.
pub const TOP_PER_TABLE: usize = 50;
/// An exception expiring within this many days of T is flagged.
pub const EXPIRING_DAYS: i64 = 30;

/// Finding columns shown as the subject; evidence does not repeat them.
const KEY_COLUMNS: [&str; 8] = [
    "identity_id",
    "system_id",
    "account_id",
    "grant_id",
    "entitlement_id",
    "sod_rule_id",
    "target_id",
    "seq",
];

/// Sort key of a severity word: most severe first, a word that is none last.
fn severity_rank(s: &str) -> Reverse<Option<Severity>> {
    Reverse(s.parse().ok())
}

#[derive(Serialize)]
pub struct FileHash {
    pub path: String,
    pub sha256: String,
}

#[derive(Serialize)]
pub struct FindingRow {
    pub finding_id: String,
    pub severity: String,
    pub status: String,
    /// (label, value): identity with name, account at system, grant, ...
    pub subject: Vec<(String, String)>,
    pub first_seen: String,
    pub evidence: Vec<Ev>,
}

#[derive(Serialize)]
pub struct RuleSection {
    pub code: &'static str,
    pub title: &'static str,
    pub severity_logic: String,
    pub rationale: &'static str,
    pub remediation: &'static str,
    pub references: Vec<String>,
    pub enabled: bool,
    pub count: usize,
    pub by_severity: Vec<(String, usize)>,
    pub findings: Vec<FindingRow>,
    pub hidden: usize,
}

#[derive(Serialize)]
pub struct QuarantineCount {
    pub table: String,
    pub reason: String,
    pub count: u64,
}

/// One row of a log-audit or grading table.
#[derive(Serialize)]
pub struct Row {
    pub finding_id: String,
    pub severity: String,
    pub status: String,
    pub cells: Vec<String>,
}

#[derive(Serialize)]
pub struct Group {
    pub title: String,
    pub note: String,
    pub count: usize,
    pub rows: Vec<Row>,
}

/// A table of the log-audit or grading sections, built from one or more rules' findings.
#[derive(Serialize)]
pub struct Block {
    pub id: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub rules: Vec<&'static str>,
    pub enabled: bool,
    pub headers: Vec<&'static str>,
    pub groups: Vec<Group>,
    pub count: usize,
    pub hidden: usize,
}

#[derive(Serialize)]
pub struct ExceptionRow {
    pub exception_id: String,
    pub sod_rule_id: String,
    pub identity: String,
    pub approved_by: String,
    pub approved_at: String,
    pub expires_at: String,
    pub control: String,
    /// Whole days from T to expiry (negative once expired).
    pub days_left: i64,
    pub note: String,
    /// Findings of this identity and SoD rule in this jurisdiction that the exception can
    /// mitigate.
    pub findings: Vec<String>,
}

#[derive(Serialize, Default)]
pub struct Exceptions {
    pub total: usize,
    pub in_force: Vec<ExceptionRow>,
    pub expiring: Vec<ExceptionRow>,
    pub expired: Vec<ExceptionRow>,
    pub not_valid: Vec<ExceptionRow>,
}

/// One waiver as the report lists it.
#[derive(Serialize, Clone)]
pub struct WaiverRow {
    pub waiver_id: String,
    pub rule: String,
    /// "system_id = pay-hk, account_id = a1", or "blanket: every finding of the rule".
    pub scope: String,
    pub blanket: bool,
    pub approved_by: String,
    pub approved_at: String,
    pub expires_at: String,
    /// Whole days from T to expiry (negative once expired).
    pub days_left: i64,
    pub reason: String,
    pub ticket: String,
    /// Its state at T: days left, or why it is not valid.
    pub note: String,
    /// Findings of this jurisdiction it waives (the first TOP_PER_TABLE; all counted).
    pub waived: Vec<String>,
    pub waived_count: usize,
    /// Findings of this jurisdiction it covers without waiving them (the waiver is not
    /// valid for them, another waiver decides them, or an SoD exception mitigates them).
    pub not_waived: Vec<String>,
    pub not_waived_count: usize,
}

#[derive(Serialize, Default)]
pub struct Waivers {
    pub total: usize,
    /// Findings of this jurisdiction with status `waived`.
    pub waived_findings: usize,
    pub in_force: Vec<WaiverRow>,
    pub expiring: Vec<WaiverRow>,
    pub not_valid: Vec<WaiverRow>,
    /// Every blanket waiver listed, whatever its state (also in one of the lists above).
    pub blanket: Vec<WaiverRow>,
}

/// What a report says about cross-border data minimisation (CONTRACT section 8), filled by
/// the caller that applied it.
#[derive(Serialize, Default, Clone, Debug, PartialEq)]
pub struct Minimisation {
    /// Whether the run configuration sets `pseudonym_key`.
    pub on: bool,
    /// People of other home jurisdictions shown under a pseudonym in these outputs.
    pub pseudonymous: usize,
    /// With minimisation off: people of other home jurisdictions named with their real
    /// values in this jurisdiction's findings, freeze list or access review.
    pub exposed: usize,
    /// Home jurisdictions whose `share_personal_data_with` names this one: their people are
    /// shown as they are.
    pub shared_by: Vec<String>,
}

/// Holders of access in the jurisdiction and their security training.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingSummary {
    pub holders: u64,
    pub on_time: u64,
    /// Trained, but longer ago than the interval.
    pub overdue: u64,
    pub never: u64,
    pub interval_days: i64,
}

#[derive(Serialize)]
pub struct ReportContext {
    pub code: String,
    pub name: String,
    pub regulator: Option<String>,
    pub timezone: String,
    pub as_of: String,
    pub evaluation_instant: String,
    pub evaluation_instant_utc: String,
    pub tool_version: &'static str,
    pub config_sha256: String,
    pub policy_files: Vec<FileHash>,
    /// The input files by table (then snapshot sources, then the country file): one row
    /// each on the cover, every file in the appendix.
    pub inputs: Vec<InputGroup>,
    /// Input files in all groups.
    pub input_file_count: usize,
    pub systems: Vec<(String, String)>,
    pub total: usize,
    pub by_severity: Vec<(String, u64)>,
    pub by_status: Vec<(String, u64)>,
    pub delta: Delta,
    pub previous_as_of: Option<String>,
    /// Earlier runs whose freeze list could not be used (missing, unreadable, or not the
    /// one their manifest names).
    pub unreadable_freeze_lists: Vec<String>,
    pub runs: usize,
    pub rules: Vec<RuleSection>,
    pub top_per_rule: usize,
    pub exceptions: Exceptions,
    pub waivers: Waivers,
    pub log_audit: Vec<Block>,
    pub grading: Vec<Block>,
    /// The security-training line of the executive summary; None when training is not
    /// judged (no `training` table, or the rule disabled here).
    pub training: Option<TrainingSummary>,
    /// Second factors of the privileged sign-ins in the activity window, with their counts,
    /// most used first.
    pub privileged_mfa_methods: Vec<(String, u64)>,
    pub freeze: Vec<BTreeMap<String, String>>,
    pub tables: Vec<TableAccount>,
    pub rows_read: u64,
    pub rows_loaded: u64,
    pub rows_quarantined: u64,
    pub quarantine: Vec<QuarantineCount>,
    pub severity_svg: String,
    pub trend_svg: String,
    /// The trend as text ("2026-11-23: 20, 2026-11-24: 22") for the Markdown report.
    pub trend_text: String,
    /// The jurisdiction's latest access-review campaign, if any was opened by this as_of.
    pub access_review: Option<AccessReviewSummary>,
    /// How many overdue items the report lists; the rest are in `review status`.
    pub overdue_shown: usize,
    pub minimisation: Minimisation,
}

pub struct Shared<'a> {
    pub coverage: &'a crate::resolve::Coverage,
    pub as_of: NaiveDate,
    pub t: i64,
    pub config_sha256: &'a str,
    pub policy_files: &'a [(String, String)],
    pub ingest: &'a IngestReport,
    pub history: &'a History,
    pub tables: &'a Tables,
}

/// The files a run read of one table (or one snapshot source, or the country file): the
/// report's cover shows the count, the rows and one combined hash (`hash::combined_sha256`),
/// so that it stays one page whatever the number of partitions; the appendix lists `files`.
#[derive(Serialize)]
pub struct InputGroup {
    /// A table's name, `source KIND (PATH)`, or `ip_country_file`.
    pub name: String,
    /// Rows read (records, for a source); `None` where rows do not apply.
    pub rows: Option<u64>,
    /// Empty when the group has no file (an optional table not given).
    pub combined_sha256: String,
    pub files: Vec<FileHash>,
}

impl InputGroup {
    fn new<'f>(
        name: String,
        rows: Option<u64>,
        files: impl IntoIterator<Item = (&'f String, &'f String)>,
    ) -> InputGroup {
        let files: Vec<FileHash> = files
            .into_iter()
            .map(|(path, sha256)| FileHash {
                path: path.clone(),
                sha256: sha256.clone(),
            })
            .collect();
        let combined_sha256 = if files.is_empty() {
            String::new()
        } else {
            crate::hash::combined_sha256(files.iter().map(|f| f.sha256.as_str()))
        };
        InputGroup {
            name,
            rows,
            combined_sha256,
            files,
        }
    }
}

/// Every file a run read, by group: the tables' files (event sources' files among the
/// `audit_events` partitions), then each snapshot source's files (which no table lists),
/// then the country file.
fn input_groups(ingest: &IngestReport) -> Vec<InputGroup> {
    let mut out: Vec<InputGroup> = ingest
        .accounts
        .iter()
        .map(|t| {
            InputGroup::new(
                t.table.to_string(),
                Some(t.rows_read),
                t.files.iter().map(|f| (&f.path, &f.sha256)),
            )
        })
        .collect();
    let listed: std::collections::HashSet<&str> = ingest
        .accounts
        .iter()
        .flat_map(|t| t.files.iter().map(|f| f.path.as_str()))
        .collect();
    for s in &ingest.sources {
        let unlisted: Vec<_> = s
            .files
            .iter()
            .filter(|f| !listed.contains(f.path.as_str()))
            .map(|f| (&f.path, &f.sha256))
            .collect();
        if !unlisted.is_empty() {
            out.push(InputGroup::new(
                format!("source {} ({})", s.kind, s.path),
                Some(s.total.read),
                unlisted,
            ));
        }
    }
    out.extend(
        ingest
            .ip_country_file
            .iter()
            .map(|f| InputGroup::new("ip_country_file".into(), None, [(&f.path, &f.sha256)])),
    );
    out
}

/// Rows of a small frame (systems, the freeze list) as column -> text maps (nulls
/// omitted), for the report context to carry.
pub fn frame_maps(df: &DataFrame) -> Result<Vec<BTreeMap<String, String>>> {
    let text = FrameText::of(df)?;
    Ok(text
        .iter()
        .map(|r| {
            text.names
                .iter()
                .filter_map(|n| r.get(n).map(|v| (n.clone(), v.to_string())))
                .collect()
        })
        .collect())
}

/// A frame's cells as text, read in place. The findings of a dense run are millions of
/// rows: a map of owned strings per finding held them several times over while every
/// output of a jurisdiction was written.
pub struct FrameText {
    names: Vec<String>,
    cols: Vec<StringChunked>,
    height: usize,
}

impl FrameText {
    pub fn of(df: &DataFrame) -> Result<FrameText> {
        let mut names = Vec::with_capacity(df.width());
        let mut cols = Vec::with_capacity(df.width());
        for c in df.columns() {
            names.push(c.name().to_string());
            // One chunk, so that a cell is found without searching the chunks.
            cols.push(c.cast(&DataType::String)?.str()?.rechunk().into_owned());
        }
        Ok(FrameText {
            names,
            cols,
            height: df.height(),
        })
    }

    pub fn len(&self) -> usize {
        self.height
    }

    pub fn is_empty(&self) -> bool {
        self.height == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = FrameRow<'_>> + '_ {
        (0..self.height).map(|i| FrameRow { text: self, i })
    }
}

/// One row of a [`FrameText`].
#[derive(Clone, Copy)]
pub struct FrameRow<'a> {
    text: &'a FrameText,
    i: usize,
}

impl<'a> FrameRow<'a> {
    /// The cell of column `k` (None for a null cell or an absent column).
    pub fn get(&self, k: &str) -> Option<&'a str> {
        let c = self.text.names.iter().position(|n| n == k)?;
        self.text.cols[c].get(self.i)
    }
}

pub fn local_time(t_micros: i64, tz: chrono_tz::Tz) -> String {
    DateTime::<Utc>::from_timestamp_micros(t_micros)
        .map(|d| {
            d.with_timezone(&tz)
                .format("%Y-%m-%d %H:%M:%S %:z")
                .to_string()
        })
        .unwrap_or_default()
}

/// The findings of one jurisdiction, with their parsed details, read by every section.
struct Findings<'a> {
    rows: &'a FrameText,
    names: &'a HashMap<String, String>,
    systems: &'a HashMap<String, String>,
    tz: chrono_tz::Tz,
}

impl<'a> Findings<'a> {
    /// Findings of the given rules, most severe first (stable within a severity).
    fn of(&self, codes: &[&str]) -> Vec<FrameRow<'a>> {
        let mut v: Vec<FrameRow> = self
            .rows
            .iter()
            .filter(|r| r.get("rule").is_some_and(|c| codes.contains(&c)))
            .collect();
        v.sort_by_key(|r| severity_rank(get(*r, "severity")));
        v
    }

    fn identity(&self, id: &str) -> String {
        match self.names.get(id) {
            Some(n) if !n.is_empty() && n != id => format!("{id} ({n})"),
            _ => id.to_string(),
        }
    }

    fn identity_of(&self, r: FrameRow) -> String {
        r.get("identity_id")
            .map(|i| self.identity(i))
            .unwrap_or_else(|| "—".into())
    }

    fn system(&self, id: &str) -> String {
        match self.systems.get(id) {
            Some(n) if !n.is_empty() => format!("{id} ({n})"),
            _ => id.to_string(),
        }
    }

    fn subject(&self, r: FrameRow) -> Vec<(String, String)> {
        let mut s = Vec::new();
        if let Some(i) = r.get("identity_id") {
            s.push(("Identity".into(), self.identity(i)));
        }
        match (r.get("account_id"), r.get("system_id")) {
            (Some(a), Some(sys)) => s.push(("Account".into(), format!("{a} @ {sys}"))),
            (Some(a), None) => s.push(("Account".into(), a.to_string())),
            (None, Some(sys)) => s.push(("System".into(), self.system(sys))),
            (None, None) => {}
        }
        for (col, label) in [
            ("grant_id", "Grant"),
            ("entitlement_id", "Entitlement"),
            ("sod_rule_id", "SoD rule"),
            ("target_id", "Target"),
            ("seq", "Sequence no."),
        ] {
            if let Some(v) = r.get(col) {
                s.push((label.into(), v.to_string()));
            }
        }
        s
    }

    fn account(&self, r: FrameRow) -> String {
        match (r.get("account_id"), r.get("system_id")) {
            (Some(a), Some(s)) => format!("{a} @ {s}"),
            (Some(a), None) => a.to_string(),
            (None, Some(s)) => s.to_string(),
            _ => "—".into(),
        }
    }
}

fn get<'a>(r: FrameRow<'a>, k: &str) -> &'a str {
    r.get(k).unwrap_or_default()
}

fn detail(r: FrameRow) -> Json {
    r.get("detail")
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Json::Null)
}

fn row(r: FrameRow, cells: Vec<String>) -> Row {
    Row {
        finding_id: get(r, "finding_id").to_string(),
        severity: get(r, "severity").to_string(),
        status: get(r, "status").to_string(),
        cells,
    }
}

/// A finding as a rule's table cells see it.
struct Shown<'a> {
    f: &'a Findings<'a>,
    r: FrameRow<'a>,
}

impl Subject for Shown<'_> {
    fn identity(&self) -> String {
        self.f.identity_of(self.r)
    }

    fn account(&self) -> String {
        self.f.account(self.r)
    }

    fn system(&self) -> String {
        self.r
            .get("system_id")
            .map(|s| self.f.system(s))
            .unwrap_or_else(|| "—".into())
    }

    fn column(&self, name: &str) -> Option<String> {
        self.r.get(name).map(str::to_string)
    }

    fn local_time(&self, utc: &str) -> String {
        time_text(utc, self.f.tz)
    }
}

/// The rules' tables of one section, each with its rules, in the place of the last of its
/// rules in the registry.
fn layouts(section: Section) -> Vec<(&'static Layout, Vec<&'static RuleMeta>)> {
    let mut out: Vec<(&'static Layout, Vec<&'static RuleMeta>)> = Vec::new();
    for m in REGISTRY.iter().map(|r| r.meta) {
        let Some(t) = &m.table else { continue };
        if t.layout.section != section {
            continue;
        }
        let mut entry = match out.iter().position(|(l, _)| std::ptr::eq(*l, t.layout)) {
            Some(i) => out.remove(i),
            None => (t.layout, Vec::new()),
        };
        entry.1.push(m);
        out.push(entry);
    }
    out
}

/// A table's findings in groups, showing at most TOP_PER_TABLE rows.
fn block(f: &Findings, j: &Jurisdiction, layout: &'static Layout, metas: &[&RuleMeta]) -> Block {
    let rules: Vec<&'static str> = metas.iter().map(|m| m.code).collect();
    let all = f.of(&rules);
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut shown = 0;
    for &r in &all {
        let json = detail(r);
        let d = Detail::new(&json);
        let (title, note) = layout
            .group
            .map_or_else(|| (String::new(), String::new()), |g| g(&d));
        let g = groups.entry(title.clone()).or_insert_with(|| Group {
            title,
            note,
            count: 0,
            rows: Vec::new(),
        });
        g.count += 1;
        let table = metas
            .iter()
            .find(|m| m.code == get(r, "rule"))
            .and_then(|m| m.table.as_ref());
        if let (true, Some(t)) = (shown < TOP_PER_TABLE, table) {
            g.rows.push(row(r, (t.cells)(&Shown { f, r }, &d)));
            shown += 1;
        }
    }
    Block {
        id: layout.id,
        title: layout.title,
        intro: layout.intro,
        enabled: rules.iter().any(|c| j.rule_enabled(c)),
        rules,
        headers: layout.headers.to_vec(),
        groups: groups.into_values().collect(),
        count: all.len(),
        hidden: all.len() - shown,
    }
}

fn blocks(f: &Findings, j: &Jurisdiction, section: Section) -> Vec<Block> {
    layouts(section)
        .into_iter()
        .map(|(layout, metas)| block(f, j, layout, &metas))
        .collect()
}

/// Text of column `c` of frame `df` per row (nulls as empty).
fn str_col(df: &DataFrame, c: &str) -> Result<Vec<String>> {
    let Ok(col) = df.column(c) else {
        return Ok(vec![String::new(); df.height()]);
    };
    let s = col.cast(&DataType::String)?;
    Ok(s.str()?
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

/// Int64 microsecond column (timestamps in frames are Int64 µs UTC).
fn micros_col(df: &DataFrame, c: &str) -> Result<Vec<Option<i64>>> {
    let Ok(col) = df.column(c) else {
        return Ok(vec![None; df.height()]);
    };
    let s = col.cast(&DataType::Int64)?;
    Ok(s.i64()?.iter().collect())
}

fn exceptions(f: &Findings, tables: &Tables, t: i64) -> Result<Exceptions> {
    let ex = &tables.exceptions;
    let reported: BTreeSet<&str> = f.rows.iter().filter_map(|r| r.get("identity_id")).collect();
    // The findings an exception covers, by (sod rule, identity).
    let mut conflicts: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    let covered = |r: &FrameRow| rules::meta(get(*r, "rule")).is_some_and(|m| m.sod_exceptions);
    for r in f.rows.iter().filter(covered) {
        conflicts
            .entry((get(r, "sod_rule_id"), get(r, "identity_id")))
            .or_default()
            .push(get(r, "finding_id").to_string());
    }
    let ids = str_col(ex, "exception_id")?;
    let rules = str_col(ex, "sod_rule_id")?;
    let who = str_col(ex, "identity_id")?;
    let by = str_col(ex, "approved_by")?;
    let control = str_col(ex, "control")?;
    let at = micros_col(ex, "approved_at")?;
    let until = micros_col(ex, "expires_at")?;
    let mut out = Exceptions::default();
    let day = 86_400_000_000_i64;
    let mut order: Vec<usize> = (0..ex.height())
        .filter(|i| reported.contains(who[*i].as_str()))
        .collect();
    order.sort_by(|a, b| until[*a].cmp(&until[*b]).then(ids[*a].cmp(&ids[*b])));
    for i in order {
        let (Some(approved), Some(expires)) = (at[i], until[i]) else {
            continue;
        };
        let days_left = (expires - t).div_euclid(day);
        let self_approved = by[i] == who[i];
        let row = ExceptionRow {
            exception_id: ids[i].clone(),
            sod_rule_id: rules[i].clone(),
            identity: f.identity(&who[i]),
            approved_by: f.identity(&by[i]),
            approved_at: local_time(approved, f.tz),
            expires_at: local_time(expires, f.tz),
            control: control[i].clone(),
            days_left,
            note: if self_approved {
                "approved by the identity it covers: not valid".into()
            } else if approved >= t {
                "approved after the evaluation instant: not yet in force".into()
            } else if expires < t {
                format!("expired {} day(s) ago", (t - expires).div_euclid(day))
            } else {
                format!("{days_left} day(s) left")
            },
            findings: conflicts
                .get(&(rules[i].as_str(), who[i].as_str()))
                .cloned()
                .unwrap_or_default(),
        };
        out.total += 1;
        // Validity as the contract defines it: approved_at < T <= expires_at, approver
        // differs from the identity.
        if expires < t {
            out.expired.push(row);
        } else if self_approved || approved >= t {
            out.not_valid.push(row);
        } else if expires - t <= EXPIRING_DAYS * day {
            out.expiring.push(row);
        } else {
            out.in_force.push(row);
        }
    }
    Ok(out)
}

/// The waivers that concern this jurisdiction: those covering one of its findings, those
/// scoped to one of its systems, and those scoped to no system that could cover a finding
/// here (blanket, or naming an identity with an account on one of its systems).
fn waivers(f: &Findings, j: &Jurisdiction, tables: &Tables, t: i64) -> Result<Waivers> {
    let all = crate::waivers::load(tables, t)?;
    let mut out = Waivers {
        waived_findings: f
            .rows
            .iter()
            .filter(|r| get(*r, "status") == "waived")
            .count(),
        ..Waivers::default()
    };
    if all.is_empty() {
        return Ok(out);
    }
    let here: BTreeSet<String> = str_col(&tables.systems, "system_id")?
        .into_iter()
        .zip(str_col(&tables.systems, "jurisdiction")?)
        .filter(|(_, jc)| *jc == j.code)
        .map(|(s, _)| s)
        .collect();
    let with_account_here: BTreeSet<String> = str_col(&tables.accounts, "system_id")?
        .into_iter()
        .zip(str_col(&tables.accounts, "identity_id")?)
        .filter(|(s, i)| here.contains(s) && !i.is_empty())
        .map(|(_, i)| i)
        .collect();
    // Per waiver: the findings here it covers, and those it waives.
    let mut covered: Vec<Vec<String>> = vec![Vec::new(); all.len()];
    let mut waived: Vec<Vec<String>> = vec![Vec::new(); all.len()];
    let mut self_covered = vec![false; all.len()];
    for r in f.rows.iter() {
        let rule = get(r, "rule");
        let column = |c: &str| r.get(c).map(str::to_string);
        let id = get(r, "finding_id").to_string();
        for (k, w) in all.iter().enumerate() {
            if w.covers(rule, &column) {
                covered[k].push(id.clone());
                self_covered[k] |= get(r, "identity_id") == w.approved_by;
            }
        }
        if get(r, "status") == "waived" {
            if let Some((w, _)) = crate::waivers::deciding(&all, rule, &column) {
                if let Some(k) = all.iter().position(|x| std::ptr::eq(x, w)) {
                    waived[k].push(id);
                }
            }
        }
    }
    let day = crate::time::MICROS_PER_DAY;
    for (k, w) in all.iter().enumerate() {
        let system = w.scope.iter().find(|(c, _)| *c == "system_id");
        let identity = w.scope.iter().find(|(c, _)| *c == "identity_id");
        let concerns = !covered[k].is_empty()
            || match (system, identity) {
                (Some((_, s)), _) => here.contains(s),
                (None, Some((_, i))) => with_account_here.contains(i),
                (None, None) => true,
            };
        if !concerns {
            continue;
        }
        let days_left = (w.expires_at - t).div_euclid(day);
        let mut why: Vec<&str> = w.problems.iter().map(|p| p.as_str()).collect();
        if w.self_scoped() {
            why.push("self-approved: it covers its own approver");
        }
        let valid = why.is_empty();
        let mut note = if valid {
            format!("{days_left} day(s) left")
        } else {
            why.join(", ")
        };
        if w.problems.contains(&crate::waivers::Problem::Expired) {
            note = format!("{note} ({} day(s) ago)", (t - w.expires_at).div_euclid(day));
        }
        if valid && self_covered[k] {
            note.push_str("; not valid for the findings of its approver (self-approved)");
        }
        let waived_here: BTreeSet<&String> = waived[k].iter().collect();
        let not_waived: Vec<String> = covered[k]
            .iter()
            .filter(|id| !waived_here.contains(id))
            .cloned()
            .collect();
        let row = WaiverRow {
            waiver_id: w.waiver_id.clone(),
            rule: w.rule.clone(),
            scope: if w.blanket() {
                "blanket: every finding of the rule".into()
            } else {
                w.scope
                    .iter()
                    .map(|(c, v)| format!("{c} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            blanket: w.blanket(),
            approved_by: f.identity(&w.approved_by),
            approved_at: local_time(w.approved_at, f.tz),
            expires_at: local_time(w.expires_at, f.tz),
            days_left,
            reason: w.reason.clone(),
            ticket: w.ticket.clone().unwrap_or_default(),
            note,
            waived: waived[k].iter().take(TOP_PER_TABLE).cloned().collect(),
            waived_count: waived[k].len(),
            not_waived_count: not_waived.len(),
            not_waived: not_waived.into_iter().take(TOP_PER_TABLE).collect(),
        };
        out.total += 1;
        let blanket = w.blanket().then(|| row.clone());
        if !valid {
            out.not_valid.push(row);
        } else if w.expires_at - t <= EXPIRING_DAYS * day {
            out.expiring.push(row);
        } else {
            out.in_force.push(row);
        }
        out.blanket.extend(blanket);
    }
    // Soonest expiry first, as for exceptions: what needs attention comes first.
    for list in [
        &mut out.in_force,
        &mut out.expiring,
        &mut out.not_valid,
        &mut out.blanket,
    ] {
        list.sort_by(|a, b| {
            a.days_left
                .cmp(&b.days_left)
                .then(a.waiver_id.cmp(&b.waiver_id))
        });
    }
    Ok(out)
}

/// The training line from the holders the controls judged and the findings of the rule
/// that counts into it (the rule tells "never trained" from "overdue").
fn training(f: &Findings, j: &Jurisdiction, shared: &Shared) -> Option<TrainingSummary> {
    let (code, never_trained) = REGISTRY.iter().find_map(|r| {
        r.meta
            .summary
            .map(|Summary::Training { never }| (r.meta.code, never))
    })?;
    let holders = shared.coverage.training_holders.as_ref()?;
    if !j.rule_enabled(code) {
        return None;
    }
    let holders = holders.get(&j.code).copied().unwrap_or(0);
    let (mut overdue, mut never) = (0, 0);
    for r in f.of(&[code]) {
        let json = detail(r);
        if never_trained(&Detail::new(&json)) {
            never += 1;
        } else {
            overdue += 1;
        }
    }
    Some(TrainingSummary {
        holders,
        on_time: holders.saturating_sub(overdue + never),
        overdue,
        never,
        interval_days: j.security_training_interval_days,
    })
}

fn pairs_map(df: &DataFrame, key: &str, value: &str) -> Result<HashMap<String, String>> {
    let k = str_col(df, key)?;
    let v = str_col(df, value)?;
    Ok(k.into_iter().zip(v).collect())
}

/// One section per rule, each listing at most `per_rule` findings (the number returned) so
/// that the report stays readable however many findings there are.
fn rule_sections(f: &Findings, j: &Jurisdiction) -> (Vec<RuleSection>, usize) {
    let rows = f.rows;
    let firing = REGISTRY
        .iter()
        .filter(|r| rows.iter().any(|x| get(x, "rule") == r.meta.code))
        .count()
        .max(1);
    let per_rule = (TOP_TOTAL / firing).clamp(MIN_PER_RULE, TOP_PER_RULE);
    let mut sections = Vec::new();
    for rule in REGISTRY {
        let m = rule.meta;
        let of_rule = f.of(&[m.code]);
        let mut references: Vec<String> = m.references.iter().map(|s| s.to_string()).collect();
        for r in j.references.get(m.code).into_iter().flatten() {
            if !references.contains(r) {
                references.push(r.clone());
            }
        }
        let findings = of_rule
            .iter()
            .take(per_rule)
            .map(|&r| FindingRow {
                finding_id: get(r, "finding_id").to_string(),
                severity: get(r, "severity").to_string(),
                status: get(r, "status").to_string(),
                first_seen: get(r, "first_seen").to_string(),
                subject: f.subject(r),
                evidence: evidence::evidence(
                    get(r, "detail"),
                    j.timezone,
                    &KEY_COLUMNS
                        .iter()
                        .filter_map(|c| r.get(c).map(|v| (*c, v)))
                        .collect::<Vec<_>>(),
                ),
            })
            .collect();
        sections.push(RuleSection {
            code: m.code,
            title: m.title,
            severity_logic: m.severity.to_string(),
            rationale: m.rationale,
            remediation: m.remediation,
            references,
            enabled: j.rule_enabled(m.code),
            count: of_rule.len(),
            by_severity: Severity::most_severe_first()
                .map(|s| {
                    (
                        s.to_string(),
                        of_rule
                            .iter()
                            .filter(|r| get(**r, "severity") == s.as_str())
                            .count(),
                    )
                })
                .filter(|(_, n)| *n > 0)
                .collect(),
            hidden: of_rule.len().saturating_sub(per_rule),
            findings,
        });
    }
    (sections, per_rule)
}

/// Quarantined rows counted by table and the class of their reason.
fn quarantine_counts(ingest: &IngestReport) -> Vec<QuarantineCount> {
    let mut quarantine: BTreeMap<(String, String), u64> = BTreeMap::new();
    for q in &ingest.quarantine {
        // The reason's class (before any row-specific detail) keeps the table short.
        let class = q
            .reason
            .split([':', '('])
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        *quarantine.entry((q.table.to_string(), class)).or_insert(0) += 1;
    }
    quarantine
        .into_iter()
        .map(|((table, reason), count)| QuarantineCount {
            table,
            reason,
            count,
        })
        .collect()
}

/// The jurisdiction's systems, (id, name).
fn systems_of(systems: &DataFrame, j: &Jurisdiction) -> Result<Vec<(String, String)>> {
    let sys_rows = frame_maps(systems)?;
    Ok(sys_rows
        .iter()
        .filter(|r| r.get("jurisdiction") == Some(&j.code))
        .map(|r| {
            (
                r.get("system_id").cloned().unwrap_or_default(),
                r.get("name").cloned().unwrap_or_default(),
            )
        })
        .collect())
}

/// The methods of the jurisdiction's privileged logins, the most used first.
fn privileged_mfa_methods(shared: &Shared, j: &Jurisdiction) -> Vec<(String, u64)> {
    let mut m: Vec<(String, u64)> = shared
        .coverage
        .privileged_mfa_methods
        .get(&j.code)
        .map(|m| m.iter().map(|(k, n)| (k.clone(), *n)).collect())
        .unwrap_or_default();
    m.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    m
}

/// The context of a jurisdiction's report; `rows` are its findings.
pub fn build(
    j: &Jurisdiction,
    rows: &FrameText,
    freeze: &DataFrame,
    access_review: Option<AccessReviewSummary>,
    shared: &Shared,
) -> Result<ReportContext> {
    let names = pairs_map(&shared.tables.identities, "identity_id", "display_name")?;
    let system_names = pairs_map(&shared.tables.systems, "system_id", "name")?;
    let f = Findings {
        rows,
        names: &names,
        systems: &system_names,
        tz: j.timezone,
    };

    let mut by_sev: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_stat: BTreeMap<String, u64> = BTreeMap::new();
    for r in rows.iter() {
        *by_sev.entry(get(r, "severity").to_string()).or_insert(0) += 1;
        *by_stat.entry(get(r, "status").to_string()).or_insert(0) += 1;
    }
    let by_severity: Vec<(String, u64)> = Severity::most_severe_first()
        .map(|s| (s.to_string(), by_sev.get(s.as_str()).copied().unwrap_or(0)))
        .collect();

    let (rules, per_rule) = rule_sections(&f, j);

    let trend: Vec<(String, u64)> = shared
        .history
        .trend
        .iter()
        .map(|(d, m)| {
            (
                d.format("%Y-%m-%d").to_string(),
                m.get(&j.code).copied().unwrap_or(0),
            )
        })
        .collect();
    let tables = shared.ingest.accounts.clone();
    let inputs = input_groups(shared.ingest);
    let input_file_count = inputs.iter().map(|g| g.files.len()).sum();
    Ok(ReportContext {
        code: j.code.clone(),
        name: j.name.clone(),
        regulator: j.regulator.clone(),
        timezone: j.timezone.name().to_string(),
        as_of: shared.as_of.format("%Y-%m-%d").to_string(),
        evaluation_instant: local_time(shared.t, j.timezone),
        evaluation_instant_utc: local_time(shared.t, chrono_tz::UTC),
        tool_version: env!("CARGO_PKG_VERSION"),
        config_sha256: shared.config_sha256.to_string(),
        policy_files: shared
            .policy_files
            .iter()
            .map(|(p, h)| FileHash {
                path: p.clone(),
                sha256: h.clone(),
            })
            .collect(),
        inputs,
        input_file_count,
        systems: systems_of(&shared.tables.systems, j)?,
        total: rows.len(),
        severity_svg: charts::severity_bars(&by_severity),
        by_severity,
        by_status: by_stat.into_iter().collect(),
        delta: shared.history.delta(&j.code),
        previous_as_of: shared
            .history
            .previous
            .as_ref()
            .map(|(d, _)| d.format("%Y-%m-%d").to_string()),
        unreadable_freeze_lists: shared
            .history
            .unreadable_freeze_lists
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect(),
        runs: trend.len(),
        exceptions: exceptions(&f, shared.tables, shared.t)?,
        waivers: waivers(&f, j, shared.tables, shared.t)?,
        log_audit: blocks(&f, j, Section::LogAudit),
        grading: blocks(&f, j, Section::Grading),
        training: training(&f, j, shared),
        privileged_mfa_methods: privileged_mfa_methods(shared, j),
        rules,
        top_per_rule: per_rule,
        freeze: frame_maps(freeze)?,
        rows_read: tables.iter().map(|t| t.rows_read).sum(),
        rows_loaded: tables.iter().map(|t| t.rows_loaded).sum(),
        rows_quarantined: tables.iter().map(|t| t.rows_quarantined).sum(),
        tables,
        quarantine: quarantine_counts(shared.ingest),
        trend_text: trend
            .iter()
            .map(|(d, n)| format!("{d}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        trend_svg: charts::trend(&trend),
        access_review,
        overdue_shown: TOP_PER_TABLE,
        minimisation: Minimisation::default(),
    })
}
