//! `twin export cityjson`: a city's buildings written as CityJSON 2.0 read back equal, and the
//! file valid by cjval, the CityJSON validator (schema, vertex indices, semantics arrays,
//! parents and children, duplicate and unused vertices). Real samples (../shared/data/bim-cim):
//! Delft (LOD1 solids), 3D BAG (LOD2.2 solids with semantics, the highest of three LODs) and
//! the Vietnam National University campus in Hanoi (CityGML, LOD2, reprojected to VN-2000);
//! and a hand-made city: a courtyard building (a footprint with a hole), two blocks in one
//! feature, a footprint without height and a point. Each path is city → GeoPackage → city →
//! CityJSON → city, and the figures are printed (`-- --nocapture`).

mod common;
use common::samples;

use std::path::Path;

use geo::{Area, Geometry, LineString, MultiPolygon, Point, Polygon};
use serde_json::Value;
use twin_io::cityjson::read_cityjson;
use twin_io::cityjson_write::{NOT_PASSED_THROUGH, city_to_cityjson, write_cityjson};
use twin_model::{AttrValue, City, Crs, Feature, FeatureId, Layer, Raster};

/// The checks cjval reports errors in, with the errors (empty: none), and whether it ran
/// every check and each passed.
fn cjval(text: &str) -> (Vec<String>, bool) {
    let v = cjval::CJValidator::from_str(text);
    let checks = v.validate();
    let problems = checks
        .iter()
        .filter(|(_, s)| s.has_errors())
        .map(|(k, s)| format!("{k}: {}", s.get_errors().join("; ")))
        .collect();
    (
        problems,
        checks.len() >= 11 && checks.values().all(|s| s.is_valid()),
    )
}

fn cjval_problems(text: &str) -> Vec<String> {
    cjval(text).0
}

/// Equal values; CityJSON's own numeric attributes are written as numbers, also where the
/// GeoPackage keeps them as text (a column seen with whole and real numbers is text).
fn same_value(name: &str, a: &AttrValue, b: &AttrValue) -> bool {
    let numeric = ["measuredHeight", "storeysAboveGround"].contains(&name);
    match (a, b) {
        (AttrValue::Text(t), _) if numeric => t.trim().parse::<f64>().ok() == b.as_f64(),
        (AttrValue::Real(x), AttrValue::Real(y)) => (x - y).abs() <= 1e-12 * x.abs().max(1.0),
        _ => a == b,
    }
}

/// The round trip's worst differences over a city.
#[derive(Debug, Default)]
struct Figures {
    buildings: usize,
    solids: usize,
    multi_surfaces: usize,
    area_abs: f64,
    area_rel: f64,
    height: f64,
    base: f64,
    names: usize,
    attributes: usize,
}

