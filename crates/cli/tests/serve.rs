//! `twin serve --jobs-dir`: a planner posts a scenario file over HTTP, the server runs it as
//! `twin scenario run` in the background, and its progress, files and report come back; a bad
//! file is refused with nothing stored; a `kill -9` of the server takes its running job with
//! it, and the restarted server marks that job interrupted.

mod common;
use common::{Serve, free_port, s};

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const PLANNER: &str = "planner-secret-Qx71";
const VIEWER: &str = "viewer-secret-Lm02";

/// A short storm on the demo district without its sewers, and a light morning peak.
fn scenario(minutes: u32) -> String {
    format!(
        r#"
city = "anything.gpkg"
minutes = {minutes}
rain_start = "06:00"
couple = false

[rain]
design = {{ return_period_years = 5, duration_min = 30, shape = "chicago", depth_mm = 60 }}

[traffic]
trips = 2000
"#
    )
}

/// One HTTP/1.1 request (`Connection: close`): status and body.
fn call(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        c,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

fn json(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let (st, b) = call(port, method, path, token, body);
    (st, serde_json::from_str(&b).unwrap_or(Value::String(b)))
}

fn serve(dir: &Path, port: u16) -> Serve {
    common::serve(
        &[
            "--city",
            s(&dir.join("city.gpkg")),
            "--tokens",
            s(&dir.join("tokens.toml")),
            "--jobs-dir",
            s(&dir.join("jobs")),
        ],
        port,
    )
}

/// Polls a job until `done(status)`, at most `limit`.
fn wait_job(port: u16, id: i64, limit: Duration, done: impl Fn(&str) -> bool) -> Value {
    let t0 = Instant::now();
    loop {
        let (st, v) = json(port, "GET", &format!("/scenarios/{id}"), Some(VIEWER), "");
        assert_eq!(st, 200, "{v}");
        if done(v["status"].as_str().unwrap()) {
            return v;
        }
        assert!(t0.elapsed() < limit, "job {id} still {v}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The pids of `twin scenario run` children working in `jobs`.
fn job_children(jobs: &Path) -> Vec<u32> {
    let key = s(jobs).to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains("scenario") && c.contains(&key)
            })
        })
        .collect()
}

/// A folder with the demo district at 30 m as `city.gpkg`.
fn demo_city() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let city = twin_citygen::generate(&twin_citygen::DemoOptions {
        dem_cell_m: 30.0,
        ..Default::default()
    });
    twin_io::gpkg::write_city(&city, &d.path().join("city.gpkg")).unwrap();
    d
}

