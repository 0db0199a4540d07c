//! Quality control: every reading either passes every check and is accepted (possibly with a
//! warning), or is quarantined with the first check it fails. Checks, in order:
//!
//! 1. `unknown_sensor`: not in the registry (SensorThings Datastream ids are mapped first);
//! 2. `unit_mismatch`: a unit not the sensor's and not safely convertible ([`crate::units`]);
//!    a convertible one is converted;
//! 3. `future` (more than `max_future_s` ahead of the clock), `too_old` (more than `max_age_s`
//!    behind it), `duplicate` (a time this sensor already sent, of its last 64),
//!    `out_of_order` (earlier than its latest);
//! 4. `sender_flagged`: the sender marked it `"quality": "bad"`;
//! 5. `out_of_range`: outside the sensor's `[min, max]`;
//! 6. `flat_line`: the `flat_n`-th identical value in a row over at least `flat_s` seconds,
//!    above the sensor's floor (no rain or a dry street is no frozen sensor); the frozen
//!    readings before the `flat_n`-th were accepted already;
//! 7. `rate_of_change`: further from its last accepted value than `max_rate_per_h` × the time
//!    between them, plus a tenth of `spike_jump` (the sensor's noise allowance);
//! 8. neighbours and model: the reading's anomaly (value − the sensor's normal) against the
//!    median anomaly of its neighbours (same kind and site within `neighbour_radius_m`, each
//!    with an accepted reading within `neighbour_window_s`, at least `min_neighbours` of them),
//!    and against [`ModelView::expected`]: far from the neighbours and from the model (or with
//!    no model): `neighbour_mismatch`, quarantined; far from the neighbours, the model agreeing:
//!    accepted with the warning `neighbour_only`; far from the model only: accepted with the
//!    warning `model_only` (the model is what assimilation corrects);
//! 9. `spike`: a jump above `spike_jump` from the last accepted value is held, with the
//!    verdict of checks 7–8, until the sensor's next in-range reading: if that is back within
//!    half the jump of the value before, the held reading is quarantined as a spike, else it
//!    gets its held verdict (a real step is accepted). Held readings are released with their
//!    verdict by [`Qc::flush`] or [`Qc::release_before`].
//!
//! Each sensor's status: `silent` when nothing came for `silent_after_s`, `failed` after
//! `fail_after` quarantined readings in a row (duplicates aside), `suspect` after fewer, or
//! after a warning, else `ok`. Everything is kept in sensor-index order: outputs do not depend
//! on hashing.

use crate::reading::{Reading, SenderQuality, SensorRef};
use crate::reason::{Counts, Reason};
use crate::registry::{Registry, Sensor};
use crate::units;
use serde::Serialize;
use std::collections::VecDeque;

/// What "now" is for the time checks and the silent status.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clock {
    /// The machine's clock (live ingest).
    Wall,
    /// The latest reading time that passed the time checks (replays, files of past data).
    Data,
    /// A fixed time, ms since the epoch (tests).
    Fixed(i64),
}

/// QC settings.
#[derive(Debug, Clone, PartialEq)]
pub struct QcConfig {
    /// What "now" is.
    pub clock: Clock,
    /// Largest time ahead of the clock, s (clock skew allowance).
    pub max_future_s: f64,
    /// Largest age behind the clock, s.
    pub max_age_s: f64,
    /// A sensor is silent after this long without a reading, s.
    pub silent_after_s: f64,
    /// A sensor has failed after this many quarantined readings in a row.
    pub fail_after: u32,
    /// Neighbours: same kind and site within this distance, m.
    pub neighbour_radius_m: f64,
    /// Neighbours' readings count within this time of the reading, s.
    pub neighbour_window_s: f64,
    /// Fewest neighbours for the neighbour check.
    pub min_neighbours: usize,
}

impl Default for QcConfig {
    fn default() -> Self {
        QcConfig {
            clock: Clock::Wall,
            max_future_s: 300.0,
            max_age_s: 7.0 * 86_400.0,
            silent_after_s: 900.0,
            fail_after: 3,
            neighbour_radius_m: 500.0,
            neighbour_window_s: 900.0,
            min_neighbours: 2,
        }
    }
}

