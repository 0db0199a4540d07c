//! The app and the wall on screen: every test renders with the real `twin-app` binary on the
//! software Vulkan driver (no window, no display) and reads the PNG's pixels, or drives its
//! pure parts directly. The fixture is the demo district on 30 m cells and a run folder
//! written here in the playback format (a pond that rises to 0.6 m at minute 20 and falls to
//! 0.25 m by minute 30, the roads in and around it closed from minute 15, vehicles of every class,
//! pumps, gauges and alerts), so that what each minute must show is known exactly.

use image::RgbImage;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use twin_app::camera::OrbitCam;
use twin_app::colors::{self, RoadClass};
use twin_app::i18n::Lang;
use twin_app::kpi::{self, Feed, LiveState};
use twin_app::playback::Run;
use twin_app::scene::{self, Frame, MeshData, Part};
use twin_app::ui;
use twin_app::viewer;
use twin_model::{City, Crs, Layer, Raster};

const W: u32 = 960;
const H: u32 = 540;
/// Pond centre (map) and radius, m.
const POND: [f64; 2] = [twin_citygen::X0 + 1500.0, twin_citygen::Y0 + 1500.0];
const POND_R: f64 = 450.0;

struct Fixture {
    dir: PathBuf,
    city_path: PathBuf,
    run_dir: PathBuf,
    /// The same storm with half the water and only the roads in the pond closed.
    run_b: PathBuf,
    city: City,
}

fn pond_depth(minute: f64, r: f64) -> f32 {
    let peak = match minute {
        m if m <= 0.0 => 0.0,
        m if m <= 20.0 => 0.6 * m / 20.0,
        m => (0.6 - 0.035 * (m - 20.0)).max(0.0),
    };
    if r > POND_R {
        0.0
    } else {
        (peak * (1.0 - 0.3 * r / POND_R)) as f32
    }
}

