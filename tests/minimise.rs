//! Cross-border data minimisation (CONTRACT section 8), attacked from the regulator's side:
//! a jurisdiction's outputs must not carry the identifiers, names, e-mail addresses or
//! foreign accounts of people whose home is another jurisdiction, while the operator's
//! top-level findings keep them. Homes, the policy key and the key file are checked too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use permaudit::hash::SecretKey;
use permaudit::minimise::pseudonym;
use permaudit::policy::Policy;
use polars::prelude::*;

use crate::common::*;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

/// Lieselotte (EU-7731) works in the EU: two grants on pay-eu, one on pay-hk. Joanna
/// (HK-2040) works in Hong Kong with an account on pay-eu too. Both hold edit on pay-eu and
/// view on pay-hk, which a global SoD rule forbids: each gets a finding in HK and in EU,
/// whose detail lists the accounts of both systems. Hank (HK-0001), an HK admin, granted
/// everything. Nobody (X-0404) has no grant at all.
const JURISDICTIONS: &str = r#"
[[jurisdiction]]
code = "EU"
name = "European Union"
timezone = "Europe/Berlin"
SHARE

[[jurisdiction]]
code = "HK"
name = "Hong Kong"
timezone = "Asia/Hong_Kong"
"#;

const SYSTEMS: &str =
    "system_id,name,jurisdiction\npay-hk,Payout console HK,HK\npay-eu,Payout console EU,EU\n";

const IDENTITIES: &str = "identity_id,display_name,email,status\n\
EU-7731,Lieselotte Brandauer,l.brandauer@eu.example,active\n\
HK-2040,Joanna Ann,joanna.ann@hk.example,active\n\
HK-0001,Hank Admin,hank@hk.example,active\n\
X-0404,Nobody Ungranted,nobody@example,active\n";

/// Lieselotte's pay-eu account is `ann`: a substring of Joanna's `joanna`, which HK shows.
const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-eu,ann,EU-7731,active\n\
pay-hk,lbrandauer.hk,EU-7731,active\n\
pay-eu,joanna,HK-2040,active\n\
pay-hk,joanna,HK-2040,active\n\
pay-hk,hank,HK-0001,active\n";

const ENTITLEMENTS: &str = "system_id,entitlement_id,kind,risk\n\
pay-eu,eu.edit,permission,low\n\
pay-eu,eu.view,permission,low\n\
pay-hk,hk.view,permission,low\n\
pay-hk,hk.report,permission,low\n";

const GRANTS: &str =
    "grant_id,system_id,account_id,entitlement_id,granted_at,granted_by,approved_by\n\
G1,pay-eu,ann,eu.edit,2026-01-01T00:00:00Z,HK-0001,HK-0001\n\
G2,pay-eu,ann,eu.view,2026-01-01T00:00:00Z,HK-0001,HK-0001\n\
G3,pay-hk,lbrandauer.hk,hk.view,2026-01-01T00:00:00Z,HK-0001,HK-0001\n\
G4,pay-eu,joanna,eu.edit,2026-01-01T00:00:00Z,HK-0001,HK-0001\n\
G5,pay-hk,joanna,hk.view,2026-01-01T00:00:00Z,HK-0001,HK-0001\n\
G6,pay-hk,joanna,hk.report,2026-01-01T00:00:00Z,HK-0001,HK-0001\n\
G7,pay-hk,hank,hk.view,2026-01-01T00:00:00Z,,\n";

const SOD: &str = r#"
[[rule]]
id = "SOD-X"
name = "Edit EU payouts vs view HK payouts"
kind = "static"
risk = "high"
scope = "global"
[[rule.function]]
name = "Edit"
permissions = ["pay-eu:eu.edit"]
[[rule.function]]
name = "View"
permissions = ["pay-hk:hk.view"]
"#;

/// The EU person's values that HK must never show, as they would be written.
const EU_VALUES: [&str; 4] = [
    "EU-7731",
    "Lieselotte Brandauer",
    "l.brandauer@eu.example",
    "Lieselotte",
];

