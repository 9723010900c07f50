//! REVOCATION_NOT_APPLIED: the rule's boundaries on revocations given as data, the reading
//! of closed campaigns' `revocations.csv` from OUT, and a run in an OUT holding a closed
//! campaign (including a rerun of an earlier date giving the same bytes).

use std::collections::BTreeMap;

use permaudit::resolve::{Remediation, RevocationDecision};
use permaudit::review::close::close;
use permaudit::review::remediation::revocations;
use permaudit::review::OnNoResponse;
use permaudit::time::evaluation_instant;

use crate::common::*;
use crate::review::{at, campaign, open_in};

const RULE: &str = "REVOCATION_NOT_APPLIED";

const IDS: &str = "identity_id,status\nalice,active\nrev,active\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,a1,alice,active\n\
pay-hk,a-off,alice,disabled\n\
pay-uk,a1,alice,active\n";

const ENTS: &str = "system_id,entitlement_id,kind,privileged\n\
pay-hk,p.view,permission,false\n\
pay-uk,p.view,permission,false\n";

const GRANTS: &str =
    "grant_id,system_id,account_id,entitlement_id,granted_at,granted_by,approved_by,expires_at,revoked_at,ticket\n\
g-over,pay-hk,a1,p.view,2026-01-01T00:00:00Z,,,,,\n\
g-just,pay-hk,a1,p.view,2026-01-01T00:00:00Z,,,,,\n\
g-at,pay-hk,a1,p.view,2026-01-01T00:00:00Z,,,,,\n\
g-twice,pay-hk,a1,p.view,2026-01-01T00:00:00Z,,,,,\n\
g-applied,pay-hk,a1,p.view,2026-01-01T00:00:00Z,,,,2026-11-20T00:00:00Z,\n\
g-disabled,pay-hk,a-off,p.view,2026-01-01T00:00:00Z,,,,,\n\
g-not-closed,pay-hk,a1,p.view,2026-01-01T00:00:00Z,,,,,\n\
g-uk,pay-uk,a1,p.view,2026-01-01T00:00:00Z,,,,,\n";

// UK allows 30 days: the same close as g-over is not overdue there.
const JURISDICTIONS: &str = r#"
[[jurisdiction]]
code = "HK"
name = "Hong Kong"
timezone = "Asia/Hong_Kong"

[[jurisdiction]]
code = "UK"
name = "United Kingdom"
timezone = "Europe/London"
revocation_sla_days = 30
"#;

fn micros(s: &str) -> i64 {
    at(s).timestamp_micros()
}

fn decision(campaign: &str, grant: &str, system: &str, closed: &str) -> RevocationDecision {
    RevocationDecision {
        campaign_id: campaign.into(),
        item_id: format!("{campaign}/{grant}"),
        grant_id: grant.into(),
        system_id: system.into(),
        reviewer_id: Some("rev".into()),
        decided_at: micros("2026-11-01T09:00:00Z"),
        closed_at: micros(closed),
    }
}

// as_of 2026-11-24: T = 2026-11-25T00:00Z; 14 days before T is 2026-11-11T00:00Z.
fn found() -> BTreeMap<String, BTreeMap<String, String>> {
    let f = Fixture::new()
        .policy("jurisdictions", JURISDICTIONS)
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTS)
        .table("grants", GRANTS);
    let remediation = Remediation {
        revocations: vec![
            decision("C1", "g-over", "pay-hk", "2026-11-10T00:00:00Z"),
            decision("C1", "g-just", "pay-hk", "2026-11-10T23:59:59Z"),
            decision("C1", "g-at", "pay-hk", "2026-11-11T00:00:00Z"),
            decision("C2", "g-twice", "pay-hk", "2026-11-05T00:00:00Z"),
            decision("C1", "g-twice", "pay-hk", "2026-11-01T00:00:00Z"),
            decision("C1", "g-applied", "pay-hk", "2026-11-01T00:00:00Z"),
            decision("C1", "g-disabled", "pay-hk", "2026-11-01T00:00:00Z"),
            // Closed at or after T: not a decision this date knows of.
            decision("C3", "g-not-closed", "pay-hk", "2026-11-25T00:00:00Z"),
            decision("C1", "g-uk", "pay-uk", "2026-11-10T00:00:00Z"),
            // A revocation of a grant that does not exist (or not on that system).
            decision("C1", "g-over", "pay-uk", "2026-11-01T00:00:00Z"),
        ],
        freeze_lists: vec![],
    };
    let a = f
        .analyze_remediated("2026-11-24", remediation)
        .expect("analysis");
    rows(&a.findings, RULE)
        .into_iter()
        .map(|r| (r["grant_id"].clone(), r))
        .collect()
}

