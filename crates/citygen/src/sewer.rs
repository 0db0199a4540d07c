//! Sewer design for the demo district: a tree of pipes along the streets draining to one
//! pumping station behind the dike, sized by the rational method for a design storm.
//!
//! Design rules (documented so an engineer can check them):
//! - Rainfall intensity: TCVN 7957:2008 form q = A(1 + C lg P)/(t + b)^n in l/s·ha with
//!   Hanoi's parameters A = 5890, C = 0.65, b = 20, n = 0.84 (hanoi-facts.md flags these as
//!   unverified against the standard), return period P = 2 years, t = time of concentration.
//! - Time of concentration: 10 min inlet time plus pipe travel time at 1 m/s.
//! - Runoff coefficient per subcatchment: 0.9 on impervious, 0.2 on pervious share.
//! - Pipes: Manning n = 0.013 (concrete), 1.2 m cover, minimum slope 1/D (D in mm, TCVN
//!   practice), standard diameters 0.4–2.0 m; larger flows in box culverts (n = 0.015) up to
//!   2.5 × 5 m, then an open trapezoidal canal (n = 0.025), as Hanoi's inner rivers are.
//! - Pumps: about 1.1 m³/s per km² served, the ratio of Yên Sở (90 m³/s, 20 units) to its
//!   basin, split into 4 units with staggered start levels; a regulating lake at the station
//!   holding about 50,000 m³ per km² served (Yên Sở: more than 4 million m³ for its basin).

use crate::streets::Streets;
use crate::terrain::Terrain;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use twin_model::Feature;
use twin_model::drainage::{Shape, manning_full_flow};

/// Design intensity, l/s·ha, for duration `t_min` and return period `p_years`.
pub fn design_intensity(t_min: f64, p_years: f64) -> f64 {
    5890.0 * (1.0 + 0.65 * p_years.log10()) / (t_min + 20.0).powf(0.84)
}

/// A designed conduit.
#[derive(Debug, Clone)]
pub struct Pipe {
    /// Upstream node index (street node).
    pub from: usize,
    /// Downstream node index, or `None` for the station wet well.
    pub to: Option<usize>,
    /// Length, m.
    pub length: f64,
    /// Cross-section.
    pub shape: Shape,
    /// Manning n.
    pub n: f64,
    /// Design flow, m³/s.
    pub q_design: f64,
    /// Full-flow capacity, m³/s.
    pub q_full: f64,
    /// Offset of the downstream invert above the downstream node invert, m.
    pub out_offset: f64,
    /// Slope.
    pub slope: f64,
}

/// A catchment draining into a manhole.
#[derive(Debug, Clone)]
pub struct Catchment {
    /// Outlet street node.
    pub outlet: usize,
    /// Area, ha.
    pub area_ha: f64,
    /// Impervious share 0..1.
    pub imperv: f64,
}

/// The designed network.
#[derive(Debug, Clone)]
pub struct Sewer {
    /// Manhole invert per street node (`None` where no manhole).
    pub invert: Vec<Option<f64>>,
    /// Ground (rim) per street node.
    pub rim: Vec<f64>,
    /// Pipes.
    pub pipes: Vec<Pipe>,
    /// Street node nearest the station.
    pub outlet: usize,
    /// Wet well invert, m.
    pub wet_well_invert: f64,
    /// Total design flow at the station, m³/s.
    pub q_station: f64,
}

#[derive(PartialEq)]
struct Item(f64, usize);
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}

const STD_D: [f64; 10] = [0.4, 0.5, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0];

fn size(q: f64, ground_slope: f64) -> (Shape, f64, f64, f64) {
    for d in STD_D {
        let smin = 1.0 / (d * 1000.0);
        let s = ground_slope.max(smin);
        let sh = Shape::Circular { d };
        let cap = manning_full_flow(&sh, 0.013, s);
        if cap >= q {
            return (sh, 0.013, s, cap);
        }
    }
    let s = ground_slope.max(0.0005);
    for w in [2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0] {
        let sh = Shape::RectClosed { h: 2.5, w };
        let cap = manning_full_flow(&sh, 0.015, s);
        if cap >= q {
            return (sh, 0.015, s, cap);
        }
    }
    let s = ground_slope.max(0.0003);
    let mut w = 4.0;
    loop {
        let sh = Shape::Trapezoidal { h: 3.0, w, z: 1.5 };
        let cap = manning_full_flow(&sh, 0.025, s);
        if cap >= q || w > 60.0 {
            return (sh, 0.025, s, cap);
        }
        w += 1.0;
    }
}

