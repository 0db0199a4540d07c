//! Rain gauge data files in the formats EPA SWMM 5.2 reads (SWMM 5.2 User's
//! Manual §11.3 "Rainfall Files"; Reference Manual Vol. I §2.2): SWMM's own
//! space-delimited format (`station year month day hour minute value`), NCDC
//! DSI-3240/3260 files (fixed-width "tape", space- and comma-delimited, with
//! or without station names), NCDC online retrievals (HPCP hourly, QPCP
//! 15-minute), and Environment Canada AES hourly and CMC hourly/15-minute files.
//!
//! A file is turned into the record a gauge reads: the recording interval and
//! a list of (start of interval, rain depth in inches) with the depths held in
//! single precision, as SWMM's rainfall interface file holds them. The file's
//! layout is recognised from its first five lines with the same field rules
//! SWMM applies (the crate's `cscan` module); the NCDC formats stamp each value at the
//! end of its interval, SWMM's own format at its start. NCDC accumulation
//! (`a` … `A`) spreads a total evenly over the intervals it spans; missing and
//! deleted periods are dropped.

use crate::cscan::{self, Field, scan};
use crate::error::EngineError;
use crate::inp::days_from_civil;

const MM_PER_INCH: f64 = 25.4;

/// How the values of a SWMM-format file are to be read (the gauge's format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RainKind {
    /// Intensity (depth per hour).
    Intensity,
    /// Depth over the recording interval.
    Volume,
    /// Depth accumulated since the start of the record (resets when it falls).
    Cumulative,
}

/// What a gauge reads from its file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RainRecord {
    /// Recording interval (s).
    pub interval_s: f64,
    /// Start of each recorded interval (s since 1970-01-01).
    pub times: Vec<f64>,
    /// Rain depth over each interval (inches), single precision as in SWMM.
    pub depths_in: Vec<f32>,
}

/// The gauge that reads a file.
#[derive(Debug, Clone)]
pub struct GageFile<'a> {
    /// Gauge name (for messages).
    pub gage: &'a str,
    /// Station id to pick from the file.
    pub station: &'a str,
    /// Value type of a SWMM-format file.
    pub kind: RainKind,
    /// Recording interval of a SWMM-format file (s).
    pub interval_s: f64,
    /// Depths of a SWMM-format file are millimetres (else inches).
    pub millimetres: bool,
    /// First day to read (days since 1970), if any.
    pub start_day: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
enum Format {
    Swmm,
    NwsSpace { named: bool },
    NwsComma,
    NwsTape,
    NwsOnline { value_at: usize, date_at: usize },
    AesHourly,
    CmcHourly,
    Cmc15,
}

fn nws_interval(elem: &str) -> u32 {
    match elem {
        "HPCP" => 3600,
        "QPCP" | "QGAG" => 900,
        _ => 0,
    }
}

/// Seconds since 1970 of a civil date, or `None` for an impossible date.
fn day_seconds(y: i64, m: i64, d: i64) -> Option<f64> {
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 {
        return None;
    }
    let (y, m) = (y as i32, m as u32);
    if d as u32 > crate::inp::days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d as u32) as f64 * 86400.0)
}

struct Reader<'a> {
    path: &'a str,
    gage: &'a GageFile<'a>,
    interval: u32,
    /// Seconds a stamp lies after the start of its interval.
    offset: i64,
    rec: RainRecord,
    accum_start: Option<f64>,
    accum: f32,
    previous: f64,
    /// An accumulated total ('a' … 'A') spread over more than [`MAX_ACCUMULATION_S`].
    overlong: bool,
}

/// Longest period an accumulated NWS total may be spread over (s): a year. Longer ones come
/// from a wrong date, not from a gauge, and would fill memory with intervals.
const MAX_ACCUMULATION_S: f64 = 366.0 * 86400.0;

impl Reader<'_> {
    fn err(&self, line: usize, message: String) -> EngineError {
        EngineError::FileData {
            path: self.path.to_string(),
            line,
            message,
        }
    }
    fn save(&mut self, day: f64, hour: i64, minute: i64, depth: f32) {
        // In f64: hours and minutes come unbounded from the file.
        let t = day + 3600.0 * hour as f64 + 60.0 * minute as f64 - self.offset as f64;
        self.rec.times.push(t);
        self.rec.depths_in.push(depth);
    }
    /// Whether a record of this day (s since 1970) is at or after the first day wanted.
    fn wanted(&self, day: f64) -> bool {
        self.gage
            .start_day
            .is_none_or(|d| day >= d as f64 * 86400.0)
    }
}

