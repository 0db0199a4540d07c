//! Signal timing for a demand: Webster's retiming of fixed-time plans and the leading
//! protected left-turn phases added where a permissive left turn saturates.

use crate::network::{MovementId, Network};
use crate::signal::{
    Light, PERMITTED_LEFT_CRITICAL_HEADWAY, PERMITTED_LEFT_FOLLOW_UP, SIGNAL_ALL_RED_S,
    SIGNAL_AMBER_S, SNEAKERS_PER_CYCLE, SignalPhase, is_green_phase,
};

impl Network {
    /// Retime every fixed-time plan for the movement flows `flow` (PCU/h, one per movement) by
    /// Webster's method (Webster 1958, *Traffic Signal Settings*, Road Research Technical
    /// Paper 39; HCM 2010 ch. 31 and the ITE *Traffic Signal Timing Manual*, 2nd ed., 2015,
    /// ch. 5, for the conventions). The phases that show an amber are the change intervals:
    /// they and the all-red phases (no green, no amber) keep their durations, and their sum
    /// is the lost time `L` per cycle (start-up loss and amber used cancel, HCM's default).
    /// Every other phase is a green phase `i` whose critical flow ratio `yᵢ` is the largest,
    /// over the exit queues it serves, of the queue's flow over its saturation flow (lanes ×
    /// `3600 / headway`). The cycle is Webster's optimum `C₀ = (1.5 L + 5) / (1 − Y)`, `Y =
    /// Σ yᵢ`, kept within `[min_cycle, max_cycle]` (and at `max_cycle` once `Y ≥ 0.9`, where
    /// the formula no longer applies); the effective green `C − L` is shared in proportion to
    /// `yᵢ`, with at least `min_green` per phase. Returns the plans' new cycles.
    pub fn retime_webster(
        &mut self,
        flow: &[f64],
        headway: f64,
        min_green: f64,
        min_cycle: f64,
        max_cycle: f64,
    ) -> Vec<f64> {
        let sat = 3600.0 / headway;
        let mut q_flow = vec![0.0; self.queue_count()];
        for (m, f) in flow.iter().enumerate().take(self.movement_count()) {
            q_flow[self.mv_queue[m] as usize] += f.max(0.0);
        }
        let mut served: Vec<Vec<usize>> = vec![Vec::new(); self.signals.len()];
        for m in 0..self.movement_count() {
            if let Some((s, _)) = self.mv_signal[m] {
                served[s.index()].push(m);
            }
        }
        let mut cycles = Vec::with_capacity(self.signals.len());
        for (si, plan) in self.signals.iter_mut().enumerate() {
            let lost: f64 = plan
                .phases
                .iter()
                .filter(|p| !is_green_phase(p))
                .map(|p| p.duration)
                .sum();
            let ys: Vec<Option<f64>> = plan
                .phases
                .iter()
                .map(|p| {
                    is_green_phase(p).then(|| {
                        served[si]
                            .iter()
                            .filter(|&&m| {
                                let k = self.mv_signal[m].expect("served").1 as usize;
                                // A permissive movement that also has a protected phase is
                                // timed by that phase.
                                p.lights[k] == Light::Green
                                    || (p.lights[k] == Light::MinorGreen
                                        && !plan.phases.iter().any(|q| q.lights[k] == Light::Green))
                            })
                            .map(|&m| {
                                let q = self.mv_queue[m] as usize;
                                q_flow[q] / (self.queue_lanes[q] as f64 * sat)
                            })
                            .fold(0.0, f64::max)
                    })
                })
                .collect();
            let n_green = ys.iter().flatten().count();
            if n_green == 0 {
                cycles.push(plan.cycle);
                continue;
            }
            let y_sum: f64 = ys.iter().flatten().sum();
            let c = if y_sum >= 0.9 {
                max_cycle
            } else {
                ((1.5 * lost + 5.0) / (1.0 - y_sum)).clamp(min_cycle, max_cycle)
            };
            let c = c.max(lost + n_green as f64 * min_green);
            let eff = c - lost;
            // Shares in proportion to y, with a floor of min_green: phases below the floor get
            // it, the rest share what is left in proportion to y.
            let mut fixed = vec![false; ys.len()];
            loop {
                let free_y: f64 = ys
                    .iter()
                    .zip(&fixed)
                    .filter_map(|(y, f)| y.filter(|_| !f))
                    .sum();
                let n_fixed = fixed.iter().filter(|&&f| f).count() as f64;
                let left = eff - n_fixed * min_green;
                let mut changed = false;
                for (i, y) in ys.iter().enumerate() {
                    if let Some(y) = y
                        && !fixed[i]
                    {
                        let g = if free_y > 0.0 {
                            left * y / free_y
                        } else {
                            left / (n_green as f64 - n_fixed)
                        };
                        if g < min_green {
                            fixed[i] = true;
                            changed = true;
                        }
                    }
                }
                if !changed {
                    for (i, y) in ys.iter().enumerate() {
                        if let Some(y) = y {
                            plan.phases[i].duration = if fixed[i] {
                                min_green
                            } else if free_y > 0.0 {
                                left * y / free_y
                            } else {
                                left / (n_green as f64 - n_fixed)
                            };
                        }
                    }
                    break;
                }
            }
            plan.cycle = plan.phases.iter().map(|p| p.duration).sum();
            cycles.push(plan.cycle);
        }
        cycles
    }

