//! REVOCATION_NOT_APPLIED: a grant that a closed access review decided to revoke is still
//! active past the revocation deadline.

use polars::prelude::*;

use super::util::{days, detail, ts_text, with_thresholds};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;
use crate::time::MICROS_PER_DAY;

pub static META: RuleMeta = RuleMeta {
    // It reads earlier runs and campaigns in OUT, which `whatif` loads no more than the
    // events: judged there, it would see none and find nothing.
    reads_events: true,
    code: "REVOCATION_NOT_APPLIED",
    window_rows: None,
    title: "Revocation decided in an access review not applied",
    fires: "active grant listed in the `revocations.csv` of an access review campaign in \
           `OUT/reviews/` closed before T (`closed_at < T`), with `closed_at < T - N days`, N = \
           revocation_sla_days (exactly N days after the close is not yet a finding); a grant \
           revoked by several campaigns is reported once, for the earliest close",
    key: &["grant_id"],
    severity: SeverityPolicy::Fixed(Severity::High),
    rationale: "An access review is a control only if its decisions are carried out: access \
                the reviewer decided to remove and that is still there is access nobody \
                approves, with the review's sign-off claiming otherwise.",
    remediation: "Revoke the grant now and record the revocation in the source system; find \
                  out why the revocation hand-off from the campaign did not reach the system's \
                  administrators.",
    references: &["PCI DSS v4.0.1 req. 7.2.4", "PCI DSS v4.0.1 req. 7.2.2"],
    // The account may hold other, legitimate access: the grant is revoked, not the account
    // suspended.
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: None,
    summary: None,
};

/// Active grants (at T, whatever the account's status: a disabled account can be
/// re-enabled with the access still attached) that a campaign closed more than N days
/// before T decided to revoke. The earliest close decides the finding (ties: campaign id,
/// item id), so a grant revoked twice is one finding, overdue since the first decision.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let t = lit(ctx.t);
    let decided = ctx
        .remediation
        .revocations_frame()?
        .lazy()
        .filter(col("closed_at").lt(t.clone()));
    let overdue = with_thresholds(
        ctx.grants.clone().lazy().join(
            decided,
            [col("grant_id"), col("system_id")],
            [col("grant_id"), col("system_id")],
            JoinArgs::new(JoinType::Inner),
        ),
        ctx,
    )
    .with_column((col("closed_at") + days("revocation_sla_days")).alias("deadline"))
    .filter(col("deadline").lt(t.clone()))
    .sort(
        ["grant_id", "closed_at", "campaign_id", "item_id"],
        SortMultipleOptions::default(),
    )
    .unique_stable(Some(cols(["grant_id"])), UniqueKeepStrategy::First);
    Ok(overdue
        .select([
            col("jurisdiction"),
            col("grant_id"),
            col("system_id"),
            col("account_id"),
            col("entitlement_id"),
            col("identity").alias("identity_id"),
            lit("high").alias("severity"),
            detail(vec![
                col("campaign_id"),
                col("item_id"),
                col("reviewer_id"),
                ts_text(col("decided_at")).alias("decided_at"),
                ts_text(col("closed_at")).alias("closed_at"),
                col("revocation_sla_days"),
                (t.clone() - col("deadline"))
                    .floor_div(lit(MICROS_PER_DAY))
                    .alias("days_overdue"),
                col("privileged_eff").alias("privileged"),
                col("account_status"),
            ]),
        ])
        .collect()?)
}
