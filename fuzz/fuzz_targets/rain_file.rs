//! Rain gauge files (SWMM, NWS, AES, CMC layouts) read for one gauge.
#![no_main]
use libfuzzer_sys::fuzz_target;
use twin_hydro::rainfile::{GageFile, RainKind, read};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let kind = match flags % 3 {
        0 => RainKind::Intensity,
        1 => RainKind::Volume,
        _ => RainKind::Cumulative,
    };
    let gage = GageFile {
        gage: "G1",
        station: if flags & 4 == 0 { "STA01" } else { "1" },
        kind,
        interval_s: [60.0, 900.0, 3600.0, 0.0][usize::from(flags >> 3) % 4],
        millimetres: flags & 32 != 0,
        start_day: (flags & 64 != 0).then_some(18_262),
    };
    let _ = read("rain.dat", text, &gage);
});
