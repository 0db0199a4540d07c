//! GTFS static feeds (General Transit Feed Specification, <https://gtfs.org/schedule/reference/>):
//! the bus lines of a feed folder and their timetables.
//!
//! Read: `agency.txt` (counted), `routes.txt`, `stops.txt`, `trips.txt`, `stop_times.txt`,
//! `calendar.txt`, `calendar_dates.txt`, `frequencies.txt` when present, `shapes.txt` (counted: lines follow the
//! road graph between their stops, not the shapes). Fields are found by their header names;
//! quoted fields follow RFC 4180. An error names the file, the line and the field; nothing of
//! user data panics. What is not modelled is returned as [`Warning`]s by name and count: other
//! files of the folder (`transfers.txt`, fares …), columns no rule reads,
//! routes that are not road buses (GTFS `route_type` other than 3 bus, 11 trolleybus and the
//! extended 700–716 bus types), stops that are not boarding points (`location_type` ≠ 0).
//!
//! [`lines`] turns a feed into route-directions (`route_id` and `direction_id`): their stop
//! pattern (the most common stop sequence of their trips; ties to the first in order) and the
//! departures of their trips at the pattern's first stop, on the simulated day: a given date
//! ([`lines_on`]: the services `calendar.txt` runs that weekday within their dates, with the
//! exceptions `calendar_dates.txt` adds and removes on that date), or else a typical weekday
//! ([`lines`]: the services `calendar.txt` runs on any weekday, and those only
//! `calendar_dates.txt` defines that it adds on a weekday; its removals, holidays and the like,
//! are counted, not applied). `stop_times.txt` is required by GTFS; a feed without it (such as the
//! 2018 Hanoi Bus network in ../shared/data/hanoi) gives patterns only where its stop ids name
//! them (`<route_id>_S<n>`, in order of `n`, as the Hanoi Bus GTFS names them — the order of
//! its stop_times where it has them) and trip counts without times.

use crate::error::{IoError, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// A GTFS route (`routes.txt`).
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// `route_id`.
    pub id: String,
    /// `route_short_name`, else `route_long_name`, else the id.
    pub name: String,
    /// `route_type`.
    pub route_type: u32,
}

/// A boarding point (`stops.txt`, `location_type` 0 or empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    /// `stop_id`.
    pub id: String,
    /// `stop_name` (may be empty).
    pub name: String,
    /// `stop_lon`, degrees.
    pub lon: f64,
    /// `stop_lat`, degrees.
    pub lat: f64,
}

/// A trip (`trips.txt`) of a bus route.
#[derive(Debug, Clone, PartialEq)]
pub struct Trip {
    /// `trip_id`.
    pub id: String,
    /// Index into [`Feed::routes`].
    pub route: usize,
    /// `service_id`.
    pub service: String,
    /// `direction_id` (0 or 1) where given.
    pub direction: Option<u8>,
}

/// One call of a trip at a stop (`stop_times.txt`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StopTime {
    /// Index into [`Feed::trips`].
    pub trip: usize,
    /// Index into [`Feed::stops`].
    pub stop: usize,
    /// `stop_sequence`.
    pub sequence: u32,
    /// `departure_time` (else `arrival_time`), s after the service day's noon minus 12 h; `None`
    /// for a stop without times (not a timepoint).
    pub time_s: Option<f64>,
}

/// A service (`calendar.txt`).
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// `service_id`.
    pub id: String,
    /// Monday … Sunday.
    pub days: [bool; 7],
    /// `start_date` and `end_date` as YYYYMMDD, where given.
    pub dates: Option<(u32, u32)>,
}

/// An exception to a service on a date (`calendar_dates.txt`).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDate {
    /// `service_id`.
    pub service: String,
    /// `date`, YYYYMMDD.
    pub date: u32,
    /// `exception_type` 1 (added; true) or 2 (removed).
    pub added: bool,
}

/// A date `YYYYMMDD` or `YYYY-MM-DD` as YYYYMMDD, if it is a valid Gregorian date.
pub fn parse_date(v: &str) -> Option<u32> {
    let v = v.trim();
    let dashed = if v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &v[..4], &v[4..6], &v[6..])
    } else {
        v.to_string()
    };
    if !twin_model::is_date(&dashed) {
        return None;
    }
    dashed.replace('-', "").parse().ok()
}

/// The weekday of a YYYYMMDD date, Monday = 0.
pub fn weekday(date: u32) -> usize {
    let days =
        twin_hydro::inp::days_from_civil((date / 10_000) as i32, date / 100 % 100, date % 100);
    // 1970-01-01 was a Thursday.
    (days + 3).rem_euclid(7) as usize
}

/// A headway-based service (`frequencies.txt`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frequency {
    /// Index into [`Feed::trips`] (the template trip).
    pub trip: usize,
    /// `start_time`, s.
    pub start_s: f64,
    /// `end_time`, s.
    pub end_s: f64,
    /// `headway_secs`.
    pub headway_s: f64,
}

/// Something in the feed that no rule reads, by name and count.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// What (file, column or kind).
    pub what: String,
    /// How many rows or items.
    pub count: usize,
}

