//! `review status`: completion per reviewer, overdue items, rubber-stamp signals. Pure:
//! computed from the stored campaign and the instant given, so the same state and instant
//! always give the same answer (and the same report).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::model::{Source, Stored, Verdict};
use crate::report::review_summary::{AccessReviewSummary, OverdueItem};

/// A packet this large kept in full, without a single revocation, is worth a second look.
pub const RUBBER_STAMP_MIN_ITEMS: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct ReviewerStatus {
    pub reviewer_id: String,
    pub reviewer_name: Option<String>,
    pub assigned: usize,
    pub keep: usize,
    pub revoke: usize,
    /// Items not decided by the reviewer (still open, or settled by on_no_response).
    pub pending: usize,
    /// Percentage decided by the reviewer, one decimal.
    pub completion: String,
    pub overdue: usize,
    pub signals: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Signal {
    pub reviewer_id: String,
    pub kind: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub campaign_id: String,
    pub jurisdiction: String,
    pub as_of: String,
    pub due: String,
    pub on_no_response: &'static str,
    pub closed: bool,
    /// The instant the status is computed at (closed_at for a closed campaign).
    pub at: String,
    pub items: usize,
    pub decided_by_reviewers: usize,
    pub keep: usize,
    pub revoke: usize,
    pub escalated: usize,
    pub pending: usize,
    pub overdue: usize,
    pub unassigned: usize,
    pub reviewers: Vec<ReviewerStatus>,
    pub signals: Vec<Signal>,
}

/// What `review status` prints: one line per reviewer, one per signal, then the summary
/// line.
impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.reviewers {
            writeln!(
                f,
                "reviewer={} assigned={} keep={} revoke={} pending={} completion={}% overdue={}",
                r.reviewer_id, r.assigned, r.keep, r.revoke, r.pending, r.completion, r.overdue
            )?;
        }
        for sig in &self.signals {
            writeln!(f, "signal {}: {}", sig.kind, sig.message)?;
        }
        write!(
            f,
            "permaudit review status campaign={} state={} items={} keep={} revoke={} escalated={} pending={} overdue={} unassigned={} due={}",
            self.campaign_id,
            if self.closed { "closed" } else { "open" },
            self.items,
            self.keep,
            self.revoke,
            self.escalated,
            self.pending,
            self.overdue,
            self.unassigned,
            self.due
        )
    }
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "100.0".to_string()
    } else {
        format!("{:.1}", n as f64 * 100.0 / d as f64)
    }
}

