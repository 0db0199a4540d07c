//! `twin import …` and `twin export …`: files into a city and a city's layers and DEM out.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use twin_model::{City, Crs};

use crate::{ExportCmd, ImportCmd, info_text, load, parse_crs, parse_layer, save, step};

/// The city in `out` if it exists, else a new one named after the file in `crs` or, without
/// one, in the CRS `default` chooses.
fn open_or_new(
    out: &Path,
    crs: Option<&str>,
    default: impl FnOnce() -> Result<Crs>,
) -> Result<City> {
    if out.exists() {
        return load(out);
    }
    let c = match crs {
        Some(s) => parse_crs(s)?,
        None => default()?,
    };
    Ok(City::new(
        &out.file_stem().unwrap_or_default().to_string_lossy(),
        c,
    ))
}

/// What a building file brought in and left out.
pub(crate) struct Read3d {
    what: String,
    features: Vec<twin_model::Feature>,
    crs: Crs,
    skipped: std::collections::BTreeMap<String, usize>,
    without_geometry: usize,
    from_floor: usize,
    /// What else to tell about the file, a line each.
    notes: Vec<String>,
}

impl From<twin_io::cityjson::CityJsonImport> for Read3d {
    fn from(r: twin_io::cityjson::CityJsonImport) -> Read3d {
        Read3d {
            what: format!("CityJSON {}", r.version),
            features: r.features,
            crs: r.source_crs,
            skipped: r.skipped,
            without_geometry: r.without_geometry,
            from_floor: 0,
            notes: Vec::new(),
        }
    }
}

impl From<twin_io::citygml::CityGmlImport> for Read3d {
    fn from(r: twin_io::citygml::CityGmlImport) -> Read3d {
        Read3d {
            what: "CityGML".into(),
            features: r.features,
            crs: r.source_crs,
            skipped: r.skipped,
            without_geometry: r.without_geometry,
            from_floor: r.footprint_from_floor,
            notes: Vec::new(),
        }
    }
}

fn counted(m: &std::collections::BTreeMap<String, usize>) -> String {
    let list: Vec<String> = m.iter().map(|(k, n)| format!("{n} {k}")).collect();
    list.join(", ")
}

impl From<twin_io::ifc::IfcImport> for Read3d {
    fn from(r: twin_io::ifc::IfcImport) -> Read3d {
        let mut notes = vec![format!(
            "note: placed by {}; length unit {} m",
            r.placed_by, r.length_unit_m
        )];
        if !r.skipped.is_empty() {
            notes.push(format!(
                "warning: not imported (only the building shell is): {}",
                counted(&r.skipped)
            ));
        }
        if !r.geometry_not_read.is_empty() {
            notes.push(format!(
                "warning: shell elements whose geometry is of a kind not read: {}",
                counted(&r.geometry_not_read)
            ));
        }
        if r.clipped > 0 {
            notes.push(format!(
                "note: {} element(s) read without their boolean cut (their top is an upper bound)",
                r.clipped
            ));
        }
        Read3d {
            what: format!("IFC {}", r.schema),
            features: r.features,
            crs: r.source_crs,
            skipped: Default::default(),
            without_geometry: r.without_geometry,
            from_floor: 0,
            notes,
        }
    }
}

/// `--at lon,lat`.
fn parse_at(s: &str) -> Result<(f64, f64)> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("--at {s}: expected LON,LAT in degrees, e.g. 105.85,21.03"))?;
    match v[..] {
        [lon, lat] if lon.abs() <= 180.0 && lat.abs() <= 90.0 => Ok((lon, lat)),
        _ => bail!("--at {s}: expected LON,LAT in degrees (longitude first), e.g. 105.85,21.03"),
    }
}

