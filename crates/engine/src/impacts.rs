//! Cross-layer impacts of a flood: water depth on each road → speed or closure.
//!
//! Depth–speed: Pregnolato, Ford, Wilkinson & Dawson (2017), "The impact of flooding on road
//! transport: a depth-disruption function", Transportation Research Part D 55, 67–81:
//! v = 0.0009 d² − 0.5529 d + 86.9448 (v in km/h, d in mm), never above the road's free-flow
//! speed; impassable from 300 mm.

use geo::Coord;
use twin_model::{City, FeatureId, Layer, Raster};

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
    pub feature: FeatureId,
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

/// A road of the Traffic & Road layer as the flood → traffic chain sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadRef {
    /// Road feature id.
    pub feature: FeatureId,
    /// Road name, if any.
    pub name: Option<String>,
    /// Free-flow speed, km/h (`maxspeed_kmh`, 30 if absent).
    pub free_kmh: f64,
}

/// Calls `f` for every road of the Traffic & Road layer with the points sampled every `step`
/// metres along it (both ends included) and, for each point, the length of road it stands
/// for (0 for a segment's end point).
fn for_each_road(city: &City, step: f64, mut f: impl FnMut(RoadRef, &[(Coord, f64)])) {
    let mut pts = Vec::new();
    for feat in city
        .layer(Layer::TrafficRoad)
        .features()
        .iter()
        .filter(|f| f.kind == "road")
        // A bridge does not take the water under it.
        .filter(|f| !twin_model::roads::is_bridge(f))
    {
        let geo::Geometry::LineString(ls) = &feat.geometry else {
            continue;
        };
        pts.clear();
        for seg in ls.lines() {
            let len = (seg.end.x - seg.start.x).hypot(seg.end.y - seg.start.y);
            let n = ((len / step).ceil() as usize).max(1);
            for k in 0..=n {
                let t = k as f64 / n as f64;
                let p = Coord {
                    x: seg.start.x + t * (seg.end.x - seg.start.x),
                    y: seg.start.y + t * (seg.end.y - seg.start.y),
                };
                pts.push((p, if k < n { len / n as f64 } else { 0.0 }));
            }
        }
        f(
            RoadRef {
                feature: feat.id,
                name: feat.name.clone(),
                free_kmh: feat.num("maxspeed_kmh").unwrap_or(30.0),
            },
            &pts,
        );
    }
}

/// Samples the depth raster every half cell along every road and returns the roads with any
/// water (depth > 1 cm), worst first (ties by feature id).
pub fn road_impacts(city: &City, depth: &Raster) -> Vec<RoadImpact> {
    let mut out = Vec::new();
    for_each_road(city, 0.5 * depth.cell, |road, pts| {
        let (mut worst, mut wet_len) = (0.0f64, 0.0f64);
        for (p, len) in pts {
            let d = depth
                .cell_at(p.x, p.y)
                .map(|(c, r)| depth.get(c, r))
                .filter(|v| !depth.is_nodata(*v))
                .unwrap_or(0.0) as f64;
            worst = worst.max(d);
            if d >= 0.1 {
                wet_len += len;
            }
        }
        if worst > 0.01 {
            out.push(RoadImpact {
                feature: road.feature,
                name: road.name,
                max_depth_m: worst,
                free_kmh: road.free_kmh,
                flooded_kmh: flooded_speed_kmh(worst * 1000.0, road.free_kmh),
                flooded_length_m: wet_len,
            });
        }
    });
    out.sort_by(|a, b| {
        b.max_depth_m
            .total_cmp(&a.max_depth_m)
            .then(a.feature.cmp(&b.feature))
    });
    out
}

/// `roads.csv`: each wet road's worst depth and its speed under the depth–speed curve,
/// `feature,name,max_depth_m,free_kmh,flooded_kmh,closed,flooded_length_m` (commas and quotes
/// in names become spaces).
pub fn roads_csv(impacts: &[RoadImpact]) -> String {
    let mut text =
        String::from("feature,name,max_depth_m,free_kmh,flooded_kmh,closed,flooded_length_m\n");
    for i in impacts {
        let name = i.name.clone().unwrap_or_default().replace(['"', ','], " ");
        text += &format!(
            "{},{},{:.3},{:.1},{:.1},{},{:.1}\n",
            i.feature.0,
            name,
            i.max_depth_m,
            i.free_kmh,
            i.flooded_kmh,
            i.flooded_kmh == 0.0,
            i.flooded_length_m
        );
    }
    text
}

