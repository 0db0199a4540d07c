//! The bevy app: the 3D city, the camera, playback, picking and the screenshot mode. The
//! panels are in [`crate::ui`].

use crate::camera::{OrbitCam, ground_hit};
use crate::colors;
use crate::i18n::Lang;
use crate::kpi::{Feed, LiveState, ReplayFeed};
use crate::pick::{self, Inspection};
use crate::playback::{Run, step_at};
use crate::scene::{self, CityMeshes, Frame, MeshData, Part, Terrain};
use anyhow::{Context, Result};
use bevy::app::ScheduleRunnerPlugin;
use bevy::asset::RenderAssetUsages;
use bevy::camera::visibility::RenderLayers;
use bevy::camera::{CameraOutputMode, ClearColorConfig, RenderTarget, Viewport};
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use bevy::render::render_resource::BlendState;
use bevy::render::render_resource::{Face, TextureFormat};
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::{ExitCondition, PrimaryWindow, WindowResolution};
use bevy::winit::WinitPlugin;
use bevy_egui::input::EguiWantsInput;
use bevy_egui::{EguiGlobalSettings, EguiPlugin, EguiPrimaryContextPass, PrimaryEguiContext};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use twin_model::{City, FeatureKey, Layer};

/// Which screen to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The desk app: layers, playback, inspector, search.
    App,
    /// The video wall: KPI tiles, ticker, hotspots, a camera tour; no editing.
    Wall,
}

/// What to show and how (the command line).
#[derive(Debug, Clone)]
pub struct Options {
    /// App or wall.
    pub mode: Mode,
    /// The city GeoPackage.
    pub city: PathBuf,
    /// A scenario output folder holding `playback/`.
    pub run: Option<PathBuf>,
    /// Render one settled frame into this PNG with no window, then exit.
    pub screenshot: Option<PathBuf>,
    /// Measure frames with no window (`--bench`): the JSON written and the frames per phase.
    pub bench: Option<(PathBuf, u32)>,
    /// Multisampling of the 3D view: samples per pixel (1 = off, 2, 4, 8).
    pub msaa: u32,
    /// The minute to show (default: the deepest depth frame).
    pub at: Option<f64>,
    /// Layers switched off.
    pub hide: Vec<Layer>,
    /// Interface language.
    pub lang: Lang,
    /// Image or window size, pixels.
    pub size: (u32, u32),
    /// Look straight down instead of from the south.
    pub top: bool,
    /// A click at this pixel once the scene is up (as a user's left click).
    pub click: Option<(f32, f32)>,
    /// Write the inspector's content and the KPIs as JSON here on exit.
    pub state_out: Option<PathBuf>,
    /// The wall follows this `twin serve`, with this token.
    pub server: Option<(crate::live::Server, String)>,
    /// Minutes east of UTC of a live feed's clock.
    pub utc_offset_min: i32,
    /// A second run to compare with (A; `run` is B).
    pub compare: Option<PathBuf>,
    /// Where the what-if panel's runs go.
    pub plans_dir: PathBuf,
    /// Start with the what-if panel open.
    pub what_if: bool,
    /// Gauge records (list, daily totals) whose days the what-if panel offers.
    pub rain_records: Option<(PathBuf, PathBuf)>,
}

/// The city and how it is laid out in the world.
#[derive(Resource)]
pub struct CityRes {
    /// The city.
    pub city: City,
    /// The ground.
    pub terrain: Terrain,
    /// Map → world.
    pub frame: Frame,
    /// Map → WGS 84 (lon, lat) by interpolation in a grid reprojected once.
    pub wgs: WgsGrid,
}

/// The run replayed, if any.
#[derive(Resource, Clone, Default)]
pub struct RunRes(pub Option<Arc<Run>>);

/// The run compared with (A), if any; [`RunRes`] is B.
#[derive(Resource, Clone, Default)]
pub struct CompareRes(pub Option<Arc<Run>>);

/// The what-if run in progress, if any.
#[derive(Resource, Default)]
pub struct PlanJob(pub Mutex<Option<crate::plan::Job>>);

/// The wall's feed.
#[derive(Resource)]
pub struct FeedRes(pub Mutex<Box<dyn Feed>>);

/// Everything the panels show and change.
#[derive(Resource)]
pub struct ViewState {
    /// App or wall.
    pub mode: Mode,
    /// Interface language.
    pub lang: Lang,
    /// Layer shown, by index.
    pub visible: [bool; 11],
    /// Layer opacity, by index.
    pub opacity: [f32; 11],
    /// Minute shown.
    pub minute: f64,
    /// Playback running.
    pub playing: bool,
    /// Run minutes per second.
    pub speed: f64,
    /// The inspector's content.
    pub inspector: Option<Inspection>,
    /// The search box.
    pub search: String,
    /// Cursor on the ground: map (x, y) and WGS 84 (lon, lat).
    pub cursor: Option<([f64; 2], [f64; 2])>,
    /// The wall's state.
    pub live: Option<LiveState>,
    /// The camera flies here.
    pub fly_to: Option<OrbitCam>,
    /// A screenshot run: no input, no clock.
    pub still: bool,
    /// With a run to compare: show the difference B − A (else B).
    pub diff: bool,
    /// The planner's what-if.
    pub plan: crate::plan::Plan,
    /// The what-if panel starts open.
    pub what_if_open: bool,
    /// Historical days the what-if panel offers (`--gauges` and `--daily`).
    pub history: Option<crate::plan::History>,
    /// Asked to run the what-if (the panel's button).
    pub plan_start: bool,
    /// Asked to stop it.
    pub plan_cancel: bool,
    /// The what-if run's stage and fraction while it runs.
    pub plan_progress: Option<(String, f64)>,
    /// The last message of the what-if panel.
    pub plan_status: Option<String>,
    /// Where the report is exported.
    pub export_to: String,
}

/// The camera's state.
#[derive(Resource, Clone, Copy)]
pub struct Cam(pub OrbitCam);

/// A layer's entity.
#[derive(Component)]
pub struct LayerPart(pub Layer, pub Part);

/// The flood surface's entity.
#[derive(Component)]
pub struct FloodSurface;

/// The vehicles' parent entity (the traffic layer's visibility).
#[derive(Component)]
pub struct Vehicles;

/// One vehicle's marker.
#[derive(Component)]
pub struct VehicleMarker;

