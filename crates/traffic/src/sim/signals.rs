//! The signal state the simulation sees: the phase of each signal in the current step, from
//! its fixed plan or from adaptive control ([`super::adaptive`]), and the decisions recorded.

use super::config::SignalControl;
use super::records::SignalProposal;
use super::state::Simulation;
use crate::network::{MovementId, SignalId};

impl Simulation {
    /// Phase index and start time of signal `s` in the current step.
    pub(super) fn signal_phase(&mut self, s: usize) -> (usize, f64) {
        if self.cfg.signal_control != SignalControl::FixedTime && !self.cfg.propose_only {
            let (p, start, _) = self.adaptive[s];
            return (p, start);
        }
        let step = self.counters.steps;
        if self.sig_stamp[s] != step {
            let t0 = self.time;
            let (i, since) = self.net.signals[s].phase_at(t0);
            self.sig_phase[s] = (i, t0 - since);
            self.sig_stamp[s] = step;
        }
        self.sig_phase[s]
    }

    /// For each movement under signal `s`, the movements of its junction from other approaches
    /// whose paths it crosses or merges with ([`crate::road_net::movements_conflict`] on the
    /// straight lines between the junctions): who yields to whom once the signal is dark.
    pub(super) fn set_dark_foes(&mut self, s: usize) {
        let net = &self.net;
        let heading = |l: usize| {
            let (p, q) = (net.link_from[l].index(), net.link_to[l].index());
            (net.node_y[q] - net.node_y[p]).atan2(net.node_x[q] - net.node_x[p])
        };
        let legs = |m: usize| {
            let (a, b) = (net.mv_from[m].index(), net.mv_to[m].index());
            (heading(a) + std::f64::consts::PI, heading(b), b)
        };
        let ms: Vec<usize> = self.sig_movements[s]
            .iter()
            .map(|(m, _)| m.index())
            .collect();
        for &m in &ms {
            let (i1, o1, t1) = legs(m);
            let foes: Vec<MovementId> = ms
                .iter()
                .copied()
                .filter(|&k| net.mv_from[k] != net.mv_from[m])
                .filter(|&k| {
                    let (i2, o2, t2) = legs(k);
                    crate::road_net::movements_conflict(i1, o1, t1, i2, o2, t2)
                })
                .map(|k| MovementId(k as u32))
                .collect();
            self.dark_foes[m] = foes;
        }
    }

    /// Whether signal `s` is dark.
    pub fn signal_dark(&self, s: SignalId) -> bool {
        self.dark.get(s.index()).copied().unwrap_or(false)
    }

    /// Signal decisions of adaptive control: in propose-only mode what it would have applied,
    /// otherwise what it applied (time, signal, phase ended, green phase next, green length).
    pub fn signal_proposals(&self) -> &[SignalProposal] {
        &self.proposals
    }
}