/// Every road of the Traffic & Road layer as its feature id and vertices (for maps).
pub fn road_polylines(city: &City) -> Vec<(FeatureId, Vec<[f64; 2]>)> {
    city.layer(Layer::TrafficRoad)
        .features()
        .iter()
        .filter(|f| f.kind == "road")
        .filter_map(|f| match &f.geometry {
            geo::Geometry::LineString(ls) => {
                Some((f.id, ls.coords().map(|c| [c.x, c.y]).collect()))
            }
            _ => None,
        })
        .collect()
}

/// The roads of the city and the grid cells under each (the cells of the points
/// [`road_impacts`] samples, each once, in order), as probe groups for a flood run whose
/// record becomes a [`RoadTimeline`].
pub fn road_cells(city: &City, grid: &Raster) -> (Vec<RoadRef>, Vec<Vec<usize>>) {
    let (mut roads, mut groups) = (Vec::new(), Vec::new());
    for_each_road(city, 0.5 * grid.cell, |road, pts| {
        let mut cells: Vec<usize> = Vec::new();
        for (p, _) in pts {
            if let Some((c, r)) = grid.cell_at(p.x, p.y) {
                let i = r * grid.nx + c;
                if !cells.contains(&i) {
                    cells.push(i);
                }
            }
        }
        roads.push(road);
        groups.push(cells);
    });
    (roads, groups)
}

/// Each road's deepest water over successive intervals of a flood run: what the traffic
/// under a flood meets as the water rises and falls.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadTimeline {
    /// The roads, in the order of [`road_cells`].
    pub roads: Vec<RoadRef>,
    /// End of each interval, s from the start of the rain.
    pub ends_s: Vec<f64>,
    /// Deepest water on each road during each interval, m: `depth_m[interval][road]`.
    pub depth_m: Vec<Vec<f32>>,
}

impl RoadTimeline {
    /// Speed on road `r` during interval `k` under the Pregnolato et al. (2017) curve (0 =
    /// closed), km/h.
    pub fn speed_kmh(&self, k: usize, r: usize) -> f64 {
        flooded_speed_kmh(self.depth_m[k][r] as f64 * 1000.0, self.roads[r].free_kmh)
    }

    /// For each road, when it first closed (s from the rain's start: the start of its first
    /// closed interval), for how long it was closed in all (s), and whether it was still
    /// closed in the last interval; `None` if it never closed.
    pub fn closures(&self) -> Vec<Option<(f64, f64, bool)>> {
        (0..self.roads.len())
            .map(|r| {
                let mut first = None;
                let mut total = 0.0;
                for k in 0..self.ends_s.len() {
                    if self.speed_kmh(k, r) <= 0.0 {
                        let start = if k == 0 { 0.0 } else { self.ends_s[k - 1] };
                        first.get_or_insert(start);
                        total += self.ends_s[k] - start;
                    }
                }
                let last = self.ends_s.len().checked_sub(1);
                let at_end = last.is_some_and(|k| self.speed_kmh(k, r) <= 0.0);
                first.map(|f| (f, total, at_end))
            })
            .collect()
    }

    /// Roads closed (≥ [`CLOSURE_DEPTH_MM`]) during each interval.
    pub fn closed_per_interval(&self) -> Vec<usize> {
        (0..self.ends_s.len())
            .map(|k| {
                (0..self.roads.len())
                    .filter(|&r| self.speed_kmh(k, r) <= 0.0)
                    .count()
            })
            .collect()
    }
}

/// Depth thresholds of the exposure summary, m: ponding that hinders walking and motorbikes,
/// the depth that closes roads, and water entering ground floors.
pub const EXPOSURE_DEPTHS_M: [f64; 3] = [0.1, 0.3, 0.5];

/// Kinds of the Security layer that are services people need to reach or that must get out
/// (cameras and patrol points are not).
pub const SECURITY_SERVICES: [&str; 3] = ["fire_station", "police", "police_station"];

/// A public service, fire station or police post and the flood around it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceImpact {
    /// Feature id.
    pub feature: FeatureId,
    /// Layer it belongs to.
    pub layer: Layer,
    /// Kind (`hospital`, `school`, `fire_station`, …).
    pub kind: String,
    /// Name.
    pub name: String,
    /// Worst depth on its site, m.
    pub max_depth_m: f64,
    /// Its access road (the nearest road) is closed by the flood.
    pub access_closed: bool,
    /// Name of that road.
    pub access_road: Option<String>,
}