/// The vehicle markers: one mesh per class, every marker of a class an instance of it with the
/// one material, so the renderer draws each class's markers as one instanced batch. Markers
/// are kept and moved from frame to frame; those not needed are hidden.
#[derive(Resource)]
pub struct VehiclePool {
    parent: Entity,
    meshes: [Handle<Mesh>; 4],
    material: Handle<StandardMaterial>,
    markers: [Vec<Entity>; 4],
    shown: [usize; 4],
}

impl VehiclePool {
    /// Places the markers of `v`: moves the pool's markers, spawns what is missing, hides the
    /// rest.
    fn place(
        &mut self,
        commands: &mut Commands,
        q: &mut Query<(&mut Transform, &mut Visibility), With<VehicleMarker>>,
        v: &[crate::playback::Vehicle],
        city: &CityRes,
    ) {
        let mut n = [0usize; 4];
        for v in v {
            let c = crate::playback::VEHICLE_CLASSES
                .iter()
                .position(|k| *k == v.class)
                .unwrap_or(0);
            let (p, s) = scene::vehicle_transform(v, &city.terrain, &city.frame);
            let t = Transform::from_translation(Vec3::from(p)).with_scale(Vec3::from(s));
            match self.markers[c].get(n[c]) {
                Some(e) => {
                    if let Ok((mut tr, mut vis)) = q.get_mut(*e) {
                        *tr = t;
                        if *vis != Visibility::Inherited {
                            *vis = Visibility::Inherited;
                        }
                    }
                }
                None => {
                    let e = commands
                        .spawn((
                            Mesh3d(self.meshes[c].clone()),
                            MeshMaterial3d(self.material.clone()),
                            t,
                            Visibility::Inherited,
                            VehicleMarker,
                            ChildOf(self.parent),
                        ))
                        .id();
                    self.markers[c].push(e);
                }
            }
            n[c] += 1;
        }
        for (c, markers) in self.markers.iter().enumerate() {
            for e in &markers[n[c]..self.shown[c].max(n[c])] {
                if let Ok((_, mut vis)) = q.get_mut(*e) {
                    *vis = Visibility::Hidden;
                }
            }
        }
        self.shown = n;
    }

    /// Markers shown.
    pub fn shown(&self) -> usize {
        self.shown.iter().sum()
    }

    /// Triangles of the markers shown.
    pub fn marker_triangles(&self, meshes: &Assets<Mesh>) -> usize {
        let per = |c: usize| match meshes.get(&self.meshes[c]).and_then(|m| m.indices()) {
            Some(i) => i.len() / 3,
            None => 0,
        };
        (0..4).map(|c| self.shown[c] * per(c)).sum()
    }

    /// Classes with a marker shown (one instanced batch each).
    pub fn batches(&self) -> usize {
        self.shown.iter().filter(|n| **n > 0).count()
    }
}

/// The meshes kept for recolouring, and what is shown of the run.
#[derive(Resource)]
pub struct Shown {
    meshes: CityMeshes,
    depth_frame: Option<(bool, Option<usize>, Option<usize>)>,
    road_interval: Option<i64>,
    vehicle_frame: Option<usize>,
    pump_minute: Option<i64>,
    live_depth: Option<u64>,
    materials: Vec<(Layer, Part, Handle<StandardMaterial>)>,
}

/// Map → WGS 84 by bilinear interpolation in a 9 × 9 grid over the city (exact at the grid
/// points; the projection is smooth enough over a city that this is sub-millimetre).
#[derive(Debug, Clone)]
pub struct WgsGrid {
    bbox: [[f64; 2]; 2],
    lonlat: Vec<[f64; 2]>,
}

impl WgsGrid {
    const N: usize = 9;

    /// Reprojects the grid's points with GDAL; `None` when the CRS is unknown.
    pub fn new(city: &City, bbox: [[f64; 2]; 2]) -> Option<WgsGrid> {
        let rp = twin_io::crs::Reprojector::new(city.crs, twin_model::Crs::WGS84, "city").ok()?;
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for j in 0..Self::N {
            for i in 0..Self::N {
                let (tx, ty) = (
                    i as f64 / (Self::N - 1) as f64,
                    j as f64 / (Self::N - 1) as f64,
                );
                xs.push(bbox[0][0] + tx * (bbox[1][0] - bbox[0][0]));
                ys.push(bbox[0][1] + ty * (bbox[1][1] - bbox[0][1]));
            }
        }
        rp.transform(&mut xs, &mut ys).ok()?;
        Some(WgsGrid {
            bbox,
            lonlat: xs.into_iter().zip(ys).map(|(x, y)| [x, y]).collect(),
        })
    }

    /// (lon, lat) of a map point.
    pub fn lonlat(&self, x: f64, y: f64) -> [f64; 2] {
        let n = Self::N - 1;
        let fx = ((x - self.bbox[0][0]) / (self.bbox[1][0] - self.bbox[0][0]) * n as f64)
            .clamp(0.0, n as f64);
        let fy = ((y - self.bbox[0][1]) / (self.bbox[1][1] - self.bbox[0][1]) * n as f64)
            .clamp(0.0, n as f64);
        let (i, j) = ((fx as usize).min(n - 1), (fy as usize).min(n - 1));
        let (tx, ty) = (fx - i as f64, fy - j as f64);
        let g = |i: usize, j: usize| self.lonlat[j * Self::N + i];
        let mut out = [0.0; 2];
        for (k, o) in out.iter_mut().enumerate() {
            let a = g(i, j)[k] * (1.0 - tx) + g(i + 1, j)[k] * tx;
            let b = g(i, j + 1)[k] * (1.0 - tx) + g(i + 1, j + 1)[k] * tx;
            *o = a * (1.0 - ty) + b * ty;
        }
        out
    }
}

/// The extent drawn: the DEM's, else the features'.
pub fn city_extent(city: &City) -> [[f64; 2]; 2] {
    city.dem
        .as_ref()
        .map(|d| d.bbox())
        .or_else(|| city.bbox())
        .unwrap_or([[0.0, 0.0], [1000.0, 1000.0]])
}

/// Where the 3D view lies on a `w` × `h` screen, pixels `[x0, y0, x1, y1]`: beside the app's
/// layer panel and above its timeline (with a run), or between the wall's title, tiles and
/// ticker.
pub fn view_rect(mode: Mode, w: u32, h: u32, has_run: bool) -> [f32; 4] {
    let (w, h) = (w as f32, h as f32);
    match mode {
        Mode::App => [
            crate::ui::APP_LEFT_W.min(w / 2.0),
            0.0,
            w,
            if has_run {
                h - crate::ui::APP_BOTTOM_H.min(h / 2.0)
            } else {
                h
            },
        ],
        Mode::Wall => {
            let l = crate::ui::wall_layout(w, h);
            [0.0, l.title[3], l.tiles[0], l.ticker[1]]
        }
    }
}

