//! `aws_iam_authorization_details` and `aws_iam_credential_report`: the demo exports (two
//! pages with a Deny policy; a report with the root user, `N/A` and `no_information`) and
//! hand-made pages in the raw API's form (URL-encoded documents).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use permaudit::source::Table;

use super::{demo, map, Mapping};

const SYSTEM: &str = "aws-{account}";

fn offered(m: &Mapping) -> usize {
    m.rows.len() + m.skipped.len() + m.bad.len()
}

/// The two demo pages, copied where a test may add or reorder files.
fn demo_pages() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in [
        "authorization-details-1.json",
        "authorization-details-2.json",
    ] {
        std::fs::copy(
            demo("aws/authorization-details").join(f),
            dir.path().join(f),
        )
        .expect("copy a demo page");
    }
    dir
}

fn ids(rows: &[BTreeMap<String, String>], col: &str) -> BTreeSet<String> {
    rows.iter().filter_map(|r| r.get(col).cloned()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn demo_pages_merge_into_accounts_roles_and_permissions() {
    let dir = demo_pages();
    let m = map("aws_iam_authorization_details", dir.path(), SYSTEM, None).expect("maps");
    assert!(m.bad.is_empty(), "{:?}", m.bad);
    assert!(m.skipped.is_empty(), "{:?}", m.skipped);

    let accounts = m.table(Table::Accounts);
    assert_eq!(accounts.len(), 4);
    assert!(accounts
        .iter()
        .all(|a| a["system_id"] == "aws-111122223333"));
    let role = accounts
        .iter()
        .find(|a| a["account_id"] == "payments-deploy-role")
        .expect("the role");
    assert_eq!(role["account_type"], "service");
    let admin = accounts
        .iter()
        .find(|a| a["account_id"] == "ops-admin")
        .expect("ops-admin");
    assert_eq!(admin["account_type"], "human");
    assert_eq!(admin["created_at"], "2021-04-12T09:30:00+00:00");

    let ents = m.table(Table::Entitlements);
    let roles: Vec<_> = ents
        .iter()
        .filter(|e| e["kind"] == "role")
        .cloned()
        .collect();
    let perms: Vec<_> = ents
        .iter()
        .filter(|e| e["kind"] == "permission")
        .cloned()
        .collect();
    assert_eq!(
        ids(&roles, "entitlement_id"),
        set(&[
            "policy:AdministratorAccess",
            "policy:PaymentsReadOnly",
            "policy:PaymentsDeploy",
            "policy:DenyIamUserChanges",
            "group:Payments-Engineers",
            "inline:user/alice.chan/read-payout-reports",
            "inline:role/payments-deploy-role/kms-decrypt",
        ])
    );
    // The default version (v2) only; s3:GetObject once although three policies allow it;
    // nothing from the Deny statements.
    assert_eq!(perms.len(), 6, "{perms:?}");
    assert_eq!(
        ids(&perms, "entitlement_id"),
        set(&[
            "*",
            "s3:GetObject",
            "s3:ListBucket",
            "s3:PutObject",
            "lambda:UpdateFunctionCode",
            "kms:Decrypt",
        ])
    );
    let star = perms
        .iter()
        .find(|p| p["entitlement_id"] == "*")
        .expect("*");
    assert_eq!(star["privileged"], "true");

    let edges: BTreeSet<(String, String)> = m
        .table(Table::RolePermissions)
        .iter()
        .map(|e| (e["role_id"].clone(), e["member_id"].clone()))
        .collect();
    assert_eq!(edges.len(), 9);
    for (r, p) in [
        ("policy:AdministratorAccess", "*"),
        ("group:Payments-Engineers", "policy:PaymentsReadOnly"),
        ("policy:PaymentsDeploy", "lambda:UpdateFunctionCode"),
        (
            "inline:role/payments-deploy-role/kms-decrypt",
            "kms:Decrypt",
        ),
    ] {
        assert!(
            edges.contains(&(r.to_string(), p.to_string())),
            "{r} -> {p}"
        );
    }
    assert!(!edges.iter().any(|(r, _)| r == "policy:DenyIamUserChanges"));

    let grants = m.table(Table::Grants);
    assert_eq!(grants.len(), 7);
    let admin_grant = grants
        .iter()
        .find(|g| g["grant_id"] == "aws:111122223333:user/ops-admin:policy:AdministratorAccess")
        .expect("ops-admin's grant");
    assert_eq!(admin_grant["account_id"], "ops-admin");
    // The later of the user's and the policy's CreateDate.
    assert_eq!(admin_grant["granted_at"], "2021-04-12T09:30:00+00:00");
    let group_grant = grants
        .iter()
        .find(|g| g["entitlement_id"] == "group:Payments-Engineers")
        .expect("alice's group");
    assert_eq!(group_grant["account_id"], "alice.chan");
    assert_eq!(group_grant["granted_at"], "2024-03-05T10:00:00+00:00");
    assert_eq!(offered(&m), 4 + 13 + 9 + 7);
}

/// The raw API's form: documents URL-encoded, a page per file, a policy listed on another
/// page than its user.
#[test]
fn raw_api_pages() {
    let doc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%5B%22iam%3ACreateUser%22%2C%22iam%3A*%22%5D%2C%22Resource%22%3A%22*%22%7D%5D%7D";
    let page1 = format!(
        r#"{{"UserDetailList":[
  {{"UserName":"u1","Arn":"arn:aws:iam::444455556666:user/u1","CreateDate":"2020-01-01T00:00:00Z",
    "AttachedManagedPolicies":[{{"PolicyName":"Iam","PolicyArn":"arn:aws:iam::444455556666:policy/Iam"}},
                               {{"PolicyName":"Gone","PolicyArn":"arn:aws:iam::444455556666:policy/Gone"}}],
    "UserPolicyList":[{{"PolicyName":"enc","PolicyDocument":"{doc}"}}]}},
  {{"UserName":"u2","Arn":"arn:aws:iam::444455556666:user/u2","GroupList":["NoSuchGroup"]}}
 ],"IsTruncated":true,"Marker":"m1"}}"#
    );
    let page2 = format!(
        r#"{{"Policies":[{{"PolicyName":"Iam","Arn":"arn:aws:iam::444455556666:policy/Iam","DefaultVersionId":"v3","CreateDate":"2021-06-01T00:00:00Z",
  "PolicyVersionList":[{{"VersionId":"v3","Document":"{doc}"}}]}}],"IsTruncated":false}}
{{"something":"else"}}
{{"UserDetailList":[],"IsTruncated":false}}
"#
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("p1.json"), page1).expect("write");
    std::fs::write(dir.path().join("p2.json"), page2).expect("write");
    let m = map("aws_iam_authorization_details", dir.path(), SYSTEM, None).expect("maps");

    let perms: BTreeSet<String> = m
        .table(Table::Entitlements)
        .iter()
        .filter(|e| e["kind"] == "permission")
        .map(|e| e["entitlement_id"].clone())
        .collect();
    assert_eq!(perms, set(&["iam:CreateUser", "iam:*"]));
    let edges = m.table(Table::RolePermissions);
    // Iam (DefaultVersionId, no IsDefaultVersion) and the inline policy, 2 actions each.
    assert_eq!(edges.len(), 4, "{edges:?}");
    let grants = m.table(Table::Grants);
    let g = |id: &str| grants.iter().find(|g| g["grant_id"] == id).cloned();
    assert_eq!(
        g("aws:444455556666:user/u1:policy:Iam").expect("Iam")["granted_at"],
        "2021-06-01T00:00:00Z"
    );
    // Not in Policies: a role without permissions, granted from the user's CreateDate.
    assert_eq!(
        g("aws:444455556666:user/u1:policy:Gone").expect("Gone")["granted_at"],
        "2020-01-01T00:00:00Z"
    );
    assert!(g("aws:444455556666:user/u1:inline:user/u1/enc").is_some());
    // u2 and its group have no CreateDate.
    assert_eq!(m.bad.len(), 1, "{:?}", m.bad);
    assert_eq!(m.bad[0].0, Table::Grants);
    assert!(m.bad[0].3.starts_with("no timestamp for granted_at"));
    let mut skipped = m.skipped.clone();
    skipped.sort();
    assert_eq!(
        skipped,
        ["not an authorization details page", "page without details"]
    );
}

