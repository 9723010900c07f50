//! Reports: size bounds, escaping, evidence rendering, SoD exceptions, charts, template
//! overrides, OCSF and summary shape, well-formed self-contained HTML, golden files.
//!
//! Golden files live in `tests/golden/`; refresh them after an intended change with
//! `UPDATE_GOLDEN=1 cargo test --test suite report::golden` (the integration tests are one
//! binary, `suite`).

use crate::common::{run_in, sample_copy};

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate};
use permaudit::findings::COLUMNS;
use permaudit::history::History;
use permaudit::ingest::{IngestReport, Tables};
use permaudit::policy::Jurisdiction;
use permaudit::report::{charts, context, safe_dir_name, Renderer};
use permaudit::resolve::Coverage;
use polars::prelude::*;
use serde_json::{json, Value};

const HOSTILE: &str = "<script>alert(1)</script>";

/// 2026-11-25T00:00:00Z, the sample's evaluation instant, in µs.
fn t() -> i64 {
    DateTime::parse_from_rfc3339("2026-11-25T00:00:00Z")
        .expect("instant")
        .timestamp_micros()
}

fn hk() -> Jurisdiction {
    let mut j = Jurisdiction::new("HK", "Hong Kong");
    j.timezone = chrono_tz::Asia::Hong_Kong;
    j.regulator = Some("HKMA".into());
    j
}

/// A findings frame (every column text) from (column -> value) rows.
fn frame(rows: &[Vec<(&str, String)>]) -> DataFrame {
    let cols: Vec<Column> = COLUMNS
        .iter()
        .map(|c| {
            let v: Vec<Option<String>> = rows
                .iter()
                .map(|r| r.iter().find(|(k, _)| k == c).map(|(_, v)| v.clone()))
                .collect();
            Column::new((*c).into(), v)
        })
        .collect();
    DataFrame::new(rows.len(), cols).expect("frame")
}

fn sod_detail(identity: &str, matches: usize) -> String {
    let m: Vec<Value> = (0..matches)
        .map(|i| {
            json!({
                "system_id": "pay-hk", "account_id": "acc", "grant_id": format!("G{i}"),
                "permission_id": format!("perm.{i}"), "granted_at": "2024-01-07T12:38:00Z",
                "role_path": "role.a > role.b > perm",
                "access_path": format!("{identity} > acc@pay-hk > role.a > role.b > perm"),
            })
        })
        .collect();
    json!({
        "sod_rule_id": "SOD-001", "rule_name": "Maker vs checker", "identity_id": identity,
        "functions": [{"function": "Maker", "matches": m.clone()}, {"function": "Checker", "matches": m}],
        "status": "open", "exception": null,
    })
    .to_string()
}

fn finding(i: usize, rule: &str, identity: &str, detail: String) -> Vec<(&'static str, String)> {
    vec![
        ("finding_id", format!("F-{i:016x}")),
        ("rule", rule.to_string()),
        (
            "severity",
            ["critical", "high", "medium", "low"][i % 4].to_string(),
        ),
        ("status", "open".to_string()),
        ("jurisdiction", "HK".to_string()),
        ("identity_id", identity.to_string()),
        ("system_id", "pay-hk".to_string()),
        ("account_id", "acc".to_string()),
        ("sod_rule_id", "SOD-001".to_string()),
        ("first_seen", "2026-11-24".to_string()),
        ("detail", detail),
    ]
}

struct World {
    tables: Tables,
    ingest: IngestReport,
    history: History,
    coverage: Coverage,
}

impl World {
    fn new() -> World {
        World {
            tables: Tables::empty(&permaudit::rules::chain_checks()).expect("tables"),
            ingest: IngestReport::default(),
            history: History::default(),
            coverage: Coverage::default(),
        }
    }

