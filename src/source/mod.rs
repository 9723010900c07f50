//! Sources: exports of identity products and log pipelines (Okta, CloudTrail, Entra ID,
//! OCSF, SCIM, AWS IAM) turned into rows of the contract tables before ingest
//! (CONTRACT section 7). From there on a source's rows take the same checks, quarantine and
//! accounting as the rows of contract files: ingest loads them through [`RowSource`] and
//! never learns the formats.
//!
//! One file per kind, each declaring a [`Kind`]: what it produces, which containers it
//! reads, and its mapping. Adding a source is one file and one line in [`KINDS`].

pub mod aws_iam_authorization_details;
pub mod aws_iam_credential_report;
pub mod cloudtrail;
pub mod container;
pub mod country;
pub mod entra_signin;
pub mod json;
pub mod ocsf;
pub mod okta_system_log;
pub mod scim;

pub mod open;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

pub use crate::ingest::schema::Table;
pub use container::{Accepts, Item};
pub use country::Countries;
pub use open::{log_accounts, open, Source, Sources};

/// Every kind, by the name a `[[source]]` block gives.
pub const KINDS: &[&Kind] = &[
    &okta_system_log::KIND,
    &cloudtrail::KIND,
    &entra_signin::KIND,
    &ocsf::KIND,
    &scim::KIND,
    &aws_iam_authorization_details::KIND,
    &aws_iam_credential_report::KIND,
];

pub fn kind_named(name: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|k| k.name == name)
}

/// A kind of source: its name, what it produces and how it reads.
pub struct Kind {
    pub name: &'static str,
    /// The contract tables it produces, in load order.
    pub tables: &'static [Table],
    pub accepts: Accepts,
    pub read: Reader,
    /// Changes with the mapping, so that digests of event files mapped by an earlier
    /// version are not reused.
    pub version: u32,
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

pub enum Reader {
    /// Log sources: each record on its own. `prepass`, when given, sees every record of the
    /// source before any is mapped (Okta: which sessions a second factor verified).
    Records {
        map: fn(&Value, &Cx) -> Outcome,
        prepass: Option<fn(&Value, &mut Prepass)>,
    },
    /// Snapshot sources: every file of the source at once (pages merged, members resolved
    /// across files).
    Snapshot(fn(&[Export], &SnapshotCx) -> Vec<Emitted>),
}

/// One row offered to a contract table: the text of each column it fills, by column
/// name, in the contract's textual forms (RFC 3339 timestamps, `true`/`false`). Columns it
/// does not name are null.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub table: Table,
    pub cells: Vec<(&'static str, Option<String>)>,
}

impl Row {
    pub fn new(table: Table) -> Row {
        Row {
            table,
            cells: Vec::new(),
        }
    }

    pub fn set(mut self, column: &'static str, value: Option<String>) -> Row {
        self.cells.push((column, value));
        self
    }

