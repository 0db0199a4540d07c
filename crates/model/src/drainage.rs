//! The drainage network derived from the Utility layer: nodes (manholes/junctions, storage,
//! outfalls) with invert and rim elevations, conduits with shape, size and roughness, pumps,
//! gates (orifices), weirs, and subcatchments draining to nodes.
//!
//! Feature conventions (all elevations in metres above the DEM datum, sizes in metres):
//! - `manhole` | `junction` (Point): `invert_m`, `rim_m`.
//! - `storage` (Point or Polygon): `invert_m`, `rim_m`, `area_m2` (plan area, constant).
//! - `outfall` (Point): `invert_m`, `outfall_type` = `free` | `fixed`, `stage_m` for fixed.
//! - `conduit` (LineString): `from_node`, `to_node` (node names), `shape` = `circular` |
//!   `rect_closed` | `rect_open` | `trapezoidal`, `geom1_m` (diameter or height), `geom2_m`
//!   (width), `roughness_n` (Manning), optional `length_m`, `in_offset_m`, `out_offset_m`.
//! - `pump` (LineString or Point): `from_node`, `to_node`, `capacity_m3s`, `on_depth_m`,
//!   `off_depth_m`.
//! - `gate` (orifice): `from_node`, `to_node`, `geom1_m` (height), `geom2_m` (width),
//!   `discharge_coeff`, `open` (bool).
//! - `weir`: `from_node`, `to_node`, `crest_m` (height above inlet invert), `length_m`,
//!   `discharge_coeff`.
//! - `subcatchment` (Polygon): `outlet` (node name), `imperv_pct`, `width_m`, `slope_pct`;
//!   area from the polygon unless `area_m2` is given.
//!
//! Node and link names are the features' `name`s; they must be unique.

use crate::feature::{Feature, FeatureId};
use crate::layerdata::LayerData;
use geo::{Area, Centroid, Length};
use std::collections::HashMap;
use thiserror::Error;

/// Index of a drainage node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DrainNodeId(pub u32);

/// What a node is.
#[derive(Debug, Clone, PartialEq)]
pub enum DrainNodeKind {
    /// Manhole or junction.
    Junction,
    /// Storage unit with a plan area, m².
    Storage {
        /// Constant plan area, m².
        area_m2: f64,
    },
    /// Outfall, free or at a fixed stage (m).
    Outfall {
        /// Fixed stage, if any.
        stage_m: Option<f64>,
        /// A flap gate stops the receiving water flowing back in (attribute `flap_gate`).
        flap_gate: bool,
    },
}

/// A drainage node.
#[derive(Debug, Clone, PartialEq)]
pub struct DrainNode {
    /// Name (unique).
    pub name: String,
    /// The feature it came from.
    pub feature: FeatureId,
    /// Kind.
    pub kind: DrainNodeKind,
    /// Position.
    pub pos: [f64; 2],
    /// Invert elevation, m.
    pub invert_m: f64,
    /// Rim (ground) elevation, m.
    pub rim_m: f64,
}

/// Cross-section shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Circular pipe of diameter `d`.
    Circular {
        /// Diameter, m.
        d: f64,
    },
    /// Closed rectangular box.
    RectClosed {
        /// Height, m.
        h: f64,
        /// Width, m.
        w: f64,
    },
    /// Open rectangular channel.
    RectOpen {
        /// Height, m.
        h: f64,
        /// Width, m.
        w: f64,
    },
    /// Trapezoidal channel with 1:`z` side slopes.
    Trapezoidal {
        /// Height, m.
        h: f64,
        /// Bottom width, m.
        w: f64,
        /// Side slope, horizontal per vertical.
        z: f64,
    },
}