/// Buildings of one use and the flood around them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BuildingUse {
    /// The building's use (its `building` attribute: `house`, `apartments`, `office`, …;
    /// `yes` where the source does not say).
    pub use_: String,
    /// Buildings of that use.
    pub count: usize,
    /// Of them, with water at least each of [`EXPOSURE_DEPTHS_M`] against or inside them.
    pub flooded: [usize; 3],
    /// Residents of the buildings with water of at least 0.3 m.
    pub residents_ge_0_3: f64,
    /// Jobs in the buildings with water of at least 0.3 m.
    pub jobs_ge_0_3: f64,
}

/// Vietnamese and English name of a building use.
pub fn use_label(tag: &str) -> (&str, &str) {
    match tag {
        "house" | "detached" | "terrace" => ("Nhà ở riêng lẻ", "Houses"),
        "residential" => ("Nhà ở", "Residential"),
        "apartments" => ("Chung cư", "Apartments"),
        "office" => ("Văn phòng", "Offices"),
        "commercial" | "retail" => ("Thương mại", "Commercial"),
        "industrial" | "warehouse" => ("Công nghiệp, kho", "Industrial, warehouses"),
        "school" | "university" | "college" | "kindergarten" => ("Giáo dục", "Education"),
        "hospital" | "clinic" => ("Y tế", "Health"),
        "government" | "public" | "civic" => ("Công sở", "Public buildings"),
        "temple" | "pagoda" | "church" | "religious" => ("Tôn giáo", "Religious"),
        "yes" => ("Chưa rõ công năng", "Use not given"),
        other => (other, other),
    }
}

/// Who and what the flood reaches.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    /// Land under at least each of [`EXPOSURE_DEPTHS_M`], m² (open water, [`water_cells`], not counted).
    pub area_m2: [f64; 3],
    /// Residents of population blocks, pro rata to the share of the block's area under at least
    /// each of [`EXPOSURE_DEPTHS_M`].
    pub residents: [f64; 3],
    /// Services whose site has ≥ 10 cm of water or whose access road is closed, worst first.
    pub services: Vec<ServiceImpact>,
    /// Buildings by use, most flooded first.
    pub buildings: Vec<BuildingUse>,
    /// Jobs (buildings, and the Economic layer's markets, malls and businesses) with water of
    /// at least each of [`EXPOSURE_DEPTHS_M`] against or inside their building or site.
    pub jobs: [f64; 3],
    /// Residents and jobs cut off: their building's access road (the nearest road) closed by
    /// the flood.
    pub cut_off: CutOff,
    /// Residents by ward (population blocks naming their `ward`), in name order; empty where
    /// no block names one.
    pub wards: Vec<WardExposure>,
}

/// A ward's residents in the model and those the flood reached.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WardExposure {
    /// Ward name.
    pub ward: String,
    /// Residents of its blocks in the model.
    pub residents: f64,
    /// Of them, where the water reached each of [`EXPOSURE_DEPTHS_M`].
    pub flooded: [f64; 3],
}

/// Residents and jobs whose door no vehicle can reach at the flood's worst.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct CutOff {
    /// Buildings whose access road is closed.
    pub buildings: usize,
    /// Residents in them.
    pub residents: f64,
    /// Jobs in them (and at sites of the Economic layer on a closed road).
    pub jobs: f64,
}

fn depth_at(depth: &Raster, x: f64, y: f64) -> f64 {
    depth
        .cell_at(x, y)
        .map(|(c, r)| depth.get(c, r))
        .filter(|v| !depth.is_nodata(*v) && v.is_finite())
        .unwrap_or(0.0) as f64
}

/// Deepest water in the cells a footprint covers and the ring of cells around it (the water
/// against its walls, where the surface model holds buildings as walls).
fn deepest_around(depth: &Raster, g: &geo::Geometry<f64>) -> f64 {
    use geo::BoundingRect;
    let Some(b) = g.bounding_rect() else {
        return 0.0;
    };
    let cell = depth.cell;
    let c0 = ((b.min().x - depth.x0) / cell - 1.0).floor().max(0.0) as usize;
    let c1 = (((b.max().x - depth.x0) / cell + 1.0).ceil().max(0.0) as usize).min(depth.nx);
    let r0 = ((depth.y0 - b.max().y) / cell - 1.0).floor().max(0.0) as usize;
    let r1 = (((depth.y0 - b.min().y) / cell + 1.0).ceil().max(0.0) as usize).min(depth.ny);
    let mut m = 0.0f64;
    for r in r0..r1 {
        for c in c0..c1 {
            let v = depth.get(c, r);
            if !depth.is_nodata(v) && v.is_finite() {
                m = m.max(v as f64);
            }
        }
    }
    m
}

