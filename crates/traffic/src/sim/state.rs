//! The simulation state: vehicles and the dynamic arrays of links, exit queues, signals,
//! rerouting and statistics, built once from a network and a demand, with read-only views.
//! Stepping is in [`super::step`], junction service in [`super::junction`], signals in
//! [`super::signals`] and [`super::adaptive`], rerouting in [`super::reroute`], recording in
//! [`super::recording`].

use super::config::SimConfig;
use super::records::{
    Counters, LinkEvent, LinkInterval, SignalProposal, TrajectoryPoint, VehicleState,
};
use crate::demand::{Demand, VehicleType};
use crate::network::{LinkId, MovementId, Network};
use crate::routing::Router;
use crate::signal::is_green_phase;
use std::collections::VecDeque;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Veh {
    pub(super) trip: u32,
    pub(super) vtype: u32,
    pub(super) route: Vec<LinkId>,
    pub(super) pos: u32,
    pub(super) speed_factor: f64,
    pub(super) space: f64,
    pub(super) pcu: f64,
    /// Time the vehicle reaches the end of its current link.
    pub(super) ready: f64,
    /// Time it entered its current link.
    pub(super) entered: f64,
    pub(super) depart: f64,
    pub(super) arrival: f64,
    pub(super) planned: f64,
    pub(super) ended: f64,
    pub(super) route_length: f64,
    pub(super) state: VehicleState,
    pub(super) reroutes: u32,
    /// Speed at the end of its current link (m/s): its speed limit unless the link was too
    /// short to reach it accelerating from where it entered (see [`accel_on`]).
    #[serde(default = "unlimited")]
    pub(super) speed_out: f64,
    /// The state of the closures ([`Simulation::closure_epoch`]) under which it last looked
    /// for another start, its first link being closed.
    #[serde(default)]
    pub(super) tried_epoch: u64,
    /// Since when it has stood at the head of its exit queue unable to cross (a signal, a
    /// prioritised stream or a full link ahead); infinite while it is not held there. The
    /// patience that ends in a teleport counts from here, as SUMO's waiting time counts only
    /// standing time: not from when it reached the back of a queue that was still moving.
    #[serde(default = "unlimited")]
    pub(super) stuck_since: f64,
}

fn unlimited() -> f64 {
    f64::INFINITY
}

/// A vehicle entering a link `len` m long at speed `u` and accelerating at `accel` towards
/// `vmax`: the time lost against crossing the whole link at `vmax` (s) and its speed at the
/// link's end (m/s). On a link too short to reach `vmax` only part of the loss of
/// accelerating falls on it; the rest falls on the next links, where the vehicle enters
/// slower than their limit. That keeps a short link from being held for the whole loss, which
/// would cut its throughput below its upstream's.
pub(super) fn accel_on(len: f64, u: f64, accel: f64, vmax: f64) -> (f64, f64) {
    if u >= vmax || accel <= 0.0 {
        return (0.0, vmax);
    }
    let d_acc = (vmax * vmax - u * u) / (2.0 * accel);
    if len >= d_acc {
        ((vmax - u).powi(2) / (2.0 * accel * vmax), vmax)
    } else {
        let v_end = (u * u + 2.0 * accel * len).sqrt();
        ((v_end - u) / accel - len / vmax, v_end)
    }
}

