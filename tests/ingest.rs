//! The ingest layer against contract sections 2 and 3: every class of bad input is either a
//! file-level error naming the file and the problem, or a quarantined row with its table,
//! source file, position, reason and raw text; and for every table
//! `rows_read = rows_loaded + rows_quarantined`. Nothing panics.

use crate::common;

use std::path::Path;

use common::Fixture;
use permaudit::error::{Error, ExitCode};
use permaudit::ingest::events::ChainChecks;
use permaudit::ingest::state::Store;
use permaudit::ingest::{EventsPlan, IngestReport, QuarantineRow, TableAccount, Tables};
use permaudit::pipeline::{self, Inputs};
use polars::prelude::*;

/// 2026-11-24T08:15:00Z in microseconds since the Unix epoch.
const T0: i64 = 1_795_508_100_000_000;
const HOUR: i64 = 3_600_000_000;

const IDENTITIES: &str = "identity_id,status,terminated_at\nu1,active,\nu2,active,\n";
const ACCOUNTS: &str = "system_id,account_id,identity_id,status\npay-hk,alice,u1,active\n";
const ENTITLEMENTS: &str = "system_id,entitlement_id,kind\n\
    pay-hk,payout.release,permission\n\
    pay-hk,beneficiary.create,permission\n\
    pay-hk,ops,role\n";
pub(crate) const EVENTS_HEADER: &str = "event_id,ts,system_id,account_id,action,outcome,seq\n";

const SOD_RULES: &str = r#"
[[rule]]
id = "SOD-001"
name = "Beneficiary maintenance vs payout release"
kind = "static"
risk = "critical"
scope = "global"
[[rule.function]]
name = "Maintain beneficiaries"
permissions = ["*:beneficiary.create"]
[[rule.function]]
name = "Release payouts"
permissions = ["*:payout.release"]
"#;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

pub(crate) struct Loaded {
    pub(crate) tables: Tables,
    pub(crate) report: IngestReport,
}

impl Loaded {
    pub(crate) fn account(&self, table: &str) -> &TableAccount {
        self.report
            .accounts
            .iter()
            .find(|a| a.table == table)
            .unwrap_or_else(|| panic!("no accounting for {table}"))
    }

    pub(crate) fn quarantine(&self, table: &str) -> Vec<&QuarantineRow> {
        self.report
            .quarantine
            .iter()
            .filter(|q| q.table == table)
            .collect()
    }

    /// Each quarantined row of a table as (line or row, reason).
    pub(crate) fn reasons(&self, table: &str) -> Vec<(u64, &str)> {
        self.quarantine(table)
            .iter()
            .map(|q| (q.line, q.reason.as_str()))
            .collect()
    }

    /// The single quarantined row of a table.
    pub(crate) fn only_quarantined(&self, table: &str) -> &QuarantineRow {
        let q = self.quarantine(table);
        assert_eq!(q.len(), 1, "quarantine of {table}: {q:#?}");
        q[0]
    }

    pub(crate) fn frame(&self, table: &str) -> &DataFrame {
        frame(&self.tables, table)
    }

    pub(crate) fn strs(&self, table: &str, column: &str) -> Vec<Option<String>> {
        let c = self.frame(table).column(column).expect("column");
        let ca = c.str().expect("string column");
        (0..ca.len())
            .map(|i| ca.get(i).map(str::to_string))
            .collect()
    }

    pub(crate) fn ints(&self, table: &str, column: &str) -> Vec<Option<i64>> {
        let c = self.frame(table).column(column).expect("column");
        let ca = c.i64().expect("i64 column");
        (0..ca.len()).map(|i| ca.get(i)).collect()
    }

    pub(crate) fn bools(&self, table: &str, column: &str) -> Vec<Option<bool>> {
        let c = self.frame(table).column(column).expect("column");
        let ca = c.bool().expect("bool column");
        (0..ca.len()).map(|i| ca.get(i)).collect()
    }

    /// (rows_read, rows_loaded, rows_quarantined) of a table.
    pub(crate) fn counts(&self, table: &str) -> (u64, u64, u64) {
        let a = self.account(table);
        (a.rows_read, a.rows_loaded, a.rows_quarantined)
    }
}

fn frame<'a>(t: &'a Tables, table: &str) -> &'a DataFrame {
    match table {
        "systems" => &t.systems,
        "identities" => &t.identities,
        "accounts" => &t.accounts,
        "entitlements" => &t.entitlements,
        "role_permissions" => &t.role_permissions,
        "grants" => &t.grants,
        "action_permissions" => &t.action_permissions,
        "audit_events" => &t.audit_events,
        "exceptions" => &t.exceptions,
        "waivers" => &t.waivers,
        "training" => &t.training,
        other => panic!("unknown table {other}"),
    }
}

/// Loads the input directory as it is on disk (the fixture must have been written).
fn load_written(f: &Fixture) -> Result<Loaded, Error> {
    let input_dir = f.input_dir();
    let policy_dir = f.policy_dir();
    let inputs = Inputs {
        input_dir: &input_dir,
        policy_dir: &policy_dir,
        naive_tz: f.naive_tz,
        lookback_days: f.lookback_days,
        sources: Default::default(),
    };
    let (_policy, tables, report) = pipeline::load(&inputs)?;
    let loaded = Loaded { tables, report };
    check_accounting(&loaded);
    Ok(loaded)
}

/// Row accounting holds for every table, and agrees with the quarantine and the frames.
fn check_accounting(l: &Loaded) {
    assert_eq!(
        l.report.accounts.len(),
        permaudit::ingest::schema::ALL.len(),
        "one accounting per table"
    );
    for a in &l.report.accounts {
        assert_eq!(
            a.rows_read,
            a.rows_loaded + a.rows_quarantined,
            "rows_read = rows_loaded + rows_quarantined for {}",
            a.table
        );
        assert_eq!(
            l.quarantine(a.table).len() as u64,
            a.rows_quarantined,
            "quarantine rows of {}",
            a.table
        );
        assert_eq!(
            l.frame(a.table).height() as u64,
            a.rows_loaded,
            "frame height of {}",
            a.table
        );
    }
    for q in &l.report.quarantine {
        let raw: Result<serde_json::Value, _> = serde_json::from_str(&q.raw);
        assert!(raw.is_ok(), "raw is JSON: {q:?}");
        assert!(!q.reason.is_empty(), "reason given: {q:?}");
    }
}

fn load(f: &Fixture) -> Result<Loaded, Error> {
    f.write();
    load_written(f)
}

fn load_ok(f: &Fixture) -> Loaded {
    match load(f) {
        Ok(l) => l,
        Err(e) => panic!("load failed: {e}"),
    }
}

/// Writes the fixture, lets `edit` change the input directory, and loads it.
pub(crate) fn load_edited(f: &Fixture, edit: impl FnOnce(&Path)) -> Result<Loaded, Error> {
    f.write();
    edit(&f.input_dir());
    load_written(f)
}

pub(crate) fn load_edited_ok(f: &Fixture, edit: impl FnOnce(&Path)) -> Loaded {
    match load_edited(f, edit) {
        Ok(l) => l,
        Err(e) => panic!("load failed: {e}"),
    }
}

/// A file-level error: its text, after checking it is an input error (exit code 2).
pub(crate) fn input_error(r: Result<Loaded, Error>) -> String {
    match r {
        Ok(_) => panic!("expected a file-level error, the load succeeded"),
        Err(e) => {
            assert_eq!(
                e.exit_code(),
                ExitCode::BadInput,
                "file-level errors exit with 2: {e}"
            );
            assert!(
                matches!(e, Error::Input { .. }),
                "expected an input error: {e:?}"
            );
            e.to_string()
        }
    }
}

pub(crate) fn raw(q: &QuarantineRow) -> serde_json::Value {
    serde_json::from_str(&q.raw).expect("raw is JSON")
}

pub(crate) fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, bytes).expect("write");
}

pub(crate) fn write_parquet(path: &Path, mut df: DataFrame) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    let file = std::fs::File::create(path).expect("create");
    ParquetWriter::new(file).finish(&mut df).expect("parquet");
}

pub(crate) fn remove(path: &Path) {
    std::fs::remove_file(path).expect("remove");
}

pub(crate) fn base() -> Fixture {
    Fixture::new()
        .table("identities", IDENTITIES)
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTITLEMENTS)
}

fn events(rows: &str) -> Fixture {
    base().table("audit_events", &format!("{EVENTS_HEADER}{rows}"))
}

pub(crate) fn string_col(name: &str, values: &[&str]) -> Column {
    Series::new(name.into(), values).into()
}

/// An audit_events frame with the given ts column (and matching string columns).
/// Three valid events a minute apart, for a test to add the column it is about.
fn three_events() -> DataFrame {
    events_frame(string_col(
        "ts",
        &[
            "2026-11-24T08:15:00Z",
            "2026-11-24T08:16:00Z",
            "2026-11-24T08:17:00Z",
        ],
    ))
}

pub(crate) fn events_frame(ts: Column) -> DataFrame {
    let n = ts.len();
    let ids: Vec<String> = (0..n).map(|i| format!("e{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    DataFrame::new_infer_height(vec![
        string_col("event_id", &ids),
        ts,
        string_col("system_id", &vec!["pay-hk"; n]),
        string_col("account_id", &vec!["alice"; n]),
        string_col("action", &vec!["login"; n]),
        string_col("outcome", &vec!["success"; n]),
    ])
    .expect("frame")
}

pub(crate) fn datetime_col(name: &str, values: &[i64], unit: TimeUnit, tz: Option<&str>) -> Column {
    let tz = TimeZone::opt_try_new(tz).expect("time zone");
    Series::new(name.into(), values)
        .cast(&DataType::Datetime(unit, tz))
        .expect("datetime")
        .into()
}

// ---------------------------------------------------------------------------------------
// File-level problems
// ---------------------------------------------------------------------------------------

#[test]
fn missing_required_column_rejects_the_file() {
    let f = base().table(
        "accounts",
        "system_id,account_id,identity_id\npay-hk,alice,u1\n",
    );
    let msg = input_error(load(&f));
    assert!(msg.contains("accounts.csv"), "{msg}");
    assert!(msg.contains("status"), "{msg}");
    assert!(msg.contains("missing required column"), "{msg}");
}

#[test]
fn missing_required_column_in_parquet_rejects_the_file() {
    let f = base();
    let msg = input_error(load_edited(&f, |dir| {
        remove(&dir.join("audit_events.csv"));
        let mut df = events_frame(string_col("ts", &["2026-11-24T08:15:00Z"]));
        let _ = df.drop_in_place("outcome").expect("drop");
        write_parquet(&dir.join("audit_events.parquet"), df);
    }));
    assert!(msg.contains("audit_events.parquet"), "{msg}");
    assert!(msg.contains("outcome"), "{msg}");
}

#[test]
fn duplicate_header_column_rejects_the_file() {
    let f = base().table(
        "identities",
        "identity_id,status,status\nu1,active,active\n",
    );
    let msg = input_error(load(&f));
    assert!(msg.contains("identities.csv"), "{msg}");
    assert!(msg.contains("status appears twice"), "{msg}");
}

#[test]
fn zero_byte_files_are_file_level_errors() {
    // CSV: no header at all.
    let msg = input_error(load(&base().table("grants", "")));
    assert!(msg.contains("grants.csv"), "{msg}");
    assert!(msg.contains("empty file"), "{msg}");

    // Parquet.
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("grants.csv"));
        write(&dir.join("grants.parquet"), b"");
    }));
    assert!(msg.contains("grants.parquet"), "{msg}");
    assert!(msg.contains("empty file"), "{msg}");

    // NDJSON: a zero-byte file is as suspicious as an empty CSV (a failed export).
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(&dir.join("audit_events").join("a.ndjson"), b"");
    }));
    assert!(msg.contains("audit_events/a.ndjson"), "{msg}");
    assert!(msg.contains("empty file"), "{msg}");
}

#[test]
fn header_only_file_is_an_empty_table() {
    let f = base().table(
        "grants",
        "grant_id,system_id,account_id,entitlement_id,granted_at\n",
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("grants"), (0, 0, 0));
    assert_eq!(l.frame("grants").height(), 0);
    // The canonical frame keeps every contract column even if the file did not have it.
    assert!(l.frame("grants").column("ticket").is_ok());
    // A header without a trailing newline is a header too.
    let l = load_ok(&base().table("role_permissions", "system_id,role_id,member_id"));
    assert_eq!(l.counts("role_permissions"), (0, 0, 0));
}

