//! Written as the attacks: returned packets with formulas, odd
//! packet paths (missing, FIFO, device, directory), and campaigns over identities who have
//! left or whose managers form a cycle.

use crate::common::bin;
use crate::review::{
    append, at, campaign, col, fill_csv, load, open_in, packet, read_csv, rewrite_xlsx,
    sample_copy, try_open_in, write_csv, Cell,
};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use permaudit::error::ExitCode;
use permaudit::review::ingest::ingest;
use permaudit::review::model::{ReviewerBasis, PACKET_COLUMNS};
use permaudit::review::open::{choose_reviewer, management_line, Candidates};
use permaudit::review::packets::cell_name;
use permaudit::review::OnNoResponse;

/// `permaudit review ingest` of `files` into campaign `id` in `out`, killed if it has not
/// finished within a minute (a packet must never block the command under the lock).
fn ingest_cli(out: &Path, id: &str, files: &[&Path]) -> (Option<i32>, String) {
    let cfg = crate::review::root().join("permaudit.toml");
    let mut child = bin()
        .args(["review", "ingest", "--config"])
        .arg(&cfg)
        .arg("--out")
        .arg(out)
        .args(["--campaign", id, "--at", "2026-11-28T00:00:00Z"])
        .args(files)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().expect("kill");
            let _ = child.wait();
            panic!("review ingest {files:?} still running after 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().expect("output");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The final error report: the lines from `permaudit: error:` on.
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .skip_while(|l| !l.starts_with("permaudit: error: "))
        .collect()
}

/// The campaign's state and returned files, to show that a refused batch wrote nothing.
fn state_of(out: &Path, id: &str) -> (Vec<u8>, bool) {
    let dir = out.join("reviews").join(id);
    (
        std::fs::read(dir.join("state.json")).expect("state"),
        dir.join("returned").exists(),
    )
}

/// The first reviewer's XLSX packet, rewritten with `edit` on the first item row.
fn xlsx_with(out: &Path, id: &str, name: &str, edit: impl Fn(&str) -> Option<Cell>) -> PathBuf {
    let s = load(out, id);
    let stem = &s.campaign.packets[0].file_stem;
    let to = out.join(name);
    rewrite_xlsx(&packet(out, id, stem, "xlsx"), &to, |n, column| {
        if n == 0 {
            edit(column)
        } else {
            None
        }
    });
    to
}

/// `A1` name of the first item row's cell in a packet column, computed independently of
/// the code under test (every packet column is within A..Z).
fn first_row_cell(column: &str) -> String {
    let c = PACKET_COLUMNS
        .iter()
        .position(|x| *x == column)
        .expect("column");
    assert!(c < 26);
    format!("{}2", char::from(b'A' + c as u8))
}

// ---------------------------------------------------------------- formulas

#[test]
fn xlsx_formula_decision_with_a_cached_revoke_is_refused_naming_the_cell() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    let before = state_of(o, &id);
    let f = xlsx_with(o, &id, "formula-decision.xlsx", |c| {
        (c == "decision").then(|| Cell::Formula("=\"revoke\"".into(), "revoke".into()))
    });
    let (code, stderr) = ingest_cli(o, &id, &[&f]);
    assert_eq!(code, Some(2), "{stderr}");
    let cell = first_row_cell("decision");
    assert_eq!(
        error_lines(&stderr),
        vec![
            "permaudit: error: review ingest: 1 problem in the returned packets; nothing ingested:"
                .to_string(),
            format!(
                "  {}:2: formula: sheet \"Review\", cell {cell} (decision) holds the formula \
                 \"=\\\"revoke\\\"\"; type the value instead",
                f.display()
            ),
        ]
    );
    assert_eq!(state_of(o, &id), before, "nothing ingested");
}

#[test]
fn xlsx_formula_decision_without_a_cached_value_is_refused() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    let f = xlsx_with(o, &id, "formula-nocache.xlsx", |c| {
        (c == "decision").then(|| Cell::Formula("=IF(TRUE,\"revoke\",\"keep\")".into(), "".into()))
    });
    let err = ingest(o, &id, &[f], at("2026-11-28T00:00:00Z"), None).expect_err("refused");
    assert_eq!(err.exit_code(), ExitCode::BadInput);
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("cell {} (decision)", first_row_cell("decision"))),
        "{msg}"
    );
    assert!(load(o, &id).state.decisions.is_empty());
}

