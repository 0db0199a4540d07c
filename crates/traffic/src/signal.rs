//! Signal plans as the simulation runs them: the light each movement sees, phases and plans,
//! and the constants of the change interval and of permitted left turns. The plans' timing
//! for a demand (Webster, protected lefts) is in [`crate::signal_timing`]; the adaptive
//! control that overrides them at run time is in [`crate::sim`].

/// Light shown to one movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Light {
    /// Protected green (`G`), or no signal.
    Green,
    /// Permissive green that yields to conflicting streams (`g`).
    MinorGreen,
    /// Amber (`y`, `Y`).
    Yellow,
    /// Red (`r`, `R`, `s`, `u`).
    Red,
    /// Signal off (`o`, `O`): drive as at an unsignalised junction.
    Off,
}

impl Light {
    pub(crate) fn from_char(c: char) -> Light {
        match c {
            'G' => Light::Green,
            'g' => Light::MinorGreen,
            'y' | 'Y' => Light::Yellow,
            'o' | 'O' => Light::Off,
            _ => Light::Red,
        }
    }

    /// Whether a vehicle may cross the stop line under this light.
    pub fn passable(self) -> bool {
        matches!(self, Light::Green | Light::MinorGreen | Light::Off)
    }
}

/// How a signal decides its phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SignalKind {
    /// Fixed-time plan: phases in order with their durations (SUMO `static`; also used for
    /// SUMO `actuated` and other programme types, run at their nominal durations and named in
    /// [`crate::network::Network::import_warnings`]).
    FixedTime,
}

/// One phase of a signal plan.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SignalPhase {
    /// Duration (s).
    pub duration: f64,
    /// Light per signal link index.
    pub lights: Vec<Light>,
}

/// A signal plan at one junction.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SignalPlan {
    /// Name (SUMO `tlLogic` id).
    pub name: String,
    /// Control method.
    pub kind: SignalKind,
    /// Offset (s): the cycle position at time t is `(t - offset) mod cycle`, as in SUMO.
    pub offset: f64,
    /// Phases in order.
    pub phases: Vec<SignalPhase>,
    /// Cycle length (s), the sum of phase durations.
    pub cycle: f64,
}

impl SignalPlan {
    /// Phase index and the time since that phase began, at time `t`.
    pub fn phase_at(&self, t: f64) -> (usize, f64) {
        let mut pos = (t - self.offset).rem_euclid(self.cycle);
        for (i, p) in self.phases.iter().enumerate() {
            if pos < p.duration {
                return (i, pos);
            }
            pos -= p.duration;
        }
        (self.phases.len() - 1, 0.0)
    }
}

/// Critical headway of a permitted left turn across an opposing flow (s): HCM 2010 ch. 31
/// (permitted left-turn saturation flow), 4.5 s.
pub const PERMITTED_LEFT_CRITICAL_HEADWAY: f64 = 4.5;
/// Follow-up headway of permitted left turners (s): HCM 2010 ch. 31, 2.5 s.
pub const PERMITTED_LEFT_FOLLOW_UP: f64 = 2.5;
/// Left turners that clear at the end of each green ("sneakers"): HCM 2000 ch. 16, App. C,
/// two per cycle.
pub const SNEAKERS_PER_CYCLE: f64 = 2.0;

/// Green per phase of the two-phase plan of a road-graph signal (s).
pub const SIGNAL_GREEN_S: f64 = 40.0;
/// Amber after each green (s).
pub const SIGNAL_AMBER_S: f64 = 3.0;
/// All-red after each amber (s).
pub const SIGNAL_ALL_RED_S: f64 = 2.0;

/// A phase is a green phase (a state adaptive control may choose, and one Webster's method
/// times) if it shows no amber and gives some movement green.
pub(crate) fn is_green_phase(p: &SignalPhase) -> bool {
    !p.lights.contains(&Light::Yellow)
        && p.lights
            .iter()
            .any(|l| matches!(l, Light::Green | Light::MinorGreen))
}
