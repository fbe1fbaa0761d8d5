//! Errors that stop a run before or while it drives the cluster.
use thiserror::Error;

use crate::fault::FaultError;
use crate::monitoring::config::EnvTooLarge;
use crate::monitoring::{PromtoolError, RuleFileError};
use crate::runtime::images::ImageError;
use crate::runtime::RuntimeError;
use crate::wait::WaitTimeout;

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
    /// A bounded wait ran out (it says what it waited for and what it saw last).
    #[error(transparent)]
    Wait(#[from] WaitTimeout),
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
    Monitoring(#[from] MonitoringError),
    /// The OS's random generator gave no passwords for the run.
    #[error("failed to draw the run's passwords from the OS's random generator")]
    Secrets(#[source] getrandom::Error),
    /// Ctrl-C or SIGTERM.
    #[error("interrupted by {0}; the cluster was torn down")]
    Interrupted(String),
    /// The cluster file does not fit the scenario, or the attached cluster cannot be drilled.
    #[error("attach: {0}")]
    Attach(String),
    /// The scenario given to a cluster handle is invalid or asks for what a handle does not run.
    #[error("scenario: {0}")]
    Scenario(String),
    /// A stop condition of an attached run fired (or a signal came): the run was aborted and
    /// its faults undone.
    #[error("stopped: {0}; active faults were undone")]
    Stopped(String),
}

/// Why the monitoring stack of a run could not be prepared or started.
#[derive(Debug, Error)]
pub enum MonitoringError {
    /// A rule file named by the scenario could not be used.
    #[error(transparent)]
    RuleFile(#[from] RuleFileError),
    /// `for_scale` could not be applied.
    #[error("failed to scale the alert rules: {0}")]
    Scale(String),
    /// promtool rejected the rules or could not run.
    #[error(transparent)]
    Promtool(#[from] PromtoolError),
    /// The Prometheus container could not be configured.
    #[error(transparent)]
    Config(#[from] EnvTooLarge),
    /// Prometheus did not scrape every target in time.
    #[error(transparent)]
    NotReady(#[from] WaitTimeout),
}
