//! Plants [`crate::rules::post_termination_activity`]: half of the leavers planted by
//! [`super::terminated_access`] keep working; the other half's accounts go quiet on their
//! termination day.

use crate::generate::model::Owner;
use crate::generate::world::Builder;

pub(super) fn plant(b: &mut Builder, leavers: &[(usize, i64)]) {
    for &(i, td) in leavers.iter().skip(1).step_by(2) {
        for a in b.w.accounts.iter_mut() {
            if matches!(a.owner, Owner::Identity(x) if x == i) {
                a.stop_day = td;
            }
        }
    }
}
