//! `twin live` on the demo district (30 m cells): a "truth" storm 40 % heavier than the rain
//! forecast the twin is given, its sensors replayed with noise through a private mosquitto.
//! The twin follows them, forecasts, alerts ahead of the floods; faulty sensors (frozen,
//! dropped, spiking, a lake level falsified 0.5 m) are flagged with their reasons and not
//! applied, and the forecast stays near the one made from clean data; killed mid-stream and
//! restarted, it resumes from its checkpoint with no accepted reading lost.

mod common;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use twin_sensors::{Kind, Registry, Site, Store};

use common::twin_ok as twin;

const WALL_TOKEN: &str = "wall-secret-Vt48";

/// A WebSocket client of `twin serve`'s `/live/stream`, reading on its own thread until
/// told to finish.
struct StreamClient {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<serde_json::Value>>,
}

impl StreamClient {
    fn connect(port: u16, token: &str) -> StreamClient {
        use tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://127.0.0.1:{port}/live/stream?since_id=0")
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (mut ws, _) = tungstenite::client(req, tcp).unwrap();
        ws.get_mut()
            .set_read_timeout(Some(std::time::Duration::from_millis(200)))
            .unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let st = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut got = Vec::new();
            loop {
                match ws.read() {
                    Ok(tungstenite::Message::Text(t)) => {
                        got.push(serde_json::from_str(t.as_str()).unwrap())
                    }
                    Ok(tungstenite::Message::Close(_)) => break,
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        if st.load(std::sync::atomic::Ordering::SeqCst) {
                            break;
                        }
                    }
                    Err(e) => panic!("stream: {e}"),
                }
            }
            got
        });
        StreamClient { stop, thread }
    }

    fn finish(self) -> Vec<serde_json::Value> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}

fn design_storm() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/design-storm-100mm-2h.csv")
}

/// The demo district at 30 m (`c.gpkg`), the truth's rain (`truth.csv`: the design storm
/// × 1.4) and the truth run (`truth/gauges.csv`, 120 minutes, drainage coupled).
fn truth() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p).display().to_string();
    twin(&["demo-city", "--cell-m", "30", "--out", &d("c.gpkg")]);
    let text = std::fs::read_to_string(design_storm()).unwrap();
    let mut rain = String::new();
    for l in text.lines() {
        match l.split_once(',') {
            Some((m, i)) if !l.starts_with('#') && m != "minute" => {
                rain += &format!("{m},{:.4}\n", i.trim().parse::<f64>().unwrap() * 1.4)
            }
            _ => rain += &format!("{l}\n"),
        }
    }
    std::fs::write(d("truth.csv"), rain).unwrap();
    twin(&[
        "flood",
        "run",
        "--dem",
        &d("c.gpkg"),
        "--rain",
        &d("truth.csv"),
        "--minutes",
        "120",
        "--couple",
        "--out",
        &d("truth"),
    ]);
    let reg =
        Registry::from_city(&twin_io::gpkg::read_city(Path::new(&d("c.gpkg"))).unwrap()).unwrap();
    (dir, reg)
}

