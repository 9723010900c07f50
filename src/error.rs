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

    /// Exit codes are part of the CLI contract (README, `--help`).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) | Error::Input { .. } | Error::Strict { .. } => 2,
            Error::Locked(_) => 3,
            Error::Verify(_) => 5,
            Error::Io { .. }
            | Error::Template { .. }
            | Error::Internal(_)
            | Error::Polars { .. } => 4,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
