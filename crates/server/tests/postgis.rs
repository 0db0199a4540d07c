//! The demo district pushed to PostgreSQL + PostGIS (a cluster of this test's own on a loopback
//! port) and served from there answers every query byte for byte as served from its `.gpkg`.
//! Skipped where PostgreSQL/PostGIS is not installed, except under CI.

use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::Value;
use std::path::Path;
use tower::ServiceExt;
use twin_io::pglocal::LocalPg;
use twin_model::Layer;
use twin_server::auth::Tokens;
use twin_server::{AppState, hash_token, router};

const TOKEN: &str = "viewer-token-Pg42";

fn state(city: &Path, audit: &Path) -> AppState {
    let toml = format!(
        "[[token]]\nname = \"xem\"\nrole = \"viewer\"\ndepartment = \"SXD\"\nhash = \"{}\"\nrate_per_s = 100000\n",
        hash_token(TOKEN)
    );
    let city = twin_io::open_city(city).unwrap();
    AppState::new(city, Tokens::parse(&toml).unwrap(), audit, None).unwrap()
}

/// The status and the body, as bytes turned text, of `GET path` on `s`.
async fn get(s: &AppState, path: &str) -> (u16, String) {
    let req = axum::http::Request::get(path)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let resp = router(s.clone()).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// Every query of the test: the lists, each layer's pages (whole, paged, by bbox, kind and
/// name), and single features (first, middle, last, one absent).
fn queries(city: &twin_model::City) -> Vec<String> {
    let mut q: Vec<String> = ["/health", "/layers", "/openapi.json"]
        .map(String::from)
        .to_vec();
    for l in Layer::ALL {
        let id = l.table_name();
        let base = format!("/layers/{id}/features");
        q.push(base.clone());
        let feats = city.layer(l).features();
        // Every feature, a page of 1000 at a time.
        for offset in (0..feats.len().max(1)).step_by(1000) {
            q.push(format!("{base}?limit=1000&offset={offset}"));
        }
        q.push(format!("{base}?limit=7&offset=3"));
        if let Some([[x0, y0], [x1, y1]]) = city.layer(l).bbox() {
            // The south-west quarter of the layer's extent.
            let (mx, my) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
            q.push(format!("{base}?bbox={x0},{y0},{mx},{my}&limit=1000"));
            q.push(format!("{base}?bbox={x0},{y0},{mx},{my}&limit=5&offset=5"));
        }
        if let Some(f) = feats.get(feats.len() / 2) {
            q.push(format!("{base}?kind={}&limit=1000", f.kind));
            if let Some(n) = &f.name {
                let part: String = n.chars().take(4).collect::<String>().to_uppercase();
                q.push(format!("{base}?name={}&limit=1000", urlencode(&part)));
            }
        }
        for f in [feats.first(), feats.get(feats.len() / 2), feats.last()]
            .into_iter()
            .flatten()
        {
            q.push(format!("{base}/{}", f.id.0));
        }
        q.push(format!("{base}/999999999"));
    }
    q
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_city_served_from_postgis_answers_as_from_its_geopackage() {
    let Some(db) = LocalPg::for_test().unwrap_or_else(|e| panic!("{e}")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("city.gpkg");
    let city = twin_citygen::generate(&twin_citygen::DemoOptions {
        dem_cell_m: 30.0,
        ..Default::default()
    });
    twin_io::gpkg::write_city(&city, &gpkg).unwrap();
    let conn = twin_io::pg::push_city(
        &twin_io::gpkg::read_city(&gpkg).unwrap(),
        &db.conn("twin"),
        &Default::default(),
    )
    .unwrap();
    let from_gpkg = state(&gpkg, &dir.path().join("a.sqlite"));
    let from_pg = state(Path::new(&conn), &dir.path().join("b.sqlite"));
    let qs = queries(&from_gpkg.city());
    let mut features_seen = 0;
    let mut statuses = std::collections::BTreeMap::new();
    for q in &qs {
        let (sa, a) = get(&from_gpkg, q).await;
        let (sb, b) = get(&from_pg, q).await;
        assert_eq!((sa, &a), (sb, &b), "GET {q}");
        *statuses.entry(sa).or_insert(0) += 1;
        if let Ok(v) = serde_json::from_str::<Value>(&a) {
            features_seen += v["features"].as_array().map_or(0, Vec::len);
        }
    }
    // Every layer's every page came back, so every feature was compared, and only the absent
    // ids were 404s, on both.
    assert!(
        features_seen > city.feature_count(),
        "{features_seen} features compared for {} in the city",
        city.feature_count()
    );
    assert_eq!(statuses.get(&404), Some(&Layer::ALL.len()), "{statuses:?}");
    assert_eq!(
        statuses.keys().collect::<Vec<_>>(),
        [&200, &404],
        "{statuses:?}"
    );
    assert!(qs.len() > 100, "{} queries", qs.len());
    let (_, layers) = get(&from_pg, "/layers").await;
    let v: Value = serde_json::from_str(&layers).unwrap();
    let buildings = v["layers"][0]["feature_count"].as_u64().unwrap();
    assert_eq!(buildings as usize, city.layer(Layer::Building).len());
}

#[tokio::test]
async fn serving_from_postgis_needs_an_audit_store() {
    let e = twin_server::serve(twin_server::Config {
        city: "PG:host=127.0.0.1 port=1 dbname=twin".into(),
        live: None,
        listen: "127.0.0.1:0".parse().unwrap(),
        tokens: None,
        audit: None,
        timeout: std::time::Duration::from_secs(5),
        rate: Default::default(),
        jobs: None,
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("--audit") && e.contains("nhật ký kiểm toán"),
        "{e}"
    );
}
