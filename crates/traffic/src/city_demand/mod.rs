//! Trips generated from the city layers: a seeded, deterministic morning peak.
//!
//! * **Productions** are residential buildings (Building layer, attribute `residents`),
//!   **attractions** are workplaces and schools: `jobs` on buildings and on Economic and
//!   Public Service features, plus `students` on Public Service features. Every feature is
//!   attached to the road node nearest to its centroid (among nodes with a way in and a way
//!   out), so productions `O_i` and attractions `D_j` are sums per node.
//! * **Distribution** by a production-constrained gravity model with exponential deterrence on
//!   the free-flow network travel time (Wilson 1970, *Entropy in Urban and Regional
//!   Modelling*; Ortúzar & Willumsen, *Modelling Transport*, 4th ed., 2011, ch. 5):
//!   `T_ij = O_i · D_j · exp(−β c_ij) / Σ_k D_k · exp(−β c_ik)`, with `c_ij` the fastest
//!   free-flow time from node `i` to node `j` (one Dijkstra tree per origin node over links,
//!   so turn bans count). The trip count is a parameter: each trip draws its origin node with
//!   probability `O_i / Σ O`, then its destination with probability `T_ij / O_i`.
//! * A trip whose origin and destination attach to the same node has no road to drive: it is
//!   dropped and counted ([`CityDemand::same_node`]); an origin from which no attraction can be
//!   reached gives [`Unroutable`] trips with the reason.
//! * **Departure times** over the peak window follow a mixture of a uniform and a triangular
//!   profile (mode at [`PeakConfig::mode`] of the way through) whose busiest 15 minutes carry
//!   the share `1 / (4 PHF)` of a one-hour window, for the peak hour factor
//!   [`PeakConfig::peak_hour_factor`] (HCM 2010 ch. 4 and 18; default 0.92, the HCM default
//!   for urban streets): no hourly count profile for Hanoi is available (hanoi-facts §3), and
//!   a pure triangle over one hour (PHF 0.57) is far more peaked than counted peak hours.
//! * **Vehicle classes** by share ([`ClassShares`]); the default 80 % motorbike, 15 % car,
//!   3 % bus, 2 % truck reflects Hanoi's fleet of more than 6.6 million motorcycles and
//!   184,000 e-motorbikes against about 1 million cars (Hanoi Department of Transport,
//!   February 2023: 87 % two-wheelers), lowered for the larger share of cars and buses on
//!   the road at peak than in the registered fleet.
//! * **Routes** by incremental loading (Ortúzar & Willumsen 2011, ch. 10): the trips of every
//!   origin are split into [`PeakConfig::assignment_steps`] shares; each share is routed on
//!   the fastest paths for link times from Akçelik's time-dependent function
//!   ([`akcelik_time`]) of the volume (in PCU) loaded by
//!   the shares before it, against the capacity of each link's downstream end
//!   ([`Network::link_capacity`]: lanes × the HCM base saturation flow × the green ratio of
//!   the current signal plans). One step is all-or-nothing on free-flow times.
//! * Motorbikes take 2.25 m of queue per lane (1.9 m + 0.35 m gap), their PCU share of a
//!   car's 7.5 m, since they queue side by side in a lane.
//! * **The peak period and the city around** ([`PeakConfig::morning_peak_period`]): the
//!   window can be the 3-hour morning peak period with a given share in its central hour
//!   ([`PEAK_HOUR_SHARE_OF_PERIOD`]; route loading and signal timing then take the busiest
//!   quarter's rate, [`PeakConfig::design_rate_factor`]); gateway zones at the network's edge
//!   stand for the rest of the city in the same gravity model, giving outbound, inbound and
//!   through trips ([`ExternalCity`]); a share of the person trips rides the bus
//!   ([`PeakConfig::transit_share`]) on lines between gateways ([`BusService`]), or, where
//!   the city holds a timetable feed's lines (`bus_line` features, [`feed`]), on those.
//!
//! Random draws come from a SplitMix64 stream (Steele, Lea & Flood 2014) seeded by
//! [`PeakConfig::seed`]; the same city, network and configuration give the same trips.

use crate::demand::{Demand, Trip, Unroutable, VehicleType};
use crate::network::{LinkId, Network};
use twin_model::{City, Layer};

mod draw;
pub mod feed;
mod spatial;
use draw::{Rng, depart_time, pick};
use spatial::{Snapper, centroid, path_to, tree};

/// Share of each vehicle class among the generated trips (normalised by their sum).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassShares {
    /// Motorbikes.
    pub motorbike: f64,
    /// Cars.
    pub car: f64,
    /// Buses.
    pub bus: f64,
    /// Trucks.
    pub truck: f64,
}

impl Default for ClassShares {
    fn default() -> Self {
        Self {
            motorbike: 0.80,
            car: 0.15,
            bus: 0.03,
            truck: 0.02,
        }
    }
}

/// Settings of the morning-peak generator.
#[derive(Debug, Clone, PartialEq)]
pub struct PeakConfig {
    /// Trips to draw (before dropping same-node trips).
    pub trips: usize,
    /// Seed of the random stream.
    pub seed: u64,
    /// Deterrence parameter β per minute of free-flow travel time.
    pub beta_per_min: f64,
    /// Start of the peak window (s, simulation time).
    pub start: f64,
    /// Length of the peak window (s).
    pub duration: f64,
    /// Position of the profile's mode as a fraction of the window (0..=1).
    pub mode: f64,
    /// Vehicle class shares.
    pub shares: ClassShares,
    /// Increments of the incremental route loading (1: all-or-nothing on free-flow times).
    pub assignment_steps: usize,
    /// Peak hour factor of the departure profile (hour volume over four times the busiest
    /// 15 minutes' volume), for a one-hour window; between 0.25 and 1 (see module docs).
    /// Values at or below the pure triangle's give the triangle.
    pub peak_hour_factor: f64,
    /// For a window longer than an hour (a peak *period*): the share of its trips that
    /// depart in its central hour, the peak hour, which then sets the profile instead of
    /// [`PeakConfig::peak_hour_factor`] (see [`MORNING_PEAK_PERIOD_S`]). `None`: the window
    /// is the peak hour.
    pub peak_hour_share: Option<f64>,
    /// The rest of the city beyond the network's edge, reached through gateway zones
    /// ([`ExternalCity`]); `None`: every trip starts and ends inside the network.
    pub external: Option<ExternalCity>,
    /// Share of the drawn person trips made by public transport (0..1): their travellers
    /// ride the bus lines of [`PeakConfig::bus`] and need no vehicle of their own.
    pub transit_share: f64,
    /// Bus lines run through the network during the window; `None`: no lines.
    pub bus: Option<BusService>,
    /// When retiming the signals for the peak
    /// ([`morning_peak_with_signal_plans`]), give left turns that meet the HCM cross-product
    /// warrant a protected phase first ([`Network::add_protected_lefts`]).
    pub protected_lefts: bool,
}

