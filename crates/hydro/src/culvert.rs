//! Inlet control of culverts (FHWA HDS-5, "Hydraulic Design of Highway
//! Culverts", 2nd ed. 2001, Appendix A, Tables 8 and 9; SWMM 5 Reference
//! Manual Vol. II §6.3; SWMM culvert.c).
//!
//! A conduit given a culvert code (the row of HDS-5 Table 9, counted from 1 in
//! the table's order) cannot carry more than its inlet passes. With headwater
//! `HW` above the inlet invert, culvert depth `D`, full area `A`, slope `S`:
//!
//! - unsubmerged, form 1: `HW/D = Hc/D + K·(Q/(A·√D))^M − Ks·S`, with `Hc`
//!   the specific head at critical depth (solved for the critical depth);
//! - unsubmerged, form 2: `HW/D = K·(Q/(A·√D))^M`;
//! - submerged: `HW/D = c·(Q/(A·√D))² + Y − Ks·S`;
//! - in between, a straight line from the unsubmerged flow at 0.95·D to the
//!   submerged flow where `Q/(A·√D) = 4`.
//!
//! `Ks` is 0.5, and for inlets mitered to the slope SWMM 5.2.4 uses −7 (HDS-5
//! gives −0.7); SWMM's value is kept so results agree with it. The equations
//! are in US units (ft, cfs), the engine's internal units.

use crate::xsect::{GRAVITY, XSect, find_root_ridder};

/// HDS-5 Table 9 row: equation form, K, M (unsubmerged), c, Y (submerged).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
struct Coeffs {
    form: u8,
    k: f64,
    m: f64,
    c: f64,
    y: f64,
}

const fn row(form: u8, k: f64, m: f64, c: f64, y: f64) -> Coeffs {
    Coeffs { form, k, m, c, y }
}

