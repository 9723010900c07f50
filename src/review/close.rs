//! `review close`: undecided items follow the campaign's `on_no_response`; writes
//! `revocations.csv` (what IAM must remove), `escalations.csv`, the sign-off record
//! `signoff.json`, and the final report. Writing the closed state is the last step, so a
//! close that crashes half-way is simply closed again.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::model::{
    self, Decision, Item, OnNoResponse, Source, Stored, Verdict, CAMPAIGN_FILE, ESCALATIONS_FILE,
    PACKETS_DIR, REVOCATIONS_FILE, SIGNOFF_FILE,
};
use crate::error::{Error, Result};
use crate::files::{sha256_file, write_atomic};
use crate::findings::neutralise;

#[derive(Debug, Default)]
pub struct CloseSummary {
    pub campaign_id: String,
    /// The campaign's directory, where revocations.csv and signoff.json are.
    pub dir: PathBuf,
    pub keep: usize,
    pub revoke: usize,
    pub escalated: usize,
    /// Items settled by on_no_response at this close.
    pub no_response: usize,
    pub already_closed: bool,
}

/// The line `review close` prints.
impl fmt::Display for CloseSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "permaudit review close status={} campaign={} keep={} revoke={} escalated={} no_response={} revocations={} signoff={}",
            if self.already_closed { "already_closed" } else { "ok" },
            self.campaign_id,
            self.keep,
            self.revoke,
            self.escalated,
            self.no_response,
            self.dir.join(REVOCATIONS_FILE).display(),
            self.dir.join(SIGNOFF_FILE).display()
        )
    }
}

pub const REVOCATION_COLUMNS: [&str; 12] = [
    "campaign_id",
    "item_id",
    "grant_id",
    "system_id",
    "account_id",
    "entitlement_id",
    "identity_id",
    "reason",
    "reviewer_id",
    "decided_at",
    "file_sha256",
    "comment",
];

pub fn close(
    out: &Path,
    campaign_id: &str,
    at: DateTime<Utc>,
    templates_dir: Option<&Path>,
) -> Result<CloseSummary> {
    let mut stored = Stored::load(out, campaign_id)?;
    if stored.state.is_closed() {
        let st = super::status::status(&stored, at);
        return Ok(CloseSummary {
            campaign_id: campaign_id.to_string(),
            dir: stored.dir,
            keep: st.keep,
            revoke: st.revoke,
            escalated: st.escalated,
            no_response: 0,
            already_closed: true,
        });
    }
    let at_s = model::fmt_time(at);
    let verdict = match stored.campaign.on_no_response {
        OnNoResponse::Keep => Verdict::Keep,
        OnNoResponse::Revoke => Verdict::Revoke,
        OnNoResponse::Escalate => Verdict::Escalated,
    };
    let mut no_response = 0;
    for item in &stored.campaign.items {
        if !stored.state.decisions.contains_key(&item.item_id) {
            stored.state.decisions.insert(
                item.item_id.clone(),
                Decision {
                    verdict,
                    source: Source::NoResponse,
                    reviewer_id: None,
                    decided_at: at_s.clone(),
                    comment: None,
                    file_sha256: None,
                },
            );
            no_response += 1;
        }
    }
    stored.state.closed_at = Some(at_s);

    let dir = stored.dir.clone();
    write_atomic(
        &dir.join(REVOCATIONS_FILE),
        &decision_csv(&stored, Verdict::Revoke)?,
    )?;
    write_atomic(
        &dir.join(ESCALATIONS_FILE),
        &decision_csv(&stored, Verdict::Escalated)?,
    )?;
    let signoff = signoff(&stored)?;
    model::write_json(&dir.join(SIGNOFF_FILE), &signoff)?;
    super::report::render(&stored, templates_dir)?;
    stored.save_state()?;
    let st = super::status::status(&stored, at);
    Ok(CloseSummary {
        campaign_id: campaign_id.to_string(),
        dir,
        keep: st.keep,
        revoke: st.revoke,
        escalated: st.escalated,
        no_response,
        already_closed: false,
    })
}