/// `twin sensors replay` of the truth to `to` (a folder or an MQTT URL), 1 cm of noise.
fn replay(dir: &Path, to: &str, speed: &str, faults: &[&str]) -> String {
    let d = |p: &str| dir.join(p).display().to_string();
    let mut args = vec![
        "sensors".to_string(),
        "replay".into(),
        "--scenario".into(),
        d("truth"),
        "--city".into(),
        d("c.gpkg"),
        "--rain".into(),
        d("truth.csv"),
        "--to".into(),
        to.into(),
        "--speed".into(),
        speed.into(),
        "--noise".into(),
        "0.01".into(),
        "--seed".into(),
        "5".into(),
    ];
    args.extend(faults.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    String::from_utf8_lossy(&twin(&args).stdout).to_string()
}

/// `twin live` on the demo from `sensors` into `out` until `until`, its output gathered.
fn start_live(dir: &Path, sensors: &str, out: &str, until: &str, extra: &[&str]) -> LiveRun {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(["live", "--city"])
        .arg(dir.join("c.gpkg"))
        .args(["--sensors", sensors, "--out", out, "--clock", "data"])
        .arg("--rain-forecast")
        .arg(design_storm())
        .args(["--forecast-every", "15m", "--until", until, "--for", "400"])
        .args(["--client-id", &format!("live-{}", out.len())])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let text = Arc::new(Mutex::new(String::new()));
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    // Once it prints its banner it is subscribed.
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        text.lock().unwrap().push_str(&line);
        if line.starts_with("live / trực tuyến") {
            break;
        }
    }
    let t = text.clone();
    let reader = std::thread::spawn(move || {
        for l in out.lines() {
            let l = l.unwrap();
            t.lock().unwrap().push_str(&(l + "\n"));
        }
    });
    LiveRun {
        child: c,
        text,
        reader: Some(reader),
    }
}

struct LiveRun {
    child: Child,
    text: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl LiveRun {
    fn wait(mut self) -> String {
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        use std::io::Read;
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        self.reader.take().unwrap().join().unwrap();
        let text = self.text.lock().unwrap().clone();
        assert!(status.success(), "twin live failed: {err}\n{text}");
        text
    }
    fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }
}

/// Each watched street's peak depth in a `forecast.json`.
fn street_peaks(out: &Path) -> Vec<(String, f64)> {
    let f: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("forecast.json")).unwrap()).unwrap();
    f["places"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["alerted"].as_bool().unwrap())
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["peak_m"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The truth's peak depth at each street flood sensor after minute `after`.
fn truth_peaks(dir: &Path, after_s: f64) -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(dir.join("truth/gauges.csv")).unwrap();
    let mut out: Vec<(String, f64)> = Vec::new();
    for l in text.lines().skip(1) {
        // time_s,"name",x,y,depth_m,level_m (names may hold commas, quoted)
        let (t, rest) = l.split_once(',').unwrap();
        let (name, rest) = if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap();
            (r[..end].to_string(), &r[end + 2..])
        } else {
            let (n, r) = rest.split_once(',').unwrap();
            (n.to_string(), r)
        };
        let depth: f64 = rest.split(',').nth(2).unwrap().parse().unwrap();
        if !name.contains("Street flood sensor") || t.parse::<f64>().unwrap() <= after_s {
            continue;
        }
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(e) => e.1 = e.1.max(depth),
            None => out.push((name, depth)),
        }
    }
    out
}