impl Shape {
    /// Full-flow area (m²) and hydraulic radius (m).
    pub fn full_area_radius(&self) -> (f64, f64) {
        match *self {
            Shape::Circular { d } => (std::f64::consts::PI * d * d / 4.0, d / 4.0),
            Shape::RectClosed { h, w } => (h * w, h * w / (2.0 * (h + w))),
            Shape::RectOpen { h, w } => (h * w, h * w / (2.0 * h + w)),
            Shape::Trapezoidal { h, w, z } => {
                let a = (w + z * h) * h;
                (a, a / (w + 2.0 * h * (1.0 + z * z).sqrt()))
            }
        }
    }

    /// Full height, m.
    pub fn height(&self) -> f64 {
        match *self {
            Shape::Circular { d } => d,
            Shape::RectClosed { h, .. }
            | Shape::RectOpen { h, .. }
            | Shape::Trapezoidal { h, .. } => h,
        }
    }
}

/// Manning full-flow capacity (m³/s): Q = (1/n) A R^(2/3) S^(1/2) (SI units).
pub fn manning_full_flow(shape: &Shape, n: f64, slope: f64) -> f64 {
    let (a, r) = shape.full_area_radius();
    a * r.powf(2.0 / 3.0) * slope.max(0.0).sqrt() / n
}

/// A conduit.
#[derive(Debug, Clone, PartialEq)]
pub struct Conduit {
    /// Name.
    pub name: String,
    /// The feature it came from.
    pub feature: FeatureId,
    /// Upstream node.
    pub from: DrainNodeId,
    /// Downstream node.
    pub to: DrainNodeId,
    /// Cross-section.
    pub shape: Shape,
    /// Length, m.
    pub length_m: f64,
    /// Manning's n.
    pub roughness_n: f64,
    /// Offset of the upstream invert above the node invert, m.
    pub in_offset_m: f64,
    /// Offset of the downstream invert above the node invert, m.
    pub out_offset_m: f64,
}

/// A pump that switches on and off by inlet depth.
#[derive(Debug, Clone, PartialEq)]
pub struct Pump {
    /// Name.
    pub name: String,
    /// The feature it came from.
    pub feature: FeatureId,
    /// Inlet (wet well) node.
    pub from: DrainNodeId,
    /// Outlet node.
    pub to: DrainNodeId,
    /// Capacity, m³/s.
    pub capacity_m3s: f64,
    /// Inlet depth that starts it, m.
    pub on_depth_m: f64,
    /// Inlet depth that stops it, m.
    pub off_depth_m: f64,
}

/// A gate (rectangular orifice) or a weir.
#[derive(Debug, Clone, PartialEq)]
pub struct Regulator {
    /// Name.
    pub name: String,
    /// The feature it came from.
    pub feature: FeatureId,
    /// `gate` or `weir`.
    pub kind: String,
    /// Upstream node.
    pub from: DrainNodeId,
    /// Downstream node.
    pub to: DrainNodeId,
    /// Gate height or weir crest height above the inlet invert, m.
    pub height_m: f64,
    /// Gate width or weir length, m.
    pub width_m: f64,
    /// Discharge coefficient.
    pub discharge_coeff: f64,
    /// Gate open (weirs are always open).
    pub open: bool,
}

/// A subcatchment draining to a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Subcatchment {
    /// Name.
    pub name: String,
    /// The feature it came from.
    pub feature: FeatureId,
    /// Outlet node.
    pub outlet: DrainNodeId,
    /// Area, m².
    pub area_m2: f64,
    /// Impervious share, percent.
    pub imperv_pct: f64,
    /// Overland flow width, m.
    pub width_m: f64,
    /// Slope, percent.
    pub slope_pct: f64,
}

/// The drainage network.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrainageNetwork {
    /// Nodes.
    pub nodes: Vec<DrainNode>,
    /// Conduits.
    pub conduits: Vec<Conduit>,
    /// Pumps.
    pub pumps: Vec<Pump>,
    /// Gates and weirs.
    pub regulators: Vec<Regulator>,
    /// Subcatchments.
    pub subcatchments: Vec<Subcatchment>,
}

