//! A surveyed drainage network from an EPA SWMM 5 input file (`.inp`) into the city's Utility
//! layer, in place of the network the twin would design: the inverse of [`crate::swmm`].
//!
//! Units: lengths in feet (CFS, GPM, MGD models) or metres, areas in acres or hectares, flows
//! in the model's flow units, all converted to metres, m² and m³/s. Coordinates
//! (`[COORDINATES]`, `[VERTICES]`, `[Polygons]`) are in the CRS the caller names and are
//! reprojected by the caller's function.
//!
//! Mapping (SWMM 5.2 User's Manual, Appendix D), every feature `source = surveyed`:
//! - `[JUNCTIONS]` → `manhole` (invert, rim = invert + max depth; a max depth of 0, which SWMM
//!   reads as "to the highest crown of the pipes at the node", is taken so); `[DIVIDERS]` →
//!   `manhole` (the divider's split is not modelled: warned);
//! - `[OUTFALLS]` → `outfall`: FREE and FIXED as they are; NORMAL, TIDAL and TIMESERIES as
//!   free (warned); the flap gate kept;
//! - `[STORAGE]` → `storage` with one surface area: FUNCTIONAL and TABULAR curves at half
//!   their depth, other shapes at their base (warned);
//! - `[CONDUITS]` + `[XSECTIONS]` → `conduit` (offsets as depths above the node inverts;
//!   `LINK_OFFSETS ELEVATION` converted): CIRCULAR, FORCE_MAIN, FILLED_CIRCULAR → circular;
//!   RECT_CLOSED, RECT_OPEN, TRAPEZOIDAL as they are; TRIANGULAR, PARABOLIC and POWER → a
//!   trapezoid of the same depth and top width; the other closed shapes (egg, horseshoe,
//!   arches …) → a circular pipe of the same full depth (warned); IRREGULAR, CUSTOM and STREET
//!   sections are refused (no geometry the layer can hold); more than one barrel is warned;
//! - `[PUMPS]` → `pump`: the largest flow of its curve, start and stop depths; an ideal pump
//!   (curve `*`) is refused;
//! - `[ORIFICES]` → `gate` (a circular orifice as a square of its area, warned; closed where a
//!   control rule holds it at setting 0 from the start, as [`crate::swmm`] writes a closed gate); `[WEIRS]` →
//!   `weir` (crest, length, coefficient in SI), non-transverse kinds warned;
//!   `[OUTLETS]` → left out (warned by name);
//! - `[SUBCATCHMENTS]` → `subcatchment` (outline from `[Polygons]`, else a point at its outlet
//!   with its area; an outlet that is another subcatchment is followed to its node);
//!   `[SUBAREAS]` and `[INFILTRATION]` are replaced by the twin's urban defaults (warned).
//!
//! Rain gauges, time series, controls, dry-weather and other inflows, water quality, LID,
//! groundwater and the rest are counted in warnings by section: the scenario's rain drives the
//! city's network.

use crate::error::{IoError, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use twin_hydro::Project;
use twin_hydro::inp::{OutfallKind, StorageShape};
use twin_model::{Feature, FeatureId, Layer};

/// What the import made and what it left out or approximated, by name and count.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The Utility layer's new features.
    pub features: Vec<Feature>,
    /// What is not modelled or approximated: (what, how many).
    pub warnings: Vec<(String, usize)>,
}

const SURVEYED: &str = "surveyed";

fn point(x: f64, y: f64) -> geo::Geometry<f64> {
    geo::Geometry::Point(geo::Point::new(x, y))
}

