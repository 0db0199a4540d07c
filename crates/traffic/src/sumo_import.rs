//! The model network from a parsed SUMO network ([`crate::sumo_net::NetFile`]): every normal
//! edge with at least one lane open to cars becomes a link; all lane connections between the
//! same pair of edges become one movement whose lane count is the number of distinct upstream
//! lanes serving it, whose junction-crossing length and time come from its internal (`via`)
//! lanes, and whose signal is the traffic light and link index of those connections.

use crate::error::{Result, TrafficError};
use crate::network::{ImportWarning, LinkId, MovementId, Network, NodeId, SignalId};
use crate::signal::{Light, SignalKind, SignalPhase, SignalPlan};
use crate::sumo_net::{EdgeFunction, NetFile};
use std::collections::HashMap;

/// SUMO class whose lane permissions decide whether a lane is drivable here.
const DRIVABLE_CLASS: &str = "passenger";

/// The traffic lights of `net` run differently from the file: first programmes that are not
/// fixed-time (one warning per type, in order of first appearance) and lights with more than
/// one programme.
fn signal_warnings(net: &NetFile) -> Vec<ImportWarning> {
    let mut programmes: Vec<(&str, &str, usize)> = Vec::new(); // id, first type, count
    let mut at: HashMap<&str, usize> = HashMap::new();
    for tl in &net.tl_logics {
        match at.get(tl.id.as_str()) {
            Some(&i) => programmes[i].2 += 1,
            None => {
                at.insert(tl.id.as_str(), programmes.len());
                programmes.push((tl.id.as_str(), tl.kind.as_str(), 1));
            }
        }
    }
    let mut out: Vec<ImportWarning> = Vec::new();
    for &(id, kind, _) in &programmes {
        if kind == "static" {
            continue;
        }
        let existing = out.iter_mut().find_map(|w| match w {
            ImportWarning::NotFixedTime { kind: k, ids } if k == kind => Some(ids),
            _ => None,
        });
        match existing {
            Some(ids) => ids.push(id.to_string()),
            None => out.push(ImportWarning::NotFixedTime {
                kind: kind.to_string(),
                ids: vec![id.to_string()],
            }),
        }
    }
    let extra: Vec<String> = programmes
        .iter()
        .filter(|p| p.2 > 1)
        .map(|p| p.0.to_string())
        .collect();
    if !extra.is_empty() {
        out.push(ImportWarning::ExtraProgrammes { ids: extra });
    }
    out
}

impl Network {
    /// Build the model network from a parsed SUMO network. What the model runs differently
    /// from the file is listed in [`Network::import_warnings`].
    pub fn from_sumo(net: &NetFile) -> Result<Network> {
        let mut out = Network::default();
        let node_of = add_junctions(&mut out, net);
        add_links(&mut out, net, &node_of)?;
        out.import_warnings = signal_warnings(net);
        let defined: std::collections::HashSet<&str> =
            net.edges.iter().map(|e| e.id.as_str()).collect();
        let unknown: Vec<String> = net
            .connections
            .iter()
            .filter(|c| !defined.contains(c.from.as_str()) || !defined.contains(c.to.as_str()))
            .map(|c| format!("{} -> {} (line {})", c.from, c.to, c.line))
            .collect();
        if !unknown.is_empty() {
            out.import_warnings
                .push(ImportWarning::UnknownEdges { ids: unknown });
        }
        let sig_of = add_signals(&mut out, net);
        let (groups, order) = group_connections(&out, net, &sig_of)?;
        add_movements(&mut out, &groups, &order);
        add_exit_queues(&mut out, &groups, &order);
        add_priority_foes(&mut out, net, &groups, &order);
        out.index_junctions();
        Ok(out)
    }
}

/// Connections grouped into one movement.
struct Acc {
    minor: bool,
    /// (junction index in `net.junctions`, request index) of each connection.
    requests: Vec<(usize, usize)>,
    lanes: Vec<usize>,
    via_len: f64,
    via_time: f64,
    signal: Option<(SignalId, u32)>,
}

/// Connections grouped by (from link, to link).
type Groups = HashMap<(LinkId, LinkId), Acc>;

/// Junctions (all but internal ones), and each one's id by name.
fn add_junctions<'a>(out: &mut Network, net: &'a NetFile) -> HashMap<&'a str, NodeId> {
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
    node_of
}

