//! The sensor registry: every sensor the twin takes readings from, its kind, unit, valid
//! range, QC rules, location in the city's CRS and the layer feature it is tied to. Built from
//! the city's layers ([`Registry::from_city`]) and/or a TOML registry file
//! ([`Registry::from_toml`]; errors name the file, the line of the `[[sensor]]` entry and the
//! field).
//!
//! Sensor ids made from a city: `WL-<fid>` (Environment `water_level_sensor`), `RG-<fid>`
//! (Environment `rain_gauge`), `AQ-<fid>/<measure>` (Environment `air_sensor`, one per measure),
//! `TC-<fid>` (Traffic & Road `traffic_counter`), `CAM-<fid>/count` and `CAM-<fid>/speed`
//! (Security `camera`), `PUMP-<fid>/state` and `PUMP-<fid>/flow` (Utility `pump`),
//! `GATE-<fid>` (Utility `gate`).

use geo::Centroid;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use twin_model::{City, FeatureKey, Layer};

/// What a sensor measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Rain intensity, mm/h.
    RainGauge,
    /// Water level (lake, river, manhole: m above datum) or street flood depth (m above ground).
    WaterLevel,
    /// Pump running (1) or stopped (0).
    PumpState,
    /// Pump flow, m³/s.
    PumpFlow,
    /// Gate open fraction, 0 (shut) to 1 (open).
    GateState,
    /// Traffic counter, veh/h.
    TrafficCounter,
    /// Camera vehicle count, veh/h.
    CameraCount,
    /// Camera mean speed, km/h.
    CameraSpeed,
    /// Air quality (PM2.5, PM10, NO₂ in µg/m³; noise in dBA): stored only.
    AirQuality,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 9] = [
        Kind::RainGauge,
        Kind::WaterLevel,
        Kind::PumpState,
        Kind::PumpFlow,
        Kind::GateState,
        Kind::TrafficCounter,
        Kind::CameraCount,
        Kind::CameraSpeed,
        Kind::AirQuality,
    ];

    /// Code as written in registry files.
    pub fn code(self) -> &'static str {
        match self {
            Kind::RainGauge => "rain_gauge",
            Kind::WaterLevel => "water_level",
            Kind::PumpState => "pump_state",
            Kind::PumpFlow => "pump_flow",
            Kind::GateState => "gate_state",
            Kind::TrafficCounter => "traffic_counter",
            Kind::CameraCount => "camera_count",
            Kind::CameraSpeed => "camera_speed",
            Kind::AirQuality => "air_quality",
        }
    }

    /// Vietnamese name.
    pub fn vi(self) -> &'static str {
        match self {
            Kind::RainGauge => "đo mưa",
            Kind::WaterLevel => "mực nước",
            Kind::PumpState => "trạng thái bơm",
            Kind::PumpFlow => "lưu lượng bơm",
            Kind::GateState => "trạng thái cửa cống",
            Kind::TrafficCounter => "đếm xe",
            Kind::CameraCount => "camera đếm xe",
            Kind::CameraSpeed => "camera tốc độ",
            Kind::AirQuality => "chất lượng không khí",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// Where a water-level sensor is: which decides its reference and its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    /// A lake's level, m above datum.
    Lake,
    /// A river's stage, m above datum.
    River,
    /// A manhole's or wet well's level, m above datum.
    Manhole,
    /// A street flood sensor: water depth above the ground, m.
    Street,
    /// Not a water-level sensor.
    Other,
}

impl Site {
    fn parse(s: &str) -> Option<Site> {
        Some(match s {
            "lake" => Site::Lake,
            "river" => Site::River,
            "manhole" => Site::Manhole,
            "street" => Site::Street,
            _ => return None,
        })
    }
}

/// A sensor's QC rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rules {
    /// Lowest valid value (in the sensor's unit); a flat line at this floor (no rain, a dry
    /// street, an empty road) is not a frozen sensor.
    pub min: f64,
    /// Highest valid value.
    pub max: f64,
    /// Largest change per hour between accepted readings (`None`: any).
    pub max_rate_per_h: Option<f64>,
    /// Flat line: this many identical readings in a row (0: no check) …
    pub flat_n: u32,
    /// … spanning at least this many seconds.
    pub flat_s: f64,
    /// A jump larger than this from the last accepted value is held until the next reading:
    /// if that comes back (within half the jump) it was a spike (`None`: no check).
    pub spike_jump: Option<f64>,
    /// Largest difference of the reading's anomaly (value − normal) from the median of its
    /// neighbours' anomalies (`None`: no neighbour check).
    pub neighbour_tol: Option<f64>,
}

