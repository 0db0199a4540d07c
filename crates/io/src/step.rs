//! ISO 10303-21 ("STEP physical file", the exchange format of IFC) read into entity instances.
//!
//! The whole exchange structure is read: `ISO-10303-21;`, the `HEADER` section (its
//! `FILE_SCHEMA` kept), one or more `DATA` sections of instances `#12 = NAME(args);` and
//! `END-ISO-10303-21;`. Values: `$` (unset), `*` (derived), integers, reals (`1.`, `1.E-5`),
//! strings (`''` for a quote; `\X2\…\X0\` UTF-16, `\X4\…\X0\` UTF-32, `\X\HH` ISO 8859-1,
//! `\S\c` upper half, `\\`; other bytes as UTF-8, else ISO 8859-1), enumerations `.X.`,
//! binaries `"…"`, references `#n`, nested lists and typed values such as
//! `IFCLENGTHMEASURE(1.)`. Comments `/* … */`, CRLF or LF line ends and any white space are
//! accepted. Complex instances `(A(…) B(…))` are kept by name without arguments. Every error
//! gives its line; nothing on any input panics (lists nest at most [`MAX_DEPTH`] deep).

use std::collections::HashMap;

/// How deep lists may nest before a file is refused.
pub const MAX_DEPTH: usize = 64;

/// One parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `$`: not given.
    Null,
    /// `*`: derived from other attributes.
    Derived,
    /// An integer.
    Int(i64),
    /// A real.
    Real(f64),
    /// A string, decoded.
    Str(String),
    /// An enumeration value, without its dots (`.T.` is `T`).
    Enum(String),
    /// A binary, as its hexadecimal text.
    Binary(String),
    /// A reference to the instance `#n`.
    Ref(u64),
    /// A list (aggregate).
    List(Vec<Value>),
    /// A typed value, `NAME(value)`.
    Typed(String, Box<Value>),
}

impl Value {
    /// The number, also inside a typed value (`IFCLENGTHMEASURE(2.5)`).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Real(x) => Some(*x),
            Value::Typed(_, v) => v.as_f64(),
            _ => None,
        }
    }

    /// The text of a string (also inside a typed value).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Typed(_, v) => v.as_str(),
            _ => None,
        }
    }

    /// The referenced instance.
    pub fn as_ref_id(&self) -> Option<u64> {
        match self {
            Value::Ref(r) => Some(*r),
            _ => None,
        }
    }

    /// The items of a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// Whether it is `$` (or `*`).
    pub fn is_unset(&self) -> bool {
        matches!(self, Value::Null | Value::Derived)
    }
}

/// One entity instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// Its `#n`.
    pub id: u64,
    /// Entity name as written, upper case (`IFCWALL`); a complex instance's names joined by `+`.
    pub kind: String,
    /// Its parameters.
    pub args: Vec<Value>,
    /// The line it starts on (from 1).
    pub line: usize,
}

/// A parsed file.
#[derive(Debug, Clone, Default)]
pub struct StepFile {
    /// The schemas named in `FILE_SCHEMA` (`IFC4`, `IFC2X3` …).
    pub schema: Vec<String>,
    /// The instances by id.
    pub entities: HashMap<u64, Entity>,
    /// Ids in file order.
    pub order: Vec<u64>,
}

/// A syntax error, at a line.
#[derive(Debug, Clone, PartialEq)]
pub struct StepError {
    /// Line of the error (from 1).
    pub line: usize,
    /// What was expected and found.
    pub msg: String,
}

type R<T> = std::result::Result<T, StepError>;

struct Lex<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
}

fn shown(c: Option<u8>) -> String {
    match c {
        None => "the end of the file (truncated?)".into(),
        Some(c) if c.is_ascii_graphic() => format!("'{}'", c as char),
        Some(c) => format!("byte 0x{c:02x}"),
    }
}