#[test]
fn required_table_absent_is_a_file_level_error() {
    let msg = input_error(load_edited(&base(), |dir| remove(&dir.join("grants.csv"))));
    assert!(msg.contains("grants"), "{msg}");
    assert!(msg.contains("absent"), "{msg}");
}

#[test]
fn csv_quote_never_closed_is_a_file_level_error() {
    // One stray quote would otherwise make the rest of the file a single value: a grant
    // file of 3 rows would load as 1, silently.
    let grants = "grant_id,system_id,account_id,entitlement_id,granted_at,ticket\n\
                  g1,pay-hk,alice,payout.release,2026-01-01T00:00:00Z,CHG-1\n\
                  g2,pay-hk,alice,payout.release,2026-01-01T00:00:00Z,\"CHG-2\n\
                  g3,pay-hk,alice,payout.release,2026-01-01T00:00:00Z,CHG-3\n";
    let msg = input_error(load_edited(&base(), |dir| {
        write(&dir.join("grants.csv"), grants)
    }));
    assert!(msg.contains("grants.csv"), "{msg}");
    assert!(msg.contains("line 3"), "{msg}");
    assert!(msg.contains("never closed"), "{msg}");

    // Quotes that are closed, escaped quotes and a quote inside an unquoted field are fine.
    let grants = "grant_id,system_id,account_id,entitlement_id,granted_at,ticket\n\
                  g1,pay-hk,alice,payout.release,2026-01-01T00:00:00Z,\"CHG \"\"1\"\"\nsecond line\"\n\
                  g2,pay-hk,alice,payout.release,2026-01-01T00:00:00Z,CH\"G-2\n\
                  g3,pay-hk,alice,payout.release,2026-01-01T00:00:00Z,\"\"";
    let l = load_edited_ok(&base(), |dir| write(&dir.join("grants.csv"), grants));
    assert_eq!(l.counts("grants").0, 3);
}

#[test]
fn unreadable_input_is_a_file_level_error() {
    // A dangling link where a table should be.
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("grants.csv"));
        std::os::unix::fs::symlink(dir.join("nowhere.csv"), dir.join("grants.csv"))
            .expect("symlink");
    }));
    assert!(msg.contains("grants.csv"), "{msg}");
    assert!(msg.contains("unreadable"), "{msg}");

    // No input directory at all.
    let msg = input_error(load_edited(&base(), |dir| {
        std::fs::remove_dir_all(dir).expect("rm input");
    }));
    assert!(msg.contains("input_dir"), "{msg}");
}

#[test]
fn a_folder_where_a_table_file_belongs_is_a_file_level_error() {
    // A Spark-style folder of parts: ignored, the optional table would be silently empty.
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("exceptions.csv"));
        write(&dir.join("exceptions.parquet").join("part-0.parquet"), b"x");
    }));
    assert!(msg.contains("exceptions.parquet"), "{msg}");
    assert!(
        msg.contains("only audit_events may be given as a directory"),
        "{msg}"
    );
}

#[test]
fn optional_table_absent_is_empty() {
    let l = load_edited_ok(&base(), |dir| remove(&dir.join("exceptions.csv")));
    assert_eq!(l.counts("exceptions"), (0, 0, 0));
    assert!(l.account("exceptions").files.is_empty());
}

#[test]
fn table_in_two_formats_is_a_file_level_error() {
    let msg = input_error(load_edited(&base(), |dir| {
        let df = DataFrame::new_infer_height(vec![
            string_col("system_id", &["pay-hk"]),
            string_col("role_id", &["ops"]),
            string_col("member_id", &["payout.release"]),
        ])
        .expect("frame");
        write_parquet(&dir.join("role_permissions.parquet"), df);
    }));
    assert!(msg.contains("role_permissions"), "{msg}");
    assert!(msg.contains("role_permissions.csv"), "{msg}");
    assert!(msg.contains("role_permissions.parquet"), "{msg}");

    // Two NDJSON spellings of audit_events.
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(&dir.join("audit_events.ndjson"), "\n");
        write(&dir.join("audit_events.jsonl"), "\n");
    }));
    assert!(msg.contains("audit_events.jsonl"), "{msg}");
    assert!(msg.contains("audit_events.ndjson"), "{msg}");

    // A directory and a file, even when the directory holds no data file.
    let msg = input_error(load_edited(&base(), |dir| {
        std::fs::create_dir_all(dir.join("audit_events")).expect("mkdir");
        write(&dir.join("audit_events").join("_SUCCESS"), "");
    }));
    assert!(msg.contains("audit_events"), "{msg}");
    assert!(msg.contains("audit_events.csv"), "{msg}");
}

#[test]
fn unknown_jurisdiction_is_a_configuration_error() {
    let f = base().table(
        "systems",
        "system_id,name,jurisdiction\npay-hk,Payout console HK,HK\npay-sg,Payout SG,SG\n",
    );
    match load(&f) {
        Ok(_) => panic!("an unknown jurisdiction code must fail the run"),
        Err(e) => {
            assert!(matches!(e, Error::Config(_)), "{e:?}");
            assert_eq!(e.exit_code(), ExitCode::BadInput);
            let msg = e.to_string();
            assert!(msg.contains("SG"), "{msg}");
            assert!(msg.contains("pay-sg"), "{msg}");
        }
    }
}

#[test]
fn unreadable_parquet_is_a_file_level_error() {
    for (name, bytes) in [
        (
            "garbage",
            b"this is not parquet at all, just text\n".to_vec(),
        ),
        ("magic only", b"PAR1PAR1".to_vec()),
        ("csv text", b"grant_id,system_id\ng1,pay-hk\n".to_vec()),
    ] {
        let msg = input_error(load_edited(&base(), |dir| {
            remove(&dir.join("grants.csv"));
            write(&dir.join("grants.parquet"), &bytes);
        }));
        assert!(msg.contains("grants.parquet"), "{name}: {msg}");
    }
}

#[test]
fn truncated_parquet_never_panics() {
    // Build a valid file, then cut it at many lengths: each must be an error, never a panic.
    let f = base();
    f.write();
    let path = f.dir.path().join("full.parquet");
    write_parquet(
        &path,
        events_frame(string_col(
            "ts",
            &["2026-11-24T08:15:00Z", "2026-11-24T09:15:00Z"],
        )),
    );
    let full = std::fs::read(&path).expect("read");
    let dir = f.input_dir();
    let _ = std::fs::remove_file(dir.join("audit_events.csv"));
    let target = dir.join("audit_events.parquet");
    for cut in (1..full.len()).step_by(7).chain([full.len() - 1]) {
        write(&target, &full[..cut]);
        let r = std::panic::catch_unwind(|| load_written(&f).map(|_| ()));
        match r {
            Ok(Ok(())) => panic!("a file cut at {cut} of {} loaded", full.len()),
            Ok(Err(e)) => assert!(e.to_string().contains("audit_events.parquet"), "{e}"),
            Err(_) => panic!("panic on a Parquet file cut at {cut} of {}", full.len()),
        }
    }
    // Flipping bytes in the middle must not panic either (error or rows, never a panic).
    for i in (4..full.len() - 8).step_by(11) {
        let mut bytes = full.clone();
        bytes[i] ^= 0xA5;
        write(&target, &bytes);
        let r = std::panic::catch_unwind(|| load_written(&f).map(|_| ()));
        assert!(r.is_ok(), "panic on a Parquet file with byte {i} flipped");
    }
}

// ---------------------------------------------------------------------------------------
// Parquet column types
// ---------------------------------------------------------------------------------------

#[test]
fn parquet_column_of_the_wrong_type_rejects_the_file() {
    // Float64 seq.
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let mut df = events_frame(string_col("ts", &["2026-11-24T08:15:00Z"]));
        df.with_column(Column::from(Series::new("seq".into(), &[1.5f64])))
            .expect("seq");
        write_parquet(&dir.join("audit_events.parquet"), df);
    }));
    assert!(msg.contains("audit_events.parquet"), "{msg}");
    assert!(msg.contains("seq"), "{msg}");
    assert!(msg.contains("f64") || msg.contains("Float64"), "{msg}");

    // An integer where a timestamp belongs.
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let ts = Series::new("ts".into(), &[T0]).into();
        write_parquet(&dir.join("audit_events.parquet"), events_frame(ts));
    }));
    assert!(msg.contains("audit_events.parquet"), "{msg}");
    assert!(msg.contains("column ts"), "{msg}");
    assert!(msg.contains("timestamp"), "{msg}");

    // A date where a timestamp belongs (a date without time is never a timestamp).
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let ts = Series::new("ts".into(), &[20_000i32])
            .cast(&DataType::Date)
            .expect("date")
            .into();
        write_parquet(&dir.join("audit_events.parquet"), events_frame(ts));
    }));
    assert!(msg.contains("column ts"), "{msg}");

    // An integer identifier.
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("identities.csv"));
        let df = DataFrame::new_infer_height(vec![
            Series::new("identity_id".into(), &[1i64]).into(),
            string_col("status", &["active"]),
        ])
        .expect("frame");
        write_parquet(&dir.join("identities.parquet"), df);
    }));
    assert!(msg.contains("identities.parquet"), "{msg}");
    assert!(msg.contains("identity_id"), "{msg}");
}

#[test]
fn parquet_dictionary_encoded_strings_are_strings() {
    // pandas writes a `category` column as an Arrow dictionary: text all the same.
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let mut df = events_frame(string_col("ts", &["2026-11-24T08:15:00Z"]));
        for name in ["outcome", "system_id"] {
            let cat = df
                .column(name)
                .expect("column")
                .cast(&DataType::from_categories(Categories::global()))
                .expect("categorical");
            df.with_column(cat).expect("replace");
        }
        write_parquet(&dir.join("audit_events.parquet"), df);
    });
    assert_eq!(l.counts("audit_events"), (1, 1, 0));
    assert_eq!(
        l.strs("audit_events", "outcome"),
        vec![Some("success".into())]
    );
    assert_eq!(
        l.strs("audit_events", "system_id"),
        vec![Some("pay-hk".into())]
    );
}

#[test]
fn parquet_native_datetimes_in_every_unit_with_and_without_zone() {
    let cases: Vec<(TimeUnit, i64, Option<&str>)> = vec![
        (TimeUnit::Nanoseconds, 1000, None),
        (TimeUnit::Nanoseconds, 1000, Some("UTC")),
        (TimeUnit::Microseconds, 1, None),
        (TimeUnit::Microseconds, 1, Some("Asia/Hong_Kong")),
        (TimeUnit::Milliseconds, 0, None),
        (TimeUnit::Milliseconds, 0, Some("Europe/London")),
    ];
    for (unit, per_micro, tz) in cases {
        let mut f = base();
        // A naive Parquet timestamp type is UTC, whatever naive_timestamps_tz says.
        f.naive_tz = Some(chrono_tz::Asia::Hong_Kong);
        let (values, expected): (Vec<i64>, Vec<i64>) = if per_micro == 0 {
            (vec![T0 / 1000, T0 / 1000 + 1], vec![T0, T0 + 1000])
        } else {
            (
                vec![T0 * per_micro, (T0 + 1) * per_micro + per_micro - 1],
                vec![T0, T0 + 1],
            )
        };
        let l = load_edited_ok(&f, |dir| {
            remove(&dir.join("audit_events.csv"));
            let ts = datetime_col("ts", &values, unit, tz);
            write_parquet(&dir.join("audit_events.parquet"), events_frame(ts));
        });
        assert_eq!(l.counts("audit_events"), (2, 2, 0), "{unit:?} {tz:?}");
        let got: Vec<i64> = l.ints("audit_events", "ts").into_iter().flatten().collect();
        assert_eq!(got, expected, "{unit:?} {tz:?}");
    }
}

#[test]
fn parquet_nanoseconds_before_the_epoch_truncate_to_the_earlier_microsecond() {
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let ts = datetime_col("ts", &[-1_500], TimeUnit::Nanoseconds, None);
        write_parquet(&dir.join("audit_events.parquet"), events_frame(ts));
    });
    assert_eq!(l.ints("audit_events", "ts"), vec![Some(-2)]);
}

