//! Reader for SUMO network files (`.net.xml`), the format written by `netconvert` and
//! `netgenerate` (SUMO user documentation, "Networks/SUMO Road Networks").
//!
//! Only what a mesoscopic model needs is kept: normal edges with their lanes (length, speed,
//! permissions), junction positions, connections with their internal `via` lanes and traffic-light
//! link indices, and traffic-light programs (`tlLogic`). Internal edges (`function="internal"`)
//! are not links of their own; their lane lengths and speeds are kept so a movement across a
//! junction can be timed.

use crate::error::{Result, TrafficError};
use crate::xml::{Elem, Node, XmlReader};
use std::collections::HashMap;

/// Role of an edge (`function` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeFunction {
    /// A road (no `function` attribute, or `normal`).
    Normal,
    /// A lane piece inside a junction.
    Internal,
    /// Pedestrian crossings, walking areas and connectors: not roads.
    Other,
}

/// One lane of an edge.
#[derive(Debug, Clone, PartialEq)]
pub struct NetLane {
    /// Lane id, e.g. `A0A1_0`.
    pub id: String,
    /// Index within its edge, 0 = rightmost.
    pub index: usize,
    /// Speed limit in m/s.
    pub speed: f64,
    /// Length in metres.
    pub length: f64,
    /// `allow` attribute: vehicle classes allowed (empty = all not disallowed).
    pub allow: Vec<String>,
    /// `disallow` attribute.
    pub disallow: Vec<String>,
}

impl NetLane {
    /// Whether SUMO vehicle class `vclass` may use this lane (SUMO "Vehicle Type Parameter
    /// Defaults / Abstract Vehicle Class": `allow` lists permitted classes, `all` permits all).
    pub fn permits(&self, vclass: &str) -> bool {
        if !self.allow.is_empty() {
            return self.allow.iter().any(|c| c == vclass || c == "all");
        }
        !self.disallow.iter().any(|c| c == vclass || c == "all")
    }
}

/// An edge with its lanes.
#[derive(Debug, Clone, PartialEq)]
pub struct NetEdge {
    /// Edge id.
    pub id: String,
    /// Upstream junction id (empty for internal edges).
    pub from: String,
    /// Downstream junction id (empty for internal edges).
    pub to: String,
    /// Role of the edge.
    pub function: EdgeFunction,
    /// Lanes, by index.
    pub lanes: Vec<NetLane>,
    /// Line of the `<edge>` element.
    pub line: usize,
}

/// A junction (node).
#[derive(Debug, Clone, PartialEq)]
pub struct NetJunction {
    /// Junction id.
    pub id: String,
    /// `type`, e.g. `traffic_light`, `priority`, `internal`, `dead_end`.
    pub kind: String,
    /// x in network coordinates (m).
    pub x: f64,
    /// y in network coordinates (m).
    pub y: f64,
    /// Internal lanes (`intLanes`).
    pub int_lanes: Vec<String>,
    /// Incoming lanes (`incLanes`), in the order that numbers the junction's links: the links
    /// (connections) out of the first incoming lane come first, in file order.
    pub inc_lanes: Vec<String>,
    /// Right-of-way table: (link index, `response` bits). Bit `k` counted from the right end of
    /// the string is set when link `k` has priority over this link (SUMO network format,
    /// "Requests").
    pub requests: Vec<(usize, String)>,
    /// Line of the `<junction>` element.
    pub line: usize,
}

/// A lane-to-lane connection.
#[derive(Debug, Clone, PartialEq)]
pub struct NetConnection {
    /// Upstream edge id.
    pub from: String,
    /// Downstream edge id.
    pub to: String,
    /// Upstream lane index.
    pub from_lane: usize,
    /// Downstream lane index.
    pub to_lane: usize,
    /// Internal lane crossing the junction, if any.
    pub via: Option<String>,
    /// Traffic light controlling this connection.
    pub tl: Option<String>,
    /// Index into the traffic light's phase state strings.
    pub link_index: Option<usize>,
    /// Direction: `s`, `r`, `l`, `t` (turnaround), `R`, `L`.
    pub dir: String,
    /// State: `M` major, `m` minor, `O`/`o` signal controlled, `=` all-way stop, `s` stop.
    pub state: String,
    /// Line of the element.
    pub line: usize,
}

