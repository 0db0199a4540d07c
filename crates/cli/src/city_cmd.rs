//! `twin city build`: a runnable city from an OpenStreetMap extract, a DEM and whatever else
//! the user has, the gaps filled by the documented rules of `twin_citygen::fill`; `twin city
//! push`: a city into PostgreSQL/PostGIS (`twin_io::pg`).

use crate::{spinner, step};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use twin_citygen::fill::{self, Note, people::Ward, sensors::GaugeSite};
use twin_engine::storm::Ground;
use twin_model::{City, Crs, Layer};

/// `twin city …`.
#[derive(Subcommand, Debug)]
pub enum CityCmd {
    /// Build a complete city from an OSM extract and a DEM (any GDAL raster: GeoTIFF, ESRI
    /// ASCII grid, SRTM .hgt), with a ward table and rain gauges where given. What the data
    /// lacks is designed by documented rules and marked `source = designed` (a sewer network
    /// on the streets, residents from ward totals, jobs, lake levels, sensors); `twin info`
    /// lists which. Xây dựng thành phố từ OSM và DEM; phần thiếu được thiết kế và ghi rõ.
    Build(Box<BuildArgs>),
    /// Push a city into PostgreSQL with PostGIS, for several servers and the data warehouse
    /// to share: every layer, its metadata, state and DEM, in one transaction. Đẩy thành phố
    /// lên PostgreSQL/PostGIS (một giao dịch).
    Push(PushArgs),
}

/// `twin city push` arguments.
#[derive(Args, Debug)]
pub struct PushArgs {
    /// The city GeoPackage.
    pub city: PathBuf,
    /// The database, as GDAL's connection string: `PG:host=… port=… dbname=… user=…`
    /// (a password is better kept in ~/.pgpass or PGPASSWORD than here).
    #[arg(long)]
    pub to: String,
    /// Schema to write into (created if absent); default the string's `active_schema`, else
    /// `public`.
    #[arg(long)]
    pub schema: Option<String>,
    /// Replace a city already in the schema (in the same transaction).
    #[arg(long)]
    pub replace: bool,
}

/// `twin city build` arguments.
#[derive(Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct BuildArgs {
    /// OpenStreetMap extract (.osm.pbf or .osm XML).
    #[arg(long)]
    pub osm: PathBuf,
    /// Terrain raster (any GDAL raster in any CRS; reprojected).
    #[arg(long)]
    pub dem: PathBuf,
    /// Output GeoPackage.
    #[arg(long)]
    pub out: PathBuf,
    /// Simulation cell, m: the DEM is resampled to it (bilinear).
    #[arg(long, default_value_t = 10.0)]
    pub cell_m: f64,
    /// The area to model, `lon_min,lat_min,lon_max,lat_max` (default: the roads' extent).
    #[arg(long)]
    pub bbox: Option<String>,
    /// Ward table (`ward_id,ward,unit_type,area_km2,population,center_lon,center_lat`).
    #[arg(long)]
    pub wards: Option<PathBuf>,
    /// Rain gauge list (`gauge_id,…,lon|approx_lon,lat|approx_lat`): the gauges within 2 km.
    #[arg(long)]
    pub gauges: Option<PathBuf>,
    /// Street flood sensors to place at the design storm's deepest road points.
    #[arg(long, default_value_t = 8)]
    pub street_sensors: usize,
    /// Depth of the design storm (2 h, Chicago shape) that places the street sensors, mm.
    #[arg(long, default_value_t = 100.0)]
    pub storm_mm: f64,
    /// CRS of a DEM that states none (e.g. EPSG:4326); a stated one needs no EPSG code.
    #[arg(long)]
    pub dem_crs: Option<String>,
    /// Model CRS (default: VN-2000 / UTM inside Vietnam, WGS 84 / UTM elsewhere).
    #[arg(long)]
    pub crs: Option<String>,
    /// City name (default: the OSM file's name).
    #[arg(long)]
    pub name: Option<String>,
    /// GTFS feed folder: its bus stops inside the area on the roads and its lines with their
    /// departures in the morning peak (06:00–09:00), run instead of the synthetic bus lines.
    #[arg(long)]
    pub gtfs: Option<PathBuf>,
    /// With --gtfs: the day whose services run (YYYY-MM-DD; calendar.txt's weekday and dates
    /// with calendar_dates.txt's exceptions on that day). Default: a typical weekday.
    #[arg(long, requires = "gtfs")]
    pub gtfs_date: Option<String>,
    /// A surveyed sewer network (EPA SWMM 5 .inp) to use instead of designing one: its
    /// junctions, outfalls, storage, conduits, pumps, orifices, weirs and subcatchments go
    /// into the Utility layer. Mạng cống khảo sát (SWMM .inp).
    #[arg(long, requires = "sewers_crs")]
    pub sewers: Option<PathBuf>,
    /// CRS of the .inp's coordinates (e.g. EPSG:3405).
    #[arg(long, requires = "sewers")]
    pub sewers_crs: Option<String>,
    /// Building models (CityJSON .json, CityGML .gml/.xml, georeferenced IFC .ifc),
    /// repeatable: their buildings, with their solids, heights and storeys, join the Building
    /// layer and replace the map's buildings where they stand, before residents and jobs are
    /// spread. Mô hình công trình 3D (CityJSON, CityGML, IFC).
    #[arg(long, value_name = "FILE")]
    pub buildings: Vec<PathBuf>,
    /// CRS of building models that state none or one not known here (e.g. EPSG:28992).
    #[arg(long, requires = "buildings")]
    pub buildings_crs: Option<String>,
}

