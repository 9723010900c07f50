//! AWS CloudTrail records (CONTRACT section 7): one audit event per record, from the S3
//! delivery (`{"Records":[…]}`, gzip'd) or NDJSON exports of the same records.
//!
//! CloudTrail says nothing about countries: `src_country` comes from the run's
//! `ip_country_file` only. Digest files share the S3 bucket with the logs and are skipped.

use serde_json::Value;

use super::json::{self, text};
use super::{Accepts, Cx, Event, Kind, Outcome, Reader, Table};

pub const KIND: Kind = Kind {
    name: "cloudtrail",
    tables: &[Table::AuditEvents],
    accepts: Accepts {
        csv: false,
        parquet: false,
    },
    read: Reader::Records { map, prepass: None },
    version: 3,
};

/// Part of every digest file's name as AWS delivers it
/// (`<account>_CloudTrail-Digest_<region>_<trail>_<region>_<time>.json.gz`), as well as of
/// its folder, so the file name alone tells.
const DIGEST: &str = "CloudTrail-Digest";

fn map(r: &Value, cx: &Cx) -> Outcome {
    if cx.path.contains(DIGEST) {
        return Outcome::Skip("not an event");
    }
    // Insights records (delivered under their own `CloudTrail-Insight` prefix) describe an
    // unusual rate of calls, not a call anyone made: no actor, no outcome.
    if text(r, "eventType").as_deref() == Some("AwsCloudTrailInsight") {
        return Outcome::Skip("not an event");
    }
    // Without `eventTime` the object is no API or console event (a digest under another
    // name, a stray document): the contract skips it.
    let Some(ts) = text(r, "eventTime") else {
        return Outcome::Skip("not an event");
    };
    let account = json::first_text(r, &["recipientAccountId", "userIdentity.accountId"]);
    let system_id = match cx.system_id(&[("account", account.as_deref())]) {
        Ok(s) => s,
        Err(reason) => return Outcome::Bad(Table::AuditEvents, reason),
    };
    let name = text(r, "eventName");
    let console_login = name.as_deref() == Some("ConsoleLogin");
    let src_ip = json::ip(text(r, "sourceIPAddress"));
    Outcome::Row(
        Event {
            event_id: Some(
                text(r, "eventID").unwrap_or_else(|| format!("{}#{}", cx.file_name, cx.index)),
            ),
            ts: Some(ts),
            system_id: Some(system_id),
            account_id: actor(r),
            action: action(r, name.as_deref(), console_login),
            outcome: Some(outcome(r, console_login).to_string()),
            target_id: json::first_text(
                r,
                &[
                    "requestParameters.userName",
                    "requestParameters.roleName",
                    "requestParameters.groupName",
                ],
            ),
            mfa: mfa(r, console_login),
            mfa_method: console_login
                .then(|| {
                    super::mfa_method(
                        text(r, "additionalEventData.MfaType").as_deref(),
                        &MFA_TYPES,
                    )
                })
                .flatten(),
            src_country: cx.country_of_ip(src_ip.as_deref()),
            src_ip,
        }
        .row(),
    )
}

/// Who acted. An assumed role's ARN ends with the session name
/// (`assumed-role/<role>/<session>`), which is what names the person or service behind it;
/// the role itself is in `sessionContext.sessionIssuer`, not used here.
fn actor(r: &Value) -> Option<String> {
    if let Some(u) = text(r, "userIdentity.userName") {
        return Some(u);
    }
    if text(r, "userIdentity.type").as_deref() == Some("Root") {
        return Some("root".into());
    }
    // An ARN without a `/` (the root's `arn:aws:iam::<account>:root`) names no principal
    // inside the account: the next field is asked instead.
    let from_arn = text(r, "userIdentity.arn").and_then(|arn| {
        let (_, last) = arn.rsplit_once('/')?;
        (!last.is_empty()).then(|| last.to_string())
    });
    from_arn.or_else(|| {
        json::first_text(
            r,
            &["userIdentity.principalId", "additionalEventData.UserName"],
        )
    })
}

fn action(r: &Value, name: Option<&str>, console_login: bool) -> Option<String> {
    if console_login {
        return Some("login".into());
    }
    let source = text(r, "eventSource")?;
    let service = source.strip_suffix(".amazonaws.com").unwrap_or(&source);
    Some(format!("{service}:{}", name?))
}

fn outcome(r: &Value, console_login: bool) -> &'static str {
    let ok = if console_login {
        // Failed sign-ins carry `"ConsoleLogin": "Failure"`; anything but a success,
        // including no answer at all, is not a successful login.
        text(r, "responseElements.ConsoleLogin").is_some_and(|s| s.eq_ignore_ascii_case("Success"))
    } else {
        text(r, "errorCode").is_none()
    };
    if ok {
        "success"
    } else {
        "failure"
    }
}

/// `additionalEventData.MfaType` of a console sign-in: a virtual MFA device is an
/// authenticator app (TOTP), a hardware MFA device a key fob showing TOTP codes, U2F a
/// security key (FIDO). Documented in docs/sources.md.
const MFA_TYPES: [(&str, &str); 5] = [
    ("Virtual MFA", "totp"),
    ("Hardware MFA", "totp"),
    ("U2F MFA", "fido2"),
    ("FIDO2", "fido2"),
    ("Passkey", "fido2"),
];

fn mfa(r: &Value, console_login: bool) -> Option<bool> {
    if console_login {
        match text(r, "additionalEventData.MFAUsed")?
            .to_ascii_lowercase()
            .as_str()
        {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        }
    } else {
        json::boolean(r, "userIdentity.sessionContext.attributes.mfaAuthenticated")
    }
}
