//! `twin traffic run`: a SUMO network with SUMO routes or an OD matrix (optionally scaled to
//! link counts) through the traffic model, and its outputs written. What the inputs held and
//! the model does not run as given is said by name and count: traffic lights run differently
//! from the network file, route-file elements skipped (also in `summary.json`), link counts
//! no OD route crosses.

use crate::{TrafficCmd, step};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Where `twin traffic run` takes its trips from.
pub(crate) enum TrafficDemand {
    /// A SUMO route file.
    Routes(PathBuf),
    /// An OD matrix with its zones, optionally scaled to link counts.
    Od {
        od: PathBuf,
        zones: PathBuf,
        counts: Option<PathBuf>,
    },
}

pub(crate) fn traffic_run(
    net: &Path,
    source: &TrafficDemand,
    end: Option<f64>,
    out: &Path,
    max_pressure: Option<f64>,
    mut cfg: twin_traffic::sim::SimConfig,
    msa: usize,
) -> Result<()> {
    use std::io::BufWriter;
    if let Some(g) = max_pressure {
        cfg.signal_control = twin_traffic::sim::SignalControl::MaxPressure { min_green: g };
    }
    let adaptive = cfg.signal_control != twin_traffic::sim::SignalControl::FixedTime;
    let fcd = cfg.fcd_interval > 0.0;
    let net_text =
        std::fs::read_to_string(net).with_context(|| format!("{}: cannot read", net.display()))?;
    let read = |p: &Path| {
        std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))
    };
    let out_dir = twin_io::atomic::OutDir::begin(out)?;
    let network = step(&format!("reading {}", net.display()), || {
        let parsed = twin_traffic::sumo_net::parse_net(&net_text)
            .with_context(|| net.display().to_string())?;
        twin_traffic::network::Network::from_sumo(&parsed)
            .with_context(|| net.display().to_string())
    })?;
    for w in &network.import_warnings {
        eprintln!("  warning: {}: {w}", net.display());
    }
    let mut ignored = Vec::new();
    let (demand, unroutable, origin) = match source {
        TrafficDemand::Routes(routes) => {
            let text = read(routes)?;
            let rf = step(&format!("reading {}", routes.display()), || {
                twin_traffic::sumo_routes::parse_routes(&text)
                    .with_context(|| routes.display().to_string())
            })?;
            ignored = rf.ignored_by_element();
            for g in &ignored {
                eprintln!("  warning: {}: {g}", routes.display());
            }
            let (d, u) = twin_traffic::demand::build_demand(&network, &rf);
            (d, u, routes.display().to_string())
        }
        TrafficDemand::Od { od, zones, counts } => {
            let (d, u) = od_demand(&network, od, zones, counts.as_deref())?;
            (d, u, od.display().to_string())
        }
    };
    let pb = crate::progress_bar("traffic / giao thông");
    let (mut run, msa_log) = twin_traffic::run_demand_with_progress(
        network,
        demand,
        unroutable,
        cfg,
        twin_traffic::Runs {
            end,
            msa_iterations: msa,
        },
        &mut |f| pb.set_position((f * 1000.0) as u64),
    );
    pb.finish_and_clear();
    eprintln!(
        "✓ simulating traffic / mô phỏng giao thông ({:.1} s)",
        pb.elapsed().as_secs_f64()
    );
    run.summary.ignored = ignored;
    for u in &run.unroutable {
        eprintln!(
            "  {}:{}: vehicle {:?} not simulated: {}",
            origin, u.line, u.id, u.reason
        );
    }
    let trips = run.sim.trip_results();
    let dir = std::cell::RefCell::new(out_dir);
    let write = |name: &str,
                 f: &dyn Fn(BufWriter<std::fs::File>) -> std::io::Result<()>|
     -> Result<()> {
        let p = dir.borrow_mut().file(name);
        let file = std::fs::File::create(&p)
            .with_context(|| format!("{}/{name}: cannot write", out.display()))?;
        f(BufWriter::new(file)).with_context(|| format!("{}/{name}: cannot write", out.display()))
    };
    write("trips.csv", &|w| {
        twin_traffic::output::write_trips_csv(w, &trips)
    })?;
    write("links.csv", &|w| {
        twin_traffic::output::write_link_stats_csv(w, run.sim.network(), run.sim.link_stats())
    })?;
    write("summary.json", &|w| run.summary.write_json(w))?;
    if fcd {
        write("fcd.csv", &|w| {
            twin_traffic::output::write_fcd_csv(
                w,
                run.sim.network(),
                &trips,
                run.sim.trajectories(),
            )
        })?;
    }
    if adaptive {
        write("signal_proposals.csv", &|w| {
            twin_traffic::output::write_signal_proposals_csv(w, run.sim.signal_proposals())
        })?;
    }
    if msa > 0 {
        write("msa.csv", &|mut w| {
            use std::io::Write;
            writeln!(
                w,
                "iteration,arrived,mean_travel_time_s,relative_gap,teleports,switched"
            )?;
            for it in &msa_log {
                writeln!(
                    w,
                    "{},{},{:.2},{:.6},{},{}",
                    it.iteration,
                    it.arrived,
                    it.mean_travel_time,
                    // No "-0.000000" from rounding noise around an exact equilibrium.
                    if it.relative_gap.abs() < 5e-7 {
                        0.0
                    } else {
                        it.relative_gap
                    },
                    it.teleports,
                    it.switched
                )?;
                println!(
                    "  MSA iteration {}: relative gap {:.4}, mean trip {:.1} s",
                    it.iteration, it.relative_gap, it.mean_travel_time
                );
            }
            w.flush()
        })?;
    }
    dir.into_inner().commit("twin traffic run")?;
    let s = &run.summary;
    println!(
        "Giao thông / Traffic: arrived {}/{}, mean trip {:.1} s, {} vehicle updates in {:.2} s ({:.0} per second); {} unroutable",
        s.arrived,
        s.vehicles,
        s.mean_duration,
        s.vehicle_updates,
        s.wall_time_s,
        s.updates_per_second,
        run.unroutable.len()
    );
    println!(
        "wrote {}/trips.csv, links.csv, summary.json{}{}{}",
        out.display(),
        if msa > 0 { ", msa.csv" } else { "" },
        if fcd { ", fcd.csv" } else { "" },
        if adaptive {
            ", signal_proposals.csv"
        } else {
            ""
        }
    );
    Ok(())
}

