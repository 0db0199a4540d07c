//! `twin serve`: the city's layers and the live twin over HTTP.
//!
//! [`router`] builds the axum router from one route table ([`routes::ROUTES`], which also
//! gives `/openapi.json`); [`serve`] reads the city once through twin-io, listens, and stops
//! gracefully on Ctrl-C or SIGTERM. Every guarded route takes an API token (`Authorization:
//! Bearer T`) checked against hashed tokens ([`auth`]); every write and every refused request
//! is appended to the audit log ([`audit`]). No SQL text is built from a request: filters are
//! applied to the model in memory and SQLite values are bound parameters.

pub mod audit;
pub mod auth;
pub mod edits;
pub mod error;
mod geojson;
mod handlers;
pub mod jobs;
pub mod metrics;
pub mod ratelimit;
pub mod routes;
pub mod stream;

use crate::audit::{Audit, Record};
use crate::auth::{Caller, Tokens};
use crate::error::{ApiError, ErrorNote};
use crate::routes::{Access, Handler, ROUTES};
use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};
use twin_model::City;
use twin_sensors::ingest::Pipeline;

pub use auth::hash_token;

/// Largest request body, bytes (readings are posted in batches below it).
pub const MAX_BODY: usize = 1024 * 1024;

/// What `twin serve` was asked for.
#[derive(Debug, Clone)]
pub struct Config {
    /// The city GeoPackage, or a PostGIS database's `PG:` connection string
    /// ([`twin_io::open_city`]).
    pub city: PathBuf,
    /// The live twin's folder (`twin live --out DIR`), if any.
    pub live: Option<PathBuf>,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The token file; without it every guarded route answers 401.
    pub tokens: Option<PathBuf>,
    /// The audit store (default: `audit.sqlite` in the live folder, else beside the city).
    pub audit: Option<PathBuf>,
    /// Longest time to answer a request.
    pub timeout: Duration,
    /// Rate limit of a token that states none.
    pub rate: ratelimit::Rate,
    /// Scenario jobs: where their folders go and how many run at once (None: jobs are off).
    pub jobs: Option<JobsOptions>,
}

/// Where scenario jobs go and how many run at once; the `twin` executable that runs them is
/// the running one (`twin serve`).
#[derive(Debug, Clone)]
pub struct JobsOptions {
    /// The folder of job folders.
    pub dir: PathBuf,
    /// Jobs running at once.
    pub max_running: usize,
}

/// The live twin's folder: `live.sqlite` read for state, forecasts and alerts, and written
/// through the ingest pipeline.
pub struct Live {
    /// The folder.
    pub dir: PathBuf,
    /// Parse → QC → store, for posted readings.
    pub pipeline: Mutex<Pipeline<'static>>,
}

/// Everything a request may read.
pub struct Inner {
    /// The city (read once at start, with the edit journal replayed).
    city: RwLock<City>,
    /// The edit journal.
    pub edits: edits::Edits,
    /// The live stream's broadcast and shutdown.
    pub hub: stream::Hub,
    /// Rate limits per token.
    pub limiter: ratelimit::Limiter,
    /// The rate of a token that states none.
    pub rate: ratelimit::Rate,
    /// Where the city was read from (a path, or a GDAL connection string).
    pub city_source: PathBuf,
    /// Scenario jobs, when on.
    pub jobs: Option<jobs::Jobs>,
    /// The audit store's file (also the edit journal and the job store).
    pub store: PathBuf,
    /// The known tokens.
    pub tokens: Tokens,
    /// The audit log.
    pub audit: Audit,
    /// The live twin, with `--live`.
    pub live: Option<Live>,
    /// Counters.
    pub metrics: metrics::Metrics,
}

