//! Plants [`crate::rules::sod_transaction`]: supervisors who create and release the same
//! payout.

use crate::generate::catalogue::{J_SUPERVISOR, K_PAY};
use crate::generate::world::Builder;
use crate::generate::{DAY_US, HOUR_US, MIN_US};

pub(super) fn plant(b: &mut Builder) {
    let mut target_no = 9_000_000_000u64;
    let mut pool = b.members(J_SUPERVISOR);
    let n1 = b.n1();
    for i in b.take(&mut pool, n1) {
        let Some(a) = b.acc_on(i, K_PAY) else {
            continue;
        };
        let d = b.weekday_in_window();
        let j = b.w.acc_jur(a);
        let ts =
            b.w.business_ts(&mut b.rng, d, j)
                .min(b.w.day_start(d) + DAY_US - HOUR_US);
        let sys = &b.w.systems[b.w.accounts[a].sys];
        let (Some(create), Some(release)) = (
            sys.ent("payout.create").and_then(|p| sys.action_of_perm[p]),
            sys.ent("payout.release")
                .and_then(|p| sys.action_of_perm[p]),
        ) else {
            continue;
        };
        target_no += 1;
        let ev1 = b.w.action_ev(a, ts, create, target_no);
        let ev2 =
            b.w.action_ev(a, ts + b.rng.range(2, 30) * MIN_US, release, target_no);
        b.w.planted[d as usize].extend([ev1, ev2]);
    }
}

/// Dense: SoD transactions per grant in the static tables.
const DENSE_PER_GRANT: usize = 8;

/// Dense: one maker-checker transaction on the same payout per eight grants, by active
/// staff's payout accounts (whatever they hold: the rule judges performed actions).
pub(super) fn dense(b: &mut Builder, active: &[usize]) {
    let payers: Vec<usize> = active
        .iter()
        .copied()
        .filter(|&a| b.w.systems[b.w.accounts[a].sys].kind == K_PAY)
        .collect();
    if payers.is_empty() {
        return;
    }
    let mut target_no = 9_500_000_000u64;
    for _ in 0..b.w.grants.len() / DENSE_PER_GRANT {
        let a = *b.rng.pick(&payers);
        let sys = &b.w.systems[b.w.accounts[a].sys];
        let (Some(create), Some(release)) = (
            sys.ent("payout.create").and_then(|p| sys.action_of_perm[p]),
            sys.ent("payout.release")
                .and_then(|p| sys.action_of_perm[p]),
        ) else {
            continue;
        };
        let d = b.weekday_in_window();
        let j = b.w.acc_jur(a);
        let ts =
            b.w.business_ts(&mut b.rng, d, j)
                .min(b.w.day_start(d) + DAY_US - HOUR_US);
        target_no += 1;
        let ev1 = b.w.action_ev(a, ts, create, target_no);
        let ev2 =
            b.w.action_ev(a, ts + b.rng.range(2, 30) * MIN_US, release, target_no);
        b.w.planted[d as usize].extend([ev1, ev2]);
    }
}
