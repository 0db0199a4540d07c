//! Folder ingest: files moved in are read, checked and stored, then moved to done/ (with a
//! reason file when part of them was bad) or rejected/ (nothing usable in them, with the
//! reason); files still being written are left alone; every reading and rejection counted.
//! Stdin's line reader is checked on the same inputs.

mod common;

use std::path::Path;
use twin_sensors::ingest::{BoundedLines, Folder, Pipeline, folder_once};
use twin_sensors::qc::{Clock, NoModel, Qc, QcConfig};
use twin_sensors::{Reason, Registry};

const REG: &str = "[[sensor]]\nid = \"RG-1\"\nkind = \"rain_gauge\"\nx = 0\ny = 0\ninterval_s = 300\n[[sensor]]\nid = \"WL-1\"\nkind = \"water_level\"\nsite = \"lake\"\nnormal = 6.0\nx = 0\ny = 0\n";

fn line(sensor: &str, minute: u32, value: f64, unit: &str) -> String {
    format!(
        "{{\"sensor\":\"{sensor}\",\"time\":\"2025-09-30T06:{minute:02}:00+07:00\",\"value\":{value},\"unit\":\"{unit}\"}}\n"
    )
}

#[test]
fn folder_ingest_moves_counts_and_explains() {
    let reg = Registry::from_toml(REG, Path::new("r.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let folder = Folder::new(&inbox).unwrap();
    let w = |name: &str, text: &str| std::fs::write(inbox.join(name), text).unwrap();
    let good: String = (0..10)
        .map(|m| line("RG-1", m * 5, 2.0 * m as f64, "mm/h"))
        .collect();
    w("a-good.ndjson", &good);
    w(
        "b-bad.json",
        "{\"sensor\": \"RG-1\", \"time\": \"2025-09-30T07:00:00+07:00\", \"value\": }",
    );
    w(
        "c-mixed.json",
        &format!(
            "[{},{},{{\"sensor\":\"WL-1\"}},{}]",
            line("WL-1", 0, 6.0, "m").trim(),
            line("WL-1", 5, 6010.0, "mm").trim(),
            line("WL-1", 10, 6.02, "mm/h").trim()
        ),
    );
    w("d-unknown.json", &line("XX-9", 0, 1.0, "m"));
    w("e-big.json", &" ".repeat(5000));
    w(".f-hidden.json", &line("RG-1", 55, 1.0, "mm/h"));
    w("g-writing.json.part", &line("RG-1", 55, 1.0, "mm/h"));
    let mut p = common::pipeline(&reg, &dir.path().join("s.sqlite"));
    let moved = folder_once(&mut p, &folder, &NoModel, 4096).unwrap();
    let rel: Vec<String> = moved
        .iter()
        .map(|m| m.strip_prefix(&inbox).unwrap().display().to_string())
        .collect();
    assert_eq!(
        rel,
        vec![
            "done/a-good.ndjson",
            "rejected/b-bad.json",
            "done/c-mixed.json",
            "done/d-unknown.json",
            "rejected/e-big.json"
        ]
    );
    // Left alone: still being written.
    assert!(inbox.join(".f-hidden.json").exists() && inbox.join("g-writing.json.part").exists());
    let reason = |p: &str| std::fs::read_to_string(inbox.join(p)).unwrap();
    assert!(reason("rejected/b-bad.json.reason.txt").starts_with("malformed: not JSON"));
    assert!(
        reason("rejected/e-big.json.reason.txt")
            .starts_with("oversized: 4097 bytes, the limit is 4096")
    );
    let mixed = reason("done/c-mixed.json.reason.txt");
    assert!(
        mixed.contains("malformed: element 3: missing field `time`"),
        "{mixed}"
    );
    assert!(mixed.contains("unit_mismatch WL-1"), "{mixed}");
    assert!(reason("done/d-unknown.json.reason.txt").starts_with("unknown_sensor XX-9"));
    assert!(!inbox.join("done/a-good.ndjson.reason.txt").exists());
    let c = p.qc.counts();
    // 10 rain readings and 2 lake readings (6010 mm taken as 6.01 m).
    assert_eq!(c.accepted, 12);
    let got: Vec<(Reason, u64)> = c.not_applied.iter().map(|(r, n)| (*r, *n)).collect();
    assert_eq!(
        got,
        vec![
            (Reason::Malformed, 2),
            (Reason::Oversized, 1),
            (Reason::UnknownSensor, 1),
            (Reason::UnitMismatch, 1)
        ]
    );
    let store = p.store.as_ref().unwrap();
    assert_eq!(
        store.series("WL-1").unwrap(),
        vec![(1_759_186_800_000, 6.0), (1_759_187_100_000, 6.01)]
    );
    assert_eq!(
        (
            store.reading_count().unwrap(),
            store.quarantine_count().unwrap(),
            store.rejected_count().unwrap()
        ),
        (12, 2, 3)
    );
    // A second poll finds nothing new.
    assert!(
        folder_once(&mut p, &folder, &NoModel, 4096)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn stdin_lines_are_the_same_readings() {
    let text = format!(
        "{}{}\n{}",
        line("RG-1", 0, 1.0, "mm/h"),
        "x".repeat(100),
        line("RG-1", 5, 2.0, "mm/h")
    );
    let lines: Vec<_> = BoundedLines::new(text.as_bytes(), 90)
        .map(|l| l.unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1], Err(100));
    let reg = Registry::from_toml(REG, Path::new("r.toml")).unwrap();
    let qc = Qc::new(
        &reg,
        QcConfig {
            clock: Clock::Data,
            ..QcConfig::default()
        },
    );
    let mut p = Pipeline::new(qc, None, 90);
    let msgs: Vec<(String, Vec<u8>)> = lines
        .into_iter()
        .filter_map(|l| l.ok())
        .map(|l| ("stdin".to_string(), l))
        .collect();
    let out = p.process(&msgs, &NoModel, true).unwrap();
    assert_eq!(out.accepted(), 2);
}
