//! Named points files (gauges, hotspots): CSV with a header `name,x,y`, coordinates in the
//! model's CRS (metres). A name may be quoted to hold commas (`"Phố Huế, số 12"`); quotes inside
//! a quoted name are doubled, as in RFC 4180.

use crate::csvtext::{data_lines, number};
use crate::error::{IoError, Result};
use std::path::Path;

/// A named point.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPoint {
    /// Name, unique in the file.
    pub name: String,
    /// Easting, m.
    pub x: f64,
    /// Northing, m.
    pub y: f64,
}

/// Splits one CSV line into fields (RFC 4180 quoting); `None` when a quote is left open.
pub(crate) fn split_csv(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, ',') => out.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    out.push(field);
    Some(out)
}

/// Parses a points CSV text; `path` names the file in errors.
pub fn parse_points_csv(text: &str, path: &Path) -> Result<Vec<NamedPoint>> {
    let mut points: Vec<NamedPoint> = Vec::new();
    for (n, line) in data_lines(text, path, &["name", "x", "y"])? {
        let f = split_csv(line).ok_or_else(|| {
            IoError::format(path, format!("line {n}"), "a quoted name is not closed")
        })?;
        if f.len() != 3 {
            return Err(IoError::format(
                path,
                format!("line {n}"),
                format!("expected 3 fields (name,x,y), got {}", f.len()),
            ));
        }
        let name = f[0].trim().to_string();
        if name.is_empty() {
            return Err(IoError::format(
                path,
                format!("line {n}, field 'name'"),
                "empty",
            ));
        }
        if points.iter().any(|p| p.name == name) {
            return Err(IoError::format(
                path,
                format!("line {n}, field 'name'"),
                format!("'{name}' appears twice"),
            ));
        }
        let x = number(&f[1], path, n, "x")?;
        let y = number(&f[2], path, n, "y")?;
        points.push(NamedPoint { name, x, y });
    }
    Ok(points)
}

/// Reads a points CSV file.
pub fn read_points_csv(path: &Path) -> Result<Vec<NamedPoint>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| IoError::file(path, format!("cannot read: {e}")))?;
    parse_points_csv(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_names_and_rejects_with_lines() {
        let p = Path::new("gauges.csv");
        let v = parse_points_csv(
            "name,x,y\nHàng Bài,588565.4,2325647.3\n\"Phố Huế, số 12\",588600,2325500\n\"say \"\"hi\"\"\",1,2\n",
            p,
        )
        .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].name, "Hàng Bài");
        assert_eq!(v[0].x, 588565.4);
        assert_eq!(v[1].name, "Phố Huế, số 12");
        assert_eq!(v[1].y, 2325500.0);
        assert_eq!(v[2].name, "say \"hi\"");
        let e = parse_points_csv("name,x,y\nA,1,north\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("gauges.csv: line 2, field 'y'") && e.contains("north"),
            "{e}"
        );
        let e = parse_points_csv("name,x,y\nA,1,2\nA,3,4\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3, field 'name'") && e.contains("twice"),
            "{e}"
        );
        let e = parse_points_csv("name,x,y\n\"A,1,2\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("not closed"), "{e}");
        let e = parse_points_csv("name,x\nA,1\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && e.contains("header"), "{e}");
        assert!(parse_points_csv("name,x,y\nA,1\n", p).is_err());
        assert!(parse_points_csv("name,x,y\n", p).is_err());
    }
}
