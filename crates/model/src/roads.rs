//! The directed road graph derived from the Traffic & Road layer.
//!
//! Conventions for road features (`kind = "road"`, LineString in the city CRS): `highway`
//! (class text, OSM vocabulary), `lanes` (total lanes over both directions, as OSM tags it),
//! `maxspeed_kmh`, `oneway` (bool; geometry runs in the permitted direction). Junction signals
//! are `kind = "traffic_signals"` point features. Nodes are made at road ends and at every vertex
//! shared by two roads (or visited twice by one), matched to the centimetre.

use crate::feature::FeatureId;
use crate::layerdata::LayerData;
use geo::{Coord, LineString};
use std::collections::HashMap;

/// Index of a road node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// Index of a directed road link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u32);

/// A junction or road end.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadNode {
    /// Position in the city CRS.
    pub pos: [f64; 2],
    /// True when the junction is signalised.
    pub signal: bool,
}

/// A directed link between two nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadLink {
    /// Upstream node.
    pub from: NodeId,
    /// Downstream node.
    pub to: NodeId,
    /// The road feature this link was cut from.
    pub feature: FeatureId,
    /// Road class (`primary`, `residential` …).
    pub class: String,
    /// Length along the geometry, metres.
    pub length_m: f64,
    /// Lanes in this direction.
    pub lanes: u32,
    /// Speed limit, km/h.
    pub speed_kmh: f64,
    /// Flow capacity, passenger-car units per hour.
    pub capacity_pcu_h: f64,
    /// Geometry in travel direction.
    pub geometry: LineString<f64>,
}

impl RoadLink {
    /// Free-flow travel time, seconds.
    pub fn free_flow_time_s(&self) -> f64 {
        self.length_m / (self.speed_kmh / 3.6)
    }
}

/// True when a road feature is a bridge (OSM `bridge`, any value but "no").
pub fn is_bridge(f: &crate::Feature) -> bool {
    match f.attrs.get("bridge") {
        Some(crate::AttrValue::Bool(b)) => *b,
        Some(crate::AttrValue::Int(i)) => *i != 0,
        Some(crate::AttrValue::Real(r)) => *r != 0.0,
        Some(crate::AttrValue::Text(t)) => !matches!(t.as_str(), "" | "no" | "0" | "false"),
        _ => false,
    }
}

/// Classes that motor vehicles may drive on.
pub fn is_drivable_class(class: &str) -> bool {
    matches!(
        class,
        "motorway"
            | "motorway_link"
            | "trunk"
            | "trunk_link"
            | "primary"
            | "primary_link"
            | "secondary"
            | "secondary_link"
            | "tertiary"
            | "tertiary_link"
            | "unclassified"
            | "residential"
            | "living_street"
            | "service"
            | "road"
    )
}

/// Default (lanes per direction, speed km/h, saturation flow pcu/h/lane) by class, for an
/// Asian inner city: speeds follow Hanoi's urban limits (50 km/h arterials in built-up areas,
/// lower on local streets); saturation flows follow HCM-style per-lane values reduced for
/// local streets.
pub fn class_defaults(class: &str) -> (u32, f64, f64) {
    match class.trim_end_matches("_link") {
        "motorway" => (3, 80.0, 2000.0),
        "trunk" => (2, 60.0, 1900.0),
        "primary" => (2, 50.0, 1800.0),
        "secondary" => (2, 40.0, 1700.0),
        "tertiary" => (1, 40.0, 1500.0),
        "unclassified" | "road" => (1, 30.0, 1200.0),
        "residential" => (1, 30.0, 1100.0),
        "living_street" => (1, 15.0, 600.0),
        "service" => (1, 20.0, 800.0),
        _ => (1, 30.0, 1000.0),
    }
}

/// The directed road graph with a compressed adjacency list.
#[derive(Debug, Clone, Default)]
pub struct RoadGraph {
    /// Nodes.
    pub nodes: Vec<RoadNode>,
    /// Directed links.
    pub links: Vec<RoadLink>,
    out_start: Vec<u32>,
    out_links: Vec<LinkId>,
}

fn key(c: Coord<f64>) -> (i64, i64) {
    ((c.x * 100.0).round() as i64, (c.y * 100.0).round() as i64)
}

