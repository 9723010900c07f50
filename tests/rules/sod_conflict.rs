use std::collections::BTreeMap;

use crate::common::*;

// as_of 2026-11-24 -> T = 2026-11-25T00:00:00Z.
const AS_OF: &str = "2026-11-24";

/// pay-hk: nested roles (r-ops > r-inner > pay.release) and a role cycle
/// (r-cyc-a <-> r-cyc-b, r-cyc-b > ben.edit). pay-uk: flat permissions and one role.
const ENTS: &str = "system_id,entitlement_id,kind,risk\n\
pay-hk,ben.edit,permission,high\n\
pay-hk,pay.release,permission,high\n\
pay-hk,other,permission,low\n\
pay-hk,r-ops,role,\n\
pay-hk,r-inner,role,\n\
pay-hk,r-cyc-a,role,\n\
pay-hk,r-cyc-b,role,\n\
pay-uk,ben.edit,permission,high\n\
pay-uk,pay.release,permission,high\n\
pay-uk,r-uk,role,\n";

const ROLES: &str = "system_id,role_id,member_id\n\
pay-hk,r-ops,r-inner\n\
pay-hk,r-inner,pay.release\n\
pay-hk,r-inner,other\n\
pay-hk,r-cyc-a,r-cyc-b\n\
pay-hk,r-cyc-b,r-cyc-a\n\
pay-hk,r-cyc-b,ben.edit\n\
pay-uk,r-uk,pay.release\n";

const IDS: &str = "identity_id,status,terminated_at\n\
alice,active,\n\
bob,active,\n\
carol,active,\n\
dave,active,\n\
erin,active,\n\
frank,terminated,2026-01-01T00:00:00Z\n\
mgr,active,\n";

const GRANT_HEADER: &str = "grant_id,system_id,account_id,entitlement_id,granted_at,revoked_at\n";

/// Static rule over beneficiary maintenance and payout release.
fn rule(id: &str, scope: &str, risk: &str, maintain: &str, release: &str) -> String {
    format!(
        "[[rule]]\nid = \"{id}\"\nname = \"Beneficiaries vs payouts\"\nkind = \"static\"\n\
         risk = \"{risk}\"\nscope = \"{scope}\"\n\
         [[rule.function]]\nname = \"Maintain beneficiaries\"\npermissions = [{maintain}]\n\
         [[rule.function]]\nname = \"Release payouts\"\npermissions = [{release}]\n"
    )
}

fn global() -> String {
    rule(
        "SOD-G",
        "global",
        "high",
        "\"*:ben.edit\"",
        "\"*:pay.release\"",
    )
}

fn per_jurisdiction() -> String {
    rule(
        "SOD-J",
        "jurisdiction",
        "critical",
        "\"*:ben.edit\"",
        "\"*:pay.release\"",
    )
}

fn fixture(accounts: &str, grants: &str, sod: &str) -> Fixture {
    Fixture::new()
        .table("identities", IDS)
        .table("entitlements", ENTS)
        .table("role_permissions", ROLES)
        .table("accounts", accounts)
        .table("grants", &format!("{GRANT_HEADER}{grants}"))
        .policy("sod_rules", sod)
}

/// Finding keys, sorted (the findings table is ordered by jurisdiction first).
fn keys(found: &[BTreeMap<String, String>]) -> Vec<(String, String, String)> {
    let mut keys: Vec<_> = found
        .iter()
        .map(|r| {
            (
                r["sod_rule_id"].clone(),
                r["identity_id"].clone(),
                r["jurisdiction"].clone(),
            )
        })
        .collect();
    keys.sort();
    keys
}

fn find<'a>(
    found: &'a [BTreeMap<String, String>],
    rule: &str,
    j: &str,
) -> &'a BTreeMap<String, String> {
    found
        .iter()
        .find(|r| r["sod_rule_id"] == rule && r["jurisdiction"] == j)
        .expect("finding present")
}

fn k(rule: &str, identity: &str, j: &str) -> (String, String, String) {
    (rule.into(), identity.into(), j.into())
}

