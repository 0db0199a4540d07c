//! Two scenario runs side by side (`twin scenario compare`): the difference in every headline
//! figure of their `summary.json`, the depth difference cell by cell, and the roads closed in
//! only one of them. Pure: the caller reads the run folders and writes the result.

use std::collections::BTreeMap;
use twin_model::Raster;

/// Depth change (m) below which a cell counts as unchanged: 5 cm, the shallowest depth class
/// of the flood map.
pub const DEPTH_CHANGE_M: f64 = 0.05;

/// One road of a run's `roads.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadRow {
    /// Feature id in the Traffic & Road layer.
    pub feature: i64,
    /// Road name (may be empty).
    pub name: String,
    /// Deepest water on it (m).
    pub max_depth_m: f64,
    /// Closed by the flood.
    pub closed: bool,
}

/// What one run folder holds for a comparison.
#[derive(Debug, Clone)]
pub struct RunOutputs {
    /// The run's `summary.json`.
    pub summary: serde_json::Value,
    /// Its maximum depth grid (`max_depth.tif`).
    pub max_depth: Raster,
    /// Its roads (`roads.csv`).
    pub roads: Vec<RoadRow>,
}

/// One headline figure in both runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KpiChange {
    /// Dotted key in `summary.json` (`flooded_area_m2.ge_0.3_m`; arrays of two as
    /// `.baseline` / `.flooded`).
    pub key: String,
    /// Value in run A.
    pub a: f64,
    /// Value in run B.
    pub b: f64,
}

impl KpiChange {
    /// B − A.
    pub fn change(&self) -> f64 {
        self.b - self.a
    }

    /// (B − A) / |A| in percent; `None` where A is zero.
    pub fn percent(&self) -> Option<f64> {
        (self.a != 0.0).then(|| 100.0 * (self.b - self.a) / self.a.abs())
    }
}

/// The comparison of run B against run A.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Every numeric figure present in both summaries, in key order.
    pub kpis: Vec<KpiChange>,
    /// Figures present in only one summary (key, which run).
    pub unmatched: Vec<(String, char)>,
    /// Maximum depth of B minus that of A, cell by cell (m); nodata where either is.
    pub depth_diff: Raster,
    /// Area where B is deeper by at least [`DEPTH_CHANGE_M`] (m²).
    pub deeper_area_m2: f64,
    /// Area where B is shallower by at least [`DEPTH_CHANGE_M`] (m²).
    pub shallower_area_m2: f64,
    /// Largest rise and largest fall of the maximum depth (m, both ≥ 0).
    pub max_rise_m: f64,
    /// Largest fall of the maximum depth (m).
    pub max_fall_m: f64,
    /// Roads closed in A only.
    pub closed_only_a: Vec<RoadRow>,
    /// Roads closed in B only.
    pub closed_only_b: Vec<RoadRow>,
    /// Roads closed in both.
    pub closed_both: usize,
}

/// Why two runs cannot be compared.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CompareError {
    /// The depth grids differ in size, origin or cell.
    #[error("the runs' depth grids differ ({0}); compare runs on the same city and grid")]
    Grid(String),
    /// A line of `roads.csv` could not be read.
    #[error("roads.csv line {line}: {message}")]
    Roads {
        /// 1-based line.
        line: usize,
        /// What was wrong.
        message: String,
    },
}

/// Reads the text of a run's `roads.csv` (as [`crate::impacts::roads_csv`] writes it).
pub fn parse_roads_csv(text: &str) -> Result<Vec<RoadRow>, CompareError> {
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, h)| h.trim_start_matches('\u{feff}'));
    let cols: Vec<&str> = header.unwrap_or("").split(',').collect();
    let col = |name: &str| {
        cols.iter()
            .position(|c| c.trim() == name)
            .ok_or_else(|| CompareError::Roads {
                line: 1,
                message: format!("no column '{name}'"),
            })
    };
    let (fid, name, depth, closed) = (
        col("feature")?,
        col("name")?,
        col("max_depth_m")?,
        col("closed")?,
    );
    let mut out = Vec::new();
    for (i, l) in lines {
        if l.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = l.split(',').collect();
        let bad = |what: &str| CompareError::Roads {
            line: i + 1,
            message: format!("field '{what}' missing or not a number"),
        };
        let get = |k: usize| f.get(k).map(|s| s.trim());
        out.push(RoadRow {
            feature: get(fid)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad("feature"))?,
            name: get(name).unwrap_or("").to_string(),
            max_depth_m: get(depth)
                .and_then(|s| s.parse().ok())
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| bad("max_depth_m"))?,
            closed: match get(closed) {
                Some("true") => true,
                Some("false") => false,
                _ => return Err(bad("closed")),
            },
        });
    }
    Ok(out)
}

