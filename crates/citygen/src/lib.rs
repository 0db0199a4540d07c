//! # twin-citygen
//!
//! The built-in demo city: a seeded, deterministic generator for a synthetic, Hanoi-like inner
//! district of 3 × 3 km on VN-2000 / UTM 48N, filling all 11 layers consistently — terrain
//! with low basins, lakes and the Red River behind a 14 m dike; a ring road, arterials, streets
//! and alleys with signalised junctions; buildings with heights and residents; a sewer network
//! sized for a design storm draining to a pumping station that lifts into the river; parks
//! and street trees; substations; hospitals, schools, fire stations; cameras, rain gauges,
//! water-level sensors and traffic counters.
//!
//! Everything it makes is labelled synthetic: the city's metadata (`synthetic = true`), its
//! name, and every named feature's name ("(mẫu)" / "(synthetic)"). Magnitudes follow real
//! Hanoi figures (shared/mission/hanoi-facts.md), cited where they are used.

pub mod fill;
pub mod rng;
pub mod sewer;
pub mod streets;
pub mod terrain;

use geo::{Coord, Geometry, LineString, Point, Polygon};
use rng::Rng;
use streets::{Class, Streets};
use terrain::{CITY_EAST_U, DIKE_CREST_M, DIKE_U, RIVER_STAGE_M, RIVER_U, Terrain};
#[cfg(test)]
use twin_model::RoadGraph;
use twin_model::{City, Crs, Department, Feature, FeatureId, Layer, Raster};

/// Options of the generator.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Seed: the same seed gives the same city, byte for byte.
    pub seed: u64,
    /// DEM cell size, m.
    pub dem_cell_m: f64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 2026,
            dem_cell_m: 10.0,
        }
    }
}

/// Easting of the district's south-west corner (VN-2000 / UTM 48N), near Hoàn Kiếm.
pub const X0: f64 = 586_900.0;
/// Northing of the district's south-west corner.
pub const Y0: f64 = 2_324_100.0;
/// Side of the square district, m.
pub const SIZE: f64 = 3000.0;
/// Display name.
pub const NAME: &str = "Quận mẫu (tổng hợp, kiểu Hà Nội) / Demo district (synthetic, Hanoi-like)";
/// Where the pumping station stands (local coordinates).
pub const STATION: [f64; 2] = [2470.0, 300.0];

fn w(p: [f64; 2]) -> Coord<f64> {
    Coord {
        x: X0 + p[0],
        y: Y0 + p[1],
    }
}

fn rect(u0: f64, v0: f64, u1: f64, v1: f64) -> Polygon<f64> {
    Polygon::new(
        LineString::from(vec![
            w([u0, v0]),
            w([u1, v0]),
            w([u1, v1]),
            w([u0, v1]),
            w([u0, v0]),
        ]),
        vec![],
    )
}

fn ellipse(c: [f64; 2], r: [f64; 2], n: usize) -> Polygon<f64> {
    let mut pts: Vec<Coord<f64>> = (0..n)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / n as f64;
            w([c[0] + r[0] * a.cos(), c[1] + r[1] * a.sin()])
        })
        .collect();
    pts.push(pts[0]);
    Polygon::new(LineString::from(pts), vec![])
}

fn pt(p: [f64; 2]) -> Geometry<f64> {
    Point::from(w(p)).into()
}

/// Mean ground slope (%) across a block, diagonal corner to corner, at least 0.2 %.
fn slope_pct(terrain: &Terrain, u0: f64, v0: f64, u1: f64, v1: f64) -> f64 {
    ((terrain.ground(u0, v0) - terrain.ground(u1, v1)).abs() / (u1 - u0).hypot(v1 - v0) * 100.0)
        .max(0.2)
}

/// A block's drainage subcatchment: outlet manhole, impervious share, width, slope.
fn subcatchment(
    f: Feature,
    bidx: i64,
    outlet: usize,
    imperv: f64,
    area_ha: f64,
    slope: f64,
) -> Feature {
    f.with_name(format!("SC{bidx}"))
        .with("outlet", format!("MH{outlet}"))
        .with("imperv_pct", (imperv * 1000.0).round() / 10.0)
        .with("width_m", (area_ha * 10_000.0).sqrt())
        .with("slope_pct", (slope * 100.0).round() / 100.0)
}