#[test]
fn xlsx_formula_comment_is_refused_naming_the_cell() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    let before = state_of(o, &id);
    let f = xlsx_with(o, &id, "formula-comment.xlsx", |c| match c {
        "decision" => Some(Cell::Text("keep".into())),
        "comment" => Some(Cell::Formula("=A1&B1".into(), "RI-x".into())),
        _ => None,
    });
    let (code, stderr) = ingest_cli(o, &id, &[&f]);
    assert_eq!(code, Some(2), "{stderr}");
    let lines = error_lines(&stderr);
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[1].ends_with(&format!(
            ":2: formula: sheet \"Review\", cell {} (comment) holds the formula \"=A1&B1\"; \
             type the value instead",
            first_row_cell("comment")
        )),
        "{stderr}"
    );
    assert_eq!(state_of(o, &id), before, "nothing ingested");
}

#[test]
fn csv_formula_like_decision_is_invalid_and_a_formula_like_comment_is_text() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    let s = load(o, &id);
    let reviewer = s.campaign.packets[0].reviewer_id.clone();
    let bad = o.join("bad.csv");
    let ids = fill_csv(o, &id, &reviewer, &bad, |n, _| {
        if n == 0 {
            ("=1+1", "")
        } else {
            ("", "")
        }
    });
    let (code, stderr) = ingest_cli(o, &id, &[&bad]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(
        error_lines(&stderr),
        vec![
            "permaudit: error: review ingest: 1 problem in the returned packets; nothing ingested:"
                .to_string(),
            format!(
                "  {}:2: invalid decision: item {}: decision \"=1+1\" looks like a spreadsheet \
                 formula, not keep, revoke or empty (undecided)",
                bad.display(),
                ids[0]
            ),
        ]
    );
    // A comment in a CSV is what the reviewer typed (CSV has no formulas): kept as text.
    let good = o.join("good.csv");
    fill_csv(o, &id, &reviewer, &good, |n, _| {
        if n == 0 {
            ("revoke", "=HYPERLINK(\"http://x\")")
        } else {
            ("", "")
        }
    });
    ingest(o, &id, &[good], at("2026-11-28T00:00:00Z"), None).expect("ingest");
    let d = &load(o, &id).state.decisions[&ids[0]];
    assert_eq!(d.comment.as_deref(), Some("=HYPERLINK(\"http://x\")"));
}

#[test]
fn every_problem_message_is_plain_english_naming_file_and_row() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    let s = load(o, &id);
    let p = s
        .campaign
        .packets
        .iter()
        .find(|p| p.items >= 2)
        .expect("a packet of two items");
    let (h, mut rows) = read_csv(&packet(o, &id, &p.file_stem, "csv"));
    rows[0][col(&h, "item_id")] = "RI-000000000000".into();
    rows[1][col(&h, "decision")] = "maybe".into();
    let two = o.join("two.csv");
    write_csv(&two, &h, &rows);
    let empty = o.join("empty.csv");
    std::fs::write(&empty, "").expect("write");
    let (code, stderr) = ingest_cli(o, &id, &[&two, &empty]);
    assert_eq!(code, Some(2), "{stderr}");
    let item = &rows[1][col(&h, "item_id")];
    assert_eq!(
        error_lines(&stderr),
        vec![
            "permaudit: error: review ingest: 3 problems in the returned packets; nothing ingested:"
                .to_string(),
            format!(
                "  {}:2: unknown item: item \"RI-000000000000\" is not in campaign {id}",
                two.display()
            ),
            format!(
                "  {}:3: invalid decision: item {item}: decision \"maybe\" is not keep, revoke or \
                 empty (undecided)",
                two.display()
            ),
            format!("  {}: unreadable file: empty file", empty.display()),
        ]
    );
    assert!(!stderr.contains("push("), "{stderr}");
}

// ---------------------------------------------------------------- packet paths

