//! # twin-cli
//!
//! Argument handling for the `twin` command and nothing else: every command calls into the
//! library crates (`twin-io`, `twin-citygen`, `twin-model`).

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use twin_model::{City, Crs, DrainageNetwork, Layer, RoadGraph};

mod traffic_cmd;
use traffic_cmd::{TrafficDemand, traffic_run};

/// Urban digital twin engine: city model, drainage, flooding and traffic.
/// Động cơ bản sao số đô thị: mô hình thành phố, thoát nước, ngập lụt và giao thông.
#[derive(Parser, Debug)]
#[command(name = "twin", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate the built-in synthetic demo district (all 11 layers) into a GeoPackage.
    /// Tạo quận mẫu tổng hợp (đủ 11 lớp) vào một tệp GeoPackage.
    DemoCity {
        /// Output GeoPackage.
        #[arg(long)]
        out: PathBuf,
        /// Seed: the same seed gives the same city.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Import data into a city GeoPackage. Nhập dữ liệu.
    #[command(subcommand)]
    Import(ImportCmd),
    /// Export layers or the DEM. Xuất dữ liệu.
    #[command(subcommand)]
    Export(ExportCmd),
    /// Flood-and-traffic scenario on a city: rain → flood (optionally coupled to the city's
    /// drainage) → flooded roads closed or slowed → morning peak with and without the flood.
    /// Kịch bản mưa ngập – giao thông.
    #[command(subcommand)]
    Scenario(ScenarioCmd),
    /// Drainage network runs (EPA SWMM 5 input). Mô phỏng mạng thoát nước.
    #[command(subcommand)]
    Hydro(HydroCmd),
    /// Traffic runs. Mô phỏng giao thông.
    #[command(subcommand)]
    Traffic(TrafficCmd),
    /// Surface-flood runs. Mô phỏng ngập bề mặt.
    #[command(subcommand)]
    Flood(FloodCmd),
    /// Summarise a city: layers, counts, extents, CRS, owners, derived networks.
    /// Tóm tắt thành phố: các lớp, số đối tượng, phạm vi, hệ tọa độ, đơn vị quản lý.
    Info {
        /// City GeoPackage.
        city: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ImportCmd {
    /// Import an OpenStreetMap extract (.osm.pbf or .osm XML) as a new city.
    Osm {
        /// The OSM file.
        file: PathBuf,
        /// Output GeoPackage.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        crs: CrsArg,
        /// City name (default: the file name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Import vector GIS files (GeoJSON, Shapefile, GeoPackage …) into one layer. Adds to
    /// the city in --out if it exists, else creates it.
    Gis {
        /// Input files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Target layer (e.g. building, green, traffic, environment, utility, public_service).
        #[arg(long)]
        layer: String,
        /// City GeoPackage to add to or create.
        #[arg(long)]
        out: PathBuf,
        /// CRS of inputs that do not say theirs (e.g. EPSG:4326).
        #[arg(long)]
        src_crs: Option<String>,
        /// Kind for features without a `kind` field (default: the file stem).
        #[arg(long)]
        kind: Option<String>,
        #[command(flatten)]
        crs: CrsArg,
    },
    /// Import a DEM raster (GeoTIFF …), reprojected onto the city's CRS.
    Dem {
        /// Raster file.
        file: PathBuf,
        /// City GeoPackage to add to (must exist).
        #[arg(long)]
        out: PathBuf,
        /// Cell size in metres (default: about the source's).
        #[arg(long)]
        cell: Option<f64>,
    },
}

#[derive(Args, Debug)]
struct CrsArg {
    /// Model CRS for a new city (default: VN-2000 / UTM inside Vietnam, WGS 84 / UTM elsewhere).
    #[arg(long)]
    crs: Option<String>,
}

#[derive(Subcommand, Debug)]
enum ScenarioCmd {
    /// Writes the flood outputs of `twin flood run`, DIR/roads.csv and DIR/traffic.json.
    Run {
        /// City GeoPackage.
        #[arg(long)]
        city: PathBuf,
        /// Rain CSV (`minute,mm_per_hour`).
        #[arg(long)]
        rain: PathBuf,
        /// Simulated flood minutes.
        #[arg(long)]
        minutes: f64,
        /// Person trips of the 06:00–09:00 morning peak period drawn from the city's layers
        /// (with trips to, from and through the rest of the city; 18.5 % ride the bus).
        #[arg(long, default_value_t = 123_000)]
        trips: usize,
        /// Couple the city's drainage network.
        #[arg(long)]
        couple: bool,
        /// Clock time the rain starts (HH:MM); roads close and reopen with the water on them
        /// as the peak goes on.
        #[arg(long, default_value = "06:00")]
        rain_start: String,
        /// Every road in its worst flood state for the whole peak instead (a planning bound).
        #[arg(long)]
        worst_case: bool,
        /// Share of drivers informed of current link times, rerouting every 2 minutes (0..1).
        #[arg(long, default_value_t = 0.5)]
        informed: f64,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Seed of the demand.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand, Debug)]
enum HydroCmd {
    /// Runs a SWMM .inp model (dynamic or kinematic wave): writes DIR/nodes.csv
    /// (`time,node,depth,head,flooding`), DIR/links.csv (`time,link,flow,velocity`), SI units,
    /// seconds from start, and DIR/summary.json (continuity errors in %, run time).
    Run {
        /// The SWMM input file.
        model: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum TrafficCmd {
    /// Mesoscopic simulation of a SUMO network and demand: writes DIR/trips.csv
    /// (`id,depart,arrival,duration,route_length`), DIR/links.csv and DIR/summary.json.
    Run {
        /// SUMO network (.net.xml).
        #[arg(long)]
        net: PathBuf,
        /// SUMO routes or trips (.rou.xml); or give --od and --zones instead.
        #[arg(long, required_unless_present = "od", conflicts_with = "od")]
        routes: Option<PathBuf>,
        /// OD matrix CSV: `origin,destination,count,begin,end` (zones, trips, seconds).
        #[arg(long, requires = "zones")]
        od: Option<PathBuf>,
        /// Zones CSV for --od: `zone,node` (network junction ids).
        #[arg(long)]
        zones: Option<PathBuf>,
        /// Link counts CSV for --od: `link,count` (vehicles over the period); the matrix is
        /// scaled to them by iterative proportional fitting.
        #[arg(long, requires = "od")]
        counts: Option<PathBuf>,
        /// End of the simulation, seconds (default: until every vehicle has arrived).
        #[arg(long)]
        end: Option<f64>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Signals by max-pressure (Varaiya 2013) with this minimum green, seconds.
        #[arg(long)]
        max_pressure: Option<f64>,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// En-route rerouting on current link times every this many seconds (0: only
        /// around closures).
        #[arg(long, default_value_t = 0.0)]
        reroute_period: f64,
        /// Share of informed drivers who reroute (0..1).
        #[arg(long, default_value_t = 0.0)]
        informed: f64,
        /// Fully actuated signals: minimum green, maximum green and passage time, seconds
        /// (e.g. `--actuated 7 45 3`).
        #[arg(long, num_args = 3, value_names = ["MIN", "MAX", "GAP"])]
        actuated: Option<Vec<f64>>,
        /// With --max-pressure or --actuated: keep the fixed plans and only record the
        /// decisions the adaptive control would take, in DIR/signal_proposals.csv.
        #[arg(long)]
        propose_only: bool,
        /// Write vehicle positions every this many seconds to DIR/fcd.csv
        /// (`time,vehicle,link,pos,x,y,speed`).
        #[arg(long)]
        fcd: Option<f64>,
        /// Iterate route choice over this many simulated days by the method of successive
        /// averages before the final run; writes DIR/msa.csv (relative gap per iteration).
        #[arg(long, default_value_t = 0)]
        msa: usize,
    },
}

#[derive(Subcommand, Debug)]
enum FloodCmd {
    /// Rain on a DEM (local-inertial 2D shallow water): writes DIR/max_depth.tif (plus time of
    /// maximum, duration above the threshold and hazard rasters) and DIR/ledger.json.
    Run {
        /// DEM GeoTIFF, or a city .gpkg whose DEM is used. Nodata cells are walls.
        #[arg(long)]
        dem: PathBuf,
        /// Rain CSV: header `minute,mm_per_hour`, stepwise, uniform over the grid.
        #[arg(long)]
        rain: PathBuf,
        /// Simulated minutes.
        #[arg(long)]
        minutes: f64,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Manning's n on every cell.
        #[arg(long, default_value_t = 0.03)]
        manning: f64,
        /// Edges: `open` (free outflow) or `closed`.
        #[arg(long, default_value = "open")]
        edges: String,
        /// Depth (m) counted as flooded for the duration map.
        #[arg(long, default_value_t = 0.1)]
        threshold: f64,
        /// With a city .gpkg: buildings as `rough` (Manning n 0.1 on their cells) or `blocked`
        /// (their cells are walls; for grids finer than the gaps between buildings).
        #[arg(long, default_value = "rough")]
        buildings: String,
        /// Couple a SWMM drainage network (.inp whose [COORDINATES] are in the DEM's CRS) at
        /// every manhole; rain falls on the grid, the model's subcatchments are not used.
        #[arg(long, conflicts_with = "couple")]
        inp: Option<PathBuf>,
        /// With a city .gpkg: couple the city's own drainage network.
        #[arg(long)]
        couple: bool,
        /// Points CSV (`name,x,y` in the DEM's CRS) whose depth and water level are written
        /// every minute to DIR/gauges.csv. With a city, its water-level sensors are gauges too.
        #[arg(long)]
        gauges: Option<PathBuf>,
        /// With --couple or --inp: also write the network as a stand-alone SWMM model fed, at
        /// each manhole, what the surface gave it minute by minute (to rerun in EPA SWMM).
        #[arg(long)]
        replay_inp: Option<PathBuf>,
        /// Surface solver: `cpu` (f64, rows in parallel; the reference), `gpu` (the same
        /// scheme as a WGSL compute kernel on the default GPU adapter, f32) or `auto` (the
        /// GPU when there is a hardware one, else the CPU).
        #[arg(long, default_value = "auto")]
        backend: String,
    },
}

#[derive(Subcommand, Debug)]
enum ExportCmd {
    /// One layer as GeoJSON (RFC 7946, WGS 84).
    Geojson {
        /// City GeoPackage.
        city: PathBuf,
        /// Layer name.
        #[arg(long)]
        layer: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// The drainage network as an EPA SWMM 5 input file (CMS units) with a rain series.
    Inp {
        /// City GeoPackage.
        city: PathBuf,
        /// Rain CSV (`minute,mm_per_hour`) for the model's rain gauge.
        #[arg(long)]
        rain: PathBuf,
        /// Simulated minutes.
        #[arg(long)]
        minutes: f64,
        /// Output .inp file.
        #[arg(long)]
        out: PathBuf,
    },
    /// The DEM as a GeoTIFF in the city's CRS.
    Dem {
        /// City GeoPackage.
        city: PathBuf,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

fn parse_crs(s: &str) -> Result<Crs> {
    Crs::parse(s).with_context(|| format!("--crs '{s}': expected EPSG:<code>, e.g. EPSG:3405"))
}

fn parse_layer(s: &str) -> Result<Layer> {
    Layer::parse(s).with_context(|| {
        let names: Vec<&str> = Layer::ALL.iter().map(|l| l.table_name()).collect();
        format!("--layer '{s}': unknown layer; one of {}", names.join(", "))
    })
}

fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("template"));
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

fn step<T>(msg: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let pb = spinner(msg);
    let r = f();
    pb.finish_and_clear();
    if r.is_ok() {
        eprintln!("✓ {msg} ({:.1} s)", pb.elapsed().as_secs_f64());
    }
    r
}

fn load(path: &Path) -> Result<City> {
    step(&format!("reading {}", path.display()), || {
        Ok(twin_io::gpkg::read_city(path)?)
    })
}

fn save(city: &City, path: &Path) -> Result<()> {
    step(
        &format!(
            "writing {} ({} features)",
            path.display(),
            city.feature_count()
        ),
        || Ok(twin_io::gpkg::write_city(city, path)?),
    )
}

/// Runs the command line.
pub fn run<I, T>(args: I) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    match cli.command {
        Command::DemoCity { out, seed } => {
            let city = step("generating the demo district / tạo quận mẫu", || {
                Ok(twin_citygen::generate(&twin_citygen::DemoOptions {
                    seed,
                    ..Default::default()
                }))
            })?;
            save(&city, &out)?;
            println!("{}", info_text(&city));
        }
        Command::Import(ImportCmd::Osm {
            file,
            out,
            crs,
            name,
        }) => {
            let opts = twin_io::osm::OsmImportOptions {
                crs: crs.crs.as_deref().map(parse_crs).transpose()?,
                name,
            };
            let (city, rep) = step(&format!("importing {}", file.display()), || {
                Ok(twin_io::osm::import_osm(&file, &opts)?)
            })?;
            for (why, n) in &rep.skipped {
                eprintln!("  note: {n} × {why}");
            }
            save(&city, &out)?;
            println!("{}", info_text(&city));
        }
        Command::Import(ImportCmd::Gis {
            files,
            layer,
            out,
            src_crs,
            kind,
            crs,
        }) => {
            let layer = parse_layer(&layer)?;
            let opts = twin_io::gis::VectorImportOptions {
                src_crs: src_crs.as_deref().map(parse_crs).transpose()?,
                kind,
            };
            let mut city = if out.exists() {
                load(&out)?
            } else {
                let c = match crs.crs.as_deref() {
                    Some(s) => parse_crs(s)?,
                    None => {
                        let probe = twin_io::gis::read_vector(
                            &files[0],
                            layer,
                            Crs::WGS84,
                            twin_model::FeatureId(1),
                            &opts,
                        )?;
                        let (mut lon, mut lat): (Vec<f64>, Vec<f64>) = probe
                            .iter()
                            .filter_map(|f| f.bbox())
                            .map(|b| (0.5 * (b[0][0] + b[1][0]), 0.5 * (b[0][1] + b[1][1])))
                            .unzip();
                        if lon.is_empty() {
                            bail!(
                                "{}: no features to choose a CRS from; give --crs",
                                files[0].display()
                            );
                        }
                        lon.sort_by(f64::total_cmp);
                        lat.sort_by(f64::total_cmp);
                        Crs::metric_for(lon[lon.len() / 2], lat[lat.len() / 2])
                    }
                };
                City::new(&out.file_stem().unwrap_or_default().to_string_lossy(), c)
            };
            let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
            let n = step(
                &format!("importing {} file(s) into {}", files.len(), layer),
                || {
                    Ok(twin_io::gis::import_vector(
                        &mut city, &paths, layer, &opts,
                    )?)
                },
            )?;
            eprintln!("  {n} features added to {layer}");
            save(&city, &out)?;
            println!("{}", info_text(&city));
        }
        Command::Import(ImportCmd::Dem { file, out, cell }) => {
            let mut city = load(&out)?;
            let dem = step(
                &format!("reprojecting {} onto {}", file.display(), city.crs.code()),
                || {
                    let src = twin_io::raster::read_raster(&file)?;
                    Ok(twin_io::raster::reproject_raster(&src, city.crs, cell)?)
                },
            )?;
            city.dem = Some(dem);
            save(&city, &out)?;
            println!("{}", info_text(&city));
        }
        Command::Export(ExportCmd::Geojson { city, layer, out }) => {
            let layer = parse_layer(&layer)?;
            let c = load(&city)?;
            step(&format!("writing {}", out.display()), || {
                Ok(twin_io::gis::write_geojson(&c, layer, &out)?)
            })?;
        }
        Command::Export(ExportCmd::Inp {
            city,
            rain,
            minutes,
            out,
        }) => {
            let rain = twin_io::rain::read_rain_csv(&rain)?;
            let c = load(&city)?;
            let text = twin_io::swmm::city_to_inp(&c, &rain, minutes)
                .with_context(|| city.display().to_string())?;
            twin_io::atomic::write_atomically(&out, |tmp| {
                std::fs::write(tmp, &text).map_err(|e| twin_io::IoError::file(&out, e.to_string()))
            })?;
            eprintln!("✓ wrote {}", out.display());
        }
        Command::Export(ExportCmd::Dem { city, out }) => {
            let c = load(&city)?;
            let dem = c
                .dem
                .as_ref()
                .with_context(|| format!("{}: the city has no DEM", city.display()))?;
            step(&format!("writing {}", out.display()), || {
                Ok(twin_io::raster::write_geotiff(dem, c.crs, &out)?)
            })?;
        }
        Command::Flood(FloodCmd::Run {
            dem,
            rain,
            minutes,
            out,
            manning,
            edges,
            threshold,
            buildings,
            inp,
            couple,
            gauges,
            replay_inp,
            backend,
        }) => {
            flood_run(
                &dem,
                &rain,
                minutes,
                &out,
                manning,
                &edges,
                threshold,
                &buildings,
                inp.as_deref(),
                couple,
                gauges.as_deref(),
                replay_inp.as_deref(),
                &backend,
                false,
            )?;
        }
        Command::Hydro(HydroCmd::Run { model, out }) => hydro_run(&model, &out)?,
        Command::Scenario(ScenarioCmd::Run {
            city,
            rain,
            minutes,
            trips,
            couple,
            rain_start,
            worst_case,
            informed,
            out,
            seed,
        }) => {
            let rain_start_min = parse_clock(&rain_start)?;
            if !(0.0..=1.0).contains(&informed) {
                bail!("--informed must lie in 0..1, got {informed}");
            }
            let flood = flood_run(
                &city, &rain, minutes, &out, 0.03, "open", 0.1, "rough", None, couple, None, None,
                "auto", true,
            )?;
            let c = load(&city)?;
            let depth = twin_io::raster::read_raster(&out.join("max_depth.tif"))?;
            let impacts = twin_engine::impacts::road_impacts(&c, &depth.raster);
            let states = match (&flood.roads, worst_case) {
                (Some(timeline), false) => twin_engine::scenario::RoadStates::Timeline {
                    timeline: timeline.clone(),
                    rain_start_s: (rain_start_min - PEAK_START_MIN) * 60.0,
                },
                _ => twin_engine::scenario::RoadStates::Worst(impacts.clone()),
            };
            let mut spec = twin_engine::scenario::TrafficSpec::morning_peak_period(trips, seed);
            if let Some(e) = spec.peak.external.as_mut() {
                e.open_sides = twin_engine::scenario::open_sides(&c);
            }
            spec.sim.reroute_fraction = informed;
            let r = step(
                "morning peak 06:00–09:00 with and without the flood / giờ cao điểm sáng",
                || {
                    twin_engine::scenario::flood_traffic(&c, &states, &spec)
                        .map_err(anyhow::Error::msg)
                },
            )?;
            let p = out.join("traffic.json");
            let text = serde_json::to_string_pretty(&r.to_json())?;
            twin_io::atomic::write_atomically(&p, |tmp| {
                std::fs::write(tmp, &text).map_err(|e| twin_io::IoError::file(&p, e.to_string()))
            })?;
            println!(
                "Giao thông khi ngập / Traffic under the flood: {} links closed, {} slowed at some time; {} vehicle trips; arrived {} → {}; rerouted {}; stranded (no route) {}; mean trip {:.0} s → {:.0} s; extra delay {:.0} vehicle-hours; teleports {} → {}",
                r.closed_links,
                r.slowed_links,
                r.baseline.trips,
                r.baseline.arrived,
                r.flooded.arrived,
                r.flooded.rerouted,
                r.flooded.aborted,
                r.baseline.mean_duration_s,
                r.flooded.mean_duration_s,
                r.flooded.vehicle_hours - r.baseline.vehicle_hours,
                r.baseline.teleports,
                r.flooded.teleports
            );
            println!("wrote {}", p.display());
            let dem = c
                .dem
                .as_ref()
                .with_context(|| format!("{}: the city has no DEM", city.display()))?;
            road_picture(&c, dem, &depth.raster, &impacts, &out)?;
            let rain_series = twin_io::rain::read_rain_csv(&rain)?;
            let page = scenario_report(
                &c,
                &rain_series,
                minutes,
                &depth.raster,
                &impacts,
                &flood,
                &r,
            );
            let p = out.join("report.html");
            twin_io::atomic::write_atomically(&p, |tmp| {
                std::fs::write(tmp, &page).map_err(|e| twin_io::IoError::file(&p, e.to_string()))
            })?;
            println!("Báo cáo / Report: wrote {}", p.display());
        }
        Command::Traffic(TrafficCmd::Run {
            net,
            routes,
            end,
            out,
            max_pressure,
            seed,
            reroute_period,
            informed,
            msa,
            actuated,
            propose_only,
            fcd,
            od,
            zones,
            counts,
        }) => {
            if !(0.0..=1.0).contains(&informed) || reroute_period.is_nan() || reroute_period < 0.0 {
                bail!("--informed must lie in 0..1 and --reroute-period be 0 or more seconds");
            }
            let mut cfg = twin_traffic::sim::SimConfig {
                seed,
                reroute_period,
                reroute_fraction: informed,
                propose_only,
                fcd_interval: fcd.unwrap_or(0.0),
                ..Default::default()
            };
            if fcd.is_some_and(|f| !(f.is_finite() && f > 0.0)) {
                bail!("--fcd expects a positive interval in seconds");
            }
            if let Some(a) = actuated {
                if max_pressure.is_some() {
                    bail!("choose either --max-pressure or --actuated");
                }
                let ok =
                    a.len() == 3 && a.iter().all(|x| x.is_finite() && *x > 0.0) && a[0] <= a[1];
                if !ok {
                    bail!("--actuated expects MIN MAX GAP, positive seconds with MIN <= MAX");
                }
                cfg.signal_control = twin_traffic::sim::SignalControl::Actuated {
                    min_green: a[0],
                    max_green: a[1],
                    gap: a[2],
                };
            }
            if propose_only
                && max_pressure.is_none()
                && cfg.signal_control == twin_traffic::sim::SignalControl::FixedTime
            {
                bail!("--propose-only needs --max-pressure or --actuated");
            }
            let demand = match (&routes, &od, &zones) {
                (Some(r), _, _) => TrafficDemand::Routes(r.clone()),
                (None, Some(o), Some(z)) => TrafficDemand::Od {
                    od: o.clone(),
                    zones: z.clone(),
                    counts: counts.clone(),
                },
                _ => bail!("give --routes, or --od with --zones"),
            };
            traffic_run(&net, &demand, end, &out, max_pressure, cfg, msa)?
        }
        Command::Info { city, json } => {
            let c = twin_io::gpkg::read_city(&city)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&info_json(&c))?);
            } else {
                println!("{}", info_text(&c));
            }
        }
    }
    Ok(())
}

fn hydro_run(model: &Path, out: &Path) -> Result<()> {
    let bytes =
        std::fs::read(model).with_context(|| format!("{}: cannot read", model.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    // Rain, time series and climate files named in the model are relative to
    // its folder, as in SWMM.
    let dir = model.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut read = |path: &str| -> std::result::Result<String, String> {
        let p = dir.join(path);
        std::fs::read(&p)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    let started = std::time::Instant::now();
    let (report, summary) = step(
        "routing the drainage network / mô phỏng thoát nước",
        || {
            twin_hydro::run_inp_with_files(&text, &mut read, &mut || {
                started.elapsed().as_secs_f64()
            })
            .with_context(|| model.display().to_string())
        },
    )?;
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create the output directory", out.display()))?;
    let write =
        |name: &str, f: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>| -> Result<()> {
            let p = out.join(name);
            twin_io::atomic::write_atomically(&p, |tmp| {
                let file = std::fs::File::create(tmp)
                    .map_err(|e| twin_io::IoError::file(&p, e.to_string()))?;
                let mut w = std::io::BufWriter::new(file);
                f(&mut w)
                    .and_then(|()| std::io::Write::flush(&mut w))
                    .map_err(|e| twin_io::IoError::file(&p, e.to_string()))
            })?;
            Ok(())
        };
    write("nodes.csv", &|w| {
        twin_hydro::results::write_nodes_csv(&report, w)
    })?;
    write("links.csv", &|w| {
        twin_hydro::results::write_links_csv(&report, w)
    })?;
    write("subcatch.csv", &|w| {
        twin_hydro::results::write_subcatch_csv(&report, w)
    })?;
    write("summary.json", &|w| {
        twin_hydro::results::write_summary_json(&summary, &report.node_names, w)
    })?;
    println!(
        "Thoát nước / Drainage: {} nodes, {} links, {} steps in {:.2} s; flooding {:.0} m³, outflow {:.0} m³; continuity: runoff {}, routing {:.3} %",
        report.node_names.len(),
        report.link_names.len(),
        summary.steps,
        summary.run_time_s,
        summary.flooding_volume_m3,
        summary.outflow_volume_m3,
        summary
            .runoff_continuity_error_pct
            .map(|e| format!("{e:.3} %"))
            .unwrap_or_else(|| "–".into()),
        summary.routing_continuity_error_pct
    );
    println!("wrote {}/nodes.csv, links.csv, summary.json", out.display());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn flood_run(
    dem: &Path,
    rain: &Path,
    minutes: f64,
    out: &Path,
    manning: f64,
    edges: &str,
    threshold: f64,
    buildings: &str,
    inp: Option<&Path>,
    couple: bool,
    gauges: Option<&Path>,
    replay_inp: Option<&Path>,
    backend: &str,
    road_timeline: bool,
) -> Result<FloodOutcome> {
    let backend: twin_engine::flood::Backend = match backend {
        "auto" => match twin_engine::flood::hardware_gpu() {
            Some(name) => {
                println!(
                    "GPU '{name}': the surface runs on its WGSL kernel / bề mặt chạy trên GPU (--backend cpu for the CPU solver)"
                );
                twin_engine::flood::Backend::Gpu
            }
            None => twin_engine::flood::Backend::Cpu,
        },
        other => other
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--{e} or auto"))?,
    };
    let buildings = match buildings {
        "rough" => twin_engine::flood::BuildingMode::Roughness(0.1),
        "blocked" => twin_engine::flood::BuildingMode::Blocked,
        other => bail!("--buildings '{other}': expected rough or blocked"),
    };
    let edges = match edges {
        "open" => twin_surface::Boundary::Open { slope: None },
        "closed" => twin_surface::Boundary::Closed,
        other => bail!("--edges '{other}': expected open or closed"),
    };
    let rain = twin_io::rain::read_rain_csv(rain)?;
    let extra_gauges: Vec<twin_engine::flood::Gauge> = match gauges {
        Some(p) => twin_io::points::read_points_csv(p)?
            .into_iter()
            .map(|g| twin_engine::flood::Gauge {
                name: g.name,
                x: g.x,
                y: g.y,
            })
            .collect(),
        None => Vec::new(),
    };
    let mut city = None;
    let (raster, crs) = if dem
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gpkg"))
    {
        let c = load(dem)?;
        let r = c
            .dem
            .clone()
            .with_context(|| format!("{}: the city has no DEM", dem.display()))?;
        let crs = c.crs;
        city = Some(c);
        (r, crs)
    } else {
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
            (twin_io::raster::reproject_raster(&g, target, None)?, target)
        } else {
            (g.raster, g.crs)
        }
    };
    let gauge_file = gauges.map(|p| p.display().to_string()).unwrap_or_default();
    for g in &extra_gauges {
        match raster.cell_at(g.x, g.y) {
            Some((c, r)) if !raster.is_nodata(raster.get(c, r)) => {}
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
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create the output directory", out.display()))?;
    let spec = twin_engine::flood::FloodSpec {
        minutes,
        rain,
        manning,
        edges,
        threshold_m: threshold,
        backend,
    };
    let mut setup = match &city {
        Some(c) => step("preparing the surface from the city's layers", || {
            Ok(twin_engine::flood::city_setup(c, &raster, &spec, buildings))
        })?,
        None => twin_engine::flood::SurfaceSetup::default(),
    };
    for g in extra_gauges {
        if setup.gauges.iter().any(|h| h.name == g.name) {
            bail!("gauge '{}' is also a city sensor's name", g.name);
        }
        setup.gauges.push(g);
    }
    // The roads' deepest water every five minutes, for the flood → traffic timeline.
    let road_refs = match (&city, road_timeline) {
        (Some(c), true) => {
            let (refs, groups) = twin_engine::impacts::road_cells(c, &raster);
            setup.probes = Some(twin_engine::flood::Probes {
                groups,
                every_s: ROAD_TIMELINE_S,
            });
            Some(refs)
        }
        _ => None,
    };
    let timeline = |p: Option<twin_engine::flood::ProbeSeries>| {
        road_refs
            .clone()
            .zip(p)
            .map(|(roads, p)| twin_engine::impacts::RoadTimeline {
                roads,
                ends_s: p.ends_s,
                depth_m: p.max_depth_m,
            })
    };
    let project = match (inp, couple, &city) {
        (Some(p), _, _) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("{}: cannot read", p.display()))?;
            Some(twin_hydro::parse(&text).with_context(|| p.display().to_string())?)
        }
        (None, true, Some(c)) => {
            let text = twin_io::swmm::city_to_inp_with(c, &spec.rain, minutes, false)
                .with_context(|| dem.display().to_string())?;
            Some(twin_hydro::parse(&text).context("the city's drainage network")?)
        }
        (None, true, None) => bail!("--couple needs a city .gpkg as --dem (or give --inp)"),
        (None, false, _) => None,
    };
    if replay_inp.is_some() && project.is_none() {
        bail!("--replay-inp needs a coupled run (--couple or --inp)");
    }
    if let Some(project) = project {
        let pb = ProgressBar::new(1000);
        pb.set_style(ProgressStyle::with_template("{bar:40} {percent:>3}% simulated, {elapsed} elapsed, ETA {eta} — 1D–2D flood / ngập").expect("template"));
        let started = std::time::Instant::now();
        let keep = replay_inp.map(|_| project.clone());
        let res = twin_engine::coupled::run(&raster, &setup, &spec, project, &mut |f| {
            pb.set_position((f * 1000.0) as u64)
        })?;
        pb.finish_and_clear();
        if let (Some(p), Some(project)) = (replay_inp, keep) {
            let replay = twin_engine::coupled::replay_project(project, &res)?;
            let text = twin_hydro::write(&replay);
            twin_io::atomic::write_atomically(p, |tmp| {
                std::fs::write(tmp, &text).map_err(|e| twin_io::IoError::file(p, e.to_string()))
            })?;
            println!(
                "wrote {} (the network fed what the surface gave it)",
                p.display()
            );
        }
        let wall = started.elapsed().as_secs_f64();
        write_rasters(&res.rasters, crs, out)?;
        flood_picture(&raster, &res.rasters.max_depth, out)?;
        let mut j = res.ledger.to_json();
        j["wall_time_s"] = serde_json::json!(wall);
        j["coupled_manholes"] = serde_json::json!(res.coupled_manholes);
        j["backend"] = serde_json::json!(if res.adapter.is_some() { "gpu" } else { "cpu" });
        j["gpu_adapter"] = serde_json::json!(res.adapter);
        j["overflowing_manholes"] = serde_json::json!(res.overflowing_manholes);
        j["minutes"] = serde_json::json!(minutes);
        let lp = out.join("ledger.json");
        twin_io::atomic::write_atomically(&lp, |tmp| {
            std::fs::write(tmp, serde_json::to_string_pretty(&j).expect("json"))
                .map_err(|e| twin_io::IoError::file(&lp, e.to_string()))
        })?;
        let l = &res.ledger;
        println!(
            "Ngập 1D–2D / Coupled flood: {minutes} min, {} manholes coupled, {} overflowed, in {wall:.1} s; max depth {:.3} m; rain {:.0} m³, inlets {:.0} m³, overflow {:.0} m³, pumped out {:.0} m³; closure error {:.3} % of inflow (network's own routing continuity {:.3} %)",
            res.coupled_manholes,
            res.overflowing_manholes,
            res.rasters.max_depth.stats().map(|s| s.max).unwrap_or(0.0),
            l.surface.rain,
            l.network_inflow,
            l.network_overflow,
            l.network_outfall,
            l.closure_error_percent(),
            l.network_continuity_pct
        );
        println!(
            "wrote {}/max_depth.tif, time_of_max_min.tif, duration_above_min.tif, max_hazard.tif, ledger.json",
            out.display()
        );
        write_gauges(&res.gauges, out)?;
        if let Some(c) = &city {
            road_impacts(c, &res.rasters.max_depth, out)?;
        }
        return Ok(FloodOutcome {
            gauges: res.gauges,
            ledger: j,
            roads: timeline(res.probes),
        });
    }
    let pb = ProgressBar::new(1000);
    pb.set_style(
        ProgressStyle::with_template(
            "{bar:40} {percent:>3}% simulated, {elapsed} elapsed, ETA {eta} — flood / ngập",
        )
        .expect("template"),
    );
    let started = std::time::Instant::now();
    let res = twin_engine::flood::run_with(&raster, &spec, &setup, &mut |f| {
        pb.set_position((f * 1000.0) as u64)
    })?;
    pb.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    for (name, r) in [
        ("max_depth.tif", &res.max_depth),
        ("time_of_max_min.tif", &res.time_of_max_min),
        ("duration_above_min.tif", &res.duration_above_min),
        ("max_hazard.tif", &res.max_hazard),
    ] {
        twin_io::raster::write_geotiff(r, crs, &out.join(name))?;
    }
    flood_picture(&raster, &res.max_depth, out)?;
    let mut j = res.ledger_json();
    j["wall_time_s"] = serde_json::json!(wall);
    j["cells"] = serde_json::json!(raster.nx * raster.ny);
    j["minutes"] = serde_json::json!(minutes);
    let lp = out.join("ledger.json");
    twin_io::atomic::write_atomically(&lp, |tmp| {
        std::fs::write(tmp, serde_json::to_string_pretty(&j).expect("json"))
            .map_err(|e| twin_io::IoError::file(&lp, e.to_string()))
    })?;
    let st = res.max_depth.stats();
    if let Some(a) = &res.adapter {
        println!("Bộ giải GPU / GPU solver: WGSL kernel on '{a}'");
    }
    println!(
        "Ngập / Flood: {minutes} min on {} × {} cells of {} m in {wall:.1} s ({} solver steps); max depth {:.3} m; rain {:.0} m³, outflow {:.0} m³, stored {:.0} m³; closure error {:.2e} %",
        raster.nx,
        raster.ny,
        raster.cell,
        res.steps,
        st.map(|s| s.max).unwrap_or(0.0),
        res.ledger.rain,
        res.ledger.boundary_out_total(),
        res.ledger.storage,
        j["closure_error_percent"].as_f64().unwrap_or(0.0)
    );
    println!(
        "wrote {}/max_depth.tif, time_of_max_min.tif, duration_above_min.tif, max_hazard.tif, ledger.json",
        out.display()
    );
    write_gauges(&res.gauges, out)?;
    if let Some(c) = &city {
        road_impacts(c, &res.max_depth, out)?;
    }
    Ok(FloodOutcome {
        gauges: res.gauges,
        ledger: j,
        roads: timeline(res.probes),
    })
}

/// The scenario report: flood, hotspots, roads, people and services, traffic, water balance.
fn scenario_report(
    city: &City,
    rain: &[(f64, f64)],
    minutes: f64,
    depth: &twin_model::Raster,
    roads: &[twin_engine::impacts::RoadImpact],
    flood: &FloodOutcome,
    traffic: &twin_engine::scenario::FloodTraffic,
) -> String {
    use twin_report::html::{GaugeRow, ScenarioReport, ServiceRow, TrafficRow};
    let exposure = twin_engine::impacts::exposure(city, depth, roads);
    let (ledger, closure_percent) = ledger_terms(&flood.ledger);
    let total_mm: f64 = rain
        .iter()
        .enumerate()
        .map(|(k, (m, v))| {
            let end = rain.get(k + 1).map(|x| x.0).unwrap_or(minutes).min(minutes);
            v * (end - m).max(0.0) / 60.0
        })
        .sum();
    let report = ScenarioReport {
        city: city.name.clone(),
        title: format!(
            "Kịch bản mưa {total_mm:.0} mm: ngập và giao thông / {total_mm:.0} mm storm: flooding and traffic"
        ),
        rain: rain.to_vec(),
        minutes,
        flood_map: "max_depth.png".into(),
        max_depth_m: depth.stats().map(|s| s.max).unwrap_or(0.0),
        area_m2: exposure.area_m2,
        residents: exposure.residents,
        gauges: flood
            .gauges
            .iter()
            .map(|g| GaugeRow {
                name: g.gauge.name.clone(),
                minutes: g.times_s.iter().map(|t| t / 60.0).collect(),
                depths_m: g.depths_m.clone(),
            })
            .collect(),
        closed_roads: closed_streets(
            roads.iter().filter(|r| r.flooded_kmh <= 0.0),
            flood.roads.as_ref(),
        ),
        slowed_roads: by_street(
            roads
                .iter()
                .filter(|r| r.flooded_kmh > 0.0 && r.flooded_kmh < r.free_kmh),
        )
        .len(),
        services: exposure
            .services
            .iter()
            .map(|s| ServiceRow {
                name: s.name.clone(),
                kind: s.kind.clone(),
                depth_m: s.max_depth_m,
                access_closed: s.access_closed,
                access_road: s.access_road.clone(),
            })
            .collect(),
        traffic: Some(TrafficRow {
            trips: traffic.baseline.trips,
            arrived: [traffic.baseline.arrived, traffic.flooded.arrived],
            mean_s: [
                traffic.baseline.mean_duration_s,
                traffic.flooded.mean_duration_s,
            ],
            stranded: traffic.flooded.aborted,
            rerouted: traffic.flooded.rerouted,
            delay_vehicle_hours: traffic.flooded.vehicle_hours - traffic.baseline.vehicle_hours,
            links: [traffic.closed_links, traffic.slowed_links],
            teleports: [traffic.baseline.teleports, traffic.flooded.teleports],
            clock_start_min: PEAK_START_MIN,
            // The rain's clock time when the roads followed it, none for worst states.
            rain_start_min: traffic.rain_start_s.map(|s| PEAK_START_MIN + s / 60.0),
            intervals: traffic
                .intervals
                .iter()
                .map(|i| {
                    (
                        i.begin_s / 60.0,
                        i.baseline_kmh,
                        i.flooded_kmh,
                        i.closed_links,
                    )
                })
                .collect(),
            road_map: "roads.png".into(),
        }),
        ledger,
        closure_percent,
    };
    twin_report::html::scenario_html(&report)
}

/// Closed road segments grouped by street name, worst first: each street's deepest water and,
/// from the flood's road timeline, when a stretch first closed and the longest closure.
fn closed_streets<'a>(
    closed: impl Iterator<Item = &'a twin_engine::impacts::RoadImpact>,
    timeline: Option<&twin_engine::impacts::RoadTimeline>,
) -> Vec<twin_report::html::ClosedStreet> {
    let timing: std::collections::HashMap<i64, (f64, f64, bool)> = timeline
        .map(|t| {
            t.roads
                .iter()
                .zip(t.closures())
                .filter_map(|(r, c)| c.map(|c| (r.feature, c)))
                .collect()
        })
        .unwrap_or_default();
    let mut when: std::collections::HashMap<String, (Option<f64>, f64, bool)> = Default::default();
    let closed: Vec<_> = closed.collect();
    for r in &closed {
        let name = r
            .name
            .clone()
            .unwrap_or_else(|| format!("road {}", r.feature));
        let e = when.entry(name).or_insert((None, 0.0, false));
        if let Some((from, long, at_end)) = timing.get(&r.feature) {
            e.0 = Some(e.0.map_or(*from, |f: f64| f.min(*from)));
            e.1 = e.1.max(*long);
            e.2 |= *at_end;
        }
    }
    by_street(closed.into_iter())
        .into_iter()
        .map(|(name, depth_m)| {
            let (from, long, at_end) = when.get(&name).copied().unwrap_or((None, 0.0, false));
            twin_report::html::ClosedStreet {
                name,
                depth_m,
                closed_from_min: from.map(|s| s / 60.0),
                closed_min: long / 60.0,
                closed_at_end: at_end,
            }
        })
        .collect()
}

/// Road segments grouped by street name: each street's worst depth, worst first (ties by name).
fn by_street<'a>(
    roads: impl Iterator<Item = &'a twin_engine::impacts::RoadImpact>,
) -> Vec<(String, f64)> {
    let mut worst: std::collections::BTreeMap<String, f64> = Default::default();
    for r in roads {
        let name = r
            .name
            .clone()
            .unwrap_or_else(|| format!("road {}", r.feature));
        let d = worst.entry(name).or_insert(0.0);
        *d = d.max(r.max_depth_m);
    }
    let mut v: Vec<(String, f64)> = worst.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// What a flood run leaves for a report beyond its files.
struct FloodOutcome {
    gauges: Vec<twin_engine::flood::GaugeRecord>,
    ledger: serde_json::Value,
    /// Each road's deepest water per interval, when asked for.
    roads: Option<twin_engine::impacts::RoadTimeline>,
}

/// Interval of the flood → traffic road timeline, s.
const ROAD_TIMELINE_S: f64 = 300.0;

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

/// Clock time of the start of the morning peak period, minutes after midnight (06:00).
const PEAK_START_MIN: f64 = 360.0;

/// The water balance of a flood run's ledger as labelled terms (m³) and its closure (%).
fn ledger_terms(j: &serde_json::Value) -> (Vec<(String, f64)>, f64) {
    let num = |k: &str| j[k].as_f64();
    let edges = |k: &str| -> Option<f64> {
        j[k].as_object()
            .map(|o| o.values().filter_map(|v| v.as_f64()).sum())
    };
    let mut out = Vec::new();
    let mut push = |label: &str, v: Option<f64>| {
        if let Some(v) = v {
            out.push((label.to_string(), v));
        }
    };
    push("Mưa / Rain", num("rain_m3"));
    push("Thấm / Infiltration", num("infiltration_m3"));
    push(
        "Vào qua biên / In over the edges",
        num("surface_boundary_in_m3").or_else(|| edges("boundary_in_m3")),
    );
    push(
        "Ra qua biên (sông, mép lưới) / Out over the edges (river, grid edge)",
        num("surface_boundary_out_m3").or_else(|| edges("boundary_out_m3")),
    );
    push(
        "Vào cống qua hố thu / Into the sewers by inlets",
        num("inlet_capture_m3"),
    );
    push(
        "Tràn từ hố ga / Overflow from manholes",
        num("manhole_overflow_m3"),
    );
    push("Bơm ra sông / Pumped to the river", num("outfall_m3"));
    let change = |a: &str, b: &str| Some(num(a)? - num(b)?);
    push(
        "Thay đổi trữ mặt đất / Change in surface storage",
        change("surface_final_storage_m3", "surface_initial_storage_m3")
            .or_else(|| num("storage_change_m3")),
    );
    push(
        "Thay đổi trữ trong cống, hồ / Change in sewer and lake storage",
        change("network_final_storage_m3", "network_initial_storage_m3"),
    );
    (out, num("closure_error_percent").unwrap_or(f64::NAN))
}

/// Writes the result rasters as GeoTIFF: max_depth, time_of_max_min, duration_above_min,
/// max_hazard.
fn write_rasters(r: &twin_engine::flood::FloodRasters, crs: Crs, out: &Path) -> Result<()> {
    for (name, r) in [
        ("max_depth.tif", &r.max_depth),
        ("time_of_max_min.tif", &r.time_of_max_min),
        ("duration_above_min.tif", &r.duration_above_min),
        ("max_hazard.tif", &r.max_hazard),
    ] {
        twin_io::raster::write_geotiff(r, crs, &out.join(name))?;
    }
    Ok(())
}

/// Writes DIR/gauges.csv (when there are gauges) and prints each gauge's peak.
fn write_gauges(records: &[twin_engine::flood::GaugeRecord], out: &Path) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let p = out.join("gauges.csv");
    let text = twin_engine::flood::gauges_csv(records);
    twin_io::atomic::write_atomically(&p, |tmp| {
        std::fs::write(tmp, &text).map_err(|e| twin_io::IoError::file(&p, e.to_string()))
    })?;
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
    println!("wrote {}", p.display());
    Ok(())
}

/// Writes DIR/max_depth.png: the flood map (depth classes over a hillshade, legend strip).
fn flood_picture(dem: &twin_model::Raster, depth: &twin_model::Raster, out: &Path) -> Result<()> {
    let img = twin_report::flood_map(dem, depth);
    twin_io::raster::write_png(&img.data, img.width, img.height, &out.join("max_depth.png"))?;
    Ok(())
}

/// Writes DIR/roads.png: the roads over the faded flood map, closed red, slowed orange.
fn road_picture(
    city: &City,
    dem: &twin_model::Raster,
    depth: &twin_model::Raster,
    impacts: &[twin_engine::impacts::RoadImpact],
    out: &Path,
) -> Result<()> {
    use twin_report::RoadClass;
    let class: std::collections::HashMap<i64, RoadClass> = impacts
        .iter()
        .map(|i| {
            let c = if i.flooded_kmh <= 0.0 {
                RoadClass::Closed
            } else if i.flooded_kmh < i.free_kmh {
                RoadClass::Slowed
            } else {
                RoadClass::Open
            };
            (i.feature, c)
        })
        .collect();
    let roads: Vec<(Vec<[f64; 2]>, RoadClass)> = twin_engine::impacts::road_polylines(city)
        .into_iter()
        .map(|(id, line)| (line, class.get(&id).copied().unwrap_or(RoadClass::Open)))
        .collect();
    let img = twin_report::road_map(dem, depth, &roads);
    twin_io::raster::write_png(&img.data, img.width, img.height, &out.join("roads.png"))?;
    Ok(())
}

/// Writes DIR/roads.csv: each wet road's worst depth and its speed under the depth–speed curve
/// of Pregnolato et al. (2017), and prints the closed roads.
fn road_impacts(city: &City, max_depth: &twin_model::Raster, out: &Path) -> Result<()> {
    let r = twin_engine::impacts::road_impacts(city, max_depth);
    let p = out.join("roads.csv");
    let mut text =
        String::from("feature,name,max_depth_m,free_kmh,flooded_kmh,closed,flooded_length_m\n");
    for i in &r {
        let name = i.name.clone().unwrap_or_default().replace(['"', ','], " ");
        text += &format!(
            "{},{},{:.3},{:.1},{:.1},{},{:.1}\n",
            i.feature,
            name,
            i.max_depth_m,
            i.free_kmh,
            i.flooded_kmh,
            i.flooded_kmh == 0.0,
            i.flooded_length_m
        );
    }
    twin_io::atomic::write_atomically(&p, |tmp| {
        std::fs::write(tmp, &text).map_err(|e| twin_io::IoError::file(&p, e.to_string()))
    })?;
    let closed = r.iter().filter(|i| i.flooded_kmh == 0.0).count();
    let slowed = r.len() - closed;
    println!(
        "Đường ngập / Flooded roads: {closed} closed (≥ 30 cm), {slowed} slowed; worst: {}; wrote {}",
        r.first()
            .map(|i| format!(
                "{} {:.2} m",
                i.name
                    .clone()
                    .unwrap_or_else(|| format!("road {}", i.feature)),
                i.max_depth_m
            ))
            .unwrap_or_else(|| "none".into()),
        p.display()
    );
    Ok(())
}

fn fmt_bbox(b: Option<[[f64; 2]; 2]>) -> String {
    match b {
        Some([a, z]) => format!("{:.0},{:.0} – {:.0},{:.0}", a[0], a[1], z[0], z[1]),
        None => "–".into(),
    }
}

/// Human-readable summary (Vietnamese and English).
pub fn info_text(c: &City) -> String {
    let mut s = String::new();
    if c.is_synthetic() {
        s += "*** DỮ LIỆU TỔNG HỢP — SYNTHETIC DATA (not survey data) ***\n";
    }
    s += &format!("Thành phố / City: {}\n", c.name);
    s += &format!(
        "Hệ tọa độ / CRS: {}{}\n",
        c.crs.code(),
        if c.crs == Crs::VN2000_UTM48N {
            " (VN-2000 / UTM zone 48N)"
        } else {
            ""
        }
    );
    s += &format!("Phạm vi / Extent: {}\n", fmt_bbox(c.bbox()));
    s += &format!(
        "{:<24} {:<38} {:>8}  {:<7} {}\n",
        "layer / lớp", "name (vi)", "features", "owner", "extent"
    );
    for l in c.layers() {
        let layer = l.layer();
        s += &format!(
            "{:<24} {:<38} {:>8}  {:<7} {}\n",
            format!("{} ({})", layer.table_name(), layer.name_en())
                .chars()
                .take(24)
                .collect::<String>(),
            layer.name_vi(),
            l.len(),
            layer.default_owner().code(),
            fmt_bbox(l.bbox())
        );
    }
    if let Some(d) = &c.dem {
        let st = d.stats();
        s += &format!(
            "DEM: {} × {} cells of {} m, elevation {} m\n",
            d.nx,
            d.ny,
            d.cell,
            st.map(|x| format!("{:.2} – {:.2}", x.min, x.max))
                .unwrap_or_else(|| "(no data)".into())
        );
    }
    let g = RoadGraph::from_layer(c.layer(Layer::TrafficRoad));
    if !g.links.is_empty() {
        let (frac, _) = g.largest_scc();
        let km: f64 = g.links.iter().map(|l| l.length_m).sum::<f64>() / 1000.0;
        s += &format!(
            "Road graph / Mạng đường: {} nodes, {} directed links ({km:.1} km), {} signalised junctions, largest strongly connected component {:.1} % of links\n",
            g.nodes.len(),
            g.links.len(),
            g.signal_count(),
            frac * 100.0
        );
    }
    match DrainageNetwork::from_layer(c.layer(Layer::Utility)) {
        Ok(n) if !n.nodes.is_empty() => {
            s += &format!(
                "Drainage / Thoát nước: {} nodes, {} conduits, {} pumps ({:.1} m³/s), {} gates/weirs, {} outfalls, {} subcatchments ({:.2} km²)\n",
                n.nodes.len(),
                n.conduits.len(),
                n.pumps.len(),
                n.pump_capacity_m3s(),
                n.regulators.len(),
                n.outfall_count(),
                n.subcatchments.len(),
                n.subcatchments.iter().map(|s| s.area_m2).sum::<f64>() / 1e6
            );
        }
        Ok(_) => {}
        Err(e) => s += &format!("Drainage / Thoát nước: invalid network: {e}\n"),
    }
    let residents: f64 = c
        .layer(Layer::Building)
        .features()
        .iter()
        .filter_map(|f| f.num("residents"))
        .sum();
    if residents > 0.0 {
        s += &format!("Residents / Dân số: {residents:.0}\n");
    }
    s
}

/// Machine-readable summary.
pub fn info_json(c: &City) -> serde_json::Value {
    let layers: Vec<serde_json::Value> = c
        .layers()
        .map(|l| {
            serde_json::json!({
                "table": l.layer().table_name(),
                "name_en": l.layer().name_en(),
                "name_vi": l.layer().name_vi(),
                "owner": l.layer().default_owner().code(),
                "owner_en": l.layer().default_owner().name_en(),
                "features": l.len(),
                "bbox": l.bbox(),
            })
        })
        .collect();
    serde_json::json!({
        "name": c.name,
        "crs": c.crs.code(),
        "synthetic": c.is_synthetic(),
        "bbox": c.bbox(),
        "layers": layers,
        "dem": c.dem.as_ref().map(|d| serde_json::json!({"nx": d.nx, "ny": d.ny, "cell_m": d.cell})),
        "metadata": c.metadata,
    })
}
