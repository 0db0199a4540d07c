//! Error type of the traffic crate.

/// Everything that can go wrong while reading inputs or building a network.
///
/// Parse errors name the XML element, the attribute (when one is at fault) and the 1-based line
/// in the input text, so a user can find the spot in the file.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum TrafficError {
    /// The text is not well-formed XML.
    #[error("line {line}: malformed XML: {message}")]
    Xml {
        /// 1-based line of the fault.
        line: usize,
        /// What the XML reader reported.
        message: String,
    },
    /// An attribute is missing or its value cannot be used.
    #[error("line {line}: <{element}> attribute `{attribute}`: {message}")]
    Attribute {
        /// 1-based line of the element.
        line: usize,
        /// Element name.
        element: String,
        /// Attribute name.
        attribute: String,
        /// What was expected.
        message: String,
    },
    /// An element is in the wrong place or refers to something that does not exist.
    #[error("line {line}: <{element}>: {message}")]
    Element {
        /// 1-based line of the element.
        line: usize,
        /// Element name.
        element: String,
        /// What is wrong.
        message: String,
    },
    /// The network as a whole cannot be used (for example it has no drivable edge).
    #[error("network: {0}")]
    Network(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, TrafficError>;