pub(crate) fn run(cmd: CityCmd) -> Result<()> {
    match cmd {
        CityCmd::Build(a) => build(&a),
        CityCmd::Push(a) => push(&a),
    }
}

fn push(a: &PushArgs) -> Result<()> {
    let city = crate::load(&a.city)?;
    let opts = twin_io::pg::PushOptions {
        schema: a.schema.clone(),
        replace: a.replace,
    };
    let shown = twin_io::pg::redact(&a.to);
    let conn = step(
        &format!("pushing {} features to {shown}", city.feature_count()),
        || Ok(twin_io::pg::push_city(&city, &a.to, &opts)?),
    )?;
    println!(
        "{} features in {} layers{} → {}",
        city.feature_count(),
        Layer::ALL.len(),
        if city.dem.is_some() {
            " and the DEM"
        } else {
            ""
        },
        twin_io::pg::redact(&conn)
    );
    println!(
        "serve it / phục vụ: twin serve --city \"{}\" --audit A.sqlite",
        twin_io::pg::redact(&conn)
    );
    Ok(())
}

fn parse_bbox(s: &str) -> Result<[f64; 4]> {
    let v: Vec<f64> = s
        .split(',')
        .map(|t| t.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()
        .filter(|v: &Vec<f64>| v.len() == 4 && v.iter().all(|x| x.is_finite()))
        .with_context(|| {
            format!("--bbox '{s}': expected lon_min,lat_min,lon_max,lat_max in degrees")
        })?;
    if v[0] >= v[2] || v[1] >= v[3] || v[0] < -180.0 || v[2] > 180.0 || v[1] < -90.0 || v[3] > 90.0
    {
        bail!("--bbox '{s}': expected lon_min < lon_max and lat_min < lat_max, in degrees");
    }
    Ok([v[0], v[1], v[2], v[3]])
}

fn print_notes(notes: &[Note]) {
    for n in notes {
        if n.warning {
            eprintln!("⚠ {} ({}): {}", n.what, n.count, n.rule);
        } else {
            println!(
                "  thiết kế / designed: {} ({}) — {}",
                n.what, n.count, n.rule
            );
        }
    }
}

fn build(a: &BuildArgs) -> Result<()> {
    if !(2.0..=100.0).contains(&a.cell_m) {
        bail!("--cell-m {}: expected 2–100 m", a.cell_m);
    }
    if !(a.storm_mm > 0.0 && a.storm_mm <= 1000.0) {
        bail!("--storm-mm {}: expected (0, 1000] mm", a.storm_mm);
    }
    let bbox = a.bbox.as_deref().map(parse_bbox).transpose()?;
    let crs = a
        .crs
        .as_deref()
        .map(|s| Crs::parse(s).with_context(|| format!("--crs '{s}': expected EPSG:<code>")))
        .transpose()?;
    let dem_crs = a
        .dem_crs
        .as_deref()
        .map(|s| Crs::parse(s).with_context(|| format!("--dem-crs '{s}': expected EPSG:<code>")))
        .transpose()?;
    // Everything is read and checked before anything is written.
    let wards = a
        .wards
        .as_deref()
        .map(twin_io::wards::read_wards)
        .transpose()?;
    let gauges = match &a.gauges {
        Some(p) => {
            let t = std::fs::read_to_string(p)
                .with_context(|| format!("{}: cannot read", p.display()))?;
            twin_io::gauge_rain::parse_gauges(&t, p)?
        }
        None => Vec::new(),
    };
    let sewers = match (&a.sewers, &a.sewers_crs) {
        (Some(p), Some(c)) => {
            let crs = Crs::parse(c)
                .with_context(|| format!("--sewers-crs '{c}': expected EPSG:<code>"))?;
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("{}: cannot read", p.display()))?;
            let project = twin_hydro::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: line {}: {}", p.display(), e.line, e.message))?;
            Some((p.clone(), crs, project))
        }
        _ => None,
    };
    let gtfs = a
        .gtfs
        .as_deref()
        .map(|d| -> Result<_> {
            let day = match &a.gtfs_date {
                Some(v) => Some(
                    twin_io::gtfs::parse_date(v)
                        .with_context(|| format!("--gtfs-date: '{v}' is not a date YYYY-MM-DD"))?,
                ),
                None => None,
            };
            let feed = twin_io::gtfs::read_feed(d)?;
            let (lines, warnings) = twin_io::gtfs::lines_on(&feed, day)?;
            Ok((feed, lines, warnings))
        })
        .transpose()?;
    let (mut city, rep) = step(&format!("reading {}", a.osm.display()), || {
        Ok(twin_io::osm::import_osm(
            &a.osm,
            &twin_io::osm::OsmImportOptions {
                crs,
                name: a.name.clone(),
            },
        )?)
    })?;
    for (layer, n) in &rep.counts {
        println!("  OSM {}: {n}", layer.table_name());
    }
    for (why, n) in &rep.skipped {
        eprintln!("⚠ OSM: {n} × {why}");
    }
    let Some(roads) = fill::roads_extent(&city) else {
        bail!(
            "{}: the file has no drivable roads (highway=primary … residential): a city needs its streets",
            a.osm.display()
        );
    };
    let to_city = twin_io::crs::Reprojector::new(Crs::WGS84, city.crs, "the model area")?;
    let to_wgs = twin_io::crs::Reprojector::new(city.crs, Crs::WGS84, "the model area")?;
    let extent = match bbox {
        Some(b) => {
            let (x0, y0) = to_city.point(b[0], b[1])?;
            let (x1, y1) = to_city.point(b[2], b[3])?;
            [[x0.min(x1), y0.min(y1)], [x0.max(x1), y0.max(y1)]]
        }
        None => [
            [roads[0][0] - 100.0, roads[0][1] - 100.0],
            [roads[1][0] + 100.0, roads[1][1] + 100.0],
        ],
    };
    if !a.buildings.is_empty() {
        let assume = a
            .buildings_crs
            .as_deref()
            .map(|s| {
                Crs::parse(s)
                    .with_context(|| format!("--buildings-crs '{s}': expected EPSG:<code>"))
            })
            .transpose()?;
        let reads = step(
            &format!("reading {} building model file(s)", a.buildings.len()),
            || crate::data_cmd::read_building_models(&city, &a.buildings, assume),
        )?;
        let n = crate::data_cmd::add_building_models(&mut city, &a.buildings, reads, Some(extent));
        println!("  building models / mô hình công trình: {n} buildings (surveyed / khảo sát)");
        let list: Vec<String> = a
            .buildings
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        city.metadata
            .insert("building_models".into(), list.join("; "));
    }
    if let Some((feed, lines, warnings)) = &gtfs {
        bus_feed(&mut city, feed, lines, warnings, extent, &to_city)?;
        city.metadata.insert(
            "gtfs_day".into(),
            a.gtfs_date
                .clone()
                .unwrap_or_else(|| "typical weekday / ngày thường".into()),
        );
    }
    // The DEM, resampled onto the city at the simulation cell inside the model area only.
    let onto = step(
        &format!(
            "reprojecting {} onto {} at {} m",
            a.dem.display(),
            city.crs.code(),
            a.cell_m
        ),
        || {
            Ok(twin_io::raster::read_raster_onto(
                &a.dem,
                dem_crs,
                city.crs,
                Some(a.cell_m),
                Some(extent),
            )?)
        },
    )?;
    let Some(mut dem) = onto.raster else {
        let [[x0, y0], [x1, y1]] = onto.extent;
        let (l0, b0) = to_wgs.point(x0, y0)?;
        let (l1, b1) = to_wgs.point(x1, y1)?;
        let (m0, n0) = to_wgs.point(extent[0][0], extent[0][1])?;
        let (m1, n1) = to_wgs.point(extent[1][0], extent[1][1])?;
        bail!(
            "{}: the DEM ({l0:.4}, {b0:.4} – {l1:.4}, {b1:.4}) does not cover the streets ({m0:.4}, {n0:.4} – {m1:.4}, {n1:.4})",
            a.dem.display()
        );
    };
    let filled = fill::fill_gaps(&mut dem);
    let missing = dem.data.iter().filter(|v| dem.is_nodata(**v)).count();
    if missing == dem.data.len() {
        bail!(
            "{}: the DEM has no valid cell in the model area",
            a.dem.display()
        );
    }
    let (on, total) = fill::road_coverage(&city, &dem);
    if total > 0 && (on as f64) < 0.5 * total as f64 {
        bail!(
            "{}: the DEM covers {on} of the {total} road junctions; it must cover at least half of the streets (give --bbox to model the part it covers)",
            a.dem.display()
        );
    }
    println!(
        "  DEM: {} × {} cells of {} m (bilinear from {}), {} of {} road junctions on it",
        dem.nx,
        dem.ny,
        dem.cell,
        a.dem.display(),
        on,
        total
    );
    if on < total {
        eprintln!(
            "⚠ {} road junctions lie off the DEM: their streets never flood in the model",
            total - on
        );
    }
    if filled > 0 {
        eprintln!(
            "⚠ DEM: {filled} missing cells filled from their neighbours (mean of the valid 8-neighbours, ring by ring)"
        );
    }
    city.dem = Some(dem);
    city.metadata
        .insert("dem_source".into(), a.dem.display().to_string());
    city.metadata
        .insert("dem_cell_m".into(), a.cell_m.to_string());
    city.metadata
        .insert("osm_source".into(), a.osm.display().to_string());
    let mut notes = fill::water::levels_and_beds(&mut city);
    let wards: Vec<Ward> = match &wards {
        Some(rows) => rows
            .iter()
            .map(|w| {
                let (x, y) = to_city.point(w.lon, w.lat)?;
                Ok(Ward {
                    id: w.id.clone(),
                    name: w.name.clone(),
                    population: w.population,
                    area_km2: w.area_km2,
                    centre: [x, y],
                })
            })
            .collect::<Result<_>>()?,
        None => Vec::new(),
    };
    // Wards whose centre lies more than 10 km from the model area are not this city's.
    let near = |w: &Ward| {
        let dx = (extent[0][0] - w.centre[0])
            .max(w.centre[0] - extent[1][0])
            .max(0.0);
        let dy = (extent[0][1] - w.centre[1])
            .max(w.centre[1] - extent[1][1])
            .max(0.0);
        dx.hypot(dy) <= 10_000.0
    };
    let far = wards.iter().filter(|w| !near(w)).count();
    let wards: Vec<Ward> = wards.into_iter().filter(near).collect();
    if let Some(p) = &a.wards {
        if wards.is_empty() {
            bail!(
                "{}: no ward of the table has its centre within 10 km of the model area; is it this city's table (centre_lon, centre_lat in degrees)?",
                p.display()
            );
        }
        if far > 0 {
            println!(
                "  wards: {} within 10 km of the model area used, {far} farther left out",
                wards.len()
            );
        }
    }
    notes.extend(fill::people::residents(&mut city, &wards, extent));
    notes.extend(fill::people::jobs(&mut city));
    if let Some((path, crs, project)) = &sewers {
        use geo::Centroid;
        let to = twin_io::crs::Reprojector::new(*crs, city.crs, "--sewers")?;
        let first = city.layer(Layer::Utility).next_id().0;
        let got =
            twin_io::swmm_import::inp_to_utility(project, path, first, &|x, y| to.point(x, y))?;
        let [[x0, y0], [x1, y1]] = extent;
        let outside = got
            .features
            .iter()
            .filter(|f| {
                f.geometry
                    .centroid()
                    .is_some_and(|p| p.x() < x0 || p.x() > x1 || p.y() < y0 || p.y() > y1)
            })
            .count();
        let n = got.features.len();
        for f in got.features {
            city.layer_mut(Layer::Utility).insert(f);
        }
        println!(
            "  sewers / mạng cống: {n} features from {} (surveyed / khảo sát)",
            path.display()
        );
        for (what, count) in &got.warnings {
            eprintln!(
                "⚠ {}: {count} × {what} (không mô phỏng / not modelled)",
                path.display()
            );
        }
        if outside > 0 {
            eprintln!(
                "⚠ {}: {outside} features lie outside the model area (is --sewers-crs right?)",
                path.display()
            );
        }
        city.metadata
            .insert("sewers_source".into(), path.display().to_string());
    }
    notes.extend(step("designing the sewer network", || {
        Ok(fill::sewers::design(&mut city))
    })?);
    let sites: Vec<GaugeSite> = gauges
        .iter()
        .map(|g| {
            let (x, y) = to_city.point(g.lon, g.lat)?;
            Ok(GaugeSite {
                id: g.id.clone(),
                name: format!("Trạm đo mưa {} / Rain gauge {}", g.id, g.id),
                pos: [x, y],
            })
        })
        .collect::<Result<_>>()?;
    notes.extend(fill::sensors::fixed_sensors(&mut city, &sites, extent));
    if a.street_sensors > 0 {
        let depth = design_storm_depths(&city, a.storm_mm)?;
        let (n, _) = fill::sensors::street_sensors(&mut city, &depth, a.street_sensors);
        notes.extend(n);
    }
    print_notes(&notes);
    crate::save(&city, &a.out)?;
    println!("{}", crate::info::info_text(&city));
    Ok(())
}

