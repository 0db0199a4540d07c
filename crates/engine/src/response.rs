//! What the authorities can do to the traffic in a scenario: retime the signals along a road,
//! and divert traffic around the roads the flood closes — the diversions worked out and
//! reported (proposed), or put in place as soon as the water reaches a lower depth with the
//! drivers told (activated, [`crate::scenario::TrafficSpec::diversions`]).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use twin_model::{City, FeatureId, Layer, RoadGraph};
use twin_traffic::network::Network;
use twin_traffic::signal::Light;

/// The signals along a set of road features retimed to a share of the green time.
#[derive(Debug, Clone, PartialEq)]
pub struct Retime {
    /// Name of the road, for reports.
    pub road: String,
    /// Its features.
    pub features: Vec<FeatureId>,
    /// Share of each cycle's green time for the phases that give the road green.
    pub green_share: f64,
}

/// Retimes the plans of `net` (built from `g`) at every signal an approach of the road enters:
/// the green phases serving the road's approaches are scaled to `green_share` of the cycle's
/// green time, the other green phases to the rest, in proportion to their durations; amber and
/// all-red and the cycle length are kept. Returns the number of signals retimed (0 when the
/// road enters no signal, or every green phase of its signals serves it).
pub fn retime_signals(g: &RoadGraph, net: &mut Network, r: &Retime) -> usize {
    let on_road: HashSet<usize> = g
        .links
        .iter()
        .enumerate()
        .filter(|(_, l)| r.features.contains(&l.feature))
        .map(|(i, _)| i)
        .collect();
    // Light indices of each signal's movements coming off the road.
    let mut lights: HashMap<usize, Vec<usize>> = HashMap::new();
    for m in 0..net.movement_count() {
        if let Some((s, k)) = net.mv_signal[m]
            && on_road.contains(&net.mv_from[m].index())
        {
            lights.entry(s.index()).or_default().push(k as usize);
        }
    }
    let mut done = 0;
    let mut signals: Vec<usize> = lights.keys().copied().collect();
    signals.sort_unstable();
    for s in signals {
        let plan = &mut net.signals[s];
        let ks = &lights[&s];
        let green = |l: Light| matches!(l, Light::Green | Light::MinorGreen);
        let serves: Vec<Option<bool>> = plan
            .phases
            .iter()
            .map(|p| {
                p.lights.iter().any(|l| green(*l)).then(|| {
                    ks.iter()
                        .any(|&k| p.lights.get(k).is_some_and(|l| green(*l)))
                })
            })
            .collect();
        let sum = |want: bool| -> f64 {
            plan.phases
                .iter()
                .zip(&serves)
                .filter(|(_, s)| **s == Some(want))
                .map(|(p, _)| p.duration)
                .sum()
        };
        let (road, other) = (sum(true), sum(false));
        if road <= 0.0 || other <= 0.0 {
            continue;
        }
        let total = road + other;
        for (p, sv) in plan.phases.iter_mut().zip(&serves) {
            match sv {
                Some(true) => p.duration *= r.green_share * total / road,
                Some(false) => p.duration *= (1.0 - r.green_share) * total / other,
                None => {}
            }
        }
        plan.cycle = plan.phases.iter().map(|p| p.duration).sum();
        done += 1;
    }
    done
}

/// A diversion around a stretch of road the flood closes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Diversion {
    /// The closed road.
    pub road: String,
    /// Length of the closed stretch, m (one direction).
    pub closed_m: f64,
    /// Length of the way round, m.
    pub detour_m: f64,
    /// The roads of the way round, in order (each once).
    pub via: Vec<String>,
    /// Start and end of the closed stretch (m, the city's CRS).
    pub from: [f64; 2],
    /// End of the closed stretch.
    pub to: [f64; 2],
}

