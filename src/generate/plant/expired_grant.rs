//! Plants [`crate::rules::expired_grant`]: grants in force past their expiry.

use super::plant_count;
use crate::generate::world::Builder;
use crate::generate::DAY_US;

pub(super) fn plant(b: &mut Builder, active: &[usize], by_account: &[Vec<usize>]) {
    if active.is_empty() {
        return;
    }
    for _ in 0..plant_count(b.n_ident, 400) {
        let a = *b.rng.pick(active);
        if let Some(&g) = by_account[a].first() {
            b.w.grants[g].expires_at = Some(b.t_us - b.rng.range(1, 60) * DAY_US);
        }
    }
}

/// Dense: the share of active staff's grants past their expiry.
const DENSE_SHARE: f64 = 0.2;

/// Dense: a share of the grants in force on active staff's accounts expired in the last
/// 200 days.
pub(super) fn dense(b: &mut Builder, active: &[usize], by_account: &[Vec<usize>]) {
    for &a in active {
        for &g in &by_account[a] {
            if b.rng.chance(DENSE_SHARE) {
                b.w.grants[g].expires_at = Some(b.t_us - b.rng.range(1, 200) * DAY_US);
            }
        }
    }
}
