//! Dynamic-wave routing (SWMM dynwave.c, dwflow.c): Picard iterations of
//! conduit momentum and node continuity, swept in parallel on large networks.

use super::*;

/// Result of one node's depth update, applied after all nodes are solved.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct NodeOut {
    pub(super) overflow: f64,
    pub(super) old_surf_area: Option<f64>,
    pub(super) new_volume: Option<f64>,
    pub(super) dydt: f64,
    pub(super) new_depth: f64,
}

/// A node's flows, surface area and ∂Q/∂H summed over a trial.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct NodeAcc {
    pub(super) inflow: f64,
    pub(super) outflow: f64,
    pub(super) surf_area: f64,
    pub(super) sumdqdh: f64,
}

/// A conduit's own values from the previous trial that its momentum solution reads.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(super) struct ConduitPrev {
    pub(super) q1: f64,
    pub(super) depth: f64,
    pub(super) volume: f64,
}

/// The conduits at each node, for gathering node flows in parallel.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct ConduitAdjacency {
    /// `ends[start[i]..start[i + 1]]`: conduit ends at node i, in link order,
    /// each `2 * link + (0 upstream, 1 downstream)`.
    pub(super) start: Vec<usize>,
    pub(super) ends: Vec<u32>,
    /// Links with an outfall at either end.
    pub(super) outfall_links: Vec<usize>,
    /// Number of pumps, orifices, weirs and outlets.
    pub(super) non_conduits: usize,
}

/// The smallest of `start` and the values `f` gives for 0..n, swept in
/// parallel on large networks (a minimum does not depend on the order).
pub(super) fn par_min(n: usize, start: f64, f: impl Fn(usize) -> Option<f64> + Sync) -> f64 {
    use rayon::prelude::*;
    let smaller = |a: f64, b: f64| if b < a { b } else { a };
    (0..n)
        .into_par_iter()
        .with_min_len(min_len(n))
        .fold(|| start, |m, i| f(i).map_or(m, |t| smaller(m, t)))
        .reduce(|| start, smaller)
}

/// Splitting length of parallel sweeps: small networks run on one thread.
pub(super) fn min_len(n: usize) -> usize {
    if n >= PARALLEL_MIN_LINKS {
        256
    } else {
        n.max(1)
    }
}

/// Result of one conduit's momentum solution, applied after all conduits are solved.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(super) struct ConduitOut {
    pub(super) flow_class: FlowClass,
    pub(super) surf_area1: f64,
    pub(super) surf_area2: f64,
    pub(super) froude: f64,
    pub(super) dqdh: f64,
    pub(super) a1: f64,
    pub(super) q1: f64,
    pub(super) new_depth: f64,
    pub(super) new_volume: f64,
    pub(super) new_flow: f64,
    /// Evaporation loss rate per barrel (ft³/s); zero unless the conduit flows.
    pub(super) evap_loss: f64,
    /// Seepage loss rate per barrel (ft³/s); zero unless the conduit flows.
    pub(super) seep_loss: f64,
}

impl Default for ConduitOut {
    fn default() -> Self {
        ConduitOut {
            flow_class: FlowClass::Dry,
            surf_area1: 0.0,
            surf_area2: 0.0,
            froude: 0.0,
            dqdh: 0.0,
            a1: 0.0,
            q1: 0.0,
            new_depth: 0.0,
            new_volume: 0.0,
            new_flow: 0.0,
            evap_loss: 0.0,
            seep_loss: 0.0,
        }
    }
}

impl Engine {
    /// The conduit ends at each node in link order, and the outfall links.
    pub(super) fn build_adjacency(&self) -> ConduitAdjacency {
        let (nn, nl) = (self.node_count(), self.link_count());
        let l = &self.links;
        let mut count = vec![0usize; nn + 1];
        for j in (0..nl).filter(|&j| l.is_conduit(j)) {
            count[l.node1[j] + 1] += 1;
            count[l.node2[j] + 1] += 1;
        }
        for i in 0..nn {
            count[i + 1] += count[i];
        }
        let mut fill = count.clone();
        let mut ends = vec![0u32; count[nn]];
        for j in (0..nl).filter(|&j| l.is_conduit(j)) {
            for (node, end) in [(l.node1[j], 0u32), (l.node2[j], 1u32)] {
                ends[fill[node]] = (j as u32) << 1 | end;
                fill[node] += 1;
            }
        }
        ConduitAdjacency {
            start: count,
            ends,
            outfall_links: (0..nl)
                .filter(|&j| self.is_outfall(l.node1[j]) || self.is_outfall(l.node2[j]))
                .collect(),
            non_conduits: (0..nl).filter(|&j| !l.is_conduit(j)).count(),
        }
    }

