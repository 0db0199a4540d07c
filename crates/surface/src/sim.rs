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
//! ([`implicit_friction`]); Bates et al. take |q| at the old one, which makes thin rain-fed
//! sheets on slopes oscillate from step to step (see there).
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
//! Each pass (x-momentum, y-momentum, limiter, continuity) runs over rows with rayon; every
//! row writes only its own outputs and accumulates its sums sequentially, and the per-row
//! sums are reduced in row order afterwards. Results are therefore bit-identical whatever the
//! number of threads.

use rayon::prelude::*;

use crate::error::SurfaceError;
use crate::forcing::{Boundaries, Boundary, Edge, Infiltration, Rain, RainField, mm_h_to_m_s};
use crate::grid::{Cell, Grid};
use crate::ledger::MassLedger;
use crate::params::Params;
use crate::results::{FloodStats, GaugeSeries};

/// Identifies a point exchange (a manhole or inlet coupling) on the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PointId(pub usize);

/// Identifies a gauge (a depth time series location).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GaugeId(pub usize);

#[derive(Debug, Clone)]
struct Point {
    cell: usize,
    /// Requested rate, m³/s: positive adds water, negative removes it.
    rate: f64,
    /// Net volume actually exchanged since the last `take_point_volumes`, m³.
    volume: f64,
}

/// Sums accumulated by one row during continuity.
#[derive(Debug, Clone, Copy, Default)]
struct RowSums {
    h_max: f64,
    storage: f64,
    rain: f64,
    infiltration: f64,
}

