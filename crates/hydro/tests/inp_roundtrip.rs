//! Round trip and robustness tests of the `.inp` reader/writer.

use proptest::prelude::*;
use twin_hydro::inp::{parse, write};

/// EPA example models shipped in the swmmio/pyswmm wheels, if unpacked at
/// `$SWMM_MODELS_DIR` (default /tmp/swmmwheels/x). Skipped when absent.
#[test]
fn round_trip_epa_models_if_present() {
    let dir = std::env::var("SWMM_MODELS_DIR").unwrap_or_else(|_| "/tmp/swmmwheels/x".into());
    let mut files = Vec::new();
    collect(std::path::Path::new(&dir), &mut files);
    if files.is_empty() {
        eprintln!("no .inp files under {dir}; skipped");
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
