use super::state::speed_factor;
use super::*;
use crate::demand::build_demand;
use crate::network::tests::detour;
use crate::sumo_routes::parse_routes;

/// Vehicles without speed spread or dawdling, so times are exact.
const EXACT: &str = r#"<vType id="exact" sigma="0" speedDev="0"/>"#;

fn sim_with(vehicles: &str, cfg: SimConfig) -> Simulation {
    let net = detour();
    let rf = parse_routes(&format!("<routes>{EXACT}{vehicles}</routes>")).unwrap();
    let (d, bad) = build_demand(&net, &rf);
    assert!(bad.is_empty(), "{bad:?}");
    Simulation::new(net, d, cfg)
}

fn many(n: usize, gap: f64, route: &str) -> String {
    (0..n)
        .map(|i| {
            format!(
                r#"<vehicle id="v{i}" type="exact" depart="{}"><route edges="{route}"/></vehicle>"#,
                i as f64 * gap
            )
        })
        .collect()
}

#[test]
fn one_vehicle_free_flow_signal_and_turn_times() {
    let mut s = sim_with(&many(1, 0.0, "SA AB BC CE"), SimConfig::default());
    s.run(None);
    let r = &s.trip_results()[0];
    assert_eq!(r.state, VehicleState::Arrived);
    // SA: start from rest 10/(2·2.6) + 100/10; AB 20 s; BC 20 s -> stop line at 51.92 s,
    // red until 60 s, start-up lost time 2 s. Then: braking loss 10/(2·4.5) (pulling away
    // to 8 m/s, 8/(2·2.6) = 1.54 s, is inside the 2 s lost time), junction 8 m at 8 m/s,
    // speeding up 8 -> 10: (10-8)²/(2·2.6·10), and CE 10 s.
    let expect = 62.0 + 10.0 / 9.0 + 1.0 + 4.0 / 52.0 + 10.0;
    assert!(
        (r.arrival - expect).abs() < 1e-9,
        "{} vs {expect}",
        r.arrival
    );
    assert_eq!(r.depart, 0.0);
    assert!((r.route_length - 608.0).abs() < 1e-9);
}

#[test]
fn queue_discharges_at_saturation_flow() {
    // 60 vehicles released at once on a route without signal: the single-lane movement
    // SA -> AB is the bottleneck, one vehicle per saturation headway.
    let mut s = sim_with(&many(60, 0.0, "SA AB BC"), SimConfig::default());
    s.run(None);
    let mut arr: Vec<f64> = s.trip_results().iter().map(|t| t.arrival).collect();
    arr.sort_by(f64::total_cmp);
    let gaps: Vec<f64> = arr.windows(2).skip(10).map(|w| w[1] - w[0]).collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    assert!(
        (mean - HCM_SATURATION_HEADWAY).abs() < 0.02,
        "mean headway {mean}"
    );
    assert_eq!(s.counters().arrived, 60);
    assert_eq!(s.counters().teleports, 0);
}

#[test]
fn spillback_respects_storage_and_everyone_arrives() {
    // Heavy demand through the signal at C: queues on BC spill back onto AB and SA.
    let mut s = sim_with(&many(150, 1.0, "SA AB BC CE"), SimConfig::default());
    let mut max_fill: f64 = 0.0;
    let mut blocked_upstream = false;
    while !s.is_done() {
        s.step();
        for l in 0..s.net.link_count() {
            // Never more than the road space, give or take the one vehicle let onto an empty link.
            assert!(s.space_used[l] <= s.space_cap[l] + 7.5 + 1e-9);
            max_fill = max_fill.max(s.space_used[l] / s.space_cap[l]);
        }
        let bc = s.net.link("BC").unwrap().index();
        let ab = s.net.link("AB").unwrap().index();
        if s.space_used[bc] + 7.5 > s.space_cap[bc] && s.space_used[ab] > 0.5 * s.space_cap[ab] {
            blocked_upstream = true;
        }
        assert!(s.time() < 5000.0);
    }
    assert!(blocked_upstream, "the queue never spilled back");
    assert!(max_fill > 0.95);
    assert_eq!(s.counters().arrived, 150);
    assert_eq!(s.counters().teleports, 0);
    // The signal gives BC 30 s of every 60: about 30/1.895 vehicles per cycle, so the last of
    // 150 arrives after roughly 150/15.8 cycles.
    let last = s
        .trip_results()
        .iter()
        .map(|t| t.arrival)
        .fold(0.0, f64::max);
    assert!(
        (9.0 * 60.0..11.0 * 60.0).contains(&last),
        "last arrival {last}"
    );
}

