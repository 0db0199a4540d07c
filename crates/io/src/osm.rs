//! OpenStreetMap import from PBF and XML into the 11 layers.
//!
//! Roads (with lanes, maxspeed, oneway, bridge/tunnel) go to Traffic & Road, buildings (with
//! height and levels) to Building, water bodies and waterways to Environment, parks and trees
//! to Green, hospitals and schools to Public Service, police, fire stations and cameras to
//! Security, substations and power lines to Utility, shops and offices to Economic, masts and
//! telecom to Digital Infrastructure, residential land use to Population. Multipolygon
//! relations are assembled from their member ways. Feature ids are `4 × osm_id + t` with
//! t = 0 node, 1 way, 2 relation, so they are stable and unique per layer; `osm_id` and
//! `osm_type` are kept as attributes.

use crate::crs::Reprojector;
use crate::error::{IoError, Result};
use geo::{Contains, Geometry, LineString, MultiPolygon, Point, Polygon};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use twin_model::{AttrValue, City, Crs, Feature, FeatureId, Layer};

/// Tags of an element, in file order.
pub type Tags = Vec<(String, String)>;

fn tag<'a>(t: &'a Tags, k: &str) -> Option<&'a str> {
    t.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

/// A tagged node.
#[derive(Debug, Clone)]
pub struct OsmNode {
    /// OSM id.
    pub id: i64,
    /// Tags.
    pub tags: Tags,
}

/// A way.
#[derive(Debug, Clone)]
pub struct OsmWay {
    /// OSM id.
    pub id: i64,
    /// Node references.
    pub refs: Vec<i64>,
    /// Tags.
    pub tags: Tags,
}

/// Type of a relation member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    /// Node member.
    Node,
    /// Way member.
    Way,
    /// Relation member.
    Relation,
}

/// A relation.
#[derive(Debug, Clone)]
pub struct OsmRelation {
    /// OSM id.
    pub id: i64,
    /// Members: kind, id, role.
    pub members: Vec<(MemberKind, i64, String)>,
    /// Tags.
    pub tags: Tags,
}

/// Parsed OSM data in WGS 84.
#[derive(Debug, Clone, Default)]
pub struct OsmData {
    /// Every node's (lon, lat).
    pub coords: HashMap<i64, [f64; 2]>,
    /// Nodes with tags.
    pub nodes: Vec<OsmNode>,
    /// Ways.
    pub ways: Vec<OsmWay>,
    /// Relations.
    pub relations: Vec<OsmRelation>,
}

/// Reads an `.osm.pbf` or `.osm` (XML) file, chosen by content.
pub fn read_osm(path: &Path) -> Result<OsmData> {
    let bytes =
        std::fs::read(path).map_err(|e| IoError::file(path, format!("cannot read: {e}")))?;
    // A UTF-8 byte-order mark (written by some Windows editors) is not part of the XML.
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first.is_none() {
        return Err(IoError::file(
            path,
            "the file is empty: no OSM data (expected OSM XML or PBF)",
        ));
    }
    let xml_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|n| n.ends_with(".osm") || n.ends_with(".xml"));
    if xml_name && first != Some(b'<') {
        return Err(IoError::format(
            path,
            "line 1",
            "an .osm file must be OSM XML starting with '<' (a PBF extract ends in .osm.pbf)",
        ));
    }
    if first == Some(b'<') {
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            IoError::format(path, format!("line {line}"), "not valid UTF-8")
        })?;
        parse_xml(text, path)
    } else {
        parse_pbf(&bytes, path)
    }
}

