//! Building models from real files (../shared/data/bim-cim). CityJSON, each from the cjio test
//! data: Delft (2.0, EPSG:7415, LOD1 solids), 3D BAG (2.0, three LODs, no CRS stated),
//! Rotterdam (2.0, LOD2 multi-surfaces with semantics) and Den Haag (1.1, buildings made of
//! parts). CityGML: KIT's FZK-Haus in 2.0 and 3.0, and the Vietnam National University campus
//! in Hanoi (2.0 in CRS:84, its building bases tagged as floor surfaces). IFC: the FZK-Haus
//! again, exported by ArchiCAD 20 (IFC4, metres, placed by its site's latitude and longitude),
//! and IfcOpenHouse (IFC4, millimetres, not georeferenced); their expected figures are
//! IfcOpenShell's, recorded in benches/results/bim.md by benches/bim/run.sh.

mod common;
use common::samples;
use twin_io::citygml::read_citygml;
use twin_io::cityjson::read_cityjson;
use twin_io::crs::Reprojector;
use twin_io::ifc::{IfcPlacement, read_ifc};
use twin_model::{Crs, FeatureId};

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

/// Lengths of a footprint's outer ring's edges, longest first.
fn edges(g: &geo::Geometry<f64>) -> Vec<f64> {
    let geo::Geometry::Polygon(p) = g else {
        panic!("expected a polygon, got {g:?}")
    };
    let mut e: Vec<f64> = p
        .exterior()
        .lines()
        .map(|l| l.dx().hypot(l.dy()))
        .filter(|l| *l > 0.01)
        .collect();
    e.sort_by(|a, b| b.total_cmp(a));
    e
}

#[test]
fn the_fzk_house_matches_ifcopenshell_and_its_citygml_twin() {
    let Some(d) = samples() else { return };
    let r = read_ifc(
        &d.join("webifc_AC20-FZK-Haus.ifc"),
        UTM32,
        FeatureId(1),
        &IfcPlacement::default(),
        None,
    )
    .unwrap();
    assert_eq!(r.schema, "IFC4");
    assert_eq!(r.length_unit_m, 1.0);
    assert!(r.placed_by.starts_with("IfcSite RefLatitude/RefLongitude"));
    // Everything not read is named: 11 windows, 5 doors, 17 openings, 14 annotations and 3
    // virtual elements; every shell element's geometry is read.
    let skipped: Vec<(&str, usize)> = r.skipped.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        skipped,
        [
            ("IfcAnnotation", 14),
            ("IfcDoor", 5),
            ("IfcOpeningElement", 17),
            ("IfcVirtualElement", 3),
            ("IfcWindow", 11)
        ]
    );
    assert!(r.geometry_not_read.is_empty(), "{:?}", r.geometry_not_read);
    assert_eq!(r.features.len(), 1);
    let b = &r.features[0];
    assert_eq!(b.name.as_deref(), Some("FZK-Haus"));
    assert_eq!(b.text("building"), Some("Wohnhaus"));
    assert_eq!(b.num("levels"), Some(2.0));
    assert_eq!(b.text("storey_names"), Some("Erdgeschoss; Dachgeschoss"));
    assert_eq!(b.text("storey_elevations_m"), Some("0; 2.7"));
    assert!(b.text("spaces").unwrap().contains("Küche"));
    // IfcOpenShell 0.9.0: shell from −0.2 to 6.3177 m (height 6.5177 m), ground-storey plan
    // 120.0 m²; site at 49.100435° N, 8.436539° E, 110 m.
    let h = b.num("height_m").unwrap();
    assert!((h - 6.5177).abs() < 0.1, "{h}");
    assert!((b.num("base_m").unwrap() - (110.0 - 0.2)).abs() < 0.1);
    use geo::{Area, Centroid};
    let a = b.geometry.unsigned_area();
    assert!((a - 120.0).abs() < 0.05 * 120.0, "{a}");
    // The model's origin, a corner of the house, is the site's point.
    let (sx, sy) = Reprojector::new(Crs::WGS84, UTM32, "t")
        .unwrap()
        .point(8.436539, 49.100435)
        .unwrap();
    let geo::Geometry::Polygon(p) = &b.geometry else {
        panic!()
    };
    let near = p
        .exterior()
        .points()
        .map(|q| (q.x() - sx).hypot(q.y() - sy))
        .fold(f64::MAX, f64::min);
    assert!(near < 1.0, "{near} m");
    // The same house in CityGML (KIT's LoD2 model): the same 12 × 10 m plan and, to the
    // millimetre, the same height; the CityGML model lies about 1.1 km from the IFC site's
    // point, unrotated, so only the shapes are compared.
    let g = read_citygml(
        &d.join("teco_FZK-Haus-LoD2-KIT-IAI-KHH-B36-V1.gml"),
        UTM32,
        FeatureId(1),
        None,
    )
    .unwrap();
    let gb = &g.features[0];
    let (ei, eg) = (edges(&b.geometry), edges(&gb.geometry));
    for k in 0..4 {
        assert!((ei[k] - eg[k]).abs() < 0.01, "{ei:?} {eg:?}");
    }
    assert!((gb.num("height_m").unwrap() - h).abs() < 0.01);
    let (ci, cg) = (
        b.geometry.centroid().unwrap(),
        gb.geometry.centroid().unwrap(),
    );
    let apart = (ci.x() - cg.x()).hypot(ci.y() - cg.y());
    assert!((1000.0..1200.0).contains(&apart), "{apart}");
}

