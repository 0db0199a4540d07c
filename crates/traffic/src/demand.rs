//! Vehicle classes and types, and turning a route file into routed trips on a [`Network`].

use crate::network::{LinkId, Network};
use crate::routing::Router;
use crate::sumo_routes::{RouteFile, RouteSpec, VTypeSpec};
use std::collections::HashMap;

/// Vehicle class of the model. Hanoi traffic is mostly motorbikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum VehicleClass {
    /// Motorbikes and mopeds (SUMO `motorcycle`, `moped`).
    Motorbike,
    /// Passenger cars, taxis, vans (SUMO `passenger` and the rest).
    Car,
    /// Buses and coaches.
    Bus,
    /// Trucks and trailers.
    Truck,
}

impl VehicleClass {
    /// Class of a SUMO `vClass`.
    pub fn from_sumo(vclass: &str) -> VehicleClass {
        match vclass {
            "motorcycle" | "moped" | "scooter" => VehicleClass::Motorbike,
            "bus" | "coach" | "tram" => VehicleClass::Bus,
            "truck" | "trailer" | "delivery" => VehicleClass::Truck,
            _ => VehicleClass::Car,
        }
    }

    /// Passenger-car-unit factor for flow capacity, from the Vietnamese road design standard
    /// TCVN 4054:2005, table 2 (motorcycle 0.3, car 1.0, bus 2.5 for up to 25 seats; 2-axle
    /// truck 2.5).
    pub fn pcu(self) -> f64 {
        match self {
            VehicleClass::Motorbike => 0.3,
            VehicleClass::Car => 1.0,
            VehicleClass::Bus | VehicleClass::Truck => 2.5,
        }
    }
}

/// Parameters of a vehicle type. Defaults follow SUMO's "Vehicle Type Parameter Defaults" per
/// vehicle class, so that a type read from a SUMO file means the same vehicle here.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VehicleType {
    /// Type id.
    pub id: String,
    /// Class.
    pub class: VehicleClass,
    /// Length (m).
    pub length: f64,
    /// Standstill gap to the leader (m).
    pub min_gap: f64,
    /// Top speed (m/s).
    pub max_speed: f64,
    /// Acceleration (m/s²).
    pub accel: f64,
    /// Comfortable deceleration (m/s²).
    pub decel: f64,
    /// Driver imperfection σ of the Krauss model (Krauss 1998): each second a driver drops
    /// speed by σ·a·U(0,1), i.e. σ·a/2 on average.
    pub sigma: f64,
    /// Mean speed factor (multiplies the speed limit).
    pub speed_factor: f64,
    /// Standard deviation of the speed factor across vehicles.
    pub speed_dev: f64,
    /// Passenger-car units.
    pub pcu: f64,
}

impl VehicleType {
    /// SUMO's defaults for a `vClass`.
    pub fn sumo_default(id: &str, vclass: &str) -> VehicleType {
        let class = VehicleClass::from_sumo(vclass);
        // (length, minGap, maxSpeed, accel, decel, speedDev)
        let (length, min_gap, max_speed, accel, decel, dev) = match vclass {
            "motorcycle" => (2.2, 2.5, 200.0 / 3.6, 6.0, 10.0, 0.1),
            "moped" => (2.1, 2.5, 45.0 / 3.6, 1.1, 7.0, 0.1),
            "bus" => (12.0, 2.5, 100.0 / 3.6, 1.2, 4.0, 0.1),
            "coach" => (14.0, 2.5, 100.0 / 3.6, 2.0, 4.0, 0.1),
            "truck" => (7.1, 2.5, 130.0 / 3.6, 1.3, 4.0, 0.05),
            "trailer" => (16.5, 2.5, 130.0 / 3.6, 1.1, 4.0, 0.05),
            "delivery" => (6.5, 2.5, 200.0 / 3.6, 2.6, 4.5, 0.1),
            _ => (5.0, 2.5, 200.0 / 3.6, 2.6, 4.5, 0.1),
        };
        VehicleType {
            id: id.to_string(),
            class,
            length,
            min_gap,
            max_speed,
            accel,
            decel,
            sigma: 0.5,
            speed_factor: 1.0,
            speed_dev: dev,
            pcu: class.pcu(),
        }
    }

    /// A type from a SUMO `vType`, defaults filled in.
    pub fn from_spec(s: &VTypeSpec) -> VehicleType {
        let mut t = VehicleType::sumo_default(&s.id, &s.vclass);
        t.length = s.length.unwrap_or(t.length);
        t.min_gap = s.min_gap.unwrap_or(t.min_gap);
        t.max_speed = s.max_speed.unwrap_or(t.max_speed);
        t.accel = s.accel.unwrap_or(t.accel).max(0.1);
        t.decel = s.decel.unwrap_or(t.decel).max(0.1);
        t.sigma = s.sigma.unwrap_or(t.sigma);
        t.speed_factor = s.speed_factor.unwrap_or(t.speed_factor);
        t.speed_dev = s.speed_dev.unwrap_or(t.speed_dev);
        t
    }

    /// Road space taken in a queue (m): length plus standstill gap.
    pub fn space(&self) -> f64 {
        self.length + self.min_gap
    }
}

/// A trip ready to simulate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trip {
    /// Vehicle id.
    pub id: String,
    /// Index into [`Demand::types`].
    pub vtype: usize,
    /// Planned departure (s).
    pub depart: f64,
    /// Links to drive, first to last.
    pub route: Vec<LinkId>,
}

