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
use twin_traffic::network::{LinkId, Network, SignalId};
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
    /// Trips neither arrived nor taken out by the end (still driving or waiting to enter).
    pub unfinished: usize,
    /// Hours every trip spent by the end: arrived trips their duration, trips taken out their
    /// time until then, unfinished ones their time so far
    /// ([`twin_traffic::sim::TripResult::time_by`]).
    pub vehicle_hours_all: f64,
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
    /// Vehicles teleported through jams in the interval: without and with the flood.
    pub teleports: [usize; 2],
    /// Gridlock indicator: teleports per vehicle on the network
    /// ([`twin_traffic::sim::NetworkInterval::gridlock`]), without and with the flood.
    pub gridlock: [f64; 2],
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
    /// Signals dark at some time in the run with the flood (a substation out by the water or
    /// by the scenario), by signal and time.
    pub dark_signals: Vec<crate::power::DarkSignal>,
    /// Vehicles that crossed a dark junction, without and with the flood.
    pub dark_crossings: [usize; 2],
    /// Signals retimed for each [`TrafficSpec::retime`] entry.
    pub retimed_signals: Vec<usize>,
    /// Ways round the stretches the flood closes.
    pub diversions: Vec<crate::response::Diversion>,
    /// The diversions were put in place (not only proposed).
    pub diversions_activated: bool,
    /// Roads per interval and vehicle positions of the run with the flood (with
    /// [`TrafficSpec::playback_every_s`]).
    pub playback: Option<crate::playback::TrafficPlayback>,
}

