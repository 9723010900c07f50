//! Plants [`crate::rules::dormant_account`]: accounts nobody uses any more.

use crate::generate::catalogue::{K_BENE, K_CRM};
use crate::generate::world::Builder;

pub(super) fn plant(b: &mut Builder) {
    let mut pool = b.staff();
    let n = 3 * b.n1();
    for i in b.take(&mut pool, n) {
        if let Some(a) = b.acc_on(i, K_CRM).or_else(|| b.acc_on(i, K_BENE)) {
            b.w.accounts[a].stop_day = i64::MIN;
        }
    }
}