/// A fixture on disk with a configuration; `share` is EU's `share_personal_data_with`
/// line, `key` the key file's bytes (None: no `pseudonym_key`).
fn setup(share: &str, key: Option<&[u8]>) -> (Fixture, PathBuf) {
    let f = Fixture::new()
        .table("systems", SYSTEMS)
        .table("identities", IDENTITIES)
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTITLEMENTS)
        .table("grants", GRANTS)
        .policy("jurisdictions", &JURISDICTIONS.replace("SHARE", share))
        .policy("sod_rules", SOD);
    f.write();
    let mut cfg = String::from(
        "input_dir = \"input\"\npolicy_dir = \"policy\"\nout_dir = \"out\"\nas_of = \"2026-11-24\"\n",
    );
    if let Some(k) = key {
        std::fs::write(f.dir.path().join("pseudonym.key"), k).expect("key");
        cfg.push_str("pseudonym_key = \"pseudonym.key\"\n");
    }
    let path = f.dir.path().join("permaudit.toml");
    std::fs::write(&path, cfg).expect("config");
    (f, path)
}

fn run_ok(f: &Fixture, cfg: &Path) -> std::process::Output {
    let out = run_in(f.dir.path(), cfg, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn run_dir(f: &Fixture) -> PathBuf {
    f.dir.path().join("out/2026-11-24")
}

fn text(path: &Path) -> String {
    String::from_utf8(std::fs::read(path).expect("read")).expect("utf-8")
}

/// Every string value of a JSON document, at any depth.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Every cell of a CSV file, with the strings of any JSON cell (the `detail`).
fn csv_values(path: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut rdr = csv::Reader::from_path(path).expect("csv");
    for r in rdr.records() {
        for cell in r.expect("record").iter() {
            out.push(cell.to_string());
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(cell) {
                strings(&json, &mut out);
            }
        }
    }
    out
}

fn key() -> SecretKey {
    SecretKey::new(KEY.to_vec()).expect("32 bytes")
}

#[test]
fn pseudonym_is_hmac_sha256_of_the_id_pinned() {
    // Computed independently: python3 hmac.new(KEY, b"E1048", sha256).hexdigest()[:16].
    assert_eq!(pseudonym(&key(), "E1048"), "P-77755d68fbc2fa5f");
    assert_eq!(
        pseudonym(&key(), "pay-eu:marie.mueller"),
        "P-2b95762d2320d4f8"
    );
    assert_eq!(SecretKey::new(vec![7; 31]).err(), Some(31));
    assert!(!format!("{:?}", key()).contains("0123456789abcdef"));
}

#[test]
fn an_eu_person_is_pseudonymous_in_every_hk_output_and_real_at_the_top() {
    let (f, cfg) = setup("", Some(KEY));
    let out = run_ok(&f, &cfg);
    let run = run_dir(&f);
    let person = pseudonym(&key(), "EU-7731");
    let account = pseudonym(&key(), "pay-eu:ann");

    // Every file of HK: none of her values, her pseudonym in each.
    let hk = files(&run.join("HK"));
    assert!(hk.len() >= 5, "{:?}", hk.keys());
    for (name, bytes) in &hk {
        let s = String::from_utf8_lossy(bytes);
        for v in EU_VALUES {
            assert!(!s.contains(v), "HK/{} shows {v:?}:\n{s}", name.display());
        }
        if name.to_string_lossy() != "summary.json" {
            assert!(s.contains(&person), "HK/{} lacks {person}", name.display());
        }
    }
    // Her pay-eu account, outside HK, is replaced where it appears as a value; Joanna's
    // `joanna`, which contains `ann`, is intact; her pay-hk account is HK's own record.
    let values = csv_values(&run.join("HK/findings.csv"));
    assert!(!values.iter().any(|v| v == "ann"), "{values:?}");
    assert!(values.contains(&account), "{values:?}");
    assert!(values.iter().any(|v| v == "joanna"));
    assert!(values.iter().any(|v| v == "lbrandauer.hk"));
    let mut ocsf = Vec::new();
    strings(
        &serde_json::from_str(&text(&run.join("HK/findings.ocsf.json"))).expect("json"),
        &mut ocsf,
    );
    assert!(!ocsf.iter().any(|v| v == "ann" || v.ends_with(":ann")));
    assert!(ocsf.contains(&person));
    for report in ["HK/report.html", "HK/report.md"] {
        let r = text(&run.join(report));
        assert!(r.contains("Joanna Ann"), "{report}: a local name is kept");
        assert!(
            r.contains("1 identity is shown pseudonymously"),
            "{report}: the count"
        );
    }
    // The finding's id is the same as the operator's.
    let top = csv_values(&run.join("findings.csv"));
    let hk_rows = csv_values(&run.join("HK/findings.csv"));
    let ids = |v: &[String]| -> Vec<String> {
        v.iter().filter(|x| x.starts_with("F-")).cloned().collect()
    };
    for id in ids(&hk_rows) {
        assert!(top.contains(&id), "{id} not in the top-level findings");
    }
    // The operator's own findings keep every real value, and no pseudonym.
    let top_text = text(&run.join("findings.csv"));
    assert!(top_text.contains("EU-7731") && top.iter().any(|v| v == "ann"));
    assert!(!top_text.contains(&person));
    // In EU she is at home; HK's Hank and Joanna are hidden there, as is the key.
    let eu = text(&run.join("EU/findings.csv"));
    assert!(eu.contains("EU-7731") && !eu.contains("HK-2040") && !eu.contains("HK-0001"));
    assert!(eu.contains(&pseudonym(&key(), "HK-2040")));
    let key_text = String::from_utf8_lossy(KEY).into_owned();
    for (name, bytes) in files(&run) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&key_text),
            "the key is in {}",
            name.display()
        );
    }
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&key_text));
}

