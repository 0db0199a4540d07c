//! The local-inertial solver: state, one time step, and the run loop.
//!
//! # Scheme
//! Continuity and the local-inertial momentum equation (the shallow-water equations without
//! the advective term) on a staggered grid: depth `h` at cell centres, unit-width discharge
//! `qx`, `qy` (m²/s) on the faces. For a face with water levels η = z + h on either side,
//! the flow depth is h_f = max(η_L, η_R) − max(z_L, z_R) and (Bates, Horritt & Fewtrell 2010,
//! eq. 11, with the θ-weighting of de Almeida, Bates, Freer & Souvignet 2012, eq. 14):
//!
//! ```text
//! q^{n+1} (1 + g Δt n² |q^{n+1}| / h_f^{7/3})
//!         = θ q + (1−θ)/2 (q_{−1} + q_{+1}) − g h_f Δt (η_R − η_L)/Δx
//! h^{n+1} = h + Δt/Δx (q_W − q_E + q_N − q_S) + (r − f) Δt
//! ```
//!
//! The friction term is taken at the new discharge and the quadratic solved in closed form
//! (`implicit_friction` in [`crate::kernel`]); Bates et al. take |q| at the old one, which
//! makes thin rain-fed sheets on slopes oscillate from step to step (see there).
//!
//! The face depth is Bates et al.'s: on a slope it is the upstream cell's depth, first order
//! (a rain-fed steady profile sits half a cell downstream of the true one). A limited
//! second-order extrapolation of the depth to the face (MUSCL with minmod) was measured on
//! rain over a plane: it removes that shift, but the discharge overshoots its steady value
//! by 2 % as the kinematic front passes, at every resolution, where this face depth rises
//! monotonically; flood maps report maxima, so the monotone form is kept.
//!
//! With [`Params::advection`] the right-hand side also loses Δt times the upwind, conservative
//! momentum flux divergence ∂(q u)/∂x + ∂(q v)/∂y (after Stelling & Duinmeijer 2003), and the
//! pressure term uses min(h_f, (h_L + h_R)/2), which is momentum-conservative on a flat bed.
//! Face velocities are capped at k sqrt(g h_max) ([`Params::speed_cap`]).
//!
//! Positivity: before continuity, each cell's outgoing face discharges are scaled by
//! min(1, h / (Δt/Δx Σ q_out)), so that no cell loses more water than it holds; the scaled
//! discharges are the ones stored, booked and carried to the next step, so mass is conserved
//! to round-off. Infiltration then takes at most what stands on the cell.
//!
//! # Parallelism and determinism
//! One step is a single sweep over bands of rows (momentum, limiter and continuity fused,
//! see the [`crate::kernel`] module), the bands in parallel with rayon. Every band writes
//! only its own rows and computes the rows just outside it again with the same arithmetic;
//! per-row sums are reduced in row order afterwards. Results are therefore bit-identical
//! whatever the number of threads (and the band size, and the vector width).

use rayon::prelude::*;

use crate::error::SurfaceError;
use crate::exchange::{GaugeId, Gauges, PointId, Points};
use crate::forcing::{Boundaries, Edge, Infiltration, Rain, RainField, mm_h_to_m_s};
use crate::grid::{Cell, Grid};
use crate::kernel::{BandOut, Isa, RainNow, RowSums, Scratch, Step};
use crate::ledger::MassLedger;
use crate::params::Params;
use crate::results::{FloodStats, GaugeSeries};

/// Fewest cells in a band of the sweep when it runs on several threads.
const MIN_BAND_CELLS: usize = 16_384;

