//! Residents from ward totals and jobs from the mapped places of work.
//!
//! Rules:
//! - Wards come as a table of totals with a centre and an area (no boundaries). Each point of
//!   the city belongs to the ward whose centre is nearest in units of the ward's radius
//!   (distance / √(area/π)), so a large ward reaches further than a small one.
//! - The city is cut into population blocks of 250 m; a block's residents are its ward's gross
//!   density (population / area) times the block's land (water bodies left out); where the rule
//!   gives a ward more land in the model than its area, its density is scaled down so that it
//!   never holds more residents than its total. Households:
//!   3.6 people each (Hanoi's mean household size, as the demo district).
//! - A block's residents go to its buildings that may be homes (`building` not one of the
//!   non-residential uses below) in proportion to floor area (footprint × levels; 4 levels
//!   where the map gives none, the common height of Hanoi's inner-city tube houses), at most
//!   one resident per 8 m² of floor. What the buildings cannot take stays on the block as
//!   `unplaced_residents` (the map lacks buildings there), which the traffic demand uses too.
//! - Jobs: non-residential buildings hold one job per 20 m² of floor; mapped shops, offices
//!   and services without a building hold the figures of [`JOBS_BY_KIND`]; schools their
//!   students by [`STUDENTS_BY_KIND`].

use super::{DESIGNED, Note, centre, mark_designed};
use geo::{Area, Geometry, LineString, Polygon};
use twin_model::{City, Feature, FeatureId, Layer};

/// A ward's totals, its centre in the city's CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct Ward {
    /// Official code.
    pub id: String,
    /// Name.
    pub name: String,
    /// Residents.
    pub population: f64,
    /// Area, km².
    pub area_km2: f64,
    /// Centre, city CRS.
    pub centre: [f64; 2],
}

/// Side of a population block, m.
pub const BLOCK_M: f64 = 250.0;
/// Floor area per resident at most, m².
pub const M2_PER_RESIDENT_MIN: f64 = 8.0;
/// Floor area per job in non-residential buildings, m².
pub const M2_PER_JOB: f64 = 20.0;
/// Levels assumed where the map gives none.
pub const DEFAULT_LEVELS: f64 = 4.0;

/// Building uses that are not homes.
const NON_RESIDENTIAL: &[&str] = &[
    "commercial",
    "office",
    "retail",
    "industrial",
    "warehouse",
    "public",
    "civic",
    "government",
    "school",
    "university",
    "college",
    "kindergarten",
    "hospital",
    "church",
    "temple",
    "pagoda",
    "shrine",
    "cathedral",
    "mosque",
    "hotel",
    "train_station",
    "transportation",
    "parking",
    "garage",
    "garages",
    "roof",
    "service",
    "stadium",
    "sports_hall",
    "museum",
    "theatre",
    "bank",
    "supermarket",
    "kiosk",
    "ruins",
];

/// Jobs at a mapped place of work (Economic, Public service and Security kinds), by kind;
/// other kinds of those layers hold 5.
pub const JOBS_BY_KIND: &[(&str, f64)] = &[
    ("office", 50.0),
    ("bank", 20.0),
    ("hotel", 30.0),
    ("marketplace", 100.0),
    ("mall", 300.0),
    ("supermarket", 40.0),
    ("restaurant", 8.0),
    ("cafe", 5.0),
    ("fast_food", 6.0),
    ("hospital", 500.0),
    ("clinic", 20.0),
    ("healthcare", 20.0),
    ("school", 60.0),
    ("kindergarten", 20.0),
    ("university", 400.0),
    ("college", 150.0),
    ("townhall", 80.0),
    ("police", 40.0),
    ("fire_station", 40.0),
    ("museum", 30.0),
    ("theatre", 30.0),
    ("library", 15.0),
];

/// School places by kind.
pub const STUDENTS_BY_KIND: &[(&str, f64)] = &[
    ("school", 900.0),
    ("kindergarten", 250.0),
    ("university", 8000.0),
    ("college", 2000.0),
];

fn lookup(table: &[(&str, f64)], kind: &str) -> Option<f64> {
    table.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v)
}

