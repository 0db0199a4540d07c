//! `twin sensors`: a replay of a run folder on the demo district, with faults, through a
//! private mosquitto into `twin sensors ingest`, gives exactly the verdicts `twin sensors
//! check` gives on the same replay written to a folder (the replay is deterministic for a
//! seed, and QC the same on both paths); the faults are flagged with their reasons.

mod common;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use twin_sensors::{Registry, Site, Store};

use common::twin_ok as twin;

/// A run folder's gauges.csv for the demo's surface water-level sensors: 90 minutes, a
/// minute apart; streets fill from 0 to 0.6 m, lakes rise 0.3 m, the river holds (its
/// flat line takes 6 hours).
fn gauges_csv(reg: &Registry) -> String {
    let mut s = String::from("time_s,gauge,x,y,depth_m,level_m\n");
    for (k, sensor) in reg
        .sensors()
        .iter()
        .filter(|s| s.kind == twin_sensors::Kind::WaterLevel && s.site != Site::Manhole)
        .enumerate()
    {
        for m in 0..=90 {
            let f = m as f64 / 90.0;
            let (depth, level) = match sensor.site {
                Site::Street => (0.6 * f + 0.01 * k as f64, 5.0 + 0.6 * f),
                Site::River => (3.0, sensor.normal),
                _ => (1.0 + 0.3 * f, sensor.normal + 0.3 * f),
            };
            let name = sensor.name.clone().unwrap_or_default();
            s += &format!(
                "{},\"{}\",{:.2},{:.2},{depth:.4},{level:.4}\n",
                m * 60,
                name.replace('"', "\"\""),
                sensor.x,
                sensor.y
            );
        }
    }
    s
}

/// A folder with the demo district (`c.gpkg`) and a run folder (`run/gauges.csv`).
fn demo_run() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("c.gpkg");
    twin(&["demo-city", "--out", &city.display().to_string()]);
    let reg = Registry::from_city(&twin_io::gpkg::read_city(&city).unwrap()).unwrap();
    std::fs::create_dir_all(dir.path().join("run")).unwrap();
    std::fs::write(dir.path().join("run/gauges.csv"), gauges_csv(&reg)).unwrap();
    (dir, reg)
}

/// Starts `twin sensors ingest` from MQTT into `store`, returning once it is subscribed.
fn start_ingest(city: &str, url: &str, store: &str, for_s: &str) -> std::process::Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args([
            "sensors",
            "ingest",
            "--city",
            city,
            "--from",
            &format!("{url}/#"),
            "--store",
            store,
        ])
        .args([
            "--for",
            for_s,
            "--clock",
            "data",
            "--client-id",
            "twin-test-ingest",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("ingest / nhận số liệu") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "ingest ended before subscribing"
        );
    }
    // Keep reading its output so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in out.lines() {});
    c
}

