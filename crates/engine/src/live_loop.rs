//! The live loop: the live twin ([`crate::live::LiveTwin`]) kept current from the sensor
//! store, period by period, with rolling forecasts and alerts.
//!
//! Time: model time 0 is a clock time (`start_ms`); the loop closes the period
//! (t, t + period] once the clock has passed its end by a grace time (late readings). Closing
//! a period reads the accepted readings of that period back from the store, so what a period
//! sees is what was stored, whatever the order and batching of their arrival:
//! - rain gauges: the mean of each gauge's readings (mm/h) drives the period's rain
//!   (inverse distance weighting between gauges); a period with no rain reading keeps the
//!   last field;
//! - street flood sensors: each one's last reading nudges the depths around it;
//! - lake-level sensors: each one's last reading sets its lake's level;
//! - pump and gate state sensors: each one's last reading holds its pump (off at 0, else
//!   released to its own start and stop depths) or gate (at the opening read) in the drainage
//!   network until a later reading says otherwise; pump flows are stored, not applied.
//!
//! Every `forecast_every` the loop forecasts to the horizon from the state: under the rain
//! forecast given (corrected by the gauges' mean-field bias so far), or else under
//! persistence (the last period's mean gauge intensity for `persist` seconds, then none).
//! Alerts, each once until it changes: a flood forecast at a watched place (with its lead
//! time), its end, a flood observed by a street sensor (with the lead time the forecast gave),
//! a road forecast closed (depth ≥ 0.3 m, Pregnolato et al. 2017), a sensor that failed or
//! went silent.
//!
//! What a period made (its record, the forecast, the alerts) and the checkpoint of the loop
//! after it are committed to the store in one transaction, so a loop killed at any moment
//! restarts from its last period with nothing made twice and, the readings being in the store,
//! no accepted reading lost.

use crate::coupled::CoupledError;
use crate::live::{
    DepthObs, Forecast, LevelObs, LiveTwin, RainObs, mean_field_bias, mean_intensity,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use twin_model::City;
use twin_sensors::qc::{ModelView, SensorReport, Status};
use twin_sensors::registry::{Kind, Registry, Sensor, Site};
use twin_sensors::store::{Store, StoreError};

/// A live loop error.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The simulation failed.
    #[error(transparent)]
    Model(#[from] CoupledError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The loop's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveConfig {
    /// Length of a period, s.
    pub period_s: f64,
    /// Time between forecasts, s (a multiple of the period).
    pub forecast_every_s: f64,
    /// How far each forecast looks ahead, s.
    pub horizon_s: f64,
    /// How long after a period's end the loop waits for late readings, s.
    pub grace_s: f64,
    /// Flood alert depth at a watched place, m.
    pub alert_m: f64,
    /// The rain forecast, (s from model time 0, mm/h) steps, uniform over the city.
    pub forecast_rain: Option<Vec<(f64, f64)>>,
    /// Without a rain forecast: how long the last period's rain is assumed to go on, s.
    pub persist_s: f64,
    /// Ensemble members run besides the forecast (fewer than 2: none), each with the
    /// forecast's rain scaled by one of `members` factors evenly stratified over `rain_spread`.
    #[serde(default)]
    pub members: usize,
    /// Lowest and highest rain factor of the ensemble's members.
    #[serde(default = "default_rain_spread")]
    pub rain_spread: (f64, f64),
    /// With an ensemble, a flood is alerted where at least this share of the members reach
    /// the alert depth.
    #[serde(default = "default_alert_probability")]
    pub alert_probability: f64,
}

fn default_rain_spread() -> (f64, f64) {
    (0.5, 1.5)
}

fn default_alert_probability() -> f64 {
    0.5
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            period_s: 300.0,
            forecast_every_s: 300.0,
            horizon_s: 7200.0,
            grace_s: 60.0,
            alert_m: 0.3,
            forecast_rain: None,
            persist_s: 1800.0,
            members: 0,
            rain_spread: default_rain_spread(),
            alert_probability: default_alert_probability(),
        }
    }
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A watched place is forecast to reach the alert depth.
    FloodForecast,
    /// A standing flood forecast no longer holds.
    FloodCleared,
    /// A street sensor reads the alert depth.
    FloodObserved,
    /// A road is forecast closed by water.
    RoadClosureForecast,
    /// A sensor's readings keep failing QC.
    SensorFailed,
    /// A sensor has sent nothing for too long.
    SensorSilent,
    /// A pump reports stopped while the water in its wet well calls for it.
    PumpStopped,
}

