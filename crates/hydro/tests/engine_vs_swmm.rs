//! End-to-end checks of the dynamic-wave engine against numbers produced by
//! EPA SWMM 5.2.4 (swmm-toolkit 0.17.0) on the same input files.

mod common;

use twin_hydro::{Engine, parse, results};

const SIMPLE: &str = include_str!("data/simple_dw.inp");

fn run(text: &str) -> (results::Report, results::Summary) {
    twin_hydro::run_inp(text, &mut || 0.0).expect("model runs")
}

fn series<'a>(rep: &'a results::Report, v: &'a [f64], names: &[String], name: &str) -> Vec<f64> {
    let n = names.len();
    let i = names.iter().position(|x| x == name).expect("name");
    let _ = rep;
    v.iter().skip(i).step_by(n).copied().collect()
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::MIN, f64::max)
}

#[test]
fn simple_network_matches_swmm_peaks() {
    let (rep, sum) = run(SIMPLE);
    assert_eq!(rep.times.len(), 360);
    assert_eq!(rep.times[0], 60.0);
    // SWMM 5.2.4 peak depths (m) at report steps: J1 (surcharged) 1.8944, J3 0.4690, J4 0.3135.
    for (node, swmm) in [
        ("J1", 1.894_448_6),
        ("J3", 0.469_047_5),
        ("J4", 0.313_508_9),
    ] {
        let d = series(&rep, &rep.node_depth, &rep.node_names, node);
        let ours = max(&d);
        assert!(
            (ours - swmm).abs() < 0.02,
            "{node}: peak depth {ours} vs SWMM {swmm}"
        );
    }
    // SWMM 5.2.4 peak flows (m³/s): C1 0.57948, C4 0.69371.
    for (link, swmm) in [("C1", 0.579_475_1), ("C4", 0.693_711_5)] {
        let q = series(&rep, &rep.link_flow, &rep.link_names, link);
        let ours = max(&q);
        assert!(
            (ours - swmm).abs() / swmm < 0.01,
            "{link}: peak flow {ours} vs SWMM {swmm}"
        );
    }
    // SWMM reports a routing continuity error of -0.08 %.
    assert!(
        sum.routing_continuity_error_pct.abs() <= 0.1,
        "{}",
        sum.routing_continuity_error_pct
    );
    assert_eq!(sum.flooding_volume_m3, 0.0);
}

#[test]
fn flooding_is_reported_and_mass_is_conserved() {
    // Shrink the pipes so J1 floods.
    let text = SIMPLE.replace("C1  CIRCULAR     2 ", "C1  CIRCULAR     0.5 ");
    let (_rep, sum) = run(&text);
    assert!(
        sum.flooding_volume_m3 > 100.0,
        "flooding {}",
        sum.flooding_volume_m3
    );
    let j1 = sum.nodes.first().expect("J1");
    assert!(j1.flood_volume > 100.0 && j1.hours_flooded > 0.1);
    assert!(
        sum.routing_continuity_error_pct.abs() < 1.0,
        "{}",
        sum.routing_continuity_error_pct
    );
}

#[test]
fn coupling_api_adds_inflow_and_reads_overflow() {
    let p = parse(SIMPLE).unwrap();
    let mut e = Engine::new(&p).unwrap();
    let j2 = e.node_index("J2").unwrap();
    // 2 m³/s into J2 for 20 minutes overwhelms the 2-ft pipe downstream.
    e.set_node_inflow_si(j2, 2.0);
    let mut t = 0.0;
    let mut max_over: f64 = 0.0;
    while t < 1200.0 {
        t += e.advance();
        max_over = max_over.max(e.node_overflow_si(j2));
    }
    assert!(max_over > 0.1, "overflow {max_over}");
    assert!(e.node_depth_si(j2) > 0.6);
    let c2 = e.link_index("C2").unwrap();
    assert!(e.link_flow_si(c2) > 0.3);
    // Closing C2 stops its flow.
    e.set_link_setting(c2, 0.0);
    for _ in 0..50 {
        e.advance();
    }
    assert_eq!(e.link_flow_si(c2), 0.0);
}

#[test]
fn writers_produce_expected_columns() {
    let (rep, sum) = run(SIMPLE);
    let mut buf = Vec::new();
    results::write_nodes_csv(&rep, &mut buf).unwrap();
    let s = String::from_utf8(buf).unwrap();
    assert!(s.starts_with("time,node,depth,head,flooding\n60,J1,"));
    assert_eq!(s.lines().count(), 1 + 360 * 5);
    let mut buf = Vec::new();
    results::write_links_csv(&rep, &mut buf).unwrap();
    assert!(
        String::from_utf8(buf)
            .unwrap()
            .starts_with("time,link,flow,velocity\n60,C1,")
    );
    let mut buf = Vec::new();
    results::write_summary_json(&sum, &rep.node_names, &mut buf).unwrap();
    let j = String::from_utf8(buf).unwrap();
    assert!(j.contains("\"routing_continuity_error_pct\""));
    assert!(j.contains("\"runoff_continuity_error_pct\": null"));
    assert!(j.contains("\"run_time_s\""));
}

