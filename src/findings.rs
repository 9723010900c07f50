//! The findings table: contract columns and order, stable ids, deterministic row order,
//! disabled rules, and CSV/Parquet writing with spreadsheet neutralisation.

use std::borrow::Cow;
use std::path::Path;

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::policy::Policy;
use crate::resolve::Ctx;
use crate::rules::{Rule, RuleMeta, REGISTRY};

/// Contract section 6 column order.
pub const COLUMNS: [&str; 15] = [
    "finding_id",
    "rule",
    "severity",
    "status",
    "jurisdiction",
    "identity_id",
    "system_id",
    "account_id",
    "grant_id",
    "entitlement_id",
    "sod_rule_id",
    "target_id",
    "seq",
    "first_seen",
    "detail",
];

const STRING_KEYS: [&str; 7] = [
    "identity_id",
    "system_id",
    "account_id",
    "grant_id",
    "entitlement_id",
    "sod_rule_id",
    "target_id",
];

/// Runs every rule and assembles the findings table (without `first_seen`, which history
/// fills in). Rules disabled by a jurisdiction lose that jurisdiction's rows here, so that
/// no rule needs to know about `disabled_rules`. Waivers are applied last, once ids and
/// order are settled, so that every caller sees the same statuses.
pub fn detect(ctx: &Ctx) -> Result<DataFrame> {
    detect_where(ctx, |_| true)
}

/// [`detect`] with only the rules whose metadata `keep` accepts (the others contribute no
/// row), for callers whose context cannot serve every rule.
pub fn detect_where(ctx: &Ctx, keep: impl Fn(&RuleMeta) -> bool) -> Result<DataFrame> {
    let findings = detect_rules(ctx, keep)?;
    crate::waivers::apply(findings, &crate::waivers::load(ctx.tables, ctx.t)?)
}