impl AlertKind {
    /// Code.
    pub fn code(self) -> &'static str {
        match self {
            AlertKind::FloodForecast => "flood_forecast",
            AlertKind::FloodCleared => "flood_cleared",
            AlertKind::FloodObserved => "flood_observed",
            AlertKind::RoadClosureForecast => "road_closure_forecast",
            AlertKind::SensorFailed => "sensor_failed",
            AlertKind::SensorSilent => "sensor_silent",
            AlertKind::PumpStopped => "pump_stopped",
        }
    }

    /// Vietnamese label.
    pub fn vi(self) -> &'static str {
        match self {
            AlertKind::FloodForecast => "Dự báo ngập",
            AlertKind::FloodCleared => "Hết dự báo ngập",
            AlertKind::FloodObserved => "Đang ngập",
            AlertKind::RoadClosureForecast => "Dự báo cấm đường do ngập",
            AlertKind::SensorFailed => "Cảm biến hỏng",
            AlertKind::SensorSilent => "Cảm biến mất tín hiệu",
            AlertKind::PumpStopped => "Trạm bơm dừng khi cần bơm",
        }
    }

    /// English label.
    pub fn en(self) -> &'static str {
        match self {
            AlertKind::FloodForecast => "Flood forecast",
            AlertKind::FloodCleared => "Flood forecast cleared",
            AlertKind::FloodObserved => "Flooding observed",
            AlertKind::RoadClosureForecast => "Road closure forecast",
            AlertKind::SensorFailed => "Sensor failed",
            AlertKind::SensorSilent => "Sensor silent",
            AlertKind::PumpStopped => "Pump stopped when needed",
        }
    }
}

/// An alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// What it is about.
    pub kind: AlertKind,
    /// The place, road or sensor.
    pub place: String,
    /// When it was raised (the state's time), ms since the epoch.
    pub issued_ms: i64,
    /// When the event is expected (forecasts) or happened (observations), ms.
    pub at_ms: Option<i64>,
    /// Lead time, minutes: for a forecast, from now to the event; for an observed flood,
    /// from the first forecast of it to the observation (`None`: none forecast it).
    pub lead_min: Option<f64>,
    /// Depth (m) for floods and roads; 0 for sensors.
    pub value: f64,
}

/// What closing one period did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodRecord {
    /// The period's end, s from model time 0.
    pub end_s: f64,
    /// Its end, ms since the epoch.
    pub end_ms: i64,
    /// Rain gauges that reported, and their mean intensity, mm/h.
    pub rain_gauges: usize,
    /// Mean of the gauges' intensities, mm/h (`None`: none reported).
    pub rain_mm_h: Option<f64>,
    /// Street sensors assimilated, and the RMS of their innovations, m.
    pub depth_sensors: usize,
    /// RMS innovation of the street sensors, m.
    pub depth_rms_m: f64,
    /// Lake- and river-level sensors assimilated.
    pub level_sensors: usize,
    /// Wet-well and manhole level sensors the network is drawn toward.
    #[serde(default)]
    pub node_sensors: usize,
    /// RMS innovation of the wet-well and manhole level sensors, m.
    #[serde(default)]
    pub node_rms_m: f64,
    /// Pumps and gates whose reported state the network now holds.
    pub links_held: usize,
    /// Water added by the corrections, m³ (on the surface at the period's end, and in the
    /// network by the nodes drawn toward readings over the period).
    pub assimilated_m3: f64,
    /// Wall-clock seconds the period took to apply (readings to updated state).
    pub apply_wall_s: f64,
    /// The state at the period's end, as the wall shows it (absent from records written
    /// before these fields existed).
    #[serde(default)]
    pub now: NowRecord,
    /// The traffic at the period's end, where the loop runs traffic
    /// ([`LiveLoop::with_traffic`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<crate::live_traffic::TrafficNow>,
}

/// The city's state at a period's end: what the wall's tiles and hotspot list show.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NowRecord {
    /// Deepest water on the grid above the water at the start, m.
    pub max_depth_m: f64,
    /// The depth at which a watched street place is flooded (the alert depth), m.
    pub alert_m: f64,
    /// Every watched place's water above its start, m.
    pub places: Vec<PlaceNow>,
    /// Roads the water closes now (deeper than the closure depth where they run), by name.
    pub roads_closed: Vec<String>,
    /// The same roads' feature ids in the Traffic & Road layer (one name may cover several).
    #[serde(default)]
    pub road_ids: Vec<i64>,
    /// Pumps with a flow now.
    pub pumps_running: usize,
    /// Pumps in the network.
    pub pumps_total: usize,
}

/// A watched place now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceNow {
    /// Its name.
    pub name: String,
    /// Easting, m (the city's CRS).
    pub x: f64,
    /// Northing, m.
    pub y: f64,
    /// Water above its level at the start, m.
    pub depth_m: f64,
    /// A street or hotspot (true), or a lake or the river, which rise by design (false).
    pub street: bool,
}