/// A drainage feature that does not describe a valid network element.
#[derive(Debug, Error, PartialEq)]
#[error("utility feature {id} ({kind} '{name}'): field '{field}': {problem}")]
pub struct NetworkError {
    /// Feature id.
    pub id: i64,
    /// Feature kind.
    pub kind: String,
    /// Feature name (or empty).
    pub name: String,
    /// Offending field.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

fn err(f: &Feature, field: &str, problem: impl Into<String>) -> NetworkError {
    NetworkError {
        id: f.id.0,
        kind: f.kind.clone(),
        name: f.name.clone().unwrap_or_default(),
        field: field.to_string(),
        problem: problem.into(),
    }
}

fn need(f: &Feature, field: &str) -> Result<f64, NetworkError> {
    match f.num(field) {
        Some(v) if v.is_finite() => Ok(v),
        Some(_) => Err(err(f, field, "not a finite number")),
        None => Err(err(f, field, "missing (a number is required)")),
    }
}

fn positive(f: &Feature, field: &str) -> Result<f64, NetworkError> {
    let v = need(f, field)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(err(f, field, format!("must be > 0, got {v}")))
    }
}

/// An optional yes/no attribute: absent is `false`; a Bool, or a number 0/1, is accepted.
fn flag(f: &Feature, field: &str) -> Result<bool, NetworkError> {
    match f.attrs.get(field) {
        None => Ok(false),
        Some(crate::AttrValue::Bool(b)) => Ok(*b),
        Some(v) => match v.as_f64() {
            Some(0.0) => Ok(false),
            Some(1.0) => Ok(true),
            _ => Err(err(f, field, "expected true/false")),
        },
    }
}

const NODE_KINDS: [&str; 4] = ["manhole", "junction", "storage", "outfall"];

