//! Design storms from Hanoi's intensity–duration–frequency curve.
//!
//! IDF: the TCVN 7957:2008 form q = A (1 + C lg P) / (t + b)^n, q in l/s·ha, t the duration in
//! minutes, P the return period in years, with Hanoi's parameters A = 5890, C = 0.65, b = 20,
//! n = 0.84 (the ones the demo district's sewers are designed with; shared/mission/
//! hanoi-facts.md flags them as not yet checked against the standard's table). 1 l/s·ha is
//! 0.36 mm/h.
//!
//! Hyetographs, in blocks of `block_min` minutes:
//! - alternating block (Chow, Maidment & Mays 1988, *Applied Hydrology*, §14.4): the depth of
//!   each duration k·Δt from the IDF, its increments placed from the largest at the peak,
//!   alternately after and before it;
//! - Chicago (Keifer & Chu 1957, *J. Hydraulics Div.* 83(4)): the continuous intensity whose
//!   every window around the peak holds the IDF depth of its length,
//!   i(τ) = a [(1 − n) τ / r + b] / (τ / r + b)^(1+n) before the peak (τ the time to it) and the
//!   same with 1 − r after, integrated over each block.

/// Hanoi's IDF parameters in the TCVN 7957:2008 form.
pub const A: f64 = 5890.0;
/// Return-period coefficient C.
pub const C: f64 = 0.65;
/// Duration offset b, minutes.
pub const B: f64 = 20.0;
/// Duration exponent n.
pub const N: f64 = 0.84;
/// mm/h per l/s·ha.
pub const MM_H_PER_L_S_HA: f64 = 0.36;

/// Mean intensity (mm/h) of the storm of `t_min` minutes and return period `p_years`.
pub fn intensity_mm_h(t_min: f64, p_years: f64) -> f64 {
    A * (1.0 + C * p_years.log10()) / (t_min + B).powf(N) * MM_H_PER_L_S_HA
}

/// Depth (mm) of the storm of `t_min` minutes and return period `p_years`.
pub fn depth_mm(t_min: f64, p_years: f64) -> f64 {
    intensity_mm_h(t_min, p_years) * t_min / 60.0
}

/// How a design storm's depth is spread over its duration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Alternating block.
    AlternatingBlock,
    /// Chicago, with the peak at this fraction of the duration (0..1; 0.4 is usual).
    Chicago {
        /// Peak position r.
        peak_at: f64,
    },
}

/// A design storm.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignStorm {
    /// Return period, years (≥ 1).
    pub return_period_years: f64,
    /// Duration, minutes.
    pub duration_min: f64,
    /// Block length, minutes (the duration is a whole number of blocks).
    pub block_min: f64,
    /// Shape.
    pub shape: Shape,
    /// Scale the whole storm to this depth, mm (`None`: the IDF's depth).
    pub depth_mm: Option<f64>,
}

impl DesignStorm {
    /// Checks the storm's numbers, naming the one at fault.
    pub fn validate(&self) -> Result<(), String> {
        if !(1.0..=1000.0).contains(&self.return_period_years) {
            return Err(format!(
                "return_period_years must lie in 1..1000, got {}",
                self.return_period_years
            ));
        }
        if !(self.duration_min > 0.0 && self.duration_min <= 7.0 * 24.0 * 60.0) {
            return Err(format!(
                "duration_min must lie in (0, 10080], got {}",
                self.duration_min
            ));
        }
        let blocks = self.duration_min / self.block_min;
        if !(self.block_min > 0.0 && (blocks - blocks.round()).abs() < 1e-9 && blocks >= 1.0) {
            return Err(format!(
                "block_min must divide duration_min ({}) into whole blocks, got {}",
                self.duration_min, self.block_min
            ));
        }
        if let Shape::Chicago { peak_at } = self.shape
            && !(0.0..=1.0).contains(&peak_at)
        {
            return Err(format!("peak_at must lie in 0..1, got {peak_at}"));
        }
        if let Some(d) = self.depth_mm
            && !(d > 0.0 && d <= 2000.0)
        {
            return Err(format!("depth_mm must lie in (0, 2000], got {d}"));
        }
        Ok(())
    }