/// One sensor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sensor {
    /// Unique id.
    pub id: String,
    /// Human name (the feature's).
    pub name: Option<String>,
    /// What it measures.
    pub kind: Kind,
    /// For water levels, where it is.
    pub site: Site,
    /// Its unit (readings in other units are converted where safe, see [`crate::units`]).
    pub unit: String,
    /// QC rules.
    pub rules: Rules,
    /// Location in the city's CRS, m.
    pub x: f64,
    /// Location in the city's CRS, m.
    pub y: f64,
    /// The layer feature it is tied to.
    #[serde(skip)]
    pub feature: Option<FeatureKey>,
    /// Reporting interval, s (for totals per interval).
    pub interval_s: Option<f64>,
    /// Normal value (a lake's or the river's normal level; 0 for depths): anomalies are
    /// compared with the neighbours'.
    pub normal: f64,
    /// The SensorThings Datastream id that reports it, if any.
    pub datastream: Option<String>,
}

/// A registry error, naming the file, line and field where there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryError(pub String);

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for RegistryError {}

/// Default rules of a kind (and site), with the unit.
///
/// Ranges: rain up to 500 mm/h (Hanoi's heaviest hours reach ~100–200 mm/h, TCVN 7957:2008
/// design storms stay well under this); a street flood depth up to 3 m; lake and manhole levels
/// within −5/+10 m of normal; the Red River's stage 0–20 m (the 1971 flood peaked at 14.8 m in
/// Hanoi); 10,000 veh/h on a counted road (4–5 lanes at ~2,000 veh/h each); 150 km/h; PM and
/// NO₂ to 2,000 µg/m³; noise 20–140 dBA.
pub fn default_rules(kind: Kind, site: Site, normal: f64) -> (String, Rules) {
    let r = |min: f64,
             max: f64,
             rate: Option<f64>,
             flat: (u32, f64),
             spike: Option<f64>,
             tol: Option<f64>| Rules {
        min,
        max,
        max_rate_per_h: rate,
        flat_n: flat.0,
        flat_s: flat.1,
        spike_jump: spike,
        neighbour_tol: tol,
    };
    let (unit, rules) = match (kind, site) {
        (Kind::RainGauge, _) => ("mm/h", r(0.0, 500.0, None, (12, 3600.0), Some(100.0), None)),
        (Kind::WaterLevel, Site::Street) => (
            "m",
            r(0.0, 3.0, Some(3.0), (10, 1800.0), Some(0.3), Some(0.3)),
        ),
        // A river or lake level may hold to the millimetre for hours in dry weather (the model
        // holds the river's stage fixed): frozen only after 12 readings over 6 hours.
        (Kind::WaterLevel, Site::River) => (
            "m",
            r(0.0, 20.0, Some(1.0), (12, 21_600.0), Some(0.3), Some(0.3)),
        ),
        (Kind::WaterLevel, Site::Manhole) => (
            "m",
            r(
                normal - 5.0,
                normal + 10.0,
                Some(10.0),
                (10, 1800.0),
                Some(1.0),
                Some(0.5),
            ),
        ),
        (Kind::WaterLevel, _) => (
            "m",
            r(
                normal - 5.0,
                normal + 10.0,
                Some(1.0),
                (12, 21_600.0),
                Some(0.3),
                Some(0.3),
            ),
        ),
        (Kind::PumpState, _) | (Kind::GateState, _) => {
            ("state", r(0.0, 1.0, None, (0, 0.0), None, None))
        }
        (Kind::PumpFlow, _) => ("m3/s", r(0.0, 100.0, None, (0, 0.0), None, None)),
        (Kind::TrafficCounter, _) | (Kind::CameraCount, _) => (
            "veh/h",
            r(0.0, 10_000.0, None, (6, 1800.0), Some(1500.0), None),
        ),
        (Kind::CameraSpeed, _) => ("km/h", r(0.0, 150.0, None, (6, 1800.0), Some(40.0), None)),
        (Kind::AirQuality, _) => ("ug/m3", r(0.0, 2000.0, None, (12, 3600.0), None, None)),
    };
    (unit.to_string(), rules)
}

