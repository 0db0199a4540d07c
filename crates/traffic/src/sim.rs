//! The mesoscopic queue simulation.
//!
//! Each link is a queue in the manner of the queue model of Gawron (1998) and MATSim's QSim
//! (Cetin, Burri & Nagel 2003) with the per-movement exit queues of SUMO's mesoscopic model
//! (Eissfeldt 2004; SUMO documentation "Simulation/Meso"):
//!
//! * a vehicle entering link `l` reaches its end after the free travel time `L / v`, where `v` is
//!   the speed limit times the vehicle's speed factor, capped by the vehicle's top speed and any
//!   external speed cap, less the mean Krauss dawdling loss `σ·a/2` (Krauss 1998);
//! * it then waits in the exit queue of its next movement; it leaves when (1) the signal shows
//!   green (or amber if it could not stop: within `v/(2b)` s of amber onset), (2) the movement and
//!   the link have discharged the previous vehicle one saturation headway ago (`h·pcu/lanes`,
//!   HCM 2010 base saturation flow 1900 pc/h/lane), and (3) the next link has room: road space
//!   `length × lanes` against the sum of `length + minGap` of the vehicles on it. A full link
//!   thus blocks its upstream links: spillback;
//! * crossing the junction takes the internal lanes' length at their speed limit; slowing to
//!   the turn speed and back costs `(v−u)²/(2bv) + (v'−u)²/(2av')`; a vehicle that had to stop
//!   loses `v/(2b) + u/(2a)` (kinematics of constant deceleration and acceleration);
//! * a vehicle held by a full link for longer than `time_to_teleport` is let through anyway, as
//!   SUMO does (counted in the summary).
//!
//! Time advances in fixed steps, but departure, transfer and arrival times inside a step are
//! continuous (a vehicle not held back leaves at the exact time it reaches the stop line), so
//! the step length does not bias travel times. Junctions are processed in id order and the
//! movements of a junction in a rotating order: the run is deterministic.

use crate::demand::{Demand, VehicleType};
use crate::network::{Light, LinkId, MovementId, Network};
use crate::routing::Router;
use std::collections::VecDeque;

/// HCM 2010 (Exhibit 18-?; "base saturation flow rate" 1900 pc/h/ln) as a headway: 3600/1900 s.
pub const HCM_SATURATION_HEADWAY: f64 = 3600.0 / 1900.0;

/// Distance from the stop line at which a yielding driver can see the priority streams (m);
/// SUMO's default connection `visibility`.
pub const MINOR_SIGHT_DISTANCE: f64 = 4.5;

/// Critical gap of a motorcycle entering or crossing a priority stream (s): 1.25 s, measured
/// in motorcycle-dominated mixed traffic in Viet Nam (Ho Chi Minh City roundabouts, 91.7 %
/// motorcycles; "Analysis of motorcycle microscopic characteristics at roundabouts under
/// mixed traffic condition: a case study of Vietnam", *Journal of Traffic and Transportation
/// Engineering (English Edition)*, 2021). Motorcyclists filter into gaps far shorter than a
/// car's; on Hanoi's unprotected left turns they lead groups through the opposing stream
/// (Vu Anh Tuan & Shimizu 2010, *J. Eastern Asia Society for Transportation Studies* 8).
pub const MOTORCYCLE_CRITICAL_GAP: f64 = 1.25;

/// Time from the start of each link to the end of link `dest` over link times `times` (a
/// reverse Dijkstra over movements; closed links are never entered).
fn reverse_tree(
    net: &Network,
    link_in: &[Vec<MovementId>],
    times: &[f64],
    closed: &[bool],
    dest: u32,
) -> Vec<f64> {
    let mut d = vec![f64::INFINITY; net.link_count()];
    let mut heap = std::collections::BinaryHeap::new();
    if !closed[dest as usize] {
        d[dest as usize] = times[dest as usize];
        heap.push(std::cmp::Reverse((OrdF(d[dest as usize]), dest)));
    }
    while let Some(std::cmp::Reverse((OrdF(c), b))) = heap.pop() {
        if c > d[b as usize] {
            continue;
        }
        for &m in &link_in[b as usize] {
            let a = net.mv_from[m.index()].index();
            if closed[a] {
                continue;
            }
            let nc = c + net.mv_via_time[m.index()] + times[a];
            if nc < d[a] {
                d[a] = nc;
                heap.push(std::cmp::Reverse((OrdF(nc), a as u32)));
            }
        }
    }
    d
}

/// Smallest relative saving of remaining travel time for which an informed driver changes
/// route (avoids switching between near-equal routes).
pub const REROUTE_MIN_GAIN: f64 = 0.1;

/// Total order on f64 for the heap (costs are never NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrdF(f64);
impl Eq for OrdF {}
impl PartialOrd for OrdF {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for OrdF {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// How signals are run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SignalControl {
    /// Every signal follows its plan (SUMO `tlLogic` phases and durations).
    FixedTime,
    /// Adaptive max-pressure control (Varaiya 2013, "Max pressure control of a network of
    /// signalized intersections", Transp. Res. C 36): after a minimum green, each signal
    /// switches to the green phase of its plan with the largest pressure, the sum over the
    /// movements it serves of lanes × (vehicles waiting for the movement − vehicles on the
    /// downstream link shared among that link's exits), passing through the plan's amber
    /// phase that follows the current green.
    MaxPressure {
        /// Shortest green before a switch is considered (s).
        min_green: f64,
    },
    /// Fully actuated control with stop-line detection (HCM 2010 ch. 31; FHWA *Traffic
    /// Signal Timing Manual*, 2008, ch. 5 "basic actuated parameters"): a green phase lasts
    /// at least `min_green`; it is extended while a vehicle waits at the stop line of a
    /// movement it serves or one will reach it within the passage time `gap`, and ends on
    /// that gap-out or at `max_green` (max-out) — but only if another green phase of the plan
    /// has a vehicle waiting; the next such phase in plan order follows, through the plan's
    /// amber.
    Actuated {
        /// Minimum green (s).
        min_green: f64,
        /// Maximum green (s).
        max_green: f64,
        /// Passage time (unit extension), s.
        gap: f64,
    },
}

/// A vehicle's position at one time (floating-car data).
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryPoint {
    /// Time (s).
    pub time: f64,
    /// Trip index (departure order, as in [`Simulation::trip_results`]).
    pub trip: u32,
    /// Link.
    pub link: LinkId,
    /// Distance from the start of the link (m).
    pub pos: f64,
    /// x of that point on the straight line between the link's end junctions (m).
    pub x: f64,
    /// y likewise (m).
    pub y: f64,
    /// Speed (m/s): the link traversal speed while moving, 0 while queued.
    pub speed: f64,
}

/// A signal decision recorded in propose-only mode: what adaptive control would have done.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalProposal {
    /// Time of the decision (s).
    pub time: f64,
    /// Signal (plan name).
    pub signal: String,
    /// Phase index being ended.
    pub from_phase: usize,
    /// Green phase index it would go to (through the plan's amber after `from_phase`).
    pub to_phase: usize,
    /// How long the ended green phase would have lasted (s).
    pub green: f64,
}

/// Settings of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Step length (s).
    pub step: f64,
    /// Saturation headway per lane for one passenger-car unit (s).
    pub saturation_headway: f64,
    /// Start-up lost time at the beginning of a green for a queue that waited through the
    /// red (s); HCM 2010 default 2 s.
    pub startup_lost_time: f64,
    /// A vehicle held by a full downstream link this long is let through (s); 0 disables.
    pub time_to_teleport: f64,
    /// Length of the per-link statistics intervals (s).
    pub stats_interval: f64,
    /// Seed of the per-vehicle speed factors.
    pub seed: u64,
    /// Record every link entry (vehicle, link, time): a link-level trajectory.
    pub record_entries: bool,
    /// Signal control method.
    pub signal_control: SignalControl,
    /// En-route rerouting on current link times every this many seconds (0: only around
    /// closures). See [`Simulation::reroute_informed`].
    pub reroute_period: f64,
    /// Share of drivers who are informed (reroute on current times), 0..=1.
    pub reroute_fraction: f64,
    /// Record vehicle positions every this many seconds (0: off): see
    /// [`Simulation::trajectories`].
    pub fcd_interval: f64,
    /// Propose only: with adaptive control (max-pressure, actuated) the signals keep their
    /// fixed plans and the adaptive decisions are only recorded
    /// ([`Simulation::signal_proposals`]), run on the state the fixed plans produce.
    pub propose_only: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            step: 1.0,
            saturation_headway: HCM_SATURATION_HEADWAY,
            startup_lost_time: 2.0,
            time_to_teleport: 300.0,
            stats_interval: 300.0,
            seed: 42,
            record_entries: false,
            signal_control: SignalControl::FixedTime,
            reroute_period: 0.0,
            reroute_fraction: 0.0,
            propose_only: false,
            fcd_interval: 0.0,
        }
    }
}

/// Where a vehicle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VehicleState {
    /// Not yet departed.
    Scheduled,
    /// Departure time passed, waiting for room on its first link.
    Inserting,
    /// On a link.
    Running,
    /// Reached the end of its route.
    Arrived,
    /// Taken out: no route around a closure.
    Aborted,
}

#[derive(Debug, Clone)]
struct Veh {
    trip: u32,
    vtype: u32,
    route: Vec<LinkId>,
    pos: u32,
    speed_factor: f64,
    space: f64,
    pcu: f64,
    /// Time the vehicle reaches the end of its current link.
    ready: f64,
    /// Time it entered its current link.
    entered: f64,
    depart: f64,
    arrival: f64,
    route_length: f64,
    state: VehicleState,
    reroutes: u32,
}

