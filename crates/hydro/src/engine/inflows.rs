//! External and dry-weather inflows at nodes, with their time patterns
//! (SWMM inflow.c).

use super::*;

/// An external inflow at a node.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct ExtInflow {
    pub(super) node: usize,
    pub(super) table: Option<usize>,
    pub(super) sfactor: f64,
    pub(super) baseline: f64,
    pub(super) pattern: Option<usize>,
    /// Converts user flow to cfs.
    pub(super) cf: f64,
}

/// A dry-weather inflow at a node.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct DwfInflow {
    pub(super) node: usize,
    /// Average flow (cfs).
    pub(super) avg: f64,
    /// Patterns by slot: monthly, daily, hourly, weekend.
    pub(super) patterns: [Option<usize>; 4],
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct Pattern {
    pub(super) kind: u8, // 0 monthly, 1 daily, 2 hourly, 3 weekend
    pub(super) factors: Vec<f64>,
}

impl Engine {
    pub(super) fn add_external_inflows(&mut self, t: f64) {
        let mut q_node = std::mem::take(&mut self.scratch);
        q_node.clear();
        q_node.extend_from_slice(&self.nodes.api_inflow);
        let (month, dow, hour) = self.calendar(t);
        // Many inflows share a time series: each series is looked up once.
        let mut at_t = std::mem::take(&mut self.table_values);
        at_t.clear();
        at_t.resize(self.tables.len(), f64::NAN);
        for f in &self.ext_inflows {
            let mut blv = f.baseline;
            if let Some(p) = f.pattern {
                blv *= self.pattern_factor(p, month, dow, hour);
            }
            let tsv = f
                .table
                .map(|k| {
                    if at_t[k].is_nan() {
                        at_t[k] = self.tables[k].lookup(t, false);
                    }
                    at_t[k] * f.sfactor
                })
                .unwrap_or(0.0);
            q_node[f.node] += f.cf * (tsv + blv);
        }
        self.table_values = at_t;
        for (i, &q0) in q_node.iter().enumerate() {
            let q = if q0.abs() < FLOW_TOL { 0.0 } else { q0 };
            self.nodes.new_lat_flow[i] += q;
            if q >= 0.0 {
                self.step_rates.ex_inflow += q;
            } else {
                self.step_rates.outflow += -q;
            }
        }
        self.scratch = q_node;
        for (i, &q0) in self.nodes.assim_inflow.iter().enumerate() {
            let q = if q0.abs() < FLOW_TOL { 0.0 } else { q0 };
            self.nodes.new_lat_flow[i] += q;
            self.step_rates.assimilated += q;
        }
    }

    pub(super) fn add_dwf_inflows(&mut self, t: f64) {
        let (month, dow, hour) = self.calendar(t);
        for k in 0..self.dwf_inflows.len() {
            let d = &self.dwf_inflows[k];
            let mut f = 1.0;
            if let Some(p) = d.patterns[0] {
                f *= self.pattern_factor(p, month, dow, hour);
            }
            if let Some(p) = d.patterns[1] {
                f *= self.pattern_factor(p, month, dow, hour);
            }
            match (d.patterns[2], d.patterns[3]) {
                (h, Some(w)) => {
                    if dow == 0 || dow == 6 {
                        f *= self.pattern_factor(w, month, dow, hour);
                    } else if let Some(h) = h {
                        f *= self.pattern_factor(h, month, dow, hour);
                    }
                }
                (Some(h), None) => f *= self.pattern_factor(h, month, dow, hour),
                _ => {}
            }
            let mut q = f * d.avg;
            if q.abs() < FLOW_TOL {
                q = 0.0;
            }
            let node = d.node;
            self.nodes.new_lat_flow[node] += q;
            self.step_rates.dw_inflow += q;
        }
    }

    /// (month 0–11, day of week 0 = Sunday, hour 0–23) at elapsed time t.
    pub(super) fn calendar(&self, t: f64) -> (usize, usize, usize) {
        let abs = self.opt.start_epoch + t;
        let days = (abs / 86400.0).floor() as i64;
        let hour = ((abs - days as f64 * 86400.0) / 3600.0).floor() as usize;
        let dow = (days + 4).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
        let (_, m, _) = civil_from_days(days);
        (m as usize - 1, dow, hour.min(23))
    }

    pub(super) fn pattern_factor(&self, p: usize, month: usize, dow: usize, hour: usize) -> f64 {
        let pt = &self.patterns[p];
        let idx = match pt.kind {
            0 => Some(month),
            1 => Some(dow),
            2 => Some(hour),
            _ => {
                if dow == 0 || dow == 6 {
                    Some(hour)
                } else {
                    None
                }
            }
        };
        idx.and_then(|i| pt.factors.get(i).copied()).unwrap_or(1.0)
    }
}
