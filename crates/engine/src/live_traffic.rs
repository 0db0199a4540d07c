//! The live twin's traffic: the city's morning-peak demand run on its roads on the live
//! loop's clock, with the roads the water closes now closed in it and the traffic counters'
//! and cameras' counts scaling the demand still to depart.
//!
//! Time: traffic time 0 is the demand model's start (06:00); model time 0 of the live loop is
//! traffic time `clock_s`. A loop that starts later than 06:00 runs the traffic from 06:00 to
//! its start first on the demand model alone (spin-up); after the demand's last departure the
//! roads empty and stay empty.
//!
//! Water: at each period's end every road's state under the water now (closed, or slowed,
//! by [`crate::impacts::road_impacts`]: Pregnolato et al. 2017, as the scenario's chain) is
//! set on its links for the next period.
//!
//! Counts (a multiplicative adjustment of the demand to link counts): every counting site
//! (a `traffic_counter` or a camera's count) is tied to the directed links of the road it
//! stands on, within [`SITE_MAX_M`]. Its factor `f` starts at 1; each period that brings a
//! count, `f ← f · ((o + K) / (m + K))^α`, clamped to [[`FACTOR_MIN`], [`FACTOR_MAX`]], where
//! `o` is the vehicles counted over the period, `m` the vehicles the model let onto the site's
//! links over the same period, `K` = [`COUNT_PRIOR`] vehicles (a quiet period does not swing
//! the factor) and α the gain (0.5: half the log ratio each period, which the lag between a
//! departure and its count does not turn into overshoot). Each trip still to depart is then
//! scheduled with the weight of the sites its route crosses (the geometric mean of their
//! factors), or, crossing none, with the day's level (the geometric mean of all sites'
//! factors): [`twin_traffic::sim::Simulation::rescale_pending`]. This is the proportional
//! update of O–D estimation from counts (the first step of Spiess's 1990 gradient method
//! for the O–D matrix adjustment problem) applied to the trips one by one, period by period.

use crate::impacts::RoadImpact;
use crate::scenario::TrafficSpec;
use geo::Distance;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use twin_model::{City, FeatureId, Layer, RoadGraph};
use twin_sensors::registry::{Kind, Registry};
use twin_traffic::city_demand::morning_peak_with_signal_plans;
use twin_traffic::network::{LinkId, Network};
use twin_traffic::sim::{LinkEvent, Simulation};

/// Farthest a counting site may stand from the road it counts, m: half a six-lane
/// cross-section (about 11 m) plus the few metres a surveyed point is off.
pub const SITE_MAX_M: f64 = 15.0;
/// Lowest factor a site may reach.
pub const FACTOR_MIN: f64 = 0.2;
/// Highest factor a site may reach.
pub const FACTOR_MAX: f64 = 5.0;
/// Vehicles added to both the count and the model's count in a factor's update.
pub const COUNT_PRIOR: f64 = 5.0;

/// The live traffic's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficConfig {
    /// Person trips of the morning peak (06:00–09:00) the demand model draws.
    pub trips: usize,
    /// Seed of the demand and the simulation.
    pub seed: u64,
    /// Traffic time at the loop's model time 0: seconds after 06:00 (negative: before).
    pub clock_s: f64,
    /// Whether counts scale the demand (false: the open loop, counts compared only).
    pub assimilate: bool,
    /// Gain α of a factor's update.
    pub gain: f64,
}

impl TrafficConfig {
    /// `trips` person trips, seed 1, from 06:00, counts assimilated with gain 0.5.
    pub fn new(trips: usize) -> TrafficConfig {
        TrafficConfig {
            trips,
            seed: 1,
            clock_s: 0.0,
            assimilate: true,
            gain: 0.5,
        }
    }
}

/// Why the live traffic could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TrafficSetupError {
    /// No drivable road.
    #[error("the city has no drivable road (Traffic & Road layer, kind road) to run traffic on")]
    NoRoads,
    /// The road network could not be built.
    #[error("traffic: {0}")]
    Network(#[from] twin_traffic::error::TrafficError),
}

