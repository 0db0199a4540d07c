//! Vector GIS files through GDAL: import of GeoJSON, Shapefile, GeoPackage (and any other
//! OGR vector format) into a layer, reprojected to the city's CRS and validated; GeoJSON
//! export (RFC 7946, WGS 84).

use crate::atomic::write_atomically;
use crate::crs::{Reprojector, epsg_of};
use crate::error::{IoError, Result};
use gdal::vector::{
    Feature as GFeature, FieldValue, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
    ToGdal,
};
use gdal::{Dataset, DatasetOptions, DriverManager, GdalOpenFlags};
use geo::{CoordsIter, Geometry, LineString};
use std::path::Path;
use twin_model::{AttrValue, City, Crs, Department, Feature, FeatureId, Layer};

/// Options of a vector import.
#[derive(Debug, Clone, Default)]
pub struct VectorImportOptions {
    /// CRS of the input when the file does not say (e.g. a Shapefile without `.prj`).
    pub src_crs: Option<Crs>,
    /// Kind given to features without a `kind` field; default: the file stem.
    pub kind: Option<String>,
}

fn ring_problem(r: &LineString<f64>) -> Option<String> {
    if r.0.len() < 4 {
        return Some(format!(
            "a polygon ring needs at least 4 positions, got {}",
            r.0.len()
        ));
    }
    if r.0.first() != r.0.last() {
        return Some("a polygon ring must be closed (first position = last)".into());
    }
    None
}

/// Structural validity: finite coordinates, lines with ≥ 2 positions, closed rings with ≥ 4.
pub fn geometry_problem(g: &Geometry<f64>) -> Option<String> {
    if g.coords_iter()
        .any(|c| !c.x.is_finite() || !c.y.is_finite())
    {
        return Some("non-finite coordinate".into());
    }
    match g {
        Geometry::Point(_) => None,
        Geometry::LineString(l) if l.0.len() < 2 => Some(format!(
            "a line needs at least 2 positions, got {}",
            l.0.len()
        )),
        Geometry::LineString(_) => None,
        Geometry::Polygon(p) => std::iter::once(p.exterior())
            .chain(p.interiors())
            .find_map(ring_problem),
        Geometry::MultiPoint(m) if m.0.is_empty() => Some("empty multipoint".into()),
        Geometry::MultiLineString(m) => {
            m.0.iter()
                .find_map(|l| geometry_problem(&Geometry::LineString(l.clone())))
        }
        Geometry::MultiPolygon(m) if m.0.is_empty() => Some("empty multipolygon".into()),
        Geometry::MultiPolygon(m) => {
            m.0.iter()
                .find_map(|p| geometry_problem(&Geometry::Polygon(p.clone())))
        }
        Geometry::GeometryCollection(c) => c.0.iter().find_map(geometry_problem),
        _ => None,
    }
}

fn attr_of(v: FieldValue) -> Option<AttrValue> {
    Some(match v {
        FieldValue::IntegerValue(i) => AttrValue::Int(i as i64),
        FieldValue::Integer64Value(i) => AttrValue::Int(i),
        FieldValue::RealValue(r) if r.is_finite() => AttrValue::Real(r),
        FieldValue::RealValue(_) => return None,
        FieldValue::StringValue(s) => AttrValue::Text(s),
        FieldValue::DateValue(d) => AttrValue::Text(d.to_string()),
        FieldValue::DateTimeValue(d) => AttrValue::Text(d.to_string()),
        other => AttrValue::Text(format!("{other:?}")),
    })
}

