//! CityJSON buildings (versions 1.0, 1.1 and 2.0; any LOD) into the Building layer.
//!
//! Each `Building` and `BuildingPart` with a geometry becomes a feature: its footprint (the
//! geometry's `GroundSurface`s where it has semantics, else the surfaces lying at its lowest
//! height, projected to the plane; else the outline of all its vertices) in the city's CRS,
//! its base and height (`measuredHeight` where given, else the geometry's span), its storeys
//! (`storeysAboveGround`), its use (`function` or `usage`), its name (`name`), every scalar
//! attribute of the file, and its surfaces as `solid_json` (the outer rings of the highest LOD,
//! `[[x, y, z], …]` per surface, in the city's CRS with heights as in the file) for 3D views. Vertices are read
//! through the file's `transform`; the CRS is the file's `metadata.referenceSystem` or, where a
//! file states none, the one the user gives. City objects of other types are not imported and
//! are named with their count.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use twin_model::{AttrValue, Crs, Feature, FeatureId, Layer};

use crate::building3d::{Surface, shape};
use crate::crs::Reprojector;
use crate::error::{IoError, Result};

/// What an import brought in and what it left out.
#[derive(Debug, Clone, PartialEq)]
pub struct CityJsonImport {
    /// Building features, in the file's object order.
    pub features: Vec<Feature>,
    /// CityJSON version of the file.
    pub version: String,
    /// The CRS the vertices were read in.
    pub source_crs: Crs,
    /// City objects not imported, by type, with their count.
    pub skipped: BTreeMap<String, usize>,
    /// Buildings without any geometry (e.g. a building described only by its parts).
    pub without_geometry: usize,
}

fn format_err(path: &Path, location: impl Into<String>, msg: impl Into<String>) -> IoError {
    IoError::Format {
        file: path.to_path_buf(),
        location: location.into(),
        msg: msg.into(),
    }
}

/// EPSG code of a CityJSON `referenceSystem` (`https://www.opengis.net/def/crs/EPSG/0/7415`,
/// `urn:ogc:def:crs:EPSG::7415`, `EPSG:7415`).
pub fn epsg_of(reference: &str) -> Option<u32> {
    let r = reference.trim();
    let tail = r
        .rsplit(['/', ':'])
        .next()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))?;
    let upper = r.to_ascii_uppercase();
    upper.contains("EPSG").then(|| tail.parse().ok()).flatten()
}

/// The horizontal CRS of a compound one GDAL does not transform in 2D: the Dutch RD New + NAP
/// (7415) is RD New (28992); the rest as given.
fn horizontal(epsg: u32) -> u32 {
    match epsg {
        7415 => 28992,
        other => other,
    }
}

/// Reads the buildings of a CityJSON file into features of `target` CRS, ids from `first`.
/// `assume` is the CRS of a file that states none (an error names the file if neither is
/// known).
pub fn read_cityjson(
    path: &Path,
    target: Crs,
    first: FeatureId,
    assume: Option<Crs>,
) -> Result<CityJsonImport> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::file(path, e.to_string()))?;
    parse_cityjson(&text, path, target, first, assume)
}

