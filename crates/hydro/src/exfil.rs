//! Seepage (exfiltration) from storage units into the soil beneath them, as
//! in SWMM 5.2 (Reference Manual Vol. II §2.3, "Storage Units"; SWMM exfil.c
//! and infil.c).
//!
//! Water leaves through the unit's bottom and its sloped banks. With a
//! conductivity only (no suction head or moisture deficit) the loss is
//! `Ksat · area`. Otherwise each surface follows the modified Green–Ampt
//! model (Green & Ampt 1911; Mein & Larson 1973; Vol. I §4.3): the ponded
//! depth over the bottom, or half the depth over the banks, drives
//! infiltration into an upper soil zone whose depth follows Mein's
//! `Lu = 4·√Ksat` (Ksat in in/h, Lu in inches), and the moisture deficit of
//! that zone recovers between events. Banks are the part of the surface-area
//! relation that grows with depth: for a storage curve, from the last depth
//! at the bottom area to the depth where the area stops growing; for a
//! functional or shaped unit, all of it above the constant area.

use crate::green_ampt::{Adjust, GreenAmpt};

/// Seepage parameters and state of one storage unit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Exfil {
    /// Through the bottom.
    btm: GreenAmpt,
    /// Through the banks.
    bank: GreenAmpt,
    /// Only a conductivity was given: the loss is `Ksat · area`.
    constant: bool,
    /// Bottom area (ft², see [`Exfil::new`]).
    btm_area: f64,
    /// Depth where the banks start (ft).
    bank_min_depth: f64,
    /// Depth where the banks stop widening (ft).
    bank_max_depth: f64,
    /// Surface area at the top of the banks (ft²).
    bank_max_area: f64,
}

/// Bank geometry of a storage unit, in internal units.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Banks {
    /// Bottom area (ft²).
    pub btm_area: f64,
    /// Depth where the banks start (ft).
    pub min_depth: f64,
    /// Depth where the area stops growing (ft).
    pub max_depth: f64,
    /// Area at `max_depth` (ft²).
    pub max_area: f64,
}

impl Banks {
    /// Banks of a storage curve (depth, area) in user units, converted with
    /// `ucf` user length units per ft: bottom area at depth 0, banks from the
    /// last depth still at the first area up to the last depth where the area
    /// still grows (SWMM exfil_initState).
    pub fn from_curve(x: &[f64], y: &[f64], bottom_area: f64, ucf: f64) -> Self {
        let (mut min_depth, mut max_depth, mut max_area) = (0.0, 0.0, 0.0);
        if let (Some(_), Some(&a0)) = (x.first(), y.first()) {
            let mut last = a0;
            for (&d, &a) in x.iter().zip(y).skip(1) {
                if a < last {
                    break;
                } else if a > last {
                    max_area = a;
                    max_depth = d;
                } else if max_area == 0.0 {
                    min_depth = d;
                } else {
                    break;
                }
                last = a;
            }
        }
        Banks {
            btm_area: bottom_area / (ucf * ucf),
            min_depth: min_depth / ucf,
            max_depth: max_depth / ucf,
            max_area: max_area / (ucf * ucf),
        }
    }

    /// Banks of a functional or shaped unit: the bottom is its constant area,
    /// the banks everything that grows above it.
    pub fn unbounded(btm_area: f64) -> Self {
        Banks {
            btm_area,
            min_depth: 0.0,
            max_depth: f64::INFINITY,
            max_area: f64::INFINITY,
        }
    }
}

impl Exfil {
    /// Seepage through `banks` with suction `psi` (ft), conductivity `ks`
    /// (ft/s) and largest moisture deficit `imd`.
    ///
    /// SWMM 5.2.4 takes a functional or shaped unit's bottom area in the
    /// file's area units without converting it (the conversion is applied to
    /// storage curves only); `banks` is built the same way so that results
    /// agree with SWMM on SI models too.
    pub fn new(psi: f64, ks: f64, imd: f64, banks: Banks) -> Self {
        Exfil {
            btm: GreenAmpt::new(psi, ks, imd),
            bank: GreenAmpt::new(psi, ks, imd),
            constant: imd == 0.0,
            btm_area: banks.btm_area,
            bank_min_depth: banks.min_depth,
            bank_max_depth: banks.max_depth,
            bank_max_area: banks.max_area,
        }
    }

    /// Seepage rate (cfs) over a step of `dt` s with `depth` ft of water and
    /// `area` ft² of water surface (SWMM exfil_getLoss); `adjust` holds the
    /// month's conductivity and soil recovery factors, which SWMM applies to
    /// storage seepage as to subcatchment infiltration.
    pub fn loss(&mut self, dt: f64, depth: f64, area: f64, adjust: Adjust) -> f64 {
        let mut q = if self.constant {
            self.btm.ks() * adjust.conductivity
        } else {
            self.btm.infil(dt, 0.0, depth, true, adjust)
        } * self.btm_area;
        if depth > self.bank_min_depth {
            let bank_area = area.min(self.bank_max_area) - self.btm_area;
            if bank_area > 0.0 {
                if self.constant {
                    q += bank_area * self.btm.ks() * adjust.conductivity;
                } else {
                    // Mean depth over the wetted bank.
                    let d = if depth > self.bank_max_depth {
                        depth - self.bank_max_depth
                            + (self.bank_max_depth - self.bank_min_depth) / 2.0
                    } else {
                        (depth - self.bank_min_depth) / 2.0
                    };
                    q += bank_area * self.bank.infil(dt, 0.0, d, true, adjust);
                }
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conductivity_only_is_ksat_times_area() {
        let ks = 1.0 / 43_200.0; // 1 in/h in ft/s
        let mut e = Exfil::new(0.0, ks, 0.0, Banks::unbounded(100.0));
        // Bottom only below the banks' reach, bottom plus banks above.
        assert!((e.loss(60.0, 1.0, 100.0, Adjust::NONE) - 100.0 * ks).abs() < 1e-15);
        assert!((e.loss(60.0, 1.0, 150.0, Adjust::NONE) - 150.0 * ks).abs() < 1e-15);
    }

    #[test]
    fn curve_banks_start_after_flat_bottom() {
        let b = Banks::from_curve(&[0.0, 1.0, 2.0, 3.0], &[50.0, 50.0, 80.0, 70.0], 50.0, 1.0);
        assert_eq!((b.min_depth, b.max_depth, b.max_area), (1.0, 2.0, 80.0));
    }
}
