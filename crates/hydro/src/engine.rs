//! Flow routing engine: a drainage network built from a [`Project`], its state
//! kept as struct-of-arrays, advanced by dynamic-wave routing.
//!
//! Method: EPA SWMM 5 Reference Manual Vol. II (Hydraulics), ch. 8–9
//! (Rossman 2017). Each conduit's flow solves the St Venant momentum equation
//! in SWMM's finite-difference form
//!
//! `Q = (Q_old − ΔQ_grav + ΔQ_inert) / (1 + ΔQ_fric + ΔQ_loss)`
//!
//! with upstream weighting of area and hydraulic radius by the Froude number,
//! and each node's depth solves continuity `dV/dt = ΣQ` with the surface area
//! contributed by half of each connecting conduit (or, when surcharged, the
//! EXTRAN head correction `ΔH = ΣQ / Σ(∂Q/∂H)`). The two are iterated by
//! Picard's method with under-relaxation (ω = 0.5) until node heads change by
//! less than the head tolerance, at most `MAX_TRIALS` times. The step is
//! variable, limited by the Courant condition on conduits and the depth
//! change rate at nodes.
//!
//! Losses (Vol. II §2.3 and §3.2): a storage unit loses the climate's
//! evaporation rate times its Fevap over its water surface, plus seepage
//! through its bottom and banks; a conduit loses evaporation from the water
//! surface of an open section plus seepage through its wetted width. Each
//! pair is evaluated at the start of the step (conduits at every trial) and
//! scaled down alike when together they would exceed what the unit holds or
//! the conduit holds (dynamic wave) or carries (kinematic wave, steady flow),
//! as SWMM's node.c storage_getLosses and link.c conduit_getLossRate do; the
//! two are booked apart in the mass balance (routing.c removeStorageLosses,
//! removeConduitLosses).
//!
//! As in SWMM, computation is in US customary units (ft, cfs, seconds);
//! inputs in SI are converted on load and results converted back.
//!
//! This file keeps [`Engine`], its step, the coupling API and the state
//! control rules read; the rest is split by seam: `build` (the engine from a
//! project, one function per kind of object), `network` (node and link
//! kinds and their struct-of-arrays state), `dynwave`, `kinwave` (with
//! steady flow), `regulators` (pumps, orifices, weirs, outlets), `losses`
//! (evaporation and seepage) and `inflows` (external and dry-weather).
//! Errors, options and tables live in the leaf modules `error`, `options`
//! and `table`, which the readers share without importing the engine.

use crate::climate::Climate;
use crate::controls::{ControlState, Rules, Var};
use crate::extfile::ExternalFiles;
use crate::inp::{self, OutfallKind, Project};
use crate::runoff::Runoff;

mod build;
mod dynwave;
mod inflows;
mod kinwave;
mod losses;
mod network;
mod regulators;

pub use crate::error::EngineError;
pub(crate) use crate::error::invalid;
use crate::options::MIN_TIMESTEP;
pub use crate::options::{InertialDamping, NormalFlowLimit, Options, RouteModel};
pub use crate::scope::{Ignored, Warning};
pub use crate::table::{Curve, Table, build_table, civil_from_days};
use crate::xsect::{GRAVITY, XSect};
use dynwave::{ConduitAdjacency, par_min};
use inflows::{DwfInflow, ExtInflow, Pattern};
use losses::storage_exfil;
pub use network::{
    Divider, DividerRule, FlowClass, LinkKind, Links, NodeKind, Nodes, OutfallBc, PumpType,
    RoutingTotals, StorageShape,
};

/// Small depth/area tolerance (ft or ft²), SWMM's `FUDGE`.
pub const FUDGE: f64 = 0.0001;
/// Manning constant in US units.
const PHI: f64 = 1.486;
/// Inflows below this (cfs) are treated as zero (SWMM's `FLOW_TOL`).
const FLOW_TOL: f64 = 0.00001;
/// Minimum elevation drop of a conduit (ft).
const MIN_DELTA_Z: f64 = 0.001;
/// Maximum velocity in the momentum equation (ft/s).
const MAX_VELOCITY: f64 = 50.0;
/// Under-relaxation factor of the Picard iterations.
const OMEGA: f64 = 0.5;
/// Crown cutoff for top width of closed conduits (EXTRAN surcharge).
const CROWN_CUTOFF: f64 = 0.96;
/// Networks with at least this many links solve conduit momentum in parallel.
const PARALLEL_MIN_LINKS: usize = 2000;