/// The feed's stops and lines inside `extent` onto the city's roads
/// (`twin_traffic::city_demand::feed`); says what it made, what the feed holds that is not
/// modelled and what was left out, by name and count.
fn bus_feed(
    city: &mut City,
    feed: &twin_io::gtfs::Feed,
    lines: &[twin_io::gtfs::Line],
    warnings: &[twin_io::gtfs::Warning],
    extent: [[f64; 2]; 2],
    to_city: &twin_io::crs::Reprojector,
) -> Result<()> {
    use twin_traffic::city_demand::feed::{self as bus, FeedLine, FeedStop};
    let dir = feed.dir.display();
    for w in feed.warnings.iter().chain(warnings) {
        eprintln!(
            "⚠ GTFS {dir}: {} × {} (không mô phỏng / not modelled)",
            w.count, w.what
        );
    }
    let stops: Vec<FeedStop> = feed
        .stops
        .iter()
        .map(|s| {
            let (x, y) = to_city.point(s.lon, s.lat)?;
            Ok(FeedStop {
                id: s.id.clone(),
                name: s.name.clone(),
                pos: [x, y],
            })
        })
        .collect::<Result<_>>()?;
    let lines: Vec<FeedLine> = lines
        .iter()
        .map(|l| FeedLine {
            route_id: feed.routes[l.route].id.clone(),
            name: feed.routes[l.route].name.clone(),
            direction: l.direction,
            stops: l.stops.clone(),
            offsets_s: l.offsets_s.clone(),
            departures_s: l.departures_s.clone(),
            times_s: l.times_s.clone(),
            trips: l.trips,
        })
        .collect();
    let notes = bus::add_feed(city, extent, &stops, &lines, &bus::MORNING_PEAK_WINDOW)
        .with_context(|| format!("{dir}: the bus lines on the roads"))?;
    city.metadata
        .insert("gtfs_source".into(), feed.dir.display().to_string());
    for n in notes {
        let rule = if n.rule.is_empty() {
            String::new()
        } else {
            format!(": {}", n.rule)
        };
        if n.warning {
            eprintln!("⚠ GTFS: {} ({}){rule}", n.what, n.count);
        } else {
            println!("  GTFS khảo sát / surveyed: {} ({}){rule}", n.what, n.count);
        }
    }
    Ok(())
}

