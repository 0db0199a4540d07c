use super::*;
use crate::demand::build_demand;
use crate::sumo_net::parse_net;
use crate::sumo_routes::parse_routes;

/// A T junction J: major road WJ -> JE straight, minor road SJ -> JE turning in, which must
/// give way to the major stream (response bit 0 set on request 1).
const T: &str = r#"<net>
  <edge id=":J_0" function="internal"><lane id=":J_0_0" index="0" speed="10" length="10"/></edge>
  <edge id=":J_1" function="internal"><lane id=":J_1_0" index="0" speed="10" length="10"/></edge>
  <edge id="WJ" from="W" to="J"><lane id="WJ_0" index="0" speed="10" length="100"/></edge>
  <edge id="SJ" from="S" to="J"><lane id="SJ_0" index="0" speed="10" length="100"/></edge>
  <edge id="JE" from="J" to="E"><lane id="JE_0" index="0" speed="10" length="1000"/><lane id="JE_1" index="1" speed="10" length="1000"/></edge>
  <junction id="W" type="dead_end" x="-100" y="0"/>
  <junction id="S" type="dead_end" x="0" y="-100"/>
  <junction id="E" type="dead_end" x="1000" y="0"/>
  <junction id="J" type="priority" x="0" y="0" incLanes="WJ_0 SJ_0" intLanes=":J_0_0 :J_1_0">
    <request index="0" response="00" foes="10" cont="0"/>
    <request index="1" response="01" foes="01" cont="0"/>
  </junction>
  <connection from="WJ" to="JE" fromLane="0" toLane="0" via=":J_0_0" dir="s" state="M"/>
  <connection from="SJ" to="JE" fromLane="0" toLane="1" via=":J_1_0" dir="r" state="m"/>
</net>"#;

fn run(major: usize) -> Simulation {
    run_as(major, "")
}

