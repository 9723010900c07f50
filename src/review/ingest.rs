//! `review ingest`: returned packets in, decisions recorded. Every row of every file is
//! checked first; only when all of them pass is anything written, so a bad batch leaves
//! the campaign exactly as it was.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::model::{self, Decision, Item, Returned, Source, Stored, Verdict, RETURNED_DIR};
use super::packets::{read_packet, Contents, FormulaCell, Row};
use crate::error::{Error, Result};
use crate::findings::neutralise;
use crate::fs_guard::{self, Links};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    Unreadable,
    MissingColumn,
    NoReviewer,
    UnknownReviewer,
    MixedReviewers,
    UnknownItem,
    ChangedField,
    BadDecision,
    Formula,
    NotAssigned,
    Duplicate,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Unreadable => "unreadable file",
            ProblemKind::MissingColumn => "missing column",
            ProblemKind::NoReviewer => "no reviewer",
            ProblemKind::UnknownReviewer => "unknown reviewer",
            ProblemKind::MixedReviewers => "mixed reviewers",
            ProblemKind::UnknownItem => "unknown item",
            ProblemKind::ChangedField => "changed field",
            ProblemKind::BadDecision => "invalid decision",
            ProblemKind::Formula => "formula",
            ProblemKind::NotAssigned => "not assigned to this reviewer",
            ProblemKind::Duplicate => "duplicate item",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Problem {
    pub file: String,
    /// Row as the spreadsheet numbers it (header = 1); None for file-level problems.
    pub line: Option<usize>,
    pub kind: ProblemKind,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(
                f,
                "{}:{l}: {}: {}",
                self.file,
                self.kind.as_str(),
                self.message
            ),
            None => write!(f, "{}: {}: {}", self.file, self.kind.as_str(), self.message),
        }
    }
}

/// One returned file that passed every check.
struct Accepted {
    name: String,
    bytes: Vec<u8>,
    sha256: String,
    reviewer: String,
    rows: usize,
    decisions: Vec<(String, Verdict, Option<String>)>,
}

#[derive(Debug, Default)]
pub struct IngestSummary {
    pub campaign_id: String,
    pub files: usize,
    /// Files whose exact content was ingested before: nothing to do.
    pub already_ingested: usize,
    pub decided: usize,
    pub pending: usize,
}

/// The line `review ingest` prints.
impl fmt::Display for IngestSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "permaudit review ingest status=ok campaign={} files={} already_ingested={} decided={} pending={}",
            self.campaign_id, self.files, self.already_ingested, self.decided, self.pending
        )
    }
}

/// The fixed fields a cell must still equal: as written (neutralised) or, if a tool
/// stripped the protecting quote, the raw value.
fn unchanged(cell: &str, expected: &str) -> bool {
    cell == neutralise(expected).as_ref() || cell == expected
}

/// Checks one file; pushes problems and returns the accepted content when it has none.
fn check_file(
    stored: &Stored,
    items: &HashMap<&str, &Item>,
    name: &str,
    bytes: Vec<u8>,
    seen: &mut HashMap<String, String>,
    problems: &mut Vec<Problem>,
) -> Option<Accepted> {
    // Problems of this file go to `mine` first: the checks stop on whether this file has
    // any, whatever earlier files had. They are appended on every return path.
    let mut mine: Vec<Problem> = Vec::new();
    let accepted = check_rows(stored, items, name, bytes, seen, &mut mine);
    problems.extend(mine);
    accepted
}

fn check_rows(
    stored: &Stored,
    items: &HashMap<&str, &Item>,
    name: &str,
    bytes: Vec<u8>,
    seen: &mut HashMap<String, String>,
    problems: &mut Vec<Problem>,
) -> Option<Accepted> {
    let mut check = FileCheck {
        stored,
        items,
        name,
        problems,
    };
    let Contents { rows, formulas } = check.contents(&bytes)?;
    check.formulas(&formulas);
    let reviewer = check.reviewer(&rows)?;
    let decisions = check.decisions(&rows, reviewer, seen);
    if !check.problems.is_empty() {
        return None;
    }
    Some(Accepted {
        name: name.to_string(),
        sha256: crate::hash::sha256_hex(&bytes),
        bytes,
        reviewer: reviewer.to_string(),
        rows: rows.len(),
        decisions,
    })
}

