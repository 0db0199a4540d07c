//! Interventions move results the right way: a raised road stays drier, pumps out of service
//! lift nothing (only gravity flow leaves) and leave the water in the network, doubled pumps
//! pump more.

use twin_engine::flood::{BuildingMode, FloodSpec};
use twin_engine::scenario_file::{PumpChange, RaiseRoad};
use twin_engine::storm::{Balance, Ground, StormResult, StormSpec};
use twin_engine::whatif::{find_roads, raise_roads, set_pumps};
use twin_model::City;

mod common;
use common::{city, design_storm};

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
        frames_every_s: None,
        replay: false,
    };
    twin_engine::storm::run(Ground::City(city), &spec, &mut |_| {}).unwrap()
}

/// The city's drainage network for a coupled 150-minute run of the design storm.
fn network(city: &City) -> twin_hydro::Project {
    let text = twin_io::swmm::city_to_inp_with(city, &design_storm(), 150.0, false).unwrap();
    twin_hydro::parse(&text).unwrap()
}

/// The system ledger of the design storm on the city coupled to `p`.
fn coupled_ledger(city: &City, p: twin_hydro::Project) -> twin_engine::coupled::CoupledLedger {
    match storm(city, 150.0, Some(p)).balance {
        Balance::Coupled { ledger, .. } => ledger,
        Balance::Surface(_) => unreachable!("coupled"),
    }
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
    let base = network(&city);
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
        coupled_ledger(&city, p)
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
    let base = network(&city);
    let ledger = |p: twin_hydro::Project| coupled_ledger(&city, p);
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

#[test]
fn tanks_and_bigger_pipes_take_water_off_the_streets() {
    use twin_engine::scenario_file::{PipeChange, Tank};
    use twin_engine::whatif::{add_tanks, change_pipes};
    let city = city();
    // The network with its subcatchments (SWMM's own model of the storm): flooding per node.
    let text = twin_io::swmm::city_to_inp_with(&city, &design_storm(), 150.0, true).unwrap();
    let with_sc = twin_hydro::parse(&text).unwrap();
    // The summary and the flooded volume at each node by name.
    let route = |p: &twin_hydro::Project| {
        let mut e = twin_hydro::Engine::new(p).unwrap();
        let s = twin_hydro::results::run(&mut e, &mut || 0.0).1;
        let by_name: Vec<(String, f64)> = e
            .nodes
            .name
            .iter()
            .cloned()
            .zip(s.nodes.iter().map(|n| n.flood_volume))
            .collect();
        (s, by_name)
    };
    let (before, flood_at) = route(&with_sc);
    let mut flooded: Vec<(f64, String)> = flood_at.iter().map(|(n, v)| (*v, n.clone())).collect();
    flooded.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Tanks of 5,000 m³ on the ten manholes that flood most.
    let tanks: Vec<Tank> = flooded
        .iter()
        .take(10)
        .map(|(_, name)| Tank {
            node: name.clone(),
            volume_m3: 5000.0,
            depth_m: 3.0,
            inlet_m: 1.0,
            line: 2,
        })
        .collect();
    let enlarge = [PipeChange::Enlarge {
        names: None,
        scale: 1.5,
        line: 3,
    }];
    let mut p = with_sc.clone();
    add_tanks(&mut p, &tanks).unwrap();
    assert_eq!(p.storage.len(), with_sc.storage.len() + 10);
    // benches/swmm/whatif.sh runs this model in EPA SWMM.
    if let Some(f) = std::env::var_os("TWIN_WHATIF_INP") {
        std::fs::write(f, twin_hydro::write(&p)).unwrap();
    }
    let (tanked, tanked_at) = route(&p);
    let mut p = with_sc.clone();
    change_pipes(&mut p, &enlarge).unwrap();
    let (bigger, _) = route(&p);
    let at_tanks = |at: &[(String, f64)]| -> f64 {
        at.iter()
            .filter(|(n, _)| tanks.iter().any(|t| &t.node == n))
            .map(|(_, v)| v)
            .sum()
    };
    eprintln!(
        "flooding m³: {:.0} ({:.0} at the ten manholes), with tanks {:.0} ({:.0}), pipes ×1.5 {:.0}",
        before.flooding_volume_m3,
        at_tanks(&flood_at),
        tanked.flooding_volume_m3,
        at_tanks(&tanked_at),
        bigger.flooding_volume_m3
    );
    assert!(at_tanks(&tanked_at) < 0.5 * at_tanks(&flood_at));
    assert!(tanked.flooding_volume_m3 < before.flooding_volume_m3);
    assert!(bigger.flooding_volume_m3 < before.flooding_volume_m3);
    for s in [&before, &tanked, &bigger] {
        assert!(s.routing_continuity_error_pct.abs() < 1.0, "{s:?}");
    }

    // Coupled to the surface, every cubic metre stays booked with the tanks and the bigger
    // pipes, and bigger pipes take more water off the streets.
    let base = network(&city);
    let ledger = |p: twin_hydro::Project| coupled_ledger(&city, p);
    let normal = ledger(base.clone());
    let mut p = base.clone();
    add_tanks(&mut p, &tanks).unwrap();
    let tanked = ledger(p);
    let mut p = base.clone();
    change_pipes(&mut p, &enlarge).unwrap();
    let bigger = ledger(p);
    eprintln!(
        "coupled: into the network m³ {:.0}, with tanks {:.0}, pipes ×1.5 {:.0}",
        normal.network_inflow, tanked.network_inflow, bigger.network_inflow
    );
    assert!(bigger.network_inflow > normal.network_inflow, "{bigger:?}");
    for l in [&normal, &tanked, &bigger] {
        assert!(l.closure_error_percent().abs() < 0.1, "{l:?}");
    }
    // A pipe laid between two nodes; an unknown node is named with the nearest.
    let mut p = base.clone();
    let (a, b) = (
        base.junctions[0].name.clone(),
        base.junctions[1].name.clone(),
    );
    change_pipes(
        &mut p,
        &[PipeChange::Add {
            from: a.clone(),
            to: b,
            diameter_m: 0.8,
            length_m: None,
            roughness: 0.013,
            line: 4,
        }],
    )
    .unwrap();
    let laid = p.conduits.last().unwrap();
    assert!(laid.length >= 1.0 && laid.name == "TWIN_PIPE_1", "{laid:?}");
    let e = add_tanks(
        &mut p,
        &[Tank {
            node: format!("{a}X"),
            volume_m3: 1.0,
            depth_m: 1.0,
            inlet_m: 1.0,
            line: 9,
        }],
    )
    .unwrap_err();
    assert_eq!(e.line, 9);
    assert!(e.message.contains(&format!("nearest: {a}")), "{e}");
}

#[test]
fn a_retention_lake_dug_where_the_water_gathers_lowers_the_flood_around_it() {
    use twin_engine::scenario_file::Lake;
    let mut city = city();
    let before = storm(&city, 150.0, None);
    let d = &before.rasters.max_depth;
    // The deepest street water away from the lakes and the river (under 1.5 m, which only
    // the lakes and the river hold).
    let (mut best, mut at) = (0.0f32, 0usize);
    for (i, v) in d.data.iter().enumerate() {
        if !d.is_nodata(*v) && *v < 1.5 && *v > best {
            best = *v;
            at = i;
        }
    }
    assert!(best > 0.3, "{best}");
    let p = d.cell_center(at % d.nx, at / d.nx);
    let dug = twin_engine::whatif::dig_lakes(
        &mut city,
        &[Lake {
            at: p,
            volume_m3: 30_000.0,
            depth_m: 2.0,
            line: 1,
        }],
    )
    .unwrap();
    // 15,000 m² at 30 m cells: about 17 cells dug to hold exactly 30,000 m³.
    let (n, depth) = dug[0];
    assert!(
        (n as f64 * 900.0 * depth - 30_000.0).abs() < 1e-6,
        "{dug:?}"
    );
    assert!((12..=22).contains(&n), "{n}");
    let after = storm(&city, 150.0, None);
    // Around the lake (60–300 m from its centre) the deepest water falls.
    let ring = |r: &StormResult| {
        let m = &r.rasters.max_depth;
        let mut deepest = 0.0f64;
        for row in 0..m.ny {
            for col in 0..m.nx {
                let c = m.cell_center(col, row);
                let dist = (c[0] - p[0]).hypot(c[1] - p[1]);
                let v = m.get(col, row);
                if (100.0..300.0).contains(&dist) && !m.is_nodata(v) && v < 1.5 {
                    deepest = deepest.max(v as f64);
                }
            }
        }
        deepest
    };
    assert!(
        ring(&after) < ring(&before) - 0.02,
        "{} m before, {} m after",
        ring(&before),
        ring(&after)
    );
    // A point off the grid is refused with the line.
    let e = twin_engine::whatif::dig_lakes(
        &mut city,
        &[Lake {
            at: [0.0, 0.0],
            volume_m3: 1.0,
            depth_m: 1.0,
            line: 9,
        }],
    )
    .unwrap_err();
    assert_eq!(e.line, 9);
    assert!(e.message.contains("off the city's DEM"), "{}", e.message);
}

#[test]
fn a_gate_opened_passes_water_only_while_open_and_shut_gates_pass_none() {
    use twin_engine::scenario_file::GateChange;
    use twin_engine::whatif::set_gates;
    let city = city();
    let text = twin_io::swmm::city_to_inp_with(&city, &design_storm(), 150.0, true).unwrap();
    let base = twin_hydro::parse(&text).unwrap();
    assert_eq!(base.orifices.len(), 1);
    let gate = base.orifices[0].name.clone();
    // Flow through the gate at each reporting time.
    let flows = |p: &twin_hydro::Project| {
        let mut e = twin_hydro::Engine::new(p).unwrap();
        let (rep, s) = twin_hydro::results::run(&mut e, &mut || 0.0);
        let k = rep.link_names.iter().position(|n| *n == gate).unwrap();
        let nl = rep.link_names.len();
        let q: Vec<(f64, f64)> = rep
            .times
            .iter()
            .enumerate()
            .map(|(t, h)| (*h, rep.link_flow[t * nl + k]))
            .collect();
        (q, s)
    };
    let (shut, s0) = flows(&base);
    assert!(
        shut.iter().all(|(_, q)| q.abs() < 1e-9),
        "the city's gate is shut"
    );
    // Opened fully 06:30–07:30 (the rain starts at 06:00).
    let mut p = base.clone();
    set_gates(
        &mut p,
        &[GateChange {
            names: Some(vec![gate.to_lowercase()]),
            open: 1.0,
            from_min: Some(390.0),
            to_min: Some(450.0),
            line: 4,
        }],
        360.0,
    )
    .unwrap();
    let (open, s1) = flows(&p);
    let moved: f64 = open.iter().map(|(_, q)| q.abs()).sum();
    eprintln!(
        "gate {gate}: flow sum {moved:.3}; flooding {:.0} → {:.0} m³, outflow {:.0} → {:.0} m³",
        s0.flooding_volume_m3, s1.flooding_volume_m3, s0.outflow_volume_m3, s1.outflow_volume_m3
    );
    assert!(moved > 0.1, "{moved}");
    // Nothing passes outside the hour, 1,800–5,400 s after the rain's start (a minute's
    // grace at each end), and something within it.
    for (t, q) in &open {
        if *t < 1800.0 - 60.0 || *t > 5400.0 + 60.0 {
            assert!(q.abs() < 1e-6, "{q} m³/s at {t} s");
        }
    }
    assert!(
        open.iter()
            .any(|(t, q)| (1800.0..5400.0).contains(t) && q.abs() > 0.01)
    );
    assert!(s1.routing_continuity_error_pct.abs() < 1.0, "{s1:?}");
    // An unknown gate is named with the gates the network has.
    let e = set_gates(
        &mut base.clone(),
        &[GateChange {
            names: Some(vec!["G9".into()]),
            open: 0.5,
            from_min: None,
            to_min: None,
            line: 7,
        }],
        360.0,
    )
    .unwrap_err();
    assert_eq!(e.line, 7);
    assert!(e.message.contains("no gate named 'G9'"), "{}", e.message);
}
