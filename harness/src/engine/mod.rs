//! The run loop: start the topology, drive the scenario's steps, audit, judge, tear down.
//! Faults, observers and the workload meet only here; everything they see goes to the timeline.
mod attach;
mod attached_run;
mod cluster;
mod error;
mod handle;
mod monitoring;
mod progress;
mod reuse;
mod run;
mod safety;
mod start_order;
mod steps;

pub use steps::expectation_name;

pub use attach::{attach, missing_operations, topology_mismatch, AttachOptions, Attached, AttachedMember};
pub use attached_run::{dry_run, AUDIT_LOG};
pub use cluster::{Cluster, Site};
pub use error::{EngineError, MonitoringError};
pub use handle::ClusterHandle;
pub use monitoring::{prepare as prepare_monitoring, MonitoringSetup};
pub use progress::Progress;
pub use reuse::ReuseSlot;
pub use run::{build_images, new_run_id, run_scenario, start_cluster, RunOptions, RunOutcome};
pub use safety::StopSignal;
