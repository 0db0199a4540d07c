//! A bounded load generator for `twin serve` on loopback (`benches/server/run.sh` runs it and
//! writes benches/results/server.md). Subcommands:
//!
//! - `ingest URL TOKEN CITY.gpkg SECONDS CONNECTIONS BATCH [QUERY_TOKEN]`: CONNECTIONS
//!   clients post batches of BATCH readings (the city's water-level sensors and rain gauges,
//!   each sensor's readings a second apart and ordered, ending now) as fast as the server
//!   acknowledges them, for SECONDS; with QUERY_TOKEN one more client meanwhile asks for
//!   features (a 500 m bbox at a seeded place, 100 a page) one after another. Prints one JSON
//!   line: readings acknowledged, accepted, quarantined, readings/s, query latency p50/p99.
//!   A connection error ends the run (as when the server is killed): what was acknowledged
//!   until then is printed.
//! - `queries URL TOKEN CITY.gpkg SECONDS`: the feature queries alone, for the baseline.
//! - `ws URL TOKEN LIVE_DIR CLIENTS EVENTS`: CLIENTS WebSocket clients of `/live/stream`;
//!   EVENTS events committed to `LIVE_DIR/live.sqlite` 50 ms apart (as the live loop commits
//!   them); prints how many clients got every event once, and the commit-to-receipt latency.
//! - `count LIVE_DIR`: the readings and quarantined readings in the store.

use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use twin_sensors::registry::{Kind, Sensor};
use twin_sensors::replay::SplitMix64;

type Http = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn sensors(city: &Path) -> Vec<Sensor> {
    let c = twin_io::gpkg::read_city(city).expect("the city");
    let reg = twin_sensors::Registry::from_city(&c).expect("its sensors");
    reg.sensors()
        .iter()
        .filter(|s| matches!(s.kind, Kind::WaterLevel | Kind::RainGauge))
        .cloned()
        .collect()
}