#[test]
fn closing_a_link_reroutes_and_nobody_enters_it() {
    let cfg = SimConfig {
        record_entries: true,
        ..SimConfig::default()
    };
    let mut s = sim_with(&many(40, 5.0, "SA AB BC CE"), cfg);
    let bc = s.network().link("BC").unwrap();
    let dc = s.network().link("DC").unwrap();
    let ab = s.network().link("AB").unwrap();
    s.schedule(50.0, LinkEvent::Closed(bc, true));
    // Stop just before the closure to see who is committed to BC (on AB, whose only exit is BC).
    s.run(Some(50.0));
    let on_ab_or_before_bc = s
        .vehs
        .iter()
        .filter(|v| v.state == VehicleState::Running && v.route[v.pos as usize] == ab)
        .count();
    s.run(None);
    assert!(s.is_done());
    assert_eq!(s.closed_entries(), 0);
    assert!(
        s.entries().iter().all(|&(t, _, l)| l != bc || t < 50.0),
        "entered a closed link"
    );
    let via_dc = s.entries().iter().filter(|e| e.2 == dc).count();
    let c = s.counters();
    assert_eq!(
        c.aborted, on_ab_or_before_bc,
        "only vehicles already on AB are stuck"
    );
    assert!(on_ab_or_before_bc > 0);
    assert_eq!(c.arrived + c.aborted, 40);
    assert!(via_dc >= 30, "{via_dc} rerouted via DC");
    assert!(c.reroutes >= via_dc);
    // Rerouted trips report the longer route.
    let long = s
        .trip_results()
        .iter()
        .filter(|t| (t.route_length - 700.0).abs() < 1e-6)
        .count();
    assert_eq!(long, via_dc);
}

#[test]
fn reopening_and_speed_caps() {
    let cfg = SimConfig {
        record_entries: true,
        ..SimConfig::default()
    };
    let mut s = sim_with(&many(1, 0.0, "SA AB BC"), cfg.clone());
    let ab = s.network().link("AB").unwrap();
    s.apply(LinkEvent::SpeedCap(ab, Some(5.0)));
    s.run(None);
    // AB at 5 m/s takes 40 s instead of 20, plus slowing 10 -> 5 and speeding up 5 -> 10.
    let t = s.trip_results()[0].arrival;
    let expect = 10.0 / 5.2 + 10.0 + 40.0 + 20.0 + 25.0 / 90.0 + 25.0 / 52.0;
    assert!((t - expect).abs() < 1e-9, "{t} vs {expect}");
    // Closed and reopened before anyone arrives: the route is unchanged.
    let mut s = sim_with(&many(3, 0.0, "SA AB BC CE"), cfg);
    let bc = s.network().link("BC").unwrap();
    s.schedule(0.0, LinkEvent::Closed(bc, true));
    s.schedule(5.0, LinkEvent::Closed(bc, false));
    s.run(None);
    assert_eq!(s.counters().arrived, 3);
}

#[test]
fn informed_drivers_reroute_around_a_slow_link() {
    // AB capped at 1 m/s (200 s instead of 20 s; the detour AD DC is 50 s): the informed
    // share of the vehicles departing after the cap takes the detour, nobody else does.
    let run = |fraction: f64| {
        let cfg = SimConfig {
            record_entries: true,
            reroute_period: 10.0,
            reroute_fraction: fraction,
            ..SimConfig::default()
        };
        let mut s = sim_with(&many(200, 2.0, "SA AB BC CE"), cfg);
        let ab = s.network().link("AB").unwrap();
        let dc = s.network().link("DC").unwrap();
        s.schedule(0.0, LinkEvent::SpeedCap(ab, Some(1.0)));
        s.run(None);
        assert_eq!(s.counters().arrived, 200);
        let via_dc = s.entries().iter().filter(|e| e.2 == dc).count();
        (via_dc, s.counters().reroutes)
    };
    assert_eq!(run(0.0), (0, 0));
    let (all, n_all) = run(1.0);
    let (half, _) = run(0.5);
    // Once the one-lane detour queues at the signal, the slow link is worth taking again:
    // even fully informed drivers split.
    assert!((130..=170).contains(&all), "{all} of 200 via the detour");
    assert!(n_all >= all);
    assert!(
        (70..=110).contains(&half),
        "{half} of 200 with half informed"
    );
}