/// The terrain, frame and first camera of a city for a `w` × `h` view (what the app starts
/// with; tests project with the same).
pub fn layout(city: &City, w: u32, h: u32, top: bool) -> (Terrain, Frame, OrbitCam) {
    let bb = city_extent(city);
    let terrain = Terrain::new(city.dem.as_ref(), bb);
    let frame = Frame {
        cx: (bb[0][0] + bb[1][0]) / 2.0,
        cy: (bb[0][1] + bb[1][1]) / 2.0,
        z0: terrain.min(),
    };
    let (sx, sy) = ((bb[1][0] - bb[0][0]) as f32, (bb[1][1] - bb[0][1]) as f32);
    let aspect = w as f32 / h as f32;
    // Fit the width too on narrow views, the depth on wide ones.
    let span = sy.max(sx / aspect);
    let mut cam = OrbitCam::overview(Vec3::ZERO, span * 0.75, span * 0.75, top);
    if !top {
        cam.focus.z = span * 0.08;
    }
    (terrain, frame, cam)
}

/// The minute shown first: `--at`, else the deepest depth frame's.
pub fn first_minute(run: Option<&Run>, at: Option<f64>) -> f64 {
    if let Some(a) = at {
        return a;
    }
    let Some(run) = run else { return 0.0 };
    run.depth
        .iter()
        .map(|(m, r)| (m, r.data.iter().fold(0.0f32, |a, b| a.max(*b))))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0.0, |(m, _)| *m)
}

/// Builds and runs the app.
pub fn run(opts: Options) -> Result<()> {
    let city = twin_io::gpkg::read_city(&opts.city).with_context(|| {
        format!(
            "không đọc được thành phố / cannot read the city {}",
            opts.city.display()
        )
    })?;
    let open = |d: &PathBuf| {
        Run::open(d).map(Arc::new).with_context(|| {
            format!(
                "không mở được kết quả chạy / cannot open the run {}",
                d.display()
            )
        })
    };
    let run = opts.run.as_ref().map(open).transpose()?;
    let compare = opts.compare.as_ref().map(open).transpose()?;
    // Bad records are refused here, naming the file and line, before a window opens.
    let history = opts
        .rain_records
        .as_ref()
        .map(|(g, d)| crate::plan::History::read(g, d, 12))
        .transpose()?;
    let (w, h) = opts.size;
    let v = view_rect(opts.mode, w, h, run.is_some());
    let (terrain, frame, cam) = layout(&city, (v[2] - v[0]) as u32, (v[3] - v[1]) as u32, opts.top);
    let bb = city_extent(&city);
    let wgs = WgsGrid::new(&city, bb).unwrap_or(WgsGrid {
        bbox: bb,
        lonlat: vec![[f64::NAN; 2]; WgsGrid::N * WgsGrid::N],
    });
    let minute = first_minute(run.as_deref(), opts.at);
    let mut visible = [true; 11];
    for l in &opts.hide {
        visible[l.index()] = false;
    }
    let still = opts.screenshot.is_some() || opts.bench.is_some();
    let mut app = App::new();
    let render = bevy::render::RenderPlugin {
        synchronous_pipeline_compilation: true,
        ..default()
    };
    if still {
        app.add_plugins((
            DefaultPlugins
                .set(WindowPlugin {
                    primary_window: None,
                    exit_condition: ExitCondition::DontExit,
                    ..default()
                })
                .set(render)
                .disable::<WinitPlugin>(),
            ScheduleRunnerPlugin::run_loop(Duration::from_millis(1)),
        ));
    } else {
        let title = match opts.mode {
            Mode::App => "Bản sao số Hà Nội / Hanoi digital twin",
            Mode::Wall => "Tường màn hình / Video wall — Hanoi digital twin",
        };
        app.add_plugins(DefaultPlugins.set(render).set(WindowPlugin {
            primary_window: Some(Window {
                title: title.into(),
                resolution: WindowResolution::new(w, h),
                mode: if opts.mode == Mode::Wall {
                    bevy::window::WindowMode::BorderlessFullscreen(MonitorSelection::Primary)
                } else {
                    bevy::window::WindowMode::Windowed
                },
                ..default()
            }),
            ..default()
        }));
    }
    app.add_plugins(EguiPlugin::default())
        .insert_resource(EguiGlobalSettings {
            auto_create_primary_context: false,
            ..default()
        });
    if let (Mode::Wall, Some(r)) = (opts.mode, &run) {
        app.insert_resource(FeedRes(Mutex::new(Box::new(ReplayFeed::new(
            r.clone(),
            minute,
            2.0,
        )))));
    }
    if let (Mode::Wall, Some((server, token))) = (opts.mode, &opts.server) {
        app.insert_resource(FeedRes(Mutex::new(Box::new(
            crate::live::ServerFeed::start(server.clone(), token.clone(), opts.utc_offset_min),
        ))));
    }
    app.insert_resource(ClearColor(Color::srgb(0.08, 0.09, 0.12)))
        .insert_resource(GlobalAmbientLight {
            color: Color::WHITE,
            brightness: 250.0,
            affects_lightmapped_meshes: true,
        })
        .insert_resource(CityRes {
            city,
            terrain,
            frame,
            wgs,
        })
        .insert_resource(RunRes(run))
        .insert_resource(CompareRes(compare.clone()))
        .insert_resource(PlanJob::default())
        .insert_resource(Cam(cam))
        .insert_resource(ViewState {
            mode: opts.mode,
            lang: opts.lang,
            visible,
            opacity: [1.0; 11],
            minute,
            playing: !still && opts.mode == Mode::Wall,
            speed: 2.0,
            inspector: None,
            search: String::new(),
            cursor: None,
            live: None,
            fly_to: None,
            still,
            diff: compare.is_some(),
            plan: crate::plan::Plan::default(),
            what_if_open: opts.what_if,
            history,
            plan_start: false,
            plan_cancel: false,
            plan_progress: None,
            plan_status: None,
            export_to: "report.html".into(),
        })
        .insert_resource(Opts(opts))
        .add_systems(Startup, setup)
        .add_systems(
            Update,
            (
                (fit_viewport, camera_input, wall_tour, fly).chain(),
                apply_camera,
                clock,
                plan_runner,
                (show_frames, show_roads, show_pumps),
                layer_visibility,
                (cursor_and_click, synthetic_click),
                still_driver,
                crate::bench::bench_driver,
            )
                .chain(),
        )
        .add_systems(EguiPrimaryContextPass, crate::ui::ui);
    let code = app.run();
    match code {
        AppExit::Success => Ok(()),
        AppExit::Error(c) => anyhow::bail!("twin-app exited with code {c}"),
    }
}

