//! STALE_GRANT: granted access not used within the stale-grant period.

use polars::prelude::*;

use super::util::{days, detail, ts_text, with_thresholds};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "STALE_GRANT",
    window_rows: None,
    reads_events: true,
    title: "Granted access not used within the stale-grant period",
    fires: "effective grant, identity not terminated, `granted_at` older than N = \
           stale_grant_days, and no successful event of the same system and account with `ts \
           >= granted_at`, `ts < T`, whose action exercises (action_permissions) a \
           permission in the grant entitlement's closure, newer than N days",
    key: &["grant_id"],
    severity: SeverityPolicy::Either {
        then: Severity::Medium,
        when: "the entitlement is privileged",
        otherwise: Severity::Low,
    },
    rationale: "Access that is held but not exercised widens the attack surface for no business \
                benefit; least privilege means removing entitlements their holder no longer needs.",
    remediation: "Confirm with the account owner and the entitlement owner whether the access is \
                  still needed; revoke the grant if not, or record the business justification.",
    references: &["PCI DSS v4.0.1 req. 7.2.4", "PCI DSS v4.0.1 req. 7.2.2"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// The grants' columns the findings read, taken for the stale grants only.
const SHOWN: [&str; 9] = [
    "jurisdiction",
    "grant_id",
    "system_id",
    "account_id",
    "entitlement_id",
    "identity",
    "privileged_eff",
    "kind",
    "account_type",
];

/// Effective grant of an account whose identity is not terminated, granted more than N days
/// ago, with no successful use of any permission of its closure since `max(granted_at,
/// T - N days)`. `last_use` holds the latest use before T, so "used recently" is one
/// comparison of that maximum against the threshold.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let t = lit(ctx.t);
    // Numbers only, and numbered, so that the steps below match a grant by an index: most
    // of millions of grants are candidates, and most of those are used.
    let candidates = with_thresholds(ctx.staff_grant_rows(), ctx)
        .with_column((t.clone() - days("stale_grant_days")).alias("threshold"))
        .filter(col("granted_at").lt(col("threshold")))
        .select([
            col("grant_row"),
            col("account_row"),
            col("entitlement_row"),
            col("granted_at"),
            col("stale_grant_days"),
            col("threshold"),
        ])
        .with_row_index("cand", None)
        .collect()?;

    // Per candidate and permission of its closure: the latest use of the permission. A
    // use before the grant existed says nothing about this grant, so it is dropped.
    let usage = candidates
        .clone()
        .lazy()
        .select([
            col("cand"),
            col("account_row"),
            col("entitlement_row"),
            col("granted_at"),
            col("threshold"),
        ])
        .join(
            ctx.closure_rows(),
            [col("entitlement_row")],
            [col("entitlement_row")],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            ctx.last_use.clone().lazy(),
            [col("account_row"), col("permission_row")],
            [col("account_row"), col("permission_row")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("cand"),
            col("closure_row"),
            col("threshold"),
            when(col("last_use").gt_eq(col("granted_at")))
                .then(col("last_use"))
                .otherwise(lit(NULL).cast(DataType::Int64))
                .alias("last_use"),
        ])
        .collect()?;
    // A grant with one use at or after its threshold is not stale (`threshold >
    // granted_at`, so such a use is never dropped above). Most grants are used: the
    // evidence below is gathered for the stale ones only.
    let mut stale = vec![true; candidates.height()];
    let (cand, last_use) = (
        usage.column("cand")?.idx()?,
        usage.column("last_use")?.i64()?,
    );
    let threshold = usage.column("threshold")?.i64()?;
    for ((c, used), at) in cand.iter().zip(last_use.iter()).zip(threshold.iter()) {
        if let (Some(c), Some(used), Some(at)) = (c, used, at) {
            if used >= at {
                stale[c as usize] = false;
            }
        }
    }
    let keep: BooleanChunked = cand
        .iter()
        .map(|c| c.is_some_and(|c| stale[c as usize]))
        .collect();
    let usage = ctx
        .with_closure_columns(&usage.filter(&keep)?, &["permission_id"])?
        .lazy();
    let candidates = candidates.filter(&BooleanChunked::from_slice("stale".into(), &stale))?;
    let candidates = ctx.with_grant_columns(&candidates, &SHOWN)?.lazy();
    // The permission used last. Ties (one action exercising several permissions of the
    // closure) go to the greatest id, so the evidence does not depend on the joins' row
    // order. One sort of the used rows, not a sort inside each of the (many) groups.
    let last_used = usage
        .clone()
        .filter(col("last_use").is_not_null())
        .sort(
            ["last_use", "permission_id"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .group_by([col("cand")])
        .agg([col("permission_id").last().alias("last_used_permission")]);
    let usage = usage
        .group_by([col("cand")])
        .agg([
            col("permission_id").n_unique().alias("closure_permissions"),
            col("last_use").max(),
        ])
        .join(
            last_used,
            [col("cand")],
            [col("cand")],
            JoinArgs::new(JoinType::Left),
        );

    Ok(candidates
        .join(
            usage,
            [col("cand")],
            [col("cand")],
            JoinArgs::new(JoinType::Left),
        )
        .select([
            col("jurisdiction"),
            col("grant_id"),
            col("system_id"),
            col("account_id"),
            col("entitlement_id"),
            col("identity").alias("identity_id"),
            when(col("privileged_eff"))
                .then(lit("medium"))
                .otherwise(lit("low"))
                .alias("severity"),
            detail(vec![
                ts_text(col("granted_at")).alias("granted_at"),
                col("stale_grant_days"),
                ts_text(col("threshold")).alias("unused_since"),
                ts_text(col("last_use"))
                    .fill_null(lit("never"))
                    .alias("last_use"),
                when(col("last_use").is_not_null())
                    .then(col("last_used_permission"))
                    .otherwise(lit(NULL).cast(DataType::String))
                    .alias("last_used_permission"),
                col("closure_permissions")
                    .fill_null(lit(0))
                    .cast(DataType::Int64)
                    .alias("closure_permissions"),
                col("kind").alias("entitlement_kind"),
                col("privileged_eff").alias("privileged"),
                col("account_type"),
            ]),
        ])
        .collect()?)
}
