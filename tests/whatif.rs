//! `permaudit whatif`: the findings proposed grants would add, on the sample. A request
//! that creates a conflict, a harmless one, a self-approved one, bad rows naming their line,
//! `--fail-on`, JSON, and nothing written to OUT.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{bin, files, run_in, sample_copy};
use permaudit::rules::REGISTRY;

const HEADER: &str = "grant_id,system_id,account_id,entitlement_id,granted_at,granted_by,\
                      approved_by,expires_at,revoked_at,ticket\n";

/// chifai.lee (E1020) maintains beneficiaries in HK; releasing payouts there conflicts
/// (SOD-001 in the sample's policy). Approved by someone else, with a ticket.
const CONFLICTING: &str =
    ",pay-hk,chifai.lee,payout.release,2026-11-20T10:00:00Z,E1001,E1003,,,CHG-1\n";
/// chifai.lau (E1013) already does beneficiary lookups: viewing them adds nothing.
const HARMLESS: &str =
    ",bene-hk,chifai.lau,beneficiary.view,2026-11-20T10:00:00Z,E1001,E1003,,,CHG-2\n";
/// chifai.lau grants and approves their own access.
const SELF_APPROVED: &str =
    ",pay-hk,chifai.lau,payout.view,2026-11-20T10:00:00Z,E1013,E1013,,,CHG-3\n";

fn proposed(dir: &Path, name: &str, rows: &[&str]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{HEADER}{}", rows.concat())).expect("proposed csv");
    path
}

