//! Faults: resolve a target from what the observers last saw, act on the containers, and prove
//! the action took effect. Faults never read the observers' internals beyond the live view.
mod container;
pub mod network;
pub mod process;
pub mod rest;
mod target;

pub use container::{apply_fault, fault_name, FaultError};
pub use target::{resolve_target, TargetMemory};