/// The ward a point belongs to (index into `wards`).
pub fn ward_of(wards: &[Ward], p: [f64; 2]) -> Option<usize> {
    (0..wards.len())
        .filter(|&i| wards[i].area_km2 > 0.0)
        .min_by(|&a, &b| {
            let d = |w: &Ward| {
                (w.centre[0] - p[0]).hypot(w.centre[1] - p[1])
                    / (w.area_km2 * 1e6 / std::f64::consts::PI).sqrt()
            };
            d(&wards[a]).total_cmp(&d(&wards[b])).then(a.cmp(&b))
        })
}

fn floor_area(f: &Feature) -> f64 {
    let levels = f
        .num("levels")
        .filter(|l| *l >= 1.0)
        .unwrap_or(DEFAULT_LEVELS);
    f.geometry.unsigned_area() * levels
}

/// Water polygons of the city, for leaving water out of the land.
fn water_polygons(city: &City) -> Vec<Geometry<f64>> {
    city.layer(Layer::Environment)
        .features()
        .iter()
        .filter(|f| matches!(f.kind.as_str(), "water" | "river" | "riverbank"))
        .filter(|f| matches!(f.geometry, Geometry::Polygon(_) | Geometry::MultiPolygon(_)))
        .map(|f| f.geometry.clone())
        .collect()
}

