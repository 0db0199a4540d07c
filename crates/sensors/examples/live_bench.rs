//! Throughput of the live sensor path, printed as Markdown rows:
//! readings/s through QC alone (parsed readings in), through parsing and QC (JSON messages in),
//! and end to end on loopback: published to a private mosquitto at QoS 1, received, parsed,
//! checked, stored in SQLite (WAL, synchronous FULL) and acknowledged.
//!
//! `cargo run --release -p twin-sensors --example live_bench -- [READINGS] [MQTT_READINGS]`
//! (`benches/live/run.sh` runs it and writes `benches/results/live.md`).

use std::time::{Duration, Instant};
use twin_sensors::ingest::Pipeline;
use twin_sensors::mqtt::{self, MqttUrl, Publisher, Subscriber};
use twin_sensors::qc::{Clock, NoModel, Qc, QcConfig};
use twin_sensors::reading::{Reading, SensorRef, format_time, parse_message, to_json};
use twin_sensors::registry::{Kind, Registry, Sensor, Site, default_rules};
use twin_sensors::{Reason, Store};

/// 2025-09-30T06:00:00+07:00.
const T0: i64 = 1_759_186_800_000;

/// 400 street flood sensors on a 20 × 20 grid 250 m apart (up to 12 neighbours each within
/// the default 500 m: the neighbour check runs on every reading) and 100 rain gauges.
fn registry() -> Registry {
    let sensor = |id: String, kind: Kind, site: Site, x: f64, y: f64| {
        let (unit, rules) = default_rules(kind, site, 0.0);
        Sensor {
            id,
            name: None,
            kind,
            site,
            unit,
            rules,
            x,
            y,
            feature: None,
            interval_s: Some(60.0),
            normal: 0.0,
            datastream: None,
        }
    };
    let streets = (0..400).map(|k| {
        let (x, y) = (250.0 * (k % 20) as f64, 250.0 * (k / 20) as f64);
        sensor(format!("WL-{k}"), Kind::WaterLevel, Site::Street, x, y)
    });
    let gauges = (0..100).map(|k| {
        let (x, y) = (500.0 * (k % 10) as f64, 500.0 * (k / 10) as f64);
        sensor(format!("RG-{k}"), Kind::RainGauge, Site::Other, x, y)
    });
    Registry::new(streets.chain(gauges).collect()).expect("unique ids")
}

/// Reading `i`: every sensor once a minute, levels rising 1 mm a minute, rain varying.
fn reading(i: usize) -> (String, f64, String, &'static str) {
    let minute = i / 500;
    let k = i % 500;
    let time = format_time(T0 + minute as i64 * 60_000, 7 * 3600);
    if k < 400 {
        let v = 0.001 * minute as f64 + 0.0001 * (k % 7) as f64;
        (format!("WL-{k}"), v, time, "m")
    } else {
        (
            format!("RG-{}", k - 400),
            10.0 + (minute % 13) as f64,
            time,
            "mm/h",
        )
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(500_000);
    let n_mqtt = args.get(1).copied().unwrap_or(100_000);
    let reg = registry();
    let cfg = QcConfig {
        clock: Clock::Data,
        ..QcConfig::default()
    };

    // QC alone.
    let readings: Vec<Reading> = (0..n)
        .map(|i| {
            let (s, v, t, u) = reading(i);
            Reading {
                sensor: SensorRef::Id(s),
                time_ms: twin_sensors::reading::parse_time(&t).expect("time"),
                time: t,
                value: v,
                unit: Some(u.into()),
                quality: None,
            }
        })
        .collect();
    let mut qc = Qc::new(&reg, cfg.clone());
    let t = Instant::now();
    let mut accepted = 0usize;
    for r in readings {
        accepted += qc.push(r, &NoModel).iter().filter(|d| d.accepted()).count();
    }
    accepted += qc.flush().iter().filter(|d| d.accepted()).count();
    let qc_s = t.elapsed().as_secs_f64();
    assert_eq!(
        accepted,
        n,
        "a clean stream is accepted whole: {:?}",
        qc.counts()
    );
    println!(
        "| QC alone (parsed readings in) | {n} | {qc_s:.3} | {:.0} |",
        n as f64 / qc_s
    );

    // Parse + QC.
    let msgs: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let (s, v, t, u) = reading(i);
            to_json(&s, &t, v, u, None).into_bytes()
        })
        .collect();
    let mut qc = Qc::new(&reg, cfg.clone());
    let t = Instant::now();
    let mut accepted = 0usize;
    for m in &msgs {
        for r in parse_message(m, 64 * 1024).into_iter().flatten() {
            accepted += qc.push(r, &NoModel).iter().filter(|d| d.accepted()).count();
        }
    }
    let pq_s = t.elapsed().as_secs_f64();
    assert_eq!(accepted, n);
    println!(
        "| parse + QC (one JSON message per reading) | {n} | {pq_s:.3} | {:.0} |",
        n as f64 / pq_s
    );

    // MQTT → parse → QC → SQLite → ack, on loopback.
    let broker = match twin_sensors::broker::Broker::start() {
        Ok(b) => b,
        Err(e) => {
            println!("| MQTT → QC → store | not run: {e} | | |");
            return;
        }
    };
    let dir = std::env::temp_dir().join(format!("twin-live-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = Store::open(&dir.join("bench.sqlite")).expect("store");
    let mut p = Pipeline::new(Qc::new(&reg, cfg), Some(store), 64 * 1024);
    let sub = Subscriber::connect(
        &MqttUrl::parse(&broker.url("twin/bench/sensors/#")).expect("url"),
        "bench-sub",
    );
    sub.wait_subscribed(Duration::from_secs(10))
        .expect("subscribed");
    let url = MqttUrl::parse(&broker.url("x")).expect("url");
    let t = Instant::now();
    let publisher = std::thread::spawn(move || {
        let mut pb = Publisher::connect(&url, "bench-pub");
        for i in 0..n_mqtt {
            let (s, v, tm, u) = reading(i);
            pb.publish(
                &format!("twin/bench/sensors/{s}"),
                to_json(&s, &tm, v, u, None).into_bytes(),
            )
            .expect("publish");
        }
        pb.wait_acked(Duration::from_secs(120)).expect("acked")
    });
    let deadline = Duration::from_secs(180);
    mqtt::ingest(
        &mut p,
        &sub,
        &NoModel,
        2000,
        &mut |p| {
            let c = p.qc.counts();
            c.accepted as usize + c.total_not_applied() as usize >= n_mqtt || t.elapsed() > deadline
        },
        &mut |_, _| Ok(()),
    )
    .expect("ingest");
    let e2e_s = t.elapsed().as_secs_f64();
    let acked = publisher.join().expect("publisher");
    sub.disconnect();
    let stored = p
        .store
        .as_ref()
        .expect("store")
        .reading_count()
        .expect("count");
    let c = p.qc.counts();
    println!(
        "| MQTT QoS 1 → parse → QC → SQLite (WAL, FULL) → ack, loopback | {n_mqtt} | {e2e_s:.3} | {:.0} |",
        n_mqtt as f64 / e2e_s
    );
    println!(
        "\nbroker acknowledged {acked}; accepted {}, not applied {} ({} duplicates), stored {stored}",
        c.accepted,
        c.total_not_applied(),
        c.get(Reason::Duplicate)
    );
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}
