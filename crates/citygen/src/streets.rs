//! Street layout of the demo district: a ring road, arterials, streets and alleys ("ngõ") on a
//! grid, cut into segments at every crossing; signals where arterials meet.

use crate::terrain::{CITY_EAST_U, Terrain};

/// Road class with its design values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Alley (ngõ): 1 lane per direction... one lane in all, 20 km/h.
    Alley,
    /// Local street: 2 lanes, 40 km/h.
    Street,
    /// Arterial: 4 lanes, 50 km/h.
    Arterial,
    /// Ring road: 6 lanes, 60 km/h.
    Ring,
}

impl Class {
    /// OSM-vocabulary class name stored as `highway`.
    pub fn highway(self) -> &'static str {
        match self {
            Class::Alley => "residential",
            Class::Street => "tertiary",
            Class::Arterial => "primary",
            Class::Ring => "trunk",
        }
    }
    /// Total lanes.
    pub fn lanes(self) -> i64 {
        match self {
            Class::Alley => 1,
            Class::Street => 2,
            Class::Arterial => 4,
            Class::Ring => 6,
        }
    }
    /// Speed limit, km/h: Hanoi inner-city streets run 30–40 km/h free flow, arterials up to 50
    /// (hanoi-facts.md §3, TomTom free-flow samples 29–55 km/h).
    pub fn speed_kmh(self) -> f64 {
        match self {
            Class::Alley => 20.0,
            Class::Street => 40.0,
            Class::Arterial => 50.0,
            Class::Ring => 60.0,
        }
    }
    /// Half the right-of-way width, m.
    pub fn half_width(self) -> f64 {
        match self {
            Class::Alley => 2.5,
            Class::Street => 7.0,
            Class::Arterial => 12.0,
            Class::Ring => 18.0,
        }
    }
}

/// A straight road line in local coordinates.
#[derive(Debug, Clone)]
pub struct Line {
    /// True for east–west lines (fixed v).
    pub horizontal: bool,
    /// The fixed coordinate.
    pub at: f64,
    /// Start and end of the varying coordinate.
    pub span: [f64; 2],
    /// Class.
    pub class: Class,
    /// Name.
    pub name: String,
    /// One-way in increasing (+1) or decreasing (-1) direction, or two-way (0).
    pub oneway: i8,
}

/// A road segment between two crossings.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Index of the start node.
    pub a: usize,
    /// Index of the end node.
    pub b: usize,
    /// Line it belongs to.
    pub line: usize,
}

/// The street network: lines, crossing nodes, segments.
#[derive(Debug, Clone)]
pub struct Streets {
    /// Lines.
    pub lines: Vec<Line>,
    /// Node positions (local u, v).
    pub nodes: Vec<[f64; 2]>,
    /// Highest class meeting at each node, and the second highest.
    pub node_classes: Vec<(Class, Class)>,
    /// Segments.
    pub segments: Vec<Segment>,
    /// Sorted distinct u of north–south lines and v of east–west lines (block edges).
    pub us: Vec<f64>,
    /// See `us`.
    pub vs: Vec<f64>,
}

