//! `twin flood run` and `twin scenario run` (and the scenario-file preparation `scenario
//! ensemble` shares): read the inputs, call
//! [`twin_engine::storm::run`] or [`twin_engine::scenario::run`], write what they return.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;
use twin_engine::flood::{Backend, BuildingMode, FloodSpec, Gauge, GaugeRecord};
use twin_engine::scenario::{ScenarioResult, ScenarioSpec, Stage, TrafficSpec};
use twin_engine::scenario_file::{Diversions, RainSource, ScenarioFile, SignalMode};
use twin_engine::storm::{Balance, Ground, StormResult, StormSpec};
use twin_io::atomic::OutDir;
use twin_model::{City, Crs, Raster};

use crate::{BackendArg, BuildingsArg, EdgesArg};

/// The flags of a flood run.
pub(crate) struct FloodArgs<'a> {
    pub dem: &'a Path,
    pub rain: &'a Path,
    pub minutes: f64,
    pub manning: f64,
    pub edges: EdgesArg,
    pub threshold: f64,
    pub buildings: BuildingsArg,
    pub inp: Option<&'a Path>,
    pub couple: bool,
    pub gauges: Option<&'a Path>,
    pub replay_inp: Option<&'a Path>,
    pub backend: BackendArg,
}

/// The flags of a scenario run.
pub(crate) struct ScenarioArgs<'a> {
    pub city: &'a Path,
    pub rain: &'a Path,
    pub minutes: f64,
    pub trips: usize,
    pub couple: bool,
    pub rain_start: &'a str,
    pub worst_case: bool,
    pub informed: f64,
    pub seed: u64,
    pub playback_every_min: f64,
}

/// The surface solver a flag asks for: `auto` takes a hardware GPU when there is one.
fn backend(b: BackendArg) -> Backend {
    match b {
        BackendArg::Cpu => Backend::Cpu,
        BackendArg::Gpu => Backend::Gpu,
        BackendArg::Auto => match twin_engine::flood::hardware_gpu() {
            Some(name) => {
                println!(
                    "GPU '{name}': the surface runs on its WGSL kernel / bề mặt chạy trên GPU (--backend cpu for the CPU solver)"
                );
                Backend::Gpu
            }
            None => Backend::Cpu,
        },
    }
}

/// The city's own drainage network as a SWMM project for a coupled run.
fn city_network(
    city: &City,
    rain: &[(f64, f64)],
    minutes: f64,
    file: &Path,
) -> Result<twin_hydro::Project> {
    let text = twin_io::swmm::city_to_inp_with(city, rain, minutes, false)
        .with_context(|| file.display().to_string())?;
    twin_hydro::parse(&text).context("the city's drainage network")
}

/// Reads a SWMM model to couple.
fn read_network(p: &Path) -> Result<twin_hydro::Project> {
    let text =
        std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
    twin_hydro::parse(&text).with_context(|| p.display().to_string())
}

/// Reads extra gauges (`name,x,y`).
fn read_gauges(p: &Path) -> Result<Vec<Gauge>> {
    Ok(twin_io::points::read_points_csv(p)?
        .into_iter()
        .map(|g| Gauge {
            name: g.name,
            x: g.x,
            y: g.y,
        })
        .collect())
}

/// A DEM file in a metric CRS (a geographic one is reprojected onto the UTM zone it lies in).
fn read_metric_dem(dem: &Path) -> Result<(Raster, Crs)> {
    let g = twin_io::raster::read_raster(dem)?;
    if g.crs.is_geographic() {
        let [[x0, y0], [x1, y1]] = g.raster.bbox();
        let target = Crs::metric_for(0.5 * (x0 + x1), 0.5 * (y0 + y1));
        eprintln!(
            "  note: {} is in {}; reprojecting onto {} (metric)",
            dem.display(),
            g.crs.code(),
            target.code()
        );
        Ok((twin_io::raster::reproject_raster(&g, target, None)?, target))
    } else {
        Ok((g.raster, g.crs))
    }
}

/// Refuses a grid whose run would not fit in the memory this machine has free.
fn check_memory(dem: &Raster) -> Result<()> {
    let need = twin_engine::storm::memory_bytes(dem.nx * dem.ny);
    if let Some(free) = crate::available_memory()
        && need > free
    {
        bail!(
            "a grid of {} × {} cells needs about {:.1} GB for the run, more than the {:.1} GB free; \
             use a coarser cell (twin import dem --cell) or a smaller area",
            dem.nx,
            dem.ny,
            need as f64 / 1e9,
            free as f64 / 1e9
        );
    }
    Ok(())
}

