//! Plants [`crate::rules::shared_privileged_account`]: a shared payout login given the
//! checker role.

use crate::generate::model::AType;
use crate::generate::world::Builder;
use crate::generate::DAY_US;

pub(super) fn plant(b: &mut Builder) {
    let w = &b.w;
    let shared: Vec<usize> = (0..w.accounts.len())
        .filter(|&a| {
            w.accounts[a].atype == AType::Shared && w.accounts[a].name.starts_with("pay-shared")
        })
        .collect();
    let admin0 = b.admin0();
    for &a in shared.iter().take(b.n1().min(2)) {
        let sys = b.w.accounts[a].sys;
        if let Some(e) = b.w.systems[sys].ent("role.payout_checker") {
            b.w.push_grant(a, e, b.t_us - 200 * DAY_US, 0, admin0);
        }
    }
}