/// The command line, for the systems.
#[derive(Resource)]
pub struct Opts(pub Options);

fn to_mesh(m: &MeshData) -> Mesh {
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::default(),
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, m.positions.clone())
    .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, m.normals.clone())
    .with_inserted_attribute(Mesh::ATTRIBUTE_COLOR, m.colors.clone())
    .with_inserted_indices(Indices::U32(m.indices.clone()))
}

fn material(part: Part, alpha: f32) -> StandardMaterial {
    StandardMaterial {
        base_color: Color::WHITE.with_alpha(alpha),
        unlit: part == Part::Flat,
        cull_mode: None::<Face>,
        perceptual_roughness: 0.95,
        reflectance: 0.1,
        alpha_mode: if alpha < 0.999 {
            AlphaMode::Blend
        } else {
            AlphaMode::Opaque
        },
        ..default()
    }
}

#[allow(clippy::too_many_arguments)]
fn setup(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut images: ResMut<Assets<Image>>,
    city: Res<CityRes>,
    opts: Res<Opts>,
    cam: Res<Cam>,
    run: Res<RunRes>,
) {
    let (w, h) = opts.0.size;
    // The 3D view in its viewport; egui on a second camera over the whole target.
    let mut camera = commands.spawn((
        Camera3d::default(),
        Camera {
            viewport: Some(viewport(opts.0.mode, w, h, run.0.is_some())),
            ..default()
        },
        Tonemapping::None,
        Transform::from_translation(cam.0.eye()).looking_at(cam.0.focus, Vec3::Y),
    ));
    let target = (opts.0.screenshot.is_some() || opts.0.bench.is_some()).then(|| {
        images.add(Image::new_target_texture(
            w,
            h,
            TextureFormat::Rgba8UnormSrgb,
            None,
        ))
    });
    if let Some(t) = &target {
        camera.insert(RenderTarget::Image(t.clone().into()));
    }
    camera.insert(match opts.0.msaa {
        1 => Msaa::Off,
        2 => Msaa::Sample2,
        8 => Msaa::Sample8,
        _ => Msaa::Sample4,
    });
    let mut ui_camera = commands.spawn((
        PrimaryEguiContext,
        Camera2d,
        RenderLayers::none(),
        Tonemapping::None,
        Camera {
            order: 1,
            output_mode: CameraOutputMode::Write {
                blend_state: Some(BlendState::ALPHA_BLENDING),
                clear_color: ClearColorConfig::None,
            },
            clear_color: ClearColorConfig::Custom(Color::NONE),
            ..default()
        },
    ));
    if let Some(t) = target {
        ui_camera.insert(RenderTarget::Image(t.clone().into()));
        commands.insert_resource(ShotTarget(t));
    }
    commands.spawn((
        DirectionalLight {
            illuminance: 2500.0,
            shadow_maps_enabled: false,
            ..default()
        },
        Transform::from_xyz(-0.5, 1.0, 0.7).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    // Terrain: part of the 3D/4D twin layer (terrain tiles).
    let ground = city.terrain.mesh(&city.frame);
    let mut all = scene::city_meshes(&city.city, &city.terrain, &city.frame);
    all.layers
        .entry((Layer::Twin3d4d, Part::Lit))
        .or_default()
        .append(&ground);
    let mut handles = Vec::new();
    for ((layer, part), m) in &all.layers {
        let mat = materials.add(material(*part, 1.0));
        handles.push((*layer, *part, mat.clone()));
        commands.spawn((
            Mesh3d(meshes.add(to_mesh(m))),
            MeshMaterial3d(mat),
            LayerPart(*layer, *part),
        ));
    }
    // The flood belongs to the 4D twin; vehicles to traffic.
    let flood_mat = materials.add(material(Part::Flat, 1.0));
    handles.push((Layer::Twin3d4d, Part::Flat, flood_mat.clone()));
    commands.spawn((
        Mesh3d(meshes.add(to_mesh(&MeshData::default()))),
        MeshMaterial3d(flood_mat),
        LayerPart(Layer::Twin3d4d, Part::Flat),
        FloodSurface,
    ));
    // Vehicles: instances of one marker mesh per class under a parent that carries the
    // traffic layer's visibility.
    let veh_mat = materials.add(material(Part::Flat, 1.0));
    handles.push((Layer::TrafficRoad, Part::Flat, veh_mat.clone()));
    let parent = commands
        .spawn((
            Transform::default(),
            Visibility::default(),
            LayerPart(Layer::TrafficRoad, Part::Flat),
            Vehicles,
        ))
        .id();
    commands.insert_resource(VehiclePool {
        parent,
        meshes: crate::playback::VEHICLE_CLASSES
            .map(|c| meshes.add(to_mesh(&scene::vehicle_marker(c)))),
        material: veh_mat,
        markers: Default::default(),
        shown: [0; 4],
    });
    commands.insert_resource(Shown {
        meshes: all,
        depth_frame: None,
        road_interval: None,
        vehicle_frame: None,
        pump_minute: None,
        live_depth: None,
        materials: handles,
    });
}

/// The 3D camera's viewport on a `w` × `h` target.
fn viewport(mode: Mode, w: u32, h: u32, has_run: bool) -> Viewport {
    let v = view_rect(mode, w, h, has_run);
    Viewport {
        physical_position: UVec2::new(v[0] as u32, v[1] as u32),
        physical_size: UVec2::new(((v[2] - v[0]) as u32).max(1), ((v[3] - v[1]) as u32).max(1)),
        ..default()
    }
}

/// Keeps the 3D viewport beside the panels when the window changes size.
fn fit_viewport(
    view: Res<ViewState>,
    run: Res<RunRes>,
    windows: Query<&Window, With<PrimaryWindow>>,
    mut cams: Query<&mut Camera, With<Camera3d>>,
) {
    let Ok(win) = windows.single() else { return };
    let (w, h) = (win.physical_width(), win.physical_height());
    let zoom = win.scale_factor();
    let v = viewport(
        view.mode,
        (w as f32 / zoom) as u32,
        (h as f32 / zoom) as u32,
        run.0.is_some(),
    );
    let scaled = Viewport {
        physical_position: (v.physical_position.as_vec2() * zoom).as_uvec2(),
        physical_size: (v.physical_size.as_vec2() * zoom)
            .as_uvec2()
            .min(UVec2::new(w, h))
            .max(UVec2::ONE),
        ..default()
    };
    for mut c in &mut cams {
        if c.viewport
            .as_ref()
            .map(|x| (x.physical_position, x.physical_size))
            != Some((scaled.physical_position, scaled.physical_size))
        {
            c.viewport = Some(scaled.clone());
        }
    }
}

/// The screenshot's render target.
#[derive(Resource)]
pub struct ShotTarget(pub Handle<Image>);

#[allow(clippy::too_many_arguments)]
fn camera_input(
    mut cam: ResMut<Cam>,
    mut view: ResMut<ViewState>,
    keys: Res<ButtonInput<KeyCode>>,
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    wants: Res<EguiWantsInput>,
    time: Res<Time>,
) {
    if view.still || view.mode == Mode::Wall {
        return;
    }
    let c = &mut cam.0;
    let dt = time.delta_secs();
    let pan_speed = c.distance * 0.8 * dt;
    let (sy, cy) = c.yaw.sin_cos();
    // Screen right and screen forward on the ground.
    let right = Vec3::new(cy, 0.0, -sy);
    let fwd = Vec3::new(-sy, 0.0, -cy);
    if !wants.wants_any_keyboard_input() {
        let mut moved = false;
        for (k, d) in [
            (KeyCode::KeyW, fwd),
            (KeyCode::ArrowUp, fwd),
            (KeyCode::KeyS, -fwd),
            (KeyCode::ArrowDown, -fwd),
            (KeyCode::KeyD, right),
            (KeyCode::ArrowRight, right),
            (KeyCode::KeyA, -right),
            (KeyCode::ArrowLeft, -right),
        ] {
            if keys.pressed(k) {
                c.focus += d * pan_speed;
                moved = true;
            }
        }
        if keys.pressed(KeyCode::KeyQ) {
            c.yaw += dt;
        }
        if keys.pressed(KeyCode::KeyE) {
            c.yaw -= dt;
        }
        if keys.pressed(KeyCode::KeyR) {
            c.pitch = (c.pitch + dt * 0.8).min(1.55);
        }
        if keys.pressed(KeyCode::KeyF) {
            c.pitch = (c.pitch - dt * 0.8).max(0.15);
        }
        if keys.pressed(KeyCode::Equal) || keys.pressed(KeyCode::NumpadAdd) {
            c.distance = (c.distance * (1.0 - dt)).max(30.0);
        }
        if keys.pressed(KeyCode::Minus) || keys.pressed(KeyCode::NumpadSubtract) {
            c.distance = (c.distance * (1.0 + dt)).min(50_000.0);
        }
        if moved {
            view.fly_to = None;
        }
    }
    if wants.wants_any_pointer_input() {
        return;
    }
    let d = motion.delta;
    if buttons.pressed(MouseButton::Right) {
        c.yaw -= d.x * 0.005;
        c.pitch = (c.pitch + d.y * 0.005).clamp(0.15, 1.55);
        view.fly_to = None;
    } else if buttons.pressed(MouseButton::Left) || buttons.pressed(MouseButton::Middle) {
        let k = c.metres_per_pixel(800.0);
        c.focus += (-right * d.x + fwd * d.y) * k;
        if d != Vec2::ZERO {
            view.fly_to = None;
        }
    }
    if scroll.delta.y != 0.0 {
        c.distance =
            (c.distance * (1.0 - 0.1 * scroll.delta.y.clamp(-5.0, 5.0))).clamp(30.0, 50_000.0);
    }
}

/// The wall's slow tour: the camera circles the hotspots in turn (from the minute, so a
/// still image is reproducible).
fn wall_tour(mut cam: ResMut<Cam>, view: Res<ViewState>, city: Res<CityRes>, time: Res<Time>) {
    if view.mode != Mode::Wall {
        return;
    }
    let spots: Vec<[f64; 2]> = view
        .live
        .as_ref()
        .map(|l| l.hotspots.iter().take(5).map(|h| h.xy).collect())
        .unwrap_or_default();
    let t = if view.still {
        view.minute as f32
    } else {
        time.elapsed_secs()
    };
    let c = &mut cam.0;
    c.yaw = 0.35 * (t * 0.05).sin();
    c.pitch = 0.8;
    if let Some(p) = spots.get(((t / 20.0) as usize) % spots.len().max(1)) {
        let target = Vec3::from(city.frame.world(p[0], p[1], city.frame.z0));
        c.focus = c.focus.lerp(target, if view.still { 1.0 } else { 0.02 });
        let d = 900.0;
        c.distance += (d - c.distance) * if view.still { 1.0 } else { 0.02 };
    }
}

fn fly(mut cam: ResMut<Cam>, mut view: ResMut<ViewState>) {
    let Some(to) = view.fly_to else { return };
    let c = &mut cam.0;
    let k = if view.still { 1.0 } else { 0.12 };
    c.focus = c.focus.lerp(to.focus, k);
    c.distance += (to.distance - c.distance) * k;
    if (c.focus - to.focus).length() < 1.0 && (c.distance - to.distance).abs() < 1.0 {
        view.fly_to = None;
    }
}

fn apply_camera(cam: Res<Cam>, mut q: Query<&mut Transform, With<Camera3d>>) {
    for mut t in &mut q {
        *t = Transform::from_translation(cam.0.eye()).looking_at(cam.0.focus, Vec3::Y);
    }
}

fn clock(
    mut view: ResMut<ViewState>,
    run: Res<RunRes>,
    time: Res<Time>,
    feed: Option<Res<FeedRes>>,
) {
    if let Some(feed) = feed {
        let mut f = feed.0.lock().expect("feed");
        let dt = if view.playing {
            time.delta_secs_f64()
        } else {
            0.0
        };
        if (f.minute() - view.minute).abs() > 1e-9 && !view.playing && !f.live() {
            f.seek(view.minute);
        }
        let s = f.advance(dt);
        view.minute = f.minute();
        view.live = Some(s);
        return;
    }
    let Some(r) = &run.0 else { return };
    if view.playing {
        view.minute += time.delta_secs_f64() * view.speed;
        if view.minute > r.end_minute() {
            view.minute = 0.0;
        }
    }
}

/// The what-if panel's run: starts it when asked, follows its progress, and when it is done
/// shows it as B, compared with the run shown before (A).
#[allow(clippy::too_many_arguments)]
fn plan_runner(
    mut view: ResMut<ViewState>,
    job: Res<PlanJob>,
    mut run: ResMut<RunRes>,
    mut compare: ResMut<CompareRes>,
    mut shown: ResMut<Shown>,
    opts: Res<Opts>,
) {
    let lang = view.lang;
    let mut j = job.0.lock().expect("plan job");
    if std::mem::take(&mut view.plan_cancel)
        && let Some(mut running) = j.take()
    {
        running.cancel();
        view.plan_progress = None;
        view.plan_status = Some(lang.pick("Đã huỷ", "Cancelled").into());
    }
    if std::mem::take(&mut view.plan_start) && j.is_none() {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let dir = opts.0.plans_dir.join(format!("plan-{stamp}"));
        let city = std::fs::canonicalize(&opts.0.city).unwrap_or(opts.0.city.clone());
        let started = match crate::plan::find_twin() {
            None => Err(anyhow::anyhow!(
                "không tìm thấy chương trình twin / cannot find the twin program"
            )),
            Some(twin) => crate::plan::Job::start(&twin, &view.plan, &city, &dir),
        };
        match started {
            Ok(new) => {
                *j = Some(new);
                view.plan_progress = Some(("start".into(), 0.0));
                view.plan_status = Some(format!("{}", dir.display()));
            }
            Err(e) => view.plan_status = Some(format!("{e:#}")),
        }
    }
    let Some(running) = j.as_mut() else { return };
    match running.poll() {
        crate::plan::JobState::Running(stage, f) => view.plan_progress = Some((stage, f)),
        crate::plan::JobState::Failed(e) => {
            *j = None;
            view.plan_progress = None;
            view.plan_status = Some(format!("{}: {e}", lang.pick("Lỗi", "Failed")));
        }
        crate::plan::JobState::Done(out) => {
            *j = None;
            view.plan_progress = None;
            match Run::open(&out) {
                Ok(new) => {
                    compare.0 = run.0.take();
                    run.0 = Some(Arc::new(new));
                    view.diff = compare.0.is_some();
                    view.minute = first_minute(run.0.as_deref(), None);
                    shown.depth_frame = None;
                    shown.road_interval = None;
                    shown.vehicle_frame = None;
                    shown.pump_minute = None;
                    view.plan_status =
                        Some(format!("{} {}", lang.pick("Xong:", "Done:"), out.display()));
                }
                Err(e) => view.plan_status = Some(format!("{}: {e:#}", out.display())),
            }
        }
    }
}

/// Sets the mesh of `entities` to `m`, in place (the handle stays, so nothing is freed while
/// the renderer still holds it).
fn replace_mesh<'a>(
    meshes: &mut Assets<Mesh>,
    entities: impl IntoIterator<Item = &'a Mesh3d>,
    m: &MeshData,
) {
    for h in entities {
        if let Some(mut mesh) = meshes.get_mut(&h.0) {
            *mesh = to_mesh(m);
        }
    }
}

/// The flood surface and the vehicles of the frames holding the minute shown (with a live
/// feed, its water; comparing two runs, the water B − A).
#[allow(clippy::too_many_arguments)]
fn show_frames(
    mut meshes: ResMut<Assets<Mesh>>,
    mut shown: ResMut<Shown>,
    view: Res<ViewState>,
    run: Res<RunRes>,
    city: Res<CityRes>,
    flood: Query<&Mesh3d, With<FloodSurface>>,
    feed: Option<Res<FeedRes>>,
    compare: Res<CompareRes>,
    mut commands: Commands,
    mut pool: ResMut<VehiclePool>,
    mut markers: Query<(&mut Transform, &mut Visibility), With<VehicleMarker>>,
) {
    if let Some((v, depth)) = feed.and_then(|f| f.0.lock().expect("feed").depth()) {
        if shown.live_depth != Some(v) {
            shown.live_depth = Some(v);
            let m = scene::flood_mesh(&depth, &city.terrain, &city.frame);
            replace_mesh(&mut meshes, flood, &m);
        }
        return;
    }
    let Some(r) = &run.0 else { return };
    let times = |run: &Run| run.depth.iter().map(|d| d.0).collect::<Vec<f64>>();
    let i = step_at(&times(r), view.minute);
    let cmp = compare.0.as_ref().filter(|_| view.diff);
    let ia = cmp.and_then(|a| step_at(&times(a), view.minute));
    let key = (cmp.is_some(), ia, i);
    if shown.depth_frame != Some(key) {
        shown.depth_frame = Some(key);
        let m = match cmp {
            Some(a) => crate::compare::depth_difference(a, r, view.minute)
                .map_or_else(MeshData::default, |d| {
                    scene::diff_mesh(&d, &city.terrain, &city.frame)
                }),
            None => i.map_or_else(MeshData::default, |i| {
                scene::flood_mesh(&r.depth[i].1, &city.terrain, &city.frame)
            }),
        };
        replace_mesh(&mut meshes, flood, &m);
    }
    let times: Vec<f64> = r.vehicles.iter().map(|f| f.minute as f64).collect();
    let i = step_at(&times, view.minute);
    if i != shown.vehicle_frame {
        shown.vehicle_frame = i;
        let v = i.map_or(&[][..], |i| &r.vehicles[i].vehicles[..]);
        pool.place(&mut commands, &mut markers, v, &city);
    }
}

/// The city's layer meshes (not the flood's nor the vehicles').
type LayerMeshes<'w, 's> = Query<
    'w,
    's,
    (&'static Mesh3d, &'static LayerPart),
    (Without<Vehicles>, Without<FloodSurface>),
>;

/// The meshes of one layer's part.
fn part_meshes<'a>(
    q: &'a LayerMeshes<'_, '_>,
    layer: Layer,
    part: Part,
) -> impl Iterator<Item = &'a Mesh3d> + 'a {
    q.iter()
        .filter(move |(_, lp)| lp.0 == layer && lp.1 == part)
        .map(|(m, _)| m)
}

