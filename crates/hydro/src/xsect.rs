//! Conduit cross-section geometry (SWMM 5 Reference Manual Vol. II, ch. 3 and
//! Appendix A): area, top width and hydraulic radius as functions of depth,
//! the inverse relations, the section factor S = A·R^(2/3) used for normal
//! flow, and critical depth.
//!
//! Closed circular sections use geometric tables sampled at 51 equally spaced
//! points of relative depth or relative area with linear interpolation (plus a
//! quadratic correction in the first two intervals), as SWMM does; the table
//! values here are computed from circle geometry, not copied. Rectangular,
//! trapezoidal and triangular sections are evaluated in closed form.
//!
//! All lengths are in feet, as in SWMM's internal computation.

use std::f64::consts::PI;
use std::sync::OnceLock;

/// Acceleration of gravity (ft/s²), SWMM's `GRAVITY`.
pub const GRAVITY: f64 = 32.2;
/// Fraction of full area at which a closed rectangle's section factor peaks.
const RECT_ALFMAX: f64 = 0.97;
/// Same for a rectangle with a triangular bottom.
const RECT_TRIANG_ALFMAX: f64 = 0.98;
/// Same for a rectangle with a rounded bottom.
const RECT_ROUND_ALFMAX: f64 = 0.98;
/// Same for the modified basket handle.
const MOD_BASKET_ALFMAX: f64 = 0.96;
/// SWMM shapes known only by SWMM's own digitised tables of depth, width
/// and section factor (xsect.dat, after the hydraulic-element curves of
/// older sewer manuals). No published outline of theirs (arc radii and
/// centres) is known to build tables from, and SWMM's are not copied, so
/// they are refused rather than approximated. SWMM reads only Geom1 (the
/// full height) for the first five; ARCH also takes a span or a size code.
pub const TABLE_ONLY_SHAPES: [&str; 6] = [
    "GOTHIC",
    "CATENARY",
    "SEMIELLIPTICAL",
    "BASKETHANDLE",
    "SEMICIRCULAR",
    "ARCH",
];
/// Why a [`TABLE_ONLY_SHAPES`] section is refused, and what to use instead.
pub const TABLE_ONLY_REASON: &str = "this shape is defined only by SWMM's digitised \
     geometry tables, with no published outline to build it from, so it is not modelled; \
     describe the section with a CUSTOM shape curve instead";
/// Number of points in the circular geometry tables.
const NTAB: usize = 51;

/// Supported cross-section shapes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Shape {
    /// Closed circular pipe.
    Circular,
    /// Circular pipe with sediment filling the bottom to `y_bot`.
    FilledCircular,
    /// Closed rectangular box.
    RectClosed,
    /// Open rectangular channel; `s_bot` sides (0–2) ignored for friction.
    RectOpen,
    /// Closed rectangle with a triangular bottom of height `y_bot`.
    RectTriangular,
    /// Open trapezoidal channel.
    Trapezoidal,
    /// Open triangular channel.
    Triangular,
    /// Closed rectangle over a circular-arc bottom of radius `r_bot`.
    RectRound,
    /// Closed rectangle under a circular-arc top of radius `r_bot`.
    ModBasket,
    /// Open parabolic channel `y = c·x²`, `r_bot = 1/√c`.
    Parabolic,
    /// Open channel whose half width grows as depth to the power `s_bot`.
    Power,
    /// A shape described by normalised geometry tables (natural channels,
    /// shape curves, standard sewer shapes); see [`GeomTables`].
    Tabulated,
    /// Dummy link (no geometry): pumps, regulators, outlets.
    Dummy,
}

/// Normalised geometry of a tabulated shape: each table holds equally
/// spaced values over [0, 1] of its argument (relative depth y/y_full for
/// area, hydraulic radius and width; relative area A/A_full for depth and
/// section factor). A shape has the depth-indexed tables, the area-indexed
/// ones, or both; what is missing is found by inverse lookup, as SWMM does.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct GeomTables {
    /// A/A_full by y/y_full.
    pub area: Vec<f64>,
    /// R/R_full by y/y_full.
    pub hrad: Vec<f64>,
    /// W/W_max by y/y_full.
    pub width: Vec<f64>,
    /// y/y_full by A/A_full.
    pub depth: Vec<f64>,
    /// S/S_full by A/A_full.
    pub sfac: Vec<f64>,
    /// Area at which the section factor peaks, over the full area.
    pub a_max_frac: f64,
    /// Open at the top (no crown, no surcharge).
    pub open: bool,
}

/// A cross section with SWMM's derived full-flow properties.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct XSect {
    /// Shape.
    pub shape: Shape,
    /// Full depth (ft).
    pub y_full: f64,
    /// Maximum top width (ft).
    pub w_max: f64,
    /// Full area (ft²).
    pub a_full: f64,
    /// Full hydraulic radius (ft).
    pub r_full: f64,
    /// Section factor when full.
    pub s_full: f64,
    /// Maximum section factor.
    pub s_max: f64,
    /// Shape parameter: filled depth (filled circular) or bottom width (trapezoid).
    pub y_bot: f64,
    /// Shape parameter: side slope (trapezoid/triangle) or ignored sides (open rectangle).
    pub s_bot: f64,
    /// Shape parameter: wetted-perimeter factor of the sides.
    pub r_bot: f64,
    /// Shape parameter: filled area (filled circular).
    pub a_bot: f64,
    /// Geometry tables of a tabulated shape.
    pub tables: Option<std::sync::Arc<GeomTables>>,
    /// Depth of the widest point (ft), where seepage through the wetted
    /// width stops growing.
    pub yw_max: f64,
    /// Closed conduit surcharging through a Preissmann slot
    /// (SURCHARGE_METHOD SLOT); set by the engine.
    pub slot: bool,
    /// A force main's full-flow roughness as given (Geom2): Hazen–Williams
    /// C-factor or Darcy–Weisbach roughness height; 0 for other sections.
    pub force_main: f64,
}

/// Fraction of the full depth above which a closed conduit's surcharge
/// runs in a Preissmann slot (SWMM's SLOT_CROWN_CUTOFF).
pub const SLOT_CROWN_CUTOFF: f64 = 0.985_257;

/// Error building a cross section.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("cross section {shape}: {message}")]
pub struct XSectError {
    /// Shape keyword.
    pub shape: String,
    /// What is wrong.
    pub message: String,
}

struct CircTables {
    /// A/Afull at y/yfull = i/50.
    a: [f64; NTAB],
    /// W/D at y/yfull = i/50.
    w: [f64; NTAB],
    /// R/Rfull at y/yfull = i/50.
    r: [f64; NTAB],
    /// y/yfull at A/Afull = i/50.
    y: [f64; NTAB],
    /// S/Sfull at A/Afull = i/50.
    s: [f64; NTAB],
}

