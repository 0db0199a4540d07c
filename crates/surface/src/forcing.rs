//! Forcings: rain on the grid, infiltration losses, and the conditions on the four edges.

use crate::error::SurfaceError;

/// Seconds per hour, to turn mm/h into m/s.
const S_PER_H: f64 = 3600.0;

/// Rain over the grid during one step of a rain series.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum RainField {
    /// The same intensity on every active cell, mm/h.
    Uniform(f64),
    /// One intensity per cell (row-major), mm/h; values on wall cells are ignored.
    PerCell(Vec<f64>),
}

/// A stepwise rain series: each step holds from its start time until the next step starts.
/// Before the first step and with an empty series there is no rain.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Rain {
    steps: Vec<(f64, RainField)>,
}

impl Rain {
    /// No rain at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// A constant uniform intensity in mm/h from time 0 on.
    pub fn constant(mm_per_hour: f64) -> Result<Self, SurfaceError> {
        Self::new(vec![(0.0, RainField::Uniform(mm_per_hour))], usize::MAX)
    }

    /// A series of `(start_seconds, field)` steps in strictly increasing time order.
    /// `cells` is the grid size, used to check per-cell fields (pass `usize::MAX` when every
    /// step is uniform).
    pub fn new(steps: Vec<(f64, RainField)>, cells: usize) -> Result<Self, SurfaceError> {
        let mut prev = f64::NEG_INFINITY;
        for (k, (start, field)) in steps.iter().enumerate() {
            if !start.is_finite() || *start <= prev {
                return Err(SurfaceError::RainOrder {
                    index: k,
                    start: *start,
                });
            }
            prev = *start;
            match field {
                RainField::Uniform(r) => check_rate("rain", k, *r)?,
                RainField::PerCell(v) => {
                    if v.len() != cells {
                        return Err(SurfaceError::Length {
                            field: "rain",
                            got: v.len(),
                            expected: cells,
                        });
                    }
                    for (i, r) in v.iter().enumerate() {
                        check_rate("rain", i, *r)?;
                    }
                }
            }
        }
        Ok(Self { steps })
    }

    /// The steps of the series, `(start_seconds, field)`, in increasing time order (for
    /// other implementations of the solver, e.g. the GPU one, that must apply the same rain).
    pub fn steps(&self) -> &[(f64, RainField)] {
        &self.steps
    }

    /// Index of the step in force at time `t`, if any.
    pub(crate) fn step_at(&self, t: f64) -> Option<usize> {
        let k = self.steps.partition_point(|(s, _)| *s <= t);
        k.checked_sub(1)
    }

    /// The field in force at time `t`.
    pub(crate) fn field_at(&self, t: f64) -> Option<&RainField> {
        self.step_at(t).map(|k| &self.steps[k].1)
    }

    /// Start of the first step strictly after `t`, if any.
    pub(crate) fn next_change_after(&self, t: f64) -> Option<f64> {
        let k = self.steps.partition_point(|(s, _)| *s <= t);
        self.steps.get(k).map(|(s, _)| *s)
    }

    /// Checks that per-cell fields match a grid of `cells` cells.
    pub fn check_cells(&self, cells: usize) -> Result<(), SurfaceError> {
        for (_, f) in &self.steps {
            if let RainField::PerCell(v) = f
                && v.len() != cells
            {
                return Err(SurfaceError::Length {
                    field: "rain",
                    got: v.len(),
                    expected: cells,
                });
            }
        }
        Ok(())
    }
}

/// An infiltration model for one class of pervious (or impervious) surface.
///
/// Rates are potential losses; the solver never removes more water than stands on a cell.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Infiltration {
    /// Impervious: no loss (roofs, roads).
    None,
    /// A constant loss rate, mm/h.
    Constant {
        /// Rate, mm/h.
        mm_per_hour: f64,
    },
    /// Horton's decaying capacity f(t) = fc + (f0 - fc) exp(-k t), with t the time since the
    /// start of the simulation (Horton 1940; SWMM 5 reference manual Vol. I, §4.2, without the
    /// recovery during dry spells).
    Horton {
        /// Initial capacity f0, mm/h.
        f0_mm_per_hour: f64,
        /// Final capacity fc, mm/h.
        fc_mm_per_hour: f64,
        /// Decay constant k, 1/h.
        decay_per_hour: f64,
    },
}

