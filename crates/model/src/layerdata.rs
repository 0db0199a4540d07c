//! A layer's features with an R-tree (rstar) over their bounding boxes for bbox, point and
//! nearest queries.

use crate::feature::{Feature, FeatureId};
use crate::layer::Layer;
use geo::{Distance, Euclidean, Geometry, Intersects, Point, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use std::collections::HashMap;

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// The features of one layer and their spatial index.
#[derive(Debug, Clone)]
pub struct LayerData {
    layer: Layer,
    features: Vec<Feature>,
    by_id: HashMap<FeatureId, usize>,
    index: RTree<Entry>,
}

impl PartialEq for LayerData {
    fn eq(&self, other: &Self) -> bool {
        self.layer == other.layer && self.features == other.features
    }
}

fn entry(f: &Feature, i: usize) -> Option<Entry> {
    f.bbox()
        .map(|[a, b]| GeomWithData::new(Rectangle::from_corners(a, b), i))
}

impl LayerData {
    /// An empty layer.
    pub fn new(layer: Layer) -> LayerData {
        LayerData {
            layer,
            features: Vec::new(),
            by_id: HashMap::new(),
            index: RTree::new(),
        }
    }

    /// Which layer this is.
    pub fn layer(&self) -> Layer {
        self.layer
    }

    /// Features in insertion order.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// True when the layer holds nothing.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Feature by id.
    pub fn get(&self, id: FeatureId) -> Option<&Feature> {
        self.by_id.get(&id).map(|&i| &self.features[i])
    }

    /// The next id not used in this layer.
    pub fn next_id(&self) -> FeatureId {
        FeatureId(self.by_id.keys().map(|k| k.0).max().unwrap_or(0) + 1)
    }

    /// Inserts a feature, replacing any feature with the same id. Returns the replaced one.
    pub fn insert(&mut self, f: Feature) -> Option<Feature> {
        if let Some(&i) = self.by_id.get(&f.id) {
            let old = std::mem::replace(&mut self.features[i], f);
            self.rebuild_index();
            return Some(old);
        }
        let i = self.features.len();
        if let Some(e) = entry(&f, i) {
            self.index.insert(e);
        }
        self.by_id.insert(f.id, i);
        self.features.push(f);
        None
    }

    /// Inserts many features and rebuilds the index once (bulk load).
    pub fn extend(&mut self, fs: impl IntoIterator<Item = Feature>) {
        for f in fs {
            if let Some(&i) = self.by_id.get(&f.id) {
                self.features[i] = f;
            } else {
                self.by_id.insert(f.id, self.features.len());
                self.features.push(f);
            }
        }
        self.rebuild_index();
    }

    /// Removes a feature by id.
    pub fn remove(&mut self, id: FeatureId) -> Option<Feature> {
        let i = self.by_id.remove(&id)?;
        let f = self.features.remove(i);
        self.by_id = self
            .features
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id, i))
            .collect();
        self.rebuild_index();
        Some(f)
    }

    fn rebuild_index(&mut self) {
        let entries: Vec<Entry> = self
            .features
            .iter()
            .enumerate()
            .filter_map(|(i, f)| entry(f, i))
            .collect();
        self.index = RTree::bulk_load(entries);
    }

    /// Bounding box of the whole layer `[min, max]`.
    pub fn bbox(&self) -> Option<[[f64; 2]; 2]> {
        if self.index.size() == 0 {
            return None;
        }
        let e = self.index.root().envelope();
        Some([e.lower(), e.upper()])
    }

    /// Features whose geometry intersects the box, sorted by id.
    pub fn query_bbox(&self, min: [f64; 2], max: [f64; 2]) -> Vec<&Feature> {
        let rect = Rect::new(min, max);
        let mut out: Vec<&Feature> = self
            .index
            .locate_in_envelope_intersecting(&AABB::from_corners(min, max))
            .map(|e| &self.features[e.data])
            .filter(|f| f.geometry.intersects(&rect))
            .collect();
        out.sort_by_key(|f| f.id);
        out
    }

    /// Features within `tol` metres of the point (0 = containing it), sorted by id.
    pub fn query_point(&self, p: [f64; 2], tol: f64) -> Vec<&Feature> {
        let pt = Point::new(p[0], p[1]);
        let env = AABB::from_corners([p[0] - tol, p[1] - tol], [p[0] + tol, p[1] + tol]);
        let mut out: Vec<&Feature> = self
            .index
            .locate_in_envelope_intersecting(&env)
            .map(|e| &self.features[e.data])
            .filter(|f| distance(&pt, &f.geometry) <= tol)
            .collect();
        out.sort_by_key(|f| f.id);
        out
    }

    /// The `k` features nearest to the point by exact geometric distance, nearest first
    /// (ties broken by id), with their distances.
    pub fn nearest(&self, p: [f64; 2], k: usize) -> Vec<(&Feature, f64)> {
        if k == 0 {
            return Vec::new();
        }
        let pt = Point::new(p[0], p[1]);
        let mut best: Vec<(&Feature, f64)> = Vec::new();
        for (e, lb2) in self.index.nearest_neighbor_iter_with_distance_2(&p) {
            if best.len() >= k && lb2.sqrt() > best[k - 1].1 {
                break;
            }
            let f = &self.features[e.data];
            let d = distance(&pt, &f.geometry);
            best.push((f, d));
            best.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.id.cmp(&b.0.id)));
            best.truncate(k);
        }
        best
    }
}

/// Euclidean distance from a point to any geometry (0 inside areas).
pub fn distance(p: &Point<f64>, g: &Geometry<f64>) -> f64 {
    if g.intersects(p) {
        return 0.0;
    }
    Euclidean.distance(p, g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Department;
    use geo::{LineString, Polygon, point};

    fn square(id: i64, x: f64, y: f64, s: f64) -> Feature {
        let poly = Polygon::new(
            LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]),
            vec![],
        );
        Feature::new(
            FeatureId(id),
            "building",
            Department::Construction,
            poly.into(),
        )
    }

    #[test]
    fn bbox_point_and_nearest_queries() {
        let mut l = LayerData::new(Layer::Building);
        for i in 0..10 {
            l.insert(square(i, i as f64 * 20.0, 0.0, 10.0));
        }
        l.insert(Feature::new(
            FeatureId(100),
            "tree",
            Department::Construction,
            point!(x: 5.0, y: 50.0).into(),
        ));
        let hits: Vec<i64> = l
            .query_bbox([15.0, -1.0], [45.0, 1.0])
            .iter()
            .map(|f| f.id.0)
            .collect();
        assert_eq!(hits, vec![1, 2]);
        assert_eq!(l.query_point([25.0, 5.0], 0.0)[0].id, FeatureId(1));
        assert!(l.query_point([15.0, 5.0], 0.0).is_empty());
        assert_eq!(l.query_point([15.0, 5.0], 5.0).len(), 2);
        let nn = l.nearest([5.0, 40.0], 2);
        assert_eq!(nn[0].0.id, FeatureId(100));
        assert!((nn[0].1 - 10.0).abs() < 1e-9);
        assert_eq!(nn[1].0.id, FeatureId(0));
        assert!((nn[1].1 - 30.0).abs() < 1e-9);
        assert_eq!(l.bbox(), Some([[0.0, 0.0], [190.0, 50.0]]));
        l.remove(FeatureId(100));
        assert_eq!(l.nearest([5.0, 40.0], 1)[0].0.id, FeatureId(0));
        assert_eq!(l.len(), 10);
    }
}
