//! Plants [`crate::rules::orphan_account`]: test users without an owner, and ones naming an
//! identity that is gone.

use crate::generate::catalogue::KINDS;
use crate::generate::model::{AType, Account, Owner};
use crate::generate::world::Builder;
use crate::generate::DAY_US;

pub(super) fn plant(b: &mut Builder) {
    for k in 0..b.n1() {
        let sys = b.rng.below(b.w.systems.len() as u64) as usize;
        let acc_idx = b.w.accounts.len();
        let owner = if k % 2 == 0 {
            Owner::None
        } else {
            Owner::Unknown(format!("E{:06}", 900_000 + k))
        };
        b.w.accounts.push(Account {
            created_at: Some(b.t_us - b.rng.range(100, 900) * DAY_US),
            ..Account::quiet(sys, format!("test-user-{k:03}"), owner, AType::Human)
        });
        let n_perm = KINDS[b.w.systems[sys].kind].perms.len();
        b.w.push_grant(acc_idx, n_perm, b.t_us - 100 * DAY_US, 0, 1);
    }
}
