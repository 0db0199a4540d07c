//! A city's Building layer as CityJSON 2.0.
//!
//! One `Building` per feature of the layer, keyed by its `source_id` (the id it had in the file
//! it was imported from; `building-<fid>` where it has none, and `<source_id>-<fid>` for a
//! repeated one). Its geometry is, where the feature stores 3D surfaces (`solid_json`), those
//! surfaces at the LOD they came with (`lod`, else 2): a `Solid` where they close into one
//! consistently oriented shell (every edge used once each way), else a `MultiSurface`; the
//! lowest surface outlined by each ring of the footprint is a `GroundSurface`, and every
//! surface so outlined (the ground, a flat roof over it) gets the footprint's holes as inner
//! rings (the stored surfaces keep outer rings only); vertical ones are `WallSurface`s and
//! those facing up `RoofSurface`s. Without stored surfaces it is an LOD1 `Solid` extruded from the footprint (for
//! a multipolygon, a `MultiSurface` of one closed shell per part: CityJSON gives a `Building`
//! no `MultiSolid`), from `base_m` (else the city's DEM under the
//! footprint, else 0) to `base_m + height_m`: the ground face's normal down, the roof's up,
//! walls outward, the footprint's holes inner rings of both and walled. A building without a
//! height is written at LOD0 (its footprint at its base); one with neither a footprint polygon
//! nor surfaces is not written, and named. Attributes: `name`, `measuredHeight` (`height_m`),
//! `storeysAboveGround` (`levels`), `function` (`building`, where the file had no `function` or
//! `usage`), the imported file's attributes under their own names (`cj_…`, `cg_…` without the
//! prefix) and the feature's other scalar attributes as they are. Vertices are integers under a
//! `transform` (scale 0.001 m; translate the min corner, floored to the scale), deduplicated.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use geo::{Area, Geometry, InteriorPoint, Polygon};
use serde_json::{Map, Value, json};
use twin_model::{AttrValue, City, Feature, Layer};

use crate::error::{IoError, Result};

/// What an export wrote and what it could not.
#[derive(Debug, Clone, PartialEq)]
pub struct CityJsonExport {
    /// The CityJSON text.
    pub text: String,
    /// `Building` objects written.
    pub written: usize,
    /// Of those, with the geometry of their stored surfaces.
    pub from_surfaces: usize,
    /// Of those, LOD1 solids extruded from footprint and height.
    pub extruded: usize,
    /// Of those, written at LOD0 (footprint only) for want of a height: their labels.
    pub footprint_only: Vec<String>,
    /// Of the extruded, based at 0 m for want of `base_m` and of a DEM under them: their labels.
    pub base_zero: Vec<String>,
    /// Of the extruded, based on the city's DEM for want of `base_m`.
    pub base_from_dem: usize,
    /// Features not written, having neither a footprint polygon nor stored surfaces: their
    /// labels.
    pub not_written: Vec<String>,
    /// Written without a geometry, their footprint or surfaces collapsing at 1 mm: their
    /// labels.
    pub empty_geometry: Vec<String>,
    /// Stored surfaces left out because they collapse to fewer than 3 vertices at 1 mm.
    pub degenerate_surfaces: usize,
}

/// Feature attributes not passed through as CityJSON attributes: written in CityJSON's own terms
/// (geometry, id, `measuredHeight`, `storeysAboveGround`, `function`, `lod`) or describing the
/// import rather than the building.
pub const NOT_PASSED_THROUGH: [&str; 10] = [
    "solid_json",
    "source_id",
    "base_m",
    "height_m",
    "levels",
    "building",
    "lod",
    "cityjson_type",
    "citygml_type",
    "parent_id",
];

/// One face: rings (the outer first) and its semantic kind.
#[derive(Debug, Clone)]
struct Face<P> {
    rings: Vec<Vec<P>>,
    kind: Option<&'static str>,
}

/// A building's geometry before its vertices are put on the integer grid.
#[derive(Debug)]
enum Raw {
    /// Stored surfaces (`solid_json`), ground faces marked and their holes added.
    Surfaces(Vec<Face<[f64; 3]>>),
    /// Footprint polygons (outer ring, holes; plan, unclosed) extruded from `base` to `top`.
    Extrude {
        polys: Vec<Vec<Vec<[f64; 2]>>>,
        base: f64,
        top: f64,
    },
    /// Footprint polygons at `base` (LOD0).
    Flat {
        polys: Vec<Vec<Vec<[f64; 2]>>>,
        base: f64,
    },
}

