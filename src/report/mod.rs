//! Per-jurisdiction reports. The only module that knows minijinja: templates are embedded
//! in the binary and may be overridden file by file from `templates_dir`.

pub mod charts;
pub mod context;
pub mod evidence;
pub mod ocsf;

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
        // A block tag on its own line leaves no blank line behind: the Markdown template
        // relies on this for its tables and nested lists.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // Report files end with a newline like the templates do.
        env.set_keep_trailing_newline(true);
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

    pub fn render(&self, name: &str, ctx: &Value) -> Result<String> {
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
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