/// One file being checked: what it is checked against, and its problems so far.
struct FileCheck<'a> {
    stored: &'a Stored,
    items: &'a HashMap<&'a str, &'a Item>,
    name: &'a str,
    problems: &'a mut Vec<Problem>,
}

impl FileCheck<'_> {
    fn push(&mut self, line: Option<usize>, kind: ProblemKind, message: String) {
        self.problems.push(Problem {
            file: self.name.to_string(),
            line,
            kind,
            message,
        });
    }

    /// The packet's rows and formulas, when it reads and has the columns a decision needs.
    fn contents(&mut self, bytes: &[u8]) -> Option<Contents> {
        let contents = match read_packet(bytes) {
            Ok(c) => c,
            Err(e) => {
                self.push(None, ProblemKind::Unreadable, e);
                return None;
            }
        };
        let header: Vec<&String> = contents
            .rows
            .first()
            .map(|r| r.cells.keys().collect())
            .unwrap_or_default();
        for c in ["item_id", "reviewer_id", "decision"] {
            if !contents.rows.is_empty() && !header.iter().any(|h| h.as_str() == c) {
                self.push(None, ProblemKind::MissingColumn, format!("no column {c}"));
            }
        }
        self.problems.is_empty().then_some(contents)
    }

    /// A formula's value is whatever the workbook cached, or nothing: a revoke computed by a
    /// formula would read as undecided. Only typed values are decisions, wherever they are.
    fn formulas(&mut self, formulas: &[FormulaCell]) {
        for f in formulas {
            let column = f
                .column
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            self.push(
                Some(f.line),
                ProblemKind::Formula,
                format!(
                    "sheet {:?}, cell {}{column} holds the formula {:?}; type the value instead",
                    f.sheet,
                    f.cell,
                    excerpt(&format!("={}", f.formula.trim_start_matches('=')))
                ),
            );
        }
    }

    /// The packet names its reviewer in every row; the first row's is the packet's, and
    /// must have a packet in the campaign.
    fn reviewer<'r>(&mut self, rows: &'r [Row]) -> Option<&'r str> {
        let mut reviewers: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.cells.get("reviewer_id"))
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .collect();
        let Some(&reviewer) = reviewers.first() else {
            self.push(
                None,
                ProblemKind::NoReviewer,
                "the packet names no reviewer (column reviewer_id is empty)".to_string(),
            );
            return None;
        };
        reviewers.sort_unstable();
        reviewers.dedup();
        if reviewers.len() > 1 {
            self.push(
                None,
                ProblemKind::MixedReviewers,
                format!("rows name several reviewers: {}", reviewers.join(", ")),
            );
        }
        if !self
            .stored
            .campaign
            .packets
            .iter()
            .any(|p| p.reviewer_id == reviewer)
        {
            let message = format!(
                "{reviewer} has no packet in campaign {}",
                self.stored.campaign.campaign_id
            );
            self.push(None, ProblemKind::UnknownReviewer, message);
            return None;
        }
        Some(reviewer)
    }

    /// The decisions typed in the rows, every row checked against its campaign item.
    fn decisions(
        &mut self,
        rows: &[Row],
        reviewer: &str,
        seen: &mut HashMap<String, String>,
    ) -> Vec<(String, Verdict, Option<String>)> {
        let mut decisions = Vec::new();
        for row in rows {
            let Some(verdict) = self.row(row, reviewer, seen) else {
                continue;
            };
            let get = |c: &str| row.cells.get(c).map(String::as_str).unwrap_or_default();
            let comment = Some(get("comment").trim().to_string()).filter(|c| !c.is_empty());
            decisions.push((get("item_id").to_string(), verdict, comment));
        }
        decisions
    }

    /// Checks one row; returns its verdict when it has one (an empty decision is none).
    fn row(
        &mut self,
        row: &Row,
        reviewer: &str,
        seen: &mut HashMap<String, String>,
    ) -> Option<Verdict> {
        let line = Some(row.line);
        let get = |c: &str| row.cells.get(c).map(String::as_str).unwrap_or_default();
        let id = get("item_id");
        let campaign_id = &self.stored.campaign.campaign_id;
        let items = self.items;
        let Some(item) = items.get(id) else {
            let message = format!("item {id:?} is not in campaign {campaign_id}");
            self.push(line, ProblemKind::UnknownItem, message);
            return None;
        };
        let foreign = item.reviewer_id.as_deref() != Some(reviewer);
        if foreign {
            self.push(
                line,
                ProblemKind::NotAssigned,
                format!(
                    "item {id} is assigned to {}, not to {reviewer}",
                    item.reviewer_id.as_deref().unwrap_or("nobody (unassigned)")
                ),
            );
        }
        for (col, expected) in item.packet_fields() {
            // A foreign row's reviewer columns differ by definition: one problem is enough.
            if foreign && matches!(col, "reviewer_id" | "reviewer_name") {
                continue;
            }
            if let Some(cell) = row.cells.get(col) {
                if !unchanged(cell, &expected) {
                    self.push(
                        line,
                        ProblemKind::ChangedField,
                        format!("item {id}: {col} was {expected:?}, the packet says {cell:?}"),
                    );
                }
            }
        }
        if let Some(first) = seen.insert(id.to_string(), format!("{}:{}", self.name, row.line)) {
            self.push(
                line,
                ProblemKind::Duplicate,
                format!("item {id} is already decided in this batch at {first}"),
            );
        }
        self.verdict(line, id, get("decision").trim())
    }

    fn verdict(&mut self, line: Option<usize>, id: &str, typed: &str) -> Option<Verdict> {
        match typed.to_ascii_lowercase().as_str() {
            "" => None,
            "keep" => Some(Verdict::Keep),
            "revoke" => Some(Verdict::Revoke),
            _ => {
                let what = if typed.starts_with(['=', '+', '-', '@']) {
                    "looks like a spreadsheet formula, not"
                } else {
                    "is not"
                };
                self.push(
                    line,
                    ProblemKind::BadDecision,
                    format!(
                        "item {id}: decision {:?} {what} keep, revoke or empty (undecided)",
                        excerpt(typed)
                    ),
                );
                None
            }
        }
    }
}

