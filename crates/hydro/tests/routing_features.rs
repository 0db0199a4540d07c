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

/// Depths (m) of the named nodes at report step `k`.
fn depth_at(rep: &twin_hydro::results::Report, node: &str, k: usize) -> f64 {
    series(&rep.node_depth, &rep.node_names, node)[k]
}

/// Asserts each node's depths (m) at the report steps `steps` are within
/// `tol` m of SWMM's.
fn assert_depths_at<const N: usize>(
    rep: &twin_hydro::results::Report,
    steps: [usize; N],
    expected: &[(&str, [f64; N])],
    tol: f64,
) {
    for (node, swmm) in expected {
        for (k, d) in steps.into_iter().zip(swmm) {
            let ours = depth_at(rep, node, k);
            assert!(
                (ours - d).abs() < tol,
                "{node} at step {k}: {ours} vs SWMM {d}"
            );
        }
    }
}

/// Runs a model and returns the report, summary and routing totals (ft³).
fn run_with_totals(
    text: &str,
) -> (
    twin_hydro::results::Report,
    twin_hydro::results::Summary,
    twin_hydro::engine::RoutingTotals,
) {
    let p = twin_hydro::parse(text).unwrap();
    let mut e = twin_hydro::Engine::new(&p).unwrap();
    let (rep, sum) = twin_hydro::results::run(&mut e, &mut || 0.0);
    (rep, sum, e.routing_totals())
}

const FT3: f64 = 0.028_316_846_592;

/// The run's evaporation and exfiltration losses (m³) within `evap_tol` and
/// `seep_tol` of SWMM's pinned for `test`.
fn assert_losses(
    tot: &twin_hydro::engine::RoutingTotals,
    test: &str,
    evap_tol: f64,
    seep_tol: f64,
) {
    let (evap, seep) = (tot.evap_loss * FT3, tot.seep_loss * FT3);
    let swmm = pinned(test, "routing_evaporation");
    assert!(
        (evap - swmm).abs() < evap_tol,
        "{test}: evaporation {evap} m³ vs SWMM {swmm}"
    );
    let swmm = pinned(test, "routing_exfiltration");
    assert!(
        (seep - swmm).abs() < seep_tol,
        "{test}: seepage {seep} m³ vs SWMM {swmm}"
    );
}

/// The run's flooding (m³) within `tol` of SWMM's pinned for `test`.
fn assert_flooding(tot: &twin_hydro::engine::RoutingTotals, test: &str, tol: f64) {
    let flood = tot.flooding * FT3;
    let swmm = pinned(test, "routing_flooding");
    assert!(
        (flood - swmm).abs() < tol,
        "{test}: flooding {flood} m³ vs SWMM {swmm}"
    );
}

/// Every pinned figure names a model in the repository (or the demo
/// network the CLI exports) and a quantity the SWMM harness reads.
#[test]
fn pinned_figures_name_their_models_and_quantities() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../");
    let quantities = [
        "routing_flooding",
        "routing_exfiltration",
        "routing_evaporation",
        "routing_outflow",
        "routing_external_inflow",
        "routing_error",
        "runoff_precipitation",
        "runoff_runon",
        "runoff_evaporation",
        "runoff_infiltration",
        "runoff_runoff",
        "runoff_storage",
        "runoff_error",
    ];
    let rows = pinned_rows();
    assert!(rows.len() > 30);
    for [test, model, _, quantity, value, unit] in rows {
        assert!(
            model == "twin-demo" || std::path::Path::new(root).join(model).is_file(),
            "{test}: no model {model}"
        );
        assert!(quantities.contains(&quantity), "{test}: {quantity}");
        let units: &[&str] = if quantity.ends_with("_error") {
            &["%"]
        } else if quantity.starts_with("runoff_") {
            &["mm", "in"]
        } else {
            &["m3"]
        };
        assert!(units.contains(&unit), "{test} {quantity}: {unit}");
        assert!(value.parse::<f64>().is_ok(), "{test}: {value}");
    }
}