/// As [`run`], the minor vehicle of SUMO class `vclass` if not empty.
fn run_as(major: usize, vclass: &str) -> Simulation {
    let net = crate::network::Network::from_sumo(&parse_net(T).unwrap()).unwrap();
    let wj = net.link("WJ").unwrap();
    let sj = net.link("SJ").unwrap();
    let je = net.link("JE").unwrap();
    let minor = net.movement(sj, je).unwrap();
    assert_eq!(net.priority_foes(minor), [net.movement(wj, je).unwrap()]);
    assert!(net.priority_foes(net.movement(wj, je).unwrap()).is_empty());
    assert!(net.mv_minor[minor.index()]);
    let mut v = String::from(r#"<vType id="x" sigma="0" speedDev="0"/>"#);
    for i in 0..major {
        v += &format!(
            r#"<vehicle id="m{i}" type="x" depart="{}"><route edges="WJ JE"/></vehicle>"#,
            i as f64 * 3.0
        );
    }
    if vclass.is_empty() {
        v += r#"<vehicle id="minor" type="x" depart="0"><route edges="SJ JE"/></vehicle>"#;
    } else {
        v += &format!(
            r#"<vType id="m" vClass="{vclass}" sigma="0" speedDev="0"/><vehicle id="minor" type="m" depart="0"><route edges="SJ JE"/></vehicle>"#
        );
    }
    let rf = parse_routes(&format!("<routes>{v}</routes>")).unwrap();
    let (d, bad) = build_demand(&net, &rf);
    assert!(bad.is_empty());
    let mut s = Simulation::new(net, d, SimConfig::default());
    s.run(None);
    s
}

#[test]
fn minor_road_waits_for_a_gap_in_the_major_stream() {
    // Alone: it slows to sqrt(2·4.5·4.5) = 6.36 m/s at the line but does not stop.
    let s = run(0);
    let r = s
        .trip_results()
        .into_iter()
        .find(|t| t.id == "minor")
        .unwrap();
    let u = (2.0f64 * 4.5 * 4.5).sqrt();
    let expect = 10.0 / 5.2
        + 10.0
        + (10.0 - u).powi(2) / (2.0 * 4.5 * 10.0)
        + 10.0 / u
        + (10.0 - u).powi(2) / (2.0 * 2.6 * 10.0)
        + 100.0;
    assert!(
        (r.arrival - expect).abs() < 1e-9,
        "{} vs {expect}",
        r.arrival
    );
    // Behind 20 major vehicles 3 s apart (gaps shorter than the 3.8 s it needs), it goes
    // only after the last one has crossed.
    let s = run(20);
    let trips = s.trip_results();
    let minor = trips.iter().find(|t| t.id == "minor").unwrap();
    let last_major_cross = 57.0 + 10.0 / 5.2 + 10.0;
    assert!(
        minor.arrival > last_major_cross + 100.0,
        "{}",
        minor.arrival
    );
    assert!(
        minor.arrival < last_major_cross + 125.0,
        "{}",
        minor.arrival
    );
    assert_eq!(s.counters().arrived, 21);
}

#[test]
fn a_motorcycle_takes_the_short_gaps() {
    // Major vehicles 3 s apart leave gaps a car refuses (test above) but a motorcycle,
    // with its 1.25 s critical gap, takes one of the first.
    let s = run_as(20, "motorcycle");
    let t = s.trip_results();
    let minor = t.iter().find(|t| t.id == "minor").unwrap();
    let car = run(20);
    let car_arrival = car
        .trip_results()
        .into_iter()
        .find(|t| t.id == "minor")
        .unwrap()
        .arrival;
    assert!(minor.arrival < 140.0, "{}", minor.arrival);
    assert!(
        minor.arrival + 40.0 < car_arrival,
        "{} vs {car_arrival}",
        minor.arrival
    );
    assert_eq!(s.counters().arrived, 21);
}

#[test]
fn a_link_stores_its_length_and_the_longest_crossing_into_it() {
    // A vehicle counts on JE from the start of its 10 m crossing of J.
    let s = run(0);
    let je = s.network().link("JE").unwrap().index();
    let wj = s.network().link("WJ").unwrap().index();
    assert_eq!(s.space_cap[je], (1000.0 + 10.0) * 2.0);
    assert_eq!(s.space_cap[wj], 100.0);
}

#[test]
fn accelerating_over_a_short_link_leaves_the_rest_of_the_loss_to_the_next() {
    use super::state::accel_on;
    let (a, vmax) = (2.6, 13.9);
    // From a stop over a long link: the whole loss vmax / 2a, at vmax on leaving.
    let (whole, v) = accel_on(500.0, 0.0, a, vmax);
    assert!((whole - vmax / (2.0 * a)).abs() < 1e-12, "{whole}");
    assert_eq!(v, vmax);
    // Over 10 m it reaches only sqrt(2·a·10) = 7.2 m/s and bears what it lost on them ...
    let (first, v1) = accel_on(10.0, 0.0, a, vmax);
    assert!((v1 - (2.0 * a * 10.0f64).sqrt()).abs() < 1e-12, "{v1}");
    assert!((first - (v1 / a - 10.0 / vmax)).abs() < 1e-12, "{first}");
    assert!(first < whole - 0.5, "{first} of {whole}");
    // ... and the next 490 m bear the rest: the same loss over the same 500 m.
    let (rest, v2) = accel_on(490.0, v1, a, vmax);
    assert_eq!(v2, vmax);
    assert!(
        (first + rest - whole).abs() < 1e-9,
        "{first} + {rest} vs {whole}"
    );
    // Entering at the limit or above: no loss.
    assert_eq!(accel_on(5.0, vmax, a, vmax), (0.0, vmax));
}

/// J: the major road WJ runs on to a short link JN; the minor road SJ crosses it to JE and
/// must give way to WJ -> JN.
const CROSS: &str = r#"<net>
  <edge id=":J_0" function="internal"><lane id=":J_0_0" index="0" speed="10" length="10"/></edge>
  <edge id=":J_1" function="internal"><lane id=":J_1_0" index="0" speed="10" length="10"/></edge>
  <edge id="WJ" from="W" to="J"><lane id="WJ_0" index="0" speed="10" length="100"/></edge>
  <edge id="SJ" from="S" to="J"><lane id="SJ_0" index="0" speed="10" length="100"/></edge>
  <edge id="JN" from="J" to="N"><lane id="JN_0" index="0" speed="10" length="2"/></edge>
  <edge id="JE" from="J" to="E"><lane id="JE_0" index="0" speed="10" length="1000"/></edge>
  <junction id="W" type="dead_end" x="-100" y="0"/>
  <junction id="S" type="dead_end" x="0" y="-100"/>
  <junction id="N" type="dead_end" x="0" y="2"/>
  <junction id="E" type="dead_end" x="1000" y="0"/>
  <junction id="J" type="priority" x="0" y="0" incLanes="WJ_0 SJ_0" intLanes=":J_0_0 :J_1_0">
    <request index="0" response="00" foes="10" cont="0"/>
    <request index="1" response="01" foes="01" cont="0"/>
  </junction>
  <connection from="WJ" to="JN" fromLane="0" toLane="0" via=":J_0_0" dir="l" state="M"/>
  <connection from="SJ" to="JE" fromLane="0" toLane="0" via=":J_1_0" dir="r" state="m"/>
</net>"#;

#[test]
fn a_major_vehicle_held_by_a_full_link_does_not_hold_the_minor_road() {
    let net = crate::network::Network::from_sumo(&parse_net(CROSS).unwrap()).unwrap();
    let jn = net.link("JN").unwrap();
    let mut v = String::from(r#"<vType id="x" sigma="0" speedDev="0"/>"#);
    for i in 0..5 {
        v += &format!(
            r#"<vehicle id="m{i}" type="x" depart="{i}"><route edges="WJ JN"/></vehicle>"#
        );
    }
    v += r#"<vehicle id="minor" type="x" depart="0"><route edges="SJ JE"/></vehicle>"#;
    let rf = parse_routes(&format!("<routes>{v}</routes>")).unwrap();
    let (d, bad) = build_demand(&net, &rf);
    assert!(bad.is_empty());
    let mut s = Simulation::new(net, d, SimConfig::default());
    // JN crawls: the first major vehicle holds it for minutes and the others wait at the
    // line of WJ with nowhere to go.
    s.schedule(0.0, LinkEvent::SpeedCap(jn, Some(0.05)));
    s.run(None);
    let minor = s
        .trip_results()
        .into_iter()
        .find(|t| t.id == "minor")
        .unwrap();
    // The minor vehicle crosses as if the major road were empty (about 127 s to the end of
    // JE), not after the 300 s a teleport would take.
    assert!(minor.arrival < 135.0, "{}", minor.arrival);
    assert_eq!(s.counters().arrived, 6);
}
