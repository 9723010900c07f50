//! The campaign report (HTML and Markdown, from the embedded, overridable templates
//! `review.html.j2` / `review.md.j2`): completion, decisions, revocations and sign-off
//! evidence. Rendered after every state change, from the state alone (no clock), so the
//! same state always renders the same bytes.

use std::path::Path;

use serde::Serialize;

use super::model::{self, Item, Source, Stored, Verdict};
use super::status::{status, Status};
use crate::error::Result;
use crate::files::write_atomic;
use crate::report::Renderer;

pub const HTML: &str = "report.html";
pub const MD: &str = "report.md";

#[derive(Serialize)]
struct DecisionRow<'a> {
    item: &'a Item,
    verdict: &'static str,
    reason: &'static str,
    reviewer_id: Option<&'a str>,
    decided_at: &'a str,
    comment: Option<&'a str>,
}

#[derive(Serialize)]
struct PacketRow<'a> {
    reviewer_id: &'a str,
    reviewer_name: Option<&'a str>,
    items: usize,
    csv: String,
    csv_sha256: &'a str,
    xlsx: String,
    xlsx_sha256: &'a str,
    returned: Vec<&'a model::Returned>,
}

#[derive(Serialize)]
struct Context<'a> {
    campaign_id: &'a str,
    jurisdiction: &'a str,
    jurisdiction_name: &'a str,
    as_of: String,
    evaluation_instant: &'a str,
    due: String,
    on_no_response: &'static str,
    review_interval_days: i64,
    privileged_review_interval_days: i64,
    not_due: usize,
    closed: bool,
    closed_at: Option<&'a str>,
    campaign_sha256: String,
    tool_version: &'static str,
    status: Status,
    revocations: Vec<DecisionRow<'a>>,
    escalations: Vec<DecisionRow<'a>>,
    kept_with_findings: Vec<DecisionRow<'a>>,
    unassigned: Vec<&'a Item>,
    packets: Vec<PacketRow<'a>>,
}

fn rows<'a>(s: &'a Stored, keep: impl Fn(&Item, Verdict) -> bool) -> Vec<DecisionRow<'a>> {
    s.campaign
        .items
        .iter()
        .filter_map(|i| s.state.decisions.get(&i.item_id).map(|d| (i, d)))
        .filter(|(i, d)| keep(i, d.verdict))
        .map(|(i, d)| DecisionRow {
            item: i,
            verdict: d.verdict.as_str(),
            reason: match d.source {
                Source::Reviewer => "reviewer",
                Source::NoResponse => "no response",
            },
            reviewer_id: d.reviewer_id.as_deref(),
            decided_at: &d.decided_at,
            comment: d.comment.as_deref(),
        })
        .collect()
}

pub fn render(s: &Stored, templates_dir: Option<&Path>) -> Result<()> {
    let c = &s.campaign;
    let ctx = Context {
        campaign_id: &c.campaign_id,
        jurisdiction: &c.jurisdiction,
        jurisdiction_name: &c.jurisdiction_name,
        as_of: c.as_of.to_string(),
        evaluation_instant: &c.evaluation_instant,
        due: c.due.to_string(),
        on_no_response: c.on_no_response.as_str(),
        review_interval_days: c.review_interval_days,
        privileged_review_interval_days: c.privileged_review_interval_days,
        not_due: c.not_due,
        closed: s.state.is_closed(),
        closed_at: s.state.closed_at.as_deref(),
        campaign_sha256: crate::hash::sha256_hex(&model::json_bytes(c)?),
        tool_version: env!("CARGO_PKG_VERSION"),
        status: status(s, s.state_instant()),
        revocations: rows(s, |_, v| v == Verdict::Revoke),
        escalations: rows(s, |_, v| v == Verdict::Escalated),
        kept_with_findings: rows(s, |i, v| v == Verdict::Keep && !i.findings.is_empty()),
        unassigned: c.items.iter().filter(|i| i.reviewer_id.is_none()).collect(),
        packets: c
            .packets
            .iter()
            .map(|p| PacketRow {
                reviewer_id: &p.reviewer_id,
                reviewer_name: p.reviewer_name.as_deref(),
                items: p.items,
                csv: format!("{}/{}.csv", model::PACKETS_DIR, p.file_stem),
                csv_sha256: &p.csv_sha256,
                xlsx: format!("{}/{}.xlsx", model::PACKETS_DIR, p.file_stem),
                xlsx_sha256: &p.xlsx_sha256,
                returned: s
                    .state
                    .returned
                    .iter()
                    .filter(|r| r.reviewer_id == p.reviewer_id)
                    .collect(),
            })
            .collect(),
    };
    let renderer = Renderer::new(templates_dir)?;
    write_atomic(
        &s.dir.join(HTML),
        renderer.render("review.html.j2", &ctx)?.as_bytes(),
    )?;
    write_atomic(
        &s.dir.join(MD),
        renderer.render("review.md.j2", &ctx)?.as_bytes(),
    )?;
    Ok(())
}
