//! Water lost from storage units and conduits to evaporation and seepage
//! (SWMM node.c storage_getLosses, link.c conduit_getLossRate).

use super::*;

impl Engine {
    /// Evaporation and seepage of the storage units over the coming step,
    /// from the state at its start (SWMM node.c storage_getLosses): the
    /// potential evaporation rate times the unit's Fevap over its surface
    /// area, and seepage through its bottom and banks (with the monthly
    /// conductivity adjustment and the soil recovery factor), together never
    /// more than the unit holds, both scaled down alike when they would be.
    /// As in SWMM, a unit holding less than 1e-4 ft³ keeps the bare
    /// evaporation rate (ft/s) rather than a flow. Each loss is booked in the
    /// step's mass balance on its own (routing.c removeStorageLosses).
    pub(super) fn storage_losses(&mut self, dt: f64) {
        let rate = self.climate.evap_rate;
        // Storage seepage takes the global conductivity adjustment, not a
        // subcatchment's pattern (SWMM routing.c initSystemInflows).
        let adjust = crate::green_ampt::Adjust {
            conductivity: self.climate.hydcon_factor,
            recovery: self.climate.recovery_factor,
        };
        for k in 0..self.loss_nodes.len() {
            let i = self.loss_nodes[k];
            let mut evap = rate * self.nodes.f_evap[i];
            let mut seep = 0.0;
            if evap > 0.0 || self.nodes.exfil[i].is_some() {
                let depth = self.nodes.new_depth[i];
                let area = self.node_surf_area(i, depth);
                let volume = self.nodes.new_volume[i];
                if volume > FUDGE {
                    evap *= area;
                }
                if let Some(e) = self.nodes.exfil[i].as_mut() {
                    seep = e.loss(dt, depth, area, adjust);
                }
                let total = (evap + seep) * dt;
                if total > volume {
                    let ratio = volume / total;
                    evap *= ratio;
                    seep *= ratio;
                }
            }
            self.nodes.losses[i] = evap + seep;
            self.step_rates.evap_loss += evap;
            self.step_rates.seep_loss += seep;
        }
    }

    /// Evaporation and seepage rates of conduit `j` (ft³/s per barrel) at
    /// the mean of its old depth and `new_depth` (SWMM link.c
    /// conduit_getLossRate): evaporation at the potential rate from the
    /// water surface of an open conduit, seepage at its rate (times the
    /// monthly conductivity adjustment) through the wetted width up to the
    /// widest point, both over the conduit's length; together never more
    /// than `q_max` (its volume over the step under dynamic wave, its flow
    /// otherwise), both scaled down alike when they would be. Returns
    /// (evaporation, seepage, total).
    #[inline]
    pub(super) fn conduit_losses(&self, j: usize, new_depth: f64, q_max: f64) -> (f64, f64, f64) {
        let l = &self.links;
        let x = &l.xsect[j];
        let rate = self.climate.evap_rate;
        let (evaporates, seeps) = (x.is_open() && rate > 0.0, l.seep_rate[j] > 0.0);
        let depth = 0.5 * (l.old_depth[j] + new_depth);
        if !(evaporates || seeps) || depth <= FUDGE {
            return (0.0, 0.0, 0.0);
        }
        let length = l.length[j];
        let mut evap = 0.0;
        if evaporates {
            evap = x.w_of_y(depth) * length * rate;
        }
        let mut seep = 0.0;
        if seeps {
            let width = if x.shape == crate::xsect::Shape::RectClosed {
                x.w_max
            } else {
                x.w_of_y(depth.min(x.yw_max))
            };
            seep = l.seep_rate[j] * width * length * self.climate.hydcon_factor;
        }
        let mut total = evap + seep;
        if total > q_max {
            evap = evap * q_max / total;
            seep = seep * q_max / total;
            total = q_max;
        }
        (evap, seep, total)
    }
}

/// Seepage of a storage unit from its trailing `[STORAGE]` values
/// (SurDepth Fevap, then Ksat alone or Psi Ksat IMD; SWMM node.c
/// storage_readParams, exfil.c); none when Ksat is 0.
pub(super) fn storage_exfil(
    p: &Project,
    st: &inp::Storage,
    shape: &StorageShape,
    opt: &Options,
) -> Result<Option<crate::exfil::Exfil>, EngineError> {
    use crate::exfil::{Banks, Exfil};
    let seep = st.extra.get(2..).unwrap_or(&[]);
    let (psi, ksat, imd) = match *seep {
        [] => return Ok(None),
        [k] => (0.0, k, 0.0),
        [_, _] => {
            return Err(invalid(
                "STORAGE",
                &st.name,
                "seepage needs Ksat alone or Psi Ksat IMD",
            ));
        }
        [a, b, c, ..] => (a, b, c),
    };
    if ksat == 0.0 {
        return Ok(None);
    }
    if psi < 0.0 || ksat < 0.0 || !(0.0..=1.0).contains(&imd) {
        return Err(invalid(
            "STORAGE",
            &st.name,
            "seepage needs Psi >= 0, Ksat >= 0 and 0 <= IMD <= 1",
        ));
    }
    let (ucf_depth, ucf_rate) = (opt.ucf_rain_depth(), opt.ucf_rain_rate());
    let banks = match shape {
        StorageShape::Tabular(k) => {
            let c = &p.curves[*k];
            let curve = Curve {
                kind: c.kind.clone(),
                x: c.points.iter().map(|q| q.0).collect(),
                y: c.points.iter().map(|q| q.1).collect(),
            };
            Banks::from_curve(&curve.x, &curve.y, curve.lookup_ex(0.0), opt.ucf_length())
        }
        // Bottom areas of these shapes stay in the file's units, as in SWMM.
        StorageShape::Functional { a1, a2, a0 } => {
            Banks::unbounded(a0 + if *a2 == 0.0 { *a1 } else { 0.0 })
        }
        StorageShape::Quadratic { a0, .. } => {
            if matches!(&st.shape, inp::StorageShape::Other { shape, .. } if shape == "PARABOLIC") {
                return Err(EngineError::Unsupported(
                    "seepage from a paraboloid storage unit (SWMM 5.2.4 leaves its bottom area undefined)".into(),
                ));
            }
            Banks::unbounded(*a0)
        }
    };
    Ok(Some(Exfil::new(
        psi / ucf_depth,
        ksat / ucf_rate,
        imd,
        banks,
    )))
}
