//! The drainage network as SWMM input: every element lands in its section.

use twin_model::{DrainageNetwork, Layer};

#[test]
fn demo_city_network_exports_to_inp_sections() {
    let city = twin_citygen::generate(&Default::default());
    let net = DrainageNetwork::from_layer(city.layer(Layer::Utility)).unwrap();
    let rain = vec![(0.0, 20.0), (10.0, 80.0), (20.0, 0.0)];
    let inp = twin_io::swmm::city_to_inp(&city, &rain, 90.0).unwrap();
    let section = |name: &str| -> Vec<&str> {
        let start = inp
            .find(&format!("[{name}]"))
            .unwrap_or_else(|| panic!("no [{name}]"));
        inp[start..]
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with('['))
            .filter(|l| !l.trim().is_empty() && !l.starts_with(";;"))
            .collect()
    };
    let junctions = net
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, twin_model::drainage::DrainNodeKind::Junction))
        .count();
    assert_eq!(section("JUNCTIONS").len(), junctions);
    assert_eq!(section("OUTFALLS").len(), 1);
    assert_eq!(section("STORAGE").len(), 1);
    assert_eq!(section("CONDUITS").len(), net.conduits.len());
    assert_eq!(section("PUMPS").len(), 4);
    assert_eq!(section("ORIFICES").len(), 1);
    assert_eq!(section("XSECTIONS").len(), net.conduits.len() + 1);
    assert_eq!(section("SUBCATCHMENTS").len(), net.subcatchments.len());
    assert_eq!(section("CURVES").len(), 8);
    assert_eq!(
        section("TIMESERIES"),
        vec!["rain 0:00 20.000", "rain 0:10 80.000", "rain 0:20 0.000"]
    );
    assert!(
        inp.contains("END_TIME 01:30:00") && inp.contains("RG1 INTENSITY 0:10"),
        "{}",
        &inp[..600]
    );
    // SWMM accepts an outfall with exactly one link: only the dike culvert reaches it.
    let outfall = section("OUTFALLS")[0]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let links_to_outfall = inp
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some(outfall.as_str()))
        .count();
    assert_eq!(links_to_outfall, 1);
    // The closed sluice gate is held shut by a rule.
    assert!(inp.contains("THEN ORIFICE CP1 SETTING = 0"));
}
