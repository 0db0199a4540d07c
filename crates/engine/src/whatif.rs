//! A scenario file's interventions applied to the city, its drainage network and its traffic:
//! roads found by name, raised on the DEM or closed for a span of time; pumps at a share of
//! their capacity. Each error names the file's line and the intervention.

use crate::impacts::road_cells;
use crate::scenario::{CLOCK_START_MIN, RoadClosure};
use crate::scenario_file::{
    CloseRoad, PipeChange, PumpChange, RaiseRoad, RiverStage, ScenarioFile, Tank,
};
use twin_model::{City, FeatureId, Layer};

/// An intervention that cannot be applied: the file's line and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct WhatIfError {
    /// Line of the intervention in the scenario file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The road features a scenario names: `id:N` for one feature, else every road of that name
/// (case and surrounding spaces ignored).
pub fn find_roads(city: &City, road: &str, line: usize) -> Result<Vec<FeatureId>, WhatIfError> {
    let layer = city.layer(Layer::TrafficRoad);
    let roads = layer.features().iter().filter(|f| f.kind == "road");
    let ids: Vec<FeatureId> = match road.trim().strip_prefix("id:") {
        Some(n) => {
            let id = n.trim().parse::<i64>().map_err(|_| WhatIfError {
                line,
                message: format!("road '{road}': expected id:N with N a feature id"),
            })?;
            roads.filter(|f| f.id.0 == id).map(|f| f.id).collect()
        }
        None => {
            let want = road.trim().to_lowercase();
            roads
                .filter(|f| {
                    f.name.as_deref().map(|n| n.trim().to_lowercase()) == Some(want.clone())
                })
                .map(|f| f.id)
                .collect()
        }
    };
    if ids.is_empty() {
        return Err(WhatIfError {
            line,
            message: format!("no road named '{road}' in the city's Traffic & Road layer"),
        });
    }
    Ok(ids)
}

/// Raises the DEM under the named roads (every cell a road crosses) by the given heights.
pub fn raise_roads(city: &mut City, raises: &[RaiseRoad]) -> Result<(), WhatIfError> {
    if raises.is_empty() {
        return Ok(());
    }
    let Some(dem) = city.dem.clone() else {
        return Err(WhatIfError {
            line: raises[0].line,
            message: "the city has no DEM to raise a road on".into(),
        });
    };
    let (refs, groups) = road_cells(city, &dem);
    let mut raised = dem;
    for r in raises {
        let ids = find_roads(city, &r.road, r.line)?;
        for (road, cells) in refs.iter().zip(&groups) {
            if ids.contains(&road.feature) {
                for &i in cells {
                    if !raised.is_nodata(raised.data[i]) {
                        raised.data[i] += r.by_m as f32;
                    }
                }
            }
        }
    }
    city.dem = Some(raised);
    Ok(())
}