/// One phase of a traffic-light program.
#[derive(Debug, Clone, PartialEq)]
pub struct NetPhase {
    /// Duration in seconds.
    pub duration: f64,
    /// Signal state per link index (`G`, `g`, `y`, `r`, `s`, `u`, `o`, `O`).
    pub state: String,
    /// Minimum duration (actuated programs).
    pub min_dur: Option<f64>,
    /// Maximum duration (actuated programs).
    pub max_dur: Option<f64>,
}

/// A traffic-light program (`tlLogic`).
#[derive(Debug, Clone, PartialEq)]
pub struct NetTlLogic {
    /// Traffic light id (referenced by connections' `tl`).
    pub id: String,
    /// `static`, `actuated`, `delay_based`, ...
    pub kind: String,
    /// Program id.
    pub program_id: String,
    /// Offset in seconds: the cycle starts at time `-offset`.
    pub offset: f64,
    /// Phases in order.
    pub phases: Vec<NetPhase>,
    /// Line of the element.
    pub line: usize,
}

/// Contents of a `.net.xml` file that the traffic model uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetFile {
    /// All edges, internal ones included.
    pub edges: Vec<NetEdge>,
    /// Junctions.
    pub junctions: Vec<NetJunction>,
    /// Connections, including those out of internal lanes.
    pub connections: Vec<NetConnection>,
    /// Traffic-light programs.
    pub tl_logics: Vec<NetTlLogic>,
}

impl NetFile {
    /// Lookup of lanes by id (internal lanes included).
    pub fn lane_map(&self) -> HashMap<&str, &NetLane> {
        self.edges
            .iter()
            .flat_map(|e| e.lanes.iter())
            .map(|l| (l.id.as_str(), l))
            .collect()
    }
}