/// The numeric leaves of a summary by dotted key; a pair `[without, with]` becomes
/// `key.baseline` and `key.flooded`, lists of records are left out.
pub fn numeric_leaves(v: &serde_json::Value) -> BTreeMap<String, f64> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, f64>) {
        match v {
            serde_json::Value::Number(n) => {
                if let Some(x) = n.as_f64() {
                    out.insert(prefix.to_string(), x);
                }
            }
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, x, out);
                }
            }
            serde_json::Value::Array(a) if a.len() == 2 && a.iter().all(|x| !x.is_object()) => {
                walk(&format!("{prefix}.baseline"), &a[0], out);
                walk(&format!("{prefix}.flooded"), &a[1], out);
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk("", v, &mut out);
    out
}

/// Compares run B against run A.
pub fn compare(a: &RunOutputs, b: &RunOutputs) -> Result<Comparison, CompareError> {
    let (ga, gb) = (&a.max_depth, &b.max_depth);
    if (ga.nx, ga.ny) != (gb.nx, gb.ny)
        || (ga.x0 - gb.x0).abs() > 1e-6
        || (ga.y0 - gb.y0).abs() > 1e-6
        || (ga.cell - gb.cell).abs() > 1e-9
    {
        return Err(CompareError::Grid(format!(
            "{} × {} cells of {} m at ({}, {}) against {} × {} of {} m at ({}, {})",
            ga.nx, ga.ny, ga.cell, ga.x0, ga.y0, gb.nx, gb.ny, gb.cell, gb.x0, gb.y0
        )));
    }
    const NODATA: f32 = -9999.0;
    let mut diff = Raster::filled(ga.nx, ga.ny, ga.x0, ga.y0, ga.cell, NODATA);
    diff.nodata = Some(NODATA);
    let (mut deeper, mut shallower, mut rise, mut fall) = (0usize, 0usize, 0.0f64, 0.0f64);
    for (k, (&da, &db)) in ga.data.iter().zip(&gb.data).enumerate() {
        if ga.is_nodata(da) || gb.is_nodata(db) || !da.is_finite() || !db.is_finite() {
            continue;
        }
        let d = db as f64 - da as f64;
        diff.data[k] = d as f32;
        if d >= DEPTH_CHANGE_M {
            deeper += 1;
        } else if d <= -DEPTH_CHANGE_M {
            shallower += 1;
        }
        rise = rise.max(d);
        fall = fall.max(-d);
    }
    let (la, lb) = (numeric_leaves(&a.summary), numeric_leaves(&b.summary));
    let kpis = la
        .iter()
        .filter_map(|(k, &x)| {
            lb.get(k).map(|&y| KpiChange {
                key: k.clone(),
                a: x,
                b: y,
            })
        })
        .collect();
    let unmatched = la
        .keys()
        .filter(|k| !lb.contains_key(*k))
        .map(|k| (k.clone(), 'A'))
        .chain(
            lb.keys()
                .filter(|k| !la.contains_key(*k))
                .map(|k| (k.clone(), 'B')),
        )
        .collect();
    let closed = |r: &[RoadRow]| -> BTreeMap<i64, RoadRow> {
        r.iter()
            .filter(|x| x.closed)
            .map(|x| (x.feature, x.clone()))
            .collect()
    };
    let (ca, cb) = (closed(&a.roads), closed(&b.roads));
    let cell_area = ga.cell * ga.cell;
    Ok(Comparison {
        kpis,
        unmatched,
        depth_diff: diff,
        deeper_area_m2: deeper as f64 * cell_area,
        shallower_area_m2: shallower as f64 * cell_area,
        max_rise_m: rise,
        max_fall_m: fall,
        closed_only_a: ca
            .iter()
            .filter(|(k, _)| !cb.contains_key(k))
            .map(|(_, r)| r.clone())
            .collect(),
        closed_only_b: cb
            .iter()
            .filter(|(k, _)| !ca.contains_key(k))
            .map(|(_, r)| r.clone())
            .collect(),
        closed_both: ca.keys().filter(|k| cb.contains_key(k)).count(),
    })
}

