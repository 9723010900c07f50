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
