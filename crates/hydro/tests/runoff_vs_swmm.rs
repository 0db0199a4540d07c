//! Runoff features checked against numbers EPA SWMM 5.2.4 (swmm-toolkit
//! 0.17.0) produced on the hand-written models in `benches/swmm/models/`:
//! runoff routed between subcatchments and subareas and from outfalls,
//! evaporation from every source SWMM offers (on subareas, storage units and
//! open conduits), monthly adjustments, and rain gauges and time series read
//! from files. Peaks and report-step values come from SWMM's binary output,
//! volumes and continuity errors from its report.

mod common;

use common::pinned;
use twin_hydro::results::{Report, Summary};
use twin_hydro::{Engine, EngineError, ExternalFiles, parse};

macro_rules! model {
    ($name:literal) => {
        include_str!(concat!("../../../benches/swmm/models/", $name))
    };
}

/// Data files of the models, keyed by the name the models give them.
fn files() -> ExternalFiles {
    let mut f = ExternalFiles::new();
    for (name, text) in [
        ("runoff_climate.dat", model!("runoff_climate.dat")),
        (
            "runoff_climate_ghcnd.dat",
            model!("runoff_climate_ghcnd.dat"),
        ),
        ("runoff_rain_swmm.dat", model!("runoff_rain_swmm.dat")),
        ("runoff_rain_nws.dat", model!("runoff_rain_nws.dat")),
        ("runoff_rain_nws15.dat", model!("runoff_rain_nws15.dat")),
        ("runoff_rain_online.dat", model!("runoff_rain_online.dat")),
        ("runoff_rain_cmc.dat", model!("runoff_rain_cmc.dat")),
        ("runoff_rain_tape.dat", model!("runoff_rain_tape.dat")),
        ("runoff_rain_named.dat", model!("runoff_rain_named.dat")),
        (
            "runoff_rain_online60.dat",
            model!("runoff_rain_online60.dat"),
        ),
        ("runoff_rain_aes.dat", model!("runoff_rain_aes.dat")),
        ("runoff_rain_cmc15.dat", model!("runoff_rain_cmc15.dat")),
        ("runoff_inflow_ts.dat", model!("runoff_inflow_ts.dat")),
        ("runoff_rain_ts.dat", model!("runoff_rain_ts.dat")),
    ] {
        f.insert(name, text);
    }
    f
}

fn run(text: &str) -> (Engine, Report, Summary) {
    let p = parse(text).expect("model parses");
    let mut e = Engine::with_files(&p, &files()).expect("model builds");
    let (rep, sum) = twin_hydro::results::run(&mut e, &mut || 0.0);
    (e, rep, sum)
}

fn series(v: &[f64], names: &[String], name: &str) -> Vec<f64> {
    let i = names.iter().position(|x| x == name).expect("name");
    v.iter().skip(i).step_by(names.len()).copied().collect()
}

fn peak(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::MIN, f64::max)
}

/// Subcatchment peak runoffs (m³/s) within `rel` of SWMM's.
fn check_runoff_peaks(rep: &Report, swmm: &[(&str, f64)], rel: f64) {
    for &(name, q) in swmm {
        let ours = peak(&series(&rep.subcatch_runoff, &rep.subcatch_names, name));
        assert!(
            (ours - q).abs() <= rel * q,
            "{name}: peak runoff {ours} vs SWMM {q}"
        );
    }
}

fn check_depth(rep: &Report, node: &str, k: usize, swmm: f64, tol: f64) {
    let d = series(&rep.node_depth, &rep.node_names, node)[k];
    assert!(
        (d - swmm).abs() <= tol,
        "{node} at step {k}: {d} vs SWMM {swmm}"
    );
}

/// Runoff totals in mm over the catchment area: (rain, runon, evap, infil, runoff, storage).
fn runoff_mm(e: &Engine) -> [f64; 6] {
    let r = e.runoff.as_ref().expect("runoff");
    let area: f64 = r.area.iter().sum();
    let mm = |v: f64| v / area * 304.8;
    let t = r.totals;
    [
        mm(t.rainfall),
        mm(t.runon),
        mm(t.evap),
        mm(t.infil),
        mm(t.runoff),
        mm(r.storage()),
    ]
}

