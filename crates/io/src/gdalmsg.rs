//! GDAL's own messages, captured into ours: GDAL prints "ERROR 1: …" on stderr unless an
//! error handler takes them; this one keeps the last message for the error that follows and
//! prints nothing. GDAL's "returned a NULL pointer" becomes "not a … GDAL can read".

use std::path::Path;
use std::sync::{Mutex, Once};

use crate::error::IoError;

static INSTALL: Once = Once::new();
static LAST: Mutex<String> = Mutex::new(String::new());

/// Routes GDAL's messages into [`last_message`] (once per process).
pub(crate) fn capture() {
    INSTALL.call_once(|| {
        gdal::config::set_error_handler(|class, _no, msg| {
            if matches!(
                class,
                gdal::errors::CplErrType::Failure | gdal::errors::CplErrType::Fatal
            ) && let Ok(mut l) = LAST.lock()
            {
                *l = msg.trim().to_string();
            }
        });
    });
}

/// Takes the last GDAL failure message (empty if none).
fn last_message() -> String {
    LAST.lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default()
}

/// An error opening `path` as `what` (e.g. "a raster", "a GeoPackage"), in plain words, with
/// GDAL's own message when it gave one.
pub(crate) fn open_error(path: &Path, what: &str, e: gdal::errors::GdalError) -> IoError {
    let gdal = last_message();
    let detail = if !gdal.is_empty() {
        format!(" ({gdal})")
    } else {
        String::new()
    };
    match e {
        gdal::errors::GdalError::NullPointer { .. } => {
            let cause = if !path.exists() {
                "no such file".to_string()
            } else if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
                "the file is empty".to_string()
            } else {
                format!("not {what} GDAL can read: the format is not recognised{detail}")
            };
            IoError::file(path, cause)
        }
        other => IoError::file(path, format!("cannot open as {what}: {other}{detail}")),
    }
}
