//! `DIR/playback/` of `twin scenario run`: what the app needs to replay a run (format
//! `twin-playback` version 1, described in the README): the depth grid every few minutes,
//! each road's state per traffic interval, the vehicles' positions and the pumps' flows, all
//! in minutes from the run's start (the rain's start).

use anyhow::{Context, Result};
use twin_engine::scenario::{CLOCK_START_MIN, ScenarioResult, clock};
use twin_io::atomic::OutDir;
use twin_model::{Crs, Raster};
use twin_traffic::demand::VehicleClass;

/// Version of the playback folder's format.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// Magic of `vehicles.bin`.
const VEHICLES_MAGIC: &[u8; 8] = b"TWINVEH1";

/// Writes `DIR/playback/`: `index.json`, `depth_MMMM.tif`, `roads.csv`, `vehicles.bin` and
/// `pumps.csv` (those the run has).
pub(crate) fn write(
    r: &ScenarioResult,
    dem: &Raster,
    crs: Crs,
    vehicle_every_s: f64,
    out: &mut OutDir,
) -> Result<()> {
    let index_path = out.file("playback/index.json");
    let folder = index_path
        .parent()
        .expect("a file in a folder")
        .to_path_buf();
    std::fs::create_dir_all(&folder).with_context(|| folder.display().to_string())?;
    // Traffic time 0 is 06:00; playback counts minutes from the rain's start.
    let traffic_min = |t_s: f64| CLOCK_START_MIN + t_s / 60.0 - r.rain_start_min;
    let mut frames = Vec::new();
    let every_min = r
        .storm
        .frames
        .get(1)
        .map(|f| f.minute - r.storm.frames[0].minute);
    for f in &r.storm.frames {
        let name = format!("depth_{:04}.tif", f.minute.round() as i64);
        let raster = Raster {
            data: f.depth_m.clone(),
            nodata: None,
            ..dem.clone()
        };
        twin_io::raster::write_geotiff(&raster, crs, &out.file(&format!("playback/{name}")))?;
        frames.push(serde_json::json!({"minute": f.minute, "file": name}));
    }
    let mut index = serde_json::json!({
        "format": "twin-playback",
        "version": FORMAT_VERSION,
        "crs": format!("EPSG:{}", crs.epsg),
        "start_clock": clock(r.rain_start_min),
        "minutes": r.storm.minutes,
        "depth": {"every_min": every_min, "frames": frames},
    });
    if let Some(p) = &r.traffic.playback {
        let mut csv = String::from("begin_min,end_min,feature,speed_kmh,closed,vehicles\n");
        for x in &p.roads {
            let speed = if x.speed_kmh.is_finite() {
                format!("{:.1}", x.speed_kmh)
            } else {
                String::new()
            };
            csv.push_str(&format!(
                "{},{},{},{speed},{},{}\n",
                traffic_min(x.begin_s),
                traffic_min(x.end_s),
                x.feature.0,
                u8::from(x.closed),
                x.vehicles
            ));
        }
        twin_io::atomic::write_text(&out.file("playback/roads.csv"), &csv)?;
        let mut bin = Vec::with_capacity(
            16 + p
                .vehicles
                .iter()
                .map(|f| 8 + 16 * f.vehicles.len())
                .sum::<usize>(),
        );
        bin.extend_from_slice(VEHICLES_MAGIC);
        bin.extend_from_slice(&(vehicle_every_s.round() as u32).to_le_bytes());
        bin.extend_from_slice(&(p.vehicles.len() as u32).to_le_bytes());
        for f in &p.vehicles {
            bin.extend_from_slice(&(traffic_min(f.time_s) as f32).to_le_bytes());
            bin.extend_from_slice(&(f.vehicles.len() as u32).to_le_bytes());
            for v in &f.vehicles {
                bin.extend_from_slice(&v.trip.to_le_bytes());
                bin.extend_from_slice(&[class_code(v.class), 0, 0, 0]);
                bin.extend_from_slice(&v.x.to_le_bytes());
                bin.extend_from_slice(&v.y.to_le_bytes());
            }
        }
        let path = out.file("playback/vehicles.bin");
        std::fs::write(&path, &bin).with_context(|| path.display().to_string())?;
        index["roads"] = "roads.csv".into();
        index["vehicles"] = "vehicles.bin".into();
        index["vehicle_frames"] = p.vehicles.len().into();
    }
    if !r.storm.pump_minutes.is_empty() {
        let mut csv = String::from("minute,pump,flow_m3s\n");
        let minutes = r.storm.pump_minutes[0].1.len();
        for m in 0..minutes {
            for (name, flows) in &r.storm.pump_minutes {
                csv.push_str(&format!("{},{name},{:.4}\n", m + 1, flows[m]));
            }
        }
        twin_io::atomic::write_text(&out.file("playback/pumps.csv"), &csv)?;
        index["pumps"] = "pumps.csv".into();
    }
    twin_io::atomic::write_text(&index_path, &serde_json::to_string_pretty(&index)?)?;
    Ok(())
}

/// A vehicle class's code in `vehicles.bin`.
fn class_code(c: VehicleClass) -> u8 {
    match c {
        VehicleClass::Motorbike => 0,
        VehicleClass::Car => 1,
        VehicleClass::Bus => 2,
        VehicleClass::Truck => 3,
    }
}