/// The mesoscopic simulation state: network, demand and dynamic arrays.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Simulation {
    pub(super) net: Network,
    pub(super) types: Vec<VehicleType>,
    pub(super) trip_ids: Vec<String>,
    pub(super) cfg: SimConfig,
    pub(super) time: f64,
    pub(super) vehs: Vec<Veh>,
    pub(super) next_departure: usize,
    // Links.
    pub(super) running: Vec<VecDeque<(f64, u32)>>,
    pub(super) inserting: Vec<VecDeque<u32>>,
    pub(super) space_used: Vec<f64>,
    pub(super) space_cap: Vec<f64>,
    pub(super) on_link: Vec<u32>,
    pub(super) link_free_at: Vec<f64>,
    pub(super) last_ready: Vec<f64>,
    pub(super) closed: Vec<bool>,
    pub(super) speed_cap: Vec<f64>,
    /// Lanes a link discharges from at its downstream end: its own lanes, or the lanes of its
    /// exit queues if turn pockets add to them.
    pub(super) exit_lanes: Vec<f64>,
    // Movements.
    /// Exit queues (see [`Network::mv_queue`]).
    pub(super) buffer: Vec<VecDeque<u32>>,
    pub(super) queue_free_at: Vec<f64>,
    pub(super) mv_last_pass: Vec<f64>,
    // Signals: current phase index and its start time, computed lazily once per step.
    pub(super) sig_phase: Vec<(usize, f64)>,
    pub(super) sig_stamp: Vec<u64>,
    /// Movements under each signal, with their link index.
    pub(super) sig_movements: Vec<Vec<(MovementId, u32)>>,
    /// Adaptive control: (current phase, its start, green phase to go to after an amber).
    pub(super) adaptive: Vec<(usize, f64, Option<usize>)>,
    /// Signals that are dark (no power), and for the movements of a signal that has gone dark
    /// the movements of its junction whose paths they cross or merge with.
    pub(super) dark: Vec<bool>,
    pub(super) dark_foes: Vec<Vec<MovementId>>,
    // Work lists: links holding vehicles, movements with waiting vehicles, links with
    // vehicles waiting to depart. Only these are visited in a step.
    pub(super) active_links: Vec<u32>,
    pub(super) link_listed: Vec<bool>,
    pub(super) active_mv: Vec<u32>,
    pub(super) mv_listed: Vec<bool>,
    pub(super) active_ins: Vec<u32>,
    pub(super) ins_listed: Vec<bool>,
    pub(super) in_network: u64,
    // En-route rerouting: movements into each link, link times of the current round, the
    // cost-to-go trees computed for it (by destination link), and per-link traversals
    // since the last round.
    pub(super) link_in: Vec<Vec<MovementId>>,
    pub(super) rr_times: Vec<f64>,
    pub(super) rr_trees: std::collections::HashMap<u32, Vec<f64>>,
    pub(super) rr_time_sum: Vec<f64>,
    pub(super) rr_left: Vec<u32>,
    // Events.
    pub(super) events: Vec<(f64, u64, LinkEvent)>,
    pub(super) proposals: Vec<SignalProposal>,
    pub(super) fcd: Vec<TrajectoryPoint>,
    pub(super) event_seq: u64,
    /// Counts the link closures and reopenings so far, from 1.
    #[serde(default)]
    pub(super) closure_epoch: u64,
    pub(super) router: Router,
    // Statistics.
    pub(super) counters: Counters,
    pub(super) stat_begin: f64,
    pub(super) st_entered: Vec<u32>,
    pub(super) st_left: Vec<u32>,
    pub(super) st_time: Vec<f64>,
    pub(super) st_delay: Vec<f64>,
    pub(super) st_occ: Vec<f64>,
    pub(super) link_stats: Vec<LinkInterval>,
    pub(super) net_stats: Vec<super::records::NetworkInterval>,
    /// Teleports and arrivals counted at the last statistics flush.
    pub(super) net_last: (usize, usize),
    pub(super) entries: Vec<(f64, u32, LinkId)>,
    pub(super) closed_entries: u64,
    /// Vehicles that entered each link since the start.
    pub(super) entered_total: Vec<u64>,
    /// Demand scaling ([`Simulation::rescale_pending`]): the vehicles not yet departed at
    /// its first call, as the demand gave them.
    pub(super) base_pending: Option<Vec<Veh>>,
    /// Trip numbers given to the repeats of a trip: (trip, repeat) → trip number.
    pub(super) repeat_trips: std::collections::BTreeMap<(u32, u32), u32>,
}

