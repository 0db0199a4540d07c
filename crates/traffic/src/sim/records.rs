//! The public records of a run: vehicle states, trip outcomes, link statistics per interval,
//! floating-car points, signal decisions, link events and totals.

use crate::network::{LinkId, SignalId};

/// A vehicle's position at one time (floating-car data).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrajectoryPoint {
    /// Time (s).
    pub time: f64,
    /// Trip index (departure order, as in [`crate::sim::Simulation::trip_results`]).
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// Where a vehicle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// Outcome of one trip.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TripResult {
    /// Vehicle id.
    pub id: String,
    /// Actual departure (entry onto the first link), s; NaN if it never departed.
    pub depart: f64,
    /// Arrival at the end of the last link, s; NaN if it did not arrive.
    pub arrival: f64,
    /// Planned departure, s.
    pub planned: f64,
    /// Time it left the network, s: its arrival, or when it was taken out for want of a
    /// route; NaN while it is still on the network or waiting to enter it.
    pub ended: f64,
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

    /// Time the trip has cost by time `end` (s): to its arrival or its being taken out, or,
    /// unfinished, from its departure (planned departure if it never entered the network) to
    /// `end`; 0 for a trip planned after `end`.
    pub fn time_by(&self, end: f64) -> f64 {
        let from = if self.depart.is_finite() {
            self.depart
        } else {
            self.planned
        };
        let to = if self.ended.is_finite() {
            self.ended
        } else {
            end
        };
        (to - from).max(0.0)
    }
}

/// The whole network over one statistics interval: jams broken by teleporting, and the
/// vehicles on it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetworkInterval {
    /// Interval start (s).
    pub begin: f64,
    /// Interval end (s).
    pub end: f64,
    /// Vehicles let through a full link during the interval.
    pub teleports: usize,
    /// Vehicles on the network at the interval's end.
    pub on_network: usize,
    /// Vehicles that arrived during the interval.
    pub arrived: usize,
}

impl NetworkInterval {
    /// Gridlock indicator: the teleports of the interval per vehicle on the network at its
    /// end (each teleport is a vehicle held at a full link for `time_to_teleport`, so a share
    /// above [`GRIDLOCK_SHARE`] says jams are being broken by force somewhere).
    pub fn gridlock(&self) -> f64 {
        self.teleports as f64 / self.on_network.max(1) as f64
    }
}

/// Share of the vehicles on the network teleported in one interval above which the interval is
/// reported as gridlocked: 1 %.
pub const GRIDLOCK_SHARE: f64 = 0.01;

/// Statistics of one link over one interval.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

impl LinkInterval {
    /// Space-mean speed (m/s) of the vehicles that left the link, whose `length` (m) is given:
    /// the length over their mean time on it (queueing at its end included); NaN if none left.
    pub fn mean_speed(&self, length: f64) -> f64 {
        length / self.mean_travel_time
    }
}

/// The link traversals completed in some link intervals, summed: their space-mean speed is
/// [`Traversals::distance`] over [`Traversals::time`].
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Traversals {
    /// Length driven (m).
    pub distance: f64,
    /// Time spent on the links (s).
    pub time: f64,
}

impl Traversals {
    /// Add the traversals of interval `s` of a link `length` m long.
    pub fn add(&mut self, s: &LinkInterval, length: f64) {
        self.distance += s.left as f64 * length;
        self.time += s.left as f64 * s.mean_travel_time;
    }
}

/// Something the outside world does to a link or a signal (the flood coupling sets these).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum LinkEvent {
    /// Close or reopen a link: no vehicle enters a closed link.
    Closed(LinkId, bool),
    /// Cap the speed on a link (m/s), or lift the cap with `None`.
    SpeedCap(LinkId, Option<f64>),
    /// A signal goes dark (its power is cut) or comes back: while dark its junction runs as an
    /// all-way stop, each vehicle stopping and crossing in the order of arrival once no
    /// conflicting movement has crossed within the time it needs to clear the junction, at
    /// [`crate::sim::DARK_SIGNAL_HEADWAY`] per lane on each approach.
    SignalDark(SignalId, bool),
}

/// Totals of a run.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
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
    /// Vehicles that crossed a junction whose signal was dark.
    pub dark_crossings: usize,
}
