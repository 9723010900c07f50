//! `jurisdictions.toml`: per-jurisdiction thresholds, calendars and citations.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Weekday, WeekdaySet};
use serde::Deserialize;
use toml::Spanned;

use crate::config::{entry_label, ConfigError, TomlFile, MAX_DAYS};
use crate::ingest::schema::MFA_METHOD;

const MAX_HOURS: i64 = MAX_DAYS * 24;
const MAX_MINUTES: i64 = MAX_HOURS * 60;

/// Local business hours as minutes since local midnight, `[start, end)`; `end` may be
/// 1440 (`24:00`). Windows crossing midnight are not supported: `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessHours {
    pub start_minute: u32,
    pub end_minute: u32,
}

impl BusinessHours {
    pub fn contains(&self, minute_of_day: u32) -> bool {
        self.start_minute <= minute_of_day && minute_of_day < self.end_minute
    }
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            start_minute: 8 * 60,
            end_minute: 20 * 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Jurisdiction {
    pub code: String,
    pub name: String,
    pub regulator: Option<String>,
    pub timezone: chrono_tz::Tz,
    pub stale_grant_days: i64,
    pub dormant_account_days: i64,
    pub termination_grace_hours: i64,
    /// Days after a review campaign's close within which its revocations must be applied.
    pub revocation_sla_days: i64,
    /// Hours after a run put an account on the freeze list within which it must be frozen.
    pub freeze_sla_hours: i64,
    pub review_interval_days: i64,
    pub privileged_review_interval_days: i64,
    pub mfa_required_for_privileged: bool,
    pub disabled_rules: BTreeSet<String>,
    pub allowed_login_countries: BTreeSet<String>,
    pub business_hours: BusinessHours,
    /// chrono's `Weekday` has no `Ord`, so a set of days is chrono's own bit set.
    pub business_days: WeekdaySet,
    pub failed_login_threshold: u32,
    pub failed_login_window_minutes: i64,
    pub travel_hours: i64,
    pub max_silence_hours: i64,
    /// Days within which a holder of access must have completed security training.
    pub security_training_interval_days: i64,
    /// Courses that count as security training (compared exactly); empty: any course.
    pub security_training_courses: BTreeSet<String>,
    /// Second factors acceptable on privileged sign-ins; empty: every method (no check).
    pub allowed_mfa_methods_for_privileged: BTreeSet<String>,
    /// Days back from T within which the log feed's gaps are reviewed.
    pub log_review_days: i64,
    pub references: BTreeMap<String, Vec<String>>,
    /// Jurisdictions whose outputs may carry the personal data of people whose home is this
    /// one (CONTRACT section 8); every code is defined in the same file.
    pub share_personal_data_with: BTreeSet<String>,
}

impl Jurisdiction {
    /// A jurisdiction with the contract's defaults, for code that builds policies
    /// without a file (tests, generators).
    pub fn new(code: impl Into<String>, name: impl Into<String>) -> Jurisdiction {
        Jurisdiction {
            code: code.into(),
            name: name.into(),
            regulator: None,
            timezone: chrono_tz::Tz::UTC,
            stale_grant_days: 90,
            dormant_account_days: 90,
            termination_grace_hours: 24,
            revocation_sla_days: 14,
            freeze_sla_hours: 24,
            review_interval_days: 180,
            privileged_review_interval_days: 90,
            mfa_required_for_privileged: true,
            disabled_rules: BTreeSet::new(),
            allowed_login_countries: BTreeSet::new(),
            business_hours: BusinessHours::default(),
            business_days: WeekdaySet::from_array([
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ]),
            failed_login_threshold: 10,
            failed_login_window_minutes: 15,
            travel_hours: 2,
            max_silence_hours: 48,
            security_training_interval_days: 365,
            security_training_courses: BTreeSet::new(),
            allowed_mfa_methods_for_privileged: BTreeSet::new(),
            log_review_days: 90,
            references: BTreeMap::new(),
            share_personal_data_with: BTreeSet::new(),
        }
    }

