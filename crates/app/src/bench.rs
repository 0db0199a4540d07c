//! `--bench OUT.json`: what the scene costs to draw, measured with no window on whatever
//! renders it (lavapipe on a machine without a GPU). Two phases of N frames each after a
//! warm-up: *view*, the camera turning about the city with the minute fixed (what a wall or a
//! planner looking about costs), and *playback*, a new vehicle sample every frame (every
//! marker moved, the flood surface rebuilt where its frame changes: playback at its fastest).
//! A frame's time is the interval between two frames of the app's main loop; rendering is
//! pipelined, so it is the slower of the simulation of the frame and its drawing.

use crate::viewer::{Cam, CityRes, Opts, RunRes, VehicleMarker, VehiclePool, ViewState};
use bevy::camera::visibility::ViewVisibility;
use bevy::mesh::Indices;
use bevy::prelude::*;
use std::time::Instant;

/// Frames drawn before measuring (pipelines compiled, markers spawned, meshes uploaded).
pub const WARM_UP: u32 = 10;

/// The bench's state between frames.
#[derive(Default)]
pub struct Bench {
    frame: u32,
    last: Option<Instant>,
    view_ms: Vec<f64>,
    playback_ms: Vec<f64>,
    scene: Option<serde_json::Value>,
    /// The vehicle frame shown when playback starts.
    first_sample: Option<usize>,
}

/// Summary of frame times, ms.
pub fn frame_stats(ms: &[f64]) -> serde_json::Value {
    let mut s = ms.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if s.is_empty() {
            f64::NAN
        } else {
            s[((s.len() - 1) as f64 * p).round() as usize]
        }
    };
    let mean = s.iter().sum::<f64>() / s.len().max(1) as f64;
    serde_json::json!({
        "frames": s.len(),
        "mean_ms": mean,
        "median_ms": q(0.5),
        "p95_ms": q(0.95),
        "max_ms": q(1.0),
        "fps": 1000.0 / mean,
    })
}

/// Peak and current resident memory of this process, MiB (Linux; `None` elsewhere).
pub fn memory_mib() -> Option<(f64, f64)> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = |key: &str| {
        s.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some((kib("VmHWM:")? / 1024.0, kib("VmRSS:")? / 1024.0))
}

/// Bytes of a mesh's vertices and indices, and its triangles.
fn mesh_size(m: &Mesh) -> (usize, usize) {
    let (ib, tris) = match m.indices() {
        Some(Indices::U32(i)) => (i.len() * 4, i.len() / 3),
        Some(Indices::U16(i)) => (i.len() * 2, i.len() / 3),
        None => (0, m.count_vertices() / 3),
    };
    (m.count_vertices() * m.get_vertex_size() as usize + ib, tris)
}

/// The scene as drawn: draw calls, triangles, mesh bytes, vehicles.
fn scene(
    drawn: &Query<(&Mesh3d, &ViewVisibility), Without<VehicleMarker>>,
    meshes: &Assets<Mesh>,
    pool: &VehiclePool,
    city: &CityRes,
    vehicles_shown: bool,
) -> serde_json::Value {
    let (mut draws, mut tris) = (0usize, 0usize);
    for (h, v) in drawn {
        if let Some(m) = meshes.get(&h.0)
            && v.get()
        {
            let (_, t) = mesh_size(m);
            if t > 0 {
                draws += 1;
                tris += t;
            }
        }
    }
    let bytes: usize = meshes.iter().map(|(_, m)| mesh_size(m).0).sum();
    let (batches, marker_tris) = if vehicles_shown {
        (pool.batches(), pool.marker_triangles(meshes))
    } else {
        (0, 0)
    };
    serde_json::json!({
        "meshes_drawn": draws,
        "vehicle_batches": batches,
        "draw_calls_3d": draws + batches,
        "triangles": tris + marker_tris,
        "vehicle_triangles": marker_tris,
        "mesh_mib": bytes as f64 / (1024.0 * 1024.0),
        "vehicles": if vehicles_shown { pool.shown() } else { 0 },
        "building_features": city.city.layer(twin_model::Layer::Building).len(),
    })
}