fn list(v: Option<&str>) -> Vec<String> {
    v.map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Longest lane a network may hold (m): 100 km, beyond any road between two junctions.
pub const MAX_LANE_LENGTH_M: f64 = 100_000.0;

/// Highest lane speed limit a network may hold (m/s): 150 m/s (540 km/h).
pub const MAX_LANE_SPEED_MS: f64 = 150.0;

/// Longest traffic-light phase (s): one day.
pub const MAX_PHASE_S: f64 = 86_400.0;

fn within(e: &Elem, key: &str, v: f64, lo_open: bool, hi: f64, unit: &str) -> Result<f64> {
    let low = if lo_open { v <= 0.0 } else { v < 0.0 };
    if low || v > hi {
        let lo = if lo_open { "above 0" } else { "at least 0" };
        return Err(e.err(
            key,
            format!("must be {lo} and at most {hi} {unit}, found {v}"),
        ));
    }
    Ok(v)
}

/// Parse the text of a SUMO `.net.xml` file.
///
/// Errors name the element, the attribute and the line. Unknown elements are ignored, as SUMO
/// itself does for elements it does not need (`location`, `roundabout`, `param`, ...).
pub fn parse_net(text: &str) -> Result<NetFile> {
    let mut r = XmlReader::new(text);
    let mut net = NetFile::default();
    let mut saw_root = false;
    // Open containers: the edge or tlLogic being filled.
    let mut cur_edge: Option<NetEdge> = None;
    let mut cur_tl: Option<NetTlLogic> = None;
    let mut in_junction = false;
    while let Some(node) = r.next()? {
        match node {
            Node::Open(e, empty) => match e.name.as_str() {
                "net" => saw_root = true,
                "edge" => {
                    let id = e.req("id")?.to_string();
                    let function = match e.opt("function").unwrap_or("normal") {
                        "normal" | "" => EdgeFunction::Normal,
                        "internal" => EdgeFunction::Internal,
                        _ => EdgeFunction::Other,
                    };
                    let (from, to) = if function == EdgeFunction::Normal {
                        (e.req("from")?.to_string(), e.req("to")?.to_string())
                    } else {
                        (String::new(), String::new())
                    };
                    let edge = NetEdge {
                        id,
                        from,
                        to,
                        function,
                        lanes: Vec::new(),
                        line: e.line,
                    };
                    if empty {
                        net.edges.push(edge);
                    } else {
                        cur_edge = Some(edge);
                    }
                }
                "lane" => {
                    let Some(edge) = cur_edge.as_mut() else {
                        return Err(e.elem_err("<lane> outside an <edge>"));
                    };
                    let index = e.opt_usize("index")?.unwrap_or(edge.lanes.len());
                    let lane = NetLane {
                        id: e.req("id")?.to_string(),
                        index,
                        speed: within(
                            &e,
                            "speed",
                            e.req_f64("speed")?,
                            true,
                            MAX_LANE_SPEED_MS,
                            "m/s",
                        )?,
                        length: within(
                            &e,
                            "length",
                            e.req_f64("length")?,
                            false,
                            MAX_LANE_LENGTH_M,
                            "m",
                        )?,
                        allow: list(e.opt("allow")),
                        disallow: list(e.opt("disallow")),
                    };
                    edge.lanes.push(lane);
                }
                "junction" => {
                    net.junctions.push(NetJunction {
                        id: e.req("id")?.to_string(),
                        kind: e.opt("type").unwrap_or("priority").to_string(),
                        x: e.opt_f64("x")?.unwrap_or(0.0),
                        y: e.opt_f64("y")?.unwrap_or(0.0),
                        int_lanes: list(e.opt("intLanes")),
                        inc_lanes: list(e.opt("incLanes")),
                        requests: Vec::new(),
                        line: e.line,
                    });
                    in_junction = !empty;
                }
                "request" => {
                    if !in_junction {
                        return Err(e.elem_err("<request> outside a <junction>"));
                    }
                    let index = e
                        .opt_usize("index")?
                        .ok_or_else(|| e.err("index", "missing"))?;
                    let response = e.req("response")?.to_string();
                    if response.chars().any(|c| c != '0' && c != '1') {
                        return Err(e.err("response", "expected a string of 0 and 1"));
                    }
                    if let Some(j) = net.junctions.last_mut() {
                        j.requests.push((index, response));
                    }
                }
                "connection" => {
                    let link_index = match e.opt("linkIndex") {
                        None => None,
                        Some(v) => match v.trim().parse::<i64>() {
                            Ok(i) if i >= 0 => Some(i as usize),
                            Ok(_) => None,
                            Err(_) => {
                                return Err(e.err(
                                    "linkIndex",
                                    format!("expected an integer, found {v:?}"),
                                ));
                            }
                        },
                    };
                    net.connections.push(NetConnection {
                        from: e.req("from")?.to_string(),
                        to: e.req("to")?.to_string(),
                        from_lane: e
                            .opt_usize("fromLane")?
                            .ok_or_else(|| e.err("fromLane", "missing"))?,
                        to_lane: e
                            .opt_usize("toLane")?
                            .ok_or_else(|| e.err("toLane", "missing"))?,
                        via: e.opt("via").map(str::to_string),
                        tl: e.opt("tl").map(str::to_string),
                        link_index,
                        dir: e.opt("dir").unwrap_or("s").to_string(),
                        state: e.opt("state").unwrap_or("M").to_string(),
                        line: e.line,
                    });
                }
                "tlLogic" => {
                    let tl = NetTlLogic {
                        id: e.req("id")?.to_string(),
                        kind: e.opt("type").unwrap_or("static").to_string(),
                        program_id: e.opt("programID").unwrap_or("0").to_string(),
                        offset: e.opt_f64("offset")?.unwrap_or(0.0),
                        phases: Vec::new(),
                        line: e.line,
                    };
                    if empty {
                        return Err(
                            e.elem_err("a traffic-light program needs at least one <phase>")
                        );
                    }
                    cur_tl = Some(tl);
                }
                "phase" => {
                    let Some(tl) = cur_tl.as_mut() else {
                        return Err(e.elem_err("<phase> outside a <tlLogic>"));
                    };
                    let duration = within(
                        &e,
                        "duration",
                        e.req_f64("duration")?,
                        true,
                        MAX_PHASE_S,
                        "s",
                    )?;
                    let state = e.req("state")?.to_string();
                    if let Some(c) = state.chars().find(|c| !"GgyYrRsuoO".contains(*c)) {
                        return Err(e.err("state", format!("unknown signal character {c:?}")));
                    }
                    tl.phases.push(NetPhase {
                        duration,
                        state,
                        min_dur: e.opt_f64("minDur")?,
                        max_dur: e.opt_f64("maxDur")?,
                    });
                }
                _ => {}
            },
            Node::Close(name) => match name.as_str() {
                "junction" => in_junction = false,
                "edge" => {
                    if let Some(edge) = cur_edge.take() {
                        net.edges.push(edge);
                    }
                }
                "tlLogic" => {
                    if let Some(tl) = cur_tl.take() {
                        if tl.phases.is_empty() {
                            return Err(TrafficError::Element {
                                line: tl.line,
                                element: "tlLogic".into(),
                                message: format!("program of {:?} has no <phase>", tl.id),
                            });
                        }
                        net.tl_logics.push(tl);
                    }
                }
                _ => {}
            },
        }
    }
    if !saw_root {
        return Err(TrafficError::Element {
            line: 1,
            element: "net".into(),
            message: "not a SUMO network: no <net> root element".into(),
        });
    }
    let mut edge_at: HashMap<&str, usize> = HashMap::new();
    for e in &net.edges {
        if let Some(first) = edge_at.insert(e.id.as_str(), e.line) {
            return Err(TrafficError::Attribute {
                line: e.line,
                element: "edge".into(),
                attribute: "id".into(),
                message: format!("edge {:?} is already defined at line {first}", e.id),
            });
        }
    }
    let mut junctions: HashMap<&str, usize> = HashMap::new();
    for j in &net.junctions {
        if let Some(first) = junctions.insert(j.id.as_str(), j.line) {
            return Err(TrafficError::Attribute {
                line: j.line,
                element: "junction".into(),
                attribute: "id".into(),
                message: format!("junction {:?} is already defined at line {first}", j.id),
            });
        }
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_junctions_and_absurd_lanes_and_phases_are_refused() {
        let dup = r#"<net><junction id="n" x="0" y="0"/>
            <junction id="n" x="1" y="0"/></net>"#;
        let e = parse_net(dup).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("already defined at line 1"),
            "{e}"
        );
        for (lane, says) in [
            (r#"speed="0" length="10""#, "`speed`"),
            (r#"speed="1e9" length="10""#, "at most 150 m/s"),
            (r#"speed="10" length="-1""#, "`length`"),
        ] {
            let t = format!(
                r#"<net><edge id="a" from="x" to="y"><lane id="a_0" {lane}/></edge></net>"#
            );
            let e = parse_net(&t).unwrap_err().to_string();
            assert!(e.contains(says), "{lane}: {e}");
        }
        let phase = r#"<net><tlLogic id="t"><phase duration="1e300" state="G"/></tlLogic></net>"#;
        let e = parse_net(phase).unwrap_err().to_string();
        assert!(e.contains("at most 86400 s"), "{e}");
    }

    const SMALL: &str = r#"<?xml version="1.0"?>
<net version="1.20">
    <edge id=":B_0" function="internal">
        <lane id=":B_0_0" index="0" speed="6.50" length="9.00"/>
    </edge>
    <edge id="AB" from="A" to="B" priority="-1">
        <lane id="AB_0" index="0" speed="13.89" length="200.00" shape="0,0 200,0"/>
        <lane id="AB_1" index="1" speed="13.89" length="200.00" disallow="passenger"/>
    </edge>
    <edge id="BC" from="B" to="C">
        <lane id="BC_0" index="0" speed="10.00" length="100.00"/>
    </edge>
    <tlLogic id="B" type="static" programID="0" offset="5">
        <phase duration="30" state="Gr"/>
        <phase duration="3"  state="yr"/>
    </tlLogic>
    <junction id="A" type="dead_end" x="0" y="0"/>
    <junction id="B" type="traffic_light" x="200.0" y="0.0" intLanes=":B_0_0">
        <request index="0" response="0" foes="0" cont="0"/>
    </junction>
    <connection from="AB" to="BC" fromLane="0" toLane="0" via=":B_0_0" tl="B" linkIndex="0" dir="r" state="O"/>
</net>"#;

    #[test]
    fn reads_edges_lanes_connections_and_programs() {
        let net = parse_net(SMALL).unwrap();
        assert_eq!(net.edges.len(), 3);
        let ab = &net.edges[1];
        assert_eq!(ab.id, "AB");
        assert_eq!(ab.function, EdgeFunction::Normal);
        assert_eq!((ab.from.as_str(), ab.to.as_str()), ("A", "B"));
        assert_eq!(ab.lanes.len(), 2);
        assert!((ab.lanes[0].speed - 13.89).abs() < 1e-12);
        assert!(ab.lanes[0].permits("passenger"));
        assert!(!ab.lanes[1].permits("passenger"));
        assert!(ab.lanes[1].permits("bus"));
        assert_eq!(net.edges[0].function, EdgeFunction::Internal);
        assert_eq!(net.junctions[1].x, 200.0);
        assert_eq!(net.junctions[1].int_lanes, [":B_0_0"]);
        assert_eq!(net.junctions[1].requests, [(0, "0".to_string())]);
        let c = &net.connections[0];
        assert_eq!(c.via.as_deref(), Some(":B_0_0"));
        assert_eq!(c.link_index, Some(0));
        assert_eq!(c.tl.as_deref(), Some("B"));
        let tl = &net.tl_logics[0];
        assert_eq!(tl.offset, 5.0);
        assert_eq!(tl.phases.len(), 2);
        assert_eq!(tl.phases[1].state, "yr");
        assert_eq!(net.lane_map()[":B_0_0"].length, 9.0);
    }

    #[test]
    fn errors_name_element_attribute_and_line() {
        let bad = SMALL.replace(r#"speed="10.00""#, r#"speed="fast""#);
        let err = parse_net(&bad).unwrap_err();
        assert_eq!(
            err,
            TrafficError::Attribute {
                line: 11,
                element: "lane".into(),
                attribute: "speed".into(),
                message: "expected a finite number, found \"fast\"".into()
            }
        );
        assert!(
            err.to_string()
                .starts_with("line 11: <lane> attribute `speed`")
        );

        let bad = SMALL.replace(r#"<connection from="AB" "#, "<connection ");
        let err = parse_net(&bad).unwrap_err().to_string();
        assert!(
            err.contains("line 21") && err.contains("`from`: missing"),
            "{err}"
        );

        let bad = SMALL.replace(r#"state="yr""#, r#"state="yx""#);
        let err = parse_net(&bad).unwrap_err().to_string();
        assert!(err.contains("<phase> attribute `state`"), "{err}");

        let err = parse_net("<net><edge id='x' from='a'></net>").unwrap_err();
        assert!(matches!(
            err,
            TrafficError::Attribute { .. } | TrafficError::Xml { .. }
        ));
        assert!(parse_net("<routes/>").is_err());
    }
}
