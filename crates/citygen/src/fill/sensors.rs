//! Sensors placed where a drainage operator would put them, for a city that has none:
//! - a level sensor in each lake and river with a level (normal = the level, alert 0.6 m
//!   above it, as the demo district's);
//! - a level sensor in each pumping station's wet well;
//! - rain gauges: the operator's gauges inside the city or within 2 km of it where a gauge
//!   list is given, else one per 4 km² on a regular lattice;
//! - street flood sensors (điểm đo ngập) at the deepest road points of a design-storm run,
//!   at most `n` of them, 300 m apart at least, where the water reaches 10 cm.

use super::{DESIGNED, Note, centre, mark_designed};
use geo::{Geometry, Point};
use twin_model::{City, Feature, FeatureId, Layer, Raster};

/// A rain gauge's name and position in the city's CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeSite {
    /// Identifier (kept as `gauge_id`).
    pub id: String,
    /// Name.
    pub name: String,
    /// Position, city CRS.
    pub pos: [f64; 2],
}

fn has_kind(city: &City, kind: &str) -> bool {
    city.layer(Layer::Environment)
        .features()
        .iter()
        .any(|f| f.kind == kind)
}

/// Lake, river, wet-well and rain sensors.
pub fn fixed_sensors(city: &mut City, gauges: &[GaugeSite], extent: [[f64; 2]; 2]) -> Vec<Note> {
    let mut notes = Vec::new();
    let mut next = city.next_id(Layer::Environment).0;
    let mut make = |kind: &str, p: [f64; 2]| {
        next += 1;
        Feature::new(
            FeatureId(next),
            kind,
            Layer::Environment.default_owner(),
            Point::new(p[0], p[1]).into(),
        )
        .with("source", DESIGNED)
    };
    let mut out = Vec::new();
    if !has_kind(city, "water_level_sensor") {
        for f in city.layer(Layer::Environment).features() {
            let Some(level) = f.num("level_m").or(f.num("stage_m")) else {
                continue;
            };
            if !matches!(f.geometry, Geometry::Polygon(_) | Geometry::MultiPolygon(_)) {
                continue;
            }
            // On the water, near its centre when it holds it.
            let Some(p) = geo::InteriorPoint::interior_point(&f.geometry) else {
                continue;
            };
            let name = f
                .name
                .clone()
                .unwrap_or_else(|| format!("{} {}", f.kind, f.id.0));
            out.push(
                make("water_level_sensor", [p.x(), p.y()])
                    .with_name(format!("Đo mực nước {name} / level sensor"))
                    .with("normal_m", level)
                    .with("alert_m", ((level + 0.6) * 100.0).round() / 100.0),
            );
        }
        for f in city.layer(Layer::Utility).features() {
            if f.kind != "storage" {
                continue;
            }
            let (Some(inv), Some(rim), Some(p)) =
                (f.num("invert_m"), f.num("rim_m"), centre(&f.geometry))
            else {
                continue;
            };
            let node = f.name.clone().unwrap_or_default();
            out.push(
                make("water_level_sensor", p)
                    .with_name(format!("Đo mực nước bể hút {node} / Wet-well level"))
                    .with("normal_m", ((inv + 0.5) * 1000.0).round() / 1000.0)
                    .with("alert_m", ((rim - 0.5) * 1000.0).round() / 1000.0)
                    .with("drainage_node", node),
            );
        }
        let n = out.len();
        if n > 0 {
            mark_designed(
                city,
                Layer::Environment,
                "water_level_sensor",
                "one in each lake, river and wet well; alert 0.6 m above a lake's level",
            );
            notes.push(Note::made(
                "level sensors in lakes, rivers and wet wells",
                n,
                "one each",
            ));
        }
    }
    if !has_kind(city, "rain_gauge") {
        let margin = 2000.0;
        let near: Vec<&GaugeSite> = gauges
            .iter()
            .filter(|g| {
                g.pos[0] >= extent[0][0] - margin
                    && g.pos[0] <= extent[1][0] + margin
                    && g.pos[1] >= extent[0][1] - margin
                    && g.pos[1] <= extent[1][1] + margin
            })
            .collect();
        let before = out.len();
        if !near.is_empty() {
            for g in near {
                out.push(
                    make("rain_gauge", g.pos)
                        .with_name(g.name.clone())
                        .with("gauge_id", g.id.clone())
                        .with("interval_min", 5i64),
                );
            }
            notes.push(Note::made(
                "rain gauges from the operator's list",
                out.len() - before,
                "inside the city or within 2 km",
            ));
        } else {
            let area_km2 = (extent[1][0] - extent[0][0]) * (extent[1][1] - extent[0][1]) / 1e6;
            let k = (area_km2 / 4.0).sqrt().ceil().max(1.0) as usize;
            for i in 0..k {
                for j in 0..k {
                    let p = [
                        extent[0][0] + (i as f64 + 0.5) * (extent[1][0] - extent[0][0]) / k as f64,
                        extent[0][1] + (j as f64 + 0.5) * (extent[1][1] - extent[0][1]) / k as f64,
                    ];
                    let n = i * k + j + 1;
                    out.push(
                        make("rain_gauge", p)
                            .with_name(format!(
                                "Trạm đo mưa thiết kế RG{n} / Designed rain gauge RG{n}"
                            ))
                            .with("interval_min", 5i64),
                    );
                }
            }
            mark_designed(
                city,
                Layer::Environment,
                "rain_gauge",
                "one per 4 km² on a regular lattice",
            );
            notes.push(Note::warn(
                "rain gauges designed on a lattice (no gauge list, or none near)",
                out.len() - before,
                "one per 4 km²",
            ));
        }
    }
    city.layer_mut(Layer::Environment).extend(out);
    notes
}