/// At most 80 characters of a hostile value, for a message.
fn excerpt(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &s[..end]),
        None => s.to_string(),
    }
}

/// The bytes of a returned packet, or why not. A packet is input: only a regular file is
/// read (a FIFO would block the command under the lock, a device never ends), and a
/// missing or unreadable one is a problem of the batch, not an operational error.
fn read_packet_file(path: &Path) -> std::result::Result<Vec<u8>, String> {
    fs_guard::read_regular(path, Links::Follow).map_err(|e| {
        if fs_guard::is_refusal(&e) {
            e.to_string()
        } else {
            format!("cannot read it: {e}")
        }
    })
}

/// Validates every file; returns the problems, or nothing written and an error listing
/// them. Files already ingested (same SHA-256) are skipped: re-ingesting is a no-op.
pub fn ingest(
    out: &Path,
    campaign_id: &str,
    files: &[PathBuf],
    at: DateTime<Utc>,
    templates_dir: Option<&Path>,
) -> Result<IngestSummary> {
    let mut stored = Stored::load(out, campaign_id)?;
    if stored.state.is_closed() {
        return Err(Error::input(
            "review ingest",
            format!("campaign {campaign_id} is closed; nothing ingested"),
        ));
    }
    let (accepted, skipped) = match check(&stored, files) {
        Ok(x) => x,
        Err(problems) => {
            let n = problems.len();
            let mut msg = format!(
                "{n} {} in the returned packets; nothing ingested:",
                if n == 1 { "problem" } else { "problems" }
            );
            for p in &problems {
                msg.push_str("\n  ");
                msg.push_str(&p.to_string());
            }
            return Err(Error::input("review ingest", msg));
        }
    };
    let at_s = model::fmt_time(at);
    let mut decided = 0;
    for a in &accepted {
        let ext = if a.bytes.starts_with(b"PK\x03\x04") {
            "xlsx"
        } else {
            "csv"
        };
        let stored_as = format!("{RETURNED_DIR}/{}.{ext}", a.sha256);
        crate::files::write_atomic(&stored.dir.join(&stored_as), &a.bytes)?;
        for (item, verdict, comment) in &a.decisions {
            stored.state.decisions.insert(
                item.clone(),
                Decision {
                    verdict: *verdict,
                    source: Source::Reviewer,
                    reviewer_id: Some(a.reviewer.clone()),
                    decided_at: at_s.clone(),
                    comment: comment.clone(),
                    file_sha256: Some(a.sha256.clone()),
                },
            );
        }
        decided += a.decisions.len();
        stored.state.returned.push(Returned {
            file_name: Path::new(&a.name)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sha256: a.sha256.clone(),
            stored_as,
            reviewer_id: a.reviewer.clone(),
            ingested_at: at_s.clone(),
            rows: a.rows,
            decided: a.decisions.len(),
        });
    }
    if !accepted.is_empty() {
        super::report::render(&stored, templates_dir)?;
        stored.save_state()?;
    }
    let pending = stored
        .campaign
        .items
        .iter()
        .filter(|i| !stored.state.decisions.contains_key(&i.item_id))
        .count();
    Ok(IngestSummary {
        campaign_id: campaign_id.to_string(),
        files: files.len(),
        already_ingested: skipped,
        decided,
        pending,
    })
}

