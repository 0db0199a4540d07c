//! SWMM's continuity error (massbal.c), shared by runoff and routing. A
//! leaf module.

/// Continuity error (percent) of a balance of `inflow` against `outflow`
/// (stored volume included), as SWMM reports it: zero when the two differ
/// by less than 1 ft³, otherwise relative to the inflow, or to the outflow
/// when nothing flowed in.
pub fn continuity_error(inflow: f64, outflow: f64) -> f64 {
    if (inflow - outflow).abs() < 1.0 {
        0.0
    } else if inflow > 0.0 {
        100.0 * (1.0 - outflow / inflow)
    } else if outflow > 0.0 {
        100.0 * (inflow / outflow - 1.0)
    } else {
        0.0
    }
}