/// `twin import cityjson|citygml|ifc`: the buildings of each file into the Building layer of the
/// city in `--out` (created in `--crs`, or the first file's own CRS), with what was left out
/// said.
fn import_buildings(
    b: crate::BuildingFiles,
    label: &str,
    read: impl Fn(&Path, Crs, twin_model::FeatureId, Option<Crs>) -> Result<Read3d>,
) -> Result<()> {
    let (files, out) = (&b.files, b.out.as_path());
    let assume = b.src_crs.as_deref().map(parse_crs).transpose()?;
    let mut city = open_or_new(out, b.crs.crs.as_deref(), || {
        Ok(read(&files[0], Crs::WGS84, twin_model::FeatureId(1), assume)?.crs)
    })?;
    let reads = step(
        &format!("importing {} {label} file(s) / nhập {label}", files.len()),
        || read_models(&city, files, |p, first| read(p, city.crs, first, assume)),
    )?;
    add_building_models(&mut city, files, reads, None);
    save(&city, out)?;
    println!("{}", info_text(&city));
    Ok(())
}

/// Reads building model files one after the other, numbering their features from the
/// Building layer's next id.
fn read_models(
    city: &City,
    files: &[PathBuf],
    read: impl Fn(&Path, twin_model::FeatureId) -> Result<Read3d>,
) -> Result<Vec<Read3d>> {
    let mut next = city.next_id(twin_model::Layer::Building);
    let mut v = Vec::new();
    for f in files {
        let r = read(f, next)?;
        next = twin_model::FeatureId(next.0 + r.features.len() as i64);
        v.push(r);
    }
    Ok(v)
}

/// Building model files for `twin city build --buildings`, each read by its kind (CityJSON
/// `.json`, CityGML `.gml` or `.xml`, IFC `.ifc`) into the city's CRS; an IFC file must place
/// itself (IfcMapConversion or its site's latitude and longitude).
pub(crate) fn read_building_models(
    city: &City,
    files: &[PathBuf],
    assume: Option<Crs>,
) -> Result<Vec<Read3d>> {
    read_models(city, files, |p, first| {
        let ext = p
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        Ok(match ext.as_str() {
            "json" | "cityjson" => {
                twin_io::cityjson::read_cityjson(p, city.crs, first, assume)?.into()
            }
            "gml" | "xml" | "citygml" => {
                twin_io::citygml::read_citygml(p, city.crs, first, assume)?.into()
            }
            "ifc" => twin_io::ifc::read_ifc(
                p,
                city.crs,
                first,
                &twin_io::ifc::IfcPlacement::default(),
                assume,
            )?
            .into(),
            _ => bail!(
                "{}: not a building model this reads (CityJSON .json, CityGML .gml/.xml, IFC .ifc)",
                p.display()
            ),
        })
    })
}

/// Adds what building model files brought into the Building layer, saying per file what was
/// read and left out. A building the city already holds (from OpenStreetMap, or an earlier
/// import of the same model) with a point of its footprint inside an imported building's
/// footprint is that building: the model replaces it rather than standing beside it. With
/// `area`, buildings of the models lying wholly outside it are left out, counted and said.
/// Returns the buildings added.
pub(crate) fn add_building_models(
    city: &mut City,
    files: &[PathBuf],
    mut reads: Vec<Read3d>,
    area: Option<[[f64; 2]; 2]>,
) -> usize {
    use geo::{BoundingRect, Contains, InteriorPoint};
    for (f, r) in files.iter().zip(reads.iter_mut()) {
        eprintln!(
            "  {}: {}, {} building(s) from {}",
            f.display(),
            r.what,
            r.features.len(),
            r.crs.code()
        );
        if r.without_geometry > 0 {
            eprintln!(
                "  note: {} building(s) without a geometry of their own (described by their parts)",
                r.without_geometry
            );
        }
        if r.from_floor > 0 {
            eprintln!(
                "  warning: {} building(s) have no ground surface: their footprint is their floor surface",
                r.from_floor
            );
        }
        if !r.skipped.is_empty() {
            eprintln!(
                "  warning: not imported (only buildings are): {}",
                counted(&r.skipped)
            );
        }
        for n in &r.notes {
            eprintln!("  {n}");
        }
        if let Some([[x0, y0], [x1, y1]]) = area {
            let before = r.features.len();
            r.features.retain(|b| {
                b.geometry.bounding_rect().is_some_and(|b| {
                    b.max().x >= x0 && b.min().x <= x1 && b.max().y >= y0 && b.min().y <= y1
                })
            });
            let out = before - r.features.len();
            if out > 0 {
                eprintln!(
                    "⚠ {}: {out} building(s) lie outside the model area: left out / nằm ngoài vùng mô hình, không nhập",
                    f.display()
                );
            }
        }
    }
    let replaced = {
        let layer = city.layer(twin_model::Layer::Building);
        let mut ids = std::collections::BTreeSet::new();
        for g in reads
            .iter()
            .flat_map(|r| r.features.iter().map(|f| &f.geometry))
        {
            let Some(b) = g.bounding_rect() else { continue };
            for f in layer.query_bbox([b.min().x, b.min().y], [b.max().x, b.max().y]) {
                if f.geometry.interior_point().is_some_and(|c| g.contains(&c)) {
                    ids.insert(f.id);
                }
            }
        }
        ids
    };
    if !replaced.is_empty() {
        eprintln!(
            "  {} building(s) already in the city stood where the imported ones stand: replaced by them / thay bằng công trình nhập",
            replaced.len()
        );
    }
    let layer = city.layer_mut(twin_model::Layer::Building);
    for id in &replaced {
        layer.remove(*id);
    }
    let mut added = 0;
    for r in reads {
        added += r.features.len();
        city.layer_mut(twin_model::Layer::Building)
            .extend(r.features);
    }
    added
}