/// Generates the demo city.
pub fn generate(opts: &DemoOptions) -> City {
    let mut rng = Rng::new(opts.seed);
    let terrain = Terrain::new(&mut rng);
    let st = Streets::new(&terrain);
    let mut out: Vec<(Layer, Feature)> = Vec::new();
    let mut next = [0i64; 11];
    let mut put = |layer: Layer, f: Feature| {
        let i = layer.index();
        next[i] += 1;
        let mut f = f;
        f.id = FeatureId(next[i]);
        out.push((layer, f));
    };
    let feat = |layer: Layer, kind: &str, g: Geometry<f64>| {
        Feature::new(FeatureId(0), kind, layer.default_owner(), g)
    };

    // --- Traffic & Road: segments, signals, counters, bus stops.
    for s in &st.segments {
        let l = &st.lines[s.line];
        let (mut a, mut b) = (st.nodes[s.a], st.nodes[s.b]);
        let oneway = l.oneway != 0;
        if l.oneway < 0 {
            std::mem::swap(&mut a, &mut b);
        }
        let f = feat(
            Layer::TrafficRoad,
            "road",
            LineString::from(vec![w(a), w(b)]).into(),
        )
        .with_name(l.name.clone())
        .with("highway", l.class.highway())
        .with("lanes", l.class.lanes())
        .with("maxspeed_kmh", l.class.speed_kmh())
        .with("oneway", oneway)
        .with("width_m", 2.0 * l.class.half_width());
        put(Layer::TrafficRoad, f);
    }
    let mut signal_nodes = Vec::new();
    for n in 0..st.nodes.len() {
        if st.is_signalised(n) {
            signal_nodes.push(n);
            put(
                Layer::TrafficRoad,
                feat(Layer::TrafficRoad, "traffic_signals", pt(st.nodes[n]))
                    .with("cycle_s", 90i64)
                    .with("plan", "fixed"),
            );
        }
    }
    let arterial_segs: Vec<&streets::Segment> = st
        .segments
        .iter()
        .filter(|s| st.lines[s.line].class >= Class::Arterial)
        .collect();
    for (k, s) in arterial_segs.iter().enumerate() {
        let (a, b) = (st.nodes[s.a], st.nodes[s.b]);
        let mid = [0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1])];
        if k % 9 == 0 {
            put(
                Layer::TrafficRoad,
                feat(Layer::TrafficRoad, "traffic_counter", pt(mid))
                    .with_name(format!(
                        "Đếm xe TC{:02} (mẫu) / Counter TC{:02} (synthetic)",
                        k / 9 + 1,
                        k / 9 + 1
                    ))
                    .with("interval_s", 300i64),
            );
        }
        if k % 4 == 2 {
            put(
                Layer::TrafficRoad,
                feat(
                    Layer::TrafficRoad,
                    "bus_stop",
                    pt([mid[0] + 8.0, mid[1] + 8.0]),
                )
                .with("routes", rng.int(1, 6)),
            );
        }
    }

    // --- Blocks: buildings, population, subcatchments, parks.
    let class_u = |u: f64| {
        st.lines
            .iter()
            .filter(|l| !l.horizontal && (l.at - u).abs() < 0.1)
            .map(|l| l.class)
            .max()
            .unwrap_or(Class::Alley)
    };
    let class_v = |v: f64| {
        st.lines
            .iter()
            .filter(|l| l.horizontal && (l.at - v).abs() < 0.1)
            .map(|l| l.class)
            .max()
            .unwrap_or(Class::Alley)
    };
    let mut catchments: Vec<sewer::Catchment> = Vec::new();
    let mut total_residents = 0i64;
    let mut poi_sites: Vec<[f64; 2]> = Vec::new();
    let park_pick = [rng.int(0, 400), rng.int(0, 400)];
    let mut bidx = 0i64;
    for uw in st.us.windows(2) {
        for vw in st.vs.windows(2) {
            let (u0, u1, v0, v1) = (uw[0], uw[1], vw[0], vw[1]);
            if u0 >= CITY_EAST_U - 1.0 {
                continue;
            }
            bidx += 1;
            let (su0, su1) = (
                class_u(u0).half_width() + 2.0,
                class_u(u1).half_width() + 2.0,
            );
            let (sv0, sv1) = (
                class_v(v0).half_width() + 2.0,
                class_v(v1).half_width() + 2.0,
            );
            let (a0, a1, b0, b1) = (u0 + su0, u1 - su1, v0 + sv0, v1 - sv1);
            if a1 - a0 < 20.0 || b1 - b0 < 20.0 {
                continue;
            }
            let c = [0.5 * (a0 + a1), 0.5 * (b0 + b1)];
            let lakeside = terrain.in_lake(c[0], c[1], 60.0)
                || [[a0, b0], [a1, b0], [a0, b1], [a1, b1]]
                    .iter()
                    .any(|p| terrain.in_lake(p[0], p[1], 5.0));
            let area_ha = (u1 - u0) * (v1 - v0) / 10_000.0;
            // Catchment drains to the lowest corner of the block.
            let corners = [[u0, v0], [u1, v0], [u0, v1], [u1, v1]];
            let outlet = corners
                .iter()
                .filter_map(|p| {
                    st.nodes
                        .iter()
                        .position(|n| (n[0] - p[0]).abs() < 0.1 && (n[1] - p[1]).abs() < 0.1)
                })
                .filter(|&n| st.segments.iter().any(|s| s.a == n || s.b == n))
                .min_by(|&a, &b| {
                    terrain
                        .ground(st.nodes[a][0], st.nodes[a][1])
                        .total_cmp(&terrain.ground(st.nodes[b][0], st.nodes[b][1]))
                        .then(a.cmp(&b))
                });
            if lakeside || park_pick.contains(&bidx) {
                put(
                    Layer::Green,
                    feat(Layer::Green, "park", rect(a0, b0, a1, b1).into())
                        .with_name(format!("Vườn hoa {bidx} (mẫu) / Park {bidx} (synthetic)"))
                        .with("area_m2", (a1 - a0) * (b1 - b0)),
                );
                if let Some(o) = outlet {
                    catchments.push(sewer::Catchment {
                        outlet: o,
                        area_ha,
                        imperv: 0.15,
                    });
                    put(
                        Layer::Utility,
                        subcatchment(
                            feat(Layer::Utility, "subcatchment", rect(u0, v0, u1, v1).into()),
                            bidx,
                            o,
                            0.15,
                            area_ha,
                            slope_pct(&terrain, u0, v0, u1, v1),
                        ),
                    );
                }
                continue;
            }
            let old_quarter = v0 > 2200.0 && u0 > 900.0 && u1 < 2400.0;
            let towers = !old_quarter && a1 - a0 > 90.0 && b1 - b0 > 90.0 && rng.chance(0.35);
            let mut footprint = 0.0;
            let mut residents_block = 0i64;
            let house = |rng: &mut Rng,
                         poly: Polygon<f64>,
                         area: f64,
                         kind: &str,
                         levels: i64,
                         res_share: f64,
                         out: &mut dyn FnMut(Layer, Feature)|
             -> i64 {
                let floor = area * levels as f64;
                let residents = (floor * res_share / 30.0 * rng.range(0.8, 1.0)).round() as i64;
                let jobs = ((floor * (1.0 - res_share)) / 20.0).round() as i64;
                let height = 4.5 + (levels - 1) as f64 * 3.3;
                out(
                    Layer::Building,
                    Feature::new(
                        FeatureId(0),
                        "building",
                        Department::Construction,
                        poly.into(),
                    )
                    .with("building", kind)
                    .with("levels", levels)
                    .with("height_m", (height * 10.0).round() / 10.0)
                    .with("residents", residents)
                    .with("jobs", jobs),
                );
                residents
            };
            // Tube houses along the block edges (nhà ống: 4–6 m frontage, 14–20 m deep).
            let depth = if old_quarter {
                rng.range(14.0, 20.0)
            } else {
                rng.range(12.0, 18.0)
            }
            .min(0.45 * (b1 - b0))
            .min(0.45 * (a1 - a0));
            let mut edge = |rng: &mut Rng,
                            horizontal: bool,
                            at0: f64,
                            inward: f64,
                            s0: f64,
                            s1: f64,
                            out: &mut dyn FnMut(Layer, Feature)| {
                let mut s = s0;
                while s1 - s > 4.0 {
                    let wdt = if old_quarter {
                        rng.range(4.0, 6.0)
                    } else {
                        rng.range(5.0, 9.0)
                    }
                    .min(s1 - s);
                    let levels = if old_quarter {
                        rng.int(2, 5)
                    } else {
                        rng.int(3, 7)
                    };
                    let (p, q) = (at0, at0 + inward * depth);
                    let poly = if horizontal {
                        rect(s, p.min(q), s + wdt, p.max(q))
                    } else {
                        rect(p.min(q), s, p.max(q), s + wdt)
                    };
                    residents_block += house(
                        rng,
                        poly,
                        wdt * depth,
                        if old_quarter { "house" } else { "residential" },
                        levels,
                        0.75,
                        out,
                    );
                    footprint += wdt * depth;
                    s += wdt + if rng.chance(0.08) { 3.0 } else { 0.0 };
                }
            };
            let mut sink = |l: Layer, f: Feature| put(l, f);
            edge(&mut rng, true, b0, 1.0, a0, a1, &mut sink);
            edge(&mut rng, true, b1, -1.0, a0, a1, &mut sink);
            edge(&mut rng, false, a0, 1.0, b0 + depth, b1 - depth, &mut sink);
            edge(&mut rng, false, a1, -1.0, b0 + depth, b1 - depth, &mut sink);
            let (ia0, ia1, ib0, ib1) = (
                a0 + depth + 8.0,
                a1 - depth - 8.0,
                b0 + depth + 8.0,
                b1 - depth - 8.0,
            );
            if towers && ia1 - ia0 > 20.0 && ib1 - ib0 > 40.0 {
                let mut u = ia0;
                while ia1 - u >= 20.0 {
                    let levels = rng.int(9, 25);
                    let office = rng.chance(0.25);
                    let h = (ib1 - ib0).min(50.0);
                    residents_block += house(
                        &mut rng,
                        rect(u, ib0, u + 18.0, ib0 + h),
                        18.0 * h,
                        if office { "office" } else { "apartments" },
                        levels,
                        if office { 0.0 } else { 1.0 },
                        &mut sink,
                    );
                    footprint += 18.0 * h;
                    u += 40.0;
                }
            } else if ia1 - ia0 > 15.0 && ib1 - ib0 > 15.0 {
                poi_sites.push([0.5 * (ia0 + ia1), 0.5 * (ib0 + ib1)]);
            }
            total_residents += residents_block;
            let block_area = (u1 - u0) * (v1 - v0);
            let imperv = ((footprint + (block_area - (a1 - a0) * (b1 - b0))) / block_area * 1.15)
                .clamp(0.3, 0.95);
            put(
                Layer::Population,
                feat(
                    Layer::Population,
                    "population_block",
                    rect(u0, v0, u1, v1).into(),
                )
                .with("residents", residents_block)
                .with("households", (residents_block as f64 / 3.6).round() as i64)
                .with(
                    "density_per_km2",
                    (residents_block as f64 / (block_area / 1e6)).round(),
                ),
            );
            if let Some(o) = outlet {
                catchments.push(sewer::Catchment {
                    outlet: o,
                    area_ha,
                    imperv,
                });
                put(
                    Layer::Utility,
                    subcatchment(
                        feat(Layer::Utility, "subcatchment", rect(u0, v0, u1, v1).into()),
                        bidx,
                        o,
                        imperv,
                        area_ha,
                        slope_pct(&terrain, u0, v0, u1, v1),
                    ),
                );
            }
        }
    }

    // --- Drainage network.
    let sw = sewer::design(&st, &terrain, &catchments, STATION);
    let ww = "TB_Demo_WetWell".to_string();
    let outfall = "CX_SongHong".to_string();
    for (i, inv) in sw.invert.iter().enumerate() {
        if let Some(inv) = inv {
            put(
                Layer::Utility,
                feat(Layer::Utility, "manhole", pt(st.nodes[i]))
                    .with_name(format!("MH{i}"))
                    .with("invert_m", (inv * 1000.0).round() / 1000.0)
                    .with("rim_m", (sw.rim[i] * 1000.0).round() / 1000.0),
            );
        }
    }
    // The station's regulating lake (hồ điều hòa): Yên Sở holds more than 4 million m³ in five
    // reservoirs for the ~77 km² its 90 m³/s serve (hanoi-facts.md), about 50,000 m³ per km²;
    // its level rises about 1.5–2 m in a storm. The lake here stores the same volume per km²
    // served over a 2 m rise, in a strip between the built-up area and the dike's toe.
    let served_km2: f64 = catchments.iter().map(|c| c.area_ha).sum::<f64>() / 100.0;
    let lake_area = (served_km2 * 50_000.0 / 2.0 / 100.0).round() * 100.0;
    let lake_u = [CITY_EAST_U + 8.0, DIKE_U - 36.0];
    let lake_len = lake_area / (lake_u[1] - lake_u[0]);
    let ground_ww = terrain.ground(STATION[0], STATION[1]);
    put(
        Layer::Utility,
        feat(
            Layer::Utility,
            "storage",
            rect(lake_u[0], 40.0, lake_u[1], 40.0 + lake_len).into(),
        )
        .with_name(ww.clone())
        .with("invert_m", (sw.wet_well_invert * 1000.0).round() / 1000.0)
        .with("rim_m", (ground_ww * 1000.0).round() / 1000.0)
        .with("area_m2", lake_area)
        .with(
            "label",
            "Hồ điều hòa trạm bơm (mẫu) / Pump-station regulating lake (synthetic)",
        ),
    );
    let outfall_pos = [RIVER_U + 60.0, STATION[1]];
    put(
        Layer::Utility,
        feat(Layer::Utility, "outfall", pt(outfall_pos))
            .with_name(outfall.clone())
            .with("invert_m", RIVER_STAGE_M)
            .with("outfall_type", "fixed")
            .with("stage_m", RIVER_STAGE_M)
            .with("flap_gate", true),
    );
    // Pumps and the sluice discharge into a basin in the dike (bể xả); one box culvert
    // carries it to the river (SWMM also wants exactly one link at an outfall).
    let basin = "BX_Demo".to_string();
    let basin_pos = [DIKE_U + 40.0, STATION[1]];
    put(
        Layer::Utility,
        feat(Layer::Utility, "manhole", pt(basin_pos))
            .with_name(basin.clone())
            .with("invert_m", RIVER_STAGE_M + 0.5)
            .with("rim_m", DIKE_CREST_M)
            .with(
                "label",
                "Bể xả trạm bơm (mẫu) / Pump discharge basin (synthetic)",
            ),
    );
    put(
        Layer::Utility,
        feat(
            Layer::Utility,
            "conduit",
            LineString::from(vec![w(basin_pos), w(outfall_pos)]).into(),
        )
        .with_name("C_Outlet")
        .with("from_node", basin.clone())
        .with("to_node", outfall.clone())
        .with("shape", "rect_closed")
        .with("geom1_m", 3.0)
        .with("geom2_m", 4.0)
        .with("roughness_n", 0.015)
        .with(
            "label",
            "Cống qua đê (mẫu) / Culvert through the dike (synthetic)",
        ),
    );
    for (k, p) in sw.pipes.iter().enumerate() {
        let (to_name, to_pos) = match p.to {
            Some(j) => (format!("MH{j}"), st.nodes[j]),
            None => (ww.clone(), STATION),
        };
        let f = sewer::conduit_feature(
            feat(
                Layer::Utility,
                "conduit",
                LineString::from(vec![w(st.nodes[p.from]), w(to_pos)]).into(),
            ),
            k,
            p,
            to_name,
        );
        put(Layer::Utility, f);
    }
    // Pumps: ~1.1 m³/s per km² served (Yên Sở: 90 m³/s), 4 units starting in turn as the
    // lake rises above the trunk's outlet (0.5 m above the lake bed).
    let unit = (served_km2 * 1.1 / 4.0 * 10.0).round() / 10.0;
    for k in 0..4 {
        put(
            Layer::Utility,
            feat(
                Layer::Utility,
                "pump",
                LineString::from(vec![w(STATION), w(basin_pos)]).into(),
            )
            .with_name(format!("P{}", k + 1))
            .with("from_node", ww.clone())
            .with("to_node", basin.clone())
            .with("capacity_m3s", unit)
            .with("on_depth_m", 0.6 + 0.2 * k as f64)
            .with("off_depth_m", 0.5),
        );
    }
    put(
        Layer::Utility,
        feat(
            Layer::Utility,
            "gate",
            LineString::from(vec![w(STATION), w(basin_pos)]).into(),
        )
        .with_name("CP1")
        .with("from_node", ww.clone())
        .with("to_node", basin.clone())
        .with("geom1_m", 2.0)
        .with("geom2_m", 3.0)
        .with("discharge_coeff", 0.65)
        .with("open", false)
        .with(
            "label",
            "Cửa phai qua đê (mẫu) / Sluice gate through the dike (synthetic)",
        ),
    );
    // Substations (EVN Hà Nội, owned by the Department of Industry and Trade).
    for k in 0..4 {
        let p = [
            300.0 + 600.0 * k as f64 + rng.range(0.0, 200.0),
            300.0 + 700.0 * ((k * 3) % 4) as f64,
        ];
        let mut f = feat(
            Layer::Utility,
            "substation",
            rect(p[0] - 20.0, p[1] - 15.0, p[0] + 20.0, p[1] + 15.0).into(),
        )
        .with_name(format!(
            "Trạm biến áp E{} (mẫu) / Substation E{} (synthetic)",
            k + 1,
            k + 1
        ))
        .with("voltage_kv", "110/22")
        .with("capacity_mva", 63.0 * (1 + k % 2) as f64)
        .with("ground_m", terrain.ground(p[0], p[1]));
        f.owner = Department::IndustryTrade;
        put(Layer::Utility, f);
    }

    // --- Environment: lakes, river, dike, sensors.
    for l in &terrain.lakes {
        put(
            Layer::Environment,
            feat(Layer::Environment, "water", ellipse(l.c, l.r, 48).into())
                .with_name(l.name.clone())
                .with("level_m", l.level_m)
                .with("bed_m", l.bed_m)
                .with("area_m2", std::f64::consts::PI * l.r[0] * l.r[1]),
        );
        put(
            Layer::Environment,
            feat(
                Layer::Environment,
                "water_level_sensor",
                pt([l.c[0] + l.r[0] * 0.9, l.c[1]]),
            )
            .with_name(format!(
                "Đo mực nước {} / level sensor",
                l.name.split(" / ").next().unwrap_or("")
            ))
            .with("normal_m", l.level_m)
            .with("alert_m", l.level_m + 0.6),
        );
    }
    put(
        Layer::Environment,
        feat(
            Layer::Environment,
            "river",
            rect(RIVER_U, 0.0, SIZE, SIZE).into(),
        )
        .with_name("Sông Hồng (đoạn mẫu) / Red River (synthetic reach)")
        .with("stage_m", RIVER_STAGE_M)
        .with("bed_m", terrain::RIVER_BED_M),
    );
    put(
        Layer::Environment,
        feat(
            Layer::Environment,
            "dike",
            LineString::from(vec![w([DIKE_U, 0.0]), w([DIKE_U, SIZE])]).into(),
        )
        .with_name("Đê sông Hồng (mẫu) / Red River dike (synthetic)")
        .with("crest_m", DIKE_CREST_M),
    );
    put(
        Layer::Environment,
        feat(
            Layer::Environment,
            "water_level_sensor",
            pt([RIVER_U + 40.0, 1500.0]),
        )
        .with_name("Đo mực nước sông Hồng (mẫu) / Red River gauge (synthetic)")
        .with("normal_m", RIVER_STAGE_M)
        .with("alert_m", 9.5),
    );
    put(
        Layer::Environment,
        feat(
            Layer::Environment,
            "water_level_sensor",
            pt([STATION[0], STATION[1] + 10.0]),
        )
        .with_name("Đo mực nước bể hút (mẫu) / Wet-well level (synthetic)")
        .with("normal_m", sw.wet_well_invert + 0.5)
        .with("alert_m", ground_ww - 0.5)
        .with("drainage_node", ww.clone()),
    );
    // Street flood sensors (điểm đo ngập), as the drainage operator runs at inundation points:
    // one on the street junction nearest the bottom of each low basin.
    for (k, (c, _, _)) in terrain.basins.iter().enumerate() {
        let Some(node) = st
            .nodes
            .iter()
            .filter(|n| !terrain.in_lake(n[0], n[1], 10.0))
            .min_by(|a, b| {
                let da = (a[0] - c[0]).hypot(a[1] - c[1]);
                let db = (b[0] - c[0]).hypot(b[1] - c[1]);
                da.total_cmp(&db)
            })
        else {
            continue;
        };
        put(
            Layer::Environment,
            feat(Layer::Environment, "water_level_sensor", pt(*node))
                .with_name(format!(
                    "Điểm đo ngập {} (mẫu) / Street flood sensor {} (synthetic)",
                    k + 1,
                    k + 1
                ))
                .with(
                    "ground_m",
                    (terrain.ground(node[0], node[1]) * 1000.0).round() / 1000.0,
                )
                .with("alert_depth_m", 0.3),
        );
    }
    for (k, p) in [
        [700.0, 700.0],
        [1700.0, 900.0],
        [800.0, 2300.0],
        [2000.0, 2500.0],
    ]
    .iter()
    .enumerate()
    {
        put(
            Layer::Environment,
            feat(Layer::Environment, "rain_gauge", pt(*p))
                .with_name(format!(
                    "Trạm đo mưa RG{} (mẫu) / Rain gauge RG{} (synthetic)",
                    k + 1,
                    k + 1
                ))
                .with("interval_min", 5i64),
        );
    }
    for k in 0..4 {
        let p = [400.0 + 550.0 * k as f64, 1500.0 + 300.0 * (k % 2) as f64];
        put(
            Layer::Environment,
            feat(Layer::Environment, "air_sensor", pt(p))
                .with_name(format!(
                    "Quan trắc không khí AQ{} (mẫu) / Air quality AQ{} (synthetic)",
                    k + 1,
                    k + 1
                ))
                .with("measures", "PM2.5,PM10,NO2,noise"),
        );
    }

    // --- Green: street trees along arterials and the ring.
    for s in &arterial_segs {
        let (a, b) = (st.nodes[s.a], st.nodes[s.b]);
        let len = (b[0] - a[0]).hypot(b[1] - a[1]);
        let off = st.lines[s.line].class.half_width() - 1.5;
        let (nx, ny) = (-(b[1] - a[1]) / len, (b[0] - a[0]) / len);
        let mut d = 20.0;
        while d < len - 20.0 {
            let t = d / len;
            for side in [-1.0, 1.0] {
                let p = [
                    a[0] + t * (b[0] - a[0]) + side * off * nx,
                    a[1] + t * (b[1] - a[1]) + side * off * ny,
                ];
                let species = [
                    "sấu / Dracontomelon",
                    "xà cừ / Khaya",
                    "bằng lăng / Lagerstroemia",
                    "sao đen / Hopea",
                ][rng.int(0, 3) as usize];
                put(
                    Layer::Green,
                    feat(Layer::Green, "street_tree", pt(p))
                        .with("species", species)
                        .with("height_m", (rng.range(6.0, 22.0) * 10.0).round() / 10.0),
                );
            }
            d += 40.0;
        }
    }

    // --- Public services, security, economy on free block interiors.
    // Spread services over the district: take free block interiors in a stride order.
    let stride = 7usize;
    let mut ordered: Vec<[f64; 2]> = Vec::with_capacity(poi_sites.len());
    for start in 0..stride {
        ordered.extend(poi_sites.iter().skip(start).step_by(stride));
    }
    let mut sites = ordered.into_iter();
    let mut site = |rng: &mut Rng| -> [f64; 2] {
        sites
            .next()
            .unwrap_or_else(|| [rng.range(200.0, 2300.0), rng.range(200.0, 2800.0)])
    };
    let public: [(&str, &str, usize, Department); 4] = [
        ("hospital", "Bệnh viện", 3, Department::Health),
        ("school", "Trường học", 12, Department::Education),
        ("health_station", "Trạm y tế", 6, Department::Health),
        ("kindergarten", "Trường mầm non", 6, Department::Education),
    ];
    for (kind, vi, n, owner) in public {
        for k in 0..n {
            let p = site(&mut rng);
            let mut f = feat(
                Layer::PublicService,
                kind,
                rect(p[0] - 20.0, p[1] - 15.0, p[0] + 20.0, p[1] + 15.0).into(),
            )
            .with_name(format!(
                "{vi} {} (mẫu) / {kind} {} (synthetic)",
                k + 1,
                k + 1
            ));
            f = match kind {
                "hospital" => f.with("beds", rng.int(300, 1500)).with("emergency", true),
                "school" => f.with("students", rng.int(600, 1600)),
                "kindergarten" => f.with("children", rng.int(150, 400)),
                _ => f.with("staff", rng.int(8, 25)),
            };
            f.owner = owner.clone();
            put(Layer::PublicService, f);
        }
    }
    for k in 0..2 {
        let p = site(&mut rng);
        put(
            Layer::Security,
            feat(Layer::Security, "fire_station", pt(p))
                .with_name(format!(
                    "Đội PCCC {} (mẫu) / Fire station {} (synthetic)",
                    k + 1,
                    k + 1
                ))
                .with("engines", rng.int(4, 8)),
        );
    }
    for k in 0..4 {
        let p = site(&mut rng);
        put(
            Layer::Security,
            feat(Layer::Security, "police", pt(p)).with_name(format!(
                "Công an phường {} (mẫu) / Ward police {} (synthetic)",
                k + 1,
                k + 1
            )),
        );
    }
    for (k, n) in signal_nodes.iter().enumerate() {
        let p = st.nodes[*n];
        put(
            Layer::Security,
            feat(Layer::Security, "camera", pt([p[0] + 10.0, p[1] + 10.0]))
                .with_name(format!("CAM{:03}", k + 1))
                .with("purpose", "traffic,security")
                .with("ai", k % 3 == 0),
        );
    }
    for k in 0..3 {
        let p = site(&mut rng);
        put(
            Layer::Economic,
            feat(
                Layer::Economic,
                "marketplace",
                rect(p[0] - 25.0, p[1] - 20.0, p[0] + 25.0, p[1] + 20.0).into(),
            )
            .with_name(format!(
                "Chợ {} (mẫu) / Market {} (synthetic)",
                k + 1,
                k + 1
            ))
            .with("jobs", rng.int(300, 900)),
        );
    }
    for k in 0..2 {
        let p = site(&mut rng);
        put(
            Layer::Economic,
            feat(
                Layer::Economic,
                "mall",
                rect(p[0] - 30.0, p[1] - 25.0, p[0] + 30.0, p[1] + 25.0).into(),
            )
            .with_name(format!(
                "Trung tâm thương mại {} (mẫu) / Mall {} (synthetic)",
                k + 1,
                k + 1
            ))
            .with("jobs", rng.int(1000, 2500)),
        );
    }
    for s in arterial_segs.iter().step_by(3) {
        let (a, b) = (st.nodes[s.a], st.nodes[s.b]);
        let t = rng.range(0.2, 0.8);
        let off = st.lines[s.line].class.half_width() + 6.0;
        let p = [
            a[0] + t * (b[0] - a[0]) + off,
            a[1] + t * (b[1] - a[1]) + off,
        ];
        put(
            Layer::Economic,
            feat(Layer::Economic, "business", pt(p))
                .with("jobs", rng.int(5, 120))
                .with(
                    "sector",
                    ["retail", "food", "services", "finance"][rng.int(0, 3) as usize],
                ),
        );
    }

    // --- Digital infrastructure: cell sites on a 500 m grid, IoT gateways.
    for i in 0..6 {
        for j in 0..6 {
            let p = [250.0 + 500.0 * i as f64, 250.0 + 500.0 * j as f64];
            if p[0] > CITY_EAST_U {
                continue;
            }
            put(
                Layer::DigitalInfrastructure,
                feat(Layer::DigitalInfrastructure, "cell_site", pt(p))
                    .with("technology", if (i + j) % 2 == 0 { "5G" } else { "4G" })
                    .with("range_m", 600.0),
            );
        }
    }
    for k in 0..6 {
        let p = [300.0 + 400.0 * k as f64, 1500.0];
        put(
            Layer::DigitalInfrastructure,
            feat(Layer::DigitalInfrastructure, "iot_gateway", pt(p))
                .with_name(format!(
                    "Cổng IoT GW{} (mẫu) / IoT gateway GW{} (synthetic)",
                    k + 1,
                    k + 1
                ))
                .with("protocol", "LoRaWAN")
                .with("range_m", 2000.0),
        );
    }

    // --- DEM and the 3D/4D layer's terrain tiles.
    let cell = opts.dem_cell_m;
    let n = (SIZE / cell).round() as usize;
    let mut dem = Raster::filled(n, n, X0, Y0 + SIZE, cell, 0.0);
    for r in 0..n {
        for c in 0..n {
            let u = (c as f64 + 0.5) * cell;
            let v = SIZE - (r as f64 + 0.5) * cell;
            dem.set(c, r, terrain.ground(u, v) as f32);
        }
    }
    let tile = 1000.0;
    for i in 0..3 {
        for j in 0..3 {
            let (u0, v0) = (i as f64 * tile, j as f64 * tile);
            let (mut lo, mut hi) = (f64::MAX, f64::MIN);
            let mut uu = u0 + cell / 2.0;
            while uu < u0 + tile {
                let mut vv = v0 + cell / 2.0;
                while vv < v0 + tile {
                    let z = terrain.ground(uu, vv);
                    lo = lo.min(z);
                    hi = hi.max(z);
                    vv += cell;
                }
                uu += cell;
            }
            put(
                Layer::Twin3d4d,
                feat(
                    Layer::Twin3d4d,
                    "terrain_tile",
                    rect(u0, v0, u0 + tile, v0 + tile).into(),
                )
                .with_name(format!("T{i}{j}"))
                .with("lod", 1i64)
                .with("min_m", (lo * 100.0).round() / 100.0)
                .with("max_m", (hi * 100.0).round() / 100.0)
                .with("source", "DEM raster 'dem' of this city"),
            );
        }
    }

    let mut city = City::new(NAME, Crs::VN2000_UTM48N);
    let mut grouped: Vec<Vec<Feature>> = vec![Vec::new(); 11];
    for (l, f) in out {
        grouped[l.index()].push(f);
    }
    for (i, fs) in grouped.into_iter().enumerate() {
        city.layer_mut(Layer::ALL[i]).extend(fs);
    }
    city.dem = Some(dem);
    let m = &mut city.metadata;
    m.insert("synthetic".into(), "true".into());
    m.insert(
        "generator".into(),
        format!("twin-citygen {}", env!("CARGO_PKG_VERSION")),
    );
    m.insert("seed".into(), opts.seed.to_string());
    m.insert("residents".into(), total_residents.to_string());
    m.insert("served_area_km2".into(), format!("{served_km2:.3}"));
    m.insert(
        "design_flow_station_m3s".into(),
        format!("{:.2}", sw.q_station),
    );
    m.insert("pump_capacity_m3s".into(), format!("{:.2}", 4.0 * unit));
    m.insert(
        "description".into(),
        "Dữ liệu TỔNG HỢP, không phải số liệu khảo sát: quận mẫu 3×3 km kiểu nội đô Hà Nội. / SYNTHETIC data, not survey data: a 3×3 km Hanoi-like inner district.".into(),
    );
    city
}

