//! The colours of everything the app draws (sRGB bytes). Flat things (water, roads, the
//! flood, symbols) are drawn unlit with no tone mapping, so these are the colours on screen.

use crate::playback::{RoadState, VehicleClass};
use twin_model::Layer;

/// The flood's depth classes: those of the report's flood map (`twin_report::DEPTH_CLASSES`).
pub use twin_report::DEPTH_CLASSES;

/// Colour of a depth in the report's classes, or `None` below the first (dry).
pub fn depth_colour(d: f64) -> Option<[u8; 3]> {
    twin_report::depth_colour(d)
}

/// Index of a depth's class in [`DEPTH_CLASSES`], or `None` when dry.
pub fn depth_class(d: f64) -> Option<usize> {
    DEPTH_CLASSES.iter().rposition(|(lo, _)| d >= *lo)
}

/// A road's state class at the time shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoadClass {
    /// No vehicle left it in the interval.
    NoData,
    /// 30 km/h or faster.
    Fast,
    /// 15–30 km/h.
    Moderate,
    /// Under 15 km/h.
    Slow,
    /// Closed (every link).
    Closed,
}

impl RoadClass {
    /// The class of a road's interval.
    pub fn of(s: &RoadState) -> RoadClass {
        if s.closed {
            return RoadClass::Closed;
        }
        match s.speed_kmh {
            None => RoadClass::NoData,
            Some(v) if v >= 30.0 => RoadClass::Fast,
            Some(v) if v >= 15.0 => RoadClass::Moderate,
            Some(_) => RoadClass::Slow,
        }
    }
    /// Colour on the map.
    pub fn colour(self) -> [u8; 3] {
        match self {
            RoadClass::NoData => [150, 150, 150],
            RoadClass::Fast => [30, 170, 70],
            RoadClass::Moderate => [240, 200, 30],
            RoadClass::Slow => [245, 120, 20],
            RoadClass::Closed => [220, 20, 30],
        }
    }
    /// Vietnamese and English legend label.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            RoadClass::NoData => ("không có xe", "no vehicles"),
            RoadClass::Fast => ("≥ 30 km/h", "≥ 30 km/h"),
            RoadClass::Moderate => ("15–30 km/h", "15–30 km/h"),
            RoadClass::Slow => ("< 15 km/h", "< 15 km/h"),
            RoadClass::Closed => ("đóng", "closed"),
        }
    }
    /// All classes, legend order.
    pub const ALL: [RoadClass; 5] = [
        RoadClass::Fast,
        RoadClass::Moderate,
        RoadClass::Slow,
        RoadClass::Closed,
        RoadClass::NoData,
    ];
}

/// A road's colour without a run: by its OSM class.
pub fn road_base_colour(highway: &str) -> [u8; 3] {
    match highway {
        "motorway" | "trunk" | "primary" => [250, 250, 245],
        "secondary" | "tertiary" => [225, 225, 220],
        _ => [200, 200, 195],
    }
}

/// Ribbon width of a road by its OSM class, m, where the feature gives none.
pub fn road_width(highway: &str) -> f64 {
    match highway {
        "motorway" | "trunk" => 20.0,
        "primary" => 16.0,
        "secondary" => 12.0,
        "tertiary" => 10.0,
        _ => 7.0,
    }
}

/// A vehicle class's marker colour.
pub fn vehicle_colour(c: VehicleClass) -> [u8; 3] {
    match c {
        VehicleClass::Motorbike => [255, 235, 0],
        VehicleClass::Car => [0, 220, 255],
        VehicleClass::Bus => [255, 60, 200],
        VehicleClass::Truck => [140, 80, 255],
    }
}

/// Vietnamese and English name of a vehicle class.
pub fn vehicle_label(c: VehicleClass) -> (&'static str, &'static str) {
    match c {
        VehicleClass::Motorbike => ("Xe máy", "Motorbike"),
        VehicleClass::Car => ("Ô tô", "Car"),
        VehicleClass::Bus => ("Xe buýt", "Bus"),
        VehicleClass::Truck => ("Xe tải", "Truck"),
    }
}

