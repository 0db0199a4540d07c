//! The GPU simulation: device set-up, buffers, one step, read-backs.

use std::sync::mpsc;

use bytemuck::{Pod, Zeroable};
use twin_surface::{
    Boundaries, Boundary, Cell, Edge, FloodStats, GaugeId, GaugeSeries, Gauges, Grid, Infiltration,
    MassLedger, Params, PointId, Points, Rain, RainField, SurfaceError, SurfaceSolver,
};

use crate::error::GpuError;

/// The WGSL kernels (the repository's `shaders/local_inertial.wgsl`).
pub const SHADER: &str = include_str!("../../../shaders/local_inertial.wgsl");

/// Threads per workgroup, as in the shader.
const WG: u32 = 256;
/// Largest workgroup count along one dispatch dimension (WebGPU's default limit).
const MAX_DIM: u32 = 65_535;
/// Words of the reduction header: h_max bits, u_max bits, infiltration, pad, 4 edge inflows,
/// 4 edge outflows.
const RED_WORDS: u64 = 12;
const RED_BYTES: u64 = RED_WORDS * 4;
/// Seconds per hour, for mm/h → m/s.
const S_PER_H: f64 = 3600.0;

/// Uniform parameters of one step; layout mirrors `struct Params` in the shader.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct StepParams {
    nx: u32,
    ny: u32,
    nqx: u32,
    n: u32,
    dt: f32,
    dt_dx: f32,
    g: f32,
    theta: f32,
    u_cap: f32,
    u_cap_sqrt_h: f32,
    dry: f32,
    t_end: f32,
    rain_dt: f32,
    rain_per_cell: u32,
    threshold: f32,
    nclass: u32,
    nwg_cells: u32,
    g_dt_dx: f32,
    g_dt: f32,
    pad: u32,
    edge_kind: [u32; 4],
    edge_val: [f32; 4],
}

/// Static data of a cell; layout mirrors `struct Cell` in the shader.
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct GpuCell {
    z: f32,
    n: f32,
    active: u32,
    class: u32,
}

struct Pipelines {
    momentum_x: wgpu::ComputePipeline,
    momentum_y: wgpu::ComputePipeline,
    limiter: wgpu::ComputePipeline,
    continuity: wgpu::ComputePipeline,
    finish: wgpu::ComputePipeline,
    edges: wgpu::ComputePipeline,
    sum_depth: wgpu::ComputePipeline,
}

struct Buffers {
    params: wgpu::Buffer,
    cells: wgpu::Buffer,
    h: wgpu::Buffer,
    q: wgpu::Buffer,
    qn: wgpu::Buffer,
    lim: wgpu::Buffer,
    stats: wgpu::Buffer,
    red: wgpu::Buffer,
    aux: wgpu::Buffer,
    staging: wgpu::Buffer,
}

/// The local-inertial surface solver of [`twin_surface::Simulation`] on a GPU (see the crate
/// documentation for what it shares with the CPU solver and what it lacks).
pub struct GpuSimulation {
    grid: Grid,
    params: Params,
    bounds: Boundaries,
    rain: Rain,
    infil_classes: Vec<Infiltration>,
    infil_class: Vec<u16>,
    /// Infiltration rates last uploaded (m/s, f32), to skip unchanged uploads.
    uploaded_rates: Vec<f32>,
    /// Rain step whose per-cell field is in `aux`, if any.
    uploaded_rain: Option<usize>,
    /// Σ over active cells of the per-cell rain in `aux` (m/s, of the f32 values).
    rain_cell_sum: f64,
    /// Bed elevation subtracted before going to f32 (the lowest active bed), m.
    z_ref: f64,
    n_active: usize,
    adapter: String,
    device: wgpu::Device,
    queue: wgpu::Queue,
    layout: wgpu::BindGroupLayout,
    pipes: Pipelines,
    buf: Buffers,
    bind: wgpu::BindGroup,
    /// Workgroups of the per-cell dispatches, and its 2D shape.
    wg_cells: u32,
    t: f64,
    h_max: f64,
    u_max: f64,
    steps: u64,
    last_dt: f64,
    /// Ledger fluxes accumulated in f64 (storage filled in on demand).
    ledger: MassLedger,
    threshold: f64,
    /// Point exchanges (1D–2D coupling), applied on the host in id order at each step.
    points: Points,
    /// Gauge cells and their series (sampled every `params.gauge_interval`).
    gauges: Gauges,
    next_sample: f64,
}

