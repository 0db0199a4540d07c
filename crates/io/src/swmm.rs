//! The city's drainage network as an EPA SWMM 5 input file (`.inp`, SI units: CMS, metres,
//! hectares, mm/h), so drainage engineers can open it in SWMM and the engine's own
//! dynamic-wave solver (`twin-hydro`) can run it unchanged.
//!
//! Mapping (SWMM 5.2 User's Manual, Appendix D): manholes → `[JUNCTIONS]` (invert, depth to
//! rim), storage → `[STORAGE]` FUNCTIONAL with constant area, outfalls → `[OUTFALLS]` FREE or
//! FIXED, conduits → `[CONDUITS]` + `[XSECTIONS]` (CIRCULAR, RECT_CLOSED, RECT_OPEN,
//! TRAPEZOIDAL) with offsets as depths, pumps → `[PUMPS]` with a TYPE4 constant-flow curve and
//! start/stop depths, gates → side `[ORIFICES]` (RECT_CLOSED; a closed gate is held shut by a
//! control rule), weirs → TRANSVERSE `[WEIRS]`, subcatchments → `[SUBCATCHMENTS]`,
//! `[SUBAREAS]`, `[INFILTRATION]` (Horton), one rain gauge fed by the rain series.

use crate::error::{IoError, Result};
use std::fmt::Write;
use twin_model::drainage::{DrainNodeKind, DrainageNetwork, Shape};
use twin_model::{City, Layer};

/// Horton parameters for urban pervious ground (SWMM 5 Reference Manual Vol. I, Table 4-4:
/// clay loam/silt loam range), mm/h and 1/h.
const HORTON: (f64, f64, f64, f64) = (76.2, 6.35, 4.14, 7.0);

fn hhmm(minutes: f64) -> String {
    let m = minutes.round() as i64;
    format!("{}:{:02}", m / 60, m % 60)
}

