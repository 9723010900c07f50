//! Access review campaigns on the sample data: reviewer resolution, due dates,
//! packets (CSV and XLSX round trip), every ingest error, status signals, close with each
//! on_no_response, the sign-off hashes, and last-reviewed dates feeding the next campaign.

use crate::common::{self, bin};

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use permaudit::error::ExitCode;
use permaudit::pipeline::Inputs;
use permaudit::review::close::close;
use permaudit::review::ingest::{ingest, validate, ProblemKind};
use permaudit::review::model::{Campaign, ReviewerBasis, State, Stored, Verdict};
use permaudit::review::open::{choose_reviewer, is_due, open, Candidates, OpenOptions};
use permaudit::review::status::status;
use permaudit::review::OnNoResponse;

pub(crate) const AS_OF: &str = "2026-11-24";

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn date(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

/// A copy of the sample input and policy in a temp dir (so tests may add rows).
pub(crate) fn sample_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["input", "policy"] {
        common::copy_dir(&root().join("data/sample").join(sub), &dir.path().join(sub));
    }
    dir
}

pub(crate) fn append(dir: &Path, table: &str, rows: &str) {
    let p = dir.join("input").join(format!("{table}.csv"));
    let mut s = std::fs::read_to_string(&p).expect("read table");
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(rows);
    std::fs::write(&p, s).expect("write table");
}

pub(crate) fn open_in(
    data: &Path,
    out: &Path,
    as_of: &str,
    due: Option<&str>,
    nr: OnNoResponse,
) -> String {
    try_open_in(data, out, as_of, due, nr)
        .expect("open")
        .campaign_id
}

/// `review open` of `data`'s HK systems into `out`, as the library returns it.
pub(crate) fn try_open_in(
    data: &Path,
    out: &Path,
    as_of: &str,
    due: Option<&str>,
    nr: OnNoResponse,
) -> permaudit::error::Result<permaudit::review::open::Opened> {
    let input = data.join("input");
    let policy = data.join("policy");
    open(&OpenOptions {
        inputs: Inputs {
            input_dir: &input,
            policy_dir: &policy,
            naive_tz: None,
            lookback_days: 30,
            sources: Default::default(),
        },
        config_sha256: "test",
        templates_dir: None,
        out,
        jurisdiction: "HK",
        as_of: date(as_of),
        due: due.map(date),
        on_no_response: nr,
    })
}

/// The sample data, opened once per on_no_response into a base directory that tests copy.
fn base(nr: OnNoResponse) -> &'static Path {
    use std::sync::OnceLock;
    static BASES: [OnceLock<tempfile::TempDir>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = nr as usize;
    BASES[i]
        .get_or_init(|| {
            let out = tempfile::tempdir().expect("tempdir");
            open_in(
                &root().join("data/sample"),
                out.path(),
                AS_OF,
                Some("2026-12-20"),
                nr,
            );
            out
        })
        .path()
}

/// A fresh copy of an opened sample campaign: (out dir, campaign id).
pub(crate) fn campaign(nr: OnNoResponse) -> (tempfile::TempDir, String) {
    let out = tempfile::tempdir().expect("tempdir");
    common::copy_dir(base(nr), out.path());
    (out, format!("HK-{AS_OF}"))
}

pub(crate) fn load(out: &Path, id: &str) -> Stored {
    Stored::load(out, id).expect("load")
}

pub(crate) fn packet(out: &Path, id: &str, reviewer: &str, ext: &str) -> PathBuf {
    out.join("reviews")
        .join(id)
        .join("packets")
        .join(format!("{reviewer}.{ext}"))
}

/// Rows of a CSV packet as (header, rows).
pub(crate) fn read_csv(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(p).expect("open csv");
    let h = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|x| x.expect("row").iter().map(String::from).collect())
        .collect();
    (h, rows)
}

pub(crate) fn write_csv(p: &Path, header: &[String], rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(p).expect("create");
    w.write_record(header).expect("header");
    for r in rows {
        w.write_record(r).expect("row");
    }
    w.flush().expect("flush");
}

pub(crate) fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).expect("column")
}

/// Fills a reviewer's CSV packet: `decide(row index, item_id) -> (decision, comment)`.
pub(crate) fn fill_csv(
    out: &Path,
    id: &str,
    reviewer: &str,
    to: &Path,
    decide: impl Fn(usize, &str) -> (&'static str, &'static str),
) -> Vec<String> {
    let (h, mut rows) = read_csv(&packet(out, id, reviewer, "csv"));
    let (d, c, i) = (col(&h, "decision"), col(&h, "comment"), col(&h, "item_id"));
    let mut ids = Vec::new();
    for (n, r) in rows.iter_mut().enumerate() {
        let (dec, com) = decide(n, &r[i]);
        r[d] = dec.to_string();
        r[c] = com.to_string();
        ids.push(r[i].clone());
    }
    write_csv(to, &h, &rows);
    ids
}

/// What a reviewer's spreadsheet program saves: the packet's cells read back with
/// calamine, decisions filled in, written as a new workbook.
fn fill_xlsx(src: &Path, to: &Path, decide: impl Fn(usize) -> &'static str) {
    rewrite_xlsx(src, to, |n, column| {
        (column == "decision").then(|| Cell::Text(decide(n).to_string()))
    });
}

/// A cell a reviewer's spreadsheet program writes.
pub(crate) enum Cell {
    Text(String),
    /// A formula and the value the program cached for it.
    Formula(String, String),
}