/// A feed as read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Feed {
    /// The folder.
    pub dir: PathBuf,
    /// Agencies.
    pub agencies: usize,
    /// Bus routes.
    pub routes: Vec<Route>,
    /// Boarding points.
    pub stops: Vec<Stop>,
    /// Trips of bus routes.
    pub trips: Vec<Trip>,
    /// Calls; `None` where `stop_times.txt` is absent.
    pub stop_times: Option<Vec<StopTime>>,
    /// Services; `None` where `calendar.txt` is absent.
    pub services: Option<Vec<Service>>,
    /// Exceptions to services on dates (`calendar_dates.txt`; empty where absent).
    pub service_dates: Vec<ServiceDate>,
    /// Headway-based services.
    pub frequencies: Vec<Frequency>,
    /// Shapes in `shapes.txt` (distinct `shape_id`s).
    pub shapes: usize,
    /// What is not modelled.
    pub warnings: Vec<Warning>,
}

/// GTFS `route_type`s that are buses on roads: 3 bus, 11 trolleybus, 700–716 the extended bus
/// types (<https://developers.google.com/transit/gtfs/reference/extended-route-types>).
pub fn is_road_bus(route_type: u32) -> bool {
    matches!(route_type, 3 | 11 | 700..=716)
}

/// Files the reader reads.
const KNOWN: [&str; 9] = [
    "agency.txt",
    "routes.txt",
    "stops.txt",
    "trips.txt",
    "stop_times.txt",
    "calendar.txt",
    "calendar_dates.txt",
    "frequencies.txt",
    "shapes.txt",
];

/// One CSV table: header names and data rows with their 1-based line numbers.
struct Table {
    path: PathBuf,
    cols: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    fn col(&self, name: &str) -> Option<usize> {
        self.cols.iter().position(|c| c == name)
    }

    fn need(&self, name: &str) -> Result<usize> {
        self.col(name).ok_or_else(|| {
            IoError::format(
                &self.path,
                "line 1",
                format!("no column '{name}' in the header"),
            )
        })
    }

    fn err(&self, line: usize, field: &str, msg: impl Into<String>) -> IoError {
        IoError::format(
            &self.path,
            format!("line {line}, field '{field}'"),
            msg.into(),
        )
    }

    /// A required, non-empty field.
    fn get<'a>(&self, row: &'a (usize, Vec<String>), c: usize) -> Result<&'a str> {
        let v = row.1.get(c).map(|s| s.trim()).unwrap_or("");
        if v.is_empty() {
            return Err(self.err(row.0, &self.cols[c], "empty; a value is required"));
        }
        Ok(v)
    }

    fn opt<'a>(&self, row: &'a (usize, Vec<String>), c: Option<usize>) -> &'a str {
        c.and_then(|c| row.1.get(c)).map(|s| s.trim()).unwrap_or("")
    }

    fn num(&self, row: &(usize, Vec<String>), c: usize, lo: f64, hi: f64) -> Result<f64> {
        let v = self.get(row, c)?;
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && (lo..=hi).contains(&x) => Ok(x),
            _ => Err(self.err(
                row.0,
                &self.cols[c],
                format!("'{v}' is not a number in {lo}..{hi}"),
            )),
        }
    }

    fn date(&self, row: &(usize, Vec<String>), c: usize) -> Result<u32> {
        let v = self.get(row, c)?;
        parse_date(v).filter(|_| !v.contains('-')).ok_or_else(|| {
            self.err(
                row.0,
                &self.cols[c],
                format!("'{v}' is not a date YYYYMMDD"),
            )
        })
    }

    fn time(&self, row: &(usize, Vec<String>), c: usize) -> Result<Option<f64>> {
        let v = self.opt(row, Some(c));
        if v.is_empty() {
            return Ok(None);
        }
        parse_time(v)
            .map(Some)
            .ok_or_else(|| self.err(row.0, &self.cols[c], format!("'{v}' is not a time H:MM:SS")))
    }

    /// Columns of the header that `used` does not name, as warnings with the rows that fill them.
    fn unused(&self, used: &[&str], out: &mut Vec<Warning>) {
        let file = self
            .path
            .file_name()
            .map(|f| f.to_string_lossy().to_string());
        let file = file.unwrap_or_default();
        for (i, c) in self.cols.iter().enumerate() {
            if used.contains(&c.as_str()) {
                continue;
            }
            let n = self
                .rows
                .iter()
                .filter(|r| r.1.get(i).is_some_and(|v| !v.trim().is_empty()))
                .count();
            if n > 0 {
                out.push(Warning {
                    what: format!("{file}: column {c} (not modelled)"),
                    count: n,
                });
            }
        }
    }
}

/// `H:MM:SS` (hours may pass 24) in seconds.
pub fn parse_time(v: &str) -> Option<f64> {
    let mut it = v.split(':');
    let h: u32 = it.next()?.trim().parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let s: u32 = it.next()?.parse().ok()?;
    if it.next().is_some() || m > 59 || s > 59 || h > 240 {
        return None;
    }
    Some(f64::from(h * 3600 + m * 60 + s))
}

/// Splits one CSV record (RFC 4180 quotes); `None` for an unclosed quote.
fn split_record(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, '"') if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
            }
            (false, ',') => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if quoted {
        return None;
    }
    out.push(cur);
    Some(out)
}

fn read_table(dir: &Path, name: &str) -> Result<Option<Table>> {
    let path = dir.join(name);
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).map_err(|e| IoError::file(&path, e.to_string()))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| IoError::format(&path, "text", format!("not UTF-8 ({e})")))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, head)) = lines.next() else {
        return Err(IoError::format(
            &path,
            "line 1",
            "empty file; expected a header",
        ));
    };
    let cols: Vec<String> = split_record(head.trim_start_matches('\u{feff}'))
        .ok_or_else(|| IoError::format(&path, "line 1", "unclosed quote in the header"))?
        .into_iter()
        .map(|c| c.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, l) in lines {
        let rec = split_record(l)
            .ok_or_else(|| IoError::format(&path, format!("line {}", i + 1), "unclosed quote"))?;
        if rec.len() > cols.len() {
            return Err(IoError::format(
                &path,
                format!("line {}", i + 1),
                format!(
                    "{} fields for the header's {} columns",
                    rec.len(),
                    cols.len()
                ),
            ));
        }
        rows.push((i + 1, rec));
    }
    Ok(Some(Table { path, cols, rows }))
}

