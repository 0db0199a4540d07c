//! Speed of the surface solver: cell-updates per second on 1 and 2 threads for grids of
//! about 0.25, 1 and 4 million cells (rain on a tilted plane), written as a Markdown table.
//!
//! Each configuration is timed `--repeats` times (default 5) after 3 warm-up steps; the table
//! gives the median rate and the min–max over the repeats. The Markdown section between the
//! `surface_speed` markers of the output file is replaced; the rest of the file is kept.
//!
//! Usage: `surface_speed [--out benches/results/surface.md] [--steps 20] [--repeats 5]
//! [--sizes 512,1024,2048] [--threads 1,2] [--local-inertial-only]`. Under callgrind, for
//! instruction counts: `--sizes 256 --steps 10 --repeats 1 --threads 1
//! --local-inertial-only`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use twin_surface::{Boundaries, Boundary, Grid, Params, Rain, Simulation};

/// Builds the benchmark problem: a plane of side `n` cells of 2 m, sloping 0.5 % to the east
/// and 0.2 % to the south, Manning 0.03, wet with a 5 cm sheet, under 50 mm/h of rain, open
/// (normal-depth) east and south edges.
fn plane(n: usize, advection: bool) -> Result<Simulation> {
    let dx = 2.0;
    let mut bed = Vec::with_capacity(n * n);
    for j in 0..n {
        for i in 0..n {
            bed.push(0.005 * (n - i) as f64 * dx + 0.002 * (n - j) as f64 * dx);
        }
    }
    let grid = Grid::new(n, n, dx, bed, None, 0.03)?;
    let mut sim = Simulation::new(
        grid,
        Params {
            advection,
            ..Params::default()
        },
    )?;
    sim.set_depth(vec![0.05; n * n])?;
    sim.set_boundaries(Boundaries {
        east: Boundary::Open { slope: Some(0.005) },
        south: Boundary::Open { slope: Some(0.002) },
        ..Boundaries::default()
    })?;
    sim.set_rain(Rain::constant(50.0)?)?;
    Ok(sim)
}

/// CPU seconds (user + system, all threads) this process has used, from /proc/self/stat
/// (clock ticks of 1/100 s, the Linux default); `None` where that file is missing.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

struct Timing {
    /// Cell-updates per CPU second over all trials (scheduling-independent efficiency).
    cpu_rate: Option<f64>,
    /// Cell-updates per wall second of each trial, sorted.
    rates: Vec<f64>,
    dt: f64,
    closure: f64,
}

impl Timing {
    fn median(&self) -> f64 {
        self.rates[self.rates.len() / 2]
    }
}

/// Times one problem size on each thread count, alternating the thread counts trial by
/// trial so that a change in the machine's load falls on all of them alike.
fn time_runs(
    n: usize,
    threads: &[usize],
    steps: u64,
    repeats: usize,
    advection: bool,
) -> Result<Vec<Timing>> {
    let mut runs = Vec::with_capacity(threads.len());
    for &t in threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build()?;
        let mut sim = plane(n, advection)?;
        pool.install(|| {
            for _ in 0..3 {
                sim.step_limited(f64::INFINITY);
            }
        });
        runs.push((pool, sim, Vec::with_capacity(repeats), 0.0));
    }
    let cells_steps = (n * n) as f64 * steps as f64;
    for _ in 0..repeats {
        for (pool, sim, rates, cpu) in &mut runs {
            let c0 = cpu_seconds();
            let t0 = Instant::now();
            pool.install(|| {
                for _ in 0..steps {
                    sim.step_limited(f64::INFINITY);
                }
            });
            rates.push(cells_steps / t0.elapsed().as_secs_f64());
            if let (Some(a), Some(b)) = (c0, cpu_seconds()) {
                *cpu += b - a;
            }
        }
    }
    Ok(runs
        .into_iter()
        .map(|(_, sim, mut rates, cpu)| {
            rates.sort_by(f64::total_cmp);
            Timing {
                cpu_rate: (cpu > 0.0).then(|| cells_steps * repeats as f64 / cpu),
                rates,
                dt: sim.last_dt(),
                closure: sim.ledger().relative_closure_error(),
            }
        })
        .collect())
}