/// Diversions around the roads `closed` (features the flood closes at some time): for each
/// maximal closed stretch of each road in each direction, the shortest way by length from its
/// start to its end on the roads left open. A stretch with no way round is listed with an
/// infinite detour and no roads.
pub fn diversions(city: &City, g: &RoadGraph, closed: &BTreeSet<FeatureId>) -> Vec<Diversion> {
    let names: HashMap<FeatureId, String> = city
        .layer(Layer::TrafficRoad)
        .features()
        .iter()
        .map(|f| {
            (
                f.id,
                f.name.clone().unwrap_or_else(|| format!("road {}", f.id.0)),
            )
        })
        .collect();
    let name = |f: FeatureId| {
        names
            .get(&f)
            .cloned()
            .unwrap_or_else(|| format!("road {}", f.0))
    };
    let shut: Vec<bool> = g
        .links
        .iter()
        .map(|l| closed.contains(&l.feature))
        .collect();
    // Closed links of one road chained: a stretch starts at a closed link not entered from a
    // closed link of the same road.
    let mut next_of: HashMap<usize, usize> = HashMap::new();
    let mut has_prev: HashSet<usize> = HashSet::new();
    for (i, l) in g.links.iter().enumerate().filter(|(i, _)| shut[*i]) {
        let road = name(l.feature);
        for &o in g.out_links(l.to) {
            let o = o.0 as usize;
            let ol = &g.links[o];
            if shut[o] && ol.to != l.from && name(ol.feature) == road && !has_prev.contains(&o) {
                next_of.insert(i, o);
                has_prev.insert(o);
                break;
            }
        }
    }
    let mut out = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    let starts: Vec<usize> = (0..g.links.len())
        .filter(|i| shut[*i] && !has_prev.contains(i))
        .collect();
    // Chains with no start (closed loops) are left out: a loop has no way "round".
    for s in starts {
        let mut chain = vec![s];
        seen.insert(s);
        while let Some(&n) = next_of.get(chain.last().expect("non-empty")) {
            if !seen.insert(n) {
                break;
            }
            chain.push(n);
        }
        let a = g.links[s].from;
        let b = g.links[*chain.last().expect("non-empty")].to;
        let closed_m: f64 = chain.iter().map(|&i| g.links[i].length_m).sum();
        let (detour_m, path) = shortest(g, &shut, a.0 as usize, b.0 as usize);
        let mut via: Vec<String> = Vec::new();
        for l in path {
            let n = name(g.links[l].feature);
            if via.last() != Some(&n) && !via.contains(&n) {
                via.push(n);
            }
        }
        out.push(Diversion {
            road: name(g.links[s].feature),
            closed_m,
            detour_m,
            via,
            from: g.nodes[a.0 as usize].pos,
            to: g.nodes[b.0 as usize].pos,
        });
    }
    out.sort_by(|x, y| {
        y.closed_m
            .total_cmp(&x.closed_m)
            .then(x.road.cmp(&y.road))
            .then(x.from[0].total_cmp(&y.from[0]))
            .then(x.from[1].total_cmp(&y.from[1]))
    });
    out
}

/// Shortest path by length from node `a` to node `b` avoiding the `shut` links: its length and
/// links (infinite and empty if there is none).
fn shortest(g: &RoadGraph, shut: &[bool], a: usize, b: usize) -> (f64, Vec<usize>) {
    let mut dist = vec![f64::INFINITY; g.nodes.len()];
    let mut via: Vec<Option<usize>> = vec![None; g.nodes.len()];
    let mut heap = BinaryHeap::new();
    dist[a] = 0.0;
    heap.push(Reverse((ordered(0.0), a)));
    while let Some(Reverse((d, n))) = heap.pop() {
        let d = f64::from_bits(d);
        if d > dist[n] {
            continue;
        }
        if n == b {
            break;
        }
        for &l in g.out_links(twin_model::roads::NodeId(n as u32)) {
            let li = l.0 as usize;
            if shut[li] {
                continue;
            }
            let link = &g.links[li];
            let m = link.to.0 as usize;
            let nd = d + link.length_m;
            if nd < dist[m] {
                dist[m] = nd;
                via[m] = Some(li);
                heap.push(Reverse((ordered(nd), m)));
            }
        }
    }
    if !dist[b].is_finite() {
        return (f64::INFINITY, Vec::new());
    }
    let mut path = Vec::new();
    let mut n = b;
    while let Some(l) = via[n] {
        path.push(l);
        n = g.links[l].from.0 as usize;
    }
    path.reverse();
    (dist[b], path)
}

/// A non-negative f64 as bits that order like the number.
fn ordered(x: f64) -> u64 {
    x.to_bits()
}

