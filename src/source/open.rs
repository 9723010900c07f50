//! From `[[source]]` blocks to what ingest loads: the kind checked, the files found, the
//! prepass run (log sources) or the whole snapshot mapped (snapshot sources).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::container::{self, Item};
use super::{kind_named, Countries, Cx, Emitted, Export, Kind, Outcome, Prepass, Reader};
use super::{SnapshotCx, SystemTemplate, KINDS};
use crate::config::{ConfigError, SourceDecl};
use crate::error::{Error, Result};
use crate::ingest::mapped::{Hashed, MappedFile, MappedSource, RowSource, Sink, SourceAccount};
use crate::ingest::schema::Table;
use crate::ingest::{self, Format, InputFile};

/// The sources of a run, ready for ingest.
pub type Sources = Vec<MappedSource>;

/// One declared source: its kind and settings.
#[derive(Debug, Clone)]
pub struct Source {
    pub kind: &'static Kind,
    /// The path as written.
    pub shown: String,
    pub path: std::path::PathBuf,
    pub system: SystemTemplate,
}

impl Source {
    /// Checks a `[[source]]` block of the configuration at `config`.
    pub fn declared(decl: &SourceDecl, config: &Path) -> Result<Source> {
        let Some(kind) = kind_named(&decl.kind) else {
            let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
            return Err(ConfigError::Invalid {
                path: config.to_path_buf(),
                entry: Some(decl.entry.clone()),
                key: Some("kind".into()),
                problem: format!(
                    "{:?} is not a kind of source (kinds: {})",
                    decl.kind,
                    names.join(", ")
                ),
                location: decl.kind_at,
            }
            .into());
        };
        let system = SystemTemplate(decl.system_id.clone());
        let unknown = system.unknown_placeholders();
        if !unknown.is_empty() {
            return Err(ConfigError::Invalid {
                path: config.to_path_buf(),
                entry: Some(decl.entry.clone()),
                key: Some("system_id".into()),
                problem: format!(
                    "{{{}}} is not a placeholder (known: {{account}}, {{tenant}})",
                    unknown.join("}, {")
                ),
                location: decl.system_id_at,
            }
            .into());
        }
        Ok(Source {
            kind,
            shown: decl.shown.clone(),
            path: decl.path.clone(),
            system,
        })
    }

    /// The source's files: the path itself, or every regular file under it whose name
    /// does not start with `_` or `.`, in lexicographic order of the relative path.
    pub fn files(&self) -> Result<Vec<MappedFile>> {
        let meta = std::fs::metadata(&self.path)
            .map_err(|e| Error::input(&self.shown, format!("source path cannot be read: {e}")))?;
        if !meta.is_dir() {
            if !meta.is_file() {
                return Err(Error::input(
                    &self.shown,
                    crate::fs_guard::not_regular(meta.file_type()).to_string(),
                ));
            }
            return Ok(vec![MappedFile {
                rel: self.shown.clone(),
                path: self.path.clone(),
            }]);
        }
        let mut ignored = Vec::new();
        let found = ingest::walk_tree(&self.path, &self.path, &mut ignored, |_| {
            Some(Format::Source)
        })?;
        let base = self.shown.trim_end_matches('/');
        for i in &ignored {
            tracing::info!(source = %self.shown, file = %i, "ignored source file");
        }
        Ok(found
            .into_iter()
            .map(|f| MappedFile {
                rel: format!("{base}/{}", f.rel),
                path: f.path,
            })
            .collect())
    }
}

/// Every declared source, opened: files found, prepass or snapshot done; and the
/// `ip_country_file` they read, by its hash.
pub fn open(
    decls: &[SourceDecl],
    config: &Path,
    ip_country_file: Option<&Path>,
) -> Result<(Sources, Option<InputFile>)> {
    if decls.is_empty() {
        return Ok((Vec::new(), None));
    }
    let countries = Arc::new(Countries::new(ip_country_file)?);
    let sources = decls
        .iter()
        .map(|d| {
            let s = Source::declared(d, config)?;
            mapped(s, countries.clone())
        })
        .collect::<Result<Sources>>()?;
    let file = ip_country_file.zip(countries.networks.sha256.clone());
    // By name, as the configuration file is: the manifest is the same wherever it runs.
    let file = file.map(|(p, sha256)| InputFile {
        path: p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256,
        bytes: countries.networks.bytes,
    });
    Ok((sources, file))
}

