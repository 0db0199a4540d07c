//! `twin live`: argument handling, the feed and the files around
//! [`twin_engine::live_loop::LiveLoop`]. Readings go through QC (with the model's
//! expectation) into the store; whenever the clock has passed a period's end the loop closes
//! it; the state, forecasts and alerts are kept in the store and shown as files.

use crate::feed::Feed;
use crate::sensors_cmd::{ClockArg, config, csv_field, load_registry, print_counts, status_csv};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use twin_engine::live::{LiveTwin, Nudging};
use twin_engine::live_loop::{Alert, Closed, LiveConfig, LiveLoop};
use twin_sensors::ingest::{Outcome, Pipeline};
use twin_sensors::qc::Qc;
use twin_sensors::reading::{self, DEFAULT_MAX_MESSAGE_BYTES};
use twin_sensors::{Registry, Store};

/// `twin live …`.
#[derive(Args, Debug)]
pub(crate) struct LiveArgs {
    /// City GeoPackage (with its DEM and drainage network).
    #[arg(long)]
    city: PathBuf,
    /// mqtt://HOST:PORT/TOPIC (e.g. twin/hanoi/sensors/#), a folder to watch (its files taken
    /// one at a time in name order), or - (stdin).
    #[arg(long)]
    sensors: String,
    /// Output folder: live.sqlite (readings, periods, forecasts, alerts, checkpoint),
    /// forecast.json, alerts.csv, status.csv, state.json. A folder holding a checkpoint is
    /// resumed from it.
    #[arg(long)]
    out: PathBuf,
    /// Registry file (TOML), added to (or correcting) the city's sensors.
    #[arg(long)]
    registry: Option<PathBuf>,
    /// Clock time of model time 0 (default: the first reading's time, to the period).
    #[arg(long)]
    start: Option<String>,
    /// Assimilation period (e.g. 5m, 300s).
    #[arg(long, default_value = "5m")]
    period: String,
    /// Time between forecasts (a multiple of the period).
    #[arg(long, default_value = "5m")]
    forecast_every: String,
    /// How far each forecast looks ahead.
    #[arg(long, default_value = "2h")]
    horizon: String,
    /// How long the twin can run in all (its drainage model's period).
    #[arg(long, default_value = "12h")]
    run_for: String,
    /// Wait this long after a period's end for late readings.
    #[arg(long, default_value = "1m")]
    grace: String,
    /// Rain forecast (CSV minute,mm/h from model time 0), corrected by the gauges' bias;
    /// without it forecasts assume the last period's rain for --persist, then none.
    #[arg(long)]
    rain_forecast: Option<PathBuf>,
    /// Without a rain forecast: how long the last period's rain is assumed to go on.
    #[arg(long, default_value = "30m")]
    persist: String,
    /// Flood alert depth at a watched place, m.
    #[arg(long, default_value_t = 0.3)]
    alert_depth: f64,
    /// Ensemble members run with each forecast (0: none), each with the forecast's rain
    /// scaled by one of factors evenly spread over --rain-spread. Số thành viên tổ hợp.
    #[arg(long, default_value_t = 0)]
    members: usize,
    /// Lowest and highest rain factor of the ensemble's members.
    #[arg(long, num_args = 2, value_names = ["LOW", "HIGH"], default_values_t = [0.5, 1.5])]
    rain_spread: Vec<f64>,
    /// With an ensemble: the share of members reaching the alert depth that raises an alert.
    #[arg(long, default_value_t = 0.5)]
    alert_probability: f64,
    /// Watched places besides the street sensors (CSV name,x,y in the city's CRS).
    #[arg(long)]
    hotspots: Option<PathBuf>,
    /// Run the flood on cells of this size, m (the DEM resampled; default: the city's).
    #[arg(long)]
    cell: Option<f64>,
    /// Radius within which a street sensor corrects the water, m.
    #[arg(long, default_value_t = 90.0)]
    nudging_radius: f64,
    /// What "now" is: the machine's clock, or the newest reading (replays).
    #[arg(long, value_enum, default_value_t = ClockArg::Wall)]
    clock: ClockArg,
    /// Neighbours: sensors of the same kind and site within this distance, m.
    #[arg(long, default_value_t = 500.0)]
    neighbour_radius: f64,
    /// Stop after this many seconds of wall time.
    #[arg(long = "for")]
    for_s: Option<f64>,
    /// Stop once the state reaches this clock time.
    #[arg(long)]
    until: Option<String>,
    /// Largest message (MQTT payload, stdin line), bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_MESSAGE_BYTES)]
    max_bytes: usize,
    /// MQTT client id (its session keeps unacknowledged messages across restarts).
    #[arg(long, default_value = "twin-live")]
    client_id: String,
    /// Hours east of UTC for the times shown (default: --start's offset, else 7, Vietnam).
    #[arg(long, allow_hyphen_values = true)]
    utc_offset: Option<f64>,
    /// Run the traffic too: the city's 06:00–09:00 morning peak on its roads at the clock's
    /// time of day, the roads the water closes closed in it, the traffic counters' and
    /// cameras' counts scaling its demand. Chạy cả giao thông.
    #[arg(long)]
    traffic: bool,
    /// With --traffic: person trips of the morning peak drawn from the city's layers.
    #[arg(long, default_value_t = 100_000, requires = "traffic")]
    trips: usize,
    /// With --traffic: compare the counts with the model but do not scale the demand.
    #[arg(long, requires = "traffic")]
    open_loop: bool,
}