#[test]
fn grant_ids_are_stable_across_exports() {
    let one = demo_pages();
    // The same account exported again in a single page.
    let two = tempfile::tempdir().expect("tempdir");
    let mut merged = serde_json::Map::new();
    for f in [
        "authorization-details-2.json",
        "authorization-details-1.json",
    ] {
        let text =
            std::fs::read_to_string(demo("aws/authorization-details").join(f)).expect("read");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        for list in [
            "UserDetailList",
            "GroupDetailList",
            "RoleDetailList",
            "Policies",
        ] {
            let entry = merged
                .entry(list.to_string())
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let (Some(to), Some(from)) = (entry.as_array_mut(), v[list].as_array()) {
                to.extend(from.iter().cloned());
            }
        }
    }
    std::fs::write(
        two.path().join("all.json"),
        serde_json::Value::Object(merged).to_string(),
    )
    .expect("write");
    let grant_ids = |p: &Path| {
        let m = map("aws_iam_authorization_details", p, SYSTEM, None).expect("maps");
        ids(&m.table(Table::Grants), "grant_id")
    };
    let a = grant_ids(one.path());
    assert_eq!(a.len(), 7);
    assert_eq!(a, grant_ids(two.path()));
}

#[test]
fn credential_report_demo() {
    let m = map(
        "aws_iam_credential_report",
        &demo("aws").join("credential-report.csv"),
        SYSTEM,
        None,
    )
    .expect("maps");
    assert!(m.bad.is_empty() && m.skipped.is_empty(), "{m:?}");
    let rows = m.table(Table::Accounts);
    let by: BTreeMap<&str, &BTreeMap<String, String>> =
        rows.iter().map(|r| (r["account_id"].as_str(), r)).collect();
    assert_eq!(rows.len(), 5);
    // The demo's credential report is of a second account of the organisation.
    assert!(rows.iter().all(|r| r["system_id"] == "aws-444455556666"));
    let root = by["root"];
    assert_eq!(root["account_type"], "emergency");
    // not_supported password, no active key.
    assert_eq!(root["status"], "disabled");
    assert_eq!(root["created_at"], "2019-03-11T08:00:00+00:00");
    assert_eq!(by["ops-admin"]["status"], "active");
    assert!(!by["ops-admin"].contains_key("account_type"));
    assert_eq!(by["alice.chan"]["status"], "active", "password only");
    assert_eq!(by["ci-deploy"]["status"], "active", "access key only");
    assert_eq!(by["former-contractor"]["status"], "disabled");
    assert_eq!(offered(&m), 5);
}