#[cfg(test)]
mod tests {
    use super::*;
    use twin_model::drainage::DrainNodeKind;

    #[test]
    fn demo_city_is_deterministic_and_consistent() {
        let a = generate(&DemoOptions::default());
        let b = generate(&DemoOptions::default());
        assert_eq!(a, b, "same seed, same city");
        let c = generate(&DemoOptions {
            seed: 7,
            ..Default::default()
        });
        assert_ne!(a, c, "another seed, another city");
        for l in a.layers() {
            assert!(!l.is_empty(), "layer {} is empty", l.layer());
        }
        assert!(a.is_synthetic());
        // Roads: one strongly connected network with signals at arterial crossings.
        let g = RoadGraph::from_layer(a.layer(Layer::TrafficRoad));
        let (frac, _) = g.largest_scc();
        assert!(frac > 0.98, "scc {frac}");
        assert!(
            (30..=120).contains(&g.signal_count()),
            "signals {}",
            g.signal_count()
        );
        // Residents: Hanoi's inner wards hold 22,000 (Ba Đình) to 55,000 (Hoàn Kiếm) people
        // per km² (shared/data/hanoi/hanoi_wards_2025.csv).
        let residents: f64 = a
            .layer(Layer::Building)
            .features()
            .iter()
            .filter_map(|f| f.num("residents"))
            .sum();
        let km2 = (CITY_EAST_U / 1000.0) * (SIZE / 1000.0);
        assert!(
            (22_000.0..55_000.0).contains(&(residents / km2)),
            "density {}",
            residents / km2
        );
        // Drainage: valid, a tree with no adverse slope, every pipe able to carry its design flow.
        let net = twin_model::DrainageNetwork::from_layer(a.layer(Layer::Utility)).unwrap();
        assert_eq!(net.outfall_count(), 1);
        assert_eq!(net.pumps.len(), 4);
        let served: f64 = net.subcatchments.iter().map(|s| s.area_m2).sum::<f64>() / 1e6;
        assert!(
            (net.pump_capacity_m3s() / served - 1.1).abs() < 0.1,
            "pumps {} for {served} km²",
            net.pump_capacity_m3s()
        );
        // The regulating lake stores about 50,000 m³ per km² served over a 2 m rise.
        let lake: f64 = net
            .nodes
            .iter()
            .filter_map(|n| match n.kind {
                twin_model::drainage::DrainNodeKind::Storage { area_m2 } => Some(area_m2),
                _ => None,
            })
            .sum();
        assert!(
            (lake * 2.0 / served / 50_000.0 - 1.0).abs() < 0.01,
            "lake {lake} m² for {served} km²"
        );
        for c in &net.conduits {
            let up = &net.nodes[c.from.0 as usize];
            let dn = &net.nodes[c.to.0 as usize];
            assert!(
                up.invert_m + c.in_offset_m > dn.invert_m + c.out_offset_m - 1e-6,
                "adverse slope in {}",
                c.name
            );
            assert!(up.rim_m - up.invert_m > 1.2, "cover at {}", up.name);
        }
        let util = a.layer(Layer::Utility);
        for f in util
            .features()
            .iter()
            .filter(|f| f.kind == "conduit" && f.attrs.contains_key("design_flow_m3s"))
        {
            assert!(
                f.num("full_flow_m3s").unwrap() >= f.num("design_flow_m3s").unwrap(),
                "undersized {:?}",
                f.name
            );
        }
        let storage = net
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, DrainNodeKind::Storage { .. }))
            .count();
        assert_eq!(storage, 1);
        // Terrain: the dike crest stands at 14 m and the city plain between 5 and 10 m.
        let st = a.dem.as_ref().unwrap().stats().unwrap();
        assert!((st.max - 14.0).abs() < 0.2 && st.min >= 0.9, "{st:?}");
        let plain = a
            .dem
            .as_ref()
            .unwrap()
            .sample(X0 + 1000.0, Y0 + 1500.0)
            .unwrap();
        assert!((5.0..10.0).contains(&plain), "{plain}");
    }

    #[test]
    fn design_intensity_follows_the_idf_form() {
        // q(10 min, 2 yr) = 5890 (1 + 0.65 lg 2) / 30^0.84 ≈ 405 l/s·ha
        assert!((sewer::design_intensity(10.0, 2.0) - 405.0).abs() < 3.0);
        assert!(sewer::design_intensity(60.0, 2.0) < sewer::design_intensity(10.0, 2.0));
    }
}