/// Seconds east of UTC of the times shown.
static OFFSET_S: std::sync::OnceLock<i32> = std::sync::OnceLock::new();

/// A time (ms since the epoch) as RFC 3339 in the offset shown.
fn clock(ms: i64) -> String {
    reading::format_time(ms, *OFFSET_S.get().unwrap_or(&(7 * 3600)))
}

/// A duration such as `90s`, `5m`, `2h` or `1.5h` (a bare number is minutes), in seconds.
pub(crate) fn parse_duration(s: &str, what: &str) -> Result<f64> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1.0),
        Some((i, 'm')) => (&t[..i], 60.0),
        Some((i, 'h')) => (&t[..i], 3600.0),
        _ => (t, 60.0),
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v * mult),
        _ => bail!("{what} '{s}': expected a positive duration such as 90s, 5m or 2h"),
    }
}

/// Watched places from a CSV `name,x,y` (a header line is allowed).
fn read_hotspots(path: &Path) -> Result<Vec<twin_engine::flood::Gauge>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || (i == 0 && line.starts_with("name")) {
            continue;
        }
        let f: Vec<&str> = line.rsplitn(3, ',').collect();
        let parse = |v: &str, field: &str| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .with_context(|| {
                    format!(
                        "{} line {}: {field} '{}' is not a number",
                        path.display(),
                        i + 1,
                        v.trim()
                    )
                })
        };
        if f.len() != 3 {
            bail!("{} line {}: expected name,x,y", path.display(), i + 1);
        }
        out.push(twin_engine::flood::Gauge {
            name: f[2].trim().to_string(),
            x: parse(f[1], "x")?,
            y: parse(f[0], "y")?,
        });
    }
    Ok(out)
}

