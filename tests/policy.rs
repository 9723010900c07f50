//! Run configuration and policy loading: the contract's examples load with the right
//! values and defaults, and every invalid input is an error naming file, entry and key.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Weekday, WeekdaySet};
use permaudit::config::{ConfigError, RunConfig};
use permaudit::policy::{BusinessHours, Pattern, Policy, Scope, Severity, SodKind};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const RULES: &[&str] = &[
    "SOD_CONFLICT",
    "SOD_TRANSACTION",
    "STALE_GRANT",
    "DORMANT_ACCOUNT",
    "TERMINATED_ACCESS",
    "POST_TERMINATION_ACTIVITY",
    "ORPHAN_ACCOUNT",
    "UNMANAGED_ACCOUNT_ACTIVITY",
    "EXPIRED_GRANT",
    "SELF_APPROVED_GRANT",
    "UNAPPROVED_PRIVILEGED_GRANT",
    "PRIVILEGED_NO_MFA",
    "SHARED_PRIVILEGED_ACCOUNT",
    "LOG_SEQUENCE_GAP",
    "FAILED_LOGIN_BURST",
    "LOGIN_FROM_UNEXPECTED_COUNTRY",
    "IMPOSSIBLE_TRAVEL",
    "OFF_HOURS_PRIVILEGED_ACTION",
    "EMERGENCY_ACCOUNT_USED",
    "GRADE_EXCEEDED",
    "PEER_OUTLIER",
    "LOG_FEED_SILENT",
    "LOG_HASH_MISMATCH",
];

const HK: &str = r#"
[[jurisdiction]]
code = "HK"
name = "Hong Kong"
regulator = "Hong Kong Monetary Authority"
timezone = "Asia/Hong_Kong"
stale_grant_days = 60
dormant_account_days = 45
termination_grace_hours = 0
revocation_sla_days = 0
freeze_sla_hours = 0
review_interval_days = 120
privileged_review_interval_days = 30
mfa_required_for_privileged = false
disabled_rules = ["PEER_OUTLIER", "LOG_FEED_SILENT"]
allowed_login_countries = ["HK", "SG"]
business_hours = "09:30-24:00"
business_days = ["mon", "tue", "wed", "thu", "fri", "sat"]
failed_login_threshold = 5
failed_login_window_minutes = 10
travel_hours = 3
max_silence_hours = 12
[jurisdiction.references]
DORMANT_ACCOUNT = ["PCI DSS v4.0.1 req. 8.2.6"]
SOD_CONFLICT = ["HKMA TM-G-1 3.2", "PCI DSS v4.0.1 req. 7.2.1"]
"#;

const SOD: &str = r#"
[[rule]]
id = "SOD-001"
name = "Beneficiary maintenance vs payout release"
kind = "static"
risk = "critical"
scope = "global"
description = "Maker and checker of a payout must differ."
[[rule.function]]
name = "Maintain beneficiaries"
permissions = ["*:beneficiary.create", "pay-hk:beneficiary.edit"]
[[rule.function]]
name = "Release payouts"
permissions = ["*:payout.release"]

[[rule]]
id = "SOD-002"
name = "Create and approve one payout"
kind = "transaction"
[[rule.function]]
name = "Create"
actions = ["*:payout.create"]
[[rule.function]]
name = "Approve"
actions = ["pay-sg:payout.approve:v2"]

[[rule]]
id = "SOD-003"
name = "Local admin vs local audit"
kind = "static"
risk = "medium"
scope = "jurisdiction"
[[rule.function]]
name = "Administer"
permissions = ["*:admin"]
[[rule.function]]
name = "Audit"
permissions = ["*:audit.read"]
"#;

const GRADING: &str = r#"
[[job_function]]
name = "support"
max_risk = "medium"
[[job_function]]
name = "engineer"
max_risk = "high"
[peer_groups]
min_size = 5
max_share = 0.25
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

/// A policy directory holding HK plus a minimal SG (all defaults) and the SoD example.
fn policy_dir() -> TempDir {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "jurisdictions.toml",
        &format!("{HK}\n[[jurisdiction]]\ncode = \"SG\"\nname = \"Singapore\"\n"),
    );
    write(dir.path(), "sod_rules.toml", SOD);
    dir
}

fn load(dir: &TempDir) -> Result<Policy, ConfigError> {
    Policy::load(dir.path(), RULES)
}

fn load_err(dir: &TempDir) -> String {
    match load(dir) {
        Ok(_) => panic!(
            "policy in {} should have been rejected",
            dir.path().display()
        ),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            msg.contains(part),
            "message {msg:?} should contain {part:?}"
        );
    }
}

fn sha256_hex(path: &Path) -> String {
    hex::encode(Sha256::digest(fs::read(path).unwrap()))
}

// ---------------------------------------------------------------- valid policies

