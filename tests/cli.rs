//! End-to-end: the binary on the sample and on broken inputs, as a user runs it.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_permaudit"))
}

/// A copy of the sample (input + policy) and a config pointing at it, in a temp dir.
fn sample_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["input", "policy"] {
        let from = Path::new("data/sample").join(sub);
        let to = dir.path().join(sub);
        std::fs::create_dir_all(&to).expect("mkdir");
        for e in std::fs::read_dir(&from).expect("read sample") {
            let p = e.expect("entry").path();
            std::fs::copy(&p, to.join(p.file_name().expect("name"))).expect("copy");
        }
    }
    let cfg = dir.path().join("permaudit.toml");
    std::fs::write(&cfg, "input_dir = \"input\"\npolicy_dir = \"policy\"\nout_dir = \"out\"\nas_of = \"2026-11-24\"\n")
        .expect("config");
    (dir, cfg)
}

#[test]
fn sample_run_writes_every_output_and_is_deterministic() {
    let (dir, cfg) = sample_copy();
    let run = |out: &str| {
        let o = bin()
            .args(["run", "--config"])
            .arg(&cfg)
            .args(["--out", out])
            .current_dir(dir.path())
            .output()
            .expect("run");
        assert!(
            o.status.success(),
            "run failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let stdout = run("out-a");
    assert!(
        stdout.starts_with("permaudit run as_of=2026-11-24 status=ok findings=60"),
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
    let manifest: serde_json::Value =
        serde_json::from_slice(a.get(Path::new("manifest.json")).expect("manifest")).expect("json");
    let grants = manifest["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["table"] == "grants")
        .expect("grants")
        .clone();
    assert_eq!(grants["rows_read"], 401);
    assert_eq!(grants["rows_quarantined"], 0);
    assert_eq!(manifest["evaluation_instant"], "2026-11-25T00:00:00Z");
}

#[test]
fn typos_that_would_silently_disable_a_control_are_warnings() {
    let (dir, cfg) = sample_copy();
    let path = dir.path().join("input/entitlements.csv");
    let text = std::fs::read_to_string(&path).expect("entitlements");
    std::fs::write(&path, text.replacen(",privileged,", ", Privileged,", 1)).expect("write");
    let path = dir.path().join("policy/sod_rules.toml");
    let text = std::fs::read_to_string(&path).expect("sod rules");
    let text = text.replacen("\"*:payout.release\"", "\"*:role.payout_checker\"", 1);
    let text = text.replacen("\"*:beneficiary.create\"", "\"*:beneficiary.creat\"", 1);
    std::fs::write(&path, text).expect("write");
    let o = bin()
        .args(["run", "--config"])
        .arg(&cfg)
        .current_dir(dir.path())
        .output()
        .expect("run");
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
    let (dir, cfg) = sample_copy();
    for loose in ["2026-1-5", " 2026-11-24", "+2026-11-24", "24/11/2026"] {
        let o = bin()
            .args(["run", "--config"])
            .arg(&cfg)
            .args(["--as-of", loose])
            .current_dir(dir.path())
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(2), "{loose:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("YYYY-MM-DD"), "{err}");
    }
    assert!(!dir.path().join("out").exists());
}

#[test]
fn file_level_error_exits_2_and_writes_nothing() {
    let (dir, cfg) = sample_copy();
    let grants = dir.path().join("input/grants.csv");
    let text = std::fs::read_to_string(&grants).expect("grants");
    let fixed = text.replacen("granted_at", "granted_on", 1);
    std::fs::write(&grants, fixed).expect("write");
    let o = bin()
        .args(["run", "--config"])
        .arg(&cfg)
        .current_dir(dir.path())
        .output()
        .expect("run");
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
    let (dir, cfg) = sample_copy();
    let ids = dir.path().join("input/identities.csv");
    let mut text = std::fs::read_to_string(&ids).expect("identities");
    let cols = text.lines().next().expect("header").split(',').count();
    let mut row = vec![""; cols];
    row[0] = "E9999";
    text.push_str(&format!("{}\n", row.join(",")));
    std::fs::write(&ids, text).expect("write");

    let o = bin()
        .args(["run", "--strict", "--config"])
        .arg(&cfg)
        .current_dir(dir.path())
        .output()
        .expect("run");
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!dir.path().join("out/2026-11-24").exists());

    let o = bin()
        .args(["run", "--config"])
        .arg(&cfg)
        .current_dir(dir.path())
        .output()
        .expect("run");
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
    let (dir, cfg) = sample_copy();
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
    let o = bin()
        .args(["run", "--config"])
        .arg(&cfg)
        .current_dir(dir.path())
        .output()
        .expect("run");
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
