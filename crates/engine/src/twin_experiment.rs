//! The twin experiment of the live twin (an observing-system simulation): a "truth" storm the
//! forecast is not told, its sensors read with noise, and two forecasts of the hotspots' peak
//! depths from the same time — open loop (the state driven by the rain forecast, no
//! observations) and with assimilation (the state driven by the rain gauges and nudged to the
//! street flood sensors, the rain forecast corrected by the gauges' mean-field bias) — scored
//! against the truth.

use crate::flood::Gauge;
use crate::live::{DepthObs, Forecast, LiveTwin, Nudging, RainObs, mean_field_bias};
use twin_model::{City, Layer};

/// The experiment's set-up.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The rain forecast everyone is given: (minute, mm/h), uniform over the city.
    pub forecast_rain: Vec<(f64, f64)>,
    /// The truth's rain is the forecast's shape times this factor…
    pub truth_scale: f64,
    /// …times a factor rising linearly from `1 − gradient` on the city's west edge to
    /// `1 + gradient` on its east edge.
    pub truth_gradient: f64,
    /// The forecast is issued at this minute.
    pub issue_min: f64,
    /// And runs this many minutes ahead.
    pub horizon_min: f64,
    /// Observation period, minutes (rain gauges and level sensors report every period).
    pub period_min: f64,
    /// Standard deviation of the gauges' relative error (0.05 = 5 %).
    pub rain_noise: f64,
    /// Standard deviation of the level sensors' error, m.
    pub depth_noise_m: f64,
    /// Alert depth at a hotspot, m.
    pub alert_m: f64,
    /// Hotspots watched besides the sensors.
    pub hotspots: usize,
    /// Seed of the noise.
    pub seed: u64,
    /// How far depth readings correct the state.
    pub nudging: Nudging,
}

impl Experiment {
    /// A storm 40 % heavier than forecast and 30 % heavier in the east than in the west;
    /// forecast at 30 minutes for 2 hours; gauges and sensors every 5 minutes with 5 % and
    /// 1 cm of noise; alerts at 30 cm; 10 hotspots.
    pub fn standard(forecast_rain: Vec<(f64, f64)>) -> Experiment {
        Experiment {
            forecast_rain,
            truth_scale: 1.4,
            truth_gradient: 0.3,
            issue_min: 30.0,
            horizon_min: 120.0,
            period_min: 5.0,
            rain_noise: 0.05,
            depth_noise_m: 0.01,
            alert_m: 0.3,
            hotspots: 10,
            seed: 7,
            nudging: Nudging::default(),
        }
    }
}

/// One watched place scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Its name.
    pub name: String,
    /// A street flood sensor (observed), or a hotspot (not).
    pub observed: bool,
    /// Peak depth after the forecast's start: truth, open loop, assimilated, m.
    pub peak_m: [f64; 3],
    /// First time at or above the alert depth after the forecast's start: truth, open loop,
    /// assimilated, minutes.
    pub alert_min: [Option<f64>; 3],
}

/// What the experiment found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Every street flood sensor and hotspot.
    pub places: Vec<Scored>,
    /// RMSE of the peak depths over all places: open loop, assimilated, m.
    pub rmse_m: [f64; 2],
    /// The same over the hotspots alone (places no sensor reads).
    pub rmse_hotspots_m: [f64; 2],
    /// Mean-field bias the gauges gave the rain forecast.
    pub bias: f64,
    /// Water the corrections added over the assimilation, m³.
    pub assimilated_m3: f64,
    /// The first place the truth floods past the alert depth after the forecast's start:
    /// its name, the truth's time (min), and the lead time (min) of the open-loop and the
    /// assimilated forecasts' alerts (`None`: that forecast raised none there).
    pub first_alert: Option<(String, f64, [Option<f64>; 2])>,
    /// Wall-clock seconds of the assimilated forecast (snapshot to a new forecast).
    pub forecast_wall_s: f64,
}

/// A standard normal draw from a SplitMix64 stream (Box–Muller).
struct Noise(u64);

