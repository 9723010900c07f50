//! Reading fields of real exports, which are messy: `null` objects, the string `"null"`,
//! numbers written as strings, JSON text inside a JSON string. Every adapter reads through
//! these, so that each quirk is handled once.

use std::borrow::Cow;
use std::net::IpAddr;

use serde_json::Value;

/// Null, `"null"` (any case) and the empty string are all "absent" (CONTRACT section 7).
pub fn is_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty() || s.eq_ignore_ascii_case("null"),
        _ => false,
    }
}

/// The value at a dotted path (`userIdentity.sessionContext.attributes`), looking into
/// objects given as JSON text. Absent when any step is missing or null-like.
pub fn at<'v>(v: &'v Value, path: &str) -> Option<Cow<'v, Value>> {
    let mut cur: Cow<'v, Value> = Cow::Borrowed(v);
    for key in path.split('.') {
        cur = match cur {
            Cow::Borrowed(b) => match as_object(b)? {
                Cow::Borrowed(o) => Cow::Borrowed(o.get(key)?),
                Cow::Owned(o) => Cow::Owned(o.get(key)?.clone()),
            },
            Cow::Owned(b) => Cow::Owned(as_object(&b)?.get(key)?.clone()),
        };
        if is_null(&cur) {
            return None;
        }
    }
    Some(cur)
}

/// An object, or a string holding one (stringified JSON inside JSON).
fn as_object(v: &Value) -> Option<Cow<'_, serde_json::Map<String, Value>>> {
    match v {
        Value::Object(o) => Some(Cow::Borrowed(o)),
        Value::String(s) if s.trim_start().starts_with('{') => {
            match serde_json::from_str::<Value>(s).ok()? {
                Value::Object(o) => Some(Cow::Owned(o)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The text of a scalar at `path`: strings as they are, numbers and booleans as their
/// JSON text. Objects and arrays have no text (absent).
pub fn text(v: &Value, path: &str) -> Option<String> {
    scalar_text(at(v, path)?.as_ref())
}

pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !is_null(v) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The first path that has text.
pub fn first_text(v: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| text(v, p))
}

/// A boolean at `path`: JSON booleans, and `true`/`false` written as strings (any case).
/// Anything else is absent.
pub fn boolean(v: &Value, path: &str) -> Option<bool> {
    match at(v, path)?.as_ref() {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// An integer at `path`, written as a number or as a string.
pub fn integer(v: &Value, path: &str) -> Option<i64> {
    match at(v, path)?.as_ref() {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The elements of the array at `path` (none when absent or not an array).
pub fn array<'v>(v: &'v Value, path: &str) -> Vec<Cow<'v, Value>> {
    match at(v, path) {
        Some(Cow::Borrowed(Value::Array(a))) => a.iter().map(Cow::Borrowed).collect(),
        Some(Cow::Owned(Value::Array(a))) => a.into_iter().map(Cow::Owned).collect(),
        // An array given as JSON text, as some pipelines stringify nested values.
        Some(v) => match v.as_str().filter(|s| s.trim_start().starts_with('[')) {
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Array(a)) => a.into_iter().map(Cow::Owned).collect(),
                _ => Vec::new(),
            },
            None => Vec::new(),
        },
        None => Vec::new(),
    }
}

/// `s` when it parses as an IPv4 or IPv6 address; else none (CloudTrail writes service
/// names such as `ecs.amazonaws.com` where an address would be).
pub fn ip(s: Option<String>) -> Option<String> {
    s.filter(|s| s.parse::<IpAddr>().is_ok())
}

/// RFC 3339 (UTC, microseconds) of an epoch time in milliseconds, or in seconds when the
/// number is below 10^11 (OCSF producers write either).
pub fn epoch_text(n: i64) -> Option<String> {
    let micros = if n.abs() < 100_000_000_000 {
        n.checked_mul(1_000_000)?
    } else {
        n.checked_mul(1_000)?
    };
    let dt = chrono::DateTime::from_timestamp_micros(micros)?;
    Some(dt.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quirks() {
        let v = json!({"a": {"b": "null", "c": "7", "d": ""}, "s": "{\"x\": {\"y\": 1}}"});
        assert_eq!(text(&v, "a.b"), None);
        assert_eq!(text(&v, "a.d"), None);
        assert_eq!(integer(&v, "a.c"), Some(7));
        assert_eq!(text(&v, "s.x.y").as_deref(), Some("1"));
        let t = json!({"target": "[{\"id\": \"u1\"}]"});
        assert_eq!(array(&t, "target").len(), 1);
        assert_eq!(ip(Some("ecs.amazonaws.com".into())), None);
        assert_eq!(
            ip(Some("2001:db8::1".into())).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            epoch_text(1_727_692_936).as_deref(),
            Some("2024-09-30T10:42:16.000000Z")
        );
        assert_eq!(
            epoch_text(1_727_692_936_123),
            epoch_text(1_727_692_936).map(|s| s.replace(".000000", ".123000"))
        );
    }
}