/// [`read_cityjson`] on a file's text (`path` names it in errors).
pub fn parse_cityjson(
    text: &str,
    path: &Path,
    target: Crs,
    first: FeatureId,
    assume: Option<Crs>,
) -> Result<CityJsonImport> {
    let doc: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        format_err(
            path,
            format!("line {}, column {}", e.line(), e.column()),
            format!("not JSON: {e}"),
        )
    })?;
    if doc.get("type").and_then(Value::as_str) != Some("CityJSON") {
        return Err(format_err(
            path,
            "field 'type'",
            "expected \"CityJSON\" (a CityJSONFeature sequence is not read)",
        ));
    }
    let version = doc
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !["1.0", "1.1", "2.0"].contains(&version.as_str()) {
        return Err(format_err(
            path,
            "field 'version'",
            format!("CityJSON 1.0, 1.1 or 2.0 is read, got '{version}'"),
        ));
    }
    let source_crs = match doc
        .pointer("/metadata/referenceSystem")
        .and_then(Value::as_str)
    {
        Some(r) => Crs {
            epsg: horizontal(epsg_of(r).ok_or_else(|| {
                format_err(
                    path,
                    "field 'metadata.referenceSystem'",
                    format!("not an EPSG reference: '{r}'"),
                )
            })?),
        },
        None => assume.ok_or_else(|| {
            IoError::file(
                path,
                "the file states no metadata.referenceSystem: give its CRS (--crs EPSG:N)",
            )
        })?,
    };
    // Vertices through the transform.
    let (scale, translate) = match doc.get("transform") {
        Some(t) => {
            let v3 = |k: &str| -> Result<[f64; 3]> {
                let a = t.get(k).and_then(Value::as_array).filter(|a| a.len() == 3);
                let a = a.ok_or_else(|| {
                    format_err(path, format!("field 'transform.{k}'"), "expected 3 numbers")
                })?;
                let mut out = [0.0; 3];
                for (o, x) in out.iter_mut().zip(a) {
                    *o = x.as_f64().filter(|v| v.is_finite()).ok_or_else(|| {
                        format_err(path, format!("field 'transform.{k}'"), "expected numbers")
                    })?;
                }
                Ok(out)
            };
            (v3("scale")?, v3("translate")?)
        }
        None => ([1.0; 3], [0.0; 3]),
    };
    let raw = doc
        .get("vertices")
        .and_then(Value::as_array)
        .ok_or_else(|| format_err(path, "field 'vertices'", "missing or not a list"))?;
    let mut xs = Vec::with_capacity(raw.len());
    let mut ys = Vec::with_capacity(raw.len());
    let mut zs = Vec::with_capacity(raw.len());
    for (i, v) in raw.iter().enumerate() {
        let c = v
            .as_array()
            .filter(|a| a.len() == 3)
            .and_then(|a| {
                let p: Vec<f64> = a.iter().filter_map(Value::as_f64).collect();
                (p.len() == 3 && p.iter().all(|x| x.is_finite())).then_some(p)
            })
            .ok_or_else(|| format_err(path, format!("vertex {i}"), "expected [x, y, z]"))?;
        xs.push(c[0] * scale[0] + translate[0]);
        ys.push(c[1] * scale[1] + translate[1]);
        zs.push(c[2] * scale[2] + translate[2]);
    }
    Reprojector::new(source_crs, target, &path.display().to_string())?
        .transform(&mut xs, &mut ys)?;
    let objects = doc
        .get("CityObjects")
        .and_then(Value::as_object)
        .ok_or_else(|| format_err(path, "field 'CityObjects'", "missing or not an object"))?;
    let mut out = CityJsonImport {
        features: Vec::new(),
        version,
        source_crs,
        skipped: BTreeMap::new(),
        without_geometry: 0,
    };
    let mut next = first.0;
    for (id, o) in objects {
        let kind = o.get("type").and_then(Value::as_str).unwrap_or("");
        if kind != "Building" && kind != "BuildingPart" {
            *out.skipped.entry(kind.to_string()).or_default() += 1;
            continue;
        }
        let geoms = o.get("geometry").and_then(Value::as_array);
        let Some(g) = geoms.and_then(|gs| best_lod(gs)) else {
            out.without_geometry += 1;
            continue;
        };
        let at = |msg: &str| format_err(path, format!("CityObject '{id}', field 'geometry'"), msg);
        let surfaces = surfaces_of(g, raw.len()).map_err(|m| at(&m))?;
        if surfaces.is_empty() {
            out.without_geometry += 1;
            continue;
        }
        let kinds = surface_kinds(g, surfaces.len());
        let shaped: Vec<Surface> = surfaces
            .iter()
            .zip(kinds)
            .map(|(rings, kind)| Surface {
                kind,
                rings: rings
                    .iter()
                    .map(|r| r.iter().map(|&i| [xs[i], ys[i], zs[i]]).collect())
                    .collect(),
            })
            .collect();
        let Some(sh) = shape(&shaped) else {
            out.without_geometry += 1;
            continue;
        };
        let (zmin, zmax, footprint) = (sh.zmin, sh.zmax, sh.footprint);
        let mut f = Feature::new(
            FeatureId(next),
            "building",
            Layer::Building.default_owner(),
            footprint,
        );
        next += 1;
        if let Some(attrs) = o.get("attributes").and_then(Value::as_object) {
            for (k, v) in attrs {
                let a = match v {
                    Value::Bool(b) => AttrValue::Bool(*b),
                    Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                        (Some(i), _) => AttrValue::Int(i),
                        (None, Some(x)) if x.is_finite() => AttrValue::Real(x),
                        _ => continue,
                    },
                    Value::String(s) => AttrValue::Text(s.clone()),
                    _ => continue,
                };
                f.attrs.insert(format!("cj_{k}"), a);
            }
        }
        let num = |k: &str| {
            o.pointer(&format!("/attributes/{k}"))
                .and_then(Value::as_f64)
                .filter(|x| x.is_finite() && *x > 0.0)
        };
        let height = num("measuredHeight").unwrap_or(zmax - zmin);
        f = f
            .with("source_id", id.as_str())
            .with("cityjson_type", kind)
            .with("lod", lod_text(g))
            .with("base_m", (zmin * 1000.0).round() / 1000.0)
            .with("height_m", (height * 1000.0).round() / 1000.0);
        if let Some(n) = num("storeysAboveGround") {
            f = f.with("levels", n.round() as i64);
        }
        if let Some(n) = o
            .pointer("/attributes/name")
            .and_then(Value::as_str)
            .filter(|n| !n.trim().is_empty())
        {
            f = f.with_name(n);
        }
        if let Some(u) = ["function", "usage"].iter().find_map(|k| {
            o.pointer(&format!("/attributes/{k}"))
                .and_then(Value::as_str)
        }) {
            f = f.with("building", u);
        }
        if let Some(p) = o
            .get("parents")
            .and_then(Value::as_array)
            .and_then(|p| p.first())
            .and_then(Value::as_str)
        {
            f = f.with("parent_id", p);
        }
        f = f.with("solid_json", sh.solid_json);
        out.features.push(f);
    }
    Ok(out)
}