/// Demand from an OD matrix on zones, scaled to link counts when given (printing the fit).
fn od_demand(
    network: &twin_traffic::network::Network,
    od: &Path,
    zones: &Path,
    counts: Option<&Path>,
) -> Result<(
    twin_traffic::demand::Demand,
    Vec<twin_traffic::demand::Unroutable>,
)> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))
    };
    let rows = twin_traffic::od::parse_od(&read(od)?).with_context(|| od.display().to_string())?;
    let z = twin_traffic::od::parse_zones(&read(zones)?)
        .with_context(|| zones.display().to_string())?;
    let (mut cells, u) = twin_traffic::od::od_cells(network, &rows, &z)
        .with_context(|| format!("{} with {}", od.display(), zones.display()))?;
    if let Some(c) = counts {
        let obs = twin_traffic::od::parse_counts(network, &read(c)?)
            .with_context(|| c.display().to_string())?;
        let rep = twin_traffic::od::fit_to_counts(network, &mut cells, &obs, 100, 1e-3);
        println!(
            "  OD matrix scaled to {} of {} link counts: {:.0} -> {:.0} trips, {} sweeps, largest count error {:.2} %",
            rep.used,
            obs.len(),
            rep.total_before,
            rep.total_after,
            rep.iterations,
            100.0 * rep.max_relative_error
        );
        if !rep.skipped.is_empty() {
            eprintln!(
                "  warning: {}: {}",
                c.display(),
                skipped_counts(network, &rep.skipped)
            );
        }
    }
    let vt = twin_traffic::demand::VehicleType::sumo_default("car", "passenger");
    let d = twin_traffic::od::cells_to_demand(&rows, &cells, vt);
    Ok((d, u))
}

/// Counts shown by link name in the skipped-counts warning; the rest are counted.
const SKIPPED_COUNTS_SHOWN: usize = 5;

/// The warning for link counts no OD route crosses, naming the first few counted links.
fn skipped_counts(
    network: &twin_traffic::network::Network,
    skipped: &[twin_traffic::network::LinkId],
) -> String {
    let names: Vec<&str> = skipped
        .iter()
        .take(SKIPPED_COUNTS_SHOWN)
        .map(|l| network.link_name[l.index()].as_str())
        .collect();
    let more = skipped.len().saturating_sub(SKIPPED_COUNTS_SHOWN);
    format!(
        "{} link count{} skipped: no OD route crosses {} ({}{})",
        skipped.len(),
        if skipped.len() == 1 { "" } else { "s" },
        if skipped.len() == 1 {
            "its link"
        } else {
            "their links"
        },
        names.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

/// `twin traffic run`: checks the flags and runs.
pub(crate) fn from_flags(cmd: TrafficCmd) -> Result<()> {
    let TrafficCmd::Run {
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
    } = cmd;
    let max_t = twin_traffic::sumo_routes::MAX_TIME_S;
    if !(0.0..=1.0).contains(&informed) || !(0.0..=max_t).contains(&reroute_period) {
        bail!("--informed must lie in 0..1 and --reroute-period between 0 and {max_t} seconds");
    }
    if let Some(e) = end
        && !(e > 0.0 && e <= max_t)
    {
        bail!("--end must be a time in seconds above 0 and at most {max_t} (31 days), found {e}");
    }
    if let Some(g) = max_pressure
        && !(g > 0.0 && g <= 3600.0)
    {
        bail!("--max-pressure expects a minimum green above 0 and at most 3600 seconds, found {g}");
    }
    let mut cfg = twin_traffic::sim::SimConfig {
        seed,
        reroute_period,
        reroute_fraction: informed,
        propose_only,
        fcd_interval: fcd.unwrap_or(0.0),
        ..Default::default()
    };
    if fcd.is_some_and(|f| !(f.is_finite() && f >= 1.0)) {
        bail!("--fcd expects an interval of 1 second or more");
    }
    if let Some(a) = actuated {
        if max_pressure.is_some() {
            bail!("choose either --max-pressure or --actuated");
        }
        let ok = a.len() == 3 && a.iter().all(|x| *x > 0.0 && *x <= 3600.0) && a[0] <= a[1];
        if !ok {
            bail!("--actuated expects MIN MAX GAP, seconds above 0 and at most 3600, MIN <= MAX");
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
    traffic_run(&net, &demand, end, &out, max_pressure, cfg, msa)
}