fn alerts(out: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(out.join("alerts.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// `twin wall --server` on the service at `port`: one screenshot (`wall-live.png` in `dir`)
/// and the state it showed. `None` where `twin-app` was not built beside `twin` (a test run
/// of this crate alone); under CI, whose workspace run builds it, that is a failure.
fn wall_screenshot(dir: &Path, port: u16) -> Option<serde_json::Value> {
    let app = Path::new(env!("CARGO_BIN_EXE_twin")).with_file_name("twin-app");
    if !app.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing: the workspace's tests build it",
            app.display()
        );
        println!(
            "SKIP the wall: {} is not built (cargo build -p twin-app)",
            app.display()
        );
        return None;
    }
    let token = dir.join("wall.token");
    std::fs::write(&token, format!("{WALL_TOKEN}\n")).unwrap();
    let (png, json) = (dir.join("wall-live.png"), dir.join("wall-live.json"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_twin"))
        .arg("wall")
        .args(["--city", &dir.join("c.gpkg").display().to_string()])
        .args(["--server", &format!("http://127.0.0.1:{port}")])
        .args(["--token-file", &token.display().to_string()])
        .args(["--size", "1920x540"])
        .args(["--screenshot", &png.display().to_string()])
        .args(["--state-out", &json.display().to_string()])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "twin wall --server: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (1920, 540));
    if let Ok(keep) = std::env::var("TWIN_KEEP_WALL") {
        std::fs::copy(&png, keep).unwrap();
    }
    Some(serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap())
}

#[test]
fn live_twin_follows_a_replayed_storm_alerts_ahead_and_shrugs_off_faulty_sensors() {
    let Some(broker) = twin_sensors::broker::for_test().unwrap() else {
        return;
    };
    let (dir, reg) = truth();
    let d = |p: &str| dir.path().join(p).display().to_string();
    let id = |kind: Kind, site: Site, k: usize| {
        reg.sensors()
            .iter()
            .filter(|s| s.kind == kind && s.site == site)
            .nth(k)
            .unwrap()
            .id
            .clone()
    };
    let street = |k| id(Kind::WaterLevel, Site::Street, k);
    let (frozen, dropped, lake) = (street(0), street(1), id(Kind::WaterLevel, Site::Lake, 0));

    // Clean data from a folder: the reference.
    replay(dir.path(), &d("clean-feed"), "0", &[]);
    let clean_text = start_live(
        dir.path(),
        &d("clean-feed"),
        &d("clean"),
        "2025-09-30T07:15:00+07:00",
        &["--neighbour-radius", "1600"],
    )
    .wait();
    // Faulty data over MQTT at 60× real time.
    let url = broker.url("twin/demo/sensors");
    let faulty = start_live(
        dir.path(),
        &format!("{url}/#"),
        &d("faulty"),
        "2025-09-30T07:15:00+07:00",
        &["--neighbour-radius", "1600"],
    );
    // `twin serve` on the live folder, and a WebSocket client of its stream throughout.
    common::token_file(
        &dir.path().join("tokens.toml"),
        &[("wall", "viewer", "SKHCN", WALL_TOKEN)],
    );
    let port = common::free_port();
    let server = common::serve(
        &[
            "--city",
            &d("c.gpkg"),
            "--live",
            &d("faulty"),
            "--tokens",
            &d("tokens.toml"),
        ],
        port,
    );
    let wall = StreamClient::connect(port, WALL_TOKEN);
    let falsify = format!("{lake}:+0.5");
    let said = replay(
        dir.path(),
        &url,
        "60",
        &[
            "--freeze",
            &frozen,
            "--drop",
            &dropped,
            "--spike",
            "0.02",
            "--falsify",
            &falsify,
        ],
    );
    let text = faulty.wait();
    println!("clean data:\n{clean_text}\nfaulty data:\n{text}");
    drop(broker);
    // The stream carried every event the loop committed, each once and in order.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let got = wall.finish();
    // The video wall follows the same service: its tiles, ticker and water are the stream's.
    let shown = wall_screenshot(dir.path(), port);
    drop(server);
    let faulty_store = Store::open(Path::new(&d("faulty/live.sqlite"))).unwrap();
    let mut kinds = std::collections::BTreeMap::new();
    for (kind, ty) in [
        ("period", "state"),
        ("forecast", "forecast"),
        ("alert", "alert"),
    ] {
        let n = faulty_store.events(kind).unwrap().len();
        let seen = got.iter().filter(|m| m["type"] == ty).count();
        assert_eq!(seen, n, "{ty}: {seen} received, {n} stored");
        kinds.insert(ty, n);
    }
    let ids: Vec<i64> = got.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert!(kinds.values().all(|n| *n > 0), "{kinds:?}");
    println!("WebSocket stream: {} messages {kinds:?}", got.len());
    if let Some(shown) = shown {
        let (_, last) = faulty_store.events("period").unwrap().pop().unwrap();
        let last: serde_json::Value = serde_json::from_str(&last).unwrap();
        let now = &last["now"];
        let k = &shown["kpis"];
        let end_ms = last["end_ms"].as_i64().unwrap();
        let hhmm = |ms: i64| {
            let m = (ms / 60_000 + 7 * 60).rem_euclid(1440);
            format!("{:02}:{:02}", m / 60, m % 60)
        };
        assert_eq!(k["clock"], hhmm(end_ms), "{shown}");
        assert_eq!(k["max_depth_m"], now["max_depth_m"], "{shown}");
        assert!(now["max_depth_m"].as_f64().unwrap() > 0.05, "{now}");
        assert_eq!(
            k["roads_closed"].as_u64().unwrap() as usize,
            now["roads_closed"].as_array().unwrap().len()
        );
        assert_eq!(k["pumps_running"], now["pumps_running"]);
        assert_eq!(k["pumps_total"], now["pumps_total"]);
        // The roads the water closes are the ones the map draws closed.
        let mut ids: Vec<i64> = now["road_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        ids.sort_unstable();
        assert!(ids.len() >= now["roads_closed"].as_array().unwrap().len());
        assert_eq!(
            shown["wall"]["closed_roads"],
            serde_json::json!(ids),
            "{shown}"
        );
        let alerts = faulty_store.events("alert").unwrap();
        assert_eq!(
            shown["wall"]["alerts"].as_u64().unwrap() as usize,
            alerts.len().min(100)
        );
        let newest: serde_json::Value = serde_json::from_str(&alerts.last().unwrap().1).unwrap();
        let ticker = shown["wall"]["ticker"].as_str().unwrap();
        assert!(
            ticker.contains(newest["place"].as_str().unwrap()),
            "{ticker}"
        );
        assert_eq!(shown["wall"]["offline"], false);
        println!("wall: {}", shown["wall"]);
    }

    // The twin followed the storm and warned ahead of it.
    let clean_alerts = alerts(Path::new(&d("clean")));
    for a in [&clean_alerts, &alerts(Path::new(&d("faulty")))] {
        let observed: Vec<&Vec<String>> = a.iter().filter(|r| r[1] == "flood_observed").collect();
        assert!(!observed.is_empty(), "{a:?}");
        for o in observed {
            // Every street that flooded was forecast to, ahead of it (lead in minutes).
            let lead: f64 = o[6].parse().unwrap_or(f64::NAN);
            assert!(lead >= 10.0, "no timely forecast: {o:?}");
        }
        assert!(a.iter().any(|r| r[1] == "road_closure_forecast"), "{a:?}");
    }
    // The forecast from clean data agrees with the truth's peaks within 10 cm.
    let truth = truth_peaks(dir.path(), 75.0 * 60.0);
    let clean_peaks = street_peaks(Path::new(&d("clean")));
    assert_eq!(truth.len(), 4);
    for (name, t) in &truth {
        let f = clean_peaks.iter().find(|(n, _)| n == name).unwrap().1;
        assert!(
            (f - t).abs() < 0.10,
            "{name}: forecast {f:.3} m, truth {t:.3} m"
        );
    }

    // The faults: flagged with their reasons, not applied.
    let store = Store::open(Path::new(&d("faulty/live.sqlite"))).unwrap();
    let reasons: Vec<(String, u64)> = store.quarantine_by_reason().unwrap();
    let n = |r: &str| reasons.iter().find(|(k, _)| k == r).map_or(0, |(_, n)| *n);
    assert!(n("flat_line") > 0, "{reasons:?}");
    assert!(n("spike") > 0, "{reasons:?}");
    assert!(n("neighbour_mismatch") > 0, "{reasons:?}");
    // Its first reading, at 06:00 before any neighbour had reported, passed with a warning;
    // none after it, and the periods (from 06:00) assimilated only the two true lakes and the
    // river.
    let start_ms = twin_sensors::reading::parse_time("2025-09-30T06:00:00+07:00").unwrap();
    let applied = store.series(&lake).unwrap();
    assert!(
        applied.iter().all(|(t, _)| *t <= start_ms),
        "the falsified lake level was accepted: {applied:?}"
    );
    for (_, p) in store.events("period").unwrap() {
        let p: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert!(p["level_sensors"].as_u64().unwrap() <= 3, "{p}");
    }
    let status = std::fs::read_to_string(d("faulty/status.csv")).unwrap();
    let st = |id: &str| common::sensor_status(&status, id);
    assert_eq!(st(&frozen), "failed", "{status}");
    assert_eq!(st(&lake), "failed", "{status}");
    assert_eq!(st(&dropped), "silent", "{status}");
    let fa = alerts(Path::new(&d("faulty")));
    for (kind, s) in [
        ("sensor_failed", &frozen),
        ("sensor_failed", &lake),
        ("sensor_silent", &dropped),
    ] {
        assert!(
            fa.iter().any(|r| r[1] == kind && r[4] == *s),
            "no {kind} alert for {s}: {fa:?}"
        );
    }
    // And the forecast stays within 10 cm of the clean-data forecast at every street.
    let faulty_peaks = street_peaks(Path::new(&d("faulty")));
    for (name, c) in &clean_peaks {
        let f = faulty_peaks.iter().find(|(n, _)| n == name).unwrap().1;
        let t = truth.iter().find(|(n, _)| n == name).unwrap().1;
        println!("{name}: truth {t:.3} m, forecast from clean data {c:.3} m, from faulty {f:.3} m");
    }
    for (name, c) in &clean_peaks {
        let f = faulty_peaks.iter().find(|(n, _)| n == name).unwrap().1;
        assert!(
            (f - c).abs() < 0.10,
            "{name}: faulty-data forecast {f:.3} m, clean {c:.3} m\n{said}"
        );
    }
}

#[test]
fn live_killed_mid_stream_resumes_from_its_checkpoint_with_no_accepted_reading_lost() {
    let Some(broker) = twin_sensors::broker::for_test().unwrap() else {
        return;
    };
    let (dir, _reg) = truth();
    let d = |p: &str| dir.path().join(p).display().to_string();
    // What the replay publishes (deterministic for its seed).
    replay(dir.path(), &d("files"), "0", &[]);
    let mut published: Vec<(String, String)> = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(d("files"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        for l in std::fs::read_to_string(f).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            published.push((
                v["sensor"].as_str().unwrap().to_string(),
                v["time"].as_str().unwrap().to_string(),
            ));
        }
    }
    let url = broker.url("twin/demo/sensors");
    let until = "2025-09-30T07:30:00+07:00";
    let first = start_live(dir.path(), &format!("{url}/#"), &d("live"), until, &[]);
    let publisher = {
        let dir = dir.path().to_path_buf();
        let url = url.clone();
        std::thread::spawn(move || replay(&dir, &url, "40", &[]))
    };
    // Killed (SIGKILL) once it has closed a few periods.
    let t0 = std::time::Instant::now();
    while !first.text().contains("06:25 rain") {
        assert!(t0.elapsed().as_secs() < 300, "{}", first.text());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut first = first;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let before = Store::open(Path::new(&d("live/live.sqlite")))
        .unwrap()
        .reading_count()
        .unwrap();
    let text = start_live(dir.path(), &format!("{url}/#"), &d("live"), until, &[]).wait();
    publisher.join().unwrap();
    drop(broker);
    assert!(text.contains("resumed from the checkpoint at"), "{text}");

    let store = Store::open(Path::new(&d("live/live.sqlite"))).unwrap();
    // Every period from 06:00 to 07:30 closed exactly once, in order.
    let periods = store.events("period").unwrap();
    let ends: Vec<i64> = periods.iter().map(|(t, _)| *t).collect();
    assert_eq!(ends.len(), 18, "{ends:?}");
    for w in ends.windows(2) {
        assert_eq!(w[1] - w[0], 300_000, "{ends:?}");
    }
    // No accepted reading lost: every reading published up to 07:30 is in the store, once,
    // accepted or quarantined with its reason.
    let upto = published
        .iter()
        .filter(|(_, t)| t.as_str() <= until)
        .count() as u64;
    let until_ms = twin_sensors::reading::parse_time(until).unwrap();
    let stored = store.readings_between(i64::MIN, until_ms).unwrap().len() as u64;
    let quarantined = store.quarantine_count().unwrap();
    println!(
        "published to 07:30: {upto}; stored {stored} ({before} in all before the kill), quarantined {quarantined}"
    );
    assert!(before > 0 && before < stored, "{before} / {stored}");
    // The store keeps a reading once (sensor and time are unique); none is missing but for
    // those QC quarantined, each with its reason.
    assert!(stored <= upto, "{stored} > {upto}");
    assert!(
        stored + quarantined >= upto,
        "{stored} + {quarantined} < {upto}"
    );
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

/// `twin live --traffic` fed from a folder: every traffic counter reads far more vehicles than
/// the demand model lets past it, and the period records carry each counter's count against
/// the model's, with the demand lifted by them.
#[test]
fn live_traffic_takes_the_counters_counts_into_its_demand() {
    use twin_sensors::reading;
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let city_path = dir.join("c.gpkg");
    twin(&[
        "demo-city",
        "--cell-m",
        "30",
        "--out",
        common::s(&city_path),
    ]);
    let city = twin_io::gpkg::read_city(&city_path).unwrap();
    let reg = Registry::from_city(&city).unwrap();
    let counters: Vec<_> = reg
        .sensors()
        .iter()
        .filter(|s| s.kind == Kind::TrafficCounter)
        .collect();
    assert!(counters.len() >= 10, "{} counters", counters.len());
    // 2025-09-30 06:00 +07:00; a reading every 5 minutes to 06:40.
    let start: i64 = 1_759_186_800_000;
    let feed = dir.join("feed");
    std::fs::create_dir_all(&feed).unwrap();
    for m in (5..=40).step_by(5) {
        let time = reading::format_time(start + m * 60_000, 7 * 3600);
        let lines: String = counters
            .iter()
            .map(|s| {
                let v = 3000.0 + 10.0 * (m % 3) as f64;
                reading::to_json(&s.id, &time, v, &s.unit, None) + "\n"
            })
            .collect();
        std::fs::write(feed.join(format!("m{m:03}.json")), lines).unwrap();
    }
    let out = dir.join("out");
    let o = twin(&[
        "live",
        "--city",
        common::s(&city_path),
        "--sensors",
        common::s(&feed),
        "--out",
        common::s(&out),
        "--clock",
        "data",
        "--start",
        "2025-09-30T06:00:00+07:00",
        "--until",
        "2025-09-30T06:30:00+07:00",
        "--forecast-every",
        "30m",
        "--horizon",
        "30m",
        "--for",
        "300",
        "--traffic",
        "--trips",
        "5000",
    ]);
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(text.contains("counting sites / điểm đếm xe"), "{text}");
    assert!(text.contains("traffic / giao thông:"), "{text}");
    let store = Store::open(&out.join("live.sqlite")).unwrap();
    let periods = store.events("period").unwrap();
    assert_eq!(periods.len(), 6, "{text}");
    let mut level = 0.0;
    for (_, p) in &periods {
        let p: serde_json::Value = serde_json::from_str(p).unwrap();
        let t = &p["traffic"];
        let counts = t["counts"].as_array().unwrap();
        assert_eq!(counts.len(), counters.len(), "{t}");
        for c in counts {
            let (obs, model) = (
                c["observed_veh_h"].as_f64().unwrap(),
                c["model_veh_h"].as_f64().unwrap(),
            );
            assert!((3000.0..=3020.0).contains(&obs), "{c}");
            assert!(model < obs, "{c}");
        }
        // The day's level only rises while the counts stay above the model (to the factors'
        // ceiling, ×5).
        let now = t["demand_factor"].as_f64().unwrap();
        assert!(now >= level && now > 1.0, "{now} after {level}");
        level = now;
    }
    let (_, last) = periods.last().unwrap();
    let last: serde_json::Value = serde_json::from_str(last).unwrap();
    for c in last["traffic"]["counts"].as_array().unwrap() {
        assert!(c["factor"].as_f64().unwrap() > 2.0, "{c}");
    }
}
