//! GPU tests. They need an adapter (lavapipe in CI): without one they fail with the
//! adapter error, they never pass silently.

use twin_surface::{Boundaries, Boundary, Grid, Infiltration, Params, Rain, RainField, Simulation};

use crate::{GpuError, GpuSimulation};

fn gpu(grid: Grid, params: Params) -> GpuSimulation {
    match GpuSimulation::new(grid, params) {
        Ok(s) => s,
        Err(e) => panic!("the GPU tests need a wgpu adapter (CI installs lavapipe): {e}"),
    }
}

/// A bowl of 5 m cells with two wall cells and a building block.
fn bowl(nx: usize, ny: usize) -> Grid {
    let mut bed = Vec::new();
    for j in 0..ny {
        for i in 0..nx {
            let (x, y) = (i as f64 - nx as f64 / 2.0, j as f64 - ny as f64 / 2.0);
            bed.push(10.0 + 0.002 * (x * x + y * y) + 0.01 * x);
        }
    }
    bed[nx + 1] = f64::NAN;
    bed[2 * nx + 3] = -9999.0;
    let mut g = Grid::new(nx, ny, 5.0, bed, Some(-9999.0), 0.03).unwrap();
    for j in 5..8 {
        for i in 10..14 {
            g.set_wall(twin_surface::Cell::new(j, i)).unwrap();
        }
    }
    g
}

#[test]
fn closed_basin_conserves_rain() {
    let (nx, ny) = (48, 40);
    let grid = bowl(nx, ny);
    let active = grid.active().iter().filter(|a| **a).count();
    let mut sim = gpu(grid, Params::default());
    let rain = Rain::new(
        vec![
            (0.0, RainField::Uniform(80.0)),
            (600.0, RainField::Uniform(20.0)),
            (1200.0, RainField::Uniform(0.0)),
        ],
        usize::MAX,
    )
    .unwrap();
    sim.set_rain(rain).unwrap();
    sim.run_until(1800.0).unwrap();
    let l = sim.ledger().unwrap();
    // 80 mm/h for 10 min + 20 mm/h for 10 min = 16.667 mm on every active 25 m² cell
    let expect = active as f64 * 25.0 * (80.0 + 20.0) / 6.0 / 1000.0;
    assert!(
        (l.rain - expect).abs() < 1e-6 * expect,
        "{} vs {expect}",
        l.rain
    );
    assert_eq!(l.boundary_in_total() + l.boundary_out_total(), 0.0);
    let rel = l.relative_closure_error();
    eprintln!("closed basin: {} steps, closure {rel:e}", sim.steps());
    assert!(rel.abs() < 1e-6, "closure {rel:e}, ledger {l:?}");
    assert!((l.storage - expect).abs() < 1e-6 * expect);
    let d = sim.depth().unwrap();
    assert!(d.iter().all(|v| *v >= 0.0 && v.is_finite()));
    // walls stay dry, water gathers at the bottom of the bowl
    assert_eq!(d[nx + 1], 0.0);
    assert_eq!(d[6 * nx + 11], 0.0);
    assert!(
        d[20 * nx + 22] > 5.0 * d[nx + 40],
        "{} {}",
        d[20 * nx + 22],
        d[nx + 40]
    );
    assert!(sim.steps() > 100);
}