    fn render(&self, j: &Jurisdiction, findings: &DataFrame) -> (String, String) {
        let shared = context::Shared {
            coverage: &self.coverage,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"),
            t: t(),
            config_sha256: "00",
            policy_files: &[],
            ingest: &self.ingest,
            history: &self.history,
            tables: &self.tables,
        };
        let freeze = DataFrame::empty();
        let rows = context::FrameText::of(findings).expect("rows");
        let ctx = context::build(j, &rows, &freeze, None, &shared).expect("context");
        let v = minijinja::Value::from_serialize(&ctx);
        let r = Renderer::new(None).expect("renderer");
        (
            r.render("report.html.j2", &v).expect("html"),
            r.render("report.md.j2", &v).expect("md"),
        )
    }
}

#[test]
fn fifty_thousand_findings_keep_the_html_small_and_say_where_the_rest_is() {
    let codes: Vec<&str> = permaudit::rules::REGISTRY
        .iter()
        .map(|r| r.meta.code)
        .collect();
    // The heaviest evidence there is, everywhere: nested functions and long paths.
    let heavy = sod_detail("E1", 12);
    let rows: Vec<Vec<(&str, String)>> = (0..50_000)
        .map(|i| finding(i, codes[i % codes.len()], &format!("E{i}"), heavy.clone()))
        .collect();
    let df = frame(&rows);
    let started = std::time::Instant::now();
    let (html, md) = World::new().render(&hk(), &df);
    eprintln!(
        "rendered {} bytes of HTML in {:?}",
        html.len(),
        started.elapsed()
    );
    assert!(html.len() < 5_000_000, "HTML is {} bytes", html.len());
    assert!(md.len() < 5_000_000, "Markdown is {} bytes", md.len());
    let per_rule = 50_000 / codes.len();
    let shown =
        (context::TOP_TOTAL / codes.len()).clamp(context::MIN_PER_RULE, context::TOP_PER_RULE);
    assert!(html.contains(&format!(
        "Showing {shown} of {per_rule} findings of this rule; the other {} are in",
        per_rule - shown
    )));
    assert!(html.contains("<a href=\"findings.csv\">findings.csv</a>"));
    assert!(md.contains("`findings.csv`"));
    assert!(html.contains("<div class=\"card total\"><b>50000</b>"));
}