#[test]
fn nested_role_path_and_role_cycle() {
    let accounts = "system_id,account_id,identity_id,status\npay-hk,a-alice,alice,active\n";
    let grants = "g1,pay-hk,a-alice,r-ops,2026-01-01T00:00:00Z,\n\
                  g2,pay-hk,a-alice,r-cyc-a,2026-01-01T00:00:00Z,\n";
    let found = fixture(accounts, grants, &global()).findings(AS_OF, "SOD_CONFLICT");
    assert_eq!(keys(&found), vec![k("SOD-G", "alice", "HK")]);
    let row = &found[0];
    assert_eq!(row["severity"], "high");
    assert_eq!(row["status"], "open");
    let d = detail(row);
    assert_eq!(d["scope"], "global");
    assert_eq!(d["rule_name"], "Beneficiaries vs payouts");
    let f = &d["functions"];
    assert_eq!(f[0]["function"], "Maintain beneficiaries");
    assert_eq!(f[0]["patterns"], "*:ben.edit");
    assert_eq!(f[0]["match_count"], 1);
    let m = &f[0]["matches"][0];
    assert_eq!(m["grant_id"], "g2");
    assert_eq!(m["entitlement_id"], "r-cyc-a");
    assert_eq!(m["permission_id"], "ben.edit");
    assert_eq!(m["role_path"], "r-cyc-a > r-cyc-b > ben.edit");
    assert_eq!(
        m["access_path"],
        "alice > a-alice@pay-hk > r-cyc-a > r-cyc-b > ben.edit"
    );
    let m = &f[1]["matches"][0];
    assert_eq!(f[1]["function"], "Release payouts");
    assert_eq!(m["grant_id"], "g1");
    assert_eq!(m["role_path"], "r-ops > r-inner > pay.release");
    assert_eq!(m["account_id"], "a-alice");
    assert_eq!(m["jurisdiction"], "HK");
    assert!(d["exception"].is_null());
}

#[test]
fn wildcard_versus_specific_system() {
    // bob holds both permissions on pay-uk only: a rule naming pay-hk for payouts does not
    // match, the `*` rule does.
    let accounts = "system_id,account_id,identity_id,status\npay-uk,b-uk,bob,active\n";
    let grants = "g1,pay-uk,b-uk,ben.edit,2026-01-01T00:00:00Z,\n\
                  g2,pay-uk,b-uk,r-uk,2026-01-01T00:00:00Z,\n";
    let sod = format!(
        "{}\n{}",
        rule(
            "SOD-HK",
            "global",
            "high",
            "\"*:ben.edit\"",
            "\"pay-hk:pay.release\""
        ),
        rule(
            "SOD-ANY",
            "global",
            "medium",
            "\"pay-uk:ben.edit\"",
            "\"*:pay.release\""
        ),
    );
    let found = fixture(accounts, grants, &sod).findings(AS_OF, "SOD_CONFLICT");
    assert_eq!(keys(&found), vec![k("SOD-ANY", "bob", "UK")]);
    assert_eq!(found[0]["severity"], "medium");
    let d = detail(&found[0]);
    assert_eq!(
        d["functions"][1]["matches"][0]["role_path"],
        "r-uk > pay.release"
    );
}

#[test]
fn global_scope_across_jurisdictions_and_jurisdiction_scope_does_not_fire() {
    // carol: beneficiaries in HK, payouts in UK, through two accounts.
    let accounts = "system_id,account_id,identity_id,status\n\
                    pay-hk,c-hk,carol,active\n\
                    pay-uk,c-uk,carol,active\n";
    let grants = "g1,pay-hk,c-hk,ben.edit,2026-01-01T00:00:00Z,\n\
                  g2,pay-uk,c-uk,pay.release,2026-01-01T00:00:00Z,\n";
    let sod = format!("{}\n{}", global(), per_jurisdiction());
    let found = fixture(accounts, grants, &sod).findings(AS_OF, "SOD_CONFLICT");
    assert_eq!(
        keys(&found),
        vec![k("SOD-G", "carol", "HK"), k("SOD-G", "carol", "UK")]
    );
    for row in &found {
        let d = detail(row);
        assert_eq!(d["jurisdictions_involved"], serde_json::json!(["HK", "UK"]));
        assert_eq!(d["functions"][0]["matches"][0]["account_id"], "c-hk");
        assert_eq!(d["functions"][1]["matches"][0]["account_id"], "c-uk");
    }
}

