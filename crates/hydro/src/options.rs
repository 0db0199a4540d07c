//! Simulation options read from `[OPTIONS]`, in the engine's internal units,
//! with SWMM's defaults, and SWMM's unit conversion factors. A leaf module:
//! it imports nothing of the engine.

use crate::error::{EngineError, invalid};
use crate::inp::{self, FlowUnits, Project};

/// Absolute minimum time step (s).
pub(crate) const MIN_TIMESTEP: f64 = 0.001;

/// Flow routing method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RouteModel {
    /// Dynamic wave (full St Venant).
    DynWave,
    /// Kinematic wave.
    KinWave,
    /// Steady flow (instantaneous translation).
    Steady,
}

/// How momentum inertial terms are damped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum InertialDamping {
    /// Keep inertial terms.
    None,
    /// Reduce as the Froude number approaches 1 (SWMM default).
    Partial,
    /// Drop inertial terms.
    Full,
}

/// When normal flow limits conduit flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
        if route_step <= 0.0 {
            return Err(invalid(
                "OPTIONS",
                "ROUTING_STEP",
                format!("must be positive, found {route_step} s"),
            ));
        }
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
        for (key, v) in [("WET_STEP", wet_step), ("DRY_STEP", dry_step)] {
            if v <= 0.0 {
                return Err(invalid(
                    "OPTIONS",
                    key,
                    format!("must be positive, found {v} s"),
                ));
            }
        }
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