    /// The storm as a stepwise series (start minute, mm/h), one step per block, then 0.
    pub fn series(&self) -> Vec<(f64, f64)> {
        let k = (self.duration_min / self.block_min).round() as usize;
        let dt = self.block_min;
        let p = self.return_period_years;
        let mut depths = match self.shape {
            Shape::AlternatingBlock => {
                let cum: Vec<f64> = (1..=k).map(|j| depth_mm(j as f64 * dt, p)).collect();
                let mut inc: Vec<f64> = (0..k)
                    .map(|j| cum[j] - if j > 0 { cum[j - 1] } else { 0.0 })
                    .collect();
                inc.sort_by(|a, b| b.total_cmp(a));
                // Largest at the centre block, then alternately after and before it (the
                // rest on one side once the other is full).
                let centre = (k - 1) / 2;
                let mut order = vec![centre];
                for off in 1..k {
                    for at in [centre + off, centre.wrapping_sub(off)] {
                        if at < k && order.len() < k {
                            order.push(at);
                        }
                    }
                }
                let mut out = vec![0.0; k];
                for (at, d) in order.into_iter().zip(inc) {
                    out[at] = d;
                }
                out
            }
            Shape::Chicago { peak_at } => {
                let a = A * (1.0 + C * p.log10()) * MM_H_PER_L_S_HA;
                let t_peak = peak_at * self.duration_min;
                // Intensity (mm/h) at minute t; integrated over each block by Simpson's rule
                // on 20 panels.
                let i_at = |t: f64| {
                    let (tau, r) = if t < t_peak {
                        (t_peak - t, peak_at)
                    } else {
                        (t - t_peak, 1.0 - peak_at)
                    };
                    if r <= 0.0 {
                        return 0.0;
                    }
                    a * ((1.0 - N) * tau / r + B) / (tau / r + B).powf(1.0 + N)
                };
                (0..k)
                    .map(|j| {
                        let (t0, m) = (j as f64 * dt, 20);
                        let h = dt / m as f64;
                        let mut s = i_at(t0) + i_at(t0 + dt);
                        for q in 1..m {
                            s += i_at(t0 + q as f64 * h) * if q % 2 == 1 { 4.0 } else { 2.0 };
                        }
                        s * h / 3.0 / 60.0
                    })
                    .collect()
            }
        };
        if let Some(target) = self.depth_mm {
            let total: f64 = depths.iter().sum();
            if total > 0.0 {
                depths.iter_mut().for_each(|d| *d *= target / total);
            }
        }
        let mut s: Vec<(f64, f64)> = depths
            .iter()
            .enumerate()
            .map(|(j, d)| (j as f64 * dt, d * 60.0 / dt))
            .collect();
        s.push((self.duration_min, 0.0));
        s
    }
}

/// Total depth (mm) of a stepwise series over `minutes`.
pub fn series_depth_mm(series: &[(f64, f64)], minutes: f64) -> f64 {
    series
        .iter()
        .enumerate()
        .map(|(k, (m, v))| {
            let end = series
                .get(k + 1)
                .map(|x| x.0)
                .unwrap_or(minutes)
                .min(minutes);
            v * (end - m).max(0.0) / 60.0
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternating_block_holds_the_idf_depth_of_every_centred_window() {
        let s = DesignStorm {
            return_period_years: 2.0,
            duration_min: 120.0,
            block_min: 10.0,
            shape: Shape::AlternatingBlock,
            depth_mm: None,
        };
        let series = s.series();
        assert_eq!(series.len(), 13);
        let total = series_depth_mm(&series, 120.0);
        assert!((total - depth_mm(120.0, 2.0)).abs() < 1e-9, "{total}");
        // The peak block holds the 10-minute IDF depth; the peak is in the middle.
        let (k, peak) =
            series.iter().enumerate().fold(
                (0, 0.0f64),
                |a, (k, (_, v))| if *v > a.1 { (k, *v) } else { a },
            );
        assert!((peak / 6.0 - depth_mm(10.0, 2.0)).abs() < 1e-9);
        assert_eq!(k, 5);
        // 2-year, 2-hour Hanoi storm: about 69 mm (the 100 mm demo storm is a rarer one).
        assert!((60.0..80.0).contains(&total), "{total}");
    }

    #[test]
    fn chicago_keeps_the_idf_depth_and_rarer_storms_are_deeper() {
        let storm = |p: f64| DesignStorm {
            return_period_years: p,
            duration_min: 120.0,
            block_min: 5.0,
            shape: Shape::Chicago { peak_at: 0.4 },
            depth_mm: None,
        };
        let d2 = series_depth_mm(&storm(2.0).series(), 120.0);
        // The Chicago storm's depth over its whole duration is the IDF depth (to the
        // quadrature).
        assert!((d2 - depth_mm(120.0, 2.0)).abs() < 0.02 * d2, "{d2}");
        let d10 = series_depth_mm(&storm(10.0).series(), 120.0);
        assert!(d10 > d2 * 1.3, "{d2} {d10}");
        let scaled = DesignStorm {
            depth_mm: Some(100.0),
            ..storm(2.0)
        };
        assert!((series_depth_mm(&scaled.series(), 120.0) - 100.0).abs() < 1e-9);
        assert!(
            DesignStorm {
                block_min: 7.0,
                ..storm(2.0)
            }
            .validate()
            .is_err()
        );
    }
}
