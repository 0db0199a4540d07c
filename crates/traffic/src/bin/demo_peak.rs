//! `demo_peak [--trips N] [--seed S] [--end SECONDS] [--beta PER_MIN] [--phf F] [--reroute-period S] [--informed SHARE] [--msa N] OUT.md`
//!
//! Benchmark of the traffic engine on the demo city's morning peak: generates the synthetic
//! district, builds the network from its road layer, draws `N` trips (default 101,000, so that at least 100,000 remain after same-node trips are dropped) from its
//! buildings, workplaces and schools, simulates until `--end` (default 3600 s) and prints and
//! writes a markdown table (trips, arrivals, mean duration, vehicle updates per second, wall
//! times). With `--msa N` the routes first go through `N` iterations of the method of
//! successive averages (each a simulation of the same hour with the same settings; see
//! `twin_traffic::assignment`) and the reported run uses the last iteration's routes.
//! Build with `--release --features demo`.

use anyhow::{Context, bail};
use std::time::Instant;
use twin_model::{Layer, RoadGraph};
use twin_traffic::city_demand::{PeakConfig, morning_peak_with_signal_plans};
use twin_traffic::demand::VehicleClass;
use twin_traffic::network::Network;
use twin_traffic::sim::{SimConfig, Simulation, VehicleState};