/// Central angle θ of a circular segment with relative area `alpha`
/// (A/Afull = (θ − sin θ)/2π), by Newton iteration.
fn theta_of_alpha(alpha: f64) -> f64 {
    if alpha <= 0.0 {
        return 0.0;
    }
    if alpha >= 1.0 {
        return 2.0 * PI;
    }
    let ap = 2.0 * PI * alpha;
    // Small-angle start: θ − sin θ ≈ θ³/6.
    let mut th = if alpha < 0.04 {
        (6.0 * ap).cbrt()
    } else {
        1.2 + 5.08 * (alpha - 0.04) / 0.96
    };
    for _ in 0..60 {
        let f = th - th.sin() - ap;
        let df = 1.0 - th.cos();
        if df.abs() < 1e-300 {
            break;
        }
        let mut d = f / df;
        if d.abs() > 1.0 {
            d = d.signum();
        }
        th -= d;
        if d.abs() < 1e-13 {
            break;
        }
    }
    th
}

fn circ_tables() -> &'static CircTables {
    static T: OnceLock<CircTables> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = CircTables {
            a: [0.0; NTAB],
            w: [0.0; NTAB],
            r: [0.0; NTAB],
            y: [0.0; NTAB],
            s: [0.0; NTAB],
        };
        for i in 0..NTAB {
            let x = i as f64 / (NTAB - 1) as f64;
            // By relative depth.
            let th = 2.0 * (1.0 - 2.0 * x).clamp(-1.0, 1.0).acos();
            t.a[i] = (th - th.sin()) / (2.0 * PI);
            t.w[i] = 2.0 * (x * (1.0 - x)).max(0.0).sqrt();
            t.r[i] = if th > 0.0 { 1.0 - th.sin() / th } else { 0.0 };
            // By relative area.
            let th = theta_of_alpha(x);
            t.y[i] = (1.0 - (th / 2.0).cos()) / 2.0;
            t.s[i] = if th > 0.0 {
                x * (1.0 - th.sin() / th).powf(2.0 / 3.0)
            } else {
                0.0
            };
        }
        t
    })
}

/// Lookup at x in [0, 1] in a table of equally spaced entries, linear
/// with a quadratic correction in the first two intervals (SWMM's rule).
/// Inlined so that a fixed-size table's spacing folds to a constant, as the
/// circular sections called on every conduit and trial need.
#[inline]
pub(crate) fn lookup(x: f64, table: &[f64]) -> f64 {
    let n = table.len();
    let delta = 1.0 / (n - 1) as f64;
    if x <= 0.0 {
        return table[0].max(0.0);
    }
    let i = (x / delta) as usize;
    if i >= n - 1 {
        return table[n - 1];
    }
    let x0 = i as f64 * delta;
    let x1 = (i + 1) as f64 * delta;
    let mut y = table[i] + (x - x0) * (table[i + 1] - table[i]) / delta;
    if i < 2 && n > 2 {
        let y2 = y
            + (x - x0) * (x - x1) / (delta * delta)
                * (table[i] / 2.0 - table[i + 1] + table[i + 2] / 2.0);
        if y2 > 0.0 {
            y = y2;
        }
    }
    y.max(0.0)
}

/// Inverse lookup: x such that table(x) = y, over the increasing part of
/// the table (a section-factor table may fall over its last two entries).
pub(crate) fn inv_lookup(y: f64, table: &[f64]) -> f64 {
    let nt = table.len();
    let dx = 1.0 / (nt - 1) as f64;
    let mut n = nt;
    if nt >= 3 && table[n - 3] > table[n - 1] {
        n -= 2;
    }
    let i = if n < nt && y > table[nt - 1] {
        if y >= table[nt - 3] {
            return (n - 1) as f64 * dx;
        }
        if y <= table[nt - 2] { nt - 2 } else { nt - 3 }
    } else {
        locate(y, &table[..n])
    };
    if i >= n - 1 {
        return (n - 1) as f64 * dx;
    }
    let x0 = i as f64 * dx;
    let dy = table[i + 1] - table[i];
    let x = if dy == 0.0 {
        x0
    } else {
        x0 + (y - table[i]) * dx / dy
    };
    x.clamp(0.0, 1.0)
}

fn locate(y: f64, table: &[f64]) -> usize {
    let j_last = table.len() - 1;
    if y <= table[0] {
        return 0;
    }
    if y >= table[j_last] {
        return j_last;
    }
    let (mut j1, mut j2) = (0, j_last);
    while j2 - j1 > 1 {
        let j = (j1 + j2) / 2;
        if y >= table[j] {
            j1 = j;
        } else {
            j2 = j;
        }
    }
    j1
}

impl XSect {
    /// A dummy section (non-conduit links).
    pub fn dummy() -> Self {
        let t = 1e-6;
        XSect {
            shape: Shape::Dummy,
            y_full: t,
            w_max: t,
            a_full: t,
            r_full: t,
            s_full: t,
            s_max: t,
            y_bot: 0.0,
            s_bot: 0.0,
            r_bot: 0.0,
            a_bot: 0.0,
            tables: None,
            yw_max: 0.0,
            slot: false,
            force_main: 0.0,
        }
    }

    /// A tabulated section of full depth `y_full` (ft) with full area, full
    /// hydraulic radius and widest width (ft², ft, ft) and its tables. The
    /// largest section factor is `s_max` if given, else the value at the
    /// tables' peak area.
    pub fn tabulated(
        y_full: f64,
        a_full: f64,
        r_full: f64,
        w_max: f64,
        t: GeomTables,
        s_max: Option<f64>,
    ) -> Self {
        let mut x = XSect::dummy();
        x.shape = Shape::Tabulated;
        x.y_full = y_full;
        x.a_full = a_full;
        x.r_full = r_full;
        x.w_max = w_max;
        x.s_full = a_full * r_full.powf(2.0 / 3.0);
        x.tables = Some(std::sync::Arc::new(t));
        x.s_max = match s_max {
            Some(s) => s,
            None => x.s_of_a(x.a_max()).max(x.s_full),
        };
        // The lowest widest point: the width table up to where it narrows.
        let w = &x.tab().width;
        let mut i_max = 0;
        for i in 1..w.len() {
            if w[i] < w[i_max] {
                break;
            }
            i_max = i;
        }
        x.yw_max = y_full * i_max as f64 / (w.len().max(2) - 1) as f64;
        x
    }

    fn tab(&self) -> &GeomTables {
        // Only tabulated sections dispatch here, and they always carry tables.
        static EMPTY: OnceLock<GeomTables> = OnceLock::new();
        self.tables
            .as_deref()
            .unwrap_or_else(|| EMPTY.get_or_init(GeomTables::default))
    }

