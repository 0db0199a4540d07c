//! Report-step results, continuity and summaries, and their writers.
//!
//! Results are sampled at report times by linear interpolation between the
//! routing states that bracket each report time, as SWMM writes its binary
//! output. All reported values are SI: depths and heads in m, flows in m³/s,
//! velocities in m/s, flooding in m³/s, volumes in m³, times in seconds from
//! the simulation start.

use std::io::Write;

use crate::engine::{Engine, NodeKind};

const FT: f64 = 0.3048;
const CFS: f64 = 0.028_316_846_592;

/// Results of a run at report steps (SI units), stored flat `[period][object]`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Report times (s from start).
    pub times: Vec<f64>,
    /// Node names.
    pub node_names: Vec<String>,
    /// Link names.
    pub link_names: Vec<String>,
    /// Node depth above invert (m).
    pub node_depth: Vec<f64>,
    /// Node hydraulic head (m).
    pub node_head: Vec<f64>,
    /// Node flooding rate (m³/s).
    pub node_flooding: Vec<f64>,
    /// Link flow (m³/s), positive in the input's from→to direction.
    pub link_flow: Vec<f64>,
    /// Link velocity (m/s).
    pub link_velocity: Vec<f64>,
    /// Subcatchment names.
    pub subcatch_names: Vec<String>,
    /// Subcatchment runoff (m³/s), interpolated between runoff steps as SWMM reports it.
    pub subcatch_runoff: Vec<f64>,
    /// Subcatchment evaporation over the last runoff step (mm/day over the area).
    pub subcatch_evap: Vec<f64>,
    /// Subcatchment infiltration over the last runoff step (mm/h over the area).
    pub subcatch_infil: Vec<f64>,
    /// Potential evaporation rate (mm/day), one value per report time.
    pub evap_rate: Vec<f64>,
}

/// Per-node flooding and surcharge statistics over the whole run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NodeStats {
    /// Maximum depth (m).
    pub max_depth: f64,
    /// Flooded volume (m³).
    pub flood_volume: f64,
    /// Hours with flooding.
    pub hours_flooded: f64,
    /// Hours surcharged (water above the highest connecting crown).
    pub hours_surcharged: f64,
}

/// Whole-run summary.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// Runoff quantity continuity error (%), if the model has subcatchments.
    pub runoff_continuity_error_pct: Option<f64>,
    /// Flow routing continuity error (%).
    pub routing_continuity_error_pct: f64,
    /// Total flooding volume (m³).
    pub flooding_volume_m3: f64,
    /// Total outfall volume (m³).
    pub outflow_volume_m3: f64,
    /// Wall-clock run time (s).
    pub run_time_s: f64,
    /// Routing steps taken.
    pub steps: u64,
    /// Steps that did not converge.
    pub nonconverged_steps: u64,
    /// Per-node statistics, in node order.
    pub nodes: Vec<NodeStats>,
    /// The engine's warnings: what the model holds that the run ignored.
    pub warnings: Vec<String>,
}

/// Runs the engine to the end, sampling report steps; returns results and summary.
///
/// `wall_clock` returns elapsed seconds (the library does no timing itself so
/// it stays deterministic; pass `|| 0.0` when not needed).
pub fn run(engine: &mut Engine, wall_clock: &mut dyn FnMut() -> f64) -> (Report, Summary) {
    run_with_progress(engine, wall_clock, &mut |_| {})
}

/// Bytes the [`Report`] of a whole run of `engine` will take: every report step's node,
/// link and subcatchment values. Checked against free memory before a run starts.
pub fn report_bytes(engine: &Engine) -> u64 {
    let o = &engine.opt;
    let periods = ((o.duration - o.report_start).max(0.0) / o.report_step).ceil() + 1.0;
    let subcatch = engine.runoff.as_ref().map_or(0, |r| r.name.len());
    let per_period = 3 * engine.node_count() + 2 * engine.link_count() + 3 * subcatch + 2;
    let bytes = periods * (per_period * std::mem::size_of::<f64>()) as f64;
    if bytes >= u64::MAX as f64 {
        u64::MAX
    } else {
        bytes as u64
    }
}

