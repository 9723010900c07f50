//! PEER_OUTLIER: permission rarely held by the holder's peers.

use polars::prelude::*;

use super::table::{Detail, Layout, Section, Subject, Table};
use super::util::detail;
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "PEER_OUTLIER",
    window_rows: None,
    reads_events: false,
    title: "Permission rarely held by the holder's peers",
    fires: "the identity, not terminated at T, holds the permission `entitlement_id` of \
           `system_id` through the closures of its effective grants; its peer group \
           (identities not terminated at T with the same non-null department and \
           job_function, itself included) has at least `min_size` members, of whom at most \
           `max_share` (exactly: holders ≤ max_share × size) hold it; jurisdiction of the \
           system",
    key: &["identity_id", "system_id", "entitlement_id"],
    severity: SeverityPolicy::Fixed(Severity::Low),
    rationale: "A permission that almost nobody else in the same department and job function \
                holds is often left over from a previous role or granted by mistake; it \
                widens access beyond what the job needs.",
    remediation: "Ask the holder's manager whether the permission is still needed; revoke the \
                  grants that give it if not, or record why this person differs from peers.",
    references: &["PCI DSS v4.0.1 req. 7.2.1", "PCI DSS v4.0.1 req. 7.2.2"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: Some(Table {
        layout: &Layout {
            id: "peers",
            section: Section::Grading,
            title: "Peer outliers by department and function",
            intro: "Permissions held by at most the allowed share of the holder's peers (same \
                    department and job function).",
            headers: &[
                "Identity",
                "Account",
                "Unusual entitlements",
                "Holders in the group",
            ],
            group: Some(peer_group),
        },
        cells,
    }),
    summary: None,
};

fn peer_group(d: &Detail) -> (String, String) {
    (
        format!("{} / {}", d.txt("department"), d.txt("job_function")),
        format!(
            "peer group of {}; outlier when held by at most {} of peers (groups of at least {})",
            d.txt("peer_group_size"),
            d.f64("max_share")
                .map(|s| format!("{}%", (s * 1000.0).round() / 10.0))
                .unwrap_or_else(|| "—".into()),
            d.txt("min_size")
        ),
    )
}

/// At most this many of the unusual entitlements are named in the table.
const SHOWN_GRANTS: usize = 6;

fn cells(f: &dyn Subject, d: &Detail) -> Vec<String> {
    let ents = match d.records("grants") {
        Some(a) => {
            let mut v: Vec<String> = a
                .iter()
                .take(SHOWN_GRANTS)
                .map(|g| format!("{} ({})", g.txt("entitlement_id"), g.txt("grant_id")))
                .collect();
            if a.len() > SHOWN_GRANTS {
                v.push(format!("+{} more", a.len() - SHOWN_GRANTS));
            }
            v.join(", ")
        }
        None => f.column("entitlement_id").unwrap_or_else(|| "—".into()),
    };
    vec![f.identity(), f.account(), ents, d.txt("holders")]
}

/// Grants listed per finding; the count covers all of them.
const MAX_GRANTS_SHOWN: usize = 20;

