//! Plants [`crate::rules::unmanaged_account_activity`]: accounts created outside IAM, absent
//! from the accounts export, signing in.

use crate::generate::model::{AType, Account, Owner};
use crate::generate::world::Builder;

pub(super) fn plant(b: &mut Builder) {
    for k in 0..b.n1() {
        let sys = b.rng.below(b.w.systems.len() as u64) as usize;
        let a = b.w.accounts.len();
        b.w.accounts.push(Account {
            sys,
            name: format!("tmp_admin{k:02}"),
            owner: Owner::None,
            atype: AType::Human,
            status: "active",
            created_at: None,
            start_day: 0,
            stop_day: i64::MIN,
            weight: 0.0,
            privileged_access: false,
            use_actions: Vec::new(),
            no_mfa: true,
            ghost: true,
        });
        let d = b.weekday_in_window();
        let j = b.w.systems[sys].jur;
        let ts = b.w.business_ts(&mut b.rng, d, j);
        let ev = b.w.login_ev(a, ts, true, false, j as u8);
        b.w.planted[d as usize].push(ev);
    }
}
