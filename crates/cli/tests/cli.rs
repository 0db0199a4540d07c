//! End-to-end runs of the `twin` binary: outputs readable by GDAL, clear errors with a non-zero
//! exit and nothing left behind on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// SWMM's reference figures (benches/swmm/pinned.csv), read as the hydro tests read them.
#[path = "../../hydro/tests/common/pinned.rs"]
mod pinned;

fn twin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(args)
        .output()
        .expect("run twin")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn demo_city_gpkg_has_eleven_tables_in_vn2000_and_info_shows_them_filled() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("city.gpkg");
    // A cell size outside 2–100 m is refused and nothing is written.
    let o = twin(&["demo-city", "--cell-m", "0.5", "--out", s(&out)]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--cell-m must lie in 2..100 m, got 0.5"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    let o = twin(&["demo-city", "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("SYNTHETIC"), "{text}");
    // GDAL's own ogrinfo reads every layer table with the VN-2000 / UTM 48N CRS.
    let tables = [
        "building",
        "green",
        "traffic_road",
        "environment",
        "utility",
        "population",
        "economic",
        "public_service",
        "security",
        "digital_infrastructure",
        "twin_3d4d",
    ];
    let o = Command::new("ogrinfo")
        .args(["-ro", "-so", s(&out)])
        .args(tables)
        .output()
        .expect("ogrinfo (gdal-bin) is installed by scripts/setup.sh");
    let info = String::from_utf8_lossy(&o.stdout);
    for t in tables {
        assert!(
            info.contains(&format!("Layer name: {t}")),
            "ogrinfo misses {t}:\n{info}"
        );
    }
    assert_eq!(info.matches("ID[\"EPSG\",3405]").count(), 11, "{info}");
    let o = twin(&["info", s(&out), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["crs"], "EPSG:3405");
    assert_eq!(j["synthetic"], true);
    let layers = j["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 11);
    for l in layers {
        assert!(l["features"].as_u64().unwrap() > 0, "empty layer {l}");
    }
    assert_eq!(j["dem"]["nx"], 300);
}

#[test]
fn bad_inputs_fail_clearly_and_leave_nothing_behind() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // Truncated or garbage PBF.
    let pbf = dir.join("broken.osm.pbf");
    let real =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata/Helsinki.osm.pbf");
    match std::fs::read(&real) {
        Ok(bytes) => std::fs::write(&pbf, &bytes[..bytes.len() / 3]).unwrap(),
        Err(_) => std::fs::write(&pbf, b"\x00\x00\x00\x0eOSMHeader\x18\x10 truncated").unwrap(),
    }
    let out = dir.join("out.gpkg");
    let o = twin(&["import", "osm", s(&pbf), "--out", s(&out)]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("broken.osm.pbf") && e.contains("PBF"), "{e}");
    assert!(!out.exists());
    // Unknown CRS.
    let osm = dir.join("tiny.osm");
    std::fs::write(&osm, r#"<osm version="0.6"><node id="1" lat="21.03" lon="105.85"/><node id="2" lat="21.031" lon="105.85"/><way id="3"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way></osm>"#).unwrap();
    let o = twin(&[
        "import",
        "osm",
        s(&osm),
        "--crs",
        "EPSG:999999",
        "--out",
        s(&out),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("EPSG:999999"), "{}", stderr(&o));
    assert!(!out.exists());
    // Unwritable output: missing directory, and a directory in the way.
    let o = twin(&[
        "import",
        "osm",
        s(&osm),
        "--out",
        s(&dir.join("no/such/dir/c.gpkg")),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    std::fs::create_dir(dir.join("adir.gpkg")).unwrap();
    let o = twin(&["import", "osm", s(&osm), "--out", s(&dir.join("adir.gpkg"))]);
    assert!(!o.status.success());
    // A good import, then a bad GeoJSON into it: the error names file, feature and field and
    // the stored city is untouched.
    let o = twin(&["import", "osm", s(&osm), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(&out).unwrap();
    let bad = dir.join("parks.geojson");
    std::fs::write(&bad, r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[105.85,21.03]]}}]}"#).unwrap();
    let o = twin(&[
        "import",
        "gis",
        s(&bad),
        "--layer",
        "green",
        "--out",
        s(&out),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("parks.geojson") && e.contains("feature 1") && e.contains("geometry"),
        "{e}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);
    let o = twin(&[
        "import",
        "gis",
        s(&bad),
        "--layer",
        "gardens",
        "--out",
        s(&out),
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("unknown layer"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        files_in(dir),
        vec![
            "adir.gpkg",
            "broken.osm.pbf",
            "out.gpkg",
            "parks.geojson",
            "tiny.osm"
        ]
    );
}

#[test]
fn gis_import_then_geojson_export_round_trips_in_wgs84() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let src = dir.join("hospitals.geojson");
    std::fs::write(&src, r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Bệnh viện Bạch Mai","beds":3200},"geometry":{"type":"Point","coordinates":[105.8412,21.0014]}}]}"#).unwrap();
    let city = dir.join("c.gpkg");
    let o = twin(&[
        "import",
        "gis",
        s(&src),
        "--layer",
        "public_service",
        "--out",
        s(&city),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.join("ps.geojson");
    let o = twin(&[
        "export",
        "geojson",
        s(&city),
        "--layer",
        "public_service",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let f = &j["features"][0];
    assert_eq!(f["properties"]["name"], "Bệnh viện Bạch Mai");
    assert_eq!(f["properties"]["beds"], 3200);
    let c = f["geometry"]["coordinates"].as_array().unwrap();
    assert!(
        (c[0].as_f64().unwrap() - 105.8412).abs() < 1e-7
            && (c[1].as_f64().unwrap() - 21.0014).abs() < 1e-7,
        "{c:?}"
    );
}

#[test]
fn flood_run_writes_rasters_and_a_closed_ledger() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut dem = twin_model::Raster::filled(30, 30, 588_000.0, 2_326_000.0, 10.0, 0.0);
    for r in 0..30 {
        for c in 0..30 {
            let (x, y) = (c as f64 - 14.5, r as f64 - 14.5);
            dem.set(c, r, (6.0 + 0.004 * (x * x + y * y)) as f32);
        }
    }
    let tif = dir.join("bowl.tif");
    twin_io::raster::write_geotiff(&dem, twin_model::Crs::VN2000_UTM48N, &tif).unwrap();
    let rain = dir.join("rain.csv");
    std::fs::write(&rain, "minute,mm_per_hour\n0,60\n10,0\n").unwrap();
    // Gauges at the bottom of the bowl and on its rim (coordinates in the DEM's CRS).
    let gauges = dir.join("gauges.csv");
    std::fs::write(
        &gauges,
        "name,x,y\n\"Đáy, bottom\",588150,2325850\nMép / rim,588005,2325995\n",
    )
    .unwrap();
    let out = dir.join("run");
    let o = twin(&[
        "flood",
        "run",
        "--dem",
        s(&tif),
        "--rain",
        s(&rain),
        "--minutes",
        "15",
        "--out",
        s(&out),
        "--edges",
        "closed",
        "--gauges",
        s(&gauges),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ledger.json")).unwrap()).unwrap();
    // 10 minutes of 60 mm/h = 10 mm over 900 cells of 100 m².
    assert!((j["rain_m3"].as_f64().unwrap() - 900.0).abs() < 1e-6, "{j}");
    assert!(
        j["closure_error_percent"].as_f64().unwrap().abs() < 1e-9,
        "{j}"
    );
    let md = twin_io::raster::read_raster(&out.join("max_depth.tif")).unwrap();
    assert_eq!((md.raster.nx, md.raster.ny), (30, 30));
    assert_eq!(md.crs, twin_model::Crs::VN2000_UTM48N);
    let st = md.raster.stats().unwrap();
    assert!(st.max > 0.01 && st.min >= 0.0, "{st:?}");
    // Water collects at the bottom of the bowl.
    assert!(md.raster.get(15, 15) > md.raster.get(0, 0));
    // The flood map is a PNG of at least 600 px across.
    let png = std::fs::read(out.join("max_depth.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert!(width >= 600, "{width}");
    // Depth every minute at each gauge: the bottom ends deeper than the rim.
    let csv = std::fs::read_to_string(out.join("gauges.csv")).unwrap();
    assert!(
        csv.starts_with("time_s,gauge,x,y,depth_m,level_m\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 1 + 2 * 16, "{csv}");
    let last = |name: &str| -> f64 {
        let l = csv.lines().rfind(|l| l.contains(name)).unwrap();
        l.split(',').nth_back(1).unwrap().parse().unwrap()
    };
    assert!(last("Đáy, bottom") > last("Mép / rim") + 0.005, "{csv}");
    assert!(last("Đáy, bottom") < 0.5, "{csv}");
    // The same run on the WGSL kernel (lavapipe without a GPU): the same flood within 1 mm.
    let outg = dir.join("run-gpu");
    let o = twin(&[
        "flood",
        "run",
        "--dem",
        s(&tif),
        "--rain",
        s(&rain),
        "--minutes",
        "15",
        "--out",
        s(&outg),
        "--edges",
        "closed",
        "--gauges",
        s(&gauges),
        "--backend",
        "gpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let jg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(outg.join("ledger.json")).unwrap()).unwrap();
    assert_eq!(jg["backend"], "gpu", "{jg}");
    assert!(
        jg["gpu_adapter"].as_str().is_some_and(|a| !a.is_empty()),
        "{jg}"
    );
    assert_eq!(j["backend"], "cpu");
    assert!(
        (jg["rain_m3"].as_f64().unwrap() - 900.0).abs() < 1e-3,
        "{jg}"
    );
    assert!(
        jg["closure_error_percent"].as_f64().unwrap().abs() < 1e-4,
        "{jg}"
    );
    let mg = twin_io::raster::read_raster(&outg.join("max_depth.tif")).unwrap();
    let worst = md
        .raster
        .data
        .iter()
        .zip(&mg.raster.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "max |Δ max depth| {worst} m");
    let csvg = std::fs::read_to_string(outg.join("gauges.csv")).unwrap();
    assert_eq!(csvg.lines().count(), csv.lines().count(), "{csvg}");
    // An unknown backend is refused up front.
    let outx = dir.join("run-x");
    let o = twin(&[
        "flood",
        "run",
        "--dem",
        s(&tif),
        "--rain",
        s(&rain),
        "--minutes",
        "15",
        "--out",
        s(&outx),
        "--backend",
        "tpu",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("possible values: auto, cpu, gpu"),
        "{}",
        stderr(&o)
    );
    assert!(!outx.exists());
    // A gauge outside the DEM is refused before anything is written.
    std::fs::write(&gauges, "name,x,y\nfar,600000,2325850\n").unwrap();
    let out3 = dir.join("run3");
    let o = twin(&[
        "flood",
        "run",
        "--dem",
        s(&tif),
        "--rain",
        s(&rain),
        "--minutes",
        "15",
        "--out",
        s(&out3),
        "--gauges",
        s(&gauges),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("gauge 'far'") && stderr(&o).contains("outside"),
        "{}",
        stderr(&o)
    );
    assert!(!out3.exists());
    // A bad rain file names its line and field, and writes nothing.
    std::fs::write(&rain, "minute,mm_per_hour\n0,60\n5,heavy\n").unwrap();
    let out2 = dir.join("run2");
    let o = twin(&[
        "flood",
        "run",
        "--dem",
        s(&tif),
        "--rain",
        s(&rain),
        "--minutes",
        "15",
        "--out",
        s(&out2),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("rain.csv: line 3, field 'mm_per_hour'"),
        "{}",
        stderr(&o)
    );
    assert!(!out2.exists());
}

/// `twin traffic run --net NET ARGS --out OUT`.
fn traffic(net: &Path, args: &[&str], out: &Path) -> Output {
    let mut all = vec!["traffic", "run", "--net", s(net)];
    all.extend_from_slice(args);
    all.extend(["--out", s(out)]);
    twin(&all)
}

/// A line network A -> B -> C (200 m and 100 m at 10 m/s) with the `extra` elements.
fn line_net(extra: &str) -> String {
    format!(
        r#"<net>
  <edge id="AB" from="A" to="B"><lane id="AB_0" index="0" speed="10" length="200"/></edge>
  <edge id="BC" from="B" to="C"><lane id="BC_0" index="0" speed="10" length="100"/></edge>
  <junction id="A" type="dead_end" x="0" y="0"/>
  <junction id="B" type="priority" x="200" y="0"/>
  <junction id="C" type="dead_end" x="300" y="0"/>
  {extra}
</net>"#
    )
}

/// `twin traffic run` on `dir/n.net.xml` with 4 OD trips from zone Z1 (node A) to Z2 (node C)
/// over 120 s, scaled to the link `counts` (CSV text).
fn od_run(dir: &Path, counts: &str, out: &Path) -> Output {
    std::fs::write(dir.join("zones.csv"), "zone,node\nZ1,A\nZ2,C\n").unwrap();
    std::fs::write(
        dir.join("od.csv"),
        "origin,destination,count,begin,end\nZ1,Z2,4,0,120\n",
    )
    .unwrap();
    std::fs::write(dir.join("counts.csv"), counts).unwrap();
    traffic(
        &dir.join("n.net.xml"),
        &[
            "--od",
            s(&dir.join("od.csv")),
            "--zones",
            s(&dir.join("zones.csv")),
            "--counts",
            s(&dir.join("counts.csv")),
        ],
        out,
    )
}

#[test]
fn traffic_run_writes_trips_and_reports_unroutable() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(
        dir.join("n.net.xml"),
        line_net(r#"<connection from="AB" to="BC" fromLane="0" toLane="0"/>"#),
    )
    .unwrap();
    std::fs::write(
        dir.join("r.rou.xml"),
        r#"<routes>
  <vType id="x" sigma="0" speedDev="0"/>
  <vehicle id="a" type="x" depart="0"><route edges="AB BC"/></vehicle>
  <trip id="b" type="x" depart="5" from="AB" to="BC"/>
  <trip id="lost" depart="5" from="BC" to="AB"/>
</routes>"#,
    )
    .unwrap();
    let (net, rou) = (dir.join("n.net.xml"), dir.join("r.rou.xml"));
    let out = dir.join("res");
    let o = traffic(&net, &["--routes", s(&rou)], &out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("r.rou.xml:5: vehicle \"lost\" not simulated: no path"),
        "{}",
        stderr(&o)
    );
    // Accelerating to 10 m/s takes 10/(2·2.6) s of lost time, then 300 m at 10 m/s.
    assert_eq!(
        std::fs::read_to_string(out.join("trips.csv")).unwrap(),
        "id,depart,arrival,duration,route_length\na,0.00,31.92,31.92,300.00\nb,5.00,36.92,31.92,300.00\n"
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(j["arrived"], 2);
    // Three MSA days on a single-route network: every day the same, zero gap, no switch;
    // rerouting options are accepted and checked.
    let out3 = dir.join("res3");
    let o = traffic(
        &net,
        &[
            "--routes",
            s(&rou),
            "--msa",
            "3",
            "--reroute-period",
            "60",
            "--informed",
            "0.5",
        ],
        &out3,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let msa = std::fs::read_to_string(out3.join("msa.csv")).unwrap();
    let lines: Vec<&str> = msa.lines().collect();
    assert_eq!(lines.len(), 4, "{msa}");
    assert_eq!(lines[1], "1,2,31.92,0.000000,0,0");
    assert_eq!(lines[3], "3,2,31.92,0.000000,0,0");
    let o = traffic(&net, &["--routes", s(&rou), "--informed", "2"], &out3);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--informed must lie in 0..1"),
        "{}",
        stderr(&o)
    );
    // Actuated control in propose-only mode: the decisions file (no signal here: header only).
    let out4 = dir.join("res4");
    let o = traffic(
        &net,
        &[
            "--routes",
            s(&rou),
            "--actuated",
            "7",
            "45",
            "3",
            "--propose-only",
            "--fcd",
            "10",
        ],
        &out4,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Vehicle a: 300 m from 0 s, AB (200 m) reached at 21.92 s: at 10 s 10/21.92 along AB.
    let fcd = std::fs::read_to_string(out4.join("fcd.csv")).unwrap();
    let l10 = fcd.lines().find(|l| l.starts_with("10.00,a,")).unwrap();
    assert_eq!(l10, "10.00,a,AB,91.23,91.23,0.00,9.12");
    assert_eq!(
        std::fs::read_to_string(out4.join("signal_proposals.csv")).unwrap(),
        "time,signal,from_phase,to_phase,green\n"
    );
    let o = traffic(&net, &["--routes", s(&rou), "--propose-only"], &out4);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--propose-only needs"),
        "{}",
        stderr(&o)
    );
    // OD matrix on zones, scaled to a link count: 4 trips Z1 -> Z2 become the 6 counted on AB.
    let out5 = dir.join("res5");
    let o = od_run(dir, "link,count\nAB,6\n", &out5);
    assert!(o.status.success(), "{}", stderr(&o));
    let trips = std::fs::read_to_string(out5.join("trips.csv")).unwrap();
    assert_eq!(trips.lines().count(), 7, "{trips}");
    // Six departures spread over the 120 s window, 20 s apart from 10 s.
    assert!(trips.contains("\nod0_0,10.00,"), "{trips}");
    assert!(trips.contains("\nod0_5,110.00,"), "{trips}");
    // A malformed network names the file.
    std::fs::write(dir.join("bad.net.xml"), "<net><edge id=\"AB\" from=\"A\"").unwrap();
    let o = traffic(
        &dir.join("bad.net.xml"),
        &["--routes", s(&rou)],
        &dir.join("res2"),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("bad.net.xml"), "{}", stderr(&o));
    assert!(!dir.join("res2").exists());
}

#[test]
fn traffic_run_names_what_it_does_not_run_as_given() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // An actuated light with a second programme, and a link (BA) no trip drives.
    std::fs::write(
        dir.join("n.net.xml"),
        line_net(
            r#"<edge id="BA" from="B" to="A"><lane id="BA_0" index="0" speed="10" length="200"/></edge>
  <tlLogic id="B" type="actuated" programID="0" offset="0"><phase duration="30" state="G"/><phase duration="30" state="r"/></tlLogic>
  <tlLogic id="B" type="static" programID="1" offset="0"><phase duration="60" state="G"/></tlLogic>
  <connection from="AB" to="BC" fromLane="0" toLane="0" tl="B" linkIndex="0"/>"#,
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("r.rou.xml"),
        r#"<routes>
  <vType id="x" sigma="0" speedDev="0"/>
  <vehicle id="a" type="x" depart="0"><route edges="AB BC"/></vehicle>
  <person id="p" depart="0"><walk edges="AB BC"/></person>
</routes>"#,
    )
    .unwrap();
    let net = dir.join("n.net.xml");
    let out = dir.join("res");
    let o = traffic(&net, &["--routes", s(&dir.join("r.rou.xml"))], &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    for said in [
        "1 traffic light has type 'actuated': run as fixed-time on its first programme (B)",
        "1 traffic light has more than one programme: the first is run (B)",
        "r.rou.xml: 1 <person> element skipped (line 4)",
    ] {
        assert!(err.contains(said), "{said:?} not in {err}");
    }
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(j["ignored"][0]["element"], "person");
    assert_eq!(j["ignored"][0]["count"], 1);
    assert_eq!(j["ignored"][0]["lines"][0], 4);
    // A count on a link no OD route crosses is skipped by name.
    let o = od_run(dir, "link,count\nAB,6\nBA,3\n", &dir.join("res2"));
    assert!(o.status.success(), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("OD matrix scaled to 1 of 2 link counts"),
        "{said}"
    );
    assert!(
        stderr(&o).contains("1 link count skipped: no OD route crosses its link (BA)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn demo_sewer_network_exports_to_inp_and_runs_through_the_drainage_engine() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let city = dir.join("demo.gpkg");
    assert!(twin(&["demo-city", "--out", s(&city)]).status.success());
    let rain = dir.join("hour.csv");
    std::fs::write(&rain, "minute,mm_per_hour\n0,50\n60,0\n").unwrap();
    let inp = dir.join("demo.inp");
    let o = twin(&[
        "export",
        "inp",
        s(&city),
        "--rain",
        s(&rain),
        "--minutes",
        "180",
        "--out",
        s(&inp),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.join("hy");
    let o = twin(&["hydro", "run", s(&inp), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    // 50 mm in an hour on a network sized for the 2-year storm, with the station's regulating
    // lake: nothing floods and the pumps start as the lake rises. SWMM 5.2.4 run on this same
    // export (seed 2026) pumps out the pinned volume through the outfall in 3 h, with a routing
    // continuity error of −0.022 % (ours −0.032 %).
    assert_eq!(j["flooding_volume_m3"].as_f64().unwrap(), 0.0, "{j}");
    let outflow = j["outflow_volume_m3"].as_f64().unwrap();
    let swmm = pinned::pinned(
        "demo_sewer_network_exports_to_inp_and_runs_through_the_drainage_engine",
        "routing_outflow",
    );
    assert!(
        (outflow - swmm).abs() < 0.01 * swmm,
        "{outflow} vs SWMM {swmm}"
    );
    assert!(
        j["routing_continuity_error_pct"].as_f64().unwrap().abs() < 0.05,
        "{j}"
    );
    let nodes = std::fs::read_to_string(out.join("nodes.csv")).unwrap();
    assert!(
        nodes.starts_with("time,node,depth,head,flooding\n") && nodes.contains(",TB_Demo_WetWell,")
    );

    // The same network coupled to the surface through the first 80 minutes of the 100 mm / 2 h
    // design storm (past its peak): every cubic metre is booked, and the system ledger closes
    // within 0.1 % of the inflow.
    let storm = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/design-storm-100mm-2h.csv"
    );
    let flood = dir.join("coupled");
    let o = twin(&[
        "flood",
        "run",
        "--dem",
        s(&city),
        "--rain",
        storm,
        "--minutes",
        "80",
        "--couple",
        "--out",
        s(&flood),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(flood.join("ledger.json")).unwrap()).unwrap();
    let num = |k: &str| j[k].as_f64().unwrap_or(f64::NAN);
    assert!(j["coupled_manholes"].as_u64().unwrap() > 400, "{j}");
    assert!(num("closure_error_percent").abs() < 0.1, "{j}");
    // Inlets take part of the rain; parks and yards infiltrate some of it (Horton by
    // land use), roads and roofs none.
    let rain = num("rain_m3");
    assert!(num("inlet_capture_m3") > 0.05 * rain, "{j}");
    let infil = num("infiltration_m3");
    assert!(infil > 0.02 * rain && infil < 0.15 * rain, "{j}");

    // A rain start that is not a clock time is refused before anything runs.
    let o = twin(&[
        "scenario",
        "run",
        "--city",
        s(&city),
        "--rain",
        storm,
        "--minutes",
        "20",
        "--rain-start",
        "6h30",
        "--out",
        s(&dir.join("bad")),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--rain-start '6h30'"), "{}", stderr(&o));
    assert!(!dir.join("bad").exists());

    // The flagship chain on the same city, short: 20 minutes of the storm on the surface alone
    // from 05:50, then the morning peak period with and without the flood, roads closing and
    // reopening with the water; the report gathers it in both languages.
    let sc = dir.join("scenario");
    let o = twin(&[
        "scenario",
        "run",
        "--city",
        s(&city),
        "--rain",
        storm,
        "--minutes",
        "20",
        "--trips",
        "2000",
        "--rain-start",
        "05:50",
        "--out",
        s(&sc),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sc.join("traffic.json")).unwrap()).unwrap();
    assert_eq!(t["closed_link_entries"], 0, "{t}");
    // 2,000 person trips less the bus riders' share (18.5 %) and same-node draws, plus the
    // bus runs of the lines (about 900 over the period, whatever the trip count).
    let trips = t["baseline"]["trips"].as_u64().unwrap();
    assert!(trips > 2000 && trips < 3000, "{t}");
    assert_eq!(t["baseline"]["arrived"].as_u64().unwrap(), trips, "{t}");
    assert_eq!(t["rain_start_s"].as_f64(), Some(-600.0), "{t}");
    // Five-minute statistics over at least the 3-hour period.
    let intervals = t["intervals"].as_array().unwrap();
    assert!(intervals.len() >= 36, "{}", intervals.len());
    let free_flow = intervals[0]["baseline_kmh"].as_f64().unwrap();
    assert!(free_flow > 15.0 && free_flow < 60.0, "{free_flow}");
    let page = std::fs::read_to_string(sc.join("report.html")).unwrap();
    for needle in [
        "Tóm tắt",
        "Summary",
        "Điểm đo ngập 1 (mẫu)",
        "Street flood sensor",
        "Cân bằng nước",
        "Water balance",
        "Giao thông giờ cao điểm sáng",
        "<img src=\"max_depth.png\"",
        "<img src=\"roads.png\"",
        "Mưa bắt đầu lúc 05:50",
        "from 06:00",
    ] {
        assert!(page.contains(needle), "{needle} missing from the report");
    }
    for f in ["max_depth.png", "roads.png", "gauges.csv"] {
        assert!(sc.join(f).exists(), "{f}");
    }
}

#[test]
fn coupled_flood_run_with_an_inp_network() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut dem = twin_model::Raster::filled(40, 10, 588_000.0, 2_326_200.0, 5.0, 0.0);
    for r in 0..10 {
        for c in 0..40 {
            let x = (c as f64 + 0.5) * 5.0;
            let y = 200.0 - (r as f64 + 0.5) * 5.0;
            dem.set(c, r, (10.0 - 0.02 * x + 0.01 * (y - 175.0).abs()) as f32);
        }
    }
    let tif = dir.join("street.tif");
    twin_io::raster::write_geotiff(&dem, twin_model::Crs::VN2000_UTM48N, &tif).unwrap();
    let inp = dir.join("street.inp");
    std::fs::write(
        &inp,
        "[OPTIONS]\nFLOW_UNITS CMS\nFLOW_ROUTING DYNWAVE\nSTART_DATE 01/01/2026\nSTART_TIME 00:00:00\nEND_DATE 01/01/2026\nEND_TIME 00:40:00\nROUTING_STEP 0:00:02\n\
         [JUNCTIONS]\nJ1 8.0 2.0 0 0 0\nJ2 7.0 2.0 0 0 0\nJ3 6.0 2.0 0 0 0\n[OUTFALLS]\nO1 5.0 FREE NO\n\
         [CONDUITS]\nC1 J1 J2 50 0.013 0 0 0 0\nC2 J2 J3 50 0.013 0 0 0 0\nC3 J3 O1 50 0.013 0 0 0 0\n\
         [XSECTIONS]\nC1 CIRCULAR 0.4 0 0 0 1\nC2 CIRCULAR 0.4 0 0 0 1\nC3 CIRCULAR 0.5 0 0 0 1\n\
         [COORDINATES]\nJ1 588025 2326175\nJ2 588075 2326175\nJ3 588125 2326175\nO1 588175 2326175\n",
    )
    .unwrap();
    let rain = dir.join("rain.csv");
    std::fs::write(&rain, "minute,mm_per_hour\n0,60\n10,0\n").unwrap();
    let out = dir.join("run");
    let o = twin(&[
        "flood",
        "run",
        "--dem",
        s(&tif),
        "--rain",
        s(&rain),
        "--minutes",
        "30",
        "--edges",
        "closed",
        "--inp",
        s(&inp),
        "--out",
        s(&out),
        "--replay-inp",
        s(&dir.join("replay.inp")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ledger.json")).unwrap()).unwrap();
    assert_eq!(j["coupled_manholes"], 3, "{j}");
    // The replay model feeds the network alone what the surface gave it: run stand-alone, its
    // outfall passes what the coupled run's did, within 5 %.
    let o = twin(&[
        "hydro",
        "run",
        s(&dir.join("replay.inp")),
        "--out",
        s(&dir.join("rep")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("rep").join("summary.json")).unwrap(),
    )
    .unwrap();
    let (out_c, out_r) = (
        j["outfall_m3"].as_f64().unwrap(),
        r["outflow_volume_m3"].as_f64().unwrap(),
    );
    assert!(
        (out_c - out_r).abs() < 0.05 * out_c,
        "coupled {out_c} vs replay {out_r}"
    );
    assert!(
        r["routing_continuity_error_pct"].as_f64().unwrap().abs() < 1.0,
        "{r}"
    );
    assert!(j["inlet_capture_m3"].as_f64().unwrap() > 15.0, "{j}");
    assert!(
        j["closure_error_percent"].as_f64().unwrap().abs() < 0.1,
        "{j}"
    );
    for f in [
        "max_depth.tif",
        "time_of_max_min.tif",
        "duration_above_min.tif",
        "max_hazard.tif",
        "max_depth.png",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    // The same coupled run with the surface on the WGSL kernel: the same exchange and flood.
    let outg = dir.join("run-gpu");
    let o = twin(&[
        "flood",
        "run",
        "--dem",
        s(&tif),
        "--rain",
        s(&rain),
        "--minutes",
        "30",
        "--edges",
        "closed",
        "--inp",
        s(&inp),
        "--out",
        s(&outg),
        "--backend",
        "gpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let jg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(outg.join("ledger.json")).unwrap()).unwrap();
    assert_eq!(jg["backend"], "gpu", "{jg}");
    for key in ["inlet_capture_m3", "outfall_m3"] {
        let (c, g) = (j[key].as_f64().unwrap(), jg[key].as_f64().unwrap());
        assert!((c - g).abs() < 0.01 * c, "{key}: cpu {c} gpu {g}");
    }
    assert!(
        jg["closure_error_percent"].as_f64().unwrap().abs() < 0.1,
        "{jg}"
    );
    let (mc, mg) = (
        twin_io::raster::read_raster(&out.join("max_depth.tif")).unwrap(),
        twin_io::raster::read_raster(&outg.join("max_depth.tif")).unwrap(),
    );
    let worst = mc
        .raster
        .data
        .iter()
        .zip(&mg.raster.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "max |Δ max depth| {worst} m");
    // A malformed network names its file and line.
    std::fs::write(&inp, "[CONDUITS]\nC1 J1\n").unwrap();
    let o = twin(&[
        "flood",
        "run",
        "--dem",
        s(&tif),
        "--rain",
        s(&rain),
        "--minutes",
        "30",
        "--inp",
        s(&inp),
        "--out",
        s(&dir.join("run2")),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("street.inp"), "{}", stderr(&o));
}

#[test]
fn hydro_run_reports_warnings_and_rewrite_writes_the_model_back() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // A SWMM model with a pollutant, which a run ignores (flows are unaffected) and says so.
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hydro/tests/data/simple_dw.inp"
    );
    let text =
        std::fs::read_to_string(model).unwrap() + "\n[POLLUTANTS]\nTSS MG/L 0 0 0 0 0 NO * 0 0\n";
    let inp = dir.join("model.inp");
    std::fs::write(&inp, text).unwrap();
    let out = dir.join("out");
    let o = twin(&["hydro", "run", s(&inp), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        files_in(&out),
        [
            "links.csv",
            "manifest.json",
            "nodes.csv",
            "subcatch.csv",
            "summary.json"
        ]
    );
    let warning = "water quality is not modelled: [POLLUTANTS] 1 pollutant ignored";
    assert!(
        stderr(&o).contains(&format!("warning: {}: {warning}", inp.display())),
        "{}",
        stderr(&o)
    );
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(
        j["warnings"][0].as_str().unwrap().starts_with(warning),
        "{j}"
    );
    // The writer's output is a model the reader takes back (the SWMM harness runs SWMM on both).
    let rewritten = dir.join("rewritten.inp");
    let o = twin(&["hydro", "rewrite", s(&inp), "--out", s(&rewritten)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let again = dir.join("again");
    let o = twin(&["hydro", "run", s(&rewritten), "--out", s(&again)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(out.join("nodes.csv")).unwrap(),
        std::fs::read(again.join("nodes.csv")).unwrap()
    );
}

#[test]
fn live_refuses_ensemble_settings_out_of_range_before_it_touches_anything() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("live");
    for (args, want) in [
        (
            &["--members", "65"][..],
            "--members must be at most 64, got 65",
        ),
        (&["--rain-spread", "1.5", "0.5"][..], "--rain-spread"),
        (&["--rain-spread", "0", "1"][..], "--rain-spread"),
        (&["--alert-probability", "0"][..], "--alert-probability"),
        (&["--alert-probability", "1.5"][..], "--alert-probability"),
    ] {
        let mut all = vec![
            "live",
            "--city",
            "nowhere.gpkg",
            "--sensors",
            "nowhere",
            "--out",
            s(&out),
        ];
        all.extend_from_slice(args);
        let o = twin(&all);
        assert!(!o.status.success(), "{args:?} accepted");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}
