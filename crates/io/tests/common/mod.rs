//! What the building-model tests share.

use std::path::{Path, PathBuf};

/// `../shared/data/bim-cim` beside the checkout; `None` (skipped) where absent, except under
/// CI, where its absence fails the test.
pub fn samples() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/bim-cim");
    if d.is_dir() {
        return Some(d);
    }
    if std::env::var_os("CI").is_some() {
        panic!("{} is missing, and CI was meant to provide it", d.display());
    }
    eprintln!("skipped: {} is missing", d.display());
    None
}
