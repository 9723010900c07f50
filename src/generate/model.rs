//! The synthetic world in memory: systems, identities, accounts, grants, exceptions and
//! compact events, before they are written as tables.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::rng::Rng;
use super::{DAY_US, MIN_US};

pub(super) struct Ent {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) is_role: bool,
    pub(super) risk: u8,
    pub(super) privileged: bool,
}

pub(super) struct System {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) jur: usize,
    pub(super) kind: usize,
    pub(super) ents: Vec<Ent>,
    /// (role index, member index)
    pub(super) edges: Vec<(usize, usize)>,
    /// Per entitlement: permission indices of its closure.
    pub(super) closure: Vec<Vec<usize>>,
    /// Per entitlement: it or something it reaches is privileged.
    pub(super) reach_priv: Vec<bool>,
    /// Audit actions: (name, permission index).
    pub(super) actions: Vec<(String, Option<usize>)>,
    /// Per permission: one action exercising it.
    pub(super) action_of_perm: Vec<Option<u32>>,
    /// Per action: exercises a privileged permission.
    pub(super) action_priv: Vec<bool>,
    pub(super) action_target: Vec<Option<&'static str>>,
    pub(super) login: u32,
    pub(super) sequenced: bool,
    pub(super) chained: bool,
    pub(super) hot: f64,
}

