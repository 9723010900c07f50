use crate::common::*;
use sha2::{Digest, Sha256};

const HEADER: &str =
    "event_id,ts,system_id,account_id,action,outcome,target_id,seq,prev_hash,hash\n";

#[derive(Clone)]
struct Ev {
    id: String,
    /// As written in the CSV (offsets and fractions allowed).
    ts: String,
    sys: String,
    seq: i64,
    acc: String,
    action: String,
    outcome: String,
    target: Option<String>,
    prev_hash: Option<String>,
    hash: Option<String>,
}

fn micros(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts)
        .expect("ts")
        .timestamp_micros()
}

fn record_hash(e: &Ev) -> String {
    let payload = format!(
        "{}\n{}|{}|{}|{}|{}|{}|{}|{}",
        e.prev_hash.as_deref().unwrap_or(""),
        e.id,
        e.sys,
        e.seq,
        e.acc,
        e.action,
        e.outcome,
        e.target.as_deref().unwrap_or(""),
        micros(&e.ts)
    );
    hex::encode(Sha256::digest(payload.as_bytes()))
}

/// A valid chain of `n` records of `sys` starting at `first_seq`; the lowest record has a
/// null prev_hash; every other record has a null target_id and timestamps mix offsets and
/// fractions so that the canonical form is exercised.
fn chain(sys: &str, first_seq: i64, n: usize) -> Vec<Ev> {
    let mut out: Vec<Ev> = Vec::new();
    for k in 0..n {
        let seq = first_seq + k as i64;
        let ts = if k % 2 == 0 {
            format!("2026-11-20T{:02}:00:00.250+08:00", 10 + k)
        } else {
            format!("2026-11-20T{:02}:30:00Z", 2 + k)
        };
        let mut e = Ev {
            id: format!("{sys}-ev{seq}"),
            ts,
            sys: sys.into(),
            seq,
            acc: "svc-sync".into(),
            action: "payout.view".into(),
            outcome: "success".into(),
            target: (k % 2 == 1).then(|| format!("PO-{seq}")),
            prev_hash: out.last().and_then(|p| p.hash.clone()),
            hash: None,
        };
        e.hash = Some(record_hash(&e));
        out.push(e);
    }
    out
}

fn csv(evs: &[Ev]) -> String {
    let mut s = HEADER.to_string();
    for e in evs {
        s += &format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            e.id,
            e.ts,
            e.sys,
            e.acc,
            e.action,
            e.outcome,
            e.target.as_deref().unwrap_or(""),
            e.seq,
            e.prev_hash.as_deref().unwrap_or(""),
            e.hash.as_deref().unwrap_or("")
        );
    }
    s
}

fn run(evs: &[Ev]) -> Vec<std::collections::BTreeMap<String, String>> {
    Fixture::new()
        .table("audit_events", &csv(evs))
        .findings("2026-11-24", "LOG_HASH_MISMATCH")
}

fn seqs(found: &[std::collections::BTreeMap<String, String>]) -> Vec<(String, String)> {
    found
        .iter()
        .map(|r| (r["system_id"].clone(), r["seq"].clone()))
        .collect()
}

#[test]
fn valid_chains_do_not_fire() {
    let mut evs = chain("pay-hk", 1, 6);
    evs.extend(chain("pay-uk", 100, 3));
    assert!(run(&evs).is_empty());
}

#[test]
fn hashes_and_links_compare_case_insensitively() {
    let mut evs = chain("pay-hk", 1, 4);
    // Upper-case stored hash, and a successor whose prev_hash is written in upper case.
    evs[1].hash = evs[1].hash.as_ref().map(|h| h.to_uppercase());
    let upper_prev = evs[1].prev_hash.as_ref().map(|h| h.to_uppercase());
    evs[1].prev_hash = upper_prev;
    // Recompute with the upper-case prev_hash as written: the payload uses it verbatim.
    evs[1].hash = Some(record_hash(&evs[1]).to_uppercase());
    evs[2].prev_hash = evs[1].hash.clone();
    evs[2].hash = Some(record_hash(&evs[2]));
    evs[3].prev_hash = evs[2].hash.clone();
    evs[3].hash = Some(record_hash(&evs[3]));
    assert!(run(&evs).is_empty());
}

#[test]
fn lowest_seq_link_is_not_checked() {
    let mut evs = chain("pay-hk", 500, 3);
    // A rotated log: the lowest loaded record points at a record that is not loaded.
    evs[0].prev_hash = Some("ab".repeat(32));
    evs[0].hash = Some(record_hash(&evs[0]));
    evs[1].prev_hash = evs[0].hash.clone();
    evs[1].hash = Some(record_hash(&evs[1]));
    evs[2].prev_hash = evs[1].hash.clone();
    evs[2].hash = Some(record_hash(&evs[2]));
    assert!(run(&evs).is_empty());
}