/// A 2D surface-flow simulation on a [`Grid`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Simulation {
    grid: Grid,
    params: Params,
    bounds: Boundaries,
    rain: Rain,
    infil_classes: Vec<Infiltration>,
    infil_class: Vec<u16>,
    infil_rates: Vec<f64>,
    h: Vec<f64>,
    qx: Vec<f64>,
    qy: Vec<f64>,
    /// The next step's depth and discharges (double buffers, swapped after each step).
    h_next: Vec<f64>,
    qx_next: Vec<f64>,
    qy_next: Vec<f64>,
    rows: Vec<RowSums>,
    /// Ring buffers of each band of rows of the sweep.
    scratch: Vec<Scratch>,
    /// The vector build of the sweep this CPU runs (found again on the machine that restores
    /// a saved simulation).
    #[serde(skip, default = "Isa::detect")]
    pub(crate) isa: Isa,
    /// Rows per band of the sweep, instead of the thread-dependent choice (tests).
    #[cfg(test)]
    pub(crate) band_rows: Option<usize>,
    /// Face velocities of the previous step (only with advection), same layout as qx / qy.
    ux: Vec<f64>,
    vy: Vec<f64>,
    t: f64,
    h_max: f64,
    u_max: f64,
    steps: u64,
    last_dt: f64,
    ledger: MassLedger,
    stats: FloodStats,
    points: Points,
    gauges: Gauges,
    next_sample: f64,
}

impl Simulation {
    /// A dry simulation at time 0 with closed edges, no rain and no infiltration.
    pub fn new(grid: Grid, params: Params) -> Result<Self, SurfaceError> {
        params.validate()?;
        let (nx, ny, n) = (grid.nx(), grid.ny(), grid.len());
        Ok(Self {
            params,
            bounds: Boundaries::default(),
            rain: Rain::none(),
            infil_classes: vec![Infiltration::None],
            infil_class: vec![0; n],
            infil_rates: vec![0.0],
            h: vec![0.0; n],
            qx: vec![0.0; (nx + 1) * ny],
            qy: vec![0.0; nx * (ny + 1)],
            h_next: vec![0.0; n],
            qx_next: vec![0.0; (nx + 1) * ny],
            qy_next: vec![0.0; nx * (ny + 1)],
            rows: vec![RowSums::default(); ny],
            scratch: Vec::new(),
            isa: Isa::detect(),
            #[cfg(test)]
            band_rows: None,
            ux: Vec::new(),
            vy: Vec::new(),
            t: 0.0,
            h_max: 0.0,
            u_max: 0.0,
            steps: 0,
            last_dt: 0.0,
            ledger: MassLedger::default(),
            stats: FloodStats::new(n, params.flood_threshold),
            points: Points::default(),
            gauges: Gauges::default(),
            next_sample: params.gauge_interval,
            grid,
        })
    }

    /// Sets the conditions on the four edges (may be changed between steps, e.g. a river level).
    pub fn set_boundaries(&mut self, b: Boundaries) -> Result<(), SurfaceError> {
        b.validate()?;
        self.bounds = b;
        Ok(())
    }

    /// Sets the rain series (times in seconds of simulation time).
    pub fn set_rain(&mut self, rain: Rain) -> Result<(), SurfaceError> {
        rain.check_cells(self.grid.len())?;
        self.rain = rain;
        Ok(())
    }

    /// Sets the infiltration classes and the class of each cell (row-major).
    pub fn set_infiltration(
        &mut self,
        classes: Vec<Infiltration>,
        class_of_cell: Vec<u16>,
    ) -> Result<(), SurfaceError> {
        Infiltration::check_classes(&classes, &class_of_cell, self.grid.len())?;
        self.infil_rates = vec![0.0; classes.len()];
        self.infil_classes = classes;
        self.infil_class = class_of_cell;
        Ok(())
    }

    /// Replaces the water depth (m, row-major) and reopens the mass ledger and statistics.
    /// Depths on wall cells must be zero.
    pub fn set_depth(&mut self, depth: Vec<f64>) -> Result<(), SurfaceError> {
        self.grid.check_depth(&depth)?;
        self.h = depth;
        self.reopen();
        Ok(())
    }

    /// Fills every active cell whose bed lies below `level` up to that water level.
    pub fn set_water_level(&mut self, level: f64) -> Result<(), SurfaceError> {
        self.set_depth(self.grid.depth_to_level(level))
    }