/// Recolours vertex ranges of one layer's part and shows the result.
fn recolour_part(
    meshes: &mut Assets<Mesh>,
    shown: &mut Shown,
    q: &LayerMeshes,
    (layer, part): (Layer, Part),
    colours: Vec<(std::ops::Range<usize>, [u8; 3])>,
) {
    let Some(m) = shown.meshes.layers.get_mut(&(layer, part)) else {
        return;
    };
    for (range, c) in colours {
        m.recolour(range, colors::linear(c));
    }
    replace_mesh(meshes, part_meshes(q, layer, part), m);
}

/// A road's colour by its feature id.
type RoadColour<'a> = Box<dyn Fn(&i64) -> [u8; 3] + 'a>;

/// Roads in the colour of their state in the traffic interval holding the minute.
fn show_roads(
    mut meshes: ResMut<Assets<Mesh>>,
    mut shown: ResMut<Shown>,
    view: Res<ViewState>,
    run: Res<RunRes>,
    compare: Res<CompareRes>,
    q: LayerMeshes,
    city: Res<CityRes>,
) {
    let roads = city.city.layer(Layer::TrafficRoad);
    let states;
    let diff;
    let (key, colour): (i64, RoadColour) =
        match view.live.as_ref().and_then(|s| s.closed_roads.as_ref()) {
            // A live feed: the roads the water closes now in red, the others in their own
            // colour.
            Some(closed) => (
                closed.iter().fold(0x5EED_i64, |h, id| {
                    h.wrapping_mul(0x100_0000_01B3).wrapping_add(*id)
                }) | 1,
                Box::new(move |id: &i64| {
                    if closed.binary_search(id).is_ok() {
                        colors::RoadClass::Closed.colour()
                    } else {
                        colors::road_base_colour(
                            roads
                                .get(twin_model::FeatureId(*id))
                                .and_then(|f| f.text("highway"))
                                .unwrap_or(""),
                        )
                    }
                }),
            ),
            None => {
                let Some(r) = &run.0 else { return };
                if r.roads.is_empty() {
                    return;
                }
                states = r.roads_at(view.minute);
                let cmp = compare.0.as_ref().filter(|_| view.diff);
                let key = states
                    .values()
                    .next()
                    .map_or(i64::MIN / 4, |s| (s.begin_min * 1000.0) as i64)
                    * 2
                    + i64::from(cmp.is_some());
                if shown.road_interval == Some(key) {
                    return;
                }
                diff = cmp.map(|a| crate::compare::road_difference(a, r, view.minute));
                let (states, diff) = (&states, &diff);
                (
                    key,
                    Box::new(move |id: &i64| match diff {
                        Some(d) => d
                            .get(id)
                            .copied()
                            .unwrap_or(crate::compare::RoadDiff::Neither)
                            .colour(),
                        None => states
                            .get(id)
                            .map_or(colors::RoadClass::NoData, |s| colors::RoadClass::of(s))
                            .colour(),
                    }),
                )
            }
        };
    if shown.road_interval == Some(key) {
        return;
    }
    shown.road_interval = Some(key);
    let colours = shown
        .meshes
        .road_ranges
        .iter()
        .map(|(id, range)| (range.clone(), colour(id)))
        .collect();
    recolour_part(
        &mut meshes,
        &mut shown,
        &q,
        (Layer::TrafficRoad, Part::Flat),
        colours,
    );
}

