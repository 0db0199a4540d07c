//! `twin app …` and `twin wall …`: the 3D app and the video wall live in a separate binary,
//! `twin-app` (crates/app, the only crate that links bevy), so that `twin` builds without a
//! graphics stack. These commands run it with the arguments as given.

use anyhow::{Result, bail};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Name of the app's executable.
pub(crate) const APP_BIN: &str = "twin-app";

/// `twin-app` beside `exe` (the running `twin`), else the first on `path` (a PATH value).
pub(crate) fn find_app(exe: Option<&Path>, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let name = format!("{APP_BIN}{}", std::env::consts::EXE_SUFFIX);
    let beside = exe.and_then(|e| e.parent()).map(|d| d.join(&name));
    beside
        .into_iter()
        .chain(
            path.into_iter()
                .flat_map(std::env::split_paths)
                .map(|d| d.join(&name)),
        )
        .find(|p| p.is_file())
}

/// The error when `twin-app` is nowhere to be found, in Vietnamese and English.
pub(crate) fn not_found(exe: Option<&Path>) -> String {
    let dir = exe
        .and_then(|e| e.parent())
        .map_or_else(|| "?".to_string(), |d| d.display().to_string());
    format!(
        "không tìm thấy chương trình {APP_BIN} (cạnh twin trong {dir} hoặc trên PATH); hãy build nó: \
         cargo build -p twin-app / cannot find the {APP_BIN} program (beside twin in {dir} or on \
         PATH); build it with: cargo build -p twin-app"
    )
}

/// Runs `twin-app SUB ARGS…` in place of this process (Unix) or as a child, passing its exit
/// status on.
pub(crate) fn run(sub: &str, args: &[OsString]) -> Result<()> {
    let exe = std::env::current_exe().ok();
    let Some(bin) = find_app(exe.as_deref(), std::env::var_os("PATH").as_deref()) else {
        bail!("{}", not_found(exe.as_deref()));
    };
    let mut cmd = std::process::Command::new(&bin);
    cmd.arg(sub).args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        bail!("{}: {e}", bin.display());
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .map_err(|e| anyhow::anyhow!("{}: {e}", bin.display()))?;
        std::process::exit(status.code().unwrap_or(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_app_beside_twin_before_path_and_explains_when_missing() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let name = format!("{APP_BIN}{}", std::env::consts::EXE_SUFFIX);
        std::fs::write(b.path().join(&name), "").unwrap();
        let twin = a.path().join("twin");
        let path = std::env::join_paths([b.path()]).unwrap();
        assert_eq!(
            find_app(Some(&twin), Some(&path)),
            Some(b.path().join(&name))
        );
        std::fs::write(a.path().join(&name), "").unwrap();
        assert_eq!(
            find_app(Some(&twin), Some(&path)),
            Some(a.path().join(&name))
        );
        assert_eq!(find_app(None, None), None);
        let m = not_found(Some(&twin));
        assert!(
            m.contains("không tìm thấy") && m.contains("cannot find"),
            "{m}"
        );
    }
}
