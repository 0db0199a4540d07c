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

use crate::climate::Climate;
use crate::controls::{ControlState, Rules, Var};
use crate::extfile::{ExternalFiles, parse_timeseries_file};
use crate::inp::{self, FlowUnits, OutfallKind, Project, TsData};
use crate::runoff::Runoff;
use crate::xsect::{GRAVITY, XSect};

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
/// Absolute minimum time step (s).
const MIN_TIMESTEP: f64 = 0.001;
/// Networks with at least this many links solve conduit momentum in parallel.
const PARALLEL_MIN_LINKS: usize = 2000;

/// Result of one node's depth update, applied after all nodes are solved.
#[derive(Debug, Clone, Copy, Default)]
struct NodeOut {
    overflow: f64,
    old_surf_area: Option<f64>,
    new_volume: Option<f64>,
    dydt: f64,
    new_depth: f64,
}

/// A node's flows, surface area and ∂Q/∂H summed over a trial.
#[derive(Debug, Clone, Copy, Default)]
struct NodeAcc {
    inflow: f64,
    outflow: f64,
    surf_area: f64,
    sumdqdh: f64,
}

/// A conduit's own values from the previous trial that its momentum solution reads.
#[derive(Debug, Clone, Copy)]
struct ConduitPrev {
    q1: f64,
    depth: f64,
    volume: f64,
}

/// The conduits at each node, for gathering node flows in parallel.
#[derive(Debug, Clone, Default)]
struct ConduitAdjacency {
    /// `ends[start[i]..start[i + 1]]`: conduit ends at node i, in link order,
    /// each `2 * link + (0 upstream, 1 downstream)`.
    start: Vec<usize>,
    ends: Vec<u32>,
    /// Links with an outfall at either end.
    outfall_links: Vec<usize>,
    /// Number of pumps, orifices, weirs and outlets.
    non_conduits: usize,
}

/// The smallest of `start` and the values `f` gives for 0..n, swept in
/// parallel on large networks (a minimum does not depend on the order).
fn par_min(n: usize, start: f64, f: impl Fn(usize) -> Option<f64> + Sync) -> f64 {
    use rayon::prelude::*;
    let smaller = |a: f64, b: f64| if b < a { b } else { a };
    (0..n)
        .into_par_iter()
        .with_min_len(min_len(n))
        .fold(|| start, |m, i| f(i).map_or(m, |t| smaller(m, t)))
        .reduce(|| start, smaller)
}

/// Splitting length of parallel sweeps: small networks run on one thread.
fn min_len(n: usize) -> usize {
    if n >= PARALLEL_MIN_LINKS {
        256
    } else {
        n.max(1)
    }
}

/// Result of one conduit's momentum solution, applied after all conduits are solved.
#[derive(Debug, Clone, Copy)]
struct ConduitOut {
    flow_class: FlowClass,
    surf_area1: f64,
    surf_area2: f64,
    froude: f64,
    dqdh: f64,
    a1: f64,
    q1: f64,
    new_depth: f64,
    new_volume: f64,
    new_flow: f64,
    /// Evaporation loss rate per barrel (ft³/s); zero unless the conduit flows.
    evap_loss: f64,
    /// Seepage loss rate per barrel (ft³/s); zero unless the conduit flows.
    seep_loss: f64,
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

/// Error building an engine from a project.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// A reference to an object that does not exist.
    #[error("[{section}] {object}: unknown {kind} '{name}'")]
    UnknownRef {
        /// Section of the referring object.
        section: &'static str,
        /// Referring object.
        object: String,
        /// What kind of object was looked up.
        kind: &'static str,
        /// The missing name.
        name: String,
    },
    /// An invalid value.
    #[error("[{section}] {object}: {message}")]
    Invalid {
        /// Section.
        section: &'static str,
        /// Object.
        object: String,
        /// What is wrong.
        message: String,
    },
    /// A feature this engine does not model yet.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Bad data in an external file the model names.
    #[error("file '{path}' line {line}: {message}")]
    FileData {
        /// Path as written in the model.
        path: String,
        /// 1-based line (0 for the file as a whole).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An external file the model names was not provided.
    #[error("{used_by} reads file '{path}', which was not provided")]
    MissingFile {
        /// Path as written in the model.
        path: String,
        /// Which object reads it.
        used_by: String,
    },
}

fn invalid(section: &'static str, object: &str, message: impl Into<String>) -> EngineError {
    EngineError::Invalid {
        section,
        object: object.to_string(),
        message: message.into(),
    }
}

/// Flow routing method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteModel {
    /// Dynamic wave (full St Venant).
    DynWave,
    /// Kinematic wave.
    KinWave,
    /// Steady flow (instantaneous translation).
    Steady,
}

/// How momentum inertial terms are damped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InertialDamping {
    /// Keep inertial terms.
    None,
    /// Reduce as the Froude number approaches 1 (SWMM default).
    Partial,
    /// Drop inertial terms.
    Full,
}

/// When normal flow limits conduit flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormalFlowLimit {
    /// Water surface slope below conduit slope.
    Slope,
    /// Froude number ≥ 1.
    Froude,
    /// Either (SWMM default).
    Both,
    /// Never.
    Neither,
}

/// Simulation options read from `[OPTIONS]` (internal units).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Flow units of the model.
    pub flow_units: FlowUnits,
    /// Routing method.
    pub route_model: RouteModel,
    /// Start of the simulation as seconds since 1970-01-01.
    pub start_epoch: f64,
    /// Total duration (s).
    pub duration: f64,
    /// Report step (s).
    pub report_step: f64,
    /// Start of reporting relative to simulation start (s).
    pub report_start: f64,
    /// Routing step (s).
    pub route_step: f64,
    /// Minimum variable step (s).
    pub min_route_step: f64,
    /// Courant safety factor of the variable step (0 = fixed step).
    pub courant_factor: f64,
    /// Wet-weather runoff step (s).
    pub wet_step: f64,
    /// Dry-weather runoff step (s).
    pub dry_step: f64,
    /// Minimum nodal surface area (ft²).
    pub min_surf_area: f64,
    /// Head convergence tolerance (ft).
    pub head_tol: f64,
    /// Maximum Picard trials per step.
    pub max_trials: usize,
    /// Inertial damping.
    pub inertial_damping: InertialDamping,
    /// Normal flow limitation.
    pub normal_flow_limit: NormalFlowLimit,
    /// Surcharge by a Preissmann slot in closed conduits (SURCHARGE_METHOD
    /// SLOT) instead of EXTRAN's surcharged-node balance.
    pub surcharge_slot: bool,
    /// Full-flow friction law of force mains.
    pub force_main_eqn: crate::forcemain::ForceMainEqn,
    /// Ponding allowed at nodes with a ponded area.
    pub allow_ponding: bool,
    /// Conduit offsets are elevations (true) or depths (false).
    pub offsets_are_elevations: bool,
    /// Minimum conduit slope (fraction; 0 = none).
    pub min_slope: f64,
    /// Conduit lengthening step (s; 0 = none).
    pub lengthening_step: f64,
    /// Infiltration method name (HORTON, ...).
    pub infiltration: String,
    /// Whether surface runoff is computed (subcatchments present and not ignored).
    pub ignore_rainfall: bool,
}

fn date_time(
    p: &Project,
    date_key: &str,
    time_key: &str,
    default_date: Option<(i32, u32, u32)>,
) -> Option<f64> {
    let d = match p.option(date_key) {
        Some(s) => inp::parse_date(s)?,
        None => default_date?,
    };
    let h = p.option(time_key).and_then(inp::parse_hours).unwrap_or(0.0);
    Some(inp::days_from_civil(d.0, d.1, d.2) as f64 * 86400.0 + h * 3600.0)
}

impl Options {
    /// Reads options with SWMM's defaults.
    pub fn from_project(p: &Project) -> Result<Self, EngineError> {
        let flow_units = p.flow_units();
        let ucf_len = if flow_units.is_si() { 0.3048 } else { 1.0 };
        let num = |key: &str, default: f64| -> Result<f64, EngineError> {
            match p.option(key) {
                None => Ok(default),
                Some(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        invalid("OPTIONS", key, format!("expected a number, found '{v}'"))
                    }),
            }
        };
        let step = |key: &str, default: f64| -> Result<f64, EngineError> {
            match p.option(key) {
                None => Ok(default),
                Some(v) => inp::parse_hours(v).map(|h| h * 3600.0).ok_or_else(|| {
                    invalid("OPTIONS", key, format!("expected hh:mm:ss, found '{v}'"))
                }),
            }
        };
        let kw = |key: &str| p.option(key).map(|s| s.to_ascii_uppercase());
        let route_model = match kw("FLOW_ROUTING").as_deref() {
            None | Some("DYNWAVE") => RouteModel::DynWave,
            Some("KINWAVE") => RouteModel::KinWave,
            Some("STEADY") => RouteModel::Steady,
            Some(o) => {
                return Err(invalid(
                    "OPTIONS",
                    "FLOW_ROUTING",
                    format!("unknown method '{o}'"),
                ));
            }
        };
        let start = date_time(p, "START_DATE", "START_TIME", Some((2004, 1, 1)))
            .ok_or_else(|| invalid("OPTIONS", "START_DATE", "bad date"))?;
        let start_date = p
            .option("START_DATE")
            .and_then(inp::parse_date)
            .unwrap_or((2004, 1, 1));
        let end = date_time(p, "END_DATE", "END_TIME", Some(start_date))
            .ok_or_else(|| invalid("OPTIONS", "END_DATE", "bad date"))?;
        let rstart = date_time(
            p,
            "REPORT_START_DATE",
            "REPORT_START_TIME",
            Some(start_date),
        )
        .unwrap_or(start);
        let duration = end - start;
        if duration <= 0.0 {
            return Err(invalid(
                "OPTIONS",
                "END_DATE",
                "simulation end must be after its start",
            ));
        }
        let route_step =
            step("ROUTING_STEP", 20.0 / 3600.0 * 3600.0).or_else(|_| num("ROUTING_STEP", 20.0))?;
        // ROUTING_STEP is normally seconds (a bare number); parse_hours would read it as hours.
        let route_step = match p.option("ROUTING_STEP") {
            Some(v) if !v.contains(':') => num("ROUTING_STEP", 20.0)?,
            _ => route_step,
        };
        let mut min_route_step = num("MINIMUM_STEP", 0.5)?;
        if min_route_step > route_step {
            min_route_step = route_step;
        }
        min_route_step = min_route_step.max(MIN_TIMESTEP);
        let msa = num("MIN_SURFAREA", 0.0)?;
        let ht = num("HEAD_TOLERANCE", 0.0)?;
        let trials = num("MAX_TRIALS", 0.0)?;
        let ponding = matches!(kw("ALLOW_PONDING").as_deref(), Some("YES"));
        let inertial_damping = match kw("INERTIAL_DAMPING").as_deref() {
            Some("NONE") => InertialDamping::None,
            Some("FULL") => InertialDamping::Full,
            _ => InertialDamping::Partial,
        };
        let normal_flow_limit = match kw("NORMAL_FLOW_LIMITED").as_deref() {
            Some("SLOPE") => NormalFlowLimit::Slope,
            Some("FROUDE") => NormalFlowLimit::Froude,
            Some("NEITHER") => NormalFlowLimit::Neither,
            _ => NormalFlowLimit::Both,
        };
        let surcharge_slot = match kw("SURCHARGE_METHOD").as_deref() {
            None | Some("EXTRAN") => false,
            Some("SLOT") => true,
            Some(o) => {
                return Err(invalid(
                    "OPTIONS",
                    "SURCHARGE_METHOD",
                    format!("expected EXTRAN or SLOT, found '{o}'"),
                ));
            }
        };
        let force_main_eqn = match kw("FORCE_MAIN_EQUATION").as_deref() {
            None | Some("H-W") => crate::forcemain::ForceMainEqn::HazenWilliams,
            Some("D-W") => crate::forcemain::ForceMainEqn::DarcyWeisbach,
            Some(o) => {
                return Err(invalid(
                    "OPTIONS",
                    "FORCE_MAIN_EQUATION",
                    format!("expected H-W or D-W, found '{o}'"),
                ));
            }
        };
        let report_step = step("REPORT_STEP", 900.0)?;
        if report_step <= 0.0 {
            return Err(invalid("OPTIONS", "REPORT_STEP", "must be positive"));
        }
        let wet_step = step("WET_STEP", 300.0)?;
        let dry_step = step("DRY_STEP", 3600.0)?;
        Ok(Options {
            flow_units,
            route_model,
            start_epoch: start,
            duration,
            report_step,
            report_start: (rstart - start).max(0.0),
            route_step,
            min_route_step,
            // SWMM 5.2 varies the step (Courant factor 0.75) unless told otherwise.
            courant_factor: num("VARIABLE_STEP", 0.75)?,
            wet_step,
            dry_step: dry_step.max(wet_step),
            min_surf_area: if msa == 0.0 {
                12.566
            } else {
                msa / (ucf_len * ucf_len)
            },
            head_tol: if ht == 0.0 { 0.005 } else { ht / ucf_len },
            max_trials: if trials <= 0.0 { 8 } else { trials as usize },
            inertial_damping,
            normal_flow_limit,
            surcharge_slot,
            force_main_eqn,
            allow_ponding: ponding,
            offsets_are_elevations: matches!(kw("LINK_OFFSETS").as_deref(), Some("ELEVATION")),
            min_slope: num("MIN_SLOPE", 0.0)? / 100.0,
            lengthening_step: num("LENGTHENING_STEP", 0.0)?,
            infiltration: kw("INFILTRATION").unwrap_or_else(|| "HORTON".into()),
            ignore_rainfall: matches!(kw("IGNORE_RAINFALL").as_deref(), Some("YES")),
        })
    }

    /// SWMM's user-units-per-foot factor for lengths.
    pub fn ucf_length(&self) -> f64 {
        if self.flow_units.is_si() { 0.3048 } else { 1.0 }
    }
    /// SWMM's user-units-per-cfs factor for flows.
    pub fn ucf_flow(&self) -> f64 {
        self.flow_units.swmm_qcf()
    }
    /// SWMM's rainfall-depth factor: mm or inches per foot.
    pub fn ucf_rain_depth(&self) -> f64 {
        if self.flow_units.is_si() { 304.8 } else { 12.0 }
    }
    /// SWMM's rainfall-intensity factor: mm/h or in/h per ft/s.
    pub fn ucf_rain_rate(&self) -> f64 {
        if self.flow_units.is_si() {
            1_097_280.0
        } else {
            43_200.0
        }
    }
}