impl std::fmt::Debug for GpuSimulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuSimulation")
            .field("adapter", &self.adapter)
            .field("nx", &self.grid.nx())
            .field("ny", &self.grid.ny())
            .field("t", &self.t)
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}

/// Workgroup grid for `count` threads: (x, y) with x ≤ 65 535.
fn dims(count: u64) -> (u32, u32) {
    let wgs = count.div_ceil(WG as u64).max(1);
    let x = wgs.min(MAX_DIM as u64) as u32;
    let y = wgs.div_ceil(x as u64) as u32;
    (x, y)
}

fn edge_code(b: Boundary, z_ref: f64) -> (u32, f32) {
    match b {
        Boundary::Closed => (0, 0.0),
        Boundary::Inflow { discharge } => (1, discharge as f32),
        Boundary::Open { slope: None } => (2, 0.0),
        Boundary::Open { slope: Some(s) } => (3, s as f32),
        Boundary::FixedStage { level } => (4, (level - z_ref) as f32),
    }
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl GpuSimulation {
    /// A dry simulation at time 0 with closed edges, no rain and no infiltration, on the
    /// default wgpu adapter (lavapipe on a machine without a GPU). Fails with
    /// [`GpuError::NoAdapter`] when there is none and [`GpuError::Unsupported`] for
    /// [`Params::advection`].
    pub fn new(grid: Grid, params: Params) -> Result<Self, GpuError> {
        params.validate()?;
        if params.advection {
            return Err(GpuError::Unsupported(
                "momentum advection (Params::advection)",
            ));
        }
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter =
            pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
                .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let name = adapter.get_info().name;
        let limits = adapter.limits();
        let (nx, ny, n) = (grid.nx(), grid.ny(), grid.len());
        let nq = ((nx + 1) * ny + nx * (ny + 1)) as u64;
        let biggest = (n as u64 * 16).max(nq * 4);
        let max = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        if biggest > max || nq > u32::MAX as u64 / 2 {
            return Err(GpuError::TooLarge {
                adapter: name,
                bytes: biggest,
                max,
            });
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("twin-surface-gpu"),
            required_limits: limits,
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device {
            adapter: name.clone(),
            reason: e.to_string(),
        })?;

        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("local_inertial.wgsl"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let mut entries = vec![wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        }];
        for b in 1..=8 {
            entries.push(storage_entry(b, b == 1 || b == 8));
        }
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("surface"),
            entries: &entries,
        });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("surface"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipe = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pl),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let pipes = Pipelines {
            momentum_x: pipe("momentum_x"),
            momentum_y: pipe("momentum_y"),
            limiter: pipe("limiter"),
            continuity: pipe("continuity"),
            finish: pipe("finish"),
            edges: pipe("edges"),
            sum_depth: pipe("sum_depth"),
        };

        let (gx, gy) = dims(n as u64);
        let wg_cells = (n as u64).div_ceil(WG as u64) as u32;
        let storage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC;
        let mk = |label: &str, bytes: u64, usage: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes.max(16),
                usage,
                mapped_at_creation: false,
            })
        };
        let buf = Buffers {
            params: mk(
                "params",
                std::mem::size_of::<StepParams>() as u64,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            ),
            cells: mk("cells", n as u64 * 16, storage),
            h: mk("h", n as u64 * 4, storage),
            q: mk("q", nq * 4, storage),
            qn: mk("qn", nq * 4, storage),
            lim: mk("lim", n as u64 * 4, storage),
            stats: mk("stats", n as u64 * 16, storage),
            red: mk("red", (RED_WORDS + gx as u64 * gy as u64) * 4, storage),
            aux: mk("aux", 4, storage),
            staging: mk(
                "staging",
                RED_BYTES,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
        };
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Device {
                adapter: name,
                reason: e.to_string(),
            });
        }
        let bind = Self::make_bind(&device, &layout, &buf);
        let z_ref = grid
            .bed()
            .iter()
            .zip(grid.active())
            .filter(|(_, a)| **a)
            .map(|(z, _)| *z)
            .fold(f64::INFINITY, f64::min);
        let z_ref = if z_ref.is_finite() { z_ref } else { 0.0 };
        let n_active = grid.active().iter().filter(|a| **a).count();
        let mut sim = Self {
            threshold: params.flood_threshold,
            params,
            bounds: Boundaries::default(),
            rain: Rain::none(),
            infil_classes: vec![Infiltration::None],
            infil_class: vec![0; n],
            uploaded_rates: Vec::new(),
            uploaded_rain: None,
            rain_cell_sum: 0.0,
            z_ref,
            n_active,
            adapter: name,
            device,
            queue,
            layout,
            pipes,
            buf,
            bind,
            wg_cells,
            t: 0.0,
            h_max: 0.0,
            u_max: 0.0,
            steps: 0,
            last_dt: 0.0,
            ledger: MassLedger::default(),
            points: Points::default(),
            gauges: Gauges::default(),
            next_sample: params.gauge_interval,
            grid,
        };
        sim.upload_cells();
        sim.resize_aux(false);
        sim.reopen_with(&vec![0.0; n])?;
        Ok(sim)
    }

    fn make_bind(
        device: &wgpu::Device,
        layout: &wgpu::BindGroupLayout,
        b: &Buffers,
    ) -> wgpu::BindGroup {
        let list = [
            &b.params, &b.cells, &b.h, &b.q, &b.qn, &b.lim, &b.stats, &b.red, &b.aux,
        ];
        let entries: Vec<wgpu::BindGroupEntry> = list
            .iter()
            .enumerate()
            .map(|(i, buf)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: buf.as_entire_binding(),
            })
            .collect();
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("surface"),
            layout,
            entries: &entries,
        })
    }

    fn upload_cells(&self) {
        let g = &self.grid;
        let cells: Vec<GpuCell> = (0..g.len())
            .map(|i| GpuCell {
                z: (g.bed()[i] - self.z_ref) as f32,
                n: g.manning()[i] as f32,
                active: g.active()[i] as u32,
                class: self.infil_class[i] as u32,
            })
            .collect();
        self.queue
            .write_buffer(&self.buf.cells, 0, bytemuck::cast_slice(&cells));
    }

    /// Re-creates the auxiliary buffer (infiltration rates, then per-cell rain if needed).
    fn resize_aux(&mut self, per_cell_rain: bool) {
        let words = self.infil_classes.len() + if per_cell_rain { self.grid.len() } else { 0 };
        self.buf.aux = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("aux"),
            size: (words as u64 * 4).max(16),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.bind = Self::make_bind(&self.device, &self.layout, &self.buf);
        self.uploaded_rates.clear();
        self.uploaded_rain = None;
    }

    fn aux_has_rain(&self) -> bool {
        self.buf.aux.size() >= ((self.infil_classes.len() + self.grid.len()) * 4) as u64
    }

    /// Name of the adapter the kernels run on (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)").
    pub fn adapter_name(&self) -> &str {
        &self.adapter
    }

    /// Sets the conditions on the four edges (may be changed between steps).
    pub fn set_boundaries(&mut self, b: Boundaries) -> Result<(), GpuError> {
        b.validate()?;
        self.bounds = b;
        Ok(())
    }

    /// Sets the rain series (times in seconds of simulation time); per-cell fields must have
    /// one value per cell.
    pub fn set_rain(&mut self, rain: Rain) -> Result<(), GpuError> {
        rain.check_cells(self.grid.len())?;
        let per_cell = rain
            .steps()
            .iter()
            .any(|(_, f)| matches!(f, RainField::PerCell(_)));
        self.rain = rain;
        if per_cell != self.aux_has_rain() {
            self.resize_aux(per_cell);
        }
        self.uploaded_rain = None;
        Ok(())
    }

    /// Sets the infiltration classes and the class of each cell (row-major), as
    /// [`twin_surface::Simulation::set_infiltration`].
    pub fn set_infiltration(
        &mut self,
        classes: Vec<Infiltration>,
        class_of_cell: Vec<u16>,
    ) -> Result<(), GpuError> {
        Infiltration::check_classes(&classes, &class_of_cell, self.grid.len())?;
        let per_cell = self.aux_has_rain();
        self.infil_classes = classes;
        self.infil_class = class_of_cell;
        self.upload_cells();
        self.resize_aux(per_cell);
        Ok(())
    }

    /// Replaces the water depth (m, row-major) and reopens the mass ledger and statistics.
    /// Depths on wall cells must be zero. Face discharges are kept.
    pub fn set_depth(&mut self, depth: Vec<f64>) -> Result<(), GpuError> {
        self.grid.check_depth(&depth)?;
        self.reopen_with(&depth)
    }

    /// Fills every active cell whose bed lies below `level` up to that water level.
    pub fn set_water_level(&mut self, level: f64) -> Result<(), GpuError> {
        self.set_depth(self.grid.depth_to_level(level))
    }

    /// Adds a point exchange at an active `cell` (a manhole or inlet), initially at rate 0, as
    /// [`twin_surface::Simulation::add_point`].
    pub fn add_point(&mut self, cell: Cell) -> Result<PointId, GpuError> {
        Ok(self.points.add(&self.grid, cell)?)
    }

    /// Sets the exchange rate at a point, m³/s: positive adds water to the surface, negative
    /// removes it (limited to the water on the cell), as
    /// [`twin_surface::Simulation::set_point_rate`].
    pub fn set_point_rate(&mut self, id: PointId, rate: f64) -> Result<(), GpuError> {
        Ok(self.points.set_rate(id, rate)?)
    }

    /// Net volumes (m³, positive onto the surface) actually exchanged at each point since the
    /// last call, in [`PointId`] order; resets the counters. They are the changes of the
    /// stored (f32) depths times the cell area, so the ledger and the 1D side book the same
    /// water the grid holds.
    pub fn take_point_volumes(&mut self) -> Vec<f64> {
        self.points.take_volumes()
    }

    /// Adds a gauge recording the depth at `cell` every `gauge_interval` seconds, as
    /// [`twin_surface::Simulation::add_gauge`]. Add gauges before the first step.
    pub fn add_gauge(&mut self, cell: Cell) -> Result<GaugeId, GpuError> {
        Ok(self.gauges.add(&self.grid, cell)?)
    }

    /// Gauge time series.
    pub fn gauge_series(&self) -> &GaugeSeries {
        self.gauges.series()
    }

    /// Water depth at one cell, m (read back from the GPU).
    pub fn depth_at(&self, cell: Cell) -> Result<f64, GpuError> {
        Ok(self.depths_at(&[cell])?[0])
    }

    /// Water depths at several cells, m, in one read-back.
    pub fn depths_at(&self, cells: &[Cell]) -> Result<Vec<f64>, GpuError> {
        let idx = cells
            .iter()
            .map(|c| self.grid.index(*c))
            .collect::<Result<Vec<usize>, SurfaceError>>()?;
        self.read_cells(&idx)
    }

    /// The depths of the given cells (indices), gathered by one copy each into one read-back.
    fn read_cells(&self, cells: &[usize]) -> Result<Vec<f64>, GpuError> {
        if cells.is_empty() {
            return Ok(Vec::new());
        }
        let words = self.read_back(cells.len() as u64 * 4, |enc, staging| {
            for (k, &c) in cells.iter().enumerate() {
                enc.copy_buffer_to_buffer(&self.buf.h, c as u64 * 4, staging, k as u64 * 4, 4);
            }
        })?;
        Ok(words
            .into_iter()
            .map(|w| f32::from_bits(w) as f64)
            .collect())
    }

    /// Records copies into a fresh `bytes`-long staging buffer with `fill`, submits them and
    /// returns the buffer's words.
    fn read_back(
        &self,
        bytes: u64,
        fill: impl FnOnce(&mut wgpu::CommandEncoder, &wgpu::Buffer),
    ) -> Result<Vec<u32>, GpuError> {
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read-back"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        fill(&mut enc, &staging);
        self.queue.submit([enc.finish()]);
        map_read(&self.device, &staging, bytes)
    }

    /// Applies the point exchanges over `dt` in id order, as the CPU solver's first pass:
    /// inflow is added to the cell, outflow takes at most the water on it. Reads the point
    /// cells' depths, updates them on the host and writes them back.
    fn apply_points(&mut self, dt: f64) -> Result<(), GpuError> {
        if self.points.as_slice().iter().all(|p| p.rate == 0.0) {
            return Ok(());
        }
        let area = self.grid.cell_area();
        let cells: Vec<usize> = self.points.as_slice().iter().map(|p| p.cell).collect();
        let read = self.read_cells(&cells)?;
        // depth of each touched cell as stored (f32), in first-touch order
        let mut now: Vec<(usize, f32)> = Vec::new();
        for (k, pt) in self.points.as_mut_slice().iter_mut().enumerate() {
            let slot = match now.iter().position(|(c, _)| *c == pt.cell) {
                Some(j) => j,
                None => {
                    now.push((pt.cell, read[k] as f32));
                    now.len() - 1
                }
            };
            let h0 = now[slot].1;
            let h1 = if pt.rate >= 0.0 {
                (h0 as f64 + pt.rate * dt / area) as f32
            } else {
                let v = (-pt.rate * dt).min(h0 as f64 * area);
                ((h0 as f64 - v / area).max(0.0)) as f32
            };
            let moved = (h1 as f64 - h0 as f64) * area;
            if moved >= 0.0 {
                self.ledger.point_in += moved;
            } else {
                self.ledger.point_out -= moved;
            }
            pt.volume += moved;
            self.h_max = self.h_max.max(h1 as f64);
            now[slot].1 = h1;
        }
        for (c, h) in now {
            self.queue
                .write_buffer(&self.buf.h, c as u64 * 4, bytemuck::bytes_of(&h));
        }
        Ok(())
    }

    fn sample_gauges(&mut self) -> Result<(), GpuError> {
        let d = self.read_cells(self.gauges.cells())?;
        self.gauges.record(self.t, d);
        Ok(())
    }

    /// Restarts the ledger and the statistics from the current state and time.
    pub fn reopen(&mut self) -> Result<(), GpuError> {
        let h = self.depth()?;
        self.reopen_with(&h)
    }

    fn reopen_with(&mut self, depth: &[f64]) -> Result<(), GpuError> {
        let h32: Vec<f32> = depth.iter().map(|&d| d as f32).collect();
        self.queue
            .write_buffer(&self.buf.h, 0, bytemuck::cast_slice(&h32));
        let stats: Vec<[f32; 4]> = h32.iter().map(|&d| [d, self.t as f32, 0.0, 0.0]).collect();
        self.queue
            .write_buffer(&self.buf.stats, 0, bytemuck::cast_slice(&stats));
        let storage = sum_rows(&h32, self.grid.nx()) * self.grid.cell_area();
        self.h_max = h32.iter().fold(0.0f32, |m, &d| m.max(d)) as f64;
        self.ledger = MassLedger {
            initial_storage: storage,
            storage,
            ..Default::default()
        };
        Ok(())
    }

    /// The grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }
    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }
    /// Simulation time, s.
    pub fn time(&self) -> f64 {
        self.t
    }
    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }
    /// The last time step, s.
    pub fn last_dt(&self) -> f64 {
        self.last_dt
    }

    /// The time step the CFL condition allows now, before event limits (as the CPU solver).
    pub fn cfl_dt(&self) -> f64 {
        let c = (self.params.gravity * self.h_max).sqrt() + self.u_max;
        if c > 0.0 {
            (self.params.cfl * self.grid.dx() / c).min(self.params.max_dt)
        } else {
            self.params.max_dt
        }
    }

    /// Advances to exactly `t_end` (s), taking as many adaptive steps as needed.
    pub fn run_until(&mut self, t_end: f64) -> Result<(), GpuError> {
        while self.t < t_end {
            if self.step_limited(t_end)? <= 0.0 {
                break;
            }
        }
        Ok(())
    }

    fn rain_step_at(&self, t: f64) -> Option<usize> {
        let k = self.rain.steps().partition_point(|(s, _)| *s <= t);
        k.checked_sub(1)
    }

    /// Takes one adaptive step, ending no later than `t_limit`; returns the step length.
    pub fn step_limited(&mut self, t_limit: f64) -> Result<f64, GpuError> {
        if !self.gauges.is_empty() && self.gauges.unsampled() {
            self.sample_gauges()?;
        }
        let mut t_next = self.t + self.cfl_dt();
        let mut snap = None;
        let k = self.rain.steps().partition_point(|(s, _)| *s <= self.t);
        let rain_change = self.rain.steps().get(k).map(|(s, _)| *s);
        let gauge_event = (!self.gauges.is_empty()).then_some(self.next_sample);
        for ev in [Some(t_limit), rain_change, gauge_event]
            .into_iter()
            .flatten()
        {
            if ev > self.t && ev <= t_next {
                t_next = ev;
                snap = Some(ev);
            }
        }
        let dt = t_next - self.t;
        if dt <= 0.0 {
            return Ok(0.0);
        }
        self.apply_points(dt)?;
        self.advance(dt)?;
        self.t = snap.unwrap_or(t_next);
        self.steps += 1;
        self.last_dt = dt;
        if !self.gauges.is_empty() && self.t >= self.next_sample {
            self.sample_gauges()?;
            self.next_sample += self.params.gauge_interval;
        }
        Ok(dt)
    }

    fn advance(&mut self, dt: f64) -> Result<(), GpuError> {
        let p = self.params;
        let (nx, ny, n) = (self.grid.nx(), self.grid.ny(), self.grid.len());
        let dx = self.grid.dx();
        let area = self.grid.cell_area();
        // forcing in force at the start of the step
        let (rain_dt, per_cell) = match self.rain_step_at(self.t) {
            None => (0.0f32, false),
            Some(k) => match &self.rain.steps()[k].1 {
                RainField::Uniform(r) => ((r / 1000.0 / S_PER_H * dt) as f32, false),
                RainField::PerCell(v) => {
                    if self.uploaded_rain != Some(k) {
                        let off = self.infil_classes.len() as u64 * 4;
                        let vals: Vec<f32> =
                            v.iter().map(|r| (r / 1000.0 / S_PER_H) as f32).collect();
                        self.rain_cell_sum = vals
                            .iter()
                            .zip(self.grid.active())
                            .filter(|(_, a)| **a)
                            .map(|(r, _)| *r as f64)
                            .sum();
                        self.queue
                            .write_buffer(&self.buf.aux, off, bytemuck::cast_slice(&vals));
                        self.uploaded_rain = Some(k);
                    }
                    (0.0, true)
                }
            },
        };
        let rates: Vec<f32> = self
            .infil_classes
            .iter()
            .map(|c| c.rate_m_per_s(self.t) as f32)
            .collect();
        if rates != self.uploaded_rates {
            self.queue
                .write_buffer(&self.buf.aux, 0, bytemuck::cast_slice(&rates));
            self.uploaded_rates = rates;
        }
        let dt32 = dt as f32;
        let dt_dx = (dt / dx) as f32;
        let mut edge_kind = [0u32; 4];
        let mut edge_val = [0f32; 4];
        for e in Edge::ALL {
            let (k, v) = edge_code(self.bounds.get(e), self.z_ref);
            edge_kind[e as usize] = k;
            edge_val[e as usize] = v;
        }
        let sp = StepParams {
            nx: nx as u32,
            ny: ny as u32,
            nqx: ((nx + 1) * ny) as u32,
            n: n as u32,
            dt: dt32,
            dt_dx,
            g: p.gravity as f32,
            theta: p.theta as f32,
            u_cap: (p.speed_cap * (p.gravity * self.h_max).sqrt()) as f32,
            u_cap_sqrt_h: (p.speed_cap * p.gravity.sqrt()) as f32,
            dry: p.dry_depth as f32,
            t_end: (self.t + dt) as f32,
            rain_dt,
            rain_per_cell: per_cell as u32,
            threshold: self.threshold as f32,
            nclass: self.infil_classes.len() as u32,
            nwg_cells: self.wg_cells,
            g_dt_dx: (p.gravity * dt / dx) as f32,
            g_dt: (p.gravity * dt) as f32,
            pad: 0,
            edge_kind,
            edge_val,
        };
        self.queue
            .write_buffer(&self.buf.params, 0, bytemuck::bytes_of(&sp));
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        enc.clear_buffer(&self.buf.red, 0, Some(RED_BYTES));
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("step"),
                timestamp_writes: None,
            });
            pass.set_bind_group(0, &self.bind, &[]);
            let nqx = ((nx + 1) * ny) as u64;
            let nqy = (nx * (ny + 1)) as u64;
            for (pipe, count) in [
                (&self.pipes.momentum_x, nqx),
                (&self.pipes.momentum_y, nqy),
                (&self.pipes.limiter, n as u64),
                (&self.pipes.continuity, n as u64),
            ] {
                let (x, y) = dims(count);
                pass.set_pipeline(pipe);
                pass.dispatch_workgroups(x, y, 1);
            }
            pass.set_pipeline(&self.pipes.finish);
            pass.dispatch_workgroups(1, 1, 1);
            pass.set_pipeline(&self.pipes.edges);
            pass.dispatch_workgroups(4, 1, 1);
        }
        enc.copy_buffer_to_buffer(&self.buf.red, 0, &self.buf.staging, 0, RED_BYTES);
        self.queue.submit([enc.finish()]);
        let w = map_read(&self.device, &self.buf.staging, RED_BYTES)?;
        let f = |k: usize| f32::from_bits(w[k]) as f64;
        self.h_max = f(0);
        self.u_max = f(1);
        let l = &mut self.ledger;
        l.infiltration += f(2) * area;
        l.rain += if per_cell {
            self.rain_cell_sum * dt32 as f64 * area
        } else {
            rain_dt as f64 * self.n_active as f64 * area
        };
        // the volume a face moves is q Δt/Δx × Δx², with the Δt/Δx the kernel used
        let vol = dt_dx as f64 * area;
        for e in 0..4 {
            l.boundary_in[e] += f(4 + e) * vol;
            l.boundary_out[e] += f(8 + e) * vol;
        }
        Ok(())
    }

    /// Copies `count` 32-bit words of `src` from `offset` (bytes) into host memory.
    fn read_words(
        &self,
        src: &wgpu::Buffer,
        offset: u64,
        count: u64,
    ) -> Result<Vec<u32>, GpuError> {
        let bytes = (count * 4).max(4);
        let mut w = self.read_back(bytes, |enc, staging| {
            enc.copy_buffer_to_buffer(src, offset, staging, 0, bytes)
        })?;
        w.truncate(count as usize);
        Ok(w)
    }

    fn read_f32(&self, src: &wgpu::Buffer, offset: u64, count: u64) -> Result<Vec<f32>, GpuError> {
        Ok(self
            .read_words(src, offset, count)?
            .into_iter()
            .map(f32::from_bits)
            .collect())
    }

    /// Water depth per cell, m, row-major (read back from the GPU).
    pub fn depth(&self) -> Result<Vec<f64>, GpuError> {
        Ok(self
            .read_f32(&self.buf.h, 0, self.grid.len() as u64)?
            .into_iter()
            .map(f64::from)
            .collect())
    }

    /// Face discharges (m²/s) read back from the GPU: the x-faces and the y-faces, laid out as
    /// in [`twin_surface::Simulation::set_face_flows`].
    pub fn face_flows(&self) -> Result<(Vec<f64>, Vec<f64>), GpuError> {
        let (nx, ny) = (self.grid.nx(), self.grid.ny());
        let nqx = (nx + 1) * ny;
        let all = self.read_f32(&self.buf.q, 0, (nqx + nx * (ny + 1)) as u64)?;
        let to64 = |s: &[f32]| s.iter().map(|&v| v as f64).collect::<Vec<f64>>();
        Ok((to64(&all[..nqx]), to64(&all[nqx..])))
    }

    /// Water on the surface now, m³: the depths summed per workgroup on the GPU, the partial
    /// sums added in f64 on the host.
    pub fn storage(&self) -> Result<f64, GpuError> {
        let n = self.grid.len() as u64;
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("storage"),
                timestamp_writes: None,
            });
            pass.set_bind_group(0, &self.bind, &[]);
            pass.set_pipeline(&self.pipes.sum_depth);
            let (x, y) = dims(n);
            pass.dispatch_workgroups(x, y, 1);
        }
        self.queue.submit([enc.finish()]);
        let parts = self.read_f32(&self.buf.red, RED_BYTES, self.wg_cells as u64)?;
        Ok(parts.iter().map(|&v| v as f64).sum::<f64>() * self.grid.cell_area())
    }

    /// The mass ledger since the last reopen; storage is measured on the GPU now. Fluxes are
    /// the per-step GPU reductions, accumulated in f64.
    pub fn ledger(&self) -> Result<MassLedger, GpuError> {
        Ok(MassLedger {
            storage: self.storage()?,
            ..self.ledger.clone()
        })
    }

    /// Per-cell flood statistics since the last reopen (read back from the GPU).
    pub fn stats(&self) -> Result<FloodStats, GpuError> {
        let n = self.grid.len();
        let s = self.read_f32(&self.buf.stats, 0, n as u64 * 4)?;
        let col = |k: usize| (0..n).map(|i| s[4 * i + k] as f64).collect::<Vec<f64>>();
        Ok(FloodStats {
            threshold: self.threshold,
            max_depth: col(0),
            time_of_max: col(1),
            duration_above: col(2),
            max_hazard: col(3),
        })
    }
}

