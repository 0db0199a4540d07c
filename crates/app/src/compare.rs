//! Two runs compared (`twin app --run B --compare A`, or a planner's run against the one
//! before it): the water's difference B − A at a minute, the roads closed in only one of
//! them, and their headline figures side by side.

use crate::kpi::{Kpis, kpis};
use crate::playback::Run;
use std::collections::BTreeMap;
use twin_model::Raster;

/// Difference classes of the water, B − A, m: lower bounds of the shallower-in-B classes
/// (≤ −0.20, −0.20…−0.05) and the deeper-in-B ones (0.05…0.20, ≥ 0.20); under 5 cm either
/// way is not drawn.
pub const DIFF_CLASSES: [(f64, &str); 4] = [
    (-f64::INFINITY, "≤ −20 cm"),
    (-0.20, "−20…−5 cm"),
    (0.05, "+5…+20 cm"),
    (0.20, "≥ +20 cm"),
];

/// Colours of [`DIFF_CLASSES`]: blues where B is drier, reds where it is wetter.
pub const DIFF_COLOURS: [[u8; 3]; 4] = [
    [33, 102, 172],
    [120, 180, 235],
    [250, 150, 110],
    [190, 20, 40],
];

/// The class of a difference, or `None` under 5 cm either way.
pub fn diff_class(d: f64) -> Option<usize> {
    if !d.is_finite() || d.abs() < 0.05 {
        None
    } else if d <= -0.20 {
        Some(0)
    } else if d < 0.0 {
        Some(1)
    } else if d < 0.20 {
        Some(2)
    } else {
        Some(3)
    }
}

/// The water of `b` less that of `a` at `minute` (each the frame shown at that minute; a run
/// with no frame yet counts as dry), on their grid; `None` when neither has a frame or their
/// grids differ.
pub fn depth_difference(a: &Run, b: &Run, minute: f64) -> Option<Raster> {
    let fa = a.depth_at(minute).map(|(_, r)| r);
    let fb = b.depth_at(minute).map(|(_, r)| r);
    let grid = fb.or(fa)?;
    for r in [fa, fb].into_iter().flatten() {
        if !same_grid(r, grid) {
            return None;
        }
    }
    let mut out = grid.clone();
    out.nodata = None;
    let val = |r: Option<&Raster>, k: usize| {
        r.map_or(0.0, |r| {
            let v = r.data[k];
            if r.is_nodata(v) || !v.is_finite() {
                0.0
            } else {
                v
            }
        })
    };
    for (k, o) in out.data.iter_mut().enumerate() {
        *o = val(fb, k) - val(fa, k);
    }
    Some(out)
}

/// Whether two rasters lie on the same grid.
pub fn same_grid(a: &Raster, b: &Raster) -> bool {
    a.nx == b.nx
        && a.ny == b.ny
        && (a.x0 - b.x0).abs() < 1e-6
        && (a.y0 - b.y0).abs() < 1e-6
        && (a.cell - b.cell).abs() < 1e-9
}

/// A road in the two runs at one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoadDiff {
    /// Open in both (or without data).
    Neither,
    /// Closed in both.
    Both,
    /// Closed in A only (B opens it).
    OnlyA,
    /// Closed in B only.
    OnlyB,
}

impl RoadDiff {
    /// Colour on the map: red closed in both, orange in A only, violet in B only, grey open.
    pub fn colour(self) -> [u8; 3] {
        match self {
            RoadDiff::Neither => [150, 150, 150],
            RoadDiff::Both => [220, 20, 30],
            RoadDiff::OnlyA => [255, 160, 0],
            RoadDiff::OnlyB => [170, 40, 230],
        }
    }

    /// Vietnamese and English legend label.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            RoadDiff::Neither => ("Thông ở cả hai", "Open in both"),
            RoadDiff::Both => ("Đóng ở cả hai", "Closed in both"),
            RoadDiff::OnlyA => ("Chỉ đóng ở A", "Closed in A only"),
            RoadDiff::OnlyB => ("Chỉ đóng ở B", "Closed in B only"),
        }
    }

    /// Every class, in legend order.
    pub const ALL: [RoadDiff; 4] = [
        RoadDiff::OnlyB,
        RoadDiff::OnlyA,
        RoadDiff::Both,
        RoadDiff::Neither,
    ];
}

