//! `twin serve`: arguments only; the server is twin-server.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// `twin serve` arguments.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    #[command(subcommand)]
    cmd: Option<ServeCmd>,
    /// City GeoPackage, or a PostGIS database (`PG:host=… dbname=…`, from `twin city push`),
    /// read once at start. GeoPackage hoặc cơ sở dữ liệu PostGIS của thành phố.
    #[arg(long)]
    city: Option<PathBuf>,
    /// The live twin's folder (`twin live --out DIR`): /live routes read DIR/live.sqlite and
    /// DIR/state.json; posted readings go into DIR/live.sqlite. Thư mục bản sao trực tuyến.
    #[arg(long)]
    live: Option<PathBuf>,
    /// Address to listen on. Địa chỉ lắng nghe.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// API tokens (TOML `[[token]]` name, role, department, hash). Without it every route but
    /// /health, /metrics and /openapi.json answers 401. Tệp token.
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// Audit store (SQLite); default DIR/audit.sqlite with --live, else CITY.audit.sqlite
    /// (needed with a PostGIS city without --live).
    /// Nhật ký kiểm toán.
    #[arg(long)]
    audit: Option<PathBuf>,
    /// Longest time to answer one request, s. Thời gian tối đa cho một yêu cầu.
    #[arg(long, default_value_t = 30.0)]
    timeout_s: f64,
    /// Requests per second of a token whose entry states no `rate_per_s` (bursts of twice
    /// that); above it the answer is 429 with Retry-After. Giới hạn yêu cầu mỗi giây mỗi token.
    #[arg(long, default_value_t = 50.0)]
    rate_limit: f64,
    /// Turns scenario jobs on (POST /scenarios): each job's folder goes under DIR, run by
    /// this `twin` as `twin scenario run`. Bật chạy kịch bản qua API; thư mục kết quả.
    #[arg(long)]
    jobs_dir: Option<PathBuf>,
    /// Scenario jobs running at once (the rest wait). Số kịch bản chạy đồng thời.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
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
    let Some(city) = a.city else {
        bail!("give the city: --city C.gpkg / cần --city C.gpkg");
    };
    if !(a.timeout_s.is_finite() && a.timeout_s > 0.0) {
        bail!("--timeout-s must be a positive number of seconds / --timeout-s phải dương");
    }
    if a.jobs == 0 || a.jobs > 64 {
        bail!("--jobs must be from 1 to 64 / --jobs phải từ 1 đến 64");
    }
    if !(a.rate_limit.is_finite() && a.rate_limit > 0.0) {
        bail!(
            "--rate-limit must be a positive number of requests per second / --rate-limit phải dương"
        );
    }
    twin_server::serve_blocking(twin_server::Config {
        city,
        live: a.live,
        listen: a.listen,
        tokens: a.tokens,
        audit: a.audit,
        timeout: std::time::Duration::from_secs_f64(a.timeout_s),
        rate: twin_server::ratelimit::Rate {
            per_s: a.rate_limit,
            burst: (2.0 * a.rate_limit).max(1.0),
        },
        jobs: a.jobs_dir.map(|dir| twin_server::JobsOptions {
            dir,
            max_running: a.jobs,
        }),
    })
}
