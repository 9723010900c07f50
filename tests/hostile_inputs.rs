//! Written as the attacks: inputs made by a hostile data owner or a careless
//! operator (link loops, FIFOs, stray quotes, bytes that are not UTF-8, duplicate JSON keys,
//! leap seconds, decimal columns). Each gets the contract's treatment: a file-level error
//! naming the file, or a quarantined row with its reason, and never a run that hangs or
//! reads a row twice.

use crate::common::{run_in_within, sample_copy};
use crate::ingest::{
    base, datetime_col, events_frame, input_error, load_edited, load_edited_ok, raw, remove,
    string_col, write, write_parquet,
};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use permaudit::error::ExitCode;
use polars::prelude::*;

/// Long enough for a debug build to run the sample; a run that hangs fails the test.
const LIMIT: Duration = Duration::from_secs(300);
const AS_OF: &str = "2026-11-24";
const HEADER: &str = "event_id,ts,system_id,account_id,action,outcome,target_id\n";

fn event_line(i: usize, target: &str) -> String {
    format!("e{i},2026-11-20T08:00:00Z,pay-hk,alice,login,success,{target}\n")
}

/// The sample's events moved into `audit_events/date=2026-11/part-0.csv`.
fn events_as_directory(input: &Path) -> std::path::PathBuf {
    let day = input.join("audit_events").join("date=2026-11");
    std::fs::create_dir_all(&day).expect("mkdir");
    std::fs::rename(input.join("audit_events.csv"), day.join("part-0.csv")).expect("move");
    day
}

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(ok.success(), "mkfifo {}", path.display());
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------
// Links in the audit_events tree
// ---------------------------------------------------------------------------------------

#[test]
fn directory_link_loops_under_audit_events_are_ignored_and_named() {
    let (clean, clean_cfg) = sample_copy("");
    events_as_directory(&clean.path().join("input"));
    let o = run_in_within(clean.path(), &clean_cfg, &[], LIMIT);
    assert!(o.status.success(), "{}", stderr(&o));

    // Two loops: one alone made every partition count 41 times, two never ended.
    let (dir, cfg) = sample_copy("");
    let day = events_as_directory(&dir.path().join("input"));
    std::os::unix::fs::symlink(".", dir.path().join("input/audit_events/loop")).expect("link");
    std::os::unix::fs::symlink("..", day.join("up")).expect("link");
    let o = run_in_within(dir.path(), &cfg, &[], LIMIT);
    let log = stderr(&o);
    assert!(o.status.success(), "{log}");
    for link in ["audit_events/loop", "audit_events/date=2026-11/up"] {
        assert!(
            log.lines()
                .any(|l| l.contains("WARN") && l.contains(link) && l.contains("not followed")),
            "a warning names {link}: {log}"
        );
    }
    let findings =
        |d: &Path| std::fs::read(d.join("out").join(AS_OF).join("findings.csv")).expect("findings");
    assert_eq!(
        findings(dir.path()),
        findings(clean.path()),
        "the loops change no finding"
    );
}

#[test]
fn a_file_reached_by_several_paths_is_read_once() {
    let events = format!("{HEADER}{}{}", event_line(1, "t"), event_line(2, "t"));
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let tree = dir.join("audit_events");
        write(&tree.join("a.csv"), &events);
        std::fs::hard_link(tree.join("a.csv"), tree.join("b.csv")).expect("hard link");
        std::os::unix::fs::symlink("a.csv", tree.join("c.csv")).expect("link");
    });
    // Event ids are unique per file only: read three times, the events would count thrice.
    assert_eq!(l.counts("audit_events"), (2, 2, 0));
    for dup in ["audit_events/b.csv", "audit_events/c.csv"] {
        assert!(
            l.report.ignored_files.iter().any(|f| f == dup),
            "{dup} listed as ignored: {:?}",
            l.report.ignored_files
        );
    }
}

// ---------------------------------------------------------------------------------------
// Only regular files are read
// ---------------------------------------------------------------------------------------

#[test]
fn a_fifo_in_the_input_tree_is_a_file_level_error() {
    // In the events tree, beside a real partition.
    let (dir, cfg) = sample_copy("");
    let day = events_as_directory(&dir.path().join("input"));
    mkfifo(&day.join("part-1.csv"));
    let o = run_in_within(dir.path(), &cfg, &[], LIMIT);
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{log}");
    assert!(
        log.contains("audit_events/date=2026-11/part-1.csv") && log.contains("FIFO"),
        "{log}"
    );
    assert!(!dir.path().join("out").join(AS_OF).exists());

    // Where a table file belongs.
    let (dir, cfg) = sample_copy("");
    remove(&dir.path().join("input/grants.csv"));
    mkfifo(&dir.path().join("input/grants.csv"));
    let o = run_in_within(dir.path(), &cfg, &[], LIMIT);
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{log}");
    assert!(log.contains("grants.csv") && log.contains("FIFO"), "{log}");
}