/// A time series as (seconds from simulation start, value) pairs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Times (s from start), non-decreasing.
    pub x: Vec<f64>,
    /// Values.
    pub y: Vec<f64>,
}

impl Table {
    /// Linear interpolation; outside the range returns 0 (`extend` false) or
    /// the end value (`extend` true), like SWMM's time series lookup.
    pub fn lookup(&self, t: f64, extend: bool) -> f64 {
        let n = self.x.len();
        if n == 0 {
            return 0.0;
        }
        if t < self.x[0] {
            return if extend { self.y[0] } else { 0.0 };
        }
        if t > self.x[n - 1] {
            return if extend { self.y[n - 1] } else { 0.0 };
        }
        let i = self.x.partition_point(|&x| x < t);
        if i == 0 {
            return self.y[0];
        }
        let (x1, x2, y1, y2) = (self.x[i - 1], self.x[i], self.y[i - 1], self.y[i]);
        if x2 == x1 {
            y2
        } else {
            y1 + (t - x1) / (x2 - x1) * (y2 - y1)
        }
    }
    /// Value of a step function (value holds until the next point), used for rainfall.
    pub fn step_value(&self, t: f64) -> f64 {
        let n = self.x.len();
        if n == 0 || t < self.x[0] {
            return 0.0;
        }
        let i = self.x.partition_point(|&x| x <= t);
        self.y[i - 1]
    }
}

/// Converts a project time series to seconds from the simulation start; a
/// series kept in a file is read from its text in `files`.
pub fn build_table(
    ts: &inp::Timeseries,
    start_epoch: f64,
    files: &ExternalFiles,
) -> Result<Table, EngineError> {
    let from_file;
    let pts = match &ts.data {
        TsData::Points(pts) => pts,
        TsData::File(path) => {
            let text = files.get(path).ok_or_else(|| EngineError::MissingFile {
                path: path.clone(),
                used_by: format!("[TIMESERIES] {}", ts.name),
            })?;
            from_file = parse_timeseries_file(&ts.name, path, text)?;
            &from_file
        }
    };
    let mut t = Table::default();
    let mut last_date: Option<(i32, u32, u32)> = None;
    for p in pts {
        let d = p.date.or(last_date);
        last_date = d;
        let secs = match d {
            Some((y, m, dd)) => {
                inp::days_from_civil(y, m, dd) as f64 * 86400.0 + p.hours * 3600.0 - start_epoch
            }
            None => p.hours * 3600.0,
        };
        if let Some(&prev) = t.x.last()
            && secs < prev
        {
            return Err(invalid("TIMESERIES", &ts.name, "times must not decrease"));
        }
        t.x.push(secs);
        t.y.push(p.value);
    }
    Ok(t)
}

/// Node type with its specific data.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
pub struct Divider {
    /// Link receiving the diverted flow.
    pub link: usize,
    /// How the diverted flow is found.
    pub rule: DividerRule,
}

/// How a divider finds its diverted flow.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
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

/// A curve (x, y) in the user's units.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Curve {
    /// Curve type keyword.
    pub kind: String,
    /// X values (non-decreasing).
    pub x: Vec<f64>,
    /// Y values.
    pub y: Vec<f64>,
}

impl NodeKind {
    /// True for storage units.
    pub fn is_storage(&self) -> bool {
        matches!(self, NodeKind::Storage(_))
    }
}

impl Curve {
    /// Linear interpolation, constant beyond the ends (SWMM table_lookup).
    pub fn lookup(&self, x: f64) -> f64 {
        let n = self.x.len();
        if n == 0 {
            return 0.0;
        }
        if x <= self.x[0] {
            return self.y[0];
        }
        for i in 1..n {
            if x <= self.x[i] {
                let (x1, x2, y1, y2) = (self.x[i - 1], self.x[i], self.y[i - 1], self.y[i]);
                return if x2 == x1 {
                    y2
                } else {
                    y1 + (x - x1) / (x2 - x1) * (y2 - y1)
                };
            }
        }
        self.y[n - 1]
    }
    /// Linear interpolation extrapolated past the last point (SWMM table_lookupEx).
    pub fn lookup_ex(&self, x: f64) -> f64 {
        let n = self.x.len();
        if n == 0 {
            return 0.0;
        }
        let (mut x1, mut y1) = (self.x[0], self.y[0]);
        if x <= x1 {
            return if x1 > 0.0 { x / x1 * y1 } else { y1 };
        }
        let mut s = 0.0;
        for i in 1..n {
            let (x2, y2) = (self.x[i], self.y[i]);
            if x2 != x1 {
                s = (y2 - y1) / (x2 - x1);
            }
            if x <= x2 {
                return if x2 == x1 {
                    y2
                } else {
                    y1 + (x - x1) / (x2 - x1) * (y2 - y1)
                };
            }
            x1 = x2;
            y1 = y2;
        }
        y1 + s.max(0.0) * (x - x1)
    }
    /// Step lookup: y of the first point whose x exceeds the argument (SWMM table_intervalLookup).
    pub fn interval_lookup(&self, x: f64) -> f64 {
        for i in 0..self.x.len() {
            if x < self.x[i] {
                return self.y[i];
            }
        }
        self.y.last().copied().unwrap_or(0.0)
    }
    /// Slope of the segment containing x.
    pub fn slope(&self, x: f64) -> f64 {
        let n = self.x.len();
        if n < 2 {
            return 0.0;
        }
        let mut i = 1;
        while i < n - 1 && x > self.x[i] {
            i += 1;
        }
        let dx = self.x[i] - self.x[i - 1];
        if dx == 0.0 {
            0.0
        } else {
            (self.y[i] - self.y[i - 1]) / dx
        }
    }
    /// Volume under an area-versus-depth curve up to depth x (end-area method).
    pub fn storage_volume(&self, x: f64) -> f64 {
        let n = self.x.len();
        if n == 0 {
            return 0.0;
        }
        let (mut x1, mut a1) = (self.x[0], self.y[0]);
        if x <= x1 {
            return if x1 < 1e-6 {
                0.0
            } else {
                (a1 / x1) * x * x / 2.0
            };
        }
        let mut v = 0.0;
        let (mut dx, mut dy) = (0.0, 0.0);
        for i in 1..n {
            if self.x[i] >= x {
                let a = if self.x[i] == x1 {
                    self.y[i]
                } else {
                    a1 + (x - x1) / (self.x[i] - x1) * (self.y[i] - a1)
                };
                return v + (a1 + a) / 2.0 * (x - x1);
            }
            dx = self.x[i] - x1;
            dy = self.y[i] - a1;
            v += (a1 + self.y[i]) / 2.0 * dx;
            x1 = self.x[i];
            a1 = self.y[i];
        }
        if dx > 1e-6 {
            let s = dy / dx;
            let a = a1 + s * (x - x1);
            if a < 0.0 {
                v -= a1 * a1 / s / 2.0;
            } else {
                v += (a1 + a) / 2.0 * (x - x1);
            }
        }
        v
    }
}

/// Pump type from its curve (SWMM 5 Vol. II §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// An external inflow at a node.
#[derive(Debug, Clone, PartialEq)]
struct ExtInflow {
    node: usize,
    table: Option<usize>,
    sfactor: f64,
    baseline: f64,
    pattern: Option<usize>,
    /// Converts user flow to cfs.
    cf: f64,
}

/// A dry-weather inflow at a node.
#[derive(Debug, Clone, PartialEq)]
struct DwfInflow {
    node: usize,
    /// Average flow (cfs).
    avg: f64,
    /// Patterns by slot: monthly, daily, hourly, weekend.
    patterns: [Option<usize>; 4],
}

#[derive(Debug, Clone, PartialEq)]
struct Pattern {
    kind: u8, // 0 monthly, 1 daily, 2 hourly, 3 weekend
    factors: Vec<f64>,
}

/// Node data and state, one entry per node (struct of arrays).
#[derive(Debug, Clone, Default)]
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
    converged: Vec<bool>,
    new_surf_area: Vec<f64>,
    old_surf_area: Vec<f64>,
    sumdqdh: Vec<f64>,
    dydt: Vec<f64>,
    /// Evaporation plus seepage loss rate over the step, from the state at
    /// its start (cfs).
    pub losses: Vec<f64>,
    /// Fraction of the potential evaporation rate a storage unit loses
    /// (Fevap; 0 for other nodes).
    f_evap: Vec<f64>,
    /// Seepage state of storage units that lose water to the soil.
    exfil: Vec<Option<crate::exfil::Exfil>>,
}

/// Link data and state, one entry per link (struct of arrays).
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// Names as in the input.
    pub name: Vec<String>,
    /// Link type and its specific data.
    pub kind: Vec<LinkKind>,
    /// Setting requested by controls or pump depth limits.
    pub target_setting: Vec<f64>,
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
    q1: Vec<f64>,
    q2: Vec<f64>,
    a1: Vec<f64>,
    a2: Vec<f64>,
    dqdh: Vec<f64>,
    surf_area1: Vec<f64>,
    surf_area2: Vec<f64>,
}

impl Links {
    /// Appends a link with default hydraulic data; returns its index.
    #[allow(clippy::too_many_arguments)]
    fn push(
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
#[derive(Debug, Clone, Copy, Default, PartialEq)]
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
}

/// The drainage engine: network, options, inflows and state.
#[derive(Debug, Clone)]
pub struct Engine {
    /// Options in internal units.
    pub opt: Options,
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
    /// Builds an engine from a parsed project, validating references and
    /// values. A model that names external files needs [`Engine::with_files`].
    pub fn new(p: &Project) -> Result<Self, EngineError> {
        Self::with_files(p, &ExternalFiles::new())
    }

