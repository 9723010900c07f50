//! The run configuration (`permaudit.toml`) and the error type shared with the policy
//! loader, plus the TOML plumbing both use so that every configuration error names the
//! file, the entry, the key and, where the text allows, the line and column.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::fs_guard::{read_regular, Links};
use crate::hash::SecretKey;

/// A 1-based position in a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not well-formed TOML.
    #[error("{}", render(.path, None, None, &format!("invalid TOML: {}", .message), .location.as_ref()))]
    Syntax {
        path: PathBuf,
        message: String,
        location: Option<Location>,
    },
    /// The file is TOML but a value, a key or the shape of an entry is not acceptable.
    #[error("{}", render(.path, .entry.as_deref(), .key.as_deref(), .problem, .location.as_ref()))]
    Invalid {
        path: PathBuf,
        /// e.g. `jurisdiction[2] (code "SG")`; `None` for top-level keys.
        entry: Option<String>,
        /// Dotted path inside the entry, e.g. `business_hours` or `function[1].permissions[0]`.
        key: Option<String>,
        problem: String,
        location: Option<Location>,
    },
    /// A row of the `systems` table names a jurisdiction the policy does not define; the
    /// fault may lie in either file, so both are named.
    #[error(
        "systems: system {system_id:?}: key jurisdiction: {jurisdiction:?} is not a jurisdiction code defined in {} (defined: {defined})",
        .policy_file.display()
    )]
    UnknownJurisdiction {
        system_id: String,
        jurisdiction: String,
        policy_file: PathBuf,
        defined: String,
    },
}

fn render(
    path: &Path,
    entry: Option<&str>,
    key: Option<&str>,
    problem: &str,
    location: Option<&Location>,
) -> String {
    let mut out = format!("{}: ", path.display());
    if let Some(entry) = entry {
        out.push_str(entry);
        out.push_str(": ");
    }
    if let Some(key) = key {
        out.push_str("key ");
        out.push_str(key);
        out.push_str(": ");
    }
    out.push_str(problem);
    if let Some(location) = location {
        out.push_str(&format!(" ({location})"));
    }
    out
}

/// Upper bound for every day count. Absurd values would overflow chrono's duration
/// arithmetic downstream (which panics), so they are rejected here instead.
pub(crate) const MAX_DAYS: i64 = 36_500;

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub input_dir: PathBuf,
    pub policy_dir: PathBuf,
    pub out_dir: PathBuf,
    pub activity_lookback_days: i64,
    pub naive_timestamps_tz: Option<chrono_tz::Tz>,
    /// Used when `--as-of` is not given, so that a pinned sample reproduces byte for byte.
    pub as_of: Option<NaiveDate>,
    pub templates_dir: Option<PathBuf>,
    /// `[[source]]` blocks, in file order; their kinds are checked by `crate::source`.
    pub sources: Vec<SourceDecl>,
    /// CSV `network,country` giving `src_country` to sources that have none.
    pub ip_country_file: Option<PathBuf>,
    /// The Ed25519 private key every run signs its manifest with (CONTRACT section 8);
    /// read by `run` (`crate::signing`), not here.
    pub signing_key: Option<KeyFile>,
    /// Key of the pseudonyms that keep personal data of other jurisdictions' people out of a
    /// jurisdiction's outputs (CONTRACT section 8); None: minimisation is off.
    pub pseudonym_key: Option<SecretKey>,
    pub source: PathBuf,
    pub sha256: String,
}

/// A key file the configuration names: the path (resolved against the configuration's
/// folder) and where the configuration names it, for errors about its content.
#[derive(Debug, Clone)]
pub struct KeyFile {
    pub path: PathBuf,
    pub at: Option<Location>,
}

