//! Reprojection between EPSG coordinate reference systems through GDAL's OSR (PROJ).
//! Coordinates are always (x, y) = (easting, northing) or (longitude, latitude).

use crate::error::{IoError, Result};
use gdal::spatial_ref::{AxisMappingStrategy, CoordTransform, SpatialRef};
use geo::{CoordsIter, Geometry, MapCoords};
use std::cell::Cell;
use twin_model::Crs;

/// A GDAL spatial reference for an EPSG code, in traditional GIS axis order.
pub fn spatial_ref(crs: Crs, context: &str) -> Result<SpatialRef> {
    let mut s = SpatialRef::from_epsg(crs.epsg).map_err(|e| IoError::Crs {
        context: context.to_string(),
        crs: crs.code(),
        msg: format!("unknown to PROJ ({e})"),
    })?;
    s.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    Ok(s)
}

/// Identifies the EPSG code of a GDAL spatial reference.
pub fn epsg_of(srs: &SpatialRef, context: &str) -> Result<Crs> {
    if let (Some(name), Ok(code)) = (srs.auth_name(), srs.auth_code())
        && name == "EPSG"
        && code > 0
    {
        return Ok(Crs { epsg: code as u32 });
    }
    let mut s = srs.clone();
    s.auto_identify_epsg().map_err(|_| IoError::Crs {
        context: context.to_string(),
        crs: s.name().unwrap_or_else(|| "(unnamed)".into()),
        msg: "has no EPSG code; reproject the input to an EPSG system first".into(),
    })?;
    match s.auth_code() {
        Ok(code) if code > 0 => Ok(Crs { epsg: code as u32 }),
        _ => Err(IoError::Crs {
            context: context.to_string(),
            crs: s.name().unwrap_or_else(|| "(unnamed)".into()),
            msg: "has no EPSG code".into(),
        }),
    }
}

/// A coordinate transformation between two CRSs (identity when they are equal).
pub struct Reprojector {
    from: Crs,
    to: Crs,
    ct: Option<CoordTransform>,
}

impl Reprojector {
    /// Builds the transformation; fails with a clear error for unknown EPSG codes.
    pub fn new(from: Crs, to: Crs, context: &str) -> Result<Reprojector> {
        let src = spatial_ref(from, context)?;
        let dst = spatial_ref(to, context)?;
        let ct = if from == to {
            None
        } else {
            Some(CoordTransform::new(&src, &dst).map_err(|e| IoError::Crs {
                context: context.to_string(),
                crs: format!("{} -> {}", from.code(), to.code()),
                msg: e.to_string(),
            })?)
        };
        Ok(Reprojector { from, to, ct })
    }

    /// Source CRS.
    pub fn from(&self) -> Crs {
        self.from
    }

    /// Target CRS.
    pub fn to(&self) -> Crs {
        self.to
    }

    /// Transforms coordinate arrays in place.
    pub fn transform(&self, xs: &mut [f64], ys: &mut [f64]) -> Result<()> {
        let Some(ct) = &self.ct else { return Ok(()) };
        if xs.is_empty() {
            return Ok(());
        }
        let mut zs = vec![0.0; xs.len()];
        ct.transform_coords(xs, ys, &mut zs)
            .map_err(|e| IoError::Crs {
                context: "reprojection".into(),
                crs: format!("{} -> {}", self.from.code(), self.to.code()),
                msg: format!("{e} (coordinates outside the area of use?)"),
            })?;
        if xs.iter().chain(ys.iter()).any(|v| !v.is_finite()) {
            return Err(IoError::Crs {
                context: "reprojection".into(),
                crs: format!("{} -> {}", self.from.code(), self.to.code()),
                msg: "produced non-finite coordinates".into(),
            });
        }
        Ok(())
    }

    /// Transforms one point.
    pub fn point(&self, x: f64, y: f64) -> Result<(f64, f64)> {
        let (mut xs, mut ys) = ([x], [y]);
        self.transform(&mut xs, &mut ys)?;
        Ok((xs[0], ys[0]))
    }

    /// Transforms a whole geometry.
    pub fn geometry(&self, g: &Geometry<f64>) -> Result<Geometry<f64>> {
        if self.ct.is_none() {
            return Ok(g.clone());
        }
        let (mut xs, mut ys): (Vec<f64>, Vec<f64>) = g.coords_iter().map(|c| (c.x, c.y)).unzip();
        self.transform(&mut xs, &mut ys)?;
        let i = Cell::new(0usize);
        let (xs, ys) = (&xs, &ys);
        Ok(g.map_coords(|_| {
            let k = i.get();
            i.set(k + 1);
            geo::Coord { x: xs[k], y: ys[k] }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hanoi_to_vn2000_within_a_centimetre() {
        let r = Reprojector::new(Crs::WGS84, Crs::VN2000_UTM48N, "test").unwrap();
        let (e, n) = r.point(105.8542, 21.0285).unwrap();
        assert!((e - 588565.36).abs() < 0.01, "e = {e}");
        assert!((n - 2325647.34).abs() < 0.01, "n = {n}");
        let back = Reprojector::new(Crs::VN2000_UTM48N, Crs::WGS84, "test").unwrap();
        let (lon, lat) = back.point(e, n).unwrap();
        assert!((lon - 105.8542).abs() < 1e-8 && (lat - 21.0285).abs() < 1e-8);
    }

    #[test]
    fn unknown_epsg_is_a_clear_error() {
        let e = Reprojector::new(Crs { epsg: 999_999 }, Crs::WGS84, "input.geojson")
            .err()
            .unwrap();
        let s = e.to_string();
        assert!(
            s.contains("input.geojson") && s.contains("EPSG:999999"),
            "{s}"
        );
    }
}
