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
    /// A link of the city's road graph cannot be used.
    #[error("network: road link {link} (feature {feature}): {message}")]
    RoadLink {
        /// Index of the link in the road graph.
        link: usize,
        /// Id of the road feature it comes from.
        feature: i64,
        /// What is wrong.
        message: String,
    },
    /// A line of a CSV table (OD matrix, zones, link counts) cannot be used.
    #[error("{table}: line {line}: {message}")]
    Table {
        /// Which table.
        table: String,
        /// 1-based line.
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A table names something that does not exist (a zone, a junction).
    #[error("{table}: {message}")]
    Reference {
        /// Which table.
        table: String,
        /// What is missing.
        message: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, TrafficError>;