/// Reads every vector layer of a file into features for `layer`, reprojected to `target`.
/// Ids start at `first_id`. Any invalid feature fails the whole import with its index,
/// source id and field.
pub fn read_vector(
    path: &Path,
    layer: Layer,
    target: Crs,
    first_id: FeatureId,
    opts: &VectorImportOptions,
) -> Result<Vec<Feature>> {
    if !path.exists() {
        return Err(IoError::file(path, "no such file"));
    }
    crate::gdalmsg::capture();
    let ds = Dataset::open_ex(
        path,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
            ..Default::default()
        },
    )
    .map_err(|e| crate::gdalmsg::open_error(path, "a vector GIS file", e))?;
    let kind_default = opts.kind.clone().unwrap_or_else(|| {
        path.file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string()
    });
    let mut out = Vec::new();
    let mut next = first_id.0;
    for mut lyr in ds.layers() {
        let src = match (lyr.spatial_ref(), opts.src_crs) {
            (_, Some(c)) => c,
            (Some(s), None) => epsg_of(&s, &format!("{}, layer '{}'", path.display(), lyr.name()))?,
            (None, None) => {
                return Err(IoError::Crs {
                    context: format!("{}, layer '{}'", path.display(), lyr.name()),
                    crs: "(none)".into(),
                    msg: "the file does not say its CRS (for a Shapefile: no .prj); give it with --src-crs".into(),
                });
            }
        };
        let rp = Reprojector::new(src, target, &path.display().to_string())?;
        let names: Vec<String> = lyr.defn().fields().map(|f| f.name()).collect();
        for (i, g) in lyr.features().enumerate() {
            let n = i + 1;
            let loc = |field: &str| match g.fid() {
                Some(fid) => format!("feature {n} (fid {fid}), field '{field}'"),
                None => format!("feature {n}, field '{field}'"),
            };
            let geom = g.geometry().ok_or_else(|| {
                IoError::format(path, loc("geometry"), "missing or unreadable geometry")
            })?;
            let geom = geom.to_geo().map_err(|e| {
                IoError::format(path, loc("geometry"), format!("unsupported geometry: {e}"))
            })?;
            if let Some(p) = geometry_problem(&geom) {
                return Err(IoError::format(
                    path,
                    loc("geometry"),
                    format!("invalid geometry: {p}"),
                ));
            }
            let geom = rp
                .geometry(&geom)
                .map_err(|e| IoError::format(path, loc("geometry"), e.to_string()))?;
            let mut f = Feature::new(FeatureId(next), &kind_default, layer.default_owner(), geom);
            next += 1;
            for (k, name) in names.iter().enumerate() {
                let v = g
                    .field(k)
                    .map_err(|e| IoError::format(path, loc(name), e.to_string()))?;
                let Some(v) = v.and_then(attr_of) else {
                    continue;
                };
                match name.to_lowercase().as_str() {
                    "kind" => f.kind = v.as_str().map(str::to_string).unwrap_or(f.kind),
                    "name" => f.name = v.as_str().map(str::to_string),
                    "owner" => f.owner = v.as_str().map(Department::from_code).unwrap_or(f.owner),
                    "fid" | "geom" => {}
                    _ => {
                        f.attrs.insert(name.clone(), v);
                    }
                }
            }
            out.push(f);
        }
    }
    Ok(out)
}

/// Imports files into a layer of the city (ids after the layer's largest).
pub fn import_vector(
    city: &mut City,
    paths: &[&Path],
    layer: Layer,
    opts: &VectorImportOptions,
) -> Result<usize> {
    let mut all = Vec::new();
    let mut next = city.next_id(layer);
    for p in paths {
        let fs = read_vector(p, layer, city.crs, next, opts)?;
        next = FeatureId(next.0 + fs.len() as i64);
        all.extend(fs);
    }
    let n = all.len();
    city.layer_mut(layer).extend(all);
    Ok(n)
}