    /// Replaces the face discharges (m²/s): `qx` has `(nx+1) * ny` entries (face `i` of row
    /// `j` at `j*(nx+1)+i`, between cells `i-1` and `i`), `qy` has `nx * (ny+1)` entries (face
    /// row `j` between cell rows `j-1` and `j`). Positive toward growing column / row index.
    pub fn set_face_flows(&mut self, qx: Vec<f64>, qy: Vec<f64>) -> Result<(), SurfaceError> {
        for (field, v, len) in [("qx", &qx, self.qx.len()), ("qy", &qy, self.qy.len())] {
            if v.len() != len {
                return Err(SurfaceError::Length {
                    field,
                    got: v.len(),
                    expected: len,
                });
            }
            if let Some(i) = v.iter().position(|q| !q.is_finite()) {
                return Err(SurfaceError::Value {
                    field,
                    index: i,
                    value: v[i],
                    expected: "a finite discharge",
                });
            }
        }
        self.qx = qx;
        self.qy = qy;
        self.reopen();
        Ok(())
    }

    /// Restarts the ledger and the statistics from the current state and time.
    pub fn reopen(&mut self) {
        let area = self.grid.cell_area();
        self.h_max = self.h.iter().fold(0.0, |m: f64, &d| m.max(d));
        self.u_max = initial_speed(
            &self.grid,
            &self.h,
            &self.qx,
            &self.qy,
            self.params.dry_depth,
        );
        let storage: f64 = self
            .h
            .chunks(self.grid.nx())
            .map(|r| r.iter().sum::<f64>())
            .fold(0.0, |a, b| a + b)
            * area;
        self.ledger = MassLedger {
            initial_storage: storage,
            storage,
            ..Default::default()
        };
        self.stats = FloodStats::new(self.grid.len(), self.params.flood_threshold);
        self.stats.max_depth.copy_from_slice(&self.h);
        self.stats.time_of_max.fill(self.t);
    }

    /// Sets the water depth of some active cells to given values (m, ≥ 0) without reopening
    /// the ledger or the statistics: data assimilation. The volume this adds (negative where
    /// it takes water away) is booked as [`MassLedger::assimilated`], so the balance still
    /// closes; discharges are kept. Returns that volume, m³.
    pub fn assimilate_depths(&mut self, cells: &[(Cell, f64)]) -> Result<f64, SurfaceError> {
        let mut changes = Vec::with_capacity(cells.len());
        for &(cell, depth) in cells {
            let i = self.grid.active_index(cell)?;
            if !(depth.is_finite() && depth >= 0.0) {
                return Err(SurfaceError::Value {
                    field: "assimilated depth",
                    index: i,
                    value: depth,
                    expected: "a depth ≥ 0 m",
                });
            }
            changes.push((i, depth));
        }
        let area = self.grid.cell_area();
        let mut added = 0.0;
        for (i, depth) in changes {
            added += (depth - self.h[i]) * area;
            self.h[i] = depth;
            self.h_max = self.h_max.max(depth);
        }
        self.ledger.assimilated += added;
        self.ledger.storage += added;
        Ok(added)
    }

    /// Adds a point exchange at `cell` (a manhole or inlet), initially at rate 0.
    pub fn add_point(&mut self, cell: Cell) -> Result<PointId, SurfaceError> {
        self.points.add(&self.grid, cell)
    }

    /// Sets the exchange rate at a point, m³/s: positive adds water to the surface (a
    /// surcharging manhole), negative removes it (an inlet). Removal is limited to the water
    /// on the cell; the volume actually moved is reported by [`Simulation::take_point_volumes`].
    pub fn set_point_rate(&mut self, id: PointId, rate: f64) -> Result<(), SurfaceError> {
        self.points.set_rate(id, rate)
    }

