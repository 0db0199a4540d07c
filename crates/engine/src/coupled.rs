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

/// Relaxation time of a network node drawn toward a level reading, s: each step the node gains
/// (or loses) its level's error times its surface area times dt / τ (at most half the error a
/// step, so that long steps cannot overshoot), and the error falls by about e in τ. A node
/// that passes a flow Q keeps an error of about Q τ / A, so τ is short. Water is added or
/// taken at the node as in the "Update" of node levels in MIKE URBAN (Hansen, Borup, Møller
/// and Mikkelsen 2014, *Water* 6(8), 2195–2211).
pub const NUDGE_TAU_S: f64 = 4.0;

/// A network node drawn toward a level reading until a time.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Nudge {
    node: usize,
    depth_m: f64,
    until_s: f64,
}

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
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
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
    /// Water added to the network (negative: taken) to draw manholes toward level readings.
    #[serde(default)]
    pub network_assimilated: f64,
}

impl CoupledLedger {
    /// Total inflow to the system: rain and inflow over the grid's edges.
    pub fn total_in(&self) -> f64 {
        self.surface.rain + self.surface.boundary_in_total()
    }

    /// In − out − change in storage, over the whole system.
    pub fn closure_error(&self) -> f64 {
        let s = &self.surface;
        let input = s.rain
            + s.boundary_in_total()
            + s.assimilated
            + self.network_assimilated
            + s.initial_storage
            + self.network_initial;
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
            "assimilated_m3": s.assimilated,
            "network_assimilated_m3": self.network_assimilated,
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
    /// The depth frames the set-up asked for (empty without).
    pub frames: Vec<crate::flood::DepthFrame>,
    /// Each pump's flow at the end of every minute, m³/s: `(pump, flows)`, pumps in the
    /// network's order.
    pub pump_minutes: Vec<(String, Vec<f64>)>,
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
    project: twin_hydro::Project,
    progress: &mut dyn FnMut(f64),
) -> Result<CoupledResult, CoupledError> {
    spec.validate()?;
    let (project, manholes) = prepare(project)?;
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

/// The network without its subcatchments (rain falls on the grid), and its junctions that
/// have `[COORDINATES]`: the manholes to couple.
#[allow(clippy::type_complexity)]
fn prepare(
    mut project: twin_hydro::Project,
) -> Result<(twin_hydro::Project, Vec<(String, [f64; 2])>), CoupledError> {
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
    Ok((project, manholes))
}

/// The coupled run on a built surface solver and network, manholes by name and position.
fn run_on<S: SurfaceSolver>(
    sim: S,
    net: twin_hydro::Engine,
    manholes: &[(String, [f64; 2])],
    dem: &Raster,
    setup: &SurfaceSetup,
    spec: &FloodSpec,
    progress: &mut dyn FnMut(f64),
) -> Result<CoupledResult, CoupledError>
where
    FloodError: From<S::Error>,
{
    let mut state = CoupledState::start(sim, net, manholes, dem, setup, spec)?;
    state.advance(state.total, progress)?;
    state.finish(dem, setup)
}

/// A coupled run in progress: the surface solver, the network and everything the exchange
/// between them carries from one step to the next. It can stop after any step and go on, in
/// this process or, saved with [`crate::hotstart`], in another: the steps are the same either
/// way, so the results are too, bit for bit.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CoupledState<S> {
    sim: S,
    net: twin_hydro::Engine,
    /// Coupled manholes: network node, surface point, cell.
    links: Vec<(usize, PointId, Cell)>,
    names: Vec<String>,
    per_minute: Vec<Vec<f64>>,
    ledger: CoupledLedger,
    /// Volume each manhole's inlet has taken from the surface that the network has not yet
    /// received, m³. The network integrates a node's lateral inflow over a step as the mean of
    /// its rates at the step's start and end (SWMM's trapezoid), so a rate set to deliver a
    /// volume in one step delivers it exactly only while the steps keep their length; what
    /// is left over (or taken ahead) is carried into the next step's rate.
    pending: Vec<f64>,
    rate_before: Vec<f64>,
    overflowed: Vec<bool>,
    cells: Vec<Cell>,
    t: f64,
    total: f64,
    run_minutes: usize,
    next_report: f64,
    network_steps: u64,
    probes: Option<crate::flood::ProbeRecorder>,
    frames: Option<crate::flood::FrameRecorder>,
    pump_links: Vec<usize>,
    pumps: Vec<(String, Vec<f64>)>,
    /// Nodes drawn toward level readings ([`CoupledState::nudge_node`]).
    nudges: Vec<Nudge>,
}

impl<S: SurfaceSolver> CoupledState<S>
where
    FloodError: From<S::Error>,
{
    /// Couples every manhole that sits on an active cell; the run stands at time 0.
    fn start(
        mut sim: S,
        net: twin_hydro::Engine,
        manholes: &[(String, [f64; 2])],
        dem: &Raster,
        setup: &SurfaceSetup,
        spec: &FloodSpec,
    ) -> Result<Self, CoupledError> {
        let probes = crate::flood::ProbeRecorder::new(setup, dem.nx, sim.grid().active())?;
        let frames = crate::flood::FrameRecorder::new(setup, sim.grid().active())?;
        let (pump_links, pumps): (Vec<usize>, Vec<(String, Vec<f64>)>) = net
            .pumps()
            .into_iter()
            .map(|(j, name)| (j, (name, Vec::new())))
            .unzip();
        let mut links: Vec<(usize, PointId, Cell)> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for (name, pos) in manholes {
            let (Some(node), Some((c, r))) = (net.node_index(name), dem.cell_at(pos[0], pos[1]))
            else {
                continue;
            };
            let cell = Cell::new(r, c);
            if let Ok(id) = sim.add_point(cell) {
                links.push((node, id, cell));
                names.push(name.clone());
            }
        }
        let run_minutes = (spec.minutes.ceil().max(1.0)) as usize;
        let n = links.len();
        Ok(CoupledState {
            per_minute: vec![vec![0.0f64; run_minutes]; n],
            ledger: CoupledLedger {
                network_initial: network_storage(&net),
                ..Default::default()
            },
            cells: links.iter().map(|(_, _, c)| *c).collect(),
            pending: vec![0.0; n],
            rate_before: vec![0.0; n],
            overflowed: vec![false; n],
            sim,
            net,
            links,
            names,
            t: 0.0,
            total: spec.minutes * 60.0,
            run_minutes,
            next_report: 60.0,
            network_steps: 0,
            probes,
            frames,
            pump_links,
            pumps,
            nudges: Vec::new(),
        })
    }

    /// Simulated time, s.
    pub fn time(&self) -> f64 {
        self.t
    }

    /// The run's end, s.
    pub fn end(&self) -> f64 {
        self.total
    }

    /// Steps on until the first step that ends at or after `until` (s), or the run's end:
    /// the steps are the network's own, never shortened to stop at `until`, so a run stopped
    /// and continued takes the same steps as one that never stopped.
    pub fn advance(
        &mut self,
        until: f64,
        progress: &mut dyn FnMut(f64),
    ) -> Result<(), CoupledError> {
        let g = 9.806_65;
        let total = self.total;
        let until = until.min(total);
        while self.t < until - 1e-9 {
            let t = self.t;
            let net = &mut self.net;
            let sim = &mut self.sim;
            let dt = net.next_step().min(total - t).max(0.1);
            let minute = ((t / 60.0).floor() as usize).min(self.run_minutes - 1);
            for (k, (node, _, _)) in self.links.iter().enumerate() {
                // Rates below this are dropped by the network as noise (its flow tolerance).
                let q = (self.pending[k] / dt).max(0.0);
                let q = if q < MIN_INLET_RATE_M3S { 0.0 } else { q };
                net.set_node_inflow_si(*node, q);
                let received = 0.5 * (self.rate_before[k] + q) * dt;
                self.rate_before[k] = q;
                self.pending[k] -= received;
                self.ledger.network_inflow += received;
                self.per_minute[k][minute] += received;
            }
            for n in &self.nudges {
                let q = if t < n.until_s - 1e-9 {
                    let gain = (1.0 / NUDGE_TAU_S).min(0.5 / dt);
                    (n.depth_m - net.node_depth_si(n.node))
                        * net.node_surface_area_si(n.node)
                        * gain
                } else {
                    0.0
                };
                net.set_node_assimilation_si(n.node, q);
            }
            let before = net.routing_totals();
            net.step(dt);
            self.network_steps += 1;
            let after = net.routing_totals();
            self.ledger.network_outfall += (after.outflow - before.outflow) * FT3;
            self.ledger.network_assimilated += (after.assimilated - before.assimilated) * FT3;
            self.nudges.retain(|n| t < n.until_s - 1e-9);
            // Exchange over the same dt on the surface.
            let depths = sim.read_depths_at(&self.cells).map_err(FloodError::from)?;
            for (k, (node, id, _)) in self.links.iter().enumerate() {
                let over = net.node_overflow_si(*node);
                let rate = if over > 0.0 {
                    self.overflowed[k] = true;
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
                    self.ledger.network_overflow += v;
                } else {
                    self.pending[k] += -v;
                }
            }
            let t = t + dt;
            self.t = t;
            if t >= self.next_report || t >= total - 1e-9 {
                let last = t >= total - 1e-9;
                if let Some(p) = self.probes.as_mut() {
                    p.sample(t, &self.sim, last)?;
                }
                if let Some(f) = self.frames.as_mut() {
                    f.sample(t, &self.sim, last)?;
                }
                for (k, (_, flows)) in self.pumps.iter_mut().enumerate() {
                    flows.push(self.net.link_flow_si(self.pump_links[k]));
                }
                progress(t / total);
                self.next_report += 60.0;
            }
        }
        Ok(())
    }

    /// The results of the run so far (normally at its end).
    pub fn finish(self, dem: &Raster, setup: &SurfaceSetup) -> Result<CoupledResult, CoupledError> {
        let mut ledger = self.ledger;
        ledger.in_transit = self.pending.iter().sum();
        ledger.network_final = network_storage(&self.net);
        ledger.network_continuity_pct = self.net.routing_continuity_error();
        let f = crate::flood::finish(&self.sim, dem, setup)?;
        ledger.surface = f.ledger;
        let rasters =
            crate::flood::result_rasters(dem, &f.stats, setup.initial_depth.as_deref(), &f.active);
        Ok(CoupledResult {
            rasters,
            ledger,
            overflowing_manholes: self.overflowed.iter().filter(|o| **o).count(),
            coupled_manholes: self.links.len(),
            gauges: f.gauges,
            inlet_minutes: self.names.into_iter().zip(self.per_minute).collect(),
            network_steps: self.network_steps,
            surface_steps: f.steps,
            adapter: f.adapter,
            probes: self.probes.map(crate::flood::ProbeRecorder::finish),
            frames: self
                .frames
                .map(crate::flood::FrameRecorder::finish)
                .unwrap_or_default(),
            pump_minutes: self.pumps,
        })
    }
}

impl CoupledState<Simulation> {
    /// The surface solver (read-only: depths, gauges, ledger).
    pub fn surface(&self) -> &Simulation {
        &self.sim
    }

