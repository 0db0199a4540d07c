//! The mass ledger: every cubic metre that enters, leaves or is stored on the surface.

use crate::forcing::Edge;

/// Cumulative volumes (m³) since the ledger was opened, and the storage then and now.
///
/// The balance is `storage - initial_storage = rain - infiltration + Σ boundary_in
/// − Σ boundary_out + point_in − point_out`; [`MassLedger::closure_error`] is what is left.
/// Every term is the volume actually moved by the solver (after flux limiting), not a request.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MassLedger {
    /// Rain that fell on active cells.
    pub rain: f64,
    /// Water lost to infiltration.
    pub infiltration: f64,
    /// Inflow across each edge, indexed by [`Edge`] as usize (north, south, west, east).
    pub boundary_in: [f64; 4],
    /// Outflow across each edge, same indexing.
    pub boundary_out: [f64; 4],
    /// Water added by point sources (e.g. surcharging manholes).
    pub point_in: f64,
    /// Water removed by point sinks (e.g. inlets draining to the network).
    pub point_out: f64,
    /// Net water added by data assimilation (depths set to what sensors measured; negative
    /// where it took water away).
    pub assimilated: f64,
    /// Water on the surface when the ledger was opened.
    pub initial_storage: f64,
    /// Water on the surface now.
    pub storage: f64,
}

impl MassLedger {
    /// Total inflow across all edges.
    pub fn boundary_in_total(&self) -> f64 {
        self.boundary_in.iter().sum()
    }
    /// Total outflow across all edges.
    pub fn boundary_out_total(&self) -> f64 {
        self.boundary_out.iter().sum()
    }
    /// Inflow across one edge.
    pub fn inflow(&self, edge: Edge) -> f64 {
        self.boundary_in[edge as usize]
    }
    /// Outflow across one edge.
    pub fn outflow(&self, edge: Edge) -> f64 {
        self.boundary_out[edge as usize]
    }
    /// Storage change since the ledger was opened.
    pub fn storage_change(&self) -> f64 {
        self.storage - self.initial_storage
    }
    /// Net volume booked by all fluxes.
    pub fn net_flux(&self) -> f64 {
        self.rain - self.infiltration + self.boundary_in_total() - self.boundary_out_total()
            + self.point_in
            - self.point_out
            + self.assimilated
    }
    /// Storage change minus net booked flux (m³): zero for a perfect balance.
    pub fn closure_error(&self) -> f64 {
        self.storage_change() - self.net_flux()
    }
    /// Everything that was ever available: initial storage plus every inflow (m³).
    pub fn total_in(&self) -> f64 {
        self.initial_storage + self.rain + self.boundary_in_total() + self.point_in
    }
    /// Closure error relative to [`MassLedger::total_in`] (0 when nothing was ever there).
    pub fn relative_closure_error(&self) -> f64 {
        let t = self.total_in();
        if t > 0.0 {
            self.closure_error() / t
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closure_adds_up() {
        let l = MassLedger {
            rain: 100.0,
            infiltration: 10.0,
            boundary_in: [0.0, 0.0, 5.0, 0.0],
            boundary_out: [0.0, 0.0, 0.0, 30.0],
            point_in: 2.0,
            point_out: 7.0,
            assimilated: 0.0,
            initial_storage: 50.0,
            storage: 110.0,
        };
        assert_eq!(l.net_flux(), 60.0);
        assert_eq!(l.closure_error(), 0.0);
        assert_eq!(l.total_in(), 157.0);
        assert_eq!(l.outflow(Edge::East), 30.0);
    }
}