/// The run folder: the pond's depths × `scale`, the roads closed within `ring` m of it.
fn write_run(city: &City, dir: &Path, scale: f32, ring: f64) {
    let pb = dir.join("playback");
    std::fs::create_dir_all(&pb).unwrap();
    let dem = city.dem.as_ref().unwrap();
    let mut frames = Vec::new();
    for m in [0.0, 10.0, 20.0, 30.0] {
        let mut r = Raster {
            data: vec![0.0; dem.nx * dem.ny],
            nodata: None,
            ..dem.clone()
        };
        for row in 0..r.ny {
            for c in 0..r.nx {
                let [x, y] = r.cell_center(c, row);
                let d = ((x - POND[0]).powi(2) + (y - POND[1]).powi(2)).sqrt();
                r.set(c, row, scale * pond_depth(m, d));
            }
        }
        let name = format!("depth_{:04}.tif", m as i64);
        twin_io::raster::write_geotiff(&r, city.crs, &pb.join(&name)).unwrap();
        frames.push(serde_json::json!({"minute": m, "file": name}));
    }
    // Roads: closed in the pond from minute 15, slow near it, fast elsewhere.
    let mut csv = String::from("begin_min,end_min,feature,speed_kmh,closed,vehicles\n");
    let mut vehicles = Vec::new();
    for f in city.layer(Layer::TrafficRoad).features() {
        let geo::Geometry::LineString(l) = &f.geometry else {
            continue;
        };
        let (a, b) = (l.0[0], l.0[l.0.len() - 1]);
        let mid = [(a.x + b.x) / 2.0, (a.y + b.y) / 2.0];
        let d = ((mid[0] - POND[0]).powi(2) + (mid[1] - POND[1]).powi(2)).sqrt();
        for k in -2..8 {
            let (b0, b1) = (k as f64 * 5.0, (k + 1) as f64 * 5.0);
            // Closed in the pond and in a ring around it (where the water does not hide them).
            let closed = d < POND_R + ring && b0 >= 15.0;
            let speed = if closed {
                String::new()
            } else if d < POND_R + 450.0 && b0 >= 10.0 {
                "10.0".into()
            } else {
                "42.0".into()
            };
            csv.push_str(&format!(
                "{b0},{b1},{},{speed},{},{}\n",
                f.id.0,
                u8::from(closed),
                if closed { 0 } else { 4 }
            ));
        }
        if d > POND_R + 200.0 && vehicles.len() < 400 {
            vehicles.push((
                vehicles.len() as u32,
                (vehicles.len() % 4) as u8,
                mid[0] as f32,
                mid[1] as f32,
            ));
        }
    }
    std::fs::write(pb.join("roads.csv"), csv).unwrap();
    let mut bin = b"TWINVEH1".to_vec();
    bin.extend(60u32.to_le_bytes());
    bin.extend(31u32.to_le_bytes());
    for m in 0..31 {
        bin.extend((m as f32).to_le_bytes());
        bin.extend((vehicles.len() as u32).to_le_bytes());
        for (trip, class, x, y) in &vehicles {
            bin.extend(trip.to_le_bytes());
            bin.extend([*class, 0, 0, 0]);
            bin.extend(x.to_le_bytes());
            bin.extend(y.to_le_bytes());
        }
    }
    std::fs::write(pb.join("vehicles.bin"), bin).unwrap();
    let mut pumps = String::from("minute,pump,flow_m3s\n");
    for m in 1..=30 {
        for p in ["P1", "P2", "P3"] {
            let q = if m > 10 && p != "P3" { 2.5 } else { 0.0 };
            pumps.push_str(&format!("{m},{p},{q:.4}\n"));
        }
    }
    std::fs::write(pb.join("pumps.csv"), pumps).unwrap();
    let mut g = String::from("time_s,gauge,x,y,depth_m,level_m\n");
    for m in 0..=30 {
        for (name, x, y) in [
            ("Điểm ngập Trung tâm", POND[0], POND[1]),
            ("Điểm ngập Rìa", POND[0] + 300.0, POND[1]),
            ("Cảm biến khô", POND[0] + 1200.0, POND[1] + 1200.0),
        ] {
            let d = pond_depth(
                m as f64,
                ((x - POND[0]).powi(2) + (y - POND[1]).powi(2)).sqrt(),
            );
            g.push_str(&format!(
                "{},{name},{x:.2},{y:.2},{d:.4},{:.4}\n",
                m * 60,
                5.0 + d
            ));
        }
    }
    std::fs::write(dir.join("gauges.csv"), g).unwrap();
    std::fs::write(
        dir.join("alerts.json"),
        serde_json::json!({
            "thresholds": {"hotspot_depth_m": 0.3},
            "alerts": [
                {"kind": "hotspot_depth", "subject": "Điểm ngập Trung tâm", "clock_min": 430.0, "value": 0.31, "threshold": 0.3},
                {"kind": "road_closed", "subject": "Phố Tràng Tiền", "clock_min": 435.0, "value": 0.42, "threshold": 0.3},
            ]
        })
        .to_string(),
    )
    .unwrap();
    let index = serde_json::json!({
        "format": "twin-playback", "version": 1, "crs": format!("EPSG:{}", city.crs.epsg),
        "start_clock": "07:00", "minutes": 30.0,
        "depth": {"every_min": 10.0, "frames": frames},
        "roads": "roads.csv", "vehicles": "vehicles.bin", "vehicle_frames": 31, "pumps": "pumps.csv",
    });
    std::fs::write(pb.join("index.json"), index.to_string()).unwrap();
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("app-fixture");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let city = twin_citygen::generate(&twin_citygen::DemoOptions {
            dem_cell_m: 30.0,
            ..Default::default()
        });
        let city_path = dir.join("city.gpkg");
        twin_io::gpkg::write_city(&city, &city_path).unwrap();
        let city = twin_io::gpkg::read_city(&city_path).unwrap();
        assert_eq!(city.crs, Crs::VN2000_UTM48N);
        let run_dir = dir.join("run");
        write_run(&city, &run_dir, 1.0, 200.0);
        let run_b = dir.join("run-b");
        write_run(&city, &run_b, 0.5, 0.0);
        Fixture {
            dir,
            city_path,
            run_dir,
            run_b,
            city,
        }
    })
}

