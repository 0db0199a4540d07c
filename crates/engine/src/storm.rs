//! One storm on a city or on a bare DEM, as `twin flood run` and the scenario run it: the
//! surface set up from the city's layers (or bare), the drainage network coupled when given,
//! gauges and the roads' depth timeline recorded, and what the run leaves (rasters, the water
//! balance, gauge series, road impacts) as typed values. The caller reads and writes files.

use std::time::Instant;

use crate::coupled::{CoupledError, CoupledLedger};
use crate::flood::{
    BuildingMode, FloodError, FloodRasters, FloodSpec, Gauge, GaugeRecord, Probes, SurfaceSetup,
};
use crate::impacts::{RoadImpact, RoadTimeline};
use twin_model::{City, Raster};
use twin_surface::MassLedger;

/// Interval of the flood → traffic road timeline, s.
pub const ROAD_TIMELINE_S: f64 = 300.0;

/// Memory a storm run holds per grid cell, bytes: the solver's depth, discharges and their
/// next-step buffers, momentum velocities, statistics, bed, roughness and infiltration class
/// (16 f64 arrays and a u16), the set-up's roughness and initial water, the four result
/// rasters (f32), with a margin for the rest.
pub const BYTES_PER_CELL: u64 = 240;

/// Memory a storm run on a grid of `cells` cells needs, bytes (see [`BYTES_PER_CELL`]).
pub fn memory_bytes(cells: usize) -> u64 {
    cells as u64 * BYTES_PER_CELL
}

