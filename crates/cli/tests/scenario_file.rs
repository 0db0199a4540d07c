//! `twin scenario run SCENARIO.toml`: a what-if file runs end to end with its interventions,
//! and a malformed one is refused naming the line and key, with nothing written.

mod common;
use common::{stderr, twin};

use std::path::Path;

const SCENARIO: &str = r#"
city = "city.gpkg"
minutes = 60
rain_start = "06:00"
couple = true

[rain]
design = { return_period_years = 5, duration_min = 60, shape = "chicago", depth_mm = 80 }

[traffic]
trips = 20000
informed = 0.3

[[close_road]]
road = "Đường trục dọc 2 (mẫu) / N–S arterial 2 (synthetic)"
from = "06:30"
to = "08:00"

[[pumps]]
capacity = 0.5

[[pipes]]
names = ["C288"]
scale = 1.5

[[tanks]]
node = "MH98"
volume_m3 = 5000

[[substations]]
names = ["Trạm biến áp E2 (mẫu) / Substation E2 (synthetic)"]
from = "07:00"
to = "07:30"

[[retime_signals]]
road = "Đường trục ngang 2 (mẫu) / E–W arterial 2 (synthetic)"
green_share = 0.65

[response]
diversions = "activated"
close_at_m = 0.2
"#;

/// The demo district on a 30 m grid, written as `city.gpkg` in `dir`.
fn demo_city(dir: &Path) -> twin_model::City {
    let city = twin_citygen::generate(&twin_citygen::DemoOptions {
        dem_cell_m: 30.0,
        ..Default::default()
    });
    twin_io::gpkg::write_city(&city, &dir.join("city.gpkg")).unwrap();
    city
}