/// `city` through a GeoPackage, out as CityJSON and back; asserts the file valid and every
/// building equal (footprint area within 0.1 % or 0.01 m², height and base within 1 mm, name,
/// storeys, use and attributes), and returns the figures and the export's text.
fn round_trip(what: &str, city: &City) -> (Figures, String) {
    let d = tempfile::tempdir().unwrap();
    let gpkg = d.path().join("city.gpkg");
    twin_io::gpkg::write_city(city, &gpkg).unwrap();
    let stored = twin_io::gpkg::read_city(&gpkg).unwrap();
    let out = d.path().join("city.city.json");
    let e = write_cityjson(&stored, &gpkg, &out).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, e.text);
    let (problems, all_passed) = cjval(&text);
    assert!(
        problems.is_empty() && all_passed,
        "{what}: cjval: {problems:#?}"
    );
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["type"], "CityJSON");
    assert_eq!(doc["version"], "2.0");
    assert_eq!(doc["transform"]["scale"][0], 0.001);
    assert!(doc["vertices"][0][0].is_i64());
    assert_eq!(
        doc["metadata"]["referenceSystem"],
        format!("https://www.opengis.net/def/crs/EPSG/0/{}", city.crs.epsg)
    );
    let mut fig = Figures::default();
    for o in doc["CityObjects"].as_object().unwrap().values() {
        assert_eq!(o["type"], "Building");
        for g in o["geometry"].as_array().unwrap() {
            match g["type"].as_str().unwrap() {
                "Solid" => fig.solids += 1,
                _ => fig.multi_surfaces += 1,
            }
        }
    }
    let back = read_cityjson(&out, city.crs, FeatureId(1), None).unwrap();
    let written: Vec<&Feature> = stored
        .layer(Layer::Building)
        .features()
        .iter()
        .filter(|f| {
            let me = format!("feature {}", f.id.0);
            !e.not_written
                .iter()
                .any(|l| *l == me || l.starts_with(&format!("{me} (")))
        })
        .collect();
    assert_eq!(back.features.len(), written.len(), "{what}: building count");
    fig.buildings = back.features.len();
    for f in written {
        let id = f
            .text("source_id")
            .map(str::to_string)
            .unwrap_or_else(|| format!("building-{}", f.id.0));
        let b = back
            .features
            .iter()
            .find(|b| b.text("source_id") == Some(id.as_str()))
            .unwrap_or_else(|| panic!("{what}: {id} not read back"));
        let (a0, a1) = (f.geometry.unsigned_area(), b.geometry.unsigned_area());
        assert!(
            (a1 - a0).abs() <= (0.001 * a0).max(0.01),
            "{what}: {id}: footprint {a0} m² read back as {a1} m²"
        );
        fig.area_abs = fig.area_abs.max((a1 - a0).abs());
        fig.area_rel = fig.area_rel.max((a1 - a0).abs() / a0.max(1e-9));
        for (k, worst) in [("height_m", &mut fig.height), ("base_m", &mut fig.base)] {
            if let Some(v0) = f.num(k) {
                let v1 = b.num(k).unwrap();
                assert!(
                    (v1 - v0).abs() <= 0.001 + 1e-9,
                    "{what}: {id}: {k} {v0} → {v1}"
                );
                *worst = worst.max((v1 - v0).abs());
            }
        }
        assert_eq!(b.name, f.name, "{what}: {id}: name");
        fig.names += usize::from(f.name.is_some());
        assert_eq!(b.num("levels"), f.num("levels"), "{what}: {id}: storeys");
        assert_eq!(b.text("building"), f.text("building"), "{what}: {id}: use");
        if let Some(l) = f.text("lod") {
            assert_eq!(b.text("lod"), Some(l), "{what}: {id}: LOD");
        }
        for (k, v) in &f.attrs {
            if NOT_PASSED_THROUGH.contains(&k.as_str()) {
                continue;
            }
            let name = k
                .strip_prefix("cj_")
                .or_else(|| k.strip_prefix("cg_"))
                .unwrap_or(k);
            let got = b.attrs.get(&format!("cj_{name}"));
            assert!(
                got.is_some_and(|g| same_value(name, v, g)),
                "{what}: {id}: attribute {k} = {v:?} read back as {got:?}"
            );
            fig.attributes += 1;
        }
    }
    println!(
        "{what}: {} building(s) written and read back ({} Solid, {} MultiSurface); \
         footprint area: worst {:.4} m² ({:.5} %); height: worst {:.4} m; base: worst {:.4} m; \
         {} name(s) and {} attribute value(s) equal; cjval 0.10: valid (no check failed)",
        fig.buildings,
        fig.solids,
        fig.multi_surfaces,
        fig.area_abs,
        100.0 * fig.area_rel,
        fig.height,
        fig.base,
        fig.names,
        fig.attributes,
    );
    (fig, text)
}

const RD_NEW: Crs = Crs { epsg: 28992 };

fn city_of(name: &str, crs: Crs, features: Vec<Feature>) -> City {
    let mut c = City::new(name, crs);
    c.layer_mut(Layer::Building).extend(features);
    c
}

