//! Atomic output: write to a hidden temporary file beside the target, rename on success,
//! remove on failure. A failed run leaves nothing behind and never damages an existing file.

use crate::error::{IoError, Result};
use std::path::{Path, PathBuf};

/// The temporary path used while writing `path`.
pub fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_string())
        .unwrap_or_default();
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join(format!(".{name}.partial-{}.{ext}", std::process::id()))
}

/// Runs `write` on a temporary path and moves the result onto `path`.
pub fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(IoError::file(
            path,
            format!(
                "cannot write: directory '{}' does not exist",
                parent.display()
            ),
        ));
    }
    if path.is_dir() {
        return Err(IoError::file(path, "cannot write: it is a directory"));
    }
    let tmp = partial_path(path);
    let _ = std::fs::remove_file(&tmp);
    // Probe writability first so GDAL's own messages do not hide the cause.
    if let Err(e) = std::fs::File::create(&tmp) {
        return Err(IoError::file(path, format!("cannot write: {e}")));
    }
    let _ = std::fs::remove_file(&tmp);
    let res = write(&tmp).and_then(|()| {
        std::fs::rename(&tmp, path)
            .map_err(|e| IoError::file(path, format!("cannot move output into place: {e}")))
    });
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::remove_file(tmp.with_extension(format!(
            "{}-journal",
            tmp.extension().unwrap_or_default().to_string_lossy()
        )));
    }
    res
}

/// Writes `text` to `path` atomically (see [`write_atomically`]).
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomically(path, |tmp| {
        std::fs::write(tmp, text).map_err(|e| IoError::file(path, e.to_string()))
    })
}
