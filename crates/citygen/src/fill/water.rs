//! Water bodies on the DEM: levels where the data gives none, and the bed burned into the DEM.
//!
//! Rules:
//! - A DEM over water records the water surface at survey time, and the embankment stands
//!   above it. A lake's or river's level (`level_m`, `stage_m` for rivers) is therefore the
//!   lower of the median DEM inside it and the 10th percentile of the DEM on its shore (the
//!   ring of cells within two cells outside it) less 0.3 m of freeboard.
//! - The bed is 1.5 m below the level for lakes (Hanoi's inner lakes are shallow, 1–2 m;
//!   Hoàn Kiếm about 1.5 m) and 4 m for rivers, and the DEM inside the polygon is lowered to
//!   it, so the flood solver holds the water body at its level.
//! - Water bodies smaller than 0.1 ha, or with fewer than 4 DEM cells inside, are left as
//!   they are (named by count).

use super::{DESIGNED, Note, mark_designed};
use geo::{Area, BoundingRect, Contains, Geometry, Point};
use twin_model::{City, Layer, Raster};

/// Depth of a designed lake below its level, m.
pub const LAKE_DEPTH_M: f64 = 1.5;
/// Depth of a designed river bed below its stage, m.
pub const RIVER_DEPTH_M: f64 = 4.0;

