//! Units and the conversions QC makes without asking. A conversion is made only where it is a
//! fixed factor between units of the same quantity, or (for totals per interval) where the
//! sensor's own reporting interval fixes the factor:
//!
//! | sensor unit | also accepted |
//! | --- | --- |
//! | `m` (levels, depths) | `cm` (÷100), `mm` (÷1000) |
//! | `mm/h` (rain intensity) | `mm/min` (×60), `mm` per the gauge's interval (×60/interval min) |
//! | `m3/s` (flow) | `L/s` (÷1000), `m3/h` (÷3600) |
//! | `veh/h` (counts) | `veh` per the counter's interval (×3600/interval s) |
//! | `km/h` (speed) | `m/s` (×3.6) |
//! | `ug/m3` | `µg/m³`, `μg/m3` (the same unit written otherwise) |
//!
//! Anything else (a depth in `mm/h`, rain in `m`, a state in `m`) is a unit mismatch.

/// A value in `from` converted to `to` (multiplied by the factor's numerator, then divided by
/// its denominator, so that decimal factors stay exact: 6100 mm is 6.1 m, not 6.1000000000000005).
pub fn convert(value: f64, from: &str, to: &str, interval_s: Option<f64>) -> Option<f64> {
    let (num, den) = ratio(from, to, interval_s)?;
    Some(value * num / den)
}

/// The factor that turns a value in `from` into the sensor's `to`, if the conversion is safe.
/// `interval_s` is the sensor's reporting interval (for totals per interval).
pub fn factor(from: &str, to: &str, interval_s: Option<f64>) -> Option<f64> {
    ratio(from, to, interval_s).map(|(n, d)| n / d)
}

fn ratio(from: &str, to: &str, interval_s: Option<f64>) -> Option<(f64, f64)> {
    let from = canonical(from);
    let to = canonical(to);
    if from == to {
        return Some((1.0, 1.0));
    }
    let per_interval = || interval_s.filter(|s| *s > 0.0).map(|s| (3600.0, s));
    match (to, from) {
        ("m", "cm") => Some((1.0, 100.0)),
        ("m", "mm") => Some((1.0, 1000.0)),
        ("mm/h", "mm/min") => Some((60.0, 1.0)),
        ("mm/h", "mm") => per_interval(),
        ("m3/s", "L/s") => Some((1.0, 1000.0)),
        ("m3/s", "m3/h") => Some((1.0, 3600.0)),
        ("veh/h", "veh") => per_interval(),
        ("km/h", "m/s") => Some((3.6, 1.0)),
        _ => None,
    }
}

/// One spelling per unit.
pub fn canonical(u: &str) -> &str {
    match u.trim() {
        "mm/hr" | "mm h-1" | "mm/hour" => "mm/h",
        "m³/s" | "m^3/s" | "cms" => "m3/s",
        "l/s" => "L/s",
        "m³/h" => "m3/h",
        "µg/m³" | "μg/m³" | "µg/m3" | "μg/m3" => "ug/m3",
        "kph" | "km/hr" => "km/h",
        "veh/hr" => "veh/h",
        "dB(A)" => "dBA",
        "metre" | "meter" => "m",
        s => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_conversions_only() {
        assert_eq!(factor("mm", "m", None), Some(0.001));
        assert_eq!(factor("cm", "m", None), Some(0.01));
        assert_eq!(factor("mm", "mm/h", Some(300.0)), Some(12.0));
        assert_eq!(factor("mm", "mm/h", None), None);
        assert_eq!(factor("veh", "veh/h", Some(300.0)), Some(12.0));
        assert_eq!(factor("m/s", "km/h", None), Some(3.6));
        assert_eq!(factor("µg/m³", "ug/m3", None), Some(1.0));
        assert_eq!(factor("m", "mm/h", Some(300.0)), None);
        assert_eq!(factor("mm/h", "m", None), None);
        assert_eq!(factor("m", "state", None), None);
    }
}