/// Runs `twin-app` with `args` (plus `--city`, the size and `--screenshot`) and returns the
/// image.
fn shot(name: &str, args: &[&str]) -> RgbImage {
    let f = fixture();
    let out = f.dir.join(format!("{name}.png"));
    let t = std::time::Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_twin-app"))
        .args(args)
        .arg("--city")
        .arg(&f.city_path)
        .arg("--screenshot")
        .arg(&out)
        .env("XDG_RUNTIME_DIR", &f.dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{name}: {}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    eprintln!(
        "{name}: {:.1} s -> {}",
        t.elapsed().as_secs_f64(),
        out.display()
    );
    image::open(&out).unwrap().to_rgb8()
}

/// `--hide` for every layer but `keep`.
fn hide_all_but(keep: &[Layer]) -> Vec<&'static str> {
    Layer::ALL
        .iter()
        .filter(|l| !keep.contains(l))
        .flat_map(|l| ["--hide", l.table_name()])
        .collect()
}

/// The app on the fixture city without a run, every layer on (rendered once, for two tests).
fn dry_city() -> &'static RgbImage {
    static IMG: OnceLock<RgbImage> = OnceLock::new();
    IMG.get_or_init(|| shot("app-all", &["app", "--size", &size_arg()]))
}

fn size_arg() -> String {
    format!("{W}x{H}")
}

fn near(p: &image::Rgb<u8>, c: [u8; 3], tol: i32) -> bool {
    (0..3).all(|k| (p[k] as i32 - c[k] as i32).abs() <= tol)
}

/// Pixels of `img` within `tol` of `c` inside `[x0, y0, x1, y1]`.
fn count(img: &RgbImage, c: [u8; 3], tol: i32, r: [f32; 4]) -> usize {
    img.enumerate_pixels()
        .filter(|(x, y, p)| {
            (*x as f32) >= r[0]
                && (*x as f32) < r[2]
                && (*y as f32) >= r[1]
                && (*y as f32) < r[3]
                && near(p, c, tol)
        })
        .count()
}

/// A lit building pixel: a shade of the building colour (same chromaticity in linear light).
fn is_building(p: &image::Rgb<u8>) -> bool {
    let b = colors::linear(colors::BUILDING);
    let l = [0, 1, 2].map(|k| colors::srgb_to_linear(p[k]));
    let s = l[1] / b[1];
    s > 0.25 && (0..3).all(|k| (l[k] - b[k] * s).abs() < 0.02 + 0.06 * b[k] * s)
}

const ALL_VIEW: [f32; 4] = [0.0, 0.0, W as f32, H as f32];

/// The 3D view's rectangle on the screenshot and the camera the app starts with.
struct View {
    rect: [f32; 4],
    frame: Frame,
    cam: OrbitCam,
    terrain: scene::Terrain,
}

impl View {
    fn new(city: &City, mode: viewer::Mode, has_run: bool, top: bool) -> View {
        let rect = viewer::view_rect(mode, W, H, has_run);
        let (terrain, frame, cam) = viewer::layout(
            city,
            (rect[2] - rect[0]) as u32,
            (rect[3] - rect[1]) as u32,
            top,
        );
        View {
            rect,
            frame,
            cam,
            terrain,
        }
    }
    fn size(&self) -> (f32, f32) {
        (self.rect[2] - self.rect[0], self.rect[3] - self.rect[1])
    }
    /// The screenshot pixel of a world point.
    fn project(&self, p: [f32; 3]) -> Option<bevy::math::Vec2> {
        let (w, h) = self.size();
        self.cam
            .project(w, h, bevy::math::Vec3::from(p))
            .map(|q| q + bevy::math::Vec2::new(self.rect[0], self.rect[1]))
    }
    /// The rectangle shrunk by `m` pixels.
    fn inner(&self, m: f32) -> [f32; 4] {
        [
            self.rect[0] + m,
            self.rect[1] + m,
            self.rect[2] - m,
            self.rect[3] - m,
        ]
    }
}