    pub fn rule_enabled(&self, code: &str) -> bool {
        !self.disabled_rules.contains(code)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    jurisdiction: Vec<Spanned<RawJurisdiction>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJurisdiction {
    code: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    regulator: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    stale_grant_days: Option<Spanned<i64>>,
    dormant_account_days: Option<Spanned<i64>>,
    termination_grace_hours: Option<Spanned<i64>>,
    revocation_sla_days: Option<Spanned<i64>>,
    freeze_sla_hours: Option<Spanned<i64>>,
    review_interval_days: Option<Spanned<i64>>,
    privileged_review_interval_days: Option<Spanned<i64>>,
    mfa_required_for_privileged: Option<bool>,
    disabled_rules: Option<Vec<Spanned<String>>>,
    allowed_login_countries: Option<Vec<Spanned<String>>>,
    business_hours: Option<Spanned<String>>,
    business_days: Option<Vec<Spanned<String>>>,
    failed_login_threshold: Option<Spanned<i64>>,
    failed_login_window_minutes: Option<Spanned<i64>>,
    travel_hours: Option<Spanned<i64>>,
    max_silence_hours: Option<Spanned<i64>>,
    security_training_interval_days: Option<Spanned<i64>>,
    security_training_courses: Option<Vec<Spanned<String>>>,
    allowed_mfa_methods_for_privileged: Option<Vec<Spanned<String>>>,
    log_review_days: Option<Spanned<i64>>,
    references: Option<BTreeMap<Spanned<String>, Vec<Spanned<String>>>>,
    share_personal_data_with: Option<Vec<Spanned<String>>>,
}

pub(crate) fn parse(
    file: &TomlFile,
    known_rule_codes: &[&str],
) -> Result<Vec<Jurisdiction>, ConfigError> {
    let raw: RawFile = file.parse(&[("jurisdiction", "code")])?;
    if raw.jurisdiction.is_empty() {
        return Err(file.invalid(
            None,
            None,
            None,
            "at least one [[jurisdiction]] entry is required",
        ));
    }
    let mut out: Vec<Jurisdiction> = Vec::with_capacity(raw.jurisdiction.len());
    let mut first_index: BTreeMap<String, usize> = BTreeMap::new();
    // Checked once every code is known: a list may name a jurisdiction defined further down.
    let mut shares: Vec<(String, Vec<Spanned<String>>)> = Vec::new();
    for (index, entry) in raw.jurisdiction.into_iter().enumerate() {
        let span = entry.span();
        let raw = entry.into_inner();
        let label = entry_label(
            "jurisdiction",
            index,
            raw.code.as_ref().map(|c| ("code", c.get_ref().as_str())),
        );
        let code_span = raw.code.as_ref().map_or(span.clone(), |c| c.span());
        shares.push((
            label.clone(),
            raw.share_personal_data_with.clone().unwrap_or_default(),
        ));
        let ctx = Ctx {
            file,
            label: &label,
            known_rule_codes,
        };
        let j = ctx.convert(raw, span)?;
        if let Some(first) = first_index.get(&j.code) {
            return Err(file.invalid(
                Some(&label),
                Some("code"),
                Some(code_span),
                format!(
                    "duplicate code {:?} (first used by jurisdiction[{first}])",
                    j.code
                ),
            ));
        }
        first_index.insert(j.code.clone(), index);
        out.push(j);
    }
    for (label, items) in shares {
        for (i, item) in items.iter().enumerate() {
            if !first_index.contains_key(item.get_ref()) {
                let defined: Vec<&str> = out.iter().map(|j| j.code.as_str()).collect();
                return Err(file.invalid(
                    Some(&label),
                    Some(&format!("share_personal_data_with[{i}]")),
                    Some(item.span()),
                    format!(
                        "{:?} is not a jurisdiction code defined in this file (defined: {})",
                        item.get_ref(),
                        defined.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(out)
}

struct Ctx<'a> {
    file: &'a TomlFile,
    label: &'a str,
    known_rule_codes: &'a [&'a str],
}

impl Ctx<'_> {
    fn err(
        &self,
        key: &str,
        span: std::ops::Range<usize>,
        problem: impl Into<String>,
    ) -> ConfigError {
        self.file
            .invalid(Some(self.label), Some(key), Some(span), problem)
    }

    fn int(
        &self,
        key: &str,
        v: Option<Spanned<i64>>,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<i64, ConfigError> {
        match v {
            None => Ok(default),
            Some(v) => self.file.int_in_range(Some(self.label), key, &v, min, max),
        }
    }

    fn text(&self, key: &str, v: Spanned<String>) -> Result<String, ConfigError> {
        if v.get_ref().trim().is_empty() {
            return Err(self.err(key, v.span(), "must not be empty"));
        }
        Ok(v.into_inner())
    }

    fn known_rule(&self, key: &str, v: &Spanned<String>) -> Result<(), ConfigError> {
        if self.known_rule_codes.contains(&v.get_ref().as_str()) {
            return Ok(());
        }
        Err(self.err(
            key,
            v.span(),
            format!(
                "{:?} is not a known rule code (known: {})",
                v.get_ref(),
                self.known_rule_codes.join(", ")
            ),
        ))
    }

    /// A list whose items must be distinct: a repeated item usually means another one was
    /// meant, and in a control that is worth stopping for.
    fn set<T: Ord>(
        &self,
        key: &str,
        items: Vec<Spanned<String>>,
        mut check: impl FnMut(&str, &Spanned<String>) -> Result<T, ConfigError>,
    ) -> Result<BTreeSet<T>, ConfigError> {
        let mut out = BTreeSet::new();
        for (i, item) in items.iter().enumerate() {
            let item_key = format!("{key}[{i}]");
            let value = check(&item_key, item)?;
            if !out.insert(value) {
                return Err(self.err(
                    &item_key,
                    item.span(),
                    format!("duplicate value {:?}", item.get_ref()),
                ));
            }
        }
        Ok(out)
    }

    /// Only the first problem of an entry is reported, so the steps (and the checks within
    /// them) run in one fixed order: which problem a broken file reports stays the same.
    fn convert(
        &self,
        mut raw: RawJurisdiction,
        span: std::ops::Range<usize>,
    ) -> Result<Jurisdiction, ConfigError> {
        let mut j = self.named(&mut raw, span)?;
        self.review_periods(&mut raw, &mut j)?;
        self.access(&mut raw, &mut j)?;
        self.sign_in_limits(&mut raw, &mut j)?;
        self.sharing_and_training(&mut raw, &mut j)?;
        if let Some(refs) = raw.references {
            j.references = self.references(refs)?;
        }
        Ok(j)
    }

    /// The jurisdiction with its required code and name, its regulator and timezone, and
    /// the contract's defaults for everything else.
    fn named(
        &self,
        raw: &mut RawJurisdiction,
        span: std::ops::Range<usize>,
    ) -> Result<Jurisdiction, ConfigError> {
        let file = self.file;
        let code = raw.code.take().ok_or_else(|| {
            file.invalid(
                Some(self.label),
                Some("code"),
                Some(span.clone()),
                "is required",
            )
        })?;
        if !valid_code(code.get_ref()) {
            return Err(self.err(
                "code",
                code.span(),
                format!("{:?} does not match [A-Z0-9_-]{{1,16}}", code.get_ref()),
            ));
        }
        let name = raw.name.take().ok_or_else(|| {
            file.invalid(
                Some(self.label),
                Some("name"),
                Some(span.clone()),
                "is required",
            )
        })?;
        let mut j = Jurisdiction::new(code.into_inner(), self.text("name", name)?);
        j.regulator = raw
            .regulator
            .take()
            .map(|r| self.text("regulator", r))
            .transpose()?;
        if let Some(tz) = raw.timezone.take() {
            j.timezone = file.timezone(Some(self.label), "timezone", &tz)?;
        }
        Ok(j)
    }

    /// Grace periods, service levels and review intervals.
    fn review_periods(
        &self,
        raw: &mut RawJurisdiction,
        j: &mut Jurisdiction,
    ) -> Result<(), ConfigError> {
        j.stale_grant_days = self.int(
            "stale_grant_days",
            raw.stale_grant_days.take(),
            j.stale_grant_days,
            1,
            MAX_DAYS,
        )?;
        j.dormant_account_days = self.int(
            "dormant_account_days",
            raw.dormant_account_days.take(),
            j.dormant_account_days,
            1,
            MAX_DAYS,
        )?;
        j.termination_grace_hours = self.int(
            "termination_grace_hours",
            raw.termination_grace_hours.take(),
            j.termination_grace_hours,
            0,
            MAX_HOURS,
        )?;
        j.revocation_sla_days = self.int(
            "revocation_sla_days",
            raw.revocation_sla_days.take(),
            j.revocation_sla_days,
            0,
            MAX_DAYS,
        )?;
        j.freeze_sla_hours = self.int(
            "freeze_sla_hours",
            raw.freeze_sla_hours.take(),
            j.freeze_sla_hours,
            0,
            MAX_HOURS,
        )?;
        j.review_interval_days = self.int(
            "review_interval_days",
            raw.review_interval_days.take(),
            j.review_interval_days,
            1,
            MAX_DAYS,
        )?;
        j.privileged_review_interval_days = self.int(
            "privileged_review_interval_days",
            raw.privileged_review_interval_days.take(),
            j.privileged_review_interval_days,
            1,
            MAX_DAYS,
        )?;
        Ok(())
    }

    /// Who may sign in, from where and when: MFA, disabled rules, login countries and the
    /// business calendar.
    fn access(&self, raw: &mut RawJurisdiction, j: &mut Jurisdiction) -> Result<(), ConfigError> {
        if let Some(mfa) = raw.mfa_required_for_privileged {
            j.mfa_required_for_privileged = mfa;
        }
        if let Some(items) = raw.disabled_rules.take() {
            j.disabled_rules = self.set("disabled_rules", items, |key, item| {
                self.known_rule(key, item)?;
                Ok(item.get_ref().clone())
            })?;
        }
        if let Some(items) = raw.allowed_login_countries.take() {
            j.allowed_login_countries =
                self.set("allowed_login_countries", items, |key, item| {
                    let s = item.get_ref();
                    if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) {
                        Ok(s.clone())
                    } else {
                        Err(self.err(
                            key,
                            item.span(),
                            format!(
                                "{s:?} is not an ISO 3166 alpha-2 code (two upper-case letters)"
                            ),
                        ))
                    }
                })?;
        }
        if let Some(bh) = raw.business_hours.take() {
            j.business_hours = parse_business_hours(bh.get_ref())
                .map_err(|p| self.err("business_hours", bh.span(), p))?;
        }
        if let Some(items) = raw.business_days.take() {
            j.business_days = self.business_days(&items)?;
        }
        Ok(())
    }

    /// The business days as a set. An empty list is allowed: every privileged action then
    /// counts as off-hours, which is loud rather than silent.
    fn business_days(&self, items: &[Spanned<String>]) -> Result<WeekdaySet, ConfigError> {
        let mut days = WeekdaySet::EMPTY;
        for (i, item) in items.iter().enumerate() {
            let key = format!("business_days[{i}]");
            let day = parse_weekday(item.get_ref()).ok_or_else(|| {
                self.err(
                    &key,
                    item.span(),
                    format!(
                        "{:?} is not one of mon, tue, wed, thu, fri, sat, sun",
                        item.get_ref()
                    ),
                )
            })?;
            if !days.insert(day) {
                return Err(self.err(
                    &key,
                    item.span(),
                    format!("duplicate value {:?}", item.get_ref()),
                ));
            }
        }
        Ok(days)
    }

    /// Thresholds of the sign-in rules: failed logins, travel and silence.
    fn sign_in_limits(
        &self,
        raw: &mut RawJurisdiction,
        j: &mut Jurisdiction,
    ) -> Result<(), ConfigError> {
        let threshold = self.int(
            "failed_login_threshold",
            raw.failed_login_threshold.take(),
            i64::from(j.failed_login_threshold),
            1,
            i64::from(u32::MAX),
        )?;
        j.failed_login_threshold = u32::try_from(threshold).unwrap_or(u32::MAX);
        j.failed_login_window_minutes = self.int(
            "failed_login_window_minutes",
            raw.failed_login_window_minutes.take(),
            j.failed_login_window_minutes,
            1,
            MAX_MINUTES,
        )?;
        j.travel_hours = self.int(
            "travel_hours",
            raw.travel_hours.take(),
            j.travel_hours,
            1,
            MAX_HOURS,
        )?;
        j.max_silence_hours = self.int(
            "max_silence_hours",
            raw.max_silence_hours.take(),
            j.max_silence_hours,
            crate::time::MIN_SILENCE_HOURS,
            MAX_HOURS,
        )?;
        Ok(())
    }

    /// Personal-data sharing, security training, privileged second factors and the log
    /// review period.
    fn sharing_and_training(
        &self,
        raw: &mut RawJurisdiction,
        j: &mut Jurisdiction,
    ) -> Result<(), ConfigError> {
        if let Some(items) = raw.share_personal_data_with.take() {
            j.share_personal_data_with =
                self.set("share_personal_data_with", items, |_, item| {
                    Ok(item.get_ref().clone())
                })?;
        }
        j.security_training_interval_days = self.int(
            "security_training_interval_days",
            raw.security_training_interval_days.take(),
            j.security_training_interval_days,
            1,
            MAX_DAYS,
        )?;
        if let Some(items) = raw.security_training_courses.take() {
            j.security_training_courses =
                self.set("security_training_courses", items, |key, item| {
                    if item.get_ref().trim().is_empty() {
                        return Err(self.err(key, item.span(), "must not be empty"));
                    }
                    Ok(item.get_ref().clone())
                })?;
        }
        if let Some(items) = raw.allowed_mfa_methods_for_privileged.take() {
            j.allowed_mfa_methods_for_privileged =
                self.set("allowed_mfa_methods_for_privileged", items, |key, item| {
                    let m = item.get_ref();
                    if MFA_METHOD.contains(&m.as_str()) {
                        Ok(m.clone())
                    } else {
                        Err(self.err(
                            key,
                            item.span(),
                            format!("{m:?} is not one of {}", MFA_METHOD.join(", ")),
                        ))
                    }
                })?;
        }
        j.log_review_days = self.int(
            "log_review_days",
            raw.log_review_days.take(),
            j.log_review_days,
            1,
            MAX_DAYS,
        )?;
        Ok(())
    }

    /// Citations per rule code, each code a known rule and each citation non-empty.
    fn references(
        &self,
        refs: BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    ) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
        let mut out = BTreeMap::new();
        for (code, citations) in refs {
            let key = format!("references.{}", code.get_ref());
            self.known_rule(&key, &code)?;
            let mut list = Vec::with_capacity(citations.len());
            for (i, c) in citations.into_iter().enumerate() {
                list.push(self.text(&format!("{key}[{i}]"), c)?);
            }
            out.insert(code.into_inner(), list);
        }
        Ok(out)
    }
}

fn valid_code(code: &str) -> bool {
    (1..=16).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

pub(crate) fn parse_business_hours(s: &str) -> Result<BusinessHours, String> {
    let shape = || format!("{s:?} is not HH:MM-HH:MM");
    let (a, b) = s.split_once('-').ok_or_else(shape)?;
    let start = parse_hhmm(a, false).ok_or_else(shape)?;
    let end = parse_hhmm(b, true).ok_or_else(shape)?;
    if start >= end {
        return Err(format!(
            "{s:?}: start must be before end (windows across midnight are not supported)"
        ));
    }
    Ok(BusinessHours {
        start_minute: start,
        end_minute: end,
    })
}

/// Minutes since midnight of a strict two-digit `HH:MM`; `24:00` only as an end.
fn parse_hhmm(s: &str, allow_midnight_end: bool) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return None;
    }
    let digit = |i: usize| b[i].is_ascii_digit().then(|| u32::from(b[i] - b'0'));
    let hours = digit(0)? * 10 + digit(1)?;
    let minutes = digit(3)? * 10 + digit(4)?;
    match (hours, minutes) {
        (24, 0) if allow_midnight_end => Some(24 * 60),
        (h, m) if h < 24 && m < 60 => Some(h * 60 + m),
        _ => None,
    }
}
