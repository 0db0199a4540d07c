//! The server in-process on 127.0.0.1:0 with a small city made here, called over HTTP.

use geo::{Geometry, Point, polygon};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use twin_model::{City, Crs, Department, Feature, FeatureId, Layer};
use twin_server::auth::Tokens;
use twin_server::{AppState, hash_token, router};

const VIEWER: &str = "viewer-token-Zq81";
const OPERATOR: &str = "operator-token-Pm27";
const ADMIN: &str = "admin-token-Xy55";
const PLANNER: &str = "planner-token-Hn09";
const SLOW: &str = "slow-token-Rl33";

/// Everything the server logged, from every test of this binary.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let b = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || Sink(b.clone()))
            .finish();
        tracing::subscriber::set_global_default(sub).unwrap();
        buf
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);
impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// 6 × 5 square buildings 10 m wide every 20 m, named by row and column, and one street
/// water-level sensor (WL-1).
fn city() -> City {
    let mut c = City::new("Phường Thử", Crs::VN2000_UTM48N);
    let mut id = 1;
    for i in 0..6 {
        for j in 0..5 {
            let (x, y) = (i as f64 * 20.0, j as f64 * 20.0);
            let p = polygon![(x: x, y: y), (x: x + 10.0, y: y), (x: x + 10.0, y: y + 10.0), (x: x, y: y + 10.0)];
            let kind = if (i + j) % 3 == 0 { "school" } else { "house" };
            c.layer_mut(Layer::Building).insert(
                Feature::new(FeatureId(id), kind, Department::Construction, p.into())
                    .with_name(format!("Nhà {i}-{j}"))
                    .with("floors", (i + 1) as i64),
            );
            id += 1;
        }
    }
    c.layer_mut(Layer::Environment).insert(
        Feature::new(
            FeatureId(1),
            "water_level_sensor",
            Department::AgricultureEnvironment,
            Geometry::Point(Point::new(15.0, 15.0)),
        )
        .with_name("Cảm biến ngập Phố Thử")
        .with("ground_m", 6.0),
    );
    c
}

