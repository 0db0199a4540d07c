//! A city GeoPackage whose metadata tables hold fuzzed values: each input line replaces
//! one stored value (CRS, city name, an attribute type, a state row's layer, feature id,
//! time and quantity), then the city is read back as `twin` reads any `.gpkg`.
#![no_main]
use gdal::vector::sql::Dialect;
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use geo::{Geometry, LineString};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use twin_model::{AttrValue, City, Crs, Department, Feature, FeatureId, FeatureKey, Layer};

fn base() -> &'static (PathBuf, PathBuf) {
    static BASE: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("twin-fuzz-gpkg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut city = City::new("fuzz", Crs::VN2000_UTM48N);
        let line = LineString::from(vec![(588_000.0, 2_325_000.0), (588_100.0, 2_325_050.0)]);
        let mut f = Feature::new(
            FeatureId(1),
            "primary",
            Department::Construction,
            Geometry::LineString(line),
        );
        f.attrs.insert("lanes".into(), AttrValue::Int(2));
        city.layer_mut(Layer::TrafficRoad).extend([f]);
        city.record_state(
            FeatureKey {
                layer: Layer::TrafficRoad,
                id: FeatureId(1),
            },
            60,
            "depth_m",
            0.2,
        );
        let base = dir.join("base.gpkg");
        twin_io::gpkg::write_city(&city, &base).expect("base city");
        (base, dir.join("work.gpkg"))
    })
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fuzz_target!(|data: &[u8]| {
    twin_io::capture_gdal_messages();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains('\0') {
        return;
    }
    let (base, work) = base();
    std::fs::copy(base, work).expect("copy base city");
    let v: Vec<&str> = text.split('\n').collect();
    let sets = [
        "UPDATE twin_metadata SET value = {} WHERE key = 'crs'",
        "UPDATE twin_metadata SET value = {} WHERE key = 'name'",
        "UPDATE twin_fields SET type = {}",
        "UPDATE twin_state SET layer = {}",
        "UPDATE twin_state SET feature_id = {}",
        "UPDATE twin_state SET t = {}",
        "UPDATE twin_state SET quantity = {}",
        "UPDATE twin_fields SET field = {}",
    ];
    {
        let Ok(ds) = Dataset::open_ex(
            work,
            DatasetOptions {
                open_flags: GdalOpenFlags::GDAL_OF_UPDATE | GdalOpenFlags::GDAL_OF_VECTOR,
                ..Default::default()
            },
        ) else {
            return;
        };
        for (sql, val) in sets.iter().zip(&v) {
            let _ = ds.execute_sql(sql.replace("{}", &quote(val)), None, Dialect::SQLITE);
        }
    }
    let _ = twin_io::gpkg::read_city(work);
});