fn close(what: &str, ours: f64, swmm: f64, tol: f64) {
    assert!((ours - swmm).abs() <= tol, "{what}: {ours} vs SWMM {swmm}");
}

/// Runoff and routing continuity errors (%) as SWMM's (pinned for `test`):
/// runoff to its three decimals, routing within `routing_tol`.
fn check_continuity(sum: &Summary, test: &str, routing_tol: f64) {
    let ro = sum.runoff_continuity_error_pct.expect("runoff");
    close("runoff continuity", ro, pinned(test, "runoff_error"), 0.001);
    close(
        "routing continuity",
        sum.routing_continuity_error_pct,
        pinned(test, "routing_error"),
        routing_tol,
    );
}

/// Every depth of the runoff balance SWMM's figures pin for `test`
/// (`runoff_*` in benches/swmm/pinned.csv), in mm or, with `per` 25.4,
/// inches, within `tol`.
fn check_balance(e: &Engine, test: &str, per: f64, tol: f64) {
    let [rain, runon, evap, infil, runoff, storage] = runoff_mm(e);
    let mut checked = 0;
    for [_, _, _, q, _, _] in common::pinned_rows().into_iter().filter(|r| r[0] == test) {
        let ours = match q {
            "runoff_precipitation" => rain,
            "runoff_runon" => runon,
            "runoff_evaporation" => evap,
            "runoff_infiltration" => infil,
            "runoff_runoff" => runoff,
            "runoff_storage" => storage,
            _ => continue,
        };
        close(q, ours / per, pinned(test, q), tol);
        checked += 1;
    }
    assert!(checked > 0, "{test}: no runoff balance pinned");
}

/// Routing evaporation loss in megalitres.
fn evap_ml(e: &Engine) -> f64 {
    e.routing_totals().evap_loss * 0.028_316_846_592 / 1000.0
}

#[test]
fn subcatchments_and_subareas_route_runoff_as_swmm() {
    // ROOF -> YARD -> PARK -> J1 and FIELD -> LAWN -> J2; YARD, LOT and
    // STREET send impervious runoff onto their pervious area, PARK and LAWN
    // pervious runoff onto their impervious area; Horton, modified Horton,
    // Green-Ampt, modified Green-Ampt and Curve Number all take runon.
    let (e, rep, sum) = run(model!("runoff_routing.inp"));
    check_runoff_peaks(
        &rep,
        &[
            ("ROOF", 0.121_072),
            ("YARD", 0.111_158),
            ("PARK", 0.046_946),
            ("LOT", 0.207_487),
            ("FIELD", 0.064_441),
            ("LAWN", 0.170_655),
            ("STREET", 0.100_275),
        ],
        0.002,
    );
    // SWMM's runoff balance (mm) and continuity error.
    let t = "subcatchments_and_subareas_route_runoff_as_swmm";
    check_balance(&e, t, 1.0, 0.001);
    let ro = sum.runoff_continuity_error_pct.expect("runoff");
    close("runoff continuity", ro, pinned(t, "runoff_error"), 0.001);
    // Open channel C4 evaporates 3 mm/day; SWMM's routing error is 0.000 %.
    assert!(sum.routing_continuity_error_pct.abs() < 0.001);
    check_depth(&rep, "J2", 11, 0.399_130, 0.001);
}

#[test]
fn outfall_discharges_onto_a_subcatchment_as_swmm() {
    // The upland sewer's outfall UO spills onto LOW, which drains to the
    // lowland sewer: SWMM books 7.590 mm of outfall runon.
    let (e, rep, sum) = run(model!("runoff_outfall.inp"));
    check_runoff_peaks(
        &rep,
        &[
            ("UP1", 0.412_155),
            ("UP2", 0.182_572),
            ("LOW", 0.339_347),
            ("LOW2", 0.162_714),
        ],
        0.002,
    );
    let t = "outfall_discharges_onto_a_subcatchment_as_swmm";
    check_balance(&e, t, 1.0, 0.001);
    check_continuity(&sum, t, 0.002);
    check_depth(&rep, "L1", 13, 0.547_700, 0.001);
}