    pub(super) fn dynwave_execute(&mut self, dt: f64) -> usize {
        self.nodes.converged.fill(false);
        self.nodes.dydt.fill(0.0);
        let l = &mut self.links;
        l.surf_area1.fill(0.0);
        l.surf_area2.fill(0.0);
        l.a2.copy_from_slice(&l.a1);
        let has_regulators = self.conduit_adj.non_conduits > 0;
        self.steps_this = 0;
        let mut converged = false;
        while self.steps_this < self.opt.max_trials {
            self.all_conduit_flows(dt);
            for k in 0..self.conduit_adj.outfall_links.len() {
                self.set_outfall_depth(self.conduit_adj.outfall_links[k]);
            }
            if has_regulators {
                // Node flows from the conduits, then pumps and regulators in
                // link order (they read the node state built so far).
                self.node_sweep(dt, true, false);
                for j in 0..self.link_count() {
                    if !self.links.is_conduit(j) {
                        if !self.bypassed(j) {
                            self.non_conduit_flow(j, dt);
                        }
                        self.update_node_flows(j);
                    }
                }
                converged = self.node_sweep(dt, false, true);
            } else {
                converged = self.node_sweep(dt, true, true);
            }
            self.steps_this += 1;
            if self.steps_this > 1 && converged {
                break;
            }
        }
        if !converged {
            self.nonconverged += 1;
        }
        self.steps_this
    }

    /// Whether link j is skipped this iteration: from the third trial on, a
    /// link whose end nodes both converged keeps its flow (SWMM dynwave.c).
    pub(super) fn bypassed(&self, j: usize) -> bool {
        self.steps_this >= 2
            && self.nodes.converged[self.links.node1[j]]
            && self.nodes.converged[self.links.node2[j]]
    }

    /// Momentum solution of every conduit not bypassed, written straight into
    /// the link arrays. Each conduit reads node state and its own previous
    /// values and writes only its own entries, so large networks are solved
    /// in parallel with results identical for any thread count.
    pub(super) fn all_conduit_flows(&mut self, dt: f64) {
        use rayon::prelude::*;
        let l = &mut self.links;
        let mut class = std::mem::take(&mut l.flow_class);
        let mut sa1 = std::mem::take(&mut l.surf_area1);
        let mut sa2 = std::mem::take(&mut l.surf_area2);
        let mut froude = std::mem::take(&mut l.froude);
        let mut dqdh = std::mem::take(&mut l.dqdh);
        let mut a1 = std::mem::take(&mut l.a1);
        let mut q1 = std::mem::take(&mut l.q1);
        let mut depth = std::mem::take(&mut l.new_depth);
        let mut volume = std::mem::take(&mut l.new_volume);
        let mut flow = std::mem::take(&mut l.new_flow);
        let mut evap = std::mem::take(&mut l.evap_loss);
        let mut seep = std::mem::take(&mut l.seep_loss);
        let nl = class.len();
        let this = &*self;
        (
            class.par_iter_mut(),
            sa1.par_iter_mut(),
            sa2.par_iter_mut(),
            froude.par_iter_mut(),
            dqdh.par_iter_mut(),
            a1.par_iter_mut(),
            q1.par_iter_mut(),
            depth.par_iter_mut(),
            volume.par_iter_mut(),
            flow.par_iter_mut(),
            (evap.par_iter_mut(), seep.par_iter_mut()),
        )
            .into_par_iter()
            .enumerate()
            .with_min_len(min_len(nl))
            .for_each(|(j, (cl, s1, s2, fr, dq, a, q, y, v, f, (e, sp)))| {
                if !this.links.is_conduit(j) || this.bypassed(j) {
                    return;
                }
                let prev = ConduitPrev {
                    q1: *q,
                    depth: *y,
                    volume: *v,
                };
                let mut o = ConduitOut::default();
                this.conduit_flow(j, dt, &prev, &mut o);
                *cl = o.flow_class;
                *s1 = o.surf_area1;
                *s2 = o.surf_area2;
                *fr = o.froude;
                *dq = o.dqdh;
                *a = o.a1;
                *q = o.q1;
                *y = o.new_depth;
                *v = o.new_volume;
                *f = o.new_flow;
                *e = o.evap_loss;
                *sp = o.seep_loss;
            });
        let l = &mut self.links;
        l.flow_class = class;
        l.surf_area1 = sa1;
        l.surf_area2 = sa2;
        l.froude = froude;
        l.dqdh = dqdh;
        l.a1 = a1;
        l.q1 = q1;
        l.new_depth = depth;
        l.new_volume = volume;
        l.new_flow = flow;
        l.evap_loss = evap;
        l.seep_loss = seep;
    }