/// Writes one layer as RFC 7946 GeoJSON (WGS 84 longitude/latitude), atomically.
pub fn write_geojson(city: &City, layer: Layer, path: &Path) -> Result<()> {
    let l = city.layer(layer);
    let rp = Reprojector::new(city.crs, Crs::WGS84, &path.display().to_string())?;
    let schema = crate::gpkg::layer_schema(l.features());
    write_atomically(path, |tmp| {
        let drv = DriverManager::get_driver_by_name("GeoJSON")
            .map_err(|e| IoError::file(path, e.to_string()))?;
        let mut ds = drv
            .create_vector_only(tmp)
            .map_err(|e| IoError::file(path, format!("cannot create: {e}")))?;
        let srs = crate::crs::spatial_ref(Crs::WGS84, &path.display().to_string())?;
        let lyr = ds
            .create_layer(LayerOptions {
                name: layer.table_name(),
                srs: Some(&srs),
                ty: OGRwkbGeometryType::wkbUnknown,
                options: Some(&["RFC7946=YES", "WRITE_NAME=NO"]),
            })
            .map_err(|e| IoError::file(path, e.to_string()))?;
        let mut defs: Vec<(&str, u32)> = vec![
            ("id", OGRFieldType::OFTInteger64),
            ("kind", OGRFieldType::OFTString),
            ("name", OGRFieldType::OFTString),
            ("owner", OGRFieldType::OFTString),
        ];
        for (k, t) in &schema {
            // GeoJSON keeps booleans as the text "true" / "false".
            defs.push((k.as_str(), ogr_field_type(*t, false)));
        }
        lyr.create_defn_fields(&defs)
            .map_err(|e| IoError::file(path, e.to_string()))?;
        for f in l.features() {
            let loc = format!("layer {layer}, feature {}", f.id.0);
            let mut g =
                GFeature::new(lyr.defn()).map_err(|e| IoError::file(path, e.to_string()))?;
            let set = |g: &mut GFeature, i: usize, v: FieldValue| {
                g.set_field(i, &v)
                    .map_err(|e| IoError::file(path, format!("{loc}: {e}")))
            };
            set(&mut g, 0, FieldValue::Integer64Value(f.id.0))?;
            set(&mut g, 1, FieldValue::StringValue(f.kind.clone()))?;
            if let Some(n) = &f.name {
                set(&mut g, 2, FieldValue::StringValue(n.clone()))?;
            }
            set(
                &mut g,
                3,
                FieldValue::StringValue(f.owner.code().to_string()),
            )?;
            for (k, v) in &f.attrs {
                let i = defs.iter().position(|(n, _)| n == k).expect("schema field");
                let fv = match (schema[k], v) {
                    (twin_model::AttrType::Int, AttrValue::Int(x)) => {
                        FieldValue::Integer64Value(*x)
                    }
                    (twin_model::AttrType::Real, AttrValue::Real(x)) => FieldValue::RealValue(*x),
                    (_, AttrValue::Text(t)) => FieldValue::StringValue(t.clone()),
                    (_, AttrValue::Bool(b)) => FieldValue::StringValue(b.to_string()),
                    (_, AttrValue::Int(x)) => FieldValue::StringValue(x.to_string()),
                    (_, AttrValue::Real(x)) => FieldValue::StringValue(x.to_string()),
                };
                set(&mut g, i, fv)?;
            }
            let geom = rp
                .geometry(&f.geometry)?
                .to_gdal()
                .map_err(|e| IoError::file(path, format!("{loc}: {e}")))?;
            g.set_geometry(geom)
                .map_err(|e| IoError::file(path, format!("{loc}: {e}")))?;
            g.create(&lyr)
                .map_err(|e| IoError::file(path, format!("{loc}: {e}")))?;
        }
        ds.close().map_err(|e| IoError::file(path, e.to_string()))?;
        Ok(())
    })
}

