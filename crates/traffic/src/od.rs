//! Demand from an origin–destination matrix, and its scaling to traffic-counter readings.
//!
//! * **Zones** map to junctions: `zone,node` lines (a zone may list several nodes; its trips
//!   are shared evenly among them, origin and destination alike).
//! * **OD matrix**: `origin,destination,count,begin,end` lines — `count` trips from zone
//!   `origin` to zone `destination` departing over `[begin, end)` seconds, evenly spaced.
//!   Counts may be fractional: each cell's trips are rounded so that running totals are kept
//!   (the rounding never loses or adds more than one trip per matrix row).
//! * **Routes**: the fastest free-flow path from the origin node to the destination node
//!   (over links, so turn permissions hold).
//! * **Scaling to counts** ([`fit_to_counts`]): given link counts (vehicles over the whole
//!   period) on some links, every cell is scaled by the product of one factor per counted
//!   link on its route, found by iterative proportional fitting: for each counted link in
//!   turn, the cells crossing it are multiplied by observed / modelled, until every counted
//!   link matches within a tolerance. This is the multiplicative solution of the maximum
//!   entropy matrix estimate from counts (Van Zuylen & Willumsen 1980, "The most likely trip
//!   matrix estimated from traffic counts", *Transportation Research B* 14(3); Ortúzar &
//!   Willumsen 2011, ch. 12), with the prior matrix as the starting point; cells crossing
//!   no counted link keep their prior value.
//!
//! Header lines are optional (a first line whose count field is not a number is skipped);
//! errors name the line and the field.

use crate::demand::{Demand, Trip, Unroutable, VehicleType};
use crate::error::{Result, TrafficError};
use crate::network::{LinkId, Network};
use std::collections::HashMap;

/// One OD matrix line.
#[derive(Debug, Clone, PartialEq)]
pub struct OdRow {
    /// Origin zone.
    pub origin: String,
    /// Destination zone.
    pub destination: String,
    /// Trips.
    pub count: f64,
    /// Departures from (s).
    pub begin: f64,
    /// Departures until (s, exclusive).
    pub end: f64,
}

/// A cell of the matrix at node level: trips from one node to another on one route.
#[derive(Debug, Clone, PartialEq)]
pub struct OdCell {
    /// Index of the OD row it comes from.
    pub row: usize,
    /// Trips (fractional until trips are drawn).
    pub count: f64,
    /// Route.
    pub route: Vec<LinkId>,
}

fn bad(what: &str, line: usize, msg: String) -> TrafficError {
    TrafficError::Table {
        table: what.to_string(),
        line,
        message: msg,
    }
}

fn fields(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i, l.split(',').map(str::trim).collect()))
}

/// Parse `zone,node` lines into the nodes of each zone (in file order).
pub fn parse_zones(text: &str) -> Result<HashMap<String, Vec<String>>> {
    let mut z: HashMap<String, Vec<String>> = HashMap::new();
    for (k, (line, f)) in fields(text).enumerate() {
        if f.len() != 2 {
            return Err(bad(
                "zones",
                line,
                format!("expected 2 fields (zone,node), found {}", f.len()),
            ));
        }
        if k == 0 && f[0].eq_ignore_ascii_case("zone") {
            continue;
        }
        z.entry(f[0].to_string())
            .or_default()
            .push(f[1].to_string());
    }
    Ok(z)
}

/// Parse `origin,destination,count,begin,end` lines.
pub fn parse_od(text: &str) -> Result<Vec<OdRow>> {
    let mut rows = Vec::new();
    for (k, (line, f)) in fields(text).enumerate() {
        if f.len() != 5 {
            return Err(bad(
                "OD matrix",
                line,
                format!(
                    "expected 5 fields (origin,destination,count,begin,end), found {}",
                    f.len()
                ),
            ));
        }
        if k == 0 && f[2].parse::<f64>().is_err() {
            continue; // header
        }
        let num = |i: usize, name: &str| -> Result<f64> {
            f[i].parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| {
                    bad(
                        "OD matrix",
                        line,
                        format!("field '{name}': {:?} is not a number ≥ 0", f[i]),
                    )
                })
        };
        let (count, begin, end) = (num(2, "count")?, num(3, "begin")?, num(4, "end")?);
        if end < begin {
            return Err(bad(
                "OD matrix",
                line,
                format!("field 'end': {end} is before begin {begin}"),
            ));
        }
        rows.push(OdRow {
            origin: f[0].to_string(),
            destination: f[1].to_string(),
            count,
            begin,
            end,
        });
    }
    Ok(rows)
}

