//! `twin city build --gtfs`: the 2018 Hanoi Bus GTFS (../shared/data/hanoi) onto the Hoàn Kiếm
//! extract's roads, its lines run by the morning peak instead of the synthetic ones; malformed
//! feeds refused before anything is written.

mod common;
use common::{s, stderr, twin, twin_ok};
use std::collections::HashMap;
use std::path::Path;
use twin_model::{Layer, RoadGraph};
use twin_traffic::city_demand::{PeakConfig, morning_peak};
use twin_traffic::network::Network;

/// The area: the Hoàn Kiếm extract's roads and, west of them, the east edge of the central
/// subset (its stops lie at 105.8007–105.8378 E).
const BBOX: &str = "105.8275,21.004,105.866,21.051";

fn build(
    osm: &Path,
    data: &Path,
    gtfs: &str,
    bbox: Option<&str>,
    out: &Path,
) -> std::process::Output {
    let mut args = vec![
        "city".to_string(),
        "build".into(),
        "--osm".into(),
        s(osm).into(),
        "--dem".into(),
        s(&data.join("dem/hanoi_center_dem_25m.asc")).into(),
        "--wards".into(),
        s(&data.join("hanoi_wards_2025.csv")).into(),
        "--cell-m".into(),
        "50".into(),
        "--street-sensors".into(),
        "0".into(),
        "--gtfs".into(),
        s(&data.join(gtfs)).into(),
        "--out".into(),
        s(out).into(),
    ];
    if let Some(b) = bbox {
        args.extend(["--bbox".to_string(), b.to_string()]);
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    twin_ok(&a)
}

/// A route's first trip and its calls (sequence, stop).
type FirstTrip<'a> = (&'a str, Vec<(u32, &'a str)>);

/// Seconds of `H:MM:SS`.
fn secs(t: &str) -> u32 {
    let v: Vec<u32> = t.split(':').map(|x| x.parse().unwrap()).collect();
    v[0] * 3600 + v[1] * 60 + v[2]
}

/// The count a build said for `what` (`… what (N)…`).
fn count_of(text: &str, what: &str) -> usize {
    let line = text
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("'{what}' not said:\n{text}"));
    let after = &line[line.find(what).unwrap() + what.len()..];
    after.trim_start()[1..]
        .split(')')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The central subset barely overlaps the Hoàn Kiếm extract: of the 103 of its 372 stops in
/// BBOX (python over stops.txt, 36 route-directions; the same with the box 40 m larger or
/// smaller, so the area's projection does not change it) 5 lie within 30 m of the extract's
/// roads and no line keeps two stops on them.
#[test]
fn the_central_subset_barely_reaches_the_hoan_kiem_extract() {
    let Some(data) = common::hanoi_data() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let city_path = d.path().join("hanoi.gpkg");
    let osm = data.join("hoankiem_2019-06.osm");
    let o = build(
        &osm,
        &data,
        "gtfs_hanoi_bus_2018_central_subset",
        Some(BBOX),
        &city_path,
    );
    let (out, err) = (String::from_utf8_lossy(&o.stdout).to_string(), stderr(&o));
    let far = count_of(
        &err,
        "bus stops farther than the limit from a bus road (left out)",
    );
    let on = count_of(&out, "bus stops on the roads");
    assert_eq!(on + far, 103, "{out}\n{err}");
    assert_eq!(on, 5);
    assert_eq!(
        count_of(&out, "bus stops outside the area (left out)"),
        372 - 103
    );
    assert_eq!(count_of(&out, "surveyed: bus lines"), 0);
    assert!(err.contains("column departure_buffer"), "{err}");
    assert!(err.contains("shapes.txt"), "{err}");
}

/// The subset on roads of its own: an OSM file whose ways are its lines' shapes (a primary
/// road through each route's stops: the shapes are the stop positions), with a home and an
/// office. All 372 stops snap (python: 372 stops at 114 places, all on some trip) and all 63
/// route-directions become lines (63 in routes.txt, one stop pattern each); each line's
/// departures per hour are the feed's first full hour at its first stop (the feed runs
/// 09:34–18:00, none in 06:00–09:00), counted here from stop_times.txt; the morning peak
/// runs exactly those buses on the lines' paths.
#[test]
fn the_central_subset_on_its_own_roads_runs_every_line_at_its_first_hour() {
    let Some(data) = common::hanoi_data() else {
        return;
    };
    let feed = data.join("gtfs_hanoi_bus_2018_central_subset");
    let text = |n: &str| std::fs::read_to_string(feed.join(n)).unwrap();
    let (stops_txt, trips_txt, times_txt) =
        (text("stops.txt"), text("trips.txt"), text("stop_times.txt"));
    let pos: HashMap<&str, (&str, &str)> = stops_txt
        .lines()
        .skip(1)
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            (v[0], (v[2], v[3]))
        })
        .collect();
    let route_of: HashMap<&str, &str> = trips_txt
        .lines()
        .skip(1)
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            (v[1], v[0])
        })
        .collect();
    // Each route's first trip's stops, in order; each stop's times.
    let mut pattern: std::collections::BTreeMap<&str, FirstTrip> = Default::default();
    let mut at_stop: HashMap<&str, Vec<u32>> = HashMap::new();
    for l in times_txt.lines().skip(1) {
        let v: Vec<&str> = l.split(',').collect();
        at_stop.entry(v[1]).or_default().push(secs(v[3]));
        let e = pattern.entry(route_of[v[0]]).or_insert((v[0], Vec::new()));
        if e.0 == v[0] {
            e.1.push((v[4].parse().unwrap(), v[1]));
        }
    }
    let mut node: HashMap<(&str, &str), usize> = HashMap::new();
    let mut xml = String::from("<osm version=\"0.6\">\n");
    let mut places: Vec<(&str, &str)> = pos.values().copied().collect();
    places.sort();
    for (lat, lon) in places {
        if !node.contains_key(&(lat, lon)) {
            let n = node.len() + 1;
            node.insert((lat, lon), n);
            xml += &format!("<node id=\"{n}\" lat=\"{lat}\" lon=\"{lon}\"/>\n");
        }
    }
    // A home and an office beside the first stop (buildings need their own nodes).
    let (lat0, lon0): (f64, f64) = {
        let p = pos[pattern.values().next().unwrap().1[0].1];
        (p.0.parse().unwrap(), p.1.parse().unwrap())
    };
    let mut way = 1;
    for (k, kind) in ["apartments", "office"].iter().enumerate() {
        let base = 100_000 + 10 * k;
        let dy = 0.0004 + 0.0006 * k as f64;
        for (j, (a, b)) in [(0.0, 0.0), (0.0, 0.0004), (0.0003, 0.0004), (0.0003, 0.0)]
            .iter()
            .enumerate()
        {
            xml += &format!(
                "<node id=\"{}\" lat=\"{:.6}\" lon=\"{:.6}\"/>\n",
                base + j,
                lat0 + dy + a,
                lon0 + b
            );
        }
        xml += &format!("<way id=\"{way}\">");
        for j in [0, 1, 2, 3, 0] {
            xml += &format!("<nd ref=\"{}\"/>", base + j);
        }
        xml += &format!(
            "<tag k=\"building\" v=\"{kind}\"/><tag k=\"building:levels\" v=\"6\"/></way>\n"
        );
        way += 1;
    }
    for (_, (_, calls)) in pattern.iter_mut() {
        calls.sort();
        xml += &format!("<way id=\"{way}\">");
        for (_, s) in calls.iter() {
            xml += &format!("<nd ref=\"{}\"/>", node[&pos[s]]);
        }
        xml += "<tag k=\"highway\" v=\"primary\"/></way>\n";
        way += 1;
    }
    xml += "</osm>\n";
    let d = tempfile::tempdir().unwrap();
    let osm = d.path().join("subset_roads.osm");
    std::fs::write(&osm, xml).unwrap();
    let city_path = d.path().join("subset.gpkg");
    let o = build(
        &osm,
        &data,
        "gtfs_hanoi_bus_2018_central_subset",
        None,
        &city_path,
    );
    let (out, err) = (String::from_utf8_lossy(&o.stdout).to_string(), stderr(&o));
    assert_eq!(
        count_of(&out, "bus stops on the roads"),
        372,
        "{out}\n{err}"
    );
    assert!(!err.contains("farther than the limit"), "{err}");
    assert_eq!(count_of(&out, "surveyed: bus lines"), 63, "{out}\n{err}");
    assert_eq!(
        count_of(&err, "bus lines without departures in the window"),
        63
    );

    let city = twin_io::gpkg::read_city(&city_path).unwrap();
    let layer = city.layer(Layer::TrafficRoad);
    let stops = layer
        .features()
        .iter()
        .filter(|f| f.kind == "bus_stop" && f.text("source") == Some("surveyed"))
        .count();
    assert_eq!(stops, 372);
    let lines: Vec<_> = layer
        .features()
        .iter()
        .filter(|f| f.kind == "bus_line")
        .collect();
    assert_eq!(lines.len(), 63);
    let mut total = 0;
    for l in &lines {
        let route = l.text("route_id").unwrap();
        let first = pattern[route].1[0].1;
        assert_eq!(l.text("stops").unwrap().split(' ').next(), Some(first));
        let mut t = at_stop[first].clone();
        t.sort();
        let h0 = t[0].div_ceil(3600) * 3600;
        let n = t.iter().filter(|&&x| x >= h0 && x < h0 + 3600).count();
        assert_eq!(
            l.text("departures_per_hour").unwrap(),
            format!("{n} {n} {n}"),
            "{route}"
        );
        total += 3 * n;
    }
    // The morning peak runs the feed's lines at those departures, not synthetic ones.
    let net = Network::from_road_graph(&RoadGraph::from_layer(layer)).unwrap();
    let dem = morning_peak(&city, &net, &PeakConfig::morning_peak_period(500));
    assert_eq!(dem.bus_feed_lines, 63);
    assert!(
        dem.bus_feed_not_run.is_empty(),
        "{:?}",
        dem.bus_feed_not_run
    );
    assert_eq!(dem.bus_runs, total);
    let buses: Vec<_> = dem.demand.trips.iter().filter(|t| t.vtype == 2).collect();
    assert_eq!(buses.len(), total);
    assert_eq!(
        3 * buses.iter().filter(|t| t.depart < 3600.0).count(),
        total
    );
}

