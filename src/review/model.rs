//! The campaign model and its storage under `OUT/reviews/<campaign_id>/`.
//!
//! Two JSON files hold the state: `campaign.json`, written once when the campaign opens
//! (items, reviewers, packet hashes: the population that was reviewed, never edited
//! afterwards so its hash is evidence), and `state.json`, rewritten atomically by every
//! ingest and by close (decisions, the ingest log, open/closed). Writing state last is the
//! commit point of every command: a crash before it leaves the previous state whole.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const REVIEWS_DIR: &str = "reviews";
pub const CAMPAIGN_FILE: &str = "campaign.json";
pub const STATE_FILE: &str = "state.json";
pub const PACKETS_DIR: &str = "packets";
pub const RETURNED_DIR: &str = "returned";
pub const REVOCATIONS_FILE: &str = "revocations.csv";
pub const ESCALATIONS_FILE: &str = "escalations.csv";
pub const SIGNOFF_FILE: &str = "signoff.json";
/// Version of the on-disk format, so that a later permaudit can tell old state apart.
pub const FORMAT: u32 = 1;

/// What happens on close to an item nobody decided; fixed when the campaign opens so that
/// reviewers know the consequence of silence from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnNoResponse {
    Keep,
    Revoke,
    Escalate,
}

impl OnNoResponse {
    pub fn as_str(self) -> &'static str {
        match self {
            OnNoResponse::Keep => "keep",
            OnNoResponse::Revoke => "revoke",
            OnNoResponse::Escalate => "escalate",
        }
    }
}

impl std::str::FromStr for OnNoResponse {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "keep" => Ok(OnNoResponse::Keep),
            "revoke" => Ok(OnNoResponse::Revoke),
            "escalate" => Ok(OnNoResponse::Escalate),
            other => Err(format!(
                "on_no_response must be keep, revoke or escalate, not {other:?}"
            )),
        }
    }
}

/// Why an item went to its reviewer (evidence for the auditor, and the test surface of the
/// fallback chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewerBasis {
    Manager,
    EntitlementOwner,
    ManagersManager,
    /// A manager further up the line, the nearer ones having left or being the person.
    HigherManager,
    SystemOwner,
    Unassigned,
}

impl ReviewerBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewerBasis::Manager => "manager",
            ReviewerBasis::EntitlementOwner => "entitlement_owner",
            ReviewerBasis::ManagersManager => "managers_manager",
            ReviewerBasis::HigherManager => "higher_manager",
            ReviewerBasis::SystemOwner => "system_owner",
            ReviewerBasis::Unassigned => "unassigned",
        }
    }
}

/// One effective grant under review, with everything a reviewer needs to decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub item_id: String,
    pub reviewer_id: Option<String>,
    pub reviewer_name: Option<String>,
    pub reviewer_basis: ReviewerBasis,
    /// Whom an escalated item goes to: the reviewer's manager, else the system owner.
    pub escalate_to: Option<String>,
    pub identity_id: Option<String>,
    pub display_name: Option<String>,
    pub department: Option<String>,
    pub job_function: Option<String>,
    pub system_id: String,
    pub account_id: String,
    pub account_type: Option<String>,
    pub entitlement_id: String,
    pub entitlement_name: Option<String>,
    pub role_path: String,
    pub risk: Option<String>,
    pub privileged: bool,
    pub grant_id: String,
    pub granted_at: String,
    pub granted_by: Option<String>,
    pub approved_by: Option<String>,
    pub last_used: Option<String>,
    pub last_reviewed: Option<String>,
    /// Open findings on this grant, its account or its holder, as `RULE(severity)`.
    pub findings: Vec<String>,
    pub finding_ids: Vec<String>,
    pub max_severity: Option<String>,
    pub critical_findings: u32,
}

/// Packet columns in order. Everything but `decision` and `comment` is fixed by the
/// campaign and checked on ingest.
pub const PACKET_COLUMNS: [&str; 24] = [
    "item_id",
    "reviewer_id",
    "reviewer_name",
    "identity_id",
    "display_name",
    "department",
    "job_function",
    "system_id",
    "account_id",
    "account_type",
    "entitlement_id",
    "entitlement_name",
    "role_path",
    "risk",
    "privileged",
    "grant_id",
    "granted_at",
    "granted_by",
    "approved_by",
    "last_used",
    "last_reviewed",
    "findings",
    "decision",
    "comment",
];

impl Item {
    /// The fixed packet fields (all columns but decision and comment), as written.
    pub fn packet_fields(&self) -> Vec<(&'static str, String)> {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            ("item_id", self.item_id.clone()),
            ("reviewer_id", o(&self.reviewer_id)),
            ("reviewer_name", o(&self.reviewer_name)),
            ("identity_id", o(&self.identity_id)),
            ("display_name", o(&self.display_name)),
            ("department", o(&self.department)),
            ("job_function", o(&self.job_function)),
            ("system_id", self.system_id.clone()),
            ("account_id", self.account_id.clone()),
            ("account_type", o(&self.account_type)),
            ("entitlement_id", self.entitlement_id.clone()),
            ("entitlement_name", o(&self.entitlement_name)),
            ("role_path", self.role_path.clone()),
            ("risk", o(&self.risk)),
            ("privileged", self.privileged.to_string()),
            ("grant_id", self.grant_id.clone()),
            ("granted_at", self.granted_at.clone()),
            ("granted_by", o(&self.granted_by)),
            ("approved_by", o(&self.approved_by)),
            ("last_used", o(&self.last_used)),
            ("last_reviewed", o(&self.last_reviewed)),
            ("findings", self.findings.join("; ")),
        ]
    }
}

