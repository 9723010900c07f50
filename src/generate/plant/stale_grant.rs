//! Plants [`crate::rules::stale_grant`]: an unusual module permission granted long ago and
//! never used.

use super::plant_count;
use crate::generate::catalogue::{FILLERS, KINDS};
use crate::generate::model::Owner;
use crate::generate::world::Builder;
use crate::generate::DAY_US;

/// `by_account`: the grants in force per account, extended with the planted ones.
pub(super) fn plant(b: &mut Builder, active: &[usize], by_account: &mut [Vec<usize>]) {
    if active.is_empty() {
        return;
    }
    for _ in 0..plant_count(b.n_ident, 200) {
        let a = *b.rng.pick(active);
        let sys = b.w.accounts[a].sys;
        let n_perm = KINDS[b.w.systems[sys].kind].perms.len();
        let held: Vec<usize> = by_account[a].iter().map(|&g| b.w.grants[g].ent).collect();
        if let Some(f) = (0..FILLERS).map(|f| n_perm + f).find(|e| !held.contains(e)) {
            let i = match b.w.accounts[a].owner {
                Owner::Identity(i) => i,
                _ => 0,
            };
            let at = b.t_us - b.rng.range(120, 700) * DAY_US;
            let g = b.w.grants.len();
            let (ap, gb) = (b.approver_for(i), b.granter_for(i));
            b.w.push_grant(a, f, at, ap, gb);
            b.w.grants[g].unused = true;
            by_account[a].push(g);
        }
    }
}

/// Dense: the share of old module-permission grants of active staff left unused.
const DENSE_SHARE: f64 = 0.5;

/// Dense: leaves a share of the module permissions that active staff were granted more
/// than 91 days ago unused (module permissions are never role members, so no other grant
/// brings their use back).
pub(super) fn dense(b: &mut Builder, active: &[usize], by_account: &[Vec<usize>]) {
    let old = b.t_us - 91 * DAY_US;
    for &a in active {
        let n_perm = KINDS[b.w.systems[b.w.accounts[a].sys].kind].perms.len();
        for &g in &by_account[a] {
            let gr = &b.w.grants[g];
            let module = (n_perm..n_perm + FILLERS).contains(&gr.ent);
            if module && gr.granted_at < old && b.rng.chance(DENSE_SHARE) {
                b.w.grants[g].unused = true;
            }
        }
    }
}