/// A 2D surface-flow simulation on a [`Grid`].
#[derive(Debug, Clone)]
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
    qx_new: Vec<f64>,
    qy_new: Vec<f64>,
    limit: Vec<f64>,
    rows: Vec<RowSums>,
    speed_x: Vec<f64>,
    speed_y: Vec<f64>,
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
    points: Vec<Point>,
    gauges: Vec<usize>,
    series: GaugeSeries,
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
            qx_new: vec![0.0; (nx + 1) * ny],
            qy_new: vec![0.0; nx * (ny + 1)],
            limit: vec![1.0; n],
            rows: vec![RowSums::default(); ny],
            speed_x: vec![0.0; ny],
            speed_y: vec![0.0; ny + 1],
            ux: Vec::new(),
            vy: Vec::new(),
            t: 0.0,
            h_max: 0.0,
            u_max: 0.0,
            steps: 0,
            last_dt: 0.0,
            ledger: MassLedger::default(),
            stats: FloodStats::new(n, params.flood_threshold),
            points: Vec::new(),
            gauges: Vec::new(),
            series: GaugeSeries::default(),
            next_sample: params.gauge_interval,
            grid,
        })
    }

    /// Sets the conditions on the four edges (may be changed between steps, e.g. a river level).
    pub fn set_boundaries(&mut self, b: Boundaries) -> Result<(), SurfaceError> {
        for e in Edge::ALL {
            b.get(e).validate(e)?;
        }
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
        if class_of_cell.len() != self.grid.len() {
            return Err(SurfaceError::Length {
                field: "infiltration class",
                got: class_of_cell.len(),
                expected: self.grid.len(),
            });
        }
        for (k, c) in classes.iter().enumerate() {
            c.validate(k)?;
        }
        for (i, &c) in class_of_cell.iter().enumerate() {
            if c as usize >= classes.len() {
                return Err(SurfaceError::InfiltrationClass {
                    cell: i,
                    class: c,
                    classes: classes.len(),
                });
            }
        }
        self.infil_rates = vec![0.0; classes.len()];
        self.infil_classes = classes;
        self.infil_class = class_of_cell;
        Ok(())
    }

    /// Replaces the water depth (m, row-major) and reopens the mass ledger and statistics.
    /// Depths on wall cells must be zero.
    pub fn set_depth(&mut self, depth: Vec<f64>) -> Result<(), SurfaceError> {
        if depth.len() != self.grid.len() {
            return Err(SurfaceError::Length {
                field: "depth",
                got: depth.len(),
                expected: self.grid.len(),
            });
        }
        for (i, &d) in depth.iter().enumerate() {
            let ok = d.is_finite() && d >= 0.0 && (self.grid.active()[i] || d == 0.0);
            if !ok {
                return Err(SurfaceError::Value {
                    field: "depth",
                    index: i,
                    value: d,
                    expected: "a finite depth >= 0, and 0 on wall cells",
                });
            }
        }
        self.h = depth;
        self.reopen();
        Ok(())
    }

    /// Fills every active cell whose bed lies below `level` up to that water level.
    pub fn set_water_level(&mut self, level: f64) -> Result<(), SurfaceError> {
        let d = self
            .grid
            .bed()
            .iter()
            .zip(self.grid.active())
            .map(|(&z, &a)| if a { (level - z).max(0.0) } else { 0.0 })
            .collect();
        self.set_depth(d)
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

    /// Adds a point exchange at `cell` (a manhole or inlet), initially at rate 0.
    pub fn add_point(&mut self, cell: Cell) -> Result<PointId, SurfaceError> {
        let c = self.grid.active_index(cell)?;
        self.points.push(Point {
            cell: c,
            rate: 0.0,
            volume: 0.0,
        });
        Ok(PointId(self.points.len() - 1))
    }

    /// Sets the exchange rate at a point, m³/s: positive adds water to the surface (a
    /// surcharging manhole), negative removes it (an inlet). Removal is limited to the water
    /// on the cell; the volume actually moved is reported by [`Simulation::take_point_volumes`].
    pub fn set_point_rate(&mut self, id: PointId, rate: f64) -> Result<(), SurfaceError> {
        if !rate.is_finite() {
            return Err(SurfaceError::Value {
                field: "point rate",
                index: id.0,
                value: rate,
                expected: "a finite rate in m³/s",
            });
        }
        let p = self.points.get_mut(id.0).ok_or(SurfaceError::UnknownId {
            kind: "point",
            id: id.0,
        })?;
        p.rate = rate;
        Ok(())
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
        self.points
            .iter_mut()
            .map(|p| std::mem::take(&mut p.volume))
            .collect()
    }

    /// Adds a gauge recording the depth at `cell` every `gauge_interval` seconds. Add gauges
    /// before the first step so that every series has the same sample times.
    pub fn add_gauge(&mut self, cell: Cell) -> Result<GaugeId, SurfaceError> {
        let c = self.grid.index(cell)?;
        self.gauges.push(c);
        self.series.depths.push(Vec::new());
        Ok(GaugeId(self.gauges.len() - 1))
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
        &self.series
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
        if !self.gauges.is_empty() && self.series.times.is_empty() {
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
        self.series.times.push(self.t);
        for (g, &c) in self.gauges.iter().enumerate() {
            self.series.depths[g].push(self.h[c]);
        }
    }

    /// One step of length `dt` (all passes).
    fn advance(&mut self, dt: f64) {
        let nx = self.grid.nx();
        let dx = self.grid.dx();
        let area = self.grid.cell_area();
        let p = self.params;

        // 1. Point exchange (sequential, in id order).
        for pt in &mut self.points {
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

        // 2. Momentum on the x- and y-faces.
        let ctx = Ctx {
            nx,
            ny: self.grid.ny(),
            dx,
            dt,
            g: p.gravity,
            advection: p.advection,
            u_cap: p.speed_cap * (p.gravity * self.h_max).sqrt(),
            u_cap_per_sqrt_h: p.speed_cap * p.gravity.sqrt(),
            theta: p.theta,
            dry: p.dry_depth,
            z: self.grid.bed(),
            active: self.grid.active(),
            n: self.grid.manning(),
            h: &self.h,
            bounds: self.bounds,
            ux: &[],
            vy: &[],
        };
        if p.advection {
            // face velocities once per step, shared by the advection terms of all faces
            self.ux.resize(self.qx.len(), 0.0);
            self.vy.resize(self.qy.len(), 0.0);
            let (qx, qy) = (&self.qx, &self.qy);
            self.ux
                .par_chunks_mut(nx + 1)
                .enumerate()
                .for_each(|(j, row)| {
                    for (i, u) in row.iter_mut().enumerate() {
                        *u = ctx.vel(qx[j * (nx + 1) + i], ctx.hf_x(j, i));
                    }
                });
            self.vy.par_chunks_mut(nx).enumerate().for_each(|(j, row)| {
                for (i, v) in row.iter_mut().enumerate() {
                    *v = ctx.vel(qy[j * nx + i], ctx.hf_y(j, i));
                }
            });
        }
        let ctx = Ctx {
            ux: &self.ux,
            vy: &self.vy,
            ..ctx
        };
        {
            let (qx_old, qy_old) = (&self.qx, &self.qy);
            self.qx_new
                .par_chunks_mut(nx + 1)
                .zip(self.speed_x.par_iter_mut())
                .enumerate()
                .for_each(|(j, (row, smax))| *smax = ctx.momentum_x_row(j, qx_old, row));
            self.qy_new
                .par_chunks_mut(nx)
                .zip(self.speed_y.par_iter_mut())
                .enumerate()
                .for_each(|(j, (row, smax))| *smax = ctx.momentum_y_row(j, qy_old, row));
        }

        // 3. Limiter factor per cell.
        {
            let (qx, qy) = (&self.qx_new, &self.qy_new);
            self.limit
                .par_chunks_mut(nx)
                .enumerate()
                .for_each(|(j, row)| ctx.limit_row(j, qx, qy, row));
        }

        // 4. Continuity with rain, infiltration and statistics. Each row scales its faces'
        //    discharges by the donor cells' limiter factors on the fly and stores the scaled
        //    x-faces of its row and its northern y-faces into the old discharge buffers (free
        //    since the momentum pass); a face shared by two rows is scaled by the same
        //    arithmetic in both, so what one cell loses its neighbour gains exactly.
        let rain_now = match self.rain.field_at(self.t) {
            None => RainNow::Uniform(0.0),
            Some(RainField::Uniform(r)) => RainNow::Uniform(mm_h_to_m_s(*r)),
            Some(RainField::PerCell(v)) => RainNow::PerCell(v),
        };
        for (rate, class) in self.infil_rates.iter_mut().zip(&self.infil_classes) {
            *rate = class.rate_m_per_s(self.t);
        }
        let ny = self.grid.ny();
        let cont = Continuity {
            nx,
            ny,
            dt,
            dt_dx: dt / dx,
            dry: p.dry_depth,
            t_end: self.t + dt,
            active: self.grid.active(),
            qx: &self.qx_new,
            qy: &self.qy_new,
            limit: &self.limit,
            rain: rain_now,
            infil_class: &self.infil_class,
            infil_rates: &self.infil_rates,
        };
        let st = &mut self.stats;
        let threshold = st.threshold;
        let (qy_rows, qy_south) = self.qy.split_at_mut(ny * nx);
        (
            self.h.par_chunks_mut(nx),
            st.max_depth.par_chunks_mut(nx),
            st.time_of_max.par_chunks_mut(nx),
            st.duration_above.par_chunks_mut(nx),
            st.max_hazard.par_chunks_mut(nx),
            self.rows.par_iter_mut(),
            self.qx.par_chunks_mut(nx + 1),
            qy_rows.par_chunks_mut(nx),
        )
            .into_par_iter()
            .enumerate()
            .for_each(|(j, (h, mx, tm, dur, hz, sums, qx_out, qy_out))| {
                *sums = cont.row(j, threshold, h, mx, tm, dur, hz, qx_out, qy_out);
            });
        for (i, q) in qy_south.iter_mut().enumerate() {
            *q = cont.lim_y(ny, i);
        }

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
        self.u_max = self
            .speed_x
            .iter()
            .chain(&self.speed_y)
            .fold(0.0, |m: f64, &v| m.max(v));
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

/// Rain in force during a step.
#[derive(Clone, Copy)]
enum RainNow<'a> {
    /// m/s on every active cell.
    Uniform(f64),
    /// mm/h per cell.
    PerCell(&'a [f64]),
}

/// Read-only inputs of the momentum and limiter passes.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    nx: usize,
    ny: usize,
    dx: f64,
    dt: f64,
    g: f64,
    advection: bool,
    /// Largest velocity carried over from the previous step, m/s.
    u_cap: f64,
    /// k sqrt(g), to extend the cap to water deeper than h_max (fixed-stage edges).
    u_cap_per_sqrt_h: f64,
    theta: f64,
    dry: f64,
    z: &'a [f64],
    active: &'a [bool],
    n: &'a [f64],
    h: &'a [f64],
    bounds: Boundaries,
    /// Previous-step face velocities (advection only; empty otherwise).
    ux: &'a [f64],
    vy: &'a [f64],
}

/// Local-inertial update of one face discharge (Bates et al. 2010 eq. 11 with the θ-weighting
/// of de Almeida et al. 2012 eq. 14, friction fully implicit, see [`implicit_friction`]).
/// `q_avg` is the θ-weighted old discharge, `hp` the depth that carries the pressure term,
/// `deta` η_R − η_L over the face, `a` the advection term (m²/s², 0 without advection), `hf`
/// the flow depth of the friction term.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn inertial(
    g: f64,
    q_avg: f64,
    hp: f64,
    deta: f64,
    a: f64,
    hf: f64,
    n: f64,
    dt: f64,
    dx: f64,
) -> f64 {
    let rhs = q_avg - g * dt / dx * hp * deta - dt * a;
    implicit_friction(rhs, friction_coefficient(g, hf, n, dt))
}

/// θ-weighted old discharge of a face, θ q + (1 − θ)/2 (q_{−1} + q_{+1}) (de Almeida et al.
/// 2012, eq. 14).
#[inline(always)]
fn theta_average(theta: f64, q0: f64, qm: f64, qp: f64) -> f64 {
    theta * q0 + 0.5 * (1.0 - theta) * (qm + qp)
}

/// b = g Δt n² / h_f^{7/3} of the friction term g n² q|q| / h_f^{7/3} (h_f^{−7/3} =
/// (h_f^{−1/3})^7, without a division).
#[inline(always)]
fn friction_coefficient(g: f64, hf: f64, n: f64, dt: f64) -> f64 {
    let y = inv_cbrt_pos(hf);
    let y2 = y * y;
    let y7 = y2 * y2 * y2 * y;
    g * dt * n * n * y7
}

/// Solves q (1 + b |q|) = rhs for q, the momentum update with the friction term taken fully
/// implicitly (at the new discharge, as Xia, Liang, Ming & Hou 2017, *Water Resour. Res.* 53,
/// 3730–3759, do for thin overland flow), in the cancellation-free form of the root of the
/// quadratic, q = 2 rhs / (1 + sqrt(1 + 4 b |rhs|)).
///
/// Bates et al. (2010, eq. 11) take |q| at the old discharge instead: q' = (q + a)/(1 + b|q|).
/// Linearised about its fixed point q*, that map has the gain (1 − b q*)/(1 + b q*), which
/// tends to −1 where friction dominates (b q* ≫ 1: thin sheets, large steps), so the
/// discharge of rain-fed sheet flow swings from step to step, barely damped, around its
/// Manning value. The implicit root has the gain 1/(1 + 2 b q*) in (0, 1]: it converges
/// monotonically, and for b q* ≫ 1 it tends to Manning's q = h^{5/3} sqrt(S_f)/n itself. The
/// fixed points of the two forms are the same (b q*² = a), so steady states do not change.
#[inline(always)]
fn implicit_friction(rhs: f64, b: f64) -> f64 {
    2.0 * rhs / (1.0 + (1.0 + 4.0 * b * rhs.abs()).sqrt())
}

/// Cube root of a positive, finite, normal number: a bit-level first guess (the exponent
/// divided by three) refined by two Halley steps, relative error below 1e-13; about three
/// times faster than the portable `cbrt`, which dominated the step's profile.
#[inline(always)]
fn cbrt_pos(x: f64) -> f64 {
    let mut y = f64::from_bits(x.to_bits() / 3 + 0x2A9F_7893_782D_A1CE);
    for _ in 0..2 {
        let y3 = y * y * y;
        y *= (y3 + 2.0 * x) / (2.0 * y3 + x);
    }
    y
}

/// Raises `smax` to |q|/d if larger, dividing only then (d = 0 carries q = 0).
#[inline(always)]
fn track_speed(smax: &mut f64, q: f64, d: f64) {
    let a = q.abs();
    if a > *smax * d {
        *smax = a / d;
    }
}

/// h^{-1/3} for a positive, finite, normal h: a bit-level first guess refined by four
/// Newton steps y ← y (4 − h y³)/3, which need no division (relative error below 1e-13).
#[inline(always)]
fn inv_cbrt_pos(h: f64) -> f64 {
    let mut y = f64::from_bits(0x553E_F0FF_289D_D796 - h.to_bits() / 3);
    for _ in 0..4 {
        y *= (4.0 - h * y * y * y) * (1.0 / 3.0);
    }
    y
}

/// Discharge leaving an open edge from a cell of depth `h` and roughness `n` (see
/// [`Boundary::Open`]).
#[inline]
fn open_outflow(g: f64, h: f64, n: f64, slope: Option<f64>) -> f64 {
    // critical discharge for a specific head h: q = sqrt(g) (2h/3)^{3/2}
    let hc = 2.0 * h / 3.0;
    let q_crit = (g * hc).sqrt() * hc;
    match slope {
        Some(s) if n > 0.0 => {
            let h53 = h * cbrt_pos(h).powi(2);
            (h53 * s.sqrt() / n).min(q_crit)
        }
        _ => q_crit,
    }
}

impl Ctx<'_> {
    /// Discharge across an edge face whose inner cell is `c`, and the depth that turns it
    /// into a speed for the CFL condition. `sign` is +1 when the
    /// outside lies toward growing index (east, south), −1 otherwise. `q0`, `qin` are the
    /// face's old discharge and its inner neighbour's.
    #[inline]
    fn edge_face(&self, b: Boundary, c: usize, sign: f64, q0: f64, qin: f64) -> (f64, f64) {
        if !self.active[c] {
            return (0.0, 0.0);
        }
        let h = self.h[c];
        match b {
            Boundary::Closed => (0.0, 0.0),
            Boundary::Inflow { discharge } => {
                // inward is toward the inside: −sign
                let q = -sign * discharge;
                // the inflow enters at least at its critical depth (q²/g)^{1/3}
                let hc = (discharge * discharge / self.g).cbrt();
                (q, h.max(hc))
            }
            Boundary::Open { slope } => {
                if h <= self.dry {
                    return (0.0, 0.0);
                }
                let q = open_outflow(self.g, h, self.n[c], slope);
                (sign * q, h)
            }
            Boundary::FixedStage { level } => {
                let z = self.z[c];
                let eta = z + h;
                let hf = eta.max(level) - z;
                if hf <= self.dry {
                    return (0.0, 0.0);
                }
                // the outside water counts as part of the grid's deepest water
                let cap = hf * self.u_cap.max(self.u_cap_per_sqrt_h * hf.sqrt());
                let (q0, qin) = (q0.clamp(-cap, cap), qin.clamp(-cap, cap));
                // η_R − η_L, with the ghost on the outside
                let deta = if sign > 0.0 { level - eta } else { eta - level };
                let q_avg = theta_average(self.theta, q0, qin, q0);
                let q = inertial(
                    self.g, q_avg, hf, deta, 0.0, hf, self.n[c], self.dt, self.dx,
                )
                .clamp(-cap, cap);
                // Where the outside level is at or below the bed the ghost holds no water: it
                // takes what leaves but gives nothing (the θ-average of the inner face's
                // discharge could otherwise draw water in from it).
                let q = if level - z <= self.dry {
                    if sign > 0.0 { q.max(0.0) } else { q.min(0.0) }
                } else {
                    q
                };
                (q, hf)
            }
        }
    }

    /// Discharge and flow depth of the interior face between cells `l` and `r`; `adv` gives
    /// the momentum advection term (m²/s²) when [`Params::advection`] is on.
    #[inline(always)]
    fn inner_face(
        &self,
        l: usize,
        r: usize,
        q0: f64,
        qm: f64,
        qp: f64,
        adv: impl FnOnce() -> f64,
    ) -> (f64, f64) {
        if !(self.active[l] && self.active[r]) {
            return (0.0, 0.0);
        }
        let (zl, zr) = (self.z[l], self.z[r]);
        let (hl, hr) = (self.h[l], self.h[r]);
        let (el, er) = (zl + hl, zr + hr);
        let hf = el.max(er) - zl.max(zr);
        if hf <= self.dry {
            return (0.0, 0.0);
        }
        let n = 0.5 * (self.n[l] + self.n[r]);
        let cap = hf * self.u_cap;
        let (q0, qm, qp) = (
            q0.clamp(-cap, cap),
            qm.clamp(-cap, cap),
            qp.clamp(-cap, cap),
        );
        let (hp, a) = if self.advection {
            // momentum-conservative pressure depth on a flat bed (mean of the two depths)
            (hf.min(0.5 * (hl + hr)), adv())
        } else {
            (hf, 0.0)
        };
        let q_avg = theta_average(self.theta, q0, qm, qp);
        let q = inertial(self.g, q_avg, hp, er - el, a, hf, n, self.dt, self.dx);
        // the same velocity bound on the result: thin films cannot outrun k sqrt(g h_max)
        let q = q.clamp(-cap, cap);
        (q, hf)
    }

    /// Flow depth of x-face `i` of row `j` (0 if closed or dry), for advection velocities.
    #[inline]
    fn hf_x(&self, j: usize, i: usize) -> f64 {
        let c = j * self.nx;
        let (l, r) = if i == 0 {
            (c, c)
        } else if i == self.nx {
            (c + i - 1, c + i - 1)
        } else {
            (c + i - 1, c + i)
        };
        self.hf_cells(l, r)
    }

    /// Flow depth of y-face `i` of face row `j`.
    #[inline]
    fn hf_y(&self, j: usize, i: usize) -> f64 {
        let (u, d) = if j == 0 {
            (i, i)
        } else if j == self.ny {
            ((j - 1) * self.nx + i, (j - 1) * self.nx + i)
        } else {
            ((j - 1) * self.nx + i, j * self.nx + i)
        };
        self.hf_cells(u, d)
    }

    #[inline]
    fn hf_cells(&self, a: usize, b: usize) -> f64 {
        if !(self.active[a] && self.active[b]) {
            return 0.0;
        }
        let (za, zb) = (self.z[a], self.z[b]);
        ((za + self.h[a]).max(zb + self.h[b]) - za.max(zb)).max(0.0)
    }

    #[inline]
    fn vel(&self, q: f64, hf: f64) -> f64 {
        if hf > self.dry {
            (q / hf).clamp(-self.u_cap, self.u_cap)
        } else {
            0.0
        }
    }

    /// Advection of x-momentum at interior x-face `i` of row `j`: ∂(q u)/∂x + ∂(q v)/∂y in
    /// conservative form, first-order upwind (after Stelling & Duinmeijer 2003, *Int. J.
    /// Numer. Meth. Fluids* 43, 1329–1354).
    fn adv_x(&self, j: usize, i: usize, qx: &[f64]) -> f64 {
        let (nx, ny) = (self.nx, self.ny);
        let row = &qx[j * (nx + 1)..(j + 1) * (nx + 1)];
        let ur = &self.ux[j * (nx + 1)..(j + 1) * (nx + 1)];
        let (um, u0, up) = (ur[i - 1], ur[i], ur[i + 1]);
        let flux = |ubar: f64, qa: f64, qb: f64| ubar * if ubar > 0.0 { qa } else { qb };
        let f_r = flux(0.5 * (u0 + up), row[i], row[i + 1]);
        let f_l = flux(0.5 * (um + u0), row[i - 1], row[i]);
        let v = |jf: usize, c: usize| self.vy[jf * nx + c];
        let g_top = if j > 0 {
            let vbar = 0.5 * (v(j, i - 1) + v(j, i));
            flux(vbar, qx[(j - 1) * (nx + 1) + i], row[i])
        } else {
            0.0
        };
        let g_bot = if j + 1 < ny {
            let vbar = 0.5 * (v(j + 1, i - 1) + v(j + 1, i));
            flux(vbar, row[i], qx[(j + 1) * (nx + 1) + i])
        } else {
            0.0
        };
        (f_r - f_l + g_bot - g_top) / self.dx
    }

    /// Advection of y-momentum at interior y-face `i` of face row `j` (see [`Ctx::adv_x`]).
    fn adv_y(&self, j: usize, i: usize, qy: &[f64]) -> f64 {
        let nx = self.nx;
        let v = |jf: usize| self.vy[jf * nx + i];
        let (vm, v0, vp) = (v(j - 1), v(j), v(j + 1));
        let flux = |bar: f64, qa: f64, qb: f64| bar * if bar > 0.0 { qa } else { qb };
        let q = |jf: usize, c: usize| qy[jf * nx + c];
        let f_d = flux(0.5 * (v0 + vp), q(j, i), q(j + 1, i));
        let f_u = flux(0.5 * (vm + v0), q(j - 1, i), q(j, i));
        let u = |r: usize, k: usize| self.ux[r * (nx + 1) + k];
        let g_left = if i > 0 {
            let ubar = 0.5 * (u(j - 1, i) + u(j, i));
            flux(ubar, q(j, i - 1), q(j, i))
        } else {
            0.0
        };
        let g_right = if i + 1 < nx {
            let ubar = 0.5 * (u(j - 1, i + 1) + u(j, i + 1));
            flux(ubar, q(j, i), q(j, i + 1))
        } else {
            0.0
        };
        (f_d - f_u + g_right - g_left) / self.dx
    }

    /// New x-face discharges of row `j`; returns the largest face speed.
    fn momentum_x_row(&self, j: usize, old: &[f64], out: &mut [f64]) -> f64 {
        let nx = self.nx;
        let o = &old[j * (nx + 1)..(j + 1) * (nx + 1)];
        let c0 = j * nx;
        let mut smax: f64 = 0.0;
        let (q, s) = self.edge_face(self.bounds.west, c0, -1.0, o[0], o[1.min(nx)]);
        out[0] = q;
        track_speed(&mut smax, q, s);
        for i in 1..nx {
            // neighbour discharges are clamped to this face's velocity cap in `inner_face`
            let (qm, qp) = (o[i - 1], o[i + 1]);
            let (q, s) =
                self.inner_face(c0 + i - 1, c0 + i, o[i], qm, qp, || self.adv_x(j, i, old));
            out[i] = q;
            track_speed(&mut smax, q, s);
        }
        let (q, s) = self.edge_face(self.bounds.east, c0 + nx - 1, 1.0, o[nx], o[nx - 1]);
        out[nx] = q;
        track_speed(&mut smax, q, s);
        smax
    }

    /// New discharges of y-face row `j` (between cell rows `j-1` and `j`); returns the largest
    /// face speed.
    fn momentum_y_row(&self, j: usize, old: &[f64], out: &mut [f64]) -> f64 {
        let (nx, ny) = (self.nx, self.ny);
        let o = &old[j * nx..(j + 1) * nx];
        let mut smax: f64 = 0.0;
        if j == 0 {
            let below = &old[nx..2 * nx];
            for i in 0..nx {
                let (q, s) = self.edge_face(self.bounds.north, i, -1.0, o[i], below[i]);
                out[i] = q;
                track_speed(&mut smax, q, s);
            }
        } else if j == ny {
            let above = &old[(j - 1) * nx..j * nx];
            for i in 0..nx {
                let (q, s) =
                    self.edge_face(self.bounds.south, (ny - 1) * nx + i, 1.0, o[i], above[i]);
                out[i] = q;
                track_speed(&mut smax, q, s);
            }
        } else {
            let above = &old[(j - 1) * nx..j * nx];
            let below = &old[(j + 1) * nx..(j + 2) * nx];
            let (cu, cd) = ((j - 1) * nx, j * nx);
            for i in 0..nx {
                let (qm, qp) = (above[i], below[i]);
                let (q, s) =
                    self.inner_face(cu + i, cd + i, o[i], qm, qp, || self.adv_y(j, i, old));
                out[i] = q;
                track_speed(&mut smax, q, s);
            }
        }
        smax
    }

    /// Limiter factor of each cell of row `j`: the share of its outgoing discharge that its
    /// water can supply during the step.
    fn limit_row(&self, j: usize, qx: &[f64], qy: &[f64], out: &mut [f64]) {
        let nx = self.nx;
        let xr = &qx[j * (nx + 1)..(j + 1) * (nx + 1)];
        let yn = &qy[j * nx..(j + 1) * nx];
        let ys = &qy[(j + 1) * nx..(j + 2) * nx];
        let k = self.dt / self.dx;
        for i in 0..nx {
            let outflow =
                xr[i + 1].max(0.0) + (-xr[i]).max(0.0) + ys[i].max(0.0) + (-yn[i]).max(0.0);
            let need = outflow * k;
            let have = self.h[j * nx + i];
            out[i] = if need > have { have / need } else { 1.0 };
        }
    }
}

/// Read-only inputs of the continuity pass.
struct Continuity<'a> {
    nx: usize,
    ny: usize,
    dt: f64,
    dt_dx: f64,
    dry: f64,
    t_end: f64,
    active: &'a [bool],
    /// Unlimited discharges from the momentum pass.
    qx: &'a [f64],
    qy: &'a [f64],
    /// Limiter factor per cell.
    limit: &'a [f64],
    rain: RainNow<'a>,
    infil_class: &'a [u16],
    infil_rates: &'a [f64],
}