/// The OGR field type that holds an attribute type: integers as 64-bit integers, reals as
/// reals, text as strings, and booleans as integers 0/1 (`bool_as_int`) or as text.
pub(crate) fn ogr_field_type(t: twin_model::AttrType, bool_as_int: bool) -> u32 {
    match t {
        twin_model::AttrType::Int => OGRFieldType::OFTInteger64,
        twin_model::AttrType::Bool if bool_as_int => OGRFieldType::OFTInteger64,
        twin_model::AttrType::Real => OGRFieldType::OFTReal,
        twin_model::AttrType::Bool | twin_model::AttrType::Text => OGRFieldType::OFTString,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn geojson_import_reprojects_and_keeps_attributes() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "hospitals.geojson",
            r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"name":"Bệnh viện Việt Đức","beds":1500,"rating":4.5},"geometry":{"type":"Point","coordinates":[105.8542,21.0285]}}]}"#,
        );
        let mut c = City::new("t", Crs::VN2000_UTM48N);
        let n = import_vector(
            &mut c,
            &[&p],
            Layer::PublicService,
            &VectorImportOptions::default(),
        )
        .unwrap();
        assert_eq!(n, 1);
        let f = &c.layer(Layer::PublicService).features()[0];
        assert_eq!(f.kind, "hospitals");
        assert_eq!(f.name.as_deref(), Some("Bệnh viện Việt Đức"));
        assert_eq!(f.attrs.get("beds"), Some(&AttrValue::Int(1500)));
        let Geometry::Point(pt) = f.geometry else {
            panic!()
        };
        assert!((pt.x() - 588565.36).abs() < 0.01 && (pt.y() - 2325647.34).abs() < 0.01);
        // Export and read back: same point in WGS 84.
        let out = d.path().join("ps.geojson");
        write_geojson(&c, Layer::PublicService, &out).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(
            text.contains("Bệnh viện Việt Đức") && text.contains("105.8542"),
            "{text}"
        );
    }

    #[test]
    fn invalid_geometry_names_file_feature_and_field() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "bad.geojson",
            r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"name":"ok"},"geometry":{"type":"Point","coordinates":[105.85,21.03]}},
          {"type":"Feature","id":7,"properties":{"name":"broken"},"geometry":{"type":"Polygon","coordinates":[[[105.85,21.03],[105.86,21.03]]]}}]}"#,
        );
        let mut c = City::new("t", Crs::VN2000_UTM48N);
        let e = import_vector(&mut c, &[&p], Layer::Green, &VectorImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad.geojson") && e.contains("feature 2") && e.contains("'geometry'"),
            "{e}"
        );
        assert!(
            c.layer(Layer::Green).is_empty(),
            "nothing is added on error"
        );
        let p = write(d.path(), "notjson.geojson", "{ this is not json");
        let e = import_vector(&mut c, &[&p], Layer::Green, &VectorImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("notjson.geojson"), "{e}");
    }

    #[test]
    fn shapefile_import_and_missing_prj() {
        use gdal::vector::{LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType};
        let d = tempfile::tempdir().unwrap();
        let make = |name: &str, with_srs: bool| {
            let p = d.path().join(name);
            let drv = gdal::DriverManager::get_driver_by_name("ESRI Shapefile").unwrap();
            let mut ds = drv.create_vector_only(&p).unwrap();
            let srs = crate::crs::spatial_ref(Crs::WGS84, "t").unwrap();
            {
                let lyr = ds
                    .create_layer(LayerOptions {
                        name: "trees",
                        srs: with_srs.then_some(&srs),
                        ty: OGRwkbGeometryType::wkbPoint,
                        options: Some(&["ENCODING=UTF-8"]),
                    })
                    .unwrap();
                lyr.create_defn_fields(&[("species", OGRFieldType::OFTString)])
                    .unwrap();
                let mut f = gdal::vector::Feature::new(lyr.defn()).unwrap();
                f.set_field_string(0, "sấu").unwrap();
                f.set_geometry(
                    gdal::vector::Geometry::from_wkt("POINT (105.8542 21.0285)").unwrap(),
                )
                .unwrap();
                f.create(&lyr).unwrap();
            }
            ds.close().unwrap();
            p
        };
        let good = make("trees.shp", true);
        let mut c = City::new("t", Crs::VN2000_UTM48N);
        import_vector(
            &mut c,
            &[&good],
            Layer::Green,
            &VectorImportOptions::default(),
        )
        .unwrap();
        let f = &c.layer(Layer::Green).features()[0];
        assert_eq!(f.text("species"), Some("sấu"));
        let Geometry::Point(pt) = f.geometry else {
            panic!()
        };
        assert!((pt.x() - 588565.36).abs() < 0.01);
        let bare = make("bare.shp", false);
        let e = import_vector(
            &mut c,
            &[&bare],
            Layer::Green,
            &VectorImportOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("bare.shp") && e.contains("--src-crs"), "{e}");
        let opts = VectorImportOptions {
            src_crs: Some(Crs::WGS84),
            kind: Some("street_tree".into()),
        };
        import_vector(&mut c, &[&bare], Layer::Green, &opts).unwrap();
        assert_eq!(c.layer(Layer::Green).len(), 2);
        assert_eq!(c.layer(Layer::Green).features()[1].kind, "street_tree");
    }
}
