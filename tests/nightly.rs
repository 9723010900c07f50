//! Nightly operation, end to end through the binary: default as_of, backfill, the lock,
//! crash safety under real SIGKILLs, byte-identical reruns, history across runs, verify,
//! check, and the documented exit codes.

use crate::common::{self, ok};

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const D1: &str = "2026-11-20";
const D2: &str = "2026-11-24";

/// The binary under test, pinned by a hard link taken once per test process: developers
/// share one target directory, and a concurrent build replacing `target/debug/permaudit`
/// in the middle of a test that compares the bytes of several runs would compare two
/// different programs. (Falls back to the path itself where a link cannot be made.)
fn bin() -> Command {
    static PINNED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let path = PINNED.get_or_init(|| {
        let original = PathBuf::from(env!("CARGO_BIN_EXE_permaudit"));
        // Links of finished test processes would keep old binaries' blocks alive.
        for e in std::fs::read_dir(std::env::temp_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("permaudit-test-") {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let pinned = std::env::temp_dir().join(format!("permaudit-test-{}", std::process::id()));
        let _ = std::fs::remove_file(&pinned);
        match std::fs::hard_link(&original, &pinned) {
            Ok(()) => pinned,
            Err(_) => original,
        }
    });
    Command::new(path)
}

/// Names of the files that differ between two trees (assert_eq on bytes prints megabytes).
fn differing(a: &Tree, b: &Tree) -> Vec<PathBuf> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A copy of the sample (input + policy) in a temp dir with a config; `as_of` is written
/// into the config when given; `max_events` keeps only the first audit events (a smaller
/// data set for tests that run the binary many times).
fn sample_copy(as_of: Option<&str>, max_events: Option<usize>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["input", "policy"] {
        common::copy_dir(&Path::new("data/sample").join(sub), &dir.path().join(sub));
    }
    if let Some(n) = max_events {
        let path = dir.path().join("input/audit_events.csv");
        let text = std::fs::read_to_string(&path).expect("events");
        let kept: Vec<&str> = text.lines().take(n + 1).collect();
        std::fs::write(&path, kept.join("\n") + "\n").expect("write events");
    }
    let cfg = dir.path().join("permaudit.toml");
    let mut text =
        "input_dir = \"input\"\npolicy_dir = \"policy\"\nout_dir = \"out\"\n".to_string();
    if let Some(d) = as_of {
        text.push_str(&format!("as_of = \"{d}\"\n"));
    }
    std::fs::write(&cfg, text).expect("config");
    (dir, cfg)
}

fn run(dir: &Path, cfg: &Path, args: &[&str]) -> Output {
    bin()
        .arg("run")
        .arg("--config")
        .arg(cfg)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run")
}

/// Every file below a directory (hidden ones included) with its bytes, by path.
type Tree = BTreeMap<PathBuf, Vec<u8>>;

fn names(t: &Tree) -> Vec<&PathBuf> {
    t.keys().collect()
}

fn manifest(out: &Path, date: &str) -> serde_json::Value {
    let bytes = std::fs::read(out.join(date).join("manifest.json")).expect("manifest");
    serde_json::from_slice(&bytes).expect("manifest json")
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).expect("read")))
}

fn verify(out: &Path) -> Output {
    bin()
        .arg("verify")
        .arg("--out")
        .arg(out)
        .output()
        .expect("verify")
}

/// `first_seen` per finding_id from a run's findings.csv (columns 0 and 13, ids are hex).
fn first_seen(out: &Path, date: &str) -> Vec<(String, String)> {
    let mut r = csv::Reader::from_path(out.join(date).join("findings.csv")).expect("csv");
    let headers = r.headers().expect("headers").clone();
    let fs = headers
        .iter()
        .position(|h| h == "first_seen")
        .expect("first_seen column");
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            (rec[0].to_string(), rec[fs].to_string())
        })
        .collect()
}

