//! `twin scenario ensemble SCENARIO.toml`: the scenario file's members (rain scaled and
//! shifted, own traffic seeds) run on threads of this machine, or with `--mpi` (feature `mpi`)
//! as one MPI job whose ranks share the members; their outcomes summarised into
//! `ensemble.json`, `roads_probability.csv`, the probability map and `report.html`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use twin_engine::ensemble::{
    DEPTH_M, EnsembleError, EnsembleSpec, EnsembleSummary, Member, MemberOutcome, member_plan,
    perturb, run_members, summarize,
};
use twin_engine::scenario::{ScenarioSpec, clock};
use twin_io::atomic::OutDir;
use twin_model::Raster;

use crate::flood_cmd::{PreparedFile, file_network, prepare_file};

/// The flags of an ensemble.
pub(crate) struct EnsembleArgs<'a> {
    pub file: &'a Path,
    pub members: usize,
    pub jobs: Option<usize>,
    pub seed: Option<u64>,
    pub rain_scale: Option<(f64, f64)>,
    pub shift_min: f64,
    pub mpi: bool,
}

/// The ensemble the flags ask for (seed: the scenario's traffic seed unless given).
fn ensemble_spec(a: &EnsembleArgs<'_>, scenario_seed: u64) -> Result<EnsembleSpec> {
    let d = EnsembleSpec::default();
    let spec = EnsembleSpec {
        members: a.members,
        rain_scale: a.rain_scale.unwrap_or(d.rain_scale),
        shift_min: a.shift_min,
        seed: a.seed.unwrap_or(scenario_seed),
    };
    spec.validate().map_err(|e| match (&e, a.members) {
        (_, 0) | (_, 257..) => anyhow::anyhow!("--members {}: {e}", a.members),
        _ => anyhow::anyhow!("{e}"),
    })?;
    Ok(spec)
}

/// `twin scenario ensemble`.
pub(crate) fn run(a: &EnsembleArgs<'_>, out: &Path) -> Result<()> {
    // Flags are checked before anything is read.
    ensemble_spec(a, 0)?;
    if a.jobs == Some(0) {
        bail!("--jobs 0: at least one member runs at a time");
    }
    if a.mpi {
        #[cfg(feature = "mpi")]
        return mpi_run::run(a, out);
        #[cfg(not(feature = "mpi"))]
        bail!(
            "--mpi: this twin was built without MPI; build it with `cargo build -p twin-cli --features mpi` (needs OpenMPI: Debian libopenmpi-dev)"
        );
    }
    let p = prepare_file(a.file)?;
    let ens = ensemble_spec(a, p.file.seed)?;
    ens.check_scenario(&p.spec).map_err(|e| at(a.file, &e))?;
    let jobs = jobs(&p, a.jobs, ens.members, 1)?;
    let mut dir = OutDir::begin(out)?;
    let plan = member_plan(&ens);
    let started = std::time::Instant::now();
    let pb = members_bar(plan.len(), "");
    let outcomes = run_members(&p.city, &plan, |m| member_spec(&p, m), jobs, &|done| {
        pb.set_position(done as u64)
    })
    .map_err(|e| at(a.file, &e))?;
    pb.finish_and_clear();
    let run =
        serde_json::json!({"ranks": 1, "jobs": jobs, "wall_s": started.elapsed().as_secs_f64()});
    write(&p, &ens, &plan, &outcomes, run, &mut dir)?;
    dir.commit("twin scenario ensemble")?;
    println!(
        "Báo cáo / Report: wrote {}",
        out.join("report.html").display()
    );
    Ok(())
}

/// An error of the ensemble, named by the scenario file.
fn at(file: &Path, e: &EnsembleError) -> anyhow::Error {
    anyhow::anyhow!("{}: {e}", file.display())
}

/// Members run at once: as asked, else as many as the cores and the free memory allow
/// (`default` at most, e.g. 1 per MPI rank).
fn jobs(p: &PreparedFile, asked: Option<usize>, members: usize, ranks: usize) -> Result<usize> {
    let dem = p
        .city
        .dem
        .as_ref()
        .with_context(|| format!("{}: the city has no DEM", p.city_path.display()))?;
    let need = twin_engine::storm::memory_bytes(dem.nx * dem.ny).max(1);
    let free = crate::available_memory();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_rank = members.div_ceil(ranks.max(1)).max(1);
    let jobs = match asked {
        Some(j) => j.min(per_rank),
        None => {
            let fit = free.map_or(usize::MAX, |f| (f / need) as usize).max(1);
            let base = if ranks > 1 { 1 } else { cores };
            base.min(per_rank).min(fit)
        }
    };
    if let Some(free) = free
        && need.saturating_mul(jobs as u64) > free
    {
        bail!(
            "{jobs} member(s) at once on a grid of {} × {} cells need about {:.1} GB, more than the {:.1} GB free; use fewer --jobs, a coarser cell or a smaller area",
            dem.nx,
            dem.ny,
            need as f64 * jobs as f64 / 1e9,
            free as f64 / 1e9
        );
    }
    Ok(jobs)
}