    /// Builds a section from an `[XSECTIONS]` shape keyword and its geometric
    /// parameters, converted to feet with `ucf` (user length units per foot).
    pub fn new(shape: &str, g: [f64; 4], ucf: f64) -> Result<Self, XSectError> {
        let err = |m: &str| XSectError {
            shape: shape.to_string(),
            message: m.to_string(),
        };
        if g[0] <= 0.0 {
            return Err(err("Geom1 (full depth) must be positive"));
        }
        let mut x = XSect::dummy();
        let y_full = g[0] / ucf;
        match shape {
            "CIRCULAR" => {
                x.set_full_circle(y_full);
                x.s_full = x.a_full * x.r_full.powf(2.0 / 3.0);
                x.s_max = 1.08 * x.s_full;
            }
            "FORCE_MAIN" => {
                // A circular pipe whose full-flow friction follows
                // Hazen–Williams or Darcy–Weisbach. SWMM scales its section
                // factor with the Hazen–Williams exponent R^0.63 and caps it
                // at 1.06949 of full (xsect.c), which sets its full and
                // normal flows.
                if g[1] <= 0.0 {
                    return Err(err("Geom2 (C-factor or roughness height) must be positive"));
                }
                x.set_full_circle(y_full);
                x.s_full = x.a_full * x.r_full.powf(0.63);
                x.s_max = 1.069_49 * x.s_full;
                x.force_main = g[1];
            }
            "FILLED_CIRCULAR" => {
                if g[1] >= g[0] || g[1] < 0.0 {
                    return Err(err("Geom2 (filled depth) must be in [0, Geom1)"));
                }
                // Full circle first, then remove the filled segment.
                x.set_full_circle(y_full);
                let y_bot = g[1] / ucf;
                let a_bot = x.a_of_y(y_bot);
                let s_bot = x.w_of_y(y_bot);
                let r_bot =
                    a_bot / (x.r_full * lookup(y_bot / y_full, &circ_tables().r)).max(1e-30);
                let a_full = x.a_full - a_bot;
                let r_full = a_full / (PI * y_full - r_bot + s_bot);
                x.shape = Shape::FilledCircular;
                x.y_bot = y_bot;
                x.a_bot = a_bot;
                x.s_bot = s_bot;
                x.r_bot = r_bot;
                x.a_full = a_full;
                x.r_full = r_full;
                x.s_full = a_full * r_full.powf(2.0 / 3.0);
                x.s_max = 1.08 * x.s_full;
                x.y_full = y_full - y_bot;
            }
            "RECT_CLOSED" => {
                if g[1] <= 0.0 {
                    return Err(err("Geom2 (width) must be positive"));
                }
                x.shape = Shape::RectClosed;
                x.y_full = y_full;
                x.w_max = g[1] / ucf;
                x.a_full = y_full * x.w_max;
                x.r_full = x.a_full / (2.0 * (y_full + x.w_max));
                x.s_full = x.a_full * x.r_full.powf(2.0 / 3.0);
                let a_max = RECT_ALFMAX * x.a_full;
                x.s_max = a_max * x.rect_closed_r_of_a(a_max).powf(2.0 / 3.0);
            }
            "RECT_TRIANGULAR" => {
                if g[1] <= 0.0 || g[2] <= 0.0 {
                    return Err(err(
                        "Geom2 (width) and Geom3 (triangle height) must be positive",
                    ));
                }
                x.shape = Shape::RectTriangular;
                x.y_full = y_full;
                x.w_max = g[1] / ucf;
                x.y_bot = g[2] / ucf;
                x.a_bot = x.y_bot * x.w_max / 2.0;
                x.s_bot = x.w_max / x.y_bot / 2.0;
                x.r_bot = (1.0 + x.s_bot * x.s_bot).sqrt();
                x.a_full = x.w_max * (y_full - x.y_bot / 2.0);
                x.r_full =
                    x.a_full / (2.0 * x.y_bot * x.r_bot + 2.0 * (y_full - x.y_bot) + x.w_max);
                x.s_full = x.a_full * x.r_full.powf(2.0 / 3.0);
                let a_max = RECT_TRIANG_ALFMAX * x.a_full;
                x.s_max = a_max * x.r_of_a(a_max).powf(2.0 / 3.0);
            }
            "RECT_OPEN" => {
                if g[1] <= 0.0 {
                    return Err(err("Geom2 (width) must be positive"));
                }
                if !(0.0..=2.0).contains(&g[2]) {
                    return Err(err("Geom3 (sides ignored) must be 0, 1 or 2"));
                }
                x.shape = Shape::RectOpen;
                x.y_full = y_full;
                x.w_max = g[1] / ucf;
                x.s_bot = g[2];
                x.a_full = y_full * x.w_max;
                x.r_full = x.a_full / ((2.0 - x.s_bot) * y_full + x.w_max);
                x.s_full = x.a_full * x.r_full.powf(2.0 / 3.0);
                x.s_max = x.s_full;
            }
            "TRAPEZOIDAL" => {
                if g[1] < 0.0 || g[2] < 0.0 || g[3] < 0.0 {
                    return Err(err("Geom2..4 must not be negative"));
                }
                x.shape = Shape::Trapezoidal;
                x.y_full = y_full;
                x.y_bot = g[1] / ucf;
                x.s_bot = (g[2] + g[3]) / 2.0;
                if x.y_bot == 0.0 && x.s_bot == 0.0 {
                    return Err(err("bottom width and side slopes cannot all be zero"));
                }
                x.r_bot = (1.0 + g[2] * g[2]).sqrt() + (1.0 + g[3] * g[3]).sqrt();
                x.w_max = x.y_bot + y_full * (g[2] + g[3]);
                x.a_full = (x.y_bot + x.s_bot * y_full) * y_full;
                x.r_full = x.a_full / (x.y_bot + y_full * x.r_bot);
                x.s_full = x.a_full * x.r_full.powf(2.0 / 3.0);
                x.s_max = x.s_full;
            }
            "TRIANGULAR" => {
                if g[1] <= 0.0 {
                    return Err(err("Geom2 (top width) must be positive"));
                }
                x.shape = Shape::Triangular;
                x.y_full = y_full;
                x.w_max = g[1] / ucf;
                x.s_bot = x.w_max / y_full / 2.0;
                x.r_bot = (1.0 + x.s_bot * x.s_bot).sqrt();
                x.a_full = y_full * y_full * x.s_bot;
                x.r_full = x.a_full / (2.0 * y_full * x.r_bot);
                x.s_full = x.a_full * x.r_full.powf(2.0 / 3.0);
                x.s_max = x.s_full;
            }
            "RECT_ROUND" => {
                x.set_rect_and_arc(Shape::RectRound, g, ucf)?;
                // Section factor of the full circle of the bottom's radius.
                x.s_bot = PI * x.r_bot * x.r_bot * (x.r_bot / 2.0).powf(2.0 / 3.0);
                let a_max = RECT_ROUND_ALFMAX * x.a_full;
                x.s_max = a_max * x.r_of_a(a_max).powf(2.0 / 3.0);
            }
            "MODBASKETHANDLE" => {
                // s_bot keeps the top arc's central angle.
                x.s_bot = x.set_rect_and_arc(Shape::ModBasket, g, ucf)?;
                x.s_max = x.s_of_a(MOD_BASKET_ALFMAX * x.a_full);
            }
            "PARABOLIC" => {
                if g[1] <= 0.0 {
                    return Err(err("Geom2 (top width) must be positive"));
                }
                x.shape = Shape::Parabolic;
                x.y_full = y_full;
                x.w_max = g[1] / ucf;
                x.r_bot = x.w_max / 2.0 / y_full.sqrt();
                x.a_full = 2.0 / 3.0 * y_full * x.w_max;
                x.r_full = x.r_of_y(y_full);
                x.s_full = x.a_full * x.r_full.powf(2.0 / 3.0);
                x.s_max = x.s_full;
            }
            "POWER" => {
                if g[1] <= 0.0 || g[2] <= 0.0 {
                    return Err(err(
                        "Geom2 (top width) and Geom3 (exponent) must be positive",
                    ));
                }
                x.shape = Shape::Power;
                x.y_full = y_full;
                x.w_max = g[1] / ucf;
                x.s_bot = 1.0 / g[2];
                x.r_bot = x.w_max / (x.s_bot + 1.0) / y_full.powf(x.s_bot);
                x.a_full = y_full * x.w_max / (x.s_bot + 1.0);
                x.r_full = x.r_of_y(y_full);
                x.s_full = x.a_full * x.r_full.powf(2.0 / 3.0);
                x.s_max = x.s_full;
            }
            "EGG" | "HORSESHOE" => {
                let st = crate::shapes::standard(shape).ok_or_else(|| err("unknown shape"))?;
                let mut t = st.tables.clone();
                t.open = false;
                let peak = t.sfac.iter().copied().fold(0.0, f64::max);
                let a_full = st.a_full * y_full * y_full;
                let r_full = st.r_full * y_full;
                let s_full = a_full * r_full.powf(2.0 / 3.0);
                x = XSect::tabulated(
                    y_full,
                    a_full,
                    r_full,
                    st.w_max * y_full,
                    t,
                    Some(peak * s_full),
                );
            }
            "HORIZ_ELLIPSE" | "VERT_ELLIPSE" => {
                if g[1] == 0.0 || g[2] > 0.0 {
                    return Err(err(
                        "standard elliptical pipe size codes are not supported; give rise and span",
                    ));
                }
                if g[1] < 0.0 {
                    return Err(err("Geom2 (span) must be positive"));
                }
                let st = crate::shapes::standard(shape).ok_or_else(|| err("unknown shape"))?;
                // Full area and hydraulic radius by SWMM's formula for custom
                // elliptical sizes (Vol. II Table 5-5), on the minor axis.
                let w = g[1] / ucf;
                let minor = if shape == "HORIZ_ELLIPSE" { y_full } else { w };
                let a_full = 1.2692 * minor * minor;
                let r_full = 0.3061 * minor;
                let s_full = a_full * r_full.powf(2.0 / 3.0);
                x = XSect::tabulated(y_full, a_full, r_full, w, st.tables.clone(), Some(s_full));
            }
            s if TABLE_ONLY_SHAPES.contains(&s) => return Err(err(TABLE_ONLY_REASON)),
            other => return Err(err(&format!("shape '{other}' is not supported yet"))),
        }
        x.yw_max = match x.shape {
            Shape::Circular | Shape::FilledCircular => 0.5 * x.y_full,
            Shape::ModBasket => x.y_full - x.y_bot,
            Shape::Tabulated => x.yw_max,
            _ => x.y_full,
        };
        Ok(x)
    }

