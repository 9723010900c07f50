//! What a jurisdiction's report shows, as plain serialisable data for the templates.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use polars::prelude::*;
use serde::Serialize;

use super::charts;
use crate::error::Result;
use crate::history::{Delta, History};
use crate::ingest::{IngestReport, InputFile, TableAccount};
use crate::policy::Jurisdiction;
use crate::rules::REGISTRY;

/// Findings shown per rule in a report; the rest are in the jurisdiction's CSV.
pub const TOP_PER_RULE: usize = 100;

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
    pub subject: String,
    pub first_seen: String,
    pub columns: Vec<(String, String)>,
    pub evidence: Vec<(String, String)>,
}

#[derive(Serialize)]
pub struct RuleSection {
    pub code: &'static str,
    pub title: &'static str,
    pub severity_logic: &'static str,
    pub rationale: &'static str,
    pub remediation: &'static str,
    pub references: Vec<String>,
    pub enabled: bool,
    pub count: usize,
    pub findings: Vec<FindingRow>,
    pub hidden: usize,
}

#[derive(Serialize)]
pub struct QuarantineCount {
    pub table: String,
    pub reason: String,
    pub count: u64,
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
    pub input_files: Vec<FileHash>,
    pub systems: Vec<(String, String)>,
    pub total: usize,
    pub by_severity: Vec<(String, u64)>,
    pub delta: Delta,
    pub previous_as_of: Option<String>,
    pub rules: Vec<RuleSection>,
    pub freeze: Vec<BTreeMap<String, String>>,
    pub tables: Vec<TableAccount>,
    pub quarantine: Vec<QuarantineCount>,
    pub severity_svg: String,
    pub trend_svg: String,
}

pub struct Shared<'a> {
    pub as_of: NaiveDate,
    pub t: i64,
    pub config_sha256: &'a str,
    pub policy_files: &'a [(String, String)],
    pub ingest: &'a IngestReport,
    pub history: &'a History,
    pub systems: &'a DataFrame,
}

/// Rows of a frame as column -> text maps (nulls omitted).
pub fn frame_rows(df: &DataFrame) -> Result<Vec<BTreeMap<String, String>>> {
    let cols: Vec<(String, Column)> = df
        .columns()
        .iter()
        .map(|c| Ok((c.name().to_string(), c.cast(&DataType::String)?)))
        .collect::<PolarsResult<_>>()?;
    let strs: Vec<(&String, &StringChunked)> = cols
        .iter()
        .map(|(n, c)| Ok((n, c.str()?)))
        .collect::<PolarsResult<_>>()?;
    Ok((0..df.height())
        .map(|i| {
            strs.iter()
                .filter_map(|(n, c)| c.get(i).map(|v| ((*n).clone(), v.to_string())))
                .collect()
        })
        .collect())
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

fn evidence(detail: &str) -> Vec<(String, String)> {
    match serde_json::from_str::<serde_json::Value>(detail) {
        Ok(serde_json::Value::Object(m)) => m
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => "—".to_string(),
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect(),
        _ => vec![("detail".to_string(), detail.to_string())],
    }
}

pub fn build(
    j: &Jurisdiction,
    findings: &DataFrame,
    freeze: &DataFrame,
    shared: &Shared,
) -> Result<ReportContext> {
    let rows = frame_rows(findings)?;
    let mut by_sev: BTreeMap<String, u64> = BTreeMap::new();
    for r in &rows {
        *by_sev
            .entry(r.get("severity").cloned().unwrap_or_default())
            .or_insert(0) += 1;
    }
    let by_severity: Vec<(String, u64)> = ["critical", "high", "medium", "low"]
        .iter()
        .map(|s| (s.to_string(), by_sev.get(*s).copied().unwrap_or(0)))
        .collect();

    let mut rules = Vec::new();
    for rule in REGISTRY {
        let m = rule.meta;
        let of_rule: Vec<&BTreeMap<String, String>> = rows
            .iter()
            .filter(|r| r.get("rule").map(String::as_str) == Some(m.code))
            .collect();
        let mut references: Vec<String> = m.references.iter().map(|s| s.to_string()).collect();
        for r in j.references.get(m.code).into_iter().flatten() {
            if !references.contains(r) {
                references.push(r.clone());
            }
        }
        let findings = of_rule
            .iter()
            .take(TOP_PER_RULE)
            .map(|r| {
                let columns: Vec<(String, String)> = KEY_COLUMNS
                    .iter()
                    .filter_map(|c| r.get(*c).map(|v| (c.to_string(), v.clone())))
                    .collect();
                let subject = columns
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" / ");
                FindingRow {
                    finding_id: r.get("finding_id").cloned().unwrap_or_default(),
                    severity: r.get("severity").cloned().unwrap_or_default(),
                    status: r.get("status").cloned().unwrap_or_default(),
                    first_seen: r.get("first_seen").cloned().unwrap_or_default(),
                    subject,
                    columns,
                    evidence: evidence(r.get("detail").map(String::as_str).unwrap_or("")),
                }
            })
            .collect();
        rules.push(RuleSection {
            code: m.code,
            title: m.title,
            severity_logic: m.severity,
            rationale: m.rationale,
            remediation: m.remediation,
            references,
            enabled: j.rule_enabled(m.code),
            count: of_rule.len(),
            hidden: of_rule.len().saturating_sub(TOP_PER_RULE),
            findings,
        });
    }

    let mut quarantine: BTreeMap<(String, String), u64> = BTreeMap::new();
    for q in &shared.ingest.quarantine {
        let class = q
            .reason
            .split([':', '('])
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        *quarantine.entry((q.table.to_string(), class)).or_insert(0) += 1;
    }
    let sys_rows = frame_rows(shared.systems)?;
    let systems = sys_rows
        .iter()
        .filter(|r| r.get("jurisdiction") == Some(&j.code))
        .map(|r| {
            (
                r.get("system_id").cloned().unwrap_or_default(),
                r.get("name").cloned().unwrap_or_default(),
            )
        })
        .collect();
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
    let file_hash = |f: &InputFile| FileHash {
        path: f.path.clone(),
        sha256: f.sha256.clone(),
    };
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
        input_files: shared
            .ingest
            .accounts
            .iter()
            .flat_map(|a| a.files.iter().map(file_hash))
            .collect(),
        systems,
        total: rows.len(),
        severity_svg: charts::severity_bars(&by_severity),
        by_severity,
        delta: shared.history.delta(&j.code),
        previous_as_of: shared
            .history
            .previous
            .as_ref()
            .map(|(d, _)| d.format("%Y-%m-%d").to_string()),
        rules,
        freeze: frame_rows(freeze)?,
        tables: shared.ingest.accounts.clone(),
        quarantine: quarantine
            .into_iter()
            .map(|((table, reason), count)| QuarantineCount {
                table,
                reason,
                count,
            })
            .collect(),
        trend_svg: charts::trend(&trend),
    })
}
