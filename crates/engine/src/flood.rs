//! Surface flooding of a DEM under a uniform, stepwise rain series, with the local-inertial
//! solver of `twin-surface`. DEM nodata (and NaN) cells are walls: no water enters or leaves
//! them, and every result raster marks them nodata (never NaN).

use thiserror::Error;
use twin_model::Raster;
use twin_surface::{
    Boundaries, Boundary, Cell, FloodStats, Grid, Infiltration, MassLedger, Params, Rain,
    RainField, Simulation, SurfaceError, SurfaceSolver,
};
use twin_surface_gpu::{GpuError, GpuSimulation};

/// Which implementation of the surface solver runs a flood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// `twin_surface::Simulation`: f64 state, rows in parallel on the CPU, every feature (the
    /// reference).
    #[default]
    Cpu,
    /// `twin_surface_gpu::GpuSimulation`: the same scheme as a WGSL compute kernel on the
    /// default wgpu adapter (a GPU, or lavapipe on a machine without one), f32 state; no 1D–2D
    /// coupling.
    Gpu,
}

/// The hardware GPU the [`Backend::Gpu`] solver would run on, if there is one (a software
/// adapter such as lavapipe does not count: there the CPU solver is faster).
pub fn hardware_gpu() -> Option<String> {
    twin_surface_gpu::hardware_adapter()
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(Backend::Cpu),
            "gpu" => Ok(Backend::Gpu),
            other => Err(format!("backend '{other}': expected cpu or gpu")),
        }
    }
}

/// Nodata value of the result rasters.
pub const NODATA: f32 = -9999.0;

/// What to run.
#[derive(Debug, Clone)]
pub struct FloodSpec {
    /// Simulated duration, minutes.
    pub minutes: f64,
    /// Rain series: (start minute, intensity mm/h), stepwise, uniform over the grid unless
    /// `rain_map` is given.
    pub rain: Vec<(f64, f64)>,
    /// Rain that varies across the city: a multiplier of the series on every DEM cell
    /// (row-major, as the DEM's data), e.g. gauge totals spread over the grid divided by their
    /// mean ([`crate::rain_map`]).
    pub rain_map: Option<Vec<f64>>,
    /// Manning's n on every cell (urban surfaces 0.013–0.05; default 0.03).
    pub manning: f64,
    /// Edge condition on all four edges (default: free outflow).
    pub edges: Boundary,
    /// Depth (m) above which a cell counts as flooded for the duration map.
    pub threshold_m: f64,
    /// Solver implementation (default: CPU).
    pub backend: Backend,
}

/// Longest storm run, minutes: a week, longer than any single flood event a city plans for.
pub const MAX_MINUTES: f64 = 10_080.0;

/// Highest rain intensity, mm/h (above the world's heaviest recorded rain, about 1,870 mm/h
/// over one minute).
pub const MAX_RAIN_MM_H: f64 = 2_000.0;

impl FloodSpec {
    /// Checks the spec against what any city needs: a duration in (0, [`MAX_MINUTES`]], rain
    /// steps in time order with intensities in 0..[`MAX_RAIN_MM_H`], a finite positive
    /// Manning's n and flood threshold.
    pub fn validate(&self) -> Result<(), FloodError> {
        let bad = |what: String| Err(FloodError::Spec(what));
        if !(self.minutes > 0.0 && self.minutes <= MAX_MINUTES) {
            return bad(format!(
                "duration must lie in (0, {MAX_MINUTES}] minutes (a week), got {}",
                self.minutes
            ));
        }
        let mut prev = f64::NEG_INFINITY;
        for (k, &(m, i)) in self.rain.iter().enumerate() {
            if !(m.is_finite() && m >= 0.0 && m > prev) {
                return bad(format!(
                    "rain step {}: minutes must start at 0 or later and increase, got {m}",
                    k + 1
                ));
            }
            if !(0.0..=MAX_RAIN_MM_H).contains(&i) {
                return bad(format!(
                    "rain step {}: intensity must lie in 0..{MAX_RAIN_MM_H} mm/h, got {i}",
                    k + 1
                ));
            }
            prev = m;
        }
        if let Some(m) = &self.rain_map {
            let peak = self.rain.iter().map(|r| r.1).fold(0.0, f64::max);
            let most = m.iter().copied().fold(0.0, f64::max);
            if m.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
                return bad("the rain map must hold finite shares ≥ 0".into());
            }
            if peak * most > MAX_RAIN_MM_H {
                return bad(format!(
                    "the rain map's wettest cell gets {:.0} mm/h at the peak, above {MAX_RAIN_MM_H} mm/h",
                    peak * most
                ));
            }
        }
        if !(self.manning > 0.0 && self.manning <= 1.0) {
            return bad(format!(
                "Manning's n must lie in (0, 1], got {}",
                self.manning
            ));
        }
        if !(self.threshold_m > 0.0 && self.threshold_m.is_finite()) {
            return bad(format!(
                "the flood threshold must be a depth > 0 m, got {}",
                self.threshold_m
            ));
        }
        Ok(())
    }
}

impl Default for FloodSpec {
    fn default() -> Self {
        FloodSpec {
            minutes: 60.0,
            rain: vec![(0.0, 50.0)],
            rain_map: None,
            manning: 0.03,
            edges: Boundary::Open { slope: None },
            threshold_m: 0.1,
            backend: Backend::Cpu,
        }
    }
}