    /// A full circle of diameter `d`: shape, depth, width, area and
    /// hydraulic radius; the section factors are left to the caller.
    fn set_full_circle(&mut self, d: f64) {
        self.shape = Shape::Circular;
        self.y_full = d;
        self.w_max = d;
        self.a_full = PI / 4.0 * d * d;
        self.r_full = 0.25 * d;
    }

    /// Geometry shared by a rectangle closed by a circular arc of radius
    /// Geom3 (at least half the width Geom2) at its bottom or top: full
    /// area and hydraulic radius, the arc's height `y_bot` and area `a_bot`.
    /// Returns the arc's central angle.
    fn set_rect_and_arc(&mut self, shape: Shape, g: [f64; 4], ucf: f64) -> Result<f64, XSectError> {
        let err = |m: &str| XSectError {
            shape: format!("{shape:?}"),
            message: m.to_string(),
        };
        if g[1] <= 0.0 {
            return Err(err("Geom2 (width) must be positive"));
        }
        let r = g[2].max(g[1] / 2.0) / ucf;
        self.shape = shape;
        self.y_full = g[0] / ucf;
        self.w_max = g[1] / ucf;
        self.r_bot = r;
        let theta = 2.0 * (self.w_max / 2.0 / r).asin();
        self.y_bot = r * (1.0 - (theta / 2.0).cos());
        if self.y_bot > self.y_full {
            return Err(err("the circular arc is taller than Geom1"));
        }
        self.a_bot = r * r / 2.0 * (theta - theta.sin());
        self.a_full = self.w_max * (self.y_full - self.y_bot) + self.a_bot;
        self.r_full = self.a_full / (r * theta + 2.0 * (self.y_full - self.y_bot) + self.w_max);
        self.s_full = self.a_full * self.r_full.powf(2.0 / 3.0);
        Ok(theta)
    }

    /// Width (ft) of the Preissmann slot that carries a closed conduit's
    /// surcharge at depth `y`: none below the slot's crown cutoff (0.985257
    /// of the full depth, as SWMM 5.1.013+), Sjöberg's (1982) decaying width
    /// `0.5423 · W · exp(-(y/Y)^2.4)` up to 1.78 full depths, 1 % of the
    /// maximum width above that (SWMM dwflow.c getSlotWidth).
    pub fn slot_width(&self, y: f64) -> f64 {
        let y_norm = y / self.y_full;
        if self.is_open() || y_norm < SLOT_CROWN_CUTOFF {
            0.0
        } else if y_norm > 1.78 {
            0.01 * self.w_max
        } else {
            self.w_max * 0.5423 * (-y_norm.powf(2.4)).exp()
        }
    }

    /// True for open channels (no crown, no surcharge).
    pub fn is_open(&self) -> bool {
        match self.shape {
            Shape::RectOpen
            | Shape::Trapezoidal
            | Shape::Triangular
            | Shape::Parabolic
            | Shape::Power => true,
            Shape::Tabulated => self.tab().open,
            _ => false,
        }
    }

    fn rect_closed_r_of_a(&self, a: f64) -> f64 {
        if a <= 0.0 {
            return 0.0;
        }
        let mut p = self.w_max + 2.0 * a / self.w_max;
        if a / self.a_full > RECT_ALFMAX {
            p += (a / self.a_full - RECT_ALFMAX) / (1.0 - RECT_ALFMAX) * self.w_max;
        }
        a / p
    }

    /// Filled circular sections are evaluated as the full circle shifted by the fill.
    fn full_circle(&self) -> XSect {
        let mut c = self.clone();
        c.shape = Shape::Circular;
        c.y_full = self.y_full + self.y_bot;
        c.a_full = PI / 4.0 * c.y_full * c.y_full;
        c.r_full = 0.25 * c.y_full;
        c.s_full = c.a_full * c.r_full.powf(2.0 / 3.0);
        c
    }

