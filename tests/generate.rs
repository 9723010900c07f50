//! The synthetic data generator: deterministic bytes, contract-conforming input (nothing
//! quarantined), and planted cases that make most rules fire.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};
use polars::prelude::*;

use permaudit::generate::{generate, Findings, GenOptions, AS_OF};
use permaudit::pipeline::{analyze, Inputs};

/// Small enough for a debug build; 32 days cover the 30-day activity window and the
/// silent-feed plant (which needs five days).
fn opts(out: &Path, seed: u64) -> GenOptions {
    GenOptions {
        out: out.to_path_buf(),
        seed,
        identities: 400,
        days: 32,
        events_per_day: 1_500,
        findings: Default::default(),
        force: false,
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes_and_many_rules_fire() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let c = tempfile::tempdir().expect("tempdir");
    let sa = generate(&opts(a.path(), 7)).expect("generate a");
    generate(&opts(b.path(), 7)).expect("generate b");
    generate(&opts(c.path(), 8)).expect("generate c");

    let fa = common::files(a.path());
    let fb = common::files(b.path());
    let fc = common::files(c.path());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (path, bytes) in &fa {
        assert!(
            fb[path] == *bytes,
            "{} differs for the same seed",
            path.display()
        );
    }
    assert!(fa.contains_key(Path::new("permaudit.toml")));
    assert!(fa.contains_key(Path::new("policy/jurisdictions.toml")));
    let partitions = fa
        .keys()
        .filter(|p| p.starts_with("input/audit_events") && p.ends_with("part-0.parquet"))
        .count();
    assert_eq!(partitions, 32);
    let (y, m, d) = AS_OF;
    assert!(fa.contains_key(&PathBuf::from(format!(
        "input/audit_events/date={y:04}-{m:02}-{d:02}/part-0.parquet"
    ))));
    assert!(
        fa.iter().any(|(p, bytes)| fc.get(p) != Some(bytes)),
        "another seed gives the same data"
    );
    assert_eq!(sa.identities, 400);
    assert!(sa.accounts >= 3 * 400, "about three accounts per identity");
    assert!(sa.grants >= 25 * 400, "about thirty grants per identity");

    // A second generation into a used directory is refused without --force.
    assert!(generate(&opts(a.path(), 7)).is_err());

    let inputs = Inputs {
        input_dir: &a.path().join("input"),
        policy_dir: &a.path().join("policy"),
        naive_tz: None,
        lookback_days: 30,
        sources: Default::default(),
    };
    let as_of = sa.as_of.expect("as_of");
    let analysis = analyze(&inputs, as_of).expect("analyze");
    assert_eq!(
        analysis.ingest.quarantined(),
        0,
        "generated data must load without quarantine"
    );
    let rule_col = analysis
        .findings
        .column("rule")
        .expect("rule column")
        .str()
        .expect("strings")
        .clone();
    let rules: BTreeSet<String> = (0..rule_col.len())
        .filter_map(|i| rule_col.get(i).map(str::to_string))
        .collect();
    let expected = [
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
        "LOG_HASH_MISMATCH",
        "LOG_FEED_SILENT",
        "LOG_FEED_GAP",
        "FAILED_LOGIN_BURST",
        "LOGIN_FROM_UNEXPECTED_COUNTRY",
        "IMPOSSIBLE_TRAVEL",
        "OFF_HOURS_PRIVILEGED_ACTION",
        "EMERGENCY_ACCOUNT_USED",
        "GRADE_EXCEEDED",
        "PEER_OUTLIER",
        "TRAINING_OVERDUE",
        "WEAK_MFA_PRIVILEGED",
    ];
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|r| !rules.contains(*r))
        .collect();
    assert!(missing.is_empty(), "rules without findings: {missing:?}");

    // The plants that know their count exactly: that many findings, no more.
    let exact: BTreeMap<&str, usize> = sa.planted_findings.iter().copied().collect();
    assert_eq!(
        exact.keys().copied().collect::<Vec<_>>(),
        ["TRAINING_OVERDUE", "WEAK_MFA_PRIVILEGED"]
    );
    for (rule, planted) in exact {
        let found = common::rows(&analysis.findings, rule).len();
        assert!(planted > 0, "{rule}: nothing planted");
        assert_eq!(
            found, planted,
            "{rule}: {found} findings, {planted} planted"
        );
    }
    near_misses_do_not_fire(&a.path().join("input"), &analysis.findings, as_of);
}

fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).expect("open"))
        .finish()
        .expect("read")
}

/// The distinct values of a string expression over the rows `keep` selects.
fn values(df: &DataFrame, keep: Expr, value: Expr) -> BTreeSet<String> {
    let out = df
        .clone()
        .lazy()
        .filter(keep)
        .select([value.alias("v")])
        .collect()
        .expect("select");
    let v = out.column("v").expect("v").str().expect("str").clone();
    v.iter().flatten().map(str::to_string).collect()
}