fn clock(minutes: f64) -> String {
    let s = (minutes * 60.0).round() as i64;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Writes the drainage network of `city` with the rain series `(minute, mm/h)` over
/// `minutes` as SWMM 5 input text.
pub fn city_to_inp(city: &City, rain: &[(f64, f64)], minutes: f64) -> Result<String> {
    city_to_inp_with(city, rain, minutes, true)
}

/// As [`city_to_inp`]; without subcatchments when `with_subcatchments` is false (for runs
/// coupled to the 2D surface, where rain falls on the grid and enters the network at inlets).
pub fn city_to_inp_with(
    city: &City,
    rain: &[(f64, f64)],
    minutes: f64,
    with_subcatchments: bool,
) -> Result<String> {
    let net = DrainageNetwork::from_layer(city.layer(Layer::Utility))
        .map_err(|e| IoError::Invalid(format!("drainage network: {e}")))?;
    if net.nodes.is_empty() {
        return Err(IoError::Invalid("the city has no drainage network (no manholes, storage or outfalls in the utility layer)".into()));
    }
    if minutes <= 0.0 || minutes >= 100.0 * 24.0 * 60.0 {
        return Err(IoError::Invalid(format!(
            "duration must be between 0 and 100 days, got {minutes} minutes"
        )));
    }
    let util = city.layer(Layer::Utility);
    let mut net = net;
    if !with_subcatchments {
        net.subcatchments.clear();
    }
    let net = net;
    let name = |n: twin_model::drainage::DrainNodeId| net.nodes[n.0 as usize].name.as_str();
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "[TITLE]\n{}\n", city.name.replace('\n', " "));
    let end_days = (minutes / 1440.0).floor() as i64;
    let _ = writeln!(
        w,
        "[OPTIONS]\nFLOW_UNITS CMS\nINFILTRATION HORTON\nFLOW_ROUTING DYNWAVE\nLINK_OFFSETS DEPTH\nALLOW_PONDING NO\n\
         START_DATE 01/01/2026\nSTART_TIME 00:00:00\nREPORT_START_DATE 01/01/2026\nREPORT_START_TIME 00:00:00\n\
         END_DATE 01/{:02}/2026\nEND_TIME {}\nREPORT_STEP 00:05:00\nWET_STEP 00:01:00\nDRY_STEP 00:05:00\n\
         ROUTING_STEP 0:00:05\nVARIABLE_STEP 0.75\nINERTIAL_DAMPING PARTIAL\nNORMAL_FLOW_LIMITED BOTH\n\
         MIN_SURFAREA 1.167\nHEAD_TOLERANCE 0.0015\nMAX_TRIALS 8\n",
        1 + end_days,
        clock(minutes - end_days as f64 * 1440.0)
    );
    // Rain gauge: intensity series, recording interval = the shortest step of the series.
    let interval = rain
        .windows(2)
        .map(|p| p[1].0 - p[0].0)
        .fold(f64::MAX, f64::min);
    let interval = if interval.is_finite() && interval >= 1.0 {
        interval
    } else {
        60.0
    };
    let _ = writeln!(
        w,
        "[RAINGAGES]\n;;Name Format Interval SCF Source\nRG1 INTENSITY {} 1.0 TIMESERIES rain\n",
        hhmm(interval)
    );
    let _ = writeln!(
        w,
        "[SUBCATCHMENTS]\n;;Name Raingage Outlet Area_ha PctImperv Width PctSlope CurbLen"
    );
    for sc in &net.subcatchments {
        let _ = writeln!(
            w,
            "{} RG1 {} {:.4} {:.2} {:.2} {:.3} 0",
            sc.name,
            name(sc.outlet),
            sc.area_m2 / 1e4,
            sc.imperv_pct,
            sc.width_m,
            sc.slope_pct
        );
    }
    // Manning n for overland flow and depression storage (SWMM Reference Manual Vol. I, Tables 3-5 and 3-4).
    let _ = writeln!(
        w,
        "\n[SUBAREAS]\n;;Name N_Imperv N_Perv S_Imperv_mm S_Perv_mm PctZero RouteTo"
    );
    for sc in &net.subcatchments {
        let _ = writeln!(w, "{} 0.015 0.24 1.5 5.0 25 OUTLET", sc.name);
    }
    let _ = writeln!(
        w,
        "\n[INFILTRATION]\n;;Name MaxRate MinRate Decay DryTime MaxInfil"
    );
    for sc in &net.subcatchments {
        let _ = writeln!(
            w,
            "{} {} {} {} {} 0",
            sc.name, HORTON.0, HORTON.1, HORTON.2, HORTON.3
        );
    }
    let _ = writeln!(
        w,
        "\n[JUNCTIONS]\n;;Name Invert MaxDepth InitDepth SurDepth Aponded"
    );
    for n in net
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, DrainNodeKind::Junction))
    {
        let _ = writeln!(
            w,
            "{} {:.3} {:.3} 0 0 0",
            n.name,
            n.invert_m,
            n.rim_m - n.invert_m
        );
    }
    let _ = writeln!(w, "\n[OUTFALLS]\n;;Name Invert Type Stage Gated");
    for n in &net.nodes {
        if let DrainNodeKind::Outfall { stage_m, flap_gate } = n.kind {
            let gated = if flap_gate { "YES" } else { "NO" };
            match stage_m {
                Some(st) => {
                    let _ = writeln!(w, "{} {:.3} FIXED {:.3} {gated}", n.name, n.invert_m, st);
                }
                None => {
                    let _ = writeln!(w, "{} {:.3} FREE {gated}", n.name, n.invert_m);
                }
            }
        }
    }
    let _ = writeln!(
        w,
        "\n[STORAGE]\n;;Name Invert MaxDepth InitDepth FUNCTIONAL Coeff Exponent Constant SurDepth Fevap"
    );
    for n in &net.nodes {
        if let DrainNodeKind::Storage { area_m2 } = n.kind {
            let _ = writeln!(
                w,
                "{} {:.3} {:.3} 0 FUNCTIONAL 0 0 {:.1} 0 0",
                n.name,
                n.invert_m,
                n.rim_m - n.invert_m,
                area_m2
            );
        }
    }
    let _ = writeln!(
        w,
        "\n[CONDUITS]\n;;Name From To Length Roughness InOffset OutOffset InitFlow MaxFlow"
    );
    for c in &net.conduits {
        let _ = writeln!(
            w,
            "{} {} {} {:.2} {:.4} {:.3} {:.3} 0 0",
            c.name,
            name(c.from),
            name(c.to),
            c.length_m,
            c.roughness_n,
            c.in_offset_m,
            c.out_offset_m
        );
    }
    let _ = writeln!(w, "\n[PUMPS]\n;;Name From To Curve Status Startup Shutoff");
    for p in &net.pumps {
        let _ = writeln!(
            w,
            "{} {} {} PC_{} ON {:.3} {:.3}",
            p.name,
            name(p.from),
            name(p.to),
            p.name,
            p.on_depth_m,
            p.off_depth_m
        );
    }
    let gates: Vec<_> = net.regulators.iter().filter(|r| r.kind == "gate").collect();
    let weirs: Vec<_> = net.regulators.iter().filter(|r| r.kind == "weir").collect();
    let _ = writeln!(
        w,
        "\n[ORIFICES]\n;;Name From To Type Offset Qcoeff Gated CloseTime"
    );
    for g in &gates {
        let _ = writeln!(
            w,
            "{} {} {} SIDE 0 {:.3} NO 0",
            g.name,
            name(g.from),
            name(g.to),
            g.discharge_coeff
        );
    }
    let _ = writeln!(
        w,
        "\n[WEIRS]\n;;Name From To Type CrestHt Qcoeff Gated EndCon EndCoeff"
    );
    for r in &weirs {
        let _ = writeln!(
            w,
            "{} {} {} TRANSVERSE {:.3} {:.3} NO 0 0",
            r.name,
            name(r.from),
            name(r.to),
            r.height_m,
            r.discharge_coeff
        );
    }
    let _ = writeln!(
        w,
        "\n[XSECTIONS]\n;;Link Shape Geom1 Geom2 Geom3 Geom4 Barrels"
    );
    for c in &net.conduits {
        let (shape, g) = match c.shape {
            Shape::Circular { d } => ("CIRCULAR", [d, 0.0, 0.0, 0.0]),
            Shape::RectClosed { h, w } => ("RECT_CLOSED", [h, w, 0.0, 0.0]),
            Shape::RectOpen { h, w } => ("RECT_OPEN", [h, w, 0.0, 0.0]),
            Shape::Trapezoidal { h, w, z } => ("TRAPEZOIDAL", [h, w, z, z]),
        };
        let _ = writeln!(
            w,
            "{} {shape} {:.3} {:.3} {:.3} {:.3} 1",
            c.name, g[0], g[1], g[2], g[3]
        );
    }
    for g in &gates {
        let _ = writeln!(
            w,
            "{} RECT_CLOSED {:.3} {:.3} 0 0",
            g.name, g.height_m, g.width_m
        );
    }
    for r in &weirs {
        let _ = writeln!(
            w,
            "{} RECT_OPEN {:.3} {:.3} 0 0",
            r.name,
            r.height_m.max(0.1) + 2.0,
            r.width_m
        );
    }
    let _ = writeln!(w, "\n[CURVES]\n;;Name Type X Y");
    for p in &net.pumps {
        let _ = writeln!(
            w,
            "PC_{} PUMP4 0 {:.4}\nPC_{} 100 {:.4}",
            p.name, p.capacity_m3s, p.name, p.capacity_m3s
        );
    }
    let closed: Vec<_> = gates.iter().filter(|g| !g.open).collect();
    let _ = writeln!(w, "\n[CONTROLS]");
    for (k, g) in closed.iter().enumerate() {
        let _ = writeln!(
            w,
            "RULE GATE_CLOSED_{}\nIF SIMULATION TIME >= 0\nTHEN ORIFICE {} SETTING = 0\nPRIORITY 5\n",
            k + 1,
            g.name
        );
    }
    let _ = writeln!(w, "[TIMESERIES]\n;;Name Time Value");
    for (m, i) in rain {
        let _ = writeln!(w, "rain {} {:.3}", hhmm(*m), i);
    }
    let _ = writeln!(
        w,
        "\n[REPORT]\nINPUT NO\nCONTROLS NO\nSUBCATCHMENTS NONE\nNODES ALL\nLINKS ALL\n"
    );
    let _ = writeln!(w, "[COORDINATES]\n;;Node X Y");
    for n in &net.nodes {
        let _ = writeln!(w, "{} {:.3} {:.3}", n.name, n.pos[0], n.pos[1]);
    }
    let _ = writeln!(w, "\n[Polygons]\n;;Subcatchment X Y");
    for sc in &net.subcatchments {
        if let Some(f) = util.get(sc.feature)
            && let geo::Geometry::Polygon(p) = &f.geometry
        {
            for c in p
                .exterior()
                .0
                .iter()
                .take(p.exterior().0.len().saturating_sub(1))
            {
                let _ = writeln!(w, "{} {:.3} {:.3}", sc.name, c.x, c.y);
            }
        }
    }
    Ok(s)
}