/// The deepest water of a 2-hour design storm of `mm` (Chicago shape, peak at 0.4) on the
/// city with its drainage network coupled, over 3 hours.
fn design_storm_depths(city: &City, mm: f64) -> Result<twin_model::Raster> {
    let storm = twin_engine::design_storm::DesignStorm {
        return_period_years: 10.0,
        duration_min: 120.0,
        block_min: 10.0,
        shape: twin_engine::design_storm::Shape::Chicago { peak_at: 0.4 },
        depth_mm: Some(mm),
    };
    let rain = storm.series();
    let minutes = 180.0;
    let has_network = city
        .layer(Layer::Utility)
        .features()
        .iter()
        .any(|f| f.kind == "conduit");
    let network = if has_network {
        let text = twin_io::swmm::city_to_inp_with(city, &rain, minutes, false)
            .context("the designed drainage network")?;
        Some(twin_hydro::parse(&text).context("the designed drainage network")?)
    } else {
        None
    };
    let mut spec = crate::flood_cmd::scenario_storm(minutes, &rain, network);
    spec.road_timeline = false;
    let pb = spinner(&format!(
        "design storm {mm} mm / 2 h on the city, to place the street sensors"
    ));
    let r = twin_engine::storm::run(Ground::City(city), &spec, &mut |f| {
        pb.set_message(format!(
            "design storm {mm} mm / 2 h on the city, to place the street sensors: {:.0} %",
            f * 100.0
        ))
    });
    pb.finish_and_clear();
    let r = r.context("the design-storm run")?;
    Ok(r.rasters.max_depth)
}