    /// Add a leading protected left-turn phase where a permissive left turn saturates (both opposing left turns of an axis
    /// together, "lead-lead" dual lefts: NEMA phases 1 and 5; ITE *Traffic Signal Timing
    /// Manual*, 2nd ed., 2015, ch. 4) in front of every green phase in which a permissive
    /// left turn with its own pocket meets the cross-product warrant of the *Highway Capacity
    /// Manual* (HCM 2000, ch. 10, Appendix: left-turn volume × opposing through and right
    /// volume in the peak hour above 50,000 for one opposing lane, 90,000 for two, 110,000
    /// for three or more) and whose flow exceeds its permitted capacity — the gaps of the
    /// opposing flow `v₀` during its green, `v₀ exp(−v₀ t_c/3600) / (1 − exp(−v₀ t_f/3600))`
    /// per hour of green ([`PERMITTED_LEFT_CRITICAL_HEADWAY`], [`PERMITTED_LEFT_FOLLOW_UP`]),
    /// plus [`SNEAKERS_PER_CYCLE`] — on the movement flows `flow` (PCU/h, one per movement:
    /// the passenger-car units of mixed traffic stand for the manual's vehicles). The left turns
    /// keep their permissive green in the through phase (protected–permissive). The new
    /// phase is followed by [`SIGNAL_AMBER_S`] of amber for the left turns
    /// and [`SIGNAL_ALL_RED_S`] of all-red; its green starts at the minimum
    /// and is retimed with the rest by [`Network::retime_webster`]. Plans that already have a
    /// protected phase for a left turn are left as they are. Returns the number of phases
    /// added.
    pub fn add_protected_lefts(&mut self, flow: &[f64], min_green: f64) -> usize {
        let mut added = 0;
        let flow_of = |m: usize| flow.get(m).copied().unwrap_or(0.0).max(0.0);
        // Movements of each signal by link index.
        let mut by_index: Vec<Vec<(usize, u32)>> = vec![Vec::new(); self.signals.len()];
        for m in 0..self.movement_count() {
            if let Some((s, k)) = self.mv_signal[m] {
                by_index[s.index()].push((m, k));
            }
        }
        for (si, served) in by_index.iter().enumerate() {
            let mut i = 0;
            while i < self.signals[si].phases.len() {
                let phase = self.signals[si].phases[i].clone();
                let is_green =
                    !phase.lights.contains(&Light::Yellow) && phase.lights.contains(&Light::Green);
                if !is_green {
                    i += 1;
                    continue;
                }
                let plan = &self.signals[si];
                // Permissive left turns with their own pocket and no protected phase yet.
                let lefts: Vec<(usize, u32)> = served
                    .iter()
                    .copied()
                    .filter(|&(m, k)| {
                        phase.lights[k as usize] == Light::MinorGreen
                            && !plan
                                .phases
                                .iter()
                                .any(|p| p.lights[k as usize] == Light::Green)
                            && self.pocketed(m)
                    })
                    .collect();
                let warranted = lefts.iter().any(|&(m, _)| {
                    let foes: Vec<usize> = self
                        .priority_foes(MovementId(m as u32))
                        .iter()
                        .map(|f| f.index())
                        .filter(|&f| {
                            self.mv_signal[f].is_some_and(|(s, k)| {
                                s.index() == si && phase.lights[k as usize] == Light::Green
                            })
                        })
                        .collect();
                    let opposing: f64 = foes.iter().map(|&f| flow_of(f)).sum();
                    let lanes = foes
                        .iter()
                        .map(|&f| self.link_lanes[self.mv_from[f].index()])
                        .max()
                        .unwrap_or(1);
                    let threshold = match lanes {
                        0 | 1 => 50_000.0,
                        2 => 90_000.0,
                        _ => 110_000.0,
                    };
                    // Capacity of the permitted left turn over the plan's cycle: gaps in
                    // the opposing flow during this green, plus the turners that clear at
                    // its end.
                    let plan = &self.signals[si];
                    let c = plan.cycle.max(1.0);
                    let sp = if opposing > 0.0 {
                        opposing * (-opposing * PERMITTED_LEFT_CRITICAL_HEADWAY / 3600.0).exp()
                            / (1.0 - (-opposing * PERMITTED_LEFT_FOLLOW_UP / 3600.0).exp())
                    } else {
                        f64::INFINITY
                    };
                    let capacity = sp * phase.duration / c + SNEAKERS_PER_CYCLE * 3600.0 / c;
                    flow_of(m) * opposing > threshold && flow_of(m) > capacity
                });
                if !warranted {
                    i += 1;
                    continue;
                }
                let n = phase.lights.len();
                let mut green = vec![Light::Red; n];
                let mut amber = vec![Light::Red; n];
                for &(_, k) in &lefts {
                    green[k as usize] = Light::Green;
                    amber[k as usize] = Light::Yellow;
                }
                let new = [
                    SignalPhase {
                        duration: min_green,
                        lights: green,
                    },
                    SignalPhase {
                        duration: SIGNAL_AMBER_S,
                        lights: amber,
                    },
                    SignalPhase {
                        duration: SIGNAL_ALL_RED_S,
                        lights: vec![Light::Red; n],
                    },
                ];
                let plan = &mut self.signals[si];
                plan.phases.splice(i..i, new);
                plan.cycle = plan.phases.iter().map(|p| p.duration).sum();
                added += 1;
                i += 4;
            }
        }
        added
    }

    /// Whether movement `m` has an exit queue of its own (a turn pocket or lane): no other
    /// movement of its link shares the queue.
    fn pocketed(&self, m: usize) -> bool {
        let q = self.mv_queue[m];
        self.out_movements(self.mv_from[m])
            .all(|k| k.index() == m || self.mv_queue[k.index()] != q)
    }
}
