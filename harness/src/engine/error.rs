//! Errors that stop a run before or while it drives the cluster.
use thiserror::Error;

use crate::fault::FaultError;
use crate::runtime::images::ImageError;
use crate::runtime::RuntimeError;

/// Why a run could not complete.
#[derive(Debug, Error)]
pub enum EngineError {
    /// Docker failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// Images could not be built.
    #[error(transparent)]
    Images(#[from] ImageError),
    /// A fault could not be applied or had no effect.
    #[error(transparent)]
    Fault(#[from] FaultError),
    /// A bounded wait ran out.
    #[error("timed out after {waited_s}s waiting for {what}; last seen: {last_seen}")]
    WaitTimedOut {
        /// What we waited for.
        what: String,
        /// How long.
        waited_s: u64,
        /// The last observation, so the reader knows where it got stuck.
        last_seen: String,
    },
    /// A fault's target could not be resolved.
    #[error("step {step}: cannot resolve the fault's target: {reason}")]
    Target {
        /// Step index.
        step: usize,
        /// Why.
        reason: String,
    },
    /// The workload failed to prepare or to audit.
    #[error("workload: {0}")]
    Workload(String),
    /// The monitoring stack (rule files, promtool, Prometheus) failed.
    #[error("monitoring: {0}")]
    Monitoring(String),
    /// Ctrl-C or SIGTERM.
    #[error("interrupted by {0}; the cluster was torn down")]
    Interrupted(String),
    /// Writing the report failed.
    #[error("failed to write the report to {path}: {source}")]
    Report {
        /// Where.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}
