//! OUT and its state are not trusted. Each test is the attack
//! or the accident: a link planted where the run writes, an input rewritten with its
//! modification time restored, a stray or damaged file in the state, a file where a run
//! directory belongs.

use crate::common::{self, command_in_within, run_in, sample_copy};

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

const DAY: &str = "2026-11-24";
const EARLIER: &str = "2026-11-23";

/// Asserts the exit code and returns the run log (stderr).
fn exits(o: &Output, code: i32) -> String {
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "stderr: {log}");
    log
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A `--full` run of the same inputs into a fresh directory: the reference answer.
fn full_findings(dir: &Path, cfg: &Path) -> Vec<u8> {
    exits(&run_in(dir, cfg, &["--full", "--out", "reference"]), 0);
    read(&dir.join("reference").join(DAY).join("findings.csv"))
}

#[test]
fn a_symlinked_lock_is_refused_and_its_target_never_touched() {
    let (dir, cfg) = sample_copy("");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").expect("victim");
    symlink(&victim, out.join(".permaudit.lock")).expect("plant link");

    let log = exits(&run_in(dir.path(), &cfg, &[]), 4);
    assert!(log.contains(".permaudit.lock"), "{log}");
    assert_eq!(
        read(&victim),
        b"precious\n",
        "the link's target was written"
    );
    assert!(!out.join(DAY).exists(), "the run went on");

    // A dangling link: the run must not create its target outside OUT either.
    let absent = dir.path().join("created-outside");
    std::fs::remove_file(out.join(".permaudit.lock")).expect("rm link");
    symlink(&absent, out.join(".permaudit.lock")).expect("plant dangling link");
    let log = exits(&run_in(dir.path(), &cfg, &[]), 4);
    assert!(log.contains(".permaudit.lock"), "{log}");
    assert!(!absent.exists(), "the run created the link's target");

    // Not a regular file (here a directory): refused the same way.
    std::fs::remove_file(out.join(".permaudit.lock")).expect("rm link");
    std::fs::create_dir(out.join(".permaudit.lock")).expect("dir lock");
    let log = exits(&run_in(dir.path(), &cfg, &[]), 4);
    assert!(log.contains(".permaudit.lock"), "{log}");
}

/// Moves `OUT/<rel>` to `elsewhere/<rel>` and leaves a link to it in its place.
fn relink(out: &Path, elsewhere: &Path, rel: &str) {
    let target = elsewhere.join(rel);
    std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
    std::fs::rename(out.join(rel), &target).expect("move aside");
    symlink(&target, out.join(rel)).expect("plant link");
}

fn is_real_dir(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}

#[test]
fn symlinked_state_and_history_are_never_written_through() {
    let (dir, cfg) = sample_copy("");
    let out = dir.path().join("out");
    let elsewhere = dir.path().join("elsewhere");
    exits(&run_in(dir.path(), &cfg, &[]), 0);
    let delivered = read(&out.join(DAY).join("findings.csv"));

    // The history store and the state's digests behind links to a directory outside OUT.
    relink(&out, &elsewhere, "history");
    relink(&out, &elsewhere, "state/events");
    let before = common::files(&elsewhere);
    let log = exits(&run_in(dir.path(), &cfg, &[]), 0);
    assert!(common::files(&elsewhere) == before, "written outside OUT");
    for rel in ["history", "state/events"] {
        assert!(
            log.contains(&format!("out/{rel}")),
            "no warning naming {rel}: {log}"
        );
        assert!(
            is_real_dir(&out.join(rel)),
            "{rel} is not rebuilt as a directory"
        );
    }
    assert_eq!(read(&out.join(DAY).join("findings.csv")), delivered);
    assert!(out.join("history/runs.parquet").is_file());

    // The whole state behind a link.
    let elsewhere = dir.path().join("elsewhere-state");
    relink(&out, &elsewhere, "state");
    let before = common::files(&elsewhere);
    let log = exits(&run_in(dir.path(), &cfg, &[]), 0);
    assert!(common::files(&elsewhere) == before, "written outside OUT");
    assert!(log.contains("out/state"), "{log}");
    assert!(is_real_dir(&out.join("state/events")));
    assert_eq!(read(&out.join(DAY).join("findings.csv")), delivered);
}