/// The packet's cells read back with calamine and written as a new workbook, with
/// `edit(item row index, column)` replacing the cells it returns.
pub(crate) fn rewrite_xlsx(src: &Path, to: &Path, edit: impl Fn(usize, &str) -> Option<Cell>) {
    use calamine::Reader;
    let mut wb = calamine::open_workbook_auto(src).expect("open xlsx");
    let range = wb.worksheet_range("Review").expect("sheet");
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    let mut out = rust_xlsxwriter::Workbook::new();
    let ws = out.add_worksheet();
    ws.set_name("Review").expect("name");
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let cell = if r > 0 {
                edit(r - 1, &rows[0][c])
            } else {
                None
            };
            let (r, c) = (r as u32, c as u16);
            match cell {
                None => ws.write_string(r, c, v),
                Some(Cell::Text(t)) => ws.write_string(r, c, t),
                Some(Cell::Formula(f, cached)) => {
                    ws.write_formula(r, c, rust_xlsxwriter::Formula::new(f).set_result(cached))
                }
            }
            .expect("write");
        }
    }
    out.save(to).expect("save");
}

fn sha(p: &Path) -> String {
    permaudit::hash::sha256_hex(&std::fs::read(p).expect("read"))
}

// ---------------------------------------------------------------- reviewer resolution

#[test]
fn reviewer_is_manager_or_owner_never_self() {
    let all = |_: &str| true;
    let c = Candidates {
        person: Some("P"),
        privileged: false,
        managers: vec!["M", "MM"],
        entitlement_owner: Some("O"),
        system_owner: Some("S"),
    };
    assert_eq!(
        choose_reviewer(&c, all),
        (Some("M".into()), ReviewerBasis::Manager)
    );
    let p = Candidates {
        privileged: true,
        ..c.clone()
    };
    assert_eq!(
        choose_reviewer(&p, all),
        (Some("O".into()), ReviewerBasis::EntitlementOwner)
    );
    let p = Candidates {
        privileged: true,
        entitlement_owner: None,
        ..c.clone()
    };
    assert_eq!(
        choose_reviewer(&p, all),
        (Some("M".into()), ReviewerBasis::Manager)
    );
    // Self-review: the manager is the person -> manager's manager -> owner -> system owner.
    let s = Candidates {
        managers: vec!["P", "MM"],
        ..c.clone()
    };
    assert_eq!(
        choose_reviewer(&s, all),
        (Some("MM".into()), ReviewerBasis::ManagersManager)
    );
    let s = Candidates {
        managers: vec!["P", "P"],
        ..c.clone()
    };
    assert_eq!(
        choose_reviewer(&s, all),
        (Some("O".into()), ReviewerBasis::EntitlementOwner)
    );
    let s = Candidates {
        managers: vec!["P"],
        entitlement_owner: Some("P"),
        ..c.clone()
    };
    assert_eq!(
        choose_reviewer(&s, all),
        (Some("S".into()), ReviewerBasis::SystemOwner)
    );
    // Privileged, the person owns the entitlement: never their own reviewer.
    let s = Candidates {
        privileged: true,
        entitlement_owner: Some("P"),
        ..c.clone()
    };
    assert_eq!(
        choose_reviewer(&s, all),
        (Some("M".into()), ReviewerBasis::Manager)
    );
    // A terminated or unknown candidate is skipped.
    let s = choose_reviewer(&c, |id| id != "M");
    assert_eq!(s, (Some("MM".into()), ReviewerBasis::ManagersManager));
    // Nobody left: unassigned.
    let none = Candidates {
        person: Some("P"),
        privileged: true,
        managers: vec![],
        entitlement_owner: Some("P"),
        system_owner: Some("P"),
    };
    assert_eq!(
        choose_reviewer(&none, all),
        (None, ReviewerBasis::Unassigned)
    );
}

#[test]
fn due_dates_use_both_intervals_strictly() {
    let t = 1_000 * 86_400_000_000i64;
    let day = 86_400_000_000i64;
    assert!(is_due(None, t, 90));
    assert!(
        !is_due(Some(t - 90 * day), t, 90),
        "exactly 90 days is not older"
    );
    assert!(is_due(Some(t - 90 * day - 1), t, 90));
    assert!(!is_due(Some(t - 100 * day), t, 180));
}

