//! End-to-end check of the `traffic_run` binary: files in, trips.csv and summary.json out,
//! and a malformed file named in the error.

use std::path::PathBuf;
use std::process::Command;

const NET: &str = r#"<net>
  <edge id="AB" from="A" to="B"><lane id="AB_0" index="0" speed="10" length="200"/></edge>
  <edge id="BC" from="B" to="C"><lane id="BC_0" index="0" speed="10" length="100"/></edge>
  <junction id="A" type="dead_end" x="0" y="0"/>
  <junction id="B" type="priority" x="200" y="0"/>
  <junction id="C" type="dead_end" x="300" y="0"/>
  <connection from="AB" to="BC" fromLane="0" toLane="0"/>
</net>"#;

const ROUTES: &str = r#"<routes>
  <vType id="x" sigma="0" speedDev="0"/>
  <vehicle id="a" type="x" depart="0"><route edges="AB BC"/></vehicle>
  <trip id="b" type="x" depart="5" from="AB" to="BC"/>
  <trip id="lost" depart="5" from="BC" to="AB"/>
</routes>"#;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("twin-traffic-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn writes_trips_and_summary() {
    let d = scratch("ok");
    std::fs::write(d.join("n.net.xml"), NET).unwrap();
    std::fs::write(d.join("r.rou.xml"), ROUTES).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_traffic_run"))
        .args([
            "--net",
            "n.net.xml",
            "--routes",
            "r.rou.xml",
            "--out",
            "res",
        ])
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("r.rou.xml:5: vehicle \"lost\" not simulated: no path"),
        "{stderr}"
    );
    let trips = std::fs::read_to_string(d.join("res/trips.csv")).unwrap();
    // 10/(2·2.6) s to reach speed, then 300 m at 10 m/s.
    assert_eq!(
        trips,
        "id,depart,arrival,duration,route_length\na,0.00,31.92,31.92,300.00\nb,5.00,36.92,31.92,300.00\n"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("res/summary.json")).unwrap())
            .unwrap();
    assert_eq!(s["arrived"], 2);
    assert_eq!(s["unroutable_count"], 1);
    assert!((s["mean_duration"].as_f64().unwrap() - 31.923).abs() < 1e-3);
    assert!(s["updates_per_second"].as_f64().unwrap() > 0.0);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn malformed_input_names_file_and_line() {
    let d = scratch("bad");
    std::fs::write(
        d.join("n.net.xml"),
        NET.replace("length=\"100\"", "length=\"-1\""),
    )
    .unwrap();
    std::fs::write(d.join("r.rou.xml"), ROUTES).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_traffic_run"))
        .args([
            "--net",
            "n.net.xml",
            "--routes",
            "r.rou.xml",
            "--out",
            "res",
        ])
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("n.net.xml"), "{stderr}");
    assert!(
        stderr.contains(
            "line 3: <lane> attribute `length`: must be at least 0 and at most 100000 m, found -1"
        ),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&d);
}