struct Pending {
    id: String,
    label: String,
    attrs: Map<String, Value>,
    lod: String,
    raw: Raw,
}

fn label(f: &Feature) -> String {
    match (f.text("source_id"), &f.name) {
        (Some(s), Some(n)) => format!("feature {} ('{s}', {n})", f.id.0),
        (Some(s), None) => format!("feature {} ('{s}')", f.id.0),
        (None, Some(n)) => format!("feature {} ({n})", f.id.0),
        (None, None) => format!("feature {}", f.id.0),
    }
}

/// A plan ring without its closing point.
fn open_ring(ls: &geo::LineString<f64>) -> Vec<[f64; 2]> {
    let mut r: Vec<[f64; 2]> = ls.0.iter().map(|c| [c.x, c.y]).collect();
    if r.len() > 1 && r.first() == r.last() {
        r.pop();
    }
    r
}

fn polygons(g: &Geometry<f64>) -> Vec<&Polygon<f64>> {
    match g {
        Geometry::Polygon(p) => vec![p],
        Geometry::MultiPolygon(m) => m.0.iter().collect(),
        Geometry::GeometryCollection(c) => c.0.iter().flat_map(polygons).collect(),
        _ => Vec::new(),
    }
}

/// Twice the signed plan area of a ring (positive counter-clockwise).
fn signed2(r: &[[f64; 2]]) -> f64 {
    let n = r.len();
    (0..n)
        .map(|k| {
            let (p, q) = (r[k], r[(k + 1) % n]);
            p[0] * q[1] - q[0] * p[1]
        })
        .sum()
}

/// Newell's normal of a ring (not normalised).
fn newell(r: &[[f64; 3]]) -> [f64; 3] {
    let n = r.len();
    let mut v = [0.0; 3];
    for k in 0..n {
        let (p, q) = (r[k], r[(k + 1) % n]);
        v[0] += (p[1] - q[1]) * (p[2] + q[2]);
        v[1] += (p[2] - q[2]) * (p[0] + q[0]);
        v[2] += (p[0] - q[0]) * (p[1] + q[1]);
    }
    v
}

/// Whether two plan rings have the same vertices within `tol` (either way round, any start).
fn same_ring(a: &[[f64; 2]], b: &[[f64; 3]], tol: f64) -> bool {
    let near = |p: [f64; 2], q: [f64; 3]| (p[0] - q[0]).abs() <= tol && (p[1] - q[1]).abs() <= tol;
    a.len() == b.len()
        && a.iter().all(|&p| b.iter().any(|&q| near(p, q)))
        && b.iter().all(|&q| a.iter().any(|&p| near(p, q)))
}

/// The stored surfaces with ground faces found among them (the lowest whose outline is a ring
/// of the footprint), the footprint's holes added to every face so outlined, at its plane's
/// height (the stored surfaces keep outer rings only).
fn surfaces_with_ground(
    stored: Vec<Vec<[f64; 3]>>,
    polys: &[&Polygon<f64>],
) -> Vec<Face<[f64; 3]>> {
    let mut faces: Vec<Face<[f64; 3]>> = stored
        .into_iter()
        .map(|mut r| {
            if r.len() > 1 && r.first() == r.last() {
                r.pop();
            }
            Face {
                rings: vec![r],
                kind: None,
            }
        })
        .collect();
    for p in polys {
        let outer = open_ring(p.exterior());
        // Every face outlined by this footprint ring (the ground and, on a flat-roofed block,
        // the roof) takes its holes; the lowest is the ground.
        let matched: Vec<usize> = (0..faces.len())
            .filter(|&i| faces[i].rings.len() == 1 && same_ring(&outer, &faces[i].rings[0], 0.002))
            .collect();
        let mean_z = |r: &[[f64; 3]]| r.iter().map(|q| q[2]).sum::<f64>() / r.len() as f64;
        if let Some(&g) = matched
            .iter()
            .filter(|&&i| faces[i].kind.is_none())
            .min_by(|&&a, &&b| mean_z(&faces[a].rings[0]).total_cmp(&mean_z(&faces[b].rings[0])))
        {
            faces[g].kind = Some("GroundSurface");
        }
        for i in matched {
            let face = &mut faces[i];
            let ring = &face.rings[0];
            let n = newell(ring);
            let c = ring.iter().fold([0.0; 3], |a, q| {
                let k = ring.len() as f64;
                [a[0] + q[0] / k, a[1] + q[1] / k, a[2] + q[2] / k]
            });
            let z_at = |x: f64, y: f64| {
                if n[2].abs() > 1e-9 {
                    c[2] - (n[0] * (x - c[0]) + n[1] * (y - c[1])) / n[2]
                } else {
                    c[2]
                }
            };
            let outer_sign = signed2(&ring.iter().map(|q| [q[0], q[1]]).collect::<Vec<_>>());
            let holes: Vec<Vec<[f64; 3]>> = p
                .interiors()
                .iter()
                .map(|h| {
                    let mut h = open_ring(h);
                    if signed2(&h) * outer_sign > 0.0 {
                        h.reverse();
                    }
                    h.iter().map(|q| [q[0], q[1], z_at(q[0], q[1])]).collect()
                })
                .collect();
            face.rings.extend(holes);
        }
    }
    for f in faces.iter_mut().filter(|f| f.kind.is_none()) {
        let n = newell(&f.rings[0]);
        let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        if len > 0.0 {
            if n[2].abs() / len < 0.1 {
                f.kind = Some("WallSurface");
            } else if n[2] > 0.0 {
                f.kind = Some("RoofSurface");
            }
        }
    }
    faces
}

