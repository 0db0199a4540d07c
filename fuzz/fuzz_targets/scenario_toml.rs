//! What-if scenario files (TOML): parse and check, then build the design storm they ask for.
#![no_main]
use libfuzzer_sys::fuzz_target;
use twin_engine::scenario_file::{RainSource, ScenarioFile};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sf) = ScenarioFile::parse(text)
        && let RainSource::Design(d) = &sf.rain
    {
        let _ = d.series();
    }
});
