//! Reads a scenario's output folder for replay: `DIR/playback/` (format `twin-playback`
//! version 1, written by `twin scenario run`) and, beside it, `gauges.csv` (hotspot and sensor
//! depths) and `alerts.json` (the thresholds the operations centre watches).

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use twin_model::Raster;

/// The only playback format version this app reads.
pub const FORMAT_VERSION: u64 = 1;

/// A road feature over one traffic interval (`roads.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct RoadState {
    /// Interval start, minutes from the rain's start.
    pub begin_min: f64,
    /// Interval end, minutes.
    pub end_min: f64,
    /// Feature id in the `traffic_road` layer.
    pub feature: i64,
    /// Space-mean speed, km/h; `None` when no vehicle left the road in the interval.
    pub speed_kmh: Option<f64>,
    /// Every link of the road closed at the interval's start.
    pub closed: bool,
    /// Vehicles that entered it.
    pub vehicles: u32,
}

/// A vehicle's class (the traffic model's).
pub use twin_traffic::demand::VehicleClass;

/// One vehicle at one sample time (the engine's record; positions in the city's CRS).
pub use twin_engine::playback::VehiclePosition as Vehicle;

/// Every vehicle class, in `vehicles.bin` code order.
pub const VEHICLE_CLASSES: [VehicleClass; 4] = [
    VehicleClass::Motorbike,
    VehicleClass::Car,
    VehicleClass::Bus,
    VehicleClass::Truck,
];

/// The class of a `vehicles.bin` code (0 motorbike, 1 car, 2 bus, 3 truck).
pub fn vehicle_class(code: u8) -> Option<VehicleClass> {
    VEHICLE_CLASSES.get(code as usize).copied()
}

/// The vehicles on the network at one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleFrame {
    /// Minutes from the rain's start.
    pub minute: f32,
    /// Every vehicle on a link or queued.
    pub vehicles: Vec<Vehicle>,
}

/// A gauge's (hotspot's, sensor's) depth over time (`gauges.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeSeries {
    /// Gauge name.
    pub name: String,
    /// Position in the city's CRS.
    pub x: f64,
    /// Position in the city's CRS.
    pub y: f64,
    /// Minutes from the rain's start.
    pub minutes: Vec<f64>,
    /// Depth, m, at each minute.
    pub depth_m: Vec<f64>,
}

impl GaugeSeries {
    /// Depth at `minute`: the last sample at or before it (0 before the first).
    pub fn depth_at(&self, minute: f64) -> f64 {
        step_at(&self.minutes, minute).map_or(0.0, |i| self.depth_m[i])
    }
}

/// One alert of `alerts.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEntry {
    /// Kind in snake case (`hotspot_depth`, `road_closed`, …).
    pub kind: String,
    /// What it is about.
    pub subject: String,
    /// Clock time first crossed, minutes after midnight.
    pub clock_min: Option<f64>,
    /// The value that crossed.
    pub value: f64,
}

/// A scenario run opened for replay.
#[derive(Debug, Clone)]
pub struct Run {
    /// The run's folder.
    pub dir: PathBuf,
    /// `EPSG:n` of the coordinates.
    pub crs: String,
    /// Clock time of minute 0, minutes after midnight.
    pub start_clock_min: f64,
    /// Length of the run, minutes.
    pub minutes: f64,
    /// Depth frames (minute, depth above the water at the start, m), in time order.
    pub depth: Vec<(f64, Raster)>,
    /// Road states per interval, in file order.
    pub roads: Vec<RoadState>,
    /// Vehicle frames in time order.
    pub vehicles: Vec<VehicleFrame>,
    /// Pump flows: name → flow (m³/s) at the end of every minute 1, 2, ….
    pub pumps: BTreeMap<String, Vec<f64>>,
    /// Gauges (hotspots and sensors).
    pub gauges: Vec<GaugeSeries>,
    /// Alerts, in file order.
    pub alerts: Vec<AlertEntry>,
    /// Depth from which a hotspot counts as flooded, m (alerts.json's threshold, else 0.3).
    pub hotspot_depth_m: f64,
}

/// Index of the last of the sorted `times` at or before `t`.
pub fn step_at(times: &[f64], t: f64) -> Option<usize> {
    let n = times.partition_point(|&x| x <= t + 1e-9);
    n.checked_sub(1)
}

/// Parses `HH:MM` into minutes after midnight.
pub fn parse_clock(s: &str) -> Option<f64> {
    let (h, m) = s.split_once(':')?;
    Some(h.trim().parse::<f64>().ok()? * 60.0 + m.trim().parse::<f64>().ok()?)
}

