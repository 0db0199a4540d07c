//! Flood results per cell (maxima, timing, duration, hazard) and time series at gauges.

/// Per-cell flood statistics accumulated over a run, row-major, as plain arrays for export.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FloodStats {
    /// Depth threshold (m) for [`FloodStats::duration_above`].
    pub threshold: f64,
    /// Maximum depth reached, m.
    pub max_depth: Vec<f64>,
    /// Time (s from start) at which the maximum depth was first reached; 0 if never wet.
    pub time_of_max: Vec<f64>,
    /// Total time (s) the depth stood above `threshold`.
    pub duration_above: Vec<f64>,
    /// Maximum of depth × speed, m²/s (the hazard product; DEFRA/EA FD2320, 2006). Speed is
    /// the magnitude of the cell-centred velocity averaged from the four face discharges.
    pub max_hazard: Vec<f64>,
}

impl FloodStats {
    pub(crate) fn new(n: usize, threshold: f64) -> Self {
        Self {
            threshold,
            max_depth: vec![0.0; n],
            time_of_max: vec![0.0; n],
            duration_above: vec![0.0; n],
            max_hazard: vec![0.0; n],
        }
    }
}

/// Depth time series at the gauges, sampled at a fixed interval.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct GaugeSeries {
    /// Sample times, s.
    pub times: Vec<f64>,
    /// `depths[g][k]` is the depth (m) at gauge `g` at `times[k]`.
    pub depths: Vec<Vec<f64>>,
}