/// Pumps green while they pump.
fn show_pumps(
    mut meshes: ResMut<Assets<Mesh>>,
    mut shown: ResMut<Shown>,
    view: Res<ViewState>,
    run: Res<RunRes>,
    q: LayerMeshes,
) {
    let Some(r) = &run.0 else { return };
    if r.pumps.is_empty() {
        return;
    }
    let k = view.minute.ceil() as i64;
    if shown.pump_minute == Some(k) {
        return;
    }
    shown.pump_minute = Some(k);
    let flows = r.pumps_at(view.minute);
    let colours = shown
        .meshes
        .pump_ranges
        .iter()
        .map(|(name, range)| {
            let on = flows.iter().any(|(n, q)| n == name && *q > 1e-4);
            (
                range.clone(),
                if on {
                    colors::PUMP_ON
                } else {
                    colors::PUMP_OFF
                },
            )
        })
        .collect();
    recolour_part(
        &mut meshes,
        &mut shown,
        &q,
        (Layer::Utility, Part::Lit),
        colours,
    );
}

fn layer_visibility(
    view: Res<ViewState>,
    shown: Res<Shown>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut q: Query<(&LayerPart, &mut Visibility)>,
) {
    if !view.is_changed() {
        return;
    }
    for (lp, mut v) in &mut q {
        let want = if view.visible[lp.0.index()] {
            Visibility::Inherited
        } else {
            Visibility::Hidden
        };
        if *v != want {
            *v = want;
        }
    }
    for (layer, part, h) in &shown.materials {
        let a = view.opacity[layer.index()];
        if let Some(mut m) = materials.get_mut(h) {
            let cur = m.base_color.alpha();
            if (cur - a).abs() > 1e-4 {
                *m = material(*part, a);
            }
        }
    }
}