impl<'a> Lex<'a> {
    fn err<T>(&self, msg: impl Into<String>) -> R<T> {
        Err(StepError {
            line: self.line,
            msg: msg.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        if c == b'\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// Skips white space and comments.
    fn ws(&mut self) -> R<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n' | b'\x0c') => {
                    self.bump();
                }
                Some(b'/') if self.b.get(self.i + 1) == Some(&b'*') => {
                    let start = self.line;
                    self.i += 2;
                    loop {
                        match self.bump() {
                            None => {
                                return Err(StepError {
                                    line: start,
                                    msg: "a comment '/*' is never closed".into(),
                                });
                            }
                            Some(b'*') if self.peek() == Some(b'/') => {
                                self.i += 1;
                                break;
                            }
                            _ => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn expect(&mut self, c: u8, what: &str) -> R<()> {
        self.ws()?;
        if self.peek() == Some(c) {
            self.bump();
            Ok(())
        } else {
            self.err(format!(
                "expected '{}' {what}, found {}",
                c as char,
                shown(self.peek())
            ))
        }
    }

    /// A keyword (`IFCWALL`, `END-ISO-10303-21`), upper-cased.
    fn keyword(&mut self) -> R<String> {
        self.ws()?;
        let s = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
                self.i += 1;
            } else {
                break;
            }
        }
        if s == self.i {
            return self.err(format!("expected a keyword, found {}", shown(self.peek())));
        }
        Ok(String::from_utf8_lossy(&self.b[s..self.i]).to_ascii_uppercase())
    }

    fn digits(&mut self) -> R<u64> {
        let s = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let t = std::str::from_utf8(&self.b[s..self.i]).unwrap_or("");
        t.parse().or_else(|_| {
            if t.is_empty() {
                self.err(format!(
                    "expected an instance number after '#', found {}",
                    shown(self.peek())
                ))
            } else {
                self.err(format!("instance number #{t} is too large"))
            }
        })
    }

    /// `( value, … )`, the opening parenthesis next.
    fn list(&mut self, depth: usize) -> R<Vec<Value>> {
        if depth > MAX_DEPTH {
            return self.err(format!("lists nest more than {MAX_DEPTH} deep"));
        }
        self.expect(b'(', "to open a list")?;
        let mut out = Vec::new();
        self.ws()?;
        if self.peek() == Some(b')') {
            self.bump();
            return Ok(out);
        }
        loop {
            out.push(self.value(depth)?);
            self.ws()?;
            match self.bump() {
                Some(b',') => continue,
                Some(b')') => return Ok(out),
                c => {
                    return self.err(format!("expected ',' or ')' in a list, found {}", shown(c)));
                }
            }
        }
    }

    fn value(&mut self, depth: usize) -> R<Value> {
        self.ws()?;
        match self.peek() {
            Some(b'$') => {
                self.bump();
                Ok(Value::Null)
            }
            Some(b'*') => {
                self.bump();
                Ok(Value::Derived)
            }
            Some(b'#') => {
                self.bump();
                Ok(Value::Ref(self.digits()?))
            }
            Some(b'\'') => self.string().map(Value::Str),
            Some(b'.') => {
                self.bump();
                let s = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.i += 1;
                }
                let name = String::from_utf8_lossy(&self.b[s..self.i]).to_ascii_uppercase();
                if self.peek() != Some(b'.') || name.is_empty() {
                    return self.err(format!(
                        "an enumeration '.{name}' is not closed by '.', found {}",
                        shown(self.peek())
                    ));
                }
                self.bump();
                Ok(Value::Enum(name))
            }
            Some(b'"') => {
                self.bump();
                let s = self.i;
                while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    self.i += 1;
                }
                let hex = String::from_utf8_lossy(&self.b[s..self.i]).into_owned();
                if self.bump() != Some(b'"') {
                    return self.err("a binary value is not closed by '\"'");
                }
                Ok(Value::Binary(hex))
            }
            Some(b'(') => Ok(Value::List(self.list(depth + 1)?)),
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b'+' => self.number(),
            Some(c) if c.is_ascii_alphabetic() => {
                let name = self.keyword()?;
                let mut args = self.list(depth + 1)?;
                let v = if args.len() == 1 {
                    args.pop().unwrap_or(Value::Null)
                } else {
                    Value::List(args)
                };
                Ok(Value::Typed(name, Box::new(v)))
            }
            c => self.err(format!("expected a value, found {}", shown(c))),
        }
    }

    fn number(&mut self) -> R<Value> {
        let s = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.' | b'E' | b'e'))
        {
            self.i += 1;
        }
        let t = std::str::from_utf8(&self.b[s..self.i]).unwrap_or("");
        if !t.contains(['.', 'E', 'e'])
            && let Ok(i) = t.parse::<i64>()
        {
            return Ok(Value::Int(i));
        }
        match t.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Value::Real(x)),
            _ => self.err(format!("'{t}' is not a number")),
        }
    }

    /// A string, the opening quote next.
    fn string(&mut self) -> R<String> {
        let start = self.line;
        self.bump();
        let mut out = String::new();
        let mut raw: Vec<u8> = Vec::new();
        let unclosed = || StepError {
            line: start,
            msg: "a string is never closed (a quote is missing or the file is truncated)".into(),
        };
        loop {
            let c = self.bump().ok_or_else(unclosed)?;
            if c >= 0x80 {
                raw.push(c);
                continue;
            }
            if !raw.is_empty() {
                flush_raw(&mut raw, &mut out);
            }
            match c {
                b'\'' => {
                    if self.peek() == Some(b'\'') {
                        self.bump();
                        out.push('\'');
                    } else {
                        return Ok(out);
                    }
                }
                b'\\' => self.escape(&mut out)?,
                b'\r' | b'\n' => {}
                c => out.push(c as char),
            }
        }
    }

    /// After a backslash in a string.
    fn escape(&mut self, out: &mut String) -> R<()> {
        let rest = &self.b[self.i..];
        let hex = |s: &[u8]| -> Option<u32> {
            if s.is_empty() || !s.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            u32::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
        };
        if rest.first() == Some(&b'\\') {
            self.i += 1;
            out.push('\\');
        } else if rest.starts_with(b"X2\\") || rest.starts_with(b"X4\\") {
            let w = if rest[1] == b'2' { 4 } else { 8 };
            self.i += 3;
            let mut units: Vec<u32> = Vec::new();
            loop {
                let r = &self.b[self.i..];
                if r.starts_with(b"\\X0\\") {
                    self.i += 4;
                    break;
                }
                match r.get(..w).and_then(hex) {
                    Some(u) => {
                        units.push(u);
                        self.i += w;
                    }
                    None => return self.err("a \\X2\\ or \\X4\\ run is not closed by \\X0\\"),
                }
            }
            if w == 4 {
                let u16s: Vec<u16> = units.iter().map(|&u| u as u16).collect();
                out.extend(
                    char::decode_utf16(u16s).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)),
                );
            } else {
                out.extend(
                    units
                        .iter()
                        .map(|&u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER)),
                );
            }
        } else if rest.starts_with(b"X\\") {
            match rest.get(2..4).and_then(hex) {
                Some(u) => {
                    self.i += 4;
                    out.push(char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                None => return self.err("\\X\\ is not followed by two hexadecimal digits"),
            }
        } else if rest.starts_with(b"S\\") && rest.get(2).is_some_and(|c| *c < 0x80) {
            out.push(char::from(rest[2] + 0x80));
            self.i += 3;
        } else if rest.len() >= 3 && rest[0] == b'P' && rest[2] == b'\\' {
            // A code-page switch (\PA\): ISO 8859-1 is what \S\ gives here.
            self.i += 3;
        } else {
            out.push('\\');
        }
        Ok(())
    }
}

