//! The city as triangle meshes, built without bevy so that tests can project what is drawn:
//! terrain from the DEM, buildings extruded from their footprints and merged into one mesh per
//! layer, roads as ribbons, flat polygons, point symbols, the flood surface and vehicles.
//!
//! World coordinates: x east, y up, z south (bevy's right-handed Y-up), metres from the
//! city's centre; heights are metres above the lowest ground.

use crate::colors;
use geo::{Geometry, LineString, Polygon, TriangulateEarcut};
use std::collections::BTreeMap;
use std::ops::Range;
use twin_model::{City, Feature, Layer, Raster};

/// How map coordinates (CRS metres) become world coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Map x of the world origin.
    pub cx: f64,
    /// Map y of the world origin.
    pub cy: f64,
    /// Ground height at world y = 0.
    pub z0: f64,
}

impl Frame {
    /// World position of a map point at height `z`.
    pub fn world(&self, x: f64, y: f64, z: f64) -> [f32; 3] {
        [
            (x - self.cx) as f32,
            (z - self.z0) as f32,
            -(y - self.cy) as f32,
        ]
    }
    /// Map position of a world point.
    pub fn map(&self, w: [f32; 3]) -> [f64; 2] {
        [w[0] as f64 + self.cx, -(w[2] as f64) + self.cy]
    }
}

/// The ground: the DEM downsampled to at most [`Terrain::MAX_SIDE`] points a side.
#[derive(Debug, Clone)]
pub struct Terrain {
    /// Points per row.
    pub nx: usize,
    /// Rows (row 0 at the north).
    pub ny: usize,
    /// Map x of the first column's points.
    pub x0: f64,
    /// Map y of the first row's points.
    pub y0: f64,
    /// Spacing, m.
    pub step: f64,
    /// Heights, row-major.
    pub h: Vec<f32>,
}

impl Terrain {
    /// Largest number of points along a side.
    pub const MAX_SIDE: usize = 256;

    /// The terrain of a DEM (cell centres, every k-th cell), nodata filled with the lowest
    /// ground; a flat plane over `bbox` when the city has no DEM.
    pub fn new(dem: Option<&Raster>, bbox: [[f64; 2]; 2]) -> Terrain {
        let Some(d) = dem.filter(|d| d.nx > 1 && d.ny > 1) else {
            let step = ((bbox[1][0] - bbox[0][0]).max(bbox[1][1] - bbox[0][1]) / 32.0).max(1.0);
            let nx = ((bbox[1][0] - bbox[0][0]) / step).ceil() as usize + 1;
            let ny = ((bbox[1][1] - bbox[0][1]) / step).ceil() as usize + 1;
            return Terrain {
                nx,
                ny,
                x0: bbox[0][0],
                y0: bbox[1][1],
                step,
                h: vec![0.0; nx * ny],
            };
        };
        let k = d.nx.max(d.ny).div_ceil(Self::MAX_SIDE).max(1);
        let (nx, ny) = (d.nx.div_ceil(k), d.ny.div_ceil(k));
        let lowest = d
            .data
            .iter()
            .filter(|v| !d.is_nodata(**v) && v.is_finite())
            .fold(f32::INFINITY, |a, b| a.min(*b));
        let lowest = if lowest.is_finite() { lowest } else { 0.0 };
        let mut h = Vec::with_capacity(nx * ny);
        for r in 0..ny {
            for c in 0..nx {
                let v = d.get((c * k).min(d.nx - 1), (r * k).min(d.ny - 1));
                h.push(if d.is_nodata(v) || !v.is_finite() {
                    lowest
                } else {
                    v
                });
            }
        }
        Terrain {
            nx,
            ny,
            x0: d.x0 + 0.5 * d.cell,
            y0: d.y0 - 0.5 * d.cell,
            step: d.cell * k as f64,
            h,
        }
    }

    /// Lowest point.
    pub fn min(&self) -> f64 {
        self.h.iter().fold(f32::INFINITY, |a, b| a.min(*b)) as f64
    }