/// Sample plus planted identities, a system and grants exercising every fallback end to end.
#[test]
fn fallbacks_and_unassigned_on_planted_data() {
    let data = sample_copy();
    let d = data.path();
    append(
        d,
        "identities",
        "E9001,Self Managed,,ops,clerk,E9001,active,\n\
         E9002,Former Boss,,ops,lead,E1000,terminated,2026-01-01T00:00:00Z\n\
         E9003,Has Former Boss,,ops,clerk,E9002,active,\n\
         E9004,No Manager,,ops,clerk,,active,\n",
    );
    append(d, "systems", "tst-hk,Test,HK,,\ntst2-hk,Test 2,HK,,E1003\n");
    append(
        d,
        "entitlements",
        "tst-hk,t.priv,permission,Priv,high,true,E1001\n\
         tst-hk,t.plain,permission,Plain,low,false,E1002\n\
         tst-hk,t.orphan,permission,No owner,low,false,\n\
         tst2-hk,t2.plain,permission,Plain,low,false,\n",
    );
    append(
        d,
        "accounts",
        "tst-hk,wing,E1001,human,active,\n\
         tst-hk,selfm,E9001,human,active,\n\
         tst-hk,hasformer,E9003,human,active,\n\
         tst-hk,nomgr,E9004,human,active,\n\
         tst2-hk,nomgr,E9004,human,active,\n",
    );
    append(
        d,
        "grants",
        "GT1,tst-hk,wing,t.priv,2026-01-01T00:00:00Z,E1000,E1000,,,\n\
         GT2,tst-hk,selfm,t.plain,2026-01-01T00:00:00Z,E1000,E1000,,,\n\
         GT3,tst-hk,hasformer,t.plain,2026-01-01T00:00:00Z,E1000,E1000,,,\n\
         GT4,tst-hk,nomgr,t.orphan,2026-01-01T00:00:00Z,E1000,E1000,,,\n\
         GT5,tst2-hk,nomgr,t2.plain,2026-01-01T00:00:00Z,E1000,E1000,,,\n",
    );
    let out = tempfile::tempdir().expect("tempdir");
    let id = open_in(d, out.path(), AS_OF, None, OnNoResponse::Revoke);
    let s = load(out.path(), &id);
    let by_grant: BTreeMap<&str, _> = s
        .campaign
        .items
        .iter()
        .map(|i| (i.grant_id.as_str(), i))
        .collect();
    let who = |g: &str| {
        let i = by_grant[g];
        (i.reviewer_id.clone(), i.reviewer_basis)
    };
    // E1001 owns t.priv and holds it: goes to their manager, not to themself.
    assert_eq!(who("GT1"), (Some("E1000".into()), ReviewerBasis::Manager));
    // Own manager: manager's manager is themself too, so the entitlement owner.
    assert_eq!(
        who("GT2"),
        (Some("E1002".into()), ReviewerBasis::EntitlementOwner)
    );
    // Terminated manager skipped: the manager's manager.
    assert_eq!(
        who("GT3"),
        (Some("E1000".into()), ReviewerBasis::ManagersManager)
    );
    // No manager, no owner, no system owner: listed, unassigned, not dropped.
    assert_eq!(who("GT4"), (None, ReviewerBasis::Unassigned));
    // No manager, no owner: the system owner.
    assert_eq!(
        who("GT5"),
        (Some("E1003".into()), ReviewerBasis::SystemOwner)
    );
    for i in &s.campaign.items {
        assert!(
            i.reviewer_id.is_none() || i.reviewer_id != i.identity_id,
            "{i:?}"
        );
    }
    let un = std::fs::read_to_string(out.path().join("reviews").join(&id).join("unassigned.csv"))
        .expect("unassigned.csv");
    assert!(un.contains("GT4"));
    let st = status(&s, at("2026-11-30T00:00:00Z"));
    assert_eq!(st.unassigned, 1);
}

// ---------------------------------------------------------------- open and packets

#[test]
fn sample_campaign_items_packets_and_idempotent_reopen() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let s = load(out.path(), &id);
    let c: &Campaign = &s.campaign;
    assert!(!c.items.is_empty());
    // Items with findings first.
    let first_without = c.items.iter().position(|i| i.findings.is_empty());
    if let Some(n) = first_without {
        assert!(c.items[n..].iter().all(|i| i.findings.is_empty()));
        assert!(n > 0, "the sample has items with findings");
    }
    // Privileged items with an owner go to the owner (unless it is the holder).
    let ents = std::fs::read_to_string(root().join("data/sample/input/entitlements.csv"))
        .expect("entitlements");
    assert!(c
        .items
        .iter()
        .any(|i| i.reviewer_basis == ReviewerBasis::EntitlementOwner && i.privileged));
    assert!(ents.contains("owner_id"));
    for i in &c.items {
        assert_ne!(i.reviewer_id, i.identity_id, "self review: {i:?}");
        assert!(!i.granted_at.is_empty());
    }
    // Every packet has both files, hashed as recorded, with the required columns.
    for p in &c.packets {
        let csv = packet(out.path(), &id, &p.file_stem, "csv");
        let xlsx = packet(out.path(), &id, &p.file_stem, "xlsx");
        assert_eq!(sha(&csv), p.csv_sha256);
        assert_eq!(sha(&xlsx), p.xlsx_sha256);
        let (h, rows) = read_csv(&csv);
        for need in ["item_id", "decision", "comment", "reviewer_id"] {
            assert!(h.iter().any(|x| x == need), "{need}");
        }
        assert_eq!(rows.len(), p.items);
    }
    // Reopening changes nothing and returns the same id.
    let before = std::fs::read(out.path().join("reviews").join(&id).join("campaign.json"))
        .expect("campaign");
    let again = open_in(
        &root().join("data/sample"),
        out.path(),
        AS_OF,
        Some("2026-12-20"),
        OnNoResponse::Revoke,
    );
    assert_eq!(again, id);
    let after = std::fs::read(out.path().join("reviews").join(&id).join("campaign.json"))
        .expect("campaign");
    assert_eq!(before, after);
    // Different terms for an existing campaign are refused.
    let input = root().join("data/sample/input");
    let policy = root().join("data/sample/policy");
    let err = open(&OpenOptions {
        inputs: Inputs {
            input_dir: &input,
            policy_dir: &policy,
            naive_tz: None,
            lookback_days: 30,
            sources: Default::default(),
        },
        config_sha256: "test",
        templates_dir: None,
        out: out.path(),
        jurisdiction: "HK",
        as_of: date(AS_OF),
        due: Some(date("2026-12-20")),
        on_no_response: OnNoResponse::Keep,
    });
    assert!(err.is_err());
}

