//! IFC buildings (IFC2x3 and IFC4, STEP physical files read by [`crate::step`]) into the
//! Building layer.
//!
//! Each `IfcBuilding` becomes a feature from its shell elements (walls, slabs, roofs, columns,
//! beams, curtain walls, plates, members, coverings, stairs, ramps, railings, chimneys, and
//! their parts), each placed through its `IfcLocalPlacement` chain, the `Body` representation
//! of each read as extruded area solids (rectangle, circle, ellipse, I-shape as its bounding
//! rectangle, and arbitrary closed profiles over polylines, indexed poly curves and composite
//! curves), faceted B-reps, face-based and shell-based surface models, triangulated and
//! polygonal face sets, and mapped items. A boolean clipping result is read as its first
//! operand (clipping only removes material, so its top is an upper bound; these are counted).
//!
//! - footprint: the union of the plans of the ground storey's shell elements (the lowest
//!   storey holding any; roofs and roof slabs left out, as they overhang), holes filled: for
//!   an extrusion from a horizontal profile the profile itself, for anything else the convex
//!   hull of its vertices;
//! - base and height: the lowest and highest point of all shell elements (base as an absolute
//!   height: the site's `RefElevation` or the map conversion's `OrthogonalHeight` added);
//! - storeys: the `IfcBuildingStorey` count (`levels`), names and elevations;
//! - use: the building's `ObjectType` (`building`), and its spaces' long names (`spaces`);
//! - name: its `LongName`, else its `Name`; its surfaces in 3D (every face of its shell
//!   elements) as `solid_json`, as the CityJSON reader writes it.
//!
//! Lengths are read in the project's length unit (`IfcUnitAssignment`: metres with any SI
//! prefix, or a conversion-based unit such as feet). The model is placed by the IFC4
//! `IfcMapConversion` (its `IfcProjectedCRS` named `EPSG:n`), else by the `IfcSite`'s
//! `RefLatitude`/`RefLongitude` (taken as the position of the model's origin) turned by the
//! model context's `TrueNorth`, in the UTM (or, in Vietnam, VN-2000) zone of that point; a
//! file with neither is refused unless the user gives the point (`--at lon,lat`, and
//! `--rotation-deg`, which also override the file's). Products of other kinds (windows, doors,
//! openings, furniture, a window's frame members …) are counted by kind, never dropped
//! silently; so are shell elements whose geometry is of a kind not read.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use geo::{Area, ConvexHull, Geometry, LineString, MultiPoint, MultiPolygon, Point, Polygon};
use twin_model::{Crs, Feature, FeatureId, Layer};

use crate::crs::Reprojector;
use crate::error::{IoError, Result};
use crate::step::{Entity, StepFile, Value};

/// Where the user places a model (overriding the file's own georeference).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct IfcPlacement {
    /// Longitude and latitude (WGS 84 degrees) of the model's origin.
    pub at: Option<(f64, f64)>,
    /// Angle from true north to the model's +y axis, clockwise, degrees.
    pub rotation_deg: Option<f64>,
}

/// What an import brought in and what it left out.
#[derive(Debug, Clone, PartialEq)]
pub struct IfcImport {
    /// One feature per `IfcBuilding` with geometry, in file order.
    pub features: Vec<Feature>,
    /// The schema of the file (`IFC4`, `IFC2X3`).
    pub schema: String,
    /// The CRS the model was placed in before reprojection.
    pub source_crs: Crs,
    /// What placed it: the map conversion, the site's reference point or the user.
    pub placed_by: String,
    /// The project's length unit, in metres.
    pub length_unit_m: f64,
    /// Products not imported, by kind, with their count.
    pub skipped: BTreeMap<String, usize>,
    /// Shell elements whose geometry could not be read, by kind and why.
    pub geometry_not_read: BTreeMap<String, usize>,
    /// Shell elements read before their boolean clipping (their top is an upper bound).
    pub clipped: usize,
    /// Buildings without any shell element read.
    pub without_geometry: usize,
}

type V3 = [f64; 3];

fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn mul(a: V3, k: f64) -> V3 {
    [a[0] * k, a[1] * k, a[2] * k]
}
fn norm(a: V3) -> Option<V3> {
    let l = dot(a, a).sqrt();
    (l > 1e-12 && l.is_finite()).then(|| mul(a, 1.0 / l))
}

/// An affine transformation: columns `m` (images of the unit axes) and translation `t`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tf {
    m: [V3; 3],
    t: V3,
}

impl Tf {
    const ID: Tf = Tf {
        m: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        t: [0.0; 3],
    };

    fn dir(&self, p: V3) -> V3 {
        let [a, b, c] = self.m;
        [
            a[0] * p[0] + b[0] * p[1] + c[0] * p[2],
            a[1] * p[0] + b[1] * p[1] + c[1] * p[2],
            a[2] * p[0] + b[2] * p[1] + c[2] * p[2],
        ]
    }

    fn apply(&self, p: V3) -> V3 {
        let d = self.dir(p);
        [d[0] + self.t[0], d[1] + self.t[1], d[2] + self.t[2]]
    }

    /// `self` after `inner`: p ↦ self(inner(p)).
    fn then(&self, inner: &Tf) -> Tf {
        Tf {
            m: inner.m.map(|c| self.dir(c)),
            t: self.apply(inner.t),
        }
    }
}

/// Axes from a z direction and a reference x direction (x made normal to z).
fn frame(z: V3, x: V3) -> [V3; 3] {
    let z = norm(z).unwrap_or([0.0, 0.0, 1.0]);
    let x = norm(sub(x, mul(z, dot(x, z))))
        .or_else(|| norm(cross([0.0, 1.0, 0.0], z)))
        .or_else(|| norm(cross([1.0, 0.0, 0.0], z)))
        .unwrap_or([1.0, 0.0, 0.0]);
    [x, cross(z, x), z]
}

/// Why a shell element's geometry is not read: a malformed file (an error), or a kind this
/// reader does not model (counted).
enum GErr {
    Io(IoError),
    Unsupported(String),
}

impl From<IoError> for GErr {
    fn from(e: IoError) -> GErr {
        GErr::Io(e)
    }
}

type G<T> = std::result::Result<T, GErr>;

fn unsupported<T>(what: impl Into<String>) -> G<T> {
    Err(GErr::Unsupported(what.into()))
}

/// The faces of an element (outer rings, model coordinates in metres) and its plan polygons.
#[derive(Default)]
struct Shape {
    faces: Vec<Vec<V3>>,
    plan: Vec<Vec<[f64; 2]>>,
    clipped: bool,
}

fn hull(points: impl IntoIterator<Item = [f64; 2]>) -> Vec<[f64; 2]> {
    let mp = MultiPoint::from(
        points
            .into_iter()
            .filter(|p| p[0].is_finite() && p[1].is_finite())
            .map(|p| Point::new(p[0], p[1]))
            .collect::<Vec<_>>(),
    );
    mp.convex_hull()
        .exterior()
        .points()
        .map(|p| [p.x(), p.y()])
        .collect()
}

