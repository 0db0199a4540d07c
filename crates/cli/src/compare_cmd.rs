//! `twin scenario compare A B --out DIR`: reads two scenario runs' folders, compares them
//! (`engine::compare`) and writes the difference (`report::compare`).

use anyhow::{Context, Result, bail};
use std::path::Path;
use twin_engine::compare::{RunOutputs, compare, parse_roads_csv};
use twin_io::atomic::OutDir;

/// Reads what a comparison needs from a run folder, after checking that its manifest says the
/// run finished.
fn read_run(dir: &Path) -> Result<RunOutputs> {
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).with_context(|| {
        format!(
            "{}: not a finished run's folder (no manifest.json; write it with `twin scenario run`)",
            dir.display()
        )
    })?;
    let m: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not valid JSON", manifest.display()))?;
    if m["complete"] != serde_json::Value::Bool(true) {
        bail!("{}: the run is not marked complete", manifest.display());
    }
    let listed = |f: &str| {
        m["files"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == f))
    };
    for f in ["summary.json", "max_depth.tif", "roads.csv"] {
        if !listed(f) {
            bail!(
                "{}: the run has no {f} (compare scenario runs on a city, from `twin scenario run`)",
                dir.display()
            );
        }
    }
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .with_context(|| format!("{}: cannot read", dir.join(f).display()))
    };
    let summary: serde_json::Value = serde_json::from_str(&read("summary.json")?)
        .with_context(|| format!("{}: not valid JSON", dir.join("summary.json").display()))?;
    let roads = parse_roads_csv(&read("roads.csv")?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let max_depth = twin_io::raster::read_raster(&dir.join("max_depth.tif"))?.raster;
    Ok(RunOutputs {
        summary,
        max_depth,
        roads,
    })
}

/// `twin scenario compare`.
pub(crate) fn run(a: &Path, b: &Path, out: &Path) -> Result<()> {
    let (ra, rb) = (read_run(a)?, read_run(b)?);
    let c = compare(&ra, &rb).with_context(|| format!("{} and {}", a.display(), b.display()))?;
    let crs = twin_io::raster::read_raster(&a.join("max_depth.tif"))?.crs;
    let mut dir = OutDir::begin(out)?;
    twin_io::raster::write_geotiff(&c.depth_diff, crs, &dir.file("depth_diff.tif"))?;
    let img = twin_report::compare::diff_map(&c.depth_diff, &ra.max_depth);
    twin_io::raster::write_png(
        &img.data,
        img.width,
        img.height,
        &dir.file("depth_diff.png"),
    )?;
    twin_io::atomic::write_text(
        &dir.file("compare.json"),
        &serde_json::to_string_pretty(&c.to_json())?,
    )?;
    let html = twin_report::compare::compare_html(
        &c,
        &a.display().to_string(),
        &b.display().to_string(),
        "depth_diff.png",
    );
    twin_io::atomic::write_text(&dir.file("compare.html"), &html)?;
    dir.commit("twin scenario compare")?;
    let kpi = |k: &str| c.kpis.iter().find(|x| x.key == k);
    println!(
        "So sánh / Comparison (B − A): max depth {}, area ≥ 30 cm {}, streets closed {}, delay {}",
        kpi("max_depth_m").map_or("–".into(), |k| format!("{:+.2} m", k.change())),
        kpi("flooded_area_m2.ge_0.3_m").map_or("–".into(), |k| format!("{:+.0} m²", k.change())),
        kpi("roads_closed").map_or("–".into(), |k| format!("{:+.0}", k.change())),
        kpi("delay_vehicle_hours")
            .map_or("–".into(), |k| format!("{:+.0} vehicle-h", k.change())),
    );
    println!(
        "  deeper ≥ 5 cm over {:.0} m², shallower over {:.0} m²; {} roads closed in A only, {} in B only",
        c.deeper_area_m2,
        c.shallower_area_m2,
        c.closed_only_a.len(),
        c.closed_only_b.len()
    );
    println!(
        "wrote {}/compare.html, compare.json, depth_diff.tif, depth_diff.png",
        out.display()
    );
    Ok(())
}
