//! Accounts and grants: each identity's accounts as its job prescribes (role plus module
//! permissions, some earlier access revoked), the platform owners' service, shared,
//! break-glass and log-agent accounts, and what each account ends up using.

use super::catalogue::{FILLERS, JOBS, JURS, KINDS, K_CRM, K_IAM, K_MERCHANT, K_PAY};
use super::model::{AType, Account, Grant, Owner, Status, World};
use super::rng::Rng;
use super::world::Builder;
use super::{DAY_US, HOUR_US, MIN_US};

/// One account per (system kind, role) of each identity's job, with its grants.
pub(super) fn human(b: &mut Builder) {
    let mut ticket = 100_000u32;
    for i in 0..b.n_ident {
        let access: Vec<(usize, &str)> = match b.w.identities[i].job {
            Some(job) => JOBS[job].access.to_vec(),
            None => vec![(K_IAM, "role.requester")],
        };
        for (slot, &(kind, role)) in access.iter().enumerate() {
            let (acc_idx, created) = open_account(b, i, slot, kind);
            let order = filler_order(b, i, kind);
            let ents = entitlements(b, i, acc_idx, kind, role, &order);
            for e in ents {
                ticket += 1;
                grant(b, i, acc_idx, e, created, ticket);
            }
            // Access changes over time: an earlier grant, revoked, on some accounts.
            if b.rng.chance(0.15) {
                let e = KINDS[kind].perms.len() + order[12 + b.rng.below(4) as usize];
                let granted_at = created + b.rng.range(1, 30) * DAY_US;
                let granted_by = Some(b.granter_for(i));
                let approved_by = Some(b.approver_for(i));
                let revoked_at =
                    granted_at.max(b.w.start_us - 10 * DAY_US) + b.rng.range(1, 9) * DAY_US;
                b.w.grants.push(Grant {
                    account: acc_idx,
                    ent: e,
                    granted_at,
                    granted_by,
                    approved_by,
                    expires_at: None,
                    revoked_at: Some(revoked_at),
                    ticket: Some(ticket),
                    unused: false,
                });
            }
        }
    }
}

/// Identity i's account on its job's system of the given kind: (account, created at).
fn open_account(b: &mut Builder, i: usize, slot: usize, kind: usize) -> (usize, i64) {
    let start_us = b.w.start_us;
    let ident = &b.w.identities[i];
    let sys = b.w.sys_index(kind, ident.jur);
    let created = if b.start_day[i] > i64::MIN {
        start_us + b.start_day[i] * DAY_US + 8 * HOUR_US
    } else {
        start_us - b.rng.range(120, 2200) * DAY_US + b.rng.range(1, 9) * HOUR_US
    };
    let offboarded = ident.status == Status::Terminated;
    let name = ident.email.split('@').next().unwrap_or("user").to_string();
    let hot = b.w.systems[sys].hot;
    let acc_idx = b.w.accounts.len();
    b.w.accounts.push(Account {
        sys,
        name,
        owner: Owner::Identity(i),
        atype: AType::Human,
        status: if offboarded { "disabled" } else { "active" },
        created_at: if b.rng.chance(0.02) {
            None
        } else {
            Some(created)
        },
        start_day: b.start_day[i].max(0),
        stop_day: b.stop_day[i],
        weight: b.activity[i] * hot * if slot == 0 { 1.5 } else { 0.7 },
        privileged_access: false,
        use_actions: Vec::new(),
        no_mfa: false,
        mfa_method: 0,
        ghost: false,
    });
    (acc_idx, created)
}

/// The module permissions of a (job, system kind) in a fixed shuffled order, from a stream
/// of their own so that every member of the job gets the same order.
fn filler_order(b: &Builder, i: usize, kind: usize) -> Vec<usize> {
    let job_key = b.w.identities[i].job.map_or(99, |j| j as u64);
    let mut order: Vec<usize> = (0..FILLERS).collect();
    let mut frng = Rng::new(job_key, kind as u64 + 1000);
    for x in (1..order.len()).rev() {
        order.swap(x, frng.below(x as u64 + 1) as usize);
    }
    order
}

