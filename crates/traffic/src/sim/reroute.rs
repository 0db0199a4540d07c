//! Rerouting: around closures (every vehicle whose remaining route uses a closed link) and
//! en route for the informed share of drivers on current link times, with cost-to-go trees
//! built in parallel.

use super::records::VehicleState;
use super::state::{Simulation, unit};
use crate::network::{LinkId, MovementId, Network};

/// Time from the start of each link to the end of link `dest` over link times `times` (a
/// reverse Dijkstra over movements; closed links are never entered).
pub(super) fn reverse_tree(
    net: &Network,
    link_in: &[Vec<MovementId>],
    times: &[f64],
    closed: &[bool],
    dest: u32,
) -> Vec<f64> {
    let mut d = vec![f64::INFINITY; net.link_count()];
    let mut heap = std::collections::BinaryHeap::new();
    if !closed[dest as usize] {
        d[dest as usize] = times[dest as usize];
        heap.push(std::cmp::Reverse((OrdF(d[dest as usize]), dest)));
    }
    while let Some(std::cmp::Reverse((OrdF(c), b))) = heap.pop() {
        if c > d[b as usize] {
            continue;
        }
        for &m in &link_in[b as usize] {
            let a = net.mv_from[m.index()].index();
            if closed[a] {
                continue;
            }
            let nc = c + net.mv_via_time[m.index()] + times[a];
            if nc < d[a] {
                d[a] = nc;
                heap.push(std::cmp::Reverse((OrdF(nc), a as u32)));
            }
        }
    }
    d
}

/// Smallest relative saving of remaining travel time for which an informed driver changes
/// route (avoids switching between near-equal routes).
pub const REROUTE_MIN_GAIN: f64 = 0.1;

/// Total order on f64 for the heap (costs are never NaN).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
struct OrdF(f64);

impl Eq for OrdF {}

impl PartialOrd for OrdF {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for OrdF {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

impl Simulation {
    /// Current estimate of each link's travel time: free time at the (capped) speed limit plus
    /// the time to discharge the vehicles waiting at its end.
    pub(super) fn current_link_times(&self) -> Vec<f64> {
        (0..self.net.link_count())
            .map(|l| {
                let v = self.net.link_speed[l].min(self.speed_cap[l]).max(0.1);
                let queues = self.net.exit_queues(LinkId(l as u32));
                let waiting: usize = queues.iter().map(|&q| self.buffer[q as usize].len()).sum();
                self.net.link_length[l] / v
                    + waiting as f64 * self.cfg.saturation_headway / self.net.link_lanes[l] as f64
            })
            .collect()
    }

    /// New route for vehicle `v` from its current link (or its origin if not departed), avoiding
    /// closed links. Returns false if there is none.
    pub(super) fn reroute(&mut self, v: usize, link_time: &[f64]) -> bool {
        let veh = &self.vehs[v];
        let pos = veh.pos as usize;
        let from = veh.route[pos];
        let to = *veh.route.last().expect("routes are never empty");
        match self.router.fastest(
            &self.net,
            link_time,
            &self.net.mv_via_time,
            &self.closed,
            from,
            to,
        ) {
            Some(p) => {
                let veh = &mut self.vehs[v];
                veh.route.truncate(pos);
                veh.route.extend(p);
                veh.reroutes += 1;
                self.counters.reroutes += 1;
                true
            }
            None => false,
        }
    }

    /// A vehicle that has not yet entered the network and whose first link is closed: route it
    /// from the fastest other link out of the same junction. False if there is none.
    pub(super) fn restart_elsewhere(&mut self, v: usize, link_time: &[f64]) -> bool {
        let first = self.vehs[v].route[0];
        let to = *self.vehs[v].route.last().expect("routes are never empty");
        if to == first {
            return false;
        }
        let node = self.net.link_from[first.index()];
        let mut best: Option<(f64, Vec<LinkId>)> = None;
        for l in 0..self.net.link_count() {
            if self.net.link_from[l] != node || self.closed[l] {
                continue;
            }
            let Some(p) = self.router.fastest(
                &self.net,
                link_time,
                &self.net.mv_via_time,
                &self.closed,
                LinkId(l as u32),
                to,
            ) else {
                continue;
            };
            let mut cost = link_time[p[0].index()];
            for w in p.windows(2) {
                let m = self.net.movement(w[0], w[1]).expect("paths use movements");
                cost += self.net.mv_via_time[m.index()] + link_time[w[1].index()];
            }
            if best.as_ref().is_none_or(|(c, _)| cost < *c) {
                best = Some((cost, p));
            }
        }
        match best {
            Some((_, p)) => {
                let veh = &mut self.vehs[v];
                veh.route = p;
                veh.reroutes += 1;
                self.counters.reroutes += 1;
                true
            }
            None => false,
        }
    }

