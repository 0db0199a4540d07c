//! The wall's live feed (`twin wall --server URL`): `twin serve`'s WebSocket stream
//! (`GET /live/stream`) and the water now (`GET /live/depth`, a GeoTIFF).
//!
//! A thread of its own reads the stream: each `state` message (a period record of the live
//! loop, with the state at the period's end) sets the KPI tiles and the hotspot list and asks
//! for the depth GeoTIFF, which the wall draws as the flood surface; each `alert` message goes
//! onto the ticker. When the connection drops the thread reconnects every
//! [`RECONNECT`], resuming after the last message it saw (`since_id`), so the wall misses no
//! alert and shows none twice; meanwhile the title says the feed is offline.
//!
//! Plain `http://` only: a wall behind the operations centre's TLS proxy connects to the
//! service's inside address.

use crate::kpi::{Feed, Hotspot, Kpis, LiveState, Raised};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use twin_model::Raster;

/// Wait between reconnection attempts.
pub const RECONNECT: Duration = Duration::from_secs(2);

/// Hotspots listed on the wall.
const LIST: usize = 10;

/// A water rise listed as a hotspot, m.
const LISTED_M: f64 = 0.05;

/// Where the service is: `http://host[:port][/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// `host:port`.
    pub authority: String,
    /// Path prefix, without a trailing slash (`""` at the root).
    pub prefix: String,
}

impl Server {
    /// Parses the `--server` URL.
    pub fn parse(url: &str) -> Result<Server> {
        let rest = url.strip_prefix("http://").with_context(|| {
            format!(
                "--server phải bắt đầu bằng http:// / --server must start with http:// (a wall behind a TLS proxy uses the service's inside address): {url:?}"
            )
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains(['@', ' ', '?', '#']) {
            bail!("--server: không có máy chủ / no host in {url:?}");
        }
        let authority = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.contains(']'))
        {
            let (h, p) = authority.rsplit_once(':').expect("checked");
            p.parse::<u16>()
                .with_context(|| format!("--server: cổng sai / bad port {p:?} in {url:?}"))?;
            format!("{h}:{p}")
        } else {
            format!("{authority}:80")
        };
        if path.contains(['?', '#', ' ']) {
            bail!("--server: chỉ địa chỉ gốc / only the service's base address: {url:?}");
        }
        Ok(Server {
            authority,
            prefix: path.trim_end_matches('/').to_string(),
        })
    }

    fn ws_url(&self, since_id: Option<i64>) -> String {
        let q = since_id.map_or(String::new(), |i| format!("?since_id={i}"));
        format!("ws://{}{}/live/stream{q}", self.authority, self.prefix)
    }
}

/// `HH:MM` of a time in ms since the epoch at `offset_min` east of UTC.
pub fn hhmm(ms: i64, offset_min: i32) -> String {
    let m = (ms.div_euclid(60_000) + offset_min as i64).rem_euclid(1440);
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// What the stream has delivered so far.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// The state of the latest `state` message.
    pub state: Option<LiveState>,
    /// Alerts, newest first.
    pub alerts: Vec<Raised>,
    /// Id of the last message seen.
    pub last_id: Option<i64>,
    /// A `state` came whose depth has not been fetched yet.
    pub depth_wanted: bool,
    /// The water of the latest state and its version (counts fetches).
    pub depth: Option<(u64, Arc<Raster>)>,
    /// The depth was asked for and the service had none (an older live loop).
    pub depth_missing: bool,
    /// Connected now.
    pub online: bool,
    /// The stream has gone quiet once since connecting: the backlog is all in.
    pub caught_up: bool,
    /// The last connection error, for the log.
    pub error: Option<String>,
}

impl Received {
    /// Applies one stream message. Messages at or before the last id seen are ignored.
    pub fn apply(&mut self, msg: &Value, offset_min: i32) -> Result<()> {
        let id = msg["id"].as_i64().context("message without an id")?;
        if self.last_id.is_some_and(|l| id <= l) {
            return Ok(());
        }
        self.last_id = Some(id);
        let data = &msg["data"];
        match msg["type"].as_str() {
            Some("state") => {
                self.state = Some(state_of(data, offset_min)?);
                self.depth_wanted = true;
            }
            Some("alert") => {
                let a = Raised {
                    clock: hhmm(
                        data["issued_ms"]
                            .as_i64()
                            .context("alert without issued_ms")?,
                        offset_min,
                    ),
                    kind: data["kind"].as_str().unwrap_or("").to_string(),
                    // The time of the event for a flood alert (forecast or seen, with
                    // its lead); a sensor's alert names the sensor only.
                    subject: match data["at_ms"].as_i64().filter(|_| data["lead_min"].is_f64()) {
                        Some(at) => format!(
                            "{} → {}",
                            data["place"].as_str().unwrap_or("?"),
                            hhmm(at, offset_min)
                        ),
                        None => data["place"].as_str().unwrap_or("?").to_string(),
                    },
                    lead_min: data["lead_min"].as_f64(),
                };
                self.alerts.insert(0, a);
                self.alerts.truncate(200);
            }
            _ => {}
        }
        Ok(())
    }

