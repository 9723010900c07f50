//! A finding's `detail` JSON turned into bounded, structured evidence for the templates:
//! role paths as segments, lists as lists, nested objects as records, timestamps in the
//! jurisdiction's time zone with their offset. Every rule writes its own shape of detail,
//! so nothing here knows a rule: it reads the JSON's shape only.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::Value;

/// Longest text shown for one value; longer strings are cut (the CSV has them whole).
const MAX_TEXT: usize = 240;
/// Scalars shown per list.
const MAX_ITEMS: usize = 12;
/// Records shown per list of objects, at the top level and deeper.
const MAX_RECORDS: [usize; 2] = [8, 4];
/// Segments shown per role path.
const MAX_SEGMENTS: usize = 12;
/// Nesting shown before the rest of a value is given as compact text.
const MAX_DEPTH: usize = 3;
/// Nodes per finding: a hard bound on the size of one finding's evidence.
const MAX_NODES: usize = 80;

/// Keys whose value names a record of a list, in order of preference.
const TITLE_KEYS: [&str; 9] = [
    "function",
    "rule_name",
    "event_id",
    "permission_id",
    "grant_id",
    "exception_id",
    "country",
    "entitlement_id",
    "account_id",
];

/// One piece of evidence. `kind` is `text`, `time`, `path`, `list`, `records` or `record`.
#[derive(Serialize, Clone, Debug)]
pub struct Ev {
    pub label: String,
    pub kind: &'static str,
    pub text: String,
    /// Path segments or list items.
    pub items: Vec<String>,
    /// Fields of a record, or the records of a list.
    pub children: Vec<Ev>,
    /// Items or records left out.
    pub more: usize,
    /// Nesting depth (0 for a finding's top-level fields), for indenting Markdown.
    pub depth: usize,
    /// Two spaces per depth level: Markdown list indentation, computed here so templates
    /// need no string arithmetic.
    pub indent: String,
}

impl Ev {
    fn new(label: String, kind: &'static str, depth: usize) -> Ev {
        Ev {
            label,
            kind,
            text: String::new(),
            items: Vec::new(),
            children: Vec::new(),
            more: 0,
            depth,
            indent: "  ".repeat(depth),
        }
    }
}

/// Evidence of one finding. A detail that is not a JSON object is shown as one text.
/// `known` are (column, value) pairs the report already shows as the finding's subject:
/// top-level detail fields repeating them are left out.
pub fn evidence(detail: &str, tz: Tz, known: &[(&str, &str)]) -> Vec<Ev> {
    let mut budget = MAX_NODES;
    match serde_json::from_str::<Value>(detail) {
        Ok(Value::Object(mut m)) => {
            m.retain(|k, v| !known.iter().any(|(kk, kv)| kk == k && scalar_eq(v, kv)));
            fields(&m, 0, tz, &mut budget)
        }
        Ok(other) if !detail.trim().is_empty() => {
            vec![node("detail", &other, 0, tz, &mut budget)]
        }
        _ if detail.trim().is_empty() => Vec::new(),
        _ => {
            let mut e = Ev::new("Detail".into(), "text", 0);
            e.text = cut(detail);
            vec![e]
        }
    }
}

/// A JSON scalar equal to a column's text (`seq` is a number in the detail, text in the
/// column).
fn scalar_eq(v: &Value, text: &str) -> bool {
    match v {
        Value::String(s) => s == text,
        Value::Number(n) => n.to_string() == text,
        _ => false,
    }
}

fn fields(m: &serde_json::Map<String, Value>, depth: usize, tz: Tz, budget: &mut usize) -> Vec<Ev> {
    let mut out = Vec::new();
    for (i, (k, v)) in m.iter().enumerate() {
        if *budget == 0 {
            let mut e = Ev::new("…".into(), "text", depth);
            e.text = format!("{} more field(s), see findings.csv", m.len() - i);
            out.push(e);
            break;
        }
        out.push(node(k, v, depth, tz, budget));
    }
    out
}