/// `twin import …`.
pub(crate) fn import(cmd: ImportCmd) -> Result<()> {
    match cmd {
        ImportCmd::Osm {
            file,
            out,
            crs,
            name,
        } => {
            let opts = twin_io::osm::OsmImportOptions {
                crs: crs.crs.as_deref().map(parse_crs).transpose()?,
                name,
            };
            let (city, rep) = step(&format!("importing {}", file.display()), || {
                Ok(twin_io::osm::import_osm(&file, &opts)?)
            })?;
            for (why, n) in &rep.skipped {
                eprintln!("  note: {n} × {why}");
            }
            save(&city, &out)?;
            println!("{}", info_text(&city));
        }
        ImportCmd::Gis {
            files,
            layer,
            out,
            src_crs,
            kind,
            crs,
        } => {
            let layer = parse_layer(&layer)?;
            let opts = twin_io::gis::VectorImportOptions {
                src_crs: src_crs.as_deref().map(parse_crs).transpose()?,
                kind,
            };
            let mut city = open_or_new(&out, crs.crs.as_deref(), || {
                let probe = twin_io::gis::read_vector(
                    &files[0],
                    layer,
                    Crs::WGS84,
                    twin_model::FeatureId(1),
                    &opts,
                )?;
                let (mut lon, mut lat): (Vec<f64>, Vec<f64>) = probe
                    .iter()
                    .filter_map(|f| f.bbox())
                    .map(|b| (0.5 * (b[0][0] + b[1][0]), 0.5 * (b[0][1] + b[1][1])))
                    .unzip();
                if lon.is_empty() {
                    bail!(
                        "{}: no features to choose a CRS from; give --crs",
                        files[0].display()
                    );
                }
                lon.sort_by(f64::total_cmp);
                lat.sort_by(f64::total_cmp);
                Ok(Crs::metric_for(lon[lon.len() / 2], lat[lat.len() / 2]))
            })?;
            let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
            let n = step(
                &format!("importing {} file(s) into {}", files.len(), layer),
                || {
                    Ok(twin_io::gis::import_vector(
                        &mut city, &paths, layer, &opts,
                    )?)
                },
            )?;
            eprintln!("  {n} features added to {layer}");
            save(&city, &out)?;
            println!("{}", info_text(&city));
        }
        ImportCmd::Cityjson(b) => import_buildings(b, "CityJSON", |p, to, first, assume| {
            Ok(twin_io::cityjson::read_cityjson(p, to, first, assume)?.into())
        })?,
        ImportCmd::Citygml(b) => import_buildings(b, "CityGML", |p, to, first, assume| {
            Ok(twin_io::citygml::read_citygml(p, to, first, assume)?.into())
        })?,
        ImportCmd::Ifc {
            files,
            at,
            rotation_deg,
        } => {
            let place = twin_io::ifc::IfcPlacement {
                at: at.as_deref().map(parse_at).transpose()?,
                rotation_deg,
            };
            import_buildings(files, "IFC", |p, to, first, assume| {
                Ok(twin_io::ifc::read_ifc(p, to, first, &place, assume)?.into())
            })?
        }
        ImportCmd::Dem { file, out, cell } => {
            let mut city = load(&out)?;
            let dem = step(
                &format!("reprojecting {} onto {}", file.display(), city.crs.code()),
                || {
                    let src = twin_io::raster::read_raster(&file)?;
                    Ok(twin_io::raster::reproject_raster(&src, city.crs, cell)?)
                },
            )?;
            city.dem = Some(dem);
            save(&city, &out)?;
            println!("{}", info_text(&city));
        }
    }
    Ok(())
}

