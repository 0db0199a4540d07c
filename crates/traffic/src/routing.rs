//! Fastest paths over the link graph.
//!
//! Search runs over links, not junctions, so turn permissions (movements) are respected: the
//! cost of stepping from link `a` to link `b` is the time across the junction plus the time to
//! drive `b`. A* (Hart, Nilsson & Raphael 1968) with the straight-line distance to the
//! destination divided by the network's top speed as the lower bound; the bound is scaled by
//! [`HEURISTIC_SCALE`] because SUMO edge lengths are cut back at junction shapes and the
//! straight line between junction centres can exceed the driven length by a few metres.

use crate::network::{LinkId, Network};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Safety factor on the A* bound (see the module docs).
pub const HEURISTIC_SCALE: f64 = 0.8;

#[derive(Copy, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Item {
    f: f64,
    link: u32,
}
impl Eq for Item {}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> Ordering {
        o.f.total_cmp(&self.f).then_with(|| o.link.cmp(&self.link))
    }
}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Reusable search state (buffers sized to the network).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Router {
    dist: Vec<f64>,
    prev: Vec<u32>,
    touched: Vec<u32>,
    vmax: f64,
}

impl Router {
    /// A router for `net`.
    pub fn new(net: &Network) -> Self {
        let n = net.link_count();
        Self {
            dist: vec![f64::INFINITY; n],
            prev: vec![u32::MAX; n],
            touched: Vec::new(),
            vmax: net.link_speed.iter().copied().fold(1.0, f64::max),
        }
    }

    /// Fastest path from link `from` to link `to` (both included), given a travel time per link
    /// (`link_time`) and per movement (`mv_time`); links with `blocked[l]` are never entered
    /// (the start link excepted). `None` when no path exists.
    pub fn fastest(
        &mut self,
        net: &Network,
        link_time: &[f64],
        mv_time: &[f64],
        blocked: &[bool],
        from: LinkId,
        to: LinkId,
    ) -> Option<Vec<LinkId>> {
        for &t in &self.touched {
            self.dist[t as usize] = f64::INFINITY;
            self.prev[t as usize] = u32::MAX;
        }
        self.touched.clear();
        if blocked[to.index()] && from != to {
            return None;
        }
        let goal = net.link_to[to.index()].index();
        let (gx, gy) = (net.node_x[goal], net.node_y[goal]);
        let h = |l: usize| {
            let n = net.link_to[l].index();
            let d = ((net.node_x[n] - gx).powi(2) + (net.node_y[n] - gy).powi(2)).sqrt();
            HEURISTIC_SCALE * d / self.vmax
        };
        let mut heap = BinaryHeap::new();
        self.dist[from.index()] = 0.0;
        self.touched.push(from.0);
        heap.push(Item {
            f: h(from.index()),
            link: from.0,
        });
        while let Some(Item { f, link }) = heap.pop() {
            let a = link as usize;
            let g = self.dist[a];
            if f > g + h(a) + 1e-9 {
                continue; // stale entry
            }
            if link == to.0 {
                let mut path = vec![to];
                let mut cur = a;
                while self.prev[cur] != u32::MAX {
                    cur = self.prev[cur] as usize;
                    path.push(LinkId(cur as u32));
                }
                path.reverse();
                return Some(path);
            }
            for m in net.out_movements(LinkId(link)) {
                let b = net.mv_to[m.index()].index();
                if blocked[b] {
                    continue;
                }
                let nd = g + mv_time[m.index()] + link_time[b];
                if nd < self.dist[b] {
                    if self.dist[b].is_infinite() {
                        self.touched.push(b as u32);
                    }
                    self.dist[b] = nd;
                    self.prev[b] = link;
                    heap.push(Item {
                        f: nd + h(b),
                        link: b as u32,
                    });
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::detour;

    #[test]
    fn finds_the_fastest_path_and_avoids_blocked_links() {
        let n = detour();
        let mut r = Router::new(&n);
        let lt: Vec<f64> = (0..n.link_count())
            .map(|l| n.free_time(LinkId(l as u32)))
            .collect();
        let mt = n.mv_via_time.clone();
        let mut blocked = vec![false; n.link_count()];
        let sa = n.link("SA").unwrap();
        let ce = n.link("CE").unwrap();
        let names = |p: Vec<LinkId>| -> Vec<String> {
            p.into_iter()
                .map(|l| n.link_name[l.index()].clone())
                .collect()
        };
        let p = r.fastest(&n, &lt, &mt, &blocked, sa, ce).unwrap();
        assert_eq!(names(p), ["SA", "AB", "BC", "CE"]);
        blocked[n.link("BC").unwrap().index()] = true;
        let p = r.fastest(&n, &lt, &mt, &blocked, sa, ce).unwrap();
        assert_eq!(names(p), ["SA", "AD", "DC", "CE"]);
        blocked[n.link("DC").unwrap().index()] = true;
        assert!(r.fastest(&n, &lt, &mt, &blocked, sa, ce).is_none());
        // Slow main road: the detour wins on time.
        blocked.iter_mut().for_each(|b| *b = false);
        let mut lt2 = lt.clone();
        lt2[n.link("AB").unwrap().index()] = 100.0;
        let p = r.fastest(&n, &lt2, &mt, &blocked, sa, ce).unwrap();
        assert_eq!(names(p), ["SA", "AD", "DC", "CE"]);
        // No path backwards.
        assert!(r.fastest(&n, &lt, &mt, &blocked, ce, sa).is_none());
    }
}