impl FloodTraffic {
    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let t = |x: &TrafficTotals| serde_json::json!({"trips": x.trips, "arrived": x.arrived, "aborted": x.aborted, "unfinished": x.unfinished, "mean_duration_s": x.mean_duration_s, "vehicle_hours": x.vehicle_hours, "vehicle_hours_all": x.vehicle_hours_all, "rerouted": x.rerouted, "teleports": x.teleports});
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
            "delay_vehicle_hours_all": self.flooded.vehicle_hours_all - self.baseline.vehicle_hours_all,
            "closed_link_entries": self.closed_entries,
            "rain_start_s": self.rain_start_s,
            "dark_signals": self.dark_signals,
            "dark_crossings": self.dark_crossings,
            "retimed_signals": self.retimed_signals,
            "diversions_activated": self.diversions_activated,
            "diversions": self.diversions.iter().map(|d| serde_json::json!({
                "road": d.road, "closed_m": d.closed_m,
                "detour_m": num(d.detour_m), "via": d.via, "from": d.from, "to": d.to,
            })).collect::<Vec<_>>(),
            "intervals": self.intervals.iter().map(|i| serde_json::json!({
                "begin_s": i.begin_s, "end_s": i.end_s,
                "baseline_kmh": num(i.baseline_kmh), "flooded_kmh": num(i.flooded_kmh),
                "closed_links": i.closed_links,
                "teleports": i.teleports,
                "gridlock": i.gridlock,
                "gridlocked": i.gridlock.map(|g| g > twin_traffic::sim::GRIDLOCK_SHARE),
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
    /// Substations and their outages: the signals they feed go dark.
    pub power: crate::power::PowerPlan,
    /// Signals retimed along roads, in both runs.
    pub retime: Vec<crate::response::Retime>,
    /// Diversions activated (`None`: proposed only).
    pub diversions: Option<ActiveDiversions>,
    /// Record what playback needs of the run with the flood (roads per interval, vehicle
    /// positions every this many seconds); `None` = nothing.
    pub playback_every_s: Option<f64>,
}

/// Diversions put in place in the run with the flood: each road closed as soon as its water
/// reaches `close_at_m`, and a share of the drivers told of the closures and current times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActiveDiversions {
    /// Depth at which a road is closed, m.
    pub close_at_m: f64,
    /// Share of drivers rerouting on current times in the run with the flood.
    pub informed: f64,
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
            power: Default::default(),
            retime: Vec::new(),
            diversions: None,
            playback_every_s: None,
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
/// With `close_at_m`, a road is closed as soon as its water reaches that depth (diversions
/// activated).
fn link_schedule(
    g: &RoadGraph,
    states: &RoadStates,
    close_at_m: Option<f64>,
) -> Vec<(f64, Vec<LinkState>)> {
    let closes = |depth_m: f64| close_at_m.is_some_and(|c| depth_m >= c);
    match states {
        RoadStates::Worst(impacts) => {
            let by_feature: HashMap<FeatureId, &RoadImpact> =
                impacts.iter().map(|i| (i.feature, i)).collect();
            let s = g
                .links
                .iter()
                .map(|l| {
                    by_feature.get(&l.feature).map_or(LinkState::Free, |imp| {
                        if closes(imp.max_depth_m) {
                            LinkState::Closed
                        } else {
                            link_state(imp.flooded_kmh, l.speed_kmh)
                        }
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
                            if closes(timeline.depth_m[k][r] as f64) {
                                LinkState::Closed
                            } else {
                                link_state(timeline.speed_kmh(k, r), l.speed_kmh)
                            }
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

fn totals(sim: &Simulation, end_s: f64) -> TrafficTotals {
    let r = sim.trip_results();
    let all: f64 = r.iter().map(|t| t.time_by(end_s)).sum();
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
        unfinished: r
            .iter()
            .filter(|t| !matches!(t.state, VehicleState::Arrived | VehicleState::Aborted))
            .count(),
        vehicle_hours_all: all / 3600.0,
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
    let retimed_signals: Vec<usize> = spec
        .retime
        .iter()
        .map(|r| crate::response::retime_signals(&g, &mut net, r))
        .collect();
    let n = g.links.len();
    let schedule = link_schedule(&g, states, spec.diversions.map(|d| d.close_at_m));
    let planned = planned_closures(&g, &spec.closures);
    let mut flood_cfg = spec.sim.clone();
    if let Some(d) = spec.diversions {
        flood_cfg.reroute_fraction = d.informed;
    }
    if let Some(every) = spec.playback_every_s {
        flood_cfg.fcd_interval = every;
    }
    let mut flood = Simulation::new(net.clone(), demand.clone(), flood_cfg);
    let flood_schedule = with_closures(&schedule, &planned, n);
    schedule_events(&mut flood, &flood_schedule, n);
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
    let shut: std::collections::BTreeSet<FeatureId> = g
        .links
        .iter()
        .zip(&ever_closed)
        .filter(|(_, c)| **c)
        .map(|(l, _)| l.feature)
        .collect();
    let diversions = crate::response::diversions(city, &g, &shut);
    // Signals dark while the substation feeding them is out.
    let dark_flood = crate::power::dark_periods(&net, &spec.power, true);
    let dark_base = crate::power::dark_periods(&net, &spec.power, false);
    schedule_dark(&mut flood, &dark_flood);
    let dark_signals = dark_flood
        .iter()
        .map(|&(s, j, from, to, planned)| {
            let node = net
                .signal_node(SignalId(s as u32))
                .expect("dark periods are of signals with movements");
            crate::power::DarkSignal {
                signal: s,
                x: net.node_x[node.index()],
                y: net.node_y[node.index()],
                substation: spec.power.substations[j].name.clone(),
                from_s: from,
                to_s: to.is_finite().then_some(to),
                planned,
            }
        })
        .collect();
    let mut base = Simulation::new(net, demand, spec.sim.clone());
    schedule_events(&mut base, &with_closures(&[], &planned, n), n);
    schedule_dark(&mut base, &dark_base);
    base.run(Some(spec.end_s));
    flood.run(Some(spec.end_s));
    let fs: HashMap<u64, f64> = interval_speeds(&flood)
        .into_iter()
        .map(|(b, _, v)| (b.to_bits(), v))
        .collect();
    let net_at = |sim: &Simulation| -> HashMap<u64, (usize, f64)> {
        sim.network_stats()
            .iter()
            .map(|i| (i.begin.to_bits(), (i.teleports, i.gridlock())))
            .collect()
    };
    let (nb, nf) = (net_at(&base), net_at(&flood));
    let intervals = interval_speeds(&base)
        .into_iter()
        .map(|(b, e, v)| TrafficInterval {
            teleports: [
                nb.get(&b.to_bits()).map_or(0, |x| x.0),
                nf.get(&b.to_bits()).map_or(0, |x| x.0),
            ],
            gridlock: [
                nb.get(&b.to_bits()).map_or(0.0, |x| x.1),
                nf.get(&b.to_bits()).map_or(0.0, |x| x.1),
            ],
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
        baseline: totals(&base, spec.end_s),
        flooded: totals(&flood, spec.end_s),
        closed_entries: flood.closed_entries() + base.closed_entries(),
        intervals,
        rain_start_s: match states {
            RoadStates::Worst(_) => None,
            RoadStates::Timeline { rain_start_s, .. } => Some(*rain_start_s),
        },
        dark_crossings: [
            base.counters().dark_crossings,
            flood.counters().dark_crossings,
        ],
        dark_signals,
        retimed_signals,
        diversions,
        diversions_activated: spec.diversions.is_some(),
        playback: spec.playback_every_s.map(|_| {
            let closed: Vec<(f64, Vec<bool>)> = flood_schedule
                .iter()
                .map(|(t, s)| (*t, s.iter().map(|x| *x == LinkState::Closed).collect()))
                .collect();
            crate::playback::TrafficPlayback {
                roads: crate::playback::road_intervals(&g, &flood, &closed),
                vehicles: crate::playback::vehicle_frames(&flood),
            }
        }),
    })
}

/// Schedules dark periods `(signal, substation, from, to, planned)` on a simulation.
fn schedule_dark(sim: &mut Simulation, periods: &[(usize, usize, f64, f64, bool)]) {
    for &(s, _, from, to, _) in periods {
        sim.schedule(from, LinkEvent::SignalDark(SignalId(s as u32), true));
        if to.is_finite() {
            sim.schedule(to, LinkEvent::SignalDark(SignalId(s as u32), false));
        }
    }
}

pub use twin_traffic::sim::GRIDLOCK_SHARE;

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
    /// Clock time the rain started, minutes after midnight.
    pub rain_start_min: f64,
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
    /// hour 07:00–08:00), the emergency services' reach (residents beyond each standard
    /// before the flood and at its worst), buildings flooded by use, jobs under water,
    /// residents and jobs cut off, substations out, dark signals, signals retimed and
    /// diversions. Clock times in minutes after midnight.
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
            "delay_vehicle_hours_all": t.flooded.vehicle_hours_all - t.baseline.vehicle_hours_all,
            "unfinished": [t.baseline.unfinished, t.flooded.unfinished],
            "gridlocked_intervals": [
                t.intervals.iter().filter(|i| i.gridlock[0] > twin_traffic::sim::GRIDLOCK_SHARE).count(),
                t.intervals.iter().filter(|i| i.gridlock[1] > twin_traffic::sim::GRIDLOCK_SHARE).count(),
            ],
            "teleports": [t.baseline.teleports, t.flooded.teleports],
            "closed_link_entries": t.closed_entries,
            "peak_hour_speed_kmh": [peak_hour(|i| i.baseline_kmh), peak_hour(|i| i.flooded_kmh)],
            "reach": self.reach.services,
            "buildings_flooded": {
                "ge_0.1_m": self.exposure.buildings.iter().map(|b| b.flooded[0]).sum::<usize>(),
                "ge_0.3_m": self.exposure.buildings.iter().map(|b| b.flooded[1]).sum::<usize>(),
                "ge_0.5_m": self.exposure.buildings.iter().map(|b| b.flooded[2]).sum::<usize>(),
                "by_use": self.exposure.buildings,
            },
            "jobs": {"ge_0.1_m": self.exposure.jobs[0], "ge_0.3_m": self.exposure.jobs[1], "ge_0.5_m": self.exposure.jobs[2]},
            "cut_off": self.exposure.cut_off,
            "substations_out": self
                .storm
                .substations
                .as_ref()
                .map_or(0, |s| s.out_from_s().iter().flatten().count()),
            "substations": self.storm.substations.as_ref().map_or(Vec::new(), |t| {
                t.substations
                    .iter()
                    .zip(t.max_depth_m())
                    .zip(t.out_from_s())
                    .map(|((b, d), o)| serde_json::json!({
                        "name": b.name,
                        "max_depth_m": d,
                        "threshold_m": b.threshold_m,
                        "out_clock_min": o.map(|s| self.rain_start_min + s / 60.0),
                    }))
                    .collect()
            }),
            "dark_signals": t.dark_signals.len(),
            "dark_crossings": t.dark_crossings,
            "retimed_signals": t.retimed_signals.iter().sum::<usize>(),
            "diversions": t.diversions.len(),
            "diversions_activated": t.diversions_activated,
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
    // Substations the water takes out, in traffic time.
    let mut traffic_spec = spec.traffic.clone();
    if let Some(t) = &storm.substations {
        let rain_start_s = (spec.rain_start_min - CLOCK_START_MIN) * 60.0;
        traffic_spec.power.substations = t.substations.clone();
        traffic_spec.power.flood_out_s = t
            .out_from_s()
            .into_iter()
            .map(|o| o.map(|s| rain_start_s + s))
            .collect();
    }
    progress(Stage::Traffic, 0.0);
    let traffic = flood_traffic(city, &states, &traffic_spec)?;
    progress(Stage::Traffic, 1.0);
    Ok(ScenarioResult {
        storm,
        exposure,
        traffic,
        reach,
        rain_start_min: spec.rain_start_min,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::impacts::RoadRef;

    /// Every road of one arterial line of the demo district.
    pub(crate) fn arterial(city: &City) -> Vec<&twin_model::Feature> {
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
            power: Default::default(),
            retime: Vec::new(),
            diversions: None,
            playback_every_s: None,
        }
    }

    #[test]
    fn a_flooded_substations_signals_go_dark_and_no_others_do() {
        use crate::power::{PlannedOutage, PowerPlan, substations};
        let city = twin_citygen::generate(&Default::default());
        let subs = substations(&city);
        let mut spec = small_peak();
        spec.power = PowerPlan {
            substations: subs.clone(),
            flood_out_s: vec![Some(600.0), None, None, None],
            planned: Vec::new(),
        };
        let dry = RoadStates::Worst(Vec::new());
        let r = flood_traffic(&city, &dry, &spec).unwrap();
        // The signals nearest substation 0, found from the road graph's signal nodes.
        let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
        let net = Network::from_road_graph(&g).unwrap();
        let expect: std::collections::BTreeSet<usize> = net
            .signals
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                let pos = g.nodes[p.name.parse::<usize>().unwrap()].pos;
                let d = |b: &crate::power::Substation| (b.at[0] - pos[0]).hypot(b.at[1] - pos[1]);
                subs[1..].iter().all(|b| d(&subs[0]) < d(b))
            })
            .map(|(s, _)| s)
            .collect();
        let got: std::collections::BTreeSet<usize> =
            r.dark_signals.iter().map(|d| d.signal).collect();
        assert!(expect.len() >= 5, "{expect:?}");
        assert_eq!(got, expect);
        assert!(r.dark_signals.iter().all(|d| d.from_s == 600.0
            && d.to_s.is_none()
            && !d.planned
            && d.substation == subs[0].name));
        assert_eq!(r.dark_crossings[0], 0);
        assert!(r.dark_crossings[1] > 100, "{:?}", r.dark_crossings);
        // A substation the scenario takes out 07:00–07:30 darkens its signals in both runs.
        spec.power.flood_out_s = vec![None; 4];
        spec.power.planned = vec![PlannedOutage {
            substation: 1,
            from_s: 3600.0,
            to_s: 5400.0,
        }];
        let r = flood_traffic(&city, &dry, &spec).unwrap();
        assert_eq!(r.baseline, r.flooded);
        assert_eq!(r.dark_crossings[0], r.dark_crossings[1]);
        assert!(r.dark_crossings[0] > 100, "{:?}", r.dark_crossings);
        assert!(
            r.dark_signals
                .iter()
                .all(|d| d.planned && d.to_s == Some(5400.0))
        );
    }

    #[test]
    fn responses_act_only_where_they_can_reach() {
        let city = twin_citygen::generate(&Default::default());
        let dry = RoadStates::Worst(Vec::new());
        let plain = flood_traffic(&city, &dry, &small_peak()).unwrap();
        assert!(plain.diversions.is_empty() && plain.retimed_signals.is_empty());
        // Diversions activated without a flood: nothing to divert, the same runs.
        let spec = TrafficSpec {
            diversions: Some(ActiveDiversions {
                close_at_m: 0.15,
                informed: 1.0,
            }),
            ..small_peak()
        };
        let r = flood_traffic(&city, &dry, &spec).unwrap();
        assert_eq!(r.baseline, plain.baseline);
        assert!(r.diversions.is_empty() && r.diversions_activated);
        // Under a flood that closes the arterial, the diversions go round it.
        let wet = flood_traffic(
            &city,
            &RoadStates::Worst(arterial_closed(&city)),
            &small_peak(),
        )
        .unwrap();
        assert_eq!(wet.diversions.len(), 2, "{:?}", wet.diversions);
        // Retiming the arterial's signals changes both runs alike.
        let features: Vec<FeatureId> = arterial(&city).into_iter().map(|f| f.id).collect();
        let spec = TrafficSpec {
            retime: vec![crate::response::Retime {
                road: "arterial".into(),
                features,
                green_share: 0.8,
            }],
            ..small_peak()
        };
        let r = flood_traffic(&city, &dry, &spec).unwrap();
        assert!(r.retimed_signals[0] >= 3, "{:?}", r.retimed_signals);
        assert_eq!(r.baseline, r.flooded);
        assert_ne!(r.baseline, plain.baseline);
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
    fn playback_shows_a_closed_road_closed_and_empty_and_the_vehicles_on_the_network() {
        let city = twin_citygen::generate(&Default::default());
        let features: Vec<FeatureId> = arterial(&city).into_iter().map(|f| f.id).collect();
        let dry = RoadStates::Worst(Vec::new());
        let spec = TrafficSpec {
            closures: vec![RoadClosure {
                features: features.clone(),
                from_s: 1800.0,
                to_s: 3600.0,
            }],
            playback_every_s: Some(60.0),
            ..small_peak()
        };
        let r = flood_traffic(&city, &dry, &spec).unwrap();
        let p = r.playback.as_ref().unwrap();
        let on = |f: &crate::playback::RoadInterval| features.contains(&f.feature);
        let closed_rows: Vec<_> = p.roads.iter().filter(|x| on(x) && x.closed).collect();
        // Closed for exactly the intervals from 30 to 60 minutes, carrying no vehicle then,
        // and open and driven before.
        assert!(!closed_rows.is_empty());
        assert!(
            closed_rows
                .iter()
                .all(|x| x.begin_s >= 1800.0 && x.end_s <= 3600.0 && x.vehicles == 0),
            "{closed_rows:?}"
        );
        let before: u32 = p
            .roads
            .iter()
            .filter(|x| on(x) && x.end_s <= 1800.0)
            .map(|x| x.vehicles)
            .sum();
        assert!(before > 100, "{before}");
        assert!(p.roads.iter().filter(|x| !on(x)).all(|x| !x.closed));
        let driven = p.roads.iter().filter(|x| x.vehicles > 0);
        assert!(
            driven
                .clone()
                .all(|x| x.speed_kmh.is_nan() || (1.0..=80.0).contains(&x.speed_kmh))
        );
        // A frame a minute; every vehicle on the network's extent; the classes of the peak.
        let net = Network::from_road_graph(&RoadGraph::from_layer(city.layer(Layer::TrafficRoad)))
            .unwrap();
        let (x0, x1) = net
            .node_x
            .iter()
            .fold((f64::MAX, f64::MIN), |a, &x| (a.0.min(x), a.1.max(x)));
        let (y0, y1) = net
            .node_y
            .iter()
            .fold((f64::MAX, f64::MIN), |a, &y| (a.0.min(y), a.1.max(y)));
        assert!(
            p.vehicles
                .windows(2)
                .all(|w| (w[1].time_s - w[0].time_s - 60.0).abs() < 1e-9)
        );
        let busiest = p.vehicles.iter().map(|f| f.vehicles.len()).max().unwrap();
        assert!(busiest > 200, "{busiest}");
        let all = p.vehicles.iter().flat_map(|f| &f.vehicles);
        assert!(
            all.clone()
                .all(|v| (x0 - 1.0..=x1 + 1.0).contains(&(v.x as f64))
                    && (y0 - 1.0..=y1 + 1.0).contains(&(v.y as f64)))
        );
        use twin_traffic::demand::VehicleClass as C;
        let share = |c: C| all.clone().filter(|v| v.class == c).count();
        assert!(
            share(C::Motorbike) > share(C::Car),
            "{} {}",
            share(C::Motorbike),
            share(C::Car)
        );
        // Recording changes nothing of the run.
        let plain = flood_traffic(
            &city,
            &dry,
            &TrafficSpec {
                playback_every_s: None,
                ..spec.clone()
            },
        )
        .unwrap();
        assert_eq!(plain.flooded, r.flooded);
        assert!(plain.playback.is_none());
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
        let sched = link_schedule(&g, &states, None);
        let times: Vec<f64> = sched.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, vec![0.0, 600.0, 1200.0, 1800.0]);
        let closed: Vec<usize> = sched
            .iter()
            .map(|(_, s)| s.iter().filter(|x| **x == LinkState::Closed).count())
            .collect();
        assert_eq!(closed, vec![0, 2 * n, 0, 0]);
        // Diversions activated at 0.15 m close the roads while the water is 0.15 m too.
        let early: Vec<usize> = link_schedule(&g, &states, Some(0.15))
            .iter()
            .map(|(_, s)| s.iter().filter(|x| **x == LinkState::Closed).count())
            .collect();
        assert_eq!(early, vec![0, 2 * n, 2 * n, 0]);
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
