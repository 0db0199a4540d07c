//! Rasters (DEM) through GDAL: GeoTIFF read/write, reprojection onto the city's metric CRS.

use crate::crs::{Reprojector, epsg_of, spatial_ref};
use crate::error::{IoError, Result};
use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::spatial_ref::{CoordTransform, SpatialRef};
use gdal::{Dataset, DriverManager};
use std::path::Path;
use twin_model::{Crs, Raster};

/// A raster read from a file with the CRS it is in.
pub struct GeoRaster {
    /// The grid. For geographic CRSs `cell` is in degrees.
    pub raster: Raster,
    /// Its CRS.
    pub crs: Crs,
}

fn gerr(file: &Path, what: &str, e: impl std::fmt::Display) -> IoError {
    IoError::file(file, format!("{what}: {e}"))
}

/// Reads band 1 of a raster dataset (GeoTIFF or a `GPKG:file:table` subdataset).
pub fn read_raster(path: &Path) -> Result<GeoRaster> {
    crate::gdalmsg::capture();
    let ds = Dataset::open(path).map_err(|e| crate::gdalmsg::open_error(path, "a raster", e))?;
    read_dataset(&ds, path)
}

/// A raster resampled onto a target grid.
pub struct Onto {
    /// The cells inside the clip asked for; `None` where the raster does not reach it.
    pub raster: Option<Raster>,
    /// The whole raster's extent in the target CRS, `[min, max]`.
    pub extent: [[f64; 2]; 2],
}

/// Reads band 1 of any GDAL raster (GeoTIFF, ESRI ASCII grid, SRTM .hgt …) whose CRS GDAL
/// knows, with or without an EPSG code (a `.prj` of a custom Transverse Mercator is fine), or
/// in `assume` where given, and resamples it onto `target` (bilinear) at `cell` metres, only
/// inside `clip` (target CRS, `[min, max]`) where given.
pub fn read_raster_onto(
    path: &Path,
    assume: Option<Crs>,
    target: Crs,
    cell: Option<f64>,
    clip: Option<[[f64; 2]; 2]>,
) -> Result<Onto> {
    crate::gdalmsg::capture();
    let ds = Dataset::open(path).map_err(|e| crate::gdalmsg::open_error(path, "a raster", e))?;
    let (grid, srs) = read_grid(&ds, path)?;
    let ctx = path.display().to_string();
    let mut src = match assume {
        Some(c) => spatial_ref(c, &ctx)?,
        None => srs.ok_or_else(|| IoError::Crs {
            context: ctx.clone(),
            crs: "(none)".into(),
            msg: "the raster states no CRS; give the one it is in".into(),
        })?,
    };
    src.set_axis_mapping_strategy(gdal::spatial_ref::AxisMappingStrategy::TraditionalGisOrder);
    let dst = spatial_ref(target, &ctx)?;
    let name = src.name().unwrap_or_else(|| "(unnamed)".into());
    let ct = |a: &SpatialRef, b: &SpatialRef| {
        CoordTransform::new(a, b).map_err(|e| IoError::Crs {
            context: ctx.clone(),
            crs: format!("{name} -> {}", target.code()),
            msg: e.to_string(),
        })
    };
    let (fwd, back) = (ct(&src, &dst)?, ct(&dst, &src)?);
    let run = |t: &CoordTransform, xs: &mut [f64], ys: &mut [f64]| -> Result<()> {
        let mut zs = vec![0.0; xs.len()];
        t.transform_coords(xs, ys, &mut zs)
            .map_err(|e| IoError::Crs {
                context: ctx.clone(),
                crs: format!("{name} -> {}", target.code()),
                msg: format!("{e} (coordinates outside the area of use?)"),
            })
    };
    resample(
        &grid,
        |x, y| run(&fwd, x, y),
        |x, y| run(&back, x, y),
        cell,
        clip,
    )
}

pub(crate) fn read_dataset(ds: &Dataset, path: &Path) -> Result<GeoRaster> {
    let (raster, srs) = read_grid(ds, path)?;
    let srs = srs.ok_or_else(|| IoError::Crs {
        context: path.display().to_string(),
        crs: "(none)".into(),
        msg: "raster has no CRS".into(),
    })?;
    let crs = epsg_of(&srs, &path.display().to_string())?;
    Ok(GeoRaster { raster, crs })
}

