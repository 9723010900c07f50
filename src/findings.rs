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
/// fills in) once [`Detected::into_frame`] is called. Rules disabled by a jurisdiction lose
/// that jurisdiction's rows here, so that no rule needs to know about `disabled_rules`.
/// Waivers are applied last, once ids and order are settled, so that every caller sees the
/// same statuses.
pub fn detect(ctx: &Ctx) -> Result<Detected> {
    detect_where(ctx, |_| true)
}

/// [`detect`] with only the rules whose metadata `keep` accepts (the others contribute no
/// row), for callers whose context cannot serve every rule.
pub fn detect_where(ctx: &Ctx, keep: impl Fn(&RuleMeta) -> bool) -> Result<Detected> {
    crate::memory::release("resolution");
    let rules = REGISTRY
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
            // Its intermediates are freed, and then its frame: neither the packing nor the
            // next rule may stand beside their pages.
            crate::memory::release(rule.meta.code);
            let packed = Packed::in_order(normalize(rule, frame, ctx.policy)?)?;
            crate::memory::release("packing");
            Ok((rule.meta.code, packed))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Detected {
        rules,
        waivers: crate::waivers::load(ctx.tables, ctx.t)?,
    })
}

/// Every rule's findings, each rule's frame packed (see [`Packed`]) until the caller has
/// released the detection context.
///
/// A first run at a large company has millions of findings of a few hundred bytes of text
/// each; held as frames beside the context (the window rows, the grants) they made the
/// largest part of its peak memory.
pub struct Detected {
    rules: Vec<(&'static str, Packed)>,
    waivers: Vec<crate::waivers::Waiver>,
}

impl Detected {
    /// How many findings there are (waived ones included).
    pub fn height(&self) -> usize {
        self.rules.iter().map(|(_, p)| p.height).sum()
    }

    /// The findings table: ids, contract columns, the table's order and the waivers'
    /// statuses.
    ///
    /// The order is by rule code first, so each rule's frame was sorted on its own and the
    /// frames are appended in code order: the order of one sort of all findings, without a
    /// second copy of them.
    pub fn into_frame(mut self) -> Result<DataFrame> {
        self.rules.sort_by_key(|(code, _)| *code);
        let mut all = DataFrame::empty();
        for (_, packed) in self.rules {
            all.vstack_mut_owned(packed.unpack()?)?;
        }
        let memory = crate::memory::resident();
        tracing::debug!(
            findings = all.height(),
            rss_mib = memory.rss_mib,
            peak_mib = memory.peak_mib,
            "findings unpacked"
        );
        crate::waivers::apply(all, &self.waivers)
    }
}

/// One rule's findings frame as LZ4-compressed Parquet in memory: a tenth of its size or
/// less (the same rule, jurisdiction, status and evidence shapes repeat), and the same
/// frame in the table's order again when unpacked.
struct Packed {
    bytes: Vec<u8>,
    height: usize,
}

impl Packed {
    /// Rows taken and written a row group at a time: a sorted copy of a rule's million
    /// findings never stands beside them.
    const ROW_GROUP: usize = 1 << 18;

    /// `frame` in the table's order: jurisdiction, then the keys and `seq`.
    fn in_order(frame: DataFrame) -> Result<Packed> {
        let mut by: Vec<Column> = vec![frame.column("jurisdiction")?.clone()];
        for key in STRING_KEYS.iter().chain(&["seq"]) {
            by.push(frame.column(key)?.clone());
        }
        let order = by[0].arg_sort_multiple(
            &by[1..],
            &SortMultipleOptions::default()
                .with_order_descending_multi(vec![false; by.len()])
                .with_nulls_last_multi(vec![false; by.len()])
                .with_maintain_order(true),
        )?;
        drop(by);
        let mut bytes = Vec::new();
        let mut writer = ParquetWriter::new(&mut bytes)
            .with_compression(ParquetCompression::Lz4Raw)
            .with_statistics(StatisticsOptions::empty())
            .batched(frame.schema())?;
        for start in (0..order.len()).step_by(Self::ROW_GROUP) {
            let rows = order.slice(start as i64, Self::ROW_GROUP);
            writer.write_batch(&frame.take(&rows)?)?;
        }
        writer.finish()?;
        drop(writer);
        Ok(Packed {
            bytes,
            height: frame.height(),
        })
    }

    fn unpack(self) -> Result<DataFrame> {
        Ok(ParquetReader::new(std::io::Cursor::new(self.bytes)).finish()?)
    }
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
        .map_err(|e| Error::frame_write(path, e))?;
    Ok(())
}
