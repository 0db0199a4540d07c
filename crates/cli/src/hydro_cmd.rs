//! `twin hydro run` and `twin hydro rewrite`: a SWMM model through twin-hydro,
//! the one entry point users and the SWMM harness (`benches/swmm/run.sh`) share.

use anyhow::{Context, Result, bail};
use std::path::Path;
use twin_io::atomic::OutDir;

/// Reads a model's text (bytes that are not UTF-8 replaced, as SWMM reads any).
fn read_model(model: &Path) -> Result<String> {
    let bytes =
        std::fs::read(model).with_context(|| format!("{}: cannot read", model.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Writes `path` through a temporary file, so a failure leaves nothing behind.
fn write_file(
    path: &Path,
    f: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    twin_io::atomic::write_atomically(path, |tmp| {
        let file =
            std::fs::File::create(tmp).map_err(|e| twin_io::IoError::file(path, e.to_string()))?;
        let mut w = std::io::BufWriter::new(file);
        f(&mut w)
            .and_then(|()| std::io::Write::flush(&mut w))
            .map_err(|e| twin_io::IoError::file(path, e.to_string()))
    })?;
    Ok(())
}

/// Writes the file `name` into the run's hidden output folder.
fn write_into(
    dir: &mut OutDir,
    name: &str,
    f: &dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    let path = dir.file(name);
    let file = std::fs::File::create(&path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    f(&mut w)
        .and_then(|()| std::io::Write::flush(&mut w))
        .with_context(|| format!("{}/{name}: cannot write", dir.target().display()))
}

/// `twin hydro run MODEL.inp --out DIR`: runs the model and writes
/// `nodes.csv`, `links.csv`, `subcatch.csv` and `summary.json` (SI units,
/// seconds from start) with `manifest.json`, the folder whole or absent; the
/// engine's warnings go to stderr and the summary. A run whose results would
/// not fit in free memory is refused before it starts.
pub(crate) fn run(model: &Path, out: &Path) -> Result<()> {
    let text = read_model(model)?;
    // Rain, time series and climate files named in the model are relative to
    // its folder, as in SWMM.
    let dir = model.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut read = |path: &str| -> std::result::Result<String, String> {
        let p = dir.join(path);
        std::fs::read(&p)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    let at = || model.display().to_string();
    let mut out_dir = OutDir::begin(out)?;
    let mut engine = crate::step(&format!("reading {}", model.display()), || {
        let p = twin_hydro::parse(&text)
            .map_err(twin_hydro::RunError::from)
            .with_context(at)?;
        let files = twin_hydro::load_files(&p, &mut read)
            .map_err(twin_hydro::RunError::from)
            .with_context(at)?;
        twin_hydro::Engine::with_files(&p, &files)
            .map_err(twin_hydro::RunError::from)
            .with_context(at)
    })?;
    let need = twin_hydro::results::report_bytes(&engine);
    if let Some(free) = crate::available_memory()
        && need > free
    {
        bail!(
            "{}: the run's results ({:.0} days at a {} s report step, {} nodes, {} links) need \
             about {:.1} GB, more than the {:.1} GB free; shorten END_DATE or lengthen REPORT_STEP",
            model.display(),
            engine.opt.duration / 86_400.0,
            engine.opt.report_step,
            engine.node_count(),
            engine.link_count(),
            need as f64 / 1e9,
            free as f64 / 1e9
        );
    }
    let started = std::time::Instant::now();
    let pb = crate::progress_bar("routing the drainage network / mô phỏng thoát nước");
    let (report, summary) = twin_hydro::results::run_with_progress(
        &mut engine,
        &mut || started.elapsed().as_secs_f64(),
        &mut |f| pb.set_position((f * 1000.0) as u64),
    );
    pb.finish_and_clear();
    for w in &summary.warnings {
        eprintln!("warning: {}: {w}", model.display());
    }
    write_into(&mut out_dir, "nodes.csv", &|w| {
        twin_hydro::results::write_nodes_csv(&report, w)
    })?;
    write_into(&mut out_dir, "links.csv", &|w| {
        twin_hydro::results::write_links_csv(&report, w)
    })?;
    write_into(&mut out_dir, "subcatch.csv", &|w| {
        twin_hydro::results::write_subcatch_csv(&report, w)
    })?;
    write_into(&mut out_dir, "summary.json", &|w| {
        twin_hydro::results::write_summary_json(&summary, &report.node_names, w)
    })?;
    out_dir.commit("twin hydro run")?;
    println!(
        "Thoát nước / Drainage: {} nodes, {} links, {} steps in {:.2} s; flooding {:.0} m³, outflow {:.0} m³; continuity: runoff {}, routing {:.3} %",
        report.node_names.len(),
        report.link_names.len(),
        summary.steps,
        summary.run_time_s,
        summary.flooding_volume_m3,
        summary.outflow_volume_m3,
        summary
            .runoff_continuity_error_pct
            .map(|e| format!("{e:.3} %"))
            .unwrap_or_else(|| "–".into()),
        summary.routing_continuity_error_pct
    );
    println!(
        "wrote {}/nodes.csv, links.csv, subcatch.csv, summary.json",
        out.display()
    );
    Ok(())
}

/// `twin hydro rewrite MODEL.inp --out OUT.inp`: parses the model and writes
/// it back with twin-hydro's `.inp` writer; the SWMM harness runs SWMM on
/// both to check that the writer loses nothing.
pub(crate) fn rewrite(model: &Path, out: &Path) -> Result<()> {
    let text = read_model(model)?;
    let project = twin_hydro::parse(&text).with_context(|| model.display().to_string())?;
    let written = twin_hydro::write(&project);
    write_file(out, &|w| w.write_all(written.as_bytes()))
}