/// `HH:MM` of minutes after midnight (wrapping at 24 h).
pub fn clock(min: f64) -> String {
    let m = (min.round() as i64).rem_euclid(24 * 60);
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Parses `roads.csv`.
pub fn parse_roads(text: &str) -> Result<Vec<RoadState>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 6 {
            bail!(
                "roads.csv line {}: expected 6 fields, found {}",
                i + 1,
                f.len()
            );
        }
        let num = |s: &str| -> Result<f64> {
            s.trim()
                .parse::<f64>()
                .with_context(|| format!("roads.csv line {}: bad number {s:?}", i + 1))
        };
        out.push(RoadState {
            begin_min: num(f[0])?,
            end_min: num(f[1])?,
            feature: num(f[2])? as i64,
            speed_kmh: if f[3].trim().is_empty() {
                None
            } else {
                Some(num(f[3])?)
            },
            closed: f[4].trim() == "1",
            vehicles: num(f[5])? as u32,
        });
    }
    Ok(out)
}

/// Parses `vehicles.bin`.
pub fn parse_vehicles(bin: &[u8]) -> Result<Vec<VehicleFrame>> {
    if bin.len() < 16 || &bin[..8] != b"TWINVEH1" {
        bail!("vehicles.bin: not a TWINVEH1 file");
    }
    let u32_at = |o: usize| -> Result<u32> {
        bin.get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
            .context("vehicles.bin: cut short")
    };
    let frames = u32_at(12)? as usize;
    let mut o = 16;
    let mut out = Vec::with_capacity(frames);
    for _ in 0..frames {
        let minute = f32::from_bits(u32_at(o)?);
        let n = u32_at(o + 4)? as usize;
        o += 8;
        if bin.len() < o + 16 * n {
            bail!("vehicles.bin: cut short");
        }
        let mut vehicles = Vec::with_capacity(n);
        for _ in 0..n {
            let class = vehicle_class(bin[o + 4])
                .with_context(|| format!("vehicles.bin: unknown class {}", bin[o + 4]))?;
            vehicles.push(Vehicle {
                trip: u32_at(o)?,
                class,
                x: f32::from_bits(u32_at(o + 8)?),
                y: f32::from_bits(u32_at(o + 12)?),
            });
            o += 16;
        }
        out.push(VehicleFrame { minute, vehicles });
    }
    Ok(out)
}

/// Parses `pumps.csv` into name → flow at minutes 1, 2, ….
pub fn parse_pumps(text: &str) -> Result<BTreeMap<String, Vec<f64>>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 3 {
            continue;
        }
        let flow: f64 = f[2]
            .trim()
            .parse()
            .with_context(|| format!("pumps.csv line {}", i + 1))?;
        out.entry(f[1].to_string()).or_default().push(flow);
    }
    Ok(out)
}

/// Splits one CSV line, honouring double quotes.
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().expect("one field").push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().expect("one field").push(c),
        }
    }
    out
}

/// Parses `gauges.csv` (`time_s,gauge,x,y,depth_m,level_m`).
pub fn parse_gauges(text: &str) -> Result<Vec<GaugeSeries>> {
    let mut out: Vec<GaugeSeries> = Vec::new();
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f = csv_fields(line);
        if f.len() < 5 {
            continue;
        }
        let num = |k: usize| -> Result<f64> {
            f[k].trim()
                .parse()
                .with_context(|| format!("gauges.csv line {}", i + 1))
        };
        let k = *at.entry(f[1].clone()).or_insert_with(|| {
            out.push(GaugeSeries {
                name: f[1].clone(),
                x: f[2].trim().parse().unwrap_or(0.0),
                y: f[3].trim().parse().unwrap_or(0.0),
                minutes: Vec::new(),
                depth_m: Vec::new(),
            });
            out.len() - 1
        });
        out[k].minutes.push(num(0)? / 60.0);
        out[k].depth_m.push(num(4)?);
    }
    Ok(out)
}

/// Parses `alerts.json`: the alerts and the hotspot threshold.
pub fn parse_alerts(text: &str) -> Result<(Vec<AlertEntry>, Option<f64>)> {
    let v: serde_json::Value = serde_json::from_str(text).context("alerts.json")?;
    let th = v["thresholds"]["hotspot_depth_m"].as_f64();
    let list = v["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| AlertEntry {
                    kind: x["kind"].as_str().unwrap_or("").to_string(),
                    subject: x["subject"].as_str().unwrap_or("").to_string(),
                    clock_min: x["clock_min"].as_f64(),
                    value: x["value"].as_f64().unwrap_or(0.0),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((list, th))
}

fn read_text(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).with_context(|| p.display().to_string())
}