    /// Whether vehicle `v` is one of the informed drivers (a seeded draw per vehicle).
    pub(super) fn is_informed(&self, v: usize) -> bool {
        // Buses keep to their lines.
        if self.types[self.vehs[v].vtype as usize].class == crate::demand::VehicleClass::Bus {
            return false;
        }
        unit(self.cfg.seed ^ 0x005E_ED0F_1AFE, self.vehs[v].trip as u64) < self.cfg.reroute_fraction
    }

    /// Link times for en-route choice: the larger of the queue estimate of
    /// `current_link_times` and the mean time on the link of the vehicles that left it since
    /// the last round; a link whose leading queued vehicle has waited longer than that counts
    /// its free time plus that wait, so a link blocked by spillback looks as slow as it is.
    pub(super) fn link_times_now(&mut self) -> Vec<f64> {
        let mut t = self.current_link_times();
        let now = self.time;
        for (l, tl) in t.iter_mut().enumerate() {
            if self.rr_left[l] > 0 {
                *tl = tl.max(self.rr_time_sum[l] / self.rr_left[l] as f64);
            }
            let qs = self.net.exit_queues(LinkId(l as u32));
            for q in qs {
                if let Some(&v) = self.buffer[q as usize].front() {
                    let waited = now - self.vehs[v as usize].ready;
                    *tl = tl.max(self.net.free_time(LinkId(l as u32)) + waited);
                }
            }
            self.rr_time_sum[l] = 0.0;
            self.rr_left[l] = 0;
        }
        t
    }

    /// Time from the start of each link to the end of link `dest` over the current round's
    /// link times (a reverse Dijkstra over movements; closed links are never entered).
    pub(super) fn cost_to_go(&mut self, dest: u32) {
        if !self.rr_trees.contains_key(&dest) {
            let d = reverse_tree(&self.net, &self.link_in, &self.rr_times, &self.closed, dest);
            self.rr_trees.insert(dest, d);
        }
    }

    /// Whether informed vehicle `v` (running) would look for another route this round: its
    /// remaining route is slower than free flow by more than [`REROUTE_MIN_GAIN`].
    pub(super) fn wants_reroute(&self, v: usize) -> bool {
        let veh = &self.vehs[v];
        let tail = &veh.route[veh.pos as usize..];
        if tail.len() < 2 {
            return false;
        }
        let (mut now, mut free) = (0.0, 0.0);
        for w in tail.windows(2) {
            let m = self.net.movement(w[0], w[1]).expect("routes use movements");
            let via = self.net.mv_via_time[m.index()];
            now += via + self.rr_times[w[1].index()];
            free += via + self.net.free_time(w[1]);
        }
        now > free * (1.0 + REROUTE_MIN_GAIN)
    }

