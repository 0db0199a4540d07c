//! Climate: the potential evaporation rate, the soil-recovery factor of
//! infiltration, and the monthly climate adjustments (SWMM 5 Reference
//! Manual Vol. I, Hydrology, ch. 2 "Climate"; SWMM 5.2 User's Manual §3.3).
//!
//! Evaporation comes from a constant, twelve monthly values, a time series
//! (each entry's rate held from its date until the next one), a climate file
//! of daily pan evaporation times monthly pan coefficients, or Hargreaves'
//! method (Hargreaves & Samani 1985) on a 7-day moving average of the climate
//! file's daily minimum and maximum temperatures. `[ADJUSTMENTS]` adds a
//! monthly amount to temperature and evaporation and scales rainfall and soil
//! hydraulic conductivity by month. The state is updated at the start of each
//! runoff step (each routing step when the model has no subcatchments), as
//! SWMM does, and the next change of the evaporation rate limits the runoff
//! step.
//!
//! Climate files: SWMM's user-prepared format (`station year month day tmax
//! tmin evap wind`, `*` for a missing value) and NCDC GHCN-Daily fixed-column
//! files (header naming the DATE, TMAX, TMIN, EVAP and WDMV/AWND columns).
//! Read month by month from the simulation start (or the file's start date),
//! a missing day keeps the previous day's value.
//!
//! Internal units as SWMM's: ft/s for rates, °F for temperatures.

use std::collections::HashMap;

use crate::cscan::{self, scan};
use crate::error::EngineError;
use crate::extfile::ExternalFiles;
use crate::inp::{EvapSource, Project, TempSource, days_from_civil, days_in_month};
use crate::options::Options;
use crate::table::{Table, civil_from_days};

const DAY: f64 = 86400.0;
const MISSING: f64 = -1.0e10;
const MM_PER_INCH: f64 = 25.4;

/// Climate file layouts.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
enum FileFormat {
    /// `station year month day tmax tmin evap wind`.
    User,
    /// NCDC GHCN-Daily: fixed columns found from the header.
    Ghcnd {
        date_at: usize,
        /// Columns of TMIN, TMAX, EVAP, wind.
        at: [Option<usize>; 4],
        /// Wind as daily movement (WDMV) rather than average speed (AWND).
        movement: bool,
    },
}

const TMIN: usize = 0;
const TMAX: usize = 1;
const EVAP: usize = 2;
const WIND: usize = 3;

/// A climate file read month by month, as SWMM reads it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct ClimateFile {
    path: String,
    lines: Vec<String>,
    pos: usize,
    /// Line read but not yet used (index into `lines`).
    pending: Option<usize>,
    eof: bool,
    format: FileFormat,
    si: bool,
    /// GHCN-Daily units: tenths of °C and mm, °C and mm, or °F and inches.
    units: TempUnits,
    year: i32,
    month: u32,
    day: u32,
    last_day: u32,
    elapsed_days: i64,
    /// Current day's TMIN, TMAX (°F), EVAP (in/day or mm/day), wind.
    value: [f64; 4],
    data: [[f64; 32]; 4],
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
enum TempUnits {
    C10,
    C,
    F,
}

impl ClimateFile {
    fn err(&self, line: usize, message: impl Into<String>) -> EngineError {
        EngineError::FileData {
            path: self.path.clone(),
            line,
            message: message.into(),
        }
    }

    /// The next non-blank line's year and month (SWMM climate.c readFileLine);
    /// `None` at the end of the file. Lines were checked when the file was opened.
    fn read_line(&mut self) -> Option<(i64, i64)> {
        while self.pending.is_none() {
            if self.pos >= self.lines.len() {
                self.eof = true;
                return None;
            }
            let k = self.pos;
            self.pos += 1;
            if k + 1 == self.lines.len() && !self.lines[k].ends_with('\n') {
                self.eof = true;
            }
            if !self.lines[k].starts_with('\n') {
                self.pending = Some(k);
            }
        }
        let k = self.pending.unwrap_or(0);
        let line = &self.lines[k];
        match self.format {
            FileFormat::User => {
                let v = scan(line, "%s %d %d");
                Some((
                    v.get(1).map_or(-99999, |x| x.int()),
                    v.get(2).map_or(-99999, |x| x.int()),
                ))
            }
            FileFormat::Ghcnd { date_at, .. } => {
                let v = scan(cscan::from(line, date_at), "%4d%2d");
                if v.len() == 2 {
                    Some((v[0].int(), v[1].int()))
                } else {
                    Some((-99999, -99999))
                }
            }
        }
    }

