//! The policy directory: jurisdictions, segregation-of-duties rules and grading, parsed
//! and validated into the structs the rules read.

pub mod grading;
pub mod jurisdictions;
pub mod sod;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::config::{entry_label, ConfigError, TomlFile};

pub use crate::severity::Severity;
pub use grading::Grading;
pub use jurisdictions::{BusinessHours, Jurisdiction};
pub use sod::{Pattern, Scope, SodFunction, SodKind, SodRule};

/// A static SoD pattern that can never match (see [`Policy::dead_static_patterns`]).
pub struct DeadPattern<'p> {
    pub rule: &'p SodRule,
    pub function: &'p SodFunction,
    pub pattern: &'p Pattern,
    pub why: &'static str,
}

pub const JURISDICTIONS_FILE: &str = "jurisdictions.toml";
pub const SOD_RULES_FILE: &str = "sod_rules.toml";
pub const GRADING_FILE: &str = "grading.toml";

#[derive(Debug, Clone)]
pub struct Policy {
    pub jurisdictions: Vec<Jurisdiction>,
    pub sod_rules: Vec<SodRule>,
    pub grading: Grading,
    /// Every policy file read, with the lowercase hex SHA-256 of its bytes, in name order.
    pub files: Vec<(PathBuf, String)>,
}

impl Policy {
    /// Parse and validate everything that needs no data. `known_rule_codes` are the
    /// detection rule codes that `disabled_rules` and `references` may name.
    pub fn load(dir: &Path, known_rule_codes: &[&str]) -> Result<Policy, ConfigError> {
        let jur_file = TomlFile::read(&dir.join(JURISDICTIONS_FILE))?;
        let sod_file = TomlFile::read(&dir.join(SOD_RULES_FILE))?;
        let grading_file = TomlFile::read_optional(&dir.join(GRADING_FILE))?;

        let jurisdictions = jurisdictions::parse(&jur_file, known_rule_codes)?;
        let sod_rules = sod::parse(&sod_file)?;
        let grading = match &grading_file {
            Some(file) => grading::parse(file)?,
            None => Grading::default(),
        };

        let mut files: Vec<(PathBuf, String)> = [Some(jur_file), Some(sod_file), grading_file]
            .into_iter()
            .flatten()
            .map(|f| (f.path, f.sha256))
            .collect();
        files.sort_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));

        Ok(Policy {
            jurisdictions,
            sod_rules,
            grading,
            files,
        })
    }

    /// Checks needing the systems table: every SoD pattern's system_id (other than `*`)
    /// is a known system, and every system's jurisdiction is a code defined here.
    pub fn validate_against_systems(
        &self,
        systems: &[(String, String)],
    ) -> Result<(), ConfigError> {
        let system_ids: BTreeSet<&str> = systems.iter().map(|(id, _)| id.as_str()).collect();
        let sod_path = self.policy_file(SOD_RULES_FILE);
        for (ri, rule) in self.sod_rules.iter().enumerate() {
            for (fi, function) in rule.functions.iter().enumerate() {
                for (pi, pattern) in function.patterns.iter().enumerate() {
                    let Some(system) = &pattern.system else {
                        continue;
                    };
                    if !system_ids.contains(system.as_str()) {
                        return Err(ConfigError::Invalid {
                            path: sod_path,
                            entry: Some(entry_label("rule", ri, Some(("id", &rule.id)))),
                            key: Some(format!("function[{fi}].{}[{pi}]", rule.kind.list_key())),
                            problem: format!(
                                "pattern \"{pattern}\" names system {system:?}, which is not in the systems table"
                            ),
                            location: None,
                        });
                    }
                }
            }
        }
        for (system_id, code) in systems {
            if self.jurisdiction(code).is_none() {
                let defined: Vec<&str> =
                    self.jurisdictions.iter().map(|j| j.code.as_str()).collect();
                return Err(ConfigError::UnknownJurisdiction {
                    system_id: system_id.clone(),
                    jurisdiction: code.clone(),
                    policy_file: self.policy_file(JURISDICTIONS_FILE),
                    defined: defined.join(", "),
                });
            }
        }
        Ok(())
    }

    /// The static SoD patterns that match no permission of `entitlements` (`system_id,
    /// entitlement_id, kind` rows), with why: such a pattern can never fire. The contract
    /// makes only an unknown system a configuration error (a pattern for a permission not
    /// yet provisioned is legitimate), so the caller warns rather than fails.
    pub fn dead_static_patterns<'p>(
        &'p self,
        entitlements: &[(&str, &str, &str)],
    ) -> Vec<DeadPattern<'p>> {
        let mut dead = Vec::new();
        for rule in self.sod_rules.iter().filter(|r| r.kind == SodKind::Static) {
            for function in &rule.functions {
                for pattern in &function.patterns {
                    let kinds: BTreeSet<&str> = entitlements
                        .iter()
                        .filter(|(system, id, _)| pattern.matches(system, id))
                        .map(|(_, _, kind)| *kind)
                        .collect();
                    if kinds.contains("permission") {
                        continue;
                    }
                    let why = if kinds.contains("role") {
                        "names a role: patterns match permissions, so list the permissions the role grants"
                    } else {
                        "matches no permission in the entitlements table"
                    };
                    dead.push(DeadPattern {
                        rule,
                        function,
                        pattern,
                        why,
                    });
                }
            }
        }
        dead
    }

    pub fn jurisdiction(&self, code: &str) -> Option<&Jurisdiction> {
        self.jurisdictions.iter().find(|j| j.code == code)
    }

    /// The path a policy file was read from; a Policy built in code has none, so the bare
    /// file name still tells the reader which file to fix.
    fn policy_file(&self, name: &str) -> PathBuf {
        self.files
            .iter()
            .find(|(p, _)| p.file_name().is_some_and(|n| n == name))
            .map_or_else(|| PathBuf::from(name), |(p, _)| p.clone())
    }
}