/// The city around the modelled network, for trips that enter, leave or cross it: a
/// subarea ("window") of a regional model in the sense of FHWA's *Travel Model Improvement
/// Program* subarea practice, with the region replaced by a uniform city.
///
/// Around the network the city is taken as a plane with the network's own densities of
/// residents and of jobs and school places (per km² of the network's bounding box), driven
/// at [`ExternalCity::speed_kmh`]. Each open side of the bounding box faces the sector of
/// that plane seen from the box's centre through the side (angle `θ`, at distance `R₀` from
/// the centre); with the gravity model's exponential deterrence `exp(−β t)` the opportunities
/// beyond the side, discounted by the time driven outside from the side, add up to
/// `ρ θ (R₀/k + 1/k²)` with `k = β / v` (the integral of `exp(−k r) (R₀ + r) θ dr` over the
/// sector). That mass is shared among the side's **gateways** — the dead-end nodes of the
/// network on that side, where roads leave it — by the lanes of their link into the network.
///
/// * Residents of the network choose between its destinations and the gateways' masses in
///   the same production-constrained gravity model (**outbound** trips).
/// * Residents beyond a side (mass `ρ_R θ (R₀/k + 1/k²)`, shared alike) make trips whose
///   destinations spread over the whole plane, `ρ_J 2π / k²` of discounted opportunities; the
///   share of those that lie in the network (**inbound**) or beyond a gateway of another side
///   (**through**) comes from the same deterrence, timed on the network. Through trips enter
///   and leave by arterial gateways only ([`THROUGH_MIN_LANES`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExternalCity {
    /// Speed of the trips' outside part (km/h).
    pub speed_kmh: f64,
    /// Sides of the bounding box that face the city (west, south, east, north); a closed side
    /// (a river without a bridge) has no gateway.
    pub open_sides: [bool; 4],
}

/// Sides of the road network's bounding box (west, south, east, north) through which trips
/// reach the rest of the city ([`ExternalCity::open_sides`]): all but those facing a river
/// that lies wholly beyond the side (the Environment layer's `river` features; a bridge is
/// not looked for).
pub fn open_sides(city: &City) -> [bool; 4] {
    use geo::BoundingRect;
    let rect = |layer: Layer, kind: &str| {
        city.layer(layer)
            .features()
            .iter()
            .filter(|f| f.kind == kind)
            .filter_map(|f| f.geometry.bounding_rect())
            .collect::<Vec<_>>()
    };
    let roads = rect(Layer::TrafficRoad, "road");
    let Some(first) = roads.first() else {
        return [true; 4];
    };
    let (mut lo, mut hi) = (first.min(), first.max());
    for r in &roads {
        lo.x = lo.x.min(r.min().x);
        lo.y = lo.y.min(r.min().y);
        hi.x = hi.x.max(r.max().x);
        hi.y = hi.y.max(r.max().y);
    }
    let mut open = [true; 4];
    for r in rect(Layer::Environment, "river") {
        open[0] &= r.max().x > lo.x;
        open[1] &= r.max().y > lo.y;
        open[2] &= r.min().x < hi.x;
        open[3] &= r.min().y < hi.y;
    }
    open
}

/// Peak-hour speed on Hanoi's congested arterials, 20–25 km/h (TomTom samples of six
/// arterials, hanoi-facts §3): the midpoint, for the part of a trip driven outside the
/// district.
pub const OUTSIDE_SPEED_KMH: f64 = 22.5;

/// Bus lines through the network: route-directions per km² of the network's bounding box and
/// departures per route-direction per hour. Each line runs between two gateways of
/// different sides that carry two or more lanes (buses stay off alleys), on the fastest
/// free-flow path, at a fixed headway from a seeded offset. Buses are not rerouted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BusService {
    /// Route-directions crossing each km².
    pub route_directions_per_km2: f64,
    /// Departures per route-direction and hour.
    pub departures_per_hour: f64,
}

/// Hanoi's bus service in the inner city, from the 2018 Hanoi Bus GTFS (agency Arup), in the
/// subset for 105.8007–105.8378 E, 21.0020–21.0217 N (Đống Đa, Thanh Xuân, Ba Đình; 3.85 ×
/// 2.18 km = 8.4 km²; shared/data/hanoi): 63 route-directions serve that area, 7.5 per km²,
/// with 2,447 trips between 09:34 and 18:00, 5.3 departures per route-direction and hour
/// between 10:00 and 17:00 (an off-peak rate: peak service is not lower).
pub const HANOI_BUS: BusService = BusService {
    route_directions_per_km2: 63.0 / 8.4,
    departures_per_hour: 5.3,
};

/// Public transport's share of trips in Hanoi: 18.5 % (Hanoi Department of Transport,
/// 2023; hanoi-facts §3).
pub const HANOI_TRANSIT_SHARE: f64 = 0.185;

/// Length of the morning peak period (s): 06:00–09:00, the a.m. peak period of U.S. travel
/// surveys (NHTS; Falcocchio & Levinson, *Road Traffic Congestion: A Concise Guide*, 2015,
/// ch. 5, where the two 3-hour peak periods carry about half of weekday travel).
pub const MORNING_PEAK_PERIOD_S: f64 = 3.0 * 3600.0;

/// Share of the morning peak period's trips in its peak hour: the peak hour carries 8–12 %
/// of daily traffic (FHWA, *Model Validation and Reasonableness Checking Manual*, 1997,
/// §6.0: K-factors), taken as 10 %, and the 3-hour a.m. peak period a quarter of it (half
/// of weekday travel in two peak periods, Falcocchio & Levinson 2015, ch. 5): 0.10 / 0.25.
/// With the uniform–triangular profile this gives a peak hour factor of 0.94 inside the
/// peak hour, near HCM's 0.92 for urban streets.
pub const PEAK_HOUR_SHARE_OF_PERIOD: f64 = 0.10 / 0.25;

/// HCM 2010 default peak hour factor for urban streets.
pub const HCM_PEAK_HOUR_FACTOR: f64 = 0.92;

/// Weight of the uniform part of the departure mixture for a window of `duration` seconds
/// and peak hour factor `phf`, so that the busiest 15 minutes of the symmetric profile carry
/// `900 / (duration · phf)` of the trips.
pub fn uniform_weight(duration: f64, phf: f64) -> f64 {
    if duration <= 900.0 || phf.is_nan() || phf <= 0.0 {
        return 0.0;
    }
    let uni = 900.0 / duration;
    let tri = 1.0 - 4.0 * ((duration / 2.0 - 450.0) / duration).powi(2);
    let target = (uni / phf.min(1.0)).clamp(uni, tri);
    ((tri - target) / (tri - uni)).clamp(0.0, 1.0)
}

/// Weight of the uniform part of the departure mixture over a window of `duration` seconds
/// for which the central `span` seconds carry the share `share` of the trips (the triangle's
/// mode at the centre): the general form of [`uniform_weight`].
pub fn uniform_weight_for_share(duration: f64, span: f64, share: f64) -> f64 {
    if duration <= span || share.is_nan() {
        return 0.0;
    }
    let uni = span / duration;
    let tri = 1.0 - 4.0 * ((duration / 2.0 - span / 2.0) / duration).powi(2);
    let target = share.clamp(uni, tri);
    ((tri - target) / (tri - uni)).clamp(0.0, 1.0)
}

/// Share of a window's trips in its busiest 15 minutes (the central ones) for the mixture
/// weight `w_uniform`.
pub fn busiest_quarter_share(duration: f64, w_uniform: f64) -> f64 {
    if duration <= 900.0 {
        return 1.0;
    }
    let uni = 900.0 / duration;
    let tri = 1.0 - 4.0 * ((duration / 2.0 - 450.0) / duration).powi(2);
    w_uniform * uni + (1.0 - w_uniform) * tri
}

