//! Hot start: a coupled storm and the morning-peak traffic stopped part-way, saved as a
//! checkpoint, restored and run on give the results of the runs that never stopped, bit for
//! bit; a damaged checkpoint is refused with its reason.

use twin_engine::coupled::{CoupledResult, CoupledState};
use twin_engine::flood::{BuildingMode, FloodSpec};
use twin_engine::hotstart::{self, CheckpointError};
use twin_model::City;
use twin_surface::Simulation;

mod common;
use common::{city, design_storm};

const MINUTES: f64 = 90.0;

fn spec() -> FloodSpec {
    FloodSpec {
        minutes: MINUTES,
        rain: design_storm(),
        ..Default::default()
    }
}

fn start(city: &City) -> (CoupledState<Simulation>, twin_engine::flood::SurfaceSetup) {
    let dem = city.dem.as_ref().unwrap();
    let mut setup =
        twin_engine::flood::city_setup(city, dem, &spec(), BuildingMode::Roughness(0.1));
    setup.frames_every_s = Some(600.0);
    let text = twin_io::swmm::city_to_inp_with(city, &design_storm(), MINUTES, false).unwrap();
    let project = twin_hydro::parse(&text).unwrap();
    let state = twin_engine::coupled::start_cpu(dem, &setup, &spec(), project).unwrap();
    (state, setup)
}

/// Every figure of a coupled result as exact bits.
fn fingerprint(r: &CoupledResult) -> Vec<u64> {
    let mut v: Vec<u64> = Vec::new();
    for raster in [
        &r.rasters.max_depth,
        &r.rasters.time_of_max_min,
        &r.rasters.duration_above_min,
        &r.rasters.max_hazard,
    ] {
        v.extend(raster.data.iter().map(|x| u64::from(x.to_bits())));
    }
    let l = &r.ledger;
    for x in [
        l.surface.rain,
        l.surface.infiltration,
        l.surface.storage,
        l.surface.boundary_out_total(),
        l.network_inflow,
        l.network_overflow,
        l.network_outfall,
        l.network_final,
        l.in_transit,
        l.network_continuity_pct,
    ] {
        v.push(x.to_bits());
    }
    for g in &r.gauges {
        v.extend(g.depths_m.iter().map(|x| x.to_bits()));
    }
    for f in &r.frames {
        v.extend(f.depth_m.iter().map(|x| u64::from(x.to_bits())));
    }
    for (_, q) in &r.pump_minutes {
        v.extend(q.iter().map(|x| x.to_bits()));
    }
    v.push(r.network_steps);
    v.push(r.surface_steps);
    v
}

#[test]
fn a_coupled_storm_restored_from_a_checkpoint_ends_as_the_run_that_never_stopped() {
    let city = city();
    let dem = city.dem.as_ref().unwrap();
    let (mut whole, setup) = start(&city);
    whole.advance(whole.end(), &mut |_| {}).unwrap();
    let whole = whole.finish(dem, &setup).unwrap();
    assert!(whole.ledger.network_inflow > 1000.0, "{:?}", whole.ledger);
    assert!(whole.ledger.closure_error_percent().abs() < 0.1);

    // Stopped at 40 minutes, in the storm's rise; saved, dropped, restored, run on.
    let (mut first, _) = start(&city);
    first.advance(40.0 * 60.0, &mut |_| {}).unwrap();
    let stopped_at = first.time();
    assert!((2400.0..2460.0).contains(&stopped_at), "{stopped_at}");
    let bytes = hotstart::save_coupled(&first);
    drop(first);
    let mut second = hotstart::load_coupled(&bytes).unwrap();
    assert_eq!(second.time(), stopped_at);
    second.advance(second.end(), &mut |_| {}).unwrap();
    let resumed = second.finish(dem, &setup).unwrap();
    assert_eq!(fingerprint(&resumed), fingerprint(&whole));
    // And it is the run the storm command makes.
    let project = twin_hydro::parse(
        &twin_io::swmm::city_to_inp_with(&city, &design_storm(), MINUTES, false).unwrap(),
    )
    .unwrap();
    let run = twin_engine::coupled::run(dem, &setup, &spec(), project, &mut |_| {}).unwrap();
    assert_eq!(fingerprint(&run), fingerprint(&whole));
    println!(
        "hot start: checkpoint at {:.1} min of {MINUTES} min: {} bytes; {} network steps",
        stopped_at / 60.0,
        bytes.len(),
        whole.network_steps
    );

    // Damaged checkpoints are refused, each with its reason.
    let mut flipped = bytes.clone();
    let k = flipped.len() / 2;
    flipped[k] ^= 0x10;
    assert_eq!(
        hotstart::load_coupled(&flipped).unwrap_err(),
        CheckpointError::Checksum
    );
    let cut = &bytes[..bytes.len() - 100];
    assert!(matches!(
        hotstart::load_coupled(cut).unwrap_err(),
        CheckpointError::Length { .. }
    ));
    assert_eq!(
        hotstart::load_coupled(b"{\"sensor\": 1}").unwrap_err(),
        CheckpointError::NotACheckpoint
    );
    let mut newer = bytes.clone();
    newer[8] = 99;
    assert_eq!(
        hotstart::load_coupled(&newer).unwrap_err(),
        CheckpointError::Version { found: 99 }
    );
    let e = hotstart::load_traffic(&bytes).unwrap_err();
    assert!(e.to_string().contains("holds a coupled storm"), "{e}");
}

#[test]
fn the_traffic_restored_from_a_checkpoint_ends_as_the_run_that_never_stopped() {
    use twin_traffic::city_demand::{PeakConfig, morning_peak_with_signal_plans};
    use twin_traffic::network::Network;
    use twin_traffic::sim::{SimConfig, Simulation};
    let city = city();
    let g = twin_model::RoadGraph::from_layer(city.layer(twin_model::Layer::TrafficRoad));
    let mut net = Network::from_road_graph(&g).unwrap();
    let peak = PeakConfig {
        trips: 20_000,
        ..PeakConfig::default()
    };
    let demand = morning_peak_with_signal_plans(&city, &mut net, &peak, 1).demand;
    let cfg = SimConfig {
        reroute_period: 120.0,
        reroute_fraction: 0.5,
        fcd_interval: 300.0,
        ..SimConfig::default()
    };
    let end = 3.0 * 3600.0;
    let mut whole = Simulation::new(net.clone(), demand.clone(), cfg.clone());
    whole.run(Some(end));
    let mut first = Simulation::new(net, demand, cfg);
    first.advance_to(3600.0 + 17.0);
    let on_roads = first.vehicles_running();
    assert!(
        on_roads > 500,
        "{on_roads} vehicles on the roads at the checkpoint"
    );
    let bytes = hotstart::save_traffic(&first);
    drop(first);
    let mut second = hotstart::load_traffic(&bytes).unwrap();
    second.run(Some(end));
    assert_eq!(second.trip_results(), whole.trip_results());
    // Statistics of links no vehicle left hold NaN times: compared as printed, where NaN
    // equals NaN and every other value prints its exact bits' shortest form.
    let (a, b) = (second.link_stats(), whole.link_stats());
    assert_eq!(a.len(), b.len());
    if let Some(k) = (0..a.len()).find(|&k| format!("{:?}", a[k]) != format!("{:?}", b[k])) {
        panic!("link statistics differ at {k}: {:?} vs {:?}", a[k], b[k]);
    }
    assert_eq!(second.counters(), whole.counters());
    assert_eq!(second.trajectories(), whole.trajectories());
    println!(
        "hot start: traffic checkpoint with {on_roads} vehicles on the roads: {} bytes",
        bytes.len()
    );
}