#[test]
fn parquet_string_timestamps_parse_like_csv() {
    let mut f = base();
    f.naive_tz = Some(chrono_tz::Asia::Hong_Kong);
    let l = load_edited_ok(&f, |dir| {
        remove(&dir.join("audit_events.csv"));
        let ts = string_col(
            "ts",
            &[
                "2026-11-24T08:15:00Z",
                "2026-11-24 16:15:00+08:00",
                // naive_timestamps_tz applies to strings in every format
                "2026-11-24T16:15:00",
                "2026-11-24",
                "not a time",
            ],
        );
        write_parquet(&dir.join("audit_events.parquet"), events_frame(ts));
    });
    assert_eq!(l.counts("audit_events"), (5, 3, 2));
    assert_eq!(l.ints("audit_events", "ts"), vec![Some(T0); 3]);
    let q = l.quarantine("audit_events");
    assert_eq!(q[0].source_file, "audit_events.parquet");
    // 0-based row index for Parquet.
    assert_eq!((q[0].line, q[1].line), (3, 4));
    assert!(q[0].reason.contains("bad timestamp in column ts"), "{q:?}");
    assert!(q[0].reason.contains("2026-11-24"), "{q:?}");
    assert_eq!(raw(q[0])["ts"], "2026-11-24");
    assert_eq!(raw(q[0])["event_id"], "e3");
}

#[test]
fn parquet_typed_columns_and_row_level_problems() {
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let mut df = three_events();
        df.with_column(Column::from(Series::new(
            "seq".into(),
            &[Some(7i32), None, Some(9)],
        )))
        .expect("seq");
        df.with_column(Column::from(Series::new(
            "mfa".into(),
            &[Some(true), Some(false), None],
        )))
        .expect("mfa");
        df.with_column(Column::from(Series::new(
            "outcome".into(),
            &[Some("success"), Some("Failure"), None],
        )))
        .expect("outcome");
        write_parquet(&dir.join("audit_events.parquet"), df);
    });
    assert_eq!(l.counts("audit_events"), (3, 1, 2));
    assert_eq!(l.ints("audit_events", "seq"), vec![Some(7)]);
    assert_eq!(l.bools("audit_events", "mfa"), vec![Some(true)]);
    let q = l.quarantine("audit_events");
    assert_eq!(q[0].line, 1);
    assert!(q[0].reason.contains("bad enum value"), "{q:?}");
    assert!(q[0].reason.contains("\"Failure\""), "{q:?}");
    assert_eq!(raw(q[0])["seq"], serde_json::Value::Null);
    assert_eq!(raw(q[0])["mfa"], false);
    assert_eq!(q[1].line, 2);
    assert!(
        q[1].reason
            .contains("missing required value in column outcome"),
        "{q:?}"
    );
    assert_eq!(raw(q[1])["seq"], 9);
}

/// A native-typed file whose cells are all good is admitted column by column, but only
/// when nothing in it needs a row's verdict: a replayed event id or an unknown system in
/// an otherwise clean file is still quarantined with the row path's reason, and an empty
/// optional cell still becomes null.
#[test]
fn parquet_clean_looking_file_with_a_replayed_id_or_unknown_system_is_checked_row_by_row() {
    fn file(
        ids: [&'static str; 3],
        systems: [&'static str; 3],
        ips: [&'static str; 3],
    ) -> impl FnOnce(&Path) {
        move |dir: &Path| {
            remove(&dir.join("audit_events.csv"));
            let ts: Vec<i64> = (0..3).map(|i| T0 + i * HOUR).collect();
            let ts = Series::new("ts".into(), ts)
                .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
                .expect("datetime");
            let mut df = events_frame(ts.into());
            for c in [
                string_col("event_id", &ids),
                string_col("system_id", &systems),
                string_col("src_ip", &ips),
            ] {
                df.with_column(c).expect("column");
            }
            write_parquet(&dir.join("audit_events.parquet"), df);
        }
    }
    let hk = ["pay-hk"; 3];
    let l = load_edited_ok(&base(), file(["e0", "e1", "e0"], hk, ["", "", ""]));
    assert_eq!(l.counts("audit_events"), (3, 2, 1));
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.line, 2);
    assert_eq!(
        q.reason,
        "duplicate primary key (event_id = \"e0\"), first loaded from audit_events.parquet row 0"
    );

    let l = load_edited_ok(
        &base(),
        file(
            ["e0", "e1", "e2"],
            ["pay-hk", "pay-xx", "pay-hk"],
            ["", "", ""],
        ),
    );
    assert_eq!(l.counts("audit_events"), (3, 2, 1));
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.line, 1);
    assert_eq!(q.reason, "unknown system (system_id = \"pay-xx\")");

    let l = load_edited_ok(&base(), file(["e0", "e1", "e2"], hk, ["10.0.0.1", "", "x"]));
    assert_eq!(l.counts("audit_events"), (3, 3, 0));
    assert_eq!(
        l.strs("audit_events", "src_ip"),
        vec![Some("10.0.0.1".into()), None, Some("x".into())]
    );
}

#[test]
fn parquet_all_null_column_is_a_null_column() {
    // Writers produce a Null-typed column for an optional column without values; that is
    // the contract's column with every cell null, not a wrong type.
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let mut df = events_frame(string_col("ts", &["2026-11-24T08:15:00Z"]));
        df.with_column(Column::full_null("seq".into(), 1, &DataType::Null))
            .expect("seq");
        write_parquet(&dir.join("audit_events.parquet"), df);
    });
    assert_eq!(l.counts("audit_events"), (1, 1, 0));
    assert_eq!(l.ints("audit_events", "seq"), vec![None]);

    // A required column that is all null quarantines every row as a missing value.
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let mut df = events_frame(string_col("ts", &["2026-11-24T08:15:00Z"]));
        df.with_column(Column::full_null("outcome".into(), 1, &DataType::Null))
            .expect("outcome");
        write_parquet(&dir.join("audit_events.parquet"), df);
    });
    assert_eq!(l.counts("audit_events"), (1, 0, 1));
    assert!(l
        .only_quarantined("audit_events")
        .reason
        .contains("missing required value in column outcome"));
}

#[test]
fn parquet_unsigned_seq_beyond_i64_is_a_bad_value_not_null() {
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let mut df = events_frame(string_col(
            "ts",
            &["2026-11-24T08:15:00Z", "2026-11-24T08:16:00Z"],
        ));
        df.with_column(Column::from(Series::new("seq".into(), &[5u64, u64::MAX])))
            .expect("seq");
        write_parquet(&dir.join("audit_events.parquet"), df);
    });
    assert_eq!(l.counts("audit_events"), (2, 1, 1));
    assert_eq!(l.ints("audit_events", "seq"), vec![Some(5)]);
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.line, 1);
    assert!(q.reason.contains("bad integer in column seq"), "{q:?}");
    assert!(q.reason.contains(&u64::MAX.to_string()), "{q:?}");
}

#[test]
fn parquet_unknown_columns_of_any_type_are_ignored_and_listed() {
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let mut df = events_frame(string_col("ts", &["2026-11-24T08:15:00Z"]));
        df.with_column(Column::from(Series::new("score".into(), &[0.5f64])))
            .expect("score");
        write_parquet(&dir.join("audit_events.parquet"), df);
    });
    assert_eq!(l.counts("audit_events"), (1, 1, 0));
    assert_eq!(
        l.report.unknown_columns,
        vec![("audit_events.parquet".to_string(), "score".to_string())]
    );
}

// ---------------------------------------------------------------------------------------
// Row-level problems: values
// ---------------------------------------------------------------------------------------

#[test]
fn missing_required_value_quarantines_the_row() {
    let f = base().table(
        "accounts",
        "system_id,account_id,identity_id,status\n\
         pay-hk,alice,u1,active\n\
         pay-hk,bob,u2,\n\
         pay-hk,,u2,active\n\
         pay-hk,carol,,active\n",
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("accounts"), (4, 2, 2));
    let q = l.quarantine("accounts");
    assert_eq!(q[0].table, "accounts");
    assert_eq!(q[0].source_file, "accounts.csv");
    assert_eq!(q[0].line, 3);
    assert_eq!(
        q[0].reason, "missing required value in column status",
        "{q:?}"
    );
    assert_eq!(
        raw(q[0]),
        serde_json::json!({"system_id": "pay-hk", "account_id": "bob", "identity_id": "u2", "status": ""})
    );
    assert_eq!(q[1].line, 4);
    assert!(q[1].reason.contains("column account_id"), "{q:?}");
    // An empty optional identifier is null; the row loads.
    assert_eq!(
        l.strs("accounts", "identity_id"),
        vec![Some("u1".into()), None]
    );
}

#[test]
fn several_bad_cells_are_all_named_in_one_reason() {
    let l = load_ok(&events("e1,yesterday,pay-hk,alice,login,Success,x\n"));
    let q = l.only_quarantined("audit_events");
    assert!(q.reason.contains("column ts"), "{q:?}");
    assert!(q.reason.contains("column outcome"), "{q:?}");
    assert!(q.reason.contains("column seq"), "{q:?}");
}

#[test]
fn bad_timestamp_quarantines_the_row() {
    let bad = [
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-11-31T00:00:00Z",
        "2026-11-24T25:00:00Z",
        "2026-11-24T08:15Z",
        "2026-11-24T08:15:00+25:00",
        "1795508100",
        "2026-11-24T08:15:00 Z",
        "2026-11-24T08:15:00Zjunk",
        "２０２６-11-24T08:15:00Z",
    ];
    let rows: String = bad
        .iter()
        .enumerate()
        .map(|(i, ts)| format!("g{i},pay-hk,alice,payout.release,{ts}\n"))
        .collect();
    let f = base().table(
        "grants",
        &format!("grant_id,system_id,account_id,entitlement_id,granted_at\n{rows}"),
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("grants"), (bad.len() as u64, 0, bad.len() as u64));
    for (i, q) in l.quarantine("grants").iter().enumerate() {
        assert_eq!(q.line, i as u64 + 2);
        assert_eq!(
            q.reason,
            format!("bad timestamp in column granted_at: {:?}", bad[i])
        );
    }
}

#[test]
fn naive_timestamp_is_bad_without_a_configured_zone() {
    let l = load_ok(&events(
        "e1,2026-11-24T08:15:00,pay-hk,alice,login,success,\n",
    ));
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.line, 2);
    assert!(q.reason.contains("bad timestamp in column ts"), "{q:?}");
}

#[test]
fn naive_timestamp_is_local_time_with_naive_timestamps_tz() {
    let mut f = events(
        "e1,2026-11-24T16:15:00,pay-hk,alice,login,success,\n\
         e2,2026-11-24 16:15:00.5,pay-hk,alice,login,success,\n\
         e3,2026-11-24T08:15:00Z,pay-hk,alice,login,success,\n\
         e4,2026-11-24T17:15:00+09:00,pay-hk,alice,login,success,\n",
    );
    f.naive_tz = Some(chrono_tz::Asia::Hong_Kong);
    let l = load_ok(&f);
    assert_eq!(l.counts("audit_events"), (4, 4, 0));
    // Strings with an offset keep their offset; only naive ones take the zone.
    assert_eq!(
        l.ints("audit_events", "ts"),
        vec![Some(T0), Some(T0 + 500_000), Some(T0), Some(T0)]
    );
}

#[test]
fn naive_local_time_that_does_not_exist_or_is_ambiguous_is_bad() {
    let mut f = events(
        // London springs forward at 01:00 on 2026-03-29: 01:30 does not exist.
        "e1,2026-03-29T01:30:00,pay-uk,alice,login,success,\n\
         e2,2026-10-25T01:30:00,pay-uk,alice,login,success,\n\
         e3,2026-10-25T02:30:00,pay-uk,alice,login,success,\n\
         e4,2026-10-25T00:30:00,pay-uk,alice,login,success,\n\
         e5,2026-10-25T01:30:00+01:00,pay-uk,alice,login,success,\n",
    );
    f.naive_tz = Some(chrono_tz::Europe::London);
    let l = load_ok(&f);
    assert_eq!(l.counts("audit_events"), (5, 3, 2));
    let q = l.quarantine("audit_events");
    assert_eq!((q[0].line, q[1].line), (2, 3));
    assert!(q[0].reason.contains("\"2026-03-29T01:30:00\""), "{q:?}");
    assert!(q[1].reason.contains("\"2026-10-25T01:30:00\""), "{q:?}");
    assert_eq!(
        l.strs("audit_events", "event_id"),
        vec![Some("e3".into()), Some("e4".into()), Some("e5".into())]
    );
    // 2026-10-25 02:30 GMT (after fall-back) and 00:30 BST; 01:30+01:00 explicit.
    let base_day = 1_792_886_400_000_000; // 2026-10-25T00:00:00Z
    assert_eq!(
        l.ints("audit_events", "ts"),
        vec![
            Some(base_day + 2 * HOUR + HOUR / 2),
            Some(base_day - HOUR / 2),
            Some(base_day + HOUR / 2)
        ]
    );
}

