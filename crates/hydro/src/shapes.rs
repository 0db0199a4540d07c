//! Tabulated cross sections: natural channels from `[TRANSECTS]` and closed
//! shapes from SHAPE curves, built as SWMM 5 builds them (Reference Manual
//! Vol. II §5.1.7–5.1.8; SWMM transect.c and shape.c): 51 equally spaced
//! depths, each with its flow area, top width and hydraulic radius, the
//! tables normalised by their full values.

use crate::inp;
use crate::xsect::{GeomTables, XSect};

/// Entries in a transect or shape table.
const N_TBL: usize = 51;
/// Largest number of stations SWMM accepts in a transect.
const MAX_STATIONS: usize = 1500;
/// Manning's constant (US units).
const PHI: f64 = 1.486;

/// A natural channel section and the roughness its conduit takes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TransectSection {
    /// The section.
    pub xsect: XSect,
    /// Manning's n of the main channel for the conduit, raised by the square
    /// root of the channel/flood-plain length ratio (meander).
    pub roughness: f64,
    /// That ratio: the conduit's length is the main channel's, its flood
    /// plain's is this much shorter (SWMM link.c conduit_getLength).
    pub length_factor: f64,
}

/// Builds a transect's geometry (SWMM transect.c transect_validate and
/// createTables). Flow areas and widths are summed over the wetted slices
/// between stations; the hydraulic radius is the one that gives, with the
/// main channel's n, the Manning flow summed over parts of equal roughness
/// (left overbank, channel, right overbank), so overbank conveyance shows
/// in a single-channel section. `ucf` is user length units per ft.
pub fn transect(tr: &inp::Transect, ucf: f64) -> Result<TransectSection, String> {
    let [n_left, n_right, n_channel0] = tr.n;
    let x1 = tr.x1;
    let l_factor = if x1[5] == 0.0 { 1.0 } else { x1[5] };
    let x_factor = if x1[6] == 0.0 { 1.0 } else { x1[6] };
    let x_left = x1[1] / ucf * x_factor;
    let x_right = x1[2] / ucf * x_factor;
    // SWMM 5.2.4 converts the elevation offset and then the shifted
    // elevations, so an SI offset is divided twice; kept for agreement.
    let y_factor = x1[7] / ucf;
    if tr.points.len() < 2 {
        return Err("needs at least two stations".into());
    }
    if tr.points.len() >= MAX_STATIONS {
        return Err(format!("has {} or more stations", MAX_STATIONS));
    }
    if n_channel0 <= 0.0 {
        return Err("needs a main channel Manning's n (NC line)".into());
    }
    if x_left > x_right {
        return Err("left bank station lies right of the right bank station".into());
    }
    let n_channel = n_channel0 * l_factor.sqrt();
    // Stations with a vertical wall up to the highest point at each end.
    let mut sta: Vec<f64> = tr.points.iter().map(|p| p.1 * x_factor / ucf).collect();
    let mut elev: Vec<f64> = tr.points.iter().map(|p| (p.0 + y_factor) / ucf).collect();
    let ymax = elev.iter().copied().fold(f64::MIN, f64::max);
    let ymin = elev.iter().copied().fold(f64::MAX, f64::min);
    if ymin >= ymax {
        return Err("has no depth (all stations at one elevation)".into());
    }
    sta.insert(0, sta[0]);
    elev.insert(0, ymax);
    sta.push(*sta.last().unwrap_or(&0.0));
    elev.push(ymax);
    let last = sta.len() - 1;
    let (mut area, mut hrad, mut width) = (vec![0.0; N_TBL], vec![0.0; N_TBL], vec![0.0; N_TBL]);
    let dy = (ymax - ymin) / (N_TBL - 1) as f64;
    let mut y = ymin;
    for i in 1..N_TBL {
        y += dy;
        let (mut wp_sum, mut a_sum, mut q_sum) = (0.0, 0.0, 0.0);
        for k in 1..=last {
            let (ylo, yhi) = if elev[k - 1] >= elev[k] {
                (elev[k], elev[k - 1])
            } else {
                (elev[k - 1], elev[k])
            };
            if ylo >= y {
                continue;
            }
            let dx = (sta[k] - sta[k - 1]).abs();
            let (mut w, mut wp, mut a) = (dx, (dx * dx + (yhi - ylo) * (yhi - ylo)).sqrt(), 0.0);
            if y > yhi {
                a = dx * ((y - yhi) + (y - ylo)) / 2.0;
            } else if yhi > ylo {
                let ratio = (y - ylo) / (yhi - ylo);
                a = dx * (yhi - ylo) / 2.0 * ratio * ratio;
                w *= ratio;
                wp *= ratio;
            }
            wp_sum += wp;
            a_sum += a;
            area[i] += a;
            width[i] += w;
            // Close a part of uniform roughness where the ground rises above
            // the water, at the last station, or at a bank where n changes.
            let mut close = elev[k] >= y;
            if !close {
                close = if k == last - 1 {
                    true
                } else if sta[k] == x_left {
                    n_left != n_channel && sta[k] != sta[k - 1]
                } else if sta[k] == x_right {
                    // A right bank at the last station: the appended end point closes it.
                    n_right != n_channel && sta.get(k + 1).is_none_or(|&s| s != sta[k])
                } else {
                    false
                };
            }
            if close {
                let n = if sta[k - 1] < x_left {
                    n_left
                } else if sta[k] > x_right {
                    n_right
                } else {
                    n_channel
                };
                let q = PHI / n * a_sum * (a_sum / wp_sum).powf(2.0 / 3.0);
                if q > 0.0 {
                    q_sum += q;
                    a_sum = 0.0;
                    wp_sum = 0.0;
                }
            }
        }
        // SWMM inverts Manning's law here with 1.49 (not 1.486); kept.
        hrad[i] = if area[i] == 0.0 {
            hrad[i - 1]
        } else {
            (q_sum * n_channel / 1.49 / area[i]).powf(1.5)
        };
    }
    let (s_max, a_max) = max_section_factor(&area, &hrad);
    let nl = N_TBL - 1;
    let (a_full, r_full, w_max) = (area[nl], hrad[nl], width[nl]);
    if a_full <= 0.0 || r_full <= 0.0 || w_max <= 0.0 {
        return Err("has no flow area".into());
    }
    for i in 1..=nl {
        area[i] /= a_full;
        hrad[i] /= r_full;
        width[i] /= w_max;
    }
    width[0] = width[1];
    let t = GeomTables {
        area,
        hrad,
        width,
        a_max_frac: a_max / a_full,
        open: true,
        ..Default::default()
    };
    Ok(TransectSection {
        xsect: XSect::tabulated(ymax - ymin, a_full, r_full, w_max, t, Some(s_max)),
        roughness: n_channel,
        length_factor: l_factor,
    })
}