/// A bar of the members finished.
fn members_bar(n: usize, what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(n as u64);
    pb.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} members / thành viên{what}, {{elapsed}} elapsed, ETA {{eta}}"
        ))
        .expect("template"),
    );
    pb.tick();
    pb
}

/// A member's scenario: [`perturb`], and for a coupled file the network rebuilt with its
/// interventions' clock times placed against the member's rain start.
fn member_spec(p: &PreparedFile, m: &Member) -> Result<ScenarioSpec, EnsembleError> {
    let mut s = perturb(&p.spec, m);
    if p.file.couple {
        let (net, _) = file_network(
            &p.path,
            &p.file,
            &p.city,
            &p.city_path,
            &s.storm.flood.rain,
            s.rain_start_min,
        )
        .map_err(|e| EnsembleError::Setup {
            index: m.index,
            message: format!("{e:#}"),
        })?;
        s.storm.network = Some(net);
    }
    Ok(s)
}

/// A name for a CSV field (commas and quotes become spaces, as in `roads.csv`).
fn csv_name(n: Option<&str>) -> String {
    n.unwrap_or_default().replace(['"', ','], " ")
}

/// Writes the ensemble's files into `dir` and prints its summary.
fn write(
    p: &PreparedFile,
    ens: &EnsembleSpec,
    plan: &[Member],
    outcomes: &[MemberOutcome],
    run: serde_json::Value,
    dir: &mut OutDir,
) -> Result<()> {
    let s = summarize(outcomes).map_err(|e| at(&p.path, &e))?;
    if s.members != plan.len() {
        bail!("{} member outcomes for a plan of {}", s.members, plan.len());
    }
    let dem = p
        .city
        .dem
        .as_ref()
        .with_context(|| format!("{}: the city has no DEM", p.city_path.display()))?;
    if s.grid != (dem.nx, dem.ny) {
        bail!(
            "the members' grid is {} × {}, the DEM's {} × {}",
            s.grid.0,
            s.grid.1,
            dem.nx,
            dem.ny
        );
    }
    // The probability map on the DEM's grid.
    let nodata = twin_engine::flood::NODATA;
    let mut prob: Raster = dem.clone();
    prob.nodata = Some(nodata);
    for ((v, z), pc) in prob.data.iter_mut().zip(&dem.data).zip(&s.p_cells) {
        *v = if dem.is_nodata(*z) { nodata } else { *pc };
    }
    let cell_area = dem.cell * dem.cell;
    let valid = |v: &&f32| !prob.is_nodata(**v);
    let area_any = prob.data.iter().filter(valid).filter(|v| **v > 0.0).count() as f64 * cell_area;
    let area_half = prob
        .data
        .iter()
        .filter(valid)
        .filter(|v| **v >= 0.5)
        .count() as f64
        * cell_area;
    twin_io::raster::write_geotiff(&prob, p.city.crs, &dir.file("p_depth_ge_0.3.tif"))?;
    let img = twin_report::ensemble::probability_map(dem, &prob);
    twin_io::raster::write_png(
        &img.data,
        img.width,
        img.height,
        &dir.file("p_depth_ge_0.3.png"),
    )?;

    // roads_probability.csv: most likely closed first.
    let mut roads: Vec<_> = s.roads.iter().collect();
    roads.sort_by(|a, b| {
        b.p_closed
            .total_cmp(&a.p_closed)
            .then(b.p_depth.total_cmp(&a.p_depth))
            .then(a.feature.cmp(&b.feature))
    });
    let mut csv = String::from(
        "feature,name,p_depth_ge_0.3,p_closed,members_depth_ge_0.3,members_closed,median_max_depth_m\n",
    );
    for r in &roads {
        csv += &format!(
            "{},{},{},{},{},{},{:.3}\n",
            r.feature.0,
            csv_name(r.name.as_deref()),
            r.p_depth,
            r.p_closed,
            r.members_depth,
            r.members_closed,
            r.median_depth_m
        );
    }
    twin_io::atomic::write_text(&dir.file("roads_probability.csv"), &csv)?;

    let json = ensemble_json(p, ens, outcomes, &s, area_any, area_half, run);
    twin_io::atomic::write_text(
        &dir.file("ensemble.json"),
        &serde_json::to_string_pretty(&json)?,
    )?;
    let page = twin_report::ensemble::ensemble_html(&twin_report::ensemble::EnsembleReport {
        city: p.city.name.clone(),
        scenario: p
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        interventions: p.extras.interventions.clone(),
        rain_start_min: p.spec.rain_start_min,
        rain_scale: ens.rain_scale,
        shift_min: ens.shift_min,
        seed: ens.seed,
        members: plan.to_vec(),
        kpis: s.kpis.clone(),
        roads: s.roads.clone(),
        gauges: s.gauges.clone(),
        area_half_m2: area_half,
        area_any_m2: area_any,
        map: "p_depth_ge_0.3.png".into(),
    });
    twin_io::atomic::write_text(&dir.file("report.html"), &page)?;
    twin_io::atomic::write_text(&dir.file("scenario.toml"), &p.text)?;
    print_summary(ens, &s, area_half);
    Ok(())
}

