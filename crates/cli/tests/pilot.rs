//! Hanoi's pilot city built from the real data in ../shared/data/hanoi by `twin city build`,
//! and the coupled scenario run on it end to end; bad inputs refused or warned about.

mod common;
use common::{s, stderr, twin, twin_ok};
use std::path::Path;

fn info(city: &Path) -> serde_json::Value {
    serde_json::from_slice(&twin_ok(&["info", s(city), "--json"]).stdout).unwrap()
}

fn layer<'a>(j: &'a serde_json::Value, table: &str) -> &'a serde_json::Value {
    j["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["table"] == table)
        .unwrap()
}

/// The pilot city at 25 m: every layer a scenario needs is there, what the data lacked is
/// designed and marked, and the coupled scenario runs on it with a report naming the wards.
#[test]
fn the_pilot_city_builds_from_real_data_and_runs_the_coupled_scenario() {
    let Some(data) = common::hanoi_data() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let city = d.path().join("hanoi.gpkg");
    let o = twin_ok(&[
        "city",
        "build",
        "--osm",
        s(&data.join("hoankiem_2019-06.osm")),
        "--dem",
        s(&data.join("dem/hanoi_center_dem_25m.asc")),
        "--wards",
        s(&data.join("hanoi_wards_2025.csv")),
        "--gauges",
        s(&data.join("hanoi_rain_gauges.csv")),
        "--cell-m",
        "25",
        "--street-sensors",
        "4",
        "--out",
        s(&city),
    ]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let j = info(&city);
    // Surveyed layers stay surveyed; the drainage network and the population are designed.
    assert_eq!(layer(&j, "traffic_road")["designed"], 0);
    assert_eq!(layer(&j, "building")["designed"], 0);
    let util = layer(&j, "utility");
    assert!(util["features"].as_u64().unwrap() > 1000, "{util}");
    assert_eq!(util["designed"], util["features"]);
    assert!(layer(&j, "population")["designed"].as_u64().unwrap() > 200);
    let rules: Vec<String> = j["designed_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["layer"].as_str().unwrap(),
                r["kind"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "utility/conduit",
        "utility/manhole",
        "utility/pump",
        "population/population_block",
        "environment/water.level_m",
        "environment/river.stage_m",
        "environment/street_flood_sensor",
    ] {
        assert!(rules.iter().any(|r| r == want), "{want} not in {rules:?}");
    }
    // The drainage network is valid and drains to the lakes and the river, pumped where the
    // DEM says gravity cannot.
    assert!(out.contains("Drainage / Thoát nước:"), "{out}");
    assert!(!out.contains("invalid network"), "{out}");
    assert!(out.contains("pumped"), "{out}");
    // Residents: the central wards, each at its own gross density.
    let wards = j["metadata"]["wards"].as_str().unwrap().to_string();
    for w in ["Hoàn Kiếm", "Cửa Nam"] {
        assert!(wards.contains(w), "{w} not in {wards}");
    }
    // No ward holds more residents in the model than its total.
    let table = std::fs::read_to_string(data.join("hanoi_wards_2025.csv")).unwrap();
    let total = |name: &str| -> f64 {
        table
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[1] == name).then(|| f[4].parse().unwrap())
            })
            .unwrap()
    };
    for kv in wards.split(';') {
        let (name, n) = kv.split_once('=').unwrap();
        let n: f64 = n.parse().unwrap();
        assert!(
            n <= total(name) + 0.5,
            "{name}: {n} in the model, {} in all",
            total(name)
        );
    }
    // Gauges of the operator's list near the city were taken, not designed.
    assert!(
        out.contains("rain gauges from the operator's list"),
        "{out}"
    );
    let c = twin_io::gpkg::read_city(&city).unwrap();
    let env = c.layer(twin_model::Layer::Environment);
    // Hoàn Kiếm lake's level from the DEM at its shore: the DEM reads 8.8 m there.
    let hk = env
        .features()
        .iter()
        .find(|f| f.name.as_deref() == Some("Hồ Hoàn Kiếm"))
        .unwrap();
    let level = hk.num("level_m").unwrap();
    assert!((7.0..=9.0).contains(&level), "Hoàn Kiếm at {level} m");
    let street_sensors = env
        .features()
        .iter()
        .filter(|f| f.kind == "water_level_sensor" && f.num("alert_depth_m").is_some())
        .count();
    assert_eq!(street_sensors, 4);
    // Every block's residents are at most its ward's gross density times its land.
    let density: std::collections::HashMap<String, f64> = table
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[1].to_string(),
                f[4].parse::<f64>().unwrap() / f[3].parse::<f64>().unwrap(),
            )
        })
        .collect();
    for b in c
        .layer(twin_model::Layer::Population)
        .features()
        .iter()
        .filter(|f| f.kind == "population_block")
    {
        // Blocks are rectangles; their land is at most their area.
        let [lo, hi] = b.bbox().unwrap();
        let land = (hi[0] - lo[0]) * (hi[1] - lo[1]);
        let dens = density[b.text("ward").unwrap()];
        let r = b.num("residents").unwrap();
        assert!(
            r <= (dens * land / 1e6).round() + 0.5,
            "{r} > {dens} × {land}"
        );
    }

    // The coupled scenario on it, end to end.
    let toml = d.path().join("pilot.toml");
    std::fs::write(
        &toml,
        "city = \"hanoi.gpkg\"\nminutes = 90\ncouple = true\n[rain]\ndesign = { return_period_years = 10, duration_min = 60, shape = \"chicago\", depth_mm = 60 }\n[traffic]\ntrips = 6000\n",
    )
    .unwrap();
    let run = d.path().join("run");
    twin_ok(&["scenario", "run", s(&toml), "--out", s(&run)]);
    let report = std::fs::read_to_string(run.join("report.html")).unwrap();
    for want in [
        "Dân cư theo phường",
        "Hoàn Kiếm",
        "Designed, not surveyed",
        "rational method",
    ] {
        assert!(report.contains(want), "report lacks {want}");
    }
    let ledger: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("ledger.json")).unwrap()).unwrap();
    let err = ledger["closure_error_percent"].as_f64().unwrap();
    assert!(err.abs() < 0.5, "water balance closes to {err} %");
    let traffic: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("traffic.json")).unwrap()).unwrap();
    assert!(traffic.to_string().contains("arrived"), "{traffic}");
}