    /// Reads the data lines of the current month (SWMM readFileValues).
    fn read_month(&mut self) {
        self.data = [[MISSING; 32]; 4];
        loop {
            if self.eof {
                return;
            }
            let ym = self.read_line();
            if let Some((y, m)) = ym
                && (y > i64::from(self.year) || m > i64::from(self.month))
            {
                return;
            }
            if let Some(k) = self.pending.take() {
                self.parse_line(k);
            }
        }
    }

    fn parse_line(&mut self, k: usize) {
        let line = self.lines[k].clone();
        match self.format {
            FileFormat::User => {
                let v = scan(&line, "%s %d %d %d %s %s %s %s");
                if v.len() < 4 {
                    return;
                }
                let d = v[3].int();
                if !(1..=31).contains(&d) {
                    return;
                }
                let d = d as usize;
                let si = self.si;
                for (tok, var) in [(4, TMAX), (5, TMIN), (6, EVAP), (7, WIND)] {
                    let Some(s) = v.get(tok).map(|f| f.str().to_string()) else {
                        continue;
                    };
                    if s.is_empty() || s.starts_with('*') {
                        continue;
                    }
                    let mut x = cscan::atof(&s);
                    if si && (var == TMAX || var == TMIN) {
                        x = 9.0 / 5.0 * x + 32.0;
                    }
                    self.data[var][d] = x;
                }
            }
            FileFormat::Ghcnd {
                date_at,
                at,
                movement,
            } => {
                let v = scan(cscan::from(&line, date_at), "%4d%2d%2d");
                if v.len() < 3 {
                    return;
                }
                let d = v[2].int();
                if !(1..=31).contains(&d) {
                    return;
                }
                for (var, p) in at.iter().enumerate() {
                    let Some(p) = p else { continue };
                    let f = scan(cscan::from(&line, *p), "%8lf");
                    if let Some(x) = f.first() {
                        let x = x.float();
                        if x.abs() < 9999.0 {
                            self.data[var][d as usize] = self.ghcnd_value(var, x, movement);
                        }
                    }
                }
            }
        }
    }

    /// A GHCN-Daily value in SWMM's internal units (°F, in/day or mm/day, mph).
    fn ghcnd_value(&self, var: usize, v: f64, movement: bool) -> f64 {
        let us = !self.si;
        match var {
            TMIN | TMAX => match self.units {
                TempUnits::C10 => v / 10.0 * 9.0 / 5.0 + 32.0,
                TempUnits::C => v * 9.0 / 5.0 + 32.0,
                TempUnits::F => v,
            },
            EVAP => match self.units {
                TempUnits::C10 => {
                    let v = v / 10.0;
                    if us { v / MM_PER_INCH } else { v }
                }
                TempUnits::C => {
                    if us {
                        v / MM_PER_INCH
                    } else {
                        v
                    }
                }
                TempUnits::F => {
                    if us {
                        v
                    } else {
                        v * MM_PER_INCH
                    }
                }
            },
            _ => match (self.units, movement) {
                (TempUnits::C10 | TempUnits::C, true) => v * 0.62137 / 24.0,
                (TempUnits::C10, false) => v / 10.0 / 1000.0 * 0.62137 * 3600.0,
                (TempUnits::C, false) => v / 1000.0 * 0.62137 * 3600.0,
                (TempUnits::F, true) => v / 24.0,
                (TempUnits::F, false) => v,
            },
        }
    }