#[test]
fn jurisdiction_scope_within_one_jurisdiction() {
    // dave: both functions in HK; only beneficiaries in UK.
    let accounts = "system_id,account_id,identity_id,status\n\
                    pay-hk,d-hk,dave,active\n\
                    pay-uk,d-uk,dave,active\n";
    let grants = "g1,pay-hk,d-hk,ben.edit,2026-01-01T00:00:00Z,\n\
                  g2,pay-hk,d-hk,pay.release,2026-01-01T00:00:00Z,\n\
                  g3,pay-uk,d-uk,ben.edit,2026-01-01T00:00:00Z,\n";
    let sod = format!("{}\n{}", global(), per_jurisdiction());
    let found = fixture(accounts, grants, &sod).findings(AS_OF, "SOD_CONFLICT");
    assert_eq!(
        keys(&found),
        vec![
            k("SOD-G", "dave", "HK"),
            k("SOD-G", "dave", "UK"),
            k("SOD-J", "dave", "HK"),
        ]
    );
    let jrow = find(&found, "SOD-J", "HK");
    let j = detail(jrow);
    assert_eq!(jrow["severity"], "critical");
    assert_eq!(j["scope"], "jurisdiction");
    assert_eq!(j["jurisdictions_involved"], serde_json::json!(["HK"]));
    // The jurisdiction-scoped evidence shows only that jurisdiction's grants.
    assert_eq!(j["functions"][0]["match_count"], 1);
    assert_eq!(j["functions"][0]["matches"][0]["grant_id"], "g1");
    // The global evidence shows every match.
    let g = detail(find(&found, "SOD-G", "HK"));
    assert_eq!(g["functions"][0]["match_count"], 2);
}

#[test]
fn disabled_jurisdiction_still_counts_towards_global_conflict() {
    let jur = DEFAULT_JURISDICTIONS.replacen(
        "timezone = \"Asia/Hong_Kong\"",
        "timezone = \"Asia/Hong_Kong\"\ndisabled_rules = [\"SOD_CONFLICT\"]",
        1,
    );
    let accounts = "system_id,account_id,identity_id,status\n\
                    pay-hk,c-hk,carol,active\n\
                    pay-uk,c-uk,carol,active\n";
    let grants = "g1,pay-hk,c-hk,ben.edit,2026-01-01T00:00:00Z,\n\
                  g2,pay-uk,c-uk,pay.release,2026-01-01T00:00:00Z,\n";
    let found = fixture(accounts, grants, &global())
        .policy("jurisdictions", &jur)
        .findings(AS_OF, "SOD_CONFLICT");
    assert_eq!(keys(&found), vec![k("SOD-G", "carol", "UK")]);
}

#[test]
fn one_permission_may_satisfy_two_functions() {
    let sod = rule(
        "SOD-X",
        "jurisdiction",
        "low",
        "\"*:ben.edit\"",
        "\"pay-hk:ben.edit\", \"*:pay.release\"",
    );
    let accounts = "system_id,account_id,identity_id,status\n\
                    pay-hk,e-hk,erin,active\n\
                    pay-uk,e-uk,erin,active\n";
    // In UK erin holds ben.edit too, but pay-hk:ben.edit does not match it there.
    let grants = "g1,pay-hk,e-hk,ben.edit,2026-01-01T00:00:00Z,\n\
                  g2,pay-uk,e-uk,ben.edit,2026-01-01T00:00:00Z,\n";
    let found = fixture(accounts, grants, &sod).findings(AS_OF, "SOD_CONFLICT");
    assert_eq!(keys(&found), vec![k("SOD-X", "erin", "HK")]);
    let d = detail(&found[0]);
    assert_eq!(d["functions"][0]["matches"][0]["grant_id"], "g1");
    assert_eq!(d["functions"][1]["matches"][0]["grant_id"], "g1");
    assert_eq!(d["functions"][1]["match_count"], 1);
}

