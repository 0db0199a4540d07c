//! Each QC reason triggered by a crafted sequence, and not triggered by a clean one; the
//! neighbour check flags a level falsified 0.5 m off its neighbours and passes a rise all of
//! them see; statuses follow.

mod common;

use twin_sensors::qc::{Clock, ModelView, NoModel, Qc, QcConfig, Status, Verdict};
use twin_sensors::reading::{Reading, SenderQuality, SensorRef};
use twin_sensors::{Reason, Registry, Sensor};

/// 2025-09-30T06:00:00+07:00.
const T0: i64 = 1_759_186_800_000;

const EXTRA: &str = r#"
[[sensor]]
id = "L1"
kind = "water_level"
site = "lake"
normal = 6.0
x = 9000
y = 9000
[[sensor]]
id = "R1"
kind = "rain_gauge"
x = 0
y = 0
interval_s = 300
[[sensor]]
id = "P1"
kind = "pump_state"
x = 100
y = 100
"#;

fn reg() -> Registry {
    common::registry(EXTRA)
}

fn cfg() -> QcConfig {
    QcConfig {
        clock: Clock::Data,
        ..QcConfig::default()
    }
}

fn rd(sensor: &str, minute: f64, value: f64, unit: &str) -> Reading {
    let time_ms = T0 + (minute * 60_000.0) as i64;
    let time = chrono::DateTime::from_timestamp_millis(time_ms)
        .unwrap()
        .to_rfc3339();
    Reading {
        sensor: SensorRef::Id(sensor.into()),
        time_ms,
        time,
        value,
        unit: Some(unit.into()),
        quality: None,
    }
}

/// Runs readings through QC (flushing at the end); returns the verdicts in order.
fn run(qc: &mut Qc, model: &dyn ModelView, rs: Vec<Reading>) -> Vec<(String, i64, Verdict)> {
    let mut out = Vec::new();
    for r in rs {
        for d in qc.push(r, model) {
            out.push((d.sensor_id, (d.time_ms - T0) / 60_000, d.verdict));
        }
    }
    for d in qc.flush() {
        out.push((d.sensor_id, (d.time_ms - T0) / 60_000, d.verdict));
    }
    out
}

fn reasons(v: &[(String, i64, Verdict)]) -> Vec<(String, i64, Reason)> {
    v.iter()
        .filter_map(|(s, t, v)| match v {
            Verdict::Quarantined(r) | Verdict::Accepted(Some(r)) => Some((s.clone(), *t, *r)),
            _ => None,
        })
        .collect()
}

/// A clean storm: four street sensors rising together with a little (deterministic) noise,
/// rain varying, a lake rising slowly, the pump switching on.
fn clean() -> Vec<Reading> {
    let mut v = Vec::new();
    for k in 0..60 {
        let m = k as f64;
        let rise = (m * 0.02).min(0.8);
        for (i, s) in ["S1", "S2", "S3", "S4"].iter().enumerate() {
            let wiggle = 0.01 * (((k * 7 + i * 3) % 5) as f64 - 2.0);
            v.push(rd(s, m, (rise + wiggle).max(0.0), "m"));
        }
        v.push(rd("L1", m, 6.0 + m * 0.005 + 0.001 * (k % 3) as f64, "m"));
        if k % 5 == 0 {
            v.push(rd(
                "R1",
                m,
                [0.0, 20.0, 60.0, 95.0, 80.0, 40.0][(k / 5) % 6],
                "mm/h",
            ));
            v.push(rd("P1", m, if k >= 20 { 1.0 } else { 0.0 }, "state"));
        }
    }
    v
}

#[test]
fn a_clean_storm_passes_every_check() {
    let reg = reg();
    let mut qc = Qc::new(&reg, cfg());
    let rs = clean();
    let n = rs.len() as u64;
    let out = run(&mut qc, &NoModel, rs);
    assert_eq!(reasons(&out), vec![]);
    assert_eq!(qc.counts().accepted, n);
    let end = T0 + 59 * 60_000;
    for s in qc.report(end) {
        assert_eq!(s.status, Status::Ok, "{}", s.id);
    }
}

fn only(qc_out: &[(String, i64, Verdict)]) -> Vec<Reason> {
    reasons(qc_out).into_iter().map(|(_, _, r)| r).collect()
}

