//! Plants [`crate::rules::self_approved_grant`]: grants approved by their own holder.

use crate::generate::model::Owner;
use crate::generate::world::Builder;

pub(super) fn plant(b: &mut Builder, active: &[usize], by_account: &[Vec<usize>]) {
    if active.is_empty() {
        return;
    }
    for _ in 0..b.n1() {
        let a = *b.rng.pick(active);
        if let (Some(&g), Owner::Identity(i)) = (by_account[a].last(), &b.w.accounts[a].owner) {
            b.w.grants[g].approved_by = Some(*i);
        }
    }
}

/// Dense: the share of active staff's grants approved by their holder.
const DENSE_SHARE: f64 = 0.2;

/// Dense: a share of the grants in force on active staff's accounts approved by the
/// account's own identity.
pub(super) fn dense(b: &mut Builder, active: &[usize], by_account: &[Vec<usize>]) {
    for &a in active {
        let Owner::Identity(i) = b.w.accounts[a].owner else {
            continue;
        };
        for &g in &by_account[a] {
            if b.rng.chance(DENSE_SHARE) {
                b.w.grants[g].approved_by = Some(i);
            }
        }
    }
}