#[test]
fn only_effective_grants_count() {
    // alice: the beneficiary grant was revoked before T.
    // bob: the beneficiary grant sits on a disabled account.
    // carol: the beneficiary grant is dated T (not known yet).
    // dave: revoked exactly at T is still active -> finding.
    // erin: a locked account.
    let accounts = "system_id,account_id,identity_id,status\n\
                    pay-hk,a1,alice,active\n\
                    pay-hk,b1,bob,active\n\
                    pay-hk,b2,bob,disabled\n\
                    pay-hk,c1,carol,active\n\
                    pay-hk,d1,dave,active\n\
                    pay-hk,e1,erin,active\n\
                    pay-hk,e2,erin,locked\n";
    let grants = "ga1,pay-hk,a1,pay.release,2026-01-01T00:00:00Z,\n\
                  ga2,pay-hk,a1,ben.edit,2026-01-01T00:00:00Z,2026-11-24T23:59:59Z\n\
                  gb1,pay-hk,b1,pay.release,2026-01-01T00:00:00Z,\n\
                  gb2,pay-hk,b2,ben.edit,2026-01-01T00:00:00Z,\n\
                  gc1,pay-hk,c1,pay.release,2026-01-01T00:00:00Z,\n\
                  gc2,pay-hk,c1,ben.edit,2026-11-25T00:00:00Z,\n\
                  gd1,pay-hk,d1,pay.release,2026-01-01T00:00:00Z,\n\
                  gd2,pay-hk,d1,ben.edit,2026-01-01T00:00:00Z,2026-11-25T00:00:00Z\n\
                  ge1,pay-hk,e1,pay.release,2026-01-01T00:00:00Z,\n\
                  ge2,pay-hk,e2,ben.edit,2026-01-01T00:00:00Z,\n";
    let found = fixture(accounts, grants, &global()).findings(AS_OF, "SOD_CONFLICT");
    assert_eq!(keys(&found), vec![k("SOD-G", "dave", "HK")]);
}

#[test]
fn only_accounts_of_existing_identities_count() {
    // orphan: no identity; ghost: names an identity that does not exist. A terminated
    // identity (frank) is still an identity.
    let accounts = "system_id,account_id,identity_id,status\n\
                    pay-hk,o1,,active\n\
                    pay-hk,x1,ghost,active\n\
                    pay-hk,f1,frank,active\n";
    let grants = "g1,pay-hk,o1,pay.release,2026-01-01T00:00:00Z,\n\
                  g2,pay-hk,o1,ben.edit,2026-01-01T00:00:00Z,\n\
                  g3,pay-hk,x1,pay.release,2026-01-01T00:00:00Z,\n\
                  g4,pay-hk,x1,ben.edit,2026-01-01T00:00:00Z,\n\
                  g5,pay-hk,f1,pay.release,2026-01-01T00:00:00Z,\n\
                  g6,pay-hk,f1,ben.edit,2026-01-01T00:00:00Z,\n";
    let found = fixture(accounts, grants, &global()).findings(AS_OF, "SOD_CONFLICT");
    assert_eq!(keys(&found), vec![k("SOD-G", "frank", "HK")]);
}