/// A counting site: a sensor and the directed links it counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// The sensor's id.
    pub sensor: String,
    /// The links (indices of the road graph's directed links).
    pub links: Vec<u32>,
}

/// One site's count over a period and the model's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteCount {
    /// The sensor.
    pub sensor: String,
    /// Mean of its readings over the period, veh/h.
    pub observed_veh_h: f64,
    /// The model's vehicles onto its links over the period, veh/h.
    pub model_veh_h: f64,
    /// Its factor after the period.
    pub factor: f64,
}

/// The traffic at a period's end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrafficNow {
    /// Vehicles on the roads.
    pub on_road: usize,
    /// Vehicles scheduled still to depart.
    pub to_depart: usize,
    /// Space-mean speed of the statistics intervals completed in the period, km/h (`None`:
    /// no vehicle left a link).
    pub speed_kmh: Option<f64>,
    /// Directed links the water closes.
    pub links_closed: usize,
    /// Directed links the water slows.
    pub links_slowed: usize,
    /// The sites that counted in the period.
    pub counts: Vec<SiteCount>,
    /// The day's level: geometric mean of all sites' factors.
    pub demand_factor: f64,
}

/// The live traffic (all of it goes into the live loop's checkpoint).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveTraffic {
    sim: Simulation,
    cfg: TrafficConfig,
    sites: Vec<Site>,
    factors: Vec<f64>,
    /// Entries onto each site's links up to the last period's end.
    last_entered: Vec<u64>,
    /// Each directed link's road feature and speed limit, km/h.
    link_road: Vec<(FeatureId, f64)>,
    /// Each directed link's state under the water: speed cap, km/h (0: closed, infinite:
    /// free).
    state: Vec<f64>,
}

/// The counting sites of a registry on a road graph, and the sensors too far from any road
/// (by id).
pub fn counting_sites(g: &RoadGraph, reg: &Registry) -> (Vec<Site>, Vec<String>) {
    let mut sites = Vec::new();
    let mut far = Vec::new();
    for s in reg.sensors() {
        if !matches!(s.kind, Kind::TrafficCounter | Kind::CameraCount) {
            continue;
        }
        let p = geo::Point::new(s.x, s.y);
        let d: Vec<f64> = g
            .links
            .iter()
            .map(|l| geo::Euclidean.distance(&p, &l.geometry))
            .collect();
        let Some((best, &dmin)) = d.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)) else {
            far.push(s.id.clone());
            continue;
        };
        if dmin > SITE_MAX_M {
            far.push(s.id.clone());
            continue;
        }
        // Both directions of the road where it stands (the links of the nearest road feature
        // that pass as close).
        let road = g.links[best].feature;
        let links = (0..g.links.len())
            .filter(|&i| g.links[i].feature == road && d[i] <= dmin + 1.0)
            .map(|i| i as u32)
            .collect();
        sites.push(Site {
            sensor: s.id.clone(),
            links,
        });
    }
    (sites, far)
}

fn geo_mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        1.0
    } else {
        (v.iter().map(|f| f.ln()).sum::<f64>() / v.len() as f64).exp()
    }
}

impl LiveTraffic {
    /// The city's morning peak of `cfg.trips` person trips on its roads (the scenario's
    /// set-up: [`TrafficSpec::for_city`]), run to the loop's start; with the counting sites of
    /// `reg` and the ids of the counting sensors too far from a road to be used.
    pub fn new(
        city: &City,
        reg: &Registry,
        cfg: TrafficConfig,
    ) -> Result<(LiveTraffic, Vec<String>), TrafficSetupError> {
        let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
        if g.links.is_empty() {
            return Err(TrafficSetupError::NoRoads);
        }
        let mut net = Network::from_road_graph(&g)?;
        let spec = TrafficSpec::for_city(city, cfg.trips, cfg.seed);
        let demand =
            morning_peak_with_signal_plans(city, &mut net, &spec.peak, spec.signal_rounds).demand;
        let mut sim = Simulation::new(net, demand, spec.sim.clone());
        sim.advance_to(cfg.clock_s);
        let (sites, far) = counting_sites(&g, reg);
        let last_entered = sites
            .iter()
            .map(|s| {
                s.links
                    .iter()
                    .map(|&l| sim.entered_total()[l as usize])
                    .sum()
            })
            .collect();
        let n = g.links.len();
        Ok((
            LiveTraffic {
                factors: vec![1.0; sites.len()],
                last_entered,
                sites,
                link_road: g.links.iter().map(|l| (l.feature, l.speed_kmh)).collect(),
                state: vec![f64::INFINITY; n],
                sim,
                cfg,
            },
            far,
        ))
    }