impl PeakConfig {
    /// The morning peak as a transport planner models it on a district of a large city:
    /// trips over the 3-hour peak period with its peak hour inside
    /// ([`MORNING_PEAK_PERIOD_S`], [`PEAK_HOUR_SHARE_OF_PERIOD`]); trips to, from and through
    /// the rest of the city by gateway zones ([`ExternalCity`] at [`OUTSIDE_SPEED_KMH`]);
    /// [`HANOI_TRANSIT_SHARE`] of the person trips by bus on lines at [`HANOI_BUS`]'s
    /// density and frequency, the rest in motorbikes, cars and trucks in the proportions of
    /// [`ClassShares::default`] without its buses. `trips` person trips. Left turns stay
    /// permissive ([`PeakConfig::protected_lefts`] off): on the demo district the HCM
    /// warrant's protected phases lengthened the cycles and added spillback
    /// (benches/results/traffic-demo.md).
    pub fn morning_peak_period(trips: usize) -> PeakConfig {
        PeakConfig {
            trips,
            start: 0.0,
            duration: MORNING_PEAK_PERIOD_S,
            peak_hour_share: Some(PEAK_HOUR_SHARE_OF_PERIOD),
            external: Some(ExternalCity {
                speed_kmh: OUTSIDE_SPEED_KMH,
                open_sides: [true; 4],
            }),
            transit_share: HANOI_TRANSIT_SHARE,
            bus: Some(HANOI_BUS),
            protected_lefts: false,
            shares: ClassShares {
                bus: 0.0,
                ..ClassShares::default()
            },
            ..PeakConfig::default()
        }
    }

    /// Mixture weight of the uniform part of the departure profile.
    pub fn uniform_weight(&self) -> f64 {
        let d = self.duration.max(0.0);
        match self.peak_hour_share {
            Some(share) if d > 3600.0 => uniform_weight_for_share(d, 3600.0, share),
            _ => uniform_weight(d, self.peak_hour_factor),
        }
    }

    /// Hourly flow rate of the busiest 15 minutes per trip of the window (1/h): what a
    /// volume of trips over the whole window is multiplied by to give the design flow rate
    /// of signal timing and route loading (HCM 2010 ch. 18: hour volume / PHF).
    pub fn design_rate_factor(&self) -> f64 {
        match self.peak_hour_share {
            Some(_) if self.duration > 3600.0 => {
                4.0 * busiest_quarter_share(self.duration, self.uniform_weight())
            }
            _ => 3600.0 / self.duration.max(1.0) / self.peak_hour_factor.clamp(0.25, 1.0),
        }
    }
}

/// Akçelik's delay parameter `J` for interrupted urban arterials (Akçelik 1991, Table 1).
pub const AKCELIK_J: f64 = 0.4;

/// Akçelik's time-dependent link travel time (Akçelik 1991, "Travel time functions for
/// transport planning purposes: Davidson's function, its time-dependent form and an
/// alternative travel time function", *Australian Road Research* 21(3)):
/// `t = t₀ + 0.25 T [(x − 1) + √((x − 1)² + 8 J x / (Q T))]` (hours), with `x = v / Q`, `Q`
/// the capacity (PCU/h), `T` the length of the flow period (h). Unlike the BPR function it
/// grows like the queue of an oversaturated period (`≈ T (x − 1) / 2` for `x > 1`), so a
/// route through a junction loaded beyond its capacity for the whole peak costs what the
/// queue there will cost. Inputs and output in seconds except `flow` and `capacity` (PCU/h).
pub fn akcelik_time(free: f64, flow: f64, capacity: f64, period_s: f64) -> f64 {
    let q = capacity.max(1.0);
    let t_h = (period_s / 3600.0).max(1e-6);
    let x = flow.max(0.0) / q;
    let z = x - 1.0;
    free + 0.25 * period_s * (z + (z * z + 8.0 * AKCELIK_J * x / (q * t_h)).sqrt())
}

/// BPR link performance function `t = t₀ (1 + α (v/c)^β)` (Bureau of Public Roads,
/// *Traffic Assignment Manual*, 1964): α.
pub const BPR_ALPHA: f64 = 0.15;
/// BPR exponent β.
pub const BPR_POWER: i32 = 4;

impl Default for PeakConfig {
    fn default() -> Self {
        Self {
            trips: 10_000,
            seed: 1,
            beta_per_min: 0.15,
            start: 0.0,
            duration: 3600.0,
            mode: 0.5,
            shares: ClassShares::default(),
            assignment_steps: 4,
            peak_hour_factor: HCM_PEAK_HOUR_FACTOR,
            peak_hour_share: None,
            external: None,
            transit_share: 0.0,
            bus: None,
            protected_lefts: false,
        }
    }
}

/// Generated demand and what was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct CityDemand {
    /// Routed trips, sorted by departure. Types: 0 motorbike, 1 car, 2 bus, 3 truck.
    pub demand: Demand,
    /// Trips drawn whose origin and destination attach to the same node (dropped).
    pub same_node: usize,
    /// Trips with no reachable destination, with reasons.
    pub unroutable: Vec<Unroutable>,
    /// Residents attached to the network (sum of productions).
    pub residents: f64,
    /// Jobs and school places attached to the network (sum of attractions).
    pub attractions: f64,
    /// Nodes with productions.
    pub origin_nodes: usize,
    /// Nodes with attractions.
    pub destination_nodes: usize,
    /// Gateway zones at the network's edge (see [`ExternalCity`]).
    pub gateways: Vec<Gateway>,
    /// Person trips drawn by kind: internal, outbound, inbound, through.
    pub by_kind: [usize; 4],
    /// Person trips made by bus (no vehicle of their own).
    pub transit_riders: usize,
    /// Bus runs on the lines (also in `demand`).
    pub bus_runs: usize,
    /// Lines of a timetable feed stored in the city that run (0: the synthetic lines of
    /// [`PeakConfig::bus`] run, or none).
    pub bus_feed_lines: usize,
    /// Stored feed lines that no longer follow the network's links, or whose departures do
    /// not read (not run), named.
    pub bus_feed_not_run: Vec<String>,
}

/// A gateway zone: a dead-end node of the network on an open side of its bounding box.
#[derive(Debug, Clone, PartialEq)]
pub struct Gateway {
    /// The node.
    pub node: u32,
    /// Side: 0 west, 1 south, 2 east, 3 north.
    pub side: usize,
    /// Lanes of its link into the network.
    pub lanes: u32,
    /// Discounted jobs and school places beyond it (attraction mass of outbound trips).
    pub attraction: f64,
    /// Discounted residents beyond it (production mass of inbound and through trips).
    pub production: f64,
}

/// Lanes per direction of the roads that carry through traffic: arterials and the ring (2
/// and 3 here), not local streets and alleys, which serve access to the land beside them and
/// are not meant for through movements (FHWA, *Highway Functional Classification Concepts,
/// Criteria and Procedures*, 2013, §3.1: local roads discourage through traffic; arterials
/// serve it).
pub const THROUGH_MIN_LANES: u32 = 2;

/// Kind of trip by where it starts and ends.
const INTERNAL: usize = 0;
const OUTBOUND: usize = 1;
const INBOUND: usize = 2;
const THROUGH: usize = 3;