#[test]
fn default_as_of_is_the_config_key_else_yesterday_in_utc() {
    let (dir, cfg) = sample_copy(Some(D1), Some(3000));
    let stdout = ok(&run(dir.path(), &cfg, &[]));
    assert!(
        stdout.starts_with(&format!("permaudit run as_of={D1} status=ok")),
        "{stdout}"
    );
    assert!(dir
        .path()
        .join("out")
        .join(D1)
        .join("manifest.json")
        .is_file());

    let (dir, cfg) = sample_copy(None, Some(3000));
    let before = chrono::Utc::now().date_naive().pred_opt().expect("date");
    let stdout = ok(&run(dir.path(), &cfg, &[]));
    let after = chrono::Utc::now().date_naive().pred_opt().expect("date");
    // Two candidates only if the test straddles midnight UTC.
    let hit = [before, after]
        .iter()
        .map(|d| d.format("%Y-%m-%d").to_string())
        .find(|d| {
            dir.path()
                .join("out")
                .join(d)
                .join("manifest.json")
                .is_file()
        });
    let day = hit.expect("output for yesterday (UTC)");
    assert!(stdout.contains(&format!("as_of={day} ")), "{stdout}");
}

#[test]
fn backfill_runs_every_day_in_date_order_with_a_chained_history() {
    let (dir, cfg) = sample_copy(None, None);
    let out = dir.path().join("out");
    // Given out of order on purpose: --from after --to is refused, nothing written.
    let o = run(dir.path(), &cfg, &["--from", D2, "--to", D1]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.join(D1).exists() && !out.join(D2).exists());
    let o = run(dir.path(), &cfg, &["--as-of", D1, "--from", D1, "--to", D2]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--as-of conflicts with --from/--to"
    );

    let stdout = ok(&run(dir.path(), &cfg, &["--from", D1, "--to", D2]));
    let days: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("permaudit run as_of="))
        .map(|l| &l[..10])
        .collect();
    assert_eq!(
        days,
        [
            "2026-11-20",
            "2026-11-21",
            "2026-11-22",
            "2026-11-23",
            "2026-11-24"
        ],
        "{stdout}"
    );
    // Each day names the one before it: they ran in order.
    let mut previous = serde_json::Value::Null;
    for d in &days {
        let m = manifest(&out, d);
        assert_eq!(m["previous"]["as_of"], previous, "{d}");
        if let Some(p) = previous.as_str() {
            assert_eq!(
                m["previous"]["manifest_sha256"],
                sha256(&out.join(p).join("manifest.json"))
            );
        }
        previous = serde_json::Value::from(*d);
    }
    // first_seen: the earliest day of the range that reported the finding.
    let first: std::collections::HashMap<String, String> =
        first_seen(&out, D1).into_iter().collect();
    let last = first_seen(&out, D2);
    assert!(!last.is_empty());
    for (id, seen) in &last {
        match first.get(id) {
            Some(_) => assert_eq!(seen, D1, "{id} was reported on {D1}"),
            None => assert!(seen.as_str() > D1, "{id}: {seen}"),
        }
    }
    assert!(
        last.iter().any(|(_, s)| s == D1),
        "some findings persist from the first day"
    );
    let v = verify(&out);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
}

#[test]
fn a_backfill_never_rewrites_later_outputs_and_a_rerun_brings_history_up_to_date() {
    let (dir, cfg) = sample_copy(None, None);
    let out = dir.path().join("out");
    ok(&run(dir.path(), &cfg, &["--as-of", D2]));
    let delivered = common::files(&out.join(D2));
    let alone = first_seen(&out, D2);
    assert!(alone.iter().all(|(_, s)| s == D2), "first run: all new");

    // Backfill the earlier day: the later output stays byte for byte as delivered.
    ok(&run(dir.path(), &cfg, &["--as-of", D1]));
    assert_eq!(
        common::files(&out.join(D2)),
        delivered,
        "backfill rewrote a later run"
    );
    assert!(
        manifest(&out, D1)["previous"].is_null(),
        "nothing earlier than {D1}"
    );
    let v = verify(&out);
    assert!(
        v.status.success(),
        "a backfill keeps the chain valid: {}",
        String::from_utf8_lossy(&v.stdout)
    );

    // Rerunning the later day counts the backfilled day as its history.
    ok(&run(dir.path(), &cfg, &["--as-of", D2]));
    let m = manifest(&out, D2);
    assert_eq!(m["previous"]["as_of"], D1);
    assert_eq!(
        m["previous"]["manifest_sha256"],
        sha256(&out.join(D1).join("manifest.json"))
    );
    let earlier: std::collections::HashSet<String> =
        first_seen(&out, D1).into_iter().map(|(id, _)| id).collect();
    let now = first_seen(&out, D2);
    for (id, seen) in &now {
        let want = if earlier.contains(id) { D1 } else { D2 };
        assert_eq!(seen, want, "{id}");
    }
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join(D2).join("HK/summary.json")).expect("summary"),
    )
    .expect("json");
    assert_eq!(summary["previous_as_of"], D1);

    // The store in OUT/history/ holds both runs.
    let runs = std::fs::File::open(out.join("history/runs.parquet")).expect("store");
    use polars::prelude::SerReader;
    let df = polars::prelude::ParquetReader::new(runs)
        .finish()
        .expect("readable store");
    let dates: Vec<String> = df
        .column("as_of")
        .expect("as_of")
        .str()
        .expect("str")
        .iter()
        .flatten()
        .map(str::to_string)
        .collect();
    assert_eq!(dates, [D1, D2]);
}

