//! `twin scenario run SCENARIO.toml`: a what-if file runs end to end with its interventions,
//! and a malformed one is refused naming the line and key, with nothing written.

mod common;
use common::{stderr, twin};

use std::path::Path;

const SCENARIO: &str = r#"
city = "city.gpkg"
minutes = 60
rain_start = "06:00"
couple = true

[rain]
design = { return_period_years = 5, duration_min = 60, shape = "chicago", depth_mm = 80 }

[traffic]
trips = 20000
informed = 0.3

[[close_road]]
road = "Đường trục dọc 2 (mẫu) / N–S arterial 2 (synthetic)"
from = "06:30"
to = "08:00"

[[pumps]]
capacity = 0.5
"#;

#[test]
fn a_scenario_file_runs_with_its_interventions_and_a_bad_one_names_line_and_key() {
    let d = tempfile::tempdir().unwrap();
    let city = twin_citygen::generate(&twin_citygen::DemoOptions {
        dem_cell_m: 30.0,
        ..Default::default()
    });
    twin_io::gpkg::write_city(&city, &d.path().join("city.gpkg")).unwrap();
    let file = d.path().join("what-if.toml");
    let out = d.path().join("run");
    let s = |p: &Path| p.to_str().unwrap().to_string();

    // Malformed: a misspelt key, a bad clock time, an unknown road.
    for (bad, says) in [
        (
            SCENARIO.replace("informed = 0.3", "informd = 0.3"),
            "line 12, key 'informd': unknown key; did you mean 'informed'?",
        ),
        (
            SCENARIO.replace("\"08:00\"", "\"8h\""),
            "line 17, key 'close_road.to': expected a clock time HH:MM",
        ),
        (
            SCENARIO.replace("arterial 2 (synthetic)", "arterial 99"),
            "line 14: no road named",
        ),
    ] {
        std::fs::write(&file, bad).unwrap();
        let o = twin(&["scenario", "run", &s(&file), "--out", &s(&out)]);
        assert!(!o.status.success());
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
        assert!(!out.exists(), "nothing written");
    }

    std::fs::write(&file, SCENARIO).unwrap();
    let o = twin(&["scenario", "run", &s(&file), "--out", &s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "scenario.toml",
        "summary.json",
        "report.html",
        "manifest.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("scenario.toml")).unwrap(),
        SCENARIO
    );
    let sum: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(sum["closed_link_entries"], 0, "{sum}");
    assert!(sum["vehicle_trips"].as_u64().unwrap() > 10_000, "{sum}");
    assert!(
        sum["closure_error_percent"].as_f64().unwrap().abs() < 0.1,
        "{sum}"
    );
    // The design storm's 80 mm fell on the city.
    let ledger: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ledger.json")).unwrap()).unwrap();
    let rain_m3 = ledger["rain_m3"].as_f64().unwrap();
    let dem = city.dem.as_ref().unwrap();
    let area = dem.data.iter().filter(|v| !dem.is_nodata(**v)).count() as f64 * dem.cell * dem.cell;
    assert!(
        (rain_m3 / area * 1000.0 - 80.0).abs() < 1.0,
        "{} mm",
        rain_m3 / area * 1000.0
    );
}
