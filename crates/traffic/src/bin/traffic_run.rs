//! `traffic_run --net NET.net.xml --routes ROUTES.rou.xml [--end SECONDS] [--step S] --out DIR`
//!
//! Runs the mesoscopic model on a SUMO network and demand, writing `DIR/trips.csv`,
//! `DIR/summary.json` and `DIR/links.csv`.

use anyhow::{Context, bail};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use twin_traffic::output::{write_link_stats_csv, write_trips_csv};
use twin_traffic::sim::{SignalControl, SimConfig};

fn main() -> anyhow::Result<()> {
    let mut net = None;
    let mut routes = None;
    let mut out = None;
    let mut end = None;
    let mut cfg = SimConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--net" => net = Some(PathBuf::from(val()?)),
            "--routes" => routes = Some(PathBuf::from(val()?)),
            "--out" => out = Some(PathBuf::from(val()?)),
            "--end" => end = Some(val()?.parse::<f64>().context("--end expects seconds")?),
            "--step" => cfg.step = val()?.parse::<f64>().context("--step expects seconds")?,
            "--saturation-headway" => {
                cfg.saturation_headway = val()?
                    .parse::<f64>()
                    .context("--saturation-headway expects seconds")?
            }
            "--trajectories" => cfg.record_entries = true,
            "--max-pressure" => {
                cfg.signal_control = SignalControl::MaxPressure {
                    min_green: val()?
                        .parse::<f64>()
                        .context("--max-pressure expects a minimum green in seconds")?,
                }
            }
            "--seed" => cfg.seed = val()?.parse::<u64>().context("--seed expects an integer")?,
            "-h" | "--help" => {
                println!(
                    "traffic_run --net NET.net.xml --routes ROUTES.rou.xml [--end SECONDS] [--step S] [--seed N] [--saturation-headway S] [--trajectories] [--max-pressure MIN_GREEN] --out DIR"
                );
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    let (Some(net), Some(routes), Some(out)) = (net, routes, out) else {
        bail!("--net, --routes and --out are required (see --help)");
    };
    if cfg.step.is_nan() || cfg.step <= 0.0 {
        bail!("--step must be positive");
    }
    let net_text =
        std::fs::read_to_string(&net).with_context(|| format!("reading {}", net.display()))?;
    let rou_text = std::fs::read_to_string(&routes)
        .with_context(|| format!("reading {}", routes.display()))?;
    let net_model = twin_traffic::network::Network::from_sumo(
        &twin_traffic::sumo_net::parse_net(&net_text).with_context(|| net.display().to_string())?,
    )
    .with_context(|| net.display().to_string())?;
    let rf = twin_traffic::sumo_routes::parse_routes(&rou_text)
        .with_context(|| routes.display().to_string())?;
    let run = twin_traffic::run(net_model, &rf, cfg, end);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let trips = run.sim.trip_results();
    let f = File::create(out.join("trips.csv")).context("creating trips.csv")?;
    write_trips_csv(BufWriter::new(f), &trips).context("writing trips.csv")?;
    let f = File::create(out.join("links.csv")).context("creating links.csv")?;
    write_link_stats_csv(BufWriter::new(f), run.sim.network(), run.sim.link_stats())
        .context("writing links.csv")?;
    if !run.sim.entries().is_empty() {
        let f = File::create(out.join("trajectories.csv")).context("creating trajectories.csv")?;
        twin_traffic::output::write_entries_csv(
            BufWriter::new(f),
            run.sim.network(),
            &trips,
            run.sim.entries(),
        )
        .context("writing trajectories.csv")?;
    }
    let f = File::create(out.join("summary.json")).context("creating summary.json")?;
    run.summary
        .write_json(BufWriter::new(f))
        .context("writing summary.json")?;
    for w in &run.sim.network().import_warnings {
        eprintln!("{}: {w}", net.display());
    }
    for g in &run.summary.ignored {
        eprintln!("{}: {g}", routes.display());
    }
    for u in &run.unroutable {
        eprintln!(
            "{}:{}: vehicle {:?} not simulated: {}",
            routes.display(),
            u.line,
            u.id,
            u.reason
        );
    }
    let s = &run.summary;
    println!(
        "arrived {}/{} mean duration {:.2} s, {} vehicle updates in {:.3} s ({:.0} UPS)",
        s.arrived,
        s.vehicles,
        s.mean_duration,
        s.vehicle_updates,
        s.wall_time_s,
        s.updates_per_second
    );
    Ok(())
}