/// The role, then the module permissions: a base set every member of the (job, system)
/// holds, plus extras that two thirds of the members hold (never rare enough to be
/// outliers).
fn entitlements(
    b: &Builder,
    i: usize,
    acc_idx: usize,
    kind: usize,
    role: &str,
    order: &[usize],
) -> Vec<usize> {
    let mut ents: Vec<usize> = Vec::new();
    if let Some(e) = b.w.systems[b.w.accounts[acc_idx].sys].ent(role) {
        ents.push(e);
    }
    let n_perm = KINDS[kind].perms.len();
    if b.w.identities[i].job.is_some() {
        for &f in &order[..6] {
            ents.push(n_perm + f);
        }
        for (e, &f) in order[6..10].iter().enumerate() {
            if !(b.group_rank[i] + e).is_multiple_of(3) {
                ents.push(n_perm + f);
            }
        }
    }
    ents
}

/// A grant of entitlement e to identity i's account, revoked with the identity's
/// offboarding, sometimes with an expiry, almost always with a change ticket.
fn grant(b: &mut Builder, i: usize, acc_idx: usize, e: usize, created: i64, ticket: u32) {
    let rng = &mut b.rng;
    let granted_at = created + rng.range(0, 20) * DAY_US + rng.range(5, 600) * MIN_US;
    let offboarded = b.w.identities[i].status == Status::Terminated;
    let revoked_at = if offboarded {
        b.w.identities[i]
            .terminated_at
            .map(|t| t + rng.range(1, 6) * HOUR_US)
    } else {
        None
    };
    let expires_at = if revoked_at.is_none() && rng.chance(0.08) {
        Some(b.t_us + rng.range(20, 365) * DAY_US)
    } else {
        None
    };
    let g = b.granter_for(i);
    let a = b.approver_for(i);
    let ticket = if b.rng.chance(0.97) {
        Some(ticket)
    } else {
        None
    };
    b.w.grants.push(Grant {
        account: acc_idx,
        ent: e,
        granted_at,
        granted_by: Some(g),
        approved_by: Some(a),
        expires_at,
        revoked_at,
        ticket,
        unused: false,
    });
}

/// Service accounts on the hot systems (heavy, 24/7, non-privileged), shared team accounts
/// and disabled break-glass accounts, owned by the platform owners; a log agent per system.
pub(super) fn platform(b: &mut Builder) {
    let start_us = b.w.start_us;
    let admin0 = b.admin0();
    let n_svc = (b.n_ident / 2_000).max(1);
    for (j, jur) in JURS.iter().enumerate() {
        let owner = 1 + j;
        for (kind, role, prefix) in [
            (K_PAY, "role.payout_maker", "svc-payout-api"),
            (K_MERCHANT, "role.merchant_operator", "svc-merchant-api"),
        ] {
            let sys = b.w.sys_index(kind, j);
            for k in 0..n_svc {
                let acc_idx = b.w.accounts.len();
                let name = format!("{prefix}-{k:02}");
                b.w.accounts.push(Account {
                    created_at: Some(start_us - b.rng.range(400, 1500) * DAY_US),
                    stop_day: i64::MAX,
                    weight: 60.0 * (1.0 + b.rng.f64()),
                    no_mfa: true,
                    ..Account::quiet(sys, name, Owner::Identity(owner), AType::Service)
                });
                if let Some(e) = b.w.systems[sys].ent(role) {
                    b.w.push_grant(acc_idx, e, start_us - 300 * DAY_US, 0, admin0);
                }
            }
        }
        for (kind, role, name) in [
            (K_CRM, "role.crm_agent", "crm-shared"),
            (K_PAY, "role.payout_viewer", "pay-shared"),
        ] {
            let sys = b.w.sys_index(kind, j);
            let acc_idx = b.w.accounts.len();
            let name = format!("{name}-{}", jur.code.to_lowercase());
            b.w.accounts.push(Account {
                created_at: Some(start_us - b.rng.range(400, 1500) * DAY_US),
                stop_day: i64::MAX,
                weight: 2.0,
                ..Account::quiet(sys, name, Owner::Identity(owner), AType::Shared)
            });
            if let Some(e) = b.w.systems[sys].ent(role) {
                b.w.push_grant(acc_idx, e, start_us - 300 * DAY_US, 0, admin0);
            }
        }
        let sys = b.w.sys_index(K_PAY, j);
        b.w.push_breakglass(sys, owner, "role.ops_lead");
    }
    let iam = b.w.sys_index(K_IAM, 0);
    b.w.push_breakglass(iam, 1, "role.iam_admin");
    // A log agent per system: its periodic integrity checks keep a quiet system's feed
    // alive, as real collectors do, so only a broken feed goes silent.
    let w = &mut b.w;
    for sys in 0..w.systems.len() {
        let acc_idx = w.accounts.len();
        let owner = Owner::Identity(1 + w.systems[sys].jur);
        w.accounts.push(Account {
            created_at: Some(start_us - 900 * DAY_US),
            stop_day: i64::MAX,
            no_mfa: true,
            ..Account::quiet(sys, "svc-log-agent".to_string(), owner, AType::Service)
        });
        w.push_grant(acc_idx, 0, start_us - 900 * DAY_US, 0, admin0);
        w.log_agents.push(acc_idx);
    }
}

