//! The live twin's engine: a coupled storm on the city (surface and drainage network, CPU
//! solver) that follows what the sensors say, and forecasts from its state.
//!
//! Each period the live loop hands [`LiveTwin::observe`] the rain the gauges measured over it
//! and the water depths the street flood sensors read at its end:
//! - **rain**: the gauges' intensities spread over the grid by inverse distance weighting
//!   (power 2, Shepard 1968; [`crate::rain_map`]) drive the surface over the period;
//! - **depths**: after the period, each sensor's innovation (measured − simulated depth on its
//!   cell) is spread to the cells around it with a Gaussian weight, w = exp(−r² / 2σ²),
//!   σ = radius / 2, cut at the radius, and added to their depths (never below 0): successive
//!   corrections, a nudging of the state toward the observations (Cressman 1959 form with
//!   Gaussian weights; Hoke and Anthes 1976 for nudging). The water this adds or takes is
//!   booked in the surface ledger as `assimilated`, so the balance still closes.
//!
//! [`LiveTwin::forecast`] copies the state and runs it on under a forecast rain to a horizon,
//! the copy's gauges giving each hotspot's depth, its peak and when it first crosses an alert
//! depth; the rain forecast may be corrected by the gauges' mean-field bias
//! ([`mean_field_bias`]). The state saves to a checkpoint and restores
//! ([`crate::hotstart::save_live`]).

use crate::coupled::{CoupledError, CoupledState};
use crate::flood::{BuildingMode, FloodSpec, Gauge};
use crate::rain_map::{GaugeTotal, Spread};
use twin_model::{City, Raster};
use twin_surface::{Cell, RainField};

/// A rain gauge's reading: the mean intensity over the period just ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RainObs {
    /// Easting, m (the city's CRS).
    pub x: f64,
    /// Northing, m.
    pub y: f64,
    /// Mean intensity over the period, mm/h.
    pub mm_per_h: f64,
}

/// A street flood sensor's reading: water depth over the ground at its place.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthObs {
    /// Easting, m.
    pub x: f64,
    /// Northing, m.
    pub y: f64,
    /// Depth, m.
    pub depth_m: f64,
}

/// How far a depth reading corrects the water around it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Nudging {
    /// Radius of influence, m: cells farther than this keep their depth.
    pub radius_m: f64,
}

impl Default for Nudging {
    fn default() -> Self {
        Nudging { radius_m: 90.0 }
    }
}

/// What one observed period did.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// Time reached, s from the start.
    pub now_s: f64,
    /// Innovation of each depth reading (measured − simulated before the correction), m;
    /// NaN for a reading off the grid or on a wall.
    pub innovations_m: Vec<f64>,
    /// Water added by the corrections, m³ (negative: taken away).
    pub assimilated_m3: f64,
}

/// One gauge's forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeForecast {
    /// The gauge.
    pub name: String,
    /// Deepest water after the forecast's start, m (above the water at the run's start).
    pub peak_m: f64,
    /// When it is reached, s from the run's start.
    pub peak_at_s: f64,
    /// First time after the forecast's start the depth reaches the alert depth, s; `None` if
    /// it does not within the horizon.
    pub alert_at_s: Option<f64>,
}

/// A forecast from the live state.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Its start (the live state's time), s.
    pub from_s: f64,
    /// Its end, s.
    pub to_s: f64,
    /// Each gauge, in the twin's gauge order.
    pub gauges: Vec<GaugeForecast>,
    /// The gauges' sample times after the start, s.
    pub times_s: Vec<f64>,
    /// Each gauge's depth at those times above the water at the run's start, m.
    pub depths_m: Vec<Vec<f64>>,
    /// The deepest water each cell holds from the forecast's start on, above the water at the
    /// run's start, m, on the DEM's grid (`None` where only the gauges were read).
    pub max_depth: Option<Raster>,
}

/// A lake-level sensor's reading: the water surface, m above datum.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelObs {
    /// Easting, m.
    pub x: f64,
    /// Northing, m.
    pub y: f64,
    /// Level, m above datum.
    pub level_m: f64,
}