#[test]
fn app_shows_buildings_the_flood_and_coloured_roads() {
    let f = fixture();
    let run = f.run_dir.to_str().unwrap();
    let img = shot(
        "app-run",
        &["app", "--run", run, "--at", "20", "--size", &size_arg()],
    );
    let view = viewer::view_rect(viewer::Mode::App, W, H, true);
    let buildings = img
        .enumerate_pixels()
        .filter(|(x, y, p)| (*x as f32) > view[0] && (*y as f32) < view[3] && is_building(p))
        .count();
    // At minute 20 the pond is 0.42–0.6 m deep: the two deepest classes.
    let deep = count(&img, colors::DEPTH_CLASSES[4].1, 2, view);
    let affects = count(&img, colors::DEPTH_CLASSES[3].1, 2, view);
    let closed = count(&img, RoadClass::Closed.colour(), 2, view);
    let fast = count(&img, RoadClass::Fast.colour(), 2, view);
    let slow = count(&img, RoadClass::Slow.colour(), 2, view);
    eprintln!(
        "buildings {buildings}, depth ≥50 cm {deep}, 30–50 cm {affects}, roads closed {closed}, fast {fast}, slow {slow}"
    );
    assert!(buildings > 5000, "buildings {buildings}");
    assert!(deep > 300 && affects > 300, "flood {deep} {affects}");
    assert!(
        closed > 50 && fast > 200 && slow > 50,
        "roads {closed} {fast} {slow}"
    );
    // Vehicles of every class.
    for c in twin_app::playback::VEHICLE_CLASSES {
        assert!(count(&img, colors::vehicle_colour(c), 2, view) > 3, "{c:?}");
    }
    // Without a run: no flood colours, roads in their base colours.
    let dry = dry_city();
    assert_eq!(count(dry, colors::DEPTH_CLASSES[4].1, 2, ALL_VIEW), 0);
    assert_eq!(count(dry, RoadClass::Closed.colour(), 2, ALL_VIEW), 0);
}

/// Fills the screen pixels whose centres lie in the projected triangles of `m`.
fn raster_mask(m: &MeshData, v: &View, mask: &mut [bool]) {
    let p: Vec<Option<bevy::math::Vec2>> = m.positions.iter().map(|x| v.project(*x)).collect();
    for t in m.indices.chunks(3) {
        let (Some(a), Some(b), Some(d)) = (p[t[0] as usize], p[t[1] as usize], p[t[2] as usize])
        else {
            continue;
        };
        let (x0, x1) = (
            a.x.min(b.x).min(d.x).floor().max(0.0) as i32,
            a.x.max(b.x).max(d.x).ceil().min(W as f32 - 1.0) as i32,
        );
        let (y0, y1) = (
            a.y.min(b.y).min(d.y).floor().max(0.0) as i32,
            a.y.max(b.y).max(d.y).ceil().min(H as f32 - 1.0) as i32,
        );
        let edge = |p: bevy::math::Vec2, q: bevy::math::Vec2, r: bevy::math::Vec2| {
            (q.x - p.x) * (r.y - p.y) - (q.y - p.y) * (r.x - p.x)
        };
        let area = edge(a, b, d);
        if area.abs() < 1e-9 {
            continue;
        }
        for y in y0..=y1 {
            for x in x0..=x1 {
                let q = bevy::math::Vec2::new(x as f32 + 0.5, y as f32 + 0.5);
                let (w0, w1, w2) = (
                    edge(b, d, q) / area,
                    edge(d, a, q) / area,
                    edge(a, b, q) / area,
                );
                if w0 >= 0.0 && w1 >= 0.0 && w2 >= 0.0 {
                    mask[(y as u32 * W + x as u32) as usize] = true;
                }
            }
        }
    }
}

#[test]
fn hiding_a_layer_changes_the_image_only_where_that_layer_is() {
    let f = fixture();
    let all = dry_city();
    let hidden = shot(
        "app-hide-building",
        &["app", "--hide", "building", "--size", &size_arg()],
    );
    let v = View::new(&f.city, viewer::Mode::App, false, false);
    let meshes = scene::city_meshes(&f.city, &v.terrain, &v.frame);
    let mut mask = vec![false; (W * H) as usize];
    raster_mask(&meshes.layers[&(Layer::Building, Part::Lit)], &v, &mut mask);
    // ± 2 pixels for antialiased edges.
    let mut grown = mask.clone();
    for y in 0..H as i32 {
        for x in 0..W as i32 {
            if mask[(y as u32 * W + x as u32) as usize] {
                for dy in -2..=2 {
                    for dx in -2..=2 {
                        let (u, v) = (x + dx, y + dy);
                        if u >= 0 && v >= 0 && u < W as i32 && v < H as i32 {
                            grown[(v as u32 * W + u as u32) as usize] = true;
                        }
                    }
                }
            }
        }
    }
    let (mut changed, mut outside, mut in_panel) = (0, 0, 0);
    for (x, y, p) in all.enumerate_pixels() {
        if p == hidden.get_pixel(x, y) {
            continue;
        }
        if (x as f32) < v.rect[0] {
            // The layer's checkbox in the panel.
            in_panel += 1;
            continue;
        }
        changed += 1;
        if !grown[(y * W + x) as usize] {
            outside += 1;
        }
    }
    eprintln!(
        "changed {changed} pixels in the view ({outside} outside the buildings' footprint), {in_panel} in the panel"
    );
    assert!(changed > 20_000, "{changed}");
    assert!(in_panel > 0, "the checkbox shows the layer off");
    assert_eq!(outside, 0);
}