/// Depth of cell `i` (0 where missing).
fn cell_depth(depth: &Raster, i: usize) -> f64 {
    let v = depth.data[i];
    if depth.is_nodata(v) || !v.is_finite() {
        0.0
    } else {
        v as f64
    }
}

/// Depth at the centres of the cells inside a polygon (the cell under its centroid if none).
fn depths_in(depth: &Raster, g: &geo::Geometry<f64>) -> Vec<f64> {
    use geo::Centroid;
    let mut out: Vec<f64> = cells_in(depth, g)
        .into_iter()
        .map(|i| cell_depth(depth, i))
        .collect();
    if out.is_empty()
        && let Some(p) = g.centroid()
    {
        out.push(depth_at(depth, p.x(), p.y()));
    }
    out
}

/// [`depths_in`] without the cells of open water (`water`, [`water_cells`]); all of them where
/// `g` is all water.
fn land_depths_in(depth: &Raster, g: &geo::Geometry<f64>, water: &[bool]) -> Vec<f64> {
    let cells = cells_in(depth, g);
    let land: Vec<usize> = cells.iter().copied().filter(|i| !water[*i]).collect();
    if land.is_empty() {
        return depths_in(depth, g);
    }
    land.into_iter().map(|i| cell_depth(depth, i)).collect()
}

/// Row-major indices of the cells of `grid` whose centres lie inside `g` (only the cells of its
/// bounding box are tested).
pub fn cells_in(grid: &Raster, g: &geo::Geometry<f64>) -> Vec<usize> {
    use geo::{BoundingRect, Contains};
    let mut out = Vec::new();
    if let Some(b) = g.bounding_rect() {
        let c0 = ((b.min().x - grid.x0) / grid.cell).floor().max(0.0) as usize;
        let c1 = (((b.max().x - grid.x0) / grid.cell).ceil().max(0.0) as usize).min(grid.nx);
        let r0 = ((grid.y0 - b.max().y) / grid.cell).floor().max(0.0) as usize;
        let r1 = (((grid.y0 - b.min().y) / grid.cell).ceil().max(0.0) as usize).min(grid.ny);
        for r in r0..r1 {
            for c in c0..c1 {
                let p = grid.cell_center(c, r);
                if g.contains(&geo::Point::new(p[0], p[1])) {
                    out.push(r * grid.nx + c);
                }
            }
        }
    }
    out
}

/// Kinds of the Environment layer that are open water (lakes, ponds, rivers): their rise is
/// not land flooded.
pub const WATER_BODY_KINDS: [&str; 2] = ["water", "river"];

/// The cells of `grid` whose centres lie in an open water body of the city.
pub fn water_cells(city: &City, grid: &Raster) -> Vec<bool> {
    let mut mask = vec![false; grid.data.len()];
    for f in city
        .layer(Layer::Environment)
        .features()
        .iter()
        .filter(|f| WATER_BODY_KINDS.contains(&f.kind.as_str()))
    {
        for i in cells_in(grid, &f.geometry) {
            mask[i] = true;
        }
    }
    mask
}