pub fn status(s: &Stored, at: DateTime<Utc>) -> Status {
    let c = &s.campaign;
    let at = s
        .state
        .closed_at
        .as_deref()
        .and_then(super::model::parse_time)
        .unwrap_or(at);
    // Overdue from the day after the due date, in UTC.
    let late = at.date_naive() > c.due;
    let mut st = Status {
        campaign_id: c.campaign_id.clone(),
        jurisdiction: c.jurisdiction.clone(),
        as_of: c.as_of.to_string(),
        due: c.due.to_string(),
        on_no_response: c.on_no_response.as_str(),
        closed: s.state.is_closed(),
        at: super::model::fmt_time(at),
        items: c.items.len(),
        decided_by_reviewers: 0,
        keep: 0,
        revoke: 0,
        escalated: 0,
        pending: 0,
        overdue: 0,
        unassigned: 0,
        reviewers: Vec::new(),
        signals: Vec::new(),
    };
    for item in &c.items {
        let d = s.state.decisions.get(&item.item_id);
        match d.map(|d| d.verdict) {
            Some(Verdict::Keep) => st.keep += 1,
            Some(Verdict::Revoke) => st.revoke += 1,
            Some(Verdict::Escalated) => st.escalated += 1,
            None => {
                st.pending += 1;
                if late {
                    st.overdue += 1;
                }
            }
        }
        if d.is_some_and(|d| d.source == Source::Reviewer) {
            st.decided_by_reviewers += 1;
        }
        if item.reviewer_id.is_none() {
            st.unassigned += 1;
        }
    }
    for (reviewer, items) in super::open::by_reviewer(&c.items) {
        let mut r = ReviewerStatus {
            reviewer_id: reviewer.to_string(),
            reviewer_name: items.first().and_then(|i| i.reviewer_name.clone()),
            assigned: items.len(),
            keep: 0,
            revoke: 0,
            pending: 0,
            completion: String::new(),
            overdue: 0,
            signals: Vec::new(),
        };
        let mut kept_critical = Vec::new();
        for item in &items {
            let d = s
                .state
                .decisions
                .get(&item.item_id)
                .filter(|d| d.source == Source::Reviewer);
            match d.map(|d| d.verdict) {
                Some(Verdict::Keep) => {
                    r.keep += 1;
                    if item.critical_findings > 0 {
                        kept_critical.push(item.item_id.as_str());
                    }
                }
                Some(Verdict::Revoke) => r.revoke += 1,
                _ => {
                    r.pending += 1;
                    if late && !s.state.decisions.contains_key(&item.item_id) {
                        r.overdue += 1;
                    }
                }
            }
        }
        r.completion = pct(r.keep + r.revoke, r.assigned);
        if r.assigned >= RUBBER_STAMP_MIN_ITEMS && r.keep == r.assigned {
            r.signals
                .push(format!("kept all {} items of the packet", r.assigned));
            st.signals.push(Signal {
                reviewer_id: reviewer.to_string(),
                kind: "kept_everything",
                message: format!(
                    "{reviewer} kept 100% of a packet of {} items, revoking nothing",
                    r.assigned
                ),
            });
        }
        if !kept_critical.is_empty() {
            r.signals.push(format!(
                "kept {} item(s) with open critical findings",
                kept_critical.len()
            ));
            st.signals.push(Signal {
                reviewer_id: reviewer.to_string(),
                kind: "kept_critical",
                message: format!(
                    "{reviewer} kept {} item(s) with open critical findings: {}",
                    kept_critical.len(),
                    kept_critical.join(", ")
                ),
            });
        }
        st.reviewers.push(r);
    }
    st
}

/// The latest campaign of `jurisdiction` opened for an as_of on or before `as_of`, judged
/// at the end of `as_of` (the report's evaluation instant), or None when there is none.
pub fn latest_summary(
    out: &std::path::Path,
    jurisdiction: &str,
    as_of: chrono::NaiveDate,
) -> crate::error::Result<Option<AccessReviewSummary>> {
    let Some(s) = Stored::all(out)?
        .into_iter()
        .filter(|s| s.campaign.jurisdiction == jurisdiction && s.campaign.as_of <= as_of)
        .max_by_key(|s| s.campaign.as_of)
    else {
        return Ok(None);
    };
    let t = crate::time::evaluation_instant(as_of);
    let st = status(
        &s,
        DateTime::<Utc>::from_timestamp_micros(t).unwrap_or_default(),
    );
    let mut state_files = Vec::new();
    for f in [super::model::CAMPAIGN_FILE, super::model::STATE_FILE] {
        let p = s.dir.join(f);
        if p.is_file() {
            state_files.push((
                format!(
                    "{}/{}/{f}",
                    super::model::REVIEWS_DIR,
                    s.campaign.campaign_id
                ),
                crate::files::sha256_file(&p)?,
            ));
        }
    }
    // status() counts every undecided item as overdue once the due date has passed.
    let late = st.overdue > 0;
    let overdue_items = s
        .campaign
        .items
        .iter()
        .filter(|i| late && !s.state.decisions.contains_key(&i.item_id))
        .map(|i| OverdueItem {
            item_id: i.item_id.clone(),
            reviewer_id: i.reviewer_id.clone(),
            reviewer_name: i.reviewer_name.clone(),
            identity_id: i.identity_id.clone(),
            display_name: i.display_name.clone(),
            system_id: i.system_id.clone(),
            account_id: i.account_id.clone(),
            entitlement_id: i.entitlement_id.clone(),
            privileged: i.privileged,
            findings: i.findings.join(", "),
        })
        .collect();
    Ok(Some(AccessReviewSummary {
        campaign_id: st.campaign_id,
        as_of: st.as_of,
        due: st.due,
        closed: st.closed,
        closed_at: s.state.closed_at.clone(),
        items: st.items,
        keep: st.keep,
        revoke: st.revoke,
        escalated: st.escalated,
        pending: st.pending,
        overdue: st.overdue,
        overdue_items,
        signals: st.signals.len(),
        state_files,
    }))
}
