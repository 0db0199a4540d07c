//! # twin-cli
//!
//! Argument handling for the `twin` command and nothing else: every command calls into the
//! library crates (`twin-io`, `twin-citygen`, `twin-model`).

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use twin_model::{City, Crs, Layer};

mod app_cmd;
mod city_cmd;
mod compare_cmd;
mod data_cmd;
mod ensemble_cmd;
mod feed;
mod flood_cmd;
mod info;
mod live_cmd;
mod playback;
mod sensors_cmd;
mod serve_cmd;
mod traffic_cmd;

pub use info::{info_json, info_text};

mod hydro_cmd;

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
    #[command(allow_negative_numbers = true)]
    DemoCity {
        /// Output GeoPackage.
        #[arg(long)]
        out: PathBuf,
        /// Seed: the same seed gives the same city.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// DEM cell size, m (2–100): the flood runs on this grid.
        #[arg(long, default_value_t = 10.0)]
        cell_m: f64,
    },
    /// Build a runnable city from real data: OSM, a DEM, wards, gauges; the gaps designed
    /// by documented rules and marked. Xây dựng thành phố từ dữ liệu thật.
    #[command(subcommand)]
    City(city_cmd::CityCmd),
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
    /// Live sensors: check, ingest, replay. Cảm biến: kiểm tra, thu nhận, phát lại.
    #[command(subcommand)]
    Sensors(sensors_cmd::SensorsCmd),
    /// The live twin: sensor readings through QC into a store, the flood state kept current
    /// from them, rolling forecasts and alerts with their lead time; resumes from its
    /// checkpoint after a restart. Bản sao số trực tuyến: cập nhật, dự báo và cảnh báo.
    Live(Box<live_cmd::LiveArgs>),
    /// Serve the city's layers and the live twin over HTTP (JSON, GeoJSON), with API tokens,
    /// roles and an audit log. Phục vụ dữ liệu thành phố qua HTTP.
    Serve(serve_cmd::ServeArgs),
    /// The city in 3D with the layers, playback of a run, inspector and search (runs
    /// `twin-app app`; `twin app --help` for its options).
    /// Thành phố 3D: các lớp, phát lại kịch bản, thông tin đối tượng, tìm kiếm.
    #[command(disable_help_flag = true)]
    App {
        /// Passed to `twin-app app`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Full screen for a video wall: KPI tiles, alert ticker, hotspots, camera tour (runs
    /// `twin-app wall`). Tường màn hình: chỉ số, cảnh báo, điểm ngập.
    #[command(disable_help_flag = true)]
    Wall {
        /// Passed to `twin-app wall`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
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
    /// Import CityJSON buildings (1.0, 1.1, 2.0; any LOD) into the Building layer: footprint,
    /// base, height, storeys, use, attributes and the 3D surfaces. Adds to the city in --out
    /// if it exists, else creates it (in --crs, or the file's own CRS).
    Cityjson(BuildingFiles),
    /// Import CityGML buildings (2.0, 3.0; LOD1–2) into the Building layer: footprint, base,
    /// height, storeys, use, name, generic attributes and the 3D surfaces. Adds to the city in
    /// --out if it exists, else creates it (in --crs, or the file's own CRS).
    Citygml(BuildingFiles),
    /// Import IFC buildings (IFC2x3, IFC4) into the Building layer: footprint, base, height,
    /// storeys, use, name and the 3D surfaces of the building shell, placed by the file's
    /// IfcMapConversion or its site's latitude and longitude, or by --at. Adds to the city in
    /// --out if it exists, else creates it. Nhập công trình từ mô hình BIM (IFC) vào lớp công trình.
    #[command(allow_negative_numbers = true)]
    Ifc {
        #[command(flatten)]
        files: BuildingFiles,
        /// Longitude,latitude (WGS 84) of the model's origin, for a file that is not
        /// georeferenced or to override its own. Kinh độ,vĩ độ của gốc mô hình.
        #[arg(long, value_name = "LON,LAT")]
        at: Option<String>,
        /// Angle from true north to the model's +y axis, clockwise, in degrees (overrides the
        /// file's). Góc từ hướng bắc thật đến trục +y của mô hình, theo chiều kim đồng hồ.
        #[arg(long)]
        rotation_deg: Option<f64>,
    },
    /// Import a DEM raster (GeoTIFF …), reprojected onto the city's CRS.
    #[command(allow_negative_numbers = true)]
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

/// Building model files to import.
#[derive(Args, Debug)]
struct BuildingFiles {
    /// The files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// City GeoPackage to add to or create.
    #[arg(long)]
    out: PathBuf,
    /// CRS of files that state none or one not known here (e.g. EPSG:28992).
    #[arg(long)]
    src_crs: Option<String>,
    #[command(flatten)]
    crs: CrsArg,
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
    #[command(allow_negative_numbers = true)]
    Run {
        /// A scenario file (TOML; see scenarios/what-if-demo.toml): city, storm, traffic and
        /// interventions. Without it, the flags below say what to run.
        #[arg(conflicts_with_all = ["city", "rain", "minutes", "trips", "couple", "rain_start", "worst_case", "informed", "seed"])]
        file: Option<PathBuf>,
        /// City GeoPackage.
        #[arg(long, required_unless_present = "file")]
        city: Option<PathBuf>,
        /// Rain CSV (`minute,mm_per_hour`).
        #[arg(long, required_unless_present = "file")]
        rain: Option<PathBuf>,
        /// Simulated flood minutes.
        #[arg(long, required_unless_present = "file")]
        minutes: Option<f64>,
        /// Person trips of the 06:00–09:00 morning peak period drawn from the city's layers
        /// (with trips to, from and through the rest of the city; 18.5 % ride the bus).
        #[arg(long, default_value_t = 100_000)]
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
        /// Write DIR/playback/ for the app: the depth grid every this many minutes, roads per
        /// traffic interval, vehicle positions every minute, pump flows (0: none).
        #[arg(long, default_value_t = 5.0)]
        playback_every: f64,
        /// Keep FILE up to date with the run's progress as JSON (`stage`: flood, traffic,
        /// writing; `fraction` of that stage; `updated_ms`), replaced atomically; `twin serve`
        /// reads it for its scenario jobs. Ghi tiến độ vào FILE (JSON).
        #[arg(long)]
        progress_file: Option<PathBuf>,
    },
    /// Runs a scenario file as an ensemble: member 0 as written, the others with the rain
    /// scaled and its start shifted (a Latin hypercube) and their own traffic seeds; writes
    /// DIR/ensemble.json (plan, each member's figures, roads and gauges, the summary),
    /// DIR/roads_probability.csv, DIR/p_depth_ge_0.3.tif and .png (the share of members with
    /// water ≥ 30 cm per cell) and the bilingual DIR/report.html.
    /// Chạy tổ hợp kịch bản: xác suất ngập ≥ 30 cm và đóng đường, trung vị và khoảng 10–90 %.
    #[command(allow_negative_numbers = true)]
    Ensemble {
        /// The scenario file (TOML; see scenarios/what-if-demo.toml).
        file: PathBuf,
        /// Members, 1..=256 (member 0 the scenario as written).
        #[arg(long, default_value_t = 8)]
        members: usize,
        /// Members run at once on this machine (default: as many as the cores and the free
        /// memory allow; with --mpi, 1 per rank).
        #[arg(long)]
        jobs: Option<usize>,
        /// Seed of the plan (default: the scenario's traffic seed, member 0's).
        #[arg(long)]
        seed: Option<u64>,
        /// Range of the factor on the rain's intensities.
        #[arg(long, num_args = 2, value_names = ["LOW", "HIGH"])]
        rain_scale: Option<Vec<f64>>,
        /// Members' rain starts lie within ± this many minutes of the scenario's.
        #[arg(long, default_value_t = 30.0)]
        shift: f64,
        /// Run as one MPI job (under mpirun; twin built with `--features mpi`): rank r runs
        /// members r, r + ranks, …, rank 0 writes DIR.
        #[arg(long)]
        mpi: bool,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Compares two scenario runs' folders (B against A): every figure of their summaries
    /// with the change, the maximum-depth difference as DIR/depth_diff.tif and .png, the roads
    /// closed in only one; DIR/compare.json and the bilingual DIR/compare.html.
    Compare {
        /// Run A's output folder (the reference).
        a: PathBuf,
        /// Run B's output folder.
        b: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum HydroCmd {
    /// Runs a SWMM .inp model (dynamic or kinematic wave, steady flow): writes DIR/nodes.csv
    /// (`time,node,depth,head,flooding`), DIR/links.csv (`time,link,flow,velocity`),
    /// DIR/subcatch.csv, SI units, seconds from start, and DIR/summary.json (continuity
    /// errors in %, run time, warnings); warnings also go to stderr.
    #[command(allow_negative_numbers = true)]
    Run {
        /// The SWMM input file.
        model: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Parses a SWMM .inp model and writes it back with twin-hydro's writer (checks the
    /// writer against SWMM).
    Rewrite {
        /// The SWMM input file.
        model: PathBuf,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum TrafficCmd {
    /// Mesoscopic simulation of a SUMO network and demand: writes DIR/trips.csv
    /// (`id,depart,arrival,duration,route_length`), DIR/links.csv and DIR/summary.json.
    #[command(allow_negative_numbers = true)]
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
    #[command(allow_negative_numbers = true)]
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
        #[arg(long, value_enum, default_value_t = EdgesArg::Open)]
        edges: EdgesArg,
        /// Depth (m) counted as flooded for the duration map.
        #[arg(long, default_value_t = 0.1)]
        threshold: f64,
        /// With a city .gpkg: buildings as `rough` (Manning n 0.1 on their cells) or `blocked`
        /// (their cells are walls; for grids finer than the gaps between buildings).
        #[arg(long, value_enum, default_value_t = BuildingsArg::Rough)]
        buildings: BuildingsArg,
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
        #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
        backend: BackendArg,
    },
}

/// Which surface solver runs a flood.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackendArg {
    /// The GPU when there is a hardware one, else the CPU.
    Auto,
    /// The CPU solver (f64; the reference).
    Cpu,
    /// The WGSL kernel on the default GPU adapter (f32).
    Gpu,
}

/// The condition on the grid's edges.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EdgesArg {
    /// Free outflow.
    Open,
    /// No flow.
    Closed,
}

/// How buildings enter the surface.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BuildingsArg {
    /// Manning's n 0.1 on their cells.
    Rough,
    /// Their cells are walls.
    Blocked,
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
    #[command(allow_negative_numbers = true)]
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
    /// The Building layer as CityJSON 2.0 in the city's CRS: stored 3D surfaces at their LOD,
    /// else LOD1 solids from footprint and height; name, height, storeys, use and attributes.
    /// Xuất lớp công trình ra CityJSON 2.0.
    Cityjson {
        /// City GeoPackage.
        city: PathBuf,
        /// Output file (.city.json).
        #[arg(long)]
        out: PathBuf,
    },
    /// The DEM as a GeoTIFF in the city's CRS.
    #[command(allow_negative_numbers = true)]
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

/// Memory this machine has free for a run (bytes), from /proc/meminfo; `None` where unknown.
fn available_memory() -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    })
}

/// A bar of the share of simulated time done, with elapsed time and ETA.
fn progress_bar(what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(1000);
    pb.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{percent:>3}}% simulated, {{elapsed}} elapsed, ETA {{eta}} — {what}"
        ))
        .expect("template"),
    );
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
/// A message cut for the terminal: any run of more than 80 characters without a space is
/// shortened (a garbage token in an input file is not echoed whole), and the whole to 2,000
/// characters.
pub fn clip(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len().min(2100));
    for (k, word) in msg.split(' ').enumerate() {
        if k > 0 {
            out.push(' ');
        }
        let n = word.chars().count();
        if n > 80 {
            out.extend(word.chars().take(60));
            out.push_str(&format!("…({} more characters)", n - 60));
        } else {
            out.push_str(word);
        }
        if out.len() > 2000 {
            out.push_str(" …");
            break;
        }
    }
    out
}

