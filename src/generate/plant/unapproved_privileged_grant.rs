//! Plants [`crate::rules::unapproved_privileged_grant`]: the supervisor role granted
//! without approval.

use crate::generate::catalogue::{J_SUPERVISOR, K_PAY};
use crate::generate::world::Builder;

pub(super) fn plant(b: &mut Builder, by_account: &[Vec<usize>]) {
    let mut pool = b.members(J_SUPERVISOR);
    let n1 = b.n1();
    for i in b.take(&mut pool, n1) {
        if let Some(a) = b.acc_on(i, K_PAY) {
            if let Some(&g) = by_account[a].first() {
                b.w.grants[g].approved_by = None;
            }
        }
    }
}