/// Privileged access and the actions each account uses, from the grants in force at
/// `t_us`; returns those grants per account.
pub(super) fn derive_usage(w: &mut World, t_us: i64) -> Vec<Vec<usize>> {
    let mut acc_grants: Vec<Vec<usize>> = vec![Vec::new(); w.accounts.len()];
    for (g, gr) in w.grants.iter().enumerate() {
        if gr.revoked_at.is_none_or(|r| r >= t_us) {
            acc_grants[gr.account].push(g);
        }
    }
    for a in 0..w.accounts.len() {
        let sys = &w.systems[w.accounts[a].sys];
        let mut priv_access = false;
        let mut uses = Vec::new();
        for (n, &g) in acc_grants[a].iter().enumerate() {
            let gr = &w.grants[g];
            priv_access |= sys.reach_priv[gr.ent];
            if gr.unused {
                continue;
            }
            let cl = &sys.closure[gr.ent];
            if cl.is_empty() {
                continue;
            }
            let perm = cl[(a + n) % cl.len()];
            if let Some(act) = sys.action_of_perm[perm] {
                uses.push(act);
            }
        }
        // Keep out permissions of planted unused grants even if another grant's closure
        // would pick them (it cannot: module permissions are never role members).
        let acc = &mut w.accounts[a];
        acc.privileged_access = priv_access && acc.status == "active";
        acc.use_actions = uses;
    }
    acc_grants
}

impl World {
    /// A grant in force with a generated change ticket.
    pub(super) fn push_grant(
        &mut self,
        acc: usize,
        ent: usize,
        at: i64,
        approver: usize,
        granter: usize,
    ) {
        self.grants.push(Grant {
            account: acc,
            ent,
            granted_at: at,
            granted_by: Some(granter),
            approved_by: Some(approver),
            expires_at: None,
            revoked_at: None,
            ticket: Some(900_000 + self.grants.len() as u32 % 99_999),
            unused: false,
        });
    }

    /// A disabled emergency account on a system, owned by a platform owner, holding a role.
    fn push_breakglass(&mut self, sys: usize, owner: usize, role: &str) {
        let start_us = self.start_us;
        let acc_idx = self.accounts.len();
        let name = format!("breakglass-{}", self.systems[sys].id);
        self.accounts.push(Account {
            status: "disabled",
            created_at: Some(start_us - 800 * DAY_US),
            ..Account::quiet(sys, name, Owner::Identity(owner), AType::Emergency)
        });
        if let Some(e) = self.systems[sys].ent(role) {
            self.push_grant(
                acc_idx,
                e,
                start_us - 700 * DAY_US,
                0,
                usize::from(owner == 1) + 1,
            );
        }
    }
}