/// Gateways of `net` for `ext`: dead-end nodes (one link out, one link in, to the same
/// neighbour) within 1 m of a side of the bounding box of the nodes, on an open side.
fn gateways(net: &Network, ext: &ExternalCity) -> Vec<Gateway> {
    let nn = net.node_count();
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for n in 0..nn {
        x0 = x0.min(net.node_x[n]);
        x1 = x1.max(net.node_x[n]);
        y0 = y0.min(net.node_y[n]);
        y1 = y1.max(net.node_y[n]);
    }
    let mut outs: Vec<Vec<usize>> = vec![Vec::new(); nn];
    let mut ins: Vec<Vec<usize>> = vec![Vec::new(); nn];
    for l in 0..net.link_count() {
        outs[net.link_from[l].index()].push(l);
        ins[net.link_to[l].index()].push(l);
    }
    let mut out = Vec::new();
    for n in 0..nn {
        if outs[n].len() != 1 || ins[n].len() != 1 {
            continue;
        }
        let (x, y) = (net.node_x[n], net.node_y[n]);
        let side = if (x - x0).abs() < 1.0 {
            0
        } else if (y - y0).abs() < 1.0 {
            1
        } else if (x - x1).abs() < 1.0 {
            2
        } else if (y - y1).abs() < 1.0 {
            3
        } else {
            continue;
        };
        if !ext.open_sides[side] {
            continue;
        }
        out.push(Gateway {
            node: n as u32,
            side,
            lanes: net.link_lanes[outs[n][0]],
            attraction: 0.0,
            production: 0.0,
        });
    }
    out
}

/// Generate a morning peak on `net` (built from `city`'s road graph, so node ids and
/// positions are the city's) from the layers of `city` (rules in the module docs).
///
/// The steps, in the order of their random draws: trip ends and their masses
/// (`trip_ends`, `land_use_masses`), the gateways and the city beyond them
/// (`outside_masses`), origins (`origin_weights`, drawn per trip), destinations, classes
/// and departures (`choose_destinations`), bus lines (`bus_lines`), then routes by
/// incremental loading (`load_routes`).
pub fn morning_peak(city: &City, net: &Network, cfg: &PeakConfig) -> CityDemand {
    let nn = net.node_count();
    let nl = net.link_count();
    let (usable, links_into) = trip_ends(net);
    let mut out = empty_demand();
    if usable.is_empty() || cfg.trips == 0 {
        return out;
    }
    let (prod, attr) = land_use_masses(city, net, &usable);
    out.residents = prod.iter().sum();
    out.attractions = attr.iter().sum();
    out.origin_nodes = prod.iter().filter(|&&x| x > 0.0).count();
    out.destination_nodes = attr.iter().filter(|&&x| x > 0.0).count();
    if out.residents <= 0.0 || out.attractions <= 0.0 {
        return out;
    }
    let mut rng = Rng(cfg.seed);
    let free: Vec<f64> = (0..nl).map(|l| net.free_time(LinkId(l as u32))).collect();
    let mut trees = Trees {
        dist: vec![f64::INFINITY; nl],
        prev: vec![u32::MAX; nl],
    };
    let beta = cfg.beta_per_min / 60.0;
    let bbox = node_bbox(net);
    let (bx0, by0, bx1, by1) = bbox;
    let area = ((bx1 - bx0) * (by1 - by0)).max(1.0);
    let (gates, ext_attr, plane_opportunities) = outside_masses(
        net,
        cfg,
        beta,
        out.residents / area,
        out.attractions / area,
        bbox,
    );
    let mut gate_of: Vec<Option<usize>> = vec![None; nn];
    for (i, g) in gates.iter().enumerate() {
        gate_of[g.node as usize] = Some(i);
    }
    let zones = Zones {
        links_into,
        attr,
        gates,
        ext_attr,
        gate_of,
        beta_per_min: cfg.beta_per_min,
    };
    let origin_weight = origin_weights(net, &zones, &prod, &free, plane_opportunities, &mut trees);
    let mut cum = Vec::with_capacity(origin_weight.len());
    let mut acc = 0.0;
    for &p in &origin_weight {
        acc += p;
        cum.push(acc);
    }
    let mut count = vec![0usize; origin_weight.len()];
    for _ in 0..cfg.trips {
        count[pick(&cum, rng.unit())] += 1;
    }
    let pending = choose_destinations(
        net, &zones, cfg, &count, &free, &mut rng, &mut trees, &mut out,
    );
    let capacity = net.link_capacity(crate::sim::HCM_SATURATION_HEADWAY);
    let mut volume = vec![0.0; nl];
    let (stored, not_run) = match cfg.bus {
        Some(_) => feed::stored_lines(city, net),
        None => (Vec::new(), Vec::new()),
    };
    let bus_pcu = out.demand.types[BUS_TYPE].pcu;
    let bus_trips = match &cfg.bus {
        Some(_) if !stored.is_empty() || !not_run.is_empty() => {
            out.bus_feed_lines = stored.len();
            feed_runs(&stored, cfg, &mut volume, bus_pcu)
        }
        Some(bus) => bus_lines(
            net,
            &zones,
            cfg,
            bus,
            area,
            &free,
            &mut rng,
            &mut trees,
            &mut volume,
            bus_pcu,
        ),
        None => Vec::new(),
    };
    out.bus_feed_not_run = not_run;
    out.bus_runs = bus_trips.len();
    let routes = load_routes(
        net,
        &zones,
        cfg,
        &pending,
        &free,
        &capacity,
        &mut volume,
        &mut trees,
        &out.demand.types,
    );
    out.gateways = zones.gates;
    for (p, route) in pending.into_iter().zip(routes) {
        out.demand.trips.push(Trip {
            id: p.id,
            vtype: p.vtype,
            depart: p.depart,
            route,
        });
    }
    out.demand.trips.extend(bus_trips);
    out.demand
        .trips
        .sort_by(|x, y| x.depart.total_cmp(&y.depart));
    out
}

/// Index of the bus type in the morning peak's vehicle types.
const BUS_TYPE: usize = 2;

/// Work arrays of the shortest-path trees over links ([`tree`]).
struct Trees {
    dist: Vec<f64>,
    prev: Vec<u32>,
}

/// The zones of a morning peak: attractions per node, gateways and the outside attractions
/// beyond them, and the links into each node.
struct Zones {
    links_into: Vec<Vec<u32>>,
    attr: Vec<f64>,
    gates: Vec<Gateway>,
    ext_attr: Vec<f64>,
    gate_of: Vec<Option<usize>>,
    beta_per_min: f64,
}

impl Zones {
    /// Time from `dist` (a tree from some node) to the end of a link into node j.
    fn reach(&self, dist: &[f64], j: usize) -> f64 {
        self.links_into[j]
            .iter()
            .map(|&l| dist[l as usize])
            .fold(f64::INFINITY, f64::min)
    }

    /// Destination weight of node j for a trip from a resident (`from_gate` None) or from
    /// beyond gateway `from_gate` (no destination beyond its own side), at time t.
    fn dest_weight(&self, j: usize, t: f64, from_gate: Option<usize>) -> (f64, f64) {
        let gates = &self.gates;
        let f = (-self.beta_per_min * t / 60.0).exp();
        let ext = match (self.gate_of[j], from_gate) {
            (Some(h), Some(g))
                if gates[h].side == gates[g].side
                    || gates[h].lanes < THROUGH_MIN_LANES
                    || gates[g].lanes < THROUGH_MIN_LANES =>
            {
                0.0
            }
            (Some(_), _) => self.ext_attr[j],
            (None, _) => 0.0,
        };
        (self.attr[j] * f, ext * f)
    }
}