/// The drainage engine: network, options, inflows and state.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Engine {
    /// Options in internal units.
    pub opt: Options,
    /// What the model holds that a run ignores, the flows being the same
    /// without it (not kept by a checkpoint: read once from the model).
    #[serde(skip)]
    warnings: Vec<Warning>,
    /// Nodes.
    pub nodes: Nodes,
    /// Links.
    pub links: Links,
    /// Runoff component, if the model has subcatchments.
    pub runoff: Option<Runoff>,
    /// Evaporation and climate state.
    pub climate: Climate,
    /// Storage units that lose water by evaporation or seepage.
    loss_nodes: Vec<usize>,
    /// Routed outfalls: (node, slot in the runoff component).
    outfall_routes: Vec<(usize, usize)>,
    tables: Vec<Table>,
    /// Value of each time series at the current step (NaN: not looked up yet).
    table_values: Vec<f64>,
    curves: Vec<Curve>,
    /// Names of the time series and curves, for control rules.
    series_names: Vec<String>,
    curve_names: Vec<String>,
    scratch: Vec<f64>,
    sorted_links: Vec<usize>,
    kw_updated: Vec<bool>,
    conduit_adj: ConduitAdjacency,
    rules: Rules,
    rule_step: f64,
    next_rule_time: f64,
    patterns: Vec<Pattern>,
    ext_inflows: Vec<ExtInflow>,
    dwf_inflows: Vec<DwfInflow>,
    /// Elapsed time at the start of the current step (s).
    pub old_time: f64,
    /// Elapsed time (s).
    pub time: f64,
    variable_step: f64,
    totals: RoutingTotals,
    step_rates: RoutingTotals,
    /// Number of steps taken.
    pub step_count: u64,
    /// Steps that did not converge within MAX_TRIALS.
    pub nonconverged: u64,
    steps_this: usize,
}

