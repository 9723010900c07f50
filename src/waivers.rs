//! Waivers (CONTRACT section 8): management's accepted risk for findings of any rule. A
//! findings-stage step, after detection: the rules stay pure and know nothing of waivers,
//! and a waiver names its rule by the `rule` column's value, never by a code written here.
//!
//! Validity has two halves. What holds whatever the finding (approved before T, not
//! expired at T, approver active at T) is worked out once per waiver ([`Waiver::problems`]);
//! self-approval depends on the finding's identity and is checked per finding. The report
//! reads the same [`Waiver`]s, so the section it shows and the statuses cannot disagree.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use polars::prelude::*;
use serde_json::{json, Value as Json};

use crate::error::Result;
use crate::ingest::Tables;

/// The finding columns a waiver's scope can set, in the contract's order.
pub const SCOPE_COLUMNS: [&str; 7] = [
    "identity_id",
    "system_id",
    "account_id",
    "grant_id",
    "entitlement_id",
    "sod_rule_id",
    "target_id",
];

/// Why a waiver counts for no finding at T, whatever the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// `expires_at < T`.
    Expired,
    /// `approved_at >= T`: the approval is not known at the evaluation instant.
    NotYetApproved,
    /// The approver is on leave or terminated at T: nobody answers for the risk.
    ApproverNotActive,
    /// The approver is in no identity of the input.
    ApproverUnknown,
}

impl Problem {
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Expired => "expired",
            Problem::NotYetApproved => "not yet approved at T",
            Problem::ApproverNotActive => "approver not active at T",
            Problem::ApproverUnknown => "approver unknown",
        }
    }
}

/// One loaded waiver, with what can be said of it at T.
#[derive(Debug, Clone)]
pub struct Waiver {
    pub waiver_id: String,
    pub rule: String,
    /// The scope columns it sets, in [`SCOPE_COLUMNS`] order; empty for a blanket waiver.
    pub scope: Vec<(&'static str, String)>,
    pub approved_by: String,
    pub approved_at: i64,
    pub expires_at: i64,
    pub reason: String,
    pub ticket: Option<String>,
    /// Empty when the waiver is in force at T (for any finding not of its approver).
    pub problems: Vec<Problem>,
}

impl Waiver {
    pub fn blanket(&self) -> bool {
        self.scope.is_empty()
    }

    /// Whether its scope names its own approver as the identity it covers: then it is
    /// self-approved for every finding it covers.
    pub fn self_scoped(&self) -> bool {
        self.scope
            .iter()
            .any(|(c, v)| *c == "identity_id" && *v == self.approved_by)
    }

    /// Whether it covers a finding of `rule` whose columns `column` reads: every scope
    /// column it sets equals the finding's (a finding without that column is not covered).
    pub fn covers(&self, rule: &str, column: &dyn Fn(&str) -> Option<String>) -> bool {
        self.rule == rule
            && self
                .scope
                .iter()
                .all(|(c, v)| column(c).as_deref() == Some(v.as_str()))
    }

    /// Why it does not waive a finding of `identity` (empty: it does).
    pub fn problems_for(&self, identity: Option<&str>) -> Vec<&'static str> {
        let mut why: Vec<&'static str> = self.problems.iter().map(|p| p.as_str()).collect();
        if identity == Some(self.approved_by.as_str()) {
            why.push("self-approved");
        }
        why
    }

    /// The waiver as a finding's `detail` names it.
    fn evidence(&self, why: &[&str]) -> Json {
        let scope: serde_json::Map<String, Json> = self
            .scope
            .iter()
            .map(|(c, v)| ((*c).to_string(), Json::from(v.as_str())))
            .collect();
        json!({
            "waiver_id": self.waiver_id,
            "valid": why.is_empty(),
            "not_valid_because": if why.is_empty() { Json::Null } else { Json::from(why.join(", ")) },
            "blanket": self.blanket(),
            "scope": scope,
            "approved_by": self.approved_by,
            "approved_at": ts_text(self.approved_at),
            "expires_at": ts_text(self.expires_at),
            "reason": self.reason,
            "ticket": self.ticket,
        })
    }
}

