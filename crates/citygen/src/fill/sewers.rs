//! A sewer network designed on the real streets, for a city whose drainage network is not
//! given. The pipes are sized as the demo district's are (`crate::sewer`: the rational method
//! with Hanoi's design-storm formula, TCVN 7957:2008, 2-year return period); here:
//!
//! - Manholes at every road junction and at the low points along a road (a point more than
//!   30 m from both ends whose ground lies at least 5 cm below both ends, sampled every 10 m):
//!   the inlets sit where the water gathers.
//! - Subcatchments: 100 m squares of land, each draining to its nearest manhole; impervious
//!   share from the buildings and roads in it (× 1.15 for yards and paving, 30–95 %), as the
//!   demo district's blocks.
//! - Outlets: every lake or river of at least 1 ha with a known level receives the pipes from
//!   the manhole nearest its shore (within 300 m); each manhole drains along the streets to
//!   the nearest outlet. Where the trunk arrives above the receiving water's level it
//!   discharges by gravity through a flap gate; where it arrives below, a pumping station
//!   lifts it (wet well, four units of together 1.1 m³/s per km² served, a regulating pond of
//!   50,000 m³ per km² over a 2 m rise: the ratios of Yên Sở, as the demo district's).

use super::{DESIGNED, Note, mark_designed};
use crate::sewer::{Catchment, Sink, design_on};
use geo::{Area, Centroid, Contains, Distance, Euclidean, Geometry, LineString, Point};
use twin_model::{City, Feature, FeatureId, Layer, RoadGraph};

/// Side of a designed subcatchment, m.
pub const SUBCATCHMENT_M: f64 = 100.0;

struct Receiver {
    name: String,
    level: f64,
    geom: Geometry<f64>,
}