/// The geometry of the highest LOD (ties: the first).
fn best_lod(gs: &[Value]) -> Option<&Value> {
    let lod = |g: &Value| -> f64 {
        match g.get("lod") {
            Some(Value::String(s)) => s.parse().unwrap_or(0.0),
            Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
            _ => 0.0,
        }
    };
    let mut best: Option<&Value> = None;
    for g in gs {
        if best.is_none_or(|b| lod(g) > lod(b)) {
            best = Some(g);
        }
    }
    best
}

fn lod_text(g: &Value) -> String {
    match g.get("lod") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Surfaces (rings of vertex indices, the outer first) of a geometry, with their position in
/// the geometry's semantics `values` layout flattened in the same order.
fn surfaces_of(g: &Value, nv: usize) -> std::result::Result<Vec<Vec<Vec<usize>>>, String> {
    let ty = g.get("type").and_then(Value::as_str).unwrap_or("");
    let b = g.get("boundaries").ok_or("no 'boundaries'")?;
    // Depth of nesting of surfaces in the boundaries, by geometry type.
    let depth = match ty {
        "MultiSurface" | "CompositeSurface" => 0,
        "Solid" => 1,
        "MultiSolid" | "CompositeSolid" => 2,
        // Points and lines have no surfaces; a template instance is not expanded.
        _ => return Ok(Vec::new()),
    };
    let mut out = Vec::new();
    collect(b, depth, nv, &mut out)?;
    Ok(out)
}

fn collect(
    v: &Value,
    depth: usize,
    nv: usize,
    out: &mut Vec<Vec<Vec<usize>>>,
) -> std::result::Result<(), String> {
    let a = v.as_array().ok_or("boundaries: expected a list")?;
    if depth == 0 {
        for s in a {
            let rings = s.as_array().ok_or("a surface: expected a list of rings")?;
            let mut surface = Vec::new();
            for r in rings {
                let idx: Vec<usize> = r
                    .as_array()
                    .ok_or("a ring: expected a list of vertex indices")?
                    .iter()
                    .map(|i| {
                        i.as_u64()
                            .map(|i| i as usize)
                            .filter(|&i| i < nv)
                            .ok_or_else(|| format!("vertex index {i} outside 0..{nv}"))
                    })
                    .collect::<std::result::Result<_, _>>()?;
                surface.push(idx);
            }
            if !surface.is_empty() {
                out.push(surface);
            }
        }
        Ok(())
    } else {
        for x in a {
            collect(x, depth - 1, nv, out)?;
        }
        Ok(())
    }
}

/// The semantic kind of each of a geometry's surfaces (flattened in boundary order), where
/// its semantics give one.
fn surface_kinds(g: &Value, n: usize) -> Vec<Option<String>> {
    let none = vec![None; n];
    let Some(sem) = g.get("semantics") else {
        return none;
    };
    let kinds: Vec<&str> = sem
        .get("surfaces")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| s.get("type").and_then(Value::as_str).unwrap_or(""))
                .collect()
        })
        .unwrap_or_default();
    let mut flat: Vec<Option<usize>> = Vec::new();
    fn walk(v: &Value, out: &mut Vec<Option<usize>>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Number(n) => out.push(n.as_u64().map(|n| n as usize)),
            _ => out.push(None),
        }
    }
    if let Some(v) = sem.get("values") {
        walk(v, &mut flat);
    }
    if flat.len() != n {
        return none;
    }
    flat.iter()
        .map(|k| k.and_then(|k| kinds.get(k)).map(|s| s.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsg_references() {
        assert_eq!(
            epsg_of("https://www.opengis.net/def/crs/EPSG/0/7415"),
            Some(7415)
        );
        assert_eq!(epsg_of("urn:ogc:def:crs:EPSG::28992"), Some(28992));
        assert_eq!(epsg_of("EPSG:3405"), Some(3405));
        assert_eq!(epsg_of("OGC:CRS84"), None);
    }

    #[test]
    fn a_cube_and_its_footprint() {
        // One LOD1 building: a 10 × 20 m box 6 m high on z = 2, in EPSG:3405, with a road.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("b.city.json");
        let text = r#"{"type":"CityJSON","version":"2.0",
          "metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/3405"},
          "transform":{"scale":[0.01,0.01,0.01],"translate":[588000,2325000,0]},
          "vertices":[[0,0,200],[1000,0,200],[1000,2000,200],[0,2000,200],
                      [0,0,800],[1000,0,800],[1000,2000,800],[0,2000,800]],
          "CityObjects":{
            "b1":{"type":"Building","attributes":{"storeysAboveGround":2,"function":"office","yearOfConstruction":1999},
              "geometry":[{"type":"Solid","lod":"1","boundaries":[[
                [[0,3,2,1]],[[4,5,6,7]],[[0,1,5,4]],[[1,2,6,5]],[[2,3,7,6]],[[3,0,4,7]]]]}]},
            "r1":{"type":"Road"}}}"#;
        std::fs::write(&p, text).unwrap();
        let r = read_cityjson(&p, Crs::VN2000_UTM48N, FeatureId(5), None).unwrap();
        assert_eq!(r.features.len(), 1);
        assert_eq!(r.skipped.get("Road"), Some(&1));
        let f = &r.features[0];
        assert_eq!(f.id, FeatureId(5));
        assert_eq!(f.num("height_m"), Some(6.0));
        assert_eq!(f.num("base_m"), Some(2.0));
        assert_eq!(f.num("levels"), Some(2.0));
        assert_eq!(f.text("building"), Some("office"));
        assert_eq!(f.num("cj_yearOfConstruction"), Some(1999.0));
        use geo::Area;
        assert!((f.geometry.unsigned_area() - 200.0).abs() < 1e-6);
        let solid: Vec<Vec<[f64; 3]>> =
            serde_json::from_str(f.text("solid_json").unwrap()).unwrap();
        assert_eq!(solid.len(), 6);
        // A vertex index past the list, and no CRS: errors naming the object or the fix.
        std::fs::write(&p, text.replace("[[0,3,2,1]]", "[[0,3,2,99]]")).unwrap();
        let e = read_cityjson(&p, Crs::VN2000_UTM48N, FeatureId(1), None).unwrap_err();
        assert!(e.to_string().contains("CityObject 'b1'"), "{e}");
        assert!(
            e.to_string().contains("vertex index 99 outside 0..8"),
            "{e}"
        );
        let no_crs = text.replace(
            r#""metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/3405"},"#,
            "",
        );
        std::fs::write(&p, &no_crs).unwrap();
        let e = read_cityjson(&p, Crs::VN2000_UTM48N, FeatureId(1), None).unwrap_err();
        assert!(e.to_string().contains("--crs EPSG:N"), "{e}");
        let r = read_cityjson(
            &p,
            Crs::VN2000_UTM48N,
            FeatureId(1),
            Some(Crs::VN2000_UTM48N),
        )
        .unwrap();
        assert_eq!(r.features.len(), 1);
    }
}
