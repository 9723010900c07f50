//! Signed manifests end to end through the binary (CONTRACT section 8): `keygen`, a run that
//! signs with `signing_key`, `verify --public-key` against every way a signature can be
//! wrong (another key, truncated, moved to another run, a chain rewritten consistently),
//! `verify --anchor`, keys made by openssl, and keys the run must refuse.
//!
//! `tests/fixtures/keys/` holds test-only keys made with `openssl genpkey` (an Ed25519 key
//! and its public key, and a P-256 key), so that openssl's form is tested on a machine
//! without openssl too.

use crate::common::{self, bin, ok};

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

const D1: &str = "2026-11-23";
const D2: &str = "2026-11-24";
const FIXTURES: &str = "tests/fixtures/keys";

/// A copy of the sample with its first 3,000 audit events (a faster run) and a
/// configuration with `extra` appended.
fn sample(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["input", "policy"] {
        common::copy_dir(&Path::new("data/sample").join(sub), &dir.path().join(sub));
    }
    let events = dir.path().join("input/audit_events.csv");
    let text = std::fs::read_to_string(&events).expect("events");
    let kept: Vec<&str> = text.lines().take(3001).collect();
    std::fs::write(&events, kept.join("\n") + "\n").expect("events");
    let cfg = dir.path().join("permaudit.toml");
    std::fs::write(
        &cfg,
        format!("input_dir = \"input\"\npolicy_dir = \"policy\"\nout_dir = \"out\"\n{extra}"),
    )
    .expect("config");
    (dir, cfg)
}