/// The rules' findings with ids and order, before waivers.
fn detect_rules(ctx: &Ctx, keep: impl Fn(&RuleMeta) -> bool) -> Result<DataFrame> {
    let frames = REGISTRY
        .iter()
        .filter(|rule| keep(rule.meta))
        .map(|rule| {
            let started = std::time::Instant::now();
            let frame = (rule.evaluate)(ctx)?;
            let memory = crate::memory::resident();
            tracing::debug!(
                rule = rule.meta.code,
                findings = frame.height(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                rss_mib = memory.rss_mib,
                peak_mib = memory.peak_mib,
                "rule evaluated"
            );
            normalize(rule, frame, ctx.policy)
        })
        .collect::<Result<Vec<_>>>()?;
    let all = concat(
        frames.into_iter().map(IntoLazy::lazy).collect::<Vec<_>>(),
        UnionArgs::default(),
    )?;
    let mut sort_cols: Vec<PlSmallStr> = vec!["rule".into(), "jurisdiction".into()];
    sort_cols.extend(STRING_KEYS.iter().map(|s| PlSmallStr::from(*s)));
    sort_cols.push("seq".into());
    let sorted = all
        .sort(
            sort_cols,
            SortMultipleOptions::default()
                .with_nulls_last(false)
                .with_maintain_order(true),
        )
        .collect()?;
    let memory = crate::memory::resident();
    tracing::debug!(
        rss_mib = memory.rss_mib,
        peak_mib = memory.peak_mib,
        "findings sorted"
    );
    Ok(sorted)
}

/// Brings one rule's frame to the contract columns, drops disabled jurisdictions and adds
/// the stable `finding_id`.
fn normalize(rule: &Rule, df: DataFrame, policy: &Policy) -> Result<DataFrame> {
    let code = rule.meta.code;
    let mut exprs = vec![lit(code).alias("rule")];
    for c in ["severity", "jurisdiction", "detail"] {
        if df.column(c).is_err() {
            return Err(Error::Internal(format!(
                "rule {code} produced no {c} column"
            )));
        }
    }
    exprs.push(col("severity"));
    exprs.push(if df.column("status").is_ok() {
        col("status")
    } else {
        lit("open").alias("status")
    });
    exprs.push(col("jurisdiction"));
    for c in STRING_KEYS {
        exprs.push(if df.column(c).is_ok() {
            col(c).cast(DataType::String)
        } else {
            lit(NULL).cast(DataType::String).alias(c)
        });
    }
    exprs.push(if df.column("seq").is_ok() {
        col("seq").cast(DataType::Int64)
    } else {
        lit(NULL).cast(DataType::Int64).alias("seq")
    });
    exprs.push(lit(NULL).cast(DataType::String).alias("first_seen"));
    exprs.push(col("detail"));
    let disabled: Vec<String> = policy
        .jurisdictions
        .iter()
        .filter(|j| !j.rule_enabled(code))
        .map(|j| j.code.clone())
        .collect();
    let disabled = Series::new("d".into(), disabled);
    let mut out = df
        .lazy()
        .select(exprs)
        .filter(
            col("jurisdiction")
                .is_in(lit(disabled).implode(false), false)
                .not(),
        )
        .collect()?;
    let ids = finding_ids(&out, rule.meta.key)?;
    out.insert_column(0, Column::new("finding_id".into(), ids))?;
    Ok(out)
}

/// The same finding gets the same id every night: a hash of the rule, its key columns and
/// the jurisdiction, nothing else (severity, status and evidence may change).
fn finding_ids(df: &DataFrame, key: &[&str]) -> Result<Vec<String>> {
    let cols: Vec<Series> = ["rule", "jurisdiction"]
        .iter()
        .chain(key)
        .map(|c| {
            df.column(c)
                .and_then(|c| c.cast(&DataType::String))
                .map(|c| c.as_materialized_series().clone())
        })
        .collect::<PolarsResult<_>>()?;
    let strs: Vec<&StringChunked> = cols.iter().map(|s| s.str()).collect::<PolarsResult<_>>()?;
    Ok((0..df.height())
        .map(|i| {
            let mut h = Sha256::new();
            for s in &strs {
                h.update(s.get(i).unwrap_or("\u{0}").as_bytes());
                h.update([0x1f]);
            }
            format!("F-{}", &hex::encode(h.finalize())[..16])
        })
        .collect())
}

/// A cell a spreadsheet would execute gets a leading `'`.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Writes any frame as CSV: header, RFC 4180 quoting, nulls empty, every cell neutralised.
pub fn write_csv(df: &DataFrame, path: &Path) -> Result<()> {
    write_csv_to(df, crate::files::create_file(path)?, path)
}

/// [`write_csv`] to any writer; `path` names it in errors.
pub fn write_csv_to(df: &DataFrame, out: impl std::io::Write, path: &Path) -> Result<()> {
    let mut w = csv::WriterBuilder::new().from_writer(out);
    w.write_record(df.get_column_names().iter().map(|s| s.as_str()))
        .map_err(|e| csv_err(path, e))?;
    let strs: Vec<Column> = df
        .columns()
        .iter()
        .map(|c| c.cast(&DataType::String))
        .collect::<PolarsResult<_>>()?;
    let cas: Vec<&StringChunked> = strs.iter().map(|c| c.str()).collect::<PolarsResult<_>>()?;
    for i in 0..df.height() {
        // Borrowed cells: only a neutralised one allocates.
        w.write_record(
            cas.iter()
                .map(|ca| match neutralise(ca.get(i).unwrap_or_default()) {
                    Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                    Cow::Owned(s) => Cow::Owned(s.into_bytes()),
                }),
        )
        .map_err(|e| csv_err(path, e))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    Error::io(path, std::io::Error::other(e.to_string()))
}

/// Parquet with the raw values (no neutralisation); `path` names it in errors.
pub fn write_parquet(df: &DataFrame, out: impl std::io::Write, path: &Path) -> Result<()> {
    let mut df = df.clone();
    ParquetWriter::new(out)
        .finish(&mut df)
        .map_err(|e| Error::parquet_write(path, e))?;
    Ok(())
}
