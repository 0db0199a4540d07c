//! `twin sensors check | ingest | replay`: argument handling and printing around
//! `twin-sensors` (registry, QC, ingest, store, replay).

use crate::feed::Feed;
use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use twin_sensors::ingest::{self, Folder, Outcome, Pipeline};
use twin_sensors::mqtt::{MqttUrl, Publisher};
use twin_sensors::qc::{Clock, NoModel, Qc, QcConfig, SensorReport};
use twin_sensors::reading::{self, DEFAULT_MAX_MESSAGE_BYTES};
use twin_sensors::{Counts, Reason, Registry, Store, replay};

/// What "now" is for the time checks.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub(crate) enum ClockArg {
    /// The machine's clock (live sensors).
    Wall,
    /// The newest reading time seen (files of past readings, replays).
    Data,
}

/// `twin sensors …`.
#[derive(Subcommand, Debug)]
pub(crate) enum SensorsCmd {
    /// Quality-check a batch of readings (a file or every file of a folder, in name order):
    /// counts per reason and each sensor's status, in Vietnamese and English, and a CSV of
    /// every verdict. Kiểm tra chất lượng một lô số liệu cảm biến.
    Check {
        /// City GeoPackage whose layers give the sensors.
        #[arg(long)]
        city: Option<PathBuf>,
        /// Registry file (TOML), added to (or correcting) the city's sensors.
        #[arg(long)]
        registry: Option<PathBuf>,
        /// A snapshot file (JSON, NDJSON, SensorThings) or a folder of them.
        input: PathBuf,
        /// CSV of every verdict (the sensors' statuses go beside it, `NAME-status.csv`).
        #[arg(long, default_value = "sensors-check.csv")]
        csv: PathBuf,
        /// What "now" is for the time checks.
        #[arg(long, value_enum, default_value_t = ClockArg::Data)]
        clock: ClockArg,
        /// Neighbours: sensors of the same kind and site within this distance, m.
        #[arg(long, default_value_t = 500.0)]
        neighbour_radius: f64,
    },
    /// Take readings from MQTT, a watched folder or stdin (NDJSON) through QC into a store.
    /// Nhận số liệu cảm biến qua MQTT, thư mục hoặc stdin, kiểm tra và lưu.
    Ingest {
        /// City GeoPackage whose layers give the sensors.
        #[arg(long)]
        city: Option<PathBuf>,
        /// Registry file (TOML).
        #[arg(long)]
        registry: Option<PathBuf>,
        /// mqtt://HOST:PORT/TOPIC (e.g. twin/hanoi/sensors/#), a folder to watch, or - (stdin).
        #[arg(long)]
        from: String,
        /// SQLite store (created if missing).
        #[arg(long)]
        store: PathBuf,
        /// Stop after this many seconds (default: stdin's end, else until interrupted).
        #[arg(long = "for")]
        for_s: Option<f64>,
        /// What "now" is for the time checks.
        #[arg(long, value_enum, default_value_t = ClockArg::Wall)]
        clock: ClockArg,
        /// Neighbours: sensors of the same kind and site within this distance, m.
        #[arg(long, default_value_t = 500.0)]
        neighbour_radius: f64,
        /// Largest message (MQTT payload, stdin line), bytes.
        #[arg(long, default_value_t = DEFAULT_MAX_MESSAGE_BYTES)]
        max_bytes: usize,
        /// MQTT client id (its session keeps unacknowledged messages across restarts).
        #[arg(long, default_value = "twin-sensors-ingest")]
        client_id: String,
    },
    /// Publish the sensor readings a finished `twin scenario run` folder implies, with faults.
    /// Phát lại số liệu cảm biến từ một kịch bản đã chạy, có thể thêm lỗi.
    Replay {
        /// The run folder (its gauges.csv).
        #[arg(long)]
        scenario: PathBuf,
        /// City GeoPackage the run was made on.
        #[arg(long)]
        city: Option<PathBuf>,
        /// Registry file (TOML).
        #[arg(long)]
        registry: Option<PathBuf>,
        /// mqtt://HOST:PORT/TOPIC-PREFIX or a folder (one NDJSON file per time step).
        #[arg(long)]
        to: String,
        /// The rain file the run was given (rain gauges report it).
        #[arg(long)]
        rain: Option<PathBuf>,
        /// Clock time of the run's start.
        #[arg(long, default_value = "2025-09-30T06:00:00+07:00")]
        start: String,
        /// Speed-up over real time (0: no waiting).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Noise SD on water levels, m.
        #[arg(long, default_value_t = 0.0)]
        noise: f64,
        /// Probability of each reading being lost.
        #[arg(long, default_value_t = 0.0)]
        dropout: f64,
        /// A sensor frozen from a third of the way through (repeatable).
        #[arg(long)]
        freeze: Vec<String>,
        /// A sensor silent from a third of the way through (repeatable).
        #[arg(long)]
        drop: Vec<String>,
        /// Probability of a reading being a spike.
        #[arg(long, default_value_t = 0.0)]
        spike: f64,
        /// SENSOR:OFFSET added to every value of a sensor (e.g. WL-57:+0.5; repeatable).
        #[arg(long, allow_hyphen_values = true)]
        falsify: Vec<String>,
        /// Seed for the faults.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

pub(crate) fn run(cmd: SensorsCmd) -> Result<()> {
    match cmd {
        SensorsCmd::Check {
            city,
            registry,
            input,
            csv,
            clock,
            neighbour_radius,
        } => {
            let reg = load_registry(city.as_deref(), registry.as_deref())?;
            check(&reg, &input, &csv, config(clock, neighbour_radius)?)
        }
        SensorsCmd::Ingest {
            city,
            registry,
            from,
            store,
            for_s,
            clock,
            neighbour_radius,
            max_bytes,
            client_id,
        } => {
            let reg = load_registry(city.as_deref(), registry.as_deref())?;
            let cfg = config(clock, neighbour_radius)?;
            ingest_cmd(&reg, &from, &store, for_s, cfg, max_bytes, &client_id)
        }
        SensorsCmd::Replay {
            scenario,
            city,
            registry,
            to,
            rain,
            start,
            speed,
            noise,
            dropout,
            freeze,
            drop,
            spike,
            falsify,
            seed,
        } => {
            let reg = load_registry(city.as_deref(), registry.as_deref())?;
            let mut f = replay::Faults {
                noise_sd: noise,
                dropout,
                freeze,
                drop,
                spike,
                seed,
                falsify: vec![],
            };
            for s in &falsify {
                let (id, off) = s
                    .rsplit_once(':')
                    .and_then(|(id, o)| Some((id, o.trim().parse::<f64>().ok()?)))
                    .with_context(|| {
                        format!("--falsify '{s}': expected SENSOR:OFFSET, e.g. WL-57:+0.5")
                    })?;
                f.falsify.push((id.to_string(), off));
            }
            replay_cmd(&reg, &scenario, rain.as_deref(), &to, &start, speed, &f)
        }
    }
}

pub(crate) fn load_registry(city: Option<&Path>, file: Option<&Path>) -> Result<Registry> {
    let mut reg = match city {
        Some(c) => Registry::from_city(&twin_io::gpkg::read_city(c)?)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("{}: sensors", c.display()))?,
        None => Registry::default(),
    };
    if let Some(f) = file {
        reg = reg
            .merged(Registry::read_toml(f).map_err(anyhow::Error::msg)?)
            .map_err(anyhow::Error::msg)?;
    }
    if city.is_none() && file.is_none() {
        bail!(
            "give the sensors: --city C.gpkg and/or --registry R.toml / cần --city hoặc --registry"
        );
    }
    if reg.is_empty() {
        bail!("no sensors in the city or the registry file / không có cảm biến nào");
    }
    Ok(reg)
}

pub(crate) fn config(clock: ClockArg, neighbour_radius_m: f64) -> Result<QcConfig> {
    if !(neighbour_radius_m >= 0.0 && neighbour_radius_m.is_finite()) {
        bail!("--neighbour-radius must be 0 m or more, got {neighbour_radius_m}");
    }
    Ok(QcConfig {
        clock: match clock {
            ClockArg::Wall => Clock::Wall,
            ClockArg::Data => Clock::Data,
        },
        neighbour_radius_m,
        ..QcConfig::default()
    })
}

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Per-reason counts, in Vietnamese and English.
pub(crate) fn print_counts(c: &Counts) {
    println!("Đã nhận / accepted: {}", c.accepted);
    println!("Không áp dụng / not applied: {}", c.total_not_applied());
    for r in Reason::ALL {
        let n = c.get(r);
        if n > 0 {
            println!("  {:<20} {n:>8}  {} / {}", r.code(), r.vi(), r.en());
        }
    }
}

/// A sensor's counts per reason (`code{sep}count`), quarantines then warnings.
fn reason_counts(c: &Counts, sep: &str) -> Vec<String> {
    c.not_applied
        .iter()
        .chain(&c.warnings)
        .map(|(k, n)| format!("{}{sep}{n}", k.code()))
        .collect()
}

/// Each sensor's status, in Vietnamese and English.
pub(crate) fn print_status(reg: &Registry, reports: &[SensorReport]) {
    println!(
        "{:<18} {:<22} {:<26} {:>8} {:>8}  lý do / reasons",
        "cảm biến / sensor", "loại / kind", "trạng thái / status", "nhận", "loại bỏ"
    );
    for (s, r) in reg.sensors().iter().zip(reports) {
        let reasons = reason_counts(&r.counts, "×");
        println!(
            "{:<18} {:<22} {:<26} {:>8} {:>8}  {}",
            s.id,
            format!("{} / {}", s.kind.vi(), s.kind.code()),
            format!("{} / {}", r.status.vi(), r.status.code()),
            r.counts.accepted,
            r.counts.total_not_applied(),
            reasons.join(" ")
        );
    }
}

pub(crate) fn status_csv(reg: &Registry, reports: &[SensorReport]) -> String {
    let mut out = String::from("sensor,kind,name,status,accepted,not_applied,reasons,last_value\n");
    for (s, r) in reg.sensors().iter().zip(reports) {
        let reasons = reason_counts(&r.counts, "=");
        out += &format!(
            "{},{},{},{},{},{},{},{}\n",
            csv_field(&s.id),
            s.kind.code(),
            csv_field(s.name.as_deref().unwrap_or("")),
            r.status.code(),
            r.counts.accepted,
            r.counts.total_not_applied(),
            reasons.join(";"),
            r.last_value.map(|v| v.to_string()).unwrap_or_default()
        );
    }
    out
}

fn check(reg: &Registry, input: &Path, csv: &Path, cfg: QcConfig) -> Result<()> {
    let files: Vec<PathBuf> = if input.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(input)
            .with_context(|| input.display().to_string())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        v.sort();
        v
    } else {
        vec![input.to_path_buf()]
    };
    let mut msgs = Vec::new();
    for f in &files {
        msgs.push((
            f.display().to_string(),
            Folder::read(f, ingest::DEFAULT_MAX_FILE_BYTES)
                .with_context(|| f.display().to_string())?,
        ));
    }
    let qc = Qc::new(reg, cfg);
    let mut p = Pipeline::new(qc, None, DEFAULT_MAX_MESSAGE_BYTES);
    let out = p.process_limited(&msgs, &NoModel, true, ingest::DEFAULT_MAX_FILE_BYTES)?;
    let mut text =
        String::from("source,sensor,time,value,unit,raw_value,raw_unit,verdict,reason,detail\n");
    for (r, src) in &out.rejected {
        text += &format!(
            "{},,,,,,,rejected,{},{}\n",
            csv_field(src),
            r.reason.code(),
            csv_field(&r.detail)
        );
    }
    for (d, src) in &out.decisions {
        let verdict = if d.accepted() {
            "accepted"
        } else {
            "quarantined"
        };
        text += &format!(
            "{},{},{},{},{},{},{},{verdict},{},{}\n",
            csv_field(src),
            csv_field(&d.sensor_id),
            csv_field(&d.time),
            d.value,
            csv_field(&d.unit),
            d.raw_value,
            csv_field(d.raw_unit.as_deref().unwrap_or("")),
            d.reason().map(|r| r.code()).unwrap_or(""),
            csv_field(&d.detail)
        );
    }
    let now = p.qc.now_ms();
    let reports = p.qc.report(now);
    twin_io::atomic::write_text(csv, &text)?;
    let stem = csv
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let status_path = csv.with_file_name(format!("{stem}-status.csv"));
    twin_io::atomic::write_text(&status_path, &status_csv(reg, &reports))?;
    println!(
        "{} tệp / files, {} cảm biến / sensors",
        files.len(),
        reg.len()
    );
    print_counts(p.qc.counts());
    print_status(reg, &reports);
    println!("wrote {} and {}", csv.display(), status_path.display());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn ingest_cmd(
    reg: &Registry,
    from: &str,
    store: &Path,
    for_s: Option<f64>,
    cfg: QcConfig,
    max_bytes: usize,
    client_id: &str,
) -> Result<()> {
    let st = Store::open(store)?;
    let mut p = Pipeline::new(Qc::new(reg, cfg), Some(st), max_bytes);
    let again = p.recover_held(&NoModel)?;
    if !again.decisions.is_empty() {
        println!(
            "checked again / kiểm tra lại: {} readings held undecided before a restart",
            again.decisions.len()
        );
    }
    let t0 = Instant::now();
    let deadline = for_s.map(Duration::from_secs_f64);
    let over = |t0: Instant| deadline.is_some_and(|d| t0.elapsed() >= d);
    let feed = Feed::open(from, max_bytes, client_id, usize::MAX)?;
    println!(
        "ingest / nhận số liệu: {from} → {} ({} sensors / cảm biến)",
        store.display(),
        reg.len()
    );
    let mut last_status = Instant::now();
    loop {
        let batch = feed.next(Duration::from_millis(200))?;
        let ended = batch.ended;
        if !batch.is_empty() {
            feed.process(&mut p, batch, &NoModel)?;
        }
        // Jumps held for 10 min of data time with no reading to settle them are released.
        let released = p.qc.release_before(p.qc.now_ms() - 600_000);
        if !released.is_empty() {
            let o = Outcome {
                decisions: released
                    .into_iter()
                    .map(|d| (d, "released".to_string()))
                    .collect(),
                rejected: vec![],
            };
            p.store_outcome(&o)?;
        }
        if last_status.elapsed() > Duration::from_secs(5) {
            let reports = p.qc.report(p.qc.now_ms());
            if let Some(s) = &mut p.store {
                s.set_status(&reports)?;
            }
            last_status = Instant::now();
        }
        if ended || over(t0) {
            break;
        }
    }
    feed.close();
    p.process(&[], &NoModel, true)?;
    let reports = p.qc.report(p.qc.now_ms());
    if let Some(s) = &mut p.store {
        s.set_status(&reports)?;
    }
    print_counts(p.qc.counts());
    print_status(reg, &reports);
    if let Some(s) = &p.store {
        println!(
            "store / kho: {} readings, {} quarantined, {} rejected",
            s.reading_count()?,
            s.quarantine_count()?,
            s.rejected_count()?
        );
    }
    Ok(())
}

fn replay_cmd(
    reg: &Registry,
    scenario: &Path,
    rain: Option<&Path>,
    to: &str,
    start: &str,
    speed: f64,
    f: &replay::Faults,
) -> Result<()> {
    if !(speed >= 0.0 && speed.is_finite()) {
        bail!("--speed must be 0 (no waiting) or above, got {speed}");
    }
    for p in [f.dropout, f.spike] {
        if !(0.0..=1.0).contains(&p) {
            bail!("--dropout and --spike are probabilities in 0..1, got {p}");
        }
    }
    for id in f
        .freeze
        .iter()
        .chain(&f.drop)
        .chain(f.falsify.iter().map(|(id, _)| id))
    {
        if reg.index(id).is_none() {
            let levels: Vec<&str> = reg
                .sensors()
                .iter()
                .filter(|s| s.kind == twin_sensors::Kind::WaterLevel)
                .map(|s| s.id.as_str())
                .collect();
            bail!(
                "no sensor '{id}' (water-level sensors: {})",
                levels.join(", ")
            );
        }
    }
    let (start_ms, offset) =
        reading::parse_time_offset(start).map_err(|e| anyhow::anyhow!("--start: {e}"))?;
    let gpath = scenario.join("gauges.csv");
    let text = std::fs::read_to_string(&gpath).with_context(|| {
        format!(
            "{}: a scenario run folder holds gauges.csv",
            gpath.display()
        )
    })?;
    let gauges = replay::parse_gauges_csv(&text, &gpath.display().to_string())
        .map_err(anyhow::Error::msg)?;
    let rain_steps = match rain {
        Some(r) => Some(twin_io::rain::read_rain_csv(r)?),
        None => None,
    };
    let rep = replay::build(reg, &gauges, rain_steps.as_deref(), f);
    for n in &rep.notes {
        println!("note / ghi chú: {n}");
    }
    enum Sink {
        Mqtt(Publisher, String),
        Dir(PathBuf),
    }
    let mut sink = if to.starts_with("mqtt://") {
        let url = MqttUrl::parse(to).map_err(anyhow::Error::msg)?;
        let prefix = url
            .topic
            .trim_end_matches("/#")
            .trim_end_matches("/+")
            .trim_end_matches('/')
            .to_string();
        Sink::Mqtt(
            Publisher::connect(&url, &format!("twin-replay-{}", std::process::id())),
            prefix,
        )
    } else {
        std::fs::create_dir_all(to).with_context(|| to.to_string())?;
        Sink::Dir(PathBuf::from(to))
    };
    let wall0 = Instant::now();
    let mut i = 0;
    while i < rep.readings.len() {
        let t = rep.readings[i].t_s;
        let j = i + rep.readings[i..].iter().take_while(|r| r.t_s == t).count();
        if speed > 0.0 {
            let due = Duration::from_secs_f64((t - rep.readings[0].t_s).max(0.0) / speed);
            if let Some(wait) = due.checked_sub(wall0.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let time = reading::format_time(start_ms + (t * 1000.0).round() as i64, offset);
        let lines: Vec<String> = rep.readings[i..j]
            .iter()
            .map(|r| reading::to_json(&r.sensor, &time, r.value, &r.unit, None))
            .collect();
        match &mut sink {
            Sink::Mqtt(p, prefix) => {
                for (r, l) in rep.readings[i..j].iter().zip(lines) {
                    p.publish(&format!("{prefix}/{}", r.sensor), l.into_bytes())
                        .map_err(anyhow::Error::msg)?;
                }
            }
            Sink::Dir(d) => {
                let body = lines.join("\n") + "\n";
                twin_io::atomic::write_text(&d.join(format!("t{:07.0}.ndjson", t)), &body)?;
            }
        }
        i = j;
    }
    if let Sink::Mqtt(p, _) = &sink {
        let n = p
            .wait_acked(Duration::from_secs(60))
            .map_err(anyhow::Error::msg)?;
        p.disconnect();
        println!("broker acknowledged / máy chủ đã nhận: {n}");
    }
    println!(
        "published / đã phát: {} readings, dropped / bỏ: {}, spikes / xung: {} (seed {}); faults: noise {} m, dropout {}, spike {}, frozen [{}], dropped [{}], falsified [{}]",
        rep.readings.len(),
        rep.dropped,
        rep.spikes,
        f.seed,
        f.noise_sd,
        f.dropout,
        f.spike,
        f.freeze.join(", "),
        f.drop.join(", "),
        f.falsify
            .iter()
            .map(|(s, o)| format!("{s}:{o:+}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
