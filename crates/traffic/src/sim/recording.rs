//! What a run records: floating-car positions, per-link interval statistics and trip
//! outcomes.

use super::records::{LinkInterval, NetworkInterval, TrajectoryPoint, TripResult};
use super::state::Simulation;
use crate::network::{LinkId, Network};

impl Simulation {
    /// Positions recorded every [`super::SimConfig::fcd_interval`] seconds, at the start of the step
    /// at that time: a vehicle moving on a link is placed by the share of its traversal time
    /// elapsed (the queue model's uniform speed on the link); a vehicle waiting in an exit
    /// queue stands behind the road space of the vehicles ahead of it in that queue, shared
    /// over the queue's lanes, at speed 0.
    pub fn trajectories(&self) -> &[TrajectoryPoint] {
        &self.fcd
    }

    pub(super) fn record_positions(&mut self, t: f64) {
        let point = |net: &Network, l: LinkId, pos: f64| {
            let (a, b) = (
                net.link_from[l.index()].index(),
                net.link_to[l.index()].index(),
            );
            let f = (pos / net.link_length[l.index()].max(1e-9)).clamp(0.0, 1.0);
            (
                net.node_x[a] + f * (net.node_x[b] - net.node_x[a]),
                net.node_y[a] + f * (net.node_y[b] - net.node_y[a]),
            )
        };
        let mut pts = Vec::new();
        for l in 0..self.net.link_count() {
            let len = self.net.link_length[l];
            for &(ready, v) in &self.running[l] {
                let veh = &self.vehs[v as usize];
                let span = (ready - veh.entered).max(1e-9);
                let pos = (len * (t - veh.entered) / span).clamp(0.0, len);
                let (x, y) = point(&self.net, LinkId(l as u32), pos);
                pts.push(TrajectoryPoint {
                    time: t,
                    trip: veh.trip,
                    link: LinkId(l as u32),
                    pos,
                    x,
                    y,
                    speed: len / span,
                });
            }
        }
        for q in 0..self.buffer.len() {
            let lanes = self.net.queue_lanes[q].max(1) as f64;
            let mut ahead = 0.0;
            for &v in &self.buffer[q] {
                let veh = &self.vehs[v as usize];
                let l = veh.route[veh.pos as usize];
                let len = self.net.link_length[l.index()];
                let pos = (len - ahead / lanes).max(0.0);
                ahead += veh.space;
                let (x, y) = point(&self.net, l, pos);
                pts.push(TrajectoryPoint {
                    time: t,
                    trip: veh.trip,
                    link: l,
                    pos,
                    x,
                    y,
                    speed: 0.0,
                });
            }
        }
        pts.sort_by_key(|p| p.trip);
        self.fcd.extend(pts);
    }

    pub(super) fn flush_stats(&mut self) {
        let end = self.time;
        for l in 0..self.net.link_count() {
            if self.st_entered[l] == 0 && self.st_left[l] == 0 && self.st_occ[l] == 0.0 {
                continue;
            }
            let left = self.st_left[l];
            let span = (end - self.stat_begin).max(1e-9);
            let km_lanes = self.net.link_length[l] / 1000.0 * self.net.link_lanes[l] as f64;
            self.link_stats.push(LinkInterval {
                begin: self.stat_begin,
                end,
                link: LinkId(l as u32),
                entered: self.st_entered[l],
                left,
                mean_travel_time: if left > 0 {
                    self.st_time[l] / left as f64
                } else {
                    f64::NAN
                },
                mean_delay: if left > 0 {
                    self.st_delay[l] / left as f64
                } else {
                    f64::NAN
                },
                density: self.st_occ[l] / span / km_lanes,
            });
            self.st_entered[l] = 0;
            self.st_left[l] = 0;
            self.st_time[l] = 0.0;
            self.st_delay[l] = 0.0;
            self.st_occ[l] = 0.0;
        }
        self.net_stats.push(NetworkInterval {
            begin: self.stat_begin,
            end,
            teleports: self.counters.teleports - self.net_last.0,
            on_network: self.in_network as usize,
            arrived: self.counters.arrived - self.net_last.1,
        });
        self.net_last = (self.counters.teleports, self.counters.arrived);
        self.stat_begin = end;
    }

    /// The whole network per statistics interval: teleports, vehicles on it, arrivals.
    pub fn network_stats(&self) -> &[NetworkInterval] {
        &self.net_stats
    }

    /// Per-link statistics of the intervals completed so far.
    pub fn link_stats(&self) -> &[LinkInterval] {
        &self.link_stats
    }

    /// Takes the per-link and network statistics of the intervals completed so far, leaving
    /// none: a run that goes on for days (the live twin) keeps only what it has not read.
    pub fn take_stats(&mut self) -> (Vec<LinkInterval>, Vec<NetworkInterval>) {
        (
            std::mem::take(&mut self.link_stats),
            std::mem::take(&mut self.net_stats),
        )
    }

    /// The class of trip `trip` (departure order; repeats added by
    /// [`Simulation::rescale_pending`] are not looked up); `None` past the last trip.
    pub fn trip_class(&self, trip: u32) -> Option<crate::demand::VehicleClass> {
        let v = self.vehs.get(trip as usize)?;
        self.types.get(v.vtype as usize).map(|t| t.class)
    }

    /// Per-trip outcomes, in departure order.
    pub fn trip_results(&self) -> Vec<TripResult> {
        self.vehs
            .iter()
            .map(|v| TripResult {
                id: self.trip_ids[v.trip as usize].clone(),
                depart: v.depart,
                arrival: v.arrival,
                planned: v.planned,
                ended: v.ended,
                route_length: v.route_length,
                state: v.state,
                reroutes: v.reroutes,
            })
            .collect()
    }
}
