//! The figures the wall and the app show at a minute of a run (KPI tiles, hotspot list, alert
//! ticker), the wall's text, and the feed that delivers them.

use crate::i18n::Lang;
use crate::playback::{Run, clock};
use std::sync::Arc;
use twin_engine::alerts::AlertKind;

/// The headline figures at one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpis {
    /// Minutes from the rain's start.
    pub minute: f64,
    /// Clock time `HH:MM`.
    pub clock: String,
    /// Deepest water of the depth frame shown, m.
    pub max_depth_m: f64,
    /// Roads closed in the traffic interval shown.
    pub roads_closed: usize,
    /// Hotspots (gauges) whose water has risen to the hotspot threshold or more.
    pub hotspots_flooded: usize,
    /// Gauges in the run.
    pub hotspots_total: usize,
    /// Network speed, km/h (vehicle-weighted mean of the roads' speeds).
    pub network_speed_kmh: Option<f64>,
    /// Pumps with a flow.
    pub pumps_running: usize,
    /// Pumps in the run.
    pub pumps_total: usize,
}

/// A hotspot (gauge) at one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct Hotspot {
    /// Gauge name.
    pub name: String,
    /// Rise of the water over its level at the start, m.
    pub rise_m: f64,
    /// Map position.
    pub xy: [f64; 2],
}

/// The KPIs at `minute`.
pub fn kpis(run: &Run, minute: f64) -> Kpis {
    let max_depth_m = run.depth_at(minute).map_or(0.0, |(_, r)| {
        r.data
            .iter()
            .filter(|v| v.is_finite() && !r.is_nodata(**v))
            .fold(0.0f32, |a, b| a.max(*b)) as f64
    });
    let roads = run.roads_at(minute);
    let pumps = run.pumps_at(minute);
    Kpis {
        minute,
        clock: clock(run.clock_of(minute)),
        max_depth_m,
        roads_closed: roads.values().filter(|r| r.closed).count(),
        hotspots_flooded: hotspots(run, minute, usize::MAX)
            .iter()
            .filter(|h| h.rise_m >= run.hotspot_depth_m)
            .count(),
        hotspots_total: run.gauges.len(),
        network_speed_kmh: run.network_speed_at(minute),
        pumps_running: pumps.iter().filter(|(_, q)| *q > 1e-4).count(),
        pumps_total: pumps.len(),
    }
}

/// The gauges whose water has risen 5 cm or more at `minute`, highest rise first.
pub fn hotspots(run: &Run, minute: f64, max: usize) -> Vec<Hotspot> {
    let mut h: Vec<Hotspot> = run
        .gauges
        .iter()
        .map(|g| Hotspot {
            name: g.name.clone(),
            rise_m: g.depth_at(minute) - g.depth_m.first().copied().unwrap_or(0.0),
            xy: [g.x, g.y],
        })
        .filter(|h| h.rise_m >= 0.05)
        .collect();
    h.sort_by(|a, b| b.rise_m.total_cmp(&a.rise_m).then(a.name.cmp(&b.name)));
    h.truncate(max);
    h
}

/// Vietnamese and English label of an alert kind: a scenario's (`alerts.json`) or the live
/// loop's (`flood_forecast`, `road_closure_forecast`, …).
pub fn alert_label(kind: &str) -> (&'static str, &'static str) {
    if let Ok(k) = serde_json::from_value::<twin_engine::live_loop::AlertKind>(
        serde_json::Value::String(kind.to_string()),
    ) {
        return (k.vi(), k.en());
    }
    let k = match kind {
        "hotspot_depth" => AlertKind::HotspotDepth,
        "road_closed" => AlertKind::RoadClosed,
        "congestion" => AlertKind::Congestion,
        "pump_out" => AlertKind::PumpOut,
        "service_affected" => AlertKind::ServiceAffected,
        "reach_lost" => AlertKind::ReachLost,
        "substation_out" => AlertKind::SubstationOut,
        _ => return ("Cảnh báo", "Alert"),
    };
    k.label()
}

/// An alert raised by the moment shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Raised {
    /// Clock time first crossed, `HH:MM`.
    pub clock: String,
    /// Kind in snake case.
    pub kind: String,
    /// What it is about.
    pub subject: String,
    /// For a forecast, minutes from the alert to the event.
    pub lead_min: Option<f64>,
}

impl Raised {
    /// One line of the ticker.
    pub fn line(&self, lang: Lang) -> String {
        let (vi, en) = alert_label(&self.kind);
        let lead = self.lead_min.map_or(String::new(), |m| {
            lang.pick(
                &format!(" (trước {m:.0} phút)"),
                &format!(" ({m:.0} min ahead)"),
            )
            .to_string()
        });
        format!(
            "{} {}: {}{lead}",
            self.clock,
            lang.pick(vi, en),
            self.subject
        )
    }
}

