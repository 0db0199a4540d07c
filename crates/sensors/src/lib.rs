//! Live sensors for the twin: a registry of the city's sensors tied to its layer features
//! ([`registry`]), the snapshot format and its parser, OGC SensorThings Observations included
//! ([`reading`], schema in `schemas/snapshot.schema.json`), quality control with a named reason
//! for every reading not applied and a status per sensor ([`qc`]), ingest from a watched folder,
//! stdin and MQTT ([`ingest`], [`mqtt`]), the SQLite store ([`store`]) and replays of finished
//! scenario runs with faults ([`replay`]).
//!
//! No GDAL, no rendering, no simulation: the engine implements [`qc::ModelView`] to take part
//! in QC and reads accepted readings from here.

pub mod broker;
pub mod ingest;
pub mod mqtt;
pub mod qc;
pub mod reading;
pub mod reason;
pub mod registry;
pub mod replay;
pub mod store;
pub mod units;

pub use qc::{Clock, Decision, ModelView, NoModel, Qc, QcConfig, SensorReport, Status, Verdict};
pub use reading::{Reading, Rejected, SensorRef, parse_message};
pub use reason::{Counts, Reason};
pub use registry::{Kind, Registry, RegistryError, Sensor, Site};
pub use store::Store;
