//! However the audit events are cut into files, the findings are the same: the per-partition
//! digests (and the compact log chains in particular: findings inside a partition computed
//! alone, checks across partitions on edge records) and the window rows the rules declare
//! must equal an evaluation on all records at once.

use crate::common;

use std::path::Path;

use permaudit::generate::{generate, GenOptions};
use permaudit::pipeline::{self, analyze, Inputs};
use permaudit::resolve::Ctx;
use polars::prelude::*;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn date(s: &str) -> chrono::NaiveDate {
    s.parse().expect("date")
}

fn inputs<'a>(input: &'a Path, policy: &'a Path) -> Inputs<'a> {
    Inputs {
        input_dir: input,
        policy_dir: policy,
        naive_tz: None,
        lookback_days: 30,
        sources: Default::default(),
    }
}

/// Findings of the nightly path (window plan: compact log chains where possible).
fn nightly(input: &Path, policy: &Path, as_of: &str) -> DataFrame {
    analyze(&inputs(input, policy), date(as_of))
        .expect("analyze")
        .findings
}

/// Findings with every event loaded and every log chain evaluated on all its records.
fn all_at_once(input: &Path, policy: &Path, as_of: &str) -> DataFrame {
    let i = inputs(input, policy);
    let (policy, tables, _) = pipeline::load(&i).expect("load");
    let ctx = Ctx::build(&tables, &policy, date(as_of), i.lookback_days).expect("ctx");
    permaudit::findings::detect(&ctx)
        .and_then(|d| d.into_frame())
        .expect("detect")
}

fn assert_same(a: &DataFrame, b: &DataFrame, what: &str) {
    assert!(a.height() > 0, "{what}: no findings at all");
    assert!(a.equals_missing(b), "{what}:\n{a}\n{b}");
}

/// Splits the sample's audit_events.csv into several files of an `audit_events/` directory,
/// each row going to the file `place(row index, ts)` names.
fn split_sample(dir: &Path, place: impl Fn(usize, &str) -> String) {
    let src = dir.join("input/audit_events.csv");
    let mut rdr = csv::Reader::from_path(&src).expect("read events");
    let header = rdr.headers().expect("header").clone();
    let ts_col = header.iter().position(|h| h == "ts").expect("ts column");
    let mut writers: std::collections::BTreeMap<String, csv::Writer<std::fs::File>> =
        Default::default();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.expect("record");
        let name = place(i, rec.get(ts_col).unwrap_or(""));
        let w = writers.entry(name.clone()).or_insert_with(|| {
            let path = dir.join("input/audit_events").join(&name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            let mut w = csv::Writer::from_path(&path).expect("create");
            w.write_record(&header).expect("header");
            w
        });
        w.write_record(&rec).expect("write");
    }
    for (_, mut w) in writers {
        w.flush().expect("flush");
    }
    std::fs::remove_file(&src).expect("remove the single file");
}

#[test]
fn sample_split_by_day_or_interleaved_gives_the_pinned_findings() {
    let sample = root().join("data/sample");
    let whole = nightly(&sample.join("input"), &sample.join("policy"), "2026-11-24");
    assert_same(
        &whole,
        &all_at_once(&sample.join("input"), &sample.join("policy"), "2026-11-24"),
        "single file",
    );
    // By UTC day: log chains cross partition boundaries every day.
    let by_day = tempfile::tempdir().expect("tempdir");
    common::copy_dir(&sample, by_day.path());
    split_sample(by_day.path(), |_, ts| {
        format!("date={}/part-0.csv", ts.get(..10).unwrap_or("none"))
    });
    let d = by_day.path();
    assert_same(
        &whole,
        &nightly(&d.join("input"), &d.join("policy"), "2026-11-24"),
        "split by day",
    );
    // Interleaved: every system's seq ranges overlap between files, so chains go raw.
    let mixed = tempfile::tempdir().expect("tempdir");
    common::copy_dir(&sample, mixed.path());
    split_sample(mixed.path(), |i, _| format!("part-{}.csv", i % 3));
    let m = mixed.path();
    assert_same(
        &whole,
        &nightly(&m.join("input"), &m.join("policy"), "2026-11-24"),
        "interleaved",
    );
    // An earlier as_of: partitions after T force the raw path for their systems.
    assert_same(
        &nightly(&sample.join("input"), &sample.join("policy"), "2026-11-10"),
        &nightly(&d.join("input"), &d.join("policy"), "2026-11-10"),
        "split by day, backfill",
    );
}

#[test]
fn generated_day_partitions_match_an_evaluation_on_all_records() {
    let data = tempfile::tempdir().expect("tempdir");
    let d = data.path();
    generate(&GenOptions {
        out: d.to_path_buf(),
        seed: 11,
        identities: 300,
        days: 40,
        events_per_day: 1_000,
        findings: Default::default(),
        force: false,
    })
    .expect("generate");
    let (input, policy) = (d.join("input"), d.join("policy"));
    for as_of in ["2026-11-24", "2026-11-12"] {
        let compact = nightly(&input, &policy, as_of);
        let raw = all_at_once(&input, &policy, as_of);
        assert_same(&compact, &raw, as_of);
        let rules = compact
            .column("rule")
            .expect("rule")
            .str()
            .expect("str")
            .clone();
        assert!(
            rules.iter().flatten().any(|r| r == "LOG_SEQUENCE_GAP")
                && rules.iter().flatten().any(|r| r == "LOG_HASH_MISMATCH"),
            "the planted log cases fire"
        );
    }

    // The equality above is not vacuous: the nightly path kept only some window rows.
    let i = inputs(&input, &policy);
    let as_of = date("2026-11-24");
    let kept = pipeline::load_at(&i, as_of, None)
        .expect("load_at")
        .events
        .rows
        .height();
    let (_, all, _) = pipeline::load(&i).expect("load");
    let t = permaudit::time::evaluation_instant(as_of);
    let start = t - 30 * permaudit::time::MICROS_PER_DAY;
    let in_window = all
        .audit_events
        .lazy()
        .filter(col("ts").gt_eq(lit(start)).and(col("ts").lt(lit(t))))
        .collect()
        .expect("window")
        .height();
    assert!(
        kept > 0 && kept * 2 < in_window,
        "kept {kept} of {in_window} window rows"
    );
}