#[test]
fn date_without_time_is_bad_even_with_a_zone() {
    for tz in [None, Some(chrono_tz::Asia::Hong_Kong)] {
        let mut f = base().table(
            "identities",
            "identity_id,status,terminated_at\nu1,active,\nu9,terminated,2026-11-24\n",
        );
        f.naive_tz = tz;
        let l = load_ok(&f);
        let q = l.only_quarantined("identities");
        assert_eq!(q.line, 3);
        assert_eq!(
            q.reason,
            "bad timestamp in column terminated_at: \"2026-11-24\""
        );
    }
}

#[test]
fn fractional_seconds_beyond_microseconds_are_truncated() {
    let mut f = events(
        "e1,2026-11-24T08:15:00.1234567Z,pay-hk,alice,login,success,\n\
         e2,2026-11-24T08:15:00.999999999Z,pay-hk,alice,login,success,\n\
         e3,2026-11-24T08:15:00.123456789123Z,pay-hk,alice,login,success,\n\
         e4,2026-11-24T16:15:00.0000019,pay-hk,alice,login,success,\n\
         e5,2026-11-24T08:15:00.5+00:00,pay-hk,alice,login,success,\n",
    );
    f.naive_tz = Some(chrono_tz::Asia::Hong_Kong);
    let l = load_ok(&f);
    assert_eq!(l.counts("audit_events"), (5, 5, 0));
    assert_eq!(
        l.ints("audit_events", "ts"),
        vec![
            Some(T0 + 123_456),
            Some(T0 + 999_999),
            Some(T0 + 123_456),
            Some(T0 + 1),
            Some(T0 + 500_000)
        ]
    );
}

#[test]
fn t_or_space_between_date_and_time() {
    let l = load_ok(&events(
        "e1,2026-11-24T08:15:00Z,pay-hk,alice,login,success,\n\
         e2,2026-11-24 08:15:00Z,pay-hk,alice,login,success,\n\
         e3,2026-11-24 16:15:00+08:00,pay-hk,alice,login,success,\n\
         e4,2026-11-24t08:15:00z,pay-hk,alice,login,success,\n",
    ));
    assert_eq!(l.counts("audit_events"), (4, 4, 0));
    assert_eq!(l.ints("audit_events", "ts"), vec![Some(T0); 4]);
}

#[test]
fn bad_enum_values_quarantine_the_row() {
    let f = base()
        .table(
            "identities",
            "identity_id,status\nu1,active\nu2,Active\nu3, active\nu4,ACTIVE\nu5,leave\n",
        )
        .table(
            "accounts",
            "system_id,account_id,identity_id,status,account_type\n\
             pay-hk,alice,u1,active,\n\
             pay-hk,bob,u1,active,Human\n\
             pay-hk,svc,,locked,service\n",
        );
    let l = load_ok(&f);
    assert_eq!(l.counts("identities"), (5, 2, 3));
    let q = l.quarantine("identities");
    assert_eq!(q.iter().map(|q| q.line).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert!(q[0].reason.starts_with("bad enum value"), "{q:?}");
    assert!(q[0].reason.contains("column status"), "{q:?}");
    assert!(q[0].reason.contains("\"Active\""), "{q:?}");
    assert!(q[0].reason.contains("active, leave, terminated"), "{q:?}");
    // account_type defaults to human when empty; a capitalised value is bad.
    assert_eq!(l.counts("accounts"), (3, 2, 1));
    assert_eq!(
        l.strs("accounts", "account_type"),
        vec![Some("human".into()), Some("service".into())]
    );
    assert!(l
        .only_quarantined("accounts")
        .reason
        .contains("column account_type"));
}

#[test]
fn enum_and_bool_defaults_apply_to_empty_cells() {
    let f = base().table(
        "entitlements",
        "system_id,entitlement_id,kind,risk,privileged\n\
         pay-hk,a,permission,,\n\
         pay-hk,b,permission,critical,TRUE\n\
         pay-hk,c,role,Low,\n",
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("entitlements"), (3, 2, 1));
    assert_eq!(
        l.strs("entitlements", "risk"),
        vec![Some("medium".into()), Some("critical".into())]
    );
    assert_eq!(
        l.bools("entitlements", "privileged"),
        vec![Some(false), Some(true)]
    );
    assert!(l
        .only_quarantined("entitlements")
        .reason
        .contains("bad enum value (expected one of low, medium, high, critical) in column risk"));
}

#[test]
fn bad_bool_quarantines_the_row() {
    let l = load_ok(&base().table(
        "audit_events",
        "event_id,ts,system_id,account_id,action,outcome,mfa\n\
         e1,2026-11-24T08:15:00Z,pay-hk,alice,login,success,true\n\
         e2,2026-11-24T08:15:00Z,pay-hk,alice,login,success,FALSE\n\
         e3,2026-11-24T08:15:00Z,pay-hk,alice,login,success,1\n\
         e4,2026-11-24T08:15:00Z,pay-hk,alice,login,success,0\n\
         e5,2026-11-24T08:15:00Z,pay-hk,alice,login,success,\n\
         e6,2026-11-24T08:15:00Z,pay-hk,alice,login,success,yes\n\
         e7,2026-11-24T08:15:00Z,pay-hk,alice,login,success,2\n\
         e8,2026-11-24T08:15:00Z,pay-hk,alice,login,success, true\n",
    ));
    assert_eq!(l.counts("audit_events"), (8, 5, 3));
    assert_eq!(
        l.bools("audit_events", "mfa"),
        vec![Some(true), Some(false), Some(true), Some(false), None]
    );
    let q = l.quarantine("audit_events");
    assert_eq!(q.iter().map(|q| q.line).collect::<Vec<_>>(), vec![7, 8, 9]);
    assert_eq!(q[0].reason, "bad boolean in column mfa: \"yes\"");
}

#[test]
fn bad_integer_seq_quarantines_the_row() {
    let l = load_ok(&events(
        "e1,2026-11-24T08:15:00Z,pay-hk,alice,login,success,1\n\
         e2,2026-11-24T08:15:00Z,pay-hk,alice,login,success,\n\
         e3,2026-11-24T08:15:00Z,pay-hk,alice,login,success,-4\n\
         e4,2026-11-24T08:15:00Z,pay-hk,alice,login,success,1.5\n\
         e5,2026-11-24T08:15:00Z,pay-hk,alice,login,success,12a\n\
         e6,2026-11-24T08:15:00Z,pay-hk,alice,login,success,99999999999999999999\n\
         e7,2026-11-24T08:15:00Z,pay-hk,alice,login,success, 3\n",
    ));
    assert_eq!(l.counts("audit_events"), (7, 3, 4));
    assert_eq!(l.ints("audit_events", "seq"), vec![Some(1), None, Some(-4)]);
    let q = l.quarantine("audit_events");
    assert_eq!(
        q.iter().map(|q| q.line).collect::<Vec<_>>(),
        vec![5, 6, 7, 8]
    );
    assert_eq!(q[0].reason, "bad integer in column seq: \"1.5\"");
}

#[test]
fn blank_required_identifier_is_bad_and_blank_optional_identifier_is_null() {
    let f = base().table(
        "accounts",
        "system_id,account_id,identity_id,status\n\
         pay-hk,alice,   ,active\n\
         pay-hk,\"  \",u1,active\n\
         pay-hk,bob,\"\t\",active\n",
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("accounts"), (3, 2, 1));
    assert_eq!(l.strs("accounts", "identity_id"), vec![None, None]);
    let q = l.only_quarantined("accounts");
    assert_eq!(q.line, 3);
    assert_eq!(q.reason, "missing required value in column account_id");
    assert_eq!(raw(q)["account_id"], "  ");
}

#[test]
fn identifiers_are_never_trimmed() {
    let f = base()
        .table(
            "accounts",
            "system_id,account_id,identity_id,status\n\
             pay-hk,alice,u1,active\n\
             pay-hk, alice,u1,active\n\
             pay-hk,alice ,u1,active\n\
             pay-hk,Alice,u1,active\n\
             pay-hk ,zed,u1,active\n",
        )
        .table(
            "grants",
            "grant_id,system_id,account_id,entitlement_id,granted_at\n\
             g1,pay-hk,alice ,payout.release,2026-11-01T00:00:00Z\n\
             g2,pay-hk,alice,payout.release ,2026-11-01T00:00:00Z\n\
             g3,pay-hk,ALICE,payout.release,2026-11-01T00:00:00Z\n",
        );
    let l = load_ok(&f);
    // Whitespace and case make different keys: no duplicates among the first four.
    assert_eq!(l.counts("accounts"), (5, 4, 1));
    assert_eq!(
        l.strs("accounts", "account_id"),
        vec![
            Some("alice".into()),
            Some(" alice".into()),
            Some("alice ".into()),
            Some("Alice".into())
        ]
    );
    let q = l.only_quarantined("accounts");
    assert!(q.reason.contains("unknown system"), "{q:?}");
    assert!(q.reason.contains("\"pay-hk \""), "{q:?}");
    // g1 references the loaded account "alice "; g2 an entitlement with a trailing space.
    assert_eq!(l.counts("grants"), (3, 1, 2));
    let q = l.quarantine("grants");
    assert!(q[0].reason.contains("unknown entitlement"), "{q:?}");
    assert!(q[1].reason.contains("unknown account"), "{q:?}");
}

// ---------------------------------------------------------------------------------------
// Row-level problems: keys and references
// ---------------------------------------------------------------------------------------

#[test]
fn duplicate_primary_key_keeps_the_first_in_file_order() {
    let f = base()
        .table(
            "identities",
            "identity_id,display_name,status\n\
             u1,First,active\n\
             u2,Two,active\n\
             u1,Second,leave\n\
             u1,Third,active\n",
        )
        .table(
            "accounts",
            "system_id,account_id,identity_id,status\n\
             pay-hk,alice,u1,active\n\
             pay-uk,alice,u1,active\n\
             pay-hk,alice,u2,disabled\n",
        );
    let l = load_ok(&f);
    assert_eq!(l.counts("identities"), (4, 2, 2));
    assert_eq!(
        l.strs("identities", "display_name"),
        vec![Some("First".into()), Some("Two".into())]
    );
    let q = l.quarantine("identities");
    assert_eq!((q[0].line, q[1].line), (4, 5));
    assert_eq!(
        q[0].reason,
        "duplicate primary key (identity_id = \"u1\"), first loaded from identities.csv line 2"
    );
    assert_eq!(raw(q[1])["display_name"], "Third");
    // accounts: the key is (system_id, account_id); the same account name in two systems
    // is two accounts.
    assert_eq!(l.counts("accounts"), (3, 2, 1));
    let q = l.only_quarantined("accounts");
    assert_eq!(q.line, 4);
    assert!(
        q.reason
            .contains("system_id = \"pay-hk\", account_id = \"alice\""),
        "{q:?}"
    );
}

#[test]
fn a_quarantined_row_does_not_claim_its_key() {
    // The first row is bad, so the second is the first *loadable* row with that key.
    let f = base().table(
        "identities",
        "identity_id,status\nu1,Active\nu1,active\nu2,active\n",
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("identities"), (3, 2, 1));
    let q = l.only_quarantined("identities");
    assert_eq!(q.line, 2);
    assert!(q.reason.contains("bad enum value"), "{q:?}");
}

#[test]
fn audit_event_ids_are_unique_within_a_file_only() {
    let f = base();
    let l = load_edited_ok(&f, |dir| {
        remove(&dir.join("audit_events.csv"));
        let d = dir.join("audit_events");
        write(
            &d.join("date=2026-11-23").join("part-0.csv"),
            format!(
                "{EVENTS_HEADER}e1,2026-11-23T08:00:00Z,pay-hk,alice,login,success,1\n\
                 e1,2026-11-23T08:01:00Z,pay-hk,alice,login,success,2\n"
            ),
        );
        write(
            &d.join("date=2026-11-24").join("part-0.csv"),
            format!("{EVENTS_HEADER}e1,2026-11-24T08:00:00Z,pay-hk,alice,login,success,3\n"),
        );
        write(
            &d.join("date=2026-11-24").join("part-1.ndjson"),
            "{\"event_id\":\"e1\",\"ts\":\"2026-11-24T09:00:00Z\",\"system_id\":\"pay-hk\",\
             \"account_id\":\"alice\",\"action\":\"login\",\"outcome\":\"success\",\"seq\":4}\n",
        );
    });
    assert_eq!(l.counts("audit_events"), (4, 3, 1));
    assert_eq!(
        l.ints("audit_events", "seq"),
        vec![Some(1), Some(3), Some(4)]
    );
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.source_file, "audit_events/date=2026-11-23/part-0.csv");
    assert_eq!(q.line, 3);
    assert!(q.reason.contains("duplicate primary key"), "{q:?}");
}

