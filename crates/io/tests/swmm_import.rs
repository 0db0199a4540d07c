//! A surveyed network from a SWMM `.inp` into the Utility layer: the demo district's network
//! exported and read back writes the same model; EPA's Example 6 (US units) lands in metres
//! with what it holds that the layer cannot named; what cannot be placed or held is refused
//! by element.

use std::collections::BTreeMap;
use std::path::Path;
use twin_io::swmm_import::inp_to_utility;
use twin_model::drainage::{DrainNodeKind, Shape};
use twin_model::{City, Crs, DrainageNetwork, Layer};

fn same(x: f64, y: f64) -> twin_io::error::Result<(f64, f64)> {
    Ok((x, y))
}

/// Each section's lines, sorted (the order of nodes differs by kind).
fn sections(inp: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cur = String::new();
    for l in inp.lines() {
        let l = l.trim();
        if l.starts_with('[') {
            cur = l.to_ascii_uppercase();
        } else if !l.is_empty() && !l.starts_with(";;") {
            out.entry(cur.clone()).or_default().push(l.to_string());
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

fn city_with(features: Vec<twin_model::Feature>, crs: Crs) -> City {
    let mut city = City::new("imported", crs);
    for f in features {
        city.layer_mut(Layer::Utility).insert(f);
    }
    city
}

#[test]
fn the_demo_network_read_back_from_its_inp_writes_the_same_model() {
    let demo = twin_citygen::generate(&Default::default());
    let rain = vec![(0.0, 20.0), (10.0, 80.0), (20.0, 0.0)];
    let inp = twin_io::swmm::city_to_inp(&demo, &rain, 90.0).unwrap();
    let project = twin_hydro::parse(&inp).unwrap();
    let got = inp_to_utility(&project, Path::new("demo.inp"), 1, &same).unwrap();
    assert!(
        got.features
            .iter()
            .all(|f| f.text("source") == Some("surveyed"))
    );
    let city = city_with(got.features, demo.crs);
    let a = DrainageNetwork::from_layer(demo.layer(Layer::Utility)).unwrap();
    let b = DrainageNetwork::from_layer(city.layer(Layer::Utility)).unwrap();
    assert_eq!(a.nodes.len(), b.nodes.len());
    assert_eq!(a.conduits.len(), b.conduits.len());
    assert_eq!(a.pumps.len(), b.pumps.len());
    assert_eq!(a.regulators.len(), b.regulators.len());
    assert_eq!(a.subcatchments.len(), b.subcatchments.len());
    let again = twin_io::swmm::city_to_inp(&city, &rain, 90.0).unwrap();
    let (sa, sb) = (sections(&inp), sections(&again));
    for (name, lines) in &sa {
        if name == "[TITLE]" {
            continue;
        }
        assert_eq!(Some(lines), sb.get(name), "{name} differs");
    }
    // Only what the layer does not hold is warned: the exporter's own rain gauge and series,
    // the default subareas and infiltration.
    let what: Vec<&str> = got.warnings.iter().map(|w| w.0.as_str()).collect();
    assert!(what.iter().any(|w| w.contains("[RAINGAGES]")), "{what:?}");
    assert!(what.iter().any(|w| w.contains("[SUBAREAS]")), "{what:?}");
    assert!(!what.iter().any(|w| w.contains("XSECTIONS")), "{what:?}");
}

fn example6() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../benches/swmm/models/example6_roadway_cd.inp"),
    )
    .unwrap()
}

#[test]
fn epa_example_6_in_us_units_lands_in_metres_with_what_is_not_modelled_named() {
    let text = example6();
    let project = twin_hydro::parse(&text).unwrap();
    let got = inp_to_utility(&project, Path::new("ex6.inp"), 100, &|x, y| {
        Ok((x * 0.3048, y * 0.3048))
    })
    .unwrap();
    let city = city_with(got.features.clone(), Crs::VN2000_UTM48N);
    let net = DrainageNetwork::from_layer(city.layer(Layer::Utility)).unwrap();
    let node = |n: &str| net.nodes.iter().find(|x| x.name == n).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-6 * b.abs().max(1.0);
    // 868 ft and 868 + 15 ft.
    assert!(close(node("Outlet").invert_m, 264.5664));
    assert!(close(node("Outlet").rim_m, 269.1384));
    match node("TailWater").kind {
        DrainNodeKind::Outfall { stage_m, flap_gate } => {
            assert!(close(stage_m.unwrap(), 261.9756));
            assert!(!flap_gate);
        }
        ref k => panic!("{k:?}"),
    }
    // The storage curve at half its 9 ft depth: 33,977 + ¼ (72,310 − 33,977) ft².
    match node("Inlet").kind {
        DrainNodeKind::Storage { area_m2 } => {
            assert!(close(area_m2, 43_560.25 * 0.3048 * 0.3048), "{area_m2}")
        }
        ref k => panic!("{k:?}"),
    }
    let culvert = net.conduits.iter().find(|c| c.name == "Culvert").unwrap();
    assert_eq!(culvert.shape, Shape::Circular { d: 3.0 * 0.3048 });
    assert!(close(culvert.length_m, 60.96));
    let channel = net.conduits.iter().find(|c| c.name == "Channel").unwrap();
    assert_eq!(
        channel.shape,
        Shape::Trapezoidal {
            h: 9.0 * 0.3048,
            w: 10.0 * 0.3048,
            z: 2.0
        }
    );
    let road = &net.regulators[0];
    assert_eq!(road.kind, "weir");
    assert!(close(road.height_m, 1.524));
    assert!(close(road.width_m, 60.96));
    // 3.33 ft^0.5/s is 1.838 m^0.5/s.
    assert!((road.discharge_coeff - 1.8385).abs() < 1e-3);
    assert!(close(node("Inlet").pos[0], 1628.472 * 0.3048));
    let warned = |what: &str, n: usize| {
        assert!(
            got.warnings.iter().any(|w| w.0.contains(what) && w.1 == n),
            "{what} × {n} not in {:?}",
            got.warnings
        )
    };
    warned("more than one barrel", 1);
    warned("ROADWAY", 1);
    warned("[INFLOWS]", 1);
    warned("[TIMESERIES]", 1);
}

#[test]
fn what_cannot_be_placed_or_held_is_refused_by_element() {
    let refused = |text: &str| {
        let project = twin_hydro::parse(text).unwrap();
        inp_to_utility(&project, Path::new("bad.inp"), 1, &same)
            .unwrap_err()
            .to_string()
    };
    // Example 6 with the storage unit's coordinates taken out.
    let text: String = example6()
        .lines()
        .filter(|l| !(l.starts_with("Inlet") && l.split_whitespace().count() == 3))
        .map(|l| format!("{l}\n"))
        .collect();
    let e = refused(&text);
    assert!(
        e.contains("bad.inp") && e.contains("[STORAGE] Inlet") && e.contains("COORDINATES"),
        "{e}"
    );
    let base =
        "[OPTIONS]\nFLOW_UNITS CMS\n\n[JUNCTIONS]\nA 10 2 0 0 0\n\n[OUTFALLS]\nB 9 FREE NO\n\n";
    let coords = "\n[COORDINATES]\nA 0 0\nB 100 0\n";
    let e = refused(&format!(
        "{base}[CONDUITS]\nC1 A B 100 0.013 0 0 0 0\n\n[XSECTIONS]\nC1 CUSTOM 2 SC1 0 0 1\n\n[CURVES]\nSC1 SHAPE 0 0.5\nSC1 1 0.5\n{coords}"
    ));
    assert!(e.contains("[XSECTIONS] C1") && e.contains("CUSTOM"), "{e}");
    let e = refused(&format!("{base}[PUMPS]\nP1 A B * ON 0 0\n{coords}"));
    assert!(e.contains("[PUMPS] P1") && e.contains("ideal pump"), "{e}");
    let e = refused(&format!(
        "{base}[CONDUITS]\nC1 A B 100 0.013 0 0 0 0\n{coords}"
    ));
    assert!(
        e.contains("[CONDUITS] C1") && e.contains("XSECTIONS"),
        "{e}"
    );
}