/// CPU and GPU on a problem that uses every feature the GPU has: walls, Manning per cell,
/// stepwise rain, Horton and constant infiltration, an open (normal depth) edge, a free
/// overfall, a fixed-stage edge and an inflow edge.
#[test]
fn cpu_and_gpu_agree() {
    let (nx, ny) = (40, 30);
    let mut grid = bowl(nx, ny);
    let manning: Vec<f64> = (0..nx * ny)
        .map(|i| if (i / nx) % 7 == 3 { 0.015 } else { 0.05 })
        .collect();
    grid.set_manning(manning).unwrap();
    let bounds = Boundaries {
        north: Boundary::Inflow { discharge: 0.02 },
        south: Boundary::Open { slope: Some(0.01) },
        west: Boundary::FixedStage { level: 10.35 },
        east: Boundary::Open { slope: None },
    };
    let rain = Rain::new(
        vec![
            (0.0, RainField::Uniform(120.0)),
            (300.0, RainField::Uniform(40.0)),
            (600.0, RainField::Uniform(0.0)),
        ],
        usize::MAX,
    )
    .unwrap();
    let classes = vec![
        Infiltration::None,
        Infiltration::Horton {
            f0_mm_per_hour: 60.0,
            fc_mm_per_hour: 10.0,
            decay_per_hour: 4.0,
        },
        Infiltration::Constant { mm_per_hour: 5.0 },
    ];
    let class: Vec<u16> = (0..nx * ny).map(|i| ((i % nx) / 14) as u16).collect();
    let mut depth = vec![0.0; nx * ny];
    for j in 12..18 {
        for i in 18..24 {
            depth[j * nx + i] = 0.2;
        }
    }
    let mut cpu = Simulation::new(grid.clone(), Params::default()).unwrap();
    let mut g = gpu(grid, Params::default());
    cpu.set_boundaries(bounds).unwrap();
    g.set_boundaries(bounds).unwrap();
    cpu.set_rain(rain.clone()).unwrap();
    g.set_rain(rain).unwrap();
    cpu.set_infiltration(classes.clone(), class.clone())
        .unwrap();
    g.set_infiltration(classes, class).unwrap();
    cpu.set_depth(depth.clone()).unwrap();
    g.set_depth(depth).unwrap();
    cpu.run_until(900.0);
    g.run_until(900.0).unwrap();

    let (a, b) = (cpu.stats(), g.stats().unwrap());
    let worst = a
        .max_depth
        .iter()
        .zip(&b.max_depth)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let top = a.max_depth.iter().cloned().fold(0.0, f64::max);
    eprintln!(
        "max depth {top:.4} m, max |Δ max depth| {worst:.2e} m, steps cpu {} gpu {}",
        cpu.steps(),
        g.steps()
    );
    assert!(top > 0.2, "max depth {top}");
    assert!(worst < 1e-4, "max |Δ max depth| = {worst} m");
    let dc = cpu.depth();
    let dg = g.depth().unwrap();
    let worst_now = dc
        .iter()
        .zip(&dg)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(worst_now < 1e-4, "max |Δ depth| at the end = {worst_now} m");
    let haz = a
        .max_hazard
        .iter()
        .zip(&b.max_hazard)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(haz < 1e-3, "max |Δ hazard| = {haz}");

    // both ledgers book every term the same way
    let (lc, lg) = (cpu.ledger().clone(), g.ledger().unwrap());
    let close = |x: f64, y: f64, what: &str| {
        assert!(
            (x - y).abs() <= 1e-3 * x.abs().max(y.abs()) + 1e-3,
            "{what}: cpu {x} gpu {y}"
        );
    };
    close(lc.rain, lg.rain, "rain");
    close(lc.infiltration, lg.infiltration, "infiltration");
    close(lc.storage, lg.storage, "storage");
    for e in 0..4 {
        close(lc.boundary_in[e], lg.boundary_in[e], "edge inflow");
        close(lc.boundary_out[e], lg.boundary_out[e], "edge outflow");
    }
    assert!(lg.inflow(twin_surface::Edge::North) > 1.0);
    assert!(lg.boundary_out_total() > 1.0);
    assert!(lg.infiltration > 1.0);
    assert!(
        lg.relative_closure_error().abs() < 1e-6,
        "gpu closure {:e}",
        lg.relative_closure_error()
    );
    // the same adaptive step within round-off
    let (sc, sg) = (cpu.steps() as f64, g.steps() as f64);
    assert!((sc - sg).abs() <= 0.01 * sc, "steps cpu {sc} gpu {sg}");
}

#[test]
fn unsupported_features_are_errors() {
    let grid = Grid::new(4, 4, 1.0, vec![0.0; 16], None, 0.03).unwrap();
    let e = GpuSimulation::new(
        grid.clone(),
        Params {
            advection: true,
            ..Params::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, GpuError::Unsupported(_)), "{e}");
    let mut g = gpu(grid, Params::default());
    let e = g.set_depth(vec![0.0; 3]).unwrap_err();
    assert!(e.to_string().contains("depth"), "{e}");
    let e = g
        .set_boundaries(Boundaries::all(Boundary::FixedStage { level: f64::NAN }))
        .unwrap_err();
    assert!(e.to_string().contains("boundary"), "{e}");
}

#[test]
fn per_cell_rain_falls_where_it_is_given() {
    let (nx, ny) = (16, 8);
    let grid = Grid::new(nx, ny, 2.0, vec![0.0; nx * ny], None, 0.03).unwrap();
    let mut g = gpu(grid, Params::default());
    let field: Vec<f64> = (0..nx * ny)
        .map(|i| if i % nx < 8 { 36.0 } else { 0.0 })
        .collect();
    g.set_rain(Rain::new(vec![(0.0, RainField::PerCell(field))], nx * ny).unwrap())
        .unwrap();
    g.run_until(100.0).unwrap();
    let l = g.ledger().unwrap();
    // 36 mm/h for 100 s = 1 mm on 64 cells of 4 m²
    assert!((l.rain - 0.256).abs() < 1e-6, "{}", l.rain);
    assert!(l.relative_closure_error().abs() < 1e-6);
}