#[test]
fn other_tables_check_keys_across_files() {
    // grant_id is unique per table; with one file per table this is within the file, and
    // the key of a grant is compared exactly.
    let f = base().table(
        "grants",
        "grant_id,system_id,account_id,entitlement_id,granted_at\n\
         g1,pay-hk,alice,payout.release,2026-11-01T00:00:00Z\n\
         g1,pay-hk,alice,ops,2026-11-02T00:00:00Z\n",
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("grants"), (2, 1, 1));
    assert!(l
        .only_quarantined("grants")
        .reason
        .starts_with("duplicate primary key (grant_id = \"g1\")"));
}

#[test]
fn reference_to_an_unknown_system_quarantines_the_row() {
    let f = base()
        .table(
            "accounts",
            "system_id,account_id,identity_id,status\n\
             pay-hk,alice,u1,active\n\
             pay-sg,alice,u1,active\n",
        )
        .table(
            "entitlements",
            "system_id,entitlement_id,kind\npay-hk,payout.release,permission\npay-xx,x,permission\n",
        )
        .table(
            "audit_events",
            &format!(
                "{EVENTS_HEADER}e1,2026-11-24T08:15:00Z,pay-xx,alice,login,success,\n\
                 e2,2026-11-24T08:15:00Z,pay-hk,ghost,login,success,\n"
            ),
        );
    let l = load_ok(&f);
    let q = l.only_quarantined("accounts");
    assert_eq!(q.line, 3);
    assert_eq!(q.reason, "unknown system (system_id = \"pay-sg\")");
    assert_eq!(
        l.only_quarantined("entitlements").reason,
        "unknown system (system_id = \"pay-xx\")"
    );
    // An event from an account not in `accounts` is evidence, not a bad row.
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.line, 2);
    assert!(q.reason.contains("unknown system"), "{q:?}");
    assert_eq!(
        l.strs("audit_events", "account_id"),
        vec![Some("ghost".into())]
    );
}

#[test]
fn grants_to_unknown_or_quarantined_accounts_and_entitlements_are_quarantined() {
    let f = base()
        .table(
            "accounts",
            "system_id,account_id,identity_id,status\n\
             pay-hk,alice,u1,active\n\
             pay-hk,bob,u2,Active\n",
        )
        .table(
            "entitlements",
            "system_id,entitlement_id,kind\n\
             pay-hk,payout.release,permission\n\
             pay-uk,payout.release,permission\n\
             pay-hk,bad,widget\n",
        )
        .table(
            "grants",
            "grant_id,system_id,account_id,entitlement_id,granted_at\n\
             g1,pay-hk,alice,payout.release,2026-11-01T00:00:00Z\n\
             g2,pay-hk,nobody,payout.release,2026-11-01T00:00:00Z\n\
             g3,pay-hk,alice,nothing,2026-11-01T00:00:00Z\n\
             g4,pay-hk,bob,payout.release,2026-11-01T00:00:00Z\n\
             g5,pay-uk,alice,payout.release,2026-11-01T00:00:00Z\n\
             g6,pay-hk,alice,bad,2026-11-01T00:00:00Z\n\
             g7,pay-zz,alice,payout.release,2026-11-01T00:00:00Z\n",
        );
    let l = load_ok(&f);
    assert_eq!(l.counts("accounts"), (2, 1, 1));
    assert_eq!(l.counts("entitlements"), (3, 2, 1));
    assert_eq!(l.counts("grants"), (7, 1, 6));
    assert_eq!(
        l.reasons("grants"),
        vec![
            (
                3,
                "unknown account (system_id = \"pay-hk\", account_id = \"nobody\")"
            ),
            (
                4,
                "unknown entitlement (system_id = \"pay-hk\", entitlement_id = \"nothing\")"
            ),
            // bob's row was quarantined, so bob is unknown to the grants.
            (
                5,
                "unknown account (system_id = \"pay-hk\", account_id = \"bob\")"
            ),
            // an account name is unique within its system only
            (
                6,
                "unknown account (system_id = \"pay-uk\", account_id = \"alice\")"
            ),
            (
                7,
                "unknown entitlement (system_id = \"pay-hk\", entitlement_id = \"bad\")"
            ),
            (8, "unknown system (system_id = \"pay-zz\")"),
        ]
    );
}

#[test]
fn role_permissions_role_must_be_a_role_and_member_must_exist() {
    let f = base().table(
        "role_permissions",
        "system_id,role_id,member_id\n\
         pay-hk,ops,payout.release\n\
         pay-hk,ops,payout.release\n\
         pay-hk,ops,ops\n\
         pay-hk,payout.release,beneficiary.create\n\
         pay-hk,ops,ghost\n\
         pay-hk,nobody,payout.release\n\
         pay-uk,ops,payout.release\n",
    );
    let l = load_ok(&f);
    // Duplicate edges and self-cycles are harmless.
    assert_eq!(l.counts("role_permissions"), (7, 3, 4));
    let reasons: Vec<(u64, &str)> = l
        .quarantine("role_permissions")
        .iter()
        .map(|q| (q.line, q.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                5,
                "role_id (pay-hk, payout.release) is a permission, not a role"
            ),
            (
                6,
                "unknown entitlement (system_id = \"pay-hk\", member_id = \"ghost\")"
            ),
            (
                7,
                "unknown entitlement (system_id = \"pay-hk\", role_id = \"nobody\")"
            ),
            (
                8,
                "unknown entitlement (system_id = \"pay-uk\", role_id = \"ops\")"
            ),
        ]
    );
}

#[test]
fn action_permissions_permission_must_be_a_permission() {
    let f = base().table(
        "action_permissions",
        "system_id,action,permission_id\n\
         pay-hk,payout.release,payout.release\n\
         pay-hk,payout.release,payout.release\n\
         pay-hk,ops.do,ops\n\
         pay-hk,x,ghost\n",
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("action_permissions"), (4, 2, 2));
    let q = l.quarantine("action_permissions");
    assert_eq!(q[0].line, 4);
    assert_eq!(
        q[0].reason,
        "permission_id (pay-hk, ops) is a role, not a permission"
    );
    assert_eq!(q[1].line, 5);
    assert!(q[1].reason.starts_with("unknown entitlement"), "{q:?}");
}

#[test]
fn terminated_identity_without_terminated_at_is_quarantined() {
    let f = base().table(
        "identities",
        "identity_id,status,terminated_at\n\
         u1,active,\n\
         u2,terminated,\n\
         u3,terminated,2026-11-01T00:00:00Z\n\
         u4,leave,2026-11-01T00:00:00Z\n",
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("identities"), (4, 3, 1));
    let q = l.only_quarantined("identities");
    assert_eq!(q.line, 3);
    assert_eq!(q.reason, "terminated identity without terminated_at");
    assert_eq!(raw(q)["identity_id"], "u2");
}

#[test]
fn exception_naming_an_unknown_sod_rule_is_quarantined() {
    let f = base().policy("sod_rules", SOD_RULES).table(
        "exceptions",
        "exception_id,sod_rule_id,identity_id,approved_by,approved_at,expires_at,control\n\
         x1,SOD-001,u1,u2,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,dual control\n\
         x2,SOD-999,u1,u2,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,\n\
         x3,sod-001,u1,u2,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,\n",
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("exceptions"), (3, 1, 2));
    let q = l.quarantine("exceptions");
    assert_eq!(q[0].line, 3);
    assert_eq!(q[0].reason, "unknown SoD rule (\"SOD-999\")");
    assert_eq!(q[1].reason, "unknown SoD rule (\"sod-001\")");
}

#[test]
fn every_other_table_is_loaded_before_the_first_event() {
    // What the run releases before the partitions (the grants) must be complete when the
    // events start, and so must the report of every table (stored with them for the next
    // run and for `whatif`).
    let f = events("e1,2026-11-24T08:15:00Z,pay-hk,alice,login,success,1\n").table(
        "training",
        "identity_id,course,completed_at\nu1,security-awareness,2026-11-01T00:00:00Z\n",
    );
    f.write();
    let discovery = permaudit::ingest::discover(&f.input_dir(), Vec::new()).expect("discovery");
    let checks = permaudit::rules::chain_checks();
    let plan = EventsPlan::all_rows(&checks);
    let mut seen = None;
    let (tables, report) = permaudit::ingest::load(&discovery, None, &[], &[], &plan, |t| {
        seen = Some((
            t.accounts.height(),
            t.training.height(),
            t.audit_events.height(),
        ));
        Ok(None)
    })
    .expect("load");
    assert_eq!(seen, Some((1, 1, 0)));
    assert_eq!(tables.audit_events.height(), 1);
    // Every table's file, each with its hash (the fixture writes one for each table).
    let files: Vec<&str> = report
        .accounts
        .iter()
        .flat_map(|a| &a.files)
        .filter(|f| f.sha256.len() == 64)
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(files.len(), 11, "{files:?}");
}

#[test]
fn the_report_keeps_the_contracts_table_order_though_the_events_are_read_last() {
    // Bad rows in the events and in two tables the contract lists after them, which are now
    // read before them: a report in read order would list the events' row last.
    let f = events("e1,yesterday,pay-hk,alice,login,success,1\n")
        .policy("sod_rules", SOD_RULES)
        .table(
            "exceptions",
            "exception_id,sod_rule_id,identity_id,approved_by,approved_at,expires_at,control\n\
             x1,SOD-999,u1,u2,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,\n",
        )
        .table(
            "training",
            "identity_id,course,completed_at\nu1,security-awareness,soon\n",
        );
    let l = load_ok(&f);
    let quarantined: Vec<&str> = l.report.quarantine.iter().map(|q| q.table).collect();
    assert_eq!(quarantined, ["audit_events", "exceptions", "training"]);
    let accounted: Vec<&str> = l.report.accounts.iter().map(|a| a.table).collect();
    let contract: Vec<&str> = permaudit::ingest::schema::ALL
        .iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(accounted, contract);
}

// ---------------------------------------------------------------------------------------
// CSV structure
// ---------------------------------------------------------------------------------------

#[test]
fn non_utf8_bytes_quarantine_the_row_only() {
    let mut text = format!("{EVENTS_HEADER}e1,2026-11-24T08:15:00Z,pay-hk,alice,login,success,1\n")
        .into_bytes();
    text.extend_from_slice(b"e2,2026-11-24T08:15:00Z,pay-hk,al\xFFice,login,success,2\n");
    text.extend_from_slice(b"e3,2026-11-24T08:15:00Z,pay-hk,alice,login,success,3\n");
    let l = load_edited_ok(&base(), |dir| write(&dir.join("audit_events.csv"), &text));
    assert_eq!(l.counts("audit_events"), (3, 2, 1));
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.line, 3);
    assert_eq!(q.reason, "bytes that are not UTF-8 in column account_id");
    assert_eq!(raw(q)["account_id"], "al\u{FFFD}ice");
    assert_eq!(l.ints("audit_events", "seq"), vec![Some(1), Some(3)]);
}

#[test]
fn non_utf8_header_is_a_file_level_error() {
    let msg = input_error(load_edited(&base(), |dir| {
        write(&dir.join("grants.csv"), b"grant_id,sys\xFFtem_id\n");
    }));
    assert!(msg.contains("grants.csv"), "{msg}");
    assert!(msg.contains("UTF-8"), "{msg}");
}

