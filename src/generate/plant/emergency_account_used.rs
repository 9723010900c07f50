//! Plants [`crate::rules::emergency_account_used`]: a break-glass login and action.

use super::plant_count;
use crate::generate::model::AType;
use crate::generate::world::Builder;
use crate::generate::MIN_US;

pub(super) fn plant(b: &mut Builder) {
    let glass: Vec<usize> = (0..b.w.accounts.len())
        .filter(|&a| b.w.accounts[a].atype == AType::Emergency)
        .collect();
    for &a in glass
        .iter()
        .take(plant_count(b.n_ident, 2000).min(glass.len()))
    {
        let d = b.weekday_in_window();
        let j = b.w.acc_jur(a);
        let ts = b.w.business_ts(&mut b.rng, d, j);
        let ev1 = b.w.login_ev(a, ts, true, true, j as u8);
        let sys = &b.w.systems[b.w.accounts[a].sys];
        let act = sys
            .ent("payout.view")
            .or_else(|| sys.ent("user.view"))
            .and_then(|p| sys.action_of_perm[p]);
        b.w.planted[d as usize].push(ev1);
        if let Some(act) = act {
            let ev2 = b.w.action_ev(a, ts + 3 * MIN_US, act, 0);
            b.w.planted[d as usize].push(ev2);
        }
    }
}