/// The shared state of the router.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Inner {
    /// The city as it stands (edits applied).
    pub fn city(&self) -> RwLockReadGuard<'_, City> {
        self.city.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The city for an edit.
    pub(crate) fn city_mut(&self) -> std::sync::RwLockWriteGuard<'_, City> {
        self.city.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl AppState {
    /// Names where the city was read from (the source scenario jobs run on) and turns
    /// scenario jobs on, run by the `twin` executable `twin`. Call it before the state is
    /// shared.
    pub fn with_jobs(
        mut self,
        city_source: &Path,
        twin: &Path,
        opts: &JobsOptions,
    ) -> anyhow::Result<AppState> {
        let store = self.store.clone();
        let inner = Arc::get_mut(&mut self.0)
            .ok_or_else(|| anyhow::anyhow!("with_jobs: the state is already shared"))?;
        inner.city_source = city_source.to_path_buf();
        inner.jobs = Some(jobs::Jobs::open(
            &store,
            jobs::JobsConfig {
                twin: twin.to_path_buf(),
                dir: opts.dir.clone(),
                max_running: opts.max_running,
            },
        )?);
        Ok(self)
    }

    /// A state from a city, its tokens, an audit store path and the live folder, with the
    /// default rate limit.
    pub fn new(
        city: City,
        tokens: Tokens,
        audit_path: &Path,
        live_dir: Option<&Path>,
    ) -> anyhow::Result<AppState> {
        AppState::with_rate(
            city,
            tokens,
            audit_path,
            live_dir,
            ratelimit::Rate::default(),
        )
    }

    /// [`AppState::new`] with the rate limit of tokens that state none. The edit journal
    /// (in the audit store's file) is replayed onto the city.
    pub fn with_rate(
        mut city: City,
        tokens: Tokens,
        audit_path: &Path,
        live_dir: Option<&Path>,
        rate: ratelimit::Rate,
    ) -> anyhow::Result<AppState> {
        use anyhow::Context;
        let audit = Audit::open(audit_path)
            .with_context(|| format!("{}: cannot open the audit store", audit_path.display()))?;
        let edits = edits::Edits::open(audit_path)
            .with_context(|| format!("{}: cannot open the edit journal", audit_path.display()))?;
        let journal = edits
            .all()
            .with_context(|| format!("{}: cannot read the edit journal", audit_path.display()))?;
        let (applied, missing) = edits::replay(&mut city, &journal);
        if applied + missing > 0 {
            tracing::info!(
                applied,
                "feature edits replayed from the journal / đã áp dụng lại các chỉnh sửa"
            );
        }
        if missing > 0 {
            tracing::warn!(
                missing,
                "feature edits naming a feature or value the city no longer has were not applied / chỉnh sửa không áp dụng được"
            );
        }
        let live = match live_dir {
            None => None,
            Some(dir) => {
                let reg = twin_sensors::Registry::from_city(&city)
                    .map_err(anyhow::Error::msg)
                    .context("the city's sensors")?;
                // The registry lives as long as the server: the pipeline borrows it.
                let reg: &'static twin_sensors::Registry = Box::leak(Box::new(reg));
                let store = twin_sensors::Store::open(&dir.join("live.sqlite"))?;
                let qc = twin_sensors::Qc::new(reg, twin_sensors::QcConfig::default());
                Some(Live {
                    dir: dir.to_path_buf(),
                    pipeline: Mutex::new(Pipeline::new(qc, Some(store), MAX_BODY)),
                })
            }
        };
        Ok(AppState(Arc::new(Inner {
            city_source: PathBuf::new(),
            jobs: None,
            store: audit_path.to_path_buf(),
            city: RwLock::new(city),
            edits,
            hub: stream::Hub::default(),
            limiter: ratelimit::Limiter::default(),
            rate,
            tokens,
            audit,
            live,
            metrics: metrics::Metrics::default(),
        })))
    }
}

#[derive(Clone)]
struct Guard {
    state: AppState,
    access: Access,
}

fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks the token and role of a guarded route; the caller goes on the request (for the
/// handler) and on the response (for the log and the audit).
async fn guard(State(g): State<Guard>, mut req: Request, next: Next) -> Response {
    let Access::Roles(roles) = g.access else {
        return next.run(req).await;
    };
    let caller = match bearer(&req) {
        None => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "no token: send 'Authorization: Bearer TOKEN'",
                "thiếu token: gửi 'Authorization: Bearer TOKEN'",
            )
            .into_response();
        }
        Some(t) => match g.state.tokens.find(t) {
            None => {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unknown token",
                    "token không hợp lệ",
                )
                .into_response();
            }
            Some(c) => c.clone(),
        },
    };
    if !roles.contains(&caller.role) {
        let allowed: Vec<&str> = roles.iter().map(|r| r.name()).collect();
        let mut r = ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "role '{}' may not {} this route; it needs: {}",
                caller.role.name(),
                req.method(),
                allowed.join(", ")
            ),
            format!(
                "vai trò '{}' không được phép; cần: {}",
                caller.role.name(),
                allowed.join(", ")
            ),
        )
        .into_response();
        r.extensions_mut().insert(caller);
        return r;
    }
    if let Err(wait) = g
        .state
        .limiter
        .take(&caller.name, caller.rate.unwrap_or(g.state.rate))
    {
        let secs = wait.ceil().clamp(1.0, 3600.0) as u64;
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "rate limit of token '{}' reached: retry in {secs} s",
                caller.name
            ),
            format!(
                "token '{}' vượt giới hạn tần suất: thử lại sau {secs} giây",
                caller.name
            ),
        )
        .into_response();
        if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r.extensions_mut().insert(caller);
        return r;
    }
    req.extensions_mut().insert(caller.clone());
    let mut resp = next.run(req).await;
    resp.extensions_mut().insert(caller);
    resp
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The outermost layer: gives every error a JSON body, counts, logs one line per request
/// (never a header, so never a token) and audits writes and refusals.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map_or(path.clone(), |p| p.as_str().to_string());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_string(), |m| m.as_str().to_string());
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or("-".to_string(), |c| c.0.to_string());
    let mut resp = next.run(req).await;
    let status = resp.status();
    if (status.is_client_error() || status.is_server_error())
        && resp.extensions().get::<ErrorNote>().is_none()
    {
        let caller = resp.extensions().get::<Caller>().cloned();
        resp = error::for_status(status).into_response();
        if let Some(c) = caller {
            resp.extensions_mut().insert(c);
        }
    }
    let caller = resp.extensions().get::<Caller>().cloned();
    let who = caller.as_ref().map_or("-", |c| c.name.as_str()).to_string();
    let secs = start.elapsed().as_secs_f64();
    state
        .metrics
        .request(method.as_str(), &route, status.as_u16(), secs);
    let note = resp
        .extensions()
        .get::<ErrorNote>()
        .map(|n| n.0.clone())
        .unwrap_or_default();
    tracing::info!(
        method = %method,
        path = %path,
        status = status.as_u16(),
        latency_ms = format_args!("{:.2}", secs * 1e3),
        token = %who,
        "request"
    );
    let write = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if write || status.is_client_error() || status.is_server_error() {
        let outcome = if note.is_empty() {
            status.canonical_reason().unwrap_or("").to_string()
        } else {
            note
        };
        let rec = Record {
            time_ms: now_ms(),
            who,
            department: caller.map(|c| c.department).unwrap_or_default(),
            method: method.to_string(),
            path: target,
            peer,
            status: status.as_u16(),
            outcome,
        };
        let st = state.clone();
        let done = tokio::task::spawn_blocking(move || st.audit.append(&rec)).await;
        if !matches!(done, Ok(Ok(()))) {
            tracing::error!(path = %path, "the audit record could not be written");
            return ApiError::internal("the audit record could not be written").into_response();
        }
    }
    resp
}

/// The router: every route of [`ROUTES`], each behind its access guard and the body limit;
/// then the timeout and the observing layer.
pub fn router(state: AppState) -> Router {
    router_with_timeout(state, Duration::from_secs(30))
}