/// One watched place in a forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceForecast {
    /// Its name.
    pub name: String,
    /// Deepest water forecast, m.
    pub peak_m: f64,
    /// When, ms since the epoch.
    pub peak_ms: i64,
    /// When it first reaches the alert depth, ms (`None`: not within the horizon); with an
    /// ensemble, when the share of members that have reached it first comes to the alert
    /// probability.
    pub alert_ms: Option<i64>,
    /// Whether floods are alerted here (streets and hotspots; not lakes and the river).
    pub alerted: bool,
    /// With an ensemble: the share of its members that reach the alert depth.
    #[serde(default)]
    pub p_alert: Option<f64>,
    /// With an ensemble: the lowest and highest of its members' peaks, m.
    #[serde(default)]
    pub peak_range_m: Option<(f64, f64)>,
}

/// A forecast as kept and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRecord {
    /// Issued at (the state's time), ms since the epoch.
    pub issued_ms: i64,
    /// Until, ms.
    pub until_ms: i64,
    /// The rain it assumed: `forecast×BIAS` or `persistence`.
    pub rain: String,
    /// Mean-field bias applied to the rain forecast.
    pub bias: f64,
    /// Ensemble members run besides it (0: none).
    #[serde(default)]
    pub members: usize,
    /// Every watched place.
    pub places: Vec<PlaceForecast>,
    /// Roads forecast closed (depth ≥ 0.3 m): name or feature id.
    pub roads_closed: Vec<String>,
    /// Wall-clock seconds the forecast took.
    pub wall_s: f64,
}

/// What [`LiveLoop::close_period`] made.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    /// The period.
    pub period: PeriodRecord,
    /// The forecast, if one was due.
    pub forecast: Option<ForecastRecord>,
    /// Alerts raised.
    pub alerts: Vec<Alert>,
}

/// The live loop's state (all of it goes into its checkpoint).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveLoop {
    twin: LiveTwin,
    cfg: LiveConfig,
    start_ms: i64,
    /// Periods closed so far.
    periods: u64,
    next_forecast_s: f64,
    /// Places with a standing flood forecast: name → ms it was first forecast.
    standing: BTreeMap<String, i64>,
    /// Places (street sensors' names, as the forecast names them) whose sensor has read the
    /// alert depth: their flood forecast is never cleared.
    observed: BTreeSet<String>,
    /// Roads alerted closed.
    roads_alerted: BTreeSet<String>,
    /// Each sensor's status at the last period.
    status: BTreeMap<String, String>,
    observed_mm: f64,
    forecast_mm: f64,
    last_rain_mm_h: f64,
    /// What the model expects each water-level sensor to read: (value, tolerance).
    expected: BTreeMap<String, (f64, f64)>,
    /// What the last forecast gave each watched place for the end of the next period, m.
    ahead: BTreeMap<String, f64>,
    /// The network's links whose state sensors report: name → setting held (`None`:
    /// released to its own rules).
    held: BTreeMap<String, Option<f64>>,
    /// The traffic, if the loop runs it.
    traffic: Option<crate::live_traffic::LiveTraffic>,
    /// The network node each manhole level sensor reads ([`manhole_nodes`]), found once per
    /// process.
    #[serde(skip)]
    manholes: Option<BTreeMap<String, String>>,
}

impl LiveLoop {
    /// A loop on a twin at model time 0 = `start_ms`.
    pub fn new(twin: LiveTwin, cfg: LiveConfig, start_ms: i64) -> LiveLoop {
        LiveLoop {
            twin,
            next_forecast_s: cfg.forecast_every_s,
            cfg,
            start_ms,
            periods: 0,
            standing: BTreeMap::new(),
            observed: BTreeSet::new(),
            roads_alerted: BTreeSet::new(),
            status: BTreeMap::new(),
            observed_mm: 0.0,
            forecast_mm: 0.0,
            last_rain_mm_h: 0.0,
            expected: BTreeMap::new(),
            ahead: BTreeMap::new(),
            held: BTreeMap::new(),
            traffic: None,
            manholes: None,
        }
    }

    /// The loop running `traffic` beside the water: each period the traffic runs with the
    /// roads the water closes, and the traffic counters' and cameras' counts scale its
    /// demand ([`crate::live_traffic`]).
    pub fn with_traffic(mut self, traffic: crate::live_traffic::LiveTraffic) -> LiveLoop {
        self.traffic = Some(traffic);
        self
    }

    /// The traffic, if the loop runs it.
    pub fn traffic(&self) -> Option<&crate::live_traffic::LiveTraffic> {
        self.traffic.as_ref()
    }

    /// The twin.
    pub fn twin(&self) -> &LiveTwin {
        &self.twin
    }

    /// The settings.
    pub fn config(&self) -> &LiveConfig {
        &self.cfg
    }