impl Run {
    /// Opens `dir` (a `twin scenario run` output folder holding `playback/`).
    pub fn open(dir: &Path) -> Result<Run> {
        let pb = dir.join("playback");
        let index: serde_json::Value = serde_json::from_str(&read_text(&pb.join("index.json"))?)
            .with_context(|| format!("{}: not JSON", pb.join("index.json").display()))?;
        if index["format"].as_str() != Some("twin-playback") {
            bail!(
                "{}: không phải thư mục phát lại twin-playback / not a twin-playback folder",
                pb.display()
            );
        }
        let version = index["version"].as_u64().unwrap_or(0);
        if version != FORMAT_VERSION {
            bail!(
                "{}: phiên bản {version} không được hỗ trợ (cần {FORMAT_VERSION}) / version {version} not supported (needs {FORMAT_VERSION})",
                pb.display()
            );
        }
        let mut depth = Vec::new();
        for f in index["depth"]["frames"].as_array().into_iter().flatten() {
            let minute = f["minute"]
                .as_f64()
                .context("index.json: frame without minute")?;
            let file = f["file"]
                .as_str()
                .context("index.json: frame without file")?;
            let r = twin_io::raster::read_raster(&pb.join(file))
                .with_context(|| pb.join(file).display().to_string())?;
            depth.push((minute, r.raster));
        }
        depth.sort_by(|a, b| a.0.total_cmp(&b.0));
        let roads = match index["roads"].as_str() {
            Some(f) => parse_roads(&read_text(&pb.join(f))?)?,
            None => Vec::new(),
        };
        let vehicles = match index["vehicles"].as_str() {
            Some(f) => {
                let p = pb.join(f);
                parse_vehicles(&std::fs::read(&p).with_context(|| p.display().to_string())?)?
            }
            None => Vec::new(),
        };
        let pumps = match index["pumps"].as_str() {
            Some(f) => parse_pumps(&read_text(&pb.join(f))?)?,
            None => BTreeMap::new(),
        };
        let gauges = match std::fs::read_to_string(dir.join("gauges.csv")) {
            Ok(t) => parse_gauges(&t)?,
            Err(_) => Vec::new(),
        };
        let (alerts, th) = match std::fs::read_to_string(dir.join("alerts.json")) {
            Ok(t) => parse_alerts(&t)?,
            Err(_) => (Vec::new(), None),
        };
        Ok(Run {
            dir: dir.to_path_buf(),
            crs: index["crs"].as_str().unwrap_or("").to_string(),
            start_clock_min: index["start_clock"]
                .as_str()
                .and_then(parse_clock)
                .unwrap_or(0.0),
            minutes: index["minutes"].as_f64().unwrap_or(0.0),
            depth,
            roads,
            vehicles,
            pumps,
            gauges,
            alerts,
            hotspot_depth_m: th.unwrap_or(0.3),
        })
    }

    /// The depth frame shown at `minute`: the last frame at or before it (that minute's water,
    /// not the run's maximum).
    pub fn depth_at(&self, minute: f64) -> Option<&(f64, Raster)> {
        let times: Vec<f64> = self.depth.iter().map(|d| d.0).collect();
        step_at(&times, minute).map(|i| &self.depth[i])
    }

    /// The deepest water of any frame, cell by cell.
    pub fn max_depth(&self) -> Option<Raster> {
        let mut it = self.depth.iter();
        let mut out = it.next()?.1.clone();
        for (_, r) in it {
            for (o, v) in out.data.iter_mut().zip(&r.data) {
                *o = o.max(*v);
            }
        }
        Some(out)
    }

    /// Every road's state over the interval holding `minute`.
    pub fn roads_at(&self, minute: f64) -> BTreeMap<i64, &RoadState> {
        self.roads
            .iter()
            .filter(|r| r.begin_min <= minute && minute < r.end_min)
            .map(|r| (r.feature, r))
            .collect()
    }

    /// One road's states through the run.
    pub fn road_history(&self, feature: i64) -> Vec<&RoadState> {
        self.roads.iter().filter(|r| r.feature == feature).collect()
    }

    /// The vehicles at `minute`: the last frame at or before it.
    pub fn vehicles_at(&self, minute: f64) -> Option<&VehicleFrame> {
        let times: Vec<f64> = self.vehicles.iter().map(|f| f.minute as f64).collect();
        step_at(&times, minute).map(|i| &self.vehicles[i])
    }

    /// Each pump's flow at `minute` (the flow at the end of the minute in progress), m³/s.
    pub fn pumps_at(&self, minute: f64) -> Vec<(&str, f64)> {
        let k = (minute.ceil().max(1.0) as usize) - 1;
        self.pumps
            .iter()
            .map(|(n, f)| {
                (
                    n.as_str(),
                    f.get(k.min(f.len().saturating_sub(1)))
                        .copied()
                        .unwrap_or(0.0),
                )
            })
            .collect()
    }