/// Cells of `dem` whose centre lies in `g`.
pub(crate) fn cells_in(dem: &Raster, g: &Geometry<f64>) -> Vec<usize> {
    let Some(b) = g.bounding_rect() else {
        return Vec::new();
    };
    let c0 = (((b.min().x - dem.x0) / dem.cell).floor().max(0.0) as usize).min(dem.nx);
    let c1 = (((b.max().x - dem.x0) / dem.cell).ceil().max(0.0) as usize).min(dem.nx);
    let r0 = (((dem.y0 - b.max().y) / dem.cell).floor().max(0.0) as usize).min(dem.ny);
    let r1 = (((dem.y0 - b.min().y) / dem.cell).ceil().max(0.0) as usize).min(dem.ny);
    let mut out = Vec::new();
    for r in r0..r1 {
        for c in c0..c1 {
            let p = dem.cell_center(c, r);
            if g.contains(&Point::new(p[0], p[1])) {
                out.push(r * dem.nx + c);
            }
        }
    }
    out
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Sets levels where missing and burns every water body's bed into the DEM.
pub fn levels_and_beds(city: &mut City) -> Vec<Note> {
    let Some(mut dem) = city.dem.take() else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    let (mut lakes, mut rivers, mut small, mut burned) = (0, 0, 0, 0usize);
    let ids: Vec<_> = city
        .layer(Layer::Environment)
        .features()
        .iter()
        .filter(|f| matches!(f.kind.as_str(), "water" | "river" | "riverbank"))
        .filter(|f| matches!(f.geometry, Geometry::Polygon(_) | Geometry::MultiPolygon(_)))
        .map(|f| f.id)
        .collect();
    for id in ids {
        let f = city.layer(Layer::Environment).get(id).unwrap().clone();
        let river = f.kind != "water"
            || matches!(f.text("water"), Some("river" | "canal"))
            || f.text("waterway").is_some();
        let inside = cells_in(&dem, &f.geometry);
        let valid: Vec<f64> = inside
            .iter()
            .map(|&i| dem.data[i])
            .filter(|v| !dem.is_nodata(*v))
            .map(f64::from)
            .collect();
        if f.geometry.unsigned_area() < 1000.0 || valid.len() < 4 {
            small += 1;
            continue;
        }
        let key = if river { "stage_m" } else { "level_m" };
        let level = match f.num(key).or(f.num("level_m")) {
            Some(l) => l,
            None => {
                let mut v = valid.clone();
                let median = percentile(&mut v, 0.5);
                let mut shore = shore_values(&dem, &inside);
                let level = if shore.is_empty() {
                    median
                } else {
                    median.min(percentile(&mut shore, 0.1) - 0.3)
                };
                let level = (level * 100.0).round() / 100.0;
                let depth = if river { RIVER_DEPTH_M } else { LAKE_DEPTH_M };
                let bed = level - depth;
                let mut g = f.clone().with(key, level).with("source_level", DESIGNED);
                if f.num("bed_m").is_none() {
                    g = g.with("bed_m", bed);
                }
                if river {
                    rivers += 1;
                } else {
                    lakes += 1;
                }
                city.layer_mut(Layer::Environment).insert(g);
                level
            }
        };
        let bed = city
            .layer(Layer::Environment)
            .get(id)
            .and_then(|g| g.num("bed_m"))
            .unwrap_or(level - if river { RIVER_DEPTH_M } else { LAKE_DEPTH_M });
        for &i in &inside {
            if dem.is_nodata(dem.data[i]) || f64::from(dem.data[i]) > bed {
                dem.data[i] = bed as f32;
                burned += 1;
            }
        }
    }
    city.dem = Some(dem);
    if lakes > 0 {
        let rule = "level: the lower of the median DEM inside and the shore's 10th percentile less 0.3 m; bed 1.5 m below";
        mark_designed(city, Layer::Environment, "water.level_m", rule);
        notes.push(Note::made("lake levels from the DEM", lakes, rule));
    }
    if rivers > 0 {
        let rule = "stage: the lower of the median DEM inside and the shore's 10th percentile less 0.3 m; bed 4 m below";
        mark_designed(city, Layer::Environment, "river.stage_m", rule);
        notes.push(Note::made("river stages from the DEM", rivers, rule));
    }
    if burned > 0 {
        notes.push(Note::made(
            "DEM cells lowered to a water body's bed",
            burned,
            "cells whose centre lies in a lake or river polygon, set to its bed",
        ));
    }
    if small > 0 {
        notes.push(Note::warn(
            "water bodies too small for the DEM left as they are",
            small,
            "under 0.1 ha or fewer than 4 DEM cells inside",
        ));
    }
    notes
}

/// DEM values on the ring of cells up to two cells outside the cells `inside`.
fn shore_values(dem: &Raster, inside: &[usize]) -> Vec<f64> {
    let set: std::collections::HashSet<usize> = inside.iter().copied().collect();
    let mut ring = std::collections::BTreeSet::new();
    for &i in inside {
        let (r, c) = ((i / dem.nx) as i64, (i % dem.nx) as i64);
        for dr in -2i64..=2 {
            for dc in -2i64..=2 {
                let (rr, cc) = (r + dr, c + dc);
                if rr < 0 || cc < 0 || rr >= dem.ny as i64 || cc >= dem.nx as i64 {
                    continue;
                }
                let j = rr as usize * dem.nx + cc as usize;
                if !set.contains(&j) {
                    ring.insert(j);
                }
            }
        }
    }
    ring.into_iter()
        .map(|j| dem.data[j])
        .filter(|v| !dem.is_nodata(*v))
        .map(f64::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};
    use twin_model::{Crs, Feature, FeatureId};

    #[test]
    fn a_lake_gets_its_level_from_the_shore_and_its_bed_burned() {
        // Ground at 9 m, a lake 200 × 200 m whose surface the DEM reads at 8 m.
        let mut city = City::new("t", Crs::parse("EPSG:3405").unwrap());
        let mut dem = Raster::filled(60, 60, 0.0, 600.0, 10.0, 9.0);
        for r in 20..40 {
            for c in 20..40 {
                dem.set(c, r, 8.0);
            }
        }
        city.dem = Some(dem);
        let sq = Polygon::new(
            LineString::from(vec![
                (200.0, 200.0),
                (400.0, 200.0),
                (400.0, 400.0),
                (200.0, 400.0),
                (200.0, 200.0),
            ]),
            vec![],
        );
        city.layer_mut(Layer::Environment).insert(Feature::new(
            FeatureId(1),
            "water",
            Layer::Environment.default_owner(),
            sq.into(),
        ));
        let notes = levels_and_beds(&mut city);
        let f = city.layer(Layer::Environment).get(FeatureId(1)).unwrap();
        // Median inside 8.0; shore's 10th percentile 9.0 − 0.3 = 8.7: the level is 8.0.
        assert_eq!(f.num("level_m"), Some(8.0));
        assert_eq!(f.num("bed_m"), Some(6.5));
        let dem = city.dem.as_ref().unwrap();
        assert_eq!(dem.get(30, 30), 6.5);
        assert_eq!(dem.get(10, 10), 9.0);
        assert_eq!(notes[0].count, 1);
        assert_eq!(notes[1].count, 400);
        assert!(
            city.metadata
                .contains_key("designed:environment:water.level_m")
        );
    }
}
