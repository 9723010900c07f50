//! Expressions the rules share.

use polars::prelude::*;

use crate::resolve::Ctx;

/// Evidence: the given named expressions as one JSON object in the `detail` column.
pub fn detail(fields: Vec<Expr>) -> Expr {
    as_struct(fields).struct_().json_encode().alias("detail")
}

/// Microseconds since the epoch (UTC) as RFC 3339 text, for evidence.
pub fn ts_text(e: Expr) -> Expr {
    e.cast(DataType::Datetime(TimeUnit::Microseconds, None))
        .dt()
        .to_string("%Y-%m-%dT%H:%M:%S%.fZ")
}

/// The jurisdiction table (thresholds by policy key name), for joining on `jurisdiction`.
pub fn jurisdictions(ctx: &Ctx) -> LazyFrame {
    ctx.jurisdictions.clone().lazy()
}

/// Left-joins the per-jurisdiction thresholds onto a frame with a `jurisdiction` column.
pub fn with_thresholds(lf: LazyFrame, ctx: &Ctx) -> LazyFrame {
    lf.join(
        jurisdictions(ctx),
        [col("jurisdiction")],
        [col("jurisdiction")],
        JoinArgs::new(JoinType::Inner),
    )
}

/// `value` days or hours in microseconds, as an expression over a threshold column.
pub fn days(c: &str) -> Expr {
    col(c) * lit(crate::resolve::MICROS_PER_DAY)
}

pub fn hours(c: &str) -> Expr {
    col(c) * lit(crate::resolve::MICROS_PER_HOUR)
}

/// TEMPORARY: an empty findings frame for rules not yet written.
pub fn stub_empty(_ctx: &Ctx) -> crate::error::Result<DataFrame> {
    Ok(
        df!("jurisdiction" => Vec::<String>::new(), "severity" => Vec::<String>::new(), "detail" => Vec::<String>::new())?,
    )
}
