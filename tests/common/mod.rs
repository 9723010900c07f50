//! Test fixture: a small input directory and policy written to a temp dir, analysed for one
//! as_of. Tables not given are header-only.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use permaudit::ingest::schema;
use permaudit::pipeline::{analyze, Analysis, Inputs};
use polars::prelude::*;

pub const DEFAULT_JURISDICTIONS: &str = r#"
[[jurisdiction]]
code = "HK"
name = "Hong Kong"
timezone = "Asia/Hong_Kong"

[[jurisdiction]]
code = "UK"
name = "United Kingdom"
timezone = "Europe/London"
"#;

pub const DEFAULT_SYSTEMS: &str =
    "system_id,name,jurisdiction\npay-hk,Payout console HK,HK\npay-uk,Payout console UK,UK\n";

pub struct Fixture {
    pub dir: tempfile::TempDir,
    tables: BTreeMap<String, String>,
    policy: BTreeMap<String, String>,
    pub naive_tz: Option<chrono_tz::Tz>,
    pub lookback_days: i64,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Fixture {
    pub fn new() -> Self {
        let mut f = Fixture {
            dir: tempfile::tempdir().expect("tempdir"),
            tables: BTreeMap::new(),
            policy: BTreeMap::new(),
            naive_tz: None,
            lookback_days: 30,
        };
        f.policy
            .insert("jurisdictions.toml".into(), DEFAULT_JURISDICTIONS.into());
        f.policy
            .insert("sod_rules.toml".into(), "rule = []\n".into());
        f.tables
            .insert("systems.csv".into(), DEFAULT_SYSTEMS.into());
        f
    }

    /// Sets a table's CSV text (file name without extension, e.g. "grants").
    pub fn table(mut self, name: &str, csv: &str) -> Self {
        self.tables.insert(format!("{name}.csv"), csv.to_string());
        self
    }

    /// Sets a policy file's text ("jurisdictions", "sod_rules", "grading").
    pub fn policy(mut self, name: &str, toml: &str) -> Self {
        self.policy.insert(format!("{name}.toml"), toml.to_string());
        self
    }

    pub fn input_dir(&self) -> PathBuf {
        self.dir.path().join("input")
    }

    pub fn policy_dir(&self) -> PathBuf {
        self.dir.path().join("policy")
    }

    /// Writes the files (header-only for tables not given, except `training`, whose absence
    /// means something else than its emptiness: absent unless given).
    pub fn write(&self) {
        std::fs::create_dir_all(self.input_dir()).expect("mkdir");
        std::fs::create_dir_all(self.policy_dir()).expect("mkdir");
        for s in schema::ALL {
            let name = format!("{}.csv", s.name);
            if s.table == schema::Table::Training && !self.tables.contains_key(&name) {
                continue;
            }
            let text = self.tables.get(&name).cloned().unwrap_or_else(|| {
                let cols: Vec<&str> = s.columns.iter().map(|c| c.name).collect();
                format!("{}\n", cols.join(","))
            });
            std::fs::write(self.input_dir().join(name), text).expect("write");
        }
        for (name, text) in &self.policy {
            std::fs::write(self.policy_dir().join(name), text).expect("write");
        }
    }

    pub fn analyze(&self, as_of: &str) -> permaudit::error::Result<Analysis> {
        self.write();
        let input_dir = self.input_dir();
        let policy_dir = self.policy_dir();
        let inputs = Inputs {
            input_dir: &input_dir,
            policy_dir: &policy_dir,
            naive_tz: self.naive_tz,
            lookback_days: self.lookback_days,
            sources: Default::default(),
        };
        analyze(&inputs, date(as_of))
    }

    /// [`Self::analyze`], with decisions of earlier runs and campaigns as a run reads them
    /// from OUT.
    pub fn analyze_remediated(
        &self,
        as_of: &str,
        remediation: permaudit::resolve::Remediation,
    ) -> permaudit::error::Result<Analysis> {
        self.write();
        let (input_dir, policy_dir) = (self.input_dir(), self.policy_dir());
        let inputs = Inputs {
            input_dir: &input_dir,
            policy_dir: &policy_dir,
            naive_tz: self.naive_tz,
            lookback_days: self.lookback_days,
            sources: Default::default(),
        };
        permaudit::pipeline::analyze_with(&inputs, date(as_of), None, remediation)
    }

    /// Findings of one rule as maps of non-null column values.
    pub fn findings(&self, as_of: &str, rule: &str) -> Vec<BTreeMap<String, String>> {
        let a = self.analyze(as_of).expect("analysis succeeds");
        rows(&a.findings, rule)
    }
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

/// Rows of a findings frame for one rule, each as column -> text (nulls omitted).
pub fn rows(df: &DataFrame, rule: &str) -> Vec<BTreeMap<String, String>> {
    let df = df
        .clone()
        .lazy()
        .filter(col("rule").eq(lit(rule)))
        .collect()
        .expect("filter");
    let strs: Vec<(String, Column)> = df
        .columns()
        .iter()
        .map(|c| {
            (
                c.name().to_string(),
                c.cast(&DataType::String).expect("cast"),
            )
        })
        .collect();
    (0..df.height())
        .map(|i| {
            strs.iter()
                .filter_map(|(n, c)| {
                    c.str()
                        .expect("str")
                        .get(i)
                        .map(|v| (n.clone(), v.to_string()))
                })
                .collect()
        })
        .collect()
}

/// Findings keyed by two of their columns (a rule's key), for lookups by that key.
pub fn by_pair(
    rows: Vec<BTreeMap<String, String>>,
    a: &str,
    b: &str,
) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    rows.into_iter()
        .map(|r| ((r[a].clone(), r[b].clone()), r))
        .collect()
}

/// Parses a finding's `detail` JSON.
pub fn detail(row: &BTreeMap<String, String>) -> serde_json::Value {
    serde_json::from_str(row.get("detail").map(String::as_str).unwrap_or("null"))
        .expect("detail is JSON")
}

/// Copies a directory tree.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let p = e.expect("entry").path();
        let target = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, target).expect("copy");
        }
    }
}

