//! Daily rain at a network of gauges (a drainage operator's records): a gauge list with
//! longitude and latitude, and daily totals in long format, one row per gauge and day.
//!
//! Gauge list: a CSV whose header holds `gauge_id` and `lon`/`lat` (or `approx_lon`/
//! `approx_lat`), other columns ignored. Daily totals: a CSV whose header holds `date`
//! (`YYYY-MM-DD`), `gauge_id` and `rain_mm`, and optionally `qc`: a row whose `qc` is not `ok`
//! is left out and named in a warning. A gauge with no row on a day has no reading that day
//! (not 0 mm). Every error names the file, the line and the field.

use crate::csvtext::number;
use crate::error::{IoError, Result};
use crate::points::split_csv;
use std::path::Path;
use twin_model::is_date;

/// A rain gauge.
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    /// Id, unique in the list.
    pub id: String,
    /// Longitude, degrees (WGS 84).
    pub lon: f64,
    /// Latitude, degrees (WGS 84).
    pub lat: f64,
}

/// A gauge's total on a day.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Gauge id.
    pub id: String,
    /// Total, mm.
    pub mm: f64,
}

/// The readings of one day.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// Readings kept, in file order.
    pub readings: Vec<Reading>,
    /// Rows left out by their `qc` flag: (gauge id, flag, mm).
    pub flagged: Vec<(String, String, f64)>,
}

/// Highest daily total taken, mm (above the world's record day, 1,825 mm at Foc-Foc, 1966).
pub const MAX_DAILY_MM: f64 = 2_000.0;

/// Data lines with their 1-based numbers.
type Lines<'a> = Vec<(usize, &'a str)>;

/// The header's columns (lower case, BOM and spaces trimmed) and the data lines.
pub(crate) fn table<'a>(text: &'a str, path: &Path) -> Result<(Vec<String>, Lines<'a>)> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (_, head) = lines
        .next()
        .ok_or_else(|| IoError::format(path, "line 1", "empty file; expected a header"))?;
    let cols = head
        .split(',')
        .map(|c| c.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    Ok((cols, lines.map(|(i, l)| (i + 1, l)).collect()))
}

/// The index of the first of `names` among the header's columns.
pub(crate) fn column(cols: &[String], names: &[&str], path: &Path) -> Result<usize> {
    cols.iter()
        .position(|c| names.contains(&c.as_str()))
        .ok_or_else(|| {
            IoError::format(
                path,
                "line 1",
                format!("the header has no column '{}'", names.join("' or '")),
            )
        })
}

/// The fields of a line, as many as the header has.
pub(crate) fn fields(line: &str, n: usize, width: usize, path: &Path) -> Result<Vec<String>> {
    let f = split_csv(line).ok_or_else(|| {
        IoError::format(path, format!("line {n}"), "a quoted field is not closed")
    })?;
    if f.len() != width {
        return Err(IoError::format(
            path,
            format!("line {n}"),
            format!("expected {width} fields as the header, got {}", f.len()),
        ));
    }
    Ok(f)
}

/// Parses a gauge list; `path` names the file in errors.
pub fn parse_gauges(text: &str, path: &Path) -> Result<Vec<Gauge>> {
    let (cols, rows) = table(text, path)?;
    let id = column(&cols, &["gauge_id"], path)?;
    let lon = column(&cols, &["lon", "approx_lon"], path)?;
    let lat = column(&cols, &["lat", "approx_lat"], path)?;
    let mut out: Vec<Gauge> = Vec::new();
    for (n, line) in rows {
        let f = fields(line, n, cols.len(), path)?;
        let gid = f[id].trim().to_string();
        if gid.is_empty() {
            return Err(IoError::format(
                path,
                format!("line {n}, field 'gauge_id'"),
                "empty",
            ));
        }
        if out.iter().any(|g| g.id == gid) {
            return Err(IoError::format(
                path,
                format!("line {n}, field 'gauge_id'"),
                format!("'{gid}' appears twice"),
            ));
        }
        let (x, y) = (
            number(&f[lon], path, n, &cols[lon])?,
            number(&f[lat], path, n, &cols[lat])?,
        );
        if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
            return Err(IoError::format(
                path,
                format!("line {n}"),
                format!("longitude {x}, latitude {y} are not degrees on the globe"),
            ));
        }
        out.push(Gauge {
            id: gid,
            lon: x,
            lat: y,
        });
    }
    if out.is_empty() {
        return Err(IoError::format(path, "data", "no gauges after the header"));
    }
    Ok(out)
}