    /// Flow area at depth y.
    pub fn a_of_y(&self, y: f64) -> f64 {
        if y <= 0.0 {
            return 0.0;
        }
        match self.shape {
            Shape::Circular => self.a_full * lookup(y / self.y_full, &circ_tables().a),
            Shape::FilledCircular => {
                let c = self.full_circle();
                c.a_of_y(y + self.y_bot) - self.a_bot
            }
            Shape::RectClosed | Shape::RectOpen => y * self.w_max,
            Shape::RectTriangular => {
                if y <= self.y_bot {
                    y * y * self.s_bot
                } else {
                    self.a_bot + (y - self.y_bot) * self.w_max
                }
            }
            Shape::Trapezoidal => (self.y_bot + self.s_bot * y) * y,
            Shape::Triangular => y * y * self.s_bot,
            Shape::RectRound => {
                if y > self.y_bot {
                    self.a_bot + (y - self.y_bot) * self.w_max
                } else {
                    let th = arc_angle(y, self.r_bot);
                    0.5 * self.r_bot * self.r_bot * (th - th.sin())
                }
            }
            Shape::ModBasket => {
                if y <= self.y_full - self.y_bot {
                    y * self.w_max
                } else {
                    let th = arc_angle((self.y_full - y).max(0.0), self.r_bot);
                    self.a_full - 0.5 * self.r_bot * self.r_bot * (th - th.sin())
                }
            }
            Shape::Parabolic => 4.0 / 3.0 * self.r_bot * y * y.sqrt(),
            Shape::Power => self.r_bot * y.powf(self.s_bot + 1.0),
            Shape::Tabulated => {
                let t = self.tab();
                let yn = y / self.y_full;
                self.a_full
                    * if t.area.is_empty() {
                        inv_lookup(yn, &t.depth)
                    } else {
                        lookup(yn, &t.area)
                    }
            }
            Shape::Dummy => 0.0,
        }
    }

    /// Top width at depth y.
    pub fn w_of_y(&self, y: f64) -> f64 {
        match self.shape {
            Shape::Circular => self.w_max * lookup(y / self.y_full, &circ_tables().w),
            Shape::FilledCircular => {
                let yn = (y + self.y_bot) / (self.y_full + self.y_bot);
                self.w_max * lookup(yn, &circ_tables().w)
            }
            Shape::RectClosed => {
                if y / self.y_full >= 1.0 {
                    0.0
                } else {
                    self.w_max
                }
            }
            Shape::RectOpen => self.w_max,
            Shape::RectTriangular => {
                if y <= self.y_bot {
                    2.0 * self.s_bot * y
                } else {
                    self.w_max
                }
            }
            Shape::Trapezoidal => self.y_bot + 2.0 * y * self.s_bot,
            Shape::Triangular => 2.0 * self.s_bot * y,
            Shape::RectRound => {
                if y > self.y_bot {
                    self.w_max
                } else {
                    2.0 * (y * (2.0 * self.r_bot - y)).max(0.0).sqrt()
                }
            }
            Shape::ModBasket => {
                if y <= 0.0 {
                    0.0
                } else if y <= self.y_full - self.y_bot {
                    self.w_max
                } else {
                    let y1 = (self.y_full - y).max(0.0);
                    2.0 * (y1 * (2.0 * self.r_bot - y1)).max(0.0).sqrt()
                }
            }
            Shape::Parabolic => 2.0 * self.r_bot * y.max(0.0).sqrt(),
            Shape::Power => (self.s_bot + 1.0) * self.r_bot * y.max(0.0).powf(self.s_bot),
            Shape::Tabulated => self.w_max * lookup(y / self.y_full, &self.tab().width),
            Shape::Dummy => 0.0,
        }
    }

    /// Hydraulic radius at depth y.
    pub fn r_of_y(&self, y: f64) -> f64 {
        if y <= 0.0 {
            return 0.0;
        }
        match self.shape {
            Shape::Circular => self.r_full * lookup(y / self.y_full, &circ_tables().r),
            Shape::FilledCircular => {
                if self.y_bot == 0.0 {
                    return self.r_full * lookup(y / self.y_full, &circ_tables().r);
                }
                let c = self.full_circle();
                let a = c.a_of_y(y + self.y_bot) - self.a_bot;
                if a <= 0.0 {
                    return 0.0;
                }
                let theta1 = 2.0
                    * (1.0 - 2.0 * (y + self.y_bot) / c.y_full)
                        .clamp(-1.0, 1.0)
                        .acos();
                let p = theta1 * c.y_full / 2.0 - self.r_bot + self.s_bot;
                if p > 0.0 { a / p } else { 0.0 }
            }
            Shape::Trapezoidal => self.a_of_y(y) / (self.y_bot + y * self.r_bot),
            Shape::Triangular => (y * self.s_bot) / (2.0 * self.r_bot),
            Shape::RectRound if y <= self.y_bot => {
                // SWMM 5.2.4 rect_round_getRofY evaluates r·(1 − sin θ)/(2θ)
                // here (the circular segment has r·(1 − sin θ/θ)/2); kept
                // so that friction in the rounded bottom agrees with SWMM.
                let th = arc_angle(y, self.r_bot);
                0.5 * self.r_bot * (1.0 - th.sin()) / th
            }
            Shape::Parabolic => self.a_of_y(y) / self.parab_perimeter(y),
            Shape::Power => self.a_of_y(y) / self.power_perimeter(y),
            Shape::Tabulated if !self.tab().hrad.is_empty() => {
                self.r_full * lookup(y / self.y_full, &self.tab().hrad)
            }
            _ => self.r_of_a(self.a_of_y(y)),
        }
    }

    /// Wetted perimeter of a parabolic channel at depth y (arc length of
    /// `y = x²/r_bot²`, both sides).
    fn parab_perimeter(&self, y: f64) -> f64 {
        let x = 2.0 * y.sqrt() / self.r_bot;
        let t = (1.0 + x * x).sqrt();
        0.5 * self.r_bot * self.r_bot * (x * t + (x + t).ln())
    }

    /// Wetted perimeter of a power-law channel at depth y, summing chords
    /// over depth increments of 2 % of the full depth (SWMM's quadrature).
    fn power_perimeter(&self, y: f64) -> f64 {
        let dy1 = 0.02 * self.y_full;
        let h = (self.s_bot + 1.0) * self.r_bot / 2.0;
        let (mut p, mut y1, mut x1) = (0.0, 0.0, 0.0);
        loop {
            let y2 = (y1 + dy1).min(y);
            let x2 = h * y2.powf(self.s_bot);
            p += ((x2 - x1) * (x2 - x1) + (y2 - y1) * (y2 - y1)).sqrt();
            x1 = x2;
            y1 = y2;
            if y2 >= y {
                break;
            }
        }
        2.0 * p
    }

