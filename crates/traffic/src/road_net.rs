//! The simulation network built from the city model's road graph
//! ([`twin_model::RoadGraph`]), for cities that come from GIS layers rather than SUMO files.
//!
//! Ids: link `i` and node `i` here are link `i` and node `i` of the road graph (same order),
//! so results map back to road features through [`twin_model::roads::RoadLink::feature`].
//! Link names are `"{i}"` (the road-graph link index).
//!
//! Rules:
//! * **Movements.** From every incoming link to every outgoing link of a node, except the
//!   U-turn back along the reverse link, which is allowed only where it is the sole way on (a
//!   dead end). A turn is classified by the change of heading between the last segment of the
//!   incoming geometry and the first segment of the outgoing one: straight within ±45°, left
//!   for a counter-clockwise change (right-hand traffic, as in Viet Nam), right otherwise.
//! * **Junction crossing.** Link lengths run centre to centre, so a straight movement adds no
//!   length. A turn follows an arc of radius [`TURN_RADIUS_M`] through the change of heading at
//!   [`TURN_SPEED_KMH`] (U-turns [`UTURN_SPEED_KMH`]), the order of the design turning speeds of
//!   urban intersections (AASHTO, *A Policy on Geometric Design of Highways and Streets*, 2018,
//!   ch. 9, intersections: roughly 15–25 km/h for curb-return radii of 10–15 m).
//! * **Exit queues.** A one-lane link has one queue for all movements. A link of two or more
//!   lanes with a left turn or U-turn gives those their own lane, so a waiting left turner
//!   does not hold up through traffic: at a signal a left-turn pocket beside the through
//!   lanes (an auxiliary lane, AASHTO 2018 §9.7.3; HCM 2010 ch. 18 exclusive left-turn lane
//!   group), so through and right keep every lane of the link; elsewhere the leftmost lane.
//! * **Signals** at nodes with `signal == true`: a fixed-time two-phase plan by approach axis.
//!   The incoming link with the most lanes (lowest id on a tie) sets axis A; every incoming link
//!   whose heading lies within 45° of that axis (either direction) is on axis A, the others on
//!   axis B. Each phase gives its axis [`SIGNAL_GREEN_S`] of green, then [`SIGNAL_AMBER_S`] of
//!   amber and [`SIGNAL_ALL_RED_S`] of all-red: a 90 s cycle. Through and right movements get a
//!   protected green; left turns and U-turns get a permissive green (SUMO's `g`) and yield to
//!   the through and right movements of the opposing approaches of the same axis. The change
//!   interval follows the ITE kinematic rule `y = t + v / (2a)` (ITE *Traffic Engineering
//!   Handbook*, 7th ed., 2016, ch. 13): 1 s reaction plus 13.9 m/s / (2 × 3.05 m/s²) = 3.3 s at
//!   50 km/h, taken as 3 s for the 40–50 km/h urban limits of the city; the all-red clears a
//!   ~20 m junction plus a 5 m vehicle at 50 km/h, (20 + 5) / 13.9 = 1.8 s, taken as 2 s. A
//!   90 s cycle is Webster's (1958) optimum `C₀ = (1.5 L + 5) / (1 − Y)` for the 10 s lost time
//!   per cycle here (start-up loss 2 s plus 3 s of unused change interval per phase) and a
//!   flow ratio sum `Y ≈ 0.78`. Offsets are 0 (no coordination). A signal
//!   node whose approaches all share one axis (a bend, a dead end) is run as a priority
//!   junction instead.
//! * **Priority** elsewhere by road class: the approaches of the highest class at the node are
//!   major; if some approach is of a lower class, each of its movements yields (gap acceptance
//!   in the simulation) to the movements of the major approaches whose path it crosses or
//!   merges with ([`movements_conflict`]): a minor right turn only to the major stream it
//!   joins, as in HCM 2010 ch. 19's conflicting flows. Where all approaches share a class
//!   nobody yields.
//! * **Plans for a demand**: [`Network::retime_webster`] retimes the plans for movement flows
//!   (Webster's method); [`crate::city_demand::morning_peak_with_signal_plans`] does so for the
//!   morning peak.

use crate::error::{Result, TrafficError};
use crate::network::{LinkId, MovementId, Network, NodeId, SignalId};
use crate::signal::{Light, SignalKind, SignalPhase, SignalPlan};
pub use crate::signal::{SIGNAL_ALL_RED_S, SIGNAL_AMBER_S, SIGNAL_GREEN_S};
use std::f64::consts::{FRAC_PI_4, PI};
use twin_model::RoadGraph;