impl DrainageNetwork {
    /// Builds and validates the network from a Utility layer's drainage features.
    pub fn from_layer(layer: &LayerData) -> Result<DrainageNetwork, NetworkError> {
        let mut net = DrainageNetwork::default();
        let mut by_name: HashMap<String, DrainNodeId> = HashMap::new();
        for f in layer
            .features()
            .iter()
            .filter(|f| NODE_KINDS.contains(&f.kind.as_str()))
        {
            let name = f
                .name
                .clone()
                .ok_or_else(|| err(f, "name", "missing (nodes are referenced by name)"))?;
            let invert = need(f, "invert_m")?;
            let kind = match f.kind.as_str() {
                "storage" => DrainNodeKind::Storage {
                    area_m2: positive(f, "area_m2")?,
                },
                "outfall" => match f.text("outfall_type").unwrap_or("free") {
                    "free" => DrainNodeKind::Outfall {
                        stage_m: None,
                        flap_gate: flag(f, "flap_gate")?,
                    },
                    "fixed" => DrainNodeKind::Outfall {
                        stage_m: Some(need(f, "stage_m")?),
                        flap_gate: flag(f, "flap_gate")?,
                    },
                    other => {
                        return Err(err(
                            f,
                            "outfall_type",
                            format!("expected free or fixed, got '{other}'"),
                        ));
                    }
                },
                _ => DrainNodeKind::Junction,
            };
            let rim = match kind {
                DrainNodeKind::Outfall { .. } => f.num("rim_m").unwrap_or(invert),
                _ => need(f, "rim_m")?,
            };
            if rim < invert {
                return Err(err(
                    f,
                    "rim_m",
                    format!("rim {rim} is below invert {invert}"),
                ));
            }
            let pos = f
                .geometry
                .centroid()
                .map(|p| [p.x(), p.y()])
                .ok_or_else(|| err(f, "geometry", "empty"))?;
            let id = DrainNodeId(net.nodes.len() as u32);
            if by_name.insert(name.clone(), id).is_some() {
                return Err(err(f, "name", format!("duplicate node name '{name}'")));
            }
            net.nodes.push(DrainNode {
                name,
                feature: f.id,
                kind,
                pos,
                invert_m: invert,
                rim_m: rim,
            });
        }
        let node_ref = |f: &Feature, field: &str| -> Result<DrainNodeId, NetworkError> {
            let n = f
                .text(field)
                .ok_or_else(|| err(f, field, "missing (a node name is required)"))?;
            by_name
                .get(n)
                .copied()
                .ok_or_else(|| err(f, field, format!("no node named '{n}'")))
        };
        for f in layer.features() {
            let name = || {
                f.name
                    .clone()
                    .unwrap_or_else(|| format!("{}{}", f.kind, f.id.0))
            };
            match f.kind.as_str() {
                "conduit" => {
                    let g1 = positive(f, "geom1_m")?;
                    let shape = match f.text("shape").unwrap_or("circular") {
                        "circular" => Shape::Circular { d: g1 },
                        "rect_closed" => Shape::RectClosed {
                            h: g1,
                            w: positive(f, "geom2_m")?,
                        },
                        "rect_open" => Shape::RectOpen {
                            h: g1,
                            w: positive(f, "geom2_m")?,
                        },
                        "trapezoidal" => Shape::Trapezoidal {
                            h: g1,
                            w: need(f, "geom2_m")?.max(0.0),
                            z: f.num("side_slope").unwrap_or(1.0),
                        },
                        other => return Err(err(f, "shape", format!("unknown shape '{other}'"))),
                    };
                    let length = match f.num("length_m") {
                        Some(l) if l > 0.0 => l,
                        Some(l) => return Err(err(f, "length_m", format!("must be > 0, got {l}"))),
                        None => match &f.geometry {
                            geo::Geometry::LineString(ls) => geo::Euclidean.length(ls),
                            _ => {
                                return Err(err(
                                    f,
                                    "length_m",
                                    "missing and geometry is not a line",
                                ));
                            }
                        },
                    };
                    net.conduits.push(Conduit {
                        name: name(),
                        feature: f.id,
                        from: node_ref(f, "from_node")?,
                        to: node_ref(f, "to_node")?,
                        shape,
                        length_m: length.max(0.1),
                        roughness_n: positive(f, "roughness_n")?,
                        in_offset_m: f.num("in_offset_m").unwrap_or(0.0),
                        out_offset_m: f.num("out_offset_m").unwrap_or(0.0),
                    });
                }
                "pump" => net.pumps.push(Pump {
                    name: name(),
                    feature: f.id,
                    from: node_ref(f, "from_node")?,
                    to: node_ref(f, "to_node")?,
                    capacity_m3s: positive(f, "capacity_m3s")?,
                    on_depth_m: need(f, "on_depth_m")?,
                    off_depth_m: need(f, "off_depth_m")?,
                }),
                "gate" | "weir" => net.regulators.push(Regulator {
                    name: name(),
                    feature: f.id,
                    kind: f.kind.clone(),
                    from: node_ref(f, "from_node")?,
                    to: node_ref(f, "to_node")?,
                    height_m: if f.kind == "weir" {
                        need(f, "crest_m")?
                    } else {
                        positive(f, "geom1_m")?
                    },
                    width_m: if f.kind == "weir" {
                        positive(f, "length_m")?
                    } else {
                        positive(f, "geom2_m")?
                    },
                    discharge_coeff: f.num("discharge_coeff").unwrap_or(if f.kind == "weir" {
                        1.84
                    } else {
                        0.65
                    }),
                    open: f.kind == "weir"
                        || !matches!(f.attrs.get("open"), Some(crate::AttrValue::Bool(false))),
                }),
                "subcatchment" => {
                    let area = match f.num("area_m2") {
                        Some(a) if a > 0.0 => a,
                        _ => f.geometry.unsigned_area(),
                    };
                    if area <= 0.0 {
                        return Err(err(f, "area_m2", "missing and geometry has no area"));
                    }
                    net.subcatchments.push(Subcatchment {
                        name: name(),
                        feature: f.id,
                        outlet: node_ref(f, "outlet")?,
                        area_m2: area,
                        imperv_pct: need(f, "imperv_pct")?.clamp(0.0, 100.0),
                        width_m: f.num("width_m").filter(|w| *w > 0.0).unwrap_or(area.sqrt()),
                        slope_pct: f.num("slope_pct").filter(|s| *s > 0.0).unwrap_or(0.5),
                    });
                }
                _ => {}
            }
        }
        Ok(net)
    }

