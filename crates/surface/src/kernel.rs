//! One time step of the scheme (see the [`crate::sim`] module documentation for the
//! equations) as a single sweep over bands of rows.
//!
//! # The sweep
//! A step has four stages per cell row r: the x-face momentum of row r (X), the y-face
//! momentum of face row r, between cell rows r − 1 and r (Y), the limiter factor of row r (L,
//! which needs X(r), Y(r), Y(r + 1)) and continuity (C, which needs X(r), Y(r), Y(r + 1) and
//! L(r − 1), L(r), L(r + 1)). A band of rows [j0, j1) runs them in one pass from top to
//! bottom: at row r it computes X(r), Y(r + 1) and L(r), then C(r − 1). The unlimited
//! discharges and limiter factors live only in small ring buffers of two or three rows per
//! band ([`Scratch`]), so the state is read from memory once per step instead of once per
//! stage, and no full-grid buffer of intermediate discharges exists.
//!
//! Every stage reads only the state at the start of the step (depth and discharges are
//! double-buffered: the sweep writes the new ones elsewhere), so a band also computes the
//! rows just outside it that its continuity needs (X and L of rows j0 − 1 and j1, Y of face
//! rows j0 − 1 and j1 + 1) with the same arithmetic as the band that owns them: the results
//! are the same whatever the band size, hence whatever the number of threads. Each band
//! writes only its own rows; per-row sums are reduced in row order by the caller.
//!
//! # Vectorisation
//! The interior faces and cells of a row are computed without branches (dry faces and wall
//! cells are masked by selects), the speed maxima kept per lane of [`LANES`] and the sums
//! computed in a separate pass with [`LANES`] partial sums, so that the compiler vectorises
//! the rows; the sweep is compiled for AVX-512 and AVX2 besides the baseline, and the widest
//! the CPU has is chosen at run time ([`Isa`]). The results do not depend on the vector width:
//! every lane does the same IEEE operations, no fused multiply–add is allowed, and the order of
//! every sum is fixed by the cell positions alone.

use crate::forcing::{Boundaries, Boundary, mm_h_to_m_s};

/// Lanes of the per-row partial sums and maxima.
const LANES: usize = 4;

/// Sums accumulated by one row during continuity (depths in m: the caller multiplies by the
/// cell area).
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct RowSums {
    pub h_max: f64,
    pub storage: f64,
    pub rain: f64,
    pub infiltration: f64,
}

/// Rain in force during a step.
#[derive(Clone, Copy)]
pub(crate) enum RainNow<'a> {
    /// m/s on every active cell.
    Uniform(f64),
    /// mm/h per cell.
    PerCell(&'a [f64]),
}

/// Read-only inputs of one step: the grid, the state at the start of the step and the
/// forcings.
#[derive(Clone, Copy)]
pub(crate) struct Step<'a> {
    pub nx: usize,
    pub ny: usize,
    pub dx: f64,
    pub dt: f64,
    pub g: f64,
    pub theta: f64,
    pub dry: f64,
    pub advection: bool,
    /// Velocity bound k sqrt(g h_max), m/s.
    pub u_cap: f64,
    /// k sqrt(g), to extend the cap to water deeper than h_max (fixed-stage edges).
    pub u_cap_per_sqrt_h: f64,
    pub z: &'a [f64],
    pub n: &'a [f64],
    pub active: &'a [bool],
    /// Depth at the start of the step.
    pub h: &'a [f64],
    /// Limited face discharges of the previous step.
    pub qx: &'a [f64],
    pub qy: &'a [f64],
    pub bounds: Boundaries,
    /// Previous-step face velocities (advection only; empty otherwise).
    pub ux: &'a [f64],
    pub vy: &'a [f64],
    pub rain: RainNow<'a>,
    pub infil_class: &'a [u16],
    /// Infiltration capacity per class, m/s.
    pub infil_rates: &'a [f64],
    /// Whether any class infiltrates.
    pub infiltration: bool,
    /// Time at the end of the step, s.
    pub t_end: f64,
    /// Depth threshold of the duration statistic, m.
    pub threshold: f64,
}

