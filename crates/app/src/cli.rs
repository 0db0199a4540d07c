//! The command line: `twin-app app …` and `twin-app wall …`.

use crate::i18n::Lang;
use crate::live::Server;
use crate::viewer::{Mode, Options};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use twin_model::Layer;

#[derive(Parser, Debug)]
#[command(
    name = "twin-app",
    about = "Bản sao số Hà Nội 3D và tường màn hình / Hanoi digital twin in 3D and on a video wall"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Debug)]
struct Common {
    /// Thành phố / the city (GeoPackage written by `twin`).
    #[arg(long)]
    city: PathBuf,
    /// Thư mục kết quả `twin scenario run` (có playback/) / a scenario run's folder (with playback/).
    #[arg(long)]
    run: Option<PathBuf>,
    /// Chụp một khung hình vào PNG rồi thoát, không cần cửa sổ / render one frame into a PNG with no window, then exit.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// Phút hiển thị / the minute to show (from the rain's start).
    #[arg(long)]
    at: Option<f64>,
    /// Ngôn ngữ giao diện / interface language: vi | en.
    #[arg(long, default_value = "vi")]
    lang: String,
    /// Kích thước / size, WxH pixels.
    #[arg(long)]
    size: Option<String>,
    /// Nhìn thẳng từ trên xuống / look straight down.
    #[arg(long)]
    top: bool,
    /// Nhấp chuột tại điểm ảnh X,Y / a click at pixel X,Y once the scene is up.
    #[arg(long)]
    click: Option<String>,
    /// Ghi trạng thái (bảng thông tin, KPI) ra JSON / write the inspector and KPIs as JSON.
    #[arg(long)]
    state_out: Option<PathBuf>,
    /// Đo thời gian khung hình, lệnh vẽ và bộ nhớ, ghi JSON rồi thoát (không cửa sổ) / measure
    /// frame time, draw calls and memory with no window, write them as JSON, then exit.
    #[arg(long, conflicts_with = "screenshot")]
    bench: Option<PathBuf>,
    /// Khử răng cưa: số mẫu mỗi điểm ảnh / multisampling of the 3D view, samples per pixel:
    /// 1 (off), 2, 4 or 8.
    #[arg(long, default_value_t = 4, value_parser = clap::builder::TypedValueParser::map(clap::builder::PossibleValuesParser::new(["1", "2", "4", "8"]), |s: String| s.parse::<u32>().unwrap_or(4)))]
    msaa: u32,
    /// Số khung hình mỗi pha đo / frames measured in each phase of --bench.
    #[arg(long, default_value_t = 60, requires = "bench")]
    bench_frames: u32,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Ứng dụng 3D / the 3D app: layers, playback, inspector, search.
    App {
        #[command(flatten)]
        common: Common,
        /// Tắt lớp / hide a layer (table name or alias: building, roads, water, …); repeatable.
        #[arg(long)]
        hide: Vec<String>,
        /// So sánh với kết quả này (A; --run là B) / compare with this run (A; --run is B):
        /// the water B − A and the roads closed in only one.
        #[arg(long, requires = "run")]
        compare: Option<PathBuf>,
        /// Thư mục cho các lần chạy kịch bản / where the what-if panel's runs go.
        #[arg(long, default_value = "twin-plans")]
        plans_dir: PathBuf,
        /// Mở bảng kịch bản giả định / start with the what-if panel open.
        #[arg(long)]
        what_if: bool,
        /// Danh sách trạm đo mưa / the rain gauge list (gauge_id, lon, lat), with --daily:
        /// the what-if panel offers the wettest days of the records.
        #[arg(long, requires = "daily")]
        gauges: Option<PathBuf>,
        /// Lượng mưa ngày tại các trạm / the gauges' daily totals (date, gauge_id, rain_mm, qc).
        #[arg(long, requires = "gauges")]
        daily: Option<PathBuf>,
    },
    /// Tường màn hình / the video wall: KPI tiles, alert ticker, hotspots, camera tour.
    Wall {
        #[command(flatten)]
        common: Common,
        /// Theo dõi dịch vụ `twin serve` (luồng /live/stream) / follow a `twin serve`
        /// (its /live/stream and /live/depth), e.g. http://127.0.0.1:8080.
        #[arg(long, conflicts_with = "run")]
        server: Option<String>,
        /// Tệp chứa token của dịch vụ (dòng đầu) / a file whose first line is the service's
        /// API token (else the TWIN_TOKEN environment variable).
        #[arg(long, requires = "server")]
        token_file: Option<PathBuf>,
        /// Múi giờ hiển thị, giờ so với UTC / hours east of UTC of the clock shown.
        #[arg(long, default_value_t = 7.0, allow_hyphen_values = true)]
        utc_offset: f64,
    },
}

/// Parses `WxH`.
pub fn parse_size(s: &str) -> Result<(u32, u32)> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .with_context(|| format!("kích thước phải là WxH / size must be WxH: {s:?}"))?;
    let (w, h): (u32, u32) = (w.trim().parse()?, h.trim().parse()?);
    if !(64..=16384).contains(&w) || !(64..=16384).contains(&h) {
        bail!("kích thước ngoài khoảng 64–16384 / size out of 64–16384: {s:?}");
    }
    Ok((w, h))
}

fn parse_pair(s: &str) -> Result<(f32, f32)> {
    let (a, b) = s
        .split_once(',')
        .with_context(|| format!("cần X,Y / expected X,Y: {s:?}"))?;
    Ok((a.trim().parse()?, b.trim().parse()?))
}

