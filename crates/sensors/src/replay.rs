//! Replay: the readings a finished scenario run implies, with faults, for tests, demos and
//! training. The water-level sensors' series come from the run's `gauges.csv` (gauges named
//! as the city's sensors: a street flood sensor reports the depth, the others the level); the
//! rain gauges report the storm's intensity (the rain file the run was given) every interval.
//! Faults, drawn from one seeded SplitMix64 in reading order (time, then sensor id), so a seed
//! gives the same readings on any machine:
//! noise (normal, SD in m, water levels only, depths kept ≥ 0), dropouts (each reading lost
//! with probability P), frozen sensors (from a third of the way through, the value then
//! repeated), dropped sensors (silent from a third of the way through), spikes (with
//! probability P a reading jumps by three times the sensor's spike threshold for that one
//! reading), falsified sensors (an offset added to every value).

use crate::registry::{Kind, Registry, Site};

/// SplitMix64 (Steele, Lea & Flood 2014): a small, portable, seedable generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    /// Next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// One gauge's series from a run's `gauges.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeSeries {
    /// The gauge's (sensor's) name.
    pub name: String,
    /// Times, s from the run's start.
    pub times_s: Vec<f64>,
    /// Depths, m.
    pub depth_m: Vec<f64>,
    /// Levels, m.
    pub level_m: Vec<f64>,
}

fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Parses a run's `gauges.csv` (`time_s,gauge,x,y,depth_m,level_m`); errors name the file,
/// line and field.
pub fn parse_gauges_csv(text: &str, file: &str) -> Result<Vec<GaugeSeries>, String> {
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l.trim()).unwrap_or("");
    if header != "time_s,gauge,x,y,depth_m,level_m" {
        return Err(format!(
            "{file}: line 1: expected the header time_s,gauge,x,y,depth_m,level_m, got '{header}'"
        ));
    }
    let mut out: Vec<GaugeSeries> = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f = csv_fields(line);
        if f.len() != 6 {
            return Err(format!(
                "{file}: line {}: {} fields, expected 6",
                i + 1,
                f.len()
            ));
        }
        let num = |k: usize, name: &str| -> Result<f64, String> {
            f[k].trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    format!(
                        "{file}: line {}, field '{name}': '{}' is not a number",
                        i + 1,
                        f[k]
                    )
                })
        };
        let (t, d, l) = (num(0, "time_s")?, num(4, "depth_m")?, num(5, "level_m")?);
        let g = match out.iter_mut().find(|g| g.name == f[1]) {
            Some(g) => g,
            None => {
                out.push(GaugeSeries {
                    name: f[1].clone(),
                    times_s: vec![],
                    depth_m: vec![],
                    level_m: vec![],
                });
                out.last_mut().unwrap_or_else(|| unreachable!())
            }
        };
        g.times_s.push(t);
        g.depth_m.push(d);
        g.level_m.push(l);
    }
    Ok(out)
}

/// Faults to add.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Noise SD on water levels, m.
    pub noise_sd: f64,
    /// Probability of each reading being lost.
    pub dropout: f64,
    /// Sensors frozen from a third of the way through.
    pub freeze: Vec<String>,
    /// Sensors that go silent from a third of the way through.
    pub drop: Vec<String>,
    /// Probability of a reading being a spike.
    pub spike: f64,
    /// Sensors with an offset added to every value.
    pub falsify: Vec<(String, f64)>,
    /// Seed.
    pub seed: u64,
}

/// One reading to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReading {
    /// Time, s from the run's start.
    pub t_s: f64,
    /// Sensor id.
    pub sensor: String,
    /// Value, in the sensor's unit.
    pub value: f64,
    /// The sensor's unit.
    pub unit: String,
}

/// What a replay holds: readings in time order (then sensor id) and notes on what could not
/// be replayed (gauges with no sensor, sensor kinds the run holds nothing for).
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// Readings.
    pub readings: Vec<ReplayReading>,
    /// Readings the faults dropped.
    pub dropped: usize,
    /// Spikes added.
    pub spikes: usize,
    /// Notes.
    pub notes: Vec<String>,
}

