//! Checkpoints (hot start): the whole state of a run in progress as bytes, and back. A coupled
//! storm (surface depths and discharges, the network's depths, flows and controls, lakes as
//! their water on the grid, the exchange in transit, the recorders) or the traffic (every
//! vehicle on the roads and waiting to leave, signals, statistics so far). A run restored and
//! continued takes the same steps as one that never stopped, so its results are the same bit
//! for bit.
//!
//! Layout: `TWINCKPT`, u32 format version, u32 kind, u64 payload length, u64 FNV-1a checksum
//! of the payload (all little-endian), then the payload (bincode). A file that is not a
//! checkpoint, of another version or kind, cut short or altered is refused with the reason;
//! nothing is decoded from it.

use crate::coupled::CoupledState;
use twin_surface::Simulation;

const MAGIC: &[u8; 8] = b"TWINCKPT";
/// Version of the checkpoint layout and of the states in it.
pub const VERSION: u32 = 3;
const HEADER: usize = 8 + 4 + 4 + 8 + 8;

/// What a checkpoint holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A coupled storm on the CPU surface solver ([`CoupledState`]).
    Coupled = 1,
    /// The traffic simulation.
    Traffic = 2,
    /// The live twin ([`crate::live::LiveTwin`]).
    Live = 3,
    /// The live loop: the live twin with its clock, forecast schedule and alerts
    /// ([`crate::live_loop::LiveLoop`]).
    LiveLoop = 4,
}

impl Kind {
    fn name(code: u32) -> &'static str {
        match code {
            1 => "a coupled storm",
            2 => "the traffic",
            3 => "a live twin",
            4 => "a live loop",
            _ => "an unknown kind",
        }
    }
}

/// Why a checkpoint was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CheckpointError {
    /// The bytes do not start as a checkpoint.
    #[error("not a twin checkpoint (no TWINCKPT header)")]
    NotACheckpoint,
    /// Written by another version.
    #[error("checkpoint format version {found}, this build reads version {VERSION}")]
    Version {
        /// The version found.
        found: u32,
    },
    /// Holds another kind of state.
    #[error("checkpoint holds {found}, not {expected}")]
    Kind {
        /// What was asked for.
        expected: &'static str,
        /// What it holds.
        found: &'static str,
    },
    /// Shorter or longer than its header says.
    #[error("checkpoint cut short or padded: {found} bytes of state, header says {expected}")]
    Length {
        /// Bytes the header announces.
        expected: u64,
        /// Bytes there are.
        found: u64,
    },
    /// The state does not match its checksum.
    #[error("checkpoint damaged: checksum mismatch")]
    Checksum,
    /// The state could not be decoded.
    #[error("checkpoint state cannot be decoded: {0}")]
    Decode(String),
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn save<T: serde::Serialize>(kind: Kind, state: &T) -> Vec<u8> {
    let payload = bincode::serialize(state).expect("in-memory states always encode");
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(kind as u32).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&fnv1a(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

fn load<T: serde::de::DeserializeOwned>(kind: Kind, bytes: &[u8]) -> Result<T, CheckpointError> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err(CheckpointError::NotACheckpoint);
    }
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
    let version = u32_at(8);
    if version != VERSION {
        return Err(CheckpointError::Version { found: version });
    }
    let found = u32_at(12);
    if found != kind as u32 {
        return Err(CheckpointError::Kind {
            expected: Kind::name(kind as u32),
            found: Kind::name(found),
        });
    }
    let payload = &bytes[HEADER..];
    let expected = u64_at(16);
    if payload.len() as u64 != expected {
        return Err(CheckpointError::Length {
            expected,
            found: payload.len() as u64,
        });
    }
    if fnv1a(payload) != u64_at(24) {
        return Err(CheckpointError::Checksum);
    }
    bincode::deserialize(payload).map_err(|e| CheckpointError::Decode(e.to_string()))
}

/// A coupled storm in progress as a checkpoint.
pub fn save_coupled(state: &CoupledState<Simulation>) -> Vec<u8> {
    save(Kind::Coupled, state)
}

/// A coupled storm back from a checkpoint, to go on with [`CoupledState::advance`].
pub fn load_coupled(bytes: &[u8]) -> Result<CoupledState<Simulation>, CheckpointError> {
    load(Kind::Coupled, bytes)
}

/// The traffic in progress as a checkpoint.
pub fn save_traffic(sim: &twin_traffic::sim::Simulation) -> Vec<u8> {
    save(Kind::Traffic, sim)
}

/// The traffic back from a checkpoint, to go on with
/// [`twin_traffic::sim::Simulation::advance_to`].
pub fn load_traffic(bytes: &[u8]) -> Result<twin_traffic::sim::Simulation, CheckpointError> {
    load(Kind::Traffic, bytes)
}

/// The live twin as a checkpoint.
pub fn save_live(twin: &crate::live::LiveTwin) -> Vec<u8> {
    save(Kind::Live, twin)
}

/// The live twin back from a checkpoint.
pub fn load_live(bytes: &[u8]) -> Result<crate::live::LiveTwin, CheckpointError> {
    load(Kind::Live, bytes)
}

/// The live loop as a checkpoint.
pub fn save_live_loop(l: &crate::live_loop::LiveLoop) -> Vec<u8> {
    save(Kind::LiveLoop, l)
}

/// The live loop from a checkpoint.
pub fn load_live_loop(bytes: &[u8]) -> Result<crate::live_loop::LiveLoop, CheckpointError> {
    load(Kind::LiveLoop, bytes)
}