/// Base colour of buildings (lit, so shaded on screen).
pub const BUILDING: [u8; 3] = [214, 196, 160];
/// Terrain (lit).
pub const TERRAIN: [u8; 3] = [150, 160, 130];
/// Lakes and the river.
pub const WATER: [u8; 3] = [90, 150, 205];
/// Parks.
pub const PARK: [u8; 3] = [110, 185, 90];
/// A pump that runs.
pub const PUMP_ON: [u8; 3] = [0, 230, 120];
/// A pump that stands still.
pub const PUMP_OFF: [u8; 3] = [90, 90, 90];

/// Colour of a flat polygon of a layer (by the feature's kind).
pub fn polygon_colour(layer: Layer, kind: &str) -> [u8; 3] {
    match (layer, kind) {
        (_, "water" | "river" | "lake") => WATER,
        (Layer::Green, _) => PARK,
        (Layer::Economic, _) => [230, 150, 120],
        (Layer::PublicService, _) => [240, 170, 170],
        (Layer::Security, _) => [170, 170, 220],
        _ => [190, 190, 190],
    }
}

/// Colour of a point symbol (by layer and kind).
pub fn symbol_colour(layer: Layer, kind: &str) -> [u8; 3] {
    match kind {
        "pump" => PUMP_OFF,
        "manhole" => [60, 60, 70],
        "outfall" => [20, 90, 160],
        "hospital" | "health_station" => [230, 30, 60],
        "school" | "kindergarten" => [250, 140, 0],
        "water_level_sensor" | "rain_gauge" | "air_sensor" => [0, 200, 200],
        "fire_station" => [200, 0, 0],
        "police" | "camera" => [40, 60, 200],
        "street_tree" => [40, 120, 40],
        _ => match layer {
            Layer::TrafficRoad => [80, 80, 80],
            Layer::Economic => [200, 100, 60],
            Layer::DigitalInfrastructure => [150, 60, 200],
            Layer::Utility => [100, 100, 120],
            _ => [120, 120, 120],
        },
    }
}

/// Colour of a line that is not a road (conduits, dikes).
pub fn line_colour(layer: Layer, kind: &str) -> [u8; 3] {
    match kind {
        "dike" => [140, 110, 80],
        "conduit" => [70, 90, 140],
        _ => symbol_colour(layer, kind),
    }
}

/// sRGB byte to linear.
pub fn srgb_to_linear(c: u8) -> f32 {
    let c = c as f32 / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear RGBA (the vertex colour format) of sRGB bytes.
pub fn linear(c: [u8; 3]) -> [f32; 4] {
    [
        srgb_to_linear(c[0]),
        srgb_to_linear(c[1]),
        srgb_to_linear(c[2]),
        1.0,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_classes_are_the_reports_and_step_at_their_bounds() {
        assert_eq!(depth_class(0.04), None);
        assert_eq!(depth_class(0.05), Some(0));
        assert_eq!(depth_class(0.29), Some(2));
        assert_eq!(depth_class(0.3), Some(3));
        assert_eq!(depth_class(2.0), Some(4));
        for (lo, c) in DEPTH_CLASSES {
            assert_eq!(depth_colour(lo), Some(c));
        }
    }

    #[test]
    fn road_classes_from_states() {
        let s = |speed: Option<f64>, closed| RoadState {
            begin_min: 0.0,
            end_min: 5.0,
            feature: 1,
            speed_kmh: speed,
            closed,
            vehicles: 1,
        };
        assert_eq!(RoadClass::of(&s(Some(40.0), true)), RoadClass::Closed);
        assert_eq!(RoadClass::of(&s(Some(40.0), false)), RoadClass::Fast);
        assert_eq!(RoadClass::of(&s(Some(20.0), false)), RoadClass::Moderate);
        assert_eq!(RoadClass::of(&s(Some(5.0), false)), RoadClass::Slow);
        assert_eq!(RoadClass::of(&s(None, false)), RoadClass::NoData);
        let mut all: Vec<[u8; 3]> = RoadClass::ALL.iter().map(|c| c.colour()).collect();
        all.extend(DEPTH_CLASSES.iter().map(|c| c.1));
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "every class has its own colour");
    }
}
