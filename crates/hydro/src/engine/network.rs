//! The network's objects and their state, struct-of-arrays: node and link
//! kinds with their type-specific data, the per-node and per-link arrays the
//! solvers read and write, and the routing volume totals.

use crate::xsect::XSect;

/// Node type with its specific data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum NodeKind {
    /// A junction (manhole).
    Junction,
    /// A storage unit with its surface-area relation.
    Storage(StorageShape),
    /// An outfall boundary.
    Outfall {
        /// Boundary condition.
        bc: OutfallBc,
        /// Flap gate preventing backflow.
        gated: bool,
    },
    /// A flow divider: a junction under dynamic wave; under kinematic wave it
    /// splits its inflow between its two outflow links.
    Divider(Divider),
}

/// A flow divider's diversion rule (SWMM 5 Vol. II §2.4; node.c divider_getOutflow).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Divider {
    /// Link receiving the diverted flow.
    pub link: usize,
    /// How the diverted flow is found.
    pub rule: DividerRule,
}

/// How a divider finds its diverted flow.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum DividerRule {
    /// Everything above a cutoff flow (cfs) is diverted.
    Cutoff(f64),
    /// Whatever the non-diverted link cannot take is diverted.
    Overflow,
    /// Diverted flow from a curve of inflow (user flow units).
    Tabular(usize),
    /// A weir: nothing below `q_min` (cfs), then `c_weir·(f·dh_max)^1.5` in
    /// user units with f the fraction of the weir's flow range, and an orifice
    /// law `q_max·√f` above it.
    Weir {
        /// Inflow at which diversion starts (cfs).
        q_min: f64,
        /// Head at which the weir is full (user length units).
        dh_max: f64,
        /// Weir coefficient (user units).
        c_weir: f64,
        /// Diverted flow with the weir full (cfs).
        q_max: f64,
    },
}

/// Surface area relation of a storage unit (user units inside, as SWMM).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum StorageShape {
    /// Area = a0 + a1·d^a2.
    Functional {
        /// Coefficient.
        a1: f64,
        /// Exponent.
        a2: f64,
        /// Constant.
        a0: f64,
    },
    /// Area = a0 + a1·d + a2·d² (cylindrical, conical, paraboloid, pyramidal).
    Quadratic {
        /// Linear coefficient.
        a1: f64,
        /// Quadratic coefficient.
        a2: f64,
        /// Constant.
        a0: f64,
    },
    /// Area from a curve (index into the engine's curves).
    Tabular(usize),
}

impl NodeKind {
    /// True for storage units.
    pub fn is_storage(&self) -> bool {
        matches!(self, NodeKind::Storage(_))
    }
}

/// Pump type from its curve (SWMM 5 Vol. II §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PumpType {
    /// Ideal transfer pump: outflow equals inflow.
    Ideal,
    /// Type 1: flow by wet-well volume, stepwise.
    Type1,
    /// Type 2: flow by inlet depth, stepwise.
    Type2,
    /// Type 3: flow by head difference, continuous.
    Type3,
    /// Type 4: flow by inlet depth, continuous.
    Type4,
    /// Type 5: variable-speed head curve.
    Type5,
}

/// What a link is, with its type-specific data (internal units).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum LinkKind {
    /// A conduit.
    Conduit,
    /// A conduit with a DUMMY section: it passes on whatever reaches its
    /// upstream node, with no storage or travel time (SWMM 5 Vol. II §3.1).
    Dummy,
    /// A pump.
    Pump {
        /// Pump type.
        ptype: PumpType,
        /// Curve index (none for ideal pumps).
        curve: Option<usize>,
        /// Smallest x of the curve.
        x_min: f64,
        /// Largest x of the curve.
        x_max: f64,
        /// Start-up depth (ft; 0 = none).
        y_on: f64,
        /// Shut-off depth (ft; 0 = none).
        y_off: f64,
    },
    /// An orifice.
    Orifice {
        /// Bottom (true) or side orifice.
        bottom: bool,
        /// Discharge coefficient.
        cd: f64,
        /// Orifice coefficient times area·√(2g).
        c_orif: f64,
        /// Weir coefficient for partly full flow.
        c_weir: f64,
        /// Critical head for the orifice/weir transition (ft).
        h_crit: f64,
        /// Time to open or close fully (s; 0 = instant).
        orate: f64,
        /// Equivalent length for surface area (ft).
        length: f64,
        /// Current surface area (ft²).
        surf_area: f64,
    },
    /// A weir.
    Weir {
        /// 0 transverse, 1 side flow, 2 V-notch, 3 trapezoidal, 4 roadway.
        wtype: u8,
        /// Discharge coefficient of the central part.
        cd1: f64,
        /// Discharge coefficient of the triangular ends.
        cd2: f64,
        /// End contractions.
        end_con: f64,
        /// May surcharge (act as an orifice when submerged).
        can_surcharge: bool,
        /// Orifice coefficient when surcharged.
        c_surcharge: f64,
        /// Side slope of V-notch or trapezoidal ends.
        slope: f64,
        /// Curve of the discharge coefficient against head, if any.
        cd_curve: Option<usize>,
    },
    /// An outlet with a rating.
    Outlet {
        /// Coefficient of the power law.
        coeff: f64,
        /// Exponent of the power law.
        expon: f64,
        /// Rating curve index, if tabular.
        curve: Option<usize>,
        /// Rating by head difference (true) or by inlet depth.
        by_head: bool,
    },
}