/// The readings a run implies. `rain` is the storm as `(minute, mm/h)` steps, if known.
pub fn build(
    reg: &Registry,
    gauges: &[GaugeSeries],
    rain: Option<&[(f64, f64)]>,
    faults: &Faults,
) -> Replay {
    let mut rep = Replay::default();
    let mut clean: Vec<ReplayReading> = Vec::new();
    let mut end_s: f64 = 0.0;
    for g in gauges {
        let Some(s) = reg.by_name(&g.name).filter(|s| s.kind == Kind::WaterLevel) else {
            rep.notes.push(format!(
                "gauge '{}': no water-level sensor of that name, not replayed",
                g.name
            ));
            continue;
        };
        let series = if s.site == Site::Street {
            &g.depth_m
        } else {
            &g.level_m
        };
        for (t, v) in g.times_s.iter().zip(series) {
            end_s = end_s.max(*t);
            clean.push(ReplayReading {
                t_s: *t,
                sensor: s.id.clone(),
                value: *v,
                unit: s.unit.clone(),
            });
        }
    }
    let gauges_rain: Vec<_> = reg
        .sensors()
        .iter()
        .filter(|s| s.kind == Kind::RainGauge)
        .collect();
    match rain {
        Some(steps) if !gauges_rain.is_empty() => {
            for s in &gauges_rain {
                let iv = s.interval_s.unwrap_or(300.0);
                let mut t = iv;
                while t <= end_s + 1e-9 {
                    // The intensity at the middle of the interval the reading closes.
                    let m = (t - iv / 2.0) / 60.0;
                    let v = steps
                        .iter()
                        .take_while(|(mm, _)| *mm <= m)
                        .last()
                        .map_or(0.0, |(_, i)| *i);
                    clean.push(ReplayReading {
                        t_s: t,
                        sensor: s.id.clone(),
                        value: v,
                        unit: s.unit.clone(),
                    });
                    t += iv;
                }
            }
        }
        None if !gauges_rain.is_empty() => rep.notes.push(format!(
            "{} rain gauges: no rain file given, not replayed",
            gauges_rain.len()
        )),
        _ => {}
    }
    let pumps = reg
        .sensors()
        .iter()
        .filter(|s| matches!(s.kind, Kind::PumpState | Kind::PumpFlow))
        .count();
    if pumps > 0 {
        rep.notes.push(format!(
            "{pumps} pump sensors: the run folder holds no pump series, not replayed"
        ));
    }
    clean.sort_by(|a, b| {
        a.t_s
            .total_cmp(&b.t_s)
            .then_with(|| a.sensor.cmp(&b.sensor))
    });
    let cut = end_s / 3.0;
    let mut rng = SplitMix64::new(faults.seed);
    let mut frozen: Vec<(String, f64)> = Vec::new();
    for mut r in clean {
        let s = &reg.sensors()[reg.index(&r.sensor).unwrap_or_else(|| unreachable!())];
        // Draws are made for every reading, used or not, so one fault does not shift another's.
        let (u_drop, u_spike, z) = (rng.uniform(), rng.uniform(), rng.normal());
        if faults.drop.contains(&r.sensor) && r.t_s >= cut {
            rep.dropped += 1;
            continue;
        }
        if u_drop < faults.dropout {
            rep.dropped += 1;
            continue;
        }
        if s.kind == Kind::WaterLevel && faults.noise_sd > 0.0 {
            r.value += faults.noise_sd * z;
            if s.site == Site::Street {
                r.value = r.value.max(0.0);
            }
        }
        if faults.freeze.contains(&r.sensor) && r.t_s >= cut {
            match frozen.iter().find(|(id, _)| *id == r.sensor) {
                Some((_, v)) => r.value = *v,
                None => frozen.push((r.sensor.clone(), r.value)),
            }
        }
        if let Some((_, off)) = faults.falsify.iter().find(|(id, _)| *id == r.sensor) {
            r.value += off;
        }
        if u_spike < faults.spike
            && let Some(j) = s.rules.spike_jump
        {
            r.value += 3.0 * j;
            rep.spikes += 1;
        }
        // Values as a sensor sends them: millimetres, hundredths.
        r.value = (r.value * 1000.0).round() / 1000.0;
        rep.readings.push(r);
    }
    rep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_the_published_sequence() {
        // SplitMix64 from state 0: its first output is 0xE220A8397B1DCDAF.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        let mut r = SplitMix64::new(7);
        let n = 20_000;
        let z: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = z.iter().sum::<f64>() / n as f64;
        let var = z.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }

    #[test]
    fn gauges_csv_reads_quoted_names_and_names_bad_fields() {
        let g = parse_gauges_csv(
            "time_s,gauge,x,y,depth_m,level_m\n0,\"A, b\",1,2,0.1,5.1\n60,\"A, b\",1,2,0.2,5.2\n0,C,3,4,0,1\n",
            "g.csv",
        )
        .unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].name, "A, b");
        assert_eq!(g[0].depth_m, vec![0.1, 0.2]);
        let e = parse_gauges_csv(
            "time_s,gauge,x,y,depth_m,level_m\n0,A,1,2,deep,5\n",
            "g.csv",
        )
        .unwrap_err();
        assert_eq!(e, "g.csv: line 2, field 'depth_m': 'deep' is not a number");
    }
}
