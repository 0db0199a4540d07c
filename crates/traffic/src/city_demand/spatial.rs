//! Where the morning peak's trips start and end on the network: features snapped to their
//! nearest node, and fastest-path trees over links.

use crate::network::{LinkId, Network};
use geo::Centroid;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use twin_model::Feature;

pub(super) fn centroid(f: &Feature) -> Option<[f64; 2]> {
    let p = f.geometry.centroid()?;
    (p.x().is_finite() && p.y().is_finite()).then(|| [p.x(), p.y()])
}

/// Nearest of `nodes` (ids into the network) to `p`, by a uniform grid of cells.
pub(super) struct Snapper {
    x0: f64,
    y0: f64,
    cell: f64,
    nx: usize,
    ny: usize,
    cells: Vec<Vec<u32>>,
    xs: Vec<f64>,
    ys: Vec<f64>,
}

impl Snapper {
    pub(super) fn new(net: &Network, nodes: &[u32]) -> Snapper {
        let xs = net.node_x.clone();
        let ys = net.node_y.clone();
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &n in nodes {
            let (x, y) = (xs[n as usize], ys[n as usize]);
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        let cell = 100.0;
        let nx = (((x1 - x0) / cell).floor() as usize + 1).min(4096);
        let ny = (((y1 - y0) / cell).floor() as usize + 1).min(4096);
        let mut cells = vec![Vec::new(); nx * ny];
        let mut s = Snapper {
            x0,
            y0,
            cell,
            nx,
            ny,
            cells: Vec::new(),
            xs,
            ys,
        };
        for &n in nodes {
            let (i, j) = s.cell_of(s.xs[n as usize], s.ys[n as usize]);
            cells[j * nx + i].push(n);
        }
        s.cells = cells;
        s
    }

    fn cell_of(&self, x: f64, y: f64) -> (usize, usize) {
        let i = ((x - self.x0) / self.cell)
            .floor()
            .clamp(0.0, (self.nx - 1) as f64) as usize;
        let j = ((y - self.y0) / self.cell)
            .floor()
            .clamp(0.0, (self.ny - 1) as f64) as usize;
        (i, j)
    }

    /// Nearest node; ties go to the lower id. Rings of cells are searched until the best
    /// distance found is within the ring's guaranteed distance.
    pub(super) fn nearest(&self, p: [f64; 2]) -> u32 {
        let (ci, cj) = self.cell_of(p[0], p[1]);
        let mut best = (f64::INFINITY, u32::MAX);
        let max_r = self.nx.max(self.ny);
        for r in 0..=max_r {
            // Every node in a ring r+1 or beyond is at least (r + 1) · cell - offset away; the
            // point may lie outside the grid, so measure the guarantee conservatively.
            let (lo_i, hi_i) = (ci.saturating_sub(r), (ci + r).min(self.nx - 1));
            let (lo_j, hi_j) = (cj.saturating_sub(r), (cj + r).min(self.ny - 1));
            for j in lo_j..=hi_j {
                for i in lo_i..=hi_i {
                    if r > 0 && i != lo_i && i != hi_i && j != lo_j && j != hi_j {
                        continue;
                    }
                    for &n in &self.cells[j * self.nx + i] {
                        let d = (self.xs[n as usize] - p[0]).hypot(self.ys[n as usize] - p[1]);
                        if d < best.0 || (d == best.0 && n < best.1) {
                            best = (d, n);
                        }
                    }
                }
            }
            // Distance from p to the outside of the searched block.
            let gx0 = self.x0 + lo_i as f64 * self.cell;
            let gx1 = self.x0 + (hi_i + 1) as f64 * self.cell;
            let gy0 = self.y0 + lo_j as f64 * self.cell;
            let gy1 = self.y0 + (hi_j + 1) as f64 * self.cell;
            let mut reach = f64::INFINITY;
            if lo_i > 0 {
                reach = reach.min(p[0] - gx0);
            }
            if hi_i + 1 < self.nx {
                reach = reach.min(gx1 - p[0]);
            }
            if lo_j > 0 {
                reach = reach.min(p[1] - gy0);
            }
            if hi_j + 1 < self.ny {
                reach = reach.min(gy1 - p[1]);
            }
            if best.1 != u32::MAX && best.0 < reach {
                break;
            }
            if lo_i == 0 && lo_j == 0 && hi_i + 1 == self.nx && hi_j + 1 == self.ny {
                break;
            }
        }
        best.1
    }
}

#[derive(Copy, Clone, PartialEq)]
struct Item(f64, u32);
impl Eq for Item {}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.total_cmp(&self.0).then_with(|| o.1.cmp(&self.1))
    }
}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Fastest-path tree over links from node `origin` for link times `time`: time to the end of
/// each link and the link it was reached from.
pub(super) fn tree(net: &Network, time: &[f64], origin: usize, dist: &mut [f64], prev: &mut [u32]) {
    let seeds: Vec<(usize, f64)> = (0..net.link_count())
        .filter(|&l| net.link_from[l].index() == origin)
        .map(|l| (l, time[l]))
        .collect();
    tree_from(net, time, &seeds, dist, prev);
}

/// Fastest-path tree over links from the seed links (link, time to its end): time to the end
/// of each link and the link it was reached from (`u32::MAX` for the seeds).
pub(super) fn tree_from(
    net: &Network,
    time: &[f64],
    seeds: &[(usize, f64)],
    dist: &mut [f64],
    prev: &mut [u32],
) {
    dist.iter_mut().for_each(|d| *d = f64::INFINITY);
    prev.iter_mut().for_each(|p| *p = u32::MAX);
    let mut heap = BinaryHeap::new();
    for &(l, t) in seeds {
        if t < dist[l] {
            dist[l] = t;
            heap.push(Item(t, l as u32));
        }
    }
    while let Some(Item(d, a)) = heap.pop() {
        if d > dist[a as usize] {
            continue;
        }
        for m in net.out_movements(LinkId(a)) {
            let b = net.mv_to[m.index()].index();
            let nd = d + net.mv_via_time[m.index()] + time[b];
            if nd < dist[b] {
                dist[b] = nd;
                prev[b] = a;
                heap.push(Item(nd, b as u32));
            }
        }
    }
}

/// The path of a tree ([`tree`]'s `prev`) from its origin to the end of link `last`.
pub(super) fn path_to(prev: &[u32], last: u32) -> Vec<LinkId> {
    let mut route = vec![LinkId(last)];
    let mut cur = last as usize;
    while prev[cur] != u32::MAX {
        cur = prev[cur] as usize;
        route.push(LinkId(cur as u32));
    }
    route.reverse();
    route
}