    /// Model time 0, ms since the epoch.
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// The state's time: the end of the last period closed, s from model time 0 (the twin
    /// itself stands at the end of its step across it).
    pub fn now_s(&self) -> f64 {
        self.periods as f64 * self.cfg.period_s
    }

    /// The state's time, ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.start_ms + (self.now_s() * 1000.0).round() as i64
    }

    /// Whether the next period can be closed when the clock reads `clock_ms`.
    pub fn due(&self, clock_ms: i64) -> bool {
        let end = self.now_ms() + (self.cfg.period_s * 1000.0).round() as i64;
        !self.at_end() && clock_ms >= end + (self.cfg.grace_s * 1000.0).round() as i64
    }

    /// Whether the next period can be closed now: [`LiveLoop::due`] at QC's clock, and no
    /// reading within it held by QC's spike check that the sensor's next reading (due within
    /// its interval, default 5 min, and the grace time) may still settle, so that what a
    /// period holds does not depend on how fast the readings arrived.
    pub fn ready(&self, qc: &twin_sensors::Qc, reg: &Registry) -> bool {
        let now = qc.now_ms();
        if !self.due(now) {
            return false;
        }
        let end = self.now_ms() + (self.cfg.period_s * 1000.0).round() as i64;
        !qc.held().iter().any(|d| {
            let every = d
                .sensor
                .and_then(|k| reg.sensors().get(k))
                .and_then(|s| s.interval_s)
                .unwrap_or(300.0);
            d.time_ms <= end
                && now < d.time_ms + ((every + self.cfg.grace_s) * 1000.0).round() as i64
        })
    }

    /// Whether the twin has run to the end of its period.
    pub fn at_end(&self) -> bool {
        self.now_s() + self.cfg.period_s > self.twin.state().end() + 1e-6
    }

    /// Closes the next period: reads its readings from `store`, runs the twin over it and
    /// corrects it, forecasts when due, raises alerts (`reports`: the sensors' statuses now),
    /// and commits the period's records with the loop's checkpoint in one transaction.
    pub fn close_period(
        &mut self,
        city: &City,
        reg: &Registry,
        store: &mut Store,
        reports: &[SensorReport],
    ) -> Result<Closed, LiveError> {
        let t0 = std::time::Instant::now();
        let a_ms = self.now_ms();
        let begin_s = self.now_s();
        let end_s = begin_s + self.cfg.period_s;
        let b_ms = self.start_ms + (end_s * 1000.0).round() as i64;
        let readings = store.readings_between(a_ms, b_ms)?;
        // Per sensor: the mean (rain) or the last (levels) of its readings.
        let mut per: BTreeMap<usize, (f64, usize, f64, i64)> = BTreeMap::new();
        for (id, t, v) in &readings {
            if let Some(k) = reg.index(id) {
                let e = per.entry(k).or_insert((0.0, 0, 0.0, 0));
                e.0 += v;
                e.1 += 1;
                e.2 = *v;
                e.3 = *t;
            }
        }
        let sensors = reg.sensors();
        let mut rain = Vec::new();
        let mut depths = Vec::new();
        let mut levels = Vec::new();
        let mut nodes = Vec::new();
        let mut counts = BTreeMap::new();
        let mut alerts = Vec::new();
        let manholes = self
            .manholes
            .get_or_insert_with(|| manhole_nodes(city, reg))
            .clone();
        for (&k, &(sum, n, last, at)) in &per {
            let s = &sensors[k];
            match (s.kind, s.site) {
                (Kind::RainGauge, _) => rain.push(RainObs {
                    x: s.x,
                    y: s.y,
                    mm_per_h: sum / n as f64,
                }),
                (Kind::WaterLevel, Site::Street) => {
                    depths.push(DepthObs {
                        x: s.x,
                        y: s.y,
                        depth_m: last,
                    });
                    let place = place_name(s);
                    if last >= self.cfg.alert_m && self.observed.insert(place.clone()) {
                        let first = self.standing.get(&place).copied();
                        alerts.push(Alert {
                            kind: AlertKind::FloodObserved,
                            place,
                            issued_ms: b_ms,
                            at_ms: Some(at),
                            lead_min: first.map(|f| (at - f) as f64 / 60_000.0),
                            value: last,
                        });
                    }
                }
                (Kind::WaterLevel, Site::Lake | Site::River) => levels.push(LevelObs {
                    x: s.x,
                    y: s.y,
                    level_m: last,
                }),
                (Kind::WaterLevel, Site::Manhole) => {
                    if let Some(node) = manholes.get(&s.id) {
                        nodes.push((node.clone(), last));
                    }
                }
                (Kind::TrafficCounter | Kind::CameraCount, _) => {
                    counts.insert(s.id.clone(), sum / n as f64);
                }
                (Kind::PumpState | Kind::GateState, _) => {
                    let Some(link) = network_link(city, s) else {
                        continue;
                    };
                    let setting = if s.kind == Kind::PumpState {
                        // Reported running: its own depths run it; reported stopped: held off.
                        (last < 0.5).then_some(0.0)
                    } else {
                        Some(last.clamp(0.0, 1.0))
                    };
                    if s.kind == Kind::PumpState
                        && setting == Some(0.0)
                        && self.held.get(&link) != Some(&Some(0.0))
                        && self.twin.link_flow(&link).is_some_and(|q| q > 1e-3)
                    {
                        alerts.push(Alert {
                            kind: AlertKind::PumpStopped,
                            place: link.clone(),
                            issued_ms: b_ms,
                            at_ms: Some(at),
                            lead_min: None,
                            value: 0.0,
                        });
                    }
                    if self.twin.hold_link(&link, setting) {
                        self.held.insert(link, setting);
                    }
                }
                _ => {}
            }
        }
        let rain_mm_h = (!rain.is_empty())
            .then(|| rain.iter().map(|r| r.mm_per_h).sum::<f64>() / rain.len() as f64);
        if let Some(i) = rain_mm_h {
            self.last_rain_mm_h = i;
            let hours = self.cfg.period_s / 3600.0;
            self.observed_mm += i * hours;
            if let Some(f) = &self.cfg.forecast_rain {
                self.forecast_mm += mean_intensity(f, begin_s, end_s) * hours;
            }
        }
        let net_before = self.twin.state().network_assimilated_m3();
        let o = self.twin.observe(end_s, &rain, &depths)?;
        self.periods += 1;
        let net_added = self.twin.state().network_assimilated_m3() - net_before;
        let (_, lake_added) = self.twin.set_lake_levels(&levels)?;
        let node_innovations = self.twin.nudge_nodes(&nodes, NODE_NUDGE_WINDOW_S);
        let depth_rms_m = rms(&o.innovations_m);
        // The water now and what it does to the roads, for the traffic and the wall alike.
        let depth = self.twin.depth_now();
        let impacts = crate::impacts::road_impacts(city, &depth);
        let traffic = self
            .traffic
            .as_mut()
            .map(|t| t.advance(end_s, self.cfg.period_s, &counts, &impacts));
        let period = PeriodRecord {
            end_s,
            end_ms: b_ms,
            rain_gauges: rain.len(),
            rain_mm_h,
            depth_sensors: depths.len(),
            depth_rms_m,
            level_sensors: levels.len(),
            node_sensors: nodes.len(),
            node_rms_m: rms(&node_innovations),
            links_held: self.held.values().filter(|v| v.is_some()).count(),
            assimilated_m3: o.assimilated_m3 + lake_added + net_added,
            apply_wall_s: 0.0,
            now: self.now_of(reg, &depth, &impacts),
            traffic,
        };
        let period = PeriodRecord {
            apply_wall_s: t0.elapsed().as_secs_f64(),
            ..period
        };
        // Sensors that failed or fell silent since the last period.
        for r in reports {
            let code = r.status.code().to_string();
            let before = self.status.insert(r.id.clone(), code.clone());
            if before.as_deref() == Some(code.as_str()) {
                continue;
            }
            let kind = match r.status {
                Status::Failed => AlertKind::SensorFailed,
                // A sensor never heard is listed silent in the status, not alerted.
                Status::Silent if r.last_time_ms.is_some() => AlertKind::SensorSilent,
                _ => continue,
            };
            alerts.push(Alert {
                kind,
                place: r.id.clone(),
                issued_ms: b_ms,
                at_ms: r.last_time_ms,
                lead_min: None,
                value: 0.0,
            });
        }
        let forecast = if end_s >= self.next_forecast_s - 1e-6 {
            self.next_forecast_s = end_s + self.cfg.forecast_every_s;
            Some(self.forecast(city, reg, &mut alerts)?)
        } else {
            None
        };
        self.update_expected(reg, &manholes);
        let mut events = vec![(
            "period".to_string(),
            b_ms,
            serde_json::to_string(&period).expect("records encode"),
        )];
        if let Some(f) = &forecast {
            events.push((
                "forecast".into(),
                f.issued_ms,
                serde_json::to_string(f).expect("records encode"),
            ));
        }
        for a in &alerts {
            events.push((
                "alert".into(),
                a.issued_ms,
                serde_json::to_string(a).expect("records encode"),
            ));
        }
        let ckpt = crate::hotstart::save_live_loop(self);
        store.commit_period(&events, self.now_s(), &ckpt)?;
        Ok(Closed {
            period,
            forecast,
            alerts,
        })
    }

    /// The state now as the wall shows it: the deepest water, each watched place's water, the
    /// roads the water closes and the pumps running.
    pub fn now_record(&self, city: &City, reg: &Registry) -> NowRecord {
        let depth = self.twin.depth_now();
        let impacts = crate::impacts::road_impacts(city, &depth);
        self.now_of(reg, &depth, &impacts)
    }

    /// [`LiveLoop::now_record`] of the water now (`depth`) and its road impacts.
    fn now_of(
        &self,
        reg: &Registry,
        depth: &twin_model::Raster,
        impacts: &[crate::impacts::RoadImpact],
    ) -> NowRecord {
        let max_depth_m = depth
            .data
            .iter()
            .filter(|v| v.is_finite())
            .fold(0.0f32, |a, b| a.max(*b)) as f64;
        let places = self
            .twin
            .gauges()
            .iter()
            .zip(self.twin.gauge_depths())
            .map(|(g, d)| PlaceNow {
                name: g.name.clone(),
                x: g.x,
                y: g.y,
                depth_m: if d.is_finite() { d } else { 0.0 },
                street: !reg
                    .by_name(&g.name)
                    .is_some_and(|s| s.kind == Kind::WaterLevel && s.site != Site::Street),
            })
            .collect();
        let closed: Vec<&crate::impacts::RoadImpact> =
            impacts.iter().filter(|r| r.flooded_kmh <= 0.0).collect();
        let mut road_ids: Vec<i64> = closed.iter().map(|r| r.feature.0).collect();
        road_ids.sort_unstable();
        let mut roads_closed: Vec<String> = closed
            .iter()
            .map(|r| {
                r.name
                    .clone()
                    .unwrap_or_else(|| format!("road {}", r.feature.0))
            })
            .collect();
        roads_closed.sort();
        roads_closed.dedup();
        let net = self.twin.state().network();
        let pumps = net.pumps();
        NowRecord {
            max_depth_m,
            alert_m: self.cfg.alert_m,
            places,
            roads_closed,
            road_ids,
            pumps_running: pumps
                .iter()
                .filter(|(j, _)| net.link_flow_si(*j).abs() > 1e-4)
                .count(),
            pumps_total: pumps.len(),
        }
    }

    /// A forecast from now, with its alerts.
    fn forecast(
        &mut self,
        city: &City,
        reg: &Registry,
        alerts: &mut Vec<Alert>,
    ) -> Result<ForecastRecord, LiveError> {
        let t0 = std::time::Instant::now();
        let now_s = self.now_s();
        let now_ms = self.now_ms();
        // Lakes and the river rise in a storm by design: floods are alerted on streets and
        // hotspots only.
        let water_body = |name: &str| {
            reg.by_name(name)
                .is_some_and(|s| s.kind == Kind::WaterLevel && s.site != Site::Street)
        };
        let (rain, label, bias) = match &self.cfg.forecast_rain {
            Some(f) => {
                let bias = mean_field_bias(self.observed_mm, self.forecast_mm);
                (
                    f.iter().map(|&(t, i)| (t, i * bias)).collect::<Vec<_>>(),
                    format!("forecast×{bias:.2}"),
                    bias,
                )
            }
            None => (
                vec![
                    (now_s, self.last_rain_mm_h),
                    (now_s + self.cfg.persist_s, 0.0),
                ],
                "persistence".to_string(),
                1.0,
            ),
        };
        let f = self
            .twin
            .forecast(self.cfg.horizon_s, &rain, self.cfg.alert_m)?;
        let factors = member_factors(self.cfg.members, self.cfg.rain_spread);
        let mut runs = Vec::with_capacity(factors.len());
        for k in &factors {
            let scaled: Vec<(f64, f64)> = rain.iter().map(|&(t, i)| (t, i * k)).collect();
            runs.push(
                self.twin
                    .forecast(self.cfg.horizon_s, &scaled, self.cfg.alert_m)?,
            );
        }
        let ms = |s: f64| self.start_ms + (s * 1000.0).round() as i64;
        let places: Vec<PlaceForecast> = f
            .gauges
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let mut p = PlaceForecast {
                    name: g.name.clone(),
                    peak_m: g.peak_m,
                    peak_ms: ms(g.peak_at_s),
                    alert_ms: g.alert_at_s.map(ms),
                    alerted: !water_body(&g.name),
                    p_alert: None,
                    peak_range_m: None,
                };
                if !runs.is_empty() {
                    let n = runs.len();
                    let mut at: Vec<f64> =
                        runs.iter().filter_map(|r| r.gauges[i].alert_at_s).collect();
                    at.sort_by(f64::total_cmp);
                    let peaks = runs.iter().map(|r| r.gauges[i].peak_m);
                    let lo = peaks.clone().fold(f64::INFINITY, f64::min);
                    let hi = peaks.fold(f64::NEG_INFINITY, f64::max);
                    // The time the share of members past the depth first reaches the alert
                    // probability: the k-th earliest of their times.
                    let k = ((self.cfg.alert_probability * n as f64).ceil() as usize).max(1);
                    p.alert_ms = at.get(k - 1).map(|t| ms(*t));
                    p.p_alert = Some(at.len() as f64 / n as f64);
                    p.peak_range_m = Some((lo, hi));
                }
                p
            })
            .collect();
        for p in places.iter().filter(|p| p.alerted) {
            match (p.alert_ms, self.standing.contains_key(&p.name)) {
                (Some(at), false) => {
                    self.standing.insert(p.name.clone(), now_ms);
                    alerts.push(Alert {
                        kind: AlertKind::FloodForecast,
                        place: p.name.clone(),
                        issued_ms: now_ms,
                        at_ms: Some(at),
                        lead_min: Some((at - now_ms) as f64 / 60_000.0),
                        value: p.peak_m,
                    });
                }
                (None, true) if !self.observed.contains(&p.name) => {
                    self.standing.remove(&p.name);
                    alerts.push(Alert {
                        kind: AlertKind::FloodCleared,
                        place: p.name.clone(),
                        issued_ms: now_ms,
                        at_ms: None,
                        lead_min: None,
                        value: p.peak_m,
                    });
                }
                _ => {}
            }
        }
        let mut roads_closed = Vec::new();
        if let Some(depth) = &f.max_depth {
            for r in crate::impacts::road_impacts(city, depth) {
                if r.flooded_kmh > 0.0 {
                    continue;
                }
                let name = r
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("road {}", r.feature.0));
                if !roads_closed.contains(&name) {
                    roads_closed.push(name);
                }
            }
        }
        for name in &roads_closed {
            if self.roads_alerted.insert(name.clone()) {
                alerts.push(Alert {
                    kind: AlertKind::RoadClosureForecast,
                    place: name.clone(),
                    issued_ms: now_ms,
                    at_ms: None,
                    lead_min: None,
                    value: crate::impacts::CLOSURE_DEPTH_MM / 1000.0,
                });
            }
        }
        let until_ms = ms(f.to_s);
        self.keep_ahead(&f);
        Ok(ForecastRecord {
            issued_ms: now_ms,
            until_ms,
            rain: label,
            bias,
            members: factors.len(),
            places,
            roads_closed,
            wall_s: t0.elapsed().as_secs_f64(),
        })
    }

    /// Keeps what the forecast says each watched place holds at the end of the next period,
    /// for the model's expectation of the sensors.
    fn keep_ahead(&mut self, f: &Forecast) {
        let next = self.now_s() + self.cfg.period_s;
        let k = f.times_s.iter().position(|t| *t >= next - 1e-6);
        self.ahead.clear();
        for (g, gauge) in self.twin.gauges().iter().enumerate() {
            if let Some(v) = k.and_then(|k| f.depths_m.get(g).and_then(|d| d.get(k))) {
                self.ahead.insert(gauge.name.clone(), *v);
            }
        }
    }

    /// What the model expects each water-level sensor to read over the next period: between
    /// the depth now and the depth the last forecast gave for the period's end; the tolerance
    /// is half that range plus 0.15 m and a quarter of the larger (street sensors), 0.25 m
    /// (lake and river levels) or 0.5 m (wet wells and manholes: the level in the network now).
    fn update_expected(&mut self, reg: &Registry, manholes: &BTreeMap<String, String>) {
        let gauge_depths = self.twin.gauge_depths();
        for s in reg.sensors() {
            if s.kind != Kind::WaterLevel {
                continue;
            }
            match s.site {
                Site::Street => {
                    let name = s.name.clone().unwrap_or_default();
                    let Some(g) = self.twin.gauges().iter().position(|g| g.name == name) else {
                        continue;
                    };
                    let now = gauge_depths[g];
                    if !now.is_finite() {
                        continue;
                    }
                    let ahead = self.ahead.get(&name).copied().unwrap_or(now);
                    let (lo, hi) = (now.min(ahead), now.max(ahead));
                    self.expected.insert(
                        s.id.clone(),
                        ((lo + hi) / 2.0, (hi - lo) / 2.0 + 0.15 + 0.25 * hi),
                    );
                }
                Site::Lake | Site::River => {
                    if let Some(l) = self.twin.level_at(s.x, s.y) {
                        self.expected.insert(s.id.clone(), (l, 0.25));
                    }
                }
                Site::Manhole => {
                    if let Some(l) = manholes.get(&s.id).and_then(|n| self.twin.node_level(n)) {
                        self.expected.insert(s.id.clone(), (l, 0.5));
                    }
                }
                _ => {}
            }
        }
    }
}