const SHELL: &[&str] = &[
    "IFCWALL",
    "IFCWALLSTANDARDCASE",
    "IFCWALLELEMENTEDCASE",
    "IFCSLAB",
    "IFCSLABSTANDARDCASE",
    "IFCSLABELEMENTEDCASE",
    "IFCROOF",
    "IFCCOLUMN",
    "IFCCOLUMNSTANDARDCASE",
    "IFCBEAM",
    "IFCBEAMSTANDARDCASE",
    "IFCCURTAINWALL",
    "IFCPLATE",
    "IFCPLATESTANDARDCASE",
    "IFCMEMBER",
    "IFCMEMBERSTANDARDCASE",
    "IFCCOVERING",
    "IFCSTAIR",
    "IFCSTAIRFLIGHT",
    "IFCRAMP",
    "IFCRAMPFLIGHT",
    "IFCRAILING",
    "IFCCHIMNEY",
];

/// The IFC spelling of an entity name (`IFCWALLSTANDARDCASE` → `IfcWallStandardCase`) for
/// the kinds a report names most; others as written in the file.
pub fn display_kind(kind: &str) -> String {
    const NAMES: &[&str] = &[
        "IfcWall",
        "IfcWallStandardCase",
        "IfcWallElementedCase",
        "IfcSlab",
        "IfcSlabStandardCase",
        "IfcSlabElementedCase",
        "IfcRoof",
        "IfcColumn",
        "IfcColumnStandardCase",
        "IfcBeam",
        "IfcBeamStandardCase",
        "IfcCurtainWall",
        "IfcPlate",
        "IfcPlateStandardCase",
        "IfcMember",
        "IfcMemberStandardCase",
        "IfcCovering",
        "IfcStair",
        "IfcStairFlight",
        "IfcRamp",
        "IfcRampFlight",
        "IfcRailing",
        "IfcChimney",
        "IfcWindow",
        "IfcWindowStandardCase",
        "IfcDoor",
        "IfcDoorStandardCase",
        "IfcOpeningElement",
        "IfcOpeningStandardCase",
        "IfcFurnishingElement",
        "IfcFurniture",
        "IfcSystemFurnitureElement",
        "IfcBuildingElementProxy",
        "IfcBuildingElementPart",
        "IfcFooting",
        "IfcPile",
        "IfcAnnotation",
        "IfcGrid",
        "IfcVirtualElement",
        "IfcSpace",
        "IfcSite",
        "IfcBuilding",
        "IfcBuildingStorey",
        "IfcDistributionPort",
        "IfcDistributionElement",
        "IfcFlowSegment",
        "IfcFlowFitting",
        "IfcFlowTerminal",
        "IfcFlowController",
        "IfcSanitaryTerminal",
        "IfcLightFixture",
        "IfcTransportElement",
        "IfcElementAssembly",
        "IfcDiscreteAccessory",
        "IfcMechanicalFastener",
        "IfcReinforcingBar",
        "IfcShadingDevice",
        "IfcGeographicElement",
        "IfcCivilElement",
        "IfcProxy",
        "IfcExternalSpatialElement",
        "IfcSpatialZone",
        "IfcFlowStorageDevice",
        "IfcFlowMovingDevice",
        "IfcFlowTreatmentDevice",
        "IfcEnergyConversionDevice",
    ];
    NAMES
        .iter()
        .find(|n| n.eq_ignore_ascii_case(kind))
        .map_or_else(|| kind.to_string(), |n| n.to_string())
}

/// Reads a file's entities with the file named in every error.
struct Ifc<'a> {
    f: &'a StepFile,
    path: &'a Path,
    /// Metres per project length unit.
    unit: f64,
}

fn at(e: &Entity, field: &str) -> String {
    format!("line {}, #{} {}, field '{field}'", e.line, e.id, e.kind)
}

impl<'a> Ifc<'a> {
    fn bad(&self, e: &Entity, field: &str, msg: impl Into<String>) -> IoError {
        IoError::format(self.path, at(e, field), msg)
    }