/// A feature attribute as JSON.
fn json_of(v: &AttrValue) -> Value {
    match v {
        AttrValue::Int(i) => json!(i),
        AttrValue::Real(x) => json!(x),
        AttrValue::Text(s) => json!(s),
        AttrValue::Bool(b) => json!(b),
    }
}

/// The CityJSON attributes of a building feature.
fn attributes(f: &Feature) -> Map<String, Value> {
    let mut a = Map::new();
    // Other scalar attributes first, then the imported file's, then CityJSON's own: a later one
    // of the same name wins.
    for (k, v) in &f.attrs {
        if !NOT_PASSED_THROUGH.contains(&k.as_str())
            && !k.starts_with("cj_")
            && !k.starts_with("cg_")
        {
            a.insert(k.clone(), json_of(v));
        }
    }
    for prefix in ["cg_", "cj_"] {
        for (k, v) in &f.attrs {
            if let Some(name) = k.strip_prefix(prefix).filter(|n| !n.is_empty()) {
                a.insert(name.to_string(), json_of(v));
            }
        }
    }
    if let Some(n) = &f.name {
        a.insert("name".into(), json!(n));
    }
    if let Some(h) = f.num("height_m").filter(|h| h.is_finite() && *h > 0.0) {
        let kept = a
            .get("measuredHeight")
            .and_then(Value::as_f64)
            .is_some_and(|m| (m - h).abs() <= 0.0005);
        if !kept {
            a.insert("measuredHeight".into(), json!(h));
        }
    }
    if let Some(l) = f.num("levels").filter(|l| l.is_finite() && *l >= 0.0) {
        let kept = a
            .get("storeysAboveGround")
            .and_then(Value::as_f64)
            .is_some_and(|s| s.round() == l.round());
        if !kept {
            a.insert("storeysAboveGround".into(), json!(l.round() as i64));
        }
    }
    if let Some(u) = f.text("building")
        && !a.contains_key("function")
        && !a.contains_key("usage")
    {
        a.insert("function".into(), json!(u));
    }
    a
}

/// A valid CityJSON LOD (`2`, `2.2`), else `None`.
fn lod_of(f: &Feature) -> Option<String> {
    let l = f.text("lod")?.trim();
    let b = l.as_bytes();
    let ok = match b {
        [d] => d.is_ascii_digit(),
        [d, b'.', e] => d.is_ascii_digit() && e.is_ascii_digit(),
        _ => false,
    };
    ok.then(|| l.to_string())
}