/// The Utility layer features of the network in `p` (read from `path`), ids from `first_id`
/// on, coordinates through `to_city`.
pub fn inp_to_utility(
    p: &Project,
    path: &Path,
    first_id: i64,
    to_city: &dyn Fn(f64, f64) -> Result<(f64, f64)>,
) -> Result<Imported> {
    let fu = p.flow_units();
    let len = fu.length_to_m();
    let area_m2 = if fu.is_si() { 1e4 } else { 4_046.856_422_4 };
    let flow = fu.flow_to_cms();
    let elevations = p
        .option("LINK_OFFSETS")
        .is_some_and(|v| v.eq_ignore_ascii_case("ELEVATION"));
    let err = |place: String, msg: String| IoError::format(path, place, msg);
    let mut warn: BTreeMap<String, usize> = BTreeMap::new();
    let mut note = |what: &str, n: usize| {
        if n > 0 {
            *warn.entry(what.to_string()).or_default() += n;
        }
    };
    // Positions, in the city's CRS.
    let mut pos: HashMap<&str, (f64, f64)> = HashMap::new();
    for (n, x, y) in &p.coordinates {
        pos.insert(n.as_str(), to_city(*x, *y)?);
    }
    let at = |kind: &str, name: &str| -> Result<(f64, f64)> {
        pos.get(name).copied().ok_or_else(|| {
            err(
                format!("[{kind}] {name}"),
                "no [COORDINATES] entry: the node cannot be placed on the map".into(),
            )
        })
    };
    let mut invert: HashMap<&str, f64> = HashMap::new();
    for j in &p.junctions {
        invert.insert(&j.name, j.invert);
    }
    for o in &p.outfalls {
        invert.insert(&o.name, o.invert);
    }
    for s in &p.storage {
        invert.insert(&s.name, s.invert);
    }
    for d in &p.dividers {
        invert.insert(&d.name, d.invert);
    }
    let xs: HashMap<&str, &twin_hydro::inp::XSection> =
        p.xsections.iter().map(|x| (x.link.as_str(), x)).collect();
    // Conduit offsets as depths above the node inverts (model units).
    let offset = |node: &str, v: f64| {
        if elevations {
            (v - invert.get(node).copied().unwrap_or(v)).max(0.0)
        } else {
            v
        }
    };
    // The highest crown at each node, for junctions of max depth 0.
    let mut crown: HashMap<&str, f64> = HashMap::new();
    for c in &p.conduits {
        let h = xs.get(c.name.as_str()).map_or(0.0, |x| x.geom[0]);
        for (n, o) in [(&c.from, c.in_offset), (&c.to, c.out_offset)] {
            let e = crown.entry(n.as_str()).or_insert(0.0);
            *e = e.max(offset(n, o) + h);
        }
    }
    let mut out = Vec::new();
    let mut id = first_id;
    let mut push = |f: Feature| {
        out.push(f.with("source", SURVEYED));
    };
    let mut next = || {
        id += 1;
        FeatureId(id - 1)
    };
    let node = |kind: &str, name: &str, (x, y): (f64, f64), id: FeatureId| {
        Feature::new(id, kind, Layer::Utility.default_owner(), point(x, y)).with_name(name)
    };
    for j in &p.junctions {
        let depth = if j.max_depth > 0.0 {
            j.max_depth
        } else {
            crown.get(j.name.as_str()).copied().unwrap_or(0.0).max(0.1)
        };
        push(
            node("manhole", &j.name, at("JUNCTIONS", &j.name)?, next())
                .with("invert_m", j.invert * len)
                .with("rim_m", (j.invert + depth) * len),
        );
    }
    for d in &p.dividers {
        let depth = match d.node_params.first() {
            Some(&m) if m > 0.0 => m,
            _ => crown.get(d.name.as_str()).copied().unwrap_or(0.0).max(0.1),
        };
        push(
            node("manhole", &d.name, at("DIVIDERS", &d.name)?, next())
                .with("invert_m", d.invert * len)
                .with("rim_m", (d.invert + depth) * len),
        );
    }
    note(
        "[DIVIDERS] taken as junctions (the flow split is not modelled)",
        p.dividers.len(),
    );
    for o in &p.outfalls {
        let mut f = node("outfall", &o.name, at("OUTFALLS", &o.name)?, next())
            .with("invert_m", o.invert * len)
            .with("flap_gate", o.gated);
        match &o.kind {
            OutfallKind::Fixed(stage) => {
                f = f.with("outfall_type", "fixed").with("stage_m", stage * len)
            }
            OutfallKind::Free => f = f.with("outfall_type", "free"),
            OutfallKind::Normal | OutfallKind::Tidal(_) | OutfallKind::Timeseries(_) => {
                note("[OUTFALLS] NORMAL, TIDAL or TIMESERIES taken as FREE", 1);
                f = f.with("outfall_type", "free");
            }
        }
        push(f);
    }
    let curve = |name: &str| p.curves.iter().find(|c| c.name.eq_ignore_ascii_case(name));
    for s in &p.storage {
        let half = s.max_depth / 2.0;
        let area = match &s.shape {
            StorageShape::Functional { a, b, c } => a * half.powf(*b) + c,
            StorageShape::Tabular(name) => {
                let c = curve(name).ok_or_else(|| {
                    err(
                        format!("[STORAGE] {}", s.name),
                        format!("storage curve '{name}' is not in [CURVES]"),
                    )
                })?;
                interpolate(&c.points, half)
            }
            StorageShape::Other { shape, params } => {
                note(
                    "[STORAGE] shapes other than FUNCTIONAL and TABULAR taken at the area of their base",
                    1,
                );
                let (l, w) = (params[0], params[1]);
                if shape.eq_ignore_ascii_case("PYRAMIDAL") {
                    l * w
                } else {
                    std::f64::consts::FRAC_PI_4 * l * w
                }
            }
        };
        if area.is_nan() || area <= 0.0 {
            return Err(err(
                format!("[STORAGE] {}", s.name),
                format!(
                    "a surface area of {area} at half its depth; a storage unit needs one above 0"
                ),
            ));
        }
        push(
            node("storage", &s.name, at("STORAGE", &s.name)?, next())
                .with("invert_m", s.invert * len)
                .with("rim_m", (s.invert + s.max_depth.max(0.1)) * len)
                .with("area_m2", area * len * len),
        );
    }
    // Links.
    let line = |name: &str, from: &str, to: &str| -> Result<geo::Geometry<f64>> {
        let mut pts = vec![at("CONDUITS", from)?];
        for (l, x, y) in &p.vertices {
            if l == name {
                pts.push(to_city(*x, *y)?);
            }
        }
        pts.push(at("CONDUITS", to)?);
        Ok(geo::Geometry::LineString(geo::LineString::from(pts)))
    };
    // A link feature: its line from node to node, its name and its nodes.
    let link = |id: FeatureId, kind: &str, name: &str, from: &str, to: &str| -> Result<Feature> {
        Ok(Feature::new(
            id,
            kind,
            Layer::Utility.default_owner(),
            line(name, from, to)?,
        )
        .with_name(name)
        .with("from_node", from)
        .with("to_node", to))
    };
    let xsec = |kind: &str, name: &str| {
        xs.get(name)
            .copied()
            .ok_or_else(|| err(format!("[{kind}] {name}"), "no [XSECTIONS] entry".into()))
    };
    for c in &p.conduits {
        let x = xsec("CONDUITS", &c.name)?;
        let g = x.geom;
        let (shape, g1, g2, z) = match x.shape.as_str() {
            "CIRCULAR" | "FORCE_MAIN" | "FILLED_CIRCULAR" => ("circular", g[0], 0.0, 0.0),
            "RECT_CLOSED" => ("rect_closed", g[0], g[1], 0.0),
            "RECT_OPEN" => ("rect_open", g[0], g[1], 0.0),
            "TRAPEZOIDAL" => ("trapezoidal", g[0], g[1], (g[2] + g[3]) / 2.0),
            "TRIANGULAR" | "PARABOLIC" | "POWER" => {
                note(
                    "[XSECTIONS] TRIANGULAR, PARABOLIC or POWER taken as a trapezoid of the same depth and top width",
                    1,
                );
                ("trapezoidal", g[0], 0.0, g[1] / (2.0 * g[0].max(1e-9)))
            }
            "IRREGULAR" | "CUSTOM" | "STREET" => {
                return Err(err(
                    format!("[XSECTIONS] {}", c.name),
                    format!(
                        "shape {}: a section from a transect, curve or street the city's conduit layer cannot hold (give it a regular shape)",
                        x.shape
                    ),
                ));
            }
            other => {
                note(
                    &format!("[XSECTIONS] {other} taken as a circular pipe of the same full depth"),
                    1,
                );
                ("circular", g[0], 0.0, 0.0)
            }
        };
        if x.shape == "FORCE_MAIN" {
            note(
                "[XSECTIONS] FORCE_MAIN: its Hazen–Williams or Darcy roughness replaced by Manning's n 0.013",
                1,
            );
        }
        if x.barrels > 1.0 {
            note(
                "[XSECTIONS] conduits of more than one barrel taken as one",
                1,
            );
        }
        if g1.is_nan() || g1 <= 0.0 {
            return Err(err(
                format!("[XSECTIONS] {}", c.name),
                format!("Geom1 {} must be above 0", g[0]),
            ));
        }
        let roughness = if x.shape == "FORCE_MAIN" {
            0.013
        } else {
            c.roughness
        };
        let mut f = link(next(), "conduit", &c.name, &c.from, &c.to)?
            .with("shape", shape)
            .with("geom1_m", g1 * len)
            .with("length_m", c.length * len)
            .with("roughness_n", roughness)
            .with("in_offset_m", offset(&c.from, c.in_offset) * len)
            .with("out_offset_m", offset(&c.to, c.out_offset) * len);
        if shape != "circular" {
            f = f.with("geom2_m", g2 * len);
        }
        if shape == "trapezoidal" {
            f = f.with("side_slope", z);
        }
        push(f);
    }
    for pm in &p.pumps {
        if pm.curve == "*" {
            return Err(err(
                format!("[PUMPS] {}", pm.name),
                "an ideal pump (curve *) passes whatever reaches it: the twin needs a capacity (give it a pump curve)".into(),
            ));
        }
        let c = curve(&pm.curve).ok_or_else(|| {
            err(
                format!("[PUMPS] {}", pm.name),
                format!("pump curve '{}' is not in [CURVES]", pm.curve),
            )
        })?;
        let q = c.points.iter().map(|p| p.1).fold(0.0f64, f64::max) * flow;
        if q.is_nan() || q <= 0.0 {
            return Err(err(
                format!("[CURVES] {}", c.name),
                "no flow above 0 on the pump's curve".into(),
            ));
        }
        push(
            link(next(), "pump", &pm.name, &pm.from, &pm.to)?
                .with("capacity_m3s", q)
                .with("on_depth_m", pm.startup * len)
                .with("off_depth_m", pm.shutoff * len),
        );
    }
    // Rules that only hold an orifice shut from the start (as `crate::swmm` writes a closed
    // gate): the gate is closed; other rules are counted, not modelled.
    let mut shut: std::collections::BTreeSet<String> = Default::default();
    let mut other_rules = 0;
    let mut rules: Vec<Vec<String>> = Vec::new();
    for l in &p.controls {
        let u = l.trim().to_ascii_uppercase();
        if u.starts_with("RULE") {
            rules.push(Vec::new());
        } else if let Some(r) = rules.last_mut()
            && !u.starts_with("PRIORITY")
        {
            r.push(u.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    for r in &rules {
        let held = match r.as_slice() {
            [cond, act] if cond == "IF SIMULATION TIME >= 0" => {
                let t: Vec<&str> = act.split(' ').collect();
                match t.as_slice() {
                    ["THEN", "ORIFICE", name, "SETTING", "=", "0"] => Some(name.to_string()),
                    _ => None,
                }
            }
            _ => None,
        };
        match held {
            Some(n) => {
                shut.insert(n);
            }
            None => other_rules += 1,
        }
    }
    for o in &p.orifices {
        let x = xsec("ORIFICES", &o.name)?;
        let (h, w) = if x.shape == "CIRCULAR" {
            note(
                "[ORIFICES] circular orifices taken as a square of the same area",
                1,
            );
            let s = x.geom[0] * std::f64::consts::PI.sqrt() / 2.0;
            (s, s)
        } else {
            (x.geom[0], x.geom[1])
        };
        push(
            link(next(), "gate", &o.name, &o.from, &o.to)?
                .with("geom1_m", h * len)
                .with("geom2_m", w * len)
                .with("discharge_coeff", o.cd)
                .with("open", !shut.contains(&o.name.to_ascii_uppercase())),
        );
    }
    for wr in &p.weirs {
        let x = xsec("WEIRS", &wr.name)?;
        if !wr.kind.eq_ignore_ascii_case("TRANSVERSE") {
            note(
                "[WEIRS] SIDEFLOW, V-NOTCH, TRAPEZOIDAL or ROADWAY taken as transverse",
                1,
            );
        }
        push(
            link(next(), "weir", &wr.name, &wr.from, &wr.to)?
                .with("crest_m", wr.crest * len)
                .with("length_m", x.geom[1] * len)
                // Q = C·L·H^1.5: C carries length^0.5 per second.
                .with("discharge_coeff", wr.cd * len.sqrt()),
        );
    }
    if !p.outlets.is_empty() {
        note(
            &format!(
                "[OUTLETS] left out (rating-curve outlets are not modelled): {}",
                p.outlets
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            p.outlets.len(),
        );
    }
    // Subcatchments.
    let outlet_of: HashMap<&str, &str> = p
        .subcatchments
        .iter()
        .map(|s| (s.name.as_str(), s.outlet.as_str()))
        .collect();
    let mut outlines: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for (s, x, y) in &p.polygons {
        outlines
            .entry(s.as_str())
            .or_default()
            .push(to_city(*x, *y)?);
    }
    let mut chained = 0;
    for s in &p.subcatchments {
        let mut node_name = s.outlet.as_str();
        let mut hops = 0;
        while let Some(&next_outlet) = outlet_of.get(node_name) {
            node_name = next_outlet;
            hops += 1;
            if hops > p.subcatchments.len() {
                return Err(err(
                    format!("[SUBCATCHMENTS] {}", s.name),
                    "its outlet leads round a loop of subcatchments".into(),
                ));
            }
        }
        if hops > 0 {
            chained += 1;
        }
        let geometry = match outlines.get(s.name.as_str()) {
            Some(pts) if pts.len() >= 3 => geo::Geometry::Polygon(geo::Polygon::new(
                geo::LineString::from(pts.clone()),
                vec![],
            )),
            _ => {
                let (x, y) = at("SUBCATCHMENTS", node_name)?;
                point(x, y)
            }
        };
        push(
            Feature::new(
                next(),
                "subcatchment",
                Layer::Utility.default_owner(),
                geometry,
            )
            .with_name(s.name.as_str())
            .with("outlet", node_name)
            .with("area_m2", s.area * area_m2)
            .with("imperv_pct", s.imperv_pct)
            .with("width_m", s.width * len)
            .with("slope_pct", s.slope_pct),
        );
    }
    note(
        "[SUBCATCHMENTS] draining onto another subcatchment, routed to that one's outlet node",
        chained,
    );
    note(
        "[SUBAREAS] and [INFILTRATION] rows replaced by the twin's urban defaults",
        p.subareas.len() + p.infiltration.len(),
    );
    note(
        "[RAINGAGES] and [TIMESERIES] not used (the scenario's rain drives the city)",
        p.raingages.len() + p.timeseries.len(),
    );
    note(
        "[CONTROLS] rules not modelled (pumps run on their start and stop depths)",
        other_rules,
    );
    note("[DWF] dry-weather inflows not modelled", p.dwf.len());
    note("[INFLOWS] external inflows not modelled", p.inflows.len());
    note("[LOSSES] minor losses not modelled", p.losses.len());
    for r in &p.raw_sections {
        if !matches!(
            r.name.as_str(),
            "REPORT" | "TAGS" | "MAP" | "LABELS" | "SYMBOLS" | "BACKDROP" | "PROFILES"
        ) && !r.rows.is_empty()
        {
            note(&format!("[{}] not modelled", r.name), r.rows.len());
        }
    }
    Ok(Imported {
        features: out,
        warnings: warn.into_iter().collect(),
    })
}

/// Linear interpolation in (x, y) points sorted by x, held at the ends.
fn interpolate(pts: &[(f64, f64)], x: f64) -> f64 {
    match pts {
        [] => 0.0,
        [only] => only.1,
        _ => {
            if x <= pts[0].0 {
                return pts[0].1;
            }
            for w in pts.windows(2) {
                if x <= w[1].0 {
                    let t = (x - w[0].0) / (w[1].0 - w[0].0).max(1e-12);
                    return w[0].1 + t * (w[1].1 - w[0].1);
                }
            }
            pts[pts.len() - 1].1
        }
    }
}