#[test]
fn hostile_values_are_text_in_html_and_neutralised_in_markdown() {
    let mut w = World::new();
    w.tables.identities = df!(
        "identity_id" => ["E1"], "display_name" => [HOSTILE], "email" => [None::<&str>],
        "department" => [HOSTILE], "job_function" => [HOSTILE], "manager_id" => [None::<&str>],
        "status" => ["active"], "terminated_at" => [None::<i64>]
    )
    .expect("identities");
    let detail = json!({"note": HOSTILE, "path": format!("E1 > {HOSTILE} > perm"),
        "department": HOSTILE, "job_function": HOSTILE, "list": [HOSTILE]})
    .to_string();
    let mut rows = vec![finding(0, "SOD_CONFLICT", "E1", detail.clone())];
    rows.push(finding(1, "PEER_OUTLIER", "E1", detail.clone()));
    rows.push(finding(2, "GRADE_EXCEEDED", "E1", detail));
    rows[0].push(("target_id", HOSTILE.to_string()));
    let (html, md) = w.render(&hk(), &frame(&rows));
    assert!(!html.contains("<script"), "raw script tag in HTML");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
    assert!(!md.contains("<script"), "raw script tag in Markdown");
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

/// The attack: input text carrying terminal escapes (clear screen, a fake "0 findings"
/// line after a carriage return, a Trojan Source override) reaches report.md, which an
/// operator `cat`s in a terminal.
#[test]
fn terminal_control_bytes_from_input_are_escaped_in_both_reports() {
    const ESCAPES: &str = "ok\u{1b}[2J\u{1b}]0;pwned\u{7}\rCLEAN\u{8}\u{7f}\u{9b}\u{202e}evil";
    let mut w = World::new();
    w.tables.identities = df!(
        "identity_id" => ["E1"], "display_name" => [ESCAPES], "email" => [None::<&str>],
        "department" => [ESCAPES], "job_function" => [ESCAPES], "manager_id" => [None::<&str>],
        "status" => ["active"], "terminated_at" => [None::<i64>]
    )
    .expect("identities");
    let detail = json!({"note": ESCAPES, "path": format!("E1 > {ESCAPES} > perm")}).to_string();
    let mut rows = vec![finding(0, "SOD_CONFLICT", "E1", detail.clone())];
    rows.push(finding(1, "PEER_OUTLIER", "E1", detail));
    rows[0].push(("target_id", ESCAPES.to_string()));
    let (html, md) = w.render(&hk(), &frame(&rows));
    for (name, text) in [("html", &html), ("md", &md)] {
        let raw: Vec<char> = text
            .chars()
            .filter(|c| {
                (c.is_control() && *c != '\n' && *c != '\t')
                    || ('\u{202a}'..='\u{202e}').contains(c)
            })
            .collect();
        assert!(
            raw.is_empty(),
            "{name} holds raw control characters {raw:?}"
        );
        assert!(text.contains("\\x1b"), "{name}: ESC shown as \\x1b");
        assert!(text.contains("\\x0dCLEAN"), "{name}: CR shown, not obeyed");
        assert!(text.contains("\\u{202e}evil"), "{name}: override shown");
    }
}

#[test]
fn evidence_is_structured_localised_and_bounded() {
    let detail = json!({
        "last_use": "2026-11-10T02:05:12Z",
        "events": 3,
        "ratio": 93.70555555,
        "access_path": "E1 > acc@pay-hk > role.ops_lead > payout.release",
        "actions": (0..40).map(|i| format!("a{i}")).collect::<Vec<_>>(),
        "exception": {"exception_id": "EXC-1", "expires_at": "2027-03-31T15:59:59Z"},
        "blob": "x".repeat(5000),
    })
    .to_string();
    let (html, md) = World::new().render(&hk(), &frame(&[finding(0, "STALE_GRANT", "E1", detail)]));
    // Local time with its offset, never the raw UTC string.
    assert!(html.contains("2026-11-10 10:05:12 +08:00"));
    assert!(!html.contains("2026-11-10T02:05:12Z"));
    assert!(html.contains("2027-03-31 23:59:59 +08:00"));
    // The role path as segments, in order.
    assert!(html.contains(
        "<span class=\"seg\">E1</span><span class=\"arr\">→</span><span class=\"seg\">acc@pay-hk</span>"
    ));
    assert!(md.contains("E1 → acc@pay-hk → role.ops\\_lead → payout.release"));
    // Lists bounded and counted; long text cut; no JSON dump.
    assert!(html.contains("+28 more"));
    assert!(!html.contains(&"x".repeat(300)));
    assert!(!html.contains("{&quot;"));
    assert!(html.contains("93.71"));
}

#[test]
fn sod_exceptions_are_grouped_by_state_for_reported_identities() {
    let mut w = World::new();
    let day = 86_400_000_000_i64;
    let t = t();
    w.tables.exceptions = df!(
        "exception_id" => ["X-FORCE", "X-SOON", "X-GONE", "X-SELF", "X-OTHER"],
        "sod_rule_id" => ["SOD-001"; 5],
        "identity_id" => ["E1", "E2", "E3", "E4", "E9"],
        "approved_by" => ["E8", "E8", "E8", "E4", "E8"],
        "approved_at" => [t - 90 * day; 5],
        "expires_at" => [t + 200 * day, t + 10 * day, t - 3 * day, t + 100 * day, t + 100 * day],
        "control" => ["dual control"; 5]
    )
    .expect("exceptions");
    let rows: Vec<_> = ["E1", "E2", "E3", "E4"]
        .iter()
        .enumerate()
        .map(|(i, e)| finding(i, "SOD_CONFLICT", e, sod_detail(e, 1)))
        .collect();
    let (html, md) = w.render(&hk(), &frame(&rows));
    let section = html
        .split("id=\"exceptions\"")
        .nth(1)
        .and_then(|s| s.split("id=\"log-audit\"").next())
        .expect("exceptions section");
    let pos = |s: &str| section.find(s).unwrap_or_else(|| panic!("{s} missing"));
    assert!(pos("In force (1)") < pos("X-FORCE"));
    assert!(pos("Expiring within 30 days (1)") < pos("X-SOON"));
    assert!(pos("X-SOON") < pos("Expired (1)"));
    assert!(pos("Expired (1)") < pos("X-GONE"));
    assert!(pos("X-GONE") < pos("X-SELF"));
    assert!(section.contains("expired 3 day(s) ago"));
    assert!(!section.contains("X-OTHER"), "identity not reported here");
    assert!(md.contains("### Expiring within 30 days (1)"));
}

#[test]
fn log_audit_and_grading_sections_show_the_rules_findings() {
    let burst = json!({"burst_failures": 12, "first_burst_failure": "2026-11-08T03:00:00Z",
        "last_burst_failure": "2026-11-08T03:05:30Z", "success_after_burst_failure": "2026-11-08T03:06:00Z",
        "failed_login_threshold": 10, "failed_login_window_minutes": 15});
    let grade = json!({"job_function": "support_agent", "max_risk": "medium", "highest_risk": "high",
        "highest_risk_entitlement_id": "payout.release", "highest_risk_path": "role.x > payout.release",
        "exceeding_count": 2});
    let peer = json!({"department": "ops", "job_function": "clerk", "peer_group_size": 20, "holders": 1,
        "max_share": 0.1, "min_size": 10, "grants": [{"grant_id": "G1", "entitlement_id": "limit.change"}]});
    let silent = json!({"latest_event_ts": "2026-11-21T02:17:40Z", "silence_hours": 93.7, "max_silence_hours": 48});
    let rows = vec![
        finding(0, "FAILED_LOGIN_BURST", "E1", burst.to_string()),
        finding(1, "GRADE_EXCEEDED", "E2", grade.to_string()),
        finding(2, "PEER_OUTLIER", "E3", peer.to_string()),
        finding(3, "LOG_FEED_SILENT", "E4", silent.to_string()),
    ];
    let (html, md) = World::new().render(&hk(), &frame(&rows));
    for s in [
        "5. Log audit",
        "Failed-login bursts (1)",
        "12 (threshold 10 in 15 min)",
        "2026-11-08 11:06:00 +08:00",
        "Impossible travel (0)",
        "Break-glass (emergency) account use (0)",
        "Silent log feeds (1)",
        "93.7 h",
        "6. Permission grading",
        "support_agent (1)",
        "may hold up to risk medium",
        "ops &#x2f; clerk (1)",
        "peer group of 20",
        "limit.change (G1)",
    ] {
        assert!(html.contains(s), "HTML lacks {s:?}");
    }
    assert!(md.contains("## 5. Log audit") && md.contains("## 6. Permission grading"));
    assert!(md.contains("**support\\_agent** (1): may hold up to risk medium"));
}

#[test]
fn a_single_run_trend_is_a_column_not_a_lone_dot() {
    let svg = charts::trend(&[("2026-11-24".into(), 22)]);
    assert!(svg.contains("<rect"));
    assert!(svg.contains("first run"));
    assert!(!svg.contains("<circle"));
    let svg = charts::trend(&[("2026-11-23".into(), 20), ("2026-11-24".into(), 22)]);
    assert_eq!(svg.matches("<rect").count(), 2);
    assert!(svg.contains("2026-11-23") && svg.contains("2026-11-24"));
}

#[test]
fn jurisdiction_codes_are_checked_before_they_name_a_directory() {
    for ok in ["HK", "EU", "US-NY", "X_1"] {
        assert!(safe_dir_name(ok), "{ok}");
    }
    for bad in [
        "",
        "..",
        "../x",
        "hk",
        "A/B",
        "ABCDEFGHIJKLMNOPQ",
        "A B",
        "É",
    ] {
        assert!(!safe_dir_name(bad), "{bad}");
    }
}

#[test]
fn templates_can_be_overridden_and_errors_name_template_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("report.md.j2"), "custom {{ code|md }}\n").expect("write");
    let r = Renderer::new(Some(dir.path())).expect("renderer");
    let out = r
        .render("report.md.j2", &minijinja::context! { code => "HK" })
        .expect("render");
    assert_eq!(out, "custom HK\n");
    let md = r.used.iter().find(|u| u.0 == "report.md.j2").expect("md");
    assert!(md.2, "marked overridden");
    assert_eq!(md.1, permaudit::hash::sha256_hex(b"custom {{ code|md }}\n"));
    let html = r
        .used
        .iter()
        .find(|u| u.0 == "report.html.j2")
        .expect("html");
    assert!(!html.2, "built-in html kept");

    std::fs::write(
        dir.path().join("report.html.j2"),
        "<p>ok</p>\n<p>ok</p>\n{% if %}\n",
    )
    .expect("write");
    let err = Renderer::new(Some(dir.path()))
        .err()
        .expect("syntax error")
        .to_string();
    assert!(err.contains("report.html.j2"), "{err}");
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn ocsf_records_follow_the_compliance_finding_class() {
    let mut j = hk();
    j.references
        .insert("SOD_CONFLICT".into(), vec!["HKMA TM-G-1 3.3".into()]);
    let mut mitigated = finding(0, "SOD_CONFLICT", "E1", sod_detail("E1", 1));
    mitigated.retain(|(k, _)| *k != "status");
    mitigated.push(("status", "mitigated".into()));
    let rows = context::FrameText::of(&frame(&[
        mitigated,
        finding(1, "SOD_CONFLICT", "E2", sod_detail("E2", 1)),
    ]))
    .expect("rows");
    let mut text = Vec::new();
    permaudit::report::ocsf::write(&mut text, &j, &rows, t()).expect("ocsf");
    let text = String::from_utf8(text).expect("utf-8");
    // One JSON array, one record per line between the brackets.
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!((lines[0], lines[lines.len() - 1]), ("[", "]"));
    assert_eq!(lines.len(), 4);
    // A jurisdiction without findings: still one (empty) array.
    let mut empty = Vec::new();
    let none = context::FrameText::of(&DataFrame::empty()).expect("rows");
    permaudit::report::ocsf::write(&mut empty, &j, &none, t()).expect("ocsf");
    assert_eq!(String::from_utf8(empty).expect("utf-8"), "[]\n");
    let v: serde_json::Value = serde_json::from_str(&text).expect("ocsf");
    let list = v.as_array().expect("array");
    assert_eq!(list.len(), 2);
    for (r, row) in list.iter().zip(rows.iter()) {
        assert_eq!(r["class_uid"], 2003);
        assert_eq!(r["category_uid"], 2);
        assert_eq!(r["type_uid"], 200301);
        assert_eq!(r["activity_id"], 1);
        assert_eq!(r["time"], t() / 1000);
        assert_eq!(r["finding_info"]["uid"], row.get("finding_id").expect("id"));
        assert!(r["finding_info"]["title"].is_string());
        assert_eq!(r["compliance"]["control"], "SOD_CONFLICT");
        let req = r["compliance"]["requirements"]
            .as_array()
            .expect("requirements");
        assert!(req.iter().any(|c| c == "HKMA TM-G-1 3.3"));
        assert!(r["compliance"]["standards"]
            .as_array()
            .is_some_and(|s| !s.is_empty()));
        assert!(r["severity_id"]
            .as_u64()
            .is_some_and(|s| (1..=6).contains(&s)));
        assert_eq!(r["metadata"]["product"]["name"], "permaudit");
        assert!(r["metadata"]["version"]
            .as_str()
            .is_some_and(|s| s.starts_with("1.")));
        let types: Vec<&str> = r["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .filter_map(|x| x["type"].as_str())
            .collect();
        assert!(types.contains(&"account") && types.contains(&"identity"));
    }
    assert_eq!(list[0]["status_id"], 3);
    assert_eq!(list[0]["status"], "Suppressed");
    assert_eq!(list[1]["status_id"], 1);
    assert_eq!(list[1]["status"], "New");
    assert_eq!(list[0]["severity_id"], 5);
    assert_eq!(list[0]["severity"], "Critical");
}

// ---- end to end on the sample -------------------------------------------------------

fn run_sample(extra_config: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, cfg) = sample_copy(extra_config);
    let o = run_in(dir.path(), &cfg, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("out/2026-11-24");
    (dir, out)
}

/// Tags balance (void elements and self-closed SVG aside), nothing is fetched, no script.
fn assert_self_contained_well_formed(html: &str) {
    const VOID: [&str; 8] = ["meta", "br", "hr", "img", "input", "link", "col", "wbr"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        if rest.starts_with("!--") {
            let end = rest.find("-->").expect("comment closed");
            rest = &rest[end + 3..];
            continue;
        }
        let end = rest.find('>').expect("tag closed");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some(closing) = tag.strip_prefix('/') {
            let _ = closing;
            let open = stack.pop().unwrap_or_default();
            assert_eq!(open, name, "</{name}> closes <{open}>");
        } else if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
            if name == "style" {
                // CSS may hold '<' or '>' in selectors: skip to its end tag.
                let close = rest.find("</style>").expect("style closed");
                rest = &rest[close + "</style>".len()..];
                continue;
            }
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script", "<link", "<img", "<iframe", "@import", "url(", " src=",
    ] {
        assert!(!lower.contains(bad), "found {bad}");
    }
    let without_ns = lower.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
}

#[test]
fn sample_reports_are_self_contained_consistent_and_overridable() {
    let tdir = tempfile::tempdir().expect("tempdir");
    std::fs::write(tdir.path().join("report.md.j2"), "# {{ code|md }} custom\n").expect("tmpl");
    let (_dir, out) = run_sample(&format!("templates_dir = {:?}\n", tdir.path()));
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).expect("m"))
            .expect("json");
    let tmpl = manifest["templates"].as_array().expect("templates");
    let md = tmpl
        .iter()
        .find(|t| t["name"] == "report.md.j2")
        .expect("md listed");
    assert_eq!(md["overridden"], true);
    assert_eq!(
        md["sha256"],
        permaudit::hash::sha256_hex(b"# {{ code|md }} custom\n")
    );
    assert!(tmpl
        .iter()
        .all(|t| t["sha256"].as_str().is_some_and(|h| h.len() == 64)));

    for code in ["CN", "EU", "HK", "SG", "UK", "US"] {
        let jd = out.join(code);
        let md = std::fs::read_to_string(jd.join("report.md")).expect("md");
        assert_eq!(md, format!("# {code} custom\n"));
        let html = std::fs::read_to_string(jd.join("report.html")).expect("html");
        assert_self_contained_well_formed(&html);
        for s in [
            "Executive summary",
            "SoD exceptions",
            "Waivers",
            "Log audit",
            "Permission grading",
            "Data quality",
            "Attestation",
            "Prepared by",
        ] {
            assert!(html.contains(s), "{code}: {s}");
        }
        // summary.json agrees with the jurisdiction's CSV.
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(jd.join("summary.json")).expect("s"))
                .expect("json");
        let mut rdr = csv::Reader::from_path(jd.join("findings.csv")).expect("csv");
        let headers = rdr.headers().expect("headers").clone();
        let idx = |n: &str| headers.iter().position(|h| h == n).expect("column");
        let recs: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("record")).collect();
        assert_eq!(summary["findings"], recs.len());
        let n_sum = |k: &str| {
            summary[k]
                .as_object()
                .map_or(0, |m| m.values().filter_map(Value::as_u64).sum::<u64>())
        };
        for k in ["by_rule", "by_severity", "by_status"] {
            assert_eq!(n_sum(k), recs.len() as u64, "{code} {k}");
        }
        let new = summary["new"].as_u64().unwrap_or(0);
        let persisting = summary["persisting"].as_u64().unwrap_or(0);
        assert_eq!(
            new + persisting,
            recs.len() as u64,
            "{code}: new + persisting"
        );
        // OCSF: one record per finding, uid = finding_id.
        let ocsf: Value = serde_json::from_str(
            &std::fs::read_to_string(jd.join("findings.ocsf.json")).expect("o"),
        )
        .expect("json");
        let ids: Vec<&str> = ocsf
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|r| r["finding_info"]["uid"].as_str())
            .collect();
        let csv_ids: Vec<&str> = recs
            .iter()
            .filter_map(|r| r.get(idx("finding_id")))
            .collect();
        assert_eq!(ids, csv_ids, "{code}");
    }
}