#[test]
fn roundtrip_delft_lod1_solids() {
    let Some(d) = samples() else { return };
    let r = read_cityjson(&d.join("cjio_delft.city.json"), RD_NEW, FeatureId(1), None).unwrap();
    let (fig, _) = round_trip(
        "cjio_delft.city.json",
        &city_of("delft", RD_NEW, r.features),
    );
    assert_eq!(fig.buildings, 160);
    // The file's solids meet at T-junctions (a roof edge against two walls' edges), so their
    // edges are not each used once each way: they are written as MultiSurfaces.
    assert_eq!(fig.multi_surfaces, 160);
}

#[test]
fn roundtrip_3dbag_lod22_with_semantics() {
    let Some(d) = samples() else { return };
    let p = d.join("cjio_multi_lod_3dbag.city.json");
    let r = read_cityjson(&p, RD_NEW, FeatureId(1), Some(RD_NEW)).unwrap();
    let (fig, _) = round_trip(
        "cjio_multi_lod_3dbag.city.json",
        &city_of("bag", RD_NEW, r.features),
    );
    assert_eq!(fig.buildings, 10);
}

#[test]
fn roundtrip_hanoi_campus_from_citygml() {
    let Some(d) = samples() else { return };
    let r = twin_io::citygml::read_citygml(
        &d.join("vnu3d_DHQG_Hanoi.gml"),
        Crs::VN2000_UTM48N,
        FeatureId(1),
        None,
    )
    .unwrap();
    let city = city_of("vnu", Crs::VN2000_UTM48N, r.features);
    let (fig, _) = round_trip("vnu3d_DHQG_Hanoi.gml", &city);
    assert_eq!(fig.buildings, 38);
    assert!(fig.names > 0);
}

fn square(x: f64, y: f64, s: f64) -> LineString<f64> {
    LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)])
}

/// A courtyard building (20 m square with an 8 m square hole, on a stated base), two blocks in
/// one feature (based on the DEM), a footprint without height and a point.
fn hand_made() -> City {
    let (x0, y0) = (588_000.0, 2_325_000.0);
    let b = || Layer::Building.default_owner();
    let court = Feature::new(
        FeatureId(1),
        "building",
        b(),
        Polygon::new(square(x0, y0, 20.0), vec![square(x0 + 6.0, y0 + 6.0, 8.0)]).into(),
    )
    .with_name("Nhà A – sân trong")
    .with("height_m", 12.0)
    .with("base_m", 8.5)
    .with("levels", 4i64)
    .with("building", "office")
    .with("residents", 40i64)
    .with("ratio", 0.375)
    .with("listed", true)
    .with("cj_yearOfConstruction", 1998i64);
    let blocks = Feature::new(
        FeatureId(2),
        "building",
        b(),
        MultiPolygon::new(vec![
            Polygon::new(square(x0 + 40.0, y0, 10.0), vec![]),
            Polygon::new(square(x0 + 60.0, y0, 5.0), vec![]),
        ])
        .into(),
    )
    .with("height_m", 6.0)
    .with("building", "house");
    let flat = Feature::new(
        FeatureId(3),
        "building",
        b(),
        Polygon::new(square(x0, y0 + 40.0, 7.0), vec![]).into(),
    )
    .with("base_m", 9.0);
    let point = Feature::new(
        FeatureId(4),
        "building",
        b(),
        Geometry::Point(Point::new(x0, y0 - 30.0)),
    )
    .with_name("kiosk");
    let mut city = city_of("hand", Crs::VN2000_UTM48N, vec![court, blocks, flat, point]);
    city.dem = Some(Raster::filled(20, 20, x0 - 50.0, y0 + 150.0, 10.0, 7.25));
    city
}

/// Newell's normal of a ring of vertex indices.
fn normal(vs: &[[f64; 3]], r: &[usize]) -> [f64; 3] {
    let mut n = [0.0; 3];
    for k in 0..r.len() {
        let (p, q) = (vs[r[k]], vs[r[(k + 1) % r.len()]]);
        n[0] += (p[1] - q[1]) * (p[2] + q[2]);
        n[1] += (p[2] - q[2]) * (p[0] + q[0]);
        n[2] += (p[0] - q[0]) * (p[1] + q[1]);
    }
    n
}