/// RFC 3339 UTC text of a timestamp, as the rules write times in evidence.
pub fn ts_text(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
        .unwrap_or_default()
}

/// Text of column `c` of `df` per row.
fn texts<'a>(df: &'a DataFrame, c: &str) -> Result<&'a StringChunked> {
    Ok(df.column(c)?.str()?)
}

/// Every loaded waiver, ordered by id, with its problems at `t`.
///
/// An approver is active at T when their status is `active`, or `terminated` with a
/// `terminated_at` at or after T (the snapshot is later than T, as in a backfill: at T
/// they still worked there). `leave` is not active: someone away cannot be asked about the
/// risk they accepted, nor withdraw it, so the waiver lapses while they are away.
pub fn load(tables: &Tables, t: i64) -> Result<Vec<Waiver>> {
    let ids = &tables.identities;
    let id_col = texts(ids, "identity_id")?;
    let status = texts(ids, "status")?;
    let terminated_at = ids.column("terminated_at")?.i64()?;
    let active: HashMap<&str, bool> = (0..ids.height())
        .filter_map(|i| {
            let active = match status.get(i) {
                Some("active") => true,
                Some("terminated") => terminated_at.get(i).is_some_and(|at| at >= t),
                _ => false,
            };
            Some((id_col.get(i)?, active))
        })
        .collect();

    let w = &tables.waivers;
    let waiver_id = texts(w, "waiver_id")?;
    let rule = texts(w, "rule")?;
    let approved_by = texts(w, "approved_by")?;
    let reason = texts(w, "reason")?;
    let ticket = texts(w, "ticket")?;
    let approved_at = w.column("approved_at")?.i64()?;
    let expires_at = w.column("expires_at")?.i64()?;
    let scope_cols = SCOPE_COLUMNS
        .iter()
        .map(|c| Ok((*c, texts(w, c)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(w.height());
    for i in 0..w.height() {
        // Required columns: a loaded row has them all.
        let (Some(id), Some(code), Some(by), Some(approved), Some(expires)) = (
            waiver_id.get(i),
            rule.get(i),
            approved_by.get(i),
            approved_at.get(i),
            expires_at.get(i),
        ) else {
            continue;
        };
        let mut problems = Vec::new();
        if expires < t {
            problems.push(Problem::Expired);
        }
        if approved >= t {
            problems.push(Problem::NotYetApproved);
        }
        match active.get(by) {
            Some(true) => {}
            Some(false) => problems.push(Problem::ApproverNotActive),
            None => problems.push(Problem::ApproverUnknown),
        }
        out.push(Waiver {
            waiver_id: id.to_string(),
            rule: code.to_string(),
            scope: scope_cols
                .iter()
                .filter_map(|(c, ca)| Some((*c, ca.get(i)?.to_string())))
                .collect(),
            approved_by: by.to_string(),
            approved_at: approved,
            expires_at: expires,
            reason: reason.get(i).unwrap_or_default().to_string(),
            ticket: ticket.get(i).map(str::to_string),
            problems,
        });
    }
    out.sort_by(|a, b| a.waiver_id.cmp(&b.waiver_id));
    Ok(out)
}

/// Order in which a finding's covering waivers are named: a valid one first, else the most
/// recently expired, else a self-approved one, else one whose approver is not active (the
/// problem an approver's successor can fix soonest), else one not yet approved. Within a
/// kind the one lasting longest, then the lowest id, so that the choice is deterministic.
fn rank(w: &Waiver, why: &[&str]) -> (u8, std::cmp::Reverse<i64>, String) {
    let kind = if why.is_empty() {
        0
    } else if w.problems.contains(&Problem::Expired) {
        1
    } else if why.contains(&"self-approved") {
        2
    } else if w.problems.contains(&Problem::ApproverNotActive)
        || w.problems.contains(&Problem::ApproverUnknown)
    {
        3
    } else {
        4
    };
    (kind, std::cmp::Reverse(w.expires_at), w.waiver_id.clone())
}

/// The waiver that decides a finding, with why it does not count (empty: it waives it).
pub fn deciding<'w>(
    waivers: &'w [Waiver],
    rule: &str,
    column: &dyn Fn(&str) -> Option<String>,
) -> Option<(&'w Waiver, Vec<&'static str>)> {
    let identity = column("identity_id");
    waivers
        .iter()
        .filter(|w| w.covers(rule, column))
        .map(|w| (w, w.problems_for(identity.as_deref())))
        .min_by_key(|(w, why)| rank(w, why))
}

/// Applies the waivers to the findings: an `open` finding covered by a valid waiver becomes
/// `waived`; every covered finding's `detail` gains a `waiver` record naming the waiver
/// that decides it. Another status (an SoD finding `mitigated` by its exception) is kept:
/// the exception takes precedence. Ids and row order do not change.
pub fn apply(findings: DataFrame, waivers: &[Waiver]) -> Result<DataFrame> {
    if waivers.is_empty() {
        return Ok(findings);
    }
    let rule = texts(&findings, "rule")?;
    let status = texts(&findings, "status")?;
    let detail = texts(&findings, "detail")?;
    let scope = SCOPE_COLUMNS
        .iter()
        .map(|c| Ok((*c, findings.column(c)?.str()?)))
        .collect::<Result<Vec<_>>>()?;
    let mut new_status: Vec<Option<String>> = Vec::with_capacity(findings.height());
    let mut new_detail: Vec<Option<String>> = Vec::with_capacity(findings.height());
    for i in 0..findings.height() {
        let (s, d) = (status.get(i), detail.get(i));
        let column = |c: &str| {
            scope
                .iter()
                .find(|(name, _)| *name == c)
                .and_then(|(_, ca)| ca.get(i))
                .map(str::to_string)
        };
        let decided = rule.get(i).and_then(|r| deciding(waivers, r, &column));
        match decided {
            None => {
                new_status.push(s.map(str::to_string));
                new_detail.push(d.map(str::to_string));
            }
            Some((w, why)) => {
                let waived = why.is_empty() && s == Some("open");
                new_status.push(Some(
                    if waived {
                        "waived"
                    } else {
                        s.unwrap_or("open")
                    }
                    .to_string(),
                ));
                new_detail.push(Some(with_waiver(d, &w.evidence(&why))?));
            }
        }
    }
    tracing::info!(
        waivers = waivers.len(),
        waived = new_status
            .iter()
            .filter(|s| s.as_deref() == Some("waived"))
            .count(),
        "waivers applied"
    );
    let mut out = findings;
    out.with_column(Column::new("status".into(), new_status))?;
    out.with_column(Column::new("detail".into(), new_detail))?;
    Ok(out)
}

/// A rule's detail (a JSON object) with a `waiver` key added last. The text is spliced
/// rather than parsed and written again, so that the rule's own keys keep their bytes.
fn with_waiver(detail: Option<&str>, waiver: &Json) -> Result<String> {
    let record = serde_json::to_string(waiver)
        .map_err(|e| crate::error::Error::Internal(format!("waiver evidence: {e}")))?;
    let d = detail.unwrap_or("").trim_end();
    Ok(match d.strip_suffix('}') {
        Some(body) if d.starts_with('{') => {
            if body.trim_end() == "{" {
                format!("{{\"waiver\":{record}}}")
            } else {
                format!("{body},\"waiver\":{record}}}")
            }
        }
        // Every rule writes an object; anything else is kept whole beside the waiver.
        _ => {
            let evidence: Json = serde_json::from_str(d).unwrap_or(Json::from(d));
            serde_json::to_string(&json!({"evidence": evidence, "waiver": waiver}))
                .map_err(|e| crate::error::Error::Internal(format!("waiver evidence: {e}")))?
        }
    })
}
