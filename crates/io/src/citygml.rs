//! CityGML buildings (2.0 and 3.0, LOD1–LOD2 solids and surfaces) into the Building layer.
//!
//! The file is streamed; elements are matched by local name, so the 2.0 and 3.0 namespaces
//! read alike. Each `Building` and `BuildingPart` with geometry becomes a feature shaped as
//! [`crate::building3d`] does it: footprint from its `GroundSurface`s (else its
//! `FloorSurface`s, a quirk of real files that tag building bases so, counted in the result),
//! base and height (`measuredHeight`, or CityGML 3.0's `Height` value, else the geometry's
//! span), storeys, use (`function`, else `usage`), name, generic attributes (as `cg_…`), and its
//! surfaces in 3D. Coordinates are read in the `srsName` of the geometry or of the file's
//! envelope: `EPSG:n` and its URN forms, `CRS:84` (longitude, latitude), EPSG:4326 (latitude,
//! longitude, as GML orders it), and the German `urn:adv:crs:ETRS89_UTM32*…` names; a file whose
//! CRS is none of these is refused until the user gives it. City objects of other kinds are
//! named with their count.

use std::collections::BTreeMap;
use std::path::Path;

use quick_xml::events::Event;
use twin_model::{Crs, Feature, FeatureId, Layer};

use crate::building3d::{FootprintSource, Surface, shape};
use crate::crs::Reprojector;
use crate::error::{IoError, Result};

/// What an import brought in and what it left out.
#[derive(Debug, Clone, PartialEq)]
pub struct CityGmlImport {
    /// Building features, in file order (a part after the building that holds it).
    pub features: Vec<Feature>,
    /// The CRS the coordinates were read in.
    pub source_crs: Crs,
    /// City objects not imported, by kind, with their count.
    pub skipped: BTreeMap<String, usize>,
    /// Buildings without geometry of their own.
    pub without_geometry: usize,
    /// Buildings whose footprint came from floor surfaces (no ground surface in the file).
    pub footprint_from_floor: usize,
}

/// A CRS named in GML, and whether its axes come latitude first.
pub fn srs_of(name: &str) -> Option<(Crs, bool)> {
    let n = name.trim();
    let upper = n.to_ascii_uppercase();
    if upper == "CRS:84" || upper.ends_with("OGC/1.3/CRS84") || upper.ends_with("OGC:CRS84") {
        return Some((Crs::WGS84, false));
    }
    if let Some(rest) = upper.strip_prefix("URN:ADV:CRS:") {
        let horiz = rest.split('*').next().unwrap_or("");
        return match horiz {
            "ETRS89_UTM32" => Some((Crs { epsg: 25832 }, false)),
            "ETRS89_UTM33" => Some((Crs { epsg: 25833 }, false)),
            _ => None,
        };
    }
    if !upper.contains("EPSG") {
        return None;
    }
    // The first EPSG code (of a compound `crs:EPSG::25832,crs:EPSG::7837`, the horizontal).
    let after = &upper[upper.find("EPSG")? + 4..];
    let digits: String = after
        .trim_start_matches([':', '/', '0'])
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    // `EPSG/0/4326`: the version segment is skipped by trimming '0' and '/' above.
    let code: u32 = digits.parse().ok()?;
    Some((Crs { epsg: code }, code == 4326))
}

#[derive(Default)]
struct Building {
    id: String,
    kind: &'static str,
    parent: Option<String>,
    name: Option<String>,
    surfaces: Vec<Surface>,
    height: Option<f64>,
    storeys: Option<f64>,
    usage: Option<String>,
    generic: Vec<(String, String)>,
}

/// Reads the buildings of a CityGML file into features of `target` CRS, ids from `first`;
/// `assume` is the CRS of a file whose own is not known.
pub fn read_citygml(
    path: &Path,
    target: Crs,
    first: FeatureId,
    assume: Option<Crs>,
) -> Result<CityGmlImport> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::file(path, e.to_string()))?;
    parse_citygml(&text, path, target, first, assume)
}

