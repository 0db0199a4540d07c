//! The live loop on the demo district (30 m cells) fed from a sensor store: a pump its sensor
//! reports stopped stops in the model (and is alerted if the model had it pumping), and a loop
//! restarted from the checkpoint in its store goes on exactly as the loop that never stopped.

mod common;
use common::{city, design_storm};
use twin_engine::live::{LiveTwin, Nudging};
use twin_engine::live_loop::{AlertKind, Closed, LiveConfig, LiveLoop};
use twin_sensors::ingest::Pipeline;
use twin_sensors::qc::{Clock, NoModel, Qc, QcConfig};
use twin_sensors::{Kind, Registry, Store, reading};

/// 2025-09-30T06:00:00+07:00.
const START_MS: i64 = 1_759_186_800_000;

fn network(city: &twin_model::City, minutes: f64) -> twin_hydro::Project {
    let text = twin_io::swmm::city_to_inp_with(city, &design_storm(), minutes, false).unwrap();
    twin_hydro::parse(&text).unwrap()
}

/// Readings for the first 150 minutes: the rain gauges read the design storm × 2 every 5
/// minutes; every pump state sensor reads 1 each minute, but `stopped` reads 0 from minute 105.
fn messages(reg: &Registry, stopped: Option<&str>) -> Vec<(String, Vec<u8>)> {
    let storm = design_storm();
    let mut out = Vec::new();
    for m in 1..=150 {
        let time = reading::format_time(START_MS + m * 60_000, 7 * 3600);
        for s in reg.sensors() {
            let v = match s.kind {
                Kind::RainGauge if m % 5 == 0 => {
                    let at = (m - 5) as f64 + 2.5;
                    2.0 * storm
                        .iter()
                        .rev()
                        .find(|(t, _)| *t <= at)
                        .map_or(0.0, |(_, i)| *i)
                }
                Kind::PumpState => {
                    if stopped == Some(s.id.as_str()) && m >= 105 {
                        0.0
                    } else {
                        1.0
                    }
                }
                _ => continue,
            };
            out.push((
                format!("m{m}"),
                reading::to_json(&s.id, &time, v, &s.unit, None).into_bytes(),
            ));
        }
    }
    out
}

/// A store holding the readings, and a loop at 06:00 on it.
fn setup(
    city: &twin_model::City,
    reg: &Registry,
    dir: &std::path::Path,
    name: &str,
    stopped: Option<&str>,
) -> (Store, LiveLoop) {
    let mut p = Pipeline::new(
        Qc::new(
            reg,
            QcConfig {
                clock: Clock::Data,
                ..QcConfig::default()
            },
        ),
        Some(Store::open(&dir.join(name)).unwrap()),
        1 << 20,
    );
    let out = p.process(&messages(reg, stopped), &NoModel, true).unwrap();
    assert_eq!(
        out.accepted(),
        out.decisions.len(),
        "every reading accepted"
    );
    let twin = LiveTwin::start(
        city,
        network(city, 160.0),
        160.0,
        vec![],
        Nudging::default(),
    )
    .unwrap();
    let cfg = LiveConfig {
        forecast_every_s: 900.0,
        horizon_s: 1800.0,
        ..LiveConfig::default()
    };
    (p.store.take().unwrap(), LiveLoop::new(twin, cfg, START_MS))
}

fn close(l: &mut LiveLoop, city: &twin_model::City, reg: &Registry, store: &mut Store) -> Closed {
    l.close_period(city, reg, store, &[]).unwrap()
}