#[test]
fn full_example_loads_with_values_and_defaults() {
    let dir = policy_dir();
    write(dir.path(), "grading.toml", GRADING);
    let policy = load(&dir).unwrap();

    assert_eq!(policy.jurisdictions.len(), 2);
    let hk = policy.jurisdiction("HK").unwrap();
    assert_eq!(hk.name, "Hong Kong");
    assert_eq!(
        hk.regulator.as_deref(),
        Some("Hong Kong Monetary Authority")
    );
    assert_eq!(hk.timezone, chrono_tz::Asia::Hong_Kong);
    assert_eq!(hk.stale_grant_days, 60);
    assert_eq!(hk.dormant_account_days, 45);
    assert_eq!(hk.termination_grace_hours, 0);
    assert_eq!(hk.revocation_sla_days, 0);
    assert_eq!(hk.freeze_sla_hours, 0);
    assert_eq!(hk.review_interval_days, 120);
    assert_eq!(hk.privileged_review_interval_days, 30);
    assert!(!hk.mfa_required_for_privileged);
    assert_eq!(
        hk.disabled_rules
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["LOG_FEED_SILENT", "PEER_OUTLIER"]
    );
    assert!(!hk.rule_enabled("PEER_OUTLIER"));
    assert!(hk.rule_enabled("DORMANT_ACCOUNT"));
    assert_eq!(
        hk.allowed_login_countries
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["HK", "SG"]
    );
    assert_eq!(
        hk.business_hours,
        BusinessHours {
            start_minute: 9 * 60 + 30,
            end_minute: 1440
        }
    );
    assert!(hk.business_days.contains(Weekday::Sat));
    assert!(!hk.business_days.contains(Weekday::Sun));
    assert_eq!(hk.business_days.len(), 6);
    assert_eq!(hk.failed_login_threshold, 5);
    assert_eq!(hk.failed_login_window_minutes, 10);
    assert_eq!(hk.travel_hours, 3);
    assert_eq!(hk.max_silence_hours, 12);
    assert_eq!(
        hk.references["DORMANT_ACCOUNT"],
        vec!["PCI DSS v4.0.1 req. 8.2.6".to_string()]
    );
    assert_eq!(hk.references["SOD_CONFLICT"].len(), 2);

    // SG gives only code and name: every default of the contract applies.
    let sg = policy.jurisdiction("SG").unwrap();
    assert_eq!(sg.name, "Singapore");
    assert_eq!(sg.regulator, None);
    assert_eq!(sg.timezone, chrono_tz::UTC);
    assert_eq!(sg.stale_grant_days, 90);
    assert_eq!(sg.dormant_account_days, 90);
    assert_eq!(sg.termination_grace_hours, 24);
    assert_eq!(sg.revocation_sla_days, 14);
    assert_eq!(sg.freeze_sla_hours, 24);
    assert_eq!(sg.review_interval_days, 180);
    assert_eq!(sg.privileged_review_interval_days, 90);
    assert!(sg.mfa_required_for_privileged);
    assert!(sg.disabled_rules.is_empty());
    assert!(sg.allowed_login_countries.is_empty());
    assert_eq!(
        sg.business_hours,
        BusinessHours {
            start_minute: 480,
            end_minute: 1200
        }
    );
    assert_eq!(
        sg.business_days,
        WeekdaySet::from_array([
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri
        ])
    );
    assert_eq!(sg.failed_login_threshold, 10);
    assert_eq!(sg.failed_login_window_minutes, 15);
    assert_eq!(sg.travel_hours, 2);
    assert_eq!(sg.max_silence_hours, 48);
    assert!(sg.references.is_empty());
    assert!(policy.jurisdiction("XX").is_none());

    assert_eq!(policy.sod_rules.len(), 3);
    let r1 = &policy.sod_rules[0];
    assert_eq!(r1.id, "SOD-001");
    assert_eq!(r1.name, "Beneficiary maintenance vs payout release");
    assert_eq!(r1.kind, SodKind::Static);
    assert_eq!(r1.risk, Severity::Critical);
    assert_eq!(r1.scope, Scope::Global);
    assert_eq!(
        r1.description.as_deref(),
        Some("Maker and checker of a payout must differ.")
    );
    assert_eq!(r1.functions.len(), 2);
    assert_eq!(r1.functions[0].name, "Maintain beneficiaries");
    assert_eq!(
        r1.functions[0].patterns,
        vec![
            Pattern {
                system: None,
                name: "beneficiary.create".into()
            },
            Pattern {
                system: Some("pay-hk".into()),
                name: "beneficiary.edit".into()
            },
        ]
    );
    assert_eq!(r1.functions[1].patterns[0].to_string(), "*:payout.release");

    let r2 = &policy.sod_rules[1];
    assert_eq!(r2.kind, SodKind::Transaction);
    assert_eq!(
        r2.risk,
        Severity::Critical,
        "transaction rules default to critical"
    );
    assert_eq!(r2.scope, Scope::Global, "scope defaults to global");
    assert_eq!(r2.description, None);
    // Split at the first ':' only.
    assert_eq!(
        r2.functions[1].patterns[0],
        Pattern {
            system: Some("pay-sg".into()),
            name: "payout.approve:v2".into()
        }
    );

    let r3 = &policy.sod_rules[2];
    assert_eq!(r3.scope, Scope::Jurisdiction);
    assert_eq!(r3.risk, Severity::Medium);

    assert_eq!(policy.grading.job_functions.len(), 2);
    assert_eq!(policy.grading.job_functions["support"], Severity::Medium);
    assert_eq!(policy.grading.job_functions["engineer"], Severity::High);
    assert_eq!(policy.grading.min_size, 5);
    assert_eq!(policy.grading.max_share, 0.25);

    let names: Vec<_> = policy
        .files
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["grading.toml", "jurisdictions.toml", "sod_rules.toml"]
    );
    for (path, sha) in &policy.files {
        assert_eq!(path.parent().unwrap(), dir.path());
        assert_eq!(*sha, sha256_hex(path));
        assert_eq!(sha.len(), 64);
        assert!(sha
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
    }
}

#[test]
fn contract_jurisdiction_example_loads_verbatim() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "jurisdictions.toml",
        r#"
[[jurisdiction]]
code = "HK"                       # required, unique; [A-Z0-9_-]{1,16}
name = "Hong Kong"                # required
regulator = "Hong Kong Monetary Authority"
timezone = "Asia/Hong_Kong"       # for displaying times in that jurisdiction's report
stale_grant_days = 90             # defaults shown
dormant_account_days = 90
termination_grace_hours = 24
review_interval_days = 180
privileged_review_interval_days = 90
mfa_required_for_privileged = true
disabled_rules = []               # rule codes not evaluated for this jurisdiction
allowed_login_countries = []      # ISO alpha-2; empty: no country check
business_hours = "08:00-20:00"    # local time in `timezone`, [start, end)
business_days = ["mon", "tue", "wed", "thu", "fri"]
failed_login_threshold = 10
failed_login_window_minutes = 15
travel_hours = 2
max_silence_hours = 48
[jurisdiction.references]         # rule code -> regulatory citation(s) shown in reports
DORMANT_ACCOUNT = ["PCI DSS v4.0.1 req. 8.2.6"]
"#,
    );
    write(dir.path(), "sod_rules.toml", "rule = []\n");
    let policy = load(&dir).unwrap();
    let hk = &policy.jurisdictions[0];
    // The values shown are the defaults, so the example equals a bare entry.
    let mut bare = permaudit::policy::Jurisdiction::new("HK", "Hong Kong");
    bare.regulator = Some("Hong Kong Monetary Authority".into());
    bare.timezone = chrono_tz::Asia::Hong_Kong;
    bare.references.insert(
        "DORMANT_ACCOUNT".into(),
        vec!["PCI DSS v4.0.1 req. 8.2.6".into()],
    );
    assert_eq!(*hk, bare);
}