#[test]
fn a_rerun_replaces_the_output_with_the_same_bytes() {
    let (dir, cfg) = sample_copy(Some(D2), Some(3000));
    let out = dir.path().join("out");
    ok(&run(dir.path(), &cfg, &[]));
    let first = common::files(&out);
    ok(&run(dir.path(), &cfg, &[]));
    assert_eq!(names(&common::files(&out)), names(&first));
    assert_eq!(
        common::files(&out),
        first,
        "a rerun is byte-identical, history included"
    );
}

#[test]
fn a_second_run_exits_3_at_once_naming_the_holder() {
    let (dir, cfg) = sample_copy(Some(D2), None);
    let out = dir.path().join("out");
    let lock = out.join(".permaudit.lock");

    // Deterministic: this test process holds the lock, as a running permaudit would.
    std::fs::create_dir_all(&out).expect("mkdir");
    let mut held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&lock)
        .expect("lock file");
    held.lock().expect("flock");
    let me = std::process::id();
    std::io::Write::write_all(
        &mut held,
        format!("pid={me}\nstarted=2026-11-25T02:15:00Z\nhost=batch1\n").as_bytes(),
    )
    .expect("write");
    let started = Instant::now();
    let second = run(dir.path(), &cfg, &[]);
    assert_eq!(second.status.code(), Some(3));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once"
    );
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!("pid {me}, started 2026-11-25T02:15:00Z on batch1"))
            && err.contains("holds the lock"),
        "{err}"
    );
    assert!(
        second.stdout.is_empty(),
        "no summary line for a refused run"
    );
    assert!(!out.join(D2).exists());
    drop(held);

    // Two real runs: the second one, started while the first holds the lock, is refused.
    let mut first = bin()
        .arg("run")
        .arg("--config")
        .arg(&cfg)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let holder = format!("pid={}", first.id());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains(&holder)) {
        assert!(Instant::now() < deadline, "first run never took the lock");
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = run(dir.path(), &cfg, &[]);
    // Only meaningful while the first still runs (a sample run takes seconds in debug).
    if first.try_wait().expect("try_wait").is_none() {
        assert_eq!(second.status.code(), Some(3));
        let err = String::from_utf8_lossy(&second.stderr);
        assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    }
    assert!(first.wait().expect("wait").success());
    assert!(out.join(D2).join("manifest.json").is_file());
    assert_eq!(
        std::fs::read_to_string(&lock).expect("lock"),
        "",
        "released on exit"
    );
}

#[test]
fn a_stale_lock_of_a_dead_process_is_taken_over() {
    let (dir, cfg) = sample_copy(Some(D2), Some(3000));
    let out = dir.path().join("out");
    // A pid that certainly ran and is certainly gone.
    let mut gone = Command::new("true").spawn().expect("spawn true");
    let pid = gone.id();
    gone.wait().expect("wait");
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::write(
        out.join(".permaudit.lock"),
        format!("pid={pid}\nstarted=2026-11-25T02:00:00Z\nproc_start_ticks=1\n"),
    )
    .expect("lock");
    let o = run(dir.path(), &cfg, &[]);
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("stale lock") && err.contains(&format!("pid {pid}")),
        "{err}"
    );
    assert!(out.join(D2).join("manifest.json").is_file());
    assert_eq!(
        std::fs::read_to_string(out.join(".permaudit.lock")).expect("lock"),
        ""
    );
}