/// Results on the DEM's grid.
#[derive(Debug, Clone)]
pub struct FloodResult {
    /// Maximum depth, m.
    /// Maximum flood depth, m: the highest water depth reached above the initial water (so a
    /// lake at its normal level shows only its rise; dry land shows the full depth).
    pub max_depth: Raster,
    /// Time of maximum depth, minutes.
    pub time_of_max_min: Raster,
    /// Time above the threshold, minutes.
    pub duration_above_min: Raster,
    /// Maximum depth × speed, m²/s.
    pub max_hazard: Raster,
    /// The mass ledger, m³.
    pub ledger: MassLedger,
    /// Solver steps taken.
    pub steps: u64,
    /// Wet cells at the end (depth > 1 mm).
    pub wet_cells: usize,
    /// Depth series at the set-up's gauges.
    pub gauges: Vec<GaugeRecord>,
    /// The wgpu adapter a GPU run used (`None` on the CPU).
    pub adapter: Option<String>,
    /// What the set-up's probes recorded (`None` without probes).
    pub probes: Option<ProbeSeries>,
    /// The depth frames the set-up asked for (empty without).
    pub frames: Vec<DepthFrame>,
}

/// Errors of a flood run.
#[derive(Debug, Error)]
pub enum FloodError {
    /// The solver rejected an input.
    #[error("{0}")]
    Surface(#[from] SurfaceError),
    /// The spec is not usable.
    #[error("{0}")]
    Spec(String),
    /// The GPU solver could not start or run (no adapter, an unsupported feature, read-back).
    #[error("GPU surface solver: {0}")]
    Gpu(#[from] GpuError),
}

impl FloodResult {
    /// The ledger as JSON: every term in m³ and the closure error in percent of total inflow.
    pub fn ledger_json(&self) -> serde_json::Value {
        ledger_json(&self.ledger, self.steps, self.adapter.as_deref())
    }
}

/// A surface run's ledger as JSON: every term in m³, the closure error in percent of total
/// inflow, the solver steps and the backend (with the GPU adapter's name).
pub fn ledger_json(l: &MassLedger, steps: u64, adapter: Option<&str>) -> serde_json::Value {
    let edge =
        |a: [f64; 4]| serde_json::json!({"north": a[0], "south": a[1], "west": a[2], "east": a[3]});
    let total_in = l.total_in();
    serde_json::json!({
        "rain_m3": l.rain,
        "infiltration_m3": l.infiltration,
        "boundary_in_m3": edge(l.boundary_in),
        "boundary_out_m3": edge(l.boundary_out),
        "point_in_m3": l.point_in,
        "point_out_m3": l.point_out,
        "assimilated_m3": l.assimilated,
        "initial_storage_m3": l.initial_storage,
        "final_storage_m3": l.storage,
        "storage_change_m3": l.storage_change(),
        "total_inflow_m3": total_in,
        "closure_error_m3": l.closure_error(),
        "closure_error_percent": if total_in > 0.0 { 100.0 * l.closure_error() / total_in } else { 0.0 },
        "solver_steps": steps,
        "backend": if adapter.is_some() { "gpu" } else { "cpu" },
        "gpu_adapter": adapter,
    })
}

/// Surface set-up beyond the DEM: roughness and walls per cell, initial water, edges.
#[derive(Debug, Clone, Default)]
pub struct SurfaceSetup {
    /// Manning's n per cell (row-major); `None` = `FloodSpec::manning` everywhere.
    pub manning: Option<Vec<f64>>,
    /// Extra wall cells (buildings in blocked mode).
    pub walls: Vec<usize>,
    /// Initial depth per cell (lakes at their level, the river at its stage).
    pub initial_depth: Option<Vec<f64>>,
    /// Edge conditions; `None` = `FloodSpec::edges` on all four.
    pub boundaries: Option<Boundaries>,
    /// Infiltration classes and the class of each cell (row-major); `None` = no infiltration.
    pub infiltration: Option<(Vec<Infiltration>, Vec<u16>)>,
    /// Points where the water depth is recorded every minute (in the DEM's CRS).
    pub gauges: Vec<Gauge>,
    /// Groups of cells whose deepest water is recorded over fixed intervals (the roads of a
    /// flood → traffic timeline); `None` = none.
    pub probes: Option<Probes>,
    /// Keep the whole depth grid every this many seconds (a whole number of minutes, at least
    /// one), for playback; `None` = no frames.
    pub frames_every_s: Option<f64>,
}

/// The depth grid at one time of a run (for playback).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DepthFrame {
    /// Time, minutes from the start.
    pub minute: f64,
    /// Water depth above the initial water per cell (row-major, the DEM's grid), m; 0 on walls
    /// and off the grid.
    pub depth_m: Vec<f32>,
}

/// Keeps the depth grid at every multiple of its period, sampled at minute boundaries.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct FrameRecorder {
    every: f64,
    next: f64,
    initial: Option<Vec<f64>>,
    active: Vec<bool>,
    frames: Vec<DepthFrame>,
}

impl FrameRecorder {
    /// A recorder for the set-up's frames, holding the dry frame at minute 0; `None` without.
    pub(crate) fn new(setup: &SurfaceSetup, active: &[bool]) -> Result<Option<Self>, FloodError> {
        let Some(every) = setup.frames_every_s else {
            return Ok(None);
        };
        if !(every.is_finite() && every >= 60.0 && (every / 60.0).fract() == 0.0) {
            return Err(FloodError::Spec(format!(
                "depth frames must be a whole number of minutes apart, at least one; got {every} s"
            )));
        }
        Ok(Some(FrameRecorder {
            every,
            next: every,
            initial: setup.initial_depth.clone(),
            active: active.to_vec(),
            frames: vec![DepthFrame {
                minute: 0.0,
                depth_m: vec![0.0; active.len()],
            }],
        }))
    }

    /// Takes the frame at `t` (s) when `t` reaches the next multiple of the period, or when
    /// `last` is set (the run's end).
    pub(crate) fn sample<S: SurfaceSolver>(
        &mut self,
        t: f64,
        sim: &S,
        last: bool,
    ) -> Result<(), FloodError>
    where
        FloodError: From<S::Error>,
    {
        if t < self.next - 1e-6 && !last {
            return Ok(());
        }
        let depth = sim.read_depth()?;
        let depth_m = depth
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let base = self.initial.as_ref().and_then(|v| v.get(i)).copied();
                if self.active.get(i).copied().unwrap_or(false) {
                    (d - base.unwrap_or(0.0)).max(0.0) as f32
                } else {
                    0.0
                }
            })
            .collect();
        // The coupled loop samples just after a minute boundary (the network's steps do not
        // fall on it): the frame is the boundary's, unless it is the run's end.
        let minute = if t < self.next + 60.0 - 1e-6 && !(last && t > self.next + 1e-6) {
            self.next / 60.0
        } else {
            t / 60.0
        };
        self.frames.push(DepthFrame { minute, depth_m });
        while self.next <= t + 1e-6 {
            self.next += self.every;
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Vec<DepthFrame> {
        self.frames
    }
}