#[test]
fn monthly_evaporation_and_adjustments_match_swmm() {
    // 4.0 / 6.5 mm/day in January / February plus the 0.5 / 1.0 mm/day
    // adjustments; rain scaled by 1.1 / 0.8, conductivity by 0.7 / 1.3, with
    // RECOVERY, N-PERV, DSTORE and INFIL patterns and DRY_ONLY.
    let (e, rep, sum) = run(model!("runoff_evap_monthly.inp"));
    assert_eq!(rep.evap_rate[0], 4.5);
    assert!((rep.evap_rate[rep.evap_rate.len() - 1] - 7.5).abs() < 1e-12);
    check_runoff_peaks(
        &rep,
        &[("S1", 0.117_402), ("S2", 0.041_435), ("S3", 0.041_468)],
        0.002,
    );
    let t = "monthly_evaporation_and_adjustments_match_swmm";
    check_balance(&e, t, 1.0, 0.001);
    // The pond (2500 m², Fevap 1) and the open channels lose SWMM's 0.141 ML.
    let swmm = pinned(t, "routing_evaporation") / 1000.0;
    close("routing evaporation (ML)", evap_ml(&e), swmm, 0.0005);
    check_continuity(&sum, t, 0.002);
    check_depth(&rep, "POND", 69, 1.653_117, 0.0005);
    check_depth(&rep, "POND", 431, 1.579_823, 0.0005);
}

#[test]
fn time_series_evaporation_under_kinematic_wave_matches_swmm() {
    // The rate holds from each entry's date; SWMM skips the entry dated
    // before the simulation day and starts with 0.12 in/day.
    let (e, rep, sum) = run(model!("runoff_evap_series.inp"));
    let in_day: Vec<f64> = rep.evap_rate.iter().map(|x| x / 25.4).collect();
    for (k, swmm) in [
        (0, 0.12),
        (35, 0.12),
        (36, 0.20),
        (107, 0.20),
        (108, 0.25),
        (228, 0.30),
        (335, 0.22),
    ] {
        close(&format!("PET at {k}"), in_day[k], swmm, 1e-6);
    }
    check_runoff_peaks(
        &rep,
        &[("A1", 0.110_418), ("A2", 0.084_331), ("A3", 0.104_652)],
        0.002,
    );
    // SWMM's balance in inches.
    let t = "time_series_evaporation_under_kinematic_wave_matches_swmm";
    check_balance(&e, t, 25.4, 0.0005);
    check_continuity(&sum, t, 0.001);
}

#[test]
fn climate_file_pan_evaporation_matches_swmm() {
    // Daily evaporation from the user-prepared climate file (two days
    // missing: the previous value holds) times April 0.8 / May 0.65.
    let (e, rep, sum) = run(model!("runoff_evap_file.inp"));
    close("PET first", rep.evap_rate[0], 1.624, 1e-4);
    close("PET last", *rep.evap_rate.last().unwrap(), 1.8135, 1e-4);
    close("PET max", peak(&rep.evap_rate), 3.36, 1e-4);
    check_runoff_peaks(&rep, &[("B1", 0.020_077), ("B2", 0.002_034)], 0.003);
    let t = "climate_file_pan_evaporation_matches_swmm";
    let swmm = pinned(t, "routing_evaporation") / 1000.0;
    close("routing evaporation (ML)", evap_ml(&e), swmm, 0.0005);
    check_depth(&rep, "LAKE", 311, 2.083_078, 0.0005);
    check_continuity(&sum, t, 0.002);
}

#[test]
fn hargreaves_evaporation_from_ghcn_temperatures_matches_swmm() {
    // 7-day moving averages of daily temperatures (tenths of °C) read from
    // 5 June, 1.5 °C added in June, latitude 21.03°.
    let (e, rep, sum) = run(model!("runoff_evap_temp.inp"));
    close("PET first", rep.evap_rate[0], 4.591_549, 1e-5);
    close("PET last", *rep.evap_rate.last().unwrap(), 4.522_683, 1e-5);
    close("PET max", peak(&rep.evap_rate), 5.496_494, 1e-5);
    let ev = series(&rep.subcatch_evap, &rep.subcatch_names, "H1");
    close("H1 evaporation max", peak(&ev), 5.163_401, 1e-4);
    let t = "hargreaves_evaporation_from_ghcn_temperatures_matches_swmm";
    let swmm = pinned(t, "routing_evaporation") / 1000.0;
    close("routing evaporation (ML)", evap_ml(&e), swmm, 0.0005);
    check_depth(&rep, "BASIN", 335, 1.346_458, 0.0005);
    check_continuity(&sum, t, 0.002);
}