/// The run log's account of each source and file: `read = mapped + skipped + quarantined`.
pub fn log_accounts(sources: &[SourceAccount]) {
    for s in sources {
        for f in &s.files {
            tracing::info!(
                source = %s.kind,
                file = %f.path,
                read = f.tally.read,
                mapped = f.tally.mapped,
                skipped = f.tally.skipped_total(),
                quarantined = f.tally.quarantined,
                overridden = f.tally.overridden,
                "source file mapped"
            );
        }
        let skipped: Vec<String> = s
            .total
            .skipped
            .iter()
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        tracing::info!(
            source = %s.kind,
            path = %s.path,
            files = s.files.len(),
            read = s.total.read,
            mapped = s.total.mapped,
            skipped = s.total.skipped_total(),
            skipped_by_reason = %skipped.join(", "),
            quarantined = s.total.quarantined,
            overridden = s.total.overridden,
            "source"
        );
    }
}

/// One source, opened, with the countries it maps with.
pub fn mapped(source: Source, countries: Arc<Countries>) -> Result<MappedSource> {
    let files = source.files()?;
    let rows: Arc<dyn RowSource> = match source.kind.read {
        Reader::Records { map, prepass } => {
            Arc::new(LogSource::open(&source, &files, countries, map, prepass)?)
        }
        Reader::Snapshot(build) => Arc::new(SnapshotSource::open(&source, &files, build)?),
    };
    Ok(MappedSource {
        kind: source.kind.name,
        path: source.shown.clone(),
        system_id: source.system.0.clone(),
        tables: source.kind.tables,
        files,
        rows,
    })
}

/// A log source: each file mapped record by record when ingest asks for it.
struct LogSource {
    kind: &'static Kind,
    files: Vec<MappedFile>,
    system: SystemTemplate,
    countries: Arc<Countries>,
    map: fn(&Value, &Cx) -> Outcome,
    found: HashSet<String>,
    /// Per file: the hash of the prepass keys its records look up and the source found.
    looked_up: Vec<String>,
}

impl std::fmt::Debug for LogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LogSource({}, {} files)",
            self.kind.name,
            self.files.len()
        )
    }
}

impl LogSource {
    fn open(
        source: &Source,
        files: &[MappedFile],
        countries: Arc<Countries>,
        map: fn(&Value, &Cx) -> Outcome,
        prepass: Option<fn(&Value, &mut Prepass)>,
    ) -> Result<LogSource> {
        let mut pass = Prepass::default();
        let mut per_file = Vec::new();
        if let Some(prepass) = prepass {
            for f in files {
                container::read(&f.path, &f.rel, source.kind.accepts, &mut |_, item| {
                    if let Item::Record(v) = item {
                        prepass(&v, &mut pass);
                    }
                    Ok(())
                })?;
                per_file.push(std::mem::take(&mut pass.looked_up));
            }
        }
        let looked_up = per_file
            .iter()
            .map(|keys| {
                let hit: Vec<&str> = keys
                    .iter()
                    .filter(|k| pass.found.contains(*k))
                    .map(String::as_str)
                    .collect();
                crate::hash::sha256_hex(hit.join("\n").as_bytes())
            })
            .collect();
        Ok(LogSource {
            kind: source.kind,
            files: files.to_vec(),
            system: source.system.clone(),
            countries,
            map,
            found: pass.found,
            looked_up,
        })
    }
}

