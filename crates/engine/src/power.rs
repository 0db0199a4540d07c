//! Power to the traffic signals: a substation whose site floods above its threshold goes out,
//! and the signals it feeds go dark for the rest of the run (their junctions run as all-way
//! stops: [`twin_traffic::sim::LinkEvent::SignalDark`]). A scenario may also take a
//! substation out for a period whatever the water does.
//!
//! Which substation feeds which signal: the city model holds the substations (Utility layer,
//! kind `substation`) but not the 22 kV feeders, so each signal is taken to be fed by the
//! nearest substation (the Voronoi cell of each substation as its service area), the usual
//! first approximation of a distribution zone when the feeder map is not given.

use twin_model::{City, FeatureId, Layer, Raster};
use twin_traffic::network::{Network, SignalId};

/// Water on a substation's site at which it goes out, m, unless its feature gives
/// `flood_threshold_m`: 0.3 m, about the plinth of ground-level medium-voltage switchgear,
/// where distribution operators cut the supply to avoid a short circuit.
pub const SUBSTATION_FLOOD_M: f64 = 0.3;

/// A substation of the city.
#[derive(Debug, Clone, PartialEq)]
pub struct Substation {
    /// Feature id (Utility layer).
    pub feature: FeatureId,
    /// Name.
    pub name: String,
    /// Centroid x, y (m, the city's CRS).
    pub at: [f64; 2],
    /// Water on its site at which it goes out, m.
    pub threshold_m: f64,
}

/// The city's substations, in feature order.
pub fn substations(city: &City) -> Vec<Substation> {
    use geo::Centroid;
    city.layer(Layer::Utility)
        .features()
        .iter()
        .filter(|f| f.kind == "substation")
        .filter_map(|f| {
            let c = f.geometry.centroid()?;
            Some(Substation {
                feature: f.id,
                name: f
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("substation {}", f.id.0)),
                at: [c.x(), c.y()],
                threshold_m: f
                    .num("flood_threshold_m")
                    .filter(|t| t.is_finite() && *t > 0.0)
                    .unwrap_or(SUBSTATION_FLOOD_M),
            })
        })
        .collect()
}

/// The grid cells on each substation's site (cell centres inside its footprint, or the cell
/// under its centroid), as probe groups for a flood run.
pub fn substation_cells(city: &City, grid: &Raster) -> Vec<Vec<usize>> {
    let layer = city.layer(Layer::Utility);
    substations(city)
        .iter()
        .map(|s| {
            let mut cells = layer
                .get(s.feature)
                .map(|f| crate::impacts::cells_in(grid, &f.geometry))
                .unwrap_or_default();
            if cells.is_empty()
                && let Some((c, r)) = grid.cell_at(s.at[0], s.at[1])
            {
                cells.push(r * grid.nx + c);
            }
            cells
        })
        .collect()
}

/// Each substation's deepest water over successive intervals of a flood run.
#[derive(Debug, Clone, PartialEq)]
pub struct SubstationTimeline {
    /// The substations, in the order of [`substations`].
    pub substations: Vec<Substation>,
    /// End of each interval, s after the rain's start.
    pub ends_s: Vec<f64>,
    /// Deepest water per interval and substation, m.
    pub depth_m: Vec<Vec<f32>>,
}

impl SubstationTimeline {
    /// When each substation goes out, s after the rain's start: the start of the first
    /// interval whose water reaches its threshold (it stays out to the end of the run: a
    /// flooded substation comes back only after it has been dried and inspected).
    pub fn out_from_s(&self) -> Vec<Option<f64>> {
        (0..self.substations.len())
            .map(|j| {
                let k = self
                    .depth_m
                    .iter()
                    .position(|d| d[j] as f64 >= self.substations[j].threshold_m)?;
                Some(if k == 0 { 0.0 } else { self.ends_s[k - 1] })
            })
            .collect()
    }

    /// Each substation's deepest water over the run, m.
    pub fn max_depth_m(&self) -> Vec<f64> {
        (0..self.substations.len())
            .map(|j| self.depth_m.iter().map(|d| d[j] as f64).fold(0.0, f64::max))
            .collect()
    }
}

/// A substation taken out by the scenario, in traffic time (s from 06:00).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedOutage {
    /// Index into the substations.
    pub substation: usize,
    /// Out from, s.
    pub from_s: f64,
    /// Back at, s (`f64::INFINITY`: not in this run).
    pub to_s: f64,
}

/// The power side of a scenario's traffic: the substations, when the flood takes each out
/// (traffic time, s) and the scenario's own outages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PowerPlan {
    /// The city's substations.
    pub substations: Vec<Substation>,
    /// When the flood takes each out, traffic time (s); in the run with the flood only.
    pub flood_out_s: Vec<Option<f64>>,
    /// Outages the scenario sets; in both runs.
    pub planned: Vec<PlannedOutage>,
}