#[test]
fn out_of_range_and_sender_flag() {
    let reg = reg();
    let mut qc = Qc::new(&reg, cfg());
    let mut bad = rd("L1", 2.0, 6.0, "m");
    bad.quality = Some(SenderQuality::Bad);
    let out = run(
        &mut qc,
        &NoModel,
        vec![
            rd("S1", 0.0, 3.5, "m"),
            rd("S1", 1.0, 2.9, "m"),
            bad,
            rd("P1", 0.0, 2.0, "state"),
        ],
    );
    assert_eq!(
        only(&out),
        vec![
            Reason::OutOfRange,
            Reason::SenderFlagged,
            Reason::OutOfRange
        ]
    );
    // 2.9 m is in range (the first in-range reading has nothing to be compared with).
    assert_eq!(out[1].2, Verdict::Accepted(None));
}

#[test]
fn rate_of_change_beyond_the_lakes_metre_per_hour() {
    let reg = reg();
    let mut qc = Qc::new(&reg, cfg());
    // +0.05 m in 5 min = 0.6 m/h: fine; +0.2 m in 5 min = 2.4 m/h: too fast (but under the
    // 0.3 m spike threshold, so not held).
    let out = run(
        &mut qc,
        &NoModel,
        vec![
            rd("L1", 0.0, 6.0, "m"),
            rd("L1", 5.0, 6.05, "m"),
            rd("L1", 10.0, 6.25, "m"),
        ],
    );
    assert_eq!(reasons(&out), vec![("L1".into(), 10, Reason::RateOfChange)]);
}

#[test]
fn flat_line_after_ten_identical_readings_over_half_an_hour() {
    let reg = reg();
    let mut qc = Qc::new(&reg, cfg());
    let rs: Vec<_> = (0..12)
        .map(|k| rd("S1", 5.0 * k as f64, 0.123, "m"))
        .collect();
    let out = run(&mut qc, &NoModel, rs);
    // The 10th (45 min after the first, ≥ 30 min) and later are flat; the 9 before accepted.
    assert_eq!(
        reasons(&out),
        vec![
            ("S1".into(), 45, Reason::FlatLine),
            ("S1".into(), 50, Reason::FlatLine),
            ("S1".into(), 55, Reason::FlatLine)
        ]
    );
    assert_eq!(qc.counts().accepted, 9);
    // A spike in the middle of a frozen run does not hide it: the run goes on past the spike.
    let mut qc = Qc::new(&reg, cfg());
    let mut rs: Vec<_> = (0..12)
        .map(|k| rd("S1", 5.0 * k as f64, 0.123, "m"))
        .collect();
    rs.insert(5, rd("S1", 22.0, 0.9, "m"));
    let out = run(&mut qc, &NoModel, rs);
    assert_eq!(
        reasons(&out),
        vec![
            ("S1".into(), 22, Reason::Spike),
            ("S1".into(), 45, Reason::FlatLine),
            ("S1".into(), 50, Reason::FlatLine),
            ("S1".into(), 55, Reason::FlatLine)
        ]
    );
    // A dry street (its floor, 0 m) repeated for an hour is no frozen sensor.
    let mut qc = Qc::new(&reg, cfg());
    let out = run(
        &mut qc,
        &NoModel,
        (0..60).map(|k| rd("S1", k as f64, 0.0, "m")).collect(),
    );
    assert_eq!(reasons(&out), vec![]);
    // Ten identical readings over only 9 minutes are not flat either.
    let mut qc = Qc::new(&reg, cfg());
    let out = run(
        &mut qc,
        &NoModel,
        (0..10).map(|k| rd("S1", k as f64, 0.2, "m")).collect(),
    );
    assert_eq!(reasons(&out), vec![]);
    // A lake holding its level to the millimetre for 3 hours is not frozen; for 6 hours it is.
    let mut qc = Qc::new(&reg, cfg());
    let out = run(
        &mut qc,
        &NoModel,
        (0..=36)
            .map(|k| rd("L1", 5.0 * k as f64, 6.2, "m"))
            .collect(),
    );
    assert_eq!(reasons(&out), vec![]);
    let out = run(
        &mut qc,
        &NoModel,
        (37..=72)
            .map(|k| rd("L1", 5.0 * k as f64, 6.2, "m"))
            .collect(),
    );
    assert_eq!(
        reasons(&out).first(),
        Some(&("L1".to_string(), 360, Reason::FlatLine))
    );
}

