//! The platform's fixed vocabulary: jurisdictions, system kinds with their permissions, roles
//! and audit actions, job functions with their access, and names.

pub(super) struct Jur {
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    pub(super) regulator: &'static str,
    pub(super) tz: &'static str,
    pub(super) entity: &'static str,
    pub(super) share: f64,
}

pub(super) const JURS: [Jur; 5] = [
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
pub(super) const JUR_SG: usize = 1;
pub(super) const JUR_EU: usize = 2;
pub(super) const JUR_UK: usize = 3;

/// Countries that appear in `src_country`: the five home countries, then foreign ones used
/// by planted travel and unexpected-country logins.
pub(super) const COUNTRIES: [&str; 10] =
    ["HK", "SG", "DE", "GB", "US", "MY", "RU", "BR", "NG", "VN"];
pub(super) const IP_BASE: [&str; 10] = [
    "203.198", "116.12", "85.214", "81.2", "74.125", "175.139", "95.173", "187.141", "105.112",
    "113.160",
];

/// The second factors of `mfa_method`, in the contract's order: the first three (codes
/// sent by SMS, voice call or e-mail) are the weak ones, the rest are allowed for privileged
/// access in every generated jurisdiction.
pub(super) use crate::ingest::schema::MFA_METHOD as MFA_METHODS;
pub(super) const MFA_WEAK: usize = 3;

/// Security training courses: the annual awareness course everyone takes, and a phishing
/// module some take besides. The EU jurisdiction (DORA) accepts only the annual course.
pub(super) const COURSE_ANNUAL: &str = "SEC-AWARE";
pub(super) const COURSE_PHISHING: &str = "PHISHING-101";
/// `security_training_interval_days` of every generated jurisdiction.
pub(super) const TRAINING_INTERVAL_DAYS: i64 = 365;

pub(super) struct Perm {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) risk: u8,
    pub(super) privileged: bool,
}
pub(super) struct Role {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) risk: u8,
    pub(super) members: &'static [&'static str],
}
pub(super) struct Kind {
    pub(super) code: &'static str,
    pub(super) name: &'static str,
    pub(super) perms: &'static [Perm],
    pub(super) roles: &'static [Role],
    /// Extra audit action names that exercise a permission (system-specific vocabulary).
    pub(super) aliases: &'static [(&'static str, &'static str)],
    /// Relative event volume: payout consoles and merchant portals are the hot systems.
    pub(super) hot: f64,
    pub(super) sequenced: bool,
    pub(super) chained: bool,
}

const LOW: u8 = 0;
const MED: u8 = 1;
const HIGH: u8 = 2;
const CRIT: u8 = 3;
pub(super) const RISK: [&str; 4] = ["low", "medium", "high", "critical"];

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

pub(super) const K_PAY: usize = 0;
pub(super) const K_BENE: usize = 1;
pub(super) const K_SETTLE: usize = 2;
pub(super) const K_MERCHANT: usize = 3;
pub(super) const K_CRM: usize = 4;
pub(super) const K_LEDGER: usize = 5;
const K_RISK: usize = 6;
pub(super) const K_IAM: usize = 7;

pub(super) const KINDS: [Kind; 8] = [
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
pub(super) const FILLERS: usize = 16;
pub(super) const FILLER_VERBS: [(&str, u8); 3] = [("view", LOW), ("export", LOW), ("edit", MED)];

/// Job functions: department stem, share of identities, grading cap, and the accounts each
/// member gets: (system kind, role granted).
pub(super) struct Job {
    pub(super) name: &'static str,
    pub(super) dept: &'static str,
    pub(super) share: f64,
    pub(super) max_risk: Option<u8>,
    pub(super) access: &'static [(usize, &'static str)],
    pub(super) activity: f64,
}

pub(super) const JOBS: [Job; 10] = [
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
pub(super) const J_SUPERVISOR: usize = 3;
pub(super) const J_OPERATOR: usize = 2;
pub(super) const J_SETTLEMENT: usize = 5;
pub(super) const J_IAM: usize = 9;
/// Special identities before the sampled population: the CEO, then one platform owner per
/// jurisdiction (owners of service, shared and emergency accounts; too few to be graded or
/// judged as a peer group).
pub(super) const SPECIAL: usize = 1 + JURS.len();

pub(super) const FIRST: [&str; 24] = [
    "Wing", "Ka Yan", "Chun", "Mei", "Priya", "Jun Jie", "Hafiz", "Siti", "Lukas", "Anna", "Jonas",
    "Lea", "Oliver", "Amelia", "Harry", "Isla", "James", "Olivia", "Liam", "Emma", "Ethan",
    "Sophia", "Ravi", "Clara",
];
pub(super) const LAST: [&str; 24] = [
    "Chan", "Wong", "Lee", "Cheung", "Tan", "Lim", "Ng", "Koh", "Muller", "Schmidt", "Weber",
    "Becker", "Smith", "Jones", "Taylor", "Brown", "Johnson", "Miller", "Davis", "Garcia", "Nair",
    "Rahman", "Evans", "Clark",
];