/// Every file under `dir`, by relative path, with its bytes.
pub fn files(dir: &std::path::Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("prefix").to_path_buf();
                out.insert(rel, std::fs::read(&path).expect("read"));
            }
        }
    }
    out
}

/// The binary under test.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_permaudit"))
}

/// A copy of the sample (input + policy) and a config pointing at it (plus `extra_config`),
/// in a temp dir.
pub fn sample_copy(extra_config: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(
        std::path::Path::new("data/sample/input"),
        &dir.path().join("input"),
    );
    copy_dir(
        std::path::Path::new("data/sample/policy"),
        &dir.path().join("policy"),
    );
    let cfg = dir.path().join("permaudit.toml");
    std::fs::write(
        &cfg,
        format!("input_dir = \"input\"\npolicy_dir = \"policy\"\nout_dir = \"out\"\nas_of = \"2026-11-24\"\n{extra_config}"),
    )
    .expect("config");
    (dir, cfg)
}

/// `permaudit run ARGS --config CFG` in `dir`.
pub fn run_in(dir: &std::path::Path, cfg: &std::path::Path, args: &[&str]) -> std::process::Output {
    bin()
        .arg("run")
        .args(args)
        .arg("--config")
        .arg(cfg)
        .current_dir(dir)
        .output()
        .expect("run")
}

/// `permaudit run ARGS --config CFG` in `dir`, killed if it has not ended within `limit`:
/// for attacks whose failure mode is a run that never ends (a FIFO, a link loop), so that a
/// regression fails the test instead of hanging the suite.
pub fn run_in_within(
    dir: &std::path::Path,
    cfg: &std::path::Path,
    args: &[&str],
    limit: std::time::Duration,
) -> std::process::Output {
    command_in_within("run", dir, cfg, args, limit)
}

/// `permaudit COMMAND ARGS --config CFG` in `dir`, killed like [`run_in_within`].
pub fn command_in_within(
    command: &str,
    dir: &std::path::Path,
    cfg: &std::path::Path,
    args: &[&str],
    limit: std::time::Duration,
) -> std::process::Output {
    let out = tempfile::tempdir().expect("tempdir");
    let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
    let mut child = bin()
        .arg(command)
        .args(args)
        .arg("--config")
        .arg(cfg)
        .current_dir(dir)
        .stdout(std::fs::File::create(&stdout).expect("stdout"))
        .stderr(std::fs::File::create(&stderr).expect("stderr"))
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().expect("kill");
            child.wait().expect("wait");
            panic!(
                "permaudit {command} did not end within {limit:?}; its log:\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    std::process::Output {
        status,
        stdout: std::fs::read(&stdout).expect("stdout"),
        stderr: std::fs::read(&stderr).expect("stderr"),
    }
}

/// The command's stdout, after asserting it succeeded (its output in the failure message).
pub fn ok(o: &std::process::Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}