/// Every file of the state and the history store that a run rewrites, replaced by a link to
/// a file outside OUT (a victim the service user may write): the run replaces the link, it
/// never writes through it.
#[test]
fn links_planted_at_files_a_run_rewrites_are_replaced_never_followed() {
    let (dir, cfg) = sample_copy("");
    let out = dir.path().join("out");
    exits(&run_in(dir.path(), &cfg, &[]), 0);
    let delivered = read(&out.join(DAY).join("findings.csv"));
    let victims = dir.path().join("victims");
    std::fs::create_dir_all(&victims).expect("mkdir");
    let rewritten = [
        "state/file_hashes.json",
        "state/usage_rollup/meta.json",
        "state/usage_rollup/usage.parquet",
        "history/runs.parquet",
        "history/findings.parquet",
    ];
    for (i, rel) in rewritten.iter().enumerate() {
        let victim = victims.join(format!("victim-{i}"));
        std::fs::write(&victim, "precious\n").expect("victim");
        let place = out.join(rel);
        assert!(place.is_file(), "{rel}: the sample run writes it");
        std::fs::remove_file(&place).expect("rm");
        symlink(&victim, &place).expect("plant link");
    }

    // A rerun of the day and a run of another date both rewrite the state and the history.
    exits(&run_in(dir.path(), &cfg, &[]), 0);
    exits(&run_in(dir.path(), &cfg, &["--as-of", EARLIER]), 0);
    for (i, rel) in rewritten.iter().enumerate() {
        assert_eq!(
            read(&victims.join(format!("victim-{i}"))),
            b"precious\n",
            "{rel}: written through the link"
        );
        let m = std::fs::symlink_metadata(out.join(rel)).expect("stat");
        assert!(m.is_file(), "{rel}: still a link");
    }
    assert_eq!(read(&out.join(DAY).join("findings.csv")), delivered);
}

#[test]
fn an_input_rewritten_with_its_mtime_restored_is_read_again() {
    let (dir, cfg) = sample_copy("");
    let out = dir.path().join("out");
    exits(&run_in(dir.path(), &cfg, &[]), 0);
    let first = read(&out.join(DAY).join("findings.csv"));

    // Same size, same mtime, other bytes (what `cp -p`, `rsync -t` or `touch -r` leave):
    // a successful event in the window now comes from an account nobody manages.
    let events = dir.path().join("input/audit_events.csv");
    let mtime = std::fs::metadata(&events)
        .and_then(|m| m.modified())
        .expect("mtime");
    let text = String::from_utf8(read(&events)).expect("utf-8");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let (i, account) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() == 14 && f[1].starts_with("2026-11-1") && f[5] == "success")
                .then(|| (i, f[3].to_string()))
        })
        .expect("a successful event in the window");
    let renamed = format!("Z{}", &account[1..]);
    lines[i] = lines[i].replacen(&format!(",{account},"), &format!(",{renamed},"), 1);
    let rewritten = lines.join("\n") + "\n";
    assert_eq!(rewritten.len(), text.len());
    std::fs::write(&events, &rewritten).expect("rewrite");
    std::fs::File::options()
        .write(true)
        .open(&events)
        .and_then(|f| f.set_modified(mtime))
        .expect("restore mtime");
    let m = std::fs::metadata(&events).expect("metadata");
    assert_eq!(
        (m.len(), m.modified().ok()),
        (text.len() as u64, Some(mtime))
    );

    exits(&run_in(dir.path(), &cfg, &[]), 0);
    let second = read(&out.join(DAY).join("findings.csv"));
    assert_ne!(second, first, "stale findings");
    assert!(String::from_utf8_lossy(&second).contains(&renamed));
    assert_eq!(second, full_findings(dir.path(), &cfg));
    let manifest: serde_json::Value =
        serde_json::from_slice(&read(&out.join(DAY).join("manifest.json"))).expect("manifest");
    let listed = manifest["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .find(|f| f["path"] == "audit_events.csv")
        .and_then(|f| f["sha256"].as_str())
        .expect("audit_events.csv in the manifest")
        .to_string();
    assert_eq!(listed, permaudit::hash::sha256_hex(rewritten.as_bytes()));
}