#[test]
fn storage_seepage_matches_swmm() {
    // Green–Ampt seepage through a storage curve's bottom and banks (B1), a
    // conductivity-only functional unit (B2) and a pyramidal unit (B3),
    // dynamic wave. After the storm the three basins drain through the soil.
    let (rep, sum, tot) = run_with_totals(include_str!(
        "../../../benches/swmm/models/storage_seepage.inp"
    ));
    assert_eq!(rep.times.len(), 144);
    // SWMM 5.2.4 depths (m) at 6, 12 and 24 h.
    for (k, b1, b2, b3) in [
        (35, 2.040_98, 2.041_98, 2.040_60),
        (71, 1.920_26, 1.920_33, 1.920_31),
        (143, 1.753_07, 1.753_07, 1.753_08),
    ] {
        for (node, swmm) in [("B1", b1), ("B2", b2), ("B3", b3)] {
            let ours = depth_at(&rep, node, k);
            assert!(
                (ours - swmm).abs() < 0.0005,
                "{node} at step {k}: {ours} vs SWMM {swmm}"
            );
        }
    }
    assert_peak_depths(&rep, &[("B1", 2.286_512), ("B2", 2.197_135)], 0.0005);
    let t = "storage_seepage_matches_swmm";
    let seep = tot.seep_loss * FT3;
    let swmm = pinned(t, "routing_exfiltration");
    assert!(
        (seep - swmm).abs() < 1.0,
        "seepage {seep} m³ vs SWMM {swmm}"
    );
    assert_continuity(&sum, pinned(t, "routing_error"), 0.01);
}

#[test]
fn storage_seepage_under_kinematic_wave_matches_swmm() {
    // The same basins (B2 linear, B3 cylindrical) routed by kinematic wave.
    let (rep, sum, tot) = run_with_totals(include_str!(
        "../../../benches/swmm/models/storage_seepage_kw.inp"
    ));
    for (k, b1, b2, b3) in [
        (35, 1.123_99, 1.639_64, 2.117_99),
        (71, 0.940_41, 1.418_28, 1.954_68),
        (143, 0.791_72, 1.178_24, 1.845_69),
    ] {
        for (node, swmm) in [("B1", b1), ("B2", b2), ("B3", b3)] {
            let ours = depth_at(&rep, node, k);
            assert!(
                (ours - swmm).abs() < 0.0005,
                "{node} at step {k}: {ours} vs SWMM {swmm}"
            );
        }
    }
    let t = "storage_seepage_under_kinematic_wave_matches_swmm";
    let seep = tot.seep_loss * FT3;
    let swmm = pinned(t, "routing_exfiltration");
    assert!(
        (seep - swmm).abs() < 1.0,
        "seepage {seep} m³ vs SWMM {swmm}"
    );
    assert_continuity(&sum, pinned(t, "routing_error"), 0.002);
}

const CULVERTS: &str = include_str!("../../../benches/swmm/models/culverts.inp");

#[test]
fn culvert_inlet_control_matches_swmm() {
    // Three basins drain through culverts: HDS-5 form 1 (circular concrete,
    // code 1), form 2 (box with beveled headwall, code 14) and a mitered CMP
    // pair (code 5). Inlet control holds water back until it overtops a
    // roadway (constant coefficient) and a weir whose coefficient follows a
    // curve of head.
    let (rep, sum) = run(CULVERTS);
    assert_eq!(rep.times.len(), 72);
    assert_peak_depths(
        &rep,
        &[
            ("S1", 2.743_400),
            ("S2", 2.222_839),
            ("S3", 3.913_226),
            ("J3", 0.730_868),
        ],
        0.0005,
    );
    assert_flows(
        &rep,
        &[
            ("K1", 4.392_763, 1.992_186),
            ("K2", 5.164_055, 2.189_123),
            ("K3", 6.959_116, 2.624_184),
            ("R1", 2.607_237, 0.632_174),
            ("W2", 1.835_945, 0.436_005),
        ],
        0.002,
    );
    assert_continuity(&sum, -0.002, 0.002);
    // Without culvert codes SWMM's basins peak far lower (S1 0.8196 m,
    // S2 0.5735 m): the control above is the inlets', not the barrels'.
    let free = CULVERTS
        .replace("1        1\n", "1        0\n")
        .replace("1        14\n", "1        0\n")
        .replace("2        5\n", "2        0\n");
    let (rep, _) = run(&free);
    assert_peak_depths(&rep, &[("S1", 0.819_608), ("S2", 0.573_507)], 0.001);
}

const DUMMY: &str = include_str!("../../../benches/swmm/models/dummy_conduits.inp");