/// The live coupled storm.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LiveTwin {
    state: CoupledState<twin_surface::Simulation>,
    dem: Raster,
    gauges: Vec<Gauge>,
    /// Depth at each gauge's cell at the start (lakes, river), m.
    gauge_initial: Vec<f64>,
    /// Depth on every cell at the start (lakes and river at their levels), m.
    initial_depth: Vec<f32>,
    /// The rain steps so far: (s, field).
    rain: Vec<(f64, RainField)>,
    nudging: Nudging,
}

impl LiveTwin {
    /// A dry city at time 0 (lakes and river at their levels), with its drainage network
    /// coupled, able to run `minutes` in all; `hotspots` are watched besides the city's
    /// water-level sensors.
    pub fn start(
        city: &City,
        network: twin_hydro::Project,
        minutes: f64,
        hotspots: Vec<Gauge>,
        nudging: Nudging,
    ) -> Result<LiveTwin, CoupledError> {
        let dem = city
            .dem
            .as_ref()
            .ok_or_else(|| CoupledError::Network("the city has no DEM".into()))?;
        let spec = FloodSpec {
            minutes,
            rain: vec![(0.0, 0.0)],
            ..Default::default()
        };
        let mut setup = crate::flood::city_setup(city, dem, &spec, BuildingMode::Roughness(0.1));
        setup.gauges.extend(hotspots);
        let gauges = setup.gauges.clone();
        let gauge_initial = gauges
            .iter()
            .map(|g| {
                let at = dem.cell_at(g.x, g.y).map(|(c, r)| r * dem.nx + c);
                at.and_then(|k| setup.initial_depth.as_ref().map(|d| d[k]))
                    .unwrap_or(0.0)
            })
            .collect();
        let initial_depth = match &setup.initial_depth {
            Some(d) => d.iter().map(|v| *v as f32).collect(),
            None => vec![0.0; dem.nx * dem.ny],
        };
        let state = crate::coupled::start_cpu(dem, &setup, &spec, network)?;
        Ok(LiveTwin {
            state,
            dem: dem.clone(),
            gauges,
            gauge_initial,
            initial_depth,
            rain: vec![(0.0, RainField::Uniform(0.0))],
            nudging,
        })
    }

    /// Time of the state, s from the start.
    pub fn now_s(&self) -> f64 {
        self.state.time()
    }

    /// The watched gauges: the city's water-level sensors, then the hotspots.
    pub fn gauges(&self) -> &[Gauge] {
        &self.gauges
    }

    /// The coupled state (ledger, depths, network).
    pub fn state(&self) -> &CoupledState<twin_surface::Simulation> {
        &self.state
    }

    /// Runs the period from now to `until_s` under the gauges' rain (none: the last field
    /// goes on), then corrects the depths around each depth reading.
    pub fn observe(
        &mut self,
        until_s: f64,
        rain: &[RainObs],
        depths: &[DepthObs],
    ) -> Result<Observed, CoupledError> {
        if !rain.is_empty() {
            let field = self.rain_field(rain);
            let now = self.now_s();
            self.rain.retain(|(t, _)| *t < now - 1e-9);
            self.rain.push((now, field));
            self.state.set_rain(self.rain.clone())?;
        }
        self.state.advance(until_s, &mut |_| {})?;
        let (innovations_m, assimilated_m3) = self.nudge(depths)?;
        Ok(Observed {
            now_s: self.now_s(),
            innovations_m,
            assimilated_m3,
        })
    }

    /// The gauges' intensities on every cell (uniform when they agree).
    fn rain_field(&self, rain: &[RainObs]) -> RainField {
        let first = rain[0].mm_per_h;
        if rain.iter().all(|r| r.mm_per_h == first) {
            return RainField::Uniform(first.max(0.0));
        }
        let totals: Vec<GaugeTotal> = rain
            .iter()
            .enumerate()
            .map(|(k, r)| GaugeTotal {
                id: k.to_string(),
                x: r.x,
                y: r.y,
                mm: r.mm_per_h.max(0.0),
            })
            .collect();
        RainField::PerCell(crate::rain_map::cell_totals(
            &totals,
            &self.dem,
            Spread::Idw { power: 2.0 },
        ))
    }