/// Items with the given final verdict, in a fixed order (system, account, entitlement,
/// grant), as CSV with neutralised cells. Escalations add whom they go to.
fn decision_csv(s: &Stored, verdict: Verdict) -> Result<Vec<u8>> {
    let mut rows: Vec<(&Item, &Decision)> = s
        .campaign
        .items
        .iter()
        .filter_map(|i| s.state.decisions.get(&i.item_id).map(|d| (i, d)))
        .filter(|(_, d)| d.verdict == verdict)
        .collect();
    rows.sort_by(|(a, _), (b, _)| {
        (&a.system_id, &a.account_id, &a.entitlement_id, &a.grant_id).cmp(&(
            &b.system_id,
            &b.account_id,
            &b.entitlement_id,
            &b.grant_id,
        ))
    });
    let escalation = verdict == Verdict::Escalated;
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::Internal(format!("decision csv: {e}"));
    let mut header: Vec<&str> = REVOCATION_COLUMNS.to_vec();
    if escalation {
        header.push("escalate_to");
    }
    w.write_record(&header).map_err(err)?;
    for (i, d) in rows {
        let reason = match d.source {
            Source::Reviewer => "reviewer",
            Source::NoResponse => "no_response",
        };
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        let mut rec = vec![
            s.campaign.campaign_id.clone(),
            i.item_id.clone(),
            i.grant_id.clone(),
            i.system_id.clone(),
            i.account_id.clone(),
            i.entitlement_id.clone(),
            o(&i.identity_id),
            reason.to_string(),
            o(&d.reviewer_id),
            d.decided_at.clone(),
            o(&d.file_sha256),
            o(&d.comment),
        ];
        if escalation {
            rec.push(o(&i.escalate_to));
        }
        w.write_record(rec.iter().map(|c| neutralise(c).into_owned()))
            .map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::Internal(format!("decision csv: {e}")))
}

#[derive(Debug, Serialize)]
pub struct SignoffPacket {
    pub reviewer_id: String,
    pub reviewer_name: Option<String>,
    pub items: usize,
    pub keep: usize,
    pub revoke: usize,
    pub not_decided: usize,
    pub packet_csv: String,
    pub packet_csv_sha256: String,
    pub packet_xlsx: String,
    pub packet_xlsx_sha256: String,
    /// The returned files, in ingest order: who signed what, when, with which hash.
    pub returned: Vec<model::Returned>,
    /// When the reviewer's last returned packet was ingested.
    pub signed_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Signoff {
    pub campaign_id: String,
    pub jurisdiction: String,
    pub as_of: String,
    pub evaluation_instant: String,
    pub due: String,
    pub on_no_response: &'static str,
    pub closed_at: String,
    pub campaign_sha256: String,
    pub items: usize,
    pub keep: usize,
    pub revoke: usize,
    pub escalated: usize,
    pub decided_by_reviewers: usize,
    pub settled_by_no_response: usize,
    pub unassigned: usize,
    pub reviewers: Vec<SignoffPacket>,
    pub revocations_sha256: String,
    pub escalations_sha256: String,
}

pub fn signoff(s: &Stored) -> Result<Signoff> {
    let st = super::status::status(s, s.state_instant());
    let c = &s.campaign;
    let dir = &s.dir;
    let mut reviewers = Vec::new();
    for (p, r) in c.packets.iter().zip(&st.reviewers) {
        let returned: Vec<model::Returned> = s
            .state
            .returned
            .iter()
            .filter(|x| x.reviewer_id == p.reviewer_id)
            .cloned()
            .collect();
        reviewers.push(SignoffPacket {
            reviewer_id: p.reviewer_id.clone(),
            reviewer_name: p.reviewer_name.clone(),
            items: p.items,
            keep: r.keep,
            revoke: r.revoke,
            not_decided: r.pending,
            packet_csv: format!("{PACKETS_DIR}/{}.csv", p.file_stem),
            packet_csv_sha256: p.csv_sha256.clone(),
            packet_xlsx: format!("{PACKETS_DIR}/{}.xlsx", p.file_stem),
            packet_xlsx_sha256: p.xlsx_sha256.clone(),
            signed_at: returned.last().map(|x| x.ingested_at.clone()),
            returned,
        });
    }
    let settled = s
        .state
        .decisions
        .values()
        .filter(|d| d.source == Source::NoResponse)
        .count();
    Ok(Signoff {
        campaign_id: c.campaign_id.clone(),
        jurisdiction: c.jurisdiction.clone(),
        as_of: c.as_of.to_string(),
        evaluation_instant: c.evaluation_instant.clone(),
        due: c.due.to_string(),
        on_no_response: c.on_no_response.as_str(),
        closed_at: s.state.closed_at.clone().unwrap_or_default(),
        campaign_sha256: sha256_file(&dir.join(CAMPAIGN_FILE))?,
        items: st.items,
        keep: st.keep,
        revoke: st.revoke,
        escalated: st.escalated,
        decided_by_reviewers: st.decided_by_reviewers,
        settled_by_no_response: settled,
        unassigned: st.unassigned,
        reviewers,
        revocations_sha256: sha256_file(&dir.join(REVOCATIONS_FILE))?,
        escalations_sha256: sha256_file(&dir.join(ESCALATIONS_FILE))?,
    })
}