#[test]
fn dummy_conduits_match_swmm() {
    // DUMMY links pass their upstream node's inflow straight on: D1 carries
    // J1's 1 m³/s hydrograph unchanged, D4 J4's half of it.
    let (rep, sum) = run(DUMMY);
    assert_peak_depths(&rep, &[("J2", 0.472_225), ("J3", 0.493_463)], 0.0005);
    assert_flows(
        &rep,
        &[
            ("D1", 1.0, 0.437_500),
            ("D4", 0.5, 0.218_750),
            ("C3", 1.500_053, 0.656_148),
        ],
        0.002,
    );
    assert_continuity(&sum, 0.007, 0.005);
    // Under kinematic wave (J3 draining through C3 only).
    let kw = DUMMY
        .replace("DYNWAVE", "KINWAVE")
        .replace("ROUTING_STEP         5", "ROUTING_STEP         30")
        .lines()
        .filter(|l| !l.starts_with("C5 ") && !l.starts_with("O2 "))
        .collect::<Vec<_>>()
        .join("\n");
    let (rep, sum) = run(&kw);
    assert_peak_depths(&rep, &[("J2", 0.472_225), ("J3", 0.493_447)], 0.0005);
    assert_flows(
        &rep,
        &[("D1", 1.0, 0.437_500), ("C3", 1.5, 0.656_166)],
        0.002,
    );
    assert_continuity(&sum, -0.045, 0.002);
    // A DUMMY conduit must be its node's only outflow under dynamic wave.
    let two = DUMMY.replace("C2      J2    J3", "C2      J1    J3");
    let e = twin_hydro::Engine::new(&twin_hydro::parse(&two).unwrap()).unwrap_err();
    assert!(
        e.to_string().contains("J1") && e.to_string().contains("D1"),
        "{e}"
    );
}

#[test]
fn natural_channels_from_transects_match_swmm() {
    // Three reaches of valley cross sections with rougher overbanks; the
    // middle one meanders (length factor 1.3, station factor 1.1, an
    // elevation offset). The flood rises well over the banks.
    let (rep, sum) = run(include_str!("../../../benches/swmm/models/transects.inp"));
    assert_peak_depths(
        &rep,
        &[("N1", 2.867_005), ("N2", 3.024_797), ("N3", 2.457_814)],
        0.0005,
    );
    assert_flows(
        &rep,
        &[
            ("R1", 57.405_037, 19.295_562),
            ("R2", 55.828_030, 19.247_488),
            ("R3", 54.967_510, 19.214_477),
        ],
        0.002,
    );
    assert_continuity(&sum, -0.045, 0.002);
}

#[test]
fn shape_curves_match_swmm() {
    // CUSTOM sections scaled from SHAPE curves, one starting above the
    // invert; B1 surcharges and floods.
    let (rep, sum) = run(include_str!(
        "../../../benches/swmm/models/custom_shapes.inp"
    ));
    assert_peak_depths(
        &rep,
        &[
            ("A1", 2.071_579),
            ("A2", 0.727_089),
            ("B1", 3.048_000),
            ("B2", 2.027_305),
        ],
        0.0005,
    );
    assert_flows(
        &rep,
        &[("A2O", 7.362_742, 2.761_181), ("B2O", 3.545_283, 1.474_933)],
        0.001,
    );
    assert!(
        (sum.flooding_volume_m3 - 3914.1).abs() < 0.005 * 3914.1,
        "{}",
        sum.flooding_volume_m3
    );
    assert_continuity(&sum, -0.003, 0.002);
}

#[test]
fn closed_form_shapes_match_swmm() {
    // Rect-round, modified basket handle, parabolic and power-law sections,
    // each filled into its curved part.
    let (rep, sum) = run(include_str!(
        "../../../benches/swmm/models/shapes_analytic.inp"
    ));
    assert_peak_depths(
        &rep,
        &[
            ("A1", 0.925_145),
            ("A2", 0.816_890),
            ("B1", 0.866_500),
            ("B2", 0.746_918),
            ("C1", 0.983_040),
            ("D1", 1.095_595),
        ],
        0.0005,
    );
    assert_flows(
        &rep,
        &[
            ("A2O", 2.500_134, 0.928_488),
            ("B2O", 2.500_214, 0.937_282),
            ("C2O", 2.500_000, 0.937_406),
            ("D2O", 2.500_000, 0.937_417),
        ],
        0.002,
    );
    assert_continuity(&sum, -0.007, 0.002);
}

