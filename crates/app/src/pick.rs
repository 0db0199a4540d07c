//! Picking a feature at a map point, the inspector's content, and the name search.

use crate::i18n::Lang;
use crate::playback::{GaugeSeries, RoadState, Run};
use geo::{Contains, Distance, Euclidean, Geometry, Point};
use twin_model::{City, FeatureKey, Layer};

/// How a feature is drawn, which decides which wins when several are near: symbols over
/// lines over areas.
fn rank(g: &Geometry<f64>) -> u8 {
    match g {
        Geometry::Point(_) | Geometry::MultiPoint(_) => 0,
        Geometry::Line(_) | Geometry::LineString(_) | Geometry::MultiLineString(_) => 1,
        _ => 2,
    }
}

/// Kinds that are not drawn and so cannot be picked.
fn pickable(kind: &str) -> bool {
    !matches!(
        kind,
        "subcatchment" | "terrain_tile" | "population_block" | "label" | "storage"
    )
}

/// The feature under a map point: the nearest symbol within `tol_m`, else the nearest line
/// within `tol_m`, else an area holding the point (or within `tol_m`); only layers `visible`.
pub fn pick(city: &City, x: f64, y: f64, tol_m: f64, visible: &[bool; 11]) -> Option<FeatureKey> {
    let p = Point::new(x, y);
    let mut best: Option<(u8, f64, FeatureKey)> = None;
    for layer in Layer::ALL {
        if !visible[layer.index()] {
            continue;
        }
        for f in city
            .layer(layer)
            .query_bbox([x - tol_m, y - tol_m], [x + tol_m, y + tol_m])
        {
            if !pickable(&f.kind) {
                continue;
            }
            let r = rank(&f.geometry);
            let d = if r == 2 && f.geometry.contains(&p) {
                0.0
            } else {
                Euclidean.distance(&f.geometry, &p)
            };
            if d > tol_m {
                continue;
            }
            let key = FeatureKey { layer, id: f.id };
            if best.is_none_or(|(br, bd, _)| (r, d) < (br, bd)) {
                best = Some((r, d, key));
            }
        }
    }
    best.map(|b| b.2)
}

/// What the inspector shows of a feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// The feature.
    pub key: FeatureKey,
    /// Its name ("—" when it has none).
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// Layer name in the language asked.
    pub layer: String,
    /// Owning department in the language asked.
    pub owner: String,
    /// Attributes as text, by name.
    pub attrs: Vec<(String, String)>,
    /// A road's state per traffic interval in the run.
    pub road_history: Vec<RoadState>,
    /// A sensor's or hotspot's depth series in the run (the gauge of the same name, or the
    /// nearest within 30 m).
    pub gauge: Option<GaugeSeries>,
}

/// The inspector's content for a feature.
pub fn inspect(city: &City, run: Option<&Run>, key: FeatureKey, lang: Lang) -> Option<Inspection> {
    let f = city.feature(key)?;
    let attrs = f
        .attrs
        .iter()
        .map(|(k, v)| {
            let s = match v.as_str() {
                Some(s) => s.to_string(),
                None => v
                    .as_f64()
                    .map(|x| format!("{x}"))
                    .unwrap_or_else(|| format!("{v:?}")),
            };
            (k.clone(), s)
        })
        .collect();
    let road_history = match (run, key.layer) {
        (Some(r), Layer::TrafficRoad) => r.road_history(f.id.0).into_iter().cloned().collect(),
        _ => Vec::new(),
    };
    let gauge = run.and_then(|r| {
        let by_name = f
            .name
            .as_deref()
            .and_then(|n| r.gauges.iter().find(|g| g.name == n));
        by_name.cloned().or_else(|| {
            let Geometry::Point(p) = &f.geometry else {
                return None;
            };
            r.gauges
                .iter()
                .map(|g| (((g.x - p.x()).powi(2) + (g.y - p.y()).powi(2)).sqrt(), g))
                .filter(|(d, _)| *d <= 30.0)
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, g)| g.clone())
        })
    });
    Some(Inspection {
        key,
        name: f.name.clone().unwrap_or_else(|| "—".into()),
        kind: f.kind.clone(),
        layer: lang
            .pick(key.layer.name_vi(), key.layer.name_en())
            .to_string(),
        owner: lang.pick(f.owner.name_vi(), f.owner.name_en()).to_string(),
        attrs,
        road_history,
        gauge,
    })
}

/// Lower case without Vietnamese diacritics (đ → d), so that "hang bai" finds "Hàng Bài".
pub fn fold(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'á' | 'ạ' | 'ả' | 'ã' | 'â' | 'ầ' | 'ấ' | 'ậ' | 'ẩ' | 'ẫ' | 'ă' | 'ằ' | 'ắ'
            | 'ặ' | 'ẳ' | 'ẵ' => 'a',
            'è' | 'é' | 'ẹ' | 'ẻ' | 'ẽ' | 'ê' | 'ề' | 'ế' | 'ệ' | 'ể' | 'ễ' => {
                'e'
            }
            'ì' | 'í' | 'ị' | 'ỉ' | 'ĩ' => 'i',
            'ò' | 'ó' | 'ọ' | 'ỏ' | 'õ' | 'ô' | 'ồ' | 'ố' | 'ộ' | 'ổ' | 'ỗ' | 'ơ' | 'ờ' | 'ớ'
            | 'ợ' | 'ở' | 'ỡ' => 'o',
            'ù' | 'ú' | 'ụ' | 'ủ' | 'ũ' | 'ư' | 'ừ' | 'ứ' | 'ự' | 'ử' | 'ữ' => {
                'u'
            }
            'ỳ' | 'ý' | 'ỵ' | 'ỷ' | 'ỹ' => 'y',
            'đ' => 'd',
            c => c,
        })
        .collect()
}

