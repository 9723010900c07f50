//! The `run` command: analysis, history, every output file, the manifest, and the atomic
//! swap into `OUT/<as_of>/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;
use serde_json::json;

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::findings::{write_csv, write_parquet};
use crate::history::{self, History};
use crate::ingest::QuarantineRow;
use crate::output::{self, Staging};
use crate::pipeline::{analyze, Analysis, Inputs};
use crate::report::{context, ocsf, Renderer};

pub struct RunOptions {
    pub as_of: NaiveDate,
    pub out_dir: PathBuf,
    pub strict: bool,
}

pub struct RunSummary {
    pub as_of: NaiveDate,
    pub dir: PathBuf,
    pub findings: usize,
    pub by_severity: BTreeMap<String, usize>,
    pub quarantined: u64,
    pub freeze: usize,
}

/// Rules whose findings put the named account on the freeze list (critical bursts only).
const FREEZE_RULES: [&str; 4] = [
    "POST_TERMINATION_ACTIVITY",
    "TERMINATED_ACCESS",
    "UNMANAGED_ACCOUNT_ACTIVITY",
    "FAILED_LOGIN_BURST",
];

pub fn run(cfg: &RunConfig, opts: &RunOptions) -> Result<RunSummary> {
    let inputs = Inputs {
        input_dir: &cfg.input_dir,
        policy_dir: &cfg.policy_dir,
        naive_tz: cfg.naive_timestamps_tz,
        lookback_days: cfg.activity_lookback_days,
    };
    let renderer = Renderer::new(cfg.templates_dir.as_deref())?;
    let mut a = analyze(&inputs, opts.as_of)?;
    let quarantined = a.ingest.quarantined();
    if opts.strict && quarantined > 0 {
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

    output::recover(&opts.out_dir)?;
    let history = history::apply(&opts.out_dir, opts.as_of, &mut a.findings)?;
    let freeze = freeze_list(&a.findings, &a.tables.systems)?;

    let staging = Staging::new(&opts.out_dir, opts.as_of)?;
    write_all(cfg, &a, &history, &freeze, &renderer, &staging.dir)?;
    let dir = staging.commit()?;

    let mut by_severity = BTreeMap::new();
    for s in a.findings.column("severity")?.str()?.iter().flatten() {
        *by_severity.entry(s.to_string()).or_insert(0) += 1;
    }
    Ok(RunSummary {
        as_of: opts.as_of,
        dir,
        findings: a.findings.height(),
        by_severity,
        quarantined,
        freeze: freeze.height(),
    })
}

fn write_all(
    cfg: &RunConfig,
    a: &Analysis,
    history: &History,
    freeze: &DataFrame,
    renderer: &Renderer,
    dir: &Path,
) -> Result<()> {
    write_csv(&a.findings, &dir.join("findings.csv"))?;
    write_parquet(&a.findings, &dir.join("findings.parquet"))?;
    write_csv(
        &quarantine_frame(&a.ingest.quarantine)?,
        &dir.join("quarantine.csv"),
    )?;
    write_csv(freeze, &dir.join("freeze_list.csv"))?;

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
        as_of: a.as_of,
        t: a.t,
        config_sha256: &cfg.sha256,
        policy_files: &policy_files,
        ingest: &a.ingest,
        history,
        systems: &a.tables.systems,
    };
    for j in &a.policy.jurisdictions {
        let jdir = dir.join(&j.code);
        std::fs::create_dir_all(&jdir).map_err(|e| Error::io(&jdir, e))?;
        let of_j = |df: &DataFrame| {
            df.clone()
                .lazy()
                .filter(col("jurisdiction").eq(lit(j.code.as_str())))
                .collect()
        };
        let findings = of_j(&a.findings)?;
        let jfreeze = of_j(freeze)?;
        write_csv(&findings, &jdir.join("findings.csv"))?;
        let rows = context::frame_rows(&findings)?;
        write_json(
            &jdir.join("findings.ocsf.json"),
            &ocsf::records(j, &rows, a.t),
        )?;
        write_json(
            &jdir.join("summary.json"),
            &summary(j.code.as_str(), &rows, history, a),
        )?;
        let ctx = context::build(j, &findings, &jfreeze, &shared)?;
        let value = minijinja::Value::from_serialize(&ctx);
        write_text(
            &jdir.join("report.md"),
            &renderer.render("report.md.j2", &value)?,
        )?;
        write_text(
            &jdir.join("report.html"),
            &renderer.render("report.html.j2", &value)?,
        )?;
    }

    let outputs: Vec<serde_json::Value> = output::hash_tree(dir)?
        .into_iter()
        .map(|(path, sha256)| json!({"path": path, "sha256": sha256}))
        .collect();
    let manifest = json!({
        "as_of": a.as_of.format("%Y-%m-%d").to_string(),
        "evaluation_instant": context::local_time(a.t, chrono_tz::UTC),
        "tool": {"name": "permaudit", "version": env!("CARGO_PKG_VERSION")},
        "configuration": {
            "file": cfg.source.file_name().map(|n| n.to_string_lossy().into_owned()),
            "sha256": cfg.sha256,
            "activity_lookback_days": cfg.activity_lookback_days,
            "naive_timestamps_tz": cfg.naive_timestamps_tz.map(|t| t.name().to_string()),
        },
        "policy": policy_files.iter().map(|(p, h)| json!({"path": p, "sha256": h})).collect::<Vec<_>>(),
        "inputs": a.ingest.accounts.iter().flat_map(|t| t.files.iter().map(|f| json!({"table": t.table, "path": f.path, "bytes": f.bytes, "sha256": f.sha256}))).collect::<Vec<_>>(),
        "ignored_files": a.ingest.ignored_files,
        "templates": renderer.used.iter().map(|(n, h, o)| json!({"name": n, "sha256": h, "overridden": o})).collect::<Vec<_>>(),
        "tables": a.ingest.accounts.iter().map(|t| json!({"table": t.table, "rows_read": t.rows_read, "rows_loaded": t.rows_loaded, "rows_quarantined": t.rows_quarantined})).collect::<Vec<_>>(),
        "findings": a.findings.height(),
        "previous": history.previous.as_ref().map(|(d, h)| json!({"as_of": d.format("%Y-%m-%d").to_string(), "manifest_sha256": h})),
        "outputs": outputs,
    });
    write_json(&dir.join("manifest.json"), &manifest)
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

fn write_json(path: &Path, v: &serde_json::Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(v).map_err(|e| Error::Internal(e.to_string()))?;
    text.push('\n');
    write_text(path, &text)
}

fn summary(
    code: &str,
    rows: &[BTreeMap<String, String>],
    history: &History,
    a: &Analysis,
) -> serde_json::Value {
    let mut by_rule: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_sev: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows {
        let get = |k: &str| r.get(k).map(String::as_str).unwrap_or_default();
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

fn quarantine_frame(rows: &[QuarantineRow]) -> Result<DataFrame> {
    Ok(df!(
        "table" => rows.iter().map(|r| r.table).collect::<Vec<_>>(),
        "source_file" => rows.iter().map(|r| r.source_file.as_str()).collect::<Vec<_>>(),
        "line" => rows.iter().map(|r| r.line).collect::<Vec<_>>(),
        "reason" => rows.iter().map(|r| r.reason.as_str()).collect::<Vec<_>>(),
        "raw" => rows.iter().map(|r| r.raw.as_str()).collect::<Vec<_>>(),
    )?)
}

/// One row per account to suspend, with every reason and finding that names it.
fn freeze_list(findings: &DataFrame, systems: &DataFrame) -> Result<DataFrame> {
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
    for r in context::frame_rows(findings)? {
        let get = |k: &str| r.get(k).map(String::as_str);
        let (Some(rule), Some(id)) = (get("rule"), get("finding_id")) else {
            continue;
        };
        let listed = FREEZE_RULES.contains(&rule)
            && (rule != "FAILED_LOGIN_BURST" || get("severity") == Some("critical"));
        if listed {
            if let (Some(s), Some(a)) = (get("system_id"), get("account_id")) {
                add(s, a, get("identity_id"), rule, id);
            }
        } else if rule == "SOD_TRANSACTION" {
            let detail: serde_json::Value = get("detail")
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default();
            for acc in detail
                .get("accounts")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                if let (Some(s), Some(a)) = (
                    acc.get("system_id").and_then(|v| v.as_str()),
                    acc.get("account_id").and_then(|v| v.as_str()),
                ) {
                    add(s, a, get("identity_id"), rule, id);
                }
            }
        }
    }
    let mut cols: [Vec<String>; 5] = Default::default();
    for ((s, a), (identity, rules, ids)) in accounts {
        cols[0].push(s);
        cols[1].push(a);
        cols[2].push(identity);
        cols[3].push(rules.join("; "));
        cols[4].push(ids.join("; "));
    }
    let [s, a, i, reasons, ids] = cols;
    let df = df!("system_id" => s, "account_id" => a, "identity_id" => i, "reasons" => reasons, "finding_ids" => ids)?;
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
        ])
        .sort(["system_id", "account_id"], SortMultipleOptions::default())
        .collect()?)
}