/// A link's setting at each report time: the setting in force over the
/// routing step that reaches it, as SWMM writes a regulator's or pump's
/// setting to its output file.
fn settings_at_reports(text: &str, link: &str) -> Vec<f64> {
    let p = twin_hydro::parse(text).unwrap();
    let mut e = twin_hydro::Engine::new(&p).unwrap();
    let l = e.link_index(link).unwrap();
    let step = e.opt.report_step;
    let (mut next, mut out) = (step, Vec::new());
    while e.advance() > 0.0 {
        while e.time >= next - 1e-6 {
            out.push(e.links.setting[l]);
            next += step;
        }
    }
    out
}

#[test]
fn modulated_control_actions_match_swmm() {
    // An orifice opened along a curve of its basin's depth, a weir gate
    // moved on a time series, a pump under PID control of a downstream level.
    let text = include_str!("../../../benches/swmm/models/controls_modulated.inp");
    // SWMM 5.2.4 settings at report steps 6, 12, 24, 36, 48, 60 and 72
    // (30 min to 6 h), from its output file.
    let steps = [5, 11, 23, 35, 47, 59, 71];
    for (link, swmm, tol) in [
        (
            "OR1",
            [
                0.202_293, 0.540_285, 0.690_826, 0.691_52, 0.477_543, 0.227_685, 0.123_048,
            ],
            1e-4,
        ),
        ("W1", [0.2, 0.2, 0.2, 0.9, 0.9, 0.9, 0.9], 1e-12),
        (
            "P1",
            [
                3.155_828,
                4.303_881,
                5.662_123,
                7.976_099,
                8.972_884,
                11.162_421,
                154.830_109,
            ],
            2e-3,
        ),
    ] {
        let ours = settings_at_reports(text, link);
        for (k, want) in steps.iter().zip(swmm) {
            let got = ours[*k];
            assert!(
                (got - want).abs() <= tol * want.max(1.0),
                "{link} setting at report {}: {got} vs SWMM {want}",
                k + 1
            );
        }
    }
    let (rep, sum) = run(text);
    assert_peak_depths(&rep, &[("ST1", 1.783_039), ("ST3", 0.526_919)], 0.002);
    assert_flows(
        &rep,
        &[
            ("OR1", 1.199_993, 0.524_713),
            ("W1", 1.746_441, 0.416_425),
            ("P1", 0.244_112, 0.108_648),
        ],
        0.003,
    );
    assert_continuity(&sum, 0.006, 0.003);
}

#[test]
fn standard_sewer_shapes_match_swmm() {
    // Egg, horseshoe and elliptical pipes built from their published
    // geometry (SWMM uses its own tabulated outlines, which differ by up to
    // 0.04 in relative hydraulic radius): peak depths agree within 7 mm.
    let (rep, sum) = run(include_str!(
        "../../../benches/swmm/models/standard_shapes.inp"
    ));
    assert_peak_depths(
        &rep,
        &[
            ("A1", 0.891_965),
            ("A2", 0.799_083),
            ("B1", 0.604_590),
            ("B2", 0.529_755),
            ("C1", 0.527_321),
            ("C2", 0.474_417),
            ("D1", 0.875_281),
            ("D2", 0.762_133),
        ],
        0.007,
    );
    // The horseshoe's area and radius tables agree with SWMM's to 1e-4 and
    // 0.01, and its depths to 0.3 mm.
    assert_peak_depths(&rep, &[("B1", 0.604_590), ("B2", 0.529_755)], 0.0003);
    assert!(
        sum.routing_continuity_error_pct.abs() < 0.005,
        "{}",
        sum.routing_continuity_error_pct
    );
}