    pub fn get(&self, column: &str) -> Option<&str> {
        self.cells
            .iter()
            .find(|(c, _)| *c == column)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Row(Row),
    /// Not a record of the kinds the source maps, for one of the reasons CONTRACT section
    /// 7 names (`not an outcome`, `sign-in interrupt`, `not an event`, `not a sign-in`,
    /// `class not mapped`, `no status`), or one the kind's documentation names.
    Skip(&'static str),
    /// A record that should map but cannot: quarantined in `table` with its text.
    Bad(Table, String),
}

/// One audit event, the columns a log source fills.
#[derive(Debug, Default, Clone)]
pub struct Event {
    pub event_id: Option<String>,
    pub ts: Option<String>,
    pub system_id: Option<String>,
    pub account_id: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub target_id: Option<String>,
    pub mfa: Option<bool>,
    /// The second factor used, as the contract's word (see [`mfa_method`]).
    pub mfa_method: Option<String>,
    pub src_ip: Option<String>,
    pub src_country: Option<String>,
}

impl Event {
    pub fn row(self) -> Row {
        Row::new(Table::AuditEvents)
            .set("event_id", self.event_id)
            .set("ts", self.ts)
            .set("system_id", self.system_id)
            .set("account_id", self.account_id)
            .set("action", self.action)
            .set("outcome", self.outcome)
            .set("target_id", self.target_id)
            .set("mfa", self.mfa.map(|b| b.to_string()))
            .set("mfa_method", self.mfa_method)
            .set("src_ip", self.src_ip)
            .set("src_country", self.src_country)
    }
}

/// A product's word for a second factor as the contract's `mfa_method`, through the
/// source's table of (vendor word, contract word). Words compare ignoring case, spaces,
/// `_` and `-` (`OKTA_VERIFY_PUSH`, `okta verify push`). A word the table does not know is
/// no method (null), not a bad row: a product adding a factor must not stop a nightly run,
/// and an unknown factor is not evidence of a weak one.
pub fn mfa_method(word: Option<&str>, table: &[(&str, &str)]) -> Option<String> {
    let key = |w: &str| -> String {
        w.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let word = key(word?);
    table
        .iter()
        .find(|(vendor, _)| key(vendor) == word)
        .map(|(_, method)| method.to_string())
}

/// `system_id` of a `[[source]]` block: a system id, or a template with `{account}` (the
/// AWS account id of each record) or `{tenant}` (the Entra tenant id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemTemplate(pub String);

pub const PLACEHOLDERS: [&str; 2] = ["account", "tenant"];

impl SystemTemplate {
    /// The placeholders it names that are not [`PLACEHOLDERS`], if any.
    pub fn unknown_placeholders(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = self.0.as_str();
        while let Some(i) = rest.find('{') {
            let after = &rest[i + 1..];
            match after.find('}') {
                Some(j) => {
                    let name = &after[..j];
                    if !PLACEHOLDERS.contains(&name) {
                        out.push(name.to_string());
                    }
                    rest = &after[j + 1..];
                }
                None => {
                    out.push(after.to_string());
                    break;
                }
            }
        }
        out
    }

    /// The system id of one record, given the values it has for the placeholders.
    pub fn resolve(&self, vars: &[(&str, Option<&str>)]) -> Result<String, String> {
        let mut out = self.0.clone();
        for p in PLACEHOLDERS {
            let tag = format!("{{{p}}}");
            if !out.contains(&tag) {
                continue;
            }
            match vars.iter().find(|(n, _)| *n == p).and_then(|(_, v)| *v) {
                Some(v) => out = out.replace(&tag, v),
                None => {
                    return Err(format!(
                        "the record has no {p} id for system_id {:?}",
                        self.0
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// What mapping one record of a log source may look at besides the record.
pub struct Cx<'a> {
    /// The file's name without its folders (CloudTrail's event id of old records).
    pub file_name: &'a str,
    /// The file's path as messages name it (CloudTrail's digest files are known by it).
    pub path: &'a str,
    /// The record's 0-based index among the file's records.
    pub index: u64,
    pub system: &'a SystemTemplate,
    pub countries: &'a Countries,
    /// Keys the prepass found in the whole source.
    pub prepass: &'a HashSet<String>,
    /// Country values that matched no ISO 3166-1 entry (counted in the log).
    pub unmatched: &'a RefCell<BTreeSet<String>>,
}

impl Cx<'_> {
    /// The alpha-2 code of a full English country name; other values are null (noted).
    pub fn country_from_name(&self, name: Option<String>) -> Option<String> {
        let name = name?;
        let code = self.countries.names.code_of_name(&name);
        self.note(code, name)
    }

    /// The alpha-2 code of a value that may be a code or a name.
    pub fn country_from_code_or_name(&self, value: Option<String>) -> Option<String> {
        let value = value?;
        let code = self.countries.names.code_of(&value);
        self.note(code, value)
    }

    fn note(&self, code: Option<&'static str>, value: String) -> Option<String> {
        if code.is_none() {
            self.unmatched.borrow_mut().insert(value);
        }
        code.map(str::to_string)
    }

    /// The country of an address from `ip_country_file`, if one holds it.
    pub fn country_of_ip(&self, ip: Option<&str>) -> Option<String> {
        self.countries.networks.country_of(ip?).map(str::to_string)
    }

    pub fn system_id(&self, vars: &[(&str, Option<&str>)]) -> Result<String, String> {
        self.system.resolve(vars)
    }
}

/// What a prepass collects: keys of the whole source (`found`), and the keys the current
/// file's records will look up (`looked_up`), which decide whether a stored digest of the
/// file still holds.
#[derive(Debug, Default)]
pub struct Prepass {
    pub found: HashSet<String>,
    pub looked_up: BTreeSet<String>,
}

/// One file of a snapshot source, read.
pub struct Export {
    /// The file's name in messages and the quarantine.
    pub rel: String,
    pub items: Vec<(u64, Item)>,
}

pub struct SnapshotCx<'a> {
    pub system: &'a SystemTemplate,
}

/// One candidate row (or skipped thing) of a snapshot source, with where it comes from:
/// `file` indexes the exports, `pos` is the record's index in that file, `raw` the
/// record's text for the quarantine.
#[derive(Debug, Clone)]
pub struct Emitted {
    pub file: usize,
    pub pos: u64,
    pub outcome: Outcome,
    pub raw: String,
}