/// Each road of either run at `minute`, by feature id.
pub fn road_difference(a: &Run, b: &Run, minute: f64) -> BTreeMap<i64, RoadDiff> {
    let (ra, rb) = (a.roads_at(minute), b.roads_at(minute));
    let mut out = BTreeMap::new();
    for id in ra.keys().chain(rb.keys()) {
        let ca = ra.get(id).is_some_and(|r| r.closed);
        let cb = rb.get(id).is_some_and(|r| r.closed);
        out.insert(
            *id,
            match (ca, cb) {
                (true, true) => RoadDiff::Both,
                (true, false) => RoadDiff::OnlyA,
                (false, true) => RoadDiff::OnlyB,
                (false, false) => RoadDiff::Neither,
            },
        );
    }
    out
}

/// The two runs' figures at a minute, for the side-by-side table.
#[derive(Debug, Clone, PartialEq)]
pub struct SideBySide {
    /// Run A's.
    pub a: Kpis,
    /// Run B's.
    pub b: Kpis,
    /// Roads closed in A only and in B only.
    pub closed_only: (usize, usize),
}

/// The side-by-side figures at `minute`.
pub fn side_by_side(a: &Run, b: &Run, minute: f64) -> SideBySide {
    let d = road_difference(a, b, minute);
    let n = |k: RoadDiff| d.values().filter(|v| **v == k).count();
    SideBySide {
        a: kpis(a, minute),
        b: kpis(b, minute),
        closed_only: (n(RoadDiff::OnlyA), n(RoadDiff::OnlyB)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playback::RoadState;

    fn run(depth: [f32; 3], closed: &[i64]) -> Run {
        let mut r = Raster::filled(3, 1, 0.0, 10.0, 10.0, 0.0);
        r.data = depth.to_vec();
        Run {
            dir: ".".into(),
            crs: "EPSG:3405".into(),
            start_clock_min: 420.0,
            minutes: 10.0,
            depth: vec![(5.0, r)],
            roads: (1..=3)
                .map(|f| RoadState {
                    begin_min: 0.0,
                    end_min: 10.0,
                    feature: f,
                    speed_kmh: (!closed.contains(&f)).then_some(30.0),
                    closed: closed.contains(&f),
                    vehicles: 1,
                })
                .collect(),
            vehicles: Vec::new(),
            pumps: Default::default(),
            gauges: Vec::new(),
            alerts: Vec::new(),
            hotspot_depth_m: 0.3,
        }
    }

    #[test]
    fn the_difference_is_b_less_a_and_roads_closed_in_one_only() {
        let a = run([0.5, 0.1, 0.0], &[1, 2]);
        let b = run([0.2, 0.12, 0.3], &[2, 3]);
        // Before either run has a frame there is nothing to show.
        assert!(depth_difference(&a, &b, 2.0).is_none());
        let d = depth_difference(&a, &b, 6.0).unwrap();
        let got: Vec<f32> = d.data.iter().map(|v| (v * 100.0).round() / 100.0).collect();
        assert_eq!(got, [-0.3, 0.02, 0.3]);
        let classes: Vec<_> = d.data.iter().map(|v| diff_class(*v as f64)).collect();
        assert_eq!(classes, [Some(0), None, Some(3)]);
        assert_eq!(diff_class(-0.1), Some(1));
        assert_eq!(diff_class(0.1), Some(2));
        let r = road_difference(&a, &b, 6.0);
        assert_eq!(r[&1], RoadDiff::OnlyA);
        assert_eq!(r[&2], RoadDiff::Both);
        assert_eq!(r[&3], RoadDiff::OnlyB);
        let s = side_by_side(&a, &b, 6.0);
        assert_eq!((s.a.roads_closed, s.b.roads_closed), (2, 2));
        assert_eq!(s.closed_only, (1, 1));
        assert!((s.a.max_depth_m - 0.5).abs() < 1e-6);
        // Runs on different grids are not compared cell by cell.
        let mut c = run([0.0; 3], &[]);
        c.depth[0].1.cell = 20.0;
        assert!(depth_difference(&a, &c, 6.0).is_none());
    }
}
