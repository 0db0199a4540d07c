//! `twin app` and `twin wall` run the separate `twin-app` binary: the arguments pass through
//! unchanged, and without it the error says so in Vietnamese and English.

use std::path::Path;
use std::process::Command;

/// A copy of `twin` alone in a folder (a hard link where possible), so that no `twin-app`
/// lies beside it.
fn lone_twin(dir: &Path) -> std::path::PathBuf {
    let twin = dir.join("twin");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_twin"), &twin).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_twin"), &twin).unwrap();
    }
    twin
}

#[test]
fn without_twin_app_the_error_is_bilingual() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let twin = lone_twin(dir.path());
    for sub in ["app", "wall"] {
        let o = Command::new(&twin)
            .args([sub, "--city", "x.gpkg"])
            .env("PATH", empty.path())
            .output()
            .unwrap();
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("không tìm thấy chương trình twin-app"),
            "{err}"
        );
        assert!(err.contains("cannot find the twin-app program"), "{err}");
        assert!(err.contains("cargo build -p twin-app"), "{err}");
    }
}

#[cfg(unix)]
#[test]
fn arguments_pass_through_to_twin_app_on_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let twin = lone_twin(dir.path());
    let log = bin.path().join("args.txt");
    let fake = bin.path().join("twin-app");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit 3\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = Command::new(&twin)
        .args(["wall", "--city", "Quận mẫu.gpkg", "--help", "--at", "-5"])
        .env("PATH", bin.path())
        .output()
        .unwrap();
    // The app's own exit status comes back.
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let args = std::fs::read_to_string(&log).unwrap();
    assert_eq!(args, "wall\n--city\nQuận mẫu.gpkg\n--help\n--at\n-5\n");
}
