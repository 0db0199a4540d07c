//! `twin serve`: arguments only; the server is twin-server.
//!
//! Each setting comes from the command line, else its environment variable (`TWIN_SERVE_…`),
//! else the `--config` file (TOML, paths relative to the file), else its default: a service
//! manager sets the environment, an operator keeps the file, a test passes flags.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `twin serve` arguments.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    #[command(subcommand)]
    cmd: Option<ServeCmd>,
    /// A TOML file with any of the settings below (`city`, `live`, `listen`, `tokens`,
    /// `audit`, `timeout_s`, `rate_limit`, `jobs_dir`, `jobs`); paths relative to the file.
    /// The command line and the environment override it. Tệp cấu hình.
    #[arg(long, env = "TWIN_SERVE_CONFIG")]
    config: Option<PathBuf>,
    /// City GeoPackage, or a PostGIS database (`PG:host=… dbname=…`, from `twin city push`),
    /// read once at start. GeoPackage hoặc cơ sở dữ liệu PostGIS của thành phố.
    #[arg(long, env = "TWIN_SERVE_CITY")]
    city: Option<PathBuf>,
    /// The live twin's folder (`twin live --out DIR`): /live routes read DIR/live.sqlite and
    /// DIR/state.json; posted readings go into DIR/live.sqlite. Thư mục bản sao trực tuyến.
    #[arg(long, env = "TWIN_SERVE_LIVE")]
    live: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080). Địa chỉ lắng nghe.
    #[arg(long, env = "TWIN_SERVE_LISTEN")]
    listen: Option<SocketAddr>,
    /// API tokens (TOML `[[token]]` name, role, department, hash). Without it every route but
    /// /health, /metrics and /openapi.json answers 401. Tệp token.
    #[arg(long, env = "TWIN_SERVE_TOKENS")]
    tokens: Option<PathBuf>,
    /// Audit store (SQLite); default DIR/audit.sqlite with --live, else CITY.audit.sqlite
    /// (needed with a PostGIS city without --live).
    /// Nhật ký kiểm toán.
    #[arg(long, env = "TWIN_SERVE_AUDIT")]
    audit: Option<PathBuf>,
    /// Longest time to answer one request, s (default 30). Thời gian tối đa cho một yêu cầu.
    #[arg(long, env = "TWIN_SERVE_TIMEOUT_S")]
    timeout_s: Option<f64>,
    /// Requests per second of a token whose entry states no `rate_per_s` (bursts of twice
    /// that; default 50); above it the answer is 429 with Retry-After. Giới hạn yêu cầu mỗi
    /// giây mỗi token.
    #[arg(long, env = "TWIN_SERVE_RATE_LIMIT")]
    rate_limit: Option<f64>,
    /// Turns scenario jobs on (POST /scenarios): each job's folder goes under DIR, run by
    /// this `twin` as `twin scenario run`. Bật chạy kịch bản qua API; thư mục kết quả.
    #[arg(long, env = "TWIN_SERVE_JOBS_DIR")]
    jobs_dir: Option<PathBuf>,
    /// Scenario jobs running at once, the rest wait (default 1). Số kịch bản chạy đồng thời.
    #[arg(long, env = "TWIN_SERVE_JOBS")]
    jobs: Option<usize>,
}

/// The `--config` file.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    city: Option<String>,
    live: Option<PathBuf>,
    listen: Option<SocketAddr>,
    tokens: Option<PathBuf>,
    audit: Option<PathBuf>,
    timeout_s: Option<f64>,
    rate_limit: Option<f64>,
    jobs_dir: Option<PathBuf>,
    jobs: Option<usize>,
}

impl ConfigFile {
    fn read(p: &Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("{}: cannot read the config file", p.display()))?;
        let mut c: ConfigFile = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}: not a twin serve config file / tệp cấu hình không hợp lệ: {e}",
                p.display()
            )
        })?;
        // Paths are relative to the file, as in scenario files.
        let base = p.parent().unwrap_or(Path::new("."));
        let at = |x: &mut Option<PathBuf>| {
            if let Some(v) = x.as_mut()
                && v.is_relative()
            {
                *v = base.join(&*v);
            }
        };
        at(&mut c.live);
        at(&mut c.tokens);
        at(&mut c.audit);
        at(&mut c.jobs_dir);
        if let Some(city) = &c.city
            && !city.starts_with("PG:")
            && Path::new(city).is_relative()
        {
            c.city = Some(base.join(city).display().to_string());
        }
        Ok(c)
    }
}

#[derive(Subcommand, Debug)]
enum ServeCmd {
    /// Prints the SHA-256 hash of a token, for the token file. In băm SHA-256 của token.
    HashToken {
        /// The token.
        token: String,
    },
}

pub(crate) fn run(a: ServeArgs) -> Result<()> {
    if let Some(ServeCmd::HashToken { token }) = a.cmd {
        println!("{}", twin_server::hash_token(&token));
        return Ok(());
    }
    let f = match &a.config {
        Some(p) => ConfigFile::read(p)?,
        None => ConfigFile::default(),
    };
    let Some(city) = a.city.or(f.city.map(PathBuf::from)) else {
        bail!(
            "give the city: --city C.gpkg (or TWIN_SERVE_CITY, or `city` in --config) / cần --city C.gpkg"
        );
    };
    let timeout_s = a.timeout_s.or(f.timeout_s).unwrap_or(30.0);
    let jobs = a.jobs.or(f.jobs).unwrap_or(1);
    let rate_limit = a.rate_limit.or(f.rate_limit).unwrap_or(50.0);
    if !(timeout_s.is_finite() && timeout_s > 0.0) {
        bail!("timeout_s must be a positive number of seconds / timeout_s phải dương");
    }
    if jobs == 0 || jobs > 64 {
        bail!("jobs must be from 1 to 64 / jobs phải từ 1 đến 64");
    }
    if !(rate_limit.is_finite() && rate_limit > 0.0) {
        bail!(
            "rate_limit must be a positive number of requests per second / rate_limit phải dương"
        );
    }
    twin_server::serve_blocking(twin_server::Config {
        city,
        live: a.live.or(f.live),
        listen: a
            .listen
            .or(f.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
        tokens: a.tokens.or(f.tokens),
        audit: a.audit.or(f.audit),
        timeout: std::time::Duration::from_secs_f64(timeout_s),
        rate: twin_server::ratelimit::Rate {
            per_s: rate_limit,
            burst: (2.0 * rate_limit).max(1.0),
        },
        jobs: a
            .jobs_dir
            .or(f.jobs_dir)
            .map(|dir| twin_server::JobsOptions {
                dir,
                max_running: jobs,
            }),
    })
}
