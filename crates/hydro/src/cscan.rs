//! A small reader of fixed- and free-format text fields with the rules of C's
//! `sscanf` (ISO C 7.21.6.2) for the conversions SWMM's file readers use:
//! `%d`/`%ld` and `%f`/`%lf` skip white space and read at most the field
//! width, `%s` reads a run of non-space characters, `%c` reads one character
//! as is, white space in the format matches any amount of white space and
//! any other character must match itself.
//!
//! SWMM recognises the layout of rain and climate files by which of several
//! such patterns a line satisfies, so the same rules are needed to read the
//! same files the same way.

/// One converted field.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Field {
    /// `%d`, `%ld`.
    Int(i64),
    /// `%f`, `%lf`.
    Float(f64),
    /// `%s`.
    Str(String),
    /// `%c`.
    Char(char),
}

impl Field {
    pub(crate) fn int(&self) -> i64 {
        match self {
            Field::Int(v) => *v,
            Field::Float(v) => *v as i64,
            _ => 0,
        }
    }
    pub(crate) fn float(&self) -> f64 {
        match self {
            Field::Float(v) => *v,
            Field::Int(v) => *v as f64,
            _ => 0.0,
        }
    }
    pub(crate) fn str(&self) -> &str {
        match self {
            Field::Str(s) => s,
            _ => "",
        }
    }
    pub(crate) fn char(&self) -> char {
        match self {
            Field::Char(c) => *c,
            _ => '\0',
        }
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Scans `input` with `fmt`; returns the fields converted before the first
/// mismatch (their count is what `sscanf` returns, except that no field at
/// all is an empty vector rather than `EOF`).
pub(crate) fn scan(input: &str, fmt: &str) -> Vec<Field> {
    let s = input.as_bytes();
    let f = fmt.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut k) = (0usize, 0usize);
    while k < f.len() {
        let c = f[k];
        if is_space(c) {
            while i < s.len() && is_space(s[i]) {
                i += 1;
            }
            k += 1;
            continue;
        }
        if c != b'%' {
            if i < s.len() && s[i] == c {
                i += 1;
                k += 1;
                continue;
            }
            return out;
        }
        k += 1;
        let mut width = 0usize;
        while k < f.len() && f[k].is_ascii_digit() {
            width = width * 10 + usize::from(f[k] - b'0');
            k += 1;
        }
        while k < f.len() && f[k] == b'l' {
            k += 1;
        }
        let Some(&conv) = f.get(k) else {
            return out;
        };
        k += 1;
        let max = if width == 0 { usize::MAX } else { width };
        match conv {
            b'c' => {
                if i >= s.len() {
                    return out;
                }
                // Input is text; a multi-byte character is read whole.
                let ch = input[i..].chars().next().unwrap_or('\0');
                i += ch.len_utf8();
                out.push(Field::Char(ch));
            }
            b's' => {
                while i < s.len() && is_space(s[i]) {
                    i += 1;
                }
                let st = i;
                while i < s.len() && !is_space(s[i]) && i - st < max {
                    i += 1;
                }
                if i == st {
                    return out;
                }
                // Stop on a character boundary.
                while !input.is_char_boundary(i) {
                    i += 1;
                }
                out.push(Field::Str(input[st..i].to_string()));
            }
            b'd' => {
                while i < s.len() && is_space(s[i]) {
                    i += 1;
                }
                let st = i;
                if i < s.len() && (s[i] == b'+' || s[i] == b'-') && max > 1 {
                    i += 1;
                }
                let ds = i;
                while i < s.len() && s[i].is_ascii_digit() && i - st < max {
                    i += 1;
                }
                if i == ds {
                    return out;
                }
                let v = input[st..i].parse::<i64>().unwrap_or(0);
                out.push(Field::Int(v));
            }
            b'f' => {
                while i < s.len() && is_space(s[i]) {
                    i += 1;
                }
                let st = i;
                let take = |i: &mut usize, ok: &dyn Fn(u8) -> bool| {
                    let b = *i;
                    while *i < s.len() && ok(s[*i]) && *i - st < max {
                        *i += 1;
                    }
                    *i > b
                };
                if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
                    i += 1;
                }
                let int = take(&mut i, &|c| c.is_ascii_digit());
                let mut frac = false;
                if i < s.len() && s[i] == b'.' && i - st < max {
                    i += 1;
                    frac = take(&mut i, &|c| c.is_ascii_digit());
                }
                if !int && !frac {
                    return out;
                }
                let mant_end = i;
                if i < s.len() && (s[i] == b'e' || s[i] == b'E') && i - st < max {
                    let save = i;
                    i += 1;
                    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
                        i += 1;
                    }
                    if !take(&mut i, &|c| c.is_ascii_digit()) {
                        i = save;
                    }
                }
                let text = &input[st..i];
                let v = text
                    .parse::<f64>()
                    .or_else(|_| input[st..mant_end].parse::<f64>())
                    .unwrap_or(0.0);
                out.push(Field::Float(v));
            }
            _ => return out,
        }
    }
    out
}

/// The text of `line` from byte `at` on, or empty past its end.
pub(crate) fn from(line: &str, at: usize) -> &str {
    if at >= line.len() {
        return "";
    }
    let mut a = at;
    while !line.is_char_boundary(a) {
        a += 1;
    }
    &line[a..]
}

/// C's `atof`: the longest leading number of `s` after white space, else 0.
pub(crate) fn atof(s: &str) -> f64 {
    match scan(s, "%f").first() {
        Some(f) => f.float(),
        None => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_signs_and_literals_follow_c() {
        let v = scan("123456 2020 01 01 00 15 0.1", "%7ld%3d%2d%2d%3d");
        assert_eq!(
            v,
            vec![
                Field::Int(123456),
                Field::Int(202),
                Field::Int(0),
                Field::Int(1),
                Field::Int(1)
            ]
        );
        let v = scan("STA 2020 1 1 0 0 0.1", "%6ld %2d %4s");
        assert!(v.is_empty());
        let v = scan("COOP:123456 x", "%5s%6ld");
        assert_eq!(v, vec![Field::Str("COOP:".into()), Field::Int(123456)]);
        assert_eq!(scan("12,34", "%d,%d").len(), 2);
        assert_eq!(scan("12;34", "%d,%d").len(), 1);
        assert_eq!(scan(" -1.5e2x", "%f")[0], Field::Float(-150.0));
        assert_eq!(scan("1.e", "%f")[0], Field::Float(1.0));
        assert_eq!(scan("ab", "%c%c"), vec![Field::Char('a'), Field::Char('b')]);
        assert_eq!(atof("  7.25abc"), 7.25);
        assert_eq!(atof("x"), 0.0);
        assert_eq!(from("abcdef", 2), "cdef");
        assert_eq!(from("abc", 5), "");
    }
}