/// The comma-separated integers of a list argument.
fn integers(arg: Option<String>, what: &str) -> Result<Vec<usize>> {
    arg.with_context(|| format!("{what} needs a list"))?
        .split(',')
        .map(|s| s.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{what}: comma-separated integers"))
}

fn main() -> Result<()> {
    let mut out = PathBuf::from("benches/results/surface.md");
    let mut steps: u64 = 20;
    let mut repeats: usize = 5;
    let mut sizes = vec![512usize, 1024, 2048];
    let mut schemes = vec![false, true];
    let mut threads = vec![1usize, 2];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().context("--out needs a path")?.into(),
            "--steps" => steps = args.next().context("--steps needs a number")?.parse()?,
            "--repeats" => repeats = args.next().context("--repeats needs a number")?.parse()?,
            "--sizes" => sizes = integers(args.next(), "--sizes")?,
            "--local-inertial-only" => schemes = vec![false],
            "--threads" => threads = integers(args.next(), "--threads")?,
            other => bail!(
                "unknown argument `{other}` (use --out FILE --steps N --repeats N --sizes A,B,C \
                 --threads A,B --local-inertial-only)"
            ),
        }
    }
    if repeats == 0 || steps == 0 || threads.is_empty() || threads.contains(&0) {
        bail!("--steps, --repeats and each of --threads must be at least 1");
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let load = || {
        std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next().map(str::to_string))
            .unwrap_or_else(|| "n/a".into())
    };
    let load_start = load();
    let mut md = String::new();
    writeln!(md, "## Cell-updates per second\n")?;
    writeln!(
        md,
        "Generated by `benches/swashes/run.sh` (bin `surface_speed`, release build) on a machine \
         with {cores} logical cores shared with other builds: absolute rates are noisy, so each \
         rate is the median of {repeats} trials of {steps} steps, with the slowest–fastest \
         trial in brackets. Problem: rain (50 mm/h) on a plane of 2 m cells sloping \
         0.5 % east and 0.2 % south, Manning 0.03, 5 cm initial sheet, open east and south \
         edges; 3 warm-up steps first; the trials of the thread counts alternate, so that a \
         change of load falls on all alike. Rate = cells × steps / wall time of a trial; \
         speed-up = median over the median on the first thread count; per CPU-second = cells × steps / CPU time of all \
         threads over the trials, which other processes disturb less. \
         f64 state, θ = {}, Courant {}.\n",
        Params::default().theta,
        Params::default().cfl
    )?;
    writeln!(
        md,
        "| scheme | cells | threads | cell-updates/s, median [min–max] | speed-up | per CPU-second | last Δt (s) | ledger closure |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
    for &advection in &schemes {
        let scheme = if advection {
            "+ advection"
        } else {
            "local inertial"
        };
        for &n in &sizes {
            let timings = time_runs(n, &threads, steps, repeats, advection)?;
            let one = timings[0].median();
            for (&threads, t) in threads.iter().zip(&timings) {
                let (lo, hi) = (t.rates[0], t.rates[t.rates.len() - 1]);
                writeln!(
                    md,
                    "| {scheme} | {n}×{n} = {:.2} M | {threads} | {:.1} M [{:.1}–{:.1}] | {:.2} | {} | {:.3} | {:.1e} |",
                    (n * n) as f64 / 1e6,
                    t.median() / 1e6,
                    lo / 1e6,
                    hi / 1e6,
                    t.median() / one,
                    t.cpu_rate
                        .map_or("n/a".into(), |r| format!("{:.1} M", r / 1e6)),
                    t.dt,
                    t.closure
                )?;
                eprintln!(
                    "{scheme} n {n} threads {threads}: {:.1} M cell-updates/s (median)",
                    t.median() / 1e6
                );
            }
        }
    }
    writeln!(
        md,
        "\n1-minute load average at start / end of the run: {load_start} / {} (on {cores} cores).\n",
        load()
    )?;
    write_section(&out, "surface_speed", &md)?;
    eprintln!("wrote {} (section surface_speed)", out.display());
    Ok(())
}

/// Replaces the text between `<!-- NAME:start -->` and `<!-- NAME:end -->` in `path` (kept
/// otherwise), or appends the marked section if the markers are absent.
fn write_section(path: &Path, name: &str, body: &str) -> Result<()> {
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let section = format!("{start}\n{body}{end}");
    let new = match (old.find(&start), old.find(&end)) {
        (Some(a), Some(b)) if b > a => {
            format!("{}{section}{}", &old[..a], &old[b + end.len()..])
        }
        _ if old.is_empty() => format!("{section}\n"),
        _ => format!("{}\n{section}\n", old.trim_end()),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, new).with_context(|| format!("writing {}", path.display()))
}
