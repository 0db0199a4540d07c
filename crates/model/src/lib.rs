//! # twin-model
//!
//! The city model every other part of the engine reads and writes: the 11 urban layers of
//! Hanoi's plan, features with geometry, typed attributes, stable ids and owning departments,
//! an R-tree per layer, the model's metric CRS, and the structures simulations derive from the
//! layers (road graph, drainage network, DEM) plus time-stamped (4D) state.
//!
//! Invariants: this crate does no I/O and knows no simulation; all geometry of a [`City`] is in
//! its one metric [`Crs`]; feature ids are unique per layer and never reused by the stores.

pub mod city;
pub mod drainage;
pub mod feature;
pub mod layer;
pub mod layerdata;
pub mod raster;
pub mod roads;

pub use city::{City, Crs, StateEntry};
pub use drainage::DrainageNetwork;
pub use feature::{AttrType, AttrValue, Feature, FeatureId, FeatureKey, RESERVED_FIELDS};
pub use layer::{Department, Layer};
pub use layerdata::LayerData;
pub use raster::Raster;
pub use roads::RoadGraph;

/// Whether `s` is a calendar date `YYYY-MM-DD`.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}