    /// Spreads each reading's innovation over the cells within the radius.
    fn nudge(&mut self, depths: &[DepthObs]) -> Result<(Vec<f64>, f64), CoupledError> {
        let sim = self.state.surface();
        let grid = sim.grid();
        let (nx, ny) = (grid.nx(), grid.ny());
        let h = sim.depth();
        let active = grid.active();
        let d = &self.dem;
        let sigma = self.nudging.radius_m / 2.0;
        let reach = (self.nudging.radius_m / d.cell).floor() as i64;
        let mut innovations = Vec::with_capacity(depths.len());
        // Corrections summed over the readings, then applied once.
        let mut delta: std::collections::BTreeMap<usize, f64> = Default::default();
        for o in depths {
            let Some((c, r)) = d.cell_at(o.x, o.y) else {
                innovations.push(f64::NAN);
                continue;
            };
            let k = r * nx + c;
            if !active[k] || !o.depth_m.is_finite() {
                innovations.push(f64::NAN);
                continue;
            }
            let innovation = o.depth_m.max(0.0) - h[k];
            innovations.push(innovation);
            for dr in -reach..=reach {
                for dc in -reach..=reach {
                    let (rr, cc) = (r as i64 + dr, c as i64 + dc);
                    if rr < 0 || cc < 0 || rr >= ny as i64 || cc >= nx as i64 {
                        continue;
                    }
                    let dist = d.cell * ((dr * dr + dc * dc) as f64).sqrt();
                    if dist > self.nudging.radius_m {
                        continue;
                    }
                    let kk = rr as usize * nx + cc as usize;
                    if !active[kk] {
                        continue;
                    }
                    let w = (-dist * dist / (2.0 * sigma * sigma)).exp();
                    *delta.entry(kk).or_insert(0.0) += w * innovation;
                }
            }
        }
        let cells: Vec<(Cell, f64)> = delta
            .into_iter()
            .map(|(k, dh)| (Cell::new(k / nx, k % nx), (h[k] + dh).max(0.0)))
            .collect();
        let added = self.state.assimilate_depths(&cells)?;
        Ok((innovations, added))
    }

    /// Runs a copy of the state on to `horizon_s` past now under `rain` (mm/h from each
    /// time, s from the run's start, uniform over the city; the first step should be at or
    /// before now), and reads every gauge's peak and first time at or above `alert_m`.
    pub fn forecast(
        &self,
        horizon_s: f64,
        rain: &[(f64, f64)],
        alert_m: f64,
    ) -> Result<Forecast, CoupledError> {
        let from = self.now_s();
        let mut copy = self.state.clone();
        let mut steps: Vec<(f64, RainField)> = self
            .rain
            .iter()
            .filter(|(t, _)| *t < from - 1e-9)
            .cloned()
            .collect();
        let mut future: Vec<(f64, RainField)> = rain
            .iter()
            .map(|&(t, i)| (t.max(from), RainField::Uniform(i.max(0.0))))
            .collect();
        future.dedup_by(|b, a| {
            a.0 == b.0 && {
                // A later step at the same time replaces the earlier one.
                a.1 = b.1.clone();
                true
            }
        });
        if future.first().is_none_or(|(t, _)| *t > from + 1e-9) {
            steps.push((from, RainField::Uniform(0.0)));
        }
        steps.extend(future);
        copy.set_rain(steps)?;
        let to = (from + horizon_s).min(copy.end());
        copy.advance(to, &mut |_| {})?;
        let series = copy.surface().gauge_series();
        let after: Vec<usize> = (0..series.times.len())
            .filter(|&k| series.times[k] > from + 1e-9)
            .collect();
        let times_s = after.iter().map(|&k| series.times[k]).collect();
        let depths_m = (0..self.gauges.len())
            .map(|g| {
                after
                    .iter()
                    .map(|&k| (series.depths[g][k] - self.gauge_initial[g]).max(0.0))
                    .collect()
            })
            .collect();
        // A cell whose deepest water came after the start held it in the forecast; one whose
        // deepest came before holds at most what it held at the start (receding or still).
        let stats = copy.surface().stats();
        let now = self.state.surface().depth();
        let mut max_depth = self.dem.clone();
        for (k, v) in max_depth.data.iter_mut().enumerate() {
            let m = if stats.time_of_max[k] > from + 1e-9 {
                stats.max_depth[k]
            } else {
                now[k]
            };
            *v = (m - self.initial_depth[k] as f64).max(0.0) as f32;
        }
        let gauges = self
            .gauges
            .iter()
            .enumerate()
            .map(|(g, gauge)| {
                let base = self.gauge_initial[g];
                let mut peak: (f64, f64) = (0.0, from);
                let mut alert = None;
                for (k, &t) in series.times.iter().enumerate() {
                    if t <= from + 1e-9 {
                        continue;
                    }
                    let d = (series.depths[g][k] - base).max(0.0);
                    if d > peak.0 {
                        peak = (d, t);
                    }
                    if alert.is_none() && d >= alert_m {
                        alert = Some(t);
                    }
                }
                GaugeForecast {
                    name: gauge.name.clone(),
                    peak_m: peak.0,
                    peak_at_s: peak.1,
                    alert_at_s: alert,
                }
            })
            .collect();
        Ok(Forecast {
            from_s: from,
            to_s: copy.time(),
            gauges,
            times_s,
            depths_m,
            max_depth: Some(max_depth),
        })
    }