/// Radius of the arc a turning vehicle follows across a junction (m).
pub const TURN_RADIUS_M: f64 = 10.0;
/// Speed of a left or right turn across a junction (km/h).
pub const TURN_SPEED_KMH: f64 = 20.0;
/// Speed of a U-turn (km/h).
pub const UTURN_SPEED_KMH: f64 = 10.0;

/// Kind of turn of a movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Heading changes by at most 45°.
    Straight,
    /// Counter-clockwise turn (across opposing traffic in right-hand traffic).
    Left,
    /// Clockwise turn.
    Right,
    /// Back along the reverse link.
    UTurn,
}

impl Turn {
    /// The turn of a change of heading `d` (radians, wrapped to (−π, π]) that is not a
    /// U-turn: straight within ±45°, left for a counter-clockwise change, right otherwise.
    fn of_heading_change(d: f64) -> Turn {
        if d.abs() <= FRAC_PI_4 {
            Turn::Straight
        } else if d > 0.0 {
            Turn::Left
        } else {
            Turn::Right
        }
    }
}

/// Priority rank of a road class: higher is more important.
pub fn class_rank(class: &str) -> u8 {
    match class.trim_end_matches("_link") {
        "motorway" => 8,
        "trunk" => 7,
        "primary" => 6,
        "secondary" => 5,
        "tertiary" => 4,
        "unclassified" | "road" => 3,
        "residential" => 2,
        "living_street" | "service" => 1,
        _ => 0,
    }
}

/// Angle wrapped into (−π, π].
fn wrap(a: f64) -> f64 {
    let mut a = a.rem_euclid(2.0 * PI);
    if a > PI {
        a -= 2.0 * PI;
    }
    a
}

/// Heading of travel at the end (`at_end`) or start of a link (radians, counter-clockwise from
/// the x axis), from its geometry, or from its end nodes if the geometry is degenerate.
fn heading(g: &RoadGraph, l: usize, at_end: bool) -> f64 {
    let link = &g.links[l];
    let pts = &link.geometry.0;
    let seg = if pts.len() >= 2 {
        if at_end {
            Some((pts[pts.len() - 2], pts[pts.len() - 1]))
        } else {
            Some((pts[0], pts[1]))
        }
    } else {
        None
    };
    if let Some((a, b)) = seg
        && (b.x - a.x).hypot(b.y - a.y) > 1e-6
    {
        return (b.y - a.y).atan2(b.x - a.x);
    }
    let a = g.nodes[link.from.0 as usize].pos;
    let b = g.nodes[link.to.0 as usize].pos;
    (b[1] - a[1]).atan2(b[0] - a[0])
}

/// Difference of two axes (headings modulo π), in [0, π/2].
fn axis_gap(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(PI);
    d.min(PI - d)
}

/// Point where a movement's path meets a small circle around the junction, as an angle: the
/// incoming lane of a leg lies just counter-clockwise of the leg's direction (to the driver's
/// right when approaching, right-hand traffic), the outgoing lane just clockwise of it.
fn lane_point(leg: f64, incoming: bool) -> f64 {
    const OFFSET: f64 = 0.05;
    (if incoming { leg + OFFSET } else { leg - OFFSET }).rem_euclid(2.0 * PI)
}

/// Whether angle `x` lies strictly on the counter-clockwise arc from `a` to `b`.
fn on_arc(a: f64, b: f64, x: f64) -> bool {
    let span = (b - a).rem_euclid(2.0 * PI);
    let off = (x - a).rem_euclid(2.0 * PI);
    off > 1e-12 && off < span - 1e-12
}

/// Whether two movements through a junction conflict: their paths cross (the chords between
/// their entry and exit points interleave on the circle round the junction) or merge into
/// the same outgoing link. This is the conflict-point analysis of intersection design
/// (FHWA, *Signalized Intersections: Informational Guide*, FHWA-HRT-04-091, 2004, §2.2: a
/// four-leg junction has 16 crossing and, by pairs of movements, 12 merging conflicts);
/// diverging movements (same incoming link) do not conflict.
pub fn movements_conflict(
    in1: f64,
    out1: f64,
    to1: usize,
    in2: f64,
    out2: f64,
    to2: usize,
) -> bool {
    if to1 == to2 {
        return true;
    }
    let (p1, q1) = (lane_point(in1, true), lane_point(out1, false));
    let (p2, q2) = (lane_point(in2, true), lane_point(out2, false));
    on_arc(p1, q1, p2) != on_arc(p1, q1, q2)
}

