//! OCSF Authentication (3002) and API Activity (6003) events, schema versions 1.0.0-rc.2
//! to 1.5 (CONTRACT section 7): one audit event per record, from JSON, NDJSON or the
//! Parquet files of Amazon Security Lake (whose nested columns reach the mapping as the
//! same JSON objects).
//!
//! The fields read are the same in every version of that range; what differs between
//! producers is which of them they fill, hence the fallbacks.

use serde_json::Value;

use super::json::{self, text};
use super::{Accepts, Cx, Event, Kind, Outcome, Reader, Table};

pub const KIND: Kind = Kind {
    name: "ocsf",
    tables: &[Table::AuditEvents],
    accepts: Accepts {
        csv: false,
        parquet: true,
    },
    read: Reader::Records { map, prepass: None },
    version: 2,
};

const AUTHENTICATION: i64 = 3002;
const API_ACTIVITY: i64 = 6003;

fn map(r: &Value, cx: &Cx) -> Outcome {
    // `type_uid` is `class_uid * 100 + activity_id` in every version: producers that
    // drop `class_uid` still say the class there.
    let class = json::integer(r, "class_uid")
        .or_else(|| json::integer(r, "type_uid").map(|t| t / 100))
        .filter(|c| *c == AUTHENTICATION || *c == API_ACTIVITY);
    let Some(class) = class else {
        return Outcome::Skip("class not mapped");
    };
    let outcome = match json::integer(r, "status_id") {
        Some(1) => "success",
        Some(2) => "failure",
        _ => return Outcome::Skip("no status"),
    };
    let system_id = match cx.system_id(&[
        ("account", text(r, "cloud.account.uid").as_deref()),
        (
            "tenant",
            json::first_text(r, &["metadata.tenant_uid", "cloud.org.uid"]).as_deref(),
        ),
    ]) {
        Ok(s) => s,
        Err(reason) => return Outcome::Bad(Table::AuditEvents, reason),
    };
    let auth = class == AUTHENTICATION;
    let account_id = if auth {
        json::first_text(
            r,
            &["user.name", "user.uid", "actor.user.name", "actor.user.uid"],
        )
    } else {
        json::first_text(r, &["actor.user.name", "actor.user.uid"])
    };
    let src_ip = json::ip(text(r, "src_endpoint.ip"));
    // Producers that know no location (Security Lake's CloudTrail events) leave the
    // country to `ip_country_file`, as for CloudTrail itself. A value that is there but
    // matches no country stays null: it is counted, not guessed over.
    let src_country = match text(r, "src_endpoint.location.country") {
        Some(c) => cx.country_from_code_or_name(Some(c)),
        None => cx.country_of_ip(src_ip.as_deref()),
    };
    Outcome::Row(
        Event {
            event_id: text(r, "metadata.uid"),
            ts: timestamp(r),
            system_id: Some(system_id),
            account_id,
            action: action(r, auth),
            outcome: Some(outcome.to_string()),
            target_id: if auth { None } else { text(r, "user.uid") },
            mfa: ["is_mfa", "actor.session.is_mfa", "actor.session.mfa"]
                .iter()
                .find_map(|p| json::boolean(r, p)),
            // Section 7 names no OCSF field for the factor: left null.
            mfa_method: None,
            src_ip,
            src_country,
        }
        .row(),
    )
}

/// `time` (epoch milliseconds, or seconds from producers that write those), else
/// `time_dt`. A `time` that is no number is passed on as it is when nothing else is there,
/// so that the loader quarantines the record saying what the value was.
fn timestamp(r: &Value) -> Option<String> {
    json::integer(r, "time")
        .and_then(json::epoch_text)
        .or_else(|| text(r, "time_dt"))
        .or_else(|| text(r, "time"))
}

fn action(r: &Value, auth: bool) -> Option<String> {
    if auth {
        if json::integer(r, "activity_id") == Some(1) {
            return Some("login".into());
        }
        return text(r, "activity_name").map(|n| format!("auth:{}", n.to_lowercase()));
    }
    let op = text(r, "api.operation")?;
    Some(match text(r, "api.service.name") {
        Some(service) => format!("{service}:{op}"),
        None => op,
    })
}