/// Lays population blocks over `extent` from the ward table and gives residents to
/// buildings. Does nothing (and says so) where the Population layer already has blocks.
pub fn residents(city: &mut City, wards: &[Ward], extent: [[f64; 2]; 2]) -> Vec<Note> {
    use geo::Contains;
    if city
        .layer(Layer::Population)
        .features()
        .iter()
        .any(|f| f.kind == "population_block")
    {
        return vec![Note::made(
            "population blocks kept as surveyed",
            city.layer(Layer::Population).len(),
            "the city already has population blocks",
        )];
    }
    if wards.is_empty() {
        return vec![Note::warn(
            "no ward table: no residents",
            0,
            "give a ward table (ward_id,ward,unit_type,area_km2,population,center_lon,center_lat)",
        )];
    }
    let water = water_polygons(city);
    let (nx, ny) = super::squares(extent, BLOCK_M).0;
    // Buildings by block: (id, floor area) of those that may be homes.
    let mut homes: Vec<Vec<(FeatureId, f64)>> = vec![Vec::new(); nx * ny];
    let block_of = |p: [f64; 2]| -> Option<usize> {
        let c = ((p[0] - extent[0][0]) / BLOCK_M).floor();
        let r = ((p[1] - extent[0][1]) / BLOCK_M).floor();
        (c >= 0.0 && r >= 0.0 && (c as usize) < nx && (r as usize) < ny)
            .then(|| r as usize * nx + c as usize)
    };
    for f in city.layer(Layer::Building).features() {
        if f.num("residents").is_some() {
            continue;
        }
        let use_ = f.text("building").unwrap_or("yes");
        if NON_RESIDENTIAL.contains(&use_) {
            continue;
        }
        if let Some(b) = centre(&f.geometry).and_then(block_of) {
            homes[b].push((f.id, floor_area(f)));
        }
    }
    let mut blocks = Vec::new();
    let mut building_residents: Vec<(FeatureId, f64)> = Vec::new();
    let mut total = 0.0;
    let mut unplaced_total = 0.0;
    let mut wards_used = std::collections::BTreeMap::<String, f64>::new();
    let mut id = city.next_id(Layer::Population).0;
    // Each block's land and ward; then each ward's land in the model, so that a ward the
    // rule gives more land than it has keeps its own total.
    let mut cells = Vec::new();
    let mut ward_land = vec![0.0f64; wards.len()];
    for (b, [x0, y0, x1, y1]) in super::squares(extent, BLOCK_M).1 {
        // Land share from a 10 × 10 lattice of points.
        let mut land = 0usize;
        for i in 0..10 {
            for j in 0..10 {
                let p = geo::Point::new(
                    x0 + (i as f64 + 0.5) * (x1 - x0) / 10.0,
                    y0 + (j as f64 + 0.5) * (y1 - y0) / 10.0,
                );
                if !water.iter().any(|w| w.contains(&p)) {
                    land += 1;
                }
            }
        }
        let land_m2 = (x1 - x0) * (y1 - y0) * land as f64 / 100.0;
        if land_m2 <= 0.0 {
            continue;
        }
        let mid = [(x0 + x1) / 2.0, (y0 + y1) / 2.0];
        let Some(w) = ward_of(wards, mid) else {
            continue;
        };
        ward_land[w] += land_m2;
        cells.push((b, [x0, y0, x1, y1], land_m2, w));
    }
    for (b, [x0, y0, x1, y1], land_m2, w) in cells {
        let ward = &wards[w];
        let density =
            ward.population / ward.area_km2 * (ward.area_km2 * 1e6 / ward_land[w]).min(1.0);
        let people = (density * land_m2 / 1e6).round();
        // Homes in the block by floor area, each at most one resident per 8 m².
        let hs = &homes[b];
        let floor: f64 = hs.iter().map(|h| h.1).sum();
        let mut placed = 0.0;
        if floor > 0.0 {
            let share = (people / floor).min(1.0 / M2_PER_RESIDENT_MIN);
            for (bid, a) in hs {
                let n = (a * share).round();
                if n > 0.0 {
                    building_residents.push((*bid, n));
                    placed += n;
                }
            }
        }
        let unplaced = (people - placed).max(0.0);
        total += people;
        unplaced_total += unplaced;
        *wards_used.entry(ward.name.clone()).or_default() += people;
        id += 1;
        let poly = Polygon::new(
            LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        );
        blocks.push(
            Feature::new(
                FeatureId(id),
                "population_block",
                Layer::Population.default_owner(),
                poly.into(),
            )
            .with("residents", people)
            .with("households", (people / 3.6).round())
            .with("density_per_km2", density.round())
            .with("unplaced_residents", unplaced)
            .with("ward", ward.name.clone())
            .with("ward_id", ward.id.clone())
            .with("source", DESIGNED),
        );
    }
    let n_blocks = blocks.len();
    city.layer_mut(Layer::Population).extend(blocks);
    let n_buildings = building_residents.len();
    for (bid, n) in building_residents {
        if let Some(f) = city.layer(Layer::Building).get(bid).cloned() {
            city.layer_mut(Layer::Building)
                .insert(f.with("residents", n).with("source_residents", DESIGNED));
        }
    }
    let rule = "ward gross density × land in 250 m blocks (ward: nearest centre in ward radii); to homes by floor area, ≤ 1 per 8 m²";
    mark_designed(city, Layer::Population, "population_block", rule);
    mark_designed(city, Layer::Building, "building.residents", rule);
    city.metadata.insert(
        "wards".into(),
        wards_used
            .iter()
            .map(|(k, v)| format!("{k}={v:.0}"))
            .collect::<Vec<_>>()
            .join(";"),
    );
    let mut notes = vec![
        Note::made(
            format!("population blocks ({total:.0} residents)"),
            n_blocks,
            rule,
        ),
        Note::made("buildings given residents", n_buildings, rule),
    ];
    if unplaced_total > 0.0 {
        notes.push(Note::warn(
            format!("residents with no mapped building to live in, kept on their block ({unplaced_total:.0})"),
            unplaced_total as usize,
            "the map lacks buildings there; the traffic demand starts their trips at the block",
        ));
    }
    notes
}

