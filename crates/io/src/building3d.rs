//! What the building readers share: a building's bounding surfaces (in the city's CRS, with
//! their semantic kind where the file gives one) turned into its footprint, base, top and 3D
//! surfaces.

use geo::{ConvexHull, Geometry, LineString, MultiPoint, MultiPolygon, Point, Polygon};

/// One bounding surface: its rings (the outer first) of `[x, y, z]`, and its kind where the file
/// names it (`GroundSurface`, `RoofSurface`, `WallSurface`, `FloorSurface`, …).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Surface {
    pub kind: Option<String>,
    pub rings: Vec<Vec<[f64; 3]>>,
}

/// Where a footprint came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FootprintSource {
    /// The surfaces the file calls ground surfaces.
    Ground,
    /// The surfaces the file calls floor surfaces, where it names no ground surface (a quirk of
    /// some real files, which tag building bases so).
    Floor,
    /// The lowest surfaces that are not vertical.
    Lowest,
    /// The outline of all the vertices.
    Hull,
}

/// A building's shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shape {
    pub footprint: Geometry<f64>,
    pub from: FootprintSource,
    pub zmin: f64,
    pub zmax: f64,
    /// The outer rings of every surface, `[[x, y, z], …]` per surface, to the millimetre.
    pub solid_json: String,
}

/// Area of a ring's projection on the plane (shoelace), m².
fn plan_area(ring: &[[f64; 3]]) -> f64 {
    let n = ring.len();
    if n < 3 {
        return 0.0;
    }
    let (x0, y0) = (ring[0][0], ring[0][1]);
    let mut a = 0.0;
    for k in 0..n {
        let (p, q) = (ring[k], ring[(k + 1) % n]);
        a += (p[0] - x0) * (q[1] - y0) - (q[0] - x0) * (p[1] - y0);
    }
    0.5 * a.abs()
}

fn ring2d(r: &[[f64; 3]]) -> LineString<f64> {
    let mut pts: Vec<(f64, f64)> = r.iter().map(|p| (p[0], p[1])).collect();
    if pts.first() != pts.last()
        && let Some(&p) = pts.first()
    {
        pts.push(p);
    }
    LineString::from(pts)
}

/// The shape of a building bounded by `surfaces`; `None` without a vertex. The footprint is the
/// ground surfaces, else the floor surfaces, else the lowest surfaces that are not vertical (plan
/// area above 0.1 m²), else the convex hull of every vertex; several become a multipolygon.
pub(crate) fn shape(surfaces: &[Surface]) -> Option<Shape> {
    let all: Vec<[f64; 3]> = surfaces
        .iter()
        .flat_map(|s| s.rings.iter().flatten().copied())
        .filter(|p| p.iter().all(|v| v.is_finite()))
        .collect();
    if all.is_empty() {
        return None;
    }
    let zmin = all.iter().map(|p| p[2]).fold(f64::INFINITY, f64::min);
    let zmax = all.iter().map(|p| p[2]).fold(f64::NEG_INFINITY, f64::max);
    let usable = |s: &&Surface| s.rings.first().is_some_and(|r| plan_area(r) > 0.1);
    let of_kind = |k: &str| -> Vec<&Surface> {
        surfaces
            .iter()
            .filter(|s| s.kind.as_deref() == Some(k))
            .filter(usable)
            .collect()
    };
    let (chosen, from) = {
        let g = of_kind("GroundSurface");
        if !g.is_empty() {
            (g, FootprintSource::Ground)
        } else {
            let f = of_kind("FloorSurface");
            if !f.is_empty() {
                (f, FootprintSource::Floor)
            } else {
                let flat: Vec<&Surface> = surfaces.iter().filter(usable).collect();
                let floor = flat
                    .iter()
                    .flat_map(|s| s.rings[0].iter().map(|p| p[2]))
                    .fold(f64::INFINITY, f64::min);
                let low: Vec<&Surface> = flat
                    .into_iter()
                    .filter(|s| s.rings[0].iter().all(|p| p[2] - floor < 0.05))
                    .collect();
                if low.is_empty() {
                    (low, FootprintSource::Hull)
                } else {
                    (low, FootprintSource::Lowest)
                }
            }
        }
    };
    let polys: Vec<Polygon<f64>> = chosen
        .iter()
        .map(|s| {
            Polygon::new(
                ring2d(&s.rings[0]),
                s.rings[1..].iter().map(|h| ring2d(h)).collect(),
            )
        })
        .collect();
    let footprint: Geometry<f64> = match polys.len() {
        0 => MultiPoint::from(
            all.iter()
                .map(|p| Point::new(p[0], p[1]))
                .collect::<Vec<_>>(),
        )
        .convex_hull()
        .into(),
        1 => polys.into_iter().next().expect("one").into(),
        _ => MultiPolygon::new(polys).into(),
    };
    let outer: Vec<Vec<[f64; 3]>> = surfaces
        .iter()
        .filter_map(|s| s.rings.first().cloned())
        .collect();
    Some(Shape {
        footprint,
        from,
        zmin,
        zmax,
        solid_json: solid_json(&outer),
    })
}

/// Surfaces' outer rings as the `solid_json` attribute: `[[x, y, z], …]` per surface, to the
/// millimetre.
pub(crate) fn solid_json(rings: &[Vec<[f64; 3]>]) -> String {
    let mm = |v: f64| (v * 1000.0).round() / 1000.0;
    let solid: Vec<Vec<[f64; 3]>> = rings
        .iter()
        .map(|r| r.iter().map(|p| [mm(p[0]), mm(p[1]), mm(p[2])]).collect())
        .collect();
    serde_json::to_string(&solid).unwrap_or_else(|_| "[]".into())
}