/// Street flood sensors at the deepest road points of `max_depth` (a design-storm run's
/// deepest water, on the city's DEM grid). Returns the notes and the chosen points.
pub fn street_sensors(city: &mut City, max_depth: &Raster, n: usize) -> (Vec<Note>, Vec<[f64; 2]>) {
    if city
        .layer(Layer::Environment)
        .features()
        .iter()
        .any(|f| f.kind == "water_level_sensor" && f.num("alert_depth_m").is_some())
    {
        return (
            vec![Note::made(
                "street flood sensors kept as surveyed",
                0,
                "the city already has them",
            )],
            Vec::new(),
        );
    }
    // The deepest cell along each road (sampled every half cell), with the road's name.
    let mut cands: Vec<(f64, [f64; 2], String)> = Vec::new();
    for f in city.layer(Layer::TrafficRoad).features() {
        if f.kind != "road" || twin_model::roads::is_bridge(f) {
            continue;
        }
        let Geometry::LineString(ls) = &f.geometry else {
            continue;
        };
        let mut best: Option<(f64, [f64; 2])> = None;
        for w in ls.0.windows(2) {
            let len = (w[1].x - w[0].x).hypot(w[1].y - w[0].y);
            let steps = (len / (max_depth.cell / 2.0)).ceil().max(1.0) as usize;
            for s in 0..=steps {
                let t = s as f64 / steps as f64;
                let p = [
                    w[0].x + t * (w[1].x - w[0].x),
                    w[0].y + t * (w[1].y - w[0].y),
                ];
                if let Some((c, r)) = max_depth.cell_at(p[0], p[1]) {
                    let v = max_depth.get(c, r);
                    if !max_depth.is_nodata(v)
                        && v >= 0.1
                        && best.is_none_or(|(d, _)| f64::from(v) > d)
                    {
                        best = Some((f64::from(v), p));
                    }
                }
            }
        }
        if let Some((d, p)) = best {
            let name = f.name.clone().unwrap_or_else(|| format!("road {}", f.id.0));
            cands.push((d, p, name));
        }
    }
    cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
    let mut chosen: Vec<([f64; 2], String, f64)> = Vec::new();
    for (d, p, name) in cands {
        if chosen.len() >= n {
            break;
        }
        if chosen
            .iter()
            .all(|(q, _, _)| (q[0] - p[0]).hypot(q[1] - p[1]) >= 300.0)
        {
            chosen.push((p, name, d));
        }
    }
    let dem = city.dem.clone();
    let mut next = city.next_id(Layer::Environment).0;
    let mut out = Vec::new();
    for (k, (p, name, d)) in chosen.iter().enumerate() {
        next += 1;
        let ground = dem
            .as_ref()
            .and_then(|r| r.sample(p[0], p[1]))
            .unwrap_or(f64::NAN);
        out.push(
            Feature::new(
                FeatureId(next),
                "water_level_sensor",
                Layer::Environment.default_owner(),
                Point::new(p[0], p[1]).into(),
            )
            .with_name(format!(
                "Điểm đo ngập {} – {name} / Street flood sensor {}",
                k + 1,
                k + 1
            ))
            .with("ground_m", (ground * 1000.0).round() / 1000.0)
            .with("alert_depth_m", 0.3)
            .with("design_storm_depth_m", (d * 100.0).round() / 100.0)
            .with("street", name.clone())
            .with("source", DESIGNED),
        );
    }
    let pts = chosen.iter().map(|c| c.0).collect();
    let count = out.len();
    city.layer_mut(Layer::Environment).extend(out);
    let rule = "deepest road points of the design-storm run, ≥ 10 cm, ≥ 300 m apart";
    mark_designed(city, Layer::Environment, "street_flood_sensor", rule);
    (vec![Note::made("street flood sensors", count, rule)], pts)
}