/// The city's Building layer as CityJSON 2.0 (see the module). `source` names the city in
/// errors (a stored `solid_json` that is not a list of surfaces, a non-finite coordinate).
pub fn city_to_cityjson(city: &City, source: &Path) -> Result<CityJsonExport> {
    let bad = |f: &Feature, field: &str, msg: &str| {
        IoError::format(
            source,
            format!("{} of layer building, field '{field}'", label(f)),
            msg,
        )
    };
    let mut out = CityJsonExport {
        text: String::new(),
        written: 0,
        from_surfaces: 0,
        extruded: 0,
        footprint_only: Vec::new(),
        base_zero: Vec::new(),
        base_from_dem: 0,
        not_written: Vec::new(),
        empty_geometry: Vec::new(),
        degenerate_surfaces: 0,
    };
    let mut ids: HashSet<String> = HashSet::new();
    let mut pending = Vec::new();
    for f in city.layer(Layer::Building).features() {
        let polys: Vec<&Polygon<f64>> = polygons(&f.geometry)
            .into_iter()
            .filter(|p| p.unsigned_area() > 0.0)
            .collect();
        let finite = polys.iter().all(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .flat_map(|r| r.0.iter())
                .all(|c| c.x.is_finite() && c.y.is_finite())
        });
        if !finite {
            return Err(bad(f, "geometry", "a coordinate is not a finite number"));
        }
        let stored: Vec<Vec<[f64; 3]>> = match f.attrs.get("solid_json") {
            None => Vec::new(),
            Some(AttrValue::Text(t)) => serde_json::from_str(t).map_err(|e| {
                bad(
                    f,
                    "solid_json",
                    &format!("expected [[[x, y, z], …], …] (one list of points per surface): {e}"),
                )
            })?,
            Some(_) => return Err(bad(f, "solid_json", "expected text")),
        };
        if stored.iter().flatten().flatten().any(|v| !v.is_finite()) {
            return Err(bad(f, "solid_json", "a coordinate is not a finite number"));
        }
        let plan: Vec<Vec<Vec<[f64; 2]>>> = polys
            .iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(open_ring)
                    .collect()
            })
            .collect();
        let height = f.num("height_m").filter(|h| h.is_finite() && *h > 0.0);
        let base = || -> (f64, Option<&'static str>) {
            if let Some(b) = f.num("base_m").filter(|b| b.is_finite()) {
                return (b, None);
            }
            let at = polys.first().and_then(|p| p.interior_point());
            match (city.dem.as_ref(), at) {
                (Some(d), Some(pt)) => match d.sample(pt.x(), pt.y()) {
                    Some(z) => ((z * 1000.0).round() / 1000.0, Some("dem")),
                    None => (0.0, Some("zero")),
                },
                _ => (0.0, Some("zero")),
            }
        };
        let (raw, lod) = if !stored.is_empty() {
            out.from_surfaces += 1;
            (
                Raw::Surfaces(surfaces_with_ground(stored, &polys)),
                lod_of(f).unwrap_or_else(|| "2".into()),
            )
        } else if plan.is_empty() {
            out.not_written.push(label(f));
            continue;
        } else if let Some(h) = height {
            let (b, how) = base();
            match how {
                Some("dem") => out.base_from_dem += 1,
                Some(_) => out.base_zero.push(label(f)),
                None => {}
            }
            out.extruded += 1;
            (
                Raw::Extrude {
                    polys: plan,
                    base: b,
                    top: b + h,
                },
                "1".into(),
            )
        } else {
            out.footprint_only.push(label(f));
            (
                Raw::Flat {
                    polys: plan,
                    base: base().0,
                },
                "0".into(),
            )
        };
        let mut id = f
            .text("source_id")
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("building-{}", f.id.0));
        if ids.contains(&id) {
            id = format!("{id}-{}", f.id.0);
        }
        ids.insert(id.clone());
        pending.push(Pending {
            id,
            label: label(f),
            attrs: attributes(f),
            lod,
            raw,
        });
    }
    // The integer grid: scale and the min corner floored to it.
    let xy_scale = if city.crs.is_geographic() {
        1e-8
    } else {
        0.001
    };
    let scale = [xy_scale, xy_scale, 0.001];
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    let mut see = |p: [f64; 3]| {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    };
    for p in &pending {
        match &p.raw {
            Raw::Surfaces(faces) => faces
                .iter()
                .flat_map(|f| f.rings.iter().flatten())
                .for_each(|q| see(*q)),
            Raw::Extrude { polys, base, top } => {
                for q in polys.iter().flatten().flatten() {
                    see([q[0], q[1], *base]);
                    see([q[0], q[1], *top]);
                }
            }
            Raw::Flat { polys, base } => {
                for q in polys.iter().flatten().flatten() {
                    see([q[0], q[1], *base]);
                }
            }
        }
    }
    let translate: [f64; 3] = if lo[0].is_finite() {
        std::array::from_fn(|k| (lo[k] / scale[k]).floor() * scale[k])
    } else {
        [0.0; 3]
    };
    let mut grid = Grid {
        translate,
        scale,
        index: HashMap::new(),
        vertices: Vec::new(),
    };
    let mut objects = Map::new();
    for p in pending {
        let geometry = match p.raw {
            Raw::Surfaces(faces) => {
                let (g, dropped) = surfaces_geometry(&mut grid, faces, &p.lod);
                out.degenerate_surfaces += dropped;
                g
            }
            Raw::Extrude { polys, base, top } => extruded_geometry(&mut grid, &polys, base, top),
            Raw::Flat { polys, base } => flat_geometry(&mut grid, &polys, base),
        };
        if geometry.is_none() {
            out.empty_geometry.push(p.label);
        }
        let mut o = Map::new();
        o.insert("type".into(), json!("Building"));
        if !p.attrs.is_empty() {
            o.insert("attributes".into(), Value::Object(p.attrs));
        }
        o.insert(
            "geometry".into(),
            Value::Array(geometry.into_iter().collect()),
        );
        objects.insert(p.id, Value::Object(o));
        out.written += 1;
    }
    let mut metadata = Map::new();
    metadata.insert(
        "referenceSystem".into(),
        json!(format!(
            "https://www.opengis.net/def/crs/EPSG/0/{}",
            city.crs.epsg
        )),
    );
    if !city.name.trim().is_empty() {
        metadata.insert("title".into(), json!(city.name));
    }
    if lo[0].is_finite() {
        metadata.insert(
            "geographicalExtent".into(),
            json!([lo[0], lo[1], lo[2], hi[0], hi[1], hi[2]]),
        );
    }
    let doc = json!({
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": scale, "translate": translate},
        "metadata": Value::Object(metadata),
        "CityObjects": Value::Object(objects),
        "vertices": grid.vertices,
    });
    out.text = serde_json::to_string(&doc).map_err(|e| IoError::file(source, e.to_string()))?;
    Ok(out)
}