#[test]
fn conduit_seepage_matches_swmm() {
    // [LOSSES] seepage through the wetted width of a trapezoidal channel,
    // a natural reach and a pipe, dynamic wave. The upper channel runs dry
    // after the storm: its seepage stops with its flow.
    let text = include_str!("../../../benches/swmm/models/conduit_seepage.inp");
    let (rep, sum, tot) = run_with_totals(text);
    assert_eq!(rep.times.len(), 60);
    // SWMM 5.2.4 depths (m) at 2, 4, 6 and 8 h.
    assert_depths_at(
        &rep,
        [11, 23, 35, 47],
        &[
            ("N1", [1.024_67, 0.755_30, 0.112_11, 0.000_03]),
            ("N2", [0.842_30, 0.901_99, 0.586_01, 0.130_59]),
            ("N3", [0.804_93, 1.871_77, 1.570_36, 0.989_16]),
        ],
        0.001,
    );
    assert_peak_depths(
        &rep,
        &[("N1", 1.150_618), ("N2", 0.903_891), ("N3", 1.877_744)],
        0.0005,
    );
    assert_flows(
        &rep,
        &[
            ("K1", 3.296_31, 1.063_13),
            ("K2", 3.143_45, 0.939_29),
            ("K3", 1.334_98, 0.745_71),
        ],
        0.002,
    );
    let t = "conduit_seepage_matches_swmm";
    let seep = tot.seep_loss * FT3;
    let swmm = pinned(t, "routing_exfiltration");
    assert!(
        (seep - swmm).abs() < 10.0,
        "seepage {seep} m³ vs SWMM {swmm}"
    );
    assert_continuity(&sum, pinned(t, "routing_error"), 0.01);

    // Under kinematic wave the loss is capped by the flow instead; the
    // pipe floods N3 (SWMM's continuity error is kinematic wave's own).
    let t = "conduit_seepage_matches_swmm/kinwave";
    let kw = text.replace("DYNWAVE", "KINWAVE");
    let (_, sum_kw, tot_kw) = run_with_totals(&kw);
    let seep = tot_kw.seep_loss * FT3;
    let swmm = pinned(t, "routing_exfiltration");
    assert!(
        (seep - swmm).abs() < 10.0,
        "KW seepage {seep} m³ vs SWMM {swmm}"
    );
    let flood = tot_kw.flooding * FT3;
    let swmm = pinned(t, "routing_flooding");
    assert!(
        (flood - swmm).abs() < 20.0,
        "KW flooding {flood} m³ vs SWMM {swmm}"
    );
    assert_continuity(&sum_kw, pinned(t, "routing_error"), 0.02);
}

#[test]
fn preissmann_slot_surcharge_matches_swmm() {
    // Circular and box pipes run full under a storm twice their capacity;
    // SURCHARGE_METHOD SLOT carries the surcharge in a Preissmann slot.
    let text = include_str!("../../../benches/swmm/models/slot_surcharge.inp");
    let (rep, sum) = run(text);
    assert_eq!(rep.times.len(), 72);
    // SWMM 5.2.4 peaks (J1 and J3 flood at their rim).
    assert_peak_depths(
        &rep,
        &[
            ("J1", 5.0),
            ("J2", 4.617_748),
            ("J3", 4.0),
            ("J4", 2.633_832),
            ("J5", 0.480_269),
        ],
        0.0005,
    );
    assert_flows(
        &rep,
        &[
            ("P1", 1.344_614, 0.519_835),
            ("P3", 2.841_980, 1.118_702),
            ("P5", 2.841_981, 1.120_182),
        ],
        0.001,
    );
    let t = "preissmann_slot_surcharge_matches_swmm";
    let flood = pinned(t, "routing_flooding");
    assert!(
        (sum.flooding_volume_m3 - flood).abs() < 0.002 * flood,
        "flooding {} m³ vs SWMM {flood}",
        sum.flooding_volume_m3
    );
    assert_continuity(&sum, pinned(t, "routing_error"), 0.005);

    // The same storm under EXTRAN's surcharge: SWMM floods more and peaks
    // J2 at 4.611111 m, so the slot is what the figures above measure.
    let flood = pinned(
        "preissmann_slot_surcharge_matches_swmm/extran",
        "routing_flooding",
    );
    let (rep, sum) = run(&text.replace("SLOT", "EXTRAN"));
    assert_peak_depths(&rep, &[("J2", 4.611_111), ("J4", 2.568_200)], 0.0005);
    assert!(
        (sum.flooding_volume_m3 - flood).abs() < 0.002 * flood,
        "flooding {} m³",
        sum.flooding_volume_m3
    );

    // An unknown method is an input error naming the option and its line.
    let bad = text.replace("SURCHARGE_METHOD     SLOT", "SURCHARGE_METHOD     SLOTTED");
    let e = twin_hydro::parse(&bad).unwrap_err();
    assert!(e.line == 7 && e.message.contains("SURCHARGE_METHOD"), "{e}");
}