    /// The state shown: the latest, with every alert so far; before the first state, empty
    /// tiles at `--:--`.
    pub fn shown(&self) -> LiveState {
        let mut s = self.state.clone().unwrap_or(LiveState {
            kpis: Kpis {
                minute: 0.0,
                clock: "--:--".into(),
                max_depth_m: 0.0,
                roads_closed: 0,
                hotspots_flooded: 0,
                hotspots_total: 0,
                network_speed_kmh: None,
                pumps_running: 0,
                pumps_total: 0,
            },
            hotspots: Vec::new(),
            alerts: Vec::new(),
            offline: false,
            closed_roads: None,
        });
        s.alerts = self.alerts.clone();
        s.offline = !self.online;
        s
    }
}

/// The wall's state from a `state` message's data (a live loop's period record).
pub fn state_of(data: &Value, offset_min: i32) -> Result<LiveState> {
    let now = &data["now"];
    let num = |v: &Value, k: &str| v[k].as_f64().with_context(|| format!("state without {k}"));
    let alert_m = now["alert_m"].as_f64().unwrap_or(0.3);
    let places: Vec<(Hotspot, bool)> = now["places"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|p| {
            (
                Hotspot {
                    name: p["name"].as_str().unwrap_or("?").to_string(),
                    rise_m: p["depth_m"].as_f64().unwrap_or(0.0),
                    xy: [
                        p["x"].as_f64().unwrap_or(0.0),
                        p["y"].as_f64().unwrap_or(0.0),
                    ],
                },
                p["street"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    let count = |k: &str| now[k].as_u64().unwrap_or(0) as usize;
    let kpis = Kpis {
        minute: num(data, "end_s")? / 60.0,
        clock: hhmm(
            data["end_ms"].as_i64().context("state without end_ms")?,
            offset_min,
        ),
        max_depth_m: now["max_depth_m"].as_f64().unwrap_or(0.0),
        roads_closed: now["roads_closed"].as_array().map_or(0, Vec::len),
        hotspots_flooded: places
            .iter()
            .filter(|(h, street)| *street && h.rise_m >= alert_m)
            .count(),
        hotspots_total: places.iter().filter(|(_, street)| *street).count(),
        // Where the live loop runs traffic: its speed over the period.
        network_speed_kmh: data["traffic"]["speed_kmh"].as_f64(),
        pumps_running: count("pumps_running"),
        pumps_total: count("pumps_total"),
    };
    let mut hotspots: Vec<Hotspot> = places
        .into_iter()
        .filter(|(h, street)| *street && h.rise_m >= LISTED_M)
        .map(|(h, _)| h)
        .collect();
    hotspots.sort_by(|a, b| b.rise_m.total_cmp(&a.rise_m).then(a.name.cmp(&b.name)));
    hotspots.truncate(LIST);
    let mut closed: Vec<i64> = now["road_ids"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    closed.sort_unstable();
    Ok(LiveState {
        kpis,
        hotspots,
        alerts: Vec::new(),
        offline: false,
        closed_roads: Some(closed),
    })
}

/// The feed of a running `twin serve`.
pub struct ServerFeed {
    got: Arc<Mutex<Received>>,
    stop: Arc<AtomicBool>,
}

impl ServerFeed {
    /// Starts following `server` with `token`; times shown `offset_min` east of UTC.
    pub fn start(server: Server, token: String, offset_min: i32) -> ServerFeed {
        let got = Arc::new(Mutex::new(Received::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (got.clone(), stop.clone());
        std::thread::Builder::new()
            .name("wall-feed".into())
            .spawn(move || follow(&server, &token, offset_min, &g, &s))
            .expect("a thread starts");
        ServerFeed { got, stop }
    }

    /// What has been received.
    pub fn received(&self) -> Received {
        self.got.lock().expect("feed").clone()
    }
}

impl Drop for ServerFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Feed for ServerFeed {
    fn advance(&mut self, _dt_s: f64) -> LiveState {
        self.got.lock().expect("feed").shown()
    }
    fn seek(&mut self, _minute: f64) {}
    fn minute(&self) -> f64 {
        let g = self.got.lock().expect("feed");
        g.state.as_ref().map_or(0.0, |s| s.kpis.minute)
    }
    fn depth(&self) -> Option<(u64, Arc<Raster>)> {
        self.got.lock().expect("feed").depth.clone()
    }
    fn ready(&self) -> bool {
        let g = self.got.lock().expect("feed");
        g.caught_up
            && g.state.is_some()
            && !g.depth_wanted
            && (g.depth.is_some() || g.depth_missing)
    }
    fn live(&self) -> bool {
        true
    }
}

/// The feed thread: connect, read, reconnect, until `stop`.
fn follow(server: &Server, token: &str, offset_min: i32, got: &Mutex<Received>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let since = got.lock().expect("feed").last_id;
        if let Err(e) = session(server, token, since, offset_min, got, stop) {
            let mut g = got.lock().expect("feed");
            if g.online || g.error.is_none() {
                eprintln!("wall: {} ({e:#})", server.ws_url(None));
            }
            g.online = false;
            g.error = Some(format!("{e:#}"));
        }
        let mut waited = Duration::ZERO;
        while waited < RECONNECT && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
            waited += Duration::from_millis(100);
        }
    }
}

/// One connection: reads messages until the stream ends or fails.
fn session(
    server: &Server,
    token: &str,
    since: Option<i64>,
    offset_min: i32,
    got: &Mutex<Received>,
    stop: &AtomicBool,
) -> Result<()> {
    use tungstenite::client::IntoClientRequest;
    let mut req = server.ws_url(since).into_client_request()?;
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .context("the token is not a header value")?,
    );
    let tcp = TcpStream::connect(&server.authority)
        .with_context(|| format!("cannot connect to {}", server.authority))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let (mut ws, _) = tungstenite::client(req, tcp).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r)) => anyhow::anyhow!(
            "the service refused the stream: HTTP {} {}",
            r.status(),
            r.body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
        ),
        e => anyhow::anyhow!("{e}"),
    })?;
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_millis(500)))?;
    got.lock().expect("feed").online = true;
    while !stop.load(Ordering::SeqCst) {
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => {
                let v: Value = serde_json::from_str(t.as_str())?;
                got.lock().expect("feed").apply(&v, offset_min)?;
            }
            Ok(tungstenite::Message::Close(_)) => bail!("the service closed the stream"),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                got.lock().expect("feed").caught_up = true;
            }
            Err(e) => return Err(e.into()),
        }
        if got.lock().expect("feed").depth_wanted {
            let fetched = fetch_depth(server, token);
            let mut g = got.lock().expect("feed");
            g.depth_wanted = false;
            match fetched {
                Ok(Some(r)) => {
                    let v = g.depth.as_ref().map_or(1, |(v, _)| v + 1);
                    g.depth = Some((v, Arc::new(r)));
                }
                Ok(None) => g.depth_missing = true,
                Err(e) => eprintln!("wall: /live/depth: {e:#}"),
            }
        }
    }
    Ok(())
}

