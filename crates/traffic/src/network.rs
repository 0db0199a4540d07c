//! The road network as the simulation sees it: links (directed roads) and movements (allowed
//! link-to-link turns across a junction), in struct-of-arrays form with typed ids.
//!
//! Built from a SUMO network ([`crate::sumo_net::NetFile`]): every normal edge with at least one
//! lane open to cars becomes a link; all lane connections between the same pair of edges become
//! one movement whose lane count is the number of distinct upstream lanes serving it, whose
//! junction-crossing length and time come from its internal (`via`) lanes, and whose signal is
//! the traffic light and link index of those connections.

use crate::error::{Result, TrafficError};
use crate::sumo_net::{EdgeFunction, NetFile};
use std::collections::HashMap;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl $name {
            /// Position in the owning arrays.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id_type!(
    /// A directed link (road section between two junctions).
    LinkId
);
id_type!(
    /// A junction.
    NodeId
);
id_type!(
    /// A movement: permission to go from one link to another across a junction.
    MovementId
);
id_type!(
    /// A signal controller (one SUMO `tlLogic`).
    SignalId
);

/// Light shown to one movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    fn from_char(c: char) -> Light {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    /// Fixed-time plan: phases in order with their durations (SUMO `static`; also used for
    /// SUMO `actuated` programs, run at their nominal durations).
    FixedTime,
}

/// One phase of a signal plan.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalPhase {
    /// Duration (s).
    pub duration: f64,
    /// Light per signal link index.
    pub lights: Vec<Light>,
}

/// A signal plan at one junction.
#[derive(Debug, Clone, PartialEq)]
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

/// The network: junctions, links and movements in flat arrays indexed by the typed ids.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// Junction names.
    pub node_name: Vec<String>,
    /// Junction x (m).
    pub node_x: Vec<f64>,
    /// Junction y (m).
    pub node_y: Vec<f64>,
    /// Link names (SUMO edge ids).
    pub link_name: Vec<String>,
    /// Upstream junction of each link.
    pub link_from: Vec<NodeId>,
    /// Downstream junction of each link.
    pub link_to: Vec<NodeId>,
    /// Length (m), the mean over the link's drivable lanes.
    pub link_length: Vec<f64>,
    /// Speed limit (m/s), the largest over the drivable lanes.
    pub link_speed: Vec<f64>,
    /// Number of lanes open to cars.
    pub link_lanes: Vec<u32>,
    /// Movements out of link `l` are `link_out[l]..link_out[l+1]`.
    pub link_out: Vec<u32>,
    /// Upstream link of each movement.
    pub mv_from: Vec<LinkId>,
    /// Downstream link of each movement.
    pub mv_to: Vec<LinkId>,
    /// Upstream lanes serving the movement.
    pub mv_lanes: Vec<u32>,
    /// Length across the junction (m), summed over the chain of internal lanes.
    pub mv_via_length: Vec<f64>,
    /// Free time across the junction (s) at the internal lanes' speed limits.
    pub mv_via_time: Vec<f64>,
    /// Signal and link index controlling the movement.
    pub mv_signal: Vec<Option<(SignalId, u32)>>,
    /// Exit queue of each movement. Movements that share an upstream lane share a queue
    /// (first in, first out), so on a one-lane road a waiting turner holds up everyone behind.
    pub mv_queue: Vec<u32>,
    /// Upstream lanes serving each exit queue.
    pub queue_lanes: Vec<u32>,
    /// Whether the movement must yield when not governed by a signal (SUMO connection state
    /// `m`, `=`, `s`, `w`: minor road, all-way stop, stop sign, zipper).
    pub mv_minor: Vec<bool>,
    /// Movements that have priority over movement `m` are
    /// `mv_foes[mv_foe_start[m]..mv_foe_start[m+1]]` (from the junction's `response` bits).
    pub mv_foe_start: Vec<u32>,
    /// Priority foes, grouped by movement.
    pub mv_foes: Vec<MovementId>,
    /// Movements into junction `n` are `node_in[node_in_start[n]..node_in_start[n+1]]`.
    pub node_in_start: Vec<u32>,
    /// Movement ids grouped by junction.
    pub node_in: Vec<MovementId>,
    /// Signal plans.
    pub signals: Vec<SignalPlan>,
    pub(crate) by_name: HashMap<String, LinkId>,
}

