//! A ward table (`ward_id,ward,unit_type,area_km2,population,center_lon,center_lat`, as
//! Hanoi's 2025 ward list): ward totals for spreading residents over a city. Extra columns are
//! allowed; every error names the file, the line and the field.

use crate::csvtext::number;
use crate::error::{IoError, Result};
use crate::gauge_rain::{column, fields, table};
use std::path::Path;

/// One ward's row.
#[derive(Debug, Clone, PartialEq)]
pub struct WardRow {
    /// Official code.
    pub id: String,
    /// Name.
    pub name: String,
    /// Area, km² (> 0).
    pub area_km2: f64,
    /// Residents (≥ 0).
    pub population: f64,
    /// Centre longitude, degrees.
    pub lon: f64,
    /// Centre latitude, degrees.
    pub lat: f64,
}

/// Parses a ward table; `path` names the file in errors.
pub fn parse_wards(text: &str, path: &Path) -> Result<Vec<WardRow>> {
    let (cols, rows) = table(text, path)?;
    let id = column(&cols, &["ward_id", "id"], path)?;
    let name = column(&cols, &["ward", "name"], path)?;
    let area = column(&cols, &["area_km2"], path)?;
    let pop = column(&cols, &["population"], path)?;
    let lon = column(&cols, &["center_lon", "lon"], path)?;
    let lat = column(&cols, &["center_lat", "lat"], path)?;
    let mut out: Vec<WardRow> = Vec::new();
    for (n, line) in rows {
        let f = fields(line, n, cols.len(), path)?;
        let at = |k: usize| format!("line {n}, field '{}'", cols[k]);
        let w = WardRow {
            id: f[id].trim().to_string(),
            name: f[name].trim().to_string(),
            area_km2: number(&f[area], path, n, &cols[area])?,
            population: number(&f[pop], path, n, &cols[pop])?,
            lon: number(&f[lon], path, n, &cols[lon])?,
            lat: number(&f[lat], path, n, &cols[lat])?,
        };
        if w.name.is_empty() {
            return Err(IoError::format(path, at(name), "empty"));
        }
        if w.area_km2 <= 0.0 {
            return Err(IoError::format(
                path,
                at(area),
                format!("must be above 0, got {}", w.area_km2),
            ));
        }
        if w.population < 0.0 {
            return Err(IoError::format(
                path,
                at(pop),
                format!("must not be negative, got {}", w.population),
            ));
        }
        if !(-180.0..=180.0).contains(&w.lon) || !(-90.0..=90.0).contains(&w.lat) {
            return Err(IoError::format(
                path,
                format!("line {n}"),
                format!(
                    "longitude {}, latitude {} are not degrees on the globe",
                    w.lon, w.lat
                ),
            ));
        }
        if out.iter().any(|o| o.id == w.id && o.name == w.name) {
            return Err(IoError::format(
                path,
                at(id),
                format!("'{}' appears twice", w.id),
            ));
        }
        out.push(w);
    }
    if out.is_empty() {
        return Err(IoError::format(path, "data", "no wards after the header"));
    }
    Ok(out)
}

/// Reads a ward table file.
pub fn read_wards(path: &Path) -> Result<Vec<WardRow>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| IoError::file(path, format!("cannot read: {e}")))?;
    parse_wards(&text, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_and_bad_fields_are_named() {
        let p = Path::new("w.csv");
        let t = "ward_id,ward,unit_type,area_km2,population,center_lon,center_lat\n00004,Ba Đình,Phường,2.97,65023,105.83521,21.03984\n";
        let w = parse_wards(t, p).unwrap();
        assert_eq!(w[0].name, "Ba Đình");
        assert_eq!(w[0].population, 65023.0);
        let bad = t.replace("2.97", "0");
        let e = parse_wards(&bad, p).unwrap_err().to_string();
        assert!(
            e.contains("w.csv") && e.contains("line 2") && e.contains("area_km2"),
            "{e}"
        );
        let bad = t.replace("65023", "many");
        let e = parse_wards(&bad, p).unwrap_err().to_string();
        assert!(e.contains("population") && e.contains("many"), "{e}");
    }
}
