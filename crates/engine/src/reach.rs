//! Reach of the emergency services: the travel time over the road network from the nearest
//! fire station, hospital and police station to every population block, before the flood and
//! at its worst (roads closed by the water cut, slowed roads at their flooded speed), and the
//! residents left beyond each service's response standard.
//!
//! Travel is at each road's free-flow speed (no congestion, no priority for emergency
//! vehicles), from the road node nearest the facility to the road node nearest the block's
//! centroid.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use geo::Centroid;
use twin_model::{City, FeatureId, Layer, RoadGraph};

use crate::impacts::RoadImpact;

/// A response standard: a kind of facility and the travel time it should reach people in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standard {
    /// Feature kind (`fire_station`, `hospital`, `police`).
    pub kind: &'static str,
    /// Layer the facilities are in.
    pub layer: Layer,
    /// Travel time the residents should be within, s.
    pub limit_s: f64,
    /// Vietnamese and English name.
    pub label: (&'static str, &'static str),
}

/// The standards reach is judged by: 10 minutes for a fire station, 15 for a hospital, 10 for a
/// police station.
pub const STANDARDS: [Standard; 3] = [
    Standard {
        kind: "fire_station",
        layer: Layer::Security,
        limit_s: 600.0,
        label: ("Phòng cháy chữa cháy", "Fire station"),
    },
    Standard {
        kind: "hospital",
        layer: Layer::PublicService,
        limit_s: 900.0,
        label: ("Bệnh viện", "Hospital"),
    },
    Standard {
        kind: "police",
        layer: Layer::Security,
        limit_s: 600.0,
        label: ("Công an", "Police"),
    },
];

/// One standard's reach over the city.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServiceReach {
    /// Feature kind.
    pub kind: String,
    /// The standard, minutes.
    pub limit_min: f64,
    /// Facilities of the kind on the road network.
    pub facilities: usize,
    /// Residents of the population blocks.
    pub residents: f64,
    /// Residents beyond the standard (or with no route) before the flood.
    pub beyond_before: f64,
    /// Residents beyond the standard (or with no route) at the flood's worst.
    pub beyond_during: f64,
    /// Residents with no route at all from any facility of the kind at the flood's worst.
    pub cut_off_during: f64,
    /// Mean travel time of the residents with a route, minutes, before and at the worst.
    pub mean_min: [f64; 2],
}

/// One population block's travel times, s (`None`: no route).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockReach {
    /// The block.
    pub feature: FeatureId,
    /// Its residents.
    pub residents: f64,
    /// Per standard (in [`STANDARDS`] order): before and at the flood's worst.
    pub times_s: Vec<[Option<f64>; 2]>,
}

/// Reach of every standard and of every block.
#[derive(Debug, Clone, PartialEq)]
pub struct Reach {
    /// Per standard, in [`STANDARDS`] order.
    pub services: Vec<ServiceReach>,
    /// Per population block.
    pub blocks: Vec<BlockReach>,
}

/// The road node nearest a point (among nodes with a link), by straight distance; ties to the
/// lower index.
fn nearest_node(graph: &RoadGraph, linked: &[bool], p: [f64; 2]) -> Option<usize> {
    let mut best: Option<(f64, usize)> = None;
    for (i, n) in graph.nodes.iter().enumerate() {
        if !linked[i] {
            continue;
        }
        let d = (n.pos[0] - p[0]).powi(2) + (n.pos[1] - p[1]).powi(2);
        if best.is_none_or(|(b, _)| d < b) {
            best = Some((d, i));
        }
    }
    best.map(|(_, i)| i)
}

