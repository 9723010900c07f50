//! `mfa_method` from the products' own words for the factor (Okta `debugData.factor`, Entra
//! `authenticationDetails[].authenticationMethod`, CloudTrail `additionalEventData.MfaType`):
//! each known word becomes the contract's method, an unknown one null (never a bad row).

use std::collections::BTreeMap;
use std::path::Path;

use permaudit::source::Table;

use super::map;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn methods(kind: &str, dir: &Path) -> BTreeMap<String, Option<String>> {
    let m = map(kind, dir, "sys", None).unwrap();
    assert!(m.bad.is_empty(), "{m:#?}");
    m.table(Table::AuditEvents)
        .into_iter()
        .map(|e| (e["event_id"].clone(), e.get("mfa_method").cloned()))
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn okta_factor_of_the_session_names_the_sign_in_method() {
    let dir = tempfile::tempdir().unwrap();
    let factor = |uuid: &str, session: &str, factor: &str, result: &str| {
        format!(
            r#"{{"uuid":"{uuid}","published":"2026-11-02T01:00:00.000Z","eventType":"user.authentication.auth_via_mfa",
                "actor":{{"alternateId":"x@example-pay.com"}},"outcome":{{"result":"{result}"}},
                "authenticationContext":{{"externalSessionId":"{session}"}},
                "debugContext":{{"debugData":{{"factor":"{factor}"}}}}}}"#
        )
    };
    let start = |uuid: &str, session: &str| {
        format!(
            r#"{{"uuid":"{uuid}","published":"2026-11-02T01:00:05.000Z","eventType":"user.session.start",
                "actor":{{"alternateId":"x@example-pay.com"}},"outcome":{{"result":"SUCCESS"}},
                "authenticationContext":{{"externalSessionId":"{session}"}}}}"#
        )
    };
    let records = [
        factor("f1", "S1", "OKTA_VERIFY_PUSH", "SUCCESS"),
        factor("f2", "S2", "SMS_FACTOR", "SUCCESS"),
        factor("f3", "S3", "FIDO_WEBAUTHN", "SUCCESS"),
        factor("f4", "S4", "SECURITY_QUESTION", "SUCCESS"),
        factor("f5", "S5", "SMS_FACTOR", "FAILURE"),
        factor("f6", "S6", "SIGNED_NONCE", "SUCCESS"),
        factor("f7", "S7", "OKTA_VERIFY_PUSH", "SUCCESS"),
        factor("f8", "S7", "email", "SUCCESS"),
    ];
    write(
        dir.path(),
        "factors.json",
        &format!("[{}]", records.join(",")),
    );
    let starts: Vec<String> = (1..=7)
        .map(|i| start(&format!("s{i}"), &format!("S{i}")))
        .collect();
    write(
        dir.path(),
        "starts.json",
        &format!("[{}]", starts.join(",")),
    );
    let m = methods("okta_system_log", dir.path());
    assert_eq!(m["s1"], s("push"));
    assert_eq!(m["s2"], s("sms"));
    assert_eq!(m["s3"], s("fido2"));
    // A factor Okta names that has no contract word: MFA, method unknown.
    assert_eq!(m["s4"], None);
    // The factor failed: no MFA, no method.
    assert_eq!(m["s5"], None);
    assert_eq!(m["s6"], s("platform"));
    // Two factors: the weaker one is named.
    assert_eq!(m["s7"], s("email"));
    // The factor events themselves carry none.
    assert_eq!(m["f1"], None);
}

#[test]
fn entra_last_second_factor_step_names_the_method() {
    let dir = tempfile::tempdir().unwrap();
    let sign_in = |id: &str, details: &str| {
        format!(
            r#"{{"time":"2026-11-02T01:00:00Z","category":"SignInLogs","properties":{{"id":"{id}",
                "createdDateTime":"2026-11-02T01:00:00Z","userPrincipalName":"x@example-pay.com",
                "status":{{"errorCode":0}},"authenticationRequirement":"multiFactorAuthentication",
                "authenticationDetails":[{details}]}}}}"#
        )
    };
    let step = |m: &str, ok: bool| format!(r#"{{"authenticationMethod":"{m}","succeeded":{ok}}}"#);
    let records = [
        sign_in(
            "e1",
            &[
                step("Password", true),
                step("Mobile app notification", true),
            ]
            .join(","),
        ),
        sign_in(
            "e2",
            &[step("Password", true), step("Text message", true)].join(","),
        ),
        sign_in("e3", &step("FIDO2 security key", true)),
        sign_in("e4", &step("Windows Hello for Business", true)),
        sign_in(
            "e5",
            &[step("Password", true), step("Previously satisfied", true)].join(","),
        ),
        sign_in(
            "e6",
            &[step("Text message", false), step("Phone call", true)].join(","),
        ),
        sign_in("e7", &step("Some new method", true)),
        sign_in("e8", ""),
    ];
    write(dir.path(), "signins.log", &records.join("\n"));
    let m = methods("entra_signin", dir.path());
    assert_eq!(m["e1"], s("push"));
    assert_eq!(m["e2"], s("sms"));
    assert_eq!(m["e3"], s("fido2"));
    assert_eq!(m["e4"], s("platform"));
    assert_eq!(m["e5"], None);
    assert_eq!(m["e6"], s("voice"));
    assert_eq!(m["e7"], None);
    assert_eq!(m["e8"], None);
}

#[test]
fn cloudtrail_console_sign_in_mfa_type() {
    let dir = tempfile::tempdir().unwrap();
    let login = |id: &str, mfa_type: Option<&str>| {
        let extra = mfa_type.map_or(String::new(), |t| format!(r#","MfaType":"{t}""#));
        format!(
            r#"{{"eventVersion":"1.08","eventID":"{id}","eventTime":"2026-11-02T01:00:00Z",
                "eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin",
                "recipientAccountId":"111122223333",
                "userIdentity":{{"type":"IAMUser","userName":"ann"}},
                "responseElements":{{"ConsoleLogin":"Success"}},
                "additionalEventData":{{"MFAUsed":"Yes"{extra}}}}}"#
        )
    };
    let records = [
        login("c1", Some("Virtual MFA")),
        login("c2", Some("Hardware MFA")),
        login("c3", Some("U2F MFA")),
        login("c4", Some("Carrier pigeon")),
        login("c5", None),
    ];
    write(
        dir.path(),
        "trail.json",
        &format!(r#"{{"Records":[{}]}}"#, records.join(",")),
    );
    let m = methods("cloudtrail", dir.path());
    assert_eq!(m["c1"], s("totp"));
    assert_eq!(m["c2"], s("totp"));
    assert_eq!(m["c3"], s("fido2"));
    assert_eq!(m["c4"], None);
    assert_eq!(m["c5"], None);
}