/// Parse `link,count` lines (link names of the network; vehicles over the whole period).
pub fn parse_counts(net: &Network, text: &str) -> Result<Vec<(LinkId, f64)>> {
    let mut out = Vec::new();
    for (k, (line, f)) in fields(text).enumerate() {
        if f.len() != 2 {
            return Err(bad(
                "counts",
                line,
                format!("expected 2 fields (link,count), found {}", f.len()),
            ));
        }
        let Ok(c) = f[1].parse::<f64>() else {
            if k == 0 {
                continue; // header
            }
            return Err(bad(
                "counts",
                line,
                format!("field 'count': {:?} is not a number", f[1]),
            ));
        };
        if !(c.is_finite() && c >= 0.0) {
            return Err(bad(
                "counts",
                line,
                format!("field 'count': {c} is not ≥ 0"),
            ));
        }
        let l = net.link(f[0]).ok_or_else(|| {
            bad(
                "counts",
                line,
                format!("field 'link': no link {:?} in the network", f[0]),
            )
        })?;
        out.push((l, c));
    }
    Ok(out)
}

/// Fastest free-flow path from node `o` to node `d` over links, if any.
fn node_path(net: &Network, o: usize, d: usize) -> Option<Vec<LinkId>> {
    use std::cmp::Reverse;
    let nl = net.link_count();
    let mut dist = vec![f64::INFINITY; nl];
    let mut prev = vec![u32::MAX; nl];
    let mut heap = std::collections::BinaryHeap::new();
    let key = |x: f64| Reverse(x.to_bits()); // non-negative floats order like their bits
    for (l, dl) in dist.iter_mut().enumerate() {
        if net.link_from[l].index() == o {
            *dl = net.free_time(LinkId(l as u32));
            heap.push((key(*dl), Reverse(l as u32)));
        }
    }
    let mut best: Option<usize> = None;
    while let Some((Reverse(bits), Reverse(a))) = heap.pop() {
        let c = f64::from_bits(bits);
        let a = a as usize;
        if c > dist[a] {
            continue;
        }
        if net.link_to[a].index() == d {
            best = Some(a);
            break;
        }
        for m in net.out_movements(LinkId(a as u32)) {
            let b = net.mv_to[m.index()].index();
            let nc = c + net.mv_via_time[m.index()] + net.free_time(LinkId(b as u32));
            if nc < dist[b] {
                dist[b] = nc;
                prev[b] = a as u32;
                heap.push((key(nc), Reverse(b as u32)));
            }
        }
    }
    let mut cur = best?;
    let mut path = vec![LinkId(cur as u32)];
    while prev[cur] != u32::MAX {
        cur = prev[cur] as usize;
        path.push(LinkId(cur as u32));
    }
    path.reverse();
    Some(path)
}

/// Split the matrix into node-level cells with their routes. Zones or nodes that do not
/// exist are errors naming the OD line's zone; node pairs without a path come back as
/// [`Unroutable`] (id `row{k}:{from}>{to}`).
pub fn od_cells(
    net: &Network,
    rows: &[OdRow],
    zones: &HashMap<String, Vec<String>>,
) -> Result<(Vec<OdCell>, Vec<Unroutable>)> {
    let node_of: HashMap<&str, usize> = net
        .node_name
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let nodes = |z: &str| -> Result<Vec<usize>> {
        let names = zones.get(z).ok_or_else(|| TrafficError::Reference {
            table: "OD matrix".into(),
            message: format!("unknown zone {z:?}"),
        })?;
        names
            .iter()
            .map(|n| {
                node_of
                    .get(n.as_str())
                    .copied()
                    .ok_or_else(|| TrafficError::Reference {
                        table: "zones".into(),
                        message: format!("zone {z:?}: no node {n:?} in the network"),
                    })
            })
            .collect()
    };
    let mut cells = Vec::new();
    let mut bad_pairs = Vec::new();
    let mut paths: HashMap<(usize, usize), Option<Vec<LinkId>>> = HashMap::new();
    for (k, r) in rows.iter().enumerate() {
        let (os, ds) = (nodes(&r.origin)?, nodes(&r.destination)?);
        let pairs: Vec<(usize, usize)> = os
            .iter()
            .flat_map(|&o| ds.iter().map(move |&d| (o, d)))
            .filter(|(o, d)| o != d)
            .collect();
        for &(o, d) in &pairs {
            let p = paths
                .entry((o, d))
                .or_insert_with(|| node_path(net, o, d))
                .clone();
            match p {
                Some(route) => cells.push(OdCell {
                    row: k,
                    count: r.count / pairs.len() as f64,
                    route,
                }),
                None => bad_pairs.push(Unroutable {
                    id: format!("row{k}:{}>{}", net.node_name[o], net.node_name[d]),
                    line: 0,
                    reason: format!(
                        "no path from node {} to node {}",
                        net.node_name[o], net.node_name[d]
                    ),
                }),
            }
        }
    }
    Ok((cells, bad_pairs))
}