/// Shortest travel times from several sources over links with the given times (`None`: cut).
pub fn travel_times(graph: &RoadGraph, link_s: &[Option<f64>], sources: &[usize]) -> Vec<f64> {
    let mut dist = vec![f64::INFINITY; graph.nodes.len()];
    // Times are ≥ 0, so their bit patterns order as the numbers do.
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    for &s in sources {
        dist[s] = 0.0;
        heap.push(Reverse((0f64.to_bits(), s)));
    }
    while let Some(Reverse((bits, n))) = heap.pop() {
        let d = f64::from_bits(bits);
        if d > dist[n] {
            continue;
        }
        for &l in graph.out_links(twin_model::roads::NodeId(n as u32)) {
            let Some(t) = link_s[l.0 as usize] else {
                continue;
            };
            let to = graph.links[l.0 as usize].to.0 as usize;
            let nd = d + t;
            if nd < dist[to] {
                dist[to] = nd;
                heap.push(Reverse((nd.to_bits(), to)));
            }
        }
    }
    dist
}

/// Reach before the flood and at its worst, given each road's worst state (`impacts`).
pub fn reach(city: &City, impacts: &[RoadImpact]) -> Reach {
    let graph = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    let mut linked = vec![false; graph.nodes.len()];
    for l in &graph.links {
        linked[l.from.0 as usize] = true;
        linked[l.to.0 as usize] = true;
    }
    let state: HashMap<FeatureId, &RoadImpact> = impacts.iter().map(|i| (i.feature, i)).collect();
    let before: Vec<Option<f64>> = graph
        .links
        .iter()
        .map(|l| Some(l.length_m / (l.speed_kmh / 3.6)))
        .collect();
    let during: Vec<Option<f64>> = graph
        .links
        .iter()
        .map(|l| match state.get(&l.feature) {
            Some(i) if i.flooded_kmh <= 0.0 => None,
            Some(i) if i.free_kmh > 0.0 && i.flooded_kmh < i.free_kmh => {
                let kmh = l.speed_kmh * i.flooded_kmh / i.free_kmh;
                Some(l.length_m / (kmh / 3.6))
            }
            _ => Some(l.length_m / (l.speed_kmh / 3.6)),
        })
        .collect();
    let blocks: Vec<(FeatureId, f64, Option<usize>)> = city
        .layer(Layer::Population)
        .features()
        .iter()
        .filter(|f| f.kind == "population_block")
        .map(|f| {
            let node = f
                .geometry
                .centroid()
                .and_then(|c| nearest_node(&graph, &linked, [c.x(), c.y()]));
            (f.id, f.num("residents").unwrap_or(0.0), node)
        })
        .collect();
    let mut out = Reach {
        services: Vec::new(),
        blocks: blocks
            .iter()
            .map(|(id, people, _)| BlockReach {
                feature: *id,
                residents: *people,
                times_s: Vec::new(),
            })
            .collect(),
    };
    for st in STANDARDS {
        let mut sources: Vec<usize> = city
            .layer(st.layer)
            .features()
            .iter()
            .filter(|f| f.kind == st.kind)
            .filter_map(|f| {
                let c = f.geometry.centroid()?;
                nearest_node(&graph, &linked, [c.x(), c.y()])
            })
            .collect();
        sources.sort_unstable();
        sources.dedup();
        let times = [
            travel_times(&graph, &before, &sources),
            travel_times(&graph, &during, &sources),
        ];
        let mut s = ServiceReach {
            kind: st.kind.into(),
            limit_min: st.limit_s / 60.0,
            facilities: sources.len(),
            residents: 0.0,
            beyond_before: 0.0,
            beyond_during: 0.0,
            cut_off_during: 0.0,
            mean_min: [0.0; 2],
        };
        let mut reached = [0.0; 2];
        for ((_, people, node), b) in blocks.iter().zip(out.blocks.iter_mut()) {
            let t = [0, 1].map(|k| node.map(|n| times[k][n]).filter(|t| t.is_finite()));
            s.residents += people;
            for k in 0..2 {
                match t[k] {
                    Some(v) => {
                        s.mean_min[k] += people * v / 60.0;
                        reached[k] += people;
                        if v > st.limit_s {
                            if k == 0 {
                                s.beyond_before += people;
                            } else {
                                s.beyond_during += people;
                            }
                        }
                    }
                    None if k == 0 => s.beyond_before += people,
                    None => {
                        s.beyond_during += people;
                        s.cut_off_during += people;
                    }
                }
            }
            b.times_s.push(t);
        }
        for (m, n) in s.mean_min.iter_mut().zip(reached) {
            if n > 0.0 {
                *m /= n;
            }
        }
        out.services.push(s);
    }
    out
}

