//! `permaudit generate`: a deterministic synthetic payment platform at benchmark scale.
//!
//! The data set conforms to the contract (CONTRACT.md) so that `permaudit run` loads it
//! without quarantine: five jurisdictions, per-jurisdiction systems plus a group IAM, nested
//! roles, about three accounts and thirty grants per identity, skewed activity (hot
//! systems, heavy users and service accounts, weekday peaks), sequenced and hash-chained
//! logs on some systems, and planted cases of every rule at low rates.
//!
//! Determinism: every random choice comes from a seeded SplitMix64 stream; static tables
//! use one stream in a fixed order, each day uses its own stream derived from (seed, day),
//! so days can be generated in parallel and the bytes do not depend on thread timing.
//! Memory: days are generated, chained and written in small batches, never all at once.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Datelike, Duration, NaiveDate, Offset, TimeZone as _, Weekday};
use polars::prelude::*;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Benchmark sizes: small, medium and large platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    Small,
    Medium,
    Large,
}

impl Preset {
    /// (identities, days, events per day)
    pub fn sizes(self) -> (usize, u32, usize) {
        match self {
            Preset::Small => (2_000, 30, 20_000),
            Preset::Medium => (20_000, 90, 200_000),
            Preset::Large => (100_000, 90, 1_100_000),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub out: PathBuf,
    pub seed: u64,
    pub identities: usize,
    pub days: u32,
    pub events_per_day: usize,
    /// Replace `input/` and `policy/` of an earlier generation in `out`.
    pub force: bool,
}

#[derive(Debug, Clone, Default)]
pub struct GenSummary {
    pub as_of: Option<NaiveDate>,
    pub systems: usize,
    pub identities: usize,
    pub accounts: usize,
    pub entitlements: usize,
    pub grants: usize,
    pub events: u64,
    pub days: u32,
}

/// The line `generate` prints.
impl std::fmt::Display for GenSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "permaudit generate status=ok as_of={} systems={} identities={} accounts={} entitlements={} grants={} days={} events={}",
            self.as_of.map(|d| d.to_string()).unwrap_or_default(),
            self.systems,
            self.identities,
            self.accounts,
            self.entitlements,
            self.grants,
            self.days,
            self.events
        )
    }
}

/// The last generated day, fixed so that the same seed gives the same bytes on any date.
pub const AS_OF: (i32, u32, u32) = (2026, 11, 24);
const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;
const MIN_US: i64 = 60_000_000;
/// Activity window written to the generated permaudit.toml; planted event cases fall in it.
const LOOKBACK_DAYS: u32 = 30;

// ------------------------------------------------------------------------------ random

/// SplitMix64: tiny, fast, and stable across platforms and crate versions (a dependency's
/// generator could change its stream in a minor release and break "same seed, same bytes").
#[derive(Clone)]
struct Rng(u64);

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        Rng(mix(seed ^ mix(stream.wrapping_add(0x9e37_79b9_7f4a_7c15))))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }
    /// Uniform in [0, n); n = 0 gives 0.
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo).max(0) as u64) as i64
    }
    fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    /// Approximately normal (Irwin-Hall of 4), enough for activity skew.
    fn normal(&mut self) -> f64 {
        (self.f64() + self.f64() + self.f64() + self.f64() - 2.0) * 1.732
    }
}

// ------------------------------------------------------------------------------ catalogue

struct Jur {
    code: &'static str,
    name: &'static str,
    regulator: &'static str,
    tz: &'static str,
    entity: &'static str,
    share: f64,
}

const JURS: [Jur; 5] = [
    Jur {
        code: "HK",
        name: "Hong Kong",
        regulator: "Hong Kong Monetary Authority (HKMA)",
        tz: "Asia/Hong_Kong",
        entity: "PayFront Hong Kong Ltd",
        share: 0.30,
    },
    Jur {
        code: "SG",
        name: "Singapore",
        regulator: "Monetary Authority of Singapore (MAS)",
        tz: "Asia/Singapore",
        entity: "PayFront Singapore Pte Ltd",
        share: 0.20,
    },
    Jur {
        code: "EU",
        name: "European Union (Germany)",
        regulator: "BaFin (DORA competent authority)",
        tz: "Europe/Berlin",
        entity: "PayFront Europe GmbH",
        share: 0.20,
    },
    Jur {
        code: "UK",
        name: "United Kingdom",
        regulator: "Financial Conduct Authority (FCA)",
        tz: "Europe/London",
        entity: "PayFront UK Ltd",
        share: 0.15,
    },
    Jur {
        code: "US",
        name: "United States (New York)",
        regulator: "New York State Department of Financial Services (NYDFS)",
        tz: "America/New_York",
        entity: "PayFront Inc.",
        share: 0.15,
    },
];
const JUR_SG: usize = 1;
const JUR_UK: usize = 3;

/// Countries that appear in `src_country`: the five home countries, then foreign ones used
/// by planted travel and unexpected-country logins.
const COUNTRIES: [&str; 10] = ["HK", "SG", "DE", "GB", "US", "MY", "RU", "BR", "NG", "VN"];
const IP_BASE: [&str; 10] = [
    "203.198", "116.12", "85.214", "81.2", "74.125", "175.139", "95.173", "187.141", "105.112",
    "113.160",
];

struct Perm {
    id: &'static str,
    name: &'static str,
    risk: u8,
    privileged: bool,
}
struct Role {
    id: &'static str,
    name: &'static str,
    risk: u8,
    members: &'static [&'static str],
}
struct Kind {
    code: &'static str,
    name: &'static str,
    perms: &'static [Perm],
    roles: &'static [Role],
    /// Extra audit action names that exercise a permission (system-specific vocabulary).
    aliases: &'static [(&'static str, &'static str)],
    /// Relative event volume: payout consoles and merchant portals are the hot systems.
    hot: f64,
    sequenced: bool,
    chained: bool,
}

const LOW: u8 = 0;
const MED: u8 = 1;
const HIGH: u8 = 2;
const CRIT: u8 = 3;
const RISK: [&str; 4] = ["low", "medium", "high", "critical"];

const fn p(id: &'static str, name: &'static str, risk: u8, privileged: bool) -> Perm {
    Perm {
        id,
        name,
        risk,
        privileged,
    }
}
const fn r(
    id: &'static str,
    name: &'static str,
    risk: u8,
    members: &'static [&'static str],
) -> Role {
    Role {
        id,
        name,
        risk,
        members,
    }
}

const K_PAY: usize = 0;
const K_BENE: usize = 1;
const K_SETTLE: usize = 2;
const K_MERCHANT: usize = 3;
const K_CRM: usize = 4;
const K_LEDGER: usize = 5;
const K_RISK: usize = 6;
const K_IAM: usize = 7;

const KINDS: [Kind; 8] = [
    Kind {
        code: "pay",
        name: "payout console",
        perms: &[
            p("payout.view", "View payouts", LOW, false),
            p("payout.create", "Create payout (maker)", MED, false),
            p("payout.cancel", "Cancel payout", MED, false),
            p("payout.release", "Release payout (checker)", HIGH, true),
            p("limit.change", "Change payout limits", CRIT, true),
            p("report.export", "Export payout reports", LOW, false),
        ],
        roles: &[
            r(
                "role.payout_viewer",
                "Payout viewer",
                LOW,
                &["payout.view", "report.export"],
            ),
            r(
                "role.payout_maker",
                "Payout maker",
                MED,
                &["role.payout_viewer", "payout.create", "payout.cancel"],
            ),
            r(
                "role.payout_checker",
                "Payout checker",
                HIGH,
                &["role.payout_viewer", "payout.release"],
            ),
            r(
                "role.payout_supervisor",
                "Payout supervisor",
                HIGH,
                &["role.payout_maker", "role.payout_checker"],
            ),
            r(
                "role.ops_lead",
                "Payments ops lead",
                CRIT,
                &["role.payout_supervisor", "limit.change"],
            ),
        ],
        aliases: &[("payout.search", "payout.view")],
        hot: 3.0,
        sequenced: true,
        chained: false,
    },
    Kind {
        code: "bene",
        name: "beneficiary management",
        perms: &[
            p("beneficiary.view", "View beneficiaries", LOW, false),
            p("beneficiary.create", "Create beneficiary", HIGH, false),
            p(
                "beneficiary.edit",
                "Edit beneficiary bank details",
                HIGH,
                false,
            ),
        ],
        roles: &[
            r(
                "role.bene_viewer",
                "Beneficiary viewer",
                LOW,
                &["beneficiary.view"],
            ),
            r(
                "role.bene_maintainer",
                "Beneficiary maintainer",
                HIGH,
                &["role.bene_viewer", "beneficiary.create", "beneficiary.edit"],
            ),
        ],
        aliases: &[],
        hot: 1.0,
        sequenced: false,
        chained: false,
    },
    Kind {
        code: "settle",
        name: "settlement engine",
        perms: &[
            p("settlement.view", "View settlement batches", LOW, false),
            p("settlement.reconcile", "Reconcile settlement", MED, false),
            p("settlement.run", "Run settlement", HIGH, true),
        ],
        roles: &[
            r(
                "role.settlement_viewer",
                "Settlement viewer",
                LOW,
                &["settlement.view"],
            ),
            r(
                "role.settlement_officer",
                "Settlement officer",
                HIGH,
                &[
                    "role.settlement_viewer",
                    "settlement.reconcile",
                    "settlement.run",
                ],
            ),
        ],
        aliases: &[("settlement.status", "settlement.view")],
        hot: 0.6,
        sequenced: true,
        chained: true,
    },
    Kind {
        code: "merchant",
        name: "merchant portal",
        perms: &[
            p("merchant.view", "View merchant account", LOW, false),
            p("merchant.edit", "Edit merchant profile", MED, false),
            p("merchant.refund", "Issue refund", MED, false),
            p("merchant.payout_request", "Request payout", MED, false),
            p(
                "merchant.user_admin",
                "Administer merchant portal users",
                HIGH,
                true,
            ),
        ],
        roles: &[
            r(
                "role.merchant_viewer",
                "Merchant viewer",
                LOW,
                &["merchant.view"],
            ),
            r(
                "role.merchant_operator",
                "Merchant operator",
                MED,
                &[
                    "role.merchant_viewer",
                    "merchant.edit",
                    "merchant.refund",
                    "merchant.payout_request",
                ],
            ),
            r(
                "role.merchant_admin",
                "Merchant administrator",
                HIGH,
                &["role.merchant_operator", "merchant.user_admin"],
            ),
        ],
        aliases: &[("merchant.search", "merchant.view")],
        hot: 3.0,
        sequenced: false,
        chained: false,
    },
    Kind {
        code: "crm",
        name: "support CRM",
        perms: &[
            p("ticket.view", "View tickets", LOW, false),
            p("ticket.create", "Create tickets", LOW, false),
            p("ticket.edit", "Edit tickets", LOW, false),
            p("customer.view", "View customer profile", MED, false),
            p("customer.export", "Export customer data", HIGH, false),
        ],
        roles: &[
            r(
                "role.crm_agent",
                "Support agent",
                MED,
                &[
                    "ticket.view",
                    "ticket.create",
                    "ticket.edit",
                    "customer.view",
                ],
            ),
            r(
                "role.crm_lead",
                "Support lead",
                HIGH,
                &["role.crm_agent", "customer.export"],
            ),
        ],
        aliases: &[],
        hot: 1.2,
        sequenced: false,
        chained: false,
    },
    Kind {
        code: "ledger",
        name: "general ledger",
        perms: &[
            p("ledger.view", "View ledger", LOW, false),
            p("journal.post", "Post journal entries", MED, false),
            p("journal.approve", "Approve journal entries", HIGH, true),
        ],
        roles: &[
            // A harmless cycle (legacy alias of the viewer role), as real role graphs have.
            r(
                "role.ledger_viewer",
                "Ledger viewer",
                LOW,
                &["ledger.view", "role.ledger_readonly"],
            ),
            r(
                "role.ledger_readonly",
                "Ledger read-only (legacy)",
                LOW,
                &["role.ledger_viewer"],
            ),
            r(
                "role.ledger_clerk",
                "Ledger clerk",
                MED,
                &["role.ledger_viewer", "journal.post"],
            ),
            r(
                "role.ledger_controller",
                "Ledger controller",
                HIGH,
                &["role.ledger_clerk", "journal.approve"],
            ),
        ],
        aliases: &[],
        hot: 0.5,
        sequenced: false,
        chained: false,
    },
    Kind {
        code: "risk",
        name: "fraud and risk engine",
        perms: &[
            p("rules.view", "View risk rules", LOW, false),
            p("rules.edit", "Edit risk rules", MED, false),
            p("rules.deploy", "Deploy risk rules", HIGH, true),
            p("case.review", "Review fraud cases", MED, false),
        ],
        roles: &[
            r(
                "role.risk_analyst",
                "Risk analyst",
                MED,
                &["rules.view", "case.review"],
            ),
            r(
                "role.risk_dev",
                "Risk rule developer",
                MED,
                &["rules.view", "rules.edit"],
            ),
            r(
                "role.risk_engineer",
                "Risk engineer",
                HIGH,
                &["role.risk_dev", "rules.deploy"],
            ),
        ],
        aliases: &[],
        hot: 0.8,
        sequenced: false,
        chained: false,
    },
    Kind {
        code: "iam",
        name: "group IAM administration",
        perms: &[
            p("access.request", "Request access", LOW, false),
            p("access.approve", "Approve access requests", MED, false),
            p("user.view", "View users", LOW, false),
            p("audit.view", "View IAM audit trail", LOW, false),
            p("user.admin", "Administer users", CRIT, true),
            p("role.assign", "Assign roles", CRIT, true),
        ],
        roles: &[
            r(
                "role.requester",
                "Self-service requester",
                LOW,
                &["access.request", "user.view"],
            ),
            r(
                "role.approver",
                "Access approver",
                MED,
                &["role.requester", "access.approve"],
            ),
            r(
                "role.iam_admin",
                "IAM administrator",
                CRIT,
                &["role.approver", "user.admin", "role.assign", "audit.view"],
            ),
        ],
        aliases: &[
            ("user.create", "user.admin"),
            ("user.disable", "user.admin"),
        ],
        hot: 0.3,
        sequenced: true,
        chained: true,
    },
];
/// Generic permissions per system ("module" features), so that an account holds about ten
/// grants as in real exports.
const FILLERS: usize = 16;
const FILLER_VERBS: [(&str, u8); 3] = [("view", LOW), ("export", LOW), ("edit", MED)];