struct Server {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(live: bool) -> Server {
    start_in(tempfile::tempdir().unwrap(), live).await
}

/// A server on `dir` (its audit store, edit journal and live folder): a second server on
/// the same folder is a restart.
async fn start_in(dir: tempfile::TempDir, live: bool) -> Server {
    logs();
    let toml = format!(
        "[[token]]\nname = \"xem\"\nrole = \"viewer\"\ndepartment = \"SXD\"\nhash = \"{}\"\n\
         [[token]]\nname = \"ops\"\nrole = \"operator\"\ndepartment = \"SNNMT\"\nhash = \"{}\"\n\
         [[token]]\nname = \"root\"\nrole = \"admin\"\ndepartment = \"SKHCN\"\nhash = \"{}\"\n\
         [[token]]\nname = \"qh\"\nrole = \"planner\"\ndepartment = \"SXD\"\nhash = \"{}\"\n\
         [[token]]\nname = \"slow\"\nrole = \"viewer\"\ndepartment = \"SXD\"\nhash = \"{}\"\nrate_per_s = 0.5\nburst = 3\n",
        hash_token(VIEWER),
        hash_token(OPERATOR),
        hash_token(ADMIN),
        hash_token(PLANNER),
        hash_token(SLOW)
    );
    let live_dir = dir.path().join("live");
    std::fs::create_dir_all(&live_dir).unwrap();
    let state = AppState::new(
        city(),
        Tokens::parse(&toml).unwrap(),
        &dir.path().join("audit.sqlite"),
        live.then_some(live_dir.as_path()),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(twin_server::run(
        listener,
        router(state.clone()),
        async move {
            let _ = rx.await;
        },
    ));
    Server {
        addr,
        dir,
        state,
        stop: Some(tx),
        task,
    }
}

impl Server {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String) {
        let (st, _, b) = self.call_h(method, path, token, body).await;
        (st, b)
    }

    async fn call_h(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, hyper::HeaderMap, String) {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, path));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = client
            .request(req.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let (s, b) = self.call("GET", path, token, Vec::new()).await;
        (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &[u8]) -> (u16, Value) {
        let (s, b) = self.call("POST", path, token, body.to_vec()).await;
        (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
    }

    async fn audit(&self) -> Vec<Value> {
        let (s, v) = self.get("/audit?limit=1000", Some(ADMIN)).await;
        assert_eq!(s, 200, "{v}");
        v["records"].as_array().unwrap().clone()
    }

    fn readings_stored(&self) -> u64 {
        let p = self.dir.path().join("live").join("live.sqlite");
        twin_sensors::Store::open(&p)
            .unwrap()
            .reading_count()
            .unwrap()
    }

    async fn stop(mut self) {
        self.state.hub.begin_shutdown();
        self.stop.take().unwrap().send(()).unwrap();
        self.task.await.unwrap().unwrap();
        assert!(
            self.state
                .hub
                .drained(std::time::Duration::from_secs(5))
                .await
        );
    }

    /// Stops and gives the folder back, for a restart.
    async fn stop_keep(mut self) -> tempfile::TempDir {
        self.state.hub.begin_shutdown();
        self.stop.take().unwrap().send(()).unwrap();
        self.task.await.unwrap().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, dir)
    }

    async fn patch(&self, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        let (s, b) = self
            .call("PATCH", path, token, body.as_bytes().to_vec())
            .await;
        (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
    }

    fn add_event(&self, kind: &str, t: i64, data: &str) -> i64 {
        let c =
            rusqlite::Connection::open(self.dir.path().join("live").join("live.sqlite")).unwrap();
        c.execute(
            "INSERT INTO live_events (kind, time_ms, data) VALUES (?1, ?2, ?3)",
            rusqlite::params![kind, t, data],
        )
        .unwrap();
        c.last_insert_rowid()
    }

    async fn ws(
        &self,
        query: &str,
        token: Option<&str>,
    ) -> Result<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        tokio_tungstenite::tungstenite::Error,
    > {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{}/live/stream{query}", self.addr)
            .into_client_request()
            .unwrap();
        if let Some(t) = token {
            req.headers_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        tokio_tungstenite::connect_async(req).await.map(|(s, _)| s)
    }
}

fn error_of(v: &Value) -> String {
    assert!(v["error_vi"].is_string(), "no Vietnamese message: {v}");
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("not a JSON error: {v}"))
        .to_string()
}

fn audited(records: &[Value], method: &str, path_start: &str, status: u16, who: &str) -> bool {
    records.iter().any(|r| {
        r["method"] == method
            && r["path"].as_str().unwrap().starts_with(path_start)
            && r["status"] == status
            && r["who"] == who
            && r["peer"].as_str().unwrap().starts_with("127.0.0.1:")
    })
}

fn reading(sensor: &str, value: f64) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let t = twin_sensors::reading::format_time(now - 60_000, 7 * 3600);
    format!(r#"{{"sensor": "{sensor}", "time": "{t}", "value": {value}, "unit": "m"}}"#)
        .into_bytes()
}

#[tokio::test]
async fn no_token_or_unknown_token_is_401_and_audited() {
    let s = start(false).await;
    let (st, v) = s.get("/layers", None).await;
    assert_eq!(st, 401);
    assert!(error_of(&v).contains("Authorization: Bearer"), "{v}");
    let (st, v) = s.get("/layers", Some("not-a-token")).await;
    assert_eq!(st, 401);
    assert!(error_of(&v).contains("unknown token"), "{v}");
    // Health, metrics and the document need none.
    assert_eq!(s.get("/health", None).await.0, 200);
    let a = s.audit().await;
    assert!(
        a.iter()
            .filter(|r| r["status"] == 401 && r["who"] == "-")
            .count()
            >= 2,
        "{a:?}"
    );
    assert!(audited(&a, "GET", "/layers", 401, "-"));
    s.stop().await;
}

#[tokio::test]
async fn viewer_cannot_write_and_only_admins_read_the_audit() {
    let s = start(true).await;
    let (st, v) = s
        .post("/live/readings", Some(VIEWER), &reading("WL-1", 0.1))
        .await;
    assert_eq!(st, 403, "{v}");
    let e = error_of(&v);
    assert!(e.contains("viewer") && e.contains("operator"), "{e}");
    assert_eq!(s.readings_stored(), 0);
    let (st, _) = s.get("/audit", Some(OPERATOR)).await;
    assert_eq!(st, 403);
    let a = s.audit().await;
    assert!(audited(&a, "POST", "/live/readings", 403, "xem"), "{a:?}");
    assert!(audited(&a, "GET", "/audit", 403, "ops"), "{a:?}");
    s.stop().await;
}

#[tokio::test]
async fn operator_posts_a_reading_into_the_store() {
    let s = start(true).await;
    let (st, v) = s
        .post("/live/readings", Some(OPERATOR), &reading("WL-1", 0.12))
        .await;
    assert_eq!(st, 202, "{v}");
    assert_eq!(v["accepted"], 1, "{v}");
    assert_eq!(s.readings_stored(), 1);
    let store = twin_sensors::Store::open(&s.dir.path().join("live").join("live.sqlite")).unwrap();
    let series = store.series("WL-1").unwrap();
    assert_eq!(series.len(), 1);
    assert!((series[0].1 - 0.12).abs() < 1e-12);
    let a = s.audit().await;
    assert!(audited(&a, "POST", "/live/readings", 202, "ops"), "{a:?}");
    let rec = a.iter().find(|r| r["status"] == 202).unwrap();
    assert!(
        rec["outcome"].as_str().unwrap().contains("1 accepted"),
        "{rec}"
    );
    assert_eq!(rec["department"], "SNNMT");
    s.stop().await;
}

#[tokio::test]
async fn malformed_and_oversized_bodies_store_nothing() {
    let s = start(true).await;
    let (st, v) = s
        .post(
            "/live/readings",
            Some(OPERATOR),
            b"{\"sensor\": \"WL-1\", \"time\": ",
        )
        .await;
    assert_eq!(st, 400, "{v}");
    assert!(error_of(&v).contains("nothing stored"), "{v}");
    // One good reading beside a bad one: the whole body is refused.
    let mut mixed = b"[".to_vec();
    mixed.extend(reading("WL-1", 0.1));
    mixed.extend(b", {\"sensor\": \"WL-1\", \"value\": \"deep\"}]");
    let (st, v) = s.post("/live/readings", Some(OPERATOR), &mixed).await;
    assert_eq!(st, 400, "{v}");
    assert!(error_of(&v).contains("1 of 2"), "{v}");
    let big = vec![b' '; twin_server::MAX_BODY + 10];
    let (st, v) = s.post("/live/readings", Some(OPERATOR), &big).await;
    assert_eq!(st, 413, "{v}");
    assert!(error_of(&v).contains("1 MiB"), "{v}");
    assert_eq!(s.readings_stored(), 0);
    let a = s.audit().await;
    assert_eq!(
        a.iter()
            .filter(|r| r["method"] == "POST" && r["who"] == "ops")
            .count(),
        3,
        "{a:?}"
    );
    assert!(audited(&a, "POST", "/live/readings", 413, "ops"), "{a:?}");
    s.stop().await;
}

#[tokio::test]
async fn bad_parameters_are_400_naming_the_parameter() {
    let s = start(false).await;
    let f = "/layers/building/features";
    for (q, needle) in [
        ("bbox=1,2,3", "'bbox': 3 values"),
        ("bbox=0,0,nan,1", "'bbox': value 3 is not a finite number"),
        ("bbox=0,0,inf,1", "'bbox': value 3"),
        ("bbox=5,0,1,1", "minx > maxx"),
        ("bbox=0,5,1,1", "miny > maxy"),
        ("limit=1001", "'limit'"),
        ("limit=0", "'limit'"),
        ("offset=-1", "'offset'"),
        ("colour=red", "unknown parameter 'colour'"),
    ] {
        let (st, v) = s.get(&format!("{f}?{q}"), Some(VIEWER)).await;
        assert_eq!(st, 400, "{q}: {v}");
        let e = error_of(&v);
        assert!(e.contains(needle), "{q}: {e}");
    }
    let (st, v) = s.get("/layers/castles/features", Some(VIEWER)).await;
    assert_eq!(st, 400);
    assert!(
        error_of(&v).contains("'layer': unknown layer 'castles'"),
        "{v}"
    );
    let (st, v) = s.get("/layers/building/features/abc", Some(VIEWER)).await;
    assert_eq!(st, 400);
    assert!(error_of(&v).contains("'id'"), "{v}");
    let (st, v) = s.get("/layers/building/features/999", Some(VIEWER)).await;
    assert_eq!(st, 404);
    assert!(error_of(&v).contains("no feature 999"), "{v}");
    // An injection string is only a name that matches nothing.
    let inj = "%27%3B%20DROP%20TABLE%20audit%3B%20--";
    let (st, v) = s.get(&format!("{f}?name={inj}"), Some(VIEWER)).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["number_matched"], 0);
    let (st, v) = s
        .get(&format!("{f}?kind={inj}%20OR%201=1"), Some(VIEWER))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["number_matched"], 0);
    // The audit table is still there and holds every refusal.
    let a = s.audit().await;
    assert_eq!(a.iter().filter(|r| r["status"] == 400).count(), 11, "{a:?}");
    assert!(audited(&a, "GET", "/layers/castles/features", 400, "xem"));
    assert!(audited(
        &a,
        "GET",
        "/layers/building/features/999",
        404,
        "xem"
    ));
    s.stop().await;
}

