//! One step of the simulation and the link half of it: external events, departures,
//! insertion onto first links, vehicles reaching the ends of their links, entering and leaving
//! links; junction service is in [`super::junction`].

use super::config::SignalControl;
use super::records::{LinkEvent, VehicleState};
use super::state::Simulation;
use crate::network::LinkId;

impl Simulation {
    /// Schedule a link event at time `at` (applied at the start of the first step at or after it).
    pub fn schedule(&mut self, at: f64, ev: LinkEvent) {
        self.events.push((at, self.event_seq, ev));
        self.event_seq += 1;
    }

    /// Apply a link event now. Closing a link reroutes every vehicle whose remaining route uses
    /// it; vehicles already on the closed link may leave it.
    pub fn apply(&mut self, ev: LinkEvent) {
        if self.set(ev) {
            self.reroute_around_closures();
        }
    }

    /// Set what a link event changes; true when it closed a link (the vehicles whose routes
    /// use it are yet to be rerouted).
    fn set(&mut self, ev: LinkEvent) -> bool {
        match ev {
            LinkEvent::Closed(l, c) => {
                self.closed[l.index()] = c;
                self.closure_epoch += 1;
                c
            }
            LinkEvent::SpeedCap(l, cap) => {
                self.speed_cap[l.index()] = cap.filter(|v| *v > 0.0).unwrap_or(f64::INFINITY);
                false
            }
            LinkEvent::SignalDark(s, d) => {
                if let Some(flag) = self.dark.get_mut(s.index()) {
                    *flag = d;
                    if d {
                        self.set_dark_foes(s.index());
                    }
                }
                false
            }
        }
    }

    pub(super) fn effective_speed(&self, v: usize, limit: f64, cap: f64) -> f64 {
        let veh = &self.vehs[v];
        let ty = &self.types[veh.vtype as usize];
        let v0 = (limit * veh.speed_factor)
            .min(ty.max_speed)
            .min(cap)
            .max(0.1);
        // Krauss dawdling: mean loss σ·a/2 per second while cruising, never more than half the speed.
        (v0 - ty.sigma * ty.accel * 0.5).max(0.5 * v0)
    }

    pub(super) fn link_speed_for(&self, v: usize, l: LinkId) -> f64 {
        self.effective_speed(v, self.net.link_speed[l.index()], self.speed_cap[l.index()])
    }

    /// Put vehicle `v` on link `l` at time `t`, to be at its end `extra` seconds later than the
    /// free travel time.
    pub(super) fn enter_link(&mut self, v: usize, l: LinkId, t: f64, extra: f64) {
        let li = l.index();
        if self.closed[li] {
            self.closed_entries += 1;
        }
        let speed = self.link_speed_for(v, l);
        let mut ready = t + extra + self.net.link_length[li] / speed;
        if self.net.link_lanes[li] == 1 {
            // One lane: no overtaking.
            ready = ready.max(self.last_ready[li]);
        }
        self.last_ready[li] = ready;
        let veh = &mut self.vehs[v];
        veh.stuck_since = f64::INFINITY;
        veh.ready = ready;
        veh.entered = t;
        veh.route_length += self.net.link_length[li];
        self.space_used[li] += veh.space;
        self.on_link[li] += 1;
        self.in_network += 1;
        if !self.link_listed[li] {
            self.link_listed[li] = true;
            self.active_links.push(li as u32);
        }
        self.st_entered[li] += 1;
        self.entered_total[li] += 1;
        if self.cfg.record_entries {
            self.entries.push((t, veh.trip, l));
        }
        let q = &mut self.running[li];
        let mut idx = q.len();
        while idx > 0 && q[idx - 1].0 > ready {
            idx -= 1;
        }
        q.insert(idx, (ready, v as u32));
    }

    pub(super) fn leave_link(&mut self, v: usize, l: LinkId, t: f64) {
        let li = l.index();
        let veh = &self.vehs[v];
        self.space_used[li] = (self.space_used[li] - veh.space).max(0.0);
        self.on_link[li] -= 1;
        self.in_network -= 1;
        self.st_left[li] += 1;
        let tt = t - veh.entered;
        self.st_time[li] += tt;
        self.rr_time_sum[li] += tt;
        self.rr_left[li] += 1;
        self.st_delay[li] += (tt - self.net.free_time(l)).max(0.0);
    }

    pub(super) fn has_room(&self, l: usize, space: f64) -> bool {
        self.space_used[l] <= 0.0 || self.space_used[l] + space <= self.space_cap[l] + 1e-9
    }

