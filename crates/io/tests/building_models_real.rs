//! Building models from real files (../shared/data/bim-cim). CityJSON, each from the cjio test
//! data: Delft (2.0, EPSG:7415, LOD1 solids), 3D BAG (2.0, three LODs, no CRS stated),
//! Rotterdam (2.0, LOD2 multi-surfaces with semantics) and Den Haag (1.1, buildings made of
//! parts). CityGML: KIT's FZK-Haus in 2.0 and 3.0, and the Vietnam National University campus
//! in Hanoi (2.0 in CRS:84, its building bases tagged as floor surfaces).

use std::path::{Path, PathBuf};
use twin_io::citygml::read_citygml;
use twin_io::cityjson::read_cityjson;
use twin_io::crs::Reprojector;
use twin_model::{Crs, FeatureId};

/// `../shared/data/bim-cim` beside the checkout; `None` (skipped) where absent, except under
/// CI, where its absence fails the test.
fn samples() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/bim-cim");
    if d.is_dir() {
        return Some(d);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{} is missing, and CI was meant to provide it", d.display());
    }
    eprintln!("skipped: {} is missing", d.display());
    None
}

const RD_NEW: Crs = Crs { epsg: 28992 };

#[test]
fn delft_buildings_come_with_heights_footprints_and_the_rest_named() {
    let Some(d) = samples() else { return };
    let p = d.join("cjio_delft.city.json");
    let r = read_cityjson(&p, RD_NEW, FeatureId(1), None).unwrap();
    assert_eq!(r.version, "2.0");
    assert_eq!(r.source_crs, RD_NEW, "7415 (RD New + NAP) read as RD New");
    assert_eq!(r.features.len(), 160);
    let skipped: Vec<(&str, usize)> = r.skipped.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        skipped,
        [
            ("Bridge", 3),
            ("GenericCityObject", 54),
            ("LandUse", 81),
            ("PlantCover", 126),
            ("Road", 143),
            ("WaterBody", 3)
        ]
    );
    // Heights are the file's measuredHeight (0.75–8.57 m in this tile, read from the file by
    // hand; the solids themselves span 0.73–8.29 m); every footprint is a real polygon of the
    // building's bottom face.
    use geo::Area;
    let hs: Vec<f64> = r
        .features
        .iter()
        .map(|f| f.num("height_m").unwrap())
        .collect();
    let (lo, hi) = hs
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), h| (a.min(*h), b.max(*h)));
    assert!(
        (lo - 0.75).abs() < 1e-6 && (hi - 8.57).abs() < 1e-6,
        "{lo} {hi}"
    );
    assert!(
        r.features
            .iter()
            .all(|f| f.num("height_m") == f.num("cj_measuredHeight"))
    );
    assert!(r.features.iter().all(|f| f.geometry.unsigned_area() > 5.0));
    let first = r
        .features
        .iter()
        .find(|f| f.text("source_id") == Some("b1105d28c-00ba-11e6-b420-2bdcc4ab5d7f"))
        .unwrap();
    // Its solid spans 6.1 m from −0.1 m (computed from the file by hand).
    let solid: Vec<Vec<[f64; 3]>> =
        serde_json::from_str(first.text("solid_json").unwrap()).unwrap();
    let zs: Vec<f64> = solid.iter().flatten().map(|p| p[2]).collect();
    let span =
        zs.iter().cloned().fold(f64::MIN, f64::max) - zs.iter().cloned().fold(f64::MAX, f64::min);
    assert!((span - 6.1).abs() < 1e-6, "{span}");
    assert!((first.num("base_m").unwrap() + 0.1).abs() < 1e-6);
    assert_eq!(first.text("cj_bronhouder"), Some("G0503"));
    // Into a city in UTM 31N: Delft lies at about 52.0° N, 4.36° E.
    let utm = Crs { epsg: 32631 };
    let r = read_cityjson(&p, utm, FeatureId(1), None).unwrap();
    use geo::Centroid;
    let c = r.features[0].geometry.centroid().unwrap();
    let (mut x, mut y) = (vec![c.x()], vec![c.y()]);
    Reprojector::new(utm, Crs::WGS84, "test")
        .unwrap()
        .transform(&mut x, &mut y)
        .unwrap();
    assert!(
        (x[0] - 4.36).abs() < 0.05 && (y[0] - 52.0).abs() < 0.05,
        "{x:?} {y:?}"
    );
}

