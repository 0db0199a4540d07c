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

use crate::impacts::{Exposure, RoadImpact, RoadTimeline};
use crate::storm::{Ground, StormError, StormResult, StormSpec};
use std::collections::HashMap;
use twin_model::{City, FeatureId, Layer, RoadGraph};
use twin_traffic::city_demand::{PeakConfig, morning_peak_with_signal_plans};
use twin_traffic::error::TrafficError;
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
    /// Vehicles that entered a closed link in either run (must be 0).
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
    /// Roads the scenario closes (interventions), in both runs.
    pub closures: Vec<RoadClosure>,
}

/// Road features closed by the scenario for a span of traffic time, in the runs with and
/// without the flood alike: every directed link cut from them carries no vehicle then.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadClosure {
    /// Road features of the Traffic & Road layer.
    pub features: Vec<FeatureId>,
    /// Start, s of traffic time.
    pub from_s: f64,
    /// End, s of traffic time (reopened then).
    pub to_s: f64,
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
            closures: Vec::new(),
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
            let by_feature: HashMap<FeatureId, &RoadImpact> =
                impacts.iter().map(|i| (i.feature, i)).collect();
            let s = g
                .links
                .iter()
                .map(|l| {
                    by_feature.get(&l.feature).map_or(LinkState::Free, |imp| {
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
            let road_of: HashMap<FeatureId, usize> = timeline
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
                        road_of.get(&l.feature).map_or(LinkState::Free, |&r| {
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

/// The scenario's own closures as a link schedule of `g`: at each start and end, whether each
/// link is closed.
fn planned_closures(g: &RoadGraph, closures: &[RoadClosure]) -> Vec<(f64, Vec<bool>)> {
    let mut times: Vec<f64> = closures
        .iter()
        .flat_map(|c| [c.from_s.max(0.0), c.to_s.max(0.0)])
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    times
        .into_iter()
        .map(|t| {
            let closed = g
                .links
                .iter()
                .map(|l| {
                    closures.iter().any(|c| {
                        c.from_s.max(0.0) <= t && t < c.to_s && c.features.contains(&l.feature)
                    })
                })
                .collect();
            (t, closed)
        })
        .collect()
}

/// A link schedule with the scenario's closures laid over it: a link the scenario closes is
/// closed whatever the water does, and takes the flood's state again when it reopens.
fn with_closures(
    schedule: &[(f64, Vec<LinkState>)],
    planned: &[(f64, Vec<bool>)],
    links: usize,
) -> Vec<(f64, Vec<LinkState>)> {
    if planned.is_empty() {
        return schedule.to_vec();
    }
    let mut times: Vec<f64> = schedule
        .iter()
        .map(|(t, _)| *t)
        .chain(planned.iter().map(|(t, _)| *t))
        .collect();
    times.sort_by(f64::total_cmp);
    times.dedup();
    let free = vec![LinkState::Free; links];
    let open = vec![false; links];
    times
        .into_iter()
        .map(|t| {
            let flood = schedule
                .iter()
                .rev()
                .find(|(at, _)| *at <= t)
                .map_or(&free, |(_, s)| s);
            let closed = planned
                .iter()
                .rev()
                .find(|(at, _)| *at <= t)
                .map_or(&open, |(_, c)| c);
            let s = flood
                .iter()
                .zip(closed)
                .map(|(&f, &c)| if c { LinkState::Closed } else { f })
                .collect();
            (t, s)
        })
        .collect()
}

/// Schedules a link schedule's changes on a simulation as link events.
fn schedule_events(sim: &mut Simulation, schedule: &[(f64, Vec<LinkState>)], links: usize) {
    let mut prev = vec![LinkState::Free; links];
    for (at, s) in schedule {
        for (i, (&now, before)) in s.iter().zip(prev.iter_mut()).enumerate() {
            if now == *before {
                continue;
            }
            let l = LinkId(i as u32);
            if *before == LinkState::Closed {
                sim.schedule(*at, LinkEvent::Closed(l, false));
            }
            match now {
                LinkState::Closed => sim.schedule(*at, LinkEvent::Closed(l, true)),
                LinkState::Capped(kmh) => {
                    sim.schedule(*at, LinkEvent::SpeedCap(l, Some(kmh / 3.6)))
                }
                LinkState::Free => sim.schedule(*at, LinkEvent::SpeedCap(l, None)),
            }
            *before = now;
        }
    }
}

/// Runs the peak on the city's roads with and without the flood's road states, with the same
/// demand, signal plans and scenario closures in both.
pub fn flood_traffic(
    city: &City,
    states: &RoadStates,
    spec: &TrafficSpec,
) -> Result<FloodTraffic, TrafficError> {
    let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    let mut net = Network::from_road_graph(&g)?;
    let demand =
        morning_peak_with_signal_plans(city, &mut net, &spec.peak, spec.signal_rounds).demand;
    let n = g.links.len();
    let schedule = link_schedule(&g, states);
    let planned = planned_closures(&g, &spec.closures);
    let mut flood = Simulation::new(net.clone(), demand.clone(), spec.sim.clone());
    schedule_events(&mut flood, &with_closures(&schedule, &planned, n), n);
    // What the flood itself closes and slows, and when.
    let mut ever_closed = vec![false; n];
    let mut ever_slowed = vec![false; n];
    let mut closed_from: Vec<(f64, usize)> = Vec::new();
    for (at, s) in &schedule {
        for (i, st) in s.iter().enumerate() {
            match st {
                LinkState::Closed => ever_closed[i] = true,
                LinkState::Capped(_) => ever_slowed[i] = true,
                LinkState::Free => {}
            }
        }
        closed_from.push((*at, s.iter().filter(|x| **x == LinkState::Closed).count()));
    }
    let mut base = Simulation::new(net, demand, spec.sim.clone());
    schedule_events(&mut base, &with_closures(&[], &planned, n), n);
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
        closed_entries: flood.closed_entries() + base.closed_entries(),
        intervals,
        rain_start_s: match states {
            RoadStates::Worst(_) => None,
            RoadStates::Timeline { rain_start_s, .. } => Some(*rain_start_s),
        },
    })
}

/// Clock time at which traffic time 0 falls, minutes after midnight (the morning peak period
/// starts at 06:00).
pub const CLOCK_START_MIN: f64 = 360.0;

/// `HH:MM` of minutes after midnight (wrapping past midnight either way).
pub fn clock(min: f64) -> String {
    let m = min.round().rem_euclid(24.0 * 60.0) as i64;
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Most person trips a scenario's peak period may hold: the morning peak period of a city of
/// 10 million (about 2.5 trips per person a day, a third of them between 06:00 and 09:00, is
/// about 8 million).
pub const MAX_TRIPS: usize = 8_000_000;

/// A whole scenario on a city: a storm, then the morning peak with and without its road
/// states.
#[derive(Debug, Clone)]
pub struct ScenarioSpec {
    /// The storm (its road timeline is always recorded: the report times each closure).
    pub storm: StormSpec,
    /// The traffic run (see [`TrafficSpec::for_city`]).
    pub traffic: TrafficSpec,
    /// Clock time of the rain's start, minutes after midnight.
    pub rain_start_min: f64,
    /// Each road's worst state from the start of the peak instead of interval by interval.
    pub worst_case: bool,
}

/// What a scenario run leaves.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// The storm: rasters, balance, gauges, road timeline and impacts.
    pub storm: StormResult,
    /// Who and what the flood reaches.
    pub exposure: Exposure,
    /// The morning peak with and without the flood.
    pub traffic: FloodTraffic,
    /// The emergency services' reach before the flood and at its worst.
    pub reach: crate::reach::Reach,
}

/// The stage a scenario run is in, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The storm (progress is the fraction simulated).
    Flood,
    /// The morning peak with and without the flood (reported once at its start).
    Traffic,
}

/// Errors of a scenario run.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The storm.
    #[error(transparent)]
    Storm(#[from] StormError),
    /// The traffic run.
    #[error("traffic: {0}")]
    Traffic(#[from] TrafficError),
    /// A setting out of range.
    #[error("{0}")]
    Spec(String),
}

impl TrafficSpec {
    /// [`TrafficSpec::morning_peak_period`] for `city`: gateways only on the sides of its road
    /// network that do not face a river ([`open_sides`]).
    pub fn for_city(city: &City, trips: usize, seed: u64) -> TrafficSpec {
        let mut spec = TrafficSpec::morning_peak_period(trips, seed);
        if let Some(e) = spec.peak.external.as_mut() {
            e.open_sides = open_sides(city);
        }
        spec
    }
}

impl ScenarioResult {
    /// The figures a reader of the run looks for first, as `summary.json`: flooded area and
    /// residents under 10/30/50 cm, the deepest water, the water balance's closure, each
    /// gauge's peak, when roads first closed and the most closed at once, and the traffic
    /// with and without the flood (trips, arrivals, stranded, mean trip, delay, teleports,
    /// entries into closed links, and the mean of the five-minute network speeds in the peak
    /// hour 07:00–08:00), and the emergency services' reach (residents beyond each standard
    /// before the flood and at its worst). Clock times in minutes after midnight.
    pub fn summary_json(&self) -> serde_json::Value {
        let t = &self.traffic;
        let clock = |s: f64| CLOCK_START_MIN + s / 60.0;
        let first_closed = t
            .intervals
            .iter()
            .find(|i| i.closed_links > 0)
            .map(|i| clock(i.begin_s));
        let most = t
            .intervals
            .iter()
            .fold(None::<&TrafficInterval>, |m, i| match m {
                Some(m) if m.closed_links >= i.closed_links => Some(m),
                _ => Some(i),
            })
            .filter(|i| i.closed_links > 0);
        let peak_hour = |f: fn(&TrafficInterval) -> f64| {
            let v: Vec<f64> = t
                .intervals
                .iter()
                .filter(|i| (3600.0..7200.0).contains(&i.begin_s) && f(i).is_finite())
                .map(f)
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let roads = self.storm.impacts.as_deref().unwrap_or_default();
        serde_json::json!({
            "minutes": self.storm.minutes,
            "max_depth_m": self.storm.max_depth_m(),
            "flooded_area_m2": {"ge_0.1_m": self.exposure.area_m2[0], "ge_0.3_m": self.exposure.area_m2[1], "ge_0.5_m": self.exposure.area_m2[2]},
            "residents": {"ge_0.1_m": self.exposure.residents[0], "ge_0.3_m": self.exposure.residents[1], "ge_0.5_m": self.exposure.residents[2]},
            "services_reached": self.exposure.services.len(),
            "closure_error_percent": self.storm.closure_error_percent(),
            "gauge_peaks_m": self.storm.gauges.iter().map(|g| serde_json::json!({
                "gauge": g.gauge.name,
                "peak_m": g.depths_m.iter().copied().fold(0.0f64, f64::max),
            })).collect::<Vec<_>>(),
            "roads_closed": roads.iter().filter(|r| r.flooded_kmh <= 0.0).count(),
            "roads_slowed": roads.iter().filter(|r| r.flooded_kmh > 0.0).count(),
            "first_closure_clock_min": first_closed,
            "most_links_closed": most.map_or(0, |i| i.closed_links),
            "most_links_closed_clock_min": most.map(|i| clock(i.begin_s)),
            "links_closed": t.closed_links,
            "links_slowed": t.slowed_links,
            "vehicle_trips": t.baseline.trips,
            "arrived": [t.baseline.arrived, t.flooded.arrived],
            "stranded": t.flooded.aborted,
            "rerouted": t.flooded.rerouted,
            "mean_trip_s": [t.baseline.mean_duration_s, t.flooded.mean_duration_s],
            "delay_vehicle_hours": t.flooded.vehicle_hours - t.baseline.vehicle_hours,
            "teleports": [t.baseline.teleports, t.flooded.teleports],
            "closed_link_entries": t.closed_entries,
            "peak_hour_speed_kmh": [peak_hour(|i| i.baseline_kmh), peak_hour(|i| i.flooded_kmh)],
            "reach": self.reach.services,
        })
    }
}

/// Runs the scenario: the storm on the city, its road impacts and exposure, then the peak with
/// and without the flood's road states.
pub fn run(
    city: &City,
    spec: &ScenarioSpec,
    progress: &mut dyn FnMut(Stage, f64),
) -> Result<ScenarioResult, ScenarioError> {
    if spec.traffic.peak.trips > MAX_TRIPS {
        return Err(ScenarioError::Spec(format!(
            "{} person trips is more than the morning peak of a whole city of 10 million \
             needs (at most {MAX_TRIPS})",
            spec.traffic.peak.trips
        )));
    }
    if !(0.0..=1.0).contains(&spec.traffic.sim.reroute_fraction) {
        return Err(ScenarioError::Spec(format!(
            "the informed share must lie in 0..1, got {}",
            spec.traffic.sim.reroute_fraction
        )));
    }
    if !(0.0..24.0 * 60.0).contains(&spec.rain_start_min) {
        return Err(ScenarioError::Spec(format!(
            "the rain's start must be a clock time in 00:00..23:59, got minute {}",
            spec.rain_start_min
        )));
    }
    let mut storm_spec = spec.storm.clone();
    storm_spec.road_timeline = true;
    let storm = crate::storm::run(Ground::City(city), &storm_spec, &mut |f| {
        progress(Stage::Flood, f)
    })?;
    let impacts = storm.impacts.clone().unwrap_or_default();
    let depth = &storm.rasters.max_depth;
    let exposure = crate::impacts::exposure(city, depth, &impacts);
    let reach = crate::reach::reach(city, &impacts);
    let states = match (&storm.roads, spec.worst_case) {
        (Some(timeline), false) => RoadStates::Timeline {
            timeline: timeline.clone(),
            rain_start_s: (spec.rain_start_min - CLOCK_START_MIN) * 60.0,
        },
        _ => RoadStates::Worst(impacts),
    };
    progress(Stage::Traffic, 0.0);
    let traffic = flood_traffic(city, &states, &spec.traffic)?;
    progress(Stage::Traffic, 1.0);
    Ok(ScenarioResult {
        storm,
        exposure,
        traffic,
        reach,
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
                feature: f.id,
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
            closures: Vec::new(),
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
    fn a_road_the_scenario_closes_carries_no_vehicle_in_either_run_and_reopens() {
        let city = twin_citygen::generate(&Default::default());
        let features: Vec<FeatureId> = arterial(&city).into_iter().map(|f| f.id).collect();
        let dry = RoadStates::Worst(Vec::new());
        let open = flood_traffic(&city, &dry, &small_peak()).unwrap();
        let spec = TrafficSpec {
            closures: vec![RoadClosure {
                features: features.clone(),
                from_s: 0.0,
                to_s: 3600.0,
            }],
            ..small_peak()
        };
        let closed = flood_traffic(&city, &dry, &spec).unwrap();
        assert_eq!(closed.closed_entries, 0, "{closed:?}");
        // The scenario's closure is in both runs (no flood: they are the same run) and costs
        // time; it is not counted as the flood's.
        assert_eq!(closed.baseline, closed.flooded);
        assert!(
            closed.baseline.mean_duration_s > open.baseline.mean_duration_s,
            "{} vs {}",
            closed.baseline.mean_duration_s,
            open.baseline.mean_duration_s
        );
        assert_eq!(closed.closed_links, 0);
        // Laid over a flood timeline, the closure holds while the water has gone and the
        // road reopens at its end.
        let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
        let planned = planned_closures(&g, &spec.closures);
        assert_eq!(
            planned.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            vec![0.0, 3600.0]
        );
        let wet = vec![(0.0, vec![LinkState::Capped(20.0); g.links.len()])];
        let merged = with_closures(&wet, &planned, g.links.len());
        let on_arterial = |s: &Vec<LinkState>| {
            g.links
                .iter()
                .zip(s)
                .filter(|(l, _)| features.contains(&l.feature))
                .all(|(_, x)| *x == LinkState::Closed)
        };
        assert!(on_arterial(&merged[0].1));
        assert!(!on_arterial(&merged[1].1));
        assert!(merged[1].1.iter().all(|x| *x == LinkState::Capped(20.0)));
    }

    #[test]
    fn a_timeline_closes_roads_while_the_water_is_deep_and_reopens_them() {
        let city = twin_citygen::generate(&Default::default());
        let roads: Vec<RoadRef> = arterial(&city)
            .into_iter()
            .map(|f| RoadRef {
                feature: f.id,
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