    fn arg<'e>(&self, e: &'e Entity, i: usize, field: &str) -> Result<&'e Value> {
        e.args.get(i).ok_or_else(|| {
            self.bad(
                e,
                field,
                format!("missing: the instance has {} attribute(s)", e.args.len()),
            )
        })
    }

    fn deref(&self, e: &Entity, id: u64, field: &str) -> Result<&'a Entity> {
        self.f
            .entities
            .get(&id)
            .ok_or_else(|| self.bad(e, field, format!("#{id} is not in the file")))
    }

    fn opt_ref(&self, e: &Entity, i: usize, field: &str) -> Result<Option<&'a Entity>> {
        match e.args.get(i) {
            None | Some(Value::Null | Value::Derived) => Ok(None),
            Some(Value::Ref(id)) => self.deref(e, *id, field).map(Some),
            Some(v) => Err(self.bad(e, field, format!("expected a reference #n, got {v:?}"))),
        }
    }

    fn req_ref(&self, e: &Entity, i: usize, field: &str) -> Result<&'a Entity> {
        self.arg(e, i, field)?;
        self.opt_ref(e, i, field)?
            .ok_or_else(|| self.bad(e, field, "required, but not given ($)"))
    }

    fn refs(&self, e: &Entity, i: usize, field: &str) -> Result<Vec<&'a Entity>> {
        match self.arg(e, i, field)? {
            Value::List(l) => l
                .iter()
                .map(|v| match v {
                    Value::Ref(id) => self.deref(e, *id, field),
                    v => Err(self.bad(e, field, format!("expected references #n, got {v:?}"))),
                })
                .collect(),
            Value::Null => Ok(Vec::new()),
            v => Err(self.bad(e, field, format!("expected a list, got {v:?}"))),
        }
    }

    fn num(&self, e: &Entity, i: usize, field: &str) -> Result<f64> {
        self.arg(e, i, field)?
            .as_f64()
            .ok_or_else(|| self.bad(e, field, "expected a number"))
    }

    fn opt_num(&self, e: &Entity, i: usize, field: &str) -> Result<Option<f64>> {
        match e.args.get(i) {
            None | Some(Value::Null | Value::Derived) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| self.bad(e, field, format!("expected a number, got {v:?}"))),
        }
    }

    fn kind_is(&self, e: &Entity, kinds: &[&str], field: &str) -> Result<()> {
        if kinds.contains(&e.kind.as_str()) {
            Ok(())
        } else {
            Err(IoError::format(
                self.path,
                at(e, field),
                format!("expected {}, got {}", kinds.join(" or "), e.kind),
            ))
        }
    }

    fn coords(&self, e: &Entity, v: &Value, field: &str) -> Result<V3> {
        let l = v.as_list().unwrap_or_default();
        let c: Vec<f64> = l.iter().filter_map(Value::as_f64).collect();
        if c.len() != l.len() || c.is_empty() || c.len() > 3 {
            return Err(self.bad(e, field, "expected 1 to 3 coordinates"));
        }
        Ok([
            c[0],
            c.get(1).copied().unwrap_or(0.0),
            c.get(2).copied().unwrap_or(0.0),
        ])
    }

    /// An `IfcCartesianPoint`, in metres.
    fn point(&self, e: &Entity) -> Result<V3> {
        self.kind_is(e, &["IFCCARTESIANPOINT"], "Coordinates")?;
        Ok(mul(
            self.coords(e, self.arg(e, 0, "Coordinates")?, "Coordinates")?,
            self.unit,
        ))
    }

    /// An `IfcDirection`, of length 1.
    fn direction(&self, e: &Entity) -> Result<V3> {
        self.kind_is(e, &["IFCDIRECTION"], "DirectionRatios")?;
        let d = self.coords(e, self.arg(e, 0, "DirectionRatios")?, "DirectionRatios")?;
        norm(d).ok_or_else(|| self.bad(e, "DirectionRatios", "a direction of length 0"))
    }

    fn opt_dir(&self, e: &Entity, i: usize, field: &str, default: V3) -> Result<V3> {
        match self.opt_ref(e, i, field)? {
            Some(d) => self.direction(d),
            None => Ok(default),
        }
    }

    /// An `IfcAxis2Placement3D` or `2D`.
    fn axis_placement(&self, e: &Entity) -> Result<Tf> {
        match e.kind.as_str() {
            "IFCAXIS2PLACEMENT3D" => {
                let t = self.point(self.req_ref(e, 0, "Location")?)?;
                let z = self.opt_dir(e, 1, "Axis", [0.0, 0.0, 1.0])?;
                let x = self.opt_dir(e, 2, "RefDirection", [1.0, 0.0, 0.0])?;
                Ok(Tf { m: frame(z, x), t })
            }
            "IFCAXIS2PLACEMENT2D" => {
                let t = self.point(self.req_ref(e, 0, "Location")?)?;
                let x = self.opt_dir(e, 1, "RefDirection", [1.0, 0.0, 0.0])?;
                Ok(Tf {
                    m: frame([0.0, 0.0, 1.0], [x[0], x[1], 0.0]),
                    t,
                })
            }
            _ => Err(self.bad(
                e,
                "Location",
                format!(
                    "expected IFCAXIS2PLACEMENT3D or IFCAXIS2PLACEMENT2D, got {}",
                    e.kind
                ),
            )),
        }
    }

    /// An object placement, through its chain of relative placements.
    fn placement(&self, e: &Entity) -> G<Tf> {
        let mut chain = Vec::new();
        let mut cur = Some(e);
        while let Some(p) = cur {
            if chain.len() > 256 {
                return Err(self
                    .bad(e, "PlacementRelTo", "the placements form a loop")
                    .into());
            }
            if p.kind != "IFCLOCALPLACEMENT" {
                return unsupported(display_kind(&p.kind));
            }
            chain.push(self.axis_placement(self.req_ref(p, 1, "RelativePlacement")?)?);
            cur = self.opt_ref(p, 0, "PlacementRelTo")?;
        }
        Ok(chain.iter().rev().fold(Tf::ID, |acc, t| acc.then(t)))
    }

    /// Points of a curve (`IfcPolyline`, `IfcIndexedPolyCurve` with its arcs as chords,
    /// `IfcCompositeCurve` of those), in the profile's plane, metres.
    fn curve(&self, e: &Entity, depth: usize) -> G<Vec<[f64; 2]>> {
        match e.kind.as_str() {
            "IFCPOLYLINE" => Ok(self
                .refs(e, 0, "Points")?
                .iter()
                .map(|p| self.point(p).map(|p| [p[0], p[1]]))
                .collect::<Result<_>>()?),
            "IFCINDEXEDPOLYCURVE" => {
                let list = self.req_ref(e, 0, "Points")?;
                Ok(self
                    .point_list(list)?
                    .into_iter()
                    .map(|p| [p[0], p[1]])
                    .collect())
            }
            "IFCCOMPOSITECURVE" if depth < 8 => {
                let mut out = Vec::new();
                for s in self.refs(e, 0, "Segments")? {
                    let c = self.req_ref(s, 2, "ParentCurve")?;
                    let mut pts = self.curve(c, depth + 1)?;
                    if matches!(s.args.get(1), Some(Value::Enum(b)) if b == "F") {
                        pts.reverse();
                    }
                    out.extend(pts);
                }
                Ok(out)
            }
            other => unsupported(display_kind(other)),
        }
    }

    /// An `IfcCartesianPointList2D`/`3D`, in metres.
    fn point_list(&self, e: &Entity) -> Result<Vec<V3>> {
        self.kind_is(
            e,
            &["IFCCARTESIANPOINTLIST2D", "IFCCARTESIANPOINTLIST3D"],
            "CoordList",
        )?;
        let l = self.arg(e, 0, "CoordList")?.as_list().unwrap_or_default();
        l.iter()
            .map(|v| self.coords(e, v, "CoordList").map(|p| mul(p, self.unit)))
            .collect()
    }

    /// The outer outline of a profile, in the plane of its swept solid.
    fn profile(&self, e: &Entity) -> G<Vec<[f64; 2]>> {
        let position = |i: usize| -> Result<Tf> {
            match self.opt_ref(e, i, "Position")? {
                Some(p) => self.axis_placement(p),
                None => Ok(Tf::ID),
            }
        };
        let placed = |pts: Vec<[f64; 2]>, tf: Tf| -> Vec<[f64; 2]> {
            pts.into_iter()
                .map(|p| {
                    let q = tf.apply([p[0], p[1], 0.0]);
                    [q[0], q[1]]
                })
                .collect()
        };
        let ellipse = |a: f64, b: f64| -> Vec<[f64; 2]> {
            (0..24)
                .map(|k| {
                    let t = k as f64 * std::f64::consts::TAU / 24.0;
                    [a * t.cos(), b * t.sin()]
                })
                .collect()
        };
        let len = |i: usize, f: &str| -> Result<f64> { Ok(self.num(e, i, f)? * self.unit) };
        let rect = |w: f64, h: f64| {
            vec![
                [-w / 2.0, -h / 2.0],
                [w / 2.0, -h / 2.0],
                [w / 2.0, h / 2.0],
                [-w / 2.0, h / 2.0],
            ]
        };
        let pts = match e.kind.as_str() {
            "IFCRECTANGLEPROFILEDEF"
            | "IFCRECTANGLEHOLLOWPROFILEDEF"
            | "IFCROUNDEDRECTANGLEPROFILEDEF" => {
                placed(rect(len(3, "XDim")?, len(4, "YDim")?), position(2)?)
            }
            "IFCISHAPEPROFILEDEF" | "IFCASYMMETRICISHAPEPROFILEDEF" => placed(
                rect(len(3, "OverallWidth")?, len(4, "OverallDepth")?),
                position(2)?,
            ),
            "IFCCIRCLEPROFILEDEF" | "IFCCIRCLEHOLLOWPROFILEDEF" => {
                let r = len(3, "Radius")?;
                placed(ellipse(r, r), position(2)?)
            }
            "IFCELLIPSEPROFILEDEF" => placed(
                ellipse(len(3, "SemiAxis1")?, len(4, "SemiAxis2")?),
                position(2)?,
            ),
            "IFCARBITRARYCLOSEDPROFILEDEF" | "IFCARBITRARYPROFILEDEFWITHVOIDS" => {
                self.curve(self.req_ref(e, 2, "OuterCurve")?, 0)?
            }
            other => return unsupported(display_kind(other)),
        };
        let mut pts = pts;
        if pts.len() > 1 && pts.first() == pts.last() {
            pts.pop();
        }
        if pts.len() < 3 {
            return Err(self
                .bad(e, "OuterCurve", "a profile of fewer than 3 points")
                .into());
        }
        Ok(pts)
    }

    /// Faces of a face list (`IfcFace` with `IfcPolyLoop` bounds: the outer bound, else the
    /// first), transformed.
    fn faces(&self, faces: &[&Entity], tf: &Tf, out: &mut Shape) -> G<()> {
        let mut pts = Vec::new();
        for face in faces {
            let bounds = self.refs(face, 0, "Bounds")?;
            let Some(b) = bounds
                .iter()
                .find(|b| b.kind == "IFCFACEOUTERBOUND")
                .or(bounds.first())
            else {
                continue;
            };
            let lp = self.req_ref(b, 0, "Bound")?;
            if lp.kind != "IFCPOLYLOOP" {
                return unsupported(display_kind(&lp.kind));
            }
            let ring: Vec<V3> = self
                .refs(lp, 0, "Polygon")?
                .iter()
                .map(|p| self.point(p).map(|p| tf.apply(p)))
                .collect::<Result<_>>()?;
            pts.extend(ring.iter().map(|p| [p[0], p[1]]));
            out.faces.push(ring);
        }
        out.plan.push(hull(pts));
        Ok(())
    }

    /// Faces of an indexed face set.
    fn indexed(
        &self,
        e: &Entity,
        coords: &[V3],
        faces: Vec<Vec<i64>>,
        tf: &Tf,
        out: &mut Shape,
    ) -> G<()> {
        let pn: Vec<i64> = match e.args.get(if e.kind == "IFCTRIANGULATEDFACESET" {
            4
        } else {
            3
        }) {
            Some(Value::List(l)) => l
                .iter()
                .filter_map(|v| v.as_f64().map(|x| x as i64))
                .collect(),
            _ => Vec::new(),
        };
        let vertex = |i: i64| -> Result<V3> {
            let i = if pn.is_empty() {
                i
            } else {
                *usize::try_from(i - 1)
                    .ok()
                    .and_then(|k| pn.get(k))
                    .unwrap_or(&0)
            };
            usize::try_from(i - 1)
                .ok()
                .and_then(|k| coords.get(k))
                .map(|p| tf.apply(*p))
                .ok_or_else(|| {
                    self.bad(
                        e,
                        "CoordIndex",
                        format!("index {i} outside 1..{}", coords.len()),
                    )
                })
        };
        let mut pts = Vec::new();
        for f in faces {
            let ring: Vec<V3> = f.into_iter().map(vertex).collect::<Result<_>>()?;
            pts.extend(ring.iter().map(|p| [p[0], p[1]]));
            out.faces.push(ring);
        }
        out.plan.push(hull(pts));
        Ok(())
    }

    /// One representation item, transformed by `tf`.
    fn item(&self, e: &Entity, tf: &Tf, out: &mut Shape, depth: usize) -> G<()> {
        if depth > 16 {
            return Err(self
                .bad(e, "MappingSource", "items nest more than 16 deep (a loop?)")
                .into());
        }
        let index_list = |v: &Value| -> Vec<i64> {
            v.as_list()
                .unwrap_or_default()
                .iter()
                .filter_map(|x| x.as_f64().map(|x| x as i64))
                .collect()
        };
        match e.kind.as_str() {
            "IFCEXTRUDEDAREASOLID" => {
                let ring = self.profile(self.req_ref(e, 0, "SweptArea")?)?;
                let pos = match self.opt_ref(e, 1, "Position")? {
                    Some(p) => tf.then(&self.axis_placement(p)?),
                    None => *tf,
                };
                let d = mul(
                    self.direction(self.req_ref(e, 2, "ExtrudedDirection")?)?,
                    self.num(e, 3, "Depth")? * self.unit,
                );
                let bottom: Vec<V3> = ring.iter().map(|p| pos.apply([p[0], p[1], 0.0])).collect();
                let top: Vec<V3> = ring
                    .iter()
                    .map(|p| pos.apply([p[0] + d[0], p[1] + d[1], d[2]]))
                    .collect();
                let n = ring.len();
                for k in 0..n {
                    let j = (k + 1) % n;
                    out.faces.push(vec![bottom[k], bottom[j], top[j], top[k]]);
                }
                if pos.m[2][2].abs() > 0.999 {
                    out.plan.push(bottom.iter().map(|p| [p[0], p[1]]).collect());
                } else {
                    out.plan
                        .push(hull(bottom.iter().chain(&top).map(|p| [p[0], p[1]])));
                }
                out.faces.push(bottom.into_iter().rev().collect());
                out.faces.push(top);
                Ok(())
            }
            "IFCBOOLEANCLIPPINGRESULT" | "IFCBOOLEANRESULT" => {
                let op = match self.arg(e, 0, "Operator")? {
                    Value::Enum(s) => s.clone(),
                    _ => {
                        return Err(self
                            .bad(
                                e,
                                "Operator",
                                "expected .UNION., .DIFFERENCE. or .INTERSECTION.",
                            )
                            .into());
                    }
                };
                let mut first = Shape::default();
                self.item(
                    self.req_ref(e, 1, "FirstOperand")?,
                    tf,
                    &mut first,
                    depth + 1,
                )?;
                let second = self.req_ref(e, 2, "SecondOperand")?;
                let half = matches!(
                    second.kind.as_str(),
                    "IFCHALFSPACESOLID" | "IFCPOLYGONALBOUNDEDHALFSPACE" | "IFCBOXEDHALFSPACE"
                );
                if op == "UNION" {
                    self.item(second, tf, &mut first, depth + 1)?;
                } else if op == "DIFFERENCE" && half {
                    self.cut(second, tf, &mut first)?;
                } else {
                    first.clipped = true;
                }
                out.faces.append(&mut first.faces);
                out.plan.append(&mut first.plan);
                out.clipped |= first.clipped;
                Ok(())
            }
            "IFCFACETEDBREP" | "IFCFACETEDBREPWITHVOIDS" => {
                let shell = self.req_ref(e, 0, "Outer")?;
                self.faces(&self.refs(shell, 0, "CfsFaces")?, tf, out)
            }
            "IFCFACEBASEDSURFACEMODEL" | "IFCSHELLBASEDSURFACEMODEL" => {
                let field = if e.kind == "IFCFACEBASEDSURFACEMODEL" {
                    "FbsmFaces"
                } else {
                    "SbsmBoundary"
                };
                for set in self.refs(e, 0, field)? {
                    self.faces(&self.refs(set, 0, "CfsFaces")?, tf, out)?;
                }
                Ok(())
            }
            "IFCTRIANGULATEDFACESET" => {
                let coords = self.point_list(self.req_ref(e, 0, "Coordinates")?)?;
                let faces = self
                    .arg(e, 3, "CoordIndex")?
                    .as_list()
                    .unwrap_or_default()
                    .iter()
                    .map(index_list)
                    .collect();
                self.indexed(e, &coords, faces, tf, out)
            }
            "IFCPOLYGONALFACESET" => {
                let coords = self.point_list(self.req_ref(e, 0, "Coordinates")?)?;
                let faces = self
                    .refs(e, 2, "Faces")?
                    .iter()
                    .map(|f| self.arg(f, 0, "CoordIndex").map(index_list))
                    .collect::<Result<_>>()?;
                self.indexed(e, &coords, faces, tf, out)
            }
            "IFCMAPPEDITEM" => {
                let source = self.req_ref(e, 0, "MappingSource")?;
                let origin = self.axis_placement(self.req_ref(source, 0, "MappingOrigin")?)?;
                let rep = self.req_ref(source, 1, "MappedRepresentation")?;
                let target = self.req_ref(e, 1, "MappingTarget")?;
                let x = self.opt_dir(target, 0, "Axis1", [1.0, 0.0, 0.0])?;
                let z = self.opt_dir(target, 4, "Axis3", [0.0, 0.0, 1.0])?;
                let o = self.point(self.req_ref(target, 2, "LocalOrigin")?)?;
                let s = self.opt_num(target, 3, "Scale")?.unwrap_or(1.0);
                let m = frame(z, x).map(|c| mul(c, s));
                let tt = tf.then(&Tf { m, t: o }).then(&origin);
                for it in self.refs(rep, 3, "Items")? {
                    self.item(it, &tt, out, depth + 1)?;
                }
                Ok(())
            }
            other => unsupported(display_kind(other)),
        }
    }

    /// Removes from `shape` the material of a half-space (its plane taken as unbounded, also
    /// for a polygonal or boxed one): each face is clipped to the side kept and the cut closed
    /// by the convex hull of its new points. A cut that would leave nothing is not made (the
    /// shape counts as clipped).
    fn cut(&self, half: &Entity, tf: &Tf, shape: &mut Shape) -> G<()> {
        let plane = self.req_ref(half, 0, "BaseSurface")?;
        if plane.kind != "IFCPLANE" {
            return unsupported(display_kind(&plane.kind));
        }
        let pos = tf.then(&self.axis_placement(self.req_ref(plane, 0, "Position")?)?);
        let Some(n) = norm(pos.m[2]) else {
            shape.clipped = true;
            return Ok(());
        };
        // AgreementFlag .T.: the normal points away from the half-space's material, which is
        // removed, so the side the normal points to is kept.
        let keep = match self.arg(half, 1, "AgreementFlag")? {
            Value::Enum(b) if b == "T" => 1.0,
            Value::Enum(b) if b == "F" => -1.0,
            _ => {
                return Err(self
                    .bad(half, "AgreementFlag", "expected .T. or .F.")
                    .into());
            }
        };
        let side = |p: V3| keep * dot(sub(p, pos.t), n);
        let mut faces = Vec::new();
        let mut cap: Vec<V3> = Vec::new();
        let mut removed = false;
        for f in &shape.faces {
            let mut ring = Vec::new();
            for (k, &p) in f.iter().enumerate() {
                let q = f[(k + 1) % f.len()];
                let (sp, sq) = (side(p), side(q));
                if sp >= -1e-9 {
                    ring.push(p);
                } else {
                    removed = true;
                }
                if (sp >= -1e-9) != (sq >= -1e-9) && (sp - sq).abs() > 1e-15 {
                    let t = sp / (sp - sq);
                    let x = [
                        p[0] + t * (q[0] - p[0]),
                        p[1] + t * (q[1] - p[1]),
                        p[2] + t * (q[2] - p[2]),
                    ];
                    ring.push(x);
                    cap.push(x);
                }
            }
            if ring.len() >= 3 {
                faces.push(ring);
            }
        }
        if !removed {
            return Ok(());
        }
        if faces.is_empty() {
            shape.clipped = true;
            return Ok(());
        }
        // The cut face: the hull of the new points in the plane's own axes.
        let (u, v) = (pos.m[0], pos.m[1]);
        let flat = hull(
            cap.iter()
                .map(|p| [dot(sub(*p, pos.t), u), dot(sub(*p, pos.t), v)]),
        );
        if flat.len() >= 4 {
            faces.push(
                flat[..flat.len() - 1]
                    .iter()
                    .map(|q| {
                        [
                            pos.t[0] + q[0] * u[0] + q[1] * v[0],
                            pos.t[1] + q[0] * u[1] + q[1] * v[1],
                            pos.t[2] + q[0] * u[2] + q[1] * v[2],
                        ]
                    })
                    .collect(),
            );
        }
        shape.plan = vec![hull(faces.iter().flatten().map(|p| [p[0], p[1]]))];
        shape.faces = faces;
        Ok(())
    }

    /// The shape of a product from its `Body` representation, placed.
    fn product_shape(&self, e: &Entity) -> G<Shape> {
        let tf = match self.opt_ref(e, 5, "ObjectPlacement")? {
            Some(p) => self.placement(p)?,
            None => Tf::ID,
        };
        let Some(pds) = self.opt_ref(e, 6, "Representation")? else {
            return unsupported("no representation");
        };
        let reps = self.refs(pds, 2, "Representations")?;
        let body = reps.iter().find(|r| {
            r.args
                .get(1)
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case("Body"))
        });
        let Some(body) = body else {
            return unsupported("no Body representation");
        };
        let mut out = Shape::default();
        for it in self.refs(body, 3, "Items")? {
            self.item(it, &tf, &mut out, 0)?;
        }
        Ok(out)
    }

    /// Metres per project length unit, from the project's `IfcUnitAssignment`.
    fn length_unit(&self) -> Result<f64> {
        let project = self
            .f
            .order
            .iter()
            .filter_map(|i| self.f.entities.get(i))
            .find(|e| e.kind == "IFCPROJECT");
        let ua = match project {
            Some(p) => self.req_ref(p, 8, "UnitsInContext")?,
            None => {
                return Err(IoError::file(
                    self.path,
                    "no IfcProject: the file's units are not known",
                ));
            }
        };
        for u in self.refs(ua, 0, "Units")? {
            let is_length = matches!(u.args.get(1), Some(Value::Enum(t)) if t == "LENGTHUNIT");
            if !is_length {
                continue;
            }
            return self.unit_scale(u, 0);
        }
        Err(self.bad(ua, "Units", "no length unit (.LENGTHUNIT.) is assigned"))
    }

    /// Metres per unit of an `IfcSIUnit` or `IfcConversionBasedUnit` of length.
    fn unit_scale(&self, u: &Entity, depth: usize) -> Result<f64> {
        match u.kind.as_str() {
            "IFCSIUNIT" => {
                let name = match self.arg(u, 3, "Name")? {
                    Value::Enum(n) => n.as_str(),
                    _ => "",
                };
                if name != "METRE" {
                    return Err(self.bad(
                        u,
                        "Name",
                        format!("a length unit must be .METRE., got '{name}'"),
                    ));
                }
                let prefix = match self.arg(u, 2, "Prefix")? {
                    Value::Null => return Ok(1.0),
                    Value::Enum(p) => p.as_str(),
                    _ => "?",
                };
                let k = match prefix {
                    "KILO" => 1e3,
                    "HECTO" => 1e2,
                    "DECA" => 1e1,
                    "DECI" => 1e-1,
                    "CENTI" => 1e-2,
                    "MILLI" => 1e-3,
                    "MICRO" => 1e-6,
                    "NANO" => 1e-9,
                    p => return Err(self.bad(u, "Prefix", format!("unknown SI prefix '{p}'"))),
                };
                Ok(k)
            }
            "IFCCONVERSIONBASEDUNIT" if depth < 8 => {
                let m = self.req_ref(u, 3, "ConversionFactor")?;
                let v = self.num(m, 0, "ValueComponent")?;
                let base = self.unit_scale(self.req_ref(m, 1, "UnitComponent")?, depth + 1)?;
                let k = v * base;
                if !(k > 0.0 && k.is_finite()) {
                    return Err(self.bad(m, "ValueComponent", format!("a length unit of {k} m")));
                }
                Ok(k)
            }
            other => Err(self.bad(
                u,
                "Units",
                format!("a length unit of kind {other} is not read"),
            )),
        }
    }

    /// Degrees of a compound plane angle (degrees, minutes, seconds, millionths of a second).
    fn compound_angle(&self, e: &Entity, i: usize, field: &str, limit: f64) -> Result<Option<f64>> {
        let Some(v) = e.args.get(i).filter(|v| !v.is_unset()) else {
            return Ok(None);
        };
        let parts: Vec<f64> = v
            .as_list()
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        let n = v.as_list().map_or(0, <[Value]>::len);
        if !(3..=4).contains(&parts.len()) || parts.len() != n {
            return Err(self.bad(
                e,
                field,
                "expected (degrees, minutes, seconds[, millionths])",
            ));
        }
        let d =
            parts[0] + parts[1] / 60.0 + parts[2] / 3600.0 + parts.get(3).unwrap_or(&0.0) / 3.6e9;
        if d.abs() > limit {
            return Err(self.bad(e, field, format!("{d}° is outside ±{limit}°")));
        }
        Ok(Some(d))
    }
}