/// [`run`], calling `progress` with the share of the simulated period done (0..1) at each
/// report step.
pub fn run_with_progress(
    engine: &mut Engine,
    wall_clock: &mut dyn FnMut() -> f64,
    progress: &mut (dyn FnMut(f64) + Send),
) -> (Report, Summary) {
    let nn = engine.node_count();
    let nl = engine.link_count();
    let t_start = wall_clock();
    let mut rep = Report {
        node_names: engine.nodes.name.clone(),
        link_names: engine.links.name.clone(),
        subcatch_names: engine
            .runoff
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default(),
        ..Default::default()
    };
    // The whole run enters the thread pool once, so each step's own entry
    // (Engine::step) runs in place.
    let stats = rayon::scope(|_| run_steps(engine, &mut rep, nn, nl, progress));
    let tot = engine.routing_totals();
    let summary = Summary {
        runoff_continuity_error_pct: engine.runoff.as_ref().map(|r| r.continuity_error()),
        routing_continuity_error_pct: engine.routing_continuity_error(),
        flooding_volume_m3: tot.flooding * CFS,
        outflow_volume_m3: tot.outflow * CFS,
        run_time_s: wall_clock() - t_start,
        steps: engine.step_count,
        nonconverged_steps: engine.nonconverged,
        nodes: stats,
        warnings: engine.warnings().iter().map(|w| w.to_string()).collect(),
    };
    (rep, summary)
}

/// Steps the engine to the end, sampling report steps; returns node statistics.
fn run_steps(
    engine: &mut Engine,
    rep: &mut Report,
    nn: usize,
    nl: usize,
    progress: &mut (dyn FnMut(f64) + Send),
) -> Vec<NodeStats> {
    let mut stats = vec![NodeStats::default(); nn];
    let rstep = engine.opt.report_step;
    let mut next_report = rstep;
    let rstart = engine.opt.report_start;
    loop {
        let dt = engine.advance();
        if dt <= 0.0 {
            break;
        }
        for (i, st) in stats.iter_mut().enumerate() {
            let n = &engine.nodes;
            st.max_depth = st.max_depth.max(n.new_depth[i] * FT);
            let of = n.overflow[i];
            if of > 0.0 {
                st.flood_volume += of * dt * CFS;
                st.hours_flooded += dt / 3600.0;
            }
            let crown = n.crown_elev[i] - n.invert[i];
            if !matches!(n.kind[i], NodeKind::Outfall { .. })
                && n.new_depth[i] + n.invert[i] > n.crown_elev[i]
                && crown > 0.0
            {
                st.hours_surcharged += dt / 3600.0;
            }
        }
        while engine.time >= next_report - 1e-6 && next_report <= engine.opt.duration + 1e-6 {
            if next_report >= rstart - 1e-6 {
                sample(engine, next_report, rep, nn, nl);
            }
            progress((next_report / engine.opt.duration).min(1.0));
            next_report += rstep;
        }
    }
    stats
}