    /// Opens the file at the month of `start` (SWMM climate_openFile).
    fn open(
        path: &str,
        text: &str,
        si: bool,
        units: TempUnits,
        start: (i32, u32, u32),
    ) -> Result<Self, EngineError> {
        let lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
        let first = lines.first().map(String::as_str).unwrap_or("");
        let format = if scan(first, "%s %d %d %d %s").len() == 5 {
            FileFormat::User
        } else if let Some(f) = ghcnd_layout(first) {
            f
        } else {
            return Err(EngineError::FileData {
                path: path.to_string(),
                line: 1,
                message: "not a climate file SWMM reads (user-prepared or GHCN-Daily)".into(),
            });
        };
        let mut f = ClimateFile {
            path: path.to_string(),
            lines,
            pos: 0,
            pending: None,
            eof: false,
            format,
            si,
            units,
            year: start.0,
            month: start.1,
            day: start.2,
            last_day: 0,
            elapsed_days: 0,
            value: [70.0, 70.0, 0.0, 0.0],
            data: [[MISSING; 32]; 4],
        };
        // SWMM stops with an error on a user-prepared line without station,
        // year and month when it reaches it; such a line is refused up front.
        if format == FileFormat::User {
            for (k, line) in f.lines.iter().enumerate() {
                if !line.starts_with('\n') && scan(line, "%s %d %d").len() < 3 {
                    return Err(f.err(
                        k + 1,
                        "climate record expected 'station year month day tmax tmin evap wind'",
                    ));
                }
            }
        }
        let mut found = false;
        while !f.eof {
            f.pending = None;
            if let Some((y, m)) = f.read_line()
                && y == i64::from(f.year)
                && m == i64::from(f.month)
            {
                found = true;
                break;
            }
        }
        if !found || f.eof {
            return Err(f.err(
                f.lines.len(),
                format!("no climate data for {:02}/{}", f.month, f.year),
            ));
        }
        f.last_day = days_in_month(f.year, f.month);
        f.read_month();
        f.take_day();
        Ok(f)
    }

    fn take_day(&mut self) {
        for v in 0..4 {
            let x = self.data[v][self.day as usize];
            if x != MISSING {
                self.value[v] = x;
            }
        }
    }

    /// Moves on to a new day once the date has passed it (SWMM updateFileValues).
    fn update(&mut self, days_elapsed: i64) {
        if days_elapsed > self.elapsed_days {
            self.elapsed_days += 1;
            self.day += 1;
            if self.day > self.last_day {
                self.month += 1;
                if self.month > 12 {
                    self.month = 1;
                    self.year += 1;
                }
                self.read_month();
                self.day = 1;
                self.last_day = days_in_month(self.year, self.month);
            }
            self.take_day();
        }
    }
}

/// Reads a climate file's text from the month of `start` for `days` days, as a run
/// would, and returns each day's TMIN, TMAX, evaporation and wind in SWMM's internal
/// units; `units` is a [TEMPERATURE] FILE units keyword (`C10`, `C`, `F`). Errors name
/// the file and line. Used to check a file before a run and by the fuzz targets.
pub fn read_days(
    path: &str,
    text: &str,
    si: bool,
    units: &str,
    start: (i32, u32, u32),
    days: usize,
) -> Result<Vec<[f64; 4]>, EngineError> {
    let units = match units {
        "C10" => TempUnits::C10,
        "C" => TempUnits::C,
        _ => TempUnits::F,
    };
    let mut f = ClimateFile::open(path, text, si, units, start)?;
    let mut out = Vec::with_capacity(days.min(3660));
    out.push(f.value);
    for d in 1..days.min(3660) {
        f.update(d as i64);
        out.push(f.value);
    }
    Ok(out)
}

/// Columns of a GHCN-Daily header line, if it is one.
fn ghcnd_layout(line: &str) -> Option<FileFormat> {
    let date_at = line.find("DATE")?;
    let mut at = [
        line.find("TMIN"),
        line.find("TMAX"),
        line.find("EVAP"),
        None,
    ];
    let movement = line.contains("WDMV");
    at[WIND] = if movement {
        line.find("WDMV")
    } else {
        line.find("AWND")
    };
    if at.iter().all(Option::is_none) {
        return None;
    }
    Some(FileFormat::Ghcnd {
        date_at,
        at,
        movement,
    })
}

/// Moving 7-day average of daily mean temperature and range (SWMM TMovAve).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct MovingAverage {
    t_ave: f64,
    t_rng: f64,
    ta: [f64; 7],
    tr: [f64; 7],
    count: usize,
    front: usize,
}

impl MovingAverage {
    fn add(&mut self, tmin: f64, tmax: f64) {
        let ta = (tmin + tmax) / 2.0;
        let tr = (tmax - tmin).abs();
        let n = self.count as f64;
        if self.count == 7 {
            self.t_ave = (self.t_ave * n + ta - self.ta[self.front]) / n;
            self.t_rng = (self.t_rng * n + tr - self.tr[self.front]) / n;
            self.ta[self.front] = ta;
            self.tr[self.front] = tr;
            self.front = (self.front + 1) % 7;
        } else {
            self.t_ave = (self.t_ave * n + ta) / (n + 1.0);
            self.t_rng = (self.t_rng * n + tr) / (n + 1.0);
            self.ta[self.front] = ta;
            self.tr[self.front] = tr;
            self.count += 1;
            self.front += 1;
            if self.count == 7 {
                self.front = 0;
            }
        }
    }
}