    /// Sets each lake a level sensor reads to its reading: the innovation (measured − simulated
    /// level on the sensor's cell, or the nearest cell within 3 that held water at the start)
    /// is added to every cell of the water body connected to it at the start (a lake's
    /// surface is flat), never below a dry bed. Returns each reading's innovation (NaN: no
    /// water body there) and the water added, m³ (booked as assimilated).
    pub fn set_lake_levels(
        &mut self,
        levels: &[LevelObs],
    ) -> Result<(Vec<f64>, f64), CoupledError> {
        let d = &self.dem;
        let (nx, ny) = (d.nx, d.ny);
        let wet0 = |k: usize| self.initial_depth[k] > 0.0;
        let h = self.state.surface().depth();
        let mut innovations = Vec::with_capacity(levels.len());
        let mut cells: Vec<(Cell, f64)> = Vec::new();
        for o in levels {
            let seed = d.cell_at(o.x, o.y).and_then(|(c, r)| {
                let mut best: Option<(i64, usize)> = None;
                for dr in -3i64..=3 {
                    for dc in -3i64..=3 {
                        let (rr, cc) = (r as i64 + dr, c as i64 + dc);
                        if rr < 0 || cc < 0 || rr >= ny as i64 || cc >= nx as i64 {
                            continue;
                        }
                        let k = rr as usize * nx + cc as usize;
                        let dist = dr * dr + dc * dc;
                        if wet0(k) && best.is_none_or(|(bd, bk)| (dist, k) < (bd, bk)) {
                            best = Some((dist, k));
                        }
                    }
                }
                best.map(|(_, k)| k)
            });
            let Some(seed) = seed.filter(|_| o.level_m.is_finite()) else {
                innovations.push(f64::NAN);
                continue;
            };
            let innovation = o.level_m - (d.data[seed] as f64 + h[seed]);
            innovations.push(innovation);
            // The water body: cells wet at the start, 4-connected to the seed.
            let mut seen = vec![false; nx * ny];
            let mut stack = vec![seed];
            seen[seed] = true;
            while let Some(k) = stack.pop() {
                cells.push((Cell::new(k / nx, k % nx), (h[k] + innovation).max(0.0)));
                let (r, c) = (k / nx, k % nx);
                let mut push = |kk: usize| {
                    if !seen[kk] && wet0(kk) {
                        seen[kk] = true;
                        stack.push(kk);
                    }
                };
                if r > 0 {
                    push(k - nx);
                }
                if r + 1 < ny {
                    push(k + nx);
                }
                if c > 0 {
                    push(k - 1);
                }
                if c + 1 < nx {
                    push(k + 1);
                }
            }
        }
        cells.sort_by_key(|(c, _)| (c.row, c.col));
        cells.dedup_by_key(|(c, _)| (c.row, c.col));
        let added = self.state.assimilate_depths(&cells)?;
        Ok((innovations, added))
    }

    /// Draws each network node a level sensor reads (a pump station's wet well, a manhole)
    /// toward its reading, `(node, level m)`, for the next `window_s` seconds
    /// ([`CoupledState::nudge_node`]); returns each reading's innovation (reading − simulated
    /// level; NaN where the network has no such node).
    pub fn nudge_nodes(&mut self, obs: &[(String, f64)], window_s: f64) -> Vec<f64> {
        obs.iter()
            .map(|(node, level)| {
                self.state
                    .nudge_node(node, *level, window_s)
                    .unwrap_or(f64::NAN)
            })
            .collect()
    }