#[test]
fn a_lock_held_by_a_crashed_run_is_released_by_the_kernel() {
    // The lock is flock(2): a SIGKILLed holder cannot leave it held. Also covered many
    // times over by the kill test; this one looks at the lock alone.
    let (dir, cfg) = sample_copy(Some(D2), Some(3000));
    let out = dir.path().join("out");
    let mut child = bin()
        .arg("run")
        .arg("--config")
        .arg(&cfg)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let holder = format!("pid={}", child.id());
    let lock = out.join(".permaudit.lock");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains(&holder)) {
        assert!(Instant::now() < deadline, "never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    let o = run(dir.path(), &cfg, &[]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("stale lock"));
}

/// A small, seeded generator: the delays vary between runs of the test, the seed is printed
/// so that a failure can be replayed (PERMAUDIT_KILL_SEED).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Spawns a run with stderr read line by line; returns the child and a channel that
/// receives (line, instant) until the process ends.
fn spawn_watched(
    dir: &Path,
    cfg: &Path,
    out: &Path,
    as_of: &str,
) -> (std::process::Child, mpsc::Receiver<String>) {
    let mut child = bin()
        .arg("run")
        .arg("--config")
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .args(["--as-of", as_of])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits for a log line containing `needle`; false if the process ended first.
fn wait_for(rx: &mpsc::Receiver<String>, needle: &str) -> bool {
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(120)) {
        if line.contains(needle) {
            return true;
        }
    }
    false
}

#[test]
fn killing_the_run_at_random_moments_never_leaves_a_half_written_output() {
    // A smaller data set keeps ~30 real runs affordable in debug builds.
    let (dir, cfg) = sample_copy(None, Some(4000));
    let reference = dir.path().join("ref");
    let out = dir.path().join("out");

    // The reference: D1 then D2, undisturbed, timing D2 and its analysis phase.
    ok(&run(dir.path(), &cfg, &["--out", "ref", "--as-of", D1]));
    let started = Instant::now();
    let (mut child, rx) = spawn_watched(dir.path(), &cfg, &reference, D2);
    assert!(wait_for(&rx, "detect done"), "log line 'detect done'");
    let analysed = started.elapsed();
    assert!(child.wait().expect("wait").success());
    let total = started.elapsed();
    let ref_d1 = common::files(&reference.join(D1));
    let ref_d2 = common::files(&reference.join(D2));
    let ref_all = common::files(&reference);

    // The disturbed directory: D1 delivered, then D2 killed again and again.
    ok(&run(dir.path(), &cfg, &["--out", "out", "--as-of", D1]));
    let got = common::files(&out.join(D1));
    assert!(got == ref_d1, "{:?}", differing(&got, &ref_d1));

    let seed = std::env::var("PERMAUDIT_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64 | 1)
                .unwrap_or(88172645463325252)
        });
    eprintln!("kill test: seed {seed}, run {total:?}, analysis {analysed:?}");
    let mut rng = Rng(seed);
    // Kills until KILLS have landed. The machine's speed varies (other builds, other tests),
    // so the run's duration is re-estimated from every round that was not killed in time.
    const KILLS: usize = 24;
    const MAX_ROUNDS: usize = 80;
    let (mut est_total, mut est_rest) = (total, total.saturating_sub(analysed));
    let mut kills = 0;
    let mut completed = 0;
    let mut outcomes = Vec::new();
    let mut i = 0;
    while kills < KILLS {
        assert!(
            i < MAX_ROUNDS,
            "only {kills} kills landed in {i} rounds (seed {seed})"
        );
        let spawned = Instant::now();
        let (mut child, rx) = spawn_watched(dir.path(), &cfg, &out, D2);
        // Half the kills anywhere in the run, half after the analysis, when outputs,
        // history and the swap are being written: the moments that matter most. Delays are
        // stratified over the phase (slot) with a random offset inside each slot.
        let slot = ((kills / 2) % (KILLS / 2)) as f64 + rng.next();
        let fraction = slot / (KILLS / 2) as f64;
        let late = kills % 2 == 1;
        let mut detected = None;
        if late {
            if wait_for(&rx, "detect done") {
                detected = Some(Instant::now());
            }
            std::thread::sleep(est_rest.mul_f64(fraction));
        } else {
            std::thread::sleep(est_total.mul_f64(fraction));
        }
        let alive = child.try_wait().expect("try_wait").is_none();
        if alive {
            child.kill().expect("SIGKILL");
            kills += 1;
        } else {
            completed += 1;
        }
        let status = child.wait().expect("wait");
        if !alive {
            // Too slow a guess: this run finished before its kill; learn its real pace.
            est_total = spawned.elapsed().mul_f64(0.95);
            if let Some(d) = detected {
                est_rest = d.elapsed().mul_f64(0.95);
            }
        }
        drop(rx);
        let live = out.join(D2);
        let state = if live.exists() {
            let got = common::files(&live);
            assert!(
                got == ref_d2,
                "round {i} (seed {seed}): OUT/{D2} exists but differs from an undisturbed run: {:?}",
                differing(&got, &ref_d2)
            );
            "complete"
        } else {
            "absent"
        };
        outcomes.push(format!("{}:{state}", if alive { "killed" } else { "done" }));
        if !alive {
            assert!(
                status.success(),
                "round {i}: a run that was not killed failed"
            );
        }
        assert_eq!(
            common::files(&out.join(D1)),
            ref_d1,
            "round {i}: earlier run touched"
        );
        // History: whatever store is there is whole (written by rename only).
        for f in ["runs.parquet", "findings.parquet"] {
            let p = out.join("history").join(f);
            if p.exists() {
                use polars::prelude::SerReader;
                let file = std::fs::File::open(&p).expect("open store");
                polars::prelude::ParquetReader::new(file)
                    .finish()
                    .unwrap_or_else(|e| panic!("round {i}: {f} unreadable: {e}"));
            }
        }
        // The chain as it stands verifies (verify ignores staging and retired dirs).
        let v = verify(&out);
        assert!(
            v.status.success(),
            "round {i}: {}",
            String::from_utf8_lossy(&v.stdout)
        );
        i += 1;
    }
    eprintln!("kill test: {kills} kills, {completed} completed: {outcomes:?}");
    assert!(kills >= 20, "only {kills} kills landed (seed {seed})");

    // The next run succeeds and the whole directory equals the undisturbed one, history
    // store and lock file included.
    let (mut child, _rx) = spawn_watched(dir.path(), &cfg, &out, D2);
    assert!(child.wait().expect("wait").success());
    let got = common::files(&out);
    assert_eq!(names(&got), names(&ref_all));
    assert!(
        got == ref_all,
        "seed {seed}: {:?}",
        differing(&got, &ref_all)
    );
}

