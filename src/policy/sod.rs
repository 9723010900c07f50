//! `sod_rules.toml`: segregation-of-duties rules over held permissions (static) or
//! performed actions (transaction).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::Severity;
use crate::config::{entry_label, ConfigError, TomlFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SodKind {
    Static,
    Transaction,
}

impl SodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SodKind::Static => "static",
            SodKind::Transaction => "transaction",
        }
    }

    /// The function key that holds this kind's patterns.
    pub fn list_key(self) -> &'static str {
        match self {
            SodKind::Static => "permissions",
            SodKind::Transaction => "actions",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Global,
    Jurisdiction,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Jurisdiction => "jurisdiction",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SodRule {
    pub id: String,
    pub name: String,
    pub kind: SodKind,
    /// For transaction rules this is informational: their findings are always critical.
    pub risk: Severity,
    /// Applies to static rules only.
    pub scope: Scope,
    pub description: Option<String>,
    pub functions: Vec<SodFunction>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SodFunction {
    pub name: String,
    pub patterns: Vec<Pattern>,
}

/// `system_id:name`, where `name` is an entitlement_id (static) or an audit action
/// (transaction). `system: None` is the `*` wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    pub system: Option<String>,
    pub name: String,
}

impl Pattern {
    pub fn matches(&self, system_id: &str, name: &str) -> bool {
        self.name == name && self.system.as_deref().is_none_or(|s| s == system_id)
    }

    /// Splits at the first `:`, so names may themselves contain colons.
    pub fn parse(s: &str) -> Option<Pattern> {
        let (system, name) = s.split_once(':')?;
        if system.is_empty() || name.is_empty() {
            return None;
        }
        Some(Pattern {
            system: (system != "*").then(|| system.to_string()),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.system.as_deref().unwrap_or("*"), self.name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    /// Absent is not the same as empty: a truncated or zero-byte file must not switch every
    /// SoD control off in silence, so no rules at all has to be written as `rule = []`.
    rule: Option<Vec<Spanned<RawRule>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    kind: Option<Spanned<String>>,
    risk: Option<Spanned<String>>,
    scope: Option<Spanned<String>>,
    description: Option<String>,
    #[serde(default)]
    function: Vec<Spanned<RawFunction>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFunction {
    name: Option<Spanned<String>>,
    permissions: Option<Spanned<Vec<Spanned<String>>>>,
    actions: Option<Spanned<Vec<Spanned<String>>>>,
}

pub(crate) fn parse(file: &TomlFile) -> Result<Vec<SodRule>, ConfigError> {
    let raw: RawFile = file.parse(&[("rule", "id")])?;
    let Some(entries) = raw.rule else {
        return Err(file.invalid(
            None,
            Some("rule"),
            None,
            "defines no SoD rules (the file is empty or has no [[rule]] entry), which would \
             switch off every segregation-of-duties control; to run without SoD rules on \
             purpose, write `rule = []`",
        ));
    };
    let mut rules: Vec<SodRule> = Vec::with_capacity(entries.len());
    let mut first_index: BTreeMap<String, usize> = BTreeMap::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let span = entry.span();
        let raw = entry.into_inner();
        let label = entry_label(
            "rule",
            index,
            raw.id.as_ref().map(|id| ("id", id.get_ref().as_str())),
        );
        let ctx = Ctx {
            file,
            label: &label,
            span,
        };
        if let Some(id) = &raw.id {
            if let Some(first) = first_index.get(id.get_ref()) {
                return Err(ctx.err(
                    "id",
                    id.span(),
                    format!(
                        "duplicate id {:?} (first used by rule[{first}])",
                        id.get_ref()
                    ),
                ));
            }
        }
        let rule = ctx.convert(raw)?;
        first_index.insert(rule.id.clone(), index);
        rules.push(rule);
    }
    Ok(rules)
}

struct Ctx<'a> {
    file: &'a TomlFile,
    label: &'a str,
    span: Range<usize>,
}

impl Ctx<'_> {
    fn err(&self, key: &str, span: Range<usize>, problem: impl Into<String>) -> ConfigError {
        self.file
            .invalid(Some(self.label), Some(key), Some(span), problem)
    }

    fn required<T>(&self, key: &str, v: Option<T>, at: &Range<usize>) -> Result<T, ConfigError> {
        v.ok_or_else(|| self.err(key, at.clone(), "is required"))
    }

    fn text(&self, key: &str, v: Spanned<String>) -> Result<String, ConfigError> {
        if v.get_ref().trim().is_empty() {
            return Err(self.err(key, v.span(), "must not be empty"));
        }
        Ok(v.into_inner())
    }

    fn convert(&self, raw: RawRule) -> Result<SodRule, ConfigError> {
        let id = self.text("id", self.required("id", raw.id, &self.span)?)?;
        let name = self.text("name", self.required("name", raw.name, &self.span)?)?;
        let kind_raw = self.required("kind", raw.kind, &self.span)?;
        let kind = match kind_raw.get_ref().as_str() {
            "static" => SodKind::Static,
            "transaction" => SodKind::Transaction,
            other => {
                return Err(self.err(
                    "kind",
                    kind_raw.span(),
                    format!("{other:?} is not one of static, transaction"),
                ))
            }
        };
        // Transaction findings are always critical, so their risk may be left out.
        let risk = match (raw.risk, kind) {
            (Some(r), _) => r
                .get_ref()
                .parse::<Severity>()
                .map_err(|e| self.err("risk", r.span(), e.to_string()))?,
            (None, SodKind::Transaction) => Severity::Critical,
            (None, SodKind::Static) => {
                return Err(self.err("risk", self.span.clone(), "is required"))
            }
        };
        let scope = match raw.scope {
            None => Scope::Global,
            Some(s) => match s.get_ref().as_str() {
                "global" => Scope::Global,
                "jurisdiction" => Scope::Jurisdiction,
                other => {
                    return Err(self.err(
                        "scope",
                        s.span(),
                        format!("{other:?} is not one of global, jurisdiction"),
                    ))
                }
            },
        };
        if raw.function.len() < 2 {
            return Err(self.err(
                "function",
                self.span.clone(),
                format!(
                    "a rule needs at least two [[rule.function]] entries, found {}",
                    raw.function.len()
                ),
            ));
        }
        let mut functions: Vec<SodFunction> = Vec::with_capacity(raw.function.len());
        for (fi, f) in raw.function.into_iter().enumerate() {
            let (function, name_span) = self.convert_function(fi, kind, f)?;
            if let Some(first) = functions.iter().position(|g| g.name == function.name) {
                return Err(self.err(
                    &format!("function[{fi}].name"),
                    name_span,
                    format!(
                        "duplicate function name {:?} (first used by function[{first}])",
                        function.name
                    ),
                ));
            }
            functions.push(function);
        }
        Ok(SodRule {
            id,
            name,
            kind,
            risk,
            scope,
            description: raw.description,
            functions,
        })
    }

    fn convert_function(
        &self,
        fi: usize,
        kind: SodKind,
        f: Spanned<RawFunction>,
    ) -> Result<(SodFunction, Range<usize>), ConfigError> {
        let span = f.span();
        let raw = f.into_inner();
        let key = |k: &str| format!("function[{fi}].{k}");
        let name = self.required(&key("name"), raw.name, &span)?;
        let name_span = name.span();
        let name = self.text(&key("name"), name)?;
        let (wanted, unwanted) = match kind {
            SodKind::Static => (raw.permissions, raw.actions),
            SodKind::Transaction => (raw.actions, raw.permissions),
        };
        let other_key = match kind {
            SodKind::Static => "actions",
            SodKind::Transaction => "permissions",
        };
        if let Some(u) = unwanted {
            return Err(self.err(
                &key(other_key),
                u.span(),
                format!(
                    "a {} rule's functions list `{}`, not `{other_key}`",
                    kind.as_str(),
                    kind.list_key()
                ),
            ));
        }
        let list_key = key(kind.list_key());
        let list = wanted.ok_or_else(|| {
            self.err(
                &list_key,
                span.clone(),
                format!("is required in a {} rule", kind.as_str()),
            )
        })?;
        if list.get_ref().is_empty() {
            return Err(self.err(&list_key, list.span(), "must list at least one pattern"));
        }
        let mut patterns = Vec::with_capacity(list.get_ref().len());
        for (pi, item) in list.into_inner().into_iter().enumerate() {
            let pattern = Pattern::parse(item.get_ref()).ok_or_else(|| {
                self.err(
                    &format!("{list_key}[{pi}]"),
                    item.span(),
                    format!(
                        "{:?} is not a pattern system_id:name (use * as system_id for every system)",
                        item.get_ref()
                    ),
                )
            })?;
            patterns.push(pattern);
        }
        Ok((SodFunction { name, patterns }, name_span))
    }
}