#[test]
fn a_pump_reported_stopped_stops_and_a_restarted_loop_goes_on_as_if_it_never_stopped() {
    let city = city();
    let reg = Registry::from_city(&city).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let link_of = |s: &twin_sensors::Sensor| {
        let key = s.feature.unwrap();
        city.layer(key.layer)
            .get(key.id)
            .unwrap()
            .name
            .clone()
            .unwrap()
    };
    let pumps: Vec<_> = reg
        .sensors()
        .iter()
        .filter(|s| s.kind == Kind::PumpState)
        .collect();
    // Every pump reported running: which one the storm runs by minute 20.
    let (mut s_run, mut running) = setup(&city, &reg, dir.path(), "a.sqlite", None);
    let mut at_100 = Vec::new();
    let mut now_100 = None;
    for k in 0..30 {
        let c = close(&mut running, &city, &reg, &mut s_run);
        if k == 19 {
            at_100 = pumps
                .iter()
                .map(|s| running.twin().link_flow(&link_of(s)).unwrap())
                .collect();
            now_100 = Some(c.period.now);
        }
    }
    println!("pump flows at minute 100: {at_100:?}");
    // The period's state as the wall shows it: the pumps running, the deepest water and every
    // watched place's water now.
    let now = now_100.unwrap();
    assert_eq!(now.pumps_total, pumps.len());
    assert_eq!(
        now.pumps_running,
        at_100.iter().filter(|q| q.abs() > 1e-4).count()
    );
    assert!(now.pumps_running >= 1);
    assert_eq!(now.places.len(), running.twin().gauges().len());
    assert!(now.places.iter().all(|p| p.depth_m >= 0.0));
    assert!(
        now.max_depth_m + 1e-6 >= now.places.iter().map(|p| p.depth_m).fold(0.0, f64::max),
        "{now:?}"
    );
    println!(
        "state at minute 100: max depth {:.3} m, {} roads closed, pumps {}/{}",
        now.max_depth_m,
        now.roads_closed.len(),
        now.pumps_running,
        now.pumps_total
    );
    let k = at_100
        .iter()
        .position(|q| *q > 0.01)
        .expect("the storm runs a pump by minute 100");
    let (pump, link, flow_at_stop) = (pumps[k].clone(), link_of(pumps[k]), at_100[k]);
    let (mut s_stop, mut stopped) = setup(&city, &reg, dir.path(), "b.sqlite", Some(&pump.id));
    let (mut s_again, mut again) = setup(&city, &reg, dir.path(), "c.sqlite", Some(&pump.id));
    let mut alerts = Vec::new();
    for k in 0..30 {
        alerts.extend(close(&mut stopped, &city, &reg, &mut s_stop).alerts);
        close(&mut again, &city, &reg, &mut s_again);
        if k == 11 {
            // Killed after its twelfth period: restarted from the checkpoint in its store.
            let (t, bytes) = s_again.checkpoint().unwrap().unwrap();
            assert_eq!(t, 3600.0);
            again = twin_engine::hotstart::load_live_loop(&bytes).unwrap();
        }
    }
    let q_run = running.twin().link_flow(&link).unwrap();
    let q_stop = stopped.twin().link_flow(&link).unwrap();
    println!(
        "pump {link}: {flow_at_stop:.3} m³/s at 100 min, reported stopped from 105; at 150 min {q_run:.3} m³/s running, {q_stop:.3} m³/s held off"
    );
    assert!(q_run > 0.01);
    assert_eq!(q_stop, 0.0);
    let pump_alerts: Vec<_> = alerts
        .iter()
        .filter(|a| a.kind == AlertKind::PumpStopped)
        .collect();
    assert_eq!(pump_alerts.len(), 1, "{alerts:?}");
    assert_eq!(pump_alerts[0].place, link);

    // The restarted loop: the same state and the same records as the one that never stopped.
    assert_eq!(
        again
            .twin()
            .gauge_depths()
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>(),
        stopped
            .twin()
            .gauge_depths()
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    );
    let strip = |s: &Store, kind: &str| -> Vec<serde_json::Value> {
        s.events(kind)
            .unwrap()
            .into_iter()
            .map(|(_, j)| {
                let mut v: serde_json::Value = serde_json::from_str(&j).unwrap();
                v.as_object_mut().unwrap().remove("wall_s");
                v.as_object_mut().unwrap().remove("apply_wall_s");
                v
            })
            .collect()
    };
    for kind in ["period", "forecast", "alert"] {
        assert_eq!(strip(&s_again, kind), strip(&s_stop, kind), "{kind}");
    }
    assert_eq!(strip(&s_stop, "period").len(), 30);
    assert_eq!(strip(&s_stop, "forecast").len(), 10);
}