fn line_of(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Parses OSM XML.
pub fn parse_xml(text: &str, path: &Path) -> Result<OsmData> {
    use quick_xml::events::{BytesStart, Event};
    let mut r = quick_xml::Reader::from_str(text);
    let mut d = OsmData::default();
    enum Cur {
        None,
        Node(i64, Tags),
        Way(i64, Vec<i64>, Tags),
        Rel(i64, Vec<(MemberKind, i64, String)>, Tags),
    }
    let mut cur = Cur::None;
    let mut saw_osm = false;
    let attrs = |e: &BytesStart, pos: usize| -> Result<HashMap<String, String>> {
        let mut m = HashMap::new();
        for a in e.attributes() {
            let a = a.map_err(|err| {
                IoError::format(
                    path,
                    format!("line {}", line_of(text, pos)),
                    format!("bad attribute: {err}"),
                )
            })?;
            let v = a.unescape_value().map_err(|err| {
                IoError::format(
                    path,
                    format!("line {}", line_of(text, pos)),
                    format!("bad attribute value: {err}"),
                )
            })?;
            m.insert(
                String::from_utf8_lossy(a.key.as_ref()).to_string(),
                v.to_string(),
            );
        }
        Ok(m)
    };
    loop {
        let pos = r.buffer_position() as usize;
        let ev = r.read_event().map_err(|e| {
            IoError::format(
                path,
                format!("line {}", line_of(text, r.error_position() as usize)),
                format!("malformed XML: {e}"),
            )
        })?;
        let (e, empty) = match &ev {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            Event::End(e) => {
                match e.name().as_ref() {
                    b"node" | b"way" | b"relation" => {
                        finish(&mut d, std::mem::replace(&mut cur, Cur::None))
                    }
                    _ => {}
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let Some(e) = e else { continue };
        let name = e.name().as_ref().to_vec();
        let num = |m: &HashMap<String, String>, k: &str, elem: &str| -> Result<f64> {
            let v = m.get(k).ok_or_else(|| {
                IoError::format(
                    path,
                    format!("line {}", line_of(text, pos)),
                    format!("<{elem}> has no '{k}' attribute"),
                )
            })?;
            v.parse::<f64>().map_err(|_| {
                IoError::format(
                    path,
                    format!("line {}, <{elem}> attribute '{k}'", line_of(text, pos)),
                    format!("expected a number, got '{v}'"),
                )
            })
        };
        match name.as_slice() {
            b"osm" => saw_osm = true,
            b"node" => {
                let m = attrs(&e, pos)?;
                let id = num(&m, "id", "node")? as i64;
                let lat = num(&m, "lat", "node")?;
                let lon = num(&m, "lon", "node")?;
                if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                    return Err(IoError::format(
                        path,
                        format!("line {}, node {id}", line_of(text, pos)),
                        format!("coordinates out of range: lat {lat}, lon {lon}"),
                    ));
                }
                d.coords.insert(id, [lon, lat]);
                cur = Cur::Node(id, Vec::new());
                if empty {
                    finish(&mut d, std::mem::replace(&mut cur, Cur::None));
                }
            }
            b"way" => {
                let m = attrs(&e, pos)?;
                cur = Cur::Way(num(&m, "id", "way")? as i64, Vec::new(), Vec::new());
                if empty {
                    finish(&mut d, std::mem::replace(&mut cur, Cur::None));
                }
            }
            b"relation" => {
                let m = attrs(&e, pos)?;
                cur = Cur::Rel(num(&m, "id", "relation")? as i64, Vec::new(), Vec::new());
                if empty {
                    finish(&mut d, std::mem::replace(&mut cur, Cur::None));
                }
            }
            b"tag" => {
                let m = attrs(&e, pos)?;
                let (Some(k), Some(v)) = (m.get("k"), m.get("v")) else {
                    return Err(IoError::format(
                        path,
                        format!("line {}", line_of(text, pos)),
                        "<tag> needs 'k' and 'v'",
                    ));
                };
                match &mut cur {
                    Cur::Node(_, t) | Cur::Way(_, _, t) | Cur::Rel(_, _, t) => {
                        t.push((k.clone(), v.clone()))
                    }
                    Cur::None => {}
                }
            }
            b"nd" => {
                let m = attrs(&e, pos)?;
                let r = num(&m, "ref", "nd")? as i64;
                if let Cur::Way(_, refs, _) = &mut cur {
                    refs.push(r);
                }
            }
            b"member" => {
                let m = attrs(&e, pos)?;
                let kind = match m.get("type").map(String::as_str) {
                    Some("node") => MemberKind::Node,
                    Some("way") => MemberKind::Way,
                    Some("relation") => MemberKind::Relation,
                    other => {
                        return Err(IoError::format(
                            path,
                            format!("line {}, <member> attribute 'type'", line_of(text, pos)),
                            format!("expected node, way or relation, got {other:?}"),
                        ));
                    }
                };
                let id = num(&m, "ref", "member")? as i64;
                if let Cur::Rel(_, mem, _) = &mut cur {
                    mem.push((kind, id, m.get("role").cloned().unwrap_or_default()));
                }
            }
            _ => {}
        }
    }
    if !saw_osm {
        return Err(IoError::format(
            path,
            "line 1",
            "not an OSM XML file (no <osm> element)",
        ));
    }
    fn finish(d: &mut OsmData, c: Cur) {
        match c {
            Cur::Node(id, tags) if !tags.is_empty() => d.nodes.push(OsmNode { id, tags }),
            Cur::Way(id, refs, tags) => d.ways.push(OsmWay { id, refs, tags }),
            Cur::Rel(id, members, tags) => d.relations.push(OsmRelation { id, members, tags }),
            _ => {}
        }
    }
    Ok(d)
}

/// Parses an OSM PBF file's bytes.
///
/// The `osmpbf` decoder panics on some corrupt blocks (a relation member of unknown type,
/// for one); such a panic is contained here and reported as a corrupt file, with the
/// panic hook silenced for the call so nothing but our error reaches the user.
pub fn parse_pbf(bytes: &[u8], path: &Path) -> Result<OsmData> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| decode_pbf(bytes, path));
    std::panic::set_hook(hook);
    r.unwrap_or_else(|p| {
        let why = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("undecodable block");
        Err(IoError::format(
            path,
            "PBF data",
            format!("corrupt OSM PBF: the decoder stopped ({why})"),
        ))
    })
}

fn decode_pbf(bytes: &[u8], path: &Path) -> Result<OsmData> {
    use osmpbf::{Element, ElementReader, RelMemberType};
    let reader = ElementReader::new(std::io::Cursor::new(bytes));
    let mut d = OsmData::default();
    let owned =
        |it: osmpbf::TagIter| -> Tags { it.map(|(k, v)| (k.to_string(), v.to_string())).collect() };
    let mut bad: Option<String> = None;
    reader
        .for_each(|el| match el {
            Element::Node(n) => {
                d.coords.insert(n.id(), [n.lon(), n.lat()]);
                let t = owned(n.tags());
                if !t.is_empty() {
                    d.nodes.push(OsmNode {
                        id: n.id(),
                        tags: t,
                    });
                }
            }
            Element::DenseNode(n) => {
                d.coords.insert(n.id(), [n.lon(), n.lat()]);
                let t: Tags = n
                    .tags()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                if !t.is_empty() {
                    d.nodes.push(OsmNode {
                        id: n.id(),
                        tags: t,
                    });
                }
            }
            Element::Way(w) => d.ways.push(OsmWay {
                id: w.id(),
                refs: w.refs().collect(),
                tags: owned(w.tags()),
            }),
            Element::Relation(r) => {
                let mut members = Vec::new();
                for m in r.members() {
                    let kind = match m.member_type {
                        RelMemberType::Node => MemberKind::Node,
                        RelMemberType::Way => MemberKind::Way,
                        RelMemberType::Relation => MemberKind::Relation,
                    };
                    let role = match m.role() {
                        Ok(s) => s.to_string(),
                        Err(e) => {
                            bad.get_or_insert(format!("relation {}: bad member role: {e}", r.id()));
                            String::new()
                        }
                    };
                    members.push((kind, m.member_id, role));
                }
                d.relations.push(OsmRelation {
                    id: r.id(),
                    members,
                    tags: owned(r.tags()),
                });
            }
        })
        .map_err(|e| {
            IoError::format(
                path,
                "PBF data",
                format!("corrupt or truncated OSM PBF: {e}"),
            )
        })?;
    if let Some(b) = bad {
        return Err(IoError::format(path, "PBF data", b));
    }
    if d.coords.is_empty() && d.ways.is_empty() {
        return Err(IoError::format(
            path,
            "PBF data",
            "no OSM elements found (empty or not an OSM PBF file)",
        ));
    }
    Ok(d)
}

/// What a tag set is in the model: layer and kind. Order matters: the first rule that matches wins.
pub fn classify(t: &Tags, is_area: bool) -> Option<(Layer, String)> {
    let g = |k: &str| tag(t, k);
    if let Some(h) = g("highway") {
        return match h {
            "traffic_signals" => Some((Layer::TrafficRoad, "traffic_signals".into())),
            "bus_stop" => Some((Layer::TrafficRoad, "bus_stop".into())),
            "street_lamp" => Some((Layer::Utility, "street_lamp".into())),
            "proposed" | "construction" | "platform" | "abandoned" | "razed" => None,
            h if twin_model::roads::is_drivable_class(h) && !is_area => {
                // Public motor traffic only, as routing networks define it (OSMnx's `drive`
                // filter): private access, parking aisles and driveways are kept, but not routed.
                let private = matches!(
                    g("access"),
                    Some("private" | "no" | "customers" | "delivery")
                ) || matches!(g("motor_vehicle"), Some("no" | "private"))
                    || matches!(g("motorcar"), Some("no" | "private"))
                    || matches!(
                        g("service"),
                        Some(
                            "parking_aisle"
                                | "parking"
                                | "driveway"
                                | "private"
                                | "emergency_access"
                                | "drive-through"
                        )
                    );
                Some((
                    Layer::TrafficRoad,
                    if private { "road_private" } else { "road" }.into(),
                ))
            }
            "footway" | "path" | "pedestrian" | "cycleway" | "steps" | "track" | "bridleway"
            | "corridor" => Some((Layer::TrafficRoad, "path".into())),
            _ => None,
        };
    }
    if g("building").is_some_and(|b| b != "no") {
        return Some((Layer::Building, "building".into()));
    }
    if g("natural") == Some("water")
        || g("water").is_some()
        || g("waterway") == Some("riverbank")
        || matches!(g("landuse"), Some("reservoir" | "basin"))
    {
        // A river's or canal's water area is a river (held at its stage by the flood
        // solver), not a lake.
        if matches!(g("water"), Some("river" | "canal" | "oxbow"))
            || g("waterway") == Some("riverbank")
        {
            return Some((Layer::Environment, "river".into()));
        }
        return Some((Layer::Environment, "water".into()));
    }
    if let Some(w @ ("river" | "stream" | "canal" | "drain" | "ditch")) = g("waterway") {
        return Some((Layer::Environment, w.to_string()));
    }
    if let Some(a) = g("amenity") {
        let k = match a {
            "hospital" | "clinic" | "doctors" | "school" | "university" | "college"
            | "kindergarten" | "library" | "community_centre" | "social_facility"
            | "arts_centre" | "theatre" | "place_of_worship" => Some((Layer::PublicService, a)),
            "police" | "fire_station" => Some((Layer::Security, a)),
            "parking" | "bus_station" | "fuel" | "charging_station" => {
                Some((Layer::TrafficRoad, a))
            }
            "marketplace" | "restaurant" | "cafe" | "bank" | "fast_food" | "bar" | "pub"
            | "pharmacy" => Some((Layer::Economic, a)),
            _ => None,
        };
        if let Some((l, k)) = k {
            return Some((l, k.to_string()));
        }
    }
    if g("healthcare").is_some() {
        return Some((Layer::PublicService, "healthcare".into()));
    }
    if let Some(p) = g("power").filter(|p| {
        matches!(
            *p,
            "substation" | "transformer" | "plant" | "generator" | "line" | "minor_line" | "cable"
        )
    }) {
        return Some((Layer::Utility, p.to_string()));
    }
    if g("man_made") == Some("surveillance") {
        return Some((Layer::Security, "camera".into()));
    }
    if g("telecom").is_some()
        || g("communication:mobile_phone").is_some()
        || (matches!(g("man_made"), Some("mast" | "tower"))
            && g("tower:type") == Some("communication"))
    {
        return Some((Layer::DigitalInfrastructure, "telecom".into()));
    }
    if let Some(v) =
        g("leisure").filter(|v| matches!(*v, "park" | "garden" | "playground" | "nature_reserve"))
    {
        return Some((Layer::Green, v.to_string()));
    }
    if let Some(v) = g("landuse").filter(|v| {
        matches!(
            *v,
            "grass" | "forest" | "recreation_ground" | "village_green" | "meadow" | "cemetery"
        )
    }) {
        return Some((Layer::Green, v.to_string()));
    }
    if let Some(v) =
        g("natural").filter(|v| matches!(*v, "wood" | "tree" | "tree_row" | "scrub" | "grassland"))
    {
        return Some((Layer::Green, v.to_string()));
    }
    if g("shop").is_some()
        || g("office").is_some()
        || g("craft").is_some()
        || matches!(g("tourism"), Some("hotel" | "guest_house" | "hostel"))
    {
        return Some((
            Layer::Economic,
            if g("shop").is_some() {
                "shop"
            } else if g("office").is_some() {
                "office"
            } else if g("craft").is_some() {
                "craft"
            } else {
                "hotel"
            }
            .into(),
        ));
    }
    if matches!(g("landuse"), Some("commercial" | "retail")) {
        return Some((Layer::Economic, "commercial_area".into()));
    }
    if g("landuse") == Some("residential") {
        return Some((Layer::Population, "residential_area".into()));
    }
    if matches!(g("tourism"), Some("museum" | "attraction")) || g("historic").is_some() {
        return Some((Layer::PublicService, "culture".into()));
    }
    None
}

fn first_number(s: &str) -> Option<f64> {
    let t: String = s
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    t.parse().ok()
}

/// Parses `maxspeed` to km/h (`50`, `30 mph`, `VN:urban`).
pub fn parse_maxspeed(s: &str) -> Option<f64> {
    let s = s.trim();
    match s {
        "VN:urban" => return Some(50.0),
        "VN:rural" => return Some(80.0),
        "VN:motorway" => return Some(120.0),
        _ => {}
    }
    let v = first_number(s)?;
    Some(if s.contains("mph") { v * 1.609_344 } else { v }).filter(|v| *v > 0.0)
}

fn attrs_for(kind: &str, t: &Tags, f: &mut Feature) {
    if let Some(n) = tag(t, "name:en") {
        f.attrs.insert("name_en".into(), n.into());
    }
    match kind {
        "road" | "road_private" | "path" => {
            if let Some(h) = tag(t, "highway") {
                f.attrs.insert("highway".into(), h.into());
            }
            if let Some(l) = tag(t, "lanes").and_then(first_number).filter(|l| *l >= 1.0) {
                f.attrs
                    .insert("lanes".into(), AttrValue::Int(l.round() as i64));
            }
            if let Some(s) = tag(t, "maxspeed").and_then(parse_maxspeed) {
                f.attrs.insert("maxspeed_kmh".into(), AttrValue::Real(s));
            }
            for b in ["bridge", "tunnel"] {
                if tag(t, b).is_some_and(|v| v != "no") {
                    f.attrs.insert(b.into(), AttrValue::Bool(true));
                }
            }
            if let Some(r) = tag(t, "ref") {
                f.attrs.insert("ref".into(), r.into());
            }
            if let Some(ow) = tag(t, "__oneway") {
                f.attrs
                    .insert("oneway".into(), AttrValue::Bool(ow == "true"));
            }
        }
        "building" => {
            f.attrs.insert(
                "building".into(),
                tag(t, "building").unwrap_or("yes").into(),
            );
            let levels = tag(t, "building:levels").and_then(first_number);
            if let Some(l) = levels {
                f.attrs
                    .insert("levels".into(), AttrValue::Int(l.round() as i64));
            }
            if let Some(h) = tag(t, "height")
                .and_then(first_number)
                .or(levels.map(|l| l * 3.3))
            {
                f.attrs.insert("height_m".into(), AttrValue::Real(h));
            }
        }
        _ => {
            for k in [
                "amenity", "power", "leisure", "landuse", "natural", "waterway", "shop", "office",
                "voltage", "operator", "capacity",
            ] {
                if let Some(v) = tag(t, k) {
                    f.attrs.insert(k.into(), v.into());
                }
            }
        }
    }
}

/// Joins way node lists into closed rings (member ways of a multipolygon).
fn assemble_rings(mut parts: Vec<Vec<i64>>) -> (Vec<Vec<i64>>, usize) {
    let mut rings = Vec::new();
    let mut open = 0;
    while let Some(mut cur) = parts.pop() {
        while cur.len() > 1 && cur.first() != cur.last() {
            let end = *cur.last().unwrap();
            let Some(i) = parts
                .iter()
                .position(|p| p.first() == Some(&end) || p.last() == Some(&end))
            else {
                break;
            };
            let mut p = parts.swap_remove(i);
            if p.first() != Some(&end) {
                p.reverse();
            }
            cur.extend_from_slice(&p[1..]);
        }
        if cur.len() >= 4 && cur.first() == cur.last() {
            rings.push(cur);
        } else {
            open += 1;
        }
    }
    (rings, open)
}

/// Options of the OSM import.
#[derive(Debug, Clone, Default)]
pub struct OsmImportOptions {
    /// Target CRS; default: VN-2000 UTM inside Vietnam, WGS 84 UTM elsewhere.
    pub crs: Option<Crs>,
    /// City name; default: the file stem.
    pub name: Option<String>,
}

/// What the import did and skipped.
#[derive(Debug, Clone, Default)]
pub struct OsmImportReport {
    /// Features per layer.
    pub counts: BTreeMap<Layer, usize>,
    /// Elements skipped, by reason.
    pub skipped: BTreeMap<String, usize>,
}

/// Builds a city from parsed OSM data.
pub fn to_city(
    d: &OsmData,
    opts: &OsmImportOptions,
    path: &Path,
) -> Result<(City, OsmImportReport)> {
    let mut rep = OsmImportReport::default();
    if d.coords.is_empty() {
        return Err(IoError::format(path, "nodes", "the file holds no nodes"));
    }
    // CRS from the median node position (robust to stray far-away nodes).
    let mut lons: Vec<f64> = d.coords.values().map(|c| c[0]).collect();
    let mut lats: Vec<f64> = d.coords.values().map(|c| c[1]).collect();
    lons.sort_by(f64::total_cmp);
    lats.sort_by(f64::total_cmp);
    let crs = opts
        .crs
        .unwrap_or_else(|| Crs::metric_for(lons[lons.len() / 2], lats[lats.len() / 2]));
    let rp = Reprojector::new(Crs::WGS84, crs, &path.display().to_string())?;
    let mut ids: Vec<i64> = d.coords.keys().copied().collect();
    ids.sort_unstable();
    let mut xs: Vec<f64> = ids.iter().map(|i| d.coords[i][0]).collect();
    let mut ys: Vec<f64> = ids.iter().map(|i| d.coords[i][1]).collect();
    rp.transform(&mut xs, &mut ys)?;
    let xy: HashMap<i64, [f64; 2]> = ids
        .iter()
        .enumerate()
        .map(|(k, i)| (*i, [xs[k], ys[k]]))
        .collect();
    let name = opts.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .trim_end_matches(".osm")
            .to_string()
    });
    let mut city = City::new(&name, crs);
    city.metadata.insert(
        "source".into(),
        format!(
            "OpenStreetMap: {}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ),
    );
    city.metadata.insert(
        "licence".into(),
        "ODbL 1.0, © OpenStreetMap contributors".into(),
    );
    let mut per_layer: BTreeMap<Layer, Vec<Feature>> = BTreeMap::new();
    let mut push =
        |layer: Layer, kind: String, osm_type: &str, id: i64, t: &Tags, g: Geometry<f64>| {
            let tn = match osm_type {
                "node" => 0,
                "way" => 1,
                _ => 2,
            };
            let mut f = Feature::new(FeatureId(id * 4 + tn), &kind, layer.default_owner(), g);
            f.name = tag(t, "name").map(str::to_string);
            f.attrs.insert("osm_id".into(), AttrValue::Int(id));
            f.attrs.insert("osm_type".into(), osm_type.into());
            attrs_for(&kind, t, &mut f);
            per_layer.entry(layer).or_default().push(f);
        };
    for n in &d.nodes {
        if let Some((layer, kind)) = classify(&n.tags, false) {
            let p = xy[&n.id];
            push(
                layer,
                kind,
                "node",
                n.id,
                &n.tags,
                Point::new(p[0], p[1]).into(),
            );
        }
    }
    let way_pts = |refs: &[i64]| -> Option<Vec<(f64, f64)>> {
        refs.iter()
            .map(|r| xy.get(r).map(|p| (p[0], p[1])))
            .collect()
    };
    let ways_by_id: HashMap<i64, &OsmWay> = d.ways.iter().map(|w| (w.id, w)).collect();
    for w in &d.ways {
        let closed = w.refs.len() >= 4 && w.refs.first() == w.refs.last();
        let area_tag = tag(&w.tags, "area");
        let is_area = closed
            && area_tag != Some("no")
            && (tag(&w.tags, "highway").is_none() || area_tag == Some("yes"));
        let Some((layer, mut kind)) = classify(&w.tags, is_area) else {
            continue;
        };
        let mut pts = match way_pts(&w.refs) {
            Some(p) => p,
            None if is_area => {
                *rep.skipped
                    .entry("area with nodes missing from the extract".into())
                    .or_default() += 1;
                continue;
            }
            None => {
                // A line clipped by the extract: keep its longest run of present nodes.
                *rep.skipped
                    .entry("line clipped by the extract (longest part kept)".into())
                    .or_default() += 1;
                let mut best: Vec<(f64, f64)> = Vec::new();
                let mut run: Vec<(f64, f64)> = Vec::new();
                for r in &w.refs {
                    match xy.get(r) {
                        Some(p) => run.push((p[0], p[1])),
                        None => {
                            if run.len() > best.len() {
                                best = std::mem::take(&mut run);
                            }
                            run.clear();
                        }
                    }
                }
                if run.len() > best.len() {
                    best = run;
                }
                best
            }
        };
        if pts.len() < 2 {
            *rep.skipped
                .entry("way with fewer than 2 nodes".into())
                .or_default() += 1;
            continue;
        }
        let water_area = tag(&w.tags, "natural") == Some("water")
            || tag(&w.tags, "waterway") == Some("riverbank");
        let linear_kind = !water_area
            && matches!(
                kind.as_str(),
                "road"
                    | "road_private"
                    | "path"
                    | "line"
                    | "minor_line"
                    | "cable"
                    | "river"
                    | "stream"
                    | "canal"
                    | "drain"
                    | "ditch"
                    | "tree_row"
            );
        let g: Geometry<f64> = if is_area && !linear_kind {
            Polygon::new(LineString::from(pts), vec![]).into()
        } else {
            if kind == "road" {
                let ow = tag(&w.tags, "oneway");
                let reverse = matches!(ow, Some("-1" | "reverse"));
                let oneway = reverse
                    || matches!(ow, Some("yes" | "true" | "1"))
                    || (ow.is_none()
                        && (tag(&w.tags, "junction") == Some("roundabout")
                            || tag(&w.tags, "highway") == Some("motorway")));
                if reverse {
                    pts.reverse();
                }
                let mut tags = w.tags.clone();
                tags.push(("__oneway".into(), oneway.to_string()));
                let ls: Geometry<f64> = LineString::from(pts).into();
                push(layer, kind.clone(), "way", w.id, &tags, ls);
                continue;
            }
            if kind == "water" {
                kind = "water_line".into();
            }
            LineString::from(pts).into()
        };
        push(layer, kind, "way", w.id, &w.tags, g);
    }
    for r in &d.relations {
        if !matches!(tag(&r.tags, "type"), Some("multipolygon" | "boundary"))
            || tag(&r.tags, "type") == Some("boundary")
        {
            continue;
        }
        let Some((layer, kind)) = classify(&r.tags, true) else {
            continue;
        };
        let mut outers = Vec::new();
        let mut inners = Vec::new();
        let mut missing = false;
        for (k, id, role) in &r.members {
            if *k != MemberKind::Way {
                continue;
            }
            match ways_by_id.get(id) {
                Some(w) => {
                    if role == "inner" {
                        inners.push(w.refs.clone())
                    } else {
                        outers.push(w.refs.clone())
                    }
                }
                None => missing = true,
            }
        }
        let (outer_rings, open1) = assemble_rings(outers);
        let (inner_rings, open2) = assemble_rings(inners);
        if missing || open1 + open2 > 0 {
            *rep.skipped
                .entry("multipolygon with missing members or open rings (kept what closes)".into())
                .or_default() += 1;
        }
        let to_ls = |ring: &Vec<i64>| way_pts(ring).map(LineString::from);
        let mut polys: Vec<Polygon<f64>> = outer_rings
            .iter()
            .filter_map(to_ls)
            .map(|ls| Polygon::new(ls, vec![]))
            .collect();
        for ir in inner_rings.iter().filter_map(to_ls) {
            let p0 = Point::from(ir.0[0]);
            if let Some(poly) = polys.iter_mut().find(|p| p.contains(&p0)) {
                poly.interiors_push(ir);
            }
        }
        if polys.is_empty() {
            continue;
        }
        let g: Geometry<f64> = if polys.len() == 1 {
            polys.pop().unwrap().into()
        } else {
            MultiPolygon::new(polys).into()
        };
        push(layer, kind, "relation", r.id, &r.tags, g);
    }
    for (layer, feats) in per_layer {
        rep.counts.insert(layer, feats.len());
        city.layer_mut(layer).extend(feats);
    }
    Ok((city, rep))
}