/// HDS-5 (2001) Table 9, in the table's order (culvert code = position + 1).
const TABLE_9: [Coeffs; 57] = [
    // Chart 1, circular concrete: square edge w/headwall, groove end
    // w/headwall, groove end projecting.
    row(1, 0.0098, 2.0, 0.0398, 0.67),
    row(1, 0.0018, 2.0, 0.0292, 0.74),
    row(1, 0.0045, 2.0, 0.0317, 0.69),
    // Chart 2, circular CMP: headwall, mitered to slope, projecting.
    row(1, 0.0078, 2.0, 0.0379, 0.69),
    row(1, 0.0210, 1.33, 0.0463, 0.75),
    row(1, 0.0340, 1.50, 0.0553, 0.54),
    // Chart 3, circular: beveled ring 45°, 33.7°.
    row(1, 0.0018, 2.50, 0.0300, 0.74),
    row(1, 0.0018, 2.50, 0.0243, 0.83),
    // Chart 8, rectangular box: 30°–75°, 90° and 15°, 0° wingwall flares.
    row(1, 0.026, 1.0, 0.0347, 0.81),
    row(1, 0.061, 0.75, 0.0400, 0.80),
    row(1, 0.061, 0.75, 0.0423, 0.82),
    // Chart 9, rectangular box: 45° flare d = 0.043D; 18°–33.7° flare d = 0.083D.
    row(2, 0.510, 0.667, 0.0309, 0.80),
    row(2, 0.486, 0.667, 0.0249, 0.83),
    // Chart 10, rectangular box, 90° headwall: 3/4" chamfers, 45°, 33.7° bevels.
    row(2, 0.515, 0.667, 0.0375, 0.79),
    row(2, 0.495, 0.667, 0.0314, 0.82),
    row(2, 0.486, 0.667, 0.0252, 0.865),
    // Chart 11, rectangular box, skewed headwall: 3/4" chamfers at 45°, 30°,
    // 15°; 45° bevels at 10°–45°.
    row(2, 0.545, 0.667, 0.04505, 0.73),
    row(2, 0.533, 0.667, 0.0425, 0.705),
    row(2, 0.522, 0.667, 0.0402, 0.68),
    row(2, 0.498, 0.667, 0.0327, 0.75),
    // Chart 12, rectangular box, 3/4" chamfers, non-offset flares: 45°,
    // 18.4°, 18.4° with 30° skewed barrel.
    row(2, 0.497, 0.667, 0.0339, 0.803),
    row(2, 0.493, 0.667, 0.0361, 0.806),
    row(2, 0.495, 0.667, 0.0386, 0.71),
    // Chart 13, rectangular box, top bevels, offset flares: 45°, 33.7°, 18.4°.
    row(2, 0.497, 0.667, 0.0302, 0.835),
    row(2, 0.495, 0.667, 0.0252, 0.881),
    row(2, 0.493, 0.667, 0.0227, 0.887),
    // Charts 16–19, CM boxes: 90° headwall, thick wall, thin wall projecting.
    row(1, 0.0083, 2.0, 0.0379, 0.69),
    row(1, 0.0145, 1.75, 0.0419, 0.64),
    row(1, 0.0340, 1.5, 0.0496, 0.57),
    // Chart 29, horizontal ellipse concrete: square edge w/headwall, groove
    // end w/headwall, groove end projecting.
    row(1, 0.0100, 2.0, 0.0398, 0.67),
    row(1, 0.0018, 2.5, 0.0292, 0.74),
    row(1, 0.0045, 2.0, 0.0317, 0.69),
    // Chart 30, vertical ellipse concrete: the same edges.
    row(1, 0.0100, 2.0, 0.0398, 0.67),
    row(1, 0.0018, 2.5, 0.0292, 0.74),
    row(1, 0.0095, 2.0, 0.0317, 0.69),
    // Chart 34, pipe arch 18" corner radius CM: 90° headwall, mitered,
    // projecting.
    row(1, 0.0083, 2.0, 0.0379, 0.69),
    row(1, 0.0300, 1.0, 0.0463, 0.75),
    row(1, 0.0340, 1.5, 0.0496, 0.57),
    // Chart 35, pipe arch 18" corner radius CM: projecting, no bevels, 33.7° bevels.
    row(1, 0.0300, 1.5, 0.0496, 0.57),
    row(1, 0.0088, 2.0, 0.0368, 0.68),
    row(1, 0.0030, 2.0, 0.0269, 0.77),
    // Chart 36, pipe arch 31" corner radius CM: the same edges.
    row(1, 0.0300, 1.5, 0.0496, 0.57),
    row(1, 0.0088, 2.0, 0.0368, 0.68),
    row(1, 0.0030, 2.0, 0.0269, 0.77),
    // Charts 41–43, arch CM: 90° headwall, mitered, thin wall projecting.
    row(1, 0.0083, 2.0, 0.0379, 0.69),
    row(1, 0.0300, 1.0, 0.0463, 0.75),
    row(1, 0.0340, 1.5, 0.0496, 0.57),
    // Chart 55, circular tapered inlet: smooth, rough throat.
    row(2, 0.534, 0.555, 0.0196, 0.90),
    row(2, 0.519, 0.64, 0.0210, 0.90),
    // Chart 56, elliptical inlet face, tapered inlet: beveled, square,
    // thin edge projecting.
    row(2, 0.536, 0.622, 0.0368, 0.83),
    row(2, 0.5035, 0.719, 0.0478, 0.80),
    row(2, 0.547, 0.80, 0.0598, 0.75),
    // Chart 57, rectangular tapered inlet throat.
    row(2, 0.475, 0.667, 0.0179, 0.97),
    // Chart 58, rectangular concrete side tapered: less, more favorable edges.
    row(2, 0.56, 0.667, 0.0446, 0.85),
    row(2, 0.56, 0.667, 0.0378, 0.87),
    // Chart 59, rectangular concrete slope tapered: less, more favorable edges.
    row(2, 0.50, 0.667, 0.0446, 0.65),
    row(2, 0.50, 0.667, 0.0378, 0.71),
];

/// Codes of inlets mitered to the slope (circular CMP, pipe arch, arch CM).
const MITERED: [u8; 3] = [5, 37, 46];

/// Largest culvert code.
pub const MAX_CODE: u8 = 57;

/// Inlet-controlled flow and its derivative for one barrel.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InletFlow {
    /// Flow the inlet passes (cfs).
    pub q: f64,
    /// dQ/dHW (ft²/s).
    pub dqdh: f64,
}

/// Flow (cfs per barrel) an inlet of culvert `code` passes with headwater
/// `hw` ft above its invert, for a barrel of section `x` on slope `slope`.
/// None for codes outside 1..=57 or a dry inlet.
pub fn inlet_flow(code: u8, x: &XSect, slope: f64, hw: f64) -> Option<InletFlow> {
    if code == 0 || code > MAX_CODE || hw <= 0.0 {
        return None;
    }
    let p = TABLE_9[code as usize - 1];
    let d = x.y_full;
    let ad = x.a_full * d.sqrt();
    let scf = if MITERED.contains(&code) {
        -7.0 * slope
    } else {
        0.5 * slope
    };
    // Submerged once Q/(A√D) would reach 4 (HDS-5's orifice range).
    let y2 = d * (16.0 * p.c + p.y - scf);
    let y1 = 0.95 * d;
    Some(if hw >= y2 {
        submerged(&p, d, ad, scf, hw)
    } else if hw <= y1 {
        unsubmerged(&p, x, ad, scf, hw)
    } else {
        let a = unsubmerged(&p, x, ad, scf, y1);
        let b = submerged(&p, d, ad, scf, y2);
        let s = (b.q - a.q) / (y2 - y1);
        InletFlow {
            q: a.q + s * (hw - y1),
            dqdh: s,
        }
    })
}

