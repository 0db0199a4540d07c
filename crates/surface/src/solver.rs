//! The calls a flood run and a 1D–2D coupled run make of a surface solver, whichever runs it:
//! [`crate::Simulation`] here (f64, the reference) or the WGSL kernel of `twin-surface-gpu`
//! (f32). Both check their inputs with the same functions ([`crate::Boundaries::validate`],
//! [`crate::Grid::check_depth`], [`crate::Infiltration::check_classes`],
//! [`crate::Rain::check_cells`]) and keep points and gauges in the same [`crate::Points`] and
//! [`crate::Gauges`], so an input one refuses the other refuses too.

use crate::error::SurfaceError;
use crate::exchange::{GaugeId, PointId};
use crate::forcing::{Boundaries, Infiltration, Rain};
use crate::grid::{Cell, Grid};
use crate::ledger::MassLedger;
use crate::params::Params;
use crate::results::{FloodStats, GaugeSeries};

/// A local-inertial surface solver on a [`Grid`].
pub trait SurfaceSolver: Sized {
    /// What can go wrong (a GPU solver can also fail to read back).
    type Error: std::error::Error + From<SurfaceError> + Send + Sync + 'static;

    /// A dry solver at time 0 with closed edges, no rain and no infiltration.
    fn create(grid: Grid, params: Params) -> Result<Self, Self::Error>;
    /// The grid.
    fn grid(&self) -> &Grid;
    /// Sets the conditions on the four edges.
    fn set_boundaries(&mut self, b: Boundaries) -> Result<(), Self::Error>;
    /// Sets the rain series (times in seconds of simulation time).
    fn set_rain(&mut self, rain: Rain) -> Result<(), Self::Error>;
    /// Sets the infiltration classes and the class of each cell (row-major).
    fn set_infiltration(
        &mut self,
        classes: Vec<Infiltration>,
        class_of_cell: Vec<u16>,
    ) -> Result<(), Self::Error>;
    /// Replaces the water depth (m, row-major) and reopens the ledger and statistics.
    fn set_depth(&mut self, depth: Vec<f64>) -> Result<(), Self::Error>;
    /// Adds a point exchange at an active cell, initially at rate 0.
    fn add_point(&mut self, cell: Cell) -> Result<PointId, Self::Error>;
    /// Sets a point's exchange rate, m³/s (positive onto the surface).
    fn set_point_rate(&mut self, id: PointId, rate: f64) -> Result<(), Self::Error>;
    /// Net volumes moved at each point since the last call (m³, positive onto the surface).
    fn take_point_volumes(&mut self) -> Vec<f64>;
    /// Adds a gauge at `cell`; add gauges before the first step.
    fn add_gauge(&mut self, cell: Cell) -> Result<GaugeId, Self::Error>;
    /// The gauges' depth series.
    fn gauge_series(&self) -> &GaugeSeries;
    /// Advances to exactly `t_end` (s).
    fn advance_to(&mut self, t_end: f64) -> Result<(), Self::Error>;
    /// Depths at the cells, m.
    fn read_depths_at(&self, cells: &[Cell]) -> Result<Vec<f64>, Self::Error>;
    /// The water depth of every cell, m, row-major.
    fn read_depth(&self) -> Result<Vec<f64>, Self::Error>;
    /// The flood statistics so far.
    fn read_stats(&self) -> Result<FloodStats, Self::Error>;
    /// The mass ledger so far, m³.
    fn read_ledger(&self) -> Result<MassLedger, Self::Error>;
    /// Solver steps taken.
    fn step_count(&self) -> u64;
    /// The device it runs on, when that is not this CPU (the wgpu adapter's name).
    fn device_name(&self) -> Option<&str>;
}

impl SurfaceSolver for crate::Simulation {
    type Error = SurfaceError;

    fn create(grid: Grid, params: Params) -> Result<Self, SurfaceError> {
        crate::Simulation::new(grid, params)
    }
    fn grid(&self) -> &Grid {
        crate::Simulation::grid(self)
    }
    fn set_boundaries(&mut self, b: Boundaries) -> Result<(), SurfaceError> {
        crate::Simulation::set_boundaries(self, b)
    }
    fn set_rain(&mut self, rain: Rain) -> Result<(), SurfaceError> {
        crate::Simulation::set_rain(self, rain)
    }
    fn set_infiltration(
        &mut self,
        classes: Vec<Infiltration>,
        class_of_cell: Vec<u16>,
    ) -> Result<(), SurfaceError> {
        crate::Simulation::set_infiltration(self, classes, class_of_cell)
    }
    fn set_depth(&mut self, depth: Vec<f64>) -> Result<(), SurfaceError> {
        crate::Simulation::set_depth(self, depth)
    }
    fn add_point(&mut self, cell: Cell) -> Result<PointId, SurfaceError> {
        crate::Simulation::add_point(self, cell)
    }
    fn set_point_rate(&mut self, id: PointId, rate: f64) -> Result<(), SurfaceError> {
        crate::Simulation::set_point_rate(self, id, rate)
    }
    fn take_point_volumes(&mut self) -> Vec<f64> {
        crate::Simulation::take_point_volumes(self)
    }
    fn add_gauge(&mut self, cell: Cell) -> Result<GaugeId, SurfaceError> {
        crate::Simulation::add_gauge(self, cell)
    }
    fn gauge_series(&self) -> &GaugeSeries {
        crate::Simulation::gauge_series(self)
    }
    fn advance_to(&mut self, t_end: f64) -> Result<(), SurfaceError> {
        crate::Simulation::run_until(self, t_end);
        Ok(())
    }
    fn read_depths_at(&self, cells: &[Cell]) -> Result<Vec<f64>, SurfaceError> {
        cells.iter().map(|c| self.depth_at(*c)).collect()
    }
    fn read_depth(&self) -> Result<Vec<f64>, SurfaceError> {
        Ok(self.depth().to_vec())
    }
    fn read_stats(&self) -> Result<FloodStats, SurfaceError> {
        Ok(self.stats().clone())
    }
    fn read_ledger(&self) -> Result<MassLedger, SurfaceError> {
        Ok(self.ledger().clone())
    }
    fn step_count(&self) -> u64 {
        self.steps()
    }
    fn device_name(&self) -> Option<&str> {
        None
    }
}
