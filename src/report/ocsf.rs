//! OCSF 1.x Compliance Finding (class_uid 2003) records for one jurisdiction. The records
//! are serialised one at a time as the file is written: a jurisdiction with hundreds of
//! thousands of findings never holds its OCSF document (gigabytes) in memory.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::context::{FrameRow, FrameText};
use crate::policy::Jurisdiction;
use crate::rules;
use crate::severity::Severity;

/// OCSF's "Unknown" for a severity word that is not ours (none is, as rules write them).
const UNKNOWN_SEVERITY: (u8, &str) = (0, "Unknown");

/// Writes the records of a jurisdiction's findings as one JSON array with one compact
/// record per line: a SIEM or `jq` reads the array, a shell tool reads the lines, and a
/// dense run's gigabytes are not half indentation.
pub fn write(
    w: &mut impl std::io::Write,
    j: &Jurisdiction,
    rows: &FrameText,
    t_micros: i64,
) -> std::io::Result<()> {
    let time = t_micros.div_euclid(1000);
    // Citations depend on the rule alone: worked out once per rule, not per finding.
    let mut citations: HashMap<&str, Citations> = HashMap::new();
    w.write_all(b"[")?;
    for (i, r) in rows.iter().enumerate() {
        w.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        let code = r.get("rule").unwrap_or_default();
        let cited = citations
            .entry(code)
            .or_insert_with(|| Citations::of(j, code));
        serde_json::to_writer(&mut *w, &record(j, r, time, code, cited))?;
    }
    w.write_all(if rows.is_empty() { b"]\n" } else { b"\n]\n" })
}

/// A rule's requirements (its own references, then the jurisdiction's) and the standards
/// they belong to.
struct Citations<'a> {
    requirements: Vec<&'a str>,
    standards: Vec<&'a str>,
}

impl<'a> Citations<'a> {
    fn of(j: &'a Jurisdiction, code: &str) -> Citations<'a> {
        let mut requirements: Vec<&str> = rules::meta(code)
            .map(|m| m.references.to_vec())
            .unwrap_or_default();
        for c in j.references.get(code).into_iter().flatten() {
            if !requirements.contains(&c.as_str()) {
                requirements.push(c);
            }
        }
        let mut standards: Vec<&str> = requirements
            .iter()
            .map(|r| {
                r.split(" req.")
                    .next()
                    .unwrap_or(r)
                    .split(',')
                    .next()
                    .unwrap_or(r)
                    .trim()
            })
            .collect();
        standards.sort();
        standards.dedup();
        Citations {
            requirements,
            standards,
        }
    }
}

// The structs below serialise field by field in the order of the OCSF document the
// product has always written (tests/pinned.rs holds its bytes).

#[derive(Serialize)]
struct Record<'a> {
    class_uid: u32,
    class_name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    activity_id: u32,
    activity_name: &'static str,
    type_uid: u32,
    type_name: &'static str,
    time: i64,
    severity_id: u8,
    severity: &'static str,
    status_id: u8,
    status: &'static str,
    finding_info: FindingInfo<'a>,
    compliance: Compliance<'a>,
    remediation: Remediation,
    resources: Vec<Resource<'a>>,
    unmapped: Unmapped<'a>,
    metadata: Metadata,
}

#[derive(Serialize)]
struct FindingInfo<'a> {
    uid: Option<&'a str>,
    title: Option<&'static str>,
    desc: Option<&'static str>,
    types: [&'a str; 1],
}

#[derive(Serialize)]
struct Compliance<'a> {
    control: &'a str,
    standards: &'a [&'a str],
    requirements: &'a [&'a str],
    status: &'static str,
    status_id: u8,
    status_detail: Cow<'static, str>,
}

#[derive(Serialize)]
struct Remediation {
    desc: Option<&'static str>,
}

#[derive(Serialize)]
struct Resource<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    uid: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct Unmapped<'a> {
    jurisdiction: &'a str,
    // first_seen is an as_of date, not an OCSF timestamp: kept unmapped.
    first_seen: Option<&'a str>,
    evidence: Evidence<'a>,
}