/// The alerts raised by `minute` (their clock time reached), newest first.
pub fn raised(run: &Run, minute: f64) -> Vec<Raised> {
    let now = run.clock_of(minute);
    let mut r: Vec<_> = run
        .alerts
        .iter()
        .filter(|a| a.clock_min.is_some_and(|c| c <= now + 1e-9))
        .collect();
    r.sort_by(|a, b| {
        b.clock_min
            .unwrap_or(0.0)
            .total_cmp(&a.clock_min.unwrap_or(0.0))
    });
    r.iter()
        .map(|a| Raised {
            clock: clock(a.clock_min.unwrap_or(0.0)),
            kind: a.kind.clone(),
            subject: a.subject.clone(),
            lead_min: None,
        })
        .collect()
}

/// What the wall shows at a moment, as text.
#[derive(Debug, Clone, PartialEq)]
pub struct WallText {
    /// Title line with the clock.
    pub title: String,
    /// KPI tiles: label and value.
    pub tiles: Vec<(String, String)>,
    /// The alert ticker's text (alerts joined), or a line saying there are none.
    pub ticker: String,
    /// The hotspot list, one line each.
    pub hotspots: Vec<String>,
}

/// Everything a feed delivers for one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveState {
    /// The figures.
    pub kpis: Kpis,
    /// Hotspots, highest rise first.
    pub hotspots: Vec<Hotspot>,
    /// Alerts raised so far, newest first.
    pub alerts: Vec<Raised>,
    /// A live feed that has lost its service (what is shown is the last it received).
    pub offline: bool,
    /// The roads (Traffic & Road feature ids, sorted) the water closes now, from a live
    /// feed; `None` where the roads come from the run's own road states (a replay).
    pub closed_roads: Option<Vec<i64>>,
}

/// The wall's text for a moment.
pub fn wall_text(s: &LiveState, lang: Lang) -> WallText {
    let k = &s.kpis;
    let l = |vi: &str, en: &str| lang.pick(vi, en).to_string();
    let tiles = vec![
        (
            l("Độ sâu ngập lớn nhất", "Max flood depth"),
            format!("{:.2} m", k.max_depth_m),
        ),
        (
            l("Đường bị đóng", "Roads closed"),
            k.roads_closed.to_string(),
        ),
        (
            l("Điểm ngập", "Flooded hotspots"),
            format!("{} / {}", k.hotspots_flooded, k.hotspots_total),
        ),
        (
            l("Tốc độ mạng lưới", "Network speed"),
            k.network_speed_kmh
                .map_or("—".to_string(), |v| format!("{v:.0} km/h")),
        ),
        (
            l("Trạm bơm đang chạy", "Pumps running"),
            format!("{} / {}", k.pumps_running, k.pumps_total),
        ),
    ];
    let ticker = if s.alerts.is_empty() {
        l("Chưa có cảnh báo", "No alerts yet")
    } else {
        s.alerts
            .iter()
            .map(|a| a.line(lang))
            .collect::<Vec<_>>()
            .join("   •   ")
    };
    let offline = if s.offline {
        l(" — MẤT KẾT NỐI", " — OFFLINE")
    } else {
        String::new()
    };
    WallText {
        title: format!(
            "{} — {} {}{offline}",
            l(
                "Trung tâm điều hành ngập úng Hà Nội",
                "Hanoi flood operations centre"
            ),
            k.clock,
            l(
                &format!("(phút {:.0})", k.minute),
                &format!("(minute {:.0})", k.minute)
            )
        ),
        tiles,
        ticker,
        hotspots: s
            .hotspots
            .iter()
            .map(|h| format!("{}  +{:.2} m", h.name, h.rise_m))
            .collect(),
    }
}

/// A source of the twin's state as it goes on: the replay of a run folder
/// ([`ReplayFeed`]) or the live twin's service ([`crate::live::ServerFeed`]).
pub trait Feed: Send + Sync + 'static {
    /// Moves on by `dt_s` seconds of wall time and returns the state now.
    fn advance(&mut self, dt_s: f64) -> LiveState;
    /// Jumps to a minute.
    fn seek(&mut self, minute: f64);
    /// The minute shown.
    fn minute(&self) -> f64;
    /// The water to draw, with a version that changes when it does (`None`: the run's
    /// depth frames are drawn instead).
    fn depth(&self) -> Option<(u64, Arc<twin_model::Raster>)> {
        None
    }
    /// Whether there is something to show yet (a screenshot waits for it).
    fn ready(&self) -> bool {
        true
    }
    /// A live feed: the clock is the service's, not played.
    fn live(&self) -> bool {
        false
    }
}