    /// Ground height at a map point, bilinear between the terrain's points (clamped at the
    /// edges), so that what lies on the ground lies on the drawn surface.
    pub fn height_at(&self, x: f64, y: f64) -> f64 {
        let fc = ((x - self.x0) / self.step).clamp(0.0, (self.nx - 1) as f64);
        let fr = ((self.y0 - y) / self.step).clamp(0.0, (self.ny - 1) as f64);
        let (c, r) = (
            (fc.floor() as usize).min(self.nx.saturating_sub(2)),
            (fr.floor() as usize).min(self.ny.saturating_sub(2)),
        );
        let (tx, ty) = (fc - c as f64, fr - r as f64);
        let g =
            |c: usize, r: usize| self.h[r.min(self.ny - 1) * self.nx + c.min(self.nx - 1)] as f64;
        let top = g(c, r) * (1.0 - tx) + g(c + 1, r) * tx;
        let bot = g(c, r + 1) * (1.0 - tx) + g(c + 1, r + 1) * tx;
        top * (1.0 - ty) + bot * ty
    }

    /// The shaded ground mesh.
    pub fn mesh(&self, f: &Frame) -> MeshData {
        let mut m = MeshData::default();
        let col = colors::linear(colors::TERRAIN);
        for r in 0..self.ny {
            for c in 0..self.nx {
                let x = self.x0 + c as f64 * self.step;
                let y = self.y0 - r as f64 * self.step;
                let g =
                    |c: usize, r: usize| self.h[r.min(self.ny - 1) * self.nx + c.min(self.nx - 1)];
                let dx = (g(c + 1, r) - g(c.saturating_sub(1), r)) as f64 / (2.0 * self.step);
                let dy = (g(c, r.saturating_sub(1)) - g(c, r + 1)) as f64 / (2.0 * self.step);
                // Normal of z = h(x, y) in world axes (x, up, -y).
                let n = [-dx, 1.0, dy];
                let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
                m.positions
                    .push(f.world(x, y, self.h[r * self.nx + c] as f64));
                m.normals
                    .push([(n[0] / l) as f32, (n[1] / l) as f32, (n[2] / l) as f32]);
                m.colors.push(col);
            }
        }
        for r in 0..self.ny - 1 {
            for c in 0..self.nx - 1 {
                let i = (r * self.nx + c) as u32;
                let (a, b, cc, d) = (i, i + 1, i + self.nx as u32, i + self.nx as u32 + 1);
                m.indices.extend([a, cc, b, b, cc, d]);
            }
        }
        m
    }
}

/// One mesh: positions, normals, linear RGBA vertex colours, triangles (counter-clockwise
/// seen from outside).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeshData {
    /// World positions.
    pub positions: Vec<[f32; 3]>,
    /// Unit normals.
    pub normals: Vec<[f32; 3]>,
    /// Linear RGBA.
    pub colors: Vec<[f32; 4]>,
    /// Triangle list.
    pub indices: Vec<u32>,
}

impl MeshData {
    /// No triangles.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Adds a quad a, b, c, d (counter-clockwise seen from the side `n` points to).
    fn quad(&mut self, p: [[f32; 3]; 4], n: [f32; 3], col: [f32; 4]) {
        let i = self.positions.len() as u32;
        self.positions.extend(p);
        self.normals.extend([n; 4]);
        self.colors.extend([col; 4]);
        self.indices.extend([i, i + 1, i + 2, i, i + 2, i + 3]);
    }

    /// Adds map points as vertices at height `z` facing up; returns the first one's index.
    fn level_vertices(&mut self, pts: &[[f64; 2]], z: f64, f: &Frame, col: [f32; 4]) -> u32 {
        let i0 = self.positions.len() as u32;
        for v in pts {
            self.positions.push(f.world(v[0], v[1], z));
            self.normals.push([0.0, 1.0, 0.0]);
            self.colors.push(col);
        }
        i0
    }

    /// Sets the colour of the vertices in `r`.
    pub fn recolour(&mut self, r: Range<usize>, col: [f32; 4]) {
        for c in &mut self.colors[r] {
            *c = col;
        }
    }

    /// Appends another mesh.
    pub fn append(&mut self, o: &MeshData) {
        let base = self.positions.len() as u32;
        self.positions.extend_from_slice(&o.positions);
        self.normals.extend_from_slice(&o.normals);
        self.colors.extend_from_slice(&o.colors);
        self.indices.extend(o.indices.iter().map(|i| i + base));
    }
}