/// Outcome of one trip.
#[derive(Debug, Clone, PartialEq)]
pub struct TripResult {
    /// Vehicle id.
    pub id: String,
    /// Actual departure (entry onto the first link), s; NaN if it never departed.
    pub depart: f64,
    /// Arrival at the end of the last link, s; NaN if it did not arrive.
    pub arrival: f64,
    /// Driven length including junction crossings (m).
    pub route_length: f64,
    /// Final state.
    pub state: VehicleState,
    /// Number of en-route reroutes.
    pub reroutes: u32,
}

impl TripResult {
    /// Travel time (s), NaN unless arrived.
    pub fn duration(&self) -> f64 {
        self.arrival - self.depart
    }
}

/// Statistics of one link over one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkInterval {
    /// Interval start (s).
    pub begin: f64,
    /// Interval end (s).
    pub end: f64,
    /// Link.
    pub link: LinkId,
    /// Vehicles that entered.
    pub entered: u32,
    /// Vehicles that left (to the next link or by arriving).
    pub left: u32,
    /// Mean time on the link of the vehicles that left (s); NaN if none.
    pub mean_travel_time: f64,
    /// Mean excess over the free-flow time of those vehicles (s); NaN if none.
    pub mean_delay: f64,
    /// Mean number of vehicles on the link per km per lane.
    pub density: f64,
}

/// Something the outside world does to a link (the flood coupling sets these).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LinkEvent {
    /// Close or reopen a link: no vehicle enters a closed link.
    Closed(LinkId, bool),
    /// Cap the speed on a link (m/s), or lift the cap with `None`.
    SpeedCap(LinkId, Option<f64>),
}

/// Totals of a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Counters {
    /// Vehicles that arrived.
    pub arrived: usize,
    /// Vehicles taken out for want of a route around a closure.
    pub aborted: usize,
    /// Vehicles let through a full link after `time_to_teleport`.
    pub teleports: usize,
    /// Successful en-route reroutes.
    pub reroutes: usize,
    /// Sum over steps of the vehicles on the network.
    pub vehicle_updates: u64,
    /// Steps done.
    pub steps: u64,
}

/// The mesoscopic simulation state: network, demand and dynamic arrays.
#[derive(Debug)]
pub struct Simulation {
    net: Network,
    types: Vec<VehicleType>,
    trip_ids: Vec<String>,
    cfg: SimConfig,
    time: f64,
    vehs: Vec<Veh>,
    next_departure: usize,
    // Links.
    running: Vec<VecDeque<(f64, u32)>>,
    inserting: Vec<VecDeque<u32>>,
    space_used: Vec<f64>,
    space_cap: Vec<f64>,
    on_link: Vec<u32>,
    link_free_at: Vec<f64>,
    last_ready: Vec<f64>,
    closed: Vec<bool>,
    speed_cap: Vec<f64>,
    /// Lanes a link discharges from at its downstream end: its own lanes, or the lanes of its
    /// exit queues if turn pockets add to them.
    exit_lanes: Vec<f64>,
    // Movements.
    /// Exit queues (see [`Network::mv_queue`]).
    buffer: Vec<VecDeque<u32>>,
    queue_free_at: Vec<f64>,
    mv_last_pass: Vec<f64>,
    // Signals: current phase index and its start time, computed lazily once per step.
    sig_phase: Vec<(usize, f64)>,
    sig_stamp: Vec<u64>,
    /// Movements under each signal, with their link index.
    sig_movements: Vec<Vec<(MovementId, u32)>>,
    /// Adaptive control: (current phase, its start, green phase to go to after an amber).
    adaptive: Vec<(usize, f64, Option<usize>)>,
    // Work lists: links holding vehicles, movements with waiting vehicles, links with
    // vehicles waiting to depart. Only these are visited in a step.
    active_links: Vec<u32>,
    link_listed: Vec<bool>,
    active_mv: Vec<u32>,
    mv_listed: Vec<bool>,
    active_ins: Vec<u32>,
    ins_listed: Vec<bool>,
    in_network: u64,
    // En-route rerouting: movements into each link, link times of the current round, the
    // cost-to-go trees computed for it (by destination link), and per-link traversals
    // since the last round.
    link_in: Vec<Vec<MovementId>>,
    rr_times: Vec<f64>,
    rr_trees: std::collections::HashMap<u32, Vec<f64>>,
    rr_time_sum: Vec<f64>,
    rr_left: Vec<u32>,
    // Events.
    events: Vec<(f64, u64, LinkEvent)>,
    proposals: Vec<SignalProposal>,
    fcd: Vec<TrajectoryPoint>,
    event_seq: u64,
    router: Router,
    // Statistics.
    counters: Counters,
    stat_begin: f64,
    st_entered: Vec<u32>,
    st_left: Vec<u32>,
    st_time: Vec<f64>,
    st_delay: Vec<f64>,
    st_occ: Vec<f64>,
    link_stats: Vec<LinkInterval>,
    entries: Vec<(f64, u32, LinkId)>,
    closed_entries: u64,
}

/// A phase is a green phase (a state max-pressure may choose) if it shows no amber and
/// gives some movement green.
fn is_green_phase(p: &crate::network::SignalPhase) -> bool {
    !p.lights.contains(&Light::Yellow)
        && p.lights
            .iter()
            .any(|l| matches!(l, Light::Green | Light::MinorGreen))
}

