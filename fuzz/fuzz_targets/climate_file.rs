//! Climate files (user-prepared and GHCN-Daily) read from a start month for 400 days.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [flags, when, rest @ ..] = data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let units = ["C10", "C", "F", ""][usize::from(flags % 4)];
    let start = (
        2016 + i32::from(when % 16),
        u32::from(when >> 4) % 12 + 1,
        1,
    );
    let _ = twin_hydro::climate::read_days("climate.dat", text, flags & 8 != 0, units, start, 400);
});