fn permaudit(dir: &Path, args: &[&str]) -> Output {
    bin()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("permaudit")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `permaudit keygen --out DIR/NAME`, which must succeed.
fn keygen(dir: &Path, name: &str) -> PathBuf {
    ok(&permaudit(dir, &["keygen", "--out", name]));
    dir.join(name)
}

/// `permaudit verify --out OUT` with more arguments.
fn verify(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["verify", "--out", "out"];
    all.extend_from_slice(args);
    permaudit(dir, &all)
}

fn fails(o: &Output) -> Vec<String> {
    stdout(o)
        .lines()
        .filter(|l| l.starts_with("FAIL "))
        .map(str::to_string)
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A signed backfill of D1 and D2 with a key made by `keygen`: (tempdir, public key path,
/// the summary lines).
fn signed_backfill() -> (tempfile::TempDir, PathBuf, String) {
    let (dir, cfg) = sample("signing_key = \"signing.pem\"\n");
    keygen(dir.path(), "signing.pem");
    let lines = ok(&common::run_in(
        dir.path(),
        &cfg,
        &["--from", D1, "--to", D2],
    ));
    (dir, PathBuf::from("signing.pem.pub"), lines)
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = permaudit(dir.path(), &["keygen", "--out", "k.pem"]);
    let line = ok(&o);
    let private = dir.path().join("k.pem");
    let public = dir.path().join("k.pem.pub");
    let mode = std::fs::metadata(&private)
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let private_text = std::fs::read_to_string(&private).expect("key");
    let public_text = std::fs::read_to_string(&public).expect("pub");
    assert!(private_text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(public_text.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    // The printed fingerprint is the public key's, and the private key is never printed.
    assert!(
        line.starts_with(
            "permaudit keygen status=ok private_key=k.pem public_key=k.pem.pub public_key_sha256="
        ),
        "{line}"
    );
    let body: String = private_text.lines().nth(1).expect("base64 line").into();
    assert!(!line.contains(&body) && !stderr(&o).contains(&body));

    // Never overwritten: neither when the key is there, nor when only FILE.pub is.
    let again = permaudit(dir.path(), &["keygen", "--out", "k.pem"]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("k.pem: a regular file is already there"));
    assert_eq!(
        std::fs::read_to_string(&private).expect("key"),
        private_text
    );
    assert_eq!(std::fs::read_to_string(&public).expect("pub"), public_text);
    std::fs::write(dir.path().join("only.pem.pub"), "mine\n").expect("write");
    let o = permaudit(dir.path(), &["keygen", "--out", "only.pem"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!dir.path().join("only.pem").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("only.pem.pub")).expect("pub"),
        "mine\n"
    );

    // A link at the name, dangling or not, is refused and never written through.
    std::os::unix::fs::symlink(dir.path().join("elsewhere.pem"), dir.path().join("l.pem"))
        .expect("symlink");
    let o = permaudit(dir.path(), &["keygen", "--out", "l.pem"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("a symbolic link is already there"));
    assert!(!dir.path().join("elsewhere.pem").exists());
    assert!(!dir.path().join("l.pem.pub").exists());
    std::fs::write(dir.path().join("victim"), "precious\n").expect("write");
    std::os::unix::fs::symlink(dir.path().join("victim"), dir.path().join("v.pem"))
        .expect("symlink");
    let o = permaudit(dir.path(), &["keygen", "--out", "v.pem"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("victim")).expect("victim"),
        "precious\n"
    );
}

#[test]
fn a_signed_backfill_verifies_and_a_wrong_key_fails_every_run() {
    let (dir, public, lines) = signed_backfill();
    let out = dir.path().join("out");
    for d in [D1, D2] {
        let sig = std::fs::read_to_string(out.join(d).join("manifest.json.sig")).expect("sig");
        // Base64 of 64 bytes and a line feed.
        assert_eq!(sig.len(), 89, "{sig:?}");
        assert!(sig.ends_with('\n'));
        // The signature is not among the outputs the manifest lists (it signs the manifest).
        let m = std::fs::read_to_string(out.join(d).join("manifest.json")).expect("manifest");
        assert!(!m.contains("manifest.json.sig"));
    }
    // The summary line's manifest_sha256 is the manifest's hash.
    let last = lines.lines().last().expect("summary line");
    let published = last
        .split(' ')
        .find_map(|w| w.strip_prefix("manifest_sha256="))
        .expect("manifest_sha256");
    assert_eq!(
        published,
        sha256_hex(&std::fs::read(out.join(D2).join("manifest.json")).expect("manifest"))
    );

    let v = verify(
        dir.path(),
        &["--public-key", public.to_str().expect("utf-8")],
    );
    let text = ok(&v);
    assert!(
        text.contains("status=ok runs=2") && text.contains("signatures=2"),
        "{text}"
    );
    // Without the key, verify still passes, and says the runs are signed.
    let text = ok(&verify(dir.path(), &[]));
    assert!(
        text.contains("note: 2 run(s) carry a signature") && text.contains("signatures=0"),
        "{text}"
    );

    // Another key fails every run, naming it.
    keygen(dir.path(), "other.pem");
    let v = verify(dir.path(), &["--public-key", "other.pem.pub"]);
    assert_eq!(v.status.code(), Some(5), "{}", stdout(&v));
    let f = fails(&v);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert!(f[0].starts_with(&format!(
        "FAIL {D1}/manifest.json.sig: the signature does not verify"
    )));
    assert!(f[1].starts_with(&format!(
        "FAIL {D2}/manifest.json.sig: the signature does not verify"
    )));

    // A public key file that is no public key is bad input, not a verification failure.
    for bad in ["signing.pem", "missing.pub", "permaudit.toml"] {
        let v = verify(dir.path(), &["--public-key", bad]);
        assert_eq!(v.status.code(), Some(2), "{bad}: {}", stderr(&v));
        assert!(stderr(&v).contains(bad), "{}", stderr(&v));
    }
}

#[test]
fn a_truncated_moved_or_missing_signature_and_a_flipped_manifest_byte_fail() {
    let (dir, public, _) = signed_backfill();
    let public = public.to_str().expect("utf-8").to_string();
    let out = dir.path().join("out");
    let with_key = || verify(dir.path(), &["--public-key", &public]);
    let sig1 = out.join(D1).join("manifest.json.sig");
    let sig2 = out.join(D2).join("manifest.json.sig");
    let (s1, s2) = (
        std::fs::read(&sig1).expect("sig"),
        std::fs::read(&sig2).expect("sig"),
    );

    // Truncated: base64 cut short, and cut to a whole number of bytes fewer than 64.
    for cut in [40, 84] {
        std::fs::write(&sig1, &s1[..cut]).expect("write");
        let v = with_key();
        assert_eq!(v.status.code(), Some(5));
        let f = fails(&v);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(
            f[0].starts_with(&format!("FAIL {D1}/manifest.json.sig: ")),
            "{f:#?}"
        );
    }
    // One bit of the signature.
    let mut flipped = s1.clone();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    std::fs::write(&sig1, &flipped).expect("write");
    assert_eq!(fails(&with_key()).len(), 1);

    // Swapped between the two runs: each is a valid signature, of the other manifest.
    std::fs::write(&sig1, &s2).expect("write");
    std::fs::write(&sig2, &s1).expect("write");
    let f = fails(&with_key());
    assert_eq!(f.len(), 2, "{f:#?}");
    assert!(f.iter().all(|l| l.contains("does not verify")), "{f:#?}");
    std::fs::write(&sig1, &s1).expect("restore");
    std::fs::write(&sig2, &s2).expect("restore");
    ok(&with_key());

    // One byte of a manifest: its signature fails (and the next run's link).
    let m1 = out.join(D1).join("manifest.json");
    let text = std::fs::read_to_string(&m1).expect("manifest");
    std::fs::write(&m1, text.replacen("\"findings\": ", "\"findings\":  ", 1)).expect("write");
    let f = fails(&with_key());
    assert!(
        f.iter().any(|l| l.starts_with(&format!(
            "FAIL {D1}/manifest.json.sig: the signature does not verify"
        ))),
        "{f:#?}"
    );
    std::fs::write(&m1, &text).expect("restore");

    // Deleted: the run is not signed.
    std::fs::remove_file(&sig2).expect("rm");
    let v = with_key();
    assert_eq!(v.status.code(), Some(5));
    assert_eq!(
        fails(&v),
        vec![format!(
            "FAIL {D2}/manifest.json.sig: missing: the run is not signed"
        )]
    );
    // Without the key, an unsigned run is no problem.
    ok(&verify(dir.path(), &[]));
}

#[test]
fn a_chain_rewritten_consistently_passes_plain_verify_and_fails_with_the_key() {
    let (dir, public, _) = signed_backfill();
    let out = dir.path().join("out");
    // The forger drops a finding of the first run and rewrites every hash that follows
    // from it: the output's entry in its manifest, then the next manifest's link.
    let findings = out.join(D1).join("findings.csv");
    let text = std::fs::read_to_string(&findings).expect("findings");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(1);
    let forged = lines.join("\n") + "\n";
    std::fs::write(&findings, &forged).expect("write");
    let rewrite = |date: &str, edit: &dyn Fn(&mut serde_json::Value)| -> String {
        let path = out.join(date).join("manifest.json");
        let mut m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("json");
        edit(&mut m);
        let mut bytes = serde_json::to_string_pretty(&m).expect("json");
        bytes.push('\n');
        std::fs::write(&path, &bytes).expect("write");
        sha256_hex(bytes.as_bytes())
    };
    let new_hash = sha256_hex(forged.as_bytes());
    let m1 = rewrite(D1, &|m| {
        for o in m["outputs"].as_array_mut().expect("outputs") {
            if o["path"] == "findings.csv" {
                o["sha256"] = serde_json::Value::from(new_hash.clone());
            }
        }
        m["findings"] = serde_json::Value::from(m["findings"].as_u64().expect("count") - 1);
    });
    rewrite(D2, &|m| {
        m["previous"]["manifest_sha256"] = serde_json::Value::from(m1.clone());
    });

    let plain = verify(dir.path(), &[]);
    assert!(plain.status.success(), "{}", stdout(&plain));
    let v = verify(
        dir.path(),
        &["--public-key", public.to_str().expect("utf-8")],
    );
    assert_eq!(v.status.code(), Some(5));
    let f = fails(&v);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert!(f.iter().all(|l| l.contains("does not verify")), "{f:#?}");
}

#[test]
fn anchors_right_wrong_malformed_and_of_a_day_without_a_run() {
    let (dir, cfg) = sample("");
    let lines = ok(&common::run_in(
        dir.path(),
        &cfg,
        &["--from", D1, "--to", D2],
    ));
    // Without signing_key there is no signature, and plain verify passes.
    assert!(!dir
        .path()
        .join("out")
        .join(D2)
        .join("manifest.json.sig")
        .exists());
    ok(&verify(dir.path(), &[]));
    let hashes: Vec<String> = lines
        .lines()
        .map(|l| {
            l.split(' ')
                .find_map(|w| w.strip_prefix("manifest_sha256="))
                .expect("manifest_sha256")
                .to_string()
        })
        .collect();
    let (a1, a2) = (
        format!("{D1}={}", hashes[0]),
        format!("{D2}={}", hashes[1].to_uppercase()),
    );
    let text = ok(&verify(dir.path(), &["--anchor", &a1, "--anchor", &a2]));
    assert!(text.contains("anchors=2 problems=0"), "{text}");

    // The hash of the other run: a problem naming the date.
    let wrong = format!("{D2}={}", hashes[0]);
    let v = verify(dir.path(), &["--anchor", &a1, "--anchor", &wrong]);
    assert_eq!(v.status.code(), Some(5));
    let f = fails(&v);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(
        f[0].starts_with(&format!(
            "FAIL anchor {D2}: {D2}/manifest.json has SHA-256 {}",
            hashes[1]
        )),
        "{f:#?}"
    );

    // Malformed anchors and a date without a run are bad arguments (exit 2).
    for bad in [
        D2.to_string(),
        format!("{D2}={}", &hashes[1][..63]),
        format!("{D2}={}", "g".repeat(64)),
        format!("2026-11-2={}", hashes[1]),
        format!("2026-11-22={}", hashes[1]),
    ] {
        let v = verify(dir.path(), &["--anchor", &bad]);
        assert_eq!(v.status.code(), Some(2), "{bad}: {}", stderr(&v));
        assert!(fails(&v).is_empty());
    }
    let v = verify(
        dir.path(),
        &["--anchor", &format!("2026-11-22={}", hashes[1])],
    );
    assert!(
        stderr(&v).contains("has no run of 2026-11-22"),
        "{}",
        stderr(&v)
    );

    // Unsigned runs fail a verify that asks for signatures, each named.
    keygen(dir.path(), "k.pem");
    let v = verify(dir.path(), &["--public-key", "k.pem.pub"]);
    assert_eq!(
        fails(&v),
        vec![
            format!("FAIL {D1}/manifest.json.sig: missing: the run is not signed"),
            format!("FAIL {D2}/manifest.json.sig: missing: the run is not signed"),
        ]
    );
}

/// Copies a fixture key into `dir` with mode 0600 (git keeps no such mode).
fn fixture(dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(Path::new(FIXTURES).join(name), &to).expect("copy fixture");
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    to
}

fn have_openssl() -> bool {
    std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn keys_made_by_openssl_sign_and_openssl_checks_our_signatures() {
    let (dir, cfg) = sample("as_of = \"2026-11-24\"\nsigning_key = \"openssl-ed25519.pem\"\n");
    fixture(dir.path(), "openssl-ed25519.pem");
    fixture(dir.path(), "openssl-ed25519.pem.pub");
    ok(&common::run_in(dir.path(), &cfg, &[]));
    let text = ok(&verify(
        dir.path(),
        &["--public-key", "openssl-ed25519.pem.pub"],
    ));
    assert!(text.contains("signatures=1"), "{text}");

    if !have_openssl() {
        eprintln!("openssl is not installed: fresh openssl keys and its check of a signature are not tested");
        return;
    }
    let openssl = |args: &[&str]| {
        let o = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("openssl");
        assert!(o.status.success(), "openssl {args:?}: {}", stderr(&o));
    };
    // A fresh key from openssl, its public key from openssl too.
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", "fresh.pem"]);
    std::fs::set_permissions(
        dir.path().join("fresh.pem"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    openssl(&["pkey", "-in", "fresh.pem", "-pubout", "-out", "fresh.pub"]);
    let cfg_text = std::fs::read_to_string(&cfg).expect("config");
    std::fs::write(&cfg, cfg_text.replace("openssl-ed25519.pem", "fresh.pem")).expect("config");
    ok(&common::run_in(dir.path(), &cfg, &[]));
    ok(&verify(dir.path(), &["--public-key", "fresh.pub"]));

    // What the README tells a regulator without permaudit: base64 -d, then openssl.
    let sig =
        std::fs::read_to_string(dir.path().join("out/2026-11-24/manifest.json.sig")).expect("sig");
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(sig.trim_end())
        .expect("base64");
    std::fs::write(dir.path().join("sig.bin"), raw).expect("write");
    openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        "fresh.pub",
        "-rawin",
        "-in",
        "out/2026-11-24/manifest.json",
        "-sigfile",
        "sig.bin",
    ]);
    // And openssl reads the keys keygen writes.
    keygen(dir.path(), "ours.pem");
    openssl(&[
        "pkey",
        "-in",
        "ours.pem",
        "-pubout",
        "-out",
        "ours-by-openssl.pub",
    ]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ours-by-openssl.pub")).expect("pub"),
        std::fs::read_to_string(dir.path().join("ours.pem.pub")).expect("pub")
    );
}

#[test]
fn a_bad_signing_key_stops_the_run_before_anything_is_written() {
    let (dir, cfg) = sample("as_of = \"2026-11-24\"\nsigning_key = \"key.pem\"\n");
    let key = dir.path().join("key.pem");
    let out = dir.path().join("out");
    let refused = |expect: &str, args: &[&str]| {
        let o = common::run_in(dir.path(), &cfg, args);
        assert_eq!(o.status.code(), Some(2), "{expect}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("permaudit.toml: key signing_key:") && err.contains(expect),
            "{expect}: {err}"
        );
        assert!(!out.exists(), "{expect}: OUT was created");
    };

    refused("key.pem: does not exist", &[]);
    // Not Ed25519, not a private key, not PEM.
    std::fs::copy(Path::new(FIXTURES).join("openssl-p256.pem"), &key).expect("copy");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    refused("not an Ed25519 private key", &[]);
    std::fs::copy(Path::new(FIXTURES).join("openssl-ed25519.pem.pub"), &key).expect("copy");
    refused("not an Ed25519 private key", &[]);
    std::fs::write(&key, "just text\n").expect("write");
    refused("not PEM", &[]);
    // Unreadable: a directory where the key belongs.
    std::fs::remove_file(&key).expect("rm");
    std::fs::create_dir(&key).expect("mkdir");
    refused("key.pem:", &[]);
    std::fs::remove_dir(&key).expect("rmdir");

    // Readable by others: a warning, and the run signs; with --strict, refused.
    std::fs::copy(Path::new(FIXTURES).join("openssl-ed25519.pem"), &key).expect("copy");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    refused(
        "--strict: the private key may be read by its group or others (mode 0644)",
        &["--strict"],
    );
    let o = common::run_in(dir.path(), &cfg, &[]);
    ok(&o);
    assert!(
        stderr(&o).contains("WARN") && stderr(&o).contains("may be read by its group or others"),
        "{}",
        stderr(&o)
    );
    // The key itself is never in the log.
    let body = std::fs::read_to_string(&key).expect("key");
    let body = body.lines().nth(1).expect("base64 line");
    assert!(!stderr(&o).contains(body));
    assert!(out.join("2026-11-24/manifest.json.sig").is_file());
    // `check` reads the key as the run does.
    let c = permaudit(dir.path(), &["check", "--config", "permaudit.toml"]);
    ok(&c);
    assert!(stderr(&c).contains("may be read by its group or others"));
}
