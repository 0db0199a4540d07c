//! The city: 11 layers in one metric CRS, a DEM, metadata and time-stamped (4D) state.

use crate::feature::{Feature, FeatureId, FeatureKey};
use crate::layer::Layer;
use crate::layerdata::LayerData;
use crate::raster::Raster;
use std::collections::BTreeMap;

/// A coordinate reference system by EPSG code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Crs {
    /// EPSG code.
    pub epsg: u32,
}

impl Crs {
    /// VN-2000 / UTM zone 48N, the national projected system for Hanoi.
    pub const VN2000_UTM48N: Crs = Crs { epsg: 3405 };
    /// VN-2000 / UTM zone 49N (Vietnam east of 108° E).
    pub const VN2000_UTM49N: Crs = Crs { epsg: 3406 };
    /// WGS 84 longitude/latitude.
    pub const WGS84: Crs = Crs { epsg: 4326 };

    /// `EPSG:nnnn`.
    pub fn code(&self) -> String {
        format!("EPSG:{}", self.epsg)
    }

    /// Parses `EPSG:3405`, `epsg:3405` or `3405`.
    pub fn parse(s: &str) -> Option<Crs> {
        let t = s.trim();
        let n = t
            .strip_prefix("EPSG:")
            .or_else(|| t.strip_prefix("epsg:"))
            .unwrap_or(t);
        n.parse().ok().map(|epsg| Crs { epsg })
    }

    /// True for longitude/latitude systems this model knows (not metric).
    pub fn is_geographic(&self) -> bool {
        matches!(self.epsg, 4326 | 4756 | 4269 | 4258)
    }

    /// The metric CRS the model uses for data centred at (lon, lat): VN-2000 UTM inside
    /// Vietnam, WGS 84 UTM elsewhere.
    pub fn metric_for(lon: f64, lat: f64) -> Crs {
        let in_vietnam = (102.0..=110.0).contains(&lon) && (8.0..=24.0).contains(&lat);
        if in_vietnam {
            if lon < 108.0 {
                Crs::VN2000_UTM48N
            } else {
                Crs::VN2000_UTM49N
            }
        } else {
            let zone = (((lon + 180.0) / 6.0).floor() as i64).clamp(0, 59) as u32 + 1;
            Crs {
                epsg: if lat >= 0.0 {
                    32600 + zone
                } else {
                    32700 + zone
                },
            }
        }
    }
}

/// One time-stamped value of a feature (4D state): e.g. a water level at a sensor, a depth
/// on a road link, a pump's on/off.
#[derive(Debug, Clone, PartialEq)]
pub struct StateEntry {
    /// The feature the value belongs to.
    pub key: FeatureKey,
    /// Seconds since 1970-01-01 UTC.
    pub t: i64,
    /// What is measured or simulated (`water_level_m`, `depth_m`, `pump_on` …).
    pub quantity: String,
    /// The value.
    pub value: f64,
}

/// The city model.
#[derive(Debug, Clone, PartialEq)]
pub struct City {
    /// Display name.
    pub name: String,
    /// The model's metric CRS; all geometry is in it.
    pub crs: Crs,
    layers: Vec<LayerData>,
    /// Terrain (digital elevation model), metres above datum.
    pub dem: Option<Raster>,
    /// Free key/value metadata (source, licence, `synthetic` …).
    pub metadata: BTreeMap<String, String>,
    /// Time-stamped state, kept sorted by (feature, quantity, time).
    state: Vec<StateEntry>,
}

impl City {
    /// An empty city.
    pub fn new(name: &str, crs: Crs) -> City {
        City {
            name: name.to_string(),
            crs,
            layers: Layer::ALL.iter().map(|&l| LayerData::new(l)).collect(),
            dem: None,
            metadata: BTreeMap::new(),
            state: Vec::new(),
        }
    }

    /// What the city's data lacked and a rule designed, from the `designed:<layer>:<kind>`
    /// metadata entries: (layer table name, kind, rule).
    pub fn designed_rules(&self) -> Vec<(String, String, String)> {
        self.metadata
            .iter()
            .filter_map(|(k, v)| {
                let (layer, kind) = k.strip_prefix("designed:")?.split_once(':')?;
                Some((layer.to_string(), kind.to_string(), v.clone()))
            })
            .collect()
    }

    /// A layer.
    pub fn layer(&self, l: Layer) -> &LayerData {
        &self.layers[l.index()]
    }