#[test]
fn force_mains_match_swmm() {
    // An inverted siphon under a tank's head runs full: Hazen–Williams, then
    // Darcy–Weisbach friction, and the same pipes as plain circular ones.
    let hw = include_str!("../../../benches/swmm/models/force_main.inp");
    let dw = include_str!("../../../benches/swmm/models/force_main_dw.inp");
    // SWMM 5.2.4: peak depths J1, J2, J3 (m), FM3 peak and mean flow
    // (m³/s); flooding (m³) and routing continuity (%) pinned.
    for (text, peaks, fm3, case) in [
        (
            hw,
            [10.618_118, 4.959_366, 5.921_552],
            (0.653_279, 0.356_077),
            "force_mains_match_swmm/hazen_williams",
        ),
        (
            dw,
            [10.265_409, 4.022_821, 4.973_424],
            (0.682_335, 0.366_085),
            "force_mains_match_swmm/darcy_weisbach",
        ),
    ] {
        let (flood, cont) = (
            pinned(case, "routing_flooding"),
            pinned(case, "routing_error"),
        );
        let (rep, sum) = run(text);
        assert_peak_depths(
            &rep,
            &[("J1", peaks[0]), ("J2", peaks[1]), ("J3", peaks[2])],
            0.0025,
        );
        assert_flows(&rep, &[("FM3", fm3.0, fm3.1)], 0.001);
        assert!(
            (sum.flooding_volume_m3 - flood).abs() < 0.002 * flood,
            "flooding {} m³ vs SWMM {flood}",
            sum.flooding_volume_m3
        );
        assert_continuity(&sum, cont, 0.005);
    }
    // As circular pipes with Manning's n the siphon carries more: SWMM
    // peaks J2 at 2.949676 m.
    let circ = hw
        .replace("FORCE_MAIN   0.5    120", "CIRCULAR     0.5    0")
        .replace("FORCE_MAIN   0.45   130", "CIRCULAR     0.45   0")
        .replace("FORCE_MAIN   0.6    100", "CIRCULAR     0.6    0");
    let (rep, _) = run(&circ);
    assert_peak_depths(&rep, &[("J2", 2.949_676)], 0.0025);

    // A force main needs its C-factor.
    let bad = hw.replace("FORCE_MAIN   0.5    120", "FORCE_MAIN   0.5    0");
    let e = twin_hydro::parse(&bad).unwrap_err();
    assert!(
        e.section == "XSECTIONS" && e.message.contains("Geom2"),
        "{e}"
    );
}

#[test]
fn steady_flow_routing_matches_swmm() {
    // Steady flow passes each link's inflow straight through, capped at
    // full flow: C2 and C3 overflow their upstream nodes.
    let text = include_str!("../../../benches/swmm/models/steady_flow.inp");
    let (rep, sum, tot) = run_with_totals(text);
    assert_eq!(rep.times.len(), 96);
    // SWMM 5.2.4 peaks and means over report steps.
    assert_peak_depths(
        &rep,
        &[("J1", 0.685_517), ("S1", 1.275_048), ("O1", 0.386_223)],
        0.0005,
    );
    assert_flows(
        &rep,
        &[
            ("C1", 1.400_000, 0.662_812),
            ("C2", 0.534_828, 0.341_129),
            ("C3", 0.400_000, 0.271_953),
            ("C4", 0.129_158, 0.066_173),
            ("C6", 0.927_827, 0.609_582),
            ("P1", 0.127_505, 0.062_129),
        ],
        0.001,
    );
    let t = "steady_flow_routing_matches_swmm";
    let flood = pinned(t, "routing_flooding");
    assert!(
        (sum.flooding_volume_m3 - flood).abs() < 20.0,
        "flooding {} m³ vs SWMM {flood}",
        sum.flooding_volume_m3
    );
    let seep = tot.seep_loss * FT3;
    let swmm = pinned(t, "routing_exfiltration");
    assert!(
        (seep - swmm).abs() < 1.0,
        "seepage {seep} m³ vs SWMM {swmm}"
    );
    assert_continuity(&sum, pinned(t, "routing_error"), 0.005);
}