    /// Advance one step.
    pub fn step(&mut self) {
        let t0 = self.time;
        let dt = self.cfg.step;
        let t1 = t0 + dt;
        self.apply_due_events(t1);
        self.update_signal_control(t0);
        let fcd = self.cfg.fcd_interval;
        if fcd > 0.0 && (t0 - (t0 / fcd).round() * fcd).abs() < 0.5 * dt - 1e-9 {
            self.record_positions(t0);
        }
        let rerouting = self.cfg.reroute_period > 0.0 && self.cfg.reroute_fraction > 0.0;
        if rerouting
            && (t0 == 0.0
                || (t1 / self.cfg.reroute_period).floor() > (t0 / self.cfg.reroute_period).floor())
        {
            self.reroute_informed();
        }
        self.depart(t1, rerouting);
        self.insert(t0);
        self.reach_link_ends(t1);
        self.serve_junctions(t0, t1);
        self.end_step(dt, t1);
    }

    /// 1. External events due at the start of the step ending at `t1`.
    fn apply_due_events(&mut self, t1: f64) {
        if !self.events.is_empty() {
            self.events
                .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let due = self.events.iter().take_while(|e| e.0 < t1).count();
            let evs: Vec<_> = self.events.drain(..due).collect();
            // Every closure due in the step is set before anyone reroutes: one search per
            // vehicle, and no route chosen onto a link about to close.
            let mut closed_any = false;
            for (_, _, ev) in evs {
                closed_any |= self.set(ev);
            }
            if closed_any {
                self.reroute_around_closures();
            }
        }
    }

    /// Adaptive signal decisions at the start of the step (none under fixed-time control).
    fn update_signal_control(&mut self, t0: f64) {
        match self.cfg.signal_control {
            SignalControl::MaxPressure { min_green } => self.update_adaptive(t0, min_green),
            SignalControl::Actuated {
                min_green,
                max_green,
                gap,
            } => self.update_actuated(t0, min_green, max_green, gap),
            SignalControl::FixedTime => {}
        }
    }

    /// 2. Departures before `t1` into the insertion queues, routed first if informed or if their route uses a closed link.
    fn depart(&mut self, t1: f64, rerouting: bool) {
        while self.next_departure < self.vehs.len() && self.vehs[self.next_departure].ready < t1 {
            let v = self.next_departure;
            self.next_departure += 1;
            if rerouting && self.is_informed(v) {
                self.reroute_on_current_times(v);
            }
            if self.uses_closed(v) {
                let times = self.current_link_times();
                let _ = self.reroute(v, &times);
            }
            self.vehs[v].state = VehicleState::Inserting;
            let first = self.vehs[v].route[0].index();
            self.inserting[first].push_back(v as u32);
            if !self.ins_listed[first] {
                self.ins_listed[first] = true;
                self.active_ins.push(first as u32);
            }
        }
    }

    /// 3. Insertion onto first links (SUMO inserts at speed 0: add the time lost accelerating).
    fn insert(&mut self, t0: f64) {
        let mut ins = std::mem::take(&mut self.active_ins);
        // Vehicles waiting to enter a closed first link start from another link of their
        // junction if one leads to their destination; the others wait for a reopening.
        let mut moved: Vec<u32> = Vec::new();
        for &l in &ins {
            let l = l as usize;
            if !self.closed[l] {
                continue;
            }
            // Each waiting vehicle looks for another start once per state of the closures.
            let epoch = self.closure_epoch;
            if self.inserting[l]
                .iter()
                .all(|&v| self.vehs[v as usize].tried_epoch == epoch)
            {
                continue;
            }
            let waiting: Vec<u32> = self.inserting[l].drain(..).collect();
            let times = self.current_link_times();
            for v in waiting {
                if self.vehs[v as usize].tried_epoch == epoch {
                    self.inserting[l].push_back(v);
                    continue;
                }
                self.vehs[v as usize].tried_epoch = epoch;
                if self.restart_elsewhere(v as usize, &times) {
                    let first = self.vehs[v as usize].route[0].index();
                    self.inserting[first].push_back(v);
                    if !self.ins_listed[first] {
                        self.ins_listed[first] = true;
                        moved.push(first as u32);
                    }
                } else {
                    self.inserting[l].push_back(v);
                }
            }
        }
        ins.extend(moved);
        for &l in &ins {
            let l = l as usize;
            while let Some(&v) = self.inserting[l].front() {
                let v = v as usize;
                if self.closed[l] || !self.has_room(l, self.vehs[v].space) {
                    break;
                }
                self.inserting[l].pop_front();
                let t = self.vehs[v].ready.max(t0);
                let speed = self.link_speed_for(v, LinkId(l as u32));
                let accel = self.types[self.vehs[v].vtype as usize].accel;
                let (loss, v_end) =
                    super::state::accel_on(self.net.link_length[l], 0.0, accel, speed);
                let veh = &mut self.vehs[v];
                veh.state = VehicleState::Running;
                veh.depart = t;
                veh.speed_out = v_end;
                self.enter_link(v, LinkId(l as u32), t, loss);
            }
        }
        ins.retain(|&l| {
            let keep = !self.inserting[l as usize].is_empty();
            self.ins_listed[l as usize] = keep;
            keep
        });
        self.active_ins = ins;
    }