/// [`city_to_cityjson`] written atomically to `out`.
pub fn write_cityjson(city: &City, source: &Path, out: &Path) -> Result<CityJsonExport> {
    let e = city_to_cityjson(city, source)?;
    crate::atomic::write_text(out, &e.text)?;
    Ok(e)
}

/// Integer vertices under the transform, each written once.
struct Grid {
    translate: [f64; 3],
    scale: [f64; 3],
    index: HashMap<[i64; 3], usize>,
    vertices: Vec<[i64; 3]>,
}

impl Grid {
    fn key(&self, p: [f64; 3]) -> [i64; 3] {
        std::array::from_fn(|k| ((p[k] - self.translate[k]) / self.scale[k]).round() as i64)
    }

    fn id(&mut self, k: [i64; 3]) -> usize {
        if let Some(&i) = self.index.get(&k) {
            return i;
        }
        self.vertices.push(k);
        self.index.insert(k, self.vertices.len() - 1);
        self.vertices.len() - 1
    }

    /// A ring on the grid: repeated vertices in a row (and a closing one) dropped; `None`
    /// where fewer than 3 remain.
    fn ring(&mut self, r: &[[f64; 3]]) -> Option<Vec<usize>> {
        let mut keys: Vec<[i64; 3]> = Vec::with_capacity(r.len());
        for &p in r {
            let k = self.key(p);
            if keys.last() != Some(&k) {
                keys.push(k);
            }
        }
        while keys.len() > 1 && keys.first() == keys.last() {
            keys.pop();
        }
        (keys.len() >= 3).then(|| keys.into_iter().map(|k| self.id(k)).collect())
    }

    /// A plan ring on the grid, unclosed, repeated points in a row dropped.
    fn plan(&self, r: &[[f64; 2]]) -> Vec<[f64; 2]> {
        let mut keys: Vec<[i64; 2]> = Vec::with_capacity(r.len());
        for &q in r {
            let k = self.key([q[0], q[1], self.translate[2]]);
            if keys.last() != Some(&[k[0], k[1]]) {
                keys.push([k[0], k[1]]);
            }
        }
        while keys.len() > 1 && keys.first() == keys.last() {
            keys.pop();
        }
        keys.iter()
            .map(|k| {
                [
                    k[0] as f64 * self.scale[0] + self.translate[0],
                    k[1] as f64 * self.scale[1] + self.translate[1],
                ]
            })
            .collect()
    }
}