    /// Node by name.
    pub fn node_by_name(&self, name: &str) -> Option<DrainNodeId> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .map(|i| DrainNodeId(i as u32))
    }

    /// Total pump capacity, m³/s.
    pub fn pump_capacity_m3s(&self) -> f64 {
        self.pumps.iter().map(|p| p.capacity_m3s).sum()
    }

    /// Number of outfalls.
    pub fn outfall_count(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| matches!(n.kind, DrainNodeKind::Outfall { .. }))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Department, Layer};
    use geo::{LineString, point};

    fn node(id: i64, kind: &str, name: &str, x: f64, inv: f64, rim: f64) -> Feature {
        Feature::new(
            FeatureId(id),
            kind,
            Department::Construction,
            point!(x: x, y: 0.0).into(),
        )
        .with_name(name)
        .with("invert_m", inv)
        .with("rim_m", rim)
    }

    #[test]
    fn builds_and_validates() {
        let mut l = LayerData::new(Layer::Utility);
        l.insert(node(1, "manhole", "J1", 0.0, 5.0, 7.0));
        l.insert(node(2, "outfall", "O1", 100.0, 4.0, 4.0));
        let c = Feature::new(
            FeatureId(3),
            "conduit",
            Department::Construction,
            LineString::from(vec![(0.0, 0.0), (100.0, 0.0)]).into(),
        )
        .with_name("C1")
        .with("from_node", "J1")
        .with("to_node", "O1")
        .with("shape", "circular")
        .with("geom1_m", 1.0)
        .with("roughness_n", 0.013);
        l.insert(c.clone());
        let net = DrainageNetwork::from_layer(&l).unwrap();
        assert_eq!(net.nodes.len(), 2);
        assert_eq!(
            net.nodes[1].kind,
            DrainNodeKind::Outfall {
                stage_m: None,
                flap_gate: false
            }
        );
        assert_eq!(net.conduits[0].length_m, 100.0);
        assert_eq!(net.outfall_count(), 1);
        // Manning full flow of a 1 m pipe at 1 % slope, n = 0.013: 0.7854 * 0.25^(2/3) * 0.1 / 0.013
        let q = manning_full_flow(&net.conduits[0].shape, 0.013, 0.01);
        assert!((q - 2.3981).abs() < 1e-3, "{q}");
        // A flap gate is a yes/no attribute; anything else names the field.
        l.insert(node(2, "outfall", "O1", 100.0, 4.0, 4.0).with("flap_gate", true));
        let net = DrainageNetwork::from_layer(&l).unwrap();
        assert!(matches!(
            net.nodes[1].kind,
            DrainNodeKind::Outfall {
                flap_gate: true,
                ..
            }
        ));
        l.insert(node(2, "outfall", "O1", 100.0, 4.0, 4.0).with("flap_gate", "maybe"));
        let e = DrainageNetwork::from_layer(&l).unwrap_err();
        assert_eq!(e.field, "flap_gate");
        l.insert(node(2, "outfall", "O1", 100.0, 4.0, 4.0));
        // A dangling reference names the feature and the field.
        l.insert(c.with("to_node", "nowhere"));
        let e = DrainageNetwork::from_layer(&l).unwrap_err();
        assert_eq!(e.field, "to_node");
        assert!(
            e.to_string().contains("feature 3") && e.to_string().contains("nowhere"),
            "{e}"
        );
    }
}