fn sample(e: &Engine, t: f64, rep: &mut Report, nn: usize, nl: usize) {
    let span = e.time - e.old_time;
    let f = if span > 0.0 {
        ((t - e.old_time) / span).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let f1 = 1.0 - f;
    rep.times.push(t);
    let n = &e.nodes;
    for i in 0..nn {
        let d = (f1 * n.old_depth[i] + f * n.new_depth[i]) * FT;
        rep.node_depth.push(d);
        rep.node_head.push(d + n.invert[i] * FT);
        rep.node_flooding.push(n.overflow[i] * CFS);
    }
    let l = &e.links;
    for j in 0..nl {
        let y = f1 * l.old_depth[j] + f * l.new_depth[j];
        let mut q = f1 * l.old_flow[j] + f * l.new_flow[j];
        let is_conduit = l.is_conduit(j);
        if matches!(l.kind[j], crate::engine::LinkKind::Pump { .. })
            && l.old_flow[j] * l.new_flow[j] == 0.0
        {
            q = if f >= f1 {
                l.new_flow[j]
            } else {
                l.old_flow[j]
            };
        }
        let mut v = 0.0;
        if is_conduit && y > 0.01 {
            let a = l.xsect[j].a_of_y(y);
            if a > 1e-4 {
                v = q / l.barrels[j] / a;
            }
        }
        rep.link_flow.push(q * l.direction[j] * CFS);
        rep.link_velocity.push(v * l.direction[j] * FT);
    }
    // ft/s to mm/h and mm/day.
    const MM_H: f64 = 304.8 * 3600.0;
    rep.evap_rate.push(e.climate.evap_rate * MM_H * 24.0);
    if let Some(r) = &e.runoff {
        rep.subcatch_runoff
            .extend(r.reported_runoff(t).map(|q| q * CFS));
        for (ev, inf) in r.losses() {
            rep.subcatch_evap.push(ev * MM_H * 24.0);
            rep.subcatch_infil.push(inf * MM_H);
        }
    }
}

fn csv_name(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `time,node,depth,head,flooding` rows.
pub fn write_nodes_csv(rep: &Report, w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(w, "time,node,depth,head,flooding")?;
    let nn = rep.node_names.len();
    for (k, t) in rep.times.iter().enumerate() {
        for i in 0..nn {
            let x = k * nn + i;
            writeln!(
                w,
                "{t},{},{:.6},{:.6},{:.6}",
                csv_name(&rep.node_names[i]),
                rep.node_depth[x],
                rep.node_head[x],
                rep.node_flooding[x]
            )?;
        }
    }
    Ok(())
}

/// Writes `time,link,flow,velocity` rows.
pub fn write_links_csv(rep: &Report, w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(w, "time,link,flow,velocity")?;
    let nl = rep.link_names.len();
    for (k, t) in rep.times.iter().enumerate() {
        for j in 0..nl {
            let x = k * nl + j;
            writeln!(
                w,
                "{t},{},{:.6},{:.6}",
                csv_name(&rep.link_names[j]),
                rep.link_flow[x],
                rep.link_velocity[x]
            )?;
        }
    }
    Ok(())
}

/// Writes `time,subcatch,runoff,evap,infil` rows (m³/s, mm/day, mm/h).
pub fn write_subcatch_csv(rep: &Report, w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(w, "time,subcatch,runoff,evap,infil")?;
    let ns = rep.subcatch_names.len();
    for (k, t) in rep.times.iter().enumerate() {
        for j in 0..ns {
            let x = k * ns + j;
            writeln!(
                w,
                "{t},{},{:.9},{:.6},{:.6}",
                csv_name(&rep.subcatch_names[j]),
                rep.subcatch_runoff[x],
                rep.subcatch_evap[x],
                rep.subcatch_infil[x]
            )?;
        }
    }
    Ok(())
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

/// Writes the summary as JSON: continuity errors (%), run time, totals,
/// the engine's warnings (when there are any) and per-node flooding and
/// surcharge statistics.
pub fn write_summary_json(
    s: &Summary,
    node_names: &[String],
    w: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(w, "{{")?;
    writeln!(
        w,
        "  \"runoff_continuity_error_pct\": {},",
        s.runoff_continuity_error_pct
            .map(json_num)
            .unwrap_or_else(|| "null".into())
    )?;
    writeln!(
        w,
        "  \"routing_continuity_error_pct\": {},",
        json_num(s.routing_continuity_error_pct)
    )?;
    writeln!(w, "  \"run_time_s\": {},", json_num(s.run_time_s))?;
    writeln!(
        w,
        "  \"flooding_volume_m3\": {},",
        json_num(s.flooding_volume_m3)
    )?;
    writeln!(
        w,
        "  \"outflow_volume_m3\": {},",
        json_num(s.outflow_volume_m3)
    )?;
    writeln!(w, "  \"steps\": {},", s.steps)?;
    writeln!(w, "  \"nonconverged_steps\": {},", s.nonconverged_steps)?;
    // Only a model with warnings has the key, so other summaries stay as they were.
    if !s.warnings.is_empty() {
        let list: Vec<String> = s.warnings.iter().map(|m| json_str(m)).collect();
        writeln!(w, "  \"warnings\": [{}],", list.join(", "))?;
    }
    writeln!(w, "  \"nodes\": [")?;
    for (i, (n, st)) in node_names.iter().zip(&s.nodes).enumerate() {
        let comma = if i + 1 < s.nodes.len() { "," } else { "" };
        writeln!(
            w,
            "    {{\"node\": {}, \"max_depth_m\": {}, \"flood_volume_m3\": {}, \"hours_flooded\": {}, \"hours_surcharged\": {}}}{comma}",
            json_str(n),
            json_num(st.max_depth),
            json_num(st.flood_volume),
            json_num(st.hours_flooded),
            json_num(st.hours_surcharged)
        )?;
    }
    writeln!(w, "  ]")?;
    writeln!(w, "}}")?;
    Ok(())
}