impl ModelView for LiveLoop {
    fn expected(&self, sensor: &Sensor) -> Option<(f64, f64)> {
        self.expected.get(&sensor.id).copied()
    }
}

/// The drainage network's link a pump or gate sensor reports on: its feature's name as the
/// network names it (`twin_model::drainage`: the name, else kind and id).
fn network_link(city: &City, s: &Sensor) -> Option<String> {
    let key = s.feature?;
    let f = city.layer(key.layer).get(key.id)?;
    matches!(f.kind.as_str(), "pump" | "gate").then(|| {
        f.name
            .clone()
            .unwrap_or_else(|| format!("{}{}", f.kind, f.id.0))
    })
}

/// How long a wet well or manhole is drawn toward its period's last level reading, s (about
/// thirty relaxation times, [`crate::coupled::NUDGE_TAU_S`]); the network runs free after it
/// until the next period's reading.
pub const NODE_NUDGE_WINDOW_S: f64 = 120.0;

/// The rain factors of an ensemble's members: `n` evenly stratified over `spread` (the middle
/// of each of `n` equal strata), none below 2 members.
pub fn member_factors(n: usize, spread: (f64, f64)) -> Vec<f64> {
    if n < 2 {
        return Vec::new();
    }
    let (lo, hi) = spread;
    (0..n)
        .map(|k| lo + (hi - lo) * (k as f64 + 0.5) / n as f64)
        .collect()
}

