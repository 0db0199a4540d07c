//! A scenario run's results ([`twin_engine::scenario::ScenarioResult`]) as the report page and
//! the road map: the engine's typed results turned into the plain rows of [`crate::html`].

use std::collections::{BTreeMap, HashMap};

use crate::html::{ClosedStreet, GaugeRow, ScenarioReport, ServiceRow, TrafficRow};
use crate::{Rgb, RoadClass};
use twin_engine::impacts::{RoadImpact, RoadTimeline};
use twin_engine::scenario::{CLOCK_START_MIN, ScenarioResult};
use twin_model::{City, FeatureId, Raster};

/// The bilingual report page of a scenario run: what the scenario sets (one line each), storm,
/// flood, hotspots, roads, people and services, traffic, alerts, reach, water balance. `rain`
/// is the storm's series (start minute, mm/h).
pub fn scenario_page(
    city: &City,
    rain: &[(f64, f64)],
    r: &ScenarioResult,
    alerts: &[twin_engine::alerts::Alert],
    interventions: &[String],
    rain_map: Option<&str>,
) -> String {
    let minutes = r.storm.minutes;
    let roads = r.storm.impacts.as_deref().unwrap_or_default();
    let total_mm: f64 = rain
        .iter()
        .enumerate()
        .map(|(k, (m, v))| {
            let end = rain.get(k + 1).map(|x| x.0).unwrap_or(minutes).min(minutes);
            v * (end - m).max(0.0) / 60.0
        })
        .sum();
    let traffic = &r.traffic;
    let report = ScenarioReport {
        city: city.name.clone(),
        title: format!(
            "Kịch bản mưa {total_mm:.0} mm: ngập và giao thông / {total_mm:.0} mm storm: flooding and traffic"
        ),
        rain: rain.to_vec(),
        minutes,
        flood_map: "max_depth.png".into(),
        max_depth_m: r.storm.max_depth_m(),
        area_m2: r.exposure.area_m2,
        residents: r.exposure.residents,
        gauges: r
            .storm
            .gauges
            .iter()
            .map(|g| GaugeRow {
                name: g.gauge.name.clone(),
                minutes: g.times_s.iter().map(|t| t / 60.0).collect(),
                depths_m: g.depths_m.clone(),
            })
            .collect(),
        closed_roads: closed_streets(
            roads.iter().filter(|r| r.flooded_kmh <= 0.0),
            r.storm.roads.as_ref(),
        ),
        slowed_roads: by_street(
            roads
                .iter()
                .filter(|r| r.flooded_kmh > 0.0 && r.flooded_kmh < r.free_kmh),
        )
        .len(),
        services: r
            .exposure
            .services
            .iter()
            .map(|s| ServiceRow {
                name: s.name.clone(),
                kind: s.kind.clone(),
                depth_m: s.max_depth_m,
                access_closed: s.access_closed,
                access_road: s.access_road.clone(),
            })
            .collect(),
        traffic: Some(TrafficRow {
            trips: traffic.baseline.trips,
            arrived: [traffic.baseline.arrived, traffic.flooded.arrived],
            mean_s: [
                traffic.baseline.mean_duration_s,
                traffic.flooded.mean_duration_s,
            ],
            stranded: traffic.flooded.aborted,
            rerouted: traffic.flooded.rerouted,
            delay_vehicle_hours: traffic.flooded.vehicle_hours - traffic.baseline.vehicle_hours,
            links: [traffic.closed_links, traffic.slowed_links],
            teleports: [traffic.baseline.teleports, traffic.flooded.teleports],
            unfinished: [traffic.baseline.unfinished, traffic.flooded.unfinished],
            delay_all_vehicle_hours: traffic.flooded.vehicle_hours_all
                - traffic.baseline.vehicle_hours_all,
            gridlocked_intervals: [0, 1].map(|k| {
                traffic
                    .intervals
                    .iter()
                    .filter(|i| i.gridlock[k] > twin_engine::scenario::GRIDLOCK_SHARE)
                    .count()
            }),
            clock_start_min: CLOCK_START_MIN,
            // The rain's clock time when the roads followed it, none for worst states.
            rain_start_min: traffic.rain_start_s.map(|s| CLOCK_START_MIN + s / 60.0),
            intervals: traffic
                .intervals
                .iter()
                .map(|i| {
                    (
                        i.begin_s / 60.0,
                        i.baseline_kmh,
                        i.flooded_kmh,
                        i.closed_links,
                    )
                })
                .collect(),
            road_map: "roads.png".into(),
        }),
        alerts: alerts.iter().map(alert_row).collect(),
        interventions: interventions.to_vec(),
        rain_map: rain_map.map(str::to_string),
        reach: r
            .reach
            .services
            .iter()
            .zip(twin_engine::reach::STANDARDS)
            .map(|(s, st)| crate::html::ReachRow {
                service_vi: st.label.0.into(),
                service_en: st.label.1.into(),
                limit_min: s.limit_min,
                facilities: s.facilities,
                beyond: [s.beyond_before, s.beyond_during],
                cut_off: s.cut_off_during,
                mean_min: s.mean_min,
                map: Some(reach_map_file(st.kind)),
            })
            .collect(),
        ledger: r.storm.balance_terms(),
        closure_percent: r.storm.closure_error_percent(),
        buildings: r
            .exposure
            .buildings
            .iter()
            .map(|b| {
                let (vi, en) = twin_engine::impacts::use_label(&b.use_);
                crate::html::BuildingRow {
                    use_vi: vi.into(),
                    use_en: en.into(),
                    count: b.count,
                    flooded: b.flooded,
                    people_ge_0_3: [b.residents_ge_0_3, b.jobs_ge_0_3],
                }
            })
            .collect(),
        jobs: r.exposure.jobs,
        cut_off: [
            r.exposure.cut_off.buildings as f64,
            r.exposure.cut_off.residents,
            r.exposure.cut_off.jobs,
        ],
        power: power_rows(r),
        dark_crossings: traffic.dark_crossings[1],
        diversions: traffic
            .diversions
            .iter()
            .map(|d| crate::html::DiversionRow {
                road: d.road.clone(),
                closed_m: d.closed_m,
                detour_m: d.detour_m,
                via: d.via.clone(),
            })
            .collect(),
        diversions_activated: traffic.diversions_activated,
        wards: r
            .exposure
            .wards
            .iter()
            .map(|w| (w.ward.clone(), w.residents, w.flooded))
            .collect(),
        designed: city.designed_rules(),
    };
    crate::html::scenario_html(&report)
}