    /// Adds a non-conduit link's flow, surface area and ∂Q/∂H to its end
    /// nodes (SWMM dynwave.c updateNodeFlows).
    pub(super) fn update_node_flows(&mut self, j: usize) {
        let l = &self.links;
        let (n1, n2) = (l.node1[j], l.node2[j]);
        let q = l.new_flow[j];
        let n = &mut self.nodes;
        if q >= 0.0 {
            n.outflow[n1] += q;
            n.inflow[n2] += q;
        } else {
            n.inflow[n1] -= q;
            n.outflow[n2] -= q;
        }
        let b = l.barrels[j];
        n.new_surf_area[n1] += l.surf_area1[j] * b;
        n.new_surf_area[n2] += l.surf_area2[j] * b;
        n.sumdqdh[n1] += l.dqdh[j];
        if !matches!(
            l.kind[j],
            LinkKind::Pump {
                ptype: PumpType::Type4,
                ..
            }
        ) {
            n.sumdqdh[n2] += l.dqdh[j];
        }
    }

    /// Node i's surface area, inflow and outflow at the start of a trial
    /// (SWMM dynwave.c initNodeStates), then the flows, surface areas, ∂Q/∂H
    /// and evaporation of its conduits in link order (updateNodeFlows), which
    /// adds them in the order SWMM's loop over links does.
    pub(super) fn gather_node(&self, i: usize, depth: f64, acc: &mut NodeAcc) {
        let n = &self.nodes;
        acc.surf_area =
            if self.opt.allow_ponding && n.ponded_area[i] > 0.0 && depth > n.full_depth[i] {
                n.ponded_area[i]
            } else {
                self.node_surf_area(i, depth)
            };
        acc.inflow = 0.0;
        acc.outflow = n.losses[i];
        let lat = n.new_lat_flow[i];
        if lat >= 0.0 {
            acc.inflow += lat;
        } else {
            acc.outflow -= lat;
        }
        acc.sumdqdh = 0.0;
        let l = &self.links;
        let adj = &self.conduit_adj;
        for &e in &adj.ends[adj.start[i]..adj.start[i + 1]] {
            let (j, upstream) = ((e >> 1) as usize, e & 1 == 0);
            let q = l.new_flow[j];
            match (upstream, q >= 0.0) {
                (true, true) => acc.outflow += q,
                (true, false) => acc.inflow -= q,
                (false, true) => acc.inflow += q,
                (false, false) => acc.outflow -= q,
            }
            // A conduit's evaporation and seepage leave through its end
            // nodes, half each, all of it at the other end if one is an
            // outfall (SWMM dynwave.c updateNodeFlows).
            let b = l.barrels[j];
            let loss = (l.evap_loss[j] + l.seep_loss[j]) * b;
            if loss > 0.0 && !self.is_outfall(i) {
                let ends_at_outfall = self.is_outfall(l.node1[j]) || self.is_outfall(l.node2[j]);
                acc.outflow += if ends_at_outfall { loss } else { loss / 2.0 };
            }
            acc.surf_area += if upstream {
                l.surf_area1[j]
            } else {
                l.surf_area2[j]
            } * b;
            acc.sumdqdh += l.dqdh[j];
        }
    }