fn node(key: &str, v: &Value, depth: usize, tz: Tz, budget: &mut usize) -> Ev {
    *budget = budget.saturating_sub(1);
    let label = humanise(key);
    match v {
        Value::Array(a) if a.is_empty() => {
            let mut e = Ev::new(label, "text", depth);
            e.text = "none".into();
            e
        }
        Value::Array(a) if depth >= MAX_DEPTH => {
            let mut e = Ev::new(label, "text", depth);
            e.text = cut(&v.to_string());
            e.more = a.len();
            e
        }
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            let mut e = Ev::new(label, "list", depth);
            e.items = a.iter().take(MAX_ITEMS).map(|x| scalar(x, tz).1).collect();
            e.more = a.len().saturating_sub(MAX_ITEMS);
            *budget = budget.saturating_sub(e.items.len() / 4);
            e
        }
        Value::Array(a) => {
            let mut e = Ev::new(label, "records", depth);
            let shown = MAX_RECORDS[usize::from(depth > 0)];
            for (i, x) in a.iter().take(shown).enumerate() {
                if *budget == 0 {
                    break;
                }
                let mut r = match x {
                    Value::Object(m) => {
                        let (title, m) = record_title(m, i);
                        let mut r = Ev::new(title, "record", depth + 1);
                        r.children = fields(&m, depth + 2, tz, budget);
                        r
                    }
                    other => node(&format!("{}", i + 1), other, depth + 1, tz, budget),
                };
                r.depth = depth + 1;
                r.indent = "  ".repeat(depth + 1);
                e.children.push(r);
            }
            e.more = a.len() - e.children.len();
            e
        }
        Value::Object(m) if depth >= MAX_DEPTH => {
            let mut e = Ev::new(label, "text", depth);
            e.text = cut(&v.to_string());
            e.more = usize::from(!m.is_empty());
            e
        }
        Value::Object(m) => {
            let mut e = Ev::new(label, "record", depth);
            e.children = fields(m, depth + 1, tz, budget);
            e
        }
        Value::String(s) if s.contains(" > ") => {
            let mut e = Ev::new(label, "path", depth);
            let segs: Vec<&str> = s.split(" > ").map(str::trim).collect();
            e.items = segs.iter().take(MAX_SEGMENTS).map(|x| cut(x)).collect();
            e.more = segs.len().saturating_sub(MAX_SEGMENTS);
            e
        }
        other => {
            let (kind, text) = scalar(other, tz);
            let mut e = Ev::new(label, kind, depth);
            e.text = text;
            e
        }
    }
}

/// A record's title ("2. payout.release") and its fields without the one used as title,
/// and without a path that another path of the record already ends with (a role path is
/// the tail of the access path): the same fact twice only lengthens the report.
fn record_title(
    m: &serde_json::Map<String, Value>,
    i: usize,
) -> (String, serde_json::Map<String, Value>) {
    let mut m = m.clone();
    let title = TITLE_KEYS
        .iter()
        .find(|k| m.get(**k).is_some_and(Value::is_string))
        .and_then(|k| m.remove(*k))
        .and_then(|v| v.as_str().map(|s| format!("{}. {}", i + 1, cut(s))))
        .unwrap_or_else(|| format!("{}.", i + 1));
    let paths: Vec<String> = m
        .values()
        .filter_map(Value::as_str)
        .filter(|s| s.contains(" > "))
        .map(str::to_string)
        .collect();
    m.retain(|_, v| {
        v.as_str().is_none_or(|s| {
            !s.contains(" > ")
                || !paths
                    .iter()
                    .any(|p| p.len() > s.len() && p.ends_with(&format!(" > {s}")))
        })
    });
    (title, m)
}

/// A scalar as (kind, text).
fn scalar(v: &Value, tz: Tz) -> (&'static str, String) {
    match v {
        Value::Null => ("text", "—".into()),
        Value::Bool(b) => ("text", if *b { "yes" } else { "no" }.into()),
        Value::Number(n) => ("text", number(n)),
        Value::String(s) => match localise(s, tz) {
            Some(t) => ("time", t),
            None if s.contains(" > ") => ("text", cut(&s.replace(" > ", " → "))),
            None => ("text", cut(s)),
        },
        other => ("text", cut(&other.to_string())),
    }
}

/// Integers as they are; fractions to two decimals without trailing zeros (a silence of
/// 93.70555 hours reads as 93.71).
fn number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        Some(f) => {
            let s = format!("{f:.2}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            s.to_string()
        }
        None => n.to_string(),
    }
}

/// An RFC 3339 timestamp shown in the jurisdiction's time zone with its offset.
pub fn localise(s: &str, tz: Tz) -> Option<String> {
    // Cheap shape check first: most strings are not timestamps.
    let b = s.as_bytes();
    if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return None;
    }
    let d = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    Some(
        d.with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
    )
}

/// A timestamp text from a detail, localised when it is one, else as given.
pub fn time_text(s: &str, tz: Tz) -> String {
    localise(s, tz).unwrap_or_else(|| cut(s))
}

fn cut(s: &str) -> String {
    if s.chars().count() <= MAX_TEXT {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX_TEXT).collect();
        t.push('…');
        t
    }
}

/// `first_burst_failure` -> "First burst failure"; acronyms kept upper case.
pub fn humanise(key: &str) -> String {
    let words: Vec<String> = key
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "id" => "ID".to_string(),
            "ids" => "IDs".to_string(),
            "sod" => "SoD".to_string(),
            "mfa" => "MFA".to_string(),
            "sla" => "SLA".to_string(),
            "ts" => "time".to_string(),
            "seq" => "sequence no.".to_string(),
            other => other.to_string(),
        })
        .collect();
    let mut s = words.join(" ");
    if let Some(first) = s.get(0..1) {
        let up = first.to_uppercase();
        s.replace_range(0..1, &up);
    }
    if s.is_empty() {
        key.to_string()
    } else {
        s
    }
}
