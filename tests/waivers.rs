//! Waivers (CONTRACT section 8): row checks, scope, validity at T, the status and evidence
//! they give a finding, precedence of SoD exceptions, OCSF and the report's section.

use std::collections::BTreeMap;

use crate::common::*;

// as_of 2026-11-24 -> T = 2026-11-25T00:00:00Z.
const AS_OF: &str = "2026-11-24";
const T: &str = "2026-11-25T00:00:00Z";

/// alice and bob left long ago and still hold accounts (TERMINATED_ACCESS fires for
/// a-alice, a-alice-uk and a-bob); the others can approve, or cannot for the reason their
/// name gives.
const IDS: &str = "identity_id,status,terminated_at\n\
alice,terminated,2026-06-01T00:00:00Z\n\
bob,terminated,2026-06-01T00:00:00Z\n\
mgr,active,\n\
mgr2,active,\n\
onleave,leave,\n\
gone,terminated,2026-11-24T12:00:00Z\n\
leaving,terminated,2026-11-25T00:00:00Z\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,a-alice,alice,active\n\
pay-uk,a-alice-uk,alice,active\n\
pay-hk,a-bob,bob,active\n";

const HEADER: &str = "waiver_id,rule,identity_id,system_id,account_id,grant_id,entitlement_id,\
sod_rule_id,target_id,approved_by,approved_at,expires_at,reason,ticket\n";

const RULE: &str = "TERMINATED_ACCESS";

fn fixture(waivers: &str) -> Fixture {
    Fixture::new()
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("waivers", &format!("{HEADER}{waivers}"))
}

/// Findings of the rule by account id.
fn by_account(f: &Fixture) -> BTreeMap<String, BTreeMap<String, String>> {
    f.findings(AS_OF, RULE)
        .into_iter()
        .map(|r| (r["account_id"].clone(), r))
        .collect()
}

/// (status, named waiver id, why it is not valid) of the finding of one account.
fn state(
    found: &BTreeMap<String, BTreeMap<String, String>>,
    account: &str,
) -> (String, String, String) {
    let r = &found[account];
    let w = &detail(r)["waiver"];
    (
        r["status"].clone(),
        w["waiver_id"].as_str().unwrap_or("").to_string(),
        w["not_valid_because"].as_str().unwrap_or("").to_string(),
    )
}

fn s(status: &str, waiver: &str, why: &str) -> (String, String, String) {
    (status.into(), waiver.into(), why.into())
}