fn submerged(p: &Coeffs, d: f64, ad: f64, scf: f64, hw: f64) -> InletFlow {
    let arg = (hw / d - p.y + scf) / p.c;
    if arg <= 0.0 {
        // Below the orifice equation's range: no limit from the inlet.
        return InletFlow {
            q: f64::MAX,
            dqdh: 0.0,
        };
    }
    let q = arg.sqrt() * ad;
    InletFlow {
        q,
        dqdh: 0.5 * q / arg / d / p.c,
    }
}

fn unsubmerged(p: &Coeffs, x: &XSect, ad: f64, scf: f64, hw: f64) -> InletFlow {
    let d = x.y_full;
    let q = if p.form == 1 {
        // Specific head at critical depth yc plus the entrance term:
        // HW/D + Ks·S = yc/D + yh/(2D) + K·(Qc/(A√D))^M with Qc = Ac·√(g·yh).
        let h_plus = hw / d + scf;
        let mut qc = 0.0;
        find_root_ridder(0.01 * hw, hw, 0.001, |yc| {
            let ac = x.a_of_y(yc);
            let yh = ac / x.w_of_y(yc);
            qc = ac * (GRAVITY * yh).sqrt();
            h_plus - yc / d - yh / 2.0 / d - p.k * (qc / ad).powf(p.m)
        });
        qc
    } else {
        ad * (hw / d / p.k).powf(1.0 / p.m)
    };
    InletFlow {
        q,
        dqdh: q / hw / p.m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submerged_box_inverts_the_orifice_equation() {
        // 4 ft × 4 ft box, 90° headwall with 45° bevels (code 15), slope 1 %,
        // 10 ft of headwater: HW/D = c·(Q/(A√D))² + Y − 0.5·S.
        let x = XSect::new("RECT_CLOSED", [4.0, 4.0, 0.0, 0.0], 1.0).unwrap();
        let f = inlet_flow(15, &x, 0.01, 10.0).unwrap();
        let qad = f.q / (16.0 * 2.0);
        let hw_d = 0.0314 * qad * qad + 0.82 - 0.5 * 0.01;
        assert!((hw_d - 2.5).abs() < 1e-12, "{hw_d}");
        // Derivative by difference.
        let g = inlet_flow(15, &x, 0.01, 10.001).unwrap();
        assert!(((g.q - f.q) / 0.001 - f.dqdh).abs() < 1e-3 * f.dqdh);
    }

    #[test]
    fn form1_unsubmerged_meets_critical_depth_relation() {
        // 3 ft circular CMP with headwall (code 4), 2 ft of headwater: the
        // flow is the critical flow at the depth that satisfies form 1.
        let x = XSect::new("CIRCULAR", [3.0, 0.0, 0.0, 0.0], 1.0).unwrap();
        let f = inlet_flow(4, &x, 0.005, 2.0).unwrap();
        let yc = x.y_crit(f.q);
        let ac = x.a_of_y(yc);
        let yh = ac / x.w_of_y(yc);
        let ad = x.a_full * 3.0_f64.sqrt();
        let rhs = yc / 3.0 + yh / 6.0 + 0.0078 * (f.q / ad).powi(2) - 0.5 * 0.005;
        assert!((rhs - 2.0 / 3.0).abs() < 0.01, "{rhs}");
        assert!(f.q > 10.0 && f.q < 40.0, "{}", f.q);
    }

    #[test]
    fn transition_is_linear_between_limits() {
        let x = XSect::new("RECT_CLOSED", [3.0, 5.0, 0.0, 0.0], 1.0).unwrap();
        let (y1, y2) = (0.95 * 3.0, 3.0 * (16.0 * 0.0375 + 0.79 - 0.0));
        let a = inlet_flow(14, &x, 0.0, y1).unwrap().q;
        let b = inlet_flow(14, &x, 0.0, y2).unwrap().q;
        let m = inlet_flow(14, &x, 0.0, 0.5 * (y1 + y2)).unwrap().q;
        assert!((m - 0.5 * (a + b)).abs() < 1e-9 * b);
        assert!(inlet_flow(0, &x, 0.0, 1.0).is_none());
        assert!(inlet_flow(58, &x, 0.0, 1.0).is_none());
    }
}