/// Parses the command line into options.
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Options> {
    let cli = Cli::try_parse_from(args).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut app_extra = (None, PathBuf::from("twin-plans"), false, None);
    let (mode, common, hide, server, token_file, utc_offset) = match cli.cmd {
        Cmd::App {
            common,
            hide,
            compare,
            plans_dir,
            what_if,
            gauges,
            daily,
        } => {
            app_extra = (compare, plans_dir, what_if, gauges.zip(daily));
            (Mode::App, common, hide, None, None, 7.0)
        }
        Cmd::Wall {
            common,
            server,
            token_file,
            utc_offset,
        } => (
            Mode::Wall,
            common,
            Vec::new(),
            server,
            token_file,
            utc_offset,
        ),
    };
    if !(-12.0..=14.0).contains(&utc_offset) {
        bail!("--utc-offset ngoài −12…14 / out of −12…14: {utc_offset}");
    }
    let server = match server {
        Some(url) => {
            let s = Server::parse(&url)?;
            let token = match &token_file {
                Some(f) => std::fs::read_to_string(f)
                    .with_context(|| format!("--token-file {}", f.display()))?
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string(),
                None => std::env::var("TWIN_TOKEN").unwrap_or_default(),
            };
            if token.is_empty() {
                bail!(
                    "--server cần token: --token-file F hoặc biến TWIN_TOKEN / --server needs a token: --token-file F or TWIN_TOKEN"
                );
            }
            Some((s, token))
        }
        None => None,
    };
    let lang = Lang::parse(&common.lang).with_context(|| {
        format!(
            "ngôn ngữ phải là vi hoặc en / language must be vi or en: {:?}",
            common.lang
        )
    })?;
    let hide = hide
        .iter()
        .map(|h| Layer::parse(h).with_context(|| format!("không có lớp / no such layer: {h:?}")))
        .collect::<Result<Vec<_>>>()?;
    let default = match mode {
        Mode::App => (1600, 900),
        Mode::Wall => (3840, 1080),
    };
    if mode == Mode::Wall && common.run.is_none() && server.is_none() {
        bail!(
            "tường màn hình cần --run DIR hoặc --server URL / the wall needs --run DIR or --server URL"
        );
    }
    Ok(Options {
        mode,
        city: common.city,
        run: common.run,
        screenshot: common.screenshot,
        bench: common.bench.map(|p| (p, common.bench_frames.max(1))),
        msaa: common.msaa,
        at: common.at,
        hide,
        lang,
        size: common
            .size
            .as_deref()
            .map(parse_size)
            .transpose()?
            .unwrap_or(default),
        top: common.top,
        click: common.click.as_deref().map(parse_pair).transpose()?,
        state_out: common.state_out,
        server,
        utc_offset_min: (utc_offset * 60.0).round() as i32,
        compare: app_extra.0,
        plans_dir: app_extra.1,
        what_if: app_extra.2,
        rain_records: app_extra.3,
    })
}

/// Runs the command line.
pub fn main<I: IntoIterator<Item = OsString>>(args: I) -> Result<()> {
    crate::viewer::run(parse(args)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &str) -> Result<Options> {
        parse(a.split_whitespace().map(OsString::from))
    }

    #[test]
    fn command_lines() {
        let o =
            p("twin-app app --city c.gpkg --hide building --hide roads --lang en --size 800x600")
                .unwrap();
        assert_eq!(o.mode, Mode::App);
        assert_eq!(o.hide, vec![Layer::Building, Layer::TrafficRoad]);
        assert_eq!(o.lang, Lang::En);
        assert_eq!(o.size, (800, 600));
        let w = p("twin-app wall --city c.gpkg --run r --at 45").unwrap();
        assert_eq!(w.mode, Mode::Wall);
        assert_eq!(w.size, (3840, 1080));
        assert_eq!(w.at, Some(45.0));
        assert!(p("twin-app wall --city c.gpkg").is_err());
        let dir = tempfile::tempdir().unwrap();
        let tf = dir.path().join("token");
        std::fs::write(&tf, "s3cret\n").unwrap();
        let w = p(&format!(
            "twin-app wall --city c.gpkg --server http://127.0.0.1:9 --token-file {} --utc-offset -3.5",
            tf.display()
        ))
        .unwrap();
        let (s, t) = w.server.unwrap();
        assert_eq!(
            (s.authority.as_str(), t.as_str()),
            ("127.0.0.1:9", "s3cret")
        );
        assert_eq!(w.utc_offset_min, -210);
        // The run and the service exclude each other; the service needs http://.
        assert!(p("twin-app wall --city c.gpkg --run r --server http://h:1").is_err());
        assert!(
            p(&format!(
                "twin-app wall --city c.gpkg --server wss://h --token-file {}",
                tf.display()
            ))
            .is_err()
        );
        assert!(p("twin-app app --city c.gpkg --hide nothing").is_err());
        let a = p("twin-app app --city c.gpkg --gauges g.csv --daily d.csv").unwrap();
        assert_eq!(
            a.rain_records,
            Some((PathBuf::from("g.csv"), PathBuf::from("d.csv")))
        );
        assert!(p("twin-app app --city c.gpkg --gauges g.csv").is_err());
        assert!(p("twin-app app --city c.gpkg --lang fr").is_err());
        assert!(parse_size("10x10").is_err());
    }
}