pub fn run<I, T>(args: I) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    twin_io::capture_gdal_messages();
    match cli.command {
        Command::DemoCity { out, seed, cell_m } => {
            if !(2.0..=100.0).contains(&cell_m) {
                bail!("--cell-m must lie in 2..100 m, got {cell_m}");
            }
            let city = step("generating the demo district / tạo quận mẫu", || {
                Ok(twin_citygen::generate(&twin_citygen::DemoOptions {
                    seed,
                    dem_cell_m: cell_m,
                }))
            })?;
            save(&city, &out)?;
            println!("{}", info_text(&city));
        }
        Command::City(cmd) => city_cmd::run(cmd)?,
        Command::Import(cmd) => data_cmd::import(cmd)?,
        Command::Export(cmd) => data_cmd::export(cmd)?,
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
        }) => flood_cmd::flood_run(
            &flood_cmd::FloodArgs {
                dem: &dem,
                rain: &rain,
                minutes,
                manning,
                edges,
                threshold,
                buildings,
                inp: inp.as_deref(),
                couple,
                gauges: gauges.as_deref(),
                replay_inp: replay_inp.as_deref(),
                backend,
            },
            &out,
        )?,
        Command::Hydro(HydroCmd::Run { model, out }) => hydro_cmd::run(&model, &out)?,
        Command::Hydro(HydroCmd::Rewrite { model, out }) => hydro_cmd::rewrite(&model, &out)?,
        Command::Scenario(ScenarioCmd::Compare { a, b, out }) => compare_cmd::run(&a, &b, &out)?,
        Command::Scenario(ScenarioCmd::Ensemble {
            file,
            members,
            jobs,
            seed,
            rain_scale,
            shift,
            mpi,
            out,
        }) => ensemble_cmd::run(
            &ensemble_cmd::EnsembleArgs {
                file: &file,
                members,
                jobs,
                seed,
                rain_scale: rain_scale.map(|v| (v[0], v[1])),
                shift_min: shift,
                mpi,
            },
            &out,
        )?,
        Command::Scenario(ScenarioCmd::Run {
            file: Some(file),
            out,
            playback_every,
            progress_file,
            ..
        }) => {
            flood_cmd::set_progress_file(progress_file);
            flood_cmd::scenario_file_run(&file, &out, playback_every)?
        }
        Command::Scenario(ScenarioCmd::Run {
            file: None,
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
            playback_every,
            progress_file,
        }) => {
            flood_cmd::set_progress_file(progress_file);
            flood_cmd::scenario_run(
                &flood_cmd::ScenarioArgs {
                    city: &city.expect("clap requires --city"),
                    rain: &rain.expect("clap requires --rain"),
                    minutes: minutes.expect("clap requires --minutes"),
                    trips,
                    couple,
                    rain_start: &rain_start,
                    worst_case,
                    informed,
                    seed,
                    playback_every_min: playback_every,
                },
                &out,
            )?
        }
        Command::App { args } => app_cmd::run("app", &args)?,
        Command::Wall { args } => app_cmd::run("wall", &args)?,
        Command::Traffic(cmd) => traffic_cmd::from_flags(cmd)?,
        Command::Sensors(cmd) => sensors_cmd::run(cmd)?,
        Command::Live(args) => live_cmd::run(*args)?,
        Command::Serve(args) => serve_cmd::run(args)?,
        Command::Info { city, json } => {
            let c = twin_io::open_city(&city)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&info_json(&c))?);
            } else {
                println!("{}", info_text(&c));
            }
        }
    }
    Ok(())
}