/// An item's `last_used` is the latest successful use before T of a permission its grant
/// confers, through action_permissions: a failure, a use after T and another account's use
/// do not count.
#[test]
fn item_last_used_is_the_latest_success_before_t_of_the_grants_permissions() {
    let data = sample_copy();
    // G10036: chifai.lau holds pay-hk's payout.view, which payout.search exercises; the
    // sample's latest use is EV0012569, 2026-11-23T15:38:01+08:00.
    append(
        data.path(),
        "audit_events",
        "EVLU00001,2026-11-20T10:00:00Z,pay-hk,chifai.lau,payout.search,success,,,10.0.0.1,HK,,,,\n\
         EVLU00002,2026-11-24T23:00:00Z,pay-hk,chifai.lau,payout.view,success,,,10.0.0.1,HK,,,,\n\
         EVLU00003,2026-11-24T23:30:00Z,pay-hk,chifai.lau,payout.view,failure,,,10.0.0.1,HK,,,,\n\
         EVLU00004,2026-11-25T01:00:00Z,pay-hk,chifai.lau,payout.view,success,,,10.0.0.1,HK,,,,\n\
         EVLU00005,2026-11-24T23:50:00Z,pay-hk,yuen.ho,payout.view,success,,,10.0.0.1,HK,,,,\n",
    );
    let out = tempfile::tempdir().expect("tempdir");
    let id = open_in(
        data.path(),
        out.path(),
        AS_OF,
        Some("2026-12-20"),
        OnNoResponse::Keep,
    );
    let s = load(out.path(), &id);
    let item = |grant: &str| {
        s.campaign
            .items
            .iter()
            .find(|i| i.grant_id == grant)
            .unwrap_or_else(|| panic!("an item for {grant}"))
    };
    assert_eq!(
        item("G10036").last_used.as_deref(),
        Some("2026-11-24T23:00:00Z")
    );
    // Without them, the sample's own.
    let (plain, id) = campaign(OnNoResponse::Keep);
    let s = load(plain.path(), &id);
    let g = s.campaign.items.iter().find(|i| i.grant_id == "G10036");
    assert_eq!(
        g.expect("an item for G10036").last_used.as_deref(),
        Some("2026-11-23T07:38:01Z")
    );
}

#[test]
fn xlsx_packet_is_protected_validated_and_round_trips() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let s = load(out.path(), &id);
    let p = &s.campaign.packets[0];
    let xlsx = packet(out.path(), &id, &p.file_stem, "xlsx");
    // Inside the workbook: sheet protection, the keep/revoke list, unlocked cells.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&xlsx).expect("open")).expect("zip");
    let mut sheet = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .expect("sheet1")
        .read_to_string(&mut sheet)
        .expect("read");
    assert!(sheet.contains("<sheetProtection"), "protected");
    assert!(sheet.contains("type=\"list\""), "data validation");
    assert!(sheet.contains("\"keep,revoke\""), "keep/revoke list");
    let mut styles = String::new();
    zip.by_name("xl/styles.xml")
        .expect("styles")
        .read_to_string(&mut styles)
        .expect("read");
    assert!(styles.contains("locked=\"0\""), "decision/comment unlocked");

    // Fill in (first revoke, rest keep), read back, ingest.
    let filled = out.path().join("filled.xlsx");
    fill_xlsx(&xlsx, &filled, |n| if n == 0 { "revoke" } else { "keep" });
    let sum = ingest(
        out.path(),
        &id,
        std::slice::from_ref(&filled),
        at("2026-11-28T10:00:00Z"),
        None,
    )
    .expect("ingest xlsx");
    assert_eq!(sum.decided, p.items);
    let s = load(out.path(), &id);
    let mine: Vec<_> = s
        .campaign
        .items
        .iter()
        .filter(|i| i.reviewer_id.as_deref() == Some(p.reviewer_id.as_str()))
        .collect();
    assert_eq!(s.state.decisions[&mine[0].item_id].verdict, Verdict::Revoke);
    for i in &mine[1..] {
        let d = &s.state.decisions[&i.item_id];
        assert_eq!(d.verdict, Verdict::Keep);
        assert_eq!(d.reviewer_id.as_deref(), Some(p.reviewer_id.as_str()));
        assert_eq!(d.decided_at, "2026-11-28T10:00:00Z");
        assert_eq!(d.file_sha256.as_deref(), Some(sha(&filled).as_str()));
    }
    // The returned file is kept as evidence under its hash.
    let r = &s.state.returned[0];
    assert_eq!(r.sha256, sha(&filled));
    assert_eq!(sha(&s.dir.join(&r.stored_as)), r.sha256);
}

#[test]
fn formula_injection_is_neutralised_in_both_packet_formats() {
    let data = sample_copy();
    let d = data.path();
    append(
        d,
        "identities",
        "E9100,=HYPERLINK(\"http://x\"),,@evil,+job,E1000,active,\n",
    );
    append(d, "accounts", "pay-hk,=cmd,E9100,human,active,\n");
    append(
        d,
        "grants",
        "GX1,pay-hk,=cmd,payout.view,2026-01-01T00:00:00Z,E1000,E1000,,,\n",
    );
    let out = tempfile::tempdir().expect("tempdir");
    let id = open_in(d, out.path(), AS_OF, None, OnNoResponse::Revoke);
    let csv = std::fs::read_to_string(packet(out.path(), &id, "E1000", "csv")).expect("csv");
    assert!(csv.contains("'=cmd"));
    assert!(csv.contains("'@evil"));
    assert!(csv.contains("'+job"));
    assert!(!csv.contains(",=cmd"));
    use calamine::Reader;
    let mut wb =
        calamine::open_workbook_auto(packet(out.path(), &id, "E1000", "xlsx")).expect("xlsx");
    let range = wb.worksheet_range("Review").expect("sheet");
    let cells: Vec<String> = range.cells().map(|(_, _, c)| c.to_string()).collect();
    assert!(cells.iter().any(|c| c == "'=cmd"));
    assert!(!cells.iter().any(|c| c.starts_with('=')));
    // The neutralised packet is accepted back unchanged.
    let filled = out.path().join("E1000.csv");
    fill_csv(out.path(), &id, "E1000", &filled, |_, _| ("keep", ""));
    ingest(out.path(), &id, &[filled], at("2026-11-28T00:00:00Z"), None).expect("ingest");
}

