//! Planted cases: one planting function per rule, in a file named after the rule's file in
//! `src/rules/`. Each plants a few cases at a low rate on identities no other plant has
//! used, so every rule fires on generated data without one case hiding another.
//!
//! The plants run in a fixed order on the static world's stream ([`access`], then
//! [`events`]); the log-chain plants ([`log_sequence_gap`], [`log_hash_mismatch`]) run per
//! day on each day's chain stream instead. Peer outliers have no plant of their own.

mod dormant_account;
mod emergency_account_used;
mod expired_grant;
mod failed_login_burst;
mod grade_exceeded;
mod impossible_travel;
pub(super) mod log_feed_silent;
pub(super) mod log_hash_mismatch;
pub(super) mod log_sequence_gap;
mod login_from_unexpected_country;
mod off_hours_privileged_action;
mod orphan_account;
mod post_termination_activity;
mod privileged_no_mfa;
mod self_approved_grant;
mod shared_privileged_account;
mod sod_conflict;
mod sod_transaction;
mod stale_grant;
mod terminated_access;
mod unapproved_privileged_grant;
mod unmanaged_account_activity;

use super::catalogue::{JOBS, SPECIAL};
use super::model::{AType, Ev, Owner, Status, System, World};
use super::rng::Rng;
use super::world::Builder;
use super::{DAY_US, LOOKBACK_DAYS};

/// The cases in the static tables (access held, accounts, grants); returns the active
/// staff's accounts that the grant-level cases were picked from.
pub(super) fn access(b: &mut Builder) -> Vec<usize> {
    sod_conflict::plant(b);
    grade_exceeded::plant(b);
    let leavers = terminated_access::plant(b);
    post_termination_activity::plant(b, &leavers);
    dormant_account::plant(b);
    privileged_no_mfa::plant(b);
    let active = b.active_accounts();
    let mut by_account: Vec<Vec<usize>> = vec![Vec::new(); b.w.accounts.len()];
    for (g, gr) in b.w.grants.iter().enumerate() {
        if gr.revoked_at.is_none() {
            by_account[gr.account].push(g);
        }
    }
    stale_grant::plant(b, &active, &mut by_account);
    expired_grant::plant(b, &active, &by_account);
    self_approved_grant::plant(b, &active, &by_account);
    unapproved_privileged_grant::plant(b, &by_account);
    shared_privileged_account::plant(b);
    orphan_account::plant(b);
    active
}

/// The cases in the audit events, once each account's used actions are known: `active`
/// from [`access`], `acc_grants` the grants in force per account.
pub(super) fn events(b: &mut Builder, active: &[usize], acc_grants: &[Vec<usize>]) {
    sod_transaction::plant(b);
    let humans: Vec<usize> = active
        .iter()
        .copied()
        .filter(|&a| b.w.accounts[a].stop_day == i64::MAX)
        .collect();
    failed_login_burst::plant(b, &humans);
    impossible_travel::plant(b, &humans);
    login_from_unexpected_country::plant(b, &humans);
    off_hours_privileged_action::plant(b, acc_grants);
    emergency_account_used::plant(b);
    unmanaged_account_activity::plant(b);
    log_feed_silent::plant(b);
    for day in &mut b.w.planted {
        day.sort_by_key(|e| (e.ts, e.acc, e.action));
    }
}

/// Per system that `on` selects, in about one day in twenty: a position among the day's
/// `counts[s]` events, never the first.
fn rare_position(
    w: &World,
    rng: &mut Rng,
    counts: &[usize],
    on: fn(&System) -> bool,
) -> Vec<Option<usize>> {
    (0..w.systems.len())
        .map(|s| {
            (on(&w.systems[s]) && counts[s] > 2 && rng.chance(0.05))
                .then(|| 1 + rng.below(counts[s] as u64 - 1) as usize)
        })
        .collect()
}

/// How many cases of a kind: one per `per` identities, at least one.
fn plant_count(n_ident: usize, per: usize) -> usize {
    (n_ident / per).max(1)
}