/// How the model's coordinates (metres) become coordinates of `crs`.
struct Georef {
    crs: Crs,
    origin: [f64; 2],
    /// Rotation (radians, counter-clockwise) and scale of the model's axes in the CRS.
    angle: f64,
    scale: f64,
    dz: f64,
    by: String,
}

impl Georef {
    fn xy(&self, p: [f64; 2]) -> [f64; 2] {
        let (s, c) = self.angle.sin_cos();
        [
            self.origin[0] + self.scale * (c * p[0] - s * p[1]),
            self.origin[1] + self.scale * (s * p[0] + c * p[1]),
        ]
    }
}

/// Reads the buildings of an IFC file into features of `target` CRS, ids from `first`.
/// `assume` is the CRS of a map conversion whose CRS name is not an EPSG code.
pub fn read_ifc(
    path: &Path,
    target: Crs,
    first: FeatureId,
    place: &IfcPlacement,
    assume: Option<Crs>,
) -> Result<IfcImport> {
    let bytes = std::fs::read(path).map_err(|e| IoError::file(path, e.to_string()))?;
    parse_ifc(&bytes, path, target, first, place, assume)
}

/// [`read_ifc`] on a file's bytes (`path` names it in errors).
pub fn parse_ifc(
    bytes: &[u8],
    path: &Path,
    target: Crs,
    first: FeatureId,
    place: &IfcPlacement,
    assume: Option<Crs>,
) -> Result<IfcImport> {
    let f = crate::step::parse(bytes)
        .map_err(|e| IoError::format(path, format!("line {}", e.line), e.msg))?;
    let schema = f.schema.first().cloned().unwrap_or_default();
    if !(schema.starts_with("IFC2X3") || schema.starts_with("IFC4")) {
        return Err(IoError::format(
            path,
            "FILE_SCHEMA",
            format!("IFC2X3 or IFC4 is read, got '{schema}'"),
        ));
    }
    let mut ifc = Ifc {
        f: &f,
        path,
        unit: 1.0,
    };
    ifc.unit = ifc.length_unit()?;
    let all = || f.order.iter().filter_map(|i| f.entities.get(i));

    // The spatial tree: each object's parent (aggregation or spatial containment).
    let mut parent: HashMap<u64, u64> = HashMap::new();
    for r in all() {
        let (children, of) = match r.kind.as_str() {
            "IFCRELAGGREGATES" => (5, 4),
            "IFCRELCONTAINEDINSPATIALSTRUCTURE" => (4, 5),
            _ => continue,
        };
        let whole = ifc.req_ref(
            r,
            of,
            if of == 4 {
                "RelatingObject"
            } else {
                "RelatingStructure"
            },
        )?;
        let field = if children == 5 {
            "RelatedObjects"
        } else {
            "RelatedElements"
        };
        for c in ifc.refs(r, children, field)? {
            parent.entry(c.id).or_insert(whole.id);
        }
    }
    let ancestors = |id: u64| -> Vec<&Entity> {
        let mut out = Vec::new();
        let mut cur = id;
        while let Some(p) = parent.get(&cur) {
            if out.len() > 64 {
                break;
            }
            let Some(e) = f.entities.get(p) else { break };
            out.push(e);
            cur = *p;
        }
        out
    };
    let is_product = |e: &Entity| -> bool {
        let guid = e
            .args
            .first()
            .and_then(Value::as_str)
            .is_some_and(|g| g.len() == 22);
        let placed = matches!(e.args.get(5), Some(Value::Ref(r)) if f.entities.get(r).is_some_and(|p| p.kind.ends_with("PLACEMENT")));
        let shaped = matches!(e.args.get(6), Some(Value::Ref(r)) if f.entities.get(r).is_some_and(|p| p.kind == "IFCPRODUCTDEFINITIONSHAPE"));
        guid && !e.kind.starts_with("IFCREL") && (placed || shaped)
    };

    let georef = georeference(&ifc, place, assume)?;
    let to_target = Reprojector::new(georef.crs, target, &path.display().to_string())?;

    struct Building<'e> {
        e: &'e Entity,
        storeys: Vec<(String, f64)>,
        spaces: Vec<String>,
        elements: Vec<(u64, Shape, Option<f64>, bool)>,
    }
    let mut buildings: Vec<Building> = all()
        .filter(|e| e.kind == "IFCBUILDING")
        .map(|e| Building {
            e,
            storeys: Vec::new(),
            spaces: Vec::new(),
            elements: Vec::new(),
        })
        .collect();
    if buildings.is_empty() {
        return Err(IoError::file(
            path,
            "no IfcBuilding in the file: nothing to import",
        ));
    }
    let ids: Vec<u64> = buildings.iter().map(|b| b.e.id).collect();
    let slot = |id: u64| -> Option<usize> {
        let anc = ancestors(id);
        let b = anc.iter().find(|a| a.kind == "IFCBUILDING")?;
        ids.iter().position(|x| *x == b.id)
    };
    let mut out = IfcImport {
        features: Vec::new(),
        schema: schema.clone(),
        source_crs: georef.crs,
        placed_by: georef.by.clone(),
        length_unit_m: ifc.unit,
        skipped: BTreeMap::new(),
        geometry_not_read: BTreeMap::new(),
        clipped: 0,
        without_geometry: 0,
    };
    let mut has_parts: std::collections::HashSet<u64> = std::collections::HashSet::new();
    for (c, p) in &parent {
        if f.entities
            .get(c)
            .is_some_and(|e| SHELL.contains(&e.kind.as_str()))
        {
            has_parts.insert(*p);
        }
    }
    for e in all() {
        match e.kind.as_str() {
            "IFCPROJECT" | "IFCSITE" | "IFCBUILDING" => continue,
            "IFCBUILDINGSTOREY" => {
                if let Some(b) = slot(e.id) {
                    let name = e
                        .args
                        .get(2)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    let z = ifc.opt_num(e, 9, "Elevation")?.unwrap_or(0.0) * ifc.unit;
                    buildings[b].storeys.push((name, z));
                }
                continue;
            }
            "IFCSPACE" => {
                if let Some(b) = slot(e.id) {
                    let text = |i: usize| {
                        e.args
                            .get(i)
                            .and_then(Value::as_str)
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                    };
                    if let Some(n) = text(7).or(text(2)) {
                        buildings[b].spaces.push(n.to_string());
                    }
                }
                continue;
            }
            _ => {}
        }
        if !is_product(e) {
            continue;
        }
        let kind = display_kind(&e.kind);
        if !SHELL.contains(&e.kind.as_str()) {
            *out.skipped.entry(kind).or_default() += 1;
            continue;
        }
        let anc = ancestors(e.id);
        // A part of an element of another kind (a window's frame members) goes with it.
        if let Some(whole) = anc
            .iter()
            .take_while(|a| {
                !matches!(
                    a.kind.as_str(),
                    "IFCBUILDINGSTOREY" | "IFCBUILDING" | "IFCSITE" | "IFCSPACE"
                )
            })
            .find(|a| !SHELL.contains(&a.kind.as_str()))
        {
            *out.skipped
                .entry(format!("{kind} (part of {})", display_kind(&whole.kind)))
                .or_default() += 1;
            continue;
        }
        let Some(b) = slot(e.id) else {
            *out.skipped
                .entry(format!("{kind} (outside any building)"))
                .or_default() += 1;
            continue;
        };
        let storey = match anc.iter().find(|a| a.kind == "IFCBUILDINGSTOREY") {
            Some(s) => Some(ifc.opt_num(s, 9, "Elevation")?.unwrap_or(0.0) * ifc.unit),
            None => None,
        };
        let roof = e.kind == "IFCROOF"
            || anc.iter().any(|a| a.kind == "IFCROOF")
            || matches!(e.args.get(8), Some(Value::Enum(t)) if t == "ROOF" && e.kind.starts_with("IFCSLAB"));
        match ifc.product_shape(e) {
            Ok(s) => {
                out.clipped += usize::from(s.clipped);
                buildings[b].elements.push((e.id, s, storey, roof));
            }
            Err(GErr::Io(err)) => return Err(err),
            Err(GErr::Unsupported(why)) => {
                if why == "no representation" && has_parts.contains(&e.id) {
                    continue;
                }
                *out.geometry_not_read
                    .entry(format!("{kind}: {why}"))
                    .or_default() += 1;
            }
        }
    }

    let mut next = first.0;
    for b in buildings {
        let faces: Vec<&Vec<V3>> = b.elements.iter().flat_map(|x| &x.1.faces).collect();
        let zs = faces
            .iter()
            .flat_map(|r| r.iter().map(|p| p[2]))
            .filter(|z| z.is_finite());
        let (zmin, zmax) = zs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, c), z| {
            (a.min(z), c.max(z))
        });
        if !(zmin.is_finite() && zmax.is_finite()) {
            out.without_geometry += 1;
            continue;
        }
        // The ground storey: the lowest holding a shell element that is not a roof.
        let ground = b
            .elements
            .iter()
            .filter(|x| !x.3)
            .filter_map(|x| x.2)
            .fold(f64::INFINITY, f64::min);
        let mut plan: Vec<&Vec<[f64; 2]>> = b
            .elements
            .iter()
            .filter(|x| !x.3 && x.2.is_none_or(|z| z == ground))
            .flat_map(|x| &x.1.plan)
            .collect();
        if plan.is_empty() {
            plan = b.elements.iter().flat_map(|x| &x.1.plan).collect();
        }
        let polys: Vec<Polygon<f64>> = plan
            .iter()
            .map(|r| {
                let pts: Vec<(f64, f64)> = r
                    .iter()
                    .map(|p| georef.xy(*p))
                    .map(|p| (p[0], p[1]))
                    .collect();
                Polygon::new(LineString::from(pts), vec![])
            })
            .filter(|p| {
                p.unsigned_area() > 1e-6
                    && p.exterior()
                        .points()
                        .all(|q| q.x().is_finite() && q.y().is_finite())
            })
            .collect();
        if polys.is_empty() {
            out.without_geometry += 1;
            continue;
        }
        let merged: MultiPolygon<f64> = geo::unary_union(&polys);
        let mut filled: Vec<Polygon<f64>> = merged
            .into_iter()
            .map(|p| Polygon::new(p.exterior().clone(), vec![]))
            .filter(|p| p.unsigned_area() > 1e-6)
            .collect();
        let footprint: Geometry<f64> = match filled.len() {
            0 => {
                out.without_geometry += 1;
                continue;
            }
            1 => filled.remove(0).into(),
            _ => MultiPolygon::new(filled).into(),
        };
        let footprint = to_target.geometry(&footprint)?;
        let (mut xs, mut ys): (Vec<f64>, Vec<f64>) = faces
            .iter()
            .flat_map(|r| r.iter().map(|p| georef.xy([p[0], p[1]])))
            .map(|p| (p[0], p[1]))
            .unzip();
        to_target.transform(&mut xs, &mut ys)?;
        let mut k = 0;
        let rings: Vec<Vec<V3>> = faces
            .iter()
            .map(|r| {
                r.iter()
                    .map(|p| {
                        let q = [xs[k], ys[k], p[2] + georef.dz];
                        k += 1;
                        q
                    })
                    .collect()
            })
            .collect();
        let mut storeys = b.storeys.clone();
        storeys.sort_by(|a, c| a.1.total_cmp(&c.1));
        let text = |i: usize| {
            b.e.args
                .get(i)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let mm = |v: f64| (v * 1000.0).round() / 1000.0;
        let mut feat = Feature::new(
            FeatureId(next),
            "building",
            Layer::Building.default_owner(),
            footprint,
        )
        .with("source_id", text(0).unwrap_or(""))
        .with("ifc_type", "IfcBuilding")
        .with("ifc_schema", schema.as_str())
        .with("base_m", mm(zmin + georef.dz))
        .with("height_m", mm(zmax - zmin))
        .with("footprint_from", "ground-storey elements");
        next += 1;
        if let Some(n) = text(7).or(text(2)) {
            feat = feat.with_name(n);
        }
        if let Some(t) = text(4) {
            feat = feat.with("building", t);
        }
        if let Some(d) = text(3) {
            feat = feat.with("ifc_description", d);
        }
        if !storeys.is_empty() {
            feat = feat
                .with("levels", storeys.len() as i64)
                .with(
                    "storey_names",
                    storeys
                        .iter()
                        .map(|s| s.0.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                )
                .with(
                    "storey_elevations_m",
                    storeys
                        .iter()
                        .map(|s| format!("{}", mm(s.1)))
                        .collect::<Vec<_>>()
                        .join("; "),
                );
        }
        if !b.spaces.is_empty() {
            feat = feat.with("spaces", b.spaces.join("; "));
        }
        feat = feat.with("solid_json", crate::building3d::solid_json(&rings));
        out.features.push(feat);
    }
    Ok(out)
}