/// Result of [`fit_to_counts`].
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// Sweeps over the counted links done.
    pub iterations: usize,
    /// Largest relative difference between modelled and observed counts at the end.
    pub max_relative_error: f64,
    /// Total trips before and after.
    pub total_before: f64,
    /// See `total_before`.
    pub total_after: f64,
    /// Counts fitted to: those on links some cell's route crosses.
    pub used: usize,
    /// Counted links no cell's route crosses, in the order of the counts: nothing to scale,
    /// so their counts were skipped.
    pub skipped: Vec<LinkId>,
}

/// Scale `cells` to the link `counts` by iterative proportional fitting (module docs), at
/// most `max_iter` sweeps or until every counted link is within `tol` (relative). A counted
/// link no cell crosses is skipped and named in [`FitReport::skipped`]; a count of 0 removes
/// the cells crossing it.
pub fn fit_to_counts(
    net: &Network,
    cells: &mut [OdCell],
    counts: &[(LinkId, f64)],
    max_iter: usize,
    tol: f64,
) -> FitReport {
    let mut crossing: Vec<Vec<usize>> = vec![Vec::new(); net.link_count()];
    for (i, c) in cells.iter().enumerate() {
        let mut ls: Vec<usize> = c.route.iter().map(|l| l.index()).collect();
        ls.sort_unstable();
        ls.dedup();
        for l in ls {
            crossing[l].push(i);
        }
    }
    let total_before: f64 = cells.iter().map(|c| c.count).sum();
    let modelled =
        |cells: &[OdCell], l: usize| -> f64 { crossing[l].iter().map(|&i| cells[i].count).sum() };
    let err = |cells: &[OdCell]| -> f64 {
        counts
            .iter()
            .filter(|(l, _)| !crossing[l.index()].is_empty())
            .map(|&(l, c)| {
                let m = modelled(cells, l.index());
                (m - c).abs() / c.max(1.0)
            })
            .fold(0.0, f64::max)
    };
    let mut it = 0;
    while it < max_iter && err(cells) > tol {
        for &(l, c) in counts {
            let m = modelled(cells, l.index());
            if m <= 0.0 {
                continue;
            }
            let f = c / m;
            for &i in &crossing[l.index()] {
                cells[i].count *= f;
            }
        }
        it += 1;
    }
    let skipped: Vec<LinkId> = counts
        .iter()
        .map(|&(l, _)| l)
        .filter(|l| crossing[l.index()].is_empty())
        .collect();
    FitReport {
        iterations: it,
        max_relative_error: err(cells),
        total_before,
        total_after: cells.iter().map(|c| c.count).sum(),
        used: counts.len() - skipped.len(),
        skipped,
    }
}

