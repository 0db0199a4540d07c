//! What the engine's integration tests share: the design storm and the demo district.

use twin_model::City;

/// scenarios/design-storm-100mm-2h.csv as (minute, mm/h).
#[allow(dead_code)]
pub fn design_storm() -> Vec<(f64, f64)> {
    let text = include_str!("../../../../scenarios/design-storm-100mm-2h.csv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("minute"))
        .map(|l| {
            let (m, i) = l.split_once(',').unwrap();
            (m.trim().parse().unwrap(), i.trim().parse().unwrap())
        })
        .collect()
}

/// The demo district on 30 m cells.
pub fn city() -> City {
    twin_citygen::generate(&twin_citygen::DemoOptions {
        dem_cell_m: 30.0,
        ..Default::default()
    })
}