impl Noise {
    fn next_u(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.next_u(), self.next_u());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

use crate::live::mean_intensity;

/// Runs the experiment on `city` with its drainage network `network` (a SWMM project whose
/// period covers the issue time plus the horizon).
pub fn run(
    city: &City,
    network: &twin_hydro::Project,
    e: &Experiment,
) -> Result<Outcome, crate::coupled::CoupledError> {
    let dem = city
        .dem
        .as_ref()
        .ok_or_else(|| crate::coupled::CoupledError::Network("the city has no DEM".into()))?;
    let minutes = e.issue_min + e.horizon_min;
    let (x0, x1) = (dem.x0, dem.x0 + dem.cell * dem.nx as f64);
    let (y1, y0) = (dem.y0, dem.y0 - dem.cell * dem.ny as f64);
    let east = |x: f64| 1.0 - e.truth_gradient + 2.0 * e.truth_gradient * (x - x0) / (x1 - x0);
    let truth_at =
        |x: f64, a: f64, b: f64| e.truth_scale * east(x) * mean_intensity(&e.forecast_rain, a, b);
    let env = city.layer(Layer::Environment);
    let point = |f: &twin_model::Feature| {
        use geo::Centroid;
        f.geometry.centroid().map(|p| (p.x(), p.y()))
    };
    let gauges: Vec<(f64, f64)> = env
        .features()
        .iter()
        .filter(|f| f.kind == "rain_gauge")
        .filter_map(point)
        .collect();
    let street: Vec<(String, f64, f64)> = env
        .features()
        .iter()
        .filter(|f| f.kind == "water_level_sensor" && f.num("alert_depth_m").is_some())
        .filter_map(|f| {
            let (x, y) = point(f)?;
            Some((f.name.clone().unwrap_or_default(), x, y))
        })
        .collect();

    // Hotspots: the deepest places of the forecast storm (what the operator's design runs
    // show), 150 m apart, off the lakes and the river and 150 m from every street sensor (no
    // sensor reads them).
    let mut design = LiveTwin::start(city, network.clone(), minutes, Vec::new(), e.nudging)?;
    let mut t = 0.0;
    while t < minutes - 1e-9 {
        let next = (t + e.period_min).min(minutes);
        let i = mean_intensity(&e.forecast_rain, t, next);
        design.observe(
            next * 60.0,
            &[RainObs {
                x: x0,
                y: y0,
                mm_per_h: i,
            }],
            &[],
        )?;
        t = next;
    }
    let sensors: Vec<(f64, f64)> = street.iter().map(|(_, x, y)| (*x, *y)).collect();
    let hotspots = pick_hotspots(&design, e.hotspots, 150.0, &sensors);
    drop(design);

    // The truth: a 5 × 5 network of exact virtual gauges carries its west–east gradient.
    let virtual_gauges: Vec<(f64, f64)> = (0..5)
        .flat_map(|i| {
            (0..5).map(move |j| {
                (
                    x0 + (x1 - x0) * (i as f64 + 0.5) / 5.0,
                    y0 + (y1 - y0) * (j as f64 + 0.5) / 5.0,
                )
            })
        })
        .collect();
    let mut truth = LiveTwin::start(city, network.clone(), minutes, hotspots.clone(), e.nudging)?;
    let mut open = LiveTwin::start(city, network.clone(), minutes, hotspots.clone(), e.nudging)?;
    let mut assim = LiveTwin::start(city, network.clone(), minutes, hotspots.clone(), e.nudging)?;
    let n_sensors = truth.gauges().len() - hotspots.len();
    let mut noise = Noise(e.seed);
    let (mut observed_mm, mut forecast_mm) = (0.0, 0.0);
    let mut assimilated = 0.0;
    let mut t = 0.0;
    while t < e.issue_min - 1e-9 {
        let next = (t + e.period_min).min(e.issue_min);
        let truth_rain: Vec<RainObs> = virtual_gauges
            .iter()
            .map(|&(x, y)| RainObs {
                x,
                y,
                mm_per_h: truth_at(x, t, next),
            })
            .collect();
        truth.observe(next * 60.0, &truth_rain, &[])?;
        let forecast_i = mean_intensity(&e.forecast_rain, t, next);
        open.observe(
            next * 60.0,
            &[RainObs {
                x: x0,
                y: y0,
                mm_per_h: forecast_i,
            }],
            &[],
        )?;
        // The gauges read the truth with noise; the street sensors its depths with noise.
        let readings: Vec<RainObs> = gauges
            .iter()
            .map(|&(x, y)| RainObs {
                x,
                y,
                mm_per_h: (truth_at(x, t, next) * (1.0 + e.rain_noise * noise.normal())).max(0.0),
            })
            .collect();
        let hours = (next - t) / 60.0;
        observed_mm += readings.iter().map(|r| r.mm_per_h).sum::<f64>() * hours;
        forecast_mm += forecast_i * hours * readings.len() as f64;
        let depth_now = truth.gauge_depths();
        let sensor_index = |name: &str| {
            truth.gauges()[..n_sensors]
                .iter()
                .position(|g| g.name == name)
        };
        let depths: Vec<DepthObs> = street
            .iter()
            .filter_map(|(name, x, y)| {
                let k = sensor_index(name)?;
                Some(DepthObs {
                    x: *x,
                    y: *y,
                    depth_m: (depth_now[k] + e.depth_noise_m * noise.normal()).max(0.0),
                })
            })
            .collect();
        let o = assim.observe(next * 60.0, &readings, &depths)?;
        assimilated += o.assimilated_m3;
        t = next;
    }
    let bias = mean_field_bias(observed_mm, forecast_mm);
    let horizon = e.horizon_min * 60.0;
    let forecast: Vec<(f64, f64)> = e
        .forecast_rain
        .iter()
        .map(|&(m, i)| (m * 60.0, i))
        .collect();
    let corrected: Vec<(f64, f64)> = forecast.iter().map(|&(t, i)| (t, i * bias)).collect();
    let f_open = open.forecast(horizon, &forecast, e.alert_m)?;
    let started = std::time::Instant::now();
    let f_assim = assim.forecast(horizon, &corrected, e.alert_m)?;
    let forecast_wall_s = started.elapsed().as_secs_f64();
    // The truth runs on to the horizon under its own rain.
    let mut t = e.issue_min;
    while t < minutes - 1e-9 {
        let next = (t + e.period_min).min(minutes);
        let rain: Vec<RainObs> = virtual_gauges
            .iter()
            .map(|&(x, y)| RainObs {
                x,
                y,
                mm_per_h: truth_at(x, t, next),
            })
            .collect();
        truth.observe(next * 60.0, &rain, &[])?;
        t = next;
    }
    let f_truth = truth_forecast(&truth, e);
    Ok(score(
        &f_truth,
        &f_open,
        &f_assim,
        n_sensors,
        &street,
        e,
        bias,
        assimilated,
        forecast_wall_s,
    ))
}

/// The truth's own gauges after the issue time, read as a forecast is.
fn truth_forecast(truth: &LiveTwin, e: &Experiment) -> Forecast {
    let series = truth.state().surface().gauge_series();
    let from = e.issue_min * 60.0;
    let base = truth.gauge_initial();
    let gauges = truth
        .gauges()
        .iter()
        .enumerate()
        .map(|(g, gauge)| {
            let mut peak = (0.0, from);
            let mut alert = None;
            for (k, &t) in series.times.iter().enumerate() {
                if t <= from + 1e-9 {
                    continue;
                }
                let d = (series.depths[g][k] - base[g]).max(0.0);
                if d > peak.0 {
                    peak = (d, t);
                }
                if alert.is_none() && d >= e.alert_m {
                    alert = Some(t);
                }
            }
            crate::live::GaugeForecast {
                name: gauge.name.clone(),
                peak_m: peak.0,
                peak_at_s: peak.1,
                alert_at_s: alert,
            }
        })
        .collect();
    Forecast {
        from_s: from,
        to_s: truth.now_s(),
        gauges,
        times_s: Vec::new(),
        depths_m: Vec::new(),
        max_depth: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn score(
    truth: &Forecast,
    open: &Forecast,
    assim: &Forecast,
    n_sensors: usize,
    street: &[(String, f64, f64)],
    e: &Experiment,
    bias: f64,
    assimilated_m3: f64,
    forecast_wall_s: f64,
) -> Outcome {
    let min = |s: Option<f64>| s.map(|t| t / 60.0);
    let places: Vec<Scored> = (0..truth.gauges.len())
        .filter(|&g| g >= n_sensors || street.iter().any(|s| s.0 == truth.gauges[g].name))
        .map(|g| Scored {
            name: truth.gauges[g].name.clone(),
            observed: g < n_sensors,
            peak_m: [
                truth.gauges[g].peak_m,
                open.gauges[g].peak_m,
                assim.gauges[g].peak_m,
            ],
            alert_min: [
                min(truth.gauges[g].alert_at_s),
                min(open.gauges[g].alert_at_s),
                min(assim.gauges[g].alert_at_s),
            ],
        })
        .collect();
    let rmse = |f: &dyn Fn(&&Scored) -> bool, k: usize| {
        let v: Vec<f64> = places
            .iter()
            .filter(f)
            .map(|p| (p.peak_m[k] - p.peak_m[0]).powi(2))
            .collect();
        (v.iter().sum::<f64>() / v.len().max(1) as f64).sqrt()
    };
    let first_alert = places
        .iter()
        .filter_map(|p| p.alert_min[0].map(|t| (p, t)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(p, t)| {
            let lead = |k: usize| p.alert_min[k].map(|_| t - e.issue_min);
            (p.name.clone(), t, [lead(1), lead(2)])
        });
    Outcome {
        rmse_m: [rmse(&|_| true, 1), rmse(&|_| true, 2)],
        rmse_hotspots_m: [rmse(&|p| !p.observed, 1), rmse(&|p| !p.observed, 2)],
        places,
        bias,
        assimilated_m3,
        first_alert,
        forecast_wall_s,
    }
}

/// The `k` deepest dry-land cells of a run, at least `spacing_m` apart and from every point of
/// `away`, as gauges.
fn pick_hotspots(run: &LiveTwin, k: usize, spacing_m: f64, away: &[(f64, f64)]) -> Vec<Gauge> {
    let (dem, stats, initial) = run.max_depth_parts();
    let mut cells: Vec<(f64, usize)> = stats
        .iter()
        .enumerate()
        .filter(|(i, _)| initial[*i] == 0.0)
        .map(|(i, d)| (*d, i))
        .filter(|(d, _)| *d > 0.0)
        .collect();
    cells.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut picked: Vec<(f64, f64)> = Vec::new();
    for (_, i) in cells {
        let [x, y] = dem.cell_center(i % dem.nx, i / dem.nx);
        if picked
            .iter()
            .chain(away)
            .all(|(px, py)| (px - x).hypot(py - y) >= spacing_m)
        {
            picked.push((x, y));
            if picked.len() == k {
                break;
            }
        }
    }
    picked
        .into_iter()
        .enumerate()
        .map(|(n, (x, y))| Gauge {
            name: format!("hotspot {}", n + 1),
            x,
            y,
        })
        .collect()
}
