//! Result writers: per-trip CSV, per-link interval CSV, link-entry trajectories, summary JSON.
//! All write to any `std::io::Write`; opening files is the caller's business.

use crate::demand::Unroutable;
use crate::network::Network;
use crate::sim::{
    Counters, LinkInterval, SignalProposal, TrajectoryPoint, Traversals, TripResult, VehicleState,
};
use crate::sumo_routes::IgnoredElements;
use serde::Serialize;
use std::io::{self, Write};

/// Headline numbers of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Vehicles in the demand that could be routed.
    pub vehicles: usize,
    /// Vehicles that arrived.
    pub arrived: usize,
    /// Routed vehicles that did not arrive by the end of the run.
    pub not_arrived: usize,
    /// Vehicles taken out because no route avoided a closure.
    pub aborted: usize,
    /// Trips that could not be routed at all (see `unroutable`).
    pub unroutable_count: usize,
    /// Mean travel time of arrived vehicles (s).
    pub mean_duration: f64,
    /// Total travel time of arrived vehicles (s).
    pub total_duration: f64,
    /// Mean route length of arrived vehicles (m).
    pub mean_route_length: f64,
    /// Simulated time at the end (s).
    pub end_time: f64,
    /// Vehicles let through full links after the teleport time.
    pub teleports: usize,
    /// En-route reroutes.
    pub reroutes: usize,
    /// Sum over steps of the vehicles on the network.
    pub vehicle_updates: u64,
    /// Wall-clock time of the simulation loop (s).
    pub wall_time_s: f64,
    /// `vehicle_updates / wall_time_s`, the throughput measure SUMO reports as UPS.
    pub updates_per_second: f64,
    /// Unroutable trips with their reasons.
    pub unroutable: Vec<UnroutableEntry>,
    /// Elements of the route file the model skipped, by name (absent from the JSON when
    /// none were).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<IgnoredElements>,
}

/// One unroutable trip in the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnroutableEntry {
    /// Vehicle id.
    pub id: String,
    /// Line in the route file.
    pub line: usize,
    /// Why.
    pub reason: String,
}

impl Summary {
    /// Summary of a finished run.
    pub fn new(
        trips: &[TripResult],
        counters: &Counters,
        unroutable: &[Unroutable],
        end_time: f64,
        wall_time_s: f64,
    ) -> Summary {
        let arrived: Vec<&TripResult> = trips
            .iter()
            .filter(|t| t.state == VehicleState::Arrived)
            .collect();
        let n = arrived.len();
        let total: f64 = arrived.iter().map(|t| t.duration()).sum();
        let len: f64 = arrived.iter().map(|t| t.route_length).sum();
        let mean = |x: f64| if n > 0 { x / n as f64 } else { f64::NAN };
        Summary {
            vehicles: trips.len(),
            arrived: n,
            not_arrived: trips.len() - n,
            aborted: counters.aborted,
            unroutable_count: unroutable.len(),
            mean_duration: mean(total),
            total_duration: total,
            mean_route_length: mean(len),
            end_time,
            teleports: counters.teleports,
            reroutes: counters.reroutes,
            vehicle_updates: counters.vehicle_updates,
            wall_time_s,
            updates_per_second: if wall_time_s > 0.0 {
                counters.vehicle_updates as f64 / wall_time_s
            } else {
                0.0
            },
            unroutable: unroutable
                .iter()
                .map(|u| UnroutableEntry {
                    id: u.id.clone(),
                    line: u.line,
                    reason: u.reason.clone(),
                })
                .collect(),
            ignored: Vec::new(),
        }
    }

    /// Write as pretty JSON.
    pub fn write_json<W: Write>(&self, mut w: W) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut w, self).map_err(io::Error::other)?;
        writeln!(w)
    }
}

