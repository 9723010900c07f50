//! What every source shares, each test written as the damage or mistake it defends
//! against: files that are no container, a truncated document, a FIFO or a link loop in
//! an export folder, a `[[source]]` block with a typo.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::common::{bin, command_in_within, sample_copy};

const LIMIT: Duration = Duration::from_secs(120);

fn import(dir: &Path, kind: &str, path: &Path) -> Output {
    bin()
        .args(["import", kind])
        .arg(path)
        .args(["--system-id", "okta", "--out"])
        .arg(dir.join("imported"))
        .output()
        .expect("import")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(path: &Path, bytes: &[u8]) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    std::fs::write(path, bytes).expect("write");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

#[test]
fn a_file_that_is_not_json_is_a_file_level_error_naming_it_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exports = dir.path().join("exports");
    write(&exports.join("a.json"), b"[]");
    write(&exports.join("b.log"), b"hello, this is not an export\n");
    let o = import(dir.path(), "okta_system_log", &exports);
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{log}");
    assert!(log.contains("b.log") && log.contains("not JSON"), "{log}");
    assert!(!dir.path().join("imported").exists());
}

#[test]
fn a_truncated_document_is_a_file_level_error_not_a_silent_loss_of_its_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("trail.json.gz");
    write(
        &f,
        &gzip(
            br#"{"Records":[{"eventVersion":"1.08","eventTime":"2026-11-20T01:00:00Z"},{"eventVer"#,
        ),
    );
    let o = import(dir.path(), "cloudtrail", &f);
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{log}");
    assert!(
        log.contains("trail.json.gz") && log.contains("truncated"),
        "{log}"
    );
}

#[test]
fn a_corrupt_gzip_stream_is_a_file_level_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut gz = gzip(b"[{\"uuid\":\"1\"}]");
    let n = gz.len();
    gz[n / 2] ^= 0xff;
    gz.truncate(n - 4);
    let f = dir.path().join("okta.json.gz");
    write(&f, &gz);
    let o = import(dir.path(), "okta_system_log", &f);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("okta.json.gz"), "{}", stderr(&o));
}

#[test]
fn parquet_given_to_a_source_that_reads_json_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("events");
    write(&f, b"PAR1\x00\x00\x00\x00PAR1");
    let o = import(dir.path(), "okta_system_log", &f);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("Parquet"), "{}", stderr(&o));
}

#[test]
fn empty_and_blank_files_are_file_level_errors() {
    for (name, bytes) in [("zero", &b""[..]), ("blank", &b"  \n\n"[..])] {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join(name);
        write(&f, bytes);
        let o = import(dir.path(), "entra_signin", &f);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(name), "{}", stderr(&o));
    }
}

#[test]
fn a_fifo_planted_in_an_export_folder_does_not_block_the_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exports = dir.path().join("exports");
    write(&exports.join("a.json"), b"[]");
    let fifo = exports.join("b.json");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(ok.success());
    let (cfg_dir, cfg) = sample_copy(&format!(
        "[[source]]\nkind = \"okta_system_log\"\npath = {:?}\nsystem_id = \"pay-hk\"\n",
        exports.display().to_string()
    ));
    let o = command_in_within("check", cfg_dir.path(), &cfg, &[], LIMIT);
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{log}");
    assert!(log.contains("b.json") && log.contains("FIFO"), "{log}");
}

#[test]
fn a_link_loop_and_hidden_files_in_an_export_folder_are_passed_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exports = dir.path().join("exports");
    write(&exports.join("2026/11/a.json"), b"[]");
    write(&exports.join(".DS_Store"), b"\x00\x01binary");
    write(&exports.join("_SUCCESS"), b"");
    std::os::unix::fs::symlink(&exports, exports.join("2026/loop")).expect("symlink");
    let (cfg_dir, cfg) = sample_copy(&format!(
        "[[source]]\nkind = \"okta_system_log\"\npath = {:?}\nsystem_id = \"pay-hk\"\n",
        exports.display().to_string()
    ));
    let o = command_in_within("check", cfg_dir.path(), &cfg, &[], LIMIT);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // One file read, once: not the link's copy, not the hidden ones.
    let o = import(dir.path(), "okta_system_log", &exports);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("imported/import.json")).expect("import.json"),
    )
    .expect("json");
    let files = report["sources"][0]["files"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0]["path"]
        .as_str()
        .is_some_and(|p| p.ends_with("2026/11/a.json")));
}

fn check_with(source: &str) -> Output {
    let (dir, cfg) = sample_copy(source);
    let o = command_in_within("check", dir.path(), &cfg, &[], LIMIT);
    drop(dir);
    o
}

#[test]
fn a_misspelt_kind_names_the_block_the_key_and_the_kinds() {
    let o = check_with("[[source]]\nkind = \"okta\"\npath = \"input\"\nsystem_id = \"pay-hk\"\n");
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{log}");
    assert!(
        log.contains("source[1]")
            && log.contains("key kind")
            && log.contains("okta_system_log")
            && log.contains("line 6"),
        "{log}"
    );
}

#[test]
fn a_misspelt_placeholder_is_a_configuration_error() {
    let o = check_with(
        "[[source]]\nkind = \"cloudtrail\"\npath = \"input\"\nsystem_id = \"aws-{acount}\"\n",
    );
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{log}");
    assert!(
        log.contains("key system_id") && log.contains("{acount}"),
        "{log}"
    );
}

#[test]
fn a_missing_export_folder_and_an_unknown_key_are_errors() {
    let o = check_with("[[source]]\nkind = \"scim\"\npath = \"nowhere\"\nsystem_id = \"pay-hk\"\n");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nowhere"), "{}", stderr(&o));
    let o = check_with(
        "[[source]]\nkind = \"scim\"\npath = \"input\"\nsystem = \"pay-hk\"\nsystem_id = \"x\"\n",
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("system"), "{}", stderr(&o));
}