impl Infiltration {
    /// Checks a set of classes and the class of each of a grid's `cells` cells: every class
    /// valid, one class per cell, each naming an existing class.
    pub fn check_classes(
        classes: &[Infiltration],
        class_of_cell: &[u16],
        cells: usize,
    ) -> Result<(), SurfaceError> {
        if class_of_cell.len() != cells {
            return Err(SurfaceError::Length {
                field: "infiltration class",
                got: class_of_cell.len(),
                expected: cells,
            });
        }
        for (k, c) in classes.iter().enumerate() {
            c.validate(k)?;
        }
        if let Some((i, &c)) = class_of_cell
            .iter()
            .enumerate()
            .find(|(_, c)| **c as usize >= classes.len())
        {
            return Err(SurfaceError::InfiltrationClass {
                cell: i,
                class: c,
                classes: classes.len(),
            });
        }
        Ok(())
    }

    /// Checks that the parameters are finite and non-negative (and fc <= f0 for Horton).
    pub fn validate(&self, index: usize) -> Result<(), SurfaceError> {
        match *self {
            Infiltration::None => Ok(()),
            Infiltration::Constant { mm_per_hour } => {
                check_rate("infiltration", index, mm_per_hour)
            }
            Infiltration::Horton {
                f0_mm_per_hour,
                fc_mm_per_hour,
                decay_per_hour,
            } => {
                check_rate("infiltration.f0", index, f0_mm_per_hour)?;
                check_rate("infiltration.fc", index, fc_mm_per_hour)?;
                check_rate("infiltration.k", index, decay_per_hour)?;
                if fc_mm_per_hour > f0_mm_per_hour {
                    return Err(SurfaceError::Value {
                        field: "infiltration.fc",
                        index,
                        value: fc_mm_per_hour,
                        expected: "fc <= f0",
                    });
                }
                Ok(())
            }
        }
    }

    /// Potential loss rate at time `t` seconds, in m/s.
    pub fn rate_m_per_s(&self, t: f64) -> f64 {
        match *self {
            Infiltration::None => 0.0,
            Infiltration::Constant { mm_per_hour } => mm_per_hour / 1000.0 / S_PER_H,
            Infiltration::Horton {
                f0_mm_per_hour,
                fc_mm_per_hour,
                decay_per_hour,
            } => {
                let f = fc_mm_per_hour
                    + (f0_mm_per_hour - fc_mm_per_hour) * (-decay_per_hour * t / S_PER_H).exp();
                f / 1000.0 / S_PER_H
            }
        }
    }
}

/// Converts mm/h to m/s.
pub(crate) fn mm_h_to_m_s(r: f64) -> f64 {
    r / 1000.0 / S_PER_H
}

/// One edge of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Edge {
    /// Row 0 side.
    North = 0,
    /// Last row side.
    South = 1,
    /// Column 0 side.
    West = 2,
    /// Last column side.
    East = 3,
}

impl Edge {
    /// All four edges in ledger order.
    pub const ALL: [Edge; 4] = [Edge::North, Edge::South, Edge::West, Edge::East];
}

/// The condition on one edge of the grid.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Boundary {
    /// A wall: no flow.
    Closed,
    /// Free outflow, never inflow. With `slope: None` the edge is a free overfall passing the
    /// critical discharge of the edge cell's head, q = sqrt(g) (2h/3)^{3/2} (broad-crested
    /// weir; Chow 1959, §15-1). With `Some(s)` the discharge is the normal-depth (Manning)
    /// discharge q = h^{5/3} s^{1/2} / n on the given energy slope (the LISFLOOD-FP "FREE"
    /// condition, Bates et al. 2010), capped by the critical discharge.
    Open {
        /// Energy slope (m/m) for the normal-depth condition, or `None` for a free overfall.
        slope: Option<f64>,
    },
    /// A prescribed inflow across the edge, m²/s per metre of edge (a river or channel
    /// entering the grid); it enters every active edge cell whatever the water inside.
    Inflow {
        /// Unit discharge into the grid, m²/s (≥ 0).
        discharge: f64,
    },
    /// A water body outside the edge at a fixed water level (m): the momentum equation is
    /// solved across the edge face against a ghost cell at that level whose bed is the edge
    /// cell's bed, so water flows in or out.
    FixedStage {
        /// Water-surface elevation outside the edge, m.
        level: f64,
    },
}