/// A building's height, m: `height_m`, else `levels` × 3.3 + 1.2, else 6.
pub fn building_height(f: &Feature) -> f64 {
    f.num("height_m")
        .filter(|h| *h > 0.0)
        .or_else(|| f.num("levels").map(|l| l.max(1.0) * 3.3 + 1.2))
        .unwrap_or(6.0)
}

fn polygons(g: &Geometry<f64>) -> Vec<&Polygon<f64>> {
    match g {
        Geometry::Polygon(p) => vec![p],
        Geometry::MultiPolygon(mp) => mp.0.iter().collect(),
        Geometry::GeometryCollection(gc) => gc.0.iter().flat_map(polygons).collect(),
        _ => Vec::new(),
    }
}

fn lines(g: &Geometry<f64>) -> Vec<&LineString<f64>> {
    match g {
        Geometry::LineString(l) => vec![l],
        Geometry::MultiLineString(ml) => ml.0.iter().collect(),
        Geometry::GeometryCollection(gc) => gc.0.iter().flat_map(lines).collect(),
        _ => Vec::new(),
    }
}

fn points(g: &Geometry<f64>) -> Vec<[f64; 2]> {
    match g {
        Geometry::Point(p) => vec![[p.x(), p.y()]],
        Geometry::MultiPoint(mp) => mp.0.iter().map(|p| [p.x(), p.y()]).collect(),
        Geometry::GeometryCollection(gc) => gc.0.iter().flat_map(points).collect(),
        _ => Vec::new(),
    }
}

/// Extrudes one footprint: walls from the lowest ground under it to `height` above, and a
/// flat roof.
pub fn extrude(
    m: &mut MeshData,
    p: &Polygon<f64>,
    height: f64,
    t: &Terrain,
    f: &Frame,
    col: [f32; 4],
) {
    let ring = &p.exterior().0;
    if ring.len() < 4 {
        return;
    }
    let base = ring
        .iter()
        .map(|c| t.height_at(c.x, c.y))
        .fold(f64::INFINITY, f64::min)
        - 0.5;
    let top = base + 0.5 + height;
    // Orientation: make the ring counter-clockwise in map coordinates.
    let area2: f64 = ring
        .windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum();
    let ccw = area2 > 0.0;
    for w in ring.windows(2) {
        let (a, b) = if ccw { (w[0], w[1]) } else { (w[1], w[0]) };
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let l = (dx * dx + dy * dy).sqrt();
        if l < 1e-6 {
            continue;
        }
        // Outward normal of a counter-clockwise ring: (dy, -dx) in map; world z = -y.
        let n = [(dy / l) as f32, 0.0, (dx / l) as f32];
        m.quad(
            [
                f.world(a.x, a.y, base),
                f.world(b.x, b.y, base),
                f.world(b.x, b.y, top),
                f.world(a.x, a.y, top),
            ],
            n,
            col,
        );
    }
    let tris = p.earcut_triangles_raw();
    let i0 = m.level_vertices(&tris.vertices, top, f, col);
    for t in tris.triangle_indices.chunks(3) {
        // Face the roof up: counter-clockwise in map coordinates is counter-clockwise seen
        // from above in world coordinates too.
        let (a, b, c) = (t[0] as u32, t[1] as u32, t[2] as u32);
        let (pa, pb, pc) = (
            tris.vertices[t[0]],
            tris.vertices[t[1]],
            tris.vertices[t[2]],
        );
        let cross = (pb[0] - pa[0]) * (pc[1] - pa[1]) - (pb[1] - pa[1]) * (pc[0] - pa[0]);
        if cross > 0.0 {
            m.indices.extend([i0 + a, i0 + b, i0 + c]);
        } else {
            m.indices.extend([i0 + a, i0 + c, i0 + b]);
        }
    }
}