impl RowSource for LogSource {
    fn rows(&self, file: usize, table: Table, sink: &mut dyn Sink) -> Result<Hashed> {
        let Some(f) = self.files.get(file) else {
            return Err(Error::Internal(format!("no file {file} in the source")));
        };
        let file_name = f.path.file_name().map(|n| n.to_string_lossy().into_owned());
        let file_name = file_name.unwrap_or_default();
        let unmatched = RefCell::new(BTreeSet::new());
        let hashed = container::read(&f.path, &f.rel, self.kind.accepts, &mut |pos, item| {
            match item {
                Item::Record(v) => {
                    let cx = Cx {
                        file_name: &file_name,
                        path: &f.rel,
                        index: pos,
                        system: &self.system,
                        countries: &self.countries,
                        prepass: &self.found,
                        unmatched: &unmatched,
                    };
                    offer(sink, table, pos, (self.map)(&v, &cx), &v);
                }
                Item::Bad { raw, reason } => sink.bad(pos, reason, raw),
            }
            Ok(())
        })?;
        let unmatched = unmatched.into_inner();
        if !unmatched.is_empty() {
            tracing::warn!(
                file = %f.rel,
                count = unmatched.len(),
                values = ?unmatched.iter().take(10).collect::<Vec<_>>(),
                "country values that are no ISO 3166-1 code or name: src_country left null"
            );
        }
        Ok(hashed)
    }

    fn fingerprint(&self, file: usize) -> String {
        format!(
            "{} v{}\n{}\n{}\n{}",
            self.kind.name,
            self.kind.version,
            self.system.0,
            self.countries.networks.sha256.as_deref().unwrap_or("-"),
            self.looked_up.get(file).map(String::as_str).unwrap_or("-")
        )
    }
}

fn offer(sink: &mut dyn Sink, table: Table, pos: u64, outcome: Outcome, record: &Value) {
    match outcome {
        Outcome::Row(row) if row.table == table => {
            sink.row(pos, &row.cells, &|| record.to_string());
        }
        Outcome::Bad(t, reason) if t == table => sink.bad(pos, reason, record.to_string()),
        Outcome::Skip(reason) => sink.skip(reason),
        _ => {}
    }
}

/// A snapshot source: every file read and mapped when the source is opened (directory
/// exports are small, and members resolve across files); rows replayed per table.
struct SnapshotSource {
    kind: &'static Kind,
    emitted: Vec<Emitted>,
    hashed: Vec<Hashed>,
}

impl std::fmt::Debug for SnapshotSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SnapshotSource({}, {} rows)",
            self.kind.name,
            self.emitted.len()
        )
    }
}

impl SnapshotSource {
    fn open(
        source: &Source,
        files: &[MappedFile],
        build: fn(&[Export], &SnapshotCx) -> Vec<Emitted>,
    ) -> Result<SnapshotSource> {
        let mut exports = Vec::new();
        let mut hashed = Vec::new();
        for f in files {
            let mut items = Vec::new();
            let h = container::read(&f.path, &f.rel, source.kind.accepts, &mut |pos, item| {
                items.push((pos, item));
                Ok(())
            })?;
            hashed.push(h);
            exports.push(Export {
                rel: f.rel.clone(),
                items,
            });
        }
        let emitted = build(
            &exports,
            &SnapshotCx {
                system: &source.system,
            },
        );
        Ok(SnapshotSource {
            kind: source.kind,
            emitted,
            hashed,
        })
    }
}

impl RowSource for SnapshotSource {
    fn rows(&self, file: usize, table: Table, sink: &mut dyn Sink) -> Result<Hashed> {
        // Skipped records count once per file: with the first table the kind produces.
        let first = self.kind.tables.first() == Some(&table);
        for e in self.emitted.iter().filter(|e| e.file == file) {
            match &e.outcome {
                Outcome::Row(row) if row.table == table => {
                    sink.row(e.pos, &row.cells, &|| e.raw.clone());
                }
                Outcome::Bad(t, reason) if *t == table => {
                    sink.bad(e.pos, reason.clone(), e.raw.clone());
                }
                Outcome::Skip(reason) if first => sink.skip(reason),
                _ => {}
            }
        }
        Ok(self.hashed.get(file).cloned().unwrap_or_default())
    }

    fn fingerprint(&self, file: usize) -> String {
        format!("{} v{} file {file}", self.kind.name, self.kind.version)
    }

    fn hashed(&self, file: usize) -> Option<Hashed> {
        self.hashed.get(file).cloned()
    }
}