/// Movements out of link `a`.
fn movements_of(out: &Network, a: usize) -> Vec<usize> {
    (out.link_out[a] as usize..out.link_out[a + 1] as usize).collect()
}

/// The network's junctions and links from the road graph, checked.
fn nodes_and_links(g: &RoadGraph) -> Result<Network> {
    let nn = g.nodes.len();
    let mut out = Network::default();
    for (i, n) in g.nodes.iter().enumerate() {
        if !(n.pos[0].is_finite() && n.pos[1].is_finite()) {
            return Err(TrafficError::Network(format!(
                "road node {i}: position is not finite"
            )));
        }
        out.node_name.push(i.to_string());
        out.node_x.push(n.pos[0]);
        out.node_y.push(n.pos[1]);
    }
    for (i, l) in g.links.iter().enumerate() {
        let bad = |what: String| TrafficError::RoadLink {
            link: i,
            feature: l.feature.0,
            message: what,
        };
        if l.from.0 as usize >= nn || l.to.0 as usize >= nn {
            return Err(bad("end node out of range".into()));
        }
        if !(l.length_m.is_finite() && l.length_m > 0.0) {
            return Err(bad(format!("length {} m is not positive", l.length_m)));
        }
        if !(l.speed_kmh.is_finite() && l.speed_kmh > 0.0) {
            return Err(bad(format!("speed {} km/h is not positive", l.speed_kmh)));
        }
        if l.lanes == 0 {
            return Err(bad("no lane".into()));
        }
        let name = i.to_string();
        out.by_name.insert(name.clone(), LinkId(i as u32));
        out.link_name.push(name);
        out.link_from.push(NodeId(l.from.0));
        out.link_to.push(NodeId(l.to.0));
        out.link_length.push(l.length_m);
        out.link_speed.push(l.speed_kmh / 3.6);
        out.link_lanes.push(l.lanes);
    }
    Ok(out)
}

/// Movements with their turns, in upstream link order (so `link_out` ranges are contiguous).
#[allow(clippy::needless_range_loop)] // `a` is the link id in several arrays
fn add_movements(
    out: &mut Network,
    g: &RoadGraph,
    outs: &[Vec<usize>],
    h_start: &[f64],
    h_end: &[f64],
) -> Vec<Turn> {
    let nl = g.links.len();
    let mut turn: Vec<Turn> = Vec::new();
    out.link_out = vec![0; nl + 1];
    for a in 0..nl {
        let (from, to) = (g.links[a].from, g.links[a].to);
        let is_uturn = |b: usize| g.links[b].to == from;
        let others = outs[to.0 as usize]
            .iter()
            .filter(|&&b| !is_uturn(b))
            .count();
        for &b in &outs[to.0 as usize] {
            let t = if is_uturn(b) {
                if others > 0 {
                    continue;
                }
                Turn::UTurn
            } else {
                Turn::of_heading_change(wrap(h_start[b] - h_end[a]))
            };
            let (len, speed) = match t {
                Turn::Straight => (0.0, 1.0),
                Turn::UTurn => (TURN_RADIUS_M * PI, UTURN_SPEED_KMH / 3.6),
                _ => (
                    TURN_RADIUS_M * wrap(h_start[b] - h_end[a]).abs(),
                    TURN_SPEED_KMH / 3.6,
                ),
            };
            let speed = speed.min(out.link_speed[a]).min(out.link_speed[b]);
            out.mv_from.push(LinkId(a as u32));
            out.mv_to.push(LinkId(b as u32));
            out.mv_via_length.push(len);
            out.mv_via_time
                .push(if len > 0.0 { len / speed } else { 0.0 });
            out.mv_signal.push(None);
            out.mv_minor.push(false);
            turn.push(t);
            out.link_out[a + 1] += 1;
        }
    }
    for i in 0..nl {
        out.link_out[i + 1] += out.link_out[i];
    }
    turn
}

/// Signalised nodes and the axis (A or B) of each of their incoming links.
fn signal_axes(
    out: &Network,
    g: &RoadGraph,
    ins: &[Vec<usize>],
    h_end: &[f64],
) -> Vec<Option<Vec<bool>>> {
    let nn = g.nodes.len();
    let axes: Vec<Option<Vec<bool>>> = (0..nn)
        .map(|n| {
            let inc = &ins[n];
            if !g.nodes[n].signal || inc.len() < 2 {
                return None;
            }
            let lead = *inc
                .iter()
                .max_by(|&&x, &&y| out.link_lanes[x].cmp(&out.link_lanes[y]).then(y.cmp(&x)))
                .expect("two or more");
            let on_a: Vec<bool> = inc
                .iter()
                .map(|&l| axis_gap(h_end[l], h_end[lead]) < FRAC_PI_4)
                .collect();
            on_a.iter().any(|&x| !x).then_some(on_a)
        })
        .collect();
    axes
}

