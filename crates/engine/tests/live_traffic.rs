//! The live twin's traffic on the demo district: the traffic twin experiment (a truth day 30 %
//! busier than the demand model, its counters read with noise) where the counts bring the
//! links no counter sees closer to the truth than the open loop; the water closes the roads it
//! covers; a traffic saved and restored goes on as if it never stopped.

mod common;
use common::city;
use std::collections::BTreeMap;
use twin_engine::live_traffic::{
    CountExperiment, LiveTraffic, TrafficConfig, count_experiment, counting_sites,
};
use twin_model::{Layer, RoadGraph};
use twin_sensors::Registry;

#[test]
fn counts_bring_the_uncounted_links_closer_to_a_busier_truth_than_the_open_loop() {
    let city = city();
    let reg = Registry::from_city(&city).unwrap();
    let e = CountExperiment::standard(30_000);
    let o = count_experiment(&city, &reg, &e).unwrap();
    println!(
        "sites {}, links scored {}, vehicles truth/open/assimilated {:?}; RMSE of 07:00–08:00 link flows, uncounted links: open loop {:.1} veh/h, assimilated {:.1} veh/h; bias {:+.3} / {:+.3}; GEH<5 {:.3} / {:.3}; counted links RMSE {:.1} / {:.1}; demand factor {:.3}",
        o.sites,
        o.scored_links,
        o.vehicles,
        o.rmse_veh_h[0],
        o.rmse_veh_h[1],
        o.bias[0],
        o.bias[1],
        o.geh5[0],
        o.geh5[1],
        o.rmse_counted_veh_h[0],
        o.rmse_counted_veh_h[1],
        o.demand_factor
    );
    assert!(o.sites >= 10, "{} counting sites", o.sites);
    assert!(o.scored_links >= 200, "{} links scored", o.scored_links);
    // The truth is busier: the open loop is low everywhere, the counts lift the demand.
    assert!(o.bias[0] < -0.15, "open-loop bias {}", o.bias[0]);
    assert!(o.bias[1].abs() < 0.5 * o.bias[0].abs(), "bias {:?}", o.bias);
    assert!(
        o.rmse_veh_h[1] < 0.75 * o.rmse_veh_h[0],
        "RMSE {:?}",
        o.rmse_veh_h
    );
    assert!(o.geh5[1] > o.geh5[0], "GEH<5 {:?}", o.geh5);
    assert!(
        o.rmse_counted_veh_h[1] < 0.75 * o.rmse_counted_veh_h[0],
        "{:?}",
        o.rmse_counted_veh_h
    );
    assert!(
        (1.1..1.6).contains(&o.demand_factor),
        "factor {}",
        o.demand_factor
    );
    // More vehicles were scheduled than the open loop's, fewer than the truth's and the
    // open loop's times 1.6.
    assert!(o.vehicles[2] > o.vehicles[1] && o.vehicles[2] < o.vehicles[1] * 16 / 10);
}

#[test]
fn the_water_closes_the_roads_it_covers_and_a_restored_traffic_goes_on_unchanged() {
    let city = city();
    let reg = Registry::from_city(&city).unwrap();
    let cfg = TrafficConfig {
        clock_s: 1800.0,
        ..TrafficConfig::new(20_000)
    };
    let (mut t, far) = LiveTraffic::new(&city, &reg, cfg).unwrap();
    assert!(far.is_empty(), "{far:?}");
    // The spin-up ran the first half hour.
    assert!((t.simulation().time() - 1800.0).abs() < 1.0);
    let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    // The busiest counted road: every one of its links is put under a metre of water.
    let (sites, _) = counting_sites(&g, &reg);
    let busy = sites
        .iter()
        .max_by_key(|s| {
            s.links
                .iter()
                .map(|&l| t.simulation().entered_total()[l as usize])
                .sum::<u64>()
        })
        .unwrap();
    let road = g.links[busy.links[0] as usize].feature;
    let mut depth = city.dem.clone().unwrap();
    depth.nodata = None;
    depth.data.iter_mut().for_each(|v| *v = 0.0);
    let road_links: Vec<usize> = (0..g.links.len())
        .filter(|&i| g.links[i].feature == road)
        .collect();
    for &i in &road_links {
        for c in g.links[i].geometry.coords() {
            if let Some((cx, cy)) = depth.cell_at(c.x, c.y) {
                depth.data[cy * depth.nx + cx] = 1.0;
            }
        }
        // The middle of each segment too.
        for w in g.links[i].geometry.0.windows(2) {
            let (x, y) = ((w[0].x + w[1].x) / 2.0, (w[0].y + w[1].y) / 2.0);
            if let Some((cx, cy)) = depth.cell_at(x, y) {
                depth.data[cy * depth.nx + cx] = 1.0;
            }
        }
    }
    let wet = twin_engine::impacts::road_impacts(&city, &depth);
    let none = BTreeMap::new();
    let counts: BTreeMap<String, f64> = sites.iter().map(|s| (s.sensor.clone(), 600.0)).collect();
    let first = t.advance(300.0, 300.0, &counts, &wet);
    assert!(first.links_closed >= road_links.len(), "{first:?}");
    assert_eq!(first.counts.len(), sites.len());
    let mut copy = t.clone();
    let entered = |t: &LiveTraffic| -> u64 {
        road_links
            .iter()
            .map(|&l| t.simulation().entered_total()[l])
            .sum()
    };
    let before = entered(&t);
    let a = t.advance(600.0, 300.0, &counts, &wet);
    let a2 = t.advance(900.0, 300.0, &none, &wet);
    assert_eq!(entered(&t), before, "a vehicle entered a closed road");
    assert!(a.on_road > 0 && a.speed_kmh.is_some(), "{a:?}");
    // The copy (through the checkpoint's encoding) takes the same steps.
    let b = copy.advance(600.0, 300.0, &counts, &wet);
    let b2 = copy.advance(900.0, 300.0, &none, &wet);
    assert_eq!(a, b);
    assert_eq!(a2, b2);
    assert_eq!(
        t.simulation().entered_total(),
        copy.simulation().entered_total()
    );
    // Dry again: the road reopens and carries vehicles.
    let dry = t.advance(1200.0, 300.0, &none, &[]);
    assert_eq!(dry.links_closed, 0);
    t.advance(1500.0, 300.0, &none, &[]);
    assert!(entered(&t) > before, "the reopened road carries no vehicle");
}
