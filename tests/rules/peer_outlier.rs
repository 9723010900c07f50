use crate::common::*;

const RULE: &str = "PEER_OUTLIER";

/// pay/ops: i00..i09 (i09 leaves exactly at T, so still counts) = 10 peers; t1 left before
/// T; nd has no department; i20..i28 are pay/dev (9 peers).
fn identities() -> String {
    let mut s = String::from("identity_id,department,job_function,status,terminated_at\n");
    for i in 0..9 {
        s.push_str(&format!("i0{i},pay,ops,active,\n"));
    }
    s.push_str("i09,pay,ops,terminated,2026-11-25T00:00:00Z\n");
    s.push_str("t1,pay,ops,terminated,2026-11-01T00:00:00Z\n");
    s.push_str("nd,,ops,active,\n");
    for i in 20..29 {
        s.push_str(&format!("i{i},pay,dev,leave,\n"));
    }
    s
}

const ACCOUNTS: &str = "system_id,account_id,identity_id,status\n\
pay-hk,h-i00,i00,active\n\
pay-uk,u-i00,i00,active\n\
pay-hk,h-i01,i01,active\n\
pay-hk,h-i02,i02,active\n\
pay-hk,h-i03,i03,active\n\
pay-hk,h-i03-dis,i03,disabled\n\
pay-hk,h-i04,i04,active\n\
pay-hk,h-t1,t1,active\n\
pay-hk,h-nd,nd,active\n\
pay-hk,h-i20,i20,active\n";

const ENTITLEMENTS: &str = "system_id,entitlement_id,kind\n\
pay-hk,p-rare,permission\n\
pay-hk,p-two,permission\n\
pay-hk,p-common,permission\n\
pay-hk,p-solo,permission\n\
pay-hk,r-bundle,role\n\
pay-uk,p-rare,permission\n";

const ROLE_PERMISSIONS: &str = "system_id,role_id,member_id\npay-hk,r-bundle,p-rare\n";

const GRANTS: &str = "grant_id,system_id,account_id,entitlement_id,granted_at\n\
g01,pay-hk,h-i00,r-bundle,2026-01-01T00:00:00Z\n\
g02,pay-hk,h-i00,p-rare,2026-01-01T00:00:00Z\n\
g03,pay-uk,u-i00,p-rare,2026-01-01T00:00:00Z\n\
g04,pay-hk,h-i01,p-two,2026-01-01T00:00:00Z\n\
g05,pay-hk,h-i02,p-two,2026-01-01T00:00:00Z\n\
g06,pay-hk,h-i03-dis,p-two,2026-01-01T00:00:00Z\n\
g07,pay-hk,h-t1,p-rare,2026-01-01T00:00:00Z\n\
g08,pay-hk,h-t1,p-solo,2026-01-01T00:00:00Z\n\
g09,pay-hk,h-nd,p-solo,2026-01-01T00:00:00Z\n\
g10,pay-hk,h-i00,p-common,2026-01-01T00:00:00Z\n\
g11,pay-hk,h-i01,p-common,2026-01-01T00:00:00Z\n\
g12,pay-hk,h-i02,p-common,2026-01-01T00:00:00Z\n\
g13,pay-hk,h-i20,p-solo,2026-01-01T00:00:00Z\n";

fn fixture(grading: &str) -> Fixture {
    Fixture::new()
        .policy("grading", grading)
        .table("identities", &identities())
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTITLEMENTS)
        .table("role_permissions", ROLE_PERMISSIONS)
        .table("grants", GRANTS)
}

/// Finding keys, sorted (findings come ordered by jurisdiction first).
fn keys(f: &Fixture) -> Vec<(String, String, String, String)> {
    let mut keys: Vec<_> = f
        .findings("2026-11-24", RULE)
        .iter()
        .map(|r| {
            (
                r["identity_id"].clone(),
                r["system_id"].clone(),
                r["entitlement_id"].clone(),
                r["jurisdiction"].clone(),
            )
        })
        .collect();
    keys.sort();
    keys
}

fn key(i: &str, s: &str, e: &str, j: &str) -> (String, String, String, String) {
    (i.into(), s.into(), e.into(), j.into())
}

