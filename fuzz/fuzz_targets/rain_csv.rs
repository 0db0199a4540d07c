//! Rain CSV (minute, mm/h) as `twin flood run --rain` reads it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = twin_io::rain::parse_rain_csv(text, std::path::Path::new("rain.csv"));
});