/// Per-band ring buffers and row work space.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Scratch {
    /// Unlimited x-face discharges of two rows (row r in slot r % 2), `nx + 1` each.
    mx: Vec<f64>,
    /// Unlimited discharges of three y-face rows (face row r in slot r % 3), `nx` each.
    my: Vec<f64>,
    /// Limiter factors of three rows (row r in slot r % 3), `nx` each.
    lim: Vec<f64>,
    /// Factors of 1, for the missing rows beyond the grid's edges.
    ones: Vec<f64>,
    /// Limited discharges of the face row south of the last row updated.
    pub south: Vec<f64>,
    /// Rain and infiltration (m) of the row being updated.
    rain: Vec<f64>,
    infil: Vec<f64>,
    /// Largest face speed of the band's last sweep, m/s.
    pub speed: f64,
}

impl Scratch {
    pub(crate) fn new(nx: usize) -> Self {
        Self {
            mx: vec![0.0; 2 * (nx + 1)],
            my: vec![0.0; 3 * nx],
            lim: vec![1.0; 3 * nx],
            ones: vec![1.0; nx],
            south: vec![0.0; nx],
            rain: vec![0.0; nx],
            infil: vec![0.0; nx],
            speed: 0.0,
        }
    }
}

/// One band's outputs: rows j0..j0 + `sums.len()` of the new depth, of the new limited
/// discharges (x-faces of those rows, y-face rows north of them) and of the statistics.
pub(crate) struct BandOut<'b> {
    pub h: &'b mut [f64],
    pub qx: &'b mut [f64],
    pub qy: &'b mut [f64],
    pub max_depth: &'b mut [f64],
    pub time_of_max: &'b mut [f64],
    pub duration: &'b mut [f64],
    pub hazard: &'b mut [f64],
    pub sums: &'b mut [RowSums],
}

/// The larger of two numbers (maxpd; the inputs are never NaN).
#[inline(always)]
fn fmax(a: f64, b: f64) -> f64 {
    if a > b { a } else { b }
}

/// The smaller of two numbers (minpd; the inputs are never NaN).
#[inline(always)]
fn fmin(a: f64, b: f64) -> f64 {
    if a < b { a } else { b }
}

/// `x` clamped to [−cap, cap] (cap ≥ 0).
#[inline(always)]
fn clamp(x: f64, cap: f64) -> f64 {
    fmin(fmax(x, -cap), cap)
}

/// θ-weighted old discharge of a face, θ q + (1 − θ)/2 (q_{−1} + q_{+1}) (de Almeida et al.
/// 2012, eq. 14).
#[inline(always)]
fn theta_average(theta: f64, q0: f64, qm: f64, qp: f64) -> f64 {
    theta * q0 + 0.5 * (1.0 - theta) * (qm + qp)
}

/// Solves q (1 + b |q|) = rhs for q, the momentum update with the friction term taken fully
/// implicitly (at the new discharge, as Xia, Liang, Ming & Hou 2017, *Water Resour. Res.* 53,
/// 3730–3759, do for thin overland flow), in the cancellation-free form of the root of the
/// quadratic, q = 2 rhs / (1 + sqrt(1 + 4 b |rhs|)); b = g Δt n² / h_f^{7/3}.
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

/// h^{−1/3} for a positive, finite, normal h: a first guess from the bits of h in single
/// precision (the exponent divided by three; relative error below 3.5 %), refined by four
/// Newton steps y ← y (4 − h y³)/3 in double precision, which need no division (relative
/// error below 1e-13). Single precision keeps the guess in 32-bit integer arithmetic, which
/// vectorises.
#[inline(always)]
pub(crate) fn inv_cbrt_pos(h: f64) -> f64 {
    let bits = (h as f32).to_bits();
    let mut y = f64::from(f32::from_bits(0x54A2_329D_u32.wrapping_sub(bits / 3)));
    for _ in 0..4 {
        y *= (4.0 - h * y * y * y) * (1.0 / 3.0);
    }
    y
}