    /// Hydraulic radius at flow area a.
    pub fn r_of_a(&self, a: f64) -> f64 {
        if a <= 0.0 {
            return 0.0;
        }
        match self.shape {
            Shape::RectClosed => self.rect_closed_r_of_a(a),
            Shape::RectTriangular => {
                let y = self.y_of_a(a);
                if y <= self.y_bot {
                    return a / (2.0 * y * self.r_bot);
                }
                let mut p = 2.0 * self.y_bot * self.r_bot + 2.0 * (y - self.y_bot);
                let alf = a / self.a_full - RECT_TRIANG_ALFMAX;
                if alf > 0.0 {
                    p += alf / (1.0 - RECT_TRIANG_ALFMAX) * self.w_max;
                }
                a / p
            }
            Shape::RectOpen => a / (self.w_max + (2.0 - self.s_bot) * a / self.w_max),
            Shape::Trapezoidal => a / (self.y_bot + self.y_of_a(a) * self.r_bot),
            Shape::Triangular => a / (2.0 * self.y_of_a(a) * self.r_bot),
            Shape::FilledCircular => self.r_of_y(self.y_of_a(a)),
            Shape::RectRound => {
                if a > self.a_bot {
                    let y1 = (a - self.a_bot) / self.w_max;
                    let th = 2.0 * (self.w_max / 2.0 / self.r_bot).asin();
                    let mut p = self.r_bot * th + 2.0 * y1;
                    let arg = a / self.a_full - RECT_ROUND_ALFMAX;
                    if arg > 0.0 {
                        p += arg / (1.0 - RECT_ROUND_ALFMAX) * self.w_max;
                    }
                    a / p
                } else {
                    let th = arc_angle(self.y_of_a(a), self.r_bot);
                    a / (self.r_bot * th)
                }
            }
            Shape::ModBasket => {
                if a <= self.a_full - self.a_bot {
                    a / (self.w_max + 2.0 * a / self.w_max)
                } else {
                    let th = arc_angle(self.y_full - self.y_of_a(a), self.r_bot);
                    let p = (self.s_bot - th) * self.r_bot
                        + 2.0 * (self.y_full - self.y_bot)
                        + self.w_max;
                    a / p
                }
            }
            Shape::Parabolic => a / self.parab_perimeter(self.y_of_a(a)),
            Shape::Power => a / self.power_perimeter(self.y_of_a(a)),
            Shape::Tabulated => {
                if self.tab().sfac.is_empty() {
                    self.r_of_y(self.y_of_a(a))
                } else {
                    let s = self.s_of_a(a);
                    if s < 1e-6 || a < 1e-6 {
                        0.0
                    } else {
                        (s / a).powf(1.5)
                    }
                }
            }
            Shape::Circular => {
                let s = self.s_of_a(a);
                if s < 1e-6 || a < 1e-6 {
                    0.0
                } else {
                    (s / a).powf(1.5)
                }
            }
            Shape::Dummy => 0.0,
        }
    }

    /// Depth at flow area a.
    pub fn y_of_a(&self, a: f64) -> f64 {
        if a <= 0.0 {
            return 0.0;
        }
        match self.shape {
            Shape::Circular => {
                let alpha = a / self.a_full;
                if alpha < 0.04 {
                    let th = theta_of_alpha(alpha);
                    self.y_full * (1.0 - (th / 2.0).cos()) / 2.0
                } else {
                    self.y_full * lookup(alpha, &circ_tables().y)
                }
            }
            Shape::FilledCircular => {
                let c = self.full_circle();
                c.y_of_a(a + self.a_bot) - self.y_bot
            }
            Shape::RectClosed | Shape::RectOpen => a / self.w_max,
            Shape::RectTriangular => {
                if a <= self.a_bot {
                    (a / self.s_bot).sqrt()
                } else {
                    self.y_bot + (a - self.a_bot) / self.w_max
                }
            }
            Shape::Trapezoidal => {
                if self.s_bot == 0.0 {
                    a / self.y_bot
                } else {
                    ((self.y_bot * self.y_bot + 4.0 * self.s_bot * a).sqrt() - self.y_bot)
                        / (2.0 * self.s_bot)
                }
            }
            Shape::Triangular => (a / self.s_bot).sqrt(),
            Shape::RectRound => {
                if a > self.a_bot {
                    self.y_bot + (a - self.a_bot) / self.w_max
                } else {
                    2.0 * self.r_bot * circ_y_frac(a / (PI * self.r_bot * self.r_bot))
                }
            }
            Shape::ModBasket => {
                if a <= self.a_full - self.a_bot {
                    a / self.w_max
                } else {
                    let alpha = (self.a_full - a) / (PI * self.r_bot * self.r_bot);
                    self.y_full - 2.0 * self.r_bot * circ_y_frac(alpha)
                }
            }
            Shape::Parabolic => (0.75 * a / self.r_bot).powf(2.0 / 3.0),
            Shape::Power => (a / self.r_bot).powf(1.0 / (self.s_bot + 1.0)),
            Shape::Tabulated => {
                let t = self.tab();
                let alpha = a / self.a_full;
                self.y_full
                    * if t.depth.is_empty() {
                        inv_lookup(alpha, &t.area)
                    } else {
                        lookup(alpha, &t.depth)
                    }
            }
            Shape::Dummy => 0.0,
        }
    }

    /// Section factor S = A·R^(2/3) at flow area a.
    pub fn s_of_a(&self, a: f64) -> f64 {
        if a <= 0.0 {
            return 0.0;
        }
        match self.shape {
            Shape::Circular => {
                let alpha = a / self.a_full;
                if alpha < 0.04 {
                    let th = theta_of_alpha(alpha);
                    self.s_full * alpha * (1.0 - th.sin() / th).powf(2.0 / 3.0)
                } else {
                    self.s_full * lookup(alpha, &circ_tables().s)
                }
            }
            Shape::RectClosed => {
                if a / self.a_full > RECT_ALFMAX {
                    self.s_max
                        + (self.s_full - self.s_max) * (a / self.a_full - RECT_ALFMAX)
                            / (1.0 - RECT_ALFMAX)
                } else {
                    a * self.r_of_a(a).powf(2.0 / 3.0)
                }
            }
            Shape::RectTriangular => {
                let alf = a / self.a_full;
                if alf > RECT_TRIANG_ALFMAX {
                    self.s_max
                        + (self.s_full - self.s_max) * (alf - RECT_TRIANG_ALFMAX)
                            / (1.0 - RECT_TRIANG_ALFMAX)
                } else {
                    a * self.r_of_a(a).powf(2.0 / 3.0)
                }
            }
            Shape::RectRound => {
                let alf = a / self.a_full;
                if alf > RECT_ROUND_ALFMAX {
                    self.s_max
                        + (self.s_full - self.s_max) * (alf - RECT_ROUND_ALFMAX)
                            / (1.0 - RECT_ROUND_ALFMAX)
                } else if a > self.a_bot {
                    a * self.r_of_a(a).powf(2.0 / 3.0)
                } else {
                    self.s_bot * circ_s_frac(a / (PI * self.r_bot * self.r_bot))
                }
            }
            Shape::Tabulated if !self.tab().sfac.is_empty() => {
                self.s_full * lookup(a / self.a_full, &self.tab().sfac)
            }
            _ => {
                let r = self.r_of_a(a);
                if r < 1e-6 { 0.0 } else { a * r.powf(2.0 / 3.0) }
            }
        }
    }

    /// Largest flow area (area at which the section factor peaks for closed shapes).
    fn a_max(&self) -> f64 {
        match self.shape {
            Shape::Circular | Shape::FilledCircular => 0.9756 * self.a_full,
            Shape::RectClosed => RECT_ALFMAX * self.a_full,
            Shape::RectTriangular => RECT_TRIANG_ALFMAX * self.a_full,
            Shape::RectRound => RECT_ROUND_ALFMAX * self.a_full,
            Shape::ModBasket => MOD_BASKET_ALFMAX * self.a_full,
            Shape::Tabulated => self.tab().a_max_frac * self.a_full,
            _ => self.a_full,
        }
    }