/// Pick at a pixel of a `w` × `h` view: the ground under it, then the feature there within
/// 6 pixels.
pub fn pick_at(
    city: &CityRes,
    cam: &OrbitCam,
    w: f32,
    h: f32,
    px: Vec2,
    visible: &[bool; 11],
) -> Option<FeatureKey> {
    let (o, d) = cam.ray(w, h, px);
    let [x, y] = ground_hit(o, d, &city.terrain, &city.frame)?;
    let tol = (6.0 * cam.metres_per_pixel(h) as f64).max(2.0);
    pick::pick(&city.city, x, y, tol, visible)
}

#[allow(clippy::too_many_arguments)]
fn cursor_and_click(
    mut view: ResMut<ViewState>,
    cam: Res<Cam>,
    city: Res<CityRes>,
    run: Res<RunRes>,
    buttons: Res<ButtonInput<MouseButton>>,
    wants: Res<EguiWantsInput>,
    windows: Query<&Window, With<PrimaryWindow>>,
    mut press: Local<Option<Vec2>>,
) {
    let Ok(win) = windows.single() else { return };
    let Some(px) = win.cursor_position() else {
        view.cursor = None;
        return;
    };
    let v = view_rect(
        view.mode,
        win.width() as u32,
        win.height() as u32,
        run.0.is_some(),
    );
    let (w, h) = (v[2] - v[0], v[3] - v[1]);
    let px = px - Vec2::new(v[0], v[1]);
    if px.x < 0.0 || px.y < 0.0 || px.x >= w || px.y >= h {
        view.cursor = None;
        return;
    }
    let (o, d) = cam.0.ray(w, h, px);
    view.cursor =
        ground_hit(o, d, &city.terrain, &city.frame).map(|m| (m, city.wgs.lonlat(m[0], m[1])));
    if view.mode == Mode::Wall || wants.wants_any_pointer_input() {
        return;
    }
    if buttons.just_pressed(MouseButton::Left) {
        *press = Some(px);
    }
    if buttons.just_released(MouseButton::Left)
        && press.take().is_some_and(|p| (p - px).length() < 4.0)
    {
        let visible = view.visible;
        let lang = view.lang;
        view.inspector = pick_at(&city, &cam.0, w, h, px, &visible)
            .and_then(|k| pick::inspect(&city.city, run.0.as_deref(), k, lang));
    }
}