#[test]
fn unsupported_features_are_named() {
    // Kinematic wave routes trees: a junction with two outflow links is refused, naming it.
    let text = SIMPLE
        .replace("[INFLOWS]", "[PUMPS]\nP1 J3 J4 * ON 0 0\n\n[INFLOWS]")
        .replace(
            "FLOW_ROUTING         DYNWAVE",
            "FLOW_ROUTING         KINWAVE",
        );
    let e = Engine::new(&parse(&text).unwrap()).unwrap_err();
    assert!(
        e.to_string().contains("J3") && e.to_string().contains("outflow links"),
        "{e}"
    );
    // A divider's diverted link must start or end at the divider, as SWMM checks.
    let text = SIMPLE.replace(
        "[INFLOWS]",
        "[DIVIDERS]\nD1 95 C4 OVERFLOW 5 0 0 0\n\n[INFLOWS]",
    );
    let e = Engine::new(&parse(&text).unwrap()).unwrap_err();
    assert!(
        e.to_string().contains("D1") && e.to_string().contains("not connected"),
        "{e}"
    );
    let text = SIMPLE.replace("C4  J4  OUT", "C4  J4  NOPE");
    let e = Engine::new(&parse(&text).unwrap()).unwrap_err();
    assert!(
        e.to_string().contains("NOPE") && e.to_string().contains("CONDUITS"),
        "{e}"
    );
    let text = SIMPLE.replace(
        "[INFLOWS]",
        "[CONTROLS]\nRULE R1\nIF NODE J1 DEPTH > 1\nTHEN CONDUIT C9 STATUS = CLOSED\n\n[INFLOWS]",
    );
    let e = Engine::new(&parse(&text).unwrap()).unwrap_err();
    assert!(
        e.to_string().contains("C9") && e.to_string().contains("R1"),
        "{e}"
    );
}

#[test]
fn control_rule_closes_a_conduit() {
    // Close C1 once J1 is deeper than 1 ft: C1 stops and J1 floods.
    let text = SIMPLE.replace(
        "[INFLOWS]",
        "[CONTROLS]\nRULE R1\nIF NODE J1 DEPTH > 1\nTHEN CONDUIT C1 STATUS = CLOSED\nPRIORITY 1\n\n[INFLOWS]",
    );
    let (rep, sum) = run(&text);
    let q = series(&rep, &rep.link_flow, &rep.link_names, "C1");
    assert!(
        q.iter().skip(60).take(120).all(|&x| x == 0.0),
        "C1 must stay closed"
    );
    assert!(
        sum.flooding_volume_m3 > 1000.0,
        "{}",
        sum.flooding_volume_m3
    );
    assert!(sum.routing_continuity_error_pct.abs() < 1.0);
}

const REGULATORS: &str = include_str!("data/regulators.inp");

#[test]
fn storage_pump_weir_orifice_match_swmm() {
    let (rep, sum) = run(REGULATORS);
    assert_eq!(rep.times.len(), 240);
    // SWMM 5.2.4 peak depths (m) at report steps.
    for (node, swmm) in [
        ("J1", 0.469_488_2),
        ("T1", 2.310_604_1),
        ("T2", 0.455_198_3),
        ("J3", 0.082_906_4),
    ] {
        let ours = max(&series(&rep, &rep.node_depth, &rep.node_names, node));
        assert!(
            (ours - swmm).abs() < 0.01,
            "{node}: peak depth {ours} vs SWMM {swmm}"
        );
    }
    // SWMM 5.2.4 peak flows (m³/s) through conduit, pump, weir and orifice.
    for (link, swmm) in [
        ("C2", 0.752_014_2),
        ("P1", 0.172_424_2),
        ("W1", 0.135_378_1),
        ("OR1", 0.061_870_7),
    ] {
        let ours = max(&series(&rep, &rep.link_flow, &rep.link_names, link));
        assert!(
            (ours - swmm).abs() / swmm < 0.02,
            "{link}: peak flow {ours} vs SWMM {swmm}"
        );
    }
    // SWMM continuity errors: runoff -0.025 %, routing -0.387 %.
    let ro = sum.runoff_continuity_error_pct.expect("runoff");
    assert!((ro + 0.025).abs() < 0.01, "runoff continuity {ro}");
    assert!(
        (sum.routing_continuity_error_pct + 0.387).abs() < 0.02,
        "{}",
        sum.routing_continuity_error_pct
    );
}