/// Runs the bench: warm-up, the view phase, the playback phase; then writes the JSON and
/// exits.
#[allow(clippy::too_many_arguments)]
pub fn bench_driver(
    mut b: Local<Bench>,
    opts: Res<Opts>,
    mut view: ResMut<ViewState>,
    mut cam: ResMut<Cam>,
    run: Res<RunRes>,
    pool: Option<Res<VehiclePool>>,
    drawn: Query<(&Mesh3d, &ViewVisibility), Without<VehicleMarker>>,
    meshes: Res<Assets<Mesh>>,
    city: Res<CityRes>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some((out, n)) = opts.0.bench.clone() else {
        return;
    };
    let now = Instant::now();
    let dt = b.last.map(|t| (now - t).as_secs_f64() * 1000.0);
    b.last = Some(now);
    let k = b.frame;
    b.frame += 1;
    // `dt` is the time of frame k − 1.
    if let Some(dt) = dt
        && k > WARM_UP
    {
        if k - 1 < WARM_UP + n {
            b.view_ms.push(dt);
        } else {
            b.playback_ms.push(dt);
        }
    }
    let Some(pool) = pool else { return };
    if k >= WARM_UP && k < WARM_UP + n {
        // The view phase: a turn of 90° about the city over its frames.
        cam.0.yaw += std::f32::consts::FRAC_PI_2 / n as f32;
        if k + 1 == WARM_UP + n {
            let shown = view.visible[twin_model::Layer::TrafficRoad.index()];
            b.scene = Some(scene(&drawn, &meshes, &pool, &city, shown));
        }
    } else if k >= WARM_UP + n && k < WARM_UP + 2 * n {
        // The playback phase: the next vehicle sample each frame.
        if let Some(r) = &run.0
            && !r.vehicles.is_empty()
        {
            let j = (k - WARM_UP - n) as usize + 1;
            let minute = view.minute;
            let first = *b.first_sample.get_or_insert_with(|| {
                r.vehicles
                    .iter()
                    .position(|f| f.minute as f64 >= minute)
                    .unwrap_or(0)
            });
            let i = (first + j) % r.vehicles.len();
            view.minute = r.vehicles[i].minute as f64;
        }
    } else if k >= WARM_UP + 2 * n {
        let (peak, rss) = memory_mib().unwrap_or((f64::NAN, f64::NAN));
        let (w, h) = opts.0.size;
        let report = serde_json::json!({
            "size": [w, h],
            "msaa": opts.0.msaa,
            "mode": format!("{:?}", opts.0.mode),
            "scene": b.scene,
            "view": frame_stats(&b.view_ms),
            "playback": frame_stats(&b.playback_ms),
            "memory_peak_mib": peak,
            "memory_end_mib": rss,
        });
        let code = match std::fs::write(
            &out,
            serde_json::to_string_pretty(&report).unwrap_or_default(),
        ) {
            Ok(()) => {
                info!("bench {}", out.display());
                AppExit::Success
            }
            Err(e) => {
                error!("{}: {e}", out.display());
                AppExit::from_code(2)
            }
        };
        exit.write(code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_statistics() {
        let ms: Vec<f64> = (1..=20).map(|k| k as f64).collect();
        let s = frame_stats(&ms);
        assert_eq!(s["frames"], 20);
        assert_eq!(s["mean_ms"], 10.5);
        // Nearest rank: the 0.5 quantile of 20 is the 11th (round(9.5) = 10 → 11 ms).
        assert_eq!(s["median_ms"], 11.0);
        assert_eq!(s["p95_ms"], 19.0);
        assert_eq!(s["max_ms"], 20.0);
        assert!((s["fps"].as_f64().unwrap() - 1000.0 / 10.5).abs() < 1e-9);
        let (peak, now) = memory_mib().unwrap();
        assert!(peak >= now && now > 1.0, "{peak} {now}");
    }
}