/// `twin flood run`.
pub(crate) fn flood_run(a: &FloodArgs<'_>, out: &Path) -> Result<()> {
    let rain = twin_io::rain::read_rain_csv(a.rain)?;
    let gauges = match a.gauges {
        Some(p) => read_gauges(p)?,
        None => Vec::new(),
    };
    let is_city = a
        .dem
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gpkg"));
    let (city, dem_file) = if is_city {
        (Some(crate::load(a.dem)?), None)
    } else {
        (None, Some(read_metric_dem(a.dem)?))
    };
    let (dem, crs) = match (&city, &dem_file) {
        (Some(c), _) => (
            c.dem
                .as_ref()
                .with_context(|| format!("{}: the city has no DEM", a.dem.display()))?,
            c.crs,
        ),
        (None, Some((r, crs))) => (r, *crs),
        (None, None) => unreachable!("a city or a DEM file was read"),
    };
    let gauge_file = a
        .gauges
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    for g in &gauges {
        match dem.cell_at(g.x, g.y) {
            Some((c, r)) if !dem.is_nodata(dem.get(c, r)) => {}
            Some(_) => bail!(
                "{gauge_file}: gauge '{}' at ({}, {}) is on a nodata cell of the DEM",
                g.name,
                g.x,
                g.y
            ),
            None => bail!(
                "{gauge_file}: gauge '{}' at ({}, {}) is outside the DEM",
                g.name,
                g.x,
                g.y
            ),
        }
    }
    let network = match (a.inp, a.couple, &city) {
        (Some(p), _, _) => Some(read_network(p)?),
        (None, true, Some(c)) => Some(city_network(c, &rain, a.minutes, a.dem)?),
        (None, true, None) => bail!("--couple needs a city .gpkg as --dem (or give --inp)"),
        (None, false, _) => None,
    };
    if a.replay_inp.is_some() && network.is_none() {
        bail!("--replay-inp needs a coupled run (--couple or --inp)");
    }
    let mut dir = OutDir::begin(out)?;
    let spec = StormSpec {
        flood: FloodSpec {
            minutes: a.minutes,
            rain,
            rain_map: None,
            manning: a.manning,
            edges: match a.edges {
                EdgesArg::Open => twin_surface::Boundary::Open { slope: None },
                EdgesArg::Closed => twin_surface::Boundary::Closed,
            },
            threshold_m: a.threshold,
            backend: backend(a.backend),
        },
        buildings: match a.buildings {
            BuildingsArg::Rough => BuildingMode::Roughness(0.1),
            BuildingsArg::Blocked => BuildingMode::Blocked,
        },
        network,
        gauges,
        road_timeline: false,
        frames_every_s: None,
        replay: a.replay_inp.is_some(),
    };
    let ground = match &city {
        Some(c) => Ground::City(c),
        None => Ground::Dem(dem),
    };
    let what = if spec.network.is_some() {
        "1D–2D flood / ngập"
    } else {
        "flood / ngập"
    };
    let pb = crate::progress_bar(what);
    let r = twin_engine::storm::run(ground, &spec, &mut |f| pb.set_position((f * 1000.0) as u64))
        .with_context(|| a.dem.display().to_string())?;
    pb.finish_and_clear();
    if let (Some(p), Some(project)) = (a.replay_inp, &r.replay) {
        write_text(p, &twin_hydro::write(project))?;
        println!(
            "wrote {} (the network fed what the surface gave it)",
            p.display()
        );
    }
    write_storm(&r, dem, crs, &mut dir)?;
    dir.commit("twin flood run")?;
    println!("wrote {}", out.display());
    Ok(())
}

/// Writes a text file atomically.
fn write_text(p: &Path, text: &str) -> Result<()> {
    Ok(twin_io::atomic::write_text(p, text)?)
}