#[test]
fn a_scenario_file_runs_with_its_interventions_and_a_bad_one_names_line_and_key() {
    let d = tempfile::tempdir().unwrap();
    let city = demo_city(d.path());
    let file = d.path().join("what-if.toml");
    let out = d.path().join("run");
    let s = |p: &Path| p.to_str().unwrap().to_string();

    // Malformed: a misspelt key, a bad clock time, an unknown road.
    for (bad, says) in [
        (
            SCENARIO.replace("informed = 0.3", "informd = 0.3"),
            "line 12, key 'informd': unknown key; did you mean 'informed'?",
        ),
        (
            SCENARIO.replace("\"08:00\"", "\"8h\""),
            "line 17, key 'close_road.to': expected a clock time HH:MM",
        ),
        (
            SCENARIO.replace("arterial 2 (synthetic)", "arterial 99"),
            "line 14: no road named",
        ),
        (
            SCENARIO.replace("\"MH98\"", "\"MH9999\""),
            "line 26: no node named 'MH9999' in the drainage network (nearest: MH99,",
        ),
        (
            SCENARIO.replace("E2 (mẫu) / Substation E2", "E9 (mẫu) / Substation E9"),
            "line 30: no substation named 'Trạm biến áp E9 (mẫu) / Substation E9 (synthetic)'; the city has: Trạm biến áp E1",
        ),
        (
            SCENARIO.replace("close_at_m = 0.2", "close_at_m = 0.5"),
            "key 'response.close_at_m': expected a depth in [0.05, 0.3] m",
        ),
        (
            SCENARIO.replace(
                "[response]",
                "[signals]\ncontrol = \"actuated\"\n[response]",
            ),
            "line 35, key 'retime_signals': retiming sets fixed-time plans",
        ),
    ] {
        std::fs::write(&file, bad).unwrap();
        let o = twin(&["scenario", "run", &s(&file), "--out", &s(&out)]);
        assert!(!o.status.success());
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
        assert!(!out.exists(), "nothing written");
    }

    std::fs::write(&file, SCENARIO).unwrap();
    let o = twin(&["scenario", "run", &s(&file), "--out", &s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 pipe change(s) (0 laid), 1 tank(s) of 5000 m³ in all"),
        "{}",
        stderr(&o)
    );
    for f in [
        "scenario.toml",
        "summary.json",
        "report.html",
        "alerts.json",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("scenario.toml")).unwrap(),
        SCENARIO
    );
    let sum: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(sum["closed_link_entries"], 0, "{sum}");
    assert!(sum["vehicle_trips"].as_u64().unwrap() > 10_000, "{sum}");
    assert!(
        sum["closure_error_percent"].as_f64().unwrap().abs() < 0.1,
        "{sum}"
    );
    // Alerts: earliest first, none before the rain; every road alert is a street roads.csv
    // shows closed, at the deepest water it reports.
    let al: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("alerts.json")).unwrap()).unwrap();
    assert_eq!(al["thresholds"]["hotspot_depth_m"], 0.3);
    let list = al["alerts"].as_array().unwrap();
    let times: Vec<f64> = list
        .iter()
        .filter_map(|a| a["clock_min"].as_f64())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(times.iter().all(|t| *t >= 360.0), "{times:?}");
    let roads_csv = std::fs::read_to_string(out.join("roads.csv")).unwrap();
    let closed: std::collections::BTreeMap<String, f64> = roads_csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c[5] == "true")
        .fold(Default::default(), |mut m, c| {
            let d = m.entry(c[1].to_string()).or_insert(0.0_f64);
            *d = d.max(c[2].parse().unwrap());
            m
        });
    let road_alerts: Vec<_> = list.iter().filter(|a| a["kind"] == "road_closed").collect();
    assert!(!road_alerts.is_empty(), "{al}");
    for a in road_alerts {
        let name = a["subject"].as_str().unwrap().replace(['"', ','], " ");
        let deepest = closed
            .get(&name)
            .unwrap_or_else(|| panic!("{name} not closed"));
        assert!(a["value"].as_f64().unwrap() <= deepest + 0.001, "{a}");
        assert!(a["value"].as_f64().unwrap() >= 0.3, "{a}");
    }
    // Substation E2 out 07:00–07:30: its signals dark in both runs, said in an alert.
    let dark = std::fs::read_to_string(out.join("dark_signals.csv")).unwrap();
    let rows: Vec<&str> = dark.lines().skip(1).collect();
    assert!(rows.len() >= 3, "{dark}");
    assert!(
        rows.iter()
            .all(|r| r.contains("Substation E2") && r.ends_with(",07:00,07:30,true")),
        "{dark}"
    );
    assert_eq!(sum["dark_signals"].as_u64().unwrap() as usize, rows.len());
    let dc = &sum["dark_crossings"];
    assert!(
        dc[0].as_u64().unwrap() > 0 && dc[1].as_u64().unwrap() > 0,
        "{sum}"
    );
    let sub = list
        .iter()
        .find(|a| a["kind"] == "substation_out")
        .unwrap_or_else(|| panic!("{al}"));
    assert_eq!(
        (sub["clock_min"].as_f64(), sub["until_min"].as_f64()),
        (Some(420.0), Some(450.0))
    );
    // The E–W arterial's signals retimed; diversions activated and listed.
    assert!(sum["retimed_signals"].as_u64().unwrap() >= 3, "{sum}");
    assert_eq!(sum["diversions_activated"], true);
    let div = std::fs::read_to_string(out.join("diversions.csv")).unwrap();
    assert_eq!(
        div.lines().count() as u64,
        1 + sum["diversions"].as_u64().unwrap(),
        "{div}"
    );
    // Buildings by use: counts that add up to the layer.
    let by_use = sum["buildings_flooded"]["by_use"].as_array().unwrap();
    let n: u64 = by_use.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(n as usize, city.layer(twin_model::Layer::Building).len());
    for b in by_use {
        let f = b["flooded"].as_array().unwrap();
        assert!(
            f[0].as_u64() >= f[1].as_u64() && f[1].as_u64() >= f[2].as_u64(),
            "{b}"
        );
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Cảnh báo <span class=\"en\">/ Alerts</span>"));
    assert!(html.contains("Mất điện và đèn tín hiệu tắt"));
    assert!(html.contains("<li>Mất điện trạm biến áp / Substation out: Trạm biến áp E2 (mẫu) / Substation E2 (synthetic) 07:00–07:30</li>"));
    // The report lists what the scenario sets.
    for line in [
        "<li>Đóng đường / Road closed: Đường trục dọc 2 (mẫu) / N–S arterial 2 (synthetic) 06:30–08:00</li>",
        "<li>Bể chứa / Retention tank: 5000 m³ tại / at MH98</li>",
        "<li>Mở rộng cống / Pipes enlarged ×1.5: C288</li>",
    ] {
        assert!(html.contains(line), "{line}");
    }
    // The design storm's 80 mm fell on the city.
    let ledger: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ledger.json")).unwrap()).unwrap();
    let rain_m3 = ledger["rain_m3"].as_f64().unwrap();
    let dem = city.dem.as_ref().unwrap();
    let area = dem.data.iter().filter(|v| !dem.is_nodata(**v)).count() as f64 * dem.cell * dem.cell;
    assert!(
        (rain_m3 / area * 1000.0 - 80.0).abs() < 1.0,
        "{} mm",
        rain_m3 / area * 1000.0
    );
}

