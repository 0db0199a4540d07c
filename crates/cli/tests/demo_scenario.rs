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

    playback_holds_each_frames_water_the_roads_and_the_vehicles(&out, trips);

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

/// The playback folder (format `twin-playback` 1, README): a depth frame every 5 minutes from
/// the dry start to the end, each no deeper than the run's maximum and the last one below it
/// where the water drained; the roads the flood closed shown closed and empty; a vehicle
/// frame a minute with every vehicle inside the city.
fn playback_holds_each_frames_water_the_roads_and_the_vehicles(out: &Path, trips: f64) {
    let pb = out.join("playback");
    let index = json(&pb.join("index.json"));
    assert_eq!(index["format"], "twin-playback");
    assert_eq!(index["version"], 1);
    assert_eq!(index["start_clock"], "06:00");
    assert_eq!(index["depth"]["every_min"], 5.0);
    let frames = index["depth"]["frames"].as_array().unwrap();
    let minutes: Vec<f64> = frames
        .iter()
        .map(|f| f["minute"].as_f64().unwrap())
        .collect();
    assert_eq!(
        minutes,
        (0..=30).map(|k| 5.0 * k as f64).collect::<Vec<_>>()
    );
    let max = twin_io::raster::read_raster(&out.join("max_depth.tif"))
        .unwrap()
        .raster;
    let read = |k: usize| {
        twin_io::raster::read_raster(&pb.join(frames[k]["file"].as_str().unwrap()))
            .unwrap()
            .raster
    };
    let first = read(0);
    assert!(first.data.iter().all(|d| *d == 0.0));
    let mut deepest_seen = vec![0.0f32; max.data.len()];
    for k in 1..frames.len() {
        let f = read(k);
        assert_eq!(
            (f.nx, f.ny, f.x0, f.y0, f.cell),
            (max.nx, max.ny, max.x0, max.y0, max.cell)
        );
        for (i, d) in f.data.iter().enumerate() {
            let m = max.data[i];
            if m.is_finite() && max.nodata != Some(m) {
                assert!(
                    *d <= m + 1e-4,
                    "frame {k} cell {i}: {d} over the maximum {m}"
                );
            }
            deepest_seen[i] = deepest_seen[i].max(*d);
        }
    }
    let last = read(frames.len() - 1);
    let drained = (0..max.data.len())
        .filter(|&i| max.data[i].is_finite() && max.data[i] > last.data[i] + 0.05)
        .count();
    assert!(drained > 100, "{drained} cells below their peak at the end");
    // The frames catch the peak to within what 5 minutes of rain can add.
    let peak = max
        .data
        .iter()
        .filter(|d| d.is_finite())
        .fold(0.0f32, |a, &b| a.max(b));
    let seen = deepest_seen.iter().fold(0.0f32, |a, &b| a.max(b));
    assert!(seen > 0.8 * peak, "{seen} vs {peak}");

    // Roads: the features roads.csv says the flood closed appear closed, and nobody enters
    // a closed road.
    let roads = std::fs::read_to_string(pb.join("roads.csv")).unwrap();
    let mut lines = roads.lines();
    assert_eq!(
        lines.next(),
        Some("begin_min,end_min,feature,speed_kmh,closed,vehicles")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let closed: Vec<&Vec<&str>> = rows.iter().filter(|r| r[4] == "1").collect();
    assert!(closed.len() > 10, "{}", closed.len());
    assert!(closed.iter().all(|r| r[5] == "0"), "a closed road entered");
    let entered: u64 = rows.iter().map(|r| r[5].parse::<u64>().unwrap()).sum();
    assert!(
        entered as f64 > 2.0 * trips,
        "{entered} link entries for {trips} trips"
    );

    // Vehicles: header, one frame a minute, positions inside the city, classes 0..=3.
    let bin = std::fs::read(pb.join("vehicles.bin")).unwrap();
    assert_eq!(&bin[..8], b"TWINVEH1");
    let u32_at = |o: usize| u32::from_le_bytes(bin[o..o + 4].try_into().unwrap());
    let f32_at = |o: usize| f32::from_le_bytes(bin[o..o + 4].try_into().unwrap());
    assert_eq!(u32_at(8), 60);
    let n_frames = u32_at(12) as usize;
    assert_eq!(n_frames as u64, index["vehicle_frames"].as_u64().unwrap());
    let (x1, y0) = (
        max.x0 + max.cell * max.nx as f64,
        max.y0 - max.cell * max.ny as f64,
    );
    let mut o = 16;
    let mut t_prev = f32::MIN;
    let mut busiest = 0;
    for _ in 0..n_frames {
        let t = f32_at(o);
        assert!(t > t_prev);
        t_prev = t;
        let n = u32_at(o + 4) as usize;
        busiest = busiest.max(n);
        o += 8;
        for _ in 0..n {
            assert!(bin[o + 4] <= 3);
            let (x, y) = (f32_at(o + 8) as f64, f32_at(o + 12) as f64);
            assert!(
                (max.x0 - 1.0..=x1 + 1.0).contains(&x) && (y0 - 1.0..=max.y0 + 1.0).contains(&y)
            );
            o += 16;
        }
    }
    assert_eq!(o, bin.len());
    assert!(busiest > 1000, "{busiest}");
    // Pumps, minute by minute: their flows summed over the minutes give the volume the
    // ledger has leaving the network (the demo's outfall is behind its pumps).
    let pumps = std::fs::read_to_string(pb.join("pumps.csv")).unwrap();
    let pumped: f64 = 60.0
        * pumps
            .lines()
            .skip(1)
            .map(|l| l.rsplit(',').next().unwrap().parse::<f64>().unwrap())
            .sum::<f64>();
    let outfall = json(&out.join("ledger.json"))["outfall_m3"]
        .as_f64()
        .unwrap();
    assert!(outfall > 1000.0, "{outfall}");
    assert!(
        (pumped - outfall).abs() < 0.1 * outfall,
        "pumped {pumped} m³ vs {outfall} m³ out"
    );
}
