//! Parsing of one cell into a typed value, shared by every input format.

use chrono::{DateTime, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;

use super::schema::{ColType, Column};

/// A typed cell. Timestamps are microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Str(String),
    Bool(bool),
    Int(i64),
    Ts(i64),
}

/// Why a cell was rejected; becomes the quarantine reason.
#[derive(Debug, Clone, PartialEq)]
pub enum CellError {
    Missing,
    Bad { what: String, value: String },
    NotUtf8,
}

impl CellError {
    pub fn describe(&self, column: &str) -> String {
        match self {
            CellError::Missing => format!("missing required value in column {column}"),
            CellError::NotUtf8 => format!("bytes that are not UTF-8 in column {column}"),
            CellError::Bad { what, value } => {
                format!("bad {what} in column {column}: {value:?}")
            }
        }
    }
}

/// A bad-value error; the value is cut to 200 characters so that one huge cell cannot
/// flood the quarantine reason (the raw row keeps it whole).
pub fn bad(what: impl Into<String>, value: &str) -> CellError {
    CellError::Bad {
        what: what.into(),
        value: value.chars().take(200).collect(),
    }
}

/// Turns a textual cell (`None` or empty = null) into the column's typed value, applying
/// the column default to nulls and the requiredness check last.
pub fn parse_text(
    col: &Column,
    raw: Option<&str>,
    naive_tz: Option<Tz>,
) -> Result<Value, CellError> {
    let raw = raw.filter(|s| !s.is_empty());
    let value = match raw {
        None => Value::Null,
        Some(s) => match col.ty {
            ColType::Id if s.trim().is_empty() => Value::Null,
            ColType::Id | ColType::Text if !col.multiline && has_line_break(s) => {
                return Err(bad(LINE_BREAK, s));
            }
            ColType::Id | ColType::Text => Value::Str(s.to_string()),
            ColType::Enum(words) => {
                if words.contains(&s) {
                    Value::Str(s.to_string())
                } else {
                    let what = format!("enum value (expected one of {})", words.join(", "));
                    return Err(bad(what, s));
                }
            }
            ColType::Bool => Value::Bool(parse_bool(s).ok_or_else(|| bad("boolean", s))?),
            ColType::Int => Value::Int(s.parse::<i64>().map_err(|_| bad("integer", s))?),
            ColType::Timestamp => match parse_timestamp(s, naive_tz) {
                Some(ts) => Value::Ts(ts),
                None if is_leap_second(s, naive_tz) => {
                    return Err(bad("timestamp (leap second not supported)", s));
                }
                None => return Err(bad("timestamp", s)),
            },
        },
    };
    finish(col, value)
}

/// The `what` of a bad value holding a line break in a column that cannot hold one.
pub const LINE_BREAK: &str = "value (a line break, in a column that cannot hold one)";

/// Bytes rather than chars, and `memchr`: it runs on every identifier and text cell of every
/// row.
pub fn has_line_break(s: &str) -> bool {
    memchr::memchr2(b'\n', b'\r', s.as_bytes()).is_some()
}

/// Parses one row column by column (`cell(i, column)` for schema column `i`), keeping
/// every problem so that the quarantine reason names all bad cells at once.
pub fn row_cells(
    columns: &[Column],
    mut cell: impl FnMut(usize, &Column) -> Result<Value, CellError>,
) -> Result<Vec<Value>, String> {
    let mut cells = Vec::with_capacity(columns.len());
    let mut problems = Vec::new();
    for (i, col) in columns.iter().enumerate() {
        match cell(i, col) {
            Ok(v) => cells.push(v),
            Err(e) => problems.push(e.describe(col.name)),
        }
    }
    if problems.is_empty() {
        Ok(cells)
    } else {
        Err(problems.join("; "))
    }
}

