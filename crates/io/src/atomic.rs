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
    remove_stale(path);
    let _ = std::fs::remove_file(&tmp);
    // Probe writability first so GDAL's own messages do not hide the cause.
    if let Err(e) = std::fs::File::create(&tmp) {
        return Err(IoError::file(path, format!("cannot write: {e}")));
    }
    let _ = std::fs::remove_file(&tmp);
    register_partial(&tmp);
    let res = write(&tmp).and_then(|()| {
        std::fs::rename(&tmp, path)
            .map_err(|e| IoError::file(path, format!("cannot move output into place: {e}")))
    });
    unregister_partial(&tmp);
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

/// An output folder that is whole or absent: a run writes its files into a hidden folder
/// beside the target (`.NAME.partial-PID`), and [`OutDir::commit`] puts it in the target's
/// place in one rename (the previous run's folder moved aside first and removed after). Dropped
/// without a commit (an error), the hidden folder is removed; after a kill, the next run removes
/// it. Only an absent or empty target, or the folder of an earlier run (it holds
/// `manifest.json` or `ledger.json`), is replaced: a folder of other files is refused, never
/// overwritten.
#[derive(Debug)]
pub struct OutDir {
    target: PathBuf,
    tmp: PathBuf,
    files: Vec<String>,
    committed: bool,
}

/// The hidden sibling `.NAME.TAG-PID` of `path`.
fn sibling(path: &Path, tag: &str, pid: u32) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join(format!(".{name}.{tag}-{pid}"))
}

/// Removes hidden partial files and folders (`.NAME.partial-PID…`, `.NAME.old-PID`) that a
/// process no longer running left beside `path`.
fn remove_stale(path: &Path) {
    let (Some(parent), Some(name)) = (
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .or(Some(Path::new("."))),
        path.file_name().map(|n| n.to_string_lossy().to_string()),
    ) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let f = e.file_name().to_string_lossy().to_string();
        let Some(rest) = f.strip_prefix(&format!(".{name}.")) else {
            continue;
        };
        let Some(pid) = rest
            .strip_prefix("partial-")
            .or_else(|| rest.strip_prefix("old-"))
            .and_then(|r| r.split('.').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
        if !alive {
            let p = e.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

impl OutDir {
    /// Starts an output folder for `target`: checks it may be replaced, clears what killed runs
    /// left beside it and creates the hidden folder to write into.
    pub fn begin(target: &Path) -> Result<OutDir> {
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(IoError::file(
                target,
                format!(
                    "cannot write: directory '{}' does not exist",
                    parent.display()
                ),
            ));
        }
        if target.exists() {
            if !target.is_dir() {
                return Err(IoError::file(
                    target,
                    "cannot write: it is a file, not a folder",
                ));
            }
            let empty = std::fs::read_dir(target)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
            let earlier_run =
                target.join("manifest.json").is_file() || target.join("ledger.json").is_file();
            if !empty && !earlier_run {
                return Err(IoError::file(
                    target,
                    "the folder holds files that are not a twin run's; choose another output \
                     folder (a run replaces its whole output folder)",
                ));
            }
        }
        remove_stale(target);
        let tmp = sibling(target, "partial", std::process::id());
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp)
            .map_err(|e| IoError::file(target, format!("cannot write: {e}")))?;
        register_partial(&tmp);
        Ok(OutDir {
            target: target.to_path_buf(),
            tmp,
            files: Vec::new(),
            committed: false,
        })
    }

    /// Where the file `name` of the run is written (inside the hidden folder); the name is
    /// listed in the manifest.
    pub fn file(&mut self, name: &str) -> PathBuf {
        if !self.files.iter().any(|f| f == name) {
            self.files.push(name.to_string());
        }
        self.tmp.join(name)
    }

    /// The folder the run's files will have when committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Writes `manifest.json` (the command and the files, in order of writing) and puts the
    /// folder in the target's place.
    pub fn commit(mut self, command: &str) -> Result<()> {
        // Fault injection for the interrupt tests: hold the finished files here for a while.
        if let Some(ms) = std::env::var("TWIN_PAUSE_BEFORE_COMMIT_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            std::thread::sleep(std::time::Duration::from_millis(ms.min(60_000)));
        }
        let mut files = self.files.clone();
        files.sort();
        let manifest = format!(
            "{{\n  \"command\": {},\n  \"complete\": true,\n  \"files\": [{}]\n}}\n",
            json_string(command),
            files
                .iter()
                .map(|f| json_string(f))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let m = self.tmp.join("manifest.json");
        std::fs::write(&m, manifest).map_err(|e| IoError::file(&m, e.to_string()))?;
        let old = sibling(&self.target, "old", std::process::id());
        if let Ok(mut v) = MOVED_ASIDE.lock() {
            v.push((old.clone(), self.target.clone()));
        }
        if self.target.exists() {
            std::fs::rename(&self.target, &old).map_err(|e| {
                IoError::file(
                    &self.target,
                    format!("cannot move the earlier run aside: {e}"),
                )
            })?;
        }
        if let Err(e) = std::fs::rename(&self.tmp, &self.target) {
            let _ = std::fs::rename(&old, &self.target);
            return Err(IoError::file(
                &self.target,
                format!("cannot move the output into place: {e}"),
            ));
        }
        self.committed = true;
        unregister_partial(&self.tmp);
        if let Ok(mut v) = MOVED_ASIDE.lock() {
            v.retain(|(o, _)| o != &old);
        }
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.tmp);
            unregister_partial(&self.tmp);
        }
    }
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Hidden partial files and folders of this process, removed by [`remove_partials`] (on
/// Ctrl-C).
static PARTIALS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn register_partial(p: &Path) {
    if let Ok(mut v) = PARTIALS.lock() {
        v.push(p.to_path_buf());
    }
}

fn unregister_partial(p: &Path) {
    if let Ok(mut v) = PARTIALS.lock() {
        v.retain(|x| x != p);
    }
}

/// Earlier runs' folders moved aside by a commit in progress, with the place they came from.
static MOVED_ASIDE: std::sync::Mutex<Vec<(PathBuf, PathBuf)>> = std::sync::Mutex::new(Vec::new());

/// Removes every hidden partial file and folder this process is writing, and puts back an
/// earlier run's folder that a commit had moved aside (for an interrupt handler: the outputs
/// stay as they were before the run).
pub fn remove_partials() {
    if let Ok(v) = MOVED_ASIDE.lock() {
        for (old, target) in v.iter() {
            if old.exists() && !target.exists() {
                let _ = std::fs::rename(old, target);
            }
        }
    }
    if let Ok(v) = PARTIALS.lock() {
        for p in v.iter() {
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(p)
            } else {
                std::fs::remove_file(p)
            };
        }
    }
}