/// A Solid's shell checked as CityJSON requires it: closed, every edge used once each way, and
/// outward (positive volume; ground faces facing down, roofs up, walls sideways); its volume.
fn check_shell(vs: &[[f64; 3]], shell: &Value, kinds: &[Option<String>]) -> f64 {
    let faces: Vec<Vec<Vec<usize>>> = serde_json::from_value(shell.clone()).unwrap();
    let mut edges = std::collections::HashMap::new();
    for r in faces.iter().flatten() {
        for k in 0..r.len() {
            *edges.entry((r[k], r[(k + 1) % r.len()])).or_insert(0) += 1;
        }
    }
    for (&(a, b), &n) in &edges {
        assert!(
            n == 1 && edges.get(&(b, a)) == Some(&1),
            "edge {a}→{b} not matched once"
        );
    }
    let mut vol = 0.0;
    for (f, kind) in faces.iter().zip(kinds) {
        let n = normal(vs, &f[0]);
        let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        match kind.as_deref() {
            Some("GroundSurface") => assert!(n[2] / len < -0.99, "ground faces {n:?}"),
            Some("RoofSurface") => assert!(n[2] / len > 0.99, "roof faces {n:?}"),
            Some("WallSurface") => assert!((n[2] / len).abs() < 0.01, "wall faces {n:?}"),
            _ => {}
        }
        for r in f {
            let p0 = vs[r[0]];
            for k in 1..r.len() - 1 {
                let (p1, p2) = (vs[r[k]], vs[r[k + 1]]);
                vol += (p0[0] * (p1[1] * p2[2] - p1[2] * p2[1])
                    - p0[1] * (p1[0] * p2[2] - p1[2] * p2[0])
                    + p0[2] * (p1[0] * p2[1] - p1[1] * p2[0]))
                    / 6.0;
            }
        }
    }
    assert!(vol > 0.0, "the shell faces inward");
    vol
}