/// `ensemble.json`: the plan, each member's figures, roads and gauges, and the summary.
fn ensemble_json(
    p: &PreparedFile,
    ens: &EnsembleSpec,
    outcomes: &[MemberOutcome],
    s: &EnsembleSummary,
    area_any: f64,
    area_half: f64,
    run: serde_json::Value,
) -> serde_json::Value {
    let mut sorted: Vec<&MemberOutcome> = outcomes.iter().collect();
    sorted.sort_by_key(|o| o.member.index);
    let members: Vec<serde_json::Value> = sorted
        .iter()
        .map(|o| {
            let kpis: serde_json::Map<String, serde_json::Value> = o
                .kpis
                .iter()
                .map(|k| (k.key.clone(), serde_json::json!(k.value)))
                .collect();
            serde_json::json!({
                "index": o.member.index,
                "rain_scale": o.member.rain_scale,
                "shift_min": o.member.shift_min,
                "rain_start": clock(p.spec.rain_start_min + o.member.shift_min),
                "traffic_seed": o.member.traffic_seed,
                "wall_s": o.wall_s,
                "kpis": kpis,
                "cells_depth_ge_0.3": o.wet_cells.len(),
                "roads": o.roads.iter().map(|r| serde_json::json!({
                    "feature": r.feature.0, "max_depth_m": r.max_depth_m, "closed": r.closed,
                })).collect::<Vec<_>>(),
                "gauges": o.gauges,
            })
        })
        .collect();
    serde_json::json!({
        "scenario": p.path.file_name().map(|n| n.to_string_lossy().to_string()),
        "city": p.city.name,
        "depth_threshold_m": DEPTH_M,
        "percentiles": "linear interpolation between order statistics (Hyndman and Fan type 7)",
        "ensemble": {
            "members": ens.members,
            "rain_scale": [ens.rain_scale.0, ens.rain_scale.1],
            "shift_min": ens.shift_min,
            "seed": ens.seed,
            "rain_start": clock(p.spec.rain_start_min),
        },
        "run": run,
        "members": members,
        "summary": {
            "members": s.members,
            "kpis": s.kpis,
            "roads": s.roads.iter().map(|r| serde_json::json!({
                "feature": r.feature.0,
                "name": r.name,
                "p_depth_ge_0.3": r.p_depth,
                "p_closed": r.p_closed,
                "members_depth_ge_0.3": r.members_depth,
                "members_closed": r.members_closed,
                "median_max_depth_m": r.median_depth_m,
            })).collect::<Vec<_>>(),
            "gauges": s.gauges.iter().map(|g| serde_json::json!({
                "gauge": g.gauge,
                "p_rise_ge_0.3": g.p_rise,
                "members_rise_ge_0.3": g.members_rise,
                "rise_m": {"median": g.rise_m[0], "p10": g.rise_m[1], "p90": g.rise_m[2]},
            })).collect::<Vec<_>>(),
            "cells": {
                "grid": [s.grid.0, s.grid.1],
                "area_any_m2": area_any,
                "area_half_m2": area_half,
            },
        },
    })
}

/// Prints the ensemble's headline figures.
fn print_summary(ens: &EnsembleSpec, s: &EnsembleSummary, area_half: f64) {
    println!(
        "Tổ hợp / Ensemble: {} thành viên / members (mưa / rain × {:.2}–{:.2}, ± {:.0} min, seed {})",
        s.members, ens.rain_scale.0, ens.rain_scale.1, ens.shift_min, ens.seed
    );
    let likely = s.roads.iter().filter(|r| r.p_closed >= 0.5).count();
    let ever = s.roads.iter().filter(|r| r.p_closed > 0.0).count();
    println!(
        "  Đoạn đường bị đóng / road segments closed: {ever} in some member, {likely} in at least half; ≥ 30 cm in at least half the members over {:.3} km²",
        area_half / 1e6
    );
    let num = |x: f64| {
        if x.abs() >= 100.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.2}")
        }
    };
    println!("  Trung vị (khoảng 10–90 %) / median (10–90 % range):");
    for k in &s.kpis {
        if let (Some(m), Some(lo), Some(hi)) = (k.median, k.p10, k.p90) {
            let (vi, en, unit) = twin_report::ensemble::kpi_label(&k.key);
            println!(
                "    {vi} / {en}: {}{}{unit} ({}–{})",
                num(m),
                if unit.is_empty() { "" } else { " " },
                num(lo),
                num(hi)
            );
        }
    }
}