#[test]
fn kinematic_wave_matches_swmm() {
    let text = SIMPLE
        .replace(
            "FLOW_ROUTING         DYNWAVE",
            "FLOW_ROUTING         KINWAVE",
        )
        .replace("ROUTING_STEP         5", "ROUTING_STEP         30");
    let (rep, sum) = run(&text);
    // SWMM 5.2.4 (KINWAVE, 30 s step): J1 floods and is reported at its full depth 2.4384 m.
    for (node, swmm) in [("J1", 2.4384), ("J3", 0.530_187_7), ("J4", 0.425_005_2)] {
        let ours = max(&series(&rep, &rep.node_depth, &rep.node_names, node));
        assert!(
            (ours - swmm).abs() < 0.01,
            "{node}: peak depth {ours} vs SWMM {swmm}"
        );
    }
    for (link, swmm) in [("C1", 0.345_680_3), ("C4", 0.544_383_3)] {
        let ours = max(&series(&rep, &rep.link_flow, &rep.link_names, link));
        assert!(
            (ours - swmm).abs() / swmm < 0.01,
            "{link}: peak flow {ours} vs SWMM {swmm}"
        );
    }
    // SWMM's flooding (m³) and routing continuity (%).
    let flood = common::pinned("kinematic_wave_matches_swmm", "routing_flooding");
    let cont = common::pinned("kinematic_wave_matches_swmm", "routing_error");
    assert!(
        (sum.flooding_volume_m3 - flood).abs() / flood < 0.01,
        "{} vs SWMM {flood}",
        sum.flooding_volume_m3
    );
    assert!(
        (sum.routing_continuity_error_pct - cont).abs() < 0.02,
        "{}",
        sum.routing_continuity_error_pct
    );
}

/// A tree of `n` junctions (each draining to (k-1)/2) with inflow at the leaves.
fn tree_model(n: usize) -> String {
    use std::fmt::Write;
    let mut s = String::from(
        "[OPTIONS]\nFLOW_UNITS CMS\nFLOW_ROUTING DYNWAVE\nSTART_DATE 01/01/2024\nSTART_TIME 00:00\nEND_DATE 01/01/2024\nEND_TIME 00:20\nREPORT_STEP 00:05:00\nROUTING_STEP 5\nVARIABLE_STEP 0.75\n\n[JUNCTIONS]\n",
    );
    let depth = |k: usize| (usize::BITS - (k + 1).leading_zeros()) as f64;
    for k in 0..n {
        writeln!(s, "J{k} {:.2} 3 0 0 0", 1.0 + 0.2 * depth(k)).unwrap();
    }
    s.push_str("\n[OUTFALLS]\nOUT 0.5 FREE NO\n\n[CONDUITS]\nC0 J0 OUT 50 0.013 0 0 0 0\n");
    for k in 1..n {
        writeln!(s, "C{k} J{k} J{} 50 0.013 0 0 0 0", (k - 1) / 2).unwrap();
    }
    s.push_str("\n[XSECTIONS]\n");
    for k in 0..n {
        writeln!(
            s,
            "C{k} CIRCULAR {} 0 0 0 1",
            if k < 64 { 1.5 } else { 0.6 }
        )
        .unwrap();
    }
    s.push_str("\n[INFLOWS]\n");
    for k in n / 2..n {
        writeln!(s, "J{k} FLOW \"\" FLOW 1 1 0.002").unwrap();
    }
    s
}