/// One `[[source]]` block as written (CONTRACT section 7).
#[derive(Debug, Clone)]
pub struct SourceDecl {
    pub kind: String,
    /// Resolved against the configuration file's folder.
    pub path: PathBuf,
    /// As written, for messages and the manifest.
    pub shown: String,
    pub system_id: String,
    /// `source[1]`, for messages.
    pub entry: String,
    pub kind_at: Option<Location>,
    pub system_id_at: Option<Location>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRunConfig {
    input_dir: Option<Spanned<String>>,
    policy_dir: Option<Spanned<String>>,
    out_dir: Option<Spanned<String>>,
    activity_lookback_days: Option<Spanned<i64>>,
    naive_timestamps_tz: Option<Spanned<String>>,
    // A TOML date literal is as natural here as a string, so both are accepted.
    as_of: Option<Spanned<toml::Value>>,
    templates_dir: Option<Spanned<String>>,
    source: Option<Vec<RawSource>>,
    ip_country_file: Option<Spanned<String>>,
    signing_key: Option<Spanned<String>>,
    pseudonym_key: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    kind: Spanned<String>,
    path: Spanned<String>,
    system_id: Spanned<String>,
}

impl RunConfig {
    pub fn load(path: &Path) -> Result<RunConfig, ConfigError> {
        let file = TomlFile::read(path)?;
        let raw: RawRunConfig = file.parse(&[])?;
        let base = path.parent().unwrap_or(Path::new(""));
        let dir =
            |value: Option<Spanned<String>>, key: &str| -> Result<Option<PathBuf>, ConfigError> {
                match value {
                    None => Ok(None),
                    Some(v) if v.get_ref().trim().is_empty() => {
                        Err(file.invalid(None, Some(key), Some(v.span()), "must not be empty"))
                    }
                    Some(v) => Ok(Some(base.join(v.get_ref()))),
                }
            };
        let required = |key: &str| file.invalid(None, Some(key), None, "is required");

        let input_dir = dir(raw.input_dir, "input_dir")?.ok_or_else(|| required("input_dir"))?;
        let policy_dir =
            dir(raw.policy_dir, "policy_dir")?.ok_or_else(|| required("policy_dir"))?;
        let out_dir = dir(raw.out_dir, "out_dir")?.unwrap_or_else(|| base.join("out"));
        let templates_dir = match raw.templates_dir {
            // A typo here would silently render the built-in templates instead of the
            // house's own, so the directory must exist.
            Some(v) => {
                let span = v.span();
                let path = dir(Some(v), "templates_dir")?;
                if let Some(p) = path.as_deref().filter(|p| !p.is_dir()) {
                    return Err(file.invalid(
                        None,
                        Some("templates_dir"),
                        Some(span),
                        format!("{} is not a directory", p.display()),
                    ));
                }
                path
            }
            None => None,
        };

        let activity_lookback_days = match raw.activity_lookback_days {
            None => 30,
            Some(v) => file.int_in_range(None, "activity_lookback_days", &v, 1, MAX_DAYS)?,
        };
        let naive_timestamps_tz = raw
            .naive_timestamps_tz
            .map(|v| file.timezone(None, "naive_timestamps_tz", &v))
            .transpose()?;
        let as_of = raw
            .as_of
            .map(|v| {
                parse_as_of(v.get_ref()).ok_or_else(|| {
                    let shown = match v.get_ref() {
                        toml::Value::String(s) => format!("{s:?}"),
                        other => other.to_string(),
                    };
                    file.invalid(
                        None,
                        Some("as_of"),
                        Some(v.span()),
                        format!("{shown} is not a date YYYY-MM-DD"),
                    )
                })
            })
            .transpose()?;

        let mut sources = Vec::new();
        for (i, s) in raw.source.unwrap_or_default().into_iter().enumerate() {
            let entry = format!("source[{}]", i + 1);
            if s.path.get_ref().trim().is_empty() {
                return Err(file.invalid(
                    Some(&entry),
                    Some("path"),
                    Some(s.path.span()),
                    "must not be empty",
                ));
            }
            if s.system_id.get_ref().trim().is_empty() {
                return Err(file.invalid(
                    Some(&entry),
                    Some("system_id"),
                    Some(s.system_id.span()),
                    "must not be empty",
                ));
            }
            sources.push(SourceDecl {
                kind: s.kind.get_ref().clone(),
                path: base.join(s.path.get_ref()),
                shown: s.path.get_ref().clone(),
                system_id: s.system_id.get_ref().clone(),
                entry,
                kind_at: Some(file.location(s.kind.span().start)),
                system_id_at: Some(file.location(s.system_id.span().start)),
            });
        }
        let ip_country_file = dir(raw.ip_country_file, "ip_country_file")?;
        let signing_key = match raw.signing_key {
            Some(v) => {
                let at = Some(file.location(v.span().start));
                dir(Some(v), "signing_key")?.map(|path| KeyFile { path, at })
            }
            None => None,
        };
        let pseudonym_key = match raw.pseudonym_key {
            Some(v) => {
                let span = v.span();
                let path = dir(Some(v), "pseudonym_key")?;
                path.map(|p| read_secret_key(&file, "pseudonym_key", span, &p))
                    .transpose()?
            }
            None => None,
        };

        Ok(RunConfig {
            input_dir,
            policy_dir,
            out_dir,
            activity_lookback_days,
            naive_timestamps_tz,
            as_of,
            templates_dir,
            sources,
            ip_country_file,
            signing_key,
            pseudonym_key,
            source: path.to_path_buf(),
            sha256: file.sha256,
        })
    }
}

/// Reads a key file named by the configuration like any file the run does not own (a FIFO
/// or a device there must not block or feed the run). The message names the file and its
/// length, never a byte of it.
fn read_secret_key(
    file: &TomlFile,
    key: &str,
    span: Range<usize>,
    path: &Path,
) -> Result<SecretKey, ConfigError> {
    let bytes = read_regular(path, Links::Follow).map_err(|e| {
        file.invalid(
            None,
            Some(key),
            Some(span.clone()),
            format!("{}: cannot read: {e}", path.display()),
        )
    })?;
    SecretKey::new(bytes).map_err(|len| {
        file.invalid(
            None,
            Some(key),
            Some(span),
            format!(
                "{} holds {len} byte(s); a key needs at least {} (for example `head -c 32 /dev/urandom > FILE`)",
                path.display(),
                SecretKey::MIN_LEN
            ),
        )
    })
}

fn parse_as_of(value: &toml::Value) -> Option<NaiveDate> {
    match value {
        toml::Value::String(s) => parse_iso_date(s),
        toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
            let d = dt.date?;
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
        }
        _ => None,
    }
}

