//! The traffic engine on the demo city: network from the road layer, a morning peak from the
//! building, economic and public-service layers, simulated and checked.

use twin_model::{City, Layer, RoadGraph};
use twin_traffic::city_demand::{CityDemand, PeakConfig, morning_peak};
use twin_traffic::demand::VehicleClass;
use twin_traffic::network::{LinkId, Network};
use twin_traffic::sim::{LinkEvent, SimConfig, Simulation, VehicleState};

fn setup() -> (City, Network) {
    let city = twin_citygen::generate(&Default::default());
    let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    let net = Network::from_road_graph(&g).unwrap();
    assert_eq!(net.link_count(), g.links.len());
    assert_eq!(
        net.signals.len(),
        g.signal_count(),
        "every signal node gets a plan"
    );
    (city, net)
}

fn peak(city: &City, net: &Network, trips: usize, seed: u64, beta: f64) -> CityDemand {
    morning_peak(
        city,
        net,
        &PeakConfig {
            trips,
            seed,
            beta_per_min: beta,
            ..PeakConfig::default()
        },
    )
}

fn mean<I: Iterator<Item = f64>>(it: I) -> f64 {
    let (s, n) = it.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    s / n as f64
}

#[test]
fn morning_peak_from_the_layers() {
    let (city, net) = setup();
    let d = peak(&city, &net, 4000, 1, 0.15);
    // Every resident and every job or school place lands on a node.
    assert!(
        (290_000.0..310_000.0).contains(&d.residents),
        "{}",
        d.residents
    );
    assert!(d.attractions > 100_000.0);
    assert!(d.unroutable.is_empty(), "{:?}", &d.unroutable[..1]);
    assert_eq!(d.demand.trips.len() + d.same_node, 4000);
    assert!(d.same_node < 100, "{}", d.same_node);
    // Classes by share, departures on the triangular profile over the hour.
    let trips = &d.demand.trips;
    let moto = trips
        .iter()
        .filter(|t| d.demand.types[t.vtype].class == VehicleClass::Motorbike)
        .count() as f64
        / trips.len() as f64;
    assert!((moto - 0.80).abs() < 0.03, "{moto}");
    assert!(trips.iter().all(|t| (0.0..=3600.0).contains(&t.depart)));
    let md = mean(trips.iter().map(|t| t.depart));
    assert!((md - 1800.0).abs() < 60.0, "{md}");
    assert!(trips.windows(2).all(|w| w[0].depart <= w[1].depart));
    // Routes are connected through allowed movements.
    for t in trips.iter().take(500) {
        for w in t.route.windows(2) {
            assert!(net.movement(w[0], w[1]).is_some());
        }
    }
    // Deterministic for a seed; another seed gives other trips.
    assert_eq!(peak(&city, &net, 4000, 1, 0.15), d);
    assert_ne!(peak(&city, &net, 4000, 2, 0.15).demand, d.demand);
    // Stronger deterrence: shorter trips.
    let len = |d: &CityDemand| {
        mean(d.demand.trips.iter().map(|t| {
            t.route
                .iter()
                .map(|l| net.link_length[l.index()])
                .sum::<f64>()
        }))
    };
    let near = peak(&city, &net, 4000, 1, 1.0);
    assert!(len(&near) < 0.8 * len(&d), "{} vs {}", len(&near), len(&d));
}

#[test]
fn incremental_loading_spreads_a_heavy_peak() {
    let (city, net) = setup();
    let load = |steps: usize| {
        let d = morning_peak(
            &city,
            &net,
            &PeakConfig {
                trips: 100_000,
                assignment_steps: steps,
                ..PeakConfig::default()
            },
        );
        let mut v = vec![0.0; net.link_count()];
        for t in &d.demand.trips {
            for l in &t.route {
                v[l.index()] += d.demand.types[t.vtype].pcu;
            }
        }
        // Same trips and destinations whatever the routing.
        let ends: Vec<_> = d
            .demand
            .trips
            .iter()
            .map(|t| (t.id.clone(), net.link_to[t.route.last().unwrap().index()]))
            .collect();
        let mut top = v.clone();
        top.sort_by(|a, b| b.total_cmp(a));
        (ends, top[..20].iter().sum::<f64>() / 20.0)
    };
    let (e1, top1) = load(1);
    let (e4, top4) = load(4);
    let mut e1 = e1;
    let mut e4 = e4;
    e1.sort();
    e4.sort();
    assert_eq!(e1, e4);
    assert!(top4 < 0.9 * top1, "20 busiest links: {top4} vs {top1} PCU");
}

#[test]
fn light_peak_arrives_at_urban_speeds() {
    let (city, net) = setup();
    let d = peak(&city, &net, 3000, 7, 0.15);
    let n = d.demand.trips.len();
    let mut s = Simulation::new(net, d.demand, SimConfig::default());
    s.run(Some(7200.0));
    let r = s.trip_results();
    let arrived: Vec<_> = r
        .iter()
        .filter(|t| t.state == VehicleState::Arrived)
        .collect();
    assert_eq!(arrived.len(), n, "all of a light demand arrive within 2 h");
    assert_eq!(s.counters().teleports, 0);
    // Mean speed over the trip, stops at signals and junctions included: Hanoi's 20–40 km/h
    // range of urban speeds (hanoi-facts §3), the light demand towards the top.
    let dur = mean(arrived.iter().map(|t| t.duration()));
    let len = mean(arrived.iter().map(|t| t.route_length));
    let kmh = len / dur * 3.6;
    assert!((20.0..40.0).contains(&kmh), "{kmh} km/h");
    // Signals hold people: slower than free flow on the same routes.
    assert!(len > 500.0, "{len}");
}