#[test]
fn single_holder_in_group_of_ten_fires_two_do_not() {
    // Defaults: min_size 10, max_share 0.10 -> at most 1 holder of 10.
    let f = fixture("");
    assert_eq!(
        keys(&f),
        vec![
            key("i00", "pay-hk", "p-rare", "HK"),
            key("i00", "pay-uk", "p-rare", "UK"),
        ]
    );
    let found = f.findings("2026-11-24", RULE);
    let r = found
        .iter()
        .find(|r| r["system_id"] == "pay-hk")
        .expect("HK finding");
    assert_eq!(r["severity"], "low");
    let d = detail(r);
    assert_eq!(d["department"], "pay");
    assert_eq!(d["job_function"], "ops");
    assert_eq!(d["peer_group_size"], 10);
    assert_eq!(d["holders"], 1);
    assert_eq!(d["max_share"], 0.1);
    assert_eq!(d["min_size"], 10);
    // Two grants give it: the role and the direct grant.
    assert_eq!(d["grant_count"], 2);
    assert_eq!(d["grants"][0]["grant_id"], "g01");
    assert_eq!(d["grants"][0]["path"], "r-bundle > p-rare");
    assert_eq!(d["grants"][1]["grant_id"], "g02");
}

#[test]
fn terminated_peers_are_not_counted() {
    // 10 employed peers plus one leaver: min_size 11 is not reached.
    let f = fixture("[peer_groups]\nmin_size = 11\n");
    assert!(keys(&f).is_empty());
}

#[test]
fn share_boundary_is_inclusive() {
    // 0.2 x 10 = 2: p-two (2 holders; the disabled account's grant does not count) fires.
    let f = fixture("[peer_groups]\nmin_size = 10\nmax_share = 0.2\n");
    assert_eq!(
        keys(&f),
        vec![
            key("i00", "pay-hk", "p-rare", "HK"),
            key("i00", "pay-uk", "p-rare", "UK"),
            key("i01", "pay-hk", "p-two", "HK"),
            key("i02", "pay-hk", "p-two", "HK"),
        ]
    );
    // 0.3 x 10 = 3: p-common (3 holders) fires too.
    let f = fixture("[peer_groups]\nmax_share = 0.3\n");
    assert_eq!(keys(&f).len(), 7);
}

#[test]
fn min_size_boundary() {
    // pay/dev has 9 peers: judged only when min_size <= 9 (and 1 <= 0.2 x 9).
    let f = fixture("[peer_groups]\nmin_size = 9\nmax_share = 0.2\n");
    assert!(keys(&f).contains(&key("i20", "pay-hk", "p-solo", "HK")));
    let f = fixture("[peer_groups]\nmin_size = 10\nmax_share = 0.2\n");
    assert!(!keys(&f).iter().any(|k| k.0 == "i20"));
    // The identity without a department is never judged, nor is the leaver t1.
    let f = fixture("[peer_groups]\nmin_size = 1\nmax_share = 1.0\n");
    assert!(!keys(&f).iter().any(|k| k.0 == "nd" || k.0 == "t1"));
}

#[test]
fn share_of_a_large_group() {
    // 0.15 x 20 = 3: the permission held by 3 of 20 fires, the one held by 4 does not.
    let mut ids = String::from("identity_id,department,job_function,status\n");
    let mut accounts = String::from("system_id,account_id,identity_id,status\n");
    let mut grants = String::from("grant_id,system_id,account_id,entitlement_id,granted_at\n");
    for i in 0..20 {
        ids.push_str(&format!("p{i:03},pay,ops,active\n"));
        accounts.push_str(&format!("pay-hk,a{i:03},p{i:03},active\n"));
    }
    for i in 0..3 {
        grants.push_str(&format!(
            "g{i:03},pay-hk,a{i:03},p-3,2026-01-01T00:00:00Z\n"
        ));
    }
    for i in 0..4 {
        grants.push_str(&format!(
            "h{i:03},pay-hk,a{i:03},p-4,2026-01-01T00:00:00Z\n"
        ));
    }
    let f = Fixture::new()
        .policy("grading", "[peer_groups]\nmax_share = 0.15\n")
        .table("identities", &ids)
        .table("accounts", &accounts)
        .table(
            "entitlements",
            "system_id,entitlement_id,kind\npay-hk,p-3,permission\npay-hk,p-4,permission\n",
        )
        .table("grants", &grants);
    let found = keys(&f);
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|k| k.2 == "p-3"));
}
