//! The embedded default store: one GeoPackage holds a whole city.
//!
//! Layout: one table per layer (named [`Layer::table_name`], columns `fid`, `kind`, `name`,
//! `owner`, the layer's attributes, geometry `geom` in the city CRS); `twin_metadata`
//! (key, value: city name, CRS, layer names and owners, `synthetic` …); `twin_fields` (layer,
//! field, type: the typed attribute schema, so ints, reals, text and booleans come back as they
//! went in); `twin_state` (layer, feature_id, t, quantity, value: time-stamped 4D state); and the DEM as
//! the Float32 raster table `dem` (GeoPackage tiled gridded coverage).

use crate::atomic::write_atomically;
use crate::crs::{epsg_of, spatial_ref};
use crate::error::{IoError, Result};
use gdal::vector::{
    Feature as GFeature, FieldValue, LayerAccess, LayerOptions, OGRFieldType, OGRwkbGeometryType,
    ToGdal,
};
use gdal::{Dataset, DatasetOptions, DriverManager, GdalOpenFlags};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use twin_model::{
    AttrType, AttrValue, City, Crs, Department, Feature, FeatureId, FeatureKey, Layer,
};

pub(crate) const META: &str = "twin_metadata";
pub(crate) const FIELDS: &str = "twin_fields";
pub(crate) const STATE: &str = "twin_state";
const DEM: &str = "dem";

fn gerr(path: &Path, what: impl std::fmt::Display, e: impl std::fmt::Display) -> IoError {
    IoError::file(path, format!("{what}: {e}"))
}

/// The attribute schema of a layer: each key's type; keys seen with several types become text.
pub fn layer_schema(features: &[Feature]) -> BTreeMap<String, AttrType> {
    let mut s: BTreeMap<String, AttrType> = BTreeMap::new();
    for f in features {
        for (k, v) in &f.attrs {
            let t = v.attr_type();
            s.entry(k.clone())
                .and_modify(|e| {
                    if *e != t {
                        *e = AttrType::Text
                    }
                })
                .or_insert(t);
        }
    }
    s
}