#[test]
fn control_premises_match_swmm() {
    // Premises on lateral inflow, full depth, conduit velocity, length,
    // slope and full flow, a pump cycled by its time open and time closed,
    // the date and the day of the year (a leap year: 03/01 reads as day 60,
    // the date is day 61), and a STATUS an orifice does not have.
    let text = include_str!("../../../benches/swmm/models/controls_premises.inp");
    let runs = |r: &[(f64, usize)]| -> Vec<f64> {
        r.iter()
            .flat_map(|&(v, n)| std::iter::repeat_n(v, n))
            .collect()
    };
    // SWMM 5.2.4 settings at the 96 report steps, from its output file.
    let or1 = runs(&[(0.2, 6), (0.6, 8), (1.0, 30), (0.6, 2), (0.2, 50)]);
    let p1 = runs(
        &std::iter::once((0.0, 5))
            .chain([(1.0, 5), (0.0, 8)].into_iter().cycle().take(14))
            .collect::<Vec<_>>(),
    );
    let w1 = vec![0.7; 96];
    for (link, swmm) in [("OR1", or1), ("P1", p1), ("W1", w1)] {
        let ours = settings_at_reports(text, link);
        assert_eq!(ours.len(), 96);
        for (k, (got, want)) in ours.iter().zip(&swmm).enumerate() {
            assert!(
                (got - want).abs() < 1e-9,
                "{link} setting at report {}: {got} vs SWMM {want}",
                k + 1
            );
        }
    }
    let (rep, sum) = run(text);
    assert_peak_depths(
        &rep,
        &[("ST1", 1.392_361), ("ST2", 3.809_731), ("J3", 0.654_165)],
        0.002,
    );
    assert_flows(
        &rep,
        &[
            ("OR1", 1.399_949, 0.522_055),
            ("P1", 0.565_075, 0.161_599),
            ("W1", 0.959_820, 0.254_470),
        ],
        0.002,
    );
    assert_continuity(&sum, 0.044, 0.003);
    // Attributes an object does not have are input errors, as in SWMM.
    for (premise, why) in [
        ("IF WEIR W1 STATUS = OPEN", "WEIR has no attribute 'STATUS'"),
        ("IF LINK C1 SETTING > 0", "LINK has no attribute 'SETTING'"),
        ("IF NODE J1 FLOW > 0", "no attribute 'FLOW'"),
    ] {
        let bad = text.replace("IF LINK OR1 STATUS = OPEN", premise);
        let e = twin_hydro::Engine::new(&twin_hydro::parse(&bad).unwrap()).unwrap_err();
        assert!(e.to_string().contains(why), "{e}");
    }
}

#[test]
fn storage_evaporation_and_seepage_match_swmm() {
    // The same basins lose water to the air (Fevap) and to the soil, with
    // monthly evaporation across the end of January, monthly evaporation and
    // conductivity adjustments and a recovery pattern. B2's dead storage
    // empties between the storms: both losses are then cut to what it holds.
    let (rep, sum, tot) = run_with_totals(include_str!(
        "../../../benches/swmm/models/storage_losses.inp"
    ));
    assert_eq!(rep.times.len(), 384);
    // SWMM 5.2.4 depths (m) at 24, 48, 60, 72 and 96 h.
    assert_depths_at(
        &rep,
        [95, 191, 239, 287, 383],
        &[
            ("B1", [0.927_66, 0.834_13, 0.763_22, 0.966_18, 0.836_87]),
            ("B2", [0.207_56, 0.073_81, 0.0, 0.244_04, 0.025_55]),
            ("B3", [0.999_26, 0.996_84, 0.994_78, 0.999_93, 0.995_81]),
            ("B4", [1.161_11, 1.086_40, 1.021_13, 1.174_95, 1.044_39]),
        ],
        0.0005,
    );
    // SWMM's evaporation and exfiltration losses, booked apart (m³).
    assert_losses(
        &tot,
        "storage_evaporation_and_seepage_match_swmm",
        0.05,
        1.0,
    );
    let t = "storage_evaporation_and_seepage_match_swmm";
    assert_continuity(&sum, pinned(t, "routing_error"), 0.005);

    // Under kinematic wave (three basins, one storm each side of the month end).
    let (rep, sum, tot) = run_with_totals(include_str!(
        "../../../benches/swmm/models/storage_losses_kw.inp"
    ));
    assert_depths_at(
        &rep,
        [95, 191, 287],
        &[
            ("B1", [0.821_70, 0.606_29, 0.809_55]),
            ("B2", [1.242_87, 0.854_80, 1.120_42]),
            ("B3", [1.866_48, 1.718_51, 1.882_06]),
        ],
        0.0005,
    );
    let t = "storage_evaporation_and_seepage_match_swmm/kinwave";
    assert_losses(&tot, t, 0.02, 1.0);
    assert_continuity(&sum, pinned(t, "routing_error"), 0.002);
}