#[test]
fn rain_files_in_every_format_match_swmm() {
    // W1-W3: SWMM's format (intensity, volume, cumulative from a start day),
    // W4: NCDC hourly with accumulated and missing periods, W5: NCDC
    // 15-minute comma-delimited, W6: NCDC online, W7: Environment Canada
    // CMC hourly, W8: a gauge on a time series kept in a file.
    let (e, rep, sum) = run(model!("runoff_rainfiles.inp"));
    check_runoff_peaks(
        &rep,
        &[
            ("W1", 0.113_105),
            ("W2", 0.439_680),
            ("W3", 0.159_094),
            ("W4", 0.024_697),
            ("W5", 0.083_850),
            ("W6", 0.024_796),
            ("W7", 0.044_449),
            ("W8", 0.082_314),
        ],
        0.002,
    );
    let t = "rain_files_in_every_format_match_swmm";
    check_balance(&e, t, 1.0, 0.001);
    // The base flow series is read from a file: SWMM's external inflow.
    let ex = e.routing_totals().ex_inflow * 0.028_316_846_592 / 1000.0;
    let swmm = pinned(t, "routing_external_inflow") / 1000.0;
    close("external inflow (ML)", ex, swmm, 0.0005);
    check_continuity(&sum, t, 0.001);
}

#[test]
fn other_rain_file_layouts_match_swmm() {
    // V1: NCDC fixed-width ("tape") with a missing hour, V2: space-delimited
    // with the station name, V3: NCDC online hourly in hundredths, V4:
    // Environment Canada AES hourly (3-digit year), V5: CMC 15-minute.
    let (e, rep, sum) = run(model!("runoff_rainfiles2.inp"));
    check_runoff_peaks(
        &rep,
        &[
            ("V1", 0.028_225),
            ("V2", 0.015_521),
            ("V3", 0.021_872),
            ("V4", 0.075_670),
            ("V5", 0.099_635),
        ],
        0.002,
    );
    let t = "other_rain_file_layouts_match_swmm";
    close(
        "runoff continuity",
        sum.runoff_continuity_error_pct.expect("runoff"),
        pinned(t, "runoff_error"),
        0.001,
    );
    // SWMM's balance (mm).
    check_balance(&e, t, 1.0, 0.001);
}

#[test]
fn external_file_problems_are_named() {
    let text = model!("runoff_rainfiles.inp");
    let p = parse(text).unwrap();
    // A file that was not handed over.
    let e = Engine::new(&p).unwrap_err();
    assert!(
        matches!(&e, EngineError::MissingFile { path, .. } if path.ends_with(".dat")),
        "{e}"
    );
    // Records out of time order name the file and line.
    let mut f = files();
    f.insert(
        "runoff_rain_swmm.dat",
        "HN1 2024 07 22 14 00 6.0\nHN1 2024 07 22 13 50 1.0\n",
    );
    let e = Engine::with_files(&p, &f).unwrap_err();
    assert!(
        matches!(&e, EngineError::FileData { path, line: 2, .. } if path == "runoff_rain_swmm.dat"),
        "{e}"
    );
    // A station absent from its file.
    let mut f = files();
    f.insert("runoff_rain_cmc.dat", "; nothing here\n");
    let e = Engine::with_files(&p, &f).unwrap_err();
    assert!(e.to_string().contains("runoff_rain_cmc.dat"), "{e}");
    // A bad value in a time series file.
    let mut f = files();
    f.insert("runoff_inflow_ts.dat", "07/22/2024 00:00 0.02\n06:00 abc\n");
    let e = Engine::with_files(&p, &f).unwrap_err();
    assert!(
        matches!(&e, EngineError::FileData { line: 2, .. }) && e.to_string().contains("abc"),
        "{e}"
    );
    // A malformed climate file line.
    let p = parse(model!("runoff_evap_file.inp")).unwrap();
    let mut f = files();
    f.insert(
        "runoff_climate.dat",
        "HANOI 2024 04 25 33 25 4 2\nHANOI x\n",
    );
    let e = Engine::with_files(&p, &f).unwrap_err();
    assert!(matches!(&e, EngineError::FileData { line: 2, .. }), "{e}");
}