#[test]
fn grading_absent_uses_defaults_and_is_not_listed() {
    let dir = policy_dir();
    let policy = load(&dir).unwrap();
    assert!(policy.grading.job_functions.is_empty());
    assert_eq!(policy.grading.min_size, 10);
    assert_eq!(policy.grading.max_share, 0.10);
    let names: Vec<_> = policy
        .files
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["jurisdictions.toml", "sod_rules.toml"]);
}

#[test]
fn explicit_empty_rule_list_means_no_rules() {
    let dir = policy_dir();
    write(dir.path(), "sod_rules.toml", "# no rules yet\nrule = []\n");
    assert!(load(&dir).unwrap().sod_rules.is_empty());
}

/// The attack: a truncated, zero-byte or comment-only sod_rules.toml (a failed deploy, an
/// editor that saved nothing) must not switch every SoD control off in silence.
#[test]
fn zero_byte_or_comment_only_sod_rules_file_is_refused() {
    for text in ["", "# rules moved to git\n", "\n\n"] {
        let dir = policy_dir();
        write(dir.path(), "sod_rules.toml", text);
        let msg = load(&dir).unwrap_err().to_string();
        assert_mentions(&msg, &["sod_rules.toml", "no SoD rules", "rule = []"]);
    }
}

#[test]
fn empty_grading_file_uses_defaults() {
    let dir = policy_dir();
    write(dir.path(), "grading.toml", "");
    let policy = load(&dir).unwrap();
    assert_eq!(policy.grading.min_size, 10);
    assert_eq!(policy.files.len(), 3);
}

#[test]
fn peer_group_bounds_are_inclusive() {
    let dir = policy_dir();
    write(
        dir.path(),
        "grading.toml",
        "[peer_groups]\nmin_size = 1\nmax_share = 0\n",
    );
    let g = load(&dir).unwrap().grading;
    assert_eq!((g.min_size, g.max_share), (1, 0.0));
    write(
        dir.path(),
        "grading.toml",
        "[peer_groups]\nmax_share = 1.0\n",
    );
    let g = load(&dir).unwrap().grading;
    assert_eq!((g.min_size, g.max_share), (10, 1.0));
}

#[test]
fn empty_business_days_and_lists_are_allowed() {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "jurisdictions.toml",
        "[[jurisdiction]]\ncode = \"EU-1_X\"\nname = \"EU\"\nbusiness_days = []\nbusiness_hours = \"00:00-24:00\"\n",
    );
    write(dir.path(), "sod_rules.toml", "rule = []\n");
    let policy = load(&dir).unwrap();
    let j = &policy.jurisdictions[0];
    assert!(j.business_days.is_empty());
    assert!(j.business_hours.contains(0));
    assert!(j.business_hours.contains(1439));
}

#[test]
fn business_hours_are_half_open() {
    let bh = BusinessHours {
        start_minute: 480,
        end_minute: 1200,
    };
    assert!(!bh.contains(479));
    assert!(bh.contains(480));
    assert!(bh.contains(1199));
    assert!(!bh.contains(1200));
}

// ---------------------------------------------------------------- missing files

#[test]
fn missing_jurisdictions_file_names_the_path() {
    let dir = policy_dir();
    fs::remove_file(dir.path().join("jurisdictions.toml")).unwrap();
    let err = load(&dir).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    assert_mentions(
        &err.to_string(),
        &[dir.path().join("jurisdictions.toml").to_str().unwrap()],
    );
}

#[test]
fn missing_sod_rules_file_names_the_path() {
    let dir = policy_dir();
    fs::remove_file(dir.path().join("sod_rules.toml")).unwrap();
    let msg = load_err(&dir);
    assert_mentions(&msg, &[dir.path().join("sod_rules.toml").to_str().unwrap()]);
}

#[test]
fn missing_policy_dir_is_an_error() {
    let dir = TempDir::new().unwrap();
    let err = Policy::load(&dir.path().join("nope"), RULES).unwrap_err();
    assert_mentions(&err.to_string(), &["nope", "jurisdictions.toml"]);
}

// ---------------------------------------------------------------- jurisdictions.toml

/// jurisdictions.toml with HK (valid) and a second entry made of `sg`.
fn with_second_jurisdiction(sg: &str) -> TempDir {
    let dir = policy_dir();
    write(
        dir.path(),
        "jurisdictions.toml",
        &format!("{HK}\n[[jurisdiction]]\n{sg}\n"),
    );
    dir
}

/// The SG entry with `extra` lines added; the error must name file, entry and key.
fn assert_sg_rejected(extra: &str, key: &str, problem: &str) {
    let dir = with_second_jurisdiction(&format!("code = \"SG\"\nname = \"Singapore\"\n{extra}"));
    let msg = load_err(&dir);
    assert_mentions(
        &msg,
        &[
            "jurisdictions.toml",
            "jurisdiction[1] (code \"SG\")",
            &format!("key {key}"),
            problem,
        ],
    );
}

#[test]
fn jurisdiction_file_needs_an_entry() {
    let dir = policy_dir();
    write(dir.path(), "jurisdictions.toml", "# nothing\n");
    assert_mentions(&load_err(&dir), &["jurisdictions.toml", "at least one"]);
}

#[test]
fn jurisdiction_code_is_required_valid_and_unique() {
    let msg = load_err(&with_second_jurisdiction("name = \"Singapore\""));
    assert_mentions(
        &msg,
        &[
            "jurisdictions.toml",
            "jurisdiction[1]",
            "key code",
            "required",
        ],
    );

    for bad in ["sg", "S G", "", "ABCDEFGHIJKLMNOPQ", "SG/1", "SÉ"] {
        let dir = with_second_jurisdiction(&format!("code = {bad:?}\nname = \"X\""));
        let msg = load_err(&dir);
        assert_mentions(
            &msg,
            &[
                "jurisdictions.toml",
                "jurisdiction[1]",
                "key code",
                "[A-Z0-9_-]{1,16}",
            ],
        );
    }
    // 16 characters is the limit, not beyond.
    let dir = with_second_jurisdiction("code = \"ABCDEFGHIJKLMNOP\"\nname = \"X\"");
    assert!(load(&dir).is_ok());

    let dir = with_second_jurisdiction("code = \"HK\"\nname = \"Hong Kong again\"");
    assert_mentions(
        &load_err(&dir),
        &[
            "jurisdictions.toml",
            "jurisdiction[1] (code \"HK\")",
            "key code",
            "duplicate",
        ],
    );
}

