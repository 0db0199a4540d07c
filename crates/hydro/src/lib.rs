//! twin-hydro: a drainage engine compatible with EPA SWMM 5.2.
//!
//! - [`inp`] reads and writes SWMM `.inp` files (pure text, no I/O).
//! - [`xsect`] conduit cross-section geometry; [`shapes`] transects and
//!   shape curves; [`culvert`] inlet control; [`forcemain`] friction of
//!   pressurised force mains.
//! - [`runoff`] rain gauges and nonlinear-reservoir subcatchments with
//!   Horton / modified Horton / Green–Ampt / Curve Number infiltration.
//! - [`engine`] the network as struct-of-arrays state, advanced by
//!   dynamic-wave routing with `Engine::step(dt)`, plus coupling setters and
//!   readers.
//! - [`exfil`] seepage from storage units, by [`green_ampt`] infiltration.
//! - [`controls`] rule-based control of pumps, orifices, weirs and conduits.
//! - [`results`] report-step sampling, continuity, summaries and CSV/JSON writers.
//!
//! The crate does no file I/O; `hydro_run` (a thin binary) opens files.
#![deny(missing_docs)]

pub mod controls;
pub mod culvert;
pub mod engine;
pub mod exfil;
pub mod forcemain;
pub mod green_ampt;
pub mod inp;
pub mod results;
pub mod runoff;
pub mod shapes;
pub mod xsect;

pub use engine::{Engine, EngineError};
pub use inp::{FlowUnits, InpError, Project, parse, write};

/// Error of a whole run from `.inp` text.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The text did not parse.
    #[error("input error: {0}")]
    Inp(#[from] InpError),
    /// The model could not be built.
    #[error("model error: {0}")]
    Engine(#[from] EngineError),
}

/// Parses `.inp` text, builds the engine and runs it to the end.
pub fn run_inp(
    text: &str,
    wall_clock: &mut dyn FnMut() -> f64,
) -> Result<(results::Report, results::Summary), RunError> {
    let p = parse(text)?;
    let mut e = Engine::new(&p)?;
    Ok(results::run(&mut e, wall_clock))
}