/// What the model expects a sensor to read now: `(value, tolerance)` in the sensor's unit.
/// The engine implements it from its simulated state; [`NoModel`] knows nothing.
pub trait ModelView {
    /// The expected value and its tolerance, if the model has one for this sensor.
    fn expected(&self, sensor: &Sensor) -> Option<(f64, f64)>;
}

/// A model that expects nothing (the neighbour check then decides alone).
pub struct NoModel;

impl ModelView for NoModel {
    fn expected(&self, _: &Sensor) -> Option<(f64, f64)> {
        None
    }
}

/// The verdict on a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Applied, with a warning or not.
    Accepted(Option<Reason>),
    /// Not applied.
    Quarantined(Reason),
}

/// A reading with its verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The sensor's index in the registry (`None`: unknown).
    pub sensor: Option<usize>,
    /// The sensor's id (as sent, when unknown).
    pub sensor_id: String,
    /// Time, ms since the epoch.
    pub time_ms: i64,
    /// Time as sent.
    pub time: String,
    /// Value in the sensor's unit (as sent when the unit could not be converted).
    pub value: f64,
    /// The sensor's unit (the unit sent when it could not be converted).
    pub unit: String,
    /// Value as sent.
    pub raw_value: f64,
    /// Unit as sent.
    pub raw_unit: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, in numbers.
    pub detail: String,
}

impl Decision {
    /// Whether it is applied.
    pub fn accepted(&self) -> bool {
        matches!(self.verdict, Verdict::Accepted(_))
    }
    /// The reason (quarantine or warning), if any.
    pub fn reason(&self) -> Option<Reason> {
        match self.verdict {
            Verdict::Accepted(w) => w,
            Verdict::Quarantined(r) => Some(r),
        }
    }
}

/// A sensor's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Reporting, last reading accepted without doubt.
    Ok,
    /// Its last reading was quarantined or doubted.
    Suspect,
    /// Its last `fail_after` readings were all quarantined.
    Failed,
    /// Nothing for `silent_after_s`.
    Silent,
}

impl Status {
    /// Code.
    pub fn code(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Suspect => "suspect",
            Status::Failed => "failed",
            Status::Silent => "silent",
        }
    }
    /// Vietnamese label.
    pub fn vi(self) -> &'static str {
        match self {
            Status::Ok => "bình thường",
            Status::Suspect => "nghi ngờ",
            Status::Failed => "hỏng",
            Status::Silent => "mất tín hiệu",
        }
    }
}

/// A sensor's status and counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensorReport {
    /// Sensor id.
    pub id: String,
    /// Status now.
    pub status: Status,
    /// Its counts.
    pub counts: Counts,
    /// Time of its last reading received, ms.
    pub last_time_ms: Option<i64>,
    /// Its last accepted value.
    pub last_value: Option<f64>,
}

const RECENT_TIMES: usize = 64;

/// A run of identical values: the value, how many, since when (ms).
type Run = (f64, u32, i64);

#[derive(Debug, Clone, Default)]
struct State {
    last_time_ms: Option<i64>,
    recent: VecDeque<i64>,
    last_accepted: Option<(i64, f64)>,
    /// A held jump: the reading, the value before it, and the flat-line run before it (a
    /// spike does not break a frozen sensor's run).
    pending: Option<(Decision, f64, Option<Run>)>,
    run: Option<Run>,
    consecutive_bad: u32,
    warned: bool,
    counts: Counts,
}

/// The QC over a registry.
pub struct Qc<'r> {
    reg: &'r Registry,
    cfg: QcConfig,
    state: Vec<State>,
    neighbours: Vec<Vec<usize>>,
    data_clock: Option<i64>,
    counts: Counts,
}

