//! The traffic engine on the demo city: network from the road layer, a morning peak from the
//! building, economic and public-service layers, simulated and checked.

use twin_model::{City, Layer, RoadGraph};
use twin_traffic::city_demand::{
    CityDemand, ExternalCity, OUTSIDE_SPEED_KMH, PeakConfig, morning_peak, open_sides,
};
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

/// Trip outcomes ([`trip_bits`]) and counters of a run on a pool of `threads` threads.
#[allow(clippy::type_complexity)]
fn outcomes_on(
    threads: usize,
    net: &Network,
    demand: &twin_traffic::demand::Demand,
    cfg: &SimConfig,
    end: f64,
) -> (
    Vec<(String, u64, u64, u64, VehicleState, u32)>,
    twin_traffic::sim::Counters,
) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut s = Simulation::new(net.clone(), demand.clone(), cfg.clone());
        s.run(Some(end));
        (trip_bits(&s), s.counters().clone())
    })
}

/// Per-trip outcomes as bit patterns, so that the NaN arrival of a vehicle still running
/// compares equal.
fn trip_bits(s: &Simulation) -> Vec<(String, u64, u64, u64, VehicleState, u32)> {
    s.trip_results()
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
        .collect()
}

#[test]
fn rerouting_is_identical_on_one_and_two_threads() {
    // En-route rerouting builds its cost-to-go trees in parallel: the outcome must not depend
    // on the number of threads.
    let (city, net) = setup();
    let d = peak(&city, &net, 12_000, 3, 0.15);
    let cfg = SimConfig {
        reroute_period: 60.0,
        reroute_fraction: 0.5,
        ..SimConfig::default()
    };
    let (r1, c1) = outcomes_on(1, &net, &d.demand, &cfg, 3600.0);
    let (r2, c2) = outcomes_on(2, &net, &d.demand, &cfg, 3600.0);
    assert!(c1.reroutes > 0, "{c1:?}");
    assert_eq!(c1, c2);
    assert_eq!(r1, r2);
}