    /// Give vehicle `v` the fastest remaining route on the current round's link times if it
    /// saves more than [`REROUTE_MIN_GAIN`] of the remaining time of its present route. Only
    /// a driver whose remaining route is slower than free flow by that share looks.
    pub(super) fn reroute_on_current_times(&mut self, v: usize) {
        let veh = &self.vehs[v];
        let pos = if veh.state == VehicleState::Running {
            veh.pos as usize
        } else {
            0
        };
        let dest = veh.route.last().expect("routes are never empty").0;
        let cur = veh.route[pos];
        if cur.0 == dest {
            return;
        }
        let old_tail: Vec<LinkId> = veh.route[pos..].to_vec();
        let times = std::mem::take(&mut self.rr_times);
        let old_cost: f64 = old_tail
            .windows(2)
            .map(|w| {
                let m = self.net.movement(w[0], w[1]).expect("routes use movements");
                self.net.mv_via_time[m.index()] + times[w[1].index()]
            })
            .sum();
        self.rr_times = times;
        // A driver whose route runs at free-flow pace sees no reason to look for another.
        let old_free: f64 = old_tail[1..]
            .iter()
            .map(|&l| self.net.free_time(l))
            .sum::<f64>()
            + old_tail
                .windows(2)
                .map(|w| {
                    let m = self.net.movement(w[0], w[1]).expect("routes use movements");
                    self.net.mv_via_time[m.index()]
                })
                .sum::<f64>();
        if old_cost <= old_free * (1.0 + REROUTE_MIN_GAIN) {
            return;
        }
        self.cost_to_go(dest);
        let togo = self.rr_trees.remove(&dest).expect("just built");
        let mut tail = vec![cur];
        let mut at = cur;
        let mut new_cost = 0.0;
        while at.0 != dest {
            let mut best: Option<(f64, MovementId)> = None;
            for m in self.net.out_movements(at) {
                let b = self.net.mv_to[m.index()].index();
                let c = self.net.mv_via_time[m.index()] + togo[b];
                if c.is_finite() && best.is_none_or(|(bc, _)| c < bc) {
                    best = Some((c, m));
                }
            }
            let Some((_, m)) = best else {
                self.rr_trees.insert(dest, togo);
                return;
            };
            let b = self.net.mv_to[m.index()];
            new_cost += self.net.mv_via_time[m.index()] + self.rr_times[b.index()];
            tail.push(b);
            at = b;
            if tail.len() > self.net.link_count() + 1 {
                self.rr_trees.insert(dest, togo);
                return;
            }
        }
        self.rr_trees.insert(dest, togo);
        if tail != old_tail && new_cost < old_cost * (1.0 - REROUTE_MIN_GAIN) {
            let veh = &mut self.vehs[v];
            veh.route.truncate(pos);
            veh.route.extend(tail);
            veh.reroutes += 1;
            self.counters.reroutes += 1;
        }
    }

    /// En-route choice (the informed drivers of [`super::SimConfig::reroute_fraction`]): refresh the
    /// link times and give every informed vehicle on the network its fastest remaining
    /// route, as SUMO's rerouting device does periodically (SUMO documentation
    /// "Demand/Automatic Routing": `device.rerouting.period`, `device.rerouting.probability`).
    /// Informed vehicles departing before the next round are routed at departure on the same
    /// times.
    pub fn reroute_informed(&mut self) {
        self.rr_times = self.link_times_now();
        self.rr_trees.clear();
        // The cost-to-go trees of the destinations of the drivers who will look, built in
        // parallel (each tree on its own; the result does not depend on the thread count),
        // then the drivers rerouted one by one in vehicle order.
        let mut dests: Vec<u32> = (0..self.vehs.len())
            .filter(|&v| {
                self.vehs[v].state == VehicleState::Running
                    && self.is_informed(v)
                    && self.wants_reroute(v)
            })
            .map(|v| self.vehs[v].route.last().expect("routes are never empty").0)
            .collect();
        dests.sort_unstable();
        dests.dedup();
        use rayon::prelude::*;
        let (net, link_in, times, closed) =
            (&self.net, &self.link_in, &self.rr_times, &self.closed);
        let trees: Vec<(u32, Vec<f64>)> = dests
            .par_iter()
            .map(|&d| (d, reverse_tree(net, link_in, times, closed, d)))
            .collect();
        self.rr_trees.extend(trees);
        for v in 0..self.vehs.len() {
            if self.vehs[v].state == VehicleState::Running && self.is_informed(v) {
                self.reroute_on_current_times(v);
            }
        }
    }

    pub(super) fn uses_closed(&self, v: usize) -> bool {
        let veh = &self.vehs[v];
        let start = if veh.state == VehicleState::Running {
            veh.pos as usize + 1
        } else {
            0
        };
        veh.route[start..].iter().any(|l| self.closed[l.index()])
    }

    pub(super) fn reroute_around_closures(&mut self) {
        let times = self.current_link_times();
        for v in 0..self.vehs.len() {
            let st = self.vehs[v].state;
            if matches!(
                st,
                VehicleState::Running | VehicleState::Inserting | VehicleState::Scheduled
            ) && self.uses_closed(v)
            {
                // A vehicle that finds no way round keeps its route: it will be taken out at
                // the end of its current link (or never depart) rather than enter the closure.
                let _ = self.reroute(v, &times);
            }
        }
    }
}
