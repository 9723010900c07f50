//! LOG_HASH_MISMATCH: audit log record fails its hash-chain check.

use polars::prelude::*;
use rayon::prelude::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::chain::critical_on_systems;
use super::table::{Detail, Subject, Table};
use super::{Freeze, RuleMeta, SeverityPolicy};
use crate::error::Result;
use crate::resolve::Ctx;
use crate::severity::Severity;

pub static META: RuleMeta = RuleMeta {
    code: "LOG_HASH_MISMATCH",
    window_rows: None,
    reads_events: true,
    title: "Audit log record fails its hash-chain check",
    fires: "events carry `hash`: for the events of one system ordered by seq, `hash` must \
           equal lowercase hex SHA-256 of `prev_hash + \"\\n\" + event_id + \"|\" + \
           system_id + \"|\" + seq + \"|\" + account_id + \"|\" + action + \"|\" + outcome + \
           \"|\" + target_id + \"|\" + ts` (null target_id as empty, seq in decimal, ts as \
           integer microseconds since the Unix epoch UTC, null prev_hash as empty), and each \
           `prev_hash` must equal the previous event's `hash` (not checked across a gap or \
           for the lowest loaded seq); one finding per event that fails either check. Uses \
           events with `ts < T`, a non-null `seq` and a non-null `hash`. Hashes compare \
           case-insensitively. The `prev_hash` link is checked only when the event with `seq \
           - 1` is loaded with a hash. Two loaded events of one system with the same `seq`, \
           both with a hash, are one finding for that seq (a replayed or forged record), and \
           neither takes part in link checks. An event failing several checks is one finding",
    key: &["system_id", "seq"],
    severity: SeverityPolicy::Fixed(Severity::Critical),
    rationale: "Each record's hash covers its content and its predecessor's hash; a record \
                whose hash does not match, whose link to its predecessor is broken, or whose \
                sequence number appears twice was altered, forged or replayed after it was \
                written, so the log cannot be relied on as evidence.",
    remediation: "Treat as a possible tampering incident: secure the original log at the \
                  source, compare the record with it, find who could write to the log store, \
                  and review the actions the affected records describe.",
    references: &["PCI DSS v4.0.1 req. 10.5.1"],
    freeze: Freeze::Never,
    sod_exceptions: false,
    table: Some(Table {
        layout: &super::log_sequence_gap::INTEGRITY,
        cells,
    }),
    summary: None,
};

fn cells(f: &dyn Subject, d: &Detail) -> Vec<String> {
    vec![
        f.system(),
        format!("hash chain: {}", d.list("failed_checks")),
        format!(
            "sequence no. {}",
            f.column("seq").unwrap_or_else(|| d.txt("seq"))
        ),
    ]
}

/// One loaded record of a chain (seq and hash present, ts before T).
struct Rec<'a> {
    event_id: &'a str,
    system_id: &'a str,
    seq: i64,
    account_id: &'a str,
    action: &'a str,
    outcome: &'a str,
    target_id: &'a str,
    ts: i64,
    prev_hash: Option<&'a str>,
    hash: &'a str,
}

impl Rec<'_> {
    /// Contract section 5: lower-case hex SHA-256 of `prev_hash "\n" event_id|system_id|seq|
    /// account_id|action|outcome|target_id|ts`, nulls as empty, ts in epoch microseconds.
    fn expected_hash(&self) -> Hex {
        let mut h = Sha256::new();
        h.update(self.prev_hash.unwrap_or("").as_bytes());
        h.update(b"\n");
        let (mut seq, mut ts) = (itoa::Buffer::new(), itoa::Buffer::new());
        let fields = [
            self.event_id,
            self.system_id,
            seq.format(self.seq),
            self.account_id,
            self.action,
            self.outcome,
            self.target_id,
            ts.format(self.ts),
        ];
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                h.update(b"|");
            }
            h.update(field.as_bytes());
        }
        let mut hex = [0; 64];
        // 32 bytes always fit 64 hex digits.
        let _ = hex::encode_to_slice(h.finalize(), &mut hex);
        Hex(hex)
    }

    fn summary(&self) -> Value {
        json!({
            "event_id": self.event_id,
            "ts": ts_rfc3339(self.ts),
            "hash": self.hash,
            "expected_hash": self.expected_hash().as_str(),
            "prev_hash": self.prev_hash,
        })
    }
}

/// A SHA-256 in lower-case hex, on the stack: most records' hashes are only compared.
struct Hex([u8; 64]);

impl Hex {
    fn as_str(&self) -> &str {
        // Hex digits are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

fn ts_rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string())
        .unwrap_or_else(|| us.to_string())
}

struct Finding {
    system_id: String,
    seq: i64,
    detail: String,
}

/// The chain columns; a record is built on demand so that memory stays flat however
/// long the history is.
struct Cols<'a> {
    event_id: &'a StringChunked,
    system_id: &'a StringChunked,
    seq: &'a Int64Chunked,
    account_id: &'a StringChunked,
    action: &'a StringChunked,
    outcome: &'a StringChunked,
    target_id: &'a StringChunked,
    ts: &'a Int64Chunked,
    prev_hash: &'a StringChunked,
    hash: &'a StringChunked,
}

impl<'a> Cols<'a> {
    fn rec(&self, i: usize) -> Option<Rec<'a>> {
        Some(Rec {
            event_id: self.event_id.get(i)?,
            system_id: self.system_id.get(i)?,
            seq: self.seq.get(i)?,
            account_id: self.account_id.get(i)?,
            action: self.action.get(i)?,
            outcome: self.outcome.get(i)?,
            target_id: self.target_id.get(i).unwrap_or(""),
            ts: self.ts.get(i)?,
            prev_hash: self.prev_hash.get(i),
            hash: self.hash.get(i)?,
        })
    }
}

