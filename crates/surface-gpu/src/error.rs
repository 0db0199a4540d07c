//! Errors of the GPU solver.

use thiserror::Error;
use twin_surface::SurfaceError;

/// Everything that can go wrong when building or running a [`crate::GpuSimulation`].
#[derive(Debug, Error)]
pub enum GpuError {
    /// wgpu found no adapter (no GPU and no software Vulkan driver).
    #[error(
        "no GPU adapter available ({0}); on a machine without a GPU install Mesa's software \
         Vulkan driver (Debian: apt-get install mesa-vulkan-drivers libvulkan1), or use the CPU \
         solver"
    )]
    NoAdapter(String),
    /// The adapter refused to create a device, or a shader or pipeline failed validation.
    #[error("GPU adapter '{adapter}': {reason}")]
    Device {
        /// Adapter name.
        adapter: String,
        /// What failed.
        reason: String,
    },
    /// An input was rejected by the same checks as the CPU solver's.
    #[error(transparent)]
    Surface(#[from] SurfaceError),
    /// A feature of the CPU solver that the GPU solver does not have yet.
    #[error(
        "{0} is not available in the GPU surface solver yet; run it on the CPU solver \
         (twin_surface::Simulation, `--backend cpu`)"
    )]
    Unsupported(&'static str),
    /// The grid needs a buffer larger than the adapter allows.
    #[error(
        "the grid needs a GPU buffer of {bytes} bytes, but adapter '{adapter}' allows at most \
         {max} bytes per storage buffer"
    )]
    TooLarge {
        /// Adapter name.
        adapter: String,
        /// Bytes needed.
        bytes: u64,
        /// Bytes allowed.
        max: u64,
    },
    /// Waiting for or reading back GPU results failed.
    #[error("GPU read-back failed: {0}")]
    Readback(String),
}