/// Critical headway of a permitted left turn across an opposing flow (s): HCM 2010 ch. 31
/// (permitted left-turn saturation flow), 4.5 s.
pub const PERMITTED_LEFT_CRITICAL_HEADWAY: f64 = 4.5;
/// Follow-up headway of permitted left turners (s): HCM 2010 ch. 31, 2.5 s.
pub const PERMITTED_LEFT_FOLLOW_UP: f64 = 2.5;
/// Left turners that clear at the end of each green ("sneakers"): HCM 2000 ch. 16, App. C,
/// two per cycle.
pub const SNEAKERS_PER_CYCLE: f64 = 2.0;

/// SUMO class whose lane permissions decide whether a lane is drivable here.
const DRIVABLE_CLASS: &str = "passenger";

impl Network {
    /// Number of links.
    pub fn link_count(&self) -> usize {
        self.link_name.len()
    }

    /// Number of movements.
    pub fn movement_count(&self) -> usize {
        self.mv_from.len()
    }

    /// Number of junctions.
    pub fn node_count(&self) -> usize {
        self.node_name.len()
    }

    /// Link by its SUMO edge id.
    pub fn link(&self, name: &str) -> Option<LinkId> {
        self.by_name.get(name).copied()
    }

    /// Movements leaving link `l`.
    pub fn out_movements(&self, l: LinkId) -> impl Iterator<Item = MovementId> + '_ {
        (self.link_out[l.index()]..self.link_out[l.index() + 1]).map(MovementId)
    }

    /// The movement from `a` to `b`, if the junction allows it.
    pub fn movement(&self, a: LinkId, b: LinkId) -> Option<MovementId> {
        self.out_movements(a).find(|m| self.mv_to[m.index()] == b)
    }

    /// Movements entering junction `n`.
    pub fn in_movements(&self, n: NodeId) -> &[MovementId] {
        &self.node_in
            [self.node_in_start[n.index()] as usize..self.node_in_start[n.index() + 1] as usize]
    }

    /// Number of exit queues.
    pub fn queue_count(&self) -> usize {
        self.queue_lanes.len()
    }

    /// Movements that have priority over `m`.
    pub fn priority_foes(&self, m: MovementId) -> &[MovementId] {
        &self.mv_foes
            [self.mv_foe_start[m.index()] as usize..self.mv_foe_start[m.index() + 1] as usize]
    }

    /// Free-flow time of a link at its speed limit (s).
    pub fn free_time(&self, l: LinkId) -> f64 {
        self.link_length[l.index()] / self.link_speed[l.index()].max(0.1)
    }

    /// Share of the cycle during which movement `m` may cross (its light passable), 1 for an
    /// unsignalised movement.
    pub fn green_ratio(&self, m: MovementId) -> f64 {
        match self.mv_signal[m.index()] {
            None => 1.0,
            Some((s, k)) => {
                let p = &self.signals[s.index()];
                let g: f64 = p
                    .phases
                    .iter()
                    .filter(|ph| ph.lights[k as usize].passable())
                    .map(|ph| ph.duration)
                    .sum();
                g / p.cycle.max(1e-9)
            }
        }
    }

    /// Capacity of each link's downstream end (PCU/h): over its exit queues, lanes ×
    /// saturation flow `3600 / headway` × the largest green ratio among the queue's movements.
    pub fn link_capacity(&self, headway: f64) -> Vec<f64> {
        let mut q_green = vec![0.0f64; self.queue_count()];
        for m in 0..self.movement_count() {
            let q = self.mv_queue[m] as usize;
            q_green[q] = q_green[q].max(self.green_ratio(MovementId(m as u32)));
        }
        (0..self.link_count())
            .map(|l| {
                let mut qs: Vec<usize> = self
                    .out_movements(LinkId(l as u32))
                    .map(|m| self.mv_queue[m.index()] as usize)
                    .collect();
                qs.sort_unstable();
                qs.dedup();
                let s = 3600.0 / headway;
                if qs.is_empty() {
                    return self.link_lanes[l] as f64 * s;
                }
                qs.iter()
                    .map(|&q| self.queue_lanes[q] as f64 * s * q_green[q])
                    .sum()
            })
            .collect()
    }

    /// Retime every fixed-time plan for the movement flows `flow` (PCU/h, one per movement) by
    /// Webster's method (Webster 1958, *Traffic Signal Settings*, Road Research Technical
    /// Paper 39; HCM 2010 ch. 31 and the ITE *Traffic Signal Timing Manual*, 2nd ed., 2015,
    /// ch. 5, for the conventions). The phases that show an amber are the change intervals:
    /// they and the all-red phases (no green, no amber) keep their durations, and their sum
    /// is the lost time `L` per cycle (start-up loss and amber used cancel, HCM's default).
    /// Every other phase is a green phase `i` whose critical flow ratio `yᵢ` is the largest,
    /// over the exit queues it serves, of the queue's flow over its saturation flow (lanes ×
    /// `3600 / headway`). The cycle is Webster's optimum `C₀ = (1.5 L + 5) / (1 − Y)`, `Y =
    /// Σ yᵢ`, kept within `[min_cycle, max_cycle]` (and at `max_cycle` once `Y ≥ 0.9`, where
    /// the formula no longer applies); the effective green `C − L` is shared in proportion to
    /// `yᵢ`, with at least `min_green` per phase. Returns the plans' new cycles.
    pub fn retime_webster(
        &mut self,
        flow: &[f64],
        headway: f64,
        min_green: f64,
        min_cycle: f64,
        max_cycle: f64,
    ) -> Vec<f64> {
        let sat = 3600.0 / headway;
        let mut q_flow = vec![0.0; self.queue_count()];
        for (m, f) in flow.iter().enumerate().take(self.movement_count()) {
            q_flow[self.mv_queue[m] as usize] += f.max(0.0);
        }
        let mut served: Vec<Vec<usize>> = vec![Vec::new(); self.signals.len()];
        for m in 0..self.movement_count() {
            if let Some((s, _)) = self.mv_signal[m] {
                served[s.index()].push(m);
            }
        }
        let mut cycles = Vec::with_capacity(self.signals.len());
        for (si, plan) in self.signals.iter_mut().enumerate() {
            let is_green = |p: &SignalPhase| {
                !p.lights.contains(&Light::Yellow)
                    && p.lights
                        .iter()
                        .any(|l| matches!(l, Light::Green | Light::MinorGreen))
            };
            let lost: f64 = plan
                .phases
                .iter()
                .filter(|p| !is_green(p))
                .map(|p| p.duration)
                .sum();
            let ys: Vec<Option<f64>> = plan
                .phases
                .iter()
                .map(|p| {
                    is_green(p).then(|| {
                        served[si]
                            .iter()
                            .filter(|&&m| {
                                let k = self.mv_signal[m].expect("served").1 as usize;
                                // A permissive movement that also has a protected phase is
                                // timed by that phase.
                                p.lights[k] == Light::Green
                                    || (p.lights[k] == Light::MinorGreen
                                        && !plan.phases.iter().any(|q| q.lights[k] == Light::Green))
                            })
                            .map(|&m| {
                                let q = self.mv_queue[m] as usize;
                                q_flow[q] / (self.queue_lanes[q] as f64 * sat)
                            })
                            .fold(0.0, f64::max)
                    })
                })
                .collect();
            let n_green = ys.iter().flatten().count();
            if n_green == 0 {
                cycles.push(plan.cycle);
                continue;
            }
            let y_sum: f64 = ys.iter().flatten().sum();
            let c = if y_sum >= 0.9 {
                max_cycle
            } else {
                ((1.5 * lost + 5.0) / (1.0 - y_sum)).clamp(min_cycle, max_cycle)
            };
            let c = c.max(lost + n_green as f64 * min_green);
            let eff = c - lost;
            // Shares in proportion to y, with a floor of min_green: phases below the floor get
            // it, the rest share what is left in proportion to y.
            let mut fixed = vec![false; ys.len()];
            loop {
                let free_y: f64 = ys
                    .iter()
                    .zip(&fixed)
                    .filter_map(|(y, f)| y.filter(|_| !f))
                    .sum();
                let n_fixed = fixed.iter().filter(|&&f| f).count() as f64;
                let left = eff - n_fixed * min_green;
                let mut changed = false;
                for (i, y) in ys.iter().enumerate() {
                    if let Some(y) = y
                        && !fixed[i]
                    {
                        let g = if free_y > 0.0 {
                            left * y / free_y
                        } else {
                            left / (n_green as f64 - n_fixed)
                        };
                        if g < min_green {
                            fixed[i] = true;
                            changed = true;
                        }
                    }
                }
                if !changed {
                    for (i, y) in ys.iter().enumerate() {
                        if let Some(y) = y {
                            plan.phases[i].duration = if fixed[i] {
                                min_green
                            } else if free_y > 0.0 {
                                left * y / free_y
                            } else {
                                left / (n_green as f64 - n_fixed)
                            };
                        }
                    }
                    break;
                }
            }
            plan.cycle = plan.phases.iter().map(|p| p.duration).sum();
            cycles.push(plan.cycle);
        }
        cycles
    }

    /// Add a leading protected left-turn phase where a permissive left turn saturates (both opposing left turns of an axis
    /// together, "lead-lead" dual lefts: NEMA phases 1 and 5; ITE *Traffic Signal Timing
    /// Manual*, 2nd ed., 2015, ch. 4) in front of every green phase in which a permissive
    /// left turn with its own pocket meets the cross-product warrant of the *Highway Capacity
    /// Manual* (HCM 2000, ch. 10, Appendix: left-turn volume × opposing through and right
    /// volume in the peak hour above 50,000 for one opposing lane, 90,000 for two, 110,000
    /// for three or more) and whose flow exceeds its permitted capacity — the gaps of the
    /// opposing flow `v₀` during its green, `v₀ exp(−v₀ t_c/3600) / (1 − exp(−v₀ t_f/3600))`
    /// per hour of green ([`PERMITTED_LEFT_CRITICAL_HEADWAY`], [`PERMITTED_LEFT_FOLLOW_UP`]),
    /// plus [`SNEAKERS_PER_CYCLE`] — on the movement flows `flow` (PCU/h, one per movement:
    /// the passenger-car units of mixed traffic stand for the manual's vehicles). The left turns
    /// keep their permissive green in the through phase (protected–permissive). The new
    /// phase is followed by [`crate::road_net::SIGNAL_AMBER_S`] of amber for the left turns
    /// and [`crate::road_net::SIGNAL_ALL_RED_S`] of all-red; its green starts at the minimum
    /// and is retimed with the rest by [`Network::retime_webster`]. Plans that already have a
    /// protected phase for a left turn are left as they are. Returns the number of phases
    /// added.
    pub fn add_protected_lefts(&mut self, flow: &[f64], min_green: f64) -> usize {
        let mut added = 0;
        let flow_of = |m: usize| flow.get(m).copied().unwrap_or(0.0).max(0.0);
        // Movements of each signal by link index.
        let mut by_index: Vec<Vec<(usize, u32)>> = vec![Vec::new(); self.signals.len()];
        for m in 0..self.movement_count() {
            if let Some((s, k)) = self.mv_signal[m] {
                by_index[s.index()].push((m, k));
            }
        }
        for (si, served) in by_index.iter().enumerate() {
            let mut i = 0;
            while i < self.signals[si].phases.len() {
                let phase = self.signals[si].phases[i].clone();
                let is_green =
                    !phase.lights.contains(&Light::Yellow) && phase.lights.contains(&Light::Green);
                if !is_green {
                    i += 1;
                    continue;
                }
                let plan = &self.signals[si];
                // Permissive left turns with their own pocket and no protected phase yet.
                let lefts: Vec<(usize, u32)> = served
                    .iter()
                    .copied()
                    .filter(|&(m, k)| {
                        phase.lights[k as usize] == Light::MinorGreen
                            && !plan
                                .phases
                                .iter()
                                .any(|p| p.lights[k as usize] == Light::Green)
                            && self.pocketed(m)
                    })
                    .collect();
                let warranted = lefts.iter().any(|&(m, _)| {
                    let foes: Vec<usize> = self
                        .priority_foes(MovementId(m as u32))
                        .iter()
                        .map(|f| f.index())
                        .filter(|&f| {
                            self.mv_signal[f].is_some_and(|(s, k)| {
                                s.index() == si && phase.lights[k as usize] == Light::Green
                            })
                        })
                        .collect();
                    let opposing: f64 = foes.iter().map(|&f| flow_of(f)).sum();
                    let lanes = foes
                        .iter()
                        .map(|&f| self.link_lanes[self.mv_from[f].index()])
                        .max()
                        .unwrap_or(1);
                    let threshold = match lanes {
                        0 | 1 => 50_000.0,
                        2 => 90_000.0,
                        _ => 110_000.0,
                    };
                    // Capacity of the permitted left turn over the plan's cycle: gaps in
                    // the opposing flow during this green, plus the turners that clear at
                    // its end.
                    let plan = &self.signals[si];
                    let c = plan.cycle.max(1.0);
                    let sp = if opposing > 0.0 {
                        opposing * (-opposing * PERMITTED_LEFT_CRITICAL_HEADWAY / 3600.0).exp()
                            / (1.0 - (-opposing * PERMITTED_LEFT_FOLLOW_UP / 3600.0).exp())
                    } else {
                        f64::INFINITY
                    };
                    let capacity = sp * phase.duration / c + SNEAKERS_PER_CYCLE * 3600.0 / c;
                    flow_of(m) * opposing > threshold && flow_of(m) > capacity
                });
                if !warranted {
                    i += 1;
                    continue;
                }
                let n = phase.lights.len();
                let mut green = vec![Light::Red; n];
                let mut amber = vec![Light::Red; n];
                for &(_, k) in &lefts {
                    green[k as usize] = Light::Green;
                    amber[k as usize] = Light::Yellow;
                }
                let new = [
                    SignalPhase {
                        duration: min_green,
                        lights: green,
                    },
                    SignalPhase {
                        duration: crate::road_net::SIGNAL_AMBER_S,
                        lights: amber,
                    },
                    SignalPhase {
                        duration: crate::road_net::SIGNAL_ALL_RED_S,
                        lights: vec![Light::Red; n],
                    },
                ];
                let plan = &mut self.signals[si];
                plan.phases.splice(i..i, new);
                plan.cycle = plan.phases.iter().map(|p| p.duration).sum();
                added += 1;
                i += 4;
            }
        }
        added
    }

    /// Whether movement `m` has an exit queue of its own (a turn pocket or lane): no other
    /// movement of its link shares the queue.
    fn pocketed(&self, m: usize) -> bool {
        let q = self.mv_queue[m];
        self.out_movements(self.mv_from[m])
            .all(|k| k.index() == m || self.mv_queue[k.index()] != q)
    }

    /// Build the model network from a parsed SUMO network.
    pub fn from_sumo(net: &NetFile) -> Result<Network> {
        let mut out = Network::default();
        let mut node_of: HashMap<&str, NodeId> = HashMap::new();
        for j in &net.junctions {
            if j.kind == "internal" {
                continue;
            }
            node_of.insert(j.id.as_str(), NodeId(out.node_name.len() as u32));
            out.node_name.push(j.id.clone());
            out.node_x.push(j.x);
            out.node_y.push(j.y);
        }
        // Links.
        for e in &net.edges {
            if e.function != EdgeFunction::Normal {
                continue;
            }
            let drivable: Vec<_> = e
                .lanes
                .iter()
                .filter(|l| l.permits(DRIVABLE_CLASS))
                .collect();
            if drivable.is_empty() {
                continue;
            }
            let (Some(&from), Some(&to)) =
                (node_of.get(e.from.as_str()), node_of.get(e.to.as_str()))
            else {
                return Err(TrafficError::Element {
                    line: e.line,
                    element: "edge".into(),
                    message: format!(
                        "edge {:?} joins junctions {:?} and {:?}, which are not both defined",
                        e.id, e.from, e.to
                    ),
                });
            };
            let id = LinkId(out.link_name.len() as u32);
            out.by_name.insert(e.id.clone(), id);
            out.link_name.push(e.id.clone());
            out.link_from.push(from);
            out.link_to.push(to);
            let len = drivable.iter().map(|l| l.length).sum::<f64>() / drivable.len() as f64;
            out.link_length.push(len.max(0.1));
            out.link_speed.push(
                drivable
                    .iter()
                    .map(|l| l.speed)
                    .fold(0.0, f64::max)
                    .max(0.1),
            );
            out.link_lanes.push(drivable.len() as u32);
        }
        if out.link_name.is_empty() {
            return Err(TrafficError::Network(
                "no edge with a lane open to cars".into(),
            ));
        }
        // Signals.
        let mut sig_of: HashMap<&str, SignalId> = HashMap::new();
        for tl in &net.tl_logics {
            if sig_of.contains_key(tl.id.as_str()) {
                continue; // the first program of a traffic light is the one run
            }
            sig_of.insert(tl.id.as_str(), SignalId(out.signals.len() as u32));
            let phases: Vec<SignalPhase> = tl
                .phases
                .iter()
                .map(|p| SignalPhase {
                    duration: p.duration,
                    lights: p.state.chars().map(Light::from_char).collect(),
                })
                .collect();
            out.signals.push(SignalPlan {
                name: tl.id.clone(),
                kind: SignalKind::FixedTime,
                offset: tl.offset,
                cycle: phases.iter().map(|p| p.duration).sum(),
                phases,
            });
        }
        // Internal lane chains: the internal lane that follows an internal lane, if any.
        let lanes = net.lane_map();
        let mut next_internal: HashMap<String, &str> = HashMap::new();
        for c in &net.connections {
            if c.from.starts_with(':')
                && let Some(v) = &c.via
            {
                next_internal.insert(format!("{}_{}", c.from, c.from_lane), v.as_str());
            }
        }
        // Movements: group connections by (from link, to link).
        struct Acc {
            minor: bool,
            /// (junction index in `net.junctions`, request index) of each connection.
            requests: Vec<(usize, usize)>,
            lanes: Vec<usize>,
            via_len: f64,
            via_time: f64,
            signal: Option<(SignalId, u32)>,
        }
        let mut groups: HashMap<(LinkId, LinkId), Acc> = HashMap::new();
        let mut order: Vec<(LinkId, LinkId)> = Vec::new();
        let junction_of: HashMap<&str, usize> = net
            .junctions
            .iter()
            .enumerate()
            .map(|(i, j)| (j.id.as_str(), i))
            .collect();
        // Junction link (request) index of each connection: links are numbered over the
        // junction's incoming lanes in `incLanes` order, the connections of one lane in file
        // order. Junctions whose count disagrees with their requests get no right-of-way data.
        let mut by_lane: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in net.connections.iter().enumerate() {
            if !c.from.starts_with(':') {
                by_lane
                    .entry(format!("{}_{}", c.from, c.from_lane))
                    .or_default()
                    .push(i);
            }
        }
        let mut request_of_conn: HashMap<usize, usize> = HashMap::new();
        for j in &net.junctions {
            let mut k = 0usize;
            let mut mine = Vec::new();
            for lane in &j.inc_lanes {
                for &c in by_lane.get(lane).map(Vec::as_slice).unwrap_or(&[]) {
                    mine.push((c, k));
                    k += 1;
                }
            }
            if k == j.requests.len() && k > 0 {
                request_of_conn.extend(mine);
            }
        }
        for (ci, c) in net.connections.iter().enumerate() {
            let (Some(a), Some(b)) = (out.link(&c.from), out.link(&c.to)) else {
                continue; // internal, pedestrian or non-drivable edges
            };
            let mut via_len = 0.0;
            let mut via_time = 0.0;
            let mut cur = c.via.as_deref();
            let mut guard = 0;
            while let Some(v) = cur {
                let Some(l) = lanes.get(v) else {
                    return Err(TrafficError::Attribute {
                        line: c.line,
                        element: "connection".into(),
                        attribute: "via".into(),
                        message: format!("internal lane {v:?} is not defined"),
                    });
                };
                via_len += l.length;
                via_time += l.length / l.speed.max(0.1);
                cur = next_internal.get(v).copied();
                guard += 1;
                if guard > 16 {
                    break;
                }
            }
            let signal = match (&c.tl, c.link_index) {
                (Some(tl), Some(i)) => {
                    let Some(&s) = sig_of.get(tl.as_str()) else {
                        return Err(TrafficError::Attribute {
                            line: c.line,
                            element: "connection".into(),
                            attribute: "tl".into(),
                            message: format!("no <tlLogic> with id {tl:?}"),
                        });
                    };
                    let plan = &out.signals[s.index()];
                    if plan.phases.iter().any(|p| p.lights.len() <= i) {
                        return Err(TrafficError::Attribute {
                            line: c.line,
                            element: "connection".into(),
                            attribute: "linkIndex".into(),
                            message: format!("index {i} beyond the state strings of {tl:?}"),
                        });
                    }
                    Some((s, i as u32))
                }
                _ => None,
            };
            let junction = junction_of[out.node_name[out.link_to[a.index()].index()].as_str()];
            let request = request_of_conn.get(&ci).copied();
            let acc = groups.entry((a, b)).or_insert_with(|| {
                order.push((a, b));
                Acc {
                    minor: matches!(c.state.as_str(), "m" | "=" | "s" | "w"),
                    requests: Vec::new(),
                    lanes: Vec::new(),
                    via_len,
                    via_time,
                    signal,
                }
            });
            if !acc.lanes.contains(&c.from_lane) {
                acc.lanes.push(c.from_lane);
            }
            if let Some(r) = request {
                acc.requests.push((junction, r));
            }
        }
        order.sort();
        let n_links = out.link_count();
        out.link_out = vec![0; n_links + 1];
        for &(a, b) in &order {
            let acc = &groups[&(a, b)];
            out.mv_from.push(a);
            out.mv_to.push(b);
            out.mv_lanes
                .push((acc.lanes.len() as u32).clamp(1, out.link_lanes[a.index()]));
            out.mv_via_length.push(acc.via_len);
            out.mv_via_time.push(acc.via_time);
            out.mv_signal.push(acc.signal);
            out.mv_minor.push(acc.minor);
            out.link_out[a.index() + 1] += 1;
        }
        for i in 0..n_links {
            out.link_out[i + 1] += out.link_out[i];
        }
        // Exit queues: union of movements of the same link whose lane sets overlap.
        out.mv_queue = vec![u32::MAX; order.len()];
        for l in 0..n_links {
            let ms: Vec<usize> = (out.link_out[l] as usize..out.link_out[l + 1] as usize).collect();
            let masks: Vec<u64> = ms
                .iter()
                .map(|&m| {
                    groups[&order[m]]
                        .lanes
                        .iter()
                        .fold(0u64, |acc, &i| acc | (1u64 << i.min(63)))
                })
                .collect();
            // Grow groups until no two overlap.
            let mut group: Vec<usize> = (0..ms.len()).collect();
            let mut changed = true;
            while changed {
                changed = false;
                for i in 0..ms.len() {
                    for j in 0..ms.len() {
                        if group[i] != group[j] && masks[i] & masks[j] != 0 {
                            let (keep, drop) = (group[i].min(group[j]), group[i].max(group[j]));
                            group
                                .iter_mut()
                                .filter(|g| **g == drop)
                                .for_each(|g| *g = keep);
                            changed = true;
                        }
                    }
                }
            }
            let mut ids: Vec<(usize, u32)> = Vec::new();
            for (i, &m) in ms.iter().enumerate() {
                let q = match ids.iter().find(|(g, _)| *g == group[i]) {
                    Some(&(_, q)) => q,
                    None => {
                        let q = out.queue_lanes.len() as u32;
                        let lanes = ms
                            .iter()
                            .enumerate()
                            .filter(|(j, _)| group[*j] == group[i])
                            .fold(0u64, |acc, (j, _)| acc | masks[j])
                            .count_ones();
                        out.queue_lanes.push(lanes.clamp(1, out.link_lanes[l]));
                        ids.push((group[i], q));
                        q
                    }
                };
                out.mv_queue[m] = q;
            }
        }
        // Right of way: movement of each (junction, request index), then each movement's
        // priority foes from the response bits of its connections.
        let mut mv_of_request: HashMap<(usize, usize), MovementId> = HashMap::new();
        for (m, key) in order.iter().enumerate() {
            for &r in &groups[key].requests {
                mv_of_request.insert(r, MovementId(m as u32));
            }
        }
        out.mv_foe_start.push(0);
        for (m, key) in order.iter().enumerate() {
            let mut foes: Vec<MovementId> = Vec::new();
            for &(j, r) in &groups[key].requests {
                let junction = &net.junctions[j];
                let Some((_, response)) = junction.requests.iter().find(|(i, _)| *i == r) else {
                    continue;
                };
                let n = response.len();
                for (pos, ch) in response.bytes().enumerate() {
                    if ch != b'1' {
                        continue;
                    }
                    let k = n - 1 - pos;
                    if let Some(&f) = mv_of_request.get(&(j, k))
                        && f.index() != m
                        && !foes.contains(&f)
                    {
                        foes.push(f);
                    }
                }
            }
            foes.sort();
            out.mv_foes.extend(foes);
            out.mv_foe_start.push(out.mv_foes.len() as u32);
        }
        out.index_junctions();
        Ok(out)
    }

    /// Fill [`Network::node_in_start`] and [`Network::node_in`]: movements grouped by the
    /// junction they cross, in movement id order.
    pub(crate) fn index_junctions(&mut self) {
        let out = self;
        let n_nodes = out.node_count();
        let mut counts = vec![0u32; n_nodes + 1];
        for m in 0..out.movement_count() {
            counts[out.link_to[out.mv_from[m].index()].index() + 1] += 1;
        }
        for i in 0..n_nodes {
            counts[i + 1] += counts[i];
        }
        out.node_in_start = counts.clone();
        out.node_in = vec![MovementId(0); out.movement_count()];
        let mut fill = counts;
        for m in 0..out.movement_count() {
            let n = out.link_to[out.mv_from[m].index()].index();
            out.node_in[fill[n] as usize] = MovementId(m as u32);
            fill[n] += 1;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sumo_net::parse_net;

    /// A 2×2 block: A-B-C in a row with a parallel detour A-D-C, signal at C.
    pub(crate) const DETOUR: &str = r#"<net>
  <edge id=":C_0" function="internal"><lane id=":C_0_0" index="0" speed="8" length="8"/></edge>
  <edge id="AB" from="A" to="B"><lane id="AB_0" index="0" speed="10" length="200"/><lane id="AB_1" index="1" speed="10" length="200"/></edge>
  <edge id="BC" from="B" to="C"><lane id="BC_0" index="0" speed="10" length="200"/></edge>
  <edge id="AD" from="A" to="D"><lane id="AD_0" index="0" speed="10" length="250"/></edge>
  <edge id="DC" from="D" to="C"><lane id="DC_0" index="0" speed="10" length="250"/></edge>
  <edge id="CE" from="C" to="E"><lane id="CE_0" index="0" speed="10" length="100"/></edge>
  <edge id="SA" from="S" to="A"><lane id="SA_0" index="0" speed="10" length="100"/></edge>
  <tlLogic id="C" type="static" offset="0"><phase duration="30" state="Gr"/><phase duration="30" state="rG"/></tlLogic>
  <junction id="S" type="dead_end" x="-100" y="0"/>
  <junction id="A" type="priority" x="0" y="0"/>
  <junction id="B" type="priority" x="200" y="0"/>
  <junction id="C" type="traffic_light" x="400" y="0"/>
  <junction id="D" type="priority" x="200" y="150"/>
  <junction id="E" type="dead_end" x="500" y="0"/>
  <connection from="SA" to="AB" fromLane="0" toLane="0"/>
  <connection from="SA" to="AB" fromLane="0" toLane="1"/>
  <connection from="SA" to="AD" fromLane="0" toLane="0"/>
  <connection from="AB" to="BC" fromLane="0" toLane="0"/>
  <connection from="AB" to="BC" fromLane="1" toLane="0"/>
  <connection from="AD" to="DC" fromLane="0" toLane="0"/>
  <connection from="BC" to="CE" fromLane="0" toLane="0" via=":C_0_0" tl="C" linkIndex="0"/>
  <connection from="DC" to="CE" fromLane="0" toLane="0" tl="C" linkIndex="1"/>
</net>"#;

    pub(crate) fn detour() -> Network {
        Network::from_sumo(&parse_net(DETOUR).unwrap()).unwrap()
    }

    #[test]
    fn builds_links_movements_and_signals() {
        let n = detour();
        assert_eq!(n.link_count(), 6);
        assert_eq!(n.movement_count(), 6);
        let ab = n.link("AB").unwrap();
        let bc = n.link("BC").unwrap();
        assert_eq!(n.link_lanes[ab.index()], 2);
        let m = n.movement(ab, bc).unwrap();
        assert_eq!(n.mv_lanes[m.index()], 2);
        assert_eq!(n.queue_lanes[n.mv_queue[m.index()] as usize], 2);
        // SA's two movements leave from its one lane: one shared queue.
        let sa = n.link("SA").unwrap();
        let qs: Vec<u32> = n.out_movements(sa).map(|m| n.mv_queue[m.index()]).collect();
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0], qs[1]);
        assert_eq!(n.queue_count(), 5);
        let m2 = n.movement(bc, n.link("CE").unwrap()).unwrap();
        assert_eq!(n.mv_via_length[m2.index()], 8.0);
        assert_eq!(n.mv_via_time[m2.index()], 1.0);
        assert_eq!(n.mv_signal[m2.index()], Some((SignalId(0), 0)));
        assert_eq!(n.in_movements(n.link_to[bc.index()]).len(), 2);
        assert!(n.movement(bc, ab).is_none());
        let plan = &n.signals[0];
        assert_eq!(plan.cycle, 60.0);
        assert_eq!(plan.phase_at(29.5), (0, 29.5));
        assert_eq!(plan.phase_at(61.0), (0, 1.0));
        assert_eq!(plan.phase_at(45.0), (1, 15.0));
    }

    #[test]
    fn rejects_dangling_references() {
        let bad = DETOUR.replace(r#"tl="C" linkIndex="1""#, r#"tl="C" linkIndex="5""#);
        let err = Network::from_sumo(&parse_net(&bad).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("<connection> attribute `linkIndex`"), "{err}");
        let bad = DETOUR.replace(r#"via=":C_0_0""#, r#"via=":C_9_0""#);
        let err = Network::from_sumo(&parse_net(&bad).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("internal lane \":C_9_0\""), "{err}");
    }
}
