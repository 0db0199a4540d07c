//! Terrain of the demo district: a plain falling from north-west (≈ 9 m) to south-east
//! (≈ 6.5 m), as Hanoi's inner city falls toward the Yên Sở outlet (terrain 5–20 m above sea
//! level, hoankiem.hanoi.gov.vn); gentle undulation; a few low basins (the flood hotspots);
//! lakes; and the Red River on the east behind a dike with a 14 m crest (hanoi.gov.vn).

use crate::rng::Rng;

/// An elliptic lake in local coordinates (metres from the district's south-west corner).
#[derive(Debug, Clone)]
pub struct Lake {
    /// Display name.
    pub name: String,
    /// Centre u, v.
    pub c: [f64; 2],
    /// Semi-axes.
    pub r: [f64; 2],
    /// Normal water level, m.
    pub level_m: f64,
    /// Bed elevation, m.
    pub bed_m: f64,
}

impl Lake {
    /// Elliptic distance (< 1 inside).
    pub fn dist(&self, u: f64, v: f64) -> f64 {
        (((u - self.c[0]) / self.r[0]).powi(2) + ((v - self.c[1]) / self.r[1]).powi(2)).sqrt()
    }
}

/// The terrain model.
#[derive(Debug, Clone)]
pub struct Terrain {
    waves: Vec<(f64, f64, f64, f64)>,
    /// Low basins: centre, radius, depth.
    pub basins: Vec<([f64; 2], f64, f64)>,
    /// Lakes.
    pub lakes: Vec<Lake>,
}

/// Dike centre line (local u), crest elevation and crest width.
pub const DIKE_U: f64 = 2590.0;
/// Dike crest elevation, m (Red River dike crest 14 m, hanoi.gov.vn "Rivers in Hanoi").
pub const DIKE_CREST_M: f64 = 14.0;
/// River bed elevation, m.
pub const RIVER_BED_M: f64 = 1.0;
/// River's normal dry-season stage used for the outfall, m.
pub const RIVER_STAGE_M: f64 = 4.0;
/// Local u where the river channel starts.
pub const RIVER_U: f64 = 2700.0;
/// East limit of the built-up area (local u).
pub const CITY_EAST_U: f64 = 2480.0;

impl Terrain {
    /// Draws the terrain for a seed.
    pub fn new(rng: &mut Rng) -> Terrain {
        let waves = (0..4)
            .map(|k| {
                let lambda = [1400.0, 900.0, 600.0, 350.0][k];
                let amp = [0.20, 0.12, 0.08, 0.05][k];
                let ang = rng.range(0.0, std::f64::consts::PI);
                (
                    amp,
                    ang.cos() / lambda,
                    ang.sin() / lambda,
                    rng.range(0.0, std::f64::consts::TAU),
                )
            })
            .collect();
        let basins = (0..4)
            .map(|_| {
                (
                    [rng.range(500.0, 2200.0), rng.range(300.0, 2700.0)],
                    rng.range(120.0, 220.0),
                    rng.range(0.9, 1.5),
                )
            })
            .collect();
        let lakes = vec![
            Lake {
                name: "Hồ Trung Tâm (mẫu) / Central Lake (synthetic)".into(),
                c: [1620.0 + rng.range(-30.0, 30.0), 2020.0],
                r: [110.0, 330.0],
                level_m: 6.2,
                bed_m: 4.4,
            },
            Lake {
                name: "Hồ Điều Hòa Tây (mẫu) / West Lake (synthetic)".into(),
                c: [520.0, 1250.0 + rng.range(-40.0, 40.0)],
                r: [120.0, 90.0],
                level_m: 6.0,
                bed_m: 4.2,
            },
            Lake {
                name: "Hồ Điều Hòa Nam (mẫu) / South Lake (synthetic)".into(),
                c: [1700.0 + rng.range(-40.0, 40.0), 520.0],
                r: [140.0, 80.0],
                level_m: 5.2,
                bed_m: 3.4,
            },
        ];
        Terrain {
            waves,
            basins,
            lakes,
        }
    }

    /// Ground elevation before lakes, dike and river: the city plain.
    pub fn plain(&self, u: f64, v: f64) -> f64 {
        let base = 9.0 - 2.5 * (0.6 * (u / 3000.0) + 0.4 * (1.0 - v / 3000.0));
        let waves: f64 = self
            .waves
            .iter()
            .map(|(a, fx, fy, ph)| a * (std::f64::consts::TAU * (u * fx + v * fy) + ph).sin())
            .sum();
        let basins: f64 = self
            .basins
            .iter()
            .map(|(c, r, d)| -d * (-((u - c[0]).powi(2) + (v - c[1]).powi(2)) / (r * r)).exp())
            .sum();
        base + waves + basins
    }

    /// Ground elevation including lake beds, the dike and the river channel.
    pub fn ground(&self, u: f64, v: f64) -> f64 {
        let mut z = self.plain(u, v);
        for l in &self.lakes {
            let d = l.dist(u, v);
            if d < 1.0 {
                // Bowl from the bank (level + 0.3) to the bed.
                let bank = l.level_m + 0.3;
                z = z.min(l.bed_m + (bank - l.bed_m) * d.powi(4));
            }
        }
        // Dike: flat crest 10 m wide, 1:3 side slopes.
        let du = (u - DIKE_U).abs();
        if du < 5.0 + 3.0 * (DIKE_CREST_M - 5.0) {
            let h = DIKE_CREST_M - ((du - 5.0).max(0.0) / 3.0);
            z = z.max(h);
        }
        // Floodplain and river channel east of the dike.
        if u > DIKE_U + 30.0 {
            let plain: f64 = 5.5;
            z = if u < RIVER_U {
                plain.max(z.min(plain))
            } else {
                (plain - (u - RIVER_U) / 10.0).max(RIVER_BED_M)
            };
            if u > DIKE_U + 32.0 && u < RIVER_U {
                z = plain;
            }
        }
        z
    }

    /// True inside a lake (with a margin).
    pub fn in_lake(&self, u: f64, v: f64, margin: f64) -> bool {
        self.lakes.iter().any(|l| {
            (((u - l.c[0]) / (l.r[0] + margin)).powi(2)
                + ((v - l.c[1]) / (l.r[1] + margin)).powi(2))
                < 1.0
        })
    }
}