#[test]
fn a_file_swapped_for_a_fifo_after_discovery_cannot_block() {
    let f = base();
    f.write();
    let input = f.input_dir();
    let discovery = permaudit::ingest::discover(&input, Vec::new()).expect("discovery");
    remove(&input.join("grants.csv"));
    mkfifo(&input.join("grants.csv"));
    // In a thread, so that a regression fails the test instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let checks = permaudit::rules::chain_checks();
        let plan = permaudit::ingest::EventsPlan::all_rows(&checks);
        let r = permaudit::ingest::load(&discovery, None, &[], &[], &plan, |_| Ok(None));
        // The receiver is gone only when the test already failed.
        let _ = tx.send(r.err().map(|e| (e.exit_code(), e.to_string())));
    });
    let err = rx.recv_timeout(LIMIT).expect("the load ended");
    let (code, msg) = err.expect("a file-level error");
    assert_eq!(code, ExitCode::BadInput, "{msg}");
    assert!(msg.contains("grants.csv") && msg.contains("FIFO"), "{msg}");
}

#[test]
fn a_socket_where_a_table_file_belongs_is_a_file_level_error() {
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        // The socket file stays when the listener is dropped.
        std::os::unix::net::UnixListener::bind(dir.join("audit_events.csv")).expect("bind");
    }));
    assert!(
        msg.contains("audit_events.csv") && msg.contains("socket"),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------------------
// A quoted value spanning lines where no line break belongs
// ---------------------------------------------------------------------------------------

#[test]
fn two_stray_quotes_300_lines_apart_quarantine_the_merged_record() {
    // Line 3 opens a quote in target_id, line 303 closes it: the csv reader makes lines
    // 3-303 one record with the right number of fields.
    let mut text = format!("{HEADER}{}", event_line(1, "T-1"));
    text += &event_line(2, "\"T-2");
    for i in 3..=301 {
        text += &event_line(i, &format!("T-{i}"));
    }
    text += &event_line(302, "T-302\"");
    text += &event_line(303, "T-303");
    let l = load_edited_ok(&base(), |dir| write(&dir.join("audit_events.csv"), &text));
    assert_eq!(l.counts("audit_events"), (3, 2, 1));
    assert_eq!(
        l.strs("audit_events", "event_id"),
        vec![Some("e1".into()), Some("e303".into())]
    );
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.line, 3);
    assert!(
        q.reason.contains("lines 3-303") && q.reason.contains("column target_id"),
        "{}",
        q.reason
    );
    // The 300 swallowed events are in the quarantine's raw row, not lost.
    let target = raw(q)["target_id"].as_str().map(str::to_string);
    assert!(
        target.is_some_and(|t| t.contains("e3,") && t.contains("e150,") && t.contains("e301,")),
        "{q:?}"
    );

    // Quotes in different columns give a ragged record: its reason names the span too.
    let mut text = format!("{HEADER}{}", event_line(1, "T-1"));
    text += "e2,2026-11-20T08:00:00Z,pay-hk,\"alice,login,success,T-2\n";
    text += &event_line(3, "T-3");
    text += &event_line(4, "T-4\"");
    let l = load_edited_ok(&base(), |dir| write(&dir.join("audit_events.csv"), &text));
    assert_eq!(l.counts("audit_events"), (2, 1, 1));
    let q = l.only_quarantined("audit_events");
    assert!(
        q.reason.contains("wrong number of fields") && q.reason.contains("lines 3-5"),
        "{}",
        q.reason
    );
}

