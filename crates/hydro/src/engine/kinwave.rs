//! Kinematic-wave and steady-flow routing over the network's tree order,
//! with flow dividers (SWMM kinwave.c, flowrout.c).

use super::*;

impl Engine {
    /// Links in upstream-to-downstream order, as kinematic-wave routing needs
    /// (SWMM toposort.c): Kahn's sort with a first-in first-out queue of
    /// nodes, each node's outflow links in input order except that a
    /// divider's non-diverted link comes before its diverted one (the
    /// overflow rule needs the first link's flow). Errors on cycles.
    pub(super) fn topo_sort(&self) -> Result<Vec<usize>, EngineError> {
        let nn = self.node_count();
        let nl = self.link_count();
        let mut indeg = vec![0usize; nn];
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); nn];
        for j in 0..nl {
            indeg[self.links.node2[j]] += 1;
            out[self.links.node1[j]].push(j);
        }
        for (i, o) in out.iter_mut().enumerate() {
            if let NodeKind::Divider(d) = &self.nodes.kind[i]
                && o.len() == 2
                && o[0] == d.link
            {
                o.swap(0, 1);
            }
        }
        let mut queue: std::collections::VecDeque<usize> =
            (0..nn).filter(|&i| indeg[i] == 0).collect();
        let mut order = Vec::with_capacity(nl);
        while let Some(i) = queue.pop_front() {
            for &j in &out[i] {
                order.push(j);
                let n2 = self.links.node2[j];
                indeg[n2] -= 1;
                if indeg[n2] == 0 {
                    queue.push_back(n2);
                }
            }
        }
        if order.len() != nl {
            return Err(invalid(
                "CONDUITS",
                "",
                "the network has a loop, which kinematic-wave routing cannot route",
            ));
        }
        Ok(order)
    }

    /// One kinematic-wave routing step (SWMM flowrout.c / kinwave.c): each
    /// conduit, upstream first, solves continuity with the Manning relation at
    /// its outlet end (Vol. II ch. 5, weighting factors 0.6).
    pub(super) fn kinwave_execute(&mut self, dt: f64) {
        let nn = self.node_count();
        let order = std::mem::take(&mut self.sorted_links);
        let mut updated = std::mem::take(&mut self.kw_updated);
        updated.clear();
        updated.resize(nn, false);
        for (pos, &j) in order.iter().enumerate() {
            let n1 = self.links.node1[j];
            if self.is_storage(n1) && !updated[n1] {
                self.kw_update_storage(n1, &order[pos..], dt);
                updated[n1] = true;
            }
            let mut qin = self.kw_link_inflow(j, dt);
            let qout = if !self.links.is_conduit(j) {
                qin
            } else if self.opt.route_model == RouteModel::Steady {
                self.steady_link(j, &mut qin)
            } else {
                self.kinwave_link(j, &mut qin, dt)
            };
            self.links.new_flow[j] = qout;
            self.nodes.outflow[n1] += qin;
            let n2 = self.links.node2[j];
            self.nodes.inflow[n2] += qout;
        }
        self.sorted_links = order;
        // setNewNodeState
        for (i, &done) in updated.iter().enumerate() {
            if self.is_storage(i) {
                if !done {
                    self.kw_update_storage(i, &[], dt);
                }
                continue;
            }
            let n = &mut self.nodes;
            let net = n.inflow[i] - n.outflow[i];
            n.new_volume[i] = n.old_volume[i] + net * dt;
            if n.new_volume[i] < FUDGE {
                n.new_volume[i] = 0.0;
            }
            n.overflow[i] = 0.0;
            let can_pond = self.opt.allow_ponding && n.ponded_area[i] > 0.0;
            if n.new_volume[i] > n.full_volume[i] {
                n.overflow[i] = (n.new_volume[i] - n.old_volume[i].max(n.full_volume[i])) / dt;
                if n.overflow[i] < FUDGE {
                    n.overflow[i] = 0.0;
                }
                if !can_pond {
                    n.new_volume[i] = n.full_volume[i];
                }
            }
            n.new_depth[i] = 0.0;
        }
        self.kw_updated = updated;
        // setNewLinkState
        for j in 0..self.link_count() {
            if !self.links.is_conduit(j) {
                self.links.new_depth[j] = 0.0;
                self.links.new_volume[j] = 0.0;
                continue;
            }
            let x = &self.links.xsect[j];
            let a = 0.5 * (self.links.a1[j] + self.links.a2[j]);
            self.links.new_volume[j] = a * self.links.length[j] * self.links.barrels[j];
            let y1 = x.y_of_a(self.links.a1[j]);
            let y2 = x.y_of_a(self.links.a2[j]);
            self.links.new_depth[j] = 0.5 * (y1 + y2);
            let (n1, n2) = (self.links.node1[j], self.links.node2[j]);
            self.kw_update_node_depth(n1, y1 + self.links.offset1[j]);
            self.kw_update_node_depth(n2, y2 + self.links.offset2[j]);
        }
    }

    /// Flow a link draws from its upstream node under kinematic wave (SWMM
    /// flowrout.c getLinkInflow): a conduit takes what the node passes on, a
    /// pump its curve's flow, a regulator leaving a storage unit its rating;
    /// never more than the node holds (node_getMaxOutflow).
    pub(super) fn kw_link_inflow(&mut self, j: usize, dt: f64) -> f64 {
        let n1 = self.links.node1[j];
        let q = if self.links.setting[j] == 0.0 {
            0.0
        } else {
            match self.links.kind[j] {
                LinkKind::Conduit | LinkKind::Dummy => {
                    let q = self.node_outflow(n1, j);
                    let ql = self.links.q_limit[j];
                    if ql > 0.0 { q.min(ql) } else { q }
                }
                LinkKind::Pump { .. } => self.pump_inflow(j),
                _ if !self.is_storage(n1) => 0.0,
                LinkKind::Orifice { .. } => self.orifice_inflow(j),
                LinkKind::Weir { .. } => self.weir_inflow(j),
                LinkKind::Outlet { .. } => self.outlet_inflow(j),
            }
        };
        let n = &self.nodes;
        let mut q = q;
        if n.full_volume[n1] > 0.0 {
            let q_max = n.inflow[n1] + n.old_volume[n1] / dt;
            if q > q_max {
                q = q_max;
            }
        }
        q.max(0.0)
    }

    /// Flow node `i` passes to conduit `j` (SWMM node.c node_getOutflow): a
    /// storage unit the conduit's normal flow at the stored depth, a divider
    /// its split, any other node all it receives.
    pub(super) fn node_outflow(&self, i: usize, j: usize) -> f64 {
        let n = &self.nodes;
        match &n.kind[i] {
            NodeKind::Storage(_) => {
                let y = n.new_depth[i] - self.links.offset1[j];
                let x = &self.links.xsect[j];
                if y <= 0.0 {
                    0.0
                } else if y >= x.y_full {
                    self.links.q_full[j]
                } else {
                    self.links.beta[j] * x.s_of_a(x.a_of_y(y))
                }
            }
            NodeKind::Divider(d) => self.divider_outflow(i, d, j),
            _ => n.inflow[i] + n.overflow[i],
        }
    }

    /// Flow a divider sends into link `k` (SWMM node.c divider_getOutflow).
    pub(super) fn divider_outflow(&self, i: usize, d: &Divider, k: usize) -> f64 {
        let n = &self.nodes;
        let q_in = n.inflow[i] + n.overflow[i];
        let qcf = self.opt.ucf_flow();
        let diverted = match d.rule {
            DividerRule::Overflow => {
                let q = if k != d.link {
                    q_in
                } else {
                    q_in - n.outflow[i]
                };
                return if q < FLOW_TOL { 0.0 } else { q };
            }
            DividerRule::Cutoff(q_min) => (q_in - q_min).max(0.0),
            DividerRule::Weir {
                q_min,
                dh_max,
                c_weir,
                q_max,
            } => {
                if q_in <= q_min {
                    0.0
                } else {
                    let f = (q_in - q_min) / (q_max - q_min);
                    if f > 1.0 {
                        q_max * f.sqrt()
                    } else {
                        c_weir * (f * dh_max).powf(1.5) / qcf
                    }
                }
            }
            DividerRule::Tabular(c) => self.curves[c].lookup(q_in * qcf) / qcf,
        };
        let diverted = diverted.min(q_in);
        if k == d.link {
            diverted
        } else {
            q_in - diverted
        }
    }

    /// Storage depth and volume under kinematic wave (SWMM flowrout.c
    /// updateStorageState): iterates the volume balance against the outflow
    /// of the links in `out` that leave the node.
    pub(super) fn kw_update_storage(&mut self, i: usize, out: &[usize], dt: f64) {
        const OMEGA_KW: f64 = 0.55;
        let v_fixed = self.nodes.old_volume[i]
            + 0.5
                * (self.nodes.old_net_inflow[i] + self.nodes.inflow[i] - self.nodes.outflow[i])
                * dt;
        let mut d1 = self.nodes.new_depth[i];
        for _ in 1..10 {
            let mut outflow = 0.0;
            for &m in out {
                if self.links.node1[m] != i {
                    break;
                }
                outflow += self.kw_link_inflow(m, dt);
            }
            let mut v2 = (v_fixed - 0.5 * outflow * dt).max(0.0);
            self.nodes.overflow[i] = 0.0;
            let full = self.nodes.full_volume[i];
            if v2 > full {
                let of = (v2 - self.nodes.old_volume[i].max(full)) / dt;
                self.nodes.overflow[i] = if of < FUDGE { 0.0 } else { of };
                if !self.opt.allow_ponding || self.nodes.ponded_area[i] == 0.0 {
                    v2 = full;
                }
            }
            self.nodes.new_volume[i] = v2;
            let d2 = self.storage_depth(i, v2);
            self.nodes.new_depth[i] = d2;
            let d2 = (1.0 - OMEGA_KW) * d1 + OMEGA_KW * d2;
            let stop = (d2 - d1).abs() <= 0.005;
            d1 = d2;
            if stop {
                break;
            }
        }
    }

    /// Storage depth (ft) holding volume v (ft³), by bisection on the volume relation.
    pub(super) fn storage_depth(&self, i: usize, v: f64) -> f64 {
        let full = self.nodes.full_depth[i];
        if self.nodes.full_volume[i] > 0.0 && v >= self.nodes.full_volume[i] {
            return full;
        }
        if v <= 0.0 {
            return 0.0;
        }
        let (mut lo, mut hi) = (0.0, full);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if self.node_volume(i, mid) < v {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    pub(super) fn kw_update_node_depth(&mut self, i: usize, y: f64) {
        if self.is_storage(i) {
            return;
        }
        let n = &mut self.nodes;
        let mut y = y;
        if !matches!(n.kind[i], NodeKind::Outfall { .. }) && n.degree[i] > 0 && n.overflow[i] > 0.0
        {
            y = n.full_depth[i];
        }
        if n.new_depth[i] < y {
            n.new_depth[i] = y;
            if n.full_depth[i] > 0.0 && y > n.full_depth[i] {
                n.new_depth[i] = n.full_depth[i];
            }
        }
    }

    /// Steady-flow routing of one conduit (SWMM flowrout.c
    /// steadyflow_execute; Vol. II ch. 4): its outflow is its inflow less
    /// seepage, capped at full flow, over the normal-flow area; returns the
    /// outflow (cfs, all barrels) and updates `qin` to the accepted inflow.
    pub(super) fn steady_link(&mut self, j: usize, qin_total: &mut f64) -> f64 {
        let barrels = self.links.barrels[j];
        let mut q = *qin_total / barrels;
        let (evap, seep, loss) = self.conduit_losses(j, self.links.new_depth[j], q.abs());
        self.links.evap_loss[j] = evap;
        self.links.seep_loss[j] = seep;
        q -= loss;
        let x = &self.links.xsect[j];
        let a = if q > self.links.q_full[j] {
            q = self.links.q_full[j];
            *qin_total = q * barrels;
            x.a_full
        } else {
            x.a_of_s(q / self.links.beta[j])
        };
        let l = &mut self.links;
        l.a1[j] = a;
        l.a2[j] = a;
        l.q1[j] = q;
        l.q2[j] = q;
        q * barrels
    }

    /// Kinematic-wave solution for one conduit; returns outflow (cfs, all barrels)
    /// and updates `qin` to the accepted inflow.
    pub(super) fn kinwave_link(&mut self, j: usize, qin_total: &mut f64, dt: f64) -> f64 {
        const WX: f64 = 0.6;
        const WT: f64 = 0.6;
        let x = self.links.xsect[j].clone();
        let barrels = self.links.barrels[j];
        let q_full = self.links.q_full[j];
        let a_full = x.a_full;
        let beta1 = self.links.beta[j] / q_full;
        let q1 = self.links.q1[j] / q_full;
        let q2 = self.links.q2[j] / q_full;
        let mut qin = *qin_total / barrels / q_full;
        let (evap, seep, loss) =
            self.conduit_losses(j, self.links.new_depth[j], (qin * q_full).abs());
        self.links.evap_loss[j] = evap;
        self.links.seep_loss[j] = seep;
        let q3 = loss / q_full;
        let a1 = self.links.a1[j] / a_full;
        let a2 = self.links.a2[j] / a_full;
        let ain = if qin >= 1.0 {
            1.0
        } else {
            x.a_of_s(qin / beta1) / a_full
        };
        let (qout, aout);
        if qin <= 1e-6 && q2 <= 1e-6 {
            qout = 0.0;
            aout = 0.0;
        } else {
            let dxdt = self.links.length[j] / dt * a_full / q_full;
            let dq = q2 - q1;
            let c1 = dxdt * WT / WX;
            let mut c2 = (1.0 - WT) * (ain - a1);
            c2 -= WT * a2;
            c2 *= dxdt / WX;
            c2 += (1.0 - WX) / WX * dq - qin;
            c2 += q3 / WX;
            let f = |a: f64| beta1 * x.s_of_a(a * a_full) + c1 * a + c2;
            let mut a_hi = 1.0;
            let mut f_hi = 1.0 + c1 + c2;
            let mut a_lo = x.a_max_frac();
            let mut f_lo = if a_lo < a_hi {
                beta1 * x.s_max + c1 * a_lo + c2
            } else {
                f_hi
            };
            if f_hi * f_lo > 0.0 {
                a_hi = a_lo;
                f_hi = f_lo;
                a_lo = 0.0;
                f_lo = c2;
            }
            if f_hi * f_lo <= 0.0 {
                // Safeguarded Newton on the bracket, stopping when the step is
                // below 0.001 of full area (SWMM findroot_Newton with EPSIL).
                let a0 = if a2 < a_lo || a2 > a_hi {
                    0.5 * (a_lo + a_hi)
                } else {
                    a2
                };
                let (xlo, xhi) = if f_lo > f_hi {
                    (a_hi, a_lo)
                } else {
                    (a_lo, a_hi)
                };
                let a = crate::xsect::find_root_newton(xlo, xhi, a0, 0.001, |a| {
                    (f(a), beta1 * a_full * x.ds_da(a * a_full) + c1)
                });
                aout = a;
            } else if f_lo < 0.0 {
                aout = if qin > 1.0 { ain } else { 1.0 };
            } else {
                aout = 0.0;
            }
            qout = beta1 * x.s_of_a(aout * a_full);
            if qin > 1.0 {
                qin = 1.0;
            }
        }
        let l = &mut self.links;
        l.q1[j] = qin * q_full;
        l.a1[j] = ain * a_full;
        l.q2[j] = qout * q_full;
        l.a2[j] = aout * a_full;
        *qin_total = l.q1[j] * barrels;
        l.q2[j] * barrels
    }

    pub(super) fn flap_blocks(&self, j: usize, n1: usize, n2: usize, q: f64) -> bool {
        if self.links.flap_gate[j] && q * self.links.direction[j] < 0.0 {
            return true;
        }
        let n = if q < 0.0 {
            Some(n2)
        } else if q > 0.0 {
            Some(n1)
        } else {
            None
        };
        matches!(
            n.map(|n| &self.nodes.kind[n]),
            Some(NodeKind::Outfall { gated: true, .. })
        )
    }

    pub(super) fn check_normal_flow(
        &self,
        j: usize,
        q: f64,
        y1: f64,
        y2: f64,
        a1: f64,
        r1: f64,
    ) -> f64 {
        let (n1, n2) = (self.links.node1[j], self.links.node2[j]);
        let has_outfall = self.is_outfall(n1) || self.is_outfall(n2);
        let nfl = self.opt.normal_flow_limit;
        let mut check = false;
        if (matches!(nfl, NormalFlowLimit::Slope | NormalFlowLimit::Both) || has_outfall) && y1 < y2
        {
            check = true;
        }
        if !check
            && matches!(nfl, NormalFlowLimit::Froude | NormalFlowLimit::Both)
            && !has_outfall
            && y1 > FUDGE
            && y2 > FUDGE
        {
            let f1 = self.froude(j, q / a1, y1, Some(a1));
            if f1 >= 1.0 {
                check = true;
            }
        }
        if check {
            let q_norm = self.links.beta[j] * a1 * r1.powf(2.0 / 3.0);
            if q_norm < q {
                return q_norm;
            }
        }
        q
    }
}