#[test]
fn ingest_killed_mid_stream_and_restarted_stores_every_reading_once() {
    let Some(broker) = twin_sensors::broker::for_test().unwrap() else {
        return;
    };
    let (dir, _reg) = demo_run();
    let d = |p: &str| dir.path().join(p).display().to_string();
    let (city, store) = (d("c.gpkg"), d("s.sqlite"));
    let url = broker.url("twin/demo/sensors");
    let first = start_ingest(&city, &url, &store, "60");
    // 90 minutes of readings at 900× real time: 6 s of publishing.
    let replay = Command::new(env!("CARGO_BIN_EXE_twin"))
        .args([
            "sensors",
            "replay",
            "--scenario",
            &d("run"),
            "--city",
            &city,
            "--to",
            &url,
        ])
        .args(["--speed", "900"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed once it has stored something (WAL: a reader beside the writer is fine).
    let t0 = std::time::Instant::now();
    while Store::open(Path::new(&store))
        .and_then(|s| s.reading_count())
        .unwrap_or(0)
        < 50
    {
        assert!(t0.elapsed().as_secs() < 30, "ingest stored nothing in 30 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut first = first;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let before = Store::open(Path::new(&store))
        .unwrap()
        .reading_count()
        .unwrap();
    let second = start_ingest(&city, &url, &store, "10");
    let o = replay.wait_with_output().unwrap();
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    let published: u64 = text
        .split("published / đã phát: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut second = second;
    assert!(second.wait().unwrap().success());
    let s = Store::open(Path::new(&store)).unwrap();
    eprintln!(
        "published {published}; stored {before} before the kill, {} in all; quarantined {:?}",
        s.reading_count().unwrap(),
        s.quarantine_by_reason().unwrap()
    );
    assert!(
        before > 0 && before < published,
        "the kill came mid-stream: {before} of {published}"
    );
    // Every published reading stored once; nothing quarantined but what came twice (messages
    // stored, not yet acknowledged at the kill, and sent again).
    assert_eq!(s.reading_count().unwrap(), published);
    assert_eq!(s.rejected_count().unwrap(), 0);
    let q = s.quarantine_by_reason().unwrap();
    assert!(q.iter().all(|(r, _)| r == "duplicate"), "{q:?}");
}

#[test]
fn replay_over_mqtt_into_ingest_matches_check_on_the_same_replay() {
    let Some(broker) = twin_sensors::broker::for_test().unwrap() else {
        return;
    };
    let (dir, reg) = demo_run();
    let d = |p: &str| dir.path().join(p).display().to_string();
    let streets: Vec<&str> = reg
        .sensors()
        .iter()
        .filter(|s| s.site == Site::Street)
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(streets.len(), 4, "the demo's four street flood sensors");
    let faults = [
        "--noise",
        "0.005",
        "--dropout",
        "0.02",
        "--spike",
        "0.02",
        "--seed",
        "11",
        "--freeze",
        streets[0],
        "--drop",
        streets[1],
        "--falsify",
        &format!("{}:+0.5", streets[2]),
    ];
    let rain =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/design-storm-100mm-2h.csv");
    let rain = rain.display().to_string();
    let (run, city, files) = (d("run"), d("c.gpkg"), d("files"));
    let replay = |to: &str| {
        let mut args: Vec<String> = [
            "sensors",
            "replay",
            "--scenario",
            &run,
            "--city",
            &city,
            "--to",
            to,
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.extend(
            ["--speed", "0", "--rain", &rain]
                .iter()
                .map(|a| a.to_string()),
        );
        args.extend(faults.iter().map(|a| a.to_string()));
        args
    };
    // The replay into a folder, checked.
    let args = replay(&files);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = twin(&args);
    let replay_text = String::from_utf8_lossy(&o.stdout).to_string();
    let csv = d("check.csv");
    let o = twin(&[
        "sensors",
        "check",
        "--city",
        &d("c.gpkg"),
        &d("files"),
        "--csv",
        &csv,
    ]);
    let check_text = String::from_utf8_lossy(&o.stdout).to_string();
    let verdicts = std::fs::read_to_string(&csv).unwrap();
    let count = |v: &str, reason: &str| {
        verdicts
            .lines()
            .filter(|l| l.contains(&format!(",{v},{reason},")))
            .count()
    };
    let accepted = verdicts
        .lines()
        .filter(|l| l.contains(",accepted,"))
        .count();
    // The faults, flagged: the frozen sensor's flat line, spikes, the dropped sensor silent.
    assert!(count("quarantined", "flat_line") > 0, "{check_text}");
    assert!(count("quarantined", "spike") > 0, "{check_text}");
    let status = std::fs::read_to_string(d("check-status.csv")).unwrap();
    let st = |id: &str| common::sensor_status(&status, id);
    assert_eq!(st(streets[0]), "failed", "{status}");
    assert_eq!(st(streets[1]), "silent", "{status}");
    let spikes_added: usize = replay_text
        .split("spikes / xung: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Every spike added is quarantined: as a spike, or, where the next reading does not come
    // back (another spike, the end of the stream), by the rate check.
    let (spikes, too_fast) = (
        count("quarantined", "spike"),
        count("quarantined", "rate_of_change"),
    );
    assert_eq!(
        spikes + too_fast,
        spikes_added,
        "{replay_text}\n{check_text}"
    );
    assert!(spikes + 1 >= spikes_added, "{replay_text}\n{check_text}");

    // The same replay over MQTT into ingest.
    let url = broker.url("twin/demo/sensors");
    let mut ingest = start_ingest(&city, &url, &d("s.sqlite"), "10");
    let args = replay(&url);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    twin(&args);
    assert!(ingest.wait().unwrap().success());
    let store = Store::open(Path::new(&d("s.sqlite"))).unwrap();
    assert_eq!(store.reading_count().unwrap() as usize, accepted);
    let mut by_reason: Vec<(String, u64)> = Vec::new();
    for l in verdicts.lines().filter(|l| l.contains(",quarantined,")) {
        let r = l
            .split(",quarantined,")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_string();
        match by_reason.iter_mut().find(|(k, _)| *k == r) {
            Some(e) => e.1 += 1,
            None => by_reason.push((r, 1)),
        }
    }
    by_reason.sort();
    assert_eq!(store.quarantine_by_reason().unwrap(), by_reason);
    assert_eq!(store.rejected_count().unwrap(), 0);
    drop(broker);
}