/// Groups of cells watched over a run: for every interval of `every_s` seconds, the deepest
/// flood water (above the initial water) in each group, sampled at every simulated minute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Probes {
    /// Row-major cell indices of each group (cells off the grid or on walls are skipped).
    pub groups: Vec<Vec<usize>>,
    /// Interval length, s (a whole number of minutes; at least one).
    pub every_s: f64,
}

/// What [`Probes`] recorded: `max_depth_m[k][g]` is the deepest water in group `g` over the
/// interval ending at `ends_s[k]` (the last interval may be shorter).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProbeSeries {
    /// End of each interval, s from the start.
    pub ends_s: Vec<f64>,
    /// Deepest water per interval and group, m.
    pub max_depth_m: Vec<Vec<f32>>,
}

/// Samples the probes' cells at minute boundaries and keeps each interval's maximum.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct ProbeRecorder {
    cells: Vec<Cell>,
    /// Index of the first cell of each group in `cells`, plus the end.
    offsets: Vec<usize>,
    initial: Vec<f64>,
    every: f64,
    next_end: f64,
    current: Vec<f32>,
    series: ProbeSeries,
}

impl ProbeRecorder {
    /// A recorder for the set-up's probes on the solver's active cells; `None` without probes.
    pub(crate) fn new(
        setup: &SurfaceSetup,
        nx: usize,
        active: &[bool],
    ) -> Result<Option<Self>, FloodError> {
        let Some(p) = &setup.probes else {
            return Ok(None);
        };
        if !(p.every_s.is_finite() && p.every_s >= 60.0) {
            return Err(FloodError::Spec(format!(
                "probe interval must be at least 60 s, got {}",
                p.every_s
            )));
        }
        let mut cells = Vec::new();
        let mut initial = Vec::new();
        let mut offsets = vec![0];
        for g in &p.groups {
            for &i in g {
                if active.get(i).copied().unwrap_or(false) {
                    cells.push(Cell::new(i / nx, i % nx));
                    initial.push(
                        setup
                            .initial_depth
                            .as_ref()
                            .and_then(|d| d.get(i).copied())
                            .unwrap_or(0.0),
                    );
                }
            }
            offsets.push(cells.len());
        }
        Ok(Some(ProbeRecorder {
            cells,
            offsets,
            initial,
            every: p.every_s,
            next_end: p.every_s,
            current: vec![0.0; p.groups.len()],
            series: ProbeSeries::default(),
        }))
    }

    /// Takes a sample at time `t` (s): folds it into the current interval, and closes the
    /// interval when `t` reaches its end or `last` is set.
    pub(crate) fn sample<S: SurfaceSolver>(
        &mut self,
        t: f64,
        sim: &S,
        last: bool,
    ) -> Result<(), FloodError>
    where
        FloodError: From<S::Error>,
    {
        let depths = sim.read_depths_at(&self.cells)?;
        for (g, w) in self.offsets.windows(2).enumerate() {
            let deepest = (w[0]..w[1])
                .map(|k| (depths[k] - self.initial[k]).max(0.0))
                .fold(0.0f64, f64::max);
            self.current[g] = self.current[g].max(deepest as f32);
        }
        if t >= self.next_end - 1e-6 || last {
            self.series.ends_s.push(t);
            self.series.max_depth_m.push(std::mem::replace(
                &mut self.current,
                vec![0.0; self.offsets.len() - 1],
            ));
            while self.next_end <= t + 1e-6 {
                self.next_end += self.every;
            }
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> ProbeSeries {
        self.series
    }
}

/// A point where depth and water level are recorded over time.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Gauge {
    /// Name (a sensor's, an address, a hotspot).
    pub name: String,
    /// Easting, m (the DEM's CRS).
    pub x: f64,
    /// Northing, m.
    pub y: f64,
}

/// The time series recorded at a gauge.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeRecord {
    /// The gauge.
    pub gauge: Gauge,
    /// Ground (DEM) elevation of its cell, m.
    pub ground_m: f64,
    /// Sample times, s from the start.
    pub times_s: Vec<f64>,
    /// Water depth at each time, m.
    pub depths_m: Vec<f64>,
}

/// Writes gauge records as CSV: `time_s,gauge,x,y,depth_m,level_m`, gauges in order, one row
/// per gauge and sample (a name containing a comma or quote is quoted).
pub fn gauges_csv(records: &[GaugeRecord]) -> String {
    let mut out = String::from("time_s,gauge,x,y,depth_m,level_m\n");
    for r in records {
        let name = if r.gauge.name.contains([',', '"', '\n']) {
            format!("\"{}\"", r.gauge.name.replace('"', "\"\""))
        } else {
            r.gauge.name.clone()
        };
        for (t, d) in r.times_s.iter().zip(&r.depths_m) {
            out += &format!(
                "{t:.0},{name},{:.2},{:.2},{d:.4},{:.4}\n",
                r.gauge.x,
                r.gauge.y,
                r.ground_m + d
            );
        }
    }
    out
}