/// [`read_citygml`] on a file's text (`path` names it in errors).
pub fn parse_citygml(
    text: &str,
    path: &Path,
    target: Crs,
    first: FeatureId,
    assume: Option<Crs>,
) -> Result<CityGmlImport> {
    let line_of = |pos: u64| text[..(pos as usize).min(text.len())].matches('\n').count() + 1;
    let err = |pos: u64, msg: String| IoError::Format {
        file: path.to_path_buf(),
        location: format!("line {}", line_of(pos)),
        msg,
    };
    let mut reader = quick_xml::Reader::from_str(text.trim_start_matches('\u{feff}'));
    reader.config_mut().trim_text(true);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<String> = Vec::new();
    let mut srs: Option<String> = None;
    let mut dim = 3usize;
    let mut open: Vec<Building> = Vec::new();
    let mut done: Vec<Building> = Vec::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut ring: Vec<f64> = Vec::new();
    let mut rings: Vec<Vec<[f64; 3]>> = Vec::new();
    let mut generic_name: Option<String> = None;
    let mut saw_city_model = false;
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| err(pos, format!("not well-formed XML: {e}")))?;
        match ev {
            Event::Start(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                for a in e.attributes().flatten() {
                    let key = String::from_utf8_lossy(a.key.local_name().as_ref()).to_string();
                    let val = a
                        .unescape_value()
                        .map(|v| v.to_string())
                        .unwrap_or_default();
                    match key.as_str() {
                        "srsName" => srs = Some(val),
                        "srsDimension" => dim = val.parse().unwrap_or(3),
                        "name" if generic_name.is_none() && local.ends_with("Attribute") => {
                            generic_name = Some(val)
                        }
                        _ => {}
                    }
                }
                if local == "CityModel" {
                    saw_city_model = true;
                }
                if local == "Building" || local == "BuildingPart" {
                    let parent = open.last().map(|b| b.id.clone());
                    open.push(Building {
                        kind: if local == "Building" {
                            "Building"
                        } else {
                            "BuildingPart"
                        },
                        parent: if local == "BuildingPart" {
                            parent
                        } else {
                            None
                        },
                        ..Default::default()
                    });
                    for a in e.attributes().flatten() {
                        if a.key.local_name().as_ref() == b"id" {
                            open.last_mut().expect("pushed").id = a
                                .unescape_value()
                                .map(|v| v.to_string())
                                .unwrap_or_default();
                        }
                    }
                } else if stack.last().map(String::as_str) == Some("cityObjectMember") {
                    *skipped.entry(local.clone()).or_default() += 1;
                }
                if local == "LinearRing" {
                    ring.clear();
                }
                stack.push(local);
            }
            Event::Text(t) => {
                let Some(top) = stack.last().map(String::as_str) else {
                    continue;
                };
                let Some(b) = open.last_mut() else { continue };
                let txt = t
                    .unescape()
                    .map_err(|e| err(pos, format!("bad text: {e}")))?
                    .to_string();
                match top {
                    "posList" | "pos" | "coordinates" => {
                        for v in txt.split(|c: char| c.is_whitespace() || c == ',') {
                            if v.is_empty() {
                                continue;
                            }
                            let x: f64 = v
                                .parse()
                                .map_err(|_| err(pos, format!("<{top}>: '{v}' is not a number")))?;
                            ring.push(x);
                        }
                    }
                    "measuredHeight" => b.height = txt.trim().parse().ok(),
                    "value" if stack.iter().any(|s| s == "Height") => {
                        b.height = b.height.or(txt.trim().parse().ok())
                    }
                    "storeysAboveGround" => b.storeys = txt.trim().parse().ok(),
                    "function" | "usage" if b.usage.is_none() => b.usage = Some(txt),
                    "name" if stack.len() >= 2 && stack[stack.len() - 2].ends_with("Attribute") => {
                        generic_name = Some(txt)
                    }
                    "name"
                        if stack.len() >= 2 && stack[stack.len() - 2].starts_with("Building") =>
                    {
                        b.name = Some(txt)
                    }
                    "value" | "stringValue" | "doubleValue" | "intValue" => {
                        if let Some(n) = generic_name.take() {
                            b.generic.push((n, txt));
                        }
                    }
                    _ => {}
                }
            }
            Event::End(_) => {
                let Some(local) = stack.pop() else { continue };
                match local.as_str() {
                    "LinearRing" => {
                        if dim != 2 && dim != 3 {
                            return Err(err(pos, format!("srsDimension {dim}: 2 or 3 is read")));
                        }
                        if !ring.len().is_multiple_of(dim) {
                            return Err(err(
                                pos,
                                format!(
                                    "a ring of {} numbers is not a list of {dim}-D positions",
                                    ring.len()
                                ),
                            ));
                        }
                        let pts: Vec<[f64; 3]> = ring
                            .chunks(dim)
                            .map(|c| [c[0], c[1], if dim == 3 { c[2] } else { 0.0 }])
                            .collect();
                        if pts.len() >= 3 {
                            rings.push(pts);
                        }
                        ring.clear();
                    }
                    "Polygon" => {
                        if let Some(b) = open.last_mut() {
                            let kind = stack
                                .iter()
                                .rev()
                                .find(|s| {
                                    s.ends_with("Surface")
                                        && !s.contains("Multi")
                                        && s.as_str() != "CompositeSurface"
                                })
                                .cloned();
                            if !rings.is_empty() {
                                b.surfaces.push(Surface {
                                    kind,
                                    rings: std::mem::take(&mut rings),
                                });
                            }
                        }
                        rings.clear();
                    }
                    "Building" | "BuildingPart" => {
                        if let Some(b) = open.pop() {
                            done.push(b);
                        }
                    }
                    s if s.ends_with("Attribute") => generic_name = None,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_city_model {
        return Err(IoError::file(
            path,
            "not a CityGML file: no CityModel element",
        ));
    }
    let (source_crs, lat_first) = match srs.as_deref().and_then(srs_of) {
        Some(c) => c,
        None => (assume.ok_or_else(|| {
            IoError::file(
                path,
                format!(
                    "the coordinate reference system {} is not known here: give it (--src-crs EPSG:N)",
                    srs.as_deref().map_or("(none stated)".to_string(), |s| format!("'{s}'"))
                ),
            )
        })?, false),
    };
    let re = Reprojector::new(source_crs, target, &path.display().to_string())?;
    let mut out = CityGmlImport {
        features: Vec::new(),
        source_crs,
        skipped,
        without_geometry: 0,
        footprint_from_floor: 0,
    };
    let mut next = first.0;
    // Parts close before their building: put each building before its parts.
    done.sort_by_key(|b| b.kind == "BuildingPart");
    for mut b in done {
        for s in &mut b.surfaces {
            for r in &mut s.rings {
                let (mut xs, mut ys): (Vec<f64>, Vec<f64>) = r
                    .iter()
                    .map(|p| {
                        if lat_first {
                            (p[1], p[0])
                        } else {
                            (p[0], p[1])
                        }
                    })
                    .unzip();
                re.transform(&mut xs, &mut ys)?;
                for ((p, x), y) in r.iter_mut().zip(xs).zip(ys) {
                    p[0] = x;
                    p[1] = y;
                }
            }
        }
        let Some(sh) = shape(&b.surfaces) else {
            out.without_geometry += 1;
            continue;
        };
        if sh.from == FootprintSource::Floor {
            out.footprint_from_floor += 1;
        }
        let height = b
            .height
            .filter(|h| h.is_finite() && *h > 0.0)
            .unwrap_or(sh.zmax - sh.zmin);
        let mut f = Feature::new(
            FeatureId(next),
            "building",
            Layer::Building.default_owner(),
            sh.footprint,
        )
        .with("source_id", b.id.as_str())
        .with("citygml_type", b.kind)
        .with("base_m", (sh.zmin * 1000.0).round() / 1000.0)
        .with("height_m", (height * 1000.0).round() / 1000.0)
        .with("solid_json", sh.solid_json);
        next += 1;
        if let Some(n) = b.name {
            f = f.with_name(n);
        }
        if let Some(s) = b.storeys {
            f = f.with("levels", s.round() as i64);
        }
        if let Some(u) = b.usage {
            f = f.with("building", u.trim());
        }
        if let Some(p) = b.parent.filter(|p| !p.is_empty()) {
            f = f.with("parent_id", p);
        }
        for (k, v) in b.generic {
            f = f.with(&format!("cg_{k}"), v.trim());
        }
        out.features.push(f);
    }
    Ok(out)
}