// ---------------------------------------------------------------- ingest errors

pub(crate) fn kinds(out: &Path, id: &str, files: &[PathBuf]) -> Vec<ProblemKind> {
    validate(out, id, files)
        .expect("validate")
        .into_iter()
        .map(|p| p.kind)
        .collect()
}

/// Edits a copy of a reviewer's CSV packet.
fn edited(
    out: &Path,
    id: &str,
    reviewer: &str,
    name: &str,
    edit: impl Fn(&[String], &mut Vec<Vec<String>>),
) -> PathBuf {
    let (h, mut rows) = read_csv(&packet(out, id, reviewer, "csv"));
    edit(&h, &mut rows);
    let p = out.join(name);
    write_csv(&p, &h, &rows);
    p
}

#[test]
fn ingest_rejects_every_kind_of_bad_row_and_applies_nothing() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    let s = load(o, &id);
    let (a, b) = (
        s.campaign.packets[0].reviewer_id.clone(),
        s.campaign.packets[1].reviewer_id.clone(),
    );
    let state_before = std::fs::read(s.dir.join("state.json")).expect("state");

    let unknown = edited(o, &id, &a, "unknown.csv", |h, rows| {
        rows[0][col(h, "item_id")] = "RI-000000000000".into();
    });
    assert_eq!(
        kinds(o, &id, std::slice::from_ref(&unknown)),
        vec![ProblemKind::UnknownItem]
    );

    let changed = edited(o, &id, &a, "changed.csv", |h, rows| {
        rows[0][col(h, "entitlement_id")] = "something.else".into();
        rows[0][col(h, "decision")] = "keep".into();
    });
    assert_eq!(kinds(o, &id, &[changed]), vec![ProblemKind::ChangedField]);

    let bad = edited(o, &id, &a, "bad.csv", |h, rows| {
        rows[0][col(h, "decision")] = "maybe".into();
    });
    assert_eq!(kinds(o, &id, &[bad]), vec![ProblemKind::BadDecision]);

    // A row of B's packet pasted into A's: A decides an item that is not A's.
    let (_, b_rows) = read_csv(&packet(o, &id, &b, "csv"));
    let foreign = edited(o, &id, &a, "foreign.csv", |h, rows| {
        let mut r = b_rows[0].clone();
        r[col(h, "reviewer_id")] = a.clone();
        r[col(h, "reviewer_name")] = rows[0][col(h, "reviewer_name")].clone();
        r[col(h, "decision")] = "keep".into();
        rows.push(r);
    });
    assert_eq!(kinds(o, &id, &[foreign]), vec![ProblemKind::NotAssigned]);

    let dup = edited(o, &id, &a, "dup.csv", |_, rows| {
        let r = rows[0].clone();
        rows.push(r);
    });
    assert_eq!(kinds(o, &id, &[dup]), vec![ProblemKind::Duplicate]);

    // The same item in two files of one batch (the CSV and the XLSX of one packet).
    let csv_a = o.join("a.csv");
    fill_csv(o, &id, &a, &csv_a, |_, _| ("keep", ""));
    let xlsx_a = o.join("a.xlsx");
    fill_xlsx(&packet(o, &id, &a, "xlsx"), &xlsx_a, |_| "revoke");
    let k = kinds(o, &id, &[csv_a.clone(), xlsx_a]);
    assert!(
        !k.is_empty() && k.iter().all(|k| *k == ProblemKind::Duplicate),
        "{k:?}"
    );

    let mixed = edited(o, &id, &a, "mixed.csv", |h, rows| {
        rows[0][col(h, "reviewer_id")] = b.clone();
    });
    let k = kinds(o, &id, &[mixed]);
    assert!(k.contains(&ProblemKind::MixedReviewers), "{k:?}");

    let nocol = o.join("nocol.csv");
    std::fs::write(&nocol, "item_id,comment\nx,y\n").expect("write");
    assert_eq!(
        kinds(o, &id, &[nocol]),
        vec![ProblemKind::MissingColumn, ProblemKind::MissingColumn]
    );

    let noreviewer = edited(o, &id, &a, "norev.csv", |h, rows| {
        for r in rows.iter_mut() {
            r[col(h, "reviewer_id")] = String::new();
        }
    });
    assert_eq!(kinds(o, &id, &[noreviewer]), vec![ProblemKind::NoReviewer]);

    let garbage = o.join("garbage.xlsx");
    std::fs::write(&garbage, b"PK\x03\x04 not really a zip").expect("write");
    assert_eq!(kinds(o, &id, &[garbage]), vec![ProblemKind::Unreadable]);

    // A good file with a bad one: the batch fails as a whole, nothing recorded.
    let err = ingest(
        o,
        &id,
        &[csv_a.clone(), unknown],
        at("2026-11-28T00:00:00Z"),
        None,
    )
    .expect_err("batch with a bad file");
    let msg = err.to_string();
    assert!(
        msg.contains("unknown item") && msg.contains("nothing ingested"),
        "{msg}"
    );
    assert_eq!(err.exit_code(), ExitCode::BadInput);
    assert_eq!(
        std::fs::read(s.dir.join("state.json")).expect("state"),
        state_before
    );
    assert!(!s.dir.join("returned").exists());

    // The good file alone goes in; ingesting it again is a no-op.
    let first = ingest(
        o,
        &id,
        std::slice::from_ref(&csv_a),
        at("2026-11-28T00:00:00Z"),
        None,
    )
    .expect("ok");
    assert_eq!(first.already_ingested, 0);
    let state1 = std::fs::read(s.dir.join("state.json")).expect("state");
    let again = ingest(o, &id, &[csv_a], at("2026-11-29T00:00:00Z"), None).expect("again");
    assert_eq!(again.already_ingested, 1);
    assert_eq!(again.decided, 0);
    assert_eq!(
        std::fs::read(s.dir.join("state.json")).expect("state"),
        state1
    );
}