    /// A layer, mutable.
    pub fn layer_mut(&mut self, l: Layer) -> &mut LayerData {
        &mut self.layers[l.index()]
    }

    /// All layers in plan order.
    pub fn layers(&self) -> impl Iterator<Item = &LayerData> {
        self.layers.iter()
    }

    /// Feature by key.
    pub fn feature(&self, key: FeatureKey) -> Option<&Feature> {
        self.layer(key.layer).get(key.id)
    }

    /// Total number of features.
    pub fn feature_count(&self) -> usize {
        self.layers.iter().map(|l| l.len()).sum()
    }

    /// True if the metadata marks the city as synthetic (generated, not surveyed).
    pub fn is_synthetic(&self) -> bool {
        self.metadata.get("synthetic").map(String::as_str) == Some("true")
    }

    /// Bounding box of all layers and the DEM.
    pub fn bbox(&self) -> Option<[[f64; 2]; 2]> {
        let mut boxes: Vec<[[f64; 2]; 2]> = self.layers.iter().filter_map(|l| l.bbox()).collect();
        if let Some(d) = &self.dem {
            boxes.push(d.bbox());
        }
        boxes.into_iter().reduce(|a, b| {
            [
                [a[0][0].min(b[0][0]), a[0][1].min(b[0][1])],
                [a[1][0].max(b[1][0]), a[1][1].max(b[1][1])],
            ]
        })
    }

    /// Records a state value; entries stay sorted so queries and stores are deterministic.
    pub fn record_state(&mut self, key: FeatureKey, t: i64, quantity: &str, value: f64) {
        let e = StateEntry {
            key,
            t,
            quantity: quantity.to_string(),
            value,
        };
        let pos = self.state.partition_point(|s| {
            (s.key, s.quantity.as_str(), s.t) <= (e.key, e.quantity.as_str(), e.t)
        });
        self.state.insert(pos, e);
    }

    /// All state entries, sorted by (feature, quantity, time).
    pub fn state(&self) -> &[StateEntry] {
        &self.state
    }

    /// The series of one quantity of one feature within `[t0, t1]`.
    pub fn state_series(
        &self,
        key: FeatureKey,
        quantity: &str,
        t0: i64,
        t1: i64,
    ) -> Vec<(i64, f64)> {
        self.state
            .iter()
            .filter(|s| s.key == key && s.quantity == quantity && s.t >= t0 && s.t <= t1)
            .map(|s| (s.t, s.value))
            .collect()
    }

    /// The last value at or before `t`.
    pub fn state_at(&self, key: FeatureKey, quantity: &str, t: i64) -> Option<f64> {
        self.state
            .iter()
            .rfind(|s| s.key == key && s.quantity == quantity && s.t <= t)
            .map(|s| s.value)
    }

    /// Next free id in a layer.
    pub fn next_id(&self, l: Layer) -> FeatureId {
        self.layer(l).next_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_choice_and_parse() {
        assert_eq!(Crs::metric_for(105.85, 21.03), Crs::VN2000_UTM48N);
        assert_eq!(Crs::metric_for(108.2, 16.05).epsg, 3406);
        assert_eq!(Crs::metric_for(24.94, 60.17).epsg, 32635);
        assert_eq!(Crs::metric_for(-70.0, -33.0).epsg, 32719);
        assert_eq!(Crs::parse("EPSG:3405"), Some(Crs::VN2000_UTM48N));
        assert_eq!(Crs::parse("4326"), Some(Crs::WGS84));
        assert_eq!(Crs::parse("UTM"), None);
    }

    #[test]
    fn state_is_sorted_and_queryable() {
        let mut c = City::new("t", Crs::VN2000_UTM48N);
        let k = FeatureKey {
            layer: Layer::Environment,
            id: FeatureId(7),
        };
        c.record_state(k, 300, "water_level_m", 2.0);
        c.record_state(k, 100, "water_level_m", 1.0);
        c.record_state(k, 200, "water_level_m", 1.5);
        assert_eq!(
            c.state_series(k, "water_level_m", 0, 250),
            vec![(100, 1.0), (200, 1.5)]
        );
        assert_eq!(c.state_at(k, "water_level_m", 250), Some(1.5));
        assert_eq!(c.state_at(k, "water_level_m", 50), None);
        assert_eq!(c.layers().count(), 11);
    }
}
