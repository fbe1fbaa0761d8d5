//! The run's timeline: an append-only list of timestamped events from every observer, the
//! workload and the fault injector. Checks read it; reports draw it. Nothing here talks to Docker.
mod audit;
mod dist_node;
mod event;
mod log;
mod reuse;

pub use audit::{AuditRead, AuditRole};
pub use dist_node::{describe_dist_nodes, describe_prepared_xacts, primaries_by_group};
pub use event::{DistNodeRow, Event, EventKind, MemberView, Millis, PoolerPools, PoolerStats, Role, WriteOutcome};
pub use log::{Timeline, TimelineWriter};
pub use reuse::{BaselineCheck, ClusterOrigin};
