//! Proving container-level faults through Docker's own view of the container.
use std::time::Duration;

use thiserror::Error;

use crate::runtime::Runtime;

/// How long a fault's effect may take to show before the fault counts as having done nothing.
const VERIFY_WITHIN: Duration = Duration::from_secs(15);

/// A fault that failed to apply or to take effect.
#[derive(Debug, Error)]
pub enum FaultError {
    /// The action itself failed.
    #[error("failed to apply fault {fault} to {target}: {reason}")]
    Failed {
        /// Fault name.
        fault: String,
        /// Container or member.
        target: String,
        /// Cause.
        reason: String,
    },
    /// The action returned but its effect never showed.
    #[error("fault had no effect: {fault} on {target}: {seen}")]
    NoEffect {
        /// Fault name.
        fault: String,
        /// Container or member.
        target: String,
        /// What was seen instead.
        seen: String,
    },
}

/// The container state a fault must produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerCondition {
    /// Exited / not running.
    NotRunning,
    /// Running and not paused.
    Running,
    /// Frozen.
    Paused,
}

/// Polls Docker until the container is in `condition`; returns the proof or what was seen.
pub async fn verify_state(runtime: &Runtime, target: &str, condition: ContainerCondition) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    let mut last = String::from("not inspected");
    while start.elapsed() < VERIFY_WITHIN {
        match runtime.state(target).await {
            Ok((status, running, exit_code)) => {
                let reached = match condition {
                    ContainerCondition::NotRunning => !running,
                    ContainerCondition::Running => running && status == "running",
                    ContainerCondition::Paused => status == "paused",
                };
                last = format!("container {status} (exit code {exit_code})");
                if reached {
                    return Ok(format!("{target}: {last}"));
                }
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("after {}s: {last}", VERIFY_WITHIN.as_secs()))
}