/// Largest A·R^(2/3) over the table entries and the area where it occurs.
fn max_section_factor(area: &[f64], hrad: &[f64]) -> (f64, f64) {
    let (mut s_max, mut a_max) = (0.0, 0.0);
    for i in 1..area.len() {
        let sf = area[i] * hrad[i].powf(2.0 / 3.0);
        if sf > s_max {
            s_max = sf;
            a_max = area[i];
        }
    }
    (s_max, a_max)
}

/// Normalised geometry of a SHAPE curve: (depth, width) pairs as fractions
/// of the full depth.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ShapeCurve {
    tables: GeomTables,
    /// Full area, hydraulic radius, widest width, largest section factor and
    /// the area where it occurs, for a full depth of 1.
    a_full: f64,
    r_full: f64,
    w_max: f64,
    s_max: f64,
}

/// Builds the tables of a SHAPE curve (SWMM shape.c computeShapeTables):
/// widths interpolated linearly between the curve's points, areas and
/// perimeters summed over trapezoidal slices, the top closed by the last
/// width. Errors on depths outside [0, 1), decreasing depths or negative
/// widths.
pub fn shape_curve(points: &[(f64, f64)]) -> Result<ShapeCurve, String> {
    let mut it = points.iter().copied();
    let Some((mut y1, mut w1)) = it.next() else {
        return Err("shape curve has no points".into());
    };
    if !(0.0..1.0).contains(&y1) || w1 < 0.0 {
        return Err(
            "shape curve must start at a relative depth in [0, 1) with a width >= 0".into(),
        );
    }
    let mut w_max = w1;
    let (mut y2, mut w2);
    if y1 != 0.0 {
        (y2, w2) = (y1, w1);
        (y1, w1) = (0.0, 0.0);
    } else {
        let Some(next) = it.next() else {
            return Err("shape curve needs a second point".into());
        };
        (y2, w2) = next;
        if y2 < y1 || w2 < 0.0 {
            return Err("shape curve depths must increase and widths be >= 0".into());
        }
        y2 = y2.min(1.0);
        w_max = w_max.max(w2);
    }
    let n = N_TBL - 1;
    let dy = 1.0 / n as f64;
    let (mut area, mut hrad, mut width) = (vec![0.0; N_TBL], vec![0.0; N_TBL], vec![0.0; N_TBL]);
    width[0] = w1;
    let (mut a_tot, mut p_tot) = (0.0, w1);
    let (mut y, mut w) = (0.0, w1);
    for i in 1..=n {
        let (mut y_last, mut w_last) = (y, w);
        y += dy;
        if (y - 1.0).abs() < 1e-6 {
            y = 1.0;
        }
        if y > y2 {
            // Close the slices up to each curve point passed.
            let (mut yl, mut wl) = (y_last, w_last);
            while y > y2 {
                if y2 > yl {
                    a_tot += slice_area(y2, w2, yl, wl);
                    p_tot += slice_perimeter(y2, w2, yl, wl);
                    yl = y2;
                    wl = w2;
                }
                y1 = y2;
                w1 = w2;
                match it.next() {
                    None => {
                        y2 = 1.0;
                        break;
                    }
                    Some((ny, nw)) => {
                        w_max = w_max.max(nw);
                        if ny < y1 || nw < 0.0 {
                            return Err(
                                "shape curve depths must increase and widths be >= 0".into()
                            );
                        }
                        y2 = ny.min(1.0);
                        w2 = nw;
                    }
                }
            }
            y_last = y1;
            w_last = w1;
        }
        w = if y2 == y1 {
            w2
        } else {
            w1 + (y - y1) / (y2 - y1) * (w2 - w1)
        };
        a_tot += slice_area(y, w, y_last, w_last);
        p_tot += slice_perimeter(y, w, y_last, w_last);
        if y == 1.0 {
            p_tot += w2;
        }
        width[i] = w;
        area[i] = a_tot;
        hrad[i] = if p_tot > 0.0 { a_tot / p_tot } else { 0.0 };
    }
    let (a_full, r_full) = (area[n], hrad[n]);
    let (s_max, a_max) = max_section_factor(&area, &hrad);
    if a_full == 0.0 || r_full == 0.0 || w_max == 0.0 {
        return Err("shape curve encloses no area".into());
    }
    for i in 0..=n {
        area[i] /= a_full;
        hrad[i] /= r_full;
        width[i] /= w_max;
    }
    Ok(ShapeCurve {
        tables: GeomTables {
            area,
            hrad,
            width,
            a_max_frac: a_max / a_full,
            open: false,
            ..Default::default()
        },
        a_full,
        r_full,
        w_max,
        s_max,
    })
}