#[test]
fn a_software_adapter_is_not_taken_for_a_gpu() {
    // CI has lavapipe only (a CPU device): automatic selection must not pick it.
    let sim = gpu(
        Grid::new(4, 4, 1.0, vec![0.0; 16], None, 0.03).unwrap(),
        Params::default(),
    );
    let software = ["llvmpipe", "lavapipe", "swiftshader"]
        .iter()
        .any(|s| sim.adapter_name().to_lowercase().contains(s));
    if software {
        assert_eq!(crate::hardware_adapter(), None, "{}", sim.adapter_name());
    } else {
        assert!(
            crate::hardware_adapter().is_some(),
            "{}",
            sim.adapter_name()
        );
    }
}

#[test]
fn point_exchange_and_gauges_match_the_cpu_solver() {
    // A bowl with a surcharging manhole, two inlets (one on the manhole's own cell, taking
    // back part of what it spills) and an inlet on a dry rim cell; gauges at the bottom and
    // on the rim. Rates change every 30 s as a network coupling would change them.
    use twin_surface::Cell;
    let (nx, ny) = (32, 24);
    let grid = bowl(nx, ny);
    let rain = Rain::new(
        vec![
            (0.0, RainField::Uniform(60.0)),
            (400.0, RainField::Uniform(0.0)),
        ],
        usize::MAX,
    )
    .unwrap();
    let mut cpu = Simulation::new(grid.clone(), Params::default()).unwrap();
    let mut g = gpu(grid, Params::default());
    cpu.set_rain(rain.clone()).unwrap();
    g.set_rain(rain).unwrap();
    let cells = [
        Cell::new(12, 16),
        Cell::new(12, 16),
        Cell::new(10, 14),
        Cell::new(1, 5),
    ];
    let (mut pc, mut pg) = (Vec::new(), Vec::new());
    for c in cells {
        pc.push(cpu.add_point(c).unwrap());
        pg.push(g.add_point(c).unwrap());
    }
    for c in [Cell::new(12, 15), Cell::new(2, 3)] {
        cpu.add_gauge(c).unwrap();
        g.add_gauge(c).unwrap();
    }
    // a wall cell and a cell off the grid are refused
    assert!(g.add_point(Cell::new(1, 1)).is_err());
    assert!(g.add_point(Cell::new(99, 1)).is_err());
    let (mut vc, mut vg) = (vec![0.0; cells.len()], vec![0.0; cells.len()]);
    let mut t = 0.0;
    while t < 900.0 {
        let spill = if t < 300.0 { 0.05 } else { 0.0 };
        let hs = g.depths_at(&cells).unwrap();
        for (k, c) in cells.iter().enumerate() {
            let h = cpu.depth_at(*c).unwrap();
            assert!(
                (h - hs[k]).abs() < 1e-4,
                "t {t}: depth cpu {h} gpu {}",
                hs[k]
            );
            let rate = match k {
                0 => spill,
                _ => -(0.3 * h * (2.0 * 9.81 * h).sqrt()).min(0.02),
            };
            cpu.set_point_rate(pc[k], rate).unwrap();
            g.set_point_rate(pg[k], rate).unwrap();
        }
        t += 30.0;
        cpu.run_until(t);
        g.run_until(t).unwrap();
        for (acc, v) in vc.iter_mut().zip(cpu.take_point_volumes()) {
            *acc += v;
        }
        for (acc, v) in vg.iter_mut().zip(g.take_point_volumes()) {
            *acc += v;
        }
    }
    for k in 0..cells.len() {
        assert!(
            (vc[k] - vg[k]).abs() < 1e-3 * vc[k].abs().max(1.0),
            "point {k}: cpu {} gpu {}",
            vc[k],
            vg[k]
        );
    }
    assert!(vc[0] > 14.0 && vc[1] < -1.0 && vc[2] < -1.0, "{vc:?}");
    let (lc, lg) = (cpu.ledger().clone(), g.ledger().unwrap());
    assert!((lc.point_in - lg.point_in).abs() < 1e-3 * lc.point_in);
    assert!((lc.point_out - lg.point_out).abs() < 1e-3 * lc.point_out);
    assert!(
        lg.relative_closure_error().abs() < 1e-6,
        "gpu closure {:e}",
        lg.relative_closure_error()
    );
    // what the points report is what the ledger booked
    let net: f64 = vg.iter().sum();
    assert!((net - (lg.point_in - lg.point_out)).abs() < 1e-6 * lg.point_in);
    let (sc, sg) = (cpu.gauge_series(), g.gauge_series());
    assert_eq!(sc.times, sg.times);
    assert_eq!(sg.times.len(), 16);
    for (a, b) in sc.depths.iter().zip(&sg.depths) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-4, "gauge cpu {x} gpu {y}");
        }
    }
}