/// What the storm falls on.
#[derive(Debug, Clone, Copy)]
pub enum Ground<'a> {
    /// A city with its DEM: roughness, infiltration, buildings, lakes, river and sensors
    /// from its layers.
    City(&'a City),
    /// A bare DEM (metric CRS): one roughness, the spec's edges, no infiltration.
    Dem(&'a Raster),
}

/// A storm run.
#[derive(Debug, Clone)]
pub struct StormSpec {
    /// Duration, rain, roughness, edges, flood threshold, backend.
    pub flood: FloodSpec,
    /// How buildings enter the surface (with a city).
    pub buildings: BuildingMode,
    /// The drainage network coupled at its manholes (junction `[COORDINATES]` in the DEM's
    /// CRS); `None` for the surface alone.
    pub network: Option<twin_hydro::Project>,
    /// Gauges besides the city's water-level sensors.
    pub gauges: Vec<Gauge>,
    /// Record each road's deepest water every [`ROAD_TIMELINE_S`] (with a city).
    pub road_timeline: bool,
    /// Keep the network as a stand-alone SWMM model fed what the surface gave it
    /// ([`crate::coupled::replay_project`]; coupled runs).
    pub replay: bool,
    /// Keep the depth grid every this many seconds for playback (whole minutes); `None` = no
    /// frames.
    pub frames_every_s: Option<f64>,
}

/// The water balance of a run.
#[derive(Debug, Clone)]
pub enum Balance {
    /// The surface alone.
    Surface(MassLedger),
    /// Surface and network coupled.
    Coupled {
        /// The system ledger.
        ledger: CoupledLedger,
        /// Manholes coupled to the surface.
        coupled_manholes: usize,
        /// Manholes that overflowed at some time.
        overflowing_manholes: usize,
    },
}

/// What a storm run leaves.
#[derive(Debug, Clone)]
pub struct StormResult {
    /// Maximum depth, time of maximum, duration above the threshold, hazard.
    pub rasters: FloodRasters,
    /// Every m³ of the run.
    pub balance: Balance,
    /// Depth series at the gauges (the city's sensors first, then the extra gauges).
    pub gauges: Vec<GaugeRecord>,
    /// Surface solver steps.
    pub steps: u64,
    /// The wgpu adapter of a GPU run (`None` on the CPU).
    pub adapter: Option<String>,
    /// Simulated minutes.
    pub minutes: f64,
    /// Cells of the grid.
    pub cells: usize,
    /// Wall-clock time of the simulation, s.
    pub wall_s: f64,
    /// Each road's deepest water per interval (with a city and `road_timeline`).
    pub roads: Option<RoadTimeline>,
    /// Each substation's deepest water per interval (with a city and `road_timeline`).
    pub substations: Option<crate::power::SubstationTimeline>,
    /// Each wet road's worst depth and speed (with a city), worst first.
    pub impacts: Option<Vec<RoadImpact>>,
    /// The network fed what the surface gave it (coupled runs with `replay`).
    pub replay: Option<twin_hydro::Project>,
    /// The depth grid every `frames_every_s`, from the dry start to the end (empty without).
    pub frames: Vec<crate::flood::DepthFrame>,
    /// Each pump's flow at the end of every minute, m³/s (coupled runs; empty otherwise).
    pub pump_minutes: Vec<(String, Vec<f64>)>,
}

/// Errors of a storm run.
#[derive(Debug, thiserror::Error)]
pub enum StormError {
    /// The surface run.
    #[error(transparent)]
    Flood(#[from] FloodError),
    /// The coupled run.
    #[error(transparent)]
    Coupled(#[from] CoupledError),
    /// The city has no DEM to flood.
    #[error("the city has no DEM")]
    NoDem,
}

/// Runs the storm. `progress` is called with the fraction simulated after every minute.
pub fn run(
    ground: Ground<'_>,
    spec: &StormSpec,
    progress: &mut dyn FnMut(f64),
) -> Result<StormResult, StormError> {
    spec.flood.validate()?;
    let (dem, city) = match ground {
        Ground::City(c) => (c.dem.as_ref().ok_or(StormError::NoDem)?, Some(c)),
        Ground::Dem(d) => (d, None),
    };
    let mut setup = match city {
        Some(c) => crate::flood::city_setup(c, dem, &spec.flood, spec.buildings),
        None => SurfaceSetup::default(),
    };
    setup.frames_every_s = spec.frames_every_s;
    for g in &spec.gauges {
        if setup.gauges.iter().any(|h| h.name == g.name) {
            return Err(FloodError::Spec(format!(
                "gauge '{}' is also a city sensor's name",
                g.name
            ))
            .into());
        }
        setup.gauges.push(g.clone());
    }
    // Probes: the roads' cells, then the substations' sites.
    let road_refs = match (city, spec.road_timeline) {
        (Some(c), true) => {
            let (refs, mut groups) = crate::impacts::road_cells(c, dem);
            groups.extend(crate::power::substation_cells(c, dem));
            setup.probes = Some(Probes {
                groups,
                every_s: ROAD_TIMELINE_S,
            });
            Some(refs)
        }
        _ => None,
    };
    let started = Instant::now();
    let (rasters, balance, gauges, steps, adapter, probes, replay, frames, pump_minutes) =
        match &spec.network {
            Some(project) => {
                let keep = spec.replay.then(|| project.clone());
                let r = crate::coupled::run(dem, &setup, &spec.flood, project.clone(), progress)?;
                let replay = match keep {
                    Some(p) => Some(crate::coupled::replay_project(p, &r)?),
                    None => None,
                };
                let balance = Balance::Coupled {
                    ledger: r.ledger,
                    coupled_manholes: r.coupled_manholes,
                    overflowing_manholes: r.overflowing_manholes,
                };
                let steps = r.surface_steps;
                (
                    r.rasters,
                    balance,
                    r.gauges,
                    steps,
                    r.adapter,
                    r.probes,
                    replay,
                    r.frames,
                    r.pump_minutes,
                )
            }
            None => {
                let r = crate::flood::run_with(dem, &spec.flood, &setup, progress)?;
                let rasters = FloodRasters {
                    max_depth: r.max_depth,
                    time_of_max_min: r.time_of_max_min,
                    duration_above_min: r.duration_above_min,
                    max_hazard: r.max_hazard,
                };
                let balance = Balance::Surface(r.ledger);
                (
                    rasters,
                    balance,
                    r.gauges,
                    r.steps,
                    r.adapter,
                    r.probes,
                    None,
                    r.frames,
                    Vec::new(),
                )
            }
        };
    let wall_s = started.elapsed().as_secs_f64();
    let mut substations = None;
    let roads = road_refs.zip(probes).map(|(roads, p)| {
        let n = roads.len();
        if let Some(c) = city {
            substations = Some(crate::power::SubstationTimeline {
                substations: crate::power::substations(c),
                ends_s: p.ends_s.clone(),
                depth_m: p.max_depth_m.iter().map(|d| d[n..].to_vec()).collect(),
            });
        }
        RoadTimeline {
            roads,
            ends_s: p.ends_s,
            depth_m: p
                .max_depth_m
                .into_iter()
                .map(|mut d| {
                    d.truncate(n);
                    d
                })
                .collect(),
        }
    });
    let impacts = city.map(|c| crate::impacts::road_impacts(c, &rasters.max_depth));
    Ok(StormResult {
        rasters,
        balance,
        gauges,
        steps,
        adapter,
        minutes: spec.flood.minutes,
        cells: dem.nx * dem.ny,
        wall_s,
        roads,
        substations,
        impacts,
        replay,
        frames,
        pump_minutes,
    })
}

impl StormResult {
    /// The deepest flood water anywhere, m (0 on a dry run).
    pub fn max_depth_m(&self) -> f64 {
        self.rasters.max_depth.stats().map(|s| s.max).unwrap_or(0.0)
    }

    /// Closure error of the water balance, percent of total inflow.
    pub fn closure_error_percent(&self) -> f64 {
        match &self.balance {
            Balance::Surface(l) => {
                let t = l.total_in();
                if t > 0.0 {
                    100.0 * l.closure_error() / t
                } else {
                    0.0
                }
            }
            Balance::Coupled { ledger, .. } => ledger.closure_error_percent(),
        }
    }

    /// `ledger.json`: every term of the balance in m³, the closure error in percent of total
    /// inflow, the backend, the simulated minutes and the wall-clock time.
    pub fn ledger_json(&self) -> serde_json::Value {
        let backend = if self.adapter.is_some() { "gpu" } else { "cpu" };
        let mut j = match &self.balance {
            Balance::Surface(l) => {
                let mut j = crate::flood::ledger_json(l, self.steps, self.adapter.as_deref());
                j["cells"] = serde_json::json!(self.cells);
                j
            }
            Balance::Coupled {
                ledger,
                coupled_manholes,
                overflowing_manholes,
            } => {
                let mut j = ledger.to_json();
                j["coupled_manholes"] = serde_json::json!(coupled_manholes);
                j["backend"] = serde_json::json!(backend);
                j["gpu_adapter"] = serde_json::json!(self.adapter);
                j["overflowing_manholes"] = serde_json::json!(overflowing_manholes);
                j
            }
        };
        j["wall_time_s"] = serde_json::json!(self.wall_s);
        j["minutes"] = serde_json::json!(self.minutes);
        j["cells"] = serde_json::json!(self.cells);
        j["surface_steps"] = serde_json::json!(self.steps);
        j
    }

    /// The water balance as labelled terms (m³), in Vietnamese and English, for a report.
    pub fn balance_terms(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = Vec::new();
        let mut push = |label: &str, v: f64| out.push((label.to_string(), v));
        let s = match &self.balance {
            Balance::Surface(l) => l,
            Balance::Coupled { ledger, .. } => &ledger.surface,
        };
        push("Mưa / Rain", s.rain);
        push("Thấm / Infiltration", s.infiltration);
        push("Vào qua biên / In over the edges", s.boundary_in_total());
        push(
            "Ra qua biên (sông, mép lưới) / Out over the edges (river, grid edge)",
            s.boundary_out_total(),
        );
        match &self.balance {
            Balance::Surface(l) => push(
                "Thay đổi trữ mặt đất / Change in surface storage",
                l.storage_change(),
            ),
            Balance::Coupled { ledger: l, .. } => {
                push(
                    "Vào cống qua hố thu / Into the sewers by inlets",
                    l.network_inflow,
                );
                push("Tràn từ hố ga / Overflow from manholes", l.network_overflow);
                push("Bơm ra sông / Pumped to the river", l.network_outfall);
                push(
                    "Thay đổi trữ mặt đất / Change in surface storage",
                    l.surface.storage - l.surface.initial_storage,
                );
                push(
                    "Thay đổi trữ trong cống, hồ / Change in sewer and lake storage",
                    l.network_final - l.network_initial,
                );
            }
        }
        out
    }
}
