//! # twin-traffic
//!
//! Mesoscopic traffic simulation for the city twin: vehicles with routes on a network of link
//! queues, gated by signals at junctions, with closures and speed caps set from outside and
//! en-route rerouting around closures.
//!
//! Entry points:
//! * [`sumo_net::parse_net`] and [`sumo_routes::parse_routes`] read SUMO files from text;
//! * [`network::Network::from_sumo`] builds the model network ([`sumo_import`]; what it runs
//!   differently from the file is in [`network::Network::import_warnings`]),
//!   [`demand::build_demand`] routes the trips (unroutable ones come back with a reason);
//! * [`network::Network::from_road_graph`] builds it from the city model's road graph instead
//!   ([`road_net`]: turns, signal plans, priority), [`signal_timing`] retimes its plans
//!   ([`signal`]) for a demand, and [`city_demand::morning_peak`] draws a morning peak from
//!   the city's buildings, workplaces and schools (gravity model);
//! * [`sim::Simulation`] steps the model; [`output`] writes trips, link statistics and a summary;
//! * [`run_sumo`] does all of that for a SUMO network and route file; [`run_msa`] first
//!   improves the routes by the method of successive averages ([`assignment`]).
//!
//! Invariants: no file I/O (text in, `io::Write` out); no panic on user data (errors name the
//! element, attribute and line); the same input gives the same output; nothing in an input is
//! run differently or skipped without a warning naming it; no import cycle between files.

#![warn(missing_docs)]

pub mod assignment;
pub mod city_demand;
pub mod demand;
pub mod error;
pub mod network;
pub mod od;
pub mod output;
pub mod road_net;
pub mod routing;
pub mod signal;
pub mod signal_timing;
pub mod sim;
pub mod sumo_import;
pub mod sumo_net;
pub mod sumo_routes;
mod xml;

pub use error::{Result, TrafficError};

use demand::{Unroutable, build_demand};
use network::Network;
use output::Summary;
use sim::{SimConfig, Simulation};

/// A finished run.
#[derive(Debug)]
pub struct RunOutput {
    /// Final state (trip results, link statistics, counters).
    pub sim: Simulation,
    /// Trips that could not be routed, with reasons.
    pub unroutable: Vec<Unroutable>,
    /// Headline numbers.
    pub summary: Summary,
}

/// Parse a SUMO network and route file, simulate until every vehicle is done or `end`, and
/// summarise. Wall time covers the simulation loop only (not parsing or routing), as SUMO's
/// own UPS figure does.
pub fn run_sumo(
    net_xml: &str,
    routes_xml: &str,
    cfg: SimConfig,
    end: Option<f64>,
) -> Result<RunOutput> {
    let net = Network::from_sumo(&sumo_net::parse_net(net_xml)?)?;
    let rf = sumo_routes::parse_routes(routes_xml)?;
    Ok(run(net, &rf, cfg, end))
}

/// Route the trips of `rf` on `net`, improve the routes by `iterations` days of the method of
/// successive averages ([`assignment::msa`]), then simulate and summarise the final routes
/// (see [`run`]). Returns what each MSA iteration measured as well.
pub fn run_msa(
    net: Network,
    rf: &sumo_routes::RouteFile,
    cfg: SimConfig,
    end: Option<f64>,
    iterations: usize,
) -> (RunOutput, Vec<assignment::MsaIteration>) {
    let (demand, unroutable) = build_demand(&net, rf);
    let (demand, log) = assignment::msa(
        &net,
        &demand,
        &assignment::MsaConfig {
            iterations,
            sim: cfg.clone(),
            end,
        },
    );
    let mut out = simulate(net, demand, unroutable, cfg, end, &mut |_| {});
    out.summary.ignored = rf.ignored_by_element();
    (out, log)
}

/// Simulate an already routed `demand` (improved first by `msa_iterations` days of the
/// method of successive averages if that is above 0) and summarise; `unroutable` is passed
/// through to the summary.
pub fn run_demand(
    net: Network,
    demand: demand::Demand,
    unroutable: Vec<Unroutable>,
    cfg: SimConfig,
    end: Option<f64>,
    msa_iterations: usize,
) -> (RunOutput, Vec<assignment::MsaIteration>) {
    let runs = Runs {
        end,
        msa_iterations,
    };
    run_demand_with_progress(net, demand, unroutable, cfg, runs, &mut |_| {})
}

/// How a routed demand is run: the simulation's end and the days of successive averages
/// before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Runs {
    /// End of the simulation, s (`None`: until every vehicle is done).
    pub end: Option<f64>,
    /// Days of the method of successive averages before the final run.
    pub msa_iterations: usize,
}

/// As [`run_demand`], reporting the share of the work done: each day of successive averages
/// and the final run count as one part each, the final run's share measured as it goes.
pub fn run_demand_with_progress(
    net: Network,
    demand: demand::Demand,
    unroutable: Vec<Unroutable>,
    cfg: SimConfig,
    runs: Runs,
    progress: &mut dyn FnMut(f64),
) -> (RunOutput, Vec<assignment::MsaIteration>) {
    let Runs {
        end,
        msa_iterations,
    } = runs;
    let parts = (msa_iterations + 1) as f64;
    if msa_iterations == 0 {
        return (
            simulate(net, demand, unroutable, cfg, end, progress),
            Vec::new(),
        );
    }
    let (demand, log) = assignment::msa_with_progress(
        &net,
        &demand,
        &assignment::MsaConfig {
            iterations: msa_iterations,
            sim: cfg.clone(),
            end,
        },
        &mut |f| progress(f * msa_iterations as f64 / parts),
    );
    let mut last = |f: f64| progress((msa_iterations as f64 + f) / parts);
    (simulate(net, demand, unroutable, cfg, end, &mut last), log)
}

fn simulate(
    net: Network,
    demand: demand::Demand,
    unroutable: Vec<Unroutable>,
    cfg: SimConfig,
    end: Option<f64>,
    progress: &mut dyn FnMut(f64),
) -> RunOutput {
    let mut sim = Simulation::new(net, demand, cfg);
    let start = std::time::Instant::now();
    sim.run_with_progress(end, progress);
    let wall = start.elapsed().as_secs_f64();
    let summary = Summary::new(
        &sim.trip_results(),
        sim.counters(),
        &unroutable,
        sim.time(),
        wall,
    );
    RunOutput {
        sim,
        unroutable,
        summary,
    }
}

/// Route the trips of `rf` on `net`, simulate until every vehicle is done or `end`, and
/// summarise (see [`run_sumo`]).
pub fn run(
    net: Network,
    rf: &sumo_routes::RouteFile,
    cfg: SimConfig,
    end: Option<f64>,
) -> RunOutput {
    let (demand, unroutable) = build_demand(&net, rf);
    let mut out = simulate(net, demand, unroutable, cfg, end, &mut |_| {});
    out.summary.ignored = rf.ignored_by_element();
    out
}
