//! A storm on the city with the drainage network (1D, `twin-hydro`) and the surface (2D,
//! `twin-surface`) coupled at every manhole, and every cubic metre booked in one ledger.
//!
//! Exchange (after Chen et al. 2007, Water Sci. Technol. 55(4); Rubinato et al. 2017, J.
//! Hydrol. 552): when a manhole surcharges, the network's overflow goes onto the surface cell
//! above it; otherwise surface water on that cell enters the inlet at the lesser of a weir
//! rate Q = C_w W h sqrt(2 g h) (free inflow over the grate perimeter W) and an orifice rate
//! Q = C_o A sqrt(2 g h) (submerged grate of area A), h the water depth on the cell. The
//! surface reports what it actually gave up (never more than the cell holds); the network
//! receives exactly that volume over the next step. Rain falls on the grid (the network's
//! subcatchments are left out), so nothing is counted twice.

use crate::flood::{Backend, FloodError, FloodSpec, SurfaceSetup};
use twin_model::Raster;
use twin_surface::{Cell, MassLedger, PointId, Simulation, SurfaceSolver};
use twin_surface_gpu::GpuSimulation;

/// ft³ → m³.
const FT3: f64 = 0.028_316_846_592;
/// Weir coefficient of a grated inlet (Chen et al. 2007 use 0.56 with the perimeter form).
pub const C_WEIR: f64 = 0.56;
/// Orifice coefficient of a submerged grate (Chen et al. 2007).
pub const C_ORIFICE: f64 = 0.67;
/// Grate perimeter per manhole inlet, m (two 0.5 × 0.5 m grates).
pub const INLET_PERIMETER_M: f64 = 4.0;
/// Grate open area per manhole inlet, m².
pub const INLET_AREA_M2: f64 = 0.5;

/// Lowest inlet rate handed to the network, m³/s: above the network's flow tolerance
/// (10⁻⁵ ft³/s, 2.8·10⁻⁷ m³/s), under which it would drop a rate unbooked.
const MIN_INLET_RATE_M3S: f64 = 1e-6;