pub(crate) fn run(a: LiveArgs) -> Result<()> {
    let period_s = parse_duration(&a.period, "--period")?;
    let every_s = parse_duration(&a.forecast_every, "--forecast-every")?;
    if (every_s / period_s - (every_s / period_s).round()).abs() > 1e-9 {
        bail!("--forecast-every must be a multiple of --period ({period_s} s), got {every_s} s");
    }
    let horizon_s = parse_duration(&a.horizon, "--horizon")?;
    let run_s = parse_duration(&a.run_for, "--run-for")?;
    let grace_s = parse_duration(&a.grace, "--grace")?;
    let persist_s = parse_duration(&a.persist, "--persist")?;
    if !(a.alert_depth > 0.0 && a.alert_depth.is_finite()) {
        bail!("--alert-depth must be above 0 m, got {}", a.alert_depth);
    }
    if !(a.nudging_radius >= 0.0 && a.nudging_radius.is_finite()) {
        bail!(
            "--nudging-radius must be 0 m or more, got {}",
            a.nudging_radius
        );
    }
    if a.members > 64 {
        bail!("--members must be at most 64, got {}", a.members);
    }
    let (lo, hi) = (a.rain_spread[0], a.rain_spread[1]);
    if !(lo > 0.0 && lo <= hi && hi <= 10.0) {
        bail!("--rain-spread must be LOW HIGH with 0 < LOW ≤ HIGH ≤ 10, got {lo} {hi}");
    }
    if !(a.alert_probability > 0.0 && a.alert_probability <= 1.0) {
        bail!(
            "--alert-probability must lie in (0, 1], got {}",
            a.alert_probability
        );
    }
    let until_ms = match &a.until {
        Some(u) => Some(reading::parse_time(u).map_err(|e| anyhow::anyhow!("--until: {e}"))?),
        None => None,
    };
    let (mut start_ms, start_offset) = match &a.start {
        Some(s) => {
            let (t, o) =
                reading::parse_time_offset(s).map_err(|e| anyhow::anyhow!("--start: {e}"))?;
            (Some(t), Some(o))
        }
        None => (None, None),
    };
    let offset = match a.utc_offset {
        Some(h) if (-14.0..=14.0).contains(&h) => (h * 3600.0).round() as i32,
        Some(h) => bail!("--utc-offset must lie in -14..14 hours, got {h}"),
        None => start_offset.unwrap_or(7 * 3600),
    };
    let _ = OFFSET_S.set(offset);
    let mut city = twin_io::gpkg::read_city(&a.city)?;
    let Some(dem) = city.dem.clone() else {
        bail!(
            "{}: the city has no DEM / thành phố chưa có mô hình địa hình (twin import dem)",
            a.city.display()
        );
    };
    if let Some(cell) = a.cell {
        if !(2.0..=100.0).contains(&cell) {
            bail!("--cell must lie in 2..100 m, got {cell}");
        }
        let geo = twin_io::raster::GeoRaster {
            raster: dem,
            crs: city.crs,
        };
        city.dem = Some(twin_io::raster::reproject_raster(
            &geo,
            city.crs,
            Some(cell),
        )?);
    }
    let reg = load_registry(Some(&a.city), a.registry.as_deref())?;
    let forecast_rain = match &a.rain_forecast {
        Some(p) => Some(
            twin_io::rain::read_rain_csv(p)?
                .into_iter()
                .map(|(m, i)| (m * 60.0, i))
                .collect(),
        ),
        None => None,
    };
    let hotspots = match &a.hotspots {
        Some(p) => read_hotspots(p)?,
        None => Vec::new(),
    };
    std::fs::create_dir_all(&a.out).with_context(|| a.out.display().to_string())?;
    let store_path = a.out.join("live.sqlite");
    let store = Store::open(&store_path)?;
    let resumed = store.checkpoint()?;
    let mut live: Option<LiveLoop> = match resumed {
        Some((t, bytes)) => {
            let l = twin_engine::hotstart::load_live_loop(&bytes)
                .with_context(|| format!("{}: checkpoint", store_path.display()))?;
            println!(
                "resumed from the checkpoint at {} (model minute {:.0}) / tiếp tục từ điểm lưu",
                clock(l.now_ms()),
                t / 60.0
            );
            Some(l)
        }
        None => None,
    };
    let cfg = LiveConfig {
        period_s,
        forecast_every_s: every_s,
        horizon_s,
        grace_s,
        alert_m: a.alert_depth,
        forecast_rain,
        persist_s,
        members: a.members,
        rain_spread: (lo, hi),
        alert_probability: a.alert_probability,
    };
    if let Some(l) = &live
        && *l.config() != cfg
    {
        println!(
            "note / ghi chú: the checkpoint's settings are kept (period {} s, forecasts every {} s, horizon {} s)",
            l.config().period_s,
            l.config().forecast_every_s,
            l.config().horizon_s
        );
    }
    if let Some(l) = &live
        && l.traffic().is_some() != a.traffic
    {
        println!(
            "note / ghi chú: the checkpoint's traffic setting is kept (traffic {})",
            if l.traffic().is_some() { "on" } else { "off" }
        );
    }
    let minutes = run_s / 60.0;
    let make = |start_ms: i64| -> Result<LiveLoop> {
        let text = twin_io::swmm::city_to_inp_with(&city, &[(0.0, 0.0)], minutes, false)
            .context("the city's drainage network")?;
        let network = twin_hydro::parse(&text).context("the city's drainage network")?;
        let twin = LiveTwin::start(
            &city,
            network,
            minutes,
            hotspots.clone(),
            Nudging {
                radius_m: a.nudging_radius,
            },
        )?;
        let l = LiveLoop::new(twin, cfg.clone(), start_ms);
        if !a.traffic {
            return Ok(l);
        }
        // Traffic time 0 is 06:00 at the clock's offset.
        let day_s = ((start_ms / 1000 + i64::from(offset)).rem_euclid(86_400)) as f64;
        let tcfg = twin_engine::live_traffic::TrafficConfig {
            clock_s: day_s - 6.0 * 3600.0,
            assimilate: !a.open_loop,
            ..twin_engine::live_traffic::TrafficConfig::new(a.trips)
        };
        let (traffic, far) =
            twin_engine::live_traffic::LiveTraffic::new(&city, &reg, tcfg).context("--traffic")?;
        println!(
            "traffic / giao thông: {} counting sites / điểm đếm xe; demand from 06:00 to 09:00{}",
            traffic.sites().len(),
            if a.open_loop {
                ", open loop / không hiệu chỉnh"
            } else {
                ""
            }
        );
        if !far.is_empty() {
            println!(
                "warning / cảnh báo: {} counting sensors stand farther than {} m from any road and are not used / cảm biến đếm xe xa đường, không dùng: {}",
                far.len(),
                twin_engine::live_traffic::SITE_MAX_M,
                far.join(", ")
            );
        }
        Ok(l.with_traffic(traffic))
    };
    if live.is_none() {
        if start_ms.is_none() {
            start_ms = store.first_reading_ms()?.map(|t| floor_to(t, period_s));
        }
        if let Some(s) = start_ms {
            live = Some(make(s)?);
        }
    }
    let unplaced = twin_engine::live_loop::unplaced_manhole_sensors(&city, &reg);
    if !unplaced.is_empty() {
        println!(
            "warning / cảnh báo: {} manhole level sensors have no drainage_node and no network node within {} m: checked and stored, not assimilated / cảm biến hố ga không gắn nút mạng: {}",
            unplaced.len(),
            twin_engine::live_loop::MANHOLE_SNAP_M,
            unplaced.join(", ")
        );
    }
    let mut p = Pipeline::new(
        Qc::new(&reg, config(a.clock, a.neighbour_radius)?),
        Some(store),
        a.max_bytes,
    );
    let no_model = twin_sensors::NoModel;
    {
        let view: &dyn twin_sensors::ModelView = match &live {
            Some(l) => l,
            None => &no_model,
        };
        let again = p.recover_held(view)?;
        if !again.decisions.is_empty() {
            println!(
                "checked again / kiểm tra lại: {} readings held undecided before a restart",
                again.decisions.len()
            );
        }
    }
    // One file at a time from a folder (a replay writes one per time step), so that QC asks
    // the model of that time, not of a state periods behind the readings.
    let feed = Feed::open(&a.sensors, a.max_bytes, &a.client_id, 1)?;
    println!(
        "live / trực tuyến: {} → {} ({} sensors / cảm biến; period {} s, forecast every {} s to {} s)",
        a.sensors,
        a.out.display(),
        reg.len(),
        period_s,
        every_s,
        horizon_s
    );
    let wall0 = Instant::now();
    let mut accepted = 0usize;
    loop {
        let batch = feed.next(Duration::from_millis(200))?;
        let ended = batch.ended;
        if !batch.is_empty() {
            let view: &dyn twin_sensors::ModelView = match &live {
                Some(l) => l,
                None => &no_model,
            };
            let out = feed.process(&mut p, batch, view)?;
            accepted += out.accepted();
            if live.is_none()
                && let Some(first) = out
                    .decisions
                    .iter()
                    .filter(|(d, _)| d.accepted())
                    .map(|(d, _)| d.time_ms)
                    .min()
            {
                let s = start_ms.unwrap_or_else(|| floor_to(first, period_s));
                live = Some(make(s)?);
            }
        }
        let released = p.qc.release_before(p.qc.now_ms() - 600_000);
        if !released.is_empty() {
            p.store_outcome(&Outcome {
                decisions: released
                    .into_iter()
                    .map(|d| (d, "released".to_string()))
                    .collect(),
                rejected: vec![],
            })?;
        }
        let mut stop = ended || a.for_s.is_some_and(|s| wall0.elapsed().as_secs_f64() >= s);
        if let Some(l) = live.as_mut() {
            while l.ready(&p.qc, &reg) && until_ms.is_none_or(|u| l.now_ms() < u) {
                let reports = p.qc.report(p.qc.now_ms());
                let store = p.store.as_mut().expect("the live loop keeps a store");
                store.set_status(&reports)?;
                let closed = l.close_period(&city, &reg, store, &reports)?;
                show(&closed);
                write_files(&a.out, l, &city, &reg, store, &reports)?;
            }
            if until_ms.is_some_and(|u| l.now_ms() >= u) || l.at_end() {
                stop = true;
            }
        }
        if stop {
            break;
        }
    }
    feed.close();
    let reports = p.qc.report(p.qc.now_ms());
    if let Some(s) = &mut p.store {
        s.set_status(&reports)?;
    }
    print_counts(p.qc.counts());
    if let (Some(s), Some(l)) = (&p.store, &live) {
        write_files(&a.out, l, &city, &reg, s, &reports)?;
        println!(
            "state at {} / trạng thái lúc; store / kho: {} readings, {} quarantined, {} rejected; {accepted} accepted this run",
            clock(l.now_ms()),
            s.reading_count()?,
            s.quarantine_count()?,
            s.rejected_count()?
        );
    }
    Ok(())
}