/// Reads a rain file for one gauge.
///
/// Errors name the file and line: no recognisable layout in the first five
/// lines, SWMM-format records out of time order, or no record for the station.
pub fn read(path: &str, text: &str, gage: &GageFile) -> Result<RainRecord, EngineError> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let (format, interval, header) =
        find_format(&lines, gage).ok_or_else(|| EngineError::FileData {
            path: path.to_string(),
            line: 1,
            message: format!(
                "rain gauge '{}': no known rainfall format in the first five lines",
                gage.gage
            ),
        })?;
    let offset = if format == Format::Swmm {
        0
    } else {
        i64::from(interval)
    };
    let mut r = Reader {
        path,
        gage,
        interval,
        offset,
        rec: RainRecord {
            interval_s: f64::from(interval),
            times: Vec::new(),
            depths_in: Vec::new(),
        },
        accum_start: None,
        accum: 0.0,
        previous: f64::NEG_INFINITY,
        overlong: false,
    };
    for (k, line) in lines.iter().enumerate().skip(header) {
        let go_on = match format {
            Format::Swmm => read_swmm_line(&mut r, line, k + 1)?,
            Format::AesHourly | Format::CmcHourly | Format::Cmc15 => {
                read_cmc_line(&mut r, line, format);
                true
            }
            _ => {
                read_nws_line(&mut r, line, format);
                if r.overlong {
                    return Err(r.err(
                        k + 1,
                        "an accumulated total (flags 'a' … 'A') spans more than a year".into(),
                    ));
                }
                true
            }
        };
        if !go_on {
            break;
        }
    }
    if r.rec.times.is_empty() {
        return Err(EngineError::FileData {
            path: path.to_string(),
            line: lines.len(),
            message: format!(
                "rain gauge '{}': no rainfall records for station '{}'",
                gage.gage, gage.station
            ),
        });
    }
    Ok(r.rec)
}

/// The layout of a rain file, its recording interval (s) and its number of
/// header lines, from the first five lines (SWMM rain.c findFileFormat).
fn find_format(lines: &[&str], gage: &GageFile) -> Option<(Format, u32, usize)> {
    for (hdr, line) in lines.iter().take(5).enumerate() {
        let nws = |v: &[Field], n: usize, at: usize| -> u32 {
            if v.len() == n {
                nws_interval(v[at].str())
            } else {
                0
            }
        };
        let i = nws(&scan(line, "%6ld %2d %4s"), 3, 2);
        if i > 0 {
            return Some((Format::NwsSpace { named: false }, i, hdr));
        }
        let i = nws(&scan(cscan::from(line, 37), "%2d %4s %2s %4d"), 4, 1);
        if i > 0 {
            return Some((Format::NwsSpace { named: true }, i, hdr));
        }
        let i = nws(&scan(line, "%6ld,%2d,%4s"), 3, 2);
        if i > 0 {
            return Some((Format::NwsComma, i, hdr));
        }
        // A comma-delimited file with station names is recognised but read
        // at the fixed positions of the unnamed layout, as SWMM reads it.
        let i = nws(&scan(cscan::from(line, 37), "%2d,%4s,%2s,%4d"), 4, 1);
        if i > 0 {
            return Some((Format::NwsComma, i, hdr));
        }
        let i = nws(&scan(line, "%3s%6ld%2d%4s"), 4, 3);
        if i > 0 {
            return Some((Format::NwsTape, i, hdr));
        }
        let v = scan(line, "%5s%6ld");
        if v.len() == 2 && v[0].str() == "COOP:" {
            return nws_online_format(lines);
        }
        let v = scan(line, "%7ld%3d%2d%2d%3d");
        if v.len() == 5 && v[4].int() == 123 && line.len() >= 185 {
            return Some((Format::AesHourly, 3600, hdr));
        }
        let v = scan(line, "%7ld%4d%2d%2d%3d");
        if v.len() == 5 {
            if v[4].int() == 159 && line.len() >= 691 {
                return Some((Format::Cmc15, 900, hdr));
            }
            if v[4].int() == 123 && line.len() >= 186 {
                return Some((Format::CmcHourly, 3600, hdr));
            }
        }
        if scan(line, "%s %d %d %d %d %d %f").len() >= 7 {
            // Whole seconds, as SWMM keeps a gauge's interval.
            let interval = (gage.interval_s.max(0.0) + 0.5).floor() as u32;
            return Some((Format::Swmm, interval, hdr));
        }
    }
    None
}

