//! Faults: resolve a target from what the observers last saw, act on the containers, prove the
//! action took effect, and undo it. Faults never read the observers' internals beyond the live
//! view.
mod apply;
mod container;
pub mod network;
pub mod process;
pub mod rest;
mod target;

pub use apply::{apply, fault_name, undo, ActiveFault, FaultContext, FaultRequest, Undo};
pub use container::{verify_state, ContainerCondition, FaultError};
pub use target::{Resolver, TargetMemory};