#[test]
fn a_wet_well_read_above_the_model_is_drawn_to_its_reading_with_the_water_booked() {
    let city = city();
    let reg = Registry::from_city(&city).unwrap();
    let well = reg
        .sensors()
        .iter()
        .find(|s| s.kind == Kind::WaterLevel && s.site == twin_sensors::Site::Manhole)
        .expect("the demo district's wet well has a level sensor");
    let node = city
        .layer(well.feature.unwrap().layer)
        .get(well.feature.unwrap().id)
        .unwrap()
        .text("drainage_node")
        .unwrap()
        .to_string();
    // Dry weather, every pump reported stopped; the wet well reads 1 m above its normal level
    // (a centimetre of ripple, so that it is not a flat line).
    let target = well.normal + 1.0;
    let mut msgs = Vec::new();
    for m in 1..=40i64 {
        let time = reading::format_time(START_MS + m * 60_000, 7 * 3600);
        for s in reg.sensors() {
            let v = match s.kind {
                Kind::PumpState => 0.0,
                _ if s.id == well.id => target + 0.01 * (m % 2) as f64,
                _ => continue,
            };
            msgs.push((
                format!("m{m}"),
                reading::to_json(&s.id, &time, v, &s.unit, None).into_bytes(),
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pipeline::new(
        Qc::new(
            &reg,
            QcConfig {
                clock: Clock::Data,
                ..QcConfig::default()
            },
        ),
        Some(Store::open(&dir.path().join("s.sqlite")).unwrap()),
        1 << 20,
    );
    let out = p.process(&msgs, &NoModel, true).unwrap();
    assert_eq!(
        out.accepted(),
        out.decisions.len(),
        "every reading accepted"
    );
    let mut store = p.store.take().unwrap();
    let twin = LiveTwin::start(
        &city,
        network(&city, 60.0),
        60.0,
        vec![],
        Nudging::default(),
    )
    .unwrap();
    let level0 = twin.node_level(&node).unwrap();
    assert!(
        target - level0 > 0.9,
        "model {level0} m, reading {target} m"
    );
    let cfg = LiveConfig {
        forecast_every_s: 3600.0,
        horizon_s: 600.0,
        ..LiveConfig::default()
    };
    let mut l = LiveLoop::new(twin, cfg, START_MS);
    let first = close(&mut l, &city, &reg, &mut store);
    assert_eq!(first.period.node_sensors, 1);
    assert!(
        (first.period.node_rms_m - (target + 0.01 - level0)).abs() < 0.05,
        "innovation {} m",
        first.period.node_rms_m
    );
    let mut added = 0.0;
    for _ in 0..5 {
        added += close(&mut l, &city, &reg, &mut store).period.assimilated_m3;
    }
    let level = l.twin().node_level(&node).unwrap();
    assert!(
        (level - target).abs() < 0.05,
        "wet well at {level} m after 30 min, reading {target} m"
    );
    // The water that raised it is booked in the periods and the ledger: the storage's own
    // rise (its surface area × the rise) and a little that backed up into its sewers.
    let ledger = l.twin().state().network_assimilated_m3();
    assert!(
        (added - ledger).abs() < 1e-6 * ledger.abs().max(1.0),
        "{added} vs {ledger}"
    );
    let net = l.twin().state().network();
    let area = net.node_surface_area_si(net.node_index(&node).unwrap());
    let own = area * (level - level0);
    assert!(
        ledger > own && ledger < 1.05 * own,
        "{ledger} m³ added, {own} m³ in the storage's rise"
    );
    println!("wet well {level0:.3} → {level:.3} m (reading {target:.3}); {ledger:.1} m³ added");
}

#[test]
fn an_ensemble_brackets_the_forecast_and_alerts_by_the_share_of_its_members() {
    let city = city();
    let reg = Registry::from_city(&city).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut store_a, mut single) = setup(&city, &reg, dir.path(), "a.sqlite", None);
    let (mut store_b, ens) = setup(&city, &reg, dir.path(), "b.sqlite", None);
    let cfg = LiveConfig {
        members: 4,
        rain_spread: (0.5, 1.5),
        alert_probability: 0.5,
        ..ens.config().clone()
    };
    let mut ens = LiveLoop::new(ens.twin().clone(), cfg, START_MS);
    let mut forecasts = 0;
    let mut split = 0;
    for _ in 0..18 {
        let a = close(&mut single, &city, &reg, &mut store_a);
        let b = close(&mut ens, &city, &reg, &mut store_b);
        let (Some(fa), Some(fb)) = (a.forecast, b.forecast) else {
            continue;
        };
        forecasts += 1;
        assert_eq!((fa.members, fb.members), (0, 4));
        for (pa, pb) in fa.places.iter().zip(&fb.places) {
            // The members leave the forecast itself as it was.
            assert_eq!(pa.peak_m, pb.peak_m);
            assert!(pa.p_alert.is_none() && pa.peak_range_m.is_none());
            // Rain factors 0.625, 0.875, 1.125 and 1.375 bracket the forecast's 1.
            let (lo, hi) = pb.peak_range_m.unwrap();
            assert!(lo <= pb.peak_m + 1e-9 && pb.peak_m <= hi + 1e-9, "{pb:?}");
            let p = pb.p_alert.unwrap();
            assert!((p * 4.0 - (p * 4.0).round()).abs() < 1e-12, "{p}");
            // Alerted where at least two members of four reach the depth.
            assert_eq!(pb.alert_ms.is_some(), p >= 0.5, "{pb:?}");
            // Every member reaching it includes the one below the forecast's rain.
            if p == 1.0 {
                assert!(pa.alert_ms.is_some(), "{pa:?} {pb:?}");
            }
            if p > 0.0 && p < 1.0 {
                split += 1;
            }
        }
    }
    assert!(forecasts >= 3, "{forecasts} forecasts");
    assert!(split > 0, "no place where the members disagree");
}

#[test]
fn a_manhole_sensor_without_a_drainage_node_reads_the_node_beneath_it() {
    let city = city();
    let net =
        twin_model::DrainageNetwork::from_layer(city.layer(twin_model::Layer::Utility)).unwrap();
    let node = net
        .nodes
        .iter()
        .find(|n| matches!(n.kind, twin_model::drainage::DrainNodeKind::Junction))
        .unwrap();
    let [x, y] = node.pos;
    // One sensor 3 m off a manhole, one 40 m from any node it might be taken to read.
    let far = net.nodes.last().unwrap().pos;
    let lonely = (0..400)
        .map(|k| {
            let a = k as f64 * 0.1;
            [far[0] + 40.0 * a.cos(), far[1] + 40.0 * a.sin()]
        })
        .find(|p| {
            net.nodes
                .iter()
                .all(|n| (n.pos[0] - p[0]).hypot(n.pos[1] - p[1]) > 30.0)
        })
        .expect("a point 30 m from every node");
    let toml = format!(
        "[[sensor]]\nid = \"MH-A\"\nkind = \"water_level\"\nsite = \"manhole\"\nx = {}\ny = {}\n\n[[sensor]]\nid = \"MH-B\"\nkind = \"water_level\"\nsite = \"manhole\"\nx = {}\ny = {}\n",
        x + 3.0,
        y,
        lonely[0],
        lonely[1]
    );
    let extra = Registry::from_toml(&toml, std::path::Path::new("extra.toml")).unwrap();
    let reg = Registry::from_city(&city).unwrap().merged(extra).unwrap();
    let placed = twin_engine::live_loop::manhole_nodes(&city, &reg);
    assert_eq!(placed.get("MH-A"), Some(&node.name));
    assert!(!placed.contains_key("MH-B"));
    // The demo's wet-well sensor keeps the node its feature names.
    let well = reg
        .sensors()
        .iter()
        .find(|s| s.id.starts_with("WL-") && s.site == twin_sensors::Site::Manhole)
        .unwrap();
    assert!(placed.contains_key(&well.id));
    assert_eq!(
        twin_engine::live_loop::unplaced_manhole_sensors(&city, &reg),
        vec!["MH-B".to_string()]
    );
}