/// Digs retention lakes into the DEM: for each, the cells whose centres lie within the disc
/// of area `volume_m3 / depth_m` around its point, lowered together by the depth that makes
/// them hold exactly `volume_m3` (at least one cell). A point off the grid is an error.
/// Returns each lake's cells and the depth dug.
pub fn dig_lakes(
    city: &mut City,
    lakes: &[crate::scenario_file::Lake],
) -> Result<Vec<(usize, f64)>, WhatIfError> {
    if lakes.is_empty() {
        return Ok(Vec::new());
    }
    let Some(mut dem) = city.dem.clone() else {
        return Err(WhatIfError {
            line: lakes[0].line,
            message: "the city has no DEM to dig a lake in".into(),
        });
    };
    let mut out = Vec::new();
    for l in lakes {
        let Some((c0, r0)) = dem
            .cell_at(l.at[0], l.at[1])
            .filter(|&(c, r)| !dem.is_nodata(dem.get(c, r)))
        else {
            return Err(WhatIfError {
                line: l.line,
                message: format!(
                    "lake at ({}, {}) is off the city's DEM (x {:.0}–{:.0}, y {:.0}–{:.0})",
                    l.at[0],
                    l.at[1],
                    dem.x0,
                    dem.x0 + dem.nx as f64 * dem.cell,
                    dem.y0 - dem.ny as f64 * dem.cell,
                    dem.y0
                ),
            });
        };
        let radius = (l.volume_m3 / l.depth_m / std::f64::consts::PI).sqrt();
        let reach = (radius / dem.cell).ceil() as isize + 1;
        let mut cells = Vec::new();
        for dr in -reach..=reach {
            for dc in -reach..=reach {
                let (c, r) = (c0 as isize + dc, r0 as isize + dr);
                if c < 0 || r < 0 || c >= dem.nx as isize || r >= dem.ny as isize {
                    continue;
                }
                let (c, r) = (c as usize, r as usize);
                let p = dem.cell_center(c, r);
                if (p[0] - l.at[0]).hypot(p[1] - l.at[1]) <= radius && !dem.is_nodata(dem.get(c, r))
                {
                    cells.push(r * dem.nx + c);
                }
            }
        }
        if cells.is_empty() {
            cells.push(r0 * dem.nx + c0);
        }
        let depth = l.volume_m3 / (cells.len() as f64 * dem.cell * dem.cell);
        for &i in &cells {
            dem.data[i] -= depth as f32;
        }
        out.push((cells.len(), depth));
    }
    city.dem = Some(dem);
    Ok(out)
}

