//! `grading.toml` (optional): the highest entitlement risk each job function may hold,
//! and how peer groups are judged.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::Severity;
use crate::config::{entry_label, ConfigError, TomlFile};

#[derive(Debug, Clone, PartialEq)]
pub struct Grading {
    /// job function (as in `identities.job_function`) -> highest risk it may hold.
    pub job_functions: BTreeMap<String, Severity>,
    /// Peers (same department and job_function) needed before anyone is judged an outlier.
    pub min_size: u32,
    /// A permission held by at most this share of the peer group is an outlier.
    pub max_share: f64,
}

impl Default for Grading {
    fn default() -> Self {
        Grading {
            job_functions: BTreeMap::new(),
            min_size: 10,
            max_share: 0.10,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    job_function: Vec<Spanned<RawJobFunction>>,
    peer_groups: Option<RawPeerGroups>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJobFunction {
    name: Option<Spanned<String>>,
    max_risk: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeerGroups {
    min_size: Option<Spanned<i64>>,
    max_share: Option<Spanned<f64>>,
}

const PEER_GROUPS: &str = "[peer_groups]";

pub(crate) fn parse(file: &TomlFile) -> Result<Grading, ConfigError> {
    let raw: RawFile = file.parse(&[("job_function", "name")])?;
    let mut grading = Grading::default();
    let mut first_index: BTreeMap<String, usize> = BTreeMap::new();
    for (index, entry) in raw.job_function.into_iter().enumerate() {
        let span = entry.span();
        let raw = entry.into_inner();
        let label = entry_label(
            "job_function",
            index,
            raw.name.as_ref().map(|n| ("name", n.get_ref().as_str())),
        );
        let err = |key: &str, span, problem: String| {
            file.invalid(Some(&label), Some(key), Some(span), problem)
        };
        let name = raw
            .name
            .ok_or_else(|| err("name", span.clone(), "is required".into()))?;
        // identities.job_function is never blank (blank is null), so a blank name could
        // never match and would silently grade no one.
        if name.get_ref().trim().is_empty() {
            return Err(err("name", name.span(), "must not be empty".into()));
        }
        if let Some(first) = first_index.get(name.get_ref()) {
            return Err(err(
                "name",
                name.span(),
                format!(
                    "duplicate name {:?} (first used by job_function[{first}])",
                    name.get_ref()
                ),
            ));
        }
        let max_risk = raw
            .max_risk
            .ok_or_else(|| err("max_risk", span.clone(), "is required".into()))?;
        let risk = max_risk
            .get_ref()
            .parse::<Severity>()
            .map_err(|e| err("max_risk", max_risk.span(), e.to_string()))?;
        first_index.insert(name.get_ref().clone(), index);
        grading.job_functions.insert(name.into_inner(), risk);
    }
    if let Some(pg) = raw.peer_groups {
        if let Some(min_size) = pg.min_size {
            let v = file.int_in_range(
                Some(PEER_GROUPS),
                "min_size",
                &min_size,
                1,
                i64::from(u32::MAX),
            )?;
            grading.min_size = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(max_share) = pg.max_share {
            let v = *max_share.get_ref();
            // The range test is false for NaN, so NaN is rejected here too.
            if !(0.0..=1.0).contains(&v) {
                return Err(file.invalid(
                    Some(PEER_GROUPS),
                    Some("max_share"),
                    Some(max_share.span()),
                    format!("{v} is out of range: must be between 0 and 1"),
                ));
            }
            grading.max_share = v;
        }
    }
    Ok(grading)
}