/// Reads and imports an OSM file.
pub fn import_osm(path: &Path, opts: &OsmImportOptions) -> Result<(City, OsmImportReport)> {
    let d = read_osm(path)?;
    to_city(&d, opts, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"<?xml version="1.0"?>
<osm version="0.6">
 <node id="1" lat="21.0300" lon="105.8500"/>
 <node id="2" lat="21.0300" lon="105.8510"/>
 <node id="3" lat="21.0310" lon="105.8510"/>
 <node id="4" lat="21.0310" lon="105.8500"><tag k="highway" v="traffic_signals"/></node>
 <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/><tag k="lanes" v="4"/><tag k="maxspeed" v="50"/><tag k="name" v="Phố Huế"/></way>
 <way id="11"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/><tag k="oneway" v="-1"/></way>
 <way id="12"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="building" v="yes"/><tag k="building:levels" v="5"/></way>
 <way id="13"><nd ref="1"/><nd ref="2"/><nd ref="3"/></way>
 <way id="14"><nd ref="3"/><nd ref="4"/><nd ref="1"/></way>
 <relation id="20"><member type="way" ref="13" role="outer"/><member type="way" ref="14" role="outer"/><tag k="type" v="multipolygon"/><tag k="natural" v="water"/><tag k="name" v="Hồ thử"/></relation>
</osm>"#;

    #[test]
    fn small_xml_to_layers() {
        let d = parse_xml(SMALL, Path::new("small.osm")).unwrap();
        let (c, rep) = to_city(&d, &OsmImportOptions::default(), Path::new("small.osm")).unwrap();
        assert_eq!(c.crs, Crs::VN2000_UTM48N);
        let t = c.layer(Layer::TrafficRoad);
        assert_eq!(t.len(), 3);
        let hue = t.get(FeatureId(41)).unwrap();
        assert_eq!(hue.name.as_deref(), Some("Phố Huế"));
        assert_eq!(hue.num("lanes"), Some(4.0));
        assert_eq!(hue.num("maxspeed_kmh"), Some(50.0));
        let rev = t.get(FeatureId(45)).unwrap();
        assert_eq!(rev.attrs.get("oneway"), Some(&AttrValue::Bool(true)));
        // oneway=-1 is stored in travel direction: from node 4 to node 3
        if let Geometry::LineString(ls) = &rev.geometry {
            assert!(ls.0[0].x < ls.0[1].x);
        }
        let b = c.layer(Layer::Building).features()[0].clone();
        assert!((b.num("height_m").unwrap() - 16.5).abs() < 1e-9);
        let lake = c.layer(Layer::Environment).get(FeatureId(82)).unwrap();
        assert_eq!(lake.name.as_deref(), Some("Hồ thử"));
        assert!(matches!(lake.geometry, Geometry::Polygon(_)));
        assert!(rep.skipped.is_empty());
        let g = twin_model::RoadGraph::from_layer(t);
        assert_eq!(g.signal_count(), 1);
    }

    /// Protobuf field `f` holding `bytes` (wire type 2), or a varint (wire type 0).
    fn pb_bytes(f: u32, bytes: &[u8]) -> Vec<u8> {
        let mut v = pb_varint_raw(u64::from(f << 3 | 2));
        v.extend(pb_varint_raw(bytes.len() as u64));
        v.extend_from_slice(bytes);
        v
    }
    fn pb_varint(f: u32, x: u64) -> Vec<u8> {
        let mut v = pb_varint_raw(u64::from(f << 3));
        v.extend(pb_varint_raw(x));
        v
    }
    fn pb_varint_raw(mut x: u64) -> Vec<u8> {
        let mut v = Vec::new();
        loop {
            let b = (x & 0x7f) as u8;
            x >>= 7;
            if x == 0 {
                v.push(b);
                return v;
            }
            v.push(b | 0x80);
        }
    }
    /// One file block: its header (type, size) and an uncompressed blob.
    fn pb_block(kind: &str, body: &[u8]) -> Vec<u8> {
        let mut blob = pb_bytes(1, body);
        blob.extend(pb_varint(2, body.len() as u64));
        let mut header = pb_bytes(1, kind.as_bytes());
        header.extend(pb_varint(3, blob.len() as u64));
        let mut out = (header.len() as u32).to_be_bytes().to_vec();
        out.extend(header);
        out.extend(blob);
        out
    }

    #[test]
    fn a_relation_member_of_unknown_type_is_a_corrupt_file_not_a_panic() {
        // A well-formed PBF whose one relation has a member of type 9 (node, way and relation
        // are 0, 1, 2): the osmpbf decoder panics on it (found by fuzzing).
        let file = |member_type: u64| {
            let header = pb_bytes(4, b"OsmSchema-V0.6");
            let strings = [pb_bytes(1, b""), pb_bytes(1, b"outer")].concat();
            let relation = [
                pb_varint(1, 7),
                pb_bytes(8, &pb_varint_raw(1)),
                pb_bytes(9, &pb_varint_raw(2)),
                pb_bytes(10, &pb_varint_raw(member_type)),
            ]
            .concat();
            let way = [pb_varint(1, 1), pb_bytes(8, &pb_varint_raw(10))].concat();
            let group = [pb_bytes(3, &way), pb_bytes(4, &relation)].concat();
            let block = [pb_bytes(1, &strings), pb_bytes(2, &group)].concat();
            [pb_block("OSMHeader", &header), pb_block("OSMData", &block)].concat()
        };
        let good = parse_pbf(&file(1), Path::new("good.osm.pbf")).unwrap();
        assert_eq!(good.relations.len(), 1);
        assert_eq!(good.relations[0].members[0].0, MemberKind::Way);
        assert_eq!(good.relations[0].members[0].1, 1);
        let e = parse_pbf(&file(9), Path::new("bad.osm.pbf"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad.osm.pbf") && e.contains("corrupt OSM PBF: the decoder stopped"),
            "{e}"
        );
    }

    #[test]
    fn a_byte_order_mark_reads_as_without() {
        let d = tempfile::tempdir().unwrap();
        let (plain, bom) = (d.path().join("plain.osm"), d.path().join("bom.osm"));
        std::fs::write(&plain, SMALL).unwrap();
        std::fs::write(&bom, format!("\u{feff}{}", SMALL.replace('\n', "\r\n"))).unwrap();
        let (a, b) = (read_osm(&plain).unwrap(), read_osm(&bom).unwrap());
        assert!(a.ways.len() >= 2, "{}", a.ways.len());
        assert_eq!(
            (a.coords.len(), a.ways.len(), a.relations.len()),
            (b.coords.len(), b.ways.len(), b.relations.len())
        );
        assert_eq!(a.ways[0].tags, b.ways[0].tags);
    }

    #[test]
    fn malformed_xml_names_the_line() {
        let bad = SMALL.replace(
            r#"lat="21.0310" lon="105.8510""#,
            r#"lat="north" lon="105.8510""#,
        );
        let e = parse_xml(&bad, Path::new("bad.osm"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad.osm")
                && e.contains("line 5")
                && e.contains("'lat'")
                && e.contains("north"),
            "{e}"
        );
        let e = parse_xml(
            "<osm><node id=\"1\" lat=\"1\" lon=\"2\"></way></osm>",
            Path::new("x.osm"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("x.osm") && e.contains("malformed XML"), "{e}");
        let e = parse_pbf(b"\x00\x00\x00\x0dOSMHeader garbage", Path::new("t.pbf"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.pbf") && e.contains("PBF"), "{e}");
    }

    #[test]
    fn maxspeed_forms() {
        assert_eq!(parse_maxspeed("50"), Some(50.0));
        assert!((parse_maxspeed("30 mph").unwrap() - 48.28).abs() < 0.01);
        assert_eq!(parse_maxspeed("VN:urban"), Some(50.0));
        assert_eq!(parse_maxspeed("signals"), None);
    }
}
