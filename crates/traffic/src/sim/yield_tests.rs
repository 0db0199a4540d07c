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
