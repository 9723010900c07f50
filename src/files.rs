//! One file of OUT at a time: created and read never through a link and never blocking (on
//! top of [`crate::fs_guard`]), replaced atomically, hashed; what is at a path, seen without
//! following it. The layout of OUT (run directories, staging, recovery) is
//! [`crate::output`]'s; this layer knows no directory name, so that everything writing into
//! OUT (history, the incremental state, reviews, the run) can use it.

use std::fs;
use std::io;
use std::path::Path;

use polars::prelude::{DataFrame, ParquetReader, Schema, SchemaExt, SerReader};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::fs_guard::{self, Links};

/// Infix of temporary files written by [`write_atomic`].
const TEMP: &str = ".tmp-";

/// Whether a name is one of [`write_atomic`]'s temporary files, which a crash can leave.
pub fn is_temp(name: &str) -> bool {
    name.contains(TEMP)
}

/// The SHA-256 of a file of OUT, read through [`open_read`]'s guards.
pub fn sha256_file(path: &Path) -> Result<String> {
    // Streamed: `verify` hashes outputs of gigabytes (a findings-dense run's findings.csv).
    let mut hasher = Sha256::new();
    io::copy(&mut open_read(path)?, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok(hex::encode(hasher.finalize()))
}

/// What is at a path, seen without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Nothing,
    /// A real directory.
    Dir,
    /// Anything else, described for messages ("a symbolic link", "a regular file"...).
    Other(&'static str),
}

pub fn found_at(path: &Path) -> io::Result<Found> {
    Ok(match fs_guard::type_at(path)? {
        None => Found::Nothing,
        Some(t) if t.is_dir() => Found::Dir,
        Some(t) => Found::Other(fs_guard::describe(t)),
    })
}

/// A directory OUT derives and can rebuild (the history store, the incremental state):
/// anything at its place that is not a real directory (a link, a file) is removed, never
/// followed, and said in the log; the caller then rebuilds it.
pub fn replace_foreign_dir(path: &Path) -> Result<()> {
    match found_at(path).map_err(|e| Error::io(path, e))? {
        Found::Nothing | Found::Dir => Ok(()),
        Found::Other(kind) => {
            tracing::warn!(
                path = %path.display(),
                kind,
                "not a directory where permaudit keeps derived data: removed (not followed) and rebuilt"
            );
            fs::remove_file(path).map_err(|e| Error::io(path, e))
        }
    }
}

/// A directory of OUT that holds records permaudit cannot rebuild (review campaigns), or
/// that [`write_atomic`] writes into: a link or anything else at its place is refused,
/// naming it, rather than followed out of OUT or removed.
pub fn refuse_foreign_dir(path: &Path) -> Result<()> {
    match found_at(path).map_err(|e| Error::io(path, e))? {
        Found::Nothing | Found::Dir => Ok(()),
        Found::Other(kind) => Err(Error::io(
            path,
            io::Error::other(format!(
                "{kind} where permaudit keeps a directory; refusing to use it (nothing was \
                 written through it). Move it out of the output directory and run again"
            )),
        )),
    }
}

/// The bytes of a file of OUT, read through [`open_read`]'s guards.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs_guard::read_regular(path, Links::Refuse).map_err(|e| Error::io(path, e))
}

/// Removes whatever is at `path` without following a link: a directory with its content,
/// anything else by unlinking it. Nothing there is fine.
pub fn remove_entry(path: &Path) -> io::Result<()> {
    match found_at(path)? {
        Found::Nothing => Ok(()),
        Found::Dir => fs::remove_dir_all(path),
        Found::Other(_) => fs::remove_file(path),
    }
}

/// Creates (or truncates) a file a run writes, never through a symbolic link at its name
/// (a link planted in OUT would make the run overwrite a file elsewhere) and never blocking
/// on a FIFO planted there.
pub fn create_file(path: &Path) -> Result<fs::File> {
    open_regular(
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true),
        path,
    )
}

/// Opens a file that OUT must hold as a regular file: never through a link, never blocking
/// (see [`fs_guard::open_regular`]).
pub fn open_regular(options: &mut fs::OpenOptions, path: &Path) -> Result<fs::File> {
    fs_guard::open_regular(options, path, Links::Refuse).map_err(|e| Error::io(path, e))
}

/// Opens a file of OUT for reading through [`open_regular`].
pub fn open_read(path: &Path) -> Result<fs::File> {
    open_regular(fs::OpenOptions::new().read(true), path)
}

/// A Parquet file of OUT (the history store, the incremental state), read whole through
/// [`open_read`].
pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    read_parquet_columns(path, None)
}

/// [`read_parquet`] of the given columns only (an absent one is an error).
pub fn read_parquet_columns(path: &Path, columns: Option<&[&str]>) -> Result<DataFrame> {
    let f = open_read(path)?;
    ParquetReader::new(f)
        .with_columns(columns.map(|c| c.iter().map(|c| c.to_string()).collect()))
        .finish()
        .map_err(|source| Error::Parquet {
            path: path.to_path_buf(),
            source,
        })
}

/// Whether a Parquet file's footer names exactly `expected`'s columns and types (read
/// without its pages): a sound file of other columns, planted or left by another version,
/// is not the file expected.
pub fn footer_matches(reader: &mut ParquetReader<fs::File>, expected: &Schema) -> bool {
    reader
        .schema()
        .is_ok_and(|footer| Schema::from_arrow_schema(footer.as_ref()) == *expected)
}

/// A file a run writes through [`create_file`], buffered, whose SHA-256 is taken from the
/// bytes as they go out: the manifest then needs no second read of gigabytes of output.
pub struct HashedFile {
    // Hashed below the buffer: SHA-256 sees 64 KiB blocks, not every small write of a
    // serialiser.
    file: io::BufWriter<Hashing>,
}

struct Hashing {
    file: fs::File,
    hasher: Sha256,
}

impl HashedFile {
    pub fn create(path: &Path) -> Result<HashedFile> {
        Ok(HashedFile {
            file: io::BufWriter::with_capacity(
                1 << 16,
                Hashing {
                    file: create_file(path)?,
                    hasher: Sha256::new(),
                },
            ),
        })
    }

    /// Flushes the file; the SHA-256 (lowercase hex) of every byte written.
    pub fn finish(self, path: &Path) -> Result<String> {
        let inner = self
            .file
            .into_inner()
            .map_err(|e| Error::io(path, e.into_error()))?;
        Ok(hex::encode(inner.hasher.finalize()))
    }
}

impl io::Write for HashedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl io::Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Writes a whole file through [`create_file`].
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = create_file(path)?;
    io::Write::write_all(&mut f, bytes).map_err(|e| Error::io(path, e))
}

/// Replaces `path` with `bytes` atomically: a temporary file beside it, fsynced, renamed
/// over it, and the directory fsynced, so a crash leaves the old or the new file whole.
/// The directory it goes into is refused (see [`refuse_foreign_dir`]) when something else
/// is at its place: a link planted there (`returned/`, `packets/` of a review campaign)
/// would make the write land outside OUT.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    refuse_foreign_dir(dir)?;
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!("{name}{TEMP}{}", std::process::id()));
    let written = create_file(&tmp).and_then(|mut f| {
        io::Write::write_all(&mut f, bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&tmp, e))
    });
    if let Err(e) = written {
        let _ = remove_entry(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    sync_dir(dir)
}

/// Makes a directory's entries (a rename, a new file) durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(dir, e))
}
