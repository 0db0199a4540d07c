//! Features as GeoJSON objects, coordinates in the city's CRS (the answer names it).

use geo::Geometry;
use serde_json::{Value, json};
use twin_model::{AttrValue, Feature};

fn pos(c: &geo::Coord<f64>) -> Value {
    json!([c.x, c.y])
}

fn line(l: &geo::LineString<f64>) -> Value {
    Value::Array(l.0.iter().map(pos).collect())
}

fn rings(p: &geo::Polygon<f64>) -> Value {
    Value::Array(
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(line)
            .collect(),
    )
}

/// A geometry as a GeoJSON geometry object.
pub fn geometry(g: &Geometry<f64>) -> Value {
    match g {
        Geometry::Point(p) => json!({"type": "Point", "coordinates": pos(&p.0)}),
        Geometry::Line(l) => {
            json!({"type": "LineString", "coordinates": [pos(&l.start), pos(&l.end)]})
        }
        Geometry::LineString(l) => json!({"type": "LineString", "coordinates": line(l)}),
        Geometry::Polygon(p) => json!({"type": "Polygon", "coordinates": rings(p)}),
        Geometry::MultiPoint(m) => json!({
            "type": "MultiPoint",
            "coordinates": m.0.iter().map(|p| pos(&p.0)).collect::<Vec<_>>()
        }),
        Geometry::MultiLineString(m) => json!({
            "type": "MultiLineString",
            "coordinates": m.0.iter().map(line).collect::<Vec<_>>()
        }),
        Geometry::MultiPolygon(m) => json!({
            "type": "MultiPolygon",
            "coordinates": m.0.iter().map(rings).collect::<Vec<_>>()
        }),
        Geometry::GeometryCollection(c) => json!({
            "type": "GeometryCollection",
            "geometries": c.0.iter().map(geometry).collect::<Vec<_>>()
        }),
        Geometry::Rect(r) => json!({"type": "Polygon", "coordinates": rings(&r.to_polygon())}),
        Geometry::Triangle(t) => {
            json!({"type": "Polygon", "coordinates": rings(&t.to_polygon())})
        }
    }
}

fn attr(v: &AttrValue) -> Value {
    match v {
        AttrValue::Int(i) => json!(i),
        AttrValue::Real(r) => json!(r),
        AttrValue::Text(t) => json!(t),
        AttrValue::Bool(b) => json!(b),
    }
}

/// A feature as a GeoJSON Feature: id, kind, name, owner and typed attributes as properties.
pub fn feature(f: &Feature) -> Value {
    let mut props = serde_json::Map::new();
    props.insert("id".into(), json!(f.id.0));
    props.insert("kind".into(), json!(f.kind));
    props.insert("name".into(), json!(f.name));
    props.insert("owner".into(), json!(f.owner.code()));
    for (k, v) in &f.attrs {
        props.entry(k.clone()).or_insert_with(|| attr(v));
    }
    json!({
        "type": "Feature",
        "id": f.id.0,
        "geometry": geometry(&f.geometry),
        "properties": Value::Object(props),
    })
}

/// The CRS member of a FeatureCollection (the GeoJSON 2008 form, which RFC 7946 readers
/// ignore; `crs` beside it says the same as text).
pub fn crs_member(code: &str) -> Value {
    let urn = match code.strip_prefix("EPSG:") {
        Some(n) => format!("urn:ogc:def:crs:EPSG::{n}"),
        None => code.to_string(),
    };
    json!({"type": "name", "properties": {"name": urn}})
}