/// All sensors, sorted by id.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    sensors: Vec<Sensor>,
    by_id: BTreeMap<String, usize>,
    by_datastream: BTreeMap<String, usize>,
}

impl Registry {
    /// A registry of the given sensors; duplicate ids are an error naming the id.
    pub fn new(mut sensors: Vec<Sensor>) -> Result<Registry, RegistryError> {
        sensors.sort_by(|a, b| a.id.cmp(&b.id));
        let mut reg = Registry::default();
        for (i, s) in sensors.iter().enumerate() {
            if reg.by_id.insert(s.id.clone(), i).is_some() {
                return Err(RegistryError(format!("sensor id '{}' appears twice", s.id)));
            }
            if let Some(d) = &s.datastream
                && reg.by_datastream.insert(d.clone(), i).is_some()
            {
                return Err(RegistryError(format!(
                    "datastream '{d}' is given to two sensors (the second: '{}')",
                    s.id
                )));
            }
        }
        reg.sensors = sensors;
        Ok(reg)
    }

    /// Every sensor, by id.
    pub fn sensors(&self) -> &[Sensor] {
        &self.sensors
    }

    /// Index of a sensor by id.
    pub fn index(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Index of a sensor by SensorThings Datastream id (a registered `datastream`, else the
    /// sensor whose id it is).
    pub fn index_datastream(&self, ds: &str) -> Option<usize> {
        self.by_datastream
            .get(ds)
            .copied()
            .or_else(|| self.index(ds))
    }

    /// Number of sensors.
    pub fn len(&self) -> usize {
        self.sensors.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sensors.is_empty()
    }

    /// The first sensor with this name (feature name), if any.
    pub fn by_name(&self, name: &str) -> Option<&Sensor> {
        self.sensors
            .iter()
            .find(|s| s.name.as_deref() == Some(name))
    }

    /// This registry with `other`'s sensors added; a sensor of `other` with an id already
    /// here replaces it (a registry file corrects what the layers give).
    pub fn merged(self, other: Registry) -> Result<Registry, RegistryError> {
        let mut all: BTreeMap<String, Sensor> = self
            .sensors
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        for s in other.sensors {
            all.insert(s.id.clone(), s);
        }
        Registry::new(all.into_values().collect())
    }

    /// The sensors a city's layers hold (see the module doc for kinds and ids).
    pub fn from_city(city: &City) -> Result<Registry, RegistryError> {
        let mut out = Vec::new();
        let env = city.layer(Layer::Environment);
        let rivers: Vec<_> = env
            .features()
            .iter()
            .filter(|f| f.kind == "river")
            .collect();
        for f in env.features() {
            let Some(p) = f.geometry.centroid() else {
                continue;
            };
            let key = FeatureKey {
                layer: Layer::Environment,
                id: f.id,
            };
            let mut push = |id: String,
                            kind: Kind,
                            site: Site,
                            normal: f64,
                            interval_s: Option<f64>,
                            unit: Option<&str>| {
                let (u, rules) = default_rules(kind, site, normal);
                out.push(Sensor {
                    id,
                    name: f.name.clone(),
                    kind,
                    site,
                    unit: unit.map_or(u, str::to_string),
                    rules: if unit == Some("dBA") {
                        // Noise: from a quiet night to a jet overhead.
                        Rules {
                            min: 20.0,
                            max: 140.0,
                            ..rules
                        }
                    } else {
                        rules
                    },
                    x: p.x(),
                    y: p.y(),
                    feature: Some(key),
                    interval_s,
                    normal,
                    datastream: None,
                });
            };
            match f.kind.as_str() {
                "water_level_sensor" => {
                    // A `site` attribute says where it is; else a sensor reading a network
                    // node is in a manhole or wet well, one with a ground level or an alert
                    // depth is on a street, one near a river reads the river, and the rest
                    // read lakes.
                    let site = if let Some(site) = f.text("site").and_then(Site::parse) {
                        site
                    } else if f.text("drainage_node").is_some() {
                        Site::Manhole
                    } else if f.attrs.contains_key("ground_m")
                        || f.attrs.contains_key("alert_depth_m")
                    {
                        Site::Street
                    } else if rivers
                        .iter()
                        .any(|r| twin_model::layerdata::distance(&p, &r.geometry) < 100.0)
                    {
                        Site::River
                    } else {
                        Site::Lake
                    };
                    let normal = if site == Site::Street {
                        0.0
                    } else {
                        f.num("normal_m").unwrap_or(0.0)
                    };
                    push(
                        format!("WL-{}", f.id.0),
                        Kind::WaterLevel,
                        site,
                        normal,
                        None,
                        None,
                    );
                }
                "rain_gauge" => {
                    let iv = f.num("interval_min").map(|m| m * 60.0).or(Some(300.0));
                    push(
                        format!("RG-{}", f.id.0),
                        Kind::RainGauge,
                        Site::Other,
                        0.0,
                        iv,
                        None,
                    );
                }
                "air_sensor" => {
                    let measures = f.text("measures").unwrap_or("PM2.5");
                    for m in measures.split(',').map(str::trim).filter(|m| !m.is_empty()) {
                        let unit = if m.eq_ignore_ascii_case("noise") {
                            "dBA"
                        } else {
                            "ug/m3"
                        };
                        let id = format!("AQ-{}/{}", f.id.0, m.to_ascii_lowercase());
                        push(id, Kind::AirQuality, Site::Other, 0.0, None, Some(unit));
                    }
                }
                _ => {}
            }
        }
        let point_sensors = [
            (
                Layer::TrafficRoad,
                "traffic_counter",
                vec![("TC-{}", Kind::TrafficCounter)],
            ),
            (
                Layer::Security,
                "camera",
                vec![
                    ("CAM-{}/count", Kind::CameraCount),
                    ("CAM-{}/speed", Kind::CameraSpeed),
                ],
            ),
            (
                Layer::Utility,
                "pump",
                vec![
                    ("PUMP-{}/state", Kind::PumpState),
                    ("PUMP-{}/flow", Kind::PumpFlow),
                ],
            ),
            (Layer::Utility, "gate", vec![("GATE-{}", Kind::GateState)]),
        ];
        for (layer, fkind, makes) in point_sensors {
            for f in city
                .layer(layer)
                .features()
                .iter()
                .filter(|f| f.kind == fkind)
            {
                let Some(p) = f.geometry.centroid() else {
                    continue;
                };
                for (pattern, kind) in &makes {
                    let (unit, mut rules) = default_rules(*kind, Site::Other, 0.0);
                    if *kind == Kind::PumpFlow
                        && let Some(c) = f.num("capacity_m3s")
                    {
                        // 20 % above the rated capacity: a pump above its curve's head range.
                        rules.max = 1.2 * c;
                    }
                    out.push(Sensor {
                        id: pattern.replace("{}", &f.id.0.to_string()),
                        name: f.name.clone(),
                        kind: *kind,
                        site: Site::Other,
                        unit,
                        rules,
                        x: p.x(),
                        y: p.y(),
                        feature: Some(FeatureKey { layer, id: f.id }),
                        interval_s: f.num("interval_s").or(Some(300.0)),
                        normal: 0.0,
                        datastream: None,
                    });
                }
            }
        }
        Registry::new(out)
    }

    /// Reads a registry file (see [`Registry::from_toml`]).
    pub fn read_toml(path: &Path) -> Result<Registry, RegistryError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RegistryError(format!("{}: {e}", path.display())))?;
        Registry::from_toml(&text, path)
    }

