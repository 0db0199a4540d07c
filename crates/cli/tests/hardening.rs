//! Bad and absurd input is refused at once with one clear message; an output folder is whole
//! or as it was, even when a run is interrupted while it writes.

mod common;
use common::s;
use common::{stderr, twin};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A small bowl DEM and a rain file in `dir`.
fn bowl(dir: &Path) -> (PathBuf, PathBuf) {
    let mut dem = twin_model::Raster::filled(40, 40, 588_000.0, 2_326_000.0, 10.0, 0.0);
    for r in 0..40 {
        for c in 0..40 {
            let (x, y) = (c as f64 - 19.5, r as f64 - 19.5);
            dem.set(c, r, (6.0 + 0.004 * (x * x + y * y)) as f32);
        }
    }
    let tif = dir.join("bowl.tif");
    twin_io::raster::write_geotiff(&dem, twin_model::Crs::VN2000_UTM48N, &tif).unwrap();
    let rain = dir.join("rain.csv");
    std::fs::write(&rain, "minute,mm_per_hour\n0,60\n10,0\n").unwrap();
    (tif, rain)
}

/// Every file under `dir` with its contents, sorted, hidden files included.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Names in `dir` that start with a dot (partial files and folders).
fn hidden(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn errors_are_printed_once_and_help_goes_to_stdout() {
    let o = twin(&["flood", "run", "--nonsense"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert_eq!(e.matches("error:").count(), 1, "{e}");
    assert!(!e.contains("error: error:"), "{e}");
    for args in [&["--help"][..], &["--version"][..]] {
        let o = twin(args);
        assert!(o.status.success());
        assert!(stderr(&o).is_empty(), "{}", stderr(&o));
        assert!(!o.stdout.is_empty());
    }
}

#[test]
fn absurd_values_are_refused_at_once_naming_the_limit() {
    let d = tempfile::tempdir().unwrap();
    let (tif, rain) = bowl(d.path());
    let out = d.path().join("out");
    for (minutes, says) in [
        ("1000000000", "(0, 10080] minutes"),
        ("-5", "(0, 10080] minutes"),
        ("NaN", "(0, 10080] minutes"),
    ] {
        let t = Instant::now();
        let o = twin(&[
            "flood",
            "run",
            "--dem",
            s(&tif),
            "--rain",
            s(&rain),
            "--minutes",
            minutes,
            "--out",
            s(&out),
        ]);
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains(says),
            "--minutes {minutes}: {}",
            stderr(&o)
        );
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(!out.exists(), "a refused run leaves no folder");
    }
    let huge = d.path().join("huge.csv");
    std::fs::write(&huge, "minute,mm_per_hour\n0,1e308\n").unwrap();
    let o = twin(&[
        "flood",
        "run",
        "--dem",
        s(&tif),
        "--rain",
        s(&huge),
        "--minutes",
        "10",
        "--out",
        s(&out),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("huge.csv: line 2, field 'mm_per_hour'"),
        "{}",
        stderr(&o)
    );
    // A 10 MB token in a rain file is not echoed whole.
    let junk = d.path().join("junk.csv");
    std::fs::write(
        &junk,
        format!("minute,mm_per_hour\n0,{}\n", "x".repeat(10_000_000)),
    )
    .unwrap();
    let o = twin(&[
        "flood",
        "run",
        "--dem",
        s(&tif),
        "--rain",
        s(&junk),
        "--minutes",
        "10",
        "--out",
        s(&out),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).len() < 3000, "{} bytes", stderr(&o).len());
    assert!(stderr(&o).contains("more characters"), "{}", stderr(&o));
}

#[test]
fn a_rerun_replaces_the_folder_whole_and_an_interrupted_one_leaves_it_as_it_was() {
    let d = tempfile::tempdir().unwrap();
    let (tif, rain) = bowl(d.path());
    let out = d.path().join("out");
    let run = |minutes: &str| {
        twin(&[
            "flood",
            "run",
            "--dem",
            s(&tif),
            "--rain",
            s(&rain),
            "--minutes",
            minutes,
            "--out",
            s(&out),
            "--backend",
            "cpu",
        ])
    };
    let o = run("15");
    assert!(o.status.success(), "{}", stderr(&o));
    let first = snapshot(&out);
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"manifest.json") && names.contains(&"ledger.json"),
        "{names:?}"
    );
    // A good rerun replaces it and leaves nothing hidden beside it.
    let o = run("20");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(snapshot(&out), first);
    assert!(hidden(d.path()).is_empty(), "{:?}", hidden(d.path()));
    let second = snapshot(&out);
    // Interrupted while it computes, the folder stays the second run's.
    let spawn = |minutes: &str, pause: &str| {
        Command::new(env!("CARGO_BIN_EXE_twin"))
            .args([
                "flood",
                "run",
                "--dem",
                s(&tif),
                "--rain",
                s(&rain),
                "--minutes",
                minutes,
                "--out",
                s(&out),
                "--backend",
                "cpu",
            ])
            .env("TWIN_PAUSE_BEFORE_COMMIT_MS", pause)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let interrupt = |child: &mut std::process::Child| {
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        assert!(!status.success());
    };
    let mut child = spawn("10080", "0");
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&mut child);
    assert_eq!(snapshot(&out), second, "after an interrupt while computing");
    assert!(hidden(d.path()).is_empty(), "{:?}", hidden(d.path()));
    // Interrupted at its write step (every file written into the hidden folder, held there
    // before the swap), the folder stays the second run's too.
    let mut child = spawn("5", "20000");
    let t = Instant::now();
    let written = loop {
        let partial = hidden(d.path())
            .into_iter()
            .map(|n| d.path().join(n))
            .find(|p| p.join("ledger.json").is_file() && p.join("max_depth.png").is_file());
        if partial.is_some() || t.elapsed() > Duration::from_secs(60) {
            break partial;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(written.is_some(), "the run never reached its write step");
    interrupt(&mut child);
    assert_eq!(
        snapshot(&out),
        second,
        "after an interrupt at the write step"
    );
    assert!(hidden(d.path()).is_empty(), "{:?}", hidden(d.path()));
    // A folder of other files is never overwritten.
    let mine = d.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep").unwrap();
    let o = twin(&[
        "flood",
        "run",
        "--dem",
        s(&tif),
        "--rain",
        s(&rain),
        "--minutes",
        "5",
        "--out",
        s(&mine),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a twin run's"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(mine.join("notes.txt")).unwrap(),
        "keep"
    );
}

#[test]
fn files_of_the_wrong_kind_are_named_in_plain_words() {
    let d = tempfile::tempdir().unwrap();
    let (_, rain) = bowl(d.path());
    let text = d.path().join("notes.tif");
    std::fs::write(&text, "hello").unwrap();
    let city = d.path().join("notes.gpkg");
    std::fs::write(&city, "hello").unwrap();
    let empty = d.path().join("empty.osm");
    std::fs::write(&empty, "").unwrap();
    let out = d.path().join("out");
    for (args, says) in [
        (
            vec![
                "flood",
                "run",
                "--dem",
                s(&text),
                "--rain",
                s(&rain),
                "--minutes",
                "5",
                "--out",
                s(&out),
            ],
            "notes.tif: not a raster GDAL can read",
        ),
        (
            vec!["info", s(&city)],
            "notes.gpkg: not a GeoPackage city GDAL can read",
        ),
        (
            vec!["import", "osm", s(&empty), "--out", s(&out)],
            "empty.osm: the file is empty",
        ),
    ] {
        let o = twin(&args);
        assert!(!o.status.success());
        let e = stderr(&o);
        assert!(e.contains(says), "{args:?}: {e}");
        assert!(!e.contains("NULL pointer") && !e.contains("ERROR 1"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    assert!(!out.exists());
}
