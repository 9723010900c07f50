use crate::common::*;

// as_of 2026-11-24: T = 2026-11-25T00:00Z; window [2026-10-26T00:00Z, T).
const ACCOUNTS: &str = "system_id,account_id,status\n\
pay-hk,a-priv,active\n\
pay-hk,a-plain,active\n\
pay-uk,u-priv,active\n";

const ENTS: &str = "system_id,entitlement_id,kind,privileged\n\
pay-hk,p.view,permission,false\n\
pay-hk,p.release,permission,true\n\
pay-uk,p.admin,permission,true\n";

const GRANTS: &str = "grant_id,system_id,account_id,entitlement_id,granted_at\n\
g1,pay-hk,a-priv,p.release,2026-01-01T00:00:00Z\n\
g2,pay-hk,a-plain,p.view,2026-01-01T00:00:00Z\n\
g3,pay-uk,u-priv,p.admin,2026-01-01T00:00:00Z\n";

const EVENTS: &str = "event_id,ts,system_id,account_id,action,outcome,mfa,mfa_method\n\
e1,2026-11-01T00:00:00Z,pay-hk,a-priv,login,success,true,sms\n\
e2,2026-11-02T00:00:00Z,pay-hk,a-priv,login,success,true,sms\n\
e3,2026-11-03T00:00:00Z,pay-hk,a-priv,login,success,true,email\n\
e4,2026-11-04T00:00:00Z,pay-hk,a-priv,login,success,true,fido2\n\
e5,2026-11-05T00:00:00Z,pay-hk,a-priv,login,failure,true,voice\n\
e6,2026-11-06T00:00:00Z,pay-hk,a-priv,login,success,false,voice\n\
e7,2026-11-07T00:00:00Z,pay-hk,a-priv,login,success,true,\n\
e8,2026-11-08T00:00:00Z,pay-hk,a-priv,payout.release,success,true,voice\n\
e9,2026-10-25T23:59:59.999999Z,pay-hk,a-priv,login,success,true,voice\n\
e10,2026-11-25T00:00:00Z,pay-hk,a-priv,login,success,true,voice\n\
e11,2026-11-01T00:00:00Z,pay-hk,a-plain,login,success,true,sms\n\
e12,2026-11-01T00:00:00Z,pay-uk,u-priv,login,success,true,sms\n";

fn jurisdictions(hk: &str, uk: &str) -> String {
    DEFAULT_JURISDICTIONS
        .replace(
            "timezone = \"Asia/Hong_Kong\"",
            &format!("timezone = \"Asia/Hong_Kong\"\n{hk}"),
        )
        .replace(
            "timezone = \"Europe/London\"",
            &format!("timezone = \"Europe/London\"\n{uk}"),
        )
}

fn fixture(jur: &str) -> Fixture {
    Fixture::new()
        .policy("jurisdictions", jur)
        .table("accounts", ACCOUNTS)
        .table("entitlements", ENTS)
        .table("grants", GRANTS)
        .table("audit_events", EVENTS)
}

#[test]
fn methods_outside_the_allowed_list_on_privileged_logins() {
    let jur = jurisdictions(
        "allowed_mfa_methods_for_privileged = [\"fido2\", \"smartcard\"]",
        "allowed_mfa_methods_for_privileged = [\"sms\", \"fido2\"]",
    );
    let found = by_pair(
        fixture(&jur).findings("2026-11-24", "WEAK_MFA_PRIVILEGED"),
        "system_id",
        "account_id",
    );
    // pay-uk allows sms (a weak method allowed is no finding); a-plain is not privileged.
    let keys: Vec<(&str, &str)> = found
        .keys()
        .map(|(s, a)| (s.as_str(), a.as_str()))
        .collect();
    assert_eq!(keys, vec![("pay-hk", "a-priv")]);
    let f = &found[&("pay-hk".to_string(), "a-priv".to_string())];
    assert_eq!(f["severity"], "high");
    assert_eq!(f["jurisdiction"], "HK");
    let d = detail(f);
    // e1, e2 (sms), e3 (email); not fido2 (allowed), the failure, mfa false, the unknown
    // method, the non-login, the login before the window or at T.
    assert_eq!(d["weak_logins"], 3);
    assert_eq!(
        d["methods"],
        serde_json::json!([{"mfa_method": "email", "logins": 1}, {"mfa_method": "sms", "logins": 2}])
    );
    assert_eq!(
        d["allowed_methods"],
        serde_json::json!(["fido2", "smartcard"])
    );
    assert_eq!(d["first_login"], "2026-11-01T00:00:00Z");
    assert_eq!(d["last_login"], "2026-11-03T00:00:00Z");
}

#[test]
fn empty_allowed_list_never_fires() {
    let found = fixture(DEFAULT_JURISDICTIONS).findings("2026-11-24", "WEAK_MFA_PRIVILEGED");
    assert!(found.is_empty(), "{found:?}");
    let jur = jurisdictions("allowed_mfa_methods_for_privileged = []", "");
    assert!(fixture(&jur)
        .findings("2026-11-24", "WEAK_MFA_PRIVILEGED")
        .is_empty());
}

#[test]
fn window_start_is_inclusive() {
    let jur = jurisdictions("allowed_mfa_methods_for_privileged = [\"fido2\"]", "");
    let events = "event_id,ts,system_id,account_id,action,outcome,mfa,mfa_method\n\
                  e1,2026-10-26T00:00:00Z,pay-hk,a-priv,login,success,true,push\n";
    let found = fixture(&jur)
        .table("audit_events", events)
        .findings("2026-11-24", "WEAK_MFA_PRIVILEGED");
    assert_eq!(found.len(), 1);
    assert_eq!(detail(&found[0])["weak_logins"], 1);
}

#[test]
fn unknown_method_in_policy_is_a_configuration_error() {
    let jur = jurisdictions("allowed_mfa_methods_for_privileged = [\"FIDO2\"]", "");
    let err = fixture(&jur).analyze("2026-11-24").err().expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("allowed_mfa_methods_for_privileged[0]"),
        "{text}"
    );
}

#[test]
fn bad_mfa_method_quarantines_the_event() {
    let events = "event_id,ts,system_id,account_id,action,outcome,mfa,mfa_method\n\
                  e1,2026-11-01T00:00:00Z,pay-hk,a-priv,login,success,true,SMS\n\
                  e2,2026-11-01T00:00:00Z,pay-hk,a-priv,login,success,true,yubikey\n\
                  e3,2026-11-01T00:00:00Z,pay-hk,a-priv,login,success,true,sms\n\
                  e4,2026-11-01T00:00:00Z,pay-hk,a-priv,login,success,true,\n";
    let a = fixture(DEFAULT_JURISDICTIONS)
        .table("audit_events", events)
        .analyze("2026-11-24")
        .expect("analysis");
    let q: Vec<(u64, &str)> = a
        .ingest
        .quarantine
        .iter()
        .filter(|q| q.table == "audit_events")
        .map(|q| (q.line, q.reason.as_str()))
        .collect();
    assert_eq!(
        q.iter().map(|x| x.0).collect::<Vec<_>>(),
        vec![2, 3],
        "{q:?}"
    );
    assert!(q[0].1.contains("mfa_method"), "{q:?}");
}