    /// Parses a TOML registry: `[[sensor]]` tables with `id`, `kind` (`rain_gauge`,
    /// `water_level`, `pump_state`, `pump_flow`, `gate_state`, `traffic_counter`,
    /// `camera_count`, `camera_speed`, `air_quality`), `x`, `y` (city CRS, m), and optionally
    /// `site` (`lake`, `river`, `manhole`, `street`; water levels, default `lake`), `name`,
    /// `unit`, `normal`, `interval_s`, `feature` (`layer:fid`), `datastream`, and the rules
    /// `min`, `max`, `max_rate_per_h`, `flat_n`, `flat_s`, `spike_jump`, `neighbour_tol`
    /// (a rule set to a negative number is switched off). Unknown keys are errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Registry, RegistryError> {
        let file = path.display();
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let doc: toml::Spanned<toml::Table> = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!("line {}: ", line_of(s.start)))
                .unwrap_or_default();
            RegistryError(format!("{file}: {line}{}", e.message()))
        })?;
        let doc = doc.into_inner();
        for k in doc.keys() {
            if k != "sensor" {
                return Err(RegistryError(format!(
                    "{file}: unknown top-level key '{k}' (expected [[sensor]] tables)"
                )));
            }
        }
        // Spans of each [[sensor]] table, by re-reading with spans kept.
        #[derive(serde::Deserialize)]
        struct Spans {
            #[serde(default)]
            sensor: Vec<toml::Spanned<toml::Table>>,
        }
        let spans: Spans =
            toml::from_str(text).map_err(|e| RegistryError(format!("{file}: {}", e.message())))?;
        let mut out = Vec::new();
        for entry in spans.sensor {
            // The span of an array-of-tables entry starts at its `[[sensor]]` header.
            let line = line_of(entry.span().start);
            out.push(sensor_entry(
                entry.get_ref(),
                &|field: &str, msg: String| {
                    RegistryError(format!(
                        "{file}: line {line} ([[sensor]]), field '{field}': {msg}"
                    ))
                },
            )?);
        }
        Registry::new(out).map_err(|e| RegistryError(format!("{file}: {e}")))
    }
}