/// Each Solid shell of a file, checked, with its object's id and its volume.
fn shells(doc: &Value) -> Vec<(String, f64)> {
    let t = &doc["transform"];
    let vs: Vec<[f64; 3]> = doc["vertices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            std::array::from_fn(|k| {
                v[k].as_f64().unwrap() * t["scale"][k].as_f64().unwrap()
                    + t["translate"][k].as_f64().unwrap()
            })
        })
        .collect();
    let mut out = Vec::new();
    for (id, o) in doc["CityObjects"].as_object().unwrap() {
        for g in o["geometry"].as_array().unwrap() {
            let kinds_of = |values: &Value| -> Vec<Option<String>> {
                let names: Vec<String> = g["semantics"]["surfaces"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["type"].as_str().unwrap().to_string())
                    .collect();
                values
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().map(|i| names[i as usize].clone()))
                    .collect()
            };
            match (g["type"].as_str().unwrap(), g["lod"].as_str().unwrap()) {
                ("Solid", _) => {
                    let kinds = kinds_of(&g["semantics"]["values"][0]);
                    out.push((id.clone(), check_shell(&vs, &g["boundaries"][0], &kinds)));
                }
                // LOD1 parts: closed shells side by side in one MultiSurface.
                ("MultiSurface", "1") => {
                    let kinds = kinds_of(&g["semantics"]["values"]);
                    out.push((id.clone(), check_shell(&vs, &g["boundaries"], &kinds)));
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn roundtrip_hand_made_city_with_a_courtyard() {
    let city = hand_made();
    let e = city_to_cityjson(&city, Path::new("hand.gpkg")).unwrap();
    assert_eq!(e.written, 3);
    assert_eq!(e.extruded, 2);
    assert_eq!(e.footprint_only, ["feature 3"]);
    assert_eq!(e.not_written, ["feature 4 (kiosk)"]);
    assert_eq!(e.base_from_dem, 1);
    let (fig, text) = round_trip("hand-made city", &city);
    assert_eq!((fig.buildings, fig.solids, fig.multi_surfaces), (3, 1, 2));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut vols = shells(&doc);
    vols.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let vol: Vec<(&str, f64)> = vols
        .iter()
        .map(|(i, v)| (i.as_str(), (v * 1000.0).round() / 1000.0))
        .collect();
    assert_eq!(
        vol,
        [
            ("building-1", 336.0 * 12.0),
            ("building-2", (100.0 + 25.0) * 6.0)
        ]
    );
    // The ground face keeps the courtyard as an inner ring, walled.
    let court = &doc["CityObjects"]["building-1"]["geometry"][0];
    assert_eq!(court["boundaries"][0][0].as_array().unwrap().len(), 2);
    assert_eq!(court["boundaries"][0].as_array().unwrap().len(), 2 + 4 + 4);
    // Read back, the buildings carry their surfaces: written again from them, the courtyard's
    // ground face gets its hole back from the footprint and the shell still closes.
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("hand.city.json");
    std::fs::write(&p, &text).unwrap();
    let back = read_cityjson(&p, city.crs, FeatureId(1), None).unwrap();
    let again = city_of("again", city.crs, back.features);
    let (fig, text) = round_trip("hand-made city, second pass", &again);
    assert_eq!((fig.solids, fig.multi_surfaces), (1, 2), "{text}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(
        shells(&doc)
            .iter()
            .any(|(i, v)| i == "building-1" && (v - 4032.0).abs() < 1e-6)
    );
}

#[test]
fn cjval_reports_broken_files() {
    let text = city_to_cityjson(&hand_made(), Path::new("hand.gpkg"))
        .unwrap()
        .text;
    assert!(cjval_problems(&text).is_empty());
    let doc: Value = serde_json::from_str(&text).unwrap();
    let nv = doc["vertices"].as_array().unwrap().len();
    // A vertex index past the list.
    let mut bad = doc.clone();
    bad["CityObjects"]["building-1"]["geometry"][0]["boundaries"][0][0][0][0] = nv.into();
    let p = cjval_problems(&bad.to_string());
    assert!(
        p.iter().any(|e| e.starts_with("wrong_vertex_index")),
        "{p:?}"
    );
    // Semantics that do not match the boundaries.
    let mut bad = doc.clone();
    bad["CityObjects"]["building-1"]["geometry"][0]["semantics"]["values"][0]
        .as_array_mut()
        .unwrap()
        .pop();
    let p = cjval_problems(&bad.to_string());
    assert!(p.iter().any(|e| e.starts_with("semantics_arrays")), "{p:?}");
    // Not a CityJSON 2.0 object type, and a vertex written twice.
    let mut bad = doc.clone();
    bad["CityObjects"]["building-1"]["type"] = "Buildin".into();
    let p = cjval_problems(&bad.to_string());
    assert!(p.iter().any(|e| e.starts_with("schema")), "{p:?}");
    let mut bad = doc.clone();
    let v0 = bad["vertices"][0].clone();
    bad["vertices"].as_array_mut().unwrap().push(v0);
    let p = cjval_problems(&bad.to_string());
    assert!(
        p.iter()
            .any(|e| e.starts_with("duplicate_vertices") || e.starts_with("unused_vertices")),
        "{p:?}"
    );
}

#[test]
fn a_corrupt_stored_surface_is_named() {
    let mut city = hand_made();
    let b = city.layer_mut(Layer::Building);
    let f = b.get(FeatureId(1)).unwrap().clone();
    b.insert(f.with("solid_json", "[[1, 2]]"));
    let e = city_to_cityjson(&city, Path::new("hand.gpkg"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "hand.gpkg: feature 1 (Nhà A – sân trong) of layer building, field 'solid_json'"
        ),
        "{e}"
    );
}
