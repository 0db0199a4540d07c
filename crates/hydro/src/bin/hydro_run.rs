//! `hydro_run MODEL.inp --out DIR`: runs a SWMM model and writes
//! `DIR/nodes.csv`, `DIR/links.csv`, `DIR/subcatch.csv` and `DIR/summary.json`
//! (SI units). Rain, time series and climate files the model names are read
//! relative to the model's folder, as SWMM reads them.
//! `hydro_run MODEL.inp --rewrite OUT.inp`: parses the model and writes it
//! back with the crate's `.inp` writer (used to check the writer against SWMM).

use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut model = None;
    let mut out = None;
    let mut rewrite = None;
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--out" {
            out = args.get(i + 1).map(PathBuf::from);
            i += 2;
        } else if args[i] == "--rewrite" {
            rewrite = args.get(i + 1).map(PathBuf::from);
            i += 2;
        } else {
            model = Some(PathBuf::from(&args[i]));
            i += 1;
        }
    }
    if let (Some(model), Some(dest)) = (&model, &rewrite) {
        let res = std::fs::read(model)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                twin_hydro::parse(&String::from_utf8_lossy(&b)).map_err(|e| e.to_string())
            })
            .and_then(|p| std::fs::write(dest, twin_hydro::write(&p)).map_err(|e| e.to_string()));
        return match res {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hydro_run: {}: {e}", model.display());
                ExitCode::FAILURE
            }
        };
    }
    let (Some(model), Some(out)) = (model, out) else {
        eprintln!("usage: hydro_run MODEL.inp --out DIR | hydro_run MODEL.inp --rewrite OUT.inp");
        return ExitCode::from(2);
    };
    match run(&model, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hydro_run: {}: {e}", model.display());
            ExitCode::FAILURE
        }
    }
}

fn run(model: &std::path::Path, out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let bytes = std::fs::read(model)?;
    let text = String::from_utf8_lossy(&bytes);
    let dir = model
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let mut read = |path: &str| -> Result<String, String> {
        let p = dir.join(path);
        std::fs::read(&p)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    let t0 = Instant::now();
    let (rep, summary) =
        twin_hydro::run_inp_with_files(&text, &mut read, &mut || t0.elapsed().as_secs_f64())?;
    std::fs::create_dir_all(out)?;
    let mut w = BufWriter::new(std::fs::File::create(out.join("nodes.csv"))?);
    twin_hydro::results::write_nodes_csv(&rep, &mut w)?;
    let mut w = BufWriter::new(std::fs::File::create(out.join("links.csv"))?);
    twin_hydro::results::write_links_csv(&rep, &mut w)?;
    let mut w = BufWriter::new(std::fs::File::create(out.join("subcatch.csv"))?);
    twin_hydro::results::write_subcatch_csv(&rep, &mut w)?;
    let mut w = BufWriter::new(std::fs::File::create(out.join("summary.json"))?);
    twin_hydro::results::write_summary_json(&summary, &rep.node_names, &mut w)?;
    Ok(())
}
