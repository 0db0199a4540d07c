//! Alerts of a scenario run: each threshold the operations centre watches, with the clock time
//! it was first crossed — water at a hotspot or sensor over the traffic-affecting depth, a road
//! closed by the flood, the network slowed well below its dry-day speed, a public service with
//! water on its site or its access road closed.

use crate::scenario::{CLOCK_START_MIN, ScenarioResult};

/// The thresholds alerts fire at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Water risen at a gauge (hotspot, sensor) over its level at the start, m: 0.3, the
    /// depth Hanoi's drainage operator calls flooding that affects traffic.
    pub hotspot_depth_m: f64,
    /// Network speed with the flood below this share of the dry-day speed in the same
    /// interval: 0.75.
    pub congestion_share: f64,
    /// Water on a service's site, m: 0.1.
    pub service_depth_m: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            hotspot_depth_m: 0.3,
            congestion_share: 0.75,
            service_depth_m: 0.1,
        }
    }
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Water at a gauge risen over [`Thresholds::hotspot_depth_m`] (value: the rise, m).
    HotspotDepth,
    /// A road closed by the flood (value: its deepest water, m).
    RoadClosed,
    /// The network slowed below [`Thresholds::congestion_share`] of its dry-day speed.
    Congestion,
    /// A pump of the drainage network out of service (value: its share of capacity, 0) or
    /// starting late.
    PumpOut,
    /// A public service with water on site or its access road closed.
    ServiceAffected,
    /// More residents beyond an emergency service's response standard at the flood's worst
    /// than before it (value: how many more; threshold: the standard, minutes).
    ReachLost,
    /// A substation out, by the water on its site (value: the deepest, m; threshold: its
    /// flood threshold) or taken out by the scenario (value and threshold 0); the signals it
    /// feeds go dark.
    SubstationOut,
}

