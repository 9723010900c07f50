//! End-to-end: the binary on the sample and on broken inputs, as a user runs it.

use crate::common::{self, run_in, sample_copy};

use std::path::Path;

use permaudit::manifest::Manifest;

/// Rewrites one file of the copy.
fn edit(dir: &Path, rel: &str, change: impl FnOnce(String) -> String) {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, change(text)).expect("write");
}

#[test]
fn sample_run_writes_every_output_and_is_deterministic() {
    let (dir, cfg) = sample_copy("");
    let run = |out: &str| {
        let o = run_in(dir.path(), &cfg, &["--out", out]);
        assert!(
            o.status.success(),
            "run failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let stdout = run("out-a");
    assert!(
        stdout.starts_with("permaudit run as_of=2026-11-24 status=ok findings=65"),
        "{stdout}"
    );
    run("out-b");
    let a = common::files(&dir.path().join("out-a/2026-11-24"));
    let b = common::files(&dir.path().join("out-b/2026-11-24"));
    for f in [
        "findings.csv",
        "findings.parquet",
        "quarantine.csv",
        "freeze_list.csv",
        "manifest.json",
        "HK/report.html",
        "HK/report.md",
        "HK/findings.csv",
        "HK/findings.ocsf.json",
        "HK/summary.json",
        "CN/report.html",
    ] {
        assert!(
            a.contains_key(Path::new(f)),
            "{f} missing from {:?}",
            a.keys()
        );
    }
    assert_eq!(a, b, "same inputs, same as_of: byte-identical outputs");
    let cn =
        String::from_utf8_lossy(a.get(Path::new("CN/report.md")).expect("CN report")).into_owned();
    assert!(
        cn.contains("no systems"),
        "a jurisdiction without systems says so"
    );
    let bytes = a.get(Path::new("manifest.json")).expect("manifest");
    let manifest: Manifest = serde_json::from_slice(bytes).expect("a manifest");
    // The type holds every field, in the file's order: written again, the same bytes.
    let again = serde_json::to_string_pretty(&manifest).expect("json") + "\n";
    assert_eq!(again.as_bytes(), bytes.as_slice());
    let grants = manifest
        .tables
        .iter()
        .find(|t| t.table == "grants")
        .expect("grants");
    assert_eq!(grants.rows_read, 401);
    assert_eq!(grants.rows_quarantined, 0);
    assert_eq!(
        manifest.evaluation_instant.as_deref(),
        Some("2026-11-25T00:00:00Z")
    );
}

#[test]
fn typos_that_would_silently_disable_a_control_are_warnings() {
    let (dir, cfg) = sample_copy("");
    edit(dir.path(), "input/entitlements.csv", |t| {
        t.replacen(",privileged,", ", Privileged,", 1)
    });
    edit(dir.path(), "policy/sod_rules.toml", |t| {
        t.replacen("\"*:payout.release\"", "\"*:role.payout_checker\"", 1)
            .replacen("\"*:beneficiary.create\"", "\"*:beneficiary.creat\"", 1)
    });
    let o = run_in(dir.path(), &cfg, &[]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let warning = |needle: &str| {
        err.lines()
            .find(|l| l.contains("WARN") && l.contains(needle))
            .unwrap_or_else(|| panic!("no warning about {needle} in {err}"))
            .to_string()
    };
    let column = warning("unknown column");
    assert!(column.contains("\"privileged\""), "{column}");
    assert!(column.contains("entitlements.csv"), "{column}");
    assert!(warning("role.payout_checker").contains("names a role"));
    assert!(warning("beneficiary.creat").contains("matches no permission"));
}

#[test]
fn dates_on_the_command_line_are_strict() {
    let (dir, cfg) = sample_copy("");
    for loose in ["2026-1-5", " 2026-11-24", "+2026-11-24", "24/11/2026"] {
        let o = run_in(dir.path(), &cfg, &["--as-of", loose]);
        assert_eq!(o.status.code(), Some(2), "{loose:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("YYYY-MM-DD"), "{err}");
    }
    assert!(!dir.path().join("out").exists());
}

#[test]
fn file_level_error_exits_2_and_writes_nothing() {
    let (dir, cfg) = sample_copy("");
    edit(dir.path(), "input/grants.csv", |t| {
        t.replacen("granted_at", "granted_on", 1)
    });
    let o = run_in(dir.path(), &cfg, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("grants.csv") && err.contains("granted_at"),
        "{err}"
    );
    assert!(
        !dir.path().join("out/2026-11-24").exists(),
        "no output for a failed run"
    );
}

#[test]
fn strict_makes_a_quarantined_row_fatal() {
    let (dir, cfg) = sample_copy("");
    let ids = dir.path().join("input/identities.csv");
    let mut text = std::fs::read_to_string(&ids).expect("identities");
    let cols = text.lines().next().expect("header").split(',').count();
    let mut row = vec![""; cols];
    row[0] = "E9999";
    text.push_str(&format!("{}\n", row.join(",")));
    std::fs::write(&ids, text).expect("write");

    let o = run_in(dir.path(), &cfg, &["--strict"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!dir.path().join("out/2026-11-24").exists());

    let o = run_in(dir.path(), &cfg, &[]);
    assert!(o.status.success());
    let q = std::fs::read_to_string(dir.path().join("out/2026-11-24/quarantine.csv"))
        .expect("quarantine");
    assert!(
        q.contains("identities,identities.csv,")
            && q.contains("missing required value in column status"),
        "{q}"
    );
}

#[test]
fn hostile_names_are_escaped_in_reports_and_neutralised_in_csv() {
    let (dir, cfg) = sample_copy("");
    let accounts = dir.path().join("input/accounts.csv");
    let mut text = std::fs::read_to_string(&accounts).expect("accounts");
    let header: Vec<String> = text
        .lines()
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    let row: Vec<&str> = header
        .iter()
        .map(|h| match h.as_str() {
            "system_id" => "pay-hk",
            "account_id" => "\"=HYPERLINK(\"\"x\"\")<script>alert(1)</script>\"",
            "status" => "active",
            "account_type" => "human",
            _ => "",
        })
        .collect();
    text.push_str(&format!("{}\n", row.join(",")));
    std::fs::write(&accounts, text).expect("write");
    let o = run_in(dir.path(), &cfg, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html =
        std::fs::read_to_string(dir.path().join("out/2026-11-24/HK/report.html")).expect("html");
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || html.contains("&lt;script&gt;")
    );
    let csv = std::fs::read_to_string(dir.path().join("out/2026-11-24/findings.csv")).expect("csv");
    assert!(csv.contains("'=HYPERLINK"), "formula neutralised");
    assert!(!csv.contains(",=HYPERLINK"));
}

#[test]
fn a_polars_error_is_kept_as_the_cause() {
    use polars::prelude::PolarsError;
    let e = permaudit::error::Error::from(PolarsError::ComputeError("out of range".into()));
    assert_eq!(e.exit_code(), permaudit::error::ExitCode::Internal);
    assert_eq!(e.to_string(), "internal error: polars: out of range");
    let cause = std::error::Error::source(&e).expect("a source");
    assert!(cause.downcast_ref::<PolarsError>().is_some(), "{cause:?}");
}

/// `rule = []` is valid but disables both SoD controls: the run goes on (exit 0) and says
/// so, and no SoD finding can appear.
#[test]
fn empty_sod_rules_warn_that_no_segregation_of_duties_control_runs() {
    let (dir, cfg) = sample_copy("");
    std::fs::write(dir.path().join("policy/sod_rules.toml"), "rule = []\n").expect("write");
    let o = run_in(dir.path(), &cfg, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("no segregation-of-duties control runs"),
        "{stderr}"
    );
    let csv = std::fs::read_to_string(dir.path().join("out/2026-11-24/findings.csv")).expect("csv");
    assert!(csv.lines().count() > 1, "no findings at all: {csv}");
    for rule in ["SOD_CONFLICT", "SOD_TRANSACTION"] {
        assert!(!csv.contains(rule), "{rule} found:\n{csv}");
    }
}