#[test]
fn credential_report_nulls_and_bad_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv =
        "user,arn,user_creation_time,password_enabled,access_key_1_active,access_key_2_active\n\
               a,arn:aws:iam::444455556666:user/a,no_information,N/A,not_supported,false\n\
               b,N/A,2020-01-01T00:00:00+00:00,true,false,false\n\
               c,arn:aws:iam::444455556666:user/c,2020-01-01T00:00:00+00:00,false\n\
               N/A,arn:aws:iam::444455556666:user/d,2020-01-01T00:00:00+00:00,false,false,false\n";
    std::fs::write(dir.path().join("report.csv"), csv).expect("write");
    let m = map("aws_iam_credential_report", dir.path(), SYSTEM, None).expect("maps");
    let rows = m.table(Table::Accounts);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["account_id"], "a");
    assert_eq!(rows[0]["status"], "disabled");
    assert!(!rows[0].contains_key("created_at"));
    let reasons: Vec<&str> = m.bad.iter().map(|b| b.3.as_str()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].contains("no account id"), "{reasons:?}");
    assert!(reasons[1].contains("fields where the header has"));
    assert_eq!(reasons[2], "row without user");
    assert!(m.bad.iter().all(|b| b.0 == Table::Accounts));
    assert_eq!(offered(&m), 4);
}

#[test]
fn aws_managed_policies_alone_follow_the_template() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = r#"{"Policies":[{"PolicyName":"ReadOnlyAccess","Arn":"arn:aws:iam::aws:policy/ReadOnlyAccess",
        "DefaultVersionId":"v1","PolicyVersionList":[{"VersionId":"v1","IsDefaultVersion":true,
        "Document":{"Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}}]}],"IsTruncated":false}"#;
    std::fs::write(dir.path().join("p.json"), page).expect("write");
    let fixed = map(
        "aws_iam_authorization_details",
        dir.path(),
        "aws-prod",
        None,
    )
    .expect("maps");
    assert_eq!(fixed.table(Table::Entitlements).len(), 2);
    assert_eq!(fixed.table(Table::RolePermissions).len(), 1);
    let templated = map("aws_iam_authorization_details", dir.path(), SYSTEM, None).expect("maps");
    assert!(templated.rows.is_empty());
    assert_eq!(templated.bad.len(), 1);
    assert_eq!(templated.bad[0].0, Table::Entitlements);
    assert!(templated.bad[0].3.contains("no account id"));
}