#[test]
fn a_stray_file_and_a_damaged_rollup_in_the_state_are_ignored_and_rebuilt() {
    let (dir, cfg) = sample_copy("");
    let out = dir.path().join("out");
    exits(&run_in(dir.path(), &cfg, &[]), 0);
    let stray = out.join("state/events/.DS_Store");
    std::fs::write(&stray, "Bud1").expect("stray");
    let rollup = out.join("state/usage_rollup/usage.parquet");
    assert!(rollup.is_file(), "the sample run stores a usage rollup");
    std::fs::write(&rollup, "PAR1 not really").expect("corrupt");
    // The partition's own usage digest too, which the rollup covered: without it the
    // rollup could not be rebuilt.
    let digest = std::fs::read_dir(out.join("state/events"))
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .find(|p| p.is_dir())
        .expect("a stored digest");
    std::fs::write(digest.join("usage.parquet"), "garbage").expect("corrupt");

    let log = exits(&run_in(dir.path(), &cfg, &[]), 0);
    assert!(log.contains(".DS_Store"), "{log}");
    assert!(log.contains("usage_rollup/usage.parquet"), "{log}");
    assert!(log.contains("damaged digest"), "{log}");
    let got = read(&out.join(DAY).join("findings.csv"));
    assert_eq!(got, full_findings(dir.path(), &cfg));
    assert_eq!(read(&stray), b"Bud1", "not ours: left alone");

    // Rebuilt: the next run reads it without complaint.
    let log = exits(&run_in(dir.path(), &cfg, &[]), 0);
    assert!(!log.contains("usage rollup"), "{log}");
}

/// Damage a footer check cannot see. Pages overwritten behind a sound footer, in the usage
/// digest of a partition the rollup covers (a date after the sample's last event, so the
/// usage is not read at load): found when the rollup is rebuilt, and that partition's usage
/// computed again from its input. A sound Parquet file of other columns: a damaged digest
/// at load. Neither fails the night, and the next run has nothing left to mend.
#[test]
fn digest_damage_behind_a_sound_footer_is_computed_again() {
    for (as_of, damage, warning) in [
        ("2026-11-26", "pages", "damaged usage digest"),
        (DAY, "columns", "damaged digest"),
    ] {
        let (dir, cfg) = sample_copy("");
        let out = dir.path().join("out");
        let args = ["--as-of", as_of];
        exits(&run_in(dir.path(), &cfg, &args), 0);
        let usage = std::fs::read_dir(out.join("state/events"))
            .expect("ls")
            .map(|e| e.expect("entry").path())
            .find(|p| p.is_dir())
            .expect("a stored digest")
            .join("usage.parquet");
        if damage == "pages" {
            let mut bytes = read(&usage);
            let n = bytes.len();
            let footer = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().expect("4 bytes"));
            let pages_end = n - 8 - footer as usize;
            bytes[4..pages_end].fill(0xAB);
            std::fs::write(&usage, bytes).expect("damage");
        } else {
            let mut other = polars::prelude::df!("x" => [1i64, 2]).expect("frame");
            let planted = std::fs::File::create(&usage).expect("plant");
            polars::prelude::ParquetWriter::new(planted)
                .finish(&mut other)
                .expect("parquet");
        }
        // The rollup must be rebuilt for a covered partition's usage to be read at all.
        let rollup = out.join("state/usage_rollup/usage.parquet");
        std::fs::write(&rollup, "PAR1 not really").expect("corrupt");

        let log = exits(&run_in(dir.path(), &cfg, &args), 0);
        assert!(log.contains(warning), "{as_of}: {log}");
        let full = ["--full", "--out", "reference", "--as-of", as_of];
        exits(&run_in(dir.path(), &cfg, &full), 0);
        assert_eq!(
            read(&out.join(as_of).join("findings.csv")),
            read(
                &dir.path()
                    .join("reference")
                    .join(as_of)
                    .join("findings.csv")
            ),
            "{as_of}"
        );

        exits(&run_in(dir.path(), &cfg, &args), 0);
        std::fs::write(&rollup, "PAR1 not really").expect("corrupt");
        let log = exits(&run_in(dir.path(), &cfg, &args), 0);
        assert!(!log.contains("damaged digest"), "{as_of}: {log}");
        assert!(!log.contains("damaged usage digest"), "{as_of}: {log}");
    }
}

