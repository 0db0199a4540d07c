//! Scenario files: a planner's what-if as TOML (`scenarios/what-if-demo.toml` is the commented
//! example, `scenarios/scenario.schema.json` its JSON Schema). Parsed from text (the caller
//! reads the file and resolves its paths); every error names the line and the key, and an
//! unknown key gets the nearest valid one suggested.

use serde::Deserialize;
use toml::Spanned;

use crate::design_storm::{DesignStorm, Shape};
use crate::rain_map::{DayStorm, Spread};

/// Where a scenario's rain comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum RainSource {
    /// A rain series CSV (`minute,mm_per_hour`), path as written in the file.
    Csv(String),
    /// A design storm from Hanoi's IDF curve.
    Design(DesignStorm),
    /// A historical day at the city's rain gauges.
    Historical(HistoricalRain),
}

/// A historical day's rain from gauge records: each gauge's daily total, spread over the city
/// between the gauges and laid out in time by a design-storm shape (daily totals carry no
/// timing).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoricalRain {
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// The gauge list (`gauge_id`, `lon`/`lat`), path as written in the file.
    pub gauges: String,
    /// The daily totals (`date,gauge_id,rain_mm[,qc]`), path as written in the file.
    pub daily: String,
    /// How totals are spread between gauges.
    pub spread: Spread,
    /// How the day's total is laid out in time.
    pub storm: DayStorm,
}

/// A road closed by the scenario between two clock times (both runs, with and without the
/// flood).
#[derive(Debug, Clone, PartialEq)]
pub struct CloseRoad {
    /// Road name, as in the Traffic & Road layer (every segment of that name), or `id:N`.
    pub road: String,
    /// Clock time it closes, minutes after midnight.
    pub from_min: f64,
    /// Clock time it reopens.
    pub to_min: f64,
    /// Line of the entry in the file.
    pub line: usize,
}

/// Substations taken out by the scenario for a period (their signals go dark in both runs).
#[derive(Debug, Clone, PartialEq)]
pub struct SubstationOut {
    /// Substation names (Utility layer); `None`: every substation.
    pub names: Option<Vec<String>>,
    /// Clock time it goes out, minutes after midnight.
    pub from_min: f64,
    /// Clock time it comes back (`None`: not in this run).
    pub to_min: Option<f64>,
    /// Line of the entry in the file.
    pub line: usize,
}

/// The signals along a road retimed: the phases that give that road green take this share of
/// the green time of each of its signals' cycles (the cycle and the amber and all-red times
/// kept).
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRetime {
    /// Road name (every segment of that name) or `id:N`.
    pub road: String,
    /// Share of the cycle's green time given to the road, (0, 1).
    pub green_share: f64,
    /// Line of the entry in the file.
    pub line: usize,
}

/// How the signals are run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SignalMode {
    /// Fixed-time plans, retimed by Webster's method for the peak (the default).
    Fixed,
    /// Fully actuated control at every signal.
    Actuated,
    /// Adaptive max-pressure control at every signal.
    MaxPressure,
}

/// What the authorities do about roads the flood closes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Diversions {
    /// Diversion routes worked out and reported; traffic meets each closure where the water
    /// stops it, and only the informed share reroutes before reaching it (the default).
    Proposed,
    /// Diversions put in place: each road is closed (and signposted) as soon as its water
    /// reaches `close_at_m`, and the drivers told (`informed` share rerouting).
    Activated {
        /// Depth at which a road is closed, m (below the 0.3 m at which it is impassable).
        close_at_m: f64,
        /// Share of drivers informed of closures and current times while diversions are in
        /// place.
        informed: f64,
    },
}

/// Gates (the network's orifices) set open to a share for a period; outside it each keeps its
/// own state (the city's closed gates closed).
#[derive(Debug, Clone, PartialEq)]
pub struct GateChange {
    /// Gate names; `None`: every gate of the network.
    pub names: Option<Vec<String>>,
    /// Opening, 0 (shut) to 1 (fully open).
    pub open: f64,
    /// Clock time it starts, minutes after midnight (`None`: the rain's start).
    pub from_min: Option<f64>,
    /// Clock time it ends (`None`: the end of the run).
    pub to_min: Option<f64>,
    /// Line of the entry in the file.
    pub line: usize,
}

/// A retention lake dug into the ground before the storm: a disc of cells around a point
/// lowered so that it holds `volume_m3` below the ground it replaces.
#[derive(Debug, Clone, PartialEq)]
pub struct Lake {
    /// Centre (m, the city's CRS).
    pub at: [f64; 2],
    /// Volume it holds below the former ground, m³.
    pub volume_m3: f64,
    /// Depth dug, m (the disc's area is the volume over it).
    pub depth_m: f64,
    /// Line of the entry in the file.
    pub line: usize,
}

/// A road raised (its cells of the DEM lifted) before the storm.
#[derive(Debug, Clone, PartialEq)]
pub struct RaiseRoad {
    /// Road name or `id:N`.
    pub road: String,
    /// Height added, m.
    pub by_m: f64,
    /// Line of the entry in the file.
    pub line: usize,
}

/// Pumps of the drainage network at a share of their capacity (0: out of service).
#[derive(Debug, Clone, PartialEq)]
pub struct PumpChange {
    /// Pump names; `None`: every pump.
    pub names: Option<Vec<String>>,
    /// Share of the pump curve's flow, 0..=4 (0 out, 0.5 half, 2 doubled).
    pub capacity: f64,
    /// Clock time (minutes after midnight) before which the pumps do not run (a late start);
    /// `None`: from the start.
    pub start_min: Option<f64>,
    /// Line of the entry in the file.
    pub line: usize,
}

/// A pipe of the drainage network enlarged, or a new one laid.
#[derive(Debug, Clone, PartialEq)]
pub enum PipeChange {
    /// Conduits' cross-sections scaled (depth, and width where the shape has one).
    Enlarge {
        /// Conduit names; `None`: every conduit.
        names: Option<Vec<String>>,
        /// Scale of the cross-section, (0, 5].
        scale: f64,
        /// Line of the entry in the file.
        line: usize,
    },
    /// A new circular pipe between two nodes.
    Add {
        /// Upstream node.
        from: String,
        /// Downstream node.
        to: String,
        /// Diameter, m.
        diameter_m: f64,
        /// Length, m; `None`: the distance between the nodes' coordinates.
        length_m: Option<f64>,
        /// Manning's n (default 0.013, concrete).
        roughness: f64,
        /// Line of the entry in the file.
        line: usize,
    },
}

