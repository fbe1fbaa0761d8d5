//! The run loop: start the topology, drive the scenario's steps, audit, judge, tear down.
//! Faults, observers and the workload meet only here; everything they see goes to the timeline.
mod cluster;
mod error;
mod monitoring;
mod progress;
mod run;
mod start_order;
mod steps;

pub use steps::expectation_name;

pub use cluster::Cluster;
pub use error::{EngineError, MonitoringError};
pub use monitoring::{prepare as prepare_monitoring, MonitoringSetup};
pub use progress::Progress;
pub use run::{build_images, new_run_id, run_scenario, start_cluster, RunOptions, RunOutcome};
