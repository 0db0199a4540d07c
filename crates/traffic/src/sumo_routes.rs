//! Reader for SUMO demand files (`.rou.xml`, trip files): `vType`, `route`, `vehicle` (with a
//! named or nested route), `trip` (origin and destination edge, optional `via`) and `flow`
//! (SUMO user documentation, "Definition of Vehicles, Vehicle Types, and Routes").
//!
//! Elements the model does not use (persons, containers, stops, parameters) are listed in
//! [`RouteFile::ignored`] so nothing disappears without a trace.

use crate::error::{Result, TrafficError};
use crate::xml::{Elem, Node, XmlReader};
use std::collections::HashMap;

/// A vehicle type as written in the file; unset fields take SUMO's defaults for its class.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VTypeSpec {
    /// Type id.
    pub id: String,
    /// SUMO vehicle class (`passenger` when absent).
    pub vclass: String,
    /// Vehicle length (m).
    pub length: Option<f64>,
    /// Gap to the leader when standing (m).
    pub min_gap: Option<f64>,
    /// Maximum speed (m/s).
    pub max_speed: Option<f64>,
    /// Acceleration (m/s²).
    pub accel: Option<f64>,
    /// Deceleration (m/s²).
    pub decel: Option<f64>,
    /// Driver imperfection of the Krauss model, 0..1.
    pub sigma: Option<f64>,
    /// Mean of the speed factor (multiplies the speed limit).
    pub speed_factor: Option<f64>,
    /// Standard deviation of the speed factor.
    pub speed_dev: Option<f64>,
}

/// How a trip's path is given.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteSpec {
    /// An explicit edge list.
    Edges(Vec<String>),
    /// Origin and destination edges (and optional intermediate edges) to be routed.
    Od {
        /// First edge.
        from: String,
        /// Last edge.
        to: String,
        /// Edges to pass in between, in order.
        via: Vec<String>,
    },
}

/// One vehicle to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct TripSpec {
    /// Vehicle id (flows: `flowid.i`, as SUMO names them).
    pub id: String,
    /// Vehicle type id, if given.
    pub vtype: Option<String>,
    /// Planned departure (s).
    pub depart: f64,
    /// Path.
    pub route: RouteSpec,
    /// Line of the defining element.
    pub line: usize,
}

/// Contents of a route or trip file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RouteFile {
    /// Vehicle types.
    pub vtypes: Vec<VTypeSpec>,
    /// Vehicles, sorted by departure (stable, so file order breaks ties).
    pub trips: Vec<TripSpec>,
    /// Elements skipped because the model has no use for them: (line, element name).
    pub ignored: Vec<(usize, String)>,
}

/// Latest departure, flow begin or flow end a route file may name (s): 31 days, a month of
/// simulated traffic; later times are refused rather than run towards for ever.
pub const MAX_TIME_S: f64 = 31.0 * 86_400.0;

/// Most vehicles a route file may define, flows expanded: 4 million, over three times a
/// full day of the largest city scenarios SUMO users publish (TAPAS Cologne, 1.2 million).
pub const MAX_VEHICLES: usize = 4_000_000;

/// Most memory the vehicles of a route file may take once expanded, estimated from their ids
/// and routes (bytes): 2 GiB.
pub const MAX_TRIP_BYTES: usize = 2 << 30;

/// Lines listed per element in [`IgnoredElements::lines`]; the rest are counted.
pub const IGNORED_LINES_SHOWN: usize = 10;

/// Elements of one name that a route file held and the model skipped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IgnoredElements {
    /// Element name (`person`, `stop`, `param`, ...).
    pub element: String,
    /// How many were skipped.
    pub count: usize,
    /// Lines of the first [`IGNORED_LINES_SHOWN`] of them.
    pub lines: Vec<usize>,
}

impl std::fmt::Display for IgnoredElements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lines: Vec<String> = self.lines.iter().map(|l| l.to_string()).collect();
        write!(
            f,
            "{} <{}> element{} skipped (line{} {}{})",
            self.count,
            self.element,
            if self.count == 1 { "" } else { "s" },
            if self.lines.len() == 1 { "" } else { "s" },
            lines.join(", "),
            if self.count > self.lines.len() {
                format!(" and {} more", self.count - self.lines.len())
            } else {
                String::new()
            }
        )
    }
}

