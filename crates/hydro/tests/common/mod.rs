//! Helpers shared by the integration tests: run a model, pick an object's
//! report-step series, compare with SWMM 5.2.4's figures.
#![allow(dead_code)]

use twin_hydro::results::{Report, Summary};

mod pinned;
#[allow(unused_imports)] // each test crate uses what it needs
pub use pinned::{pinned, rows as pinned_rows};

/// Runs `.inp` text to the end.
pub fn run(text: &str) -> (Report, Summary) {
    twin_hydro::run_inp(text, &mut || 0.0).expect("model runs")
}

/// Report-step series of one object out of a flat `[period][object]` array.
pub fn series(v: &[f64], names: &[String], name: &str) -> Vec<f64> {
    let n = names.len();
    let i = names
        .iter()
        .position(|x| x == name)
        .unwrap_or_else(|| panic!("no object {name}"));
    v.iter().skip(i).step_by(n).copied().collect()
}

/// Largest value of a series.
pub fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::MIN, f64::max)
}

/// Mean of a series.
pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Asserts each node's peak depth (m) over report steps is within `tol` m of SWMM's.
pub fn assert_peak_depths(rep: &Report, expected: &[(&str, f64)], tol: f64) {
    for &(node, swmm) in expected {
        let ours = max(&series(&rep.node_depth, &rep.node_names, node));
        assert!(
            (ours - swmm).abs() <= tol,
            "{node}: peak depth {ours} m vs SWMM {swmm} m"
        );
    }
}

/// Asserts each link's peak and mean flow (m³/s) over report steps are within
/// the relative tolerance `rel` of SWMM's `(peak, mean)`.
pub fn assert_flows(rep: &Report, expected: &[(&str, f64, f64)], rel: f64) {
    for &(link, peak, avg) in expected {
        let q = series(&rep.link_flow, &rep.link_names, link);
        let (p, m) = (max(&q), mean(&q));
        assert!(
            (p - peak).abs() <= rel * peak.abs().max(1e-3),
            "{link}: peak flow {p} vs SWMM {peak}"
        );
        assert!(
            (m - avg).abs() <= rel * avg.abs().max(1e-3),
            "{link}: mean flow {m} vs SWMM {avg}"
        );
    }
}

/// Asserts our routing continuity error is no larger than SWMM's (with the
/// report's rounding of 0.001 %) and close to it.
pub fn assert_continuity(sum: &Summary, swmm_pct: f64, close: f64) {
    let ours = sum.routing_continuity_error_pct;
    assert!(
        ours.abs() <= swmm_pct.abs() + 0.005,
        "routing continuity {ours} % vs SWMM {swmm_pct} %"
    );
    assert!(
        (ours - swmm_pct).abs() <= close,
        "routing continuity {ours} % vs SWMM {swmm_pct} %"
    );
}
