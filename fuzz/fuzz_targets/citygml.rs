//! CityGML text read into buildings, as `twin import citygml` reads a file (source and target
//! CRS the same, so the reader itself is what is exercised).
#![no_main]
use libfuzzer_sys::fuzz_target;
use twin_model::{Crs, FeatureId};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = twin_io::citygml::parse_citygml(
        text,
        std::path::Path::new("fuzz.gml"),
        Crs::VN2000_UTM48N,
        FeatureId(1),
        Some(Crs::VN2000_UTM48N),
    );
});