/// Root mean square of the finite values (0 when there are none).
fn rms(v: &[f64]) -> f64 {
    let finite: Vec<f64> = v.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        0.0
    } else {
        (finite.iter().map(|v| v * v).sum::<f64>() / finite.len() as f64).sqrt()
    }
}

/// Farthest a wet-well or manhole level sensor without a `drainage_node` may stand from the
/// network's node it is taken to read, m: a manhole cover's position against the node's, with
/// the few metres a surveyed point is off.
pub const MANHOLE_SNAP_M: f64 = 5.0;

/// The drainage network's node each wet-well and manhole level sensor reads (sensor id → node
/// name): its feature's `drainage_node`, else the nearest node (manhole, junction, storage) of
/// the city's network within [`MANHOLE_SNAP_M`]. Sensors placed on no node are left out:
/// [`unplaced_manhole_sensors`] names them.
pub fn manhole_nodes(city: &City, reg: &Registry) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut net: Option<Option<twin_model::drainage::DrainageNetwork>> = None;
    for s in reg
        .sensors()
        .iter()
        .filter(|s| s.kind == Kind::WaterLevel && s.site == Site::Manhole)
    {
        let named = s.feature.and_then(|key| {
            city.layer(key.layer)
                .get(key.id)?
                .text("drainage_node")
                .map(str::to_string)
        });
        if let Some(n) = named {
            out.insert(s.id.clone(), n);
            continue;
        }
        let net = net.get_or_insert_with(|| {
            twin_model::drainage::DrainageNetwork::from_layer(
                city.layer(twin_model::Layer::Utility),
            )
            .ok()
        });
        let nearest = net.as_ref().and_then(|n| {
            n.nodes
                .iter()
                .filter(|d| !matches!(d.kind, twin_model::drainage::DrainNodeKind::Outfall { .. }))
                .map(|d| ((d.pos[0] - s.x).hypot(d.pos[1] - s.y), d))
                .min_by(|a, b| a.0.total_cmp(&b.0))
        });
        if let Some((d, node)) = nearest
            && d <= MANHOLE_SNAP_M
        {
            out.insert(s.id.clone(), node.name.clone());
        }
    }
    out
}