fn flush_raw(raw: &mut Vec<u8>, out: &mut String) {
    match std::str::from_utf8(raw) {
        Ok(s) => out.push_str(s),
        Err(_) => out.extend(raw.iter().map(|&b| char::from(b))),
    }
    raw.clear();
}

/// Parses a STEP physical file.
pub fn parse(bytes: &[u8]) -> R<StepFile> {
    let b = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut lx = Lex { b, i: 0, line: 1 };
    let magic = lx.keyword()?;
    if magic != "ISO-10303-21" {
        return lx.err(format!(
            "not a STEP file: expected 'ISO-10303-21;', found '{magic}'"
        ));
    }
    lx.expect(b';', "after ISO-10303-21")?;
    let mut out = StepFile::default();
    let mut seen_data = false;
    loop {
        lx.ws()?;
        if lx.peek().is_none() {
            return lx.err("the file ends without 'END-ISO-10303-21;' (truncated?)");
        }
        let section = lx.keyword()?;
        match section.as_str() {
            "HEADER" => {
                lx.expect(b';', "after HEADER")?;
                loop {
                    let name = lx.keyword()?;
                    if name == "ENDSEC" {
                        lx.expect(b';', "after ENDSEC")?;
                        break;
                    }
                    let args = lx.list(0)?;
                    lx.expect(b';', &format!("after the header entry {name}"))?;
                    if name == "FILE_SCHEMA" {
                        for a in &args {
                            for s in a.as_list().unwrap_or_default() {
                                if let Some(s) = s.as_str() {
                                    out.schema.push(s.trim().to_ascii_uppercase());
                                }
                            }
                        }
                    }
                }
            }
            "DATA" => {
                seen_data = true;
                lx.ws()?;
                if lx.peek() == Some(b'(') {
                    lx.list(0)?;
                }
                lx.expect(b';', "after DATA")?;
                loop {
                    lx.ws()?;
                    match lx.peek() {
                        Some(b'#') => instance(&mut lx, &mut out)?,
                        Some(c) if c.is_ascii_alphabetic() => {
                            let k = lx.keyword()?;
                            if k != "ENDSEC" {
                                return lx.err(format!("expected '#n = …' or ENDSEC, found '{k}'"));
                            }
                            lx.expect(b';', "after ENDSEC")?;
                            break;
                        }
                        c => {
                            return lx
                                .err(format!("expected '#n = …' or ENDSEC, found {}", shown(c)));
                        }
                    }
                }
            }
            "END-ISO-10303-21" => {
                lx.expect(b';', "after END-ISO-10303-21")?;
                if !seen_data {
                    return lx.err("the file has no DATA section");
                }
                return Ok(out);
            }
            other => {
                return lx.err(format!(
                    "expected HEADER, DATA or END-ISO-10303-21, found '{other}'"
                ));
            }
        }
    }
}