/// `t` (ms) down to a whole period.
fn floor_to(t: i64, period_s: f64) -> i64 {
    let p = (period_s * 1000.0).round() as i64;
    t.div_euclid(p) * p
}

fn hhmm(ms: i64) -> String {
    let t = clock(ms);
    t.get(11..16).unwrap_or(&t).to_string()
}

/// One line per period, one per forecast and per alert, in Vietnamese and English.
fn show(c: &Closed) {
    let p = &c.period;
    println!(
        "{} rain / mưa {} ({} gauges); depth sensors / cảm biến ngập {} (RMS innovation {:.3} m); lakes and river / hồ, sông {}; assimilated {:+.0} m³; {:.2} s",
        hhmm(p.end_ms),
        p.rain_mm_h
            .map_or("—".to_string(), |r| format!("{r:.1} mm/h")),
        p.rain_gauges,
        p.depth_sensors,
        p.depth_rms_m,
        p.level_sensors,
        p.assimilated_m3,
        p.apply_wall_s
    );
    if let Some(t) = &p.traffic {
        let (obs, model) = t.counts.iter().fold((0.0, 0.0), |a, c| {
            (a.0 + c.observed_veh_h, a.1 + c.model_veh_h)
        });
        println!(
            "  traffic / giao thông: {} on the roads / xe trên đường, {} to leave; speed / tốc độ {}; closed / cấm {} links, slowed / chậm {}; counts / đếm xe {} sites, {:.0} veh/h counted vs {:.0} modelled, demand ×{:.2}",
            t.on_road,
            t.to_depart,
            t.speed_kmh.map_or("—".into(), |v| format!("{v:.1} km/h")),
            t.links_closed,
            t.links_slowed,
            t.counts.len(),
            obs,
            model,
            t.demand_factor
        );
    }
    if let Some(f) = &c.forecast {
        let worst = f
            .places
            .iter()
            .filter(|p| p.alerted)
            .max_by(|a, b| a.peak_m.total_cmp(&b.peak_m));
        let ens = if f.members > 0 {
            format!(", ensemble of {}", f.members)
        } else {
            String::new()
        };
        println!(
            "  forecast / dự báo to {} ({}{ens}): {} places to flood, {} roads closed; deepest {}; {:.1} s",
            hhmm(f.until_ms),
            f.rain,
            f.places
                .iter()
                .filter(|p| p.alerted && p.alert_ms.is_some())
                .count(),
            f.roads_closed.len(),
            worst.map_or("—".into(), |w| format!(
                "{} {:.2} m at {}",
                w.name,
                w.peak_m,
                hhmm(w.peak_ms)
            )),
            f.wall_s
        );
    }
    for a in &c.alerts {
        println!("  ALERT / CẢNH BÁO {}", alert_line(a));
    }
}

