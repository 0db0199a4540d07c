//! Rain that varies across the city: totals measured at rain gauges spread over the DEM's grid
//! by inverse distance weighting or Thiessen polygons, and the storm of a historical day (daily
//! gauge totals, which carry no timing, laid out in time by a design-storm shape).

use twin_model::Raster;

use crate::design_storm::{DesignStorm, Shape};

/// How gauge totals are spread between the gauges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spread {
    /// Inverse distance weighting: each cell takes Σ wᵢ·Pᵢ / Σ wᵢ with wᵢ = 1 / dᵢ^power over
    /// every gauge (Shepard 1968); a cell holding a gauge takes its value.
    Idw {
        /// Distance exponent (2 is usual).
        power: f64,
    },
    /// Thiessen polygons: each cell takes the value of its nearest gauge (ties to the first
    /// listed).
    Thiessen,
}

/// One gauge's total for the storm, at a place in the city's CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeTotal {
    /// Gauge id.
    pub id: String,
    /// Easting, m.
    pub x: f64,
    /// Northing, m.
    pub y: f64,
    /// Total, mm.
    pub mm: f64,
}

/// The storm total on every cell of `dem` (row-major, as its data), mm; 0 on nodata cells.
/// `gauges` must not be empty.
pub fn cell_totals(gauges: &[GaugeTotal], dem: &Raster, spread: Spread) -> Vec<f64> {
    let mut out = vec![0.0; dem.nx * dem.ny];
    if gauges.is_empty() {
        return out;
    }
    for row in 0..dem.ny {
        for col in 0..dem.nx {
            let k = row * dem.nx + col;
            if dem.is_nodata(dem.data[k]) {
                continue;
            }
            let [x, y] = dem.cell_center(col, row);
            out[k] = at_point(gauges, x, y, spread);
        }
    }
    out
}

/// The spread total at one point.
pub fn at_point(gauges: &[GaugeTotal], x: f64, y: f64, spread: Spread) -> f64 {
    let d2 = |g: &GaugeTotal| (g.x - x).powi(2) + (g.y - y).powi(2);
    match spread {
        Spread::Thiessen => {
            let mut best = (f64::INFINITY, 0.0);
            for g in gauges {
                let d = d2(g);
                if d < best.0 {
                    best = (d, g.mm);
                }
            }
            best.1
        }
        Spread::Idw { power } => {
            let (mut num, mut den) = (0.0, 0.0);
            for g in gauges {
                let d = d2(g);
                if d < 1e-6 {
                    return g.mm;
                }
                let w = d.powf(-0.5 * power);
                num += w * g.mm;
                den += w;
            }
            num / den
        }
    }
}

/// A historical day's storm: how its daily totals are laid out in time.
#[derive(Debug, Clone, PartialEq)]
pub struct DayStorm {
    /// Hours of rain the day's total falls in, minutes (the storm's duration).
    pub duration_min: f64,
    /// Block length, minutes.
    pub block_min: f64,
    /// Shape of the time course, the same at every cell.
    pub shape: Shape,
}

/// Return period whose IDF curve shapes a historical day's storm (the shape only: the depth is
/// the gauges').
pub const SHAPE_RETURN_PERIOD_YEARS: f64 = 10.0;

impl DayStorm {
    /// The storm as a series `(minute, mm/h)` whose depth is `mean_mm` (the city's mean) and a
    /// per-cell multiplier of it (`totals / mean_mm`; all 0 when no rain fell), so that each
    /// cell gets its own total in the same time course.
    pub fn series_and_map(&self, totals: &[f64], dem: &Raster) -> (Vec<(f64, f64)>, Vec<f64>) {
        let valid: Vec<f64> = totals
            .iter()
            .zip(&dem.data)
            .filter(|(_, z)| !dem.is_nodata(**z))
            .map(|(t, _)| *t)
            .collect();
        let mean = if valid.is_empty() {
            0.0
        } else {
            valid.iter().sum::<f64>() / valid.len() as f64
        };
        if mean <= 0.0 {
            return (vec![(0.0, 0.0)], vec![0.0; totals.len()]);
        }
        let series = DesignStorm {
            return_period_years: SHAPE_RETURN_PERIOD_YEARS,
            duration_min: self.duration_min,
            block_min: self.block_min,
            shape: self.shape,
            depth_mm: Some(mean),
        }
        .series();
        (series, totals.iter().map(|t| t / mean).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(id: &str, x: f64, y: f64, mm: f64) -> GaugeTotal {
        GaugeTotal {
            id: id.into(),
            x,
            y,
            mm,
        }
    }

    #[test]
    fn idw_and_thiessen_by_hand() {
        let gs = [g("a", 0.0, 0.0, 100.0), g("b", 300.0, 0.0, 40.0)];
        // A point 100 m from a, 200 m from b: weights 1/100² and 1/200² → (4·100 + 1·40)/5.
        let v = at_point(&gs, 100.0, 0.0, Spread::Idw { power: 2.0 });
        assert!((v - 88.0).abs() < 1e-9, "{v}");
        // Power 1: (2·100 + 1·40)/3 = 80.
        let v = at_point(&gs, 100.0, 0.0, Spread::Idw { power: 1.0 });
        assert!((v - 80.0).abs() < 1e-9, "{v}");
        assert_eq!(at_point(&gs, 0.0, 0.0, Spread::Idw { power: 2.0 }), 100.0);
        assert_eq!(at_point(&gs, 140.0, 50.0, Spread::Thiessen), 100.0);
        assert_eq!(at_point(&gs, 160.0, 50.0, Spread::Thiessen), 40.0);
    }

    #[test]
    fn a_day_keeps_each_cells_total_and_the_citys_mean() {
        let mut dem = Raster::filled(4, 1, 0.0, 10.0, 10.0, 5.0);
        dem.nodata = Some(-9999.0);
        dem.data[3] = -9999.0;
        let gs = [g("a", 5.0, 5.0, 120.0), g("b", 25.0, 5.0, 60.0)];
        let totals = cell_totals(&gs, &dem, Spread::Thiessen);
        assert_eq!(totals, [120.0, 120.0, 60.0, 0.0]);
        let day = DayStorm {
            duration_min: 120.0,
            block_min: 10.0,
            shape: Shape::Chicago { peak_at: 0.4 },
        };
        let (series, map) = day.series_and_map(&totals, &dem);
        let depth = crate::design_storm::series_depth_mm(&series, 120.0);
        assert!((depth - 100.0).abs() < 1e-6, "{depth}");
        for (t, m) in totals.iter().zip(&map) {
            assert!((depth * m - t).abs() < 1e-6);
        }
        // A dry day: no rain anywhere.
        let dry = [g("a", 5.0, 5.0, 0.0)];
        let (series, map) = day.series_and_map(&cell_totals(&dry, &dem, Spread::Thiessen), &dem);
        assert_eq!(series, [(0.0, 0.0)]);
        assert!(map.iter().all(|m| *m == 0.0));
    }
}
