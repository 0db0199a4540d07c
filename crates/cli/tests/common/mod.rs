//! What the `twin` binary's end-to-end tests share: running it and reading what it said.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `twin` with the arguments and waits for it.
#[allow(dead_code)]
pub fn twin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twin"))
        .args(args)
        .output()
        .expect("run twin")
}

/// What it printed on stderr.
#[allow(dead_code)]
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A path as an argument.
#[allow(dead_code)]
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `../shared/data/NAME` beside the checkout; `None` (the test skipped) where it is absent,
/// except under CI (the `CI` variable set, as `.ci/run` runs), where its absence fails the test.
#[allow(dead_code)]
pub fn shared_data(name: &str) -> Option<std::path::PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name);
    if d.is_dir() {
        return Some(d);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{} is missing, and CI was meant to provide it", d.display());
    }
    eprintln!("skipped: {} is missing", d.display());
    None
}

/// The Hanoi data (`../shared/data/hanoi`), as [`shared_data`].
#[allow(dead_code)]
pub fn hanoi_data() -> Option<std::path::PathBuf> {
    shared_data("hanoi")
}

/// The building and city-model samples (`../shared/data/bim-cim`), as [`shared_data`].
#[allow(dead_code)]
pub fn bim_cim_data() -> Option<std::path::PathBuf> {
    shared_data("bim-cim")
}

/// A sensor's status (`ok`, `suspect`, `failed`, `silent`) in a `status.csv` that `twin sensors
/// check` or `twin live` wrote.
#[allow(dead_code)]
pub fn sensor_status(csv: &str, id: &str) -> String {
    csv.lines()
        .find(|l| l.starts_with(&format!("{id},")))
        .unwrap_or_else(|| panic!("no sensor {id} in\n{csv}"))
        .split(',')
        .nth(3)
        .unwrap()
        .to_string()
}

/// Runs `twin` with the arguments, waits for it and fails the test if it failed.
#[allow(dead_code)]
pub fn twin_ok(args: &[&str]) -> Output {
    let o = twin(args);
    assert!(o.status.success(), "twin {args:?}: {}", stderr(&o));
    o
}