/// A flat polygon `lift` m above the ground (draped at its vertices' mean height).
pub fn flat_polygon(
    m: &mut MeshData,
    p: &Polygon<f64>,
    lift: f64,
    t: &Terrain,
    f: &Frame,
    col: [f32; 4],
) {
    let tris = p.earcut_triangles_raw();
    if tris.triangle_indices.is_empty() {
        return;
    }
    let ring = &p.exterior().0;
    let z = ring.iter().map(|c| t.height_at(c.x, c.y)).sum::<f64>() / ring.len() as f64 + lift;
    let i0 = m.level_vertices(&tris.vertices, z, f, col);
    for t in tris.triangle_indices.chunks(3) {
        // Both windings: drawn double-sided anyway, keep earcut's.
        m.indices
            .extend([i0 + t[0] as u32, i0 + t[2] as u32, i0 + t[1] as u32]);
    }
}

/// A ribbon of half-width `half` along a line, `lift` m above the ground, split so that it
/// follows the terrain.
pub fn ribbon(
    m: &mut MeshData,
    l: &LineString<f64>,
    half: f64,
    lift: f64,
    t: &Terrain,
    f: &Frame,
    col: [f32; 4],
) {
    for w in l.0.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len = (dx * dx + dy * dy).sqrt();
        if len < 1e-6 {
            continue;
        }
        let (nx, ny) = (-dy / len * half, dx / len * half);
        let pieces = ((len / t.step).ceil() as usize).clamp(1, 64);
        for k in 0..pieces {
            let (s0, s1) = (k as f64 / pieces as f64, (k + 1) as f64 / pieces as f64);
            let (x0, y0) = (a.x + dx * s0, a.y + dy * s0);
            let (x1, y1) = (a.x + dx * s1, a.y + dy * s1);
            let (z0, z1) = (t.height_at(x0, y0) + lift, t.height_at(x1, y1) + lift);
            m.quad(
                [
                    f.world(x0 - nx, y0 - ny, z0),
                    f.world(x1 - nx, y1 - ny, z1),
                    f.world(x1 + nx, y1 + ny, z1),
                    f.world(x0 + nx, y0 + ny, z0),
                ],
                [0.0, 1.0, 0.0],
                col,
            );
        }
    }
}

/// A symbol: a box `size` = (width, height) standing on the ground at `[x, y]`.
pub fn symbol(
    m: &mut MeshData,
    [x, y]: [f64; 2],
    (size, height): (f64, f64),
    t: &Terrain,
    f: &Frame,
    col: [f32; 4],
) {
    let z0 = t.height_at(x, y);
    let h = size / 2.0;
    let (x0, x1, y0, y1, za, zb) = (x - h, x + h, y - h, y + h, z0, z0 + height);
    let w = |x, y, z| f.world(x, y, z);
    // Top, then the four sides (north, south, east, west).
    m.quad(
        [w(x0, y0, zb), w(x1, y0, zb), w(x1, y1, zb), w(x0, y1, zb)],
        [0.0, 1.0, 0.0],
        col,
    );
    m.quad(
        [w(x1, y1, za), w(x0, y1, za), w(x0, y1, zb), w(x1, y1, zb)],
        [0.0, 0.0, -1.0],
        col,
    );
    m.quad(
        [w(x0, y0, za), w(x1, y0, za), w(x1, y0, zb), w(x0, y0, zb)],
        [0.0, 0.0, 1.0],
        col,
    );
    m.quad(
        [w(x1, y0, za), w(x1, y1, za), w(x1, y1, zb), w(x1, y0, zb)],
        [1.0, 0.0, 0.0],
        col,
    );
    m.quad(
        [w(x0, y1, za), w(x0, y0, za), w(x0, y0, zb), w(x0, y1, zb)],
        [-1.0, 0.0, 0.0],
        col,
    );
}

/// Which part of a layer a mesh is: lit solids (buildings, symbols) or unlit flat things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// Shaded by the sun (buildings, symbols).
    Lit,
    /// Unlit, drawn in its exact colour (polygons, lines, roads).
    Flat,
}

/// The meshes of the city's layers and the vertex ranges of what playback recolours.
#[derive(Debug, Clone, Default)]
pub struct CityMeshes {
    /// Per layer and part.
    pub layers: BTreeMap<(Layer, Part), MeshData>,
    /// Road feature id → its vertices in the `(TrafficRoad, Flat)` mesh.
    pub road_ranges: Vec<(i64, Range<usize>)>,
    /// Pump name → its vertices in the `(Utility, Lit)` mesh.
    pub pump_ranges: Vec<(String, Range<usize>)>,
}