/// The city, a design storm of `mm` and a small peak.
fn what_if(mm: f64) -> String {
    format!(
        r#"
city = "city.gpkg"
minutes = 90
couple = true

[rain]
design = {{ return_period_years = 10, duration_min = 60, depth_mm = {mm} }}

[traffic]
trips = 8000
"#
    )
}

#[test]
fn two_runs_compare_figure_by_figure_cell_by_cell_and_road_by_road() {
    let d = tempfile::tempdir().unwrap();
    demo_city(d.path());
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let mut runs = Vec::new();
    for (name, mm) in [("80mm", 80.0), ("130mm", 130.0)] {
        let file = d.path().join(format!("{name}.toml"));
        std::fs::write(&file, what_if(mm)).unwrap();
        let out = d.path().join(name);
        let o = twin(&["scenario", "run", &s(&file), "--out", &s(&out)]);
        assert!(o.status.success(), "{}", stderr(&o));
        runs.push(out);
    }
    let (a, b) = (&runs[0], &runs[1]);
    let out = d.path().join("cmp");
    let o = twin(&["scenario", "compare", &s(a), &s(b), "--out", &s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "compare.html",
        "compare.json",
        "depth_diff.tif",
        "depth_diff.png",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let json = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let c = json(&out.join("compare.json"));
    // Every figure is B − A of the two summaries.
    let (sa, sb) = (json(&a.join("summary.json")), json(&b.join("summary.json")));
    let kpi = |k: &str| {
        c["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["key"] == k)
            .unwrap_or_else(|| panic!("no {k} in {c}"))
            .clone()
    };
    let max_a = sa["max_depth_m"].as_f64().unwrap();
    let max_b = sb["max_depth_m"].as_f64().unwrap();
    assert_eq!(
        kpi("max_depth_m")["change"].as_f64().unwrap(),
        max_b - max_a
    );
    let trips = kpi("mean_trip_s.flooded");
    assert_eq!(trips["a"], sa["mean_trip_s"][1]);
    assert_eq!(trips["b"], sb["mean_trip_s"][1]);
    // The difference grid is B − A cell by cell.
    let ra = twin_io::raster::read_raster(&a.join("max_depth.tif"))
        .unwrap()
        .raster;
    let rb = twin_io::raster::read_raster(&b.join("max_depth.tif"))
        .unwrap()
        .raster;
    let diff = twin_io::raster::read_raster(&out.join("depth_diff.tif"))
        .unwrap()
        .raster;
    let mut deeper = 0usize;
    for k in 0..ra.data.len() {
        if ra.is_nodata(ra.data[k]) {
            continue;
        }
        let want = rb.data[k] - ra.data[k];
        assert!(
            (diff.data[k] - want).abs() < 1e-6,
            "cell {k}: {} vs {want}",
            diff.data[k]
        );
        deeper += usize::from(want as f64 >= 0.05);
    }
    // Under the heavier storm the water stands deeper somewhere; the count matches the
    // report's area.
    assert!(deeper > 0);
    assert_eq!(
        c["depth"]["deeper_area_m2"].as_f64().unwrap(),
        deeper as f64 * ra.cell * ra.cell
    );
    // Roads closed in one run only are those of the two roads.csv files.
    let closed = |dir: &Path| -> std::collections::BTreeSet<i64> {
        std::fs::read_to_string(dir.join("roads.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .filter(|l| l.split(',').nth(5) == Some("true"))
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect()
    };
    let (ca, cb) = (closed(a), closed(b));
    let only_b: Vec<i64> = c["roads_closed"]["only_b"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["feature"].as_i64().unwrap())
        .collect();
    assert_eq!(only_b, cb.difference(&ca).copied().collect::<Vec<_>>());
    assert_eq!(
        c["roads_closed"]["both"].as_u64().unwrap() as usize,
        ca.intersection(&cb).count()
    );
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert!(html.contains("Độ sâu ngập lớn nhất") && html.contains("Maximum flood depth"));
    // A folder that is not a finished run is refused, and nothing is written.
    let bad = d.path().join("cmp2");
    let o = twin(&[
        "scenario",
        "compare",
        &s(a),
        &s(d.path()),
        "--out",
        &s(&bad),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a finished run's folder"),
        "{}",
        stderr(&o)
    );
    assert!(!bad.exists());
}

#[test]
fn more_rain_never_floods_less_and_no_rain_leaves_traffic_alone() {
    let d = tempfile::tempdir().unwrap();
    // Substation E1, in a low corner, goes out at 0.2 m of water here.
    let mut city = twin_citygen::generate(&twin_citygen::DemoOptions {
        dem_cell_m: 30.0,
        ..Default::default()
    });
    let e1 = city
        .layer(twin_model::Layer::Utility)
        .features()
        .iter()
        .find(|f| f.kind == "substation")
        .unwrap()
        .clone();
    let e1_name = e1.name.clone().unwrap();
    city.layer_mut(twin_model::Layer::Utility)
        .insert(e1.with("flood_threshold_m", 0.2));
    twin_io::gpkg::write_city(&city, &d.path().join("city.gpkg")).unwrap();
    std::fs::write(d.path().join("dry.csv"), "minute,mm_per_hour\n0,0\n").unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let mut sums = Vec::new();
    let mut alert_counts = Vec::new();
    for (name, rain) in [
        ("dry", "csv = \"dry.csv\"".to_string()),
        (
            "40mm",
            "design = { return_period_years = 2, duration_min = 60, depth_mm = 40 }".into(),
        ),
        (
            "80mm",
            "design = { return_period_years = 2, duration_min = 60, depth_mm = 80 }".into(),
        ),
        (
            "130mm",
            "design = { return_period_years = 2, duration_min = 60, depth_mm = 130 }".into(),
        ),
    ] {
        let file = d.path().join(format!("{name}.toml"));
        std::fs::write(
            &file,
            format!(
                "city = \"city.gpkg\"\nminutes = 90\ncouple = true\n[rain]\n{rain}\n[traffic]\ntrips = 8000\n"
            ),
        )
        .unwrap();
        let out = d.path().join(name);
        let o = twin(&["scenario", "run", &s(&file), "--out", &s(&out)]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let sum: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let al: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("alerts.json")).unwrap())
                .unwrap();
        sums.push((name, sum));
        alert_counts.push(al["alerts"].as_array().unwrap().len());
    }
    let f = |v: &serde_json::Value, k: &str| -> f64 {
        k.split('/')
            .fold(v, |v, p| match p.parse::<usize>() {
                Ok(i) => &v[i],
                Err(_) => &v[p],
            })
            .as_f64()
            .unwrap_or_else(|| panic!("{k} in {v}"))
    };
    // The emergency services' reach: the same without rain, never better under the flood,
    // and cut by the heaviest storm.
    for (name, sum) in &sums {
        for r in sum["reach"].as_array().unwrap() {
            let (b, d) = (
                r["beyond_before"].as_f64().unwrap(),
                r["beyond_during"].as_f64().unwrap(),
            );
            if *name == "dry" {
                assert_eq!(b, d, "{r}");
                assert_eq!(r["mean_min"][0], r["mean_min"][1], "{r}");
            } else {
                assert!(d >= b, "{name}: {r}");
            }
        }
    }
    assert!(f(&sums[3].1, "reach/0/beyond_during") > f(&sums[3].1, "reach/0/beyond_before"));
    eprintln!(
        "130mm: residents beyond 10 min of a fire station {:.0} → {:.0} ({:.0} cut off) of {:.0}",
        f(&sums[3].1, "reach/0/beyond_before"),
        f(&sums[3].1, "reach/0/beyond_during"),
        f(&sums[3].1, "reach/0/cut_off_during"),
        f(&sums[3].1, "reach/0/residents")
    );
    // No rain, no alert; more rain, never fewer.
    assert_eq!(alert_counts[0], 0);
    assert!(
        alert_counts.windows(2).all(|w| w[0] <= w[1]),
        "{alert_counts:?}"
    );
    assert!(alert_counts[3] > 0);
    // No rain: no water, nothing closed, the peak as traffic alone runs it.
    let dry = &sums[0].1;
    assert!(f(dry, "max_depth_m") < 0.001, "{dry}");
    assert_eq!(f(dry, "roads_closed"), 0.0);
    assert_eq!(f(dry, "links_closed"), 0.0);
    assert_eq!(f(dry, "mean_trip_s/0"), f(dry, "mean_trip_s/1"), "{dry}");
    assert_eq!(f(dry, "delay_vehicle_hours"), 0.0);
    assert_eq!(f(dry, "delay_vehicle_hours_all"), 0.0);
    assert_eq!(f(dry, "unfinished/0"), f(dry, "unfinished/1"));
    for k in [
        "buildings_flooded/ge_0.1_m",
        "jobs/ge_0.1_m",
        "cut_off/residents",
        "substations_out",
        "dark_signals",
        "diversions",
    ] {
        assert_eq!(f(dry, k), 0.0, "{k}: {dry}");
    }
    // Three rain levels: never less flooding, fewer closures or less delay with more rain.
    for w in sums.windows(2) {
        let ((na, a), (nb, b)) = (&w[0], &w[1]);
        for k in [
            "max_depth_m",
            "flooded_area_m2/ge_0.1_m",
            "flooded_area_m2/ge_0.3_m",
            "roads_closed",
            "links_closed",
            "delay_vehicle_hours",
            "delay_vehicle_hours_all",
            "buildings_flooded/ge_0.1_m",
            "buildings_flooded/ge_0.3_m",
            "jobs/ge_0.3_m",
            "substations_out",
            "dark_signals",
        ] {
            assert!(
                f(b, k) >= f(a, k),
                "{k}: {nb} gives {} < {na}'s {}",
                f(b, k),
                f(a, k)
            );
        }
        eprintln!(
            "{nb}: area ≥ 30 cm {:.0} m², roads closed {}, delay {:.1} vehicle-h, buildings ≥ 30 cm {}, substations out {}, dark signals {}",
            f(b, "flooded_area_m2/ge_0.3_m"),
            f(b, "roads_closed"),
            f(b, "delay_vehicle_hours"),
            f(b, "buildings_flooded/ge_0.3_m"),
            f(b, "substations_out"),
            f(b, "dark_signals")
        );
    }
    // The heaviest storm takes E1 out and darkens its signals, and no other.
    let wet = &sums[3].1;
    assert!(f(wet, "substations_out") >= 1.0, "{}", wet["substations"]);
    for sub in wet["substations"].as_array().unwrap() {
        let out = !sub["out_clock_min"].is_null();
        assert_eq!(
            out,
            sub["max_depth_m"].as_f64() >= sub["threshold_m"].as_f64(),
            "{sub}"
        );
        assert_eq!(out, sub["name"] == e1_name.as_str(), "{sub}");
    }
    let dark = std::fs::read_to_string(d.path().join("130mm/dark_signals.csv")).unwrap();
    let rows: Vec<&str> = dark.lines().skip(1).collect();
    assert!(!rows.is_empty() && rows.len() as f64 == f(wet, "dark_signals"));
    assert!(
        rows.iter()
            .all(|r| r.contains(e1_name.as_str()) && r.ends_with(",,false")),
        "{dark}"
    );
    assert_eq!(f(wet, "dark_crossings/0"), 0.0);
    assert!(f(wet, "dark_crossings/1") > 0.0, "{wet}");
    // The heaviest storm floods and delays for real.
    let wet = &sums[3].1;
    assert!(
        f(wet, "roads_closed") > 0.0 && f(wet, "delay_vehicle_hours") > 0.0,
        "{wet}"
    );
}

/// A historical day at the drainage operator's 49 gauges (../shared/data/hanoi): each cell's
/// total is the inverse-distance or Thiessen value of the day's readings, computed here
/// independently from the two files, and that rain is what falls on the grid.
#[test]
fn a_historical_day_rains_each_gauges_total_spread_between_the_gauges() {
    let Some(data) = common::hanoi_data() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let city = demo_city(d.path());
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (gauges, daily) = (
        data.join("hanoi_rain_gauges.csv"),
        data.join("hanoi_rain_daily_2020_2025.csv"),
    );
    let file = |date: &str, spread: &str| {
        format!(
            "city = \"city.gpkg\"\nminutes = 40\n[rain]\nhistorical = {{ date = \"{date}\", gauges = \"{}\", daily = \"{}\", spread = \"{spread}\", duration_min = 30 }}\n[traffic]\ntrips = 2000\n",
            s(&gauges),
            s(&daily)
        )
    };
    // The day's readings, read and placed here on their own.
    let list = std::fs::read_to_string(&gauges).unwrap();
    let mut at: std::collections::HashMap<String, (f64, f64)> = Default::default();
    for l in list.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        at.insert(f[0].into(), (f[5].parse().unwrap(), f[6].parse().unwrap()));
    }
    let readings: Vec<(String, f64)> = std::fs::read_to_string(&daily)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("2025-09-30,") && l.trim_end().ends_with(",ok"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[3].parse().unwrap())
        })
        .collect();
    assert_eq!(readings.len(), 32);
    let (mut xs, mut ys): (Vec<f64>, Vec<f64>) = readings.iter().map(|(id, _)| at[id]).unzip();
    twin_io::crs::Reprojector::new(twin_model::Crs { epsg: 4326 }, city.crs, "test")
        .unwrap()
        .transform(&mut xs, &mut ys)
        .unwrap();

    for spread in ["idw", "thiessen"] {
        let toml = d.path().join(format!("{spread}.toml"));
        std::fs::write(&toml, file("2025-09-30", spread)).unwrap();
        let out = d.path().join(spread);
        let o = twin(&["scenario", "run", &s(&toml), "--out", &s(&out)]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("historical rain 2025-09-30: 32 of 49 gauges read"),
            "{}",
            stderr(&o)
        );
        if let Some(l) = stderr(&o).lines().find(|l| l.contains("historical rain")) {
            eprintln!("{spread}: {l}");
        }
        let total = twin_io::raster::read_raster(&out.join("rain_total.tif"))
            .unwrap()
            .raster;
        let mut sum = 0.0;
        for row in 0..total.ny {
            for col in 0..total.nx {
                let v = total.get(col, row) as f64;
                sum += v;
                let [x, y] = total.cell_center(col, row);
                let d2: Vec<f64> = xs
                    .iter()
                    .zip(&ys)
                    .map(|(gx, gy)| (gx - x).powi(2) + (gy - y).powi(2))
                    .collect();
                let expected = if spread == "idw" {
                    let w: Vec<f64> = d2.iter().map(|d| 1.0 / d).collect();
                    w.iter().zip(&readings).map(|(w, r)| w * r.1).sum::<f64>()
                        / w.iter().sum::<f64>()
                } else {
                    let k = (0..d2.len())
                        .min_by(|a, b| d2[*a].total_cmp(&d2[*b]))
                        .unwrap();
                    readings[k].1
                };
                assert!(
                    (v - expected).abs() < 1e-3 * expected,
                    "{spread} ({col}, {row}): {v} vs {expected}"
                );
            }
        }
        assert!(out.join("rain_total.png").is_file());
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(
            html.contains("Mưa lịch sử / Historical day 2025-09-30")
                && html.contains("rain_total.png")
        );
        // The rain on the grid is the map's volume.
        let ledger: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("ledger.json")).unwrap())
                .unwrap();
        let rain = ledger["rain_m3"].as_f64().unwrap();
        let map = sum / 1000.0 * total.cell * total.cell;
        assert!((rain / map - 1.0).abs() < 1e-3, "{rain} m³ vs {map} m³");
        eprintln!("{spread}: {rain:.0} m³ of rain, the map {map:.0} m³");
    }

    // A day that is not one, a flagged reading named.
    std::fs::write(d.path().join("bad.toml"), file("2025-09-31", "idw")).unwrap();
    let o = twin(&[
        "scenario",
        "run",
        &s(&d.path().join("bad.toml")),
        "--out",
        &s(&d.path().join("bad")),
    ]);
    assert!(
        stderr(&o).contains("line 4, key 'rain.historical.date'"),
        "{}",
        stderr(&o)
    );
    std::fs::write(d.path().join("q.toml"), file("2021-08-12", "thiessen")).unwrap();
    let o = twin(&[
        "scenario",
        "run",
        &s(&d.path().join("q.toml")),
        "--out",
        &s(&d.path().join("q")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 reading(s) on 2021-08-12 left out by their quality flag: c33 (suspect_isolated, 395.2 mm)"),
        "{}",
        stderr(&o)
    );
}