/// Writes a storm's files into `out` and prints its summary: the rasters, the flood map, the
/// ledger, the gauges and (with a city) the roads.
fn write_storm(r: &StormResult, dem: &Raster, crs: Crs, out: &mut OutDir) -> Result<()> {
    for (name, raster) in [
        ("max_depth.tif", &r.rasters.max_depth),
        ("time_of_max_min.tif", &r.rasters.time_of_max_min),
        ("duration_above_min.tif", &r.rasters.duration_above_min),
        ("max_hazard.tif", &r.rasters.max_hazard),
    ] {
        twin_io::raster::write_geotiff(raster, crs, &out.file(name))?;
    }
    let img = twin_report::flood_map(dem, &r.rasters.max_depth);
    twin_io::raster::write_png(&img.data, img.width, img.height, &out.file("max_depth.png"))?;
    let ledger = r.ledger_json();
    write_text(
        &out.file("ledger.json"),
        &serde_json::to_string_pretty(&ledger).expect("json"),
    )?;
    print_storm(r, dem);
    println!(
        "writing {}/max_depth.tif, time_of_max_min.tif, duration_above_min.tif, max_hazard.tif, ledger.json",
        out.target().display()
    );
    write_gauges(&r.gauges, out)?;
    if let Some(impacts) = &r.impacts {
        let p = out.file("roads.csv");
        write_text(&p, &twin_engine::impacts::roads_csv(impacts))?;
        let closed = impacts.iter().filter(|i| i.flooded_kmh == 0.0).count();
        println!(
            "Đường ngập / Flooded roads: {closed} closed (≥ 30 cm), {} slowed; worst: {}; wrote {}",
            impacts.len() - closed,
            impacts
                .first()
                .map(|i| format!(
                    "{} {:.2} m",
                    i.name
                        .clone()
                        .unwrap_or_else(|| format!("road {}", i.feature.0)),
                    i.max_depth_m
                ))
                .unwrap_or_else(|| "none".into()),
            out.target().join("roads.csv").display()
        );
    }
    Ok(())
}

/// Prints a storm's one-line summary.
fn print_storm(r: &StormResult, dem: &Raster) {
    let (minutes, wall) = (r.minutes, r.wall_s);
    match &r.balance {
        Balance::Coupled {
            ledger: l,
            coupled_manholes,
            overflowing_manholes,
        } => println!(
            "Ngập 1D–2D / Coupled flood: {minutes} min, {coupled_manholes} manholes coupled, {overflowing_manholes} overflowed, in {wall:.1} s; max depth {:.3} m; rain {:.0} m³, inlets {:.0} m³, overflow {:.0} m³, pumped out {:.0} m³; closure error {:.3} % of inflow (network's own routing continuity {:.3} %)",
            r.max_depth_m(),
            l.surface.rain,
            l.network_inflow,
            l.network_overflow,
            l.network_outfall,
            l.closure_error_percent(),
            l.network_continuity_pct
        ),
        Balance::Surface(l) => {
            if let Some(a) = &r.adapter {
                println!("Bộ giải GPU / GPU solver: WGSL kernel on '{a}'");
            }
            println!(
                "Ngập / Flood: {minutes} min on {} × {} cells of {} m in {wall:.1} s ({} solver steps); max depth {:.3} m; rain {:.0} m³, outflow {:.0} m³, stored {:.0} m³; closure error {:.2e} %",
                dem.nx,
                dem.ny,
                dem.cell,
                r.steps,
                r.max_depth_m(),
                l.rain,
                l.boundary_out_total(),
                l.storage,
                r.closure_error_percent()
            );
        }
    }
}

/// Writes DIR/gauges.csv (when there are gauges) and prints each gauge's peak.
fn write_gauges(records: &[GaugeRecord], out: &mut OutDir) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let p = out.file("gauges.csv");
    write_text(&p, &twin_engine::flood::gauges_csv(records))?;
    println!("Điểm đo / Gauges (peak depth, minute):");
    for r in records {
        let (k, d) = r
            .depths_m
            .iter()
            .enumerate()
            .fold((0, 0.0f64), |a, (k, d)| if *d > a.1 { (k, *d) } else { a });
        let minute = r.times_s.get(k).copied().unwrap_or(0.0) / 60.0;
        println!("  {}: {d:.3} m at {minute:.0} min", r.gauge.name);
    }
    println!("wrote {}", out.target().join("gauges.csv").display());
    Ok(())
}

/// Clock time `HH:MM` as minutes after midnight.
fn parse_clock(s: &str) -> Result<f64> {
    let bad = || anyhow::anyhow!("--rain-start '{s}': expected a clock time HH:MM, e.g. 06:00");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((h * 60 + m) as f64)
}

/// The storm half of a scenario spec with the defaults `scenario run` uses.
pub(crate) fn scenario_storm(
    minutes: f64,
    rain: &[(f64, f64)],
    network: Option<twin_hydro::Project>,
) -> StormSpec {
    StormSpec {
        flood: FloodSpec {
            minutes,
            rain: rain.to_vec(),
            rain_map: None,
            manning: 0.03,
            edges: twin_surface::Boundary::Open { slope: None },
            threshold_m: 0.1,
            backend: backend(BackendArg::Auto),
        },
        buildings: BuildingMode::Roughness(0.1),
        network,
        gauges: Vec::new(),
        road_timeline: true,
        frames_every_s: None,
        replay: false,
    }
}