/// `--click X,Y`: the same pick as a user's click, once the scene is up.
fn synthetic_click(
    mut view: ResMut<ViewState>,
    cam: Res<Cam>,
    city: Res<CityRes>,
    run: Res<RunRes>,
    opts: Res<Opts>,
    mut frames: Local<u32>,
) {
    *frames += 1;
    let Some((x, y)) = opts.0.click else { return };
    if *frames != 2 {
        return;
    }
    let v = view_rect(view.mode, opts.0.size.0, opts.0.size.1, run.0.is_some());
    let visible = view.visible;
    let lang = view.lang;
    let px = Vec2::new(x - v[0], y - v[1]);
    view.inspector = pick_at(&city, &cam.0, v[2] - v[0], v[3] - v[1], px, &visible)
        .and_then(|k| pick::inspect(&city.city, run.0.as_deref(), k, lang));
}

/// The state a screenshot run reports (`--state-out`).
pub fn state_json(view: &ViewState, run: Option<&Run>) -> serde_json::Value {
    let insp = view.inspector.as_ref().map(|i| {
        serde_json::json!({
            "layer": i.key.layer.table_name(),
            "id": i.key.id.0,
            "name": i.name,
            "kind": i.kind,
            "layer_name": i.layer,
            "owner": i.owner,
            "road_intervals": i.road_history.len(),
            "gauge": i.gauge.as_ref().map(|g| g.name.clone()),
        })
    });
    let live = view.live.clone();
    let kpis = live
        .as_ref()
        .map(|l| l.kpis.clone())
        .or_else(|| run.map(|r| crate::kpi::kpis(r, view.minute)))
        .map(|k| {
            serde_json::json!({
                "minute": k.minute,
                "clock": k.clock,
                "max_depth_m": k.max_depth_m,
                "roads_closed": k.roads_closed,
                "hotspots_flooded": k.hotspots_flooded,
                "hotspots_total": k.hotspots_total,
                "network_speed_kmh": k.network_speed_kmh,
                "pumps_running": k.pumps_running,
                "pumps_total": k.pumps_total,
            })
        });
    let wall = live.as_ref().map(|l| {
        let t = crate::kpi::wall_text(l, view.lang);
        serde_json::json!({
            "title": t.title,
            "tiles": t.tiles,
            "ticker": t.ticker,
            "hotspots": t.hotspots,
            "alerts": l.alerts.len(),
            "offline": l.offline,
            "closed_roads": l.closed_roads,
        })
    });
    serde_json::json!({"minute": view.minute, "inspector": insp, "kpis": kpis, "wall": wall})
}

/// How long a screenshot of a live wall waits for the service's first state.
pub const LIVE_WAIT: Duration = Duration::from_secs(60);

/// Screenshot runs: wait for the scene to settle, capture, save, exit.
#[allow(clippy::too_many_arguments)]
fn still_driver(
    mut commands: Commands,
    opts: Res<Opts>,
    target: Option<Res<ShotTarget>>,
    view: Res<ViewState>,
    run: Res<RunRes>,
    feed: Option<Res<FeedRes>>,
    mut frames: Local<u32>,
    mut waiting: Local<Option<std::time::Instant>>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(path) = opts.0.screenshot.clone() else {
        return;
    };
    let Some(target) = target else { return };
    // A live feed: wait for its first state and water, at most LIVE_WAIT.
    if let Some(f) = feed
        && *frames == 0
        && !f.0.lock().expect("feed").ready()
    {
        let t0 = *waiting.get_or_insert_with(std::time::Instant::now);
        if t0.elapsed() > LIVE_WAIT {
            error!(
                "không nhận được trạng thái từ dịch vụ trong {} s / no state from the service in {} s",
                LIVE_WAIT.as_secs(),
                LIVE_WAIT.as_secs()
            );
            exit.write(AppExit::from_code(3));
        }
        std::thread::sleep(Duration::from_millis(20));
        return;
    }
    *frames += 1;
    if *frames == 8 {
        if let Some(p) = &opts.0.state_out {
            let s = state_json(&view, run.0.as_deref());
            if let Err(e) = std::fs::write(p, serde_json::to_string_pretty(&s).unwrap_or_default())
            {
                error!("{}: {e}", p.display());
            }
        }
        commands.spawn(Screenshot::image(target.0.clone())).observe(
            move |captured: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
                let saved = captured
                    .image
                    .clone()
                    .try_into_dynamic()
                    .map_err(|e| e.to_string())
                    .and_then(|img| img.to_rgb8().save(&path).map_err(|e| e.to_string()));
                match saved {
                    Ok(()) => {
                        info!("screenshot {}", path.display());
                        exit.write(AppExit::Success);
                    }
                    Err(e) => {
                        error!("{}: {e}", path.display());
                        exit.write(AppExit::from_code(2));
                    }
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_wgs84_matches_gdal_between_the_grid_points() {
        // Hanoi's Hoàn Kiếm area in VN-2000 / UTM 48N (EPSG:3405); the reference point is
        // (105.8542 E, 21.0285 N) = (588565.36 E, 2325647.34 N), as cs2cs gives it.
        let city = City::new("t", twin_model::Crs::VN2000_UTM48N);
        let bb = [[586_900.0, 2_324_100.0], [589_900.0, 2_327_100.0]];
        let g = WgsGrid::new(&city, bb).expect("EPSG:3405 is known to GDAL");
        let [lon, lat] = g.lonlat(588_565.363_784, 2_325_647.338_302);
        assert!((lon - 105.8542).abs() < 1e-7, "{lon}");
        assert!((lat - 21.0285).abs() < 1e-7, "{lat}");
    }
}