impl Continuity<'_> {
    /// Limited discharge of y-face `i` of face row `jf`: scaled by its donor cell's factor.
    #[inline(always)]
    fn lim_y(&self, jf: usize, i: usize) -> f64 {
        let nx = self.nx;
        let q = self.qy[jf * nx + i];
        if q > 0.0 && jf > 0 {
            q * self.limit[(jf - 1) * nx + i]
        } else if q < 0.0 && jf < self.ny {
            q * self.limit[jf * nx + i]
        } else {
            q
        }
    }

    /// Updates the depths of row `j` and its statistics, stores the row's limited x-face and
    /// northern y-face discharges; returns the row's sums (depths in m, to be multiplied by
    /// the cell area).
    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        j: usize,
        threshold: f64,
        h: &mut [f64],
        max_depth: &mut [f64],
        time_of_max: &mut [f64],
        duration: &mut [f64],
        hazard: &mut [f64],
        xr: &mut [f64],
        yn: &mut [f64],
    ) -> RowSums {
        let nx = self.nx;
        let c0 = j * nx;
        let lim = &self.limit[c0..c0 + nx];
        for (i, (out, &q)) in xr
            .iter_mut()
            .zip(&self.qx[j * (nx + 1)..(j + 1) * (nx + 1)])
            .enumerate()
        {
            *out = if q > 0.0 && i > 0 {
                q * lim[i - 1]
            } else if q < 0.0 && i < nx {
                q * lim[i]
            } else {
                q
            };
        }
        for (i, out) in yn.iter_mut().enumerate() {
            *out = self.lim_y(j, i);
        }
        let act = &self.active[c0..c0 + nx];
        let cls = &self.infil_class[c0..c0 + nx];
        let mut s = RowSums::default();
        for i in 0..nx {
            if !act[i] {
                continue;
            }
            let ys = self.lim_y(j + 1, i);
            let net = (xr[i] - xr[i + 1] + yn[i] - ys) * self.dt_dx;
            let mut d = (h[i] + net).max(0.0);
            let r = match self.rain {
                RainNow::Uniform(r) => r,
                RainNow::PerCell(v) => mm_h_to_m_s(v[c0 + i]),
            } * self.dt;
            d += r;
            let f = (self.infil_rates[cls[i] as usize] * self.dt).min(d);
            d -= f;
            h[i] = d;
            s.rain += r;
            s.infiltration += f;
            s.storage += d;
            s.h_max = s.h_max.max(d);
            if d > max_depth[i] {
                max_depth[i] = d;
                time_of_max[i] = self.t_end;
            }
            if d > threshold {
                duration[i] += self.dt;
            }
            if d > self.dry {
                let qxc = 0.5 * (xr[i] + xr[i + 1]);
                let qyc = 0.5 * (yn[i] + ys);
                let hz = (qxc * qxc + qyc * qyc).sqrt();
                if hz > hazard[i] {
                    hazard[i] = hz;
                }
            }
        }
        s
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

#[cfg(test)]
mod cbrt_tests {
    #[test]
    fn fast_inverse_cube_root_is_accurate() {
        let mut x = 1e-12;
        while x < 1e6 {
            let (a, b) = (super::inv_cbrt_pos(x), 1.0 / x.cbrt());
            assert!(((a - b) / b).abs() < 1e-13, "{x}: {a} vs {b}");
            x *= 1.37;
        }
    }

    #[test]
    fn fast_cube_root_is_accurate() {
        let mut x = 1e-12;
        while x < 1e6 {
            let (a, b) = (super::cbrt_pos(x), x.cbrt());
            assert!(((a - b) / b).abs() < 1e-13, "{x}: {a} vs {b}");
            x *= 1.37;
        }
    }
}