/// Designs the network on the street graph, draining to one pumping station.
pub fn design(st: &Streets, t: &Terrain, catchments: &[Catchment], station: [f64; 2]) -> Sewer {
    let rim: Vec<f64> = st.nodes.iter().map(|p| t.ground(p[0], p[1])).collect();
    let edges: Vec<(usize, usize, f64)> = st
        .segments
        .iter()
        .map(|s| {
            let l = ((st.nodes[s.a][0] - st.nodes[s.b][0]).powi(2)
                + (st.nodes[s.a][1] - st.nodes[s.b][1]).powi(2))
            .sqrt();
            (s.a, s.b, l)
        })
        .collect();
    let n = st.nodes.len();
    let mut linked = vec![false; n];
    for &(a, b, _) in &edges {
        linked[a] = true;
        linked[b] = true;
    }
    let outlet = (0..n)
        .filter(|&i| linked[i])
        .min_by(|&a, &b| {
            let da = (st.nodes[a][0] - station[0]).hypot(st.nodes[a][1] - station[1]);
            let db = (st.nodes[b][0] - station[0]).hypot(st.nodes[b][1] - station[1]);
            da.total_cmp(&db).then(a.cmp(&b))
        })
        .expect("street nodes");
    let d = design_on(
        &st.nodes,
        &edges,
        rim,
        catchments,
        &[Sink {
            node: outlet,
            pos: station,
        }],
    );
    Sewer {
        invert: d.invert,
        rim: d.rim,
        pipes: d.pipes,
        outlet,
        wet_well_invert: d.sink_invert[0],
        q_station: d.sink_q[0],
    }
}

/// Where a tree of pipes ends: the street node its last pipe leaves from and the point the
/// pipe runs to (a pumping station's wet well or an outfall).
#[derive(Debug, Clone, Copy)]
pub struct Sink {
    /// Street node of the last manhole.
    pub node: usize,
    /// Position of the station or outfall.
    pub pos: [f64; 2],
}

/// A network designed on any street graph, draining to one or more sinks.
#[derive(Debug, Clone)]
pub struct Design {
    /// Manhole invert per node (`None` where the node reaches no sink).
    pub invert: Vec<Option<f64>>,
    /// Ground (rim) per node.
    pub rim: Vec<f64>,
    /// Pipes; `to == None` ends at the sink of `sink_of[from]`.
    pub pipes: Vec<Pipe>,
    /// The sink each node drains to (`None` where it reaches none).
    pub sink_of: Vec<Option<usize>>,
    /// Invert at each sink: the lowest arriving pipe end less 0.5 m.
    pub sink_invert: Vec<f64>,
    /// Design flow arriving at each sink, m³/s.
    pub sink_q: Vec<f64>,
}

