//! Refactors keep behaviour: every output of a run on the sample and on the small preset is
//! pinned. A run's manifest holds the SHA-256 of every other file of the run (findings,
//! reports, OCSF, freeze list...) and of its inputs, policy and templates, so one pinned
//! manifest hash pins them all. When a change is meant to alter outputs, the failure prints
//! the manifest's file list: compare it with the previous one, then update the constant.

use crate::common::{bin, run_in, sample_copy};

use std::path::Path;

const SAMPLE_MANIFEST_SHA256: &str =
    "e4bf978ad3d8f4de39461d553755a55fefae173579d89dcebef4887e37f91b6a";
const SMALL_PRESET_MANIFEST_SHA256: &str =
    "cf7b4a845dde4da85729bf05751a21a7d26ea8bddc0bffb13ed48ba2398b99c6";

fn assert_manifest(run_dir: &Path, pinned: &str) {
    let manifest = run_dir.join("manifest.json");
    let bytes = std::fs::read(&manifest).expect("manifest");
    let sha = permaudit::hash::sha256_hex(&bytes);
    if sha != pinned {
        let m: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        panic!(
            "outputs changed: manifest SHA-256 {sha}, pinned {pinned}; its files:\n{}",
            serde_json::to_string_pretty(&m["outputs"]).expect("json")
        );
    }
}

#[test]
fn sample_outputs_are_pinned() {
    let (dir, cfg) = sample_copy("");
    let out = run_in(dir.path(), &cfg, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_manifest(&dir.path().join("out/2026-11-24"), SAMPLE_MANIFEST_SHA256);
}

#[test]
fn small_preset_outputs_are_pinned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let generated = bin()
        .args(["generate", "--preset", "small", "--out"])
        .arg(dir.path())
        .output()
        .expect("generate");
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let out = run_in(dir.path(), &dir.path().join("permaudit.toml"), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_manifest(
        &dir.path().join("out/2026-11-24"),
        SMALL_PRESET_MANIFEST_SHA256,
    );
}