/// Links: every normal edge with a lane open to cars.
fn add_links(out: &mut Network, net: &NetFile, node_of: &HashMap<&str, NodeId>) -> Result<()> {
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
        let (Some(&from), Some(&to)) = (node_of.get(e.from.as_str()), node_of.get(e.to.as_str()))
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
    Ok(())
}

/// Signal plans: the first programme of each traffic light, and each plan's id by name.
fn add_signals<'a>(out: &mut Network, net: &'a NetFile) -> HashMap<&'a str, SignalId> {
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
    sig_of
}

/// Lane connections between links grouped by (from link, to link), with their lanes, crossing
/// length and time, signal and right-of-way requests; keys sorted.
fn group_connections(
    out: &Network,
    net: &NetFile,
    sig_of: &HashMap<&str, SignalId>,
) -> Result<(Groups, Vec<(LinkId, LinkId)>)> {
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
    Ok((groups, order))
}

/// One movement per group, in key order, and the movements out of each link.
fn add_movements(out: &mut Network, groups: &Groups, order: &[(LinkId, LinkId)]) {
    let n_links = out.link_count();
    out.link_out = vec![0; n_links + 1];
    for &(a, b) in order {
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
}

/// Exit queues of each link's movements.
fn add_exit_queues(out: &mut Network, groups: &Groups, order: &[(LinkId, LinkId)]) {
    let n_links = out.link_count();
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
}

/// Priority foes of each movement.
fn add_priority_foes(
    out: &mut Network,
    net: &NetFile,
    groups: &Groups,
    order: &[(LinkId, LinkId)],
) {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sumo_net::parse_net;

    /// One edge and traffic lights that the model runs differently from SUMO: two actuated
    /// ones, one delay-based, and two with a second programme.
    const LIGHTS: &str = r#"<net>
  <edge id="AB" from="A" to="B"><lane id="AB_0" index="0" speed="10" length="100"/></edge>
  <junction id="A" type="dead_end" x="0" y="0"/>
  <junction id="B" type="dead_end" x="100" y="0"/>
  <tlLogic id="T1" type="actuated" programID="0" offset="0"><phase duration="30" state="G"/></tlLogic>
  <tlLogic id="T2" type="static" programID="0" offset="0"><phase duration="30" state="G"/></tlLogic>
  <tlLogic id="T3" type="delay_based" programID="0" offset="0"><phase duration="30" state="G"/></tlLogic>
  <tlLogic id="T4" type="actuated" programID="0" offset="0"><phase duration="30" state="G"/></tlLogic>
  <tlLogic id="T2" type="actuated" programID="night" offset="0"><phase duration="60" state="G"/></tlLogic>
  <tlLogic id="T4" type="static" programID="night" offset="0"><phase duration="60" state="G"/></tlLogic>
</net>"#;

    #[test]
    fn signals_run_differently_are_named_and_counted() {
        let net = Network::from_sumo(&parse_net(LIGHTS).unwrap()).unwrap();
        let w = &net.import_warnings;
        assert_eq!(
            w,
            &[
                ImportWarning::NotFixedTime {
                    kind: "actuated".into(),
                    ids: vec!["T1".into(), "T4".into()],
                },
                ImportWarning::NotFixedTime {
                    kind: "delay_based".into(),
                    ids: vec!["T3".into()],
                },
                ImportWarning::ExtraProgrammes {
                    ids: vec!["T2".into(), "T4".into()],
                },
            ]
        );
        assert_eq!(
            w[0].to_string(),
            "2 traffic lights have type 'actuated': run as fixed-time on their first programme (T1, T4)"
        );
        assert_eq!(
            w[1].to_string(),
            "1 traffic light has type 'delay_based': run as fixed-time on its first programme (T3)"
        );
        assert_eq!(
            w[2].to_string(),
            "2 traffic lights have more than one programme: the first is run (T2, T4)"
        );
        // The first programme is the one run: T2 fixed-time at 30 s.
        assert_eq!(net.signals.len(), 4);
        assert_eq!(net.signals[1].cycle, 30.0);
    }

    #[test]
    fn long_lists_name_the_first_few() {
        let w = ImportWarning::ExtraProgrammes {
            ids: (0..8).map(|i| format!("J{i}")).collect(),
        };
        assert_eq!(
            w.to_string(),
            "8 traffic lights have more than one programme: the first is run (J0, J1, J2, J3, J4 and 3 more)"
        );
    }
}
