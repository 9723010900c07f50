//! Plants [`crate::rules::grade_exceeded`]: operators, capped at medium risk, given the
//! payout checker role.

use crate::generate::catalogue::{J_OPERATOR, K_PAY};
use crate::generate::world::Builder;

pub(super) fn plant(b: &mut Builder) {
    let mut pool = b.members(J_OPERATOR);
    let n1 = b.n1();
    for i in b.take(&mut pool, n1) {
        b.grant_extra(i, K_PAY, "role.payout_checker");
    }
}