impl<'r> Qc<'r> {
    /// QC over `reg` with `cfg`.
    pub fn new(reg: &'r Registry, cfg: QcConfig) -> Qc<'r> {
        let s = reg.sensors();
        let neighbours = s
            .iter()
            .enumerate()
            .map(|(i, a)| {
                if a.rules.neighbour_tol.is_none() {
                    return Vec::new();
                }
                s.iter()
                    .enumerate()
                    .filter(|(j, b)| {
                        *j != i
                            && b.kind == a.kind
                            && b.site == a.site
                            && (b.x - a.x).hypot(b.y - a.y) <= cfg.neighbour_radius_m
                    })
                    .map(|(j, _)| j)
                    .collect()
            })
            .collect();
        Qc {
            reg,
            state: vec![State::default(); s.len()],
            neighbours,
            cfg,
            data_clock: None,
            counts: Counts::default(),
        }
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        self.reg
    }

    /// Counts over every reading and rejected message so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Counts a message rejected before it was a reading (malformed, oversized).
    pub fn count_rejected(&mut self, reason: Reason) {
        self.counts.add(reason);
    }

    /// "Now", ms.
    pub fn now_ms(&self) -> i64 {
        match self.cfg.clock {
            Clock::Wall => chrono::Utc::now().timestamp_millis(),
            Clock::Data => self.data_clock.unwrap_or(i64::MIN / 2),
            Clock::Fixed(t) => t,
        }
    }

    fn record(&mut self, d: &Decision) {
        match d.verdict {
            Verdict::Accepted(w) => {
                self.counts.accepted += 1;
                if let Some(w) = w {
                    self.counts.add(w);
                }
            }
            Verdict::Quarantined(r) => self.counts.add(r),
        }
        let Some(i) = d.sensor else { return };
        let st = &mut self.state[i];
        match d.verdict {
            Verdict::Accepted(w) => {
                st.counts.accepted += 1;
                if let Some(w) = w {
                    st.counts.add(w);
                }
                st.consecutive_bad = 0;
                st.warned = w.is_some();
                if st.last_accepted.is_none_or(|(t, _)| d.time_ms >= t) {
                    st.last_accepted = Some((d.time_ms, d.value));
                }
            }
            Verdict::Quarantined(r) => {
                st.counts.add(r);
                if r != Reason::Duplicate {
                    st.consecutive_bad += 1;
                }
            }
        }
    }

    /// Runs one reading through QC; returns the decisions made (none while a jump is held,
    /// two when the next reading settles a held one: the held one first).
    pub fn push(&mut self, r: Reading, model: &dyn ModelView) -> Vec<Decision> {
        let mut out = Vec::with_capacity(1);
        let d = self.check(r, model, &mut out);
        if let Some(d) = d {
            self.record(&d);
            out.push(d);
        }
        out
    }

    fn check(
        &mut self,
        r: Reading,
        model: &dyn ModelView,
        out: &mut Vec<Decision>,
    ) -> Option<Decision> {
        let idx = match &r.sensor {
            SensorRef::Id(s) => self.reg.index(s),
            SensorRef::Datastream(s) => self.reg.index_datastream(s),
        };
        let mut d = Decision {
            sensor: idx,
            sensor_id: idx.map_or_else(
                || r.sensor.text().to_string(),
                |i| self.reg.sensors()[i].id.clone(),
            ),
            time_ms: r.time_ms,
            time: r.time.clone(),
            value: r.value,
            unit: r.unit.clone().unwrap_or_default(),
            raw_value: r.value,
            raw_unit: r.unit.clone(),
            verdict: Verdict::Accepted(None),
            detail: String::new(),
        };
        let quarantine = |mut d: Decision, reason: Reason, detail: String| {
            d.verdict = Verdict::Quarantined(reason);
            d.detail = detail;
            Some(d)
        };
        let Some(i) = idx else {
            let detail = match &r.sensor {
                SensorRef::Id(s) => format!("no sensor '{s}' in the registry"),
                SensorRef::Datastream(s) => format!("no sensor for Datastream '{s}'"),
            };
            return quarantine(d, Reason::UnknownSensor, detail);
        };
        let s = &self.reg.sensors()[i];
        // Units.
        d.value = match &r.unit {
            None => r.value,
            Some(u) => match units::convert(r.value, u, &s.unit, s.interval_s) {
                Some(v) => v,
                None => {
                    let detail = format!("'{u}' for a sensor in '{}'", s.unit);
                    return quarantine(d, Reason::UnitMismatch, detail);
                }
            },
        };
        d.unit = s.unit.clone();
        // Time.
        let now = self.now_ms();
        let t = r.time_ms;
        if self.cfg.clock != Clock::Data || self.data_clock.is_some() {
            if (t - now) as f64 > self.cfg.max_future_s * 1000.0 {
                let detail = format!(
                    "{:.0} s ahead of the clock (at most {:.0})",
                    (t - now) as f64 / 1000.0,
                    self.cfg.max_future_s
                );
                self.seen(i, t, false);
                return quarantine(d, Reason::Future, detail);
            }
            if (now - t) as f64 > self.cfg.max_age_s * 1000.0 {
                let detail = format!(
                    "{:.0} s old (at most {:.0})",
                    (now - t) as f64 / 1000.0,
                    self.cfg.max_age_s
                );
                self.seen(i, t, false);
                return quarantine(d, Reason::TooOld, detail);
            }
        }
        let st = &self.state[i];
        if st.recent.contains(&t) {
            return quarantine(
                d,
                Reason::Duplicate,
                format!("a reading at {} came already", r.time),
            );
        }
        if let Some(last) = st.last_time_ms
            && t < last
        {
            let detail = format!(
                "{:.0} s before its latest reading",
                (last - t) as f64 / 1000.0
            );
            self.seen(i, t, false);
            return quarantine(d, Reason::OutOfOrder, detail);
        }
        self.seen(i, t, true);
        if r.quality == Some(SenderQuality::Bad) {
            return quarantine(d, Reason::SenderFlagged, "quality \"bad\"".into());
        }
        let s = &self.reg.sensors()[i];
        let v = d.value;
        if !(s.rules.min..=s.rules.max).contains(&v) {
            let detail = format!("{v} {} outside [{}, {}]", s.unit, s.rules.min, s.rules.max);
            return quarantine(d, Reason::OutOfRange, detail);
        }
        // A held jump is settled by this in-range reading.
        if let Some((held, before, run_before)) = self.state[i].pending.take() {
            let jump = (held.value - before).abs();
            let mut held = held;
            if (v - before).abs() <= jump / 2.0 {
                self.state[i].run = run_before;
                held.verdict = Verdict::Quarantined(Reason::Spike);
                held.detail = format!(
                    "jumped {:+} {} from {before} and came back to {v}",
                    held.value - before,
                    s.unit
                );
            }
            self.record(&held);
            out.push(held);
        }
        let s = &self.reg.sensors()[i];
        let st = &mut self.state[i];
        // Flat line (tracked over every in-range value).
        let run_before = st.run;
        let same = st
            .run
            .is_some_and(|(rv, _, _)| (rv - v).abs() <= 1e-12 * rv.abs().max(1.0));
        st.run = match st.run {
            Some((rv, n, t0)) if same => Some((rv, n + 1, t0)),
            _ => Some((v, 1, t)),
        };
        let last = st.last_accepted;
        if let Some((_, n, t0)) = st.run
            && s.rules.flat_n > 0
            && n >= s.rules.flat_n
            && (t - t0) as f64 >= s.rules.flat_s * 1000.0
            && v > s.rules.min
        {
            let detail = format!(
                "{v} {} {n} times over {:.0} s",
                s.unit,
                (t - t0) as f64 / 1000.0
            );
            return quarantine(d, Reason::FlatLine, detail);
        }
        // The verdict of the rate and neighbour checks; a jump is held with it.
        d.verdict = self.rate_and_neighbours(i, &mut d, last, model);
        let s = &self.reg.sensors()[i];
        if let (Some(jump), Some((_, v0))) = (s.rules.spike_jump, last)
            && (v - v0).abs() > jump
        {
            self.state[i].pending = Some((d, v0, run_before));
            return None;
        }
        Some(d)
    }

    /// Rate of change against the last accepted value, then neighbours and model.
    fn rate_and_neighbours(
        &self,
        i: usize,
        d: &mut Decision,
        last: Option<(i64, f64)>,
        model: &dyn ModelView,
    ) -> Verdict {
        let s = &self.reg.sensors()[i];
        let (t, v) = (d.time_ms, d.value);
        if let (Some(rate), Some((t0, v0))) = (s.rules.max_rate_per_h, last) {
            let dt_h = (t - t0) as f64 / 3.6e6;
            // A tenth of the spike threshold is the sensor's noise allowance: 5 mm of noise on
            // readings a minute apart is no 0.6 m/h rise.
            let slack = s.rules.spike_jump.unwrap_or(0.0) * 0.1;
            if dt_h > 0.0 && (v - v0).abs() > rate * dt_h + slack {
                d.detail = format!(
                    "{:+} {} in {:.0} s: {:.3} per hour, at most {rate}",
                    v - v0,
                    s.unit,
                    dt_h * 3600.0,
                    (v - v0).abs() / dt_h
                );
                return Verdict::Quarantined(Reason::RateOfChange);
            }
        }
        let Some(tol) = s.rules.neighbour_tol else {
            return Verdict::Accepted(None);
        };
        let window = self.cfg.neighbour_window_s * 1000.0;
        let mut anomalies: Vec<f64> = self.neighbours[i]
            .iter()
            .filter_map(|&j| {
                let (tj, vj) = self.state[j].last_accepted?;
                ((tj - t).abs() as f64 <= window).then(|| vj - self.reg.sensors()[j].normal)
            })
            .collect();
        let expected = model.expected(s);
        let off_model = expected.map(|(e, tol_m)| (v - e).abs() > tol_m);
        if anomalies.len() >= self.cfg.min_neighbours.max(1) {
            anomalies.sort_by(f64::total_cmp);
            let n = anomalies.len();
            let median = if n % 2 == 1 {
                anomalies[n / 2]
            } else {
                0.5 * (anomalies[n / 2 - 1] + anomalies[n / 2])
            };
            let off = v - s.normal - median;
            if off.abs() > tol {
                if off_model == Some(false) {
                    d.detail = format!(
                        "{off:+.3} {} from its {n} neighbours' median; the model agrees",
                        s.unit
                    );
                    return Verdict::Accepted(Some(Reason::NeighbourOnly));
                }
                let m = expected.map_or(String::from("no model"), |(e, _)| {
                    format!("the model expects {e:.3}")
                });
                d.detail = format!(
                    "{off:+.3} {} from the median of its {n} neighbours (tolerance {tol}); {m}",
                    s.unit
                );
                return Verdict::Quarantined(Reason::NeighbourMismatch);
            }
        }
        if off_model == Some(true) {
            if let Some((e, _)) = expected {
                d.detail = format!("the model expects {e:.3} {}", s.unit);
            }
            return Verdict::Accepted(Some(Reason::ModelOnly));
        }
        Verdict::Accepted(None)
    }

    fn seen(&mut self, i: usize, t: i64, advance: bool) {
        let st = &mut self.state[i];
        if st.recent.len() == RECENT_TIMES {
            st.recent.pop_front();
        }
        st.recent.push_back(t);
        if advance {
            st.last_time_ms = Some(st.last_time_ms.map_or(t, |l| l.max(t)));
            self.data_clock = Some(self.data_clock.map_or(t, |c| c.max(t)));
        }
    }

    /// The readings held undecided (jumps waiting for the sensor's next reading), in sensor
    /// order.
    pub fn held(&self) -> Vec<&Decision> {
        self.state
            .iter()
            .filter_map(|st| st.pending.as_ref().map(|(d, _, _)| d))
            .collect()
    }

    /// Releases held jumps older than `t_ms` as accepted (no reading came to refute them).
    pub fn release_before(&mut self, t_ms: i64) -> Vec<Decision> {
        let mut out = Vec::new();
        for i in 0..self.state.len() {
            if self.state[i]
                .pending
                .as_ref()
                .is_some_and(|(d, _, _)| d.time_ms < t_ms)
            {
                let (d, _, _) = self.state[i]
                    .pending
                    .take()
                    .unwrap_or_else(|| unreachable!());
                self.record(&d);
                out.push(d);
            }
        }
        out
    }

    /// Releases every held jump as accepted (end of a batch or a stream).
    pub fn flush(&mut self) -> Vec<Decision> {
        self.release_before(i64::MAX)
    }

    /// Each sensor's status and counts at `now_ms`, in id order.
    pub fn report(&self, now_ms: i64) -> Vec<SensorReport> {
        self.reg
            .sensors()
            .iter()
            .zip(&self.state)
            .map(|(s, st)| {
                let silent = st
                    .last_time_ms
                    .is_none_or(|t| (now_ms - t) as f64 > self.cfg.silent_after_s * 1000.0);
                let status = if silent {
                    Status::Silent
                } else if st.consecutive_bad >= self.cfg.fail_after {
                    Status::Failed
                } else if st.consecutive_bad > 0 || st.warned {
                    Status::Suspect
                } else {
                    Status::Ok
                };
                SensorReport {
                    id: s.id.clone(),
                    status,
                    counts: st.counts.clone(),
                    last_time_ms: st.last_time_ms,
                    last_value: st.last_accepted.map(|(_, v)| v),
                }
            })
            .collect()
    }
}