/// Cube root of a positive, finite, normal number: a bit-level first guess (the exponent
/// divided by three) refined by two Halley steps, relative error below 1e-13; about three
/// times faster than the portable `cbrt`.
#[inline(always)]
pub(crate) fn cbrt_pos(x: f64) -> f64 {
    let mut y = f64::from_bits(x.to_bits() / 3 + 0x2A9F_7893_782D_A1CE);
    for _ in 0..2 {
        let y3 = y * y * y;
        y *= (y3 + 2.0 * x) / (2.0 * y3 + x);
    }
    y
}

/// b = g Δt n² / h_f^{7/3} of the friction term and 1/h_f, from y = h_f^{−1/3}
/// (h_f^{−7/3} = y^7, without a division).
#[inline(always)]
fn friction_and_inverse(g_dt: f64, n: f64, hf: f64) -> (f64, f64) {
    let y = inv_cbrt_pos(hf);
    let y2 = y * y;
    let y7 = y2 * y2 * y2 * y;
    (g_dt * n * n * y7, y2 * y)
}

/// A face discharge `q` (positive from the cell before the face to the cell after it) scaled
/// by its donor's limiter factor: `before` for q > 0, `after` for q < 0. Written as
/// max(q, 0) before + min(q, 0) after, which is exactly one of the two products (the other
/// term is +0) and, unlike a choice between the two factors, vectorises.
#[inline(always)]
fn donor_scaled(q: f64, before: f64, after: f64) -> f64 {
    fmax(q, 0.0) * before + fmin(q, 0.0) * after
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

/// |q| / d, or 0 where d = 0 (a closed or dry face carries q = 0).
#[inline(always)]
fn speed(q: f64, d: f64) -> f64 {
    if d > 0.0 { q.abs() / d } else { 0.0 }
}

/// The ring buffers of a band, read by continuity.
struct Rings<'s> {
    mx: &'s [f64],
    my: &'s [f64],
    lim: &'s [f64],
    ones: &'s [f64],
}

/// The faces of one row that share a stencil: the cells on either side (`l` and `r` along
/// the face normal) and the old discharges of the face and its two neighbours along the
/// normal. All slices have one entry per face.
struct Faces<'s> {
    zl: &'s [f64],
    zr: &'s [f64],
    hl: &'s [f64],
    hr: &'s [f64],
    al: &'s [bool],
    ar: &'s [bool],
    nl: &'s [f64],
    nr: &'s [f64],
    q0: &'s [f64],
    qm: &'s [f64],
    qp: &'s [f64],
}

