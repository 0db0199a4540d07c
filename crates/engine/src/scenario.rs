//! The flagship chain on a city: a flood's road states (closures and speed caps from
//! [`crate::impacts`]) applied to the morning peak, against the same peak without the flood.
//!
//! The traffic run is the one a transport planner would run for the district: the morning
//! peak period drawn from the city's layers ([`PeakConfig::morning_peak_period`]: trips to,
//! from and through the rest of the city, a bus share), signals retimed by Webster's method
//! for the peak's flows, and a share of drivers informed of current link times who reroute
//! en route. Both runs share the demand and the signal plans; the flooded run adds the road
//! states as they come: either each road's worst state from the start (a planning bound), or
//! interval by interval as the water rises and falls ([`RoadStates::Timeline`]).

use crate::impacts::{RoadImpact, RoadTimeline};
use std::collections::HashMap;
use twin_model::{City, Layer, RoadGraph};
use twin_traffic::city_demand::{PeakConfig, morning_peak_with_signal_plans};
use twin_traffic::network::{LinkId, Network};
use twin_traffic::sim::{LinkEvent, SimConfig, Simulation, VehicleState};

/// One traffic run's totals.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficTotals {
    /// Trips simulated.
    pub trips: usize,
    /// Trips that arrived by the end.
    pub arrived: usize,
    /// Trips taken out for want of a route around closures.
    pub aborted: usize,
    /// Mean trip duration of arrived trips, s.
    pub mean_duration_s: f64,
    /// Sum of durations of arrived trips, hours.
    pub vehicle_hours: f64,
    /// Trips rerouted en route.
    pub rerouted: usize,
    /// Vehicles let into a full link after waiting [`SimConfig::time_to_teleport`].
    pub teleports: usize,
}

/// One statistics interval of both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficInterval {
    /// Interval start, s of traffic time.
    pub begin_s: f64,
    /// Interval end, s.
    pub end_s: f64,
    /// Space-mean speed over the links left during the interval without the flood, km/h
    /// (NaN if no vehicle left a link).
    pub baseline_kmh: f64,
    /// The same with the flood.
    pub flooded_kmh: f64,
    /// Directed links closed by the flood at the interval's start.
    pub closed_links: usize,
}

/// Baseline against flooded.
#[derive(Debug, Clone, PartialEq)]
pub struct FloodTraffic {
    /// Directed links closed by the flood at some time.
    pub closed_links: usize,
    /// Directed links slowed (never closed) by the flood at some time.
    pub slowed_links: usize,
    /// Without the flood.
    pub baseline: TrafficTotals,
    /// With the flood's closures and speed caps.
    pub flooded: TrafficTotals,
    /// Vehicles that entered a closed link (must be 0).
    pub closed_entries: u64,
    /// Both runs interval by interval.
    pub intervals: Vec<TrafficInterval>,
    /// Traffic time of the rain's start, s (`None`: worst states from the start).
    pub rain_start_s: Option<f64>,
}