impl AlertKind {
    /// Vietnamese and English label.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            AlertKind::HotspotDepth => ("Điểm ngập vượt ngưỡng", "Hotspot over threshold"),
            AlertKind::RoadClosed => ("Đường bị đóng", "Road closed"),
            AlertKind::Congestion => ("Ùn tắc", "Congestion"),
            AlertKind::PumpOut => ("Trạm bơm ngừng hoạt động", "Pump out of service"),
            AlertKind::ReachLost => (
                "Dân cư ngoài tầm tiếp cận khẩn cấp",
                "Residents beyond emergency reach",
            ),
            AlertKind::ServiceAffected => {
                ("Cơ sở công cộng bị ảnh hưởng", "Public service affected")
            }
            AlertKind::SubstationOut => (
                "Trạm biến áp mất điện, đèn tín hiệu tắt",
                "Substation out, signals dark",
            ),
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Alert {
    /// What it is about.
    pub kind: AlertKind,
    /// The gauge, road, service or `network`.
    pub subject: String,
    /// Clock time first crossed, minutes after midnight; `None` where the run records no time
    /// (water on a service's site is known only as the run's maximum).
    pub clock_min: Option<f64>,
    /// The value that crossed (m, or the speed share).
    pub value: f64,
    /// The threshold.
    pub threshold: f64,
    /// Clock time the condition ends where it is known in advance (a pump's late start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until_min: Option<f64>,
}

/// The run's alerts, earliest first (those without a time last), then by kind and subject.
/// `rain_start_min` is the clock time the storm's time zero stands for.
pub fn alerts(r: &ScenarioResult, rain_start_min: f64, th: &Thresholds) -> Vec<Alert> {
    let mut out = Vec::new();
    for g in &r.storm.gauges {
        // A sensor in a lake or the river reads water from the start: its rise counts.
        let base = g.depths_m.first().copied().unwrap_or(0.0);
        if let Some(k) = g
            .depths_m
            .iter()
            .position(|d| *d - base >= th.hotspot_depth_m)
        {
            out.push(Alert {
                kind: AlertKind::HotspotDepth,
                subject: g.gauge.name.clone(),
                clock_min: Some(rain_start_min + g.times_s[k] / 60.0),
                value: g.depths_m[k] - base,
                threshold: th.hotspot_depth_m,
                until_min: None,
            });
        }
    }
    // One alert per street: the first of its segments to close.
    let mut road_closed_at: std::collections::BTreeMap<String, f64> = Default::default();
    let mut road_depth: std::collections::BTreeMap<String, f64> = Default::default();
    if let Some(t) = &r.storm.roads {
        for (k, (road, c)) in t.roads.iter().zip(t.closures()).enumerate() {
            if let Some((first_s, _, _)) = c {
                let deepest = t.depth_m.iter().map(|d| d[k] as f64).fold(0.0, f64::max);
                let clock = rain_start_min + first_s / 60.0;
                let subject = road
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("road {}", road.feature.0));
                let d = road_depth.entry(subject.clone()).or_insert(0.0);
                *d = d.max(deepest);
                road_closed_at
                    .entry(subject)
                    .and_modify(|m| *m = m.min(clock))
                    .or_insert(clock);
            }
        }
    }
    for (subject, clock) in &road_closed_at {
        out.push(Alert {
            kind: AlertKind::RoadClosed,
            subject: subject.clone(),
            clock_min: Some(*clock),
            value: road_depth[subject],
            threshold: crate::impacts::CLOSURE_DEPTH_MM / 1000.0,
            until_min: None,
        });
    }
    if let Some(i) = r.traffic.intervals.iter().find(|i| {
        i.baseline_kmh.is_finite()
            && i.flooded_kmh.is_finite()
            && i.baseline_kmh > 0.0
            && i.flooded_kmh < th.congestion_share * i.baseline_kmh
    }) {
        out.push(Alert {
            kind: AlertKind::Congestion,
            subject: "network".into(),
            clock_min: Some(CLOCK_START_MIN + i.begin_s / 60.0),
            value: i.flooded_kmh / i.baseline_kmh,
            threshold: th.congestion_share,
            until_min: None,
        });
    }
    for s in &r.exposure.services {
        let on_site = s.max_depth_m >= th.service_depth_m;
        if !on_site && !s.access_closed {
            continue;
        }
        let clock = if on_site {
            None
        } else {
            s.access_road
                .as_ref()
                .and_then(|n| road_closed_at.get(n).copied())
        };
        out.push(Alert {
            kind: AlertKind::ServiceAffected,
            subject: s.name.clone(),
            clock_min: clock,
            value: s.max_depth_m,
            threshold: th.service_depth_m,
            until_min: None,
        });
    }
    // Substations out: by the water, then those the scenario takes out.
    let mut dark_by: std::collections::BTreeMap<&str, usize> = Default::default();
    for d in &r.traffic.dark_signals {
        *dark_by.entry(d.substation.as_str()).or_default() += 1;
    }
    let signals = |name: &str| {
        let n = dark_by.get(name).copied().unwrap_or(0);
        format!("{name} ({n} đèn tín hiệu / signals)")
    };
    if let Some(t) = &r.storm.substations {
        let depth = t.max_depth_m();
        for ((b, out_s), d) in t.substations.iter().zip(t.out_from_s()).zip(depth) {
            if let Some(s) = out_s {
                out.push(Alert {
                    kind: AlertKind::SubstationOut,
                    subject: signals(&b.name),
                    clock_min: Some(rain_start_min + s / 60.0),
                    value: d,
                    threshold: b.threshold_m,
                    until_min: None,
                });
            }
        }
    }
    let mut planned: std::collections::BTreeMap<&str, (f64, Option<f64>)> = Default::default();
    for d in r.traffic.dark_signals.iter().filter(|d| d.planned) {
        planned
            .entry(d.substation.as_str())
            .or_insert((d.from_s, d.to_s));
    }
    for (name, (from_s, to_s)) in planned {
        out.push(Alert {
            kind: AlertKind::SubstationOut,
            subject: signals(name),
            clock_min: Some(CLOCK_START_MIN + from_s / 60.0),
            value: 0.0,
            threshold: 0.0,
            until_min: to_s.map(|t| CLOCK_START_MIN + t / 60.0),
        });
    }
    // Reach lost from the first road closure on.
    let first_closure = road_closed_at.values().copied().reduce(f64::min);
    for (s, st) in r.reach.services.iter().zip(crate::reach::STANDARDS) {
        let more = s.beyond_during - s.beyond_before;
        if more >= 1.0 {
            out.push(Alert {
                kind: AlertKind::ReachLost,
                subject: format!("{} / {}", st.label.0, st.label.1),
                clock_min: first_closure,
                value: more,
                threshold: s.limit_min,
                until_min: None,
            });
        }
    }
    sort(&mut out);
    out
}