/// `GET /live/depth`: the water now, or `None` where the service has none yet.
fn fetch_depth(server: &Server, token: &str) -> Result<Option<Raster>> {
    let (status, body) = http_get(server, "/live/depth", token)?;
    match status {
        200 => {}
        404 => return Ok(None),
        s => bail!("HTTP {s}: {}", String::from_utf8_lossy(&body)),
    }
    let dir = std::env::temp_dir().join(format!("twin-wall-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let p = dir.join("depth.tif");
    std::fs::write(&p, &body)?;
    let r = twin_io::raster::read_raster(&p).map(|g| g.raster);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Some(r.context("/live/depth is not a GeoTIFF")?))
}

/// A plain HTTP/1.1 GET: the status and the body.
fn http_get(server: &Server, path: &str, token: &str) -> Result<(u16, Vec<u8>)> {
    let mut tcp = TcpStream::connect(&server.authority)
        .with_context(|| format!("cannot connect to {}", server.authority))?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        tcp,
        "GET {}{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        server.prefix, server.authority
    )?;
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw)?;
    parse_response(&raw)
}

/// Splits an HTTP/1.1 response into its status and body (`Content-Length`, chunked, or to
/// the end).
pub fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>)> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of the response's header")?;
    let head = std::str::from_utf8(&raw[..end]).context("a header that is not text")?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let mut chunked = false;
    let mut length = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            } else if k == "content-length" {
                length = Some(v.parse::<usize>().context("bad Content-Length")?);
            }
        }
    }
    let body = &raw[end + 4..];
    if chunked {
        let mut out = Vec::new();
        let mut rest = body;
        loop {
            let nl = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .context("a cut chunk")?;
            let size = std::str::from_utf8(&rest[..nl])?
                .split(';')
                .next()
                .unwrap_or("");
            let n = usize::from_str_radix(size.trim(), 16).context("bad chunk size")?;
            rest = &rest[nl + 2..];
            if n == 0 {
                return Ok((status, out));
            }
            if rest.len() < n + 2 {
                bail!("a cut chunk");
            }
            out.extend_from_slice(&rest[..n]);
            rest = &rest[n + 2..];
        }
    }
    match length {
        Some(n) if body.len() < n => bail!("the body was cut: {} of {n} bytes", body.len()),
        Some(n) => Ok((status, body[..n].to_vec())),
        None => Ok((status, body.to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_urls() {
        let s = Server::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(s.authority, "127.0.0.1:8080");
        assert_eq!(
            s.ws_url(Some(7)),
            "ws://127.0.0.1:8080/live/stream?since_id=7"
        );
        let s = Server::parse("http://ioc.local/twin/").unwrap();
        assert_eq!(
            (s.authority.as_str(), s.prefix.as_str()),
            ("ioc.local:80", "/twin")
        );
        assert_eq!(s.ws_url(None), "ws://ioc.local:80/twin/live/stream");
        for bad in [
            "https://x",
            "x:80",
            "http://",
            "http://h:port",
            "http://h/a?b",
        ] {
            assert!(Server::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn clock_in_the_offset() {
        // 2025-09-30T00:30:00Z is 07:30 in Hanoi.
        assert_eq!(hhmm(1_759_192_200_000, 420), "07:30");
        assert_eq!(hhmm(1_759_192_200_000, 0), "00:30");
        assert_eq!(hhmm(1_759_192_200_000, -60), "23:30");
    }

    fn state(id: i64, end_ms: i64, places: Value) -> Value {
        json!({"id": id, "type": "state", "time_ms": end_ms, "data": {
            "end_s": 1800.0, "end_ms": end_ms, "rain_gauges": 3, "rain_mm_h": 40.0,
            "now": {"max_depth_m": 0.62, "alert_m": 0.3, "places": places,
                    "roads_closed": ["Phố Huế", "Hàng Bài"], "road_ids": [42, 7, 9],
                    "pumps_running": 2, "pumps_total": 3},
            "traffic": {"on_road": 1200, "to_depart": 5000, "speed_kmh": 18.5,
                        "links_closed": 4, "links_slowed": 2, "counts": [], "demand_factor": 1.1}
        }})
    }

    #[test]
    fn messages_make_the_walls_state_once_each() {
        let mut r = Received::default();
        assert_eq!(r.shown().kpis.clock, "--:--");
        let places = json!([
            {"name": "Phố Huế", "x": 10.0, "y": 20.0, "depth_m": 0.41, "street": true},
            {"name": "Hồ Gươm", "x": 0.0, "y": 0.0, "depth_m": 0.9, "street": false},
            {"name": "Hàng Bài", "x": 5.0, "y": 5.0, "depth_m": 0.12, "street": true},
            {"name": "Tràng Tiền", "x": 5.0, "y": 5.0, "depth_m": 0.01, "street": true}
        ]);
        r.apply(&state(5, 1_759_192_200_000, places), 420).unwrap();
        let alert = json!({"id": 6, "type": "alert", "time_ms": 1, "data": {
            "kind": "flood_forecast", "place": "Phố Huế", "issued_ms": 1_759_192_200_000i64,
            "at_ms": 1_759_193_700_000i64, "lead_min": 25.0, "value": 0.45}});
        r.apply(&alert, 420).unwrap();
        // A resent message changes nothing.
        r.apply(&alert, 420).unwrap();
        let s = r.shown();
        let k = &s.kpis;
        assert_eq!(k.clock, "07:30");
        assert_eq!(k.minute, 30.0);
        assert_eq!(k.max_depth_m, 0.62);
        assert_eq!(k.roads_closed, 2);
        assert_eq!(s.closed_roads, Some(vec![7, 9, 42]));
        assert_eq!(k.network_speed_kmh, Some(18.5));
        // The lake is not a hotspot; one street place is over 0.3 m of three.
        assert_eq!((k.hotspots_flooded, k.hotspots_total), (1, 3));
        assert_eq!((k.pumps_running, k.pumps_total), (2, 3));
        let names: Vec<_> = s.hotspots.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["Phố Huế", "Hàng Bài"]);
        assert_eq!(s.hotspots[0].xy, [10.0, 20.0]);
        assert_eq!(s.alerts.len(), 1);
        assert_eq!(
            s.alerts[0].line(crate::i18n::Lang::Vi),
            "07:30 Dự báo ngập: Phố Huế → 07:55 (trước 25 phút)"
        );
        assert_eq!(
            s.alerts[0].line(crate::i18n::Lang::En),
            "07:30 Flood forecast: Phố Huế → 07:55 (25 min ahead)"
        );
        assert!(r.depth_wanted);
        assert!(s.offline);
        assert!(r.apply(&json!({"type": "state"}), 420).is_err());
    }

    #[test]
    fn http_bodies_by_length_and_in_chunks() {
        let (s, b) = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef").unwrap();
        assert_eq!((s, b.as_slice()), (200, b"abc".as_slice()));
        let (s, b) = parse_response(
            b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n1;x\r\nc\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((s, b.as_slice()), (404, b"abc".as_slice()));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").is_err());
        assert!(parse_response(b"garbage").is_err());
    }
}