/// `diversions.csv`: road, closed length, detour length, the way round.
pub fn diversions_csv(d: &[Diversion]) -> String {
    let mut s = String::from("road,closed_m,detour_m,via,from_x,from_y,to_x,to_y\n");
    let q = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    for x in d {
        s += &format!(
            "{},{:.0},{},{},{:.1},{:.1},{:.1},{:.1}\n",
            q(&x.road),
            x.closed_m,
            if x.detour_m.is_finite() {
                format!("{:.0}", x.detour_m)
            } else {
                String::new()
            },
            q(&x.via.join(" → ")),
            x.from[0],
            x.from[1],
            x.to[0],
            x.to[1]
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arterial(city: &City) -> Vec<FeatureId> {
        crate::scenario::tests::arterial(city)
            .into_iter()
            .map(|f| f.id)
            .collect()
    }

    #[test]
    fn retiming_gives_the_road_its_share_of_green_and_keeps_the_cycle() {
        let city = twin_citygen::generate(&Default::default());
        let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
        let mut net = Network::from_road_graph(&g).unwrap();
        let before = net.signals.clone();
        let r = Retime {
            road: "N–S arterial 2".into(),
            features: arterial(&city),
            green_share: 0.7,
        };
        let n = retime_signals(&g, &mut net, &r);
        assert!(n >= 3, "{n} signals retimed");
        let changed: Vec<usize> = (0..net.signals.len())
            .filter(|&s| net.signals[s] != before[s])
            .collect();
        assert_eq!(changed.len(), n);
        for s in changed {
            let (p, q) = (&before[s], &net.signals[s]);
            assert!((p.cycle - q.cycle).abs() < 1e-9);
            // Two-phase plans: phases 0 and 3 are the greens, one of them the arterial's.
            let g0 = q.phases[0].duration / (q.phases[0].duration + q.phases[3].duration);
            assert!(
                (g0 - 0.7).abs() < 1e-9 || (g0 - 0.3).abs() < 1e-9,
                "share {g0}"
            );
            for k in [1, 2, 4, 5] {
                assert_eq!(p.phases[k].duration, q.phases[k].duration);
            }
        }
        // A road through no signal retimes nothing.
        let alley = city
            .layer(Layer::TrafficRoad)
            .features()
            .iter()
            .find(|f| f.name.as_deref().is_some_and(|n| n.starts_with("Ngõ")))
            .unwrap()
            .id;
        let mut net2 = Network::from_road_graph(&g).unwrap();
        let r2 = Retime {
            road: "alley".into(),
            features: vec![alley],
            green_share: 0.7,
        };
        assert_eq!(retime_signals(&g, &mut net2, &r2), 0);
    }

    #[test]
    fn diversions_go_round_the_closed_road_on_open_ones() {
        let city = twin_citygen::generate(&Default::default());
        let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
        // The middle third of the arterial (it runs 3 km across the district).
        use geo::Centroid;
        let layer = city.layer(Layer::TrafficRoad);
        let ys: Vec<(FeatureId, f64)> = arterial(&city)
            .into_iter()
            .map(|id| {
                let f = layer.features().iter().find(|f| f.id == id).unwrap();
                (id, f.geometry.centroid().unwrap().y())
            })
            .collect();
        let (lo, hi) = ys.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, y)| {
            (a.min(*y), b.max(*y))
        });
        let third = (hi - lo) / 3.0;
        let closed: BTreeSet<FeatureId> = ys
            .iter()
            .filter(|(_, y)| *y > lo + third && *y < hi - third)
            .map(|(id, _)| *id)
            .collect();
        assert!(closed.len() >= 3);
        let d = diversions(&city, &g, &closed);
        // The stretch both ways.
        assert_eq!(d.len(), 2, "{d:?}");
        for x in &d {
            assert!(x.road.starts_with("Đường trục dọc 2"));
            assert!(
                x.detour_m.is_finite() && x.detour_m >= x.closed_m * 0.99,
                "{x:?}"
            );
            assert!(!x.via.iter().any(|v| v == &x.road), "{x:?}");
            assert!(!x.via.is_empty());
        }
        let csv = diversions_csv(&d);
        assert_eq!(csv.lines().count(), 3);
        // The whole arterial, edge to edge of the district: no way round inside the city
        // model, said as such.
        let all: BTreeSet<FeatureId> = arterial(&city).into_iter().collect();
        let d = diversions(&city, &g, &all);
        assert!(
            d.iter()
                .any(|x| !x.detour_m.is_finite() && x.via.is_empty())
        );
    }
}