/// [`router`] with another request timeout.
pub fn router_with_timeout(state: AppState, timeout: Duration) -> Router {
    let mut app = Router::new();
    for r in ROUTES {
        let mf = match r.method {
            "POST" => MethodFilter::POST,
            "PATCH" => MethodFilter::PATCH,
            _ => MethodFilter::GET,
        };
        let mr = match r.handler {
            Handler::Health => on(mf, handlers::health),
            Handler::Metrics => on(mf, handlers::metrics),
            Handler::OpenApi => on(mf, handlers::openapi),
            Handler::Layers => on(mf, handlers::layers),
            Handler::Features => on(mf, handlers::features),
            Handler::Feature => on(mf, handlers::feature),
            Handler::LiveState => on(mf, handlers::live_state),
            Handler::LiveDepth => on(mf, handlers::live_depth),
            Handler::LiveForecast => on(mf, handlers::live_forecast),
            Handler::LiveAlerts => on(mf, handlers::live_alerts),
            Handler::LiveReadings => on(mf, handlers::live_readings),
            Handler::Audit => on(mf, handlers::audit),
            Handler::EditFeature => on(mf, handlers::edit_feature),
            Handler::FeatureHistory => on(mf, handlers::feature_history),
            Handler::LiveStream => on(mf, stream::live_stream),
            Handler::SubmitScenario => on(mf, handlers::submit_scenario),
            Handler::Scenarios => on(mf, handlers::scenarios),
            Handler::Scenario => on(mf, handlers::scenario),
            Handler::CancelScenario => on(mf, handlers::cancel_scenario),
            Handler::ScenarioFile => on(mf, handlers::scenario_file),
        };
        let g = Guard {
            state: state.clone(),
            access: r.access,
        };
        // The body limit inside the guard: a body refused for its size is refused to a known
        // caller, and a caller without a token is refused before any body is read.
        let mr = mr
            .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
            .layer(middleware::from_fn_with_state(g, guard));
        app = app.route(r.path, mr);
    }
    stream::start(&state);
    jobs::Jobs::resume(&state);
    app.fallback(|| async { error::for_status(StatusCode::NOT_FOUND) })
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Serves a router on a bound listener until `shutdown` completes, then finishes the requests
/// under way.
pub async fn run(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests under way / đang dừng");
}

/// `twin serve`: reads the city, listens on `config.listen`, logs one line per request to
/// stderr, and stops on Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    use anyhow::Context;
    // Colour codes only on a terminal: a log file or journal gets plain lines.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
    let from_pg = config.city.to_str().is_some_and(twin_io::pg::is_pg);
    if from_pg && config.audit.is_none() && config.live.is_none() {
        anyhow::bail!(
            "a city in PostGIS has no folder for the audit store: give --audit A.sqlite (or --live DIR) / \
             thành phố trong PostGIS không có thư mục cho nhật ký kiểm toán: cần --audit A.sqlite (hoặc --live DIR)"
        );
    }
    let city = twin_io::open_city(&config.city)?;
    let tokens = match &config.tokens {
        Some(p) => Tokens::read(p)?,
        None => {
            tracing::warn!(
                "no --tokens file: every route but /health, /metrics and /openapi.json answers 401 / không có tệp token"
            );
            Tokens::default()
        }
    };
    let audit = config.audit.clone().unwrap_or_else(|| match &config.live {
        Some(d) => d.join("audit.sqlite"),
        None => config.city.with_extension("audit.sqlite"),
    });
    if let Some(d) = &config.live {
        std::fs::create_dir_all(d).with_context(|| format!("{}", d.display()))?;
    }
    let n_tokens = tokens.len();
    let mut state = AppState::with_rate(city, tokens, &audit, config.live.as_deref(), config.rate)?;
    if let Some(j) = &config.jobs {
        let twin = std::env::current_exe().context("the twin executable, for scenario jobs")?;
        state = state.with_jobs(&config.city, &twin, j)?;
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        city = %state.city().name,
        features = state.city().feature_count(),
        tokens = n_tokens,
        audit = %audit.display(),
        "serving / đang phục vụ"
    );
    let app = router_with_timeout(state.clone(), config.timeout);
    let st = state.clone();
    let stop = async move {
        shutdown_signal().await;
        st.hub.begin_shutdown();
    };
    run(listener, app, stop).await?;
    // Upgraded connections are not the HTTP server's to wait for: each stream has been told
    // to close (1001) and is waited for here.
    let open = state.hub.open();
    if !state.hub.drained(Duration::from_secs(10)).await {
        tracing::warn!(
            open = state.hub.open(),
            "live streams still open after 10 s / luồng trực tuyến chưa đóng"
        );
    } else if open > 0 {
        tracing::info!(
            closed = open,
            "live streams closed / đã đóng luồng trực tuyến"
        );
    }
    Ok(())
}

/// A request's text as echoed in an error message: at most 100 characters.
pub(crate) fn echo(s: &str) -> String {
    let mut out: String = s.chars().take(100).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// [`serve`] on its own multi-threaded runtime (for the `twin` command, which has none).
pub fn serve_blocking(config: Config) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(config))
}