#[test]
fn peak_period_is_identical_on_one_and_two_threads_and_buses_keep_their_lines() {
    let (city, mut net) = setup();
    let cfg = PeakConfig {
        seed: 4,
        ..period_config(60_000)
    };
    let d = twin_traffic::city_demand::morning_peak_with_signal_plans(&city, &mut net, &cfg, 1);
    let sim = SimConfig {
        reroute_period: 120.0,
        reroute_fraction: 1.0,
        ..SimConfig::default()
    };
    let (r1, c1) = outcomes_on(1, &net, &d.demand, &sim, cfg.duration);
    let (r2, c2) = outcomes_on(2, &net, &d.demand, &sim, cfg.duration);
    assert!(c1.reroutes > 0, "{c1:?}");
    assert_eq!(c1, c2);
    assert_eq!(r1, r2);
    // Every driver is informed, yet no bus leaves its line.
    let bus: std::collections::HashSet<&str> = d
        .demand
        .trips
        .iter()
        .filter(|t| d.demand.types[t.vtype].class == VehicleClass::Bus)
        .map(|t| t.id.as_str())
        .collect();
    assert!(!bus.is_empty());
    for (id, _, _, _, _, reroutes) in &r1 {
        if bus.contains(id.as_str()) {
            assert_eq!(*reroutes, 0, "{id}");
        }
    }
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
            let r = trip_bits(&s);
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

/// The morning peak period with the rest of the city and the bus, on the demo district with
/// its east edge (the Red River) closed.
fn period_peak(city: &City, net: &Network, trips: usize) -> (PeakConfig, CityDemand) {
    let cfg = period_config(trips);
    let d = morning_peak(city, net, &cfg);
    (cfg, d)
}

#[test]
fn the_river_side_has_no_gateways() {
    let (city, _) = setup();
    // The Red River lies beyond the district's east edge.
    assert_eq!(open_sides(&city), [true, true, false, true]);
}

/// [`PeakConfig::morning_peak_period`] with the demo district's river side closed.
fn period_config(trips: usize) -> PeakConfig {
    PeakConfig {
        external: Some(ExternalCity {
            speed_kmh: OUTSIDE_SPEED_KMH,
            open_sides: [true, true, false, true],
        }),
        ..PeakConfig::morning_peak_period(trips)
    }
}

#[test]
fn peak_period_with_gateways_and_buses() {
    let (city, net) = setup();
    let (cfg, d) = period_peak(&city, &net, 20_000);
    // Gateways: the dead ends on the west, south and north edges, none on the river side.
    let (x0, x1) = net
        .node_x
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let (y0, y1) = net
        .node_y
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &y| (a.min(y), b.max(y)));
    assert!(!d.gateways.is_empty());
    for g in &d.gateways {
        let (x, y) = (net.node_x[g.node as usize], net.node_y[g.node as usize]);
        let on_side = [x - x0, y - y0, x1 - x, y1 - y][g.side];
        assert!(on_side.abs() < 1.0, "{g:?}");
        assert_ne!(g.side, 2, "no gateway on the river side");
    }
    // The masses beyond a side add up to ρ θ (R₀/k + 1/k²), shared by lanes.
    let k = 0.15 / 60.0 / (OUTSIDE_SPEED_KMH / 3.6);
    let area = (x1 - x0) * (y1 - y0);
    let (r0, half) = ((x1 - x0) / 2.0, (y1 - y0) / 2.0); // the west side
    let theta = 2.0 * (half / r0).atan();
    let west: f64 = d
        .gateways
        .iter()
        .filter(|g| g.side == 0)
        .map(|g| g.attraction)
        .sum();
    let expect = d.attractions / area * theta * (r0 / k + 1.0 / (k * k));
    assert!((west / expect - 1.0).abs() < 1e-9, "{west} vs {expect}");
    // Every kind of trip is drawn; most residents' trips leave the 3 × 2.5 km district
    // (the deterrence's mean trip of 2/β = 13 min reaches beyond it).
    let [internal, outbound, inbound, through] = d.by_kind;
    assert!(
        internal > 0 && inbound > 0 && through > 0,
        "{:?}",
        d.by_kind
    );
    assert!(outbound > 3 * internal, "{:?}", d.by_kind);
    assert_eq!(
        internal + outbound + inbound + through + d.same_node,
        20_000
    );
    // 18.5 % of person trips by bus; the buses run on their lines at 5.3 an hour.
    let riders = d.transit_riders as f64 / (20_000 - d.same_node) as f64;
    assert!((riders - 0.185).abs() < 0.01, "{riders}");
    let buses: Vec<_> = d
        .demand
        .trips
        .iter()
        .filter(|t| d.demand.types[t.vtype].class == VehicleClass::Bus)
        .collect();
    assert_eq!(buses.len(), d.bus_runs);
    let lines = (63.0 / 8.4 * area / 1e6).round() as usize;
    // Each line runs every 3600/5.3 = 679 s over the 3 hours: 15 or 16 runs.
    assert!(
        (lines * 15..=lines * 16).contains(&d.bus_runs),
        "{} runs on {lines} lines",
        d.bus_runs
    );
    assert_eq!(
        d.demand.trips.len(),
        internal + outbound + inbound + through - d.transit_riders + d.bus_runs
    );
    // Through trips enter and leave by arterial gateways; inbound trips start at a gateway.
    let gate_of = |l: LinkId, from: bool| {
        let n = if from {
            net.link_from[l.index()]
        } else {
            net.link_to[l.index()]
        };
        d.gateways.iter().find(|g| g.node == n.0)
    };
    let mut seen_through = 0;
    for t in d
        .demand
        .trips
        .iter()
        .filter(|t| d.demand.types[t.vtype].class != VehicleClass::Bus)
    {
        let (a, b) = (
            gate_of(t.route[0], true),
            gate_of(*t.route.last().unwrap(), false),
        );
        if let (Some(a), Some(b)) = (a, b)
            && a.lanes >= 2
            && b.lanes >= 2
            && a.side != b.side
        {
            seen_through += 1;
        }
    }
    assert!(seen_through > 0);
    // The peak hour (the central one) carries 40 % of the departures, its busiest quarter
    // a peak hour factor of 0.94.
    let dep: Vec<f64> = d.demand.trips.iter().map(|t| t.depart).collect();
    assert!(dep.iter().all(|&t| (0.0..10_800.0).contains(&t)));
    let share = dep
        .iter()
        .filter(|&&t| (3600.0..7200.0).contains(&t))
        .count() as f64
        / dep.len() as f64;
    assert!((share - 0.40).abs() < 0.015, "{share}");
    assert!((cfg.design_rate_factor() - 0.425).abs() < 1e-3);
}

#[test]
fn peak_period_of_100k_person_trips_runs_at_hanoi_peak_speeds() {
    // 100,000 person trips: 82,105 vehicles once a fifth ride the bus; half the drivers
    // informed. The state measured by demo_peak (benches/results/traffic-demo.md): vehicles
    // average 19.5 km/h over their trips, teleports stay near 0.25 % of vehicles. (123,000
    // person trips, 101,073 vehicles, lock the minor approaches: 12.6 km/h.)
    let (city, mut net) = setup();
    let cfg = period_config(100_000);
    let d = twin_traffic::city_demand::morning_peak_with_signal_plans(&city, &mut net, &cfg, 2);
    assert!(d.demand.trips.len() >= 80_000, "{}", d.demand.trips.len());
    let mut sim = Simulation::new(
        net,
        d.demand,
        SimConfig {
            reroute_period: 120.0,
            reroute_fraction: 0.5,
            ..SimConfig::default()
        },
    );
    sim.run(Some(cfg.duration));
    let r = sim.trip_results();
    let kmh = twin_traffic::output::space_mean_speed(&r, cfg.duration) * 3.6;
    assert!((15.0..25.0).contains(&kmh), "{kmh} km/h");
    let arrived = r
        .iter()
        .filter(|t| t.state == VehicleState::Arrived)
        .count();
    assert!(arrived as f64 > 0.95 * r.len() as f64, "{arrived}");
    assert!(
        (sim.counters().teleports as f64) < 0.01 * r.len() as f64,
        "{} teleports",
        sim.counters().teleports
    );
}

