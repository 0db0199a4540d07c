//! Cross-layer impacts of a flood: water depth on each road → speed or closure.
//!
//! Depth–speed: Pregnolato, Ford, Wilkinson & Dawson (2017), "The impact of flooding on road
//! transport: a depth-disruption function", Transportation Research Part D 55, 67–81:
//! v = 0.0009 d² − 0.5529 d + 86.9448 (v in km/h, d in mm), never above the road's free-flow
//! speed; impassable from 300 mm.

use geo::Coord;
use twin_model::{City, Layer, Raster};

/// Depth at which a road is closed, mm (Pregnolato et al. 2017).
pub const CLOSURE_DEPTH_MM: f64 = 300.0;

/// Safe speed (km/h) on a road under `depth_mm` of water with free-flow speed `free_kmh`;
/// 0 when impassable.
pub fn flooded_speed_kmh(depth_mm: f64, free_kmh: f64) -> f64 {
    if depth_mm >= CLOSURE_DEPTH_MM {
        return 0.0;
    }
    let d = depth_mm.max(0.0);
    let v = 0.0009 * d * d - 0.5529 * d + 86.9448;
    v.clamp(0.0, free_kmh)
}

/// A road feature's worst water depth and what it means for traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadImpact {
    /// Road feature id in the Traffic & Road layer.
    pub feature: i64,
    /// Road name, if any.
    pub name: Option<String>,
    /// Maximum depth along the road, m.
    pub max_depth_m: f64,
    /// Free-flow speed, km/h.
    pub free_kmh: f64,
    /// Speed under the maximum depth, km/h (0 = closed).
    pub flooded_kmh: f64,
    /// Length of road under ≥ 10 cm of water, m.
    pub flooded_length_m: f64,
}

/// Samples the depth raster every half cell along every road and returns the roads with any
/// water (depth > 1 cm), worst first (ties by feature id).
pub fn road_impacts(city: &City, depth: &Raster) -> Vec<RoadImpact> {
    let step = 0.5 * depth.cell;
    let mut out = Vec::new();
    for f in city
        .layer(Layer::TrafficRoad)
        .features()
        .iter()
        .filter(|f| f.kind == "road")
    {
        let geo::Geometry::LineString(ls) = &f.geometry else {
            continue;
        };
        let (mut worst, mut wet_len) = (0.0f64, 0.0f64);
        for seg in ls.lines() {
            let len = (seg.end.x - seg.start.x).hypot(seg.end.y - seg.start.y);
            let n = ((len / step).ceil() as usize).max(1);
            for k in 0..=n {
                let t = k as f64 / n as f64;
                let p = Coord {
                    x: seg.start.x + t * (seg.end.x - seg.start.x),
                    y: seg.start.y + t * (seg.end.y - seg.start.y),
                };
                let d = depth
                    .cell_at(p.x, p.y)
                    .map(|(c, r)| depth.get(c, r))
                    .filter(|v| !depth.is_nodata(*v))
                    .unwrap_or(0.0) as f64;
                worst = worst.max(d);
                if d >= 0.1 && k < n {
                    wet_len += len / n as f64;
                }
            }
        }
        if worst > 0.01 {
            let free = f.num("maxspeed_kmh").unwrap_or(30.0);
            out.push(RoadImpact {
                feature: f.id.0,
                name: f.name.clone(),
                max_depth_m: worst,
                free_kmh: free,
                flooded_kmh: flooded_speed_kmh(worst * 1000.0, free),
                flooded_length_m: wet_len,
            });
        }
    }
    out.sort_by(|a, b| {
        b.max_depth_m
            .total_cmp(&a.max_depth_m)
            .then(a.feature.cmp(&b.feature))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_model::{Crs, Department, Feature, FeatureId};

    #[test]
    fn pregnolato_curve() {
        assert!((flooded_speed_kmh(0.0, 100.0) - 86.9448).abs() < 1e-9);
        // 100 mm: 0.0009·10^4 − 55.29 + 86.9448 = 40.6548 km/h
        assert!((flooded_speed_kmh(100.0, 100.0) - 40.6548).abs() < 1e-9);
        assert_eq!(flooded_speed_kmh(100.0, 30.0), 30.0);
        assert_eq!(flooded_speed_kmh(300.0, 50.0), 0.0);
        // The curve's minimum is near 307 mm: just below closure it is ~2 km/h.
        assert!(flooded_speed_kmh(299.0, 50.0) < 2.2);
    }

    #[test]
    fn depth_along_roads() {
        let mut c = City::new("t", Crs::VN2000_UTM48N);
        let road = |id, y: f64| {
            Feature::new(
                FeatureId(id),
                "road",
                Department::Construction,
                geo::LineString::from(vec![(0.0, y), (100.0, y)]).into(),
            )
            .with_name(format!("R{id}"))
            .with("maxspeed_kmh", 50.0)
        };
        c.layer_mut(Layer::TrafficRoad)
            .extend([road(1, 15.0), road(2, 85.0)]);
        let mut d = Raster::filled(10, 10, 0.0, 100.0, 10.0, 0.0);
        // 0.35 m of water over the cells x 40–60 on row 8 (y 10–20), 5 cm elsewhere on that row.
        for col in 0..10 {
            d.set(col, 8, if (4..6).contains(&col) { 0.35 } else { 0.05 });
        }
        let r = road_impacts(&c, &d);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].feature, 1);
        assert!((r[0].max_depth_m - 0.35).abs() < 1e-6);
        assert_eq!(r[0].flooded_kmh, 0.0);
        assert!(
            (r[0].flooded_length_m - 20.0).abs() < 5.1,
            "{}",
            r[0].flooded_length_m
        );
    }
}