/// `twin export …`.
pub(crate) fn export(cmd: ExportCmd) -> Result<()> {
    match cmd {
        ExportCmd::Geojson { city, layer, out } => {
            let layer = parse_layer(&layer)?;
            let c = load(&city)?;
            step(&format!("writing {}", out.display()), || {
                Ok(twin_io::gis::write_geojson(&c, layer, &out)?)
            })?;
        }
        ExportCmd::Inp {
            city,
            rain,
            minutes,
            out,
        } => {
            let rain = twin_io::rain::read_rain_csv(&rain)?;
            let c = load(&city)?;
            let text = twin_io::swmm::city_to_inp(&c, &rain, minutes)
                .with_context(|| city.display().to_string())?;
            twin_io::atomic::write_text(&out, &text)?;
            eprintln!("✓ wrote {}", out.display());
        }
        ExportCmd::Cityjson { city, out } => {
            let c = load(&city)?;
            let r = step(&format!("writing {}", out.display()), || {
                Ok(twin_io::cityjson_write::write_cityjson(&c, &city, &out)?)
            })?;
            eprintln!(
                "  {}: CityJSON 2.0 in {}, {} building(s): {} from their 3D surfaces, {} LOD1 \
                 solid(s) from footprint and height, {} footprint(s) only (LOD0)",
                out.display(),
                c.crs.code(),
                r.written,
                r.from_surfaces,
                r.extruded,
                r.footprint_only.len()
            );
            let named = |v: &[String]| {
                let shown: Vec<&str> = v.iter().take(5).map(String::as_str).collect();
                let more = v.len().saturating_sub(shown.len());
                let tail = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                format!("{}{tail}", shown.join("; "))
            };
            if r.base_from_dem > 0 {
                eprintln!(
                    "  note: {} building(s) without base_m stand on the DEM",
                    r.base_from_dem
                );
            }
            for (v, what) in [
                (
                    &r.not_written,
                    "not written (no footprint polygon and no 3D surfaces)",
                ),
                (
                    &r.footprint_only,
                    "written as footprints only (LOD0): no height_m",
                ),
                (
                    &r.base_zero,
                    "based at 0 m: no base_m and no DEM under them",
                ),
                (
                    &r.empty_geometry,
                    "written without geometry: it collapses at 1 mm",
                ),
            ] {
                if !v.is_empty() {
                    eprintln!("  warning: {} building(s) {what}: {}", v.len(), named(v));
                }
            }
            if r.degenerate_surfaces > 0 {
                eprintln!(
                    "  warning: {} stored surface(s) left out: fewer than 3 vertices at 1 mm",
                    r.degenerate_surfaces
                );
            }
        }
        ExportCmd::Dem { city, out } => {
            let c = load(&city)?;
            let dem = c
                .dem
                .as_ref()
                .with_context(|| format!("{}: the city has no DEM", city.display()))?;
            step(&format!("writing {}", out.display()), || {
                Ok(twin_io::raster::write_geotiff(dem, c.crs, &out)?)
            })?;
        }
    }
    Ok(())
}
