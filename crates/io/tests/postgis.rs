//! The demo district through PostgreSQL + PostGIS: a cluster of its own on a loopback port
//! (`twin_io::pglocal`), the city pushed and read back, compared with the same city read from
//! its GeoPackage. Skipped where PostgreSQL/PostGIS is not installed, except under CI.

use geo::{Geometry, Point};
use twin_io::pg::{self, PushOptions};
use twin_io::pglocal::LocalPg;
use twin_model::{City, Department, Feature, FeatureId, FeatureKey, Layer};

fn demo() -> City {
    let mut c = twin_citygen::generate(&twin_citygen::DemoOptions {
        dem_cell_m: 30.0,
        ..Default::default()
    });
    // Some 4D state, so the state table is compared too.
    let key = FeatureKey {
        layer: Layer::Environment,
        id: c.layer(Layer::Environment).features()[0].id,
    };
    c.record_state(key, 1_780_000_000, "water_level_m", 5.25);
    c.record_state(key, 1_780_000_600, "water_level_m", 5.5);
    c
}

fn pg() -> Option<LocalPg> {
    LocalPg::for_test().unwrap_or_else(|e| panic!("{e}"))
}

fn assert_same_city(a: &City, b: &City) {
    assert_eq!(a.name, b.name);
    assert_eq!(a.crs, b.crs);
    assert_eq!(a.metadata, b.metadata);
    for l in Layer::ALL {
        let (fa, fb) = (a.layer(l).features(), b.layer(l).features());
        assert_eq!(fa.len(), fb.len(), "layer {l}");
        for (x, y) in fa.iter().zip(fb) {
            assert_eq!(x, y, "layer {l}, feature {}", x.id.0);
        }
    }
    assert_eq!(a.state(), b.state());
    match (&a.dem, &b.dem) {
        (None, None) => {}
        (Some(x), Some(y)) => {
            assert_eq!(
                (x.nx, x.ny, x.x0, x.y0, x.cell, x.nodata),
                (y.nx, y.ny, y.x0, y.y0, y.cell, y.nodata)
            );
            let bits =
                |r: &twin_model::Raster| r.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(x), bits(y), "DEM cells");
        }
        _ => panic!("one city has a DEM, the other not"),
    }
}

#[test]
fn the_demo_city_from_postgis_is_the_city_from_its_geopackage() {
    let Some(db) = pg() else { return };
    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("city.gpkg");
    twin_io::gpkg::write_city(&demo(), &gpkg).unwrap();
    let from_gpkg = twin_io::gpkg::read_city(&gpkg).unwrap();
    let conn = pg::push_city(&from_gpkg, &db.conn("twin"), &PushOptions::default()).unwrap();
    assert_eq!(conn, db.conn("twin"));
    let from_pg = twin_io::open_city(std::path::Path::new(&conn)).unwrap();
    assert_same_city(&from_gpkg, &from_pg);
    // Real contents, so the comparison is not of two empty cities.
    assert!(
        from_pg.layers().all(|l| !l.is_empty()),
        "every layer holds features"
    );
    let dem = from_pg.dem.as_ref().unwrap();
    assert_eq!((dem.nx, dem.ny), (100, 100));
    assert_eq!(from_pg.state().len(), 2);
    // PostGIS holds real geometry in the city CRS, queryable by the warehouse.
    let srid = db
        .psql("twin", "SELECT DISTINCT ST_SRID(geom) FROM building")
        .unwrap();
    assert_eq!(srid, "3405");
    let n = db
        .psql(
            "twin",
            "SELECT count(*) FROM building WHERE ST_GeometryType(geom) = 'ST_Polygon'",
        )
        .unwrap();
    assert_eq!(
        n.parse::<usize>().unwrap(),
        from_pg
            .layer(Layer::Building)
            .features()
            .iter()
            .filter(|f| matches!(f.geometry, Geometry::Polygon(_)))
            .count()
    );
    // Reals are double precision columns, every digit kept (0.1 + 0.2 above too).
    let t = db
        .psql(
            "twin",
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'environment' \
             AND column_name = 'area_m2'",
        )
        .unwrap();
    assert_eq!(t, "double precision");
    let row0 = db
        .psql(
            "twin",
            "SELECT array_length(z, 1) FROM twin_dem WHERE row = 0",
        )
        .unwrap();
    assert_eq!(row0, "100");
}

#[test]
fn a_city_goes_into_its_own_schema_and_is_replaced_only_when_asked() {
    let Some(db) = pg() else { return };
    let mut city = City::new("Phường Thử", twin_model::Crs::VN2000_UTM48N);
    city.layer_mut(Layer::Environment).insert(
        Feature::new(
            FeatureId(7),
            "water_level_sensor",
            Department::AgricultureEnvironment,
            Geometry::Point(Point::new(586_950.5, 2_324_200.25)),
        )
        .with_name("Cảm biến 'Phố Thử'")
        .with("ground_m", 0.1 + 0.2)
        .with("Levels", 3_i64)
        .with("pumped", true),
    );
    let opts = PushOptions {
        schema: Some("ward_1".into()),
        replace: false,
    };
    let conn = pg::push_city(&city, &db.conn("twin"), &opts).unwrap();
    assert!(conn.ends_with(" active_schema=ward_1"), "{conn}");
    assert_same_city(&city, &pg::read_city(&conn).unwrap());
    // Nothing went to public.
    assert!(
        pg::read_city(&db.conn("twin"))
            .unwrap_err()
            .to_string()
            .contains("no city here")
    );
    // A second push is refused, naming the tables, and the first city stays.
    let mut second = city.clone();
    second.name = "Phường Mới".into();
    let e = pg::push_city(&second, &db.conn("twin"), &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("already holds a city") && e.contains("building") && e.contains("twin_metadata"),
        "{e}"
    );
    assert_eq!(pg::read_city(&conn).unwrap().name, "Phường Thử");
    // A push that fails half-way (the second field's name, cut to PostgreSQL's 63
    // characters, repeats the first) leaves the old city whole.
    let long = "x".repeat(63);
    let mut broken = second.clone();
    broken.layer_mut(Layer::Building).insert(
        Feature::new(
            FeatureId(1),
            "house",
            Department::Construction,
            Geometry::Point(Point::new(586_960.0, 2_324_210.0)),
        )
        .with(&format!("{long}a"), 1_i64)
        .with(&format!("{long}b"), 2_i64),
    );
    let replace = PushOptions {
        replace: true,
        ..opts.clone()
    };
    let e = pg::push_city(&broken, &db.conn("twin"), &replace)
        .unwrap_err()
        .to_string();
    assert!(e.contains("building"), "{e}");
    assert_same_city(&city, &pg::read_city(&conn).unwrap());
    // Asked to, it replaces the city in one go.
    pg::push_city(&second, &db.conn("twin"), &replace).unwrap();
    assert_same_city(&second, &pg::read_city(&conn).unwrap());
}

#[test]
fn a_database_without_postgis_is_refused_by_name() {
    let Some(db) = pg() else { return };
    let conn = format!("{} password=not-shown", db.conn("plain"));
    let e = pg::push_city(&demo(), &conn, &PushOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("dbname=plain") && e.contains("password=***"),
        "{e}"
    );
    assert!(
        e.contains("no PostGIS") && e.contains("chưa có PostGIS"),
        "{e}"
    );
    assert!(!e.contains("not-shown"), "{e}");
    assert_eq!(db.table_count("plain", "public").unwrap(), 0);
    let e = pg::read_city(&db.conn("plain")).unwrap_err().to_string();
    assert!(
        e.contains("no city here") && e.contains("twin city push"),
        "{e}"
    );
}