#[test]
fn ifc_open_house_in_millimetres_is_placed_by_the_user() {
    let Some(d) = samples() else { return };
    let p = d.join("webifc_IfcOpenHouse_IFC4.ifc");
    let e = read_ifc(&p, UTM32, FeatureId(1), &IfcPlacement::default(), None).unwrap_err();
    assert!(e.to_string().contains("place it with --at lon,lat"), "{e}");
    let at = IfcPlacement {
        at: Some((8.4365, 49.1)),
        rotation_deg: None,
    };
    let r = read_ifc(&p, UTM32, FeatureId(7), &at, None).unwrap();
    assert_eq!(r.length_unit_m, 0.001);
    assert_eq!(r.skipped.get("IfcMember (part of IfcWindow)"), Some(&20));
    assert_eq!(r.skipped.get("IfcFooting"), Some(&1));
    assert_eq!(r.clipped, 0, "the gable walls' half-space cuts are made");
    let b = &r.features[0];
    assert_eq!(b.id, FeatureId(7));
    assert_eq!(b.num("levels"), Some(1.0));
    // IfcOpenShell 0.9.0: shell from −0.4 (the step) to 5.78 m (the ridge), height 6.18 m;
    // the convex hull of the ground storey's plan 55.404 m² (our union, which leaves out the
    // 5 cm gap between the house and its step, is 54.2 m²).
    let h = b.num("height_m").unwrap();
    assert!((h - 6.18).abs() < 0.1, "{h}");
    use geo::Area;
    let a = b.geometry.unsigned_area();
    assert!((a - 55.404).abs() < 0.05 * 55.404, "{a}");
    // The walls span 10 m west–east and 5.36 m south–north; with --rotation-deg 90 the
    // model's +y points east.
    let bb = b.bbox().unwrap();
    let (sx, sy) = Reprojector::new(Crs::WGS84, UTM32, "t")
        .unwrap()
        .point(8.4365, 49.1)
        .unwrap();
    assert!((bb[0][0] - (sx - 5.0)).abs() < 0.2 && (bb[0][1] - (sy - 0.18)).abs() < 0.2);
    let turned = IfcPlacement {
        at: at.at,
        rotation_deg: Some(90.0),
    };
    let r = read_ifc(&p, UTM32, FeatureId(1), &turned, None).unwrap();
    let bb = r.features[0].bbox().unwrap();
    assert!(((bb[1][1] - bb[0][1]) - 10.55).abs() < 0.2, "{bb:?}");
}