/// The part of ingest that reads: the returned files in, accepted files or every problem
/// out. Writes nothing, so [`validate`] can share it.
fn check(
    stored: &Stored,
    files: &[PathBuf],
) -> std::result::Result<(Vec<Accepted>, usize), Vec<Problem>> {
    let items: HashMap<&str, &Item> = stored
        .campaign
        .items
        .iter()
        .map(|i| (i.item_id.as_str(), i))
        .collect();
    let done: BTreeMap<&str, ()> = stored
        .state
        .returned
        .iter()
        .map(|r| (r.sha256.as_str(), ()))
        .collect();
    let mut problems = Vec::new();
    let mut seen = HashMap::new();
    let mut accepted = Vec::new();
    let mut skipped = 0;
    let mut batch_hashes = std::collections::HashSet::new();
    for path in files {
        let name = path.display().to_string();
        let bytes = match read_packet_file(path) {
            Ok(b) => b,
            Err(message) => {
                problems.push(Problem {
                    file: name,
                    line: None,
                    kind: ProblemKind::Unreadable,
                    message,
                });
                continue;
            }
        };
        let sha = crate::hash::sha256_hex(&bytes);
        if done.contains_key(sha.as_str()) || !batch_hashes.insert(sha) {
            skipped += 1;
            continue;
        }
        if let Some(a) = check_file(stored, &items, &name, bytes, &mut seen, &mut problems) {
            accepted.push(a);
        }
    }
    if problems.is_empty() {
        Ok((accepted, skipped))
    } else {
        Err(problems)
    }
}

/// Checks returned packets against a campaign without recording anything.
pub fn validate(out: &Path, campaign_id: &str, files: &[PathBuf]) -> Result<Vec<Problem>> {
    let stored = Stored::load(out, campaign_id)?;
    Ok(check(&stored, files).err().unwrap_or_default())
}