/// `twin scenario run` with flags.
pub(crate) fn scenario_run(a: &ScenarioArgs<'_>, out: &Path) -> Result<()> {
    let rain_start_min = parse_clock(a.rain_start)?;
    if !(0.0..=1.0).contains(&a.informed) {
        bail!("--informed must lie in 0..1, got {}", a.informed);
    }
    let rain = twin_io::rain::read_rain_csv(a.rain)?;
    let city = crate::load(a.city)?;
    let network = if a.couple {
        Some(city_network(&city, &rain, a.minutes, a.city)?)
    } else {
        None
    };
    let mut traffic = TrafficSpec::for_city(&city, a.trips, a.seed);
    traffic.sim.reroute_fraction = a.informed;
    let spec = ScenarioSpec {
        storm: scenario_storm(a.minutes, &rain, network),
        traffic,
        rain_start_min,
        worst_case: a.worst_case,
    };
    run_scenario(
        &city,
        a.city,
        &rain,
        &spec,
        out,
        None,
        RunExtras::default(),
        a.playback_every_min,
    )
}

/// `twin scenario run SCENARIO.toml`: paths in the file are relative to it.
pub(crate) fn scenario_file_run(file: &Path, out: &Path, playback_every_min: f64) -> Result<()> {
    let p = prepare_file(file)?;
    run_scenario(
        &p.city,
        &p.city_path,
        &p.rain,
        &p.spec,
        out,
        Some(&p.text),
        p.extras,
        playback_every_min,
    )
}

/// Vehicle positions of the playback folder are sampled every this many seconds.
const PLAYBACK_VEHICLES_S: f64 = 60.0;

/// A scenario file read and made ready to run: the city with its roads raised, the rain, the
/// scenario spec (the network with the file's interventions, the traffic with its closures).
pub(crate) struct PreparedFile {
    /// The file, as given.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// Its parsed form.
    pub file: ScenarioFile,
    /// The city, roads raised.
    pub city: City,
    /// The city's path (relative to the file).
    pub city_path: PathBuf,
    /// The rain series (start minute, mm/h).
    pub rain: Vec<(f64, f64)>,
    /// What to run.
    pub spec: ScenarioSpec,
    /// What the file adds to the run's outputs.
    pub extras: RunExtras,
}

