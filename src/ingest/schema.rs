//! Every contract table as data: the single source of truth for columns, types,
//! requiredness, keys and references. No other module declares a table; the event digests
//! name the subsets of `audit_events` columns they keep (`events::SEQ_COLUMNS`,
//! `events::WINDOW_COLUMNS`), and the generator names the columns it writes.

/// Value kinds a contract column can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// Case-sensitive identifier: never trimmed; empty or all-blank is a bad value when
    /// required and null when optional.
    Id,
    /// Free text; empty is null.
    Text,
    /// Lower-case word from the list.
    Enum(&'static [&'static str]),
    Bool,
    /// RFC 3339 with offset, held as microseconds since the Unix epoch, UTC.
    Timestamp,
    Int,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColType,
    pub required: bool,
    /// Value used when the cell is null (for enums and booleans with a contract default).
    pub default: Option<&'static str>,
    /// Whether a value may hold a line break. Only descriptions may: anywhere else a line
    /// break is a bad value, which is also what catches a CSV quote left open by mistake
    /// and closed by another one lines later (the lines between would silently become one
    /// value of one record).
    pub multiline: bool,
}

/// A reference from columns of this table to the key of a table loaded earlier.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    pub columns: &'static [&'static str],
    pub table: Table,
    /// Words used in the quarantine reason: "unknown account".
    pub what: &'static str,
    /// When set, the referenced row's `kind` must equal this.
    pub kind: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Systems,
    Identities,
    Accounts,
    Entitlements,
    RolePermissions,
    Grants,
    ActionPermissions,
    AuditEvents,
    Exceptions,
    Waivers,
    Training,
}

#[derive(Debug)]
pub struct TableSchema {
    pub table: Table,
    pub name: &'static str,
    pub columns: &'static [Column],
    /// Primary key; empty for edge tables, whose duplicates are harmless.
    pub key: &'static [&'static str],
    /// Key uniqueness is checked within each file only (audit events).
    pub key_per_file: bool,
    pub optional: bool,
    pub references: &'static [Reference],
}

const fn req(name: &'static str, ty: ColType) -> Column {
    Column {
        name,
        ty,
        required: true,
        default: None,
        multiline: false,
    }
}
const fn opt(name: &'static str, ty: ColType) -> Column {
    Column {
        name,
        ty,
        required: false,
        default: None,
        multiline: false,
    }
}
const fn dflt(name: &'static str, ty: ColType, default: &'static str) -> Column {
    Column {
        name,
        ty,
        required: false,
        default: Some(default),
        multiline: false,
    }
}

/// Optional free text that may span lines (a description).
const fn prose(name: &'static str) -> Column {
    Column {
        multiline: true,
        ..opt(name, ColType::Text)
    }
}

pub const IDENTITY_STATUS: &[&str] = &["active", "leave", "terminated"];
pub const ACCOUNT_TYPE: &[&str] = &["human", "service", "shared", "emergency"];
pub const ACCOUNT_STATUS: &[&str] = &["active", "disabled", "locked"];
pub const ENTITLEMENT_KIND: &[&str] = &["permission", "role"];
pub const RISK: &[&str] = &["low", "medium", "high", "critical"];
pub const OUTCOME: &[&str] = &["success", "failure"];
/// The second factors the contract names, as sources map their products' words to them.
pub const MFA_METHOD: &[&str] = &[
    "sms",
    "voice",
    "email",
    "totp",
    "push",
    "fido2",
    "smartcard",
    "platform",
];

const SYSTEM_REF: Reference = Reference {
    columns: &["system_id"],
    table: Table::Systems,
    what: "unknown system",
    kind: None,
};

use ColType::*;

pub static SYSTEMS: TableSchema = TableSchema {
    table: Table::Systems,
    name: "systems",
    columns: &[
        req("system_id", Id),
        opt("name", Text),
        req("jurisdiction", Id),
        opt("legal_entity", Text),
        opt("owner_id", Id),
    ],
    key: &["system_id"],
    key_per_file: false,
    optional: false,
    references: &[],
};

pub static IDENTITIES: TableSchema = TableSchema {
    table: Table::Identities,
    name: "identities",
    columns: &[
        req("identity_id", Id),
        opt("display_name", Text),
        opt("email", Text),
        opt("department", Id),
        opt("job_function", Id),
        opt("manager_id", Id),
        req("status", Enum(IDENTITY_STATUS)),
        opt("terminated_at", Timestamp),
    ],
    key: &["identity_id"],
    key_per_file: false,
    optional: false,
    references: &[],
};

pub static ACCOUNTS: TableSchema = TableSchema {
    table: Table::Accounts,
    name: "accounts",
    columns: &[
        req("system_id", Id),
        req("account_id", Id),
        opt("identity_id", Id),
        dflt("account_type", Enum(ACCOUNT_TYPE), "human"),
        req("status", Enum(ACCOUNT_STATUS)),
        opt("created_at", Timestamp),
    ],
    key: &["system_id", "account_id"],
    key_per_file: false,
    optional: false,
    references: &[SYSTEM_REF],
};

pub static ENTITLEMENTS: TableSchema = TableSchema {
    table: Table::Entitlements,
    name: "entitlements",
    columns: &[
        req("system_id", Id),
        req("entitlement_id", Id),
        req("kind", Enum(ENTITLEMENT_KIND)),
        opt("name", Text),
        dflt("risk", Enum(RISK), "medium"),
        dflt("privileged", Bool, "false"),
        opt("owner_id", Id),
    ],
    key: &["system_id", "entitlement_id"],
    key_per_file: false,
    optional: false,
    references: &[SYSTEM_REF],
};

