//! FREEZE_NOT_APPLIED: the series of earlier freeze lists (restart on a run that does not
//! list the account, or whose list is unreadable), the SLA boundary, and runs in one OUT on
//! the sample (a rerun of an earlier date gives the same bytes; a tampered list is named in
//! the log).

use std::collections::BTreeMap;

use permaudit::resolve::{EarlierFreezeList, Remediation};

use crate::common::*;

const RULE: &str = "FREEZE_NOT_APPLIED";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,a1,,active\n\
pay-hk,a2,,active\n\
pay-hk,a3,,active\n\
pay-hk,a-off,,disabled\n\
pay-uk,a1,,active\n";

fn list(as_of: &str, accounts: Option<&[&str]>) -> EarlierFreezeList {
    EarlierFreezeList {
        as_of: date(as_of),
        accounts: accounts.map(|a| {
            a.iter()
                .map(|k| {
                    let (s, acc) = k.split_once(':').expect("system:account");
                    ((s.to_string(), acc.to_string()), format!("f-{as_of}-{acc}"))
                })
                .collect()
        }),
    }
}

// as_of 2026-11-24: T = 2026-11-25T00:00Z; 24 hours before T is the instant of 2026-11-23.
fn found(lists: Vec<EarlierFreezeList>) -> BTreeMap<String, BTreeMap<String, String>> {
    let f = Fixture::new().table("accounts", ACCOUNTS);
    let remediation = Remediation {
        revocations: vec![],
        freeze_lists: lists,
    };
    let a = f
        .analyze_remediated("2026-11-24", remediation)
        .expect("analysis");
    rows(&a.findings, RULE)
        .into_iter()
        .map(|r| (format!("{}:{}", r["system_id"], r["account_id"]), r))
        .collect()
}

#[test]
fn series_restarts_and_the_sla_boundary() {
    let found = found(vec![
        list("2026-11-20", Some(&["pay-hk:a1", "pay-hk:a2"])),
        list("2026-11-21", Some(&["pay-hk:a1"])),
        list("2026-11-22", Some(&["pay-hk:a1", "pay-hk:a2"])),
        list(
            "2026-11-23",
            Some(&[
                "pay-hk:a1",
                "pay-hk:a2",
                "pay-hk:a3",
                "pay-hk:a-off",
                "pay-uk:a1",
            ]),
        ),
    ]);
    // a3 was first listed by the run of 2026-11-23, whose instant is exactly 24 hours
    // before T: not yet overdue. a-off is disabled. pay-uk:a1 likewise listed last run only.
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        vec!["pay-hk:a1", "pay-hk:a2"]
    );
    let a1 = &found["pay-hk:a1"];
    assert_eq!(a1["severity"], "critical");
    assert_eq!(a1["jurisdiction"], "HK");
    let d = detail(a1);
    assert_eq!(d["listed_since"], "2026-11-20");
    assert_eq!(d["listed_since_evaluation_instant"], "2026-11-21T00:00:00Z");
    assert_eq!(d["runs_listed"], 4);
    assert_eq!(d["listed_for_findings"], "f-2026-11-20-a1");
    assert_eq!(d["freeze_sla_hours"], 24);
    assert_eq!(d["hours_overdue"], 72);
    // Listed, not listed, listed again: the count starts again at the re-listing.
    let d = detail(&found["pay-hk:a2"]);
    assert_eq!(d["listed_since"], "2026-11-22");
    assert_eq!(d["runs_listed"], 2);
    assert_eq!(d["hours_overdue"], 24);
}

#[test]
fn an_unreadable_list_breaks_the_series_and_is_never_guessed() {
    // The run of 2026-11-21 cannot be read: a1 counts from 2026-11-22 only.
    let found1 = found(vec![
        list("2026-11-20", Some(&["pay-hk:a1"])),
        list("2026-11-21", None),
        list("2026-11-22", Some(&["pay-hk:a1"])),
        list("2026-11-23", Some(&["pay-hk:a1"])),
    ]);
    assert_eq!(detail(&found1["pay-hk:a1"])["listed_since"], "2026-11-22");
    // The latest earlier list unreadable: nobody is known to be listed now.
    assert!(found(vec![
        list("2026-11-22", Some(&["pay-hk:a1"])),
        list("2026-11-23", None),
    ])
    .is_empty());
    // A run that no longer lists the account withdrew the freeze.
    assert!(found(vec![
        list("2026-11-20", Some(&["pay-hk:a1"])),
        list("2026-11-23", Some(&["pay-hk:a2"])),
    ])
    .keys()
    .all(|k| k != "pay-hk:a1"));
}

#[test]
fn runs_in_one_out_and_a_rerun_gives_the_same_bytes() {
    let (dir, cfg) = sample_copy("");
    let out = dir.path().join("out");
    let run = |as_of: &str| {
        let o = run_in(dir.path(), &cfg, &["--as-of", as_of]);
        assert!(
            matches!(o.status.code(), Some(0) | Some(1)),
            "{as_of}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let findings = |as_of: &str| {
        let mut r = csv::Reader::from_path(out.join(as_of).join("findings.csv")).expect("csv");
        r.deserialize::<BTreeMap<String, String>>()
            .map(|x| x.expect("row"))
            .filter(|r| r["rule"] == RULE)
            .collect::<Vec<_>>()
    };
    run("2026-11-24");
    let listed = std::fs::read_to_string(out.join("2026-11-24/freeze_list.csv")).expect("list");
    assert!(listed.lines().count() > 1, "the sample freezes accounts");
    // 2026-11-25: the run of 2026-11-24 is exactly 24 hours before T.
    run("2026-11-25");
    assert!(findings("2026-11-25").is_empty());
    let before = files(&out.join("2026-11-25"));
    run("2026-11-26");
    let late = findings("2026-11-26");
    assert!(!late.is_empty());
    for f in &late {
        let d: serde_json::Value = serde_json::from_str(&f["detail"]).expect("detail");
        assert_eq!(d["listed_since"], "2026-11-24");
        assert_eq!(d["hours_overdue"], 24);
    }
    // Still to freeze: the accounts stay on the list.
    let list26 = std::fs::read_to_string(out.join("2026-11-26/freeze_list.csv")).expect("list");
    assert!(list26.contains(RULE));
    // The rerun of an earlier date, with a later run in OUT, gives the same bytes.
    run("2026-11-25");
    assert_eq!(files(&out.join("2026-11-25")), before);
    // A freeze list edited after its run no longer matches its manifest: said in the log,
    // and its run no longer counts, so the series starts with 2026-11-25 (not yet due).
    std::fs::write(out.join("2026-11-24/freeze_list.csv"), "edited\n").expect("edit");
    let log = run("2026-11-26");
    assert!(
        log.contains("freeze list of an earlier run unreadable"),
        "{log}"
    );
    assert!(findings("2026-11-26").is_empty());
    // The reports say so, and the freeze list's series starts after the unusable run.
    for j in ["HK", "SG"] {
        let md = std::fs::read_to_string(out.join("2026-11-26").join(j).join("report.md"))
            .expect("report");
        assert!(
            md.contains("The freeze lists of the runs of 2026-11-24 are missing, unreadable"),
            "{j}"
        );
    }
    let list26 = std::fs::read_to_string(out.join("2026-11-26/freeze_list.csv")).expect("list");
    assert!(
        list26.contains(",2026-11-25\n") && !list26.contains("2026-11-24"),
        "{list26}"
    );
}
