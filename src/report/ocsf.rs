//! OCSF 1.x Compliance Finding (class_uid 2003) records for one jurisdiction.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::policy::Jurisdiction;
use crate::rules;
use crate::severity::Severity;

/// OCSF's "Unknown" for a severity word that is not ours (none is, as rules write them).
const UNKNOWN_SEVERITY: (u8, &str) = (0, "Unknown");

pub fn records(j: &Jurisdiction, rows: &[BTreeMap<String, String>], t_micros: i64) -> Value {
    let time = t_micros.div_euclid(1000);
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            let get = |k: &str| r.get(k).cloned();
            let code = get("rule").unwrap_or_default();
            let meta = rules::meta(&code);
            let mut requirements: Vec<String> =
                meta.map(|m| m.references.iter().map(|s| s.to_string()).collect()).unwrap_or_default();
            for c in j.references.get(&code).into_iter().flatten() {
                if !requirements.contains(c) {
                    requirements.push(c.clone());
                }
            }
            let standards: Vec<String> = {
                let mut s: Vec<String> = requirements
                    .iter()
                    .map(|r| r.split(" req.").next().unwrap_or(r).split(',').next().unwrap_or(r).trim().to_string())
                    .collect();
                s.sort();
                s.dedup();
                s
            };
            let (severity_id, severity) = get("severity")
                .and_then(|s| s.parse::<Severity>().ok())
                .map_or(UNKNOWN_SEVERITY, |s| (s.ocsf_id(), s.ocsf_label()));
            let status = get("status");
            let mitigated = status.as_deref() == Some("mitigated");
            let waived = status.as_deref() == Some("waived");
            // A waiver accepts the risk of a failed control; an exception's compensating
            // control makes it pass. Both suppress the finding.
            let waiver = waived
                .then(|| detail_waiver(get("detail").as_deref()))
                .flatten();
            let mut resources = Vec::new();
            if let (Some(s), Some(a)) = (get("system_id"), get("account_id")) {
                resources.push(json!({"type": "account", "uid": format!("{s}:{a}"), "name": a}));
            }
            if let Some(g) = get("grant_id") {
                resources.push(json!({"type": "grant", "uid": g}));
            }
            if let Some(i) = get("identity_id") {
                resources.push(json!({"type": "identity", "uid": i}));
            }
            if let Some(s) = get("system_id") {
                resources.push(json!({"type": "system", "uid": s}));
            }
            let detail: Value = get("detail").and_then(|d| serde_json::from_str(&d).ok()).unwrap_or(Value::Null);
            json!({
                "class_uid": 2003,
                "class_name": "Compliance Finding",
                "category_uid": 2,
                "category_name": "Findings",
                "activity_id": 1,
                "activity_name": "Create",
                "type_uid": 200301,
                "type_name": "Compliance Finding: Create",
                "time": time,
                "severity_id": severity_id,
                "severity": severity,
                "status_id": if mitigated || waived { 3 } else { 1 },
                "status": if mitigated || waived { "Suppressed" } else { "New" },
                "finding_info": {
                    "uid": get("finding_id"),
                    "title": meta.map(|m| m.title),
                    "desc": meta.map(|m| m.rationale),
                    "types": [code.clone()],
                },
                "compliance": {
                    "control": code,
                    "standards": standards,
                    "requirements": requirements,
                    "status": if mitigated { "Pass" } else { "Fail" },
                    "status_id": if mitigated { 1 } else { 3 },
                    "status_detail": if mitigated {
                        "accepted: covered by a valid SoD exception".to_string()
                    } else if waived {
                        format!("waived: accepted risk under waiver {}", waiver.unwrap_or_default())
                    } else {
                        "open".to_string()
                    },
                },
                "remediation": {"desc": meta.map(|m| m.remediation)},
                "resources": resources,
                // first_seen is an as_of date, not an OCSF timestamp: kept unmapped.
                "unmapped": {"jurisdiction": j.code, "first_seen": get("first_seen"), "evidence": detail},
                "metadata": {
                    "version": "1.3.0",
                    "product": {"name": "permaudit", "vendor_name": "permaudit", "version": env!("CARGO_PKG_VERSION")},
                },
            })
        })
        .collect();
    Value::Array(list)
}

/// The id of the waiver a finding's detail names.
fn detail_waiver(detail: Option<&str>) -> Option<String> {
    let d: Value = serde_json::from_str(detail?).ok()?;
    d.get("waiver")?
        .get("waiver_id")?
        .as_str()
        .map(str::to_string)
}