#[test]
fn share_personal_data_with_lets_hk_see_eu_people() {
    let (f, cfg) = setup("share_personal_data_with = [\"HK\"]", Some(KEY));
    run_ok(&f, &cfg);
    let run = run_dir(&f);
    let hk = text(&run.join("HK/findings.csv"));
    assert!(hk.contains("EU-7731"));
    assert!(!hk.contains(&pseudonym(&key(), "EU-7731")));
    // Sharing goes one way: HK's people stay pseudonymous in EU.
    let eu = text(&run.join("EU/findings.csv"));
    assert!(!eu.contains("HK-2040"));
    let md = text(&run.join("HK/report.md"));
    assert!(md.contains("except for people of EU"), "{md}");
}

#[test]
fn pseudonyms_are_stable_across_runs_and_change_with_the_key() {
    let hk = |key: &[u8]| {
        let (f, cfg) = setup("", Some(key));
        run_ok(&f, &cfg);
        text(&run_dir(&f).join("HK/findings.csv"))
    };
    let first = hk(KEY);
    assert_eq!(first, hk(KEY));
    let other = hk(b"another key of at least thirty-two bytes");
    assert_ne!(first, other);
    assert!(!other.contains(&pseudonym(&key(), "EU-7731")));
}

#[test]
fn without_a_key_outputs_are_real_and_a_warning_counts_the_people() {
    let (f, cfg) = setup("", None);
    let out = run_ok(&f, &cfg);
    let log = String::from_utf8_lossy(&out.stderr);
    // EU-7731 reaches HK and HK-2040 reaches EU (HK-0001, who granted, is named in no
    // finding of EU).
    assert!(
        log.contains("pseudonym_key is not set: the personal data of 2 identit(ies)"),
        "{log}"
    );
    let run = run_dir(&f);
    assert!(text(&run.join("HK/findings.csv")).contains("EU-7731"));
    let md = text(&run.join("HK/report.md"));
    assert!(
        md.contains("No identity is shown pseudonymously: cross-border data minimisation is off"),
        "{md}"
    );
}

#[test]
fn a_short_or_missing_key_file_stops_the_run_before_out_exists() {
    for (key, expected) in [
        (Some(&[b'k'; 31][..]), "holds 31 byte(s)"),
        (None, "cannot read"),
    ] {
        let (f, cfg) = setup("", Some(KEY));
        match key {
            Some(k) => std::fs::write(f.dir.path().join("pseudonym.key"), k).expect("key"),
            None => std::fs::remove_file(f.dir.path().join("pseudonym.key")).expect("rm"),
        }
        let out = run_in(f.dir.path(), &cfg, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("pseudonym_key") && err.contains(expected),
            "{err}"
        );
        assert!(!f.dir.path().join("out").exists(), "OUT was touched");
    }
}

#[test]
fn a_fifo_as_key_file_is_refused_without_blocking() {
    let (f, cfg) = setup("", Some(KEY));
    let key = f.dir.path().join("pseudonym.key");
    std::fs::remove_file(&key).expect("rm");
    let made = std::process::Command::new("mkfifo")
        .arg(&key)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let out = run_in_within(f.dir.path(), &cfg, &[], std::time::Duration::from_secs(60));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("FIFO"), "{err}");
}

#[test]
fn an_unknown_code_in_share_personal_data_with_is_a_policy_error() {
    let f = Fixture::new().policy(
        "jurisdictions",
        &JURISDICTIONS.replace("SHARE", "share_personal_data_with = [\"HK\", \"SG\"]"),
    );
    f.write();
    let err = Policy::load(&f.policy_dir(), &[])
        .expect_err("SG is not defined")
        .to_string();
    assert!(
        err.contains("jurisdictions.toml")
            && err.contains("share_personal_data_with[1]")
            && err.contains("\"SG\""),
        "{err}"
    );
    let (f, cfg) = setup("share_personal_data_with = [\"XX\"]", Some(KEY));
    let out = run_in(f.dir.path(), &cfg, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!f.dir.path().join("out/2026-11-24").exists());
}

