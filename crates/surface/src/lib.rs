//! # twin-surface: 2D surface flooding on a raster
//!
//! A local-inertial shallow-water solver (Bates, Horritt & Fewtrell 2010, *J. Hydrol.* 387,
//! 33–45; with the θ-weighted momentum of de Almeida, Bates, Freer & Souvignet 2012, *Water
//! Resour. Res.* 48, W05528) on a regular grid of square cells:
//!
//! - [`Grid`]: bed elevation (nodata/NaN cells are walls) and Manning's n per cell;
//! - [`Simulation`]: struct-of-arrays state (depth per cell, unit discharge per face), rain
//!   ([`Rain`]), infiltration ([`Infiltration`]), edge conditions ([`Boundaries`]: closed, open,
//!   fixed stage, inflow), point exchange for 1D–2D coupling ([`PointId`]), gauges
//!   ([`GaugeId`]); optional momentum advection ([`Params::advection`]) for fast,
//!   transcritical flow;
//! - [`MassLedger`]: every m³ booked (rain, infiltration, each edge in and out, point
//!   sources and sinks, storage) and the closure error;
//! - [`FloodStats`]: maximum depth, its time, duration above a threshold, maximum depth ×
//!   speed, as plain row-major arrays for export elsewhere.
//!
//! Architecture invariants: no file I/O, no panics on user data (bad input returns
//! [`SurfaceError`] naming the field and entry), results bit-identical for any number of
//! rayon threads.
//!
//! ```
//! use twin_surface::{Grid, Params, Rain, Simulation};
//! let grid = Grid::new(20, 10, 5.0, vec![0.0; 200], None, 0.03).unwrap();
//! let mut sim = Simulation::new(grid, Params::default()).unwrap();
//! sim.set_rain(Rain::constant(36.0).unwrap()).unwrap(); // 36 mm/h
//! sim.run_until(600.0);
//! let l = sim.ledger();
//! assert!((l.rain - 200.0 * 25.0 * 0.006).abs() < 1e-9); // 6 mm over 5000 m²
//! assert!(l.relative_closure_error().abs() < 1e-12);
//! ```

mod error;
mod exchange;
mod forcing;
mod grid;
mod kernel;
mod ledger;
mod params;
mod results;
mod sim;
mod solver;

pub use error::SurfaceError;
pub use exchange::{GaugeId, Gauges, PointExchange, PointId, Points};
pub use forcing::{Boundaries, Boundary, Edge, Infiltration, Rain, RainField};
pub use grid::{Cell, Grid};
pub use ledger::MassLedger;
pub use params::{G, Params};
pub use results::{FloodStats, GaugeSeries};
pub use sim::Simulation;
pub use solver::SurfaceSolver;

#[cfg(test)]
mod tests;
