//! Microsoft Entra ID sign-in logs (CONTRACT section 7): one audit event per record.
//!
//! Two shapes arrive. Diagnostic settings (storage account blobs, Event Hub, the same
//! records in `{"records":[…]}` or one a line) wrap the sign-in in `properties` and name
//! the log in `category`; Microsoft Graph (`/auditLogs/signIns`, `{"value":[…]}` pages)
//! gives the sign-in object itself, without a category. Diagnostic settings stream every
//! Entra log through the same pipe, so records of other categories (`AuditLogs`,
//! `ProvisioningLogs`, `RiskyUsers`...) are skipped here, not quarantined.

use std::borrow::Cow;

use serde_json::Value;

use super::{json, Accepts, Cx, Event, Kind, Outcome, Reader, Table};

pub const KIND: Kind = Kind {
    name: "entra_signin",
    tables: &[Table::AuditEvents],
    accepts: Accepts {
        csv: false,
        parquet: false,
    },
    read: Reader::Records { map, prepass: None },
    version: 2,
};

/// The diagnostic-settings categories that carry sign-ins (interactive first). Compared
/// ignoring case: Microsoft itself writes the same log `SignInLogs` and `SigninLogs`.
const INTERACTIVE: &str = "SignInLogs";
const SIGN_IN_CATEGORIES: [&str; 6] = [
    INTERACTIVE,
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
    "MicrosoftServicePrincipalSignInLogs",
    "ADFSSignInLogs",
];

/// Error codes of a sign-in that Entra interrupted to ask for more (a second factor, "stay
/// signed in?", a password change): the user has neither succeeded nor failed yet, and
/// the attempt that follows is logged on its own.
const INTERRUPTS: [i64; 7] = [50074, 50076, 50079, 50125, 50140, 50158, 50199];

/// How a record presents its sign-in.
enum Shape<'v> {
    /// A diagnostic record: the sign-in is `properties`; `interactive` from the category.
    Diagnostic {
        sign_in: Cow<'v, Value>,
        interactive: bool,
    },
    /// A Graph `signIn` object.
    Graph,
}

fn shape(record: &Value) -> Result<Shape<'_>, &'static str> {
    let properties = object_at(record, "properties");
    match (json::text(record, "category"), properties) {
        (Some(category), properties) => {
            if !SIGN_IN_CATEGORIES
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&category))
            {
                // Graph directoryAudits have a category too (`UserManagement`...).
                return Err("not a sign-in");
            }
            // A sign-in record without its `properties` is still a sign-in: what it lacks
            // (account, id) gets it quarantined rather than skipped.
            Ok(Shape::Diagnostic {
                sign_in: properties.unwrap_or(Cow::Owned(Value::Null)),
                interactive: category.eq_ignore_ascii_case(INTERACTIVE),
            })
        }
        // Without a category, a wrapped record is judged by its sign-in as Graph's are.
        (None, Some(sign_in)) if is_graph_sign_in(&sign_in) => {
            let interactive = graph_interactive(&sign_in);
            Ok(Shape::Diagnostic {
                sign_in,
                interactive,
            })
        }
        (None, None) if is_graph_sign_in(record) => Ok(Shape::Graph),
        (None, _) => Err("not a sign-in"),
    }
}

/// The object at `path`, also when an export wrote it as JSON text (as some forwarders do
/// with `properties`).
fn object_at<'v>(record: &'v Value, path: &str) -> Option<Cow<'v, Value>> {
    match json::at(record, path)? {
        v if v.is_object() => Some(v),
        v => match v.as_str().map(serde_json::from_str::<Value>) {
            Some(Ok(o)) if o.is_object() => Some(Cow::Owned(o)),
            _ => None,
        },
    }
}

/// A Graph `signIn` has `createdDateTime` and `status`; other Graph objects that an export
/// may mix in have one or neither (users have `createdDateTime`, audits
/// `activityDateTime`, risk detections `detectedDateTime`).
fn is_graph_sign_in(record: &Value) -> bool {
    record
        .as_object()
        .is_some_and(|o| o.contains_key("createdDateTime") && o.contains_key("status"))
}

/// Entra's names of authentication methods (`authenticationDetails[].authenticationMethod`)
/// that are second factors. The password, "Previously satisfied" (the factor was asked in
/// an earlier sign-in, and which one is not said) and token claims are not.
const METHODS: [(&str, &str); 16] = [
    ("Mobile app notification", "push"),
    ("Text message", "sms"),
    ("Phone call", "voice"),
    ("Voice call", "voice"),
    ("Mobile app verification code", "totp"),
    ("OATH verification code", "totp"),
    ("Software OATH token", "totp"),
    ("Hardware OATH token", "totp"),
    ("Email verification code", "email"),
    ("Email OTP", "email"),
    ("FIDO2 security key", "fido2"),
    ("Passkey (device-bound)", "fido2"),
    ("Passkey (Microsoft Authenticator)", "fido2"),
    ("Windows Hello for Business", "platform"),
    ("Platform Credential for macOS", "platform"),
    ("X.509 Certificate", "smartcard"),
];