/// Golden files of every per-jurisdiction format for HK on the sample.
#[test]
fn golden_hk_reports_on_the_sample() {
    let (_dir, out) = run_sample("");
    let golden = Path::new("tests/golden/HK");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for f in [
        "report.html",
        "report.md",
        "summary.json",
        "findings.ocsf.json",
        "findings.csv",
    ] {
        let got = std::fs::read_to_string(out.join("HK").join(f)).expect("output");
        let path = golden.join(f);
        if update {
            std::fs::create_dir_all(golden).expect("mkdir");
            std::fs::write(&path, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "{} missing: run UPDATE_GOLDEN=1 cargo test --test report golden",
                path.display()
            )
        });
        assert!(
            got == want,
            "{f} differs from {}; if intended, run UPDATE_GOLDEN=1 cargo test --test report golden",
            path.display()
        );
    }
}

/// The cover shows one row per input table with a combined hash an auditor can recompute
/// from the manifest (`LC_ALL=C sort | sha256sum`); every file is in the appendix, after
/// the attestation, and none before the executive summary.
#[test]
fn the_cover_summarises_inputs_by_table_and_the_appendix_lists_every_file() {
    let (dir, cfg) = sample_copy("");
    // The events cut into three day-partitions.
    let input = dir.path().join("input");
    let text = std::fs::read_to_string(input.join("audit_events.csv")).expect("events");
    std::fs::remove_file(input.join("audit_events.csv")).expect("rm");
    std::fs::create_dir(input.join("audit_events")).expect("mkdir");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let rows: Vec<&str> = lines.collect();
    for (i, part) in rows.chunks(rows.len().div_ceil(3)).enumerate() {
        std::fs::write(
            input.join(format!("audit_events/part-{i}.csv")),
            format!("{header}\n{}\n", part.join("\n")),
        )
        .expect("write part");
    }
    let o = run_in(dir.path(), &cfg, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("out/2026-11-24");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest"))
            .expect("json");
    let mut hashes: Vec<&str> = manifest["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter(|i| i["table"] == "audit_events")
        .filter_map(|i| i["sha256"].as_str())
        .collect();
    assert_eq!(hashes.len(), 3);
    hashes.sort();
    let combined = permaudit::hash::sha256_hex(format!("{}\n", hashes.join("\n")).as_bytes());
    assert_eq!(
        combined,
        permaudit::hash::combined_sha256(hashes.iter().rev().copied())
    );

    let rows = manifest["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["table"] == "audit_events")
        .and_then(|t| t["rows_read"].as_u64())
        .expect("audit_events rows");
    let md = std::fs::read_to_string(out.join("HK/report.md")).expect("report");
    let (cover, rest) = md.split_once("## 1. Executive summary").expect("summary");
    assert!(
        cover.contains(&format!("| audit\\_events | 3 | {rows} | `{combined}` |")),
        "{cover}"
    );
    assert!(!cover.contains("part-0.csv"), "{cover}");
    let (body, appendix) = rest
        .split_once("## Appendix: input files")
        .expect("appendix");
    assert!(body.contains("## 10. Attestation"));
    for (i, h) in hashes.iter().enumerate() {
        assert!(appendix.contains(h), "{i}: {appendix}");
    }
    assert!(appendix.contains("| audit\\_events | audit\\_events/part-2.csv |"));

    let html = std::fs::read_to_string(out.join("HK/report.html")).expect("html");
    let (cover, rest) = html.split_once("id=\"summary\"").expect("summary");
    assert!(cover.contains(&combined) && !cover.contains("part-0.csv"));
    let appendix = rest
        .split_once("id=\"appendix-inputs\"")
        .expect("appendix")
        .1;
    assert!(hashes.iter().all(|h| appendix.contains(h)));
}