/// The substation feeding each signal of `net`: the nearest to its junction (`None` for every
/// signal when the city has no substation).
pub fn feeders(net: &Network, subs: &[Substation]) -> Vec<Option<usize>> {
    (0..net.signals.len())
        .map(|s| {
            let n = net.signal_node(SignalId(s as u32))?;
            let (x, y) = (net.node_x[n.index()], net.node_y[n.index()]);
            subs.iter()
                .enumerate()
                .map(|(j, b)| (j, (b.at[0] - x).powi(2) + (b.at[1] - y).powi(2)))
                .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
                .map(|(j, _)| j)
        })
        .collect()
}

/// A signal that went dark in the run with the flood.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DarkSignal {
    /// Signal index in the traffic network.
    pub signal: usize,
    /// Junction position (m, the city's CRS).
    pub x: f64,
    /// Junction position.
    pub y: f64,
    /// The substation that feeds it.
    pub substation: String,
    /// Dark from, traffic time (s from 06:00; 0 if before the peak began).
    pub from_s: f64,
    /// Lit again at, traffic time (s); `None` if dark to the end.
    pub to_s: Option<f64>,
    /// The scenario took the substation out (not the water).
    pub planned: bool,
}

/// The dark periods of each signal: `(signal, substation, from, to, planned)` in traffic time,
/// for the run with the flood (`flood` true) or without it; a signal's overlapping periods
/// are merged (planned only if every merged period was).
pub fn dark_periods(
    net: &Network,
    plan: &PowerPlan,
    flood: bool,
) -> Vec<(usize, usize, f64, f64, bool)> {
    let feed = feeders(net, &plan.substations);
    let mut out = Vec::new();
    for (s, f) in feed.iter().enumerate() {
        let Some(j) = *f else { continue };
        let mut spans: Vec<(f64, f64, bool)> = Vec::new();
        if flood && let Some(t) = plan.flood_out_s.get(j).copied().flatten() {
            spans.push((t.max(0.0), f64::INFINITY, false));
        }
        for p in plan.planned.iter().filter(|p| p.substation == j) {
            if p.to_s > p.from_s.max(0.0) {
                spans.push((p.from_s.max(0.0), p.to_s, true));
            }
        }
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut merged: Vec<(f64, f64, bool)> = Vec::new();
        for sp in spans {
            match merged.last_mut() {
                Some(m) if sp.0 <= m.1 => {
                    m.1 = m.1.max(sp.1);
                    m.2 &= sp.2;
                }
                _ => merged.push(sp),
            }
        }
        out.extend(merged.into_iter().map(|(a, b, p)| (s, j, a, b, p)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_substation_goes_out_at_the_first_interval_over_its_threshold_and_stays_out() {
        let sub = |t: f64| Substation {
            feature: FeatureId(1),
            name: "E".into(),
            at: [0.0, 0.0],
            threshold_m: t,
        };
        let t = SubstationTimeline {
            substations: vec![sub(0.3), sub(0.5), sub(0.05)],
            ends_s: vec![300.0, 600.0, 900.0],
            depth_m: vec![
                vec![0.1, 0.1, 0.0],
                vec![0.35, 0.4, 0.0],
                vec![0.0, 0.2, 0.0],
            ],
        };
        assert_eq!(t.out_from_s(), vec![Some(300.0), None, None]);
        let m = t.max_depth_m();
        assert!((m[0] - 0.35).abs() < 1e-6 && (m[1] - 0.4).abs() < 1e-6 && m[2] == 0.0);
    }

    #[test]
    fn the_demo_districts_signals_are_each_fed_by_the_nearest_substation() {
        let city = twin_citygen::generate(&Default::default());
        let subs = substations(&city);
        assert_eq!(subs.len(), 4);
        assert!(subs.iter().all(|s| s.threshold_m == SUBSTATION_FLOOD_M));
        let g = twin_model::RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
        let net = Network::from_road_graph(&g).unwrap();
        let feed = feeders(&net, &subs);
        assert_eq!(feed.len(), net.signals.len());
        assert!(feed.iter().all(|f| f.is_some()));
        // Every substation feeds some signals.
        for j in 0..4 {
            assert!(feed.contains(&Some(j)), "substation {j} feeds none");
        }
        // Cells on each site: the 40 × 30 m footprint holds the centres of 4 × 3 cells of
        // the 10 m DEM, or one row or column fewer where its edges fall on cell centres.
        let dem = city.dem.as_ref().unwrap();
        assert_eq!(dem.cell, 10.0);
        for c in &substation_cells(&city, dem) {
            assert!((6..=12).contains(&c.len()), "{} cells", c.len());
        }
    }
}