/// The cell of each of the set-up's gauges; a gauge off the grid or on a wall is an error
/// naming it.
fn gauge_cells(dem: &Raster, active: &[bool], gauges: &[Gauge]) -> Result<Vec<usize>, FloodError> {
    gauges
        .iter()
        .map(|g| {
            let Some((c, r)) = dem.cell_at(g.x, g.y) else {
                return Err(FloodError::Spec(format!(
                    "gauge '{}' at ({:.1}, {:.1}) is outside the DEM",
                    g.name, g.x, g.y
                )));
            };
            if !active[r * dem.nx + c] {
                return Err(FloodError::Spec(format!(
                    "gauge '{}' at ({:.1}, {:.1}) is on a wall cell (nodata or a blocked building)",
                    g.name, g.x, g.y
                )));
            }
            Ok(r * dem.nx + c)
        })
        .collect()
}

/// The recorded series of the set-up's gauges, in order.
pub(crate) fn gauge_records(
    dem: &Raster,
    series: &twin_surface::GaugeSeries,
    gauges: &[Gauge],
) -> Vec<GaugeRecord> {
    gauges
        .iter()
        .enumerate()
        .map(|(k, g)| GaugeRecord {
            gauge: g.clone(),
            ground_m: dem
                .cell_at(g.x, g.y)
                .map(|(c, r)| dem.get(c, r) as f64)
                .unwrap_or(f64::NAN),
            times_s: series.times.clone(),
            depths_m: series.depths.get(k).cloned().unwrap_or_default(),
        })
        .collect()
}

/// Runs rain on the DEM. `progress` is called with the fraction done after each simulated minute.
pub fn run(
    dem: &Raster,
    spec: &FloodSpec,
    progress: &mut dyn FnMut(f64),
) -> Result<FloodResult, FloodError> {
    run_with(dem, spec, &SurfaceSetup::default(), progress)
}

/// Runs rain on the DEM with a surface set-up (see [`city_setup`]), on the spec's backend.
pub fn run_with(
    dem: &Raster,
    spec: &FloodSpec,
    setup: &SurfaceSetup,
    progress: &mut dyn FnMut(f64),
) -> Result<FloodResult, FloodError> {
    spec.validate()?;
    match spec.backend {
        Backend::Cpu => run_on(
            build::<Simulation>(dem, spec, setup)?,
            dem,
            spec,
            setup,
            progress,
        ),
        Backend::Gpu => run_on(
            build::<GpuSimulation>(dem, spec, setup)?,
            dem,
            spec,
            setup,
            progress,
        ),
    }
}

/// A flood run on a built solver: minute by minute to the end, probes sampled each minute.
fn run_on<S: SurfaceSolver>(
    mut sim: S,
    dem: &Raster,
    spec: &FloodSpec,
    setup: &SurfaceSetup,
    progress: &mut dyn FnMut(f64),
) -> Result<FloodResult, FloodError>
where
    FloodError: From<S::Error>,
{
    let mut probes = ProbeRecorder::new(setup, dem.nx, sim.grid().active())?;
    let mut frames = FrameRecorder::new(setup, sim.grid().active())?;
    let total = spec.minutes * 60.0;
    let mut t = 0.0;
    while t < total {
        t = (t + 60.0).min(total);
        sim.advance_to(t)?;
        if let Some(p) = probes.as_mut() {
            p.sample(t, &sim, t >= total)?;
        }
        if let Some(f) = frames.as_mut() {
            f.sample(t, &sim, t >= total)?;
        }
        progress(t / total);
    }
    let f = finish(&sim, dem, setup)?;
    let r = result_rasters(dem, &f.stats, setup.initial_depth.as_deref(), &f.active);
    Ok(FloodResult {
        max_depth: r.max_depth,
        time_of_max_min: r.time_of_max_min,
        duration_above_min: r.duration_above_min,
        max_hazard: r.max_hazard,
        wet_cells: f.depth.iter().filter(|d| **d > 1e-3).count(),
        gauges: f.gauges,
        ledger: f.ledger,
        steps: f.steps,
        adapter: f.adapter,
        probes: probes.map(ProbeRecorder::finish),
        frames: frames.map(FrameRecorder::finish).unwrap_or_default(),
    })
}

/// What a run leaves: statistics, ledger, final depth, the active mask, steps, gauge series
/// and the GPU adapter if one ran it.
pub(crate) struct Finished {
    pub stats: FloodStats,
    pub ledger: MassLedger,
    pub depth: Vec<f64>,
    pub active: Vec<bool>,
    pub steps: u64,
    pub gauges: Vec<GaugeRecord>,
    pub adapter: Option<String>,
}

/// Reads what a run leaves off either solver (one read-back each on the GPU).
pub(crate) fn finish<S: SurfaceSolver>(
    sim: &S,
    dem: &Raster,
    setup: &SurfaceSetup,
) -> Result<Finished, FloodError>
where
    FloodError: From<S::Error>,
{
    Ok(Finished {
        stats: sim.read_stats()?,
        ledger: sim.read_ledger()?,
        depth: sim.read_depth()?,
        active: sim.grid().active().to_vec(),
        steps: sim.step_count(),
        gauges: gauge_records(dem, sim.gauge_series(), &setup.gauges),
        adapter: sim.device_name().map(str::to_string),
    })
}

/// The result rasters of a run, on the DEM's grid, nodata on walls.
#[derive(Debug, Clone)]
pub struct FloodRasters {
    /// Maximum depth above the initial water, m.
    pub max_depth: Raster,
    /// Time of maximum depth, minutes.
    pub time_of_max_min: Raster,
    /// Time above the threshold, minutes.
    pub duration_above_min: Raster,
    /// Maximum depth × speed, m²/s.
    pub max_hazard: Raster,
}