/// Trips of `vtype` from the cells: each cell's count rounded on running totals per OD row,
/// the row's (scaled) trips departing evenly spaced over its window; ids `od{row}_{n}`.
pub fn cells_to_demand(rows: &[OdRow], cells: &[OdCell], vtype: VehicleType) -> Demand {
    let mut trips = Vec::new();
    // Trips per row after scaling, over which the row's departures are spread.
    let mut row_total = vec![0.0f64; rows.len()];
    for c in cells {
        row_total[c.row] += c.count;
    }
    let mut acc = vec![0.0f64; rows.len()];
    let mut made = vec![0usize; rows.len()];
    for c in cells {
        let r = &rows[c.row];
        acc[c.row] += c.count;
        let n = (acc[c.row].round() as usize).saturating_sub(made[c.row]);
        for _ in 0..n {
            let k = made[c.row];
            // Spread over the row's window by the trip's position among the row's trips.
            let span = r.end - r.begin;
            let total = row_total[c.row].round().max(1.0);
            let depart = r.begin + span * ((k as f64 + 0.5) / total).min(1.0 - 1e-9);
            trips.push(Trip {
                id: format!("od{}_{k}", c.row),
                vtype: 0,
                depart,
                route: c.route.clone(),
            });
            made[c.row] += 1;
        }
    }
    trips.sort_by(|a, b| a.depart.total_cmp(&b.depart));
    Demand {
        types: vec![vtype],
        trips,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_and_errors_name_line_and_field() {
        let z = parse_zones("zone,node\nA,1\nA,2\nB,3\n").unwrap();
        assert_eq!(z["A"], ["1", "2"]);
        let rows = parse_od("origin,destination,count,begin,end\nA,B,10,0,3600\n").unwrap();
        assert_eq!(rows[0].count, 10.0);
        let err = parse_od("o,d,count,b,e\nA,B,1,0,3600\nA,B,ten,0,3600\n").unwrap_err();
        assert!(
            matches!(&err, TrafficError::Table { table, line: 3, .. } if table == "OD matrix"),
            "{err:?}"
        );
        let e = parse_od("o,d,count,b,e\nA,B,1,0,3600\nA,B,ten,0,3600\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "OD matrix: line 3: field 'count': \"ten\" is not a number ≥ 0"
        );
        let e = parse_od("o,d,count,b,e\nA,B,1,100,50\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("'end'"), "{e}");
        let e = parse_zones("A,1,2\n").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn od_matrix_routes_and_fits_to_counts() {
        // The crossing C (node 0) with arms W 1, E 2, N 3, S 4.
        let g = crate::road_net::tests::crossing(false, "secondary");
        let net = Network::from_road_graph(&g).unwrap();
        let zones = parse_zones("zone,node\nW,1\nE,2\nN,3\nS,4\n").unwrap();
        let rows = parse_od(
            "origin,destination,count,begin,end\nW,E,50,0,3600\nN,E,50,0,3600\nW,S,30,0,1800\n",
        )
        .unwrap();
        let (mut cells, bad) = od_cells(&net, &rows, &zones).unwrap();
        assert!(bad.is_empty());
        assert_eq!(cells.len(), 3);
        // W→E drives W→C then C→E (links 0, 3); N→E: 4, 3; W→S: 0, 7.
        assert_eq!(cells[0].route, [LinkId(0), LinkId(3)]);
        assert_eq!(cells[1].route, [LinkId(4), LinkId(3)]);
        // Counts: W→C 100 and C→E 300. Maximum-entropy solution: with factors X₀ (W→C) and
        // X₃ (C→E): 50 X₀ X₃ + 30 X₀ = 100 and 50 X₀ X₃ + 50 X₃ = 300.
        let counts = [(LinkId(0), 100.0), (LinkId(3), 300.0)];
        let rep = fit_to_counts(&net, &mut cells, &counts, 200, 1e-9);
        assert!(rep.max_relative_error < 1e-9, "{rep:?}");
        let (we, ne, ws) = (cells[0].count, cells[1].count, cells[2].count);
        assert!((we + ws - 100.0).abs() < 1e-6 && (we + ne - 300.0).abs() < 1e-6);
        // Closed form: X₀ = 100 / (50 X₃ + 30), and 5000 X₃ / (50 X₃ + 30) + 50 X₃ = 300,
        // i.e. 2500 X₃² − 8500 X₃ − 9000 = 0, X₃ = 4.2475.
        let x3 = (8500.0 + (8500.0f64.powi(2) + 4.0 * 2500.0 * 9000.0).sqrt()) / 5000.0;
        assert!((x3 - 4.2475).abs() < 1e-4);
        let x0 = 100.0 / (50.0 * x3 + 30.0);
        assert!((ne - 50.0 * x3).abs() < 1e-6, "{ne} vs {}", 50.0 * x3);
        assert!((we - 50.0 * x0 * x3).abs() < 1e-6);
        assert!((ws - 30.0 * x0).abs() < 1e-6);
        assert!((rep.total_before - 130.0).abs() < 1e-9);
        assert_eq!((rep.used, rep.skipped.as_slice()), (2, &[][..]));
        // A count on a link no route crosses (link 1) is skipped, named, and changes nothing.
        let (mut again, _) = od_cells(&net, &rows, &zones).unwrap();
        let with_extra = [counts[0], (LinkId(1), 40.0), counts[1]];
        let rep2 = fit_to_counts(&net, &mut again, &with_extra, 200, 1e-9);
        assert_eq!((rep2.used, rep2.skipped.as_slice()), (2, &[LinkId(1)][..]));
        assert_eq!(again, cells);
        // Trips: counts rounded on running totals, departures spread over the window.
        let d = cells_to_demand(&rows, &cells, VehicleType::sumo_default("car", "passenger"));
        let n = |p: &str| d.trips.iter().filter(|t| t.id.starts_with(p)).count();
        assert_eq!(n("od0_"), we.round() as usize);
        assert_eq!(n("od1_"), ne.round() as usize);
        assert!(
            d.trips
                .iter()
                .filter(|t| t.id.starts_with("od2_"))
                .all(|t| t.depart < 1800.0)
        );
        // An unknown zone is an error naming it.
        let e = od_cells(&net, &parse_od("W,X,1,0,10").unwrap(), &zones)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"X\""), "{e}");
    }
}
