//! Settings of a run: step, saturation headway, teleport time, statistics interval, seed,
//! signal control method, rerouting and recording options, and the constants they default to.

/// The base saturation flow rate of HCM 2010 ch. 18 (signalized intersections), 1,900 pc/h/ln,
/// the value its adjusted saturation flow rate starts from before the lane-width,
/// heavy-vehicle, grade and turning adjustments, as a headway: 3600/1900 s.
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

/// Departure headway of vehicles that give way, one after another through a gap (the
/// follow-up time, s per passenger-car unit and lane). A driver who must yield comes to the
/// stop line slowly enough to stop, so the queue behind it moves up slower than a queue
/// released by a green. 2.5 s: SUMO 1.28 micro passes 1,404–1,440 vehicles an hour through a
/// yielding movement with no conflicting traffic (`bash benches/sumo/junction_capacity.sh`,
/// benches/results/junction-capacity.md), where a green stream passes one per saturation
/// headway.
pub const MINOR_FOLLOW_UP_HEADWAY: f64 = 2.5;

/// Departure headway at a junction whose signal has gone dark (s per passenger-car unit and
/// lane): drivers treat it as an all-way stop, each stopping and going in turn, first come
/// first served. HCM 2010 ch. 20 (all-way stop-controlled intersections) gives a base
/// saturation headway of 3.9 s for a single-lane approach with no vehicle on the other
/// approaches, against the 1.9 s of a green signal ([`HCM_SATURATION_HEADWAY`]).
pub const DARK_SIGNAL_HEADWAY: f64 = 3.9;

/// How signals are run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// Settings of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// closures). See [`crate::sim::Simulation::reroute_informed`].
    pub reroute_period: f64,
    /// Share of drivers who are informed (reroute on current times), 0..=1.
    pub reroute_fraction: f64,
    /// Record vehicle positions every this many seconds (0: off): see
    /// [`crate::sim::Simulation::trajectories`].
    pub fcd_interval: f64,
    /// Propose only: with adaptive control (max-pressure, actuated) the signals keep their
    /// fixed plans and the adaptive decisions are only recorded
    /// ([`crate::sim::Simulation::signal_proposals`]), run on the state the fixed plans produce.
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