#[test]
fn ragged_csv_rows_are_quarantined() {
    let l = load_ok(&events(
        "e1,2026-11-24T08:15:00Z,pay-hk,alice,login,success,1\n\
         e2,2026-11-24T08:15:00Z,pay-hk,alice,login,success\n\
         e3,2026-11-24T08:15:00Z,pay-hk,alice,login,success,3,extra\n\
         e4\n\
         e5,2026-11-24T08:15:00Z,pay-hk,alice,login,success,5\n",
    ));
    assert_eq!(l.counts("audit_events"), (5, 2, 3));
    let q = l.quarantine("audit_events");
    assert_eq!(q.iter().map(|q| q.line).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert_eq!(q[0].reason, "wrong number of fields: expected 7, found 6");
    assert_eq!(q[1].reason, "wrong number of fields: expected 7, found 8");
    // The raw row of a ragged line is the list of its fields.
    assert_eq!(raw(q[2]), serde_json::json!(["e4"]));
    assert_eq!(raw(q[1])[7], "extra");
}

#[test]
fn quoted_newlines_keep_later_line_numbers_right() {
    // In `ticket`, a description, where a line break is a value (elsewhere it is a bad one).
    let f = base().table(
        "grants",
        "grant_id,system_id,account_id,entitlement_id,granted_at,ticket\n\
         g1,pay-hk,alice,payout.release,2026-01-01T00:00:00Z,\"Line one\nline two\"\n\
         g2,pay-hk,alice,payout.release,2026-01-01,\"A, \"\"quoted\"\"\r\nname\n\nwith blank line\"\n\
         g3,pay-hk,alice,payout.release,soon,\n\
         g4,pay-hk,alice,payout.release,2026-01-01T00:00:00Z,\"x\"\n",
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("grants"), (4, 2, 2));
    let q = l.quarantine("grants");
    // g2 starts on physical line 4; g3 is on line 8.
    assert_eq!((q[0].line, q[1].line), (4, 8));
    assert_eq!(
        raw(q[0])["ticket"],
        "A, \"quoted\"\r\nname\n\nwith blank line"
    );
    assert_eq!(
        l.strs("grants", "ticket"),
        vec![Some("Line one\nline two".into()), Some("x".into())]
    );
}

#[test]
fn crlf_bom_and_blank_lines_keep_line_numbers_right() {
    let text = "\u{FEFF}identity_id,status\r\nu1,active\r\n\r\nu2,Active\r\nu3,leave\r\n";
    let l = load_edited_ok(&base(), |dir| write(&dir.join("identities.csv"), text));
    assert_eq!(l.counts("identities"), (3, 2, 1));
    assert_eq!(l.only_quarantined("identities").line, 4);
    assert_eq!(
        l.strs("identities", "identity_id"),
        vec![Some("u1".into()), Some("u3".into())]
    );
}

#[test]
fn unknown_extra_columns_are_ignored_and_listed() {
    let f = base().table(
        "identities",
        "identity_id,status,nickname,terminated_at,Status\n\
         u1,active,Al,,whatever\n",
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("identities"), (1, 1, 0));
    assert_eq!(
        l.report.unknown_columns,
        vec![
            ("identities.csv".to_string(), "nickname".to_string()),
            ("identities.csv".to_string(), "Status".to_string()),
        ]
    );
    assert!(l.frame("identities").column("nickname").is_err());
    // Column order in the file is free; the frame follows the schema.
    let names: Vec<String> = l
        .frame("identities")
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names[0], "identity_id");
}

// ---------------------------------------------------------------------------------------
// NDJSON
// ---------------------------------------------------------------------------------------

#[test]
fn ndjson_lines_are_rows_and_malformed_lines_are_quarantined() {
    let text = concat!(
        "{\"event_id\":\"e0\",\"ts\":\"2026-11-24T08:15:00Z\",\"system_id\":\"pay-hk\",\"account_id\":\"alice\",\"action\":\"login\",\"outcome\":\"success\",\"mfa\":true,\"seq\":10,\"device\":\"x\"}\n",
        "{\"event_id\":\"e1\",\"ts\":\"2026-11-24T08:15:00Z\",\"system_id\":\"pay-hk\"\n",
        "\n",
        "[1,2,3]\n",
        "{\"event_id\":\"e4\",\"ts\":\"2026-11-24T08:15:00Z\",\"system_id\":\"pay-hk\",\"account_id\":\"alice\",\"action\":\"login\",\"outcome\":\"failure\",\"mfa\":\"0\",\"seq\":null}\r\n",
        "{\"event_id\":\"e5\",\"ts\":\"2026-11-24T08:15:00Z\",\"system_id\":\"pay-hk\",\"account_id\":\"alice\",\"action\":\"login\",\"outcome\":\"success\",\"seq\":1.5}\n",
        "{\"event_id\":\"e6\",\"ts\":\"2026-11-24T08:15:00Z\",\"system_id\":\"pay-hk\",\"account_id\":\"alice\",\"action\":\"login\"}\n",
        "not json\n",
        "{\"event_id\":\"e8\",\"ts\":\"2026-11-24T08:15:00Z\",\"system_id\":\"pay-hk\",\"account_id\":{\"a\":1},\"action\":\"login\",\"outcome\":\"success\"}",
    );
    let mut bytes = text.as_bytes().to_vec();
    bytes.extend_from_slice(b"\n{\"event_id\":\"e\xFF9\"}\n");
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(&dir.join("audit_events.jsonl"), &bytes);
    });
    assert_eq!(l.counts("audit_events"), (9, 2, 7));
    assert_eq!(
        l.strs("audit_events", "event_id"),
        vec![Some("e0".into()), Some("e4".into())]
    );
    assert_eq!(l.ints("audit_events", "seq"), vec![Some(10), None]);
    assert_eq!(
        l.bools("audit_events", "mfa"),
        vec![Some(true), Some(false)]
    );
    let q = l.quarantine("audit_events");
    let lines: Vec<u64> = q.iter().map(|q| q.line).collect();
    // 0-based line index; the blank line 2 is not a row but still counts as a line.
    assert_eq!(lines, vec![1, 3, 5, 6, 7, 8, 9]);
    assert!(q.iter().all(|q| q.source_file == "audit_events.jsonl"));
    assert!(q[0].reason.starts_with("malformed NDJSON line"), "{q:?}");
    // The raw text of an unparsable line is kept as a JSON string.
    assert_eq!(
        raw(q[0]),
        serde_json::Value::String(
            "{\"event_id\":\"e1\",\"ts\":\"2026-11-24T08:15:00Z\",\"system_id\":\"pay-hk\"".into()
        )
    );
    assert_eq!(q[1].reason, "malformed NDJSON line: not a JSON object");
    assert_eq!(q[2].reason, "bad integer in column seq: \"1.5\"");
    assert!(
        q[3].reason
            .contains("missing required value in column outcome"),
        "{q:?}"
    );
    assert!(q[4].reason.starts_with("malformed NDJSON line"), "{q:?}");
    assert!(q[5].reason.contains("column account_id"), "{q:?}");
    assert_eq!(q[6].reason, "bytes that are not UTF-8");
    assert_eq!(
        l.report.unknown_columns,
        vec![("audit_events.jsonl".to_string(), "device".to_string())]
    );
}

#[test]
fn ndjson_required_key_in_no_object_is_a_missing_column() {
    // A renamed field in the export: every object lacks `outcome`. That is the file's
    // missing column, not one missing value per row.
    let line = "{\"event_id\":\"e0\",\"ts\":\"2026-11-24T08:15:00Z\",\"system_id\":\"pay-hk\",\"account_id\":\"alice\",\"action\":\"login\",\"result\":\"success\"}\n";
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(&dir.join("audit_events.ndjson"), line.repeat(3));
    }));
    assert!(msg.contains("audit_events.ndjson"), "{msg}");
    assert!(msg.contains("missing required column(s): outcome"), "{msg}");
}

#[test]
fn ndjson_with_a_byte_order_mark_reads_its_first_line() {
    let text = "\u{FEFF}{\"event_id\":\"e0\",\"ts\":\"2026-11-24T08:15:00Z\",\"system_id\":\"pay-hk\",\"account_id\":\"alice\",\"action\":\"login\",\"outcome\":\"success\"}\n";
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(&dir.join("audit_events.ndjson"), text);
    });
    assert_eq!(l.counts("audit_events"), (1, 1, 0));
}

#[test]
fn ndjson_naive_timestamps_follow_the_configured_zone() {
    let text = "{\"event_id\":\"e0\",\"ts\":\"2026-11-24 16:15:00\",\"system_id\":\"pay-hk\",\"account_id\":\"alice\",\"action\":\"login\",\"outcome\":\"success\"}\n";
    let mut f = base();
    let l = load_edited_ok(&f, |dir| {
        remove(&dir.join("audit_events.csv"));
        write(&dir.join("audit_events.ndjson"), text);
    });
    assert_eq!(l.counts("audit_events"), (1, 0, 1));
    f.naive_tz = Some(chrono_tz::Asia::Hong_Kong);
    let l = load_written(&f).expect("load");
    assert_eq!(l.ints("audit_events", "ts"), vec![Some(T0)]);
}

// ---------------------------------------------------------------------------------------
// The audit_events directory
// ---------------------------------------------------------------------------------------

#[test]
fn audit_events_directory_reads_files_in_lexicographic_order_and_ignores_others() {
    let f = base();
    let l = load_edited_ok(&f, |dir| {
        remove(&dir.join("audit_events.csv"));
        let d = dir.join("audit_events");
        let csv = |id: &str, seq: i64| {
            format!("{EVENTS_HEADER}{id},2026-11-24T08:15:00Z,pay-hk,alice,login,success,{seq}\n")
        };
        write(&d.join("date=2026-11-24").join("b.csv"), csv("e4", 4));
        write(&d.join("date=2026-11-24").join("a.csv"), csv("e3", 3));
        write(&d.join("date=2026-11-22").join("x.csv"), csv("e1", 1));
        write(
            &d.join("date=2026-11-23").join("part.ndjson"),
            "{\"event_id\":\"e2\",\"ts\":\"2026-11-23T08:15:00Z\",\"system_id\":\"pay-hk\",\"account_id\":\"alice\",\"action\":\"login\",\"outcome\":\"success\",\"seq\":2}\n",
        );
        let mut df = events_frame(datetime_col("ts", &[T0], TimeUnit::Microseconds, None));
        df.with_column(Column::from(Series::new("seq".into(), &[5i64])))
            .expect("seq");
        write_parquet(&d.join("date=2026-11-25").join("p.parquet"), df);
        // Ignored: markers, hidden files and folders, other extensions.
        write(&d.join("_SUCCESS"), "");
        write(&d.join("date=2026-11-24").join("_SUCCESS"), "");
        write(&d.join("date=2026-11-24").join(".a.csv.crc"), "junk");
        write(&d.join(".hidden").join("z.csv"), "not,even,csv\n\"");
        write(&d.join("_tmp").join("z.csv"), "junk");
        write(&d.join("date=2026-11-24").join("notes.txt"), "hello");
        // Top level: ignored too.
        write(&dir.join("README.md"), "hello");
        write(&dir.join(".DS_Store"), "junk");
    });
    assert_eq!(l.counts("audit_events"), (5, 5, 0));
    assert_eq!(
        l.ints("audit_events", "seq"),
        (1..=5).map(Some).collect::<Vec<_>>()
    );
    let files: Vec<&str> = l
        .account("audit_events")
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        files,
        vec![
            "audit_events/date=2026-11-22/x.csv",
            "audit_events/date=2026-11-23/part.ndjson",
            "audit_events/date=2026-11-24/a.csv",
            "audit_events/date=2026-11-24/b.csv",
            "audit_events/date=2026-11-25/p.parquet",
        ]
    );
    let ignored = &l.report.ignored_files;
    for name in [
        "audit_events/_SUCCESS",
        "audit_events/date=2026-11-24/_SUCCESS",
        "audit_events/date=2026-11-24/.a.csv.crc",
        "audit_events/.hidden",
        "audit_events/_tmp",
        "audit_events/date=2026-11-24/notes.txt",
        "README.md",
        ".DS_Store",
    ] {
        assert!(
            ignored.iter().any(|i| i == name),
            "{name} not in ignored files {ignored:?}"
        );
    }
}

#[test]
fn audit_events_quarantine_names_the_file_inside_the_directory() {
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(
            &dir.join("audit_events")
                .join("date=2026-11-24")
                .join("a.csv"),
            format!(
                "{EVENTS_HEADER}e1,2026-11-24T08:15:00Z,pay-hk,alice,login,success,1\n\
                 e2,2026-11-24T08:15:00Z,pay-hk,alice,login,maybe,2\n"
            ),
        );
    });
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.source_file, "audit_events/date=2026-11-24/a.csv");
    assert_eq!(q.line, 3);
}

#[test]
fn empty_audit_events_directory_is_an_empty_table() {
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        std::fs::create_dir_all(dir.join("audit_events").join("date=2026-11-24")).expect("mkdir");
        write(&dir.join("audit_events").join("_SUCCESS"), "");
    });
    assert_eq!(l.counts("audit_events"), (0, 0, 0));
}

#[test]
fn file_level_error_inside_the_directory_names_the_file() {
    let msg = input_error(load_edited(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(
            &dir.join("audit_events")
                .join("date=2026-11-24")
                .join("a.csv"),
            "event_id,ts\ne1,2026-11-24T08:15:00Z\n",
        );
    }));
    assert!(msg.contains("audit_events/date=2026-11-24/a.csv"), "{msg}");
    assert!(msg.contains("missing required column"), "{msg}");
}

// ---------------------------------------------------------------------------------------
// Nothing panics
// ---------------------------------------------------------------------------------------