/// Exit queues and lanes per movement.
fn add_exit_queues(out: &mut Network, g: &RoadGraph, turn: &[Turn], axes: &[Option<Vec<bool>>]) {
    let nl = g.links.len();
    let nm = out.mv_from.len();
    out.mv_queue = vec![0; nm];
    out.mv_lanes = vec![1; nm];
    for a in 0..nl {
        let ms = out.link_out[a] as usize..out.link_out[a + 1] as usize;
        let lanes = out.link_lanes[a];
        let has_left = ms
            .clone()
            .any(|m| matches!(turn[m], Turn::Left | Turn::UTurn));
        let has_other = ms
            .clone()
            .any(|m| matches!(turn[m], Turn::Straight | Turn::Right));
        if lanes >= 2 && has_left && has_other {
            // At a signal the left turn has a pocket of its own beside the through lanes;
            // elsewhere it takes the leftmost lane.
            let pocket = axes[g.links[a].to.0 as usize].is_some();
            let through = if pocket { lanes } else { lanes - 1 };
            let ql = out.queue_lanes.len() as u32;
            out.queue_lanes.push(1);
            out.queue_lanes.push(through);
            for m in ms {
                let left = matches!(turn[m], Turn::Left | Turn::UTurn);
                out.mv_queue[m] = if left { ql } else { ql + 1 };
                out.mv_lanes[m] = if left { 1 } else { through };
            }
        } else {
            let q = out.queue_lanes.len() as u32;
            out.queue_lanes.push(lanes);
            for m in ms {
                out.mv_queue[m] = q;
                out.mv_lanes[m] = lanes;
            }
        }
    }
}

/// The two-phase plan of signalised node `n` with incoming links `inc` on axes `on_a`;
/// permissive turns yield to the opposing approaches of their axis.
fn add_signal(
    out: &mut Network,
    n: usize,
    inc: &[usize],
    on_a: &[bool],
    turn: &[Turn],
    foes: &mut [Vec<MovementId>],
) {
    let sid = SignalId(out.signals.len() as u32);
    // Link index k over the node's movements in id order.
    let mut axis_of: Vec<(usize, bool)> = Vec::new();
    for (i, &a) in inc.iter().enumerate() {
        for m in movements_of(out, a) {
            out.mv_signal[m] = Some((sid, axis_of.len() as u32));
            axis_of.push((m, on_a[i]));
        }
    }
    // Permissive turns yield to the opposing approaches of their axis.
    for &(m, ax) in &axis_of {
        if !matches!(turn[m], Turn::Left | Turn::UTurn) {
            continue;
        }
        let a = out.mv_from[m];
        for &(k, kx) in &axis_of {
            if kx == ax && out.mv_from[k] != a && matches!(turn[k], Turn::Straight | Turn::Right) {
                foes[m].push(MovementId(k as u32));
            }
        }
    }
    let green_for = |axis: bool| -> Vec<Light> {
        axis_of
            .iter()
            .map(|&(m, ax)| {
                if ax != axis {
                    Light::Red
                } else if foes[m].is_empty() {
                    Light::Green
                } else {
                    Light::MinorGreen
                }
            })
            .collect()
    };
    let amber_for = |axis: bool| -> Vec<Light> {
        axis_of
            .iter()
            .map(|&(_, ax)| {
                if ax == axis {
                    Light::Yellow
                } else {
                    Light::Red
                }
            })
            .collect()
    };
    let red = vec![Light::Red; axis_of.len()];
    let phases = vec![
        SignalPhase {
            duration: SIGNAL_GREEN_S,
            lights: green_for(true),
        },
        SignalPhase {
            duration: SIGNAL_AMBER_S,
            lights: amber_for(true),
        },
        SignalPhase {
            duration: SIGNAL_ALL_RED_S,
            lights: red.clone(),
        },
        SignalPhase {
            duration: SIGNAL_GREEN_S,
            lights: green_for(false),
        },
        SignalPhase {
            duration: SIGNAL_AMBER_S,
            lights: amber_for(false),
        },
        SignalPhase {
            duration: SIGNAL_ALL_RED_S,
            lights: red,
        },
    ];
    out.signals.push(SignalPlan {
        name: n.to_string(),
        kind: SignalKind::FixedTime,
        offset: 0.0,
        cycle: phases.iter().map(|p| p.duration).sum(),
        phases,
    });
}

