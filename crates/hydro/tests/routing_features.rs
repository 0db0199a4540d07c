//! Routing features checked against EPA SWMM 5.2.4 (swmm-toolkit 0.17.0) on
//! the hand-written models of `benches/swmm/models/`: the figures are SWMM's
//! peaks and means over report steps and its routing continuity error.

mod common;
use common::*;

#[test]
fn kinematic_wave_dividers_match_swmm() {
    // Overflow, cutoff, tabular and weir dividers under kinematic wave.
    let (rep, sum) = run(include_str!("../../../benches/swmm/models/kw_dividers.inp"));
    assert_eq!(rep.times.len(), 72);
    assert_peak_depths(
        &rep,
        &[
            ("J1", 0.553_698),
            ("D3", 0.471_312),
            ("D4", 0.216_685),
            ("O2", 0.258_795),
        ],
        0.002,
    );
    // (link, peak, mean) in m³/s. C2 is the overflow divider's full
    // undiverted pipe, C3 takes the excess; C5 gets all above 0.15 m³/s at
    // D2; C7 follows the tabular curve; C9 the weir divider.
    assert_flows(
        &rep,
        &[
            ("C2", 0.461_159, 0.250_435),
            ("C3", 0.765_753, 0.248_610),
            ("C4", 0.150_000, 0.095_439),
            ("C5", 0.299_392, 0.154_582),
            ("C6", 0.406_301, 0.140_319),
            ("C7", 0.359_452, 0.107_830),
            ("C8", 0.074_987, 0.047_870),
            ("C9", 0.077_499, 0.047_563),
        ],
        0.005,
    );
    assert_continuity(&sum, 0.293, 0.05);
}

#[test]
fn kinematic_wave_regulators_match_swmm() {
    // Side and bottom orifices, transverse and V-notch weirs, a functional
    // outlet leaving storage units, an ideal pump from a junction and a
    // rule-switched type-4 pump, all under kinematic wave.
    let (rep, sum) = run(include_str!(
        "../../../benches/swmm/models/kw_regulators.inp"
    ));
    assert_eq!(rep.times.len(), 96);
    assert_peak_depths(
        &rep,
        &[
            ("ST1", 2.195_407),
            ("ST2", 2.208_517),
            ("ST3", 1.105_196),
            ("J10", 0.181_254),
        ],
        0.001,
    );
    assert_flows(
        &rep,
        &[
            ("OR1", 0.813_688, 0.400_844),
            ("OR2", 0.279_275, 0.148_349),
            ("W1", 0.686_312, 0.161_319),
            ("W2", 0.027_402, 0.003_738),
            ("OL1", 0.893_283, 0.302_908),
            ("P1", 0.250_000, 0.093_787),
            ("P2", 0.155_260, 0.060_886),
        ],
        0.002,
    );
    assert_continuity(&sum, -0.005, 0.002);
}