impl Streets {
    /// Lays out the grid and cuts it at crossings; segments in lakes are dropped.
    pub fn new(t: &Terrain) -> Streets {
        let mut lines: Vec<Line> = Vec::new();
        let mut add = |horizontal, at, span: [f64; 2], class, name: String, oneway| {
            lines.push(Line {
                horizontal,
                at,
                span,
                class,
                name,
                oneway,
            })
        };
        let e = CITY_EAST_U;
        add(
            true,
            400.0,
            [400.0, 2400.0],
            Class::Ring,
            "Vành đai 1 mẫu (Nam) / Ring 1 synthetic (S)".into(),
            0,
        );
        add(
            true,
            2600.0,
            [400.0, 2400.0],
            Class::Ring,
            "Vành đai 1 mẫu (Bắc) / Ring 1 synthetic (N)".into(),
            0,
        );
        add(
            false,
            400.0,
            [400.0, 2600.0],
            Class::Ring,
            "Vành đai 1 mẫu (Tây) / Ring 1 synthetic (W)".into(),
            0,
        );
        add(
            false,
            2400.0,
            [0.0, 3000.0],
            Class::Ring,
            "Đường đê mẫu / Dike road synthetic".into(),
            0,
        );
        for (i, u) in [900.0, 1400.0, 1950.0].into_iter().enumerate() {
            add(
                false,
                u,
                [0.0, 3000.0],
                Class::Arterial,
                format!(
                    "Đường trục dọc {} (mẫu) / N–S arterial {} (synthetic)",
                    i + 1,
                    i + 1
                ),
                0,
            );
        }
        for (i, v) in [950.0, 1550.0, 2150.0].into_iter().enumerate() {
            add(
                true,
                v,
                [0.0, e],
                Class::Arterial,
                format!(
                    "Đường trục ngang {} (mẫu) / E–W arterial {} (synthetic)",
                    i + 1,
                    i + 1
                ),
                0,
            );
        }
        let street_u = [150.0, 650.0, 1150.0, 1675.0, 2175.0];
        let street_v = [150.0, 680.0, 1250.0, 1850.0, 2380.0, 2830.0];
        for (i, u) in street_u.into_iter().enumerate() {
            // Old-quarter streets in the north are one-way, alternating.
            add(
                false,
                u,
                [0.0, 3000.0],
                Class::Street,
                format!("Phố dọc số {} (mẫu) / Street N{} (synthetic)", i + 1, i + 1),
                0,
            );
        }
        for (i, v) in street_v.into_iter().enumerate() {
            let ow = if v > 2200.0 {
                if i % 2 == 0 { 1 } else { -1 }
            } else {
                0
            };
            add(
                true,
                v,
                [0.0, e],
                Class::Street,
                format!(
                    "Phố ngang số {} (mẫu) / Street E{} (synthetic)",
                    i + 1,
                    i + 1
                ),
                ow,
            );
        }
        // Alleys at the middle of every gap between the lines above.
        let mut us: Vec<f64> = lines
            .iter()
            .filter(|l| !l.horizontal)
            .map(|l| l.at)
            .chain([0.0, e])
            .collect();
        let mut vs: Vec<f64> = lines
            .iter()
            .filter(|l| l.horizontal)
            .map(|l| l.at)
            .chain([0.0, 3000.0])
            .collect();
        us.sort_by(f64::total_cmp);
        us.dedup();
        vs.sort_by(f64::total_cmp);
        vs.dedup();
        let mut alley_u = Vec::new();
        for w in us.windows(2) {
            if w[1] - w[0] > 180.0 {
                alley_u.push(0.5 * (w[0] + w[1]));
            }
        }
        let mut alley_v = Vec::new();
        for w in vs.windows(2) {
            if w[1] - w[0] > 180.0 {
                alley_v.push(0.5 * (w[0] + w[1]));
            }
        }
        for (i, u) in alley_u.iter().enumerate() {
            lines.push(Line {
                horizontal: false,
                at: *u,
                span: [0.0, 3000.0],
                class: Class::Alley,
                name: format!("Ngõ dọc {} (mẫu) / Alley N{} (synthetic)", i + 1, i + 1),
                oneway: 0,
            });
        }
        for (i, v) in alley_v.iter().enumerate() {
            lines.push(Line {
                horizontal: true,
                at: *v,
                span: [0.0, e],
                class: Class::Alley,
                name: format!("Ngõ ngang {} (mẫu) / Alley E{} (synthetic)", i + 1, i + 1),
                oneway: 0,
            });
        }
        us.extend(alley_u);
        vs.extend(alley_v);
        us.sort_by(f64::total_cmp);
        vs.sort_by(f64::total_cmp);

        // Crossings.
        let mut nodes: Vec<[f64; 2]> = Vec::new();
        let mut node_classes: Vec<(Class, Class)> = Vec::new(); // filled below; kept for node()
        let mut index = std::collections::HashMap::new();
        let mut node = |p: [f64; 2],
                        c: Class,
                        nodes: &mut Vec<[f64; 2]>,
                        nc: &mut Vec<(Class, Class)>|
         -> usize {
            let k = ((p[0] * 10.0).round() as i64, (p[1] * 10.0).round() as i64);
            let i = *index.entry(k).or_insert_with(|| {
                nodes.push(p);
                nc.push((Class::Alley, Class::Alley));
                nodes.len() - 1
            });
            let (a, b) = nc[i];
            nc[i] = if c >= a { (c, a) } else { (a, b.max(c)) };
            i
        };
        let mut segments = Vec::new();
        for (li, l) in lines.iter().enumerate() {
            let mut cuts: Vec<f64> = vec![l.span[0], l.span[1]];
            for m in lines.iter().filter(|m| m.horizontal != l.horizontal) {
                if m.at > l.span[0] && m.at < l.span[1] && l.at >= m.span[0] && l.at <= m.span[1] {
                    cuts.push(m.at);
                }
            }
            cuts.sort_by(f64::total_cmp);
            cuts.dedup();
            let pt = |s: f64| if l.horizontal { [s, l.at] } else { [l.at, s] };
            let mut prev: Option<usize> = None;
            for s in cuts.windows(2) {
                let mid = pt(0.5 * (s[0] + s[1]));
                let a = node(pt(s[0]), l.class, &mut nodes, &mut node_classes);
                let b = node(pt(s[1]), l.class, &mut nodes, &mut node_classes);
                let _ = prev.replace(b);
                if t.in_lake(mid[0], mid[1], 15.0)
                    || t.in_lake(pt(s[0])[0], pt(s[0])[1], 5.0)
                    || t.in_lake(pt(s[1])[0], pt(s[1])[1], 5.0)
                {
                    continue;
                }
                segments.push(Segment { a, b, line: li });
            }
        }
        // Highest and second-highest class over the distinct lines meeting at each node.
        let mut at_node: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
        for s in &segments {
            for n in [s.a, s.b] {
                if !at_node[n].contains(&s.line) {
                    at_node[n].push(s.line);
                }
            }
        }
        let node_classes = at_node
            .iter()
            .map(|ls| {
                let mut cs: Vec<Class> = ls.iter().map(|&l| lines[l].class).collect();
                cs.sort_by(|a, b| b.cmp(a));
                (
                    cs.first().copied().unwrap_or(Class::Alley),
                    cs.get(1).copied().unwrap_or(Class::Alley),
                )
            })
            .collect();
        Streets {
            lines,
            nodes,
            node_classes,
            segments,
            us,
            vs,
        }
    }

    /// A junction is signalised where an arterial or the ring meets a street or bigger.
    pub fn is_signalised(&self, n: usize) -> bool {
        let (a, b) = self.node_classes[n];
        let major = a >= Class::Arterial && b >= Class::Arterial;
        // Every other arterial–street crossing is signalised; the rest are priority junctions.
        let minor = a >= Class::Arterial && b == Class::Street && n.is_multiple_of(2);
        (major || minor) && self.degree(n) >= 3
    }

    /// Number of segments at a node.
    pub fn degree(&self, n: usize) -> usize {
        self.segments
            .iter()
            .filter(|s| s.a == n || s.b == n)
            .count()
    }
}