#[test]
fn jurisdiction_name_is_required() {
    let msg = load_err(&with_second_jurisdiction("code = \"SG\""));
    assert_mentions(
        &msg,
        &[
            "jurisdictions.toml",
            "jurisdiction[1] (code \"SG\")",
            "key name",
            "required",
        ],
    );
    let msg = load_err(&with_second_jurisdiction("code = \"SG\"\nname = \"  \""));
    assert_mentions(&msg, &["key name", "empty"]);
}

#[test]
fn jurisdiction_timezone_must_be_iana() {
    assert_sg_rejected("timezone = \"Singapore Time\"", "timezone", "IANA");
    assert_sg_rejected("timezone = \"SGT\"", "timezone", "IANA");
}

#[test]
fn jurisdiction_counts_must_be_at_least_one() {
    for key in [
        "stale_grant_days",
        "dormant_account_days",
        "review_interval_days",
        "privileged_review_interval_days",
        "failed_login_threshold",
        "failed_login_window_minutes",
        "travel_hours",
        "max_silence_hours",
        "security_training_interval_days",
        "log_review_days",
    ] {
        assert_sg_rejected(&format!("{key} = 0"), key, "out of range");
        assert_sg_rejected(&format!("{key} = -5"), key, "out of range");
    }
    assert_sg_rejected(
        "termination_grace_hours = -1",
        "termination_grace_hours",
        "out of range",
    );
    assert_sg_rejected(
        "revocation_sla_days = -1",
        "revocation_sla_days",
        "out of range",
    );
    assert_sg_rejected(
        "revocation_sla_days = 36501",
        "revocation_sla_days",
        "out of range",
    );
    assert_sg_rejected("freeze_sla_hours = -1", "freeze_sla_hours", "out of range");
}

#[test]
fn absurd_durations_are_rejected() {
    assert_sg_rejected(
        "stale_grant_days = 9223372036854775807",
        "stale_grant_days",
        "out of range",
    );
    assert_sg_rejected(
        "failed_login_threshold = 4294967296",
        "failed_login_threshold",
        "out of range",
    );
}

#[test]
fn jurisdiction_wrong_types_name_the_key() {
    assert_sg_rejected(
        "stale_grant_days = \"90\"",
        "stale_grant_days",
        "invalid type",
    );
    assert_sg_rejected(
        "mfa_required_for_privileged = \"yes\"",
        "mfa_required_for_privileged",
        "invalid type",
    );
    assert_sg_rejected("business_days = \"mon\"", "business_days", "invalid type");
    assert_sg_rejected(
        "allowed_login_countries = [\"HK\", 7]",
        "allowed_login_countries[1]",
        "invalid type",
    );
}

#[test]
fn business_hours_format() {
    for bad in [
        "8-20",
        "08:00",
        "08:00-20:00 ",
        "8:00-20:00",
        "08:00-25:00",
        "08:60-20:00",
        "24:00-24:00",
        "08:00-24:01",
        "08h00-20h00",
    ] {
        assert_sg_rejected(
            &format!("business_hours = {bad:?}"),
            "business_hours",
            "is not HH:MM-HH:MM",
        );
    }
    assert_sg_rejected(
        "business_hours = \"20:00-08:00\"",
        "business_hours",
        "before end",
    );
    assert_sg_rejected(
        "business_hours = \"08:00-08:00\"",
        "business_hours",
        "before end",
    );
}

#[test]
fn business_days_must_be_lowercase_and_distinct() {
    assert_sg_rejected(
        "business_days = [\"mon\", \"Tue\"]",
        "business_days[1]",
        "\"Tue\"",
    );
    assert_sg_rejected(
        "business_days = [\"monday\"]",
        "business_days[0]",
        "\"monday\"",
    );
    assert_sg_rejected(
        "business_days = [\"mon\", \"tue\", \"mon\"]",
        "business_days[2]",
        "duplicate",
    );
}

#[test]
fn allowed_login_countries_are_alpha2() {
    for bad in ["hk", "HKG", "H", "H1", ""] {
        assert_sg_rejected(
            &format!("allowed_login_countries = [\"SG\", {bad:?}]"),
            "allowed_login_countries[1]",
            "alpha-2",
        );
    }
    assert_sg_rejected(
        "allowed_login_countries = [\"SG\", \"SG\"]",
        "allowed_login_countries[1]",
        "duplicate",
    );
}

#[test]
fn disabled_rules_and_references_need_known_codes() {
    assert_sg_rejected(
        "disabled_rules = [\"DORMANT_ACCOUNT\", \"DORMANT_ACOUNT\"]",
        "disabled_rules[1]",
        "\"DORMANT_ACOUNT\" is not a known rule code",
    );
    assert_sg_rejected(
        "disabled_rules = [\"dormant_account\"]",
        "disabled_rules[0]",
        "not a known rule code",
    );
    assert_sg_rejected(
        "[jurisdiction.references]\nSTALE_GRANTS = [\"x\"]",
        "references.STALE_GRANTS",
        "not a known rule code",
    );
    assert_sg_rejected(
        "[jurisdiction.references]\nSTALE_GRANT = \"PCI 8.2.6\"",
        "references.STALE_GRANT",
        "invalid type",
    );
    assert_sg_rejected(
        "[jurisdiction.references]\nSTALE_GRANT = [\"\"]",
        "references.STALE_GRANT[0]",
        "empty",
    );
}

#[test]
fn unknown_key_in_jurisdiction_is_rejected() {
    assert_sg_rejected(
        "stale_grants_days = 30",
        "stale_grants_days",
        "unknown field",
    );
    let dir = policy_dir();
    write(
        dir.path(),
        "jurisdictions.toml",
        &format!("version = 1\n{HK}"),
    );
    assert_mentions(
        &load_err(&dir),
        &["jurisdictions.toml", "key version", "unknown field"],
    );
}

