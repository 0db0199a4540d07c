//! SUMO route files (vehicles, trips, flows, routes, vTypes).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = twin_traffic::sumo_routes::parse_routes(text);
});
