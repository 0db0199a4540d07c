//! Junction service: discharging the exit queues across junctions under signals, saturation
//! headways, start-up lost time, gap acceptance against priority streams and downstream room.

use super::config::{
    DARK_SIGNAL_HEADWAY, MINOR_FOLLOW_UP_HEADWAY, MINOR_SIGHT_DISTANCE, MOTORCYCLE_CRITICAL_GAP,
};
use super::records::VehicleState;
use super::state::Simulation;
use crate::network::{Light, MovementId};

/// Distinct movements whose vehicles, held by full downstream links, one exit queue tracks
/// while letting others go by.
const MAX_HELD_MOVEMENTS: usize = 8;
/// Held vehicles an exit queue looks past in one step.
const MAX_PASSED: usize = 64;

impl Simulation {
    /// Whether a vehicle with priority over movement `m` crosses too close to time `tau` for a
    /// yielding vehicle (acceleration `accel`, length `length`) to go: gap acceptance with a
    /// critical gap of the time to clear the junction from a stop, `sqrt(2 (L + length) / a)`,
    /// plus SUMO's default minimum time gap to a prioritised vehicle (`jmTimegapMinor`, 1 s);
    /// when merging into the foe's lane, plus the time the foe closes in while the yielding
    /// vehicle speeds up to the lane's limit V (V / 2a), at least one saturation headway.
    /// A prioritised vehicle that has just entered blocks for its own crossing time.
    /// A yielding motorcycle needs only [`MOTORCYCLE_CRITICAL_GAP`] ahead of the next foe.
    pub(super) fn priority_foe_near(
        &mut self,
        m: MovementId,
        tau: f64,
        accel: f64,
        length: f64,
        motorcycle: bool,
    ) -> bool {
        let crossing = (2.0 * (self.net.mv_via_length[m.index()] + length) / accel).sqrt();
        let target = self.net.mv_to[m.index()];
        let merge_lag = self.net.link_speed[target.index()] / (2.0 * accel);
        for i in self.net.mv_foe_start[m.index()]..self.net.mv_foe_start[m.index() + 1] {
            let k = self.net.mv_foes[i as usize].index();
            // Merging into the foe's lane: the foe must also be able to follow at the
            // saturation headway once the yielding vehicle is in front of it, and it closes in
            // while the yielding vehicle, slow out of the junction, speeds up to the stream's
            // speed V: by V²/2a over the acceleration, V/2a in time.
            let merge = if self.net.mv_to[k] == target {
                self.cfg.saturation_headway.max(merge_lag)
            } else {
                0.0
            };
            let horizon = if motorcycle {
                tau + MOTORCYCLE_CRITICAL_GAP
            } else {
                tau + crossing + 1.0 + merge
            };
            if let Some((s, idx)) = self.net.mv_signal[k]
                && !self.dark[s.index()]
            {
                let (phase, _) = self.signal_phase(s.index());
                if self.net.signals[s.index()].phases[phase].lights[idx as usize] == Light::Red {
                    continue;
                }
            }
            if tau - self.mv_last_pass[k] < self.net.mv_via_time[k].max(1.0) {
                return true;
            }
            // A prioritised vehicle that cannot enter its next link for want of room stays
            // behind its stop line and claims no gap (as in SUMO, where a vehicle that cannot
            // leave announces no approach): otherwise a minor stream waits on a foe that
            // itself waits on the minor stream's own spillback, a deadlock only a teleport
            // breaks.
            let foe_to = self.net.mv_to[k];
            if let Some(&f) = self.buffer[self.net.mv_queue[k] as usize].front() {
                let fv = &self.vehs[f as usize];
                if fv.ready <= horizon
                    && fv.route.get(fv.pos as usize + 1) == Some(&foe_to)
                    && self.has_room(foe_to.index(), fv.space)
                {
                    return true;
                }
            }
            let from = self.net.mv_from[k].index();
            if let Some(&(r, f)) = self.running[from].front()
                && r <= horizon
            {
                let fv = &self.vehs[f as usize];
                if fv.route.get(fv.pos as usize + 1) == Some(&foe_to)
                    && self.has_room(foe_to.index(), fv.space)
                {
                    return true;
                }
            }
        }
        false
    }

