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