#[test]
fn altered_record_fails_its_own_hash_only() {
    let mut evs = chain("pay-hk", 1, 5);
    // One byte of target_id changed after hashing; its successor still links to the stored
    // hash, so only the altered record is a finding.
    evs[2].target = Some("PO-X".into());
    let found = run(&evs);
    assert_eq!(seqs(&found), vec![("pay-hk".into(), "3".into())]);
    assert_eq!(found[0]["severity"], "critical");
    assert_eq!(found[0]["jurisdiction"], "HK");
    let d = detail(&found[0]);
    assert_eq!(d["failed_checks"], serde_json::json!(["hash"]));
    assert_eq!(d["event_id"], "pay-hk-ev3");
    assert_eq!(d["found_hash"], evs[2].hash.clone().unwrap_or_default());
    assert_eq!(d["expected_hash"], record_hash(&evs[2]));
    assert_eq!(d["previous_event_id"], "pay-hk-ev2");
}

#[test]
fn forged_record_with_recomputed_hash_breaks_the_successor_link() {
    let mut evs = chain("pay-uk", 1, 5);
    evs[2].target = Some("PO-FORGED".into());
    evs[2].hash = Some(record_hash(&evs[2]));
    let found = run(&evs);
    assert_eq!(seqs(&found), vec![("pay-uk".into(), "4".into())]);
    assert_eq!(found[0]["jurisdiction"], "UK");
    let d = detail(&found[0]);
    assert_eq!(d["failed_checks"], serde_json::json!(["prev_hash"]));
    assert_eq!(
        d["expected_prev_hash"],
        evs[2].hash.clone().unwrap_or_default()
    );
    assert_eq!(
        d["found_prev_hash"],
        evs[3].prev_hash.clone().unwrap_or_default()
    );
}

#[test]
fn record_failing_both_checks_is_one_finding() {
    let mut evs = chain("pay-hk", 1, 3);
    evs[1].prev_hash = Some("00".repeat(32));
    let found = run(&evs);
    assert_eq!(seqs(&found), vec![("pay-hk".into(), "2".into())]);
    assert_eq!(
        detail(&found[0])["failed_checks"],
        serde_json::json!(["hash", "prev_hash"])
    );
}

#[test]
fn null_prev_hash_after_a_loaded_predecessor_is_a_broken_link() {
    let mut evs = chain("pay-hk", 1, 3);
    evs[1].prev_hash = None;
    evs[1].hash = Some(record_hash(&evs[1]));
    evs[2].prev_hash = evs[1].hash.clone();
    evs[2].hash = Some(record_hash(&evs[2]));
    let found = run(&evs);
    assert_eq!(seqs(&found), vec![("pay-hk".into(), "2".into())]);
    assert_eq!(
        detail(&found[0])["failed_checks"],
        serde_json::json!(["prev_hash"])
    );
}

#[test]
fn link_is_not_checked_across_a_gap_or_an_unhashed_record() {
    let mut evs = chain("pay-hk", 1, 6);
    // seq 3 deleted: seq 4 still names its hash as prev_hash.
    evs.remove(2);
    // seq 5 (now index 3) kept but without hash: seq 6 is not link-checked, even if its
    // prev_hash is wrong.
    evs[3].hash = None;
    evs[4].prev_hash = Some("11".repeat(32));
    evs[4].hash = Some(record_hash(&evs[4]));
    assert!(run(&evs).is_empty());
}

#[test]
fn duplicated_seq_is_one_finding_and_takes_no_part_in_links() {
    let mut evs = chain("pay-hk", 1, 5);
    let mut dup = evs[2].clone();
    dup.id = "pay-hk-replay".into();
    dup.target = Some("PO-INSERTED".into());
    dup.prev_hash = Some("22".repeat(32));
    dup.hash = Some(record_hash(&dup));
    evs.push(dup);
    // The successor of the duplicated seq is not link-checked even when its link is wrong.
    evs[3].prev_hash = Some("33".repeat(32));
    evs[3].hash = Some(record_hash(&evs[3]));
    evs[4].prev_hash = evs[3].hash.clone();
    evs[4].hash = Some(record_hash(&evs[4]));
    let found = run(&evs);
    assert_eq!(seqs(&found), vec![("pay-hk".into(), "3".into())]);
    let d = detail(&found[0]);
    assert_eq!(d["failed_checks"], serde_json::json!(["duplicate_seq"]));
    assert_eq!(d["records"], 2);
    let ids: Vec<&str> = d["events"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["event_id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec!["pay-hk-ev3", "pay-hk-replay"]);
}

#[test]
fn events_at_t_and_without_seq_are_ignored() {
    let mut evs = chain("pay-hk", 1, 3);
    let mut at_t = evs[2].clone();
    at_t.id = "at-t".into();
    at_t.ts = "2026-11-25T00:00:00Z".into();
    at_t.seq = 4;
    at_t.prev_hash = Some("0".repeat(64));
    at_t.hash = Some("f".repeat(64));
    evs.push(at_t);
    let mut text = csv(&evs);
    // A record with a bogus hash but no seq is outside the chain.
    text += &format!(
        "noseq,2026-11-20T00:00:00Z,pay-hk,svc,login,success,,,{},{}\n",
        "1".repeat(64),
        "2".repeat(64)
    );
    let found = Fixture::new()
        .table("audit_events", &text)
        .findings("2026-11-24", "LOG_HASH_MISMATCH");
    assert!(found.is_empty());
}