/// Flooded land, residents and services reached by a flood (`depth`: maximum flood depth),
/// with each service's access judged from `roads` ([`road_impacts`] of the same flood). Open
/// water (lakes, ponds, the river: [`water_cells`]) is not land: its rise counts in neither
/// the area nor a population block's share.
pub fn exposure(city: &City, depth: &Raster, roads: &[RoadImpact]) -> Exposure {
    use geo::Centroid;
    let cell_area = depth.cell * depth.cell;
    let water = water_cells(city, depth);
    let mut area = [0.0; 3];
    for (i, &v) in depth.data.iter().enumerate() {
        if depth.is_nodata(v) || !v.is_finite() || water[i] {
            continue;
        }
        for (k, t) in EXPOSURE_DEPTHS_M.iter().enumerate() {
            if v as f64 >= *t {
                area[k] += cell_area;
            }
        }
    }
    let mut residents = [0.0; 3];
    let mut wards: std::collections::BTreeMap<String, WardExposure> = Default::default();
    for f in city
        .layer(Layer::Population)
        .features()
        .iter()
        .filter(|f| f.kind == "population_block")
    {
        let people = f.num("residents").unwrap_or(0.0);
        let d = land_depths_in(depth, &f.geometry, &water);
        let ward = f.text("ward").map(|w| {
            let e = wards.entry(w.to_string()).or_insert(WardExposure {
                ward: w.to_string(),
                residents: 0.0,
                flooded: [0.0; 3],
            });
            e.residents += people;
            e
        });
        let mut reached = [0.0; 3];
        for (k, t) in EXPOSURE_DEPTHS_M.iter().enumerate() {
            let share = d.iter().filter(|v| **v >= *t).count() as f64 / d.len().max(1) as f64;
            residents[k] += people * share;
            reached[k] = people * share;
        }
        if let Some(w) = ward {
            for (acc, r) in w.flooded.iter_mut().zip(reached) {
                *acc += r;
            }
        }
    }
    let closed: std::collections::HashSet<FeatureId> = roads
        .iter()
        .filter(|r| r.flooded_kmh <= 0.0)
        .map(|r| r.feature)
        .collect();
    let road_layer = city.layer(Layer::TrafficRoad);
    let mut services = Vec::new();
    for layer in [Layer::PublicService, Layer::Security] {
        for f in city.layer(layer).features().iter().filter(|f| {
            layer == Layer::PublicService || SECURITY_SERVICES.contains(&f.kind.as_str())
        }) {
            let worst = depths_in(depth, &f.geometry)
                .into_iter()
                .fold(0.0f64, f64::max);
            let access = f.geometry.centroid().and_then(|p| {
                road_layer
                    .nearest([p.x(), p.y()], 12)
                    .into_iter()
                    .find(|(r, _)| r.kind == "road")
                    .map(|(r, _)| r)
            });
            let access_closed = access.is_some_and(|r| closed.contains(&r.id));
            if worst >= EXPOSURE_DEPTHS_M[0] || access_closed {
                services.push(ServiceImpact {
                    feature: f.id,
                    layer,
                    kind: f.kind.clone(),
                    name: f
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("{} {}", f.kind, f.id.0)),
                    max_depth_m: worst,
                    access_closed,
                    access_road: access.and_then(|r| r.name.clone()),
                });
            }
        }
    }
    services.sort_by(|a, b| {
        b.access_closed
            .cmp(&a.access_closed)
            .then(b.max_depth_m.total_cmp(&a.max_depth_m))
            .then(a.feature.cmp(&b.feature))
    });
    // Buildings by use, jobs, and who is cut off.
    let access_closed = |g: &geo::Geometry<f64>| {
        g.centroid().is_some_and(|p| {
            road_layer
                .nearest([p.x(), p.y()], 12)
                .into_iter()
                .find(|(r, _)| r.kind == "road")
                .is_some_and(|(r, _)| closed.contains(&r.id))
        })
    };
    let mut by_use: std::collections::BTreeMap<String, BuildingUse> = Default::default();
    let mut jobs = [0.0; 3];
    let mut cut_off = CutOff::default();
    let t = &EXPOSURE_DEPTHS_M;
    for f in city.layer(Layer::Building).features() {
        let tag = f.text("building").unwrap_or("yes").to_string();
        let d = deepest_around(depth, &f.geometry);
        let (res, job) = (
            f.num("residents").unwrap_or(0.0),
            f.num("jobs").unwrap_or(0.0),
        );
        let u = by_use.entry(tag.clone()).or_insert_with(|| BuildingUse {
            use_: tag,
            count: 0,
            flooded: [0; 3],
            residents_ge_0_3: 0.0,
            jobs_ge_0_3: 0.0,
        });
        u.count += 1;
        for k in 0..3 {
            if d >= t[k] {
                u.flooded[k] += 1;
                jobs[k] += job;
            }
        }
        if d >= t[1] {
            u.residents_ge_0_3 += res;
            u.jobs_ge_0_3 += job;
        }
        if (res > 0.0 || job > 0.0) && access_closed(&f.geometry) {
            cut_off.buildings += 1;
            cut_off.residents += res;
            cut_off.jobs += job;
        }
    }
    for f in city.layer(Layer::Economic).features() {
        let Some(job) = f.num("jobs") else { continue };
        let d = deepest_around(depth, &f.geometry);
        for k in 0..3 {
            if d >= t[k] {
                jobs[k] += job;
            }
        }
        if access_closed(&f.geometry) {
            cut_off.jobs += job;
        }
    }
    let mut buildings: Vec<BuildingUse> = by_use.into_values().collect();
    buildings.sort_by(|a, b| {
        b.flooded[1]
            .cmp(&a.flooded[1])
            .then(b.flooded[0].cmp(&a.flooded[0]))
            .then(a.use_.cmp(&b.use_))
    });
    Exposure {
        wards: wards.into_values().collect(),
        area_m2: area,
        residents,
        services,
        buildings,
        jobs,
        cut_off,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_model::{Crs, Department, Feature};

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
        assert_eq!(r[0].feature, FeatureId(1));
        assert!((r[0].max_depth_m - 0.35).abs() < 1e-6);
        assert_eq!(r[0].flooded_kmh, 0.0);
        assert!(
            (r[0].flooded_length_m - 20.0).abs() < 5.1,
            "{}",
            r[0].flooded_length_m
        );
        // The cells under each road, each once, west to east: row 8 and row 1.
        let (refs, groups) = road_cells(&c, &d);
        assert_eq!(
            refs.iter().map(|r| r.feature).collect::<Vec<_>>(),
            [FeatureId(1), FeatureId(2)]
        );
        assert_eq!(refs[0].free_kmh, 50.0);
        assert_eq!(groups[0], (80..90).collect::<Vec<usize>>());
        assert_eq!(groups[1], (10..20).collect::<Vec<usize>>());
        // A timeline on them: road 1 closed in the second interval only.
        let t = RoadTimeline {
            roads: refs,
            ends_s: vec![300.0, 600.0, 900.0],
            depth_m: vec![vec![0.05, 0.0], vec![0.35, 0.0], vec![0.12, 0.0]],
        };
        assert_eq!(t.closed_per_interval(), vec![0, 1, 0]);
        assert_eq!(t.closures(), vec![Some((300.0, 300.0, false)), None]);
        assert!((t.speed_kmh(2, 0) - flooded_speed_kmh(120.0, 50.0)).abs() < 1e-4);
        assert_eq!(t.speed_kmh(0, 1), 50.0);
    }

    #[test]
    fn exposure_counts_area_people_and_cut_off_services() {
        let mut c = City::new("t", Crs::VN2000_UTM48N);
        let rect = |x0: f64, y0: f64, x1: f64, y1: f64| -> geo::Geometry<f64> {
            geo::Polygon::new(
                geo::LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
                vec![],
            )
            .into()
        };
        c.layer_mut(Layer::TrafficRoad).extend([
            Feature::new(
                FeatureId(1),
                "road",
                Department::Construction,
                geo::LineString::from(vec![(0.0, 15.0), (100.0, 15.0)]).into(),
            )
            .with_name("Phố Ngập")
            .with("maxspeed_kmh", 40.0),
            Feature::new(
                FeatureId(2),
                "road",
                Department::Construction,
                geo::LineString::from(vec![(0.0, 95.0), (100.0, 95.0)]).into(),
            )
            .with_name("Phố Khô")
            .with("maxspeed_kmh", 40.0),
        ]);
        // A block of 1,000 residents over the south half of the grid (rows 5–9), another of 500
        // over the north half.
        c.layer_mut(Layer::Population).extend([
            Feature::new(
                FeatureId(10),
                "population_block",
                Department::Construction,
                rect(0.0, 0.0, 100.0, 50.0),
            )
            .with("residents", 1000.0),
            Feature::new(
                FeatureId(11),
                "population_block",
                Department::Construction,
                rect(0.0, 50.0, 100.0, 100.0),
            )
            .with("residents", 500.0),
        ]);
        // A school by the flooded street (dry site), a hospital by the dry one (dry), a clinic in
        // the water.
        c.layer_mut(Layer::PublicService).extend([
            Feature::new(
                FeatureId(20),
                "school",
                Department::Education,
                rect(40.0, 22.0, 60.0, 28.0),
            )
            .with_name("Trường A"),
            Feature::new(
                FeatureId(21),
                "hospital",
                Department::Health,
                rect(40.0, 82.0, 60.0, 88.0),
            )
            .with_name("Bệnh viện B"),
            Feature::new(
                FeatureId(22),
                "health_station",
                Department::Health,
                rect(2.0, 31.0, 8.0, 39.0),
            )
            .with_name("Trạm y tế C"),
        ]);
        // An office of 50 jobs by the flooded street, houses of 5 residents by the dry one.
        c.layer_mut(Layer::Building).extend([
            Feature::new(
                FeatureId(30),
                "building",
                Department::Construction,
                rect(60.0, 22.0, 70.0, 28.0),
            )
            .with("building", "office")
            .with("jobs", 50.0),
            Feature::new(
                FeatureId(31),
                "building",
                Department::Construction,
                rect(40.0, 60.0, 50.0, 70.0),
            )
            .with("building", "house")
            .with("residents", 5.0),
        ]);
        // Rows 8–9 (y 0–20) under 0.35 m; cell (0, 6) (x 0–10, y 30–40) under 0.6 m.
        let mut d = Raster::filled(10, 10, 0.0, 100.0, 10.0, 0.0);
        for col in 0..10 {
            d.set(col, 8, 0.35);
            d.set(col, 9, 0.35);
        }
        d.set(0, 6, 0.6);
        let roads = road_impacts(&c, &d);
        let e = exposure(&c, &d, &roads);
        assert_eq!(e.area_m2, [2100.0, 2100.0, 100.0]);
        // A lake over cells (6..10, 0..2) (x 60–100, y 80–100) rising 0.8 m: open water, not
        // land; the north block's share is of its 42 land cells.
        let mut lake = c.clone();
        lake.layer_mut(Layer::Environment).extend([Feature::new(
            FeatureId(40),
            "water",
            Department::AgricultureEnvironment,
            rect(60.0, 80.0, 100.0, 100.0),
        )
        .with("level_m", 5.0)]);
        let mut dl = d.clone();
        for col in 6..10 {
            dl.set(col, 0, 0.8);
            dl.set(col, 1, 0.8);
        }
        dl.set(0, 0, 0.4);
        let el = exposure(&lake, &dl, &road_impacts(&lake, &dl));
        assert_eq!(el.area_m2, [2200.0, 2200.0, 100.0]);
        assert!(
            (el.residents[1] - (420.0 + 500.0 / 42.0)).abs() < 1e-9,
            "{:?}",
            el.residents
        );
        // Without the lake in the city the same water counts as flooded land.
        let e8 = exposure(&c, &dl, &road_impacts(&c, &dl));
        assert_eq!(e8.area_m2, [3000.0, 3000.0, 900.0]);
        // South block: 21 of its 50 cells ≥ 0.3 m; 1 of 50 ≥ 0.5 m.
        assert!(
            (e.residents[1] - 1000.0 * 21.0 / 50.0).abs() < 1e-9,
            "{:?}",
            e.residents
        );
        assert!(
            (e.residents[2] - 1000.0 / 50.0).abs() < 1e-9,
            "{:?}",
            e.residents
        );
        let names: Vec<(&str, bool, f64)> = e
            .services
            .iter()
            .map(|s| (s.name.as_str(), s.access_closed, s.max_depth_m))
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // Both reach the world by the flooded street (closed at 0.35 m); the clinic also stands
        // in 0.6 m of water, so it comes first. The hospital by the dry street is not listed.
        assert_eq!(names[0].0, "Trạm y tế C");
        assert!(names[0].1 && (names[0].2 - 0.6).abs() < 1e-6, "{names:?}");
        assert_eq!(names[1].0, "Trường A");
        assert!(names[1].1 && names[1].2 == 0.0, "{names:?}");
        assert_eq!(e.services[1].access_road.as_deref(), Some("Phố Ngập"));
        // The office has 0.35 m against its south wall (row 8 is in its ring of cells).
        assert_eq!(e.buildings.len(), 2);
        assert_eq!(
            (e.buildings[0].use_.as_str(), e.buildings[0].flooded),
            ("office", [1, 1, 0])
        );
        assert_eq!(e.buildings[0].jobs_ge_0_3, 50.0);
        assert_eq!(
            (e.buildings[1].use_.as_str(), e.buildings[1].flooded),
            ("house", [0, 0, 0])
        );
        assert_eq!(e.jobs, [50.0, 50.0, 0.0]);
        // Its access road is the closed street; the houses' is the dry one.
        assert_eq!(
            e.cut_off,
            CutOff {
                buildings: 1,
                residents: 0.0,
                jobs: 50.0
            }
        );
    }
}