    /// dS/dA at area a: the table segment slope for circular sections above
    /// 4 % full (as SWMM's tabular derivative), a central difference otherwise.
    pub fn ds_da(&self, a: f64) -> f64 {
        let alpha = a / self.a_full;
        // dS/dA = [5/3 − (2/3)(dP/dA)·R]·R^(2/3) where the wetted perimeter
        // has a closed form (SWMM xsect.c, Vol. I §3.4); central differences
        // elsewhere and for vanishing areas.
        let analytic = |dpda: f64, r: f64| (5.0 / 3.0 - (2.0 / 3.0) * dpda * r) * r.powf(2.0 / 3.0);
        match self.shape {
            Shape::Circular => {
                if alpha <= 1e-30 {
                    return 1e-30;
                }
                if alpha < 0.04 {
                    let th = theta_of_alpha(alpha);
                    let r = a / (th * self.y_full / 2.0);
                    let dpda = 4.0 / self.y_full / (1.0 - th.cos());
                    return analytic(dpda, r);
                }
                let delta = 1.0 / (NTAB - 1) as f64;
                let i = ((alpha / delta) as usize).min(NTAB - 2);
                let t = &circ_tables().s;
                (t[i + 1] - t[i]) / delta * self.s_full / self.a_full
            }
            Shape::RectClosed if alpha > RECT_ALFMAX => {
                (self.s_full - self.s_max) / ((1.0 - RECT_ALFMAX) * self.a_full)
            }
            Shape::RectTriangular if alpha > RECT_TRIANG_ALFMAX => {
                (self.s_full - self.s_max) / ((1.0 - RECT_TRIANG_ALFMAX) * self.a_full)
            }
            Shape::RectClosed if alpha > 1e-30 => analytic(2.0 / self.w_max, self.r_of_a(a)),
            Shape::RectOpen if alpha > 1e-30 => {
                analytic((2.0 - self.s_bot) / self.w_max, self.r_of_a(a))
            }
            Shape::RectTriangular if alpha > 1e-30 => {
                let dpda = if a > self.a_bot {
                    2.0 / self.w_max
                } else {
                    self.r_bot / (a * self.s_bot).sqrt()
                };
                analytic(dpda, self.r_of_a(a))
            }
            Shape::Trapezoidal if alpha > 1e-30 => {
                let dpda = self.r_bot / (self.y_bot * self.y_bot + 4.0 * self.s_bot * a).sqrt();
                analytic(dpda, self.r_of_a(a))
            }
            Shape::Triangular if alpha > 1e-30 => {
                analytic(self.r_bot / (a * self.s_bot).sqrt(), self.r_of_a(a))
            }
            Shape::RectRound if alpha > RECT_ROUND_ALFMAX => {
                (self.s_full - self.s_max) / ((1.0 - RECT_ROUND_ALFMAX) * self.a_full)
            }
            Shape::RectRound if a > self.a_bot => analytic(2.0 / self.w_max, self.r_of_a(a)),
            Shape::ModBasket if a <= self.a_full - self.a_bot && alpha > 1e-30 => {
                let r = a / (self.w_max + 2.0 * a / self.w_max);
                analytic(2.0 / self.w_max, r)
            }
            Shape::Tabulated if !self.tab().sfac.is_empty() => {
                let t = &self.tab().sfac;
                let delta = 1.0 / (t.len() - 1) as f64;
                let i = ((alpha / delta) as usize).min(t.len() - 2);
                (t[i + 1] - t[i]) / delta * self.s_full / self.a_full
            }
            _ => {
                let a1 = (alpha - 0.001).max(0.0) * self.a_full;
                let a2 = (alpha + 0.001) * self.a_full;
                (self.s_of_a(a2) - self.s_of_a(a1)) / (a2 - a1)
            }
        }
    }

    /// Area at which the section factor peaks, as a fraction of the full area.
    pub fn a_max_frac(&self) -> f64 {
        self.a_max() / self.a_full
    }

    /// Flow area with section factor s (inverse of [`XSect::s_of_a`]).
    pub fn a_of_s(&self, s: f64) -> f64 {
        if s <= 0.0 {
            return 0.0;
        }
        let s_in = s;
        let s = s.min(self.s_max);
        match self.shape {
            Shape::Circular => {
                let psi = s / self.s_full;
                if psi >= 1.0 {
                    return self.a_full;
                }
                if psi <= 0.015 {
                    // Solve S(θ) directly for small flows.
                    return self.bisect_a_of_s(s, 0.0, 0.1 * self.a_full);
                }
                self.a_full * inv_lookup(psi, &circ_tables().s)
            }
            // SWMM takes the relative section factor before capping it.
            Shape::Tabulated if !self.tab().sfac.is_empty() => {
                self.a_full * inv_lookup(s_in / self.s_full, &self.tab().sfac)
            }
            _ => {
                // SWMM generic_getAofS: safeguarded Newton from the middle of the
                // bracket, stopping at a step below 1e-4 of the full area. For
                // very shallow flows that tolerance is comparable to the area
                // itself, and kinematic-wave depths follow this inversion, so it
                // is kept as SWMM has it rather than solved more tightly.
                let (a1, a2) = if s <= self.s_max && s >= self.s_full && self.s_max != self.s_full {
                    (self.a_full, self.a_max())
                } else {
                    (0.0, self.a_max())
                };
                find_root_newton(a1, a2, 0.5 * (a1 + a2), 1e-4 * self.a_full, |a| {
                    (self.s_of_a(a) - s, self.ds_da(a))
                })
            }
        }
    }

