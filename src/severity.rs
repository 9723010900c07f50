//! The one four-level scale of the contract: a finding's severity, a SoD rule's risk and an
//! entitlement's grade ceiling are all `low < medium < high < critical`, written in exact
//! lower-case words.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Lowest first.
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The level's place on the scale, `low` 0 to `critical` 3: for comparing levels in
    /// frames, where the enum itself cannot go.
    pub fn rank(self) -> i32 {
        self as i32
    }

    /// Most severe first, the order in which reports list findings and counts.
    pub fn most_severe_first() -> impl Iterator<Item = Severity> {
        Severity::ALL.into_iter().rev()
    }

    /// OCSF `severity_id` (1.x: 2 Low, 3 Medium, 4 High, 5 Critical).
    pub fn ocsf_id(self) -> u8 {
        match self {
            Severity::Low => 2,
            Severity::Medium => 3,
            Severity::High => 4,
            Severity::Critical => 5,
        }
    }

    /// OCSF `severity`: the caption of `severity_id`.
    pub fn ocsf_label(self) -> &'static str {
        match self {
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a risk level (expected low, medium, high or critical)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;

    /// Exact lower-case words only, as for every enumeration in the contract.
    fn from_str(s: &str) -> Result<Severity, UnknownSeverity> {
        Severity::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownSeverity(s.to_string()))
    }
}
