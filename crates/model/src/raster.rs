//! Regular rasters (the DEM): north-up grid, row 0 at the north edge, with nodata.

/// A north-up raster of `f32` values in the city's CRS.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Raster {
    /// Columns.
    pub nx: usize,
    /// Rows.
    pub ny: usize,
    /// X of the west edge.
    pub x0: f64,
    /// Y of the north edge.
    pub y0: f64,
    /// Cell size in metres (square cells).
    pub cell: f64,
    /// Row-major values, `nx * ny`, row 0 at the north.
    pub data: Vec<f32>,
    /// Value that marks a missing cell, if any. NaN cells are also treated as missing.
    pub nodata: Option<f32>,
}

/// Summary statistics over valid cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RasterStats {
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Valid cells.
    pub valid: usize,
}

impl Raster {
    /// A raster filled with one value.
    pub fn filled(nx: usize, ny: usize, x0: f64, y0: f64, cell: f64, v: f32) -> Raster {
        Raster {
            nx,
            ny,
            x0,
            y0,
            cell,
            data: vec![v; nx * ny],
            nodata: None,
        }
    }

    /// True when the cell value is missing.
    pub fn is_nodata(&self, v: f32) -> bool {
        v.is_nan() || self.nodata.is_some_and(|n| n == v)
    }

    /// Value at column, row.
    pub fn get(&self, col: usize, row: usize) -> f32 {
        self.data[row * self.nx + col]
    }

    /// Sets the value at column, row.
    pub fn set(&mut self, col: usize, row: usize, v: f32) {
        self.data[row * self.nx + col] = v;
    }

    /// Centre of a cell.
    pub fn cell_center(&self, col: usize, row: usize) -> [f64; 2] {
        [
            self.x0 + (col as f64 + 0.5) * self.cell,
            self.y0 - (row as f64 + 0.5) * self.cell,
        ]
    }

    /// Cell containing a point.
    pub fn cell_at(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let c = ((x - self.x0) / self.cell).floor();
        let r = ((self.y0 - y) / self.cell).floor();
        (c >= 0.0 && r >= 0.0 && (c as usize) < self.nx && (r as usize) < self.ny)
            .then_some((c as usize, r as usize))
    }

    /// Bilinear interpolation between cell centres; `None` outside or next to nodata.
    pub fn sample(&self, x: f64, y: f64) -> Option<f64> {
        let fx = (x - self.x0) / self.cell - 0.5;
        let fy = (self.y0 - y) / self.cell - 0.5;
        let cx = fx.clamp(0.0, (self.nx - 1) as f64);
        let cy = fy.clamp(0.0, (self.ny - 1) as f64);
        self.cell_at(x, y)?;
        let c0 = cx.floor() as usize;
        let r0 = cy.floor() as usize;
        let c1 = (c0 + 1).min(self.nx - 1);
        let r1 = (r0 + 1).min(self.ny - 1);
        let tx = cx - c0 as f64;
        let ty = cy - r0 as f64;
        let v = [
            self.get(c0, r0),
            self.get(c1, r0),
            self.get(c0, r1),
            self.get(c1, r1),
        ];
        if v.iter().any(|&a| self.is_nodata(a)) {
            let n = self.get(
                ((x - self.x0) / self.cell) as usize,
                ((self.y0 - y) / self.cell) as usize,
            );
            return (!self.is_nodata(n)).then_some(n as f64);
        }
        let top = v[0] as f64 * (1.0 - tx) + v[1] as f64 * tx;
        let bot = v[2] as f64 * (1.0 - tx) + v[3] as f64 * tx;
        Some(top * (1.0 - ty) + bot * ty)
    }

    /// Bounding box `[min, max]`.
    pub fn bbox(&self) -> [[f64; 2]; 2] {
        [
            [self.x0, self.y0 - self.ny as f64 * self.cell],
            [self.x0 + self.nx as f64 * self.cell, self.y0],
        ]
    }

    /// Statistics over valid cells (`None` if none is valid).
    pub fn stats(&self) -> Option<RasterStats> {
        let (mut min, mut max, mut sum, mut n) = (f64::MAX, f64::MIN, 0.0, 0usize);
        for &v in &self.data {
            if !self.is_nodata(v) {
                let v = v as f64;
                min = min.min(v);
                max = max.max(v);
                sum += v;
                n += 1;
            }
        }
        (n > 0).then(|| RasterStats {
            min,
            max,
            mean: sum / n as f64,
            valid: n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_and_cells() {
        let mut r = Raster::filled(3, 2, 100.0, 200.0, 10.0, 1.0);
        r.set(1, 0, 3.0);
        assert_eq!(r.cell_at(115.0, 195.0), Some((1, 0)));
        assert_eq!(r.cell_at(131.0, 195.0), None);
        assert_eq!(r.cell_center(1, 0), [115.0, 195.0]);
        assert!((r.sample(115.0, 195.0).unwrap() - 3.0).abs() < 1e-12);
        // halfway between the centres of (0,0)=1 and (1,0)=3
        assert!((r.sample(110.0, 195.0).unwrap() - 2.0).abs() < 1e-12);
        r.nodata = Some(-9999.0);
        r.set(2, 1, -9999.0);
        let s = r.stats().unwrap();
        assert_eq!(s.valid, 5);
        assert_eq!(s.max, 3.0);
        assert_eq!(r.bbox(), [[100.0, 180.0], [130.0, 200.0]]);
    }
}