/// A timetable feed's line on the demo district: two stops on an arterial are snapped and
/// joined, a stop off the area is counted, the midday timetable's first full hour (10:00,
/// six departures) is repeated over 06:00–09:00, and the peak runs those 18 buses on the
/// stored path instead of the synthetic lines.
#[test]
fn a_feed_line_replaces_the_synthetic_buses() {
    use twin_traffic::city_demand::feed::{FeedLine, FeedStop, MORNING_PEAK_WINDOW, add_feed};
    let (mut city, net) = setup();
    let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    // Two points 4 m beside the middle of the longest primary roads' links, far apart.
    let mut main: Vec<usize> = (0..g.links.len())
        .filter(|&l| g.links[l].class == "primary")
        .collect();
    main.sort_by(|&a, &b| {
        g.links[b]
            .length_m
            .total_cmp(&g.links[a].length_m)
            .then(a.cmp(&b))
    });
    let mid = |l: usize| {
        let c = &g.links[l].geometry.0;
        let (a, b) = (c[0], c[c.len() - 1]);
        [0.5 * (a.x + b.x) + 4.0, 0.5 * (a.y + b.y) + 4.0]
    };
    let (p, q) = (mid(main[0]), mid(main[main.len() / 2]));
    let bb = city.bbox().unwrap();
    let stops = vec![
        FeedStop {
            id: "A".into(),
            name: "Bến A".into(),
            pos: p,
        },
        FeedStop {
            id: "B".into(),
            name: String::new(),
            pos: q,
        },
        FeedStop {
            id: "Far".into(),
            name: String::new(),
            pos: [bb[1][0] + 5_000.0, bb[1][1]],
        },
    ];
    // 10:00–17:00 every 10 min: 43 trips, none in the window.
    let deps: Vec<f64> = (0..43).map(|k| 36_000.0 + 600.0 * k as f64).collect();
    let line = FeedLine {
        route_id: "01".into(),
        name: "01".into(),
        direction: Some(0),
        stops: vec![0, 1, 2],
        offsets_s: vec![Some(0.0), Some(300.0), Some(900.0)],
        times_s: Vec::new(),
        departures_s: deps,
        trips: 43,
    };
    let notes = add_feed(&mut city, bb, &stops, &[line], &MORNING_PEAK_WINDOW).unwrap();
    let count = |w: &str| {
        notes
            .iter()
            .find(|n| n.what.starts_with(w))
            .map(|n| n.count)
    };
    assert_eq!(count("bus stops on the roads"), Some(2), "{notes:?}");
    assert_eq!(count("bus stops outside"), Some(1));
    assert_eq!(count("bus lines clipped"), Some(1));
    assert_eq!(count("bus lines without departures"), Some(1));
    let layer = city.layer(Layer::TrafficRoad);
    let lf: Vec<_> = layer
        .features()
        .iter()
        .filter(|f| f.kind == "bus_line")
        .collect();
    assert_eq!(lf.len(), 1);
    assert_eq!(lf[0].text("departures_per_hour"), Some("6 6 6"));
    assert!(
        lf[0]
            .text("departures")
            .unwrap()
            .starts_with("06:00:00 06:10:00")
    );
    // The road graph is unchanged by the new features.
    let g2 = RoadGraph::from_layer(layer);
    assert_eq!(g2.links.len(), g.links.len());
    let d = morning_peak(&city, &net, &PeakConfig::morning_peak_period(300));
    assert_eq!((d.bus_feed_lines, d.bus_runs), (1, 18));
    assert!(d.bus_feed_not_run.is_empty());
    let buses: Vec<_> = d.demand.trips.iter().filter(|t| t.vtype == 2).collect();
    assert_eq!(buses.len(), 18);
    assert!(
        buses
            .iter()
            .all(|b| b.id.starts_with("bus01/0") || b.id.starts_with("bus01-0"))
    );
    assert!(
        buses
            .iter()
            .all(|b| b.route == buses[0].route && b.route.len() >= 2)
    );
    // Consecutive links of the path are joined by movements.
    for w in buses[0].route.windows(2) {
        assert!(net.movement(w[0], w[1]).is_some());
    }
}
