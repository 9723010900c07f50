//! File primitives for a disk that may lie: inputs, OUT and returned packets can hold links,
//! FIFOs, sockets and devices where a file belongs. Opening a FIFO blocks until a writer
//! comes and a device may never end, so every open here is non-blocking and checks, on what
//! was opened, that it is a regular file; a check before the open alone would lose a race
//! with a swap.

use std::fs::{self, File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Whether a symbolic link at the path itself may be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Inputs and packets: a link to a regular file is read like the file.
    Follow,
    /// OUT: a planted link must never make a run read or write elsewhere.
    Refuse,
}

/// What a file type is, for messages ("a FIFO (named pipe)").
pub fn describe(t: FileType) -> &'static str {
    if t.is_file() {
        "a regular file"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else {
        "not a regular file"
    }
}

/// The error for something that is not a regular file. Refusals carry the kind
/// `InvalidInput`, which [`is_refusal`] tells from the system's own errors.
pub fn not_regular(t: FileType) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("is {}: only regular files are used", describe(t)),
    )
}

/// Whether an error of this module is a refusal (not a regular file, a link not followed)
/// rather than a failure to read: the message then says everything by itself.
pub fn is_refusal(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::InvalidInput
}

/// Opens `path` with `options`, never blocking and (with [`Links::Refuse`]) never through a
/// link, and only if what was opened is a regular file. `O_NONBLOCK` changes nothing for a
/// regular file.
pub fn open_regular(options: &mut OpenOptions, path: &Path, links: Links) -> io::Result<File> {
    let nofollow = match links {
        Links::Follow => 0,
        Links::Refuse => libc::O_NOFOLLOW,
    };
    let file = options
        .custom_flags(libc::O_NONBLOCK | nofollow)
        .open(path)
        .map_err(|e| {
            if links == Links::Refuse && e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "is a symbolic link: refusing to follow it",
                )
            } else {
                e
            }
        })?;
    let t = file.metadata()?.file_type();
    if !t.is_file() {
        return Err(not_regular(t));
    }
    Ok(file)
}

/// Reads a whole regular file through [`open_regular`].
pub fn read_regular(path: &Path, links: Links) -> io::Result<Vec<u8>> {
    let mut file = open_regular(OpenOptions::new().read(true), path, links)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or_default();
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or_default());
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// What is at `path` itself (a link is not followed); `None` when nothing is.
pub fn type_at(path: &Path) -> io::Result<Option<FileType>> {
    match fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(m.file_type())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
