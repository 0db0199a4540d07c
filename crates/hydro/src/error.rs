//! The error of building an engine from a project. A leaf module: the
//! readers (climate, controls, runoff, rain and external files) and the
//! engine all return it, and it imports nothing of theirs.

/// Error building an engine from a project.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum EngineError {
    /// A reference to an object that does not exist.
    #[error("[{section}] {object}: unknown {kind} '{name}'")]
    UnknownRef {
        /// Section of the referring object.
        section: &'static str,
        /// Referring object.
        object: String,
        /// What kind of object was looked up.
        kind: &'static str,
        /// The missing name.
        name: String,
    },
    /// An invalid value.
    #[error("[{section}] {object}: {message}")]
    Invalid {
        /// Section.
        section: &'static str,
        /// Object.
        object: String,
        /// What is wrong.
        message: String,
    },
    /// A feature this engine does not model yet.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A section that would change the water, which the engine does not
    /// model, refused at its first row.
    #[error("[{section}] line {line}: unsupported: {message} ('{row}')")]
    Refused {
        /// Section name.
        section: String,
        /// 1-based line of its first row.
        line: usize,
        /// That row's fields.
        row: String,
        /// What the section does that the engine does not.
        message: String,
    },
    /// A section header SWMM 5.2 does not know.
    #[error(
        "line {line}: unknown section [{name}] (did you mean [{nearest}]?); SWMM 5.2 refuses it too"
    )]
    UnknownSection {
        /// The header's name, upper-case, without brackets.
        name: String,
        /// 1-based line of the header.
        line: usize,
        /// The known section nearest by spelling.
        nearest: String,
    },
    /// Bad data in an external file the model names.
    #[error("file '{path}' line {line}: {message}")]
    FileData {
        /// Path as written in the model.
        path: String,
        /// 1-based line (0 for the file as a whole).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An external file the model names was not provided.
    #[error("{used_by} reads file '{path}', which was not provided")]
    MissingFile {
        /// Path as written in the model.
        path: String,
        /// Which object reads it.
        used_by: String,
    },
}

pub(crate) fn invalid(
    section: &'static str,
    object: &str,
    message: impl Into<String>,
) -> EngineError {
    EngineError::Invalid {
        section,
        object: object.to_string(),
        message: message.into(),
    }
}
