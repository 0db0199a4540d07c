//! Points CSV (name, x, y) as `twin flood run --gauges` reads it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = twin_io::points::parse_points_csv(text, std::path::Path::new("points.csv"));
});
