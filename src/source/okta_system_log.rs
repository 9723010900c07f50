//! Okta System Log events (CONTRACT section 7): one audit event per record, from a
//! `/api/v1/logs` page, a SIEM export (NDJSON) or an event hook body (`data.events`).
//!
//! A sign-in (`user.session.start`) does not say whether a second factor was used: Okta
//! logs the factor as its own event (`user.authentication.auth_via_mfa`,
//! `user.authentication.verify`) in the same session. The prepass collects the sessions a
//! factor verified, across every file of the source, so that a sign-in and its factor may
//! sit in different exports.

use serde_json::Value;

use super::{json, Accepts, Cx, Event, Kind, Outcome, Prepass, Reader, Table};

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
    version: 1,
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

fn prepass(record: &Value, pass: &mut Prepass) {
    let Some(event_type) = json::text(record, "eventType") else {
        return;
    };
    let Some(session) = session_id(record) else {
        return;
    };
    if event_type == SESSION_START {
        pass.looked_up.insert(session);
    } else if FACTOR_EVENTS.contains(&event_type.as_str()) && result_is(record, "SUCCESS") {
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
    let mfa = if is_session_start {
        Some(session_id(record).is_some_and(|s| cx.prepass.contains(&s)))
    } else {
        None
    };
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
            src_ip,
            src_country,
        }
        .row(),
    )
}
