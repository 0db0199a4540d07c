//! MQTT end to end through a mosquitto the test starts on a free loopback port: readings
//! published at QoS 1 with bad ones among them are counted, accepted or not, per reason,
//! exactly, and the store holds what was counted.

mod common;

use std::time::{Duration, Instant};
use twin_sensors::Reason;
use twin_sensors::mqtt::{self, MqttUrl, Publisher, Subscriber};
use twin_sensors::qc::NoModel;
use twin_sensors::reading::to_json;

fn time(minute: f64) -> String {
    // From 2025-09-30T06:00:00+07:00.
    let t = chrono::DateTime::from_timestamp_millis(1_759_186_800_000 + (minute * 60_000.0) as i64)
        .unwrap();
    t.with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).unwrap())
        .to_rfc3339()
}

#[test]
fn mqtt_readings_with_bad_ones_are_counted_exactly() {
    let Some(broker) = twin_sensors::broker::for_test().unwrap() else {
        return;
    };
    let reg = common::registry("");
    let dir = tempfile::tempdir().unwrap();
    let mut p = common::pipeline(&reg, &dir.path().join("s.sqlite"));
    let sub = Subscriber::connect(
        &MqttUrl::parse(&broker.url("twin/test/sensors/#")).unwrap(),
        "twin-test-sub",
    );
    sub.wait_subscribed(Duration::from_secs(10)).unwrap();

    let mut pubr = Publisher::connect(&MqttUrl::parse(&broker.url("x")).unwrap(), "twin-test-pub");
    let topic = |s: &str| format!("twin/test/sensors/{s}");
    let mut sent = 0;
    for k in 0..200 {
        let m = k as f64;
        for (i, s) in ["S1", "S2", "S3", "S4"].iter().enumerate() {
            let v = 0.002 * m + 0.001 * i as f64;
            let msg = to_json(s, &time(m), v, "m", None);
            pubr.publish(&topic(s), msg.clone().into_bytes()).unwrap();
            sent += 1;
            if k % 50 == 7 && i == 0 {
                // The same message again: a duplicate (4 of them).
                pubr.publish(&topic(s), msg.into_bytes()).unwrap();
                sent += 1;
            }
        }
        if k % 20 == 3 {
            // 10 malformed: not JSON.
            pubr.publish(&topic("S2"), b"{\"sensor\": \"S2\", \"time\": ".to_vec())
                .unwrap();
            sent += 1;
        }
        if k % 40 == 5 {
            // 5 oversized: 70 KiB.
            pubr.publish(&topic("S3"), vec![b' '; 70 * 1024]).unwrap();
            sent += 1;
        }
        if k % 30 == 9 {
            // 7 unknown sensors.
            pubr.publish(
                &topic("S9"),
                to_json("S9", &time(m), 0.1, "m", None).into_bytes(),
            )
            .unwrap();
            sent += 1;
        }
        if k % 35 == 11 {
            // 6 wrong units: a depth in mm/h.
            pubr.publish(
                &topic("S4"),
                to_json("S4", &time(m + 0.5), 0.1, "mm/h", None).into_bytes(),
            )
            .unwrap();
            sent += 1;
        }
        if k % 70 == 13 {
            // 3 out of range: 5 m on a street.
            pubr.publish(
                &topic("S1"),
                to_json("S1", &time(m + 0.5), 5.0, "m", None).into_bytes(),
            )
            .unwrap();
            sent += 1;
        }
    }
    assert_eq!(sent, 800 + 4 + 10 + 5 + 7 + 6 + 3);
    pubr.wait_acked(Duration::from_secs(30)).unwrap();
    let t0 = Instant::now();
    mqtt::ingest(
        &mut p,
        &sub,
        &NoModel,
        1000,
        &mut |p| {
            let c = p.qc.counts();
            c.accepted + c.total_not_applied() >= sent || t0.elapsed() > Duration::from_secs(60)
        },
        &mut |_, _| Ok(()),
    )
    .unwrap();
    sub.disconnect();
    let c = p.qc.counts().clone();
    let got: Vec<(Reason, u64)> = c.not_applied.iter().map(|(r, n)| (*r, *n)).collect();
    assert_eq!(c.accepted, 800);
    assert_eq!(
        got,
        vec![
            (Reason::Malformed, 10),
            (Reason::Oversized, 5),
            (Reason::UnknownSensor, 7),
            (Reason::UnitMismatch, 6),
            (Reason::Duplicate, 4),
            (Reason::OutOfRange, 3),
        ]
    );
    assert!(c.warnings.is_empty());
    let store = p.store.as_ref().unwrap();
    assert_eq!(store.reading_count().unwrap(), 800);
    assert_eq!(store.quarantine_count().unwrap(), 7 + 6 + 4 + 3);
    assert_eq!(store.rejected_count().unwrap(), 15);
    drop(broker);
}
