//! What the sensor tests share: four street flood sensors 300 m apart on a square, and a
//! pipeline on the data clock into a store.
#![allow(dead_code)] // each test file uses its part

use std::path::Path;
use twin_sensors::ingest::Pipeline;
use twin_sensors::qc::{Clock, Qc, QcConfig};
use twin_sensors::{Registry, Store};

/// Four street flood sensors, S1–S4, 300 m apart (each the others' neighbours).
pub const STREETS: &str = r#"
[[sensor]]
id = "S1"
kind = "water_level"
site = "street"
x = 0
y = 0
[[sensor]]
id = "S2"
kind = "water_level"
site = "street"
x = 300
y = 0
[[sensor]]
id = "S3"
kind = "water_level"
site = "street"
x = 0
y = 300
[[sensor]]
id = "S4"
kind = "water_level"
site = "street"
x = 300
y = 300
"#;

/// The four street sensors and the `[[sensor]]` tables in `extra`.
pub fn registry(extra: &str) -> Registry {
    Registry::from_toml(&format!("{STREETS}{extra}"), Path::new("test.toml")).unwrap()
}

/// QC on the data clock (times of past readings) into a new store at `store`, messages up to
/// 64 KiB.
pub fn pipeline<'r>(reg: &'r Registry, store: &Path) -> Pipeline<'r> {
    let qc = Qc::new(
        reg,
        QcConfig {
            clock: Clock::Data,
            ..QcConfig::default()
        },
    );
    Pipeline::new(qc, Some(Store::open(store).unwrap()), 64 * 1024)
}