/// Designs pipes on a street graph (`edges`: node pairs and lengths, m) with ground `rim` per
/// node: every node drains along its shortest path to the nearest sink; flows by the
/// rational method from `catchments`; pipes sized and laid as the module header says.
pub fn design_on(
    nodes: &[[f64; 2]],
    edges: &[(usize, usize, f64)],
    rim: Vec<f64>,
    catchments: &[Catchment],
    sinks: &[Sink],
) -> Design {
    let n = nodes.len();
    let mut adj: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for &(a, b, l) in edges {
        adj[a].push((b, l));
        adj[b].push((a, l));
    }
    // Dijkstra from the sinks: each node drains toward the nearest along its shortest path.
    let mut dist = vec![f64::INFINITY; n];
    let mut parent: Vec<Option<(usize, f64)>> = vec![None; n];
    let mut sink_of: Vec<Option<usize>> = vec![None; n];
    let mut heap = BinaryHeap::new();
    for (k, s) in sinks.iter().enumerate() {
        if dist[s.node] > 0.0 {
            dist[s.node] = 0.0;
            sink_of[s.node] = Some(k);
            heap.push(Item(0.0, s.node));
        }
    }
    while let Some(Item(d, u)) = heap.pop() {
        if d > dist[u] {
            continue;
        }
        for &(v, l) in &adj[u] {
            if d + l < dist[v] {
                dist[v] = d + l;
                parent[v] = Some((u, l));
                sink_of[v] = sink_of[u];
                heap.push(Item(d + l, v));
            }
        }
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| dist[i].is_finite()).collect();
    order.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
    // Accumulate C·A and time of concentration from the leaves down.
    let mut ca = vec![0.0; n];
    for c in catchments {
        ca[c.outlet] += c.area_ha * (0.9 * c.imperv + 0.2 * (1.0 - c.imperv));
    }
    let mut tc = vec![10.0f64; n];
    let mut pipe_of: Vec<Option<usize>> = vec![None; n];
    let mut pipes: Vec<Pipe> = Vec::new();
    for &i in &order {
        let q = ca[i] * design_intensity(tc[i], 2.0) / 1000.0;
        let (to, length) = match parent[i] {
            Some((p, l)) => (Some(p), l),
            None => {
                let s = sinks[sink_of[i].expect("a root is a sink")].pos;
                (
                    None,
                    (nodes[i][0] - s[0]).hypot(nodes[i][1] - s[1]).max(20.0),
                )
            }
        };
        let g_down = to.map(|p| rim[p]).unwrap_or(rim[i] - 0.5);
        let gs = ((rim[i] - g_down) / length).max(0.0);
        let (shape, nn, slope, cap) = size(q.max(0.01), gs);
        pipe_of[i] = Some(pipes.len());
        pipes.push(Pipe {
            from: i,
            to,
            length,
            shape,
            n: nn,
            q_design: q,
            q_full: cap,
            out_offset: 0.0,
            slope,
        });
        if let Some(p) = to {
            ca[p] += ca[i];
            tc[p] = tc[p].max(tc[i] + length / 60.0);
        }
    }
    // Inverts from the leaves down: a node sits below its own outgoing pipe's cover and
    // below every incoming pipe's downstream end.
    let mut invert: Vec<Option<f64>> = vec![None; n];
    let mut incoming_low: Vec<f64> = vec![f64::INFINITY; n];
    let mut sink_invert = vec![f64::INFINITY; sinks.len()];
    for &i in &order {
        let p = &pipes[pipe_of[i].unwrap()];
        let inv = (rim[i] - 1.2 - p.shape.height()).min(incoming_low[i]);
        invert[i] = Some(inv);
        let down_end = inv - p.slope * p.length;
        match p.to {
            Some(j) => incoming_low[j] = incoming_low[j].min(down_end),
            None => {
                let k = sink_of[i].unwrap();
                sink_invert[k] = sink_invert[k].min(down_end - 0.5);
            }
        }
    }
    for p in pipes.iter_mut() {
        let down_end = invert[p.from].unwrap() - p.slope * p.length;
        p.out_offset = match p.to {
            Some(j) => (down_end - invert[j].unwrap()).max(0.0),
            None => (down_end - sink_invert[sink_of[p.from].unwrap()]).max(0.0),
        };
    }
    let mut sink_q = vec![0.0; sinks.len()];
    for p in pipes.iter().filter(|p| p.to.is_none()) {
        sink_q[sink_of[p.from].unwrap()] += p.q_design;
    }
    Design {
        invert,
        rim,
        pipes,
        sink_of,
        sink_invert,
        sink_q,
    }
}

/// A designed pipe's attributes on its conduit feature, named `C{k}`, from manhole
/// `MH{from}` to `to_name`.
pub fn conduit_feature(f: Feature, k: usize, p: &Pipe, to_name: String) -> Feature {
    let (shape, g1, g2) = match p.shape {
        Shape::Circular { d } => ("circular", d, 0.0),
        Shape::RectClosed { h, w } => ("rect_closed", h, w),
        Shape::RectOpen { h, w } => ("rect_open", h, w),
        Shape::Trapezoidal { h, w, .. } => ("trapezoidal", h, w),
    };
    let r3 = |v: f64| (v * 1000.0).round() / 1000.0;
    let mut f = f
        .with_name(format!("C{k}"))
        .with("from_node", format!("MH{}", p.from))
        .with("to_node", to_name)
        .with("shape", shape)
        .with("geom1_m", g1)
        .with("roughness_n", p.n)
        .with("length_m", (p.length * 100.0).round() / 100.0)
        .with("out_offset_m", r3(p.out_offset))
        .with("design_flow_m3s", r3(p.q_design))
        .with("full_flow_m3s", r3(p.q_full));
    if g2 > 0.0 {
        f = f.with("geom2_m", g2);
    }
    if shape == "trapezoidal" {
        f = f.with("side_slope", 1.5);
    }
    f
}