impl PipeChange {
    /// Line of the entry in the file.
    pub fn line(&self) -> usize {
        match self {
            PipeChange::Enlarge { line, .. } | PipeChange::Add { line, .. } => *line,
        }
    }
}

/// A retention tank connected to a node of the network: it fills through a pipe as the water
/// in the node rises above the node's invert and drains back as it falls.
#[derive(Debug, Clone, PartialEq)]
pub struct Tank {
    /// The node it hangs on.
    pub node: String,
    /// Volume, m³.
    pub volume_m3: f64,
    /// Depth, m (the plan area is volume / depth).
    pub depth_m: f64,
    /// Diameter of the connecting pipe, m.
    pub inlet_m: f64,
    /// Line of the entry in the file.
    pub line: usize,
}

/// The river's water level at the drainage network's outfalls through the storm.
#[derive(Debug, Clone, PartialEq)]
pub struct RiverStage {
    /// (clock time in minutes after midnight, water level in m of the model's datum), in
    /// time order; held at the last value after it.
    pub stage: Vec<(f64, f64)>,
    /// Outfall names; `None`: every outfall.
    pub outfalls: Option<Vec<String>>,
    /// Line of the `[river]` table.
    pub line: usize,
}

/// A parsed scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioFile {
    /// The city `.gpkg`, as written (relative to the file).
    pub city: String,
    /// Clock time the rain starts, minutes after midnight.
    pub rain_start_min: f64,
    /// Simulated flood minutes.
    pub minutes: f64,
    /// Couple the city's drainage network.
    pub couple: bool,
    /// Every road in its worst flood state for the whole peak.
    pub worst_case: bool,
    /// The rain.
    pub rain: RainSource,
    /// Person trips of the morning peak period (`traffic.trips` times `traffic.scale`).
    pub trips: usize,
    /// Share of informed drivers rerouting.
    pub informed: f64,
    /// Seed of the demand.
    pub seed: u64,
    /// Roads closed.
    pub close_road: Vec<CloseRoad>,
    /// Roads raised.
    pub raise_road: Vec<RaiseRoad>,
    /// Pumps at a share of capacity or starting late.
    pub pumps: Vec<PumpChange>,
    /// The river's level at the outfalls.
    pub river: Option<RiverStage>,
    /// Pipes enlarged or laid.
    pub pipes: Vec<PipeChange>,
    /// Retention tanks added.
    pub tanks: Vec<Tank>,
    /// Retention lakes dug.
    pub lakes: Vec<Lake>,
    /// Gates opened or shut.
    pub gates: Vec<GateChange>,
    /// Substations taken out.
    pub substations: Vec<SubstationOut>,
    /// How the signals are run.
    pub signal_mode: SignalMode,
    /// Signals retimed along roads.
    pub retime_signals: Vec<SignalRetime>,
    /// Diversions proposed or activated.
    pub diversions: Diversions,
}

impl ScenarioFile {
    /// The file's rain and interventions, one line each in Vietnamese and English, for the
    /// report.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.push(match &self.rain {
            RainSource::Csv(p) => format!("Mưa theo chuỗi / Rain series: {p}"),
            RainSource::Design(d) => format!(
                "Mưa thiết kế / Design storm: chu kỳ / return period {} năm / years, {} phút / min{}",
                d.return_period_years,
                d.duration_min,
                d.depth_mm
                    .map_or(String::new(), |mm| format!(", {mm} mm"))
            ),
            RainSource::Historical(h) => format!(
                "Mưa lịch sử / Historical day {}: tổng ngày tại các trạm đo / daily totals at the gauges, nội suy / spread by {}, rơi trong / falling in {} phút / min",
                h.date,
                match h.spread {
                    Spread::Idw { power } => format!("IDW (p = {power})"),
                    Spread::Thiessen => "Thiessen".into(),
                },
                h.storm.duration_min
            ),
        });
        for c in &self.close_road {
            out.push(format!(
                "Đóng đường / Road closed: {} {}–{}",
                c.road,
                crate::scenario::clock(c.from_min),
                crate::scenario::clock(c.to_min)
            ));
        }
        for r in &self.raise_road {
            out.push(format!(
                "Tôn cao đường / Road raised: {} +{} m",
                r.road, r.by_m
            ));
        }
        for p in &self.pumps {
            let which = p
                .names
                .as_ref()
                .map_or("tất cả / every pump".to_string(), |n| n.join(", "));
            let start = p.start_min.map_or(String::new(), |m| {
                format!(", từ / from {}", crate::scenario::clock(m))
            });
            out.push(format!(
                "Trạm bơm / Pumps {which}: {:.0} % công suất / of capacity{start}",
                100.0 * p.capacity
            ));
        }
        if let Some(r) = &self.river {
            let stages: Vec<String> = r
                .stage
                .iter()
                .map(|(t, z)| format!("{} {z} m", crate::scenario::clock(*t)))
                .collect();
            out.push(format!(
                "Mực nước sông tại cửa xả / River at the outfalls: {}",
                stages.join(", ")
            ));
        }
        for p in &self.pipes {
            out.push(match p {
                PipeChange::Enlarge { names, scale, .. } => format!(
                    "Mở rộng cống / Pipes enlarged ×{scale}: {}",
                    names
                        .as_ref()
                        .map_or("tất cả / every conduit".to_string(), |n| n.join(", "))
                ),
                PipeChange::Add {
                    from,
                    to,
                    diameter_m,
                    ..
                } => format!("Cống mới / New pipe: {from} → {to}, D {diameter_m} m"),
            });
        }
        for t in &self.tanks {
            out.push(format!(
                "Bể chứa / Retention tank: {} m³ tại / at {}",
                t.volume_m3, t.node
            ));
        }
        for g in &self.gates {
            let which = g
                .names
                .as_ref()
                .map_or("tất cả / every gate".to_string(), |n| n.join(", "));
            out.push(format!(
                "Cửa điều tiết / Gates {which}: mở / open {:.0} %{}{}",
                100.0 * g.open,
                g.from_min.map_or(String::new(), |m| format!(
                    ", từ / from {}",
                    crate::scenario::clock(m)
                )),
                g.to_min.map_or(String::new(), |m| format!(
                    ", đến / to {}",
                    crate::scenario::clock(m)
                ))
            ));
        }
        for l in &self.lakes {
            out.push(format!(
                "Hồ điều hòa mới / New retention lake: {} m³, sâu / deep {} m, tại / at ({:.0}, {:.0})",
                l.volume_m3, l.depth_m, l.at[0], l.at[1]
            ));
        }
        for b in &self.substations {
            let which = b
                .names
                .as_ref()
                .map_or("tất cả / every substation".to_string(), |n| {
                    n.join(", ")
                });
            out.push(format!(
                "Mất điện trạm biến áp / Substation out: {which} {}–{}",
                crate::scenario::clock(b.from_min),
                b.to_min.map_or("…".into(), crate::scenario::clock)
            ));
        }
        match self.signal_mode {
            SignalMode::Fixed => {}
            SignalMode::Actuated => {
                out.push("Đèn tín hiệu / Signals: điều khiển theo xe / fully actuated".into())
            }
            SignalMode::MaxPressure => out.push(
                "Đèn tín hiệu / Signals: điều khiển thích ứng / adaptive max-pressure".into(),
            ),
        }
        for r in &self.retime_signals {
            out.push(format!(
                "Điều chỉnh đèn / Signals retimed: {} {:.0} % thời gian xanh / of green",
                r.road,
                100.0 * r.green_share
            ));
        }
        if let Diversions::Activated {
            close_at_m,
            informed,
        } = self.diversions
        {
            out.push(format!(
                "Phân luồng được kích hoạt / Diversions activated: đóng đường từ / roads closed from {close_at_m} m, {:.0} % lái xe được báo / of drivers told",
                100.0 * informed
            ));
        }
        out
    }
}