#[test]
fn runs_are_deterministic() {
    let v: String = (0..200)
        .map(|i| {
            let r = if i % 3 == 0 {
                "SA AD DC CE"
            } else {
                "SA AB BC CE"
            };
            format!(
                r#"<vehicle id="v{i}" depart="{}"><route edges="{r}"/></vehicle>"#,
                i as f64 * 0.7
            )
        })
        .collect();
    let mut a = sim_with(&v, SimConfig::default());
    let mut b = sim_with(&v, SimConfig::default());
    a.run(None);
    b.run(None);
    assert_eq!(a.trip_results(), b.trip_results());
    assert_eq!(a.link_stats(), b.link_stats());
    let mut c = sim_with(
        &v,
        SimConfig {
            seed: 7,
            ..SimConfig::default()
        },
    );
    c.run(None);
    assert_ne!(
        a.trip_results(),
        c.trip_results(),
        "the seed drives the speed factors"
    );
}

#[test]
fn max_pressure_serves_the_loaded_approach() {
    // All traffic comes through D, whose movement the plan's first phase holds on red.
    let with_amber = crate::network::tests::DETOUR.replace(
            r#"<phase duration="30" state="Gr"/><phase duration="30" state="rG"/>"#,
            r#"<phase duration="27" state="Gr"/><phase duration="3" state="yr"/><phase duration="27" state="rG"/><phase duration="3" state="ry"/>"#,
        );
    let run = |control: SignalControl| {
        let net =
            crate::network::Network::from_sumo(&crate::sumo_net::parse_net(&with_amber).unwrap())
                .unwrap();
        let rf = parse_routes(&format!(
            "<routes>{EXACT}{}</routes>",
            many(20, 4.0, "SA AD DC CE")
        ))
        .unwrap();
        let (d, _) = build_demand(&net, &rf);
        let mut s = Simulation::new(
            net,
            d,
            SimConfig {
                signal_control: control,
                ..SimConfig::default()
            },
        );
        s.run(None);
        s.trip_results()
    };
    let fixed = run(SignalControl::FixedTime);
    let mp = run(SignalControl::MaxPressure { min_green: 10.0 });
    // First vehicle: at the stop line at 61.92 s; the signal switches at the next step
    // (62 s) through its 3 s amber, green from 65 s, start-up lost time 2 s, braking loss
    // 10/9 s, then CE in 10 s.
    let expect = 67.0 + 10.0 / 9.0 + 10.0;
    assert!(
        (mp[0].arrival - expect).abs() < 1e-9,
        "{} vs {expect}",
        mp[0].arrival
    );
    let mean = |r: &[TripResult]| r.iter().map(|t| t.duration()).sum::<f64>() / r.len() as f64;
    assert!(
        mean(&mp) + 10.0 < mean(&fixed),
        "{} vs {}",
        mean(&mp),
        mean(&fixed)
    );
    assert!(mp.iter().all(|t| t.state == VehicleState::Arrived));
}