    /// Network speed at each traffic interval: the mean of the roads' speeds weighted by the
    /// vehicles that entered them (interval midpoint, km/h).
    pub fn network_speed_series(&self) -> Vec<(f64, f64)> {
        let mut acc: BTreeMap<i64, (f64, f64, f64)> = BTreeMap::new();
        for r in &self.roads {
            if let Some(s) = r.speed_kmh {
                let w = r.vehicles.max(1) as f64;
                let e = acc.entry((r.begin_min * 1000.0).round() as i64).or_insert((
                    0.5 * (r.begin_min + r.end_min),
                    0.0,
                    0.0,
                ));
                e.1 += s * w;
                e.2 += w;
            }
        }
        acc.values()
            .filter(|(_, _, w)| *w > 0.0)
            .map(|(m, sw, w)| (*m, sw / w))
            .collect()
    }

    /// Network speed at `minute` (the interval holding it), km/h.
    pub fn network_speed_at(&self, minute: f64) -> Option<f64> {
        let (mut sw, mut w) = (0.0, 0.0);
        for r in self.roads_at(minute).values() {
            if let Some(s) = r.speed_kmh {
                let k = r.vehicles.max(1) as f64;
                sw += s * k;
                w += k;
            }
        }
        (w > 0.0).then(|| sw / w)
    }

    /// Clock time (minutes after midnight) of a playback minute.
    pub fn clock_of(&self, minute: f64) -> f64 {
        self.start_clock_min + minute
    }

    /// The last minute there is anything to show.
    pub fn end_minute(&self) -> f64 {
        let d = self.depth.last().map_or(0.0, |d| d.0);
        let r = self.roads.iter().map(|r| r.end_min).fold(0.0, f64::max);
        self.minutes.max(d).max(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roads_csv_parses_empty_speed_and_closed_flags() {
        let r = parse_roads(
            "begin_min,end_min,feature,speed_kmh,closed,vehicles\n0,5,12,31.5,0,7\n5,10,12,,1,0\n",
        )
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].speed_kmh, Some(31.5));
        assert!(!r[0].closed);
        assert_eq!(r[1].speed_kmh, None);
        assert!(r[1].closed);
        assert_eq!(r[1].feature, 12);
        assert!(parse_roads("h\n1,2,3\n").is_err());
    }

    #[test]
    fn vehicles_bin_round_trip_and_truncation() {
        let mut b = b"TWINVEH1".to_vec();
        b.extend(60u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend(2.0f32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend(9u32.to_le_bytes());
        b.extend([2, 0, 0, 0]);
        b.extend(100.5f32.to_le_bytes());
        b.extend(200.25f32.to_le_bytes());
        let f = parse_vehicles(&b).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].minute, 2.0);
        assert_eq!(
            f[0].vehicles[0],
            Vehicle {
                trip: 9,
                class: VehicleClass::Bus,
                x: 100.5,
                y: 200.25
            }
        );
        assert!(parse_vehicles(&b[..b.len() - 1]).is_err());
        assert!(parse_vehicles(b"NOTAFILE00000000").is_err());
    }

    #[test]
    fn gauges_alerts_pumps_and_clock() {
        let g = parse_gauges(
            "time_s,gauge,x,y,depth_m,level_m\n0,\"Ngã tư, A\",1,2,0.0,5\n60,\"Ngã tư, A\",1,2,0.4,5.4\n",
        )
        .unwrap();
        assert_eq!(g[0].name, "Ngã tư, A");
        assert_eq!(g[0].depth_at(0.5), 0.0);
        assert_eq!(g[0].depth_at(1.0), 0.4);
        let (a, th) = parse_alerts(
            r#"{"thresholds":{"hotspot_depth_m":0.25},"alerts":[{"kind":"road_closed","subject":"Phố Huế","clock_min":425.0,"value":0.4,"threshold":0.3}]}"#,
        )
        .unwrap();
        assert_eq!(th, Some(0.25));
        assert_eq!(a[0].subject, "Phố Huế");
        let p =
            parse_pumps("minute,pump,flow_m3s\n1,P1,0.0\n1,P2,1.5\n2,P1,2.0\n2,P2,1.0\n").unwrap();
        assert_eq!(p["P1"], vec![0.0, 2.0]);
        assert_eq!(parse_clock("07:05"), Some(425.0));
        assert_eq!(clock(425.0), "07:05");
        assert_eq!(step_at(&[0.0, 5.0, 10.0], 7.0), Some(1));
        assert_eq!(step_at(&[0.0, 5.0, 10.0], -1.0), None);
    }
}