/// The model's placement: the user's point, else the map conversion, else the site's
/// reference point; else an error saying how to give one.
fn georeference(ifc: &Ifc, place: &IfcPlacement, assume: Option<Crs>) -> Result<Georef> {
    let f = ifc.f;
    let all = || f.order.iter().filter_map(|i| f.entities.get(i));
    let site = all().find(|e| e.kind == "IFCSITE");
    let site_point = match site {
        Some(s) => {
            let lat = ifc.compound_angle(s, 9, "RefLatitude", 90.0)?;
            let lon = ifc.compound_angle(s, 10, "RefLongitude", 180.0)?;
            lat.zip(lon).map(|(lat, lon)| (lon, lat))
        }
        None => None,
    };
    let elevation = match site {
        Some(s) => ifc.opt_num(s, 11, "RefElevation")?.unwrap_or(0.0) * ifc.unit,
        None => 0.0,
    };
    // True north in the model's plan, as an angle from its +x axis (counter-clockwise).
    let mut north = std::f64::consts::FRAC_PI_2;
    for c in all().filter(|e| e.kind == "IFCGEOMETRICREPRESENTATIONCONTEXT") {
        if let Some(d) = ifc.opt_ref(c, 5, "TrueNorth")? {
            let v = ifc.direction(d)?;
            north = v[1].atan2(v[0]);
            break;
        }
    }
    if let Some(d) = place.rotation_deg {
        north = std::f64::consts::FRAC_PI_2 + d.to_radians();
    }
    let map = all().find(|e| e.kind == "IFCMAPCONVERSION");
    let (lonlat, by) = match (place.at, map, site_point) {
        (Some(p), _, _) => (p, format!("--at {},{}", p.0, p.1)),
        (None, Some(m), _) => return map_conversion(ifc, m, place, assume),
        (None, None, Some(p)) => (
            p,
            format!("IfcSite RefLatitude/RefLongitude {:.6}, {:.6}", p.1, p.0),
        ),
        (None, None, None) => {
            return Err(IoError::file(
                ifc.path,
                "the model is not georeferenced (no IfcMapConversion, no IfcSite RefLatitude/RefLongitude): place it with --at lon,lat [--rotation-deg D]",
            ));
        }
    };
    if !(lonlat.0.abs() <= 180.0 && lonlat.1.abs() <= 90.0) {
        return Err(IoError::Invalid(format!(
            "--at {},{}: not a longitude, latitude",
            lonlat.0, lonlat.1
        )));
    }
    let crs = Crs::metric_for(lonlat.0, lonlat.1);
    let r = Reprojector::new(Crs::WGS84, crs, &ifc.path.display().to_string())?;
    let o = r.point(lonlat.0, lonlat.1)?;
    let n = r.point(lonlat.0, lonlat.1 + 1e-4)?;
    let grid_north = (n.1 - o.1).atan2(n.0 - o.0);
    Ok(Georef {
        crs,
        origin: [o.0, o.1],
        angle: grid_north - north,
        scale: 1.0,
        dz: elevation,
        by,
    })
}