type ErrAt<'a> = &'a dyn Fn(&str, String) -> RegistryError;

fn sensor_entry(t: &toml::Table, err: ErrAt) -> Result<Sensor, RegistryError> {
    const KEYS: [&str; 20] = [
        "id",
        "kind",
        "site",
        "x",
        "y",
        "name",
        "unit",
        "normal",
        "interval_s",
        "feature",
        "datastream",
        "min",
        "max",
        "max_rate_per_h",
        "flat_n",
        "flat_s",
        "spike_jump",
        "neighbour_tol",
        "layer",
        "fid",
    ];
    for k in t.keys() {
        if !KEYS.contains(&k.as_str()) {
            return Err(err(
                k,
                format!("unknown key (expected one of {})", KEYS.join(", ")),
            ));
        }
    }
    let text = |k: &str| -> Result<Option<String>, RegistryError> {
        match t.get(k) {
            None => Ok(None),
            Some(toml::Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(v) => Err(err(k, format!("expected a non-empty string, got {v}"))),
        }
    };
    let num = |k: &str| -> Result<Option<f64>, RegistryError> {
        match t.get(k) {
            None => Ok(None),
            Some(toml::Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
            Some(toml::Value::Integer(i)) => Ok(Some(*i as f64)),
            Some(v) => Err(err(k, format!("expected a number, got {v}"))),
        }
    };
    let id = text("id")?.ok_or_else(|| err("id", "missing".into()))?;
    let kind_s = text("kind")?.ok_or_else(|| err("kind", "missing".into()))?;
    let kind = Kind::parse(&kind_s).ok_or_else(|| {
        let all: Vec<_> = Kind::ALL.iter().map(|k| k.code()).collect();
        err(
            "kind",
            format!("unknown '{kind_s}' (expected one of {})", all.join(", ")),
        )
    })?;
    let site = match (kind, text("site")?) {
        (Kind::WaterLevel, None) => Site::Lake,
        (Kind::WaterLevel, Some(s)) => Site::parse(&s).ok_or_else(|| {
            err(
                "site",
                format!("unknown '{s}' (expected lake, river, manhole or street)"),
            )
        })?,
        (_, Some(_)) => return Err(err("site", "only water_level sensors have a site".into())),
        (_, None) => Site::Other,
    };
    let x = num("x")?.ok_or_else(|| err("x", "missing".into()))?;
    let y = num("y")?.ok_or_else(|| err("y", "missing".into()))?;
    let normal = num("normal")?.unwrap_or(0.0);
    let (default_unit, mut rules) = default_rules(kind, site, normal);
    let unit = text("unit")?.unwrap_or(default_unit);
    let opt = |v: Option<f64>, cur: Option<f64>| match v {
        Some(v) if v < 0.0 => None,
        Some(v) => Some(v),
        None => cur,
    };
    rules.min = num("min")?.unwrap_or(rules.min);
    rules.max = num("max")?.unwrap_or(rules.max);
    if rules.min >= rules.max {
        return Err(err(
            "max",
            format!("{} is not above min {}", rules.max, rules.min),
        ));
    }
    rules.max_rate_per_h = opt(num("max_rate_per_h")?, rules.max_rate_per_h);
    if let Some(n) = num("flat_n")? {
        if n < 0.0 || n.fract() != 0.0 || n > 1e6 {
            return Err(err(
                "flat_n",
                format!("expected a whole number ≥ 0, got {n}"),
            ));
        }
        rules.flat_n = n as u32;
    }
    rules.flat_s = num("flat_s")?.unwrap_or(rules.flat_s).max(0.0);
    rules.spike_jump = opt(num("spike_jump")?, rules.spike_jump);
    rules.neighbour_tol = opt(num("neighbour_tol")?, rules.neighbour_tol);
    let feature = match text("feature")? {
        None => None,
        Some(f) => {
            let (l, id) = f
                .split_once(':')
                .ok_or_else(|| err("feature", format!("'{f}' is not layer:fid")))?;
            let layer =
                Layer::parse(l).ok_or_else(|| err("feature", format!("unknown layer '{l}'")))?;
            let id: i64 = id
                .parse()
                .map_err(|_| err("feature", format!("'{id}' is not a feature id")))?;
            Some(FeatureKey {
                layer,
                id: twin_model::FeatureId(id),
            })
        }
    };
    if t.contains_key("layer") || t.contains_key("fid") {
        return Err(err(
            "layer",
            "write the feature as feature = \"layer:fid\"".into(),
        ));
    }
    let interval_s = num("interval_s")?;
    if interval_s.is_some_and(|s| s <= 0.0) {
        return Err(err("interval_s", "must be above 0".into()));
    }
    Ok(Sensor {
        id,
        name: text("name")?,
        kind,
        site,
        unit,
        rules,
        x,
        y,
        feature,
        interval_s,
        normal,
        datastream: text("datastream")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_name_file_line_and_field() {
        let p = Path::new("reg.toml");
        let e = Registry::from_toml("[[sensor]]\nid = \"a\"\nkind = \"water_level\"\nx = 0\ny = 0\n\n[[sensor]]\nid = \"b\"\nkind = \"thermometer\"\nx = 1\ny = 1\n", p)
            .unwrap_err()
            .0;
        assert!(
            e.starts_with("reg.toml: line 7 ([[sensor]]), field 'kind': unknown 'thermometer'"),
            "{e}"
        );
        let e = Registry::from_toml(
            "[[sensor]]\nid = \"a\"\nkind = \"water_level\"\nx = \"far\"\ny = 0\n",
            p,
        )
        .unwrap_err()
        .0;
        assert!(
            e.contains("line 1 ([[sensor]]), field 'x': expected a number"),
            "{e}"
        );
        let e = Registry::from_toml(
            "[[sensor]]\nid = \"a\"\nkind = \"rain_gauge\"\nx = 0\ny = 0\ncolour = 1\n",
            p,
        )
        .unwrap_err()
        .0;
        assert!(e.contains("field 'colour': unknown key"), "{e}");
        let e = Registry::from_toml("[[sensor]]\nid = \"a\"\nkind = \"rain_gauge\"\nx = 0\ny = 0\n[[sensor]]\nid = \"a\"\nkind = \"rain_gauge\"\nx = 0\ny = 0\n", p).unwrap_err().0;
        assert!(e.contains("'a' appears twice"), "{e}");
        let e = Registry::from_toml("[[sensor]\n", p).unwrap_err().0;
        assert!(e.starts_with("reg.toml: line 1"), "{e}");
    }

    #[test]
    fn toml_overrides_defaults() {
        let r = Registry::from_toml(
            "[[sensor]]\nid = \"L1\"\nkind = \"water_level\"\nsite = \"street\"\nx = 10\ny = 20\nunit = \"m\"\nmax = 2.5\nspike_jump = -1\ndatastream = \"42\"\nfeature = \"environment:7\"\n",
            Path::new("r.toml"),
        )
        .unwrap();
        let s = &r.sensors()[0];
        assert_eq!(
            (s.site, s.rules.max, s.rules.spike_jump),
            (Site::Street, 2.5, None)
        );
        assert_eq!(r.index_datastream("42"), Some(0));
        assert_eq!(s.feature.unwrap().id.0, 7);
    }
}