impl Comparison {
    /// The comparison as JSON (`compare.json`).
    pub fn to_json(&self) -> serde_json::Value {
        let road = |r: &RoadRow| serde_json::json!({"feature": r.feature, "name": r.name, "max_depth_m": r.max_depth_m});
        serde_json::json!({
            "kpis": self.kpis.iter().map(|k| serde_json::json!({
                "key": k.key, "a": k.a, "b": k.b, "change": k.change(), "percent": k.percent(),
            })).collect::<Vec<_>>(),
            "only_in": self.unmatched.iter().map(|(k, r)| serde_json::json!({"key": k, "run": r.to_string()})).collect::<Vec<_>>(),
            "depth": {
                "change_threshold_m": DEPTH_CHANGE_M,
                "deeper_area_m2": self.deeper_area_m2,
                "shallower_area_m2": self.shallower_area_m2,
                "max_rise_m": self.max_rise_m,
                "max_fall_m": self.max_fall_m,
            },
            "roads_closed": {
                "only_a": self.closed_only_a.iter().map(road).collect::<Vec<_>>(),
                "only_b": self.closed_only_b.iter().map(road).collect::<Vec<_>>(),
                "both": self.closed_both,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(depths: &[f32], roads: &str, summary: serde_json::Value) -> RunOutputs {
        let mut r = Raster::filled(2, 2, 0.0, 20.0, 10.0, 0.0);
        r.data = depths.to_vec();
        RunOutputs {
            summary,
            max_depth: r,
            roads: parse_roads_csv(roads).unwrap(),
        }
    }

    const HEAD: &str = "feature,name,max_depth_m,free_kmh,flooded_kmh,closed,flooded_length_m\n";

    #[test]
    fn figures_depths_and_roads_are_differenced() {
        let a = run(
            &[0.0, 0.2, 0.5, 1.0],
            &format!(
                "{HEAD}1,Hàng Bài,0.400,40.0,0.0,true,20.0\n2,B,0.1,40,30,false,0\n3,C,0.5,30,0,true,5\n"
            ),
            serde_json::json!({"max_depth_m": 1.0, "mean_trip_s": [400.0, 460.0], "flooded_area_m2": {"ge_0.3_m": 200.0}, "only_a": 1}),
        );
        let b = run(
            &[0.0, 0.3, 0.4, 1.02],
            &format!(
                "{HEAD}1,Hàng Bài,0.5,40,0,true,20\n2,B,0.35,40,0,true,8\n3,C,0.1,30,25,false,0\n"
            ),
            serde_json::json!({"max_depth_m": 1.02, "mean_trip_s": [400.0, 430.0], "flooded_area_m2": {"ge_0.3_m": 100.0}}),
        );
        let c = compare(&a, &b).unwrap();
        let keys: Vec<&str> = c.kpis.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "flooded_area_m2.ge_0.3_m",
                "max_depth_m",
                "mean_trip_s.baseline",
                "mean_trip_s.flooded"
            ]
        );
        assert_eq!(c.kpis[0].change(), -100.0);
        assert_eq!(c.kpis[0].percent(), Some(-50.0));
        assert_eq!(c.kpis[3].change(), -30.0);
        assert_eq!(c.unmatched, vec![("only_a".to_string(), 'A')]);
        let d: Vec<f64> = c
            .depth_diff
            .data
            .iter()
            .map(|&x| (x as f64 * 1000.0).round() / 1000.0)
            .collect();
        assert_eq!(d, [0.0, 0.1, -0.1, 0.02]);
        assert_eq!((c.deeper_area_m2, c.shallower_area_m2), (100.0, 100.0));
        assert!((c.max_rise_m - 0.1).abs() < 1e-6 && (c.max_fall_m - 0.1).abs() < 1e-6);
        assert_eq!(
            c.closed_only_a
                .iter()
                .map(|r| r.feature)
                .collect::<Vec<_>>(),
            [3]
        );
        assert_eq!(
            c.closed_only_b
                .iter()
                .map(|r| r.feature)
                .collect::<Vec<_>>(),
            [2]
        );
        assert_eq!(c.closed_both, 1);
    }

    #[test]
    fn different_grids_and_bad_rows_are_refused() {
        let a = run(&[0.0; 4], HEAD, serde_json::json!({}));
        let mut b = a.clone();
        b.max_depth.cell = 5.0;
        assert!(matches!(compare(&a, &b), Err(CompareError::Grid(_))));
        let e = parse_roads_csv(&format!("{HEAD}1,A,deep,40,0,true,1\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "roads.csv line 2: field 'max_depth_m' missing or not a number"
        );
        let e = parse_roads_csv("id,name\n").unwrap_err();
        assert!(e.to_string().contains("no column 'feature'"), "{e}");
    }
}