#[test]
fn active_grants_past_the_revocation_deadline() {
    let found = found();
    // Exactly N days after the close is not past the deadline; applied revocations, later
    // closes and a longer SLA are not findings; a disabled account's grant is.
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec!["g-disabled", "g-just", "g-over", "g-twice"]
    );
    let g = &found["g-over"];
    assert_eq!(g["severity"], "high");
    assert_eq!(g["jurisdiction"], "HK");
    assert_eq!(g["system_id"], "pay-hk");
    assert_eq!(g["account_id"], "a1");
    assert_eq!(g["identity_id"], "alice");
    let d = detail(g);
    assert_eq!(d["campaign_id"], "C1");
    assert_eq!(d["item_id"], "C1/g-over");
    assert_eq!(d["reviewer_id"], "rev");
    assert_eq!(d["decided_at"], "2026-11-01T09:00:00Z");
    assert_eq!(d["closed_at"], "2026-11-10T00:00:00Z");
    assert_eq!(d["revocation_sla_days"], 14);
    assert_eq!(d["days_overdue"], 1);
    assert_eq!(detail(&found["g-just"])["days_overdue"], 0);
    // Revoked by two campaigns: one finding, overdue since the earliest close.
    let t = detail(&found["g-twice"]);
    assert_eq!(t["campaign_id"], "C1");
    assert_eq!(t["closed_at"], "2026-11-01T00:00:00Z");
    assert_eq!(t["days_overdue"], 10);
}

/// The revocations of `HK-2026-11-24`, every item undecided and revoked on close.
fn closed_campaign(closed: &str) -> (tempfile::TempDir, String) {
    let (out, id) = campaign(OnNoResponse::Revoke);
    close(out.path(), &id, at(closed), None).expect("close");
    (out, id)
}

#[test]
fn only_campaigns_closed_before_t_count() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    let t = evaluation_instant(date("2026-12-31"));
    // Open, not yet closed: nothing decided yet.
    assert!(revocations(o, t).expect("read").is_empty());
    close(o, &id, at("2026-11-25T00:00:00Z"), None).expect("close");
    let rows = revocations(o, t).expect("read");
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.campaign_id == id
        && r.closed_at == micros("2026-11-25T00:00:00Z")
        && r.reviewer_id.is_none()));
    // A date whose T is the close itself does not see it.
    assert!(revocations(o, micros("2026-11-25T00:00:00Z"))
        .expect("read")
        .is_empty());
}

#[test]
fn a_row_edited_into_nonsense_is_left_out_and_the_others_count() {
    let (out, id) = closed_campaign("2026-11-25T00:00:00Z");
    let o = out.path();
    let t = evaluation_instant(date("2026-12-31"));
    let all = revocations(o, t).expect("read");
    let path = o.join("reviews").join(&id).join("revocations.csv");
    let text = std::fs::read_to_string(&path).expect("read");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // The first row's decided_at (column 10) is no timestamp any more.
    let mut cells: Vec<String> = lines[1].split(',').map(String::from).collect();
    cells[9] = "yesterday".into();
    lines[1] = cells.join(",");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    assert_eq!(revocations(o, t).expect("read").len(), all.len() - 1);
    // A file that is gone: the campaign is left out, the run goes on.
    std::fs::remove_file(&path).expect("remove");
    assert!(revocations(o, t).expect("read").is_empty());
}

#[test]
fn a_run_reads_the_closed_campaign_and_a_rerun_gives_the_same_bytes() {
    let (dir, cfg) = sample_copy("");
    let out = dir.path().join("out");
    let id = open_in(
        dir.path(),
        &out,
        "2026-11-24",
        Some("2026-12-20"),
        OnNoResponse::Revoke,
    );
    close(&out, &id, at("2026-11-25T00:00:00Z"), None).expect("close");
    let run = |as_of: &str| {
        let o = run_in(dir.path(), &cfg, &["--as-of", as_of]);
        assert!(
            o.status.code() == Some(0) || o.status.code() == Some(1),
            "{as_of}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let findings = |as_of: &str| {
        let p = out.join(as_of).join("findings.csv");
        let mut r = csv::Reader::from_path(p).expect("findings");
        r.deserialize::<BTreeMap<String, String>>()
            .map(|x| x.expect("row"))
            .filter(|r| r["rule"] == RULE)
            .collect::<Vec<_>>()
    };
    // T of 2026-12-08 is the close plus exactly 14 days: not yet overdue.
    run("2026-12-08");
    assert!(findings("2026-12-08").is_empty());
    let before = files(&out.join("2026-12-08"));
    run("2026-12-09");
    let late = findings("2026-12-09");
    assert!(!late.is_empty());
    for f in &late {
        let d: serde_json::Value = serde_json::from_str(&f["detail"]).expect("detail");
        assert_eq!(d["campaign_id"], id.as_str());
        // T is 2026-12-10T00:00Z, a whole day past the deadline.
        assert_eq!(d["days_overdue"], 1);
        assert_eq!(f["jurisdiction"], "HK");
    }
    // The rerun of the earlier date, with a later run in OUT, gives the same bytes.
    run("2026-12-08");
    assert_eq!(files(&out.join("2026-12-08")), before);
}