fn required(dir: &Path, name: &str) -> Result<Table> {
    read_table(dir, name)?.ok_or_else(|| {
        IoError::format(
            &dir.join(name),
            "file",
            "missing; a GTFS feed needs it / thiếu tệp bắt buộc của GTFS",
        )
    })
}

/// Reads the GTFS feed in folder `dir` (rules in the module docs).
pub fn read_feed(dir: &Path) -> Result<Feed> {
    if !dir.is_dir() {
        return Err(IoError::format(
            dir,
            "folder",
            "not a folder of GTFS .txt files",
        ));
    }
    let mut feed = Feed {
        dir: dir.to_path_buf(),
        ..Feed::default()
    };
    let mut w = Vec::new();
    // Other files of the folder, by name and row count.
    let mut others: Vec<(String, usize)> = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| IoError::file(dir, e.to_string()))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.ends_with(".txt") && !KNOWN.contains(&name.as_str()) {
            let rows = std::fs::read_to_string(e.path())
                .map(|t| {
                    t.lines()
                        .filter(|l| !l.trim().is_empty())
                        .count()
                        .saturating_sub(1)
                })
                .unwrap_or(0);
            others.push((name, rows));
        }
    }
    others.sort();
    for (name, rows) in others {
        w.push(Warning {
            what: format!("{name} (not modelled)"),
            count: rows,
        });
    }
    if let Some(t) = read_table(dir, "agency.txt")? {
        feed.agencies = t.rows.len();
    } else {
        w.push(Warning {
            what: "agency.txt missing (required by GTFS; not needed here)".into(),
            count: 0,
        });
    }

    // Routes: road buses only.
    let t = required(dir, "routes.txt")?;
    let (c_id, c_type) = (t.need("route_id")?, t.need("route_type")?);
    let (c_short, c_long) = (t.col("route_short_name"), t.col("route_long_name"));
    let mut route_of: HashMap<String, Option<usize>> = HashMap::new();
    let mut not_bus: BTreeMap<u32, usize> = BTreeMap::new();
    for r in &t.rows {
        let id = t.get(r, c_id)?.to_string();
        let ty = t.num(r, c_type, 0.0, 1e6)?;
        if ty.fract() != 0.0 {
            return Err(t.err(r.0, "route_type", format!("'{ty}' is not a whole number")));
        }
        let ty = ty as u32;
        if route_of.contains_key(&id) {
            return Err(t.err(r.0, "route_id", format!("'{id}' given twice")));
        }
        if !is_road_bus(ty) {
            *not_bus.entry(ty).or_default() += 1;
            route_of.insert(id, None);
            continue;
        }
        let name = [t.opt(r, c_short), t.opt(r, c_long)]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or(&id)
            .to_string();
        route_of.insert(id.clone(), Some(feed.routes.len()));
        feed.routes.push(Route {
            id,
            name,
            route_type: ty,
        });
    }
    for (ty, n) in not_bus {
        w.push(Warning {
            what: format!("routes.txt: routes of route_type {ty} (not a road bus; left out)"),
            count: n,
        });
    }
    t.unused(
        &[
            "route_id",
            "route_type",
            "route_short_name",
            "route_long_name",
            "agency_id",
            "route_desc",
            "route_url",
            "route_color",
            "route_text_color",
        ],
        &mut w,
    );

    // Stops: boarding points.
    let t = required(dir, "stops.txt")?;
    let c_id = t.need("stop_id")?;
    let (c_lat, c_lon) = (t.need("stop_lat")?, t.need("stop_lon")?);
    let (c_name, c_loc) = (t.col("stop_name"), t.col("location_type"));
    let mut stop_of: HashMap<String, Option<usize>> = HashMap::new();
    let mut not_boarding = 0;
    for r in &t.rows {
        let id = t.get(r, c_id)?.to_string();
        if stop_of.contains_key(&id) {
            return Err(t.err(r.0, "stop_id", format!("'{id}' given twice")));
        }
        let loc = t.opt(r, c_loc);
        if !(loc.is_empty() || loc == "0") {
            not_boarding += 1;
            stop_of.insert(id, None);
            continue;
        }
        let lat = t.num(r, c_lat, -90.0, 90.0)?;
        let lon = t.num(r, c_lon, -180.0, 180.0)?;
        stop_of.insert(id.clone(), Some(feed.stops.len()));
        feed.stops.push(Stop {
            id,
            name: t.opt(r, c_name).to_string(),
            lon,
            lat,
        });
    }
    if not_boarding > 0 {
        w.push(Warning {
            what:
                "stops.txt: stations, entrances and nodes (location_type ≠ 0; not boarding points)"
                    .into(),
            count: not_boarding,
        });
    }
    t.unused(
        &[
            "stop_id",
            "stop_lat",
            "stop_lon",
            "stop_name",
            "location_type",
            "stop_desc",
            "stop_url",
            "zone_id",
            "stop_code",
        ],
        &mut w,
    );

    // Trips of bus routes.
    let t = required(dir, "trips.txt")?;
    let (c_route, c_id, c_serv) = (
        t.need("route_id")?,
        t.need("trip_id")?,
        t.need("service_id")?,
    );
    let c_dir = t.col("direction_id");
    let mut trip_of: HashMap<String, Option<usize>> = HashMap::new();
    for r in &t.rows {
        let route = t.get(r, c_route)?;
        let Some(&route) = route_of.get(route) else {
            return Err(t.err(r.0, "route_id", format!("'{route}' is not in routes.txt")));
        };
        let id = t.get(r, c_id)?.to_string();
        if trip_of.contains_key(&id) {
            return Err(t.err(r.0, "trip_id", format!("'{id}' given twice")));
        }
        let Some(route) = route else {
            trip_of.insert(id, None);
            continue;
        };
        let direction = match t.opt(r, c_dir) {
            "" => None,
            "0" => Some(0),
            "1" => Some(1),
            v => return Err(t.err(r.0, "direction_id", format!("'{v}' is not 0 or 1"))),
        };
        trip_of.insert(id.clone(), Some(feed.trips.len()));
        feed.trips.push(Trip {
            id,
            route,
            service: t.get(r, c_serv)?.to_string(),
            direction,
        });
    }
    t.unused(
        &[
            "route_id",
            "trip_id",
            "service_id",
            "direction_id",
            "shape_id",
            "trip_headsign",
            "trip_short_name",
            "block_id",
        ],
        &mut w,
    );

    // Calls.
    if let Some(t) = read_table(dir, "stop_times.txt")? {
        let (c_trip, c_stop, c_seq) = (
            t.need("trip_id")?,
            t.need("stop_id")?,
            t.need("stop_sequence")?,
        );
        let (c_arr, c_dep) = (t.need("arrival_time")?, t.need("departure_time")?);
        let mut calls = Vec::with_capacity(t.rows.len());
        for r in &t.rows {
            let trip = t.get(r, c_trip)?;
            let Some(&trip) = trip_of.get(trip) else {
                return Err(t.err(r.0, "trip_id", format!("'{trip}' is not in trips.txt")));
            };
            let stop = t.get(r, c_stop)?;
            let Some(&stop) = stop_of.get(stop) else {
                return Err(t.err(r.0, "stop_id", format!("'{stop}' is not in stops.txt")));
            };
            let sequence = t.num(r, c_seq, 0.0, u32::MAX as f64)? as u32;
            let time_s = match t.time(r, c_dep)? {
                Some(x) => Some(x),
                None => t.time(r, c_arr)?,
            };
            let (Some(trip), Some(stop)) = (trip, stop) else {
                continue;
            };
            calls.push(StopTime {
                trip,
                stop,
                sequence,
                time_s,
            });
        }
        t.unused(
            &[
                "trip_id",
                "stop_id",
                "stop_sequence",
                "arrival_time",
                "departure_time",
                "stop_headsign",
                "shape_dist_traveled",
                "timepoint",
            ],
            &mut w,
        );
        calls.sort_by_key(|c| (c.trip, c.sequence));
        if let Some(d) = calls
            .windows(2)
            .find(|p| p[0].trip == p[1].trip && p[0].sequence == p[1].sequence)
        {
            return Err(IoError::format(
                &t.path,
                "stop_sequence",
                format!(
                    "trip '{}' has stop_sequence {} twice",
                    feed.trips[d[0].trip].id, d[0].sequence
                ),
            ));
        }
        feed.stop_times = Some(calls);
    } else {
        w.push(Warning {
            what: "stop_times.txt missing (required by GTFS): no timetable, patterns from the stop ids"
                .into(),
            count: feed.trips.len(),
        });
    }

    // Services.
    if let Some(t) = read_table(dir, "calendar.txt")? {
        let c_id = t.need("service_id")?;
        let names = [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        let cols: Vec<usize> = names.iter().map(|n| t.need(n)).collect::<Result<_>>()?;
        let (c_start, c_end) = (t.col("start_date"), t.col("end_date"));
        let mut services = Vec::new();
        for r in &t.rows {
            let mut days = [false; 7];
            for (k, &c) in cols.iter().enumerate() {
                days[k] = match t.get(r, c)? {
                    "0" => false,
                    "1" => true,
                    v => return Err(t.err(r.0, names[k], format!("'{v}' is not 0 or 1"))),
                };
            }
            let dates = match (c_start, c_end) {
                (Some(a), Some(b)) => Some((t.date(r, a)?, t.date(r, b)?)),
                _ => None,
            };
            services.push(Service {
                id: t.get(r, c_id)?.to_string(),
                days,
                dates,
            });
        }
        feed.services = Some(services);
    }
    if let Some(t) = read_table(dir, "calendar_dates.txt")? {
        let (c_id, c_date, c_ex) = (
            t.need("service_id")?,
            t.need("date")?,
            t.need("exception_type")?,
        );
        for r in &t.rows {
            let added = match t.get(r, c_ex)? {
                "1" => true,
                "2" => false,
                v => return Err(t.err(r.0, "exception_type", format!("'{v}' is not 1 or 2"))),
            };
            feed.service_dates.push(ServiceDate {
                service: t.get(r, c_id)?.to_string(),
                date: t.date(r, c_date)?,
                added,
            });
        }
        t.unused(&["service_id", "date", "exception_type"], &mut w);
    }
    if feed.services.is_none() && feed.service_dates.is_empty() {
        w.push(Warning {
            what: "calendar.txt and calendar_dates.txt missing: every trip taken to run on the simulated day".into(),
            count: feed.trips.len(),
        });
    }

    // Headway-based services.
    if let Some(t) = read_table(dir, "frequencies.txt")? {
        let (c_trip, c_start, c_end, c_head) = (
            t.need("trip_id")?,
            t.need("start_time")?,
            t.need("end_time")?,
            t.need("headway_secs")?,
        );
        for r in &t.rows {
            let trip = t.get(r, c_trip)?;
            let Some(&trip) = trip_of.get(trip) else {
                return Err(t.err(r.0, "trip_id", format!("'{trip}' is not in trips.txt")));
            };
            let start_s = t.time(r, c_start)?;
            let end_s = t.time(r, c_end)?;
            let (Some(start_s), Some(end_s)) = (start_s, end_s) else {
                return Err(t.err(r.0, "start_time", "start_time and end_time are required"));
            };
            let headway_s = t.num(r, c_head, 1.0, 86_400.0)?;
            if let Some(trip) = trip {
                feed.frequencies.push(Frequency {
                    trip,
                    start_s,
                    end_s,
                    headway_s,
                });
            }
        }
        t.unused(
            &[
                "trip_id",
                "start_time",
                "end_time",
                "headway_secs",
                "exact_times",
            ],
            &mut w,
        );
    }
    if let Some(t) = read_table(dir, "shapes.txt")? {
        let c = t.need("shape_id")?;
        let mut ids: Vec<&str> = t.rows.iter().map(|r| t.opt(r, Some(c))).collect();
        ids.sort_unstable();
        ids.dedup();
        feed.shapes = ids.len();
        w.push(Warning {
            what:
                "shapes.txt: shapes (not used; lines follow the fastest roads between their stops)"
                    .into(),
            count: feed.shapes,
        });
    }
    feed.warnings = w;
    Ok(feed)
}

