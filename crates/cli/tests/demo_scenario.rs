//! The full demo scenario, as `scripts/demo.sh` runs it: the demo district under the
//! 100 mm / 2 h design storm with its sewers coupled, then the morning peak with and without
//! the flood. Checks what must hold on any run (the water balance closes, nobody drives into a
//! closed road, every trip is accounted for) and that the figures recorded in
//! benches/results/demo.md (by `bash benches/demo/run.sh`) are the ones the code gives today.

use std::path::Path;
use std::process::Command;

fn twin(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(args)
        .output()
        .expect("run twin");
    assert!(
        o.status.success(),
        "twin {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The value of a row of the table in benches/results/demo.md.
fn recorded(table: &str, figure: &str) -> String {
    table
        .lines()
        .find_map(|l| l.strip_prefix(&format!("| {figure} | ")))
        .unwrap_or_else(|| panic!("benches/results/demo.md has no row '{figure}'"))
        .trim_end_matches(" |")
        .to_string()
}

#[test]
fn demo_scenario_closes_its_water_balance_keeps_closed_roads_empty_and_matches_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("demo.gpkg");
    let out = dir.path().join("demo-scenario");
    let rain =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/design-storm-100mm-2h.csv");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    twin(&["demo-city", "--out", &s(&city)]);
    twin(&[
        "scenario",
        "run",
        "--city",
        &s(&city),
        "--rain",
        &s(&rain),
        "--minutes",
        "150",
        "--couple",
        "--out",
        &s(&out),
    ]);
    let sum = json(&out.join("summary.json"));
    let num = |k: &str| {
        sum[k]
            .as_f64()
            .unwrap_or_else(|| panic!("summary.json: {k}"))
    };
    let pair = |k: &str| [sum[k][0].as_f64().unwrap(), sum[k][1].as_f64().unwrap()];

    // Invariants of any run.
    assert!(num("closure_error_percent").abs() < 0.1, "{sum}");
    assert_eq!(
        num("closed_link_entries"),
        0.0,
        "vehicles entered closed links"
    );
    let trips = num("vehicle_trips");
    let [arrived_base, arrived_flood] = pair("arrived");
    assert_eq!(arrived_base, trips, "every trip arrives without the flood");
    assert!(arrived_flood + num("stranded") <= trips);
    assert!(num("links_closed") > 0.0 && num("roads_closed") > 0.0);
    let [mean_base, mean_flood] = pair("mean_trip_s");
    assert!(mean_flood > mean_base, "the flood slows the peak");
    let [v_base, v_flood] = pair("peak_hour_speed_kmh");
    assert!(v_flood < v_base);
    for f in [
        "report.html",
        "roads.png",
        "max_depth.png",
        "traffic.json",
        "roads.csv",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }

    // The recorded figures are today's.
    let table = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/results/demo.md"),
    )
    .unwrap();
    let int = |x: f64| {
        let s = format!("{:.0}", x);
        let mut out = String::new();
        for (k, c) in s.chars().enumerate() {
            if k > 0 && (s.len() - k) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    assert_eq!(recorded(&table, "vehicle trips 06:00–09:00"), int(trips));
    assert_eq!(
        recorded(&table, "stranded (no route) / rerouted"),
        format!("{} / {}", int(num("stranded")), int(num("rerouted")))
    );
    assert_eq!(
        recorded(&table, "directed links ever closed / slowed"),
        format!("{} / {}", num("links_closed"), num("links_slowed"))
    );
    assert!(
        recorded(&table, "water balance closure")
            .starts_with(&format!("{:.3} %", num("closure_error_percent"))),
        "closure {}",
        num("closure_error_percent")
    );
    assert_eq!(
        recorded(&table, "mean trip: no flood / flooded"),
        format!("{mean_base:.0} s / {mean_flood:.0} s")
    );
    // The delay of every trip, the unfinished and stranded included, is at least that of the
    // trips that arrived, and both are recorded.
    assert!(
        num("delay_vehicle_hours_all") >= num("delay_vehicle_hours"),
        "{sum}"
    );
    assert_eq!(
        recorded(
            &table,
            "extra delay of every trip (stranded and unfinished included)"
        ),
        format!("{} vehicle-hours", int(num("delay_vehicle_hours_all")))
    );
    assert_eq!(
        recorded(&table, "unfinished at 10:00: no flood / flooded"),
        format!(
            "{} / {}",
            int(sum["unfinished"][0].as_f64().unwrap()),
            int(sum["unfinished"][1].as_f64().unwrap())
        )
    );
}