#[test]
fn exceptions_decide_the_status() {
    let accounts = "system_id,account_id,identity_id,status\n\
                    pay-hk,a1,alice,active\n\
                    pay-hk,b1,bob,active\n\
                    pay-hk,c1,carol,active\n\
                    pay-hk,d1,dave,active\n\
                    pay-hk,e1,erin,active\n\
                    pay-hk,f1,frank,active\n";
    let mut grants = String::new();
    for a in ["a1", "b1", "c1", "d1", "e1", "f1"] {
        grants.push_str(&format!(
            "{a}-1,pay-hk,{a},ben.edit,2026-01-01T00:00:00Z,\n{a}-2,pay-hk,{a},pay.release,2026-01-01T00:00:00Z,\n"
        ));
    }
    let exceptions =
        "exception_id,sod_rule_id,identity_id,approved_by,approved_at,expires_at,control\n\
        x-alice,SOD-G,alice,mgr,2026-11-01T00:00:00Z,2026-12-31T00:00:00Z,daily payout review\n\
        x-bob,SOD-G,bob,mgr,2026-11-01T00:00:00Z,2026-11-25T00:00:00Z,\n\
        x-carol,SOD-G,carol,mgr,2026-11-25T00:00:00Z,2026-12-31T00:00:00Z,\n\
        x-dave,SOD-G,dave,dave,2026-11-01T00:00:00Z,2026-12-31T00:00:00Z,\n\
        x-erin-old,SOD-G,erin,mgr,2026-01-01T00:00:00Z,2026-06-30T00:00:00Z,\n\
        x-erin,SOD-G,erin,mgr,2026-07-01T00:00:00Z,2026-11-24T23:59:59Z,\n\
        x-erin-self,SOD-G,erin,erin,2026-10-01T00:00:00Z,2027-01-31T00:00:00Z,\n\
        x-frank,SOD-OTHER,frank,mgr,2026-11-01T00:00:00Z,2026-12-31T00:00:00Z,\n";
    let sod = format!(
        "{}\n{}",
        global(),
        rule(
            "SOD-OTHER",
            "global",
            "low",
            "\"pay-uk:ben.edit\"",
            "\"pay-uk:pay.release\""
        )
    );
    let found = fixture(accounts, &grants, &sod)
        .table("exceptions", exceptions)
        .findings(AS_OF, "SOD_CONFLICT");
    let by: BTreeMap<String, &BTreeMap<String, String>> = found
        .iter()
        .map(|r| (r["identity_id"].clone(), r))
        .collect();
    assert_eq!(by.len(), 6);
    let status = |who: &str| by[who]["status"].clone();
    let exc = |who: &str| detail(by[who])["exception"].clone();

    assert_eq!(status("alice"), "mitigated");
    assert_eq!(exc("alice")["exception_id"], "x-alice");
    assert_eq!(exc("alice")["valid"], true);
    assert_eq!(exc("alice")["control"], "daily payout review");
    assert_eq!(exc("alice")["approved_by"], "mgr");
    // Expiring exactly at T is still valid.
    assert_eq!(status("bob"), "mitigated");
    assert_eq!(exc("bob")["expires_at"], "2026-11-25T00:00:00Z");
    // Approved exactly at T is not yet valid.
    assert_eq!(status("carol"), "open");
    assert_eq!(exc("carol")["valid"], false);
    assert_eq!(exc("carol")["not_valid_because"], "not yet approved at T");
    assert_eq!(status("dave"), "open");
    assert_eq!(exc("dave")["not_valid_because"], "self-approved");
    // The latest expired exception is shown, even beside an invalid one lasting longer.
    assert_eq!(status("erin"), "open");
    assert_eq!(exc("erin")["exception_id"], "x-erin");
    assert_eq!(exc("erin")["not_valid_because"], "expired");
    // An exception for another SoD rule does not mitigate this one.
    assert_eq!(status("frank"), "open");
    assert!(exc("frank").is_null());
    assert_eq!(detail(by["alice"])["status"], "mitigated");
}

#[test]
fn evidence_is_bounded() {
    let accounts = "system_id,account_id,identity_id,status\npay-hk,a1,alice,active\n";
    let mut ents = ENTS.to_string();
    let mut grants = "gr,pay-hk,a1,pay.release,2026-01-01T00:00:00Z,\n".to_string();
    let mut patterns = Vec::new();
    for i in 0..12 {
        ents.push_str(&format!("pay-hk,ben.p{i:02},permission,high\n"));
        grants.push_str(&format!(
            "g{i:02},pay-hk,a1,ben.p{i:02},2026-01-01T00:00:00Z,\n"
        ));
        patterns.push(format!("\"pay-hk:ben.p{i:02}\""));
    }
    let sod = rule(
        "SOD-B",
        "global",
        "high",
        &patterns.join(", "),
        "\"*:pay.release\"",
    );
    let found = fixture(accounts, &grants, &sod)
        .table("entitlements", &ents)
        .findings(AS_OF, "SOD_CONFLICT");
    assert_eq!(found.len(), 1);
    let f = &detail(&found[0])["functions"][0];
    assert_eq!(f["match_count"], 12);
    assert_eq!(f["permission_count"], 12);
    assert_eq!(f["matches"].as_array().map(Vec::len), Some(10));
    assert_eq!(f["matches"][0]["permission_id"], "ben.p00");
}

#[test]
fn no_static_rules_no_findings() {
    let accounts = "system_id,account_id,identity_id,status\npay-hk,a1,alice,active\n";
    let grants = "g1,pay-hk,a1,ben.edit,2026-01-01T00:00:00Z,\n";
    assert!(fixture(accounts, grants, "rule = []\n")
        .findings(AS_OF, "SOD_CONFLICT")
        .is_empty());
}