#[test]
fn spike_is_a_jump_that_comes_back_a_step_that_stays_is_not() {
    let reg = reg();
    let mut qc = Qc::new(&reg, cfg());
    let out = run(
        &mut qc,
        &NoModel,
        vec![
            rd("L1", 0.0, 6.0, "m"),
            rd("L1", 1.0, 6.9, "m"),
            rd("L1", 2.0, 6.01, "m"),
            rd("L1", 3.0, 6.0, "m"),
        ],
    );
    assert_eq!(reasons(&out), vec![("L1".into(), 1, Reason::Spike)]);
    // Rain stepping up and staying up is a storm, not a spike.
    let mut qc = Qc::new(&reg, cfg());
    let out = run(
        &mut qc,
        &NoModel,
        vec![
            rd("R1", 0.0, 0.0, "mm/h"),
            rd("R1", 5.0, 150.0, "mm/h"),
            rd("R1", 10.0, 150.0, "mm/h"),
            rd("R1", 15.0, 140.0, "mm/h"),
        ],
    );
    assert_eq!(reasons(&out), vec![]);
    assert_eq!(qc.counts().accepted, 4);
    // 0 → 300 → 0 mm/h is.
    let out = run(
        &mut qc,
        &NoModel,
        vec![
            rd("R1", 20.0, 0.0, "mm/h"),
            rd("R1", 25.0, 300.0, "mm/h"),
            rd("R1", 30.0, 5.0, "mm/h"),
        ],
    );
    assert_eq!(reasons(&out), vec![("R1".into(), 25, Reason::Spike)]);
}

#[test]
fn time_checks_future_too_old_duplicate_out_of_order() {
    let reg = reg();
    let c = QcConfig {
        clock: Clock::Fixed(T0 + 60 * 60_000),
        ..QcConfig::default()
    };
    let mut qc = Qc::new(&reg, c);
    let out = run(
        &mut qc,
        &NoModel,
        vec![
            rd("P1", 62.0, 1.0, "state"), // 2 min ahead: within the 5 min skew
            rd("P1", 70.0, 1.0, "state"), // 10 min ahead
            rd("P1", -8.0 * 1440.0, 1.0, "state"), // 8 days old
            rd("P1", 62.0, 1.0, "state"), // again
            rd("P1", 50.0, 0.0, "state"), // before 62
            rd("P1", 63.0, 0.0, "state"),
        ],
    );
    assert_eq!(
        reasons(&out),
        vec![
            ("P1".into(), 70, Reason::Future),
            ("P1".into(), -11520, Reason::TooOld),
            ("P1".into(), 62, Reason::Duplicate),
            ("P1".into(), 50, Reason::OutOfOrder),
        ]
    );
    assert_eq!(qc.counts().accepted, 2);
}

#[test]
fn unknown_sensors_and_units_converted_or_refused() {
    let reg = reg();
    let mut qc = Qc::new(&reg, cfg());
    let mut out = Vec::new();
    for r in [
        rd("NOPE", 0.0, 1.0, "m"),
        rd("L1", 0.0, 6100.0, "mm"),
        rd("L1", 1.0, 6.1, "mm/h"),
        rd("R1", 5.0, 2.0, "mm"),
        rd("R1", 10.0, 0.2, "m"),
    ] {
        out.extend(qc.push(r, &NoModel));
    }
    let got: Vec<_> = out
        .iter()
        .map(|d| (d.sensor_id.as_str(), d.value, d.verdict))
        .collect();
    assert_eq!(
        got,
        vec![
            ("NOPE", 1.0, Verdict::Quarantined(Reason::UnknownSensor)),
            ("L1", 6.1, Verdict::Accepted(None)),
            ("L1", 6.1, Verdict::Quarantined(Reason::UnitMismatch)),
            // 2 mm in the gauge's 5 minutes = 24 mm/h.
            ("R1", 24.0, Verdict::Accepted(None)),
            ("R1", 0.2, Verdict::Quarantined(Reason::UnitMismatch)),
        ]
    );
    // A SensorThings Datastream id maps to the sensor with that id (no datastream given).
    let r = Reading {
        sensor: SensorRef::Datastream("P1".into()),
        unit: None,
        ..rd("P1", 0.0, 1.0, "x")
    };
    assert_eq!(qc.push(r, &NoModel)[0].verdict, Verdict::Accepted(None));
}

/// Four street sensors 300 m apart at 0.20 m with small noise; `falsify` adds 0.5 m to S1's.
fn street(steps: usize, falsify: f64, rise_per_step: f64) -> Vec<Reading> {
    let mut v = Vec::new();
    for k in 0..steps {
        for (i, s) in ["S1", "S2", "S3", "S4"].iter().enumerate() {
            let base = 0.2 + rise_per_step * k as f64 + 0.005 * ((k + i) % 3) as f64;
            let off = if i == 0 { falsify } else { 0.0 };
            v.push(rd(s, 5.0 * k as f64, base + off, "m"));
        }
    }
    v
}

