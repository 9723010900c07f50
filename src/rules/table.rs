//! A rule's table in the report: its place (section, title, column headers) and how one
//! finding becomes a row, reading the finding's `detail` through [`Detail`]. The report
//! supplies what it alone knows (names, local time) through [`Subject`].
//!
//! Every read of a detail key goes through [`Detail`], so a test can record the keys a
//! table reads and check that its rule produces them: a renamed evidence field fails that
//! test instead of showing "—" in the report.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde_json::Value as Json;

/// The report sections that hold rule tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    LogAudit,
    Grading,
}

/// The title and note of a finding's group within a table (e.g. its job function).
pub type GroupOf = fn(&Detail) -> (String, String);

/// A table of the report; several rules may share one (a rule points at another rule's
/// `Layout`). The report lists a section's tables each in the place of the last of its
/// rules in the registry.
pub struct Layout {
    /// Anchor in the HTML report.
    pub id: &'static str,
    pub section: Section,
    pub title: &'static str,
    pub intro: &'static str,
    pub headers: &'static [&'static str],
    /// Splits the table into groups, each with a title and a note; None for one group.
    pub group: Option<GroupOf>,
}

/// A rule's part of a table: the layout and the cells of one of its findings, one per
/// header.
pub struct Table {
    pub layout: &'static Layout,
    pub cells: fn(&dyn Subject, &Detail) -> Vec<String>,
}

/// What the report shows of a finding besides its detail.
pub trait Subject {
    /// The identity with its name, or "—".
    fn identity(&self) -> String;
    /// `account @ system`, or whichever of the two the finding has, or "—".
    fn account(&self) -> String;
    /// The system with its name, or "—".
    fn system(&self) -> String;
    /// A finding column's text (None when null).
    fn column(&self, name: &str) -> Option<String>;
    /// An RFC 3339 UTC timestamp as the jurisdiction's local time.
    fn local_time(&self, utc: &str) -> String;

    /// The timestamp under `key` as local time, or "—".
    fn time(&self, d: &Detail, key: &str) -> String {
        d.str(key)
            .map_or_else(|| "—".into(), |s| self.local_time(s))
    }
}

static NULL: Json = Json::Null;

/// One finding's detail (or a record inside it), read by key.
pub struct Detail<'a> {
    json: &'a Json,
    /// Where reads are recorded, and the path of this record (`pairs[].` inside a list).
    reads: Option<(&'a RefCell<BTreeSet<String>>, String)>,
}

impl<'a> Detail<'a> {
    pub fn new(json: &'a Json) -> Detail<'a> {
        Detail { json, reads: None }
    }

    /// A detail that records every key read (as a path: `key`, `list[].key`) into `reads`.
    pub fn recording(json: &'a Json, reads: &'a RefCell<BTreeSet<String>>) -> Detail<'a> {
        Detail {
            json,
            reads: Some((reads, String::new())),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Json> {
        if let Some((reads, prefix)) = &self.reads {
            reads.borrow_mut().insert(format!("{prefix}{key}"));
        }
        self.json.get(key)
    }

    fn child(&self, key: &str, json: &'a Json) -> Detail<'a> {
        Detail {
            json,
            reads: self
                .reads
                .as_ref()
                .map(|(reads, prefix)| (*reads, format!("{prefix}{key}[]."))),
        }
    }

    pub fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(Json::as_str)
    }

    pub fn f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Json::as_f64)
    }

    /// A scalar as text ("—" when absent).
    pub fn txt(&self, key: &str) -> String {
        scalar_text(self.get(key))
    }

    /// A list of scalars as "a, b, c" (at most 8, then "+n more"; "none" when empty).
    pub fn list(&self, key: &str) -> String {
        match self.get(key) {
            Some(Json::Array(a)) if a.is_empty() => "none".into(),
            Some(Json::Array(a)) => {
                let mut s: Vec<String> = a.iter().take(8).map(|x| scalar_text(Some(x))).collect();
                if a.len() > 8 {
                    s.push(format!("+{} more", a.len() - 8));
                }
                s.join(", ")
            }
            other => scalar_text(other),
        }
    }

    /// The records of a list (None when `key` is not a list).
    pub fn records(&self, key: &str) -> Option<Vec<Detail<'a>>> {
        let items = self.get(key)?.as_array()?;
        Some(items.iter().map(|j| self.child(key, j)).collect())
    }

    /// The first record of a list; an empty record when there is none.
    pub fn first(&self, key: &str) -> Detail<'a> {
        let first = self
            .get(key)
            .and_then(Json::as_array)
            .and_then(|a| a.first())
            .unwrap_or(&NULL);
        self.child(key, first)
    }
}

fn scalar_text(v: Option<&Json>) -> String {
    match v {
        None | Some(Json::Null) => "—".into(),
        Some(Json::String(s)) => s.clone(),
        Some(Json::Bool(b)) => if *b { "yes" } else { "no" }.into(),
        Some(Json::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => {
                let s = format!("{f:.1}");
                s.trim_end_matches(".0").to_string()
            }
            _ => n.to_string(),
        },
        Some(other) => other.to_string(),
    }
}