pub static ROLE_PERMISSIONS: TableSchema = TableSchema {
    table: Table::RolePermissions,
    name: "role_permissions",
    columns: &[
        req("system_id", Id),
        req("role_id", Id),
        req("member_id", Id),
    ],
    key: &[],
    key_per_file: false,
    optional: false,
    references: &[
        SYSTEM_REF,
        Reference {
            columns: &["system_id", "role_id"],
            table: Table::Entitlements,
            what: "unknown entitlement",
            kind: Some("role"),
        },
        Reference {
            columns: &["system_id", "member_id"],
            table: Table::Entitlements,
            what: "unknown entitlement",
            kind: None,
        },
    ],
};

pub static GRANTS: TableSchema = TableSchema {
    table: Table::Grants,
    name: "grants",
    columns: &[
        req("grant_id", Id),
        req("system_id", Id),
        req("account_id", Id),
        req("entitlement_id", Id),
        req("granted_at", Timestamp),
        opt("granted_by", Id),
        opt("approved_by", Id),
        opt("expires_at", Timestamp),
        opt("revoked_at", Timestamp),
        prose("ticket"),
    ],
    key: &["grant_id"],
    key_per_file: false,
    optional: false,
    references: &[
        SYSTEM_REF,
        Reference {
            columns: &["system_id", "account_id"],
            table: Table::Accounts,
            what: "unknown account",
            kind: None,
        },
        Reference {
            columns: &["system_id", "entitlement_id"],
            table: Table::Entitlements,
            what: "unknown entitlement",
            kind: None,
        },
    ],
};

pub static ACTION_PERMISSIONS: TableSchema = TableSchema {
    table: Table::ActionPermissions,
    name: "action_permissions",
    columns: &[
        req("system_id", Id),
        req("action", Id),
        req("permission_id", Id),
    ],
    key: &[],
    key_per_file: false,
    optional: false,
    references: &[
        SYSTEM_REF,
        Reference {
            columns: &["system_id", "permission_id"],
            table: Table::Entitlements,
            what: "unknown entitlement",
            kind: Some("permission"),
        },
    ],
};

pub static AUDIT_EVENTS: TableSchema = TableSchema {
    table: Table::AuditEvents,
    name: "audit_events",
    columns: &[
        req("event_id", Id),
        req("ts", Timestamp),
        req("system_id", Id),
        req("account_id", Id),
        req("action", Id),
        req("outcome", Enum(OUTCOME)),
        opt("target_id", Id),
        opt("mfa", Bool),
        opt("mfa_method", Enum(MFA_METHOD)),
        opt("src_ip", Text),
        opt("src_country", Id),
        opt("seq", Int),
        opt("prev_hash", Id),
        opt("hash", Id),
    ],
    key: &["event_id"],
    key_per_file: true,
    optional: false,
    references: &[SYSTEM_REF],
};

pub static EXCEPTIONS: TableSchema = TableSchema {
    table: Table::Exceptions,
    name: "exceptions",
    columns: &[
        req("exception_id", Id),
        req("sod_rule_id", Id),
        req("identity_id", Id),
        req("approved_by", Id),
        req("approved_at", Timestamp),
        req("expires_at", Timestamp),
        prose("control"),
    ],
    key: &["exception_id"],
    key_per_file: false,
    optional: true,
    references: &[],
};

/// Accepted risk for findings of any rule. The rule code is checked against the rules the
/// caller names (ingest knows no rule) and the 365-day limit is a row rule of the loader.
pub static WAIVERS: TableSchema = TableSchema {
    table: Table::Waivers,
    name: "waivers",
    columns: &[
        req("waiver_id", Id),
        req("rule", Id),
        opt("identity_id", Id),
        opt("system_id", Id),
        opt("account_id", Id),
        opt("grant_id", Id),
        opt("entitlement_id", Id),
        opt("sod_rule_id", Id),
        opt("target_id", Id),
        req("approved_by", Id),
        req("approved_at", Timestamp),
        req("expires_at", Timestamp),
        Column {
            required: true,
            ..prose("reason")
        },
        prose("ticket"),
    ],
    key: &["waiver_id"],
    key_per_file: false,
    optional: true,
    references: &[],
};

/// Security awareness training completions. No reference to `identities`: a completion
/// of someone the directory does not know is loaded and matches nobody (contract v4).
pub static TRAINING: TableSchema = TableSchema {
    table: Table::Training,
    name: "training",
    columns: &[
        req("identity_id", Id),
        req("course", Id),
        req("completed_at", Timestamp),
    ],
    key: &["identity_id", "course", "completed_at"],
    key_per_file: false,
    optional: true,
    references: &[],
};

/// In load order: every table comes after the tables it references.
pub static ALL: [&TableSchema; 11] = [
    &SYSTEMS,
    &IDENTITIES,
    &ACCOUNTS,
    &ENTITLEMENTS,
    &ROLE_PERMISSIONS,
    &GRANTS,
    &ACTION_PERMISSIONS,
    &AUDIT_EVENTS,
    &EXCEPTIONS,
    &WAIVERS,
    &TRAINING,
];

impl TableSchema {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}