/// Replays a run folder as if live, `minutes_per_s` run minutes per wall second, starting
/// over at the end.
pub struct ReplayFeed {
    run: Arc<Run>,
    minute: f64,
    /// Run minutes per second of wall time.
    pub minutes_per_s: f64,
}

impl ReplayFeed {
    /// A replay from `start` minutes.
    pub fn new(run: Arc<Run>, start: f64, minutes_per_s: f64) -> ReplayFeed {
        ReplayFeed {
            run,
            minute: start,
            minutes_per_s,
        }
    }
    /// The state at the current minute.
    pub fn state(&self) -> LiveState {
        LiveState {
            kpis: kpis(&self.run, self.minute),
            hotspots: hotspots(&self.run, self.minute, 10),
            alerts: raised(&self.run, self.minute),
            offline: false,
            closed_roads: None,
        }
    }
}

impl Feed for ReplayFeed {
    fn advance(&mut self, dt_s: f64) -> LiveState {
        self.minute += dt_s * self.minutes_per_s;
        let end = self.run.end_minute();
        if self.minute > end {
            self.minute = 0.0;
        }
        self.state()
    }
    fn seek(&mut self, minute: f64) {
        self.minute = minute.clamp(0.0, self.run.end_minute());
    }
    fn minute(&self) -> f64 {
        self.minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playback::{AlertEntry, GaugeSeries, RoadState};
    use std::collections::BTreeMap;
    use twin_model::Raster;

    fn run() -> Run {
        let mut wet = Raster::filled(2, 1, 0.0, 10.0, 10.0, 0.0);
        wet.data = vec![0.12, 0.45];
        let road = |f, b: f64, speed, closed| RoadState {
            begin_min: b,
            end_min: b + 5.0,
            feature: f,
            speed_kmh: speed,
            closed,
            vehicles: 2,
        };
        let mut pumps = BTreeMap::new();
        pumps.insert("P1".to_string(), vec![0.0, 1.0, 1.0]);
        pumps.insert("P2".to_string(), vec![0.0, 0.0, 0.0]);
        Run {
            dir: ".".into(),
            crs: "EPSG:3405".into(),
            start_clock_min: 420.0,
            minutes: 10.0,
            depth: vec![
                (0.0, Raster::filled(2, 1, 0.0, 10.0, 10.0, 0.0)),
                (5.0, wet),
            ],
            roads: vec![
                road(1, 0.0, Some(40.0), false),
                road(2, 0.0, Some(20.0), false),
                road(1, 5.0, None, true),
                road(2, 5.0, Some(10.0), false),
            ],
            vehicles: Vec::new(),
            pumps,
            gauges: vec![GaugeSeries {
                name: "A".into(),
                x: 0.0,
                y: 0.0,
                minutes: vec![0.0, 5.0],
                depth_m: vec![0.1, 0.45],
            }],
            alerts: vec![AlertEntry {
                kind: "road_closed".into(),
                subject: "Phố Huế".into(),
                clock_min: Some(426.0),
                value: 0.4,
            }],
            hotspot_depth_m: 0.3,
        }
    }

    #[test]
    fn kpis_follow_the_minute() {
        let r = run();
        let k = kpis(&r, 2.0);
        assert_eq!(
            (k.max_depth_m, k.roads_closed, k.hotspots_flooded),
            (0.0, 0, 0)
        );
        assert_eq!(k.network_speed_kmh, Some(30.0));
        assert_eq!((k.pumps_running, k.pumps_total), (1, 2));
        assert_eq!(k.clock, "07:02");
        let k = kpis(&r, 6.0);
        assert!((k.max_depth_m - 0.45).abs() < 1e-6);
        assert_eq!(k.roads_closed, 1);
        // The gauge rose 0.35 m over its start: flooded.
        assert_eq!(k.hotspots_flooded, 1);
        assert_eq!(k.network_speed_kmh, Some(10.0));
        assert!(raised(&r, 5.0).is_empty());
        let a = raised(&r, 6.0);
        assert_eq!(a[0].line(Lang::En), "07:06 Road closed: Phố Huế");
        assert_eq!(a[0].line(Lang::Vi), "07:06 Đường bị đóng: Phố Huế");
        let h = hotspots(&r, 6.0, 5);
        assert_eq!(h.len(), 1);
        assert!((h[0].rise_m - 0.35).abs() < 1e-9);
    }

    #[test]
    fn the_replay_feed_runs_on_and_starts_over() {
        let mut f = ReplayFeed::new(std::sync::Arc::new(run()), 0.0, 2.0);
        assert_eq!(f.advance(2.0).kpis.minute, 4.0);
        assert_eq!(f.advance(3.0).kpis.minute, 10.0);
        // Past the end (minute 10) it starts over.
        assert_eq!(f.advance(1.0).kpis.minute, 0.0);
        f.seek(99.0);
        assert_eq!(f.minute(), 10.0);
    }
}
