//! Property: the order of input rows (without duplicate keys) changes no finding, not even
//! its evidence.

use crate::common;

use std::path::Path;

use permaudit::pipeline::{analyze, Inputs};
use proptest::prelude::*;

const AS_OF: &str = "2026-11-24";

fn run(input: &Path) -> polars::prelude::DataFrame {
    let inputs = Inputs {
        input_dir: input,
        policy_dir: Path::new("data/sample/policy"),
        naive_tz: None,
        lookback_days: 30,
        sources: Default::default(),
    };
    analyze(&inputs, common::date(AS_OF))
        .expect("analysis")
        .findings
}

/// Writes the sample's tables with their data rows permuted by `seed`.
fn shuffled_copy(seed: u64, dir: &Path) {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for e in std::fs::read_dir("data/sample/input").expect("sample") {
        let path = e.expect("entry").path();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(&path)
            .expect("csv");
        let header = rdr.headers().expect("header").clone();
        let mut rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("row")).collect();
        for i in (1..rows.len()).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            rows.swap(i, j);
        }
        let mut w =
            csv::Writer::from_path(dir.join(path.file_name().expect("name"))).expect("writer");
        w.write_record(&header).expect("header");
        for r in rows {
            w.write_record(&r).expect("row");
        }
        w.flush().expect("flush");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]
    #[test]
    fn row_order_changes_no_finding(seed in any::<u64>()) {
        let reference = run(Path::new("data/sample/input"));
        let dir = tempfile::tempdir().expect("tempdir");
        shuffled_copy(seed, dir.path());
        let shuffled = run(dir.path());
        prop_assert!(reference.equals_missing(&shuffled), "findings differ for seed {seed}");
    }
}