/// Turns a run's statistics into rasters: depth counted above `initial` (lakes and river
/// start wet), times in minutes, nodata (never NaN) on inactive cells.
pub fn result_rasters(
    dem: &Raster,
    stats: &twin_surface::FloodStats,
    initial: Option<&[f64]>,
    active: &[bool],
) -> FloodRasters {
    let flood_depth: Vec<f64> = stats
        .max_depth
        .iter()
        .enumerate()
        .map(|(i, m)| (m - initial.and_then(|d| d.get(i).copied()).unwrap_or(0.0)).max(0.0))
        .collect();
    let to_raster = |v: &[f64], scale: f64| {
        let mut r = dem.clone();
        r.nodata = Some(NODATA);
        for (i, x) in v.iter().enumerate() {
            r.data[i] = if active.get(i).copied().unwrap_or(false) && x.is_finite() {
                (x * scale) as f32
            } else {
                NODATA
            };
        }
        r
    };
    FloodRasters {
        max_depth: to_raster(&flood_depth, 1.0),
        time_of_max_min: to_raster(&stats.time_of_max, 1.0 / 60.0),
        duration_above_min: to_raster(&stats.duration_above, 1.0 / 60.0),
        max_hazard: to_raster(&stats.max_hazard, 1.0),
    }
}

/// A surface solver on the DEM with a set-up: nodata, NaN and wall cells are walls; roughness,
/// initial water, edges and infiltration from the set-up; rain from the spec; the set-up's
/// gauges registered.
pub fn build<S: SurfaceSolver>(
    dem: &Raster,
    spec: &FloodSpec,
    setup: &SurfaceSetup,
) -> Result<S, FloodError>
where
    FloodError: From<S::Error>,
{
    let s = surface_inputs(dem, spec, setup)?;
    let mut sim = S::create(s.grid, s.params)?;
    sim.set_boundaries(s.boundaries)?;
    if let Some(d) = s.depth {
        sim.set_depth(d)?;
    }
    sim.set_rain(s.rain)?;
    if let Some((classes, class_of_cell)) = s.infiltration {
        sim.set_infiltration(classes, class_of_cell)?;
    }
    for i in gauge_cells(dem, sim.grid().active(), &setup.gauges)? {
        sim.add_gauge(Cell::new(i / dem.nx, i % dem.nx))?;
    }
    Ok(sim)
}

/// [`build`] on the CPU solver (the reference).
pub fn build_surface(
    dem: &Raster,
    spec: &FloodSpec,
    setup: &SurfaceSetup,
) -> Result<Simulation, FloodError> {
    build(dem, spec, setup)
}

/// [`build`] on the GPU solver.
pub fn build_gpu_surface(
    dem: &Raster,
    spec: &FloodSpec,
    setup: &SurfaceSetup,
) -> Result<GpuSimulation, FloodError> {
    build(dem, spec, setup)
}

/// What either solver is built from.
struct SurfaceInputs {
    grid: Grid,
    params: Params,
    boundaries: Boundaries,
    /// Initial depth, zero on walls.
    depth: Option<Vec<f64>>,
    rain: Rain,
    infiltration: Option<(Vec<Infiltration>, Vec<u16>)>,
}

fn surface_inputs(
    dem: &Raster,
    spec: &FloodSpec,
    setup: &SurfaceSetup,
) -> Result<SurfaceInputs, FloodError> {
    let mut bed: Vec<f64> = dem
        .data
        .iter()
        .map(|&v| if dem.is_nodata(v) { f64::NAN } else { v as f64 })
        .collect();
    for &w in &setup.walls {
        if w < bed.len() {
            bed[w] = f64::NAN;
        }
    }
    if bed.iter().all(|v| v.is_nan()) {
        return Err(FloodError::Spec("the DEM has no valid cell".into()));
    }
    let mut grid = Grid::new(dem.nx, dem.ny, dem.cell, bed, None, spec.manning)?;
    if let Some(n) = &setup.manning {
        grid.set_manning(n.clone())?;
    }
    let depth = setup.initial_depth.as_ref().map(|d| {
        d.iter()
            .zip(grid.active())
            .map(|(x, a)| if *a { *x } else { 0.0 })
            .collect()
    });
    let steps: Vec<(f64, RainField)> = match &spec.rain_map {
        None => spec
            .rain
            .iter()
            .map(|(m, i)| (m * 60.0, RainField::Uniform(*i)))
            .collect(),
        Some(map) => {
            if map.len() != dem.nx * dem.ny {
                return Err(FloodError::Spec(format!(
                    "the rain map has {} cells, the DEM {}",
                    map.len(),
                    dem.nx * dem.ny
                )));
            }
            spec.rain
                .iter()
                .map(|(m, i)| {
                    let f = if *i == 0.0 {
                        RainField::Uniform(0.0)
                    } else {
                        RainField::PerCell(map.iter().map(|v| v * i).collect())
                    };
                    (m * 60.0, f)
                })
                .collect()
        }
    };
    Ok(SurfaceInputs {
        grid,
        params: Params {
            flood_threshold: spec.threshold_m,
            ..Params::default()
        },
        boundaries: setup.boundaries.unwrap_or(Boundaries::all(spec.edges)),
        depth,
        rain: Rain::new(steps, dem.nx * dem.ny)?,
        infiltration: setup.infiltration.clone(),
    })
}

/// How buildings enter the surface model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BuildingMode {
    /// Cells whose centre lies in a footprint are walls.
    Blocked,
    /// Cells whose centre lies in a footprint get this Manning's n (building-resistance
    /// approach, for grids coarser than the gaps between buildings).
    Roughness(f64),
}

/// Manning's n by land use (Chow 1959, Table 5-6; values common in 2D urban flood models):
/// paved roads 0.015, open water 0.02, mixed urban ground 0.03, parks and grass 0.05.
pub const N_ROAD: f64 = 0.015;
/// Open water.
pub const N_WATER: f64 = 0.02;
/// Parks, grass.
pub const N_GREEN: f64 = 0.05;

/// Horton parameters of urban pervious ground, the values the SWMM export uses (SWMM 5
/// Reference Manual Vol. I, Table 4-4 and §4.2): f0 76.2 mm/h, fc 6.35 mm/h, k 4.14 /h.
pub const HORTON_PERVIOUS: (f64, f64, f64) = (76.2, 6.35, 4.14);