/// A finding's `detail` (JSON text), re-encoded token by token into the document being
/// written: the same bytes as parsing it into a `Value` and serialising that, without
/// building the tree (0.6M findings' evidence was most of the OCSF writing time).
struct Evidence<'a>(Option<&'a str>);

impl<'a> Evidence<'a> {
    /// The detail when it is JSON (the rules always write JSON; anything else is `null`).
    fn of(detail: Option<&'a str>) -> Evidence<'a> {
        Evidence(detail.filter(|d| serde_json::from_str::<serde::de::IgnoredAny>(d).is_ok()))
    }
}

impl Serialize for Evidence<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(text) => {
                serde_transcode::transcode(&mut serde_json::Deserializer::from_str(text), s)
            }
            None => s.serialize_unit(),
        }
    }
}

#[derive(Serialize)]
struct Metadata {
    version: &'static str,
    product: Product,
}

#[derive(Serialize)]
struct Product {
    name: &'static str,
    vendor_name: &'static str,
    version: &'static str,
}

fn record<'a>(
    j: &'a Jurisdiction,
    r: FrameRow<'a>,
    time: i64,
    code: &'a str,
    cited: &'a Citations<'a>,
) -> Record<'a> {
    let get = |k: &str| r.get(k);
    let meta = rules::meta(code);
    let (severity_id, severity) = get("severity")
        .and_then(|s| s.parse::<Severity>().ok())
        .map_or(UNKNOWN_SEVERITY, |s| (s.ocsf_id(), s.ocsf_label()));
    let status = get("status");
    let mitigated = status == Some("mitigated");
    let waived = status == Some("waived");
    // A waiver accepts the risk of a failed control; an exception's compensating control
    // makes it pass. Both suppress the finding.
    let status_detail: Cow<'static, str> = if mitigated {
        "accepted: covered by a valid SoD exception".into()
    } else if waived {
        let detail: Value = get("detail")
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(Value::Null);
        let waiver = detail
            .get("waiver")
            .and_then(|w| w.get("waiver_id"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        format!("waived: accepted risk under waiver {waiver}").into()
    } else {
        "open".into()
    };
    let mut resources = Vec::with_capacity(4);
    if let (Some(s), Some(a)) = (get("system_id"), get("account_id")) {
        resources.push(Resource {
            kind: "account",
            uid: format!("{s}:{a}").into(),
            name: Some(a),
        });
    }
    for (kind, column) in [
        ("grant", "grant_id"),
        ("identity", "identity_id"),
        ("system", "system_id"),
    ] {
        if let Some(uid) = get(column) {
            resources.push(Resource {
                kind,
                uid: uid.into(),
                name: None,
            });
        }
    }
    let suppressed = mitigated || waived;
    Record {
        class_uid: 2003,
        class_name: "Compliance Finding",
        category_uid: 2,
        category_name: "Findings",
        activity_id: 1,
        activity_name: "Create",
        type_uid: 200301,
        type_name: "Compliance Finding: Create",
        time,
        severity_id,
        severity,
        status_id: if suppressed { 3 } else { 1 },
        status: if suppressed { "Suppressed" } else { "New" },
        finding_info: FindingInfo {
            uid: get("finding_id"),
            title: meta.map(|m| m.title),
            desc: meta.map(|m| m.rationale),
            types: [code],
        },
        compliance: Compliance {
            control: code,
            standards: &cited.standards,
            requirements: &cited.requirements,
            status: if mitigated { "Pass" } else { "Fail" },
            status_id: if mitigated { 1 } else { 3 },
            status_detail,
        },
        remediation: Remediation {
            desc: meta.map(|m| m.remediation),
        },
        resources,
        unmapped: Unmapped {
            jurisdiction: &j.code,
            first_seen: get("first_seen"),
            evidence: Evidence::of(get("detail")),
        },
        metadata: Metadata {
            version: "1.3.0",
            product: Product {
                name: "permaudit",
                vendor_name: "permaudit",
                version: env!("CARGO_PKG_VERSION"),
            },
        },
    }
}