    /// The drainage network (read-only).
    pub fn network(&self) -> &twin_hydro::Engine {
        &self.net
    }

    /// Replaces the rain from now on: `steps` of (time s from the run's start, field), each
    /// field holding until the next (the last to the end).
    pub fn set_rain(
        &mut self,
        steps: Vec<(f64, twin_surface::RainField)>,
    ) -> Result<(), CoupledError> {
        let n = self.sim.grid().len();
        self.sim
            .set_rain(twin_surface::Rain::new(steps, n)?)
            .map_err(CoupledError::from)
    }

    /// Holds the setting of the network's link `name` (a pump on 1 or off 0, a gate's opening)
    /// from now on, or releases it to its own rules (`None`); false if there is no such link.
    pub fn hold_link(&mut self, name: &str, setting: Option<f64>) -> bool {
        match self.net.link_index(name) {
            Some(j) => {
                self.net.hold_link_setting(j, setting);
                true
            }
            None => false,
        }
    }

    /// Draws the network's node `name` toward a water level (m, the network's datum: invert
    /// plus depth) a sensor read, from now for `window_s` seconds: each step the node gains
    /// (or loses) its level's error times its surface area over [`NUDGE_TAU_S`], booked in
    /// the ledger as `network_assimilated`; after the window the network runs free. A later reading of the same node replaces the
    /// earlier. Returns the innovation (reading − simulated level), or `None` where the
    /// network has no such node.
    pub fn nudge_node(&mut self, name: &str, level_m: f64, window_s: f64) -> Option<f64> {
        let node = self.net.node_index(name)?;
        let invert = self.net.nodes.invert[node] * 0.3048;
        let depth_now = self.net.node_depth_si(node);
        let depth_m = (level_m - invert).max(0.0);
        self.nudges.retain(|n| n.node != node);
        self.nudges.push(Nudge {
            node,
            depth_m,
            until_s: self.t + window_s,
        });
        Some(level_m - (invert + depth_now))
    }