/// Checks one system's records, `rows` of the frame in order of seq (then event_id).
fn check_system(cols: &Cols, rows: &[usize]) -> Vec<Finding> {
    let mut out = Vec::new();
    // The previous run of equal seq: its seq, and its record when the run is a single one
    // (a duplicated seq takes no part in link checks).
    let mut prev: Option<(i64, Option<Rec>)> = None;
    let mut i = 0;
    while i < rows.len() {
        let Some(rec) = cols.rec(rows[i]) else {
            i += 1;
            continue;
        };
        let mut run = vec![rec];
        let mut j = i + 1;
        while j < rows.len() {
            match cols.rec(rows[j]) {
                Some(r) if r.seq == run[0].seq => run.push(r),
                Some(_) => break,
                None => {}
            }
            j += 1;
        }
        i = j;
        let seq = run[0].seq;
        let finding = |rec: &Rec, detail: Value| Finding {
            system_id: rec.system_id.to_string(),
            seq: rec.seq,
            detail: detail.to_string(),
        };
        if run.len() > 1 {
            out.push(finding(
                &run[0],
                json!({
                    "failed_checks": ["duplicate_seq"],
                    "seq": seq,
                    "records": run.len(),
                    "events": run.iter().map(Rec::summary).collect::<Vec<_>>(),
                }),
            ));
            prev = Some((seq, None));
            continue;
        }
        let Some(rec) = run.pop() else { continue };
        let expected = rec.expected_hash();
        let hash_ok = rec.hash.eq_ignore_ascii_case(expected.as_str());
        // The link is checked only against a single loaded record with seq - 1: not across
        // a gap, not for the lowest seq, not from or to a duplicated seq.
        let pred = prev
            .as_ref()
            .filter(|(p, _)| seq.checked_sub(1) == Some(*p))
            .and_then(|(_, r)| r.as_ref());
        let link_ok = pred.is_none_or(|p| {
            rec.prev_hash
                .is_some_and(|ph| ph.eq_ignore_ascii_case(p.hash))
        });
        if !(hash_ok && link_ok) {
            let mut failed = Vec::new();
            if !hash_ok {
                failed.push("hash");
            }
            if !link_ok {
                failed.push("prev_hash");
            }
            out.push(finding(
                &rec,
                json!({
                    "failed_checks": failed,
                    "event_id": rec.event_id,
                    "ts": ts_rfc3339(rec.ts),
                    "expected_hash": expected.as_str(),
                    "found_hash": rec.hash,
                    "expected_prev_hash": pred.map(|p| p.hash),
                    "found_prev_hash": rec.prev_hash,
                    "previous_event_id": pred.map(|p| p.event_id),
                }),
            ));
        }
        prev = Some((seq, Some(rec)));
    }
    out
}

/// Per system, ordered by seq: each record's hash must match its content and its
/// `prev_hash` must equal the hash of the record with `seq - 1`; a seq held by two or more
/// hashed records is one finding. Events before T with non-null seq and hash only.
///
/// The records come as digests ([`crate::resolve::LogChains`]): systems whose partitions
/// overlap in seq are checked on all their records; for the others, each partition's own
/// findings were computed when it was digested ([`check`] on the partition alone), except
/// at its lowest hashed seq, whose predecessor may sit in another partition: those are
/// checked here on the partitions' edge records, which hold every record they need.
pub fn evaluate(ctx: &Ctx) -> Result<DataFrame> {
    let chains = &ctx.log_chains;
    let at_starts = check(chains.edges.clone().lazy())?.lazy().join(
        chains.hash_starts.clone().lazy(),
        [col("system_id"), col("seq")],
        [col("system_id"), col("seq")],
        JoinArgs::new(JoinType::Semi),
    );
    critical_on_systems(
        vec![
            check(chains.raw.clone().lazy())?.lazy(),
            at_starts,
            chains.hash_local.clone().lazy(),
        ],
        ctx,
    )
}

/// The findings among `records` taken on their own: `system_id, seq, detail`.
pub fn check(records: LazyFrame) -> Result<DataFrame> {
    let mut df = records
        .filter(col("seq").is_not_null().and(col("hash").is_not_null()))
        .select([
            col("event_id"),
            col("system_id"),
            col("seq"),
            col("account_id"),
            col("action"),
            col("outcome"),
            col("target_id"),
            col("ts"),
            col("prev_hash"),
            col("hash"),
        ])
        .collect()?;
    df.rechunk_mut();
    let cols = Cols {
        event_id: df.column("event_id")?.str()?,
        system_id: df.column("system_id")?.str()?,
        seq: df.column("seq")?.i64()?,
        account_id: df.column("account_id")?.str()?,
        action: df.column("action")?.str()?,
        outcome: df.column("outcome")?.str()?,
        target_id: df.column("target_id")?.str()?,
        ts: df.column("ts")?.i64()?,
        prev_hash: df.column("prev_hash")?.str()?,
        hash: df.column("hash")?.str()?,
    };
    let by_event_id = |a: usize, b: usize| cols.event_id.get(a).cmp(&cols.event_id.get(b));
    let chains = super::chain::chains(cols.system_id, cols.seq, by_event_id);
    let findings: Vec<Finding> = chains
        .par_iter()
        .flat_map_iter(|(_, rows)| check_system(&cols, rows))
        .collect();

    let frame = df!(
        "system_id" => findings.iter().map(|f| f.system_id.as_str()).collect::<Vec<_>>(),
        "seq" => findings.iter().map(|f| f.seq).collect::<Vec<_>>(),
        "detail" => findings.iter().map(|f| f.detail.as_str()).collect::<Vec<_>>(),
    )?;
    Ok(frame)
}
