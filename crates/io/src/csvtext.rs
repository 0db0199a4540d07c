//! Small CSV inputs (rain series, points): header check, data lines with their numbers, and
//! numeric fields, every error naming the file, the line and the field.

use crate::error::{IoError, Result};
use std::path::Path;

/// The data lines (1-based line number, text) after a header that must equal `header`
/// (case-insensitive, a UTF-8 BOM and spaces ignored). Blank lines and `#` comments are skipped.
pub(crate) fn data_lines<'a>(
    text: &'a str,
    path: &Path,
    header: &[&str],
) -> Result<Vec<(usize, &'a str)>> {
    let expected = header.join(",");
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let Some((hl, head)) = lines.next() else {
        return Err(IoError::format(
            path,
            "line 1",
            format!("empty file; expected a header '{expected}'"),
        ));
    };
    let cols: Vec<String> = head
        .split(',')
        .map(|c| c.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    if cols != header {
        return Err(IoError::format(
            path,
            format!("line {}", hl + 1),
            format!("expected the header '{expected}', got '{}'", head.trim()),
        ));
    }
    let rows: Vec<(usize, &str)> = lines.map(|(i, l)| (i + 1, l)).collect();
    if rows.is_empty() {
        return Err(IoError::format(path, "data", "no rows after the header"));
    }
    Ok(rows)
}

/// A finite number in field `field` of line `line`.
pub(crate) fn number(s: &str, path: &Path, line: usize, field: &str) -> Result<f64> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            IoError::format(
                path,
                format!("line {line}, field '{field}'"),
                format!("expected a number, got '{}'", s.trim()),
            )
        })
}