/// Job functions: department stem, share of identities, grading cap, and the accounts each
/// member gets: (system kind, role granted).
struct Job {
    name: &'static str,
    dept: &'static str,
    share: f64,
    max_risk: Option<u8>,
    access: &'static [(usize, &'static str)],
    activity: f64,
}

const JOBS: [Job; 10] = [
    Job {
        name: "merchant_user",
        dept: "merchant-portal",
        share: 0.46,
        max_risk: Some(MED),
        activity: 0.6,
        access: &[
            (K_MERCHANT, "role.merchant_operator"),
            (K_PAY, "role.payout_maker"),
            (K_CRM, "role.crm_agent"),
        ],
    },
    Job {
        name: "support_agent",
        dept: "support",
        share: 0.10,
        max_risk: Some(MED),
        activity: 1.2,
        access: &[
            (K_CRM, "role.crm_agent"),
            (K_MERCHANT, "role.merchant_viewer"),
            (K_BENE, "role.bene_viewer"),
        ],
    },
    Job {
        name: "payments_operator",
        dept: "payments-ops",
        share: 0.12,
        max_risk: Some(MED),
        activity: 1.5,
        access: &[
            (K_PAY, "role.payout_maker"),
            (K_BENE, "role.bene_viewer"),
            (K_IAM, "role.requester"),
        ],
    },
    Job {
        name: "payments_supervisor",
        dept: "payments-ops",
        share: 0.04,
        max_risk: Some(HIGH),
        activity: 1.2,
        access: &[
            (K_PAY, "role.payout_supervisor"),
            (K_BENE, "role.bene_viewer"),
            (K_IAM, "role.approver"),
        ],
    },
    Job {
        name: "bene_officer",
        dept: "customer-ops",
        share: 0.06,
        max_risk: Some(HIGH),
        activity: 1.0,
        access: &[
            (K_BENE, "role.bene_maintainer"),
            (K_CRM, "role.crm_agent"),
            (K_IAM, "role.requester"),
        ],
    },
    Job {
        name: "settlement_officer",
        dept: "finance",
        share: 0.04,
        max_risk: Some(HIGH),
        activity: 1.0,
        access: &[
            (K_SETTLE, "role.settlement_officer"),
            (K_LEDGER, "role.ledger_clerk"),
            (K_PAY, "role.payout_viewer"),
        ],
    },
    Job {
        name: "finance_controller",
        dept: "finance",
        share: 0.02,
        max_risk: Some(HIGH),
        activity: 0.8,
        access: &[
            (K_LEDGER, "role.ledger_controller"),
            (K_SETTLE, "role.settlement_viewer"),
            (K_IAM, "role.requester"),
        ],
    },
    Job {
        name: "risk_analyst",
        dept: "risk",
        share: 0.05,
        max_risk: Some(MED),
        activity: 1.0,
        access: &[
            (K_RISK, "role.risk_analyst"),
            (K_CRM, "role.crm_agent"),
            (K_MERCHANT, "role.merchant_viewer"),
        ],
    },
    Job {
        name: "engineer",
        dept: "engineering",
        share: 0.10,
        max_risk: Some(HIGH),
        activity: 0.8,
        access: &[
            (K_RISK, "role.risk_engineer"),
            (K_MERCHANT, "role.merchant_viewer"),
            (K_IAM, "role.requester"),
        ],
    },
    Job {
        name: "iam_admin",
        dept: "it-security",
        share: 0.01,
        max_risk: Some(CRIT),
        activity: 0.8,
        access: &[
            (K_IAM, "role.iam_admin"),
            (K_CRM, "role.crm_agent"),
            (K_PAY, "role.payout_viewer"),
        ],
    },
];
const J_SUPERVISOR: usize = 3;
const J_OPERATOR: usize = 2;
const J_SETTLEMENT: usize = 5;
const J_IAM: usize = 9;
/// Special identities before the sampled population: the CEO, then one platform owner per
/// jurisdiction (owners of service, shared and emergency accounts; too few to be graded or
/// judged as a peer group).
const SPECIAL: usize = 1 + JURS.len();

const FIRST: [&str; 24] = [
    "Wing", "Ka Yan", "Chun", "Mei", "Priya", "Jun Jie", "Hafiz", "Siti", "Lukas", "Anna", "Jonas",
    "Lea", "Oliver", "Amelia", "Harry", "Isla", "James", "Olivia", "Liam", "Emma", "Ethan",
    "Sophia", "Ravi", "Clara",
];
const LAST: [&str; 24] = [
    "Chan", "Wong", "Lee", "Cheung", "Tan", "Lim", "Ng", "Koh", "Muller", "Schmidt", "Weber",
    "Becker", "Smith", "Jones", "Taylor", "Brown", "Johnson", "Miller", "Davis", "Garcia", "Nair",
    "Rahman", "Evans", "Clark",
];

// ------------------------------------------------------------------------------ model

struct Ent {
    id: String,
    name: String,
    is_role: bool,
    risk: u8,
    privileged: bool,
}

struct System {
    id: String,
    name: String,
    jur: usize,
    kind: usize,
    ents: Vec<Ent>,
    /// (role index, member index)
    edges: Vec<(usize, usize)>,
    /// Per entitlement: permission indices of its closure.
    closure: Vec<Vec<usize>>,
    /// Per entitlement: it or something it reaches is privileged.
    reach_priv: Vec<bool>,
    /// Audit actions: (name, permission index).
    actions: Vec<(String, Option<usize>)>,
    /// Per permission: one action exercising it.
    action_of_perm: Vec<Option<u32>>,
    /// Per action: exercises a privileged permission.
    action_priv: Vec<bool>,
    action_target: Vec<Option<&'static str>>,
    login: u32,
    sequenced: bool,
    chained: bool,
    hot: f64,
}