/// SplitMix64 finaliser: a deterministic hash of (seed, i).
fn mix(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(seed: u64, i: u64) -> f64 {
    ((mix(seed, i) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// Speed factor drawn from SUMO's `normc(mean, dev, 0.2, 2)`: a normal truncated to [0.2, 2]
/// by redrawing (Box–Muller on a hash of seed and vehicle index).
fn speed_factor(seed: u64, veh: u64, mean: f64, dev: f64) -> f64 {
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
                route_length: 0.0,
                state: VehicleState::Scheduled,
                reroutes: 0,
            });
        }
        let space_cap = (0..nl)
            .map(|l| net.link_length[l] * net.link_lanes[l] as f64)
            .collect();
        let router = Router::new(&net);
        let exit_lanes = (0..nl)
            .map(|l| {
                let mut qs: Vec<u32> = net
                    .out_movements(LinkId(l as u32))
                    .map(|m| net.mv_queue[m.index()])
                    .collect();
                qs.sort_unstable();
                qs.dedup();
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
            router,
            counters: Counters::default(),
            stat_begin: 0.0,
            st_entered: vec![0; nl],
            st_left: vec![0; nl],
            st_time: vec![0.0; nl],
            st_delay: vec![0.0; nl],
            st_occ: vec![0.0; nl],
            link_stats: Vec::new(),
            entries: Vec::new(),
            closed_entries: 0,
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

    /// Schedule a link event at time `at` (applied at the start of the first step at or after it).
    pub fn schedule(&mut self, at: f64, ev: LinkEvent) {
        self.events.push((at, self.event_seq, ev));
        self.event_seq += 1;
    }

    /// Apply a link event now. Closing a link reroutes every vehicle whose remaining route uses
    /// it; vehicles already on the closed link may leave it.
    pub fn apply(&mut self, ev: LinkEvent) {
        match ev {
            LinkEvent::Closed(l, c) => {
                self.closed[l.index()] = c;
                if c {
                    self.reroute_around_closures();
                }
            }
            LinkEvent::SpeedCap(l, cap) => {
                self.speed_cap[l.index()] = cap.filter(|v| *v > 0.0).unwrap_or(f64::INFINITY);
            }
        }
    }

    /// Current estimate of each link's travel time: free time at the (capped) speed limit plus
    /// the time to discharge the vehicles waiting at its end.
    fn current_link_times(&self) -> Vec<f64> {
        (0..self.net.link_count())
            .map(|l| {
                let v = self.net.link_speed[l].min(self.speed_cap[l]).max(0.1);
                let mut queues: Vec<u32> = self
                    .net
                    .out_movements(LinkId(l as u32))
                    .map(|m| self.net.mv_queue[m.index()])
                    .collect();
                queues.sort_unstable();
                queues.dedup();
                let waiting: usize = queues.iter().map(|&q| self.buffer[q as usize].len()).sum();
                self.net.link_length[l] / v
                    + waiting as f64 * self.cfg.saturation_headway / self.net.link_lanes[l] as f64
            })
            .collect()
    }

    /// New route for vehicle `v` from its current link (or its origin if not departed), avoiding
    /// closed links. Returns false if there is none.
    fn reroute(&mut self, v: usize, link_time: &[f64]) -> bool {
        let veh = &self.vehs[v];
        let pos = veh.pos as usize;
        let from = veh.route[pos];
        let to = *veh.route.last().expect("routes are never empty");
        match self.router.fastest(
            &self.net,
            link_time,
            &self.net.mv_via_time,
            &self.closed,
            from,
            to,
        ) {
            Some(p) => {
                let veh = &mut self.vehs[v];
                veh.route.truncate(pos);
                veh.route.extend(p);
                veh.reroutes += 1;
                self.counters.reroutes += 1;
                true
            }
            None => false,
        }
    }

    /// A vehicle that has not yet entered the network and whose first link is closed: route it
    /// from the fastest other link out of the same junction. False if there is none.
    fn restart_elsewhere(&mut self, v: usize, link_time: &[f64]) -> bool {
        let first = self.vehs[v].route[0];
        let to = *self.vehs[v].route.last().expect("routes are never empty");
        if to == first {
            return false;
        }
        let node = self.net.link_from[first.index()];
        let mut best: Option<(f64, Vec<LinkId>)> = None;
        for l in 0..self.net.link_count() {
            if self.net.link_from[l] != node || self.closed[l] {
                continue;
            }
            let Some(p) = self.router.fastest(
                &self.net,
                link_time,
                &self.net.mv_via_time,
                &self.closed,
                LinkId(l as u32),
                to,
            ) else {
                continue;
            };
            let mut cost = link_time[p[0].index()];
            for w in p.windows(2) {
                let m = self.net.movement(w[0], w[1]).expect("paths use movements");
                cost += self.net.mv_via_time[m.index()] + link_time[w[1].index()];
            }
            if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                best = Some((cost, p));
            }
        }
        match best {
            Some((_, p)) => {
                let veh = &mut self.vehs[v];
                veh.route = p;
                veh.reroutes += 1;
                self.counters.reroutes += 1;
                true
            }
            None => false,
        }
    }

    /// Whether vehicle `v` is one of the informed drivers (a seeded draw per vehicle).
    fn is_informed(&self, v: usize) -> bool {
        // Buses keep to their lines.
        if self.types[self.vehs[v].vtype as usize].class == crate::demand::VehicleClass::Bus {
            return false;
        }
        unit(self.cfg.seed ^ 0x005E_ED0F_1AFE, self.vehs[v].trip as u64) < self.cfg.reroute_fraction
    }

    /// Link times for en-route choice: the larger of the queue estimate of
    /// `current_link_times` and the mean time on the link of the vehicles that left it since
    /// the last round; a link whose leading queued vehicle has waited longer than that counts
    /// its free time plus that wait, so a link blocked by spillback looks as slow as it is.
    fn link_times_now(&mut self) -> Vec<f64> {
        let mut t = self.current_link_times();
        let now = self.time;
        for (l, tl) in t.iter_mut().enumerate() {
            if self.rr_left[l] > 0 {
                *tl = tl.max(self.rr_time_sum[l] / self.rr_left[l] as f64);
            }
            let mut qs: Vec<u32> = self
                .net
                .out_movements(LinkId(l as u32))
                .map(|m| self.net.mv_queue[m.index()])
                .collect();
            qs.sort_unstable();
            qs.dedup();
            for q in qs {
                if let Some(&v) = self.buffer[q as usize].front() {
                    let waited = now - self.vehs[v as usize].ready;
                    *tl = tl.max(self.net.free_time(LinkId(l as u32)) + waited);
                }
            }
            self.rr_time_sum[l] = 0.0;
            self.rr_left[l] = 0;
        }
        t
    }

    /// Time from the start of each link to the end of link `dest` over the current round's
    /// link times (a reverse Dijkstra over movements; closed links are never entered).
    fn cost_to_go(&mut self, dest: u32) {
        if !self.rr_trees.contains_key(&dest) {
            let d = reverse_tree(&self.net, &self.link_in, &self.rr_times, &self.closed, dest);
            self.rr_trees.insert(dest, d);
        }
    }

    /// Whether informed vehicle `v` (running) would look for another route this round: its
    /// remaining route is slower than free flow by more than [`REROUTE_MIN_GAIN`].
    fn wants_reroute(&self, v: usize) -> bool {
        let veh = &self.vehs[v];
        let tail = &veh.route[veh.pos as usize..];
        if tail.len() < 2 {
            return false;
        }
        let (mut now, mut free) = (0.0, 0.0);
        for w in tail.windows(2) {
            let m = self.net.movement(w[0], w[1]).expect("routes use movements");
            let via = self.net.mv_via_time[m.index()];
            now += via + self.rr_times[w[1].index()];
            free += via + self.net.free_time(w[1]);
        }
        now > free * (1.0 + REROUTE_MIN_GAIN)
    }

    /// Give vehicle `v` the fastest remaining route on the current round's link times if it
    /// saves more than [`REROUTE_MIN_GAIN`] of the remaining time of its present route. Only
    /// a driver whose remaining route is slower than free flow by that share looks.
    fn reroute_on_current_times(&mut self, v: usize) {
        let veh = &self.vehs[v];
        let pos = if veh.state == VehicleState::Running {
            veh.pos as usize
        } else {
            0
        };
        let dest = veh.route.last().expect("routes are never empty").0;
        let cur = veh.route[pos];
        if cur.0 == dest {
            return;
        }
        let old_tail: Vec<LinkId> = veh.route[pos..].to_vec();
        let times = std::mem::take(&mut self.rr_times);
        let old_cost: f64 = old_tail
            .windows(2)
            .map(|w| {
                let m = self.net.movement(w[0], w[1]).expect("routes use movements");
                self.net.mv_via_time[m.index()] + times[w[1].index()]
            })
            .sum();
        self.rr_times = times;
        // A driver whose route runs at free-flow pace sees no reason to look for another.
        let old_free: f64 = old_tail[1..]
            .iter()
            .map(|&l| self.net.free_time(l))
            .sum::<f64>()
            + old_tail
                .windows(2)
                .map(|w| {
                    let m = self.net.movement(w[0], w[1]).expect("routes use movements");
                    self.net.mv_via_time[m.index()]
                })
                .sum::<f64>();
        if old_cost <= old_free * (1.0 + REROUTE_MIN_GAIN) {
            return;
        }
        self.cost_to_go(dest);
        let togo = self.rr_trees.remove(&dest).expect("just built");
        let mut tail = vec![cur];
        let mut at = cur;
        let mut new_cost = 0.0;
        while at.0 != dest {
            let mut best: Option<(f64, MovementId)> = None;
            for m in self.net.out_movements(at) {
                let b = self.net.mv_to[m.index()].index();
                let c = self.net.mv_via_time[m.index()] + togo[b];
                if c.is_finite() && best.is_none_or(|(bc, _)| c < bc) {
                    best = Some((c, m));
                }
            }
            let Some((_, m)) = best else {
                self.rr_trees.insert(dest, togo);
                return;
            };
            let b = self.net.mv_to[m.index()];
            new_cost += self.net.mv_via_time[m.index()] + self.rr_times[b.index()];
            tail.push(b);
            at = b;
            if tail.len() > self.net.link_count() + 1 {
                self.rr_trees.insert(dest, togo);
                return;
            }
        }
        self.rr_trees.insert(dest, togo);
        if tail != old_tail && new_cost < old_cost * (1.0 - REROUTE_MIN_GAIN) {
            let veh = &mut self.vehs[v];
            veh.route.truncate(pos);
            veh.route.extend(tail);
            veh.reroutes += 1;
            self.counters.reroutes += 1;
        }
    }

    /// En-route choice (the informed drivers of [`SimConfig::reroute_fraction`]): refresh the
    /// link times and give every informed vehicle on the network its fastest remaining
    /// route, as SUMO's rerouting device does periodically (SUMO documentation
    /// "Demand/Automatic Routing": `device.rerouting.period`, `device.rerouting.probability`).
    /// Informed vehicles departing before the next round are routed at departure on the same
    /// times.
    pub fn reroute_informed(&mut self) {
        self.rr_times = self.link_times_now();
        self.rr_trees.clear();
        // The cost-to-go trees of the destinations of the drivers who will look, built in
        // parallel (each tree on its own; the result does not depend on the thread count),
        // then the drivers rerouted one by one in vehicle order.
        let mut dests: Vec<u32> = (0..self.vehs.len())
            .filter(|&v| {
                self.vehs[v].state == VehicleState::Running
                    && self.is_informed(v)
                    && self.wants_reroute(v)
            })
            .map(|v| self.vehs[v].route.last().expect("routes are never empty").0)
            .collect();
        dests.sort_unstable();
        dests.dedup();
        use rayon::prelude::*;
        let (net, link_in, times, closed) =
            (&self.net, &self.link_in, &self.rr_times, &self.closed);
        let trees: Vec<(u32, Vec<f64>)> = dests
            .par_iter()
            .map(|&d| (d, reverse_tree(net, link_in, times, closed, d)))
            .collect();
        self.rr_trees.extend(trees);
        for v in 0..self.vehs.len() {
            if self.vehs[v].state == VehicleState::Running && self.is_informed(v) {
                self.reroute_on_current_times(v);
            }
        }
    }

    fn uses_closed(&self, v: usize) -> bool {
        let veh = &self.vehs[v];
        let start = if veh.state == VehicleState::Running {
            veh.pos as usize + 1
        } else {
            0
        };
        veh.route[start..].iter().any(|l| self.closed[l.index()])
    }

    fn reroute_around_closures(&mut self) {
        let times = self.current_link_times();
        for v in 0..self.vehs.len() {
            let st = self.vehs[v].state;
            if matches!(
                st,
                VehicleState::Running | VehicleState::Inserting | VehicleState::Scheduled
            ) && self.uses_closed(v)
            {
                // A vehicle that finds no way round keeps its route: it will be taken out at
                // the end of its current link (or never depart) rather than enter the closure.
                let _ = self.reroute(v, &times);
            }
        }
    }

    fn effective_speed(&self, v: usize, limit: f64, cap: f64) -> f64 {
        let veh = &self.vehs[v];
        let ty = &self.types[veh.vtype as usize];
        let v0 = (limit * veh.speed_factor)
            .min(ty.max_speed)
            .min(cap)
            .max(0.1);
        // Krauss dawdling: mean loss σ·a/2 per second while cruising, never more than half the speed.
        (v0 - ty.sigma * ty.accel * 0.5).max(0.5 * v0)
    }

    fn link_speed_for(&self, v: usize, l: LinkId) -> f64 {
        self.effective_speed(v, self.net.link_speed[l.index()], self.speed_cap[l.index()])
    }

    /// Put vehicle `v` on link `l` at time `t`, to be at its end `extra` seconds later than the
    /// free travel time.
    fn enter_link(&mut self, v: usize, l: LinkId, t: f64, extra: f64) {
        let li = l.index();
        if self.closed[li] {
            self.closed_entries += 1;
        }
        let speed = self.link_speed_for(v, l);
        let mut ready = t + extra + self.net.link_length[li] / speed;
        if self.net.link_lanes[li] == 1 {
            // One lane: no overtaking.
            ready = ready.max(self.last_ready[li]);
        }
        self.last_ready[li] = ready;
        let veh = &mut self.vehs[v];
        veh.ready = ready;
        veh.entered = t;
        veh.route_length += self.net.link_length[li];
        self.space_used[li] += veh.space;
        self.on_link[li] += 1;
        self.in_network += 1;
        if !self.link_listed[li] {
            self.link_listed[li] = true;
            self.active_links.push(li as u32);
        }
        self.st_entered[li] += 1;
        if self.cfg.record_entries {
            self.entries.push((t, veh.trip, l));
        }
        let q = &mut self.running[li];
        let mut idx = q.len();
        while idx > 0 && q[idx - 1].0 > ready {
            idx -= 1;
        }
        q.insert(idx, (ready, v as u32));
    }

    fn leave_link(&mut self, v: usize, l: LinkId, t: f64) {
        let li = l.index();
        let veh = &self.vehs[v];
        self.space_used[li] = (self.space_used[li] - veh.space).max(0.0);
        self.on_link[li] -= 1;
        self.in_network -= 1;
        self.st_left[li] += 1;
        let tt = t - veh.entered;
        self.st_time[li] += tt;
        self.rr_time_sum[li] += tt;
        self.rr_left[li] += 1;
        self.st_delay[li] += (tt - self.net.free_time(l)).max(0.0);
    }

    fn has_room(&self, l: usize, space: f64) -> bool {
        self.space_used[l] <= 0.0 || self.space_used[l] + space <= self.space_cap[l] + 1e-9
    }

    /// Advance one step.
    pub fn step(&mut self) {
        let t0 = self.time;
        let dt = self.cfg.step;
        let t1 = t0 + dt;
        // 1. External events due.
        if !self.events.is_empty() {
            self.events
                .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let due = self.events.iter().take_while(|e| e.0 < t1).count();
            let evs: Vec<_> = self.events.drain(..due).collect();
            for (_, _, ev) in evs {
                self.apply(ev);
            }
        }
        match self.cfg.signal_control {
            SignalControl::MaxPressure { min_green } => self.update_adaptive(t0, min_green),
            SignalControl::Actuated {
                min_green,
                max_green,
                gap,
            } => self.update_actuated(t0, min_green, max_green, gap),
            SignalControl::FixedTime => {}
        }
        let fcd = self.cfg.fcd_interval;
        if fcd > 0.0 && (t0 - (t0 / fcd).round() * fcd).abs() < 0.5 * dt - 1e-9 {
            self.record_positions(t0);
        }
        let rerouting = self.cfg.reroute_period > 0.0 && self.cfg.reroute_fraction > 0.0;
        if rerouting
            && (t0 == 0.0
                || (t1 / self.cfg.reroute_period).floor() > (t0 / self.cfg.reroute_period).floor())
        {
            self.reroute_informed();
        }
        // 2. Departures into the insertion queues.
        while self.next_departure < self.vehs.len() && self.vehs[self.next_departure].ready < t1 {
            let v = self.next_departure;
            self.next_departure += 1;
            if rerouting && self.is_informed(v) {
                self.reroute_on_current_times(v);
            }
            if self.uses_closed(v) {
                let times = self.current_link_times();
                let _ = self.reroute(v, &times);
            }
            self.vehs[v].state = VehicleState::Inserting;
            let first = self.vehs[v].route[0].index();
            self.inserting[first].push_back(v as u32);
            if !self.ins_listed[first] {
                self.ins_listed[first] = true;
                self.active_ins.push(first as u32);
            }
        }
        // 3. Insertion onto first links (SUMO inserts at speed 0: add the time lost accelerating).
        let mut ins = std::mem::take(&mut self.active_ins);
        // Vehicles waiting to enter a closed first link start from another link of their
        // junction if one leads to their destination; the others wait for a reopening.
        let mut moved: Vec<u32> = Vec::new();
        for &l in &ins {
            let l = l as usize;
            if !self.closed[l] {
                continue;
            }
            if self.inserting[l].is_empty() {
                continue;
            }
            let waiting: Vec<u32> = self.inserting[l].drain(..).collect();
            let times = self.current_link_times();
            for v in waiting {
                if self.restart_elsewhere(v as usize, &times) {
                    let first = self.vehs[v as usize].route[0].index();
                    self.inserting[first].push_back(v);
                    if !self.ins_listed[first] {
                        self.ins_listed[first] = true;
                        moved.push(first as u32);
                    }
                } else {
                    self.inserting[l].push_back(v);
                }
            }
        }
        ins.extend(moved);
        for &l in &ins {
            let l = l as usize;
            while let Some(&v) = self.inserting[l].front() {
                let v = v as usize;
                if self.closed[l] || !self.has_room(l, self.vehs[v].space) {
                    break;
                }
                self.inserting[l].pop_front();
                let t = self.vehs[v].ready.max(t0);
                let speed = self.link_speed_for(v, LinkId(l as u32));
                let accel = self.types[self.vehs[v].vtype as usize].accel;
                let veh = &mut self.vehs[v];
                veh.state = VehicleState::Running;
                veh.depart = t;
                self.enter_link(v, LinkId(l as u32), t, speed / (2.0 * accel));
            }
        }
        ins.retain(|&l| {
            let keep = !self.inserting[l as usize].is_empty();
            self.ins_listed[l as usize] = keep;
            keep
        });
        self.active_ins = ins;
        // 4. Vehicles reaching the end of their link: arrive, or queue for their next movement.
        let links = std::mem::take(&mut self.active_links);
        for &l in &links {
            let l = l as usize;
            while let Some(&(ready, v)) = self.running[l].front() {
                if ready >= t1 {
                    break;
                }
                self.running[l].pop_front();
                let v = v as usize;
                let veh = &self.vehs[v];
                if veh.pos as usize + 1 == veh.route.len() {
                    self.leave_link(v, LinkId(l as u32), ready);
                    let veh = &mut self.vehs[v];
                    veh.arrival = ready;
                    veh.state = VehicleState::Arrived;
                    self.counters.arrived += 1;
                } else {
                    let next = veh.route[veh.pos as usize + 1];
                    let m = self
                        .net
                        .movement(LinkId(l as u32), next)
                        .expect("routes only use existing movements");
                    self.queue_on(m, v);
                }
            }
        }
        // Links entered during this step were appended to the (now empty) list; merge.
        let mut links = links;
        links.append(&mut self.active_links);
        self.active_links = links;
        // 5. Junctions: move vehicles across. Exit queues in id order, starting at a position
        // that rotates with the step so that no approach always goes first.
        let mut mvs = std::mem::take(&mut self.active_mv);
        mvs.sort_unstable();
        if !mvs.is_empty() {
            let k = self.counters.steps as usize % mvs.len();
            mvs.rotate_left(k);
        }
        for &q in &mvs {
            self.discharge(q as usize, t0, t1);
        }
        mvs.append(&mut self.active_mv);
        mvs.retain(|&m| {
            let keep = !self.buffer[m as usize].is_empty();
            self.mv_listed[m as usize] = keep;
            keep
        });
        mvs.dedup();
        self.active_mv = mvs;
        // 6. Statistics.
        let mut links = std::mem::take(&mut self.active_links);
        links.retain(|&l| {
            let l = l as usize;
            self.st_occ[l] += self.on_link[l] as f64 * dt;
            let keep = self.on_link[l] > 0;
            self.link_listed[l] = keep;
            keep
        });
        self.active_links = links;
        self.counters.vehicle_updates += self.in_network;
        self.counters.steps += 1;
        self.time = t1;
        if self.time - self.stat_begin >= self.cfg.stats_interval - 1e-9 {
            self.flush_stats();
        }
    }

    /// Whether a vehicle with priority over movement `m` crosses too close to time `tau` for a
    /// yielding vehicle (acceleration `accel`, length `length`) to go: gap acceptance with a
    /// critical gap of the time to clear the junction from a stop, `sqrt(2 (L + length) / a)`,
    /// plus SUMO's default minimum time gap to a prioritised vehicle (`jmTimegapMinor`, 1 s);
    /// when merging into the foe's lane, plus one saturation headway so the foe can follow.
    /// A prioritised vehicle that has just entered blocks for its own crossing time.
    /// A yielding motorcycle needs only [`MOTORCYCLE_CRITICAL_GAP`] ahead of the next foe.
    fn priority_foe_near(
        &mut self,
        m: MovementId,
        tau: f64,
        accel: f64,
        length: f64,
        motorcycle: bool,
    ) -> bool {
        let crossing = (2.0 * (self.net.mv_via_length[m.index()] + length) / accel).sqrt();
        let target = self.net.mv_to[m.index()];
        for i in self.net.mv_foe_start[m.index()]..self.net.mv_foe_start[m.index() + 1] {
            let k = self.net.mv_foes[i as usize].index();
            // Merging into the foe's lane: the foe must also be able to follow at the
            // saturation headway once the yielding vehicle is in front of it.
            let merge = if self.net.mv_to[k] == target {
                self.cfg.saturation_headway
            } else {
                0.0
            };
            let horizon = if motorcycle {
                tau + MOTORCYCLE_CRITICAL_GAP
            } else {
                tau + crossing + 1.0 + merge
            };
            if let Some((s, idx)) = self.net.mv_signal[k] {
                let (phase, _) = self.signal_phase(s.index());
                if self.net.signals[s.index()].phases[phase].lights[idx as usize] == Light::Red {
                    continue;
                }
            }
            if tau - self.mv_last_pass[k] < self.net.mv_via_time[k].max(1.0) {
                return true;
            }
            if let Some(&f) = self.buffer[self.net.mv_queue[k] as usize].front() {
                let fv = &self.vehs[f as usize];
                if fv.ready <= horizon
                    && fv.route.get(fv.pos as usize + 1) == Some(&self.net.mv_to[k])
                {
                    return true;
                }
            }
            let from = self.net.mv_from[k].index();
            if let Some(&(r, f)) = self.running[from].front()
                && r <= horizon
            {
                let fv = &self.vehs[f as usize];
                if fv.route.get(fv.pos as usize + 1) == Some(&self.net.mv_to[k]) {
                    return true;
                }
            }
        }
        false
    }

    /// Put vehicle `v` in the exit queue of movement `m`.
    fn queue_on(&mut self, m: MovementId, v: usize) {
        let q = self.net.mv_queue[m.index()] as usize;
        self.buffer[q].push_back(v as u32);
        if !self.mv_listed[q] {
            self.mv_listed[q] = true;
            self.active_mv.push(q as u32);
        }
    }

    /// Max-pressure decisions at the start of a step.
    fn update_adaptive(&mut self, t0: f64, min_green: f64) {
        for s in 0..self.net.signals.len() {
            let (cur, start, next) = self.adaptive[s];
            let plan = &self.net.signals[s];
            let elapsed = t0 - start;
            let phase = &plan.phases[cur];
            if !is_green_phase(phase) {
                if elapsed >= phase.duration - 1e-9 {
                    let to = next.unwrap_or((cur + 1) % plan.phases.len());
                    self.adaptive[s] = (to, t0, None);
                }
                continue;
            }
            if elapsed < min_green - 1e-9 {
                continue;
            }
            let mut best = (f64::NEG_INFINITY, cur);
            for (i, p) in plan.phases.iter().enumerate() {
                if !is_green_phase(p) {
                    continue;
                }
                let mut pressure = 0.0;
                for &(m, idx) in &self.sig_movements[s] {
                    if !matches!(p.lights[idx as usize], Light::Green | Light::MinorGreen) {
                        continue;
                    }
                    let b = self.net.mv_to[m.index()];
                    let q = self.net.mv_queue[m.index()] as usize;
                    let waiting = self.buffer[q]
                        .iter()
                        .filter(|&&v| {
                            let veh = &self.vehs[v as usize];
                            veh.route.get(veh.pos as usize + 1) == Some(&b)
                        })
                        .count() as f64;
                    let exits = self.net.out_movements(b).count().max(1) as f64;
                    let downstream = self.on_link[b.index()] as f64 / exits;
                    pressure += self.net.mv_lanes[m.index()] as f64 * (waiting - downstream);
                }
                // Ties keep the current phase, then the lower index.
                if pressure > best.0 + 1e-9 || (i == cur && pressure >= best.0 - 1e-9) {
                    best = (pressure, i);
                }
            }
            let to = best.1;
            if to != cur {
                self.proposals.push(SignalProposal {
                    time: t0,
                    signal: plan.name.clone(),
                    from_phase: cur,
                    to_phase: to,
                    green: elapsed,
                });
                let plan = &self.net.signals[s];
                let after = (cur + 1) % plan.phases.len();
                if plan.phases[after].lights.contains(&Light::Yellow) {
                    self.adaptive[s] = (after, t0, Some(to));
                } else {
                    self.adaptive[s] = (to, t0, None);
                }
            }
        }
    }

    /// Whether a vehicle waits at, or will reach within `gap` s, the stop line of a
    /// movement of signal `s` that phase `p` serves (stop-line and advance detection).
    fn phase_demand(&self, s: usize, p: usize, t0: f64, gap: f64) -> bool {
        let plan = &self.net.signals[s];
        self.sig_movements[s].iter().any(|&(m, idx)| {
            if !matches!(
                plan.phases[p].lights[idx as usize],
                Light::Green | Light::MinorGreen
            ) {
                return false;
            }
            let b = self.net.mv_to[m.index()];
            let q = self.net.mv_queue[m.index()] as usize;
            let goes = |v: u32| {
                let veh = &self.vehs[v as usize];
                veh.route.get(veh.pos as usize + 1) == Some(&b)
            };
            if self.buffer[q].iter().any(|&v| goes(v)) {
                return true;
            }
            let a = self.net.mv_from[m.index()].index();
            self.running[a]
                .iter()
                .take_while(|&&(r, _)| r <= t0 + gap)
                .any(|&(_, v)| goes(v))
        })
    }

    /// Actuated decisions at the start of a step (see [`SignalControl::Actuated`]).
    fn update_actuated(&mut self, t0: f64, min_green: f64, max_green: f64, gap: f64) {
        for s in 0..self.net.signals.len() {
            let (cur, start, next) = self.adaptive[s];
            let n = self.net.signals[s].phases.len();
            let elapsed = t0 - start;
            let phase = &self.net.signals[s].phases[cur];
            if !is_green_phase(phase) {
                if elapsed >= phase.duration - 1e-9 {
                    let to = next.unwrap_or((cur + 1) % n);
                    self.adaptive[s] = (to, t0, None);
                }
                continue;
            }
            if elapsed < min_green - 1e-9 {
                continue;
            }
            let maxed = elapsed >= max_green - 1e-9;
            if !maxed && self.phase_demand(s, cur, t0, gap) {
                continue;
            }
            // Gap-out or max-out: the next green phase in plan order with a waiting vehicle.
            let Some(to) = (1..n).map(|k| (cur + k) % n).find(|&p| {
                is_green_phase(&self.net.signals[s].phases[p]) && self.phase_demand(s, p, t0, 0.0)
            }) else {
                continue;
            };
            self.proposals.push(SignalProposal {
                time: t0,
                signal: self.net.signals[s].name.clone(),
                from_phase: cur,
                to_phase: to,
                green: elapsed,
            });
            let after = (cur + 1) % n;
            if self.net.signals[s].phases[after]
                .lights
                .contains(&Light::Yellow)
            {
                self.adaptive[s] = (after, t0, Some(to));
            } else {
                self.adaptive[s] = (to, t0, None);
            }
        }
    }

    /// Positions recorded every [`SimConfig::fcd_interval`] seconds, at the start of the step
    /// at that time: a vehicle moving on a link is placed by the share of its traversal time
    /// elapsed (the queue model's uniform speed on the link); a vehicle waiting in an exit
    /// queue stands behind the road space of the vehicles ahead of it in that queue, shared
    /// over the queue's lanes, at speed 0.
    pub fn trajectories(&self) -> &[TrajectoryPoint] {
        &self.fcd
    }

    fn record_positions(&mut self, t: f64) {
        let point = |net: &Network, l: LinkId, pos: f64| {
            let (a, b) = (
                net.link_from[l.index()].index(),
                net.link_to[l.index()].index(),
            );
            let f = (pos / net.link_length[l.index()].max(1e-9)).clamp(0.0, 1.0);
            (
                net.node_x[a] + f * (net.node_x[b] - net.node_x[a]),
                net.node_y[a] + f * (net.node_y[b] - net.node_y[a]),
            )
        };
        let mut pts = Vec::new();
        for l in 0..self.net.link_count() {
            let len = self.net.link_length[l];
            for &(ready, v) in &self.running[l] {
                let veh = &self.vehs[v as usize];
                let span = (ready - veh.entered).max(1e-9);
                let pos = (len * (t - veh.entered) / span).clamp(0.0, len);
                let (x, y) = point(&self.net, LinkId(l as u32), pos);
                pts.push(TrajectoryPoint {
                    time: t,
                    trip: veh.trip,
                    link: LinkId(l as u32),
                    pos,
                    x,
                    y,
                    speed: len / span,
                });
            }
        }
        for q in 0..self.buffer.len() {
            let lanes = self.net.queue_lanes[q].max(1) as f64;
            let mut ahead = 0.0;
            for &v in &self.buffer[q] {
                let veh = &self.vehs[v as usize];
                let l = veh.route[veh.pos as usize];
                let len = self.net.link_length[l.index()];
                let pos = (len - ahead / lanes).max(0.0);
                ahead += veh.space;
                let (x, y) = point(&self.net, l, pos);
                pts.push(TrajectoryPoint {
                    time: t,
                    trip: veh.trip,
                    link: l,
                    pos,
                    x,
                    y,
                    speed: 0.0,
                });
            }
        }
        pts.sort_by_key(|p| p.trip);
        self.fcd.extend(pts);
    }

    /// Signal decisions of adaptive control: in propose-only mode what it would have applied,
    /// otherwise what it applied (time, signal, phase ended, green phase next, green length).
    pub fn signal_proposals(&self) -> &[SignalProposal] {
        &self.proposals
    }

    /// Phase index and start time of signal `s` in the current step.
    fn signal_phase(&mut self, s: usize) -> (usize, f64) {
        if self.cfg.signal_control != SignalControl::FixedTime && !self.cfg.propose_only {
            let (p, start, _) = self.adaptive[s];
            return (p, start);
        }
        let step = self.counters.steps;
        if self.sig_stamp[s] != step {
            let t0 = self.time;
            let (i, since) = self.net.signals[s].phase_at(t0);
            self.sig_phase[s] = (i, t0 - since);
            self.sig_stamp[s] = step;
        }
        self.sig_phase[s]
    }

    /// Let vehicles waiting in exit queue `q` cross during [t0, t1).
    fn discharge(&mut self, q: usize, t0: f64, t1: f64) {
        let h = self.cfg.saturation_headway;
        // Position in the queue and the vehicles passed over: a vehicle held only by a full
        // downstream link occupies its lane, and on a queue of several lanes those behind it
        // may go by in the other lanes (at most lanes − 1 such vehicles).
        let mut i = 0usize;
        let lanes = self.net.queue_lanes[q] as usize;
        while let Some(&v) = self.buffer[q].get(i) {
            let v = v as usize;
            let veh = &self.vehs[v];
            let a = veh.route[veh.pos as usize];
            let b = veh.route[veh.pos as usize + 1];
            let m = self
                .net
                .movement(a, b)
                .expect("routes only use existing movements");
            let mi = m.index();
            let (ai, bi) = (a.index(), b.index());
            if self.net.mv_queue[mi] as usize != q {
                // Rerouted while queued onto a movement served by other lanes: change queue.
                self.buffer[q].remove(i);
                self.queue_on(m, v);
                continue;
            }
            let ready = self.vehs[v].ready;
            let mut tau = ready
                .max(self.queue_free_at[q])
                .max(self.link_free_at[ai])
                .max(t0);
            if tau >= t1 {
                break;
            }
            let ty = &self.types[self.vehs[v].vtype as usize];
            let (accel, decel) = (ty.accel, ty.decel);
            let va = self.link_speed_for(v, a);
            // Signal.
            let mut startup_wait = 0.0;
            let mut must_yield = self.net.mv_minor[mi];
            if let Some((s, idx)) = self.net.mv_signal[mi] {
                let (phase, start) = self.signal_phase(s.index());
                let light = self.net.signals[s.index()].phases[phase].lights[idx as usize];
                let ok = light.passable()
                    || (light == Light::Yellow && tau - start <= va / (2.0 * decel));
                if !ok {
                    break;
                }
                if ready < start && light != Light::Yellow {
                    // Queued through the red: the queue starts moving only after the start-up
                    // lost time (which is the queue leader's loss to accelerating).
                    let go = start + self.cfg.startup_lost_time;
                    let unhindered = ready
                        .max(self.queue_free_at[q])
                        .max(self.link_free_at[ai])
                        .max(start);
                    startup_wait = (go - unhindered).max(0.0);
                    tau = tau.max(go);
                    if tau >= t1 {
                        break;
                    }
                }
                must_yield = light == Light::MinorGreen || (light == Light::Off && must_yield);
            }
            // Right of way: a yielding vehicle needs a gap in every stream with priority.
            let patience_over =
                self.cfg.time_to_teleport > 0.0 && t0 - ready >= self.cfg.time_to_teleport;
            let length = self.types[self.vehs[v].vtype as usize].length;
            let moto = self.types[self.vehs[v].vtype as usize].class
                == crate::demand::VehicleClass::Motorbike;
            if must_yield && !patience_over && self.priority_foe_near(m, tau, accel, length, moto) {
                break;
            }
            if self.closed[bi] {
                // Its route still uses a closed link: find another or take it out here.
                let times = self.current_link_times();
                if !self.reroute(v, &times) {
                    self.buffer[q].remove(i);
                    self.leave_link(v, a, tau);
                    self.vehs[v].state = VehicleState::Aborted;
                    self.counters.aborted += 1;
                }
                continue;
            }
            let space = self.vehs[v].space;
            if !self.has_room(bi, space) {
                let ttt = self.cfg.time_to_teleport;
                if ttt > 0.0 && t0 - ready >= ttt {
                    self.counters.teleports += 1;
                } else if i + 1 < lanes {
                    i += 1;
                    continue;
                } else {
                    break;
                }
            }
            // Cross.
            self.buffer[q].remove(i);
            let pcu = self.vehs[v].pcu;
            self.queue_free_at[q] = tau + h * pcu / self.net.queue_lanes[q] as f64;
            self.mv_last_pass[mi] = tau;
            self.link_free_at[ai] = tau + h * pcu / self.exit_lanes[ai];
            self.leave_link(v, a, tau);
            let vb = self.link_speed_for(v, b);
            let via_len = self.net.mv_via_length[mi];
            let mut extra = 0.0;
            let mut u = if via_len > 0.0 {
                let u_lim = via_len / self.net.mv_via_time[mi].max(1e-9);
                self.effective_speed(v, u_lim, self.speed_cap[bi])
            } else {
                va.min(vb)
            };
            if must_yield {
                // A driver who must give way approaches slowly enough to stop within the sight
                // distance at the stop line (SUMO connection `visibility`, default 4.5 m).
                u = u.min((2.0 * decel * MINOR_SIGHT_DISTANCE).sqrt());
            }
            extra += via_len / u;
            let stopped = tau - ready >= 1.0;
            if stopped {
                // Braking to a stop and pulling away; a queue leader has already spent part of
                // the pulling away in the start-up lost time.
                extra += va / (2.0 * decel) + (u / (2.0 * accel) - startup_wait).max(0.0);
            } else if u < va {
                extra += (va - u).powi(2) / (2.0 * decel * va);
            }
            if u < vb {
                extra += (vb - u).powi(2) / (2.0 * accel * vb);
            }
            let veh = &mut self.vehs[v];
            veh.pos += 1;
            veh.route_length += via_len;
            self.enter_link(v, b, tau, extra);
        }
    }

    fn flush_stats(&mut self) {
        let end = self.time;
        for l in 0..self.net.link_count() {
            if self.st_entered[l] == 0 && self.st_left[l] == 0 && self.st_occ[l] == 0.0 {
                continue;
            }
            let left = self.st_left[l];
            let span = (end - self.stat_begin).max(1e-9);
            let km_lanes = self.net.link_length[l] / 1000.0 * self.net.link_lanes[l] as f64;
            self.link_stats.push(LinkInterval {
                begin: self.stat_begin,
                end,
                link: LinkId(l as u32),
                entered: self.st_entered[l],
                left,
                mean_travel_time: if left > 0 {
                    self.st_time[l] / left as f64
                } else {
                    f64::NAN
                },
                mean_delay: if left > 0 {
                    self.st_delay[l] / left as f64
                } else {
                    f64::NAN
                },
                density: self.st_occ[l] / span / km_lanes,
            });
            self.st_entered[l] = 0;
            self.st_left[l] = 0;
            self.st_time[l] = 0.0;
            self.st_delay[l] = 0.0;
            self.st_occ[l] = 0.0;
        }
        self.stat_begin = end;
    }

    /// Step until every vehicle is done or time `end` is reached (`None`: no limit).
    pub fn run(&mut self, end: Option<f64>) {
        let end = end.unwrap_or(f64::INFINITY);
        while !self.is_done() && self.time < end - 1e-9 {
            self.step();
        }
        if self.time > self.stat_begin {
            self.flush_stats();
        }
    }

    /// Per-link statistics of the intervals completed so far.
    pub fn link_stats(&self) -> &[LinkInterval] {
        &self.link_stats
    }

    /// Per-trip outcomes, in departure order.
    pub fn trip_results(&self) -> Vec<TripResult> {
        self.vehs
            .iter()
            .map(|v| TripResult {
                id: self.trip_ids[v.trip as usize].clone(),
                depart: v.depart,
                arrival: v.arrival,
                route_length: v.route_length,
                state: v.state,
                reroutes: v.reroutes,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demand::build_demand;
    use crate::network::tests::detour;
    use crate::sumo_routes::parse_routes;

    /// Vehicles without speed spread or dawdling, so times are exact.
    const EXACT: &str = r#"<vType id="exact" sigma="0" speedDev="0"/>"#;

    fn sim_with(vehicles: &str, cfg: SimConfig) -> Simulation {
        let net = detour();
        let rf = parse_routes(&format!("<routes>{EXACT}{vehicles}</routes>")).unwrap();
        let (d, bad) = build_demand(&net, &rf);
        assert!(bad.is_empty(), "{bad:?}");
        Simulation::new(net, d, cfg)
    }

    fn many(n: usize, gap: f64, route: &str) -> String {
        (0..n)
            .map(|i| {
                format!(
                    r#"<vehicle id="v{i}" type="exact" depart="{}"><route edges="{route}"/></vehicle>"#,
                    i as f64 * gap
                )
            })
            .collect()
    }

    #[test]
    fn one_vehicle_free_flow_signal_and_turn_times() {
        let mut s = sim_with(&many(1, 0.0, "SA AB BC CE"), SimConfig::default());
        s.run(None);
        let r = &s.trip_results()[0];
        assert_eq!(r.state, VehicleState::Arrived);
        // SA: start from rest 10/(2·2.6) + 100/10; AB 20 s; BC 20 s -> stop line at 51.92 s,
        // red until 60 s, start-up lost time 2 s. Then: braking loss 10/(2·4.5) (pulling away
        // to 8 m/s, 8/(2·2.6) = 1.54 s, is inside the 2 s lost time), junction 8 m at 8 m/s,
        // speeding up 8 -> 10: (10-8)²/(2·2.6·10), and CE 10 s.
        let expect = 62.0 + 10.0 / 9.0 + 1.0 + 4.0 / 52.0 + 10.0;
        assert!(
            (r.arrival - expect).abs() < 1e-9,
            "{} vs {expect}",
            r.arrival
        );
        assert_eq!(r.depart, 0.0);
        assert!((r.route_length - 608.0).abs() < 1e-9);
    }

    #[test]
    fn queue_discharges_at_saturation_flow() {
        // 60 vehicles released at once on a route without signal: the single-lane movement
        // SA -> AB is the bottleneck, one vehicle per saturation headway.
        let mut s = sim_with(&many(60, 0.0, "SA AB BC"), SimConfig::default());
        s.run(None);
        let mut arr: Vec<f64> = s.trip_results().iter().map(|t| t.arrival).collect();
        arr.sort_by(f64::total_cmp);
        let gaps: Vec<f64> = arr.windows(2).skip(10).map(|w| w[1] - w[0]).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        assert!(
            (mean - HCM_SATURATION_HEADWAY).abs() < 0.02,
            "mean headway {mean}"
        );
        assert_eq!(s.counters().arrived, 60);
        assert_eq!(s.counters().teleports, 0);
    }

    #[test]
    fn spillback_respects_storage_and_everyone_arrives() {
        // Heavy demand through the signal at C: queues on BC spill back onto AB and SA.
        let mut s = sim_with(&many(150, 1.0, "SA AB BC CE"), SimConfig::default());
        let mut max_fill: f64 = 0.0;
        let mut blocked_upstream = false;
        while !s.is_done() {
            s.step();
            for l in 0..s.net.link_count() {
                // Never more than the road space, give or take the one vehicle let onto an empty link.
                assert!(s.space_used[l] <= s.space_cap[l] + 7.5 + 1e-9);
                max_fill = max_fill.max(s.space_used[l] / s.space_cap[l]);
            }
            let bc = s.net.link("BC").unwrap().index();
            let ab = s.net.link("AB").unwrap().index();
            if s.space_used[bc] + 7.5 > s.space_cap[bc] && s.space_used[ab] > 0.5 * s.space_cap[ab]
            {
                blocked_upstream = true;
            }
            assert!(s.time() < 5000.0);
        }
        assert!(blocked_upstream, "the queue never spilled back");
        assert!(max_fill > 0.95);
        assert_eq!(s.counters().arrived, 150);
        assert_eq!(s.counters().teleports, 0);
        // The signal gives BC 30 s of every 60: about 30/1.895 vehicles per cycle, so the last of
        // 150 arrives after roughly 150/15.8 cycles.
        let last = s
            .trip_results()
            .iter()
            .map(|t| t.arrival)
            .fold(0.0, f64::max);
        assert!(
            (9.0 * 60.0..11.0 * 60.0).contains(&last),
            "last arrival {last}"
        );
    }

    #[test]
    fn closing_a_link_reroutes_and_nobody_enters_it() {
        let cfg = SimConfig {
            record_entries: true,
            ..SimConfig::default()
        };
        let mut s = sim_with(&many(40, 5.0, "SA AB BC CE"), cfg);
        let bc = s.network().link("BC").unwrap();
        let dc = s.network().link("DC").unwrap();
        let ab = s.network().link("AB").unwrap();
        s.schedule(50.0, LinkEvent::Closed(bc, true));
        // Stop just before the closure to see who is committed to BC (on AB, whose only exit is BC).
        s.run(Some(50.0));
        let on_ab_or_before_bc = s
            .vehs
            .iter()
            .filter(|v| v.state == VehicleState::Running && v.route[v.pos as usize] == ab)
            .count();
        s.run(None);
        assert!(s.is_done());
        assert_eq!(s.closed_entries(), 0);
        assert!(
            s.entries().iter().all(|&(t, _, l)| l != bc || t < 50.0),
            "entered a closed link"
        );
        let via_dc = s.entries().iter().filter(|e| e.2 == dc).count();
        let c = s.counters();
        assert_eq!(
            c.aborted, on_ab_or_before_bc,
            "only vehicles already on AB are stuck"
        );
        assert!(on_ab_or_before_bc > 0);
        assert_eq!(c.arrived + c.aborted, 40);
        assert!(via_dc >= 30, "{via_dc} rerouted via DC");
        assert!(c.reroutes >= via_dc);
        // Rerouted trips report the longer route.
        let long = s
            .trip_results()
            .iter()
            .filter(|t| (t.route_length - 700.0).abs() < 1e-6)
            .count();
        assert_eq!(long, via_dc);
    }

    #[test]
    fn reopening_and_speed_caps() {
        let cfg = SimConfig {
            record_entries: true,
            ..SimConfig::default()
        };
        let mut s = sim_with(&many(1, 0.0, "SA AB BC"), cfg.clone());
        let ab = s.network().link("AB").unwrap();
        s.apply(LinkEvent::SpeedCap(ab, Some(5.0)));
        s.run(None);
        // AB at 5 m/s takes 40 s instead of 20, plus slowing 10 -> 5 and speeding up 5 -> 10.
        let t = s.trip_results()[0].arrival;
        let expect = 10.0 / 5.2 + 10.0 + 40.0 + 20.0 + 25.0 / 90.0 + 25.0 / 52.0;
        assert!((t - expect).abs() < 1e-9, "{t} vs {expect}");
        // Closed and reopened before anyone arrives: the route is unchanged.
        let mut s = sim_with(&many(3, 0.0, "SA AB BC CE"), cfg);
        let bc = s.network().link("BC").unwrap();
        s.schedule(0.0, LinkEvent::Closed(bc, true));
        s.schedule(5.0, LinkEvent::Closed(bc, false));
        s.run(None);
        assert_eq!(s.counters().arrived, 3);
    }

    #[test]
    fn informed_drivers_reroute_around_a_slow_link() {
        // AB capped at 1 m/s (200 s instead of 20 s; the detour AD DC is 50 s): the informed
        // share of the vehicles departing after the cap takes the detour, nobody else does.
        let run = |fraction: f64| {
            let cfg = SimConfig {
                record_entries: true,
                reroute_period: 10.0,
                reroute_fraction: fraction,
                ..SimConfig::default()
            };
            let mut s = sim_with(&many(200, 2.0, "SA AB BC CE"), cfg);
            let ab = s.network().link("AB").unwrap();
            let dc = s.network().link("DC").unwrap();
            s.schedule(0.0, LinkEvent::SpeedCap(ab, Some(1.0)));
            s.run(None);
            assert_eq!(s.counters().arrived, 200);
            let via_dc = s.entries().iter().filter(|e| e.2 == dc).count();
            (via_dc, s.counters().reroutes)
        };
        assert_eq!(run(0.0), (0, 0));
        let (all, n_all) = run(1.0);
        let (half, _) = run(0.5);
        // Once the one-lane detour queues at the signal, the slow link is worth taking again:
        // even fully informed drivers split.
        assert!((130..=170).contains(&all), "{all} of 200 via the detour");
        assert!(n_all >= all);
        assert!(
            (70..=110).contains(&half),
            "{half} of 200 with half informed"
        );
    }

    #[test]
    fn runs_are_deterministic() {
        let v: String = (0..200)
            .map(|i| {
                let r = if i % 3 == 0 {
                    "SA AD DC CE"
                } else {
                    "SA AB BC CE"
                };
                format!(
                    r#"<vehicle id="v{i}" depart="{}"><route edges="{r}"/></vehicle>"#,
                    i as f64 * 0.7
                )
            })
            .collect();
        let mut a = sim_with(&v, SimConfig::default());
        let mut b = sim_with(&v, SimConfig::default());
        a.run(None);
        b.run(None);
        assert_eq!(a.trip_results(), b.trip_results());
        assert_eq!(a.link_stats(), b.link_stats());
        let mut c = sim_with(
            &v,
            SimConfig {
                seed: 7,
                ..SimConfig::default()
            },
        );
        c.run(None);
        assert_ne!(
            a.trip_results(),
            c.trip_results(),
            "the seed drives the speed factors"
        );
    }

    #[test]
    fn max_pressure_serves_the_loaded_approach() {
        // All traffic comes through D, whose movement the plan's first phase holds on red.
        let with_amber = crate::network::tests::DETOUR.replace(
            r#"<phase duration="30" state="Gr"/><phase duration="30" state="rG"/>"#,
            r#"<phase duration="27" state="Gr"/><phase duration="3" state="yr"/><phase duration="27" state="rG"/><phase duration="3" state="ry"/>"#,
        );
        let run = |control: SignalControl| {
            let net = crate::network::Network::from_sumo(
                &crate::sumo_net::parse_net(&with_amber).unwrap(),
            )
            .unwrap();
            let rf = parse_routes(&format!(
                "<routes>{EXACT}{}</routes>",
                many(20, 4.0, "SA AD DC CE")
            ))
            .unwrap();
            let (d, _) = build_demand(&net, &rf);
            let mut s = Simulation::new(
                net,
                d,
                SimConfig {
                    signal_control: control,
                    ..SimConfig::default()
                },
            );
            s.run(None);
            s.trip_results()
        };
        let fixed = run(SignalControl::FixedTime);
        let mp = run(SignalControl::MaxPressure { min_green: 10.0 });
        // First vehicle: at the stop line at 61.92 s; the signal switches at the next step
        // (62 s) through its 3 s amber, green from 65 s, start-up lost time 2 s, braking loss
        // 10/9 s, then CE in 10 s.
        let expect = 67.0 + 10.0 / 9.0 + 10.0;
        assert!(
            (mp[0].arrival - expect).abs() < 1e-9,
            "{} vs {expect}",
            mp[0].arrival
        );
        let mean = |r: &[TripResult]| r.iter().map(|t| t.duration()).sum::<f64>() / r.len() as f64;
        assert!(
            mean(&mp) + 10.0 < mean(&fixed),
            "{} vs {}",
            mean(&mp),
            mean(&fixed)
        );
        assert!(mp.iter().all(|t| t.state == VehicleState::Arrived));
    }

    #[test]
    fn actuated_control_and_propose_only_mode() {
        let with_amber = crate::network::tests::DETOUR.replace(
            r#"<phase duration="30" state="Gr"/><phase duration="30" state="rG"/>"#,
            r#"<phase duration="27" state="Gr"/><phase duration="3" state="yr"/><phase duration="27" state="rG"/><phase duration="3" state="ry"/>"#,
        );
        let run = |control: SignalControl, propose_only: bool, routes: &str| {
            let net = crate::network::Network::from_sumo(
                &crate::sumo_net::parse_net(&with_amber).unwrap(),
            )
            .unwrap();
            let rf = parse_routes(&format!("<routes>{EXACT}{routes}</routes>")).unwrap();
            let (d, _) = build_demand(&net, &rf);
            let mut s = Simulation::new(
                net,
                d,
                SimConfig {
                    signal_control: control,
                    propose_only,
                    ..SimConfig::default()
                },
            );
            s.run(None);
            (s.trip_results(), s.signal_proposals().to_vec())
        };
        let act = SignalControl::Actuated {
            min_green: 5.0,
            max_green: 30.0,
            gap: 3.0,
        };
        let via_d = many(20, 4.0, "SA AD DC CE");
        let (trips, props) = run(act, false, &via_d);
        // Phase 0 (BC) has no demand; D's first vehicle reaches the line at 61.92 s, so at
        // 62 s the signal gaps out to phase 2 through its 3 s amber, as max-pressure did.
        let expect = 67.0 + 10.0 / 9.0 + 10.0;
        assert!(
            (trips[0].arrival - expect).abs() < 1e-9,
            "{}",
            trips[0].arrival
        );
        assert_eq!(
            (props[0].time, props[0].from_phase, props[0].to_phase),
            (62.0, 0, 2)
        );
        assert!(trips.iter().all(|t| t.state == VehicleState::Arrived));
        // Demand on both approaches: no green runs past the maximum.
        let mut both = many(40, 2.0, "SA AD DC CE");
        both.push_str(
            &(0..40)
                .map(|i| {
                    format!(
                        r#"<vehicle id="w{i}" type="exact" depart="{}"><route edges="SA AB BC CE"/></vehicle>"#,
                        i as f64 * 2.0 + 1.0
                    )
                })
                .collect::<String>(),
        );
        let (_, props) = run(act, false, &both);
        // (The first green rests until the other approach's first vehicle arrives.)
        assert!(props.len() >= 3, "{props:?}");
        assert!(
            props[1..]
                .iter()
                .all(|p| p.green <= 30.0 + 1e-9 && p.green >= 5.0 - 1e-9),
            "{props:?}"
        );
        assert!(
            props.iter().any(|p| (p.green - 30.0).abs() < 1e-9),
            "a max-out: {props:?}"
        );
        // Propose only: the trips are exactly those of the fixed plan, and the decisions that
        // actuated control would take are recorded.
        let (fixed, none) = run(SignalControl::FixedTime, false, &via_d);
        assert!(none.is_empty());
        let (proposed, props) = run(act, true, &via_d);
        assert_eq!(proposed, fixed);
        assert_eq!(
            (props[0].time, props[0].from_phase, props[0].to_phase),
            (62.0, 0, 2)
        );
        let (mp, props) = run(SignalControl::MaxPressure { min_green: 10.0 }, true, &via_d);
        assert_eq!(mp, fixed);
        assert!(!props.is_empty());
    }

    #[test]
    fn trajectories_at_position_level() {
        // One exact vehicle on SA AB BC CE, recorded every 5 s.
        let cfg = SimConfig {
            fcd_interval: 5.0,
            ..SimConfig::default()
        };
        let mut s = sim_with(&many(1, 0.0, "SA AB BC CE"), cfg);
        s.run(None);
        let f = s.trajectories();
        assert!(f.windows(2).all(|w| w[1].time - w[0].time == 5.0));
        // At 10 s it is on SA (100 m, reached at 10/5.2 + 10 s = 11.92 s): moving at
        // 100 / 11.92 m/s, 10 / 11.92 of the way along, i.e. at x = -100 + 83.9.
        let p = f.iter().find(|p| p.time == 10.0).unwrap();
        let sa = s.network().link("SA").unwrap();
        assert_eq!(p.link, sa);
        let span = 10.0 / 5.2 + 10.0;
        assert!((p.pos - 100.0 * 10.0 / span).abs() < 1e-9, "{p:?}");
        assert!((p.speed - 100.0 / span).abs() < 1e-9);
        let sa_from = s.network().link_from[sa.index()].index();
        let x0 = s.network().node_x[sa_from];
        assert!((p.x - (x0 + p.pos)).abs() < 1e-6, "{p:?} from x {x0}");
        // At 55 s it waits at the red light at the end of BC (reached 51.92 s, green at 60).
        let p = f.iter().find(|p| p.time == 55.0).unwrap();
        assert_eq!(p.link, s.network().link("BC").unwrap());
        assert_eq!((p.pos, p.speed), (200.0, 0.0));
        // Recorded until it arrives (72.2 s).
        assert_eq!(f.last().unwrap().time, 70.0);
        let mut csv = Vec::new();
        crate::output::write_fcd_csv(&mut csv, s.network(), &s.trip_results(), f).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(
            csv.starts_with("time,vehicle,link,pos,x,y,speed\n5.00,v0,SA,41.94,-58.06,0.00,8.39\n"),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), f.len() + 1);
    }

    #[test]
    fn speed_factors_follow_the_truncated_normal() {
        let xs: Vec<f64> = (0..20000).map(|i| speed_factor(1, i, 1.0, 0.1)).collect();
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt();
        assert!(
            (m - 1.0).abs() < 0.005 && (sd - 0.1).abs() < 0.005,
            "{m} {sd}"
        );
        assert!(xs.iter().all(|x| (0.2..=2.0).contains(x)));
    }
}

#[cfg(test)]
mod yield_tests {
    use super::*;
    use crate::demand::build_demand;
    use crate::sumo_net::parse_net;
    use crate::sumo_routes::parse_routes;

    /// A T junction J: major road WJ -> JE straight, minor road SJ -> JE turning in, which must
    /// give way to the major stream (response bit 0 set on request 1).
    const T: &str = r#"<net>
  <edge id=":J_0" function="internal"><lane id=":J_0_0" index="0" speed="10" length="10"/></edge>
  <edge id=":J_1" function="internal"><lane id=":J_1_0" index="0" speed="10" length="10"/></edge>
  <edge id="WJ" from="W" to="J"><lane id="WJ_0" index="0" speed="10" length="100"/></edge>
  <edge id="SJ" from="S" to="J"><lane id="SJ_0" index="0" speed="10" length="100"/></edge>
  <edge id="JE" from="J" to="E"><lane id="JE_0" index="0" speed="10" length="1000"/><lane id="JE_1" index="1" speed="10" length="1000"/></edge>
  <junction id="W" type="dead_end" x="-100" y="0"/>
  <junction id="S" type="dead_end" x="0" y="-100"/>
  <junction id="E" type="dead_end" x="1000" y="0"/>
  <junction id="J" type="priority" x="0" y="0" incLanes="WJ_0 SJ_0" intLanes=":J_0_0 :J_1_0">
    <request index="0" response="00" foes="10" cont="0"/>
    <request index="1" response="01" foes="01" cont="0"/>
  </junction>
  <connection from="WJ" to="JE" fromLane="0" toLane="0" via=":J_0_0" dir="s" state="M"/>
  <connection from="SJ" to="JE" fromLane="0" toLane="1" via=":J_1_0" dir="r" state="m"/>
</net>"#;

    fn run(major: usize) -> Simulation {
        run_as(major, "")
    }

    /// As [`run`], the minor vehicle of SUMO class `vclass` if not empty.
    fn run_as(major: usize, vclass: &str) -> Simulation {
        let net = crate::network::Network::from_sumo(&parse_net(T).unwrap()).unwrap();
        let wj = net.link("WJ").unwrap();
        let sj = net.link("SJ").unwrap();
        let je = net.link("JE").unwrap();
        let minor = net.movement(sj, je).unwrap();
        assert_eq!(net.priority_foes(minor), [net.movement(wj, je).unwrap()]);
        assert!(net.priority_foes(net.movement(wj, je).unwrap()).is_empty());
        assert!(net.mv_minor[minor.index()]);
        let mut v = String::from(r#"<vType id="x" sigma="0" speedDev="0"/>"#);
        for i in 0..major {
            v += &format!(
                r#"<vehicle id="m{i}" type="x" depart="{}"><route edges="WJ JE"/></vehicle>"#,
                i as f64 * 3.0
            );
        }
        if vclass.is_empty() {
            v += r#"<vehicle id="minor" type="x" depart="0"><route edges="SJ JE"/></vehicle>"#;
        } else {
            v += &format!(
                r#"<vType id="m" vClass="{vclass}" sigma="0" speedDev="0"/><vehicle id="minor" type="m" depart="0"><route edges="SJ JE"/></vehicle>"#
            );
        }
        let rf = parse_routes(&format!("<routes>{v}</routes>")).unwrap();
        let (d, bad) = build_demand(&net, &rf);
        assert!(bad.is_empty());
        let mut s = Simulation::new(net, d, SimConfig::default());
        s.run(None);
        s
    }

    #[test]
    fn minor_road_waits_for_a_gap_in_the_major_stream() {
        // Alone: it slows to sqrt(2·4.5·4.5) = 6.36 m/s at the line but does not stop.
        let s = run(0);
        let r = s
            .trip_results()
            .into_iter()
            .find(|t| t.id == "minor")
            .unwrap();
        let u = (2.0f64 * 4.5 * 4.5).sqrt();
        let expect = 10.0 / 5.2
            + 10.0
            + (10.0 - u).powi(2) / (2.0 * 4.5 * 10.0)
            + 10.0 / u
            + (10.0 - u).powi(2) / (2.0 * 2.6 * 10.0)
            + 100.0;
        assert!(
            (r.arrival - expect).abs() < 1e-9,
            "{} vs {expect}",
            r.arrival
        );
        // Behind 20 major vehicles 3 s apart (gaps shorter than the 3.8 s it needs), it goes
        // only after the last one has crossed.
        let s = run(20);
        let trips = s.trip_results();
        let minor = trips.iter().find(|t| t.id == "minor").unwrap();
        let last_major_cross = 57.0 + 10.0 / 5.2 + 10.0;
        assert!(
            minor.arrival > last_major_cross + 100.0,
            "{}",
            minor.arrival
        );
        assert!(
            minor.arrival < last_major_cross + 125.0,
            "{}",
            minor.arrival
        );
        assert_eq!(s.counters().arrived, 21);
    }

    #[test]
    fn a_motorcycle_takes_the_short_gaps() {
        // Major vehicles 3 s apart leave gaps a car refuses (test above) but a motorcycle,
        // with its 1.25 s critical gap, takes one of the first.
        let s = run_as(20, "motorcycle");
        let t = s.trip_results();
        let minor = t.iter().find(|t| t.id == "minor").unwrap();
        let car = run(20);
        let car_arrival = car
            .trip_results()
            .into_iter()
            .find(|t| t.id == "minor")
            .unwrap()
            .arrival;
        assert!(minor.arrival < 140.0, "{}", minor.arrival);
        assert!(
            minor.arrival + 40.0 < car_arrival,
            "{} vs {car_arrival}",
            minor.arrival
        );
        assert_eq!(s.counters().arrived, 21);
    }
}