    /// Builds an engine from a parsed project and the text of the rain, time
    /// series and climate files it names ([`crate::referenced_files`]).
    pub fn with_files(p: &Project, files: &ExternalFiles) -> Result<Self, EngineError> {
        let mut opt = Options::from_project(p)?;
        for s in [
            "LID_USAGE",
            "GROUNDWATER",
            "RDII",
            "SNOWPACKS",
            "STREETS",
            "INLET_USAGE",
        ] {
            if p.raw_section(s).is_some_and(|r| !r.rows.is_empty()) {
                return Err(EngineError::Unsupported(format!("[{s}]")));
            }
        }
        let ucf = opt.ucf_length();
        let qcf = opt.ucf_flow();
        // Tables (time series).
        let mut tables = Vec::new();
        let mut table_index = std::collections::HashMap::new();
        for ts in &p.timeseries {
            table_index.insert(ts.name.to_ascii_uppercase(), tables.len());
            tables.push(build_table(ts, opt.start_epoch, files)?);
        }
        let mut patterns = Vec::new();
        let mut pattern_index = std::collections::HashMap::new();
        for pt in &p.patterns {
            let kind = match pt.kind.as_str() {
                "MONTHLY" => 0,
                "DAILY" => 1,
                "HOURLY" => 2,
                "WEEKEND" => 3,
                o => return Err(invalid("PATTERNS", &pt.name, format!("unknown type '{o}'"))),
            };
            pattern_index.insert(pt.name.to_ascii_uppercase(), patterns.len());
            patterns.push(Pattern {
                kind,
                factors: pt.factors.clone(),
            });
        }
        // Nodes.
        let mut nodes = Nodes::default();
        let mut node_index = std::collections::HashMap::new();
        let mut add_node = |nodes: &mut Nodes,
                            name: &str,
                            kind: NodeKind,
                            invert: f64,
                            full: f64,
                            init: f64,
                            sur: f64,
                            pond: f64| {
            node_index.insert(name.to_ascii_uppercase(), nodes.name.len());
            nodes.name.push(name.to_string());
            nodes.kind.push(kind);
            nodes.invert.push(invert / ucf);
            nodes.full_depth.push(full / ucf);
            nodes.init_depth.push(init / ucf);
            nodes.sur_depth.push(sur / ucf);
            nodes.ponded_area.push(pond / (ucf * ucf));
        };
        for j in &p.junctions {
            if j.max_depth < 0.0 || j.init_depth < 0.0 || j.sur_depth < 0.0 || j.ponded_area < 0.0 {
                return Err(invalid(
                    "JUNCTIONS",
                    &j.name,
                    "depths and ponded area must not be negative",
                ));
            }
            add_node(
                &mut nodes,
                &j.name,
                NodeKind::Junction,
                j.invert,
                j.max_depth,
                j.init_depth,
                j.sur_depth,
                j.ponded_area,
            );
        }
        // Dividers start as junctions; their rule is attached once links exist.
        // Under dynamic wave a divider stays a plain junction (SWMM 5 Vol. II §2.4).
        for d in &p.dividers {
            let g = |k: usize| d.node_params.get(k).copied().unwrap_or(0.0);
            if (0..4).any(|k| g(k) < 0.0) {
                return Err(invalid(
                    "DIVIDERS",
                    &d.name,
                    "depths and ponded area must not be negative",
                ));
            }
            add_node(
                &mut nodes,
                &d.name,
                NodeKind::Junction,
                d.invert,
                g(0),
                g(1),
                g(2),
                g(3),
            );
        }
        for o in &p.outfalls {
            let bc = match &o.kind {
                OutfallKind::Free => OutfallBc::Free,
                OutfallKind::Normal => OutfallBc::Normal,
                OutfallKind::Fixed(s) => OutfallBc::Fixed(s / ucf),
                OutfallKind::Timeseries(n) => {
                    OutfallBc::Series(*table_index.get(&n.to_ascii_uppercase()).ok_or_else(
                        || EngineError::UnknownRef {
                            section: "OUTFALLS",
                            object: o.name.clone(),
                            kind: "time series",
                            name: n.clone(),
                        },
                    )?)
                }
                OutfallKind::Tidal(c) => OutfallBc::Tidal(
                    p.curves
                        .iter()
                        .rposition(|k| k.name.eq_ignore_ascii_case(c))
                        .ok_or_else(|| EngineError::UnknownRef {
                            section: "OUTFALLS",
                            object: o.name.clone(),
                            kind: "curve",
                            name: c.clone(),
                        })?,
                ),
            };
            add_node(
                &mut nodes,
                &o.name,
                NodeKind::Outfall { bc, gated: o.gated },
                o.invert,
                0.0,
                0.0,
                0.0,
                0.0,
            );
        }
        let mut exfils = Vec::new();
        for st in &p.storage {
            let shape = match &st.shape {
                inp::StorageShape::Functional { a, b, c } => {
                    if *c < 0.0 {
                        return Err(invalid(
                            "STORAGE",
                            &st.name,
                            "constant area must not be negative",
                        ));
                    }
                    StorageShape::Functional {
                        a1: *a,
                        a2: *b,
                        a0: *c,
                    }
                }
                inp::StorageShape::Tabular(name) => {
                    let k = p
                        .curves
                        .iter()
                        .position(|c| c.name.eq_ignore_ascii_case(name))
                        .ok_or_else(|| EngineError::UnknownRef {
                            section: "STORAGE",
                            object: st.name.clone(),
                            kind: "curve",
                            name: name.clone(),
                        })?;
                    StorageShape::Tabular(k)
                }
                inp::StorageShape::Other { shape, params } => {
                    let (l, w, z) = (params[0], params[1], params[2]);
                    if l <= 0.0 || w <= 0.0 || z < 0.0 {
                        return Err(invalid(
                            "STORAGE",
                            &st.name,
                            "shape dimensions must be positive",
                        ));
                    }
                    let pi = std::f64::consts::PI;
                    let (a, b) = (l / 2.0, w / 2.0);
                    match shape.as_str() {
                        "CYLINDRICAL" => StorageShape::Quadratic {
                            a1: 0.0,
                            a2: 0.0,
                            a0: pi * a * b,
                        },
                        "CONICAL" => StorageShape::Quadratic {
                            a1: 2.0 * pi * b * z,
                            a2: pi * b / a * z * z,
                            a0: pi * a * b,
                        },
                        "PARABOLIC" => {
                            if z == 0.0 {
                                return Err(invalid(
                                    "STORAGE",
                                    &st.name,
                                    "paraboloid height must be positive",
                                ));
                            }
                            StorageShape::Quadratic {
                                a1: pi * a * b / z,
                                a2: 0.0,
                                a0: 0.0,
                            }
                        }
                        _ => StorageShape::Quadratic {
                            a1: 2.0 * (l + w) * z,
                            a2: 4.0 * z * z,
                            a0: l * w,
                        },
                    }
                }
            };
            exfils.push((
                storage_exfil(p, st, &shape, &opt)?,
                st.extra.get(1).copied().unwrap_or(0.0),
            ));
            let sur = st.extra.first().copied().unwrap_or(0.0);
            add_node(
                &mut nodes,
                &st.name,
                NodeKind::Storage(shape),
                st.invert,
                st.max_depth,
                st.init_depth,
                sur,
                0.0,
            );
        }
        let nn = nodes.name.len();
        nodes.exfil = vec![None; nn];
        nodes.f_evap = vec![0.0; nn];
        let mut loss_nodes = Vec::new();
        for (st, (e, f_evap)) in p.storage.iter().zip(exfils) {
            if let Some(&i) = node_index.get(&st.name.to_ascii_uppercase()) {
                if e.is_some() || f_evap != 0.0 {
                    loss_nodes.push(i);
                }
                nodes.exfil[i] = e;
                nodes.f_evap[i] = f_evap;
            }
        }
        let find_node = |section: &'static str, object: &str, name: &str| {
            node_index
                .get(&name.to_ascii_uppercase())
                .copied()
                .ok_or_else(|| EngineError::UnknownRef {
                    section,
                    object: object.to_string(),
                    kind: "node",
                    name: name.to_string(),
                })
        };
        // Curves.
        let mut curves = Vec::new();
        let mut curve_index = std::collections::HashMap::new();
        for c in &p.curves {
            curve_index.insert(c.name.to_ascii_uppercase(), curves.len());
            curves.push(Curve {
                kind: c.kind.clone(),
                x: c.points.iter().map(|p| p.0).collect(),
                y: c.points.iter().map(|p| p.1).collect(),
            });
        }
        let find_curve = |section: &'static str, object: &str, name: &str| {
            curve_index
                .get(&name.to_ascii_uppercase())
                .copied()
                .ok_or_else(|| EngineError::UnknownRef {
                    section,
                    object: object.to_string(),
                    kind: "curve",
                    name: name.to_string(),
                })
        };
        // Links.
        let mut links = Links::default();
        let xs: std::collections::HashMap<String, &inp::XSection> = p
            .xsections
            .iter()
            .map(|x| (x.link.to_ascii_uppercase(), x))
            .collect();
        let losses: std::collections::HashMap<String, &inp::Loss> = p
            .losses
            .iter()
            .map(|l| (l.link.to_ascii_uppercase(), l))
            .collect();
        let elev_offset = |o: f64, n: usize, nodes: &Nodes| {
            let o = o / ucf;
            if opt.offsets_are_elevations {
                o - nodes.invert[n]
            } else {
                o
            }
        };
        for c in &p.conduits {
            let n1 = find_node("CONDUITS", &c.name, &c.from)?;
            let n2 = find_node("CONDUITS", &c.name, &c.to)?;
            let x = xs
                .get(&c.name.to_ascii_uppercase())
                .ok_or_else(|| invalid("CONDUITS", &c.name, "has no [XSECTIONS] entry"))?;
            let dummy = x.shape == "DUMMY";
            let (mut xsect, n_override) = if dummy {
                (XSect::dummy(), None)
            } else {
                conduit_xsect(p, x, ucf)?
            };
            xsect.slot = opt.surcharge_slot && !dummy && !xsect.is_open();
            if xsect.force_main > 0.0
                && opt.force_main_eqn == crate::forcemain::ForceMainEqn::DarcyWeisbach
            {
                // Roughness height in inches or millimetres, as rainfall depths.
                xsect.force_main /= opt.ucf_rain_depth();
            }
            if c.length <= 0.0 {
                return Err(invalid("CONDUITS", &c.name, "length must be positive"));
            }
            if c.roughness <= 0.0 {
                return Err(invalid("CONDUITS", &c.name, "roughness must be positive"));
            }
            if x.barrels < 1.0 {
                return Err(invalid("XSECTIONS", &c.name, "barrels must be at least 1"));
            }
            let o1 = elev_offset(c.in_offset, n1, &nodes);
            let o2 = elev_offset(c.out_offset, n2, &nodes);
            let l = losses.get(&c.name.to_ascii_uppercase());
            let j = links.push(
                &c.name,
                n1,
                n2,
                o1.max(0.0),
                o2.max(0.0),
                xsect,
                if dummy {
                    LinkKind::Dummy
                } else {
                    LinkKind::Conduit
                },
                1.0,
            );
            // A natural channel's length is its main channel's; the flood
            // plain that sets its slope, volume and travel time is shorter by
            // the transect's length factor, while momentum keeps the given
            // length (SWMM link.c conduit_getLength, modLength).
            links.length[j] = c.length / ucf / n_override.map_or(1.0, |o| o.1);
            links.mod_length[j] = c.length / ucf;
            // SWMM reads no barrel count for natural channels.
            links.barrels[j] = if n_override.is_some() {
                1.0
            } else {
                x.barrels.floor()
            };
            links.q_limit[j] = c.max_flow / qcf;
            links.loss[j] = l.map(|l| [l.entry, l.exit, l.avg]).unwrap_or([0.0; 3]);
            // Seepage in in/h or mm/h (SWMM's rainfall units) to ft/s.
            links.seep_rate[j] = l.map_or(0.0, |l| l.seepage) / opt.ucf_rain_rate();
            links.flap_gate[j] = l.is_some_and(|l| l.flap_gate);
            links.culvert[j] = x.culvert.clamp(0.0, 255.0) as u8;
            // Steady flow starts every link empty (SWMM flowrout.c initLinks).
            if opt.route_model != RouteModel::Steady {
                links.new_flow[j] = c.init_flow / qcf;
            }
            // Roughness kept in rough_factor until validation below; a
            // natural channel takes its transect's main-channel n.
            links.rough_factor[j] = n_override.map_or(c.roughness, |o| o.0);
        }
        let n_conduits = links.name.len();
        for pu in &p.pumps {
            let n1 = find_node("PUMPS", &pu.name, &pu.from)?;
            let n2 = find_node("PUMPS", &pu.name, &pu.to)?;
            let (ptype, curve, x_min, x_max) = if pu.curve == "*" {
                (PumpType::Ideal, None, 0.0, 0.0)
            } else {
                let k = find_curve("PUMPS", &pu.name, &pu.curve)?;
                let c = &curves[k];
                let t = match c.kind.as_str() {
                    "PUMP1" => PumpType::Type1,
                    "PUMP2" => PumpType::Type2,
                    "PUMP3" => PumpType::Type3,
                    "PUMP4" => PumpType::Type4,
                    "PUMP5" => PumpType::Type5,
                    o => {
                        return Err(invalid(
                            "PUMPS",
                            &pu.name,
                            format!("curve '{}' has type '{o}', not PUMP1..PUMP5", pu.curve),
                        ));
                    }
                };
                if c.x.is_empty() {
                    return Err(invalid("CURVES", &pu.curve, "pump curve has no points"));
                }
                (t, Some(k), c.x[0], *c.x.last().unwrap_or(&0.0))
            };
            let (y_on, y_off) = (pu.startup / ucf, pu.shutoff / ucf);
            if y_on > 0.0 && y_on <= y_off {
                return Err(invalid(
                    "PUMPS",
                    &pu.name,
                    "startup depth must exceed shutoff depth",
                ));
            }
            let kind = LinkKind::Pump {
                ptype,
                curve,
                x_min,
                x_max,
                y_on,
                y_off,
            };
            links.push(
                &pu.name,
                n1,
                n2,
                0.0,
                0.0,
                XSect::dummy(),
                kind,
                if pu.on { 1.0 } else { 0.0 },
            );
        }
        for o in &p.orifices {
            let n1 = find_node("ORIFICES", &o.name, &o.from)?;
            let n2 = find_node("ORIFICES", &o.name, &o.to)?;
            let x = xs
                .get(&o.name.to_ascii_uppercase())
                .ok_or_else(|| invalid("ORIFICES", &o.name, "has no [XSECTIONS] entry"))?;
            if x.shape != "CIRCULAR" && x.shape != "RECT_CLOSED" {
                return Err(invalid(
                    "XSECTIONS",
                    &o.name,
                    "an orifice must be CIRCULAR or RECT_CLOSED",
                ));
            }
            let xsect = XSect::new(&x.shape, x.geom, ucf)
                .map_err(|e| invalid("XSECTIONS", &o.name, e.to_string()))?;
            let bottom = match o.kind.as_str() {
                "SIDE" => false,
                "BOTTOM" => true,
                k => {
                    return Err(invalid(
                        "ORIFICES",
                        &o.name,
                        format!("type must be SIDE or BOTTOM, found '{k}'"),
                    ));
                }
            };
            let length = (2.0 * opt.route_step * (GRAVITY * xsect.y_full).sqrt()).max(200.0);
            let kind = LinkKind::Orifice {
                bottom,
                cd: o.cd,
                c_orif: 0.0,
                c_weir: 0.0,
                h_crit: 0.0,
                orate: o.close_time * 3600.0,
                length,
                surf_area: 0.0,
            };
            let o1 = elev_offset(o.offset, n1, &nodes).max(0.0);
            let j = links.push(&o.name, n1, n2, o1, o1, xsect, kind, 1.0);
            links.flap_gate[j] = o.gated;
        }
        for w in &p.weirs {
            let n1 = find_node("WEIRS", &w.name, &w.from)?;
            let n2 = find_node("WEIRS", &w.name, &w.to)?;
            let x = xs
                .get(&w.name.to_ascii_uppercase())
                .ok_or_else(|| invalid("WEIRS", &w.name, "has no [XSECTIONS] entry"))?;
            let (wtype, shape) = match w.kind.as_str() {
                "TRANSVERSE" => (0u8, "RECT_OPEN"),
                "SIDEFLOW" => (1, "RECT_OPEN"),
                "V-NOTCH" => (2, "TRIANGULAR"),
                "TRAPEZOIDAL" => (3, "TRAPEZOIDAL"),
                "ROADWAY" => (4, "RECT_OPEN"),
                k => {
                    return Err(invalid(
                        "WEIRS",
                        &w.name,
                        format!("unknown weir type '{k}'"),
                    ));
                }
            };
            if x.shape != shape {
                return Err(invalid(
                    "XSECTIONS",
                    &w.name,
                    format!("a {} weir needs a {shape} cross section", w.kind),
                ));
            }
            let cd_curve = match w.extra.get(2).map(|s| s.as_str()) {
                None | Some("" | "*") => None,
                Some(c) => Some(find_curve("WEIRS", &w.name, c)?),
            };
            if wtype == 4 {
                // With a road width and surface SWMM reads the coefficient off
                // the FHWA roadway-overtopping curves (HDS-5 Figure III-11);
                // without them it uses the weir's own coefficient.
                let width = w
                    .extra
                    .first()
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(0.0);
                let surface = w.extra.get(1).map(|s| s.to_ascii_uppercase());
                if width > 0.0 && matches!(surface.as_deref(), Some("PAVED" | "GRAVEL")) {
                    return Err(EngineError::Unsupported(
                        "roadway weir coefficients from road width and surface (HDS-5 Figure III-11)"
                            .into(),
                    ));
                }
            }
            let xsect = XSect::new(&x.shape, x.geom, ucf)
                .map_err(|e| invalid("XSECTIONS", &w.name, e.to_string()))?;
            let slope = if wtype >= 2 { xsect.s_bot } else { 0.0 };
            let kind = LinkKind::Weir {
                wtype,
                cd1: w.cd,
                cd2: w.cd2,
                end_con: w.end_contractions,
                can_surcharge: w.can_surcharge,
                c_surcharge: 0.0,
                slope,
                cd_curve,
            };
            let o1 = elev_offset(w.crest, n1, &nodes).max(0.0);
            let j = links.push(&w.name, n1, n2, o1, o1, xsect, kind, 1.0);
            links.flap_gate[j] = w.gated;
        }
        for o in &p.outlets {
            let n1 = find_node("OUTLETS", &o.name, &o.from)?;
            let n2 = find_node("OUTLETS", &o.name, &o.to)?;
            let by_head = o.kind.ends_with("/HEAD");
            let kind = if o.kind.starts_with("TABULAR") {
                let name = o.params.first().cloned().unwrap_or_default();
                LinkKind::Outlet {
                    coeff: 0.0,
                    expon: 0.0,
                    curve: Some(find_curve("OUTLETS", &o.name, &name)?),
                    by_head,
                }
            } else {
                let num = |i: usize| {
                    o.params
                        .get(i)
                        .and_then(|s| s.parse::<f64>().ok())
                        .unwrap_or(0.0)
                };
                LinkKind::Outlet {
                    coeff: num(0),
                    expon: num(1),
                    curve: None,
                    by_head,
                }
            };
            let o1 = elev_offset(o.offset, n1, &nodes).max(0.0);
            let j = links.push(&o.name, n1, n2, o1, o1, XSect::dummy(), kind, 1.0);
            links.flap_gate[j] = o.gated;
        }
        let nl = links.name.len();
        for d in &p.dividers {
            let i = find_node("DIVIDERS", &d.name, &d.name)?;
            let div = divider_rule(d, &links, &curve_index, &opt)?;
            if links.node1[div.link] != i && links.node2[div.link] != i {
                return Err(invalid(
                    "DIVIDERS",
                    &d.name,
                    format!(
                        "diverted link '{}' is not connected to the divider",
                        d.diverted_link
                    ),
                ));
            }
            nodes.kind[i] = NodeKind::Divider(div);
        }
        let link_names: std::collections::HashSet<String> =
            links.name.iter().map(|n| n.to_ascii_uppercase()).collect();
        for x in &p.xsections {
            if !link_names.contains(&x.link.to_ascii_uppercase()) {
                return Err(EngineError::UnknownRef {
                    section: "XSECTIONS",
                    object: x.link.clone(),
                    kind: "link",
                    name: x.link.clone(),
                });
            }
        }
        // Regulator offsets: a crest below the downstream invert is raised to it (link_validate).
        for j in n_conduits..nl {
            if matches!(
                links.kind[j],
                LinkKind::Orifice { .. } | LinkKind::Weir { .. } | LinkKind::Outlet { .. }
            ) {
                let (n1, n2) = (links.node1[j], links.node2[j]);
                if nodes.invert[n1] + links.offset1[j] < nodes.invert[n2] {
                    links.offset1[j] = nodes.invert[n2] - nodes.invert[n1];
                    links.offset2[j] = links.offset1[j];
                }
            }
        }
        // Conduit validation (SWMM link.c conduit_validate).
        for j in 0..n_conduits {
            let n1 = links.node1[j];
            let n2 = links.node2[j];
            let len = links.length[j];
            let e1 = links.offset1[j] + nodes.invert[n1];
            let e2 = links.offset2[j] + nodes.invert[n2];
            let delta = (e1 - e2).abs().max(MIN_DELTA_Z);
            let mut slope = if delta >= len {
                delta / len
            } else {
                delta / (len * len - delta * delta).sqrt()
            };
            let raised = opt.min_slope > 0.0 && slope < opt.min_slope;
            if raised {
                slope = opt.min_slope;
            }
            let dummy = links.kind[j] == LinkKind::Dummy;
            if dummy && opt.route_model == RouteModel::DynWave && nodes.kind[n1].is_storage() {
                return Err(invalid(
                    "CONDUITS",
                    &links.name[j],
                    "a DUMMY conduit cannot leave a storage unit under dynamic wave",
                ));
            }
            if e1 < e2 && !raised && !dummy && opt.route_model != RouteModel::DynWave {
                return Err(invalid(
                    "CONDUITS",
                    &links.name[j],
                    "adverse slope, which only dynamic-wave routing can carry",
                ));
            }
            if e1 < e2 && !dummy && opt.route_model == RouteModel::DynWave {
                // Reverse the conduit so that it slopes downhill.
                let (a, b) = (links.node1[j], links.node2[j]);
                links.node1[j] = b;
                links.node2[j] = a;
                let (a, b) = (links.offset1[j], links.offset2[j]);
                links.offset1[j] = b;
                links.offset2[j] = a;
                let l = links.loss[j];
                links.loss[j] = [l[1], l[0], l[2]];
                links.direction[j] = -1.0;
                links.new_flow[j] = -links.new_flow[j];
            }
            // The conduit keeps its own slope; lengthening changes only the
            // slope of the friction term (SWMM link.c conduit_validate).
            links.slope[j] = slope;
            let mut roughness = links.rough_factor[j];
            let dw = opt.route_model == RouteModel::DynWave;
            let fm = links.xsect[j].force_main;
            if dw && fm > 0.0 {
                // Part full, a force main flows with the Manning's n that
                // gives its full flow (SWMM forcemain_getEquivN).
                let d = links.xsect[j].y_full;
                roughness = crate::forcemain::equivalent_n(opt.force_main_eqn, fm, d, slope);
            }
            let mut length_factor = 1.0;
            if opt.lengthening_step > 0.0 && !dummy {
                let x = &links.xsect[j];
                let y_full = if x.is_open() {
                    x.a_full / x.w_of_y(x.y_full)
                } else {
                    x.y_full
                };
                let v_full = PHI / roughness * x.s_full * slope.sqrt() / x.a_full;
                let t = opt.route_step.min(opt.lengthening_step);
                let ratio = ((GRAVITY * y_full).sqrt() + v_full) * t / len;
                if ratio > 1.0 {
                    length_factor = ratio;
                }
            }
            if length_factor != 1.0 {
                links.mod_length[j] = length_factor * len;
                slope /= length_factor;
                roughness /= length_factor.sqrt();
            }
            if dw && fm > 0.0 {
                links.force_main[j] =
                    crate::forcemain::rough_factor(opt.force_main_eqn, fm, length_factor);
            }
            links.rough_factor[j] = GRAVITY * (roughness / PHI).powi(2);
            links.beta[j] = if dummy {
                0.0
            } else {
                PHI * slope.abs().sqrt() / roughness
            };
            links.q_full[j] = links.xsect[j].s_full * links.beta[j];
            links.q_max[j] = links.xsect[j].s_max * links.beta[j];
        }
        // Node full depth raised to connecting crowns (link_validate).
        for j in 0..nl {
            let (n1, n2) = (links.node1[j], links.node2[j]);
            let yf = links.xsect[j].y_full;
            let skip = match &links.kind[j] {
                LinkKind::Pump { .. } => true,
                LinkKind::Orifice { bottom, .. } => *bottom,
                _ => false,
            };
            if skip {
                continue;
            }
            let raise1 =
                !matches!(nodes.kind[n1], NodeKind::Storage(_)) || nodes.sur_depth[n1] > 0.0;
            if raise1 {
                nodes.full_depth[n1] = nodes.full_depth[n1].max(links.offset1[j] + yf);
            }
            let raise2 =
                !matches!(nodes.kind[n2], NodeKind::Storage(_)) || nodes.sur_depth[n2] > 0.0;
            if raise2 && links.kind[j] == LinkKind::Conduit {
                nodes.full_depth[n2] = nodes.full_depth[n2].max(links.offset2[j] + yf);
            }
        }
        for i in 0..nn {
            if matches!(nodes.kind[i], NodeKind::Outfall { .. }) {
                nodes.full_depth[i] = 0.0;
            }
            if nodes.init_depth[i] > nodes.full_depth[i] + nodes.sur_depth[i] {
                return Err(invalid(
                    "JUNCTIONS",
                    &nodes.name[i],
                    "initial depth exceeds maximum depth",
                ));
            }
        }
        // Degree: outflow links per node (toposort), negative for nodes with no inflow link.
        let mut degree = vec![0i32; nn];
        let mut inflow_links = vec![0i32; nn];
        for j in 0..nl {
            let (n1, n2) = (links.node1[j], links.node2[j]);
            if matches!(nodes.kind[n1], NodeKind::Outfall { .. }) {
                degree[n2] += 1;
            } else {
                degree[n1] += 1;
            }
            let i = if matches!(nodes.kind[n1], NodeKind::Outfall { .. }) {
                n1
            } else {
                n2
            };
            inflow_links[i] += 1;
        }
        let mut outlets = 0;
        for i in 0..nn {
            if matches!(nodes.kind[i], NodeKind::Outfall { .. }) {
                if degree[i] + inflow_links[i] > 1 {
                    return Err(invalid(
                        "OUTFALLS",
                        &nodes.name[i],
                        "an outfall must have exactly one connecting link",
                    ));
                }
                outlets += 1;
            }
            if inflow_links[i] == 0 && opt.route_model == RouteModel::DynWave {
                degree[i] = -degree[i];
            }
        }
        if outlets == 0 && nl > 0 {
            return Err(invalid("OUTFALLS", "", "the network has no outfall"));
        }
        if opt.route_model == RouteModel::DynWave {
            validate_pass_through_links(&nodes, &links, &degree)?;
        }
        if opt.route_model != RouteModel::DynWave {
            validate_tree_layout(&nodes, &links)?;
        }
        nodes.degree = degree;
        // Inflows.
        let mut ext_inflows = Vec::new();
        for f in &p.inflows {
            let node = find_node("INFLOWS", &f.node, &f.node)?;
            if f.constituent != "FLOW" {
                continue; // pollutant inflows are not modelled
            }
            let table = if f.timeseries.is_empty() {
                None
            } else {
                Some(
                    *table_index
                        .get(&f.timeseries.to_ascii_uppercase())
                        .ok_or_else(|| EngineError::UnknownRef {
                            section: "INFLOWS",
                            object: f.node.clone(),
                            kind: "time series",
                            name: f.timeseries.clone(),
                        })?,
                )
            };
            let pattern = if f.pattern.is_empty() {
                None
            } else {
                Some(
                    *pattern_index
                        .get(&f.pattern.to_ascii_uppercase())
                        .ok_or_else(|| EngineError::UnknownRef {
                            section: "INFLOWS",
                            object: f.node.clone(),
                            kind: "pattern",
                            name: f.pattern.clone(),
                        })?,
                )
            };
            ext_inflows.push(ExtInflow {
                node,
                table,
                sfactor: f.sfactor,
                baseline: f.baseline,
                pattern,
                cf: 1.0 / qcf,
            });
        }
        let mut dwf_inflows = Vec::new();
        for d in &p.dwf {
            let node = find_node("DWF", &d.node, &d.node)?;
            if d.constituent != "FLOW" {
                continue;
            }
            let mut pats = [None; 4];
            for name in &d.patterns {
                if name.is_empty() || name == "\"\"" {
                    continue;
                }
                let k = *pattern_index
                    .get(&name.to_ascii_uppercase())
                    .ok_or_else(|| EngineError::UnknownRef {
                        section: "DWF",
                        object: d.node.clone(),
                        kind: "pattern",
                        name: name.clone(),
                    })?;
                pats[patterns[k].kind as usize] = Some(k);
            }
            dwf_inflows.push(DwfInflow {
                node,
                avg: d.base / qcf,
                patterns: pats,
            });
        }
        let mut runoff = if p.subcatchments.is_empty() || opt.ignore_rainfall {
            None
        } else {
            Some(Runoff::new(
                p,
                &opt,
                &tables,
                &table_index,
                &node_index,
                files,
            )?)
        };
        // A rain gauge recording more often than the wet-weather step
        // shortens it, and routing never steps beyond it (SWMM project_validate).
        let wet_step = runoff.as_ref().map_or(opt.wet_step, Runoff::wet_step);
        if opt.route_step > wet_step {
            opt.route_step = wet_step;
            opt.min_route_step = opt.min_route_step.min(wet_step);
        }
        let climate = Climate::new(p, &opt, &tables, &table_index, files)?;
        let mut outfall_routes = Vec::new();
        for o in &p.outfalls {
            let Some(to) = o.route_to.as_deref().filter(|s| !s.is_empty()) else {
                continue;
            };
            let slot = runoff
                .as_mut()
                .and_then(|r| r.route_outfall(to))
                .ok_or_else(|| EngineError::UnknownRef {
                    section: "OUTFALLS",
                    object: o.name.clone(),
                    kind: "subcatchment",
                    name: to.to_string(),
                })?;
            let node = node_index[&o.name.to_ascii_uppercase()];
            outfall_routes.push((node, slot));
        }
        let mut e = Engine {
            opt,
            nodes,
            links,
            runoff,
            climate,
            loss_nodes,
            outfall_routes,
            tables,
            table_values: Vec::new(),
            curves,
            series_names: p.timeseries.iter().map(|t| t.name.clone()).collect(),
            curve_names: p.curves.iter().map(|c| c.name.clone()).collect(),
            scratch: Vec::new(),
            sorted_links: Vec::new(),
            kw_updated: Vec::new(),
            conduit_adj: ConduitAdjacency::default(),
            rules: Rules::default(),
            rule_step: 0.0,
            next_rule_time: 0.0,
            patterns,
            ext_inflows,
            dwf_inflows,
            old_time: 0.0,
            time: 0.0,
            variable_step: 0.0,
            totals: RoutingTotals::default(),
            step_rates: RoutingTotals::default(),
            step_count: 0,
            nonconverged: 0,
            steps_this: 0,
        };
        e.init_state();
        e.rules = Rules::parse(&p.controls, &e)?;
        e.rule_step = match p.option("RULE_STEP").or(p.option("CONTROL_RULE_STEP")) {
            Some(v) => inp::parse_hours(v).map(|h| h * 3600.0).unwrap_or(0.0),
            None => 0.0,
        };
        if e.opt.route_model != RouteModel::DynWave {
            e.sorted_links = e.topo_sort()?;
        }
        Ok(e)
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

