//! A thin layer over `quick-xml`: elements with owned attributes and the line they start on, so
//! the SUMO readers can report element, attribute and line in every error.

use crate::error::{Result, TrafficError};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// One start (or empty) tag with its attributes.
#[derive(Debug, Clone)]
pub(crate) struct Elem {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub line: usize,
}

/// What the pull reader yields.
pub(crate) enum Node {
    /// A start tag; `empty` is true for `<x/>`, which has no matching end.
    Open(Elem, bool),
    /// An end tag.
    Close(String),
}

/// Pull reader over a `&str` document.
pub(crate) struct XmlReader<'a> {
    reader: Reader<&'a [u8]>,
    line_starts: Vec<usize>,
}

impl<'a> XmlReader<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self {
            reader: Reader::from_str(text),
            line_starts,
        }
    }

    fn line_of(&self, pos: u64) -> usize {
        let pos = pos as usize;
        match self.line_starts.binary_search(&pos) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    fn elem(&self, e: &BytesStart<'_>, line: usize) -> Result<Elem> {
        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| TrafficError::Xml {
                line,
                message: format!("<{name}>: {err}"),
            })?;
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            let value = a
                .unescape_value()
                .map_err(|err| TrafficError::Attribute {
                    line,
                    element: name.clone(),
                    attribute: key.clone(),
                    message: err.to_string(),
                })?
                .into_owned();
            attrs.push((key, value));
        }
        Ok(Elem { name, attrs, line })
    }

    /// Next element boundary, or `None` at the end of the document.
    pub fn next(&mut self) -> Result<Option<Node>> {
        loop {
            let pos = self.reader.buffer_position();
            let ev = self.reader.read_event().map_err(|err| TrafficError::Xml {
                line: self.line_of(self.reader.error_position().max(pos)),
                message: err.to_string(),
            })?;
            let line = self.line_of(pos);
            match ev {
                Event::Start(e) => return Ok(Some(Node::Open(self.elem(&e, line)?, false))),
                Event::Empty(e) => return Ok(Some(Node::Open(self.elem(&e, line)?, true))),
                Event::End(e) => {
                    return Ok(Some(Node::Close(
                        String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                    )));
                }
                Event::Eof => return Ok(None),
                _ => {}
            }
        }
    }
}

impl Elem {
    /// Attribute value if present.
    pub fn opt(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn err(&self, attribute: &str, message: impl Into<String>) -> TrafficError {
        TrafficError::Attribute {
            line: self.line,
            element: self.name.clone(),
            attribute: attribute.to_string(),
            message: message.into(),
        }
    }

    pub fn elem_err(&self, message: impl Into<String>) -> TrafficError {
        TrafficError::Element {
            line: self.line,
            element: self.name.clone(),
            message: message.into(),
        }
    }

    /// Required attribute.
    pub fn req(&self, key: &str) -> Result<&str> {
        self.opt(key).ok_or_else(|| self.err(key, "missing"))
    }

    /// Optional finite number.
    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        match self.opt(key) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(self.err(key, format!("expected a finite number, found {v:?}"))),
            },
        }
    }

    /// Required finite number.
    pub fn req_f64(&self, key: &str) -> Result<f64> {
        self.opt_f64(key)?.ok_or_else(|| self.err(key, "missing"))
    }

    /// Optional non-negative integer.
    pub fn opt_usize(&self, key: &str) -> Result<Option<usize>> {
        match self.opt(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<usize>().map(Some).map_err(|_| {
                self.err(key, format!("expected a non-negative integer, found {v:?}"))
            }),
        }
    }
}