/// The ensemble as one MPI job: rank `r` of `size` runs members `r, r + size, …` on its
/// threads; every rank's outcomes (or its error) go to rank 0 as JSON bytes, and rank 0
/// writes the folder. Every rank reads the scenario file and the city (a shared file system).
#[cfg(feature = "mpi")]
mod mpi_run {
    use super::*;
    use mpi::collective::SystemOperation;
    use mpi::datatype::PartitionMut;
    use mpi::traits::*;

    /// What a rank sends to rank 0.
    type RankResult = std::result::Result<Vec<MemberOutcome>, String>;

    pub(super) fn run(a: &EnsembleArgs<'_>, out: &Path) -> Result<()> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .context("MPI could not be initialised (start twin under mpirun)")?;
        let world = universe.world();
        let (rank, size) = (world.rank(), world.size());
        let root = world.process_at_rank(0);

        // Every rank prepares; rank 0 also opens the output folder. All stop if any failed.
        let prepared = prepare_file(a.file).and_then(|p| {
            let ens = ensemble_spec(a, p.file.seed)?;
            ens.check_scenario(&p.spec).map_err(|e| at(a.file, &e))?;
            let jobs = jobs(&p, a.jobs, ens.members, size as usize)?;
            Ok((p, ens, jobs))
        });
        let mut dir = match (&prepared, rank) {
            (Ok(_), 0) => Some(OutDir::begin(out)),
            _ => None,
        };
        let ok = i32::from(prepared.is_ok() && dir.as_ref().is_none_or(|d| d.is_ok()));
        let mut all_ok = 0i32;
        world.all_reduce_into(&ok, &mut all_ok, SystemOperation::min());
        let (p, ens, jobs) = match prepared {
            Err(e) => return Err(e),
            Ok(_) if all_ok == 0 => {
                if let Some(Err(e)) = dir.take() {
                    return Err(e.into());
                }
                bail!("rank {rank}: another rank could not prepare the ensemble (see its message)");
            }
            Ok(x) => x,
        };

        let plan = member_plan(&ens);
        let mine: Vec<Member> = plan
            .iter()
            .filter(|m| m.index % size as usize == rank as usize)
            .cloned()
            .collect();
        let started = std::time::Instant::now();
        let pb = members_bar(mine.len(), if rank == 0 { " (rank 0)" } else { "" });
        if rank != 0 {
            pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let result: RankResult =
            run_members(&p.city, &mine, |m| member_spec(&p, m), jobs, &|done| {
                pb.set_position(done as u64)
            })
            .map_err(|e| format!("rank {rank}: {}", at(a.file, &e)));
        pb.finish_and_clear();
        let bytes = serde_json::to_vec(&result).context("outcomes as JSON")?;
        let len =
            i32::try_from(bytes.len()).context("a rank's outcomes exceed 2 GB; use more ranks")?;

        if rank != 0 {
            root.gather_into(&len);
            root.gather_varcount_into(&bytes[..]);
            return result.map(|_| ()).map_err(|e| anyhow::anyhow!(e));
        }
        let mut counts = vec![0i32; size as usize];
        root.gather_into_root(&len, &mut counts[..]);
        let displs: Vec<i32> = counts
            .iter()
            .scan(0i32, |acc, c| {
                let d = *acc;
                *acc += c;
                Some(d)
            })
            .collect();
        let total: usize = counts.iter().map(|c| *c as usize).sum();
        let mut buf = vec![0u8; total];
        {
            let mut part = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
            root.gather_varcount_into_root(&bytes[..], &mut part);
        }
        let mut outcomes = Vec::new();
        for (r, (c, d)) in counts.iter().zip(&displs).enumerate() {
            let slice = &buf[*d as usize..(*d + *c) as usize];
            let got: RankResult = serde_json::from_slice(slice)
                .with_context(|| format!("rank {r}: its outcomes could not be read"))?;
            outcomes.extend(got.map_err(|e| anyhow::anyhow!(e))?);
        }
        let Some(Ok(mut dir)) = dir else {
            bail!("rank 0 has no output folder");
        };
        let run = serde_json::json!({
            "ranks": size, "jobs": jobs, "wall_s": started.elapsed().as_secs_f64(),
        });
        write(&p, &ens, &plan, &outcomes, run, &mut dir)?;
        dir.commit("twin scenario ensemble --mpi")?;
        println!(
            "Báo cáo / Report: wrote {} ({size} MPI ranks)",
            out.join("report.html").display()
        );
        Ok(())
    }
}