/// Strict `YYYY-MM-DD`: chrono alone would also take unpadded fields such as `2026-1-5`.
pub fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// One configuration or policy file, read once so that what is hashed is what is parsed.
pub(crate) struct TomlFile {
    pub path: PathBuf,
    pub text: String,
    pub sha256: String,
}

/// A step of a path inside a TOML document.
enum Seg {
    Key(String),
    Index(usize),
}

impl TomlFile {
    pub(crate) fn read(path: &Path) -> Result<TomlFile, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(path, bytes)
    }

    /// `Ok(None)` when the file does not exist; any other failure is still an error.
    pub(crate) fn read_optional(path: &Path) -> Result<Option<TomlFile>, ConfigError> {
        match std::fs::read(path) {
            Ok(bytes) => Self::from_bytes(path, bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ConfigError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<TomlFile, ConfigError> {
        let sha256 = crate::hash::sha256_hex(&bytes);
        let text = String::from_utf8(bytes).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            entry: None,
            key: None,
            problem: format!("file is not valid UTF-8 ({e})"),
            location: None,
        })?;
        Ok(TomlFile {
            path: path.to_path_buf(),
            text,
            sha256,
        })
    }

    /// Deserializes the whole document. `idents` maps an array-of-tables name to the key
    /// that identifies its entries (e.g. `("jurisdiction", "code")`) so that errors can
    /// say `jurisdiction[2] (code "SG")` rather than only a line number.
    pub(crate) fn parse<T: DeserializeOwned>(
        &self,
        idents: &[(&str, &str)],
    ) -> Result<T, ConfigError> {
        let err = match toml::from_str::<T>(&self.text) {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let location = err.span().map(|s| self.location(s.start));
        // from_str reports syntax and shape errors alike; only a document that parses
        // can be walked to find the entry and key the error belongs to.
        let root = match DeTable::parse(&self.text) {
            Ok(root) => root,
            Err(_) => {
                return Err(ConfigError::Syntax {
                    path: self.path.clone(),
                    message: err.message().trim_end().to_string(),
                    location,
                })
            }
        };
        let segs = err
            .span()
            .and_then(|span| {
                let root = Spanned::new(root.span(), DeValue::Table(root.get_ref().clone()));
                locate(&root, span.start)
            })
            .unwrap_or_default();
        let (entry, rest) = entry_of(root.get_ref(), &segs, idents);
        Err(ConfigError::Invalid {
            path: self.path.clone(),
            entry,
            key: render_key(rest),
            problem: err.message().trim_end().to_string(),
            location,
        })
    }

    pub(crate) fn location(&self, offset: usize) -> Location {
        let before = self.text.get(..offset).unwrap_or(&self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location { line, column }
    }

    pub(crate) fn invalid(
        &self,
        entry: Option<&str>,
        key: Option<&str>,
        span: Option<Range<usize>>,
        problem: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone(),
            entry: entry.map(str::to_string),
            key: key.map(str::to_string),
            problem: problem.into(),
            location: span.map(|s| self.location(s.start)),
        }
    }

    pub(crate) fn int_in_range(
        &self,
        entry: Option<&str>,
        key: &str,
        value: &Spanned<i64>,
        min: i64,
        max: i64,
    ) -> Result<i64, ConfigError> {
        let v = *value.get_ref();
        if v < min || v > max {
            return Err(self.invalid(
                entry,
                Some(key),
                Some(value.span()),
                format!("{v} is out of range: must be between {min} and {max}"),
            ));
        }
        Ok(v)
    }

    pub(crate) fn timezone(
        &self,
        entry: Option<&str>,
        key: &str,
        value: &Spanned<String>,
    ) -> Result<chrono_tz::Tz, ConfigError> {
        value.get_ref().parse::<chrono_tz::Tz>().map_err(|_| {
            self.invalid(
                entry,
                Some(key),
                Some(value.span()),
                format!("{:?} is not an IANA time zone name", value.get_ref()),
            )
        })
    }
}

/// Labels the `index`th entry of an array of tables, e.g. `rule[0] (id "SOD-001")`.
pub(crate) fn entry_label(array: &str, index: usize, ident: Option<(&str, &str)>) -> String {
    match ident {
        Some((key, value)) => format!("{array}[{index}] ({key} {value:?})"),
        None => format!("{array}[{index}]"),
    }
}

/// The path of keys and indices leading to the innermost value or key whose span holds
/// `pos`. Table spans only cover their header, so every child is searched.
fn locate(value: &Spanned<DeValue<'_>>, pos: usize) -> Option<Vec<Seg>> {
    let contains =
        |span: Range<usize>| span.contains(&pos) || (span.is_empty() && span.start == pos);
    match value.get_ref() {
        DeValue::Table(table) => {
            for (key, child) in table.iter() {
                if contains(key.span()) {
                    return Some(vec![Seg::Key(key.get_ref().to_string())]);
                }
                if let Some(mut path) = locate(child, pos) {
                    path.insert(0, Seg::Key(key.get_ref().to_string()));
                    return Some(path);
                }
            }
        }
        DeValue::Array(array) => {
            for (i, child) in array.iter().enumerate() {
                if let Some(mut path) = locate(child, pos) {
                    path.insert(0, Seg::Index(i));
                    return Some(path);
                }
            }
        }
        _ => {}
    }
    contains(value.span()).then(Vec::new)
}

/// Splits a document path into the entry it falls in and the key path inside it.
fn entry_of<'s>(
    root: &DeTable<'_>,
    segs: &'s [Seg],
    idents: &[(&str, &str)],
) -> (Option<String>, &'s [Seg]) {
    match segs {
        [Seg::Key(array), Seg::Index(i), rest @ ..] => {
            let ident = idents
                .iter()
                .find(|(a, _)| a == array)
                .and_then(|(_, ident_key)| {
                    let entry = root.get(array.as_str())?.get_ref().get(*i)?;
                    let value = entry.get_ref().get(*ident_key)?.get_ref().as_str()?;
                    Some((*ident_key, value))
                });
            (Some(entry_label(array, *i, ident)), rest)
        }
        [Seg::Key(table), rest @ ..]
            if !rest.is_empty()
                && root
                    .get(table.as_str())
                    .is_some_and(|v| v.get_ref().is_table()) =>
        {
            (Some(format!("[{table}]")), rest)
        }
        _ => (None, segs),
    }
}

fn render_key(segs: &[Seg]) -> Option<String> {
    if segs.is_empty() {
        return None;
    }
    let mut out = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    Some(out)
}
