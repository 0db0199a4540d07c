//! Errors returned when a grid, a forcing or a state handed to the solver is malformed.

use thiserror::Error;

/// Everything that can be wrong with the input of the surface solver.
///
/// Each variant names the field and, where it applies, the cell or entry at fault, so that a
/// caller reading a DEM or a rain file can point the user at the offending place.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SurfaceError {
    /// The grid has no cells, or its dimensions overflow.
    #[error("grid size {nx} x {ny} is invalid: both dimensions must be at least 1")]
    EmptyGrid {
        /// Columns.
        nx: usize,
        /// Rows.
        ny: usize,
    },
    /// The cell size is not a finite positive number.
    #[error("cell size {0} m is invalid: it must be finite and > 0")]
    CellSize(f64),
    /// An array has the wrong number of entries.
    #[error("field `{field}` has {got} entries, expected {expected}")]
    Length {
        /// Name of the field.
        field: &'static str,
        /// Entries given.
        got: usize,
        /// Entries expected.
        expected: usize,
    },
    /// A value is out of range (negative depth, NaN roughness, ...).
    #[error("field `{field}` entry {index} has invalid value {value}: {expected}")]
    Value {
        /// Name of the field.
        field: &'static str,
        /// Entry (cell index in row-major order, or list position).
        index: usize,
        /// The value found.
        value: f64,
        /// What was expected.
        expected: &'static str,
    },
    /// A cell reference lies outside the grid.
    #[error("cell (row {row}, col {col}) is outside the {ny} x {nx} grid")]
    OutOfGrid {
        /// Row given.
        row: usize,
        /// Column given.
        col: usize,
        /// Rows in the grid.
        ny: usize,
        /// Columns in the grid.
        nx: usize,
    },
    /// A cell reference points at a nodata (wall) cell where water must be able to stand.
    #[error("cell (row {row}, col {col}) is a nodata wall cell")]
    InactiveCell {
        /// Row given.
        row: usize,
        /// Column given.
        col: usize,
    },
    /// A rain series is not in increasing time order.
    #[error("rain step {index} starts at {start} s, not after the previous step")]
    RainOrder {
        /// Step position in the series.
        index: usize,
        /// Its start time in seconds.
        start: f64,
    },
    /// An infiltration class index on a cell refers to no class.
    #[error("cell {cell} uses infiltration class {class}, but only {classes} classes exist")]
    InfiltrationClass {
        /// Cell index (row-major).
        cell: usize,
        /// Class referred to.
        class: u16,
        /// Number of classes defined.
        classes: usize,
    },
    /// An unknown point-exchange or gauge id.
    #[error("unknown {kind} id {id}")]
    UnknownId {
        /// "point" or "gauge".
        kind: &'static str,
        /// The id given.
        id: usize,
    },
}