fn whatif(dir: &Path, cfg: &Path, grants: &Path, args: &[&str]) -> Output {
    bin()
        .arg("whatif")
        .arg("--config")
        .arg(cfg)
        .arg("--grants")
        .arg(grants)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("whatif")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The `rule` column of the CSV on stdout.
fn rules_printed(o: &Output) -> Vec<String> {
    let mut r = csv::Reader::from_reader(o.stdout.as_slice());
    r.records()
        .map(|rec| rec.expect("csv row").get(1).expect("rule").to_string())
        .collect()
}

#[test]
fn a_conflicting_grant_adds_its_sod_conflict_and_fails() {
    let (dir, cfg) = sample_copy("");
    let f = proposed(dir.path(), "sod.csv", &[CONFLICTING]);
    let o = whatif(dir.path(), &cfg, &f, &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let printed = rules_printed(&o);
    assert!(printed.contains(&"SOD_CONFLICT".to_string()), "{printed:?}");
    let out = stdout(&o);
    assert!(out.contains("SOD-001") && out.contains("E1020"), "{out}");
    // Only what the request adds: none of the sample's existing findings.
    assert!(!out.contains("E1042"), "{out}");
}

#[test]
fn a_harmless_grant_adds_nothing() {
    let (dir, cfg) = sample_copy("");
    let f = proposed(dir.path(), "ok.csv", &[HARMLESS]);
    let o = whatif(dir.path(), &cfg, &f, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(stdout(&o), "");
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("permaudit whatif as_of=2026-11-24 proposed=1 added=0 max_severity=none"));
}

#[test]
fn a_self_approved_grant_is_reported_under_its_stand_in_id() {
    let (dir, cfg) = sample_copy("");
    let f = proposed(dir.path(), "self.csv", &[SELF_APPROVED]);
    let o = whatif(dir.path(), &cfg, &f, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(rules_printed(&o), ["SELF_APPROVED_GRANT"]);
    // The empty grant_id of line 2 became its deterministic stand-in.
    assert!(stdout(&o).contains(",proposed-2,"), "{}", stdout(&o));
}

#[test]
fn fail_on_above_the_added_severity_exits_0_but_still_prints() {
    let (dir, cfg) = sample_copy("");
    let f = proposed(dir.path(), "self.csv", &[SELF_APPROVED]);
    let o = whatif(dir.path(), &cfg, &f, &["--fail-on", "critical"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(rules_printed(&o), ["SELF_APPROVED_GRANT"]);
    let o = whatif(dir.path(), &cfg, &f, &["--fail-on", "high"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_grant_asked_after_t_is_judged_as_active_at_t() {
    let (dir, cfg) = sample_copy("");
    let later = CONFLICTING.replace("2026-11-20T10:00:00Z", "2027-01-05T10:00:00Z");
    let f = proposed(dir.path(), "later.csv", &[&later]);
    let o = whatif(dir.path(), &cfg, &f, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(rules_printed(&o).contains(&"SOD_CONFLICT".to_string()));
}

#[test]
fn bad_rows_exit_2_naming_file_and_line() {
    let (dir, cfg) = sample_copy("");
    let bad_time = CONFLICTING.replace("2026-11-20T10:00:00Z", "yesterday");
    let f = proposed(dir.path(), "bad.csv", &[HARMLESS, &bad_time]);
    let o = whatif(dir.path(), &cfg, &f, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.csv: line 3: ") && err.contains("granted_at"),
        "{err}"
    );
    assert_eq!(stdout(&o), "");

    let unknown = CONFLICTING.replace("payout.release", "payout.teleport");
    let f = proposed(dir.path(), "unknown.csv", &[&unknown]);
    let o = whatif(dir.path(), &cfg, &f, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown.csv: line 2: "), "{err}");

    let account = CONFLICTING.replace("chifai.lee", "nobody.here");
    let f = proposed(dir.path(), "account.csv", &[&account]);
    let o = whatif(dir.path(), &cfg, &f, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("account.csv: line 2: "));
}

#[test]
fn an_existing_grant_id_is_refused() {
    let (dir, cfg) = sample_copy("");
    let row = format!("G10000{CONFLICTING}");
    let f = proposed(dir.path(), "dup.csv", &[&row]);
    let o = whatif(dir.path(), &cfg, &f, &[]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn json_is_an_array_of_finding_objects() {
    let (dir, cfg) = sample_copy("");
    let f = proposed(dir.path(), "sod.csv", &[CONFLICTING]);
    let o = whatif(dir.path(), &cfg, &f, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let rows = v.as_array().expect("an array");
    let sod = rows
        .iter()
        .find(|r| r["rule"] == "SOD_CONFLICT")
        .expect("the conflict");
    assert_eq!(sod["sod_rule_id"], "SOD-001");
    assert!(sod["detail"].is_object());
    let keys: Vec<&String> = sod.as_object().expect("object").keys().collect();
    assert_eq!(keys, permaudit::findings::COLUMNS.to_vec());

    let f = proposed(dir.path(), "ok.csv", &[HARMLESS]);
    let o = whatif(dir.path(), &cfg, &f, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v, serde_json::json!([]));
}

#[test]
fn nothing_is_written_to_out() {
    let (dir, cfg) = sample_copy("");
    let run = run_in(dir.path(), &cfg, &[]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = dir.path().join("out");
    let before = files(&out);
    let f = proposed(dir.path(), "sod.csv", &[CONFLICTING]);
    let o = whatif(dir.path(), &cfg, &f, &[]);
    assert_eq!(o.status.code(), Some(1));
    let bad = proposed(dir.path(), "bad.csv", &["x,y\n"]);
    assert_eq!(whatif(dir.path(), &cfg, &bad, &[]).status.code(), Some(2));
    assert!(before == files(&out), "OUT changed");

    // Without any run: no OUT, and no lock, appears.
    let (dir, cfg) = sample_copy("");
    let f = proposed(dir.path(), "sod.csv", &[CONFLICTING]);
    assert_eq!(whatif(dir.path(), &cfg, &f, &[]).status.code(), Some(1));
    assert!(!dir.path().join("out").exists());
}

/// The rules `whatif` judges on no events must read none: a rule file that names an event
/// aggregate declares `reads_events`.
#[test]
fn rules_judged_without_events_read_none() {
    const EVENT_FACTS: [&str; 8] = [
        "window_events",
        "window_successes",
        "last_use",
        "last_login",
        "ctx.feed",
        "log_chains",
        "audit_events",
        "critical_on_systems",
    ];
    let judged: Vec<&str> = REGISTRY
        .iter()
        .filter(|r| permaudit::whatif::judged(r.meta))
        .map(|r| r.meta.code)
        .collect();
    for code in [
        "SOD_CONFLICT",
        "SELF_APPROVED_GRANT",
        "UNAPPROVED_PRIVILEGED_GRANT",
        "GRADE_EXCEEDED",
        "PEER_OUTLIER",
    ] {
        assert!(judged.contains(&code), "{code} is judged by whatif");
    }
    for rule in REGISTRY {
        let file = format!(
            "{}/src/rules/{}.rs",
            env!("CARGO_MANIFEST_DIR"),
            rule.meta.code.to_lowercase()
        );
        let src = std::fs::read_to_string(&file).expect("the rule's file");
        let named: Vec<&str> = EVENT_FACTS
            .iter()
            .copied()
            .filter(|f| src.contains(f))
            .collect();
        if !named.is_empty() || rule.meta.window_rows.is_some() {
            assert!(
                rule.meta.reads_events,
                "{}: reads {named:?} but its META says reads_events: false",
                rule.meta.code
            );
        }
    }
}

#[test]
fn an_unapproved_privileged_grant_with_few_columns() {
    let (dir, cfg) = sample_copy("");
    let f = dir.path().join("min.csv");
    std::fs::write(
        &f,
        "system_id,account_id,entitlement_id,granted_at\n\
         pay-hk,chifai.lee,payout.release,2026-11-20T10:00:00Z\n",
    )
    .expect("proposed csv");
    let o = whatif(dir.path(), &cfg, &f, &[]);
    assert_eq!(o.status.code(), Some(1));
    let printed = rules_printed(&o);
    assert!(
        printed.contains(&"UNAPPROVED_PRIVILEGED_GRANT".to_string()),
        "{printed:?}"
    );
}

/// kwok.ho2 (E1073) is graded for report exports in HK; changing payout limits is a
/// critical permission above that grade.
#[test]
fn a_grant_above_the_holders_grade_adds_grade_exceeded() {
    let (dir, cfg) = sample_copy("");
    let f = proposed(
        dir.path(),
        "grade.csv",
        &[",pay-hk,kwok.ho2,limit.change,2026-11-20T10:00:00Z,E1001,E1003,,,CHG-4\n"],
    );
    let o = whatif(dir.path(), &cfg, &f, &["--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let added: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let grade = added
        .as_array()
        .expect("array")
        .iter()
        .find(|f| f["rule"] == "GRADE_EXCEEDED")
        .unwrap_or_else(|| panic!("GRADE_EXCEEDED added: {added:#}"));
    assert_eq!(grade["identity_id"], "E1073");
    assert_eq!(grade["entitlement_id"], "limit.change");
    assert_eq!(grade["grant_id"], "proposed-2");
}

/// The oracle: what `whatif` prints is exactly what the nightly run would add (among the
/// rules it judges) if the proposed rows were grants of the inputs. `whatif` evaluates only
/// the grants of the proposed accounts' peer groups; the run evaluates everyone.
#[test]
fn whatif_adds_exactly_what_a_run_with_the_grants_would_add() {
    let rows = [
        "W-1,pay-hk,chifai.lee,payout.release,2026-11-20T10:00:00Z,E1001,E1003,,,CHG-1\n",
        "W-2,bene-hk,chifai.lau,beneficiary.view,2026-11-20T10:00:00Z,E1001,E1003,,,CHG-2\n",
        "W-3,pay-hk,chifai.lau,payout.view,2026-11-20T10:00:00Z,E1013,E1013,,,CHG-3\n",
        "W-4,pay-hk,kwok.ho2,limit.change,2026-11-20T10:00:00Z,E1001,E1003,,,CHG-4\n",
        "W-5,pay-hk,wai.leung,payout.view,2026-11-20T10:00:00Z,E1001,E1003,,,CHG-5\n",
        "W-6,pay-hk,kwok.ho2,payout.view,2026-01-20T10:00:00Z,,,2026-06-01T00:00:00Z,,\n",
    ];
    let ids = |dir: &Path| -> std::collections::BTreeSet<String> {
        let path = dir.join("out/2026-11-24/findings.csv");
        let mut r = csv::Reader::from_path(&path).expect("findings.csv");
        r.records()
            .map(|rec| rec.expect("row"))
            .filter(|rec| {
                REGISTRY
                    .iter()
                    .any(|rule| rule.meta.code == &rec[1] && permaudit::whatif::judged(rule.meta))
            })
            .map(|rec| rec[0].to_string())
            .collect()
    };
    let (before, cfg_before) = sample_copy("");
    assert!(run_in(before.path(), &cfg_before, &[]).status.success());
    let (after, cfg_after) = sample_copy("");
    let grants = after.path().join("input/grants.csv");
    let mut all = std::fs::read_to_string(&grants).expect("grants.csv");
    all.push_str(&rows.concat());
    std::fs::write(&grants, all).expect("grants.csv");
    let run = run_in(after.path(), &cfg_after, &[]);
    assert!(run.status.code() == Some(0) || run.status.code() == Some(1));
    let expected: Vec<String> = ids(after.path())
        .difference(&ids(before.path()))
        .cloned()
        .collect();

    let (dir, cfg) = sample_copy("");
    let f = proposed(dir.path(), "all.csv", &rows);
    let o = whatif(dir.path(), &cfg, &f, &[]);
    let mut r = csv::Reader::from_reader(o.stdout.as_slice());
    let mut printed: Vec<String> = r
        .records()
        .map(|rec| rec.expect("row")[0].to_string())
        .collect();
    printed.sort();
    assert!(!expected.is_empty());
    assert_eq!(printed, expected, "{}", String::from_utf8_lossy(&o.stderr));
}

/// Every request, answered from the tables a run stored in `OUT/state/tables/`, gets the
/// answer it gets from the inputs: the same findings, the same refusals naming the line.
#[test]
fn the_stored_tables_give_the_answers_of_the_inputs() {
    let (dir, cfg) = sample_copy("");
    assert!(run_in(dir.path(), &cfg, &[]).status.success());
    let state = dir.path().join("out/state");
    assert!(state.join("tables/key").is_file());
    let bad_time = CONFLICTING.replace("2026-11-20T10:00:00Z", "yesterday");
    let unknown = CONFLICTING.replace("payout.release", "payout.teleport");
    let existing = format!("G10000{CONFLICTING}");
    let requests: [&[&str]; 5] = [
        &[CONFLICTING, SELF_APPROVED],
        &[HARMLESS],
        &[HARMLESS, &bad_time],
        &[&unknown],
        &[&existing],
    ];
    for (i, rows) in requests.iter().enumerate() {
        let f = proposed(dir.path(), &format!("r{i}.csv"), rows);
        let stored = whatif(dir.path(), &cfg, &f, &[]);
        let log = String::from_utf8_lossy(&stored.stderr).into_owned();
        let aside = dir.path().join("state-aside");
        std::fs::rename(&state, &aside).expect("move the state aside");
        let loaded = whatif(dir.path(), &cfg, &f, &[]);
        std::fs::rename(&aside, &state).expect("put the state back");
        assert_eq!(
            stored.status.code(),
            loaded.status.code(),
            "request {i}: {log}"
        );
        assert_eq!(stdout(&stored), stdout(&loaded), "request {i}");
        if stored.status.code() == Some(2) {
            let refusal = |o: &Output| {
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .filter(|l| l.starts_with("permaudit: error:"))
                    .map(String::from)
                    .collect::<Vec<_>>()
            };
            assert_eq!(refusal(&stored), refusal(&loaded), "request {i}");
        } else {
            assert!(log.contains("read from the state"), "request {i}: {log}");
        }
    }
}

/// A stored entry is a cache of OUT, which is not trusted: inputs changed since the run
/// (rewritten with the old mtime), a damaged table, or a planted frame of other columns are
/// each a miss, and the request is judged on the inputs.
#[test]
fn stored_tables_of_other_inputs_or_damaged_are_not_used() {
    let (dir, cfg) = sample_copy("");
    assert!(run_in(dir.path(), &cfg, &[]).status.success());
    let f = proposed(dir.path(), "sod.csv", &[CONFLICTING]);

    // chifai.lee's conflict is granted for real after the run: the request adds nothing.
    let grants = dir.path().join("input/grants.csv");
    let mtime = std::fs::metadata(&grants)
        .expect("grants")
        .modified()
        .expect("mtime");
    let mut text = std::fs::read_to_string(&grants).expect("grants.csv");
    text.push_str(&format!("G-REAL{CONFLICTING}"));
    std::fs::write(&grants, text).expect("grants.csv");
    std::fs::File::options()
        .write(true)
        .open(&grants)
        .and_then(|f| f.set_modified(mtime))
        .expect("restore mtime");
    let o = whatif(dir.path(), &cfg, &f, &[]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{log}");
    assert!(log.contains("of other inputs"), "{log}");

    // Back to the run's inputs, then the stored grants damaged, then replaced by a frame
    // of another table.
    assert!(run_in(dir.path(), &cfg, &["--full"]).status.success());
    let stored = dir.path().join("out/state/tables/grants.arrow");
    std::fs::write(&stored, b"PAR1 not parquet").expect("damage");
    let o = whatif(dir.path(), &cfg, &f, &[]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{log}");
    assert!(log.contains("damaged stored table"), "{log}");
    assert!(stdout(&o).is_empty(), "the real conflict exists already");
    std::fs::copy(dir.path().join("out/state/tables/systems.arrow"), &stored).expect("plant");
    let o = whatif(dir.path(), &cfg, &f, &[]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("not the table's columns"), "{log}");
    assert_eq!(o.status.code(), Some(0), "{log}");
}

/// A nightly run whose tables did not change keeps the stored entry instead of writing
/// every grant again; one whose entry is damaged or planted (a file that is no Parquet, a
/// frame of another table) writes it again, and `whatif` reads it from the state after.
#[test]
fn a_run_keeps_a_current_entry_and_rewrites_a_damaged_one() {
    use std::os::unix::fs::MetadataExt;
    let (dir, cfg) = sample_copy("");
    let tables = dir.path().join("out/state/tables");
    let inode = |name: &str| {
        std::fs::metadata(tables.join(name))
            .expect("stored table")
            .ino()
    };
    assert!(run_in(dir.path(), &cfg, &[]).status.success());
    let first = inode("grants.arrow");
    assert!(run_in(dir.path(), &cfg, &[]).status.success());
    assert_eq!(inode("grants.arrow"), first, "an unchanged entry is kept");

    let f = proposed(dir.path(), "sod.csv", &[CONFLICTING]);
    let stored = tables.join("grants.arrow");
    for what in ["no Parquet", "another table"] {
        if what == "no Parquet" {
            std::fs::write(&stored, b"PAR1 not parquet").expect("damage");
        } else {
            std::fs::copy(tables.join("systems.arrow"), &stored).expect("plant");
        }
        assert!(run_in(dir.path(), &cfg, &[]).status.success(), "{what}");
        let o = whatif(dir.path(), &cfg, &f, &[]);
        let log = String::from_utf8_lossy(&o.stderr);
        assert!(log.contains("read from the state"), "{what}: {log}");
        assert!(
            rules_printed(&o).contains(&"SOD_CONFLICT".to_string()),
            "{what}: {log}"
        );
    }
}