#[test]
fn errors_carry_line_and_column() {
    // HK occupies lines 1-24 of the file; the SG entry starts after it.
    let dir =
        with_second_jurisdiction("code = \"SG\"\nname = \"Singapore\"\nbusiness_hours = \"8-20\"");
    let msg = load_err(&dir);
    let line = fs::read_to_string(dir.path().join("jurisdictions.toml"))
        .unwrap()
        .lines()
        .position(|l| l.starts_with("business_hours = \"8-20\""))
        .unwrap()
        + 1;
    assert_mentions(&msg, &[&format!("line {line}, column 18")]);
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let dir = policy_dir();
    write(
        dir.path(),
        "jurisdictions.toml",
        "[[jurisdiction]]\ncode = \"SG\"\nname = Singapore\n",
    );
    let err = load(&dir).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
    assert_mentions(
        &err.to_string(),
        &["jurisdictions.toml", "invalid TOML", "line 3, column 8"],
    );
}

#[test]
fn duplicate_toml_key_is_a_syntax_error() {
    let dir = policy_dir();
    write(
        dir.path(),
        "jurisdictions.toml",
        "[[jurisdiction]]\ncode = \"SG\"\nname = \"a\"\nname = \"b\"\n",
    );
    assert_mentions(&load_err(&dir), &["jurisdictions.toml", "line 4"]);
}

// ---------------------------------------------------------------- sod_rules.toml

const FN_A: &str = "[[rule.function]]\nname = \"A\"\npermissions = [\"*:a\"]\n";
const FN_B: &str = "[[rule.function]]\nname = \"B\"\npermissions = [\"*:b\"]\n";

/// sod_rules.toml with one valid rule and then `second` as rule[1].
fn with_second_rule(second: &str) -> TempDir {
    let dir = policy_dir();
    let first = format!("[[rule]]\nid = \"SOD-001\"\nname = \"ok\"\nkind = \"static\"\nrisk = \"low\"\n{FN_A}{FN_B}");
    write(
        dir.path(),
        "sod_rules.toml",
        &format!("{first}\n[[rule]]\n{second}"),
    );
    dir
}

fn assert_rule_rejected(second: &str, entry: &str, key: &str, problem: &str) {
    let msg = load_err(&with_second_rule(second));
    assert_mentions(
        &msg,
        &["sod_rules.toml", entry, &format!("key {key}"), problem],
    );
}

const R2: &str = "rule[1] (id \"SOD-002\")";

#[test]
fn rule_id_is_required_and_unique() {
    assert_rule_rejected(
        &format!("name = \"x\"\nkind = \"static\"\nrisk = \"low\"\n{FN_A}{FN_B}"),
        "rule[1]",
        "id",
        "required",
    );
    assert_rule_rejected(
        &format!("id = \"SOD-001\"\nname = \"x\"\nkind = \"static\"\nrisk = \"low\"\n{FN_A}{FN_B}"),
        "rule[1] (id \"SOD-001\")",
        "id",
        "duplicate id \"SOD-001\"",
    );
    assert_rule_rejected(
        &format!("id = \"\"\nname = \"x\"\nkind = \"static\"\nrisk = \"low\"\n{FN_A}{FN_B}"),
        "rule[1]",
        "id",
        "empty",
    );
}

#[test]
fn rule_name_kind_risk_scope() {
    let head = |name: &str, kind: &str, risk: &str, scope: &str| {
        format!("id = \"SOD-002\"\n{name}{kind}{risk}{scope}{FN_A}{FN_B}")
    };
    let name = "name = \"x\"\n";
    let stat = "kind = \"static\"\n";
    let low = "risk = \"low\"\n";
    assert_rule_rejected(&head("", stat, low, ""), R2, "name", "required");
    assert_rule_rejected(&head(name, "", low, ""), R2, "kind", "required");
    assert_rule_rejected(
        &head(name, "kind = \"Static\"\n", low, ""),
        R2,
        "kind",
        "\"Static\" is not one of static, transaction",
    );
    assert_rule_rejected(&head(name, stat, "", ""), R2, "risk", "required");
    assert_rule_rejected(
        &head(name, stat, "risk = \"severe\"\n", ""),
        R2,
        "risk",
        "\"severe\" is not a risk level",
    );
    assert_rule_rejected(
        &head(name, stat, "risk = \"High\"\n", ""),
        R2,
        "risk",
        "not a risk level",
    );
    assert_rule_rejected(
        &head(name, stat, low, "scope = \"local\"\n"),
        R2,
        "scope",
        "\"local\" is not one of global, jurisdiction",
    );
    assert_rule_rejected(
        &head(name, stat, "risk = 3\n", ""),
        R2,
        "risk",
        "invalid type",
    );
}

#[test]
fn rule_needs_two_functions() {
    let base = "id = \"SOD-002\"\nname = \"x\"\nkind = \"static\"\nrisk = \"low\"\n";
    assert_rule_rejected(base, R2, "function", "at least two");
    assert_rule_rejected(&format!("{base}{FN_A}"), R2, "function", "at least two");
}

#[test]
fn function_list_must_match_rule_kind() {
    let stat = "id = \"SOD-002\"\nname = \"x\"\nkind = \"static\"\nrisk = \"low\"\n";
    let tx = "id = \"SOD-002\"\nname = \"x\"\nkind = \"transaction\"\n";
    assert_rule_rejected(
        &format!("{stat}{FN_A}[[rule.function]]\nname = \"B\"\nactions = [\"*:b\"]\n"),
        R2,
        "function[1].actions",
        "not `actions`",
    );
    assert_rule_rejected(
        &format!("{stat}{FN_A}[[rule.function]]\nname = \"B\"\npermissions = [\"*:b\"]\nactions = [\"*:b\"]\n"),
        R2,
        "function[1].actions",
        "not `actions`",
    );
    assert_rule_rejected(
        &format!("{tx}{FN_A}{FN_B}"),
        R2,
        "function[0].permissions",
        "not `permissions`",
    );
    assert_rule_rejected(
        &format!("{stat}{FN_A}[[rule.function]]\nname = \"B\"\n"),
        R2,
        "function[1].permissions",
        "required",
    );
    assert_rule_rejected(
        &format!("{tx}[[rule.function]]\nname = \"A\"\nactions = [\"*:a\"]\n[[rule.function]]\nname = \"B\"\n"),
        R2,
        "function[1].actions",
        "required",
    );
}

