//! Per-jurisdiction reports. The only module that knows minijinja: templates are embedded
//! in the binary and may be overridden file by file from `templates_dir`.

pub mod charts;
pub mod context;
pub mod evidence;
pub mod ocsf;
pub mod review_summary;

use std::path::Path;

use minijinja::{Environment, Value};

use crate::error::{Error, Result};

/// Built-in templates: (name, text).
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "report.html.j2",
        include_str!("../../templates/report.html.j2"),
    ),
    ("report.md.j2", include_str!("../../templates/report.md.j2")),
    // Access review campaign report (src/review/report.rs).
    (
        "review.html.j2",
        include_str!("../../templates/review.html.j2"),
    ),
    ("review.md.j2", include_str!("../../templates/review.md.j2")),
];

pub struct Renderer {
    env: Environment<'static>,
    /// (template name, sha256 of the text used, overridden?) for the manifest.
    pub used: Vec<(String, String, bool)>,
}

impl Renderer {
    pub fn new(templates_dir: Option<&Path>) -> Result<Renderer> {
        let mut env = Environment::new();
        env.add_filter("md", md_escape);
        env.set_formatter(control_escaping_formatter);
        // A block tag on its own line leaves no blank line behind: the Markdown template
        // relies on this for its tables and nested lists.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // Report files end with a newline like the templates do.
        env.set_keep_trailing_newline(true);
        if let Some(dir) = templates_dir {
            warn_on_unknown_templates(dir);
        }
        let mut used = Vec::new();
        for (name, builtin) in TEMPLATES {
            let over = templates_dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let (text, overridden) = match &over {
                Some(p) => (
                    std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?,
                    true,
                ),
                None => (builtin.to_string(), false),
            };
            used.push((
                name.to_string(),
                crate::hash::sha256_hex(text.as_bytes()),
                overridden,
            ));
            env.add_template_owned(name.to_string(), text)
                .map_err(|e| template_error(name, &e))?;
        }
        Ok(Renderer { env, used })
    }

    /// Callers hand over plain serialisable data: only this module knows minijinja.
    pub fn render<S: serde::Serialize>(&self, name: &str, ctx: &S) -> Result<String> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| template_error(name, &e))?;
        tmpl.render(ctx).map_err(|e| template_error(name, &e))
    }
}

fn template_error(name: &str, e: &minijinja::Error) -> Error {
    let line = e.line().map(|l| format!(" line {l}")).unwrap_or_default();
    let mut message = format!("{}{line}", e.kind());
    if let Some(d) = e.detail() {
        message.push_str(": ");
        message.push_str(d);
    }
    Error::Template {
        name: name.to_string(),
        message,
    }
}

/// Whether a jurisdiction code may become a directory name: the policy's own rule
/// (`[A-Z0-9_-]{1,16}`), checked again where the directory is made so that a policy
/// loaded by another path can never write outside the output directory.
pub fn safe_dir_name(code: &str) -> bool {
    (1..=16).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A file in `templates_dir` that overrides nothing (`report.html.jinja`, `Report.md.j2`) is
/// most likely a misnamed override, which would leave the built-in template in use unnoticed.
fn warn_on_unknown_templates(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with('.') && !TEMPLATES.iter().any(|(t, _)| *t == name) {
            let known: Vec<&str> = TEMPLATES.iter().map(|(t, _)| *t).collect();
            tracing::warn!(
                templates_dir = %dir.display(),
                file = %name,
                "template file overrides nothing (known templates: {}); the built-in ones are used",
                known.join(", ")
            );
        }
    }
}

/// Every value printed into a report: terminal control characters from input (ESC, CR,
/// backspace, DEL, the C1 range) would act on the terminal of anyone who `cat`s report.md,
/// or hide text, so they are written as `\x1b`-style escapes, as the run log does. Tab and
/// line feed are layout, not commands. Applies to values marked safe too: the markup our own
/// code builds holds no control characters, but it may quote input.
fn control_escaping_formatter(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &Value,
) -> std::result::Result<(), minijinja::Error> {
    match value
        .as_str()
        .filter(|s| s.chars().any(is_terminal_control))
    {
        Some(s) => {
            let escaped = escape_controls(s);
            let escaped = if value.is_safe() {
                Value::from_safe_string(escaped)
            } else {
                Value::from(escaped)
            };
            minijinja::escape_formatter(out, state, &escaped)
        }
        None => minijinja::escape_formatter(out, state, value),
    }
}

/// Also the bidirectional overrides and isolates, which reorder what a reader sees
/// ("Trojan Source") without being control characters.
fn is_terminal_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_terminal_control(c) {
            let code = u32::from(c);
            if code <= 0xff {
                out.push_str(&format!("\\x{code:02x}"));
            } else {
                out.push_str(&format!("\\u{{{code:x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Markdown table cells: input text must not break the table or inject HTML.
fn md_escape(value: Value) -> String {
    let s = if value.is_none() || value.is_undefined() {
        String::new()
    } else {
        value.to_string()
    };
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' | '*' | '_' | '[' | ']' | '\\' | '#' => {
                out.push('\\');
                out.push(ch);
            }
            // A carriage return is left to the formatter, which shows it as `\x0d`.
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