impl ShapeCurve {
    /// The shape scaled to a full depth of `y_full` ft.
    pub fn section(&self, y_full: f64) -> XSect {
        XSect::tabulated(
            y_full,
            self.a_full * y_full * y_full,
            self.r_full * y_full,
            self.w_max * y_full,
            self.tables.clone(),
            Some(self.s_max * y_full * y_full * y_full.powf(2.0 / 3.0)),
        )
    }
}

/// Area of a trapezoidal slice between depths y1 and y with widths w1, w.
fn slice_area(y: f64, w: f64, y1: f64, w1: f64) -> f64 {
    (w + w1) / 2.0 * (y - y1)
}

/// Wetted perimeter of both sides of a slice.
fn slice_perimeter(y: f64, w: f64, y1: f64, w1: f64) -> f64 {
    let (dy, dw) = (y - y1, (w - w1).abs() / 2.0);
    2.0 * (dy * dy + dw * dw).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(points: &[(f64, f64)], n: [f64; 3], banks: (f64, f64)) -> inp::Transect {
        inp::Transect {
            name: "T".into(),
            n,
            x1: [
                points.len() as f64,
                banks.0,
                banks.1,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
            points: points.to_vec(),
        }
    }

    #[test]
    fn rectangular_transect_has_rectangle_geometry() {
        // A 10 ft wide, 4 ft deep rectangle: area 10·y, width 10.
        let t = transect(
            &tr(
                &[(4.0, 0.0), (0.0, 0.0), (0.0, 10.0), (4.0, 10.0)],
                [0.03; 3],
                (0.0, 10.0),
            ),
            1.0,
        )
        .unwrap();
        let x = &t.xsect;
        assert!((x.y_full - 4.0).abs() < 1e-12);
        assert!((x.a_full - 40.0).abs() < 1e-9);
        assert!((x.a_of_y(2.0) - 20.0).abs() < 1e-9);
        assert!((x.w_of_y(1.0) - 10.0).abs() < 1e-9);
        // One roughness: R = A/P with P = 10 + 2y (Manning with 1.49 for 1.486).
        let r = (20.0 / 14.0) * (1.486_f64 / 1.49).powf(1.5);
        assert!((x.r_of_y(2.0) - r).abs() < 1e-6 * r, "{}", x.r_of_y(2.0));
    }

    #[test]
    fn a_right_bank_at_the_last_station_builds() {
        // Banks on the end stations with rougher overbanks (found by fuzzing: it indexed
        // past the stations); the geometry is the rectangle's whatever the roughness.
        let t = transect(
            &tr(
                &[(4.0, 0.0), (0.0, 0.0), (0.0, 10.0), (4.0, 10.0)],
                [0.08, 0.1, 0.03],
                (0.0, 10.0),
            ),
            1.0,
        )
        .unwrap();
        assert!((t.xsect.a_full - 40.0).abs() < 1e-9);
        assert!((t.xsect.w_of_y(1.0) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn rough_overbanks_lower_the_hydraulic_radius() {
        let pts = [
            (6.0, 0.0),
            (3.0, 0.0),
            (3.0, 20.0),
            (0.0, 20.0),
            (0.0, 30.0),
            (3.0, 30.0),
            (3.0, 50.0),
            (6.0, 50.0),
        ];
        let smooth = transect(&tr(&pts, [0.03; 3], (20.0, 30.0)), 1.0).unwrap();
        let rough = transect(&tr(&pts, [0.1, 0.1, 0.03], (20.0, 30.0)), 1.0).unwrap();
        // Below bank level the channel alone flows: the same radius.
        let (a, b) = (smooth.xsect.r_of_y(2.0), rough.xsect.r_of_y(2.0));
        assert!((a - b).abs() < 1e-9 * a);
        // Over the banks, rougher overbanks convey less.
        assert!(rough.xsect.r_of_y(5.0) < 0.8 * smooth.xsect.r_of_y(5.0));
    }

    #[test]
    fn shape_curve_of_a_box_matches_a_closed_rectangle() {
        // Relative width 2 at every depth: a closed box twice as wide as deep.
        let s = shape_curve(&[(0.0, 2.0), (1.0, 2.0)]).unwrap();
        let x = s.section(3.0);
        assert!((x.a_full - 18.0).abs() < 1e-9);
        assert!((x.w_max - 6.0).abs() < 1e-12);
        // Full perimeter 6 + 2·3 + 6 (top closed).
        assert!((x.r_full - 18.0 / 18.0).abs() < 1e-9);
        assert!((x.a_of_y(1.5) - 9.0).abs() < 1e-9);
        assert!(shape_curve(&[(0.5, 1.0), (0.4, 1.0)]).is_err());
        assert!(shape_curve(&[]).is_err());
    }
}

/// One piece of the right half of a closed section's outline, a circular or
/// elliptical arc traced upwards as its angle goes from `t0` to `t1`.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
enum Arc {
    /// Centre (cx, cy) and radius r.
    Circle {
        cx: f64,
        cy: f64,
        r: f64,
        t0: f64,
        t1: f64,
    },
    /// Semi-axes a (horizontal) and b (vertical), centred at (0, b).
    Ellipse { a: f64, b: f64, t0: f64, t1: f64 },
}

impl Arc {
    fn span(&self) -> (f64, f64) {
        match *self {
            Arc::Circle { t0, t1, .. } | Arc::Ellipse { t0, t1, .. } => (t0, t1),
        }
    }
    fn point(&self, t: f64) -> (f64, f64) {
        match *self {
            Arc::Circle { cx, cy, r, .. } => (cx + r * t.cos(), cy + r * t.sin()),
            Arc::Ellipse { a, b, .. } => (a * t.cos(), b + b * t.sin()),
        }
    }
    fn tangent(&self, t: f64) -> (f64, f64) {
        match *self {
            Arc::Circle { r, .. } => (-r * t.sin(), r * t.cos()),
            Arc::Ellipse { a, b, .. } => (-a * t.sin(), b * t.cos()),
        }
    }
    /// Area between the arc's two halves from angle t0 to t: ∫ 2x dy.
    fn area(&self, t: f64) -> f64 {
        let (t0, _) = self.span();
        let g = |u: f64| u / 2.0 + (2.0 * u).sin() / 4.0;
        match *self {
            Arc::Circle { cx, r, .. } => {
                2.0 * (cx * r * (t.sin() - t0.sin()) + r * r * (g(t) - g(t0)))
            }
            Arc::Ellipse { a, b, .. } => 2.0 * a * b * (g(t) - g(t0)),
        }
    }
    /// Length of both halves from angle t0 to t.
    fn perimeter(&self, t: f64) -> f64 {
        let (t0, _) = self.span();
        match *self {
            Arc::Circle { r, .. } => 2.0 * r * (t - t0),
            Arc::Ellipse { .. } => simpson(
                |u| {
                    let (dx, dy) = self.tangent(u);
                    2.0 * (dx * dx + dy * dy).sqrt()
                },
                t0,
                t,
            ),
        }
    }
    /// Widest half width on the arc.
    fn half_width_max(&self) -> f64 {
        let (t0, t1) = self.span();
        self.point(0.0_f64.clamp(t0, t1)).0
    }
}

/// Composite Simpson's rule with 400 intervals (the integrands are smooth
/// along an arc's angle).
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    if b <= a {
        return 0.0;
    }
    const N: usize = 400;
    let h = (b - a) / N as f64;
    let mut s = f(a) + f(b);
    for i in 1..N {
        s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(a + i as f64 * h);
    }
    s * h / 3.0
}

/// Flow area, wetted perimeter and top width of a symmetric outline filled
/// to depth y.
fn outline_geometry(arcs: &[Arc], y: f64) -> (f64, f64, f64) {
    let (mut area, mut perim, mut width) = (0.0, 0.0, 0.0);
    for arc in arcs {
        let (t0, t1) = arc.span();
        if y <= arc.point(t0).1 {
            break;
        }
        let t_end = if y < arc.point(t1).1 {
            let (mut lo, mut hi) = (t0, t1);
            for _ in 0..100 {
                let m = 0.5 * (lo + hi);
                if arc.point(m).1 < y {
                    lo = m;
                } else {
                    hi = m;
                }
            }
            0.5 * (lo + hi)
        } else {
            t1
        };
        area += arc.area(t_end);
        perim += arc.perimeter(t_end);
        width = 2.0 * arc.point(t_end).0;
    }
    (area, perim, width)
}

/// A standard closed shape of unit full depth: its full area, hydraulic
/// radius and widest width, and its tables.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StandardShape {
    /// Full area over the full depth squared.
    pub a_full: f64,
    /// Full hydraulic radius over the full depth.
    pub r_full: f64,
    /// Widest width over the full depth.
    pub w_max: f64,
    /// Normalised tables.
    pub tables: GeomTables,
}

/// Tables of an outline of height `h`: area, hydraulic radius and width at
/// `n_depth` depths; when `n_area` > 0 also depth and section factor at that
/// many areas (SWMM keeps 26 and 51 entries for its sewer shapes).
fn outline_tables(
    arcs: &[Arc],
    h: f64,
    n_depth: usize,
    n_area: usize,
    a_max_frac: f64,
) -> StandardShape {
    let (a_full, p_full, _) = outline_geometry(arcs, h);
    let r_full = a_full / p_full;
    let w_max = 2.0 * arcs.iter().map(Arc::half_width_max).fold(0.0, f64::max);
    let mut t = GeomTables {
        a_max_frac,
        ..Default::default()
    };
    for i in 0..n_depth {
        let (a, p, w) = outline_geometry(arcs, h * i as f64 / (n_depth - 1) as f64);
        t.area.push(a / a_full);
        t.hrad.push(if p > 0.0 { a / p / r_full } else { 0.0 });
        t.width.push(w / w_max);
    }
    for i in 0..n_area {
        let alpha = i as f64 / (n_area - 1) as f64;
        let (mut lo, mut hi) = (0.0, h);
        for _ in 0..60 {
            let m = 0.5 * (lo + hi);
            if outline_geometry(arcs, m).0 / a_full < alpha {
                lo = m;
            } else {
                hi = m;
            }
        }
        let y = 0.5 * (lo + hi);
        let (a, p, _) = outline_geometry(arcs, y);
        t.depth.push(y / h);
        t.sfac.push(if p > 0.0 {
            alpha * (a / p / r_full).powf(2.0 / 3.0)
        } else {
            0.0
        });
    }
    StandardShape {
        a_full: a_full / (h * h),
        r_full: r_full / h,
        w_max: w_max / h,
        tables: t,
    }
}

/// The standard egg (Metcalf & Eddy): height 1.5 times the width; a top
/// semicircle of radius r, sides of radius 3r from centres on the far side
/// of the springline, an invert of radius r/2, all tangent.
fn egg() -> StandardShape {
    let r = 1.0;
    let s = (-0.6f64).asin();
    let arcs = [
        Arc::Circle {
            cx: 0.0,
            cy: r / 2.0,
            r: r / 2.0,
            t0: -std::f64::consts::FRAC_PI_2,
            t1: s,
        },
        Arc::Circle {
            cx: -2.0 * r,
            cy: 2.0 * r,
            r: 3.0 * r,
            t0: s,
            t1: 0.0,
        },
        Arc::Circle {
            cx: 0.0,
            cy: 2.0 * r,
            r,
            t0: 0.0,
            t1: std::f64::consts::FRAC_PI_2,
        },
    ];
    outline_tables(&arcs, 3.0 * r, 26, 51, 0.96)
}

/// The standard horseshoe: height equal to width D; a top semicircle of
/// radius D/2, sides and invert of radius D (the sides centred at the
/// opposite springline, the invert at the crown).
fn horseshoe() -> StandardShape {
    let r = 1.0;
    // Where the invert (centre (0, 2r)) meets the side (centre (-r, r)).
    let miss = |a: f64| {
        let (x, y) = (2.0 * r * a.cos(), 2.0 * r + 2.0 * r * a.sin());
        (x + r).hypot(y - r) - 2.0 * r
    };
    let (mut lo, mut hi) = (-std::f64::consts::FRAC_PI_2, 0.0);
    for _ in 0..200 {
        let m = 0.5 * (lo + hi);
        if miss(lo) * miss(m) <= 0.0 {
            hi = m;
        } else {
            lo = m;
        }
    }
    let a = 0.5 * (lo + hi);
    let y = 2.0 * r + 2.0 * r * a.sin();
    let b = ((y - r) / (2.0 * r)).asin();
    let arcs = [
        Arc::Circle {
            cx: 0.0,
            cy: 2.0 * r,
            r: 2.0 * r,
            t0: -std::f64::consts::FRAC_PI_2,
            t1: a,
        },
        Arc::Circle {
            cx: -r,
            cy: r,
            r: 2.0 * r,
            t0: b,
            t1: 0.0,
        },
        Arc::Circle {
            cx: 0.0,
            cy: r,
            r,
            t0: 0.0,
            t1: std::f64::consts::FRAC_PI_2,
        },
    ];
    outline_tables(&arcs, 2.0 * r, 26, 51, 0.96)
}

/// An ellipse of unit rise and the given span: its area and width by depth
/// are a circle's; its hydraulic radius is the ellipse's own.
fn ellipse(span: f64) -> StandardShape {
    let arcs = [Arc::Ellipse {
        a: span / 2.0,
        b: 0.5,
        t0: -std::f64::consts::FRAC_PI_2,
        t1: std::f64::consts::FRAC_PI_2,
    }];
    outline_tables(&arcs, 1.0, 26, 0, 0.96)
}

/// Span over rise of the ellipse SWMM's elliptical-pipe formula implies
/// (full area 1.2692·rise², Vol. II Table 5-5).
const ELLIPSE_RATIO: f64 = 1.2692 / std::f64::consts::FRAC_PI_4;

/// Standard closed sewer shapes built from their published geometry: EGG,
/// HORSESHOE, and HORIZ_ELLIPSE / VERT_ELLIPSE (true ellipses). Built once.
pub fn standard(name: &str) -> Option<&'static StandardShape> {
    use std::sync::OnceLock;
    static EGG: OnceLock<StandardShape> = OnceLock::new();
    static HORSESHOE: OnceLock<StandardShape> = OnceLock::new();
    static H_ELLIPSE: OnceLock<StandardShape> = OnceLock::new();
    static V_ELLIPSE: OnceLock<StandardShape> = OnceLock::new();
    Some(match name {
        "EGG" => EGG.get_or_init(egg),
        "HORSESHOE" => HORSESHOE.get_or_init(horseshoe),
        "HORIZ_ELLIPSE" => H_ELLIPSE.get_or_init(|| ellipse(ELLIPSE_RATIO)),
        "VERT_ELLIPSE" => V_ELLIPSE.get_or_init(|| ellipse(1.0 / ELLIPSE_RATIO)),
        _ => return None,
    })
}

#[cfg(test)]
mod standard_tests {
    use super::*;

    #[test]
    fn standard_shapes_have_their_published_full_properties() {
        // Egg: A = 0.5105 H², R = 0.1931 H, W = 2H/3; horseshoe: A = 0.8293 D²,
        // R = 0.2538 D (Metcalf & Eddy; SWMM 5 Vol. II Table 5-7).
        let e = standard("EGG").unwrap();
        assert!((e.a_full - 0.5105).abs() < 1e-3, "{}", e.a_full);
        assert!((e.r_full - 0.1931).abs() < 1e-3, "{}", e.r_full);
        assert!((e.w_max - 2.0 / 3.0).abs() < 1e-6);
        let h = standard("HORSESHOE").unwrap();
        assert!((h.a_full - 0.8293).abs() < 1e-3, "{}", h.a_full);
        assert!((h.r_full - 0.2538).abs() < 1e-3, "{}", h.r_full);
        // An ellipse fills like a circle: half its area below half its rise.
        let x = standard("HORIZ_ELLIPSE").unwrap();
        assert!((x.tables.area[12] + x.tables.area[13] - 1.0).abs() < 1e-9);
        assert!((x.a_full - 1.2692).abs() < 1e-4, "{}", x.a_full);
        // Tables run from 0 to 1.
        for s in [e, h, x] {
            assert!(s.tables.area[0].abs() < 1e-12 && (s.tables.area[25] - 1.0).abs() < 1e-9);
            assert!((s.tables.hrad[25] - 1.0).abs() < 1e-9);
        }
    }
}
