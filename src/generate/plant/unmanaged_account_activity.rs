//! Plants [`crate::rules::unmanaged_account_activity`]: accounts created outside IAM, absent
//! from the accounts export, signing in.

use crate::generate::model::{AType, Account, Owner};
use crate::generate::world::Builder;

pub(super) fn plant(b: &mut Builder) {
    for k in 0..b.n1() {
        let sys = b.rng.below(b.w.systems.len() as u64) as usize;
        let a = b.w.accounts.len();
        b.w.accounts.push(Account {
            no_mfa: true,
            ghost: true,
            ..Account::quiet(sys, format!("tmp_admin{k:02}"), Owner::None, AType::Human)
        });
        let d = b.weekday_in_window();
        let j = b.w.systems[sys].jur;
        let ts = b.w.business_ts(&mut b.rng, d, j);
        let ev = b.w.login_ev(a, ts, true, false, j as u8);
        b.w.planted[d as usize].push(ev);
    }
}