/// One checked row of a daily-totals text: its line, date, gauge, total (mm) and QC flag
/// (`None`: ok).
struct Row {
    line: usize,
    date: String,
    gauge: String,
    mm: f64,
    flag: Option<String>,
}

/// Every row of a daily-totals text, each checked: a date, a gauge of `gauges`, a number, and
/// for an unflagged row a daily total in 0..[`MAX_DAILY_MM`].
fn daily_rows(text: &str, path: &Path, gauges: &[Gauge]) -> Result<Vec<Row>> {
    let (cols, rows) = table(text, path)?;
    let c_date = column(&cols, &["date"], path)?;
    let c_id = column(&cols, &["gauge_id"], path)?;
    let c_mm = column(&cols, &["rain_mm"], path)?;
    let c_qc = cols.iter().position(|c| c == "qc");
    let mut out = Vec::with_capacity(rows.len());
    for (n, line) in rows {
        let f = fields(line, n, cols.len(), path)?;
        let d = f[c_date].trim();
        if !is_date(d) {
            return Err(IoError::format(
                path,
                format!("line {n}, field 'date'"),
                format!("expected a date YYYY-MM-DD, got '{d}'"),
            ));
        }
        let gid = f[c_id].trim();
        if !gauges.iter().any(|g| g.id == gid) {
            return Err(IoError::format(
                path,
                format!("line {n}, field 'gauge_id'"),
                format!("'{gid}' is not in the gauge list"),
            ));
        }
        let mm = number(&f[c_mm], path, n, "rain_mm")?;
        let flag = c_qc
            .map(|c| f[c].trim())
            .filter(|q| !q.eq_ignore_ascii_case("ok"));
        // A flagged row is not used: its value need only be a number.
        if flag.is_none() && !(0.0..=MAX_DAILY_MM).contains(&mm) {
            return Err(IoError::format(
                path,
                format!("line {n}, field 'rain_mm'"),
                format!("expected 0..{MAX_DAILY_MM} mm in a day, got {mm}"),
            ));
        }
        out.push(Row {
            line: n,
            date: d.to_string(),
            gauge: gid.to_string(),
            mm,
            flag: flag.map(str::to_string),
        });
    }
    Ok(out)
}

/// The readings of `date` (`YYYY-MM-DD`) in a daily-totals text; every row is checked, not only
/// the day's. Gauge ids must be in `gauges`.
pub fn parse_day(text: &str, path: &Path, date: &str, gauges: &[Gauge]) -> Result<Day> {
    let mut day = Day {
        readings: Vec::new(),
        flagged: Vec::new(),
    };
    for r in daily_rows(text, path, gauges)? {
        if r.date != date {
            continue;
        }
        let gid = r.gauge;
        if day.readings.iter().any(|x| x.id == gid) || day.flagged.iter().any(|x| x.0 == gid) {
            return Err(IoError::format(
                path,
                format!("line {}", r.line),
                format!("gauge '{gid}' has a second row on {date}"),
            ));
        }
        match r.flag {
            Some(q) => day.flagged.push((gid, q, r.mm)),
            None => day.readings.push(Reading { id: gid, mm: r.mm }),
        }
    }
    Ok(day)
}

/// Reads the gauge list and the readings of `date`.
pub fn read_day(gauges: &Path, daily: &Path, date: &str) -> Result<(Vec<Gauge>, Day)> {
    if !is_date(date) {
        return Err(IoError::Invalid(format!(
            "expected a date YYYY-MM-DD, got '{date}'"
        )));
    }
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| IoError::file(p, format!("cannot read: {e}")))
    };
    let list = parse_gauges(&read(gauges)?, gauges)?;
    let day = parse_day(&read(daily)?, daily, date, &list)?;
    Ok((list, day))
}

/// A day of a daily-totals record: its date, the mean of its unflagged gauge totals (mm) and
/// how many gauges gave one.
#[derive(Debug, Clone, PartialEq)]
pub struct WetDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Mean of the unflagged totals, mm.
    pub mean_mm: f64,
    /// Gauges with an unflagged total.
    pub gauges: usize,
}

