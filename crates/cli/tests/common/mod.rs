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

/// A free loopback port.
#[allow(dead_code)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `twin serve` child, killed and waited for when dropped.
#[allow(dead_code)]
pub struct Serve(pub std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `twin serve ARGS --listen 127.0.0.1:PORT` and waits until it listens.
#[allow(dead_code)]
pub fn serve(args: &[&str], port: u16) -> Serve {
    let srv = Serve(
        Command::new(env!("CARGO_BIN_EXE_twin"))
            .arg("serve")
            .args(args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let t0 = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_secs(60) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return srv;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("twin serve did not listen within 60 s");
}

/// A token file (`[[token]]` name, role, department, hash) for `twin serve --tokens`.
#[allow(dead_code)]
pub fn token_file(path: &Path, tokens: &[(&str, &str, &str, &str)]) {
    let mut text = String::new();
    for (name, role, dept, secret) in tokens {
        let o = twin_ok(&["serve", "hash-token", secret]);
        let hash = String::from_utf8(o.stdout).unwrap();
        text += &format!(
            "[[token]]\nname = \"{name}\"\nrole = \"{role}\"\ndepartment = \"{dept}\"\nhash = \"{}\"\n",
            hash.trim()
        );
    }
    std::fs::write(path, text).unwrap();
}