    /// One pass over the nodes: gathers each node's conduit flows (`gather`)
    /// and/or solves its new depth (`solve`, SWMM dynwave.c findNodeDepths).
    /// Each node writes only its own entries, so large networks sweep nodes
    /// in parallel with results identical for any thread count. Returns
    /// whether every solved node converged.
    pub(super) fn node_sweep(&mut self, dt: f64, gather: bool, solve: bool) -> bool {
        use rayon::prelude::*;
        let n = &mut self.nodes;
        let mut inflow = std::mem::take(&mut n.inflow);
        let mut outflow = std::mem::take(&mut n.outflow);
        let mut surf = std::mem::take(&mut n.new_surf_area);
        let mut sumdqdh = std::mem::take(&mut n.sumdqdh);
        let mut overflow = std::mem::take(&mut n.overflow);
        let mut old_surf = std::mem::take(&mut n.old_surf_area);
        let mut volume = std::mem::take(&mut n.new_volume);
        let mut dydt = std::mem::take(&mut n.dydt);
        let mut depth = std::mem::take(&mut n.new_depth);
        let mut conv = std::mem::take(&mut n.converged);
        let nn = depth.len();
        let this = &*self;
        let head_tol = self.opt.head_tol;
        let all = (
            inflow.par_iter_mut(),
            outflow.par_iter_mut(),
            surf.par_iter_mut(),
            sumdqdh.par_iter_mut(),
            overflow.par_iter_mut(),
            old_surf.par_iter_mut(),
            volume.par_iter_mut(),
            dydt.par_iter_mut(),
            depth.par_iter_mut(),
            conv.par_iter_mut(),
        )
            .into_par_iter()
            .enumerate()
            .with_min_len(min_len(nn))
            .map(|(i, (qi, qo, sa, sd, of, osa, v, dy, y, c))| {
                let mut acc = NodeAcc {
                    inflow: *qi,
                    outflow: *qo,
                    surf_area: *sa,
                    sumdqdh: *sd,
                };
                if gather {
                    this.gather_node(i, *y, &mut acc);
                    *qi = acc.inflow;
                    *qo = acc.outflow;
                    *sa = acc.surf_area;
                    *sd = acc.sumdqdh;
                }
                if !solve || this.is_outfall(i) {
                    return true;
                }
                let y_old = *y;
                let o = this.node_depth(i, dt, &acc, *osa, y_old);
                *of = o.overflow;
                if let Some(a) = o.old_surf_area {
                    *osa = a;
                }
                if let Some(x) = o.new_volume {
                    *v = x;
                }
                *dy = o.dydt;
                *y = o.new_depth;
                *c = (y_old - o.new_depth).abs() <= head_tol;
                *c
            })
            .reduce(|| true, |a, b| a && b);
        let n = &mut self.nodes;
        n.inflow = inflow;
        n.outflow = outflow;
        n.new_surf_area = surf;
        n.sumdqdh = sumdqdh;
        n.overflow = overflow;
        n.old_surf_area = old_surf;
        n.new_volume = volume;
        n.dydt = dydt;
        n.new_depth = depth;
        n.converged = conv;
        all
    }

