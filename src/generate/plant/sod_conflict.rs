//! Plants [`crate::rules::sod_conflict`]: identities holding both sides of each static SoD
//! rule of the generated policy.

use crate::generate::catalogue::{
    J_IAM, J_SETTLEMENT, J_SUPERVISOR, K_BENE, K_IAM, K_PAY, K_SETTLE,
};
use crate::generate::model::{AType, Account, Exception, Owner};
use crate::generate::world::Builder;
use crate::generate::DAY_US;

/// Dense: the share of active staff with a payout account who hold two of the three
/// static conflicts.
const DENSE_SHARE: f64 = 0.8;
/// Dense: per static rule, the (system kind, entitlement) pairs that together make it fire.
const DENSE_SIDES: [[(usize, &str); 2]; 3] = [
    [(K_PAY, "payout.release"), (K_BENE, "beneficiary.create")],
    [(K_PAY, "limit.change"), (K_SETTLE, "settlement.run")],
    [(K_PAY, "payout.create"), (K_IAM, "user.admin")],
];

pub(super) fn plant(b: &mut Builder) {
    // SOD-001 (payout release + beneficiary maintenance), with exceptions: one third
    // mitigated, one third with an expired exception.
    let mut pool = b.members(J_SUPERVISOR);
    let n1 = b.n1();
    for (n, i) in b.take(&mut pool, n1).into_iter().enumerate() {
        b.grant_extra(i, K_BENE, "role.bene_maintainer");
        if n % 3 < 2 {
            let approved_at = b.t_us - b.rng.range(60, 200) * DAY_US;
            let expires_at = if n % 3 == 0 {
                b.t_us + b.rng.range(30, 180) * DAY_US
            } else {
                b.t_us - b.rng.range(1, 40) * DAY_US
            };
            b.w.exceptions.push(Exception {
                rule: "SOD-001",
                identity: i,
                approved_by: b.approver_for(i),
                approved_at,
                expires_at,
                control: "Daily second-line review of beneficiary changes against payouts released",
            });
        }
    }
    // SOD-002 (limit change + settlement, same jurisdiction).
    let mut pool = b.members(J_SETTLEMENT);
    for i in b.take(&mut pool, n1) {
        b.grant_extra(i, K_PAY, "limit.change");
    }
    // SOD-003 (IAM administration + business operations).
    let mut pool = b.members(J_IAM);
    for i in b.take(&mut pool, n1.div_ceil(4)) {
        b.grant_extra(i, K_PAY, "payout.create");
    }
}

/// Dense: most active staff with a payout account get two of the three static conflicts,
/// in rotation, opening a recent (neither dormant nor stale) account on the other side's
/// system when they have none there. `active`: the staff's accounts; `by_account`: the
/// grants in force per account, extended with the planted ones and the new accounts.
pub(super) fn dense(b: &mut Builder, active: &[usize], by_account: &mut Vec<Vec<usize>>) {
    let mut owned: Vec<Vec<usize>> = vec![Vec::new(); b.n_ident];
    for (a, acc) in b.w.accounts.iter().enumerate() {
        if let (Owner::Identity(i), AType::Human) = (&acc.owner, acc.atype) {
            owned[*i].push(a);
        }
    }
    let mut staff: Vec<usize> = active
        .iter()
        .filter_map(|&a| match b.w.accounts[a].owner {
            Owner::Identity(i) => Some(i),
            _ => None,
        })
        .collect();
    staff.sort_unstable();
    staff.dedup();
    let mut turn = 0;
    for i in staff {
        let Some(pay) = account_of(b, &owned[i], K_PAY) else {
            continue;
        };
        if !b.rng.chance(DENSE_SHARE) {
            continue;
        }
        for rule in [turn % 3, (turn + 1) % 3] {
            for (kind, ent) in DENSE_SIDES[rule] {
                let a = match kind {
                    K_PAY => pay,
                    _ => match account_of(b, &owned[i], kind) {
                        Some(a) => a,
                        None => {
                            let a = open_recent(b, i, kind);
                            owned[i].push(a);
                            a
                        }
                    },
                };
                let Some(e) = b.w.systems[b.w.accounts[a].sys].ent(ent) else {
                    continue;
                };
                let at = match b.w.accounts[a].created_at {
                    Some(c) if c > b.t_us - 100 * DAY_US => c + b.rng.range(0, 3) * DAY_US,
                    _ => b.t_us - b.rng.range(100, 300) * DAY_US,
                };
                let (ap, gb) = (b.approver_for(i), b.granter_for(i));
                // Accounts opened after `by_account` was taken (here or by earlier plants)
                // have no grants in it yet.
                by_account.resize(b.w.accounts.len(), Vec::new());
                by_account[a].push(b.w.grants.len());
                b.w.push_grant(a, e, at, ap, gb);
            }
        }
        turn += 1;
    }
}

/// The first of `accounts` on a system of the given kind.
fn account_of(b: &Builder, accounts: &[usize], kind: usize) -> Option<usize> {
    accounts
        .iter()
        .copied()
        .find(|&a| b.w.systems[b.w.accounts[a].sys].kind == kind)
}

/// A new, quiet account of identity i on its jurisdiction's system of the given kind,
/// opened within the last 80 days (so neither dormant nor holding stale grants).
fn open_recent(b: &mut Builder, i: usize, kind: usize) -> usize {
    let ident = &b.w.identities[i];
    let sys = b.w.sys_index(kind, ident.jur);
    let name = ident.email.split('@').next().unwrap_or("user").to_string();
    let created = b.t_us - b.rng.range(10, 80) * DAY_US;
    b.w.accounts.push(Account {
        created_at: Some(created),
        ..Account::quiet(sys, name, Owner::Identity(i), AType::Human)
    });
    b.w.accounts.len() - 1
}
