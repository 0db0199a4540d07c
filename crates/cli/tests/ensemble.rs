//! `twin scenario ensemble SCENARIO.toml`: an 8-member ensemble's probabilities are counts of
//! its members' own outcomes, its medians lie in their 10–90 % ranges, a malformed member
//! count is refused with nothing written; with the `mpi` feature, two MPI ranks give what the
//! local run gives.

mod common;
use common::{stderr, twin};

use serde_json::Value;
use std::path::Path;

/// A short storm on the demo district with a small peak: fast, and heavy enough to close
/// roads in some members and not in others.
const SCENARIO: &str = r#"
city = "city.gpkg"
minutes = 60
rain_start = "06:30"

[rain]
design = { return_period_years = 5, duration_min = 40, depth_mm = 70 }

[traffic]
trips = 3000
seed = 7
"#;

/// The demo district on a 30 m grid, written as `city.gpkg` in `dir`, and the scenario file.
fn setup(dir: &Path) -> std::path::PathBuf {
    let city = twin_citygen::generate(&twin_citygen::DemoOptions {
        dem_cell_m: 30.0,
        ..Default::default()
    });
    twin_io::gpkg::write_city(&city, &dir.join("city.gpkg")).unwrap();
    let file = dir.join("what-if.toml");
    std::fs::write(&file, SCENARIO).unwrap();
    file
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The p-quantile by linear interpolation between order statistics, computed here on its own.
fn quantile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

#[test]
fn an_ensembles_probabilities_are_counts_of_its_members_outcomes() {
    let d = tempfile::tempdir().unwrap();
    let file = setup(d.path());
    let out = d.path().join("ens");

    // A malformed member count, scale range or job count: refused, nothing written.
    for (args, says) in [
        (
            vec!["--members", "0"],
            "--members 0: an ensemble has 1 to 256 members, got 0",
        ),
        (
            vec!["--members", "1000"],
            "--members 1000: an ensemble has 1 to 256 members, got 1000",
        ),
        (
            vec!["--rain-scale", "1.2", "0.8"],
            "the rain scale range must satisfy 0 < low ≤ high ≤ 5",
        ),
        (vec!["--jobs", "0"], "--jobs 0"),
    ] {
        let mut a = vec!["scenario", "ensemble"];
        let (f, o) = (s(&file), s(&out));
        a.push(&f);
        a.extend(args.iter().copied());
        a.extend(["--out", &o]);
        let r = twin(&a);
        assert!(!r.status.success(), "{args:?}");
        assert!(stderr(&r).contains(says), "{args:?}: {}", stderr(&r));
        assert!(!out.exists(), "nothing written for {args:?}");
    }

    // Without the `mpi` feature, --mpi is refused naming the feature.
    #[cfg(not(feature = "mpi"))]
    {
        let r = twin(&[
            "scenario",
            "ensemble",
            &s(&file),
            "--mpi",
            "--out",
            &s(&out),
        ]);
        assert!(!r.status.success());
        assert!(stderr(&r).contains("--features mpi"), "{}", stderr(&r));
        assert!(!out.exists());
    }

    let t = std::time::Instant::now();
    let r = twin(&[
        "scenario",
        "ensemble",
        &s(&file),
        "--members",
        "8",
        "--jobs",
        "2",
        "--out",
        &s(&out),
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    eprintln!(
        "8 members in {:.1} s\n{}",
        t.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&r.stdout)
    );
    for f in [
        "ensemble.json",
        "roads_probability.csv",
        "p_depth_ge_0.3.tif",
        "p_depth_ge_0.3.png",
        "report.html",
        "scenario.toml",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let e = json(&out.join("ensemble.json"));
    let members = e["members"].as_array().unwrap();
    assert_eq!(members.len(), 8);
    for (i, m) in members.iter().enumerate() {
        assert_eq!(m["index"], i);
    }
    // Member 0 is the scenario as written; the others within their ranges.
    assert_eq!(members[0]["rain_scale"], 1.0);
    assert_eq!(members[0]["shift_min"], 0.0);
    assert_eq!(members[0]["traffic_seed"], 7);
    assert_eq!(members[0]["rain_start"], "06:30");
    for m in &members[1..] {
        let (k, sh) = (
            m["rain_scale"].as_f64().unwrap(),
            m["shift_min"].as_f64().unwrap(),
        );
        assert!(
            (0.8..=1.2).contains(&k) && (-30.0..=30.0).contains(&sh),
            "{m}"
        );
    }

    // Each road's probabilities: the members whose own roads cross, over 8.
    let roads = e["summary"]["roads"].as_array().unwrap();
    assert!(!roads.is_empty());
    let member_road = |m: &Value, id: i64| -> Option<Value> {
        m["roads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["feature"] == id)
            .cloned()
    };
    let mut some_closed = false;
    let mut uncertain = 0;
    for r in roads {
        let id = r["feature"].as_i64().unwrap();
        let deep = members
            .iter()
            .filter(|m| {
                member_road(m, id).is_some_and(|x| x["max_depth_m"].as_f64().unwrap() >= 0.3)
            })
            .count();
        let closed = members
            .iter()
            .filter(|m| member_road(m, id).is_some_and(|x| x["closed"] == true))
            .count();
        assert_eq!(
            r["p_depth_ge_0.3"].as_f64().unwrap(),
            deep as f64 / 8.0,
            "{r}"
        );
        assert_eq!(r["p_closed"].as_f64().unwrap(), closed as f64 / 8.0, "{r}");
        some_closed |= closed > 0;
        uncertain += usize::from(closed > 0 && closed < 8);
    }
    assert!(some_closed, "the storm closes roads");
    eprintln!(
        "{} roads wet, {uncertain} closed in some members only",
        roads.len()
    );
    // Every road wet in a member is in the summary.
    let listed: std::collections::BTreeSet<i64> = roads
        .iter()
        .map(|r| r["feature"].as_i64().unwrap())
        .collect();
    for m in members {
        for r in m["roads"].as_array().unwrap() {
            assert!(listed.contains(&r["feature"].as_i64().unwrap()), "{r}");
        }
    }
    // The CSV holds the same probabilities, most likely closed first.
    let csv = std::fs::read_to_string(out.join("roads_probability.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("feature,name,p_depth_ge_0.3,p_closed")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), roads.len());
    let p_closed: Vec<f64> = rows.iter().map(|c| c[3].parse().unwrap()).collect();
    assert!(p_closed.windows(2).all(|w| w[0] >= w[1]), "{p_closed:?}");
    for c in &rows {
        let id: i64 = c[0].parse().unwrap();
        let r = roads.iter().find(|r| r["feature"] == id).unwrap();
        assert_eq!(
            c[2].parse::<f64>().unwrap(),
            r["p_depth_ge_0.3"].as_f64().unwrap()
        );
        assert_eq!(
            c[3].parse::<f64>().unwrap(),
            r["p_closed"].as_f64().unwrap()
        );
    }

    // Each gauge's probability: the members whose own peak rise reached 0.3 m, over 8.
    let gauges = e["summary"]["gauges"].as_array().unwrap();
    assert!(!gauges.is_empty(), "the district's sensors are gauges");
    for g in gauges {
        let hits =
            members
                .iter()
                .filter(|m| {
                    m["gauges"].as_array().unwrap().iter().any(|x| {
                        x["gauge"] == g["gauge"] && x["peak_rise_m"].as_f64().unwrap() >= 0.3
                    })
                })
                .count();
        assert_eq!(
            g["p_rise_ge_0.3"].as_f64().unwrap(),
            hits as f64 / 8.0,
            "{g}"
        );
    }

    // The map: each cell a count of members over 8, adding up to the members' own counts.
    let p = twin_io::raster::read_raster(&out.join("p_depth_ge_0.3.tif"))
        .unwrap()
        .raster;
    let mut sum = 0.0;
    for v in p.data.iter().filter(|v| !p.is_nodata(**v)) {
        let k = *v as f64 * 8.0;
        assert!(
            (k - k.round()).abs() < 1e-4 && (0.0..=8.0).contains(&k),
            "{v}"
        );
        sum += k.round();
    }
    let cells: f64 = members
        .iter()
        .map(|m| m["cells_depth_ge_0.3"].as_f64().unwrap())
        .sum();
    assert_eq!(sum, cells);
    assert!(cells > 0.0);

    // Every figure: median between P10 and P90, each the quantile of the members' values.
    let kpis = e["summary"]["kpis"].as_array().unwrap();
    assert!(kpis.len() >= 12, "{kpis:?}");
    for k in kpis {
        let key = k["key"].as_str().unwrap();
        let v: Vec<f64> = members
            .iter()
            .filter_map(|m| m["kpis"][key].as_f64())
            .collect();
        if v.is_empty() {
            assert!(k["median"].is_null(), "{k}");
            continue;
        }
        let (lo, med, hi) = (
            k["p10"].as_f64().unwrap(),
            k["median"].as_f64().unwrap(),
            k["p90"].as_f64().unwrap(),
        );
        assert!(lo <= med && med <= hi, "{k}");
        for (q, x) in [(0.1, lo), (0.5, med), (0.9, hi)] {
            assert!(
                (quantile(&v, q) - x).abs() <= 1e-9 * x.abs().max(1.0),
                "{key} {q}: {k}"
            );
        }
    }
    for key in [
        "max_depth_m",
        "roads_closed",
        "delay_vehicle_hours",
        "reach.fire_station.beyond_during",
    ] {
        assert!(kpis.iter().any(|k| k["key"] == key), "{key}");
    }
    // More rain, never less water: the members' deepest water follows their rain factor.
    let mut by_scale: Vec<(f64, f64)> = members
        .iter()
        .map(|m| {
            (
                m["rain_scale"].as_f64().unwrap(),
                m["kpis"]["flooded_area_m2.ge_0.3_m"].as_f64().unwrap(),
            )
        })
        .collect();
    by_scale.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(
        by_scale.windows(2).all(|w| w[1].1 >= w[0].1),
        "{by_scale:?}"
    );

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for t in [
        "Xác suất ngập ≥ 30 cm",
        "Probability of water ≥ 30 cm",
        "Roads most likely closed",
        "median and 10–90 % range",
        "p_depth_ge_0.3.png",
    ] {
        assert!(html.contains(t), "{t}");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("scenario.toml")).unwrap(),
        SCENARIO
    );
}

/// `ensemble.json` without what depends on how it ran (wall times, ranks, jobs).
#[cfg(feature = "mpi")]
fn results_only(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("wall_s");
                m.remove("run");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

/// Where two JSON values first differ: the path and both values.
#[cfg(feature = "mpi")]
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(u), Some(v)) => first_difference(u, v, &format!("{at}/{k}")),
                _ => Some(format!("{at}/{k}: in one only")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (u, v))| first_difference(u, v, &format!("{at}/{i}"))),
        _ => (a != b).then(|| format!("{at}: {a} against {b}")),
    }
}

/// Two MPI ranks (`mpirun -np 2`) give what the local run on two threads gives: the same
/// ensemble.json but for wall times, the same road probabilities and the same map.
#[cfg(feature = "mpi")]
#[test]
fn mpi_with_two_ranks_gives_the_local_result() {
    let d = tempfile::tempdir().unwrap();
    let file = setup(d.path());
    let (local, mpi) = (d.path().join("local"), d.path().join("mpi"));
    let r = twin(&[
        "scenario",
        "ensemble",
        &s(&file),
        "--members",
        "8",
        "--jobs",
        "2",
        "--out",
        &s(&local),
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    let o = std::process::Command::new("mpirun")
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "--bind-to",
            "none",
            "-np",
            "2",
            env!("CARGO_BIN_EXE_twin"),
            "scenario",
            "ensemble",
            &s(&file),
            "--members",
            "8",
            "--mpi",
            "--out",
            &s(&mpi),
        ])
        .output()
        .expect("mpirun (Debian openmpi-bin; scripts/setup.sh installs it)");
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 MPI ranks"));
    let (a, b) = (
        json(&local.join("ensemble.json")),
        json(&mpi.join("ensemble.json")),
    );
    assert_eq!(b["run"]["ranks"], 2);
    let (a, b) = (results_only(a), results_only(b));
    if let Some(d) = first_difference(&a, &b, "") {
        panic!("the MPI run differs from the local one: {d}");
    }
    for f in ["roads_probability.csv", "report.html"] {
        assert_eq!(
            std::fs::read_to_string(local.join(f)).unwrap(),
            std::fs::read_to_string(mpi.join(f)).unwrap(),
            "{f}"
        );
    }
    let map = |p: &Path| {
        twin_io::raster::read_raster(&p.join("p_depth_ge_0.3.tif"))
            .unwrap()
            .raster
            .data
    };
    assert_eq!(map(&local), map(&mpi));
}
