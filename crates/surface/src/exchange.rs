//! Point exchanges (1D–2D coupling) and gauges: the bookkeeping every surface solver shares,
//! so the CPU solver and the GPU one check and number them the same way.

use crate::error::SurfaceError;
use crate::grid::{Cell, Grid};
use crate::results::GaugeSeries;

/// Identifies a point exchange (a manhole or inlet cell).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct PointId(pub usize);

/// Identifies a gauge (a depth time series location).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct GaugeId(pub usize);

/// One point exchange: its cell, the requested rate and the volume it actually moved.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PointExchange {
    /// Row-major index of the (active) cell.
    pub cell: usize,
    /// Requested rate, m³/s: positive adds water to the surface, negative removes it.
    pub rate: f64,
    /// Net volume actually exchanged since the last [`Points::take_volumes`], m³.
    pub volume: f64,
}

/// The point exchanges of a solver, in [`PointId`] order (the order they are applied in).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Points {
    list: Vec<PointExchange>,
}

impl Points {
    /// Adds a point at an active `cell` of `grid`, initially at rate 0.
    pub fn add(&mut self, grid: &Grid, cell: Cell) -> Result<PointId, SurfaceError> {
        let c = grid.active_index(cell)?;
        self.list.push(PointExchange {
            cell: c,
            rate: 0.0,
            volume: 0.0,
        });
        Ok(PointId(self.list.len() - 1))
    }

    /// Sets a point's rate, m³/s (finite; positive onto the surface).
    pub fn set_rate(&mut self, id: PointId, rate: f64) -> Result<(), SurfaceError> {
        if !rate.is_finite() {
            return Err(SurfaceError::Value {
                field: "point rate",
                index: id.0,
                value: rate,
                expected: "a finite rate in m³/s",
            });
        }
        let p = self.list.get_mut(id.0).ok_or(SurfaceError::UnknownId {
            kind: "point",
            id: id.0,
        })?;
        p.rate = rate;
        Ok(())
    }

    /// Net volumes (m³, positive onto the surface) moved at each point since the last call, in
    /// id order; resets the counters.
    pub fn take_volumes(&mut self) -> Vec<f64> {
        self.list
            .iter_mut()
            .map(|p| std::mem::take(&mut p.volume))
            .collect()
    }

    /// The points, in id order.
    pub fn as_slice(&self) -> &[PointExchange] {
        &self.list
    }

    /// The points, in id order, for the solver to apply and book.
    pub fn as_mut_slice(&mut self) -> &mut [PointExchange] {
        &mut self.list
    }
}

/// The gauges of a solver: their cells and the depth series recorded at them.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Gauges {
    cells: Vec<usize>,
    series: GaugeSeries,
}

impl Gauges {
    /// Adds a gauge at `cell` of `grid` (walls allowed: they read 0).
    pub fn add(&mut self, grid: &Grid, cell: Cell) -> Result<GaugeId, SurfaceError> {
        let c = grid.index(cell)?;
        self.cells.push(c);
        self.series.depths.push(Vec::new());
        Ok(GaugeId(self.cells.len() - 1))
    }

    /// Whether there are no gauges.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The gauges' cells (row-major indices), in id order.
    pub fn cells(&self) -> &[usize] {
        &self.cells
    }

    /// The recorded series.
    pub fn series(&self) -> &GaugeSeries {
        &self.series
    }

    /// Whether nothing has been recorded yet.
    pub fn unsampled(&self) -> bool {
        self.series.times.is_empty()
    }

    /// Records one sample at time `t`: a depth per gauge, in id order.
    pub fn record(&mut self, t: f64, depths: impl IntoIterator<Item = f64>) {
        self.series.times.push(t);
        for (s, d) in self.series.depths.iter_mut().zip(depths) {
            s.push(d);
        }
    }
}