#[test]
fn the_frame_at_a_minute_shows_that_minutes_depths_not_the_maximum() {
    let f = fixture();
    let run = Run::open(&f.run_dir).unwrap();
    let max = run.max_depth().unwrap();
    let (m, at) = run.depth_at(30.0).unwrap().clone();
    assert_eq!(m, 30.0);
    // Everything but the terrain and the flood (the 3D/4D twin layer) off, seen from above.
    let mut args = vec![
        "app",
        "--top",
        "--run",
        f.run_dir.to_str().unwrap(),
        "--at",
        "30",
    ];
    args.extend(hide_all_but(&[Layer::Twin3d4d]));
    let s = size_arg();
    args.extend(["--size", &s]);
    let img = shot("app-minute-30", &args);
    let v = View::new(&f.city, viewer::Mode::App, true, true);
    let view = v.inner(4.0);
    let (mut sampled, mut right, mut shows_max) = (0, 0, 0);
    for row in 0..at.ny {
        for col in 0..at.nx {
            let (dt, dm) = (at.get(col, row) as f64, max.get(col, row) as f64);
            let (ct, cm) = (colors::depth_class(dt), colors::depth_class(dm));
            if ct.is_none() || ct == cm {
                continue;
            }
            let [x, y] = at.cell_center(col, row);
            let z = v.terrain.height_at(x, y) + 1.6 + dt;
            let Some(px) = v.project(v.frame.world(x, y, z)) else {
                continue;
            };
            if px.x < view[0] || px.x >= view[2] || px.y < view[1] || px.y >= view[3] {
                continue;
            }
            let p = img.get_pixel(px.x as u32, px.y as u32);
            sampled += 1;
            if near(p, colors::depth_colour(dt).unwrap(), 3) {
                right += 1;
            }
            if near(p, colors::depth_colour(dm).unwrap(), 3) {
                shows_max += 1;
            }
        }
    }
    eprintln!(
        "{sampled} cells whose class differs from the maximum's: {right} show minute 30, {shows_max} the maximum"
    );
    assert!(sampled > 50, "{sampled}");
    assert_eq!(shows_max, 0);
    assert!(
        right as f64 >= 0.95 * sampled as f64,
        "{right} of {sampled}"
    );
}