    /// Schedules `volume` m³ (positive onto the surface, negative off it) to be exchanged at a
    /// point evenly over the next `seconds` of simulation: sets the rate to volume / seconds.
    /// Run the simulation for exactly that span (e.g. `run_until(t + seconds)`), then set the
    /// next volume; [`Simulation::take_point_volumes`] tells what actually moved.
    pub fn set_point_volume(
        &mut self,
        id: PointId,
        volume: f64,
        seconds: f64,
    ) -> Result<(), SurfaceError> {
        if !(seconds.is_finite() && seconds > 0.0) {
            return Err(SurfaceError::Value {
                field: "point exchange duration",
                index: id.0,
                value: seconds,
                expected: "a duration > 0 s",
            });
        }
        self.set_point_rate(id, volume / seconds)
    }

    /// Net volumes (m³, positive onto the surface) actually exchanged at each point since the
    /// last call, in [`PointId`] order; resets the counters. The 1D side books exactly these.
    pub fn take_point_volumes(&mut self) -> Vec<f64> {
        self.points.take_volumes()
    }

    /// Adds a gauge recording the depth at `cell` every `gauge_interval` seconds. Add gauges
    /// before the first step so that every series has the same sample times.
    pub fn add_gauge(&mut self, cell: Cell) -> Result<GaugeId, SurfaceError> {
        self.gauges.add(&self.grid, cell)
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
    /// Water depth per cell, m, row-major.
    pub fn depth(&self) -> &[f64] {
        &self.h
    }
    /// Discharge on the x-faces, m²/s (layout as in [`Simulation::set_face_flows`]).
    pub fn qx(&self) -> &[f64] {
        &self.qx
    }
    /// Discharge on the y-faces, m²/s (layout as in [`Simulation::set_face_flows`]).
    pub fn qy(&self) -> &[f64] {
        &self.qy
    }
    /// Water depth at one cell, m.
    pub fn depth_at(&self, cell: Cell) -> Result<f64, SurfaceError> {
        Ok(self.h[self.grid.index(cell)?])
    }
    /// Water-surface elevation at one active cell, m.
    pub fn level_at(&self, cell: Cell) -> Result<f64, SurfaceError> {
        let i = self.grid.active_index(cell)?;
        Ok(self.grid.bed()[i] + self.h[i])
    }
    /// The mass ledger since the last [`Simulation::reopen`].
    pub fn ledger(&self) -> &MassLedger {
        &self.ledger
    }
    /// Per-cell flood statistics since the last [`Simulation::reopen`].
    pub fn stats(&self) -> &FloodStats {
        &self.stats
    }
    /// Gauge time series.
    pub fn gauge_series(&self) -> &GaugeSeries {
        self.gauges.series()
    }

    /// The time step the CFL condition allows now, before event limits.
    pub fn cfl_dt(&self) -> f64 {
        let c = (self.params.gravity * self.h_max).sqrt() + self.u_max;
        if c > 0.0 {
            (self.params.cfl * self.grid.dx() / c).min(self.params.max_dt)
        } else {
            self.params.max_dt
        }
    }

    /// Advances to exactly `t_end` (s), taking as many adaptive steps as needed.
    pub fn run_until(&mut self, t_end: f64) {
        while self.t < t_end {
            if self.step_limited(t_end) <= 0.0 {
                // the step no longer advances the clock (round-off at very large times)
                break;
            }
        }
    }

    /// Takes one adaptive step, ending no later than `t_limit`; returns the step length.
    pub fn step_limited(&mut self, t_limit: f64) -> f64 {
        if !self.gauges.is_empty() && self.gauges.unsampled() {
            self.sample();
        }
        let mut t_next = self.t + self.cfl_dt();
        let mut snap = None;
        for ev in [
            Some(t_limit),
            self.rain.next_change_after(self.t),
            self.gauge_event(),
        ]
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
            return 0.0;
        }
        self.advance(dt);
        self.t = snap.unwrap_or(t_next);
        self.steps += 1;
        self.last_dt = dt;
        if !self.gauges.is_empty() && self.t >= self.next_sample {
            self.sample();
            self.next_sample += self.params.gauge_interval;
        }
        dt
    }

    fn gauge_event(&self) -> Option<f64> {
        (!self.gauges.is_empty()).then_some(self.next_sample)
    }

