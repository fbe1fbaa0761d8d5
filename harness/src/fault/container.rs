//! Proving container-level faults through the executor's view of the container.
use std::time::Duration;

use super::executor::Executor;

/// How long a fault's effect may take to show before the fault counts as having done nothing.
const VERIFY_WITHIN: Duration = Duration::from_secs(15);

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

/// Polls the executor until the container is in `condition`; returns the proof or what was seen.
pub async fn verify_state(
    executor: &dyn Executor,
    target: &str,
    condition: ContainerCondition,
) -> Result<String, String> {
    let start = tokio::time::Instant::now();
    let mut last = String::from("not inspected");
    while start.elapsed() < VERIFY_WITHIN {
        match executor.state(target).await {
            Ok(state) => {
                let reached = match condition {
                    ContainerCondition::NotRunning => !state.running,
                    ContainerCondition::Running => state.running && state.status == "running",
                    ContainerCondition::Paused => state.status == "paused",
                };
                last = format!("container {} (exit code {})", state.status, state.exit_code);
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