fn main() -> anyhow::Result<()> {
    let mut cfg = PeakConfig {
        trips: 101_000, // about 0.35 % are same-node trips, dropped
        ..PeakConfig::default()
    };
    let mut end = 3600.0;
    let mut sim_cfg = SimConfig {
        reroute_period: 120.0,
        reroute_fraction: 0.5,
        ..SimConfig::default()
    };
    let mut out = None;
    let mut msa_iterations = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--trips" => cfg.trips = val()?.parse().context("--trips expects a count")?,
            "--seed" => cfg.seed = val()?.parse().context("--seed expects an integer")?,
            "--end" => end = val()?.parse().context("--end expects seconds")?,
            "--phf" => cfg.peak_hour_factor = val()?.parse().context("--phf expects a factor")?,
            "--reroute-period" => {
                sim_cfg.reroute_period = val()?.parse().context("--reroute-period expects s")?
            }
            "--informed" => {
                sim_cfg.reroute_fraction = val()?.parse().context("--informed expects 0..1")?
            }
            "--msa" => msa_iterations = val()?.parse().context("--msa expects a count")?,
            "--beta" => cfg.beta_per_min = val()?.parse().context("--beta expects 1/min")?,
            "-h" | "--help" => {
                println!(
                    "demo_peak [--trips N] [--seed S] [--end SECONDS] [--beta PER_MIN] [--phf F] [--reroute-period S] [--informed SHARE] [--msa N] OUT.md"
                );
                return Ok(());
            }
            p if !p.starts_with('-') && out.is_none() => out = Some(p.to_string()),
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    let Some(out) = out else {
        bail!("an output path for the markdown table is required (see --help)");
    };
    let t = Instant::now();
    let city = twin_citygen::generate(&Default::default());
    let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    let mut net =
        Network::from_road_graph(&g).context("building the network from the road layer")?;
    let t_city = t.elapsed().as_secs_f64();
    let (nodes, links, mvs) = (net.node_count(), net.link_count(), net.movement_count());
    let sigs = net.signals.len();
    let t = Instant::now();
    let d = morning_peak_with_signal_plans(&city, &mut net, &cfg, 2);
    let cycles: Vec<f64> = net.signals.iter().map(|p| p.cycle).collect();
    let (cmin, cmax) = cycles
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), &c| (a.min(c), b.max(c)));
    let t_demand = t.elapsed().as_secs_f64();
    let n = d.demand.trips.len();
    let class_count = |c: VehicleClass| {
        d.demand
            .trips
            .iter()
            .filter(|t| d.demand.types[t.vtype].class == c)
            .count()
    };
    let moto = class_count(VehicleClass::Motorbike);
    let cars = class_count(VehicleClass::Car);
    let (same_node, unroutable) = (d.same_node, d.unroutable.len());
    // Equilibrium route choice (optional): MSA over simulations of the same hour.
    let t = Instant::now();
    let (demand, msa_log) = if msa_iterations > 0 {
        twin_traffic::assignment::msa(
            &net,
            &d.demand,
            &twin_traffic::assignment::MsaConfig {
                iterations: msa_iterations,
                sim: sim_cfg.clone(),
                end: Some(end),
            },
        )
    } else {
        (d.demand, Vec::new())
    };
    let t_msa = t.elapsed().as_secs_f64();
    let msa_text = if msa_log.is_empty() {
        String::from("Routes: incremental loading on time-dependent link costs (no MSA).\n")
    } else {
        let mut s = format!(
            "Routes: {msa_iterations} MSA iterations ({t_msa:.1} s wall); per iteration arrived / mean time (s) / relative gap / teleports / switched:"
        );
        for it in &msa_log {
            s += &format!(
                " {}: {} / {:.0} / {:.3} / {} / {};",
                it.iteration,
                it.arrived,
                it.mean_travel_time,
                it.relative_gap,
                it.teleports,
                it.switched
            );
        }
        s.pop();
        s + ".\n"
    };
    let t = Instant::now();
    let mut sim = Simulation::new(net, demand, sim_cfg.clone());
    let t_setup = t.elapsed().as_secs_f64();
    let t = Instant::now();
    sim.run(Some(end));
    let wall = t.elapsed().as_secs_f64();
    let r = sim.trip_results();
    let arrived: Vec<_> = r
        .iter()
        .filter(|t| t.state == VehicleState::Arrived)
        .collect();
    let departed = r.iter().filter(|t| t.depart.is_finite()).count();
    let na = arrived.len().max(1) as f64;
    let mean_dur = arrived.iter().map(|t| t.duration()).sum::<f64>() / na;
    let mean_len = arrived.iter().map(|t| t.route_length).sum::<f64>() / na;
    // Space-mean speed of every vehicle that departed: links entered over time on the network
    // (the link a running vehicle is on counts whole).
    let (dist, time) = r
        .iter()
        .filter(|t| t.depart.is_finite())
        .fold((0.0, 0.0), |(d, s), t| {
            let until = if t.arrival.is_finite() {
                t.arrival
            } else {
                end
            };
            (d + t.route_length, s + (until - t.depart))
        });
    let net_kmh = dist / time.max(1e-9) * 3.6;
    let c = sim.counters();
    let ups = c.vehicle_updates as f64 / wall.max(1e-9);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let table = format!(
        "# Traffic engine on the demo city's morning peak\n\n\
Command: `cargo run --release -p twin-traffic --features demo --bin demo_peak -- --trips {trips} --seed {seed} --end {end} --phf {phf} --reroute-period {period} --informed {informed}{msa_arg} OUT.md`\n\
(machine: {threads} hardware threads; the simulation loop runs on one, the rerouting trees on all).\n\n\
Network from the demo district's road layer: {nodes} nodes, {links} links, {mvs} movements, {sigs} fixed-time signals.\n\
Demand: {drawn} trips drawn by the gravity model (β = {beta}/min), {same_node} dropped (origin and destination on the same node), {unroutable} unroutable; \
{n} simulated ({moto} motorbikes, {cars} cars, the rest buses and trucks), departures over 0–3600 s with peak hour factor {phf}. \
En-route rerouting: {informed} of drivers informed, every {period} s. \
Signal plans retimed by Webster's method for the peak's movement flows (2 rounds of routing and timing): cycles {cmin:.0}–{cmax:.0} s.\n\
{msa_text}\n\
| quantity | value |\n|---|---|\n\
| trips simulated | {n} |\n\
| departed by {end} s | {departed} |\n\
| arrived by {end} s | {arr} |\n\
| mean duration of arrived trips (s) | {mean_dur:.1} |\n\
| mean speed of arrived trips (km/h) | {kmh:.1} |\n\
| space-mean speed of all departed vehicles (km/h) | {net_kmh:.1} |\n\
| en-route reroutes | {rer} |\n\
| teleports (held > 300 s by a full link) | {tele} |\n\
| vehicle updates | {upd} |\n\
| vehicle updates per second | {ups:.0} |\n\
| wall time, simulation loop (s) | {wall:.2} |\n\
| wall time, city + network (s) | {t_city:.2} |\n\
| wall time, demand and routing (s) | {t_demand:.2} |\n\
| wall time, simulation set-up (s) | {t_setup:.2} |\n\
| wall time, MSA iterations (s) | {t_msa:.2} |\n\n\
Bar (issue 5): one hour of ≥ 100,000 trips in under 30 s on 2 cores: **{verdict}** \
({total:.1} s from demand to the end of the hour{msa_extra}).\n",
        trips = cfg.trips,
        msa_extra = if msa_iterations > 0 {
            format!(", plus {t_msa:.1} s of MSA iterations")
        } else {
            String::new()
        },
        msa_arg = if msa_iterations > 0 {
            format!(" --msa {msa_iterations}")
        } else {
            String::new()
        },
        seed = cfg.seed,
        drawn = cfg.trips,
        beta = cfg.beta_per_min,
        phf = cfg.peak_hour_factor,
        informed = sim_cfg.reroute_fraction,
        period = sim_cfg.reroute_period,
        arr = arrived.len(),
        kmh = mean_len / mean_dur * 3.6,
        tele = c.teleports,
        rer = c.reroutes,
        upd = c.vehicle_updates,
        total = t_demand + t_setup + wall,
        verdict = if n >= 100_000 && t_demand + t_setup + wall < 30.0 && end >= 3600.0 {
            "met"
        } else {
            "not met"
        },
    );
    print!("{table}");
    std::fs::write(&out, &table).with_context(|| format!("writing {out}"))?;
    Ok(())
}