/// A search hit: a named feature (streets merged: one hit per name and layer) and where to
/// fly to.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The name.
    pub name: String,
    /// Its layer.
    pub layer: Layer,
    /// One of its features.
    pub key: FeatureKey,
    /// The middle of everything of that name (map coordinates).
    pub centre: [f64; 2],
    /// Extent of everything of that name, m (largest side).
    pub extent: f64,
}

/// Named features whose name holds `query` (diacritics and case ignored), names starting
/// with it first, at most `max`.
pub fn search(city: &City, query: &str, max: usize) -> Vec<Hit> {
    let q = fold(query.trim());
    if q.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<(bool, Hit, [[f64; 2]; 2])> = Vec::new();
    for layer in Layer::ALL {
        for f in city.layer(layer).features() {
            let Some(name) = &f.name else { continue };
            let n = fold(name);
            let Some(pos) = n.find(&q) else { continue };
            let Some(bb) = f.bbox() else { continue };
            if let Some(e) = found
                .iter_mut()
                .find(|e| e.1.layer == layer && e.1.name == *name)
            {
                e.2 = [
                    [e.2[0][0].min(bb[0][0]), e.2[0][1].min(bb[0][1])],
                    [e.2[1][0].max(bb[1][0]), e.2[1][1].max(bb[1][1])],
                ];
                continue;
            }
            found.push((
                pos == 0,
                Hit {
                    name: name.clone(),
                    layer,
                    key: FeatureKey { layer, id: f.id },
                    centre: [0.0; 2],
                    extent: 0.0,
                },
                bb,
            ));
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.name.cmp(&b.1.name)));
    found
        .into_iter()
        .take(max)
        .map(|(_, mut h, bb)| {
            h.centre = [(bb[0][0] + bb[1][0]) / 2.0, (bb[0][1] + bb[1][1]) / 2.0];
            h.extent = (bb[1][0] - bb[0][0]).max(bb[1][1] - bb[0][1]);
            h
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, polygon};
    use twin_model::{Crs, Department, Feature, FeatureId};

    fn city() -> City {
        let mut c = City::new("t", Crs::VN2000_UTM48N);
        let road = Feature::new(
            FeatureId(7),
            "road",
            Department::Construction,
            LineString::from(vec![(0.0, 50.0), (100.0, 50.0)]).into(),
        )
        .with_name("Phố Hàng Bài");
        c.layer_mut(Layer::TrafficRoad).insert(road);
        let b = Feature::new(
            FeatureId(3),
            "building",
            Department::Construction,
            polygon![(x: 10.0, y: 60.0), (x: 30.0, y: 60.0), (x: 30.0, y: 80.0), (x: 10.0, y: 80.0)].into(),
        );
        c.layer_mut(Layer::Building).insert(b);
        let s = Feature::new(
            FeatureId(1),
            "water_level_sensor",
            Department::AgricultureEnvironment,
            Point::new(50.0, 54.0).into(),
        )
        .with_name("Cảm biến 1");
        c.layer_mut(Layer::Environment).insert(s);
        c
    }

    #[test]
    fn picks_symbols_over_roads_over_areas_and_respects_hidden_layers() {
        let c = city();
        let all = [true; 11];
        // On the road, away from the sensor.
        assert_eq!(pick(&c, 80.0, 51.0, 3.0, &all).unwrap().id, FeatureId(7));
        // Near both: the sensor wins.
        assert_eq!(pick(&c, 50.0, 53.0, 3.0, &all).unwrap().id, FeatureId(1));
        // Inside the building.
        assert_eq!(pick(&c, 20.0, 70.0, 3.0, &all).unwrap().id, FeatureId(3));
        // Nothing there.
        assert_eq!(pick(&c, 200.0, 200.0, 3.0, &all), None);
        let mut no_roads = all;
        no_roads[Layer::TrafficRoad.index()] = false;
        assert_eq!(pick(&c, 80.0, 51.0, 3.0, &no_roads), None);
    }

    #[test]
    fn search_ignores_diacritics_and_merges_a_streets_pieces() {
        let mut c = city();
        let more = Feature::new(
            FeatureId(8),
            "road",
            Department::Construction,
            LineString::from(vec![(100.0, 50.0), (300.0, 50.0)]).into(),
        )
        .with_name("Phố Hàng Bài");
        c.layer_mut(Layer::TrafficRoad).insert(more);
        let h = search(&c, "hang bai", 10);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].centre, [150.0, 50.0]);
        assert_eq!(h[0].extent, 300.0);
        assert_eq!(search(&c, "CẢM", 10)[0].name, "Cảm biến 1");
        assert!(search(&c, "  ", 10).is_empty());
        assert_eq!(fold("Đường Giải Phóng"), "duong giai phong");
    }

    #[test]
    fn inspector_names_layer_owner_and_road_history() {
        let c = city();
        let key = pick(&c, 80.0, 51.0, 3.0, &[true; 11]).unwrap();
        let i = inspect(&c, None, key, Lang::Vi).unwrap();
        assert_eq!(i.name, "Phố Hàng Bài");
        assert_eq!(i.layer, "Giao thông – Đường bộ");
        assert_eq!(i.owner, "Sở Xây dựng");
        let e = inspect(&c, None, key, Lang::En).unwrap();
        assert_eq!(e.layer, "Traffic & Road");
        assert!(e.road_history.is_empty());
    }
}