    /// At a dark junction (an all-way stop), whether vehicle `v`, at the stop line since
    /// `ready`, must still wait at time `tau`: a conflicting movement crossed less than
    /// `clear` seconds ago, or the vehicle at the head of a conflicting movement's queue got
    /// there first (ties go to the earlier departure).
    fn dark_foe_near(&self, m: MovementId, v: usize, ready: f64, tau: f64, clear: f64) -> bool {
        for &k in &self.dark_foes[m.index()] {
            let k = k.index();
            if tau - self.mv_last_pass[k] < clear {
                return true;
            }
            if let Some(&f) = self.buffer[self.net.mv_queue[k] as usize].front() {
                let fv = &self.vehs[f as usize];
                if fv.route.get(fv.pos as usize + 1) == Some(&self.net.mv_to[k])
                    && (fv.ready < ready || (fv.ready == ready && (f as usize) < v))
                {
                    return true;
                }
            }
        }
        false
    }

    /// Put vehicle `v` in the exit queue of movement `m`.
    pub(super) fn queue_on(&mut self, m: MovementId, v: usize) {
        let q = self.net.mv_queue[m.index()] as usize;
        self.buffer[q].push_back(v as u32);
        if !self.mv_listed[q] {
            self.mv_listed[q] = true;
            self.active_mv.push(q as u32);
        }
    }