/// The wet-well and manhole level sensors that read no node of the network (no
/// `drainage_node` and none within [`MANHOLE_SNAP_M`]), by id: their readings are checked
/// and stored but cannot correct the network.
pub fn unplaced_manhole_sensors(city: &City, reg: &Registry) -> Vec<String> {
    let placed = manhole_nodes(city, reg);
    reg.sensors()
        .iter()
        .filter(|s| s.kind == Kind::WaterLevel && s.site == Site::Manhole)
        .filter(|s| !placed.contains_key(&s.id))
        .map(|s| s.id.clone())
        .collect()
}

/// A street sensor's place name (its feature's name, else its id).
fn place_name(s: &Sensor) -> String {
    s.name.clone().unwrap_or_else(|| s.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_intensity_weights_steps_by_their_time_in_the_window() {
        let steps = [(0.0, 10.0), (300.0, 40.0), (900.0, 0.0)];
        assert!((mean_intensity(&steps, 0.0, 300.0) - 10.0).abs() < 1e-12);
        // 150 s at 10 and 150 s at 40.
        assert!((mean_intensity(&steps, 150.0, 450.0) - 25.0).abs() < 1e-12);
        assert!((mean_intensity(&steps, 900.0, 1200.0)).abs() < 1e-12);
    }
}