// ---------------------------------------------------------------- status

#[test]
fn status_flags_rubber_stamps_and_overdue_items() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    let s = load(o, &id);
    // A large packet, kept in full.
    let big = s
        .campaign
        .packets
        .iter()
        .find(|p| p.items >= permaudit::review::status::RUBBER_STAMP_MIN_ITEMS)
        .expect("a large packet");
    // A reviewer with an item carrying an open critical finding.
    let crit = s
        .campaign
        .items
        .iter()
        .find(|i| i.critical_findings > 0 && i.reviewer_id.as_deref() != Some(&big.reviewer_id))
        .expect("critical item");
    let crit_reviewer = crit.reviewer_id.clone().expect("assigned");
    let f1 = o.join("big.csv");
    fill_csv(o, &id, &big.reviewer_id, &f1, |_, _| ("keep", "fine"));
    let f2 = o.join("crit.csv");
    let crit_id = crit.item_id.clone();
    fill_csv(o, &id, &crit_reviewer, &f2, move |_, item| {
        if item == crit_id {
            ("keep", "needed")
        } else {
            ("", "")
        }
    });
    ingest(o, &id, &[f1, f2], at("2026-11-30T09:00:00Z"), None).expect("ingest");
    let s = load(o, &id);
    let st = status(&s, at("2026-12-01T00:00:00Z"));
    assert!(st
        .signals
        .iter()
        .any(|x| x.kind == "kept_everything" && x.reviewer_id == big.reviewer_id));
    assert!(st
        .signals
        .iter()
        .any(|x| x.kind == "kept_critical" && x.reviewer_id == crit_reviewer));
    let r = st
        .reviewers
        .iter()
        .find(|r| r.reviewer_id == big.reviewer_id)
        .expect("reviewer");
    assert_eq!(r.completion, "100.0");
    assert_eq!(st.overdue, 0, "not overdue before the due date");
    let late = status(&s, at("2026-12-21T00:00:00Z"));
    assert_eq!(late.overdue, late.pending);
    assert!(late.overdue > 0);
}

// ---------------------------------------------------------------- close

fn revocations(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("revocations.csv")).expect("revocations");
    r.deserialize().map(|x| x.expect("row")).collect()
}

#[test]
fn close_with_revoke_keep_and_escalate() {
    for nr in [
        OnNoResponse::Revoke,
        OnNoResponse::Keep,
        OnNoResponse::Escalate,
    ] {
        let (out, id) = campaign(nr);
        let o = out.path();
        let s = load(o, &id);
        let a = s.campaign.packets[0].reviewer_id.clone();
        let f = o.join("a.csv");
        // One explicit revoke, the rest of A's packet kept; every other packet silent.
        let ids = fill_csv(o, &id, &a, &f, |n, _| {
            if n == 0 {
                ("revoke", "left team")
            } else {
                ("keep", "")
            }
        });
        ingest(o, &id, &[f], at("2026-12-01T00:00:00Z"), None).expect("ingest");
        let sum = close(o, &id, at("2026-12-21T12:00:00Z"), None).expect("close");
        let s = load(o, &id);
        let total = s.campaign.items.len();
        let silent = total - ids.len();
        assert_eq!(sum.no_response, silent);
        let rev = revocations(&s.dir);
        let explicit: Vec<_> = rev.iter().filter(|r| r["reason"] == "reviewer").collect();
        assert_eq!(explicit.len(), 1);
        assert_eq!(explicit[0]["item_id"], ids[0]);
        assert_eq!(explicit[0]["comment"], "left team");
        let esc = std::fs::read_to_string(s.dir.join("escalations.csv")).expect("escalations");
        match nr {
            OnNoResponse::Revoke => {
                assert_eq!(rev.len(), 1 + silent);
                assert_eq!(sum.revoke, 1 + silent);
            }
            OnNoResponse::Keep => {
                assert_eq!(rev.len(), 1);
                assert_eq!(sum.keep, total - 1);
            }
            OnNoResponse::Escalate => {
                assert_eq!(rev.len(), 1);
                assert_eq!(sum.escalated, silent);
                assert_eq!(esc.lines().count(), 1 + silent);
                assert!(esc.lines().next().expect("header").ends_with("escalate_to"));
            }
        }
        // Closed: nothing more goes in; closing again changes nothing.
        let signoff_before = std::fs::read(s.dir.join("signoff.json")).expect("signoff");
        let again = close(o, &id, at("2026-12-22T00:00:00Z"), None).expect("close again");
        assert!(again.already_closed);
        assert_eq!(
            std::fs::read(s.dir.join("signoff.json")).expect("signoff"),
            signoff_before
        );
        let f2 = o.join("late.csv");
        fill_csv(o, &id, &s.campaign.packets[1].reviewer_id, &f2, |_, _| {
            ("keep", "")
        });
        assert!(ingest(o, &id, &[f2], at("2026-12-23T00:00:00Z"), None).is_err());
    }
}

