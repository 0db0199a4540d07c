//! Friction of pressurised force mains (`FORCE_MAIN` sections), as SWMM 5.2
//! models them (forcemain.c; Reference Manual Vol. II, section on force
//! mains): a force main flowing full loses head by the Hazen–Williams or the
//! Darcy–Weisbach equation (`FORCE_MAIN_EQUATION`), and flows part full with
//! the Manning's n that gives the same fully turbulent full flow.
//!
//! All quantities in feet and seconds.

/// Kinematic viscosity of water at 20 °C (ft²/s).
const VISCOSITY: f64 = 1.1e-5;

/// Full-flow friction law of force mains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ForceMainEqn {
    /// Hazen–Williams, `V = 1.318 C R^0.63 S^0.54` (US units).
    #[default]
    HazenWilliams,
    /// Darcy–Weisbach with the Swamee–Jain friction factor.
    DarcyWeisbach,
}

/// Manning's n giving a force main of diameter `d` (ft) and slope `slope`
/// the same full flow as its own law: from Hazen–Williams,
/// `n = 1.067 (d/S)^0.04 / C`; from Darcy–Weisbach, `n = sqrt(f/185) d^(1/6)`
/// with the fully turbulent friction factor.
pub fn equivalent_n(eqn: ForceMainEqn, param: f64, d: f64, slope: f64) -> f64 {
    match eqn {
        ForceMainEqn::HazenWilliams => 1.067 / param * (d / slope).powf(0.04),
        ForceMainEqn::DarcyWeisbach => {
            let f = friction_factor(param, d / 4.0, 1.0e12);
            (f / 185.0).sqrt() * d.powf(1.0 / 6.0)
        }
    }
}

/// Roughness factor of the full-flow friction slope, compensating a pipe
/// lengthened by `length_factor` for the Courant condition.
pub fn rough_factor(eqn: ForceMainEqn, param: f64, length_factor: f64) -> f64 {
    match eqn {
        ForceMainEqn::HazenWilliams => {
            let r = 1.318 * param * length_factor.powf(0.54);
            crate::xsect::GRAVITY / r.powf(1.852)
        }
        ForceMainEqn::DarcyWeisbach => 1.0 / 8.0 / length_factor,
    }
}

/// Friction term `g·Sf/|v|` (1/s) of the momentum equation for a full force
/// main at speed `v` (ft/s) and hydraulic radius `hrad` (ft), with `factor`
/// from [`rough_factor`] and `param` the C-factor or roughness height (ft).
pub fn friction_term(eqn: ForceMainEqn, param: f64, factor: f64, v: f64, hrad: f64) -> f64 {
    match eqn {
        ForceMainEqn::HazenWilliams => factor * v.powf(0.852) / hrad.powf(1.1667),
        ForceMainEqn::DarcyWeisbach => {
            let re = 4.0 * hrad * v / VISCOSITY;
            friction_factor(param, hrad, re) * factor * v / hrad
        }
    }
}

/// Darcy–Weisbach friction factor for roughness height `e` (ft): laminar
/// `64/Re` up to Re 2000, a straight line to the turbulent value at 4000,
/// then Swamee and Jain's (1976) explicit form of Colebrook–White,
/// `f = 0.25 / log10(e/(3.7 D) + 5.74/Re^0.9)²` (the Reynolds term dropped
/// beyond Re 10¹⁰).
fn friction_factor(e: f64, hrad: f64, re: f64) -> f64 {
    let re = re.max(10.0);
    if re <= 2000.0 {
        64.0 / re
    } else if re < 4000.0 {
        let f = friction_factor(e, hrad, 4000.0);
        0.032 + (f - 0.032) * (re - 2000.0) / 2000.0
    } else {
        let mut x = e / 3.7 / (4.0 * hrad);
        if re < 1.0e10 {
            x += 5.74 / re.powf(0.9);
        }
        let l = x.log10();
        0.25 / l / l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friction_factor_limits() {
        // Laminar.
        assert!((friction_factor(0.0, 0.25, 1000.0) - 0.064).abs() < 1e-12);
        // Smooth turbulent pipe at Re 1e5: Colebrook gives 0.0180.
        let f = friction_factor(0.0, 0.25, 1.0e5);
        assert!((f - 0.0180).abs() < 0.0005, "{f}");
        // Fully rough, e/D = 0.001: Colebrook gives 0.0196.
        let f = friction_factor(0.001, 0.25, 1.0e12);
        assert!((f - 0.0196).abs() < 0.0003, "{f}");
        // Continuous at both ends of the transition.
        let lo = friction_factor(0.001, 0.25, 2000.0 + 1e-9);
        assert!((lo - 0.032).abs() < 1e-6);
        let hi = friction_factor(0.001, 0.25, 4000.0 - 1e-9);
        assert!((hi - friction_factor(0.001, 0.25, 4000.0)).abs() < 1e-6);
    }

    #[test]
    fn hazen_williams_matches_its_flow_formula() {
        // Full pipe, d = 1 ft, C = 120, v = 4 ft/s: Sf from V = 1.318 C R^0.63 S^0.54.
        let (c, d, v): (f64, f64, f64) = (120.0, 1.0, 4.0);
        let r = d / 4.0;
        let sf = (v / (1.318 * c * r.powf(0.63))).powf(1.0 / 0.54);
        let term = friction_term(
            ForceMainEqn::HazenWilliams,
            c,
            rough_factor(ForceMainEqn::HazenWilliams, c, 1.0),
            v,
            r,
        );
        let g = crate::xsect::GRAVITY;
        assert!(
            (term - g * sf / v).abs() < 0.002 * term,
            "{term} vs {}",
            g * sf / v
        );
    }
}