/// NCDC online retrievals: the header names HPCP or QPCP, whose column holds
/// the values; the date starts 11 characters before a data line's last ':'.
fn nws_online_format(lines: &[&str]) -> Option<(Format, u32, usize)> {
    let head = lines.first()?;
    let (interval, value_at) = if let Some(p) = head.find("HPCP") {
        (3600, p)
    } else {
        (900, head.find("QPCP")?)
    };
    for line in lines.iter().skip(1).take(5) {
        if !line.contains("COOP:") {
            continue;
        }
        let colon = line.rfind(':')?;
        let date_at = colon.checked_sub(11)?;
        return Some((Format::NwsOnline { value_at, date_at }, interval, 0));
    }
    None
}

/// One line of SWMM's own format; false stops reading (past the record).
fn read_swmm_line(r: &mut Reader, line: &str, no: usize) -> Result<bool, EngineError> {
    let v = scan(line, "%s %d %d %d %d %d %f");
    if v.len() < 7 || !v[0].str().eq_ignore_ascii_case(r.gage.station) {
        return Ok(true);
    }
    let Some(day) = day_seconds(v[1].int(), v[2].int(), v[3].int()) else {
        return Ok(true);
    };
    if !r.wanted(day) {
        return Ok(true);
    }
    let (hour, minute) = (v[4].int(), v[5].int());
    let t = day + 3600.0 * hour as f64 + 60.0 * minute as f64;
    if t <= r.previous {
        return Err(r.err(
            no,
            format!(
                "rain gauge '{}': record out of time order (each must follow the one before)",
                r.gage.gage
            ),
        ));
    }
    r.previous = t;
    let mut x = v[6].float() as f32;
    match r.gage.kind {
        RainKind::Intensity => x = x * r.interval as f32 / 3600.0f32,
        RainKind::Cumulative => {
            if x >= r.accum {
                x -= r.accum;
                r.accum += x;
            } else {
                r.accum = x;
            }
        }
        RainKind::Volume => {}
    }
    if r.gage.millimetres {
        x *= (1.0 / MM_PER_INCH) as f32;
    }
    r.save(day, hour, minute, x);
    Ok(true)
}

/// Condition flags of NCDC files: accumulated (a/A), deleted ({/}), missing ([/]).
fn read_nws_line(r: &mut Reader, line: &str, format: Format) {
    // C's strlen(line) - 1: the text before the newline fgets keeps.
    let len = line.len().saturating_sub(1);
    let (y, m, d, mut k) = match format {
        Format::NwsTape => {
            if len <= 30 {
                return;
            }
            let v = scan(cscan::from(line, 17), "%4d%2d%4d%3d");
            if v.len() < 4 {
                return;
            }
            (v[0].int(), v[1].int(), v[2].int(), 30)
        }
        Format::NwsSpace { named } => {
            let name = if named { 31 } else { 0 };
            if len <= 28 + name {
                return;
            }
            let at = 18 + name;
            let v = scan(cscan::from(line, at), "%4d %2d %2d");
            if v.len() < 3 {
                return;
            }
            (v[0].int(), v[1].int(), v[2].int(), at + 10)
        }
        Format::NwsComma => {
            if len <= 28 {
                return;
            }
            let v = scan(cscan::from(line, 18), "%4d,%2d,%2d");
            if v.len() < 3 {
                return;
            }
            (v[0].int(), v[1].int(), v[2].int(), 28)
        }
        Format::NwsOnline { date_at, .. } => {
            if len <= date_at + 23 {
                return;
            }
            let v = scan(cscan::from(line, date_at), "%4d%2d%2d");
            if v.len() < 3 {
                return;
            }
            (v[0].int(), v[1].int(), v[2].int(), date_at + 8)
        }
        _ => return,
    };
    let Some(mut day) = day_seconds(y, m, d) else {
        return;
    };
    if !r.wanted(day) {
        return;
    }
    while k < len {
        let (n, hour, minute, v, flag) = match format {
            Format::NwsTape => {
                let f = scan(cscan::from(line, k), "%2d%2d%6ld%c%c");
                k += 12;
                nws_fields(&f)
            }
            Format::NwsSpace { .. } => {
                let f = scan(cscan::from(line, k), " %2d%2d %6ld %c %c");
                k += 16;
                nws_fields(&f)
            }
            Format::NwsComma => {
                let f = scan(cscan::from(line, k), ",%2d%2d,%6ld,%c,%c");
                k += 16;
                nws_fields(&f)
            }
            Format::NwsOnline { value_at, .. } => {
                let hm = scan(cscan::from(line, k), " %2d:%2d");
                let (vn, v, flag) = online_value(cscan::from(line, value_at));
                k += len;
                let mut hour = hm.first().map_or(25, Field::int);
                let minute = hm.get(1).map_or(0, Field::int);
                // Ending hour 0 is hour 24 of the day before.
                if hour == 0 {
                    hour = 24;
                    day -= 86400.0;
                }
                (hm.len() + vn, hour, minute, v, flag)
            }
            _ => return,
        };
        if n < 3 || hour >= 25 {
            break;
        }
        // SWMM's condition code follows each reading's own flag.
        let missing = matches!(flag, '{' | '}' | '[' | ']' | 'M') || v >= 9999;
        if flag == 'a' {
            r.accum_start = Some(day + (3600 * hour + 60 * minute) as f64);
        } else if flag == 'A' {
            save_accumulated(r, day, hour, minute, v);
        } else {
            let x = v as f32 / 100.0f32;
            if x > 0.0 && !missing {
                r.save(day, hour, minute, x);
            }
        }
    }
}

