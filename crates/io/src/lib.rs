//! # twin-io
//!
//! Everything that crosses the boundary between files and the city model: the GeoPackage
//! store ([`gpkg`]) and the same tables in PostgreSQL/PostGIS ([`pg`]; [`open_city`] reads
//! either), GeoJSON / Shapefile / GeoTIFF through GDAL ([`gis`], [`raster`]), OpenStreetMap
//! PBF and XML import ([`osm`]), building models (CityJSON, CityGML, IFC over
//! the STEP reader [`step`]; CityJSON out, [`cityjson_write`]) and CRS handling ([`crs`]).
//!
//! Invariants: every error names the file and, where possible, the line, feature and field;
//! outputs are written atomically (a failure leaves nothing behind and never damages an
//! existing file); no panic on user data.

pub mod atomic;
pub mod building3d;
pub mod citygml;
pub mod cityjson;
pub mod cityjson_write;
pub mod crs;
mod csvtext;
pub mod error;
pub mod gauge_rain;
mod gdalmsg;
pub mod gis;
pub mod gpkg;
pub mod gtfs;
pub mod ifc;
pub mod osm;
pub mod pg;
pub mod pglocal;
pub mod points;
pub mod rain;
pub mod raster;
pub mod step;
pub mod swmm;
pub mod swmm_import;
pub mod wards;

pub use error::{IoError, Result};
pub use pg::open_city;

/// Routes GDAL's own messages into this crate's errors instead of GDAL printing them on
/// stderr (call once at start-up; opening functions call it too).
pub fn capture_gdal_messages() {
    gdalmsg::capture();
}