/// Kinds not drawn: areas that only serve the models.
fn hidden_kind(kind: &str) -> bool {
    matches!(
        kind,
        "subcatchment" | "terrain_tile" | "population_block" | "label" | "storage"
    )
}

/// Builds every layer's meshes.
pub fn city_meshes(city: &City, t: &Terrain, f: &Frame) -> CityMeshes {
    let mut out = CityMeshes::default();
    for layer in Layer::ALL {
        let mut lit = MeshData::default();
        let mut flat = MeshData::default();
        for feat in city.layer(layer).features() {
            if hidden_kind(&feat.kind) {
                continue;
            }
            let g = &feat.geometry;
            if layer == Layer::Building {
                let col = colors::linear(colors::BUILDING);
                for p in polygons(g) {
                    extrude(&mut lit, p, building_height(feat), t, f, col);
                }
                continue;
            }
            for p in polygons(g) {
                let col = colors::linear(colors::polygon_colour(layer, &feat.kind));
                let lift = if colors::polygon_colour(layer, &feat.kind) == colors::WATER {
                    0.4
                } else {
                    0.6
                };
                flat_polygon(&mut flat, p, lift, t, f, col);
            }
            for l in lines(g) {
                if layer == Layer::TrafficRoad {
                    let hw = feat.text("highway").unwrap_or("");
                    let width = feat
                        .num("width_m")
                        .filter(|w| *w > 0.0)
                        .unwrap_or_else(|| colors::road_width(hw));
                    let start = flat.positions.len();
                    ribbon(
                        &mut flat,
                        l,
                        width / 2.0,
                        0.9,
                        t,
                        f,
                        colors::linear(colors::road_base_colour(hw)),
                    );
                    out.road_ranges
                        .push((feat.id.0, start..flat.positions.len()));
                } else {
                    let half = if feat.kind == "river" { 20.0 } else { 1.5 };
                    ribbon(
                        &mut flat,
                        l,
                        half,
                        0.7,
                        t,
                        f,
                        colors::linear(colors::line_colour(layer, &feat.kind)),
                    );
                }
            }
            // Pumps are drawn as a symbol at their station too (their line runs to the basin).
            let mut at = points(g);
            if feat.kind == "pump"
                && let Some(c) = lines(g).first().and_then(|l| l.0.first())
            {
                at.push([c.x, c.y]);
            }
            for [x, y] in at {
                let col = colors::linear(colors::symbol_colour(layer, &feat.kind));
                let (size, height) = match feat.kind.as_str() {
                    "street_tree" => (5.0, 8.0),
                    "manhole" | "traffic_signals" | "camera" | "bus_stop" => (5.0, 5.0),
                    "pump" | "hospital" | "fire_station" | "police" => (22.0, 30.0),
                    _ => (12.0, 16.0),
                };
                let start = lit.positions.len();
                symbol(&mut lit, [x, y], (size, height), t, f, col);
                if feat.kind == "pump" {
                    let name = feat.name.clone().unwrap_or_else(|| feat.id.0.to_string());
                    out.pump_ranges.push((name, start..lit.positions.len()));
                }
            }
        }
        if !lit.is_empty() {
            out.layers.insert((layer, Part::Lit), lit);
        }
        if !flat.is_empty() {
            out.layers.insert((layer, Part::Flat), flat);
        }
    }
    out
}

/// A flat quad per cell of `r` to which `style` gives a colour and a height above the ground
/// (skipping missing cells and those it gives none), 1.6 m over the terrain's surface.
fn cell_surface(
    r: &Raster,
    t: &Terrain,
    f: &Frame,
    style: impl Fn(f64) -> Option<([u8; 3], f64)>,
) -> MeshData {
    let mut m = MeshData::default();
    let h = r.cell / 2.0;
    for row in 0..r.ny {
        for c in 0..r.nx {
            let v = r.get(c, row);
            if r.is_nodata(v) || !v.is_finite() {
                continue;
            }
            let Some((col, above)) = style(v as f64) else {
                continue;
            };
            let [x, y] = r.cell_center(c, row);
            let z = t.height_at(x, y) + 1.6 + above;
            m.quad(
                [
                    f.world(x - h, y + h, z),
                    f.world(x - h, y - h, z),
                    f.world(x + h, y - h, z),
                    f.world(x + h, y + h, z),
                ],
                [0.0, 1.0, 0.0],
                colors::linear(col),
            );
        }
    }
    m
}