/// Semantics of faces as CityJSON's `surfaces` and the index of each face.
fn semantics(kinds: &[Option<&'static str>]) -> (Vec<Value>, Vec<Value>) {
    let mut surfaces: Vec<&str> = Vec::new();
    let values = kinds
        .iter()
        .map(|k| match k {
            Some(k) => {
                let i = surfaces.iter().position(|s| s == k).unwrap_or_else(|| {
                    surfaces.push(k);
                    surfaces.len() - 1
                });
                json!(i)
            }
            None => Value::Null,
        })
        .collect();
    (
        surfaces.iter().map(|k| json!({"type": k})).collect(),
        values,
    )
}

/// Whether faces close into one connected shell with every edge used once each way (a
/// consistently oriented closed surface).
fn closed_shell(faces: &[Vec<Vec<usize>>]) -> bool {
    let mut edges: HashMap<(usize, usize), usize> = HashMap::new();
    for r in faces.iter().flatten() {
        for k in 0..r.len() {
            *edges.entry((r[k], r[(k + 1) % r.len()])).or_default() += 1;
        }
    }
    let closed = edges
        .iter()
        .all(|(&(a, b), &n)| n == 1 && edges.get(&(b, a)) == Some(&1));
    // Connected: every vertex reached from the first along the edges and across faces (a
    // face's holes belong to it).
    let mut next: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(a, b) in edges.keys() {
        next.entry(a).or_default().push(b);
    }
    for f in faces {
        let first = f[0][0];
        for r in &f[1..] {
            next.entry(first).or_default().push(r[0]);
            next.entry(r[0]).or_default().push(first);
        }
    }
    let Some(&start) = next.keys().next() else {
        return false;
    };
    let mut seen = HashSet::from([start]);
    let mut todo = vec![start];
    while let Some(v) = todo.pop() {
        for &w in next.get(&v).into_iter().flatten() {
            if seen.insert(w) {
                todo.push(w);
            }
        }
    }
    closed && seen.len() == next.len()
}

/// Six times the signed volume a closed shell bounds (positive when its faces face outward).
fn volume6(grid: &Grid, faces: &[Vec<Vec<usize>>]) -> f64 {
    let v = |i: usize| -> [f64; 3] { std::array::from_fn(|k| grid.vertices[i][k] as f64) };
    let mut s = 0.0;
    for r in faces.iter().flatten() {
        let p0 = v(r[0]);
        for k in 1..r.len().saturating_sub(1) {
            let (p1, p2) = (v(r[k]), v(r[k + 1]));
            s += p0[0] * (p1[1] * p2[2] - p1[2] * p2[1]) - p0[1] * (p1[0] * p2[2] - p1[2] * p2[0])
                + p0[2] * (p1[0] * p2[1] - p1[1] * p2[0]);
        }
    }
    s
}

/// Stored surfaces as a `Solid` where they close, else a `MultiSurface`; the count of faces
/// dropped as degenerate.
fn surfaces_geometry(
    grid: &mut Grid,
    faces: Vec<Face<[f64; 3]>>,
    lod: &str,
) -> (Option<Value>, usize) {
    let mut rings: Vec<Vec<Vec<usize>>> = Vec::new();
    let mut kinds = Vec::new();
    let mut dropped = 0;
    for f in faces {
        let Some(outer) = grid.ring(&f.rings[0]) else {
            dropped += 1;
            continue;
        };
        let mut r = vec![outer];
        r.extend(f.rings[1..].iter().filter_map(|h| grid.ring(h)));
        rings.push(r);
        kinds.push(f.kind);
    }
    if rings.is_empty() {
        return (None, dropped);
    }
    let solid = closed_shell(&rings);
    if solid && volume6(grid, &rings) < 0.0 {
        for r in rings.iter_mut().flatten() {
            r.reverse();
        }
        // Turned inside out, a face called a roof for facing up faces down, and the reverse.
        for (k, f) in kinds.iter_mut().zip(&rings) {
            if *k == Some("RoofSurface") {
                *k = None;
            } else if k.is_none() {
                let n = newell(
                    &f[0]
                        .iter()
                        .map(|&i| std::array::from_fn(|c| grid.vertices[i][c] as f64))
                        .collect::<Vec<[f64; 3]>>(),
                );
                if n[2] > 0.0 {
                    *k = Some("RoofSurface");
                }
            }
        }
    }
    let (surfaces, values) = semantics(&kinds);
    let g = if solid {
        json!({"type": "Solid", "lod": lod, "boundaries": [rings],
               "semantics": {"surfaces": surfaces, "values": [values]}})
    } else {
        json!({"type": "MultiSurface", "lod": lod, "boundaries": rings,
               "semantics": {"surfaces": surfaces, "values": values}})
    };
    (Some(g), dropped)
}

/// The outer ring counter-clockwise and the holes clockwise, on the grid; polygons whose outer
/// ring collapses are left out.
fn oriented(grid: &Grid, polys: &[Vec<Vec<[f64; 2]>>]) -> Vec<Vec<Vec<[f64; 2]>>> {
    polys
        .iter()
        .filter_map(|rings| {
            let mut out = Vec::new();
            for (i, r) in rings.iter().enumerate() {
                let mut r = grid.plan(r);
                if r.len() < 3 || signed2(&r) == 0.0 {
                    if i == 0 {
                        return None;
                    }
                    continue;
                }
                if (signed2(&r) > 0.0) != (i == 0) {
                    r.reverse();
                }
                out.push(r);
            }
            Some(out)
        })
        .collect()
}

/// An LOD1 `Solid` from plan polygons between `base` and `top` (for several polygons, a
/// `MultiSurface` of their shells): ground faces down, roofs up, walls outward.
fn extruded_geometry(
    grid: &mut Grid,
    polys: &[Vec<Vec<[f64; 2]>>],
    base: f64,
    top: f64,
) -> Option<Value> {
    let mut shells = Vec::new();
    let mut values = Vec::new();
    for rings in oriented(grid, polys) {
        let mut at = |q: [f64; 2], z: f64| grid.id(grid.key([q[0], q[1], z]));
        let mut faces: Vec<Vec<Vec<usize>>> = Vec::new();
        let mut kinds: Vec<usize> = Vec::new();
        // Ground: every ring reversed, so its normal points down.
        faces.push(
            rings
                .iter()
                .map(|r| r.iter().rev().map(|&q| at(q, base)).collect())
                .collect(),
        );
        kinds.push(0);
        faces.push(
            rings
                .iter()
                .map(|r| r.iter().map(|&q| at(q, top)).collect())
                .collect(),
        );
        kinds.push(1);
        for r in &rings {
            for k in 0..r.len() {
                let (a, b) = (r[k], r[(k + 1) % r.len()]);
                faces.push(vec![vec![at(a, base), at(b, base), at(b, top), at(a, top)]]);
                kinds.push(2);
            }
        }
        shells.push(vec![faces]);
        values.push(vec![kinds]);
    }
    let surfaces =
        json!([{"type": "GroundSurface"}, {"type": "RoofSurface"}, {"type": "WallSurface"}]);
    match shells.len() {
        0 => None,
        1 => Some(json!({"type": "Solid", "lod": "1", "boundaries": shells[0],
                         "semantics": {"surfaces": surfaces, "values": values[0]}})),
        // CityJSON gives a Building no MultiSolid, and a CompositeSolid's solids must touch:
        // several parts are one MultiSurface of their closed shells.
        _ => Some(json!({"type": "MultiSurface", "lod": "1",
                         "boundaries": shells.concat().concat(),
                         "semantics": {"surfaces": surfaces, "values": values.concat().concat()}})),
    }
}

/// An LOD0 `MultiSurface`: the footprint polygons at `base`.
fn flat_geometry(grid: &mut Grid, polys: &[Vec<Vec<[f64; 2]>>], base: f64) -> Option<Value> {
    let faces: Vec<Vec<Vec<usize>>> = oriented(grid, polys)
        .iter()
        .map(|rings| {
            rings
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|&q| grid.id(grid.key([q[0], q[1], base])))
                        .collect()
                })
                .collect()
        })
        .collect();
    (!faces.is_empty()).then(|| json!({"type": "MultiSurface", "lod": "0", "boundaries": faces}))
}
