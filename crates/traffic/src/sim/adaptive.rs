//! Adaptive signal control: max-pressure (Varaiya 2013) and fully actuated control
//! ([`super::SignalControl`]); in propose-only mode the decisions are recorded without being
//! applied.

use super::records::SignalProposal;
use super::state::Simulation;
use crate::network::Light;
use crate::signal::is_green_phase;

impl Simulation {
    /// Max-pressure decisions at the start of a step.
    pub(super) fn update_adaptive(&mut self, t0: f64, min_green: f64) {
        for s in 0..self.net.signals.len() {
            let (cur, start, next) = self.adaptive[s];
            let plan = &self.net.signals[s];
            let elapsed = t0 - start;
            let phase = &plan.phases[cur];
            if !is_green_phase(phase) {
                if elapsed >= phase.duration - 1e-9 {
                    let to = next.unwrap_or((cur + 1) % plan.phases.len());
                    self.adaptive[s] = (to, t0, None);
                }
                continue;
            }
            if elapsed < min_green - 1e-9 {
                continue;
            }
            let mut best = (f64::NEG_INFINITY, cur);
            for (i, p) in plan.phases.iter().enumerate() {
                if !is_green_phase(p) {
                    continue;
                }
                let mut pressure = 0.0;
                for &(m, idx) in &self.sig_movements[s] {
                    if !matches!(p.lights[idx as usize], Light::Green | Light::MinorGreen) {
                        continue;
                    }
                    let b = self.net.mv_to[m.index()];
                    let q = self.net.mv_queue[m.index()] as usize;
                    let waiting = self.buffer[q]
                        .iter()
                        .filter(|&&v| {
                            let veh = &self.vehs[v as usize];
                            veh.route.get(veh.pos as usize + 1) == Some(&b)
                        })
                        .count() as f64;
                    let exits = self.net.out_movements(b).count().max(1) as f64;
                    let downstream = self.on_link[b.index()] as f64 / exits;
                    pressure += self.net.mv_lanes[m.index()] as f64 * (waiting - downstream);
                }
                // Ties keep the current phase, then the lower index.
                if pressure > best.0 + 1e-9 || (i == cur && pressure >= best.0 - 1e-9) {
                    best = (pressure, i);
                }
            }
            let to = best.1;
            if to != cur {
                self.proposals.push(SignalProposal {
                    time: t0,
                    signal: plan.name.clone(),
                    from_phase: cur,
                    to_phase: to,
                    green: elapsed,
                });
                let plan = &self.net.signals[s];
                let after = (cur + 1) % plan.phases.len();
                if plan.phases[after].lights.contains(&Light::Yellow) {
                    self.adaptive[s] = (after, t0, Some(to));
                } else {
                    self.adaptive[s] = (to, t0, None);
                }
            }
        }
    }

    /// Whether a vehicle waits at, or will reach within `gap` s, the stop line of a
    /// movement of signal `s` that phase `p` serves (stop-line and advance detection).
    pub(super) fn phase_demand(&self, s: usize, p: usize, t0: f64, gap: f64) -> bool {
        let plan = &self.net.signals[s];
        self.sig_movements[s].iter().any(|&(m, idx)| {
            if !matches!(
                plan.phases[p].lights[idx as usize],
                Light::Green | Light::MinorGreen
            ) {
                return false;
            }
            let b = self.net.mv_to[m.index()];
            let q = self.net.mv_queue[m.index()] as usize;
            let goes = |v: u32| {
                let veh = &self.vehs[v as usize];
                veh.route.get(veh.pos as usize + 1) == Some(&b)
            };
            if self.buffer[q].iter().any(|&v| goes(v)) {
                return true;
            }
            let a = self.net.mv_from[m.index()].index();
            self.running[a]
                .iter()
                .take_while(|&&(r, _)| r <= t0 + gap)
                .any(|&(_, v)| goes(v))
        })
    }

    /// Actuated decisions at the start of a step (see [`SignalControl::Actuated`]).
    pub(super) fn update_actuated(&mut self, t0: f64, min_green: f64, max_green: f64, gap: f64) {
        for s in 0..self.net.signals.len() {
            let (cur, start, next) = self.adaptive[s];
            let n = self.net.signals[s].phases.len();
            let elapsed = t0 - start;
            let phase = &self.net.signals[s].phases[cur];
            if !is_green_phase(phase) {
                if elapsed >= phase.duration - 1e-9 {
                    let to = next.unwrap_or((cur + 1) % n);
                    self.adaptive[s] = (to, t0, None);
                }
                continue;
            }
            if elapsed < min_green - 1e-9 {
                continue;
            }
            let maxed = elapsed >= max_green - 1e-9;
            if !maxed && self.phase_demand(s, cur, t0, gap) {
                continue;
            }
            // Gap-out or max-out: the next green phase in plan order with a waiting vehicle.
            let Some(to) = (1..n).map(|k| (cur + k) % n).find(|&p| {
                is_green_phase(&self.net.signals[s].phases[p]) && self.phase_demand(s, p, t0, 0.0)
            }) else {
                continue;
            };
            self.proposals.push(SignalProposal {
                time: t0,
                signal: self.net.signals[s].name.clone(),
                from_phase: cur,
                to_phase: to,
                green: elapsed,
            });
            let after = (cur + 1) % n;
            if self.net.signals[s].phases[after]
                .lights
                .contains(&Light::Yellow)
            {
                self.adaptive[s] = (after, t0, Some(to));
            } else {
                self.adaptive[s] = (to, t0, None);
            }
        }
    }
}