/// Reads a scenario file and everything it names, and builds its scenario spec; a malformed
/// file or input is refused naming the file, line and key.
pub(crate) fn prepare_file(file: &Path) -> Result<PreparedFile> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("{}: cannot read", file.display()))?;
    let at = |e: &dyn std::fmt::Display| anyhow::anyhow!("{}: {e}", file.display());
    let sf = ScenarioFile::parse(&text).map_err(|e| at(&e))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let city_path = base.join(&sf.city);
    let mut city = crate::load(&city_path)?;
    let mut extras = RunExtras {
        interventions: sf.describe(),
        ..Default::default()
    };
    let rain = match &sf.rain {
        RainSource::Csv(p) => twin_io::rain::read_rain_csv(&base.join(p))?,
        RainSource::Design(d) => d.series(),
        RainSource::Historical(h) => {
            let dem = city
                .dem
                .as_ref()
                .with_context(|| format!("{}: the city has no DEM", city_path.display()))?;
            historical_rain(h, base, city.crs, dem, &mut extras)?
        }
    };
    twin_engine::whatif::raise_roads(&mut city, &sf.raise_road).map_err(|e| at(&e))?;
    for ((n, d), l) in twin_engine::whatif::dig_lakes(&mut city, &sf.lakes)
        .map_err(|e| at(&e))?
        .into_iter()
        .zip(&sf.lakes)
    {
        eprintln!(
            "Hồ điều hòa mới / new retention lake at ({:.0}, {:.0}): {n} cells dug {d:.2} m, {:.0} m³",
            l.at[0], l.at[1], l.volume_m3
        );
    }
    let network = if sf.couple {
        let (p, alerts) = file_network(file, &sf, &city, &city_path, &rain, sf.rain_start_min)?;
        extras.alerts = alerts;
        if !sf.pipes.is_empty() || !sf.tanks.is_empty() {
            let laid = sf
                .pipes
                .iter()
                .filter(|c| matches!(c, twin_engine::scenario_file::PipeChange::Add { .. }))
                .count();
            eprintln!(
                "Can thiệp mạng thoát nước / network interventions: {} pipe change(s) ({laid} laid), {} tank(s) of {:.0} m³ in all",
                sf.pipes.len(),
                sf.tanks.len(),
                sf.tanks.iter().map(|t| t.volume_m3).sum::<f64>()
            );
        }
        Some(p)
    } else if sf.changes_network() {
        let line = sf
            .pumps
            .first()
            .map(|p| p.line)
            .or(sf.gates.first().map(|g| g.line))
            .or(sf.river.as_ref().map(|r| r.line))
            .or(sf.tanks.first().map(|t| t.line))
            .or(sf.pipes.first().map(|p| p.line()))
            .unwrap_or(0);
        bail!(
            "{}: line {line}: pumps, gates, the river stage, pipes and tanks act on the drainage network: set couple = true",
            file.display()
        );
    } else {
        None
    };
    let mut traffic = TrafficSpec::for_city(&city, sf.trips, sf.seed);
    traffic.sim.reroute_fraction = sf.informed;
    traffic.closures =
        twin_engine::whatif::road_closures(&city, &sf.close_road).map_err(|e| at(&e))?;
    traffic.retime =
        twin_engine::whatif::signal_retimes(&city, &sf.retime_signals).map_err(|e| at(&e))?;
    traffic.power.substations = twin_engine::power::substations(&city);
    traffic.power.planned =
        twin_engine::whatif::substation_outages(&city, &sf.substations).map_err(|e| at(&e))?;
    traffic.sim.signal_control = match sf.signal_mode {
        SignalMode::Fixed => twin_traffic::sim::SignalControl::FixedTime,
        // FHWA Traffic Signal Timing Manual (2008) ch. 5 typical urban values.
        SignalMode::Actuated => twin_traffic::sim::SignalControl::Actuated {
            min_green: 7.0,
            max_green: 45.0,
            gap: 3.0,
        },
        SignalMode::MaxPressure => {
            twin_traffic::sim::SignalControl::MaxPressure { min_green: 10.0 }
        }
    };
    traffic.diversions = match sf.diversions {
        Diversions::Proposed => None,
        Diversions::Activated {
            close_at_m,
            informed,
        } => Some(twin_engine::scenario::ActiveDiversions {
            close_at_m,
            informed,
        }),
    };
    let mut storm = scenario_storm(sf.minutes, &rain, network);
    storm.flood.rain_map = extras.rain_map.take();
    let spec = ScenarioSpec {
        storm,
        traffic,
        rain_start_min: sf.rain_start_min,
        worst_case: sf.worst_case,
    };
    Ok(PreparedFile {
        path: file.to_path_buf(),
        text,
        file: sf,
        city,
        city_path,
        rain,
        spec,
        extras,
    })
}

/// The city's drainage network with a coupled scenario file's interventions (pumps, the
/// river's stage, pipes, tanks), its clock times placed against a rain starting at
/// `rain_start_min`; with the alerts for the pumps it takes out or starts late.
pub(crate) fn file_network(
    file: &Path,
    sf: &ScenarioFile,
    city: &City,
    city_path: &Path,
    rain: &[(f64, f64)],
    rain_start_min: f64,
) -> Result<(twin_hydro::Project, Vec<twin_engine::alerts::Alert>)> {
    let at = |e: &dyn std::fmt::Display| anyhow::anyhow!("{}: {e}", file.display());
    let mut p = city_network(city, rain, sf.minutes, city_path)?;
    let names: Vec<&str> = p.pumps.iter().map(|p| p.name.as_str()).collect();
    let alerts = twin_engine::alerts::pump_alerts(&names, &sf.pumps, rain_start_min);
    twin_engine::whatif::set_pumps(&mut p, &sf.pumps, rain_start_min).map_err(|e| at(&e))?;
    twin_engine::whatif::set_gates(&mut p, &sf.gates, rain_start_min).map_err(|e| at(&e))?;
    if let Some(r) = &sf.river {
        twin_engine::whatif::set_river(&mut p, r, rain_start_min).map_err(|e| at(&e))?;
    }
    twin_engine::whatif::change_pipes(&mut p, &sf.pipes).map_err(|e| at(&e))?;
    twin_engine::whatif::add_tanks(&mut p, &sf.tanks).map_err(|e| at(&e))?;
    Ok((p, alerts))
}

/// What a scenario file adds to a run.
#[derive(Default)]
pub(crate) struct RunExtras {
    /// Alerts known before the run (pumps out), joined to those the run raises.
    alerts: Vec<twin_engine::alerts::Alert>,
    /// Rain varying across the city (a multiplier of the series per DEM cell).
    rain_map: Option<Vec<f64>>,
    /// The storm's total per cell, mm, written as `rain_total.tif`.
    rain_total: Option<Raster>,
    /// The file's rain and interventions, one line each, for the report.
    pub(crate) interventions: Vec<String>,
}