#[test]
fn a_level_falsified_half_a_metre_off_its_neighbours_is_quarantined() {
    let reg = reg();
    let mut qc = Qc::new(&reg, cfg());
    let out = run(&mut qc, &NoModel, street(12, 0.5, 0.0));
    let r = reasons(&out);
    // Its first reading has no neighbours yet to compare with; every later one is caught.
    assert_eq!(r.len(), 11, "{r:?}");
    assert!(
        r.iter()
            .all(|(s, _, why)| s == "S1" && *why == Reason::NeighbourMismatch)
    );
    let rep = qc.report(T0 + 55 * 60_000);
    assert_eq!(
        rep.iter().find(|s| s.id == "S1").unwrap().status,
        Status::Failed
    );
    assert_eq!(
        rep.iter().find(|s| s.id == "S2").unwrap().status,
        Status::Ok
    );
    // 0.25 m off is within the 0.3 m tolerance.
    let mut qc = Qc::new(&reg, cfg());
    assert_eq!(
        reasons(&run(&mut qc, &NoModel, street(12, 0.25, 0.0))),
        vec![]
    );
}

#[test]
fn a_rise_every_neighbour_sees_is_not_flagged() {
    let reg = reg();
    let mut qc = Qc::new(&reg, cfg());
    // 0.1 m per 5 minutes for an hour: 1.1 m in all, seen by all four.
    let out = run(&mut qc, &NoModel, street(12, 0.0, 0.1));
    assert_eq!(reasons(&out), vec![]);
    assert_eq!(qc.counts().accepted, 48);
}

struct Model(f64);
impl ModelView for Model {
    fn expected(&self, s: &Sensor) -> Option<(f64, f64)> {
        (s.id == "S1").then_some((self.0, 0.1))
    }
}

#[test]
fn the_model_vouches_or_warns_but_alone_never_quarantines() {
    let reg = reg();
    // The model expects S1 at 0.7 m: the 0.5 m offset is then a neighbour-only warning.
    let mut qc = Qc::new(&reg, cfg());
    let out = run(&mut qc, &Model(0.7), street(4, 0.5, 0.0));
    assert_eq!(only(&out), vec![Reason::NeighbourOnly; 3]);
    assert_eq!(qc.counts().accepted, 16);
    // Model far off (2 m), neighbours agreeing: accepted with a model-only warning.
    let mut qc = Qc::new(&reg, cfg());
    let out = run(&mut qc, &Model(2.0), street(4, 0.0, 0.0));
    assert_eq!(only(&out), vec![Reason::ModelOnly; 4]);
    // Far from both: quarantined (S1's first reading, with no neighbour reading yet, is far
    // from the model only: a warning).
    let mut qc = Qc::new(&reg, cfg());
    let out = run(&mut qc, &Model(0.2), street(4, 0.5, 0.0));
    assert_eq!(
        only(&out),
        vec![
            Reason::ModelOnly,
            Reason::NeighbourMismatch,
            Reason::NeighbourMismatch,
            Reason::NeighbourMismatch
        ]
    );
}

#[test]
fn statuses_ok_suspect_failed_silent() {
    let reg = reg();
    let mut qc = Qc::new(&reg, cfg());
    run(
        &mut qc,
        &NoModel,
        vec![
            rd("L1", 0.0, 6.0, "m"),
            rd("L1", 1.0, 99.0, "m"),
            rd("P1", 0.0, 1.0, "state"),
            rd("P1", 1.0, 5.0, "state"),
            rd("P1", 2.0, 5.0, "state"),
            rd("P1", 3.0, 5.0, "state"),
            rd("R1", 0.0, 1.0, "mm/h"),
        ],
    );
    let rep = qc.report(T0 + 10 * 60_000);
    let st = |id: &str| rep.iter().find(|s| s.id == id).unwrap().status;
    assert_eq!(st("L1"), Status::Suspect);
    assert_eq!(st("P1"), Status::Failed);
    assert_eq!(st("R1"), Status::Ok);
    assert_eq!(st("S1"), Status::Silent);
    // 20 minutes on, R1 has been quiet for more than 15.
    assert_eq!(
        qc.report(T0 + 20 * 60_000)
            .iter()
            .find(|s| s.id == "R1")
            .unwrap()
            .status,
        Status::Silent
    );
    assert_eq!(qc.counts().get(Reason::OutOfRange), 4);
}