#[test]
fn function_fields() {
    let stat = "id = \"SOD-002\"\nname = \"x\"\nkind = \"static\"\nrisk = \"low\"\n";
    assert_rule_rejected(
        &format!("{stat}{FN_A}[[rule.function]]\nname = \"B\"\npermissions = []\n"),
        R2,
        "function[1].permissions",
        "at least one pattern",
    );
    assert_rule_rejected(
        &format!("{stat}{FN_A}[[rule.function]]\npermissions = [\"*:b\"]\n"),
        R2,
        "function[1].name",
        "required",
    );
    assert_rule_rejected(
        &format!("{stat}{FN_A}{FN_A}"),
        R2,
        "function[1].name",
        "duplicate function name \"A\"",
    );
}

#[test]
fn patterns_must_be_system_colon_name() {
    let stat = "id = \"SOD-002\"\nname = \"x\"\nkind = \"static\"\nrisk = \"low\"\n";
    for bad in [
        "payout.release",
        ":payout.release",
        "pay-hk:",
        "*:",
        ":",
        "",
    ] {
        assert_rule_rejected(
            &format!(
                "{stat}{FN_A}[[rule.function]]\nname = \"B\"\npermissions = [\"*:b\", {bad:?}]\n"
            ),
            R2,
            "function[1].permissions[1]",
            &format!("{bad:?} is not a pattern system_id:name"),
        );
    }
}

#[test]
fn unknown_key_in_rule_or_function_is_rejected() {
    let stat = "id = \"SOD-002\"\nname = \"x\"\nkind = \"static\"\nrisk = \"low\"\n";
    assert_rule_rejected(
        &format!("{stat}severity = \"high\"\n{FN_A}{FN_B}"),
        R2,
        "severity",
        "unknown field `severity`",
    );
    assert_rule_rejected(
        &format!("{stat}{FN_A}[[rule.function]]\nname = \"B\"\npermission = [\"*:b\"]\n"),
        R2,
        "function[1].permission",
        "unknown field `permission`",
    );
    let dir = policy_dir();
    write(dir.path(), "sod_rules.toml", &format!("[[rules]]\n{stat}"));
    assert_mentions(
        &load_err(&dir),
        &["sod_rules.toml", "key rules", "unknown field"],
    );
}

// ---------------------------------------------------------------- grading.toml

fn assert_grading_rejected(text: &str, parts: &[&str]) {
    let dir = policy_dir();
    write(dir.path(), "grading.toml", text);
    let msg = load_err(&dir);
    assert_mentions(&msg, &["grading.toml"]);
    assert_mentions(&msg, parts);
}

#[test]
fn grading_job_functions() {
    assert_grading_rejected(
        "[[job_function]]\nname = \"support\"\nmax_risk = \"low\"\n[[job_function]]\nname = \"support\"\nmax_risk = \"high\"\n",
        &["job_function[1] (name \"support\")", "key name", "duplicate"],
    );
    assert_grading_rejected(
        "[[job_function]]\nname = \"support\"\nmax_risk = \"extreme\"\n",
        &[
            "job_function[0] (name \"support\")",
            "key max_risk",
            "\"extreme\" is not a risk level",
        ],
    );
    assert_grading_rejected(
        "[[job_function]]\nname = \"support\"\n",
        &[
            "job_function[0] (name \"support\")",
            "key max_risk",
            "required",
        ],
    );
    assert_grading_rejected(
        "[[job_function]]\nmax_risk = \"low\"\n",
        &["job_function[0]", "key name", "required"],
    );
    assert_grading_rejected(
        "[[job_function]]\nname = \"\"\nmax_risk = \"low\"\n",
        &["job_function[0]", "key name", "empty"],
    );
}

#[test]
fn grading_peer_groups() {
    for (text, key) in [
        ("min_size = 0", "min_size"),
        ("min_size = -1", "min_size"),
        ("max_share = 1.5", "max_share"),
        ("max_share = -0.1", "max_share"),
        ("max_share = nan", "max_share"),
        ("max_share = inf", "max_share"),
    ] {
        assert_grading_rejected(
            &format!("[peer_groups]\n{text}\n"),
            &["[peer_groups]", &format!("key {key}"), "out of range"],
        );
    }
    assert_grading_rejected(
        "[peer_groups]\nmax_share = \"10%\"\n",
        &["[peer_groups]", "key max_share", "invalid type"],
    );
}

#[test]
fn unknown_key_in_grading_is_rejected() {
    assert_grading_rejected(
        "[[job_function]]\nname = \"support\"\nmax_risk = \"low\"\nmin_risk = \"low\"\n",
        &[
            "job_function[0] (name \"support\")",
            "key min_risk",
            "unknown field",
        ],
    );
    assert_grading_rejected(
        "[peer_groups]\nmin_size = 3\nmax_shares = 0.2\n",
        &["[peer_groups]", "key max_shares", "unknown field"],
    );
    assert_grading_rejected(
        "[peer_group]\nmin_size = 3\n",
        &["key peer_group", "unknown field"],
    );
}

// ---------------------------------------------------------------- patterns, risk

#[test]
fn pattern_matching_with_wildcard() {
    let any = Pattern::parse("*:payout.release").unwrap();
    assert_eq!(any.system, None);
    assert!(any.matches("pay-hk", "payout.release"));
    assert!(any.matches("pay-sg", "payout.release"));
    assert!(!any.matches("pay-hk", "payout.create"));
    assert!(
        !any.matches("pay-hk", "Payout.release"),
        "names compare exactly"
    );

    let one = Pattern::parse("pay-hk:beneficiary.edit").unwrap();
    assert!(one.matches("pay-hk", "beneficiary.edit"));
    assert!(!one.matches("pay-sg", "beneficiary.edit"));
    assert!(!one.matches("pay-hk ", "beneficiary.edit"));

    // Only a whole `*` is a wildcard.
    let star_prefix = Pattern::parse("pay-*:x").unwrap();
    assert_eq!(star_prefix.system.as_deref(), Some("pay-*"));
    assert!(!star_prefix.matches("pay-hk", "x"));
    let star_name = Pattern::parse("*:*").unwrap();
    assert!(!star_name.matches("pay-hk", "x"));
    assert!(star_name.matches("pay-hk", "*"));

    let colons = Pattern::parse("db:grant:all").unwrap();
    assert!(colons.matches("db", "grant:all"));
    assert_eq!(colons.to_string(), "db:grant:all");
    assert_eq!(Pattern::parse("nocolon"), None);
}