#[tokio::test]
async fn bbox_filters_and_paging_match_the_city() {
    let s = start(false).await;
    let c = city();
    let (min, max) = ([15.0, 5.0], [62.0, 48.0]);
    let want: Vec<i64> = c
        .layer(Layer::Building)
        .query_bbox(min, max)
        .iter()
        .map(|f| f.id.0)
        .collect();
    assert!(want.len() > 7 && want.len() < 30, "{}", want.len());
    let mut got = Vec::new();
    let mut offset = Some(0);
    let mut pages = 0;
    while let Some(o) = offset {
        let (st, v) = s
            .get(
                &format!("/layers/building/features?bbox=15,5,62,48&limit=4&offset={o}"),
                Some(VIEWER),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(v["type"], "FeatureCollection");
        assert_eq!(v["crs_code"], "EPSG:3405");
        assert_eq!(v["number_matched"], want.len());
        for f in v["features"].as_array().unwrap() {
            assert_eq!(f["geometry"]["type"], "Polygon");
            got.push(f["id"].as_i64().unwrap());
        }
        offset = v["next"].as_u64().map(|n| n as usize);
        pages += 1;
    }
    assert_eq!(got, want);
    assert_eq!(pages, want.len().div_ceil(4));
    // Kind and name filters against the same filter done directly.
    let schools = c
        .layer(Layer::Building)
        .features()
        .iter()
        .filter(|f| f.kind == "school")
        .count();
    let (_, v) = s
        .get(
            "/layers/building/features?kind=school&limit=1000",
            Some(VIEWER),
        )
        .await;
    assert_eq!(v["number_matched"], schools);
    assert_eq!(v["next"], Value::Null);
    let (_, v) = s
        .get("/layers/building/features?name=nh%C3%A0%202-", Some(VIEWER))
        .await;
    assert_eq!(v["number_matched"], 5, "{v}");
    // One feature, its properties typed.
    let (st, v) = s.get("/layers/building/features/7", Some(VIEWER)).await;
    assert_eq!(st, 200);
    assert_eq!(v["properties"]["floors"], 2);
    assert_eq!(v["properties"]["name"], "Nhà 1-1");
    assert_eq!(
        v["geometry"]["coordinates"][0][0],
        serde_json::json!([20.0, 20.0])
    );
    s.stop().await;
}

#[tokio::test]
async fn layers_list_all_eleven_with_owners() {
    let s = start(false).await;
    let (st, v) = s.get("/layers", Some(VIEWER)).await;
    assert_eq!(st, 200);
    let l = v["layers"].as_array().unwrap();
    assert_eq!(l.len(), 11);
    assert_eq!(l[0]["id"], "building");
    assert_eq!(l[0]["name_vi"], "Nhà & Công trình");
    assert_eq!(l[0]["owner"]["code"], "SXD");
    assert_eq!(l[0]["feature_count"], 30);
    let (_, h) = s.get("/health", None).await;
    assert_eq!(h["features"], 31);
    assert_eq!(h["city"], "Phường Thử");
    s.stop().await;
}

#[tokio::test]
async fn openapi_lists_every_route_and_every_route_answers() {
    let s = start(true).await;
    let (st, doc) = s.get("/openapi.json", None).await;
    assert_eq!(st, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    let mut n = 0;
    for r in twin_server::routes::ROUTES {
        let op = &paths[r.path][r.method.to_lowercase()];
        assert!(
            op.is_object(),
            "{} {} not in the document",
            r.method,
            r.path
        );
        n += 1;
        // The router has the route: it answers with something other than no-such-route.
        let p = r.path.replace("{layer}", "building").replace("{id}", "1");
        let (st, b) = s.call(r.method, &p, Some(ADMIN), b"[]".to_vec()).await;
        assert!(
            st != 405 && !b.contains("no such route"),
            "{} {p}: {st} {b}",
            r.method
        );
    }
    assert_eq!(
        paths
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum::<usize>(),
        n
    );
    let (st, v) = s.get("/no/such/route", Some(ADMIN)).await;
    assert_eq!(st, 404);
    assert!(error_of(&v).contains("no such route"));
    s.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_and_features() {
    let s = start(false).await;
    for _ in 0..3 {
        assert_eq!(s.get("/health", None).await.0, 200);
    }
    s.get("/layers/building/features?limit=5", Some(VIEWER))
        .await;
    s.get("/layers", None).await;
    let (st, text) = s.call("GET", "/metrics", None, Vec::new()).await;
    assert_eq!(st, 200);
    assert!(
        text.contains(r#"twin_http_requests_total{route="/health",method="GET",status="200"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"twin_http_requests_total{route="/layers",method="GET",status="401"} 1"#)
    );
    assert!(text.contains(r#"twin_http_request_duration_seconds_count{route="/health"} 3"#));
    assert!(
        text.contains(r#"twin_http_request_duration_seconds_bucket{route="/health",le="+Inf"} 3"#)
    );
    assert!(text.contains("twin_features_served_total 5"), "{text}");
    s.stop().await;
}

#[tokio::test]
async fn live_routes_read_the_live_store() {
    let s = start(true).await;
    let (st, v) = s.get("/live/forecast", Some(VIEWER)).await;
    assert_eq!(st, 404);
    assert!(error_of(&v).contains("no forecast"));
    let live = s.dir.path().join("live");
    {
        let c = rusqlite::Connection::open(live.join("live.sqlite")).unwrap();
        for (kind, t, data) in [
            ("forecast", 1000, r#"{"peak_m": 0.2}"#),
            ("alert", 1500, r#"{"kind": "flood", "where": "Phố Thử"}"#),
            ("forecast", 2000, r#"{"peak_m": 0.4}"#),
            ("alert", 2500, r#"{"kind": "road_closure"}"#),
        ] {
            c.execute(
                "INSERT INTO live_events (kind, time_ms, data) VALUES (?1, ?2, ?3)",
                rusqlite::params![kind, t, data],
            )
            .unwrap();
        }
    }
    std::fs::write(
        live.join("state.json"),
        r#"{"time": "now", "depth_max_m": 0.3}"#,
    )
    .unwrap();
    let (st, v) = s.get("/live/forecast", Some(VIEWER)).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["time_ms"], 2000);
    assert_eq!(v["data"]["peak_m"], 0.4);
    let (_, v) = s.get("/live/alerts", Some(VIEWER)).await;
    assert_eq!(v["count"], 2);
    let (_, v) = s.get("/live/alerts?since=2000", Some(VIEWER)).await;
    assert_eq!(v["count"], 1);
    assert_eq!(v["alerts"][0]["data"]["kind"], "road_closure");
    let (st, v) = s.get("/live/alerts?since=yesterday", Some(VIEWER)).await;
    assert_eq!(st, 400);
    assert!(error_of(&v).contains("'since'"));
    let (st, v) = s.get("/live/state", Some(VIEWER)).await;
    assert_eq!(st, 200);
    assert_eq!(v["depth_max_m"], 0.3);
    // The water now: 404 until the loop has written depth.tif, then its bytes as a TIFF.
    let (st, v) = s.get("/live/depth", Some(VIEWER)).await;
    assert_eq!(st, 404);
    assert!(error_of(&v).contains("depth.tif"), "{v}");
    std::fs::write(live.join("depth.tif"), b"II*\x00 a depth frame").unwrap();
    let (st, h, b) = s.call_h("GET", "/live/depth", Some(VIEWER), vec![]).await;
    assert_eq!(st, 200);
    assert_eq!(h["content-type"], "image/tiff");
    assert_eq!(b, "II*\x00 a depth frame");
    let (st, _) = s.get("/live/depth", None).await;
    assert_eq!(st, 401);
    s.stop().await;
}

#[tokio::test]
async fn without_live_the_live_routes_say_how_to_get_them() {
    let s = start(false).await;
    let (st, v) = s.get("/live/state", Some(VIEWER)).await;
    assert_eq!(st, 404);
    assert!(error_of(&v).contains("--live DIR"));
    let (st, _) = s
        .post("/live/readings", Some(OPERATOR), &reading("WL-1", 0.1))
        .await;
    assert_eq!(st, 404);
    s.stop().await;
}

#[tokio::test]
async fn logs_name_the_token_never_show_it() {
    let s = start(true).await;
    s.get("/layers", Some(VIEWER)).await;
    s.get("/layers", Some(ADMIN)).await;
    s.post("/live/readings", Some(OPERATOR), &reading("WL-1", 0.1))
        .await;
    s.post("/live/readings", Some(VIEWER), &reading("WL-1", 0.1))
        .await;
    s.get("/layers", Some("wrong-token-Qq00")).await;
    s.stop().await;
    let text = String::from_utf8(logs().lock().unwrap().clone()).unwrap();
    for t in [VIEWER, OPERATOR, ADMIN, "wrong-token-Qq00"] {
        assert!(!text.contains(t), "token {t} in the log");
    }
    assert!(
        text.contains("token=xem") && text.contains("token=ops"),
        "{text}"
    );
    assert!(text.contains("status=403"), "{text}");
}

/// The next text message of a stream as JSON (at most 5 s).
async fn next_json<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use futures_util::StreamExt;
    loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
            .await
            .expect("no message within 5 s")
            .expect("stream ended")
            .expect("stream error");
        match m {
            tokio_tungstenite::tungstenite::Message::Text(t) => {
                return serde_json::from_str(t.as_str()).unwrap();
            }
            tokio_tungstenite::tungstenite::Message::Close(c) => {
                return serde_json::json!({"close": c.map(|c| u16::from(c.code))});
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn the_stream_sends_the_backlog_then_each_event_once_and_resumes() {
    let s = start(true).await;
    s.add_event("period", 1000, r#"{"period": 1}"#);
    s.add_event("forecast", 1100, r#"{"peak_m": 0.2}"#);
    let a1 = s.add_event("alert", 1200, r#"{"kind": "flood_forecast"}"#);
    s.add_event("period", 2000, r#"{"period": 2}"#);
    // No token: the handshake is refused with 401.
    match s.ws("", None).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    let (st, v) = s.get("/live/stream", Some(VIEWER)).await;
    assert_eq!(st, 400, "{v}");
    assert!(error_of(&v).contains("WebSocket"));
    // A new client gets the latest state and forecast and the alerts, in store order.
    let mut ws = s.ws("", Some(VIEWER)).await.unwrap();
    let m: Vec<Value> = [
        next_json(&mut ws).await,
        next_json(&mut ws).await,
        next_json(&mut ws).await,
    ]
    .into();
    assert_eq!(m[0]["type"], "forecast");
    assert_eq!(m[0]["data"]["peak_m"], 0.2);
    assert_eq!(m[1]["type"], "alert");
    assert_eq!(m[1]["id"], a1);
    assert_eq!(m[2]["type"], "state");
    assert_eq!(m[2]["data"]["period"], 2);
    // Then each new event once, as it is committed.
    let a2 = s.add_event("alert", 3000, r#"{"kind": "road_closure"}"#);
    let v = next_json(&mut ws).await;
    assert_eq!(
        (v["id"].as_i64(), v["type"].as_str()),
        (Some(a2), Some("alert"))
    );
    assert_eq!(v["data"]["kind"], "road_closure");
    assert_eq!(s.state.hub.open(), 1);
    drop(ws);
    // Events while away come back, and only those, with since_id.
    let f3 = s.add_event("forecast", 4000, r#"{"peak_m": 0.5}"#);
    let p3 = s.add_event("period", 4100, r#"{"period": 3}"#);
    let mut ws = s
        .ws(&format!("?since_id={a2}"), Some(OPERATOR))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["id"], f3);
    assert_eq!(next_json(&mut ws).await["id"], p3);
    let (st, v) = s.get("/live/stream?since_id=-4", Some(VIEWER)).await;
    assert_eq!(st, 400);
    assert!(error_of(&v).contains("since_id"));
    // Shutdown closes the stream with 1001 (going away) and waits for it.
    s.state.hub.begin_shutdown();
    assert_eq!(next_json(&mut ws).await["close"], 1001);
    drop(ws);
    s.stop().await;
}

#[tokio::test]
async fn a_token_over_its_rate_gets_429_with_retry_after_and_is_audited() {
    let s = start(false).await;
    for _ in 0..3 {
        assert_eq!(s.get("/layers", Some(SLOW)).await.0, 200);
    }
    let (st, h, b) = s.call_h("GET", "/layers", Some(SLOW), Vec::new()).await;
    assert_eq!(st, 429, "{b}");
    assert_eq!(h["retry-after"], "2");
    assert!(b.contains("rate limit of token 'slow'"), "{b}");
    // Another token is not held back.
    assert_eq!(s.get("/layers", Some(VIEWER)).await.0, 200);
    assert!(audited(&s.audit().await, "GET", "/layers", 429, "slow"));
    s.stop().await;
}

#[tokio::test]
async fn only_the_owning_department_edits_a_feature_and_edits_survive_a_restart() {
    let s = start(false).await;
    let body = r#"{"attributes": {"floors": 9, "retrofit": "2026 chống ngập"}}"#;
    // A viewer may not write; an operator of another department may not write this layer.
    assert_eq!(
        s.patch("/layers/building/features/7", Some(VIEWER), body)
            .await
            .0,
        403
    );
    let (st, v) = s
        .patch("/layers/building/features/7", Some(OPERATOR), body)
        .await;
    assert_eq!(st, 403, "{v}");
    assert!(error_of(&v).contains("belongs to SXD"), "{v}");
    // Bad values: 400 naming the field, nothing stored.
    for (b, field) in [
        (r#"{"attributes": {"floors": "nine"}}"#, "'floors'"),
        (r#"{"attributes": {"kind": "mall"}}"#, "'kind'"),
        (r#"{"attributes": {"Bad Name": 1}}"#, "'Bad Name'"),
        (r#"{"colour": "red"}"#, "'colour'"),
        (r#"{"attributes": {"floors": 9}"#, "not JSON"),
    ] {
        let (st, v) = s
            .patch("/layers/building/features/7", Some(PLANNER), b)
            .await;
        assert_eq!(st, 400, "{b}: {v}");
        assert!(error_of(&v).contains(field), "{b}: {v}");
    }
    let (_, f) = s.get("/layers/building/features/7", Some(VIEWER)).await;
    assert_eq!(f["properties"]["floors"], 2);
    // The owning department's planner: applied and journaled.
    let (st, v) = s
        .patch("/layers/building/features/7", Some(PLANNER), body)
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["changed"], serde_json::json!(["floors", "retrofit"]));
    let (_, f) = s.get("/layers/building/features/7", Some(VIEWER)).await;
    assert_eq!(f["properties"]["floors"], 9);
    assert_eq!(f["properties"]["retrofit"], "2026 chống ngập");
    // The sensor belongs to SNNMT: its operator may rename it; an admin may edit anything.
    let (st, _) = s
        .patch(
            "/layers/environment/features/1",
            Some(OPERATOR),
            r#"{"name": "Cảm biến Phố Thử 2"}"#,
        )
        .await;
    assert_eq!(st, 200);
    let (st, _) = s
        .patch(
            "/layers/building/features/7",
            Some(ADMIN),
            r#"{"attributes": {"retrofit": null}}"#,
        )
        .await;
    assert_eq!(st, 200);
    let (st, h) = s
        .get("/layers/building/features/7/history", Some(VIEWER))
        .await;
    assert_eq!(st, 200);
    let e = h["edits"].as_array().unwrap();
    assert_eq!(e.len(), 3, "{h}");
    assert_eq!(
        (
            e[0]["field"].as_str(),
            e[0]["old"].as_i64(),
            e[0]["new"].as_i64()
        ),
        (Some("floors"), Some(2), Some(9))
    );
    assert_eq!(
        (e[2]["who"].as_str(), e[2]["new"].is_null()),
        (Some("root"), true)
    );
    let audit = s.audit().await;
    assert!(audited(
        &audit,
        "PATCH",
        "/layers/building/features/7",
        403,
        "ops"
    ));
    assert!(audited(
        &audit,
        "PATCH",
        "/layers/building/features/7",
        200,
        "qh"
    ));
    assert!(audited(
        &audit,
        "PATCH",
        "/layers/building/features/7",
        400,
        "qh"
    ));
    // A restart on the same store replays the journal onto the city read afresh.
    let dir = s.stop_keep().await;
    let s = start_in(dir, false).await;
    let (_, f) = s.get("/layers/building/features/7", Some(VIEWER)).await;
    assert_eq!(f["properties"]["floors"], 9);
    assert!(f["properties"].get("retrofit").is_none(), "{f}");
    let (_, f) = s.get("/layers/environment/features/1", Some(VIEWER)).await;
    assert_eq!(f["properties"]["name"], "Cảm biến Phố Thử 2");
    // The bbox index follows the edit: the renamed sensor is found by name.
    let (_, v) = s
        .get(
            "/layers/environment/features?name=th%E1%BB%AD%202",
            Some(VIEWER),
        )
        .await;
    assert_eq!(v["number_matched"], 1, "{v}");
    s.stop().await;
}