#[test]
fn the_highest_lod_and_the_ground_surfaces_are_used() {
    let Some(d) = samples() else { return };
    // 3D BAG: no CRS in the file, so it is refused until the user gives one.
    let p = d.join("cjio_multi_lod_3dbag.city.json");
    let e = read_cityjson(&p, RD_NEW, FeatureId(1), None).unwrap_err();
    assert!(e.to_string().contains("--crs EPSG:N"), "{e}");
    let r = read_cityjson(&p, RD_NEW, FeatureId(1), Some(RD_NEW)).unwrap();
    assert_eq!(r.features.len(), 10);
    assert!(r.features.iter().all(|f| f.text("lod") == Some("2.2")));
    // Rotterdam: LOD2 multi-surfaces whose semantics name the ground surfaces.
    let p = d.join("cjio_rotterdam_subset.city.json");
    let r = read_cityjson(&p, RD_NEW, FeatureId(1), Some(RD_NEW)).unwrap();
    assert_eq!(r.features.len(), 16);
    use geo::Area;
    for f in &r.features {
        let solid: Vec<Vec<[f64; 3]>> =
            serde_json::from_str(f.text("solid_json").unwrap()).unwrap();
        assert!(solid.len() >= 5, "{}", solid.len());
        assert!(f.geometry.unsigned_area() > 1.0);
        assert!(f.num("height_m").unwrap() > 2.0);
    }
    // Den Haag, CityJSON 1.1: three buildings described only by their parts, each part a
    // feature that names its building.
    let p = d.join("cjio_DH_01_subs.city.json");
    let r = read_cityjson(&p, RD_NEW, FeatureId(1), Some(RD_NEW)).unwrap();
    assert_eq!(r.version, "1.1");
    assert_eq!(r.features.len(), 9);
    assert_eq!(r.without_geometry, 3);
    let parts = r
        .features
        .iter()
        .filter(|f| f.text("cityjson_type") == Some("BuildingPart"))
        .count();
    assert_eq!(parts, 8);
    assert!(
        r.features
            .iter()
            .filter(|f| f.text("cityjson_type") == Some("BuildingPart"))
            .all(|f| f.text("parent_id").is_some_and(|p| p.starts_with("GUID_")))
    );
}

const UTM32: Crs = Crs { epsg: 25832 };

#[test]
fn the_fzk_house_reads_alike_in_citygml_2_and_3() {
    let Some(d) = samples() else { return };
    use geo::Area;
    for (f, height) in [
        // 2.0 gives no height: the solid's span, 111.8–118.318 m.
        ("teco_FZK-Haus-LoD2-KIT-IAI-KHH-B36-V1.gml", 6.518),
        // 3.0 gives its Height value, 6.52 m.
        ("ecitygml_FZK-Haus-LoD2-KIT-IAI-KHH-B36-V1__v3.gml", 6.52),
    ] {
        let r = read_citygml(&d.join(f), UTM32, FeatureId(1), None).unwrap();
        assert_eq!(
            r.source_crs, UTM32,
            "{f}: urn:adv:crs:ETRS89_UTM32*DE_DHHN92_NH"
        );
        assert_eq!(r.features.len(), 1, "{f}");
        let b = &r.features[0];
        assert_eq!(b.name.as_deref(), Some("AC14-FZK-Haus"));
        assert!((b.num("height_m").unwrap() - height).abs() < 1e-6, "{f}");
        assert!((b.num("base_m").unwrap() - 111.8).abs() < 1e-6, "{f}");
        assert_eq!(b.num("levels"), Some(2.0), "{f}");
        assert_eq!(b.text("building"), Some("1000"), "{f}");
        assert_eq!(b.text("cg_ConstructionMethod"), Some("New Building"), "{f}");
        // Its ground surface: the house's 12 × 10 m plan.
        let a = b.geometry.unsigned_area();
        assert!((a - 120.0).abs() < 0.5, "{f}: {a} m²");
        let solid: Vec<Vec<[f64; 3]>> =
            serde_json::from_str(b.text("solid_json").unwrap()).unwrap();
        assert_eq!(solid.len(), 7, "{f}: 4 walls, 2 roofs, 1 ground");
    }
}

#[test]
fn the_hanoi_campus_lands_in_cau_giay_with_its_floors_as_footprints() {
    let Some(d) = samples() else { return };
    let r = read_citygml(
        &d.join("vnu3d_DHQG_Hanoi.gml"),
        Crs::VN2000_UTM48N,
        FeatureId(1),
        None,
    )
    .unwrap();
    // CRS:84: longitude, latitude in degrees, heights in metres.
    assert_eq!(r.source_crs, Crs::WGS84);
    assert_eq!(r.features.len(), 38);
    assert_eq!(r.skipped.get("Road"), Some(&12));
    assert_eq!(r.footprint_from_floor, 38, "bases tagged FloorSurface");
    use geo::{Area, Centroid};
    let tt = r
        .features
        .iter()
        .find(|f| f.name.as_deref() == Some("TTVH"))
        .unwrap();
    assert_eq!(tt.num("height_m"), Some(16.0));
    // Every building inside the file's envelope (105.7812–105.7838 E, 21.0369–21.0409 N),
    // with a plausible plan.
    let re = Reprojector::new(Crs::VN2000_UTM48N, Crs::WGS84, "test").unwrap();
    for f in &r.features {
        let c = f.geometry.centroid().unwrap();
        let (mut x, mut y) = (vec![c.x()], vec![c.y()]);
        re.transform(&mut x, &mut y).unwrap();
        assert!(
            (105.7811..105.7839).contains(&x[0]) && (21.0368..21.0410).contains(&y[0]),
            "{:?} at {x:?} {y:?}",
            f.name
        );
        let a = f.geometry.unsigned_area();
        assert!((20.0..20_000.0).contains(&a), "{:?}: {a} m²", f.name);
        assert!(f.num("height_m").unwrap() > 2.0);
    }
}