#[test]
fn closing_a_busy_link_mid_run_reroutes_everyone_around_it() {
    let (city, net) = setup();
    let d = peak(&city, &net, 3000, 11, 0.15);
    // The link most used by trips departing after the closure.
    let mut uses = vec![0usize; net.link_count()];
    for t in d.demand.trips.iter().filter(|t| t.depart > 900.0) {
        for l in &t.route[1..] {
            uses[l.index()] += 1;
        }
    }
    let busy = LinkId(
        (0..uses.len())
            .max_by_key(|&l| (uses[l], std::cmp::Reverse(l)))
            .unwrap() as u32,
    );
    assert!(uses[busy.index()] > 50, "{}", uses[busy.index()]);
    let n = d.demand.trips.len();
    let mut s = Simulation::new(
        net,
        d.demand,
        SimConfig {
            record_entries: true,
            ..SimConfig::default()
        },
    );
    s.schedule(900.0, LinkEvent::Closed(busy, true));
    s.run(Some(7200.0));
    assert_eq!(s.closed_entries(), 0);
    let after = s
        .entries()
        .iter()
        .filter(|&&(t, _, l)| l == busy && t >= 900.0)
        .count();
    assert_eq!(after, 0, "entered the closed link");
    let before = s
        .entries()
        .iter()
        .filter(|&&(t, _, l)| l == busy && t < 900.0)
        .count();
    assert!(before > 0, "the link was busy before the closure");
    let c = s.counters();
    assert!(
        c.reroutes as f64 >= 0.9 * uses[busy.index()] as f64,
        "{c:?}"
    );
    // Everyone finishes: vehicles queued to enter the busy link as their first link when it
    // closed start from another link of their junction.
    assert_eq!(c.arrived + c.aborted, n);
    assert!(c.aborted < 20, "{c:?}");
}

#[test]
fn rerouting_is_identical_on_one_and_two_threads() {
    // En-route rerouting builds its cost-to-go trees in parallel: the outcome must not depend
    // on the number of threads.
    let (city, net) = setup();
    let d = peak(&city, &net, 12_000, 3, 0.15);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut s = Simulation::new(
                net.clone(),
                d.demand.clone(),
                SimConfig {
                    reroute_period: 60.0,
                    reroute_fraction: 0.5,
                    ..SimConfig::default()
                },
            );
            s.run(Some(3600.0));
            // Bit patterns, so that the NaN arrival of a vehicle still running compares equal.
            let r: Vec<_> = s
                .trip_results()
                .into_iter()
                .map(|t| {
                    (
                        t.id,
                        t.depart.to_bits(),
                        t.arrival.to_bits(),
                        t.route_length.to_bits(),
                        t.reroutes,
                    )
                })
                .collect();
            (r, s.counters().clone())
        })
    };
    let (r1, c1) = run(1);
    let (r2, c2) = run(2);
    assert!(c1.reroutes > 0, "{c1:?}");
    assert_eq!(c1, c2);
    assert_eq!(r1, r2);
}

#[test]
fn congested_peak_with_a_closure_is_identical_on_one_and_two_threads() {
    // Whatever runs on the thread pool (the rerouting trees; any parallel part of the step):
    // signals, a congested peak with spillback and teleports, informed drivers changing
    // queues, and a busy link closed and reopened mid-run must give the same trips and link
    // entries, bit for bit, on one and two threads.
    let (city, net) = setup();
    let d = peak(&city, &net, 40_000, 5, 0.15);
    let mut uses = vec![0usize; net.link_count()];
    for t in d.demand.trips.iter().filter(|t| t.depart > 900.0) {
        for l in &t.route[1..] {
            uses[l.index()] += 1;
        }
    }
    let busy = LinkId(
        (0..uses.len())
            .max_by_key(|&l| (uses[l], std::cmp::Reverse(l)))
            .unwrap() as u32,
    );
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut s = Simulation::new(
                net.clone(),
                d.demand.clone(),
                SimConfig {
                    record_entries: true,
                    reroute_period: 120.0,
                    reroute_fraction: 0.2,
                    ..SimConfig::default()
                },
            );
            s.schedule(900.0, LinkEvent::Closed(busy, true));
            s.schedule(2400.0, LinkEvent::Closed(busy, false));
            s.run(Some(3600.0));
            let r: Vec<_> = s
                .trip_results()
                .into_iter()
                .map(|t| {
                    (
                        t.id,
                        t.depart.to_bits(),
                        t.arrival.to_bits(),
                        t.route_length.to_bits(),
                        t.state,
                        t.reroutes,
                    )
                })
                .collect();
            let e: Vec<_> = s
                .entries()
                .iter()
                .map(|&(t, v, l)| (t.to_bits(), v, l))
                .collect();
            (r, e, s.counters().clone())
        })
    };
    let (r1, e1, c1) = run(1);
    let (r2, e2, c2) = run(2);
    assert!(
        c1.teleports > 0 && c1.reroutes > 0 && c1.arrived > 20_000,
        "{c1:?}"
    );
    assert_eq!(c1, c2);
    assert_eq!(e1, e2);
    assert_eq!(r1, r2);
}