/// An error in a scenario file: the line (1-based, 0 when unknown), the key and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, key '{key}': {message}")]
pub struct FileError {
    /// Line of the file.
    pub line: usize,
    /// The key at fault (dotted path where it helps).
    pub key: String,
    /// What is wrong, with the nearest valid key for an unknown one.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    city: Spanned<String>,
    minutes: Spanned<f64>,
    rain: Spanned<RawRain>,
    rain_start: Option<Spanned<String>>,
    couple: Option<bool>,
    worst_case: Option<bool>,
    traffic: Option<RawTraffic>,
    close_road: Option<Vec<Spanned<RawClose>>>,
    raise_road: Option<Vec<Spanned<RawRaise>>>,
    pumps: Option<Vec<Spanned<RawPumps>>>,
    river: Option<Spanned<RawRiver>>,
    pipes: Option<Vec<Spanned<RawPipe>>>,
    tanks: Option<Vec<Spanned<RawTank>>>,
    lakes: Option<Vec<Spanned<RawLake>>>,
    gates: Option<Vec<Spanned<RawGates>>>,
    substations: Option<Vec<Spanned<RawSubstations>>>,
    signals: Option<Spanned<RawSignals>>,
    retime_signals: Option<Vec<Spanned<RawRetime>>>,
    response: Option<Spanned<RawResponse>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGates {
    names: Option<Vec<String>>,
    open: Spanned<f64>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLake {
    at: Spanned<Vec<f64>>,
    volume_m3: Spanned<f64>,
    depth_m: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubstations {
    names: Option<Vec<String>>,
    from: Spanned<String>,
    to: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignals {
    control: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetime {
    road: String,
    green_share: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    diversions: Spanned<String>,
    close_at_m: Option<Spanned<f64>>,
    informed: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipe {
    names: Option<Vec<String>>,
    scale: Option<Spanned<f64>>,
    from: Option<String>,
    to: Option<String>,
    diameter_m: Option<Spanned<f64>>,
    length_m: Option<Spanned<f64>>,
    roughness: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTank {
    node: String,
    volume_m3: Spanned<f64>,
    depth_m: Option<Spanned<f64>>,
    inlet_m: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRiver {
    stage: Vec<(Spanned<String>, Spanned<f64>)>,
    outfalls: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRain {
    csv: Option<String>,
    design: Option<Spanned<RawDesign>>,
    historical: Option<Spanned<RawHistorical>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHistorical {
    date: Spanned<String>,
    gauges: String,
    daily: String,
    spread: Option<String>,
    power: Option<Spanned<f64>>,
    duration_min: Option<Spanned<f64>>,
    block_min: Option<f64>,
    shape: Option<String>,
    peak_at: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDesign {
    return_period_years: f64,
    duration_min: f64,
    block_min: Option<f64>,
    shape: Option<String>,
    peak_at: Option<f64>,
    depth_mm: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTraffic {
    trips: Option<Spanned<i64>>,
    informed: Option<Spanned<f64>>,
    seed: Option<u64>,
    scale: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClose {
    road: String,
    from: Spanned<String>,
    to: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRaise {
    road: String,
    by_m: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPumps {
    names: Option<Vec<String>>,
    capacity: Option<Spanned<f64>>,
    start: Option<Spanned<String>>,
}

/// Line (1-based) of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Edit distance between two keys.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The words between backticks in a message.
fn quoted(msg: &str) -> Vec<String> {
    msg.split('`')
        .enumerate()
        .filter(|(k, _)| k % 2 == 1)
        .map(|(_, w)| w.to_string())
        .collect()
}

/// A TOML or serde error as a [`FileError`]: the line, the key and, for an unknown key, the
/// nearest valid one.
fn toml_error(text: &str, e: &toml::de::Error) -> FileError {
    let line = e.span().map_or(0, |s| line_of(text, s.start));
    let msg = e.message().trim().to_string();
    let words = quoted(&msg);
    if let Some(rest) = msg.strip_prefix("unknown field ")
        && let Some((bad, valid)) = words.split_first()
    {
        let nearest = valid
            .iter()
            .min_by_key(|v| distance(bad, v))
            .filter(|v| distance(bad, v) <= bad.len().max(2) / 2 + 1);
        let hint = match nearest {
            Some(v) => format!("; did you mean '{v}'?"),
            None => format!("; valid keys here: {}", valid.join(", ")),
        };
        let _ = rest;
        return FileError {
            line,
            key: bad.clone(),
            message: format!("unknown key{hint}"),
        };
    }
    if let Some(k) = msg.strip_prefix("missing field ") {
        return FileError {
            line,
            key: k.trim_matches('`').to_string(),
            message: "required key missing".into(),
        };
    }
    let key = text
        .lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.split('=').next())
        .map(|k| k.trim().trim_matches(['[', ']']).to_string())
        .unwrap_or_default();
    FileError {
        line,
        key,
        message: msg,
    }
}

/// A clock time `HH:MM` as minutes after midnight.
fn clock(text: &str, v: &Spanned<String>, key: &str) -> Result<f64, FileError> {
    let bad = || FileError {
        line: line_of(text, v.span().start),
        key: key.into(),
        message: format!(
            "expected a clock time HH:MM, e.g. 06:00, got '{}'",
            v.get_ref()
        ),
    };
    let (h, m) = v.get_ref().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((h * 60 + m) as f64)
}

/// A hyetograph shape by name (`alternating-block`, `chicago` with its peak position).
fn shape(
    name: Option<&str>,
    peak_at: Option<f64>,
    default: Shape,
    line: usize,
    key: &str,
) -> Result<Shape, FileError> {
    match name {
        None => Ok(match default {
            Shape::Chicago { .. } => Shape::Chicago {
                peak_at: peak_at.unwrap_or(0.4),
            },
            s => s,
        }),
        Some("alternating-block") => Ok(Shape::AlternatingBlock),
        Some("chicago") => Ok(Shape::Chicago {
            peak_at: peak_at.unwrap_or(0.4),
        }),
        Some(other) => Err(FileError {
            line,
            key: key.into(),
            message: format!("expected 'alternating-block' or 'chicago', got '{other}'"),
        }),
    }
}

/// Checks that a spanned number lies in a range.
fn in_range(
    text: &str,
    v: &Spanned<f64>,
    key: &str,
    ok: impl Fn(f64) -> bool,
    expected: &str,
) -> Result<f64, FileError> {
    let x = *v.get_ref();
    if ok(x) {
        Ok(x)
    } else {
        Err(FileError {
            line: line_of(text, v.span().start),
            key: key.into(),
            message: format!("expected {expected}, got {x}"),
        })
    }
}

impl ScenarioFile {
    /// Parses a scenario file's text.
    pub fn parse(text: &str) -> Result<ScenarioFile, FileError> {
        let raw: Raw = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        let at = |s: std::ops::Range<usize>| line_of(text, s.start);
        let minutes = in_range(
            text,
            &raw.minutes,
            "minutes",
            |m| m > 0.0 && m <= crate::flood::MAX_MINUTES,
            "a duration in (0, 10080] minutes",
        )?;
        let rain_start_min = match &raw.rain_start {
            Some(v) => clock(text, v, "rain_start")?,
            None => 360.0,
        };
        let rain_line = at(raw.rain.span());
        let rain = match raw.rain.into_inner() {
            RawRain {
                csv: Some(p),
                design: None,
                historical: None,
            } => RainSource::Csv(p),
            RawRain {
                csv: None,
                design: None,
                historical: Some(h),
            } => {
                let line = at(h.span());
                let h = h.into_inner();
                if !twin_model::is_date(h.date.get_ref()) {
                    return Err(FileError {
                        line: at(h.date.span()),
                        key: "rain.historical.date".into(),
                        message: format!("expected a date YYYY-MM-DD, got '{}'", h.date.get_ref()),
                    });
                }
                let spread = match h.spread.as_deref().unwrap_or("idw") {
                    "idw" => Spread::Idw {
                        power: match &h.power {
                            Some(p) => in_range(
                                text,
                                p,
                                "rain.historical.power",
                                |x| x > 0.0 && x <= 10.0,
                                "a distance exponent in (0, 10]",
                            )?,
                            None => 2.0,
                        },
                    },
                    "thiessen" => Spread::Thiessen,
                    other => {
                        return Err(FileError {
                            line,
                            key: "rain.historical.spread".into(),
                            message: format!("expected 'idw' or 'thiessen', got '{other}'"),
                        });
                    }
                };
                let storm = DesignStorm {
                    return_period_years: crate::rain_map::SHAPE_RETURN_PERIOD_YEARS,
                    duration_min: match &h.duration_min {
                        Some(d) => in_range(
                            text,
                            d,
                            "rain.historical.duration_min",
                            |x| x > 0.0 && x <= 1440.0,
                            "a duration in (0, 1440] minutes (the day)",
                        )?,
                        None => 180.0,
                    },
                    block_min: h.block_min.unwrap_or(10.0),
                    shape: shape(
                        h.shape.as_deref(),
                        h.peak_at,
                        Shape::Chicago { peak_at: 0.4 },
                        line,
                        "rain.historical.shape",
                    )?,
                    depth_mm: None,
                };
                storm.validate().map_err(|m| FileError {
                    line,
                    key: "rain.historical".into(),
                    message: m,
                })?;
                RainSource::Historical(HistoricalRain {
                    date: h.date.into_inner(),
                    gauges: h.gauges,
                    daily: h.daily,
                    spread,
                    storm: DayStorm {
                        duration_min: storm.duration_min,
                        block_min: storm.block_min,
                        shape: storm.shape,
                    },
                })
            }
            RawRain {
                csv: None,
                design: Some(d),
                historical: None,
            } => {
                let line = at(d.span());
                let d = d.into_inner();
                let shape = shape(
                    d.shape.as_deref(),
                    d.peak_at,
                    Shape::AlternatingBlock,
                    line,
                    "rain.design.shape",
                )?;
                let storm = DesignStorm {
                    return_period_years: d.return_period_years,
                    duration_min: d.duration_min,
                    block_min: d.block_min.unwrap_or(10.0),
                    shape,
                    depth_mm: d.depth_mm,
                };
                storm.validate().map_err(|m| FileError {
                    line,
                    key: "rain.design".into(),
                    message: m,
                })?;
                RainSource::Design(storm)
            }
            _ => {
                return Err(FileError {
                    line: rain_line,
                    key: "rain".into(),
                    message: "give exactly one of 'csv' (a rain series file), 'design' \
                              (a design storm) or 'historical' (a day at the rain gauges)"
                        .into(),
                });
            }
        };
        let t = raw.traffic.unwrap_or(RawTraffic {
            trips: None,
            informed: None,
            seed: None,
            scale: None,
        });
        let trips = match &t.trips {
            Some(v) => {
                let n = *v.get_ref();
                if !(1..=crate::scenario::MAX_TRIPS as i64).contains(&n) {
                    return Err(FileError {
                        line: at(v.span()),
                        key: "traffic.trips".into(),
                        message: format!(
                            "expected 1..{} person trips, got {n}",
                            crate::scenario::MAX_TRIPS
                        ),
                    });
                }
                n as usize
            }
            None => 100_000,
        };
        // A demand scale multiplies the trips (a growth or a holiday factor).
        let trips = match &t.scale {
            Some(v) => {
                let k = in_range(
                    text,
                    v,
                    "traffic.scale",
                    |x| x > 0.0 && x <= 10.0,
                    "a factor in (0, 10]",
                )?;
                let n = (trips as f64 * k).round();
                if !(1.0..=crate::scenario::MAX_TRIPS as f64).contains(&n) {
                    return Err(FileError {
                        line: at(v.span()),
                        key: "traffic.scale".into(),
                        message: format!(
                            "{trips} trips × {k} = {n} is outside 1..{}",
                            crate::scenario::MAX_TRIPS
                        ),
                    });
                }
                n as usize
            }
            None => trips,
        };
        let informed = match &t.informed {
            Some(v) => in_range(
                text,
                v,
                "traffic.informed",
                |x| (0.0..=1.0).contains(&x),
                "a share in 0..1",
            )?,
            None => 0.5,
        };
        let mut close_road = Vec::new();
        for c in raw.close_road.unwrap_or_default() {
            let line = at(c.span());
            let c = c.into_inner();
            let (from_min, to_min) = (
                clock(text, &c.from, "close_road.from")?,
                clock(text, &c.to, "close_road.to")?,
            );
            if to_min <= from_min {
                return Err(FileError {
                    line,
                    key: "close_road.to".into(),
                    message: "the road must reopen after it closes".into(),
                });
            }
            close_road.push(CloseRoad {
                road: c.road,
                from_min,
                to_min,
                line,
            });
        }
        let mut raise_road = Vec::new();
        for r in raw.raise_road.unwrap_or_default() {
            let line = at(r.span());
            let r = r.into_inner();
            let by_m = in_range(
                text,
                &r.by_m,
                "raise_road.by_m",
                |x| x > 0.0 && x <= 5.0,
                "a height in (0, 5] m",
            )?;
            raise_road.push(RaiseRoad {
                road: r.road,
                by_m,
                line,
            });
        }
        let mut pumps = Vec::new();
        for p in raw.pumps.unwrap_or_default() {
            let line = at(p.span());
            let p = p.into_inner();
            let capacity = match &p.capacity {
                Some(c) => in_range(
                    text,
                    c,
                    "pumps.capacity",
                    |x| (0.0..=4.0).contains(&x),
                    "a share of capacity in 0..4 (0: out of service)",
                )?,
                None => 1.0,
            };
            let start_min = match &p.start {
                Some(v) => {
                    let m = clock(text, v, "pumps.start")?;
                    if m <= rain_start_min {
                        return Err(FileError {
                            line: at(v.span()),
                            key: "pumps.start".into(),
                            message: "a late start must come after the rain starts".into(),
                        });
                    }
                    Some(m)
                }
                None => None,
            };
            if p.capacity.is_none() && start_min.is_none() {
                return Err(FileError {
                    line,
                    key: "pumps".into(),
                    message: "give 'capacity' (a share), 'start' (a late start) or both".into(),
                });
            }
            pumps.push(PumpChange {
                names: p.names,
                capacity,
                start_min,
                line,
            });
        }
        let river = match raw.river {
            None => None,
            Some(r) => {
                let line = at(r.span());
                let r = r.into_inner();
                let mut stage = Vec::new();
                for (t, level) in &r.stage {
                    let m = clock(text, t, "river.stage")?;
                    let z = in_range(
                        text,
                        level,
                        "river.stage",
                        |z| (-100.0..=1000.0).contains(&z),
                        "a water level in -100..1000 m",
                    )?;
                    if m < rain_start_min || stage.last().is_some_and(|(p, _)| m <= *p) {
                        return Err(FileError {
                            line: at(t.span()),
                            key: "river.stage".into(),
                            message: "times must rise and start at or after the rain's start"
                                .into(),
                        });
                    }
                    stage.push((m, z));
                }
                if stage.is_empty() {
                    return Err(FileError {
                        line,
                        key: "river.stage".into(),
                        message: "give at least one [\"HH:MM\", level_m] pair".into(),
                    });
                }
                Some(RiverStage {
                    stage,
                    outfalls: r.outfalls,
                    line,
                })
            }
        };
        let mut pipes = Vec::new();
        for p in raw.pipes.unwrap_or_default() {
            let line = at(p.span());
            let p = p.into_inner();
            let num = |v: &Option<Spanned<f64>>,
                       key: &str,
                       ok: fn(f64) -> bool,
                       expected: &str|
             -> Result<Option<f64>, FileError> {
                v.as_ref()
                    .map(|v| in_range(text, v, key, ok, expected))
                    .transpose()
            };
            let scale = num(
                &p.scale,
                "pipes.scale",
                |x| x > 0.0 && x <= 5.0,
                "a scale in (0, 5]",
            )?;
            let diameter = num(
                &p.diameter_m,
                "pipes.diameter_m",
                |x| x > 0.0 && x <= 10.0,
                "a diameter in (0, 10] m",
            )?;
            let length = num(
                &p.length_m,
                "pipes.length_m",
                |x| (1.0..=100_000.0).contains(&x),
                "a length in [1, 100000] m",
            )?;
            let roughness = num(
                &p.roughness,
                "pipes.roughness",
                |x| x > 0.0 && x <= 0.1,
                "Manning's n in (0, 0.1]",
            )?;
            let change = match (p.names, scale, p.from, p.to, diameter) {
                (names, Some(scale), None, None, None)
                    if length.is_none() && roughness.is_none() =>
                {
                    PipeChange::Enlarge { names, scale, line }
                }
                (None, None, Some(from), Some(to), Some(diameter_m)) => PipeChange::Add {
                    from,
                    to,
                    diameter_m,
                    length_m: length,
                    roughness: roughness.unwrap_or(0.013),
                    line,
                },
                _ => {
                    return Err(FileError {
                        line,
                        key: "pipes".into(),
                        message: "give 'scale' (with 'names', or none for every conduit) to \
                                  enlarge pipes, or 'from', 'to' and 'diameter_m' (with \
                                  'length_m', 'roughness') to lay one"
                            .into(),
                    });
                }
            };
            pipes.push(change);
        }
        let mut tanks = Vec::new();
        for t in raw.tanks.unwrap_or_default() {
            let line = at(t.span());
            let t = t.into_inner();
            tanks.push(Tank {
                node: t.node,
                volume_m3: in_range(
                    text,
                    &t.volume_m3,
                    "tanks.volume_m3",
                    |x| x > 0.0 && x <= 1e8,
                    "a volume in (0, 1e8] m³",
                )?,
                depth_m: match &t.depth_m {
                    Some(d) => in_range(
                        text,
                        d,
                        "tanks.depth_m",
                        |x| x > 0.0 && x <= 50.0,
                        "a depth in (0, 50] m",
                    )?,
                    None => 4.0,
                },
                inlet_m: match &t.inlet_m {
                    Some(d) => in_range(
                        text,
                        d,
                        "tanks.inlet_m",
                        |x| x > 0.0 && x <= 5.0,
                        "a pipe diameter in (0, 5] m",
                    )?,
                    None => 1.0,
                },
                line,
            });
        }
        let mut gates = Vec::new();
        for g in raw.gates.unwrap_or_default() {
            let line = at(g.span());
            let g = g.into_inner();
            let open = in_range(
                text,
                &g.open,
                "gates.open",
                |x| (0.0..=1.0).contains(&x),
                "an opening in 0..1 (0 shut, 1 fully open)",
            )?;
            let from_min = match &g.from {
                Some(v) => Some(clock(text, v, "gates.from")?),
                None => None,
            };
            let to_min = match &g.to {
                Some(v) => {
                    let m = clock(text, v, "gates.to")?;
                    if m <= from_min.unwrap_or(rain_start_min) {
                        return Err(FileError {
                            line: at(v.span()),
                            key: "gates.to".into(),
                            message: "the change must end after it starts".into(),
                        });
                    }
                    Some(m)
                }
                None => None,
            };
            gates.push(GateChange {
                names: g.names,
                open,
                from_min,
                to_min,
                line,
            });
        }
        let mut lakes = Vec::new();
        for l in raw.lakes.unwrap_or_default() {
            let line = at(l.span());
            let l = l.into_inner();
            let xy = l.at.get_ref();
            if xy.len() != 2 || !xy.iter().all(|v| v.is_finite()) {
                return Err(FileError {
                    line: at(l.at.span()),
                    key: "lakes.at".into(),
                    message: "expected [x, y] in metres of the city's CRS".into(),
                });
            }
            lakes.push(Lake {
                at: [xy[0], xy[1]],
                volume_m3: in_range(
                    text,
                    &l.volume_m3,
                    "lakes.volume_m3",
                    |x| x > 0.0 && x <= 1e8,
                    "a volume in (0, 1e8] m³",
                )?,
                depth_m: match &l.depth_m {
                    Some(d) => in_range(
                        text,
                        d,
                        "lakes.depth_m",
                        |x| x > 0.0 && x <= 20.0,
                        "a depth in (0, 20] m",
                    )?,
                    None => 2.0,
                },
                line,
            });
        }
        let mut substations = Vec::new();
        for b in raw.substations.unwrap_or_default() {
            let line = at(b.span());
            let b = b.into_inner();
            let from_min = clock(text, &b.from, "substations.from")?;
            let to_min = match &b.to {
                Some(v) => {
                    let m = clock(text, v, "substations.to")?;
                    if m <= from_min {
                        return Err(FileError {
                            line: at(v.span()),
                            key: "substations.to".into(),
                            message: "the power must come back after it goes out".into(),
                        });
                    }
                    Some(m)
                }
                None => None,
            };
            substations.push(SubstationOut {
                names: b.names,
                from_min,
                to_min,
                line,
            });
        }
        let signal_mode = match raw.signals {
            None => SignalMode::Fixed,
            Some(sg) => {
                let c = sg.into_inner().control;
                match c.get_ref().as_str() {
                    "fixed" => SignalMode::Fixed,
                    "actuated" => SignalMode::Actuated,
                    "max-pressure" => SignalMode::MaxPressure,
                    other => {
                        return Err(FileError {
                            line: at(c.span()),
                            key: "signals.control".into(),
                            message: format!(
                                "expected 'fixed', 'actuated' or 'max-pressure', got '{other}'"
                            ),
                        });
                    }
                }
            }
        };
        let mut retime_signals = Vec::new();
        for r in raw.retime_signals.unwrap_or_default() {
            let line = at(r.span());
            let r = r.into_inner();
            let green_share = in_range(
                text,
                &r.green_share,
                "retime_signals.green_share",
                |x| (0.1..=0.9).contains(&x),
                "a share of the green time in [0.1, 0.9]",
            )?;
            retime_signals.push(SignalRetime {
                road: r.road,
                green_share,
                line,
            });
        }
        if signal_mode != SignalMode::Fixed
            && let Some(r) = retime_signals.first()
        {
            return Err(FileError {
                line: r.line,
                key: "retime_signals".into(),
                message: "retiming sets fixed-time plans; with [signals] control other than \
                          'fixed' the signals follow the traffic instead"
                    .into(),
            });
        }
        let diversions = match raw.response {
            None => Diversions::Proposed,
            Some(rs) => {
                let line = at(rs.span());
                let rs = rs.into_inner();
                match rs.diversions.get_ref().as_str() {
                    "proposed" => {
                        if rs.close_at_m.is_some() || rs.informed.is_some() {
                            return Err(FileError {
                                line,
                                key: "response".into(),
                                message: "'close_at_m' and 'informed' apply to activated \
                                          diversions only"
                                    .into(),
                            });
                        }
                        Diversions::Proposed
                    }
                    "activated" => Diversions::Activated {
                        close_at_m: match &rs.close_at_m {
                            Some(v) => in_range(
                                text,
                                v,
                                "response.close_at_m",
                                |x| (0.05..=0.3).contains(&x),
                                "a depth in [0.05, 0.3] m (0.3 m closes a road anyway)",
                            )?,
                            None => 0.15,
                        },
                        informed: match &rs.informed {
                            Some(v) => in_range(
                                text,
                                v,
                                "response.informed",
                                |x| (0.0..=1.0).contains(&x),
                                "a share in 0..1",
                            )?,
                            None => 1.0,
                        },
                    },
                    other => {
                        return Err(FileError {
                            line: at(rs.diversions.span()),
                            key: "response.diversions".into(),
                            message: format!("expected 'proposed' or 'activated', got '{other}'"),
                        });
                    }
                }
            }
        };
        Ok(ScenarioFile {
            city: raw.city.into_inner(),
            rain_start_min,
            minutes,
            couple: raw.couple.unwrap_or(false),
            worst_case: raw.worst_case.unwrap_or(false),
            rain,
            trips,
            informed,
            seed: t.seed.unwrap_or(1),
            close_road,
            raise_road,
            pumps,
            river,
            pipes,
            tanks,
            lakes,
            gates,
            substations,
            signal_mode,
            retime_signals,
            diversions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
city = "demo.gpkg"
minutes = 150
rain_start = "06:30"
couple = true

[rain]
design = { return_period_years = 5, duration_min = 120, shape = "chicago" }

[traffic]
trips = 50000
informed = 0.3

[[close_road]]
road = "Phố A"
from = "06:30"
to = "08:00"

[[pumps]]
capacity = 0.5
"#;

    #[test]
    fn a_good_file_parses_with_its_defaults() {
        let f = ScenarioFile::parse(GOOD).unwrap();
        assert_eq!(f.city, "demo.gpkg");
        assert_eq!(f.rain_start_min, 390.0);
        assert!(f.couple && !f.worst_case);
        assert_eq!((f.trips, f.informed, f.seed), (50_000, 0.3, 1));
        assert!(
            matches!(f.rain, RainSource::Design(ref d) if d.shape == Shape::Chicago { peak_at: 0.4 })
        );
        assert_eq!(f.close_road[0].from_min, 390.0);
        assert_eq!(f.close_road[0].line, 14);
        assert_eq!(f.pumps[0].names, None);
        // A demand scale multiplies the trips; one that leaves the range is refused.
        let f = ScenarioFile::parse(&GOOD.replace("informed = 0.3", "informed = 0.3\nscale = 1.3"))
            .unwrap();
        assert_eq!(f.trips, 65_000);
        let e = ScenarioFile::parse(&GOOD.replace("informed = 0.3", "informed = 0.3\nscale = 0"))
            .unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (13, "traffic.scale"), "{e}");
    }

    #[test]
    fn errors_name_line_and_key_and_suggest_the_nearest_key() {
        let e = ScenarioFile::parse(&GOOD.replace("informed = 0.3", "informd = 0.3")).unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (12, "informd"), "{e}");
        assert!(e.message.contains("did you mean 'informed'"), "{e}");
        let e = ScenarioFile::parse(&GOOD.replace("minutes = 150", "minutes = -1")).unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, "minutes"), "{e}");
        let e = ScenarioFile::parse(&GOOD.replace("\"08:00\"", "\"25:00\"")).unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (17, "close_road.to"), "{e}");
        let e = ScenarioFile::parse(&GOOD.replace("capacity = 0.5", "capacity = 9")).unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (20, "pumps.capacity"), "{e}");
        let e = ScenarioFile::parse(&GOOD.replace("city = \"demo.gpkg\"\n", "")).unwrap_err();
        assert_eq!(e.key, "city", "{e}");
        let e = ScenarioFile::parse("city = \"x\"\nminutes = 10\n[rain]\n").unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, "rain"), "{e}");
        let e = ScenarioFile::parse("city = \nminutes = 10").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        let e = ScenarioFile::parse(
            &GOOD.replace("return_period_years = 5", "return_period_years = 0.1"),
        )
        .unwrap_err();
        assert_eq!(e.key, "rain.design", "{e}");
    }

    #[test]
    fn a_historical_day_takes_its_defaults_and_bad_values_are_named() {
        let design = GOOD.lines().find(|l| l.starts_with("design =")).unwrap();
        let with = |h: &str| ScenarioFile::parse(&GOOD.replace(design, h));
        let f =
            with("historical = { date = \"2024-07-23\", gauges = \"g.csv\", daily = \"d.csv\" }")
                .unwrap();
        let RainSource::Historical(h) = f.rain else {
            panic!("{:?}", f.rain)
        };
        assert_eq!(
            (
                h.date.as_str(),
                h.spread,
                h.storm.duration_min,
                h.storm.shape
            ),
            (
                "2024-07-23",
                Spread::Idw { power: 2.0 },
                180.0,
                Shape::Chicago { peak_at: 0.4 }
            )
        );
        for (bad, key) in [
            ("block_min = 10", "rain.historical.date"),
            ("spread = \"kriging\"", "rain.historical.spread"),
            ("power = 0", "rain.historical.power"),
            ("duration_min = 2000", "rain.historical.duration_min"),
            ("block_min = 7", "rain.historical"),
            ("shape = \"scs\"", "rain.historical.shape"),
        ] {
            let date = if key.ends_with("date") {
                "2024-7-23"
            } else {
                "2024-07-23"
            };
            let e = with(&format!(
                "historical = {{ date = \"{date}\", gauges = \"g\", daily = \"d\", {bad} }}"
            ))
            .unwrap_err();
            assert_eq!(e.key, key, "{bad}: {e}");
        }
        let e = with("historical = { date = \"2024-07-23\", gauges = \"g\" }").unwrap_err();
        assert_eq!(e.key, "daily", "{e}");
    }

    #[test]
    fn power_signals_and_response_keys_are_checked() {
        let base = "city = \"c.gpkg\"\nminutes = 60\n[rain]\ncsv = \"r.csv\"\n";
        let f = ScenarioFile::parse(base).unwrap();
        assert_eq!(f.signal_mode, SignalMode::Fixed);
        assert_eq!(f.diversions, Diversions::Proposed);
        for (extra, key, says) in [
            (
                "[[substations]]\nfrom = \"07:00\"\nto = \"06:30\"\n",
                "substations.to",
                "come back after",
            ),
            (
                "[signals]\ncontrol = \"adaptive\"\n",
                "signals.control",
                "expected 'fixed', 'actuated' or 'max-pressure'",
            ),
            (
                "[[retime_signals]]\nroad = \"A\"\ngreen_share = 0.95\n",
                "retime_signals.green_share",
                "[0.1, 0.9]",
            ),
            (
                "[response]\ndiversions = \"proposed\"\ninformed = 1\n",
                "response",
                "activated diversions only",
            ),
            (
                "[response]\ndiversions = \"maybe\"\n",
                "response.diversions",
                "'proposed' or 'activated'",
            ),
            (
                "[response]\ndiversion = \"activated\"\n",
                "diversion",
                "did you mean 'diversions'?",
            ),
        ] {
            let e = ScenarioFile::parse(&format!("{base}{extra}")).unwrap_err();
            assert_eq!(e.key, key, "{e}");
            assert!(e.message.contains(says), "{e}");
            assert!(e.line >= 5, "{e}");
        }
        let f = ScenarioFile::parse(&format!(
            "{base}[[substations]]\nfrom = \"07:00\"\n[signals]\ncontrol = \"max-pressure\"\n[response]\ndiversions = \"activated\"\n"
        ))
        .unwrap();
        assert_eq!(f.substations[0].to_min, None);
        assert_eq!(f.substations[0].names, None);
        assert_eq!(f.signal_mode, SignalMode::MaxPressure);
        assert_eq!(
            f.diversions,
            Diversions::Activated {
                close_at_m: 0.15,
                informed: 1.0
            }
        );
    }

    #[test]
    fn the_example_is_described_line_by_line_in_both_languages() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        let f =
            ScenarioFile::parse(&std::fs::read_to_string(root.join("what-if-demo.toml")).unwrap())
                .unwrap();
        let d = f.describe();
        assert_eq!(
            d.len(),
            1 + f.close_road.len()
                + f.raise_road.len()
                + f.pumps.len()
                + 1
                + f.pipes.len()
                + f.tanks.len()
                + f.lakes.len()
                + f.gates.len()
                + f.substations.len()
                + f.retime_signals.len()
                + 1
        );
        assert!(d[0].starts_with("Mưa thiết kế / Design storm"), "{d:?}");
        assert!(d.contains(&"Mất điện trạm biến áp / Substation out: Trạm biến áp E2 (mẫu) / Substation E2 (synthetic) 07:00–07:45".to_string()), "{d:?}");
        assert!(d.iter().any(|l| l.starts_with("Phân luồng được kích hoạt / Diversions activated: đóng đường từ / roads closed from 0.15 m")), "{d:?}");
        assert!(
            d.contains(
                &"Trạm bơm / Pumps P3: 100 % công suất / of capacity, từ / from 07:15".to_string()
            ),
            "{d:?}"
        );
        assert!(
            d.contains(&"Bể chứa / Retention tank: 5000 m³ tại / at MH98".to_string()),
            "{d:?}"
        );
        assert!(
            d.iter()
                .any(|l| l.starts_with("Mực nước sông") && l.ends_with("08:30 8 m")),
            "{d:?}"
        );
    }

    #[test]
    fn pipes_and_tanks_are_checked_naming_line_and_key() {
        let with = |extra: &str| ScenarioFile::parse(&format!("{GOOD}\n{extra}\n"));
        let f = with("[[tanks]]\nnode = \"J1\"\nvolume_m3 = 800").unwrap();
        assert_eq!(
            (f.tanks[0].depth_m, f.tanks[0].inlet_m, f.tanks[0].line),
            (4.0, 1.0, 22)
        );
        let f = with("[[pipes]]\nfrom = \"A\"\nto = \"B\"\ndiameter_m = 0.6").unwrap();
        assert!(
            matches!(&f.pipes[0], PipeChange::Add { roughness, length_m: None, .. } if *roughness == 0.013)
        );
        for (bad, key) in [
            (
                "[[tanks]]\nnode = \"J1\"\nvolume_m3 = -5",
                "tanks.volume_m3",
            ),
            (
                "[[tanks]]\nnode = \"J1\"\nvolume_m3 = 5\ndepth_m = 0",
                "tanks.depth_m",
            ),
            ("[[pipes]]\nscale = 9", "pipes.scale"),
            ("[[pipes]]\nscale = 2\nfrom = \"A\"", "pipes"),
            ("[[pipes]]\nfrom = \"A\"\nto = \"B\"", "pipes"),
            (
                "[[pipes]]\nfrom = \"A\"\nto = \"B\"\ndiameter_m = 0.5\nroughness = 2",
                "pipes.roughness",
            ),
        ] {
            let e = with(bad).unwrap_err();
            assert_eq!(e.key, key, "{bad}: {e}");
        }
    }

    #[test]
    fn late_pumps_and_river_stages_are_checked_naming_line_and_key() {
        let with = |extra: &str| ScenarioFile::parse(&format!("{GOOD}\n{extra}\n"));
        let e = with("[[pumps]]\nstart = \"05:00\"").unwrap_err();
        assert_eq!(e.key, "pumps.start", "{e}");
        assert!(e.message.contains("after the rain starts"), "{e}");
        let e = with("[[pumps]]\nnames = [\"P1\"]").unwrap_err();
        assert_eq!(e.key, "pumps", "{e}");
        let e = with("[river]\nstage = [[\"07:00\", 8.0], [\"06:30\", 9.0]]").unwrap_err();
        assert_eq!(e.key, "river.stage", "{e}");
        assert!(e.message.contains("times must rise"), "{e}");
        let e = with("[river]\nstage = [[\"07:00\", 1e9]]").unwrap_err();
        assert!(e.message.contains("a water level"), "{e}");
        let e = with("[river]\nstag = [[\"07:00\", 8.0]]").unwrap_err();
        assert!(e.message.contains("did you mean 'stage'?"), "{e}");
        let f = with("[river]\nstage = [[\"07:00\", 8.0]]\noutfalls = [\"O1\"]").unwrap();
        let r = f.river.unwrap();
        assert_eq!(
            (r.stage, r.outfalls),
            (vec![(420.0, 8.0)], Some(vec!["O1".to_string()]))
        );
    }

    #[test]
    fn the_example_parses_and_documents_every_key_of_the_schema() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        let example = std::fs::read_to_string(root.join("what-if-demo.toml")).unwrap();
        let f = ScenarioFile::parse(&example).unwrap();
        assert!(f.couple && f.close_road.len() == 1 && f.pumps[0].capacity == 0.0);
        assert_eq!(
            (f.pumps[1].capacity, f.pumps[1].start_min),
            (1.0, Some(435.0))
        );
        let river = f.river.as_ref().unwrap();
        assert_eq!(river.stage, [(360.0, 6.0), (420.0, 7.5), (510.0, 8.0)]);
        assert!(matches!(f.pipes[0], PipeChange::Enlarge { scale, .. } if scale == 1.5));
        assert!(
            matches!(&f.pipes[1], PipeChange::Add { from, length_m: Some(l), .. } if from == "MH98" && *l == 150.0)
        );
        assert_eq!((f.tanks[0].volume_m3, f.tanks[0].depth_m), (5000.0, 3.0));
        let schema: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("scenario.schema.json")).unwrap(),
        )
        .unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v["properties"]
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        let props = &schema["properties"];
        let mut all = keys(&schema);
        for (section, path) in [
            ("traffic", &props["traffic"]),
            ("rain", &props["rain"]),
            ("design", &props["rain"]["properties"]["design"]),
            ("historical", &props["rain"]["properties"]["historical"]),
            ("close_road", &props["close_road"]["items"]),
            ("raise_road", &props["raise_road"]["items"]),
            ("pumps", &props["pumps"]["items"]),
            ("river", &props["river"]),
            ("pipes", &props["pipes"]["items"]),
            ("tanks", &props["tanks"]["items"]),
            ("lakes", &props["lakes"]["items"]),
            ("gates", &props["gates"]["items"]),
            ("substations", &props["substations"]["items"]),
            ("signals", &props["signals"]),
            ("retime_signals", &props["retime_signals"]["items"]),
            ("response", &props["response"]),
        ] {
            let k = keys(path);
            assert!(!k.is_empty(), "{section}");
            all.extend(k);
        }
        for k in all {
            assert!(
                example.contains(k.as_str()),
                "the example does not document '{k}'"
            );
        }
        // A key outside the schema is refused.
        let e = ScenarioFile::parse(&format!("{example}\nbogus_key = 1\n")).unwrap_err();
        assert!(e.message.contains("unknown key"), "{e}");
    }
}
