//! Plants [`crate::rules::sod_conflict`]: identities holding both sides of each static SoD
//! rule of the generated policy.

use crate::generate::catalogue::{J_IAM, J_SETTLEMENT, J_SUPERVISOR, K_BENE, K_PAY};
use crate::generate::model::Exception;
use crate::generate::world::Builder;
use crate::generate::DAY_US;

pub(super) fn plant(b: &mut Builder) {
    // SOD-001 (payout release + beneficiary maintenance), with exceptions: one third
    // mitigated, one third with an expired exception.
    let mut pool = b.members(J_SUPERVISOR);
    let n1 = b.n1();
    for (n, i) in b.take(&mut pool, n1).into_iter().enumerate() {
        b.grant_extra(i, K_BENE, "role.bene_maintainer");
        if n % 3 < 2 {
            let approved_at = b.t_us - b.rng.range(60, 200) * DAY_US;
            let expires_at = if n % 3 == 0 {
                b.t_us + b.rng.range(30, 180) * DAY_US
            } else {
                b.t_us - b.rng.range(1, 40) * DAY_US
            };
            b.w.exceptions.push(Exception {
                rule: "SOD-001",
                identity: i,
                approved_by: b.approver_for(i),
                approved_at,
                expires_at,
                control: "Daily second-line review of beneficiary changes against payouts released",
            });
        }
    }
    // SOD-002 (limit change + settlement, same jurisdiction).
    let mut pool = b.members(J_SETTLEMENT);
    for i in b.take(&mut pool, n1) {
        b.grant_extra(i, K_PAY, "limit.change");
    }
    // SOD-003 (IAM administration + business operations).
    let mut pool = b.members(J_IAM);
    for i in b.take(&mut pool, n1.div_ceil(4)) {
        b.grant_extra(i, K_PAY, "payout.create");
    }
}