#[test]
fn arbitrary_bytes_never_panic() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let f = base();
    f.write();
    let dir = f.input_dir();
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    // A header line followed by arbitrary bytes biased towards CSV and JSON structure.
    let byte = prop_oneof![
        Just(b','),
        Just(b'"'),
        Just(b'\n'),
        Just(b'\r'),
        Just(b'{'),
        Just(b'}'),
        Just(b':'),
        Just(0xFFu8),
        any::<u8>(),
        b'a'..=b'z',
        b'0'..=b'9',
    ];
    let strategy = (proptest::collection::vec(byte, 0..300), 0usize..3);
    let result = runner.run(&strategy, |(body, format)| {
        let _ = std::fs::remove_file(dir.join("audit_events.csv"));
        let _ = std::fs::remove_file(dir.join("audit_events.ndjson"));
        let _ = std::fs::remove_file(dir.join("audit_events.parquet"));
        let (name, mut bytes) = match format {
            0 => ("audit_events.csv", EVENTS_HEADER.as_bytes().to_vec()),
            1 => ("audit_events.ndjson", Vec::new()),
            _ => ("audit_events.parquet", b"PAR1".to_vec()),
        };
        bytes.extend_from_slice(&body);
        write(&dir.join(name), &bytes);
        let outcome = std::panic::catch_unwind(|| load_written(&f).map(|_| ()));
        prop_assert!(outcome.is_ok(), "panic on {name}: {:?}", bytes);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------
// Hardening found while testing
// ---------------------------------------------------------------------------------------

#[test]
fn blank_lines_between_lf_rows_keep_line_numbers_right() {
    let text = "identity_id,status\n\nu1,active\n\n\nu2,Active\nu3,leave\n\n";
    let l = load_edited_ok(&base(), |dir| write(&dir.join("identities.csv"), text));
    assert_eq!(l.counts("identities"), (3, 2, 1));
    assert_eq!(l.only_quarantined("identities").line, 6);
}

#[test]
fn timestamps_outside_years_0000_to_9999_are_bad() {
    let l = load_ok(&events(
        "e1,0000-01-01T00:00:00+01:00,pay-hk,alice,login,success,\n\
         e2,0000-01-01T00:00:00Z,pay-hk,alice,login,success,\n\
         e3,9999-12-31T23:59:59.999999Z,pay-hk,alice,login,success,\n\
         e4,9999-12-31T23:59:59-01:00,pay-hk,alice,login,success,\n",
    ));
    assert_eq!(l.counts("audit_events"), (4, 2, 2));
    let q = l.quarantine("audit_events");
    assert_eq!((q[0].line, q[1].line), (2, 5));
}

#[test]
fn parquet_datetimes_out_of_range_are_bad_values_and_never_panic() {
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let ts = datetime_col(
            "ts",
            &[
                T0 / 1000,
                i64::MAX / 10,
                300_000 * 366 * 86_400_000,
                i64::MIN + 1,
            ],
            TimeUnit::Milliseconds,
            None,
        );
        let mut df = events_frame(ts);
        // An unknown column whose values polars could not format as dates.
        df.with_column(Column::from(
            Series::new("day".into(), &[0i32, i32::MAX, 1, i32::MIN])
                .cast(&DataType::Date)
                .expect("date"),
        ))
        .expect("day");
        write_parquet(&dir.join("audit_events.parquet"), df);
    });
    assert_eq!(l.counts("audit_events"), (4, 1, 3));
    assert_eq!(l.ints("audit_events", "ts"), vec![Some(T0)]);
    let q = l.quarantine("audit_events");
    assert_eq!(q.iter().map(|q| q.line).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(q[0].reason.contains("bad timestamp in column ts"), "{q:?}");
    assert!(q[0].reason.contains(&(i64::MAX / 10).to_string()), "{q:?}");
    // The raw row keeps the stored numbers it cannot show as dates.
    assert_eq!(raw(q[0])["ts"], i64::MAX / 10);
    assert_eq!(raw(q[0])["day"], i32::MAX);
    assert_eq!(raw(q[1])["day"], "1970-01-02");
}

#[test]
fn parquet_datetime_in_the_raw_row_is_rfc3339_utc() {
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let mut df = events_frame(datetime_col(
            "ts",
            &[T0 * 1000 + 7],
            TimeUnit::Nanoseconds,
            Some("Asia/Hong_Kong"),
        ));
        df.with_column(Column::from(Series::new("outcome".into(), &["ok"])))
            .expect("outcome");
        write_parquet(&dir.join("audit_events.parquet"), df);
    });
    let q = l.only_quarantined("audit_events");
    assert_eq!(raw(q)["ts"], "2026-11-24T08:15:00.000000007Z");
    assert_eq!(raw(q)["outcome"], "ok");
}

#[test]
fn parquet_byte_string_columns_are_text_and_bad_utf8_quarantines_the_row() {
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let mut df = events_frame(string_col(
            "ts",
            &["2026-11-24T08:15:00Z", "2026-11-24T08:16:00Z"],
        ));
        let accounts: Vec<&[u8]> = vec![b"alice", b"al\xFFice"];
        df.with_column(Column::from(Series::new("account_id".into(), accounts)))
            .expect("account_id");
        write_parquet(&dir.join("audit_events.parquet"), df);
    });
    assert_eq!(l.counts("audit_events"), (2, 1, 1));
    assert_eq!(
        l.strs("audit_events", "account_id"),
        vec![Some("alice".into())]
    );
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.line, 1);
    assert_eq!(q.reason, "bytes that are not UTF-8 in column account_id");
    assert_eq!(raw(q)["account_id"], "al\u{FFFD}ice");
}

#[test]
fn account_with_an_unknown_identity_is_loaded_as_orphaned() {
    let f = base().table(
        "accounts",
        "system_id,account_id,identity_id,status\npay-hk,alice,ghost,active\n",
    );
    let l = load_ok(&f);
    assert_eq!(l.counts("accounts"), (1, 1, 0));
}

/// Native-typed Parquet takes the columnar path, text-typed Parquet the row path: the same
/// rows must give the same loaded frame, quarantine rows and reasons either way.
#[test]
fn parquet_columnar_and_row_paths_agree() {
    let ts_text = |us: i64| {
        chrono::DateTime::from_timestamp_micros(us)
            .map(|d| d.to_rfc3339())
            .unwrap_or_default()
    };
    // (event_id, ts, system_id, outcome, mfa, seq, src_ip)
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        &str,
        Option<i64>,
        &str,
        &str,
        Option<bool>,
        Option<i64>,
        &str,
    )> = vec![
        (
            "e1",
            Some(T0),
            "pay-hk",
            "success",
            Some(true),
            Some(1),
            "10.0.0.1",
        ),
        ("  ", Some(T0), "pay-hk", "success", None, Some(2), ""),
        ("e3", None, "pay-hk", "failure", Some(false), None, "x"),
        ("e4", Some(T0 + HOUR), "nope", "success", None, Some(4), ""),
        (
            "e1",
            Some(T0 + 2 * HOUR),
            "pay-hk",
            "success",
            None,
            None,
            "",
        ),
        ("e6", Some(T0 + 3 * HOUR), "pay-hk", "maybe", None, None, ""),
        ("e7", Some(T0 + 4 * HOUR), "pay-hk", "", None, None, ""),
        (
            "e8",
            Some(T0 + 5 * HOUR),
            "pay-hk",
            "failure",
            Some(true),
            Some(8),
            "",
        ),
    ];
    let n = rows.len();
    let ids: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let systems: Vec<&str> = rows.iter().map(|r| r.2).collect();
    let outcomes: Vec<&str> = rows.iter().map(|r| r.3).collect();
    let ips: Vec<&str> = rows.iter().map(|r| r.6).collect();
    let common = |ts: Column, mfa: Column, seq: Column| {
        DataFrame::new_infer_height(vec![
            string_col("event_id", &ids),
            ts,
            string_col("system_id", &systems),
            string_col("account_id", &vec!["alice"; n]),
            string_col("action", &vec!["login"; n]),
            string_col("outcome", &outcomes),
            mfa,
            seq,
            string_col("src_ip", &ips),
        ])
        .expect("frame")
    };
    let ts_native: Vec<Option<i64>> = rows.iter().map(|r| r.1).collect();
    let native = common(
        Series::new("ts".into(), ts_native)
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
            .expect("datetime")
            .into(),
        Series::new("mfa".into(), rows.iter().map(|r| r.4).collect::<Vec<_>>()).into(),
        Series::new("seq".into(), rows.iter().map(|r| r.5).collect::<Vec<_>>()).into(),
    );
    let text =
        |v: Vec<Option<String>>, name: &str| -> Column { Series::new(name.into(), v).into() };
    let texts = common(
        text(rows.iter().map(|r| r.1.map(ts_text)).collect(), "ts"),
        text(
            rows.iter().map(|r| r.4.map(|b| b.to_string())).collect(),
            "mfa",
        ),
        text(
            rows.iter().map(|r| r.5.map(|s| s.to_string())).collect(),
            "seq",
        ),
    );
    let load_with = |df: DataFrame| {
        load_edited_ok(&base(), move |dir| {
            remove(&dir.join("audit_events.csv"));
            write_parquet(&dir.join("audit_events.parquet"), df);
        })
    };
    let a = load_with(native);
    let b = load_with(texts);
    assert_eq!(a.counts("audit_events"), b.counts("audit_events"));
    assert_eq!(a.counts("audit_events"), (8, 2, 6));
    assert!(
        a.frame("audit_events")
            .equals_missing(b.frame("audit_events")),
        "{}\n{}",
        a.frame("audit_events"),
        b.frame("audit_events")
    );
    let reasons = |l: &Loaded| -> Vec<(u64, String)> {
        l.report
            .quarantine
            .iter()
            .map(|q| (q.line, q.reason.clone()))
            .collect()
    };
    assert_eq!(reasons(&a), reasons(&b));
    assert_eq!(
        a.strs("audit_events", "src_ip")[1],
        None,
        "empty text is null"
    );
    assert_eq!(
        a.bools("audit_events", "mfa"),
        b.bools("audit_events", "mfa")
    );
}

// ---------------------------------------------------------------------------------------
// Stored digests and the log-chain checks
// ---------------------------------------------------------------------------------------

const CHANGED: &str = "evidence of a changed check";

/// LOG_SEQUENCE_GAP's check with different evidence.
fn changed_gaps(records: LazyFrame) -> permaudit::error::Result<LazyFrame> {
    Ok(
        permaudit::rules::log_sequence_gap::gaps(records)?
            .with_column(lit(CHANGED).alias("detail")),
    )
}

/// The `detail` of the gaps inside partitions, after a run that reuses and stores the
/// digests in `out` with `checks`.
fn stored_gap_details(f: &Fixture, out: &Path, checks: &ChainChecks) -> Vec<String> {
    let discovery = permaudit::ingest::discover(&f.input_dir(), Vec::new()).expect("discovery");
    let store = Store::open(out, true).expect("store");
    // A window ending after the events: their partition lies before T, so its systems'
    // chains are compact and the gaps come from its digest.
    let t_day = (T0 + 24 * HOUR).div_euclid(24 * HOUR);
    let plan = EventsPlan {
        keep_days: Some(t_day - 30..t_day),
        store: Some(&store),
        checks,
    };
    let (tables, _) =
        permaudit::ingest::load(&discovery, None, &[], &[], &plan, |_| Ok(None)).expect("load");
    store.commit().expect("commit");
    let detail = tables.events.gap_local.column("detail").expect("detail");
    let detail = detail.str().expect("strings");
    detail
        .iter()
        .map(|d| d.unwrap_or_default().to_string())
        .collect()
}

#[test]
fn stored_digests_are_keyed_on_the_log_chain_checks() {
    // 2026-11-24T08:15:00Z (T0) and an hour later, seq 2 missing.
    let f = events(
        "e1,2026-11-24T08:15:00Z,pay-hk,alice,login,success,1\n\
         e2,2026-11-24T09:15:00Z,pay-hk,alice,login,success,3\n",
    );
    f.write();
    let out = tempfile::tempdir().expect("tempdir");
    let ours = permaudit::rules::chain_checks();
    let first = stored_gap_details(&f, out.path(), &ours);
    assert_eq!(first.len(), 1, "one gap inside the partition: {first:?}");
    assert!(!first[0].contains(CHANGED));
    let changed = ChainChecks {
        version: format!("{} changed", ours.version),
        gaps: changed_gaps,
        hash_mismatches: ours.hash_mismatches,
    };
    assert_eq!(
        stored_gap_details(&f, out.path(), &changed),
        [CHANGED],
        "a digest of the old checks was served"
    );
    assert_eq!(stored_gap_details(&f, out.path(), &ours), first);
}

