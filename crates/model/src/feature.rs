//! Features: geometry, typed attributes, a stable typed id and an owning department.

use crate::layer::{Department, Layer};
use geo::{BoundingRect, Geometry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Stable id of a feature within its layer (the GeoPackage `fid`). Imported data keeps its
/// source id where it has one (OSM way/node ids are made unique per layer, see `twin-io`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FeatureId(pub i64);

/// A feature's key across the whole city: its layer and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FeatureKey {
    /// Layer holding the feature.
    pub layer: Layer,
    /// Id within the layer.
    pub id: FeatureId,
}

/// A typed attribute value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttrValue {
    /// Whole number.
    Int(i64),
    /// Real number (finite).
    Real(f64),
    /// Text.
    Text(String),
    /// Yes/no.
    Bool(bool),
}

/// The type of an [`AttrValue`], used for layer schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AttrType {
    /// [`AttrValue::Int`]
    Int,
    /// [`AttrValue::Real`]
    Real,
    /// [`AttrValue::Text`]
    Text,
    /// [`AttrValue::Bool`]
    Bool,
}

impl AttrType {
    /// Stable name used in stores.
    pub fn name(self) -> &'static str {
        match self {
            AttrType::Int => "int",
            AttrType::Real => "real",
            AttrType::Text => "text",
            AttrType::Bool => "bool",
        }
    }

    /// Inverse of [`AttrType::name`].
    pub fn parse(s: &str) -> Option<AttrType> {
        Some(match s {
            "int" => AttrType::Int,
            "real" => AttrType::Real,
            "text" => AttrType::Text,
            "bool" => AttrType::Bool,
            _ => return None,
        })
    }
}

impl AttrValue {
    /// The value's type.
    pub fn attr_type(&self) -> AttrType {
        match self {
            AttrValue::Int(_) => AttrType::Int,
            AttrValue::Real(_) => AttrType::Real,
            AttrValue::Text(_) => AttrType::Text,
            AttrValue::Bool(_) => AttrType::Bool,
        }
    }

    /// Numeric view (ints and reals; bools as 0/1; text parsed if numeric).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Int(i) => Some(*i as f64),
            AttrValue::Real(r) => Some(*r),
            AttrValue::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            AttrValue::Text(t) => t.trim().parse().ok(),
        }
    }

    /// Text view of text values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl From<f64> for AttrValue {
    fn from(v: f64) -> Self {
        AttrValue::Real(v)
    }
}
impl From<i64> for AttrValue {
    fn from(v: i64) -> Self {
        AttrValue::Int(v)
    }
}
impl From<bool> for AttrValue {
    fn from(v: bool) -> Self {
        AttrValue::Bool(v)
    }
}
impl From<&str> for AttrValue {
    fn from(v: &str) -> Self {
        AttrValue::Text(v.to_string())
    }
}
impl From<String> for AttrValue {
    fn from(v: String) -> Self {
        AttrValue::Text(v)
    }
}

/// Attribute names every store reserves for the feature's own fields.
pub const RESERVED_FIELDS: [&str; 5] = ["fid", "kind", "name", "owner", "geom"];

/// One feature of a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Stable id within the layer.
    pub id: FeatureId,
    /// What it is within its layer (`road`, `building`, `water`, `manhole`, `hospital` …).
    pub kind: String,
    /// Human name, if any (Vietnamese names are kept as written).
    pub name: Option<String>,
    /// Owning department.
    pub owner: Department,
    /// Geometry in the city's CRS.
    pub geometry: Geometry<f64>,
    /// Typed attributes; keys never collide with [`RESERVED_FIELDS`].
    pub attrs: BTreeMap<String, AttrValue>,
}

impl Feature {
    /// A feature with no attributes.
    pub fn new(id: FeatureId, kind: &str, owner: Department, geometry: Geometry<f64>) -> Feature {
        Feature {
            id,
            kind: kind.to_string(),
            name: None,
            owner,
            geometry,
            attrs: BTreeMap::new(),
        }
    }

    /// Builder: set the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Feature {
        self.name = Some(name.into());
        self
    }

    /// Builder: set an attribute.
    pub fn with(mut self, key: &str, value: impl Into<AttrValue>) -> Feature {
        self.attrs.insert(key.to_string(), value.into());
        self
    }

    /// Numeric attribute.
    pub fn num(&self, key: &str) -> Option<f64> {
        self.attrs.get(key).and_then(|v| v.as_f64())
    }

    /// Text attribute.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).and_then(|v| v.as_str())
    }

    /// Axis-aligned bounding box `[min, max]`, or `None` for empty geometry.
    pub fn bbox(&self) -> Option<[[f64; 2]; 2]> {
        self.geometry
            .bounding_rect()
            .map(|r| [[r.min().x, r.min().y], [r.max().x, r.max().y]])
    }
}
