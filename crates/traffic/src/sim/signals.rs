//! The signal state the simulation sees: the phase of each signal in the current step, from
//! its fixed plan or from adaptive control ([`super::adaptive`]), and the decisions recorded.

use super::config::SignalControl;
use super::records::SignalProposal;
use super::state::Simulation;

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

    /// Signal decisions of adaptive control: in propose-only mode what it would have applied,
    /// otherwise what it applied (time, signal, phase ended, green phase next, green length).
    pub fn signal_proposals(&self) -> &[SignalProposal] {
        &self.proposals
    }
}