/// Hargreaves' daily potential evaporation (mm/day) from the average
/// temperature and temperature range (°F), the day of year and the latitude
/// (degrees): `E = 0.0023 Ra/λ √TR (T + 17.8)` with extraterrestrial
/// radiation Ra from the solar declination and sunset hour angle.
pub fn hargreaves_mm_day(day_of_year: u32, t_ave_f: f64, t_rng_f: f64, latitude: f64) -> f64 {
    use std::f64::consts::PI;
    let a = 2.0 * PI / 365.0;
    let day = f64::from(day_of_year);
    let ta = (t_ave_f - 32.0) * 5.0 / 9.0;
    let tr = t_rng_f * 5.0 / 9.0;
    let lamda = 2.50 - 0.002361 * ta;
    let dr = 1.0 + 0.033 * (a * day).cos();
    let phi = latitude * 2.0 * PI / 360.0;
    let del = 0.4093 * (a * (284.0 + day)).sin();
    let omega = (-phi.tan() * del.tan()).acos();
    let ra = 37.6 * dr * (omega * phi.sin() * del.sin() + phi.cos() * del.cos() * omega.sin());
    let e = 0.0023 * ra / lamda * tr.sqrt() * (ta + 17.8);
    if e < 0.0 { 0.0 } else { e }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Source {
    None,
    Constant(f64),
    Monthly([f64; 12]),
    Series {
        x: Vec<f64>,
        y: Vec<f64>,
        cursor: usize,
    },
    File([f64; 12]),
    Temperature,
}

/// Climate state: evaporation rate, recovery and adjustment factors.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Climate {
    source: Source,
    /// No evaporation from subcatchments while it rains.
    pub dry_only: bool,
    recovery: Option<[f64; 12]>,
    adjust_temp: [f64; 12],
    adjust_evap: [f64; 12],
    adjust_rain: [f64; 12],
    adjust_hydcon: [f64; 12],
    file: Option<ClimateFile>,
    temps_from_file: bool,
    latitude: f64,
    moving: MovingAverage,
    last_day: Option<i64>,
    ucf_evap: f64,
    start_epoch: f64,
    start_midnight: f64,
    end_epoch: f64,
    next_evap: f64,
    next_rate: f64,
    /// Potential evaporation rate (ft/s).
    pub evap_rate: f64,
    /// Factor on infiltration capacity recovery (RECOVERY pattern).
    pub recovery_factor: f64,
    /// Monthly rainfall factor.
    pub rain_factor: f64,
    /// Monthly soil hydraulic conductivity factor.
    pub hydcon_factor: f64,
}

/// Twelve monthly factors of a MONTHLY pattern, if the pattern is one (SWMM
/// uses other pattern types nowhere in climate and runoff adjustments).
pub fn monthly_pattern(p: &Project, name: &str) -> Result<Option<[f64; 12]>, EngineError> {
    let pt = p
        .patterns
        .iter()
        .find(|x| x.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| EngineError::UnknownRef {
            section: "ADJUSTMENTS",
            object: name.to_string(),
            kind: "pattern",
            name: name.to_string(),
        })?;
    if pt.kind != "MONTHLY" {
        return Ok(None);
    }
    let mut f = [1.0; 12];
    for (k, x) in f.iter_mut().enumerate() {
        *x = pt.factors.get(k).copied().unwrap_or(1.0);
    }
    Ok(Some(f))
}

fn twelve(v: &[f64]) -> [f64; 12] {
    let mut a = [0.0; 12];
    for (k, x) in a.iter_mut().enumerate() {
        *x = v.get(k).copied().unwrap_or(0.0);
    }
    a
}

