//! The flagship chain on a city: a flood's road impacts (closures and speed caps from
//! [`crate::impacts`]) applied to the morning peak, against the same peak without the flood.

use crate::impacts::RoadImpact;
use std::collections::HashMap;
use twin_model::{City, Layer, RoadGraph};
use twin_traffic::city_demand::{PeakConfig, morning_peak};
use twin_traffic::network::{LinkId, Network};
use twin_traffic::sim::{LinkEvent, SimConfig, Simulation, VehicleState};

/// One traffic run's totals.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficTotals {
    /// Trips simulated.
    pub trips: usize,
    /// Trips that arrived by the end.
    pub arrived: usize,
    /// Trips taken out for want of a route around closures.
    pub aborted: usize,
    /// Mean trip duration of arrived trips, s.
    pub mean_duration_s: f64,
    /// Sum of durations of arrived trips, hours.
    pub vehicle_hours: f64,
    /// Trips rerouted en route.
    pub rerouted: usize,
}

/// Baseline against flooded.
#[derive(Debug, Clone, PartialEq)]
pub struct FloodTraffic {
    /// Directed links closed by the flood.
    pub closed_links: usize,
    /// Directed links slowed by the flood.
    pub slowed_links: usize,
    /// Without the flood.
    pub baseline: TrafficTotals,
    /// With the flood's closures and speed caps.
    pub flooded: TrafficTotals,
    /// Vehicles that entered a closed link (must be 0).
    pub closed_entries: u64,
}

impl FloodTraffic {
    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let t = |x: &TrafficTotals| serde_json::json!({"trips": x.trips, "arrived": x.arrived, "aborted": x.aborted, "mean_duration_s": x.mean_duration_s, "vehicle_hours": x.vehicle_hours, "rerouted": x.rerouted});
        serde_json::json!({
            "closed_links": self.closed_links,
            "slowed_links": self.slowed_links,
            "baseline": t(&self.baseline),
            "flooded": t(&self.flooded),
            "delay_vehicle_hours": self.flooded.vehicle_hours - self.baseline.vehicle_hours,
            "closed_link_entries": self.closed_entries,
        })
    }
}

fn totals(sim: &Simulation) -> TrafficTotals {
    let r = sim.trip_results();
    let arrived: Vec<_> = r
        .iter()
        .filter(|t| t.state == VehicleState::Arrived)
        .collect();
    let sum: f64 = arrived.iter().map(|t| t.duration()).sum();
    TrafficTotals {
        trips: r.len(),
        arrived: arrived.len(),
        aborted: r
            .iter()
            .filter(|t| t.state == VehicleState::Aborted)
            .count(),
        mean_duration_s: if arrived.is_empty() {
            0.0
        } else {
            sum / arrived.len() as f64
        },
        vehicle_hours: sum / 3600.0,
        rerouted: r.iter().filter(|t| t.reroutes > 0).count(),
    }
}

/// Runs the morning peak on the city's roads with and without the flood's road impacts, the
/// same demand in both; closures and speed caps hold from the start of the peak.
pub fn flood_traffic(
    city: &City,
    impacts: &[RoadImpact],
    peak: &PeakConfig,
    end_s: f64,
) -> Result<FloodTraffic, String> {
    let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    let net = Network::from_road_graph(&g).map_err(|e| e.to_string())?;
    let demand = morning_peak(city, &net, peak).demand;
    let by_feature: HashMap<i64, &RoadImpact> = impacts.iter().map(|i| (i.feature, i)).collect();
    let mut events = Vec::new();
    let (mut closed, mut slowed) = (0, 0);
    for (i, l) in g.links.iter().enumerate() {
        if let Some(imp) = by_feature.get(&l.feature.0) {
            if imp.flooded_kmh <= 0.0 {
                events.push(LinkEvent::Closed(LinkId(i as u32), true));
                closed += 1;
            } else if imp.flooded_kmh < l.speed_kmh {
                events.push(LinkEvent::SpeedCap(
                    LinkId(i as u32),
                    Some(imp.flooded_kmh / 3.6),
                ));
                slowed += 1;
            }
        }
    }
    let mut base = Simulation::new(net.clone(), demand.clone(), SimConfig::default());
    base.run(Some(end_s));
    let mut flood = Simulation::new(net, demand, SimConfig::default());
    for e in events {
        flood.apply(e);
    }
    flood.run(Some(end_s));
    Ok(FloodTraffic {
        closed_links: closed,
        slowed_links: slowed,
        baseline: totals(&base),
        flooded: totals(&flood),
        closed_entries: flood.closed_entries(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_flooded_roads_costs_time_and_nobody_drives_them() {
        let city = twin_citygen::generate(&Default::default());
        // Flood the two busiest-looking arterial segments: every road of one arterial line.
        let impacts: Vec<RoadImpact> = city
            .layer(Layer::TrafficRoad)
            .features()
            .iter()
            .filter(|f| {
                f.kind == "road"
                    && f.name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("Đường trục dọc 2"))
            })
            .map(|f| RoadImpact {
                feature: f.id.0,
                name: f.name.clone(),
                max_depth_m: 0.4,
                free_kmh: 50.0,
                flooded_kmh: 0.0,
                flooded_length_m: 100.0,
            })
            .collect();
        assert!(impacts.len() > 10);
        let peak = PeakConfig {
            trips: 3000,
            ..PeakConfig::default()
        };
        let r = flood_traffic(&city, &impacts, &peak, 7200.0).unwrap();
        assert_eq!(r.closed_links, 2 * impacts.len());
        assert_eq!(r.baseline.trips, r.flooded.trips);
        assert_eq!(r.baseline.arrived, r.baseline.trips, "{r:?}");
        // Closing a whole arterial makes the peak slower but everyone still gets through.
        assert!(
            r.flooded.arrived + r.flooded.aborted >= r.flooded.trips * 99 / 100,
            "{r:?}"
        );
        assert!(
            r.flooded.mean_duration_s > r.baseline.mean_duration_s,
            "{r:?}"
        );
        assert_eq!(r.closed_entries, 0);
    }
}