    /// The settings.
    pub fn config(&self) -> &TrafficConfig {
        &self.cfg
    }

    /// The counting sites.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// Each site's factor.
    pub fn factors(&self) -> &[f64] {
        &self.factors
    }

    /// The simulation.
    pub fn simulation(&self) -> &Simulation {
        &self.sim
    }

    /// Runs the traffic over the period ending at model time `end_s` (of length `period_s`)
    /// under the road states set so far; then takes the period's counts (`counts`: sensor id
    /// and mean veh/h) into the sites' factors and the demand still to depart, and sets the
    /// roads' states under the water now (`impacts`: [`crate::impacts::road_impacts`] of the
    /// water above the start; empty: dry).
    pub fn advance(
        &mut self,
        end_s: f64,
        period_s: f64,
        counts: &BTreeMap<String, f64>,
        impacts: &[RoadImpact],
    ) -> TrafficNow {
        self.sim.advance_to(self.cfg.clock_s + end_s);
        let (links, _) = self.sim.take_stats();
        let speeds = twin_traffic::output::interval_speeds(self.sim.network(), &links);
        let speed_kmh = {
            let v: Vec<f64> = speeds
                .iter()
                .map(|s| s.2)
                .filter(|v| v.is_finite())
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let hours = period_s / 3600.0;
        let mut out_counts = Vec::new();
        for (k, site) in self.sites.iter().enumerate() {
            let entered: u64 = site
                .links
                .iter()
                .map(|&l| self.sim.entered_total()[l as usize])
                .sum();
            let model = (entered - self.last_entered[k]) as f64;
            self.last_entered[k] = entered;
            let Some(&obs_h) = counts.get(&site.sensor) else {
                continue;
            };
            let obs = obs_h * hours;
            if self.cfg.assimilate {
                let r = (obs + COUNT_PRIOR) / (model + COUNT_PRIOR);
                self.factors[k] =
                    (self.factors[k] * r.powf(self.cfg.gain)).clamp(FACTOR_MIN, FACTOR_MAX);
            }
            out_counts.push(SiteCount {
                sensor: site.sensor.clone(),
                observed_veh_h: obs_h,
                model_veh_h: model / hours,
                factor: self.factors[k],
            });
        }
        let level = geo_mean(&self.factors);
        if self.cfg.assimilate && !out_counts.is_empty() {
            let mut of_link: HashMap<u32, Vec<usize>> = HashMap::new();
            for (k, s) in self.sites.iter().enumerate() {
                for &l in &s.links {
                    of_link.entry(l).or_default().push(k);
                }
            }
            let factors = &self.factors;
            let weight = |route: &[LinkId]| {
                let mut crossed: Vec<usize> = route
                    .iter()
                    .filter_map(|l| of_link.get(&l.0))
                    .flatten()
                    .copied()
                    .collect();
                crossed.sort_unstable();
                crossed.dedup();
                if crossed.is_empty() {
                    level
                } else {
                    geo_mean(&crossed.iter().map(|&k| factors[k]).collect::<Vec<_>>())
                }
            };
            self.sim.rescale_pending(&weight);
        }
        self.set_roads(impacts);
        let to_depart = self.sim.to_depart();
        TrafficNow {
            on_road: self.sim.vehicles_running(),
            to_depart,
            speed_kmh,
            links_closed: self.state.iter().filter(|s| **s <= 0.0).count(),
            links_slowed: self
                .state
                .iter()
                .filter(|s| **s > 0.0 && s.is_finite())
                .count(),
            counts: out_counts,
            demand_factor: level,
        }
    }

    /// Sets each road's state under the water now, from the simulation's time on.
    fn set_roads(&mut self, impacts: &[RoadImpact]) {
        let impacts: HashMap<FeatureId, &RoadImpact> =
            impacts.iter().map(|i| (i.feature, i)).collect();
        let at = self.sim.time();
        for (i, &(road, free)) in self.link_road.iter().enumerate() {
            let now = impacts.get(&road).map_or(f64::INFINITY, |imp| {
                if imp.flooded_kmh <= 0.0 {
                    0.0
                } else if imp.flooded_kmh < free {
                    imp.flooded_kmh
                } else {
                    f64::INFINITY
                }
            });
            let before = self.state[i];
            if now == before {
                continue;
            }
            let l = LinkId(i as u32);
            if before <= 0.0 {
                self.sim.schedule(at, LinkEvent::Closed(l, false));
            }
            if now <= 0.0 {
                self.sim.schedule(at, LinkEvent::Closed(l, true));
            } else if now.is_finite() {
                self.sim
                    .schedule(at, LinkEvent::SpeedCap(l, Some(now / 3.6)));
            } else {
                self.sim.schedule(at, LinkEvent::SpeedCap(l, None));
            }
            self.state[i] = now;
        }
    }
}

/// The set-up of the traffic twin experiment: a "truth" day busier than the demand model
/// says (more trips, another draw), its counting sites read with noise every period, and two
/// live traffics from the same start — open loop and with the counts assimilated — scored on
/// the links no site counts.
#[derive(Debug, Clone)]
pub struct CountExperiment {
    /// Person trips the live twin's demand model draws.
    pub trips: usize,
    /// The truth's person trips are `trips` times this…
    pub truth_scale: f64,
    /// …drawn with this seed (the twin's is 1).
    pub truth_seed: u64,
    /// Period, s.
    pub period_s: f64,
    /// Standard deviation of the counts' relative error.
    pub noise: f64,
    /// Links scored: those whose truth flow over the scored hour is at least this, veh/h.
    pub min_flow_veh_h: f64,
    /// The hour scored starts this many seconds after 06:00.
    pub score_from_s: f64,
}

impl CountExperiment {
    /// `trips` person trips; a truth 30 % busier; counts every 5 minutes with 10 % noise;
    /// links carrying 100 veh/h or more scored over 07:00–08:00.
    pub fn standard(trips: usize) -> CountExperiment {
        CountExperiment {
            trips,
            truth_scale: 1.3,
            truth_seed: 11,
            period_s: 300.0,
            noise: 0.1,
            min_flow_veh_h: 100.0,
            score_from_s: 3600.0,
        }
    }
}

/// What the experiment found. Pairs are (open loop, assimilated).
#[derive(Debug, Clone, PartialEq)]
pub struct CountOutcome {
    /// Counting sites used.
    pub sites: usize,
    /// Links scored (none counted by a site).
    pub scored_links: usize,
    /// Vehicles of the truth, of the open loop and of the assimilated run.
    pub vehicles: [usize; 3],
    /// RMSE of the scored hour's link flows against the truth's, veh/h.
    pub rmse_veh_h: [f64; 2],
    /// Mean of (model − truth) / truth of the scored hour's flows, over the scored links.
    pub bias: [f64; 2],
    /// Share of the scored links with GEH < 5 (the usual calibration target).
    pub geh5: [f64; 2],
    /// The same RMSE at the counted links, veh/h.
    pub rmse_counted_veh_h: [f64; 2],
    /// The day's level the assimilation reached at the end.
    pub demand_factor: f64,
}

fn normal(seed: u64, i: u64) -> f64 {
    let h = |k: u64| {
        let mut z = seed
            .wrapping_add(k.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_add(i.wrapping_mul(0xD1B5_4A32_D192_ED03));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let (u1, u2) = (h(1).max(1e-300), h(2));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Runs the traffic twin experiment on `city` with the counting sites of `reg`.
pub fn count_experiment(
    city: &City,
    reg: &Registry,
    e: &CountExperiment,
) -> Result<CountOutcome, TrafficSetupError> {
    let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    let n = g.links.len();
    let (sites, _) = counting_sites(&g, reg);
    let truth_trips = (e.trips as f64 * e.truth_scale).round() as usize;
    let (mut truth, _) = LiveTraffic::new(
        city,
        reg,
        TrafficConfig {
            seed: e.truth_seed,
            assimilate: false,
            ..TrafficConfig::new(truth_trips)
        },
    )?;
    let (mut open, _) = LiveTraffic::new(
        city,
        reg,
        TrafficConfig {
            assimilate: false,
            ..TrafficConfig::new(e.trips)
        },
    )?;
    let (mut assim, _) = LiveTraffic::new(city, reg, TrafficConfig::new(e.trips))?;
    let end_s = e.score_from_s + 3600.0;
    let periods = (end_s / e.period_s).round() as usize;
    let flows = |t: &LiveTraffic| t.sim.entered_total().to_vec();
    let mut at_score = [vec![0u64; n], vec![0u64; n], vec![0u64; n]];
    let none = BTreeMap::new();
    for k in 1..=periods {
        let t_end = k as f64 * e.period_s;
        let before = flows(&truth);
        truth.advance(t_end, e.period_s, &none, &[]);
        let after = flows(&truth);
        let counts: BTreeMap<String, f64> = sites
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let v: u64 = s
                    .links
                    .iter()
                    .map(|&l| after[l as usize] - before[l as usize])
                    .sum();
                let noisy =
                    v as f64 * (1.0 + e.noise * normal(e.truth_seed, (k * 1000 + j) as u64));
                (s.sensor.clone(), noisy.max(0.0) * 3600.0 / e.period_s)
            })
            .collect();
        open.advance(t_end, e.period_s, &none, &[]);
        assim.advance(t_end, e.period_s, &counts, &[]);
        if (t_end - e.score_from_s).abs() < 1e-6 {
            at_score = [flows(&truth), flows(&open), flows(&assim)];
        }
    }
    let hour = |t: &LiveTraffic, k: usize| -> Vec<f64> {
        t.sim
            .entered_total()
            .iter()
            .zip(&at_score[k])
            .map(|(a, b)| (a - b) as f64)
            .collect()
    };
    let (qt, qo, qa) = (hour(&truth, 0), hour(&open, 1), hour(&assim, 2));
    let counted: std::collections::BTreeSet<u32> =
        sites.iter().flat_map(|s| s.links.iter().copied()).collect();
    let scored: Vec<usize> = (0..n)
        .filter(|&l| qt[l] >= e.min_flow_veh_h && !counted.contains(&(l as u32)))
        .collect();
    let counted_busy: Vec<usize> = counted
        .iter()
        .map(|&l| l as usize)
        .filter(|&l| qt[l] > 0.0)
        .collect();
    let rmse = |q: &[f64], on: &[usize]| {
        if on.is_empty() {
            return f64::NAN;
        }
        (on.iter().map(|&l| (q[l] - qt[l]).powi(2)).sum::<f64>() / on.len() as f64).sqrt()
    };
    let bias = |q: &[f64]| {
        scored.iter().map(|&l| (q[l] - qt[l]) / qt[l]).sum::<f64>() / scored.len().max(1) as f64
    };
    let geh5 = |q: &[f64]| {
        let ok = scored
            .iter()
            .filter(|&&l| {
                let (m, c) = (q[l], qt[l]);
                (2.0 * (m - c).powi(2) / (m + c).max(1e-9)).sqrt() < 5.0
            })
            .count();
        ok as f64 / scored.len().max(1) as f64
    };
    let vehicles = |t: &LiveTraffic| t.sim.trip_results().len();
    Ok(CountOutcome {
        sites: sites.len(),
        scored_links: scored.len(),
        vehicles: [vehicles(&truth), vehicles(&open), vehicles(&assim)],
        rmse_veh_h: [rmse(&qo, &scored), rmse(&qa, &scored)],
        bias: [bias(&qo), bias(&qa)],
        geh5: [geh5(&qo), geh5(&qa)],
        rmse_counted_veh_h: [rmse(&qo, &counted_busy), rmse(&qa, &counted_busy)],
        demand_factor: geo_mean(&assim.factors),
    })
}