    /// New depth of node `i` from its flow balance (SWMM dynwave.c setNodeDepth).
    /// `acc` holds the node's gathered flows, `old_surf` and `y_last` its
    /// surface area at the last unsurcharged trial and its current depth.
    pub(super) fn node_depth(
        &self,
        i: usize,
        dt: f64,
        acc: &NodeAcc,
        old_surf: f64,
        y_last: f64,
    ) -> NodeOut {
        let o = &self.opt;
        let n = &self.nodes;
        let mut out = NodeOut::default();
        let can_pond = o.allow_ponding && n.ponded_area[i] > 0.0;
        let is_ponded = can_pond && y_last > n.full_depth[i];
        let y_crown = n.crown_elev[i] - n.invert[i];
        let y_old = n.old_depth[i];
        let surf_area = acc.surf_area.max(o.min_surf_area);
        let dq = acc.inflow - acc.outflow;
        let dv = 0.5 * (n.old_net_inflow[i] + dq) * dt;
        let is_storage = matches!(n.kind[i], NodeKind::Storage(_));
        let is_surcharged = if is_ponded || o.surcharge_slot {
            false
        } else if is_storage {
            n.sur_depth[i] > 0.0 && y_last > n.full_depth[i]
        } else {
            y_crown > 0.0 && y_last > y_crown
        };
        let mut y_new;
        if !is_surcharged {
            y_new = y_old + dv / surf_area;
            if !is_ponded {
                out.old_surf_area = Some(surf_area);
            }
            if self.steps_this > 0 {
                y_new = (1.0 - OMEGA) * y_last + OMEGA * y_new;
            }
            if is_ponded && y_new < n.full_depth[i] {
                y_new = n.full_depth[i] - FUDGE;
            }
        } else {
            let corr = if n.degree[i] < 0 { 0.6 } else { 1.0 };
            let mut denom = acc.sumdqdh;
            if y_last < 1.25 * y_crown {
                let f = (y_last - y_crown) / y_crown;
                denom += (old_surf / dt - acc.sumdqdh) * (-15.0 * f).exp();
            }
            let dy = if denom == 0.0 { 0.0 } else { corr * dq / denom };
            y_new = y_last + dy;
            if y_new < y_crown {
                y_new = y_crown - FUDGE;
            }
            if can_pond && y_new > n.full_depth[i] {
                y_new = n.full_depth[i] + FUDGE;
            }
        }
        if y_new < 0.0 {
            y_new = 0.0;
        }
        let mut y_max = n.full_depth[i];
        if !can_pond {
            y_max += n.sur_depth[i];
        }
        if y_new > y_max {
            if !can_pond {
                out.overflow = dv / dt;
                out.new_volume = Some(n.full_volume[i]);
                y_new = y_max;
            } else {
                let v = (n.old_volume[i] + dv).max(n.full_volume[i]);
                out.new_volume = Some(v);
                out.overflow = (v - n.old_volume[i].max(n.full_volume[i])) / dt;
            }
            if out.overflow < FUDGE {
                out.overflow = 0.0;
            }
        } else if !is_storage {
            out.new_volume = Some(if n.full_depth[i] > 0.0 {
                n.full_volume[i] * (y_new / n.full_depth[i])
            } else {
                0.0
            });
        }
        out.dydt = (y_new - y_old).abs() / dt;
        out.new_depth = y_new;
        if is_storage && y_new <= y_max {
            out.new_volume = Some(self.node_volume(i, y_new));
        }
        out
    }

    /// Froude number at velocity v and depth y; `a` is the flow area at y
    /// when the caller has it (below full depth), saving its recomputation.
    pub(super) fn froude(&self, j: usize, v: f64, y: f64, a: Option<f64>) -> f64 {
        let x = &self.links.xsect[j];
        if y <= FUDGE {
            return 0.0;
        }
        if !x.is_open() && x.y_full - y <= FUDGE {
            return 0.0;
        }
        let hd = a.unwrap_or_else(|| x.a_of_y(y)) / x.w_of_y(y);
        v.abs() / (GRAVITY * hd).sqrt()
    }

    /// Top width at depth `y`, held at the crown cutoff of a closed conduit
    /// or, under SURCHARGE_METHOD SLOT, the slot's width above it.
    pub(super) fn width(x: &XSect, y: f64) -> f64 {
        let mut cutoff = CROWN_CUTOFF;
        if x.slot {
            let w = x.slot_width(y);
            if w > 0.0 {
                return w;
            }
            cutoff = crate::xsect::SLOT_CROWN_CUTOFF;
        }
        let y = if y / x.y_full >= cutoff && !x.is_open() {
            cutoff * x.y_full
        } else {
            y
        };
        x.w_of_y(y)
    }

    /// Flow area at depth `y`, with a slot's area above the crown.
    pub(super) fn area(x: &XSect, y: f64) -> f64 {
        if y < x.y_full {
            x.a_of_y(y)
        } else if x.slot {
            x.a_full + (y - x.y_full) * x.slot_width(y)
        } else {
            x.a_full
        }
    }

    pub(super) fn hyd_rad(x: &XSect, y: f64) -> f64 {
        if y >= x.y_full { x.r_full } else { x.r_of_y(y) }
    }