async fn request(
    http: &Http,
    method: &str,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<(u16, Bytes), String> {
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = http.request(req).await.map_err(|e| e.to_string())?;
    let st = resp.status().as_u16();
    let b = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((st, b))
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Feature queries one after another until `stop`: latencies, ms.
async fn queries(
    http: Http,
    base: String,
    token: String,
    city: String,
    stop: Arc<AtomicBool>,
) -> Vec<f64> {
    let c = twin_io::gpkg::read_city(Path::new(&city)).expect("the city");
    let [min, max] = c.bbox().expect("a city with features");
    // Seeded, so every run asks the same things.
    let mut rng = SplitMix64::new(7);
    let layers = ["building", "traffic_road", "utility", "environment"];
    let mut lat = Vec::new();
    let mut k = 0;
    while !stop.load(Ordering::SeqCst) {
        let x = min[0] + rng.uniform() * (max[0] - min[0] - 500.0).max(1.0);
        let y = min[1] + rng.uniform() * (max[1] - min[1] - 500.0).max(1.0);
        let url = format!(
            "{base}/layers/{}/features?bbox={x:.1},{y:.1},{:.1},{:.1}&limit=100",
            layers[k % layers.len()],
            x + 500.0,
            y + 500.0
        );
        k += 1;
        let t = Instant::now();
        match request(&http, "GET", &url, &token, Vec::new()).await {
            Ok((200, _)) => lat.push(t.elapsed().as_secs_f64() * 1e3),
            Ok((st, b)) => panic!("{url}: {st} {}", String::from_utf8_lossy(&b)),
            Err(_) => break,
        }
    }
    lat
}

async fn ingest(args: &[String]) {
    let (base, token, city) = (args[0].clone(), args[1].clone(), args[2].clone());
    let secs: f64 = args[3].parse().expect("SECONDS");
    let conns: usize = args[4].parse().expect("CONNECTIONS");
    let batch: usize = args[5].parse().expect("BATCH");
    let query_token = args.get(6).cloned();
    let all = sensors(Path::new(&city));
    assert!(
        !all.is_empty(),
        "the city has no water-level sensor or rain gauge"
    );
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    let stop = Arc::new(AtomicBool::new(false));
    let (acked, accepted, quarantined) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    // Each sensor's readings come from one client, a second apart, ending now: enough
    // history for the run at the offered rate, all within QC's 7 days.
    let per_sensor = (secs * 40_000.0 / all.len() as f64).ceil() as i64 + 10;
    let t_end = now_ms() - 1000;
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..conns {
        let mine: Vec<Sensor> = all.iter().skip(c).step_by(conns).cloned().collect();
        if mine.is_empty() {
            continue;
        }
        let (http, base, token, stop) = (http.clone(), base.clone(), token.clone(), stop.clone());
        let (acked, accepted, quarantined) = (acked.clone(), accepted.clone(), quarantined.clone());
        tasks.push(tokio::spawn(async move {
            let mut k: i64 = 0;
            let phase = SplitMix64::new(c as u64 + 1).uniform() * std::f64::consts::TAU;
            while !stop.load(Ordering::SeqCst) && t0.elapsed().as_secs_f64() < secs {
                let mut readings = Vec::with_capacity(batch);
                for _ in 0..batch.div_ceil(mine.len()) {
                    if k >= per_sensor {
                        break;
                    }
                    let t = t_end - (per_sensor - k) * 1000;
                    for (j, s) in mine.iter().enumerate() {
                        // Smooth series (no spike, no flat line), each sensor its own phase.
                        let ph = k as f64 / 60.0 + j as f64 + phase;
                        let v = match s.kind {
                            Kind::RainGauge => 20.0 + 5.0 * ph.sin(),
                            _ => s.normal + 0.02 + 0.005 * ph.sin(),
                        };
                        readings.push(json!({
                            "sensor": s.id,
                            "time": twin_sensors::reading::format_time(t, 7 * 3600),
                            "value": v,
                            "unit": s.unit,
                        }));
                    }
                    k += 1;
                }
                if readings.is_empty() {
                    break;
                }
                let n = readings.len() as u64;
                let body = serde_json::to_vec(&Value::Array(readings)).unwrap();
                match request(
                    &http,
                    "POST",
                    &format!("{base}/live/readings"),
                    &token,
                    body,
                )
                .await
                {
                    Ok((202, b)) => {
                        let v: Value = serde_json::from_slice(&b).unwrap();
                        acked.fetch_add(n, Ordering::SeqCst);
                        let a = v["accepted"].as_u64().unwrap_or(0);
                        accepted.fetch_add(a, Ordering::SeqCst);
                        quarantined.fetch_add(
                            v["quarantined"].as_array().map_or(0, |q| q.len() as u64),
                            Ordering::SeqCst,
                        );
                    }
                    Ok((st, b)) => panic!("POST: {st} {}", String::from_utf8_lossy(&b)),
                    Err(_) => {
                        stop.store(true, Ordering::SeqCst);
                        break;
                    }
                }
            }
        }));
    }
    let q = query_token.map(|qt| {
        tokio::spawn(queries(
            http.clone(),
            base.clone(),
            qt,
            city.clone(),
            stop.clone(),
        ))
    });
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    let mut lat = match q {
        Some(q) => q.await.unwrap(),
        None => Vec::new(),
    };
    let n = acked.load(Ordering::SeqCst);
    println!(
        "{}",
        json!({
            "sensors": all.len(),
            "connections": conns,
            "batch": batch,
            "seconds": elapsed,
            "acknowledged": n,
            "accepted": accepted.load(Ordering::SeqCst),
            "quarantined": quarantined.load(Ordering::SeqCst),
            "readings_per_s": n as f64 / elapsed,
            "queries": lat.len(),
            "query_p50_ms": pct(&mut lat, 0.5),
            "query_p99_ms": pct(&mut lat, 0.99),
        })
    );
}

async fn queries_alone(args: &[String]) {
    let secs: f64 = args[3].parse().expect("SECONDS");
    let http: Http = Client::builder(TokioExecutor::new()).build_http();
    let stop = Arc::new(AtomicBool::new(false));
    let st = stop.clone();
    let q = tokio::spawn(queries(
        http,
        args[0].clone(),
        args[1].clone(),
        args[2].clone(),
        stop,
    ));
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    st.store(true, Ordering::SeqCst);
    let mut lat = q.await.unwrap();
    println!(
        "{}",
        json!({"queries": lat.len(), "query_p50_ms": pct(&mut lat, 0.5), "query_p99_ms": pct(&mut lat, 0.99)})
    );
}

async fn ws(args: &[String]) {
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    let (base, token, live) = (&args[0], &args[1], Path::new(&args[2]));
    let clients: usize = args[3].parse().expect("CLIENTS");
    let events: usize = args[4].parse().expect("EVENTS");
    let db = rusqlite::Connection::open(live.join("live.sqlite")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let since: i64 = db
        .query_row("SELECT COALESCE(MAX(id), 0) FROM live_events", [], |r| {
            r.get(0)
        })
        .unwrap();
    let url = format!(
        "{}/live/stream?since_id={since}",
        base.replacen("http://", "ws://", 1)
    );
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let mut req = url.as_str().into_client_request().unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (mut sock, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("connect");
        tasks.push(tokio::spawn(async move {
            // (id, receipt time ms) of each event, until the last one.
            let mut got: Vec<(i64, i64, i64)> = Vec::new();
            while got.len() < events {
                match tokio::time::timeout(Duration::from_secs(20), sock.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => {
                        let v: Value = serde_json::from_str(t.as_str()).unwrap();
                        got.push((
                            v["id"].as_i64().unwrap(),
                            v["data"]["committed_ms"].as_i64().unwrap_or(0),
                            now_ms(),
                        ));
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => break,
                }
            }
            let _ = sock.close(None).await;
            got
        }));
    }
    for k in 0..events {
        db.execute(
            "INSERT INTO live_events (kind, time_ms, data) VALUES ('alert', ?1, ?2)",
            rusqlite::params![
                now_ms(),
                json!({"kind": "load_test", "k": k, "committed_ms": now_ms()}).to_string()
            ],
        )
        .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut complete, mut lat) = (0, Vec::new());
    for t in tasks {
        let got = t.await.unwrap();
        let ids: Vec<i64> = got.iter().map(|g| g.0).collect();
        if ids.len() == events && ids.windows(2).all(|w| w[1] == w[0] + 1) {
            complete += 1;
        }
        lat.extend(got.iter().map(|g| (g.2 - g.1) as f64));
    }
    println!(
        "{}",
        json!({"clients": clients, "events": events, "clients_with_every_event_once": complete,
               "latency_p50_ms": pct(&mut lat, 0.5), "latency_p99_ms": pct(&mut lat, 0.99)})
    );
}

fn count(args: &[String]) {
    let s = twin_sensors::Store::open(&Path::new(&args[0]).join("live.sqlite")).unwrap();
    println!(
        "{}",
        json!({"readings": s.reading_count().unwrap(), "quarantined": s.quarantine_count().unwrap()})
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "server_load ingest|queries|ws|count ARGS… (see the file's head)";
    match args.first().map(String::as_str) {
        Some("ingest") if args.len() >= 7 => ingest(&args[1..]).await,
        Some("queries") if args.len() >= 5 => queries_alone(&args[1..]).await,
        Some("ws") if args.len() >= 6 => ws(&args[1..]).await,
        Some("count") if args.len() >= 2 => count(&args[1..]),
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