impl System {
    fn ent(&self, id: &str) -> Option<usize> {
        self.ents.iter().position(|e| e.id == id)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Active,
    Leave,
    Terminated,
}

struct Identity {
    id: String,
    display: String,
    email: String,
    dept: String,
    job: Option<usize>,
    jur: usize,
    manager: Option<usize>,
    status: Status,
    terminated_at: Option<i64>,
    ip_host: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AType {
    Human,
    Service,
    Shared,
    Emergency,
}

#[derive(Clone)]
enum Owner {
    Identity(usize),
    None,
    Unknown(String),
}

struct Account {
    sys: usize,
    name: String,
    owner: Owner,
    atype: AType,
    status: &'static str,
    created_at: Option<i64>,
    /// Events only on days in [start_day, stop_day); stop_time cuts the last day.
    start_day: i64,
    stop_day: i64,
    weight: f64,
    privileged_access: bool,
    use_actions: Vec<u32>,
    no_mfa: bool,
    /// Events from an account absent from `accounts` (not written to the table).
    ghost: bool,
}

struct Grant {
    account: usize,
    ent: usize,
    granted_at: i64,
    granted_by: Option<usize>,
    approved_by: Option<usize>,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    ticket: Option<u32>,
    /// Planted stale grant: its permissions are kept out of the account's activity.
    unused: bool,
}

struct Exception {
    rule: &'static str,
    identity: usize,
    approved_by: usize,
    approved_at: i64,
    expires_at: i64,
    control: &'static str,
}

/// One audit event before materialisation: compact, sortable, cheap to move.
#[derive(Clone, Copy)]
struct Ev {
    ts: i64,
    acc: u32,
    action: u32,
    ok: bool,
    /// 0 null, 1 false, 2 true
    mfa: u8,
    /// index into COUNTRIES, 255 null
    country: u8,
    ip: u32,
    /// 0: no target
    target: u64,
    /// -1: no seq
    seq: i64,
    /// index into the day's hash list, u32::MAX: none
    hash: u32,
    /// Altered after hashing (planted LOG_HASH_MISMATCH).
    tamper: bool,
}

struct World {
    start_us: i64,
    first_date: NaiveDate,
    systems: Vec<System>,
    identities: Vec<Identity>,
    accounts: Vec<Account>,
    grants: Vec<Grant>,
    exceptions: Vec<Exception>,
    /// Planted events per day.
    planted: Vec<Vec<Ev>>,
    /// Per system: its log agent account.
    log_agents: Vec<usize>,
    /// (system, first silent day): the feed stops (LOG_FEED_SILENT).
    silent: Option<(usize, i64)>,
    /// Per day and jurisdiction: UTC instant of local midnight.
    local_midnight: Vec<[i64; 5]>,
}

impl World {
    fn day_start(&self, d: i64) -> i64 {
        self.start_us + d * DAY_US
    }
    fn date(&self, d: i64) -> NaiveDate {
        self.first_date + Duration::days(d)
    }
    fn weekday(&self, d: i64) -> Weekday {
        self.date(d).weekday()
    }
    fn is_weekend(&self, d: i64) -> bool {
        matches!(self.weekday(d), Weekday::Sat | Weekday::Sun)
    }
    /// A business-hours instant (09:00-18:00 local, which is inside the UTC day for all
    /// five zones) on day d in jurisdiction j.
    fn business_ts(&self, rng: &mut Rng, d: i64, j: usize) -> i64 {
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
    fn wrapped_ts(&self, d: i64, j: usize, local_us: i64) -> i64 {
        let start = self.day_start(d);
        let t = self.local_midnight[d as usize][j] + local_us;
        start + (t - start).rem_euclid(DAY_US)
    }
    fn acc_jur(&self, a: usize) -> usize {
        self.systems[self.accounts[a].sys].jur
    }
    fn home_country(&self, a: usize) -> u8 {
        match self.accounts[a].owner {
            Owner::Identity(i) => self.identities[i].jur as u8,
            _ => self.acc_jur(a) as u8,
        }
    }
    fn ip_of(&self, a: usize) -> u32 {
        match self.accounts[a].owner {
            Owner::Identity(i) => self.identities[i].ip_host,
            _ => 0xffff,
        }
    }
}

fn build_systems() -> Vec<System> {
    let mut out = Vec::new();
    for (j, jur) in JURS.iter().enumerate() {
        for (k, kind) in KINDS.iter().enumerate() {
            if k == K_IAM {
                continue;
            }
            out.push(new_system(
                format!("{}-{}", kind.code, jur.code.to_lowercase()),
                format!("{} {}", jur.code, kind.name),
                j,
                k,
            ));
        }
    }
    out.push(new_system(
        "iam-global".to_string(),
        "Group IAM administration".to_string(),
        0,
        K_IAM,
    ));
    // Hash chains on the group IAM, every settlement engine and one payout console (a hot
    // one, so the chain logic is exercised at volume); sequence numbers on all of those
    // and the other payout consoles.
    for s in &mut out {
        if s.id == "pay-hk" {
            s.chained = true;
        }
    }
    out
}

fn new_system(id: String, name: String, jur: usize, k: usize) -> System {
    let kind = &KINDS[k];
    let mut ents: Vec<Ent> = kind
        .perms
        .iter()
        .map(|p| Ent {
            id: p.id.to_string(),
            name: p.name.to_string(),
            is_role: false,
            risk: p.risk,
            privileged: p.privileged,
        })
        .collect();
    for f in 0..FILLERS {
        let (verb, risk) = FILLER_VERBS[f % FILLER_VERBS.len()];
        ents.push(Ent {
            id: format!("{}.m{:02}.{}", kind.code, f, verb),
            name: format!("Module {f:02} {verb}"),
            is_role: false,
            risk,
            privileged: false,
        });
    }
    for role in kind.roles {
        ents.push(Ent {
            id: role.id.to_string(),
            name: role.name.to_string(),
            is_role: true,
            risk: role.risk,
            privileged: false,
        });
    }
    let idx = |id: &str| ents.iter().position(|e| e.id == id);
    let mut edges = Vec::new();
    for role in kind.roles {
        for m in role.members {
            if let (Some(a), Some(b)) = (idx(role.id), idx(m)) {
                edges.push((a, b));
            }
        }
    }
    let n = ents.len();
    let mut closure = Vec::with_capacity(n);
    let mut reach_priv = Vec::with_capacity(n);
    for e in 0..n {
        let mut seen = vec![false; n];
        let mut stack = vec![e];
        seen[e] = true;
        while let Some(x) = stack.pop() {
            for &(a, b) in &edges {
                if a == x && !seen[b] {
                    seen[b] = true;
                    stack.push(b);
                }
            }
        }
        let reached: Vec<usize> = (0..n).filter(|&i| seen[i]).collect();
        closure.push(
            reached
                .iter()
                .copied()
                .filter(|&i| !ents[i].is_role)
                .collect::<Vec<_>>(),
        );
        reach_priv.push(reached.iter().any(|&i| ents[i].privileged));
    }
    let mut actions: Vec<(String, Option<usize>)> = Vec::new();
    let mut action_of_perm = vec![None; n];
    for (i, e) in ents.iter().enumerate() {
        if !e.is_role {
            action_of_perm[i] = Some(actions.len() as u32);
            actions.push((e.id.clone(), Some(i)));
        }
    }
    for (alias, perm) in kind.aliases {
        actions.push((alias.to_string(), idx(perm)));
    }
    let login = actions.len() as u32;
    actions.push(("login".to_string(), None));
    actions.push(("logout".to_string(), None));
    let action_priv = actions
        .iter()
        .map(|(_, p)| p.is_some_and(|p| ents[p].privileged))
        .collect();
    let action_target = actions.iter().map(|(a, _)| target_prefix(a)).collect();
    System {
        id,
        name,
        jur,
        kind: k,
        ents,
        edges,
        closure,
        reach_priv,
        actions,
        action_of_perm,
        action_priv,
        action_target,
        login,
        sequenced: kind.sequenced,
        chained: kind.chained,
        hot: kind.hot,
    }
}

fn target_prefix(action: &str) -> Option<&'static str> {
    let obj = action.split('.').next().unwrap_or("");
    Some(match obj {
        "payout" => "PO",
        "beneficiary" => "BEN",
        "settlement" => "STL",
        "merchant" => "M",
        "ticket" => "TCK",
        "customer" => "CUS",
        "journal" => "JE",
        "rules" => "RULE",
        "case" => "CASE",
        "user" => "USR",
        "access" => "REQ",
        "limit" => "LIM",
        _ => return None,
    })
}

// ------------------------------------------------------------------------------ static world

fn plant_count(n_ident: usize, per: usize) -> usize {
    (n_ident / per).max(1)
}

fn build_world(seed: u64, n_ident: usize, days: u32) -> Result<World> {
    let (y, m, d) = AS_OF;
    let as_of = NaiveDate::from_ymd_opt(y, m, d)
        .ok_or_else(|| Error::Internal("bad AS_OF constant".into()))?;
    let first_date = as_of - Duration::days(days as i64 - 1);
    let start_us = first_date
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_micros())
        .ok_or_else(|| Error::Internal("bad start date".into()))?;
    let t_us = start_us + days as i64 * DAY_US;
    let tzs: Vec<chrono_tz::Tz> = JURS
        .iter()
        .map(|j| j.tz.parse::<chrono_tz::Tz>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Internal(format!("time zone: {e}")))?;
    let local_midnight = (0..days as i64)
        .map(|d| {
            let noon =
                chrono::DateTime::from_timestamp_micros(start_us + d * DAY_US + 12 * HOUR_US)
                    .unwrap_or_default()
                    .naive_utc();
            let mut out = [0i64; 5];
            for (j, tz) in tzs.iter().enumerate() {
                let off = tz.offset_from_utc_datetime(&noon).fix().local_minus_utc() as i64;
                out[j] = start_us + d * DAY_US - off * 1_000_000;
            }
            out
        })
        .collect();
    let systems = build_systems();
    let mut w = World {
        start_us,
        first_date,
        systems,
        identities: Vec::new(),
        accounts: Vec::new(),
        grants: Vec::new(),
        exceptions: Vec::new(),
        planted: vec![Vec::new(); days as usize],
        log_agents: Vec::new(),
        silent: None,
        local_midnight,
    };
    let mut rng = Rng::new(seed, 1);
    let sys_index = |w: &World, kind: usize, jur: usize| -> usize {
        w.systems
            .iter()
            .position(|s| s.kind == kind && (kind == K_IAM || s.jur == jur))
            .unwrap_or(0)
    };

    // --- identities
    let job_cum: Vec<f64> = JOBS
        .iter()
        .scan(0.0, |acc, j| {
            *acc += j.share;
            Some(*acc)
        })
        .collect();
    let jur_cum: Vec<f64> = JURS
        .iter()
        .scan(0.0, |acc, j| {
            *acc += j.share;
            Some(*acc)
        })
        .collect();
    let total_share = job_cum.last().copied().unwrap_or(1.0);
    // First member of each (department, jurisdiction) is its lead and everyone's manager.
    let mut leads: std::collections::HashMap<(usize, usize), usize> = Default::default();
    let mut group_rank: Vec<usize> = Vec::with_capacity(n_ident);
    let mut group_count: std::collections::HashMap<(usize, usize), usize> = Default::default();
    let mut activity: Vec<f64> = Vec::with_capacity(n_ident);
    for i in 0..n_ident {
        let name_a = *rng.pick(&FIRST);
        let name_b = *rng.pick(&LAST);
        let id = format!("E{:06}", 100_000 + i);
        let user = format!(
            "{}.{}{}",
            name_a.to_lowercase().replace(' ', ""),
            name_b.to_lowercase(),
            i
        );
        let (jur, job, dept) = if i == 0 {
            (0, None, "executive".to_string())
        } else if i < SPECIAL {
            let j = i - 1;
            (j, None, format!("platform-{}", JURS[j].code.to_lowercase()))
        } else {
            let x = rng.f64() * total_share;
            let job = job_cum.iter().position(|&c| x < c).unwrap_or(0);
            // IAM administration is a group function run from Hong Kong.
            let jur = if job == J_IAM {
                0
            } else {
                let y = rng.f64();
                jur_cum.iter().position(|&c| y < c).unwrap_or(0)
            };
            (
                jur,
                Some(job),
                format!("{}-{}", JOBS[job].dept, JURS[jur].code.to_lowercase()),
            )
        };
        let key = (job.map_or(usize::MAX, |j| j), jur);
        let rank = {
            let c = group_count.entry(key).or_insert(0);
            *c += 1;
            *c - 1
        };
        group_rank.push(rank);
        let manager = if i == 0 {
            None
        } else if let Some(job) = job {
            let lead = *leads.entry((job, jur)).or_insert(i);
            Some(if lead == i { 0 } else { lead })
        } else {
            Some(0)
        };
        let act = job.map_or(0.5, |j| JOBS[j].activity) * (rng.normal() * 0.9).exp();
        activity.push(act);
        w.identities.push(Identity {
            id,
            display: format!("{name_a} {name_b}"),
            email: format!("{user}@payfront.example"),
            dept,
            job,
            jur,
            manager,
            status: Status::Active,
            terminated_at: None,
            ip_host: rng.below(1 << 16) as u32,
        });
    }
    let iam_admins: Vec<usize> = (SPECIAL..n_ident)
        .filter(|&i| w.identities[i].job == Some(J_IAM))
        .collect();

    // Lifecycle: joiners during the history, leavers (offboarded properly), people on leave.
    // Leads and special identities keep working so that approvals stay plausible.
    let mut start_day = vec![i64::MIN; n_ident];
    let mut stop_day = vec![i64::MAX; n_ident];
    let mut planted_ident = vec![false; n_ident];
    for i in SPECIAL..n_ident {
        if w.identities[i].manager == Some(0) {
            planted_ident[i] = true; // leads: never leavers or planted cases
            continue;
        }
        let x = rng.f64();
        if x < 0.03 && days > 1 {
            start_day[i] = rng.range(1, days as i64);
        } else if x < 0.045 {
            let td = -rng.range(1, 400);
            w.identities[i].status = Status::Terminated;
            w.identities[i].terminated_at =
                Some(start_us + td * DAY_US + rng.range(9, 18) * HOUR_US);
            stop_day[i] = td;
        } else if x < 0.06 && days > 2 {
            let td = rng.range(1, days as i64 - 1);
            w.identities[i].status = Status::Terminated;
            w.identities[i].terminated_at =
                Some(start_us + td * DAY_US + rng.range(9, 18) * HOUR_US);
            stop_day[i] = td;
        } else if x < 0.07 && days > 3 {
            // On leave since a day in the later part of the history (inactive since).
            w.identities[i].status = Status::Leave;
            stop_day[i] = rng.range(days as i64 / 3, days as i64);
        }
    }