/// SplitMix64 finaliser: a deterministic hash of (seed, i).
pub(super) fn mix(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(super) fn unit(seed: u64, i: u64) -> f64 {
    ((mix(seed, i) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// Speed factor drawn from SUMO's `normc(mean, dev, 0.2, 2)`: a normal truncated to [0.2, 2]
/// by redrawing (Box–Muller on a hash of seed and vehicle index).
pub(super) fn speed_factor(seed: u64, veh: u64, mean: f64, dev: f64) -> f64 {
    if dev <= 0.0 {
        return mean;
    }
    for k in 0..64u64 {
        let u1 = unit(seed, veh * 128 + 2 * k);
        let u2 = unit(seed, veh * 128 + 2 * k + 1);
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let f = mean + dev * z;
        if (0.2..=2.0).contains(&f) {
            return f;
        }
    }
    mean
}

impl Simulation {
    /// A simulation of `demand` on `net`, starting at time 0.
    pub fn new(net: Network, demand: Demand, cfg: SimConfig) -> Simulation {
        let nl = net.link_count();
        let nm = net.movement_count();
        let nq = net.queue_count();
        let mut vehs = Vec::with_capacity(demand.trips.len());
        let mut trip_ids = Vec::with_capacity(demand.trips.len());
        let mut order: Vec<usize> = (0..demand.trips.len()).collect();
        order.sort_by(|&a, &b| demand.trips[a].depart.total_cmp(&demand.trips[b].depart));
        for (k, &i) in order.iter().enumerate() {
            let t = &demand.trips[i];
            let ty = &demand.types[t.vtype];
            trip_ids.push(t.id.clone());
            vehs.push(Veh {
                trip: k as u32,
                vtype: t.vtype as u32,
                route: t.route.clone(),
                pos: 0,
                speed_factor: speed_factor(cfg.seed, i as u64, ty.speed_factor, ty.speed_dev),
                space: ty.space(),
                pcu: ty.pcu,
                ready: t.depart,
                entered: f64::NAN,
                depart: f64::NAN,
                arrival: f64::NAN,
                planned: t.depart,
                ended: f64::NAN,
                route_length: 0.0,
                state: VehicleState::Scheduled,
                reroutes: 0,
                speed_out: 0.0,
                tried_epoch: 0,
                stuck_since: f64::INFINITY,
            });
        }
        // A vehicle counts on a link from the moment it starts across the junction before it
        // (its time on the link includes the crossing), so the link stores the longest
        // crossing into it as well as its own length.
        let mut via_in = vec![0.0f64; nl];
        for m in 0..net.movement_count() {
            let to = net.mv_to[m].index();
            via_in[to] = via_in[to].max(net.mv_via_length[m]);
        }
        let space_cap = (0..nl)
            .map(|l| (net.link_length[l] + via_in[l]) * net.link_lanes[l] as f64)
            .collect();
        let router = Router::new(&net);
        let exit_lanes = (0..nl)
            .map(|l| {
                let qs = net.exit_queues(LinkId(l as u32));
                let q_lanes: u32 = qs.iter().map(|&q| net.queue_lanes[q as usize]).sum();
                q_lanes.max(net.link_lanes[l]) as f64
            })
            .collect();
        let sig_phase = net
            .signals
            .iter()
            .map(|s| s.phase_at(0.0))
            .map(|(i, e)| (i, -e))
            .collect();
        Simulation {
            types: demand.types,
            trip_ids,
            time: 0.0,
            vehs,
            next_departure: 0,
            running: vec![VecDeque::new(); nl],
            inserting: vec![VecDeque::new(); nl],
            space_used: vec![0.0; nl],
            space_cap,
            on_link: vec![0; nl],
            link_free_at: vec![f64::NEG_INFINITY; nl],
            last_ready: vec![f64::NEG_INFINITY; nl],
            closed: vec![false; nl],
            speed_cap: vec![f64::INFINITY; nl],
            exit_lanes,
            buffer: vec![VecDeque::new(); nq],
            queue_free_at: vec![f64::NEG_INFINITY; nq],
            mv_last_pass: vec![f64::NEG_INFINITY; nm],
            sig_stamp: vec![u64::MAX; net.signals.len()],
            sig_movements: {
                let mut v = vec![Vec::new(); net.signals.len()];
                for m in 0..net.movement_count() {
                    if let Some((s, idx)) = net.mv_signal[m] {
                        v[s.index()].push((MovementId(m as u32), idx));
                    }
                }
                v
            },
            adaptive: net
                .signals
                .iter()
                .map(|p| {
                    let first = p.phases.iter().position(is_green_phase).unwrap_or(0);
                    (first, 0.0, None)
                })
                .collect(),
            sig_phase,
            dark: vec![false; net.signals.len()],
            dark_foes: vec![Vec::new(); nm],
            active_links: Vec::new(),
            link_listed: vec![false; nl],
            active_mv: Vec::new(),
            mv_listed: vec![false; nq],
            active_ins: Vec::new(),
            ins_listed: vec![false; nl],
            in_network: 0,
            link_in: {
                let mut v = vec![Vec::new(); nl];
                for m in 0..net.movement_count() {
                    v[net.mv_to[m].index()].push(MovementId(m as u32));
                }
                v
            },
            rr_times: Vec::new(),
            rr_trees: std::collections::HashMap::new(),
            rr_time_sum: vec![0.0; nl],
            rr_left: vec![0; nl],
            events: Vec::new(),
            proposals: Vec::new(),
            fcd: Vec::new(),
            event_seq: 0,
            closure_epoch: 1,
            router,
            counters: Counters::default(),
            stat_begin: 0.0,
            st_entered: vec![0; nl],
            st_left: vec![0; nl],
            st_time: vec![0.0; nl],
            st_delay: vec![0.0; nl],
            st_occ: vec![0.0; nl],
            link_stats: Vec::new(),
            net_stats: Vec::new(),
            net_last: (0, 0),
            entries: Vec::new(),
            closed_entries: 0,
            entered_total: vec![0; nl],
            base_pending: None,
            repeat_trips: std::collections::BTreeMap::new(),
            cfg,
            net,
        }
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Current time (s): the start of the next step.
    pub fn time(&self) -> f64 {
        self.time
    }

    /// Totals so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Whether link `l` is closed.
    pub fn is_closed(&self, l: LinkId) -> bool {
        self.closed[l.index()]
    }

    /// Vehicles that entered a closed link (always 0; kept as a checked invariant).
    pub fn closed_entries(&self) -> u64 {
        self.closed_entries
    }

    /// Link entries recorded when [`SimConfig::record_entries`] is set: (time, trip index, link).
    pub fn entries(&self) -> &[(f64, u32, LinkId)] {
        &self.entries
    }

    /// Road space in use on each link as a fraction of its storage (length × lanes); above
    /// 1 only by the one vehicle always let onto an empty link.
    pub fn link_fill(&self) -> Vec<f64> {
        self.space_used
            .iter()
            .zip(&self.space_cap)
            .map(|(u, c)| u / c.max(1e-9))
            .collect()
    }

    /// Vehicles waiting in each exit queue (see [`Network::mv_queue`]).
    pub fn queue_lengths(&self) -> Vec<usize> {
        self.buffer.iter().map(|b| b.len()).collect()
    }

    /// Vehicles currently on the network.
    pub fn vehicles_running(&self) -> usize {
        self.in_network as usize
    }

    /// True when every vehicle has arrived or been taken out.
    pub fn is_done(&self) -> bool {
        self.counters.arrived + self.counters.aborted == self.vehs.len()
    }
}