/// The window rows are stored with their pairs' codes, and a night looks a row's pair up
/// by its code, an index. The attack: a stored rows file rewritten with sound Parquet whose
/// codes point past every pair. That is damage (the partition read again from its input,
/// the same findings as `--full`), never an index out of bounds.
#[test]
fn stored_pair_codes_pointing_past_their_pairs_are_damage_not_a_crash() {
    use polars::prelude::*;
    let (dir, cfg) = sample_copy("");
    let out = dir.path().join("out");
    exits(&run_in(dir.path(), &cfg, &[]), 0);
    let rows = std::fs::read_dir(out.join("state/events"))
        .expect("ls")
        .map(|e| e.expect("entry").path().join("rows.parquet"))
        .find(|p| p.is_file())
        .expect("stored window rows");
    let mut df = ParquetReader::new(std::fs::File::open(&rows).expect("open"))
        .finish()
        .expect("read");
    let past: Vec<u32> = (0..df.height() as u32).map(|i| i + 1_000_000).collect();
    df.with_column(Column::new("account_key".into(), past))
        .expect("column");
    ParquetWriter::new(std::fs::File::create(&rows).expect("plant"))
        .finish(&mut df)
        .expect("write");

    let log = exits(&run_in(dir.path(), &cfg, &[]), 0);
    assert!(log.contains("damaged digest"), "{log}");
    assert_eq!(
        read(&out.join(DAY).join("findings.csv")),
        full_findings(dir.path(), &cfg)
    );
}

/// The state keeps no partition's whole log chain: a run that needs one (here a run of an
/// earlier date, whose partition reaches past T) reads it from the input again, with the
/// findings of a `--full` run. The attack: the input rewritten and the state's hash cache
/// planted with the file's new stamp and old hash, so that the run takes the stored digest
/// of the old bytes. Reading the records again finds other bytes: the run is refused
/// (exit 2, naming the file and the remedy) rather than mixing the two versions.
#[test]
fn a_partition_read_again_for_its_log_chain_must_hold_the_bytes_its_digest_was_made_from() {
    let (dir, cfg) = sample_copy("");
    let out = dir.path().join("out");
    exits(&run_in(dir.path(), &cfg, &[]), 0);
    let log = exits(&run_in(dir.path(), &cfg, &["--as-of", EARLIER]), 0);
    assert!(log.contains("digests_reused=1"), "{log}");
    assert!(
        log.contains("partitions read again from the input"),
        "{log}"
    );
    let full = ["--full", "--out", "reference", "--as-of", EARLIER];
    exits(&run_in(dir.path(), &cfg, &full), 0);
    let findings = |root: &str| read(&dir.path().join(root).join(EARLIER).join("findings.csv"));
    assert_eq!(findings("out"), findings("reference"));

    // The state of the old bytes: their digest, and their hash in the cache.
    let hashes = out.join("state/file_hashes.json");
    let cache =
        |path: &Path| -> serde_json::Value { serde_json::from_slice(&read(path)).expect("json") };
    let old_sha = cache(&hashes)["audit_events.csv"]["sha256"].clone();
    let digests = out.join("state/events");
    let old_digest = std::fs::read_dir(&digests)
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .next()
        .expect("a stored digest");
    let kept_aside = dir.path().join("old-digest");
    common::copy_dir(&digests.join(&old_digest), &kept_aside);

    // The new bytes, hashed by a run; then the old digest and hash planted back.
    let events = dir.path().join("input/audit_events.csv");
    let text = String::from_utf8(read(&events)).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&events, lines[..lines.len() - 1].join("\n") + "\n").expect("rewrite");
    exits(&run_in(dir.path(), &cfg, &[]), 0);
    common::copy_dir(&kept_aside, &digests.join(&old_digest));
    let mut planted = cache(&hashes);
    planted["audit_events.csv"]["sha256"] = old_sha;
    std::fs::write(&hashes, planted.to_string()).expect("plant");

    let log = exits(&run_in(dir.path(), &cfg, &["--as-of", EARLIER]), 2);
    assert!(
        log.contains("digests_reused=1"),
        "the planted hash was not taken: {log}"
    );
    assert!(log.contains("audit_events.csv"), "{log}");
    assert!(log.contains("--full"), "{log}");
    exits(
        &run_in(dir.path(), &cfg, &["--as-of", EARLIER, "--full"]),
        0,
    );
}

