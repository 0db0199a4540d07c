//! Filling the gaps of a real city's data by documented rules, so that every command runs on
//! it: the DEM cut to the city and its holes filled, water levels from the DEM, residents from
//! ward totals, jobs from the mapped economic and public features, a sewer network designed on
//! the real streets, and sensors placed where a drainage operator would put them.
//!
//! Whatever a rule makes is marked: each designed feature carries `source = "designed"`, and
//! the city's metadata holds one `designed:<layer>:<kind>` entry per rule used, whose text
//! names the rule (read by `twin info` and the report). Surveyed data always wins: a rule runs
//! only where the layer lacks what it makes.

pub mod people;
pub mod sensors;
pub mod sewers;
pub mod water;

use geo::{BoundingRect, Centroid, Geometry};
use twin_model::{City, Feature, Layer, Raster};

/// The attribute value that marks a designed feature.
pub const DESIGNED: &str = "designed";

/// What a fill step did: a count of things made or changed, and the rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// What, in a few words (English).
    pub what: String,
    /// How many.
    pub count: usize,
    /// The rule, with its source.
    pub rule: String,
    /// True when the user should look at it (data missing, filled or left out).
    pub warning: bool,
}

impl Note {
    fn made(what: impl Into<String>, count: usize, rule: impl Into<String>) -> Note {
        Note {
            what: what.into(),
            count,
            rule: rule.into(),
            warning: false,
        }
    }

    fn warn(what: impl Into<String>, count: usize, rule: impl Into<String>) -> Note {
        Note {
            what: what.into(),
            count,
            rule: rule.into(),
            warning: true,
        }
    }
}

/// Records in the city's metadata that `layer`'s `kind` features were designed by `rule`.
pub fn mark_designed(city: &mut City, layer: Layer, kind: &str, rule: &str) {
    city.metadata.insert(
        format!("designed:{}:{kind}", layer.table_name()),
        rule.to_string(),
    );
}

/// True when a feature was designed rather than surveyed.
pub fn is_designed(f: &Feature) -> bool {
    f.text("source") == Some(DESIGNED)
}

/// Centroid of a feature's geometry.
pub(crate) fn centre(g: &Geometry<f64>) -> Option<[f64; 2]> {
    g.centroid().map(|p| [p.x(), p.y()])
}

/// The bounding box of the city's drivable roads, `[min, max]`.
pub fn roads_extent(city: &City) -> Option<[[f64; 2]; 2]> {
    let mut bb: Option<[[f64; 2]; 2]> = None;
    for f in city
        .layer(Layer::TrafficRoad)
        .features()
        .iter()
        .filter(|f| f.kind == "road")
        .filter(|f| twin_model::roads::is_drivable_class(f.text("highway").unwrap_or("road")))
    {
        if let Some(r) = f.geometry.bounding_rect() {
            let b = bb.get_or_insert([[r.min().x, r.min().y], [r.max().x, r.max().y]]);
            b[0][0] = b[0][0].min(r.min().x);
            b[0][1] = b[0][1].min(r.min().y);
            b[1][0] = b[1][0].max(r.max().x);
            b[1][1] = b[1][1].max(r.max().y);
        }
    }
    bb
}

/// A square of a lattice: its index and `[x0, y0, x1, y1]`.
pub(crate) type Square = (usize, [f64; 4]);

/// Squares of side `step` over `extent`, row by row from the south-west, the last row and
/// column cut at the extent: the lattice's (columns, rows) and each square's index
/// (`row × columns + column`) with its `[x0, y0, x1, y1]`.
pub(crate) fn squares(extent: [[f64; 2]; 2], step: f64) -> ((usize, usize), Vec<Square>) {
    let nx = ((extent[1][0] - extent[0][0]) / step).ceil().max(1.0) as usize;
    let ny = ((extent[1][1] - extent[0][1]) / step).ceil().max(1.0) as usize;
    let mut out = Vec::with_capacity(nx * ny);
    for r in 0..ny {
        for c in 0..nx {
            let (x0, y0) = (
                extent[0][0] + c as f64 * step,
                extent[0][1] + r as f64 * step,
            );
            let (x1, y1) = ((x0 + step).min(extent[1][0]), (y0 + step).min(extent[1][1]));
            out.push((r * nx + c, [x0, y0, x1, y1]));
        }
    }
    ((nx, ny), out)
}

/// Fills missing cells from their valid neighbours, ring by ring inward (each pass gives
/// every missing cell with a valid 8-neighbour the mean of those neighbours). Returns how many
/// cells were filled.
pub fn fill_gaps(r: &mut Raster) -> usize {
    let mut filled = 0;
    loop {
        let mut changes = Vec::new();
        for row in 0..r.ny {
            for col in 0..r.nx {
                if !r.is_nodata(r.get(col, row)) {
                    continue;
                }
                let (mut s, mut n) = (0.0f64, 0u32);
                for dr in -1i64..=1 {
                    for dc in -1i64..=1 {
                        let (rr, cc) = (row as i64 + dr, col as i64 + dc);
                        if (dr, dc) == (0, 0)
                            || rr < 0
                            || cc < 0
                            || rr >= r.ny as i64
                            || cc >= r.nx as i64
                        {
                            continue;
                        }
                        let v = r.get(cc as usize, rr as usize);
                        if !r.is_nodata(v) {
                            s += v as f64;
                            n += 1;
                        }
                    }
                }
                if n > 0 {
                    changes.push((col, row, (s / n as f64) as f32));
                }
            }
        }
        if changes.is_empty() {
            return filled;
        }
        filled += changes.len();
        for (c, rr, v) in changes {
            r.set(c, rr, v);
        }
    }
}

/// Share of the drivable road junctions that fall on valid DEM cells, and their count.
pub fn road_coverage(city: &City, dem: &Raster) -> (usize, usize) {
    let g = twin_model::RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    let on = g
        .nodes
        .iter()
        .filter(|n| {
            dem.cell_at(n.pos[0], n.pos[1])
                .is_some_and(|(c, r)| !dem.is_nodata(dem.get(c, r)))
        })
        .count();
    (on, g.nodes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_fill_from_the_edge() {
        // A 3 × 3 hole in a plane tilted along x fills with values between its rims.
        let mut p = Raster::filled(9, 9, 0.0, 90.0, 10.0, 0.0);
        p.nodata = Some(-9999.0);
        for row in 0..9 {
            for col in 0..9 {
                let v = if (3..6).contains(&row) && (3..6).contains(&col) {
                    -9999.0
                } else {
                    col as f32
                };
                p.set(col, row, v);
            }
        }
        assert_eq!(fill_gaps(&mut p), 9);
        assert!(p.data.iter().all(|v| *v != -9999.0));
        assert!((p.get(4, 4) - 4.0).abs() < 0.5, "{}", p.get(4, 4));
        assert!(p.get(3, 4) < p.get(5, 4));
    }
}
