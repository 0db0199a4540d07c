//! The raster the solver runs on: bed elevation, walls (nodata) and Manning roughness per cell.

use crate::error::SurfaceError;

/// A cell of the grid, addressed by row and column. Row 0 is the first row of the raster
/// (the northern edge for a north-up GeoTIFF); column 0 is the western edge.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Cell {
    /// Row, 0-based, growing southwards.
    pub row: usize,
    /// Column, 0-based, growing eastwards.
    pub col: usize,
}

impl Cell {
    /// The cell at `row`, `col`.
    pub fn new(row: usize, col: usize) -> Self {
        Self { row, col }
    }
}

/// A regular raster of square cells with bed elevation and Manning roughness.
///
/// Cells whose elevation is NaN or equals the nodata value are *walls*: they hold no water, take
/// no rain, and every face touching them is closed. Storage is row-major (`row * nx + col`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Grid {
    nx: usize,
    ny: usize,
    dx: f64,
    bed: Vec<f64>,
    active: Vec<bool>,
    manning: Vec<f64>,
}

impl Grid {
    /// Builds a grid of `nx` columns by `ny` rows of square cells of side `dx` metres.
    ///
    /// `bed` holds elevations in metres (row-major); a cell is a wall if its value is NaN or
    /// equals `nodata`. Manning's n starts at `default_manning` (s m^-1/3) everywhere.
    pub fn new(
        nx: usize,
        ny: usize,
        dx: f64,
        bed: Vec<f64>,
        nodata: Option<f64>,
        default_manning: f64,
    ) -> Result<Self, SurfaceError> {
        let n = nx
            .checked_mul(ny)
            .filter(|&n| n > 0)
            .ok_or(SurfaceError::EmptyGrid { nx, ny })?;
        if !(dx.is_finite() && dx > 0.0) {
            return Err(SurfaceError::CellSize(dx));
        }
        if bed.len() != n {
            return Err(SurfaceError::Length {
                field: "bed",
                got: bed.len(),
                expected: n,
            });
        }
        check_manning(0, default_manning)?;
        let mut active = Vec::with_capacity(n);
        let mut bed = bed;
        for (i, z) in bed.iter_mut().enumerate() {
            let wall = z.is_nan() || nodata.is_some_and(|nd| *z == nd);
            if !wall && z.is_infinite() {
                return Err(SurfaceError::Value {
                    field: "bed",
                    index: i,
                    value: *z,
                    expected: "a finite elevation, NaN or the nodata value",
                });
            }
            if wall {
                // Walls keep a finite placeholder so that no arithmetic ever meets a NaN.
                *z = 0.0;
            }
            active.push(!wall);
        }
        Ok(Self {
            nx,
            ny,
            dx,
            bed,
            active,
            manning: vec![default_manning; n],
        })
    }

    /// Sets Manning's n per cell (row-major, s m^-1/3), e.g. from a land-use map
    /// (roads about 0.015, grass 0.035-0.05, dense vegetation 0.1; Chow 1959, table 5-6).
    pub fn set_manning(&mut self, manning: Vec<f64>) -> Result<(), SurfaceError> {
        if manning.len() != self.len() {
            return Err(SurfaceError::Length {
                field: "manning",
                got: manning.len(),
                expected: self.len(),
            });
        }
        for (i, &m) in manning.iter().enumerate() {
            check_manning(i, m)?;
        }
        self.manning = manning;
        Ok(())
    }

    /// Marks a cell as a wall (for example a building footprint in the "blocked" mode).
    pub fn set_wall(&mut self, cell: Cell) -> Result<(), SurfaceError> {
        let i = self.index(cell)?;
        self.active[i] = false;
        Ok(())
    }

    /// Number of columns.
    pub fn nx(&self) -> usize {
        self.nx
    }
    /// Number of rows.
    pub fn ny(&self) -> usize {
        self.ny
    }
    /// Cell side in metres.
    pub fn dx(&self) -> f64 {
        self.dx
    }
    /// Number of cells (`nx * ny`).
    pub fn len(&self) -> usize {
        self.bed.len()
    }
    /// Whether the grid has no cells (never true for a constructed grid).
    pub fn is_empty(&self) -> bool {
        self.bed.is_empty()
    }
    /// Cell area in square metres.
    pub fn cell_area(&self) -> f64 {
        self.dx * self.dx
    }
    /// Bed elevations, row-major (walls hold 0.0).
    pub fn bed(&self) -> &[f64] {
        &self.bed
    }
    /// Whether each cell holds water (false for nodata walls), row-major.
    pub fn active(&self) -> &[bool] {
        &self.active
    }
    /// Manning's n per cell, row-major.
    pub fn manning(&self) -> &[f64] {
        &self.manning
    }

