//! SWMM .inp text: parse, then build the engine (model checks, tables, curves, controls).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = twin_hydro::inp::parse(text) {
        let _ = twin_hydro::Engine::new(&p);
    }
});