/// Space-mean speed per statistics interval of `stats` (begin, end, km/h): the distance of
/// the links of `net` left during the interval over the time spent on them; NaN for an
/// interval in which no vehicle left a link.
pub fn interval_speeds(net: &Network, stats: &[LinkInterval]) -> Vec<(f64, f64, f64)> {
    let len = &net.link_length;
    let mut acc: std::collections::BTreeMap<u64, (f64, f64, Traversals)> = Default::default();
    for s in stats {
        let e = acc
            .entry(s.begin.to_bits())
            .or_insert((s.begin, s.end, Traversals::default()));
        if s.left > 0 && s.mean_travel_time.is_finite() {
            e.2.add(s, len[s.link.index()]);
        }
    }
    let mut v: Vec<(f64, f64, f64)> = acc
        .into_values()
        .map(|(b, e, t)| {
            (
                b,
                e,
                if t.time > 0.0 {
                    3.6 * t.distance / t.time
                } else {
                    f64::NAN
                },
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// Space-mean speed (m/s) of every trip that departed: the length of the links entered
/// (junction crossings included) over the time on the network until arrival, or until `end`
/// for a vehicle still running (the link it is on counts whole). 0 if none departed.
pub fn space_mean_speed(trips: &[TripResult], end: f64) -> f64 {
    let (dist, time) =
        trips
            .iter()
            .filter(|t| t.depart.is_finite())
            .fold((0.0, 0.0), |(d, s), t| {
                let until = if t.arrival.is_finite() {
                    t.arrival
                } else {
                    end
                };
                (d + t.route_length, s + (until - t.depart))
            });
    if time > 0.0 { dist / time } else { 0.0 }
}

/// Quote a CSV field if needed (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `id,depart,arrival,duration,route_length` for each arrived vehicle, in departure order.
pub fn write_trips_csv<W: Write>(mut w: W, trips: &[TripResult]) -> io::Result<()> {
    writeln!(w, "id,depart,arrival,duration,route_length")?;
    for t in trips.iter().filter(|t| t.state == VehicleState::Arrived) {
        writeln!(
            w,
            "{},{:.2},{:.2},{:.2},{:.2}",
            csv_field(&t.id),
            t.depart,
            t.arrival,
            t.duration(),
            t.route_length
        )?;
    }
    Ok(())
}

/// Floating-car data: `time,vehicle,link,pos,x,y,speed` per recorded point (position along
/// the link and speed in m and m/s, x/y in the network's coordinates); `trips` gives the
/// vehicle ids ([`crate::sim::Simulation::trip_results`]).
pub fn write_fcd_csv<W: Write>(
    mut w: W,
    net: &Network,
    trips: &[TripResult],
    points: &[TrajectoryPoint],
) -> io::Result<()> {
    writeln!(w, "time,vehicle,link,pos,x,y,speed")?;
    for p in points {
        let id = trips.get(p.trip as usize).map_or("", |t| t.id.as_str());
        writeln!(
            w,
            "{:.2},{},{},{:.2},{:.2},{:.2},{:.2}",
            p.time,
            csv_field(id),
            csv_field(&net.link_name[p.link.index()]),
            p.pos,
            p.x,
            p.y,
            p.speed
        )?;
    }
    Ok(())
}

/// `time,signal,from_phase,to_phase,green` for each signal decision of adaptive control (in
/// propose-only mode, the timings it would have applied): at `time` the green phase
/// `from_phase`, after `green` seconds, would end and the plan go to `to_phase`.
pub fn write_signal_proposals_csv<W: Write>(mut w: W, p: &[SignalProposal]) -> io::Result<()> {
    writeln!(w, "time,signal,from_phase,to_phase,green")?;
    for x in p {
        writeln!(
            w,
            "{:.2},{},{},{},{:.2}",
            x.time,
            csv_field(&x.signal),
            x.from_phase,
            x.to_phase,
            x.green
        )?;
    }
    Ok(())
}

/// `begin,end,link,entered,left,mean_travel_time,mean_speed,mean_delay,density` per link and
/// interval (speed in m/s from length over mean travel time, density in vehicles/km/lane).
pub fn write_link_stats_csv<W: Write>(
    mut w: W,
    net: &Network,
    stats: &[LinkInterval],
) -> io::Result<()> {
    writeln!(
        w,
        "begin,end,link,entered,left,mean_travel_time,mean_speed,mean_delay,density"
    )?;
    for s in stats {
        let opt = |x: f64| {
            if x.is_finite() {
                format!("{x:.2}")
            } else {
                String::new()
            }
        };
        let speed = s.mean_speed(net.link_length[s.link.index()]);
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{:.3}",
            s.begin,
            s.end,
            csv_field(&net.link_name[s.link.index()]),
            s.entered,
            s.left,
            opt(s.mean_travel_time),
            opt(speed),
            opt(s.mean_delay),
            s.density
        )?;
    }
    Ok(())
}

/// `id,depart,time_so_far` for each vehicle still on the network at `end`, with its time on
/// the network until then (s).
pub fn write_unfinished_csv<W: Write>(mut w: W, trips: &[TripResult], end: f64) -> io::Result<()> {
    writeln!(w, "id,depart,time_so_far")?;
    for t in trips
        .iter()
        .filter(|t| t.state == VehicleState::Running && t.depart.is_finite())
    {
        writeln!(
            w,
            "{},{:.2},{:.2}",
            csv_field(&t.id),
            t.depart,
            t.time_by(end)
        )?;
    }
    Ok(())
}

/// `begin,end,on_network,arrived,teleports,gridlock,speed_kmh` per statistics interval:
/// vehicles on the network at its end, arrivals and teleports in it, the gridlock indicator
/// ([`crate::sim::NetworkInterval::gridlock`]) and the space-mean speed of the links left in
/// it (`speeds` from [`interval_speeds`], matched by interval start; empty where none left).
pub fn write_intervals_csv<W: Write>(
    mut w: W,
    stats: &[crate::sim::NetworkInterval],
    speeds: &[(f64, f64, f64)],
) -> io::Result<()> {
    writeln!(
        w,
        "begin,end,on_network,arrived,teleports,gridlock,speed_kmh"
    )?;
    for s in stats {
        let v = speeds
            .iter()
            .find(|x| x.0 == s.begin)
            .map(|x| x.2)
            .filter(|v| v.is_finite())
            .map(|v| format!("{v:.2}"))
            .unwrap_or_default();
        writeln!(
            w,
            "{},{},{},{},{},{:.4},{v}",
            s.begin,
            s.end,
            s.on_network,
            s.arrived,
            s.teleports,
            s.gridlock()
        )?;
    }
    Ok(())
}

/// Link-level trajectories: `time,vehicle,link` per link entry.
pub fn write_entries_csv<W: Write>(
    mut w: W,
    net: &Network,
    trips: &[TripResult],
    entries: &[(f64, u32, crate::network::LinkId)],
) -> io::Result<()> {
    writeln!(w, "time,vehicle,link")?;
    for &(t, v, l) in entries {
        writeln!(
            w,
            "{t:.2},{},{}",
            csv_field(&trips[v as usize].id),
            csv_field(&net.link_name[l.index()])
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{SimConfig, Simulation};

    fn run() -> (Simulation, Vec<Unroutable>) {
        let net = crate::network::tests::detour();
        let rf = crate::sumo_routes::parse_routes(
            r#"<routes><vType id="x" sigma="0" speedDev="0"/>
            <vehicle id="a,1" type="x" depart="0"><route edges="SA AB BC"/></vehicle>
            <vehicle id="b" type="x" depart="10"><route edges="SA AD"/></vehicle>
            <trip id="c" depart="0" from="CE" to="SA"/></routes>"#,
        )
        .unwrap();
        let (d, bad) = crate::demand::build_demand(&net, &rf);
        let mut s = Simulation::new(
            net,
            d,
            SimConfig {
                stats_interval: 60.0,
                ..SimConfig::default()
            },
        );
        s.run(None);
        (s, bad)
    }

    #[test]
    fn interval_speeds_weigh_links_by_the_vehicles_that_left_them() {
        let (s, _) = run();
        let v = interval_speeds(s.network(), s.link_stats());
        let net = s.network();
        let first: Vec<&LinkInterval> = s.link_stats().iter().filter(|x| x.begin == 0.0).collect();
        let (d, t) = first
            .iter()
            .filter(|x| x.left > 0)
            .fold((0.0, 0.0), |(d, t), x| {
                let n = x.left as f64;
                (
                    d + n * net.link_length[x.link.index()],
                    t + n * x.mean_travel_time,
                )
            });
        assert_eq!((v[0].0, v[0].1), (0.0, first[0].end));
        assert!((v[0].2 - 3.6 * d / t).abs() < 1e-12, "{v:?}");
        // One vehicle over one link: the link's own mean speed.
        let x = first.iter().find(|x| x.left == 1).unwrap();
        let one = interval_speeds(net, std::slice::from_ref(*x));
        assert!((one[0].2 - 3.6 * x.mean_speed(net.link_length[x.link.index()])).abs() < 1e-9);
        assert!(v.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn space_mean_speed_counts_running_vehicles_until_the_end() {
        let trip = |depart: f64, arrival: f64, len: f64, state| TripResult {
            id: String::new(),
            depart,
            arrival,
            planned: depart,
            ended: arrival,
            route_length: len,
            state,
            reroutes: 0,
        };
        let trips = [
            trip(0.0, 100.0, 1000.0, VehicleState::Arrived),
            trip(50.0, f64::NAN, 500.0, VehicleState::Running),
            trip(f64::NAN, f64::NAN, 0.0, VehicleState::Scheduled),
        ];
        // 1500 m over 100 + 100 s.
        assert_eq!(space_mean_speed(&trips, 150.0), 7.5);
        assert_eq!(space_mean_speed(&trips[2..], 150.0), 0.0);
    }

    #[test]
    fn trips_csv_and_summary() {
        let (s, bad) = run();
        let trips = s.trip_results();
        let mut buf = Vec::new();
        write_trips_csv(&mut buf, &trips).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "id,depart,arrival,duration,route_length");
        // a: 10/5.2 + 10 + 20 + 20 = 51.92 s over 500 m.
        assert_eq!(lines[1], "\"a,1\",0.00,51.92,51.92,500.00");
        assert_eq!(lines[2], "b,10.00,46.92,36.92,350.00");
        let sum = Summary::new(&trips, s.counters(), &bad, s.time(), 0.5);
        assert_eq!((sum.vehicles, sum.arrived, sum.unroutable_count), (2, 2, 1));
        assert!((sum.mean_duration - (51.923_076_9 + 36.923_076_9) / 2.0).abs() < 1e-6);
        assert_eq!(sum.updates_per_second, sum.vehicle_updates as f64 / 0.5);
        let mut buf = Vec::new();
        sum.write_json(&mut buf).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["arrived"], 2);
        assert_eq!(
            v["unroutable"][0]["reason"],
            "no path from edge \"CE\" to edge \"SA\""
        );
    }

    #[test]
    fn link_stats_csv() {
        let (s, _) = run();
        let mut buf = Vec::new();
        write_link_stats_csv(&mut buf, s.network(), s.link_stats()).unwrap();
        let text = String::from_utf8(buf).unwrap();
        // The run ends at 52 s, inside the first interval. AB: vehicle a entered at 11.92 s and
        // left at 31.92 s (20 s at 10 m/s): 20 vehicle-seconds over 52 s on 0.2 km × 2 lanes.
        let ab = text
            .lines()
            .find(|l| l.starts_with("0,52,AB,"))
            .expect(&text);
        assert_eq!(ab, "0,52,AB,1,1,20.00,10.00,0.00,0.962");
    }
}