/// The flood surface of one depth frame: a quad per wet cell (depth in the report's classes,
/// 5 cm or more), coloured by class, just above the water's level.
pub fn flood_mesh(depth: &Raster, t: &Terrain, f: &Frame) -> MeshData {
    cell_surface(depth, t, f, |d| {
        colors::depth_colour(d).map(|c| (c, d.min(3.0)))
    })
}

/// The difference of two runs' water (B − A, m) as a surface: a quad per cell that differs
/// by 5 cm or more, in the compare view's classes, at the height of the deeper water.
pub fn diff_mesh(diff: &Raster, t: &Terrain, f: &Frame) -> MeshData {
    cell_surface(diff, t, f, |d| {
        crate::compare::diff_class(d).map(|k| (crate::compare::DIFF_COLOURS[k], d.abs().min(3.0)))
    })
}

/// A vehicle class's marker size on the map: (side, height), m. Larger than the vehicles so
/// that they show at city scale.
pub fn vehicle_size(c: crate::playback::VehicleClass) -> (f32, f32) {
    match c {
        crate::playback::VehicleClass::Motorbike => (8.0, 4.0),
        crate::playback::VehicleClass::Car => (10.0, 5.0),
        _ => (14.0, 7.0),
    }
}

/// A vehicle class's marker: a unit box (x and z in ±0.5, y in 0..1) in the class's colour,
/// its sides shaded darker in the colours themselves so that it reads as a box unlit. Every
/// marker of a class is an instance of this one mesh, placed by [`vehicle_transform`].
pub fn vehicle_marker(c: crate::playback::VehicleClass) -> MeshData {
    let col = colors::linear(colors::vehicle_colour(c));
    let shade = |k: f32| [col[0] * k, col[1] * k, col[2] * k, col[3]];
    let mut m = MeshData::default();
    let (a, b) = (-0.5f32, 0.5f32);
    m.quad(
        [[a, 1.0, b], [b, 1.0, b], [b, 1.0, a], [a, 1.0, a]],
        [0.0, 1.0, 0.0],
        col,
    );
    m.quad(
        [[b, 0.0, a], [a, 0.0, a], [a, 1.0, a], [b, 1.0, a]],
        [0.0, 0.0, -1.0],
        shade(0.75),
    );
    m.quad(
        [[a, 0.0, b], [b, 0.0, b], [b, 1.0, b], [a, 1.0, b]],
        [0.0, 0.0, 1.0],
        shade(0.6),
    );
    m.quad(
        [[b, 0.0, b], [b, 0.0, a], [b, 1.0, a], [b, 1.0, b]],
        [1.0, 0.0, 0.0],
        shade(0.7),
    );
    m.quad(
        [[a, 0.0, a], [a, 0.0, b], [a, 1.0, b], [a, 1.0, a]],
        [-1.0, 0.0, 0.0],
        shade(0.55),
    );
    m
}