#[test]
fn risk_order_and_parsing() {
    assert!(
        Severity::Low < Severity::Medium
            && Severity::Medium < Severity::High
            && Severity::High < Severity::Critical
    );
    for r in [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ] {
        assert_eq!(r.as_str().parse::<Severity>().unwrap(), r);
        assert_eq!(r.to_string(), r.as_str());
    }
    assert!("Critical".parse::<Severity>().is_err());
    assert!(" low".parse::<Severity>().is_err());
    assert_eq!(serde_json::to_string(&Severity::High).unwrap(), "\"high\"");
}

// ---------------------------------------------------------------- validate_against_systems

fn systems(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(s, j)| (s.to_string(), j.to_string()))
        .collect()
}

#[test]
fn validate_against_systems_accepts_known_systems() {
    let policy = load(&policy_dir()).unwrap();
    policy
        .validate_against_systems(&systems(&[
            ("pay-hk", "HK"),
            ("pay-sg", "SG"),
            ("crm", "HK"),
        ]))
        .unwrap();
}

#[test]
fn validate_against_systems_rejects_unknown_pattern_system() {
    let policy = load(&policy_dir()).unwrap();
    // SOD-002 names pay-sg in function[1].
    let err = policy
        .validate_against_systems(&systems(&[("pay-hk", "HK")]))
        .unwrap_err();
    assert_mentions(
        &err.to_string(),
        &[
            "sod_rules.toml",
            "rule[1] (id \"SOD-002\")",
            "key function[1].actions[0]",
            "\"pay-sg\"",
            "pay-sg:payout.approve:v2",
        ],
    );
}

#[test]
fn validate_against_systems_rejects_unknown_jurisdiction() {
    let policy = load(&policy_dir()).unwrap();
    let err = policy
        .validate_against_systems(&systems(&[
            ("pay-hk", "HK"),
            ("pay-sg", "SG"),
            ("pay-my", "MY"),
        ]))
        .unwrap_err();
    assert!(matches!(err, ConfigError::UnknownJurisdiction { .. }));
    assert_mentions(
        &err.to_string(),
        &[
            "systems",
            "\"pay-my\"",
            "key jurisdiction",
            "\"MY\"",
            "jurisdictions.toml",
            "HK, SG",
        ],
    );
    // Codes compare exactly.
    let err = policy
        .validate_against_systems(&systems(&[("pay-hk", "hk"), ("pay-sg", "SG")]))
        .unwrap_err();
    assert_mentions(&err.to_string(), &["\"hk\""]);
}

// ---------------------------------------------------------------- dead_static_patterns

#[test]
fn static_patterns_that_match_no_permission_are_reported_with_why() {
    let policy = load(&policy_dir()).unwrap();
    // SOD-001: beneficiary.create exists on pay-sg only (`*` reaches it), pay-hk's
    // beneficiary.edit is missing, payout.release is a role. SOD-003's patterns match
    // permissions. The transaction rule SOD-002 is not about entitlements.
    let ents = [
        ("pay-sg", "beneficiary.create", "permission"),
        ("pay-sg", "beneficiary.edit", "permission"),
        ("pay-hk", "payout.release", "role"),
        ("pay-hk", "admin", "permission"),
        ("pay-sg", "audit.read", "permission"),
    ];
    let dead: Vec<(String, &str)> = policy
        .dead_static_patterns(&ents)
        .iter()
        .map(|d| (format!("{} {}", d.rule.id, d.pattern), d.why))
        .collect();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert_eq!(dead[0].0, "SOD-001 pay-hk:beneficiary.edit");
    assert!(dead[0].1.contains("matches no permission"), "{dead:?}");
    assert_eq!(dead[1].0, "SOD-001 *:payout.release");
    assert!(dead[1].1.contains("names a role"), "{dead:?}");
}

// ---------------------------------------------------------------- run configuration

#[test]
fn run_config_resolves_paths_against_its_own_directory() {
    let dir = TempDir::new().unwrap();
    fs::create_dir(dir.path().join("conf")).unwrap();
    let path = write(
        &dir.path().join("conf"),
        "permaudit.toml",
        r#"
input_dir = "data/sample/input"
policy_dir = "../policy"
out_dir = "out"
activity_lookback_days = 14
naive_timestamps_tz = "Asia/Hong_Kong"
as_of = "2026-11-24"
templates_dir = "tpl"
"#,
    );
    fs::create_dir(dir.path().join("conf/tpl")).unwrap();
    let cfg = RunConfig::load(&path).unwrap();
    let base = dir.path().join("conf");
    assert_eq!(cfg.input_dir, base.join("data/sample/input"));
    assert_eq!(cfg.policy_dir, base.join("../policy"));
    assert_eq!(cfg.out_dir, base.join("out"));
    assert_eq!(cfg.templates_dir, Some(base.join("tpl")));
    assert_eq!(cfg.activity_lookback_days, 14);
    assert_eq!(cfg.naive_timestamps_tz, Some(chrono_tz::Asia::Hong_Kong));
    assert_eq!(cfg.as_of, NaiveDate::from_ymd_opt(2026, 11, 24));
    assert_eq!(cfg.source, path);
    assert_eq!(cfg.sha256, sha256_hex(&path));
}

/// The attack: a typo in templates_dir (or a deploy that forgot the folder) would silently
/// render the built-in templates instead of the house's own.
#[test]
fn run_config_refuses_a_templates_dir_that_is_not_a_directory() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "tpl-file", "not a folder");
    for missing in ["tmpl", "tpl-file"] {
        let path = write(
            dir.path(),
            "permaudit.toml",
            &format!("input_dir = \"in\"\npolicy_dir = \"pol\"\ntemplates_dir = \"{missing}\"\n"),
        );
        let msg = RunConfig::load(&path).unwrap_err().to_string();
        assert_mentions(&msg, &["templates_dir", missing, "not a directory"]);
    }
}