/// A person trip with its destination chosen, waiting for a route.
struct Pending {
    id: String,
    origin: u32,
    dest: u32,
    depart: f64,
    vtype: usize,
    /// Incremental-loading step that routes it.
    step: usize,
}

/// The demand before anything is drawn: the four vehicle types and no trips.
fn empty_demand() -> CityDemand {
    // Motorbikes ride two or three abreast in a lane in Hanoi's mixed traffic: their road
    // space in a queue is their passenger-car-unit share (0.3, the discharge factor) of a
    // car's 7.5 m (5 m + 2.5 m gap), 2.25 m, instead of SUMO's single-file 2.2 m + 2.5 m.
    let mut moto = VehicleType::sumo_default("motorbike", "motorcycle");
    moto.length = 1.9;
    moto.min_gap = 0.35;
    let types = vec![
        moto,
        VehicleType::sumo_default("car", "passenger"),
        VehicleType::sumo_default("bus", "bus"),
        VehicleType::sumo_default("truck", "truck"),
    ];
    CityDemand {
        demand: Demand {
            types,
            trips: Vec::new(),
        },
        same_node: 0,
        unroutable: Vec::new(),
        residents: 0.0,
        attractions: 0.0,
        origin_nodes: 0,
        destination_nodes: 0,
        gateways: Vec::new(),
        by_kind: [0; 4],
        transit_riders: 0,
        bus_runs: 0,
        bus_feed_lines: 0,
        bus_feed_not_run: Vec::new(),
    }
}

/// Nodes a trip can start and end at (a way out and a way in), and the links into each node.
fn trip_ends(net: &Network) -> (Vec<u32>, Vec<Vec<u32>>) {
    let nn = net.node_count();
    let mut has_out = vec![false; nn];
    let mut has_in = vec![false; nn];
    let mut links_into: Vec<Vec<u32>> = vec![Vec::new(); nn];
    for l in 0..net.link_count() {
        has_out[net.link_from[l].index()] = true;
        has_in[net.link_to[l].index()] = true;
        links_into[net.link_to[l].index()].push(l as u32);
    }
    let usable: Vec<u32> = (0..nn as u32)
        .filter(|&n| has_out[n as usize] && has_in[n as usize])
        .collect();
    (usable, links_into)
}

/// Productions (residents) and attractions (jobs and school places) per node, each feature
/// attached to the usable node nearest its centroid.
fn land_use_masses(city: &City, net: &Network, usable: &[u32]) -> (Vec<f64>, Vec<f64>) {
    let nn = net.node_count();
    let snap = Snapper::new(net, usable);
    let mut prod = vec![0.0; nn];
    let mut attr = vec![0.0; nn];
    let positive = |v: Option<f64>| v.filter(|x| x.is_finite() && *x > 0.0).unwrap_or(0.0);
    for f in city.layer(Layer::Building).features() {
        let (r, j) = (positive(f.num("residents")), positive(f.num("jobs")));
        if r + j <= 0.0 {
            continue;
        }
        if let Some(p) = centroid(f) {
            let n = snap.nearest(p) as usize;
            prod[n] += r;
            attr[n] += j;
        }
    }
    // Residents a population block holds beyond its mapped buildings (a built city whose map
    // lacks buildings there): their trips start at the block.
    for f in city.layer(Layer::Population).features() {
        let r = positive(f.num("unplaced_residents"));
        if r <= 0.0 {
            continue;
        }
        if let Some(p) = centroid(f) {
            prod[snap.nearest(p) as usize] += r;
        }
    }
    for layer in [Layer::Economic, Layer::PublicService] {
        for f in city.layer(layer).features() {
            let a = positive(f.num("jobs")) + positive(f.num("students"));
            if a <= 0.0 {
                continue;
            }
            if let Some(p) = centroid(f) {
                attr[snap.nearest(p) as usize] += a;
            }
        }
    }
    (prod, attr)
}

