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
//!   SUMO does (counted in the summary);
//! * a signal that goes dark ([`LinkEvent::SignalDark`], a substation out) turns its junction
//!   into an all-way stop: every vehicle stops, the first to arrive goes once no conflicting
//!   movement has crossed within the time it needs to clear the junction from a stop, and an
//!   approach discharges one vehicle per [`DARK_SIGNAL_HEADWAY`] per lane (HCM 2010 ch. 20).
//!
//! Time advances in fixed steps, but departure, transfer and arrival times inside a step are
//! continuous (a vehicle not held back leaves at the exact time it reaches the stop line), so
//! the step length does not bias travel times. Junctions are processed in id order and the
//! movements of a junction in a rotating order: the run is deterministic.

//!
//! Files: `config` (settings), `records` (what a run reports), `state` (the state and its
//! views), `step` (the step and the links), `junction` (exit queues across junctions),
//! `signals` and `adaptive` (signal state, max-pressure and actuated control),
//! `reroute` (closures and informed drivers), `scaling` (the demand still to depart scaled
//! in a run under way), `recording` (trajectories, link statistics,
//! trip outcomes).

mod adaptive;
mod config;
mod junction;
mod recording;
mod records;
mod reroute;
mod scaling;
mod signals;
mod state;
mod step;

pub use config::{
    DARK_SIGNAL_HEADWAY, HCM_SATURATION_HEADWAY, MINOR_SIGHT_DISTANCE, MOTORCYCLE_CRITICAL_GAP,
    SignalControl, SimConfig,
};
pub use records::{
    Counters, GRIDLOCK_SHARE, LinkEvent, LinkInterval, NetworkInterval, SignalProposal,
    TrajectoryPoint, Traversals, TripResult, VehicleState,
};
pub use reroute::REROUTE_MIN_GAIN;
pub use scaling::Rescaled;
pub use state::Simulation;

#[cfg(test)]
mod dark_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod yield_tests;