#[test]
fn actuated_control_and_propose_only_mode() {
    let with_amber = crate::network::tests::DETOUR.replace(
            r#"<phase duration="30" state="Gr"/><phase duration="30" state="rG"/>"#,
            r#"<phase duration="27" state="Gr"/><phase duration="3" state="yr"/><phase duration="27" state="rG"/><phase duration="3" state="ry"/>"#,
        );
    let run = |control: SignalControl, propose_only: bool, routes: &str| {
        let net =
            crate::network::Network::from_sumo(&crate::sumo_net::parse_net(&with_amber).unwrap())
                .unwrap();
        let rf = parse_routes(&format!("<routes>{EXACT}{routes}</routes>")).unwrap();
        let (d, _) = build_demand(&net, &rf);
        let mut s = Simulation::new(
            net,
            d,
            SimConfig {
                signal_control: control,
                propose_only,
                ..SimConfig::default()
            },
        );
        s.run(None);
        (s.trip_results(), s.signal_proposals().to_vec())
    };
    let act = SignalControl::Actuated {
        min_green: 5.0,
        max_green: 30.0,
        gap: 3.0,
    };
    let via_d = many(20, 4.0, "SA AD DC CE");
    let (trips, props) = run(act, false, &via_d);
    // Phase 0 (BC) has no demand; D's first vehicle reaches the line at 61.92 s, so at
    // 62 s the signal gaps out to phase 2 through its 3 s amber, as max-pressure did.
    let expect = 67.0 + 10.0 / 9.0 + 10.0;
    assert!(
        (trips[0].arrival - expect).abs() < 1e-9,
        "{}",
        trips[0].arrival
    );
    assert_eq!(
        (props[0].time, props[0].from_phase, props[0].to_phase),
        (62.0, 0, 2)
    );
    assert!(trips.iter().all(|t| t.state == VehicleState::Arrived));
    // Demand on both approaches: no green runs past the maximum.
    let mut both = many(40, 2.0, "SA AD DC CE");
    both.push_str(
            &(0..40)
                .map(|i| {
                    format!(
                        r#"<vehicle id="w{i}" type="exact" depart="{}"><route edges="SA AB BC CE"/></vehicle>"#,
                        i as f64 * 2.0 + 1.0
                    )
                })
                .collect::<String>(),
        );
    let (_, props) = run(act, false, &both);
    // (The first green rests until the other approach's first vehicle arrives.)
    assert!(props.len() >= 3, "{props:?}");
    assert!(
        props[1..]
            .iter()
            .all(|p| p.green <= 30.0 + 1e-9 && p.green >= 5.0 - 1e-9),
        "{props:?}"
    );
    assert!(
        props.iter().any(|p| (p.green - 30.0).abs() < 1e-9),
        "a max-out: {props:?}"
    );
    // Propose only: the trips are exactly those of the fixed plan, and the decisions that
    // actuated control would take are recorded.
    let (fixed, none) = run(SignalControl::FixedTime, false, &via_d);
    assert!(none.is_empty());
    let (proposed, props) = run(act, true, &via_d);
    assert_eq!(proposed, fixed);
    assert_eq!(
        (props[0].time, props[0].from_phase, props[0].to_phase),
        (62.0, 0, 2)
    );
    let (mp, props) = run(SignalControl::MaxPressure { min_green: 10.0 }, true, &via_d);
    assert_eq!(mp, fixed);
    assert!(!props.is_empty());
}

