use std::collections::BTreeMap;

use crate::common::*;

const RULE: &str = "GRADE_EXCEEDED";

const GRADING: &str = r#"
[[job_function]]
name = "support"
max_risk = "medium"

[[job_function]]
name = "ops"
max_risk = "low"

[[job_function]]
name = "admin"
max_risk = "critical"
"#;

const IDS: &str = "identity_id,job_function,status,terminated_at\n\
sue,support,active,\n\
sam,support,terminated,2026-11-01T00:00:00Z\n\
leo,support,terminated,2026-11-25T00:00:00Z\n\
ole,ops,leave,\n\
adam,admin,active,\n\
nojf,,active,\n\
unl,unlisted,active,\n";

const ACCOUNTS: &str = "system_id,account_id,identity_id,status,account_type\n\
pay-hk,a-sue,sue,active,human\n\
pay-uk,u-sue,sue,active,service\n\
pay-hk,a-sue-dis,sue,disabled,human\n\
pay-hk,a-sam,sam,active,human\n\
pay-hk,a-leo,leo,active,human\n\
pay-hk,a-ole,ole,active,human\n\
pay-hk,a-adam,adam,active,human\n\
pay-hk,a-nojf,nojf,active,human\n\
pay-hk,a-unl,unl,active,human\n\
pay-hk,a-orphan,,active,human\n\
pay-hk,a-ghost,ghost,active,human\n";

const ENTITLEMENTS: &str = "system_id,entitlement_id,kind,risk,privileged\n\
pay-hk,p-low,permission,low,false\n\
pay-hk,p-med,permission,medium,false\n\
pay-hk,p-null,permission,,false\n\
pay-hk,p-high,permission,high,false\n\
pay-hk,p-crit,permission,critical,true\n\
pay-hk,r-high-role,role,high,false\n\
pay-hk,r-wrap,role,low,false\n\
pay-hk,r-mid,role,critical,false\n\
pay-hk,r-crit,role,low,false\n\
pay-hk,r-multi,role,medium,false\n\
pay-uk,p-high,permission,high,false\n";

const ROLE_PERMISSIONS: &str = "system_id,role_id,member_id\n\
pay-hk,r-high-role,p-low\n\
pay-hk,r-wrap,r-mid\n\
pay-hk,r-mid,p-med\n\
pay-hk,r-crit,p-crit\n\
pay-hk,r-multi,p-high\n\
pay-hk,r-multi,r-crit\n\
pay-hk,r-multi,p-med\n";

fn run(grants: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    Fixture::new()
        .policy("grading", GRADING)
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTITLEMENTS)
        .table("role_permissions", ROLE_PERMISSIONS)
        .table(
            "grants",
            &format!(
                "grant_id,system_id,account_id,entitlement_id,granted_at,revoked_at\n{grants}"
            ),
        )
        .findings("2026-11-24", RULE)
        .into_iter()
        .map(|r| (r["grant_id"].clone(), r))
        .collect()
}