/// Band 1 of a dataset as a north-up grid, with the dataset's CRS where it states one.
fn read_grid(ds: &Dataset, path: &Path) -> Result<(Raster, Option<SpatialRef>)> {
    let gt = ds
        .geo_transform()
        .map_err(|e| gerr(path, "raster has no georeferencing", e))?;
    if gt[2] != 0.0 || gt[4] != 0.0 {
        return Err(IoError::format(
            path,
            "geotransform",
            "rotated rasters are not supported",
        ));
    }
    if (gt[1].abs() - gt[5].abs()).abs() > 1e-9 * gt[1].abs() {
        return Err(IoError::format(
            path,
            "geotransform",
            format!("cells must be square, got {} x {}", gt[1], gt[5].abs()),
        ));
    }
    let srs = ds.spatial_ref().ok();
    let band = ds.rasterband(1).map_err(|e| gerr(path, "no band 1", e))?;
    let (nx, ny) = ds.raster_size();
    let nodata = band.no_data_value().map(|v| v as f32);
    let buf: Buffer<f32> = band
        .read_as::<f32>((0, 0), (nx, ny), (nx, ny), None)
        .map_err(|e| gerr(path, "cannot read band 1", e))?;
    let data = buf.data().to_vec();
    let (x0, y0, cell) = if gt[5] < 0.0 {
        (gt[0], gt[3], gt[1])
    } else {
        (gt[0], gt[3] + gt[5] * ny as f64, gt[1])
    };
    let mut raster = Raster {
        nx,
        ny,
        x0,
        y0,
        cell,
        data,
        nodata,
    };
    if gt[5] > 0.0 {
        // south-up: flip rows so row 0 is north
        let mut flipped = Vec::with_capacity(nx * ny);
        for r in (0..ny).rev() {
            flipped.extend_from_slice(&raster.data[r * nx..(r + 1) * nx]);
        }
        raster.data = flipped;
    }
    Ok((raster, srs))
}

/// Writes a raster as a single-band Float32 GeoTIFF (deflate-compressed), atomically.
pub fn write_geotiff(r: &Raster, crs: Crs, path: &Path) -> Result<()> {
    crate::atomic::write_atomically(path, |tmp| {
        let drv = DriverManager::get_driver_by_name("GTiff")
            .map_err(|e| gerr(path, "GTiff driver", e))?;
        let opts = RasterCreationOptions::from_iter(["COMPRESS=DEFLATE", "TILED=YES"]);
        let mut ds = drv
            .create_with_band_type_with_options::<f32, _>(tmp, r.nx, r.ny, 1, &opts)
            .map_err(|e| gerr(path, "cannot create", e))?;
        fill_dataset(&mut ds, r, crs, path)?;
        ds.close().map_err(|e| gerr(path, "cannot write", e))?;
        Ok(())
    })
}

pub(crate) fn fill_dataset(ds: &mut Dataset, r: &Raster, crs: Crs, path: &Path) -> Result<()> {
    ds.set_geo_transform(&[r.x0, r.cell, 0.0, r.y0, 0.0, -r.cell])
        .map_err(|e| gerr(path, "geotransform", e))?;
    ds.set_spatial_ref(&spatial_ref(crs, &path.display().to_string())?)
        .map_err(|e| gerr(path, "CRS", e))?;
    let mut band = ds.rasterband(1).map_err(|e| gerr(path, "band", e))?;
    if let Some(nd) = r.nodata {
        band.set_no_data_value(Some(nd as f64))
            .map_err(|e| gerr(path, "nodata", e))?;
    }
    let mut buf = Buffer::new((r.nx, r.ny), r.data.clone());
    band.write((0, 0), (r.nx, r.ny), &mut buf)
        .map_err(|e| gerr(path, "cannot write band", e))?;
    Ok(())
}

/// Resamples a raster onto a north-up grid in `target` CRS (bilinear), keeping nodata; the
/// cell size is the source's (converted to metres for geographic sources) unless given.
pub fn reproject_raster(src: &GeoRaster, target: Crs, cell: Option<f64>) -> Result<Raster> {
    if src.crs == target && cell.is_none() {
        return Ok(src.raster.clone());
    }
    let fwd = Reprojector::new(src.crs, target, "DEM reprojection")?;
    let back = Reprojector::new(target, src.crs, "DEM reprojection")?;
    resample(
        &src.raster,
        |x, y| fwd.transform(x, y),
        |x, y| back.transform(x, y),
        cell,
        None,
    )
    .and_then(|o| {
        o.raster
            .ok_or_else(|| IoError::Invalid("DEM reprojection: the raster has no extent".into()))
    })
}