/// Outfall boundary condition in internal units.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum OutfallBc {
    /// min(critical, normal) depth.
    Free,
    /// Normal depth.
    Normal,
    /// Fixed stage (ft).
    Fixed(f64),
    /// Stage time series (ft after conversion) by table index.
    Series(usize),
    /// Tidal stage curve (hour of day → stage) by curve index.
    Tidal(usize),
}

/// Conduit flow classification (SWMM's `flowClass`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FlowClass {
    /// Dry at both ends.
    Dry,
    /// Upstream end dry.
    UpDry,
    /// Downstream end dry.
    DnDry,
    /// Subcritical.
    Subcritical,
    /// Supercritical.
    Supercritical,
    /// Critical depth at upstream end.
    UpCritical,
    /// Critical depth at downstream end.
    DnCritical,
}

/// Node data and state, one entry per node (struct of arrays).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Nodes {
    /// Names as in the input.
    pub name: Vec<String>,
    /// Kinds.
    pub kind: Vec<NodeKind>,
    /// Invert elevation (ft).
    pub invert: Vec<f64>,
    /// Full depth (ft), raised to the highest connecting crown.
    pub full_depth: Vec<f64>,
    /// Surcharge depth above full depth (ft).
    pub sur_depth: Vec<f64>,
    /// Ponded area (ft²).
    pub ponded_area: Vec<f64>,
    /// Initial depth (ft).
    pub init_depth: Vec<f64>,
    /// Highest crown elevation of connecting links (ft).
    pub crown_elev: Vec<f64>,
    /// Number of outflow links, negated when the node has no inflow link.
    pub degree: Vec<i32>,
    /// Volume at full depth (ft³); zero for junctions, as in SWMM.
    pub full_volume: Vec<f64>,
    /// Depth at the start of the step (ft).
    pub old_depth: Vec<f64>,
    /// Current depth (ft).
    pub new_depth: Vec<f64>,
    /// Volume at the start of the step (ft³).
    pub old_volume: Vec<f64>,
    /// Current volume (ft³).
    pub new_volume: Vec<f64>,
    /// Total inflow (cfs).
    pub inflow: Vec<f64>,
    /// Total outflow (cfs).
    pub outflow: Vec<f64>,
    /// Overflow (flooding) rate (cfs).
    pub overflow: Vec<f64>,
    /// Net inflow at the previous step (cfs).
    pub old_net_inflow: Vec<f64>,
    /// Lateral inflow at the previous step (cfs).
    pub old_lat_flow: Vec<f64>,
    /// Lateral inflow at this step (cfs).
    pub new_lat_flow: Vec<f64>,
    /// Inflow at the previous step (cfs).
    pub old_flow_inflow: Vec<f64>,
    /// Extra inflow set through the API (cfs), e.g. from the surface model.
    pub api_inflow: Vec<f64>,
    /// Water added (positive) or taken (negative) to move the node's level toward a
    /// measurement (cfs), set through the API; booked apart as assimilated.
    pub assim_inflow: Vec<f64>,
    pub(super) converged: Vec<bool>,
    pub(super) new_surf_area: Vec<f64>,
    pub(super) old_surf_area: Vec<f64>,
    pub(super) sumdqdh: Vec<f64>,
    pub(super) dydt: Vec<f64>,
    /// Evaporation plus seepage loss rate over the step, from the state at
    /// its start (cfs).
    pub losses: Vec<f64>,
    /// Fraction of the potential evaporation rate a storage unit loses
    /// (Fevap; 0 for other nodes).
    pub(super) f_evap: Vec<f64>,
    /// Seepage state of storage units that lose water to the soil.
    pub(super) exfil: Vec<Option<crate::exfil::Exfil>>,
}