/// The second factor of a sign-in: the last succeeded step of `authenticationDetails`
/// whose method is not the password or a reuse of an earlier sign-in's factor. A method
/// Entra names that [`METHODS`] does not know gives no method (null).
fn method(sign_in: &Value) -> Option<String> {
    let first_factor = |m: &str| {
        ["Password", "Previously satisfied", "Claim in the token"]
            .iter()
            .any(|p| m.eq_ignore_ascii_case(p))
    };
    json::array(sign_in, "authenticationDetails")
        .iter()
        .rev()
        .filter(|d| json::boolean(d, "succeeded") != Some(false))
        .filter_map(|d| json::text(d, "authenticationMethod"))
        .find(|m| !first_factor(m))
        .and_then(|m| super::mfa_method(Some(&m), &METHODS))
}

fn map(record: &Value, cx: &Cx) -> Outcome {
    let shape = match shape(record) {
        Ok(s) => s,
        Err(reason) => return Outcome::Skip(reason),
    };
    let (sign_in, interactive): (&Value, bool) = match &shape {
        Shape::Diagnostic {
            sign_in,
            interactive,
        } => (sign_in.as_ref(), *interactive),
        Shape::Graph => (record, graph_interactive(record)),
    };
    let code = match error_code(sign_in, record) {
        Ok(c) => c,
        Err(reason) => return Outcome::Bad(Table::AuditEvents, reason),
    };
    if code.is_some_and(|c| INTERRUPTS.contains(&c)) {
        return Outcome::Skip("sign-in interrupt");
    }
    let system_id = match cx.system_id(&[("tenant", tenant(record, sign_in).as_deref())]) {
        Ok(s) => s,
        Err(e) => return Outcome::Bad(Table::AuditEvents, e),
    };
    let mfa = match json::text(sign_in, "authenticationRequirement") {
        Some(r) if r.eq_ignore_ascii_case("multiFactorAuthentication") => Some(true),
        Some(r) if r.eq_ignore_ascii_case("singleFactorAuthentication") => Some(false),
        _ => None,
    };
    let src_ip = json::ip(json::text(sign_in, "ipAddress"));
    let src_country = match json::text(sign_in, "location.countryOrRegion") {
        Some(c) => cx.country_from_code_or_name(Some(c)),
        None => cx.country_of_ip(src_ip.as_deref()),
    };
    let action = if interactive {
        "login"
    } else {
        "noninteractive_login"
    };
    Outcome::Row(
        Event {
            event_id: json::text(sign_in, "id").or_else(|| json::text(record, "id")),
            ts: json::text(sign_in, "createdDateTime").or_else(|| json::text(record, "time")),
            system_id: Some(system_id),
            account_id: json::text(sign_in, "userPrincipalName"),
            action: Some(action.to_string()),
            outcome: code.map(|c| if c == 0 { "success" } else { "failure" }.to_string()),
            target_id: None,
            mfa,
            mfa_method: method(sign_in),
            src_ip,
            src_country,
        }
        .row(),
    )
}

/// Graph v1.0 says `isInteractive`; the beta endpoint lists `signInEventTypes` instead.
fn graph_interactive(record: &Value) -> bool {
    match json::boolean(record, "isInteractive") {
        Some(b) => b,
        None => json::array(record, "signInEventTypes")
            .iter()
            .any(|t| json::scalar_text(t).is_some_and(|t| t == "interactiveUser")),
    }
}

/// `status.errorCode`, else the diagnostic record's `resultType`; either may be a number
/// or its text. Absent is none (the loader quarantines the row for its missing outcome);
/// present but not a number is a bad value.
fn error_code(sign_in: &Value, record: &Value) -> Result<Option<i64>, String> {
    for (v, path) in [(sign_in, "status.errorCode"), (record, "resultType")] {
        if let Some(t) = json::text(v, path) {
            return match json::integer(v, path) {
                Some(c) => Ok(Some(c)),
                None => Err(format!("{path} {t:?} is not a number")),
            };
        }
    }
    Ok(None)
}

/// The tenant that logged the sign-in: the diagnostic record's `tenantId`, else the
/// sign-in's `tenantId` or `resourceTenantId`. Not `homeTenantId`: a guest's home tenant
/// is another directory, not the system the sign-in is into.
fn tenant(record: &Value, sign_in: &Value) -> Option<String> {
    json::text(record, "tenantId")
        .or_else(|| json::first_text(sign_in, &["tenantId", "resourceTenantId"]))
}
