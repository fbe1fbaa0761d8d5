//! Docker: images, the run's network and containers, labels and cleanup. Knows nothing about
//! Patroni or scenarios; everything it creates carries the run's label so it can be swept.
mod docker;
mod error;
mod guard;
mod host_lock;
mod image_set;
pub mod images;
mod owner;
mod ports;
mod sweep;

pub use crate::topology::ContainerSpec;
pub use docker::{RunningContainer, Runtime, LABEL_RUN, LABEL_TOOL};
pub use error::RuntimeError;
pub use guard::TeardownGuard;
pub use host_lock::HostLockError;
pub use owner::{Liveness, Owner, LABEL_BOOT, LABEL_HOST, LABEL_KEPT, LABEL_PID, LABEL_STARTED};
pub use ports::LABEL_PORTS;
pub use sweep::{kept_runs, sweep, sweep_mine, KeptRun, SweepReport, SweepScope};
