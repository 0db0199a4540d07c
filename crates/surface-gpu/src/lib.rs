//! # twin-surface-gpu: the surface flood solver as a WGSL compute kernel
//!
//! The local-inertial 2D shallow-water scheme of [`twin_surface`] (Bates, Horritt & Fewtrell
//! 2010, *J. Hydrol.* 387, 33–45, eq. 11, with the θ-weighted momentum of de Almeida, Bates,
//! Freer & Souvignet 2012, *Water Resour. Res.* 48, W05528, eq. 14) run through `wgpu` on
//! whatever adapter wgpu picks by default: a GPU where there is one, Mesa's lavapipe (a
//! software Vulkan driver on the CPU) on a machine without. The kernels live in the
//! repository's `shaders/local_inertial.wgsl`.
//!
//! [`GpuSimulation`] mirrors [`twin_surface::Simulation`]: it is built from the same
//! [`Grid`](twin_surface::Grid) and [`Params`](twin_surface::Params), takes the same
//! [`Boundaries`](twin_surface::Boundaries), [`Rain`](twin_surface::Rain) and
//! [`Infiltration`](twin_surface::Infiltration), runs with `run_until`, and returns the same
//! [`FloodStats`](twin_surface::FloodStats) and [`MassLedger`](twin_surface::MassLedger).
//!
//! ## Same scheme
//! Face discharges with θ-weighting and fully implicit Manning friction (Manning per cell, the
//! mean of the two cells on a face), the velocity cap k sqrt(g h_max), the wet/dry threshold,
//! the positivity limiter (each cell's outgoing discharges scaled so that it never gives more
//! than it holds; the scaled discharges are the ones stored, applied and booked), rain
//! stepwise in time (uniform or per cell), infiltration taking at most the water on the cell,
//! walls, and all edge conditions (closed, free overfall, normal depth, inflow, fixed stage).
//! The adaptive step is the CPU's Courant condition Δt = α Δx / (sqrt(g h_max) + |u|_max),
//! with h_max and |u|_max reduced on the GPU (workgroup trees, then `atomicMax` on the bit
//! pattern of a non-negative f32), and the same event limits (rain changes, the end time).
//!
//! ## What differs
//! - State in f32 (lavapipe and most adapters have no f64). Bed elevations are taken
//!   relative to the lowest active cell before rounding, so water levels keep micrometre
//!   resolution. Each step reads back 48 bytes (h_max, |u|_max, the step's infiltration and
//!   the inflow and outflow of each edge, summed on the GPU); the host accumulates the ledger
//!   in f64. Storage is summed per workgroup on the GPU and added in f64 when the ledger is
//!   asked for. The ledger closes to about 1e-7 of the inflow (f32 round-off), not 1e-12.
//! - Results agree with the CPU solver to f32 round-off, not bit for bit: within 1 mm of
//!   maximum depth on the demo city's 100 mm / 2 h design storm (see
//!   `benches/results/surface-gpu.md`).
//! - Point exchanges (1D–2D coupling) are applied on the host at the start of each step, in
//!   id order as on the CPU: the point cells' depths are read back, updated and written;
//!   the volumes booked are the changes of the stored f32 depths. Gauges are read back at
//!   their sample times. Both cost one small read-back each, not a pass over the grid.
//! - Not available yet, an error ([`GpuError::Unsupported`]) rather than a silent
//!   difference: momentum advection ([`Params::advection`](twin_surface::Params)).
//!
//! No adapter at all gives [`GpuError::NoAdapter`], never a panic. Like the CPU crate, this
//! one does no file I/O.
//!
//! ```no_run
//! use twin_surface::{Grid, Params, Rain};
//! use twin_surface_gpu::GpuSimulation;
//! let grid = Grid::new(20, 10, 5.0, vec![0.0; 200], None, 0.03).unwrap();
//! let mut sim = GpuSimulation::new(grid, Params::default())?;
//! sim.set_rain(Rain::constant(36.0).unwrap())?;
//! sim.run_until(600.0)?;
//! let l = sim.ledger()?;
//! assert!(l.relative_closure_error().abs() < 1e-5);
//! # Ok::<(), twin_surface_gpu::GpuError>(())
//! ```

mod error;
mod sim;

pub use error::GpuError;
pub use sim::{GpuSimulation, SHADER};

/// The name of the default adapter when it is a hardware GPU (discrete, integrated or
/// virtual), `None` when there is no adapter or only a software one such as lavapipe. Callers
/// that pick a solver automatically use this: on a software adapter the CPU solver is faster.
///
/// On Linux a machine whose kernel exposes no DRM render node (`/dev/dri/renderD*`) has no
/// GPU to drive, so no graphics driver is loaded to ask (which also spares a headless
/// server the drivers' complaints about a missing display session).
pub fn hardware_adapter() -> Option<String> {
    if cfg!(target_os = "linux") {
        let render_node = std::fs::read_dir("/dev/dri")
            .ok()?
            .any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("renderD")));
        if !render_node {
            return None;
        }
    }
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    }))
    .ok()?;
    let info = adapter.get_info();
    matches!(
        info.device_type,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
    .then_some(info.name)
}

#[cfg(test)]
mod tests;