    /// Water level at the network's node `name` now (invert plus depth), m.
    pub fn node_level(&self, name: &str) -> Option<f64> {
        self.state.node_level(name)
    }

    /// Holds a pump on or off, or a gate at an opening (0–1), as its sensor reports, from now
    /// on; `None` releases it to its own rules. False if the network has no such link.
    pub fn hold_link(&mut self, name: &str, setting: Option<f64>) -> bool {
        self.state.hold_link(name, setting)
    }

    /// Flow through the network's link `name` now, m³/s.
    pub fn link_flow(&self, name: &str) -> Option<f64> {
        let net = self.state.network();
        net.link_index(name).map(|j| net.link_flow_si(j))
    }

    /// Water level (ground + depth) on the cell at (x, y), m, if on the grid.
    pub fn level_at(&self, x: f64, y: f64) -> Option<f64> {
        let (c, r) = self.dem.cell_at(x, y)?;
        let k = r * self.dem.nx + c;
        Some(self.dem.data[k] as f64 + self.state.surface().depth()[k])
    }

    /// The city's DEM (the grid).
    pub fn dem(&self) -> &Raster {
        &self.dem
    }

    /// Depth at each gauge's cell at the start, m (in gauge order).
    pub fn gauge_initial(&self) -> &[f64] {
        &self.gauge_initial
    }

    /// The grid, the deepest water on each cell so far above the water at the start (m) and
    /// the depth at the start.
    pub fn max_depth_parts(&self) -> (&Raster, Vec<f64>, Vec<f64>) {
        let stats = self.state.surface().stats();
        let initial: Vec<f64> = self.initial_depth.iter().map(|v| *v as f64).collect();
        let max = stats
            .max_depth
            .iter()
            .zip(&initial)
            .map(|(m, i)| (m - i).max(0.0))
            .collect();
        (&self.dem, max, initial)
    }

    /// Water on every cell now above the water at the start, m, on the DEM's grid (the
    /// flood the wall draws; lakes and the river at their start levels read 0).
    pub fn depth_now(&self) -> Raster {
        let h = self.state.surface().depth();
        let mut r = self.dem.clone();
        r.nodata = None;
        for (k, v) in r.data.iter_mut().enumerate() {
            *v = (h[k] as f32 - self.initial_depth[k]).max(0.0);
        }
        r
    }

    /// Depth at each gauge now, above the water at the start, m.
    pub fn gauge_depths(&self) -> Vec<f64> {
        let sim = self.state.surface();
        let h = sim.depth();
        let nx = sim.grid().nx();
        self.gauges
            .iter()
            .zip(&self.gauge_initial)
            .map(|(g, base)| {
                self.dem
                    .cell_at(g.x, g.y)
                    .map_or(f64::NAN, |(c, r)| (h[r * nx + c] - base).max(0.0))
            })
            .collect()
    }
}

/// Mean-field bias of a rain forecast against the gauges (Smith and Krajewski 1991): the
/// gauges' total over the period observed so far divided by the forecast's total over the
/// same period at the same places, clamped to 0.5–2 (1 when the forecast had no rain there).
pub fn mean_field_bias(observed_mm: f64, forecast_mm: f64) -> f64 {
    if forecast_mm <= 0.0 {
        1.0
    } else {
        (observed_mm / forecast_mm).clamp(0.5, 2.0)
    }
}

/// Mean intensity of rain `steps` (time, mm/h; each holding until the next, none before the
/// first) over the window [a, b], mm/h; times in any one unit.
pub fn mean_intensity(steps: &[(f64, f64)], a: f64, b: f64) -> f64 {
    let at = |t: f64| {
        steps
            .iter()
            .rev()
            .find(|(s, _)| *s <= t + 1e-9)
            .map_or(0.0, |(_, i)| *i)
    };
    let mut t = a;
    let mut sum = 0.0;
    while t < b - 1e-9 {
        let next = steps
            .iter()
            .map(|(s, _)| *s)
            .find(|s| *s > t + 1e-9)
            .unwrap_or(f64::INFINITY)
            .min(b);
        sum += at(t) * (next - t);
        t = next;
    }
    sum / (b - a)
}