/// Gives jobs and school places to mapped places of work that have none.
pub fn jobs(city: &mut City) -> Vec<Note> {
    let (mut buildings, mut places, mut total) = (0usize, 0usize, 0.0);
    let ids: Vec<FeatureId> = city
        .layer(Layer::Building)
        .features()
        .iter()
        .filter(|f| f.num("jobs").is_none())
        .filter(|f| NON_RESIDENTIAL.contains(&f.text("building").unwrap_or("yes")))
        .map(|f| f.id)
        .collect();
    for id in ids {
        let f = city.layer(Layer::Building).get(id).unwrap().clone();
        let j = (floor_area(&f) / M2_PER_JOB).round();
        if j > 0.0 {
            total += j;
            buildings += 1;
            city.layer_mut(Layer::Building)
                .insert(f.with("jobs", j).with("source_jobs", DESIGNED));
        }
    }
    for layer in [Layer::Economic, Layer::PublicService, Layer::Security] {
        let ids: Vec<FeatureId> = city
            .layer(layer)
            .features()
            .iter()
            .filter(|f| f.num("jobs").is_none() && f.kind != "camera")
            .map(|f| f.id)
            .collect();
        for id in ids {
            let f = city.layer(layer).get(id).unwrap().clone();
            let kind = f.kind.clone();
            let j = lookup(JOBS_BY_KIND, &kind).unwrap_or(5.0);
            let mut g = f.with("jobs", j).with("source_jobs", DESIGNED);
            if g.num("students").is_none()
                && let Some(s) = lookup(STUDENTS_BY_KIND, &kind)
            {
                g = g.with("students", s);
            }
            total += j;
            places += 1;
            city.layer_mut(layer).insert(g);
        }
    }
    let rule = "non-residential buildings 1 job per 20 m² of floor; mapped places by kind (office 50, market 100, hospital 500, school 60 staff and 900 students …)";
    mark_designed(city, Layer::Economic, "jobs", rule);
    vec![Note::made(
        format!(
            "places of work given jobs ({total:.0} jobs; {buildings} buildings, {places} mapped places)"
        ),
        buildings + places,
        rule,
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ward(name: &str, pop: f64, area: f64, c: [f64; 2]) -> Ward {
        Ward {
            id: name.into(),
            name: name.into(),
            population: pop,
            area_km2: area,
            centre: c,
        }
    }

    #[test]
    fn a_large_ward_reaches_further_than_a_small_one() {
        let w = [
            ward("small", 1.0, 1.0, [0.0, 0.0]),
            ward("large", 1.0, 16.0, [3000.0, 0.0]),
        ];
        // 1,000 m from the small centre is 1.77 of its radius; 2,000 m from the large one is
        // 0.89 of its: the large ward wins.
        assert_eq!(ward_of(&w, [1000.0, 0.0]), Some(1));
        assert_eq!(ward_of(&w, [200.0, 0.0]), Some(0));
    }

    #[test]
    fn ward_density_fills_blocks_and_homes_take_them_by_floor_area() {
        use twin_model::Crs;
        let mut city = City::new("t", Crs::parse("EPSG:3405").unwrap());
        let sq = |x: f64, y: f64, s: f64| -> Geometry<f64> {
            Polygon::new(
                LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]),
                vec![],
            )
            .into()
        };
        // Two 20 × 20 m homes (4 and 2 levels) and an office in the first block.
        let b = Layer::Building.default_owner();
        city.layer_mut(Layer::Building).extend([
            Feature::new(FeatureId(1), "building", b.clone(), sq(10.0, 10.0, 20.0))
                .with("levels", 4i64),
            Feature::new(FeatureId(2), "building", b.clone(), sq(100.0, 10.0, 20.0))
                .with("levels", 2i64),
            Feature::new(FeatureId(3), "building", b, sq(10.0, 100.0, 20.0))
                .with("building", "office"),
        ]);
        // 40,000 people on 2 km²: 20,000 per km², 1,250 per 250 m block.
        let wards = [ward("P", 40_000.0, 2.0, [250.0, 250.0])];
        let notes = residents(&mut city, &wards, [[0.0, 0.0], [500.0, 500.0]]);
        let blocks = city.layer(Layer::Population).features();
        assert_eq!(blocks.len(), 4);
        assert!(blocks.iter().all(|f| f.num("residents") == Some(1250.0)));
        // 2,400 m² of home floor can take 300 residents at 8 m² each: 200 and 100.
        let r = |i| {
            city.layer(Layer::Building)
                .get(FeatureId(i))
                .unwrap()
                .num("residents")
        };
        assert_eq!((r(1), r(2), r(3)), (Some(200.0), Some(100.0), None));
        assert_eq!(blocks[0].num("unplaced_residents"), Some(950.0));
        assert_eq!(blocks[0].text("ward"), Some("P"));
        assert!(notes.iter().any(|n| n.warning));
        let jn = jobs(&mut city);
        // The office: 400 m² × 4 levels / 20 m² = 80 jobs.
        let office = city.layer(Layer::Building).get(FeatureId(3)).unwrap();
        assert_eq!(office.num("jobs"), Some(80.0));
        assert_eq!(jn[0].count, 1);
    }
}
