//! What closed campaigns decided to revoke, read from OUT for the nightly run: every row of
//! the `revocations.csv` of a campaign closed before T, as plain data for the rules
//! ([`crate::resolve::Remediation`]). Only campaigns closed before T count, so a rerun of
//! an earlier date sees what that date saw whatever was closed since.
//!
//! A campaign or revocations file that cannot be read, or a row that does not parse, is
//! named in the log and left out: the rule does not guess what it decided.

use std::path::Path;

use crate::error::Result;
use crate::resolve::RevocationDecision;

use super::model::{self, Stored, REVIEWS_DIR, REVOCATIONS_FILE};

/// The revocations of every campaign in `out` closed before `t` (microseconds UTC), in
/// campaign and file order.
pub fn revocations(out: &Path, t: i64) -> Result<Vec<RevocationDecision>> {
    let root = out.join(REVIEWS_DIR);
    crate::files::refuse_foreign_dir(&root)?;
    let Ok(entries) = std::fs::read_dir(&root) else {
        return Ok(Vec::new());
    };
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| model::valid_campaign_id(n))
        .collect();
    ids.sort();
    let mut found = Vec::new();
    for id in ids {
        let stored = match Stored::load(out, &id) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(campaign = %id, error = %e, "campaign unreadable: its revocations are not checked");
                continue;
            }
        };
        let Some(closed) = stored.state.closed_at.as_deref() else {
            continue;
        };
        let Some(closed_at) = model::parse_time(closed).map(|c| c.timestamp_micros()) else {
            tracing::warn!(campaign = %id, closed_at = %closed, "campaign close time unreadable: its revocations are not checked");
            continue;
        };
        if closed_at >= t {
            continue;
        }
        let path = stored.dir.join(REVOCATIONS_FILE);
        match read_revocations(&path, &id, closed_at) {
            Ok(rows) => found.extend(rows),
            Err(e) => {
                tracing::warn!(campaign = %id, file = %path.display(), error = %e, "revocations unreadable: this campaign's revocations are not checked");
            }
        }
    }
    Ok(found)
}

/// The rows of one `revocations.csv`; a row edited into something that does not parse is
/// named (file, line) in the log and skipped, the file's other rows still count.
fn read_revocations(
    path: &Path,
    campaign: &str,
    closed_at: i64,
) -> Result<Vec<RevocationDecision>> {
    let bytes = crate::files::read_file(path)?;
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let unreadable =
        |e: csv::Error| crate::error::Error::input(path.display().to_string(), e.to_string());
    let headers = reader.headers().map_err(unreadable)?.clone();
    let index = |name: &str| headers.iter().position(|h| h == name);
    let (Some(c_item), Some(c_grant), Some(c_system), Some(c_reviewer), Some(c_decided)) = (
        index("item_id"),
        index("grant_id"),
        index("system_id"),
        index("reviewer_id"),
        index("decided_at"),
    ) else {
        return Err(crate::error::Error::input(
            path.display().to_string(),
            "header lacks item_id, grant_id, system_id, reviewer_id or decided_at",
        ));
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(unreadable)?;
        let line = record.position().map(|p| p.line()).unwrap_or_default();
        let cell = |i: usize| record.get(i).map(str::trim).filter(|v| !v.is_empty());
        let decided = cell(c_decided).and_then(model::parse_time);
        match (cell(c_item), cell(c_grant), cell(c_system), decided) {
            (Some(item), Some(grant), Some(system), Some(decided)) => {
                rows.push(RevocationDecision {
                    campaign_id: campaign.to_string(),
                    item_id: item.to_string(),
                    grant_id: grant.to_string(),
                    system_id: system.to_string(),
                    reviewer_id: cell(c_reviewer).map(String::from),
                    decided_at: decided.timestamp_micros(),
                    closed_at,
                })
            }
            _ => tracing::warn!(
                file = %path.display(),
                line,
                "revocation row lacks item_id, grant_id, system_id or a readable decided_at: skipped"
            ),
        }
    }
    Ok(rows)
}
