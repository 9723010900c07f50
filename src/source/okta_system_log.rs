//! Okta System Log events (CONTRACT section 7): one audit event per record, from a
//! `/api/v1/logs` page, a SIEM export (NDJSON) or an event hook body (`data.events`).
//!
//! A sign-in (`user.session.start`) does not say whether a second factor was used: Okta
//! logs the factor as its own event (`user.authentication.auth_via_mfa`,
//! `user.authentication.verify`) in the same session. The prepass collects the sessions a
//! factor verified, across every file of the source, so that a sign-in and its factor may
//! sit in different exports; and which factor it was (`debugContext.debugData.factor`), as
//! a key of its own (the session and the method) among the found keys, so that a changed
//! factor changes the sign-in file's fingerprint like a changed verification does.

use serde_json::Value;

use super::{json, Accepts, Cx, Event, Kind, Outcome, Prepass, Reader, Table};
use crate::ingest::schema::MFA_METHOD;

pub const KIND: Kind = Kind {
    name: "okta_system_log",
    tables: &[Table::AuditEvents],
    accepts: Accepts {
        csv: false,
        parquet: false,
    },
    read: Reader::Records {
        map,
        prepass: Some(prepass),
    },
    version: 2,
};

const SESSION_START: &str = "user.session.start";

/// Events whose success means a second factor was verified in their session.
const FACTOR_EVENTS: [&str; 2] = [
    "user.authentication.auth_via_mfa",
    "user.authentication.verify",
];

/// The session that ties a sign-in to its factor. Okta writes `unknown` where it has none
/// (API token calls, some system events); two such events share nothing.
fn session_id(record: &Value) -> Option<String> {
    json::text(record, "authenticationContext.externalSessionId")
        .filter(|s| !s.eq_ignore_ascii_case("unknown"))
}

/// Okta's factor names (`debugContext.debugData.factor`, older `factorType` spellings
/// too) as the contract's methods. Okta FastPass (`SIGNED_NONCE`) is a device-bound key
/// checked by the platform's authenticator. Documented in docs/sources.md.
const FACTORS: [(&str, &str); 17] = [
    ("OKTA_VERIFY_PUSH", "push"),
    ("PUSH", "push"),
    ("SMS_FACTOR", "sms"),
    ("SMS", "sms"),
    ("CALL_FACTOR", "voice"),
    ("CALL", "voice"),
    ("EMAIL_FACTOR", "email"),
    ("EMAIL", "email"),
    ("OKTA_VERIFY_TOTP", "totp"),
    ("GOOGLE_AUTHENTICATOR", "totp"),
    ("TOKEN:SOFTWARE:TOTP", "totp"),
    ("FIDO_WEBAUTHN", "fido2"),
    ("WEBAUTHN", "fido2"),
    ("U2F", "fido2"),
    ("SIGNED_NONCE", "platform"),
    ("SMART_CARD_IDP", "smartcard"),
    ("PIV", "smartcard"),
];

/// The prepass key saying that `session` verified a factor of `method`.
fn method_key(session: &str, method: &str) -> String {
    format!("{session}\u{1f}{method}")
}

fn prepass(record: &Value, pass: &mut Prepass) {
    let Some(event_type) = json::text(record, "eventType") else {
        return;
    };
    let Some(session) = session_id(record) else {
        return;
    };
    if event_type == SESSION_START {
        for m in MFA_METHOD {
            pass.looked_up.insert(method_key(&session, m));
        }
        pass.looked_up.insert(session);
    } else if FACTOR_EVENTS.contains(&event_type.as_str()) && result_is(record, "SUCCESS") {
        let factor = json::text(record, "debugContext.debugData.factor");
        if let Some(m) = super::mfa_method(factor.as_deref(), &FACTORS) {
            pass.found.insert(method_key(&session, &m));
        }
        pass.found.insert(session);
    }
}

fn result_is(record: &Value, want: &str) -> bool {
    json::text(record, "outcome.result").is_some_and(|r| r.eq_ignore_ascii_case(want))
}

fn map(record: &Value, cx: &Cx) -> Outcome {
    let event_type = json::text(record, "eventType");
    let outcome = match json::text(record, "outcome.result") {
        Some(r) if r.eq_ignore_ascii_case("SUCCESS") || r.eq_ignore_ascii_case("ALLOW") => {
            Some("success".to_string())
        }
        Some(r) if r.eq_ignore_ascii_case("FAILURE") || r.eq_ignore_ascii_case("DENY") => {
            Some("failure".to_string())
        }
        // CHALLENGE, SKIPPED, UNKNOWN...: a step of a flow, not its result.
        Some(_) => return Outcome::Skip("not an outcome"),
        // No result at all is a record that should have one: the loader quarantines it.
        None => None,
    };
    let system_id = match cx.system_id(&[]) {
        Ok(s) => s,
        Err(e) => return Outcome::Bad(Table::AuditEvents, e),
    };
    let is_session_start = event_type.as_deref() == Some(SESSION_START);
    let session = session_id(record).filter(|_| is_session_start);
    let mfa = is_session_start.then(|| session.as_ref().is_some_and(|s| cx.prepass.contains(s)));
    // Two factors in one session (rare): the first in the contract's order, which lists the
    // weakest first, so that a weak one is never hidden by a strong one.
    let mfa_method = session.and_then(|s| {
        MFA_METHOD
            .iter()
            .find(|m| cx.prepass.contains(&method_key(&s, m)))
            .map(|m| m.to_string())
    });
    let action = if is_session_start {
        Some("login".to_string())
    } else {
        event_type
    };
    let src_ip = json::ip(json::text(record, "client.ipAddress"));
    let src_country = match json::text(record, "client.geographicalContext.country") {
        Some(name) => cx.country_from_name(Some(name)),
        None => cx.country_of_ip(src_ip.as_deref()),
    };
    let target_id = json::array(record, "target")
        .first()
        .and_then(|t| json::text(t, "id"));
    Outcome::Row(
        Event {
            event_id: json::text(record, "uuid"),
            ts: json::text(record, "published"),
            system_id: Some(system_id),
            account_id: json::text(record, "actor.alternateId"),
            action,
            outcome,
            target_id,
            mfa,
            mfa_method,
            src_ip,
            src_country,
        }
        .row(),
    )
}