#[test]
fn a_file_or_link_where_the_run_directory_belongs_is_refused_before_any_work() {
    let (dir, cfg) = sample_copy("");
    let out = dir.path().join("out");
    exits(&run_in(dir.path(), &cfg, &["--as-of", EARLIER]), 0);
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");

    for plant in ["file", "link", "directory"] {
        let place = out.join(DAY);
        match plant {
            "file" => std::fs::write(&place, "not a run\n").expect("plant file"),
            "link" => symlink(&elsewhere, &place).expect("plant link"),
            // Someone's directory without a manifest: a run used to replace (delete) it.
            _ => {
                std::fs::create_dir(&place).expect("plant dir");
                std::fs::write(place.join("notes.txt"), "mine\n").expect("plant");
            }
        }
        let before = common::files(&out);
        let log = exits(&run_in(dir.path(), &cfg, &[]), 4);
        assert!(log.contains(&format!("out/{DAY}")), "{plant}: {log}");
        assert!(
            common::files(&out) == before,
            "{plant}: the refused run wrote in OUT"
        );
        assert_eq!(std::fs::read_dir(&elsewhere).expect("ls").count(), 0);

        // Other dates are not blocked, nor is verify.
        exits(&run_in(dir.path(), &cfg, &["--as-of", EARLIER]), 0);
        let v = common::bin()
            .arg("verify")
            .arg("--config")
            .arg(&cfg)
            .current_dir(dir.path())
            .output()
            .expect("verify");
        let stdout = String::from_utf8_lossy(&v.stdout).into_owned();
        // A directory named like a run but without a manifest is reported (exit 5); a
        // file or link is noted, not verified.
        let expected = if plant == "directory" { 5 } else { 0 };
        assert_eq!(v.status.code(), Some(expected), "{plant}: {stdout}");
        assert!(stdout.contains(DAY), "{plant}: {stdout}");
        if plant == "directory" {
            std::fs::remove_dir_all(&place).expect("move it away");
        } else {
            std::fs::remove_file(&place).expect("move it away");
        }
    }

    // Moved away, the date runs; a file an earlier version left retired does not block it.
    std::fs::write(out.join(format!(".retired-{DAY}.4242")), "x").expect("retired file");
    exits(&run_in(dir.path(), &cfg, &[]), 0);
    assert!(!out.join(format!(".retired-{DAY}.4242")).exists());
    assert!(out.join(DAY).join("manifest.json").is_file());
}

/// `mkfifo PATH` (a named pipe: opening it to read waits for a writer, forever).
fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(made.success());
}

#[test]
fn fifos_planted_in_the_state_and_history_do_not_hang_the_run() {
    let (dir, cfg) = sample_copy("");
    let out = dir.path().join("out");
    exits(&run_in(dir.path(), &cfg, &[]), 0);
    let delivered = read(&out.join(DAY).join("findings.csv"));
    for rel in [
        "state/file_hashes.json",
        "state/usage_rollup/meta.json",
        "history/runs.parquet",
    ] {
        std::fs::remove_file(out.join(rel)).expect("rm");
        mkfifo(&out.join(rel));
    }
    // The log goes to a file: a pipe nobody reads while waiting could fill and stall it.
    let log_file = dir.path().join("run.log");
    let mut child = common::bin()
        .args(["run", "--config"])
        .arg(&cfg)
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_file).expect("log file"))
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().expect("kill");
            panic!("the run hangs on a FIFO in OUT");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = child.wait().expect("wait");
    let log = String::from_utf8_lossy(&read(&log_file)).into_owned();
    assert!(status.success(), "{log}");
    assert!(log.contains("file_hashes.json"), "{log}");
    assert_eq!(read(&out.join(DAY).join("findings.csv")), delivered);
    assert!(
        out.join("history/runs.parquet").is_file(),
        "history not rebuilt"
    );
}