#[test]
fn mfa_method_is_an_enum_in_every_event_format() {
    // Parquet: one valid, one upper-case (a bad value, the contract's own example), null.
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        let mut df = three_events();
        df.with_column(Column::from(Series::new(
            "mfa_method".into(),
            &[Some("fido2"), Some("SMS"), None],
        )))
        .expect("mfa_method");
        write_parquet(&dir.join("audit_events.parquet"), df);
    });
    assert_eq!(l.counts("audit_events"), (3, 2, 1));
    assert_eq!(
        l.strs("audit_events", "mfa_method"),
        vec![Some("fido2".into()), None]
    );
    let q = l.only_quarantined("audit_events");
    assert_eq!(q.line, 1);
    assert!(
        q.reason.contains("mfa_method") && q.reason.contains("\"SMS\""),
        "{q:?}"
    );
    // NDJSON and CSV the same way.
    let l = load_edited_ok(&base(), |dir| {
        remove(&dir.join("audit_events.csv"));
        write(
            &dir.join("audit_events.ndjson"),
            "{\"event_id\":\"e0\",\"ts\":\"2026-11-24T08:15:00Z\",\"system_id\":\"pay-hk\",\"account_id\":\"alice\",\"action\":\"login\",\"outcome\":\"success\",\"mfa_method\":\"push\"}\n\
             {\"event_id\":\"e1\",\"ts\":\"2026-11-24T08:15:00Z\",\"system_id\":\"pay-hk\",\"account_id\":\"alice\",\"action\":\"login\",\"outcome\":\"success\",\"mfa_method\":\"otp\"}\n",
        );
    });
    assert_eq!(l.counts("audit_events"), (2, 1, 1));
    assert_eq!(
        l.strs("audit_events", "mfa_method"),
        vec![Some("push".into())]
    );
    let l = load_edited_ok(&base(), |dir| {
        write(
            &dir.join("audit_events.csv"),
            "event_id,ts,system_id,account_id,action,outcome,mfa_method\n\
             e0,2026-11-24T08:15:00Z,pay-hk,alice,login,success,platform\n\
             e1,2026-11-24T08:15:00Z,pay-hk,alice,login,success,Push\n\
             e2,2026-11-24T08:15:00Z,pay-hk,alice,login,success,\n",
        );
    });
    assert_eq!(l.counts("audit_events"), (3, 2, 1));
    assert_eq!(l.only_quarantined("audit_events").line, 3);
}

#[test]
fn training_table_in_parquet_with_its_row_checks() {
    let l = load_edited_ok(&base(), |dir| {
        let df = DataFrame::new_infer_height(vec![
            string_col("identity_id", &["alice", "alice", "ghost", "bob"]),
            string_col("course", &["SEC-101", "SEC-101", "SEC-101", ""]),
            datetime_col(
                "completed_at",
                &[1_700_000_000_000_000, 1_700_000_000_000_000, 1, 2],
                TimeUnit::Microseconds,
                Some("UTC"),
            ),
        ])
        .expect("frame");
        write_parquet(&dir.join("training.parquet"), df);
    });
    // The duplicate key and the missing course are quarantined; ghost (no such identity)
    // is loaded.
    assert_eq!(l.counts("training"), (4, 2, 2));
    assert_eq!(
        l.strs("training", "identity_id"),
        vec![Some("alice".into()), Some("ghost".into())]
    );
    let q = l.quarantine("training");
    assert!(q[0].reason.contains("duplicate primary key"), "{q:?}");
    assert_eq!(q[1].line, 3);
}

#[test]
fn training_table_absent_or_header_only() {
    let l = load_edited_ok(&base(), |_| {});
    assert!(!l.tables.training_given);
    assert_eq!(l.counts("training"), (0, 0, 0));
    let l = load_edited_ok(&base(), |dir| {
        write(
            &dir.join("training.csv"),
            "identity_id,course,completed_at\n",
        );
    });
    assert!(l.tables.training_given);
    assert_eq!(l.counts("training"), (0, 0, 0));
}

/// Feed spans are cut from events ordered by time alone: events sharing an instant at a
/// span's ends must still give the first and last by (ts, event_id), per system, in the
/// order of systems, whatever the order of the file.
#[test]
fn feed_spans_ends_at_shared_instants_are_the_lowest_and_highest_event_ids() {
    let far = 10_000 * HOUR;
    let rows = [
        ("pay-sg", T0, "s1"),
        ("pay-hk", T0 + HOUR, "e5"),
        ("pay-hk", T0, "e2"),
        ("pay-hk", T0 + far, "e9"),
        ("pay-hk", T0, "e1"),
        ("pay-hk", T0 + HOUR, "e4"),
        ("pay-hk", T0, "e3"),
    ];
    let events = DataFrame::new_infer_height(vec![
        string_col("system_id", &rows.map(|r| r.0)),
        Series::new("ts".into(), rows.map(|r| r.1)).into(),
        string_col("event_id", &rows.map(|r| r.2)),
    ])
    .expect("frame");
    let spans = permaudit::ingest::events::feed_spans(&events).expect("spans");
    let text = |c: &str| -> Vec<String> {
        let col = spans.column(c).expect("column");
        let col = col.cast(&DataType::String).expect("cast");
        col.str()
            .expect("str")
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(text("system_id"), ["pay-hk", "pay-hk", "pay-sg"]);
    assert_eq!(text("start_ts"), [T0, T0 + far, T0].map(|t| t.to_string()));
    assert_eq!(text("start_event_id"), ["e1", "e9", "s1"]);
    assert_eq!(
        text("end_ts"),
        [T0 + HOUR, T0 + far, T0].map(|t| t.to_string())
    );
    assert_eq!(text("end_event_id"), ["e5", "e9", "s1"]);
}

/// A frame filtered from a larger one points into the larger one's string buffers: what a
/// partition keeps until detect must own its strings, or the whole partition's text stays
/// in memory (as it did, 80 MB a partition on a large history).
#[test]
fn detached_frames_hold_only_their_own_strings() {
    let buffers = |df: &DataFrame| -> usize {
        df.column("event_id")
            .expect("column")
            .str()
            .expect("str")
            .downcast_iter()
            .map(|a| a.total_buffer_len())
            .sum()
    };
    let ids: Vec<String> = (0..100_000)
        .map(|i| format!("event-with-a-long-identifier-{i:08}"))
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let whole = DataFrame::new_infer_height(vec![string_col("event_id", &ids)]).expect("frame");
    let kept = whole.head(Some(2));
    let kept = kept
        .filter(&BooleanChunked::from_slice("k".into(), &[true, false]))
        .expect("filter");
    assert!(buffers(&kept) >= buffers(&whole) / 2, "the filter shares");
    let detached = permaudit::ingest::loader::detached(kept.clone()).expect("detached");
    assert!(buffers(&detached) < 1_000, "{}", buffers(&detached));
    assert!(detached.equals(&kept));
}

/// A grants file in native-typed Parquet (the generated and exported kind) with the given
/// (grant_id, account_id, entitlement_id) rows on pay-hk.
fn grants_parquet(rows: &'static [(&str, &str, &str)]) -> impl FnOnce(&Path) {
    move |dir: &Path| {
        remove(&dir.join("grants.csv"));
        let pick = |i: usize| -> Vec<&str> { rows.iter().map(|r| [r.0, r.1, r.2][i]).collect() };
        let granted = Series::new("granted_at".into(), vec![T0; rows.len()])
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
            .expect("datetime");
        let df = DataFrame::new_infer_height(vec![
            string_col("grant_id", &pick(0)),
            string_col("system_id", &vec!["pay-hk"; rows.len()]),
            string_col("account_id", &pick(1)),
            string_col("entitlement_id", &pick(2)),
            granted.into(),
        ])
        .expect("frame");
        write_parquet(&dir.join("grants.parquet"), df);
    }
}

#[test]
fn parquet_grants_that_look_clean_are_still_checked_against_accounts_and_entitlements() {
    // Valid cells everywhere, unique ids: the whole-file path must still see that one
    // grant names an account nobody has and another an entitlement nobody defined.
    let load = |rows| load_edited_ok(&base(), grants_parquet(rows));
    let l = load(&[
        ("g1", "alice", "ops"),
        ("g2", "mallory", "ops"),
        ("g3", "alice", "payout.everything"),
    ]);
    assert_eq!(l.counts("grants"), (3, 1, 2));
    assert_eq!(
        l.reasons("grants"),
        vec![
            (
                1,
                "unknown account (system_id = \"pay-hk\", account_id = \"mallory\")"
            ),
            (
                2,
                "unknown entitlement (system_id = \"pay-hk\", entitlement_id = \"payout.everything\")"
            ),
        ]
    );

    let l = load(&[("g1", "alice", "ops"), ("g1", "alice", "payout.release")]);
    assert_eq!(l.counts("grants"), (2, 1, 1));
    let dup = &l.only_quarantined("grants").reason;
    assert_eq!(
        dup,
        "duplicate primary key (grant_id = \"g1\"), first loaded from grants.parquet row 0"
    );

    let l = load(&[("g1", "alice", "ops"), ("g2", "alice", "payout.release")]);
    assert_eq!(l.counts("grants"), (2, 2, 0));
    let ids = l.strs("grants", "grant_id");
    assert_eq!(ids, vec![Some("g1".into()), Some("g2".into())]);
}

#[test]
fn parquet_action_mapped_to_a_role_is_quarantined_by_the_whole_file_path_too() {
    let l = load_edited_ok(&base(), |dir: &Path| {
        remove(&dir.join("action_permissions.csv"));
        let df = DataFrame::new_infer_height(vec![
            string_col("system_id", &["pay-hk", "pay-hk"]),
            string_col("action", &["payout", "admin"]),
            string_col("permission_id", &["payout.release", "ops"]),
        ])
        .expect("frame");
        write_parquet(&dir.join("action_permissions.parquet"), df);
    });
    assert_eq!(l.counts("action_permissions"), (2, 1, 1));
    assert_eq!(
        l.reasons("action_permissions"),
        vec![(1, "permission_id (pay-hk, ops) is a role, not a permission")]
    );
}

#[test]
fn grant_ids_of_a_file_admitted_whole_still_beat_a_source_row_with_the_same_id() {
    use permaudit::ingest::loader::{Offer, TableLoader};
    use permaudit::ingest::schema::GRANTS;
    use permaudit::ingest::values::Value;
    let mut known = permaudit::ingest::Known::default();
    known.systems.insert("pay-hk".into());
    known
        .accounts
        .entry("pay-hk".into())
        .or_default()
        .insert("alice".into());
    known
        .entitlements
        .entry("pay-hk".into())
        .or_default()
        .insert("ops".into(), "role".into());
    let mut loader = TableLoader::new(&GRANTS, &mut known);
    loader.start_file();
    let none = || Series::full_null("x".into(), 1, &DataType::String);
    let mut file = DataFrame::new_infer_height(vec![
        string_col("grant_id", &["g1"]),
        string_col("system_id", &["pay-hk"]),
        string_col("account_id", &["alice"]),
        string_col("entitlement_id", &["ops"]),
        Series::new("granted_at".into(), [T0]).into(),
        none().with_name("granted_by".into()).into(),
        none().with_name("approved_by".into()).into(),
        Series::new("expires_at".into(), [None::<i64>]).into(),
        Series::new("revoked_at".into(), [None::<i64>]).into(),
        none().with_name("ticket".into()).into(),
    ])
    .expect("frame");
    file.rechunk_mut();
    assert!(loader.admit_file("grants.parquet", &file).expect("admit"));
    loader.push_chunk(file).expect("chunk");

    // An exporter's row for the same grant id: the contract row wins, not a duplicate.
    loader.start_source_file();
    let row = |id: &str| {
        Ok(vec![
            Value::Str(id.into()),
            Value::Str("pay-hk".into()),
            Value::Str("alice".into()),
            Value::Str("ops".into()),
            Value::Ts(T0),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ])
    };
    let offer = |l: &mut TableLoader, id: &str| l.push("iam.json", 0, row(id), String::new);
    assert_eq!(offer(&mut loader, "g1"), Offer::Overridden);
    assert_eq!(offer(&mut loader, "g2"), Offer::Loaded);
    assert_eq!(offer(&mut loader, "g2"), Offer::Quarantined);
    let (df, read, loaded, quarantine) = loader.finish().expect("finish");
    assert_eq!((df.height(), read, loaded), (2, 3, 2));
    assert!(
        quarantine[0].reason.contains("first loaded from iam.json"),
        "{quarantine:?}"
    );
}