/// A non-terminated identity holds permission `entitlement_id` of `system_id` through its
/// effective grants, while at most `max_share` of its peer group (non-terminated
/// identities with the same non-null department and job_function, at least `min_size`)
/// hold it.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let grading = &ctx.policy.grading;
    let peers = ctx.identities.clone().lazy().filter(
        col("terminated")
            .not()
            .and(col("department").is_not_null())
            .and(col("job_function").is_not_null()),
    );
    let mut sizes = peers
        .clone()
        .group_by([col("department"), col("job_function")])
        .agg([len().cast(DataType::Int64).alias("peer_group_size")])
        .filter(col("peer_group_size").gt_eq(lit(i64::from(grading.min_size))))
        .collect()?;
    let allowed = max_holders_column(&sizes, grading.max_share)?;
    sizes.with_column(allowed.into_column())?;
    // Peer groups numbered, and identities and permissions by their numbers, so that the
    // holder counts over millions of (grant, permission) rows group and join by integers,
    // not by texts.
    let members = peers
        .select([col("identity_row"), col("department"), col("job_function")])
        .join(
            sizes.lazy().with_row_index("peer_group", None),
            [col("department"), col("job_function")],
            [col("department"), col("job_function")],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()?;

    // Numbers only, materialised once: millions of (grant, permission) rows, which the
    // holder counts and the outliers both read.
    let held = ctx
        .staff_grant_rows()
        .select([
            col("grant_row"),
            col("identity_row"),
            col("entitlement_row"),
        ])
        .join(
            ctx.closure_rows(),
            [col("entitlement_row")],
            [col("entitlement_row")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            members.clone().lazy().select([
                col("identity_row"),
                col("peer_group"),
                col("max_holders"),
            ]),
            [col("identity_row")],
            [col("identity_row")],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()?
        .lazy();
    let holders = held
        .clone()
        .group_by([col("peer_group"), col("permission_row")])
        .agg([col("identity_row")
            .n_unique()
            .cast(DataType::Int64)
            .alias("holders")]);
    let outliers = held
        .join(
            holders,
            [col("peer_group"), col("permission_row")],
            [col("peer_group"), col("permission_row")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("holders").lt_eq(col("max_holders")))
        .join(
            members.lazy().select([
                col("identity_row"),
                col("department"),
                col("job_function"),
                col("peer_group_size"),
            ]),
            [col("identity_row")],
            [col("identity_row")],
            JoinArgs::new(JoinType::Inner),
        )
        .collect()?;
    // The texts of the outliers only.
    let outliers = ctx.with_grant_columns(
        &outliers,
        &[
            "identity",
            "grant_id",
            "system_id",
            "account_id",
            "entitlement_id",
            "jurisdiction",
        ],
    )?;
    Ok(ctx
        .with_closure_columns(&outliers, &["permission_id", "path"])?
        .lazy()
        .rename(["entitlement_id"], ["granted_id"], true)
        .sort(
            ["identity", "system_id", "permission_id", "grant_id"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .with_column(
            as_struct(vec![
                col("grant_id"),
                col("account_id"),
                col("granted_id").alias("entitlement_id"),
                col("path"),
            ])
            .alias("grant"),
        )
        .group_by_stable([
            col("identity"),
            col("system_id"),
            col("permission_id"),
            col("jurisdiction"),
        ])
        .agg([
            col("department").first(),
            col("job_function").first(),
            col("peer_group_size").first(),
            col("holders").first(),
            len().alias("grant_count"),
            col("grant").head(Some(MAX_GRANTS_SHOWN)).alias("grants"),
        ])
        .select([
            col("jurisdiction"),
            col("identity").alias("identity_id"),
            col("system_id"),
            col("permission_id").alias("entitlement_id"),
            lit("low").alias("severity"),
            detail(vec![
                col("department"),
                col("job_function"),
                col("peer_group_size"),
                col("holders"),
                lit(grading.max_share).alias("max_share"),
                lit(i64::from(grading.min_size)).alias("min_size"),
                col("grant_count"),
                col("grants"),
            ]),
        ])
        .collect()?)
}

/// For each group size, the most holders that still make an outlier: the largest integer
/// `h` with `h <= max_share × size`, the product taken in binary floating point as the
/// project's reference implementation does (so 0.29 × 100 allows 28, not 29).
fn max_holders_column(sizes: &DataFrame, max_share: f64) -> Result<Series> {
    let ca = sizes.column("peer_group_size")?.i64()?;
    let values: Vec<Option<i64>> = (0..ca.len())
        .map(|i| ca.get(i).map(|s| max_holders(s, max_share)))
        .collect();
    Ok(Series::new("max_holders".into(), values))
}

pub(crate) fn max_holders(size: i64, max_share: f64) -> i64 {
    // Holders are whole, so `holders <= share * size` is `holders <= floor(share * size)`.
    (max_share * size as f64).floor() as i64
}

#[cfg(test)]
mod tests {
    use super::max_holders;

    #[test]
    fn share_times_size() {
        assert_eq!(max_holders(10, 0.10), 1);
        assert_eq!(max_holders(9, 0.10), 0);
        assert_eq!(max_holders(30, 0.1), 3);
        assert_eq!(max_holders(20, 0.15), 3);
        assert_eq!(max_holders(100, 0.07), 7);
        // Binary float: 0.29 * 100.0 == 28.999999999999996.
        assert_eq!(max_holders(100, 0.29), 28);
        assert_eq!(max_holders(7, 1.0), 7);
        assert_eq!(max_holders(7, 0.0), 0);
    }
}