/// Link data and state, one entry per link (struct of arrays).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Links {
    /// Names as in the input.
    pub name: Vec<String>,
    /// Link type and its specific data.
    pub kind: Vec<LinkKind>,
    /// Setting requested by controls or pump depth limits.
    pub target_setting: Vec<f64>,
    /// A setting held from outside (what a pump's or gate's sensor reports), overriding the
    /// depth limits and the control rules until released.
    pub held: Vec<Option<f64>>,
    /// Upstream node (after any reversal).
    pub node1: Vec<usize>,
    /// Downstream node.
    pub node2: Vec<usize>,
    /// Offset of the upstream end above the node invert (ft).
    pub offset1: Vec<f64>,
    /// Offset of the downstream end (ft).
    pub offset2: Vec<f64>,
    /// +1, or −1 when reversed to give a positive slope.
    pub direction: Vec<f64>,
    /// Cross section.
    pub xsect: Vec<XSect>,
    /// Length (ft).
    pub length: Vec<f64>,
    /// Momentum length (ft) after any lengthening.
    pub mod_length: Vec<f64>,
    /// Number of barrels.
    pub barrels: Vec<f64>,
    /// Slope (ft/ft).
    pub slope: Vec<f64>,
    /// g·(n/1.486)², the friction factor.
    pub rough_factor: Vec<f64>,
    /// 1.486·√S/n.
    pub beta: Vec<f64>,
    /// Maximum normal flow (cfs per barrel).
    pub q_max: Vec<f64>,
    /// Full normal flow (cfs per barrel).
    pub q_full: Vec<f64>,
    /// User flow limit (cfs; 0 = none).
    pub q_limit: Vec<f64>,
    /// Entrance, exit and average loss coefficients.
    pub loss: Vec<[f64; 3]>,
    /// Flap gate on the conduit.
    pub flap_gate: Vec<bool>,
    /// Culvert inlet code (HDS-5 Table 9 row; 0 = not a culvert).
    pub culvert: Vec<u8>,
    /// When the link last switched between open and closed, as SWMM's
    /// date-time in days (it starts at the start date's midnight).
    pub time_last_set: Vec<f64>,
    /// Roughness factor of a force main's full-flow friction under dynamic
    /// wave (0 for other links).
    pub force_main: Vec<f64>,
    /// Seepage rate through the wetted width of a conduit (ft/s).
    pub seep_rate: Vec<f64>,
    /// Seepage loss of the step (cfs per barrel).
    pub seep_loss: Vec<f64>,
    /// Setting (1 open, 0 closed).
    pub setting: Vec<f64>,
    /// Flow at the start of the step (cfs, all barrels).
    pub old_flow: Vec<f64>,
    /// Current flow (cfs, all barrels).
    pub new_flow: Vec<f64>,
    /// Evaporation loss rate per barrel (ft³/s), as last computed.
    pub evap_loss: Vec<f64>,
    /// Depth at the start of the step (ft).
    pub old_depth: Vec<f64>,
    /// Current depth (ft).
    pub new_depth: Vec<f64>,
    /// Volume at the start of the step (ft³).
    pub old_volume: Vec<f64>,
    /// Current volume (ft³).
    pub new_volume: Vec<f64>,
    /// Flow classification.
    pub flow_class: Vec<FlowClass>,
    /// Froude number.
    pub froude: Vec<f64>,
    pub(super) q1: Vec<f64>,
    pub(super) q2: Vec<f64>,
    pub(super) a1: Vec<f64>,
    pub(super) a2: Vec<f64>,
    pub(super) dqdh: Vec<f64>,
    pub(super) surf_area1: Vec<f64>,
    pub(super) surf_area2: Vec<f64>,
}

impl Links {
    /// Appends a link with default hydraulic data; returns its index.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push(
        &mut self,
        name: &str,
        n1: usize,
        n2: usize,
        o1: f64,
        o2: f64,
        xsect: XSect,
        kind: LinkKind,
        setting: f64,
    ) -> usize {
        self.name.push(name.to_string());
        self.kind.push(kind);
        self.target_setting.push(setting);
        self.held.push(None);
        self.setting.push(setting);
        self.node1.push(n1);
        self.node2.push(n2);
        self.offset1.push(o1);
        self.offset2.push(o2);
        self.direction.push(1.0);
        self.xsect.push(xsect);
        self.length.push(0.0);
        self.mod_length.push(0.0);
        self.barrels.push(1.0);
        self.slope.push(0.0);
        self.rough_factor.push(0.0);
        self.beta.push(0.0);
        self.q_max.push(0.0);
        self.q_full.push(0.0);
        self.q_limit.push(0.0);
        self.loss.push([0.0; 3]);
        self.flap_gate.push(false);
        self.culvert.push(0);
        self.seep_rate.push(0.0);
        self.force_main.push(0.0);
        self.time_last_set.push(0.0);
        self.seep_loss.push(0.0);
        self.new_flow.push(0.0);
        self.evap_loss.push(0.0);
        self.name.len() - 1
    }

    /// True for conduits.
    pub fn is_conduit(&self, j: usize) -> bool {
        matches!(self.kind[j], LinkKind::Conduit)
    }
}

/// Running volume totals for the routing continuity check (ft³), as in
/// SWMM's `massbal.c`.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RoutingTotals {
    /// Dry-weather inflow.
    pub dw_inflow: f64,
    /// Wet-weather (runoff) inflow.
    pub ww_inflow: f64,
    /// External inflow.
    pub ex_inflow: f64,
    /// Flooding loss.
    pub flooding: f64,
    /// Outflow through outfalls.
    pub outflow: f64,
    /// Stored volume at the start.
    pub init_storage: f64,
    /// Evaporation from storage units and open conduits.
    pub evap_loss: f64,
    /// Seepage from storage units (exfiltration) and conduits.
    pub seep_loss: f64,
    /// Water added (positive) or taken (negative) by data assimilation at nodes.
    pub assimilated: f64,
}
