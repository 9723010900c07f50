//! The access-review section of the compliance report, as the report needs it: plain data
//! the report owns and `review` fills (`review::status::latest_summary`), so the report
//! reads no campaign storage and `review` can render its own reports with this module's
//! renderer without a cycle.

use serde::Serialize;

/// One undecided item past the campaign's due date, as the compliance report lists it.
#[derive(Debug, Clone, Serialize)]
pub struct OverdueItem {
    pub item_id: String,
    /// Reviewer id, or None for an item nobody could be assigned.
    pub reviewer_id: Option<String>,
    pub reviewer_name: Option<String>,
    pub identity_id: Option<String>,
    pub display_name: Option<String>,
    pub system_id: String,
    pub account_id: String,
    pub entitlement_id: String,
    pub privileged: bool,
    pub findings: String,
}

/// What the compliance report's "access reviews" section needs about one jurisdiction: its
/// latest campaign with `as_of` on or before the report's, and the overdue items in it.
#[derive(Debug, Clone, Serialize)]
pub struct AccessReviewSummary {
    pub campaign_id: String,
    pub as_of: String,
    pub due: String,
    pub closed: bool,
    pub closed_at: Option<String>,
    pub items: usize,
    pub keep: usize,
    pub revoke: usize,
    pub escalated: usize,
    pub pending: usize,
    /// Undecided items whose due date is before the report's as_of.
    pub overdue: usize,
    /// The overdue items themselves, items with findings first (as in the packets).
    pub overdue_items: Vec<OverdueItem>,
    pub signals: usize,
    /// (path relative to OUT, sha256) of the state read, for the manifest (contract 6:
    /// "the manifest also hashes ... any review state a report read").
    pub state_files: Vec<(String, String)>,
}