#[test]
fn missing_packet_path_is_an_input_error() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    let missing = o.join("no-such-packet.xlsx");
    let (code, stderr) = ingest_cli(o, &id, &[&missing]);
    assert_eq!(code, Some(2), "{stderr}");
    let lines = error_lines(&stderr);
    assert_eq!(
        lines.get(1).copied(),
        Some(
            format!(
                "  {}: unreadable file: cannot read it: No such file or directory (os error 2)",
                missing.display()
            )
            .as_str()
        ),
        "{stderr}"
    );
}

#[test]
fn fifo_device_and_directory_packets_are_refused_without_hanging() {
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    let before = state_of(o, &id);
    let fifo = o.join("packet.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let device = o.join("device.xlsx");
    std::os::unix::fs::symlink("/dev/zero", &device).expect("symlink");
    let dir = o.join("dir.csv");
    std::fs::create_dir(&dir).expect("mkdir");
    let (code, stderr) = ingest_cli(o, &id, &[&fifo, &device, &dir]);
    assert_eq!(code, Some(2), "{stderr}");
    let lines = error_lines(&stderr);
    for (p, kind) in [
        (&fifo, "a FIFO (named pipe)"),
        (&device, "a character device"),
        (&dir, "a directory"),
    ] {
        let want = format!(
            "  {}: unreadable file: is {kind}: only regular files are used",
            p.display()
        );
        assert!(lines.contains(&want.as_str()), "{want}\n{stderr}");
    }
    assert_eq!(state_of(o, &id), before);
    // A link to a regular file is read like the file.
    let reviewer = load(o, &id).campaign.packets[0].reviewer_id.clone();
    let real = o.join("real.csv");
    fill_csv(o, &id, &reviewer, &real, |_, _| ("keep", ""));
    let link = o.join("link.csv");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let (code, stderr) = ingest_cli(o, &id, &[&link]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn cell_names_follow_spreadsheet_columns() {
    assert_eq!(cell_name(0, 0), "A1");
    assert_eq!(cell_name(6, 3), "D7");
    assert_eq!(cell_name(0, 25), "Z1");
    assert_eq!(cell_name(9, 26), "AA10");
    assert_eq!(cell_name(0, 701), "ZZ1");
    assert_eq!(cell_name(0, 702), "AAA1");
}

// ---------------------------------------------------------------- reviewers

#[test]
fn management_line_ends_at_a_cycle() {
    let managers: BTreeMap<&str, &str> = [("P", "A"), ("A", "B"), ("B", "A"), ("S", "S")]
        .into_iter()
        .collect();
    let of = |id: &str| managers.get(id).copied();
    assert_eq!(management_line(Some("P"), of), vec!["A", "B"]);
    assert_eq!(management_line(Some("S"), of), Vec::<&str>::new());
    let through_person: BTreeMap<&str, &str> = [("P", "A"), ("A", "P")].into_iter().collect();
    assert_eq!(
        management_line(Some("P"), |id| through_person.get(id).copied()),
        vec!["A"]
    );
    assert_eq!(management_line(None, of), Vec::<&str>::new());
    // Up the line past the managers' manager when the nearer ones are not eligible.
    let c = Candidates {
        person: Some("P"),
        privileged: false,
        managers: vec!["A", "B", "C"],
        entitlement_owner: Some("O"),
        system_owner: None,
    };
    assert_eq!(
        choose_reviewer(&c, |id| id == "C" || id == "O"),
        (Some("C".into()), ReviewerBasis::HigherManager)
    );
}

/// Statuses of the identities of a data directory.
fn statuses(data: &Path) -> BTreeMap<String, String> {
    let mut r = csv::Reader::from_path(data.join("input/identities.csv")).expect("identities");
    r.records()
        .map(|x| {
            let x = x.expect("row");
            (x[0].to_string(), x[6].to_string())
        })
        .collect()
}

#[test]
fn reviewers_who_left_are_skipped_along_the_chain() {
    let data = sample_copy();
    let d = data.path();
    // L* on leave, T* terminated (T9 only from next year: still leaving), A* active.
    append(
        d,
        "identities",
        "H1,Holder One,,ops,clerk,L1,active,\n\
         L1,On Leave,,ops,lead,T1,leave,\n\
         T1,Gone,,ops,head,A1,terminated,2026-01-01T00:00:00Z\n\
         A1,Still Here,,ops,exec,,active,\n\
         OT,Owner Gone,,ops,owner,A1,terminated,2026-02-01T00:00:00Z\n\
         OL,Owner On Leave,,ops,owner,A1,leave,\n\
         H2,Holder Two,,ops,clerk,T9,active,\n\
         T9,Leaving Later,,ops,lead,A2,terminated,2027-06-01T00:00:00Z\n\
         A2,Active Two,,ops,lead,,active,\n\
         H3,Holder Three,,ops,clerk,C1,active,\n\
         C1,Cycle One,,ops,lead,C2,leave,\n\
         C2,Cycle Two,,ops,lead,C1,terminated,2026-03-01T00:00:00Z\n\
         A3,Owner Active,,ops,owner,,active,\n\
         H4,Holder Four,,ops,clerk,C4,active,\n\
         C4,Manages Own Manager,,ops,lead,H4,leave,\n",
    );
    append(d, "systems", "hx-hk,Hostile,HK,,OL\n");
    append(
        d,
        "entitlements",
        "hx-hk,x.priv.gone,permission,Priv owner gone,high,true,OT\n\
         hx-hk,x.priv.leave,permission,Priv owner on leave,high,true,OL\n\
         hx-hk,x.plain,permission,Plain,low,false,A3\n\
         hx-hk,x.plain.left,permission,Plain owner gone,low,false,OT\n\
         hx-hk,x.priv.self,permission,Priv owned by holder,high,true,H4\n",
    );
    append(
        d,
        "accounts",
        "hx-hk,h1,H1,human,active,\n\
         hx-hk,h2,H2,human,active,\n\
         hx-hk,h3,H3,human,active,\n\
         hx-hk,h4,H4,human,active,\n",
    );
    append(
        d,
        "grants",
        "GH1,hx-hk,h1,x.priv.gone,2026-01-01T00:00:00Z,E1000,E1000,,,\n\
         GH2,hx-hk,h1,x.priv.leave,2026-01-01T00:00:00Z,E1000,E1000,,,\n\
         GH3,hx-hk,h2,x.priv.gone,2026-01-01T00:00:00Z,E1000,E1000,,,\n\
         GH4,hx-hk,h3,x.plain,2026-01-01T00:00:00Z,E1000,E1000,,,\n\
         GH5,hx-hk,h3,x.plain.left,2026-01-01T00:00:00Z,E1000,E1000,,,\n\
         GH6,hx-hk,h4,x.priv.self,2026-01-01T00:00:00Z,E1000,E1000,,,\n",
    );
    let out = tempfile::tempdir().expect("tempdir");
    let id = open_in(d, out.path(), "2026-11-24", None, OnNoResponse::Escalate);
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
    // Privileged, owner terminated: manager on leave, manager's manager terminated, so
    // the next manager up.
    assert_eq!(
        who("GH1"),
        (Some("A1".into()), ReviewerBasis::HigherManager)
    );
    // Privileged, owner on leave: the same walk.
    assert_eq!(
        who("GH2"),
        (Some("A1".into()), ReviewerBasis::HigherManager)
    );
    // A manager whose termination is dated after T is leaving: not a reviewer.
    assert_eq!(
        who("GH3"),
        (Some("A2".into()), ReviewerBasis::ManagersManager)
    );
    // Managers in a cycle, both gone: the walk ends, the entitlement owner reviews.
    assert_eq!(
        who("GH4"),
        (Some("A3".into()), ReviewerBasis::EntitlementOwner)
    );
    // Cycle, owner terminated, system owner on leave: nobody active, unassigned.
    assert_eq!(who("GH5"), (None, ReviewerBasis::Unassigned));
    // Privileged and owned by the holder, whose manager (on leave) is managed by the
    // holder: never self, nobody else in line, unassigned.
    assert_eq!(who("GH6"), (None, ReviewerBasis::Unassigned));
    // Over the whole campaign (sample included): every reviewer and every escalation
    // target is an active identity and never the person reviewed.
    let status = statuses(d);
    for i in &s.campaign.items {
        for p in [&i.reviewer_id, &i.escalate_to].into_iter().flatten() {
            assert_eq!(status.get(p).map(String::as_str), Some("active"), "{i:?}");
            assert_ne!(Some(p), i.identity_id.as_ref(), "self: {i:?}");
        }
    }
    let un = std::fs::read_to_string(out.path().join("reviews").join(&id).join("unassigned.csv"))
        .expect("unassigned.csv");
    assert!(un.contains("GH5") && un.contains("GH6"), "{un}");
}

/// The attack: `OUT/reviews` (or one campaign's directory) replaced by a link to a folder
/// outside OUT, so that the next `review open` or `review ingest` writes the campaign there.
/// Campaign records cannot be rebuilt, so the link is refused (exit 4, naming it), never
/// followed and never removed.
#[test]
fn a_link_planted_at_the_reviews_directory_is_refused_not_followed() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let reviews = out.path().join("reviews");
    std::os::unix::fs::symlink(elsewhere.path(), &reviews).expect("symlink");
    let data = crate::review::root().join("data/sample");
    let err = try_open_in(&data, out.path(), "2026-11-24", None, OnNoResponse::Revoke)
        .err()
        .expect("refused");
    assert_eq!(err.exit_code(), ExitCode::Internal, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&reviews.display().to_string()) && msg.contains("symbolic link"),
        "{msg}"
    );
    assert_eq!(std::fs::read_dir(elsewhere.path()).expect("ls").count(), 0);

    // A campaign directory that is a link: ingest refuses it too, naming it.
    let (out, id) = campaign(OnNoResponse::Revoke);
    let dir = out.path().join("reviews").join(&id);
    let moved = elsewhere.path().join(&id);
    std::fs::rename(&dir, &moved).expect("move");
    std::os::unix::fs::symlink(&moved, &dir).expect("symlink");
    let before = std::fs::read(moved.join("state.json")).expect("state");
    let (code, stderr) = ingest_cli(out.path(), &id, &[&out.path().join("packet.csv")]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains(&dir.display().to_string()), "{stderr}");
    assert_eq!(
        std::fs::read(moved.join("state.json")).expect("state"),
        before
    );
}

/// The attack one level down: a campaign's `returned/` or `packets/` replaced by a link to
/// a folder outside OUT, so that `review ingest` stores returned packets there, or a reopen
/// rewrites the packets there. Refused (exit 4, naming the link); the folder stays empty.
#[test]
fn a_link_planted_at_a_campaign_subdirectory_is_refused_not_written_through() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let (out, id) = campaign(OnNoResponse::Revoke);
    let o = out.path();
    let stem = load(o, &id).campaign.packets[0].file_stem.clone();
    let filled = o.join("filled.csv");
    fill_csv(o, &id, &stem, &filled, |_, _| ("keep", ""));

    let returned = o.join("reviews").join(&id).join("returned");
    std::os::unix::fs::symlink(elsewhere.path(), &returned).expect("symlink");
    let before = state_of(o, &id);
    let (code, stderr) = ingest_cli(o, &id, &[&filled]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains(&returned.display().to_string()) && stderr.contains("symbolic link"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(elsewhere.path()).expect("ls").count(), 0);
    assert_eq!(state_of(o, &id), before);

    // `packets/` behind a link: reopening the campaign (which rewrites lost packets) refuses.
    std::fs::remove_file(&returned).expect("rm link");
    let packets = o.join("reviews").join(&id).join("packets");
    std::fs::remove_dir_all(&packets).expect("rm packets");
    std::os::unix::fs::symlink(elsewhere.path(), &packets).expect("symlink");
    let data = crate::review::root().join("data/sample");
    let err = try_open_in(
        &data,
        o,
        "2026-11-24",
        Some("2026-12-20"),
        OnNoResponse::Revoke,
    )
    .err()
    .expect("refused");
    assert_eq!(err.exit_code(), ExitCode::Internal, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&packets.display().to_string()) && msg.contains("symbolic link"),
        "{msg}"
    );
    assert_eq!(std::fs::read_dir(elsewhere.path()).expect("ls").count(), 0);
}
