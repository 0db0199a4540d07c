//! Time series as tables of seconds from the start, curves in the user's
//! units, and the civil-date helper the clock and climate share. A leaf
//! module: it imports nothing of the engine.

use crate::error::{EngineError, invalid};
use crate::extfile::{ExternalFiles, parse_timeseries_file};
use crate::inp::{self, TsData};

/// A time series as (seconds from simulation start, value) pairs.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Table {
    /// Times (s from start), non-decreasing.
    pub x: Vec<f64>,
    /// Values.
    pub y: Vec<f64>,
}

impl Table {
    /// Linear interpolation; outside the range returns 0 (`extend` false) or
    /// the end value (`extend` true), like SWMM's time series lookup.
    pub fn lookup(&self, t: f64, extend: bool) -> f64 {
        let n = self.x.len();
        if n == 0 {
            return 0.0;
        }
        if t < self.x[0] {
            return if extend { self.y[0] } else { 0.0 };
        }
        if t > self.x[n - 1] {
            return if extend { self.y[n - 1] } else { 0.0 };
        }
        let i = self.x.partition_point(|&x| x < t);
        if i == 0 {
            return self.y[0];
        }
        let (x1, x2, y1, y2) = (self.x[i - 1], self.x[i], self.y[i - 1], self.y[i]);
        if x2 == x1 {
            y2
        } else {
            y1 + (t - x1) / (x2 - x1) * (y2 - y1)
        }
    }
    /// Value of a step function (value holds until the next point), used for rainfall.
    pub fn step_value(&self, t: f64) -> f64 {
        let n = self.x.len();
        if n == 0 || t < self.x[0] {
            return 0.0;
        }
        let i = self.x.partition_point(|&x| x <= t);
        self.y[i - 1]
    }
}

/// Converts a project time series to seconds from the simulation start; a
/// series kept in a file is read from its text in `files`.
pub fn build_table(
    ts: &inp::Timeseries,
    start_epoch: f64,
    files: &ExternalFiles,
) -> Result<Table, EngineError> {
    let from_file;
    let pts = match &ts.data {
        TsData::Points(pts) => pts,
        TsData::File(path) => {
            let text = files.get(path).ok_or_else(|| EngineError::MissingFile {
                path: path.clone(),
                used_by: format!("[TIMESERIES] {}", ts.name),
            })?;
            from_file = parse_timeseries_file(&ts.name, path, text)?;
            &from_file
        }
    };
    let mut t = Table::default();
    let mut last_date: Option<(i32, u32, u32)> = None;
    for p in pts {
        let d = p.date.or(last_date);
        last_date = d;
        let secs = match d {
            Some((y, m, dd)) => {
                inp::days_from_civil(y, m, dd) as f64 * 86400.0 + p.hours * 3600.0 - start_epoch
            }
            None => p.hours * 3600.0,
        };
        if let Some(&prev) = t.x.last()
            && secs < prev
        {
            return Err(invalid("TIMESERIES", &ts.name, "times must not decrease"));
        }
        t.x.push(secs);
        t.y.push(p.value);
    }
    Ok(t)
}

/// A curve (x, y) in the user's units.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Curve {
    /// Curve type keyword.
    pub kind: String,
    /// X values (non-decreasing).
    pub x: Vec<f64>,
    /// Y values.
    pub y: Vec<f64>,
}

impl Curve {
    /// Linear interpolation, constant beyond the ends (SWMM table_lookup).
    pub fn lookup(&self, x: f64) -> f64 {
        let n = self.x.len();
        if n == 0 {
            return 0.0;
        }
        if x <= self.x[0] {
            return self.y[0];
        }
        for i in 1..n {
            if x <= self.x[i] {
                let (x1, x2, y1, y2) = (self.x[i - 1], self.x[i], self.y[i - 1], self.y[i]);
                return if x2 == x1 {
                    y2
                } else {
                    y1 + (x - x1) / (x2 - x1) * (y2 - y1)
                };
            }
        }
        self.y[n - 1]
    }
    /// Linear interpolation extrapolated past the last point (SWMM table_lookupEx).
    pub fn lookup_ex(&self, x: f64) -> f64 {
        let n = self.x.len();
        if n == 0 {
            return 0.0;
        }
        let (mut x1, mut y1) = (self.x[0], self.y[0]);
        if x <= x1 {
            return if x1 > 0.0 { x / x1 * y1 } else { y1 };
        }
        let mut s = 0.0;
        for i in 1..n {
            let (x2, y2) = (self.x[i], self.y[i]);
            if x2 != x1 {
                s = (y2 - y1) / (x2 - x1);
            }
            if x <= x2 {
                return if x2 == x1 {
                    y2
                } else {
                    y1 + (x - x1) / (x2 - x1) * (y2 - y1)
                };
            }
            x1 = x2;
            y1 = y2;
        }
        y1 + s.max(0.0) * (x - x1)
    }
    /// Step lookup: y of the first point whose x exceeds the argument (SWMM table_intervalLookup).
    pub fn interval_lookup(&self, x: f64) -> f64 {
        for i in 0..self.x.len() {
            if x < self.x[i] {
                return self.y[i];
            }
        }
        self.y.last().copied().unwrap_or(0.0)
    }
    /// Slope of the segment containing x.
    pub fn slope(&self, x: f64) -> f64 {
        let n = self.x.len();
        if n < 2 {
            return 0.0;
        }
        let mut i = 1;
        while i < n - 1 && x > self.x[i] {
            i += 1;
        }
        let dx = self.x[i] - self.x[i - 1];
        if dx == 0.0 {
            0.0
        } else {
            (self.y[i] - self.y[i - 1]) / dx
        }
    }
    /// Volume under an area-versus-depth curve up to depth x (end-area method).
    pub fn storage_volume(&self, x: f64) -> f64 {
        let n = self.x.len();
        if n == 0 {
            return 0.0;
        }
        let (mut x1, mut a1) = (self.x[0], self.y[0]);
        if x <= x1 {
            return if x1 < 1e-6 {
                0.0
            } else {
                (a1 / x1) * x * x / 2.0
            };
        }
        let mut v = 0.0;
        let (mut dx, mut dy) = (0.0, 0.0);
        for i in 1..n {
            if self.x[i] >= x {
                let a = if self.x[i] == x1 {
                    self.y[i]
                } else {
                    a1 + (x - x1) / (self.x[i] - x1) * (self.y[i] - a1)
                };
                return v + (a1 + a) / 2.0 * (x - x1);
            }
            dx = self.x[i] - x1;
            dy = self.y[i] - a1;
            v += (a1 + self.y[i]) / 2.0 * dx;
            x1 = self.x[i];
            a1 = self.y[i];
        }
        if dx > 1e-6 {
            let s = dy / dx;
            let a = a1 + s * (x - x1);
            if a < 0.0 {
                v -= a1 * a1 / s / 2.0;
            } else {
                v += (a1 + a) / 2.0 * (x - x1);
            }
        }
        v
    }
}

/// Civil date (y, m, d) from days since 1970-01-01 (Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}