/// The near misses planted beside the training and weak-MFA cases: a completion exactly
/// `security_training_interval_days` (365) before T is not overdue, and one dated T does
/// not count; weak second factors on accounts without privileged access do not fire (those
/// on failed logins, or before the activity window, are privileged accounts' near misses
/// that the exact count above rules out).
fn near_misses_do_not_fire(input: &Path, findings: &DataFrame, as_of: NaiveDate) {
    let day = 86_400_000_000i64;
    let t = (as_of + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_micros();
    let completed = || col("completed_at").cast(DataType::Int64);
    let training = read_parquet(&input.join("training.parquet"));
    let at_boundary = values(
        &training,
        completed().eq(lit(t - 365 * day)),
        col("identity_id"),
    );
    let dated_t = values(&training, completed().eq(lit(t)), col("identity_id"));
    let overdue = values(
        findings,
        col("rule").eq(lit("TRAINING_OVERDUE")),
        col("identity_id"),
    );
    assert!(!at_boundary.is_empty() && !dated_t.is_empty());
    assert!(
        at_boundary.is_disjoint(&overdue),
        "trained exactly 365 days before T, found overdue: {at_boundary:?}"
    );
    assert!(
        dated_t.is_subset(&overdue),
        "a completion dated T counted: {dated_t:?}"
    );

    let mut partitions: Vec<PathBuf> = std::fs::read_dir(input.join("audit_events"))
        .expect("partitions")
        .map(|e| e.expect("entry").path().join("part-0.parquet"))
        .collect();
    partitions.sort();
    let mut events = DataFrame::empty();
    for p in &partitions {
        let df = read_parquet(p)
            .select([
                "system_id",
                "account_id",
                "ts",
                "action",
                "outcome",
                "mfa",
                "mfa_method",
            ])
            .expect("columns");
        events.vstack_mut(&df).expect("vstack");
    }
    let weak = col("action")
        .eq(lit("login"))
        .and(col("mfa").eq(lit(true)))
        .and(
            col("mfa_method")
                .eq(lit("sms"))
                .or(col("mfa_method").eq(lit("voice")))
                .or(col("mfa_method").eq(lit("email"))),
        );
    let ts = || col("ts").cast(DataType::Int64);
    let in_window = ts().gt_eq(lit(t - 30 * day)).and(ts().lt(lit(t)));
    let key = || concat_str([col("system_id"), col("account_id")], "/", false);
    let ok = col("outcome").eq(lit("success"));
    let weak_ok = values(&events, weak.and(ok).and(in_window), key());
    let fired = values(findings, col("rule").eq(lit("WEAK_MFA_PRIVILEGED")), key());
    assert!(fired.is_subset(&weak_ok), "{fired:?} not among {weak_ok:?}");
    assert!(
        weak_ok.len() > 2 * fired.len(),
        "weak factors without privileged access: {weak_ok:?}"
    );
}

/// `--findings dense`, scaled down: every dense-planted rule fires in numbers, and the
/// findings come to about one per grant (the sparse presets have few per grant), all on
/// contract-conforming input.
#[test]
fn dense_findings_come_to_about_one_per_grant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = generate(&GenOptions {
        identities: 200,
        events_per_day: 500,
        findings: Findings::Dense,
        ..opts(dir.path(), 3)
    })
    .expect("generate");
    let config = std::fs::read_to_string(dir.path().join("permaudit.toml")).expect("config");
    assert!(config.contains("--findings dense"), "{config}");
    let inputs = Inputs {
        input_dir: &dir.path().join("input"),
        policy_dir: &dir.path().join("policy"),
        naive_tz: None,
        lookback_days: 30,
        sources: Default::default(),
    };
    let analysis = analyze(&inputs, summary.as_of.expect("as_of")).expect("analyze");
    assert_eq!(analysis.ingest.quarantined(), 0);
    let rule_col = analysis
        .findings
        .column("rule")
        .expect("rule column")
        .str()
        .expect("strings")
        .clone();
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    for rule in rule_col.iter().flatten() {
        *per_rule.entry(rule.to_string()).or_default() += 1;
    }
    for &(rule, planted) in &summary.planted_findings {
        assert_eq!(per_rule.get(rule).copied(), Some(planted), "{rule}");
    }
    let grants = summary.grants;
    // At the medium size (100 times these identities) each is in the tens of thousands.
    for rule in [
        "SOD_CONFLICT",
        "STALE_GRANT",
        "UNAPPROVED_PRIVILEGED_GRANT",
        "EXPIRED_GRANT",
        "SELF_APPROVED_GRANT",
        "SOD_TRANSACTION",
    ] {
        let n = per_rule.get(rule).copied().unwrap_or(0);
        assert!(
            n * 40 >= grants,
            "{rule}: {n} findings for {grants} grants ({per_rule:?})"
        );
    }
    let total: usize = per_rule.values().sum();
    assert!(
        (grants * 6 / 10..=grants * 3 / 2).contains(&total),
        "{total} findings for {grants} grants ({per_rule:?})"
    );
}