/// A route-direction of a feed with its stop pattern and weekday timetable.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Index into [`Feed::routes`].
    pub route: usize,
    /// `direction_id` where given.
    pub direction: Option<u8>,
    /// The pattern: indices into [`Feed::stops`], in order.
    pub stops: Vec<usize>,
    /// Time from the pattern's first stop to each stop, s (`None` without stop_times or where
    /// the pattern's trips give no time there).
    pub offsets_s: Vec<Option<f64>>,
    /// Each weekday trip's departure from the first stop, s of the service day, sorted; empty
    /// without stop_times.
    pub departures_s: Vec<f64>,
    /// For each departure, its time at each stop of the pattern where the trip gives one
    /// (trips on a variant pattern: none).
    pub times_s: Vec<Vec<Option<f64>>>,
    /// Weekday trips (with or without times).
    pub trips: usize,
}

/// The route-directions of `feed` (rules in the module docs), and what was left out, by name
/// and count. Errors name the file where the feed gives no pattern at all.
pub fn lines(feed: &Feed) -> Result<(Vec<Line>, Vec<Warning>)> {
    lines_on(feed, None)
}

/// Which services run on the simulated day (`day`, YYYYMMDD; `None`: a typical weekday), by
/// id; `None` where the feed has no calendar at all (every trip runs). With the removals on
/// dates a typical weekday does not apply.
fn running_services(feed: &Feed, day: Option<u32>) -> (Option<HashMap<&str, bool>>, usize) {
    if feed.services.is_none() && feed.service_dates.is_empty() {
        return (None, 0);
    }
    let mut on: HashMap<&str, bool> = HashMap::new();
    for s in feed.services.iter().flatten() {
        let runs = match day {
            Some(d) => s.days[weekday(d)] && s.dates.is_none_or(|(a, b)| a <= d && d <= b),
            None => s.days[..5].iter().any(|&d| d),
        };
        on.insert(s.id.as_str(), runs);
    }
    let mut removals = 0;
    for e in &feed.service_dates {
        match day {
            Some(d) if e.date == d => {
                on.insert(e.service.as_str(), e.added);
            }
            Some(_) => {
                on.entry(e.service.as_str()).or_insert(false);
            }
            None => {
                let weekday_date = weekday(e.date) < 5;
                if e.added {
                    let v = on.entry(e.service.as_str()).or_insert(false);
                    *v |= weekday_date;
                } else {
                    on.entry(e.service.as_str()).or_insert(false);
                    removals += 1;
                }
            }
        }
    }
    (Some(on), removals)
}