    /// The conduit ends at each node in link order, and the outfall links.
    fn build_adjacency(&self) -> ConduitAdjacency {
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

    /// Evaporation and seepage of the storage units over the coming step,
    /// from the state at its start (SWMM node.c storage_getLosses): the
    /// potential evaporation rate times the unit's Fevap over its surface
    /// area, and seepage through its bottom and banks (with the monthly
    /// conductivity adjustment and the soil recovery factor), together never
    /// more than the unit holds, both scaled down alike when they would be.
    /// As in SWMM, a unit holding less than 1e-4 ft³ keeps the bare
    /// evaporation rate (ft/s) rather than a flow. Each loss is booked in the
    /// step's mass balance on its own (routing.c removeStorageLosses).
    fn storage_losses(&mut self, dt: f64) {
        let rate = self.climate.evap_rate;
        // Storage seepage takes the global conductivity adjustment, not a
        // subcatchment's pattern (SWMM routing.c initSystemInflows).
        let adjust = crate::green_ampt::Adjust {
            conductivity: self.climate.hydcon_factor,
            recovery: self.climate.recovery_factor,
        };
        for k in 0..self.loss_nodes.len() {
            let i = self.loss_nodes[k];
            let mut evap = rate * self.nodes.f_evap[i];
            let mut seep = 0.0;
            if evap > 0.0 || self.nodes.exfil[i].is_some() {
                let depth = self.nodes.new_depth[i];
                let area = self.node_surf_area(i, depth);
                let volume = self.nodes.new_volume[i];
                if volume > FUDGE {
                    evap *= area;
                }
                if let Some(e) = self.nodes.exfil[i].as_mut() {
                    seep = e.loss(dt, depth, area, adjust);
                }
                let total = (evap + seep) * dt;
                if total > volume {
                    let ratio = volume / total;
                    evap *= ratio;
                    seep *= ratio;
                }
            }
            self.nodes.losses[i] = evap + seep;
            self.step_rates.evap_loss += evap;
            self.step_rates.seep_loss += seep;
        }
    }

    fn add_external_inflows(&mut self, t: f64) {
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
    }

    fn add_dwf_inflows(&mut self, t: f64) {
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
    fn calendar(&self, t: f64) -> (usize, usize, usize) {
        let abs = self.opt.start_epoch + t;
        let days = (abs / 86400.0).floor() as i64;
        let hour = ((abs - days as f64 * 86400.0) / 3600.0).floor() as usize;
        let dow = (days + 4).rem_euclid(7) as usize; // 1970-01-01 was a Thursday
        let (_, m, _) = civil_from_days(days);
        (m as usize - 1, dow, hour.min(23))
    }

    fn pattern_factor(&self, p: usize, month: usize, dow: usize, hour: usize) -> f64 {
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
    }

    /// Evaporation and seepage rates of conduit `j` (ft³/s per barrel) at
    /// the mean of its old depth and `new_depth` (SWMM link.c
    /// conduit_getLossRate): evaporation at the potential rate from the
    /// water surface of an open conduit, seepage at its rate (times the
    /// monthly conductivity adjustment) through the wetted width up to the
    /// widest point, both over the conduit's length; together never more
    /// than `q_max` (its volume over the step under dynamic wave, its flow
    /// otherwise), both scaled down alike when they would be. Returns
    /// (evaporation, seepage, total).
    #[inline]
    fn conduit_losses(&self, j: usize, new_depth: f64, q_max: f64) -> (f64, f64, f64) {
        let l = &self.links;
        let x = &l.xsect[j];
        let rate = self.climate.evap_rate;
        let (evaporates, seeps) = (x.is_open() && rate > 0.0, l.seep_rate[j] > 0.0);
        let depth = 0.5 * (l.old_depth[j] + new_depth);
        if !(evaporates || seeps) || depth <= FUDGE {
            return (0.0, 0.0, 0.0);
        }
        let length = l.length[j];
        let mut evap = 0.0;
        if evaporates {
            evap = x.w_of_y(depth) * length * rate;
        }
        let mut seep = 0.0;
        if seeps {
            let width = if x.shape == crate::xsect::Shape::RectClosed {
                x.w_max
            } else {
                x.w_of_y(depth.min(x.yw_max))
            };
            seep = l.seep_rate[j] * width * length * self.climate.hydcon_factor;
        }
        let mut total = evap + seep;
        if total > q_max {
            evap = evap * q_max / total;
            seep = seep * q_max / total;
            total = q_max;
        }
        (evap, seep, total)
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
        let inflow = t.dw_inflow + t.ww_inflow + t.ex_inflow + t.init_storage;
        let outflow = t.flooding + t.outflow + t.evap_loss + t.seep_loss + storage;
        if (inflow - outflow).abs() < 1.0 {
            0.0
        } else if inflow > 0.0 {
            100.0 * (1.0 - outflow / inflow)
        } else if outflow > 0.0 {
            100.0 * (inflow / outflow - 1.0)
        } else {
            0.0
        }
    }

    /// Routing volume totals so far (ft³).
    pub fn routing_totals(&self) -> RoutingTotals {
        self.totals
    }

    // ----- dynamic wave -----

    fn dynwave_execute(&mut self, dt: f64) -> usize {
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
    fn bypassed(&self, j: usize) -> bool {
        self.steps_this >= 2
            && self.nodes.converged[self.links.node1[j]]
            && self.nodes.converged[self.links.node2[j]]
    }

    /// Momentum solution of every conduit not bypassed, written straight into
    /// the link arrays. Each conduit reads node state and its own previous
    /// values and writes only its own entries, so large networks are solved
    /// in parallel with results identical for any thread count.
    fn all_conduit_flows(&mut self, dt: f64) {
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
    fn update_node_flows(&mut self, j: usize) {
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
    fn gather_node(&self, i: usize, depth: f64, acc: &mut NodeAcc) {
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
    fn node_sweep(&mut self, dt: f64, gather: bool, solve: bool) -> bool {
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
    fn node_depth(&self, i: usize, dt: f64, acc: &NodeAcc, old_surf: f64, y_last: f64) -> NodeOut {
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
    fn froude(&self, j: usize, v: f64, y: f64, a: Option<f64>) -> f64 {
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
    fn width(x: &XSect, y: f64) -> f64 {
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
    fn area(x: &XSect, y: f64) -> f64 {
        if y < x.y_full {
            x.a_of_y(y)
        } else if x.slot {
            x.a_full + (y - x.y_full) * x.slot_width(y)
        } else {
            x.a_full
        }
    }

    fn hyd_rad(x: &XSect, y: f64) -> f64 {
        if y >= x.y_full { x.r_full } else { x.r_of_y(y) }
    }

    /// Flow classification and node surface areas (SWMM dwflow.c getFlowClass/findSurfArea).
    #[allow(clippy::too_many_arguments)]
    fn find_surf_area(
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
    fn conduit_flow(&self, j: usize, dt: f64, prev: &ConduitPrev, out: &mut ConduitOut) {
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
        let loss = self.links.loss[j];
        let mut dq5 = 0.0;
        if loss.iter().any(|&c| c != 0.0) {
            let qa = q_last.abs();
            let mut losses = 0.0;
            if a1 > FUDGE {
                losses += loss[0] * (qa / a1);
            }
            if a2 > FUDGE {
                losses += loss[1] * (qa / a2);
            }
            if a_mid > FUDGE {
                losses += loss[2] * (qa / a_mid);
            }
            dq5 = losses / 2.0 / length * dt;
        }
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

    // ----- pumps and regulators -----

    /// Orifice and weir coefficients for the current setting (SWMM
    /// orifice_setSetting / weir_setSetting).
    fn set_regulator_coeffs(&mut self, j: usize) {
        let setting = self.links.setting[j];
        let x = self.links.xsect[j].clone();
        let si = self.opt.flow_units.is_si();
        match &mut self.links.kind[j] {
            LinkKind::Orifice {
                bottom,
                cd,
                c_orif,
                c_weir,
                h_crit,
                ..
            } => {
                let h = setting * x.y_full;
                let f = x.a_of_y(h) * (2.0 * GRAVITY).sqrt();
                *c_orif = *cd * f;
                let hw = if *bottom {
                    let a_over_l = if x.shape == crate::xsect::Shape::Circular {
                        h / 4.0
                    } else {
                        (h * x.w_max) / (2.0 * (h + x.w_max))
                    };
                    let hc = *cd / 0.414 * a_over_l;
                    *h_crit = hc;
                    hc
                } else {
                    *h_crit = h;
                    h / 2.0
                };
                *c_weir = *cd * hw.max(0.0).sqrt() * f;
            }
            LinkKind::Weir {
                wtype,
                can_surcharge,
                c_surcharge,
                ..
            } => {
                if *wtype == 4 || (!*can_surcharge && *c_surcharge != 0.0) {
                    return;
                }
                let h = setting * x.y_full;
                if setting == 0.0 {
                    *c_surcharge = 0.0;
                } else {
                    let kind = self.links.kind[j].clone();
                    let (q1, q2, _) = weir_flow(&kind, &x, setting, h, 1.0, si, &self.curves);
                    if let LinkKind::Weir { c_surcharge, .. } = &mut self.links.kind[j] {
                        *c_surcharge = (q1 + q2) / (h / 2.0).sqrt();
                    }
                }
            }
            _ => {}
        }
    }

    /// Pump on/off by inlet depth, then applies new target settings
    /// (SWMM routing.c evaluateControlRules without rules).
    fn apply_settings(&mut self, dt: f64) {
        for j in 0..self.link_count() {
            if let LinkKind::Pump { y_on, y_off, .. } = self.links.kind[j] {
                let n1 = self.links.node1[j];
                let d = self.nodes.new_depth[n1];
                let s = self.links.setting[j];
                let mut t = s;
                if y_off > 0.0 && s > 0.0 && d < y_off {
                    t = 0.0;
                }
                if y_on > 0.0 && s == 0.0 && d > y_on {
                    t = 1.0;
                }
                self.links.target_setting[j] = t;
            }
        }
        if !self.rules.is_empty()
            && (self.rule_step == 0.0 || self.time >= self.next_rule_time - 0.001)
        {
            let mut rules = std::mem::take(&mut self.rules);
            let actions = rules.evaluate(&*self, dt / 3600.0);
            self.rules = rules;
            for (l, v) in actions {
                self.links.target_setting[l] = v;
            }
            if self.rule_step > 0.0 {
                self.next_rule_time += self.rule_step;
            }
        }
        for j in 0..self.link_count() {
            let target = self.links.target_setting[j];
            if target == self.links.setting[j] {
                continue;
            }
            // Switching between open and closed restarts the link's
            // TIMEOPEN / TIMECLOSED clock (SWMM routing.c).
            if target * self.links.setting[j] == 0.0 {
                self.links.time_last_set[j] = self.swmm_date_time();
            }
            match self.links.kind[j] {
                LinkKind::Orifice { orate, .. } => {
                    if orate == 0.0 || dt == 0.0 {
                        self.links.setting[j] = target;
                    } else {
                        let delta = target - self.links.setting[j];
                        let step = dt / orate;
                        if step + 0.001 >= delta.abs() {
                            self.links.setting[j] = target;
                        } else {
                            self.links.setting[j] += delta.signum() * step;
                        }
                    }
                    self.set_regulator_coeffs(j);
                }
                LinkKind::Weir { .. } => {
                    self.links.setting[j] = target;
                    self.set_regulator_coeffs(j);
                }
                _ => self.links.setting[j] = target,
            }
        }
    }

    /// Flow through a pump, orifice, weir or outlet (SWMM dynwave.c findNonConduitFlow).
    fn non_conduit_flow(&mut self, j: usize, dt: f64) {
        let q_last = self.links.new_flow[j];
        self.links.dqdh[j] = 0.0;
        let mut q = if self.links.setting[j] == 0.0 {
            0.0
        } else {
            match self.links.kind[j] {
                LinkKind::Pump { .. } => {
                    let q = self.pump_inflow(j);
                    self.mod_pump_flow(j, q, dt)
                }
                LinkKind::Orifice { .. } => self.orifice_inflow(j),
                LinkKind::Weir { .. } => self.weir_inflow(j),
                LinkKind::Outlet { .. } => self.outlet_inflow(j),
                LinkKind::Dummy => self.dummy_inflow(j),
                LinkKind::Conduit => 0.0,
            }
        };
        // Surface area of regulators at their end nodes.
        let (n1, n2) = (self.links.node1[j], self.links.node2[j]);
        let mut sa = match self.links.kind[j] {
            LinkKind::Orifice { surf_area, .. } => surf_area / 2.0,
            _ => 0.0,
        };
        if sa.is_nan() {
            sa = 0.0;
        }
        self.links.surf_area1[j] = sa;
        self.links.surf_area2[j] = sa;
        if self.links.flow_class[j] == FlowClass::UpCritical || self.is_storage(n1) {
            self.links.surf_area1[j] = 0.0;
        }
        if self.links.flow_class[j] == FlowClass::DnCritical || self.is_storage(n2) {
            self.links.surf_area2[j] = 0.0;
        }
        let is_pump = matches!(self.links.kind[j], LinkKind::Pump { .. });
        if self.steps_this > 0 && !is_pump {
            q = (1.0 - OMEGA) * q_last + OMEGA * q;
            if q * q_last < 0.0 {
                q = 0.001 * q.signum();
            }
        }
        self.links.new_flow[j] = q;
    }

    /// A DUMMY conduit takes all its upstream node receives, up to its flow
    /// limit (SWMM link.c conduit_getInflow).
    fn dummy_inflow(&self, j: usize) -> f64 {
        let q = self.node_outflow(self.links.node1[j], j);
        let ql = self.links.q_limit[j];
        if ql > 0.0 { q.min(ql) } else { q }
    }

    fn pump_inflow(&mut self, j: usize) -> f64 {
        let LinkKind::Pump {
            ptype,
            curve,
            x_min,
            x_max,
            ..
        } = self.links.kind[j]
        else {
            return 0.0;
        };
        let (n1, n2) = (self.links.node1[j], self.links.node2[j]);
        let ucf = self.opt.ucf_length();
        let qcf = self.opt.ucf_flow();
        self.links.flow_class[j] = FlowClass::Subcritical;
        let q = match (ptype, curve) {
            (PumpType::Ideal, _) => self.nodes.inflow[n1] + self.nodes.overflow[n1],
            (PumpType::Type1, Some(k)) => {
                let vol = self.nodes.new_volume[n1] * ucf * ucf * ucf;
                self.curves[k].interval_lookup(vol) / qcf
            }
            (PumpType::Type2, Some(k)) => {
                self.curves[k].interval_lookup(self.nodes.new_depth[n1] * ucf) / qcf
            }
            (PumpType::Type3 | PumpType::Type5, Some(k)) => {
                let s = if ptype == PumpType::Type5 {
                    self.links.setting[j]
                } else {
                    1.0
                };
                let h2 = self.nodes.new_depth[n2] + self.nodes.invert[n2];
                let h1 = self.nodes.new_depth[n1] + self.nodes.invert[n1];
                let head = ((h2 - h1) / s / s).max(0.0) * ucf;
                let c = &self.curves[k];
                self.links.dqdh[j] = -c.slope(head) * ucf / qcf / s;
                c.lookup(head) / qcf
            }
            (PumpType::Type4, Some(k)) => {
                let dh = 0.001;
                let d = self.nodes.new_depth[n1];
                let c = &self.curves[k];
                let q0 = c.lookup(d * ucf) / qcf;
                let q1 = c.lookup((d + dh) * ucf) / qcf;
                self.links.dqdh[j] = (q1 - q0) / dh;
                let du = d * ucf;
                if du < x_min {
                    self.links.flow_class[j] = FlowClass::DnDry;
                }
                if du > x_max {
                    self.links.flow_class[j] = FlowClass::UpDry;
                }
                q0
            }
            _ => 0.0,
        };
        q.max(0.0) * self.links.setting[j]
    }

    fn mod_pump_flow(&self, j: usize, q: f64, dt: f64) -> f64 {
        if q == 0.0 {
            return q;
        }
        let n1 = self.links.node1[j];
        let n = &self.nodes;
        let type1 = matches!(
            self.links.kind[j],
            LinkKind::Pump {
                ptype: PumpType::Type1,
                ..
            }
        );
        if self.is_storage(n1) || type1 {
            let mut q = q;
            if n.full_volume[n1] > 0.0 {
                let q_max = n.inflow[n1] + n.old_volume[n1] / dt;
                if q > q_max {
                    q = q_max;
                }
            }
            return q.max(0.0);
        }
        let LinkKind::Pump { ptype, .. } = self.links.kind[j] else {
            return q;
        };
        if matches!(ptype, PumpType::Type2 | PumpType::Type3 | PumpType::Type4) {
            let new_net = n.inflow[n1] - n.outflow[n1] - q;
            let vol = 0.5 * (n.old_net_inflow[n1] + new_net) * dt;
            let y = n.old_depth[n1] + vol / n.new_surf_area[n1];
            if y <= 0.0 {
                return n.inflow[n1];
            }
        }
        q
    }

    /// Downstream head a regulator sees: the node's head under dynamic wave;
    /// under kinematic wave the upstream invert, so the outlet end never
    /// submerges it (SWMM link.c).
    fn regulator_tail_head(&self, n1: usize, n2: usize) -> f64 {
        if self.opt.route_model == RouteModel::DynWave {
            self.nodes.new_depth[n2] + self.nodes.invert[n2]
        } else {
            self.nodes.invert[n1]
        }
    }

    fn orifice_inflow(&mut self, j: usize) -> f64 {
        let (n1, n2) = (self.links.node1[j], self.links.node2[j]);
        let LinkKind::Orifice {
            bottom,
            c_orif,
            c_weir,
            h_crit,
            length,
            ..
        } = self.links.kind[j]
        else {
            return 0.0;
        };
        let mut h1 = self.nodes.new_depth[n1] + self.nodes.invert[n1];
        let mut h2 = self.regulator_tail_head(n1, n2);
        let dir = if h1 >= h2 { 1.0 } else { -1.0 };
        let mut y1 = self.nodes.new_depth[n1];
        if dir < 0.0 {
            std::mem::swap(&mut h1, &mut h2);
            y1 = self.nodes.new_depth[n2];
        }
        let x = self.links.xsect[j].clone();
        let setting = self.links.setting[j];
        let hcrest = self.nodes.invert[n1] + self.links.offset1[j];
        let (head, f);
        if bottom {
            head = if h1 < hcrest {
                0.0
            } else if h2 > hcrest {
                h1 - h2
            } else {
                h1 - hcrest
            };
            f = (head / h_crit).min(1.0);
        } else {
            let hcrown = hcrest + x.y_full * setting;
            let hmid = (hcrest + hcrown) / 2.0;
            f = if h1 < hcrown && hcrown > hcrest {
                (h1 - hcrest) / (hcrown - hcrest)
            } else {
                1.0
            };
            head = if f < 1.0 {
                h1 - hcrest
            } else if h2 < hmid {
                h1 - hmid
            } else {
                h1 - h2
            };
        }
        let set_area = |kind: &mut LinkKind, a: f64| {
            if let LinkKind::Orifice { surf_area, .. } = kind {
                *surf_area = a;
            }
        };
        if head <= FUDGE || y1 <= FUDGE || self.flap_blocks(j, n1, n2, dir) {
            self.links.new_depth[j] = 0.0;
            self.links.flow_class[j] = FlowClass::Dry;
            set_area(&mut self.links.kind[j], FUDGE * length);
            self.links.dqdh[j] = 0.0;
            return 0.0;
        }
        self.links.flow_class[j] = FlowClass::Subcritical;
        if hcrest > h2 {
            self.links.flow_class[j] = if dir == 1.0 {
                FlowClass::DnCritical
            } else {
                FlowClass::UpCritical
            };
        }
        let yo = x.y_full * setting;
        if !bottom {
            self.links.new_depth[j] = yo * f;
            set_area(&mut self.links.kind[j], x.w_of_y(yo * f) * length);
        } else {
            self.links.new_depth[j] = yo;
            set_area(&mut self.links.kind[j], x.a_of_y(yo));
        }
        let flap = self.links.flap_gate[j];
        let mut q = dir * self.orifice_flow(j, head, f, flap, c_orif, c_weir, h_crit);
        if f < 1.0 && h2 > hcrest {
            let ratio = (h2 - hcrest) / (h1 - hcrest);
            q *= (1.0 - ratio.powf(1.5)).powf(0.385);
        }
        q
    }

    #[allow(clippy::too_many_arguments)]
    fn orifice_flow(
        &mut self,
        j: usize,
        head: f64,
        f: f64,
        flap: bool,
        c_orif: f64,
        c_weir: f64,
        h_crit: f64,
    ) -> f64 {
        if head == 0.0 || f <= 0.0 {
            self.links.dqdh[j] = 0.0;
            return 0.0;
        }
        let q = if f < 1.0 {
            let q = c_weir * f.powf(1.5);
            self.links.dqdh[j] = 1.5 * q / (f * h_crit);
            q
        } else {
            let q = c_orif * head.sqrt();
            self.links.dqdh[j] = q / (2.0 * head);
            q
        };
        if flap {
            let x = &self.links.xsect[j];
            let area = x.a_of_y(self.links.setting[j] * x.y_full);
            let v = q / area;
            let h_loss = (4.0 / GRAVITY) * v * v * (-1.15 * v / head.sqrt()).exp();
            let (mut f2, mut head2) = (f, head);
            if f < 1.0 {
                f2 = (f - h_loss / h_crit).max(0.0);
            } else {
                head2 = (head - h_loss).max(0.0);
            }
            return self.orifice_flow(j, head2, f2, false, c_orif, c_weir, h_crit);
        }
        q
    }

    fn weir_inflow(&mut self, j: usize) -> f64 {
        let (n1, n2) = (self.links.node1[j], self.links.node2[j]);
        let kind = self.links.kind[j].clone();
        let LinkKind::Weir {
            wtype,
            can_surcharge,
            c_surcharge,
            ..
        } = kind
        else {
            return 0.0;
        };
        let mut h1 = self.nodes.new_depth[n1] + self.nodes.invert[n1];
        let mut h2 = self.regulator_tail_head(n1, n2);
        let dir = if h1 > h2 { 1.0 } else { -1.0 };
        if dir < 0.0 {
            std::mem::swap(&mut h1, &mut h2);
        }
        let x = self.links.xsect[j].clone();
        let setting = self.links.setting[j];
        let mut hcrest = self.nodes.invert[n1] + self.links.offset1[j];
        let hcrown = hcrest + x.y_full;
        if wtype == 4 {
            return self.roadway_inflow(j, dir, hcrest, h1, h2);
        }
        hcrest += (1.0 - setting) * x.y_full;
        let mut head = h1 - hcrest;
        self.links.dqdh[j] = 0.0;
        if head <= FUDGE || hcrest >= hcrown || self.flap_blocks(j, n1, n2, dir) {
            self.links.new_depth[j] = 0.0;
            self.links.flow_class[j] = FlowClass::Dry;
            return 0.0;
        }
        self.links.flow_class[j] = FlowClass::Subcritical;
        if hcrest > h2 {
            self.links.flow_class[j] = if dir == 1.0 {
                FlowClass::DnCritical
            } else {
                FlowClass::UpCritical
            };
        }
        if h1 >= hcrown {
            if can_surcharge {
                let ymid = (hcrest + hcrown) / 2.0;
                head = if h2 < ymid { h1 - ymid } else { h1 - h2 };
                let y = hcrown - hcrest;
                let mut q = c_surcharge * head.max(0.0).sqrt();
                if self.links.flap_gate[j] {
                    let a = weir_open_area(&x, setting, y);
                    if a > 0.0 {
                        let v = q / a;
                        let hl = (4.0 / GRAVITY) * v * v * (-1.15 * v / y.sqrt()).exp();
                        head = (head - hl).max(0.0);
                        q = c_surcharge * head.sqrt();
                    }
                }
                self.links.dqdh[j] = if head > 0.0 { q / (2.0 * head) } else { 0.0 };
                self.links.new_depth[j] = y;
                return dir * q;
            }
            head = hcrown - hcrest;
        }
        let si = self.opt.flow_units.is_si();
        let (mut q1, mut q2, mut dqdh) = weir_flow(&kind, &x, setting, head, dir, si, &self.curves);
        if self.links.flap_gate[j] {
            let area = weir_open_area(&x, setting, head);
            if area > 1e-6 {
                let v = (q1 + q2) / area;
                let hl = (4.0 / GRAVITY) * v * v * (-1.15 * v / head.sqrt()).exp();
                let h = (head - hl).max(0.0);
                (q1, q2, dqdh) = weir_flow(&kind, &x, setting, h, dir, si, &self.curves);
            }
        }
        self.links.dqdh[j] = dqdh;
        if h2 > hcrest {
            let ratio = (h2 - hcrest) / (h1 - hcrest);
            let power = [1.5, 5.0 / 3.0, 2.5, 1.5][wtype as usize];
            q1 *= (1.0 - ratio.powf(power)).powf(0.385);
            if q2 > 0.0 {
                q2 *= (1.0 - ratio.powf(2.5)).powf(0.385);
            }
        }
        self.links.new_depth[j] = (h1 - hcrest).min(x.y_full);
        dir * (q1 + q2)
    }

    /// Flow over a roadway crest at `h_road` ft by the broad-crested weir law
    /// `Q = Cd·L·HWr^1.5` with the weir's own coefficient (FHWA HDS-5 Eq. 8;
    /// SWMM roadway.c); an SI coefficient is converted by HDS-5's 0.552.
    fn roadway_inflow(&mut self, j: usize, dir: f64, h_road: f64, h1: f64, h2: f64) -> f64 {
        let LinkKind::Weir { cd1, .. } = self.links.kind[j] else {
            return 0.0;
        };
        let cd = if self.opt.flow_units.is_si() {
            cd1 / 0.552
        } else {
            cd1
        };
        let hwr = h1 - h_road;
        let (mut q, mut dqdh) = (0.0, 0.0);
        if hwr > FUDGE {
            q = cd * self.links.xsect[j].w_max * hwr.powf(1.5);
            dqdh = 1.5 * q / hwr;
        }
        self.links.dqdh[j] = dqdh;
        self.links.new_depth[j] = hwr.max(0.0);
        self.links.flow_class[j] = if h_road > h2 {
            if dir == 1.0 {
                FlowClass::DnCritical
            } else {
                FlowClass::UpCritical
            }
        } else {
            FlowClass::Subcritical
        };
        dir * q
    }

    fn outlet_inflow(&mut self, j: usize) -> f64 {
        let (n1, n2) = (self.links.node1[j], self.links.node2[j]);
        let LinkKind::Outlet {
            coeff,
            expon,
            curve,
            by_head,
        } = self.links.kind[j]
        else {
            return 0.0;
        };
        let mut h1 = self.nodes.new_depth[n1] + self.nodes.invert[n1];
        let mut h2 = self.regulator_tail_head(n1, n2);
        let dir = if h1 >= h2 { 1.0 } else { -1.0 };
        let mut y1 = self.nodes.new_depth[n1];
        if dir < 0.0 {
            std::mem::swap(&mut h1, &mut h2);
            y1 = self.nodes.new_depth[n2];
        }
        let hcrest = self.nodes.invert[n1] + self.links.offset1[j];
        let head = if by_head && self.opt.route_model == RouteModel::DynWave {
            h1 - h2.max(hcrest)
        } else {
            h1 - hcrest
        };
        if head <= FUDGE || y1 <= FUDGE || self.flap_blocks(j, n1, n2, dir) {
            self.links.new_depth[j] = 0.0;
            self.links.flow_class[j] = FlowClass::Dry;
            return 0.0;
        }
        self.links.new_depth[j] = head;
        self.links.flow_class[j] = FlowClass::Subcritical;
        let h = head * self.opt.ucf_length();
        let q = match curve {
            Some(k) => self.curves[k].lookup(h),
            None => coeff * h.powf(expon),
        } / self.opt.ucf_flow();
        dir * self.links.setting[j] * q
    }

    // ----- kinematic wave -----

    /// Links in upstream-to-downstream order, as kinematic-wave routing needs
    /// (SWMM toposort.c): Kahn's sort with a first-in first-out queue of
    /// nodes, each node's outflow links in input order except that a
    /// divider's non-diverted link comes before its diverted one (the
    /// overflow rule needs the first link's flow). Errors on cycles.
    fn topo_sort(&self) -> Result<Vec<usize>, EngineError> {
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
    fn kinwave_execute(&mut self, dt: f64) {
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
    fn kw_link_inflow(&mut self, j: usize, dt: f64) -> f64 {
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
    fn node_outflow(&self, i: usize, j: usize) -> f64 {
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
    fn divider_outflow(&self, i: usize, d: &Divider, k: usize) -> f64 {
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
    fn kw_update_storage(&mut self, i: usize, out: &[usize], dt: f64) {
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
    fn storage_depth(&self, i: usize, v: f64) -> f64 {
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

    fn kw_update_node_depth(&mut self, i: usize, y: f64) {
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
    fn steady_link(&mut self, j: usize, qin_total: &mut f64) -> f64 {
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
    fn kinwave_link(&mut self, j: usize, qin_total: &mut f64, dt: f64) -> f64 {
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

    fn flap_blocks(&self, j: usize, n1: usize, n2: usize, q: f64) -> bool {
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

    fn check_normal_flow(&self, j: usize, q: f64, y1: f64, y2: f64, a1: f64, r1: f64) -> f64 {
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

/// Seepage of a storage unit from its trailing `[STORAGE]` values
/// (SurDepth Fevap, then Ksat alone or Psi Ksat IMD; SWMM node.c
/// storage_readParams, exfil.c); none when Ksat is 0.
fn storage_exfil(
    p: &Project,
    st: &inp::Storage,
    shape: &StorageShape,
    opt: &Options,
) -> Result<Option<crate::exfil::Exfil>, EngineError> {
    use crate::exfil::{Banks, Exfil};
    let seep = st.extra.get(2..).unwrap_or(&[]);
    let (psi, ksat, imd) = match *seep {
        [] => return Ok(None),
        [k] => (0.0, k, 0.0),
        [_, _] => {
            return Err(invalid(
                "STORAGE",
                &st.name,
                "seepage needs Ksat alone or Psi Ksat IMD",
            ));
        }
        [a, b, c, ..] => (a, b, c),
    };
    if ksat == 0.0 {
        return Ok(None);
    }
    if psi < 0.0 || ksat < 0.0 || !(0.0..=1.0).contains(&imd) {
        return Err(invalid(
            "STORAGE",
            &st.name,
            "seepage needs Psi >= 0, Ksat >= 0 and 0 <= IMD <= 1",
        ));
    }
    let (ucf_depth, ucf_rate) = (opt.ucf_rain_depth(), opt.ucf_rain_rate());
    let banks = match shape {
        StorageShape::Tabular(k) => {
            let c = &p.curves[*k];
            let curve = Curve {
                kind: c.kind.clone(),
                x: c.points.iter().map(|q| q.0).collect(),
                y: c.points.iter().map(|q| q.1).collect(),
            };
            Banks::from_curve(&curve.x, &curve.y, curve.lookup_ex(0.0), opt.ucf_length())
        }
        // Bottom areas of these shapes stay in the file's units, as in SWMM.
        StorageShape::Functional { a1, a2, a0 } => {
            Banks::unbounded(a0 + if *a2 == 0.0 { *a1 } else { 0.0 })
        }
        StorageShape::Quadratic { a0, .. } => {
            if matches!(&st.shape, inp::StorageShape::Other { shape, .. } if shape == "PARABOLIC") {
                return Err(EngineError::Unsupported(
                    "seepage from a paraboloid storage unit (SWMM 5.2.4 leaves its bottom area undefined)".into(),
                ));
            }
            Banks::unbounded(*a0)
        }
    };
    Ok(Some(Exfil::new(
        psi / ucf_depth,
        ksat / ucf_rate,
        imd,
        banks,
    )))
}

/// The item of `items` called `name` (any case), else an error naming the
/// cross section that refers to it.
fn find_named<'a, T>(
    items: &'a [T],
    key: impl Fn(&T) -> &String,
    name: &str,
    x: &inp::XSection,
    kind: &'static str,
) -> Result<&'a T, EngineError> {
    items
        .iter()
        .find(|t| key(t).eq_ignore_ascii_case(name))
        .ok_or_else(|| EngineError::UnknownRef {
            section: "XSECTIONS",
            object: x.link.clone(),
            kind,
            name: name.to_string(),
        })
}

/// A conduit's section: a standard shape from its parameters, a natural
/// channel from its transect (with the transect's roughness), or a closed
/// shape from a SHAPE curve scaled to its full depth.
fn conduit_xsect(
    p: &Project,
    x: &inp::XSection,
    ucf: f64,
) -> Result<(XSect, Option<(f64, f64)>), EngineError> {
    let name = x.curve.clone().unwrap_or_default();
    match x.shape.as_str() {
        "IRREGULAR" => {
            let tr = find_named(&p.transects, |t| &t.name, &name, x, "transect")?;
            let t =
                crate::shapes::transect(tr, ucf).map_err(|m| invalid("TRANSECTS", &tr.name, m))?;
            Ok((t.xsect, Some((t.roughness, t.length_factor))))
        }
        "CUSTOM" => {
            let c = find_named(&p.curves, |c| &c.name, &name, x, "curve")?;
            if c.kind != "SHAPE" {
                return Err(invalid(
                    "XSECTIONS",
                    &x.link,
                    format!("curve '{name}' is a {} curve, not a SHAPE curve", c.kind),
                ));
            }
            if x.geom[0] <= 0.0 {
                return Err(invalid(
                    "XSECTIONS",
                    &x.link,
                    "Geom1 (full depth) must be positive",
                ));
            }
            let shape =
                crate::shapes::shape_curve(&c.points).map_err(|m| invalid("CURVES", &c.name, m))?;
            Ok((shape.section(x.geom[0] / ucf), None))
        }
        s if crate::xsect::TABLE_ONLY_SHAPES.contains(&s) => {
            Err(EngineError::Unsupported(format!(
                "the {s} cross section of conduit '{}' ({})",
                x.link,
                crate::xsect::TABLE_ONLY_REASON
            )))
        }
        _ => Ok((
            XSect::new(&x.shape, x.geom, ucf)
                .map_err(|e| invalid("XSECTIONS", &x.link, e.to_string()))?,
            None,
        )),
    }
}

/// Under dynamic wave a DUMMY conduit or an ideal pump has no hydraulics of
/// its own, so it must be the only link leaving its node, and a node fed only
/// by such links cannot feed another (SWMM flowrout.c validateGeneralLayout,
/// toposort.c checkDummyLinks).
fn validate_pass_through_links(
    nodes: &Nodes,
    links: &Links,
    degree: &[i32],
) -> Result<(), EngineError> {
    let pass_through = |j: usize| match links.kind[j] {
        LinkKind::Dummy => true,
        LinkKind::Pump { ptype, .. } => ptype == PumpType::Ideal,
        _ => false,
    };
    // 0 no inflow link yet, 1 only pass-through inflows, -1 some other inflow.
    let mut fed = vec![0i8; nodes.name.len()];
    for j in 0..links.name.len() {
        let (up, down) = if links.direction[j] < 0.0 {
            (links.node2[j], links.node1[j])
        } else {
            (links.node1[j], links.node2[j])
        };
        if pass_through(j) {
            if degree[up].abs() > 1 {
                return Err(invalid(
                    "CONDUITS",
                    &nodes.name[up],
                    format!(
                        "a DUMMY conduit or ideal pump ('{}') must be the only link leaving its node",
                        links.name[j]
                    ),
                ));
            }
            if fed[down] == 0 {
                fed[down] = 1;
            }
        } else {
            fed[down] = -1;
        }
    }
    for j in 0..links.name.len() {
        if pass_through(j) && fed[links.node1[j]] > 0 {
            return Err(invalid(
                "CONDUITS",
                &nodes.name[links.node1[j]],
                "a node fed only by DUMMY conduits or ideal pumps cannot feed another one",
            ));
        }
    }
    Ok(())
}

/// Layout rules of kinematic-wave routing (SWMM flowrout.c validateTreeLayout):
/// a node other than a storage unit or divider has at most one outflow link,
/// a divider two, an outfall none, and orifices, weirs and outlets leave
/// storage units.
fn validate_tree_layout(nodes: &Nodes, links: &Links) -> Result<(), EngineError> {
    let mut out = vec![0usize; nodes.name.len()];
    for &n1 in &links.node1 {
        out[n1] += 1;
    }
    for (i, &k) in out.iter().enumerate() {
        let (section, max) = match nodes.kind[i] {
            NodeKind::Storage(_) => continue,
            NodeKind::Divider(_) => ("DIVIDERS", 2),
            NodeKind::Outfall { .. } => ("OUTFALLS", 0),
            NodeKind::Junction => ("JUNCTIONS", 1),
        };
        if k > max {
            return Err(invalid(
                section,
                &nodes.name[i],
                format!(
                    "{k} outflow links; kinematic-wave routing allows {max} here (dynamic wave allows more)"
                ),
            ));
        }
    }
    for j in 0..links.name.len() {
        let section = match links.kind[j] {
            LinkKind::Orifice { .. } => "ORIFICES",
            LinkKind::Weir { .. } => "WEIRS",
            LinkKind::Outlet { .. } => "OUTLETS",
            _ => continue,
        };
        if !matches!(nodes.kind[links.node1[j]], NodeKind::Storage(_)) {
            return Err(invalid(
                section,
                &links.name[j],
                "under kinematic-wave routing a regulator must leave a storage unit",
            ));
        }
    }
    Ok(())
}

/// A divider's diversion rule from its `[DIVIDERS]` row (SWMM node.c
/// divider_readParams / divider_validate).
fn divider_rule(
    d: &inp::Divider,
    links: &Links,
    curve_index: &std::collections::HashMap<String, usize>,
    opt: &Options,
) -> Result<Divider, EngineError> {
    let link = links
        .name
        .iter()
        .position(|n| n.eq_ignore_ascii_case(&d.diverted_link))
        .ok_or_else(|| EngineError::UnknownRef {
            section: "DIVIDERS",
            object: d.name.clone(),
            kind: "link",
            name: d.diverted_link.clone(),
        })?;
    let qcf = opt.ucf_flow();
    let num = |k: usize, what: &str| -> Result<f64, EngineError> {
        d.kind_params
            .get(k)
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|x| x.is_finite())
            .ok_or_else(|| invalid("DIVIDERS", &d.name, format!("{what} must be a number")))
    };
    let rule = match d.kind.as_str() {
        "OVERFLOW" => DividerRule::Overflow,
        "CUTOFF" => DividerRule::Cutoff(num(0, "cutoff flow")? / qcf),
        "TABULAR" => {
            let c = d.kind_params.first().cloned().unwrap_or_default();
            DividerRule::Tabular(*curve_index.get(&c.to_ascii_uppercase()).ok_or_else(|| {
                EngineError::UnknownRef {
                    section: "DIVIDERS",
                    object: d.name.clone(),
                    kind: "curve",
                    name: c.clone(),
                }
            })?)
        }
        "WEIR" => {
            let (q_min, dh_max, c_weir) = (num(0, "Qmin")? / qcf, num(1, "Dmax")?, num(2, "Cw")?);
            if dh_max <= 0.0 || c_weir <= 0.0 {
                return Err(invalid(
                    "DIVIDERS",
                    &d.name,
                    "a weir divider needs positive Dmax and Cw",
                ));
            }
            let q_max = c_weir * dh_max.powf(1.5) / qcf;
            if q_min > q_max {
                return Err(invalid(
                    "DIVIDERS",
                    &d.name,
                    "a weir divider's Qmin exceeds its full-weir flow",
                ));
            }
            DividerRule::Weir {
                q_min,
                dh_max,
                c_weir,
                q_max,
            }
        }
        o => {
            return Err(invalid(
                "DIVIDERS",
                &d.name,
                format!("unknown divider type '{o}'"),
            ));
        }
    };
    Ok(Divider { link, rule })
}

/// Weir discharge (cfs) at `head` (ft) for the central part (q1) and
/// triangular ends (q2), with ∂Q/∂H (SWMM link.c weir_getFlow, Vol. II §7.2).
fn weir_flow(
    kind: &LinkKind,
    x: &XSect,
    setting: f64,
    head: f64,
    dir: f64,
    si: bool,
    curves: &[Curve],
) -> (f64, f64, f64) {
    let LinkKind::Weir {
        wtype,
        mut cd1,
        cd2,
        end_con,
        slope,
        cd_curve,
        ..
    } = *kind
    else {
        return (0.0, 0.0, 0.0);
    };
    if head <= 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let ucf = if si { 0.3048 } else { 1.0 };
    let mut length = x.w_max * ucf;
    let h = head * ucf;
    if let Some(c) = cd_curve {
        // Discharge coefficient against head in the file's units.
        cd1 = curves[c].lookup(h);
    }
    let mut wt = wtype;
    if wt == 2 && setting < 1.0 {
        wt = 3;
    }
    let mut q2 = 0.0;
    let mut q1;
    match wt {
        0 => {
            length = (length - 0.1 * end_con * h).max(0.0);
            q1 = cd1 * length * h.powf(1.5);
        }
        1 => {
            length = (length - 0.1 * end_con * h).max(0.0);
            q1 = if dir < 0.0 {
                cd1 * length * h.powf(1.5)
            } else {
                cd1 * length.powf(0.83) * h.powf(1.67)
            };
        }
        2 => q1 = cd1 * slope * h.powf(2.5),
        // A roadway weir's flow comes from roadway_inflow, not this law.
        4 => q1 = 0.0,
        _ => {
            let y = (1.0 - setting) * x.y_full;
            let len = x.w_of_y(y) * ucf;
            q1 = cd1 * len * h.powf(1.5);
            q2 = cd2 * slope * h.powf(2.5);
        }
    }
    if si {
        q1 /= 0.028_316_846_592;
        q2 /= 0.028_316_846_592;
    }
    let dqdh = if head.abs() < FUDGE {
        0.0
    } else {
        let (q1h, q2h) = ((q1 / head).abs(), (q2 / head).abs());
        match wtype {
            0 => 1.5 * q1h,
            1 => {
                if dir < 0.0 {
                    1.5 * q1h
                } else {
                    1.67 * q1h
                }
            }
            2 => {
                if q2h == 0.0 {
                    2.5 * q1h
                } else {
                    1.5 * q1h + 2.5 * q2h
                }
            }
            _ => 1.5 * q1h + 2.5 * q2h,
        }
    };
    (q1, q2, dqdh)
}

/// Open flow area of a weir opening of depth y above its (possibly raised) crest.
fn weir_open_area(x: &XSect, setting: f64, y: f64) -> f64 {
    let z = (1.0 - setting) * x.y_full;
    let zy = (z + y).min(x.y_full);
    x.a_of_y(zy) - x.a_of_y(z)
}

/// Civil date (y, m, d) from days since 1970-01-01 (Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
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
