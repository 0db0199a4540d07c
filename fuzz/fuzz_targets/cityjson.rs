//! CityJSON text read into buildings, as `twin import cityjson` reads a file (source and target
//! CRS the same, so the reader itself is what is exercised).
#![no_main]
use libfuzzer_sys::fuzz_target;
use twin_model::{Crs, FeatureId};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = twin_io::cityjson::parse_cityjson(
        text,
        std::path::Path::new("fuzz.city.json"),
        Crs::VN2000_UTM48N,
        FeatureId(1),
        Some(Crs::VN2000_UTM48N),
    );
});