/// A historical day at the gauges as a series (the city's mean), with its per-cell multiplier
/// and the total per cell put in `extras`; readings left out by their quality flag are named.
fn historical_rain(
    h: &twin_engine::scenario_file::HistoricalRain,
    base: &Path,
    crs: Crs,
    dem: &Raster,
    extras: &mut RunExtras,
) -> Result<Vec<(f64, f64)>> {
    use twin_engine::rain_map::{GaugeTotal, Spread, cell_totals};
    let (gauges, day) =
        twin_io::gauge_rain::read_day(&base.join(&h.gauges), &base.join(&h.daily), &h.date)?;
    if !day.flagged.is_empty() {
        let list: Vec<String> = day
            .flagged
            .iter()
            .map(|(id, q, mm)| format!("{id} ({q}, {mm} mm)"))
            .collect();
        eprintln!(
            "  warning: {} reading(s) on {} left out by their quality flag: {}",
            list.len(),
            h.date,
            list.join(", ")
        );
    }
    if day.readings.is_empty() {
        bail!(
            "{}: no gauge has a usable reading on {}",
            base.join(&h.daily).display(),
            h.date
        );
    }
    let lonlat: Vec<(f64, f64, &twin_io::gauge_rain::Reading)> = day
        .readings
        .iter()
        .map(|r| {
            let g = gauges
                .iter()
                .find(|g| g.id == r.id)
                .expect("checked by parse_day");
            (g.lon, g.lat, r)
        })
        .collect();
    let (mut xs, mut ys): (Vec<f64>, Vec<f64>) = lonlat.iter().map(|(x, y, _)| (*x, *y)).unzip();
    twin_io::crs::Reprojector::new(Crs { epsg: 4326 }, crs, "rain gauges")?
        .transform(&mut xs, &mut ys)?;
    let totals: Vec<GaugeTotal> = lonlat
        .iter()
        .zip(xs.iter().zip(&ys))
        .map(|((_, _, r), (x, y))| GaugeTotal {
            id: r.id.clone(),
            x: *x,
            y: *y,
            mm: r.mm,
        })
        .collect();
    let cells = cell_totals(&totals, dem, h.spread);
    let (series, map) = h.storm.series_and_map(&cells, dem);
    let nodata = twin_engine::flood::NODATA;
    let mut total = dem.clone();
    total.nodata = Some(nodata);
    for ((t, v), z) in total.data.iter_mut().zip(&cells).zip(&dem.data) {
        *t = if dem.is_nodata(*z) { nodata } else { *v as f32 };
    }
    let spread = match h.spread {
        Spread::Idw { power } => format!("IDW, power {power}"),
        Spread::Thiessen => "Thiessen".into(),
    };
    if let Some(st) = total.stats() {
        eprintln!(
            "Mưa lịch sử / historical rain {}: {} of {} gauges read, spread by {spread}; over the city {:.1}–{:.1} mm, mean {:.1} mm, in {:.0} min",
            h.date,
            totals.len(),
            gauges.len(),
            st.min,
            st.max,
            st.mean,
            h.storm.duration_min
        );
    }
    extras.rain_map = Some(map);
    extras.rain_total = Some(total);
    Ok(series)
}

static PROGRESS_FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Where `scenario run` reports its progress (`--progress-file`).
pub(crate) fn set_progress_file(p: Option<PathBuf>) {
    if let Some(p) = p {
        let _ = PROGRESS_FILE.set(p);
    }
}