/// Priority by road class at an unsignalised node with incoming links `inc`: if some
/// approach is of a lower class, each of its movements yields to the major movements whose
/// path it crosses or merges with.
fn add_class_priority(
    out: &mut Network,
    g: &RoadGraph,
    inc: &[usize],
    h_start: &[f64],
    h_end: &[f64],
    foes: &mut [Vec<MovementId>],
) {
    let top = inc
        .iter()
        .map(|&l| class_rank(&g.links[l].class))
        .max()
        .unwrap_or(0);
    let major: Vec<usize> = inc
        .iter()
        .copied()
        .filter(|&l| class_rank(&g.links[l].class) == top)
        .collect();
    if major.len() < inc.len() {
        let major_mvs: Vec<MovementId> = major
            .iter()
            .flat_map(|&a| movements_of(out, a))
            .map(|m| MovementId(m as u32))
            .collect();
        // A minor movement yields to the major movements whose path it crosses or
        // merges with.
        let leg_in = |m: usize| h_end[out.mv_from[m].index()] + PI;
        let leg_out = |m: usize| h_start[out.mv_to[m].index()];
        for &a in inc {
            if class_rank(&g.links[a].class) == top {
                continue;
            }
            for m in movements_of(out, a) {
                out.mv_minor[m] = true;
                foes[m] = major_mvs
                    .iter()
                    .copied()
                    .filter(|k| {
                        let k = k.index();
                        movements_conflict(
                            leg_in(m),
                            leg_out(m),
                            out.mv_to[m].index(),
                            leg_in(k),
                            leg_out(k),
                            out.mv_to[k].index(),
                        )
                    })
                    .collect();
            }
        }
    }
}

impl Network {
    /// Build the simulation network from the city model's road graph (rules in the module
    /// docs of [`crate::road_net`]). Errors name the link and its road feature when a link
    /// has an unusable length, speed or lane count, or an end node that does not exist.
    #[allow(clippy::needless_range_loop)] // several arrays per link, indexed alike
    pub fn from_road_graph(g: &RoadGraph) -> Result<Network> {
        let nn = g.nodes.len();
        let nl = g.links.len();
        if nl == 0 {
            return Err(TrafficError::Network("the road graph has no link".into()));
        }
        let mut out = nodes_and_links(g)?;
        // Outgoing and incoming links per node, in link id order.
        let mut outs: Vec<Vec<usize>> = vec![Vec::new(); nn];
        let mut ins: Vec<Vec<usize>> = vec![Vec::new(); nn];
        for (i, l) in g.links.iter().enumerate() {
            outs[l.from.0 as usize].push(i);
            ins[l.to.0 as usize].push(i);
        }
        let h_end: Vec<f64> = (0..nl).map(|l| heading(g, l, true)).collect();
        let h_start: Vec<f64> = (0..nl).map(|l| heading(g, l, false)).collect();
        let turn = add_movements(&mut out, g, &outs, &h_start, &h_end);
        let axes = signal_axes(&out, g, &ins, &h_end);
        add_exit_queues(&mut out, g, &turn, &axes);
        // Right of way: signals and class priority, as a list of foes per movement.
        let mut foes: Vec<Vec<MovementId>> = vec![Vec::new(); out.mv_from.len()];
        for (n, inc) in ins.iter().enumerate() {
            if inc.is_empty() {
                continue;
            }
            match &axes[n] {
                Some(on_a) => add_signal(&mut out, n, inc, on_a, &turn, &mut foes),
                None => add_class_priority(&mut out, g, inc, &h_start, &h_end, &mut foes),
            }
        }
        out.mv_foe_start.push(0);
        for f in foes {
            let mut f = f;
            f.sort();
            f.dedup();
            out.mv_foes.extend(f);
            out.mv_foe_start.push(out.mv_foes.len() as u32);
        }
        out.index_junctions();
        Ok(out)
    }