impl Engine {
    /// What the model holds that a run ignores (water quality, definitions
    /// nothing uses), the flows being the same without it.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.name.len()
    }
    /// Number of links.
    pub fn link_count(&self) -> usize {
        self.links.name.len()
    }
    /// Index of a node by name.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.name.iter().position(|n| n == name)
    }
    /// Index of a link by name.
    pub fn link_index(&self, name: &str) -> Option<usize> {
        self.links.name.iter().position(|n| n == name)
    }
    /// The pumps: `(link index, name)` in the model's order.
    pub fn pumps(&self) -> Vec<(usize, String)> {
        (0..self.link_count())
            .filter(|&j| matches!(self.links.kind[j], LinkKind::Pump { .. }))
            .map(|j| (j, self.links.name[j].clone()))
            .collect()
    }

    fn is_outfall(&self, i: usize) -> bool {
        matches!(self.nodes.kind[i], NodeKind::Outfall { .. })
    }

    fn node_volume(&self, i: usize, d: f64) -> f64 {
        let n = &self.nodes;
        if let NodeKind::Storage(shape) = &n.kind[i] {
            if d == 0.0 {
                return 0.0;
            }
            if d >= n.full_depth[i] && n.full_volume[i] > 0.0 {
                return n.full_volume[i];
            }
            let ucf = self.opt.ucf_length();
            let du = d * ucf;
            let v = match shape {
                StorageShape::Functional { a1, a2, a0 } => {
                    let e = a2 + 1.0;
                    a0 * du + a1 / e * du.powf(e)
                }
                StorageShape::Quadratic { a1, a2, a0 } => {
                    du * (a0 + du * (a1 / 2.0 + du * a2 / 3.0))
                }
                StorageShape::Tabular(k) => self.curves[*k].storage_volume(du),
            };
            return v / (ucf * ucf * ucf);
        }
        if n.full_depth[i] > 0.0 {
            n.full_volume[i] * (d / n.full_depth[i])
        } else {
            0.0
        }
    }

    /// Surface area (ft²) of a storage node at depth d; 0 for other nodes.
    fn node_surf_area(&self, i: usize, d: f64) -> f64 {
        let NodeKind::Storage(shape) = &self.nodes.kind[i] else {
            return 0.0;
        };
        let ucf = self.opt.ucf_length();
        let du = d * ucf;
        let a = match shape {
            StorageShape::Functional { a1, a2, a0 } => a0 + a1 * du.powf(*a2),
            StorageShape::Quadratic { a1, a2, a0 } => a0 + du * (a1 + du * a2),
            StorageShape::Tabular(k) => self.curves[*k].lookup_ex(du),
        };
        a / (ucf * ucf)
    }

    fn is_storage(&self, i: usize) -> bool {
        matches!(self.nodes.kind[i], NodeKind::Storage(_))
    }

    fn init_state(&mut self) {
        let nn = self.node_count();
        let nl = self.link_count();
        let n = &mut self.nodes;
        n.crown_elev = n.invert.clone();
        n.full_volume = vec![0.0; nn];
        n.old_depth = n.init_depth.clone();
        n.new_depth = n.init_depth.clone();
        n.old_volume = vec![0.0; nn];
        n.new_volume = vec![0.0; nn];
        n.inflow = vec![0.0; nn];
        n.outflow = vec![0.0; nn];
        n.overflow = vec![0.0; nn];
        n.old_net_inflow = vec![0.0; nn];
        n.old_lat_flow = vec![0.0; nn];
        n.new_lat_flow = vec![0.0; nn];
        n.old_flow_inflow = vec![0.0; nn];
        n.api_inflow = vec![0.0; nn];
        n.assim_inflow = vec![0.0; nn];
        n.converged = vec![false; nn];
        n.new_surf_area = vec![0.0; nn];
        n.old_surf_area = vec![0.0; nn];
        n.sumdqdh = vec![0.0; nn];
        n.dydt = vec![0.0; nn];
        n.losses = vec![0.0; nn];
        let l = &mut self.links;
        l.old_flow = l.new_flow.clone();
        let start_date = (self.opt.start_epoch / 86_400.0).floor() + SWMM_EPOCH_DAYS;
        l.time_last_set = vec![start_date; nl];
        l.old_depth = vec![0.0; nl];
        l.new_depth = vec![0.0; nl];
        l.old_volume = vec![0.0; nl];
        l.new_volume = vec![0.0; nl];
        l.flow_class = vec![FlowClass::Dry; nl];
        l.froude = vec![0.0; nl];
        l.q1 = vec![0.0; nl];
        l.q2 = vec![0.0; nl];
        l.a1 = vec![0.0; nl];
        l.a2 = vec![0.0; nl];
        l.dqdh = vec![0.0; nl];
        l.surf_area1 = vec![0.0; nl];
        l.surf_area2 = vec![0.0; nl];
        for i in 0..nn {
            if self.is_storage(i) {
                let v = self.node_volume(i, self.nodes.full_depth[i]);
                self.nodes.full_volume[i] = v;
            }
        }
        // A type-1 pump's inlet junction is its wet well: it holds at least the
        // largest volume on the pump curve (SWMM link.c pump_validate).
        let ucf_vol = self.opt.ucf_length().powi(3);
        for j in 0..nl {
            if let LinkKind::Pump {
                ptype: PumpType::Type1,
                x_max,
                ..
            } = self.links.kind[j]
            {
                let n1 = self.links.node1[j];
                if !self.is_storage(n1) {
                    let v = &mut self.nodes.full_volume[n1];
                    *v = v.max(x_max / ucf_vol);
                }
            }
        }
        for j in 0..nl {
            self.set_regulator_coeffs(j);
        }
        // Conduit initial depth: normal depth of initial flow.
        for j in 0..nl {
            let q = self.links.new_flow[j] / self.links.barrels[j];
            let y = self.y_norm(j, q);
            self.links.new_depth[j] = y;
            self.links.old_depth[j] = y;
        }
        // dynwave_init: crown elevations.
        for j in 0..nl {
            let (n1, n2) = (self.links.node1[j], self.links.node2[j]);
            let yf = self.links.xsect[j].y_full;
            let z1 = self.nodes.invert[n1] + self.links.offset1[j] + yf;
            let z2 = self.nodes.invert[n2] + self.links.offset2[j] + yf;
            self.nodes.crown_elev[n1] = self.nodes.crown_elev[n1].max(z1);
            self.nodes.crown_elev[n2] = self.nodes.crown_elev[n2].max(z2);
        }
        if self.opt.route_model == RouteModel::DynWave {
            // initNodeDepths: average depth of connecting links where no initial depth given.
            let mut sum = vec![0.0; nn];
            let mut cnt = vec![0.0; nn];
            for j in 0..nl {
                let y = if self.links.new_depth[j] > FUDGE {
                    self.links.new_depth[j] + self.links.offset1[j]
                } else {
                    0.0
                };
                for n in [self.links.node1[j], self.links.node2[j]] {
                    sum[n] += y;
                    cnt[n] += 1.0;
                }
            }
            for i in 0..nn {
                if self.is_outfall(i) || self.is_storage(i) || self.nodes.init_depth[i] > 0.0 {
                    continue;
                }
                if cnt[i] > 0.0 {
                    self.nodes.new_depth[i] = sum[i] / cnt[i];
                }
            }
            for j in 0..nl {
                self.set_outfall_depth(j);
            }
            // initLinkDepths.
            for j in 0..nl {
                if self.links.new_flow[j] != 0.0 || !self.links.is_conduit(j) {
                    continue;
                }
                let yf = self.links.xsect[j].y_full;
                let y1 = (self.nodes.new_depth[self.links.node1[j]] - self.links.offset1[j])
                    .clamp(0.0, yf);
                let y2 = (self.nodes.new_depth[self.links.node2[j]] - self.links.offset2[j])
                    .clamp(0.0, yf);
                self.links.new_depth[j] = (0.5 * (y1 + y2)).max(FUDGE);
            }
        }
        // initNodes / initLinks.
        for i in 0..nn {
            self.nodes.new_volume[i] = self.node_volume(i, self.nodes.new_depth[i]);
            self.nodes.old_depth[i] = self.nodes.new_depth[i];
            self.nodes.old_volume[i] = self.nodes.new_volume[i];
        }
        for j in 0..nl {
            let q = self.links.new_flow[j];
            let (n1, n2) = (self.links.node1[j], self.links.node2[j]);
            if q >= 0.0 {
                self.nodes.outflow[n1] += q;
                self.nodes.inflow[n2] += q;
            } else {
                self.nodes.inflow[n1] -= q;
                self.nodes.outflow[n2] -= q;
            }
            let b = self.links.barrels[j];
            self.links.q1[j] = q / b;
            self.links.q2[j] = q / b;
            let a = self.links.xsect[j].a_of_y(self.links.new_depth[j]);
            self.links.a1[j] = a;
            self.links.a2[j] = a;
            self.links.new_volume[j] = a * self.links.length[j] * b;
            self.links.old_volume[j] = self.links.new_volume[j];
            self.links.old_depth[j] = self.links.new_depth[j];
        }
        let init: f64 =
            self.nodes.new_volume.iter().sum::<f64>() + self.links.new_volume.iter().sum::<f64>();
        self.totals.init_storage = init;
        self.conduit_adj = self.build_adjacency();
    }

    /// Normal depth of flow q (cfs per barrel) in conduit j.
    fn y_norm(&self, j: usize, q: f64) -> f64 {
        let q = q.abs().min(self.links.q_max[j]);
        if q <= 0.0 {
            return 0.0;
        }
        let x = &self.links.xsect[j];
        let a = x.a_of_s(q / self.links.beta[j]);
        x.y_of_a(a)
    }

    fn set_outfall_depth(&mut self, j: usize) {
        let (n1, n2) = (self.links.node1[j], self.links.node2[j]);
        let (n, z) = if self.is_outfall(n2) {
            (n2, self.links.offset2[j])
        } else if self.is_outfall(n1) {
            (n1, self.links.offset1[j])
        } else {
            return;
        };
        let q = (self.links.new_flow[j] / self.links.barrels[j]).abs();
        let (y_norm, y_crit) = if self.links.is_conduit(j) {
            (self.y_norm(j, q), self.links.xsect[j].y_crit(q))
        } else {
            (0.0, 0.0)
        };
        let NodeKind::Outfall { bc, .. } = &self.nodes.kind[n] else {
            return;
        };
        let invert = self.nodes.invert[n];
        let stage = match bc {
            OutfallBc::Free => {
                self.nodes.new_depth[n] = if z > 0.0 { 0.0 } else { y_norm.min(y_crit) };
                return;
            }
            OutfallBc::Normal => {
                self.nodes.new_depth[n] = if z > 0.0 { 0.0 } else { y_norm };
                return;
            }
            OutfallBc::Fixed(s) => *s,
            OutfallBc::Series(k) => self.tables[*k].lookup(self.time, true) / self.opt.ucf_length(),
            OutfallBc::Tidal(k) => {
                // SWMM node.c outfall_setOutfallDepth: the curve's hours are
                // counted from its first point plus the hour within the day of
                // the elapsed routing time (not of the calendar clock).
                let c = &self.curves[*k];
                let x0 = c.x.first().copied().unwrap_or(0.0);
                let hour = (self.time / 86_400.0).fract() * 24.0;
                c.lookup(x0 + hour) / self.opt.ucf_length()
            }
        };
        let yc = y_crit.min(y_norm);
        let y_new = if yc + z + invert < stage {
            stage - invert
        } else if z > 0.0 {
            if stage < invert + z {
                (stage - invert).max(0.0)
            } else {
                z + yc
            }
        } else {
            yc
        };
        self.nodes.new_depth[n] = y_new;
    }

    // ----- coupling API -----

    /// Sets an extra inflow (m³/s) at a node, added to its lateral inflow from
    /// the next step on (e.g. water entering from the surface model).
    pub fn set_node_inflow_si(&mut self, node: usize, q_m3s: f64) {
        if node < self.node_count() {
            self.nodes.api_inflow[node] = q_m3s / 0.028_316_846_592;
        }
    }
    /// Sets the water added (positive) or taken (negative) at a node to move its level toward
    /// a measurement, m³/s, from the next step on; booked in the routing totals as
    /// `assimilated`, apart from the inflows and outflows.
    pub fn set_node_assimilation_si(&mut self, node: usize, q_m3s: f64) {
        if node < self.node_count() {
            self.nodes.assim_inflow[node] = q_m3s / 0.028_316_846_592;
        }
    }
    /// Water-surface area over which a node's net inflow changes its depth, m²: its own and
    /// half of each joining conduit's (as the dynamic wave solver found it at the last step),
    /// at least the model's minimum surface area.
    pub fn node_surface_area_si(&self, node: usize) -> f64 {
        self.nodes
            .new_surf_area
            .get(node)
            .map_or(0.0, |a| a.max(self.opt.min_surf_area))
            * 0.3048
            * 0.3048
    }
    /// Depth at which a node's water reaches the crown of its highest pipe, m (above it the
    /// node is surcharged).
    pub fn node_crown_depth_si(&self, node: usize) -> f64 {
        let n = &self.nodes;
        n.crown_elev
            .get(node)
            .map_or(0.0, |c| (c - n.invert[node]).max(0.0))
            * 0.3048
    }
    /// Current overflow (flooding) rate at a node in m³/s (for 1D–2D exchange).
    pub fn node_overflow_si(&self, node: usize) -> f64 {
        self.nodes.overflow.get(node).copied().unwrap_or(0.0) * 0.028_316_846_592
    }
    /// Current depth at a node in metres.
    pub fn node_depth_si(&self, node: usize) -> f64 {
        self.nodes.new_depth.get(node).copied().unwrap_or(0.0) * 0.3048
    }
    /// Current flow in a link in m³/s (positive in the input's from→to direction).
    pub fn link_flow_si(&self, link: usize) -> f64 {
        self.links
            .new_flow
            .get(link)
            .map(|q| q * self.links.direction[link])
            .unwrap_or(0.0)
            * 0.028_316_846_592
    }
    /// Sets rainfall intensity (mm/h) at a rain gauge by name, overriding its
    /// time series from now on. Returns false if the gauge does not exist.
    pub fn set_gage_rainfall_mm_h(&mut self, gage: &str, mm_h: f64) -> bool {
        match &mut self.runoff {
            Some(r) => r.set_gage_override(gage, Some(mm_h / 25.4 / 43200.0)),
            None => false,
        }
    }
    /// Requests a link setting in [0, 1]: pump on/off (or speed), orifice or
    /// weir opening, conduit open/closed. Applied at the start of the next step
    /// (orifices move at their opening rate), like a SWMM control action.
    pub fn set_link_setting(&mut self, link: usize, setting: f64) {
        if link < self.link_count() {
            self.links.target_setting[link] = setting.clamp(0.0, 1.0);
        }
    }

    /// Holds a link's setting in [0, 1] from the next step on, whatever its depth limits and
    /// the control rules say (a pump or gate whose state a sensor reports), or releases it
    /// (`None`) to them.
    pub fn hold_link_setting(&mut self, link: usize, setting: Option<f64>) {
        if link < self.link_count() {
            self.links.held[link] = setting.map(|v| v.clamp(0.0, 1.0));
        }
    }

    // ----- time stepping -----

    /// Time step the engine would take next (s), from the Courant condition.
    pub fn next_step(&mut self) -> f64 {
        let fixed = self.opt.route_step;
        let mut dt = if self.opt.courant_factor == 0.0
            || fixed < MIN_TIMESTEP
            || self.opt.route_model != RouteModel::DynWave
        {
            fixed
        } else {
            if self.variable_step == 0.0 {
                self.variable_step = self.opt.min_route_step;
            } else {
                self.variable_step = self.variable_step_size(fixed);
            }
            self.variable_step = (1000.0 * self.variable_step).floor() / 1000.0;
            self.variable_step
        };
        if self.rule_step > 0.0 && !self.rules.is_empty() {
            let to_rule = self.next_rule_time - self.time;
            if to_rule > 0.001 && dt > to_rule {
                dt = to_rule;
            }
        }
        if self.time + dt > self.opt.duration {
            dt = (self.opt.duration - self.time).max(0.001);
        }
        dt
    }

    /// SWMM dynwave.c getVariableStep: the smallest Courant time of the
    /// conduits and depth-change time of the nodes. A minimum does not depend
    /// on the order it is taken in, so the sweeps run in parallel.
    fn variable_step_size(&self, max_step: f64) -> f64 {
        let l = &self.links;
        let courant = self.opt.courant_factor;
        let t_link = par_min(self.link_count(), max_step, |j| {
            if !l.is_conduit(j) {
                return None;
            }
            let q = l.new_flow[j].abs() / l.barrels[j];
            if q <= FUDGE || l.a1[j] <= FUDGE || l.froude[j] <= 0.01 {
                return None;
            }
            let mut t = l.new_volume[j] / l.barrels[j] / q;
            t *= l.mod_length[j] / l.length[j];
            t *= l.froude[j] / (1.0 + l.froude[j]) * courant;
            Some(t)
        });
        let n = &self.nodes;
        let t_node = par_min(self.node_count(), t_link, |i| {
            if self.is_outfall(i) || n.new_depth[i] <= FUDGE {
                return None;
            }
            let crown = n.crown_elev[i] - n.invert[i];
            if n.new_depth[i] + FUDGE >= crown {
                return None;
            }
            let max_depth = crown * 0.25;
            if max_depth < FUDGE || n.dydt[i] < FUDGE {
                return None;
            }
            Some(max_depth / n.dydt[i])
        });
        t_link.min(t_node).max(self.opt.min_route_step)
    }

    /// Advances the whole model (runoff and routing) by one routing step of
    /// `dt` seconds. Returns the number of Picard trials used.
    pub fn step(&mut self, dt: f64) -> usize {
        self.in_pool(|e| e.step_in_place(dt))
    }

    /// Advances by one variable step; returns the step taken (s), or 0 at the end.
    pub fn advance(&mut self) -> f64 {
        if self.time >= self.opt.duration - 1e-9 {
            return 0.0;
        }
        self.in_pool(|e| {
            let dt = e.next_step();
            e.step_in_place(dt);
            dt
        })
    }

    /// Runs `f` on a thread of rayon's pool when the network is large enough
    /// for its sweeps to split, so they fork and join from inside the pool
    /// instead of waking it from outside at every sweep; in place on a pool
    /// thread already, or when nothing splits.
    fn in_pool<R: Send>(&mut self, f: impl FnOnce(&mut Self) -> R + Send) -> R {
        if self.link_count() >= PARALLEL_MIN_LINKS && rayon::current_thread_index().is_none() {
            rayon::scope(|_| f(self))
        } else {
            f(self)
        }
    }

    fn step_in_place(&mut self, dt: f64) -> usize {
        let dt = dt.max(MIN_TIMESTEP);
        let t0 = self.time;
        match &mut self.runoff {
            Some(r) => r.advance_to(t0 + dt, &self.opt, &mut self.climate),
            // Without runoff SWMM updates the climate at each routing step.
            None => self.climate.set_state(t0),
        }
        // Mass balance over the first half step with the previous rates.
        self.update_totals(dt / 2.0);
        self.step_rates = RoutingTotals::default();
        // Lateral inflows at the start of the step.
        let n = &mut self.nodes;
        std::mem::swap(&mut n.old_lat_flow, &mut n.new_lat_flow);
        n.new_lat_flow.fill(0.0);
        self.storage_losses(dt);
        self.add_external_inflows(t0);
        self.add_dwf_inflows(t0);
        if let Some(r) = &self.runoff {
            for (node, q) in r.outlet_flows(t0) {
                self.nodes.new_lat_flow[node] += q;
                self.step_rates.ww_inflow += q;
            }
        }
        self.apply_settings(dt);
        self.old_time = t0;
        self.time = t0 + dt;
        // routeFlow: save old state, init node flows.
        let l = &mut self.links;
        l.old_depth.copy_from_slice(&l.new_depth);
        l.old_flow.copy_from_slice(&l.new_flow);
        l.old_volume.copy_from_slice(&l.new_volume);
        let n = &mut self.nodes;
        n.old_depth.copy_from_slice(&n.new_depth);
        n.old_volume.copy_from_slice(&n.new_volume);
        n.old_flow_inflow.copy_from_slice(&n.inflow);
        for ((net, qi), qo) in n.old_net_inflow.iter_mut().zip(&n.inflow).zip(&n.outflow) {
            *net = qi - qo;
        }
        n.inflow.copy_from_slice(&n.new_lat_flow);
        n.outflow.copy_from_slice(&n.losses);
        for (i, of) in n.overflow.iter_mut().enumerate() {
            let (v, full) = (n.new_volume[i], n.full_volume[i]);
            *of = if !n.kind[i].is_storage() && v > full {
                (v - full) / dt
            } else {
                0.0
            };
        }
        let trials = if self.opt.route_model != RouteModel::DynWave {
            self.kinwave_execute(dt);
            1
        } else {
            self.dynwave_execute(dt)
        };
        self.remove_outflows(dt);
        self.update_totals(dt / 2.0);
        self.step_count += 1;
        trials
    }

    fn update_totals(&mut self, dt: f64) {
        let r = self.step_rates;
        let t = &mut self.totals;
        t.dw_inflow += r.dw_inflow * dt;
        t.ww_inflow += r.ww_inflow * dt;
        t.ex_inflow += r.ex_inflow * dt;
        t.flooding += r.flooding * dt;
        t.outflow += r.outflow * dt;
        t.evap_loss += r.evap_loss * dt;
        t.seep_loss += r.seep_loss * dt;
        t.assimilated += r.assimilated * dt;
    }

    fn remove_outflows(&mut self, dt: f64) {
        // Evaporation and seepage from conduits, booked apart (SWMM
        // routing.c removeConduitLosses).
        let (mut evap, mut seep) = (0.0, 0.0);
        let l = &self.links;
        for j in (0..self.link_count()).filter(|&j| l.is_conduit(j)) {
            evap += l.evap_loss[j] * l.barrels[j];
            seep += l.seep_loss[j] * l.barrels[j];
        }
        self.step_rates.evap_loss += evap;
        self.step_rates.seep_loss += seep;
        // Outfalls discharging onto subcatchments keep their volume for the
        // next runoff step (SWMM removeOutflows).
        if let Some(r) = &mut self.runoff {
            for &(i, slot) in &self.outfall_routes {
                if self.nodes.inflow[i] > 0.0 {
                    r.add_outfall_volume(slot, self.nodes.inflow[i] * dt);
                }
            }
        }
        for i in 0..self.node_count() {
            let n = &mut self.nodes;
            let mut q = 0.0;
            let mut flooded = false;
            if matches!(n.kind[i], NodeKind::Outfall { .. }) {
                if n.outflow[i] == 0.0 {
                    q = n.inflow[i];
                } else if n.inflow[i] == 0.0 {
                    q = -n.outflow[i];
                    n.inflow[i] = q.abs();
                }
                n.overflow[i] = 0.0;
                n.new_volume[i] = 0.0;
            } else if self.opt.route_model != RouteModel::DynWave
                && n.degree[i] == 0
                && !matches!(n.kind[i], NodeKind::Storage(_))
            {
                // Terminal node under kinematic wave: its inflow leaves the system.
                if n.outflow[i] == 0.0 {
                    q = n.inflow[i];
                }
                n.overflow[i] = 0.0;
                n.new_volume[i] = 0.0;
            } else {
                if n.new_volume[i] <= n.full_volume[i] {
                    q = n.overflow[i];
                }
                if q > 0.0 {
                    flooded = true;
                }
            }
            if q > 0.0 {
                if flooded {
                    self.step_rates.flooding += q;
                } else {
                    self.step_rates.outflow += q;
                }
            } else {
                self.step_rates.ex_inflow += -q;
            }
        }
    }

    /// Routing continuity error (percent), as SWMM's flow routing continuity.
    pub fn routing_continuity_error(&self) -> f64 {
        let t = &self.totals;
        let mut storage: f64 = self.nodes.new_volume.iter().sum::<f64>();
        // Steady flow holds no water in its links (SWMM massbal.c).
        if self.opt.route_model != RouteModel::Steady {
            storage += self.links.new_volume.iter().sum::<f64>();
        }
        let inflow =
            t.dw_inflow + t.ww_inflow + t.ex_inflow + t.init_storage + t.assimilated.max(0.0);
        let outflow =
            t.flooding + t.outflow + t.evap_loss + t.seep_loss + storage - t.assimilated.min(0.0);
        crate::massbal::continuity_error(inflow, outflow)
    }

    /// Routing volume totals so far (ft³).
    pub fn routing_totals(&self) -> RoutingTotals {
        self.totals
    }

    // ----- dynamic wave -----

    // ----- pumps and regulators -----

    // ----- kinematic wave -----
}