impl Builder {
    /// The base rate of cases: one per thousand identities.
    fn n1(&self) -> usize {
        plant_count(self.n_ident, 1000)
    }

    /// Active, unplanted members of a job present for the whole history.
    fn members(&self, job: usize) -> Vec<usize> {
        (SPECIAL..self.n_ident)
            .filter(|&i| {
                let ident = &self.w.identities[i];
                ident.job == Some(job)
                    && ident.status == Status::Active
                    && self.start_day[i] == i64::MIN
                    && !self.planted[i]
            })
            .collect()
    }

    /// [`Builder::members`] of every job, in identity order.
    fn staff(&self) -> Vec<usize> {
        let mut pool: Vec<usize> = (0..JOBS.len()).flat_map(|j| self.members(j)).collect();
        pool.sort_unstable();
        pool
    }

    /// Draws up to n identities out of the pool and marks them planted.
    fn take(&mut self, pool: &mut Vec<usize>, n: usize) -> Vec<usize> {
        let mut out = Vec::new();
        while out.len() < n && !pool.is_empty() {
            let k = self.rng.below(pool.len() as u64) as usize;
            let i = pool.swap_remove(k);
            self.planted[i] = true;
            out.push(i);
        }
        out
    }

    /// Human accounts, still active, of unplanted active staff present for the whole
    /// history.
    fn active_accounts(&self) -> Vec<usize> {
        let w = &self.w;
        (0..w.accounts.len())
            .filter(|&a| {
                let acc = &w.accounts[a];
                acc.atype == AType::Human
                    && acc.status == "active"
                    && matches!(acc.owner, Owner::Identity(i)
                        if i >= SPECIAL
                            && !self.planted[i]
                            && w.identities[i].status == Status::Active
                            && self.start_day[i] == i64::MIN)
            })
            .collect()
    }

    /// Grants identity i, on its account on a system of the given kind, an entitlement its job
    /// does not give, long before the end of the history.
    fn grant_extra(&mut self, i: usize, kind: usize, ent: &str) {
        let Some(a) = self.acc_on(i, kind) else {
            return;
        };
        let sys = self.w.accounts[a].sys;
        if let Some(e) = self.w.systems[sys].ent(ent) {
            let at = self.t_us - self.rng.range(100, 300) * DAY_US;
            let (ap, gb) = (self.approver_for(i), self.granter_for(i));
            self.w.push_grant(a, e, at, ap, gb);
        }
    }

    /// A day of the activity window.
    fn window_day(&mut self) -> i64 {
        let days = self.days as i64;
        self.rng.range(self.window_lo(), days)
    }

    /// A weekday of the activity window (the last day if 50 draws found none).
    fn weekday_in_window(&mut self) -> i64 {
        let days = self.days as i64;
        for _ in 0..50 {
            let d = self.rng.range(self.window_lo(), days);
            if !self.w.is_weekend(d) {
                return d;
            }
        }
        days - 1
    }

    fn window_lo(&self) -> i64 {
        (self.days as i64 - LOOKBACK_DAYS as i64).max(0)
    }
}

impl World {
    fn login_ev(&self, a: usize, ts: i64, ok: bool, mfa: bool, country: u8) -> Ev {
        Ev {
            ts,
            acc: a as u32,
            action: self.systems[self.accounts[a].sys].login,
            ok,
            mfa: if mfa { 2 } else { 1 },
            country,
            ip: self.ip_of(a),
            target: 0,
            seq: -1,
            hash: u32::MAX,
            tamper: false,
        }
    }

    /// A successful action from the account's home country.
    fn action_ev(&self, a: usize, ts: i64, action: u32, target: u64) -> Ev {
        Ev {
            ts,
            acc: a as u32,
            action,
            ok: true,
            mfa: 0,
            country: self.home_country(a),
            ip: self.ip_of(a),
            target,
            seq: -1,
            hash: u32::MAX,
            tamper: false,
        }
    }
}