#[test]
fn the_wall_shows_kpi_tiles_the_alert_ticker_and_its_text() {
    let f = fixture();
    let (w, h) = (1920u32, 540u32);
    let img = shot(
        "wall",
        &[
            "wall",
            "--run",
            f.run_dir.to_str().unwrap(),
            "--at",
            "25",
            "--size",
            &format!("{w}x{h}"),
        ],
    );
    let l = ui::wall_layout(w as f32, h as f32);
    for c in ui::TILE_COLOURS {
        let n = count(&img, c, 2, l.tiles);
        assert!(n > 1500, "tile {c:?}: {n} pixels");
        assert_eq!(
            count(&img, c, 0, [0.0, 0.0, l.tiles[0] - 2.0, h as f32]),
            0,
            "tile colour {c:?} outside its column"
        );
    }
    let ticker = count(&img, ui::TICKER_BG, 2, l.ticker);
    let area = ((l.ticker[2] - l.ticker[0]) * (l.ticker[3] - l.ticker[1])) as usize;
    assert!(ticker > area / 2, "ticker {ticker} of {area}");
    // White text on the ticker.
    assert!(count(&img, [255, 255, 255], 40, l.ticker) > 200);

    // The text on the wall at minute 25 (07:25): both alerts raised, the pond's roads closed.
    let run = std::sync::Arc::new(Run::open(&f.run_dir).unwrap());
    let mut feed = kpi::ReplayFeed::new(run.clone(), 25.0, 2.0);
    let s: LiveState = feed.advance(0.0);
    let t = kpi::wall_text(&s, Lang::Vi);
    assert!(t.title.contains("07:25"), "{}", t.title);
    let labels: Vec<&str> = t.tiles.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Độ sâu ngập lớn nhất",
            "Đường bị đóng",
            "Điểm ngập",
            "Tốc độ mạng lưới",
            "Trạm bơm đang chạy"
        ]
    );
    let closed = run.roads_at(25.0).values().filter(|r| r.closed).count();
    assert!(closed > 0);
    assert_eq!(t.tiles[1].1, closed.to_string());
    // The depth frame shown at 25 is minute 20's (frames every 10 minutes).
    let deepest = run
        .depth_at(25.0)
        .unwrap()
        .1
        .data
        .iter()
        .fold(0.0f32, |a, b| a.max(*b));
    assert_eq!(t.tiles[0].1, format!("{deepest:.2} m"));
    // The centre (0.43 m) and the rim (0.34 m) have risen 0.3 m or more, the dry one not.
    assert_eq!(t.tiles[2].1, "2 / 3");
    assert_eq!(t.tiles[4].1, "2 / 3");
    assert!(
        t.ticker.starts_with("07:15 Đường bị đóng: Phố Tràng Tiền"),
        "{}",
        t.ticker
    );
    assert!(
        t.ticker
            .contains("07:10 Điểm ngập vượt ngưỡng: Điểm ngập Trung tâm")
    );
    assert!(t.hotspots[0].starts_with("Điểm ngập Trung tâm"));
    let en = kpi::wall_text(&s, Lang::En);
    assert_eq!(en.tiles[1].0, "Roads closed");
    assert!(en.ticker.contains("Road closed: Phố Tràng Tiền"));
    // Before the first alert the ticker says there is none; the feed replays on.
    feed.seek(5.0);
    let early = kpi::wall_text(&feed.advance(0.0), Lang::Vi);
    assert_eq!(early.ticker, "Chưa có cảnh báo");
    let later = feed.advance(5.0);
    assert_eq!(later.kpis.minute, 15.0);
}

#[test]
fn vietnamese_layer_names_keep_their_diacritics() {
    let mut text = String::new();
    for l in Layer::ALL {
        text.push_str(l.name_vi());
        text.push_str(l.default_owner().name_vi());
    }
    assert!(text.contains("Cây xanh & Công viên") && text.contains("Sở Nông nghiệp và Môi trường"));
    for font in [twin_app::fonts::REGULAR, twin_app::fonts::BOLD] {
        assert!(twin_app::fonts::missing_glyphs(font, &text).is_empty());
        assert!(
            twin_app::fonts::missing_glyphs(font, &twin_app::fonts::vietnamese_letters())
                .is_empty()
        );
    }
    // The fonts and their licence ship in assets/fonts.
    let fonts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/fonts");
    assert!(
        std::fs::read_to_string(fonts.join("LICENSE-DejaVu.txt"))
            .unwrap()
            .contains("Bitstream")
    );
}