    /// Kind of turn of movement `m` (straight, left, right or U-turn), from the headings of
    /// its links' end and start nodes.
    pub fn turn_of(&self, m: MovementId) -> Turn {
        let a = self.mv_from[m.index()].index();
        let b = self.mv_to[m.index()].index();
        if self.link_to[b] == self.link_from[a] {
            return Turn::UTurn;
        }
        let hd = |l: usize| {
            let (p, q) = (self.link_from[l].index(), self.link_to[l].index());
            (self.node_y[q] - self.node_y[p]).atan2(self.node_x[q] - self.node_x[p])
        };
        Turn::of_heading_change(wrap(hd(b) - hd(a)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use geo::LineString;
    use twin_model::FeatureId;
    use twin_model::roads::{NodeId as RNode, RoadLink, RoadNode};

    /// A crossing C at the origin with arms W, E (primary, 2 lanes each way) and N, S
    /// (`ns_class`, 1 lane), 100 m long, all two-way; `signal` at C.
    pub(crate) fn crossing(signal: bool, ns_class: &str) -> RoadGraph {
        let pos = [
            [0.0, 0.0],
            [-100.0, 0.0],
            [100.0, 0.0],
            [0.0, 100.0],
            [0.0, -100.0],
        ];
        let mut g = RoadGraph::default();
        for (i, p) in pos.iter().enumerate() {
            g.nodes.push(RoadNode {
                pos: *p,
                signal: signal && i == 0,
            });
        }
        let mut add = |a: usize, b: usize, class: &str, lanes: u32, speed: f64| {
            let (p, q) = (pos[a], pos[b]);
            g.links.push(RoadLink {
                from: RNode(a as u32),
                to: RNode(b as u32),
                feature: FeatureId(a as i64 * 10 + b as i64),
                class: class.into(),
                length_m: 100.0,
                lanes,
                speed_kmh: speed,
                capacity_pcu_h: 1800.0 * lanes as f64,
                geometry: LineString::from(vec![(p[0], p[1]), (q[0], q[1])]),
            });
        };
        for arm in 1..=4 {
            let (class, lanes, speed) = if arm <= 2 {
                ("primary", 2, 50.0)
            } else {
                (ns_class, 1, 40.0)
            };
            add(arm, 0, class, lanes, speed);
            add(0, arm, class, lanes, speed);
        }
        g.rebuild_adjacency();
        g
    }

    fn mv(n: &Network, a: usize, b: usize) -> MovementId {
        n.movement(LinkId(a as u32), LinkId(b as u32)).unwrap()
    }

    // Link ids of `crossing`: W→C 0, C→W 1, E→C 2, C→E 3, N→C 4, C→N 5, S→C 6, C→S 7.

    #[test]
    fn movements_turns_queues_and_signal_plan() {
        let n = Network::from_road_graph(&crossing(true, "secondary")).unwrap();
        assert_eq!(n.link_count(), 8);
        // 4 approaches × 3 exits at C, plus the U-turn at each dead end.
        assert_eq!(n.movement_count(), 16);
        assert!(n.movement(LinkId(0), LinkId(1)).is_none(), "no U-turn at C");
        assert!(
            n.movement(LinkId(1), LinkId(0)).is_some(),
            "U-turn at the dead end W"
        );
        assert_eq!(n.turn_of(mv(&n, 0, 3)), Turn::Straight);
        assert_eq!(n.turn_of(mv(&n, 0, 5)), Turn::Left); // eastbound, then north
        assert_eq!(n.turn_of(mv(&n, 0, 7)), Turn::Right);
        assert_eq!(n.turn_of(mv(&n, 1, 0)), Turn::UTurn);
        // Straight: no junction length; left turn: a quarter arc of 10 m at 20 km/h.
        let l = mv(&n, 0, 5).index();
        assert_eq!(n.mv_via_length[mv(&n, 0, 3).index()], 0.0);
        assert!((n.mv_via_length[l] - 5.0 * PI).abs() < 1e-9);
        assert!((n.mv_via_time[l] - 5.0 * PI / (20.0 / 3.6)).abs() < 1e-9);
        // W→C (2 lanes): the left turn has its own lane, through and right share the other.
        let (ql, qs, qr) = (
            n.mv_queue[l],
            n.mv_queue[mv(&n, 0, 3).index()],
            n.mv_queue[mv(&n, 0, 7).index()],
        );
        assert_ne!(ql, qs);
        assert_eq!(qs, qr);
        assert_eq!(n.queue_lanes[ql as usize], 1);
        // N→C (1 lane): one queue.
        assert_eq!(
            n.mv_queue[mv(&n, 4, 7).index()],
            n.mv_queue[mv(&n, 4, 1).index()]
        );
        // The plan: E–W (more lanes) first, 40 s green, 3 s amber, 2 s all-red, then N–S.
        assert_eq!(n.signals.len(), 1);
        let p = &n.signals[0];
        assert_eq!(p.cycle, 90.0);
        let light = |m: MovementId, phase: usize| {
            let (s, k) = n.mv_signal[m.index()].unwrap();
            n.signals[s.index()].phases[phase].lights[k as usize]
        };
        assert_eq!(light(mv(&n, 0, 3), 0), Light::Green);
        assert_eq!(light(mv(&n, 0, 5), 0), Light::MinorGreen);
        assert_eq!(light(mv(&n, 0, 3), 1), Light::Yellow);
        assert_eq!(light(mv(&n, 0, 3), 2), Light::Red);
        assert_eq!(light(mv(&n, 4, 7), 0), Light::Red);
        assert_eq!(light(mv(&n, 4, 7), 3), Light::Green);
        assert_eq!(light(mv(&n, 4, 3), 3), Light::MinorGreen);
        assert_eq!(p.phase_at(41.0).0, 1);
        assert_eq!(p.phase_at(44.0).0, 2);
        assert_eq!(p.phase_at(46.0).0, 3);
        // The eastbound left turn yields to westbound through and right.
        let foes = n.priority_foes(mv(&n, 0, 5));
        assert!(foes.contains(&mv(&n, 2, 1)) && foes.contains(&mv(&n, 2, 5)));
        assert_eq!(foes.len(), 2);
        // Dead-end U-turns are unsignalised.
        assert!(n.mv_signal[mv(&n, 1, 0).index()].is_none());
        assert_eq!(n.in_movements(NodeId(0)).len(), 12);
    }

    #[test]
    fn priority_by_class_without_signal() {
        let n = Network::from_road_graph(&crossing(false, "residential")).unwrap();
        assert!(n.signals.is_empty());
        let minor = mv(&n, 4, 7);
        assert!(n.mv_minor[minor.index()]);
        // Southbound through (N→S) crosses both major throughs and the eastbound left, and
        // merges with the eastbound right and the westbound left into C→S; the westbound
        // right (E→N) keeps to its corner.
        let mut foes = n.priority_foes(minor).to_vec();
        foes.sort();
        let mut expect = vec![
            mv(&n, 0, 3),
            mv(&n, 0, 5),
            mv(&n, 0, 7),
            mv(&n, 2, 1),
            mv(&n, 2, 7),
        ];
        expect.sort();
        assert_eq!(foes, expect);
        // Southbound right (N→W) only merges with the westbound through (HCM 2010 ch. 19:
        // the conflicting flow of a minor right turn is the near-side major through and right).
        assert_eq!(n.priority_foes(mv(&n, 4, 1)), [mv(&n, 2, 1)]);
        // Southbound left (N→E) crosses both major throughs and both major lefts (merging
        // with the eastbound through); the two major right turns keep to their corners.
        assert_eq!(n.priority_foes(mv(&n, 4, 3)).len(), 4);
        assert!(!n.mv_minor[mv(&n, 0, 3).index()]);
        assert!(n.priority_foes(mv(&n, 0, 3)).is_empty());
        // Same class everywhere: nobody yields.
        let n = Network::from_road_graph(&crossing(false, "primary")).unwrap();
        assert!(n.mv_minor.iter().all(|&m| !m));
    }

    #[test]
    fn conflict_points_of_a_four_leg_junction() {
        // Legs E, N, W, S; 12 movements (no U-turns). FHWA's conflict-point diagram: 16
        // crossing conflicts; merging into each exit: 3 movements, 3 pairs, 12 in all.
        let legs = [0.0, FRAC_PI_4 * 2.0, PI, -FRAC_PI_4 * 2.0];
        let mut mvs = Vec::new();
        for i in 0..4 {
            for j in 0..4 {
                if i != j {
                    mvs.push((i, j));
                }
            }
        }
        let (mut crossing, mut merging) = (0, 0);
        for (x, &(a, b)) in mvs.iter().enumerate() {
            for &(c, d) in &mvs[x + 1..] {
                if a == c {
                    continue; // diverging
                }
                if b == d {
                    merging += 1;
                } else if movements_conflict(legs[a], legs[b], b, legs[c], legs[d], d) {
                    crossing += 1;
                }
            }
        }
        assert_eq!((crossing, merging), (16, 12));
        // A T junction (no S leg): 3 crossing conflicts, 3 merging pairs.
        let t: Vec<_> = mvs.iter().filter(|&&(a, b)| a != 3 && b != 3).collect();
        let mut crossing = 0;
        for (x, &&(a, b)) in t.iter().enumerate() {
            for &&(c, d) in &t[x + 1..] {
                if a != c && b != d && movements_conflict(legs[a], legs[b], b, legs[c], legs[d], d)
                {
                    crossing += 1;
                }
            }
        }
        assert_eq!(crossing, 3);
    }

    #[test]
    fn signalised_left_turns_get_a_pocket() {
        let n = Network::from_road_graph(&crossing(true, "secondary")).unwrap();
        // W→C has 2 lanes: at the signal the left turn queues in a pocket, through and right
        // keep both lanes.
        let (l, s) = (mv(&n, 0, 5).index(), mv(&n, 0, 3).index());
        assert_eq!(n.queue_lanes[n.mv_queue[l] as usize], 1);
        assert_eq!(n.queue_lanes[n.mv_queue[s] as usize], 2);
        // Without the signal the left turn takes one of the two lanes.
        let n = Network::from_road_graph(&crossing(false, "secondary")).unwrap();
        let s = mv(&n, 0, 3).index();
        assert_eq!(n.queue_lanes[n.mv_queue[s] as usize], 1);
    }

    #[test]
    fn protected_left_phase_where_the_permissive_left_saturates() {
        let mut n = Network::from_road_graph(&crossing(true, "secondary")).unwrap();
        let (left, opposing) = (mv(&n, 0, 5), mv(&n, 2, 1)); // eastbound left, westbound through
        let mut flow = vec![0.0; n.movement_count()];
        flow[opposing.index()] = 900.0;
        // Permitted capacity over the 90 s plan: 900 e^(−900·4.5/3600) / (1 − e^(−900·2.5/3600))
        // = 628.9 per hour of green, × 40/90, plus 2 sneakers a cycle: 359.5 PCU/h.
        let sp = 900.0 * (-1.125f64).exp() / (1.0 - (-0.625f64).exp());
        let cap = sp * 40.0 / 90.0 + 2.0 * 3600.0 / 90.0;
        assert!((cap - 359.5).abs() < 0.1, "{cap}");
        // 350 PCU/h: cross product 315,000 > 90,000 (two opposing lanes), but under capacity.
        flow[left.index()] = 350.0;
        assert_eq!(n.add_protected_lefts(&flow, 10.0), 0);
        assert_eq!(n.signals[0].phases.len(), 6);
        // 400 PCU/h saturates it: a leading dual-left phase, amber and all-red, then E–W.
        flow[left.index()] = 400.0;
        assert_eq!(n.add_protected_lefts(&flow, 10.0), 1);
        let light = |n: &Network, m: MovementId, phase: usize| {
            let (s, k) = n.mv_signal[m.index()].unwrap();
            n.signals[s.index()].phases[phase].lights[k as usize]
        };
        let p = &n.signals[0];
        assert_eq!(p.phases.len(), 9);
        assert_eq!(p.cycle, 90.0 + 10.0 + 3.0 + 2.0);
        assert_eq!(light(&n, left, 0), Light::Green);
        assert_eq!(
            light(&n, mv(&n, 2, 7), 0),
            Light::Green,
            "westbound left too"
        );
        assert_eq!(light(&n, opposing, 0), Light::Red);
        assert_eq!(light(&n, left, 1), Light::Yellow);
        assert_eq!(light(&n, left, 3), Light::MinorGreen, "then permissive");
        assert_eq!(light(&n, opposing, 3), Light::Green);
        // Once is enough.
        assert_eq!(n.add_protected_lefts(&flow, 10.0), 0);
        // Webster: the left phase is timed by the pocket (400/1900), the through phase by
        // the westbound through (900/3800), not by the left again; lost time 3 × 5 s.
        let h = 3600.0 / 1900.0;
        let c = n.retime_webster(&flow, h, 10.0, 60.0, 120.0);
        let (yl, yt): (f64, f64) = (400.0 / 1900.0, 900.0 / 3800.0);
        // C₀ = (1.5 × 15 + 5) / (1 − 0.211 − 0.237) = 49.8 s, raised to the 60 s minimum.
        let c0 = (1.5 * 15.0 + 5.0) / (1.0 - yl - yt);
        assert!((c0 - 49.76).abs() < 0.01, "{c0}");
        assert_eq!(c[0], 60.0);
        let p = &n.signals[0];
        let eff = 60.0 - 15.0 - 10.0; // the N–S phase keeps its minimum green
        assert!((p.phases[0].duration - eff * yl / (yl + yt)).abs() < 1e-9);
        assert!((p.phases[3].duration - eff * yt / (yl + yt)).abs() < 1e-9);
        assert_eq!(p.phases[6].duration, 10.0);
    }

    #[test]
    fn bad_links_are_named() {
        let mut g = crossing(true, "secondary");
        g.links[3].speed_kmh = 0.0;
        let e = Network::from_road_graph(&g).unwrap_err().to_string();
        assert_eq!(
            e,
            "network: road link 3 (feature 2): speed 0 km/h is not positive"
        );
        assert!(Network::from_road_graph(&RoadGraph::default()).is_err());
    }
}