/// SWMM's date-time of 1970-01-01 (days since 1899-12-30).
const SWMM_EPOCH_DAYS: f64 = 25_569.0;

impl Engine {
    /// The current time as SWMM's date-time (days since 1899-12-30), formed
    /// as SWMM forms it from the elapsed milliseconds, one added
    /// (swmm5.c getDateTime, datetime_addSeconds).
    fn swmm_date_time(&self) -> f64 {
        let day = (self.opt.start_epoch / 86_400.0).floor();
        let secs = self.opt.start_epoch - day * 86_400.0;
        let seconds = (self.time * 1000.0 + 1.0) / 1000.0;
        day + SWMM_EPOCH_DAYS + (secs + seconds) / 86_400.0
    }
}

impl ControlState for Engine {
    fn curve(&self, name: &str) -> Option<usize> {
        self.curve_names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
    }
    fn series(&self, name: &str) -> Option<usize> {
        self.series_names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
    }
    fn curve_value(&self, curve: usize, x: f64) -> f64 {
        self.curves[curve].lookup(x)
    }
    fn series_value(&self, series: usize) -> f64 {
        self.tables[series].lookup(self.time, true)
    }
    fn target_setting(&self, link: usize) -> f64 {
        self.links.target_setting[link]
    }
    fn is_pump(&self, link: usize) -> bool {
        matches!(self.links.kind[link], LinkKind::Pump { .. })
    }
    fn node(&self, name: &str) -> Option<usize> {
        self.nodes
            .name
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
    }
    fn link(&self, name: &str) -> Option<usize> {
        self.links
            .name
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
    }
    fn value(&self, v: &Var) -> f64 {
        let ucf = self.opt.ucf_length();
        let qcf = self.opt.ucf_flow();
        let abs = self.opt.start_epoch + self.time;
        match *v {
            Var::NodeDepth(i) => self.nodes.new_depth[i] * ucf,
            Var::NodeHead(i) => (self.nodes.new_depth[i] + self.nodes.invert[i]) * ucf,
            // SWMM's INFLOW is the node's lateral inflow.
            Var::NodeInflow(i) => self.nodes.new_lat_flow[i] * qcf,
            Var::NodeMaxDepth(i) => self.nodes.full_depth[i] * ucf,
            Var::NodeVolume(i) => self.nodes.new_volume[i] * ucf * ucf * ucf,
            Var::LinkFlow(j) => self.links.new_flow[j] * self.links.direction[j] * qcf,
            Var::LinkDepth(j) => self.links.new_depth[j] * ucf,
            // STATUS of conduits and pumps, SETTING of pumps, orifices and
            // weirs; other links have none (SWMM's MISSING: premise false).
            Var::LinkStatus(j) => match self.links.kind[j] {
                LinkKind::Conduit | LinkKind::Dummy | LinkKind::Pump { .. } => {
                    self.links.setting[j]
                }
                _ => f64::NAN,
            },
            Var::LinkSetting(j) => match self.links.kind[j] {
                LinkKind::Pump { .. } | LinkKind::Orifice { .. } | LinkKind::Weir { .. } => {
                    self.links.setting[j]
                }
                _ => f64::NAN,
            },
            Var::LinkFullFlow(j)
            | Var::LinkFullDepth(j)
            | Var::LinkVelocity(j)
            | Var::LinkLength(j)
            | Var::LinkSlope(j) => {
                let l = &self.links;
                if !matches!(l.kind[j], LinkKind::Conduit | LinkKind::Dummy) {
                    return f64::NAN;
                }
                match *v {
                    Var::LinkFullFlow(_) => l.q_full[j] * l.barrels[j] * qcf,
                    Var::LinkFullDepth(_) => l.xsect[j].y_full * ucf,
                    // SWMM link_getVelocity at the link's new flow and depth.
                    Var::LinkVelocity(_) => {
                        let y = l.new_depth[j];
                        let a = l.xsect[j].a_of_y(y);
                        if y <= 0.01 || a <= FUDGE {
                            0.0
                        } else {
                            l.new_flow[j] / l.barrels[j] / a * ucf
                        }
                    }
                    Var::LinkLength(_) => l.length[j] * ucf,
                    _ => l.slope[j],
                }
            }
            Var::LinkTimeOpen(j) | Var::LinkTimeClosed(j) => {
                let open = self.links.setting[j] > 0.0;
                if open != matches!(v, Var::LinkTimeOpen(_)) {
                    return f64::NAN;
                }
                // In days, on SWMM's date scale, as SWMM measures it.
                self.swmm_date_time() - self.links.time_last_set[j]
            }
            Var::Date => (abs / 86400.0).floor(),
            Var::DayOfYear => {
                let day = (abs / 86400.0).floor() as i64;
                let (y, _, _) = civil_from_days(day);
                (day - inp::days_from_civil(y as i32, 1, 1)) as f64 + 1.0
            }
            Var::Time => self.time / 3600.0,
            Var::ClockTime => (abs - (abs / 86400.0).floor() * 86400.0) / 3600.0,
            Var::Month => {
                let (_, m, _) = civil_from_days((abs / 86400.0).floor() as i64);
                m as f64
            }
            Var::Day => ((abs / 86400.0).floor() as i64 + 4).rem_euclid(7) as f64 + 1.0,
        }
    }
}
