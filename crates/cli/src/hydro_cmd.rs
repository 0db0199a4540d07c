//! `twin hydro run` and `twin hydro rewrite`: a SWMM model through twin-hydro,
//! the one entry point users and the SWMM harness (`benches/swmm/run.sh`) share.

use anyhow::{Context, Result};
use std::path::Path;

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

/// `twin hydro run MODEL.inp --out DIR`: runs the model and writes
/// `nodes.csv`, `links.csv`, `subcatch.csv` and `summary.json` (SI units,
/// seconds from start); the engine's warnings go to stderr and the summary.
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
    let started = std::time::Instant::now();
    let (report, summary) = crate::step(
        "routing the drainage network / mô phỏng thoát nước",
        || {
            twin_hydro::run_inp_with_files(&text, &mut read, &mut || {
                started.elapsed().as_secs_f64()
            })
            .with_context(|| model.display().to_string())
        },
    )?;
    for w in &summary.warnings {
        eprintln!("warning: {}: {w}", model.display());
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create the output directory", out.display()))?;
    write_file(&out.join("nodes.csv"), &|w| {
        twin_hydro::results::write_nodes_csv(&report, w)
    })?;
    write_file(&out.join("links.csv"), &|w| {
        twin_hydro::results::write_links_csv(&report, w)
    })?;
    write_file(&out.join("subcatch.csv"), &|w| {
        twin_hydro::results::write_subcatch_csv(&report, w)
    })?;
    write_file(&out.join("summary.json"), &|w| {
        twin_hydro::results::write_summary_json(&summary, &report.node_names, w)
    })?;
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