#[test]
fn run_config_defaults() {
    let dir = TempDir::new().unwrap();
    let path = write(
        dir.path(),
        "permaudit.toml",
        "input_dir = \"in\"\npolicy_dir = \"pol\"\n",
    );
    let cfg = RunConfig::load(&path).unwrap();
    assert_eq!(cfg.out_dir, dir.path().join("out"));
    assert_eq!(cfg.activity_lookback_days, 30);
    assert_eq!(cfg.naive_timestamps_tz, None);
    assert_eq!(cfg.as_of, None);
    assert_eq!(cfg.templates_dir, None);
}

#[test]
fn run_config_keeps_absolute_paths_and_relative_config_path() {
    let dir = TempDir::new().unwrap();
    let abs = dir.path().join("elsewhere");
    let path = write(
        dir.path(),
        "permaudit.toml",
        &format!(
            "input_dir = {:?}\npolicy_dir = \"p\"\n",
            abs.to_str().unwrap()
        ),
    );
    let cfg = RunConfig::load(&path).unwrap();
    assert_eq!(cfg.input_dir, abs);

    // A bare file name resolves against the current directory, i.e. stays relative.
    let cwd_relative = Path::new("permaudit-policy-test-does-not-exist.toml");
    let err = RunConfig::load(cwd_relative).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    assert_mentions(
        &err.to_string(),
        &["permaudit-policy-test-does-not-exist.toml"],
    );
}

#[test]
fn run_config_accepts_a_toml_date_literal() {
    let dir = TempDir::new().unwrap();
    let path = write(
        dir.path(),
        "permaudit.toml",
        "input_dir = \"i\"\npolicy_dir = \"p\"\nas_of = 2026-02-28\n",
    );
    assert_eq!(
        RunConfig::load(&path).unwrap().as_of,
        NaiveDate::from_ymd_opt(2026, 2, 28)
    );
}

fn run_config_err(text: &str) -> String {
    let dir = TempDir::new().unwrap();
    let path = write(dir.path(), "permaudit.toml", text);
    match RunConfig::load(&path) {
        Ok(cfg) => panic!("{text:?} should be rejected, got {cfg:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn run_config_invalid_values() {
    let ok = "input_dir = \"i\"\npolicy_dir = \"p\"\n";
    let cases: &[(&str, &str, &str)] = &[
        ("policy_dir = \"p\"\n", "input_dir", "required"),
        ("input_dir = \"i\"\n", "policy_dir", "required"),
        (
            "input_dir = \"\"\npolicy_dir = \"p\"\n",
            "input_dir",
            "empty",
        ),
        (
            &format!("{ok}activity_lookback_days = 0\n"),
            "activity_lookback_days",
            "out of range",
        ),
        (
            &format!("{ok}activity_lookback_days = \"30\"\n"),
            "activity_lookback_days",
            "invalid type",
        ),
        (
            &format!("{ok}naive_timestamps_tz = \"HKT\"\n"),
            "naive_timestamps_tz",
            "IANA",
        ),
        (
            &format!("{ok}naive_timestamps_tz = \"asia/hong_kong\"\n"),
            "naive_timestamps_tz",
            "IANA",
        ),
        (
            &format!("{ok}as_of = \"2026-02-30\"\n"),
            "as_of",
            "YYYY-MM-DD",
        ),
        (
            &format!("{ok}as_of = \"2026-2-3\"\n"),
            "as_of",
            "YYYY-MM-DD",
        ),
        (
            &format!("{ok}as_of = \"24/11/2026\"\n"),
            "as_of",
            "YYYY-MM-DD",
        ),
        (
            &format!("{ok}as_of = 2026-11-24T00:00:00Z\n"),
            "as_of",
            "YYYY-MM-DD",
        ),
        (&format!("{ok}as_of = 20261124\n"), "as_of", "YYYY-MM-DD"),
        (
            &format!("{ok}out_dirr = \"o\"\n"),
            "out_dirr",
            "unknown field",
        ),
    ];
    for (text, key, problem) in cases {
        let msg = run_config_err(text);
        assert_mentions(&msg, &["permaudit.toml", &format!("key {key}"), problem]);
    }
}

#[test]
fn run_config_syntax_error_has_line_and_column() {
    let msg = run_config_err("input_dir = \"i\"\npolicy_dir = 'p\n");
    assert_mentions(&msg, &["permaudit.toml", "invalid TOML", "line 2"]);
}

#[test]
fn run_config_rejects_non_utf8() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("permaudit.toml");
    fs::write(&path, b"input_dir = \"\xff\"\n").unwrap();
    let msg = RunConfig::load(&path).unwrap_err().to_string();
    assert_mentions(&msg, &["permaudit.toml", "UTF-8"]);
}

#[test]
fn v4_keys_default_and_validate() {
    let dir = policy_dir();
    let p = load(&dir).expect("loads");
    let sg = p.jurisdictions.iter().find(|j| j.code == "SG").expect("SG");
    assert_eq!(sg.security_training_interval_days, 365);
    assert!(sg.security_training_courses.is_empty());
    assert!(sg.allowed_mfa_methods_for_privileged.is_empty());
    assert_eq!(sg.log_review_days, 90);
    // Methods are the contract's lower-case words; courses are names, not empty; neither
    // list may repeat an item.
    assert_sg_rejected(
        "allowed_mfa_methods_for_privileged = [\"fido2\", \"SMS\"]",
        "allowed_mfa_methods_for_privileged[1]",
        "\"SMS\" is not one of",
    );
    assert_sg_rejected(
        "allowed_mfa_methods_for_privileged = [\"fido2\", \"fido2\"]",
        "allowed_mfa_methods_for_privileged[1]",
        "duplicate",
    );
    assert_sg_rejected(
        "security_training_courses = [\"SEC-101\", \" \"]",
        "security_training_courses[1]",
        "empty",
    );
    assert_sg_rejected(
        "security_training_courses = [\"SEC-101\", \"SEC-101\"]",
        "security_training_courses[1]",
        "duplicate",
    );
}