fn alert_line(a: &Alert) -> String {
    format!(
        "{} / {}: {}{}{}",
        a.kind.vi(),
        a.kind.en(),
        a.place,
        a.at_ms
            .map_or(String::new(), |t| format!(" at {}", hhmm(t))),
        a.lead_min
            .map_or(String::new(), |l| format!(" (lead / trước {l:.0} min)"))
    )
}

/// The files beside the store: the latest forecast, every alert, each sensor's status, the
/// state's time and the last period, and the water now (`depth.tif`, m above the start, what
/// `GET /live/depth` serves and the wall draws), each written whole, atomically.
fn write_files(
    out: &Path,
    l: &LiveLoop,
    city: &twin_model::City,
    reg: &Registry,
    store: &Store,
    reports: &[twin_sensors::SensorReport],
) -> Result<()> {
    if let Some((_, f)) = store.events("forecast")?.last() {
        let v: serde_json::Value = serde_json::from_str(f)?;
        twin_io::atomic::write_text(
            &out.join("forecast.json"),
            &serde_json::to_string_pretty(&v)?,
        )?;
    }
    let mut csv = String::from("issued,kind,label_vi,label_en,place,at,lead_min,value\n");
    for (_, a) in store.events("alert")? {
        let a: Alert = serde_json::from_str(&a)?;
        csv += &format!(
            "{},{},{},{},{},{},{},{}\n",
            clock(a.issued_ms),
            a.kind.code(),
            csv_field(a.kind.vi()),
            csv_field(a.kind.en()),
            csv_field(&a.place),
            a.at_ms.map(clock).unwrap_or_default(),
            a.lead_min.map(|v| format!("{v:.1}")).unwrap_or_default(),
            a.value
        );
    }
    twin_io::atomic::write_text(&out.join("alerts.csv"), &csv)?;
    twin_io::atomic::write_text(&out.join("status.csv"), &status_csv(reg, reports))?;
    let last = store.events("period")?.last().map(|(_, p)| p.clone());
    let state = serde_json::json!({
        "now": clock(l.now_ms()),
        "model_minute": l.now_s() / 60.0,
        "start": clock(l.start_ms()),
        "last_period": last.and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok()),
    });
    twin_io::raster::write_geotiff(&l.twin().depth_now(), city.crs, &out.join("depth.tif"))?;
    twin_io::atomic::write_text(
        &out.join("state.json"),
        &serde_json::to_string_pretty(&state)?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_seconds_minutes_and_hours() {
        assert_eq!(parse_duration("90s", "x").unwrap(), 90.0);
        assert_eq!(parse_duration("5m", "x").unwrap(), 300.0);
        assert_eq!(parse_duration("1.5h", "x").unwrap(), 5400.0);
        assert_eq!(parse_duration("10", "x").unwrap(), 600.0);
        for bad in ["", "m", "-5m", "0s", "5 d", "nanm"] {
            let e = parse_duration(bad, "--period").unwrap_err().to_string();
            assert!(e.contains("--period"), "{bad}: {e}");
        }
    }

    #[test]
    fn periods_floor_to_their_start() {
        assert_eq!(floor_to(1_000_299_999, 300.0), 1_000_200_000);
        assert_eq!(floor_to(1_000_200_000, 300.0), 1_000_200_000);
    }
}
