//! Bus lines of a timetable feed (GTFS, read by `twin-io`) on the city's roads: stored in the
//! Traffic & Road layer by `twin city build --gtfs`, run by the morning peak instead of the
//! synthetic lines of `BusService`.
//!
//! * **Stops** inside the model area snap to the nearest road a bus runs on (drivable classes
//!   but `service` and `living_street`: OSM's access roads to a site and streets where people
//!   on foot have priority), within [`STOP_SNAP_LIMIT_M`]; farther ones are counted and left
//!   out. Each snapped stop is a `bus_stop` feature at its surveyed position (`source =
//!   surveyed`, `gtfs_stop_id`, `routes`, `snap_m`).
//! * **Lines**: a route-direction's pattern is cut to its longest run of consecutive stops
//!   inside the area (lines partly inside are clipped; counted); its stops in order are joined
//!   by the fastest free-flow paths on the simulation network (turn bans count), each stop on
//!   either direction of its road, the directions chosen for the fastest whole line (dynamic
//!   programming over the stops, as map matching does with a Viterbi pass: Newson & Krumm
//!   2009, "Hidden Markov map matching through noise and sparseness", ACM SIGSPATIAL GIS).
//!   Where no road joins two stops the line is cut there and its longest part kept (counted).
//!   A `bus_line` feature holds the path (the links' geometry, vertex for vertex, so the path
//!   is read back link by link), `line`, `route_id`, `stops`, `departures` (clock times at its
//!   first stop in the window) and `departures_per_hour`, `timetable` (the rule that made
//!   them).
//! * **Departures** in the simulated window (06:00–09:00 for the morning peak period): the
//!   feed's own, at the clipped line's first stop (the trip's start plus the pattern's time to
//!   that stop). A line with no departure in the window takes the feed's first full hour of
//!   service (the first clock hour that starts after its first departure) repeated hour by
//!   hour over the window — the 2018 Hanoi Bus feed is a midday timetable (09:34–18:00) and
//!   has no peak one; its midday rate stands in for the peak, as in the synthetic lines'
//!   `HANOI_BUS`, a lower bound where peak service is more frequent — warned by count. A feed without stop_times gives trips but no times: its trips per route-direction
//!   spread evenly over [`UNTIMED_SPAN_S`], warned.
//! * Buses do not dwell at stops: the queue model has no stop, and the feed gives no dwell
//!   time (its arrival and departure times are equal).

use super::spatial::{path_to, tree_from};
use crate::network::{LinkId, Network};
use std::collections::HashMap;
use twin_model::{City, Feature, FeatureId, Layer, RoadGraph};

/// Farthest a stop may lie from the centreline of its road, m: half the width of a six-lane
/// arterial with its pavements (about 20 m: 3 × 3.5 m lanes, the urban arterial lane of
/// TCXDVN 104:2007, a median and a 5 m pavement) plus GTFS best practice's 4 m position error
/// of a stop (gtfs.org, *Schedule Best Practices*, stops.txt) and as much again for the map's
/// centreline, rounded up: 30 m.
pub const STOP_SNAP_LIMIT_M: f64 = 30.0;

/// Span over which a feed without stop_times has its trips, s: the 2018 Hanoi Bus feed's
/// midday set runs 7 h from first to last departure on 55 of the 63 route-directions of its
/// central subset, which has stop_times (the others 7 h 5 min – 7 h 30 min).
pub const UNTIMED_SPAN_S: f64 = 7.0 * 3600.0;

/// Clock time of simulation time 0 in the morning peak period, s after midnight (06:00).
pub const PEAK_CLOCK_START_S: f64 = 6.0 * 3600.0;

/// A stop, in the city's CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedStop {
    /// The feed's stop id.
    pub id: String,
    /// Name (may be empty).
    pub name: String,
    /// Position in the city's CRS.
    pub pos: [f64; 2],
}

/// A route-direction with its pattern and timetable.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedLine {
    /// The feed's route id.
    pub route_id: String,
    /// Display name.
    pub name: String,
    /// Direction where the feed gives one.
    pub direction: Option<u8>,
    /// Pattern: indices into the stops, in order.
    pub stops: Vec<usize>,
    /// Time from the first stop to each stop of the pattern, s, where known.
    pub offsets_s: Vec<Option<f64>>,
    /// Departures from the first stop, s after midnight (empty: the feed has no times).
    pub departures_s: Vec<f64>,
    /// For each departure, its time at each stop of the pattern where known.
    pub times_s: Vec<Vec<Option<f64>>>,
    /// Trips on a working day.
    pub trips: usize,
}