fn nws_fields(f: &[Field]) -> (usize, i64, i64, i64, char) {
    (
        f.len(),
        f.first().map_or(25, Field::int),
        f.get(1).map_or(0, Field::int),
        f.get(2).map_or(99999, Field::int),
        f.get(3).map_or('\0', Field::char),
    )
}

/// A value of an online retrieval: decimal inches (newer files) or
/// hundredths, then a flag; returns (fields read, hundredths, flag).
fn online_value(s: &str) -> (usize, i64, char) {
    if s.contains('.') {
        let f = scan(s, "%f %c");
        let x = f.first().map_or(99.99f32, |x| x.float() as f32);
        (
            f.len(),
            (100.0f32 * x + 0.5f32) as i64,
            f.get(1).map_or('\0', Field::char),
        )
    } else {
        let f = scan(s, "%ld %c");
        (
            f.len(),
            f.first().map_or(99999, Field::int),
            f.get(1).map_or('\0', Field::char),
        )
    }
}

/// Spreads an accumulated total over the intervals since the `a` flag.
fn save_accumulated(r: &mut Reader, day: f64, hour: i64, minute: i64, v: i64) {
    let Some(start) = r.accum_start.take() else {
        return;
    };
    if v == 99999 {
        return;
    }
    let end = day + (3600 * hour + 60 * minute) as f64;
    if end - start > MAX_ACCUMULATION_S {
        r.overlong = true;
        return;
    }
    let n = ((end - start).round() as i64 / i64::from(r.interval.max(1))) + 1;
    let x = v as f32 / n as f32 / 100.0f32;
    if x > 0.0 {
        let mut t = start - r.offset as f64;
        for _ in 0..n {
            r.rec.times.push(t);
            r.rec.depths_in.push(x);
            t += f64::from(r.interval);
        }
    }
}