    /// Water added to the network so far by drawing nodes toward level readings (negative:
    /// taken), m³.
    pub fn network_assimilated_m3(&self) -> f64 {
        self.ledger.network_assimilated
    }

    /// Water level of the network's node `name` now (invert plus depth), m.
    pub fn node_level(&self, name: &str) -> Option<f64> {
        let node = self.net.node_index(name)?;
        Some(self.net.nodes.invert[node] * 0.3048 + self.net.node_depth_si(node))
    }

    /// Sets the water depth of some cells to what sensors say
    /// ([`Simulation::assimilate_depths`]); returns the volume added, m³.
    pub fn assimilate_depths(&mut self, cells: &[(Cell, f64)]) -> Result<f64, CoupledError> {
        Ok(self.sim.assimilate_depths(cells)?)
    }
}

/// The surface and network of a coupled run on the CPU solver, prepared as [`run`] prepares
/// them, standing at time 0: step it with [`CoupledState::advance`], save it with
/// [`crate::hotstart::save_coupled`].
pub fn start_cpu(
    dem: &Raster,
    setup: &SurfaceSetup,
    spec: &FloodSpec,
    project: twin_hydro::Project,
) -> Result<CoupledState<Simulation>, CoupledError> {
    spec.validate()?;
    let (project, manholes) = prepare(project)?;
    let net = twin_hydro::Engine::new(&project)?;
    let sim = crate::flood::build::<Simulation>(dem, spec, setup)?;
    CoupledState::start(sim, net, &manholes, dem, setup, spec)
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

    /// A street sloping east at 2 % on 200 × 50 m of 5 m cells, closed all round, under
    /// 60 mm/h for 10 minutes of a 30-minute run.
    fn street() -> (Raster, FloodSpec, SurfaceSetup) {
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
        (dem, spec, setup)
    }

    /// The street, three inlets along it draining to a free outfall: the network takes water
    /// off the surface and the system ledger closes.
    #[test]
    fn inlets_drain_the_street_and_the_ledger_closes() {
        let (dem, spec, setup) = street();
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

    /// The same street: J2 read 0.25 m deep at minute 10 (a blockage downstream, say) is drawn
    /// there within the window, runs free after it, and the water added is booked, so the
    /// ledger still closes; a reading of J3 below the model takes water out.
    #[test]
    fn a_node_drawn_toward_a_reading_reaches_it_and_the_ledger_closes() {
        let (dem, spec, setup) = street();
        let project = twin_hydro::parse(INP).unwrap();
        let mut st = start_cpu(&dem, &setup, &spec, project).unwrap();
        st.advance(600.0, &mut |_| {}).unwrap();
        let j2 = st.node_level("J2").unwrap();
        let j3 = st.node_level("J3").unwrap();
        assert!(j2 - 7.0 < 0.2 && j3 - 6.0 > 0.005, "J2 {j2} m, J3 {j3} m");
        assert!(st.nudge_node("nowhere", 7.0, 120.0).is_none());
        let innovation = st.nudge_node("J2", 7.25, 120.0).unwrap();
        assert!((innovation - (7.25 - j2)).abs() < 1e-12);
        st.nudge_node("J3", 6.0, 120.0).unwrap();
        let t0 = st.time();
        st.advance(t0 + 110.0, &mut |_| {}).unwrap();
        let j2_held = st.node_level("J2").unwrap();
        let j3_held = st.node_level("J3").unwrap();
        assert!((j2_held - 7.25).abs() < 0.05, "J2 at {j2_held} m");
        assert!(j3_held - 6.0 < 0.5 * (j3 - 6.0), "J3 at {j3_held} m");
        st.advance(t0 + 130.0, &mut |_| {}).unwrap();
        let added = st.network_assimilated_m3();
        // Past the window nothing more is added, and J2 drains again.
        st.advance(t0 + 400.0, &mut |_| {}).unwrap();
        assert_eq!(st.network_assimilated_m3(), added);
        assert!(st.node_level("J2").unwrap() < 7.2);
        let r = st.finish(&dem, &setup).unwrap();
        let l = &r.ledger;
        assert_eq!(l.network_assimilated, added);
        assert!(added.abs() > 0.1, "{added} m³");
        eprintln!(
            "J2 {j2:.3} → {j2_held:.3} m, J3 {j3:.3} → {j3_held:.3} m, {added:.2} m³ assimilated"
        );
        assert!(l.closure_error_percent().abs() < 0.1, "{:?}", l.to_json());
        assert!(l.network_continuity_pct.abs() < 1.0, "{:?}", l.to_json());
    }
}