    /// Flow classification and node surface areas (SWMM dwflow.c getFlowClass/findSurfArea).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn find_surf_area(
        &self,
        out: &mut ConduitOut,
        j: usize,
        q: f64,
        length: f64,
        h1: &mut f64,
        h2: &mut f64,
        y1: &mut f64,
        y2: &mut f64,
    ) {
        let (n1, n2) = (self.links.node1[j], self.links.node2[j]);
        let x = &self.links.xsect[j];
        let (mut fd1, mut fd2) = (*y1, *y2);
        let mut normal_depth = (fd1 + fd2) / 2.0;
        let mut critical_depth = normal_depth;
        let mut fasnh = 1.0;
        let full = x.y_full;
        let class = if fd1 >= full && fd2 >= full {
            FlowClass::Subcritical
        } else {
            // getFlowClass
            let mut z1 = self.links.offset1[j];
            let mut z2 = self.links.offset2[j];
            if self.is_outfall(n1) {
                z1 = (z1 - self.nodes.new_depth[n1]).max(0.0);
            }
            if self.is_outfall(n2) {
                z2 = (z2 - self.nodes.new_depth[n2]).max(0.0);
            }
            let mut cls = FlowClass::Subcritical;
            let aq = q.abs();
            if fd1 > FUDGE && fd2 > FUDGE {
                if q < 0.0 {
                    if z1 > 0.0 {
                        normal_depth = self.y_norm(j, aq);
                        critical_depth = x.y_crit(aq);
                        if fd1 < normal_depth.min(critical_depth) {
                            cls = FlowClass::UpCritical;
                        }
                    }
                } else if z2 > 0.0 {
                    normal_depth = self.y_norm(j, aq);
                    critical_depth = x.y_crit(aq);
                    let yc_min = normal_depth.min(critical_depth);
                    let yc_max = normal_depth.max(critical_depth);
                    if fd2 < yc_min {
                        cls = FlowClass::DnCritical;
                    } else if fd2 < yc_max {
                        fasnh = if yc_max - yc_min < FUDGE {
                            0.0
                        } else {
                            (yc_max - fd2) / (yc_max - yc_min)
                        };
                    }
                }
            } else if fd1 <= FUDGE && fd2 <= FUDGE {
                cls = FlowClass::Dry;
            } else if fd2 > FUDGE {
                if *h2 < self.nodes.invert[n1] + self.links.offset1[j] {
                    cls = FlowClass::UpDry;
                } else if z1 > 0.0 {
                    normal_depth = self.y_norm(j, aq);
                    critical_depth = x.y_crit(aq);
                    cls = FlowClass::UpCritical;
                }
            } else if *h1 < self.nodes.invert[n2] + self.links.offset2[j] {
                cls = FlowClass::DnDry;
            } else if z2 > 0.0 {
                normal_depth = self.y_norm(j, aq);
                critical_depth = x.y_crit(aq);
                cls = FlowClass::DnCritical;
            }
            cls
        };
        out.flow_class = class;
        let (mut sa1, mut sa2) = (0.0, 0.0);
        match class {
            FlowClass::Subcritical | FlowClass::Supercritical => {
                let mid = (0.5 * (fd1 + fd2)).max(FUDGE);
                let w1 = Self::width(x, fd1);
                let w2 = Self::width(x, fd2);
                let wm = Self::width(x, mid);
                sa1 = (w1 + wm) * length / 4.0;
                sa2 = (wm + w2) * length / 4.0 * fasnh;
            }
            FlowClass::UpCritical => {
                fd1 = critical_depth;
                if normal_depth < critical_depth {
                    fd1 = normal_depth;
                }
                fd1 = fd1.max(FUDGE);
                *h1 = self.nodes.invert[n1] + self.links.offset1[j] + fd1;
                let mid = (0.5 * (fd1 + fd2)).max(FUDGE);
                let w2 = Self::width(x, fd2);
                let wm = Self::width(x, mid);
                sa2 = (wm + w2) * length * 0.5;
            }
            FlowClass::DnCritical => {
                fd2 = critical_depth;
                if normal_depth < critical_depth {
                    fd2 = normal_depth;
                }
                fd2 = fd2.max(FUDGE);
                *h2 = self.nodes.invert[n2] + self.links.offset2[j] + fd2;
                let w1 = Self::width(x, fd1);
                let mid = (0.5 * (fd1 + fd2)).max(FUDGE);
                let wm = Self::width(x, mid);
                sa1 = (w1 + wm) * length * 0.5;
            }
            FlowClass::UpDry => {
                fd1 = FUDGE;
                let mid = (0.5 * (fd1 + fd2)).max(FUDGE);
                let w1 = Self::width(x, fd1);
                let w2 = Self::width(x, fd2);
                let wm = Self::width(x, mid);
                sa2 = (wm + w2) * length / 4.0;
                if self.links.offset1[j] <= 0.0 {
                    sa1 = (w1 + wm) * length / 4.0;
                }
            }
            FlowClass::DnDry => {
                fd2 = FUDGE;
                let mid = (0.5 * (fd1 + fd2)).max(FUDGE);
                let w1 = Self::width(x, fd1);
                let w2 = Self::width(x, fd2);
                let wm = Self::width(x, mid);
                sa1 = (wm + w1) * length / 4.0;
                if self.links.offset2[j] <= 0.0 {
                    sa2 = (w2 + wm) * length / 4.0;
                }
            }
            FlowClass::Dry => {
                sa1 = FUDGE * length / 2.0;
                sa2 = sa1;
            }
        }
        out.surf_area1 = sa1;
        out.surf_area2 = sa2;
        *y1 = fd1;
        *y2 = fd2;
    }

    /// New conduit flow from the momentum equation (SWMM dwflow.c).
    pub(super) fn conduit_flow(&self, j: usize, dt: f64, prev: &ConduitPrev, out: &mut ConduitOut) {
        let steps = self.steps_this;
        let barrels = self.links.barrels[j];
        let q_old = self.links.old_flow[j] / barrels;
        let q_last = prev.q1;
        let (n1, n2) = (self.links.node1[j], self.links.node2[j]);
        let z1 = self.nodes.invert[n1] + self.links.offset1[j];
        let z2 = self.nodes.invert[n2] + self.links.offset2[j];
        let mut h1 = (self.nodes.new_depth[n1] + self.nodes.invert[n1]).max(z1);
        let mut h2 = (self.nodes.new_depth[n2] + self.nodes.invert[n2]).max(z2);
        let x = &self.links.xsect[j];
        let (mut y1, mut y2) = ((h1 - z1).max(FUDGE), (h2 - z2).max(FUDGE));
        if !self.opt.surcharge_slot {
            y1 = y1.min(x.y_full);
            y2 = y2.min(x.y_full);
        }
        let a_old = self.links.a2[j].max(FUDGE);
        let length = self.links.mod_length[j];
        self.find_surf_area(out, j, q_last, length, &mut h1, &mut h2, &mut y1, &mut y2);
        let a1 = Self::area(x, y1);
        let r1 = Self::hyd_rad(x, y1);
        let a2 = Self::area(x, y2);
        let y_mid = 0.5 * (y1 + y2);
        let a_mid = Self::area(x, y_mid);
        let r_mid = Self::hyd_rad(x, y_mid);
        let is_full = y1 >= x.y_full && y2 >= x.y_full;
        let is_closed = self.links.setting[j] == 0.0;
        let class = out.flow_class;
        let real_len = self.links.length[j];
        if matches!(class, FlowClass::Dry | FlowClass::UpDry | FlowClass::DnDry)
            || is_closed
            || a_mid <= FUDGE
        {
            out.a1 = 0.5 * (a1 + a2);
            out.q1 = 0.0;
            out.dqdh = GRAVITY * dt * a_mid / length * barrels;
            out.froude = 0.0;
            out.new_depth = y_mid.min(x.y_full);
            out.new_volume = out.a1 * real_len * barrels;
            out.new_flow = 0.0;
            // A dry or closed conduit loses nothing (dwflow.c resets its
            // loss rates before the dry test).
            out.seep_loss = 0.0;
            return;
        }
        let mut v = q_last / a_mid;
        if v.abs() > MAX_VELOCITY {
            v = MAX_VELOCITY * q_last.signum();
        }
        let fr = self.froude(j, v, y_mid, (y_mid < x.y_full).then_some(a_mid));
        out.froude = fr;
        if class == FlowClass::Subcritical && fr > 1.0 {
            out.flow_class = FlowClass::Supercritical;
        }
        let mut sigma = if fr <= 0.5 {
            1.0
        } else if fr >= 1.0 {
            0.0
        } else {
            2.0 * (1.0 - fr)
        };
        let rho = if !is_full && q_last > 0.0 && h1 >= h2 {
            sigma
        } else {
            1.0
        };
        let a_wtd = a1 + (a_mid - a1) * rho;
        let r_wtd = r1 + (r_mid - r1) * rho;
        match self.opt.inertial_damping {
            InertialDamping::None => sigma = 1.0,
            InertialDamping::Full => sigma = 0.0,
            InertialDamping::Partial => {}
        }
        if is_full && !x.is_open() {
            sigma = 0.0;
        }
        let fm = self.links.force_main[j];
        let dq1 = if fm > 0.0 && is_full {
            let eqn = self.opt.force_main_eqn;
            dt * crate::forcemain::friction_term(eqn, x.force_main, fm, v.abs(), r_mid)
        } else {
            dt * self.links.rough_factor[j] / r_wtd.powf(1.33333) * v.abs()
        };
        let dq2 = dt * GRAVITY * a_wtd * (h2 - h1) / length;
        let (mut dq3, mut dq4) = (0.0, 0.0);
        if sigma > 0.0 {
            dq3 = 2.0 * v * (a_mid - a_old) * sigma;
            dq4 = dt * v * v * (a2 - a1) / length * sigma;
        }
        let dq5 = local_losses(self.links.loss[j], q_last, [a1, a2, a_mid], length, dt);
        // Evaporation and seepage, as SWMM enters them in the momentum
        // balance (dwflow.c dq6), limited by the volume the conduit holds
        // (all barrels) over the step.
        let (evap, seep, loss) = self.conduit_losses(j, prev.depth, prev.volume / dt);
        out.evap_loss = evap;
        out.seep_loss = seep;
        let dq6 = loss * 2.5 * dt * v / real_len;
        let denom = 1.0 + dq1 + dq5;
        let mut q = (q_old - dq2 + dq3 + dq4 + dq6) / denom;
        out.dqdh = 1.0 / denom * GRAVITY * dt * a_wtd / length * barrels;
        if q > 0.0 {
            let culvert = self.links.culvert[j];
            if culvert > 0 && !is_full {
                // Inlet control (HDS-5): the inlet may pass less than the barrel.
                let hw = h1 - z1;
                if let Some(f) = crate::culvert::inlet_flow(culvert, x, self.links.slope[j], hw)
                    && f.q < q
                {
                    q = f.q;
                    out.dqdh = f.dqdh;
                }
            } else if self.opt.normal_flow_limit != NormalFlowLimit::Neither
                && y1 < x.y_full
                && matches!(
                    out.flow_class,
                    FlowClass::Subcritical | FlowClass::Supercritical
                )
            {
                q = self.check_normal_flow(j, q, y1, y2, a1, r1);
            }
        }
        if steps > 0 {
            q = (1.0 - OMEGA) * q_last + OMEGA * q;
            if q * q_last < 0.0 {
                q = 0.001 * q.signum();
            }
        }
        let ql = self.links.q_limit[j];
        if ql > 0.0 && q.abs() > ql {
            q = q.signum() * ql;
        }
        if self.flap_blocks(j, n1, n2, q) {
            q = 0.0;
        }
        if q > FUDGE && self.nodes.new_depth[n1] <= FUDGE {
            q = FUDGE;
        }
        if q < -FUDGE && self.nodes.new_depth[n2] <= FUDGE {
            q = -FUDGE;
        }
        out.a1 = a_mid;
        out.q1 = q;
        out.new_depth = y_mid.min(x.y_full);
        out.new_volume = (a1 + a2) / 2.0 * real_len * barrels;
        out.new_flow = q * barrels;
    }
}

/// The momentum equation's local-loss term (SWMM dwflow.c dq5): entrance,
/// exit and average loss coefficients times the velocity at the conduit's
/// upstream end, downstream end and middle (areas `a`), over twice its length.
#[inline]
fn local_losses(loss: [f64; 3], q_last: f64, a: [f64; 3], length: f64, dt: f64) -> f64 {
    let mut dq5 = 0.0;
    if loss.iter().any(|&c| c != 0.0) {
        let qa = q_last.abs();
        let mut losses = 0.0;
        if a[0] > FUDGE {
            losses += loss[0] * (qa / a[0]);
        }
        if a[1] > FUDGE {
            losses += loss[1] * (qa / a[1]);
        }
        if a[2] > FUDGE {
            losses += loss[2] * (qa / a[2]);
        }
        dq5 = losses / 2.0 / length * dt;
    }
    dq5
}
