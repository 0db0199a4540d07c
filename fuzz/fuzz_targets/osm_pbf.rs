//! OpenStreetMap PBF: parse the blobs, then build the city's layers.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use twin_io::osm::{OsmImportOptions, parse_pbf, to_city};

fuzz_target!(|data: &[u8]| {
    twin_io::capture_gdal_messages();
    let path = Path::new("fuzz.osm.pbf");
    if let Ok(d) = parse_pbf(data, path) {
        let _ = to_city(&d, &OsmImportOptions::default(), path);
    }
});