    // --- accounts and grants
    let approver_for = |w: &World, i: usize| -> usize {
        match w.identities[i].manager {
            Some(m) if m != i => m,
            _ => usize::from(i == 0),
        }
    };
    let granter_for = |rng: &mut Rng, i: usize| -> usize {
        if iam_admins.is_empty() {
            return if i == 1 { 2 } else { 1 };
        }
        let g = *rng.pick(&iam_admins);
        if g != i {
            g
        } else {
            // An administrator's own access is granted by a colleague, or by the CEO's
            // office when there is no other administrator.
            iam_admins.iter().copied().find(|&x| x != i).unwrap_or(0)
        }
    };
    // Grants of the platform owners' (special) accounts: granted by an administrator (or
    // the CEO), approved by the CEO; never by the owner itself.
    let admin0 = iam_admins.first().copied().unwrap_or(0);
    let mut ticket = 100_000u32;
    for i in 0..n_ident {
        let ident_jur = w.identities[i].jur;
        let status = w.identities[i].status;
        let access: Vec<(usize, &str)> = match w.identities[i].job {
            Some(job) => JOBS[job].access.to_vec(),
            None => vec![(K_IAM, "role.requester")],
        };
        for (slot, (kind, role)) in access.iter().enumerate() {
            let sys = sys_index(&w, *kind, ident_jur);
            let created = if start_day[i] > i64::MIN {
                start_us + start_day[i] * DAY_US + 8 * HOUR_US
            } else {
                start_us - rng.range(120, 2200) * DAY_US + rng.range(1, 9) * HOUR_US
            };
            let offboarded = status == Status::Terminated;
            let acc_idx = w.accounts.len();
            let base = w.identities[i]
                .email
                .split('@')
                .next()
                .unwrap_or("user")
                .to_string();
            let hot = w.systems[sys].hot;
            w.accounts.push(Account {
                sys,
                name: base,
                owner: Owner::Identity(i),
                atype: AType::Human,
                status: if offboarded { "disabled" } else { "active" },
                created_at: if rng.chance(0.02) {
                    None
                } else {
                    Some(created)
                },
                start_day: start_day[i].max(0),
                stop_day: stop_day[i],
                weight: activity[i] * hot * if slot == 0 { 1.5 } else { 0.7 },
                privileged_access: false,
                use_actions: Vec::new(),
                no_mfa: false,
                ghost: false,
            });
            let mut ents: Vec<usize> = Vec::new();
            if let Some(e) = w.systems[sys].ent(role) {
                ents.push(e);
            }
            // Fillers: a base set every member of the (job, system) holds, plus extras
            // that two thirds of the members hold (never rare enough to be outliers).
            let job_key = w.identities[i].job.map_or(99, |j| j as u64);
            let n_perm = KINDS[*kind].perms.len();
            let mut order: Vec<usize> = (0..FILLERS).collect();
            let mut frng = Rng::new(job_key, *kind as u64 + 1000);
            for x in (1..order.len()).rev() {
                order.swap(x, frng.below(x as u64 + 1) as usize);
            }
            if w.identities[i].job.is_some() {
                for &f in &order[..6] {
                    ents.push(n_perm + f);
                }
                for (e, &f) in order[6..10].iter().enumerate() {
                    if !(group_rank[i] + e).is_multiple_of(3) {
                        ents.push(n_perm + f);
                    }
                }
            }
            for &e in &ents {
                let granted_at = created + rng.range(0, 20) * DAY_US + rng.range(5, 600) * MIN_US;
                let revoked_at = if offboarded {
                    w.identities[i]
                        .terminated_at
                        .map(|t| t + rng.range(1, 6) * HOUR_US)
                } else {
                    None
                };
                let expires_at = if revoked_at.is_none() && rng.chance(0.08) {
                    Some(t_us + rng.range(20, 365) * DAY_US)
                } else {
                    None
                };
                ticket += 1;
                let g = granter_for(&mut rng, i);
                let a = approver_for(&w, i);
                w.grants.push(Grant {
                    account: acc_idx,
                    ent: e,
                    granted_at,
                    granted_by: Some(g),
                    approved_by: Some(a),
                    expires_at,
                    revoked_at,
                    ticket: if rng.chance(0.97) { Some(ticket) } else { None },
                    unused: false,
                });
            }
            // Access changes over time: an earlier grant, revoked, on some accounts.
            if rng.chance(0.15) {
                let e = n_perm + order[12 + rng.below(4) as usize];
                let granted_at = created + rng.range(1, 30) * DAY_US;
                w.grants.push(Grant {
                    account: acc_idx,
                    ent: e,
                    granted_at,
                    granted_by: Some(granter_for(&mut rng, i)),
                    approved_by: Some(approver_for(&w, i)),
                    expires_at: None,
                    revoked_at: Some(
                        granted_at.max(start_us - 10 * DAY_US) + rng.range(1, 9) * DAY_US,
                    ),
                    ticket: Some(ticket),
                    unused: false,
                });
            }
        }
    }

    // Service accounts on the hot systems (heavy, 24/7, non-privileged), shared team
    // accounts and disabled break-glass accounts, owned by the platform owners.
    let n_svc = (n_ident / 2_000).max(1);
    for (j, jur) in JURS.iter().enumerate() {
        let owner = 1 + j;
        for (kind, role, prefix) in [
            (K_PAY, "role.payout_maker", "svc-payout-api"),
            (K_MERCHANT, "role.merchant_operator", "svc-merchant-api"),
        ] {
            let sys = sys_index(&w, kind, j);
            for k in 0..n_svc {
                let acc_idx = w.accounts.len();
                w.accounts.push(Account {
                    sys,
                    name: format!("{prefix}-{k:02}"),
                    owner: Owner::Identity(owner),
                    atype: AType::Service,
                    status: "active",
                    created_at: Some(start_us - rng.range(400, 1500) * DAY_US),
                    start_day: 0,
                    stop_day: i64::MAX,
                    weight: 60.0 * (1.0 + rng.f64()),
                    privileged_access: false,
                    use_actions: Vec::new(),
                    no_mfa: true,
                    ghost: false,
                });
                if let Some(e) = w.systems[sys].ent(role) {
                    push_grant(&mut w, acc_idx, e, start_us - 300 * DAY_US, 0, admin0);
                }
            }
        }
        for (kind, role, name) in [
            (K_CRM, "role.crm_agent", "crm-shared"),
            (K_PAY, "role.payout_viewer", "pay-shared"),
        ] {
            let sys = sys_index(&w, kind, j);
            let acc_idx = w.accounts.len();
            w.accounts.push(Account {
                sys,
                name: format!("{name}-{}", jur.code.to_lowercase()),
                owner: Owner::Identity(owner),
                atype: AType::Shared,
                status: "active",
                created_at: Some(start_us - rng.range(400, 1500) * DAY_US),
                start_day: 0,
                stop_day: i64::MAX,
                weight: 2.0,
                privileged_access: false,
                use_actions: Vec::new(),
                no_mfa: false,
                ghost: false,
            });
            if let Some(e) = w.systems[sys].ent(role) {
                push_grant(&mut w, acc_idx, e, start_us - 300 * DAY_US, 0, admin0);
            }
        }
        let sys = sys_index(&w, K_PAY, j);
        push_breakglass(&mut w, sys, owner, "role.ops_lead", start_us);
    }
    let iam = sys_index(&w, K_IAM, 0);
    push_breakglass(&mut w, iam, 1, "role.iam_admin", start_us);
    // A log agent per system: its periodic integrity checks keep a quiet system's feed
    // alive, as real collectors do, so only a broken feed goes silent.
    for sys in 0..w.systems.len() {
        let acc_idx = w.accounts.len();
        w.accounts.push(Account {
            sys,
            name: "svc-log-agent".to_string(),
            owner: Owner::Identity(1 + w.systems[sys].jur),
            atype: AType::Service,
            status: "active",
            created_at: Some(start_us - 900 * DAY_US),
            start_day: 0,
            stop_day: i64::MAX,
            weight: 0.0,
            privileged_access: false,
            use_actions: Vec::new(),
            no_mfa: true,
            ghost: false,
        });
        push_grant(&mut w, acc_idx, 0, start_us - 900 * DAY_US, 0, admin0);
        w.log_agents.push(acc_idx);
    }

    // --- planted static cases
    let members = |w: &World, job: usize, planted: &[bool]| -> Vec<usize> {
        (SPECIAL..n_ident)
            .filter(|&i| {
                w.identities[i].job == Some(job)
                    && w.identities[i].status == Status::Active
                    && start_day[i] == i64::MIN
                    && !planted[i]
            })
            .collect()
    };
    let take =
        |rng: &mut Rng, pool: &mut Vec<usize>, n: usize, planted: &mut [bool]| -> Vec<usize> {
            let mut out = Vec::new();
            while out.len() < n && !pool.is_empty() {
                let k = rng.below(pool.len() as u64) as usize;
                let i = pool.swap_remove(k);
                planted[i] = true;
                out.push(i);
            }
            out
        };
    let acc_on = |w: &World, i: usize, kind: usize| -> Option<usize> {
        w.accounts.iter().position(|a| {
            matches!(a.owner, Owner::Identity(x) if x == i) && w.systems[a.sys].kind == kind
        })
    };
    let n1 = plant_count(n_ident, 1000);
    let window_lo = (days as i64 - LOOKBACK_DAYS as i64).max(0);
    let window_day = |rng: &mut Rng| rng.range(window_lo, days as i64);
    let weekday_in_window = |w: &World, rng: &mut Rng| -> i64 {
        for _ in 0..50 {
            let d = rng.range(window_lo, days as i64);
            if !w.is_weekend(d) {
                return d;
            }
        }
        days as i64 - 1
    };

