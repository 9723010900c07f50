//! Plants [`crate::rules::unapproved_privileged_grant`]: the supervisor role granted
//! without approval.

use crate::generate::catalogue::{J_SUPERVISOR, K_PAY, SPECIAL};
use crate::generate::model::{AType, Owner};
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

/// Dense: the share of staff's privileged grants without approval.
const DENSE_SHARE: f64 = 0.9;

/// Dense: nine in ten privileged grants in force on the human accounts of staff (the
/// platform owners excepted), those of the dense SoD conflicts included, lack an approval.
pub(super) fn dense(b: &mut Builder, by_account: &[Vec<usize>]) {
    for (a, grants) in by_account.iter().enumerate() {
        let acc = &b.w.accounts[a];
        if acc.atype != AType::Human || !matches!(acc.owner, Owner::Identity(i) if i >= SPECIAL) {
            continue;
        }
        let sys = acc.sys;
        for &g in grants {
            if b.w.systems[sys].reach_priv[b.w.grants[g].ent] && b.rng.chance(DENSE_SHARE) {
                b.w.grants[g].approved_by = None;
            }
        }
    }
}