#[test]
fn a_posted_scenario_runs_as_a_job_and_a_killed_server_interrupts_its_job() {
    let d = demo_city();
    common::token_file(
        &d.path().join("tokens.toml"),
        &[
            ("qh", "planner", "SQHKT", PLANNER),
            ("xem", "viewer", "SXD", VIEWER),
        ],
    );
    let port = free_port();
    let srv = serve(d.path(), port);

    // Refused, nothing stored: a viewer, a rain file on the server, a malformed file.
    let (st, _) = json(port, "POST", "/scenarios", Some(VIEWER), &scenario(30));
    assert_eq!(st, 403);
    let with_csv = scenario(30).replace(
        "design = { return_period_years = 5, duration_min = 30, shape = \"chicago\", depth_mm = 60 }",
        "csv = \"/etc/passwd\"",
    );
    let (st, v) = json(port, "POST", "/scenarios", Some(PLANNER), &with_csv);
    assert_eq!(st, 400, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("names no file on the server"),
        "{v}"
    );
    let (st, v) = json(
        port,
        "POST",
        "/scenarios",
        Some(PLANNER),
        &scenario(30).replace("minutes", "minutse"),
    );
    assert_eq!(st, 400);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("line 3, key 'minutse'"),
        "{v}"
    );
    let (_, v) = json(port, "GET", "/scenarios", Some(VIEWER), "");
    assert_eq!(v["count"], 0, "{v}");

    // A good file: 202, then it runs to the end and its files come back.
    let (st, v) = json(port, "POST", "/scenarios", Some(PLANNER), &scenario(30));
    assert_eq!(st, 202, "{v}");
    let id = v["id"].as_i64().unwrap();
    let v = wait_job(port, id, Duration::from_secs(600), |s| {
        !matches!(s, "queued" | "running")
    });
    assert_eq!(v["status"], "done", "{v}");
    assert_eq!(v["who"], "qh");
    assert_eq!(v["progress"]["stage"], "writing", "{v}");
    let files: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for f in [
        "report.html",
        "summary.json",
        "traffic.json",
        "manifest.json",
    ] {
        assert!(files.contains(&f), "{f} not in {files:?}");
    }
    let (st, html) = call(
        port,
        "GET",
        &format!("/scenarios/{id}/files/report.html"),
        Some(VIEWER),
        "",
    );
    assert_eq!(st, 200);
    assert!(
        html.contains("<html") && html.contains("Kịch bản mưa 60 mm"),
        "{}",
        &html[..200.min(html.len())]
    );
    // The run is the one a planner runs by hand on the same file: the same summary.
    let (st, summary) = json(
        port,
        "GET",
        &format!("/scenarios/{id}/files/summary.json"),
        Some(VIEWER),
        "",
    );
    assert_eq!(st, 200);
    let by_hand = d.path().join("by-hand");
    common::twin_ok(&[
        "scenario",
        "run",
        s(&d.path().join(format!("jobs/{id}/scenario.toml"))),
        "--out",
        s(&by_hand),
    ]);
    let local: Value =
        serde_json::from_str(&std::fs::read_to_string(by_hand.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary, local);
    assert_eq!(summary["minutes"], 30.0, "{summary}");
    assert!(summary["max_depth_m"].as_f64().unwrap() > 0.0, "{summary}");
    for bad in ["..", ".hidden", "a%2Fb"] {
        let (st, _) = call(
            port,
            "GET",
            &format!("/scenarios/{id}/files/{bad}"),
            Some(VIEWER),
            "",
        );
        assert!(st == 400 || st == 404, "{bad}: {st}");
    }

    // A long job, then kill -9 of the server: its child dies with it, and the restarted
    // server says the job was interrupted.
    let (st, v) = json(port, "POST", "/scenarios", Some(PLANNER), &scenario(5000));
    assert_eq!(st, 202, "{v}");
    let long = v["id"].as_i64().unwrap();
    wait_job(port, long, Duration::from_secs(60), |s| s == "running");
    let jobs = d.path().join("jobs");
    let t0 = Instant::now();
    while job_children(&jobs).is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(30), "no job child seen");
        std::thread::sleep(Duration::from_millis(100));
    }
    unsafe_kill9(srv.0.id());
    drop(srv);
    let t0 = Instant::now();
    while !job_children(&jobs).is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the job's child outlived the server: {:?}",
            job_children(&jobs)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let port = free_port();
    let _srv = serve(d.path(), port);
    let (_, v) = json(port, "GET", &format!("/scenarios/{long}"), Some(VIEWER), "");
    assert_eq!(v["status"], "interrupted", "{v}");
    let (_, v) = json(port, "GET", &format!("/scenarios/{id}"), Some(VIEWER), "");
    assert_eq!(v["status"], "done", "{v}");
}

/// SIGKILL, as `kill -9`.
fn unsafe_kill9(pid: u32) {
    let st = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn settings_come_from_flags_then_the_environment_then_the_config_file() {
    let d = demo_city();
    common::token_file(
        &d.path().join("tokens.toml"),
        &[("xem", "viewer", "SXD", VIEWER)],
    );
    // Paths relative to the file; its listen address and rate overridden below.
    let cfg = d.path().join("serve.toml");
    std::fs::write(
        &cfg,
        "city = \"city.gpkg\"\ntokens = \"tokens.toml\"\nlisten = \"127.0.0.1:9\"\nrate_limit = 1.0\n",
    )
    .unwrap();
    let start = |extra: &[&str], port: u16| {
        let srv = Serve(
            Command::new(env!("CARGO_BIN_EXE_twin"))
                .args(["serve", "--config", s(&cfg)])
                .args(extra)
                .env("TWIN_SERVE_LISTEN", format!("127.0.0.1:{port}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(60), "no server");
            std::thread::sleep(Duration::from_millis(100));
        }
        srv
    };
    let statuses = |port| -> Vec<u16> {
        (0..4)
            .map(|_| call(port, "GET", "/layers", Some(VIEWER), "").0)
            .collect()
    };
    // The environment's listen address, the file's city, tokens and rate (1/s, bursts of 2).
    let port = free_port();
    let srv = start(&[], port);
    assert_eq!(statuses(port), [200, 200, 429, 429]);
    drop(srv);
    // The command line over the file.
    let port = free_port();
    let srv = start(&["--rate-limit", "1000"], port);
    assert_eq!(statuses(port), [200, 200, 200, 200]);
    drop(srv);
    // A misspelt key is refused naming the file, the key and its line.
    std::fs::write(&cfg, "city = \"city.gpkg\"\nlisne = \"127.0.0.1:1\"\n").unwrap();
    let o = common::twin(&["serve", "--config", s(&cfg)]);
    assert!(!o.status.success());
    let e = common::stderr(&o);
    assert!(
        e.contains("serve.toml") && e.contains("lisne") && e.contains("line 2"),
        "{e}"
    );
}
