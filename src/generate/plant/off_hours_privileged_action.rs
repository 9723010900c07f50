//! Plants [`crate::rules::off_hours_privileged_action`]: privileged actions at 02:30 local
//! time or on a Saturday.

use crate::generate::catalogue::JUR_SG;
use crate::generate::model::AType;
use crate::generate::world::Builder;
use crate::generate::{HOUR_US, MIN_US};

/// `acc_grants`: the grants in force per account.
pub(super) fn plant(b: &mut Builder, acc_grants: &[Vec<usize>]) {
    let w = &b.w;
    let privileged: Vec<usize> = (0..w.accounts.len())
        .filter(|&a| {
            w.accounts[a].privileged_access
                && w.accounts[a].atype == AType::Human
                && w.acc_jur(a) != JUR_SG
                && w.accounts[a].stop_day == i64::MAX
        })
        .collect();
    let n1 = b.n1();
    let mut done = 0;
    for _ in 0..50 * n1 {
        if privileged.is_empty() || done == n1 {
            break;
        }
        let a = *b.rng.pick(&privileged);
        let sys = &b.w.systems[b.w.accounts[a].sys];
        // A privileged permission the account holds through one of its grants.
        let held = acc_grants[a]
            .iter()
            .flat_map(|&g| sys.closure[b.w.grants[g].ent].iter().copied());
        let Some(act) = held
            .filter(|&p| sys.ents[p].privileged)
            .find_map(|p| sys.action_of_perm[p])
        else {
            continue;
        };
        let j = sys.jur;
        let d = b.window_day();
        let ts = b.w.wrapped_ts(
            d,
            j,
            2 * HOUR_US + 30 * MIN_US + b.rng.range(0, 20) * MIN_US,
        );
        let ev = b.w.action_ev(a, ts, act, 0);
        b.w.planted[d as usize].push(ev);
        done += 1;
    }
}