impl Climate {
    /// Builds the climate state from `[EVAPORATION]`, `[TEMPERATURE]` and
    /// `[ADJUSTMENTS]`; a climate file's text comes from `files`.
    pub fn new(
        p: &Project,
        opt: &Options,
        tables: &[Table],
        table_index: &HashMap<String, usize>,
        files: &ExternalFiles,
    ) -> Result<Self, EngineError> {
        let si = opt.flow_units.is_si();
        let ucf_evap = if si { 26_334_720.0 } else { 1_036_800.0 };
        let ev = &p.evaporation;
        let source = match &ev.source {
            None => Source::None,
            Some(EvapSource::Constant(x)) => Source::Constant(*x),
            Some(EvapSource::Monthly(v)) => Source::Monthly(twelve(v)),
            Some(EvapSource::Timeseries(n)) => {
                let k = *table_index.get(&n.to_ascii_uppercase()).ok_or_else(|| {
                    EngineError::UnknownRef {
                        section: "EVAPORATION",
                        object: "TIMESERIES".into(),
                        kind: "time series",
                        name: n.clone(),
                    }
                })?;
                Source::Series {
                    x: tables[k].x.iter().map(|x| x + opt.start_epoch).collect(),
                    y: tables[k].y.clone(),
                    cursor: 0,
                }
            }
            Some(EvapSource::File(pan)) => {
                let mut c = [1.0; 12];
                if !pan.is_empty() {
                    c = twelve(pan);
                }
                Source::File(c)
            }
            Some(EvapSource::Temperature) => Source::Temperature,
        };
        let recovery = match &ev.recovery {
            Some(n) => monthly_pattern(p, n).map_err(|_| EngineError::UnknownRef {
                section: "EVAPORATION",
                object: "RECOVERY".into(),
                kind: "pattern",
                name: n.clone(),
            })?,
            None => None,
        };
        let mut c = Climate {
            source,
            dry_only: ev.dry_only.unwrap_or(false),
            recovery,
            adjust_temp: [0.0; 12],
            adjust_evap: [0.0; 12],
            adjust_rain: [1.0; 12],
            adjust_hydcon: [1.0; 12],
            file: None,
            temps_from_file: false,
            latitude: 40.0,
            moving: MovingAverage::default(),
            last_day: None,
            ucf_evap,
            start_epoch: opt.start_epoch,
            start_midnight: (opt.start_epoch / DAY).floor() * DAY,
            end_epoch: opt.start_epoch + opt.duration,
            next_evap: 0.0,
            next_rate: 0.0,
            evap_rate: 0.0,
            recovery_factor: 1.0,
            rain_factor: 1.0,
            hydcon_factor: 1.0,
        };
        for a in &p.adjustments.monthly {
            let v = twelve(&a.values);
            match a.kind.as_str() {
                "TEMPERATURE" => {
                    c.adjust_temp = v.map(|x| if si { x * 9.0 / 5.0 } else { x });
                }
                "EVAPORATION" => c.adjust_evap = v.map(|x| x / ucf_evap),
                "RAINFALL" => c.adjust_rain = v,
                _ => c.adjust_hydcon = v.map(|x| if x <= 0.0 { 1.0 } else { x }),
            }
        }
        if let Some(sm) = p.temperature.snowmelt() {
            c.latitude = sm[4];
        }
        match &p.temperature.source {
            Some(TempSource::File { path, start, units }) => {
                let text = files.get(path).ok_or_else(|| EngineError::MissingFile {
                    path: path.clone(),
                    used_by: "[TEMPERATURE] FILE".into(),
                })?;
                let units = match units.as_deref() {
                    Some("C10") => TempUnits::C10,
                    Some("C") => TempUnits::C,
                    Some(_) => TempUnits::F,
                    None if si => TempUnits::C,
                    None => TempUnits::F,
                };
                let (y, m, d) = civil_from_days((opt.start_epoch / DAY).floor() as i64);
                let start = start.unwrap_or((y as i32, m, d));
                c.file = Some(ClimateFile::open(path, text, si, units, start)?);
                c.temps_from_file = true;
            }
            Some(TempSource::Timeseries(n))
                if !table_index.contains_key(&n.to_ascii_uppercase()) =>
            {
                return Err(EngineError::UnknownRef {
                    section: "TEMPERATURE",
                    object: "TIMESERIES".into(),
                    kind: "time series",
                    name: n.clone(),
                });
            }
            _ => {}
        }
        if matches!(c.source, Source::File(_) | Source::Temperature) && c.file.is_none() {
            return Err(EngineError::Invalid {
                section: "EVAPORATION",
                object: "FILE/TEMPERATURE".into(),
                message: "evaporation from the climate file needs [TEMPERATURE] FILE".into(),
            });
        }
        c.init_state();
        Ok(c)
    }