impl RoadGraph {
    /// Builds the graph from the drivable roads and signals of a Traffic & Road layer.
    pub fn from_layer(layer: &LayerData) -> RoadGraph {
        let roads: Vec<(&crate::Feature, &LineString<f64>)> = layer
            .features()
            .iter()
            .filter(|f| f.kind == "road")
            .filter(|f| is_drivable_class(f.text("highway").unwrap_or("road")))
            .filter_map(|f| match &f.geometry {
                geo::Geometry::LineString(ls) if ls.0.len() >= 2 => Some((f, ls)),
                _ => None,
            })
            .collect();
        // How many times each vertex is used over all roads; ends count twice so they are nodes.
        let mut uses: HashMap<(i64, i64), u32> = HashMap::new();
        for (_, ls) in &roads {
            let n = ls.0.len();
            for (i, c) in ls.0.iter().enumerate() {
                let w = if i == 0 || i == n - 1 { 2 } else { 1 };
                *uses.entry(key(*c)).or_insert(0) += w;
            }
        }
        let mut g = RoadGraph::default();
        let mut node_of: HashMap<(i64, i64), NodeId> = HashMap::new();
        let mut node = |g: &mut RoadGraph, c: Coord<f64>| -> NodeId {
            *node_of.entry(key(c)).or_insert_with(|| {
                g.nodes.push(RoadNode {
                    pos: [c.x, c.y],
                    signal: false,
                });
                NodeId(g.nodes.len() as u32 - 1)
            })
        };
        for (f, ls) in &roads {
            let class = f.text("highway").unwrap_or("road").to_string();
            let (def_lanes, def_speed, sat) = class_defaults(&class);
            let oneway = matches!(f.attrs.get("oneway"), Some(crate::AttrValue::Bool(true)))
                || f.num("oneway") == Some(1.0);
            let total_lanes = f
                .num("lanes")
                .filter(|l| *l >= 1.0)
                .map(|l| l.round() as u32);
            let lanes = match (total_lanes, oneway) {
                (Some(t), true) => t,
                (Some(t), false) => (t / 2).max(1),
                (None, _) => def_lanes,
            };
            let speed = f
                .num("maxspeed_kmh")
                .filter(|s| *s > 0.0)
                .unwrap_or(def_speed);
            let mut start = 0usize;
            let pts = &ls.0;
            for i in 1..pts.len() {
                let is_node =
                    i == pts.len() - 1 || uses.get(&key(pts[i])).copied().unwrap_or(0) >= 2;
                if !is_node {
                    continue;
                }
                let seg: Vec<Coord<f64>> = pts[start..=i].to_vec();
                start = i;
                let a = node(&mut g, seg[0]);
                let b = node(&mut g, *seg.last().unwrap());
                if a == b {
                    continue;
                }
                let geom = LineString::from(seg);
                let length: f64 = geom
                    .0
                    .windows(2)
                    .map(|w| ((w[1].x - w[0].x).powi(2) + (w[1].y - w[0].y).powi(2)).sqrt())
                    .sum();
                let mk = |from, to, geometry| RoadLink {
                    from,
                    to,
                    feature: f.id,
                    class: class.clone(),
                    length_m: length.max(0.01),
                    lanes,
                    speed_kmh: speed,
                    capacity_pcu_h: lanes as f64 * sat,
                    geometry,
                };
                if !oneway {
                    let mut rev = geom.clone();
                    rev.0.reverse();
                    g.links.push(mk(b, a, rev));
                }
                g.links.push(mk(a, b, geom));
            }
        }
        // Signals: mark the nearest junction (degree >= 3 or any node) within 20 m.
        let signals: Vec<[f64; 2]> = layer
            .features()
            .iter()
            .filter(|f| f.kind == "traffic_signals")
            .filter_map(|f| match &f.geometry {
                geo::Geometry::Point(p) => Some([p.x(), p.y()]),
                _ => None,
            })
            .collect();
        g.rebuild_adjacency();
        if !signals.is_empty() {
            let tree = rstar::RTree::bulk_load(
                g.nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| rstar::primitives::GeomWithData::new(n.pos, i))
                    .collect(),
            );
            for s in signals {
                if let Some(n) = tree.nearest_neighbor(&s) {
                    let d2 = (n.geom()[0] - s[0]).powi(2) + (n.geom()[1] - s[1]).powi(2);
                    if d2 <= 20.0 * 20.0 {
                        g.nodes[n.data].signal = true;
                    }
                }
            }
        }
        g
    }

    /// Recomputes the adjacency after links were added.
    pub fn rebuild_adjacency(&mut self) {
        let n = self.nodes.len();
        let mut count = vec![0u32; n + 1];
        for l in &self.links {
            count[l.from.0 as usize + 1] += 1;
        }
        for i in 0..n {
            count[i + 1] += count[i];
        }
        let mut fill = count.clone();
        let mut out = vec![LinkId(0); self.links.len()];
        for (i, l) in self.links.iter().enumerate() {
            let s = &mut fill[l.from.0 as usize];
            out[*s as usize] = LinkId(i as u32);
            *s += 1;
        }
        self.out_start = count;
        self.out_links = out;
    }

    /// Links leaving a node.
    pub fn out_links(&self, n: NodeId) -> &[LinkId] {
        let i = n.0 as usize;
        &self.out_links[self.out_start[i] as usize..self.out_start[i + 1] as usize]
    }

    /// A link.
    pub fn link(&self, l: LinkId) -> &RoadLink {
        &self.links[l.0 as usize]
    }

    /// Number of signalised nodes.
    pub fn signal_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.signal).count()
    }

    /// Strongly connected components (Tarjan, iterative): a component number per node.
    pub fn strongly_connected_components(&self) -> Vec<u32> {
        let n = self.nodes.len();
        const UNSET: u32 = u32::MAX;
        let mut index = vec![UNSET; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut comp = vec![UNSET; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut next_index = 0u32;
        let mut next_comp = 0u32;
        // call stack of (node, next out-edge position)
        let mut calls: Vec<(u32, usize)> = Vec::new();
        for root in 0..n as u32 {
            if index[root as usize] != UNSET {
                continue;
            }
            calls.push((root, 0));
            index[root as usize] = next_index;
            low[root as usize] = next_index;
            next_index += 1;
            stack.push(root);
            on_stack[root as usize] = true;
            while let Some(&mut (v, ref mut pos)) = calls.last_mut() {
                let outs = self.out_links(NodeId(v));
                if *pos < outs.len() {
                    let w = self.links[outs[*pos].0 as usize].to.0;
                    *pos += 1;
                    if index[w as usize] == UNSET {
                        index[w as usize] = next_index;
                        low[w as usize] = next_index;
                        next_index += 1;
                        stack.push(w);
                        on_stack[w as usize] = true;
                        calls.push((w, 0));
                    } else if on_stack[w as usize] {
                        low[v as usize] = low[v as usize].min(index[w as usize]);
                    }
                } else {
                    calls.pop();
                    if let Some(&(u, _)) = calls.last() {
                        low[u as usize] = low[u as usize].min(low[v as usize]);
                    }
                    if low[v as usize] == index[v as usize] {
                        loop {
                            let w = stack.pop().expect("tarjan stack");
                            on_stack[w as usize] = false;
                            comp[w as usize] = next_comp;
                            if w == v {
                                break;
                            }
                        }
                        next_comp += 1;
                    }
                }
            }
        }
        comp
    }

    /// Fraction of links whose both ends lie in the largest strongly connected component
    /// (counted in links), and that component's node mask.
    pub fn largest_scc(&self) -> (f64, Vec<bool>) {
        if self.links.is_empty() {
            return (0.0, vec![false; self.nodes.len()]);
        }
        let comp = self.strongly_connected_components();
        let mut links_in: HashMap<u32, usize> = HashMap::new();
        for l in &self.links {
            let c = comp[l.from.0 as usize];
            if c == comp[l.to.0 as usize] {
                *links_in.entry(c).or_insert(0) += 1;
            }
        }
        let best = links_in
            .iter()
            .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
            .map(|(c, n)| (*c, *n));
        match best {
            Some((c, n)) => (
                n as f64 / self.links.len() as f64,
                comp.iter().map(|&x| x == c).collect(),
            ),
            None => (0.0, vec![false; self.nodes.len()]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Department, Feature, Layer};

    fn road(id: i64, pts: &[(f64, f64)], oneway: bool) -> Feature {
        Feature::new(
            FeatureId(id),
            "road",
            Department::Construction,
            LineString::from(pts.to_vec()).into(),
        )
        .with("highway", "residential")
        .with("oneway", oneway)
    }

    #[test]
    fn splits_at_shared_vertices_and_finds_scc() {
        let mut l = LayerData::new(Layer::TrafficRoad);
        // A two-way road crossing another at (100, 0), which is an interior vertex of both.
        l.insert(road(1, &[(0.0, 0.0), (100.0, 0.0), (200.0, 0.0)], false));
        l.insert(road(
            2,
            &[(100.0, -100.0), (100.0, 0.0), (100.0, 100.0)],
            false,
        ));
        // A one-way spur that leaves and never returns.
        l.insert(road(3, &[(200.0, 0.0), (300.0, 0.0)], true).with("lanes", 2i64));
        l.insert(Feature::new(
            FeatureId(9),
            "traffic_signals",
            Department::Construction,
            geo::Point::new(101.0, 1.0).into(),
        ));
        let g = RoadGraph::from_layer(&l);
        assert_eq!(g.nodes.len(), 6);
        assert_eq!(g.links.len(), 9);
        assert_eq!(g.signal_count(), 1);
        let spur = g.links.iter().find(|k| k.feature == FeatureId(3)).unwrap();
        assert_eq!(spur.lanes, 2);
        assert!((spur.length_m - 100.0).abs() < 1e-9);
        assert!((spur.free_flow_time_s() - 12.0).abs() < 1e-9);
        let (frac, mask) = g.largest_scc();
        assert!((frac - 8.0 / 9.0).abs() < 1e-12);
        assert_eq!(mask.iter().filter(|m| **m).count(), 5);
    }
}
