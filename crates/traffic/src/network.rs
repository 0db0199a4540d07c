//! The road network as the simulation sees it: links (directed roads) and movements (allowed
//! link-to-link turns across a junction), in struct-of-arrays form with typed ids.
//!
//! Built from a SUMO network by [`crate::sumo_import`] ([`Network::from_sumo`]) or from the
//! city model's road graph by [`crate::road_net`] ([`Network::from_road_graph`]); its signal
//! plans ([`crate::signal`]) are retimed for a demand by [`crate::signal_timing`].

pub use crate::signal::{
    Light, PERMITTED_LEFT_CRITICAL_HEADWAY, PERMITTED_LEFT_FOLLOW_UP, SNEAKERS_PER_CYCLE,
    SignalKind, SignalPhase, SignalPlan,
};
use std::collections::HashMap;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
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

/// Ids named in an [`ImportWarning`]'s message; the rest are counted.
pub const WARNING_IDS_SHOWN: usize = 5;

/// Something in a SUMO network that the model runs differently from SUMO, with the traffic
/// lights it concerns (in file order), so that no difference passes without a word.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ImportWarning {
    /// Traffic lights whose programme (the first, the one run) is of a type other than
    /// `static` (`actuated`, `delay_based`, `NEMA`, ...): run as fixed-time plans at the
    /// phases' nominal durations. Adaptive control is chosen for a whole run instead
    /// ([`crate::sim::SignalControl`]).
    NotFixedTime {
        /// The programme type.
        kind: String,
        /// Traffic light ids.
        ids: Vec<String>,
    },
    /// Traffic lights with more than one programme: only the first in the file is run (SUMO
    /// runs the last one loaded unless told otherwise by a WAUT or `--tls.*` option).
    ExtraProgrammes {
        /// Traffic light ids.
        ids: Vec<String>,
    },
    /// Connections naming an edge the file does not define: skipped. Each entry reads
    /// `from -> to (line N)`.
    UnknownEdges {
        /// The connections.
        ids: Vec<String>,
    },
}

impl ImportWarning {
    /// Traffic light ids the warning concerns.
    pub fn ids(&self) -> &[String] {
        match self {
            ImportWarning::NotFixedTime { ids, .. }
            | ImportWarning::ExtraProgrammes { ids }
            | ImportWarning::UnknownEdges { ids } => ids,
        }
    }
}

impl std::fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids = self.ids();
        let (n, one) = (ids.len(), ids.len() == 1);
        let (lights, have) = if one {
            ("traffic light", "has")
        } else {
            ("traffic lights", "have")
        };
        match self {
            ImportWarning::NotFixedTime { kind, .. } => write!(
                f,
                "{n} {lights} {have} type '{kind}': run as fixed-time on {} first programme",
                if one { "its" } else { "their" }
            )?,
            ImportWarning::ExtraProgrammes { .. } => write!(
                f,
                "{n} {lights} {have} more than one programme: the first is run"
            )?,
            ImportWarning::UnknownEdges { .. } => write!(
                f,
                "{n} connection{} {} an edge the file does not define: skipped",
                if one { "" } else { "s" },
                if one { "names" } else { "name" }
            )?,
        }
        let shown: Vec<&str> = ids
            .iter()
            .take(WARNING_IDS_SHOWN)
            .map(String::as_str)
            .collect();
        write!(f, " ({}", shown.join(", "))?;
        if n > WARNING_IDS_SHOWN {
            write!(f, " and {} more", n - WARNING_IDS_SHOWN)?;
        }
        write!(f, ")")
    }
}

/// The network: junctions, links and movements in flat arrays indexed by the typed ids.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
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
    /// What the import runs differently from its source, by name and count (SUMO traffic
    /// lights run as fixed-time plans, second programmes left out); empty for a network
    /// built from the road graph.
    pub import_warnings: Vec<ImportWarning>,
    pub(crate) by_name: HashMap<String, LinkId>,
}
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

    /// The junction signal `s` controls (the downstream junction of its first movement's
    /// upstream link), `None` if it controls no movement.
    pub fn signal_node(&self, s: SignalId) -> Option<NodeId> {
        let m = self
            .mv_signal
            .iter()
            .position(|x| x.is_some_and(|(id, _)| id == s))?;
        Some(self.link_to[self.mv_from[m].index()])
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

    /// Exit queues of link `l` (see [`Network::mv_queue`]), in id order.
    pub fn exit_queues(&self, l: LinkId) -> Vec<u32> {
        let mut qs: Vec<u32> = self
            .out_movements(l)
            .map(|m| self.mv_queue[m.index()])
            .collect();
        qs.sort_unstable();
        qs.dedup();
        qs
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
                let qs: Vec<usize> = self
                    .exit_queues(LinkId(l as u32))
                    .into_iter()
                    .map(|q| q as usize)
                    .collect();
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