fn write(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap();
}

/// An OSM file without roads, a DEM elsewhere or without a CRS, a ward table of another
/// place: each is refused naming the file, and nothing is written; a DEM with a hole is
/// filled and the fill reported.
#[test]
fn bad_inputs_are_refused_by_name_and_gaps_are_filled_with_a_warning() {
    let Some(data) = common::hanoi_data() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("city.gpkg");
    let osm = data.join("hoankiem_2019-06.osm");
    let dem = data.join("dem/hanoi_center_dem_25m.asc");
    let build = |osm: &Path, dem: &Path, extra: &[&str]| {
        let mut a = vec![
            "city",
            "build",
            "--osm",
            s(osm),
            "--dem",
            s(dem),
            "--cell-m",
            "25",
            "--street-sensors",
            "0",
            "--out",
            s(&out),
        ];
        a.extend_from_slice(extra);
        twin(&a)
    };
    let refused = |o: std::process::Output, want: &[&str]| {
        assert!(!o.status.success());
        let e = stderr(&o);
        for w in want {
            assert!(e.contains(w), "'{w}' not in: {e}");
        }
        assert!(!out.exists(), "a refused build wrote {}", out.display());
    };
    // No roads.
    let no_roads = d.path().join("shop.osm");
    write(
        &no_roads,
        r#"<osm version="0.6"><node id="1" lat="21.03" lon="105.85"><tag k="shop" v="bakery"/></node></osm>"#,
    );
    refused(
        build(&no_roads, &dem, &[]),
        &["shop.osm", "no drivable roads"],
    );
    // A DEM at 0° N 0° E, its CRS given on the command line.
    let far = d.path().join("far.asc");
    let mut g = String::from(
        "ncols 4\nnrows 4\nxllcorner 0\nyllcorner 0\ncellsize 0.001\nNODATA_value -9999\n",
    );
    for _ in 0..4 {
        g += "1 2 3 4\n";
    }
    write(&far, &g);
    refused(
        build(&osm, &far, &["--dem-crs", "EPSG:4326"]),
        &["far.asc", "does not cover the streets"],
    );
    // The same DEM without a CRS.
    refused(build(&osm, &far, &[]), &["far.asc", "states no CRS"]);
    // A ward table of places 100 km away.
    let wards = d.path().join("wards.csv");
    write(
        &wards,
        "ward_id,ward,unit_type,area_km2,population,center_lon,center_lat\n1,Xa,Xã,10,1000,106.8,21.9\n",
    );
    refused(
        build(&osm, &dem, &["--wards", s(&wards)]),
        &["wards.csv", "no ward of the table"],
    );
    // A ward table with a bad number.
    write(
        &wards,
        "ward_id,ward,unit_type,area_km2,population,center_lon,center_lat\n1,Xa,Xã,ten,1000,105.85,21.03\n",
    );
    refused(
        build(&osm, &dem, &["--wards", s(&wards)]),
        &["wards.csv", "line 2", "area_km2", "ten"],
    );
    // The real DEM with a hole of 20 × 20 cells under the old quarter: filled, and said.
    let text = std::fs::read_to_string(&dem).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for line in lines.iter_mut().skip(6 + 100).take(20) {
        let mut v: Vec<&str> = line.split_whitespace().collect();
        for x in v.iter_mut().skip(260).take(20) {
            *x = "-9999";
        }
        *line = v.join(" ");
    }
    let holed = d.path().join("holed.asc");
    write(&holed, &(lines.join("\n") + "\n"));
    std::fs::copy(
        data.join("dem/hanoi_center_dem_25m.prj"),
        d.path().join("holed.prj"),
    )
    .unwrap();
    let o = build(&osm, &holed, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("missing cells filled"), "{e}");
    assert!(out.exists());
    // A surveyed sewer network given as SWMM input (here the network this build designed,
    // exported): kept as surveyed, not designed again, every element in its place.
    let inp = d.path().join("net.inp");
    let storm =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/design-storm-100mm-2h.csv");
    twin_ok(&[
        "export",
        "inp",
        s(&out),
        "--rain",
        s(&storm),
        "--minutes",
        "60",
        "--out",
        s(&inp),
    ]);
    let designed = info(&out);
    let crs = designed["crs"].as_str().unwrap().to_string();
    let surveyed_city = d.path().join("surveyed.gpkg");
    let args = |inp: &Path, crs: &str, to: &Path| -> std::process::Output {
        twin(&[
            "city",
            "build",
            "--osm",
            s(&osm),
            "--dem",
            s(&holed),
            "--cell-m",
            "25",
            "--street-sensors",
            "0",
            "--sewers",
            s(inp),
            "--sewers-crs",
            crs,
            "--out",
            s(to),
        ])
    };
    let o = args(&inp, &crs, &surveyed_city);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = info(&surveyed_city);
    let (u0, u1) = (layer(&designed, "utility"), layer(&j, "utility"));
    assert_eq!(u1["designed"], 0, "{u1}");
    assert_eq!(u0["features"], u1["features"], "{u0} vs {u1}");
    let e = stderr(&o);
    assert!(e.contains("[RAINGAGES]"), "{e}");
    assert!(!e.contains("outside the model area"), "{e}");
    // The same file said to be in WGS 84: the coordinates are not degrees, and it lands far
    // from the streets (refused by the projection, or warned).
    let wrong = d.path().join("wrong.gpkg");
    let o = args(&inp, "EPSG:4326", &wrong);
    let e = stderr(&o);
    assert!(
        !o.status.success() || e.contains("outside the model area"),
        "{e}"
    );
    // A malformed .inp is refused by file and line, and nothing is written.
    let bad = d.path().join("bad.inp");
    write(&bad, "[JUNCTIONS]\nJ1 ten 2\n");
    let not_written = d.path().join("bad.gpkg");
    let o = args(&bad, &crs, &not_written);
    refused_at(&o, &not_written, &["bad.inp", "line 2"]);
}

fn refused_at(o: &std::process::Output, out: &Path, want: &[&str]) {
    assert!(!o.status.success());
    let e = stderr(o);
    for w in want {
        assert!(e.contains(w), "'{w}' not in: {e}");
    }
    assert!(!out.exists(), "a refused build wrote {}", out.display());
}