/// Indices of the `names` among `all` (compared without case, as SWMM does), or of every one
/// when `names` is `None`; an unknown name, or none to choose from, is an error on `line`.
fn chosen(
    all: &[&str],
    names: Option<&[String]>,
    what: &str,
    line: usize,
) -> Result<Vec<usize>, WhatIfError> {
    let out: Vec<usize> = match names {
        None => (0..all.len()).collect(),
        Some(names) => names
            .iter()
            .map(|n| {
                all.iter()
                    .position(|a| a.eq_ignore_ascii_case(n))
                    .ok_or_else(|| WhatIfError {
                        line,
                        message: format!(
                            "no {what} named '{n}' in the drainage network ({what}s: {})",
                            all.join(", ")
                        ),
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    if out.is_empty() {
        return Err(WhatIfError {
            line,
            message: format!("the drainage network has no {what}s"),
        });
    }
    Ok(out)
}

/// Sets pumps of the network to a share of their capacity: each one's pump curve is scaled by
/// it (0: the pump moves nothing). Ideal pumps (no curve) cannot be scaled.
pub fn set_pumps(
    project: &mut twin_hydro::Project,
    changes: &[PumpChange],
    rain_start_min: f64,
) -> Result<(), WhatIfError> {
    for c in changes {
        let all: Vec<&str> = project.pumps.iter().map(|p| p.name.as_str()).collect();
        let chosen = chosen(&all, c.names.as_deref(), "pump", c.line)?;
        for &k in &chosen {
            if let Some(start) = c.start_min {
                late_start(project, k, (start - rain_start_min) / 60.0);
            }
        }
        if c.capacity == 1.0 {
            continue;
        }
        for k in chosen {
            let pump = &project.pumps[k];
            let Some(curve) = project
                .curves
                .iter()
                .find(|cv| cv.name.eq_ignore_ascii_case(&pump.curve))
                .cloned()
            else {
                return Err(WhatIfError {
                    line: c.line,
                    message: format!(
                        "pump '{}' has no pump curve ('{}'): an ideal pump cannot be set to a share of its capacity",
                        pump.name, pump.curve
                    ),
                });
            };
            let name = format!("{}_x{}", pump.name, c.capacity);
            project.curves.push(twin_hydro::inp::Curve {
                name: name.clone(),
                kind: curve.kind.clone(),
                points: curve
                    .points
                    .iter()
                    .map(|(x, y)| (*x, y * c.capacity))
                    .collect(),
            });
            project.pumps[k].curve = name;
        }
    }
    Ok(())
}

/// Keeps pump `k` off for the first `hours` of the run with a control rule (SWMM
/// `[CONTROLS]`): before then it lifts nothing; after it, its own start and stop depths run it
/// again, or, for a pump without a start depth, the rule turns it back on.
fn late_start(project: &mut twin_hydro::Project, k: usize, hours: f64) {
    let pump = &project.pumps[k];
    let name = &pump.name;
    project.controls.push(format!("RULE TWIN_LATE_START_{k}"));
    project
        .controls
        .push(format!("IF SIMULATION TIME < {hours:.6}"));
    project
        .controls
        .push(format!("THEN PUMP {name} STATUS = OFF"));
    if pump.startup <= 0.0 {
        project
            .controls
            .push(format!("ELSE PUMP {name} STATUS = ON"));
    }
    project.controls.push("PRIORITY 5".into());
}

/// Opens or shuts gates (the network's orifices) for a period by a control rule of a priority
/// above the network's own (a closed gate's rule); outside the period each gate keeps its own
/// state: shut where the network holds it shut, else open.
pub fn set_gates(
    project: &mut twin_hydro::Project,
    changes: &[crate::scenario_file::GateChange],
    rain_start_min: f64,
) -> Result<(), WhatIfError> {
    for (i, c) in changes.iter().enumerate() {
        let all: Vec<String> = project.orifices.iter().map(|o| o.name.clone()).collect();
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        for k in chosen(&refs, c.names.as_deref(), "gate", c.line)? {
            let name = &all[k];
            let shut_rule = format!("THEN ORIFICE {name} SETTING = 0");
            let own = if project.controls.iter().any(|l| l.trim() == shut_rule) {
                0.0
            } else {
                1.0
            };
            let h0 = (c.from_min.unwrap_or(rain_start_min) - rain_start_min).max(0.0) / 60.0;
            project.controls.push(format!("RULE TWIN_GATE_{i}_{k}"));
            project
                .controls
                .push(format!("IF SIMULATION TIME >= {h0:.6}"));
            if let Some(to) = c.to_min {
                let h1 = (to - rain_start_min) / 60.0;
                project
                    .controls
                    .push(format!("AND SIMULATION TIME < {h1:.6}"));
            }
            project
                .controls
                .push(format!("THEN ORIFICE {name} SETTING = {:.4}", c.open));
            project
                .controls
                .push(format!("ELSE ORIFICE {name} SETTING = {own:.1}"));
            project.controls.push("PRIORITY 10".into());
        }
    }
    Ok(())
}

/// Sets the river's level at the outfalls as a stage time series (`[TIMESERIES]`, hours from
/// the rain's start, the network's time zero).
pub fn set_river(
    project: &mut twin_hydro::Project,
    river: &RiverStage,
    rain_start_min: f64,
) -> Result<(), WhatIfError> {
    let all: Vec<&str> = project.outfalls.iter().map(|o| o.name.as_str()).collect();
    let chosen = chosen(&all, river.outfalls.as_deref(), "outfall", river.line)?;
    let name = "TWIN_RIVER_STAGE".to_string();
    let mut points: Vec<twin_hydro::inp::TsPoint> = river
        .stage
        .iter()
        .map(|&(m, z)| twin_hydro::inp::TsPoint {
            date: None,
            hours: (m - rain_start_min) / 60.0,
            value: z,
        })
        .collect();
    // Held at its first value from the start and at its last to the end.
    if points[0].hours > 0.0 {
        let first = twin_hydro::inp::TsPoint {
            hours: 0.0,
            ..points[0].clone()
        };
        points.insert(0, first);
    }
    let last = points[points.len() - 1].clone();
    points.push(twin_hydro::inp::TsPoint {
        hours: last.hours + 24.0 * 365.0,
        ..last
    });
    project.timeseries.push(twin_hydro::inp::Timeseries {
        name: name.clone(),
        data: twin_hydro::inp::TsData::Points(points),
    });
    for k in chosen {
        project.outfalls[k].kind = twin_hydro::inp::OutfallKind::Timeseries(name.clone());
    }
    Ok(())
}

/// The file's road closures as closures of traffic time (the clock starts at 06:00).
pub fn road_closures(city: &City, closes: &[CloseRoad]) -> Result<Vec<RoadClosure>, WhatIfError> {
    closes
        .iter()
        .map(|c| {
            Ok(RoadClosure {
                features: find_roads(city, &c.road, c.line)?,
                from_s: (c.from_min - CLOCK_START_MIN) * 60.0,
                to_s: (c.to_min - CLOCK_START_MIN) * 60.0,
            })
        })
        .collect()
}

/// The scenario's signal retimings on the city's roads.
pub fn signal_retimes(
    city: &City,
    retimes: &[crate::scenario_file::SignalRetime],
) -> Result<Vec<crate::response::Retime>, WhatIfError> {
    retimes
        .iter()
        .map(|r| {
            Ok(crate::response::Retime {
                road: r.road.clone(),
                features: find_roads(city, &r.road, r.line)?,
                green_share: r.green_share,
            })
        })
        .collect()
}

/// The substations the scenario takes out, in traffic time, by index into
/// [`crate::power::substations`]; a name the city does not have is refused with the names it
/// has.
pub fn substation_outages(
    city: &City,
    outs: &[crate::scenario_file::SubstationOut],
) -> Result<Vec<crate::power::PlannedOutage>, WhatIfError> {
    let subs = crate::power::substations(city);
    let mut out = Vec::new();
    for o in outs {
        if subs.is_empty() {
            return Err(WhatIfError {
                line: o.line,
                message: "the city has no substation (Utility layer, kind 'substation')".into(),
            });
        }
        let picked: Vec<usize> = match &o.names {
            None => (0..subs.len()).collect(),
            Some(names) => {
                let mut v = Vec::new();
                for n in names {
                    let want = n.trim().to_lowercase();
                    match subs
                        .iter()
                        .position(|s| s.name.trim().to_lowercase() == want)
                    {
                        Some(j) => v.push(j),
                        None => {
                            let known: Vec<&str> = subs.iter().map(|s| s.name.as_str()).collect();
                            return Err(WhatIfError {
                                line: o.line,
                                message: format!(
                                    "no substation named '{n}'; the city has: {}",
                                    known.join("; ")
                                ),
                            });
                        }
                    }
                }
                v
            }
        };
        for j in picked {
            out.push(crate::power::PlannedOutage {
                substation: j,
                from_s: (o.from_min - CLOCK_START_MIN) * 60.0,
                to_s: o
                    .to_min
                    .map_or(f64::INFINITY, |m| (m - CLOCK_START_MIN) * 60.0),
            });
        }
    }
    Ok(out)
}

impl ScenarioFile {
    /// Whether the file changes the drainage network (and so needs `couple = true`).
    pub fn changes_network(&self) -> bool {
        !self.pumps.is_empty()
            || !self.gates.is_empty()
            || self.river.is_some()
            || !self.pipes.is_empty()
            || !self.tanks.is_empty()
    }
}

/// Refuses a network not in metric units (the interventions give metres).
fn metric(project: &twin_hydro::Project, line: usize) -> Result<(), WhatIfError> {
    let units = project
        .options
        .iter()
        .find(|o| o.key == "FLOW_UNITS")
        .map_or("CFS", |o| o.value.as_str());
    if ["CMS", "LPS", "MLD"]
        .iter()
        .any(|u| units.eq_ignore_ascii_case(u))
    {
        Ok(())
    } else {
        Err(WhatIfError {
            line,
            message: format!(
                "the drainage network is in US units (FLOW_UNITS {units}); pipes and tanks are given in metres"
            ),
        })
    }
}

/// Every node of the network: (name, invert).
fn nodes(project: &twin_hydro::Project) -> Vec<(&str, f64)> {
    let p = project;
    p.junctions
        .iter()
        .map(|n| (n.name.as_str(), n.invert))
        .chain(p.outfalls.iter().map(|n| (n.name.as_str(), n.invert)))
        .chain(p.storage.iter().map(|n| (n.name.as_str(), n.invert)))
        .chain(p.dividers.iter().map(|n| (n.name.as_str(), n.invert)))
        .collect()
}

/// The node named `name` (without case), or an error naming up to five of the nearest names.
fn node<'a>(
    all: &[(&'a str, f64)],
    name: &str,
    line: usize,
) -> Result<(&'a str, f64), WhatIfError> {
    if let Some(n) = all.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return Ok(*n);
    }
    let mut near: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
    near.sort_by_key(|n| crate::scenario_file::distance(&n.to_lowercase(), &name.to_lowercase()));
    near.truncate(5);
    Err(WhatIfError {
        line,
        message: format!(
            "no node named '{name}' in the drainage network (nearest: {})",
            near.join(", ")
        ),
    })
}

/// A node's coordinates, where the network has them.
fn coordinates(project: &twin_hydro::Project, name: &str) -> Option<(f64, f64)> {
    project
        .coordinates
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, x, y)| (*x, *y))
}

/// A circular conduit between two nodes, at their inverts (offsets as the network's
/// `LINK_OFFSETS` counts them), with its cross-section.
#[allow(clippy::too_many_arguments)]
fn lay_pipe(
    project: &mut twin_hydro::Project,
    name: String,
    from: (&str, f64),
    to: (&str, f64),
    diameter_m: f64,
    length_m: f64,
    roughness: f64,
) {
    let elevation = project
        .options
        .iter()
        .any(|o| o.key == "LINK_OFFSETS" && o.value.eq_ignore_ascii_case("ELEVATION"));
    let (in_offset, out_offset) = if elevation {
        (from.1, to.1)
    } else {
        (0.0, 0.0)
    };
    project.conduits.push(twin_hydro::inp::Conduit {
        name: name.clone(),
        from: from.0.to_string(),
        to: to.0.to_string(),
        length: length_m,
        roughness,
        in_offset,
        out_offset,
        init_flow: 0.0,
        max_flow: 0.0,
    });
    project.xsections.push(twin_hydro::inp::XSection {
        link: name,
        shape: "CIRCULAR".into(),
        geom: [diameter_m, 0.0, 0.0, 0.0],
        barrels: 1.0,
        culvert: 0.0,
        curve: None,
    });
}

/// Shapes whose second parameter is a width scaled with the depth.
const WIDTH_SHAPES: &[&str] = &[
    "RECT_CLOSED",
    "RECT_OPEN",
    "TRAPEZOIDAL",
    "RECT_TRIANGULAR",
    "RECT_ROUND",
    "MODBASKETHANDLE",
    "HORIZ_ELLIPSE",
    "VERT_ELLIPSE",
    "ARCH",
];

/// Shapes defined by their depth alone.
const DEPTH_SHAPES: &[&str] = &[
    "CIRCULAR",
    "FORCE_MAIN",
    "FILLED_CIRCULAR",
    "EGG",
    "HORSESHOE",
    "TRIANGULAR",
    "PARABOLIC",
    "POWER",
];

/// Enlarges conduits (their cross-sections scaled: the depth, and the width where the shape
/// has one) or lays new circular pipes between nodes. The network must use metric units.
pub fn change_pipes(
    project: &mut twin_hydro::Project,
    changes: &[PipeChange],
) -> Result<(), WhatIfError> {
    for (k, c) in changes.iter().enumerate() {
        if !matches!(c, PipeChange::Enlarge { .. }) {
            metric(project, c.line())?;
        }
        match c {
            PipeChange::Enlarge { names, scale, line } => {
                let all: Vec<&str> = project.conduits.iter().map(|c| c.name.as_str()).collect();
                let chosen = chosen(&all, names.as_deref(), "conduit", *line)?;
                let names: Vec<String> = chosen
                    .iter()
                    .map(|&i| project.conduits[i].name.clone())
                    .collect();
                for name in names {
                    let Some(x) = project
                        .xsections
                        .iter_mut()
                        .find(|x| x.link.eq_ignore_ascii_case(&name))
                    else {
                        return Err(WhatIfError {
                            line: *line,
                            message: format!("conduit '{name}' has no cross-section"),
                        });
                    };
                    if WIDTH_SHAPES.contains(&x.shape.as_str()) {
                        x.geom[0] *= scale;
                        x.geom[1] *= scale;
                    } else if DEPTH_SHAPES.contains(&x.shape.as_str()) {
                        x.geom[0] *= scale;
                    } else {
                        return Err(WhatIfError {
                            line: *line,
                            message: format!(
                                "conduit '{name}' has a {} cross-section, which cannot be scaled",
                                x.shape
                            ),
                        });
                    }
                }
            }
            PipeChange::Add {
                from,
                to,
                diameter_m,
                length_m,
                roughness,
                line,
            } => {
                let all = nodes(project);
                let (a, b) = (node(&all, from, *line)?, node(&all, to, *line)?);
                if a.0 == b.0 {
                    return Err(WhatIfError {
                        line: *line,
                        message: format!("a pipe from '{from}' to itself"),
                    });
                }
                let length = match (
                    length_m,
                    coordinates(project, a.0),
                    coordinates(project, b.0),
                ) {
                    (Some(l), _, _) => *l,
                    (None, Some(p), Some(q)) => ((p.0 - q.0).hypot(p.1 - q.1)).max(1.0),
                    _ => {
                        return Err(WhatIfError {
                            line: *line,
                            message: format!(
                                "'{from}' or '{to}' has no coordinates: give length_m"
                            ),
                        });
                    }
                };
                let (a, b) = ((a.0.to_string(), a.1), (b.0.to_string(), b.1));
                lay_pipe(
                    project,
                    format!("TWIN_PIPE_{}", k + 1),
                    (&a.0, a.1),
                    (&b.0, b.1),
                    *diameter_m,
                    length,
                    *roughness,
                );
            }
        }
    }
    Ok(())
}

/// Head a tank takes above its top before it would spill, m: more than any street stands
/// above a sewer, so a closed tank never spills.
pub const TANK_SURCHARGE_M: f64 = 100.0;

/// Adds retention tanks: each a storage node of constant plan area (volume / depth) with its
/// floor at the node's invert and a closed top, joined to the node by a 10 m circular pipe, so
/// that it fills as the water in the node rises and drains back as it falls. The network must use metric units.
pub fn add_tanks(project: &mut twin_hydro::Project, tanks: &[Tank]) -> Result<(), WhatIfError> {
    for (k, t) in tanks.iter().enumerate() {
        metric(project, t.line)?;
        let all = nodes(project);
        let (at, invert) = node(&all, &t.node, t.line)?;
        let at = at.to_string();
        let name = format!("TWIN_TANK_{}", k + 1);
        project.storage.push(twin_hydro::inp::Storage {
            name: name.clone(),
            invert,
            max_depth: t.depth_m,
            init_depth: 0.0,
            shape: twin_hydro::inp::StorageShape::Functional {
                a: 0.0,
                b: 0.0,
                c: t.volume_m3 / t.depth_m,
            },
            // A closed tank: under a head above its top it pressurises (SWMM's surcharge
            // depth) rather than spilling water out of the model.
            extra: vec![TANK_SURCHARGE_M],
        });
        if let Some((x, y)) = coordinates(project, &at) {
            project.coordinates.push((name.clone(), x, y));
        }
        lay_pipe(
            project,
            format!("{name}_IN"),
            (&at, invert),
            (&name, invert),
            t.inlet_m,
            10.0,
            0.013,
        );
    }
    Ok(())
}