/// Alerts for pumps a scenario takes out of service or starts late: each pump out from the
/// storm's start (`rain_start_min`), until its late start where it has one. `pumps` are the
/// network's pump names; shares of several changes naming a pump multiply, as they do in the run.
pub fn pump_alerts(
    pumps: &[&str],
    changes: &[crate::scenario_file::PumpChange],
    rain_start_min: f64,
) -> Vec<Alert> {
    let mut state: Vec<(f64, Option<f64>)> = vec![(1.0, None); pumps.len()];
    for c in changes {
        for (k, name) in pumps.iter().enumerate() {
            let named = c
                .names
                .as_ref()
                .is_none_or(|ns| ns.iter().any(|n| n.eq_ignore_ascii_case(name)));
            if named {
                state[k].0 *= c.capacity;
                if c.start_min.is_some() {
                    state[k].1 = c.start_min;
                }
            }
        }
    }
    let mut out: Vec<Alert> = pumps
        .iter()
        .zip(state)
        .filter_map(|(name, (capacity, start))| {
            let late = start.filter(|s| *s > rain_start_min);
            (capacity == 0.0 || late.is_some()).then(|| Alert {
                kind: AlertKind::PumpOut,
                subject: name.to_string(),
                clock_min: Some(rain_start_min),
                value: 0.0,
                threshold: 0.0,
                until_min: if capacity == 0.0 { None } else { late },
            })
        })
        .collect();
    sort(&mut out);
    out
}

/// Earliest first (those without a time last), then by kind and subject.
pub fn sort(out: &mut [Alert]) {
    out.sort_by(|a, b| {
        let t = |x: &Alert| x.clock_min.unwrap_or(f64::INFINITY);
        t(a).total_cmp(&t(b))
            .then(a.kind.cmp(&b.kind))
            .then(a.subject.cmp(&b.subject))
    });
}

/// The alerts as JSON (`alerts.json`): thresholds and the list.
pub fn alerts_json(list: &[Alert], th: &Thresholds) -> serde_json::Value {
    serde_json::json!({
        "thresholds": {
            "hotspot_depth_m": th.hotspot_depth_m,
            "congestion_share_of_dry_speed": th.congestion_share,
            "service_depth_m": th.service_depth_m,
        },
        "alerts": list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario_file::PumpChange;

    fn change(names: Option<&[&str]>, capacity: f64, start_min: Option<f64>) -> PumpChange {
        PumpChange {
            names: names.map(|n| n.iter().map(|s| s.to_string()).collect()),
            capacity,
            start_min,
            line: 1,
        }
    }

    #[test]
    fn pumps_out_or_late_raise_alerts_from_the_storm_start() {
        let pumps = ["P1", "P2", "P3"];
        let a = pump_alerts(
            &pumps,
            &[
                change(Some(&["p1"]), 0.0, None),
                change(Some(&["P2"]), 0.5, None),
                change(Some(&["P3"]), 1.0, Some(480.0)),
            ],
            360.0,
        );
        let got: Vec<(&str, Option<f64>)> = a
            .iter()
            .map(|a| (a.subject.as_str(), a.until_min))
            .collect();
        assert_eq!(got, [("P1", None), ("P3", Some(480.0))]);
        assert!(a.iter().all(|a| a.clock_min == Some(360.0)));
        // A start before the storm is no alert; two halvings are not an outage.
        let a = pump_alerts(
            &pumps,
            &[
                change(None, 0.5, Some(300.0)),
                change(Some(&["P2"]), 0.5, None),
            ],
            360.0,
        );
        assert!(a.is_empty(), "{a:?}");
        assert_eq!(
            serde_json::to_value(AlertKind::PumpOut).unwrap(),
            serde_json::json!("pump_out")
        );
    }
}