impl FloodTraffic {
    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let t = |x: &TrafficTotals| serde_json::json!({"trips": x.trips, "arrived": x.arrived, "aborted": x.aborted, "mean_duration_s": x.mean_duration_s, "vehicle_hours": x.vehicle_hours, "rerouted": x.rerouted, "teleports": x.teleports});
        let num = |v: f64| {
            if v.is_finite() {
                serde_json::json!(v)
            } else {
                serde_json::Value::Null
            }
        };
        serde_json::json!({
            "closed_links": self.closed_links,
            "slowed_links": self.slowed_links,
            "baseline": t(&self.baseline),
            "flooded": t(&self.flooded),
            "delay_vehicle_hours": self.flooded.vehicle_hours - self.baseline.vehicle_hours,
            "closed_link_entries": self.closed_entries,
            "rain_start_s": self.rain_start_s,
            "intervals": self.intervals.iter().map(|i| serde_json::json!({
                "begin_s": i.begin_s, "end_s": i.end_s,
                "baseline_kmh": num(i.baseline_kmh), "flooded_kmh": num(i.flooded_kmh),
                "closed_links": i.closed_links,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The traffic side of a scenario.
#[derive(Debug, Clone)]
pub struct TrafficSpec {
    /// Demand drawn from the city's layers.
    pub peak: PeakConfig,
    /// Simulation settings (rerouting share and period, statistics interval, seed).
    pub sim: SimConfig,
    /// Rounds of routing and Webster retiming of the signal plans for the peak (0: the plans
    /// the road graph gives).
    pub signal_rounds: usize,
    /// End of the simulation, s.
    pub end_s: f64,
}

impl TrafficSpec {
    /// The morning peak period of `trips` person trips (see the module docs): signals retimed
    /// in two rounds, half the drivers informed and rerouting every 120 s, five-minute
    /// statistics, run to the period's end plus an hour so that late trips finish
    /// (benches/results/traffic-demo.md measures this set-up on the demo district).
    pub fn morning_peak_period(trips: usize, seed: u64) -> TrafficSpec {
        let peak = PeakConfig {
            seed,
            ..PeakConfig::morning_peak_period(trips)
        };
        let end_s = peak.start + peak.duration + 3600.0;
        TrafficSpec {
            peak,
            sim: SimConfig {
                seed,
                reroute_period: 120.0,
                reroute_fraction: 0.5,
                ..SimConfig::default()
            },
            signal_rounds: 2,
            end_s,
        }
    }
}

/// Sides of the road network's bounding box (west, south, east, north) through which trips
/// reach the rest of the city: all but those facing a river that lies wholly beyond the
/// side (the Environment layer's `river` features; a bridge is not looked for).
pub fn open_sides(city: &City) -> [bool; 4] {
    twin_traffic::city_demand::open_sides(city)
}

/// How the flood's road states reach the traffic run.
#[derive(Debug, Clone)]
pub enum RoadStates {
    /// Each road's worst state ([`crate::impacts::road_impacts`] of the maximum depth), from
    /// the start of the peak to its end.
    Worst(Vec<RoadImpact>),
    /// Interval by interval: interval `k` of the timeline holds from traffic time
    /// `rain_start_s + ends_s[k-1]` (the rain's start for the first) to the next; the last
    /// interval's states hold to the end. Intervals before traffic time 0 apply at 0.
    Timeline {
        /// Roads' deepest water per interval of the flood run.
        timeline: RoadTimeline,
        /// Traffic time of the rain's start, s (negative: the rain began before the peak).
        rain_start_s: f64,
    },
}

/// A directed link's state under the flood.
#[derive(Debug, Clone, Copy, PartialEq)]
enum LinkState {
    Free,
    Capped(f64),
    Closed,
}

fn link_state(kmh: f64, free_kmh: f64) -> LinkState {
    if kmh <= 0.0 {
        LinkState::Closed
    } else if kmh < free_kmh {
        LinkState::Capped(kmh)
    } else {
        LinkState::Free
    }
}

/// The states of every directed link of `g` over time: `(traffic time, state per link)`, in
/// time order, the first at 0 or later.
fn link_schedule(g: &RoadGraph, states: &RoadStates) -> Vec<(f64, Vec<LinkState>)> {
    match states {
        RoadStates::Worst(impacts) => {
            let by_feature: HashMap<i64, &RoadImpact> =
                impacts.iter().map(|i| (i.feature, i)).collect();
            let s = g
                .links
                .iter()
                .map(|l| {
                    by_feature.get(&l.feature.0).map_or(LinkState::Free, |imp| {
                        link_state(imp.flooded_kmh, l.speed_kmh)
                    })
                })
                .collect();
            vec![(0.0, s)]
        }
        RoadStates::Timeline {
            timeline,
            rain_start_s,
        } => {
            let road_of: HashMap<i64, usize> = timeline
                .roads
                .iter()
                .enumerate()
                .map(|(k, r)| (r.feature, k))
                .collect();
            let mut out: Vec<(f64, Vec<LinkState>)> = Vec::new();
            for k in 0..timeline.ends_s.len() {
                let from = rain_start_s + if k == 0 { 0.0 } else { timeline.ends_s[k - 1] };
                let s: Vec<LinkState> = g
                    .links
                    .iter()
                    .map(|l| {
                        road_of.get(&l.feature.0).map_or(LinkState::Free, |&r| {
                            link_state(timeline.speed_kmh(k, r), l.speed_kmh)
                        })
                    })
                    .collect();
                let at = from.max(0.0);
                // A later interval that also starts at or before 0 supersedes this one.
                if out.last().is_some_and(|(t, _)| *t == at) {
                    out.pop();
                }
                out.push((at, s));
            }
            out
        }
    }
}

fn totals(sim: &Simulation) -> TrafficTotals {
    let r = sim.trip_results();
    let arrived: Vec<_> = r
        .iter()
        .filter(|t| t.state == VehicleState::Arrived)
        .collect();
    let sum: f64 = arrived.iter().map(|t| t.duration()).sum();
    TrafficTotals {
        trips: r.len(),
        arrived: arrived.len(),
        aborted: r
            .iter()
            .filter(|t| t.state == VehicleState::Aborted)
            .count(),
        mean_duration_s: if arrived.is_empty() {
            0.0
        } else {
            sum / arrived.len() as f64
        },
        vehicle_hours: sum / 3600.0,
        rerouted: r.iter().filter(|t| t.reroutes > 0).count(),
        teleports: sim.counters().teleports,
    }
}

/// Space-mean speed per statistics interval (km/h): the distance of the links left during
/// the interval over the time spent on them.
fn interval_speeds(sim: &Simulation) -> Vec<(f64, f64, f64)> {
    twin_traffic::output::interval_speeds(sim.network(), sim.link_stats())
}

/// Runs the peak on the city's roads with and without the flood's road states, with the same
/// demand and signal plans in both.
pub fn flood_traffic(
    city: &City,
    states: &RoadStates,
    spec: &TrafficSpec,
) -> Result<FloodTraffic, String> {
    let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    let mut net = Network::from_road_graph(&g).map_err(|e| e.to_string())?;
    let demand =
        morning_peak_with_signal_plans(city, &mut net, &spec.peak, spec.signal_rounds).demand;
    let schedule = link_schedule(&g, states);
    let mut flood = Simulation::new(net.clone(), demand.clone(), spec.sim.clone());
    let mut prev = vec![LinkState::Free; g.links.len()];
    let mut ever_closed = vec![false; g.links.len()];
    let mut ever_slowed = vec![false; g.links.len()];
    let mut closed_from: Vec<(f64, usize)> = Vec::new();
    for (at, s) in &schedule {
        for (i, (&now, before)) in s.iter().zip(prev.iter_mut()).enumerate() {
            if now == *before {
                continue;
            }
            let l = LinkId(i as u32);
            if *before == LinkState::Closed {
                flood.schedule(*at, LinkEvent::Closed(l, false));
            }
            match now {
                LinkState::Closed => {
                    flood.schedule(*at, LinkEvent::Closed(l, true));
                    ever_closed[i] = true;
                }
                LinkState::Capped(kmh) => {
                    flood.schedule(*at, LinkEvent::SpeedCap(l, Some(kmh / 3.6)));
                    ever_slowed[i] = true;
                }
                LinkState::Free => flood.schedule(*at, LinkEvent::SpeedCap(l, None)),
            }
            *before = now;
        }
        closed_from.push((*at, s.iter().filter(|x| **x == LinkState::Closed).count()));
    }
    let mut base = Simulation::new(net, demand, spec.sim.clone());
    base.run(Some(spec.end_s));
    flood.run(Some(spec.end_s));
    let fs: HashMap<u64, f64> = interval_speeds(&flood)
        .into_iter()
        .map(|(b, _, v)| (b.to_bits(), v))
        .collect();
    let intervals = interval_speeds(&base)
        .into_iter()
        .map(|(b, e, v)| TrafficInterval {
            begin_s: b,
            end_s: e,
            baseline_kmh: v,
            flooded_kmh: fs.get(&b.to_bits()).copied().unwrap_or(f64::NAN),
            closed_links: closed_from
                .iter()
                .rev()
                .find(|(t, _)| *t <= b)
                .map_or(0, |(_, n)| *n),
        })
        .collect();
    Ok(FloodTraffic {
        closed_links: ever_closed.iter().filter(|c| **c).count(),
        slowed_links: ever_slowed
            .iter()
            .zip(&ever_closed)
            .filter(|(s, c)| **s && !**c)
            .count(),
        baseline: totals(&base),
        flooded: totals(&flood),
        closed_entries: flood.closed_entries(),
        intervals,
        rain_start_s: match states {
            RoadStates::Worst(_) => None,
            RoadStates::Timeline { rain_start_s, .. } => Some(*rain_start_s),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impacts::RoadRef;

    /// Every road of one arterial line of the demo district.
    fn arterial(city: &City) -> Vec<&twin_model::Feature> {
        city.layer(Layer::TrafficRoad)
            .features()
            .iter()
            .filter(|f| {
                f.kind == "road"
                    && f.name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("Đường trục dọc 2"))
            })
            .collect()
    }

    /// The arterial under 0.4 m of water: closed.
    fn arterial_closed(city: &City) -> Vec<RoadImpact> {
        arterial(city)
            .into_iter()
            .map(|f| RoadImpact {
                feature: f.id.0,
                name: f.name.clone(),
                max_depth_m: 0.4,
                free_kmh: 50.0,
                flooded_kmh: 0.0,
                flooded_length_m: 100.0,
            })
            .collect()
    }

    fn small_peak() -> TrafficSpec {
        TrafficSpec {
            peak: PeakConfig {
                trips: 3000,
                ..PeakConfig::default()
            },
            sim: SimConfig::default(),
            signal_rounds: 0,
            end_s: 7200.0,
        }
    }

    #[test]
    fn the_demo_districts_river_side_has_no_gateway() {
        let city = twin_citygen::generate(&Default::default());
        assert_eq!(open_sides(&city), [true, true, false, true]);
    }

    #[test]
    fn closing_flooded_roads_costs_time_and_nobody_drives_them() {
        let city = twin_citygen::generate(&Default::default());
        let impacts = arterial_closed(&city);
        assert!(impacts.len() > 10);
        let r = flood_traffic(&city, &RoadStates::Worst(impacts.clone()), &small_peak()).unwrap();
        assert_eq!(r.closed_links, 2 * impacts.len());
        assert_eq!(r.baseline.trips, r.flooded.trips);
        assert_eq!(r.baseline.arrived, r.baseline.trips, "{r:?}");
        // Closing a whole arterial makes the peak slower but everyone still gets through.
        assert!(
            r.flooded.arrived + r.flooded.aborted >= r.flooded.trips * 99 / 100,
            "{r:?}"
        );
        assert!(
            r.flooded.mean_duration_s > r.baseline.mean_duration_s,
            "{r:?}"
        );
        assert_eq!(r.closed_entries, 0);
        assert!(r.intervals.iter().all(|i| i.closed_links == r.closed_links));
    }

    #[test]
    fn a_timeline_closes_roads_while_the_water_is_deep_and_reopens_them() {
        let city = twin_citygen::generate(&Default::default());
        let roads: Vec<RoadRef> = arterial(&city)
            .into_iter()
            .map(|f| RoadRef {
                feature: f.id.0,
                name: f.name.clone(),
                free_kmh: 50.0,
            })
            .collect();
        let n = roads.len();
        // Rain starts 600 s before the peak: dry for its first 20 minutes (traffic −600–600 s),
        // 0.4 m for the next 10 (600–1200 s: closed), 0.15 m for 10 (slowed), then dry.
        let timeline = RoadTimeline {
            roads,
            ends_s: vec![1200.0, 1800.0, 2400.0, 3000.0],
            depth_m: vec![vec![0.0; n], vec![0.4; n], vec![0.15; n], vec![0.0; n]],
        };
        let states = RoadStates::Timeline {
            timeline,
            rain_start_s: -600.0,
        };
        let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
        let sched = link_schedule(&g, &states);
        let times: Vec<f64> = sched.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, vec![0.0, 600.0, 1200.0, 1800.0]);
        let closed: Vec<usize> = sched
            .iter()
            .map(|(_, s)| s.iter().filter(|x| **x == LinkState::Closed).count())
            .collect();
        assert_eq!(closed, vec![0, 2 * n, 0, 0]);
        // 0.15 m under Pregnolato: 0.0009·150² − 0.5529·150 + 86.9448 = 24.26 km/h.
        let capped = sched[2]
            .1
            .iter()
            .find_map(|x| match x {
                LinkState::Capped(v) => Some(*v),
                _ => None,
            })
            .unwrap();
        assert!((capped - 24.2598).abs() < 1e-3, "{capped}");
        let r = flood_traffic(&city, &states, &small_peak()).unwrap();
        assert_eq!(r.closed_entries, 0);
        assert_eq!(r.closed_links, 2 * n);
        assert_eq!(r.rain_start_s, Some(-600.0));
        let closed_at = |t: f64| {
            r.intervals
                .iter()
                .find(|i| i.begin_s == t)
                .map(|i| i.closed_links)
        };
        assert_eq!(closed_at(300.0), Some(0));
        assert_eq!(closed_at(600.0), Some(2 * n));
        assert_eq!(closed_at(900.0), Some(2 * n));
        assert_eq!(closed_at(1200.0), Some(0));
        // A ten-minute closure costs something, and strands fewer trips than one for the whole
        // peak.
        let worst = flood_traffic(
            &city,
            &RoadStates::Worst(arterial_closed(&city)),
            &small_peak(),
        )
        .unwrap();
        assert!(
            r.flooded.mean_duration_s > r.baseline.mean_duration_s,
            "{r:?}"
        );
        assert!(r.flooded.aborted < worst.flooded.aborted, "{r:?} {worst:?}");
    }
}