#[test]
fn valid_waiver_waives_and_keeps_the_finding_id() {
    let plain = by_account(&fixture(""));
    let f = fixture(&format!(
        "w1,{RULE},,pay-hk,a-alice,,,,,mgr,2026-11-01T00:00:00Z,2027-03-01T00:00:00Z,decommission in Q1,CHG-1\n"
    ));
    let found = by_account(&f);
    assert_eq!(state(&found, "a-alice"), s("waived", "w1", ""));
    let w = &detail(&found["a-alice"])["waiver"];
    assert_eq!(w["valid"], true);
    assert_eq!(w["blanket"], false);
    assert_eq!(w["scope"]["account_id"], "a-alice");
    assert_eq!(w["approved_by"], "mgr");
    assert_eq!(w["expires_at"], "2027-03-01T00:00:00Z");
    assert_eq!(w["reason"], "decommission in Q1");
    assert_eq!(w["ticket"], "CHG-1");
    // The rule's own evidence is still there, before the waiver.
    assert_eq!(
        detail(&found["a-alice"])["terminated_at"],
        "2026-06-01T00:00:00Z"
    );
    // Not covered: no waiver named, status untouched.
    assert_eq!(state(&found, "a-bob"), s("open", "", ""));
    assert!(detail(&found["a-bob"]).get("waiver").is_none());
    // Same findings, same ids, same order.
    let ids = |m: &BTreeMap<String, BTreeMap<String, String>>| {
        m.values()
            .map(|r| r["finding_id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&plain), ids(&found));
}

#[test]
fn expiry_at_t_is_valid_a_second_before_is_not() {
    let f = fixture(&format!(
        "w-at-t,{RULE},,,a-alice,,,,,mgr,2026-11-01T00:00:00Z,{T},r,\n\
         w-before,{RULE},,,a-bob,,,,,mgr,2026-11-01T00:00:00Z,2026-11-24T23:59:59Z,r,\n"
    ));
    let found = by_account(&f);
    assert_eq!(state(&found, "a-alice"), s("waived", "w-at-t", ""));
    assert_eq!(state(&found, "a-bob"), s("open", "w-before", "expired"));
}

#[test]
fn approval_at_t_is_not_yet_valid() {
    let f = fixture(&format!(
        "w-at-t,{RULE},,,a-alice,,,,,mgr,{T},2027-01-01T00:00:00Z,r,\n\
         w-just-before,{RULE},,,a-bob,,,,,mgr,2026-11-24T23:59:59Z,2027-01-01T00:00:00Z,r,\n"
    ));
    let found = by_account(&f);
    assert_eq!(
        state(&found, "a-alice"),
        s("open", "w-at-t", "not yet approved at T")
    );
    assert_eq!(state(&found, "a-bob"), s("waived", "w-just-before", ""));
}

#[test]
fn approver_must_be_active_at_t() {
    let f = fixture(&format!(
        "w-gone,{RULE},,,a-alice,,,,,gone,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,r,\n\
         w-leave,{RULE},,,a-alice-uk,,,,,onleave,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,r,\n\
         w-later,{RULE},,,a-bob,,,,,leaving,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,r,\n"
    ));
    let found = by_account(&f);
    // Terminated before T.
    assert_eq!(
        state(&found, "a-alice"),
        s("open", "w-gone", "approver not active at T")
    );
    // On leave: nobody answers for the risk while away.
    assert_eq!(
        state(&found, "a-alice-uk"),
        s("open", "w-leave", "approver not active at T")
    );
    // Terminated at T per a later snapshot: still there at T.
    assert_eq!(state(&found, "a-bob"), s("waived", "w-later", ""));

    let unknown = fixture(&format!(
        "w-who,{RULE},,,a-bob,,,,,nobody,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,r,\n"
    ));
    assert_eq!(
        state(&by_account(&unknown), "a-bob"),
        s("open", "w-who", "approver unknown")
    );
}

#[test]
fn self_approved_waiver_is_not_valid_for_its_approver() {
    // alice approved before she left: her own findings are self-approved (and she is gone).
    let f = fixture(&format!(
        "w-self,{RULE},alice,,,,,,,alice,2026-05-01T00:00:00Z,2027-01-01T00:00:00Z,r,\n"
    ));
    let found = by_account(&f);
    assert_eq!(
        state(&found, "a-alice"),
        s("open", "w-self", "approver not active at T, self-approved")
    );
    assert_eq!(state(&found, "a-bob"), s("open", "", ""));
}

#[test]
fn blanket_waiver_covers_every_finding_of_its_rule_only() {
    let f = fixture(&format!(
        "w-all,{RULE},,,,,,,,mgr,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,accepted for the migration,\n\
         w-other,ORPHAN_ACCOUNT,,,,,,,,mgr,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,r,\n"
    ));
    let found = by_account(&f);
    for a in ["a-alice", "a-alice-uk", "a-bob"] {
        assert_eq!(state(&found, a), s("waived", "w-all", ""), "{a}");
        assert_eq!(detail(&found[a])["waiver"]["blanket"], true);
    }
}

#[test]
fn scope_must_match_every_column_it_sets() {
    // w-sys: right account, wrong system. w-grant: a column this rule's findings do not
    // have, so it covers nothing. w-id: identity and system, both matching.
    let f = fixture(&format!(
        "w-sys,{RULE},,pay-uk,a-alice,,,,,mgr,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,r,\n\
         w-grant,{RULE},,,a-bob,g1,,,,mgr,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,r,\n\
         w-id,{RULE},alice,pay-uk,,,,,,mgr,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,r,\n"
    ));
    let found = by_account(&f);
    assert_eq!(state(&found, "a-alice"), s("open", "", ""));
    assert_eq!(state(&found, "a-bob"), s("open", "", ""));
    assert_eq!(state(&found, "a-alice-uk"), s("waived", "w-id", ""));
}

#[test]
fn invalid_waivers_name_the_latest_expired_then_the_self_approved() {
    let f = Fixture::new()
        .table("identities", "identity_id,status,terminated_at\nalice,terminated,2026-06-01T00:00:00Z\nmgr,active,\n")
        .table("accounts", "system_id,account_id,identity_id,status\npay-hk,a-alice,alice,active\n")
        .table(
            "waivers",
            &format!(
                "{HEADER}w-old,{RULE},,,a-alice,,,,,mgr,2026-01-01T00:00:00Z,2026-03-01T00:00:00Z,r,\n\
                 w-recent,{RULE},,,a-alice,,,,,mgr,2026-03-01T00:00:00Z,2026-11-01T00:00:00Z,r,\n\
                 w-self,{RULE},,,a-alice,,,,,alice,2026-05-01T00:00:00Z,2027-01-01T00:00:00Z,r,\n\
                 w-soon,{RULE},,,a-alice,,,,,mgr,2026-11-26T00:00:00Z,2027-01-01T00:00:00Z,r,\n"
            ),
        );
    let found = by_account(&f);
    assert_eq!(state(&found, "a-alice"), s("open", "w-recent", "expired"));
}

#[test]
fn a_valid_waiver_wins_over_invalid_ones_and_the_longest_is_named() {
    let f = fixture(&format!(
        "w-exp,{RULE},,,a-alice,,,,,mgr,2026-01-01T00:00:00Z,2026-03-01T00:00:00Z,r,\n\
         w-short,{RULE},,,a-alice,,,,,mgr,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,r,\n\
         w-long,{RULE},,,a-alice,,,,,mgr2,2026-11-01T00:00:00Z,2027-06-01T00:00:00Z,r,\n"
    ));
    assert_eq!(state(&by_account(&f), "a-alice"), s("waived", "w-long", ""));
}

/// Two identities holding both sides of a global SoD rule: SOD_CONFLICT fires for each.
fn sod_fixture(exceptions: &str, waivers: &str) -> Fixture {
    let sod = "[[rule]]\nid = \"SOD-G\"\nname = \"Beneficiaries vs payouts\"\nkind = \"static\"\n\
               risk = \"high\"\nscope = \"global\"\n\
               [[rule.function]]\nname = \"Maintain\"\npermissions = [\"*:ben.edit\"]\n\
               [[rule.function]]\nname = \"Release\"\npermissions = [\"*:pay.release\"]\n";
    let mut grants = String::from("grant_id,system_id,account_id,entitlement_id,granted_at\n");
    for a in ["a1", "b1", "c1"] {
        grants.push_str(&format!(
            "{a}-1,pay-hk,{a},ben.edit,2026-01-01T00:00:00Z\n{a}-2,pay-hk,{a},pay.release,2026-01-01T00:00:00Z\n"
        ));
    }
    Fixture::new()
        .table("identities", "identity_id,status\nalice,active\nbob,active\ncarol,active\nmgr,active\n")
        .table(
            "entitlements",
            "system_id,entitlement_id,kind,risk\npay-hk,ben.edit,permission,high\npay-hk,pay.release,permission,high\n",
        )
        .table(
            "accounts",
            "system_id,account_id,identity_id,status\npay-hk,a1,alice,active\npay-hk,b1,bob,active\npay-hk,c1,carol,active\n",
        )
        .table("grants", &grants)
        .table(
            "exceptions",
            &format!("exception_id,sod_rule_id,identity_id,approved_by,approved_at,expires_at,control\n{exceptions}"),
        )
        .table("waivers", &format!("{HEADER}{waivers}"))
        .policy("sod_rules", sod)
}

#[test]
fn sod_exception_takes_precedence_and_blanket_is_self_approved_for_its_approver() {
    let f = sod_fixture(
        "x-bob,SOD-G,bob,mgr,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,daily review\n",
        "w-sod,SOD_CONFLICT,,,,,,,,alice,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,accepted,\n",
    );
    let found: BTreeMap<String, BTreeMap<String, String>> = f
        .findings(AS_OF, "SOD_CONFLICT")
        .into_iter()
        .map(|r| (r["identity_id"].clone(), r))
        .collect();
    // A blanket waiver approved by alice does not cover alice's own conflict.
    assert_eq!(state(&found, "alice"), s("open", "w-sod", "self-approved"));
    // bob's exception mitigates; the waiver is named but does not change the status.
    assert_eq!(state(&found, "bob"), s("mitigated", "w-sod", ""));
    assert_eq!(detail(&found["bob"])["exception"]["exception_id"], "x-bob");
    assert_eq!(state(&found, "carol"), s("waived", "w-sod", ""));
}

#[test]
fn bad_rows_are_quarantined_with_a_clear_reason() {
    let f = fixture(&format!(
        "ok-365,{RULE},,,a-alice,,,,,mgr,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,exactly 365 days,\n\
         long,{RULE},,,a-alice,,,,,mgr,2026-01-01T00:00:00Z,2027-01-01T00:00:01Z,r,\n\
         unknown,NO_SUCH_RULE,,,a-alice,,,,,mgr,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,r,\n\
         noreason,{RULE},,,a-alice,,,,,mgr,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,,\n\
         ok-365,{RULE},,,a-bob,,,,,mgr,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,dup,\n\
         noapprover,{RULE},,,a-bob,,,,,,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,r,\n"
    ));
    let a = f.analyze(AS_OF).expect("analysis");
    let q: Vec<(u64, &str)> = a
        .ingest
        .quarantine
        .iter()
        .filter(|q| q.table == "waivers")
        .map(|q| (q.line, q.reason.as_str()))
        .collect();
    assert_eq!(
        q,
        vec![
            (3, "waiver longer than 365 days (expires_at more than 365 days after approved_at)"),
            (4, "unknown rule (\"NO_SUCH_RULE\")"),
            (5, "missing required value in column reason"),
            (6, "duplicate primary key (waiver_id = \"ok-365\"), first loaded from waivers.csv line 2"),
            (7, "missing required value in column approved_by"),
        ]
    );
    let acc = a
        .ingest
        .accounts
        .iter()
        .find(|t| t.table == "waivers")
        .expect("accounted");
    assert_eq!(
        (acc.rows_read, acc.rows_loaded, acc.rows_quarantined),
        (6, 1, 5)
    );
    let found = rows(&a.findings, RULE);
    let alice = found
        .iter()
        .find(|r| r["account_id"] == "a-alice")
        .expect("a-alice");
    assert_eq!(alice["status"], "waived");
}

#[test]
fn no_waivers_table_is_fine() {
    // The fixture writes a header-only file; here the file is absent altogether.
    let f = fixture("");
    f.write();
    std::fs::remove_file(f.input_dir().join("waivers.csv")).expect("rm");
    let input_dir = f.input_dir();
    let policy_dir = f.policy_dir();
    let inputs = permaudit::pipeline::Inputs {
        input_dir: &input_dir,
        policy_dir: &policy_dir,
        naive_tz: None,
        lookback_days: 30,
        sources: Default::default(),
    };
    let a = permaudit::pipeline::analyze(&inputs, date(AS_OF)).expect("analysis");
    assert_eq!(rows(&a.findings, RULE).len(), 3);
}

/// A full run of a fixture: the HK report (HTML, Markdown), the HK OCSF records and
/// summary.
fn run(f: &Fixture) -> (String, String, serde_json::Value, serde_json::Value) {
    f.write();
    let cfg = f.dir.path().join("permaudit.toml");
    std::fs::write(
        &cfg,
        format!("input_dir = \"input\"\npolicy_dir = \"policy\"\nout_dir = \"out\"\nas_of = \"{AS_OF}\"\n"),
    )
    .expect("config");
    let out = run_in(f.dir.path(), &cfg, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hk = f.dir.path().join("out").join(AS_OF).join("HK");
    let read = |n: &str| std::fs::read_to_string(hk.join(n)).expect("read");
    (
        read("report.html"),
        read("report.md"),
        serde_json::from_str(&read("findings.ocsf.json")).expect("ocsf"),
        serde_json::from_str(&read("summary.json")).expect("summary"),
    )
}

#[test]
fn ocsf_report_and_summary_show_waived_findings() {
    let f = fixture(&format!(
        "w-valid,{RULE},,pay-hk,a-alice,,,,,mgr,2026-11-01T00:00:00Z,2027-06-01T00:00:00Z,decommission pending,CHG-7\n\
         w-soon,{RULE},,,a-bob,,,,,mgr,2026-11-01T00:00:00Z,2026-12-10T00:00:00Z,until the audit,\n\
         w-blanket,ORPHAN_ACCOUNT,,,,,,,,mgr,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,orphans accepted,\n\
         w-expired,{RULE},,pay-hk,,,,,,mgr,2026-01-01T00:00:00Z,2026-11-01T00:00:00Z,old,\n\
         w-gone,{RULE},,pay-hk,,,,,,gone,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,approver left,\n\
         w-uk,{RULE},,pay-uk,,,,,,mgr,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,uk only,\n"
    ));
    let (html, md, ocsf, summary) = run(&f);

    let records = ocsf.as_array().expect("array");
    let rec = |account: &str| {
        records
            .iter()
            .find(|r| {
                r["resources"]
                    .as_array()
                    .is_some_and(|rs| rs.iter().any(|x| x["name"] == account))
            })
            .expect("record")
    };
    assert_eq!(rec("a-alice")["status_id"], 3);
    assert_eq!(rec("a-alice")["status"], "Suppressed");
    assert_eq!(
        rec("a-alice")["compliance"]["status_detail"],
        "waived: accepted risk under waiver w-valid"
    );
    assert_eq!(
        rec("a-alice")["unmapped"]["evidence"]["waiver"]["waiver_id"],
        "w-valid"
    );
    assert_eq!(rec("a-bob")["status_id"], 3);

    assert_eq!(summary["by_status"]["waived"], 2, "{summary}");

    // Section and its lists.
    let section = html
        .split("<h2 id=\"waivers\">4. Waivers</h2>")
        .nth(1)
        .and_then(|s| s.split("<h2 ").next())
        .expect("waivers section");
    for s in [
        "2 finding(s) of this jurisdiction are waived",
        "In force (2)",
        "Expiring within 30 days (1)",
        "Blanket waivers (every finding of their rule) (1)",
        "blanket: every finding of the rule",
        "Not valid, and why (2)",
        "expired (24 day(s) ago)",
        "approver not active at T",
        "decommission pending",
        "CHG-7",
        "system_id = pay-hk, account_id = a-alice",
    ] {
        assert!(
            section.contains(s),
            "waivers section lacks {s:?}:\n{section}"
        );
    }
    // The UK-only waiver concerns no HK system nor finding.
    assert!(!section.contains("w-uk"), "{section}");
    // Waived findings are shown, marked as such.
    assert!(html.contains("<span class=\"tag\">waived</span>"));
    assert!(html.contains("2 finding(s) are waived"));
    assert!(md.contains("## 4. Waivers"));
    assert!(md.contains("| w-valid | TERMINATED\\_ACCESS |"), "{md}");
    assert!(md.contains(" · waived"));
}

#[test]
fn sample_with_waivers_incremental_equals_full() {
    // The sample holds one waiver of each kind. A nightly series that reuses stored
    // digests and one that recomputes everything write the same bytes.
    let (dir, cfg) = sample_copy("");
    let series = |out: &str, full: bool| {
        for day in ["2026-11-23", AS_OF] {
            let mut args = vec!["--as-of", day, "--out", out];
            if full {
                args.push("--full");
            }
            let o = run_in(dir.path(), &cfg, &args);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    };
    series("nightly", false);
    series("full", true);
    let a = files(&dir.path().join("nightly").join(AS_OF));
    let b = files(&dir.path().join("full").join(AS_OF));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(
            v == &b[k],
            "{} differs between nightly and --full",
            k.display()
        );
    }
    let findings = String::from_utf8_lossy(&a[std::path::Path::new("findings.csv")]).into_owned();
    assert_eq!(findings.matches(",waived,").count(), 7, "{findings}");
}