pub(crate) fn check_fields(city: &City, path: &Path) -> Result<()> {
    for l in city.layers() {
        let mut seen: HashMap<String, String> = HashMap::new();
        for r in twin_model::RESERVED_FIELDS {
            seen.insert(r.to_string(), r.to_string());
        }
        for f in l.features() {
            if f.id.0 <= 0 {
                return Err(IoError::format(
                    path,
                    format!("layer {}, feature {}", l.layer(), f.id.0),
                    "feature ids must be positive",
                ));
            }
            for k in f.attrs.keys() {
                let low = k.to_lowercase();
                match seen.get(&low) {
                    Some(prev)
                        if prev != k || twin_model::RESERVED_FIELDS.contains(&k.as_str()) =>
                    {
                        return Err(IoError::format(
                            path,
                            format!("layer {}, feature {}, field '{k}'", l.layer(), f.id.0),
                            format!(
                                "clashes with field '{prev}' (field names are case-insensitive and must not be reserved)"
                            ),
                        ));
                    }
                    _ => {
                        seen.insert(low, k.clone());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Writes the whole city to a GeoPackage, atomically: on error nothing is left at `path` and
/// an existing file there is untouched.
pub fn write_city(city: &City, path: &Path) -> Result<()> {
    check_fields(city, path)?;
    write_atomically(path, |tmp| write_into(city, tmp, path))
}

fn set_fid(f: &GFeature, id: i64) {
    // SAFETY: the handle is valid for the life of `f`; OGR_F_SetFID only stores the integer.
    unsafe {
        gdal_sys::OGR_F_SetFID(f.c_feature(), id);
    }
}

fn write_into(city: &City, tmp: &Path, path: &Path) -> Result<()> {
    let drv =
        DriverManager::get_driver_by_name("GPKG").map_err(|e| gerr(path, "GPKG driver", e))?;
    let mut ds = drv
        .create_vector_only(tmp)
        .map_err(|e| gerr(path, "cannot create", e))?;
    {
        let mut txn = ds
            .start_transaction()
            .map_err(|e| gerr(path, "transaction", e))?;
        write_tables(city, &mut txn, path, &[], Vec::new(), false)?;
        txn.commit().map_err(|e| gerr(path, "commit", e))?;
    }
    ds.close().map_err(|e| gerr(path, "close", e))?;
    if let Some(dem) = &city.dem {
        let mem =
            DriverManager::get_driver_by_name("MEM").map_err(|e| gerr(path, "MEM driver", e))?;
        let mut m = mem
            .create_with_band_type::<f32, _>("", dem.nx, dem.ny, 1)
            .map_err(|e| gerr(path, "DEM", e))?;
        crate::raster::fill_dataset(&mut m, dem, city.crs, path)?;
        let gpkg =
            DriverManager::get_driver_by_name("GPKG").map_err(|e| gerr(path, "GPKG driver", e))?;
        let opts = gdal::raster::RasterCreationOptions::from_iter([
            "APPEND_SUBDATASET=YES",
            &format!("RASTER_TABLE={DEM}"),
            "RASTER_DESCRIPTION=Digital elevation model (m)",
        ]);
        let out = m
            .create_copy(&gpkg, tmp, &opts)
            .map_err(|e| gerr(path, "cannot store DEM", e))?;
        out.close().map_err(|e| gerr(path, "close DEM", e))?;
    }
    Ok(())
}

/// Writes the layer tables, `twin_metadata` (with `extra_meta` rows), `twin_fields` and
/// `twin_state` into an open vector dataset (the caller holds the transaction). `opts` are
/// added to every table's creation options (the store's own: PostgreSQL's `LAUNDER=NO` …);
/// errors name `path` (the store as the user gave it), the layer, the feature and the field.
///
/// With `reals_as_text`, real values go in as text columns holding each value's shortest
/// exact decimal (a driver that prints reals itself may round them: GDAL's PostgreSQL driver
/// keeps 15 digits); the `(table, column)` pairs written so are returned, for the caller to
/// turn into real columns in the store.
pub(crate) fn write_tables(
    city: &City,
    ds: &mut Dataset,
    path: &Path,
    opts: &[&str],
    extra_meta: Vec<(String, String)>,
    reals_as_text: bool,
) -> Result<Vec<(String, String)>> {
    let mut text_reals: Vec<(String, String)> = Vec::new();
    let real_type = if reals_as_text {
        OGRFieldType::OFTString
    } else {
        OGRFieldType::OFTReal
    };
    let srs = spatial_ref(city.crs, &path.display().to_string())?;
    let mut field_rows: Vec<(String, String, String)> = Vec::new();
    for l in city.layers() {
        let schema = layer_schema(l.features());
        let description = format!(
            "DESCRIPTION={} / {}",
            l.layer().name_en(),
            l.layer().name_vi()
        );
        let mut layer_opts = vec!["FID=fid", "GEOMETRY_NAME=geom", &description];
        layer_opts.extend_from_slice(opts);
        let lyr = ds
            .create_layer(LayerOptions {
                name: l.layer().table_name(),
                srs: Some(&srs),
                ty: OGRwkbGeometryType::wkbUnknown,
                options: Some(&layer_opts),
            })
            .map_err(|e| gerr(path, format!("create table {}", l.layer()), e))?;
        let mut defs: Vec<(&str, u32)> = vec![
            ("kind", OGRFieldType::OFTString),
            ("name", OGRFieldType::OFTString),
            ("owner", OGRFieldType::OFTString),
        ];
        for (k, t) in &schema {
            if *t == AttrType::Real && reals_as_text {
                defs.push((k.as_str(), real_type));
                text_reals.push((l.layer().table_name().to_string(), k.clone()));
            } else {
                defs.push((k.as_str(), crate::gis::ogr_field_type(*t, true)));
            }
            field_rows.push((
                l.layer().table_name().to_string(),
                k.clone(),
                t.name().to_string(),
            ));
        }
        lyr.create_defn_fields(&defs)
            .map_err(|e| gerr(path, format!("fields of {}", l.layer()), e))?;
        let idx: HashMap<&str, usize> =
            defs.iter().enumerate().map(|(i, (n, _))| (*n, i)).collect();
        for f in l.features() {
            let loc = || format!("layer {}, feature {}", l.layer(), f.id.0);
            let mut g = GFeature::new(lyr.defn()).map_err(|e| gerr(path, loc(), e))?;
            set_fid(&g, f.id.0);
            g.set_field_string(0, &f.kind)
                .map_err(|e| gerr(path, loc(), e))?;
            if let Some(n) = &f.name {
                g.set_field_string(1, n).map_err(|e| gerr(path, loc(), e))?;
            }
            g.set_field_string(2, f.owner.code())
                .map_err(|e| gerr(path, loc(), e))?;
            for (k, v) in &f.attrs {
                let i = idx[k.as_str()];
                let r = match (schema[k], v) {
                    (AttrType::Text, v) => g.set_field_string(i, &text_of(v)),
                    (_, AttrValue::Real(x)) if reals_as_text => g.set_field_string(i, &text_of(v)),
                    (_, AttrValue::Int(x)) => g.set_field_integer64(i, *x),
                    (_, AttrValue::Bool(b)) => g.set_field_integer64(i, *b as i64),
                    (_, AttrValue::Real(x)) => g.set_field_double(i, *x),
                    (_, AttrValue::Text(t)) => g.set_field_string(i, t),
                };
                r.map_err(|e| gerr(path, format!("{}, field '{k}'", loc()), e))?;
            }
            let geom = f.geometry.to_gdal().map_err(|e| {
                IoError::format(path, format!("{}, field 'geometry'", loc()), e.to_string())
            })?;
            g.set_geometry(geom).map_err(|e| gerr(path, loc(), e))?;
            g.create(&lyr)
                .map_err(|e| gerr(path, format!("{}: cannot store", loc()), e))?;
        }
    }
    // Metadata, schema and state tables.
    let mut meta: Vec<(String, String)> = vec![
        ("name".into(), city.name.clone()),
        ("crs".into(), city.crs.code()),
        ("format".into(), "twin-city-gpkg/1".into()),
    ];
    for (k, v) in &city.metadata {
        meta.push((format!("meta.{k}"), v.clone()));
    }
    for l in Layer::ALL {
        meta.push((
            format!("layer.{}.name_vi", l.table_name()),
            l.name_vi().into(),
        ));
        meta.push((
            format!("layer.{}.name_en", l.table_name()),
            l.name_en().into(),
        ));
        meta.push((
            format!("layer.{}.owner", l.table_name()),
            l.default_owner().code().into(),
        ));
    }
    meta.extend(extra_meta);
    write_table(
        ds,
        META,
        &[
            ("key", OGRFieldType::OFTString),
            ("value", OGRFieldType::OFTString),
        ],
        meta.into_iter()
            .map(|(k, v)| vec![FieldValue::StringValue(k), FieldValue::StringValue(v)]),
        opts,
        path,
    )?;
    write_table(
        ds,
        FIELDS,
        &[
            ("layer", OGRFieldType::OFTString),
            ("field", OGRFieldType::OFTString),
            ("type", OGRFieldType::OFTString),
        ],
        field_rows.into_iter().map(|(a, b, c)| {
            vec![
                FieldValue::StringValue(a),
                FieldValue::StringValue(b),
                FieldValue::StringValue(c),
            ]
        }),
        opts,
        path,
    )?;
    write_table(
        ds,
        STATE,
        &[
            ("layer", OGRFieldType::OFTString),
            ("feature_id", OGRFieldType::OFTInteger64),
            ("t", OGRFieldType::OFTInteger64),
            ("quantity", OGRFieldType::OFTString),
            ("value", real_type),
        ],
        city.state().iter().map(|s| {
            vec![
                FieldValue::StringValue(s.key.layer.table_name().into()),
                FieldValue::Integer64Value(s.key.id.0),
                FieldValue::Integer64Value(s.t),
                FieldValue::StringValue(s.quantity.clone()),
                if reals_as_text {
                    FieldValue::StringValue(s.value.to_string())
                } else {
                    FieldValue::RealValue(s.value)
                },
            ]
        }),
        opts,
        path,
    )?;
    if reals_as_text && !city.state().is_empty() {
        text_reals.push((STATE.to_string(), "value".to_string()));
    }
    Ok(text_reals)
}

fn text_of(v: &AttrValue) -> String {
    match v {
        AttrValue::Int(i) => i.to_string(),
        AttrValue::Real(r) => r.to_string(),
        AttrValue::Text(t) => t.clone(),
        AttrValue::Bool(b) => b.to_string(),
    }
}

/// A table without geometry: `fields`, then one row per item of `rows`.
pub(crate) fn write_table(
    ds: &mut Dataset,
    name: &str,
    fields: &[(&str, u32)],
    rows: impl Iterator<Item = Vec<FieldValue>>,
    opts: &[&str],
    path: &Path,
) -> Result<()> {
    let lyr = ds
        .create_layer(LayerOptions {
            name,
            srs: None,
            ty: OGRwkbGeometryType::wkbNone,
            options: Some(opts),
        })
        .map_err(|e| gerr(path, format!("create table {name}"), e))?;
    lyr.create_defn_fields(fields)
        .map_err(|e| gerr(path, format!("fields of {name}"), e))?;
    for row in rows {
        let mut f = GFeature::new(lyr.defn()).map_err(|e| gerr(path, name, e))?;
        for (i, v) in row.iter().enumerate() {
            f.set_field(i, v).map_err(|e| gerr(path, name, e))?;
        }
        f.create(&lyr).map_err(|e| gerr(path, name, e))?;
    }
    Ok(())
}

fn open(path: &Path) -> Result<Dataset> {
    if !path.exists() {
        return Err(IoError::file(path, "no such file"));
    }
    crate::gdalmsg::capture();
    Dataset::open_ex(
        path,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
            allowed_drivers: Some(&["GPKG"]),
            ..Default::default()
        },
    )
    .map_err(|e| crate::gdalmsg::open_error(path, "a GeoPackage city", e))
}

pub(crate) fn read_rows(
    ds: &Dataset,
    name: &str,
    path: &Path,
) -> Result<Vec<Vec<Option<FieldValue>>>> {
    let mut lyr = match ds.layer_by_name(name) {
        Ok(l) => l,
        Err(_) => return Ok(Vec::new()),
    };
    let n = lyr.defn().fields().count();
    let mut out = Vec::new();
    for f in lyr.features() {
        let mut row = Vec::with_capacity(n);
        for i in 0..n {
            row.push(
                f.field(i)
                    .map_err(|e| gerr(path, format!("table {name}"), e))?,
            );
        }
        out.push(row);
    }
    Ok(out)
}

pub(crate) fn as_string(v: &Option<FieldValue>) -> Option<String> {
    match v {
        Some(FieldValue::StringValue(s)) => Some(s.clone()),
        Some(FieldValue::Integer64Value(i)) => Some(i.to_string()),
        Some(FieldValue::IntegerValue(i)) => Some(i.to_string()),
        Some(FieldValue::RealValue(r)) => Some(r.to_string()),
        _ => None,
    }
}

/// Reads a city written by [`write_city`]. Tables of other layers are ignored; a GeoPackage
/// missing `twin_metadata` is read with CRS from its layers and attribute types from OGR.
pub fn read_city(path: &Path) -> Result<City> {
    let ds = open(path)?;
    let stem = path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let (mut city, _) = read_tables(&ds, path, &stem)?;
    drop(ds);
    // The DEM raster table, if present.
    let sub = format!("GPKG:{}:{DEM}", path.display());
    if let Ok(rds) = Dataset::open_ex(
        &sub,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_RASTER | GdalOpenFlags::GDAL_OF_READONLY,
            ..Default::default()
        },
    ) {
        let g = crate::raster::read_dataset(&rds, path)?;
        city.dem = Some(g.raster);
    }
    Ok(city)
}

/// The city in an open vector dataset's tables (no DEM), and its `twin_metadata` rows: what
/// [`write_tables`] wrote. `path` names the store in errors; `fallback_name` names a city whose
/// metadata has none. Features come in id order in every layer, whatever order the store
/// returns them in.
pub(crate) fn read_tables(
    ds: &Dataset,
    path: &Path,
    fallback_name: &str,
) -> Result<(City, BTreeMap<String, String>)> {
    let meta: BTreeMap<String, String> = read_rows(ds, META, path)?
        .into_iter()
        .filter_map(|r| Some((as_string(r.first()?)?, as_string(r.get(1)?)?)))
        .collect();
    let mut schema: HashMap<(String, String), AttrType> = HashMap::new();
    for r in read_rows(ds, FIELDS, path)? {
        if let (Some(l), Some(f), Some(t)) = (
            as_string(&r[0]),
            as_string(&r[1]),
            as_string(&r[2]).and_then(|t| AttrType::parse(&t)),
        ) {
            schema.insert((l, f), t);
        }
    }
    let mut crs = meta.get("crs").and_then(|c| Crs::parse(c));
    let name = meta
        .get("name")
        .cloned()
        .unwrap_or_else(|| fallback_name.to_string());
    let mut layers: Vec<(Layer, Vec<Feature>)> = Vec::new();
    for l in Layer::ALL {
        let Ok(mut lyr) = ds.layer_by_name(l.table_name()) else {
            continue;
        };
        if crs.is_none()
            && let Some(s) = lyr.spatial_ref()
        {
            crs = Some(epsg_of(&s, &path.display().to_string())?);
        }
        let names: Vec<String> = lyr.defn().fields().map(|f| f.name()).collect();
        let mut feats = Vec::new();
        for g in lyr.features() {
            let fid = g.fid().unwrap_or(0) as i64;
            let loc = || format!("table {}, feature {fid}", l.table_name());
            let geom = match g.geometry() {
                Some(x) => x.to_geo().map_err(|e| {
                    IoError::format(path, format!("{}, field 'geom'", loc()), e.to_string())
                })?,
                None => {
                    return Err(IoError::format(
                        path,
                        format!("{}, field 'geom'", loc()),
                        "missing geometry",
                    ));
                }
            };
            let mut f = Feature::new(FeatureId(fid), "", l.default_owner(), geom);
            for (i, fname) in names.iter().enumerate() {
                let v = g.field(i).map_err(|e| gerr(path, loc(), e))?;
                let Some(v) = v else { continue };
                match fname.as_str() {
                    "kind" => f.kind = as_string(&Some(v)).unwrap_or_default(),
                    "name" => f.name = as_string(&Some(v)),
                    "owner" => {
                        f.owner = Department::from_code(&as_string(&Some(v)).unwrap_or_default())
                    }
                    _ => {
                        let t = schema
                            .get(&(l.table_name().to_string(), fname.clone()))
                            .copied();
                        let av = match (t, v) {
                            (Some(AttrType::Bool), FieldValue::Integer64Value(i)) => {
                                AttrValue::Bool(i != 0)
                            }
                            (Some(AttrType::Bool), FieldValue::IntegerValue(i)) => {
                                AttrValue::Bool(i != 0)
                            }
                            (_, FieldValue::Integer64Value(i)) => AttrValue::Int(i),
                            (_, FieldValue::IntegerValue(i)) => AttrValue::Int(i as i64),
                            (_, FieldValue::RealValue(r)) => AttrValue::Real(r),
                            (_, FieldValue::StringValue(s)) => AttrValue::Text(s),
                            (_, other) => AttrValue::Text(format!("{other:?}")),
                        };
                        f.attrs.insert(fname.clone(), av);
                    }
                }
            }
            feats.push(f);
        }
        feats.sort_by_key(|f| f.id.0);
        layers.push((l, feats));
    }
    let crs = crs
        .ok_or_else(|| IoError::format(path, "metadata", "no CRS recorded and no layer has one"))?;
    let mut city = City::new(&name, crs);
    for (k, v) in &meta {
        if let Some(k) = k.strip_prefix("meta.") {
            city.metadata.insert(k.to_string(), v.clone());
        }
    }
    for (l, feats) in layers {
        city.layer_mut(l).extend(feats);
    }
    for r in read_rows(ds, STATE, path)? {
        let layer = as_string(&r[0]).and_then(|t| Layer::parse(&t));
        let num = |v: &Option<FieldValue>| match v {
            Some(FieldValue::Integer64Value(i)) => Some(*i),
            Some(FieldValue::IntegerValue(i)) => Some(*i as i64),
            _ => None,
        };
        if let (Some(layer), Some(fid), Some(t), Some(q), Some(FieldValue::RealValue(v))) =
            (layer, num(&r[1]), num(&r[2]), as_string(&r[3]), &r[4])
        {
            city.record_state(
                FeatureKey {
                    layer,
                    id: FeatureId(fid),
                },
                t,
                &q,
                *v,
            );
        }
    }
    Ok((city, meta))
}