/// The whole network without stop_times on the Hoàn Kiếm extract: patterns from its stop ids,
/// each line's trips (trips.txt) spread over 7 h, so 3/7 of its trips less one depart in
/// 06:00–09:00 (within one, by the half-headway start), and the peak runs them all.
#[test]
fn the_network_feed_without_stop_times_gives_lines_over_seven_hours() {
    let Some(data) = common::hanoi_data() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let city_path = d.path().join("hanoi.gpkg");
    let osm = data.join("hoankiem_2019-06.osm");
    let feed = "gtfs_hanoi_bus_2018_network_no_stop_times";
    let o = build(&osm, &data, feed, None, &city_path);
    let err = stderr(&o);
    assert!(err.contains("stop_times.txt missing"), "{err}");
    let trips_txt = std::fs::read_to_string(data.join(feed).join("trips.txt")).unwrap();
    let mut trips: HashMap<&str, usize> = HashMap::new();
    for l in trips_txt.lines().skip(1) {
        *trips.entry(l.split(',').next().unwrap()).or_default() += 1;
    }
    let city = twin_io::gpkg::read_city(&city_path).unwrap();
    let layer = city.layer(Layer::TrafficRoad);
    let lines: Vec<_> = layer
        .features()
        .iter()
        .filter(|f| f.kind == "bus_line")
        .collect();
    assert!(lines.len() > 36, "{}", lines.len());
    let mut total = 0;
    for l in &lines {
        assert!(l.text("timetable").unwrap().starts_with("no times"));
        let n = l.text("departures").unwrap().split(' ').count();
        let want = 3.0 * (trips[l.text("route_id").unwrap()] - 1) as f64 / 7.0;
        assert!((n as f64 - want).abs() <= 1.0, "{n} vs {want}");
        total += n;
    }
    let net = Network::from_road_graph(&RoadGraph::from_layer(layer)).unwrap();
    let dem = morning_peak(&city, &net, &PeakConfig::morning_peak_period(500));
    assert_eq!((dem.bus_feed_lines, dem.bus_runs), (lines.len(), total));
}

/// A malformed feed is refused naming file, line and field, and nothing is written.
#[test]
fn malformed_feeds_are_refused_before_anything_is_written() {
    let d = tempfile::tempdir().unwrap();
    let feed = d.path().join("feed");
    std::fs::create_dir(&feed).unwrap();
    let w = |n: &str, t: &str| std::fs::write(feed.join(n), t).unwrap();
    w("routes.txt", "route_id,route_type\nR1,3\n");
    w(
        "stops.txt",
        "stop_id,stop_lat,stop_lon\nA,21.03,105.85\nB,21.03x,105.86\n",
    );
    w("trips.txt", "route_id,service_id,trip_id\nR1,S,t1\n");
    let out = d.path().join("city.gpkg");
    let o = twin(&[
        "city",
        "build",
        "--osm",
        "/nonexistent.osm",
        "--dem",
        "/nonexistent.tif",
        "--gtfs",
        s(&feed),
        "--out",
        s(&out),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("stops.txt") && e.contains("line 3") && e.contains("stop_lat"),
        "{e}"
    );
    assert!(!out.exists());
}
