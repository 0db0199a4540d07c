//! Model -> GeoPackage -> model keeps every feature, attribute, geometry, state and the DEM.

use geo::{Geometry, LineString, MultiPolygon, Point, Polygon};
use proptest::prelude::*;
use twin_io::gpkg::{read_city, write_city};
use twin_model::{AttrValue, City, Crs, Department, Feature, FeatureId, FeatureKey, Layer, Raster};

fn coord() -> impl Strategy<Value = (f64, f64)> {
    (580_000.0..600_000.0f64, 2_320_000.0..2_330_000.0f64)
}

fn ring() -> impl Strategy<Value = LineString<f64>> {
    (coord(), 1.0..500.0f64, 1.0..500.0f64).prop_map(|((x, y), w, h)| {
        LineString::from(vec![(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)])
    })
}

fn geometry() -> impl Strategy<Value = Geometry<f64>> {
    prop_oneof![
        coord().prop_map(|(x, y)| Point::new(x, y).into()),
        prop::collection::vec(coord(), 2..8).prop_map(|v| LineString::from(v).into()),
        ring().prop_map(|r| Polygon::new(r, vec![]).into()),
        prop::collection::vec(ring(), 1..3).prop_map(|rs| MultiPolygon::new(
            rs.into_iter().map(|r| Polygon::new(r, vec![])).collect()
        )
        .into()),
    ]
}

/// Attribute keys have a fixed type per key, as a layer schema does.
fn attrs() -> impl Strategy<Value = Vec<(String, AttrValue)>> {
    (
        prop::option::of(any::<i64>()),
        prop::option::of(-1e9..1e9f64),
        prop::option::of("[a-zA-Z0-9 ăâđêôơưàảãáạ]{0,12}"),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(i, r, t, b)| {
            let mut v = Vec::new();
            if let Some(i) = i {
                v.push(("count".to_string(), AttrValue::Int(i)));
            }
            if let Some(r) = r {
                v.push(("height_m".to_string(), AttrValue::Real(r)));
            }
            if let Some(t) = t {
                v.push(("addr:street".to_string(), AttrValue::Text(t)));
            }
            if let Some(b) = b {
                v.push(("signal".to_string(), AttrValue::Bool(b)));
            }
            v
        })
}

fn feature() -> impl Strategy<Value = (usize, Feature)> {
    (
        0..11usize,
        1..i64::MAX / 4,
        "[a-z_]{1,10}",
        prop::option::of("[A-Za-z Hồàếđ]{0,16}"),
        prop_oneof![
            Just(Department::Construction),
            Just(Department::Health),
            Just(Department::Other("EVN".into()))
        ],
        geometry(),
        attrs(),
    )
        .prop_map(|(l, id, kind, name, owner, g, a)| {
            let mut f = Feature::new(FeatureId(id), &kind, owner, g);
            f.name = name;
            for (k, v) in a {
                f.attrs.insert(k, v);
            }
            (l, f)
        })
}

fn city_from(feats: Vec<(usize, Feature)>, dem: bool, state: Vec<(i64, f64)>) -> City {
    let mut c = City::new("Thành phố thử / test city", Crs::VN2000_UTM48N);
    c.metadata.insert("synthetic".into(), "true".into());
    for (l, f) in feats {
        c.layer_mut(Layer::ALL[l]).insert(f);
    }
    if dem {
        let mut r = Raster::filled(7, 5, 586_000.0, 2_326_000.0, 10.0, 6.5);
        r.set(3, 2, 1.25);
        r.nodata = Some(-9999.0);
        r.set(0, 0, -9999.0);
        c.dem = Some(r);
    }
    for (t, v) in state {
        c.record_state(
            FeatureKey {
                layer: Layer::Environment,
                id: FeatureId(3),
            },
            t,
            "water_level_m",
            v,
        );
    }
    c
}

fn sorted(c: &City) -> Vec<Vec<Feature>> {
    c.layers()
        .map(|l| {
            let mut v = l.features().to_vec();
            v.sort_by_key(|f| f.id);
            v
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn gpkg_round_trip_keeps_everything(
        feats in prop::collection::vec(feature(), 0..40),
        dem in any::<bool>(),
        state in prop::collection::vec((0..1_000_000i64, -5.0..20.0f64), 0..5),
    ) {
        let city = city_from(feats, dem, state);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("city.gpkg");
        write_city(&city, &p).unwrap();
        let back = read_city(&p).unwrap();
        prop_assert_eq!(&back.name, &city.name);
        prop_assert_eq!(back.crs, city.crs);
        prop_assert_eq!(&back.metadata, &city.metadata);
        prop_assert_eq!(sorted(&back), sorted(&city));
        prop_assert_eq!(back.state(), city.state());
        prop_assert_eq!(&back.dem, &city.dem);
    }
}

#[test]
fn unwritable_output_is_an_error_and_leaves_nothing() {
    let city = city_from(vec![], true, vec![]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("missing-dir").join("city.gpkg");
    let e = write_city(&city, &p).unwrap_err().to_string();
    assert!(
        e.contains("city.gpkg") && e.contains("does not exist"),
        "{e}"
    );
    // A bad feature id fails before anything is written, and an existing file is untouched.
    let good = dir.path().join("good.gpkg");
    std::fs::write(&good, b"old").unwrap();
    let mut bad = city_from(vec![], false, vec![]);
    bad.layer_mut(Layer::Green).insert(Feature::new(
        FeatureId(-4),
        "tree",
        Department::Construction,
        Point::new(1.0, 2.0).into(),
    ));
    let e = write_city(&bad, &good).unwrap_err().to_string();
    assert!(e.contains("feature -4"), "{e}");
    assert_eq!(std::fs::read(&good).unwrap(), b"old");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}