/// Applies the default and the requiredness check to an already typed value.
pub fn finish(col: &Column, value: Value) -> Result<Value, CellError> {
    match value {
        Value::Null => match col.default {
            Some(d) if col.ty == ColType::Bool => Ok(Value::Bool(d == "true")),
            Some(d) => Ok(Value::Str(d.to_string())),
            None if col.required => Err(CellError::Missing),
            None => Ok(Value::Null),
        },
        v => Ok(v),
    }
}

pub fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") || s == "1" {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") || s == "0" {
        Some(false)
    } else {
        None
    }
}

/// 0000-01-01T00:00:00Z in microseconds since the Unix epoch.
pub const MIN_TS: i64 = -62_167_219_200_000_000;
/// 9999-12-31T23:59:59.999999Z in microseconds since the Unix epoch.
pub const MAX_TS: i64 = 253_402_300_799_999_999;

/// Timestamps are limited to years 0000 to 9999, the range RFC 3339 text can express. A
/// native Parquet timestamp can hold far more; outside this range it is a bad value, so
/// that every loaded timestamp converts to a date and window arithmetic cannot overflow.
pub fn in_range(micros: i64) -> Option<i64> {
    (MIN_TS..=MAX_TS).contains(&micros).then_some(micros)
}

/// RFC 3339 with an offset (`T` or space between date and time), or, when a zone is
/// configured, a naive local time that exists exactly once in that zone. Precision beyond
/// microseconds is truncated.
///
/// A leap second (`23:59:60`) is refused: chrono accepts `:60` at any minute and counts it
/// as the next minute's first second, so an event in the last second before T would fall
/// on T (and out of the run), and Unix time, which every frame holds, has no such second.
pub fn parse_timestamp(s: &str, naive_tz: Option<Tz>) -> Option<i64> {
    // A bare date and other short forms never carry a time of day.
    if s.len() < 19 {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        if dt.nanosecond() >= 1_000_000_000 {
            return None;
        }
        return in_range(dt.timestamp_micros());
    }
    let tz = naive_tz?;
    let naive = parse_naive(s).filter(|n| n.nanosecond() < 1_000_000_000)?;
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(dt) => in_range(dt.timestamp_micros()),
        _ => None,
    }
}

/// Whether `s` is refused only for its leap second: it parses with `:59` instead of `:60`.
fn is_leap_second(s: &str, naive_tz: Option<Tz>) -> bool {
    match (s.get(..17), s.get(17..19), s.get(19..)) {
        (Some(head), Some("60"), Some(tail)) => {
            parse_timestamp(&format!("{head}59{tail}"), naive_tz).is_some()
        }
        _ => false,
    }
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dt%H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let utc = parse_timestamp("2026-11-24T08:15:00Z", None);
        assert_eq!(utc, Some(1_795_508_100_000_000));
        assert_eq!(parse_timestamp("2026-11-24 16:15:00+08:00", None), utc);
        assert_eq!(
            parse_timestamp("2026-11-24T08:15:00.1234567Z", None),
            utc.map(|u| u + 123_456)
        );
        assert_eq!(parse_timestamp("2026-11-24", None), None);
        assert_eq!(parse_timestamp("2026-11-24T08:15:00", None), None);
        let hk: Tz = "Asia/Hong_Kong".parse().unwrap_or(Tz::UTC);
        assert_eq!(parse_timestamp("2026-11-24T16:15:00", Some(hk)), utc);
        // London falls back on 2026-10-25: 01:30 happens twice; springs forward 2026-03-29.
        let lon: Tz = "Europe/London".parse().unwrap_or(Tz::UTC);
        assert_eq!(parse_timestamp("2026-10-25T01:30:00", Some(lon)), None);
        assert_eq!(parse_timestamp("2026-03-29T01:30:00", Some(lon)), None);
        // Leap seconds, real (2016-12-31) or not, with or without a zone.
        assert_eq!(parse_timestamp("2016-12-31T23:59:60Z", None), None);
        assert_eq!(parse_timestamp("2026-11-23T23:59:60.5Z", None), None);
        assert_eq!(parse_timestamp("2026-11-23 23:59:60", Some(hk)), None);
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}