/// Writes the progress file (at most once a second, and always at a stage's start and end).
struct Progress {
    last: Option<(std::time::Instant, &'static str)>,
}

impl Progress {
    fn report(&mut self, stage: &'static str, fraction: f64) {
        let Some(p) = PROGRESS_FILE.get() else { return };
        let now = std::time::Instant::now();
        let due = match self.last {
            None => true,
            Some((t, s)) => {
                s != stage || fraction >= 1.0 || now.duration_since(t).as_secs_f64() >= 1.0
            }
        };
        if !due {
            return;
        }
        self.last = Some((now, stage));
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let v = serde_json::json!({"stage": stage, "fraction": fraction.clamp(0.0, 1.0), "updated_ms": ms});
        if let Err(e) = twin_io::atomic::write_text(p, &v.to_string()) {
            eprintln!("{}: progress not written: {e}", p.display());
        }
    }
}

/// Runs a scenario spec on the city and writes its folder (with the scenario file's text as
/// `scenario.toml` when there is one, and what [`RunExtras`] holds).
#[allow(clippy::too_many_arguments)]
fn run_scenario(
    city: &City,
    city_path: &Path,
    rain: &[(f64, f64)],
    spec: &ScenarioSpec,
    out: &Path,
    file_text: Option<&str>,
    extras: RunExtras,
    playback_every_min: f64,
) -> Result<()> {
    if !(playback_every_min.is_finite()
        && playback_every_min >= 0.0
        && playback_every_min.fract() == 0.0)
    {
        bail!(
            "--playback-every must be a whole number of minutes (0: no playback), got {playback_every_min}"
        );
    }
    let mut with_playback;
    let spec = if playback_every_min > 0.0 {
        with_playback = spec.clone();
        with_playback.storm.frames_every_s = Some(playback_every_min * 60.0);
        with_playback.traffic.playback_every_s = Some(PLAYBACK_VEHICLES_S);
        &with_playback
    } else {
        spec
    };
    let mut alerts = extras.alerts;
    let dem = city
        .dem
        .as_ref()
        .with_context(|| format!("{}: the city has no DEM", city_path.display()))?;
    check_memory(dem)?;
    let mut dir = OutDir::begin(out)?;
    let what = if spec.storm.network.is_some() {
        "1D–2D flood / ngập"
    } else {
        "flood / ngập"
    };
    let pb = crate::progress_bar(what);
    let mut spinner: Option<ProgressBar> = None;
    let mut progress = Progress { last: None };
    progress.report("flood", 0.0);
    let r = twin_engine::scenario::run(city, spec, &mut |stage, f| match stage {
        Stage::Flood => {
            pb.set_position((f * 1000.0) as u64);
            progress.report("flood", f);
        }
        Stage::Traffic if f == 0.0 => {
            pb.finish_and_clear();
            progress.report("traffic", 0.0);
            spinner = Some(crate::spinner(
                "morning peak 06:00–09:00 with and without the flood / giờ cao điểm sáng",
            ));
        }
        Stage::Traffic => {
            progress.report("traffic", f);
            if let Some(s) = spinner.take() {
                s.finish_and_clear();
            }
        }
    })
    .with_context(|| city_path.display().to_string())?;
    pb.finish_and_clear();
    progress.report("writing", 0.0);
    write_storm(&r.storm, dem, city.crs, &mut dir)?;
    write_text(
        &dir.file("reach.csv"),
        &twin_engine::reach::reach_csv(&r.reach),
    )?;
    for (k, st) in twin_engine::reach::STANDARDS.iter().enumerate() {
        let img = twin_report::reach_map(city, dem, &r.reach, k);
        twin_io::raster::write_png(
            &img.data,
            img.width,
            img.height,
            &dir.file(&twin_report::scenario::reach_map_file(st.kind)),
        )?;
    }
    for s in &r.reach.services {
        eprintln!(
            "Tiếp cận / reach {}: {} facilities; residents beyond {:.0} min {:.0} → {:.0} ({:.0} cut off)",
            s.kind, s.facilities, s.limit_min, s.beyond_before, s.beyond_during, s.cut_off_during
        );
    }
    if let Some(t) = &extras.rain_total {
        twin_io::raster::write_geotiff(t, city.crs, &dir.file("rain_total.tif"))?;
        let img = twin_report::rain_map(t);
        twin_io::raster::write_png(
            &img.data,
            img.width,
            img.height,
            &dir.file("rain_total.png"),
        )?;
    }
    write_traffic(&r, &mut dir)?;
    write_response(&r, spec, &mut dir)?;
    if playback_every_min > 0.0 {
        crate::playback::write(&r, dem, city.crs, PLAYBACK_VEHICLES_S, &mut dir)?;
    }
    let img = twin_report::scenario::road_picture(
        city,
        dem,
        &r.storm.rasters.max_depth,
        r.storm.impacts.as_deref().unwrap_or_default(),
    );
    twin_io::raster::write_png(&img.data, img.width, img.height, &dir.file("roads.png"))?;
    let thresholds = twin_engine::alerts::Thresholds::default();
    alerts.extend(twin_engine::alerts::alerts(
        &r,
        spec.rain_start_min,
        &thresholds,
    ));
    twin_engine::alerts::sort(&mut alerts);
    write_text(
        &dir.file("alerts.json"),
        &serde_json::to_string_pretty(&twin_engine::alerts::alerts_json(&alerts, &thresholds))?,
    )?;
    let page = twin_report::scenario::scenario_page(
        city,
        rain,
        &r,
        &alerts,
        &extras.interventions,
        extras.rain_total.as_ref().map(|_| "rain_total.png"),
    );
    write_text(&dir.file("report.html"), &page)?;
    if let Some(t) = file_text {
        write_text(&dir.file("scenario.toml"), t)?;
    }
    dir.commit("twin scenario run")?;
    println!(
        "Báo cáo / Report: wrote {}",
        out.join("report.html").display()
    );
    Ok(())
}

/// Writes the dark signals, the diversions and the buildings by use, and says what they are.
fn write_response(r: &ScenarioResult, spec: &ScenarioSpec, out: &mut OutDir) -> Result<()> {
    let t = &r.traffic;
    for (rt, n) in spec.traffic.retime.iter().zip(&t.retimed_signals) {
        if *n == 0 {
            eprintln!(
                "  warning: retime_signals: road '{}' enters no signal whose plan has another green: nothing retimed",
                rt.road
            );
        } else {
            eprintln!(
                "Điều chỉnh đèn / signals retimed: {n} on '{}' at {:.0} % of green",
                rt.road,
                100.0 * rt.green_share
            );
        }
    }
    let clock =
        |s: f64| twin_engine::scenario::clock(twin_engine::scenario::CLOCK_START_MIN + s / 60.0);
    let mut csv = String::from("signal,x,y,substation,dark_from,dark_to,planned\n");
    for d in &t.dark_signals {
        csv += &format!(
            "{},{:.1},{:.1},\"{}\",{},{},{}\n",
            d.signal,
            d.x,
            d.y,
            d.substation.replace('"', "\"\""),
            clock(d.from_s),
            d.to_s.map(clock).unwrap_or_default(),
            d.planned
        );
    }
    write_text(&out.file("dark_signals.csv"), &csv)?;
    if !t.dark_signals.is_empty() {
        println!(
            "Đèn tín hiệu tắt / Signals dark: {} (substation out); {} vehicles crossed them as all-way stops",
            t.dark_signals.len(),
            t.dark_crossings[1]
        );
    }
    write_text(
        &out.file("diversions.csv"),
        &twin_engine::response::diversions_csv(&t.diversions),
    )?;
    if !t.diversions.is_empty() {
        let none = t
            .diversions
            .iter()
            .filter(|d| !d.detour_m.is_finite())
            .count();
        println!(
            "Phân luồng / Diversions {}: {} closed stretches, {none} with no way round inside the city model",
            if t.diversions_activated {
                "activated"
            } else {
                "proposed"
            },
            t.diversions.len()
        );
    }
    let e = &r.exposure;
    println!(
        "Công trình ngập / Buildings flooded ≥ 0.3 m: {}; jobs under water ≥ 0.3 m: {:.0}; cut off (access road closed): {} buildings, {:.0} residents, {:.0} jobs",
        e.buildings.iter().map(|b| b.flooded[1]).sum::<usize>(),
        e.jobs[1],
        e.cut_off.buildings,
        e.cut_off.residents,
        e.cut_off.jobs
    );
    Ok(())
}

/// Writes DIR/traffic.json and prints the traffic summary.
fn write_traffic(r: &ScenarioResult, out: &mut OutDir) -> Result<()> {
    let t = &r.traffic;
    let p = out.file("traffic.json");
    write_text(&p, &serde_json::to_string_pretty(&t.to_json())?)?;
    println!(
        "Giao thông khi ngập / Traffic under the flood: {} links closed, {} slowed at some time; {} vehicle trips; arrived {} → {}; rerouted {}; stranded (no route) {}; unfinished {} → {}; mean trip {:.0} s → {:.0} s; extra delay {:.0} vehicle-hours ({:.0} of the trips that arrived); teleports {} → {}",
        t.closed_links,
        t.slowed_links,
        t.baseline.trips,
        t.baseline.arrived,
        t.flooded.arrived,
        t.flooded.rerouted,
        t.flooded.aborted,
        t.baseline.unfinished,
        t.flooded.unfinished,
        t.baseline.mean_duration_s,
        t.flooded.mean_duration_s,
        t.flooded.vehicle_hours_all - t.baseline.vehicle_hours_all,
        t.flooded.vehicle_hours - t.baseline.vehicle_hours,
        t.baseline.teleports,
        t.flooded.teleports
    );
    println!("wrote {}", out.target().join("traffic.json").display());
    write_text(
        &out.file("summary.json"),
        &serde_json::to_string_pretty(&r.summary_json())?,
    )?;
    Ok(())
}