#[test]
fn conduit_evaporation_and_seepage_match_swmm() {
    // Open channels (trapezoidal, two rectangular barrels, a natural swale)
    // evaporate at the monthly rate and seep at their [LOSSES] rate times the
    // monthly conductivity adjustment; the closed pipe only seeps. After the
    // storm the base flow is all but used up by the losses.
    let text = include_str!("../../../benches/swmm/models/conduit_losses.inp");
    let (rep, sum, tot) = run_with_totals(text);
    assert_eq!(rep.times.len(), 288);
    // SWMM 5.2.4 depths (m) at 6, 12, 24 and 48 h.
    assert_depths_at(
        &rep,
        [23, 47, 95, 191],
        &[
            ("N1", [0.602_60, 0.040_18, 0.037_92, 0.039_47]),
            ("N2", [0.381_58, 0.049_35, 0.012_61, 0.013_26]),
            ("N3", [0.631_77, 0.156_68, 0.027_11, 0.020_19]),
            ("N4", [1.353_77, 0.300_38, 0.068_73, 0.043_28]),
        ],
        0.0005,
    );
    assert_flows(
        &rep,
        &[
            ("K1", 2.660_765, 0.221_460),
            ("K2", 2.676_095, 0.213_675),
            ("K3", 2.498_885, 0.210_941),
            ("K4", 2.342_479, 0.207_228),
        ],
        0.002,
    );
    let t = "conduit_evaporation_and_seepage_match_swmm";
    assert_losses(&tot, t, 0.5, 5.0);
    assert_continuity(&sum, pinned(t, "routing_error"), 0.005);

    // Under kinematic wave the losses are capped by the flow: at low flow
    // they take all of it, shared in proportion. The pipe floods N4.
    let kw = include_str!("../../../benches/swmm/models/conduit_losses_kw.inp");
    let (_, sum, tot) = run_with_totals(kw);
    let t = "conduit_evaporation_and_seepage_match_swmm/kinwave";
    assert_losses(&tot, t, 0.5, 5.0);
    assert_flooding(&tot, t, 5.0);
    assert_continuity(&sum, pinned(t, "routing_error"), 0.05);

    // Steady flow takes the losses off each conduit's inflow.
    let sf = text
        .replace("DYNWAVE", "STEADY")
        .replace("ROUTING_STEP         10", "ROUTING_STEP         30");
    let (_, _, tot) = run_with_totals(&sf);
    let t = "conduit_evaporation_and_seepage_match_swmm/steady";
    assert_losses(&tot, t, 0.5, 5.0);
    assert_flooding(&tot, t, 5.0);
}

#[test]
fn named_rule_variables_are_refused() {
    // Named variables and expressions in rules are refused, not ignored.
    let text = include_str!("../../../benches/swmm/models/conduit_seepage.inp");
    let t = text.replace(
        "[TIMESERIES]",
        "[CONTROLS]\nVARIABLE D1 = NODE N1 DEPTH\n\n[TIMESERIES]",
    );
    let e = twin_hydro::Engine::new(&twin_hydro::parse(&t).unwrap()).unwrap_err();
    assert!(e.to_string().contains("VARIABLE"), "{e}");
}

#[test]
fn table_only_sewer_shapes_are_refused() {
    // Gothic, catenary, semi-elliptical, basket-handle, semi-circular and
    // arch sections exist in SWMM only as its digitised tables: a model using one
    // is refused as unsupported, naming the shape, the conduit and CUSTOM.
    let text = include_str!("../../../benches/swmm/models/standard_shapes.inp");
    for shape in [
        "GOTHIC",
        "CATENARY",
        "SEMIELLIPTICAL",
        "BASKETHANDLE",
        "SEMICIRCULAR",
        "ARCH",
    ] {
        let t = text.replacen("HORSESHOE", shape, 1);
        assert_ne!(t, text);
        let e = twin_hydro::Engine::new(&twin_hydro::parse(&t).unwrap()).unwrap_err();
        assert!(matches!(e, twin_hydro::EngineError::Unsupported(_)), "{e}");
        let m = e.to_string();
        assert!(m.contains(shape) && m.contains("CUSTOM"), "{m}");
    }
}
