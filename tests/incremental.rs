//! Incremental nightly runs: a run that reuses the stored digests of unchanged
//! audit-event partitions writes exactly the same bytes as a `--full` run, when a new day
//! arrives, when an old partition changes and when one is deleted; and the digests of
//! changed or deleted partitions are never reused.
//!
//! The scenarios run on generated data shaped like the small preset (32 days, hash-chained
//! and sequenced logs, planted cases of every rule) at a volume a debug build runs in
//! seconds; one test runs the small preset itself (new day only), and the benchmark
//! (`bench/run.sh`) checks the same equality on the medium preset.

use crate::common::{self, bin};

use std::path::{Path, PathBuf};

use permaudit::generate::{generate, GenOptions, Preset};
use polars::prelude::*;
use tempfile::TempDir;

const LAST: &str = "2026-11-24";
const BEFORE: &str = "2026-11-23";

/// Runs `permaudit run` and returns its stderr log.
fn run(config: &Path, out: &Path, as_of: &str, full: bool) -> String {
    let mut cmd = bin();
    cmd.args(["run", "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(["--as-of", as_of]);
    if full {
        cmd.arg("--full");
    }
    let o = cmd.output().expect("run permaudit");
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "run {as_of} failed: {log}");
    log
}

/// The `key=value` field of the "audit event partitions" log line.
fn partitions_field(log: &str, key: &str) -> usize {
    let line = log
        .lines()
        .find(|l| l.contains("audit event partitions"))
        .unwrap_or_else(|| panic!("no partitions line in {log}"));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

fn assert_same_output(a: &Path, b: &Path, what: &str) {
    assert_same_day(a, b, LAST, what);
}

fn assert_same_day(a: &Path, b: &Path, day: &str, what: &str) {
    let fa = common::files(&a.join(day));
    let fb = common::files(&b.join(day));
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        fb.keys().collect::<Vec<_>>(),
        "{what}: file lists differ"
    );
    for (path, bytes) in &fa {
        assert!(
            fb[path] == *bytes,
            "{what}: {} differs between the incremental and the full run",
            path.display()
        );
    }
}

fn digests(out: &Path) -> usize {
    std::fs::read_dir(out.join("state/events"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn partition(data: &Path, day: &str) -> PathBuf {
    data.join(format!("input/audit_events/date={day}/part-0.parquet"))
}

/// `permaudit generate` of `(identities, days, events_per_day)` into a temp dir.
fn generated(seed: u64, (identities, days, events_per_day): (usize, u32, usize)) -> TempDir {
    let data = tempfile::tempdir().expect("tempdir");
    generate(&GenOptions {
        out: data.path().to_path_buf(),
        seed,
        identities,
        days,
        events_per_day,
        findings: Default::default(),
        force: false,
    })
    .expect("generate");
    data
}

/// The last day's partition of `data`, moved aside as if it had not arrived yet.
struct HeldDay {
    last: PathBuf,
    held: PathBuf,
}

impl HeldDay {
    fn hold(data: &Path) -> HeldDay {
        let (last, held) = (partition(data, LAST), data.join("held.parquet"));
        std::fs::rename(&last, &held).expect("hold the last day");
        std::fs::remove_dir(last.parent().expect("dir")).expect("rmdir");
        HeldDay { last, held }
    }

    fn deliver(&self) {
        std::fs::create_dir_all(self.last.parent().expect("dir")).expect("mkdir");
        std::fs::rename(&self.held, &self.last).expect("deliver the last day");
    }
}

/// Generated data whose last day has not arrived, and two output directories that ran the
/// night before: `a` builds a state, `b` is `--full` (the same history, for byte equality).
struct NightBefore {
    data: TempDir,
    a: TempDir,
    b: TempDir,
    day: HeldDay,
}

impl NightBefore {
    fn run(seed: u64, sizes: (usize, u32, usize)) -> NightBefore {
        let data = generated(seed, sizes);
        let (a, b) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let day = HeldDay::hold(data.path());
        let config = data.path().join("permaudit.toml");
        run(&config, a.path(), BEFORE, false);
        run(&config, b.path(), BEFORE, true);
        NightBefore { data, a, b, day }
    }

    fn config(&self) -> PathBuf {
        self.data.path().join("permaudit.toml")
    }
}

#[test]
fn incremental_runs_equal_full_runs() {
    let days = 32;
    let data = generated(3, (300, days, 1_200));
    let d = data.path();
    let config = d.join("permaudit.toml");
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let (a, b) = (a.path(), b.path());
    let days = days as usize;

    // The night before: the last day's partition has not arrived yet.
    let day = HeldDay::hold(d);
    let log = run(&config, a, BEFORE, false);
    assert_eq!(partitions_field(&log, "digests_reused"), 0);
    run(&config, b, BEFORE, true);
    assert_eq!(digests(a), days - 1);

    // The new day arrives: only it is read.
    day.deliver();
    let log = run(&config, a, LAST, false);
    assert_eq!(partitions_field(&log, "partitions"), days);
    assert_eq!(partitions_field(&log, "digests_reused"), days - 1);
    // Every log chain is checked from the digests: no input file is read again for one.
    assert!(!log.contains("partitions read again"), "{log}");
    let kept = partitions_field(&log, "rows_kept");
    let log = run(&config, b, LAST, true);
    assert_eq!(partitions_field(&log, "digests_reused"), 0);
    assert_same_output(a, b, "new day");
    // Window rows read back from the state are filtered like freshly read ones.
    assert_eq!(kept, partitions_field(&log, "rows_kept"));
    assert_eq!(digests(a), days);

    // An old partition is rewritten with rows removed: its digest is not reused.
    let old = partition(d, "2026-11-20");
    let df = ParquetReader::new(std::fs::File::open(&old).expect("open"))
        .finish()
        .expect("read");
    let mut df = df.slice(0, df.height() / 2);
    ParquetWriter::new(std::fs::File::create(&old).expect("create"))
        .finish(&mut df)
        .expect("write");
    let log = run(&config, a, LAST, false);
    assert_eq!(partitions_field(&log, "digests_reused"), days - 1);
    run(&config, b, LAST, true);
    assert_same_output(a, b, "changed partition");
    assert_eq!(digests(a), days, "the stale digest is removed");

    // A partition is deleted.
    let gone = partition(d, "2026-11-10");
    std::fs::remove_file(&gone).expect("delete");
    let log = run(&config, a, LAST, false);
    assert_eq!(partitions_field(&log, "partitions"), days - 1);
    assert_eq!(partitions_field(&log, "digests_reused"), days - 1);
    run(&config, b, LAST, true);
    assert_same_output(a, b, "deleted partition");
    assert_eq!(digests(a), days - 1);

    // A backfill of an earlier day (partitions after its T), then the last day again: the
    // usage rollup is rebuilt for the earlier T, then extended.
    let early = "2026-11-20";
    let log = run(&config, a, early, false);
    // The partitions after its T have their log chains checked whole, from the input.
    assert!(
        log.contains("partitions read again from the input"),
        "{log}"
    );
    run(&config, b, early, true);
    assert_same_day(a, b, early, "backfill");
    let log = run(&config, a, LAST, false);
    assert_eq!(partitions_field(&log, "digests_reused"), days - 1);
    run(&config, b, LAST, true);
    assert_same_output(a, b, "after a backfill");

    // Deleting the state only costs a slow run.
    std::fs::remove_dir_all(a.join("state")).expect("rm state");
    let log = run(&config, a, LAST, false);
    assert_eq!(partitions_field(&log, "digests_reused"), 0);
    assert_same_output(a, b, "state deleted");
}

/// A stored usage rollup rewritten out of key order (a sound Parquet file of the right
/// columns, so no footer check sees it): a later night merges the new day into the stored
/// rollup by walking both in key order, so it must notice and rebuild from the partitions
/// rather than write a rollup whose keys repeat or drop.
#[test]
fn a_stored_rollup_out_of_key_order_is_rebuilt_not_merged() {
    let night = NightBefore::run(5, (120, 8, 400));
    let config = night.config();
    let (a, b) = (night.a.path(), night.b.path());
    let rollup = a.join("state/usage_rollup/usage.parquet");
    let stored = ParquetReader::new(std::fs::File::open(&rollup).expect("open"))
        .finish()
        .expect("read");
    assert!(stored.height() > 1, "a rollup of several keys");
    let mut reversed = stored.reverse();
    ParquetWriter::new(std::fs::File::create(&rollup).expect("create"))
        .finish(&mut reversed)
        .expect("write");

    night.day.deliver();
    let log = run(&config, a, LAST, false);
    assert!(log.contains("not in key order"), "{log}");
    run(&config, b, LAST, true);
    assert_same_output(a, b, "reordered rollup");
    let rebuilt = ParquetReader::new(std::fs::File::open(&rollup).expect("open"))
        .finish()
        .expect("read");
    let keys = ["system_id", "account_id", "action"];
    let sorted = rebuilt
        .sort(keys, SortMultipleOptions::default())
        .expect("sort");
    assert!(
        rebuilt.equals_missing(&sorted),
        "the rebuilt rollup is in key order"
    );
    let repeated = rebuilt
        .select(keys)
        .expect("keys")
        .is_duplicated()
        .expect("dups")
        .any();
    assert!(!repeated, "a key twice");
}

/// A run that fails on a file-level problem leaves no state behind (only the lock file).
#[test]
fn failed_run_leaves_no_state() {
    let data = generated(1, (50, 3, 100));
    let d = data.path();
    std::fs::write(partition(d, LAST), b"").expect("truncate");
    let out = tempfile::tempdir().expect("tempdir");
    let o = out.path().join("out");
    let r = bin()
        .args(["run", "--config"])
        .arg(d.join("permaudit.toml"))
        .arg("--out")
        .arg(&o)
        .output()
        .expect("run");
    assert_eq!(r.status.code(), Some(2));
    let left: Vec<_> = std::fs::read_dir(&o)
        .expect("out")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from(".permaudit.lock")]);
}

/// The small preset itself (2,000 identities, 30 days, 20,000 events a day): the night
/// before builds the state, the new day runs incrementally and writes what two `--full`
/// runs write.
#[test]
fn small_preset_incremental_equals_full() {
    let sizes = Preset::Small.sizes();
    let night = NightBefore::run(1, sizes);
    let config = night.config();
    let (a, b) = (night.a.path(), night.b.path());
    night.day.deliver();
    let log = run(&config, a, LAST, false);
    assert_eq!(
        partitions_field(&log, "digests_reused"),
        sizes.1 as usize - 1
    );
    run(&config, b, LAST, true);
    assert_same_output(a, b, "small preset");
}

/// A feed gap whose edges lie in two day partitions, the later one arriving a night after
/// the earlier was digested and stored: the nightly run combines the stored digest with the
/// new partition and writes the bytes of a `--full` run, with the gap in them.
#[test]
fn feed_gap_across_two_partitions_nightly_equals_full() {
    let f = common::Fixture::new();
    f.write();
    let input = f.input_dir();
    std::fs::remove_file(input.join("audit_events.csv")).expect("rm");
    let header = "event_id,ts,system_id,account_id,action,outcome\n";
    let day = |d: &str, rows: &str| {
        let dir = input.join(format!("audit_events/date={d}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("part-0.csv"), format!("{header}{rows}")).expect("write");
    };
    day(
        "2026-11-20",
        "a1,2026-11-20T01:00:00Z,pay-hk,svc,x,success\n\
         a2,2026-11-20T10:00:00Z,pay-hk,svc,x,success\n\
         u1,2026-11-20T10:00:00Z,pay-uk,svc,x,success\n",
    );
    let config = f.dir.path().join("permaudit.toml");
    std::fs::write(
        &config,
        "input_dir = \"input\"\npolicy_dir = \"policy\"\nout_dir = \"out\"\n",
    )
    .expect("config");
    let (nightly, full) = (f.dir.path().join("nightly"), f.dir.path().join("full"));
    run(&config, &nightly, "2026-11-21", false);
    run(&config, &full, "2026-11-21", true);
    assert!(digests(&nightly) > 0, "the first day's digest is stored");
    // pay-hk resumes 48 h + 1 µs after a2 (a gap); pay-uk exactly 48 h after u1 (none).
    day(
        "2026-11-22",
        "b1,2026-11-22T10:00:00.000001Z,pay-hk,svc,x,success\n\
         v1,2026-11-22T10:00:00Z,pay-uk,svc,x,success\n",
    );
    let log = run(&config, &nightly, "2026-11-22", false);
    assert_eq!(partitions_field(&log, "digests_reused"), 1, "{log}");
    run(&config, &full, "2026-11-22", true);
    assert_same_day(&nightly, &full, "2026-11-22", "gap across partitions");
    let findings =
        std::fs::read_to_string(nightly.join("2026-11-22/findings.csv")).expect("findings");
    let gaps: Vec<&str> = findings
        .lines()
        .filter(|l| l.contains("LOG_FEED_GAP"))
        .collect();
    assert_eq!(gaps.len(), 1, "{findings}");
    assert!(
        gaps[0].contains("2026-11-20T10:00:00.000000Z"),
        "{}",
        gaps[0]
    );
    assert!(gaps[0].contains("pay-hk"), "{}", gaps[0]);
}

/// Adds a grant of an account no table knows to the generated grants (quarantined by a
/// run), keeping the file's mtime when `keep_mtime`.
fn add_stray_grant(data: &Path, id: &str, keep_mtime: bool) {
    let path = data.join("input/grants.parquet");
    let mtime = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");
    let df = ParquetReader::new(std::fs::File::open(&path).expect("open"))
        .finish()
        .expect("read");
    // A column the contract does not know: warned of on every night, read back or not.
    let mut df = df;
    let note = Column::new("cost_centre".into(), vec!["cc-1"; df.height()]);
    df.with_column(note).expect("cost_centre");
    let mut row = df.slice(0, 1);
    row.with_column(Column::new("grant_id".into(), [id]))
        .expect("grant_id");
    row.with_column(Column::new("account_id".into(), ["nobody-knows-me"]))
        .expect("account_id");
    let mut df = df.vstack(&row).expect("append");
    let file = std::fs::File::create(&path).expect("create");
    ParquetWriter::new(file).finish(&mut df).expect("write");
    if keep_mtime {
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(mtime))
            .expect("restore mtime");
    }
}

/// The tables the "tables read back" log line names, `None` without one.
fn read_back(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("tables read back"))?;
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("tables="))
        .map(|v| v.trim_matches('"').to_string())
}

fn assert_quarantined(out: &Path, grant_id: &str) {
    let quarantine =
        std::fs::read_to_string(out.join(LAST).join("quarantine.csv")).expect("quarantine.csv");
    assert!(quarantine.contains(grant_id), "{quarantine}");
}

const EVERY_TABLE: &str = "systems,identities,accounts,entitlements,role_permissions,grants,\
                           action_permissions,exceptions,waivers,training";

/// A night whose table files did not change reads them back from the state instead of
/// validating every grant again, and reports them as a run that loads them does: the
/// same counts, hashes and quarantined rows, in the same bytes as a `--full` run's.
#[test]
fn unchanged_tables_are_read_back_and_reported_as_loaded() {
    let data = generated(7, (120, 8, 400));
    add_stray_grant(data.path(), "G-STRAY", false);
    let day = HeldDay::hold(data.path());
    let config = data.path().join("permaudit.toml");
    let (a, b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (a, b) = (a.path(), b.path());
    let log = run(&config, a, BEFORE, false);
    assert_eq!(read_back(&log), None, "nothing to read back yet: {log}");
    run(&config, b, BEFORE, true);

    day.deliver();
    let log = run(&config, a, LAST, false);
    assert_eq!(read_back(&log).as_deref(), Some(EVERY_TABLE), "{log}");
    assert!(log.contains("cost_centre"), "the unknown column: {log}");
    let log = run(&config, b, LAST, true);
    assert_eq!(read_back(&log), None, "--full reads nothing back: {log}");
    assert_same_output(a, b, "tables read back");
    assert_quarantined(a, "G-STRAY");
}

/// Grants rewritten after the night before with their old mtime: the file's stamp still
/// changes (its ctime moves with any write), so the grants, and every table loaded after
/// them (their rows are checked against the grants' tables), are loaded again, while the
/// tables before them are read back. The night equals a `--full` run.
#[test]
fn tables_rewritten_with_their_old_mtime_are_loaded_again() {
    let night = NightBefore::run(8, (120, 8, 400));
    add_stray_grant(night.data.path(), "G-LATE", true);
    night.day.deliver();
    let (a, b) = (night.a.path(), night.b.path());
    let log = run(&night.config(), a, LAST, false);
    assert_eq!(
        read_back(&log).as_deref(),
        Some("systems,identities,accounts,entitlements,role_permissions"),
        "{log}"
    );
    run(&night.config(), b, LAST, true);
    assert_same_output(a, b, "grants rewritten");
    assert_quarantined(a, "G-LATE");
}

/// A stored table replaced by another table's frame, its report damaged, or a sound
/// report that lacks a table: a miss, the tables are loaded from the inputs, the night
/// equals a `--full` run, and the entry is written again so that the next night reads
/// every table back. The last one passes every footer and parse check, so only the run
/// that found it can have the entry rewritten.
#[test]
fn a_planted_or_damaged_stored_table_is_loaded_from_the_inputs_and_stored_again() {
    let night = NightBefore::run(9, (120, 8, 400));
    night.day.deliver();
    let (a, b) = (night.a.path(), night.b.path());
    let tables = a.join("state/tables");
    run(&night.config(), b, LAST, true);
    for damage in [
        "planted frame",
        "damaged report",
        "report without the grants",
    ] {
        let report = tables.join("report.json");
        match damage {
            "planted frame" => {
                std::fs::copy(tables.join("systems.arrow"), tables.join("grants.arrow"))
                    .expect("plant");
            }
            "damaged report" => std::fs::write(&report, b"{\"grants\": 1").expect("damage"),
            _ => {
                let text = std::fs::read_to_string(&report).expect("report.json");
                let mut json: serde_json::Value = serde_json::from_str(&text).expect("json");
                let removed = json.as_object_mut().and_then(|o| o.remove("grants"));
                assert!(removed.is_some(), "{text}");
                std::fs::write(&report, json.to_string()).expect("rewrite");
            }
        }
        let log = run(&night.config(), a, LAST, false);
        assert!(log.contains("damaged stored"), "{damage}: {log}");
        assert_ne!(read_back(&log).as_deref(), Some(EVERY_TABLE), "{damage}");
        assert_same_output(a, b, damage);
        let log = run(&night.config(), a, LAST, false);
        assert_eq!(
            read_back(&log).as_deref(),
            Some(EVERY_TABLE),
            "{damage}: {log}"
        );
        assert_same_output(a, b, damage);
    }
}