/// Infiltration classes of [`city_setup`]: class `k` (0..=10) is ground with `k` tenths of
/// [`HORTON_PERVIOUS`]'s capacity; class 0 is impervious (roads, roofs, water).
pub fn land_use_infiltration_classes() -> Vec<Infiltration> {
    let (f0, fc, k) = HORTON_PERVIOUS;
    (0..=10u32)
        .map(|tenths| {
            if tenths == 0 {
                Infiltration::None
            } else {
                let share = f64::from(tenths) / 10.0;
                Infiltration::Horton {
                    f0_mm_per_hour: f0 * share,
                    fc_mm_per_hour: fc * share,
                    decay_per_hour: k,
                }
            }
        })
        .collect()
}

fn cells_in_polygon(dem: &Raster, g: &geo::Geometry<f64>, mut f: impl FnMut(usize)) {
    use geo::{BoundingRect, Contains};
    let Some(b) = g.bounding_rect() else { return };
    let (Some((c0, r1)), Some((c1, r0))) = (
        dem.cell_at(
            b.min().x.max(dem.x0),
            b.min().y.max(dem.y0 - dem.ny as f64 * dem.cell + 1e-6),
        ),
        dem.cell_at(
            b.max().x.min(dem.x0 + dem.nx as f64 * dem.cell - 1e-6),
            b.max().y.min(dem.y0 - 1e-6),
        ),
    ) else {
        return;
    };
    for r in r0..=r1 {
        for c in c0..=c1 {
            let p = dem.cell_center(c, r);
            if g.contains(&geo::Point::new(p[0], p[1])) {
                f(r * dem.nx + c);
            }
        }
    }
}

fn cells_near_line(
    dem: &Raster,
    g: &geo::Geometry<f64>,
    half_width: f64,
    mut f: impl FnMut(usize),
) {
    use geo::{BoundingRect, Distance, Euclidean};
    let Some(b) = g.bounding_rect() else { return };
    let pad = half_width + dem.cell;
    let lo = dem.cell_at(
        (b.min().x - pad).max(dem.x0),
        (b.min().y - pad).max(dem.y0 - dem.ny as f64 * dem.cell + 1e-6),
    );
    let hi = dem.cell_at(
        (b.max().x + pad).min(dem.x0 + dem.nx as f64 * dem.cell - 1e-6),
        (b.max().y + pad).min(dem.y0 - 1e-6),
    );
    let (Some((c0, r1)), Some((c1, r0))) = (lo, hi) else {
        return;
    };
    let reach = half_width.max(0.5 * dem.cell);
    for r in r0..=r1 {
        for c in c0..=c1 {
            let p = dem.cell_center(c, r);
            if Euclidean.distance(&geo::Point::new(p[0], p[1]), g) <= reach {
                f(r * dem.nx + c);
            }
        }
    }
}

/// Surface set-up from the city's layers on its DEM: roughness by land use (roads, parks,
/// water), buildings blocked or rough, lakes filled to their `level_m` and the river to its
/// `stage_m`; the edge the river touches held at the river's stage, the others free outflow.
///
/// Infiltration by land use (classes of [`land_use_infiltration_classes`]): parks infiltrate at
/// the full Horton capacity; roads, roofs and water not at all; other ground (yards, plots,
/// the floodplain) at the pervious share `1 − imperv_pct/100` of the drainage subcatchment
/// that covers it (the same share the SWMM export gives the network), full capacity where no
/// subcatchment does.
pub fn city_setup(
    city: &twin_model::City,
    dem: &Raster,
    spec: &FloodSpec,
    buildings: BuildingMode,
) -> SurfaceSetup {
    use twin_model::Layer;
    let n = dem.nx * dem.ny;
    let mut manning = vec![spec.manning; n];
    let mut depth = vec![0.0; n];
    let mut infil = vec![10u16; n];
    let bed = |i: usize| dem.data[i] as f64;
    for f in city
        .layer(Layer::Utility)
        .features()
        .iter()
        .filter(|f| f.kind == "subcatchment")
    {
        if let Some(imperv) = f.num("imperv_pct").filter(|v| v.is_finite()) {
            let k = ((100.0 - imperv.clamp(0.0, 100.0)) / 10.0).round() as u16;
            cells_in_polygon(dem, &f.geometry, |i| infil[i] = k);
        }
    }
    for f in city
        .layer(Layer::Green)
        .features()
        .iter()
        .filter(|f| f.kind == "park")
    {
        cells_in_polygon(dem, &f.geometry, |i| {
            manning[i] = N_GREEN;
            infil[i] = 10;
        });
    }
    for f in city
        .layer(Layer::TrafficRoad)
        .features()
        .iter()
        .filter(|f| f.kind == "road")
    {
        let hw = 0.5 * f.num("width_m").unwrap_or(8.0);
        cells_near_line(dem, &f.geometry, hw, |i| {
            manning[i] = N_ROAD;
            infil[i] = 0;
        });
    }
    let mut walls = Vec::new();
    for f in city.layer(Layer::Building).features() {
        cells_in_polygon(dem, &f.geometry, |i| {
            infil[i] = 0;
            match buildings {
                BuildingMode::Blocked => walls.push(i),
                BuildingMode::Roughness(nb) => manning[i] = nb,
            }
        });
    }
    // Edges a river touches are held at its stage: [north, south, west, east].
    let mut edge_stage: [Option<f64>; 4] = [None; 4];
    for f in city.layer(Layer::Environment).features() {
        let (level, river) = match f.kind.as_str() {
            "water" => (f.num("level_m"), false),
            "river" => (f.num("stage_m"), true),
            _ => (None, false),
        };
        if let Some(level) = level {
            cells_in_polygon(dem, &f.geometry, |i| {
                manning[i] = N_WATER;
                infil[i] = 0;
                if !dem.is_nodata(dem.data[i]) {
                    depth[i] = (level - bed(i)).max(0.0);
                }
                if river {
                    let (r, c) = (i / dem.nx, i % dem.nx);
                    for (k, on) in [r == 0, r == dem.ny - 1, c == 0, c == dem.nx - 1]
                        .into_iter()
                        .enumerate()
                    {
                        if on {
                            edge_stage[k] = Some(level);
                        }
                    }
                }
            });
        }
    }
    walls.sort_unstable();
    walls.dedup();
    let mut b = Boundaries::all(spec.edges);
    let fixed =
        |s: Option<f64>, d: Boundary| s.map(|level| Boundary::FixedStage { level }).unwrap_or(d);
    b.north = fixed(edge_stage[0], b.north);
    b.south = fixed(edge_stage[1], b.south);
    b.west = fixed(edge_stage[2], b.west);
    b.east = fixed(edge_stage[3], b.east);
    SurfaceSetup {
        manning: Some(manning),
        walls,
        initial_depth: Some(depth),
        boundaries: Some(b),
        infiltration: Some((land_use_infiltration_classes(), infil)),
        gauges: city_gauges(city, dem),
        probes: None,
        frames_every_s: None,
    }
}