/// Errors of a coupled run.
#[derive(Debug, thiserror::Error)]
pub enum CoupledError {
    /// The surface side.
    #[error(transparent)]
    Flood(#[from] FloodError),
    /// The network refused the model or could not start.
    #[error("drainage network: {0}")]
    Hydro(#[from] twin_hydro::engine::EngineError),
    /// The network model cannot be coupled (nothing to couple, a period too short).
    #[error("drainage network: {0}")]
    Network(String),
}

impl From<twin_surface::SurfaceError> for CoupledError {
    fn from(e: twin_surface::SurfaceError) -> Self {
        CoupledError::Flood(FloodError::Surface(e))
    }
}

/// The system ledger of a coupled run, m³.
#[derive(Debug, Clone, Default)]
pub struct CoupledLedger {
    /// The surface's own ledger.
    pub surface: MassLedger,
    /// Water the network received from the surface.
    pub network_inflow: f64,
    /// Water the network put onto the surface (manhole overflow).
    pub network_overflow: f64,
    /// Water that left the network through its outfalls (pumped into the river).
    pub network_outfall: f64,
    /// Water in the network at the start.
    pub network_initial: f64,
    /// Water in the network at the end.
    pub network_final: f64,
    /// Water taken off the surface in the last step, not yet delivered to the network.
    pub in_transit: f64,
    /// The network's own routing continuity error, percent.
    pub network_continuity_pct: f64,
}

impl CoupledLedger {
    /// Total inflow to the system: rain and inflow over the grid's edges.
    pub fn total_in(&self) -> f64 {
        self.surface.rain + self.surface.boundary_in_total()
    }

    /// In − out − change in storage, over the whole system.
    pub fn closure_error(&self) -> f64 {
        let s = &self.surface;
        let input = s.rain + s.boundary_in_total() + s.initial_storage + self.network_initial;
        let output = s.infiltration
            + s.boundary_out_total()
            + self.network_outfall
            + s.storage
            + self.network_final
            + self.in_transit;
        input - output
    }

    /// Closure error in percent of total inflow.
    pub fn closure_error_percent(&self) -> f64 {
        let t = self.total_in();
        if t > 0.0 {
            100.0 * self.closure_error() / t
        } else {
            0.0
        }
    }

    /// As JSON, every term in m³.
    pub fn to_json(&self) -> serde_json::Value {
        let s = &self.surface;
        serde_json::json!({
            "rain_m3": s.rain,
            "infiltration_m3": s.infiltration,
            "surface_boundary_in_m3": s.boundary_in_total(),
            "surface_boundary_out_m3": s.boundary_out_total(),
            "surface_initial_storage_m3": s.initial_storage,
            "surface_final_storage_m3": s.storage,
            "inlet_capture_m3": self.network_inflow,
            "manhole_overflow_m3": self.network_overflow,
            "outfall_m3": self.network_outfall,
            "network_initial_storage_m3": self.network_initial,
            "network_final_storage_m3": self.network_final,
            "in_transit_m3": self.in_transit,
            "network_routing_continuity_percent": self.network_continuity_pct,
            "total_inflow_m3": self.total_in(),
            "closure_error_m3": self.closure_error(),
            "closure_error_percent": self.closure_error_percent(),
        })
    }
}

/// Results of a coupled run.
#[derive(Debug, Clone)]
pub struct CoupledResult {
    /// Result rasters (maximum depth, time of maximum, duration, hazard).
    pub rasters: crate::flood::FloodRasters,
    /// The system ledger.
    pub ledger: CoupledLedger,
    /// Manholes that overflowed at some time.
    pub overflowing_manholes: usize,
    /// Manholes coupled to the surface.
    pub coupled_manholes: usize,
    /// Depth series at the set-up's gauges.
    pub gauges: Vec<crate::flood::GaugeRecord>,
    /// Coupled manholes (network node names) and the volume (m³) the surface delivered into
    /// each during every minute of the run, for [`replay_project`].
    pub inlet_minutes: Vec<(String, Vec<f64>)>,
    /// Network routing steps (the coupling steps).
    pub network_steps: u64,
    /// Surface solver steps.
    pub surface_steps: u64,
    /// The wgpu adapter of a GPU surface run (`None` on the CPU).
    pub adapter: Option<String>,
    /// What the set-up's probes recorded (`None` without probes).
    pub probes: Option<crate::flood::ProbeSeries>,
}

fn network_storage(e: &twin_hydro::Engine) -> f64 {
    (e.nodes.new_volume.iter().sum::<f64>() + e.links.new_volume.iter().sum::<f64>()) * FT3
}

/// Runs the coupled storm. `project` is the network (SWMM input) whose `[COORDINATES]` place
/// its junctions on the DEM (same CRS); its subcatchments are dropped, since rain falls on the
/// grid. Its simulation period must cover `spec.minutes`.
pub fn run(
    dem: &Raster,
    setup: &SurfaceSetup,
    spec: &FloodSpec,
    mut project: twin_hydro::Project,
    progress: &mut dyn FnMut(f64),
) -> Result<CoupledResult, CoupledError> {
    spec.validate()?;
    project.subcatchments.clear();
    project.subareas.clear();
    project.infiltration.clear();
    let junctions: std::collections::HashSet<String> = project
        .junctions
        .iter()
        .map(|j| j.name.to_lowercase())
        .collect();
    let manholes: Vec<(String, [f64; 2])> = project
        .coordinates
        .iter()
        .filter(|(n, _, _)| junctions.contains(&n.to_lowercase()))
        .map(|(n, x, y)| (n.clone(), [*x, *y]))
        .collect();
    if manholes.is_empty() {
        return Err(CoupledError::Network(
            "no junction has [COORDINATES]: nothing to couple to the surface".into(),
        ));
    }
    let net = twin_hydro::Engine::new(&project)?;
    match spec.backend {
        Backend::Cpu => run_on(
            crate::flood::build::<Simulation>(dem, spec, setup)?,
            net,
            &manholes,
            dem,
            setup,
            spec,
            progress,
        ),
        Backend::Gpu => run_on(
            crate::flood::build::<GpuSimulation>(dem, spec, setup)?,
            net,
            &manholes,
            dem,
            setup,
            spec,
            progress,
        ),
    }
}

/// The coupled run on a built surface solver and network, manholes by name and position.
fn run_on<S: SurfaceSolver>(
    mut sim: S,
    mut net: twin_hydro::Engine,
    manholes: &[(String, [f64; 2])],
    dem: &Raster,
    setup: &SurfaceSetup,
    spec: &FloodSpec,
    progress: &mut dyn FnMut(f64),
) -> Result<CoupledResult, CoupledError>
where
    FloodError: From<S::Error>,
{
    let mut probes = crate::flood::ProbeRecorder::new(setup, dem.nx, sim.grid().active())?;
    // Couple every manhole that sits on an active cell.
    let mut links: Vec<(usize, PointId, Cell)> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (name, pos) in manholes {
        let (Some(node), Some((c, r))) = (net.node_index(name), dem.cell_at(pos[0], pos[1])) else {
            continue;
        };
        let cell = Cell::new(r, c);
        if let Ok(id) = sim.add_point(cell) {
            links.push((node, id, cell));
            names.push(name.clone());
        }
    }
    let run_minutes = (spec.minutes.ceil().max(1.0)) as usize;
    let mut per_minute = vec![vec![0.0f64; run_minutes]; links.len()];
    let total = spec.minutes * 60.0;
    let g = 9.806_65;
    let mut ledger = CoupledLedger {
        network_initial: network_storage(&net),
        ..Default::default()
    };
    let cells: Vec<Cell> = links.iter().map(|(_, _, c)| *c).collect();
    // Volume each manhole's inlet has taken from the surface that the network has not yet
    // received, m³. The network integrates a node's lateral inflow over a step as the mean of
    // its rates at the step's start and end (SWMM's trapezoid), so a rate set to deliver a
    // volume in one step delivers it exactly only while the steps keep their length; what
    // is left over (or taken ahead) is carried into the next step's rate.
    let mut pending = vec![0.0f64; links.len()];
    let mut rate_before = vec![0.0f64; links.len()];
    let mut overflowed = vec![false; links.len()];
    let mut t = 0.0;
    let mut next_report = 60.0;
    let mut network_steps = 0u64;
    while t < total - 1e-9 {
        let dt = net.next_step().min(total - t).max(0.1);
        let minute = ((t / 60.0).floor() as usize).min(run_minutes - 1);
        for (k, (node, _, _)) in links.iter().enumerate() {
            // Rates below this are dropped by the network as noise (its flow tolerance).
            let q = (pending[k] / dt).max(0.0);
            let q = if q < MIN_INLET_RATE_M3S { 0.0 } else { q };
            net.set_node_inflow_si(*node, q);
            let received = 0.5 * (rate_before[k] + q) * dt;
            rate_before[k] = q;
            pending[k] -= received;
            ledger.network_inflow += received;
            per_minute[k][minute] += received;
        }
        let before = net.routing_totals();
        net.step(dt);
        network_steps += 1;
        let after = net.routing_totals();
        ledger.network_outfall += (after.outflow - before.outflow) * FT3;
        // Exchange over the same dt on the surface.
        let depths = sim.read_depths_at(&cells).map_err(FloodError::from)?;
        for (k, (node, id, _)) in links.iter().enumerate() {
            let over = net.node_overflow_si(*node);
            let rate = if over > 0.0 {
                overflowed[k] = true;
                over
            } else {
                let h = depths[k];
                if h > 1e-4 {
                    let weir = C_WEIR * INLET_PERIMETER_M * h * (2.0 * g * h).sqrt();
                    let orifice = C_ORIFICE * INLET_AREA_M2 * (2.0 * g * h).sqrt();
                    -weir.min(orifice)
                } else {
                    0.0
                }
            };
            sim.set_point_rate(*id, rate).map_err(FloodError::from)?;
        }
        sim.advance_to(t + dt).map_err(FloodError::from)?;
        let moved = sim.take_point_volumes();
        for (k, v) in moved.iter().enumerate() {
            if *v > 0.0 {
                ledger.network_overflow += v;
            } else {
                pending[k] += -v;
            }
        }
        t += dt;
        if t >= next_report || t >= total - 1e-9 {
            if let Some(p) = probes.as_mut() {
                p.sample(t, &sim, t >= total - 1e-9)?;
            }
            progress(t / total);
            next_report += 60.0;
        }
    }
    ledger.in_transit = pending.iter().sum();
    ledger.network_final = network_storage(&net);
    ledger.network_continuity_pct = net.routing_continuity_error();
    let f = crate::flood::finish(&sim, dem, setup)?;
    ledger.surface = f.ledger;
    let rasters =
        crate::flood::result_rasters(dem, &f.stats, setup.initial_depth.as_deref(), &f.active);
    Ok(CoupledResult {
        rasters,
        ledger,
        overflowing_manholes: overflowed.iter().filter(|o| **o).count(),
        coupled_manholes: links.len(),
        gauges: f.gauges,
        inlet_minutes: names.into_iter().zip(per_minute).collect(),
        network_steps,
        surface_steps: f.steps,
        adapter: f.adapter,
        probes: probes.map(crate::flood::ProbeRecorder::finish),
    })
}

/// The network of a coupled run as a stand-alone SWMM model that replays what the surface gave
/// it: subcatchments dropped, each coupled manhole fed its delivered volume per minute as an
/// `[INFLOWS]` series holding each minute's mean rate (in the model's flow units). Running it in EPA SWMM checks the
/// network half of a coupled run against the reference engine.
pub fn replay_project(
    mut project: twin_hydro::Project,
    result: &CoupledResult,
) -> Result<twin_hydro::Project, CoupledError> {
    use twin_hydro::inp::{Inflow, Timeseries, TsData, TsPoint};
    project.subcatchments.clear();
    project.subareas.clear();
    project.infiltration.clear();
    project.polygons.clear();
    let opts = twin_hydro::engine::Options::from_project(&project)?;
    // m³/s → cfs → the model's units.
    let to_user = opts.ucf_flow() / FT3;
    for (name, minutes) in &result.inlet_minutes {
        if minutes.iter().all(|v| *v <= 0.0) {
            continue;
        }
        let ts = format!("TWIN_IN_{name}");
        // SWMM interpolates series linearly: each minute's rate is held by a point at its start
        // and one a second before the next change.
        let mut data: Vec<TsPoint> = Vec::new();
        let mut last: Option<f64> = None;
        let point = |hours: f64, value: f64| TsPoint {
            date: None,
            hours,
            value,
        };
        for (m, v) in minutes.iter().chain([&0.0]).enumerate() {
            let q = v / 60.0 * to_user;
            if last != Some(q) {
                if let Some(prev) = last {
                    data.push(point((m as f64 * 60.0 - 1.0) / 3600.0, prev));
                }
                data.push(point(m as f64 / 60.0, q));
                last = Some(q);
            }
        }
        project.timeseries.push(Timeseries {
            name: ts.clone(),
            data: TsData::Points(data),
        });
        project.inflows.push(Inflow {
            node: name.clone(),
            constituent: "FLOW".into(),
            timeseries: ts,
            kind: "FLOW".into(),
            mfactor: 1.0,
            sfactor: 1.0,
            baseline: 0.0,
            pattern: String::new(),
        });
    }
    Ok(project)
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_surface::{Boundaries, Boundary};

    const INP: &str = "[OPTIONS]
FLOW_UNITS CMS
FLOW_ROUTING DYNWAVE
START_DATE 01/01/2026
START_TIME 00:00:00
END_DATE 01/01/2026
END_TIME 00:40:00
REPORT_STEP 00:05:00
ROUTING_STEP 0:00:02
[JUNCTIONS]
J1 8.0 2.0 0 0 0
J2 7.0 2.0 0 0 0
J3 6.0 2.0 0 0 0
[OUTFALLS]
O1 5.0 FREE NO
[CONDUITS]
C1 J1 J2 50 0.013 0 0 0 0
C2 J2 J3 50 0.013 0 0 0 0
C3 J3 O1 50 0.013 0 0 0 0
[XSECTIONS]
C1 CIRCULAR 0.4 0 0 0 1
C2 CIRCULAR 0.4 0 0 0 1
C3 CIRCULAR 0.5 0 0 0 1
[COORDINATES]
J1 25 175
J2 75 175
J3 125 175
O1 175 175
";

    /// A street sloping east at 2 %, three inlets along it draining to a free outfall: the
    /// network takes water off the surface and the system ledger closes.
    #[test]
    fn inlets_drain_the_street_and_the_ledger_closes() {
        let (nx, ny, dx) = (40, 10, 5.0);
        let mut dem = Raster::filled(nx, ny, 0.0, 200.0, dx, 0.0);
        for r in 0..ny {
            for c in 0..nx {
                let x = (c as f64 + 0.5) * dx;
                let y = 200.0 - (r as f64 + 0.5) * dx;
                // 2 % down to the east, a V toward the street centre line at y = 175.
                dem.set(c, r, (10.0 - 0.02 * x + 0.01 * (y - 175.0).abs()) as f32);
            }
        }
        let spec = FloodSpec {
            minutes: 30.0,
            rain: vec![(0.0, 60.0), (10.0, 0.0)],
            edges: Boundary::Closed,
            ..Default::default()
        };
        let setup = SurfaceSetup {
            boundaries: Some(Boundaries::all(Boundary::Closed)),
            ..Default::default()
        };
        let project = twin_hydro::parse(INP).unwrap();
        let r = run(&dem, &setup, &spec, project, &mut |_| {}).unwrap();
        let l = &r.ledger;
        assert_eq!(r.coupled_manholes, 3);
        // 10 mm on 10,000 m².
        assert!((l.surface.rain - 100.0).abs() < 1e-6, "{}", l.surface.rain);
        eprintln!("{}", l.to_json());
        assert!(
            l.network_inflow > 15.0,
            "inlets took {} m³",
            l.network_inflow
        );
        assert!(l.network_outfall > 10.0, "outfall {} m³", l.network_outfall);
        assert!(l.closure_error_percent().abs() < 0.1, "{:?}", l.to_json());
    }
}