#[test]
fn results_do_not_depend_on_thread_count() {
    // Above 2000 links conduit momentum, node flows and depths and the
    // variable step are swept in parallel. The second network ends in a weir,
    // so node flows are gathered and depths solved in separate sweeps around
    // the regulator. In the third the small conduits are open channels that
    // evaporate and seep, and a storage unit does both.
    let mut losses = String::from("[EVAPORATION]\nCONSTANT 5.0\n\n[LOSSES]\n");
    for k in 0..2100 {
        losses.push_str(&format!("C{k} 0 0 0 NO 2\n"));
    }
    let with_losses = tree_model(2100)
        .replace("CIRCULAR 0.6 0 0 0 1", "RECT_OPEN 0.6 0.8 0 0 1")
        .replace("J5 1.60 3 0 0 0\n", "")
        .replace(
            "[OUTFALLS]",
            "[STORAGE]\nJ5 1.60 3 0.5 FUNCTIONAL 0 0 40 0 1.0 3\n\n[OUTFALLS]",
        )
        .replace("[XSECTIONS]", &format!("{losses}\n[XSECTIONS]"));
    let with_weir = tree_model(2100)
        .replace("C0 J0 OUT 50", "C0 J0 JW 50")
        .replace("[OUTFALLS]", "[OUTFALLS]\nOUTW 0.2 FREE NO")
        .replace("[JUNCTIONS]\n", "[JUNCTIONS]\nJW 0.6 3 0 0 0\n")
        .replace(
            "[XSECTIONS]\n",
            "[WEIRS]\nW1 JW OUTW TRANSVERSE 0.3 1.84 NO 0 0 YES\n\n[XSECTIONS]\nW1 RECT_OPEN 1 3 0 0\n",
        );
    for text in [tree_model(2100), with_weir, with_losses] {
        let p = parse(&text).unwrap();
        let run_with = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut e = Engine::new(&p).unwrap();
                let (r, s) = results::run(&mut e, &mut || 0.0);
                (r, s, e.routing_totals())
            })
        };
        let (r1, s1, t1) = run_with(1);
        assert!(r1.link_flow.iter().any(|&q| q > 0.1));
        assert_eq!(t1.evap_loss > 0.0, text.contains("[EVAPORATION]"));
        assert_eq!(t1.seep_loss > 0.0, text.contains("[LOSSES]"));
        for threads in [2, 3] {
            let (r, s, t) = run_with(threads);
            assert_eq!(t1.evap_loss, t.evap_loss);
            assert_eq!(t1.seep_loss, t.seep_loss);
            assert_eq!(r1.node_depth, r.node_depth);
            assert_eq!(r1.link_flow, r.link_flow);
            assert_eq!(r1.node_flooding, r.node_flooding);
            assert_eq!(s1.steps, s.steps);
            assert_eq!(
                s1.routing_continuity_error_pct,
                s.routing_continuity_error_pct
            );
        }
    }
}

#[test]
fn type1_pump_on_wet_well_matches_swmm() {
    // Flow steps with the stored volume of its inlet (PUMP1 curve, m³ → L/s).
    let (rep, sum) = run(include_str!("data/pump1.inp"));
    assert_eq!(rep.times.len(), 240);
    // SWMM 5.2.4 peak depths (m) at report steps.
    for (node, swmm) in [("J1", 0.168_254), ("WW", 1.501_024), ("J3", 0.143_245)] {
        let ours = max(&series(&rep, &rep.node_depth, &rep.node_names, node));
        assert!(
            (ours - swmm).abs() < 0.005,
            "{node}: peak depth {ours} vs SWMM {swmm}"
        );
    }
    // The pump reaches the 135 L/s step of its curve; SWMM's mean pumped flow
    // over the report steps is 55.93 L/s.
    let p1 = series(&rep, &rep.link_flow, &rep.link_names, "P1");
    assert!((max(&p1) - 0.135).abs() < 1e-4, "P1 peak {}", max(&p1));
    let mean = p1.iter().sum::<f64>() / p1.len() as f64;
    assert!((mean - 0.055_930).abs() < 0.001, "P1 mean {mean}");
    let c2 = max(&series(&rep, &rep.link_flow, &rep.link_names, "C2"));
    assert!((c2 - 0.120_180).abs() / 0.120_18 < 0.01, "C2 peak {c2}");
    // SWMM's routing continuity error is -0.019 %.
    assert!(
        (sum.routing_continuity_error_pct + 0.019).abs() < 0.01,
        "{}",
        sum.routing_continuity_error_pct
    );
}

#[test]
fn tidal_outfall_matches_swmm() {
    // The run starts at 03:00; SWMM reads the tide curve at the hour of the
    // elapsed routing time, so the 3.9 m high tide (curve hour 9) arrives
    // 9 h into the run and backs water up the sewer.
    let (rep, sum) = run(include_str!("data/tidal.inp"));
    assert_eq!(rep.times.len(), 216);
    // SWMM 5.2.4 depths (m) at 3 h, 9 h and 15 h into the run.
    for (k, o1, j2, j1) in [
        (35, 0.600_012, 0.295_623, 0.351_764),
        (107, 1.899_951, 1.321_706, 0.959_692),
        (179, 0.800_011, 0.295_623, 0.351_764),
    ] {
        assert_eq!(rep.times[k], (k as f64 + 1.0) * 300.0);
        for (node, swmm) in [("O1", o1), ("J2", j2), ("J1", j1)] {
            let ours = series(&rep, &rep.node_depth, &rep.node_names, node)[k];
            assert!(
                (ours - swmm).abs() < 0.002,
                "{node} at step {k}: {ours} vs SWMM {swmm}"
            );
        }
    }
    // SWMM's routing continuity error is -0.088 %.
    assert!(
        (sum.routing_continuity_error_pct + 0.088).abs() < 0.01,
        "{}",
        sum.routing_continuity_error_pct
    );
}
