//! `twin city push` into a PostgreSQL + PostGIS of the test's own (a loopback port, a
//! temporary cluster), and `twin info` reading the city back from there. Skipped where
//! PostgreSQL/PostGIS is not installed, except under CI.

mod common;

use common::{s, stderr, twin};
use twin_io::pglocal::LocalPg;

#[test]
fn push_then_info_from_postgis_says_what_the_geopackage_says() {
    let Some(db) = LocalPg::for_test().unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("c.gpkg");
    let o = twin(&["demo-city", "--out", s(&gpkg), "--cell-m", "30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let conn = db.conn("twin");
    let push = |more: &[&str]| {
        let mut args: Vec<&str> = vec![
            "city",
            "push",
            s(&gpkg),
            "--to",
            &conn,
            "--schema",
            "quan_mau",
        ];
        args.extend_from_slice(more);
        twin(&args)
    };
    let o = push(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let read_back = format!("{conn} active_schema=quan_mau");
    assert!(
        out.contains(&read_back) && out.contains("and the DEM"),
        "{out}"
    );

    let info = |city: &str| {
        let o = twin(&["info", city, "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let (a, b) = (info(s(&gpkg)), info(&read_back));
    assert_eq!(a, b);
    assert!(a.to_string().contains("building"), "{a}");

    // Again without --replace: refused, naming the database and the schema; nothing changed.
    let o = push(&[]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("dbname=twin")
            && e.contains("'quan_mau' already holds a city")
            && e.contains("--replace"),
        "{e}"
    );
    let o = push(&["--replace"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(info(&read_back), a);

    // A database without PostGIS is refused by name; nothing is written to it.
    let o = twin(&["city", "push", s(&gpkg), "--to", &db.conn("plain")]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("dbname=plain") && e.contains("CREATE EXTENSION postgis"),
        "{e}"
    );
    assert_eq!(db.table_count("plain", "public").unwrap(), 0);
}