    fn sample(&mut self) {
        let h = &self.h;
        let depths: Vec<f64> = self.gauges.cells().iter().map(|&c| h[c]).collect();
        self.gauges.record(self.t, depths);
    }

    /// One step of length `dt` (all passes).
    fn advance(&mut self, dt: f64) {
        let nx = self.grid.nx();
        let dx = self.grid.dx();
        let area = self.grid.cell_area();
        let p = self.params;

        // 1. Point exchange (sequential, in id order).
        for pt in self.points.as_mut_slice() {
            if pt.rate >= 0.0 {
                let v = pt.rate * dt;
                self.h[pt.cell] += v / area;
                self.ledger.point_in += v;
                pt.volume += v;
                self.h_max = self.h_max.max(self.h[pt.cell]);
            } else {
                let v = (-pt.rate * dt).min(self.h[pt.cell] * area);
                self.h[pt.cell] = (self.h[pt.cell] - v / area).max(0.0);
                self.ledger.point_out += v;
                pt.volume -= v;
            }
        }

        // 2. Forcings in force during the step.
        let rain = match self.rain.field_at(self.t) {
            None => RainNow::Uniform(0.0),
            Some(RainField::Uniform(r)) => RainNow::Uniform(mm_h_to_m_s(*r)),
            Some(RainField::PerCell(v)) => RainNow::PerCell(v),
        };
        for (rate, class) in self.infil_rates.iter_mut().zip(&self.infil_classes) {
            *rate = class.rate_m_per_s(self.t);
        }
        let (ny, n) = (self.grid.ny(), self.grid.len());
        let step = Step {
            nx,
            ny,
            dx,
            dt,
            g: p.gravity,
            theta: p.theta,
            dry: p.dry_depth,
            advection: p.advection,
            u_cap: p.speed_cap * (p.gravity * self.h_max).sqrt(),
            u_cap_per_sqrt_h: p.speed_cap * p.gravity.sqrt(),
            z: self.grid.bed(),
            n: self.grid.manning(),
            active: self.grid.active(),
            h: &self.h,
            qx: &self.qx,
            qy: &self.qy,
            bounds: self.bounds,
            ux: &[],
            vy: &[],
            rain,
            infil_class: &self.infil_class,
            infil_rates: &self.infil_rates,
            infiltration: self.infil_rates.iter().any(|&r| r > 0.0),
            t_end: self.t + dt,
            threshold: self.stats.threshold,
        };

        // 3. With advection, the face velocities once per step, shared by the advection
        //    terms of all faces.
        if p.advection {
            self.ux.resize(self.qx.len(), 0.0);
            self.vy.resize(self.qy.len(), 0.0);
            self.ux
                .par_chunks_mut(nx + 1)
                .enumerate()
                .for_each(|(j, row)| step.velocities_x(j, row));
            self.vy
                .par_chunks_mut(nx)
                .enumerate()
                .for_each(|(j, row)| step.velocities_y(j, row));
        }
        let step = Step {
            ux: &self.ux,
            vy: &self.vy,
            ..step
        };

        // 4. The sweep: momentum, limiter and continuity in one pass per band of rows, the
        //    bands in parallel. One band per thread would leave a thread idle whenever the
        //    other is slowed; four per thread balance the load, at the cost of recomputing
        //    a few rows at each band's edges (see the kernel module). A band holds at least
        //    MIN_BAND_CELLS cells (a fraction of a millisecond of work), below which handing
        //    it to another thread costs more than it saves.
        let threads = rayon::current_num_threads();
        let band_rows = if threads <= 1 {
            ny
        } else {
            ny.div_ceil(4 * threads).max(MIN_BAND_CELLS.div_ceil(nx))
        };
        #[cfg(test)]
        let band_rows = self.band_rows.unwrap_or(band_rows).clamp(1, ny);
        let bands = ny.div_ceil(band_rows);
        self.scratch.resize_with(bands, || Scratch::new(nx));
        let isa = self.isa;
        let st = &mut self.stats;
        let (qy_rows, qy_south) = self.qy_next.split_at_mut(ny * nx);
        (
            self.h_next.par_chunks_mut(band_rows * nx),
            st.max_depth.par_chunks_mut(band_rows * nx),
            st.time_of_max.par_chunks_mut(band_rows * nx),
            st.duration_above.par_chunks_mut(band_rows * nx),
            st.max_hazard.par_chunks_mut(band_rows * nx),
            self.rows.par_chunks_mut(band_rows),
            self.qx_next.par_chunks_mut(band_rows * (nx + 1)),
            qy_rows.par_chunks_mut(band_rows * nx),
            self.scratch.par_iter_mut(),
        )
            .into_par_iter()
            .enumerate()
            .for_each(
                |(b, (h, max_depth, time_of_max, duration, hazard, sums, qx, qy, s))| {
                    let out = BandOut {
                        h,
                        qx,
                        qy,
                        max_depth,
                        time_of_max,
                        duration,
                        hazard,
                        sums,
                    };
                    step.band(b * band_rows, out, s, isa);
                },
            );
        qy_south.copy_from_slice(&self.scratch[bands - 1].south);
        debug_assert_eq!(self.h_next.len(), n);
        std::mem::swap(&mut self.h, &mut self.h_next);
        std::mem::swap(&mut self.qx, &mut self.qx_next);
        std::mem::swap(&mut self.qy, &mut self.qy_next);

        // 5. Boundary fluxes into the ledger (sequential, fixed order).
        self.book_boundaries(dt);

        // 6. Reductions in row order.
        let mut s = RowSums::default();
        for r in &self.rows {
            s.h_max = s.h_max.max(r.h_max);
            s.storage += r.storage;
            s.rain += r.rain;
            s.infiltration += r.infiltration;
        }
        self.ledger.rain += s.rain * area;
        self.ledger.infiltration += s.infiltration * area;
        self.ledger.storage = s.storage * area;
        self.h_max = s.h_max;
        self.u_max = self.scratch.iter().fold(0.0, |m: f64, b| m.max(b.speed));
    }

