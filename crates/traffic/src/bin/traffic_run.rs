//! `traffic_run --net NET.net.xml --routes ROUTES.rou.xml [--end SECONDS] [--step S]
//! [--close EDGE@SECONDS]... [--queue-period SECONDS] --out DIR`
//!
//! Runs the mesoscopic model on a SUMO network and demand, writing `DIR/trips.csv` (arrived
//! trips), `DIR/unfinished.csv` (trips not arrived by the end, with their time so far),
//! `DIR/summary.json`, `DIR/links.csv` and `DIR/intervals.csv` (per statistics interval:
//! vehicles on the network, arrivals, teleports, space-mean network speed). `--close` closes a
//! SUMO edge at a time, as a flood does (vehicles whose route uses it reroute); with
//! `--queue-period` the exit queues are sampled that often and `DIR/queues.csv` gives each
//! link's longest queue.

use anyhow::{Context, bail};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use twin_traffic::output::{write_link_stats_csv, write_trips_csv};
use twin_traffic::sim::{LinkEvent, SignalControl, SimConfig, Simulation};

/// Road space of one queued vehicle in the queue lengths written (m): SUMO's default passenger
/// car, 5 m long with a 2.5 m gap.
const QUEUE_SPACING_M: f64 = 7.5;

fn main() -> anyhow::Result<()> {
    let mut net = None;
    let mut routes = None;
    let mut out = None;
    let mut end = None;
    let mut closes: Vec<(String, f64)> = Vec::new();
    let mut queue_period = 0.0;
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
            "--close" => {
                let v = val()?;
                let (edge, at) = v
                    .rsplit_once('@')
                    .with_context(|| format!("--close expects EDGE@SECONDS, got {v:?}"))?;
                let at = at
                    .parse::<f64>()
                    .ok()
                    .filter(|t| t.is_finite() && *t >= 0.0)
                    .with_context(|| format!("--close {v:?}: {at:?} is not a time in seconds"))?;
                closes.push((edge.to_string(), at));
            }
            "--queue-period" => {
                queue_period = val()?
                    .parse::<f64>()
                    .ok()
                    .filter(|t| t.is_finite() && *t > 0.0)
                    .context("--queue-period expects a positive number of seconds")?
            }
            "--seed" => cfg.seed = val()?.parse::<u64>().context("--seed expects an integer")?,
            "-h" | "--help" => {
                println!(
                    "traffic_run --net NET.net.xml --routes ROUTES.rou.xml [--end SECONDS] [--step S] [--seed N] [--saturation-headway S] [--trajectories] [--max-pressure MIN_GREEN] [--close EDGE@SECONDS]... [--queue-period SECONDS] --out DIR"
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
    let (demand, unroutable) = twin_traffic::demand::build_demand(&net_model, &rf);
    let mut sim = Simulation::new(net_model, demand, cfg);
    for (edge, at) in &closes {
        let l = sim.network().link(edge).with_context(|| {
            format!(
                "--close {edge}@{at}: {} has no edge {edge:?}",
                net.display()
            )
        })?;
        sim.schedule(*at, LinkEvent::Closed(l, true));
    }
    let link_queues: Vec<Vec<u32>> = (0..sim.network().link_count())
        .map(|i| {
            sim.network()
                .exit_queues(twin_traffic::network::LinkId(i as u32))
        })
        .collect();
    let mut max_queue = vec![0usize; link_queues.len()];
    let start = std::time::Instant::now();
    if queue_period > 0.0 {
        let stop = end.unwrap_or(f64::INFINITY);
        while !sim.is_done() && sim.time() < stop - 1e-9 {
            sim.advance_to((sim.time() + queue_period).min(stop));
            let q = sim.queue_lengths();
            for (m, qs) in max_queue.iter_mut().zip(&link_queues) {
                *m = (*m).max(qs.iter().map(|&i| q[i as usize]).sum());
            }
        }
    }
    sim.run(end);
    let wall = start.elapsed().as_secs_f64();
    let trips = sim.trip_results();
    let mut summary =
        twin_traffic::output::Summary::new(&trips, sim.counters(), &unroutable, sim.time(), wall);
    summary.ignored = rf.ignored_by_element();
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let f = File::create(out.join("trips.csv")).context("creating trips.csv")?;
    write_trips_csv(BufWriter::new(f), &trips).context("writing trips.csv")?;
    let f = File::create(out.join("unfinished.csv")).context("creating unfinished.csv")?;
    twin_traffic::output::write_unfinished_csv(BufWriter::new(f), &trips, sim.time())
        .context("writing unfinished.csv")?;
    let f = File::create(out.join("links.csv")).context("creating links.csv")?;
    write_link_stats_csv(BufWriter::new(f), sim.network(), sim.link_stats())
        .context("writing links.csv")?;
    let f = File::create(out.join("intervals.csv")).context("creating intervals.csv")?;
    twin_traffic::output::write_intervals_csv(
        BufWriter::new(f),
        sim.network_stats(),
        &twin_traffic::output::interval_speeds(sim.network(), sim.link_stats()),
    )
    .context("writing intervals.csv")?;
    if queue_period > 0.0 {
        use std::io::Write;
        let mut w =
            BufWriter::new(File::create(out.join("queues.csv")).context("creating queues.csv")?);
        writeln!(w, "link,max_queue_veh,max_queue_m")?;
        for (i, &m) in max_queue.iter().enumerate().filter(|(_, m)| **m > 0) {
            writeln!(
                w,
                "{},{m},{:.1}",
                sim.network().link_name[i],
                m as f64 * QUEUE_SPACING_M
            )?;
        }
        w.flush().context("writing queues.csv")?;
    }
    if !sim.entries().is_empty() {
        let f = File::create(out.join("trajectories.csv")).context("creating trajectories.csv")?;
        twin_traffic::output::write_entries_csv(
            BufWriter::new(f),
            sim.network(),
            &trips,
            sim.entries(),
        )
        .context("writing trajectories.csv")?;
    }
    let f = File::create(out.join("summary.json")).context("creating summary.json")?;
    summary
        .write_json(BufWriter::new(f))
        .context("writing summary.json")?;
    for w in &sim.network().import_warnings {
        eprintln!("{}: {w}", net.display());
    }
    for g in &summary.ignored {
        eprintln!("{}: {g}", routes.display());
    }
    for u in &unroutable {
        eprintln!(
            "{}:{}: vehicle {:?} not simulated: {}",
            routes.display(),
            u.line,
            u.id,
            u.reason
        );
    }
    let s = &summary;
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