    fn bisect_a_of_s(&self, s: f64, mut lo: f64, mut hi: f64) -> f64 {
        // S(A) is increasing on [0, a_max]; bisection is robust and cheap enough.
        if self.s_of_a(hi) <= s {
            return hi;
        }
        for _ in 0..80 {
            let mid = 0.5 * (lo + hi);
            if self.s_of_a(mid) < s {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo < 1e-10 * self.a_full {
                break;
            }
        }
        0.5 * (lo + hi)
    }

    /// Critical depth for flow q (cfs).
    pub fn y_crit(&self, q: f64) -> f64 {
        let q2g = q * q / GRAVITY;
        if q2g == 0.0 {
            return 0.0;
        }
        let y = match self.shape {
            Shape::Dummy => return 0.0,
            Shape::RectOpen | Shape::RectClosed => (q2g / (self.w_max * self.w_max)).cbrt(),
            Shape::Triangular => (2.0 * q2g / (self.s_bot * self.s_bot)).powf(0.2),
            Shape::Parabolic => (27.0 / 32.0 * q2g / (self.r_bot * self.r_bot)).powf(0.25),
            Shape::Power => (q2g * (self.s_bot + 1.0) / (self.r_bot * self.r_bot))
                .powf(1.0 / (2.0 * self.s_bot + 3.0)),
            _ => {
                let mut y = 1.01 * (q2g / self.y_full).powf(0.25);
                if y >= self.y_full {
                    y = 0.97 * self.y_full;
                }
                let r = self.a_full / (PI / 4.0 * self.y_full * self.y_full);
                if (0.5..=2.0).contains(&r) {
                    self.y_crit_enum(q, y)
                } else {
                    self.y_crit_ridder(q, y)
                }
            }
        };
        y.min(self.y_full)
    }

    fn q_critical(&self, y: f64) -> f64 {
        let a = self.a_of_y(y);
        let w = self.w_of_y(y);
        if w > 0.0 {
            a * (GRAVITY * a / w).sqrt()
        } else {
            0.0
        }
    }

    /// Critical depth by enumeration over 25 depth intervals (SWMM's method
    /// for shapes close to circular).
    fn y_crit_enum(&self, q: f64, y0: f64) -> f64 {
        let dy = self.y_full / 25.0;
        let i1 = (y0 / dy) as i32;
        let mut q0 = self.q_critical(i1 as f64 * dy);
        if q0 < q {
            let mut yc = self.y_full;
            for i in i1 + 1..=25 {
                let qc = self.q_critical(i as f64 * dy);
                if qc >= q {
                    yc = ((q - q0) / (qc - q0) + (i - 1) as f64) * dy;
                    break;
                }
                q0 = qc;
            }
            yc
        } else {
            let mut yc = 0.0;
            let mut i = i1 - 1;
            while i >= 0 {
                let qc = self.q_critical(i as f64 * dy);
                if qc < q {
                    yc = ((q - qc) / (q0 - qc) + i as f64) * dy;
                    break;
                }
                q0 = qc;
                i -= 1;
            }
            yc
        }
    }

    /// Critical depth by Ridder's method on a bracket narrowed with the
    /// first guess `y0` and half depth, to 0.001 ft (SWMM getYcritRidder).
    fn y_crit_ridder(&self, q: f64, y0: f64) -> f64 {
        let (mut y1, mut y2) = (0.0, 0.99 * self.y_full);
        if self.q_critical(y2) < q {
            return self.y_full;
        }
        let q0 = self.q_critical(y0);
        let q1 = self.q_critical(0.5 * self.y_full);
        if q0 > q {
            y2 = y0;
            if q1 < q {
                y1 = 0.5 * self.y_full;
            }
        } else {
            y1 = y0;
            if q1 > q {
                y2 = 0.5 * self.y_full;
            }
        }
        find_root_ridder(y1, y2, 0.001, |y| {
            let w = self.w_of_y(y);
            if w > 0.0 {
                let a = self.a_of_y(y);
                a * (GRAVITY * a / w).sqrt() - q
            } else {
                -q
            }
        })
    }
}

/// Central angle (rad) of a circular segment of radius `r` filled to depth `y`.
fn arc_angle(y: f64, r: f64) -> f64 {
    2.0 * (1.0 - y / r).clamp(-1.0, 1.0).acos()
}

/// y/D of a circle filled to relative area `alpha` (analytic below 4 % full,
/// the depth table above, as SWMM's getYcircular and Y_Circ lookup).
fn circ_y_frac(alpha: f64) -> f64 {
    if alpha < 0.04 {
        let th = theta_of_alpha(alpha);
        (1.0 - (th / 2.0).cos()) / 2.0
    } else {
        lookup(alpha, &circ_tables().y)
    }
}

/// S/S_full of a circle at relative area `alpha` (analytic below 4 % full).
fn circ_s_frac(alpha: f64) -> f64 {
    if alpha <= 0.0 {
        return 0.0;
    }
    if alpha < 0.04 {
        let th = theta_of_alpha(alpha);
        alpha * (1.0 - th.sin() / th).powf(2.0 / 3.0)
    } else {
        lookup(alpha, &circ_tables().s)
    }
}

/// Newton–Raphson safeguarded by bisection on [x1, x2], stopping when a step
/// is smaller than `xacc` (Press et al., Numerical Recipes, `rtsafe`; the
/// variant SWMM uses in findroot.c). `f` returns the function and its derivative.
pub fn find_root_newton(
    x1: f64,
    x2: f64,
    x0: f64,
    xacc: f64,
    f: impl Fn(f64) -> (f64, f64),
) -> f64 {
    let mut x = x0;
    let (mut xlo, mut xhi) = (x1, x2);
    let mut dxold = (x2 - x1).abs();
    let mut dx = dxold;
    let (mut fx, mut dfx) = f(x);
    for _ in 0..60 {
        if ((x - xhi) * dfx - fx) * ((x - xlo) * dfx - fx) >= 0.0
            || (2.0 * fx).abs() > (dxold * dfx).abs()
        {
            dxold = dx;
            dx = 0.5 * (xhi - xlo);
            x = xlo + dx;
            if xlo == x {
                break;
            }
        } else {
            dxold = dx;
            dx = fx / dfx;
            let t = x;
            x -= dx;
            if t == x {
                break;
            }
        }
        if dx.abs() < xacc {
            break;
        }
        (fx, dfx) = f(x);
        if fx < 0.0 {
            xlo = x;
        } else {
            xhi = x;
        }
    }
    x
}

/// Ridder's method on [x1, x2] (Press et al., Numerical Recipes, `zriddr`;
/// the variant SWMM uses in findroot.c), stopping when the estimate moves by
/// at most `xacc`. Returns the midpoint when the bracket does not change sign.
/// `f` may record what it computes: its last call is at the returned root or
/// at the last point tried.
pub fn find_root_ridder(x1: f64, x2: f64, xacc: f64, mut f: impl FnMut(f64) -> f64) -> f64 {
    let (mut flo, mut fhi) = (f(x1), f(x2));
    if flo == 0.0 {
        return x1;
    }
    if fhi == 0.0 {
        return x2;
    }
    let mut ans = 0.5 * (x1 + x2);
    if !((flo > 0.0 && fhi < 0.0) || (flo < 0.0 && fhi > 0.0)) {
        return ans;
    }
    let (mut xlo, mut xhi) = (x1, x2);
    // |a| with the sign of b differs from a (C's SIGN(a, b) != a).
    let flips = |a: f64, b: f64| (if b >= 0.0 { a.abs() } else { -a.abs() }) != a;
    for _ in 0..60 {
        let xm = 0.5 * (xlo + xhi);
        let fm = f(xm);
        let s = (fm * fm - flo * fhi).sqrt();
        if s == 0.0 {
            return ans;
        }
        let sign = if flo >= fhi { 1.0 } else { -1.0 };
        let xnew = xm + (xm - xlo) * (sign * fm / s);
        if (xnew - ans).abs() <= xacc {
            break;
        }
        ans = xnew;
        let fnew = f(ans);
        if flips(fm, fnew) {
            xlo = xm;
            flo = fm;
            xhi = ans;
            fhi = fnew;
        } else if flips(flo, fnew) {
            xhi = ans;
            fhi = fnew;
        } else if flips(fhi, fnew) {
            xlo = ans;
            flo = fnew;
        } else {
            return ans;
        }
        if (xhi - xlo).abs() <= xacc {
            return ans;
        }
    }
    ans
}

#[cfg(test)]
mod tests;