#[test]
fn trajectories_at_position_level() {
    // One exact vehicle on SA AB BC CE, recorded every 5 s.
    let cfg = SimConfig {
        fcd_interval: 5.0,
        ..SimConfig::default()
    };
    let mut s = sim_with(&many(1, 0.0, "SA AB BC CE"), cfg);
    s.run(None);
    let f = s.trajectories();
    assert!(f.windows(2).all(|w| w[1].time - w[0].time == 5.0));
    // At 10 s it is on SA (100 m, reached at 10/5.2 + 10 s = 11.92 s): moving at
    // 100 / 11.92 m/s, 10 / 11.92 of the way along, i.e. at x = -100 + 83.9.
    let p = f.iter().find(|p| p.time == 10.0).unwrap();
    let sa = s.network().link("SA").unwrap();
    assert_eq!(p.link, sa);
    let span = 10.0 / 5.2 + 10.0;
    assert!((p.pos - 100.0 * 10.0 / span).abs() < 1e-9, "{p:?}");
    assert!((p.speed - 100.0 / span).abs() < 1e-9);
    let sa_from = s.network().link_from[sa.index()].index();
    let x0 = s.network().node_x[sa_from];
    assert!((p.x - (x0 + p.pos)).abs() < 1e-6, "{p:?} from x {x0}");
    // At 55 s it waits at the red light at the end of BC (reached 51.92 s, green at 60).
    let p = f.iter().find(|p| p.time == 55.0).unwrap();
    assert_eq!(p.link, s.network().link("BC").unwrap());
    assert_eq!((p.pos, p.speed), (200.0, 0.0));
    // Recorded until it arrives (72.2 s).
    assert_eq!(f.last().unwrap().time, 70.0);
    let mut csv = Vec::new();
    crate::output::write_fcd_csv(&mut csv, s.network(), &s.trip_results(), f).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.starts_with("time,vehicle,link,pos,x,y,speed\n5.00,v0,SA,41.94,-58.06,0.00,8.39\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), f.len() + 1);
}

#[test]
fn speed_factors_follow_the_truncated_normal() {
    let xs: Vec<f64> = (0..20000).map(|i| speed_factor(1, i, 1.0, 0.1)).collect();
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt();
    assert!(
        (m - 1.0).abs() < 0.005 && (sd - 0.1).abs() < 0.005,
        "{m} {sd}"
    );
    assert!(xs.iter().all(|x| (0.2..=2.0).contains(x)));
}

#[test]
fn progress_rises_to_one_and_runs_as_without_it() {
    let vehicles = many(150, 1.0, "SA AB BC CE");
    let mut plain = sim_with(&vehicles, SimConfig::default());
    plain.run(None);
    let mut watched = sim_with(&vehicles, SimConfig::default());
    let mut seen = Vec::new();
    watched.run_with_progress(None, &mut |f| seen.push(f));
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "progress fell back");
    assert_eq!(seen.last().copied(), Some(1.0));
    // Halfway through the reports, about half the vehicles are done (they leave one a
    // cycle's worth at a time), not all or none.
    let mid = seen[seen.len() / 2];
    assert!((0.2..0.8).contains(&mid), "{mid}");
    assert_eq!(plain.trip_results(), watched.trip_results());
    // With an end time, the share of the time counts too.
    let mut ended = sim_with(&vehicles, SimConfig::default());
    let mut last = 0.0;
    ended.run_with_progress(Some(100.0), &mut |f| last = f);
    assert_eq!(last, 1.0);
}

#[test]
fn unfinished_and_stranded_trips_count_their_time_and_intervals_add_up() {
    // 40 vehicles, BC closed at 50 s (those already on AB are taken out there), stopped at
    // 100 s with some still on the way.
    let cfg = SimConfig {
        stats_interval: 20.0,
        ..SimConfig::default()
    };
    let mut s = sim_with(&many(40, 5.0, "SA AB BC CE"), cfg);
    let bc = s.network().link("BC").unwrap();
    s.schedule(50.0, LinkEvent::Closed(bc, true));
    s.run(Some(100.0));
    let r = s.trip_results();
    let c = s.counters().clone();
    assert!(c.aborted > 0 && c.arrived < 40, "{c:?}");
    for t in &r {
        assert_eq!(
            t.planned,
            r.iter().position(|x| x.id == t.id).unwrap() as f64 * 5.0
        );
        match t.state {
            VehicleState::Arrived => {
                assert_eq!(t.ended, t.arrival);
                assert_eq!(t.time_by(100.0), t.duration());
            }
            VehicleState::Aborted => {
                assert!(t.ended.is_finite() && t.ended <= 100.0 && t.arrival.is_nan());
                assert_eq!(t.time_by(100.0), t.ended - t.depart);
            }
            _ => {
                assert!(t.ended.is_nan());
                let from = if t.depart.is_finite() {
                    t.depart
                } else {
                    t.planned
                };
                assert_eq!(t.time_by(100.0), (100.0 - from).max(0.0));
            }
        }
    }
    // Every vehicle's time on the links, summed, is the vehicles on the network integrated
    // over the steps (1 s), within a step per vehicle; nobody waits to enter here.
    let on_links: f64 = r
        .iter()
        .filter(|t| t.depart.is_finite())
        .map(|t| t.time_by(100.0))
        .sum();
    assert!(
        (on_links - c.vehicle_updates as f64).abs() <= 40.0,
        "{on_links} vs {}",
        c.vehicle_updates
    );
    // The network intervals: five of 20 s, their arrivals and teleports add up to the totals.
    let n = s.network_stats();
    assert_eq!(n.len(), 5);
    assert_eq!(n.iter().map(|i| i.arrived).sum::<usize>(), c.arrived);
    assert_eq!(n.iter().map(|i| i.teleports).sum::<usize>(), c.teleports);
    assert_eq!(
        n.last().unwrap().on_network,
        r.iter()
            .filter(|t| t.state == VehicleState::Running)
            .count()
    );
}