#[test]
fn a_line_break_in_an_identifier_is_a_bad_value_in_every_format() {
    const REASON: &str = "line break, in a column that cannot hold one) in column account_id";
    // NDJSON: a JSON string can hold "\n" on one physical line.
    let ndjson = "{\"event_id\":\"e1\",\"ts\":\"2026-11-20T08:00:00Z\",\"system_id\":\"pay-hk\",\
                  \"account_id\":\"alice\",\"action\":\"login\",\"outcome\":\"success\"}\n\
                  {\"event_id\":\"e2\",\"ts\":\"2026-11-20T08:00:00Z\",\"system_id\":\"pay-hk\",\
                  \"account_id\":\"ali\\nce\",\"action\":\"login\",\"outcome\":\"success\"}\n";
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(&dir.join("audit_events.ndjson"), ndjson);
    });
    assert_eq!(l.counts("audit_events"), (2, 1, 1));
    let q = l.only_quarantined("audit_events");
    assert!(q.reason.contains(REASON), "{}", q.reason);

    // Parquet, on the row path (text timestamps) and the column path (native ones); a short
    // value (which polars holds inside its 16-byte view) and a long one (in a buffer).
    let ts_text = string_col("ts", &["2026-11-20T08:00:00Z", "2026-11-20T08:00:00Z"]);
    let ts_native = datetime_col(
        "ts",
        &[1_795_100_000_000_000, 1_795_100_000_000_000],
        TimeUnit::Microseconds,
        None,
    );
    let cases = [
        (ts_text.clone(), "ali\nce"),
        (ts_native.clone(), "ali\nce"),
        (ts_native, "alice.account-with-a-long-id\r"),
    ];
    for (ts, bad) in cases {
        let l = load_edited_ok(&base(), |dir| {
            remove(&dir.join("audit_events.csv"));
            let mut df = events_frame(ts);
            df.with_column(string_col("account_id", &["alice", bad]))
                .expect("account_id");
            write_parquet(&dir.join("audit_events.parquet"), df);
        });
        assert_eq!(l.counts("audit_events"), (2, 1, 1));
        let q = l.only_quarantined("audit_events");
        assert_eq!(q.line, 1);
        assert!(q.reason.contains(REASON), "{}", q.reason);
    }

    // A description may span lines.
    let grants = "grant_id,system_id,account_id,entitlement_id,granted_at,ticket\n\
                  g1,pay-hk,alice,payout.release,2026-01-01T00:00:00Z,\"CHG-1\nsecond line\"\n";
    let l = load_edited_ok(&base(), |dir| write(&dir.join("grants.csv"), grants));
    assert_eq!(l.counts("grants"), (1, 1, 0));
}

// ---------------------------------------------------------------------------------------
// One value that is not UTF-8 in a Parquet string column
// ---------------------------------------------------------------------------------------

/// An events file whose `account_id` (a Parquet string, UTF-8 annotated) holds one value
/// that is not UTF-8. No writer makes that on purpose, so a placeholder of the same length
/// is written and patched: without compression and without statistics its bytes occur
/// exactly once in the file (in the dictionary or the data page), and a patch of the same
/// length moves no offset. Should the writer ever store it differently, the count check
/// fails rather than the test passing on a file without the bad value.
fn parquet_with_one_value_not_utf8() -> Vec<u8> {
    const PLACEHOLDER: &[u8] = b"NOT-UTF8-HERE";
    let mut df = events_frame(string_col(
        "ts",
        &["2026-11-20T08:00:00Z", "2026-11-20T08:01:00Z"],
    ));
    df.with_column(string_col("account_id", &["alice", "NOT-UTF8-HERE"]))
        .expect("account_id");
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .with_compression(ParquetCompression::Uncompressed)
        .with_statistics(StatisticsOptions::empty())
        .finish(&mut df)
        .expect("parquet");
    let at: Vec<usize> = bytes
        .windows(PLACEHOLDER.len())
        .enumerate()
        .filter(|(_, w)| *w == PLACEHOLDER)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "the placeholder is stored once");
    bytes[at[0] + 3] = 0xFF;
    bytes
}

#[test]
fn parquet_string_value_not_utf8_quarantines_its_row_only() {
    let bytes = parquet_with_one_value_not_utf8();
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(&dir.join("audit_events.parquet"), &bytes);
    });
    assert_eq!(l.counts("audit_events"), (2, 1, 1));
    assert_eq!(
        l.strs("audit_events", "account_id"),
        vec![Some("alice".into())]
    );
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.line, 1);
    assert_eq!(q.reason, "bytes that are not UTF-8 in column account_id");
    assert_eq!(raw(q)["account_id"], "NOT\u{FFFD}UTF8-HERE");
}

// ---------------------------------------------------------------------------------------
// Duplicate JSON keys, leap seconds, decimal columns
// ---------------------------------------------------------------------------------------