/// IFC4's `IfcMapConversion` onto its `IfcProjectedCRS`.
fn map_conversion(
    ifc: &Ifc,
    m: &Entity,
    place: &IfcPlacement,
    assume: Option<Crs>,
) -> Result<Georef> {
    let crs_e = ifc.req_ref(m, 1, "TargetCRS")?;
    let name = crs_e.args.first().and_then(Value::as_str).unwrap_or("");
    let crs = match crate::cityjson::epsg_of(name)
        .or_else(|| crate::citygml::srs_of(name).map(|c| c.0.epsg))
    {
        Some(epsg) => Crs { epsg },
        None => assume.ok_or_else(|| {
            ifc.bad(
                crs_e,
                "Name",
                format!("'{name}' is not an EPSG code: give the CRS (--src-crs EPSG:N)"),
            )
        })?,
    };
    let map_unit = match ifc.opt_ref(crs_e, 6, "MapUnit")? {
        Some(u) => ifc.unit_scale(u, 0)?,
        None => 1.0,
    };
    let e = ifc.num(m, 2, "Eastings")? * map_unit;
    let n = ifc.num(m, 3, "Northings")? * map_unit;
    let h = ifc.num(m, 4, "OrthogonalHeight")? * map_unit;
    let a = ifc.opt_num(m, 5, "XAxisAbscissa")?.unwrap_or(1.0);
    let o = ifc.opt_num(m, 6, "XAxisOrdinate")?.unwrap_or(0.0);
    let scale = match ifc.opt_num(m, 7, "Scale")? {
        Some(s) if s > 0.0 => s * map_unit / ifc.unit,
        Some(s) => return Err(ifc.bad(m, "Scale", format!("{s} is not a positive scale"))),
        None => 1.0,
    };
    let mut angle = o.atan2(a);
    if let Some(d) = place.rotation_deg {
        angle = -d.to_radians();
    }
    Ok(Georef {
        crs,
        origin: [e, n],
        angle,
        scale,
        dz: h,
        by: format!("IfcMapConversion onto {}", crs.code()),
    })
}