/// The packet of one reviewer, with the hashes of the files handed out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Packet {
    pub reviewer_id: String,
    pub reviewer_name: Option<String>,
    /// File name without extension under `packets/` (the reviewer id when it is a safe
    /// file name, else a hash of it).
    pub file_stem: String,
    pub items: usize,
    pub csv_sha256: String,
    pub xlsx_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub format: u32,
    pub campaign_id: String,
    pub jurisdiction: String,
    pub jurisdiction_name: String,
    pub as_of: NaiveDate,
    /// Evaluation instant of `as_of` (RFC 3339, UTC): the grants reviewed are those
    /// effective then.
    pub evaluation_instant: String,
    pub due: NaiveDate,
    pub on_no_response: OnNoResponse,
    pub review_interval_days: i64,
    pub privileged_review_interval_days: i64,
    /// SHA-256 of the run configuration the campaign was opened from.
    pub config_sha256: String,
    /// Effective grants in scope that were not due (reviewed recently enough).
    pub not_due: usize,
    pub items: Vec<Item>,
    pub packets: Vec<Packet>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Keep,
    Revoke,
    Escalated,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Keep => "keep",
            Verdict::Revoke => "revoke",
            Verdict::Escalated => "escalated",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Decided by the assigned reviewer in a returned packet.
    Reviewer,
    /// Applied on close from the campaign's `on_no_response`.
    NoResponse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub source: Source,
    pub reviewer_id: Option<String>,
    pub decided_at: String,
    pub comment: Option<String>,
    /// SHA-256 of the returned file the decision came from.
    pub file_sha256: Option<String>,
}

/// One returned packet accepted by ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Returned {
    pub file_name: String,
    pub sha256: String,
    /// Copy kept as evidence, relative to the campaign directory.
    pub stored_as: String,
    pub reviewer_id: String,
    pub ingested_at: String,
    pub rows: usize,
    pub decided: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub format: u32,
    pub closed_at: Option<String>,
    pub returned: Vec<Returned>,
    /// item_id -> decision; a BTreeMap so the file is written in a fixed order.
    pub decisions: BTreeMap<String, Decision>,
}

impl State {
    pub fn is_closed(&self) -> bool {
        self.closed_at.is_some()
    }
}

/// Timestamps in state and reports: RFC 3339, UTC, whole seconds.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn fmt_micros(us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(us)
        .map(fmt_time)
        .unwrap_or_default()
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Campaign ids become directory names: only `[A-Za-z0-9_-]`, so that an id given on the
/// command line can never point outside `OUT/reviews/`.
pub fn valid_campaign_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub fn campaign_dir(out: &Path, id: &str) -> Result<PathBuf> {
    if !valid_campaign_id(id) {
        return Err(Error::input(
            "--campaign",
            format!("{id:?} is not a campaign id (letters, digits, '-' and '_' only)"),
        ));
    }
    let root = out.join(REVIEWS_DIR);
    let dir = root.join(id);
    // Campaign records are written and read here: a planted link must not move them out
    // of OUT.
    crate::files::refuse_foreign_dir(&root)?;
    crate::files::refuse_foreign_dir(&dir)?;
    Ok(dir)
}

/// Pretty JSON with a final newline; struct fields keep their declared order, maps are
/// BTreeMaps, so the same value always gives the same bytes.
pub fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Internal(format!("serialising JSON: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    crate::files::write_atomic(path, &json_bytes(value)?)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = crate::files::read_file(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::input(path.display().to_string(), format!("unreadable: {e}")))
}

/// A campaign and its state, as stored.
pub struct Stored {
    pub dir: PathBuf,
    pub campaign: Campaign,
    pub state: State,
}

impl Stored {
    pub fn load(out: &Path, id: &str) -> Result<Stored> {
        let dir = campaign_dir(out, id)?;
        let path = dir.join(CAMPAIGN_FILE);
        if !path.is_file() {
            return Err(Error::input(
                "--campaign",
                format!("no campaign {id} in {}", out.join(REVIEWS_DIR).display()),
            ));
        }
        let campaign: Campaign = read_json(&path)?;
        let state_path = dir.join(STATE_FILE);
        let state = if state_path.is_file() {
            read_json(&state_path)?
        } else {
            State {
                format: FORMAT,
                ..State::default()
            }
        };
        Ok(Stored {
            dir,
            campaign,
            state,
        })
    }

    /// The instant the stored state speaks for: closed_at, else the last ingest, else the
    /// evaluation instant. Reports use it instead of the clock, so they are a function of
    /// the state alone.
    pub fn state_instant(&self) -> DateTime<Utc> {
        self.state
            .closed_at
            .as_deref()
            .or(self
                .state
                .returned
                .iter()
                .map(|r| r.ingested_at.as_str())
                .max())
            .or(Some(self.campaign.evaluation_instant.as_str()))
            .and_then(parse_time)
            .unwrap_or_default()
    }

    pub fn save_state(&self) -> Result<()> {
        write_json(&self.dir.join(STATE_FILE), &self.state)
    }

    /// Every campaign stored in OUT (directories with a readable campaign.json), by id.
    pub fn all(out: &Path) -> Result<Vec<Stored>> {
        let root = out.join(REVIEWS_DIR);
        crate::files::refuse_foreign_dir(&root)?;
        let Ok(entries) = fs::read_dir(&root) else {
            return Ok(Vec::new());
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| valid_campaign_id(n))
            .filter(|n| root.join(n).join(CAMPAIGN_FILE).is_file())
            .collect();
        ids.sort();
        ids.iter().map(|id| Stored::load(out, id)).collect()
    }
}