    /// 4. Vehicles reaching the end of their link before `t1`: arrive, or queue for their next movement.
    fn reach_link_ends(&mut self, t1: f64) {
        let links = std::mem::take(&mut self.active_links);
        for &l in &links {
            let l = l as usize;
            while let Some(&(ready, v)) = self.running[l].front() {
                if ready >= t1 {
                    break;
                }
                self.running[l].pop_front();
                let v = v as usize;
                let veh = &self.vehs[v];
                if veh.pos as usize + 1 == veh.route.len() {
                    self.leave_link(v, LinkId(l as u32), ready);
                    let veh = &mut self.vehs[v];
                    veh.arrival = ready;
                    veh.ended = ready;
                    veh.state = VehicleState::Arrived;
                    self.counters.arrived += 1;
                } else {
                    let next = veh.route[veh.pos as usize + 1];
                    let m = self
                        .net
                        .movement(LinkId(l as u32), next)
                        .expect("routes only use existing movements");
                    self.queue_on(m, v);
                }
            }
        }
        // Links entered during this step were appended to the (now empty) list; merge.
        let mut links = links;
        links.append(&mut self.active_links);
        self.active_links = links;
    }

    /// 5. Junctions: move vehicles across during [t0, t1). Exit queues in id order, starting at a position that rotates with the step so that no approach always goes first.
    fn serve_junctions(&mut self, t0: f64, t1: f64) {
        let mut mvs = std::mem::take(&mut self.active_mv);
        mvs.sort_unstable();
        if !mvs.is_empty() {
            let k = self.counters.steps as usize % mvs.len();
            mvs.rotate_left(k);
        }
        for &q in &mvs {
            self.discharge(q as usize, t0, t1);
        }
        mvs.append(&mut self.active_mv);
        mvs.retain(|&m| {
            let keep = !self.buffer[m as usize].is_empty();
            self.mv_listed[m as usize] = keep;
            keep
        });
        mvs.dedup();
        self.active_mv = mvs;
    }

    /// 6. Statistics of the step of length `dt`, and the clock moved on to `t1`.
    fn end_step(&mut self, dt: f64, t1: f64) {
        let mut links = std::mem::take(&mut self.active_links);
        links.retain(|&l| {
            let l = l as usize;
            self.st_occ[l] += self.on_link[l] as f64 * dt;
            let keep = self.on_link[l] > 0;
            self.link_listed[l] = keep;
            keep
        });
        self.active_links = links;
        self.counters.vehicle_updates += self.in_network;
        self.counters.steps += 1;
        self.time = t1;
        if self.time - self.stat_begin >= self.cfg.stats_interval - 1e-9 {
            self.flush_stats();
        }
    }

    /// Step until every vehicle is done or time `end` is reached (`None`: no limit).
    pub fn run(&mut self, end: Option<f64>) {
        self.run_with_progress(end, &mut |_| {});
    }

    /// Steps until time `t` (or until every vehicle is done), without closing the statistics
    /// interval under way: a run stopped here, saved, restored and run on gives the same
    /// results as one that never stopped.
    pub fn advance_to(&mut self, t: f64) {
        while !self.is_done() && self.time < t - 1e-9 {
            self.step();
        }
    }

    /// As [`Simulation::run`], reporting the share of the run done after each step: the
    /// share of vehicles finished, or of the time to `end` where that is further along.
    pub fn run_with_progress(&mut self, end: Option<f64>, progress: &mut dyn FnMut(f64)) {
        let end = end.unwrap_or(f64::INFINITY);
        let total = self.vehs.len().max(1) as f64;
        while !self.is_done() && self.time < end - 1e-9 {
            self.step();
            let done = (self.counters.arrived + self.counters.aborted) as f64 / total;
            let by_time = if end.is_finite() {
                self.time / end
            } else {
                0.0
            };
            progress(done.max(by_time).min(1.0));
        }
        if self.time > self.stat_begin {
            self.flush_stats();
        }
    }
}
