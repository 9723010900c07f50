//! The crate's error type and the one mapping from errors to exit codes.

use std::path::PathBuf;

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A file-level input problem: the whole run stops.
    #[error("{file}: {message}")]
    Input { file: String, message: String },
    #[error("--strict: {count} row(s) quarantined ({detail}); see the run log")]
    Strict { count: u64, detail: String },
    #[error("{0}")]
    Locked(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error("verification failed: {0}")]
    Verify(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// Inputs are checked before they reach polars, so a polars failure is a bug or a
    /// resource limit; its error is kept as the source for whoever walks the chain.
    #[error("internal error: polars: {source}")]
    Polars {
        #[from]
        source: polars::prelude::PolarsError,
    },
    /// A Parquet file of OUT that polars cannot read: permaudit wrote it, so it is damage or
    /// a bug; the file is named and polars' error kept as the source.
    #[error("internal error: {}: unreadable Parquet: {source}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: polars::prelude::PolarsError,
    },
    /// A Parquet or Arrow IPC file of OUT that could not be written: a full disk or a failing device, not
    /// a bug (polars words a full disk "File out of specification: underlying IO error: No
    /// space left on device"), so the file is named and no "internal error" claimed.
    #[error("{}: cannot write: {source}", path.display())]
    FrameWrite {
        path: PathBuf,
        #[source]
        source: polars::prelude::PolarsError,
    },
}

impl Error {
    pub fn input(file: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input {
            file: file.into(),
            message: message.into(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub fn frame_write(path: impl Into<PathBuf>, source: polars::prelude::PolarsError) -> Self {
        Error::FrameWrite {
            path: path.into(),
            source,
        }
    }

    /// The one mapping from errors to exit codes.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Config(_) | Error::Input { .. } | Error::Strict { .. } => ExitCode::BadInput,
            Error::Locked(_) => ExitCode::Locked,
            Error::Verify(_) => ExitCode::VerifyFailed,
            Error::Io { .. }
            | Error::Template { .. }
            | Error::Internal(_)
            | Error::Polars { .. }
            | Error::Parquet { .. }
            | Error::FrameWrite { .. } => ExitCode::Internal,
        }
    }
}

/// The process's exit codes, part of the command-line contract: `--help` and the README's
/// table are rendered from here, so they cannot drift from what the process returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    FindingsAtOrAbove = 1,
    BadInput = 2,
    Locked = 3,
    Internal = 4,
    VerifyFailed = 5,
}

impl ExitCode {
    pub const ALL: [ExitCode; 6] = [
        ExitCode::Success,
        ExitCode::FindingsAtOrAbove,
        ExitCode::BadInput,
        ExitCode::Locked,
        ExitCode::Internal,
        ExitCode::VerifyFailed,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// The terse meaning `--help` lists.
    pub fn brief(self) -> &'static str {
        match self {
            ExitCode::Success => "success",
            ExitCode::FindingsAtOrAbove => "findings at or above --fail-on",
            ExitCode::BadInput => "bad input, configuration or policy (nothing written)",
            ExitCode::Locked => "another run holds the lock of the output directory (nothing done)",
            ExitCode::Internal => "internal or I/O error",
            ExitCode::VerifyFailed => "verify found a wrong file, link, signature or anchor",
        }
    }

    /// The full meaning the README's table gives (Markdown).
    pub fn meaning(self) -> &'static str {
        match self {
            ExitCode::Success => "success",
            ExitCode::FindingsAtOrAbove => {
                "findings at or above `--fail-on` exist (the run itself succeeded and wrote its \
                 output; for `whatif`, the proposed grants would add them)"
            }
            ExitCode::BadInput => {
                "bad input, configuration or policy (file-level problem: an input file or the \
                 input directory that cannot be read or parsed, a missing column or table; or \
                 any quarantined row with `--strict`; for `whatif`, a proposed grant that fails \
                 the row checks), or bad arguments; no output is created or changed"
            }
            ExitCode::Locked => {
                "another run holds the output directory's lock; this run did nothing"
            }
            ExitCode::Internal => {
                "internal or I/O error on the output side (disk full, permissions, an earlier \
                 run's output unreadable, a link or non-file as the lock, something other than \
                 a directory at `OUT/<as_of>`)"
            }
            ExitCode::VerifyFailed => {
                "`verify` found a file, a chain link, a signature or an anchor that is wrong (each \
                 is listed on stdout)"
            }
        }
    }

    /// The `--help` footer of every command.
    pub fn help() -> String {
        let codes: Vec<String> = Self::ALL
            .iter()
            .map(|c| format!("{} {}", c.code(), c.brief()))
            .collect();
        format!("Exit codes: {}.", codes.join("; "))
    }

    /// The README's exit-code table.
    pub fn markdown_table() -> String {
        let mut table = String::from("| exit code | meaning |\n|---|---|\n");
        for c in Self::ALL {
            table.push_str(&format!("| {} | {} |\n", c.code(), c.meaning()));
        }
        table
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