#[test]
fn the_states_a_killed_swap_can_leave_are_tidied_by_the_next_run() {
    // The exact windows the random kills rarely hit: the old output renamed aside with no
    // replacement yet, and a staging directory half written.
    let (dir, cfg) = sample_copy(Some(D2), Some(3000));
    let out = dir.path().join("out");
    ok(&run(dir.path(), &cfg, &[]));
    let delivered = common::files(&out);
    std::fs::rename(out.join(D2), out.join(format!(".retired-{D2}.4242"))).expect("retire");
    let staging = out.join(format!(".staging-{D2}.4243"));
    std::fs::create_dir_all(staging.join("HK")).expect("staging");
    std::fs::write(staging.join("findings.csv"), "finding_id,rul").expect("partial");
    std::fs::write(out.join("history/runs.parquet.tmp-4243"), "PAR").expect("tmp");
    std::fs::write(out.join("state/file_hashes.json.tmp-4243"), "{").expect("state tmp");
    let v = verify(&out);
    let stdout = String::from_utf8_lossy(&v.stdout).into_owned();
    assert!(
        v.status.success() && stdout.contains("note: .retired-"),
        "{stdout}"
    );
    ok(&run(dir.path(), &cfg, &[]));
    let got = common::files(&out);
    assert!(got == delivered, "{:?}", differing(&got, &delivered));
}

#[test]
fn verify_reads_manifests_of_earlier_versions_and_names_a_malformed_one() {
    let (dir, cfg) = sample_copy(Some(D2), Some(3000));
    let out = dir.path().join("out");
    ok(&run(dir.path(), &cfg, &[]));
    let path = out.join(D2).join("manifest.json");
    let mut m = manifest(&out, D2);
    let fields = m.as_object_mut().expect("an object");
    // Fields later versions added: a run written before them still verifies.
    for k in ["review_state", "templates", "ignored_files"] {
        fields.remove(k).expect(k);
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&m).expect("json")).expect("write");
    let v = verify(&out);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));

    m.as_object_mut().expect("an object").remove("outputs");
    std::fs::write(&path, serde_json::to_vec_pretty(&m).expect("json")).expect("write");
    let v = verify(&out);
    assert_eq!(v.status.code(), Some(5));
    let stdout = String::from_utf8_lossy(&v.stdout).into_owned();
    assert!(
        stdout.contains(&format!("{D2}/manifest.json: not a valid manifest"))
            && stdout.contains("outputs"),
        "{stdout}"
    );
}

