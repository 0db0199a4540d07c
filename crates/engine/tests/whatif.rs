//! Interventions move results the right way: a raised road stays drier, pumps out of service
//! lift nothing (only gravity flow leaves) and leave the water in the network, doubled pumps
//! pump more.

use twin_engine::flood::{BuildingMode, FloodSpec};
use twin_engine::scenario_file::{PumpChange, RaiseRoad};
use twin_engine::storm::{Balance, Ground, StormResult, StormSpec};
use twin_engine::whatif::{find_roads, raise_roads, set_pumps};
use twin_model::City;

fn design_storm() -> Vec<(f64, f64)> {
    let text = include_str!("../../../scenarios/design-storm-100mm-2h.csv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("minute"))
        .map(|l| {
            let (m, i) = l.split_once(',').unwrap();
            (m.trim().parse().unwrap(), i.trim().parse().unwrap())
        })
        .collect()
}

fn city() -> City {
    twin_citygen::generate(&twin_citygen::DemoOptions {
        dem_cell_m: 30.0,
        ..Default::default()
    })
}

fn storm(city: &City, minutes: f64, network: Option<twin_hydro::Project>) -> StormResult {
    let spec = StormSpec {
        flood: FloodSpec {
            minutes,
            rain: design_storm(),
            ..Default::default()
        },
        buildings: BuildingMode::Roughness(0.1),
        network,
        gauges: Vec::new(),
        road_timeline: false,
        replay: false,
    };
    twin_engine::storm::run(Ground::City(city), &spec, &mut |_| {}).unwrap()
}

#[test]
fn a_raised_road_stays_drier_and_the_rest_of_the_city_floods_as_before() {
    let mut city = city();
    let before = storm(&city, 150.0, None);
    let impacts = before.impacts.clone().unwrap();
    // The deepest named road.
    let worst = impacts.iter().find(|r| r.name.is_some()).unwrap();
    let name = worst.name.clone().unwrap();
    let ids = find_roads(&city, &name, 1).unwrap();
    raise_roads(
        &mut city,
        &[RaiseRoad {
            road: name.clone(),
            by_m: 0.5,
            line: 1,
        }],
    )
    .unwrap();
    let after = storm(&city, 150.0, None);
    let depth = |r: &StormResult| {
        r.impacts
            .as_ref()
            .unwrap()
            .iter()
            .filter(|i| ids.contains(&i.feature))
            .map(|i| i.max_depth_m)
            .fold(0.0f64, f64::max)
    };
    assert!(
        depth(&after) < depth(&before) - 0.1,
        "{name}: {} m before, {} m after raising it 0.5 m",
        depth(&before),
        depth(&after)
    );
    assert!(find_roads(&city, "no such street", 7).unwrap_err().line == 7);
}

#[test]
fn pumps_out_lift_nothing_and_doubled_pumps_pump_more() {
    let city = city();
    let text = twin_io::swmm::city_to_inp_with(&city, &design_storm(), 150.0, false).unwrap();
    let base = twin_hydro::parse(&text).unwrap();
    let run = |capacity: f64| {
        let mut p = base.clone();
        set_pumps(
            &mut p,
            &[PumpChange {
                names: None,
                capacity,
                start_min: None,
                line: 1,
            }],
            360.0,
        )
        .unwrap();
        match storm(&city, 150.0, Some(p)).balance {
            Balance::Coupled { ledger, .. } => ledger,
            Balance::Surface(_) => unreachable!("coupled"),
        }
    };
    let (out, normal, doubled) = (run(0.0), run(1.0), run(2.0));
    eprintln!(
        "outfall m³: pumps out {:.0}, normal {:.0}, doubled {:.0}",
        out.network_outfall, normal.network_outfall, doubled.network_outfall
    );
    // With the pumps out only what leaves by gravity reaches the river.
    assert!(normal.network_outfall > 1000.0, "{normal:?}");
    assert!(
        out.network_outfall < 0.1 * normal.network_outfall,
        "{out:?}"
    );
    assert!(
        doubled.network_outfall > normal.network_outfall * 1.2,
        "{doubled:?}"
    );
    // What the pumps did not lift stays in the network and its lake.
    let unpumped = normal.network_outfall - out.network_outfall;
    assert!(out.network_final > normal.network_final + 0.5 * unpumped);
    for l in [&out, &normal, &doubled] {
        assert!(l.closure_error_percent().abs() < 0.1, "{l:?}");
    }
    // A pump that is not there is named.
    let mut p = base.clone();
    let e = set_pumps(
        &mut p,
        &[PumpChange {
            names: Some(vec!["NO_SUCH_PUMP".into()]),
            capacity: 0.5,
            start_min: None,
            line: 12,
        }],
        360.0,
    )
    .unwrap_err();
    assert_eq!(e.line, 12);
    assert!(e.message.contains("NO_SUCH_PUMP"), "{e}");
}

#[test]
fn pumps_starting_late_and_a_high_river_leave_more_water_in_the_city() {
    use twin_engine::scenario_file::RiverStage;
    use twin_engine::whatif::set_river;
    let city = city();
    let text = twin_io::swmm::city_to_inp_with(&city, &design_storm(), 150.0, false).unwrap();
    let base = twin_hydro::parse(&text).unwrap();
    let ledger = |p: twin_hydro::Project| match storm(&city, 150.0, Some(p)).balance {
        Balance::Coupled { ledger, .. } => ledger,
        Balance::Surface(_) => unreachable!("coupled"),
    };
    let normal = ledger(base.clone());
    // Pumps from 08:00 on, the rain having started at 06:00.
    let mut late = base.clone();
    set_pumps(
        &mut late,
        &[PumpChange {
            names: None,
            capacity: 1.0,
            start_min: Some(480.0),
            line: 3,
        }],
        360.0,
    )
    .unwrap();
    assert!(
        late.controls
            .iter()
            .any(|l| l.contains("SIMULATION TIME < 2.000000"))
    );
    let late = ledger(late);
    // The river three metres over the highest outfall from the start.
    let top = base
        .outfalls
        .iter()
        .map(|o| o.invert)
        .fold(f64::MIN, f64::max);
    let mut high = base.clone();
    set_river(
        &mut high,
        &RiverStage {
            stage: vec![(360.0, top + 3.0)],
            outfalls: None,
            line: 5,
        },
        360.0,
    )
    .unwrap();
    let high = ledger(high);
    eprintln!(
        "to the river m³: normal {:.0}, pumps from 08:00 {:.0}, high river {:.0}; left in the network and on the surface: {:.0}, {:.0}, {:.0}",
        normal.network_outfall,
        late.network_outfall,
        high.network_outfall,
        normal.network_final + normal.surface.storage,
        late.network_final + late.surface.storage,
        high.network_final + high.surface.storage
    );
    for (name, l) in [("late", &late), ("high river", &high)] {
        assert!(
            l.network_outfall < normal.network_outfall - 100.0,
            "{name}: {l:?}"
        );
        assert!(
            l.network_final + l.surface.storage
                > normal.network_final + normal.surface.storage + 100.0,
            "{name}: {l:?}"
        );
        assert!(l.closure_error_percent().abs() < 0.1, "{name}: {l:?}");
    }
    // An outfall that is not there is named.
    let mut p = base.clone();
    let e = set_river(
        &mut p,
        &RiverStage {
            stage: vec![(360.0, 9.0)],
            outfalls: Some(vec!["NO_SUCH_OUTFALL".into()]),
            line: 9,
        },
        360.0,
    )
    .unwrap_err();
    assert_eq!(e.line, 9);
    assert!(e.message.contains("NO_SUCH_OUTFALL"), "{e}");
}