/// The attack on `verify`: inside a delivered run directory, a link to a directory outside
/// OUT, a link loop and a FIFO. Verify must name each as a FAIL (exit 5), read nothing
/// outside OUT, and end.
#[test]
fn links_and_a_fifo_planted_in_a_run_directory_are_verify_failures_not_followed() {
    let (dir, cfg) = sample_copy("");
    let out = dir.path().join("out");
    exits(&run_in(dir.path(), &cfg, &[]), 0);
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    // Were the link followed, this file would be reported as not listed in the manifest.
    std::fs::write(elsewhere.join("secret-outside-out.txt"), "x\n").expect("plant");

    let run = out.join(DAY);
    symlink(&elsewhere, run.join("escape")).expect("plant link");
    symlink(run.join("loop"), run.join("loop")).expect("plant loop");
    mkfifo(&run.join("pipe"));

    let o = command_in_within("verify", dir.path(), &cfg, &[], Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    exits(&o, 5);
    for line in [
        format!("FAIL {DAY}/escape: a symbolic link, not a file the run wrote"),
        format!("FAIL {DAY}/loop: a symbolic link, not a file the run wrote"),
        format!("FAIL {DAY}/pipe: a FIFO (named pipe), not a file the run wrote"),
    ] {
        assert!(stdout.contains(&line), "no {line:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("secret-outside-out"), "{stdout}");
    // The files the run wrote are still verified: nothing else fails.
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("FAIL ")).count(),
        3,
        "{stdout}"
    );

    // A link where the manifest belongs: named, not opened.
    let manifest = run.join("manifest.json");
    let kept = elsewhere.join("manifest.json");
    std::fs::rename(&manifest, &kept).expect("move manifest");
    symlink(&kept, &manifest).expect("plant manifest link");
    let o = command_in_within("verify", dir.path(), &cfg, &[], Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    exits(&o, 5);
    let line = format!("FAIL {DAY}/manifest.json: a symbolic link, not a file the run wrote");
    assert!(stdout.contains(&line), "{stdout}");
}

fn write_hashed(written: &permaudit::output::Written, path: &Path, bytes: &[u8]) {
    written
        .file(path, |f| {
            std::io::Write::write_all(f, bytes).map_err(|e| permaudit::error::Error::io(path, e))
        })
        .expect("write");
}

/// The manifest lists the hashes taken as the run wrote, not a re-read of the staging
/// directory; those must be the hashes of the bytes on disk, and a file that appears there
/// without going through that record (planted during the run) fails the run rather than
/// being delivered unlisted.
#[test]
fn hashes_taken_while_writing_match_the_disk_and_a_planted_file_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir(root.join("HK")).expect("mkdir");
    let written = permaudit::output::Written::new(root);
    write_hashed(&written, &root.join("HK/report.md"), b"# HK\n");
    write_hashed(&written, &root.join("findings.csv"), &vec![b'x'; 200_000]);
    let hashes = written.hashes().expect("hashes");
    let names: Vec<&str> = hashes.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["HK/report.md", "findings.csv"]);
    for (rel, sha) in &hashes {
        let on_disk = permaudit::files::sha256_file(&root.join(rel)).expect("hash");
        assert_eq!(sha, &on_disk, "{rel}");
    }

    let written = permaudit::output::Written::new(root);
    write_hashed(&written, &root.join("HK/report.md"), b"# HK\n");
    write_hashed(&written, &root.join("findings.csv"), b"a\n");
    std::fs::write(root.join("HK/planted.csv"), b"1").expect("plant");
    let err = written
        .hashes()
        .expect_err("a planted file is not delivered");
    assert!(err.to_string().contains("HK/planted.csv"), "{err}");
}

/// The disk fills while a Parquet file of OUT is written: the error names the file and the
/// device's own words, and claims no internal error (the exit code stays 4, "internal or
/// I/O error"). Polars alone said "internal error: polars: parquet: File out of
/// specification", naming no file.
#[test]
fn a_full_disk_while_writing_parquet_names_the_file() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from_raw_os_error(28))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let df = polars::df!("a" => [1i64, 2]).expect("frame");
    let path = Path::new("OUT/2026-11-24/findings.parquet");
    let err = permaudit::findings::write_parquet(&df, Full, path).expect_err("a full disk");
    let msg = err.to_string();
    assert!(
        msg.starts_with("OUT/2026-11-24/findings.parquet: cannot write:"),
        "{msg}"
    );
    assert!(msg.contains("No space left on device"), "{msg}");
    assert!(!msg.contains("internal error"), "{msg}");
    assert!(matches!(
        err.exit_code(),
        permaudit::error::ExitCode::Internal
    ));
}