/// Grants as `Resolved::grants` holds them: identity, system, jurisdiction, effective.
fn grants(rows: &[(&str, &str, &str, bool)]) -> DataFrame {
    df!(
        "identity" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "system_id" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "jurisdiction" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "effective" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
    )
    .expect("frame")
}

#[test]
fn home_is_the_system_holding_most_effective_grants_ties_to_the_lowest_code() {
    let homes = permaudit::resolve::home_jurisdictions(&grants(&[
        // One grant on an SG and one on an HK system: a tie, HK < SG.
        ("tie", "pay-sg", "SG", true),
        ("tie", "pay-hk", "HK", true),
        // Counted per system, as the contract words it: three SG systems with one grant
        // each lose to one HK system with two.
        ("spread", "a-sg", "SG", true),
        ("spread", "b-sg", "SG", true),
        ("spread", "c-sg", "SG", true),
        ("spread", "iam", "HK", true),
        ("spread", "iam", "HK", true),
        // Grants that are not effective (account not active) do not count.
        ("eu", "pay-eu", "EU", true),
        ("eu", "pay-hk", "HK", false),
        ("eu", "pay-hk", "HK", false),
        // Only ineffective grants: no home.
        ("none", "pay-hk", "HK", false),
    ]))
    .expect("homes");
    let want: BTreeMap<String, String> = [("tie", "HK"), ("spread", "HK"), ("eu", "EU")]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(homes, want);
}

#[test]
fn a_person_without_grants_is_pseudonymous_everywhere() {
    // Nobody has no grant, hence no home; a waiver approved by them is listed in every
    // report (a blanket waiver concerns every jurisdiction).
    let (f, cfg) = setup("", Some(KEY));
    std::fs::write(
        f.input_dir().join("waivers.csv"),
        "waiver_id,rule,approved_by,approved_at,expires_at,reason\n\
         W1,SOD_CONFLICT,X-0404,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,accepted\n",
    )
    .expect("waivers");
    run_ok(&f, &cfg);
    let run = run_dir(&f);
    let hidden = pseudonym(&key(), "X-0404");
    for j in ["EU", "HK"] {
        for (name, bytes) in files(&run.join(j)) {
            let s = String::from_utf8_lossy(&bytes);
            assert!(
                !s.contains("X-0404") && !s.contains("Nobody"),
                "{j}/{}",
                name.display()
            );
        }
        assert!(text(&run.join(j).join("report.md")).contains(&hidden));
    }
    assert!(text(&run.join("findings.csv")).contains("X-0404"));
}

