//! `twin import cityjson` and `twin import citygml`: real building models into a city, what is
//! not imported named.

mod common;
use common::{bim_cim_data, s, stderr, twin, twin_ok};
use std::path::Path;
use std::process::Output;

#[test]
fn cityjson_buildings_make_or_join_a_city_and_other_objects_are_named() {
    let Some(data) = bim_cim_data() else { return };
    let d = tempfile::tempdir().unwrap();
    let city = d.path().join("delft.gpkg");
    let delft = data.join("cjio_delft.city.json");
    let o = twin(&["import", "cityjson", s(&delft), "--out", s(&city)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("CityJSON 2.0, 160 building(s) from EPSG:28992"),
        "{err}"
    );
    assert!(
        err.contains("not imported (only buildings are): 3 Bridge, 54 GenericCityObject, 81 LandUse, 126 PlantCover, 143 Road, 3 WaterBody"),
        "{err}"
    );
    let c = twin_io::gpkg::read_city(&city).unwrap();
    assert_eq!(c.crs.epsg, 28992);
    let b = c.layer(twin_model::Layer::Building);
    assert_eq!(b.len(), 160);
    assert!(b.features().iter().all(|f| f.num("height_m").unwrap() > 0.5
        && f.text("solid_json").is_some_and(|j| j.starts_with("[[["))));
    // A file that states no CRS is refused until one is given; then it joins the city.
    let bag = data.join("cjio_multi_lod_3dbag.city.json");
    let o = twin(&["import", "cityjson", s(&bag), "--out", s(&city)]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("give its CRS (--crs EPSG:N)"),
        "{}",
        stderr(&o)
    );
    let o = twin(&[
        "import",
        "cityjson",
        s(&bag),
        "--out",
        s(&city),
        "--src-crs",
        "EPSG:28992",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = twin_io::gpkg::read_city(&city).unwrap();
    assert_eq!(c.layer(twin_model::Layer::Building).len(), 170);
}

#[test]
fn the_hanoi_campus_in_citygml_joins_a_vn2000_city() {
    let buildings = |city: &Path| {
        twin_io::gpkg::read_city(city)
            .unwrap()
            .layer(twin_model::Layer::Building)
            .len()
    };
    let Some(data) = bim_cim_data() else { return };
    let d = tempfile::tempdir().unwrap();
    let city = d.path().join("vnu.gpkg");
    let gml = data.join("vnu3d_DHQG_Hanoi.gml");
    let o = twin(&[
        "import",
        "citygml",
        s(&gml),
        "--out",
        s(&city),
        "--crs",
        "EPSG:3405",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("CityGML, 38 building(s) from EPSG:4326"),
        "{err}"
    );
    assert!(
        err.contains(
            "38 building(s) have no ground surface: their footprint is their floor surface"
        ),
        "{err}"
    );
    assert!(
        err.contains("not imported (only buildings are): 12 Road"),
        "{err}"
    );
    let c = twin_io::gpkg::read_city(&city).unwrap();
    assert_eq!(c.crs, twin_model::Crs::VN2000_UTM48N);
    let b = c.layer(twin_model::Layer::Building);
    assert_eq!(b.len(), 38);
    assert!(
        b.features()
            .iter()
            .any(|f| f.name.as_deref() == Some("TTVH"))
    );
    // The same model imported again replaces its buildings instead of doubling them.
    let o = twin(&["import", "citygml", s(&gml), "--out", s(&city)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("38 building(s) already in the city stood where the imported ones stand"),
        "{}",
        stderr(&o)
    );
    assert_eq!(buildings(&city), 38);
    // Garbage is refused with the file and line, and the city is left as it was.
    let bad = d.path().join("bad.gml");
    std::fs::write(
        &bad,
        "<CityModel><cityObjectMember><Building><posList>1 2 x</posList>",
    )
    .unwrap();
    let o = twin(&[
        "import",
        "citygml",
        s(&bad),
        "--out",
        s(&city),
        "--src-crs",
        "EPSG:3405",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("bad.gml: line 1: <posList>: 'x' is not a number"),
        "{}",
        stderr(&o)
    );
    assert_eq!(buildings(&city), 38);
}

/// `twin import ifc` of KIT's FZK-Haus (ArchiCAD's IFC4) into `city` in ETRS89 / UTM 32N.
fn import_fzk(data: &Path, city: &Path) -> Output {
    let fzk = data.join("webifc_AC20-FZK-Haus.ifc");
    twin_ok(&[
        "import",
        "ifc",
        s(&fzk),
        "--out",
        s(city),
        "--crs",
        "EPSG:25832",
    ])
}

#[test]
fn ifc_houses_join_a_city_placed_by_their_site_or_by_the_user() {
    let Some(data) = bim_cim_data() else { return };
    let d = tempfile::tempdir().unwrap();
    let city = d.path().join("kit.gpkg");
    let o = import_fzk(&data, &city);
    let err = stderr(&o);
    assert!(
        err.contains("IFC IFC4, 1 building(s) from EPSG:32632"),
        "{err}"
    );
    assert!(
        err.contains("placed by IfcSite RefLatitude/RefLongitude 49.100435, 8.436539"),
        "{err}"
    );
    assert!(
        err.contains("not imported (only the building shell is): 14 IfcAnnotation, 5 IfcDoor, 17 IfcOpeningElement, 3 IfcVirtualElement, 11 IfcWindow"),
        "{err}"
    );
    // IfcOpenHouse states no place: refused, the city untouched, until --at gives one.
    let house = data.join("webifc_IfcOpenHouse_IFC4.ifc");
    let o = twin(&["import", "ifc", s(&house), "--out", s(&city)]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("place it with --at lon,lat"),
        "{}",
        stderr(&o)
    );
    let o = twin(&[
        "import",
        "ifc",
        s(&house),
        "--out",
        s(&city),
        "--at",
        "8.4365,49.1",
        "--rotation-deg",
        "-30",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("length unit 0.001 m"), "{}", stderr(&o));
    let c = twin_io::gpkg::read_city(&city).unwrap();
    let b = c.layer(twin_model::Layer::Building);
    assert_eq!(b.len(), 2);
    let fzk = &b.features()[0];
    assert_eq!(fzk.name.as_deref(), Some("FZK-Haus"));
    assert_eq!(fzk.num("levels"), Some(2.0));
    assert!((fzk.num("height_m").unwrap() - 6.518).abs() < 1e-9);
    assert!(
        b.features()[1]
            .text("solid_json")
            .is_some_and(|j| j.starts_with("[[["))
    );
    let o = twin(&["import", "ifc", s(&house), "--out", s(&city), "--at", "8.4"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--at 8.4: expected LON,LAT"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_city_exported_as_cityjson_imports_back_to_the_same_buildings() {
    let Some(data) = bim_cim_data() else { return };
    let d = tempfile::tempdir().unwrap();
    let city = d.path().join("kit.gpkg");
    import_fzk(&data, &city);
    let out = d.path().join("kit.city.json");
    let o = twin_ok(&["export", "cityjson", s(&city), "--out", s(&out)]);
    assert!(
        stderr(&o).contains(
            "CityJSON 2.0 in EPSG:25832, 1 building(s): 1 from their 3D surfaces, 0 LOD1 solid(s)"
        ),
        "{}",
        stderr(&o)
    );
    let again = d.path().join("again.gpkg");
    let o = twin_ok(&["import", "cityjson", s(&out), "--out", s(&again)]);
    assert!(
        stderr(&o).contains("CityJSON 2.0, 1 building(s) from EPSG:25832"),
        "{}",
        stderr(&o)
    );
    let (a, b) = (
        twin_io::gpkg::read_city(&city).unwrap(),
        twin_io::gpkg::read_city(&again).unwrap(),
    );
    let (a, b) = (
        &a.layer(twin_model::Layer::Building).features()[0],
        &b.layer(twin_model::Layer::Building).features()[0],
    );
    assert_eq!(b.name.as_deref(), Some("FZK-Haus"));
    assert_eq!(b.num("height_m"), a.num("height_m"));
    assert_eq!(b.num("base_m"), a.num("base_m"));
    assert_eq!(b.num("levels"), Some(2.0));
    assert_eq!(b.text("cj_ifc_schema"), a.text("ifc_schema"));
    let (ba, bb) = (a.bbox().unwrap(), b.bbox().unwrap());
    for k in 0..2 {
        for c in 0..2 {
            assert!((ba[k][c] - bb[k][c]).abs() < 0.001, "{ba:?} {bb:?}");
        }
    }
    // A city that is not there is named.
    let o = twin(&[
        "export",
        "cityjson",
        s(&d.path().join("none.gpkg")),
        "--out",
        s(&out),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("none.gpkg"), "{}", stderr(&o));
}

/// `twin city build --buildings`: the Hanoi campus model, read by its kind, joins a city built
/// from a street map and a DEM around it, replacing the map's building where a model building
/// stands; a model elsewhere is left out by count; a malformed one stops the build with
/// nothing written.
#[test]
fn city_build_takes_building_models_and_they_replace_the_maps_buildings() {
    let Some(data) = bim_cim_data() else { return };
    let d = tempfile::tempdir().unwrap();
    let gml = data.join("vnu3d_DHQG_Hanoi.gml");
    // A point inside the campus's building "TTVH", in degrees.
    let campus = twin_io::citygml::read_citygml(
        &gml,
        twin_model::Crs::WGS84,
        twin_model::FeatureId(1),
        None,
    )
    .unwrap();
    let ttvh = campus
        .features
        .iter()
        .find(|f| f.name.as_deref() == Some("TTVH"))
        .unwrap();
    let p = geo::InteriorPoint::interior_point(&ttvh.geometry).unwrap();
    let (lon, lat) = (p.x(), p.y());
    // Streets around the campus (105.7805–105.7845 E, 21.0362–21.0415 N), a mapped building
    // where TTVH stands and one in a street block away from every model building.
    let (w, e, s_, n) = (105.7805, 105.7845, 21.0362, 21.0415);
    let mut osm = String::from("<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n");
    let nodes = [
        (1, w, s_),
        (2, e, s_),
        (3, e, n),
        (4, w, n),
        (11, lon - 0.00003, lat - 0.00003),
        (12, lon + 0.00003, lat - 0.00003),
        (13, lon + 0.00003, lat + 0.00003),
        (14, lon - 0.00003, lat + 0.00003),
        (21, w + 0.0001, s_ + 0.0001),
        (22, w + 0.0002, s_ + 0.0001),
        (23, w + 0.0002, s_ + 0.0002),
        (24, w + 0.0001, s_ + 0.0002),
    ];
    for (id, x, y) in nodes {
        osm += &format!("<node id='{id}' lat='{y}' lon='{x}'/>\n");
    }
    for (id, a, b) in [(101, 1, 2), (102, 2, 3), (103, 3, 4), (104, 4, 1)] {
        osm += &format!(
            "<way id='{id}'><nd ref='{a}'/><nd ref='{b}'/><tag k='highway' v='residential'/></way>\n"
        );
    }
    for (id, r) in [(201, [11, 12, 13, 14]), (202, [21, 22, 23, 24])] {
        osm += &format!("<way id='{id}'>");
        for k in r.iter().chain(&r[..1]) {
            osm += &format!("<nd ref='{k}'/>");
        }
        osm += "<tag k='building' v='yes'/></way>\n";
    }
    osm += "</osm>\n";
    let osm_path = d.path().join("campus.osm");
    std::fs::write(&osm_path, osm).unwrap();
    // A DEM in degrees over it, falling 1 cm a cell to the east.
    let mut asc = String::from(
        "ncols 80\nnrows 100\nxllcorner 105.778\nyllcorner 21.033\ncellsize 0.0001\nNODATA_value -9999\n",
    );
    for _ in 0..100 {
        let row: Vec<String> = (0..80)
            .map(|c| format!("{:.2}", 12.0 - 0.01 * c as f64))
            .collect();
        asc += &row.join(" ");
        asc += "\n";
    }
    let dem = d.path().join("dem.asc");
    std::fs::write(&dem, asc).unwrap();
    let build = |models: &[&Path], out: &Path| {
        let mut args = vec![
            "city".to_string(),
            "build".into(),
            "--osm".into(),
            s(&osm_path).into(),
            "--dem".into(),
            s(&dem).into(),
            "--dem-crs".into(),
            "EPSG:4326".into(),
            "--street-sensors".into(),
            "0".into(),
            "--out".into(),
            s(out).into(),
        ];
        for m in models {
            args.push("--buildings".into());
            args.push(s(m).into());
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        twin(&a)
    };
    let city = d.path().join("campus.gpkg");
    let delft = data.join("cjio_delft.city.json");
    let o = build(&[&gml, &delft], &city);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("vnu3d_DHQG_Hanoi.gml: CityGML, 38 building(s) from EPSG:4326"),
        "{err}"
    );
    assert!(
        err.contains("1 building(s) already in the city stood where the imported ones stand"),
        "{err}"
    );
    assert!(
        err.contains("cjio_delft.city.json: 160 building(s) lie outside the model area: left out"),
        "{err}"
    );
    let c = twin_io::gpkg::read_city(&city).unwrap();
    let b = c.layer(twin_model::Layer::Building);
    // The campus's 38 and the mapped building away from them.
    assert_eq!(b.len(), 39);
    let t = b
        .features()
        .iter()
        .find(|f| f.name.as_deref() == Some("TTVH"))
        .unwrap();
    assert!(t.num("height_m").unwrap() > 3.0, "{:?}", t.num("height_m"));
    assert!(
        c.metadata["building_models"].contains("vnu3d_DHQG_Hanoi.gml"),
        "{:?}",
        c.metadata
    );
    // Malformed: refused by file and line, nothing written.
    let bad = d.path().join("bad.gml");
    std::fs::write(
        &bad,
        "<CityModel><cityObjectMember><Building><posList>1 2 x</posList>",
    )
    .unwrap();
    let out = d.path().join("bad.gpkg");
    let o = build(&[&gml, &bad], &out);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("bad.gml"), "{}", stderr(&o));
    assert!(!out.exists());
}
