//! Rain gauge list and daily totals (a scenario's `[rain] historical`): the input is the two
//! files' texts separated by a line `====`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (gauges, daily) = text.split_once("\n====\n").unwrap_or((text, ""));
    let Ok(list) = twin_io::gauge_rain::parse_gauges(gauges, Path::new("gauges.csv")) else {
        return;
    };
    let _ = twin_io::gauge_rain::parse_day(daily, Path::new("daily.csv"), "2025-09-30", &list);
});
