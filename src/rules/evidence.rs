//! How a rule's evidence is written: the `detail` JSON object and instants as text. The
//! log-chain checks' digests store evidence written this way, so this file is part of
//! their version ([`super::chain_checks`]).

use polars::prelude::*;

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