/// Designs the network where the Utility layer has none. Needs the DEM.
pub fn design(city: &mut City) -> Vec<Note> {
    let util = city.layer(Layer::Utility);
    if util
        .features()
        .iter()
        .any(|f| matches!(f.kind.as_str(), "conduit" | "manhole"))
    {
        return vec![Note::made(
            "drainage network kept as surveyed",
            util.features()
                .iter()
                .filter(|f| f.kind == "conduit")
                .count(),
            "the city already has conduits or manholes",
        )];
    }
    let Some(dem) = city.dem.clone() else {
        return vec![Note::warn("no DEM: no sewer network designed", 0, "")];
    };
    let ground = |p: [f64; 2]| dem.sample(p[0], p[1]);
    let in_water: Vec<Geometry<f64>> = city
        .layer(Layer::Environment)
        .features()
        .iter()
        .filter(|f| matches!(f.kind.as_str(), "water" | "river"))
        .map(|f| f.geometry.clone())
        .collect();
    let bridges: std::collections::HashSet<FeatureId> = city
        .layer(Layer::TrafficRoad)
        .features()
        .iter()
        .filter(|f| twin_model::roads::is_bridge(f))
        .map(|f| f.id)
        .collect();
    // Street graph, undirected, on the DEM, off the water (bridges carry no sewer).
    let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    let mut nodes: Vec<[f64; 2]> = Vec::new();
    let mut index: Vec<Option<usize>> = vec![None; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        let p = Point::new(n.pos[0], n.pos[1]);
        if ground(n.pos).is_some() && !in_water.iter().any(|w| w.contains(&p)) {
            index[i] = Some(nodes.len());
            nodes.push(n.pos);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut edges: Vec<(usize, usize, f64)> = Vec::new();
    let mut low_points = 0usize;
    for l in &g.links {
        let (Some(a), Some(b)) = (index[l.from.0 as usize], index[l.to.0 as usize]) else {
            continue;
        };
        if bridges.contains(&l.feature) {
            continue;
        }
        if !seen.insert((a.min(b), a.max(b))) {
            continue;
        }
        // The lowest point along the road, sampled every 10 m.
        let pts = sample_line(&l.geometry, 10.0);
        let mut low: Option<(usize, f64)> = None;
        let (ga, gb) = (ground(nodes[a]).unwrap(), ground(nodes[b]).unwrap());
        for (k, (p, s)) in pts.iter().enumerate() {
            if *s < 30.0 || *s > l.length_m - 30.0 {
                continue;
            }
            if let Some(z) = ground(*p)
                && z < ga.min(gb) - 0.05
                && low.is_none_or(|(_, zl)| z < zl)
            {
                low = Some((k, z));
            }
        }
        match low {
            Some((k, _)) => {
                let (p, s) = pts[k];
                let m = nodes.len();
                nodes.push(p);
                edges.push((a, m, s));
                edges.push((m, b, l.length_m - s));
                low_points += 1;
            }
            None => edges.push((a, b, l.length_m)),
        }
    }
    if nodes.is_empty() {
        return vec![Note::warn(
            "no road on the DEM: no sewer network designed",
            0,
            "",
        )];
    }
    let rim: Vec<f64> = nodes.iter().map(|p| ground(*p).unwrap()).collect();
    // Receiving waters.
    let receivers: Vec<Receiver> = city
        .layer(Layer::Environment)
        .features()
        .iter()
        .filter(|f| matches!(f.kind.as_str(), "water" | "river" | "riverbank"))
        .filter(|f| f.geometry.unsigned_area() >= 10_000.0)
        .filter_map(|f| {
            let level = f.num("level_m").or(f.num("stage_m"))?;
            Some(Receiver {
                name: f
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{} {}", f.kind, f.id.0)),
                level,
                geom: f.geometry.clone(),
            })
        })
        .collect();
    let tree = rstar::RTree::bulk_load(
        nodes
            .iter()
            .enumerate()
            .map(|(i, p)| rstar::primitives::GeomWithData::new(*p, i))
            .collect(),
    );
    let mut sinks: Vec<Sink> = Vec::new();
    let mut sink_rx: Vec<usize> = Vec::new();
    for (k, r) in receivers.iter().enumerate() {
        // The node nearest the shore: search nodes within 300 m of the polygon's box.
        let Some(bb) = geo::BoundingRect::bounding_rect(&r.geom) else {
            continue;
        };
        let env = rstar::AABB::from_corners(
            [bb.min().x - 300.0, bb.min().y - 300.0],
            [bb.max().x + 300.0, bb.max().y + 300.0],
        );
        let best = tree
            .locate_in_envelope(&env)
            .map(|n| {
                let p = Point::new(n.geom()[0], n.geom()[1]);
                let d = if r.geom.contains(&p) {
                    0.0
                } else {
                    Euclidean.distance(&p, &r.geom)
                };
                (d, n.data)
            })
            .filter(|(d, _)| *d <= 300.0)
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        if let Some((_, n)) = best {
            if sinks.iter().any(|s| s.node == n) {
                continue;
            }
            // The outfall stands on the shore, 20 m from the manhole toward the water.
            let c = r
                .geom
                .centroid()
                .map(|c| [c.x(), c.y()])
                .unwrap_or(nodes[n]);
            let (dx, dy) = (c[0] - nodes[n][0], c[1] - nodes[n][1]);
            let len = dx.hypot(dy).max(1e-9);
            sinks.push(Sink {
                node: n,
                pos: [nodes[n][0] + 20.0 * dx / len, nodes[n][1] + 20.0 * dy / len],
            });
            sink_rx.push(k);
        }
    }
    if sinks.is_empty() {
        return vec![Note::warn(
            "no lake or river of 1 ha with a level within 300 m of a road: no sewer network designed",
            0,
            "add the receiving waters (OSM natural=water, waterway=riverbank) with their levels",
        )];
    }
    // Subcatchments on the land, each to its nearest manhole.
    let water: Vec<&Geometry<f64>> = receivers.iter().map(|r| &r.geom).collect();
    let bb = dem.bbox();
    let (nx, ny) = super::squares(bb, SUBCATCHMENT_M).0;
    let mut built = vec![0.0f64; nx * ny];
    let square_of = |p: [f64; 2]| -> Option<usize> {
        let c = ((p[0] - bb[0][0]) / SUBCATCHMENT_M).floor();
        let r = ((p[1] - bb[0][1]) / SUBCATCHMENT_M).floor();
        (c >= 0.0 && r >= 0.0 && (c as usize) < nx && (r as usize) < ny)
            .then(|| r as usize * nx + c as usize)
    };
    for f in city.layer(Layer::Building).features() {
        if let Some(s) = super::centre(&f.geometry).and_then(square_of) {
            built[s] += f.geometry.unsigned_area();
        }
    }
    for l in &g.links {
        let mid = sample_line(&l.geometry, l.length_m / 2.0);
        if let Some(s) = mid.get(1).and_then(|(p, _)| square_of(*p)) {
            // Both directions of a two-way road are links: half a width each.
            built[s] += l.length_m * 3.5 * l.lanes as f64;
        }
    }
    let mut catchments = Vec::new();
    let mut squares = Vec::new();
    for (sq, [x0, y0, x1, y1]) in super::squares(bb, SUBCATCHMENT_M).1 {
        let mid = Point::new((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        if water.iter().any(|w| w.contains(&mid)) || ground([mid.x(), mid.y()]).is_none() {
            continue;
        }
        let Some(n) = tree.nearest_neighbor(&[mid.x(), mid.y()]) else {
            continue;
        };
        let area = (x1 - x0) * (y1 - y0);
        let imperv = (built[sq] / area * 1.15).clamp(0.3, 0.95);
        catchments.push(Catchment {
            outlet: n.data,
            area_ha: area / 10_000.0,
            imperv,
        });
        squares.push(([x0, y0, x1, y1], n.data, imperv, area));
    }
    let d = design_on(&nodes, &edges, rim, &catchments, &sinks);
    // Features.
    let mut next = city.next_id(Layer::Utility).0;
    let mut out: Vec<Feature> = Vec::new();
    let mut put = |kind: &str, g: Geometry<f64>| {
        next += 1;
        Feature::new(FeatureId(next), kind, Layer::Utility.default_owner(), g)
            .with("source", DESIGNED)
    };
    let pt = |p: [f64; 2]| -> Geometry<f64> { Point::new(p[0], p[1]).into() };
    let line = |a: [f64; 2], b: [f64; 2]| -> Geometry<f64> {
        LineString::from(vec![(a[0], a[1]), (b[0], b[1])]).into()
    };
    let r3 = |v: f64| (v * 1000.0).round() / 1000.0;
    let mut manholes = 0;
    for (i, inv) in d.invert.iter().enumerate() {
        if let Some(inv) = inv {
            out.push(
                put("manhole", pt(nodes[i]))
                    .with_name(format!("MH{i}"))
                    .with("invert_m", r3(*inv))
                    .with("rim_m", r3(d.rim[i])),
            );
            manholes += 1;
        }
    }
    let mut served = vec![0.0f64; sinks.len()];
    let mut n_sub = 0;
    for (k, (sq, outlet, imperv, area)) in squares.iter().enumerate() {
        let Some(s) = d.sink_of[*outlet] else {
            continue;
        };
        served[s] += area / 1e6;
        let [x0, y0, x1, y1] = *sq;
        let poly = geo::Polygon::new(
            LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        );
        let slope = ((ground([x0, y0]).unwrap_or(0.0) - ground([x1, y1]).unwrap_or(0.0)).abs()
            / (x1 - x0).hypot(y1 - y0)
            * 100.0)
            .max(0.2);
        out.push(
            put("subcatchment", poly.into())
                .with_name(format!("SC{k}"))
                .with("outlet", format!("MH{outlet}"))
                .with("imperv_pct", (imperv * 1000.0).round() / 10.0)
                .with("width_m", area.sqrt())
                .with("slope_pct", (slope * 100.0).round() / 100.0),
        );
        n_sub += 1;
    }
    let mut pumped = 0;
    let mut sink_names = Vec::new();
    for (s, sink) in sinks.iter().enumerate() {
        let rx = &receivers[sink_rx[s]];
        let inv = d.sink_invert[s] + 0.5;
        let of = format!("CX{s}");
        let pos_of = {
            let (dx, dy) = (
                sink.pos[0] - nodes[sink.node][0],
                sink.pos[1] - nodes[sink.node][1],
            );
            [sink.pos[0] + dx, sink.pos[1] + dy]
        };
        let gravity = inv >= rx.level;
        out.push(
            put("outfall", pt(pos_of))
                .with_name(of.clone())
                .with(
                    "invert_m",
                    r3(if gravity { d.sink_invert[s] } else { rx.level }),
                )
                .with("outfall_type", "fixed")
                .with("stage_m", r3(rx.level))
                .with("flap_gate", true)
                .with("receives", rx.name.clone()),
        );
        if gravity {
            // Gravity: the trunk's last pipe ends at the outfall.
            sink_names.push((of.clone(), of));
            continue;
        }
        pumped += 1;
        let ww = format!("TB{s}_WetWell");
        let basin = format!("BX{s}");
        let ground_ww = ground(sink.pos).unwrap_or(d.rim[sink.node]);
        let pond = (served[s] * 50_000.0 / 2.0 / 100.0).round().max(1.0) * 100.0;
        let half = (pond.sqrt() / 2.0).max(5.0);
        let (cx, cy) = (sink.pos[0], sink.pos[1]);
        out.push(
            put(
                "storage",
                geo::Polygon::new(
                    LineString::from(vec![
                        (cx - half, cy - half),
                        (cx + half, cy - half),
                        (cx + half, cy + half),
                        (cx - half, cy + half),
                        (cx - half, cy - half),
                    ]),
                    vec![],
                )
                .into(),
            )
            .with_name(ww.clone())
            .with("invert_m", r3(d.sink_invert[s]))
            .with("rim_m", r3(ground_ww))
            .with("area_m2", pond)
            .with(
                "label",
                format!("Trạm bơm thiết kế / Designed pumping station → {}", rx.name),
            ),
        );
        let basin_pos = [(cx + pos_of[0]) / 2.0, (cy + pos_of[1]) / 2.0];
        out.push(
            put("manhole", pt(basin_pos))
                .with_name(basin.clone())
                .with("invert_m", r3(rx.level + 0.5))
                .with("rim_m", r3(ground_ww.max(rx.level + 2.0)))
                .with("label", "Bể xả / Discharge basin"),
        );
        out.push(
            put("conduit", line(basin_pos, pos_of))
                .with_name(format!("C_Out{s}"))
                .with("from_node", basin.clone())
                .with("to_node", format!("CX{s}"))
                .with("shape", "rect_closed")
                .with("geom1_m", 2.5)
                .with("geom2_m", 3.0)
                .with("roughness_n", 0.015)
                .with("length_m", 10.0),
        );
        let unit = ((served[s] * 1.1 / 4.0) * 100.0).round().max(1.0) / 100.0;
        for k in 0..4 {
            out.push(
                put("pump", line(sink.pos, basin_pos))
                    .with_name(format!("P{s}_{}", k + 1))
                    .with("from_node", ww.clone())
                    .with("to_node", basin.clone())
                    .with("capacity_m3s", unit)
                    .with("on_depth_m", 0.6 + 0.2 * k as f64)
                    .with("off_depth_m", 0.5),
            );
        }
        sink_names.push((ww, of));
    }
    for (k, p) in d.pipes.iter().enumerate() {
        let (to_name, to_pos) = match p.to {
            Some(j) => (format!("MH{j}"), nodes[j]),
            None => {
                let s = d.sink_of[p.from].unwrap();
                let pos = if sink_names[s].0 == sink_names[s].1 {
                    let (dx, dy) = (
                        sinks[s].pos[0] - nodes[sinks[s].node][0],
                        sinks[s].pos[1] - nodes[sinks[s].node][1],
                    );
                    [sinks[s].pos[0] + dx, sinks[s].pos[1] + dy]
                } else {
                    sinks[s].pos
                };
                (sink_names[s].0.clone(), pos)
            }
        };
        let f = crate::sewer::conduit_feature(
            put("conduit", line(nodes[p.from], to_pos)),
            k,
            p,
            to_name,
        );
        out.push(f);
    }
    let n_pipes = d.pipes.len();
    city.layer_mut(Layer::Utility).extend(out);
    let rule = "rational method, TCVN 7957:2008 Hanoi storm, P = 2 y, on the streets; manholes at junctions and road low points; outlets to lakes and rivers, pumped where the trunk arrives below the water";
    for kind in [
        "manhole",
        "conduit",
        "subcatchment",
        "outfall",
        "pump",
        "storage",
    ] {
        mark_designed(city, Layer::Utility, kind, rule);
    }
    let unserved = nodes.len() - d.invert.iter().filter(|v| v.is_some()).count();
    let mut notes = vec![Note::made(
        format!(
            "sewer network: {manholes} manholes ({low_points} at road low points), {n_pipes} pipes, {n_sub} subcatchments, {} outlets ({pumped} pumped)",
            sinks.len()
        ),
        n_pipes,
        rule,
    )];
    if unserved > 0 {
        notes.push(Note::warn(
            "street nodes on roads not connected to any outlet: no manhole",
            unserved,
            "their water stays on the surface",
        ));
    }
    notes
}

/// Points every `step` metres along a line, with their distance from the start (the start
/// and the end included).
fn sample_line(ls: &LineString<f64>, step: f64) -> Vec<([f64; 2], f64)> {
    let mut out = Vec::new();
    let mut s0 = 0.0;
    let mut next = 0.0;
    for w in ls.0.windows(2) {
        let (a, b) = (w[0], w[1]);
        let len = (b.x - a.x).hypot(b.y - a.y);
        while next <= s0 + len && len > 0.0 {
            let t = (next - s0) / len;
            out.push(([a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)], next));
            next += step.max(0.1);
        }
        s0 += len;
    }
    if let Some(l) = ls.0.last()
        && out.last().is_none_or(|(_, s)| *s < s0)
    {
        out.push(([l.x, l.y], s0));
    }
    out
}
