//! Rain series files: CSV with a header `minute,mm_per_hour`, one row per step; each
//! intensity holds from its minute until the next row (stepwise), the last one until the end.

use crate::csvtext::{data_lines, number};
use crate::error::{IoError, Result};
use std::path::Path;

/// Highest intensity a rain series may hold, mm/h: above the world's heaviest recorded rain
/// (31.2 mm in one minute, Unionville, Maryland, 1956: about 1,870 mm/h).
pub const MAX_MM_PER_HOUR: f64 = 2_000.0;

/// Latest minute a rain series may name: a year.
pub const MAX_MINUTE: f64 = 525_600.0;

/// Parses a rain CSV text; `path` names the file in errors.
pub fn parse_rain_csv(text: &str, path: &Path) -> Result<Vec<(f64, f64)>> {
    let mut rows = Vec::new();
    let mut prev = f64::NEG_INFINITY;
    for (n, line) in data_lines(text, path, &["minute", "mm_per_hour"])? {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 2 {
            return Err(IoError::format(
                path,
                format!("line {n}"),
                format!("expected 2 fields, got {}", f.len()),
            ));
        }
        let m = number(f[0], path, n, "minute")?;
        let i = number(f[1], path, n, "mm_per_hour")?;
        if m < 0.0 || m <= prev {
            return Err(IoError::format(
                path,
                format!("line {n}, field 'minute'"),
                format!("minutes must start at 0 or later and increase, got {m} after {prev}"),
            ));
        }
        if !(0.0..=MAX_MM_PER_HOUR).contains(&i) {
            return Err(IoError::format(
                path,
                format!("line {n}, field 'mm_per_hour'"),
                format!(
                    "intensity must lie in 0..{MAX_MM_PER_HOUR} mm/h (the world's heaviest \
                     recorded rain, 31 mm in a minute, is about 1,900 mm/h), got {i}"
                ),
            ));
        }
        if m > MAX_MINUTE {
            return Err(IoError::format(
                path,
                format!("line {n}, field 'minute'"),
                format!("a rain series reaches at most a year ({MAX_MINUTE} minutes), got {m}"),
            ));
        }
        prev = m;
        rows.push((m, i));
    }
    Ok(rows)
}

/// Reads a rain CSV file.
pub fn read_rain_csv(path: &Path) -> Result<Vec<(f64, f64)>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| IoError::file(path, format!("cannot read: {e}")))?;
    parse_rain_csv(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_with_lines() {
        let p = Path::new("rain.csv");
        assert_eq!(
            parse_rain_csv("minute,mm_per_hour\n0,10\n30,60.5\n", p).unwrap(),
            vec![(0.0, 10.0), (30.0, 60.5)]
        );
        let e = parse_rain_csv("minute,mm_per_hour\n0,10\n30,lots\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rain.csv: line 3, field 'mm_per_hour'") && e.contains("lots"),
            "{e}"
        );
        let e = parse_rain_csv("minute,mm_per_hour\n10,1\n5,1\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3, field 'minute'"), "{e}");
        let e = parse_rain_csv("time,rain\n0,1\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && e.contains("header"), "{e}");
        assert!(parse_rain_csv("minute,mm_per_hour\n0,-3\n", p).is_err());
        let e = parse_rain_csv("minute,mm_per_hour\n0,1e308\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2, field 'mm_per_hour'") && e.contains("0..2000"),
            "{e}"
        );
        assert!(parse_rain_csv("minute,mm_per_hour\n0,1\n1e12,0\n", p).is_err());
    }
}