#[test]
fn a_click_on_a_known_road_opens_the_inspector_with_its_name() {
    let f = fixture();
    let v = View::new(&f.city, viewer::Mode::App, true, true);
    // Roads only: a named road whose middle picks that road (no signal or stop within reach).
    let mut visible = [false; 11];
    visible[Layer::TrafficRoad.index()] = true;
    let tol = 6.0 * v.cam.metres_per_pixel(v.size().1) as f64;
    // Clear of the view's edges and of the inspector's window at its top right.
    let mut view = v.inner(20.0);
    view[2] -= ui::APP_RIGHT_W;
    let (road, px) = f
        .city
        .layer(Layer::TrafficRoad)
        .features()
        .iter()
        .filter(|r| r.kind == "road" && r.name.is_some())
        .find_map(|r| {
            let geo::Geometry::LineString(l) = &r.geometry else {
                return None;
            };
            let (a, b) = (l.0[0], l.0[1]);
            let (x, y) = ((a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
            let px = v.project(v.frame.world(x, y, v.terrain.height_at(x, y)))?;
            let inside = px.x > view[0] && px.x < view[2] && px.y > view[1] && px.y < view[3];
            let k = twin_app::pick::pick(&f.city, x, y, tol, &visible)?;
            (inside && k.id == r.id).then_some((r, px))
        })
        .expect("a road to click");
    let name = road.name.clone().unwrap();
    let state = f.dir.join("click.json");
    let mut args = vec![
        "app",
        "--top",
        "--run",
        f.run_dir.to_str().unwrap(),
        "--at",
        "20",
    ];
    let click = format!("{},{}", px.x, px.y);
    args.extend(hide_all_but(&[Layer::TrafficRoad, Layer::Twin3d4d]));
    let s = size_arg();
    args.extend([
        "--click",
        &click,
        "--state-out",
        state.to_str().unwrap(),
        "--size",
        &s,
    ]);
    let img = shot("app-click", &args);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let i = &v["inspector"];
    assert_eq!(i["name"], name.as_str(), "{v}");
    assert_eq!(i["layer"], "traffic_road");
    assert_eq!(i["id"], road.id.0);
    assert_eq!(i["layer_name"], "Giao thông – Đường bộ");
    assert_eq!(i["owner"], "Sở Xây dựng");
    assert_eq!(i["road_intervals"], 10);
    // The inspector panel is drawn: the right-hand column differs from the 3D view's colours.
    let panel = [
        W as f32 - ui::APP_RIGHT_W + 20.0,
        20.0,
        W as f32 - 20.0,
        60.0,
    ];
    let dark = count(&img, [27, 27, 27], 12, panel);
    assert!(dark > 500, "inspector panel {dark}");
}

#[test]
fn bevy_egui_and_winit_are_dependencies_of_the_app_only_and_nothing_depends_on_it() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for e in std::fs::read_dir(&crates).unwrap() {
        let dir = e.unwrap().path();
        let Ok(toml) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        checked += 1;
        let uses = toml.lines().any(|l| {
            let l = l.trim_start();
            ["bevy", "egui", "winit", "twin-app"]
                .iter()
                .any(|d| l.starts_with(d))
        });
        assert_eq!(uses, dir.ends_with("app"), "{}", dir.display());
    }
    assert!(checked >= 12, "{checked}");
}

#[test]
fn comparing_two_runs_shows_the_water_b_less_a_and_the_roads_closed_in_one_only() {
    use twin_app::compare::{self, DIFF_COLOURS, RoadDiff};
    let f = fixture();
    let (a, b) = (Run::open(&f.run_dir).unwrap(), Run::open(&f.run_b).unwrap());
    let diff = compare::depth_difference(&a, &b, 20.0).unwrap();
    // B holds half of A's water: 21–30 cm less over the pond.
    let lo = diff.data.iter().fold(0.0f32, |m, v| m.min(*v));
    assert!((lo + 0.30).abs() < 0.01, "{lo}");
    let s = compare::side_by_side(&a, &b, 20.0);
    assert!(s.closed_only.0 > 0 && s.closed_only.1 == 0, "{s:?}");
    let mut args = vec![
        "app",
        "--top",
        "--run",
        f.run_b.to_str().unwrap(),
        "--compare",
        f.run_dir.to_str().unwrap(),
        "--at",
        "20",
    ];
    args.extend(hide_all_but(&[Layer::Twin3d4d, Layer::TrafficRoad]));
    let size = size_arg();
    args.extend(["--size", &size]);
    let img = shot("app-compare", &args);
    let v = View::new(&f.city, viewer::Mode::App, true, true);
    let view = v.inner(4.0);
    let (mut sampled, mut right) = (0, 0);
    for row in 0..diff.ny {
        for col in 0..diff.nx {
            let d = diff.get(col, row) as f64;
            let Some(k) = compare::diff_class(d) else {
                continue;
            };
            let [x, y] = diff.cell_center(col, row);
            let z = v.terrain.height_at(x, y) + 1.6 + d.abs();
            let Some(px) = v.project(v.frame.world(x, y, z)) else {
                continue;
            };
            if px.x < view[0] || px.x >= view[2] || px.y < view[1] || px.y >= view[3] {
                continue;
            }
            sampled += 1;
            if near(img.get_pixel(px.x as u32, px.y as u32), DIFF_COLOURS[k], 3) {
                right += 1;
            }
        }
    }
    eprintln!("{sampled} cells differ by 5 cm or more: {right} in their difference class");
    assert!(sampled > 50, "{sampled}");
    assert!(
        right as f64 >= 0.95 * sampled as f64,
        "{right} of {sampled}"
    );
    // No depth-class colour (the water of one run) and no water B holds more of.
    let all = [0.0, 0.0, W as f32, H as f32];
    for c in [DIFF_COLOURS[2], DIFF_COLOURS[3]] {
        assert_eq!(count(&img, c, 3, view), 0, "{c:?}");
    }
    for (_, c) in colors::DEPTH_CLASSES {
        assert!(
            count(&img, c, 2, view) < 20,
            "{c:?}: {}",
            count(&img, c, 2, view)
        );
    }
    // The ring of roads A closed and B does not, in A-only orange; none closed in B only.
    let only_a = count(&img, RoadDiff::OnlyA.colour(), 3, view);
    assert!(only_a > 30, "{only_a}");
    assert_eq!(count(&img, RoadDiff::OnlyB.colour(), 3, view), 0);
    // The legend says what the colours are.
    assert!(count(&img, DIFF_COLOURS[0], 3, all) > count(&img, DIFF_COLOURS[0], 3, view));
}

/// `twin` as the workspace build made it (beside this test's folder); `None` in a run of this
/// crate alone, a failure under CI.
fn twin_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let twin = exe.parent()?.parent()?.join("twin");
    if twin.is_file() {
        return Some(twin);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is not built (cargo build -p twin-cli)",
        twin.display()
    );
    eprintln!("SKIP: {} is not built", twin.display());
    None
}

