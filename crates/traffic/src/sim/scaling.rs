//! Scaling the demand still to depart in a run under way: what the live twin does when
//! traffic counts say more or fewer vehicles are on the roads than its demand model gives.
//!
//! The vehicles not yet departed are redrawn, at each call, from the demand as it stood at
//! the first call (never from an earlier redraw, so weights do not compound): each of its
//! trips still to depart is scheduled `⌊w⌋` times, and once more with probability `w − ⌊w⌋`,
//! where `w` is the weight the caller gives its route. The draw is a fixed hash of the seed
//! and the trip, so an unchanged weight schedules the same vehicles again and a rising weight
//! only adds vehicles. A repeat of a trip is a vehicle of its own (its id is the trip's with
//! `#k` added, its speed factor and informed draw its own), on the same route, leaving at the
//! same time.

use super::state::{Simulation, speed_factor, unit};
use crate::network::LinkId;

/// What [`Simulation::rescale_pending`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rescaled {
    /// Trips of the demand still to depart.
    pub trips: usize,
    /// Vehicles now scheduled for them.
    pub scheduled: usize,
}

/// Seed offset of the repeat draws (apart from the speed-factor and informed draws).
const DRAW: u64 = 0x5CA1_ED0D_u64;

impl Simulation {
    /// Vehicles that entered each link since the start, by link index.
    pub fn entered_total(&self) -> &[u64] {
        &self.entered_total
    }

    /// Vehicles scheduled that have not yet departed.
    pub fn to_depart(&self) -> usize {
        self.vehs.len() - self.next_departure
    }

    /// Redraws the vehicles not yet departed with `weight(route)` vehicles per trip of the
    /// demand still to depart (see the module docs); a weight below 0 or not finite counts
    /// as 1.
    pub fn rescale_pending(&mut self, weight: &dyn Fn(&[LinkId]) -> f64) -> Rescaled {
        let first = self.next_departure;
        let base = match self.base_pending.take() {
            Some(b) => b,
            None => self.vehs[first..].to_vec(),
        };
        // Every vehicle due before now has departed: what is left of the demand is what is
        // due from now on.
        let now = self.time;
        let base: Vec<_> = base.into_iter().filter(|v| v.ready >= now).collect();
        debug_assert!(
            self.vehs[first..]
                .iter()
                .all(|v| v.state == super::VehicleState::Scheduled)
        );
        self.vehs.truncate(first);
        let seed = self.cfg.seed ^ DRAW;
        for b in &base {
            let w = weight(&b.route);
            let w = if w.is_finite() && w >= 0.0 { w } else { 1.0 };
            let whole = w.floor();
            let n = whole as u32 + u32::from(unit(seed, u64::from(b.trip)) < w - whole);
            for k in 0..n {
                let mut v = b.clone();
                if k > 0 {
                    let trip = match self.repeat_trips.get(&(b.trip, k)) {
                        Some(&t) => t,
                        None => {
                            let t = self.trip_ids.len() as u32;
                            let id = format!("{}#{k}", self.trip_ids[b.trip as usize]);
                            self.trip_ids.push(id);
                            self.repeat_trips.insert((b.trip, k), t);
                            t
                        }
                    };
                    let ty = &self.types[v.vtype as usize];
                    v.trip = trip;
                    v.speed_factor = speed_factor(
                        self.cfg.seed,
                        u64::from(trip),
                        ty.speed_factor,
                        ty.speed_dev,
                    );
                }
                self.vehs.push(v);
            }
        }
        let out = Rescaled {
            trips: base.len(),
            scheduled: self.vehs.len() - first,
        };
        self.base_pending = Some(base);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::SimConfig;
    use super::*;
    use crate::demand::build_demand;
    use crate::network::tests::detour;
    use crate::sumo_routes::parse_routes;

    fn sim(n: usize) -> Simulation {
        let net = detour();
        let vehicles: String = (0..n)
            .map(|i| {
                format!(
                    r#"<vehicle id="v{i}" depart="{}"><route edges="{}"/></vehicle>"#,
                    i as f64 * 2.0,
                    if i % 2 == 0 {
                        "SA AB BC CE"
                    } else {
                        "SA AD DC CE"
                    }
                )
            })
            .collect();
        let rf = parse_routes(&format!("<routes>{vehicles}</routes>")).unwrap();
        let (d, bad) = build_demand(&net, &rf);
        assert!(bad.is_empty(), "{bad:?}");
        Simulation::new(net, d, SimConfig::default())
    }

    #[test]
    fn weights_scale_the_trips_still_to_depart_by_route_and_never_compound() {
        let mut s = sim(400);
        s.advance_to(200.0);
        // 100 trips have left (one every 2 s); 300 are due, 150 on each route.
        let bc = s.network().link("BC").unwrap();
        let w = |r: &[LinkId]| if r.contains(&bc) { 1.5 } else { 0.5 };
        let r = s.rescale_pending(&w);
        assert_eq!(r.trips, 300);
        let due: Vec<_> = s.vehs[s.next_departure..].to_vec();
        let via_bc = due.iter().filter(|v| v.route.contains(&bc)).count();
        let other = due.len() - via_bc;
        // 150 × 1.5 and 150 × 0.5, give or take the draws (binomial, σ ≈ 6).
        assert!((200..=250).contains(&via_bc), "{via_bc}");
        assert!((50..=100).contains(&other), "{other}");
        assert_eq!(r.scheduled, due.len());
        // The same weights again schedule the same vehicles.
        let again = s.rescale_pending(&w);
        assert_eq!(again, r);
        let ids = |s: &Simulation| -> Vec<u32> {
            s.vehs[s.next_departure..].iter().map(|v| v.trip).collect()
        };
        let first_ids = ids(&s);
        s.rescale_pending(&w);
        assert_eq!(ids(&s), first_ids);
        // Back to 1 restores the demand exactly.
        let one = s.rescale_pending(&|_| 1.0);
        assert_eq!(one.scheduled, 300);
        // Departures stay in time order, and the run completes with every vehicle scheduled.
        s.rescale_pending(&w);
        let ready: Vec<f64> = s.vehs[s.next_departure..].iter().map(|v| v.ready).collect();
        assert!(ready.first().is_some_and(|r| *r >= 200.0));
        assert!(ready.windows(2).all(|p| p[0] <= p[1]));
        let total = s.vehs.len();
        s.run(None);
        assert_eq!(s.counters().arrived + s.counters().aborted, total);
        let results = s.trip_results();
        assert_eq!(results.len(), total);
        let mut names: Vec<&str> = results.iter().map(|t| t.id.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), total, "every vehicle has an id of its own");
        assert!(names.iter().any(|n| n.ends_with("#1")));
        // Entries counted per link: every vehicle entered its first link SA.
        let sa = s.network().link("SA").unwrap().index();
        assert_eq!(s.entered_total()[sa] as usize, total);
    }
}