    /// SWMM climate_initState.
    fn init_state(&mut self) {
        self.next_evap = self.start_midnight;
        self.next_rate = 0.0;
        if let Source::Series { x, y, .. } = &self.source {
            let (x0, y0) = match (x.first(), y.first()) {
                (Some(&a), Some(&b)) => (a, b),
                _ => (f64::NEG_INFINITY, 0.0),
            };
            self.next_evap = x0;
            self.next_rate = y0;
            if self.next_evap < self.start_midnight {
                self.set_next_evap(self.start_midnight);
            }
            self.evap_rate = self.next_rate / self.ucf_evap;
            self.set_next_evap(self.next_evap);
        }
    }

    /// Absolute date (s since 1970) of elapsed time t, with SWMM's 1 ms offset.
    fn date(&self, t: f64) -> f64 {
        self.start_epoch + t + 0.001
    }

    /// Month (0–11) at elapsed time t.
    pub fn month(&self, t: f64) -> usize {
        let (_, m, _) = civil_from_days((self.date(t) / DAY).floor() as i64);
        m as usize - 1
    }

    /// Seconds from elapsed time t to the next change of the evaporation
    /// rate (SWMM climate_getNextEvapDate), rounded to whole seconds.
    pub fn seconds_to_next_evap(&self, t: f64) -> f64 {
        (self.next_evap - self.date(t)).round()
    }

    /// SWMM setNextEvapDate.
    fn set_next_evap(&mut self, date: f64) {
        if self.next_evap > date {
            return;
        }
        let year = 365.0 * DAY;
        match &mut self.source {
            Source::Monthly(_) => {
                let (y, m, _) = civil_from_days((date / DAY).floor() as i64);
                let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                self.next_evap = days_from_civil(y as i32, m, 1) as f64 * DAY;
            }
            Source::Series { x, y, cursor } => {
                self.next_evap = date + year;
                while *cursor + 1 < x.len() {
                    *cursor += 1;
                    let d = x[*cursor];
                    if d > self.end_epoch {
                        break;
                    }
                    if d >= date {
                        self.next_evap = d;
                        self.next_rate = y[*cursor];
                        break;
                    }
                }
            }
            Source::File(_) => self.next_evap = (date / DAY).floor() * DAY + DAY,
            _ => self.next_evap = date + year,
        }
    }

    /// Updates the climate for elapsed time t (SWMM climate_setState).
    pub fn set_state(&mut self, t: f64) {
        let date = self.date(t);
        let day = (date / DAY).floor() as i64;
        let (y, m, _) = civil_from_days(day);
        let mon = m as usize - 1;
        if let Some(f) = &mut self.file {
            let start_day = (self.start_epoch / DAY).floor() as i64;
            f.update(day - start_day);
        }
        if self.temps_from_file && self.last_day.is_none_or(|d| day > d) {
            if let Some(f) = &mut self.file {
                let mut tmin = f.value[TMIN] + self.adjust_temp[mon];
                let mut tmax = f.value[TMAX] + self.adjust_temp[mon];
                if tmin > tmax {
                    std::mem::swap(&mut tmin, &mut tmax);
                }
                if matches!(self.source, Source::Temperature) {
                    self.moving.add(tmin, tmax);
                    let doy = (day - days_from_civil(y as i32, 1, 1)) as u32 + 1;
                    let e =
                        hargreaves_mm_day(doy, self.moving.t_ave, self.moving.t_rng, self.latitude);
                    f.value[EVAP] = if f.si { e } else { e / MM_PER_INCH };
                }
            }
            self.last_day = Some(day);
        }
        let file_evap = self.file.as_ref().map_or(0.0, |f| f.value[EVAP]);
        self.evap_rate = match &self.source {
            Source::None => 0.0,
            Source::Constant(x) => x / self.ucf_evap,
            Source::Monthly(v) => v[mon] / self.ucf_evap,
            // SWMM keeps the last rate (its adjustment included) until the
            // next entry's date and adds the month's adjustment again.
            Source::Series { .. } => {
                if date >= self.next_evap {
                    self.next_rate / self.ucf_evap
                } else {
                    self.evap_rate
                }
            }
            Source::File(pan) => file_evap / self.ucf_evap * pan[mon],
            Source::Temperature => file_evap / self.ucf_evap,
        };
        self.evap_rate += self.adjust_evap[mon];
        self.recovery_factor = self.recovery.map_or(1.0, |r| r[mon]);
        self.rain_factor = self.adjust_rain[mon];
        self.hydcon_factor = self.adjust_hydcon[mon];
        self.set_next_evap(date);
    }
}