/// Bounding box of the network's nodes: (x0, y0, x1, y1).
fn node_bbox(net: &Network) -> (f64, f64, f64, f64) {
    (0..net.node_count()).fold(
        (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
        |(a, b, c, d), n| {
            (
                a.min(net.node_x[n]),
                b.min(net.node_y[n]),
                c.max(net.node_x[n]),
                d.max(net.node_y[n]),
            )
        },
    )
}

/// Gateway zones and the masses of the city beyond them (see [`ExternalCity`]) for the
/// district's densities of residents `rho_r` and attractions `rho_j` (per m²): the gateways
/// with their masses, the outside attraction at each node, and the discounted opportunities
/// of the whole plane around an outside point, ρ_J 2π / k².
fn outside_masses(
    net: &Network,
    cfg: &PeakConfig,
    beta: f64,
    rho_r: f64,
    rho_j: f64,
    (bx0, by0, bx1, by1): (f64, f64, f64, f64),
) -> (Vec<Gateway>, Vec<f64>, f64) {
    let mut gates = match &cfg.external {
        Some(ext) if ext.speed_kmh > 0.0 && beta > 0.0 => gateways(net, ext),
        _ => Vec::new(),
    };
    let mut ext_attr = vec![0.0; net.node_count()];
    let mut plane_opportunities = 0.0;
    if let Some(ext) = &cfg.external
        && !gates.is_empty()
    {
        let k = beta / (ext.speed_kmh / 3.6);
        let (cx, cy) = (0.5 * (bx0 + bx1), 0.5 * (by0 + by1));
        // Distance from the centre to each side and half the side's length.
        let geom = [
            (cx - bx0, 0.5 * (by1 - by0)),
            (cy - by0, 0.5 * (bx1 - bx0)),
            (bx1 - cx, 0.5 * (by1 - by0)),
            (by1 - cy, 0.5 * (bx1 - bx0)),
        ];
        let mut side_lanes = [0.0f64; 4];
        for g in &gates {
            side_lanes[g.side] += g.lanes as f64;
        }
        for g in &mut gates {
            let (r0, half) = geom[g.side];
            let theta = 2.0 * (half / r0.max(1.0)).atan();
            let mass = theta * (r0 / k + 1.0 / (k * k)) * g.lanes as f64 / side_lanes[g.side];
            g.attraction = rho_j * mass;
            g.production = rho_r * mass;
            ext_attr[g.node as usize] += g.attraction;
        }
        plane_opportunities = rho_j * std::f64::consts::TAU / (k * k);
    }
    (gates, ext_attr, plane_opportunities)
}

/// Origin weights: residents at their nodes, then the outside residents of each gateway,
/// whose trips into or through the network are the share of their destinations there.
fn origin_weights(
    net: &Network,
    zones: &Zones,
    prod: &[f64],
    free: &[f64],
    plane_opportunities: f64,
    trees: &mut Trees,
) -> Vec<f64> {
    let mut origin_weight: Vec<f64> = prod.to_vec();
    for (gi, g) in zones.gates.iter().enumerate() {
        tree(net, free, g.node as usize, &mut trees.dist, &mut trees.prev);
        let mut acc = 0.0;
        for j in 0..net.node_count() {
            let t = if j == g.node as usize {
                continue;
            } else {
                zones.reach(&trees.dist, j)
            };
            if t.is_finite() {
                let (a, e) = zones.dest_weight(j, t, Some(gi));
                acc += a + e;
            }
        }
        origin_weight.push(g.production * acc / plane_opportunities.max(1e-300));
    }
    origin_weight
}

/// Cumulative class shares (motorbike, car, bus, truck); all motorbikes if none is positive.
fn class_share_cum(shares: ClassShares) -> [f64; 4] {
    let s = [shares.motorbike, shares.car, shares.bus, shares.truck].map(|x| x.max(0.0));
    let mut c = [0.0; 4];
    let mut a = 0.0;
    for (k, v) in s.iter().enumerate() {
        a += v;
        c[k] = a;
    }
    if a <= 0.0 { [1.0, 1.0, 1.0, 1.0] } else { c }
}

/// Destination choice on free-flow times for the `count` trips of each origin (nodes, then
/// gateways), with each trip's departure, class and kind; same-node, bus-riding and
/// unroutable trips are counted in `out` and not returned.
#[allow(clippy::too_many_arguments)]
fn choose_destinations(
    net: &Network,
    zones: &Zones,
    cfg: &PeakConfig,
    count: &[usize],
    free: &[f64],
    rng: &mut Rng,
    trees: &mut Trees,
    out: &mut CityDemand,
) -> Vec<Pending> {
    let nn = net.node_count();
    let share_cum = class_share_cum(cfg.shares);
    let (a, b) = (cfg.start, cfg.start + cfg.duration.max(0.0));
    let mode = a + cfg.mode.clamp(0.0, 1.0) * (b - a);
    let w_uniform = cfg.uniform_weight();
    let steps = cfg.assignment_steps.max(1);
    let mut pending: Vec<Pending> = Vec::new();
    let mut k = 0usize;
    for (oi, &n_o) in count.iter().enumerate() {
        if n_o == 0 {
            continue;
        }
        let from_gate = oi.checked_sub(nn);
        let o = from_gate.map_or(oi, |g| zones.gates[g].node as usize);
        tree(net, free, o, &mut trees.dist, &mut trees.prev);
        let mut wcum = Vec::with_capacity(nn);
        let mut parts = Vec::with_capacity(nn);
        let mut acc = 0.0;
        for j in 0..nn {
            let t = if j == o {
                0.0
            } else {
                zones.reach(&trees.dist, j)
            };
            if t.is_finite() && (from_gate.is_none() || j != o) {
                let (wa, we) = zones.dest_weight(j, t, from_gate);
                if wa > 0.0 || we > 0.0 {
                    acc += wa + we;
                    parts.push((j, wa, we));
                }
            }
            wcum.push(acc);
        }
        let parts_at: std::collections::HashMap<usize, (f64, f64)> =
            parts.into_iter().map(|(j, a, e)| (j, (a, e))).collect();
        for i in 0..n_o {
            let id = format!("p{k}");
            k += 1;
            if acc <= 0.0 {
                out.unroutable.push(Unroutable {
                    id,
                    line: 0,
                    reason: format!("no workplace or school reachable from road node {o}"),
                });
                continue;
            }
            let d = pick(&wcum, rng.unit());
            let depart = depart_time(rng, a, b, mode, w_uniform);
            let u = rng.unit() * share_cum[3];
            let vtype = share_cum.iter().position(|&c| u < c).unwrap_or(0);
            // Beyond the network's edge, or to a place at the gateway node?
            let (wa, we) = parts_at.get(&d).copied().unwrap_or((1.0, 0.0));
            let beyond = we > 0.0 && (wa <= 0.0 || rng.unit() * (wa + we) >= wa);
            let kind = match (from_gate.is_some(), beyond) {
                (false, false) => INTERNAL,
                (false, true) => OUTBOUND,
                (true, false) => INBOUND,
                (true, true) => THROUGH,
            };
            if d == o {
                out.same_node += 1;
                continue;
            }
            out.by_kind[kind] += 1;
            if cfg.transit_share > 0.0 && rng.unit() < cfg.transit_share {
                out.transit_riders += 1;
                continue;
            }
            pending.push(Pending {
                id,
                origin: o as u32,
                dest: d as u32,
                depart,
                vtype,
                step: i % steps,
            });
        }
    }
    pending
}

/// The runs of a feed's stored lines ([`feed::stored_lines`]) that depart inside the window
/// (departure clock times from [`feed::PEAK_CLOCK_START_S`] at the window's start); their
/// volume (`bus_pcu` per run) is loaded into `volume` before the trips'.
fn feed_runs(
    lines: &[feed::StoredLine],
    cfg: &PeakConfig,
    volume: &mut [f64],
    bus_pcu: f64,
) -> Vec<Trip> {
    let (a, b) = (cfg.start, cfg.start + cfg.duration.max(0.0));
    let mut trips = Vec::new();
    for (name, route, deps) in lines {
        let mut run = 0;
        for &d in deps {
            let t = d - feed::PEAK_CLOCK_START_S + cfg.start;
            if !(a..b).contains(&t) {
                continue;
            }
            for l in route {
                volume[l.index()] += bus_pcu;
            }
            trips.push(Trip {
                id: format!("bus{}_{run}", name.replace('/', "-")),
                vtype: BUS_TYPE,
                depart: t,
                route: route.clone(),
            });
            run += 1;
        }
    }
    trips
}

/// Bus lines between gateways of different sides with two or more lanes, on free-flow
/// fastest paths, with their runs over the window; their volume (`bus_pcu` per run) is
/// loaded into `volume` before the trips'.
#[allow(clippy::too_many_arguments)]
fn bus_lines(
    net: &Network,
    zones: &Zones,
    cfg: &PeakConfig,
    bus: &BusService,
    area: f64,
    free: &[f64],
    rng: &mut Rng,
    trees: &mut Trees,
    volume: &mut [f64],
    bus_pcu: f64,
) -> Vec<Trip> {
    let gates = &zones.gates;
    let (a, b) = (cfg.start, cfg.start + cfg.duration.max(0.0));
    let mut bus_trips: Vec<Trip> = Vec::new();
    let major: Vec<usize> = (0..gates.len()).filter(|&g| gates[g].lanes >= 2).collect();
    let lines = (bus.route_directions_per_km2 * area / 1e6).round() as usize;
    let headway = 3600.0 / bus.departures_per_hour.max(1e-6);
    for line in 0..lines {
        if major.len() < 2 {
            break;
        }
        let g = major[(rng.unit() * major.len() as f64) as usize % major.len()];
        let others: Vec<usize> = major
            .iter()
            .copied()
            .filter(|&h| gates[h].side != gates[g].side)
            .collect();
        if others.is_empty() {
            continue;
        }
        let h = others[(rng.unit() * others.len() as f64) as usize % others.len()];
        tree(
            net,
            free,
            gates[g].node as usize,
            &mut trees.dist,
            &mut trees.prev,
        );
        let Some(&last) = zones.links_into[gates[h].node as usize].first() else {
            continue;
        };
        if !trees.dist[last as usize].is_finite() {
            continue;
        }
        let route = path_to(&trees.prev, last);
        let mut t = a + rng.unit() * headway;
        let mut run = 0;
        while t < b {
            for l in &route {
                volume[l.index()] += bus_pcu;
            }
            bus_trips.push(Trip {
                id: format!("bus{line}_{run}"),
                vtype: BUS_TYPE,
                depart: t,
                route: route.clone(),
            });
            run += 1;
            t += headway;
        }
    }
    bus_trips
}

/// Routes by incremental loading: each step routes its share of every origin's trips on the
/// link times the earlier steps' volumes give (Akçelik's function). Volumes are loaded as a
/// share of the window's trips; as rates, at the busiest 15 minutes' rate (hour flow / PHF)
/// over the peak hour.
#[allow(clippy::too_many_arguments)]
fn load_routes(
    net: &Network,
    zones: &Zones,
    cfg: &PeakConfig,
    pending: &[Pending],
    free: &[f64],
    capacity: &[f64],
    volume: &mut [f64],
    trees: &mut Trees,
    types: &[VehicleType],
) -> Vec<Vec<LinkId>> {
    let nl = net.link_count();
    let steps = cfg.assignment_steps.max(1);
    let mut best_in = vec![u32::MAX; net.node_count()];
    let (period_s, period_h) = if cfg.peak_hour_share.is_some() && cfg.duration > 3600.0 {
        (3600.0, 1.0 / cfg.design_rate_factor())
    } else {
        let period_s = cfg.duration.max(900.0);
        (
            period_s,
            period_s / 3600.0 * cfg.peak_hour_factor.clamp(0.25, 1.0),
        )
    };
    let mut routes: Vec<Vec<LinkId>> = vec![Vec::new(); pending.len()];
    for step in 0..steps {
        let time: Vec<f64> = (0..nl)
            .map(|l| akcelik_time(free[l], volume[l] / period_h, capacity[l], period_s))
            .collect();
        let mut last_origin = u32::MAX;
        for (i, p) in pending.iter().enumerate() {
            if p.step != step {
                continue;
            }
            if p.origin != last_origin {
                tree(
                    net,
                    &time,
                    p.origin as usize,
                    &mut trees.dist,
                    &mut trees.prev,
                );
                last_origin = p.origin;
                let dist = &trees.dist;
                for (j, bi) in best_in.iter_mut().enumerate() {
                    *bi = zones.links_into[j].iter().copied().fold(u32::MAX, |x, l| {
                        if x == u32::MAX || dist[l as usize] < dist[x as usize] {
                            l
                        } else {
                            x
                        }
                    });
                }
            }
            let d = p.dest as usize;
            let route = path_to(&trees.prev, best_in[d]);
            let pcu = types[p.vtype].pcu;
            for l in &route {
                volume[l.index()] += pcu;
            }
            routes[i] = route;
        }
    }
    routes
}

/// Shortest green of a retimed phase (s): the ITE *Traffic Signal Timing Manual* (2015,
/// ch. 5) range of minimum greens is 5–15 s; 10 s also covers a pedestrian crossing of
/// a local street.
pub const MIN_GREEN_S: f64 = 10.0;
/// Shortest cycle of a retimed plan (s).
pub const MIN_CYCLE_S: f64 = 60.0;
/// Longest cycle of a retimed plan (s): 120 s is the usual upper bound of urban fixed-time
/// cycles (ITE *Traffic Signal Timing Manual*, 2015, ch. 5; Webster's delay grows steeply
/// beyond it).
pub const MAX_CYCLE_S: f64 = 120.0;

/// Draw the morning peak and time the signals for it, as a traffic engineer would for a
/// peak-period plan: `rounds` times, route the trips (which depends on the plans through
/// the link capacities), give warranted left turns a protected phase if
/// [`PeakConfig::protected_lefts`] is set, then retime every plan by Webster's method for the resulting
/// movement flows at the rate of the busiest 15 minutes (hour flow / PHF, HCM 2010 ch. 18).
/// The draws (origins, destinations, departures, classes) do not depend on the plans; the
/// routes come from the last round's plans. `net` keeps the new plans.
pub fn morning_peak_with_signal_plans(
    city: &City,
    net: &mut Network,
    cfg: &PeakConfig,
    rounds: usize,
) -> CityDemand {
    let mut d = morning_peak(city, net, cfg);
    let phf = cfg.peak_hour_factor.clamp(0.25, 1.0);
    for _ in 0..rounds {
        let flows: Vec<f64> = if cfg.peak_hour_share.is_some() && cfg.duration > 3600.0 {
            let rate = cfg.design_rate_factor();
            movement_flows(net, &d.demand, 3600.0)
                .into_iter()
                .map(|f| f * rate)
                .collect()
        } else {
            movement_flows(net, &d.demand, cfg.duration.max(1.0))
                .into_iter()
                .map(|f| f / phf)
                .collect()
        };
        if cfg.protected_lefts {
            net.add_protected_lefts(&flows, MIN_GREEN_S);
        }
        net.retime_webster(
            &flows,
            crate::sim::HCM_SATURATION_HEADWAY,
            MIN_GREEN_S,
            MIN_CYCLE_S,
            MAX_CYCLE_S,
        );
        d = morning_peak(city, net, cfg);
    }
    d
}

/// Flow of each movement (PCU/h) when the trips of `demand` cross it over `period` seconds:
/// the input of [`Network::retime_webster`].
pub fn movement_flows(net: &Network, demand: &Demand, period: f64) -> Vec<f64> {
    let mut f = vec![0.0; net.movement_count()];
    let scale = 3600.0 / period.max(1.0);
    for t in &demand.trips {
        let pcu = demand.types[t.vtype].pcu;
        for w in t.route.windows(2) {
            if let Some(m) = net.movement(w[0], w[1]) {
                f[m.index()] += pcu * scale;
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::draw::triangular;
    use super::*;

    #[test]
    fn a_feed_is_stored_for_the_morning_peak_period() {
        assert_eq!(feed::MORNING_PEAK_WINDOW.duration_s, MORNING_PEAK_PERIOD_S);
    }

    #[test]
    fn snapping_finds_the_nearest_node() {
        let g = crate::road_net::tests::crossing(false, "primary");
        let net = Network::from_road_graph(&g).unwrap();
        let nodes: Vec<u32> = (0..net.node_count() as u32).collect();
        let snap = Snapper::new(&net, &nodes);
        let mut r = Rng(5);
        for _ in 0..2000 {
            let p = [r.unit() * 600.0 - 300.0, r.unit() * 600.0 - 300.0];
            let brute = (0..net.node_count())
                .min_by(|&a, &b| {
                    let da = (net.node_x[a] - p[0]).hypot(net.node_y[a] - p[1]);
                    let db = (net.node_x[b] - p[0]).hypot(net.node_y[b] - p[1]);
                    da.total_cmp(&db).then(a.cmp(&b))
                })
                .unwrap();
            assert_eq!(snap.nearest(p) as usize, brute, "{p:?}");
        }
    }

    #[test]
    fn peak_hour_factor_of_the_departure_profile() {
        // PHF 0.92 over one hour: the busiest 15 minutes carry 0.25 / 0.92 = 27.2 % of trips.
        let w = uniform_weight(3600.0, 0.92);
        assert!((w - (0.4375 - 0.25 / 0.92) / 0.1875).abs() < 1e-12, "{w}");
        let mut r = Rng(9);
        let xs: Vec<f64> = (0..200_000)
            .map(|_| depart_time(&mut r, 0.0, 3600.0, 1800.0, w))
            .collect();
        let busiest = (0..=27)
            .map(|k| {
                let lo = k as f64 * 100.0;
                xs.iter().filter(|&&x| x >= lo && x < lo + 900.0).count()
            })
            .max()
            .unwrap() as f64
            / xs.len() as f64;
        let phf = 0.25 / busiest;
        assert!((phf - 0.92).abs() < 0.01, "measured PHF {phf}");
        // The pure triangle is PHF 0.57; asking for less gives the triangle, 1 a flat hour.
        assert_eq!(uniform_weight(3600.0, 0.5), 0.0);
        assert_eq!(uniform_weight(3600.0, 1.0), 1.0);
    }

    #[test]
    fn peak_period_profile() {
        // Three hours whose central hour carries 40 %: the triangle alone gives 5/9, the
        // uniform 1/3, so w = (5/9 − 0.4) / (5/9 − 1/3) = 0.7.
        let w = uniform_weight_for_share(10_800.0, 3600.0, 0.4);
        assert!((w - 0.7).abs() < 1e-12, "{w}");
        // Busiest quarter: 0.7/12 + 0.3 (1 − 4 (4950/10800)²) = 0.10625; PHF 0.4/(4 × that).
        let q = busiest_quarter_share(10_800.0, w);
        assert!((q - 0.10625).abs() < 1e-12, "{q}");
        assert!((0.4 / (4.0 * q) - 0.941).abs() < 1e-3);
        let cfg = PeakConfig::morning_peak_period(1);
        assert!((cfg.uniform_weight() - 0.7).abs() < 1e-12);
        assert!((cfg.design_rate_factor() - 0.425).abs() < 1e-12);
        let mut r = Rng(11);
        let xs: Vec<f64> = (0..200_000)
            .map(|_| depart_time(&mut r, 0.0, 10_800.0, 5400.0, w))
            .collect();
        let share = |lo: f64, hi: f64| {
            xs.iter().filter(|&&x| x >= lo && x < hi).count() as f64 / xs.len() as f64
        };
        assert!((share(3600.0, 7200.0) - 0.4).abs() < 0.005);
        assert!((share(4950.0, 5850.0) - q).abs() < 0.003);
        // One hour: the general form is the PHF rule's.
        let a = uniform_weight_for_share(3600.0, 900.0, 0.25 / 0.92);
        assert!((a - uniform_weight(3600.0, 0.92)).abs() < 1e-12);
        // The one-hour config keeps its old rate: hour volume / PHF.
        let one = PeakConfig::default();
        assert!((one.design_rate_factor() - 1.0 / 0.92).abs() < 1e-12);
    }

    #[test]
    fn akcelik_travel_time_function() {
        // Under capacity the delay is small, at capacity 0.25 T √(8 J / (Q T)), above it
        // about half the period times the excess ratio.
        assert!((akcelik_time(10.0, 0.0, 1000.0, 3600.0) - 10.0).abs() < 1e-9);
        let at_cap = 10.0 + 900.0 * (8.0f64 * 0.4 / 1000.0).sqrt();
        assert!((akcelik_time(10.0, 1000.0, 1000.0, 3600.0) - at_cap).abs() < 1e-9);
        assert!((at_cap - 60.91).abs() < 0.01);
        let over = akcelik_time(10.0, 2000.0, 1000.0, 3600.0);
        assert!((over - (10.0 + 900.0 * (1.0 + (1.0f64 + 6.4 / 1000.0).sqrt()))).abs() < 1e-9);
        assert!((over - 1812.9).abs() < 0.1, "{over}");
    }

    #[test]
    fn webster_timing_of_a_two_phase_plan() {
        let g = crate::road_net::tests::crossing(true, "secondary");
        let mut net = Network::from_road_graph(&g).unwrap();
        let (e_through, s_through) = (
            net.movement(LinkId(0), LinkId(3)).unwrap().index(),
            net.movement(LinkId(4), LinkId(7)).unwrap().index(),
        );
        let mut flow = vec![0.0; net.movement_count()];
        // Eastbound through 800 PCU/h on its 2 lanes (y = 0.211); southbound 300 on 1 (0.158).
        flow[e_through] = 800.0;
        flow[s_through] = 300.0;
        let h = 3600.0 / 1900.0;
        let c = net.retime_webster(&flow, h, 10.0, 60.0, 120.0);
        // L = 2 × (3 + 2) = 10 s; C₀ = (1.5·10 + 5)/(1 − 0.368) = 31.7 s, raised to 60 s;
        // 50 s of green shared 0.211 : 0.158.
        assert!((c[0] - 60.0).abs() < 1e-9);
        let (ya, yb) = (800.0 / 3800.0, 300.0 / 1900.0);
        let p = &net.signals[0];
        assert!((p.phases[0].duration - 50.0 * ya / (ya + yb)).abs() < 1e-9);
        assert!((p.phases[3].duration - 50.0 * yb / (ya + yb)).abs() < 1e-9);
        assert_eq!(p.phases[1].duration, 3.0);
        // Heavier: Y = 0.6 + 0.158 gives C₀ = 20 / 0.242 = 82.6 s.
        flow[e_through] = 0.6 * 3800.0;
        let c = net.retime_webster(&flow, h, 10.0, 60.0, 120.0);
        assert!((c[0] - 20.0 / (1.0 - 0.6 - yb)).abs() < 1e-9, "{}", c[0]);
        // Oversaturated: the longest cycle; a phase with no flow keeps the minimum green.
        flow[e_through] = 4000.0;
        flow[s_through] = 0.0;
        let c = net.retime_webster(&flow, h, 10.0, 60.0, 120.0);
        assert_eq!(c[0], 120.0);
        assert_eq!(net.signals[0].phases[3].duration, 10.0);
        assert!((net.signals[0].phases[0].duration - 100.0).abs() < 1e-9);
        // Capacity for routing follows the plan: the eastbound approach has 2 through lanes
        // and a pocket, each at green 100/120.
        let cap = net.link_capacity(h);
        assert!(
            (cap[0] - 3.0 * 1900.0 * 100.0 / 120.0).abs() < 1e-6,
            "{}",
            cap[0]
        );
    }

    #[test]
    fn triangular_profile_and_picking() {
        let mut r = Rng(3);
        let xs: Vec<f64> = (0..40000)
            .map(|_| triangular(r.unit(), 0.0, 3600.0, 1800.0))
            .collect();
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((m - 1800.0).abs() < 15.0, "{m}");
        // P(x < 900) = (900/3600)² · 2 = 0.125 for the symmetric triangle.
        let p = xs.iter().filter(|&&x| x < 900.0).count() as f64 / xs.len() as f64;
        assert!((p - 0.125).abs() < 0.006, "{p}");
        assert!(xs.iter().all(|&x| (0.0..=3600.0).contains(&x)));
        // Zero weights are never picked.
        let cum = [0.0, 1.0, 1.0, 3.0];
        let picks: Vec<usize> = (0..1000).map(|_| pick(&cum, r.unit())).collect();
        assert!(picks.iter().all(|&i| i == 1 || i == 3));
        let ones = picks.iter().filter(|&&i| i == 1).count();
        assert!((280..390).contains(&ones), "{ones}");
    }
}