    fn book_boundaries(&mut self, dt: f64) {
        let (nx, ny, dx) = (self.grid.nx(), self.grid.ny(), self.grid.dx());
        let w = dx * dt;
        let mut book = |edge: Edge, q_in: f64| {
            let v = q_in * w;
            if v >= 0.0 {
                self.ledger.boundary_in[edge as usize] += v;
            } else {
                self.ledger.boundary_out[edge as usize] -= v;
            }
        };
        for i in 0..nx {
            book(Edge::North, self.qy[i]);
        }
        for i in 0..nx {
            book(Edge::South, -self.qy[ny * nx + i]);
        }
        for j in 0..ny {
            book(Edge::West, self.qx[j * (nx + 1)]);
        }
        for j in 0..ny {
            book(Edge::East, -self.qx[j * (nx + 1) + nx]);
        }
    }
}

/// Largest face speed |q|/h_f of a given state (used when a state is set from outside); the
/// depth of a face is taken as the deeper of its cells.
fn initial_speed(grid: &Grid, h: &[f64], qx: &[f64], qy: &[f64], dry: f64) -> f64 {
    let (nx, ny) = (grid.nx(), grid.ny());
    let mut m: f64 = 0.0;
    let mut face = |q: f64, a: Option<usize>, b: Option<usize>| {
        let d = a.map_or(0.0, |c| h[c]).max(b.map_or(0.0, |c| h[c]));
        if d > dry {
            m = m.max(q.abs() / d);
        }
    };
    for j in 0..ny {
        for i in 0..=nx {
            let l = (i > 0).then(|| j * nx + i - 1);
            let r = (i < nx).then(|| j * nx + i);
            face(qx[j * (nx + 1) + i], l, r);
        }
    }
    for j in 0..=ny {
        for i in 0..nx {
            let u = (j > 0).then(|| (j - 1) * nx + i);
            let d = (j < ny).then(|| j * nx + i);
            face(qy[j * nx + i], u, d);
        }
    }
    m
}