    // SOD-001 (payout release + beneficiary maintenance), with exceptions: one third
    // mitigated, one third with an expired exception.
    let mut pool = members(&w, J_SUPERVISOR, &planted_ident);
    for (n, i) in take(&mut rng, &mut pool, n1, &mut planted_ident)
        .into_iter()
        .enumerate()
    {
        if let Some(a) = acc_on(&w, i, K_BENE) {
            let sys = w.accounts[a].sys;
            if let Some(e) = w.systems[sys].ent("role.bene_maintainer") {
                let at = t_us - rng.range(100, 300) * DAY_US;
                let (ap, gb) = (approver_for(&w, i), granter_for(&mut rng, i));
                push_grant(&mut w, a, e, at, ap, gb);
            }
        }
        if n % 3 < 2 {
            let approved_at = t_us - rng.range(60, 200) * DAY_US;
            w.exceptions.push(Exception {
                rule: "SOD-001",
                identity: i,
                approved_by: approver_for(&w, i),
                approved_at,
                expires_at: if n % 3 == 0 {
                    t_us + rng.range(30, 180) * DAY_US
                } else {
                    t_us - rng.range(1, 40) * DAY_US
                },
                control: "Daily second-line review of beneficiary changes against payouts released",
            });
        }
    }
    // SOD-002 (limit change + settlement, same jurisdiction).
    let mut pool = members(&w, J_SETTLEMENT, &planted_ident);
    for i in take(&mut rng, &mut pool, n1, &mut planted_ident) {
        if let Some(a) = acc_on(&w, i, K_PAY) {
            let sys = w.accounts[a].sys;
            if let Some(e) = w.systems[sys].ent("limit.change") {
                let at = t_us - rng.range(100, 300) * DAY_US;
                let (ap, gb) = (approver_for(&w, i), granter_for(&mut rng, i));
                push_grant(&mut w, a, e, at, ap, gb);
            }
        }
    }
    // SOD-003 (IAM administration + business operations).
    let mut pool = members(&w, J_IAM, &planted_ident);
    for i in take(&mut rng, &mut pool, n1.div_ceil(4), &mut planted_ident) {
        if let Some(a) = acc_on(&w, i, K_PAY) {
            let sys = w.accounts[a].sys;
            if let Some(e) = w.systems[sys].ent("payout.create") {
                let at = t_us - rng.range(100, 300) * DAY_US;
                let (ap, gb) = (approver_for(&w, i), granter_for(&mut rng, i));
                push_grant(&mut w, a, e, at, ap, gb);
            }
        }
    }
    // GRADE_EXCEEDED: an operator (capped at medium) given the checker role.
    let mut pool = members(&w, J_OPERATOR, &planted_ident);
    for i in take(&mut rng, &mut pool, n1, &mut planted_ident) {
        if let Some(a) = acc_on(&w, i, K_PAY) {
            let sys = w.accounts[a].sys;
            if let Some(e) = w.systems[sys].ent("role.payout_checker") {
                let at = t_us - rng.range(100, 300) * DAY_US;
                let (ap, gb) = (approver_for(&w, i), granter_for(&mut rng, i));
                push_grant(&mut w, a, e, at, ap, gb);
            }
        }
    }
    // Leavers not offboarded: terminated in the window, accounts left active; half keep
    // working (POST_TERMINATION_ACTIVITY), all are TERMINATED_ACCESS.
    let mut pool: Vec<usize> = (0..JOBS.len())
        .flat_map(|j| members(&w, j, &planted_ident))
        .collect();
    pool.sort_unstable();
    for (n, i) in take(&mut rng, &mut pool, 2 * n1, &mut planted_ident)
        .into_iter()
        .enumerate()
    {
        let td = window_day(&mut rng).min(days as i64 - 2).max(0);
        w.identities[i].status = Status::Terminated;
        w.identities[i].terminated_at = Some(start_us + td * DAY_US + rng.range(9, 18) * HOUR_US);
        if n % 2 == 1 {
            stop_day[i] = td;
            for a in w.accounts.iter_mut() {
                if matches!(a.owner, Owner::Identity(x) if x == i) {
                    a.stop_day = td;
                }
            }
        }
    }
    let mut pool: Vec<usize> = (0..JOBS.len())
        .flat_map(|j| members(&w, j, &planted_ident))
        .collect();
    pool.sort_unstable();
    // DORMANT_ACCOUNT: accounts nobody uses any more.
    for i in take(&mut rng, &mut pool, 3 * n1, &mut planted_ident) {
        if let Some(a) = acc_on(&w, i, K_CRM).or_else(|| acc_on(&w, i, K_BENE)) {
            w.accounts[a].stop_day = i64::MIN;
        }
    }
    // PRIVILEGED_NO_MFA: supervisors signing in without a second factor.
    let mut sup = members(&w, J_SUPERVISOR, &planted_ident);
    for i in take(&mut rng, &mut sup, n1, &mut planted_ident) {
        if let Some(a) = acc_on(&w, i, K_PAY) {
            w.accounts[a].no_mfa = true;
        }
    }
    // Grant-level cases on random accounts of active staff.
    let active_accounts: Vec<usize> = (0..w.accounts.len())
        .filter(|&a| {
            w.accounts[a].atype == AType::Human
                && w.accounts[a].status == "active"
                && matches!(w.accounts[a].owner, Owner::Identity(i) if i >= SPECIAL && !planted_ident[i] && w.identities[i].status == Status::Active && start_day[i] == i64::MIN)
        })
        .collect();
    let mut by_account: Vec<Vec<usize>> = vec![Vec::new(); w.accounts.len()];
    for (g, gr) in w.grants.iter().enumerate() {
        if gr.revoked_at.is_none() {
            by_account[gr.account].push(g);
        }
    }
    if !active_accounts.is_empty() {
        // STALE_GRANT: an unusual module permission granted long ago and never used.
        for _ in 0..plant_count(n_ident, 200) {
            let a = *rng.pick(&active_accounts);
            let sys = w.accounts[a].sys;
            let n_perm = KINDS[w.systems[sys].kind].perms.len();
            let held: Vec<usize> = by_account[a].iter().map(|&g| w.grants[g].ent).collect();
            if let Some(f) = (0..FILLERS).map(|f| n_perm + f).find(|e| !held.contains(e)) {
                let i = match w.accounts[a].owner {
                    Owner::Identity(i) => i,
                    _ => 0,
                };
                let at = t_us - rng.range(120, 700) * DAY_US;
                let g = w.grants.len();
                let (ap, gb) = (approver_for(&w, i), granter_for(&mut rng, i));
                push_grant(&mut w, a, f, at, ap, gb);
                w.grants[g].unused = true;
                by_account[a].push(g);
            }
        }
        // EXPIRED_GRANT, SELF_APPROVED_GRANT
        for _ in 0..plant_count(n_ident, 400) {
            let a = *rng.pick(&active_accounts);
            if let Some(&g) = by_account[a].first() {
                w.grants[g].expires_at = Some(t_us - rng.range(1, 60) * DAY_US);
            }
        }
        for _ in 0..n1 {
            let a = *rng.pick(&active_accounts);
            if let (Some(&g), Owner::Identity(i)) = (by_account[a].last(), &w.accounts[a].owner) {
                w.grants[g].approved_by = Some(*i);
            }
        }
    }
    // UNAPPROVED_PRIVILEGED_GRANT: supervisor role granted without approval.
    let mut sup = members(&w, J_SUPERVISOR, &planted_ident);
    for i in take(&mut rng, &mut sup, n1, &mut planted_ident) {
        if let Some(a) = acc_on(&w, i, K_PAY) {
            if let Some(&g) = by_account[a].first() {
                w.grants[g].approved_by = None;
            }
        }
    }
    // SHARED_PRIVILEGED_ACCOUNT: a shared payout login given the checker role.
    let shared: Vec<usize> = (0..w.accounts.len())
        .filter(|&a| {
            w.accounts[a].atype == AType::Shared && w.accounts[a].name.starts_with("pay-shared")
        })
        .collect();
    for &a in shared.iter().take(n1.min(2)) {
        let sys = w.accounts[a].sys;
        if let Some(e) = w.systems[sys].ent("role.payout_checker") {
            push_grant(&mut w, a, e, t_us - 200 * DAY_US, 0, admin0);
        }
    }
    // ORPHAN_ACCOUNT: a test user without owner, and one naming an identity that is gone.
    for k in 0..n1 {
        let sys = rng.below(w.systems.len() as u64) as usize;
        let acc_idx = w.accounts.len();
        w.accounts.push(Account {
            sys,
            name: format!("test-user-{k:03}"),
            owner: if k % 2 == 0 {
                Owner::None
            } else {
                Owner::Unknown(format!("E{:06}", 900_000 + k))
            },
            atype: AType::Human,
            status: "active",
            created_at: Some(t_us - rng.range(100, 900) * DAY_US),
            start_day: 0,
            stop_day: i64::MIN,
            weight: 0.0,
            privileged_access: false,
            use_actions: Vec::new(),
            no_mfa: false,
            ghost: false,
        });
        let n_perm = KINDS[w.systems[sys].kind].perms.len();
        push_grant(&mut w, acc_idx, n_perm, t_us - 100 * DAY_US, 0, 1);
    }

    // --- derived account facts: privileged access and the actions each account uses
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

