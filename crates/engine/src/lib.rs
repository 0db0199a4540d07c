//! # twin-engine
//!
//! Runs scenarios over the city model: it owns the clock that decides who steps when, turns
//! model structures (DEM, layers) into solver inputs and solver outputs back into model
//! structures. Today: surface flooding on a DEM under a rain series ([`flood`]).
//!
//! Invariants: no file I/O (the CLI reads and writes files), no rendering, no network.

pub mod alerts;
pub mod compare;
pub mod coupled;
pub mod design_storm;
pub mod ensemble;
pub mod flood;
pub mod hotstart;
pub mod impacts;
pub mod live;
pub mod live_loop;
pub mod live_traffic;
pub mod playback;
pub mod power;
pub mod rain_map;
pub mod reach;
pub mod response;
pub mod scenario;
pub mod scenario_file;
pub mod storm;
pub mod twin_experiment;
pub mod whatif;