#[test]
fn verify_names_an_altered_byte_and_a_broken_link() {
    let (dir, cfg) = sample_copy(None, Some(3000));
    let out = dir.path().join("out");
    ok(&run(
        dir.path(),
        &cfg,
        &["--from", D1, "--to", "2026-11-21"],
    ));
    let v = verify(&out);
    let stdout = String::from_utf8_lossy(&v.stdout).into_owned();
    assert!(v.status.success(), "{stdout}");
    assert!(
        stdout.contains("status=ok runs=2") && stdout.contains("links=1"),
        "{stdout}"
    );

    // One byte of a report.
    let report = out.join(D1).join("HK/report.md");
    let mut bytes = std::fs::read(&report).expect("report");
    let k = bytes.len() / 2;
    bytes[k] ^= 0x01;
    std::fs::write(&report, &bytes).expect("write");
    let v = verify(&out);
    assert_eq!(v.status.code(), Some(5));
    let stdout = String::from_utf8_lossy(&v.stdout).into_owned();
    let fails: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fails.len(), 1, "{stdout}");
    assert!(
        fails[0].contains("2026-11-20/HK/report.md: SHA-256"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&v.stderr).contains("verification failed"));
    bytes[k] ^= 0x01;
    std::fs::write(&report, &bytes).expect("restore");
    assert!(verify(&out).status.success());

    // One byte of a manifest: the file itself is not in its own list, so what breaks is
    // the link of the next run that names it.
    let m = out.join(D1).join("manifest.json");
    let text = std::fs::read_to_string(&m).expect("manifest");
    std::fs::write(&m, text.replacen("\"findings\": ", "\"findings\":  ", 1)).expect("write");
    let v = verify(&out);
    assert_eq!(v.status.code(), Some(5));
    let stdout = String::from_utf8_lossy(&v.stdout).into_owned();
    let fails: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fails.len(), 1, "{stdout}");
    assert!(
        fails[0].contains("link 2026-11-21 -> 2026-11-20"),
        "{stdout}"
    );
    std::fs::write(&m, &text).expect("restore");

    // A file slipped in, and one deleted.
    std::fs::write(out.join("2026-11-21/extra.csv"), "x\n").expect("write");
    std::fs::remove_file(out.join("2026-11-21/freeze_list.csv")).expect("rm");
    let stdout = String::from_utf8_lossy(&verify(&out).stdout).into_owned();
    assert!(
        stdout.contains("FAIL 2026-11-21/extra.csv: not listed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL 2026-11-21/freeze_list.csv: listed in the manifest but missing"),
        "{stdout}"
    );
}

#[test]
fn check_validates_without_writing_and_says_what_run_says() {
    let (dir, cfg) = sample_copy(Some(D2), None);
    let check = || {
        bin()
            .arg("check")
            .arg("--config")
            .arg(&cfg)
            .current_dir(dir.path())
            .output()
            .expect("check")
    };
    let o = check();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("permaudit check status=ok quarantined=0"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!dir.path().join("out").exists(), "check writes nothing");

    // A quarantined row is listed with its file and line.
    let ids = dir.path().join("input/identities.csv");
    let mut text = std::fs::read_to_string(&ids).expect("identities");
    let lines = text.lines().count();
    let cols = text.lines().next().expect("header").split(',').count();
    let mut row = vec![""; cols];
    row[0] = "E9999";
    text.push_str(&format!("{}\n", row.join(",")));
    std::fs::write(&ids, &text).expect("write");
    let o = check();
    assert_eq!(o.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(&format!("identities.csv:{}:", lines + 1))
            && stdout.contains("quarantined=1"),
        "{stdout}"
    );

    // A file-level problem: exit 2, and the same message as `run` gives.
    let grants = dir.path().join("input/grants.csv");
    let g = std::fs::read_to_string(&grants).expect("grants");
    std::fs::write(&grants, g.replacen("granted_at", "granted_on", 1)).expect("write");
    let c = check();
    let r = run(dir.path(), &cfg, &[]);
    assert_eq!(c.status.code(), Some(2));
    assert_eq!(r.status.code(), Some(2));
    let last = |o: &Output| {
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .rfind(|l| l.starts_with("permaudit: error:"))
            .map(str::to_string)
    };
    assert!(last(&c).is_some_and(|l| l.contains("granted_at")));
    assert_eq!(last(&c), last(&r));
    assert!(!dir.path().join("out").join(D2).exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/.permaudit.lock")).expect("lock"),
        "",
        "the lock is released on the error path too"
    );

    // A policy error too.
    std::fs::write(&grants, g).expect("restore");
    let j = dir.path().join("policy/jurisdictions.toml");
    let jt = std::fs::read_to_string(&j).expect("jurisdictions");
    std::fs::write(&j, jt.replacen("timezone", "time_zone", 1)).expect("write");
    let c = check();
    assert_eq!(c.status.code(), Some(2));
    assert!(last(&c).is_some_and(|l| l.contains("jurisdictions.toml")));
}