/// The `n` wettest days of a daily-totals text by the mean of their unflagged totals (ties by
/// date), each row checked as [`parse_day`] does.
pub fn wettest_days(text: &str, path: &Path, gauges: &[Gauge], n: usize) -> Result<Vec<WetDay>> {
    let mut days: std::collections::BTreeMap<String, (f64, usize)> = Default::default();
    for r in daily_rows(text, path, gauges)? {
        if r.flag.is_none() {
            let e = days.entry(r.date).or_insert((0.0, 0));
            e.0 += r.mm;
            e.1 += 1;
        }
    }
    let mut out: Vec<WetDay> = days
        .into_iter()
        .map(|(date, (sum, k))| WetDay {
            date,
            mean_mm: sum / k as f64,
            gauges: k,
        })
        .collect();
    out.sort_by(|a, b| b.mean_mm.total_cmp(&a.mean_mm).then(a.date.cmp(&b.date)));
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAUGES: &str = "\u{feff}gauge_id,gauge_name,approx_lon,approx_lat\r\nc01,Ba Đình,105.83521,21.03984\r\nc02,\"Hai Bà Trưng, HN\",105.85429,21.01501\r\n";

    #[test]
    fn the_wettest_days_rank_by_their_unflagged_mean() {
        let p = Path::new("d.csv");
        let gauges = parse_gauges(GAUGES, p).unwrap();
        let daily = "date,gauge_id,gauge_name,rain_mm,qc\n2025-09-30,c01,A,262.4,ok\n2025-09-30,c02,B,7947.8,suspect_gt500mm\n2025-10-01,c01,A,3,ok\n2025-10-01,c02,B,5,ok\n2024-07-23,c01,A,100,ok\n2024-07-23,c02,B,140,ok\n";
        let w = wettest_days(daily, p, &gauges, 2).unwrap();
        assert_eq!(
            w,
            vec![
                WetDay {
                    date: "2025-09-30".into(),
                    mean_mm: 262.4,
                    gauges: 1
                },
                WetDay {
                    date: "2024-07-23".into(),
                    mean_mm: 120.0,
                    gauges: 2
                }
            ]
        );
        let e = wettest_days(
            &daily.replace("2024-07-23,c01", "2024-7-23,c01"),
            p,
            &gauges,
            2,
        )
        .unwrap_err();
        assert!(e.to_string().contains("line 6, field 'date'"), "{e}");
    }

    #[test]
    fn a_day_is_read_with_flagged_rows_named_and_bad_rows_refused() {
        let p = Path::new("g.csv");
        let gauges = parse_gauges(GAUGES, p).unwrap();
        assert_eq!(gauges.len(), 2);
        assert_eq!(gauges[1].lon, 105.85429);
        let daily = "date,gauge_id,gauge_name,rain_mm,qc\n2025-09-30,c01,Ba Đình,262.4,ok\n2025-09-30,c02,Hai Bà Trưng,7947.8,suspect_gt500mm\n2025-10-01,c01,Ba Đình,3,ok\n";
        // 7,947.8 mm is past any day on Earth: left out when flagged, refused when not.
        let bad = daily.replace("suspect_gt500mm", "ok");
        let e = parse_day(&bad, p, "2025-09-30", &gauges).unwrap_err();
        assert!(e.to_string().contains("line 3, field 'rain_mm'"), "{e}");
        let day = parse_day(daily, p, "2025-09-30", &gauges).unwrap();
        assert_eq!(
            day.readings,
            [Reading {
                id: "c01".into(),
                mm: 262.4
            }]
        );
        assert_eq!(
            day.flagged,
            [("c02".into(), "suspect_gt500mm".into(), 7947.8)]
        );
        let daily = daily.to_string();
        for (bad, says) in [
            (
                daily.replace("2025-10-01", "2025-02-30"),
                "line 4, field 'date'",
            ),
            (
                daily.replace(",c01,Ba Đình,3", ",c99,X,3"),
                "'c99' is not in",
            ),
            (daily.replace("262.4", "-1"), "line 2, field 'rain_mm'"),
            (daily.replace("2025-10-01", "2025-09-30"), "second row"),
            (daily.replace(",qc", ""), "expected 4 fields"),
        ] {
            let e = parse_day(&bad, p, "2025-09-30", &gauges).unwrap_err();
            assert!(e.to_string().contains(says), "{e}");
        }
        let e = parse_gauges("id,lon,lat\nc1,1,2\n", p).unwrap_err();
        assert!(e.to_string().contains("no column 'gauge_id'"), "{e}");
        let e = parse_gauges("gauge_id,lon,lat\nc1,200,2\n", p).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(is_date("2024-02-29") && !is_date("2023-02-29") && !is_date("2024-13-01"));
    }
}