#[test]
fn ndjson_object_with_a_duplicate_key_is_quarantined() {
    let ndjson = "{\"event_id\":\"e1\",\"ts\":\"2026-11-20T08:00:00Z\",\"system_id\":\"pay-hk\",\
                  \"account_id\":\"alice\",\"action\":\"login\",\"outcome\":\"success\"}\n\
                  {\"event_id\":\"e2\",\"ts\":\"2026-11-20T08:00:00Z\",\"system_id\":\"pay-hk\",\
                  \"account_id\":\"alice\",\"action\":\"login\",\"outcome\":\"success\",\
                  \"account_id\":\"mallory\"}\n";
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(&dir.join("audit_events.ndjson"), ndjson);
    });
    assert_eq!(l.counts("audit_events"), (2, 1, 1));
    assert_eq!(l.strs("audit_events", "event_id"), vec![Some("e1".into())]);
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.line, 1);
    assert!(
        q.reason.contains("duplicate key") && q.reason.contains("account_id"),
        "{}",
        q.reason
    );
    assert!(q.raw.contains("mallory"), "{}", q.raw);
}

#[test]
fn leap_second_is_a_bad_timestamp() {
    // chrono read 23:59:60 as the next day's 00:00:00: an event of the last second before
    // T fell on T and out of the run.
    let text = format!(
        "{HEADER}e1,2026-11-23T23:59:60Z,pay-hk,alice,login,success,\n\
         e2,2026-11-23T23:59:59.999999Z,pay-hk,alice,login,success,\n\
         e3,2026-11-24T07:59:60+08:00,pay-hk,alice,login,success,\n"
    );
    let l = load_edited_ok(&base(), |dir| write(&dir.join("audit_events.csv"), &text));
    assert_eq!(l.counts("audit_events"), (3, 1, 2));
    assert_eq!(l.strs("audit_events", "event_id"), vec![Some("e2".into())]);
    let q = l.quarantine("audit_events");
    assert_eq!(
        q[0].reason,
        "bad timestamp (leap second not supported) in column ts: \"2026-11-23T23:59:60Z\""
    );
    assert!(q[1].reason.contains("leap second"), "{}", q[1].reason);
}

/// An events file with `seq` (and an unknown `amount`) stored as Parquet decimals, written
/// with polars-parquet directly: a polars frame cannot hold decimals in this build.
fn parquet_with_decimal_columns(decimal: &[&str]) -> Vec<u8> {
    use polars_arrow::array::PrimitiveArray;
    use polars_arrow::record_batch::RecordBatchT;
    use polars_parquet::arrow::write::{
        CompressionOptions, FileWriter, RowGroupIterator, Version, WriteOptions,
    };

    let text = [
        ("event_id", "e1"),
        ("ts", "2026-11-20T08:00:00Z"),
        ("system_id", "pay-hk"),
        ("account_id", "alice"),
        ("action", "login"),
        ("outcome", "success"),
    ];
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    for (name, value) in text {
        fields.push(ArrowField::new(name.into(), ArrowDataType::Utf8View, true));
        arrays.push(
            string_col(name, &[value])
                .as_materialized_series()
                .to_arrow(0, CompatLevel::newest()),
        );
    }
    for name in decimal {
        let dtype = ArrowDataType::Decimal(10, 0);
        fields.push(ArrowField::new((*name).into(), dtype.clone(), true));
        arrays.push(PrimitiveArray::<i128>::from_vec(vec![7]).to(dtype).boxed());
    }
    let schema = Arc::new(ArrowSchema::from_iter(fields));
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        version: Version::V2,
        compression: CompressionOptions::Uncompressed,
        data_page_size: None,
    };
    let batch = RecordBatchT::try_new(1, schema.clone(), arrays).expect("batch");
    let encodings = polars::io::parquet::write::get_encodings(&schema);
    let groups = RowGroupIterator::try_new(std::iter::once(Ok(batch)), &schema, options, encodings)
        .expect("row groups");
    let mut writer = FileWriter::try_new(Vec::new(), (*schema).clone(), options).expect("writer");
    for group in groups {
        writer.write(1, group.expect("row group")).expect("write");
    }
    writer.end(None).expect("footer");
    writer.into_inner()
}

#[test]
fn parquet_decimal_column_is_a_file_level_error_naming_it() {
    let bytes = parquet_with_decimal_columns(&["seq"]);
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(&dir.join("audit_events.parquet"), &bytes);
    }));
    assert!(
        msg.contains("audit_events.parquet")
            && msg.contains("column seq")
            && msg.contains("decimal(10, 0)")
            && msg.contains("integer"),
        "{msg}"
    );

    // A decimal column the contract does not know is ignored and listed, like any other.
    let bytes = parquet_with_decimal_columns(&["amount"]);
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(&dir.join("audit_events.parquet"), &bytes);
    });
    assert_eq!(l.counts("audit_events"), (1, 1, 0));
    assert!(
        l.report
            .unknown_columns
            .contains(&("audit_events.parquet".to_string(), "amount".to_string())),
        "{:?}",
        l.report.unknown_columns
    );
}