fn ids(found: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<&str> {
    found.keys().map(String::as_str).collect()
}

#[test]
fn risk_boundaries_and_null_risk() {
    let found = run("g-sue-high,pay-hk,a-sue,p-high,2026-01-01T00:00:00Z,\n\
         g-sue-med,pay-hk,a-sue,p-med,2026-01-01T00:00:00Z,\n\
         g-sue-null,pay-hk,a-sue,p-null,2026-01-01T00:00:00Z,\n\
         g-ole-null,pay-hk,a-ole,p-null,2026-01-01T00:00:00Z,\n\
         g-ole-low,pay-hk,a-ole,p-low,2026-01-01T00:00:00Z,\n\
         g-adam-crit,pay-hk,a-adam,p-crit,2026-01-01T00:00:00Z,\n\
         g-uk,pay-uk,u-sue,p-high,2026-01-01T00:00:00Z,\n");
    assert_eq!(ids(&found), vec!["g-ole-null", "g-sue-high", "g-uk"]);
    let r = &found["g-sue-high"];
    assert_eq!(r["severity"], "medium");
    assert_eq!(r["jurisdiction"], "HK");
    assert_eq!(r["identity_id"], "sue");
    assert_eq!(r["system_id"], "pay-hk");
    assert_eq!(r["account_id"], "a-sue");
    assert_eq!(r["entitlement_id"], "p-high");
    let d = detail(r);
    assert_eq!(d["job_function"], "support");
    assert_eq!(d["max_risk"], "medium");
    assert_eq!(d["highest_risk"], "high");
    assert_eq!(d["highest_risk_entitlement_id"], "p-high");
    assert_eq!(d["exceeding_count"], 1);
    // Null risk counts as medium, which exceeds ops' low.
    let d = detail(&found["g-ole-null"]);
    assert_eq!(d["highest_risk"], "medium");
    assert_eq!(d["max_risk"], "low");
    assert_eq!(found["g-uk"]["jurisdiction"], "UK");
}

#[test]
fn granted_entitlement_and_closure_but_not_roles_in_between() {
    let found = run(
        "g-role-own,pay-hk,a-sue,r-high-role,2026-01-01T00:00:00Z,\n\
         g-wrap,pay-hk,a-sue,r-wrap,2026-01-01T00:00:00Z,\n\
         g-crit,pay-hk,a-sue,r-crit,2026-01-01T00:00:00Z,\n\
         g-multi,pay-hk,a-sue,r-multi,2026-01-01T00:00:00Z,\n",
    );
    // r-wrap reaches the critical role r-mid, but only its permission p-med counts.
    assert_eq!(ids(&found), vec!["g-crit", "g-multi", "g-role-own"]);
    let d = detail(&found["g-role-own"]);
    assert_eq!(d["highest_risk"], "high");
    assert_eq!(d["highest_risk_entitlement_id"], "r-high-role");
    assert_eq!(d["granted_kind"], "role");
    assert_eq!(found["g-role-own"]["severity"], "medium");

    let r = &found["g-crit"];
    assert_eq!(
        r["severity"], "high",
        "r-crit reaches a privileged permission"
    );
    let d = detail(r);
    assert_eq!(d["highest_risk"], "critical");
    assert_eq!(d["highest_risk_entitlement_id"], "p-crit");
    assert_eq!(d["highest_risk_path"], "r-crit > p-crit");
    assert_eq!(d["privileged"], true);

    let d = detail(&found["g-multi"]);
    assert_eq!(d["exceeding_count"], 2);
    assert_eq!(d["highest_risk_entitlement_id"], "p-crit");
    assert_eq!(d["highest_risk_path"], "r-multi > r-crit > p-crit");
    assert_eq!(d["exceeding"][0]["entitlement_id"], "p-crit");
    assert_eq!(d["exceeding"][1]["entitlement_id"], "p-high");
    assert_eq!(d["exceeding"][1]["risk"], "high");
}

#[test]
fn who_is_graded() {
    let found = run("g-sam,pay-hk,a-sam,p-high,2026-01-01T00:00:00Z,\n\
         g-leo,pay-hk,a-leo,p-high,2026-01-01T00:00:00Z,\n\
         g-dis,pay-hk,a-sue-dis,p-high,2026-01-01T00:00:00Z,\n\
         g-orphan,pay-hk,a-orphan,p-high,2026-01-01T00:00:00Z,\n\
         g-ghost,pay-hk,a-ghost,p-high,2026-01-01T00:00:00Z,\n\
         g-nojf,pay-hk,a-nojf,p-high,2026-01-01T00:00:00Z,\n\
         g-unl,pay-hk,a-unl,p-high,2026-01-01T00:00:00Z,\n");
    // sam left before T; leo leaves exactly at T and is still employed; disabled accounts,
    // orphans, and identities without a graded job function are out of scope.
    assert_eq!(ids(&found), vec!["g-leo"]);
}

#[test]
fn only_active_grants() {
    let found = run(
        "g-revoked,pay-hk,a-sue,p-high,2026-01-01T00:00:00Z,2026-11-24T23:59:59Z\n\
         g-revoked-at-t,pay-hk,a-sue,p-high,2026-01-01T00:00:00Z,2026-11-25T00:00:00Z\n\
         g-future,pay-hk,a-sue,p-high,2026-11-25T00:00:00Z,\n\
         g-last,pay-hk,a-sue,p-high,2026-11-24T23:59:59.999999Z,\n",
    );
    assert_eq!(ids(&found), vec!["g-last", "g-revoked-at-t"]);
}

#[test]
fn no_grading_file_grades_nobody() {
    let f = Fixture::new()
        .table("identities", IDS)
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTITLEMENTS)
        .table(
            "grants",
            "grant_id,system_id,account_id,entitlement_id,granted_at\n\
             g1,pay-hk,a-sue,p-crit,2026-01-01T00:00:00Z\n",
        );
    assert!(f.findings("2026-11-24", RULE).is_empty());
}
