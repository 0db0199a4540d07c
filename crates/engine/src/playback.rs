//! What playback needs of the traffic in a run with the flood: each road's state per
//! statistics interval and the vehicles' positions sampled along their links.

use twin_model::{FeatureId, RoadGraph};
use twin_traffic::demand::VehicleClass;
use twin_traffic::sim::Simulation;

/// A road (one feature of the road layer, both directions) over one statistics interval.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadInterval {
    /// Interval start, s of traffic time.
    pub begin_s: f64,
    /// Interval end, s.
    pub end_s: f64,
    /// The road's feature.
    pub feature: FeatureId,
    /// Space-mean speed of the vehicles that left its links in the interval, km/h (NaN when
    /// none left).
    pub speed_kmh: f64,
    /// Every link of the road was closed at the interval's start.
    pub closed: bool,
    /// Vehicles that entered its links in the interval.
    pub vehicles: u32,
}

/// One vehicle at one sample time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VehiclePosition {
    /// Trip index (departure order).
    pub trip: u32,
    /// Its class.
    pub class: VehicleClass,
    /// Easting on the straight line between its link's end junctions, m.
    pub x: f32,
    /// Northing, m.
    pub y: f32,
}

/// The vehicles on the network at one sample time.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleFrame {
    /// Time, s of traffic time.
    pub time_s: f64,
    /// Every vehicle on a link or in a link's exit queue, by trip.
    pub vehicles: Vec<VehiclePosition>,
}

/// The traffic half of a run's playback (the run with the flood).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrafficPlayback {
    /// Roads by interval, then by feature.
    pub roads: Vec<RoadInterval>,
    /// Vehicle positions every sample period.
    pub vehicles: Vec<VehicleFrame>,
}

/// Roads per statistics interval of `sim` (run on the network of `g`, link for link), with
/// `closed`: the links' closed state from each time on (sorted by time).
pub(crate) fn road_intervals(
    g: &RoadGraph,
    sim: &Simulation,
    closed: &[(f64, Vec<bool>)],
) -> Vec<RoadInterval> {
    let net = sim.network();
    // Features in first-seen link order, each with its links.
    let mut features: Vec<FeatureId> = g.links.iter().map(|l| l.feature).collect();
    features.sort();
    features.dedup();
    let index = |f: FeatureId| features.binary_search(&f).expect("feature of a link");
    let mut links_of: Vec<Vec<usize>> = vec![Vec::new(); features.len()];
    for (i, l) in g.links.iter().enumerate() {
        links_of[index(l.feature)].push(i);
    }
    let mut begins: Vec<(f64, f64)> = sim
        .network_stats()
        .iter()
        .map(|s| (s.begin, s.end))
        .collect();
    begins.dedup();
    // (distance, time, entered) per interval and feature.
    let mut acc = vec![vec![(0.0f64, 0.0f64, 0u32); features.len()]; begins.len()];
    for s in sim.link_stats() {
        let Ok(k) = begins.binary_search_by(|(b, _)| b.total_cmp(&s.begin)) else {
            continue;
        };
        let Some(link) = g.links.get(s.link.index()) else {
            continue;
        };
        let a = &mut acc[k][index(link.feature)];
        if s.left > 0 && s.mean_travel_time.is_finite() {
            a.0 += s.left as f64 * net.link_length[s.link.index()];
            a.1 += s.left as f64 * s.mean_travel_time;
        }
        a.2 += s.entered;
    }
    let mut out = Vec::with_capacity(begins.len() * features.len());
    for (k, &(begin_s, end_s)) in begins.iter().enumerate() {
        let state = closed.iter().rev().find(|(t, _)| *t <= begin_s + 1e-9);
        for (j, &feature) in features.iter().enumerate() {
            let (d, t, entered) = acc[k][j];
            out.push(RoadInterval {
                begin_s,
                end_s,
                feature,
                speed_kmh: if t > 0.0 { 3.6 * d / t } else { f64::NAN },
                closed: state.is_some_and(|(_, c)| links_of[j].iter().all(|&l| c[l])),
                vehicles: entered,
            });
        }
    }
    out
}

/// The positions `sim` recorded (its `fcd_interval`), frame by frame.
pub(crate) fn vehicle_frames(sim: &Simulation) -> Vec<VehicleFrame> {
    let mut frames: Vec<VehicleFrame> = Vec::new();
    for p in sim.trajectories() {
        if frames.last().is_none_or(|f| f.time_s != p.time) {
            frames.push(VehicleFrame {
                time_s: p.time,
                vehicles: Vec::new(),
            });
        }
        let frame = frames.last_mut().expect("pushed above");
        frame.vehicles.push(VehiclePosition {
            trip: p.trip,
            class: sim.trip_class(p.trip).unwrap_or(VehicleClass::Car),
            x: p.x as f32,
            y: p.y as f32,
        });
    }
    frames
}