/// Where a vehicle's marker stands: its position on the ground (world) and its scale.
pub fn vehicle_transform(
    v: &crate::playback::Vehicle,
    t: &Terrain,
    f: &Frame,
) -> ([f32; 3], [f32; 3]) {
    let (x, y) = (v.x as f64, v.y as f64);
    let (s, h) = vehicle_size(v.class);
    (f.world(x, y, t.height_at(x, y)), [s, h, s])
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn a_vehicle_marker_stands_on_the_ground_at_its_place_in_its_class_size() {
        let mut d = Raster::filled(100, 100, 1000.0, 5000.0, 2.0, 0.0);
        for r in 0..100 {
            for c in 0..100 {
                d.set(c, r, 3.0 + c as f32 * 0.1);
            }
        }
        let t = Terrain::new(Some(&d), d.bbox());
        let f = Frame {
            cx: 1100.0,
            cy: 4900.0,
            z0: 3.0,
        };
        let v = crate::playback::Vehicle {
            trip: 7,
            class: crate::playback::VehicleClass::Bus,
            x: 1121.0,
            y: 4950.0,
        };
        let (p, s) = vehicle_transform(&v, &t, &f);
        // Ground at x = 1121: 3 + (1121 − 1001) / 2 × 0.1 = 9 m, 6 m above z0.
        assert!(
            (p[0] - 21.0).abs() < 1e-4 && (p[2] + 50.0).abs() < 1e-4,
            "{p:?}"
        );
        assert!((p[1] - 6.0).abs() < 1e-3, "{p:?}");
        assert_eq!(s, [14.0, 7.0, 14.0]);
        // The marker: a unit box on its base, five faces, the top in the class colour and
        // every side darker.
        let m = vehicle_marker(crate::playback::VehicleClass::Car);
        assert_eq!((m.positions.len(), m.indices.len()), (20, 30));
        let ys: Vec<f32> = m.positions.iter().map(|p| p[1]).collect();
        assert_eq!(ys.iter().cloned().fold(f32::MAX, f32::min), 0.0);
        assert_eq!(ys.iter().cloned().fold(f32::MIN, f32::max), 1.0);
        let top = colors::linear(colors::vehicle_colour(crate::playback::VehicleClass::Car));
        assert_eq!(m.colors[0], top);
        assert!(
            m.colors[4..]
                .iter()
                .all(|c| c[0] + c[1] + c[2] < top[0] + top[1] + top[2])
        );
    }

    #[test]
    fn terrain_downsamples_and_interpolates() {
        let mut d = Raster::filled(600, 300, 1000.0, 5000.0, 2.0, 10.0);
        for r in 0..300 {
            for c in 0..600 {
                d.set(c, r, c as f32 * 0.01);
            }
        }
        let t = Terrain::new(Some(&d), d.bbox());
        assert!(t.nx <= Terrain::MAX_SIDE && t.ny <= Terrain::MAX_SIDE);
        assert_eq!(t.step, 6.0);
        // The DEM is a plane: h = (x - 1001) / 2 * 0.01.
        let (x, y) = (1500.0, 4700.0);
        assert!((t.height_at(x, y) - (x - 1001.0) / 200.0).abs() < 1e-3);
        let m = t.mesh(&Frame {
            cx: 0.0,
            cy: 0.0,
            z0: 0.0,
        });
        assert_eq!(m.positions.len(), t.nx * t.ny);
        assert!(m.normals.iter().all(|n| n[1] > 0.99));
    }

    #[test]
    fn extruded_building_has_walls_and_roof_at_its_height() {
        let t = Terrain::new(None, [[0.0, 0.0], [100.0, 100.0]]);
        let f = Frame {
            cx: 50.0,
            cy: 50.0,
            z0: 0.0,
        };
        let mut m = MeshData::default();
        let p = polygon![(x: 10.0, y: 10.0), (x: 20.0, y: 10.0), (x: 20.0, y: 30.0), (x: 10.0, y: 30.0)];
        extrude(&mut m, &p, 12.0, &t, &f, [1.0; 4]);
        // 4 walls × 4 vertices + 4 roof vertices; 4 × 2 + 2 triangles.
        assert_eq!(m.positions.len(), 20);
        assert_eq!(m.indices.len(), 30);
        let top = m.positions.iter().map(|p| p[1]).fold(f32::MIN, f32::max);
        assert!((top - 12.0).abs() < 1e-4);
        // The roof faces up: its triangles are counter-clockwise seen from above.
        for tri in m.indices[24..].chunks(3) {
            let [a, b, c] = [tri[0], tri[1], tri[2]].map(|i| m.positions[i as usize]);
            let ny = (b[2] - a[2]) * (c[0] - a[0]) - (b[0] - a[0]) * (c[2] - a[2]);
            assert!(ny > 0.0);
        }
        // Wall normals point away from the centre.
        for q in 0..4 {
            let p = m.positions[4 * q];
            let n = m.normals[4 * q];
            let cx = (15.0 - 50.0) as f32;
            let cz = -(20.0 - 50.0) as f32;
            assert!((p[0] - cx) * n[0] + (p[2] - cz) * n[2] > 0.0);
        }
    }
}