impl Boundary {
    pub(crate) fn validate(&self, edge: Edge) -> Result<(), SurfaceError> {
        let (bad, value) = match *self {
            Boundary::Closed => (false, 0.0),
            Boundary::Open { slope: Some(s) } => (!(s.is_finite() && s >= 0.0), s),
            Boundary::Open { slope: None } => (false, 0.0),
            Boundary::FixedStage { level } => (!level.is_finite(), level),
            Boundary::Inflow { discharge } => {
                (!(discharge.is_finite() && discharge >= 0.0), discharge)
            }
        };
        if bad {
            return Err(SurfaceError::Value {
                field: "boundary",
                index: edge as usize,
                value,
                expected: "a finite slope >= 0, a finite level or a finite discharge >= 0",
            });
        }
        Ok(())
    }
}

/// The conditions on the four edges.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Boundaries {
    /// Row 0 side.
    pub north: Boundary,
    /// Last row side.
    pub south: Boundary,
    /// Column 0 side.
    pub west: Boundary,
    /// Last column side.
    pub east: Boundary,
}

impl Boundaries {
    /// The same condition on all four edges.
    pub fn all(b: Boundary) -> Self {
        Self {
            north: b,
            south: b,
            west: b,
            east: b,
        }
    }
    /// The condition on `edge`.
    pub fn get(&self, edge: Edge) -> Boundary {
        match edge {
            Edge::North => self.north,
            Edge::South => self.south,
            Edge::West => self.west,
            Edge::East => self.east,
        }
    }

    /// Checks every edge's values (finite slopes, levels and discharges; no negative slope
    /// or inflow), naming the edge at fault.
    pub fn validate(&self) -> Result<(), SurfaceError> {
        for e in Edge::ALL {
            self.get(e).validate(e)?;
        }
        Ok(())
    }
}

impl Default for Boundaries {
    fn default() -> Self {
        Self::all(Boundary::Closed)
    }
}

fn check_rate(field: &'static str, index: usize, r: f64) -> Result<(), SurfaceError> {
    if r.is_finite() && r >= 0.0 {
        Ok(())
    } else {
        Err(SurfaceError::Value {
            field,
            index,
            value: r,
            expected: "a finite rate >= 0",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rain_is_stepwise() {
        let r = Rain::new(
            vec![
                (60.0, RainField::Uniform(10.0)),
                (120.0, RainField::Uniform(0.0)),
            ],
            usize::MAX,
        )
        .unwrap();
        assert_eq!(r.field_at(0.0), None);
        assert_eq!(r.field_at(60.0), Some(&RainField::Uniform(10.0)));
        assert_eq!(r.field_at(119.9), Some(&RainField::Uniform(10.0)));
        assert_eq!(r.field_at(500.0), Some(&RainField::Uniform(0.0)));
        assert_eq!(r.next_change_after(0.0), Some(60.0));
        assert_eq!(r.next_change_after(60.0), Some(120.0));
        assert_eq!(r.next_change_after(120.0), None);
    }

    #[test]
    fn rain_errors_name_the_step() {
        let e = Rain::new(
            vec![
                (60.0, RainField::Uniform(1.0)),
                (60.0, RainField::Uniform(2.0)),
            ],
            usize::MAX,
        )
        .unwrap_err();
        assert_eq!(
            e,
            SurfaceError::RainOrder {
                index: 1,
                start: 60.0
            }
        );
        let e = Rain::constant(-1.0).unwrap_err();
        assert!(matches!(e, SurfaceError::Value { field: "rain", .. }));
    }

    #[test]
    fn horton_decays_to_fc() {
        let h = Infiltration::Horton {
            f0_mm_per_hour: 76.0,
            fc_mm_per_hour: 13.0,
            decay_per_hour: 4.0,
        };
        assert!((h.rate_m_per_s(0.0) - 76.0 / 3.6e6).abs() < 1e-15);
        // after one hour: 13 + 63 e^-4 = 14.15388 mm/h
        assert!((h.rate_m_per_s(3600.0) * 3.6e6 - 14.153_885).abs() < 1e-5);
        assert!(
            Infiltration::Horton {
                f0_mm_per_hour: 1.0,
                fc_mm_per_hour: 2.0,
                decay_per_hour: 1.0
            }
            .validate(0)
            .is_err()
        );
    }
}
