//! OpenStreetMap XML: parse, then build the city's layers (ways, multipolygons, tags).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use twin_io::osm::{OsmImportOptions, parse_xml, to_city};

fuzz_target!(|data: &[u8]| {
    twin_io::capture_gdal_messages();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.osm");
    if let Ok(d) = parse_xml(text, path) {
        let _ = to_city(&d, &OsmImportOptions::default(), path);
    }
});