/// `reach.csv`: each block's residents and travel times (minutes; empty: no route) from each
/// kind of facility, before the flood and at its worst.
pub fn reach_csv(r: &Reach) -> String {
    let mut text = String::from("block,residents");
    for st in STANDARDS {
        text += &format!(",{0}_before_min,{0}_during_min", st.kind);
    }
    text.push('\n');
    for b in &r.blocks {
        text += &format!("{},{:.0}", b.feature.0, b.residents);
        for t in &b.times_s {
            for v in t {
                text += &match v {
                    Some(s) => format!(",{:.2}", s / 60.0),
                    None => ",".into(),
                };
            }
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_model::{Crs, Department, Feature};

    /// A street of three 600 m links west to east at 36 km/h (60 s each), a fire station at the
    /// west end and a block of 100 residents at each node.
    fn town() -> City {
        let mut city = City::new("t", Crs::VN2000_UTM48N);
        city.layer_mut(Layer::TrafficRoad).extend((0..3).map(|k| {
            let x0 = k as f64 * 600.0;
            Feature::new(
                FeatureId(k + 1),
                "road",
                Department::Construction,
                geo::LineString::from(vec![(x0, 0.0), (x0 + 600.0, 0.0)]).into(),
            )
            .with("maxspeed_kmh", 36.0)
        }));
        city.layer_mut(Layer::Security).extend([Feature::new(
            FeatureId(10),
            "fire_station",
            Department::Construction,
            geo::Point::new(-10.0, 5.0).into(),
        )]);
        city.layer_mut(Layer::Population).extend((0..4).map(|k| {
            let x = k as f64 * 600.0;
            Feature::new(
                FeatureId(20 + k),
                "population_block",
                Department::Construction,
                geo::Polygon::new(
                    geo::LineString::from(vec![
                        (x - 5.0, 5.0),
                        (x + 5.0, 5.0),
                        (x + 5.0, 15.0),
                        (x - 5.0, 15.0),
                        (x - 5.0, 5.0),
                    ]),
                    vec![],
                )
                .into(),
            )
            .with("residents", 100.0)
        }));
        city
    }

    #[test]
    fn a_closed_road_cuts_the_blocks_beyond_it_and_a_slowed_one_delays_them() {
        let city = town();
        let graph = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
        let per_link = graph.links[0].length_m / (graph.links[0].speed_kmh / 3.6);
        let r = reach(&city, &[]);
        let fire = &r.services[0];
        assert_eq!((fire.facilities, fire.residents), (1, 400.0));
        let times: Vec<f64> = r.blocks.iter().map(|b| b.times_s[0][0].unwrap()).collect();
        assert_eq!(times, [0.0, per_link, 2.0 * per_link, 3.0 * per_link]);
        assert_eq!(fire.beyond_before, fire.beyond_during);
        // The middle road closed: the two eastern blocks are cut off.
        let closed = RoadImpact {
            feature: FeatureId(2),
            name: None,
            max_depth_m: 0.5,
            free_kmh: 36.0,
            flooded_kmh: 0.0,
            flooded_length_m: 600.0,
        };
        let r = reach(&city, std::slice::from_ref(&closed));
        let fire = &r.services[0];
        assert_eq!((fire.cut_off_during, fire.beyond_during), (200.0, 200.0));
        assert_eq!(r.blocks[3].times_s[0], [Some(3.0 * per_link), None]);
        // Slowed to half speed: twice as long over that road.
        let slowed = RoadImpact {
            flooded_kmh: 18.0,
            ..closed
        };
        let r = reach(&city, &[slowed]);
        assert_eq!(
            r.blocks[3].times_s[0],
            [Some(3.0 * per_link), Some(4.0 * per_link)]
        );
        // No hospital: everyone is beyond its reach, before and during.
        assert_eq!(r.services[1].facilities, 0);
        assert_eq!(r.services[1].beyond_before, 400.0);
    }
}