/// The city's water-level sensors on the surface (Environment layer, kind
/// `water_level_sensor`, on the DEM, not measuring a drainage node: no `drainage_node`), as
/// gauges.
pub fn city_gauges(city: &twin_model::City, dem: &Raster) -> Vec<Gauge> {
    use geo::Centroid;
    city.layer(twin_model::Layer::Environment)
        .features()
        .iter()
        .filter(|f| f.kind == "water_level_sensor" && f.text("drainage_node").is_none())
        .filter_map(|f| {
            let p = f.geometry.centroid()?;
            let (c, r) = dem.cell_at(p.x(), p.y())?;
            (!dem.is_nodata(dem.get(c, r))).then(|| Gauge {
                name: f
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("sensor {}", f.id.0)),
                x: p.x(),
                y: p.y(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rain_fills_a_closed_bowl_and_the_ledger_closes() {
        // A 40 × 40 bowl of 5 m cells with a nodata hole: 30 minutes of 60 mm/h on a closed
        // domain leaves 30 mm averaged over the valid area, all of it stored.
        let mut dem = Raster::filled(40, 40, 0.0, 200.0, 5.0, 0.0);
        for r in 0..40 {
            for c in 0..40 {
                let (x, y) = (c as f64 - 19.5, r as f64 - 19.5);
                dem.set(c, r, (0.002 * (x * x + y * y)) as f32);
            }
        }
        dem.nodata = Some(-1.0);
        dem.set(3, 3, -1.0);
        dem.set(4, 3, f32::NAN);
        let spec = FloodSpec {
            minutes: 30.0,
            rain: vec![(0.0, 60.0)],
            edges: Boundary::Closed,
            ..Default::default()
        };
        let mut calls = 0;
        let r = run(&dem, &spec, &mut |_| calls += 1).unwrap();
        assert_eq!(calls, 30);
        let valid = 40 * 40 - 2;
        let expect = valid as f64 * 25.0 * 0.030;
        assert!(
            (r.ledger.rain - expect).abs() < 1e-6 * expect,
            "{} vs {expect}",
            r.ledger.rain
        );
        assert!((r.ledger.storage - expect).abs() < 1e-6 * expect);
        assert!(r.ledger.relative_closure_error().abs() < 1e-9);
        assert_eq!(r.max_depth.get(3, 3), NODATA);
        assert_eq!(r.max_depth.get(4, 3), NODATA);
        assert!(r.max_depth.data.iter().all(|v| v.is_finite()));
        // Water gathers in the middle of the bowl.
        assert!(r.max_depth.get(20, 20) > r.max_depth.get(1, 20));
        let j = r.ledger_json();
        assert!(j["closure_error_percent"].as_f64().unwrap().abs() < 1e-7);
    }

    #[test]
    fn infiltration_follows_land_use_on_the_demo_city() {
        use twin_model::Layer;
        let city = twin_citygen::generate(&Default::default());
        let dem = city.dem.clone().expect("demo DEM");
        let spec = FloodSpec::default();
        let setup = city_setup(&city, &dem, &spec, BuildingMode::Roughness(0.1));
        let (classes, class_of) = setup.infiltration.clone().unwrap();
        assert_eq!(classes.len(), 11);
        assert_eq!(classes[0], Infiltration::None);
        // Full class: SWMM's urban pervious Horton curve; class 5 half of it.
        assert_eq!(
            classes[10],
            Infiltration::Horton {
                f0_mm_per_hour: 76.2,
                fc_mm_per_hour: 6.35,
                decay_per_hour: 4.14
            }
        );
        match classes[5] {
            Infiltration::Horton { f0_mm_per_hour, .. } => {
                assert!((f0_mm_per_hour - 38.1).abs() < 1e-9)
            }
            other => panic!("{other:?}"),
        }
        // Share of a layer's cells in each class.
        let share = |layer: Layer, kind: &str, class: u16| {
            let (mut n, mut hit) = (0usize, 0usize);
            for f in city
                .layer(layer)
                .features()
                .iter()
                .filter(|f| f.kind == kind)
            {
                cells_in_polygon(&dem, &f.geometry, |i| {
                    n += 1;
                    hit += usize::from(class_of[i] == class);
                });
            }
            hit as f64 / n.max(1) as f64
        };
        let parks = share(Layer::Green, "park", 10);
        // Roads and paths cross the parks; the rest infiltrates at full capacity.
        assert!(parks > 0.5, "parks infiltrate fully: {parks}");
        assert!(share(Layer::Green, "park", 0) > 1.0 - parks - 1e-9);
        let lakes = share(Layer::Environment, "water", 0);
        assert_eq!(lakes, 1.0, "lakes take rain, not infiltration");
        let roofs = share(Layer::Building, "building", 0);
        assert_eq!(roofs, 1.0, "roofs are impervious");
        // Roads impervious; most of the district is built up, so pervious ground is a minority.
        let pervious = class_of.iter().filter(|c| **c > 0).count();
        let share = pervious as f64 / class_of.len() as f64;
        assert!(share > 0.05 && share < 0.6, "{share}");
        // The run books the loss: 30 min of 50 mm/h on the city loses a few % to infiltration.
        let spec = FloodSpec {
            minutes: 30.0,
            ..Default::default()
        };
        let r = run_with(&dem, &spec, &setup, &mut |_| {}).unwrap();
        let frac = r.ledger.infiltration / r.ledger.rain;
        assert!(frac > 0.01 && frac < 0.3, "{frac}");
        assert!(r.ledger.relative_closure_error().abs() < 1e-9);
    }

    #[test]
    fn gauges_record_depth_every_minute_and_reject_points_off_the_grid() {
        // A flat closed 20 × 20 box of 5 m cells under 60 mm/h: the depth at a gauge grows by
        // 1 mm a minute, sampled from the start.
        let dem = Raster::filled(20, 20, 1000.0, 2000.0, 5.0, 3.0);
        let spec = FloodSpec {
            minutes: 10.0,
            rain: vec![(0.0, 60.0)],
            edges: Boundary::Closed,
            ..Default::default()
        };
        let g = Gauge {
            name: "giữa, centre".into(),
            x: 1050.0,
            y: 1950.0,
        };
        let setup = SurfaceSetup {
            gauges: vec![g.clone()],
            ..Default::default()
        };
        let r = run_with(&dem, &spec, &setup, &mut |_| {}).unwrap();
        assert_eq!(r.gauges.len(), 1);
        let rec = &r.gauges[0];
        assert_eq!(rec.ground_m, 3.0);
        assert_eq!(rec.times_s.len(), 11, "{:?}", rec.times_s);
        assert_eq!(rec.times_s[0], 0.0);
        for (t, d) in rec.times_s.iter().zip(&rec.depths_m) {
            assert!((d - t / 60.0 * 0.001).abs() < 1e-9, "{t} s: {d} m");
        }
        let csv = gauges_csv(&r.gauges);
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("time_s,gauge,x,y,depth_m,level_m"));
        assert_eq!(
            lines.next(),
            Some("0,\"giữa, centre\",1050.00,1950.00,0.0000,3.0000")
        );
        // Off the grid: an error naming the gauge.
        let setup = SurfaceSetup {
            gauges: vec![Gauge { x: 5000.0, ..g }],
            ..Default::default()
        };
        let e = run_with(&dem, &spec, &setup, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("giữa, centre"), "{e}");
    }

    /// A closed box of 20 × 20 cells of 5 m, its last cell a wall, under 60 mm/h for 12
    /// minutes of a 15-minute run.
    fn rain_box() -> (Raster, FloodSpec) {
        let mut dem = Raster::filled(20, 20, 1000.0, 2000.0, 5.0, 3.0);
        dem.nodata = Some(-9999.0);
        dem.set(19, 19, -9999.0);
        let spec = FloodSpec {
            minutes: 15.0,
            rain: vec![(0.0, 60.0), (12.0, 0.0)],
            edges: Boundary::Closed,
            ..Default::default()
        };
        (dem, spec)
    }

    #[test]
    fn probes_keep_each_intervals_deepest_water_above_the_initial() {
        // The same box, 12 minutes of rain at 60 mm/h then 3 dry: depth rises 1 mm a minute
        // to 12 mm and stays. The box starts under 5 mm of water, which the probes leave out.
        // Group 0: two cells; group 1: a wall cell (skipped: nothing to watch, 0 recorded).
        let (dem, spec) = rain_box();
        let setup = SurfaceSetup {
            initial_depth: Some(vec![0.005; 400]),
            probes: Some(Probes {
                groups: vec![vec![0, 21], vec![399]],
                every_s: 300.0,
            }),
            ..Default::default()
        };
        let r = run_with(&dem, &spec, &setup, &mut |_| {}).unwrap();
        let p = r.probes.unwrap();
        assert_eq!(p.ends_s, vec![300.0, 600.0, 900.0]);
        // Each interval's deepest water above the initial is the rain by its end.
        for (k, want) in [0.005, 0.010, 0.012].iter().enumerate() {
            let got = p.max_depth_m[k][0] as f64;
            assert!((got - want).abs() < 1e-6, "interval {k}: {got}");
            assert_eq!(p.max_depth_m[k][1], 0.0);
        }
        // An interval shorter than a minute is refused.
        let bad = SurfaceSetup {
            probes: Some(Probes {
                groups: vec![vec![0]],
                every_s: 30.0,
            }),
            ..Default::default()
        };
        let e = run_with(&dem, &spec, &bad, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("probe interval"), "{e}");
    }

    #[test]
    fn depth_frames_hold_each_times_water_above_the_initial() {
        // The box of the probes' test: 1 mm a minute for 12 minutes, then still; frames every
        // 5 minutes over 15 (a dry frame at 0), walls 0.
        let (dem, spec) = rain_box();
        let setup = SurfaceSetup {
            initial_depth: Some(vec![0.005; 400]),
            frames_every_s: Some(300.0),
            ..Default::default()
        };
        let r = run_with(&dem, &spec, &setup, &mut |_| {}).unwrap();
        let minutes: Vec<f64> = r.frames.iter().map(|f| f.minute).collect();
        assert_eq!(minutes, vec![0.0, 5.0, 10.0, 15.0]);
        for (f, want) in r.frames.iter().zip([0.0, 0.005, 0.010, 0.012]) {
            assert_eq!(f.depth_m.len(), 400);
            assert!(
                (f.depth_m[0] as f64 - want).abs() < 1e-6,
                "{}: {}",
                f.minute,
                f.depth_m[0]
            );
            assert_eq!(f.depth_m[399], 0.0, "wall");
        }
        // Without frames asked, none; a period that is not whole minutes is refused.
        let plain = run_with(&dem, &spec, &SurfaceSetup::default(), &mut |_| {}).unwrap();
        assert!(plain.frames.is_empty());
        let bad = SurfaceSetup {
            frames_every_s: Some(90.0),
            ..Default::default()
        };
        let e = run_with(&dem, &spec, &bad, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("whole number of minutes"), "{e}");
    }
}
