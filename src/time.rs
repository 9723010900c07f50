//! Time on the pipeline's scale: frames hold timestamps as `Int64` microseconds since the
//! Unix epoch, UTC, and a run evaluates at one instant `T`. Below every layer that reads or
//! computes on timestamps (ingest's digests, resolve, rules, reviews), so none of them has
//! to reach into another for a constant.

use chrono::{NaiveDate, NaiveTime};

pub const MICROS_PER_HOUR: i64 = 3_600_000_000;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// The shortest `max_silence_hours` a policy may set. The event digests keep a feed's
/// silences longer than this (and only those), so that any allowed threshold can be
/// judged from them without the events.
pub const MIN_SILENCE_HOURS: i64 = 1;

/// The evaluation instant `T` of an as_of date: the next midnight, UTC, in microseconds.
pub fn evaluation_instant(as_of: NaiveDate) -> i64 {
    let next = as_of.succ_opt().unwrap_or(as_of);
    next.and_time(NaiveTime::MIN).and_utc().timestamp_micros()
}

/// A day as the contract writes it (`YYYY-MM-DD`): run directory names, `as_of` columns.
pub fn day_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}