impl Step<'_> {
    /// Discharge and speed of an interior face: the local-inertial update with the friction
    /// fully implicit ([`implicit_friction`]), the flow depth h_f = max(η_L, η_R) −
    /// max(z_L, z_R) (Bates et al. 2010), the old discharges and the result clamped to
    /// ± h_f k sqrt(g h_max). `cells_wet`: both cells active; `a`: the advection term
    /// (m²/s², used when `ADV`). Branch-free: a dry face computes with h_f = `dry` and
    /// returns 0.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn face<const ADV: bool>(
        &self,
        zl: f64,
        zr: f64,
        hl: f64,
        hr: f64,
        cells_wet: bool,
        n: f64,
        q0: f64,
        qm: f64,
        qp: f64,
        a: f64,
    ) -> (f64, f64) {
        let (el, er) = (zl + hl, zr + hr);
        let hc = fmax(el, er) - fmax(zl, zr);
        let wet = cells_wet & (hc > self.dry);
        let hf = if wet { hc } else { self.dry };
        let cap = hf * self.u_cap;
        let q_avg = theta_average(self.theta, clamp(q0, cap), clamp(qm, cap), clamp(qp, cap));
        // with advection the pressure term takes the momentum-conservative depth on a flat
        // bed, the mean of the two depths
        let hp = if ADV { fmin(hf, 0.5 * (hl + hr)) } else { hf };
        let g_dt = self.g * self.dt;
        let rhs = q_avg - g_dt / self.dx * hp * (er - el) - self.dt * a;
        let (b, inv_hf) = friction_and_inverse(g_dt, n, hf);
        // the same velocity bound on the result: thin films cannot outrun k sqrt(g h_max)
        let q = clamp(implicit_friction(rhs, b), cap);
        let q = if wet { q } else { 0.0 };
        (q, q.abs() * inv_hf)
    }

    /// New discharges of a row of interior faces without advection; returns their largest
    /// speed.
    #[inline(always)]
    fn faces(&self, f: &Faces, out: &mut [f64]) -> f64 {
        let m = out.len();
        let f = Faces {
            zl: &f.zl[..m],
            zr: &f.zr[..m],
            hl: &f.hl[..m],
            hr: &f.hr[..m],
            al: &f.al[..m],
            ar: &f.ar[..m],
            nl: &f.nl[..m],
            nr: &f.nr[..m],
            q0: &f.q0[..m],
            qm: &f.qm[..m],
            qp: &f.qp[..m],
        };
        // The speeds are never negative, so their bit patterns as integers order like the
        // values: an integer maximum, which the compiler vectorises (a floating-point one it
        // does not).
        let mut smax = 0_i64;
        for (i, o) in out.iter_mut().enumerate() {
            let (q, s) = self.face_of_row(&f, i);
            *o = q;
            smax = smax.max(s.to_bits() as i64);
        }
        f64::from_bits(smax as u64)
    }

    /// Face `i` of a row of interior faces without advection.
    #[inline(always)]
    fn face_of_row(&self, f: &Faces, i: usize) -> (f64, f64) {
        let n = 0.5 * (f.nl[i] + f.nr[i]);
        self.face::<false>(
            f.zl[i],
            f.zr[i],
            f.hl[i],
            f.hr[i],
            f.al[i] & f.ar[i],
            n,
            f.q0[i],
            f.qm[i],
            f.qp[i],
            0.0,
        )
    }

    /// Discharge across an edge face whose inner cell is `c`, and the depth that turns it
    /// into a speed for the CFL condition. `sign` is +1 when the outside lies toward growing
    /// index (east, south), −1 otherwise. `q0`, `qin` are the face's old discharge and its
    /// inner neighbour's.
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
                // η_R − η_L, with the ghost on the outside
                let deta = if sign > 0.0 { level - eta } else { eta - level };
                let q0 = clamp(q0, cap);
                let q_avg = theta_average(self.theta, q0, clamp(qin, cap), q0);
                let g_dt = self.g * self.dt;
                let rhs = q_avg - g_dt / self.dx * hf * deta;
                let (b, _) = friction_and_inverse(g_dt, self.n[c], hf);
                let q = clamp(implicit_friction(rhs, b), cap);
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

    /// Face velocities of x-face row `j` (advection only).
    pub(crate) fn velocities_x(&self, j: usize, out: &mut [f64]) {
        let nx = self.nx;
        for (i, u) in out.iter_mut().enumerate() {
            *u = self.vel(self.qx[j * (nx + 1) + i], self.hf_x(j, i));
        }
    }

    /// Face velocities of y-face row `j` (advection only).
    pub(crate) fn velocities_y(&self, j: usize, out: &mut [f64]) {
        let nx = self.nx;
        for (i, v) in out.iter_mut().enumerate() {
            *v = self.vel(self.qy[j * nx + i], self.hf_y(j, i));
        }
    }

    /// Advection of x-momentum at interior x-face `i` of row `j`: ∂(q u)/∂x + ∂(q v)/∂y in
    /// conservative form, first-order upwind (after Stelling & Duinmeijer 2003, *Int. J.
    /// Numer. Meth. Fluids* 43, 1329–1354).
    fn adv_x(&self, j: usize, i: usize) -> f64 {
        let (nx, ny, qx) = (self.nx, self.ny, self.qx);
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

    /// Advection of y-momentum at interior y-face `i` of face row `j` (see
    /// [`Step::adv_x`]).
    fn adv_y(&self, j: usize, i: usize) -> f64 {
        let (nx, qy) = (self.nx, self.qy);
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

    /// New (unlimited) x-face discharges of row `j`; returns their largest speed.
    #[inline(always)]
    fn momentum_x(&self, j: usize, out: &mut [f64]) -> f64 {
        let nx = self.nx;
        let c0 = j * nx;
        let o = &self.qx[j * (nx + 1)..(j + 1) * (nx + 1)];
        let (q, s) = self.edge_face(self.bounds.west, c0, -1.0, o[0], o[1.min(nx)]);
        out[0] = q;
        let mut smax = speed(q, s);
        if nx > 1 {
            let f = Faces {
                zl: &self.z[c0..c0 + nx - 1],
                zr: &self.z[c0 + 1..c0 + nx],
                hl: &self.h[c0..c0 + nx - 1],
                hr: &self.h[c0 + 1..c0 + nx],
                al: &self.active[c0..c0 + nx - 1],
                ar: &self.active[c0 + 1..c0 + nx],
                nl: &self.n[c0..c0 + nx - 1],
                nr: &self.n[c0 + 1..c0 + nx],
                q0: &o[1..nx],
                qm: &o[..nx - 1],
                qp: &o[2..],
            };
            let interior = &mut out[1..nx];
            let s = if self.advection {
                self.faces_advected(&f, interior, |i| self.adv_x(j, i + 1))
            } else {
                self.faces(&f, interior)
            };
            smax = fmax(smax, s);
        }
        let (q, s) = self.edge_face(self.bounds.east, c0 + nx - 1, 1.0, o[nx], o[nx - 1]);
        out[nx] = q;
        fmax(smax, speed(q, s))
    }

    /// New (unlimited) discharges of y-face row `jf` (between cell rows `jf − 1` and `jf`);
    /// returns their largest speed.
    #[inline(always)]
    fn momentum_y(&self, jf: usize, out: &mut [f64]) -> f64 {
        let (nx, ny) = (self.nx, self.ny);
        let o = |r: usize| &self.qy[r * nx..(r + 1) * nx];
        let mut smax: f64 = 0.0;
        if jf == 0 || jf == ny {
            let (b, c0, sign, inner) = if jf == 0 {
                (self.bounds.north, 0, -1.0, o(1))
            } else {
                (self.bounds.south, (ny - 1) * nx, 1.0, o(ny - 1))
            };
            let own = o(jf);
            for i in 0..nx {
                let (q, s) = self.edge_face(b, c0 + i, sign, own[i], inner[i]);
                out[i] = q;
                smax = fmax(smax, speed(q, s));
            }
            return smax;
        }
        let (cu, cd) = ((jf - 1) * nx, jf * nx);
        let f = Faces {
            zl: &self.z[cu..cu + nx],
            zr: &self.z[cd..cd + nx],
            hl: &self.h[cu..cu + nx],
            hr: &self.h[cd..cd + nx],
            al: &self.active[cu..cu + nx],
            ar: &self.active[cd..cd + nx],
            nl: &self.n[cu..cu + nx],
            nr: &self.n[cd..cd + nx],
            q0: o(jf),
            qm: o(jf - 1),
            qp: o(jf + 1),
        };
        if self.advection {
            self.faces_advected(&f, out, |i| self.adv_y(jf, i))
        } else {
            self.faces(&f, out)
        }
    }

    /// New discharges of a row of interior faces with advection (`adv(i)` the term of face
    /// `i` of the row); returns their largest speed.
    fn faces_advected(&self, f: &Faces, out: &mut [f64], adv: impl Fn(usize) -> f64) -> f64 {
        let mut smax: f64 = 0.0;
        for (i, o) in out.iter_mut().enumerate() {
            let cells_wet = f.al[i] & f.ar[i];
            let a = if cells_wet { adv(i) } else { 0.0 };
            let n = 0.5 * (f.nl[i] + f.nr[i]);
            let (q, s) = self.face::<true>(
                f.zl[i], f.zr[i], f.hl[i], f.hr[i], cells_wet, n, f.q0[i], f.qm[i], f.qp[i], a,
            );
            *o = q;
            smax = fmax(smax, s);
        }
        smax
    }

    /// Limiter factors of row `j` (its x-faces `x`, its north and south y-faces `yn`, `ys`):
    /// the share of each cell's outgoing discharge that its water can supply during the
    /// step.
    #[inline(always)]
    fn limiter(&self, j: usize, x: &[f64], yn: &[f64], ys: &[f64], out: &mut [f64]) {
        let nx = self.nx;
        let h = &self.h[j * nx..(j + 1) * nx];
        let (xw, xe, yn, ys) = (&x[..nx], &x[1..nx + 1], &yn[..nx], &ys[..nx]);
        let k = self.dt / self.dx;
        for (i, f) in out[..nx].iter_mut().enumerate() {
            let outflow =
                fmax(xe[i], 0.0) + fmax(-xw[i], 0.0) + fmax(ys[i], 0.0) + fmax(-yn[i], 0.0);
            let need = outflow * k;
            *f = if need > h[i] { h[i] / need } else { 1.0 };
        }
    }

    /// Continuity of row `j` with rain, infiltration and statistics: limits the row's
    /// x-faces (`x`, unlimited, with the row's factors `lim`) and its north and south y-faces
    /// (`yn`, `ys`, their donors' factors in `lim_n`, `lim`, `lim_s`), writes the limited
    /// x-faces and north faces into `out` (row `r` of the band) and the south faces into
    /// `south`, updates the depths and statistics; returns the row's sums.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn continuity(
        &self,
        j: usize,
        r: usize,
        x: &[f64],
        yn: &[f64],
        ys: &[f64],
        lims: [&[f64]; 3],
        out: &mut BandOut,
        south: &mut [f64],
        rain: &mut [f64],
        infil: &mut [f64],
    ) -> RowSums {
        let nx = self.nx;
        let c0 = j * nx;
        let [lim_n, lim, lim_s] = lims.map(|l| &l[..nx]);
        let (x, yn, ys) = (&x[..nx + 1], &yn[..nx], &ys[..nx]);

        // Each face scaled by its donor cell's factor (faces shared with a neighbouring row
        // are scaled by the same arithmetic there, so what one cell loses its neighbour gains
        // exactly); inflow across an edge has no donor.
        let xl = &mut out.qx[r * (nx + 1)..(r + 1) * (nx + 1)];
        let q = x[0];
        xl[0] = if q < 0.0 { q * lim[0] } else { q };
        let interior = xl[1..nx].iter_mut().zip(&x[1..nx]);
        for ((o, &q), (&lw, &le)) in interior.zip(lim.iter().zip(&lim[1..])) {
            *o = donor_scaled(q, lw, le);
        }
        let q = x[nx];
        xl[nx] = if q > 0.0 { q * lim[nx - 1] } else { q };
        let yl = &mut out.qy[r * nx..(r + 1) * nx];
        for ((o, &q), (&ln, &l)) in yl.iter_mut().zip(yn).zip(lim_n.iter().zip(lim)) {
            *o = donor_scaled(q, ln, l);
        }
        let south = &mut south[..nx];
        for ((o, &q), (&l, &ls)) in south.iter_mut().zip(ys).zip(lim.iter().zip(lim_s)) {
            *o = donor_scaled(q, l, ls);
        }

        // Rain and infiltration capacity of the row's cells over the step.
        let dt = self.dt;
        let (rain, infil) = (&mut rain[..nx], &mut infil[..nx]);
        match self.rain {
            RainNow::Uniform(r) => rain.fill(r * dt),
            RainNow::PerCell(v) => {
                for (o, &v) in rain.iter_mut().zip(&v[c0..c0 + nx]) {
                    *o = mm_h_to_m_s(v) * dt;
                }
            }
        }
        if self.infiltration {
            for (o, &c) in infil.iter_mut().zip(&self.infil_class[c0..c0 + nx]) {
                *o = self.infil_rates[c as usize] * dt;
            }
        } else {
            infil.fill(0.0);
        }

        let xl = &out.qx[r * (nx + 1)..(r + 1) * (nx + 1)];
        let (xw, xe) = (&xl[..nx], &xl[1..nx + 1]);
        let yl = &out.qy[r * nx..(r + 1) * nx];
        let ys: &[f64] = south;
        let act = &self.active[c0..c0 + nx];
        let h_old = &self.h[c0..c0 + nx];
        let rows = r * nx..(r + 1) * nx;
        let h = &mut out.h[rows.clone()];
        let max_depth = &mut out.max_depth[rows.clone()];
        let time_of_max = &mut out.time_of_max[rows.clone()];
        let duration = &mut out.duration[rows.clone()];
        let hazard = &mut out.hazard[rows];
        let dt_dx = dt / self.dx;
        let (t_end, thr, dry) = (self.t_end, self.threshold, self.dry);
        for i in 0..nx {
            let net = (xw[i] - xe[i] + yl[i] - ys[i]) * dt_dx;
            let d = fmax(h_old[i] + net, 0.0) + rain[i];
            let f = fmin(infil[i], d);
            let d = d - f;
            let a = act[i];
            let d = if a { d } else { 0.0 };
            rain[i] = if a { rain[i] } else { 0.0 };
            infil[i] = if a { f } else { 0.0 };
            h[i] = d;
            let up = d > max_depth[i];
            max_depth[i] = if up { d } else { max_depth[i] };
            time_of_max[i] = if up { t_end } else { time_of_max[i] };
            duration[i] += if d > thr { dt } else { 0.0 };
            let qxc = 0.5 * (xw[i] + xe[i]);
            let qyc = 0.5 * (yl[i] + ys[i]);
            let hz = if d > dry {
                (qxc * qxc + qyc * qyc).sqrt()
            } else {
                0.0
            };
            hazard[i] = fmax(hazard[i], hz);
        }

        // The row's sums, LANES partial sums in a fixed order.
        let mut acc = [[0.0; LANES]; 4];
        let full = nx - nx % LANES;
        let h: &[f64] = h;
        for ((hc, rc), fc) in h[..full]
            .chunks_exact(LANES)
            .zip(rain[..full].chunks_exact(LANES))
            .zip(infil[..full].chunks_exact(LANES))
        {
            for l in 0..LANES {
                acc[0][l] = fmax(acc[0][l], hc[l]);
                acc[1][l] += hc[l];
                acc[2][l] += rc[l];
                acc[3][l] += fc[l];
            }
        }
        for i in full..nx {
            acc[0][0] = fmax(acc[0][0], h[i]);
            acc[1][0] += h[i];
            acc[2][0] += rain[i];
            acc[3][0] += infil[i];
        }
        let sum = |a: [f64; LANES]| (a[0] + a[1]) + (a[2] + a[3]);
        RowSums {
            h_max: fmax(fmax(acc[0][0], acc[0][1]), fmax(acc[0][2], acc[0][3])),
            storage: sum(acc[1]),
            rain: sum(acc[2]),
            infiltration: sum(acc[3]),
        }
    }

    /// Continuity of row `j` of the band starting at `j0`, from the ring buffers.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn update_row(
        &self,
        j: usize,
        j0: usize,
        rings: &Rings,
        out: &mut BandOut,
        south: &mut [f64],
        rain: &mut [f64],
        infil: &mut [f64],
    ) {
        let (nx, ny) = (self.nx, self.ny);
        let x = &rings.mx[(j % 2) * (nx + 1)..][..nx + 1];
        let yn = &rings.my[(j % 3) * nx..][..nx];
        let ys = &rings.my[((j + 1) % 3) * nx..][..nx];
        let row = |k: usize| &rings.lim[(k % 3) * nx..][..nx];
        let lim_n = if j > 0 { row(j - 1) } else { rings.ones };
        let lim_s = if j + 1 < ny { row(j + 1) } else { rings.ones };
        let lims = [lim_n, row(j), lim_s];
        out.sums[j - j0] = self.continuity(j, j - j0, x, yn, ys, lims, out, south, rain, infil);
    }

    /// Runs the sweep over the band of rows starting at `j0` whose outputs are `out`, with
    /// the band's ring buffers `s`; the band's largest face speed goes to `s.speed` and, for
    /// the last band, the limited discharges of the south edge to `s.south`.
    #[inline(always)]
    fn band_impl(&self, j0: usize, mut out: BandOut, s: &mut Scratch) {
        let (nx, ny) = (self.nx, self.ny);
        let j1 = j0 + out.sums.len();
        let first = j0.saturating_sub(1);
        let last = j1.min(ny - 1);
        let Scratch {
            mx,
            my,
            lim,
            ones,
            south,
            rain,
            infil,
            speed,
        } = s;
        let ones: &[f64] = ones;
        let w = nx + 1;
        let mut smax = self.momentum_y(first, &mut my[(first % 3) * nx..][..nx]);
        for j in first..=last {
            smax = fmax(smax, self.momentum_x(j, &mut mx[(j % 2) * w..][..w]));
            smax = fmax(
                smax,
                self.momentum_y(j + 1, &mut my[((j + 1) % 3) * nx..][..nx]),
            );
            {
                let x = &mx[(j % 2) * w..][..w];
                let yn = &my[(j % 3) * nx..][..nx];
                let ys = &my[((j + 1) % 3) * nx..][..nx];
                self.limiter(j, x, yn, ys, &mut lim[(j % 3) * nx..][..nx]);
            }
            if j > j0 {
                let rings = Rings { mx, my, lim, ones };
                self.update_row(j - 1, j0, &rings, &mut out, south, rain, infil);
            }
        }
        if j1 == ny {
            let rings = Rings { mx, my, lim, ones };
            self.update_row(ny - 1, j0, &rings, &mut out, south, rain, infil);
        }
        *speed = smax;
    }

    /// [`Step::band_impl`] compiled for AVX-512 (eight lanes of f64).
    ///
    /// # Safety
    /// The CPU must support the features enabled here ([`Isa::detect`] checks them).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx512vl,avx2")]
    unsafe fn band_avx512(&self, j0: usize, out: BandOut, s: &mut Scratch) {
        self.band_impl(j0, out, s)
    }

    /// [`Step::band_impl`] compiled for AVX2 (four lanes of f64).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn band_avx2(&self, j0: usize, out: BandOut, s: &mut Scratch) {
        self.band_impl(j0, out, s)
    }

    /// Runs the sweep over one band (see [`Step::band_impl`]) in the build for `isa`.
    pub(crate) fn band(&self, j0: usize, out: BandOut, s: &mut Scratch, isa: Isa) {
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::detect` found these features on this CPU.
            Isa::Avx512 => unsafe { self.band_avx512(j0, out, s) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Isa::Avx2 => unsafe { self.band_avx2(j0, out, s) },
            _ => self.band_impl(j0, out, s),
        }
    }
}

/// The vector instruction set the sweep is run with. Every build does the same IEEE
/// operations in the same order on each cell (none allows fused multiply–add), so all give
/// the same bits; the wider ones take fewer instructions.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) enum Isa {
    /// The target's baseline (SSE2 on x86-64).
    Baseline,
    /// AVX2: four lanes of f64.
    Avx2,
    /// AVX-512 (F, DQ, BW, VL): eight lanes of f64.
    Avx512,
}

impl Isa {
    /// The widest build this CPU runs.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512dq") && has!("avx512bw") && has!("avx512vl") {
                return Isa::Avx512;
            }
            if has!("avx2") {
                return Isa::Avx2;
            }
        }
        Isa::Baseline
    }
}

#[cfg(test)]
mod tests {
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