/// The sample as shipped (`permaudit.toml` at the root names the sample-only key): in every
/// jurisdiction's files, no identity id, e-mail address or name of a person whose home is
/// elsewhere, nor the id of one of their accounts outside it; their pseudonyms instead.
#[test]
fn the_sample_keeps_other_homes_out_of_every_jurisdiction() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().expect("tempdir");
    let run = bin()
        .arg("run")
        .arg("--config")
        .arg(root.join("permaudit.toml"))
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("run");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let a = permaudit::pipeline::analyze(
        &permaudit::pipeline::Inputs {
            input_dir: &root.join("data/sample/input"),
            policy_dir: &root.join("data/sample/policy"),
            naive_tz: None,
            lookback_days: 30,
            sources: Default::default(),
        },
        date("2026-11-24"),
    )
    .expect("analysis");
    let key = SecretKey::new(std::fs::read(root.join("data/sample/pseudonym.key")).expect("key"))
        .expect("long enough");
    let column = |df: &DataFrame, c: &str| -> Vec<String> {
        df.column(c)
            .expect("column")
            .str()
            .expect("text")
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect()
    };
    let t = &a.tables;
    let people: Vec<(String, String, String)> = column(&t.identities, "identity_id")
        .into_iter()
        .zip(column(&t.identities, "display_name"))
        .zip(column(&t.identities, "email"))
        .map(|((i, n), e)| (i, n, e))
        .collect();
    let system_of: BTreeMap<String, String> = column(&t.systems, "system_id")
        .into_iter()
        .zip(column(&t.systems, "jurisdiction"))
        .collect();
    let accounts: Vec<(String, String, String)> = column(&t.accounts, "system_id")
        .into_iter()
        .zip(column(&t.accounts, "account_id"))
        .zip(column(&t.accounts, "identity_id"))
        .map(|((s, a), i)| (s, a, i))
        .collect();
    let mut pseudonymous = 0;
    for j in a.policy.jurisdictions.iter().map(|j| j.code.as_str()) {
        let home = |i: &str| a.homes.get(i).map(String::as_str);
        // A name shared with someone at home here may show, for that person.
        let local_names: Vec<&str> = people
            .iter()
            .filter(|p| home(&p.0) == Some(j))
            .map(|p| p.1.as_str())
            .collect();
        let texts: Vec<(PathBuf, String)> = files(&out.path().join("2026-11-24").join(j))
            .into_iter()
            .map(|(p, b)| (p, String::from_utf8(b).expect("utf-8")))
            .collect();
        let all: String = texts.iter().map(|(_, s)| s.as_str()).collect();
        for (id, name, email) in people.iter().filter(|p| home(&p.0) != Some(j)) {
            for (path, s) in &texts {
                let leak = s.contains(id.as_str())
                    || (!email.is_empty() && s.contains(email.as_str()))
                    || (!name.is_empty()
                        && !local_names.contains(&name.as_str())
                        && s.contains(name.as_str()));
                assert!(!leak, "{j}/{} names {id}", path.display());
            }
            let own_here: Vec<&str> = accounts
                .iter()
                .filter(|(s, _, i)| i == id && system_of[s] == j)
                .map(|(_, a, _)| a.as_str())
                .collect();
            for (s, acc, _) in accounts
                .iter()
                .filter(|(s, _, i)| i == id && system_of[s] != j)
            {
                if own_here.contains(&acc.as_str()) {
                    continue;
                }
                let quoted = format!("\"{acc}\"");
                let csv_quoted = format!("\"\"{acc}\"\"");
                assert!(
                    !all.contains(&quoted) && !all.contains(&csv_quoted),
                    "{j} names {acc}@{s} of {id}"
                );
            }
            if all.contains(&pseudonym(&key, id)) {
                pseudonymous += 1;
            }
        }
    }
    // The sample shows it: people of one home in another jurisdiction's files.
    assert!(pseudonymous >= 10, "{pseudonymous}");
    let top =
        String::from_utf8(std::fs::read(out.path().join("2026-11-24/findings.csv")).expect("top"))
            .expect("utf-8");
    assert!(!top.contains(&pseudonym(&key, "E1025")));
    assert!(top.contains("E1025"));
}

/// An access review of SG whose items are overdue at the report's date: reviewers and
/// reviewed people at home elsewhere appear in SG's report under their pseudonyms only.
#[test]
fn overdue_review_items_name_other_homes_by_pseudonym() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = root.join("permaudit.toml");
    let out = tempfile::tempdir().expect("tempdir");
    let cmd = |args: &[&str]| {
        let o = bin()
            .args(args)
            .arg("--config")
            .arg(&cfg)
            .arg("--out")
            .arg(out.path())
            .output()
            .expect("command");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    cmd(&[
        "review",
        "open",
        "--jurisdiction",
        "SG",
        "--due",
        "2026-12-01",
    ]);
    cmd(&["run", "--as-of", "2026-12-02"]);
    let a = permaudit::pipeline::analyze(
        &permaudit::pipeline::Inputs {
            input_dir: &root.join("data/sample/input"),
            policy_dir: &root.join("data/sample/policy"),
            naive_tz: None,
            lookback_days: 30,
            sources: Default::default(),
        },
        date("2026-12-02"),
    )
    .expect("analysis");
    let key = SecretKey::new(std::fs::read(root.join("data/sample/pseudonym.key")).expect("key"))
        .expect("long enough");
    let campaign: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("reviews/SG-2026-11-24/campaign.json")).expect("campaign"),
    )
    .expect("json");
    let md = text(&out.path().join("2026-12-02/SG/report.md"));
    assert!(md.contains("## 8. Access reviews"), "{md}");
    let mut hidden = 0;
    for p in campaign["packets"].as_array().expect("packets") {
        let reviewer = p["reviewer_id"].as_str().expect("id");
        if a.homes.get(reviewer).map(String::as_str) != Some("SG") {
            assert!(
                !md.contains(reviewer),
                "SG's report names reviewer {reviewer}"
            );
            hidden += usize::from(md.contains(&pseudonym(&key, reviewer)));
        }
    }
    assert!(
        hidden > 0,
        "no reviewer of another home in the sample's SG campaign"
    );
}