/// Runs a plan as the what-if panel's Run does, and waits for it.
fn run_plan(twin: &Path, plan: &twin_app::plan::Plan, dir: &Path) -> PathBuf {
    use twin_app::plan::{Job, JobState};
    let mut job = Job::start(twin, plan, &fixture().city_path, dir).unwrap();
    let t0 = std::time::Instant::now();
    loop {
        match job.poll() {
            JobState::Done(out) => return out,
            JobState::Failed(e) => panic!("the plan's run failed: {e}"),
            JobState::Running(..) => {
                assert!(
                    t0.elapsed().as_secs() < 900,
                    "the plan's run takes too long"
                );
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
    }
}

/// Vehicles that entered each road over 06:00–09:00 (run minutes 0–180, the rain at 06:00).
fn vehicles_by_road(run: &Path) -> std::collections::BTreeMap<i64, u64> {
    let text = std::fs::read_to_string(run.join("playback/roads.csv")).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let end: f64 = f[1].parse().unwrap();
        if (0.0..=180.0).contains(&end) {
            *out.entry(f[2].parse::<i64>().unwrap()).or_insert(0) += f[5].parse::<u64>().unwrap();
        }
    }
    out
}

/// The planner's what-if as the panel runs it, with the real `twin scenario run`: the busiest
/// road of a first run, closed in the plan from 06:00 to 09:00, carries no vehicle in the
/// second run while the rest of the network still does.
#[test]
fn a_road_closed_in_the_what_if_carries_no_vehicle_in_its_run() {
    let Some(twin) = twin_bin() else { return };
    let dir = fixture().dir.join("plans");
    let mut plan = twin_app::plan::Plan {
        depth_mm: 20.0,
        duration_min: 30.0,
        rain_start: "06:00".into(),
        trips: 3_000,
        ..Default::default()
    };
    let open = vehicles_by_road(&run_plan(&twin, &plan, &dir.join("open")));
    let (&road, &busiest) = open.iter().max_by_key(|(_, n)| **n).unwrap();
    assert!(busiest > 20, "the busiest road carries {busiest} vehicles");
    plan.closures.push(twin_app::plan::Closure {
        road: format!("id:{road}"),
        label: format!("road {road}"),
        from: "06:00".into(),
        to: "09:00".into(),
    });
    let closed = vehicles_by_road(&run_plan(&twin, &plan, &dir.join("closed")));
    assert_eq!(closed.get(&road).copied().unwrap_or(0), 0, "road {road}");
    let others: u64 = closed.values().sum();
    println!("road {road}: {busiest} vehicles open, none closed; {others} on the others");
    assert!(others > 1000, "{others} vehicles on the other roads");
}
