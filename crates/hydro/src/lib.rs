//! twin-hydro: a drainage engine compatible with EPA SWMM 5.2.
//!
//! - [`inp`] reads and writes SWMM `.inp` files (pure text, no I/O).
//! - [`xsect`] conduit cross-section geometry; [`shapes`] transects and
//!   shape curves; [`culvert`] inlet control; [`forcemain`] friction of
//!   pressurised force mains.
//! - [`runoff`] rain gauges and nonlinear-reservoir subcatchments with
//!   Horton / modified Horton / Green–Ampt / Curve Number infiltration,
//!   runon between subcatchments and subareas and from outfalls.
//! - [`climate`] evaporation, infiltration recovery and monthly adjustments.
//! - [`rainfile`] rain gauge files in SWMM's, NCDC's and Environment Canada's formats.
//! - [`extfile`] the external files a model names, handed in as text.
//! - [`engine`] the network as struct-of-arrays state, advanced by dynamic
//!   wave, kinematic wave or steady flow with `Engine::step(dt)`, plus
//!   coupling setters and readers; storage units and conduits lose water to
//!   evaporation and seepage.
//! - [`exfil`] seepage from storage units, by the [`green_ampt`] infiltration
//!   subcatchments use too.
//! - [`controls`] rule-based control of pumps, orifices, weirs and conduits.
//! - [`results`] report-step sampling, continuity, summaries and CSV/JSON writers.
//!
//! Private leaf modules, which import nothing of the engine: `error`
//! ([`EngineError`]), `options` ([`engine::Options`] and unit factors),
//! `table` (time series and curves), `massbal` (SWMM's continuity error),
//! `scope` (sections a run refuses or warns of, [`Warning`]), `cscan` (C
//! `sscanf` field rules).
//!
//! The crate does no file I/O; `twin hydro run` (twin-cli) opens files,
//! including the rain, time series and climate files a model names
//! ([`referenced_files`]), whose text it passes in [`ExternalFiles`].
#![deny(missing_docs)]

pub mod climate;
pub mod controls;
mod cscan;
pub mod culvert;
pub mod engine;
mod error;
pub mod exfil;
pub mod extfile;
pub mod forcemain;
pub mod green_ampt;
pub mod inp;
mod massbal;
mod options;
pub mod rainfile;
pub mod results;
pub mod runoff;
mod scope;
pub mod shapes;
mod table;
pub mod xsect;

pub use engine::{Engine, EngineError, Warning};
pub use extfile::{ExternalFiles, FileError, FileRef, FileUse, load_files, referenced_files};
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
    /// A file the model names could not be read.
    #[error("input error: {0}")]
    File(#[from] FileError),
}

/// Parses `.inp` text, builds the engine and runs it to the end. A model that
/// names external files needs [`run_inp_with_files`].
pub fn run_inp(
    text: &str,
    wall_clock: &mut dyn FnMut() -> f64,
) -> Result<(results::Report, results::Summary), RunError> {
    run_inp_with_files(
        text,
        &mut |_| Err("no files are read here".into()),
        wall_clock,
    )
}

/// Parses `.inp` text, reads the files it names through `read` (given the
/// path as written; the caller resolves it, as SWMM does, against the `.inp`
/// file's folder), builds the engine and runs it to the end.
pub fn run_inp_with_files(
    text: &str,
    read: &mut dyn FnMut(&str) -> Result<String, String>,
    wall_clock: &mut dyn FnMut() -> f64,
) -> Result<(results::Report, results::Summary), RunError> {
    let p = parse(text)?;
    let files = load_files(&p, read)?;
    let mut e = Engine::with_files(&p, &files)?;
    Ok(results::run(&mut e, wall_clock))
}