/// Sum of `v` row by row, in f64.
fn sum_rows(v: &[f32], nx: usize) -> f64 {
    v.chunks(nx.max(1))
        .map(|r| r.iter().map(|&x| x as f64).sum::<f64>())
        .sum()
}

/// Maps `buf` for reading after the last submission, waits, and returns its first `bytes`
/// bytes as words.
fn map_read(device: &wgpu::Device, buf: &wgpu::Buffer, bytes: u64) -> Result<Vec<u32>, GpuError> {
    let (tx, rx) = mpsc::channel();
    buf.map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
        let _ = tx.send(r);
    });
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| GpuError::Readback(format!("{e:?}")))?;
    match rx.try_recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(GpuError::Readback(e.to_string())),
        Err(_) => return Err(GpuError::Readback("the map callback did not run".into())),
    }
    let words = {
        let view = buf.get_mapped_range(0..bytes);
        bytemuck::cast_slice::<u8, u32>(&view).to_vec()
    };
    buf.unmap();
    Ok(words)
}

impl SurfaceSolver for GpuSimulation {
    type Error = GpuError;

    fn create(grid: Grid, params: Params) -> Result<Self, GpuError> {
        GpuSimulation::new(grid, params)
    }
    fn grid(&self) -> &Grid {
        GpuSimulation::grid(self)
    }
    fn set_boundaries(&mut self, b: Boundaries) -> Result<(), GpuError> {
        GpuSimulation::set_boundaries(self, b)
    }
    fn set_rain(&mut self, rain: Rain) -> Result<(), GpuError> {
        GpuSimulation::set_rain(self, rain)
    }
    fn set_infiltration(
        &mut self,
        classes: Vec<Infiltration>,
        class_of_cell: Vec<u16>,
    ) -> Result<(), GpuError> {
        GpuSimulation::set_infiltration(self, classes, class_of_cell)
    }
    fn set_depth(&mut self, depth: Vec<f64>) -> Result<(), GpuError> {
        GpuSimulation::set_depth(self, depth)
    }
    fn add_point(&mut self, cell: Cell) -> Result<PointId, GpuError> {
        GpuSimulation::add_point(self, cell)
    }
    fn set_point_rate(&mut self, id: PointId, rate: f64) -> Result<(), GpuError> {
        GpuSimulation::set_point_rate(self, id, rate)
    }
    fn take_point_volumes(&mut self) -> Vec<f64> {
        GpuSimulation::take_point_volumes(self)
    }
    fn add_gauge(&mut self, cell: Cell) -> Result<GaugeId, GpuError> {
        GpuSimulation::add_gauge(self, cell)
    }
    fn gauge_series(&self) -> &GaugeSeries {
        GpuSimulation::gauge_series(self)
    }
    fn advance_to(&mut self, t_end: f64) -> Result<(), GpuError> {
        self.run_until(t_end)
    }
    fn read_depths_at(&self, cells: &[Cell]) -> Result<Vec<f64>, GpuError> {
        self.depths_at(cells)
    }
    fn read_depth(&self) -> Result<Vec<f64>, GpuError> {
        self.depth()
    }
    fn read_stats(&self) -> Result<FloodStats, GpuError> {
        self.stats()
    }
    fn read_ledger(&self) -> Result<MassLedger, GpuError> {
        self.ledger()
    }
    fn step_count(&self) -> u64 {
        self.steps()
    }
    fn device_name(&self) -> Option<&str> {
        Some(self.adapter_name())
    }
}