/// A trip that cannot be simulated, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Unroutable {
    /// Vehicle id.
    pub id: String,
    /// Line in the route file.
    pub line: usize,
    /// Reason.
    pub reason: String,
}

/// Trips and vehicle types.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Demand {
    /// Vehicle types; index 0 is SUMO's `DEFAULT_VEHTYPE` (a passenger car).
    pub types: Vec<VehicleType>,
    /// Trips sorted by departure.
    pub trips: Vec<Trip>,
}

/// Resolve a route file on `net`: explicit routes are checked link by link (each consecutive
/// pair must be a movement), origin–destination trips are routed on free-flow times through
/// their `via` edges. Trips that fail are returned with a reason, never dropped silently.
pub fn build_demand(net: &Network, rf: &RouteFile) -> (Demand, Vec<Unroutable>) {
    let mut types = vec![VehicleType::sumo_default("DEFAULT_VEHTYPE", "passenger")];
    let mut type_of: HashMap<&str, usize> = HashMap::new();
    type_of.insert("DEFAULT_VEHTYPE", 0);
    for s in &rf.vtypes {
        type_of.insert(s.id.as_str(), types.len());
        types.push(VehicleType::from_spec(s));
    }
    let link_time: Vec<f64> = (0..net.link_count())
        .map(|l| net.free_time(LinkId(l as u32)))
        .collect();
    let blocked = vec![false; net.link_count()];
    let mut router = Router::new(net);
    let mut trips = Vec::with_capacity(rf.trips.len());
    let mut bad = Vec::new();
    for t in &rf.trips {
        let fail = |reason: String| Unroutable {
            id: t.id.clone(),
            line: t.line,
            reason,
        };
        let vtype = match &t.vtype {
            None => 0,
            Some(name) => match type_of.get(name.as_str()) {
                Some(&i) => i,
                None => {
                    bad.push(fail(format!("unknown vehicle type {name:?}")));
                    continue;
                }
            },
        };
        let resolve = |name: &str| {
            net.link(name)
                .ok_or_else(|| format!("edge {name:?} is not a drivable edge of the network"))
        };
        let route: Result<Vec<LinkId>, String> = match &t.route {
            RouteSpec::Edges(list) => list
                .iter()
                .map(|e| resolve(e))
                .collect::<Result<Vec<_>, _>>()
                .and_then(|links| {
                    for w in links.windows(2) {
                        if net.movement(w[0], w[1]).is_none() {
                            return Err(format!(
                                "no connection from edge {:?} to edge {:?}",
                                net.link_name[w[0].index()],
                                net.link_name[w[1].index()]
                            ));
                        }
                    }
                    Ok(links)
                }),
            RouteSpec::Od { from, to, via } => {
                let stops: Result<Vec<LinkId>, String> = std::iter::once(from)
                    .chain(via.iter())
                    .chain(std::iter::once(to))
                    .map(|e| resolve(e))
                    .collect();
                stops.and_then(|stops| {
                    let mut path = vec![stops[0]];
                    for w in stops.windows(2) {
                        match router.fastest(
                            net,
                            &link_time,
                            &net.mv_via_time,
                            &blocked,
                            w[0],
                            w[1],
                        ) {
                            Some(p) => path.extend_from_slice(&p[1..]),
                            None => {
                                return Err(format!(
                                    "no path from edge {:?} to edge {:?}",
                                    net.link_name[w[0].index()],
                                    net.link_name[w[1].index()]
                                ));
                            }
                        }
                    }
                    Ok(path)
                })
            }
        };
        match route {
            Ok(route) => trips.push(Trip {
                id: t.id.clone(),
                vtype,
                depart: t.depart,
                route,
            }),
            Err(reason) => bad.push(fail(reason)),
        }
    }
    (Demand { types, trips }, bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::detour;
    use crate::sumo_routes::parse_routes;

    #[test]
    fn resolves_routes_and_reports_failures() {
        let n = detour();
        let rf = parse_routes(
            r#"<routes>
  <vType id="moto" vClass="motorcycle"/>
  <vehicle id="ok" depart="0"><route edges="SA AB BC CE"/></vehicle>
  <trip id="od" depart="1" from="SA" to="CE" via="DC" type="moto"/>
  <vehicle id="gap" depart="2"><route edges="SA BC"/></vehicle>
  <trip id="back" depart="3" from="CE" to="SA"/>
  <trip id="nowhere" depart="4" from="SA" to="ZZ"/>
  <trip id="badtype" depart="5" from="SA" to="CE" type="tram9"/>
</routes>"#,
        )
        .unwrap();
        let (d, bad) = build_demand(&n, &rf);
        assert_eq!(d.trips.len(), 2);
        let names: Vec<&str> = d.trips[1]
            .route
            .iter()
            .map(|l| n.link_name[l.index()].as_str())
            .collect();
        assert_eq!(names, ["SA", "AD", "DC", "CE"]);
        assert_eq!(d.types[d.trips[1].vtype].class, VehicleClass::Motorbike);
        assert_eq!(d.types[d.trips[1].vtype].pcu, 0.3);
        let reasons: Vec<(&str, &str)> = bad
            .iter()
            .map(|u| (u.id.as_str(), u.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("gap", "no connection from edge \"SA\" to edge \"BC\""),
                ("back", "no path from edge \"CE\" to edge \"SA\""),
                (
                    "nowhere",
                    "edge \"ZZ\" is not a drivable edge of the network"
                ),
                ("badtype", "unknown vehicle type \"tram9\""),
            ]
        );
        assert_eq!(bad[0].line, 5);
    }
}
