//! Plants [`crate::rules::privileged_no_mfa`]: supervisors signing in without a second
//! factor.

use crate::generate::catalogue::{J_SUPERVISOR, K_PAY};
use crate::generate::world::Builder;

pub(super) fn plant(b: &mut Builder) {
    let mut pool = b.members(J_SUPERVISOR);
    let n1 = b.n1();
    for i in b.take(&mut pool, n1) {
        if let Some(a) = b.acc_on(i, K_PAY) {
            b.w.accounts[a].no_mfa = true;
        }
    }
}