fn instance(lx: &mut Lex, out: &mut StepFile) -> R<()> {
    lx.bump();
    let line = lx.line;
    let id = lx.digits()?;
    lx.expect(b'=', &format!("after #{id}"))?;
    lx.ws()?;
    let (kind, args) = if lx.peek() == Some(b'(') {
        // A complex instance: its names, its parameters not kept.
        lx.bump();
        let mut names = Vec::new();
        loop {
            lx.ws()?;
            if lx.peek() == Some(b')') {
                lx.bump();
                break;
            }
            names.push(lx.keyword()?);
            lx.list(0)?;
        }
        (names.join("+"), Vec::new())
    } else {
        let k = lx.keyword()?;
        (k, lx.list(0)?)
    };
    lx.expect(b';', &format!("after #{id}"))?;
    let e = Entity {
        id,
        kind,
        args,
        line,
    };
    match out.entities.get(&id) {
        Some(old) if old.kind == e.kind && old.args == e.args => {}
        Some(old) => {
            return Err(StepError {
                line,
                msg: format!("#{id} is defined twice (first on line {})", old.line),
            });
        }
        None => {
            out.order.push(id);
            out.entities.insert(id, e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(data: &str) -> String {
        format!(
            "ISO-10303-21;\r\nHEADER;FILE_DESCRIPTION((''),'2;1');\r\nFILE_SCHEMA(('IFC2X3'));\r\nENDSEC;\r\nDATA;\r\n{data}\r\nENDSEC;\r\nEND-ISO-10303-21;\r\n"
        )
    }

    #[test]
    fn values_of_every_kind() {
        let f = parse(
            file(
                "#1= IFCX('it''s',$,*,.T.,#22,(1,2.5,-1.E-3,(3.)),IFCLENGTHMEASURE(1.),\"0FF\",'K\\X2\\00FC\\X0\\che \\X\\E9 \\S\\i \\\\');\r\n/* a comment */ #2=IFCY(());",
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(f.schema, ["IFC2X3"]);
        let e = &f.entities[&1];
        assert_eq!(e.kind, "IFCX");
        assert_eq!(e.line, 6);
        assert_eq!(e.args[0], Value::Str("it's".into()));
        assert_eq!(e.args[1], Value::Null);
        assert_eq!(e.args[2], Value::Derived);
        assert_eq!(e.args[3], Value::Enum("T".into()));
        assert_eq!(e.args[4], Value::Ref(22));
        assert_eq!(
            e.args[5],
            Value::List(vec![
                Value::Int(1),
                Value::Real(2.5),
                Value::Real(-0.001),
                Value::List(vec![Value::Real(3.0)])
            ])
        );
        assert_eq!(e.args[6].as_f64(), Some(1.0));
        assert_eq!(e.args[7], Value::Binary("0FF".into()));
        assert_eq!(e.args[8].as_str(), Some("Küche é é \\"));
        assert_eq!(f.entities[&2].args, vec![Value::List(vec![])]);
        assert_eq!(f.order, [1, 2]);
    }

    #[test]
    fn errors_give_the_line() {
        let e = parse(file("#1=IFCX(1,2);\n#2=IFCX(1,2").as_bytes()).unwrap_err();
        assert_eq!(e.line, 8, "{e:?}");
        assert!(
            e.msg.contains("expected ',' or ')' in a list, found 'E'"),
            "{e:?}"
        );
        let e = parse(file("#1=IFCX(1,2)\n#2=IFCX(1,2);").as_bytes()).unwrap_err();
        assert!(e.msg.contains("expected ';' after #1, found '#'"), "{e:?}");
        assert_eq!(e.line, 7, "{e:?}");
        let e = parse(b"ISO-10303-21;\nHEADER;ENDSEC;\nDATA;\n#1=IFCX('abc").unwrap_err();
        assert!(e.msg.contains("never closed"), "{e:?}");
        assert_eq!(e.line, 4);
        let e = parse(file("#1=IFCX(1);#1=IFCX(2);").as_bytes()).unwrap_err();
        assert!(e.msg.contains("#1 is defined twice"), "{e:?}");
        // The same instance twice, word for word, is taken once.
        assert!(parse(file("#1=IFCX(1);#1=IFCX(1);").as_bytes()).is_ok());
        let deep = format!("#1=IFCX({}{});", "(".repeat(200), ")".repeat(200));
        let e = parse(file(&deep).as_bytes()).unwrap_err();
        assert!(e.msg.contains("nest more than"), "{e:?}");
        for bad in [
            "",
            "ISO-10303-21;",
            "#1=X();",
            "ISO-10303-21;DATA;#=X();ENDSEC;",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