/// Resamples `s` onto a north-up grid through the transforms `fwd` (source → target) and
/// `back` (bilinear, nodata kept); the cell is the source's in target units unless given.
fn resample(
    s: &Raster,
    fwd: impl Fn(&mut [f64], &mut [f64]) -> Result<()>,
    back: impl Fn(&mut [f64], &mut [f64]) -> Result<()>,
    cell: Option<f64>,
    clip: Option<[[f64; 2]; 2]>,
) -> Result<Onto> {
    // Target extent: transform the source boundary densely.
    let [[x0, y0], [x1, y1]] = s.bbox();
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in 0..=20 {
        let t = i as f64 / 20.0;
        for (x, y) in [
            (x0 + t * (x1 - x0), y0),
            (x0 + t * (x1 - x0), y1),
            (x0, y0 + t * (y1 - y0)),
            (x1, y0 + t * (y1 - y0)),
        ] {
            xs.push(x);
            ys.push(y);
        }
    }
    fwd(&mut xs, &mut ys)?;
    let (minx, maxx) = xs
        .iter()
        .fold((f64::MAX, f64::MIN), |a, &v| (a.0.min(v), a.1.max(v)));
    let (miny, maxy) = ys
        .iter()
        .fold((f64::MAX, f64::MIN), |a, &v| (a.0.min(v), a.1.max(v)));
    let cell = cell.unwrap_or_else(|| {
        let nxy = (s.nx * s.ny) as f64;
        ((maxx - minx) * (maxy - miny) / nxy).sqrt()
    });
    if cell.is_nan() || cell <= 0.0 {
        return Err(IoError::Invalid(
            "DEM reprojection: cell size must be > 0".into(),
        ));
    }
    let extent = [[minx, miny], [maxx, maxy]];
    // The whole grid, and the window of its cells inside the clip: only those are resampled.
    let nx = (((maxx - minx) / cell).ceil() as usize).max(1);
    let ny = (((maxy - miny) / cell).ceil() as usize).max(1);
    let (c0, c1, r0, r1) = match clip {
        Some([[a, b], [c, d]]) => (
            ((a - minx) / cell).floor().max(0.0) as usize,
            (((c - minx) / cell).ceil().max(0.0) as usize).min(nx),
            ((maxy - d) / cell).floor().max(0.0) as usize,
            (((maxy - b) / cell).ceil().max(0.0) as usize).min(ny),
        ),
        None => (0, nx, 0, ny),
    };
    if c0 >= c1 || r0 >= r1 {
        return Ok(Onto {
            raster: None,
            extent,
        });
    }
    let (wx, wy) = (c1 - c0, r1 - r0);
    if wx * wy > 200_000_000 {
        return Err(IoError::Invalid(format!(
            "DEM reprojection would make {wx} x {wy} cells; give a coarser cell size"
        )));
    }
    let nodata = s.nodata.unwrap_or(-9999.0);
    let mut out = Raster {
        nx: wx,
        ny: wy,
        x0: minx + c0 as f64 * cell,
        y0: maxy - r0 as f64 * cell,
        cell,
        data: vec![nodata; wx * wy],
        nodata: Some(nodata),
    };
    // Cell centres as on the whole grid, so a window holds exactly the whole grid's values.
    for r in 0..wy {
        let mut cx: Vec<f64> = (0..wx)
            .map(|c| minx + ((c0 + c) as f64 + 0.5) * cell)
            .collect();
        let mut cy: Vec<f64> = vec![maxy - ((r0 + r) as f64 + 0.5) * cell; wx];
        back(&mut cx, &mut cy)?;
        for c in 0..wx {
            if let Some(v) = s.sample(cx[c], cy[c]) {
                out.data[r * wx + c] = v as f32;
            }
        }
    }
    Ok(Onto {
        raster: Some(out),
        extent,
    })
}

/// Writes an 8-bit RGB image (row-major, `3 × width × height` bytes) as PNG, atomically.
pub fn write_png(rgb: &[u8], width: usize, height: usize, path: &Path) -> Result<()> {
    if rgb.len() != 3 * width * height || width == 0 || height == 0 {
        return Err(IoError::Invalid(format!(
            "{}: image buffer does not match {width} × {height} RGB",
            path.display()
        )));
    }
    crate::atomic::write_atomically(path, |tmp| {
        let mem =
            DriverManager::get_driver_by_name("MEM").map_err(|e| gerr(path, "MEM driver", e))?;
        let ds = mem
            .create_with_band_type::<u8, _>("", width, height, 3)
            .map_err(|e| gerr(path, "image", e))?;
        for b in 0..3 {
            let band_data: Vec<u8> = rgb.iter().skip(b).step_by(3).copied().collect();
            let mut buf = Buffer::new((width, height), band_data);
            ds.rasterband(b + 1)
                .and_then(|mut band| band.write((0, 0), (width, height), &mut buf))
                .map_err(|e| gerr(path, "image band", e))?;
        }
        let png =
            DriverManager::get_driver_by_name("PNG").map_err(|e| gerr(path, "PNG driver", e))?;
        let out = ds
            .create_copy(&png, tmp, &RasterCreationOptions::default())
            .map_err(|e| gerr(path, "cannot write PNG", e))?;
        out.close().map_err(|e| gerr(path, "cannot write PNG", e))?;
        // GDAL's PNG driver may leave an .aux.xml beside the file.
        let _ = std::fs::remove_file(tmp.with_extension("png.aux.xml"));
        Ok(())
    })
}