/// The window the departures are stored for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeedWindow {
    /// Start, s after midnight.
    pub start_s: f64,
    /// Length, s.
    pub duration_s: f64,
}

/// The morning peak period, 06:00–09:00 (the city demand's `MORNING_PEAK_PERIOD_S`).
pub const MORNING_PEAK_WINDOW: FeedWindow = FeedWindow {
    start_s: PEAK_CLOCK_START_S,
    duration_s: 3.0 * 3600.0,
};

/// What the feed gave and what it lost, by name and count (`warning`: the user should look).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedNote {
    /// What.
    pub what: String,
    /// How many.
    pub count: usize,
    /// The rule.
    pub rule: String,
    /// Something left out or assumed.
    pub warning: bool,
}

/// Road classes buses run on (see the module docs).
fn bus_class(class: &str) -> bool {
    twin_model::roads::is_drivable_class(class) && !matches!(class, "service" | "living_street")
}

fn seg_dist(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p[0] - a[0] - t * dx).hypot(p[1] - a[1] - t * dy)
}

/// The bus roads nearest `p`: every directed link within 1 m of the nearest (both directions
/// of a two-way road; all the roads of a junction the stop stands on), and the distance.
fn snap(g: &RoadGraph, ok: &[bool], p: [f64; 2]) -> Option<(Vec<usize>, f64)> {
    let d: Vec<f64> = g
        .links
        .iter()
        .zip(ok)
        .map(|(l, &ok)| {
            if !ok {
                return f64::INFINITY;
            }
            l.geometry
                .0
                .windows(2)
                .map(|w| seg_dist(p, [w[0].x, w[0].y], [w[1].x, w[1].y]))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let best = d.iter().copied().fold(f64::INFINITY, f64::min);
    if !best.is_finite() {
        return None;
    }
    let near: Vec<usize> = (0..d.len()).filter(|&i| d[i] <= best + 1.0).collect();
    Some((near, best))
}

/// The fastest path through the stops' candidate links in order (dynamic programming over
/// the candidates); `None` where two consecutive stops have no road between them.
fn match_run(
    net: &Network,
    free: &[f64],
    cands: &[&Vec<usize>],
    dist: &mut [f64],
    prev: &mut [u32],
) -> Result<Vec<LinkId>, usize> {
    // cost[k] and back pointers per stop: (cost, path from the previous candidate).
    let mut cost: Vec<f64> = cands[0].iter().map(|_| 0.0).collect();
    let mut back: Vec<Vec<(usize, Vec<LinkId>)>> = vec![Vec::new()];
    for i in 1..cands.len() {
        let mut next = vec![(f64::INFINITY, usize::MAX, Vec::new()); cands[i].len()];
        for (a, &from) in cands[i - 1].iter().enumerate() {
            if !cost[a].is_finite() {
                continue;
            }
            tree_from(net, free, &[(from, 0.0)], dist, prev);
            for (b, &to) in cands[i].iter().enumerate() {
                let c = cost[a] + dist[to];
                if c < next[b].0 {
                    let p = path_to(prev, to as u32);
                    next[b] = (c, a, p[1..].to_vec());
                }
            }
        }
        if next.iter().all(|n| !n.0.is_finite()) {
            return Err(i);
        }
        cost = next.iter().map(|n| n.0).collect();
        back.push(next.into_iter().map(|n| (n.1, n.2)).collect());
    }
    let mut k = (0..cost.len())
        .min_by(|&a, &b| cost[a].total_cmp(&cost[b]))
        .unwrap_or(0);
    let mut parts = Vec::new();
    for i in (1..cands.len()).rev() {
        let (a, p) = &back[i][k];
        parts.push(p.clone());
        k = *a;
    }
    let mut path = vec![LinkId(cands[0][k] as u32)];
    for p in parts.into_iter().rev() {
        path.extend(p);
    }
    Ok(path)
}

fn clock(t: f64) -> String {
    let s = t.round().max(0.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The line's departures in `w` at the stop `first` of its pattern, and the rule that gave
/// them; `None` where the feed gives no full hour to take.
fn departures(l: &FeedLine, first: usize, w: &FeedWindow) -> Option<(Vec<f64>, String)> {
    let (w0, w1) = (w.start_s, w.start_s + w.duration_s.max(0.0));
    if l.departures_s.is_empty() {
        if l.trips == 0 {
            return None;
        }
        let h = UNTIMED_SPAN_S / (l.trips.max(2) - 1) as f64;
        let v: Vec<f64> = (0..)
            .map(|k| w0 + 0.5 * h + k as f64 * h)
            .take_while(|&t| t < w1)
            .collect();
        return Some((
            v,
            format!(
                "no times in the feed: its {} trips over 7 h, every {:.0} s",
                l.trips, h
            ),
        ));
    }
    let off = l
        .offsets_s
        .get(..=first)
        .unwrap_or(&[])
        .iter()
        .rev()
        .find_map(|o| *o)
        .unwrap_or(0.0);
    // Each trip's own time at the stop, else its start plus the pattern's time to the stop.
    let mut times: Vec<f64> = l
        .departures_s
        .iter()
        .enumerate()
        .map(|(j, t)| {
            l.times_s
                .get(j)
                .and_then(|v| v.get(first).copied().flatten())
                .unwrap_or(t + off)
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let inside: Vec<f64> = times
        .iter()
        .copied()
        .filter(|t| (w0..w1).contains(t))
        .collect();
    if !inside.is_empty() {
        return Some((inside, "the feed's".into()));
    }
    let h0 = (times[0] / 3600.0).ceil() * 3600.0;
    let hour: Vec<f64> = times
        .iter()
        .copied()
        .filter(|t| (h0..h0 + 3600.0).contains(t))
        .collect();
    if hour.is_empty() {
        return None;
    }
    let one = &hour;
    let mut v: Vec<f64> = (0..(w.duration_s / 3600.0).ceil() as usize)
        .flat_map(|k| one.iter().map(move |t| t - h0 + w0 + k as f64 * 3600.0))
        .filter(|&t| t < w1)
        .collect();
    v.sort_by(f64::total_cmp);
    Some((
        v,
        format!(
            "none in the window: the feed's first full hour {}–{} ({} departures) repeated",
            &clock(h0)[..5],
            &clock(h0 + 3600.0)[..5],
            hour.len()
        ),
    ))
}

/// Adds the feed's stops and lines inside `area` (`[min, max]` in the city's CRS) to the
/// Traffic & Road layer of `city`, with departures for `window` (rules in the module docs),
/// and returns what it did and left out. Errors where the city's roads give no network.
pub fn add_feed(
    city: &mut City,
    area: [[f64; 2]; 2],
    stops: &[FeedStop],
    lines: &[FeedLine],
    window: &FeedWindow,
) -> crate::Result<Vec<FeedNote>> {
    let g = RoadGraph::from_layer(city.layer(Layer::TrafficRoad));
    let net = Network::from_road_graph(&g)?;
    let ok: Vec<bool> = g.links.iter().map(|l| bus_class(&l.class)).collect();
    let inside = |p: [f64; 2]| {
        (area[0][0]..=area[1][0]).contains(&p[0]) && (area[0][1]..=area[1][1]).contains(&p[1])
    };
    let mut snapped: Vec<Option<(Vec<usize>, f64)>> = vec![None; stops.len()];
    let (mut outside, mut far) = (0, Vec::new());
    for (i, s) in stops.iter().enumerate() {
        if !inside(s.pos) {
            outside += 1;
            continue;
        }
        match snap(&g, &ok, s.pos) {
            Some((c, d)) if d <= STOP_SNAP_LIMIT_M => snapped[i] = Some((c, d)),
            _ => far.push(s.id.as_str()),
        }
    }
    let free: Vec<f64> = (0..net.link_count())
        .map(|l| net.free_time(LinkId(l as u32)))
        .collect();
    let (mut dist, mut prev) = (vec![0.0; net.link_count()], vec![0u32; net.link_count()]);
    let mut routes_at: Vec<Vec<&str>> = vec![Vec::new(); stops.len()];
    let mut made = Vec::new();
    let (mut clipped, mut reentering, mut cut, mut too_few, mut no_hour) = (0, 0, 0, 0, 0);
    let (mut repeated, mut untimed, mut runs) = (0, 0, 0);
    let mut keys: HashMap<String, usize> = HashMap::new();
    let mut away = 0;
    for l in lines {
        if !l.stops.iter().any(|&s| inside(stops[s].pos)) {
            away += 1;
            continue;
        }
        // Runs of consecutive pattern stops inside the area; stops too far from a road are
        // passed by.
        let mut parts: Vec<Vec<usize>> = Vec::new();
        let mut open = false;
        for (k, &s) in l.stops.iter().enumerate() {
            if !inside(stops[s].pos) {
                open = false;
                continue;
            }
            if !open {
                parts.push(Vec::new());
                open = true;
            }
            if snapped[s].is_some() {
                parts.last_mut().unwrap().push(k);
            }
        }
        parts.retain(|p| !p.is_empty());
        if parts.len() > 1 {
            reentering += 1;
        }
        let mut best: Option<(Vec<usize>, Vec<LinkId>)> = None;
        let mut was_cut = false;
        for part in parts {
            let mut rest = part.as_slice();
            while rest.len() >= 2 {
                let cands: Vec<&Vec<usize>> = rest
                    .iter()
                    .map(|&k| &snapped[l.stops[k]].as_ref().unwrap().0)
                    .collect();
                let (keep, path) = match match_run(&net, &free, &cands, &mut dist, &mut prev) {
                    Ok(p) => (rest.len(), Some(p)),
                    Err(i) => {
                        was_cut = true;
                        (i, None)
                    }
                };
                let path = match path {
                    Some(p) => Some(p),
                    None if keep >= 2 => {
                        match_run(&net, &free, &cands[..keep], &mut dist, &mut prev).ok()
                    }
                    None => None,
                };
                if let Some(p) = path
                    && best.as_ref().is_none_or(|b| b.0.len() < keep)
                {
                    best = Some((rest[..keep].to_vec(), p));
                }
                rest = &rest[keep..];
            }
        }
        cut += usize::from(was_cut);
        let Some((kept, path)) = best else {
            too_few += 1;
            continue;
        };
        let partly = l.stops.iter().any(|&s| !inside(stops[s].pos));
        clipped += usize::from(partly);
        let Some((deps, rule)) = departures(l, kept[0], window) else {
            no_hour += 1;
            continue;
        };
        repeated += usize::from(rule.starts_with("none"));
        untimed += usize::from(rule.starts_with("no times"));
        runs += deps.len();
        let mut key = match l.direction {
            Some(d) => format!("{}/{d}", l.route_id),
            None => l.route_id.clone(),
        };
        // A route without directions has a line per stop pattern: numbered from the second.
        let seen = keys.entry(key.clone()).or_insert(0);
        *seen += 1;
        if *seen > 1 {
            key = format!("{key}#{seen}");
        }
        for &k in &kept {
            routes_at[l.stops[k]].push(&l.route_id);
        }
        let mut coords: Vec<geo::Coord<f64>> = Vec::new();
        for (i, link) in path.iter().enumerate() {
            let c = &g.links[link.index()].geometry.0;
            coords.extend_from_slice(if i == 0 { &c[..] } else { &c[1..] });
        }
        let per_hour: Vec<String> = (0..(window.duration_s / 3600.0).ceil() as usize)
            .map(|h| {
                let a = window.start_s + h as f64 * 3600.0;
                deps.iter()
                    .filter(|&&t| (a..a + 3600.0).contains(&t))
                    .count()
                    .to_string()
            })
            .collect();
        made.push(
            Feature::new(
                FeatureId(0),
                "bus_line",
                Layer::TrafficRoad.default_owner(),
                geo::Geometry::LineString(geo::LineString(coords)),
            )
            .with_name(l.name.clone())
            .with("source", "surveyed")
            .with("line", key)
            .with("route_id", l.route_id.as_str())
            .with(
                "stops",
                kept.iter()
                    .map(|&k| stops[l.stops[k]].id.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            )
            .with(
                "departures",
                deps.iter().map(|&t| clock(t)).collect::<Vec<_>>().join(" "),
            )
            .with("departures_per_hour", per_hour.join(" "))
            .with("timetable", rule)
            .with("clipped", partly),
        );
    }
    let mut id = city.next_id(Layer::TrafficRoad).0;
    let mut n_stops = 0;
    for (i, s) in stops.iter().enumerate() {
        let Some((c, d)) = &snapped[i] else { continue };
        let mut routes = routes_at[i].clone();
        routes.sort_unstable();
        routes.dedup();
        let mut f = Feature::new(
            FeatureId(id),
            "bus_stop",
            Layer::TrafficRoad.default_owner(),
            geo::Geometry::Point(geo::Point::new(s.pos[0], s.pos[1])),
        )
        .with("source", "surveyed")
        .with("gtfs_stop_id", s.id.as_str())
        .with("routes", routes.join(" "))
        .with("snap_m", (d * 10.0).round() / 10.0)
        .with("road", g.links[c[0]].feature.0);
        if !s.name.is_empty() {
            f = f.with_name(s.name.clone());
        }
        city.layer_mut(Layer::TrafficRoad).insert(f);
        id += 1;
        n_stops += 1;
    }
    let n_lines = made.len();
    for mut f in made {
        f.id = FeatureId(id);
        city.layer_mut(Layer::TrafficRoad).insert(f);
        id += 1;
    }
    let note = |what: &str, count: usize, rule: String, warning: bool| FeedNote {
        what: what.into(),
        count,
        rule,
        warning,
    };
    let mut notes = vec![
        note(
            "bus stops on the roads",
            n_stops,
            format!("GTFS stops inside the area within {STOP_SNAP_LIMIT_M} m of a bus road"),
            false,
        ),
        note(
            "bus lines",
            n_lines,
            format!(
                "route-directions with two or more stops inside the area, stop to stop on the fastest roads; {runs} departures {}–{}",
                &clock(window.start_s)[..5],
                &clock(window.start_s + window.duration_s)[..5]
            ),
            false,
        ),
    ];
    let first_far = far.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    for (what, n, rule) in [
        (
            "bus stops outside the area (left out)",
            outside,
            String::new(),
        ),
        ("bus lines outside the area (left out)", away, String::new()),
        (
            "bus stops farther than the limit from a bus road (left out)",
            far.len(),
            format!("more than {STOP_SNAP_LIMIT_M} m: {first_far}"),
        ),
        (
            "bus lines clipped to the area",
            clipped,
            "the longest run of their stops inside the area kept".into(),
        ),
        (
            "bus lines leaving and re-entering the area",
            reentering,
            "their longest part inside kept".into(),
        ),
        (
            "bus lines cut where no road joins two stops",
            cut,
            "their longest joined part kept".into(),
        ),
        (
            "bus lines with fewer than two stops on the roads inside the area (left out)",
            too_few,
            String::new(),
        ),
        (
            "bus lines with no full hour of service (left out)",
            no_hour,
            String::new(),
        ),
        (
            "bus lines without departures in the window",
            repeated,
            "the feed's first full hour repeated over the window".into(),
        ),
        (
            "bus lines without times",
            untimed,
            "trips spread evenly over 7 h (the Hanoi Bus feed's midday span)".into(),
        ),
    ] {
        if n > 0 {
            notes.push(note(what, n, rule, !what.contains("outside the area")));
        }
    }
    Ok(notes)
}

/// A stored line read back: its key, links and departures (s after midnight).
pub(super) type StoredLine = (String, Vec<LinkId>, Vec<f64>);

/// The feed's lines stored in `city`, read back onto `net` (built from the city's road
/// graph): per line its key, links and departures (s after midnight), and the lines that no
/// longer follow the network's links, named.
pub(super) fn stored_lines(city: &City, net: &Network) -> (Vec<StoredLine>, Vec<String>) {
    let key = |x: f64, y: f64| ((x * 100.0).round() as i64, (y * 100.0).round() as i64);
    let node_at: HashMap<(i64, i64), usize> = (0..net.node_count())
        .map(|n| (key(net.node_x[n], net.node_y[n]), n))
        .collect();
    let free: Vec<f64> = (0..net.link_count())
        .map(|l| net.free_time(LinkId(l as u32)))
        .collect();
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for f in city.layer(Layer::TrafficRoad).features() {
        if f.kind != "bus_line" {
            continue;
        }
        let name = f.text("line").unwrap_or("?").to_string();
        let geo::Geometry::LineString(ls) = &f.geometry else {
            bad.push(name);
            continue;
        };
        let mut nodes: Vec<usize> = Vec::new();
        for c in &ls.0 {
            if let Some(&n) = node_at.get(&key(c.x, c.y))
                && nodes.last() != Some(&n)
            {
                nodes.push(n);
            }
        }
        let mut links: Vec<LinkId> = Vec::new();
        let mut ok = nodes.len() >= 2;
        for w in nodes.windows(2) {
            let best = (0..net.link_count())
                .filter(|&l| net.link_from[l].index() == w[0] && net.link_to[l].index() == w[1])
                .filter(|&l| {
                    links
                        .last()
                        .is_none_or(|&p| net.movement(p, LinkId(l as u32)).is_some())
                })
                .min_by(|&a, &b| free[a].total_cmp(&free[b]).then(a.cmp(&b)));
            match best {
                Some(l) => links.push(LinkId(l as u32)),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        let deps: Option<Vec<f64>> = f
            .text("departures")
            .unwrap_or("")
            .split_whitespace()
            .map(parse_clock)
            .collect();
        match (ok, deps) {
            (true, Some(d)) => out.push((name, links, d)),
            _ => bad.push(name),
        }
    }
    (out, bad)
}

/// `HH:MM:SS` in seconds.
fn parse_clock(v: &str) -> Option<f64> {
    let mut it = v.split(':').map(|x| x.parse::<u64>().ok());
    let (h, m, s) = (it.next()??, it.next()??, it.next()??);
    (h < 1000 && m < 60 && s < 60).then(|| (h * 3600 + m * 60 + s) as f64)
}