#[test]
fn signoff_records_hashes_of_every_packet_and_file() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    let s = load(o, &id);
    let a = s.campaign.packets[0].reviewer_id.clone();
    let f = o.join("a.csv");
    fill_csv(o, &id, &a, &f, |_, _| ("keep", ""));
    ingest(
        o,
        &id,
        std::slice::from_ref(&f),
        at("2026-12-01T08:00:00Z"),
        None,
    )
    .expect("ingest");
    close(o, &id, at("2026-12-21T00:00:00Z"), None).expect("close");
    let dir = s.dir.clone();
    let so: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("signoff.json")).expect("signoff"))
            .expect("json");
    assert_eq!(so["campaign_sha256"], sha(&dir.join("campaign.json")));
    assert_eq!(so["revocations_sha256"], sha(&dir.join("revocations.csv")));
    assert_eq!(so["escalations_sha256"], sha(&dir.join("escalations.csv")));
    assert_eq!(so["closed_at"], "2026-12-21T00:00:00Z");
    let reviewers = so["reviewers"].as_array().expect("reviewers");
    assert_eq!(reviewers.len(), s.campaign.packets.len());
    for r in reviewers {
        let csv = dir.join(r["packet_csv"].as_str().expect("path"));
        let xlsx = dir.join(r["packet_xlsx"].as_str().expect("path"));
        assert_eq!(r["packet_csv_sha256"], sha(&csv));
        assert_eq!(r["packet_xlsx_sha256"], sha(&xlsx));
    }
    let ra = reviewers
        .iter()
        .find(|r| r["reviewer_id"] == a.as_str())
        .expect("A");
    assert_eq!(ra["returned"][0]["sha256"], sha(&f));
    assert_eq!(ra["signed_at"], "2026-12-01T08:00:00Z");
    // The report shows the evidence, and renders the same from the same state.
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    assert!(md.contains(&sha(&f)));
    let html = std::fs::read(dir.join("report.html")).expect("report.html");
    permaudit::review::report::render(&load(o, &id), None).expect("render");
    assert_eq!(
        std::fs::read(dir.join("report.html")).expect("report.html"),
        html
    );
}

// ---------------------------------------------------------------- next campaign

#[test]
fn closed_campaign_feeds_last_reviewed_of_the_next() {
    let (out, id) = campaign(OnNoResponse::Keep);
    let o = out.path();
    let s = load(o, &id);
    // Every reviewer keeps everything on 2026-11-26.
    let mut files = Vec::new();
    for p in &s.campaign.packets {
        let f = o.join(format!("{}.csv", p.file_stem));
        fill_csv(o, &id, &p.reviewer_id, &f, |_, _| ("keep", ""));
        files.push(f);
    }
    ingest(o, &id, &files, at("2026-11-26T10:00:00Z"), None).expect("ingest");
    // An open (not closed) campaign does not count as a review yet.
    let sample = root().join("data/sample");
    let early = open_in(&sample, o, "2026-12-31", None, OnNoResponse::Revoke);
    assert_eq!(load(o, &early).campaign.items.len(), s.campaign.items.len());
    close(o, &id, at("2026-12-01T00:00:00Z"), None).expect("close");

    let total = s.campaign.items.len();
    let privileged = s.campaign.items.iter().filter(|i| i.privileged).count();
    assert!(privileged > 0 && privileged < total);
    // 2027-01-31: within 90 days of the review, nothing is due.
    let next = open_in(&sample, o, "2027-01-31", None, OnNoResponse::Revoke);
    let n = load(o, &next);
    assert_eq!(n.campaign.items.len(), 0);
    assert_eq!(n.campaign.not_due, total);
    // 2027-03-31: past 90 days but within 180: only privileged grants are due again, and
    // they show when they were last reviewed.
    let later = open_in(&sample, o, "2027-03-31", None, OnNoResponse::Revoke);
    let l = load(o, &later);
    assert_eq!(l.campaign.items.len(), privileged);
    assert!(l.campaign.items.iter().all(|i| i.privileged));
    assert!(l
        .campaign
        .items
        .iter()
        .all(|i| i.last_reviewed.as_deref() == Some("2026-11-26T10:00:00Z")));
}

// ---------------------------------------------------------------- end to end (CLI)

fn run_ok(args: &[&str]) -> String {
    let o = bin().args(args).output().expect("run");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf8")
}

