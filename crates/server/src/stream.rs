//! `GET /live/stream`: the live twin's events over a WebSocket.
//!
//! One watcher task per server reads new rows of the live store's `live_events` table (what
//! `twin live` commits each period: `period`, `forecast`, `alert`) every [`POLL`] and
//! broadcasts them. Each client first gets a backlog from the store (the latest state and
//! forecast and the recent alerts, or every event after `since_id` when it resumes), then the
//! broadcast; every message carries the event's store id, so a client that reconnects with
//! `since_id` = the last id it saw misses nothing and gets nothing twice. A client too slow
//! for the broadcast is caught up from the store. On shutdown every client gets a Close frame
//! (1001, going away) and the server waits for them to finish ([`Hub::drained`]).
//!
//! Messages are JSON text: `{"id": 12, "type": "state" | "forecast" | "alert", "time_ms":
//! …, "data": {…}}`; `state` is a period record of the live loop.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, broadcast, watch};

/// How often the watcher looks for new events.
pub const POLL: Duration = Duration::from_millis(250);

/// Alerts sent to a new client that does not resume.
pub const BACKLOG_ALERTS: usize = 100;

/// Events read from the store in one go.
const BATCH: i64 = 1000;

/// One event as sent: its store id and its JSON text.
#[derive(Debug, Clone)]
pub struct Event {
    /// `live_events.id`.
    pub id: i64,
    /// The message.
    pub text: Arc<str>,
}

/// The broadcast, the shutdown signal and the count of open streams.
pub struct Hub {
    tx: broadcast::Sender<Event>,
    shutdown: watch::Sender<bool>,
    open: AtomicUsize,
    closed: Notify,
    started: AtomicBool,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            tx: broadcast::channel(1024).0,
            shutdown: watch::channel(false).0,
            open: AtomicUsize::new(0),
            closed: Notify::new(),
            started: AtomicBool::new(false),
        }
    }
}

impl Hub {
    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Tells every stream and the watcher to stop.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// A receiver that turns true when shutdown begins.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Whether shutdown has begun.
    pub fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Waits until every stream has closed, at most `limit`; true when all did.
    pub async fn drained(&self, limit: Duration) -> bool {
        let wait = async {
            loop {
                let n = self.closed.notified();
                if self.open() == 0 {
                    return;
                }
                n.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }
}

struct OpenGuard<'a>(&'a Hub);

impl<'a> OpenGuard<'a> {
    fn new(h: &'a Hub) -> Self {
        h.open.fetch_add(1, Ordering::SeqCst);
        OpenGuard(h)
    }
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
        self.0.closed.notify_waiters();
    }
}

fn type_of(kind: &str) -> &str {
    match kind {
        "period" => "state",
        k => k,
    }
}

fn message(id: i64, kind: &str, time_ms: i64, data: &str) -> Event {
    let data = serde_json::from_str::<Value>(data).unwrap_or(Value::String(data.to_string()));
    let v = json!({"id": id, "type": type_of(kind), "time_ms": time_ms, "data": data});
    Event {
        id,
        text: Arc::from(v.to_string()),
    }
}

