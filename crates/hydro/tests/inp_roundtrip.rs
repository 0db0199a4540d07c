//! Round trip and robustness tests of the `.inp` reader/writer.

use proptest::prelude::*;
use twin_hydro::inp::{parse, write};

/// Where the SWMM example models of the swmmio and pyswmm wheels are:
/// `$SWMM_MODELS_DIR`, else `target/testdata/swmm-models` under the
/// workspace root, where `scripts/setup.sh` unpacks them.
fn models_dir() -> std::path::PathBuf {
    match std::env::var_os("SWMM_MODELS_DIR") {
        Some(d) => d.into(),
        // CARGO_MANIFEST_DIR is crates/hydro.
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/testdata/swmm-models"),
    }
}

/// EPA example models shipped in the swmmio/pyswmm wheels read, written and
/// read again to an equal project. Skipped with a message where setup has
/// not unpacked them, except under CI (the `CI` variable set), where their
/// absence fails the test rather than letting it pass unchecked.
#[test]
fn round_trip_epa_models() {
    let dir = models_dir();
    let mut files = Vec::new();
    collect(&dir, &mut files);
    if files.is_empty() {
        let msg = format!(
            "no .inp files under {}: run scripts/setup.sh (or set SWMM_MODELS_DIR)",
            dir.display()
        );
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("{msg}; skipped");
        return;
    }
    let mut checked = 0;
    for f in files {
        let text = match std::fs::read(&f) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(_) => continue,
        };
        let p = match parse(&text) {
            Ok(p) => p,
            Err(e) => {
                // Deliberately broken models in the test suites must fail with a located error.
                let name = f.to_string_lossy();
                assert!(
                    name.contains("bad") || name.contains("invalid") || name.contains("failure"),
                    "{name}: {e}"
                );
                continue;
            }
        };
        let p2 = parse(&write(&p))
            .unwrap_or_else(|e| panic!("{}: rewritten text fails: {e}", f.display()));
        assert_eq!(p, p2, "{}", f.display());
        checked += 1;
    }
    assert!(checked > 10, "only {checked} models checked");
}

fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("inp")) {
            out.push(p);
        }
    }
    out.sort();
}

const BASE: &str = include_str!("data/small.inp");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// Mangled lines never make the parser panic, and whatever parses round-trips.
    #[test]
    fn mangled_input_never_panics(line_idx in 0usize..60, junk in "[ -~\\[\\];\"\t]{0,40}", cut in 0usize..80) {
        let mut lines: Vec<String> = BASE.lines().map(String::from).collect();
        let i = line_idx % lines.len();
        let mut l = lines[i].clone();
        let c = cut.min(l.len());
        if l.is_char_boundary(c) { l.truncate(c); }
        l.push_str(&junk);
        lines[i] = l;
        let text = lines.join("\n");
        if let Ok(p) = parse(&text) {
            let p2 = parse(&write(&p)).expect("rewritten text must parse");
            prop_assert_eq!(p, p2);
        }
    }
}

const RAIN_SWMM: &str = include_str!("../../../benches/swmm/models/runoff_rain_swmm.dat");
const RAIN_NWS: &str = include_str!("../../../benches/swmm/models/runoff_rain_nws.dat");
const RAIN_ONLINE: &str = include_str!("../../../benches/swmm/models/runoff_rain_online.dat");
const RAIN_CMC: &str = include_str!("../../../benches/swmm/models/runoff_rain_cmc.dat");
const CLIMATE: &str = include_str!("../../../benches/swmm/models/runoff_climate.dat");
const EVAP_FILE_MODEL: &str = include_str!("../../../benches/swmm/models/runoff_evap_file.inp");

/// Replaces part of one line of `text` by `junk`.
fn mangle(text: &str, line_idx: usize, cut: usize, junk: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let i = line_idx % lines.len();
    let mut l = lines[i].clone();
    let c = cut.min(l.len());
    if l.is_char_boundary(c) {
        l.truncate(c);
    }
    l.push_str(junk);
    lines[i] = l;
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Mangled rain files never make the readers panic: a record or an error
    /// naming the file.
    #[test]
    fn mangled_rain_files_never_panic(which in 0usize..4, line_idx in 0usize..40, junk in "[ -~\t:.,äé]{0,30}", cut in 0usize..240) {
        use twin_hydro::rainfile::{GageFile, RainKind, read};
        let (text, station) = [(RAIN_SWMM, "HN1"), (RAIN_NWS, "045123"), (RAIN_ONLINE, "045125"), (RAIN_CMC, "7012345")][which];
        let text = mangle(text, line_idx, cut, &junk);
        for kind in [RainKind::Intensity, RainKind::Volume, RainKind::Cumulative] {
            let g = GageFile { gage: "G", station, kind, interval_s: 600.0, millimetres: true, start_day: None };
            match read("r.dat", &text, &g) {
                Ok(r) => prop_assert_eq!(r.times.len(), r.depths_in.len()),
                Err(e) => prop_assert!(e.to_string().contains("r.dat")),
            }
        }
    }

    /// Mangled climate and time series files give a run or an error naming the file.
    #[test]
    fn mangled_climate_files_never_panic(line_idx in 0usize..70, junk in "[ -~\t*]{0,30}", cut in 0usize..40) {
        let p = parse(EVAP_FILE_MODEL).unwrap();
        let mut f = twin_hydro::ExternalFiles::new();
        f.insert("runoff_climate.dat", mangle(CLIMATE, line_idx, cut, &junk));
        if let Err(e) = twin_hydro::Engine::with_files(&p, &f) {
            prop_assert!(e.to_string().contains("runoff_climate.dat"), "{}", e);
        }
        let ts = mangle("01/02/2024 00:00 1.5\n0:30 2\n01/02/2024 1.0 0\n", line_idx, cut, &junk);
        if let Err(e) = twin_hydro::extfile::parse_timeseries_file("T", "t.dat", &ts) {
            prop_assert!(e.to_string().contains("t.dat"));
        }
    }
}