#[test]
fn full_campaign_through_the_cli() {
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().to_str().expect("path");
    let cfg = root().join("permaudit.toml");
    let cfg = cfg.to_str().expect("cfg");
    let stdout = run_ok(&[
        "review",
        "open",
        "--config",
        cfg,
        "--out",
        o,
        "--jurisdiction",
        "HK",
        "--due",
        "2026-12-20",
        "--on-no-response",
        "revoke",
    ]);
    let id = stdout.lines().last().expect("id").to_string();
    assert_eq!(id, "HK-2026-11-24");
    let s = load(out.path(), &id);
    let (a, b) = (&s.campaign.packets[0], &s.campaign.packets[1]);
    let fa = out.path().join("returned-a.csv");
    fill_csv(out.path(), &id, &a.reviewer_id, &fa, |n, _| {
        if n == 0 {
            ("revoke", "=not needed")
        } else {
            ("keep", "")
        }
    });
    let fb = out.path().join("returned-b.xlsx");
    fill_xlsx(&packet(out.path(), &id, &b.file_stem, "xlsx"), &fb, |_| {
        "keep"
    });
    let ing = run_ok(&[
        "review",
        "ingest",
        "--config",
        cfg,
        "--out",
        o,
        "--campaign",
        &id,
        "--at",
        "2026-12-01T09:00:00+08:00",
        fa.to_str().expect("p"),
        fb.to_str().expect("p"),
    ]);
    assert!(
        ing.contains(&format!("decided={}", a.items + b.items)),
        "{ing}"
    );
    let st = run_ok(&[
        "review",
        "status",
        "--config",
        cfg,
        "--out",
        o,
        "--campaign",
        &id,
        "--at",
        "2026-12-02T00:00:00Z",
    ]);
    assert!(
        st.contains(&format!("reviewer={} assigned={}", a.reviewer_id, a.items)),
        "{st}"
    );
    let cl = run_ok(&[
        "review",
        "close",
        "--config",
        cfg,
        "--out",
        o,
        "--campaign",
        &id,
        "--at",
        "2026-12-21T00:00:00Z",
    ]);
    assert!(cl.contains("status=ok"), "{cl}");
    let dir = out.path().join("reviews").join(&id);
    for f in [
        "revocations.csv",
        "signoff.json",
        "report.html",
        "report.md",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let rev = std::fs::read_to_string(dir.join("revocations.csv")).expect("revocations");
    // The reviewer's comment is data, neutralised in the CSV.
    assert!(rev.contains("'=not needed"));
    let st: State = serde_json::from_slice(&std::fs::read(dir.join("state.json")).expect("state"))
        .expect("state");
    assert!(st.is_closed());
    let d = st
        .decisions
        .values()
        .find(|d| d.reviewer_id.as_deref() == Some(a.reviewer_id.as_str()))
        .expect("decision");
    assert_eq!(d.decided_at, "2026-12-01T01:00:00Z");
    // The nightly compliance report of the campaign's jurisdiction shows it, and its
    // manifest hashes the review state the report read.
    run_ok(&["run", "--config", cfg, "--out", o]);
    let day = out.path().join("2026-11-24");
    let md = std::fs::read_to_string(day.join("HK/report.md")).expect("report.md");
    assert!(md.contains("## 8. Access reviews"), "{md}");
    assert!(md.contains(&format!("`{id}`")), "{md}");
    assert!(md.contains("closed 2026-12-21T00:00:00Z"), "{md}");
    let html = std::fs::read_to_string(day.join("HK/report.html")).expect("report.html");
    assert!(html.contains("id=\"access-reviews\""));
    let sg = std::fs::read_to_string(day.join("SG/report.md")).expect("SG report.md");
    assert!(
        sg.contains("No access-review campaign has been opened"),
        "{sg}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(day.join("manifest.json")).expect("manifest"))
            .expect("json");
    let state_sha = sha(&dir.join("state.json"));
    let listed = manifest["review_state"].as_array().expect("review_state");
    assert!(listed
        .iter()
        .any(|f| f["path"] == format!("reviews/{id}/state.json")
            && f["sha256"] == state_sha.as_str()));
    // Bad input is exit code 2 with a clear message.
    let bad = bin()
        .args([
            "review",
            "ingest",
            "--config",
            cfg,
            "--out",
            o,
            "--campaign",
            "../x",
        ])
        .arg(fa.to_str().expect("p"))
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn compliance_report_summary_names_the_latest_campaign_and_overdue_items() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    use permaudit::review::status::latest_summary;
    assert!(latest_summary(o, "HK", date("2026-11-23"))
        .expect("summary")
        .is_none());
    assert!(latest_summary(o, "SG", date("2026-12-31"))
        .expect("summary")
        .is_none());
    let on_time = latest_summary(o, "HK", date("2026-12-01"))
        .expect("summary")
        .expect("some");
    assert_eq!(on_time.campaign_id, id);
    assert_eq!(on_time.overdue, 0);
    let late = latest_summary(o, "HK", date("2026-12-21"))
        .expect("summary")
        .expect("some");
    assert_eq!(late.overdue, late.items);
    assert_eq!(late.overdue_items.len(), late.overdue);
    assert_eq!(late.state_files.len(), 2);
    // Decided items are no longer overdue.
    let s = load(o, &id);
    let p = &s.campaign.packets[0];
    let f = o.join("returned.csv");
    fill_csv(o, &id, &p.reviewer_id, &f, |_, _| ("keep", ""));
    ingest(o, &id, &[f], at("2026-12-10T09:00:00Z"), None).expect("ingest");
    let late = latest_summary(o, "HK", date("2026-12-21"))
        .expect("summary")
        .expect("some");
    assert_eq!(late.overdue, late.items - p.items);
    assert!(late
        .overdue_items
        .iter()
        .all(|i| i.reviewer_id.as_deref() != Some(p.reviewer_id.as_str())));
}
