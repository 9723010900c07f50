//! What the log-chain rules (sequence gaps, hash mismatches) share: the order they
//! walk a chain in, and their findings as one frame. Part of the log-chain checks'
//! version ([`super::chain_checks`]), as the rules' own files are.

use polars::prelude::*;

use crate::resolve::Ctx;

/// Log-chain findings (`system_id, seq, detail`) from several sources, as one critical
/// finding frame with each system's jurisdiction.
pub fn critical_on_systems(parts: Vec<LazyFrame>, ctx: &Ctx) -> crate::error::Result<DataFrame> {
    Ok(concat(parts, UnionArgs::default())?
        .join(
            ctx.systems.clone().lazy(),
            [col("system_id")],
            [col("system_id")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("jurisdiction"),
            col("system_id"),
            col("seq"),
            lit("critical").alias("severity"),
            col("detail"),
        ])
        .collect()?)
}

/// The rows of a log-chain frame (`system` and `seq` non-null), grouped by system in
/// system order, each system's rows ordered by seq, then by `tie`, then by row: the order
/// the log-chain rules walk. An index sort: the records themselves are never gathered, and
/// no string is compared unless two rows of one system share a seq.
pub fn chains<'a>(
    system: &'a StringChunked,
    seq: &Int64Chunked,
    tie: impl Fn(usize, usize) -> std::cmp::Ordering,
) -> Vec<(&'a str, Vec<usize>)> {
    let systems = crate::codes::Coded::of(system);
    let mut by_system: Vec<Vec<(i64, usize)>> = vec![Vec::new(); systems.values.len()];
    for (row, q) in seq.iter().enumerate() {
        let code = systems.codes[row] as usize;
        if let (Some(_), Some(q)) = (systems.values[code], q) {
            by_system[code].push((q, row));
        }
    }
    systems
        .sorted()
        .into_iter()
        .map(|(code, s)| (s, std::mem::take(&mut by_system[code])))
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(s, mut rows)| {
            rows.sort_unstable_by(|a, b| {
                a.0.cmp(&b.0)
                    .then_with(|| tie(a.1, b.1))
                    .then(a.1.cmp(&b.1))
            });
            (s, rows.into_iter().map(|(_, row)| row).collect())
        })
        .collect()
}