    // --- planted events
    let login_ev = |w: &World, a: usize, ts: i64, ok: bool, mfa: bool, country: u8| Ev {
        ts,
        acc: a as u32,
        action: w.systems[w.accounts[a].sys].login,
        ok,
        mfa: if mfa { 2 } else { 1 },
        country,
        ip: w.ip_of(a),
        target: 0,
        seq: -1,
        hash: u32::MAX,
        tamper: false,
    };
    let action_ev = |w: &World, a: usize, ts: i64, action: u32, target: u64| Ev {
        ts,
        acc: a as u32,
        action,
        ok: true,
        mfa: 0,
        country: w.home_country(a),
        ip: w.ip_of(a),
        target,
        seq: -1,
        hash: u32::MAX,
        tamper: false,
    };
    let mut target_no = 9_000_000_000u64;
    // SOD_TRANSACTION: supervisors who create and release the same payout.
    let mut sup = members(&w, J_SUPERVISOR, &planted_ident);
    for i in take(&mut rng, &mut sup, n1, &mut planted_ident) {
        if let Some(a) = acc_on(&w, i, K_PAY) {
            let d = weekday_in_window(&w, &mut rng);
            let j = w.acc_jur(a);
            let ts = w
                .business_ts(&mut rng, d, j)
                .min(w.day_start(d) + DAY_US - HOUR_US);
            let sys = &w.systems[w.accounts[a].sys];
            let (Some(create), Some(release)) = (
                sys.ent("payout.create").and_then(|p| sys.action_of_perm[p]),
                sys.ent("payout.release")
                    .and_then(|p| sys.action_of_perm[p]),
            ) else {
                continue;
            };
            target_no += 1;
            let ev1 = action_ev(&w, a, ts, create, target_no);
            let ev2 = action_ev(&w, a, ts + rng.range(2, 30) * MIN_US, release, target_no);
            w.planted[d as usize].extend([ev1, ev2]);
        }
    }
    let humans: Vec<usize> = active_accounts
        .iter()
        .copied()
        .filter(|&a| w.accounts[a].stop_day == i64::MAX)
        .collect();
    if !humans.is_empty() {
        // FAILED_LOGIN_BURST: password spraying; half end in a successful login.
        for n in 0..n1 {
            let a = *rng.pick(&humans);
            let d = window_day(&mut rng);
            let t0 = w.day_start(d) + rng.range(0, 22 * 60) * MIN_US;
            let c = w.home_country(a);
            let mut ts = t0;
            for _ in 0..rng.range(10, 16) {
                ts += rng.range(5, 25) * 1_000_000;
                let ev = login_ev(&w, a, ts, false, false, c);
                w.planted[d as usize].push(ev);
            }
            if n % 2 == 0 {
                let ev = login_ev(&w, a, ts + 2 * MIN_US, true, true, c);
                w.planted[d as usize].push(ev);
            }
        }
        // IMPOSSIBLE_TRAVEL: a home login, then one abroad 40 minutes later (on a system
        // outside Singapore, whose country list would add a second finding).
        let mut done = 0;
        for _ in 0..50 * n1 {
            if done == n1 {
                break;
            }
            let a = *rng.pick(&humans);
            if w.acc_jur(a) == JUR_SG {
                continue;
            }
            done += 1;
            let d = window_day(&mut rng);
            let ts = w.day_start(d) + rng.range(60, 20 * 60) * MIN_US;
            let c = w.home_country(a);
            let e1 = login_ev(&w, a, ts, true, true, c);
            let e2 = login_ev(&w, a, ts + 40 * MIN_US, true, true, 6 + rng.below(4) as u8);
            w.planted[d as usize].extend([e1, e2]);
        }
    }
    // LOGIN_FROM_UNEXPECTED_COUNTRY: Singapore logins from outside SG/HK/MY.
    let sg: Vec<usize> = humans
        .iter()
        .copied()
        .filter(|&a| w.acc_jur(a) == JUR_SG)
        .collect();
    if !sg.is_empty() {
        for _ in 0..n1 {
            let a = *rng.pick(&sg);
            let d = window_day(&mut rng);
            let ts = w.day_start(d) + rng.range(0, 23 * 60) * MIN_US;
            let ev = login_ev(&w, a, ts, true, true, 6 + rng.below(4) as u8);
            w.planted[d as usize].push(ev);
        }
    }
    // OFF_HOURS_PRIVILEGED_ACTION: privileged actions at 02:30 local or on a Saturday.
    let privileged: Vec<usize> = (0..w.accounts.len())
        .filter(|&a| {
            w.accounts[a].privileged_access
                && w.accounts[a].atype == AType::Human
                && w.acc_jur(a) != JUR_SG
                && w.accounts[a].stop_day == i64::MAX
        })
        .collect();
    let mut done = 0;
    for _ in 0..50 * n1 {
        if privileged.is_empty() || done == n1 {
            break;
        }
        let a = *rng.pick(&privileged);
        let sys = &w.systems[w.accounts[a].sys];
        // A privileged permission the account holds through one of its grants.
        let held = acc_grants[a]
            .iter()
            .flat_map(|&g| sys.closure[w.grants[g].ent].iter().copied());
        let Some(act) = held
            .filter(|&p| sys.ents[p].privileged)
            .find_map(|p| sys.action_of_perm[p])
        else {
            continue;
        };
        let d = window_day(&mut rng);
        let j = sys.jur;
        let ts = w.wrapped_ts(d, j, 2 * HOUR_US + 30 * MIN_US + rng.range(0, 20) * MIN_US);
        let ev = action_ev(&w, a, ts, act, 0);
        w.planted[d as usize].push(ev);
        done += 1;
    }
    // EMERGENCY_ACCOUNT_USED: a break-glass login and action.
    let glass: Vec<usize> = (0..w.accounts.len())
        .filter(|&a| w.accounts[a].atype == AType::Emergency)
        .collect();
    for &a in glass
        .iter()
        .take(plant_count(n_ident, 2000).min(glass.len()))
    {
        let d = weekday_in_window(&w, &mut rng);
        let j = w.acc_jur(a);
        let ts = w.business_ts(&mut rng, d, j);
        let ev1 = login_ev(&w, a, ts, true, true, j as u8);
        let sys = &w.systems[w.accounts[a].sys];
        let act = sys
            .ent("payout.view")
            .or_else(|| sys.ent("user.view"))
            .and_then(|p| sys.action_of_perm[p]);
        w.planted[d as usize].push(ev1);
        if let Some(act) = act {
            let ev2 = action_ev(&w, a, ts + 3 * MIN_US, act, 0);
            w.planted[d as usize].push(ev2);
        }
    }
    // UNMANAGED_ACCOUNT_ACTIVITY: accounts created outside IAM, not in the export.
    for k in 0..n1 {
        let sys = rng.below(w.systems.len() as u64) as usize;
        let a = w.accounts.len();
        w.accounts.push(Account {
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
        let d = weekday_in_window(&w, &mut rng);
        let j = w.systems[sys].jur;
        let ts = w.business_ts(&mut rng, d, j);
        let ev = login_ev(&w, a, ts, true, false, j as u8);
        w.planted[d as usize].push(ev);
    }
    // LOG_FEED_SILENT: the UK ledger's feed breaks three days before the end.
    if days >= 5 {
        let sys = sys_index(&w, K_LEDGER, JUR_UK);
        w.silent = Some((sys, days as i64 - 3));
    }
    for day in &mut w.planted {
        day.sort_by_key(|e| (e.ts, e.acc, e.action));
    }
    Ok(w)
}

fn push_grant(w: &mut World, acc: usize, ent: usize, at: i64, approver: usize, granter: usize) {
    w.grants.push(Grant {
        account: acc,
        ent,
        granted_at: at,
        granted_by: Some(granter),
        approved_by: Some(approver),
        expires_at: None,
        revoked_at: None,
        ticket: Some(900_000 + w.grants.len() as u32 % 99_999),
        unused: false,
    });
}

fn push_breakglass(w: &mut World, sys: usize, owner: usize, role: &str, start_us: i64) {
    let acc_idx = w.accounts.len();
    w.accounts.push(Account {
        sys,
        name: format!("breakglass-{}", w.systems[sys].id),
        owner: Owner::Identity(owner),
        atype: AType::Emergency,
        status: "disabled",
        created_at: Some(start_us - 800 * DAY_US),
        start_day: 0,
        stop_day: i64::MIN,
        weight: 0.0,
        privileged_access: false,
        use_actions: Vec::new(),
        no_mfa: false,
        ghost: false,
    });
    if let Some(e) = w.systems[sys].ent(role) {
        push_grant(
            w,
            acc_idx,
            e,
            start_us - 700 * DAY_US,
            0,
            usize::from(owner == 1) + 1,
        );
    }
}

// ------------------------------------------------------------------------------ events

struct Day {
    d: i64,
    events: Vec<Ev>,
    /// (prev_hash, hash) per chained event.
    hashes: Vec<(Option<[u8; 32]>, [u8; 32])>,
}

fn gen_day(w: &World, seed: u64, d: i64, events_per_day: usize) -> Day {
    let mut rng = Rng::new(seed, 1_000_000 + d as u64);
    let weekend = w.is_weekend(d);
    let date = w.date(d);
    let week = date.num_days_from_ce() as i64 / 7;
    let wd = date.weekday().num_days_from_monday() as i64;
    let silent = |sys: usize| w.silent.is_some_and(|(s, from)| s == sys && d >= from);
    let factor = (if weekend { 0.4 } else { 1.0 }) * 7.0 / 5.8 * (1.0 + 0.05 * rng.normal());
    let target_total = (events_per_day as f64 * factor).max(0.0) as usize;
    let mut events: Vec<Ev> = Vec::with_capacity(target_total + w.planted[d as usize].len() + 1024);
    let mut target_counter = (d as u64 + 1) * 100_000_000;

    let alive = |a: &Account| -> bool {
        !a.ghost && a.status == "active" && d >= a.start_day && d < a.stop_day && !silent(a.sys)
    };
    // Weekly baseline session of every active human or shared account on one weekday: a
    // login and four of its used actions in rotation, so that access in use is seen in use.
    if !weekend {
        for (a, acc) in w.accounts.iter().enumerate() {
            if !matches!(acc.atype, AType::Human | AType::Shared) || !alive(acc) {
                continue;
            }
            if (week + a as i64).rem_euclid(5) != wd {
                continue;
            }
            let sys = &w.systems[acc.sys];
            let j = sys.jur;
            let mut ts = w
                .business_ts(&mut rng, d, j)
                .min(w.day_start(d) + DAY_US - HOUR_US);
            let c = w.home_country(a);
            events.push(Ev {
                ts,
                acc: a as u32,
                action: sys.login,
                ok: true,
                mfa: if acc.no_mfa { 1 } else { 2 },
                country: c,
                ip: w.ip_of(a),
                target: 0,
                seq: -1,
                hash: u32::MAX,
                tamper: false,
            });
            let n = acc.use_actions.len();
            for k in 0..n.min(4) {
                ts += rng.range(1, 8) * MIN_US;
                let action = acc.use_actions[((week * 4) as usize + k + a) % n];
                let target = if sys.action_target[action as usize].is_some() {
                    target_counter += 1;
                    target_counter
                } else {
                    0
                };
                events.push(Ev {
                    ts,
                    acc: a as u32,
                    action,
                    ok: true,
                    mfa: 0,
                    country: c,
                    ip: w.ip_of(a),
                    target,
                    seq: -1,
                    hash: u32::MAX,
                    tamper: false,
                });
            }
        }
    }
    for &a in &w.log_agents {
        let acc = &w.accounts[a];
        if silent(acc.sys) || acc.use_actions.is_empty() {
            continue;
        }
        for k in 0..4 {
            events.push(Ev {
                ts: w.day_start(d) + k * 6 * HOUR_US + rng.range(0, 10 * MIN_US),
                acc: a as u32,
                action: acc.use_actions[0],
                ok: true,
                mfa: 0,
                country: 255,
                ip: a as u32 & 0xffff,
                target: 0,
                seq: -1,
                hash: u32::MAX,
                tamper: false,
            });
        }
    }
    // The rest of the day's volume, by account weight: heavy users and service accounts
    // dominate; on weekends only services and non-privileged staff work.
    let mut cum: Vec<f64> = Vec::with_capacity(w.accounts.len());
    let mut total = 0.0;
    for acc in &w.accounts {
        let mut wt = if alive(acc) && !acc.use_actions.is_empty() {
            acc.weight
        } else {
            0.0
        };
        if weekend && acc.atype != AType::Service {
            wt *= if acc.privileged_access { 0.0 } else { 0.15 };
        }
        total += wt;
        cum.push(total);
    }
    let remaining = target_total.saturating_sub(events.len());
    if total > 0.0 {
        for _ in 0..remaining {
            let x = rng.f64() * total;
            let a = cum.partition_point(|&c| c <= x).min(w.accounts.len() - 1);
            let acc = &w.accounts[a];
            let sys = &w.systems[acc.sys];
            let j = sys.jur;
            let service = acc.atype == AType::Service;
            let c = w.home_country(a);
            let (action, mfa) = if !service && rng.chance(0.12) {
                (sys.login, if acc.no_mfa { 1 } else { 2 })
            } else {
                // Skewed towards the first actions (views dominate real logs).
                let n = acc.use_actions.len() as u64;
                let k = (rng.below(n) * rng.below(n + 1)) / n.max(1);
                (acc.use_actions[k as usize % n as usize], 0)
            };
            let privileged = sys.action_priv[action as usize];
            let ts = if service {
                w.day_start(d) + rng.range(0, DAY_US)
            } else if privileged || weekend || rng.chance(0.9) {
                if weekend && privileged {
                    continue; // cannot happen (weight 0), kept as a guard
                }
                w.business_ts(&mut rng, d, j)
            } else {
                let local = if rng.chance(0.5) {
                    rng.range(7 * 60, 9 * 60)
                } else {
                    rng.range(18 * 60, 22 * 60)
                };
                w.wrapped_ts(d, j, local * MIN_US + rng.range(0, MIN_US))
            };
            let ok = if action == sys.login {
                !rng.chance(0.02)
            } else {
                !rng.chance(0.01)
            };
            let target = if action != sys.login && sys.action_target[action as usize].is_some() {
                target_counter += 1;
                target_counter
            } else {
                0
            };
            events.push(Ev {
                ts,
                acc: a as u32,
                action,
                ok,
                mfa,
                country: if service { 255 } else { c },
                ip: if service {
                    0x0a00_0000 | (a as u32 & 0xffff)
                } else {
                    w.ip_of(a)
                },
                target,
                seq: -1,
                hash: u32::MAX,
                tamper: false,
            });
        }
    }
    events.extend(w.planted[d as usize].iter().copied());
    events.retain(|e| !silent(w.accounts[e.acc as usize].sys));
    // Stable sort: ties keep generation order, which is itself deterministic.
    events.sort_by_key(|e| e.ts);
    Day {
        d,
        events,
        hashes: Vec::new(),
    }
}

/// One system's chain for one day: (system, (event, prev_hash, hash) per event, last hash).
type ChainResult = (
    usize,
    Vec<(usize, Option<[u8; 32]>, [u8; 32])>,
    Option<[u8; 32]>,
);

/// Per-system log state carried from day to day: next seq and last hash.
struct LogState {
    next_seq: Vec<i64>,
    last_hash: Vec<Option<[u8; 32]>>,
}

fn event_id(buf: &mut String, date: NaiveDate, i: usize) {
    buf.clear();
    let _ = write!(buf, "ev-{}-{:07}", date.format("%Y%m%d"), i);
}

fn target_str(buf: &mut String, prefix: &str, n: u64) {
    buf.clear();
    let _ = write!(buf, "{prefix}-{n}");
}

/// Assigns seq numbers (with planted gaps) and hash chains (with planted tampering), in
/// event order, continuing yesterday's state.
fn sequence_day(w: &World, seed: u64, day: &mut Day, state: &mut LogState) {
    let mut rng = Rng::new(seed, 2_000_000 + day.d as u64);
    let n_sys = w.systems.len();
    let mut counts = vec![0usize; n_sys];
    for e in &day.events {
        counts[w.accounts[e.acc as usize].sys] += 1;
    }
    // One gap about every three weeks per sequenced system.
    let gap_at: Vec<Option<usize>> = (0..n_sys)
        .map(|s| {
            (w.systems[s].sequenced && counts[s] > 2 && rng.chance(0.05))
                .then(|| 1 + rng.below(counts[s] as u64 - 1) as usize)
        })
        .collect();
    let tamper_at: Vec<Option<usize>> = (0..n_sys)
        .map(|s| {
            (w.systems[s].chained && counts[s] > 2 && rng.chance(0.05))
                .then(|| 1 + rng.below(counts[s] as u64 - 1) as usize)
        })
        .collect();
    let mut seen = vec![0usize; n_sys];
    let mut chains: Vec<Vec<usize>> = vec![Vec::new(); n_sys];
    for (i, e) in day.events.iter_mut().enumerate() {
        let s = w.accounts[e.acc as usize].sys;
        if !w.systems[s].sequenced {
            continue;
        }
        if gap_at[s] == Some(seen[s]) {
            state.next_seq[s] += 1 + rng.below(3) as i64;
        }
        if tamper_at[s] == Some(seen[s]) {
            e.tamper = true;
        }
        seen[s] += 1;
        e.seq = state.next_seq[s];
        state.next_seq[s] += 1;
        if w.systems[s].chained {
            chains[s].push(i);
        }
    }
    let date = w.date(day.d);
    let events = &day.events;
    // Each chain is sequential, different systems' chains are independent.
    let results: Vec<ChainResult> = chains
        .into_par_iter()
        .enumerate()
        .filter(|(_, c)| !c.is_empty())
        .map(|(s, chain)| {
            let mut prev = state.last_hash[s];
            let mut out = Vec::with_capacity(chain.len());
            let mut msg = String::with_capacity(256);
            let mut id = String::new();
            let mut tgt = String::new();
            let sys = &w.systems[s];
            for i in chain {
                let e = &events[i];
                event_id(&mut id, date, i);
                let action = e.action as usize;
                tgt.clear();
                if e.target != 0 {
                    if let Some(p) = sys.action_target[action] {
                        target_str(&mut tgt, p, e.target);
                    }
                }
                msg.clear();
                if let Some(p) = &prev {
                    msg.push_str(&hex::encode(p));
                }
                let _ = write!(
                    msg,
                    "\n{}|{}|{}|{}|{}|{}|{}|{}",
                    id,
                    sys.id,
                    e.seq,
                    w.accounts[e.acc as usize].name,
                    sys.actions[action].0,
                    if e.ok { "success" } else { "failure" },
                    tgt,
                    e.ts
                );
                let h: [u8; 32] = Sha256::digest(msg.as_bytes()).into();
                out.push((i, prev, h));
                prev = Some(h);
            }
            (s, out, prev)
        })
        .collect();
    for (s, out, last) in results {
        state.last_hash[s] = last;
        for (i, prev, h) in out {
            day.events[i].hash = day.hashes.len() as u32;
            day.hashes.push((prev, h));
        }
    }
    // Tampering after hashing: the stored record no longer matches its hash.
    for e in day.events.iter_mut().filter(|e| e.tamper) {
        e.ok = !e.ok;
    }
}

fn day_frame(w: &World, day: &Day) -> Result<DataFrame> {
    let n = day.events.len();
    let date = w.date(day.d);
    let mut ids = StringChunkedBuilder::new("event_id".into(), n);
    let mut targets = StringChunkedBuilder::new("target_id".into(), n);
    let mut ips = StringChunkedBuilder::new("src_ip".into(), n);
    let mut prevs = StringChunkedBuilder::new("prev_hash".into(), n);
    let mut hashes = StringChunkedBuilder::new("hash".into(), n);
    let mut ts = Vec::with_capacity(n);
    let mut sys_col: Vec<&str> = Vec::with_capacity(n);
    let mut acc_col: Vec<&str> = Vec::with_capacity(n);
    let mut act_col: Vec<&str> = Vec::with_capacity(n);
    let mut out_col: Vec<&str> = Vec::with_capacity(n);
    let mut mfa_col: Vec<Option<bool>> = Vec::with_capacity(n);
    let mut country_col: Vec<Option<&str>> = Vec::with_capacity(n);
    let mut seq_col: Vec<Option<i64>> = Vec::with_capacity(n);
    let mut buf = String::with_capacity(64);
    for (i, e) in day.events.iter().enumerate() {
        let acc = &w.accounts[e.acc as usize];
        let sys = &w.systems[acc.sys];
        event_id(&mut buf, date, i);
        ids.append_value(&buf);
        ts.push(e.ts);
        sys_col.push(&sys.id);
        acc_col.push(&acc.name);
        act_col.push(&sys.actions[e.action as usize].0);
        out_col.push(if e.ok { "success" } else { "failure" });
        match (e.target, sys.action_target[e.action as usize]) {
            (t, Some(p)) if t != 0 => {
                target_str(&mut buf, p, t);
                targets.append_value(&buf);
            }
            _ => targets.append_null(),
        }
        mfa_col.push(match e.mfa {
            1 => Some(false),
            2 => Some(true),
            _ => None,
        });
        if e.country == 255 {
            country_col.push(None);
            buf.clear();
            let _ = write!(
                buf,
                "10.{}.{}.{}",
                (e.ip >> 16) & 0xff,
                (e.ip >> 8) & 0xff,
                e.ip & 0xff
            );
            ips.append_value(&buf);
        } else {
            let c = e.country as usize % COUNTRIES.len();
            country_col.push(Some(COUNTRIES[c]));
            buf.clear();
            let _ = write!(
                buf,
                "{}.{}.{}",
                IP_BASE[c],
                (e.ip >> 8) & 0xff,
                (e.ip & 0xff).max(1)
            );
            ips.append_value(&buf);
        }
        seq_col.push((e.seq >= 0).then_some(e.seq));
        if e.hash == u32::MAX {
            prevs.append_null();
            hashes.append_null();
        } else {
            let (prev, h) = &day.hashes[e.hash as usize];
            match prev {
                Some(p) => prevs.append_value(hex::encode(p)),
                None => prevs.append_null(),
            }
            hashes.append_value(hex::encode(h));
        }
    }
    let df = DataFrame::new_infer_height(vec![
        ids.finish().into_series().into(),
        ts_series("ts", ts.into_iter().map(Some).collect()).into(),
        Series::new("system_id".into(), sys_col).into(),
        Series::new("account_id".into(), acc_col).into(),
        Series::new("action".into(), act_col).into(),
        Series::new("outcome".into(), out_col).into(),
        targets.finish().into_series().into(),
        Series::new("mfa".into(), mfa_col).into(),
        ips.finish().into_series().into(),
        Series::new("src_country".into(), country_col).into(),
        Series::new("seq".into(), seq_col).into(),
        prevs.finish().into_series().into(),
        hashes.finish().into_series().into(),
    ])?;
    Ok(df)
}

fn ts_series(name: &str, v: Vec<Option<i64>>) -> Series {
    Int64Chunked::from_iter_options(name.into(), v.into_iter())
        .into_datetime(TimeUnit::Microseconds, Some(polars::prelude::TimeZone::UTC))
        .into_series()
}

fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    ParquetWriter::new(BufWriter::new(file))
        .with_compression(ParquetCompression::Zstd(None))
        .finish(df)?;
    Ok(())
}

// ------------------------------------------------------------------------------ static tables

fn identity_name(w: &World, o: &Owner) -> Option<String> {
    match o {
        Owner::Identity(i) => Some(w.identities[*i].id.clone()),
        Owner::None => None,
        Owner::Unknown(s) => Some(s.clone()),
    }
}

fn write_static(w: &World, input: &Path) -> Result<()> {
    let ident_id = |i: usize| w.identities[i].id.as_str();
    // systems
    let mut df = DataFrame::new_infer_height(vec![
        Series::new(
            "system_id".into(),
            w.systems.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "name".into(),
            w.systems
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "jurisdiction".into(),
            w.systems
                .iter()
                .map(|s| JURS[s.jur].code)
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "legal_entity".into(),
            w.systems
                .iter()
                .map(|s| {
                    if s.kind == K_IAM {
                        "PayFront Holdings Ltd"
                    } else {
                        JURS[s.jur].entity
                    }
                })
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "owner_id".into(),
            w.systems
                .iter()
                .map(|s| ident_id(1 + s.jur))
                .collect::<Vec<_>>(),
        )
        .into(),
    ])?;
    write_parquet(&input.join("systems.parquet"), &mut df)?;

    // identities
    let ids = &w.identities;
    let mut df = DataFrame::new_infer_height(vec![
        Series::new(
            "identity_id".into(),
            ids.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "display_name".into(),
            ids.iter().map(|i| i.display.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "email".into(),
            ids.iter().map(|i| i.email.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "department".into(),
            ids.iter().map(|i| i.dept.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "job_function".into(),
            ids.iter()
                .enumerate()
                .map(|(n, i)| match i.job {
                    Some(j) => JOBS[j].name,
                    None if n == 0 => "chief_executive",
                    None => "platform_owner",
                })
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "manager_id".into(),
            ids.iter()
                .map(|i| i.manager.map(ident_id))
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "status".into(),
            ids.iter()
                .map(|i| match i.status {
                    Status::Active => "active",
                    Status::Leave => "leave",
                    Status::Terminated => "terminated",
                })
                .collect::<Vec<_>>(),
        )
        .into(),
        ts_series(
            "terminated_at",
            ids.iter().map(|i| i.terminated_at).collect(),
        )
        .into(),
    ])?;
    write_parquet(&input.join("identities.parquet"), &mut df)?;

    // accounts
    let accs: Vec<&Account> = w.accounts.iter().filter(|a| !a.ghost).collect();
    let mut df = DataFrame::new_infer_height(vec![
        Series::new(
            "system_id".into(),
            accs.iter()
                .map(|a| w.systems[a.sys].id.as_str())
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "account_id".into(),
            accs.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "identity_id".into(),
            accs.iter()
                .map(|a| identity_name(w, &a.owner))
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "account_type".into(),
            accs.iter()
                .map(|a| match a.atype {
                    AType::Human => "human",
                    AType::Service => "service",
                    AType::Shared => "shared",
                    AType::Emergency => "emergency",
                })
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "status".into(),
            accs.iter().map(|a| a.status).collect::<Vec<_>>(),
        )
        .into(),
        ts_series("created_at", accs.iter().map(|a| a.created_at).collect()).into(),
    ])?;
    write_parquet(&input.join("accounts.parquet"), &mut df)?;

    // entitlements, role_permissions, action_permissions
    let (mut es, mut ee, mut ek, mut en, mut er, mut ep, mut eo) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let (mut rs, mut rr, mut rm) = (Vec::new(), Vec::new(), Vec::new());
    let (mut as_, mut aa, mut ap) = (Vec::new(), Vec::new(), Vec::new());
    for s in &w.systems {
        for e in &s.ents {
            es.push(s.id.as_str());
            ee.push(e.id.as_str());
            ek.push(if e.is_role { "role" } else { "permission" });
            en.push(e.name.as_str());
            er.push(RISK[e.risk as usize]);
            ep.push(e.privileged);
            eo.push(ident_id(1 + s.jur));
        }
        for &(a, b) in &s.edges {
            rs.push(s.id.as_str());
            rr.push(s.ents[a].id.as_str());
            rm.push(s.ents[b].id.as_str());
        }
        for (name, perm) in &s.actions {
            if let Some(p) = perm {
                as_.push(s.id.as_str());
                aa.push(name.as_str());
                ap.push(s.ents[*p].id.as_str());
            }
        }
    }
    let mut df = DataFrame::new_infer_height(vec![
        Series::new("system_id".into(), es).into(),
        Series::new("entitlement_id".into(), ee).into(),
        Series::new("kind".into(), ek).into(),
        Series::new("name".into(), en).into(),
        Series::new("risk".into(), er).into(),
        Series::new("privileged".into(), ep).into(),
        Series::new("owner_id".into(), eo).into(),
    ])?;
    write_parquet(&input.join("entitlements.parquet"), &mut df)?;
    let mut df = DataFrame::new_infer_height(vec![
        Series::new("system_id".into(), rs).into(),
        Series::new("role_id".into(), rr).into(),
        Series::new("member_id".into(), rm).into(),
    ])?;
    write_parquet(&input.join("role_permissions.parquet"), &mut df)?;
    let mut df = DataFrame::new_infer_height(vec![
        Series::new("system_id".into(), as_).into(),
        Series::new("action".into(), aa).into(),
        Series::new("permission_id".into(), ap).into(),
    ])?;
    write_parquet(&input.join("action_permissions.parquet"), &mut df)?;

    // grants
    let g = &w.grants;
    let mut gid = StringChunkedBuilder::new("grant_id".into(), g.len());
    let mut tickets = StringChunkedBuilder::new("ticket".into(), g.len());
    let mut buf = String::new();
    for (n, gr) in g.iter().enumerate() {
        buf.clear();
        let _ = write!(buf, "G{:09}", n + 1);
        gid.append_value(&buf);
        match gr.ticket {
            Some(t) => {
                buf.clear();
                let _ = write!(buf, "CHG-{t}");
                tickets.append_value(&buf);
            }
            None => tickets.append_null(),
        }
    }
    let mut df = DataFrame::new_infer_height(vec![
        gid.finish().into_series().into(),
        Series::new(
            "system_id".into(),
            g.iter()
                .map(|x| w.systems[w.accounts[x.account].sys].id.as_str())
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "account_id".into(),
            g.iter()
                .map(|x| w.accounts[x.account].name.as_str())
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "entitlement_id".into(),
            g.iter()
                .map(|x| w.systems[w.accounts[x.account].sys].ents[x.ent].id.as_str())
                .collect::<Vec<_>>(),
        )
        .into(),
        ts_series("granted_at", g.iter().map(|x| Some(x.granted_at)).collect()).into(),
        Series::new(
            "granted_by".into(),
            g.iter()
                .map(|x| x.granted_by.map(ident_id))
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "approved_by".into(),
            g.iter()
                .map(|x| x.approved_by.map(ident_id))
                .collect::<Vec<_>>(),
        )
        .into(),
        ts_series("expires_at", g.iter().map(|x| x.expires_at).collect()).into(),
        ts_series("revoked_at", g.iter().map(|x| x.revoked_at).collect()).into(),
        tickets.finish().into_series().into(),
    ])?;
    write_parquet(&input.join("grants.parquet"), &mut df)?;

    // exceptions
    let x = &w.exceptions;
    let mut df = DataFrame::new_infer_height(vec![
        Series::new(
            "exception_id".into(),
            (0..x.len())
                .map(|n| format!("EXC-{:05}", n + 1))
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "sod_rule_id".into(),
            x.iter().map(|e| e.rule).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "identity_id".into(),
            x.iter().map(|e| ident_id(e.identity)).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "approved_by".into(),
            x.iter()
                .map(|e| ident_id(e.approved_by))
                .collect::<Vec<_>>(),
        )
        .into(),
        ts_series(
            "approved_at",
            x.iter().map(|e| Some(e.approved_at)).collect(),
        )
        .into(),
        ts_series("expires_at", x.iter().map(|e| Some(e.expires_at)).collect()).into(),
        Series::new(
            "control".into(),
            x.iter().map(|e| e.control).collect::<Vec<_>>(),
        )
        .into(),
    ])?;
    write_parquet(&input.join("exceptions.parquet"), &mut df)?;
    Ok(())
}

// ------------------------------------------------------------------------------ policy

fn toml_list(xs: &[&str]) -> String {
    let items: Vec<String> = xs.iter().map(|x| format!("{x:?}")).collect();
    format!("[{}]", items.join(", "))
}

const RULE_REFS: [(&str, &str); 23] = [
    ("SOD_CONFLICT", "least privilege / segregation of duties"),
    ("SOD_TRANSACTION", "four-eyes principle"),
    ("STALE_GRANT", "PCI DSS v4.0.1 req. 7.2.4"),
    ("DORMANT_ACCOUNT", "PCI DSS v4.0.1 req. 8.2.6"),
    ("TERMINATED_ACCESS", "PCI DSS v4.0.1 req. 8.2.5"),
    ("POST_TERMINATION_ACTIVITY", "PCI DSS v4.0.1 req. 8.2.5"),
    ("ORPHAN_ACCOUNT", "identity management"),
    ("UNMANAGED_ACCOUNT_ACTIVITY", "identity management"),
    ("EXPIRED_GRANT", "PCI DSS v4.0.1 req. 7.2.4"),
    ("SELF_APPROVED_GRANT", "PCI DSS v4.0.1 req. 7.2.4"),
    ("UNAPPROVED_PRIVILEGED_GRANT", "PCI DSS v4.0.1 req. 7.2.4"),
    ("PRIVILEGED_NO_MFA", "PCI DSS v4.0.1 req. 8.4.1"),
    ("SHARED_PRIVILEGED_ACCOUNT", "PCI DSS v4.0.1 req. 8.2.2"),
    ("LOG_SEQUENCE_GAP", "PCI DSS v4.0.1 req. 10.5.1"),
    ("LOG_HASH_MISMATCH", "PCI DSS v4.0.1 req. 10.5.1"),
    ("LOG_FEED_SILENT", "PCI DSS v4.0.1 req. 10.5.1"),
    ("FAILED_LOGIN_BURST", "monitoring of authentication"),
    (
        "LOGIN_FROM_UNEXPECTED_COUNTRY",
        "monitoring of authentication",
    ),
    ("IMPOSSIBLE_TRAVEL", "monitoring of authentication"),
    (
        "OFF_HOURS_PRIVILEGED_ACTION",
        "monitoring of privileged use",
    ),
    ("EMERGENCY_ACCOUNT_USED", "PCI DSS v4.0.1 req. 8.2.2"),
    ("GRADE_EXCEEDED", "PCI DSS v4.0.1 req. 7.2.1, 7.2.2"),
    ("PEER_OUTLIER", "PCI DSS v4.0.1 req. 7.2.1, 7.2.2"),
];

fn jurisdictions_toml() -> String {
    let mut out = String::from(
        "# Generated by `permaudit generate` (synthetic platform, five jurisdictions).\n\n",
    );
    for (j, jur) in JURS.iter().enumerate() {
        let (disabled, countries, travel): (&[&str], &[&str], i64) = match j {
            JUR_SG => (&["OFF_HOURS_PRIVILEGED_ACTION"], &["SG", "HK", "MY"], 2),
            4 => (&[], &[], 3),
            _ => (&[], &[], 2),
        };
        let _ = writeln!(out, "[[jurisdiction]]");
        let _ = writeln!(out, "code = {:?}", jur.code);
        let _ = writeln!(out, "name = {:?}", jur.name);
        let _ = writeln!(out, "regulator = {:?}", jur.regulator);
        let _ = writeln!(out, "timezone = {:?}", jur.tz);
        out.push_str(
            "stale_grant_days = 90\ndormant_account_days = 90\ntermination_grace_hours = 24\n\
             review_interval_days = 180\nprivileged_review_interval_days = 90\n\
             mfa_required_for_privileged = true\n",
        );
        let _ = writeln!(out, "disabled_rules = {}", toml_list(disabled));
        let _ = writeln!(out, "allowed_login_countries = {}", toml_list(countries));
        out.push_str(
            "business_hours = \"08:00-20:00\"\nbusiness_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\n\
             failed_login_threshold = 10\nfailed_login_window_minutes = 15\n",
        );
        let _ = writeln!(out, "travel_hours = {travel}");
        out.push_str("max_silence_hours = 48\n[jurisdiction.references]\n");
        for (rule, cite) in RULE_REFS {
            let _ = writeln!(out, "{rule} = [{cite:?}]");
        }
        out.push('\n');
    }
    out
}

const SOD_TOML: &str = r#"# Generated by `permaudit generate`: segregation-of-duties rules.

[[rule]]
id = "SOD-001"
name = "Beneficiary maintenance vs payout release"
kind = "static"
risk = "critical"
scope = "global"
description = "Whoever can create or edit beneficiaries must not be able to release payouts."
[[rule.function]]
name = "Maintain beneficiaries"
permissions = ["*:beneficiary.create", "*:beneficiary.edit"]
[[rule.function]]
name = "Release payouts"
permissions = ["*:payout.release"]

[[rule]]
id = "SOD-002"
name = "Limit changes vs settlement"
kind = "static"
risk = "high"
scope = "jurisdiction"
description = "Within one licensed entity, raising payout limits and running settlement are held by different people."
[[rule.function]]
name = "Change limits"
permissions = ["*:limit.change"]
[[rule.function]]
name = "Run settlement"
permissions = ["*:settlement.run"]

[[rule]]
id = "SOD-003"
name = "User administration vs business operations"
kind = "static"
risk = "high"
scope = "global"
description = "IAM administrators must not hold business permissions they could grant themselves."
[[rule.function]]
name = "Administer users and roles"
permissions = ["iam-global:user.admin", "iam-global:role.assign"]
[[rule.function]]
name = "Business operations"
permissions = ["*:payout.create", "*:payout.release", "*:settlement.run", "*:limit.change"]

[[rule]]
id = "SOD-004"
name = "Payout maker vs checker"
kind = "transaction"
risk = "critical"
scope = "global"
description = "The person who created a payout must not release the same payout."
[[rule.function]]
name = "Create payout (maker)"
actions = ["*:payout.create"]
[[rule.function]]
name = "Release payout (checker)"
actions = ["*:payout.release"]
"#;

fn grading_toml() -> String {
    let mut out = String::from("# Generated by `permaudit generate`: grading by job function.\n\n");
    for job in &JOBS {
        if let Some(r) = job.max_risk {
            let _ = writeln!(
                out,
                "[[job_function]]\nname = {:?}\nmax_risk = {:?}\n",
                job.name, RISK[r as usize]
            );
        }
    }
    out.push_str("[peer_groups]\nmin_size = 10\nmax_share = 0.10\n");
    out
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(|e| Error::io(path, e))
}

// ------------------------------------------------------------------------------ entry point

pub fn generate(opts: &GenOptions) -> Result<GenSummary> {
    if opts.identities < 20 || opts.identities > 10_000_000 {
        return Err(Error::input(
            "--identities",
            "must be between 20 and 10,000,000",
        ));
    }
    if opts.days == 0 || opts.days > 3_650 {
        return Err(Error::input("--days", "must be between 1 and 3,650"));
    }
    if opts.events_per_day > 50_000_000 {
        return Err(Error::input(
            "--events-per-day",
            "must be at most 50,000,000",
        ));
    }
    let input = opts.out.join("input");
    let policy = opts.out.join("policy");
    for dir in [&input, &policy] {
        if dir.exists() {
            if !opts.force {
                return Err(Error::input(
                    dir.display().to_string(),
                    "already exists: choose an empty directory or pass --force to replace it",
                ));
            }
            // Only the two directories this command creates are removed, so that stale
            // partitions of an earlier, longer generation cannot linger.
            fs::remove_dir_all(dir).map_err(|e| Error::io(dir.as_path(), e))?;
        }
        fs::create_dir_all(dir).map_err(|e| Error::io(dir.as_path(), e))?;
    }
    let started = Instant::now();
    let w = build_world(opts.seed, opts.identities, opts.days)?;
    tracing::info!(
        identities = w.identities.len(),
        accounts = w.accounts.len(),
        grants = w.grants.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "generated the static tables"
    );
    write_static(&w, &input)?;
    write_text(&policy.join("jurisdictions.toml"), &jurisdictions_toml())?;
    write_text(&policy.join("sod_rules.toml"), SOD_TOML)?;
    write_text(&policy.join("grading.toml"), &grading_toml())?;
    let as_of = w.date(opts.days as i64 - 1);
    write_text(
        &opts.out.join("permaudit.toml"),
        &format!(
            "# Generated by `permaudit generate --seed {}` ({} identities, {} days, {} events/day).\n\
             input_dir = \"input\"\npolicy_dir = \"policy\"\nout_dir = \"out\"\n\
             activity_lookback_days = {LOOKBACK_DAYS}\nas_of = \"{as_of}\"\n",
            opts.seed, opts.identities, opts.days, opts.events_per_day
        ),
    )?;

    // Days in batches of a few per thread: generated in parallel, chained in order (the
    // hash chain runs across days), written in parallel, then dropped.
    let mut state = LogState {
        next_seq: (0..w.systems.len())
            .map(|s| 1_000_000 * (s as i64 + 1))
            .collect(),
        last_hash: vec![None; w.systems.len()],
    };
    let batch = rayon::current_num_threads().max(2);
    let mut total = 0u64;
    let all: Vec<i64> = (0..opts.days as i64).collect();
    for chunk in all.chunks(batch) {
        let mut days: Vec<Day> = chunk
            .par_iter()
            .map(|&d| gen_day(&w, opts.seed, d, opts.events_per_day))
            .collect();
        for day in &mut days {
            sequence_day(&w, opts.seed, day, &mut state);
            total += day.events.len() as u64;
        }
        days.into_par_iter().try_for_each(|day| -> Result<()> {
            let mut df = day_frame(&w, &day)?;
            let date = w.date(day.d);
            drop(day);
            let path = input
                .join("audit_events")
                .join(format!("date={}", date.format("%Y-%m-%d")))
                .join("part-0.parquet");
            write_parquet(&path, &mut df)
        })?;
    }
    tracing::info!(
        events = total,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "generated the audit events"
    );
    Ok(GenSummary {
        as_of: Some(as_of),
        systems: w.systems.len(),
        identities: w.identities.len(),
        accounts: w.accounts.iter().filter(|a| !a.ghost).count(),
        entitlements: w.systems.iter().map(|s| s.ents.len()).sum(),
        grants: w.grants.len(),
        events: total,
        days: opts.days,
    })
}
