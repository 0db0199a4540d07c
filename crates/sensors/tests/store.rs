//! The store: an acknowledged append survives a SIGKILL of the writer (counted), and hostile
//! text in a reading or a rejected message never changes or corrupts the store.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use twin_sensors::Reason;
use twin_sensors::qc::{Decision, Verdict};
use twin_sensors::reading::Rejected;
use twin_sensors::store::{Batch, Store};

fn decision(sensor: &str, time_ms: i64, value: f64, verdict: Verdict) -> Decision {
    Decision {
        sensor: Some(0),
        sensor_id: sensor.into(),
        time_ms,
        time: format!("t{time_ms}"),
        value,
        unit: "m".into(),
        raw_value: value,
        raw_unit: Some("m".into()),
        verdict,
        detail: String::new(),
    }
}

/// Run as a child by the test below: appends batches of 50 readings for ever, printing how
/// many are acknowledged after each append returns.
#[test]
fn child_writer() {
    let Some(path) = std::env::var_os("TWIN_SENSORS_CHILD_STORE") else {
        return;
    };
    let mut store = Store::open(std::path::Path::new(&path)).unwrap();
    let mut acked = 0i64;
    loop {
        let ds: Vec<Decision> = (acked..acked + 50)
            .map(|t| decision("WL-1", t, t as f64 * 0.001, Verdict::Accepted(None)))
            .collect();
        let batch = Batch {
            decisions: ds.iter().map(|d| (d, "child")).collect(),
            rejected: vec![],
            held: None,
        };
        assert_eq!(store.append(&batch).unwrap(), 50);
        acked += 50;
        println!("acked {acked}");
    }
}

#[test]
fn a_killed_writer_loses_no_acknowledged_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_writer", "--exact", "--nocapture", "--test-threads=1"])
        .env("TWIN_SENSORS_CHILD_STORE", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut acked = 0i64;
    for line in out.lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("acked ") {
            acked = n.trim().parse().unwrap();
            if acked >= 3000 {
                // Child::kill is SIGKILL on Unix: no destructor, no flush, no clean close.
                child.kill().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    assert!(acked >= 3000, "the child acknowledged only {acked}");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let series = store.series("WL-1").unwrap();
    eprintln!("acknowledged {acked}, found {} after SIGKILL", series.len());
    assert!(series.len() as i64 >= acked);
    // Every acknowledged reading, with its value.
    for t in 0..acked {
        assert_eq!(series[t as usize], (t, t as f64 * 0.001));
    }
}

#[test]
fn hostile_text_is_stored_as_text_and_the_store_stays_sound() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.sqlite")).unwrap();
    let evil = "x'); DROP TABLE readings; --";
    let ds = [
        decision(evil, 1, 1.0, Verdict::Accepted(None)),
        decision("WL-1", 2, 2.0, Verdict::Accepted(None)),
        decision("WL-1", 2, 2.0, Verdict::Accepted(None)),
        decision(
            "WL-1",
            3,
            f64::MAX,
            Verdict::Quarantined(Reason::OutOfRange),
        ),
    ];
    let rj = Rejected {
        reason: Reason::Malformed,
        detail: evil.into(),
        excerpt: "\u{0}\u{feff}\"".into(),
    };
    let batch = Batch {
        decisions: ds.iter().map(|d| (d, "test")).collect(),
        rejected: vec![(&rj, "test")],
        held: None,
    };
    // The second reading at t = 2 is not stored twice: it is quarantined as a duplicate.
    assert_eq!(store.append(&batch).unwrap(), 2);
    assert_eq!(store.reading_count().unwrap(), 2);
    assert_eq!(store.quarantine_count().unwrap(), 2);
    assert_eq!(store.rejected_count().unwrap(), 1);
    assert_eq!(
        store.quarantine_by_reason().unwrap(),
        vec![
            ("duplicate".to_string(), 1),
            ("out_of_range".to_string(), 1)
        ]
    );
    assert_eq!(store.series(evil).unwrap(), vec![(1, 1.0)]);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn a_reading_held_undecided_survives_a_restart() {
    use twin_sensors::ingest::Pipeline;
    use twin_sensors::qc::{Clock, NoModel, Qc, QcConfig};
    let reg = twin_sensors::Registry::from_toml(
        "[[sensor]]\nid = \"L1\"\nkind = \"water_level\"\nsite = \"lake\"\nnormal = 6.0\nx = 0\ny = 0\n",
        std::path::Path::new("r.toml"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let cfg = QcConfig {
        clock: Clock::Data,
        ..QcConfig::default()
    };
    let msg = |min: u32, v: f64| {
        let t = format!("2025-09-30T06:{min:02}:00+07:00");
        (
            "test".to_string(),
            twin_sensors::reading::to_json("L1", &t, v, "m", None).into_bytes(),
        )
    };
    {
        let mut p = Pipeline::new(
            Qc::new(&reg, cfg.clone()),
            Some(Store::open(&path).unwrap()),
            1024,
        );
        // 6.0 m, then a 0.9 m jump: held until the next reading says spike or step.
        let out = p
            .process(&[msg(0, 6.0), msg(1, 6.9)], &NoModel, false)
            .unwrap();
        assert_eq!(out.decisions.len(), 1);
        let store = p.store.as_ref().unwrap();
        assert_eq!(store.reading_count().unwrap(), 1);
        assert_eq!(store.held().unwrap().len(), 1);
        // Dropped here without a flush, as a killed process would leave it.
    }
    let mut p = Pipeline::new(Qc::new(&reg, cfg), Some(Store::open(&path).unwrap()), 1024);
    let out = p.recover_held(&NoModel).unwrap();
    assert_eq!(out.accepted(), 1);
    let store = p.store.as_ref().unwrap();
    assert_eq!(
        store.series("L1").unwrap(),
        vec![(1_759_186_800_000, 6.0), (1_759_186_860_000, 6.9)]
    );
    assert!(store.held().unwrap().is_empty());
}