/// Substations out, by the water or by the scenario, with the signals each darkened.
fn power_rows(r: &ScenarioResult) -> Vec<crate::html::PowerRow> {
    let t = &r.traffic;
    let signals = |name: &str, planned: bool| {
        t.dark_signals
            .iter()
            .filter(|d| d.substation == name && d.planned == planned)
            .count()
    };
    let mut out = Vec::new();
    if let Some(tl) = &r.storm.substations {
        let depth = tl.max_depth_m();
        let rain_start_min = r.rain_start_min;
        for ((b, o), d) in tl.substations.iter().zip(tl.out_from_s()).zip(depth) {
            if let Some(s) = o {
                out.push(crate::html::PowerRow {
                    substation: b.name.clone(),
                    from_min: rain_start_min + s / 60.0,
                    to_min: None,
                    depth_m: Some((d, b.threshold_m)),
                    signals: signals(&b.name, false),
                });
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for d in t.dark_signals.iter().filter(|d| d.planned) {
        if seen.insert((d.substation.clone(), d.from_s.to_bits())) {
            out.push(crate::html::PowerRow {
                substation: d.substation.clone(),
                from_min: CLOCK_START_MIN + d.from_s / 60.0,
                to_min: d.to_s.map(|s| CLOCK_START_MIN + s / 60.0),
                depth_m: None,
                signals: signals(&d.substation, true),
            });
        }
    }
    out.sort_by(|a, b| {
        a.from_min
            .total_cmp(&b.from_min)
            .then(a.substation.cmp(&b.substation))
    });
    out
}

/// File name of the reach map of a standard's kind, beside the report.
pub fn reach_map_file(kind: &str) -> String {
    format!("reach_{kind}.png")
}

/// An alert as a row of the report.
fn alert_row(a: &twin_engine::alerts::Alert) -> crate::html::AlertRow {
    use twin_engine::alerts::AlertKind;
    let (vi, en) = a.kind.label();
    let detail = match a.kind {
        AlertKind::HotspotDepth | AlertKind::RoadClosed | AlertKind::ServiceAffected => {
            format!("{:.2} m (≥ {:.2} m)", a.value, a.threshold)
        }
        AlertKind::Congestion => format!(
            "{:.0} % tốc độ ngày khô / of the dry-day speed (< {:.0} %)",
            100.0 * a.value,
            100.0 * a.threshold
        ),
        AlertKind::ReachLost => format!(
            "+{:.0} người / residents ngoài / beyond {:.0} phút / min",
            a.value, a.threshold
        ),
        AlertKind::SubstationOut => {
            let until = a.until_min.map_or(String::new(), |t| {
                format!(", đến / until {}", crate::html::clock(t))
            });
            if a.threshold > 0.0 {
                format!(
                    "ngập / flooded {:.2} m (≥ {:.2} m){until}",
                    a.value, a.threshold
                )
            } else {
                format!("theo kịch bản / set by the scenario{until}")
            }
        }
        AlertKind::PumpOut => match a.until_min {
            Some(t) => format!(
                "khởi động muộn lúc / starts late at {}",
                crate::html::clock(t)
            ),
            None => "ngừng cả trận mưa / out for the whole storm".into(),
        },
    };
    crate::html::AlertRow {
        clock_min: a.clock_min,
        kind_vi: vi.into(),
        kind_en: en.into(),
        subject: a.subject.clone(),
        detail,
    }
}

/// The roads over the faded flood map: closed red, slowed orange, the rest open.
pub fn road_picture(city: &City, dem: &Raster, depth: &Raster, impacts: &[RoadImpact]) -> Rgb {
    let class: HashMap<FeatureId, RoadClass> = impacts
        .iter()
        .map(|i| {
            let c = if i.flooded_kmh <= 0.0 {
                RoadClass::Closed
            } else if i.flooded_kmh < i.free_kmh {
                RoadClass::Slowed
            } else {
                RoadClass::Open
            };
            (i.feature, c)
        })
        .collect();
    let roads: Vec<(Vec<[f64; 2]>, RoadClass)> = twin_engine::impacts::road_polylines(city)
        .into_iter()
        .map(|(id, line)| (line, class.get(&id).copied().unwrap_or(RoadClass::Open)))
        .collect();
    crate::road_map(dem, depth, &roads)
}

/// A road's name for the report, or "road ID" for an unnamed one.
fn street_name(r: &RoadImpact) -> String {
    r.name
        .clone()
        .unwrap_or_else(|| format!("road {}", r.feature.0))
}

/// Closed road segments grouped by street name, worst first: each street's deepest water and,
/// from the flood's road timeline, when a stretch first closed and the longest closure.
fn closed_streets<'a>(
    closed: impl Iterator<Item = &'a RoadImpact>,
    timeline: Option<&RoadTimeline>,
) -> Vec<ClosedStreet> {
    let timing: HashMap<FeatureId, (f64, f64, bool)> = timeline
        .map(|t| {
            t.roads
                .iter()
                .zip(t.closures())
                .filter_map(|(r, c)| c.map(|c| (r.feature, c)))
                .collect()
        })
        .unwrap_or_default();
    let mut when: HashMap<String, (Option<f64>, f64, bool)> = Default::default();
    let closed: Vec<_> = closed.collect();
    for r in &closed {
        let e = when.entry(street_name(r)).or_insert((None, 0.0, false));
        if let Some((from, long, at_end)) = timing.get(&r.feature) {
            e.0 = Some(e.0.map_or(*from, |f: f64| f.min(*from)));
            e.1 = e.1.max(*long);
            e.2 |= *at_end;
        }
    }
    by_street(closed.into_iter())
        .into_iter()
        .map(|(name, depth_m)| {
            let (from, long, at_end) = when.get(&name).copied().unwrap_or((None, 0.0, false));
            ClosedStreet {
                name,
                depth_m,
                closed_from_min: from.map(|s| s / 60.0),
                closed_min: long / 60.0,
                closed_at_end: at_end,
            }
        })
        .collect()
}

/// Road segments grouped by street name: each street's worst depth, worst first (ties by name).
fn by_street<'a>(roads: impl Iterator<Item = &'a RoadImpact>) -> Vec<(String, f64)> {
    let mut worst: BTreeMap<String, f64> = Default::default();
    for r in roads {
        let d = worst.entry(street_name(r)).or_insert(0.0);
        *d = d.max(r.max_depth_m);
    }
    let mut v: Vec<(String, f64)> = worst.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}