fn open_ro(dir: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        dir.join("live.sqlite"),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// A `live_events` row (id, kind, time_ms, data) as a message.
fn row_event(r: &rusqlite::Row) -> rusqlite::Result<Event> {
    Ok(message(
        r.get(0)?,
        &r.get::<_, String>(1)?,
        r.get(2)?,
        &r.get::<_, String>(3)?,
    ))
}

/// Events after `after`, in order, at most [`BATCH`].
fn events_after(c: &Connection, after: i64) -> rusqlite::Result<Vec<Event>> {
    let mut st = c.prepare_cached(
        "SELECT id, kind, time_ms, data FROM live_events WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = st.query_map([after, BATCH], row_event)?;
    rows.collect()
}

fn last_id(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("SELECT COALESCE(MAX(id), 0) FROM live_events", [], |r| {
        r.get(0)
    })
}

/// A new client's backlog: the latest state and forecast and the last alerts, in store
/// order, and the store's last id.
fn fresh_backlog(c: &Connection) -> rusqlite::Result<(Vec<Event>, i64)> {
    let last = last_id(c)?;
    let mut st = c.prepare(
        "SELECT id, kind, time_ms, data FROM live_events WHERE id IN (
             SELECT MAX(id) FROM live_events WHERE kind IN ('period', 'forecast') GROUP BY kind
             UNION
             SELECT id FROM (SELECT id FROM live_events WHERE kind = 'alert'
                             ORDER BY id DESC LIMIT ?1))
         ORDER BY id",
    )?;
    let rows = st.query_map([BACKLOG_ALERTS as i64], row_event)?;
    Ok((rows.collect::<rusqlite::Result<_>>()?, last))
}

/// Starts the watcher once, on the current runtime (a no-op without `--live` or outside one).
pub(crate) fn start(state: &AppState) {
    let Some(live) = &state.live else { return };
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if state.hub.started.swap(true, Ordering::SeqCst) {
        return;
    }
    let dir = live.dir.clone();
    let st = state.clone();
    // Where the broadcast starts is read now, before any stream subscribes: every event
    // committed later reaches the broadcast (a short read, once per server).
    let mut last: Option<i64> = open_ro(&dir).and_then(|c| last_id(&c)).ok();
    rt.spawn(async move {
        let mut stop = st.hub.shutdown.subscribe();
        loop {
            if *stop.borrow() {
                break;
            }
            let d = dir.clone();
            let after = last;
            let got = tokio::task::spawn_blocking(move || -> rusqlite::Result<(i64, Vec<Event>)> {
                let c = open_ro(&d)?;
                match after {
                    None => Ok((last_id(&c)?, Vec::new())),
                    Some(a) => {
                        let ev = events_after(&c, a)?;
                        Ok((ev.last().map_or(a, |e| e.id), ev))
                    }
                }
            })
            .await;
            match got {
                Ok(Ok((to, events))) => {
                    let full = events.len() as i64 == BATCH;
                    for e in events {
                        // No receiver is not an error: nobody is listening yet.
                        let _ = st.hub.tx.send(e);
                    }
                    last = Some(to);
                    if full {
                        continue;
                    }
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "live stream: the store could not be read / không đọc được kho"),
                Err(e) => tracing::warn!(error = %e, "live stream: the reader failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    });
}

/// `GET /live/stream`.
pub(crate) async fn live_stream(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    crate::handlers::only(&q, &["since_id"])?;
    let since = match q.get("since_id") {
        None => None,
        Some(v) => Some(v.trim().parse::<i64>().ok().filter(|x| *x >= 0).ok_or_else(|| {
            ApiError::bad(
                format!(
                    "parameter 'since_id': expected the id of the last event received (a whole number ≥ 0), got '{}'",
                    crate::echo(v)
                ),
                format!(
                    "tham số 'since_id': cần mã sự kiện cuối cùng đã nhận (số nguyên ≥ 0), nhận '{}'",
                    crate::echo(v)
                ),
            )
        })?),
    };
    let dir = crate::handlers::live(&s)?.dir.clone();
    let ws = ws.map_err(|e| {
        ApiError::bad(
            format!("this route is a WebSocket: connect with 'Upgrade: websocket' ({e})"),
            "đường dẫn này là WebSocket: kết nối với 'Upgrade: websocket'",
        )
    })?;
    if s.hub.shutting_down() {
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
            "máy chủ đang dừng",
        ));
    }
    start(&s);
    Ok(ws
        .max_message_size(64 * 1024)
        .on_upgrade(move |sock| client(s, sock, dir, since))
        .into_response())
}

async fn read<T: Send + 'static>(
    dir: &Path,
    f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
) -> Option<T> {
    let d: PathBuf = dir.to_path_buf();
    match tokio::task::spawn_blocking(move || open_ro(&d).and_then(|c| f(&c))).await {
        Ok(Ok(x)) => Some(x),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "live stream: the store could not be read / không đọc được kho");
            None
        }
        Err(_) => None,
    }
}

async fn send_all(sock: &mut WebSocket, events: &[Event], last: &mut i64) -> bool {
    for e in events {
        if e.id <= *last {
            continue;
        }
        if sock.send(Message::text(e.text.as_ref())).await.is_err() {
            return false;
        }
        *last = e.id;
    }
    true
}

/// Sends every stored event after `last`, in batches.
async fn catch_up(sock: &mut WebSocket, dir: &Path, last: &mut i64) -> bool {
    loop {
        let after = *last;
        let Some(ev) = read(dir, move |c| events_after(c, after)).await else {
            return false;
        };
        let full = ev.len() as i64 == BATCH;
        if !send_all(sock, &ev, last).await {
            return false;
        }
        if !full {
            return true;
        }
    }
}

async fn client(s: AppState, mut sock: WebSocket, dir: PathBuf, since: Option<i64>) {
    let hub = &s.hub;
    let _open = OpenGuard::new(hub);
    // Subscribe before the backlog is read: an event committed in between comes through the
    // broadcast, and ids drop what was already sent.
    let mut rx = hub.tx.subscribe();
    let mut stop = hub.shutdown.subscribe();
    let mut last = -1;
    let ok = match since {
        Some(a) => {
            last = a;
            catch_up(&mut sock, &dir, &mut last).await
        }
        None => match read(&dir, fresh_backlog).await {
            Some((ev, top)) => {
                let sent = send_all(&mut sock, &ev, &mut last).await;
                last = last.max(top);
                sent
            }
            None => false,
        },
    };
    if !ok {
        return;
    }
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Ok(e) => {
                    if !send_all(&mut sock, std::slice::from_ref(&e), &mut last).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if !catch_up(&mut sock, &dir, &mut last).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            r = sock.recv() => match r {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                // Pings are answered by the socket; text from the client is not read.
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => break,
        }
    }
    let _ = sock
        .send(Message::Close(Some(CloseFrame {
            code: 1001,
            reason: "server shutting down / máy chủ đang dừng".into(),
        })))
        .await;
}
