//! twin-hydro: drainage engine compatible with EPA SWMM 5.2.
//!
//! Pieces: [`inp`] reads and writes SWMM `.inp` files.
#![deny(missing_docs)]

pub mod inp;

pub use inp::{FlowUnits, InpError, Project, parse, write};