impl RouteFile {
    /// [`RouteFile::ignored`] by element name, in order of first appearance.
    pub fn ignored_by_element(&self) -> Vec<IgnoredElements> {
        let mut out: Vec<IgnoredElements> = Vec::new();
        for (line, name) in &self.ignored {
            let i = match out.iter().position(|g| &g.element == name) {
                Some(i) => i,
                None => {
                    out.push(IgnoredElements {
                        element: name.clone(),
                        count: 0,
                        lines: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            let g = &mut out[i];
            g.count += 1;
            if g.lines.len() < IGNORED_LINES_SHOWN {
                g.lines.push(*line);
            }
        }
        out
    }
}

/// Parse a SUMO speed-factor value: a number, or `norm(mean,dev)` / `normc(mean,dev,min,max)`.
/// Returns (mean, deviation if given).
fn speed_factor(e: &Elem, text: &str) -> Result<(f64, Option<f64>)> {
    let t = text.trim();
    if let Ok(v) = t.parse::<f64>() {
        return Ok((v, None));
    }
    let inner = t
        .strip_prefix("normc(")
        .or_else(|| t.strip_prefix("norm("))
        .and_then(|s| s.strip_suffix(')'));
    if let Some(inner) = inner {
        let nums: std::result::Result<Vec<f64>, _> =
            inner.split(',').map(|s| s.trim().parse::<f64>()).collect();
        if let Ok(nums) = nums
            && nums.len() >= 2
        {
            return Ok((nums[0], Some(nums[1])));
        }
    }
    Err(e.err(
        "speedFactor",
        format!("expected a number or norm(mean,dev)/normc(mean,dev,min,max), found {text:?}"),
    ))
}

fn positive_opt(e: &Elem, key: &str) -> Result<Option<f64>> {
    match e.opt_f64(key)? {
        Some(v) if v < 0.0 => Err(e.err(key, format!("must not be negative, found {v}"))),
        v => Ok(v),
    }
}

fn depart(e: &Elem, key: &str) -> Result<f64> {
    let v = e.req(key)?;
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > MAX_TIME_S => Err(e.err(
            key,
            format!("{x} s is beyond the {MAX_TIME_S} s (31-day) limit of a run"),
        )),
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(e.err(
            key,
            format!("expected a departure time in seconds, found {v:?} (triggered departures are not supported)"),
        )),
    }
}

fn edges(e: &Elem) -> Result<Vec<String>> {
    let list: Vec<String> = e
        .req("edges")?
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if list.is_empty() {
        return Err(e.err("edges", "empty edge list"));
    }
    Ok(list)
}

/// A `vehicle` or `flow` whose nested `<route>` may still come.
struct Pending {
    elem: Elem,
    nested: Option<Vec<String>>,
}

/// Parse the text of a SUMO route, trip or flow file.
pub fn parse_routes(text: &str) -> Result<RouteFile> {
    let mut r = XmlReader::new(text);
    let mut out = RouteFile::default();
    let mut named: HashMap<String, (usize, Vec<String>)> = HashMap::new();
    let mut pending: Option<Pending> = None;
    // Vehicles and flows with their route, resolved at the end (named routes may come later).
    let mut defs: Vec<(Elem, Option<Vec<String>>)> = Vec::new();
    let mut saw_root = false;
    let mut depth_ignored = 0usize;
    while let Some(node) = r.next()? {
        match node {
            Node::Open(e, empty) => {
                if depth_ignored > 0 {
                    if !empty {
                        depth_ignored += 1;
                    }
                    continue;
                }
                match e.name.as_str() {
                    "routes" | "additional" => saw_root = true,
                    "vType" => {
                        let (sf, sd) = match e.opt("speedFactor") {
                            Some(t) => {
                                let (m, d) = speed_factor(&e, t)?;
                                (Some(m), d)
                            }
                            None => (None, None),
                        };
                        let sigma = positive_opt(&e, "sigma")?;
                        if let Some(s) = sigma
                            && s > 1.0
                        {
                            return Err(e.err("sigma", format!("must lie in 0..1, found {s}")));
                        }
                        let id = e.req("id")?.to_string();
                        if let Some(first) = out.vtypes.iter().position(|v| v.id == id) {
                            return Err(e.err(
                                "id",
                                format!(
                                    "vType {id:?} is already defined ({} vType of the file)",
                                    ordinal(first + 1)
                                ),
                            ));
                        }
                        out.vtypes.push(VTypeSpec {
                            id,
                            vclass: e.opt("vClass").unwrap_or("passenger").to_string(),
                            length: positive_opt(&e, "length")?,
                            min_gap: positive_opt(&e, "minGap")?,
                            max_speed: positive_opt(&e, "maxSpeed")?,
                            accel: positive_opt(&e, "accel")?,
                            decel: positive_opt(&e, "decel")?,
                            sigma,
                            speed_factor: sf,
                            speed_dev: positive_opt(&e, "speedDev")?.or(sd),
                        });
                        if !empty {
                            depth_ignored = 1; // carFollowing children, params
                        }
                    }
                    "route" => {
                        let list = edges(&e)?;
                        if let Some(p) = pending.as_mut() {
                            if p.nested.is_some() {
                                return Err(
                                    e.elem_err("a vehicle may have only one nested <route>")
                                );
                            }
                            p.nested = Some(list);
                        } else {
                            let id = e.req("id")?.to_string();
                            if let Some((first, _)) = named.get(&id) {
                                return Err(e.err(
                                    "id",
                                    format!("route {id:?} is already defined at line {first}"),
                                ));
                            }
                            named.insert(id, (e.line, list));
                        }
                        if !empty {
                            depth_ignored = 1;
                        }
                    }
                    "vehicle" | "flow" | "trip" => {
                        if pending.is_some() {
                            return Err(e.elem_err("nested inside another vehicle definition"));
                        }
                        if empty {
                            defs.push((e, None));
                        } else {
                            pending = Some(Pending {
                                elem: e,
                                nested: None,
                            });
                        }
                    }
                    "routeDistribution" | "vTypeDistribution" => {
                        return Err(e.elem_err(
                            "distributions are not supported; give each vehicle its own route and type",
                        ));
                    }
                    _ => {
                        if pending.is_none() {
                            out.ignored.push((e.line, e.name.clone()));
                        }
                        if !empty {
                            depth_ignored = 1;
                        }
                    }
                }
            }
            Node::Close(name) => {
                if depth_ignored > 0 {
                    depth_ignored -= 1;
                    continue;
                }
                if matches!(name.as_str(), "vehicle" | "flow" | "trip")
                    && let Some(p) = pending.take()
                {
                    defs.push((p.elem, p.nested));
                }
            }
        }
    }
    if !saw_root {
        return Err(TrafficError::Element {
            line: 1,
            element: "routes".into(),
            message: "not a SUMO route file: no <routes> root element".into(),
        });
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (e, _) in &defs {
        let id = e.req("id")?;
        if let Some(first) = seen.insert(id.to_string(), e.line) {
            return Err(e.err(
                "id",
                format!("{id:?} is already the id of a vehicle, trip or flow at line {first}"),
            ));
        }
    }
    let mut budget = Budget::default();
    for (e, nested) in defs {
        expand(&e, nested, &named, &mut out.trips, &mut budget)?;
    }
    let mut ids: HashMap<&str, usize> = HashMap::with_capacity(out.trips.len());
    for t in &out.trips {
        if let Some(first) = ids.insert(&t.id, t.line) {
            return Err(TrafficError::Element {
                line: t.line,
                element: "vehicle".into(),
                message: format!(
                    "vehicle id {:?} is also made by the element at line {first}",
                    t.id
                ),
            });
        }
    }
    out.trips.sort_by(|a, b| a.depart.total_cmp(&b.depart));
    Ok(out)
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Vehicles and estimated bytes taken so far, against [`MAX_VEHICLES`] and [`MAX_TRIP_BYTES`].
#[derive(Default)]
struct Budget {
    vehicles: usize,
    bytes: usize,
}

impl Budget {
    /// Takes `n` more vehicles of `each` bytes, or refuses naming the element.
    fn take(&mut self, e: &Elem, n: usize, each: usize) -> Result<()> {
        let vehicles = self.vehicles.saturating_add(n);
        let bytes = self.bytes.saturating_add(n.saturating_mul(each));
        if vehicles > MAX_VEHICLES {
            return Err(e.elem_err(format!(
                "the file asks for {vehicles} or more vehicles, over the limit of {MAX_VEHICLES}; \
                 split the demand into several runs"
            )));
        }
        if bytes > MAX_TRIP_BYTES {
            return Err(e.elem_err(format!(
                "the file's vehicles would take about {} MiB, over the limit of {} MiB; \
                 shorten ids and routes or split the demand",
                bytes >> 20,
                MAX_TRIP_BYTES >> 20
            )));
        }
        self.vehicles = vehicles;
        self.bytes = bytes;
        Ok(())
    }
}

/// Estimated bytes of one vehicle with this id and route.
fn trip_bytes(id: &str, route: &RouteSpec) -> usize {
    let edges = |l: &[String]| l.iter().map(|x| x.len() + 24).sum::<usize>();
    let r = match route {
        RouteSpec::Edges(l) => edges(l),
        RouteSpec::Od { from, to, via } => from.len() + to.len() + 48 + edges(via),
    };
    id.len() + 16 + r + 96
}

/// A flow time attribute: finite, at least 0 and within [`MAX_TIME_S`].
fn flow_time(e: &Elem, key: &str) -> Result<Option<f64>> {
    let v = e.opt_f64(key)?;
    if let Some(x) = v
        && !(0.0..=MAX_TIME_S).contains(&x)
    {
        return Err(e.err(
            key,
            format!("{x} s lies outside 0 … {MAX_TIME_S} s (31 days), the limit of a run"),
        ));
    }
    Ok(v)
}

fn route_of(
    e: &Elem,
    nested: Option<Vec<String>>,
    named: &HashMap<String, (usize, Vec<String>)>,
) -> Result<RouteSpec> {
    if let Some(list) = nested {
        return Ok(RouteSpec::Edges(list));
    }
    if let Some(rid) = e.opt("route") {
        return named
            .get(rid)
            .map(|(_, l)| RouteSpec::Edges(l.clone()))
            .ok_or_else(|| e.err("route", format!("no <route> with id {rid:?}")));
    }
    match (e.opt("from"), e.opt("to")) {
        (Some(f), Some(t)) => Ok(RouteSpec::Od {
            from: f.to_string(),
            to: t.to_string(),
            via: e
                .opt("via")
                .map(|v| v.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
        }),
        (None, _) => Err(e.err("from", "missing: give a route, a nested <route> or from/to")),
        (_, None) => Err(e.err("to", "missing: give a route, a nested <route> or from/to")),
    }
}

/// Deterministic uniform number in [0,1) from a flow id hash and a counter (SplitMix64).
fn unit_hash(seed: u64, i: u64) -> f64 {
    let mut z = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn expand(
    e: &Elem,
    nested: Option<Vec<String>>,
    named: &HashMap<String, (usize, Vec<String>)>,
    trips: &mut Vec<TripSpec>,
    budget: &mut Budget,
) -> Result<()> {
    let id = e.req("id")?.to_string();
    let vtype = e.opt("type").map(str::to_string);
    let route = route_of(e, nested, named)?;
    // Flow vehicles are named `id.i`: room for the suffix.
    let each = trip_bytes(&id, &route) + vtype.as_ref().map_or(0, String::len) + 8;
    if e.name != "flow" {
        budget.take(e, 1, each)?;
        trips.push(TripSpec {
            id,
            vtype,
            depart: depart(e, "depart")?,
            route,
            line: e.line,
        });
        return Ok(());
    }
    let begin = flow_time(e, "begin")?.unwrap_or(0.0);
    let end = flow_time(e, "end")?;
    let number = e.opt_usize("number")?;
    let mut push = |i: usize, t: f64| {
        trips.push(TripSpec {
            id: format!("{id}.{i}"),
            vtype: vtype.clone(),
            depart: t,
            route: route.clone(),
            line: e.line,
        });
    };
    let period = if let Some(p) = e.opt("period") {
        let v = p
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| *v > 0.0 && v.is_finite());
        Some(v.ok_or_else(|| e.err("period", format!("expected a positive number, found {p:?}")))?)
    } else if let Some(vph) = e.opt_f64("vehsPerHour")? {
        if vph <= 0.0 {
            return Err(e.err("vehsPerHour", "must be positive"));
        }
        Some(3600.0 / vph)
    } else {
        None
    };
    if let Some(p) = period {
        let end = end.unwrap_or(if number.is_some() {
            f64::INFINITY
        } else {
            86400.0
        });
        let max_n = number.unwrap_or(usize::MAX);
        let span = if end.is_finite() {
            ((end - begin) / p).ceil().max(0.0)
        } else {
            f64::INFINITY
        };
        let n = if span < max_n as f64 {
            span as usize
        } else {
            max_n
        };
        budget.take(e, n, each)?;
        let mut i = 0usize;
        while i < max_n {
            let t = begin + i as f64 * p;
            if t >= end {
                break;
            }
            push(i, t);
            i += 1;
        }
        return Ok(());
    }
    if let Some(prob) = e.opt_f64("probability")? {
        if !(0.0..=1.0).contains(&prob) {
            return Err(e.err("probability", format!("must lie in 0..1, found {prob}")));
        }
        let end = end.ok_or_else(|| e.err("end", "required with probability"))?;
        let seed = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
        let mut i = 0usize;
        let mut t = begin;
        let mut k = 0u64;
        while t < end {
            if unit_hash(seed, k) < prob {
                budget.take(e, 1, each)?;
                push(i, t);
                i += 1;
            }
            t += 1.0;
            k += 1;
        }
        return Ok(());
    }
    let n = number.ok_or_else(|| {
        e.err(
            "number",
            "a flow needs one of period, vehsPerHour, probability or number",
        )
    })?;
    budget.take(e, n, each)?;
    let end = end.unwrap_or(86400.0);
    let p = (end - begin) / n.max(1) as f64;
    for i in 0..n {
        push(i, begin + i as f64 * p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_ids_and_runaway_sizes_are_refused_naming_the_line() {
        let dup_route = r#"<routes><route id="r" edges="a"/>
            <route id="r" edges="b"/></routes>"#;
        let e = parse_routes(dup_route).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("already defined at line 1"),
            "{e}"
        );
        let dup_type = r#"<routes><vType id="t"/><vType id="t"/></routes>"#;
        let e = parse_routes(dup_type).unwrap_err().to_string();
        assert!(e.contains("vType \"t\" is already defined (1st"), "{e}");
        // A flow's generated id colliding with a vehicle's.
        let clash = r#"<routes><vehicle id="f.0" depart="0"><route edges="a"/></vehicle>
            <flow id="f" begin="0" end="10" period="5" from="a" to="b"/></routes>"#;
        let e = parse_routes(clash).unwrap_err().to_string();
        assert!(
            e.contains("\"f.0\" is also made by the element at line 1"),
            "{e}"
        );
        // A long-id flow over the memory budget, refused before anything is made.
        let long = format!(
            r#"<routes><flow id="{}" begin="0" end="2000000" period="1" from="a" to="b"/></routes>"#,
            "x".repeat(2000)
        );
        let t = std::time::Instant::now();
        let e = parse_routes(&long).unwrap_err().to_string();
        assert!(e.contains("MiB, over the limit of 2048 MiB"), "{e}");
        assert!(t.elapsed().as_secs_f64() < 1.0);
        let far =
            r#"<routes><flow id="f" begin="0" end="1e12" period="5" from="a" to="b"/></routes>"#;
        let e = parse_routes(far).unwrap_err().to_string();
        assert!(e.contains("`end`") && e.contains("31 days"), "{e}");
    }

    const ROUTES: &str = r#"<routes>
    <vType id="moto" vClass="motorcycle" length="2.2" speedFactor="normc(1,0.1,0.2,2)"/>
    <route id="r0" edges="a b c"/>
    <vehicle id="v1" depart="5.00" route="r0" type="moto"/>
    <vehicle id="v0" depart="1.00">
        <route edges="a b"/>
    </vehicle>
    <trip id="t0" depart="2" from="a" to="c" via="b"/>
    <flow id="f" begin="10" end="20" period="4" route="r0"/>
    <person id="p" depart="0"><walk edges="a b"/></person>
</routes>"#;

    #[test]
    fn reads_vehicles_trips_flows_and_types() {
        let rf = parse_routes(ROUTES).unwrap();
        assert_eq!(rf.vtypes.len(), 1);
        let vt = &rf.vtypes[0];
        assert_eq!(vt.vclass, "motorcycle");
        assert_eq!(vt.length, Some(2.2));
        assert_eq!((vt.speed_factor, vt.speed_dev), (Some(1.0), Some(0.1)));
        let ids: Vec<&str> = rf.trips.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["v0", "t0", "v1", "f.0", "f.1", "f.2"]);
        assert_eq!(
            rf.trips[0].route,
            RouteSpec::Edges(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            rf.trips[1].route,
            RouteSpec::Od {
                from: "a".into(),
                to: "c".into(),
                via: vec!["b".into()]
            }
        );
        assert_eq!(rf.trips[5].depart, 18.0);
        assert_eq!(rf.trips[2].vtype.as_deref(), Some("moto"));
        assert_eq!(rf.ignored, vec![(10, "person".to_string())]);
    }

    #[test]
    fn skipped_elements_are_counted_by_name() {
        let persons: String = (0..12)
            .map(|i| format!("\n<person id=\"p{i}\" depart=\"0\"><walk edges=\"a b\"/></person>"))
            .collect();
        let text = format!("<routes>\n<container id=\"c\" depart=\"0\"/>{persons}\n</routes>");
        let rf = parse_routes(&text).unwrap();
        let g = rf.ignored_by_element();
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].element.as_str(), g[0].count), ("container", 1));
        assert_eq!((g[1].element.as_str(), g[1].count), ("person", 12));
        assert_eq!(g[1].lines, (3..13).collect::<Vec<_>>());
        assert_eq!(g[0].to_string(), "1 <container> element skipped (line 2)");
        assert_eq!(
            g[1].to_string(),
            "12 <person> elements skipped (lines 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 and 2 more)"
        );
    }

    #[test]
    fn flows_by_rate_and_number() {
        let t = r#"<routes><flow id="a" begin="0" end="3600" vehsPerHour="360" from="x" to="y"/>
            <flow id="b" begin="0" end="100" number="4" route="r"/><route id="r" edges="x"/></routes>"#;
        let rf = parse_routes(t).unwrap();
        assert_eq!(
            rf.trips.iter().filter(|t| t.id.starts_with("a.")).count(),
            360
        );
        let b: Vec<f64> = rf
            .trips
            .iter()
            .filter(|t| t.id.starts_with("b."))
            .map(|t| t.depart)
            .collect();
        assert_eq!(b, [0.0, 25.0, 50.0, 75.0]);
    }

    #[test]
    fn errors_are_located() {
        let err = parse_routes(&ROUTES.replace("depart=\"5.00\"", "depart=\"soon\""))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("line 4: <vehicle> attribute `depart`"),
            "{err}"
        );
        let err = parse_routes(&ROUTES.replace("route=\"r0\" type", "route=\"r9\" type"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no <route> with id \"r9\""), "{err}");
        let err = parse_routes("<routes>\n<trip id=\"x\" depart=\"0\" from=\"a\"/></routes>")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "line 2: <trip> attribute `to`: missing: give a route, a nested <route> or from/to"
        );
    }
}
