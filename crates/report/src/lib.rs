//! # twin-report
//!
//! Results as pictures and pages: the scenario report ([`html`], Vietnamese and English, with
//! inline SVG charts) and the flood map — maximum depth over a hillshade of the terrain,
//! in the depth classes Hanoi's drainage operator uses for inundation points (about 0.1 m
//! "ứ đọng" ponding, 0.2 m "ngập nhẹ" light flooding, above 0.3 m "ngập ảnh hưởng giao
//! thông" flooding that affects traffic; shared/mission/hanoi-facts.md), with a legend strip.
//!
//! Invariants: no I/O (images are returned as RGB buffers; `twin-io` writes them), no
//! simulation.

pub mod compare;
pub mod ensemble;
pub mod html;
pub mod scenario;

use twin_model::Raster;

/// An 8-bit RGB image, row-major, row 0 at the top.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb {
    /// Width, px.
    pub width: usize,
    /// Height, px.
    pub height: usize,
    /// `3 × width × height` bytes.
    pub data: Vec<u8>,
}

impl Rgb {
    fn put(&mut self, x: usize, y: usize, c: [u8; 3]) {
        let i = 3 * (y * self.width + x);
        self.data[i..i + 3].copy_from_slice(&c);
    }

    /// Pixel at (x, y).
    pub fn get(&self, x: usize, y: usize) -> [u8; 3] {
        let i = 3 * (y * self.width + x);
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

/// Depth classes (lower bound in m) and their colours, shallow to deep.
pub const DEPTH_CLASSES: [(f64, [u8; 3]); 5] = [
    (0.05, [189, 215, 238]), // 5–10 cm: wet
    (0.10, [107, 174, 214]), // 10–20 cm: ponding (ứ đọng)
    (0.20, [33, 113, 181]),  // 20–30 cm: light flooding (ngập nhẹ)
    (0.30, [8, 48, 107]),    // 30–50 cm: affects traffic (ảnh hưởng giao thông)
    (0.50, [122, 1, 119]),   // > 50 cm: deep
];

/// Colour of a depth, or `None` below the first class.
pub fn depth_colour(d: f64) -> Option<[u8; 3]> {
    DEPTH_CLASSES
        .iter()
        .rev()
        .find(|(lo, _)| d >= *lo)
        .map(|(_, c)| *c)
}

/// Hillshade in 0..1 (Horn's method; sun from the north-west at 45°).
fn hillshade(dem: &Raster, c: usize, r: usize) -> f64 {
    let z = |cc: isize, rr: isize| -> f64 {
        let cc = cc.clamp(0, dem.nx as isize - 1) as usize;
        let rr = rr.clamp(0, dem.ny as isize - 1) as usize;
        let v = dem.get(cc, rr);
        if dem.is_nodata(v) {
            dem.get(c, r) as f64
        } else {
            v as f64
        }
    };
    let (c, r) = (c as isize, r as isize);
    let dzdx = ((z(c + 1, r - 1) + 2.0 * z(c + 1, r) + z(c + 1, r + 1))
        - (z(c - 1, r - 1) + 2.0 * z(c - 1, r) + z(c - 1, r + 1)))
        / (8.0 * dem.cell);
    let dzdy = ((z(c - 1, r + 1) + 2.0 * z(c, r + 1) + z(c + 1, r + 1))
        - (z(c - 1, r - 1) + 2.0 * z(c, r - 1) + z(c + 1, r - 1)))
        / (8.0 * dem.cell);
    let (zen, az) = (45f64.to_radians(), 315f64.to_radians());
    // Exaggerate the gentle urban relief threefold so streets and basins read.
    let slope = (3.0 * (dzdx * dzdx + dzdy * dzdy).sqrt()).atan();
    let aspect = dzdy.atan2(-dzdx);
    (zen.cos() * slope.cos() + zen.sin() * slope.sin() * (az - aspect).cos()).clamp(0.0, 1.0)
}

/// A map of `nx × ny` cells, row 0 at the top, each cell in `colour(col, row)`, scaled up to
/// at least 600 px wide, with a legend strip of the `legend` colours along the bottom.
pub(crate) fn cell_map(
    nx: usize,
    ny: usize,
    colour: impl Fn(usize, usize) -> [u8; 3],
    legend: &[[u8; 3]],
) -> Rgb {
    let scale = (600 / nx.max(1)).max(1);
    let (w, h_map) = (nx * scale, ny * scale);
    let strip = 24;
    let mut img = Rgb {
        width: w,
        height: h_map + strip,
        data: vec![255; 3 * w * (h_map + strip)],
    };
    for r in 0..ny {
        for c in 0..nx {
            let col = colour(c, r);
            for dy in 0..scale {
                for dx in 0..scale {
                    img.put(c * scale + dx, r * scale + dy, col);
                }
            }
        }
    }
    let seg = w / legend.len().max(1);
    for (k, col) in legend.iter().enumerate() {
        for x in k * seg + 2..(k + 1) * seg - 2 {
            for y in h_map + 4..h_map + strip - 4 {
                img.put(x, y, *col);
            }
        }
    }
    img
}

/// [`cell_map`] over a DEM's grid: cells off the DEM (nodata) white, the rest coloured by
/// `colour`.
fn dem_map(dem: &Raster, colour: impl Fn(usize, usize) -> [u8; 3], legend: &[[u8; 3]]) -> Rgb {
    cell_map(
        dem.nx,
        dem.ny,
        |c, r| {
            if dem.is_nodata(dem.get(c, r)) {
                [255, 255, 255]
            } else {
                colour(c, r)
            }
        },
        legend,
    )
}

/// Rain total classes (lower bound in mm) and their colours, light to heavy.
pub const RAIN_CLASSES: [(f64, [u8; 3]); 7] = [
    (0.0, [237, 248, 233]),
    (25.0, [199, 233, 192]),
    (50.0, [161, 217, 155]),
    (100.0, [116, 196, 118]),
    (150.0, [65, 171, 93]),
    (250.0, [35, 139, 69]),
    (400.0, [0, 90, 50]),
];

/// Map of a storm's total rain per cell (mm) in [`RAIN_CLASSES`], nodata in white, with the
/// classes as a legend strip.
pub fn rain_map(total: &Raster) -> Rgb {
    let legend: Vec<[u8; 3]> = RAIN_CLASSES.iter().map(|(_, c)| *c).collect();
    cell_map(
        total.nx,
        total.ny,
        |c, r| {
            let v = total.get(c, r);
            if total.is_nodata(v) {
                [255, 255, 255]
            } else {
                RAIN_CLASSES
                    .iter()
                    .rev()
                    .find(|(lo, _)| v as f64 >= *lo)
                    .map_or([255, 255, 255], |(_, c)| *c)
            }
        },
        &legend,
    )
}

/// The flood map: depth classes over a grey hillshade, nodata in white, with a legend strip
/// of the classes along the bottom. One pixel per cell (scaled up to at least 600 px wide).
pub fn flood_map(dem: &Raster, depth: &Raster) -> Rgb {
    let legend: Vec<[u8; 3]> = DEPTH_CLASSES.iter().map(|(_, c)| *c).collect();
    dem_map(
        dem,
        |c, r| {
            let d = if c < depth.nx && r < depth.ny {
                depth.get(c, r)
            } else {
                0.0
            };
            let shade = 90.0 + 150.0 * hillshade(dem, c, r);
            match (!depth.is_nodata(d))
                .then(|| depth_colour(d as f64))
                .flatten()
            {
                Some(col) => {
                    col.map(|x| (x as f64 * (0.75 + 0.25 * shade / 240.0)).min(255.0) as u8)
                }
                None => [shade as u8; 3],
            }
        },
        &legend,
    )
}

/// How a road fares under the flood, for [`road_map`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoadClass {
    /// Dry or passable at its free speed.
    Open,
    /// Slowed by water on it.
    Slowed,
    /// Closed (water at or above the closure depth).
    Closed,
}

/// Colours of [`RoadClass`] on the road map: grey, orange, red.
pub const ROAD_COLOURS: [[u8; 3]; 3] = [[110, 110, 110], [241, 140, 26], [215, 25, 28]];

/// The road map: the flood's depth classes, faded, over the hillshade, with every road drawn
/// on top in the colour of its class (open grey, slowed orange, closed red; closed roads
/// thickest and drawn last) and a legend strip of the three classes. Roads are polylines in
/// the DEM's CRS; the map has the scale of [`flood_map`].
pub fn road_map(dem: &Raster, depth: &Raster, roads: &[(Vec<[f64; 2]>, RoadClass)]) -> Rgb {
    let mut img = flood_map(dem, depth);
    let scale = (600 / dem.nx.max(1)).max(1) as f64;
    let h_map = dem.ny * scale as usize;
    // Fade the map towards white so the roads stand out.
    for y in 0..h_map {
        for x in 0..img.width {
            let p = img.get(x, y);
            img.put(x, y, p.map(|v| (v as f64 * 0.55 + 255.0 * 0.45) as u8));
        }
    }
    let to_px = |p: [f64; 2]| {
        (
            (p[0] - dem.x0) / dem.cell * scale,
            (dem.y0 - p[1]) / dem.cell * scale,
        )
    };
    for class in [RoadClass::Open, RoadClass::Slowed, RoadClass::Closed] {
        let (colour, half) = match class {
            RoadClass::Open => (ROAD_COLOURS[0], 0.6),
            RoadClass::Slowed => (ROAD_COLOURS[1], 1.2),
            RoadClass::Closed => (ROAD_COLOURS[2], 1.8),
        };
        for (line, _) in roads.iter().filter(|(_, c)| *c == class) {
            for w in line.windows(2) {
                let (a, b) = (to_px(w[0]), to_px(w[1]));
                thick_segment(&mut img, h_map, a, b, half, colour);
            }
        }
    }
    // Legend: the three road classes in place of the depth classes.
    let legend_top = img.height - 24;
    for y in legend_top..img.height {
        for x in 0..img.width {
            img.put(x, y, [255, 255, 255]);
        }
    }
    let seg = img.width / 3;
    for (k, col) in ROAD_COLOURS.iter().enumerate() {
        for x in k * seg + 2..(k + 1) * seg - 2 {
            for y in legend_top + 8..legend_top + 16 {
                img.put(x, y, *col);
            }
        }
    }
    img
}

/// Paints the pixels within `half` px of the segment a–b (pixel coordinates), clipped to the
/// map's first `h` rows.
fn thick_segment(img: &mut Rgb, h: usize, a: (f64, f64), b: (f64, f64), half: f64, c: [u8; 3]) {
    let (x0, x1) = (a.0.min(b.0) - half, a.0.max(b.0) + half);
    let (y0, y1) = (a.1.min(b.1) - half, a.1.max(b.1) + half);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let xs = x0.floor().max(0.0) as usize..(x1.ceil().max(0.0) as usize).min(img.width);
    for y in y0.floor().max(0.0) as usize..(y1.ceil().max(0.0) as usize).min(h) {
        for x in xs.clone() {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            let t = if len2 > 0.0 {
                (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (qx, qy) = (a.0 + t * dx - px, a.1 + t * dy - py);
            if qx * qx + qy * qy <= half * half {
                img.put(x, y, c);
            }
        }
    }
}

/// Reach classes of a population block against a response standard, best to worst: within
/// half the standard, within it, within 1.5 times it, beyond, and no route at all.
pub const REACH_COLOURS: [[u8; 3]; 5] = [
    [26, 152, 80],
    [166, 217, 106],
    [253, 174, 97],
    [215, 48, 39],
    [84, 39, 136],
];

/// Class (index into [`REACH_COLOURS`]) of a travel time against a standard, s.
pub fn reach_class(time_s: Option<f64>, limit_s: f64) -> usize {
    match time_s {
        None => 4,
        Some(t) if t <= 0.5 * limit_s => 0,
        Some(t) if t <= limit_s => 1,
        Some(t) if t <= 1.5 * limit_s => 2,
        Some(_) => 3,
    }
}

/// The population blocks coloured by their travel time from the nearest facility of standard
/// `k` ([`twin_engine::reach::STANDARDS`]): before the flood on the left, at its worst on the
/// right, over the hillshade, the facilities as black squares, with the legend of
/// [`REACH_COLOURS`] under each.
pub fn reach_map(
    city: &twin_model::City,
    dem: &Raster,
    reach: &twin_engine::reach::Reach,
    k: usize,
) -> Rgb {
    let limit_s = twin_engine::reach::STANDARDS[k].limit_s;
    let layer = city.layer(twin_model::Layer::Population);
    // The block under each cell centre.
    let mut block: Vec<Option<usize>> = vec![None; dem.nx * dem.ny];
    for (b, br) in reach.blocks.iter().enumerate() {
        if let Some(f) = layer.get(br.feature) {
            for i in twin_engine::impacts::cells_in(dem, &f.geometry) {
                block[i] = Some(b);
            }
        }
    }
    let panel = |phase: usize| {
        dem_map(
            dem,
            |c, r| match block[r * dem.nx + c] {
                Some(b) => {
                    let t = reach.blocks[b].times_s.get(k).and_then(|t| t[phase]);
                    REACH_COLOURS[reach_class(t, limit_s)]
                }
                None => [(90.0 + 150.0 * hillshade(dem, c, r)) as u8; 3],
            },
            &REACH_COLOURS,
        )
    };
    let (mut a, mut b) = (panel(0), panel(1));
    // The facilities themselves: a black square ringed in white.
    let st = &twin_engine::reach::STANDARDS[k];
    let scale = (600 / dem.nx.max(1)).max(1) as f64;
    let h_map = dem.ny * scale as usize;
    for f in city
        .layer(st.layer)
        .features()
        .iter()
        .filter(|f| f.kind == st.kind)
    {
        use geo::Centroid;
        let Some(p) = f.geometry.centroid() else {
            continue;
        };
        let (px, py) = (
            ((p.x() - dem.x0) / dem.cell * scale) as i64,
            ((dem.y0 - p.y()) / dem.cell * scale) as i64,
        );
        for img in [&mut a, &mut b] {
            for dy in -6i64..=6 {
                for dx in -6i64..=6 {
                    let (x, y) = (px + dx, py + dy);
                    if x >= 0 && y >= 0 && (x as usize) < img.width && (y as usize) < h_map {
                        let c = if dx.abs() <= 4 && dy.abs() <= 4 {
                            [0, 0, 0]
                        } else {
                            [255, 255, 255]
                        };
                        img.put(x as usize, y as usize, c);
                    }
                }
            }
        }
    }
    let gap = 12;
    let mut img = Rgb {
        width: a.width + gap + b.width,
        height: a.height,
        data: vec![255; 3 * (a.width + gap + b.width) * a.height],
    };
    for y in 0..a.height {
        for x in 0..a.width {
            img.put(x, y, a.get(x, y));
            img.put(a.width + gap + x, y, b.get(x, y));
        }
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_map_colours_each_block_before_and_during() {
        use twin_engine::reach::{BlockReach, Reach};
        use twin_model::{City, Crs, Department, Feature, FeatureId, Layer};
        assert_eq!(reach_class(Some(300.0), 600.0), 0);
        assert_eq!(reach_class(Some(600.0), 600.0), 1);
        assert_eq!(reach_class(Some(800.0), 600.0), 2);
        assert_eq!(reach_class(Some(901.0), 600.0), 3);
        assert_eq!(reach_class(None, 600.0), 4);
        let mut city = City::new("t", Crs::VN2000_UTM48N);
        // A block over the west half of a 10 × 10 grid of 10 m cells.
        city.layer_mut(Layer::Population).extend([Feature::new(
            FeatureId(7),
            "population_block",
            Department::Construction,
            geo::Polygon::new(
                geo::LineString::from(vec![
                    (0.0, 0.0),
                    (50.0, 0.0),
                    (50.0, 100.0),
                    (0.0, 100.0),
                    (0.0, 0.0),
                ]),
                vec![],
            )
            .into(),
        )
        .with("residents", 100.0)]);
        let dem = Raster::filled(10, 10, 0.0, 100.0, 10.0, 5.0);
        let reach = Reach {
            services: Vec::new(),
            blocks: vec![BlockReach {
                feature: FeatureId(7),
                residents: 100.0,
                // Fire station (standard 0, 10 min): 4 min before, cut off during.
                times_s: vec![[Some(240.0), None]; 3],
            }],
        };
        let img = reach_map(&city, &dem, &reach, 0);
        assert_eq!((img.width, img.height), (600 + 12 + 600, 624));
        assert_eq!(img.get(100, 300), REACH_COLOURS[0]);
        assert_eq!(img.get(612 + 100, 300), REACH_COLOURS[4]);
        // East half: no block, grey ground in both panels.
        let p = img.get(500, 300);
        assert!(p[0] == p[1] && p[1] == p[2], "{p:?}");
        assert_eq!(img.get(612 + 500, 300), p);
    }

    #[test]
    fn classes_and_map() {
        assert_eq!(depth_colour(0.01), None);
        assert_eq!(depth_colour(0.15), Some(DEPTH_CLASSES[1].1));
        assert_eq!(depth_colour(0.35), Some(DEPTH_CLASSES[3].1));
        assert_eq!(depth_colour(2.0), Some(DEPTH_CLASSES[4].1));
        let mut dem = Raster::filled(10, 10, 0.0, 100.0, 10.0, 5.0);
        dem.nodata = Some(-1.0);
        dem.set(0, 0, -1.0);
        let mut depth = Raster::filled(10, 10, 0.0, 100.0, 10.0, 0.0);
        depth.set(5, 5, 0.4);
        let img = flood_map(&dem, &depth);
        assert_eq!((img.width, img.height), (600, 624));
        assert_eq!(img.get(0, 0), [255, 255, 255]);
        // The flooded cell is dark blue (shaded flat ground keeps its colour bright enough).
        let p = img.get(5 * 60 + 30, 5 * 60 + 30);
        assert!(p[2] > p[0] && p[2] > 60, "{p:?}");
        // Dry flat ground is grey.
        let q = img.get(300 + 150, 300 + 150);
        assert!(q[0] == q[1] && q[1] == q[2], "{q:?}");
        // The legend shows the deepest class at its right end.
        assert_eq!(img.get(599 - 10, 612), DEPTH_CLASSES[4].1);
    }

    #[test]
    fn road_map_draws_roads_in_their_class_colours() {
        let dem = Raster::filled(10, 10, 0.0, 100.0, 10.0, 5.0);
        let depth = Raster::filled(10, 10, 0.0, 100.0, 10.0, 0.0);
        // A closed road along y = 50 (pixel row 300), a slowed one along x = 20 (column 120),
        // an open one along y = 90 (row 60).
        let roads = vec![
            (vec![[0.0, 50.0], [100.0, 50.0]], RoadClass::Closed),
            (vec![[20.0, 0.0], [20.0, 100.0]], RoadClass::Slowed),
            (vec![[0.0, 90.0], [100.0, 90.0]], RoadClass::Open),
        ];
        let img = road_map(&dem, &depth, &roads);
        assert_eq!((img.width, img.height), (600, 624));
        assert_eq!(img.get(450, 300), ROAD_COLOURS[2]);
        assert_eq!(img.get(120, 450), ROAD_COLOURS[1]);
        assert_eq!(img.get(450, 60), ROAD_COLOURS[0]);
        // Closed roads are drawn over slowed ones where they cross.
        assert_eq!(img.get(120, 300), ROAD_COLOURS[2]);
        // Away from the roads the faded hillshade is light grey.
        let q = img.get(450, 450);
        assert!(q[0] == q[1] && q[0] > 150 && q != ROAD_COLOURS[0], "{q:?}");
        // Legend: the three classes in order.
        assert_eq!(img.get(100, 612), ROAD_COLOURS[0]);
        assert_eq!(img.get(300, 612), ROAD_COLOURS[1]);
        assert_eq!(img.get(500, 612), ROAD_COLOURS[2]);
    }
}