#[test]
fn help_documents_every_exit_code_and_the_summary_line_is_one_line() {
    for args in [&["--help"][..], &["run", "--help"], &["verify", "--help"]] {
        let o = bin().args(args).output().expect("help");
        let text = String::from_utf8_lossy(&o.stdout);
        for code in [
            "0 success",
            "1 findings",
            "2 bad input",
            "3 another run holds the lock",
            "4 internal",
            "5 verify",
        ] {
            assert!(text.contains(code), "{args:?}: {code} missing in {text}");
        }
    }
    let (dir, cfg) = sample_copy(Some(D2), Some(3000));
    let o = run(dir.path(), &cfg, &["--log-format", "json"]);
    let stdout = ok(&o);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("manifest_sha256="));
    // JSON logs only, no progress bar or escape codes in non-terminal output.
    for line in String::from_utf8_lossy(&o.stderr).lines() {
        assert!(line.starts_with('{'), "{line}");
    }
    // Each stage says how much memory the run holds and has held: what an operator sizing
    // the machine for a first run at scale reads.
    for stage in ["ingest done", "resolve done", "detect done"] {
        let line = String::from_utf8_lossy(&o.stderr)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON log line"))
            .find(|l| l["fields"]["message"] == stage)
            .unwrap_or_else(|| panic!("no '{stage}' line"));
        let (rss, peak) = (
            line["fields"]["rss_mib"].as_u64().expect("rss_mib"),
            line["fields"]["peak_mib"].as_u64().expect("peak_mib"),
        );
        assert!(rss > 0 && peak >= rss, "{stage}: {line}");
    }
    let o = run(dir.path(), &cfg, &["--fail-on", "critical"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("status=ok"));
}

/// The freeze list says since when an account has been listed without a break, so that a
/// freeze asked for days ago and not carried out stands out; a rerun of the earlier day
/// (which knows no later run) says that day.
#[test]
fn the_freeze_list_says_since_when_an_account_has_been_listed() {
    let (dir, cfg) = sample_copy(None, None);
    let out = dir.path().join("out");
    let read = |date: &str| -> Vec<(String, String)> {
        let (header, rows) = crate::review::read_csv(&out.join(date).join("freeze_list.csv"));
        let (a, s) = (
            header
                .iter()
                .position(|h| h == "account_id")
                .expect("account_id"),
            header
                .iter()
                .position(|h| h == "listed_since")
                .expect("listed_since"),
        );
        rows.iter().map(|r| (r[a].clone(), r[s].clone())).collect()
    };
    ok(&run(dir.path(), &cfg, &["--as-of", "2026-11-23"]));
    let day1 = read("2026-11-23");
    assert!(!day1.is_empty());
    assert!(
        day1.iter().all(|(_, since)| since == "2026-11-23"),
        "{day1:?}"
    );
    ok(&run(dir.path(), &cfg, &["--as-of", "2026-11-24"]));
    let day2 = read("2026-11-24");
    let listed_before: std::collections::BTreeSet<&String> = day1.iter().map(|(a, _)| a).collect();
    for (account, since) in &day2 {
        let want = if listed_before.contains(account) {
            "2026-11-23"
        } else {
            "2026-11-24"
        };
        assert_eq!(since, want, "{account}");
    }
    assert!(day2.iter().any(|(_, s)| s == "2026-11-23"), "{day2:?}");
    ok(&run(dir.path(), &cfg, &["--as-of", "2026-11-23"]));
    assert_eq!(read("2026-11-23"), day1);
}