/// AES and CMC files: one day per line, 24 hourly or 96 quarter-hourly
/// values in tenths of a millimetre, each followed by a flag.
fn read_cmc_line(r: &mut Reader, line: &str, format: Format) {
    let (v, col) = if format == Format::AesHourly {
        let v = scan(line, "%7ld%3d%2d%2d%3d");
        (v, 17)
    } else {
        (scan(line, "%7ld%4d%2d%2d%3d"), 18)
    };
    if v.len() < 5 {
        return;
    }
    let mut y = v[1].int();
    if format == Format::AesHourly {
        y += if y < 100 { 2000 } else { 1000 };
    }
    let Some(day) = day_seconds(y, v[2].int(), v[3].int()) else {
        return;
    };
    if !r.wanted(day) {
        return;
    }
    let elem = v[4].int();
    let n = if format == Format::Cmc15 { 96 } else { 24 };
    if elem != if format == Format::Cmc15 { 159 } else { 123 } {
        return;
    }
    let (mut hour, mut minute) = (0, 0);
    let mut col = col;
    for _ in 0..n {
        let f = scan(cscan::from(line, col), "%6ld%c");
        if f.len() < 2 {
            return;
        }
        col += 7;
        let v = f[0].int();
        let x = (v as f64 / 10.0 / MM_PER_INCH) as f32;
        if x > 0.0 && v != -99999 {
            r.save(day, hour, minute, x);
        }
        if format == Format::Cmc15 {
            minute += 15;
            if minute == 60 {
                minute = 0;
                hour += 1;
            }
        } else {
            hour += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gage(kind: RainKind, mm: bool) -> GageFile<'static> {
        GageFile {
            gage: "G1",
            station: "STA1",
            kind,
            interval_s: 900.0,
            millimetres: mm,
            start_day: None,
        }
    }

    #[test]
    fn swmm_format_converts_to_inches_per_interval() {
        let text = "; header\nSTA1 2024 01 01 00 00 4.0\nSTA2 2024 01 01 00 00 9\nsta1 2024 01 01 00 15 2.0\n";
        let r = read("r.dat", text, &gage(RainKind::Intensity, true)).unwrap();
        assert_eq!(r.interval_s, 900.0);
        assert_eq!(r.times.len(), 2);
        let t0 = days_from_civil(2024, 1, 1) as f64 * 86400.0;
        assert_eq!(r.times, vec![t0, t0 + 900.0]);
        // 4 mm/h over 15 min = 1 mm = 1/25.4 in.
        assert!((f64::from(r.depths_in[0]) - 1.0 / 25.4).abs() < 1e-7);
    }

    #[test]
    fn swmm_format_errors_name_file_and_line() {
        let text = "STA1 2024 01 01 00 15 1\nSTA1 2024 01 01 00 15 1\n";
        let e = read("r.dat", text, &gage(RainKind::Volume, false)).unwrap_err();
        assert!(
            matches!(&e, EngineError::FileData { path, line: 2, .. } if path == "r.dat"),
            "{e}"
        );
        let e = read("r.dat", "nothing\nhere\n", &gage(RainKind::Volume, false)).unwrap_err();
        assert!(e.to_string().contains("no known rainfall format"), "{e}");
        let e = read(
            "r.dat",
            "X 2024 1 1 0 0 1\n",
            &gage(RainKind::Volume, false),
        )
        .unwrap_err();
        assert!(e.to_string().contains("STA1"), "{e}");
        // An hour beyond any integer product still reads, in order.
        let r = read(
            "r.dat",
            "STA1 2024 01 01 99999999999999999 00 1\n",
            &gage(RainKind::Volume, false),
        )
        .unwrap();
        assert_eq!(r.times.len(), 1);
    }

    #[test]
    fn nws_space_delimited_hourly_stamps_interval_ends() {
        // DSI-3240 hourly: station, division, element, units, year, month, day,
        // then "hhmm value flag flag" groups; values in hundredths of an inch.
        let line = format!(
            "{:<6} {:<2} {:<4} {:<2} {} {:02} {:02}",
            "123456", "01", "HPCP", "HI", 2024, 3, 5
        );
        let line = format!("{line} 0100 000012 a   0300 000030 A   0500 000025    \n");
        let g = GageFile {
            station: "123456",
            ..gage(RainKind::Volume, false)
        };
        let r = read("n.dat", &line, &g).unwrap();
        assert_eq!(r.interval_s, 3600.0);
        let day = days_from_civil(2024, 3, 5) as f64 * 86400.0;
        // 0.30 in accumulated over the intervals ending 01:00..03:00, then 0.25 in.
        assert_eq!(
            r.times,
            vec![day, day + 3600.0, day + 7200.0, day + 4.0 * 3600.0]
        );
        assert!((r.depths_in[0] - 0.1).abs() < 1e-7);
        assert!((r.depths_in[3] - 0.25).abs() < 1e-7);
        // An accumulation opened in 2024 and closed in 2031 is refused naming its line, not
        // spread over sixty thousand hours (found by fuzzing).
        let head = |y: i32| {
            format!(
                "{:<6} {:<2} {:<4} {:<2} {} {:02} {:02}",
                "123456", "01", "HPCP", "HI", y, 3, 5
            )
        };
        let text = format!(
            "{} 0100 000012 a   \n{} 0300 000030 A   \n",
            head(2024),
            head(2031)
        );
        let e = read("n.dat", &text, &g).unwrap_err().to_string();
        assert!(
            e.contains("n.dat") && e.contains("line 2") && e.contains("more than a year"),
            "{e}"
        );
    }
}