    /// Let vehicles waiting in exit queue `q` cross during [t0, t1).
    pub(super) fn discharge(&mut self, q: usize, t0: f64, t1: f64) {
        let h = self.cfg.saturation_headway;
        // Position in the queue and the vehicles passed over: a vehicle held only by a full
        // downstream link occupies a lane of its movement, the held vehicles of one movement
        // queue in its lanes one behind another, and on a queue of several lanes those behind
        // may go by in the lanes no held vehicle occupies (a straight stream passing a queue
        // of left-turners waiting for room on the street they turn into).
        let mut i = 0usize;
        let lanes = self.net.queue_lanes[q];
        let mut held = [(u32::MAX, 0u32); MAX_HELD_MOVEMENTS];
        let mut n_held = 0usize;
        while let Some(&v) = self.buffer[q].get(i) {
            let v = v as usize;
            let veh = &self.vehs[v];
            let a = veh.route[veh.pos as usize];
            let b = veh.route[veh.pos as usize + 1];
            let m = self
                .net
                .movement(a, b)
                .expect("routes only use existing movements");
            let mi = m.index();
            let (ai, bi) = (a.index(), b.index());
            if self.net.mv_queue[mi] as usize != q {
                // Rerouted while queued onto a movement served by other lanes: change queue.
                self.buffer[q].remove(i);
                self.queue_on(m, v);
                continue;
            }
            let ready = self.vehs[v].ready;
            let mut tau = ready
                .max(self.queue_free_at[q])
                .max(self.link_free_at[ai])
                .max(t0);
            if tau >= t1 {
                break;
            }
            // Whatever holds it from here on, it stands at the head from `tau` (reset when it
            // crosses).
            self.vehs[v].stuck_since = self.vehs[v].stuck_since.min(tau);
            let ty = &self.types[self.vehs[v].vtype as usize];
            let (accel, decel) = (ty.accel, ty.decel);
            // Speed on reaching the stop line: the link's limit, or less where the link was
            // too short to reach it.
            let va = self
                .link_speed_for(v, a)
                .min(self.vehs[v].speed_out.max(0.1));
            // Signal.
            let mut startup_wait = 0.0;
            let mut must_yield = self.net.mv_minor[mi];
            let dark = self.net.mv_signal[mi].is_some_and(|(s, _)| self.dark[s.index()]);
            if let Some((s, idx)) = self.net.mv_signal[mi]
                && !dark
            {
                let (phase, start) = self.signal_phase(s.index());
                let light = self.net.signals[s.index()].phases[phase].lights[idx as usize];
                let ok = light.passable()
                    || (light == Light::Yellow && tau - start <= va / (2.0 * decel));
                if !ok {
                    break;
                }
                if ready < start && light != Light::Yellow {
                    // Queued through the red: the queue starts moving only after the start-up
                    // lost time (which is the queue leader's loss to accelerating).
                    let go = start + self.cfg.startup_lost_time;
                    let unhindered = ready
                        .max(self.queue_free_at[q])
                        .max(self.link_free_at[ai])
                        .max(start);
                    startup_wait = (go - unhindered).max(0.0);
                    tau = tau.max(go);
                    if tau >= t1 {
                        break;
                    }
                }
                must_yield = light == Light::MinorGreen || (light == Light::Off && must_yield);
            }
            // Right of way: a yielding vehicle needs a gap in every stream with priority. One
            // that has stood at the head for the teleport time goes anyway, counted as a
            // teleport (SUMO takes it out and puts it on its next edge).
            let ttt = self.cfg.time_to_teleport;
            let patience_over = ttt > 0.0 && t0 - self.vehs[v].stuck_since >= ttt;
            let mut teleported = false;
            let length = self.types[self.vehs[v].vtype as usize].length;
            let moto = self.types[self.vehs[v].vtype as usize].class
                == crate::demand::VehicleClass::Motorbike;
            if dark {
                // All-way stop: everyone stops and yields to whoever came first.
                let clear = (2.0 * (self.net.mv_via_length[mi] + length) / accel).sqrt();
                if self.dark_foe_near(m, v, ready, tau, clear) {
                    if !patience_over {
                        break;
                    }
                    teleported = true;
                }
                must_yield = true;
            } else if must_yield && self.priority_foe_near(m, tau, accel, length, moto) {
                if !patience_over {
                    break;
                }
                teleported = true;
            }
            if self.closed[bi] {
                // Its route still uses a closed link: find another or take it out here.
                let times = self.current_link_times();
                if !self.reroute(v, &times) {
                    self.buffer[q].remove(i);
                    self.leave_link(v, a, tau);
                    self.vehs[v].state = VehicleState::Aborted;
                    self.vehs[v].ended = tau;
                    self.counters.aborted += 1;
                }
                continue;
            }
            let space = self.vehs[v].space;
            if !self.has_room(bi, space) {
                if patience_over {
                    teleported = true;
                } else {
                    match held[..n_held].iter().position(|h| h.0 == mi as u32) {
                        Some(j) => held[j].1 += 1,
                        None if n_held < MAX_HELD_MOVEMENTS => {
                            held[n_held] = (mi as u32, 1);
                            n_held += 1;
                        }
                        None => break,
                    }
                    let blocked: u32 = held[..n_held]
                        .iter()
                        .map(|&(hm, c)| c.min(self.net.mv_lanes[hm as usize].max(1)))
                        .sum();
                    if blocked < lanes && i + 1 < MAX_PASSED {
                        i += 1;
                        continue;
                    }
                    break;
                }
            }
            // Cross.
            if teleported {
                self.counters.teleports += 1;
            }
            self.buffer[q].remove(i);
            let pcu = self.vehs[v].pcu;
            let headway = if dark {
                self.counters.dark_crossings += 1;
                h.max(DARK_SIGNAL_HEADWAY)
            } else if must_yield {
                h.max(MINOR_FOLLOW_UP_HEADWAY)
            } else {
                h
            };
            self.queue_free_at[q] = tau + headway * pcu / self.net.queue_lanes[q] as f64;
            self.mv_last_pass[mi] = tau;
            self.link_free_at[ai] = tau + h * pcu / self.exit_lanes[ai];
            self.leave_link(v, a, tau);
            let vb = self.link_speed_for(v, b);
            let via_len = self.net.mv_via_length[mi];
            let mut extra = 0.0;
            let mut u = if via_len > 0.0 {
                let u_lim = via_len / self.net.mv_via_time[mi].max(1e-9);
                self.effective_speed(v, u_lim, self.speed_cap[bi])
            } else {
                va.min(vb)
            };
            if must_yield {
                // A driver who must give way approaches slowly enough to stop within the sight
                // distance at the stop line (SUMO connection `visibility`, default 4.5 m).
                u = u.min((2.0 * decel * MINOR_SIGHT_DISTANCE).sqrt());
            }
            extra += via_len / u;
            let stopped = dark || tau - ready >= 1.0;
            if stopped {
                // Braking to a stop and pulling away; a queue leader has already spent part of
                // the pulling away in the start-up lost time.
                extra += va / (2.0 * decel) + (u / (2.0 * accel) - startup_wait).max(0.0);
            } else if u < va {
                extra += (va - u).powi(2) / (2.0 * decel * va);
            }
            let (loss, v_end) = super::state::accel_on(self.net.link_length[bi], u, accel, vb);
            extra += loss;
            let veh = &mut self.vehs[v];
            veh.speed_out = v_end;
            veh.pos += 1;
            veh.route_length += via_len;
            self.enter_link(v, b, tau, extra);
        }
    }
}