impl System {
    pub(super) fn ent(&self, id: &str) -> Option<usize> {
        self.ents.iter().position(|e| e.id == id)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Active,
    Leave,
    Terminated,
}

pub(super) struct Identity {
    pub(super) id: String,
    pub(super) display: String,
    pub(super) email: String,
    pub(super) dept: String,
    pub(super) job: Option<usize>,
    pub(super) jur: usize,
    pub(super) manager: Option<usize>,
    pub(super) status: Status,
    pub(super) terminated_at: Option<i64>,
    pub(super) ip_host: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum AType {
    Human,
    Service,
    Shared,
    Emergency,
}

#[derive(Clone)]
pub(super) enum Owner {
    Identity(usize),
    None,
    Unknown(String),
}

pub(super) struct Account {
    pub(super) sys: usize,
    pub(super) name: String,
    pub(super) owner: Owner,
    pub(super) atype: AType,
    pub(super) status: &'static str,
    pub(super) created_at: Option<i64>,
    /// Events only on days in [start_day, stop_day); stop_time cuts the last day.
    pub(super) start_day: i64,
    pub(super) stop_day: i64,
    pub(super) weight: f64,
    pub(super) privileged_access: bool,
    pub(super) use_actions: Vec<u32>,
    pub(super) no_mfa: bool,
    /// The second factor its logins with MFA report: 1 + index into `MFA_METHODS`, 0 none
    /// said (set last, by the weak-MFA plant, once privileged access is known).
    pub(super) mfa_method: u8,
    /// Events from an account absent from `accounts` (not written to the table).
    pub(super) ghost: bool,
}

impl Account {
    /// An active account with no activity of its own, no privileged use and MFA on; callers
    /// override what makes theirs different with struct update syntax.
    pub(super) fn quiet(sys: usize, name: String, owner: Owner, atype: AType) -> Account {
        Account {
            sys,
            name,
            owner,
            atype,
            status: "active",
            created_at: None,
            start_day: 0,
            stop_day: i64::MIN,
            weight: 0.0,
            privileged_access: false,
            use_actions: Vec::new(),
            no_mfa: false,
            mfa_method: 0,
            ghost: false,
        }
    }
}

pub(super) struct Grant {
    pub(super) account: usize,
    pub(super) ent: usize,
    pub(super) granted_at: i64,
    pub(super) granted_by: Option<usize>,
    pub(super) approved_by: Option<usize>,
    pub(super) expires_at: Option<i64>,
    pub(super) revoked_at: Option<i64>,
    pub(super) ticket: Option<u32>,
    /// Planted stale grant: its permissions are kept out of the account's activity.
    pub(super) unused: bool,
}

/// A completed security training course.
pub(super) struct Training {
    /// The identity_id written (an identity's, or someone the directory does not know).
    pub(super) identity: String,
    pub(super) course: &'static str,
    pub(super) completed_at: i64,
}

pub(super) struct Exception {
    pub(super) rule: &'static str,
    pub(super) identity: usize,
    pub(super) approved_by: usize,
    pub(super) approved_at: i64,
    pub(super) expires_at: i64,
    pub(super) control: &'static str,
}

/// `Ev::method`: a login that says nothing of its second factor.
pub(super) const NO_METHOD: u8 = u8::MAX;

/// One audit event before materialisation: compact, sortable, cheap to move.
#[derive(Clone, Copy)]
pub(super) struct Ev {
    pub(super) ts: i64,
    pub(super) acc: u32,
    pub(super) action: u32,
    pub(super) ok: bool,
    /// 0 null, 1 false, 2 true
    pub(super) mfa: u8,
    /// With `mfa` true: 0 the account's own factor (`Account::mfa_method`), 1 + index into
    /// `MFA_METHODS` another one, `NO_METHOD` none said.
    pub(super) method: u8,
    /// index into COUNTRIES, 255 null
    pub(super) country: u8,
    pub(super) ip: u32,
    /// 0: no target
    pub(super) target: u64,
    /// -1: no seq
    pub(super) seq: i64,
    /// index into the day's hash list, u32::MAX: none
    pub(super) hash: u32,
    /// Altered after hashing: a planted hash mismatch.
    pub(super) tamper: bool,
}

pub(super) struct World {
    pub(super) start_us: i64,
    pub(super) first_date: NaiveDate,
    pub(super) systems: Vec<System>,
    pub(super) identities: Vec<Identity>,
    pub(super) accounts: Vec<Account>,
    pub(super) grants: Vec<Grant>,
    pub(super) exceptions: Vec<Exception>,
    pub(super) training: Vec<Training>,
    /// Per rule code: the findings its plant makes, where the generator knows them exactly.
    pub(super) planted_findings: Vec<(&'static str, usize)>,
    /// Planted events per day.
    pub(super) planted: Vec<Vec<Ev>>,
    /// Per system: its log agent account.
    pub(super) log_agents: Vec<usize>,
    /// (system, first silent day): a planted silent feed.
    pub(super) silent: Option<(usize, i64)>,
    /// (system, first day, day after the last): a planted outage of the feed.
    pub(super) outage: Option<(usize, i64, i64)>,
    /// Per day and jurisdiction: UTC instant of local midnight.
    pub(super) local_midnight: Vec<[i64; 5]>,
}

impl World {
    pub(super) fn day_start(&self, d: i64) -> i64 {
        self.start_us + d * DAY_US
    }
    pub(super) fn date(&self, d: i64) -> NaiveDate {
        self.first_date + Duration::days(d)
    }
    pub(super) fn weekday(&self, d: i64) -> Weekday {
        self.date(d).weekday()
    }
    pub(super) fn is_weekend(&self, d: i64) -> bool {
        matches!(self.weekday(d), Weekday::Sat | Weekday::Sun)
    }
    /// A business-hours instant (09:00-18:00 local, which is inside the UTC day for all
    /// five zones) on day d in jurisdiction j.
    pub(super) fn business_ts(&self, rng: &mut Rng, d: i64, j: usize) -> i64 {
        // Two humps (morning, afternoon) with a lunch dip.
        let minute = if rng.chance(0.5) {
            9 * 60 + rng.range(0, 180)
        } else {
            13 * 60 + rng.range(30, 300)
        };
        self.local_midnight[d as usize][j] + minute * MIN_US + rng.range(0, MIN_US)
    }
    /// A local time wrapped into UTC day d (for actions where the local date does not
    /// matter).
    pub(super) fn wrapped_ts(&self, d: i64, j: usize, local_us: i64) -> i64 {
        let start = self.day_start(d);
        let t = self.local_midnight[d as usize][j] + local_us;
        start + (t - start).rem_euclid(DAY_US)
    }
    pub(super) fn acc_jur(&self, a: usize) -> usize {
        self.systems[self.accounts[a].sys].jur
    }
    pub(super) fn home_country(&self, a: usize) -> u8 {
        match self.accounts[a].owner {
            Owner::Identity(i) => self.identities[i].jur as u8,
            _ => self.acc_jur(a) as u8,
        }
    }
    pub(super) fn ip_of(&self, a: usize) -> u32 {
        match self.accounts[a].owner {
            Owner::Identity(i) => self.identities[i].ip_host,
            _ => 0xffff,
        }
    }
}