/// As [`lines`], on the date `day` (YYYYMMDD) where given.
pub fn lines_on(feed: &Feed, day: Option<u32>) -> Result<(Vec<Line>, Vec<Warning>)> {
    let mut w = Vec::new();
    let (weekday, removals) = running_services(feed, day);
    if removals > 0 {
        w.push(Warning {
            what: "calendar_dates.txt removals on given dates (holidays …) not applied to a typical weekday; give a date to apply them"
                .into(),
            count: removals,
        });
    }
    let (mut not_weekday, mut unknown_service) = (0, 0);
    let runs = |t: &Trip, nw: &mut usize, us: &mut usize| match &weekday {
        None => true,
        Some(m) => match m.get(t.service.as_str()) {
            Some(true) => true,
            Some(false) => {
                *nw += 1;
                false
            }
            None => {
                *us += 1;
                false
            }
        },
    };
    // Trips per route-direction, in feed order.
    let mut groups: BTreeMap<(usize, Option<u8>), Vec<usize>> = BTreeMap::new();
    for (i, t) in feed.trips.iter().enumerate() {
        if runs(t, &mut not_weekday, &mut unknown_service) {
            groups.entry((t.route, t.direction)).or_default().push(i);
        }
    }
    if not_weekday > 0 {
        w.push(Warning {
            what: if day.is_some() {
                "trips whose service does not run on the date (left out)".into()
            } else {
                "trips whose service runs on no weekday (left out)".into()
            },
            count: not_weekday,
        });
    }
    if unknown_service > 0 {
        w.push(Warning {
            what: "trips whose service_id is in neither calendar.txt nor calendar_dates.txt (left out)"
                .into(),
            count: unknown_service,
        });
    }
    let mut out = Vec::new();
    match &feed.stop_times {
        Some(calls) => {
            let mut by_trip: Vec<Vec<StopTime>> = vec![Vec::new(); feed.trips.len()];
            for c in calls {
                by_trip[c.trip].push(*c);
            }
            let mut starts: Vec<Vec<f64>> = vec![Vec::new(); feed.trips.len()];
            for f in &feed.frequencies {
                let mut t = f.start_s;
                while t < f.end_s {
                    starts[f.trip].push(t);
                    t += f.headway_s;
                }
            }
            let (mut variant, mut untimed, mut empty) = (0, 0, 0);
            for ((route, direction), trips) in groups {
                let mut patterns: BTreeMap<Vec<usize>, (usize, usize)> = BTreeMap::new();
                for &t in &trips {
                    let p: Vec<usize> = by_trip[t].iter().map(|c| c.stop).collect();
                    if p.len() < 2 {
                        empty += 1;
                        continue;
                    }
                    let e = patterns.entry(p).or_insert((0, t));
                    e.0 += 1;
                }
                // With a direction: the most common pattern (ties to the one whose first trip
                // comes first), every trip on it. Without: each pattern a line of its own, as
                // the two directions of a route are told apart only by their stops.
                let Some((main, &(n, _))) = patterns
                    .iter()
                    .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)))
                else {
                    continue;
                };
                let chosen: Vec<&Vec<usize>> = if direction.is_some() {
                    variant += patterns.values().map(|v| v.0).sum::<usize>() - n;
                    vec![main]
                } else {
                    patterns.keys().collect()
                };
                for stops in chosen {
                    let mut offsets_s = vec![None; stops.len()];
                    let mut deps: Vec<(f64, Vec<Option<f64>>)> = Vec::new();
                    for &t in &trips {
                        let calls = &by_trip[t];
                        if calls.len() < 2 {
                            continue;
                        }
                        let on_main = calls.iter().map(|c| c.stop).eq(stops.iter().copied());
                        if direction.is_none() && !on_main {
                            continue;
                        }
                        let Some(t0) = calls[0].time_s else {
                            untimed += usize::from(direction.is_some() || on_main);
                            continue;
                        };
                        let rel: Vec<Option<f64>> = if on_main {
                            calls.iter().map(|c| c.time_s.map(|x| x - t0)).collect()
                        } else {
                            vec![None; stops.len()]
                        };
                        for (k, r) in rel.iter().enumerate() {
                            if offsets_s[k].is_none() {
                                offsets_s[k] = *r;
                            }
                        }
                        let at = |s0: f64| -> Vec<Option<f64>> {
                            rel.iter().map(|r| r.map(|x| x + s0)).collect()
                        };
                        if starts[t].is_empty() {
                            deps.push((t0, at(t0)));
                        } else {
                            deps.extend(starts[t].iter().map(|&s0| (s0, at(s0))));
                        }
                    }
                    deps.sort_by(|a, b| a.0.total_cmp(&b.0));
                    out.push(Line {
                        route,
                        direction,
                        stops: stops.clone(),
                        offsets_s,
                        trips: deps.len(),
                        departures_s: deps.iter().map(|d| d.0).collect(),
                        times_s: deps.into_iter().map(|d| d.1).collect(),
                    });
                }
            }
            for (what, n) in [
                (
                    "trips on a variant stop pattern (run on their line's main pattern)",
                    variant,
                ),
                (
                    "trips without a time at their first stop (left out)",
                    untimed,
                ),
                ("trips with fewer than two stops (left out)", empty),
            ] {
                if n > 0 {
                    w.push(Warning {
                        what: what.into(),
                        count: n,
                    });
                }
            }
        }
        None => {
            // Patterns from the stop ids `<route_id>_S<n>`.
            let mut named: HashMap<&str, Vec<(u64, usize)>> = HashMap::new();
            for (i, s) in feed.stops.iter().enumerate() {
                if let Some((route, n)) = s.id.rsplit_once("_S")
                    && let Ok(n) = n.parse::<u64>()
                {
                    named.entry(route).or_default().push((n, i));
                }
            }
            let mut unnamed = 0;
            for ((route, direction), trips) in groups {
                let Some(v) = named.get(feed.routes[route].id.as_str()) else {
                    unnamed += trips.len();
                    continue;
                };
                let mut v = v.clone();
                v.sort();
                out.push(Line {
                    route,
                    direction,
                    stops: v.iter().map(|x| x.1).collect(),
                    offsets_s: vec![None; v.len()],
                    departures_s: Vec::new(),
                    times_s: Vec::new(),
                    trips: trips.len(),
                });
            }
            if out.is_empty() && !feed.trips.is_empty() {
                return Err(IoError::format(
                    &feed.dir.join("stop_times.txt"),
                    "file",
                    "missing, and no stop id names its route's pattern (<route_id>_S<n>): the lines' stops are unknown / thiếu stop_times.txt",
                ));
            }
            if unnamed > 0 {
                w.push(Warning {
                    what: "trips of routes whose stops are not named <route_id>_S<n> (no pattern without stop_times; left out)"
                        .into(),
                    count: unnamed,
                });
            }
        }
    }
    Ok((out, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (n, t) in files {
            std::fs::write(d.path().join(n), t).unwrap();
        }
        d
    }

    const ROUTES: &str = "route_id,route_short_name,route_type\nR1,\"01, Kim Mã\",3\nT1,Tram,0\n";
    const STOPS: &str = "stop_id,stop_name,stop_lat,stop_lon,location_type\nA,Bến A,21.01,105.80,\nB,B,21.02,105.81,0\nC,C,21.03,105.82,0\nST,Station,21.0,105.8,1\n";
    const TRIPS: &str = "route_id,service_id,trip_id,direction_id,peak_offpeak\nR1,WK,t1,0,1\nR1,WK,t2,0,1\nR1,WK,t3,0,0\nR1,SUN,t4,0,0\nT1,WK,tram1,0,0\n";
    const TIMES: &str = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nt1,07:00:00,07:00:00,A,1\nt1,07:05:00,07:05:30,B,2\nt1,07:09:00,07:09:00,C,3\nt2,07:10:00,07:10:00,A,1\nt2,,,B,2\nt2,07:19:00,07:19:00,C,3\nt3,25:00:00,25:00:00,A,1\nt3,25:09:00,25:09:00,C,2\ntram1,07:00:00,07:00:00,A,1\n";
    const CAL: &str = "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\nWK,1,1,1,1,1,0,0,20180101,20181231\nSUN,0,0,0,0,0,0,1,20180101,20181231\n";

    #[test]
    fn a_small_feed_gives_its_lines_timetable_and_what_it_left_out() {
        let d = feed_dir(&[
            ("routes.txt", ROUTES),
            ("stops.txt", STOPS),
            ("trips.txt", TRIPS),
            ("stop_times.txt", TIMES),
            ("calendar.txt", CAL),
            (
                "transfers.txt",
                "from_stop_id,to_stop_id,transfer_type\nA,B,0\n",
            ),
        ]);
        let f = read_feed(d.path()).unwrap();
        assert_eq!(f.routes.len(), 1);
        assert_eq!(f.routes[0].name, "01, Kim Mã");
        assert_eq!(f.stops.len(), 3);
        assert_eq!(f.trips.len(), 4);
        assert_eq!(f.stop_times.as_ref().unwrap().len(), 8);
        let has = |w: &[Warning], what: &str, n: usize| {
            assert!(
                w.iter().any(|x| x.what.contains(what) && x.count == n),
                "{what} × {n} not in {w:?}"
            )
        };
        has(&f.warnings, "transfers.txt", 1);
        has(&f.warnings, "route_type 0", 1);
        has(&f.warnings, "location_type", 1);
        has(&f.warnings, "column peak_offpeak", 5);
        let (lines, w) = lines(&f).unwrap();
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_eq!(l.stops, vec![0, 1, 2]);
        // t1 and t2 on A–B–C, t3 (a variant, after midnight) on A–C; t4 runs on Sundays.
        assert_eq!(l.departures_s, vec![25_200.0, 25_800.0, 90_000.0]);
        assert_eq!(l.offsets_s, vec![Some(0.0), Some(330.0), Some(540.0)]);
        has(&w, "variant", 1);
        has(&w, "no weekday", 1);
    }

    #[test]
    fn dates_and_weekdays_are_read_as_the_calendar_has_them() {
        assert_eq!(parse_date("2018-09-03"), Some(20180903));
        assert_eq!(parse_date("20240229"), Some(20240229));
        for bad in [
            "20230229",
            "2018-9-3",
            "20181301",
            "18-09-03",
            "2018/09/03",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        // 2018-09-03 (a Monday, National Day observed), 2026-12-07 (a Monday), 2000-02-29 (a
        // Tuesday), 1970-01-01 (a Thursday).
        assert_eq!(weekday(20180903), 0);
        assert_eq!(weekday(20261207), 0);
        assert_eq!(weekday(20000229), 1);
        assert_eq!(weekday(19700101), 3);
        assert_eq!(weekday(20180902), 6);
    }

    #[test]
    fn calendar_dates_add_and_remove_services_on_their_dates() {
        let trips = format!("{TRIPS}R1,EXTRA,t5,0,0\n");
        let times = format!(
            "{TIMES}t5,08:00:00,08:00:00,A,1\nt5,08:05:00,08:05:00,B,2\nt5,08:09:00,08:09:00,C,3\n"
        );
        let dates = "service_id,date,exception_type\nWK,20180903,2\nEXTRA,20180903,1\n";
        let d = feed_dir(&[
            ("routes.txt", ROUTES),
            ("stops.txt", STOPS),
            ("trips.txt", &trips),
            ("stop_times.txt", &times),
            ("calendar.txt", CAL),
            ("calendar_dates.txt", dates),
        ]);
        let f = read_feed(d.path()).unwrap();
        assert_eq!(f.service_dates.len(), 2);
        assert_eq!(
            f.services.as_ref().unwrap()[0].dates,
            Some((20180101, 20181231))
        );
        assert!(!f.warnings.iter().any(|w| w.what.contains("calendar_dates")));
        let deps = |day: Option<u32>| -> Vec<f64> {
            lines_on(&f, day)
                .map(|(l, _)| l.iter().flat_map(|l| l.departures_s.clone()).collect())
                .unwrap_or_default()
        };
        // A typical weekday: WK (t1, t2, t3) and EXTRA (added on a Monday); the holiday's
        // removal is counted, not applied.
        assert_eq!(deps(None), vec![25_200.0, 25_800.0, 28_800.0, 90_000.0]);
        let (_, w) = lines(&f).unwrap();
        assert!(
            w.iter()
                .any(|w| w.what.contains("removals") && w.count == 1),
            "{w:?}"
        );
        // The holiday itself: WK removed, EXTRA added.
        assert_eq!(deps(Some(20180903)), vec![28_800.0]);
        // The Tuesday after: WK only; a Sunday: SUN only (t4 has no stop_times: no line).
        assert_eq!(deps(Some(20180904)), vec![25_200.0, 25_800.0, 90_000.0]);
        assert!(deps(Some(20180902)).is_empty());
        // After the calendar's end_date nothing runs.
        assert!(deps(Some(20190102)).is_empty());
        // A malformed date is refused by line and field.
        let bad = feed_dir(&[
            ("routes.txt", ROUTES),
            ("stops.txt", STOPS),
            ("trips.txt", TRIPS),
            (
                "calendar_dates.txt",
                "service_id,date,exception_type\nWK,2018-09-03,2\n",
            ),
        ]);
        let e = read_feed(bad.path()).unwrap_err().to_string();
        assert!(
            e.contains("calendar_dates.txt") && e.contains("line 2") && e.contains("date"),
            "{e}"
        );
        let bad = feed_dir(&[
            ("routes.txt", ROUTES),
            ("stops.txt", STOPS),
            ("trips.txt", TRIPS),
            (
                "calendar_dates.txt",
                "service_id,date,exception_type\nWK,20180903,3\n",
            ),
        ]);
        let e = read_feed(bad.path()).unwrap_err().to_string();
        assert!(e.contains("exception_type"), "{e}");
    }

    #[test]
    fn frequencies_expand_their_template_trip() {
        let d = feed_dir(&[
            ("routes.txt", ROUTES),
            ("stops.txt", STOPS),
            ("trips.txt", TRIPS),
            ("stop_times.txt", TIMES),
            (
                "frequencies.txt",
                "trip_id,start_time,end_time,headway_secs\nt1,06:00:00,07:00:00,600\n",
            ),
        ]);
        let f = read_feed(d.path()).unwrap();
        let (lines, _) = lines(&f).unwrap();
        // No calendar: every trip runs; t1 six times 06:00–06:50, t2 and t3 once; t4 has no
        // stop_times and is left out, counted.
        assert_eq!(lines[0].trips, 6 + 2);
        let (_, w) = super::lines(&f).unwrap();
        assert!(
            w.iter()
                .any(|w| w.what.contains("fewer than two") && w.count == 1)
        );
        assert_eq!(lines[0].departures_s[0], 21_600.0);
        assert!(f.warnings.iter().any(|w| w.what.contains("calendar.txt")));
    }

    #[test]
    fn malformed_feeds_are_refused_naming_file_line_and_field() {
        let cases: [(&str, &str, &str); 6] = [
            (
                "stops.txt",
                "stop_id,stop_lat,stop_lon\nA,21.0,105.8\nB,abc,105.8\n",
                "stops.txt: line 3, field 'stop_lat'",
            ),
            (
                "stops.txt",
                "stop_id,stop_lat\nA,21.0\n",
                "no column 'stop_lon'",
            ),
            (
                "stop_times.txt",
                "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nt1,07:00,07:00,A,1\n",
                "stop_times.txt: line 2, field 'departure_time'",
            ),
            (
                "stop_times.txt",
                "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nt1,07:00:00,07:00:00,Z,1\n",
                "'Z' is not in stops.txt",
            ),
            (
                "trips.txt",
                "route_id,service_id,trip_id,direction_id\nR1,WK,t1,2\n",
                "trips.txt: line 2, field 'direction_id'",
            ),
            (
                "routes.txt",
                "route_id,route_type\n\"R1,3\n",
                "routes.txt: line 2: unclosed quote",
            ),
        ];
        for (file, text, want) in cases {
            let mut files = vec![
                ("routes.txt", ROUTES),
                ("stops.txt", STOPS),
                ("trips.txt", TRIPS),
                ("stop_times.txt", TIMES),
            ];
            files.retain(|f| f.0 != file);
            files.push((file, text));
            let d = feed_dir(&files);
            let e = read_feed(d.path()).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains(want), "{file}: '{e}' lacks '{want}'");
        }
        let d = feed_dir(&[("routes.txt", ROUTES)]);
        let e = read_feed(d.path()).unwrap_err().to_string();
        assert!(e.contains("stops.txt") && e.contains("missing"), "{e}");
    }

    /// Bytes of a good feed changed at random never panic the reader or [`lines`].
    #[test]
    fn mangled_feeds_never_panic() {
        let mut s: u64 = 7;
        let mut next = || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let junk = [b',', b'"', b':', b'\n', b'-', b'9', b'x', 0xC3];
        for _ in 0..200 {
            let mut files: Vec<(&str, Vec<u8>)> = vec![
                ("routes.txt", ROUTES.into()),
                ("stops.txt", STOPS.into()),
                ("trips.txt", TRIPS.into()),
                ("stop_times.txt", TIMES.into()),
                ("calendar.txt", CAL.into()),
            ];
            for _ in 0..3 {
                let f = (next() % files.len() as u64) as usize;
                let b = &mut files[f].1;
                let i = (next() % b.len() as u64) as usize;
                b[i] = junk[(next() % junk.len() as u64) as usize];
            }
            let d = tempfile::tempdir().unwrap();
            for (n, b) in &files {
                std::fs::write(d.path().join(n), b).unwrap();
            }
            if let Ok(f) = read_feed(d.path()) {
                let _ = lines(&f);
            }
        }
    }
}