    /// Row-major index of `cell`, or an error if it lies outside the grid.
    pub fn index(&self, cell: Cell) -> Result<usize, SurfaceError> {
        if cell.row >= self.ny || cell.col >= self.nx {
            return Err(SurfaceError::OutOfGrid {
                row: cell.row,
                col: cell.col,
                ny: self.ny,
                nx: self.nx,
            });
        }
        Ok(cell.row * self.nx + cell.col)
    }

    /// Checks a water depth field (m, row-major) for this grid: one finite, non-negative
    /// depth per cell, zero on walls.
    pub fn check_depth(&self, depth: &[f64]) -> Result<(), SurfaceError> {
        if depth.len() != self.len() {
            return Err(SurfaceError::Length {
                field: "depth",
                got: depth.len(),
                expected: self.len(),
            });
        }
        for (i, &d) in depth.iter().enumerate() {
            let ok = d.is_finite() && d >= 0.0 && (self.active()[i] || d == 0.0);
            if !ok {
                return Err(SurfaceError::Value {
                    field: "depth",
                    index: i,
                    value: d,
                    expected: "a finite depth >= 0, and 0 on wall cells",
                });
            }
        }
        Ok(())
    }

    /// The depth that fills every active cell whose bed lies below `level` up to it (0 on
    /// walls and higher ground), m, row-major.
    pub fn depth_to_level(&self, level: f64) -> Vec<f64> {
        self.bed()
            .iter()
            .zip(self.active())
            .map(|(&z, &a)| if a { (level - z).max(0.0) } else { 0.0 })
            .collect()
    }

    /// Index of an active cell, or an error if it is outside the grid or a wall.
    pub fn active_index(&self, cell: Cell) -> Result<usize, SurfaceError> {
        let i = self.index(cell)?;
        if !self.active[i] {
            return Err(SurfaceError::InactiveCell {
                row: cell.row,
                col: cell.col,
            });
        }
        Ok(i)
    }
}

fn check_manning(index: usize, m: f64) -> Result<(), SurfaceError> {
    if m.is_finite() && m >= 0.0 {
        Ok(())
    } else {
        Err(SurfaceError::Value {
            field: "manning",
            index,
            value: m,
            expected: "a finite value >= 0",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodata_and_nan_become_walls() {
        let g = Grid::new(3, 1, 2.0, vec![1.0, f64::NAN, -9999.0], Some(-9999.0), 0.03).unwrap();
        assert_eq!(g.active(), &[true, false, false]);
        assert_eq!(g.bed(), &[1.0, 0.0, 0.0]);
        assert_eq!(g.cell_area(), 4.0);
    }

    #[test]
    fn bad_inputs_are_named() {
        let e = Grid::new(2, 2, 1.0, vec![0.0; 3], None, 0.03).unwrap_err();
        assert_eq!(
            e,
            SurfaceError::Length {
                field: "bed",
                got: 3,
                expected: 4
            }
        );
        assert!(matches!(
            Grid::new(0, 2, 1.0, vec![], None, 0.03),
            Err(SurfaceError::EmptyGrid { .. })
        ));
        assert!(matches!(
            Grid::new(1, 1, -1.0, vec![0.0], None, 0.03),
            Err(SurfaceError::CellSize(_))
        ));
        let e = Grid::new(1, 1, 1.0, vec![f64::INFINITY], None, 0.03).unwrap_err();
        assert!(matches!(
            e,
            SurfaceError::Value {
                field: "bed",
                index: 0,
                ..
            }
        ));
        let mut g = Grid::new(2, 1, 1.0, vec![0.0; 2], None, 0.03).unwrap();
        let e = g.set_manning(vec![0.03, f64::NAN]).unwrap_err();
        assert!(matches!(
            e,
            SurfaceError::Value {
                field: "manning",
                index: 1,
                ..
            }
        ));
        assert!(g.index(Cell::new(1, 0)).is_err());
    }
}
