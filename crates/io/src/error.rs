//! Errors of the I/O layer: every one names the file and, where it can, the line, feature or
//! field that is wrong.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// An I/O or format error.
#[derive(Debug, Error)]
pub enum IoError {
    /// The file could not be opened, read or written.
    #[error("{file}: {msg}")]
    File {
        /// The file.
        file: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// The content is malformed at a place in the file.
    #[error("{file}: {location}: {msg}")]
    Format {
        /// The file.
        file: PathBuf,
        /// `line 12`, `feature 3 (id 42), field 'geometry'`, `PBF block` …
        location: String,
        /// What was expected and found.
        msg: String,
    },
    /// An unknown or unusable coordinate reference system.
    #[error("{context}: coordinate reference system {crs}: {msg}")]
    Crs {
        /// Where it was met.
        context: String,
        /// The CRS as given.
        crs: String,
        /// What went wrong.
        msg: String,
    },
    /// The request is not valid (unknown layer, conflicting options …).
    #[error("{0}")]
    Invalid(String),
}

impl IoError {
    /// A file-level error.
    pub fn file(file: &Path, msg: impl Into<String>) -> IoError {
        IoError::File {
            file: file.to_path_buf(),
            msg: msg.into(),
        }
    }

    /// A format error at a location in a file.
    pub fn format(file: &Path, location: impl Into<String>, msg: impl Into<String>) -> IoError {
        IoError::Format {
            file: file.to_path_buf(),
            location: location.into(),
            msg: msg.into(),
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, IoError>;
