//! SWMM's reference figures, typed once in `benches/swmm/pinned.csv`, which
//! `benches/swmm/run_all.py` checks against live SWMM. Shared by the hydro
//! and the CLI tests.
#![allow(dead_code)]

/// The pinned rows: (test, model, variant, quantity, value, unit).
pub fn rows() -> Vec<[&'static str; 6]> {
    include_str!("../../../../benches/swmm/pinned.csv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("test,") && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 6, "pinned.csv: {l}");
            [f[0], f[1], f[2], f[3], f[4], f[5]]
        })
        .collect()
}

/// SWMM 5.2.4's figure for `quantity` in `test` (a test function's name,
/// with `/case` where it checks several runs).
pub fn pinned(test: &str, quantity: &str) -> f64 {
    let row = rows()
        .into_iter()
        .find(|r| r[0] == test && r[3] == quantity)
        .unwrap_or_else(|| panic!("pinned.csv has no {quantity} for {test}"));
    row[4].parse().expect("pinned.csv: a number")
}
